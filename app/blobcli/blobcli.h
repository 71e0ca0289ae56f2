/* blobcli: what the files of the program share.
 *
 *   main.c      command table, command line, usage, main()
 *   session.c   the run on the app thread: bdev -> bs_dev -> init/load ->
 *               command -> unload -> stop (dump: bdev -> bs_dev -> dump)
 *   cmd_blob.c  create, clone, delete, resize, read-only, xattrs
 *   cmd_store.c init, stats, list, check
 *   cmd_io.c    import and export
 *
 * One command runs per process, so its state lives in one struct cli. */
#ifndef BLOBCLI_H
#define BLOBCLI_H

#include <stdbool.h>
#include <stdint.h>

#include <brisk/blob.h>

/* Exit statuses: a command that ran and failed, and a command line that
 * could not be understood. */
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

/* What a command needs of the bdev before it runs. */
enum cli_store_mode {
	CLI_STORE_LOAD, /* an existing store, loaded */
	CLI_STORE_INIT, /* a new store written over the bdev */
	CLI_STORE_RAW,  /* the bs_dev only, no store loaded (dump) */
};

struct cli;

struct cli_command {
	const char *name;
	const char *args;       /* its positional arguments, for the usage */
	uint32_t nargs;
	enum cli_store_mode mode;
	void (*run)(struct cli *cli);
	const char *help;
};

#define CLI_MAX_ARGS 3

struct cli {
	const struct cli_command *cmd;
	const char *args[CLI_MAX_ARGS]; /* positional arguments, as given */
	/* Options. */
	const char *bdev_name;
	bool thin;
	uint32_t cluster_size;          /* init; 0 = the store's default */
	uint32_t md_pages;              /* init; 0 = the store's default */
	uint64_t export_bytes;          /* export --bytes; valid when have_export_bytes */
	bool have_export_bytes;
	bool recover;                   /* --recover: load with recover_damaged */
	/* Positional arguments, parsed. */
	brisk_blob_id blobid;
	uint64_t clusters;
	int import_fd;                  /* import: opened before the app starts */
	/* The run. */
	struct brisk_blob_store *bs;
	struct brisk_blob *blob;        /* open while a command works on one blob */
	struct brisk_io_channel *channel;
	void *io_buf;
	int status;                     /* exit status of the command */
	bool interrupted;               /* SIGINT/SIGTERM: stop at the next step */
};

struct brisk_app_opts;
/* Runs the command as a Brisk app (session.c); the exit status. */
int cli_session_run(struct cli *cli, struct brisk_app_opts *opts);

/* Commands end with this (status 0, or CLI_EXIT_FAILURE after printing
 * why): it closes what is open, unloads the store and stops the app. */
void cli_command_done(struct cli *cli, int status);

/* Prints "blobcli: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A store call's errno in words, for the blob or store the message names. */
const char *cli_strerror(int rc);

/* Prints an xattr value: as text in quotes when printable, else as hex;
 * long values are cut, with their size. */
void cli_print_value(const void *value, size_t len);

/* Opens cli->blobid into cli->blob and calls next, or reports the failure
 * and ends the command. */
void cli_open_blob(struct cli *cli, bool read_only, void (*next)(struct cli *cli));

void cmd_init(struct cli *cli);
void cmd_stats(struct cli *cli);
void cmd_list(struct cli *cli);
void cmd_check(struct cli *cli);
void cmd_create(struct cli *cli);
void cmd_clone(struct cli *cli);
void cmd_delete(struct cli *cli);
void cmd_resize(struct cli *cli);
void cmd_set_read_only(struct cli *cli);
void cmd_set_xattr(struct cli *cli);
void cmd_get_xattr(struct cli *cli);
void cmd_remove_xattr(struct cli *cli);
void cmd_import(struct cli *cli);
void cmd_export(struct cli *cli);

#endif
