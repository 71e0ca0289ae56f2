/*
 * Mempool stress: two threads pinned to cores 0 and 1 (using their per-core
 * caches) and one with no current core (straight to the ring) get and put
 * objects concurrently with random bulk sizes for a few seconds, holding up
 * to more than the pool has so gets also fail. Every object carries an owner
 * tag, claimed with compare-and-swap on get and released the same way on put:
 * an object handed out twice, or returned by a thread that does not own it,
 * is counted as an error. At the end every object is back and the counts add
 * up (full, nothing in use, every tag clear).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/mempool.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"

#define POOL_SIZE 2048
#define CACHE_SIZE 64
#define MAX_HELD 900      /* per thread: three threads can ask for more than the pool */
#define MAX_BULK 100      /* above CACHE_SIZE too, so the ring path is exercised */
#define RUN_SECONDS 2
#define MAX_RUN_SECONDS 20 /* see run_over */
#define NUM_THREADS 3

struct stress_obj {
	uint64_t owner;   /* 0 = free, else thread id + 1 (atomic) */
	uint64_t payload; /* written by the owner, checked before put */
};

struct stress_ctx {
	struct brisk_mempool *mp;
	uint64_t end_ticks;
	uint64_t hard_end_ticks;
	uint64_t failures; /* atomic: failed gets of all threads */
	uint64_t double_gets;   /* atomic */
	uint64_t bad_puts;      /* atomic */
	uint64_t corruptions;   /* atomic */
	uint64_t foreign;       /* atomic */
	int pin_errors;         /* atomic */
};

struct stress_thread {
	struct stress_ctx *ctx;
	unsigned id;
	uint32_t core;          /* BRISK_ENV_LCORE_ID_ANY: no cache */
	uint64_t gets, puts, get_failures;
	pthread_t tid;
};

static void take(struct stress_thread *t, struct stress_obj *o, uint64_t me)
{
	uint64_t expected = 0;

	if (!brisk_mempool_contains(t->ctx->mp, o)) {
		__atomic_fetch_add(&t->ctx->foreign, 1, __ATOMIC_RELAXED);
		return;
	}
	if (!__atomic_compare_exchange_n(&o->owner, &expected, me, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&t->ctx->double_gets, 1, __ATOMIC_RELAXED);
		return;
	}
	o->payload = me * 0x9e3779b97f4a7c15ull ^ (uintptr_t)o;
}

static void give_back(struct stress_thread *t, struct stress_obj *o, uint64_t me)
{
	uint64_t expected = me;

	if (o->payload != (me * 0x9e3779b97f4a7c15ull ^ (uintptr_t)o)) {
		__atomic_fetch_add(&t->ctx->corruptions, 1, __ATOMIC_RELAXED);
	}
	if (!__atomic_compare_exchange_n(&o->owner, &expected, 0, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		__atomic_fetch_add(&t->ctx->bad_puts, 1, __ATOMIC_RELAXED);
	}
}

/* The run lasts RUN_SECONDS and then, while no get has failed yet, up to
 * MAX_RUN_SECONDS: on a loaded machine or under ThreadSanitizer the threads
 * overlap little, and the exhaustion path must still run. */
static bool run_over(struct stress_ctx *ctx)
{
	uint64_t now = brisk_get_ticks();

	return now >= ctx->end_ticks &&
	       (__atomic_load_n(&ctx->failures, __ATOMIC_RELAXED) != 0 || now >= ctx->hard_end_ticks);
}

static void *stress_thread_fn(void *arg)
{
	struct stress_thread *t = arg;
	struct stress_ctx *ctx = t->ctx;
	void *held[MAX_HELD];
	unsigned nheld = 0, seed = 12345 + t->id * 777, i, loops = 0;
	uint64_t me = t->id + 1;

	if (t->core != BRISK_ENV_LCORE_ID_ANY) {
		if (brisk_env_thread_pin(t->core) != 0) {
			__atomic_fetch_add(&ctx->pin_errors, 1, __ATOMIC_RELAXED);
		}
	} else {
		brisk_env_set_current_core(BRISK_ENV_LCORE_ID_ANY);
	}
	for (;;) {
		unsigned n = 1 + (unsigned)rand_r(&seed) % MAX_BULK;
		bool do_get = (rand_r(&seed) & 1) != 0;

		if ((++loops & 255) == 0 && run_over(ctx)) {
			break;
		}
		if (do_get && nheld + n <= MAX_HELD) {
			if (n == 1 ? brisk_mempool_get(ctx->mp, &held[nheld]) != 0 :
				     brisk_mempool_get_bulk(ctx->mp, &held[nheld], n) != 0) {
				t->get_failures++;
				__atomic_fetch_add(&ctx->failures, 1, __ATOMIC_RELAXED);
				continue;
			}
			for (i = 0; i < n; i++) {
				take(t, held[nheld + i], me);
			}
			nheld += n;
			t->gets += n;
		} else if (!do_get && nheld > 0) {
			if (n > nheld) {
				n = nheld;
			}
			nheld -= n;
			for (i = 0; i < n; i++) {
				give_back(t, held[nheld + i], me);
			}
			if (n == 1) {
				brisk_mempool_put(ctx->mp, held[nheld]);
			} else {
				brisk_mempool_put_bulk(ctx->mp, &held[nheld], n);
			}
			t->puts += n;
		}
	}
	for (i = 0; i < nheld; i++) {
		give_back(t, held[i], me);
	}
	brisk_mempool_put_bulk(ctx->mp, held, nheld);
	t->puts += nheld;
	return NULL;
}

static void count_owned(struct brisk_mempool *mp, void *arg, void *obj, unsigned idx)
{
	if (((struct stress_obj *)obj)->owner != 0) {
		(*(unsigned *)arg)++;
	}
}

static void clear_obj(struct brisk_mempool *mp, void *arg, void *obj, unsigned idx)
{
	memset(obj, 0, sizeof(struct stress_obj));
}

static void test_concurrent_get_put(void)
{
	struct stress_ctx ctx = { 0 };
	struct stress_thread threads[NUM_THREADS];
	uint32_t cores[NUM_THREADS] = { 0, 1, BRISK_ENV_LCORE_ID_ANY };
	unsigned i, owned = 0;

	ctx.mp = brisk_mempool_create_ctor("stress", POOL_SIZE, sizeof(struct stress_obj), CACHE_SIZE,
					   BRISK_ENV_SOCKET_ID_ANY, clear_obj, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx.mp);
	ctx.end_ticks = brisk_get_ticks() + RUN_SECONDS * brisk_get_ticks_hz();
	ctx.hard_end_ticks = ctx.end_ticks + (MAX_RUN_SECONDS - RUN_SECONDS) * brisk_get_ticks_hz();
	for (i = 0; i < NUM_THREADS; i++) {
		memset(&threads[i], 0, sizeof(threads[i]));
		threads[i].ctx = &ctx;
		threads[i].id = i;
		threads[i].core = cores[i];
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i].tid, NULL, stress_thread_fn, &threads[i]), 0);
	}
	for (i = 0; i < NUM_THREADS; i++) {
		pthread_join(threads[i].tid, NULL);
		printf("\n    thread %u (core %d): %llu gets, %llu puts, %llu failed gets", i,
		       threads[i].core == BRISK_ENV_LCORE_ID_ANY ? -1 : (int)threads[i].core,
		       (unsigned long long)threads[i].gets, (unsigned long long)threads[i].puts,
		       (unsigned long long)threads[i].get_failures);
		CU_ASSERT_EQUAL(threads[i].gets, threads[i].puts);
		CU_ASSERT(threads[i].gets > 0);
	}
	printf("\n    ");
	/* Pool exhaustion was reached at least once: the failure path ran too. */
	CU_ASSERT(threads[0].get_failures + threads[1].get_failures + threads[2].get_failures > 0);
	CU_ASSERT_EQUAL(ctx.pin_errors, 0);
	CU_ASSERT_EQUAL(ctx.double_gets, 0);
	CU_ASSERT_EQUAL(ctx.bad_puts, 0);
	CU_ASSERT_EQUAL(ctx.corruptions, 0);
	CU_ASSERT_EQUAL(ctx.foreign, 0);

	CU_ASSERT(brisk_mempool_full(ctx.mp));
	CU_ASSERT_EQUAL(brisk_mempool_avail_count(ctx.mp), POOL_SIZE);
	CU_ASSERT_EQUAL(brisk_mempool_in_use_count(ctx.mp), 0);
	CU_ASSERT_EQUAL(brisk_mempool_obj_iter(ctx.mp, count_owned, &owned), POOL_SIZE);
	CU_ASSERT_EQUAL(owned, 0);
	/* At rest the count is exact (not clamped): the ring and the two
	 * per-core caches hold every object between them. */
	CU_ASSERT_EQUAL(brisk_ring_count(ctx.mp->ring) + ctx.mp->caches[0].len + ctx.mp->caches[1].len,
			POOL_SIZE);
	brisk_mempool_free(ctx.mp);
}

static const CU_TestInfo g_ut_tests[] = {
	{ "concurrent_get_put", test_concurrent_get_put },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "mempool_stress", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "mempool_stress_ut",
	.env = BRISK_UT_ENV,
	.core_mask = "0x3",
	.mem_mb = 64,
	.suites = g_ut_suites,
};
