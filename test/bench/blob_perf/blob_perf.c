/*
 * blob_perf: blobstore benchmarks on malloc bdevs, one core, one run:
 *
 *   io    4 KiB randread and randwrite at QD 32 on a thick blob (a store on
 *         malloc bdev BpStore, blob I/O through brisk_bdev_create_bs_dev_ext)
 *         and on malloc bdev BpRaw of the blob's size (brisk_bdev_*_blocks),
 *         runs alternating, best of -R; prints both IOPS and the overhead.
 *   thin  first writes to a thin blob (each allocates a cluster) against
 *         writes to the same, now allocated, clusters: small writes and
 *         whole-cluster writes, QD 1 (per-cluster latency) and QD -q.
 *   md    -n blobs created per second (brisk_bs_create_blob_ext: create,
 *         sync, close), unload, load of the store with -n blobs clean (after
 *         the unload) and dirty (an image of the device taken before the
 *         unload, written back), blobs opened+closed and deleted per second;
 *         then create and delete at QD 1.
 *
 * Prints a table; --json-output FILE writes the same figures as JSON. Figures
 * only: the exit status says whether the benchmark ran, not how fast.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <brisk/blob_bdev.h>
#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/string.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "blob_perf.h"

#define BP_MAX_ROWS 64
#define BP_MAX_STEPS 96
#define MIB (1024.0 * 1024.0)

struct bp_opts g_bp = {
	.secs = 5.0,
	.qd = 32,
	.repeat = 3,
	.size = 256ull << 20,
	.cluster_sz = 1ull << 20,
	.io_size = 4096,
	.blobs = 10000,
	.md_qd = 32,
	.md_qd1_count = 1000,
	.phase_io = true, .phase_thin = true, .phase_md = true,
};
struct bp_state g_st;

static struct bp_row g_rows[BP_MAX_ROWS];
static unsigned g_nrows;
static struct bp_step g_plan[BP_MAX_STEPS];
static unsigned g_plan_len, g_plan_pos;
static const struct bp_step *g_cur;
static int g_rc;
static bool g_tearing_down;
static uint64_t g_start_tsc;
static char g_date[32];

/* ---- Small helpers ---- */

double bp_now_s(void)
{
	return (double)(brisk_get_ticks() - g_start_tsc) / (double)brisk_get_ticks_hz();
}

void bp_progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "blob_perf [%6.1f s] ", bp_now_s());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void bp_bdev_event_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)type; (void)bdev; (void)ctx;
}

struct bp_row *bp_row_add(const char *section, const char *id, const char *fmt, ...)
{
	struct bp_row *r;
	va_list ap;

	if (g_nrows == BP_MAX_ROWS) {
		fprintf(stderr, "blob_perf: more than %d result rows\n", BP_MAX_ROWS);
		abort(); /* a programming error of this benchmark */
	}
	r = &g_rows[g_nrows++];
	memset(r, 0, sizeof(*r));
	r->section = section;
	r->recovered = -1;
	r->blobs_found = -1;
	brisk_strlcpy(r->id, id, sizeof(r->id));
	va_start(ap, fmt);
	vsnprintf(r->name, sizeof(r->name), fmt, ap);
	va_end(ap);
	return r;
}

void bp_row_from_job(struct bp_row *row, const struct bp_job *job)
{
	row->ops = job->ios;
	row->secs = bp_job_secs(job);
	row->bytes = job->bytes;
	if (job->latency && job->hist.count > 0) {
		row->has_lat = true;
		row->avg_us = (double)job->hist.sum / (double)job->hist.count * 1e6 /
			      (double)brisk_get_ticks_hz();
		row->p50_us = bp_hist_us(&job->hist, 0.50);
		row->p99_us = bp_hist_us(&job->hist, 0.99);
		row->max_us = (double)job->hist.max * 1e6 / (double)brisk_get_ticks_hz();
	}
}

/* ---- Plan ---- */

static void teardown(void);

static void plan_run_msg(void *ctx)
{
	(void)ctx;
	if (g_plan_pos == g_plan_len) {
		g_cur = NULL;
		teardown();
		return;
	}
	g_cur = &g_plan[g_plan_pos++];
	g_cur->fn();
}

void bp_next(void)
{
	if (brisk_thread_send_msg(brisk_get_thread(), plan_run_msg, NULL) != 0) {
		plan_run_msg(NULL);
	}
}

void bp_fail(int rc, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "blob_perf: %s%s", g_cur != NULL ? g_cur->name : "", g_cur != NULL ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (rc != 0) {
		fprintf(stderr, ": %s", strerror(-rc));
	}
	fputc('\n', stderr);
	g_rc = 1;
	if (!g_tearing_down) {
		teardown();
	}
}

static void plan_add(const struct bp_step *steps, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (g_plan_len == BP_MAX_STEPS) {
			fprintf(stderr, "blob_perf: plan too long\n");
			abort();
		}
		g_plan[g_plan_len++] = steps[i];
	}
}

/* ---- Shared store steps ---- */

static void store_init_done(void *ctx, struct brisk_blob_store *bs, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_bs_init on %s", BP_STORE_BDEV);
		return;
	}
	g_st.bs = bs;
	g_st.bs_ch = brisk_bs_alloc_io_channel(bs);
	if (g_st.bs_ch == NULL) {
		bp_fail(-ENOMEM, "brisk_bs_alloc_io_channel");
		return;
	}
	bp_next();
}

void bp_store_init(const struct brisk_bs_opts *opts)
{
	struct brisk_bs_dev *dev;
	int rc;

	rc = brisk_bdev_create_bs_dev_ext(BP_STORE_BDEV, bp_bdev_event_cb, NULL, &dev);
	if (rc != 0) {
		bp_fail(rc, "brisk_bdev_create_bs_dev_ext(%s)", BP_STORE_BDEV);
		return;
	}
	brisk_bs_init(dev, opts, store_init_done, NULL);
}

static void store_unload_done(void *ctx, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_bs_unload");
		return;
	}
	g_st.bs = NULL;
	bp_next();
}

void bp_store_unload(void)
{
	if (g_st.bs_ch != NULL) {
		brisk_bs_free_io_channel(g_st.bs_ch);
		g_st.bs_ch = NULL;
	}
	brisk_bs_unload(g_st.bs, store_unload_done, NULL);
}

static void blob_open_done(void *ctx, struct brisk_blob *blob, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_bs_open_blob 0x%llx", (unsigned long long)g_st.blob_id);
		return;
	}
	g_st.blob = blob;
	bp_next();
}

void bp_blob_open(void)
{
	brisk_bs_open_blob(g_st.bs, g_st.blob_id, blob_open_done, NULL);
}

static void blob_close_done(void *ctx, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_blob_close");
		return;
	}
	bp_next();
}

void bp_blob_close(void)
{
	struct brisk_blob *b = g_st.blob;

	g_st.blob = NULL;
	brisk_blob_close(b, blob_close_done, NULL);
}

static void blob_delete_done(void *ctx, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_bs_delete_blob");
		return;
	}
	g_st.blob_id = BRISK_BLOBID_INVALID;
	bp_next();
}

void bp_blob_delete(void)
{
	brisk_bs_delete_blob(g_st.bs, g_st.blob_id, blob_delete_done, NULL);
}

/* ---- Setup: the malloc bdevs ---- */

static const char *g_mk_name;

static void malloc_created(void *ctx, int error_code, const char *error_message, const json_t *result)
{
	(void)ctx; (void)result;
	if (error_code != 0) {
		bp_fail(0, "bdev_malloc_create %s: %s (raise -s?)", g_mk_name,
			error_message != NULL ? error_message : "failed");
		return;
	}
	bp_next();
}

static void create_malloc(const char *name, uint64_t bytes)
{
	json_t *params = json_pack("{s:s, s:I, s:i}", "name", name, "num_blocks",
				   (json_int_t)(bytes / 4096), "block_size", 4096);
	int rc;

	g_mk_name = name;
	if (params == NULL) {
		bp_fail(-ENOMEM, "bdev_malloc_create params");
		return;
	}
	rc = brisk_rpc_call_local("bdev_malloc_create", params, malloc_created, NULL);
	json_decref(params);
	if (rc != 0) {
		bp_fail(rc, "bdev_malloc_create %s", name);
	}
}

static void setup_raw_bdev(void)
{
	create_malloc(BP_RAW_BDEV, g_bp.size);
}

static void setup_store_bdev(void)
{
	bp_progress("store bdev %s: %.0f MiB%s%s", BP_STORE_BDEV, (double)g_bp.store_size / MIB,
		    g_bp.phase_io ? ", raw bdev " BP_RAW_BDEV " as large as the blob" : "",
		    g_bp.store_latency_us ? ", a delay bdev over malloc bdev " BP_STORE_BASE_BDEV : "");
	create_malloc(g_bp.store_latency_us ? BP_STORE_BASE_BDEV : BP_STORE_BDEV, g_bp.store_size);
}

static void delay_created(void *ctx, int error_code, const char *error_message, const json_t *result)
{
	(void)ctx; (void)result;
	if (error_code != 0) {
		bp_fail(0, "bdev_delay_create %s: %s", BP_STORE_BDEV, error_message != NULL ? error_message : "failed");
		return;
	}
	bp_next();
}

/* Every read and write of BpStore waits store_latency_us (avg = p99). */
static void setup_store_delay(void)
{
	json_int_t us = g_bp.store_latency_us;
	json_t *params;
	int rc;

	if (us == 0) {
		bp_next();
		return;
	}
	params = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "base_bdev_name", BP_STORE_BASE_BDEV, "name",
			   BP_STORE_BDEV, "avg_read_latency", us, "p99_read_latency", us, "avg_write_latency", us,
			   "p99_write_latency", us);
	if (params == NULL) {
		bp_fail(-ENOMEM, "bdev_delay_create params");
		return;
	}
	rc = brisk_rpc_call_local("bdev_delay_create", params, delay_created, NULL);
	json_decref(params);
	if (rc != 0) {
		bp_fail(rc, "bdev_delay_create %s", BP_STORE_BDEV);
	}
}

/* ---- Teardown (end of the plan, or a failure) ---- */

static void print_results(void);
static int write_json(void);

static void teardown_blob_closed(void *ctx, int bserrno)
{
	(void)ctx; (void)bserrno;
	teardown();
}

static void teardown_unloaded(void *ctx, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		fprintf(stderr, "blob_perf: unload at teardown: %s\n", strerror(-bserrno));
		g_rc = 1;
	}
	g_st.bs = NULL;
	teardown();
}

static void teardown(void)
{
	struct brisk_blob *b;

	g_tearing_down = true;
	if (g_st.blob != NULL) {
		b = g_st.blob;
		g_st.blob = NULL;
		brisk_blob_close(b, teardown_blob_closed, NULL);
		return;
	}
	if (g_st.bs_ch != NULL) {
		brisk_bs_free_io_channel(g_st.bs_ch);
		g_st.bs_ch = NULL;
	}
	if (g_st.bs != NULL) {
		brisk_bs_unload(g_st.bs, teardown_unloaded, NULL);
		return;
	}
	if (g_st.raw_ch != NULL) {
		brisk_put_io_channel(g_st.raw_ch);
		g_st.raw_ch = NULL;
	}
	if (g_st.raw_desc != NULL) {
		brisk_bdev_close(g_st.raw_desc);
		g_st.raw_desc = NULL;
	}
	if (g_rc == 0) {
		print_results();
		if (write_json() != 0) {
			g_rc = 1;
		}
	}
	brisk_app_stop(g_rc);
}

/* ---- Output ---- */

static double row_ops_per_s(const struct bp_row *r)
{
	return r->secs > 0 ? (double)r->ops / r->secs : 0.0;
}

static double best(const double *v, uint32_t n)
{
	double b = 0;

	for (uint32_t i = 0; i < n; i++) {
		b = v[i] > b ? v[i] : b;
	}
	return b;
}

static double worst(const double *v, uint32_t n)
{
	double w = n > 0 ? v[0] : 0;

	for (uint32_t i = 1; i < n; i++) {
		w = v[i] < w ? v[i] : w;
	}
	return w;
}

static double row_overhead_pct(const struct bp_row *r)
{
	double raw = best(r->raw_iops, r->runs), blob = best(r->blob_iops, r->runs);

	return raw > 0 ? (raw - blob) / raw * 100.0 : 0.0;
}

/* Median over the rounds of (raw - blob) / raw, each round's two runs taken
 * back to back: steadier than best-of when the machine's speed drifts. */
static double row_paired_median_pct(const struct bp_row *r)
{
	double v[BP_MAX_REPEAT], t;
	uint32_t n = 0, i, j;

	for (i = 0; i < r->runs; i++) {
		if (r->raw_iops[i] > 0) {
			v[n++] = (r->raw_iops[i] - r->blob_iops[i]) / r->raw_iops[i] * 100.0;
		}
	}
	for (i = 1; i < n; i++) {
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	}
	if (n == 0) {
		return 0.0;
	}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void print_results(void)
{
	const struct bp_row *r;
	unsigned i;

	printf("\nblob_perf %s, malloc bdevs, one core, %.1f s a timed run\n", g_date, g_bp.secs);
	if (g_bp.phase_io) {
		printf("\n== Blob I/O vs the raw bdev: %llu B random, QD %u, %.0f MiB, best of %u alternating runs\n",
		       (unsigned long long)g_bp.io_size, g_bp.qd, (double)g_bp.size / MIB, g_bp.repeat);
		printf("%-12s %12s %23s %12s %23s %9s %9s\n", "workload", "raw IOPS", "(raw range)", "blob IOPS",
		       "(blob range)", "overhead", "(median)");
		for (i = 0; i < g_nrows; i++) {
			r = &g_rows[i];
			if (strcmp(r->section, "io") != 0) {
				continue;
			}
			printf("%-12s %12.0f %11.0f-%-11.0f %12.0f %11.0f-%-11.0f %8.1f%% %8.1f%%\n", r->name,
			       best(r->raw_iops, r->runs), worst(r->raw_iops, r->runs), best(r->raw_iops, r->runs),
			       best(r->blob_iops, r->runs), worst(r->blob_iops, r->runs),
			       best(r->blob_iops, r->runs), row_overhead_pct(r), row_paired_median_pct(r));
		}
		printf("overhead = (best raw - best blob) / best raw; median = median over the rounds of\n"
		       "(raw - blob) / raw of each round's back-to-back pair\n");
	}
	if (g_bp.phase_thin) {
		printf("\n== Thin blob: first writes (each allocates a %.0f KiB cluster) vs writes to allocated clusters\n",
		       (double)g_bp.cluster_sz / 1024.0);
		printf("%-44s %9s %11s %9s %9s %9s %9s\n", "run", "writes", "writes/s", "MiB/s", "avg us",
		       "p50 us", "p99 us");
		for (i = 0; i < g_nrows; i++) {
			r = &g_rows[i];
			if (strcmp(r->section, "thin") != 0) {
				continue;
			}
			printf("%-44s %9llu %11.0f %9.1f %9.1f %9.1f %9.1f\n", r->name, (unsigned long long)r->ops,
			       row_ops_per_s(r), r->secs > 0 ? (double)r->bytes / MIB / r->secs : 0.0, r->avg_us,
			       r->p50_us, r->p99_us);
		}
	}
	if (g_bp.phase_md) {
		printf("\n== Metadata: a store with %u blobs (num_md_pages %u)", g_bp.blobs, g_bp.md_pages);
		if (g_bp.store_latency_us) {
			printf(", every store read and write delayed %u us", g_bp.store_latency_us);
		}
		printf("\n");
		printf("%-52s %9s %11s %10s %10s\n", "operation", "ops", "ops/s", "us/op", "seconds");
		for (i = 0; i < g_nrows; i++) {
			r = &g_rows[i];
			if (strcmp(r->section, "md") != 0) {
				continue;
			}
			printf("%-52s %9llu %11.0f %10.1f %10.3f\n", r->name, (unsigned long long)r->ops,
			       row_ops_per_s(r), r->ops > 0 ? r->secs * 1e6 / (double)r->ops : 0.0, r->secs);
		}
		printf("\n%-52s %9s %10s %10s\n", "load / unload", "blobs", "recovered", "ms");
		for (i = 0; i < g_nrows; i++) {
			r = &g_rows[i];
			if (strcmp(r->section, "load") != 0) {
				continue;
			}
			printf("%-52s %9lld %10s %10.3f\n", r->name, (long long)r->blobs_found,
			       r->recovered < 0 ? "-" : r->recovered ? "yes" : "no", r->secs * 1e3);
		}
	}
	fflush(stdout);
}

static json_t *runs_json(const double *v, uint32_t n)
{
	json_t *a = json_array();

	for (uint32_t i = 0; a != NULL && i < n; i++) {
		json_array_append_new(a, json_real(v[i]));
	}
	return a;
}

static json_t *row_json(const struct bp_row *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "id", r->id, "section", r->section, "name", r->name);

	if (o == NULL) {
		return NULL;
	}
	if (strcmp(r->section, "io") == 0) {
		json_object_set_new(o, "raw_iops", json_real(best(r->raw_iops, r->runs)));
		json_object_set_new(o, "blob_iops", json_real(best(r->blob_iops, r->runs)));
		json_object_set_new(o, "overhead_pct", json_real(row_overhead_pct(r)));
		json_object_set_new(o, "overhead_median_pct", json_real(row_paired_median_pct(r)));
		json_object_set_new(o, "raw_iops_runs", runs_json(r->raw_iops, r->runs));
		json_object_set_new(o, "blob_iops_runs", runs_json(r->blob_iops, r->runs));
		return o;
	}
	json_object_set_new(o, "ops", json_integer((json_int_t)r->ops));
	json_object_set_new(o, "seconds", json_real(r->secs));
	json_object_set_new(o, "ops_per_s", json_real(row_ops_per_s(r)));
	if (r->bytes > 0) {
		json_object_set_new(o, "mib_per_s", json_real(r->secs > 0 ? (double)r->bytes / MIB / r->secs : 0.0));
	}
	if (r->has_lat) {
		json_object_set_new(o, "avg_us", json_real(r->avg_us));
		json_object_set_new(o, "p50_us", json_real(r->p50_us));
		json_object_set_new(o, "p99_us", json_real(r->p99_us));
		json_object_set_new(o, "max_us", json_real(r->max_us));
	}
	if (r->blobs_found >= 0) {
		json_object_set_new(o, "blobs", json_integer(r->blobs_found));
	}
	if (r->recovered >= 0) {
		json_object_set_new(o, "recovered", json_boolean(r->recovered));
	}
	return o;
}

static int write_json(void)
{
	json_t *root, *rows;
	int rc;

	if (g_bp.json_path == NULL) {
		return 0;
	}
	rows = json_array();
	root = json_pack("{s:s, s:s, s:{s:f, s:i, s:i, s:I, s:I, s:I, s:i, s:i, s:I, s:i, s:i}, s:o}",
			 "program", "blob_perf", "date", g_date, "options",
			 "seconds", g_bp.secs, "qd", (int)g_bp.qd, "repeat", (int)g_bp.repeat,
			 "size", (json_int_t)g_bp.size, "cluster_size", (json_int_t)g_bp.cluster_sz,
			 "io_size", (json_int_t)g_bp.io_size, "blobs", (int)g_bp.blobs, "md_qd", (int)g_bp.md_qd,
			 "store_size", (json_int_t)g_bp.store_size, "num_md_pages", (int)g_bp.md_pages,
			 "store_latency_us", (int)g_bp.store_latency_us,
			 "rows", rows);
	if (root == NULL) {
		fprintf(stderr, "blob_perf: out of memory building JSON\n");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < g_nrows; i++) {
		json_array_append_new(rows, row_json(&g_rows[i]));
	}
	if (strcmp(g_bp.json_path, "-") == 0) {
		rc = json_dumpf(root, stdout, JSON_INDENT(1));
		fputc('\n', stdout);
	} else {
		rc = json_dump_file(root, g_bp.json_path, JSON_INDENT(1));
	}
	json_decref(root);
	if (rc != 0) {
		fprintf(stderr, "blob_perf: cannot write %s\n", g_bp.json_path);
		return -EIO;
	}
	return 0;
}

/* ---- Start ---- */

static const struct bp_step g_setup_steps[] = {
	{ "setup", "create raw bdev", setup_raw_bdev },
};
static const struct bp_step g_store_bdev_step[] = {
	{ "setup", "create store bdev", setup_store_bdev },
	{ "setup", "create store delay bdev", setup_store_delay },
};

static void start(void *ctx)
{
	(void)ctx;
	g_start_tsc = brisk_get_ticks();
	if (g_bp.phase_io) {
		plan_add(g_setup_steps, 1);
	}
	plan_add(g_store_bdev_step, 2);
	if (g_bp.phase_io) {
		plan_add(g_bp_io_steps, g_bp_io_nsteps);
	}
	if (g_bp.phase_thin) {
		plan_add(g_bp_thin_steps, g_bp_thin_nsteps);
	}
	if (g_bp.phase_md) {
		plan_add(g_bp_md_steps, g_bp_md_nsteps);
	}
	bp_next();
}

/* ---- Options ---- */

enum {
	OPT_SIZE = BRISK_APP_OPT_USER_BASE,
	OPT_CLUSTER,
	OPT_MD_QD,
	OPT_MD_QD1,
	OPT_PHASES,
	OPT_JSON,
	OPT_IO_SIDE,
	OPT_STORE_LAT,
};

static const struct option g_long_opts[] = {
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "cluster-size", required_argument, NULL, OPT_CLUSTER },
	{ "md-qd", required_argument, NULL, OPT_MD_QD },
	{ "md-qd1-count", required_argument, NULL, OPT_MD_QD1 },
	{ "phases", required_argument, NULL, OPT_PHASES },
	{ "json-output", required_argument, NULL, OPT_JSON },
	{ "io-side", required_argument, NULL, OPT_IO_SIDE },
	{ "store-latency-us", required_argument, NULL, OPT_STORE_LAT },
	{ NULL, 0, NULL, 0 },
};

static void usage(void)
{
	printf("\nblob_perf: blobstore benchmarks on malloc bdevs (figures, never pass/fail)\n"
	       " -t SECS             seconds of each timed run (default %.0f)\n"
	       " -q DEPTH            queue depth of the I/O runs (1..%d, default %u)\n"
	       " -R N                alternating blob/raw rounds, best kept; thin passes (1..%d, default %u)\n"
	       " -o BYTES            small I/O size (multiple of 4k, default %llu)\n"
	       " -n BLOBS            blobs of the metadata and load phases (default %u)\n"
	       " --size BYTES        raw bdev and compared blob (k/m/g suffixes; default %lluM)\n"
	       " --cluster-size BYTES  blobstore cluster size (default %lluk)\n"
	       " --md-qd N           metadata operations in flight (1..%d, default %u)\n"
	       " --md-qd1-count N    blobs of the QD 1 create/delete rows (default %u)\n"
	       " --phases LIST       comma list of io,thin,md (default all)\n"
	       " --io-side SIDE      io phase: both (default), raw or blob only (to profile one side)\n"
	       " --store-latency-us US  md phase only: the store's bdev is a delay bdev adding US\n"
	       "                     to every read and write (a device slower than RAM)\n"
	       " --json-output FILE  also write the results as JSON (- = stdout; --json is\n"
	       "                     the framework's alias of -c, as in bdevperf)\n"
	       " Memory (-s) defaults to what the bdevs need.\n",
	       g_bp.secs, BP_MAX_QD, g_bp.qd, BP_MAX_REPEAT, g_bp.repeat, (unsigned long long)g_bp.io_size,
	       g_bp.blobs, (unsigned long long)(g_bp.size >> 20), (unsigned long long)(g_bp.cluster_sz >> 10),
	       BP_MAX_QD, g_bp.md_qd, g_bp.md_qd1_count);
}

static int parse_phases(char *arg)
{
	char *save = NULL, *tok;

	g_bp.phase_io = g_bp.phase_thin = g_bp.phase_md = false;
	for (tok = strtok_r(arg, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "io") == 0) {
			g_bp.phase_io = true;
		} else if (strcmp(tok, "thin") == 0) {
			g_bp.phase_thin = true;
		} else if (strcmp(tok, "md") == 0) {
			g_bp.phase_md = true;
		} else {
			fprintf(stderr, "blob_perf: --phases: unknown phase '%s' (io, thin, md)\n", tok);
			return -EINVAL;
		}
	}
	if (!g_bp.phase_io && !g_bp.phase_thin && !g_bp.phase_md) {
		fprintf(stderr, "blob_perf: --phases: no phase given\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_u32_range(const char *what, const char *arg, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint32_t v;

	if (brisk_parse_u32(arg, 10, &v) != 0 || v < lo || v > hi) {
		fprintf(stderr, "blob_perf: %s must be %u..%u, not '%s'\n", what, lo, hi, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_size(const char *what, const char *arg, uint64_t *out)
{
	uint64_t v;

	if (brisk_parse_capacity(arg, &v, NULL) != 0 || v == 0 || v % 4096 != 0) {
		fprintf(stderr, "blob_perf: %s must be a positive multiple of 4 KiB, not '%s'\n", what, arg);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_arg(int ch, char *arg)
{
	char *end;

	switch (ch) {
	case 't':
		g_bp.secs = strtod(arg, &end);
		if (*end != '\0' || !(g_bp.secs > 0 && g_bp.secs <= 3600)) {
			fprintf(stderr, "blob_perf: -t must be seconds in (0, 3600], not '%s'\n", arg);
			return -EINVAL;
		}
		return 0;
	case 'q':
		return parse_u32_range("-q", arg, 1, BP_MAX_QD, &g_bp.qd);
	case 'R':
		return parse_u32_range("-R", arg, 1, BP_MAX_REPEAT, &g_bp.repeat);
	case 'o':
		return parse_size("-o", arg, &g_bp.io_size);
	case 'n':
		return parse_u32_range("-n", arg, 1, 1000000, &g_bp.blobs);
	case OPT_SIZE:
		return parse_size("--size", arg, &g_bp.size);
	case OPT_CLUSTER:
		return parse_size("--cluster-size", arg, &g_bp.cluster_sz);
	case OPT_MD_QD:
		return parse_u32_range("--md-qd", arg, 1, BP_MAX_QD, &g_bp.md_qd);
	case OPT_MD_QD1:
		return parse_u32_range("--md-qd1-count", arg, 1, 1000000, &g_bp.md_qd1_count);
	case OPT_PHASES:
		return parse_phases(arg);
	case OPT_JSON:
		g_bp.json_path = arg;
		return 0;
	case OPT_STORE_LAT:
		return parse_u32_range("--store-latency-us", arg, 0, 1000000, &g_bp.store_latency_us);
	case OPT_IO_SIDE:
		if (strcmp(arg, "both") == 0 || strcmp(arg, "raw") == 0 || strcmp(arg, "blob") == 0) {
			g_bp.io_side = arg[0] == 'b' && arg[1] == 'o' ? 0 : arg[0] == 'r' ? 1 : 2;
			return 0;
		}
		fprintf(stderr, "blob_perf: --io-side must be both, raw or blob\n");
		return -EINVAL;
	default:
		return -EINVAL;
	}
}

/* Sizes the store bdev: the compared blob (plus room for the store's own
 * metadata) and the metadata region of the md phase; and the memory. */
static int derive_sizes(struct brisk_app_opts *opts)
{
	uint64_t md_bytes, need, slack = 32ull << 20;

	if (g_bp.store_latency_us != 0 && (g_bp.phase_io || g_bp.phase_thin)) {
		fprintf(stderr, "blob_perf: --store-latency-us goes with --phases md only\n");
		return -EINVAL;
	}
	if (g_bp.io_size > g_bp.cluster_sz || g_bp.cluster_sz % g_bp.io_size != 0 ||
	    g_bp.size % g_bp.cluster_sz != 0) {
		fprintf(stderr, "blob_perf: -o must divide --cluster-size, which must divide --size\n");
		return -EINVAL;
	}
	/* doc/blobstore_format.md "Limits": num_md_pages / 4 blob ids; the
	 * 64 extra pages are chain pages beyond one per blob. */
	g_bp.md_pages = 4 * g_bp.blobs + 64;
	md_bytes = (uint64_t)g_bp.md_pages * 4096;
	need = g_bp.phase_md ? md_bytes + (16ull << 20) : 0;
	need = need > g_bp.size ? need : g_bp.size;
	g_bp.store_size = (need + slack + g_bp.cluster_sz - 1) / g_bp.cluster_sz * g_bp.cluster_sz;
	if (opts->mem_size_mb == 0) {
		/* bdevs + I/O buffers (whole-cluster writes at QD -q) + heap slack */
		opts->mem_size_mb = (g_bp.store_size + (g_bp.phase_io ? g_bp.size : 0) +
				     (uint64_t)g_bp.qd * g_bp.cluster_sz) / (1u << 20) + 256;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct brisk_app_opts opts;
	time_t now = time(NULL);
	int rc;

	strftime(g_date, sizeof(g_date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	brisk_app_opts_init(&opts);
	opts.name = "blob_perf";
	opts.rpc_addr = NULL;
	opts.mem_size_mb = 0;
	switch (brisk_app_parse_args(argc, argv, &opts, "t:q:R:o:n:", g_long_opts, parse_arg, usage)) {
	case BRISK_APP_PARSE_ARGS_SUCCESS:
		break;
	case BRISK_APP_PARSE_ARGS_HELP:
		return 0;
	default:
		return 1;
	}
	if (derive_sizes(&opts) != 0) {
		return 1;
	}
	rc = brisk_app_start(&opts, start, NULL);
	return rc == 0 ? 0 : 1;
}
