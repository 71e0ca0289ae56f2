/*
 * The common command line of Brisk programs: defaults, parsing (framework
 * options plus the program's own) and the usage text. Every bad value is
 * reported naming the flag and the value.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/pci.h>
#include <brisk/rpc.h>

#include "event_internal.h"

#define APP_GETOPT_STR "A:B:c:hi:m:r:s:L:"
#define APP_MAX_GETOPT_STR 256
#define APP_MAX_LONG_OPTS 64
#define APP_COUNTOF(a) (sizeof(a) / sizeof((a)[0]))

enum app_long_opt {
	APP_OPT_NO_HUGE = 256,
	APP_OPT_HUGE_DIR,
	APP_OPT_LOG_LEVEL,
	APP_OPT_WAIT_FOR_RPC,
	APP_OPT_POLL_MODE,
	APP_OPT_RPC_SOCKET_MODE,
	APP_OPT_RPC_SOCKET_GROUP,
	APP_OPT_ADAPTIVE_SPIN_US,
};

static const struct option g_app_long_opts[] = {
	{ "pci-allowed", required_argument, NULL, 'A' },
	{ "pci-blocked", required_argument, NULL, 'B' },
	{ "config", required_argument, NULL, 'c' },
	{ "json", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ "shm-id", required_argument, NULL, 'i' },
	{ "cpumask", required_argument, NULL, 'm' },
	{ "rpc-socket", required_argument, NULL, 'r' },
	{ "mem-size", required_argument, NULL, 's' },
	{ "logflag", required_argument, NULL, 'L' },
	{ "no-huge", no_argument, NULL, APP_OPT_NO_HUGE },
	{ "huge-dir", required_argument, NULL, APP_OPT_HUGE_DIR },
	{ "log-level", required_argument, NULL, APP_OPT_LOG_LEVEL },
	{ "wait-for-rpc", no_argument, NULL, APP_OPT_WAIT_FOR_RPC },
	{ "poll-mode", no_argument, NULL, APP_OPT_POLL_MODE },
	{ "rpc-socket-mode", required_argument, NULL, APP_OPT_RPC_SOCKET_MODE },
	{ "rpc-socket-group", required_argument, NULL, APP_OPT_RPC_SOCKET_GROUP },
	{ "adaptive-spin-us", required_argument, NULL, APP_OPT_ADAPTIVE_SPIN_US },
};

void brisk_app_opts_init(struct brisk_app_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->name = "brisk";
	opts->reactor_mask = "0x1";
	opts->rpc_addr = BRISK_DEFAULT_RPC_ADDR;
	opts->mem_size_mb = 0;
	opts->shm_id = -1;
	opts->print_level = BRISK_LOG_NOTICE;
	opts->rpc_socket_mode = BRISK_RPC_DEFAULT_SOCKET_MODE;
	opts->rpc_socket_gid = -1;
	opts->adaptive_spin_us = BRISK_APP_DEFAULT_ADAPTIVE_SPIN_US;
}

void brisk_app_usage(FILE *f)
{
	fprintf(f,
		" -A, --pci-allowed <addr> only drive this PCI device (DDDD:BB:DD.F or BB:DD.F;\n"
		"                          repeatable); default: every device not blocked\n"
		" -B, --pci-blocked <addr> never drive this PCI device (repeatable; not with -A)\n"
		" -c, --config <file>      JSON configuration applied at start-up (--json also works)\n"
		" -h, --help               show this usage and exit\n"
		" -i, --shm-id <id>        shared memory id (>= 0) for multi-process sharing;\n"
		"                          default: private memory\n"
		" -m, --cpumask <mask>     cores to run reactors on: a hex mask (0x3) or a list\n"
		"                          ([0-1,4]); the first is the main core; default 0x1\n"
		" -r, --rpc-socket <path>  JSON-RPC Unix socket; default %s\n"
		"     --rpc-socket-mode <octal>  the socket's permissions, whatever the umask\n"
		"                          (default 0660; must include 0600)\n"
		"     --rpc-socket-group <group> group (name or id) of the socket whose members\n"
		"                          may send RPCs; default: only root and this user\n"
		" -s, --mem-size <MB>      memory to reserve up front in MB (more grows on\n"
		"                          demand); default %u\n"
		" -L, --logflag <flag>     enable a debug log flag (repeatable; 'all' for every flag)\n"
		"     --no-huge            use ordinary locked pages instead of hugepages\n"
		"     --huge-dir <dir>     hugetlbfs mount to use; default: the first one mounted\n"
		"     --log-level <level>  stderr level: error, warning, notice, info, debug\n"
		"                          (default notice)\n"
		"     --wait-for-rpc       wait for framework_start_init before initialising subsystems\n"
		"     --poll-mode          reactors always poll (never sleep when idle)\n"
		"     --adaptive-spin-us <us>  Brisk's own (not in SPDK): a reactor woken by work\n"
		"                          within <us> of its last work spins that long before\n"
		"                          sleeping again (0-%u; default %u; 0 = off)\n",
		BRISK_DEFAULT_RPC_ADDR, BRISK_ENV_DEFAULT_MEM_MB, BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US,
		BRISK_APP_DEFAULT_ADAPTIVE_SPIN_US);
}

static int app_parse_u64(const char *s, uint64_t *out);

static int app_parse_adaptive_spin(const char *prog, const char *arg, struct brisk_app_opts *opts)
{
	uint64_t v;

	if (app_parse_u64(arg, &v) != 0 || v > BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US) {
		fprintf(stderr,
			"%s: --adaptive-spin-us: '%s' is not a number of microseconds "
			"from 0 to %u\n",
			prog, arg, BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US);
		return -EINVAL;
	}
	opts->adaptive_spin_us = (uint32_t)v;
	return 0;
}

static const char *app_prog_name(char **argv)
{
	const char *slash;

	if (argv == NULL || argv[0] == NULL) {
		return "brisk";
	}
	slash = strrchr(argv[0], '/');
	return slash != NULL ? slash + 1 : argv[0];
}

/* Strict unsigned decimal: digits only, no sign, no overflow. */
static int app_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9') {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0') {
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static bool app_log_flag_exists(const char *name)
{
	struct brisk_log_flag *flag;

	if (strcmp(name, "all") == 0) {
		return true;
	}
	for (flag = brisk_log_get_first_flag(); flag != NULL; flag = brisk_log_get_next_flag(flag)) {
		if (strcmp(flag->name, name) == 0) {
			return true;
		}
	}
	return false;
}

/* -A / -B: the app's PCI allow and block lists (lib/env), as SPDK's apps take them. */
static int app_parse_pci_opt(const char *prog, int ch, const char *arg)
{
	const char *flag = ch == 'A' ? "-A (--pci-allowed)" : "-B (--pci-blocked)";
	struct brisk_pci_addr addr;
	int rc;

	if (brisk_pci_addr_parse(&addr, arg) != 0) {
		fprintf(stderr, "%s: %s: '%s' is not a PCI address (DDDD:BB:DD.F, BB:DD.F or "
			"DDDD.BB.DD.F)\n", prog, flag, arg);
		return -EINVAL;
	}
	if ((ch == 'A' ? brisk_pci_blocked_count() : brisk_pci_allowed_count()) != 0) {
		fprintf(stderr, "%s: -A (--pci-allowed) and -B (--pci-blocked) cannot be used "
			"together\n", prog);
		return -EINVAL;
	}
	rc = ch == 'A' ? brisk_pci_allow(arg) : brisk_pci_block(arg);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: cannot add '%s': %s\n", prog, flag, arg, strerror(-rc));
	}
	return rc;
}

/* --rpc-socket-mode: octal permission bits including the owner's rw. */
static int app_parse_socket_mode(const char *prog, const char *arg, struct brisk_app_opts *opts)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 8);
	if (arg[0] < '0' || arg[0] > '7' || errno != 0 || *end != '\0' || v > 0777 ||
	    (v & 0600) != 0600) {
		fprintf(stderr, "%s: --rpc-socket-mode: '%s' is not an octal mode from 0600 to 0777 "
			"that includes 0600\n", prog, arg);
		return -EINVAL;
	}
	opts->rpc_socket_mode = (uint32_t)v;
	return 0;
}

/* --rpc-socket-group: a group name, or a numeric id. */
static int app_parse_socket_group(const char *prog, const char *arg, struct brisk_app_opts *opts)
{
	struct group *gr = getgrnam(arg);
	uint64_t v;

	if (gr != NULL) {
		opts->rpc_socket_gid = gr->gr_gid;
		return 0;
	}
	if (app_parse_u64(arg, &v) == 0 && v < UINT32_MAX) {
		opts->rpc_socket_gid = (int64_t)v;
		return 0;
	}
	fprintf(stderr, "%s: --rpc-socket-group: there is no group '%s'\n", prog, arg);
	return -EINVAL;
}

/* One framework option; 0 or -EINVAL with a message naming it. */
static int app_parse_framework_opt(const char *prog, int ch, char *arg, struct brisk_app_opts *opts)
{
	struct brisk_cpuset set;
	enum brisk_log_level level;
	uint64_t v;

	switch (ch) {
	case 'A':
	case 'B':
		return app_parse_pci_opt(prog, ch, arg) == 0 ? 0 : -EINVAL;
	case 'c':
		if (arg[0] == '\0') {
			fprintf(stderr, "%s: -c (--config): the file name is empty\n", prog);
			return -EINVAL;
		}
		opts->json_config_file = arg;
		return 0;
	case 'i':
		if (app_parse_u64(arg, &v) != 0 || v > INT_MAX) {
			fprintf(stderr, "%s: -i (--shm-id): '%s' is not a number from 0 to %d\n",
				prog, arg, INT_MAX);
			return -EINVAL;
		}
		opts->shm_id = (int)v;
		return 0;
	case 'm':
		if (brisk_cpuset_parse(&set, arg) != 0) {
			fprintf(stderr, "%s: -m (--cpumask): '%s' is not a core mask (0x3) or list ([0-1])\n",
				prog, arg);
			return -EINVAL;
		}
		opts->reactor_mask = arg;
		return 0;
	case 'r':
		if (arg[0] == '\0' || strlen(arg) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			fprintf(stderr, "%s: -r (--rpc-socket): '%s' must be a path of 1 to %zu characters\n",
				prog, arg, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -EINVAL;
		}
		opts->rpc_addr = arg;
		return 0;
	case 's':
		if (app_parse_u64(arg, &v) != 0 || v == 0 || v > (1ull << 30)) {
			fprintf(stderr, "%s: -s (--mem-size): '%s' is not a size in MB (a positive number)\n",
				prog, arg);
			return -EINVAL;
		}
		opts->mem_size_mb = v;
		return 0;
	case 'L':
		if (!app_log_flag_exists(arg)) {
			fprintf(stderr, "%s: -L (--logflag): there is no log flag '%s'\n", prog, arg);
			return -EINVAL;
		}
		if (opts->num_log_flags >= BRISK_APP_MAX_LOG_FLAGS) {
			fprintf(stderr, "%s: -L (--logflag): more than %d flags\n", prog,
				BRISK_APP_MAX_LOG_FLAGS);
			return -EINVAL;
		}
		opts->log_flags[opts->num_log_flags++] = arg;
		return 0;
	case APP_OPT_NO_HUGE:
		opts->no_huge = true;
		return 0;
	case APP_OPT_HUGE_DIR:
		if (arg[0] == '\0') {
			fprintf(stderr, "%s: --huge-dir: the directory name is empty\n", prog);
			return -EINVAL;
		}
		opts->hugedir = arg;
		return 0;
	case APP_OPT_LOG_LEVEL:
		if (brisk_log_level_from_string(arg, &level) != 0) {
			fprintf(stderr, "%s: --log-level: '%s' is not one of error, warning, notice, "
				"info, debug, disabled\n", prog, arg);
			return -EINVAL;
		}
		opts->print_level = level;
		return 0;
	case APP_OPT_WAIT_FOR_RPC:
		opts->wait_for_rpc = true;
		return 0;
	case APP_OPT_POLL_MODE:
		opts->poll_mode = true;
		return 0;
	case APP_OPT_ADAPTIVE_SPIN_US:
		return app_parse_adaptive_spin(prog, arg, opts);
	case APP_OPT_RPC_SOCKET_MODE:
		return app_parse_socket_mode(prog, arg, opts);
	case APP_OPT_RPC_SOCKET_GROUP:
		return app_parse_socket_group(prog, arg, opts);
	default:
		return -ENOENT; /* not a framework option */
	}
}

/* Builds the merged getopt string and long option table; -EINVAL if the
 * program's options collide with the framework's. */
static int app_merge_options(const char *prog, const char *app_getopt_str,
			     const struct option *app_long_opts, char *optstr, size_t optstr_len,
			     struct option *long_opts, size_t long_opts_len)
{
	size_t n = 0, i;

	if (app_getopt_str != NULL) {
		for (const char *p = app_getopt_str; *p != '\0'; p++) {
			if (*p != ':' && strchr(APP_GETOPT_STR, *p) != NULL) {
				fprintf(stderr, "%s: program option -%c collides with a framework option\n",
					prog, *p);
				return -EINVAL;
			}
		}
	}
	/* Leading ':' makes getopt report a missing argument as ':' (not '?'). */
	if ((size_t)snprintf(optstr, optstr_len, ":%s%s", APP_GETOPT_STR,
			     app_getopt_str != NULL ? app_getopt_str : "") >= optstr_len) {
		fprintf(stderr, "%s: program getopt string is too long\n", prog);
		return -EINVAL;
	}
	for (i = 0; i < APP_COUNTOF(g_app_long_opts); i++) {
		long_opts[n++] = g_app_long_opts[i];
	}
	for (i = 0; app_long_opts != NULL && app_long_opts[i].name != NULL; i++) {
		for (size_t j = 0; j < APP_COUNTOF(g_app_long_opts); j++) {
			if (strcmp(app_long_opts[i].name, g_app_long_opts[j].name) == 0) {
				fprintf(stderr, "%s: program option --%s collides with a framework option\n",
					prog, app_long_opts[i].name);
				return -EINVAL;
			}
		}
		if (app_long_opts[i].flag == NULL && app_long_opts[i].val < BRISK_APP_OPT_USER_BASE &&
		    (app_getopt_str == NULL || app_long_opts[i].val > 255 ||
		     strchr(app_getopt_str, app_long_opts[i].val) == NULL)) {
			fprintf(stderr, "%s: program option --%s: its value must be >= %d or a short "
				"option of the program\n", prog, app_long_opts[i].name,
				BRISK_APP_OPT_USER_BASE);
			return -EINVAL;
		}
		if (n + 1 >= long_opts_len) {
			fprintf(stderr, "%s: too many program options\n", prog);
			return -EINVAL;
		}
		long_opts[n++] = app_long_opts[i];
	}
	memset(&long_opts[n], 0, sizeof(long_opts[n]));
	return 0;
}

/* A program option its parser refused (value given) or that has no parser. */
static void app_print_bad_option(const char *prog, int ch, int idx, const struct option *long_opts,
				 const char *value)
{
	char name[64];

	if (idx >= 0) {
		snprintf(name, sizeof(name), "--%s", long_opts[idx].name);
	} else {
		snprintf(name, sizeof(name), "-%c", ch);
	}
	if (value != NULL) {
		fprintf(stderr, "%s: option '%s': bad value '%s'\n", prog, name, value);
	} else {
		fprintf(stderr, "%s: option '%s' is not handled by the program\n", prog, name);
	}
}

static void app_print_usage(const char *prog, void (*usage)(void))
{
	printf("Usage: %s [options]\n\nOptions:\n", prog);
	brisk_app_usage(stdout);
	if (usage != NULL) {
		usage();
	}
	fflush(stdout);
}

enum brisk_app_parse_args_rvals brisk_app_parse_args(int argc, char **argv, struct brisk_app_opts *opts,
		const char *app_getopt_str, const struct option *app_long_opts,
		int (*parse)(int ch, char *arg), void (*usage)(void))
{
	const char *prog = app_prog_name(argv);
	char optstr[APP_MAX_GETOPT_STR];
	struct option long_opts[APP_MAX_LONG_OPTS];
	int ch, idx, rc;

	if (opts == NULL || argv == NULL || argc < 1) {
		fprintf(stderr, "%s: brisk_app_parse_args: no options or arguments given\n", prog);
		return BRISK_APP_PARSE_ARGS_ERROR;
	}
	if (app_merge_options(prog, app_getopt_str, app_long_opts, optstr, sizeof(optstr),
			      long_opts, APP_COUNTOF(long_opts)) != 0) {
		return BRISK_APP_PARSE_ARGS_ERROR;
	}
	if (opts->name == NULL || strcmp(opts->name, "brisk") == 0) {
		opts->name = prog;
	}

	brisk_pci_lists_reset(); /* the command line is the lists' one source */
	opterr = 0;  /* we print our own messages, naming the flag */
	optind = 0;  /* 0 = full reset in glibc, so parsing can run again (tests) */
	while ((idx = -1, ch = getopt_long(argc, argv, optstr, long_opts, &idx)) != -1) {
		if (ch == '?') {
			if (optopt != 0 && strncmp(argv[optind - 1], "--", 2) == 0) {
				/* a known long switch given a value: --poll-mode=yes */
				fprintf(stderr, "%s: option '%.*s' takes no value\n", prog,
					(int)strcspn(argv[optind - 1], "="), argv[optind - 1]);
			} else if (optopt != 0 && optopt < 256) {
				fprintf(stderr, "%s: unknown option '-%c' (see --help)\n", prog, optopt);
			} else {
				fprintf(stderr, "%s: unknown option '%s' (see --help)\n", prog,
					argv[optind - 1]);
			}
			return BRISK_APP_PARSE_ARGS_ERROR;
		}
		if (ch == ':') {
			if (optopt != 0 && optopt < 256 && strncmp(argv[optind - 1], "--", 2) != 0) {
				fprintf(stderr, "%s: option '-%c' needs a value\n", prog, optopt);
			} else {
				fprintf(stderr, "%s: option '%s' needs a value\n", prog, argv[optind - 1]);
			}
			return BRISK_APP_PARSE_ARGS_ERROR;
		}
		if (ch == 'h') {
			app_print_usage(prog, usage);
			return BRISK_APP_PARSE_ARGS_HELP;
		}
		rc = app_parse_framework_opt(prog, ch, optarg, opts);
		if (rc == -ENOENT) {
			if (parse == NULL) {
				app_print_bad_option(prog, ch, idx, long_opts, NULL);
				return BRISK_APP_PARSE_ARGS_ERROR;
			}
			rc = parse(ch, optarg);
			if (rc != 0) {
				app_print_bad_option(prog, ch, idx, long_opts, optarg);
				return BRISK_APP_PARSE_ARGS_ERROR;
			}
		} else if (rc != 0) {
			return BRISK_APP_PARSE_ARGS_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]);
		return BRISK_APP_PARSE_ARGS_ERROR;
	}
	return BRISK_APP_PARSE_ARGS_SUCCESS;
}
