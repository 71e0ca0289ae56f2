/*
 * Unit tests of the mempool: every public function, bad input, counts, and
 * the per-core cache (refill to size, flush above 1.5 x size, bypass for
 * large requests and for threads with no current core, LIFO reuse).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/mempool.h>

#include "../../common/ut_main.h"

static unsigned cache_len(struct brisk_mempool *mp, uint32_t core)
{
	return mp->caches[core].len;
}

static void test_bad_input(void)
{
	char long_name[BRISK_MEMPOOL_NAMESIZE + 1];
	struct brisk_mempool *mp, fake;

	memset(long_name, 'p', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';

#define EXPECT_FAIL(call, err) \
	do { \
		errno = 0; \
		CU_ASSERT_PTR_NULL(call); \
		CU_ASSERT_EQUAL(errno, err); \
	} while (0)
	EXPECT_FAIL(brisk_mempool_create("bad", 0, 64, 0, BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	EXPECT_FAIL(brisk_mempool_create("bad", 1u << 30, 64, 0, BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	EXPECT_FAIL(brisk_mempool_create("bad", 100, 0, 0, BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	EXPECT_FAIL(brisk_mempool_create("bad", 4096, 64, BRISK_MEMPOOL_CACHE_MAX_SIZE + 1,
					 BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	/* cache_size must not exceed n / 1.5: 66 is fine for 100, 67 is not. */
	EXPECT_FAIL(brisk_mempool_create("bad", 100, 64, 67, BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	EXPECT_FAIL(brisk_mempool_create(NULL, 100, 64, 0, BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	EXPECT_FAIL(brisk_mempool_create("", 100, 64, 0, BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	EXPECT_FAIL(brisk_mempool_create(long_name, 100, 64, 0, BRISK_ENV_SOCKET_ID_ANY), EINVAL);
	/* Far more than the env's memory. */
	EXPECT_FAIL(brisk_mempool_create("toobig", 1u << 20, 1u << 16, 0, BRISK_ENV_SOCKET_ID_ANY), ENOMEM);
	EXPECT_FAIL(brisk_mempool_lookup(NULL), EINVAL);
	EXPECT_FAIL(brisk_mempool_lookup(""), EINVAL);
	EXPECT_FAIL(brisk_mempool_lookup("nonexistent"), ENOENT);

	mp = brisk_mempool_create("ok66", 100, 64, 66, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL(mp);
	EXPECT_FAIL(brisk_mempool_create("ok66", 10, 64, 0, BRISK_ENV_SOCKET_ID_ANY), EEXIST);
	brisk_mempool_free(mp);
	/* The longest name that fits. */
	long_name[BRISK_MEMPOOL_NAMESIZE - 1] = '\0';
	mp = brisk_mempool_create(long_name, 8, 8, 0, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_PTR_EQUAL(brisk_mempool_lookup(long_name), mp);
	brisk_mempool_free(mp);
#undef EXPECT_FAIL

	brisk_mempool_free(NULL); /* ignored */
	memset(&fake, 0, sizeof(fake));
	brisk_mempool_free(&fake); /* not a pool: reported, ignored */
}

struct ctor_ctx {
	unsigned calls;
	unsigned idx_sum;
};

static void ctor(struct brisk_mempool *mp, void *arg, void *obj, unsigned idx)
{
	struct ctor_ctx *c = arg;

	c->calls++;
	c->idx_sum += idx;
	memset(obj, 0, brisk_mempool_get_elt_size(mp));
	*(uint32_t *)obj = idx ^ 0xabcd0000u;
}

static void check_obj(struct brisk_mempool *mp, void *arg, void *obj, unsigned idx)
{
	unsigned *bad = arg;

	if (*(uint32_t *)obj != (idx ^ 0xabcd0000u) || !brisk_mempool_contains(mp, obj)) {
		(*bad)++;
	}
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void test_get_put_no_cache(void)
{
	struct ctor_ctx c = { 0 };
	struct brisk_mempool *mp;
	void *objs[200], *extra;
	unsigned i, bad = 0;

	mp = brisk_mempool_create_ctor("nocache", 200, 100, 0, BRISK_ENV_SOCKET_ID_ANY, ctor, &c);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_EQUAL(c.calls, 200);
	CU_ASSERT_EQUAL(c.idx_sum, 199 * 200 / 2);
	CU_ASSERT_STRING_EQUAL(brisk_mempool_get_name(mp), "nocache");
	CU_ASSERT_EQUAL(brisk_mempool_get_count(mp), 200);
	CU_ASSERT_EQUAL(brisk_mempool_get_elt_size(mp), 100);
	CU_ASSERT_EQUAL(brisk_mempool_avail_count(mp), 200);
	CU_ASSERT_EQUAL(brisk_mempool_in_use_count(mp), 0);
	CU_ASSERT(brisk_mempool_full(mp));
	CU_ASSERT(!brisk_mempool_empty(mp));
	CU_ASSERT_EQUAL(brisk_mempool_obj_iter(mp, check_obj, &bad), 200);
	CU_ASSERT_EQUAL(bad, 0);

	for (i = 0; i < 200; i++) {
		CU_ASSERT_EQUAL_FATAL(brisk_mempool_get(mp, &objs[i]), 0);
		CU_ASSERT_EQUAL((uintptr_t)objs[i] % 64, 0);
		CU_ASSERT(brisk_mempool_contains(mp, objs[i]));
		memset(objs[i], 0x5a, 100); /* the whole element is usable */
	}
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &extra), -ENOENT);
	CU_ASSERT(brisk_mempool_empty(mp));
	CU_ASSERT_EQUAL(brisk_mempool_in_use_count(mp), 200);
	/* All distinct, and 128 bytes apart at least (100 rounded up to 64). */
	qsort(objs, 200, sizeof(void *), cmp_ptr);
	for (i = 1; i < 200; i++) {
		CU_ASSERT((uintptr_t)objs[i] - (uintptr_t)objs[i - 1] >= 128);
	}
	CU_ASSERT(!brisk_mempool_contains(mp, (char *)objs[0] + 64));
	CU_ASSERT(!brisk_mempool_contains(mp, (char *)objs[0] - 128));
	CU_ASSERT(!brisk_mempool_contains(mp, &extra));
	for (i = 0; i < 200; i++) {
		brisk_mempool_put(mp, objs[i]);
	}
	CU_ASSERT(brisk_mempool_full(mp));
	brisk_mempool_free(mp);
}

static void test_bulk_all_or_nothing(void)
{
	struct brisk_mempool *mp = brisk_mempool_create("bulk", 10, 8, 0, BRISK_ENV_SOCKET_ID_ANY);
	void *objs[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs, 8), 0);
	CU_ASSERT_EQUAL(brisk_mempool_avail_count(mp), 2);
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs + 8, 3), -ENOENT);
	CU_ASSERT_EQUAL(brisk_mempool_avail_count(mp), 2);
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs + 8, 2), 0);
	CU_ASSERT(brisk_mempool_empty(mp));
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs, 0), 0); /* nothing asked, nothing to fail */
	brisk_mempool_put_bulk(mp, objs, 10);
	CU_ASSERT(brisk_mempool_full(mp));
	brisk_mempool_free(mp);
}

static void test_cache(void)
{
	struct brisk_mempool *mp;
	void *objs[1024], *obj = NULL;
	unsigned i;

	CU_ASSERT_EQUAL_FATAL(brisk_env_thread_pin(0), 0);
	mp = brisk_mempool_create("cached", 1024, 64, 32, BRISK_ENV_SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT(mp->num_caches >= 1);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 0);

	/* First get refills to size + 1 and takes one. */
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &obj), 0);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 32);
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 1024 - 33);
	CU_ASSERT_EQUAL(brisk_mempool_avail_count(mp), 1023);
	CU_ASSERT_EQUAL(brisk_mempool_in_use_count(mp), 1);

	/* A put lands on top of the cache and the next get returns it (LIFO). */
	brisk_mempool_put(mp, obj);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 33);
	CU_ASSERT_PTR_EQUAL(mp->caches[0].objs[32], obj);
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &objs[0]), 0);
	CU_ASSERT_PTR_EQUAL(objs[0], obj);
	brisk_mempool_put(mp, obj);

	/* Gets served from the cache until it runs dry. */
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs, 30), 0);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 3);
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 1024 - 33);
	/* 4 > 3 cached: refill to 32 + 4, take 4. */
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs + 30, 4), 0);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 32);
	CU_ASSERT_EQUAL(brisk_mempool_in_use_count(mp), 34);

	/* Puts fill the cache up to the flush threshold (48) ... */
	brisk_mempool_put_bulk(mp, objs, 16);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 48);
	/* ... and one more flushes it all to the ring, then caches the new one. */
	brisk_mempool_put(mp, objs[16]);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 1);
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 1024 - 18);
	CU_ASSERT_EQUAL(brisk_mempool_in_use_count(mp), 17);

	/* Requests larger than the cache go straight to the ring. */
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs + 40, 33), 0);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 1);
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 1024 - 18 - 33);
	brisk_mempool_put_bulk(mp, objs + 40, 33);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 1);
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 1024 - 18);

	/* A thread with no current core bypasses the cache. */
	brisk_env_set_current_core(BRISK_ENV_LCORE_ID_ANY);
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, objs + 40, 5), 0);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 1);
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 1024 - 18 - 5);
	brisk_mempool_put_bulk(mp, objs + 40, 5);
	brisk_mempool_put_bulk(mp, objs + 17, 17);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 1);
	CU_ASSERT(brisk_mempool_full(mp));
	brisk_env_set_current_core(0);

	/* Drain everything through the cache: counts stay exact. */
	for (i = 0; i < 1024; i++) {
		CU_ASSERT_EQUAL_FATAL(brisk_mempool_get(mp, &objs[i]), 0);
	}
	CU_ASSERT(brisk_mempool_empty(mp));
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &obj), -ENOENT);
	qsort(objs, 1024, sizeof(void *), cmp_ptr);
	for (i = 1; i < 1024; i++) {
		CU_ASSERT_NOT_EQUAL(objs[i], objs[i - 1]);
	}
	brisk_mempool_put_bulk(mp, objs, 1024); /* > cache size: to the ring */
	CU_ASSERT(brisk_mempool_full(mp));
	brisk_mempool_free(mp);
}

/* A refill finds the ring short: it takes what the request needs, or fails cleanly. */
static void test_cache_short_ring(void)
{
	struct brisk_mempool *mp = brisk_mempool_create("short", 48, 64, 32, BRISK_ENV_SOCKET_ID_ANY);
	void *mine[48], *other[48];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(0), 0);
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &mine[0]), 0); /* cache 32, ring 15 */
	CU_ASSERT_EQUAL(cache_len(mp, 0), 32);
	brisk_env_set_current_core(BRISK_ENV_LCORE_ID_ANY);
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, other, 14), 0); /* ring 1 */
	brisk_env_set_current_core(0);
	/* Cache has 32: a get of 32 empties it; the next get refills the one left. */
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, mine + 1, 32), 0);
	CU_ASSERT_EQUAL(cache_len(mp, 0), 0);
	CU_ASSERT_EQUAL(brisk_mempool_get_bulk(mp, mine + 33, 2), -ENOENT);
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &mine[33]), 0);
	CU_ASSERT(brisk_mempool_empty(mp));
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &mine[34]), -ENOENT);
	brisk_mempool_put_bulk(mp, mine, 34);
	brisk_mempool_put_bulk(mp, other, 14);
	CU_ASSERT(brisk_mempool_full(mp));
	CU_ASSERT_EQUAL(brisk_mempool_avail_count(mp), 48);
	brisk_mempool_free(mp);
}

struct walk_ctx {
	struct brisk_mempool *a, *b;
	unsigned seen_a, seen_b, others;
};

static void walk_cb(struct brisk_mempool *mp, void *arg)
{
	struct walk_ctx *w = arg;

	if (mp == w->a) {
		w->seen_a++;
	} else if (mp == w->b) {
		w->seen_b++;
	} else {
		w->others++;
	}
}

static void free_cb(struct brisk_mempool *mp, void *arg)
{
	brisk_mempool_free(mp); /* walk must allow freeing from the callback */
	(*(unsigned *)arg)++;
}

static void test_lookup_walk_free(void)
{
	struct walk_ctx w = { 0 };
	unsigned freed = 0;

	w.a = brisk_mempool_create("walk_a", 16, 32, 0, BRISK_ENV_SOCKET_ID_ANY);
	w.b = brisk_mempool_create("walk_b", 16, 32, 4, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w.a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w.b);
	CU_ASSERT_PTR_NOT_NULL(brisk_memzone_lookup("MP_walk_a"));
	CU_ASSERT_PTR_EQUAL(brisk_mempool_lookup("walk_a"), w.a);
	CU_ASSERT_PTR_EQUAL(brisk_mempool_lookup("walk_b"), w.b);
	brisk_mempool_walk(walk_cb, &w);
	CU_ASSERT_EQUAL(w.seen_a, 1);
	CU_ASSERT_EQUAL(w.seen_b, 1);
	CU_ASSERT_EQUAL(w.others, 0);

	brisk_mempool_free(w.a);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_mempool_lookup("walk_a"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NULL(brisk_memzone_lookup("MP_walk_a"));
	brisk_mempool_walk(free_cb, &freed);
	CU_ASSERT_EQUAL(freed, 1);
	CU_ASSERT_PTR_NULL(brisk_mempool_lookup("walk_b"));
}

static void test_dump(void)
{
	struct brisk_mempool *mp = brisk_mempool_create("dumped", 64, 200, 8, BRISK_ENV_SOCKET_ID_ANY);
	char buf[4096] = "";
	FILE *f = tmpfile();
	size_t len;
	void *obj = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(brisk_env_thread_pin(0), 0);
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &obj), 0);
	brisk_mempool_dump(f, mp);
	brisk_mempool_dump(f, NULL);
	rewind(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "dumped"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "size=64 elt_size=200 obj_stride=256"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "core 0: len=8"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "avail=63 in_use=1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<NULL>"));
	brisk_mempool_put(mp, obj);
	brisk_mempool_free(mp);
}

/* Putting an object that is not the pool's: debug builds detect and drop it. */
static void test_foreign_put(void)
{
	struct brisk_mempool *mp = brisk_mempool_create("foreign", 16, 64, 0, BRISK_ENV_SOCKET_ID_ANY);
	struct brisk_mempool *other = brisk_mempool_create("foreign2", 16, 64, 0, BRISK_ENV_SOCKET_ID_ANY);
	void *obj = NULL, *objs[2];

	CU_ASSERT_PTR_NOT_NULL_FATAL(mp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	CU_ASSERT_EQUAL(brisk_mempool_get(other, &obj), 0);
	CU_ASSERT(!brisk_mempool_contains(mp, obj));
	CU_ASSERT(brisk_mempool_contains(other, obj));
#ifdef DEBUG
	CU_ASSERT_EQUAL(brisk_mempool_get(mp, &objs[0]), 0);
	objs[1] = obj;
	brisk_mempool_put_bulk(mp, objs, 2); /* objs[0] goes back, obj is refused */
	CU_ASSERT(brisk_mempool_full(mp));
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 16);
	brisk_mempool_put(mp, (char *)objs[0] + 8); /* inside the pool, not an object start */
	CU_ASSERT_EQUAL(brisk_ring_count(mp->ring), 16);
#else
	(void)objs;
#endif
	brisk_mempool_put(other, obj);
	CU_ASSERT(brisk_mempool_full(other));
	brisk_mempool_free(mp);
	brisk_mempool_free(other);
}

static const CU_TestInfo g_ut_tests[] = {
	{ "bad_input", test_bad_input },
	{ "get_put_no_cache", test_get_put_no_cache },
	{ "bulk_all_or_nothing", test_bulk_all_or_nothing },
	{ "cache", test_cache },
	{ "cache_short_ring", test_cache_short_ring },
	{ "lookup_walk_free", test_lookup_walk_free },
	{ "dump", test_dump },
	{ "foreign_put", test_foreign_put },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "mempool", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "mempool_ut",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.suites = g_ut_suites,
};
