/*
 * The allocation-failure loop of the unit tests (SQLite's "malloc failure"
 * loop): run an operation with the Nth allocation failing, for N = 1, 2, ...
 * until a run needs no more than N-1 allocations. Every failed run must
 * return -ENOMEM, leave the env heaps as they were, and the same run must
 * work right after. Uses lib/env's hook (brisk_env_fail_alloc_set), which
 * also covers jansson's allocations.
 */
#ifndef BRISK_TEST_UT_ALLOC_FAIL_H
#define BRISK_TEST_UT_ALLOC_FAIL_H

#include <stdint.h>

/* Elements in use on every env heap. */
uint64_t brisk_ut_heap_in_use(void);

/* The loop over run(arg), at most max_runs failures; "what" names the
 * operation in the messages. The CUnit assertions are made here. */
void brisk_ut_alloc_fail_loop(int (*run)(void *arg), void *arg, const char *what, uint64_t max_runs);

#endif
