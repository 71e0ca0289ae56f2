/*
 * Core helpers: mask/list parsing through brisk_env_init, iteration,
 * pinning (checked with sched_getcpu), the per-thread current core and NUMA
 * node queries.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "../../common/test_env.h"
#include "../../common/ut_main.h"

static long g_online;

static void
test_before_init(void)
{
	CU_ASSERT_FALSE(brisk_env_is_initialized());
	CU_ASSERT_EQUAL(brisk_env_get_core_count(), 0);
	CU_ASSERT_EQUAL(brisk_env_get_first_core(), UINT32_MAX);
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), BRISK_ENV_LCORE_ID_ANY);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_env_get_online_cpu_count(), (uint32_t)g_online);
	CU_ASSERT(brisk_env_get_numa_node_count() >= 1);
}

static void
check_mask(const char *mask, const uint32_t *expect, uint32_t n)
{
	uint32_t core, i = 0;

	CU_ASSERT_EQUAL_FATAL(brisk_test_env_init("cores_ut", mask, 16), 0);
	CU_ASSERT_EQUAL(brisk_env_get_core_count(), n);
	CU_ASSERT_EQUAL(brisk_env_get_main_core(), expect[0]);
	CU_ASSERT_EQUAL(brisk_env_get_first_core(), expect[0]);
	BRISK_ENV_FOREACH_CORE(core) {
		CU_ASSERT_FATAL(i < n);
		CU_ASSERT_EQUAL(core, expect[i]);
		CU_ASSERT_TRUE(brisk_cpuset_get_cpu(brisk_env_get_cpuset(), core));
		i++;
	}
	CU_ASSERT_EQUAL(i, n);
	CU_ASSERT_EQUAL(brisk_cpuset_count(brisk_env_get_cpuset()), n);
	CU_ASSERT_EQUAL(brisk_env_get_next_core(UINT32_MAX - 1), UINT32_MAX);
	brisk_env_fini();
	CU_ASSERT_EQUAL(brisk_env_get_core_count(), 0);
}

static void
test_masks_and_lists(void)
{
	static const uint32_t c0[] = { 0 }, c1[] = { 1 }, c01[] = { 0, 1 };

	check_mask("0x1", c0, 1);
	check_mask("1", c0, 1);
	check_mask("[0]", c0, 1);
	if (g_online < 2) {
		printf("  (two-core cases skipped: one cpu online)\n");
		return;
	}
	check_mask("0x3", c01, 2);
	check_mask("0x2", c1, 1);
	check_mask("0-1", c01, 2);
	check_mask("[0,1]", c01, 2);
	check_mask("1,0", c01, 2);
}

static void
test_pin_main_thread(void)
{
	const char *mask = g_online >= 2 ? "0x3" : "0x1";

	CU_ASSERT_EQUAL_FATAL(brisk_test_env_init("cores_ut", mask, 16), 0);
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), BRISK_ENV_LCORE_ID_ANY);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(0), 0);
	CU_ASSERT_EQUAL(sched_getcpu(), 0);
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), 0);
	if (g_online >= 2) {
		CU_ASSERT_EQUAL(brisk_env_thread_pin(1), 0);
		CU_ASSERT_EQUAL(sched_getcpu(), 1);
		CU_ASSERT_EQUAL(brisk_env_get_current_core(), 1);
	}
	/* Cores outside the mask are refused and change nothing. */
	CU_ASSERT_EQUAL(brisk_env_thread_pin(100), -EINVAL);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(BRISK_ENV_MAX_CORES + 5), -EINVAL);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(UINT32_MAX), -EINVAL);
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), g_online >= 2 ? 1u : 0u);

	brisk_env_set_current_core(BRISK_ENV_LCORE_ID_ANY);
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), BRISK_ENV_LCORE_ID_ANY);
	brisk_env_set_current_core(0);
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), 0);
	brisk_env_fini();
	/* fini forgets the calling thread's core. */
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), BRISK_ENV_LCORE_ID_ANY);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(0), -EINVAL);
}

struct pin_result {
	uint32_t core;
	uint32_t before;
	int rc;
	int cpu;
	uint32_t after;
};

static void *
pin_thread(void *arg)
{
	struct pin_result *r = arg;

	r->before = brisk_env_get_current_core();
	r->rc = brisk_env_thread_pin(r->core);
	r->cpu = sched_getcpu();
	r->after = brisk_env_get_current_core();
	return NULL;
}

static void
test_pin_other_threads(void)
{
	struct pin_result r[2];
	pthread_t t[2];
	uint32_t i, n = g_online >= 2 ? 2 : 1;

	CU_ASSERT_EQUAL_FATAL(brisk_test_env_init("cores_ut", n == 2 ? "0x3" : "0x1", 16), 0);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(0), 0);
	for (i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].core = n - 1 - i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, pin_thread, &r[i]), 0);
	}
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		/* The current core is per thread: a new thread starts with none. */
		CU_ASSERT_EQUAL(r[i].before, BRISK_ENV_LCORE_ID_ANY);
		CU_ASSERT_EQUAL(r[i].rc, 0);
		CU_ASSERT_EQUAL((uint32_t)r[i].cpu, r[i].core);
		CU_ASSERT_EQUAL(r[i].after, r[i].core);
	}
	/* The main thread kept its own. */
	CU_ASSERT_EQUAL(brisk_env_get_current_core(), 0);
	brisk_env_fini();
}

static void
test_numa_queries(void)
{
	uint32_t core, nodes;
	int s;

	CU_ASSERT_EQUAL_FATAL(brisk_test_env_init("cores_ut", g_online >= 2 ? "0x3" : "0x1", 16), 0);
	nodes = brisk_env_get_numa_node_count();
	CU_ASSERT(nodes >= 1 && nodes <= BRISK_ENV_MAX_NUMA_NODES);
	BRISK_ENV_FOREACH_CORE(core) {
		s = brisk_env_get_socket_id(core);
		CU_ASSERT(s >= 0 && (uint32_t)s < nodes);
	}
	/* A cpu that does not exist has no node. */
	CU_ASSERT_EQUAL(brisk_env_get_socket_id(5000), BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_EQUAL(brisk_env_get_socket_id(UINT32_MAX), BRISK_ENV_SOCKET_ID_ANY);
	brisk_env_fini();
}

static int ut_setup(void)
{
	g_online = sysconf(_SC_NPROCESSORS_ONLN);
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_before_init),       BRISK_UT_TEST(test_masks_and_lists), BRISK_UT_TEST(test_pin_main_thread),
	BRISK_UT_TEST(test_pin_other_threads), BRISK_UT_TEST(test_numa_queries),    CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "cores", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "cores_ut",
	.setup = ut_setup,
	.suites = g_ut_suites,
};
