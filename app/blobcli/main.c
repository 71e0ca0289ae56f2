/*
 * blobcli: looks at and changes a blobstore on a bdev from the command line.
 *
 *   blobcli <command> [arguments] -c <config.json> -b <bdev> [options]
 *
 * The bdev comes from the JSON config (SPDK's shape, e.g. one
 * bdev_aio_create call). The command word comes first, then its fixed
 * arguments, then options in any order; see cli_usage for the list.
 * Exit status: 0 done, 1 the command failed (or check found problems),
 * 2 the command line is wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/event.h>
#include <brisk/rpc.h>
#include <brisk/string.h>

#include "blobcli.h"

enum {
	OPT_THIN = BRISK_APP_OPT_USER_BASE,
	OPT_CLUSTER_SIZE,
	OPT_MD_PAGES,
	OPT_BYTES,
	OPT_RECOVER,
};

static const struct cli_command g_commands[] = {
	{ "init", "", 0, CLI_STORE_INIT, cmd_init,
	  "write a new, empty blobstore over the bdev (what\n"
	  "was on it is lost) [--cluster-size] [--md-pages]" },
	{ "stats", "", 0, CLI_STORE_LOAD, cmd_stats,
	  "geometry and usage: clusters, free clusters,\n"
	  "blobs, metadata pages (brisk_bs_get_stats)" },
	{ "list", "", 0, CLI_STORE_LOAD, cmd_list,
	  "every blob: clusters, allocated clusters, io units,\n"
	  "thin/read-only/snapshot/clone, parent, xattrs" },
	{ "create", "<clusters>", 1, CLI_STORE_LOAD, cmd_create,
	  "a new blob of that many clusters (--thin: storage\n"
	  "allocated on first write); prints its id" },
	{ "clone", "<blobid>", 1, CLI_STORE_LOAD, cmd_clone,
	  "a thin clone of a read-only blob; prints its id" },
	{ "delete", "<blobid>", 1, CLI_STORE_LOAD, cmd_delete, "delete a blob" },
	{ "resize", "<blobid> <clusters>", 2, CLI_STORE_LOAD, cmd_resize,
	  "grow or shrink a blob" },
	{ "set-read-only", "<blobid>", 1, CLI_STORE_LOAD, cmd_set_read_only,
	  "make a blob read-only for good (then it can be\n"
	  "cloned)" },
	{ "set-xattr", "<blobid> <name> <value>", 3, CLI_STORE_LOAD, cmd_set_xattr,
	  "set an xattr to the bytes of <value>" },
	{ "get-xattr", "<blobid> <name>", 2, CLI_STORE_LOAD, cmd_get_xattr,
	  "print an xattr's value as stored, and a newline" },
	{ "remove-xattr", "<blobid> <name>", 2, CLI_STORE_LOAD, cmd_remove_xattr,
	  "remove an xattr" },
	{ "import", "<blobid> <file>", 2, CLI_STORE_LOAD, cmd_import,
	  "write the file into the blob from offset 0; the\n"
	  "blob grows when it is smaller than the file (the\n"
	  "last io unit is padded with zeroes)" },
	{ "export", "<blobid> <file>", 2, CLI_STORE_LOAD, cmd_export,
	  "write the blob into the file (created or\n"
	  "truncated); --bytes <n>: only the first n bytes" },
	{ "dump", "", 0, CLI_STORE_RAW, NULL,
	  "print both super block copies, then every\n"
	  "metadata page with its descriptors decoded; reads\n"
	  "only, works on a store that does not load" },
	{ "check", "", 0, CLI_STORE_LOAD, cmd_check,
	  "verify every invariant (brisk_bs_check), print\n"
	  "each problem; exit 1 when there is any" },
};
#define CLI_NUM_COMMANDS (sizeof(g_commands) / sizeof(g_commands[0]))

static struct cli g_cli = { .import_fd = -1 };
static struct brisk_app_opts *g_opts;

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "blobcli: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

#define CLI_USAGE_COL 28

static void cli_usage_commands(void)
{
	printf("\nCommands (--<command> works too, e.g. --check):\n");
	for (size_t i = 0; i < CLI_NUM_COMMANDS; i++) {
		const struct cli_command *c = &g_commands[i];
		char head[64];

		snprintf(head, sizeof(head), "%s %s", c->name, c->args);
		if (strlen(head) >= CLI_USAGE_COL - 2) {
			/* Too long for the column: the help starts on the next line. */
			printf("  %s\n  %-*s", head, CLI_USAGE_COL - 2, "");
		} else {
			printf("  %-*s", CLI_USAGE_COL - 2, head);
		}
		for (const char *h = c->help; *h != '\0'; h++) {
			putchar(*h);
			if (*h == '\n') {
				printf("  %-*s", CLI_USAGE_COL - 2, "");
			}
		}
		printf("\n");
	}
}

static void cli_usage_own_options(void)
{
	printf("\nblobcli options:\n"
	       " -b, --bdev <name>          the bdev holding the store (required)\n"
	       " -j <file>                  same as -c: the JSON config that creates the bdev\n"
	       "                            (required)\n"
	       "     --thin                 create: a thin provisioned blob\n"
	       "     --cluster-size <size>  init: cluster size (k/m suffixes, a multiple of 4k;\n"
	       "                            default 1m)\n"
	       "     --md-pages <n>         init: metadata pages, >= 64 (default: one per\n"
	       "                            cluster)\n"
	       "     --bytes <n>            export: bytes to write (k/m suffixes)\n"
	       "     --recover              load a store with damaged metadata anyway: a blob\n"
	       "                            whose newest version is lost keeps the one found\n"
	       "                            (written again), masks that fail their CRC are\n"
	       "                            rebuilt (recover_damaged; see doc/blobstore_format.md)\n"
	       "\nA blob id is a number (0x1 or 1); arguments may not start with '-'. Every\n"
	       "command but dump loads the store and unloads it cleanly at the end. The log\n"
	       "level defaults to warning. Exit status: 0 done; 1 the command failed or check\n"
	       "found a problem; 2 bad command line.\n"
	       "\nExamples:\n"
	       "  blobcli init -c aio.json -b Aio0 -s 64\n"
	       "  blobcli create 8 --thin -c aio.json -b Aio0 -s 64\n"
	       "  blobcli import 0x1 disk.raw -c aio.json -b Aio0 -s 64\n");
}

/* After the framework's options, when -h comes among the options. */
static void cli_usage_after_framework(void)
{
	cli_usage_commands();
	cli_usage_own_options();
}

static void cli_usage(void)
{
	printf("Usage: blobcli <command> [arguments] -c <config.json> -b <bdev> [options]\n");
	cli_usage_commands();
	cli_usage_own_options();
	printf("\nFramework options:\n");
	brisk_app_usage(stdout);
	fflush(stdout);
}

static int cli_parse_size(const char *flag, const char *arg, uint64_t max, uint64_t *out)
{
	if (brisk_parse_capacity(arg, out, NULL) != 0 || *out == 0 || *out > max) {
		cli_error("%s: '%s' is not a size from 1 to %lu (k/m/g suffixes)", flag, arg,
			  (unsigned long)max);
		return -EINVAL;
	}
	return 0;
}

static int cli_parse_opt(int ch, char *arg)
{
	uint64_t v;

	switch (ch) {
	case 'b':
		if (arg[0] == '\0') {
			cli_error("-b (--bdev): the bdev name is empty");
			return -EINVAL;
		}
		g_cli.bdev_name = arg;
		return 0;
	case 'j':
		if (arg[0] == '\0') {
			cli_error("-j: the config file name is empty");
			return -EINVAL;
		}
		g_opts->json_config_file = arg;
		return 0;
	case OPT_THIN:
		g_cli.thin = true;
		return 0;
	case OPT_CLUSTER_SIZE:
		if (cli_parse_size("--cluster-size", arg, 1u << 30, &v) != 0) {
			return -EINVAL;
		}
		if (v % 4096 != 0) {
			cli_error("--cluster-size: %s is not a multiple of 4096", arg);
			return -EINVAL;
		}
		g_cli.cluster_size = (uint32_t)v;
		return 0;
	case OPT_MD_PAGES:
		if (brisk_parse_u32(arg, 10, &g_cli.md_pages) != 0 || g_cli.md_pages < 64) {
			cli_error("--md-pages: '%s' is not a number >= 64", arg);
			return -EINVAL;
		}
		return 0;
	case OPT_BYTES:
		if (cli_parse_size("--bytes", arg, UINT64_MAX, &g_cli.export_bytes) != 0) {
			return -EINVAL;
		}
		g_cli.have_export_bytes = true;
		return 0;
	case OPT_RECOVER:
		g_cli.recover = true;
		return 0;
	default:
		return -EINVAL;
	}
}

static const struct cli_command *cli_find_command(const char *word)
{
	/* --check is the same as check, for people used to flag-style tools. */
	if (strncmp(word, "--", 2) == 0) {
		word += 2;
	}
	for (size_t i = 0; i < CLI_NUM_COMMANDS; i++) {
		if (strcmp(word, g_commands[i].name) == 0) {
			return &g_commands[i];
		}
	}
	return NULL;
}

static int cli_parse_blobid(const char *arg)
{
	if (brisk_parse_u64(arg, 0, &g_cli.blobid) != 0 || g_cli.blobid == BRISK_BLOBID_INVALID) {
		cli_error("%s: '%s' is not a blob id (a number >= 1, e.g. 0x1)", g_cli.cmd->name, arg);
		return -EINVAL;
	}
	return 0;
}

static int cli_parse_clusters(const char *arg)
{
	if (brisk_parse_u64(arg, 0, &g_cli.clusters) != 0 || g_cli.clusters > UINT32_MAX) {
		cli_error("%s: '%s' is not a cluster count (0 .. %u)", g_cli.cmd->name, arg,
			  UINT32_MAX);
		return -EINVAL;
	}
	return 0;
}

/* The command's own arguments, and options that only some commands take. */
static int cli_check_command_line(void)
{
	const struct cli_command *cmd = g_cli.cmd;
	const char *name = cmd->name;

	if (g_cli.thin && cmd->run != cmd_create) {
		cli_error("--thin only applies to create, not %s", name);
		return -EINVAL;
	}
	if ((g_cli.cluster_size || g_cli.md_pages) && cmd->run != cmd_init) {
		cli_error("--cluster-size and --md-pages only apply to init, not %s", name);
		return -EINVAL;
	}
	if (g_cli.recover && cmd->mode != CLI_STORE_LOAD) {
		cli_error("--recover only applies to commands that load the store, not %s", name);
		return -EINVAL;
	}
	if (g_cli.have_export_bytes && cmd->run != cmd_export) {
		cli_error("--bytes only applies to export, not %s", name);
		return -EINVAL;
	}
	if (g_cli.bdev_name == NULL) {
		cli_error("%s: no bdev given: -b <bdev> names the bdev holding the store", name);
		return -EINVAL;
	}
	if (g_opts->json_config_file == NULL) {
		cli_error("%s: no config given: -c <config.json> must create bdev '%s' (e.g. with "
			  "bdev_aio_create)", name, g_cli.bdev_name);
		return -EINVAL;
	}
	if (cmd->run == cmd_create) {
		return cli_parse_clusters(g_cli.args[0]);
	}
	if (cmd->run == cmd_resize) {
		if (cli_parse_blobid(g_cli.args[0]) != 0) {
			return -EINVAL;
		}
		return cli_parse_clusters(g_cli.args[1]);
	}
	if (cmd->nargs > 0) {
		return cli_parse_blobid(g_cli.args[0]);
	}
	return 0;
}

/* Splits argv into the command, its arguments, and the options that the
 * framework's parser gets (with argv[0] in front). */
static int cli_split_command(int argc, char **argv, int *opt_argc, char ***opt_argv)
{
	const struct cli_command *cmd;
	char **rest;
	int n = 1;

	cmd = cli_find_command(argv[1]);
	if (cmd == NULL && argv[1][0] == '-') {
		cli_error("the command comes first: blobcli <command> [arguments] [options], not "
			  "option '%s' (see --help)", argv[1]);
		return -EINVAL;
	}
	if (cmd == NULL) {
		cli_error("unknown command '%s' (see --help)", argv[1]);
		return -EINVAL;
	}
	g_cli.cmd = cmd;
	for (uint32_t i = 0; i < cmd->nargs; i++) {
		const char *a = 2 + (int)i < argc ? argv[2 + i] : NULL;

		/* A missing argument usually shows up as the first option. */
		if (a == NULL || (a[0] == '-' && a[1] != '\0')) {
			cli_error("%s needs %s%s%s", cmd->name, cmd->args, a != NULL ? ", not option " : "",
				  a != NULL ? a : "");
			return -EINVAL;
		}
		g_cli.args[i] = a;
	}
	rest = calloc((size_t)argc + 1, sizeof(*rest));
	if (rest == NULL) {
		cli_error("out of memory");
		return -ENOMEM;
	}
	rest[0] = argv[0];
	for (int i = 2 + (int)cmd->nargs; i < argc; i++) {
		rest[n++] = argv[i];
	}
	*opt_argc = n;
	*opt_argv = rest;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"bdev", required_argument, NULL, 'b'},
		{"thin", no_argument, NULL, OPT_THIN},
		{"cluster-size", required_argument, NULL, OPT_CLUSTER_SIZE},
		{"md-pages", required_argument, NULL, OPT_MD_PAGES},
		{"bytes", required_argument, NULL, OPT_BYTES},
		{"recover", no_argument, NULL, OPT_RECOVER},
		{NULL, 0, NULL, 0},
	};
	struct brisk_app_opts opts;
	char **opt_argv = NULL;
	int opt_argc = 0, rc;

	if (argc < 2) {
		cli_error("no command given (see --help)");
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_usage();
		return EXIT_SUCCESS;
	}
	if (cli_split_command(argc, argv, &opt_argc, &opt_argv) != 0) {
		return CLI_EXIT_USAGE;
	}
	brisk_app_opts_init(&opts);
	opts.name = "blobcli";
	/* A command-line tool: notices of the framework and the store are noise. */
	opts.print_level = BRISK_LOG_WARN;
	g_opts = &opts;
	switch (brisk_app_parse_args(opt_argc, opt_argv, &opts, "b:j:", long_opts, cli_parse_opt,
				     cli_usage_after_framework)) {
	case BRISK_APP_PARSE_ARGS_SUCCESS:
		break;
	case BRISK_APP_PARSE_ARGS_HELP:
		free(opt_argv);
		return EXIT_SUCCESS;
	default:
		free(opt_argv);
		return CLI_EXIT_USAGE;
	}
	if (cli_check_command_line() != 0) {
		free(opt_argv);
		return CLI_EXIT_USAGE;
	}
	if (opts.rpc_addr != NULL && strcmp(opts.rpc_addr, BRISK_DEFAULT_RPC_ADDR) == 0) {
		/* Nobody talks to blobcli over RPC unless -r asks for it. */
		opts.rpc_addr = NULL;
	}
	if (g_cli.cmd->run == cmd_import) {
		/* Before the app starts, so a typo costs no start-up. */
		g_cli.import_fd = open(g_cli.args[1], O_RDONLY | O_CLOEXEC);
		if (g_cli.import_fd < 0) {
			cli_error("import: cannot open '%s': %s", g_cli.args[1], strerror(errno));
			free(opt_argv);
			return CLI_EXIT_FAILURE;
		}
	}
	rc = cli_session_run(&g_cli, &opts);
	if (g_cli.import_fd >= 0) {
		close(g_cli.import_fd);
	}
	free(opt_argv);
	return rc;
}
