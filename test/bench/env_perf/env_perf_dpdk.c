/*
 * env_perf backend for DPDK (built only when configure found libdpdk-dev):
 * rte_ring, rte_mempool and rte_malloc measured with the same loops as the
 * Brisk backend. It registers itself from a constructor, so env_perf.c needs
 * no conditional code. The EAL runs in memory (no files), without PCI, on the
 * same two cores, with the same memory mode (hugepages or not) as Brisk.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include <brisk/ticks.h>

#include "env_perf.h"

static int dpdk_init(const struct env_perf_config *cfg)
{
	static char cores[32], main_core[16], mem[32], prefix[64];
	static char *argv[16];
	int argc = 0, rc;

	snprintf(cores, sizeof(cores), "%u,%u", cfg->producer_core, cfg->consumer_core);
	snprintf(main_core, sizeof(main_core), "%u", cfg->producer_core);
	snprintf(mem, sizeof(mem), "%llu", (unsigned long long)cfg->mem_mb);
	argv[argc++] = "env_perf";
	argv[argc++] = "-l";
	argv[argc++] = cores;
	argv[argc++] = "--main-lcore";
	argv[argc++] = main_core;
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-telemetry";
	/* Our own runtime directory, removed again in dpdk_fini. */
	snprintf(prefix, sizeof(prefix), "--file-prefix=brisk_env_perf_%d", (int)getpid());
	argv[argc++] = prefix;
	argv[argc++] = "--log-level=error";
	argv[argc++] = "-m";
	argv[argc++] = mem;
	if (cfg->no_huge) {
		/* Same memory mode as Brisk. --in-memory refuses --no-huge (which
		 * implies legacy memory); --no-shconf keeps it file-free too. */
		argv[argc++] = "--no-huge";
		argv[argc++] = "--no-shconf";
	} else {
		argv[argc++] = "--in-memory"; /* no hugepage or config files left behind */
	}
	argv[argc] = NULL;

	rc = rte_eal_init(argc, argv);
	if (rc < 0) {
		fprintf(stderr, "dpdk: rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static void dpdk_fini(void)
{
	char dir[PATH_MAX];

	rte_eal_cleanup();
	/* The EAL leaves its (empty, file-less in these modes) runtime directory. */
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	if (rmdir(dir) == 0 && strrchr(dir, '/') != NULL) {
		*strrchr(dir, '/') = '\0';
		rmdir(dir); /* the parent too, if nothing else uses it (fails otherwise) */
	}
}

static void *dpdk_ring_create(const char *name, unsigned count, bool single)
{
	return rte_ring_create(name, count, SOCKET_ID_ANY, single ? RING_F_SP_ENQ | RING_F_SC_DEQ : 0);
}

static void dpdk_ring_free(void *r)
{
	rte_ring_free(r);
}

static uint64_t dpdk_ring_1core(void *ring, bool single, unsigned burst, uint64_t objs)
{
	struct rte_ring *r = ring;
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t i, iters = objs / burst, start;
	unsigned k;

	for (k = 0; k < burst; k++) {
		buf[k] = (void *)(uintptr_t)(k + 1);
	}
	start = brisk_get_ticks();
	if (single) {
		for (i = 0; i < iters; i++) {
			rte_ring_sp_enqueue_bulk(r, buf, burst, NULL);
			rte_ring_sc_dequeue_bulk(r, buf, burst, NULL);
		}
	} else {
		for (i = 0; i < iters; i++) {
			rte_ring_mp_enqueue_bulk(r, buf, burst, NULL);
			rte_ring_mc_dequeue_bulk(r, buf, burst, NULL);
		}
	}
	return brisk_get_ticks() - start;
}

struct __attribute__((aligned(64))) consumer_ctx {
	struct rte_ring *r;
	bool single;
	unsigned burst;
	uint64_t objs;
	int ready;      /* atomic */
	int go;         /* atomic */
	uint64_t end;
	uint64_t calls;
};

static int dpdk_consumer(void *arg)
{
	struct consumer_ctx *c = arg;
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t got = 0, objs = c->objs, calls = 0;
	unsigned burst = c->burst;
	bool single = c->single;
	struct rte_ring *r = c->r;

	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&c->go, __ATOMIC_ACQUIRE)) {
		rte_pause();
	}
	/* Locals: the context sits on the producer's stack, so reading it in
	 * the loop could share a cache line with the producer's spills. */
	if (single) {
		while (got < objs) {
			got += rte_ring_sc_dequeue_burst(r, buf, burst, NULL);
			calls++;
		}
	} else {
		while (got < objs) {
			got += rte_ring_mc_dequeue_burst(r, buf, burst, NULL);
			calls++;
		}
	}
	c->end = brisk_get_ticks();
	c->calls = calls;
	return 0;
}

static uint64_t dpdk_ring_2core(void *ring, bool single, unsigned burst, uint64_t objs,
				const struct env_perf_config *cfg)
{
	struct consumer_ctx c = { .r = ring, .single = single, .burst = burst, .objs = objs };
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t sent = 0, start, calls = 0;
	unsigned k;

	for (k = 0; k < burst; k++) {
		buf[k] = (void *)(uintptr_t)(k + 1);
	}
	if (rte_eal_remote_launch(dpdk_consumer, &c, cfg->consumer_core) != 0) {
		fprintf(stderr, "dpdk: cannot launch the consumer on lcore %u\n", cfg->consumer_core);
		return 0;
	}
	while (!__atomic_load_n(&c.ready, __ATOMIC_ACQUIRE)) {
		rte_pause();
	}
	start = brisk_get_ticks();
	__atomic_store_n(&c.go, 1, __ATOMIC_RELEASE);
	if (single) {
		while (sent < objs) {
			sent += rte_ring_sp_enqueue_burst(ring, buf, burst, NULL);
			calls++;
		}
	} else {
		while (sent < objs) {
			sent += rte_ring_mp_enqueue_burst(ring, buf, burst, NULL);
			calls++;
		}
	}
	rte_eal_wait_lcore(cfg->consumer_core);
	g_env_perf_ring_calls.producer = calls;
	g_env_perf_ring_calls.consumer = c.calls;
	return c.end - start;
}

static void *dpdk_mempool_create(const char *name, unsigned n, unsigned elt_size, unsigned cache_size)
{
	return rte_mempool_create(name, n, elt_size, cache_size, 0, NULL, NULL, NULL, NULL,
				  SOCKET_ID_ANY, 0);
}

static void dpdk_mempool_free(void *mp)
{
	rte_mempool_free(mp);
}

static uint64_t dpdk_mempool_loop(void *pool, unsigned bulk, uint64_t objs)
{
	struct rte_mempool *mp = pool;
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t i, iters = objs / bulk, start, failures = 0;

	start = brisk_get_ticks();
	if (bulk == 1) {
		for (i = 0; i < iters; i++) {
			failures += rte_mempool_get(mp, &buf[0]) != 0;
			rte_mempool_put(mp, buf[0]);
		}
	} else {
		for (i = 0; i < iters; i++) {
			failures += rte_mempool_get_bulk(mp, buf, bulk) != 0;
			rte_mempool_put_bulk(mp, buf, bulk);
		}
	}
	start = brisk_get_ticks() - start;
	return failures == 0 ? start : 0;
}

static uint64_t dpdk_malloc_loop(uint64_t size, unsigned batch, uint64_t objs)
{
	void *buf[ENV_PERF_MAX_BURST];
	uint64_t i, iters = objs / batch, start, failures = 0;
	unsigned k;

	start = brisk_get_ticks();
	for (i = 0; i < iters; i++) {
		for (k = 0; k < batch; k++) {
			buf[k] = rte_malloc(NULL, size, 0);
			failures += buf[k] == NULL;
		}
		for (k = 0; k < batch; k++) {
			rte_free(buf[k]);
		}
	}
	start = brisk_get_ticks() - start;
	return failures == 0 ? start : 0;
}

static const struct env_perf_ops g_dpdk_ops = {
	.name = "dpdk",
	.init = dpdk_init,
	.fini = dpdk_fini,
	.ring_create = dpdk_ring_create,
	.ring_free = dpdk_ring_free,
	.ring_1core = dpdk_ring_1core,
	.ring_2core = dpdk_ring_2core,
	.mempool_create = dpdk_mempool_create,
	.mempool_free = dpdk_mempool_free,
	.mempool_loop = dpdk_mempool_loop,
	.malloc_loop = dpdk_malloc_loop,
};

__attribute__((constructor)) static void dpdk_register(void)
{
	env_perf_register(&g_dpdk_ops);
}
