/*
 * Ring stress: producers and consumers (pthreads pinned round-robin to cores
 * 0 and 1) move 10 million tagged objects through one ring per configuration
 * (2 million in the oversubscribed 4x4 one; 1/50 of that under ThreadSanitizer).
 * A tag is (producer id << 40 | sequence). Checks: every object arrives
 * exactly once (a shared bitmap, set atomically), and every consumer sees each
 * producer's sequence increasing; with a single consumer it must be exactly
 * consecutive (per-producer FIFO order, nothing lost).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/ring.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"

/* ThreadSanitizer makes every ring access a runtime call (5-15x slower) and
 * this test ping-pongs two pinned threads: 1/50 of the objects keeps it
 * within the runner's time bound and still wraps the ring thousands of times. */
#if defined(__SANITIZE_THREAD__)
#define TOTAL_OBJS 200000ull
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TOTAL_OBJS 200000ull
#endif
#endif
#ifndef TOTAL_OBJS
#define TOTAL_OBJS 10000000ull
#endif
#define MAX_THREADS 4
#define MAX_BURST 32
#define TAG_SHIFT 40
#define SEQ_MASK ((1ull << TAG_SHIFT) - 1)

struct stress_run {
	struct brisk_ring *ring;
	unsigned num_producers;
	unsigned num_consumers;
	uint64_t total;                  /* objects to move */
	uint64_t per_producer;
	uint64_t *bitmap[MAX_THREADS];   /* per producer, one bit per sequence */
	uint64_t consumed;               /* objects dequeued so far (atomic) */
	uint64_t duplicates;             /* atomic */
	uint64_t order_errors;           /* atomic */
	uint64_t bad_tags;               /* atomic */
	int pin_errors;                  /* atomic */
};

struct stress_thread {
	struct stress_run *run;
	unsigned id;     /* producer or consumer index */
	uint32_t core;
	pthread_t tid;
};

static void pin_or_count(struct stress_run *run, uint32_t core)
{
	if (brisk_env_thread_pin(core) != 0) {
		__atomic_fetch_add(&run->pin_errors, 1, __ATOMIC_RELAXED);
	}
}

static void *producer(void *arg)
{
	struct stress_thread *t = arg;
	struct stress_run *run = t->run;
	uint64_t tag_base = (uint64_t)(t->id + 1) << TAG_SHIFT;
	uint64_t seq = 0;
	unsigned seed = t->id * 7919 + 1, iter = 0;
	void *objs[MAX_BURST];

	pin_or_count(run, t->core);
	while (seq < run->per_producer) {
		unsigned n = 1 + (unsigned)rand_r(&seed) % MAX_BURST, i, done;

		if (n > run->per_producer - seq) {
			n = (unsigned)(run->per_producer - seq);
		}
		for (i = 0; i < n; i++) {
			objs[i] = (void *)(uintptr_t)(tag_base | (seq + i));
		}
		/* Alternate bulk (all or nothing) and burst (partial) enqueues. */
		if (iter++ & 1) {
			done = brisk_ring_enqueue_bulk(run->ring, objs, n, NULL);
		} else {
			done = brisk_ring_enqueue_burst(run->ring, objs, n, NULL);
		}
		seq += done;
		if (done == 0) {
			/* Full: let a consumer sharing this core run. */
			sched_yield();
		}
	}
	return NULL;
}

static void consume_one(struct stress_run *run, uint64_t *last_seq, uint64_t tag)
{
	uint64_t pid = tag >> TAG_SHIFT, seq = tag & SEQ_MASK, bit;

	if (pid == 0 || pid > run->num_producers || seq >= run->per_producer) {
		__atomic_fetch_add(&run->bad_tags, 1, __ATOMIC_RELAXED);
		return;
	}
	pid--;
	bit = 1ull << (seq % 64);
	if (__atomic_fetch_or(&run->bitmap[pid][seq / 64], bit, __ATOMIC_RELAXED) & bit) {
		__atomic_fetch_add(&run->duplicates, 1, __ATOMIC_RELAXED);
	}
	/* last_seq holds seq + 1 of the previous object from pid (0 = none yet). */
	if (run->num_consumers == 1 ? seq != last_seq[pid] : seq < last_seq[pid]) {
		__atomic_fetch_add(&run->order_errors, 1, __ATOMIC_RELAXED);
	}
	last_seq[pid] = seq + 1;
}

static void *consumer(void *arg)
{
	struct stress_thread *t = arg;
	struct stress_run *run = t->run;
	uint64_t last_seq[MAX_THREADS] = { 0 };
	unsigned seed = t->id * 104729 + 3, iter = 0;
	void *objs[MAX_BURST];

	pin_or_count(run, t->core);
	while (__atomic_load_n(&run->consumed, __ATOMIC_RELAXED) < run->total) {
		unsigned n = 1 + (unsigned)rand_r(&seed) % MAX_BURST, i, got;

		if (iter++ & 1) {
			got = brisk_ring_dequeue_bulk(run->ring, objs, n, NULL);
		} else {
			got = brisk_ring_dequeue_burst(run->ring, objs, n, NULL);
		}
		if (got == 0) {
			sched_yield();
			continue;
		}
		for (i = 0; i < got; i++) {
			consume_one(run, last_seq, (uint64_t)(uintptr_t)objs[i]);
		}
		__atomic_fetch_add(&run->consumed, got, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void run_config(const char *name, unsigned flags, unsigned np, unsigned nc, uint64_t total)
{
	struct stress_run run = { .num_producers = np, .num_consumers = nc, .total = total };
	struct stress_thread threads[2 * MAX_THREADS];
	uint64_t words, set = 0, start, hz = brisk_get_ticks_hz();
	unsigned i, p, nthreads = np + nc;

	run.per_producer = total / np;
	CU_ASSERT_EQUAL_FATAL(run.per_producer * np, total);
	words = (run.per_producer + 63) / 64;
	for (p = 0; p < np; p++) {
		run.bitmap[p] = calloc(words, sizeof(uint64_t));
		CU_ASSERT_PTR_NOT_NULL_FATAL(run.bitmap[p]);
	}
	run.ring = brisk_ring_create(name, 1024, BRISK_ENV_SOCKET_ID_ANY, flags);
	CU_ASSERT_PTR_NOT_NULL_FATAL(run.ring);

	start = brisk_get_ticks();
	/* Producers first, then consumers; thread k runs on core k % 2. */
	for (i = 0; i < nthreads; i++) {
		threads[i].run = &run;
		threads[i].id = i < np ? i : i - np;
		threads[i].core = i % 2;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&threads[i].tid, NULL, i < np ? producer : consumer,
						     &threads[i]), 0);
	}
	for (i = 0; i < nthreads; i++) {
		pthread_join(threads[i].tid, NULL);
	}
	printf("\n    %s: %u producer(s), %u consumer(s): %.2f s ", name, np, nc,
	       (double)(brisk_get_ticks() - start) / (double)hz);

	CU_ASSERT_EQUAL(run.pin_errors, 0);
	CU_ASSERT_EQUAL(run.consumed, total);
	CU_ASSERT_EQUAL(run.duplicates, 0);
	CU_ASSERT_EQUAL(run.order_errors, 0);
	CU_ASSERT_EQUAL(run.bad_tags, 0);
	for (p = 0; p < np; p++) {
		uint64_t w;

		for (w = 0; w < words; w++) {
			set += (uint64_t)__builtin_popcountll(run.bitmap[p][w]);
		}
		free(run.bitmap[p]);
	}
	CU_ASSERT_EQUAL(set, total); /* every object arrived */
	CU_ASSERT(brisk_ring_empty(run.ring));
	brisk_ring_free(run.ring);
}

static void test_spsc_1x1(void)
{
	run_config("stress_spsc", BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ, 1, 1, TOTAL_OBJS);
}

static void test_mpmc_2x2(void)
{
	run_config("stress_mpmc", 0, 2, 2, TOTAL_OBJS);
}

static void test_mpsc_2x1(void)
{
	run_config("stress_mpsc", BRISK_RING_F_SC_DEQ, 2, 1, TOTAL_OBJS);
}

static void test_spmc_1x2(void)
{
	run_config("stress_spmc", BRISK_RING_F_SP_ENQ, 1, 2, TOTAL_OBJS);
}

/* More threads than cores: claims are often preempted half way, and the
 * waiters must yield for progress. Fewer objects: this one is slow by nature. */
static void test_mpmc_4x4(void)
{
	run_config("stress_mpmc4", 0, 4, 4, TOTAL_OBJS / 5);
}

static const CU_TestInfo g_ut_tests[] = {
	{ "spsc_1x1", test_spsc_1x1 }, { "mpmc_2x2", test_mpmc_2x2 }, { "mpsc_2x1", test_mpsc_2x1 },
	{ "spmc_1x2", test_spmc_1x2 }, { "mpmc_4x4", test_mpmc_4x4 }, CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "ring_stress", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "ring_stress_ut",
	.env = BRISK_UT_ENV,
	.core_mask = "0x3",
	.mem_mb = 64,
	.suites = g_ut_suites,
};
