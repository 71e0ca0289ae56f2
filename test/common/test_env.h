/*
 * Shared by unit tests: start the env layer the way the test runner asks.
 * BRISK_TEST_NO_HUGE=1 runs without hugepages (the runner runs every unit
 * test both ways when hugepages exist). Header-only so each test stays one file.
 */
#ifndef BRISK_TEST_ENV_H
#define BRISK_TEST_ENV_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>

static inline int brisk_test_env_init(const char *name, const char *core_mask, uint64_t mem_mb)
{
	struct brisk_env_opts opts;
	const char *no_huge = getenv("BRISK_TEST_NO_HUGE");

	brisk_env_opts_init(&opts);
	opts.name = name;
	opts.core_mask = core_mask;
	opts.mem_size_mb = mem_mb;
	/* A ceiling, as tests were written for (and the hugepages are shared):
	 * test/unit/env/mem_grow_ut.c tests growth. */
	opts.mem_limit_mb = mem_mb;
	opts.no_huge = no_huge != NULL && strcmp(no_huge, "1") == 0;
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
	return brisk_env_init(&opts);
}

#endif
