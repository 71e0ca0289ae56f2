/*
 * The shared main() of the unit tests (see ut_main.h): flags, env start,
 * the CUnit run of the test file's table, and the leftover checks that every
 * test gets for free: no brisk_thread may outlive the run, the env must not
 * be left initialised, and when the runner started the env no memzone or
 * mempool may be left once the thread library is finished.
 *
 * Unit tests link only their library and the ones below it (util's tests
 * have no lib/env, env's no lib/thread), so the calls into those libraries
 * are weak references, checked for NULL before use.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/mempool.h>
#include <brisk/thread.h>

#include "test_env.h"
#include "ut_main.h"

#pragma weak brisk_env_opts_init
#pragma weak brisk_env_init
#pragma weak brisk_env_fini
#pragma weak brisk_env_is_initialized
#pragma weak brisk_memzone_walk
#pragma weak brisk_mempool_walk
#pragma weak brisk_mempool_get_name
#pragma weak brisk_thread_lib_init_ext
#pragma weak brisk_thread_lib_fini
#pragma weak brisk_thread_get_count
#pragma weak brisk_thread_get_first
#pragma weak brisk_thread_get_next
#pragma weak brisk_thread_get_name

/* Test-name filters from the command line: a test runs when its
 * "suite/test" name contains one of them (all run when there is none). */
struct ut_filters {
	char **pats;
	int count;
};

static void ut_usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [--no-huge] [--verbose] [PATTERN...]\n"
		"  --no-huge   run without hugepages (as BRISK_TEST_NO_HUGE=1)\n"
		"  --verbose   log at the test's own level (as BRISK_TEST_VERBOSE=1)\n"
		"  PATTERN     run only the tests whose \"suite/test\" name contains it\n",
		prog);
}

/* 0 to run, 1 when --help was asked, 2 on a bad flag. The flags become the
 * environment variables so that children and the test's own env starts see them. */
static int ut_parse_args(int argc, char **argv, struct ut_filters *f)
{
	f->pats = &argv[1];
	f->count = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-huge") == 0) {
			setenv("BRISK_TEST_NO_HUGE", "1", 1);
		} else if (strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) {
			setenv("BRISK_TEST_VERBOSE", "1", 1);
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			ut_usage(stdout, argv[0]);
			return 1;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "%s: unknown flag '%s'\n", argv[0], argv[i]);
			ut_usage(stderr, argv[0]);
			return 2;
		} else {
			f->pats[f->count++] = argv[i];
		}
	}
	return 0;
}

static bool ut_selected(const struct ut_filters *f, const char *suite, const char *test)
{
	char full[512];

	if (f->count == 0) {
		return true;
	}
	snprintf(full, sizeof(full), "%s/%s", suite, test);
	for (int i = 0; i < f->count; i++) {
		if (strstr(full, f->pats[i]) != NULL) {
			return true;
		}
	}
	return false;
}

static int ut_register(const struct brisk_ut *ut, const struct ut_filters *f)
{
	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "%s: CUnit registry: %s\n", ut->name, CU_get_error_msg());
		return -1;
	}
	for (const struct brisk_ut_suite *s = ut->suites; s != NULL && s->name != NULL; s++) {
		CU_pSuite suite = CU_add_suite(s->name, s->init, s->fini);

		if (suite == NULL) {
			fprintf(stderr, "%s: suite %s: %s\n", ut->name, s->name, CU_get_error_msg());
			return -1;
		}
		for (const CU_TestInfo *t = s->tests; t->pName != NULL; t++) {
			if (ut_selected(f, s->name, t->pName) && CU_add_test(suite, t->pName, t->pTestFunc) == NULL) {
				fprintf(stderr, "%s: test %s: %s\n", ut->name, t->pName, CU_get_error_msg());
				return -1;
			}
		}
	}
	return 0;
}

/* Runs the registry; failed assertions and failed suite set-ups both count. */
static unsigned ut_run_registry(void)
{
	unsigned failures;

	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures;
}

static const struct brisk_ut *g_hosted;
static unsigned g_hosted_failures;

static void *ut_hosted_runner(void *arg)
{
	if (g_hosted->host_wait != NULL) {
		g_hosted->host_wait();
	}
	g_hosted_failures = ut_run_registry();
	g_hosted->host_stop();
	return NULL;
}

/* The suites on a second pthread, the test's event loop on this one. */
static int ut_run_hosted(const struct brisk_ut *ut, unsigned *failures)
{
	pthread_t runner;

	g_hosted = ut;
	if (pthread_create(&runner, NULL, ut_hosted_runner, NULL) != 0) {
		fprintf(stderr, "%s: cannot start the test thread\n", ut->name);
		return -1;
	}
	if (ut->host() != 0) {
		fprintf(stderr, "%s: the event loop failed before the tests ended\n", ut->name);
		return -1;
	}
	pthread_join(runner, NULL);
	*failures = g_hosted_failures;
	return 0;
}

static int ut_env_start(const struct brisk_ut *ut)
{
	int rc;

	if (ut->env == BRISK_UT_ENV_NONE) {
		return 0;
	}
	if (brisk_env_init == NULL || (ut->env == BRISK_UT_ENV_THREAD && brisk_thread_lib_init_ext == NULL)) {
		fprintf(stderr, "%s: the env or thread library is not linked in\n", ut->name);
		return -1;
	}
	rc = brisk_test_env_init(ut->name, ut->core_mask ? ut->core_mask : "0x1", ut->mem_mb ? ut->mem_mb : 64);
	if (rc != 0) {
		fprintf(stderr, "%s: env init failed: %d\n", ut->name, rc);
		return -1;
	}
	if (ut->env == BRISK_UT_ENV_THREAD) {
		rc = brisk_thread_lib_init_ext(&ut->thread_opts);
		if (rc != 0) {
			fprintf(stderr, "%s: thread lib init failed: %d\n", ut->name, rc);
			return -1;
		}
	}
	return 0;
}

/* 1 (and their names) when brisk_threads outlive the test. */
static unsigned ut_check_threads(const struct brisk_ut *ut)
{
	struct brisk_thread *t;
	uint32_t n;

	if (brisk_thread_get_count == NULL || (n = brisk_thread_get_count()) == 0) {
		return 0;
	}
	fprintf(stderr, "%s: %u brisk_thread(s) left behind:", ut->name, n);
	for (t = brisk_thread_get_first(); t != NULL; t = brisk_thread_get_next(t)) {
		fprintf(stderr, " '%s'", brisk_thread_get_name(t));
	}
	fprintf(stderr, "\n");
	return 1;
}

static unsigned g_env_left;

static int ut_count_memzone(const struct brisk_memzone_info *info, void *ctx)
{
	const struct brisk_ut *ut = ctx;

	fprintf(stderr, "%s: memzone '%s' (%zu bytes) left behind\n", ut->name, info->name, info->len);
	g_env_left++;
	return 0;
}

static void ut_count_mempool(struct brisk_mempool *mp, void *ctx)
{
	const struct brisk_ut *ut = ctx;

	fprintf(stderr, "%s: mempool '%s' left behind\n", ut->name, brisk_mempool_get_name(mp));
	g_env_left++;
}

/* After the thread library is finished: what the env still holds was left
 * by the test (or the library under test). */
static unsigned ut_check_env_objects(const struct brisk_ut *ut)
{
	g_env_left = 0;
	brisk_mempool_walk(ut_count_mempool, (void *)ut);
	brisk_memzone_walk(ut_count_memzone, (void *)ut);
	return g_env_left ? 1 : 0;
}

/* Stops what ut_env_start started; 1 when something was left behind. */
static unsigned ut_env_stop(const struct brisk_ut *ut)
{
	unsigned failures = 0;

	if (ut->env == BRISK_UT_ENV_NONE) {
		if (brisk_env_is_initialized != NULL && brisk_env_is_initialized()) {
			fprintf(stderr, "%s: the env was left initialised\n", ut->name);
			failures++;
		}
		return failures;
	}
	if (ut->env == BRISK_UT_ENV_THREAD) {
		brisk_thread_lib_fini();
	}
	failures += ut_check_env_objects(ut);
	brisk_env_fini();
	return failures;
}

int main(int argc, char **argv)
{
	const struct brisk_ut *ut = &brisk_ut_desc;
	struct ut_filters filters;
	unsigned failures = 0;
	const char *why;
	int rc;

	if (ut->role != NULL && (rc = ut->role(argc, argv)) != BRISK_UT_NO_ROLE) {
		return rc;
	}
	rc = ut_parse_args(argc, argv, &filters);
	if (rc != 0) {
		return rc == 1 ? 0 : 2;
	}
	if (ut->skip != NULL && (why = ut->skip()) != NULL) {
		printf("%s: skipped: %s\n", ut->name, why);
		return 77;
	}
	if (ut_env_start(ut) != 0 || (ut->setup != NULL && ut->setup() != 0) || ut_register(ut, &filters) != 0) {
		fprintf(stderr, "%s: set-up failed\n", ut->name);
		return 1;
	}
	if (ut->host != NULL) {
		if (ut_run_hosted(ut, &failures) != 0) {
			return 1;
		}
	} else {
		failures = ut_run_registry();
	}
	if (ut->teardown != NULL && ut->teardown() != 0) {
		fprintf(stderr, "%s: teardown found a failure\n", ut->name);
		failures++;
	}
	failures += ut_check_threads(ut);
	failures += ut_env_stop(ut);
	return failures ? 1 : 0;
}
