/* One blobcli command as a Brisk app. Everything runs on the app thread,
 * which is the store's metadata thread (it calls brisk_bs_init/load). In
 * the order the steps run:
 *
 *   session_start       wait for examine: bdevs stacked by the config are
 *                       in place and the lvol module has had its look
 *   session_open_dev    a bs_dev over the bdev
 *   session_open_store  init or load (dump: brisk_bs_dump, then stop)
 *   <command>           ends with cli_command_done
 *   session_close_blob  the blob a failed command left open is closed
 *   session_unload      channel and buffer freed, store unloaded (clean)
 *   session_stop        the app stops with the command's exit status
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/blob_bdev.h>
#include <brisk/env.h>
#include <brisk/event.h>

#include "blobcli.h"

const char *cli_strerror(int rc)
{
	switch (rc) {
	case -ENOENT: return "no such blob";
	case -ENOSPC: return "no space left (free clusters, blob ids or metadata pages)";
	case -EPERM: return "the blob is read-only";
	case -EBUSY: return "busy (open, or has clones)";
	case -EILSEQ: return "no blobstore on the bdev (or both super block copies are damaged)";
	case -EUCLEAN: return "the store's metadata is inconsistent";
	case -EPROTONOSUPPORT: return "written by an unsupported format version";
	case -ENOTSUP: return "not supported by this build";
	default: return strerror(-rc);
	}
}

static void session_stop(struct cli *cli)
{
	/* DMA memory goes back before the env does. */
	brisk_free(cli->io_buf);
	cli->io_buf = NULL;
	brisk_app_stop(cli->status);
}

static void session_unloaded(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		cli_error("unloading the store failed: %s; the next load will recover it",
			  cli_strerror(rc));
		cli->status = CLI_EXIT_FAILURE;
	}
	session_stop(cli);
}

static void session_unload(struct cli *cli)
{
	if (cli->channel != NULL) {
		brisk_bs_free_io_channel(cli->channel);
		cli->channel = NULL;
	}
	brisk_bs_unload(cli->bs, session_unloaded, cli);
}

static void session_blob_closed(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		cli_error("closing blob 0x%lx failed: %s", (unsigned long)cli->blobid, cli_strerror(rc));
		cli->status = CLI_EXIT_FAILURE;
	}
	session_unload(cli);
}

void cli_command_done(struct cli *cli, int status)
{
	struct brisk_blob *blob = cli->blob;

	cli->status = status;
	fflush(stdout);
	if (blob != NULL) {
		cli->blob = NULL;
		brisk_blob_close(blob, session_blob_closed, cli);
		return;
	}
	session_unload(cli);
}

struct open_blob_ctx {
	struct cli *cli;
	void (*next)(struct cli *cli);
};

static void cli_blob_opened(void *arg, struct brisk_blob *blob, int rc)
{
	struct open_blob_ctx *o = arg;
	struct cli *cli = o->cli;
	void (*next)(struct cli *cli) = o->next;

	free(o);
	if (rc != 0) {
		if (rc == -EINVAL) {
			cli_error("%s: blob 0x%lx does not exist", cli->cmd->name,
				  (unsigned long)cli->blobid);
		} else if (rc == -ENOENT) {
			/* A used id whose head is damaged opens as -ENOENT as well. */
			cli_error("%s: blob 0x%lx does not exist, or its metadata is damaged ('check' "
				  "tells)", cli->cmd->name, (unsigned long)cli->blobid);
		} else {
			cli_error("%s: cannot open blob 0x%lx: %s", cli->cmd->name,
				  (unsigned long)cli->blobid, cli_strerror(rc));
		}
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	if (brisk_blob_is_degraded(blob)) {
		cli_error("%s: warning: blob 0x%lx is degraded: its newest metadata version is damaged "
			  "or lost, so what it reads may be stale and it is read-only ('check' tells; "
			  "--recover accepts the version found)", cli->cmd->name,
			  (unsigned long)cli->blobid);
	}
	cli->blob = blob;
	next(cli);
}

void cli_open_blob(struct cli *cli, bool read_only, void (*next)(struct cli *cli))
{
	struct brisk_blob_open_opts opts = { .read_only = read_only };
	struct open_blob_ctx *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		cli_error("out of memory");
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	o->cli = cli;
	o->next = next;
	brisk_bs_open_blob_ext(cli->bs, cli->blobid, &opts, cli_blob_opened, o);
}

static void session_store_ready(void *arg, struct brisk_blob_store *bs, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		if (cli->cmd->mode == CLI_STORE_INIT) {
			cli_error("cannot write a blobstore on bdev '%s': %s", cli->bdev_name,
				  cli_strerror(rc));
		} else {
			cli_error("cannot load a blobstore from bdev '%s': %s%s", cli->bdev_name,
				  cli_strerror(rc), rc == -EILSEQ ? " (run 'blobcli init' first)" :
				  rc == -EUCLEAN ? " ('blobcli dump' shows the pages)" : "");
		}
		cli->status = CLI_EXIT_FAILURE;
		session_stop(cli);
		return;
	}
	cli->bs = bs;
	if (cli->interrupted) {
		cli_command_done(cli, CLI_EXIT_FAILURE);
		return;
	}
	cli->cmd->run(cli);
}

static void session_dumped(void *arg, int rc)
{
	struct cli *cli = arg;

	if (rc != 0) {
		cli_error("dump of bdev '%s' %s: %s", cli->bdev_name,
			  rc == -EILSEQ ? "found no store" : "stopped", cli_strerror(rc));
		cli->status = CLI_EXIT_FAILURE;
	}
	session_stop(cli);
}

static void session_bdev_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)ctx;
	if (type == BRISK_BDEV_EVENT_REMOVE) {
		cli_error("bdev '%s' is being removed under the store", brisk_bdev_get_name(bdev));
	}
}

/* Names the bdevs that do exist, so a typo in -b is easy to see. */
static void session_no_such_bdev(struct cli *cli)
{
	char names[512] = "";
	size_t len = 0;

	for (struct brisk_bdev *b = brisk_bdev_first(); b != NULL && len < sizeof(names);
	     b = brisk_bdev_next(b)) {
		len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", len ? ", " : "",
					brisk_bdev_get_name(b));
	}
	cli_error("bdev '%s' (-b) does not exist; the config created %s", cli->bdev_name,
		  len ? names : "no bdev at all");
}

static void session_open_store(struct cli *cli, struct brisk_bs_dev *dev)
{
	struct brisk_bs_opts opts;

	switch (cli->cmd->mode) {
	case CLI_STORE_RAW:
		brisk_bs_dump(dev, stdout, session_dumped, cli);
		return;
	case CLI_STORE_INIT:
		brisk_bs_opts_init(&opts);
		if (cli->cluster_size != 0) {
			opts.cluster_sz = cli->cluster_size;
		}
		opts.num_md_pages = cli->md_pages;
		brisk_bs_init(dev, &opts, session_store_ready, cli);
		return;
	case CLI_STORE_LOAD:
		brisk_bs_opts_init(&opts);
		opts.recover_damaged = cli->recover;
		brisk_bs_load(dev, &opts, session_store_ready, cli);
		return;
	}
}

static void session_open_dev(void *arg)
{
	struct cli *cli = arg;
	struct brisk_bs_dev *dev = NULL;
	struct brisk_bdev *bdev = brisk_bdev_get_by_name(cli->bdev_name);
	int rc;

	if (bdev == NULL) {
		session_no_such_bdev(cli);
		cli->status = CLI_EXIT_FAILURE;
		session_stop(cli);
		return;
	}
	rc = brisk_bdev_create_bs_dev_ext(cli->bdev_name, session_bdev_event, cli, &dev);
	if (rc != 0) {
		const char *claim = brisk_bdev_get_claim_module_name(bdev);

		if (rc == -EPERM && claim != NULL) {
			cli_error("bdev '%s' is claimed by module %s (it holds an lvol store?)",
				  cli->bdev_name, claim);
		} else if (rc == -EINVAL) {
			cli_error("bdev '%s' has block size %u: a blobstore needs one that divides 4096",
				  cli->bdev_name, brisk_bdev_get_block_size(bdev));
		} else {
			cli_error("cannot open bdev '%s': %s", cli->bdev_name, strerror(-rc));
		}
		cli->status = CLI_EXIT_FAILURE;
		session_stop(cli);
		return;
	}
	session_open_store(cli, dev);
}

static void session_start(void *arg)
{
	struct cli *cli = arg;

	if (brisk_bdev_wait_for_examine(session_open_dev, cli) != 0) {
		cli_error("cannot wait for the bdevs to be examined");
		cli->status = CLI_EXIT_FAILURE;
		session_stop(cli);
	}
}

static struct cli *g_session_cli;

/* SIGINT/SIGTERM: stopping the app at once would leave the store dirty.
 * The command stops at its next step instead (import and export check
 * between chunks; the others are a few metadata writes) and the store is
 * unloaded as usual; the exit status says it did not finish. */
static void session_shutdown(void)
{
	if (!g_session_cli->interrupted) {
		cli_error("interrupted: stopping after the current step and unloading the store");
	}
	g_session_cli->interrupted = true;
}

int cli_session_run(struct cli *cli, struct brisk_app_opts *opts)
{
	int rc;

	g_session_cli = cli;
	opts->shutdown_cb = session_shutdown;
	rc = brisk_app_start(opts, session_start, cli);

	if (rc < 0) {
		/* Start-up itself failed (memory, config): the framework said why. */
		cli_error("could not start (see the error above)");
		return CLI_EXIT_FAILURE;
	}
	return rc == 0 ? EXIT_SUCCESS : CLI_EXIT_FAILURE;
}
