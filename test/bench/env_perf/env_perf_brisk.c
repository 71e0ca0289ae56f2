/*
 * env_perf backend for Brisk: rings, mempools and the malloc heap, measured
 * with the same loops as the DPDK backend (env_perf_dpdk.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <brisk/env.h>
#include <brisk/mempool.h>
#include <brisk/ring.h>
#include <brisk/ticks.h>

#include "env_perf.h"

static void *brisk_ring_create_fn(const char *name, unsigned count, bool single)
{
	return brisk_ring_create(name, count, BRISK_ENV_SOCKET_ID_ANY,
				 single ? BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ : 0);
}

static void brisk_ring_free_fn(void *r)
{
	brisk_ring_free(r);
}

static uint64_t brisk_ring_1core(void *ring, bool single, unsigned burst, uint64_t objs)
{
	struct brisk_ring *r = ring;
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t i, iters = objs / burst, start;
	unsigned k;

	for (k = 0; k < burst; k++) {
		buf[k] = (void *)(uintptr_t)(k + 1);
	}
	start = brisk_get_ticks();
	if (single) {
		for (i = 0; i < iters; i++) {
			brisk_ring_sp_enqueue_bulk(r, buf, burst, NULL);
			brisk_ring_sc_dequeue_bulk(r, buf, burst, NULL);
		}
	} else {
		for (i = 0; i < iters; i++) {
			brisk_ring_mp_enqueue_bulk(r, buf, burst, NULL);
			brisk_ring_mc_dequeue_bulk(r, buf, burst, NULL);
		}
	}
	return brisk_get_ticks() - start;
}

struct __attribute__((aligned(64))) consumer_ctx {
	struct brisk_ring *r;
	bool single;
	unsigned burst;
	uint64_t objs;
	uint32_t core;
	int ready;      /* atomic */
	int go;         /* atomic */
	int pin_rc;
	uint64_t end;
	uint64_t calls;
};

static void *brisk_consumer(void *arg)
{
	struct consumer_ctx *c = arg;
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t got = 0, objs = c->objs, calls = 0;
	unsigned burst = c->burst;
	bool single = c->single;
	struct brisk_ring *r = c->r;

	c->pin_rc = brisk_env_thread_pin(c->core);
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE)) {
		brisk_ring__pause();
	}
	/* Locals: the context sits on the producer's stack, so reading it in
	 * the loop could share a cache line with the producer's spills. */
	if (single) {
		while (got < objs) {
			got += brisk_ring_sc_dequeue_burst(r, buf, burst, NULL);
			calls++;
		}
	} else {
		while (got < objs) {
			got += brisk_ring_mc_dequeue_burst(r, buf, burst, NULL);
			calls++;
		}
	}
	c->end = brisk_get_ticks();
	c->calls = calls;
	return NULL;
}

static uint64_t brisk_ring_2core(void *ring, bool single, unsigned burst, uint64_t objs,
				 const struct env_perf_config *cfg)
{
	struct consumer_ctx c = { .r = ring, .single = single, .burst = burst, .objs = objs,
				  .core = cfg->consumer_core };
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t sent = 0, start, calls = 0;
	pthread_t tid;
	unsigned k;

	for (k = 0; k < burst; k++) {
		buf[k] = (void *)(uintptr_t)(k + 1);
	}
	if (pthread_create(&tid, NULL, brisk_consumer, &c) != 0) {
		return 0;
	}
	while (!__atomic_load_n(&c.ready, __ATOMIC_ACQUIRE)) {
		brisk_ring__pause();
	}
	start = brisk_get_ticks();
	__atomic_store_n(&c.go, 1, __ATOMIC_RELEASE);
	if (single) {
		while (sent < objs) {
			sent += brisk_ring_sp_enqueue_burst(ring, buf, burst, NULL);
			calls++;
		}
	} else {
		while (sent < objs) {
			sent += brisk_ring_mp_enqueue_burst(ring, buf, burst, NULL);
			calls++;
		}
	}
	pthread_join(tid, NULL);
	g_env_perf_ring_calls.producer = calls;
	g_env_perf_ring_calls.consumer = c.calls;
	if (c.pin_rc != 0) {
		fprintf(stderr, "brisk consumer: cannot pin to core %u\n", c.core);
		return 0;
	}
	return c.end - start;
}

static void *brisk_mempool_create_fn(const char *name, unsigned n, unsigned elt_size, unsigned cache_size)
{
	return brisk_mempool_create(name, n, elt_size, cache_size, BRISK_ENV_SOCKET_ID_ANY);
}

static void brisk_mempool_free_fn(void *mp)
{
	brisk_mempool_free(mp);
}

static uint64_t brisk_mempool_loop(void *pool, unsigned bulk, uint64_t objs)
{
	struct brisk_mempool *mp = pool;
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t i, iters = objs / bulk, start, failures = 0;

	start = brisk_get_ticks();
	if (bulk == 1) {
		for (i = 0; i < iters; i++) {
			failures += brisk_mempool_get(mp, &buf[0]) != 0;
			brisk_mempool_put(mp, buf[0]);
		}
	} else {
		for (i = 0; i < iters; i++) {
			failures += brisk_mempool_get_bulk(mp, buf, bulk) != 0;
			brisk_mempool_put_bulk(mp, buf, bulk);
		}
	}
	start = brisk_get_ticks() - start;
	return failures == 0 ? start : 0;
}

static uint64_t brisk_malloc_loop(uint64_t size, unsigned batch, uint64_t objs)
{
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t i, iters = objs / batch, start, failures = 0;
	unsigned k;

	start = brisk_get_ticks();
	for (i = 0; i < iters; i++) {
		for (k = 0; k < batch; k++) {
			buf[k] = brisk_malloc(size, 0, BRISK_ENV_SOCKET_ID_ANY);
			failures += buf[k] == NULL;
		}
		for (k = 0; k < batch; k++) {
			brisk_free(buf[k]);
		}
	}
	start = brisk_get_ticks() - start;
	return failures == 0 ? start : 0;
}

const struct env_perf_ops g_env_perf_brisk_ops = {
	.name = "brisk",
	.ring_create = brisk_ring_create_fn,
	.ring_free = brisk_ring_free_fn,
	.ring_1core = brisk_ring_1core,
	.ring_2core = brisk_ring_2core,
	.mempool_create = brisk_mempool_create_fn,
	.mempool_free = brisk_mempool_free_fn,
	.mempool_loop = brisk_mempool_loop,
	.malloc_loop = brisk_malloc_loop,
};
