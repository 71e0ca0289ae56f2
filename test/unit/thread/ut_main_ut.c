/*
 * Tests of the shared unit-test runner (test/common/ut_main.c): the program
 * runs itself again with UT_MAIN_UT_LEAK naming what its set-up should leave
 * behind and a pattern that selects no test, and checks that the runner fails
 * that run naming the leftover, passes a clean one, and refuses bad flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/thread.h>
#include "../../common/ut_main.h"

extern char **environ;

struct child_run {
	int status; /* exit code, or -1 when it did not exit normally */
	char err[4096];
};

/* Runs this program with leak (NULL: none) and args; its stderr is kept. */
static void run_child(const char *leak, const char *arg1, const char *arg2, struct child_run *r)
{
	char path[] = "/tmp/ut_main_ut.XXXXXX";
	char *argv[] = { "ut_main_ut", (char *)arg1, (char *)arg2, NULL };
	posix_spawn_file_actions_t fa;
	int fd = mkstemp(path), st = 0;
	pid_t pid = -1;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	CU_ASSERT_FATAL(fd >= 0);
	if (leak != NULL) {
		setenv("UT_MAIN_UT_LEAK", leak, 1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, STDERR_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	CU_ASSERT_EQUAL(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	unsetenv("UT_MAIN_UT_LEAK");
	if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st)) {
		r->status = WEXITSTATUS(st);
	}
	n = pread(fd, r->err, sizeof(r->err) - 1, 0);
	r->err[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

static void test_clean_run_passes(void)
{
	struct child_run r;

	run_child(NULL, "--no-huge", "no_such_test", &r);
	CU_ASSERT_EQUAL(r.status, 0);
}

static void test_leftover_thread_fails(void)
{
	struct child_run r;

	run_child("thread", "--no-huge", "no_such_test", &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "brisk_thread(s) left behind"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "'ut_main_leak'"));
}

static void test_leftover_memzone_fails(void)
{
	struct child_run r;

	run_child("memzone", "--no-huge", "no_such_test", &r);
	CU_ASSERT_EQUAL(r.status, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "memzone 'ut_main_leak'"));
}

static void test_bad_flag_refused(void)
{
	struct child_run r;

	run_child(NULL, "--no-such-flag", NULL, &r);
	CU_ASSERT_EQUAL(r.status, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "--no-such-flag"));
}

/* In a child run: leaves behind what UT_MAIN_UT_LEAK names. */
static int ut_setup(void)
{
	const char *leak = getenv("UT_MAIN_UT_LEAK");

	if (leak == NULL) {
		return 0;
	}
	if (strcmp(leak, "thread") == 0) {
		return brisk_thread_create("ut_main_leak", NULL) != NULL ? 0 : -1;
	}
	if (strcmp(leak, "memzone") == 0) {
		return brisk_memzone_reserve("ut_main_leak", 4096, BRISK_ENV_SOCKET_ID_ANY, 0) != NULL ? 0 : -1;
	}
	return -1;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_clean_run_passes),
	BRISK_UT_TEST(test_leftover_thread_fails),
	BRISK_UT_TEST(test_leftover_memzone_fails),
	BRISK_UT_TEST(test_bad_flag_refused),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "ut_main", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "ut_main_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 16,
	.thread_opts = { .msg_pool_size = 1023 },
	.setup = ut_setup,
	.suites = g_ut_suites,
};
