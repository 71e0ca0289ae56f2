/*
 * brisk_mem_map and the registration registry: set / translate / clear,
 * size reporting over contiguous pages (with and without are_contiguous),
 * argument checks, notifications for existing and new regions, rollback
 * when a map refuses a region, partial unregistration, and lock-free reads
 * racing with writes.
 *
 * The registry is process-wide, so these tests run without brisk_env_init
 * (whose segments would be registered too) and use addresses that are never
 * touched: registration does not access the memory.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include "../../common/ut_main.h"

#define MB2 BRISK_MEM_MAP_PAGE_SIZE
#define GB1 (1ull << 30)
#define DEF 0xdeadull
#define VA(n) (0x100000000000ull + (uint64_t)(n) * MB2) /* n-th 2 MiB page of a test range */

static void
test_set_translate_clear(void)
{
	struct brisk_mem_map *map = brisk_mem_map_alloc(DEF, NULL, NULL);
	uint64_t size;

	CU_ASSERT_PTR_NOT_NULL_FATAL(map);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0), NULL), DEF);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(0), 2 * MB2, 1234), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0), NULL), 1234);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0) + 12345, NULL), 1234);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(1) + MB2 - 1, NULL), 1234);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(2), NULL), DEF);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0) - 1, NULL), DEF);

	/* Without are_contiguous, equal translations make a contiguous run. */
	size = 4 * MB2;
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0) + 100, &size), 1234);
	CU_ASSERT_EQUAL(size, 2 * MB2 - 100);
	size = 1000; /* never more than asked */
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0) + 100, &size), 1234);
	CU_ASSERT_EQUAL(size, 1000);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(2), MB2, 99), 0);
	size = 4 * MB2;
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(1), &size), 1234);
	CU_ASSERT_EQUAL(size, MB2);

	/* A range spanning a 1 GiB boundary uses two second-level tables. */
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, 5 * GB1 - MB2, 2 * MB2, 77), 0);
	size = 3 * MB2;
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, 5 * GB1 - MB2, &size), 77);
	CU_ASSERT_EQUAL(size, 2 * MB2);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, 5 * GB1 + 5, NULL), 77);

	CU_ASSERT_EQUAL(brisk_mem_map_clear_translation(map, VA(0), MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0), NULL), DEF);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(1), NULL), 1234);
	/* Clearing where nothing was ever set is fine. */
	CU_ASSERT_EQUAL(brisk_mem_map_clear_translation(map, 100 * GB1, 4 * GB1), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_clear_translation(map, 5 * GB1 - MB2, 2 * MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, 5 * GB1, NULL), DEF);
	/* Highest page of the 48-bit space. */
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, (1ull << 48) - MB2, MB2, 5), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, (1ull << 48) - 1, NULL), 5);
	brisk_mem_map_free(&map);
	CU_ASSERT_PTR_NULL(map);
	brisk_mem_map_free(&map); /* NULL is ignored */
	brisk_mem_map_free(NULL);
}

static int
phys_contiguous(uint64_t a, uint64_t b)
{
	return b == a + MB2;
}

static void
test_are_contiguous(void)
{
	struct brisk_mem_map_ops ops = { .notify_cb = NULL, .are_contiguous = phys_contiguous };
	struct brisk_mem_map *map = brisk_mem_map_alloc(0, &ops, NULL);
	uint64_t size;

	CU_ASSERT_PTR_NOT_NULL_FATAL(map);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(0), MB2, 10 * MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(1), MB2, 11 * MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(2), MB2, 12 * MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(3), MB2, 40 * MB2), 0);
	size = 10 * MB2;
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0) + 4096, &size), 10 * MB2);
	CU_ASSERT_EQUAL(size, 3 * MB2 - 4096);
	size = 10 * MB2;
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(3), &size), 40 * MB2);
	CU_ASSERT_EQUAL(size, MB2);
	/* Unmapped: the default, and the size stops at the page end. */
	size = 10 * MB2;
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(9) + 10, &size), 0);
	CU_ASSERT_EQUAL(size, MB2 - 10);
	brisk_mem_map_free(&map);
}

static void
test_bad_args(void)
{
	struct brisk_mem_map *map = brisk_mem_map_alloc(DEF, NULL, NULL);
	uint64_t size = 100;

	CU_ASSERT_PTR_NOT_NULL_FATAL(map);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(0) + 4096, MB2, 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(0), MB2 + 4096, 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(0), 0, 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, 1ull << 48, MB2, 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, (1ull << 48) - MB2, 2 * MB2, 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(map, VA(0), UINT64_MAX - MB2 + 1, 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_set_translation(NULL, VA(0), MB2, 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_clear_translation(map, VA(0) + 1, MB2), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_clear_translation(map, VA(0), 3), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_map_clear_translation(NULL, VA(0), MB2), -EINVAL);
	/* Nothing changed by the refusals. */
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, VA(0), NULL), DEF);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(map, 1ull << 48, &size), DEF);
	CU_ASSERT_EQUAL(size, 0);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(NULL, VA(0), NULL), BRISK_VTOPHYS_ERROR);

	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)(VA(0) + 4096), MB2), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(0), MB2 - 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(0), 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(0), MB2), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)(VA(0) + 1), MB2), -EINVAL);
	brisk_mem_map_free(&map);
}

#define MAX_EVENTS 32
struct event_log {
	int n;
	int refuse_at;  /* fail the REGISTER for this vaddr index (-1 none) */
	struct {
		enum brisk_mem_map_notify_action action;
		uint64_t va;
		uint64_t len;
	} ev[MAX_EVENTS];
};

static int
record_notify(void *ctx, struct brisk_mem_map *map, enum brisk_mem_map_notify_action action,
	      void *vaddr, size_t size)
{
	struct event_log *log = ctx;

	if (action == BRISK_MEM_MAP_NOTIFY_REGISTER && log->refuse_at >= 0 &&
	    (uint64_t)(uintptr_t)vaddr == VA(log->refuse_at)) {
		return -ENOSPC;
	}
	if (log->n < MAX_EVENTS) {
		log->ev[log->n].action = action;
		log->ev[log->n].va = (uint64_t)(uintptr_t)vaddr;
		log->ev[log->n].len = size;
		log->n++;
	}
	/* Maps typically translate on registration: do it to prove it is allowed. */
	if (action == BRISK_MEM_MAP_NOTIFY_REGISTER) {
		return brisk_mem_map_set_translation(map, (uint64_t)(uintptr_t)vaddr, size,
						     (uint64_t)(uintptr_t)vaddr);
	}
	return brisk_mem_map_clear_translation(map, (uint64_t)(uintptr_t)vaddr, size);
}

static bool
has_event(const struct event_log *log, enum brisk_mem_map_notify_action action, uint64_t va,
	  uint64_t len)
{
	int i;

	for (i = 0; i < log->n; i++) {
		if (log->ev[i].action == action && log->ev[i].va == va && log->ev[i].len == len) {
			return true;
		}
	}
	return false;
}

static void
test_notifications(void)
{
	struct brisk_mem_map_ops ops = { .notify_cb = record_notify, .are_contiguous = NULL };
	struct event_log a = { .refuse_at = -1 }, b = { .refuse_at = -1 };
	struct brisk_mem_map *ma, *mb;

	/* Registered before any map exists: a new map hears about it. */
	CU_ASSERT_EQUAL_FATAL(brisk_mem_register((void *)(uintptr_t)VA(0), 2 * MB2), 0);
	ma = brisk_mem_map_alloc(DEF, &ops, &a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ma);
	CU_ASSERT_EQUAL(a.n, 1);
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_REGISTER, VA(0), 2 * MB2));
	/* The callback maps a region to its start address. */
	CU_ASSERT_EQUAL(brisk_mem_map_translate(ma, VA(1), NULL), VA(0));

	/* Registered later: every map hears about it. */
	mb = brisk_mem_map_alloc(DEF, &ops, &b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mb);
	CU_ASSERT_EQUAL(b.n, 1);
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(4), MB2), 0);
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_REGISTER, VA(4), MB2));
	CU_ASSERT_TRUE(has_event(&b, BRISK_MEM_MAP_NOTIFY_REGISTER, VA(4), MB2));
	CU_ASSERT_EQUAL(brisk_mem_map_translate(mb, VA(4), NULL), VA(4));

	/* Overlaps are refused without notifying anyone. */
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(1), 2 * MB2), -EBUSY);
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(4), MB2), -EBUSY);
	CU_ASSERT_EQUAL(a.n, 2);
	CU_ASSERT_EQUAL(b.n, 2);
	/* Adjacent is fine. */
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(2), MB2), 0);
	CU_ASSERT_EQUAL(a.n, 3);

	/* A map refusing a region: registration fails and earlier maps are told to undo. */
	b.refuse_at = 7;
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(7), MB2), -ENOSPC);
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_REGISTER, VA(7), MB2));
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_UNREGISTER, VA(7), MB2));
	CU_ASSERT_EQUAL(brisk_mem_map_translate(ma, VA(7), NULL), DEF);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(7), MB2), -EINVAL);
	b.refuse_at = -1;

	/* Unregister notifies everyone and the translation is gone. */
	a.n = b.n = 0;
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(4), MB2), 0);
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_UNREGISTER, VA(4), MB2));
	CU_ASSERT_TRUE(has_event(&b, BRISK_MEM_MAP_NOTIFY_UNREGISTER, VA(4), MB2));
	CU_ASSERT_EQUAL(brisk_mem_map_translate(ma, VA(4), NULL), DEF);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(4), MB2), -EINVAL);

	/* Freeing a map tells it about every region still registered. */
	a.n = 0;
	brisk_mem_map_free(&ma);
	CU_ASSERT_EQUAL(a.n, 2);
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_UNREGISTER, VA(0), 2 * MB2));
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_UNREGISTER, VA(2), MB2));

	/* A new map refusing an existing region is not created (and undoes the others). */
	a.n = 0;
	a.refuse_at = 2;
	CU_ASSERT_PTR_NULL(brisk_mem_map_alloc(DEF, &ops, &a));
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_REGISTER, VA(0), 2 * MB2));
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_UNREGISTER, VA(0), 2 * MB2));

	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(0), 2 * MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(2), MB2), 0);
	brisk_mem_map_free(&mb);
}

static void
test_partial_unregister(void)
{
	struct brisk_mem_map_ops ops = { .notify_cb = record_notify, .are_contiguous = NULL };
	struct event_log a = { .refuse_at = -1 };
	struct brisk_mem_map *ma = brisk_mem_map_alloc(DEF, &ops, &a);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ma);
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(10), 5 * MB2), 0);
	/* The middle page: the region splits in two. */
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(12), MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(ma, VA(12), NULL), DEF);
	CU_ASSERT_EQUAL(brisk_mem_map_translate(ma, VA(11), NULL), VA(10));
	CU_ASSERT_EQUAL(brisk_mem_map_translate(ma, VA(13), NULL), VA(10));
	CU_ASSERT_TRUE(has_event(&a, BRISK_MEM_MAP_NOTIFY_UNREGISTER, VA(12), MB2));
	/* Spanning the hole is refused; each piece goes separately. */
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(11), 3 * MB2), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_register((void *)(uintptr_t)VA(12), MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(10), MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(13), 2 * MB2), 0);
	/* [11] and [12] are separate regions now: one call cannot cover both. */
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(11), 2 * MB2), -EINVAL);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(11), MB2), 0);
	CU_ASSERT_EQUAL(brisk_mem_unregister((void *)(uintptr_t)VA(12), MB2), 0);
	a.n = 0;
	brisk_mem_map_free(&ma);
	CU_ASSERT_EQUAL(a.n, 0); /* nothing left registered */
}

struct race_ctx {
	struct brisk_mem_map *map;
	atomic_bool stop; /* set by the main thread, read by the reader */
	uint64_t bad;
};

static void *
race_reader(void *arg)
{
	struct race_ctx *c = arg;
	uint64_t t, i = 0;

	while (!atomic_load(&c->stop)) {
		t = brisk_mem_map_translate(c->map, VA(i % 64) + GB1 * (i % 7), NULL);
		if (t != DEF && t != 1 && t != 2) {
			c->bad++;
		}
		i++;
	}
	return NULL;
}

static void
test_lockless_reads(void)
{
	struct race_ctx c = { .map = brisk_mem_map_alloc(DEF, NULL, NULL), .stop = false, .bad = 0 };
	pthread_t t;
	int i, j;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c.map);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, race_reader, &c), 0);
	for (i = 0; i < 200; i++) {
		for (j = 0; j < 7; j++) {
			brisk_mem_map_set_translation(c.map, VA(0) + GB1 * j, 64 * MB2, 1 + (i & 1));
		}
		brisk_mem_map_clear_translation(c.map, VA(0), 7 * GB1);
	}
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(c.bad, 0);
	brisk_mem_map_free(&c.map);
}

/* The bad-input cases log errors on purpose; keep the output readable. */
static int ut_setup(void)
{
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_DISABLED);
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_set_translate_clear),
	BRISK_UT_TEST(test_are_contiguous),
	BRISK_UT_TEST(test_bad_args),
	BRISK_UT_TEST(test_notifications),
	BRISK_UT_TEST(test_partial_unregister),
	BRISK_UT_TEST(test_lockless_reads),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "mem_map", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "mem_map_ut",
	.setup = ut_setup,
	.suites = g_ut_suites,
};
