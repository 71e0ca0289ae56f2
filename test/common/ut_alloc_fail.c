/*
 * The allocation-failure loop shared by the unit tests (ut_alloc_fail.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>

#include "ut_alloc_fail.h"

uint64_t brisk_ut_heap_in_use(void)
{
	struct brisk_heap_stats st;
	uint64_t n = 0;

	for (int i = 0; i < BRISK_ENV_MAX_NUMA_NODES; i++) {
		if (brisk_malloc_get_heap_stats(i, &st) == 0) {
			n += st.alloc_count;
		}
	}
	return n;
}

/* One run with allocation n failing: false once a run hit no failure. */
static bool alloc_fail_once(int (*run)(void *arg), void *arg, const char *what, uint64_t n)
{
	uint64_t before = brisk_ut_heap_in_use();
	bool hit;
	int rc;

	brisk_env_fail_alloc_set(n);
	rc = run(arg);
	hit = brisk_env_fail_alloc_hit();
	brisk_env_fail_alloc_set(0);
	if (!hit) {
		CU_ASSERT_EQUAL(rc, 0);
		return false;
	}
	if (rc != -ENOMEM || brisk_ut_heap_in_use() != before) {
		fprintf(stderr, "%s: allocation %lu failed: rc %d, heap elements %lu -> %lu\n", what, (unsigned long)n,
			rc, (unsigned long)before, (unsigned long)brisk_ut_heap_in_use());
	}
	CU_ASSERT_EQUAL(rc, -ENOMEM);
	CU_ASSERT_EQUAL(brisk_ut_heap_in_use(), before);
	CU_ASSERT_EQUAL(run(arg), 0); /* the same run works right after */
	return true;
}

void brisk_ut_alloc_fail_loop(int (*run)(void *arg), void *arg, const char *what, uint64_t max_runs)
{
	uint64_t n;

	for (n = 1; n <= max_runs && alloc_fail_once(run, arg, what, n); n++) {
	}
	/* The loop reached a clean run, after at least one injected failure. */
	CU_ASSERT(n > 1 && n <= max_runs);
	printf("(%s: %lu allocations failed in turn) ", what, (unsigned long)n - 1);
}
