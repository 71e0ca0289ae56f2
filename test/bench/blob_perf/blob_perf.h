/*
 * blob_perf: blobstore benchmarks (figures, never pass/fail).
 *
 *   blob_perf.c         options, the plan of steps, bdevs, results, table, JSON
 *   blob_perf_io.c      the I/O engine: QD-deep loops on a bdev or a blob,
 *                       latency histogram
 *   blob_perf_phases.c  the phases: blob vs raw bdev, thin first writes,
 *                       metadata rates, load times
 *
 * Everything runs on the app thread of a one-core app (the store's metadata
 * thread is the I/O thread too). A phase is a list of steps in the plan; a
 * step ends by calling bp_next() (or bp_fail()).
 */
#ifndef BLOB_PERF_H
#define BLOB_PERF_H

#include <stdbool.h>
#include <stdint.h>

#include <brisk/bdev.h>
#include <brisk/blob.h>

#define BP_MAX_REPEAT 16
#define BP_MAX_QD 256
#define BP_RAW_BDEV "BpRaw"
#define BP_STORE_BDEV "BpStore"
#define BP_STORE_BASE_BDEV "BpStoreBase" /* under BpStore with --store-latency-us */

/* ---- Options ---- */
struct bp_opts {
	double secs;            /* -t: seconds of a timed run */
	uint32_t qd;            /* -q: queue depth of the I/O runs */
	uint32_t repeat;        /* -R: alternating rounds (blob vs raw), thin passes */
	uint64_t size;          /* --size: bytes of the raw bdev and of the blob compared with it */
	uint64_t cluster_sz;    /* --cluster-size */
	uint64_t io_size;       /* -o: bytes of the small I/Os (default 4 KiB) */
	uint32_t blobs;         /* -n: blobs of the metadata and load phases */
	uint32_t md_qd;         /* --md-qd: metadata operations in flight */
	uint32_t md_qd1_count;  /* blobs of the QD 1 metadata rows */
	bool phase_io, phase_thin, phase_md; /* --phases */
	uint32_t store_latency_us; /* --store-latency-us: BpStore is a delay bdev over malloc */
	int io_side;            /* --io-side: 0 both, 1 raw only, 2 blob only (for profiling) */
	const char *json_path;  /* --json-output FILE ("-" = stdout) */
	uint64_t store_size;    /* derived: bytes of the store's bdev */
	uint32_t md_pages;      /* derived: num_md_pages of the metadata store */
};
extern struct bp_opts g_bp;

/* ---- Plan ---- */
/* Runs the next step of the plan (from a message, so steps never nest). */
void bp_next(void);
/* Reports what failed (rc a negative errno, or 0 when there is none) and
 * tears down: blob closed, channels freed, store unloaded, app stopped with 1. */
void bp_fail(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* stderr line "blob_perf: ..." for long phases. */
void bp_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
double bp_now_s(void);

/* What the phases share: the store, one open blob, the app thread's
 * channels, the raw bdev. Teardown releases whatever is set. */
struct bp_state {
	struct brisk_blob_store *bs;
	struct brisk_blob *blob;
	brisk_blob_id blob_id;
	struct brisk_io_channel *bs_ch;
	struct brisk_bdev_desc *raw_desc;
	struct brisk_io_channel *raw_ch;
};
extern struct bp_state g_st;

void bp_bdev_event_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx);
/* Store steps shared by the phases (each ends with bp_next or bp_fail). */
void bp_store_init(const struct brisk_bs_opts *opts);
void bp_store_unload(void);
void bp_blob_open(void);
void bp_blob_close(void);
void bp_blob_delete(void);

/* ---- Latency histogram: 16 buckets per power of two (6% resolution) ---- */
#define BP_HIST_SUB_BITS 4
#define BP_HIST_SUB (1u << BP_HIST_SUB_BITS)
#define BP_HIST_BUCKETS (64 * BP_HIST_SUB)
struct bp_hist {
	uint64_t count, sum, min, max; /* ticks */
	uint64_t bucket[BP_HIST_BUCKETS];
};
void bp_hist_reset(struct bp_hist *h);
void bp_hist_add(struct bp_hist *h, uint64_t ticks);
/* Microseconds at fraction q (0..1) of the samples; 0 when empty. */
double bp_hist_us(const struct bp_hist *h, double q);

/* ---- I/O engine ---- */
struct bp_target {
	const char *label;
	struct brisk_bdev_desc *desc; /* bdev target: desc + its channel */
	struct brisk_blob *blob;      /* blob target: blob + store channel */
	struct brisk_io_channel *ch;
	uint64_t units;               /* length in io units */
	uint32_t unit_size;           /* bytes */
};

struct bp_job {
	/* What to run */
	struct bp_target *target;
	bool write;
	uint64_t io_units;     /* per I/O */
	uint32_t qd;
	bool random;           /* uniform over the target, io_units aligned */
	uint64_t stride;       /* not random: I/O k goes to (k % positions) * stride */
	uint64_t positions;
	uint64_t max_ios;      /* 0: no limit */
	double secs;           /* 0: no limit (then max_ios is required) */
	bool latency;          /* per-I/O latency into hist */
	const char *progress;  /* non-NULL: a progress line every second */
	void (*done)(struct bp_job *job);
	/* Results (added to, so a job run again accumulates; bp_job_reset clears) */
	uint64_t ios;
	uint64_t bytes;
	uint64_t ticks;        /* first submission to last completion */
	struct bp_hist hist;
	int rc;                /* first error, 0 if none */
};
void bp_job_reset(struct bp_job *job);
/* Runs job; job->done(job) is called once everything completed (rc in job->rc). */
void bp_job_run(struct bp_job *job);
double bp_job_secs(const struct bp_job *job);

/* ---- Results ---- */
struct bp_row {
	char id[48];          /* stable key for scripts: "thin_first_small_qd1" ... */
	const char *section;  /* "io", "thin", "md", "load" */
	char name[96];
	uint64_t ops;
	double secs;
	uint64_t bytes;
	bool has_lat;
	double avg_us, p50_us, p99_us, max_us;
	/* section "io": the comparison */
	uint32_t runs;
	double raw_iops[BP_MAX_REPEAT], blob_iops[BP_MAX_REPEAT];
	/* extra facts (load rows: blobs found, recovered) */
	int64_t blobs_found;
	int recovered;        /* -1: not a load */
};
struct bp_row *bp_row_add(const char *section, const char *id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Fills ops/secs/bytes/latency of row from a finished job. */
void bp_row_from_job(struct bp_row *row, const struct bp_job *job);

/* ---- Phases (blob_perf_phases.c): their steps for the plan ---- */
struct bp_step {
	const char *phase; /* "setup", "io", "thin", "md" */
	const char *name;
	void (*fn)(void);
};
extern const struct bp_step g_bp_io_steps[];
extern const struct bp_step g_bp_thin_steps[];
extern const struct bp_step g_bp_md_steps[];
extern const unsigned g_bp_io_nsteps, g_bp_thin_nsteps, g_bp_md_nsteps;

#endif
