/*
 * brisk_tgt: the Brisk target application. Today it runs the framework
 * (reactors, subsystems, JSON config) and the JSON-RPC server; storage
 * subsystems and targets join as they are written.
 *
 *   brisk_tgt -m 0x3 [-r /path/to.sock] [-c config.json] [--wait-for-rpc]
 *   (default socket: /var/run/brisk/brisk.sock for root, $XDG_RUNTIME_DIR/brisk.sock
 *   for other users; see doc/security.md)
 */
#include <stdio.h>
#include <stdlib.h>

#include <brisk/event.h>
#include <brisk/log.h>

static void tgt_usage(void)
{
	printf("\nbrisk_tgt has no options of its own yet. Configure it through JSON-RPC\n"
	       "(scripts/rpc.py -s <socket> ...) or a JSON config file (-c).\n");
}

static void tgt_started(void *ctx)
{
	const struct brisk_app_opts *opts = ctx;

	BRISK_NOTICELOG("brisk_tgt is running; RPC socket %s\n",
			opts->rpc_addr != NULL ? opts->rpc_addr : "(none)");
}

int main(int argc, char **argv)
{
	struct brisk_app_opts opts;
	int rc;

	brisk_app_opts_init(&opts);
	opts.name = "brisk_tgt";
	switch (brisk_app_parse_args(argc, argv, &opts, NULL, NULL, NULL, tgt_usage)) {
	case BRISK_APP_PARSE_ARGS_SUCCESS:
		break;
	case BRISK_APP_PARSE_ARGS_HELP:
		return EXIT_SUCCESS;
	default:
		return EXIT_FAILURE;
	}
	rc = brisk_app_start(&opts, tgt_started, &opts);
	if (rc != 0) {
		fprintf(stderr, "brisk_tgt: exiting with error %d\n", rc);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
