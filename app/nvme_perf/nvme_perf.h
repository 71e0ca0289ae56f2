/*
 * nvme_perf: the NVMe driver's own benchmark (SPDK's spdk_nvme_perf, in
 * Brisk). Shared by its files:
 *   nvme_perf.c   command line, controllers and namespaces, progress, exit status
 *   perf_worker.c one pinned pthread per core: a qpair per namespace, the I/O loop
 *   perf_stats.c  latency histogram, percentiles, the final table
 * No reactor: each worker polls its own qpairs in a plain loop.
 */
#ifndef NVME_PERF_H
#define NVME_PERF_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <brisk/nvme.h>

#define PERF_MAX_NS 64
#define PERF_MAX_WORKERS 128
/* Latency histogram: exact below 128 ticks, then 64 buckets per power of two. */
#define PERF_HIST_SUB_BITS 6
#define PERF_HIST_BUCKETS (128 + (64 - 7) * 64)

struct perf_config {
	int queue_depth;
	uint32_t io_size;
	bool random;
	int read_pct;          /* 100 read, 0 write */
	uint32_t seconds;
	bool latency;          /* -L: percentiles */
	const char *core_mask;
	bool no_huge;
	uint64_t mem_mb;
	int shm_id;            /* -i: -1, or shared with other processes of that id */
};

/* A namespace under test. */
struct perf_ns {
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;
	char name[320];        /* "PCIE (0000:00:04.0) NSID 1" */
	uint64_t io_count;     /* I/Os of io_size that fit */
	uint32_t blocks_per_io;
};

struct perf_stats {
	uint64_t ios;          /* completed successfully */
	uint64_t errors;
	uint64_t total_ticks;
	uint64_t min_ticks;
	uint64_t max_ticks;
	uint64_t *hist;        /* PERF_HIST_BUCKETS, with -L */
};

/* One namespace as one worker drives it. */
struct perf_ns_worker {
	struct perf_ns *pns;
	struct brisk_nvme_qpair *qpair;
	uint64_t seq_next;     /* next sequential I/O index */
	uint32_t outstanding;
	struct perf_stats stats;
	uint64_t progress_ios; /* read by the main thread each second */
};

struct perf_worker {
	uint32_t core;
	pthread_t tid;
	int num_ns;
	struct perf_ns_worker nsw[PERF_MAX_NS];
	uint64_t rng;
	int rc;                /* 0, or the first fatal error */
};

extern struct perf_config g_cfg;
extern volatile bool g_perf_stop;

/* perf_worker.c */
int perf_worker_setup(struct perf_worker *w, struct perf_ns *ns, int num_ns);
void *perf_worker_run(void *arg);
void perf_worker_cleanup(struct perf_worker *w);

/* perf_stats.c */
void perf_stats_init(struct perf_stats *s, bool hist);
void perf_stats_record(struct perf_stats *s, uint64_t ticks);
void perf_stats_free(struct perf_stats *s);
void perf_print_results(struct perf_worker *workers, int num_workers, uint64_t elapsed_ticks);

#endif
