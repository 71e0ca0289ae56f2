/*
 * Unit tests for lib/event/app_args.c: every framework flag in short and long
 * form, bad values, unknown options, -h, and program options merged in.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/event.h>
#include <brisk/pci.h>
#include <brisk/rpc.h>
#include "../../common/ut_main.h"

#define MAX_ARGS 32

static char *g_argv[MAX_ARGS + 1];
static char g_argbuf[MAX_ARGS][300];
static int g_argc;

/* Builds a writable argv ("prog", then the arguments, NULL-terminated). */
static void set_args(const char *first, ...)
{
	va_list ap;
	const char *a;

	g_argc = 0;
	snprintf(g_argbuf[g_argc], sizeof(g_argbuf[0]), "/usr/bin/prog_ut");
	g_argv[g_argc] = g_argbuf[g_argc];
	g_argc++;
	va_start(ap, first);
	for (a = first; a != NULL && g_argc < MAX_ARGS; a = va_arg(ap, const char *)) {
		snprintf(g_argbuf[g_argc], sizeof(g_argbuf[0]), "%s", a);
		g_argv[g_argc] = g_argbuf[g_argc];
		g_argc++;
	}
	va_end(ap);
	g_argv[g_argc] = NULL;
}

static enum brisk_app_parse_args_rvals parse_fw(struct brisk_app_opts *opts)
{
	brisk_app_opts_init(opts);
	return brisk_app_parse_args(g_argc, g_argv, opts, NULL, NULL, NULL, NULL);
}

#define EXPECT_ERROR(...) do { \
		struct brisk_app_opts _o; \
		set_args(__VA_ARGS__, NULL); \
		CU_ASSERT_EQUAL(parse_fw(&_o), BRISK_APP_PARSE_ARGS_ERROR); \
	} while (0)

static void test_defaults(void)
{
	struct brisk_app_opts opts;

	set_args(NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_STRING_EQUAL(opts.name, "prog_ut"); /* from argv[0] */
	CU_ASSERT_STRING_EQUAL(opts.reactor_mask, "0x1");
	CU_ASSERT_STRING_EQUAL(opts.rpc_addr, BRISK_DEFAULT_RPC_ADDR);
	CU_ASSERT_PTR_NULL(opts.json_config_file);
	CU_ASSERT_EQUAL(opts.mem_size_mb, 0);
	CU_ASSERT_EQUAL(opts.shm_id, -1);
	CU_ASSERT_FALSE(opts.no_huge);
	CU_ASSERT_PTR_NULL(opts.hugedir);
	CU_ASSERT_EQUAL(opts.print_level, BRISK_LOG_NOTICE);
	CU_ASSERT_EQUAL(opts.num_log_flags, 0);
	CU_ASSERT_FALSE(opts.wait_for_rpc);
	CU_ASSERT_FALSE(opts.poll_mode);
	CU_ASSERT_EQUAL(opts.adaptive_spin_us, BRISK_APP_DEFAULT_ADAPTIVE_SPIN_US);
	CU_ASSERT_PTR_NULL(opts.shutdown_cb);

	/* A name the program chose is kept. */
	brisk_app_opts_init(&opts);
	opts.name = "mine";
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, NULL, NULL, NULL, NULL),
			BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_STRING_EQUAL(opts.name, "mine");
}

static void test_short_flags(void)
{
	struct brisk_app_opts opts;

	set_args("-c", "/tmp/c.json", "-m", "0x3", "-r", "/tmp/ut.sock", "-s", "128", "-i", "7",
		 "-L", "reactor", "-L", "all", NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_STRING_EQUAL(opts.json_config_file, "/tmp/c.json");
	CU_ASSERT_STRING_EQUAL(opts.reactor_mask, "0x3");
	CU_ASSERT_STRING_EQUAL(opts.rpc_addr, "/tmp/ut.sock");
	CU_ASSERT_EQUAL(opts.mem_size_mb, 128);
	CU_ASSERT_EQUAL(opts.shm_id, 7);
	CU_ASSERT_EQUAL_FATAL(opts.num_log_flags, 2);
	CU_ASSERT_STRING_EQUAL(opts.log_flags[0], "reactor");
	CU_ASSERT_STRING_EQUAL(opts.log_flags[1], "all");
}

static void test_long_flags(void)
{
	struct brisk_app_opts opts;

	set_args("--config", "a.json", "--cpumask", "[0-1]", "--rpc-socket", "/tmp/l.sock", "--mem-size", "64",
		 "--shm-id", "0", "--logflag", "reactor", "--no-huge", "--huge-dir", "/dev/hugepages", "--log-level",
		 "debug", "--wait-for-rpc", "--poll-mode", "--adaptive-spin-us", "500", NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_EQUAL(opts.adaptive_spin_us, 500);
	CU_ASSERT_STRING_EQUAL(opts.json_config_file, "a.json");
	CU_ASSERT_STRING_EQUAL(opts.reactor_mask, "[0-1]");
	CU_ASSERT_STRING_EQUAL(opts.rpc_addr, "/tmp/l.sock");
	CU_ASSERT_EQUAL(opts.mem_size_mb, 64);
	CU_ASSERT_EQUAL(opts.shm_id, 0);
	CU_ASSERT_EQUAL(opts.num_log_flags, 1);
	CU_ASSERT_TRUE(opts.no_huge);
	CU_ASSERT_STRING_EQUAL(opts.hugedir, "/dev/hugepages");
	CU_ASSERT_EQUAL(opts.print_level, BRISK_LOG_DEBUG);
	CU_ASSERT_TRUE(opts.wait_for_rpc);
	CU_ASSERT_TRUE(opts.poll_mode);

	/* --opt=value and --json (SPDK's spelling of -c) */
	set_args("--json=b.json", "--log-level=ERROR", NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_STRING_EQUAL(opts.json_config_file, "b.json");
	CU_ASSERT_EQUAL(opts.print_level, BRISK_LOG_ERROR);
}

static void test_bad_values(void)
{
	char long_path[200];

	memset(long_path, 'p', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';

	EXPECT_ERROR("-m", "zz");
	EXPECT_ERROR("-m", "0x0");
	EXPECT_ERROR("--cpumask", "");
	EXPECT_ERROR("-s", "0");
	EXPECT_ERROR("-s", "abc");
	EXPECT_ERROR("-s", "-5");
	EXPECT_ERROR("-s", "12MB");
	EXPECT_ERROR("-s", "99999999999999999999999");
	EXPECT_ERROR("-i", "-1");
	EXPECT_ERROR("-i", "x");
	EXPECT_ERROR("-i", "4294967296");
	EXPECT_ERROR("-r", "");
	EXPECT_ERROR("-r", long_path);
	EXPECT_ERROR("-L", "no_such_flag_anywhere");
	EXPECT_ERROR("--log-level", "loud");
	EXPECT_ERROR("-c", "");
	EXPECT_ERROR("--huge-dir", "");
	EXPECT_ERROR("--adaptive-spin-us", "10001");
	EXPECT_ERROR("--adaptive-spin-us", "-1");
	EXPECT_ERROR("--adaptive-spin-us", "fast");
}

static void test_bad_syntax(void)
{
	EXPECT_ERROR("-Z");                    /* unknown short */
	EXPECT_ERROR("--bogus");               /* unknown long */
	EXPECT_ERROR("-m");                    /* missing value */
	EXPECT_ERROR("--cpumask");             /* missing value (long) */
	EXPECT_ERROR("-m", "0x1", "stray");    /* stray argument */
	EXPECT_ERROR("--poll-mode=yes");       /* a switch takes no value */
}

static void test_help(void)
{
	struct brisk_app_opts opts;
	FILE *saved = stdout;
	FILE *null = fopen("/dev/null", "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(null);
	stdout = null; /* keep the usage text out of the test log */
	set_args("-h", NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_HELP);
	set_args("-m", "0x1", "--help", NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_HELP);
	stdout = saved;
	fclose(null);
}

static void test_usage_lists_every_option(void)
{
	char buf[8192];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	const char *expected[] = { "--config",           "--help",        "--shm-id",       "--cpumask",
				   "--rpc-socket",       "--mem-size",    "--logflag",      "--no-huge",
				   "--huge-dir",         "--log-level",   "--wait-for-rpc", "--poll-mode",
				   "--adaptive-spin-us", "--pci-allowed", "--pci-blocked" };

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	brisk_app_usage(f);
	fclose(f);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		CU_ASSERT_PTR_NOT_NULL(strstr(buf, expected[i]));
	}
}

/* -A / -B fill lib/env's PCI lists; each parse starts them afresh. */
static void test_pci_lists(void)
{
	struct brisk_app_opts opts;
	struct brisk_pci_addr a4, a5, a6;

	brisk_pci_addr_parse(&a4, "0000:00:04.0");
	brisk_pci_addr_parse(&a5, "0000:00:05.0");
	brisk_pci_addr_parse(&a6, "0000:00:06.0");
	set_args("-A", "0000:00:04.0", "--pci-allowed", "00:05.0", NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_EQUAL(brisk_pci_allowed_count(), 2);
	CU_ASSERT_TRUE(brisk_pci_addr_allowed(&a4));
	CU_ASSERT_TRUE(brisk_pci_addr_allowed(&a5));
	CU_ASSERT_FALSE(brisk_pci_addr_allowed(&a6));

	set_args("-B", "0000:00:04.0", "--pci-blocked", "0000.00.06.0", NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_EQUAL(brisk_pci_allowed_count(), 0);
	CU_ASSERT_EQUAL(brisk_pci_blocked_count(), 2);
	CU_ASSERT_FALSE(brisk_pci_addr_allowed(&a4));
	CU_ASSERT_TRUE(brisk_pci_addr_allowed(&a5));
	CU_ASSERT_FALSE(brisk_pci_addr_allowed(&a6));

	set_args(NULL);
	CU_ASSERT_EQUAL(parse_fw(&opts), BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_EQUAL(brisk_pci_blocked_count(), 0);

	EXPECT_ERROR("-A", "0000:00:04.0", "-B", "0000:00:05.0");
	EXPECT_ERROR("-B", "0000:00:04.0", "-A", "0000:00:05.0");
	EXPECT_ERROR("-A", "0000:00:20.0");
	EXPECT_ERROR("--pci-blocked", "nvme0");
	EXPECT_ERROR("-B", "");
	EXPECT_ERROR("-A");
	brisk_pci_lists_reset();
}

/* ---- Program options ---- */

static int g_x_count;
static char g_x_value[64];
static int g_long_seen;

static int app_parse(int ch, char *arg)
{
	switch (ch) {
	case 'x':
		g_x_count++;
		snprintf(g_x_value, sizeof(g_x_value), "%s", arg);
		return strcmp(arg, "bad") == 0 ? -EINVAL : 0;
	case 'q':
		g_x_count += 100;
		return 0;
	case BRISK_APP_OPT_USER_BASE:
		g_long_seen++;
		return 0;
	default:
		return -EINVAL;
	}
}

static const struct option g_app_long[] = {
	{"xopt", required_argument, NULL, 'x'},
	{"fancy", no_argument, NULL, BRISK_APP_OPT_USER_BASE},
	{NULL, 0, NULL, 0},
};

static void test_program_options(void)
{
	struct brisk_app_opts opts;

	g_x_count = 0;
	g_long_seen = 0;
	set_args("-x", "v1", "-m", "0x1", "--xopt", "v2", "-q", "--fancy", NULL);
	brisk_app_opts_init(&opts);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, "x:q", g_app_long, app_parse, NULL),
			BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_EQUAL(g_x_count, 102);
	CU_ASSERT_STRING_EQUAL(g_x_value, "v2");
	CU_ASSERT_EQUAL(g_long_seen, 1);

	/* The program's parser refusing a value fails the parse. */
	set_args("-x", "bad", NULL);
	brisk_app_opts_init(&opts);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, "x:", g_app_long, app_parse, NULL),
			BRISK_APP_PARSE_ARGS_ERROR);

	/* A program option given without a parser. */
	set_args("-x", "v", NULL);
	brisk_app_opts_init(&opts);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, "x:", NULL, NULL, NULL),
			BRISK_APP_PARSE_ARGS_ERROR);
}

static void test_program_option_collisions(void)
{
	static const struct option clash_long[] = {
		{"config", required_argument, NULL, BRISK_APP_OPT_USER_BASE},
		{NULL, 0, NULL, 0},
	};
	static const struct option low_value[] = {
		{"weird", no_argument, NULL, 300},
		{NULL, 0, NULL, 0},
	};
	struct brisk_app_opts opts;

	set_args(NULL);
	brisk_app_opts_init(&opts);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, "m:", NULL, app_parse, NULL),
			BRISK_APP_PARSE_ARGS_ERROR);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, NULL, clash_long, app_parse, NULL),
			BRISK_APP_PARSE_ARGS_ERROR);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, NULL, low_value, app_parse, NULL),
			BRISK_APP_PARSE_ARGS_ERROR);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, NULL, NULL, NULL, NULL, NULL),
			BRISK_APP_PARSE_ARGS_ERROR);
}

static void test_log_flag_limit(void)
{
	struct brisk_app_opts opts;
	int i;

	brisk_app_opts_init(&opts);
	g_argc = 0;
	g_argv[g_argc++] = g_argbuf[0];
	snprintf(g_argbuf[0], sizeof(g_argbuf[0]), "prog");
	/* MAX_ARGS allows 15 pairs: under the limit, all accepted. */
	for (i = 0; i < 15; i++) {
		g_argv[g_argc++] = "-L";
		g_argv[g_argc++] = "reactor";
	}
	g_argv[g_argc] = NULL;
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, NULL, NULL, NULL, NULL),
			BRISK_APP_PARSE_ARGS_SUCCESS);
	CU_ASSERT_EQUAL(opts.num_log_flags, 15);
	/* Over the limit: refused with a message. */
	opts.num_log_flags = BRISK_APP_MAX_LOG_FLAGS;
	set_args("-L", "reactor", NULL);
	CU_ASSERT_EQUAL(brisk_app_parse_args(g_argc, g_argv, &opts, NULL, NULL, NULL, NULL),
			BRISK_APP_PARSE_ARGS_ERROR);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_defaults),
	BRISK_UT_TEST(test_short_flags),
	BRISK_UT_TEST(test_long_flags),
	BRISK_UT_TEST(test_bad_values),
	BRISK_UT_TEST(test_bad_syntax),
	BRISK_UT_TEST(test_help),
	BRISK_UT_TEST(test_usage_lists_every_option),
	BRISK_UT_TEST(test_pci_lists),
	BRISK_UT_TEST(test_program_options),
	BRISK_UT_TEST(test_program_option_collisions),
	BRISK_UT_TEST(test_log_flag_limit),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "app_args", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "app_args_ut",
	.suites = g_ut_suites,
};
