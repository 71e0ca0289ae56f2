/*
 * The one main() of every unit test (test/common/ut_main.c, linked into each
 * test/unit/<lib>/<x>_ut program by the Makefile). A test file describes
 * itself in one `const struct brisk_ut brisk_ut_desc` (its suites, what env
 * it needs, optional set-up and teardown) and has no main() of its own; the
 * runner parses the common flags, starts the env, runs the suites and fails
 * the run when a brisk_thread or env state is left behind.
 */
#ifndef BRISK_TEST_UT_MAIN_H
#define BRISK_TEST_UT_MAIN_H

#include <stdint.h>

#include <CUnit/Basic.h>

#include <brisk/thread.h>

/* One table entry for a test named after its function (as CU_ADD_TEST names it). */
#define BRISK_UT_TEST(fn) \
	{ \
#fn, (fn) \
	}

/* What the runner starts before the set-up (and stops after the teardown). */
enum brisk_ut_env {
	BRISK_UT_ENV_NONE = 0, /* nothing: the test starts what it needs itself */
	BRISK_UT_ENV, /* brisk_env_init as test/common/test_env.h does */
	BRISK_UT_ENV_THREAD, /* the env, then the thread library */
};

struct brisk_ut_suite {
	const char *name;
	CU_InitializeFunc init; /* NULL, or CUnit's suite initialiser */
	CU_CleanupFunc fini;
	const CU_TestInfo *tests; /* ends with CU_TEST_INFO_NULL */
};

/* role()'s answer when argv names no subprocess role. */
#define BRISK_UT_NO_ROLE (-1)

struct brisk_ut {
	const char *name; /* the env's name and the runner's messages */
	enum brisk_ut_env env;
	const char *core_mask; /* NULL: "0x1" */
	uint64_t mem_mb; /* 0: 64 */
	struct brisk_thread_lib_opts thread_opts; /* BRISK_UT_ENV_THREAD */
	/* A child this program started again with its own arguments (a secondary
	 * process): its exit code, or BRISK_UT_NO_ROLE to run the suites. */
	int (*role)(int argc, char **argv);
	/* Why the test cannot run here (exit 77, skipped), or NULL. */
	const char *(*skip)(void);
	int (*setup)(void); /* after the env; non-zero fails the run at once */
	int (*teardown)(void); /* after the suites; non-zero counts as a failure */
	/* Tests whose main thread must run an event loop (reactors, the app
	 * framework): the suites run on a second pthread once host_wait returns,
	 * host_stop is called after them, and host runs on the main thread until
	 * then. A non-zero return of host ends the program at once (exit 1). */
	int (*host)(void);
	void (*host_wait)(void);
	void (*host_stop)(void);
	const struct brisk_ut_suite *suites; /* ends with a NULL name */
};

/* Exits a thread the test polls by hand, polls it until it has exited and
 * destroys it: 0, or -1 when it did not exit (it is then left for the
 * runner's leftover check to report). */
static inline int brisk_ut_thread_end(struct brisk_thread *thread)
{
	brisk_set_thread(thread);
	brisk_thread_exit(thread);
	for (int k = 0; k < 1000 && !brisk_thread_is_exited(thread); k++) {
		brisk_thread_poll(thread, 0, 0);
	}
	brisk_set_thread(NULL);
	if (!brisk_thread_is_exited(thread)) {
		return -1;
	}
	brisk_thread_destroy(thread);
	return 0;
}

/* Defined by each unit-test file. */
extern const struct brisk_ut brisk_ut_desc;

#endif
