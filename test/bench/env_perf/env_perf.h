/*
 * env_perf: one function table per environment measured (Brisk always; DPDK
 * when env_perf_dpdk.c is built, which registers itself from a constructor).
 * Each hot loop lives in its backend's file so that the backend's inline fast
 * path is compiled into it; the driver (env_perf.c) only times and reports.
 * Every loop returns the ticks (brisk_get_ticks) its measured part took.
 */
#ifndef ENV_PERF_H
#define ENV_PERF_H

#include <stdbool.h>
#include <stdint.h>

#define ENV_PERF_MAX_BURST 32
#define ENV_PERF_MAX_BACKENDS 2

struct env_perf_config {
	bool no_huge;        /* both environments run without hugepages */
	uint64_t mem_mb;     /* memory each environment reserves */
	uint32_t producer_core;
	uint32_t consumer_core;
};

struct env_perf_ops {
	const char *name;
	/* Starts the environment (called after Brisk's env is up); 0 or an error. */
	int (*init)(const struct env_perf_config *cfg);
	void (*fini)(void);

	void *(*ring_create)(const char *name, unsigned count, bool single);
	void (*ring_free)(void *ring);
	/* One core: enqueue `burst` then dequeue `burst`, until objs moved. */
	uint64_t (*ring_1core)(void *ring, bool single, unsigned burst, uint64_t objs);
	/* Two cores: the caller's thread (producer core) enqueues bursts, a thread
	 * on the consumer core dequeues bursts, until objs moved. */
	uint64_t (*ring_2core)(void *ring, bool single, unsigned burst, uint64_t objs,
			       const struct env_perf_config *cfg);

	void *(*mempool_create)(const char *name, unsigned n, unsigned elt_size, unsigned cache_size);
	void (*mempool_free)(void *mp);
	/* get `bulk` then put `bulk` (single-object calls when bulk is 1), until objs. */
	uint64_t (*mempool_loop)(void *mp, unsigned bulk, uint64_t objs);

	/* Allocate `batch` blocks of size, then free them, until objs; NULL if not measured. */
	uint64_t (*malloc_loop)(uint64_t size, unsigned batch, uint64_t objs);
};

/* Calls each side of the last two-core ring run made (set by the backend):
 * with the objects moved, how often a side found the ring empty or full,
 * each such look costing a cache-line transfer of the other side's tail. */
struct env_perf_ring_calls {
	uint64_t producer;
	uint64_t consumer;
};
extern struct env_perf_ring_calls g_env_perf_ring_calls;

extern const struct env_perf_ops g_env_perf_brisk_ops;
/* Called by optional backends (from a constructor) to join the run. */
void env_perf_register(const struct env_perf_ops *ops);

#endif
