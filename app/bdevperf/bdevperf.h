/*
 * bdevperf: drives I/O at bdevs and measures it. Shared declarations of the
 * program's files:
 *   bdevperf.c      main, command line, the test run (jobs, timers, shutdown)
 *   job.c           one job: its thread, channel, tasks and I/O engine
 *   verify.c        data patterns written and checked by verify/reset
 *   stats.c         latency histogram, percentiles, the table and JSON output
 *   bdevperf_rpc.c  the perform_tests RPC (-z)
 */
#ifndef BDEVPERF_H
#define BDEVPERF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <brisk/bdev.h>
#include <brisk/thread.h>

enum bdevperf_workload {
	WORKLOAD_READ,
	WORKLOAD_WRITE,
	WORKLOAD_RANDREAD,
	WORKLOAD_RANDWRITE,
	WORKLOAD_RW,
	WORKLOAD_RANDRW,
	WORKLOAD_VERIFY,
	WORKLOAD_UNMAP,
	WORKLOAD_FLUSH,
	WORKLOAD_WRITE_ZEROES,
	WORKLOAD_RESET,
	WORKLOAD_COUNT
};

/* What one test run does (command line, possibly overridden by perform_tests). */
struct bdevperf_params {
	uint32_t queue_depth;
	uint64_t io_size;
	enum bdevperf_workload workload;
	int rw_read_pct;       /* -M: 0..100; -1 = not given */
	uint32_t time_sec;
};

/* ---- Latency histogram (stats.c) ----
 * Log-linear: values below 2^HIST_SUB_BITS have a bucket each; above, each
 * power of two is split into 2^HIST_SUB_BITS buckets, so a bucket's width is
 * at most 1/64 of its value (percentiles within ~1.6%). */
#define HIST_SUB_BITS 6
#define HIST_SUB_COUNT (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB_COUNT)

struct bdevperf_hist {
	uint64_t buckets[HIST_BUCKETS];
};

static inline uint32_t bdevperf_hist_index(uint64_t v)
{
	uint32_t msb, shift;

	if (v < HIST_SUB_COUNT) {
		return (uint32_t)v;
	}
	msb = 63u - (uint32_t)__builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return (shift + 1) * HIST_SUB_COUNT + (uint32_t)((v >> shift) & (HIST_SUB_COUNT - 1));
}

static inline void bdevperf_hist_add(struct bdevperf_hist *h, uint64_t v)
{
	h->buckets[bdevperf_hist_index(v)]++;
}

/* Results of one job (or a sum of jobs). Written by the job's thread; read by
 * the app thread once the job reported done (the message orders the writes). */
struct bdevperf_result {
	uint64_t ios;           /* completed successfully */
	uint64_t bytes;
	uint64_t failed;        /* completed with an error status or refused at submission */
	uint64_t aborted;       /* aborted by a reset (reset workload only) */
	uint64_t miscompares;
	uint64_t resets;
	int first_errno;             /* errno of the first failed I/O; 0: none failed */
	uint64_t first_error_offset; /* its byte offset on the bdev */
	uint64_t first_miscompare_offset; /* bdev byte offset of the first differing byte */
	uint64_t lat_sum;       /* ticks, successful I/O */
	uint64_t lat_min;
	uint64_t lat_max;
	uint64_t run_ticks;     /* first submission to stop */
	struct bdevperf_hist hist;
};

struct bdevperf_job;

/* ---- The test run (bdevperf.c) ---- */
extern uint64_t g_ticks_hz;
extern bool g_latency_pct;       /* -l */
extern uint64_t g_io_count; /* --io-count: I/Os per job, then it stops; 0 = no limit */
extern bool g_zcopy; /* -Z: reads and writes through brisk_bdev_zcopy_start/end */
extern uint32_t g_drain_timeout_sec; /* --drain-timeout: seconds; 0 = wait without limit */
const char *bdevperf_workload_name(enum bdevperf_workload w);
int bdevperf_workload_parse(const char *s, enum bdevperf_workload *out);
/* Checks params (messages name the flag); 0 or -EINVAL. */
int bdevperf_params_check(const struct bdevperf_params *p);
typedef void (*bdevperf_done_fn)(int rc, json_t *results, void *ctx);
/* Runs one test with params on the app thread; done gets 0 or a negative
 * errno (I/O failed, miscompare, no bdev...) and the results (owned by the
 * callee; NULL if nothing ran). -EBUSY if a test is running. */
int bdevperf_run(const struct bdevperf_params *params, bdevperf_done_fn done, void *ctx);
bool bdevperf_is_running(void);
/* True when the last run gave up on I/O that is still outstanding (its jobs
 * cannot be freed, so no other run can start); *ios (if not NULL) gets how
 * many. Cleared if they complete after all. */
bool bdevperf_io_left(uint64_t *ios);
const struct bdevperf_params *bdevperf_cmdline_params(void);
/* --json-output: writes results there (no-op without the option). */
void bdevperf_write_json_output(const json_t *results);

/* ---- Jobs (job.c) ---- */
struct bdevperf_job_info {
	const char *bdev_name;
	uint32_t core;
	uint32_t index;         /* job number, for names */
	uint64_t first_block;   /* the job's slice of the bdev */
	uint64_t num_blocks;
};
/* Opens the bdev (on the app thread) and prepares a job; NULL with a message
 * on error (*rc set). */
struct bdevperf_job *bdevperf_job_create(const struct bdevperf_job_info *info,
		const struct bdevperf_params *params, int *rc);
/* Starts its thread and I/O; started(job, rc) and later done(job, rc) run on
 * the app thread. done(job, 0): the job is gone (its thread exited); free it.
 * done(job, -ETIMEDOUT): after a stop, its I/O did not all complete within
 * --drain-timeout and the job gave up on them: its results are final (they
 * may be read), bdevperf_job_outstanding says how many I/O it left, and its
 * thread keeps the channel, tasks and buffers those I/O use, so the job must
 * not be freed. done(job, 0) follows if they complete after all. */
typedef void (*bdevperf_job_cb)(struct bdevperf_job *job, int rc);
int bdevperf_job_start(struct bdevperf_job *job, bdevperf_job_cb started, bdevperf_job_cb done);
/* Starts the I/O of a job that reported started (app thread). */
void bdevperf_job_go(struct bdevperf_job *job);
/* Asks the job to stop (from the app thread): no new I/O, wait for the I/O in
 * flight, release the channel and the thread, then done. */
void bdevperf_job_stop(struct bdevperf_job *job);
/* After done(job, 0): closes the descriptor and frees the job (app thread). */
void bdevperf_job_free(struct bdevperf_job *job);
/* Progress counters, read while the job runs (approximate). */
void bdevperf_job_progress(const struct bdevperf_job *job, uint64_t *ios, uint64_t *bytes);
const struct bdevperf_result *bdevperf_job_result(const struct bdevperf_job *job);
const char *bdevperf_job_name(const struct bdevperf_job *job);
/* After done(job, -ETIMEDOUT): I/O (and resets) the job left in flight. */
uint32_t bdevperf_job_outstanding(const struct bdevperf_job *job);
uint32_t bdevperf_job_index(const struct bdevperf_job *job);
const char *bdevperf_job_bdev_name(const struct bdevperf_job *job);
/* The bdev went away while the job ran (app thread). */
bool bdevperf_job_bdev_removed(const struct bdevperf_job *job);
uint32_t bdevperf_job_core(const struct bdevperf_job *job);

/* ---- Verify patterns (verify.c) ---- */
/* Fills buf (len bytes, a multiple of block_size) with the pattern of
 * (offset_blocks, seed): each block starts with a header naming its block
 * number and seed, then words derived from both. */
void bdevperf_pattern_fill(void *buf, uint64_t len, uint32_t block_size, uint64_t offset_blocks,
			   uint64_t seed);
/* Compares buf with the pattern; 0 if equal, else -EILSEQ, the bdev byte
 * offset of the first differing byte in *bad_offset (may be NULL) and a
 * message naming bdev, byte offset, expected and found values. */
int bdevperf_pattern_check(const char *bdev_name, const void *buf, uint64_t len, uint32_t block_size,
			   uint64_t offset_blocks, uint64_t seed, uint64_t *bad_offset);

/* ---- Statistics and output (stats.c) ---- */
void bdevperf_result_init(struct bdevperf_result *r);
void bdevperf_result_add(struct bdevperf_result *dst, const struct bdevperf_result *src);
/* Percentile p (0..100) of the histogram, in ticks (upper bound of the bucket). */
uint64_t bdevperf_hist_percentile(const struct bdevperf_hist *h, double p);
void bdevperf_print_header(FILE *f);
void bdevperf_print_row(FILE *f, const char *name, const struct bdevperf_result *r);
json_t *bdevperf_result_json(const char *name, const char *bdev, uint32_t core,
			     const struct bdevperf_params *p, const struct bdevperf_result *r);

#endif
