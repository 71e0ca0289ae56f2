/*
 * bdevperf: runs I/O against bdevs and reports IOPS, bandwidth and latency.
 *
 *   bdevperf -c bdevs.json -q 128 -o 4k -w randread -t 10 [-m 0x3] [-T Malloc0] [-l]
 *   bdevperf -z ...        waits for the perform_tests RPC (bdevs made over RPC)
 *
 * One job per core of the cpumask per bdev, each on its own brisk_thread
 * pinned to its core. A test run, on the app thread, in order:
 *   run_begin     wait for examine, so stacked bdevs are in place
 *   run_create    a job per (bdev, core); each owns a slice of the bdev
 *   run_started   every job set up: start their I/O, the progress and end timers
 *   run_progress  once a second: IOPS and MiB/s of the last second
 *   run_end       time is up (or shutdown): stop every job, start the drain deadline
 *   run_job_done  every job done, or given up on its I/O: table, JSON, rc;
 *                 the caller's done
 *
 * The wait for the I/O in flight at the stop is bounded (--drain-timeout):
 * each job gives up on I/O still outstanding that long after its stop and
 * reports its (frozen) results and how many I/O it left. Those I/O still
 * use the job's tasks, buffers and channel, so such a run is never freed:
 * it stays in g_run until they complete after all. The framework's clean
 * stop cannot finish meanwhile (a bdev waits for its open descriptors, a
 * thread for its channels), so bdevperf then leaves through
 * brisk_app_exit_now: table and JSON out, RPC socket removed, _exit(1).
 *
 * Exit status: 0 when every I/O succeeded and every read-back matched; 1 when
 * any I/O failed (an error bdev's injections included), a verify read found
 * other data, I/O did not complete within --drain-timeout after the stop, or
 * the run could not start. The reset workload does not count I/O aborted by
 * its own resets as failures (they are reported separately).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/string.h>
#include <brisk/ticks.h>

#include "bdevperf.h"

#define MAX_BDEV_NAMES 64
#define OPT_JSON_OUTPUT BRISK_APP_OPT_USER_BASE
/* SPDK's bdevperf has no such option: its -k is another thing (a per-I/O
 * timeout during the run that counts, or with -X aborts, starved I/O). */
#define OPT_DRAIN_TIMEOUT (BRISK_APP_OPT_USER_BASE + 1)
#define OPT_IO_COUNT (BRISK_APP_OPT_USER_BASE + 2)
#define DRAIN_TIMEOUT_DEFAULT_SEC 10u
/* The app thread's own deadline comes this much after the jobs' drain timers:
 * it catches a job whose thread never answers. */
#define DRAIN_DEADLINE_GRACE_SEC 2

uint64_t g_ticks_hz;
bool g_latency_pct;
bool g_zcopy;
uint32_t g_drain_timeout_sec = DRAIN_TIMEOUT_DEFAULT_SEC;
uint64_t g_io_count;

static struct bdevperf_params g_cmdline = {
	.workload = WORKLOAD_COUNT, /* unset */
	.rw_read_pct = -1,
};
static const char *g_bdev_names[MAX_BDEV_NAMES];
static uint32_t g_num_bdev_names;
static bool g_wait_for_tests;
static const char *g_json_output;
static bool g_shutdown;

static const char *const g_workload_names[WORKLOAD_COUNT] = {
	[WORKLOAD_READ] = "read", [WORKLOAD_WRITE] = "write", [WORKLOAD_RANDREAD] = "randread",
	[WORKLOAD_RANDWRITE] = "randwrite", [WORKLOAD_RW] = "rw", [WORKLOAD_RANDRW] = "randrw",
	[WORKLOAD_VERIFY] = "verify", [WORKLOAD_UNMAP] = "unmap", [WORKLOAD_FLUSH] = "flush",
	[WORKLOAD_WRITE_ZEROES] = "write_zeroes", [WORKLOAD_RESET] = "reset",
};

const char *bdevperf_workload_name(enum bdevperf_workload w)
{
	return w < WORKLOAD_COUNT ? g_workload_names[w] : "(none)";
}

int bdevperf_workload_parse(const char *s, enum bdevperf_workload *out)
{
	for (int i = 0; i < WORKLOAD_COUNT; i++) {
		if (strcmp(s, g_workload_names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

int bdevperf_params_check(const struct bdevperf_params *p)
{
	if (p->queue_depth == 0) {
		fprintf(stderr, "bdevperf: queue depth (-q) missing or 0: give a value >= 1\n");
		return -EINVAL;
	}
	if (p->io_size == 0) {
		fprintf(stderr, "bdevperf: I/O size (-o) missing or 0\n");
		return -EINVAL;
	}
	if (p->workload >= WORKLOAD_COUNT) {
		fprintf(stderr, "bdevperf: workload (-w) missing\n");
		return -EINVAL;
	}
	if (p->time_sec == 0) {
		fprintf(stderr, "bdevperf: run time (-t) missing or 0\n");
		return -EINVAL;
	}
	if ((p->workload == WORKLOAD_RW || p->workload == WORKLOAD_RANDRW) &&
	    (p->rw_read_pct < 0 || p->rw_read_pct > 100)) {
		fprintf(stderr, "bdevperf: workload %s needs the read percentage -M (0..100)\n",
			bdevperf_workload_name(p->workload));
		return -EINVAL;
	}
	return 0;
}

const struct bdevperf_params *bdevperf_cmdline_params(void)
{
	return &g_cmdline;
}

/* ---- One test run ---- */

/* Where each job of a run is, as the app thread sees it. */
enum run_job_state {
	JOB_RUNNING = 0,  /* set up or running, or stopping with I/O in flight */
	JOB_GONE,         /* done (or never set up): may be freed */
	JOB_GAVE_UP,      /* gave up on its outstanding I/O: results final, not to be freed */
	JOB_SILENT,       /* its thread did not answer by the drain deadline: results unread */
};

struct bdevperf_run_ctx {
	struct bdevperf_params params;
	struct bdevperf_job **jobs;
	uint8_t *job_state;     /* enum run_job_state, one a job */
	uint32_t num_jobs;
	uint32_t started;
	uint32_t start_failed;
	int rc;
	bool ending;
	bool reported;          /* results and the caller's done went out */
	struct brisk_poller *progress_poller;
	struct brisk_poller *end_poller;
	struct brisk_poller *drain_poller;
	uint32_t seconds;
	uint64_t last_ios, last_bytes, last_ticks;
	bdevperf_done_fn done_fn;
	void *done_ctx;
};

static struct bdevperf_run_ctx *g_run;

bool bdevperf_is_running(void)
{
	return g_run != NULL;
}

static uint32_t run_count(const struct bdevperf_run_ctx *run, enum run_job_state st)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < run->num_jobs; i++) {
		n += run->job_state[i] == st;
	}
	return n;
}

bool bdevperf_io_left(uint64_t *ios)
{
	uint64_t n = 0;

	if (g_run == NULL || !g_run->reported) {
		return false;
	}
	for (uint32_t i = 0; i < g_run->num_jobs; i++) {
		if (g_run->job_state[i] == JOB_GAVE_UP) {
			n += bdevperf_job_outstanding(g_run->jobs[i]);
		}
	}
	if (ios != NULL) {
		*ios = n;
	}
	return true;
}

/* The clean stop would wait forever for the I/O a run left (see the top). */
static void __attribute__((noreturn)) bdevperf_exit_with_io_left(void)
{
	uint64_t ios = 0;

	bdevperf_io_left(&ios);
	fprintf(stderr, "bdevperf: exiting with %" PRIu64 " I/O still outstanding (the clean "
		"shutdown would wait for them forever)\n", ios);
	brisk_app_exit_now(1);
}

/* Only once every job is gone: nothing else uses the jobs any more. */
static void run_free(struct bdevperf_run_ctx *run)
{
	brisk_poller_unregister(&run->progress_poller);
	brisk_poller_unregister(&run->end_poller);
	brisk_poller_unregister(&run->drain_poller);
	for (uint32_t i = 0; i < run->num_jobs; i++) {
		bdevperf_job_free(run->jobs[i]);
	}
	free(run->jobs);
	free(run->job_state);
	free(run);
	g_run = NULL;
}

/* The run is over: frees it unless some job still holds I/O, then the
 * caller's done. */
static void run_finish(struct bdevperf_run_ctx *run, json_t *results)
{
	bdevperf_done_fn done_fn = run->done_fn;
	void *done_ctx = run->done_ctx;
	int rc = run->rc;
	bool io_left = run_count(run, JOB_GONE) < run->num_jobs;

	run->reported = true;
	if (!io_left) {
		run_free(run);
	}
	done_fn(rc, results, done_ctx);
	if (g_shutdown && g_wait_for_tests) {
		/* A shutdown request came during an RPC run: it was answered; now stop. */
		if (io_left) {
			bdevperf_exit_with_io_left();
		}
		brisk_app_stop(0);
	}
}

/* The first job that lost its bdev, read back other data or failed I/O: what
 * went wrong, said in words (results "error", the RPC answer, stderr) and as
 * run->rc (-ENODEV, -EILSEQ, or the errno of the failed I/O). */
static void run_failure_message(struct bdevperf_run_ctx *run, char *msg, size_t len)
{
	const struct bdevperf_result *r;
	struct bdevperf_job *job;

	msg[0] = '\0';
	for (uint32_t i = 0; i < run->num_jobs && msg[0] == '\0'; i++) {
		job = run->jobs[i];
		if (run->job_state[i] == JOB_SILENT) {
			continue;
		}
		r = bdevperf_job_result(job);
		if (bdevperf_job_bdev_removed(job)) {
			snprintf(msg, len, "bdev %s was removed during the test", bdevperf_job_bdev_name(job));
			run->rc = -ENODEV;
		} else if (r->miscompares > 0) {
			snprintf(msg, len, "data miscompare at offset %" PRIu64 " on bdev %s (%" PRIu64
				 " read-back(s) differed)", r->first_miscompare_offset,
				 bdevperf_job_bdev_name(job), r->miscompares);
			run->rc = -EILSEQ;
		} else if (r->failed > 0) {
			snprintf(msg, len, "%" PRIu64 " I/O failed on bdev %s: %s (the first at offset %"
				 PRIu64 ")", r->failed, bdevperf_job_bdev_name(job),
				 strerror(-r->first_errno), r->first_error_offset);
			run->rc = r->first_errno;
		}
	}
}

static void run_set_failure(struct bdevperf_run_ctx *run, json_t *out)
{
	char msg[256];

	run_failure_message(run, msg, sizeof(msg));
	if (msg[0] != '\0') {
		fprintf(stderr, "bdevperf: %s\n", msg);
		json_object_set_new(out, "error", json_string(msg));
	}
}

static json_t *run_report(struct bdevperf_run_ctx *run)
{
	struct bdevperf_result *total;
	json_t *out, *arr, *jt;
	uint64_t outstanding = 0;
	uint32_t silent = 0;
	char title[96];

	total = malloc(sizeof(*total));
	out = json_object();
	arr = json_array();
	if (total == NULL || out == NULL || arr == NULL) {
		free(total);
		json_decref(out);
		json_decref(arr);
		return NULL;
	}
	bdevperf_result_init(total);
	(void)fflush(stderr); /* the jobs' error lines before the table */
	printf("\nResults: workload %s, queue depth %u, I/O size %" PRIu64 " bytes",
	       bdevperf_workload_name(run->params.workload), run->params.queue_depth, run->params.io_size);
	if (run->params.workload == WORKLOAD_RW || run->params.workload == WORKLOAD_RANDRW) {
		printf(", %d%% reads", run->params.rw_read_pct);
	}
	printf("\n");
	bdevperf_print_header(stdout);
	for (uint32_t i = 0; i < run->num_jobs; i++) {
		struct bdevperf_job *job = run->jobs[i];
		const struct bdevperf_result *r;
		uint32_t left = 0;
		json_t *jr;

		if (run->job_state[i] == JOB_SILENT) {
			/* Its thread may still write its results: they cannot be read. */
			printf("%-28s (no answer from the job's thread: left out)\n", bdevperf_job_name(job));
			silent++;
			continue;
		}
		if (run->job_state[i] == JOB_GAVE_UP) {
			left = bdevperf_job_outstanding(job);
			outstanding += left;
		}
		r = bdevperf_job_result(job);
		bdevperf_print_row(stdout, bdevperf_job_name(job), r);
		if (left > 0) {
			printf("%-28s %u I/O still outstanding (not counted)\n", "", left);
		}
		bdevperf_result_add(total, r);
		jr = bdevperf_result_json(bdevperf_job_name(job), bdevperf_job_bdev_name(job),
					  bdevperf_job_core(job), &run->params, r);
		json_object_set_new(jr, "io_outstanding", json_integer(left));
		json_array_append_new(arr, jr);
	}
	snprintf(title, sizeof(title), "Total (%u job%s)", run->num_jobs, run->num_jobs == 1 ? "" : "s");
	bdevperf_print_row(stdout, title, total);
	if (outstanding > 0) {
		printf("%-28s %" PRIu64 " I/O still outstanding (not counted)\n", "", outstanding);
	}
	fflush(stdout);
	json_object_set_new(out, "results", arr);
	jt = bdevperf_result_json("total", NULL, 0, &run->params, total);
	json_object_set_new(jt, "io_outstanding", json_integer((json_int_t)outstanding));
	json_object_set_new(out, "total", jt);
	json_object_set_new(out, "core_count", json_integer(brisk_env_get_core_count()));
	run_set_failure(run, out);
	if (g_shutdown && run->rc == 0) {
		fprintf(stderr, "bdevperf: run cut short by a shutdown request\n");
	}
	if (outstanding > 0 || silent > 0) {
		fprintf(stderr, "bdevperf: %" PRIu64 " I/O did not complete within --drain-timeout (%u s) "
			"after the stop%s; the results are those of the I/O that completed\n",
			outstanding, g_drain_timeout_sec,
			silent > 0 ? ", and some jobs did not answer" : "");
		run->rc = -ETIMEDOUT;
	}
	free(total);
	return out;
}

/* Once every job is gone or gave up: the report (if the run started) and the
 * caller's done. A run that left I/O is freed when its last job is gone. */
static void run_check_all_done(struct bdevperf_run_ctx *run)
{
	if (run_count(run, JOB_RUNNING) > 0) {
		return;
	}
	if (run->reported) {
		if (run_count(run, JOB_GONE) == run->num_jobs) {
			BRISK_NOTICELOG("bdevperf: the I/O the last test left outstanding completed after "
					"all\n");
			run_free(run);
		}
		return;
	}
	brisk_poller_unregister(&run->progress_poller);
	brisk_poller_unregister(&run->end_poller);
	brisk_poller_unregister(&run->drain_poller);
	if (run->start_failed > 0) {
		run_finish(run, NULL);
		return;
	}
	run_finish(run, run_report(run));
}

static void run_job_done(struct bdevperf_job *job, int rc)
{
	struct bdevperf_run_ctx *run = g_run; /* a run is freed only once all its jobs are gone */
	uint8_t *st = &run->job_state[bdevperf_job_index(job)];

	if (rc == 0) {
		*st = JOB_GONE;
	} else if (*st == JOB_RUNNING) {
		*st = JOB_GAVE_UP;
		BRISK_ERRLOG("bdevperf: job %s: %u I/O to bdev %s still outstanding %u s after the stop "
			     "(--drain-timeout); giving up on them\n", bdevperf_job_name(job),
			     bdevperf_job_outstanding(job), bdevperf_job_bdev_name(job),
			     g_drain_timeout_sec);
	}
	run_check_all_done(run);
}

/* The app thread's deadline, past every job's own drain timer: a job still
 * running now has a thread that does not answer. */
static int run_drain_deadline(void *arg)
{
	struct bdevperf_run_ctx *run = arg;

	brisk_poller_unregister(&run->drain_poller);
	for (uint32_t i = 0; i < run->num_jobs; i++) {
		if (run->job_state[i] == JOB_RUNNING) {
			run->job_state[i] = JOB_SILENT;
			BRISK_ERRLOG("bdevperf: job %s (bdev %s): no answer from its thread %u s after the "
				     "stop; its results are left out\n", bdevperf_job_name(run->jobs[i]),
				     bdevperf_job_bdev_name(run->jobs[i]),
				     g_drain_timeout_sec + DRAIN_DEADLINE_GRACE_SEC);
		}
	}
	run_check_all_done(run);
	return BRISK_POLLER_BUSY;
}

/* Stops every job; the wait for their I/O is bounded by --drain-timeout. */
static void run_stop_jobs(struct bdevperf_run_ctx *run)
{
	run->ending = true;
	for (uint32_t i = 0; i < run->num_jobs; i++) {
		bdevperf_job_stop(run->jobs[i]);
	}
	if (g_drain_timeout_sec > 0 && run->drain_poller == NULL) {
		run->drain_poller = brisk_poller_register_named(run_drain_deadline, run,
				    ((uint64_t)g_drain_timeout_sec + DRAIN_DEADLINE_GRACE_SEC) * 1000000,
				    "bdevperf_drain_deadline");
		if (run->drain_poller == NULL) {
			BRISK_WARNLOG("bdevperf: cannot register the drain deadline; relying on the "
				      "jobs' own timers\n");
		}
	}
}

static void run_end(struct bdevperf_run_ctx *run)
{
	if (run->ending) {
		return;
	}
	brisk_poller_unregister(&run->progress_poller);
	brisk_poller_unregister(&run->end_poller);
	run_stop_jobs(run);
}

static int run_end_poll(void *arg)
{
	run_end(arg);
	return BRISK_POLLER_BUSY;
}

static int run_progress_poll(void *arg)
{
	struct bdevperf_run_ctx *run = arg;
	uint64_t ios = 0, bytes = 0, now = brisk_get_ticks();
	double secs;

	for (uint32_t i = 0; i < run->num_jobs; i++) {
		uint64_t jios, jbytes;

		bdevperf_job_progress(run->jobs[i], &jios, &jbytes);
		ios += jios;
		bytes += jbytes;
	}
	secs = (double)(now - run->last_ticks) / (double)g_ticks_hz;
	run->seconds++;
	if (secs > 0) {
		printf("[%4u s] %12.2f IOPS, %10.2f MiB/s\n", run->seconds, (ios - run->last_ios) / secs,
		       (bytes - run->last_bytes) / secs / (1024.0 * 1024.0));
		fflush(stdout);
	}
	run->last_ios = ios;
	run->last_bytes = bytes;
	run->last_ticks = now;
	return BRISK_POLLER_BUSY;
}

static void run_job_started(struct bdevperf_job *job, int rc)
{
	struct bdevperf_run_ctx *run = g_run;

	if (rc != 0) {
		run->start_failed++;
		run->rc = rc;
		run->job_state[bdevperf_job_index(job)] = JOB_GONE; /* failed to set up: already gone */
	}
	if (++run->started < run->num_jobs) {
		return;
	}
	if (run->start_failed > 0 || g_shutdown) {
		/* Stop the jobs that did set up; run_job_done finishes once all are gone. */
		run_stop_jobs(run);
		run_check_all_done(run); /* when no job had set up */
		return;
	}
	printf("Running %s for %u s: %u job(s), queue depth %u, I/O size %" PRIu64 "\n",
	       bdevperf_workload_name(run->params.workload), run->params.time_sec, run->num_jobs,
	       run->params.queue_depth, run->params.io_size);
	fflush(stdout);
	run->last_ticks = brisk_get_ticks();
	for (uint32_t i = 0; i < run->num_jobs; i++) {
		bdevperf_job_go(run->jobs[i]);
	}
	run->progress_poller = brisk_poller_register_named(run_progress_poll, run, 1000000,
							   "bdevperf_progress");
	run->end_poller = brisk_poller_register_named(run_end_poll, run,
						      (uint64_t)run->params.time_sec * 1000000, "bdevperf_end");
	if (run->progress_poller == NULL || run->end_poller == NULL) {
		BRISK_ERRLOG("bdevperf: cannot register the run's timers\n");
		run->rc = -ENOMEM;
		run_end(run);
	}
}

/* Collects the bdevs to test: -T names (each must exist) or every leaf bdev. */
static int run_collect_bdevs(struct brisk_bdev ***out, uint32_t *count)
{
	struct brisk_bdev **bdevs;
	struct brisk_bdev *b;
	uint32_t n = 0, cap = g_num_bdev_names;

	if (g_num_bdev_names == 0) {
		for (b = brisk_bdev_first_leaf(); b != NULL; b = brisk_bdev_next_leaf(b)) {
			cap++;
		}
	}
	if (cap == 0) {
		fprintf(stderr, "bdevperf: no bdev to test: create one with the JSON config (-c) or "
			"over RPC (-z)\n");
		return -ENODEV;
	}
	bdevs = calloc(cap, sizeof(*bdevs));
	if (bdevs == NULL) {
		return -ENOMEM;
	}
	if (g_num_bdev_names > 0) {
		for (uint32_t i = 0; i < g_num_bdev_names; i++) {
			b = brisk_bdev_get_by_name(g_bdev_names[i]);
			if (b == NULL) {
				fprintf(stderr, "bdevperf: bdev '%s' (-T) does not exist\n", g_bdev_names[i]);
				free(bdevs);
				return -ENODEV;
			}
			bdevs[n++] = b;
		}
	} else {
		for (b = brisk_bdev_first_leaf(); b != NULL && n < cap; b = brisk_bdev_next_leaf(b)) {
			bdevs[n++] = b;
		}
	}
	*out = bdevs;
	*count = n;
	return 0;
}

static int run_create(struct bdevperf_run_ctx *run)
{
	struct brisk_bdev **bdevs = NULL;
	uint32_t num_bdevs = 0, ncores = brisk_env_get_core_count(), core;
	int rc;

	rc = run_collect_bdevs(&bdevs, &num_bdevs);
	if (rc != 0) {
		return rc;
	}
	run->jobs = calloc((size_t)num_bdevs * ncores, sizeof(*run->jobs));
	run->job_state = calloc((size_t)num_bdevs * ncores, sizeof(*run->job_state));
	if (run->jobs == NULL || run->job_state == NULL) {
		free(bdevs);
		return -ENOMEM;
	}
	for (uint32_t b = 0; b < num_bdevs; b++) {
		uint32_t bs = brisk_bdev_get_block_size(bdevs[b]);
		uint64_t io_blocks = run->params.io_size / bs;
		uint64_t share, k = 0;

		if (io_blocks == 0 || run->params.io_size % bs != 0) {
			fprintf(stderr, "bdevperf: -o %" PRIu64 " is not a multiple of the block size %u "
				"of bdev %s\n", run->params.io_size, bs, brisk_bdev_get_name(bdevs[b]));
			free(bdevs);
			return -EINVAL;
		}
		/* Jobs of one bdev get disjoint slices (whole I/O units), so verify
		 * jobs never read back each other's writes. */
		share = brisk_bdev_get_num_blocks(bdevs[b]) / ncores / io_blocks * io_blocks;
		BRISK_ENV_FOREACH_CORE(core) {
			struct bdevperf_job_info info = {
				.bdev_name = brisk_bdev_get_name(bdevs[b]),
				.core = core,
				.index = run->num_jobs,
				.first_block = share * k++,
				.num_blocks = share,
			};
			struct bdevperf_job *job = bdevperf_job_create(&info, &run->params, &rc);

			if (job == NULL) {
				free(bdevs);
				return rc;
			}
			run->jobs[run->num_jobs++] = job;
		}
	}
	free(bdevs);
	return 0;
}

static void run_begin(void *arg)
{
	struct bdevperf_run_ctx *run = arg;
	uint32_t i;
	int rc;

	rc = run_create(run);
	if (rc != 0) {
		run->rc = rc;
		for (i = 0; i < run->num_jobs; i++) {
			run->job_state[i] = JOB_GONE; /* created, never started: no thread */
		}
		run_finish(run, NULL);
		return;
	}
	for (i = 0; i < run->num_jobs; i++) {
		rc = bdevperf_job_start(run->jobs[i], run_job_started, run_job_done);
		if (rc != 0) {
			/* Count it and the jobs never started as failed starts. */
			for (; i < run->num_jobs; i++) {
				run_job_started(run->jobs[i], rc);
			}
			return;
		}
	}
}

int bdevperf_run(const struct bdevperf_params *params, bdevperf_done_fn done, void *ctx)
{
	struct bdevperf_run_ctx *run;
	int rc;

	if (g_run != NULL) {
		return -EBUSY;
	}
	rc = bdevperf_params_check(params);
	if (rc != 0) {
		return rc;
	}
	run = calloc(1, sizeof(*run));
	if (run == NULL) {
		return -ENOMEM;
	}
	run->params = *params;
	run->done_fn = done;
	run->done_ctx = ctx;
	g_run = run;
	rc = brisk_bdev_wait_for_examine(run_begin, run);
	if (rc != 0) {
		g_run = NULL;
		free(run);
	}
	return rc;
}

/* ---- Program ---- */

void bdevperf_write_json_output(const json_t *results)
{
	if (g_json_output == NULL || results == NULL) {
		return;
	}
	if (json_dump_file(results, g_json_output, JSON_INDENT(2)) != 0) {
		fprintf(stderr, "bdevperf: cannot write results to %s (--json-output)\n", g_json_output);
	}
}

static void cmdline_run_done(int rc, json_t *results, void *ctx)
{
	(void)ctx;
	bdevperf_write_json_output(results);
	if (rc != 0 && rc != -ETIMEDOUT) { /* -ETIMEDOUT: run_report said what */
		json_t *error = json_object_get(results, "error");

		fprintf(stderr, "bdevperf: run failed: %s\n",
			json_is_string(error) ? json_string_value(error) : strerror(-rc));
	}
	json_decref(results);
	if (bdevperf_io_left(NULL)) {
		bdevperf_exit_with_io_left();
	}
	brisk_app_stop(rc == 0 ? 0 : 1);
}

static void bdevperf_started(void *ctx)
{
	int rc;

	(void)ctx;
	g_ticks_hz = brisk_get_ticks_hz();
	if (g_wait_for_tests) {
		printf("bdevperf: waiting for the perform_tests RPC\n");
		fflush(stdout);
		return;
	}
	rc = bdevperf_run(&g_cmdline, cmdline_run_done, NULL);
	if (rc != 0) {
		brisk_app_stop(1);
	}
}

static void bdevperf_shutdown(void)
{
	g_shutdown = true;
	if (bdevperf_io_left(NULL)) {
		/* -z: the last test left I/O outstanding; its answer went out long ago. */
		bdevperf_exit_with_io_left();
	}
	if (g_run != NULL) {
		/* End the run now; its done callback prints results (and stops the app in cmdline mode). */
		/* Jobs still setting up are stopped once all report (run_job_started). */
		if (g_run->started == g_run->num_jobs && !g_run->ending) {
			run_end(g_run);
		}
		return;
	}
	brisk_app_stop(0);
}

static void bdevperf_usage(void)
{
	printf("\nbdevperf options:\n"
	       " -q <depth>               I/O queue depth per job (>= 1)\n"
	       " -o <size>                I/O size in bytes (k/m suffixes), a multiple of the block size\n"
	       " -w <workload>            read, write, randread, randwrite, rw, randrw, verify, unmap,\n"
	       "                          flush, write_zeroes or reset\n"
	       " -M <percent>             reads in rw/randrw (0..100)\n"
	       " -t <seconds>             run time\n"
	       " -T <bdev>                bdev to test (repeatable); default every unclaimed bdev\n"
	       " -z                       wait for the perform_tests RPC instead of starting at once\n"
	       " -l                       also report latency percentiles (p50, p99, p99.9)\n"
	       " -Z                       zero-copy: reads and writes borrow the bdev's buffers\n"
	       "                          (brisk_bdev_zcopy_start/end; writes copy into them)\n"
	       "     --json-output <file> write the results as JSON to file\n"
	       "     --io-count <n>       each job stops after n I/Os have completed (or at -t):\n"
	       "                          a fixed amount of work, for instruction counts\n"
	       "     --drain-timeout <s>  when the run ends (-t, SIGINT/SIGTERM), wait at most s seconds\n"
	       "                          for the I/O in flight (default %u; 0 = no limit); past it,\n"
	       "                          name each job's outstanding I/O, print the results of the\n"
	       "                          I/O that completed and exit 1 at once (-z: the call fails\n"
	       "                          and later ones are refused until those I/O complete)\n"
	       "One job runs per core of the cpumask (-m) per bdev. Exit status 1 when any I/O\n"
	       "failed, a verify read-back differed or I/O was left outstanding.\n",
	       DRAIN_TIMEOUT_DEFAULT_SEC);
}

static int bdevperf_parse_u32_min1(const char *flag, const char *arg, uint32_t *out)
{
	if (brisk_parse_u32(arg, 10, out) != 0 || *out == 0) {
		fprintf(stderr, "bdevperf: %s must be a whole number >= 1, not '%s'\n", flag, arg);
		return -EINVAL;
	}
	return 0;
}

static int bdevperf_parse_arg(int ch, char *arg)
{
	uint64_t v;
	int pct;

	switch (ch) {
	case 'q':
		return bdevperf_parse_u32_min1("-q (queue depth)", arg, &g_cmdline.queue_depth);
	case 'o':
		if (brisk_parse_capacity(arg, &v, NULL) != 0 || v == 0 || v > (1ull << 30)) {
			fprintf(stderr, "bdevperf: -o (I/O size) must be a size between 1 and 1G "
				"(e.g. 4096, 4k, 1m), not '%s'\n", arg);
			return -EINVAL;
		}
		g_cmdline.io_size = v;
		return 0;
	case 'w':
		if (bdevperf_workload_parse(arg, &g_cmdline.workload) != 0) {
			fprintf(stderr, "bdevperf: -w: unknown workload '%s' (read, write, randread, "
				"randwrite, rw, randrw, verify, unmap, flush, write_zeroes, reset)\n", arg);
			return -EINVAL;
		}
		return 0;
	case 'M':
		if (brisk_parse_int(arg, 10, &pct) != 0 || pct < 0 || pct > 100) {
			fprintf(stderr, "bdevperf: -M (read percentage) must be 0..100, not '%s'\n", arg);
			return -EINVAL;
		}
		g_cmdline.rw_read_pct = pct;
		return 0;
	case 't':
		return bdevperf_parse_u32_min1("-t (seconds)", arg, &g_cmdline.time_sec);
	case 'T':
		if (g_num_bdev_names == MAX_BDEV_NAMES) {
			fprintf(stderr, "bdevperf: at most %d -T names\n", MAX_BDEV_NAMES);
			return -EINVAL;
		}
		g_bdev_names[g_num_bdev_names++] = arg;
		return 0;
	case 'z':
		g_wait_for_tests = true;
		return 0;
	case 'l':
		g_latency_pct = true;
		return 0;
	case 'Z':
		g_zcopy = true;
		return 0;
	case OPT_JSON_OUTPUT:
		g_json_output = arg;
		return 0;
	case OPT_IO_COUNT:
		if (brisk_parse_capacity(arg, &g_io_count, NULL) != 0 || g_io_count == 0) {
			fprintf(stderr,
				"bdevperf: --io-count must be a whole number >= 1 (k/m suffixes), "
				"not '%s'\n",
				arg);
			return -EINVAL;
		}
		return 0;
	case OPT_DRAIN_TIMEOUT:
		if (brisk_parse_u32(arg, 10, &g_drain_timeout_sec) != 0 ||
		    g_drain_timeout_sec > 7 * 24 * 3600) {
			fprintf(stderr, "bdevperf: --drain-timeout must be a whole number of seconds from 0 "
				"(no limit) to 604800, not '%s'\n", arg);
			return -EINVAL;
		}
		return 0;
	default:
		return -EINVAL;
	}
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "json-output", required_argument, NULL, OPT_JSON_OUTPUT },
		{ "drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT },
		{ "io-count", required_argument, NULL, OPT_IO_COUNT },
		{ NULL, 0, NULL, 0 },
	};
	struct brisk_app_opts opts;
	int rc;

	brisk_app_opts_init(&opts);
	opts.name = "bdevperf";
	opts.shutdown_cb = bdevperf_shutdown;
	switch (brisk_app_parse_args(argc, argv, &opts, "q:o:w:M:t:T:zlZ", long_opts, bdevperf_parse_arg,
				     bdevperf_usage)) {
	case BRISK_APP_PARSE_ARGS_SUCCESS:
		break;
	case BRISK_APP_PARSE_ARGS_HELP:
		return EXIT_SUCCESS;
	default:
		return EXIT_FAILURE;
	}
	if (!g_wait_for_tests && bdevperf_params_check(&g_cmdline) != 0) {
		return EXIT_FAILURE;
	}
	if (g_cmdline.rw_read_pct >= 0 && g_cmdline.workload != WORKLOAD_RW &&
	    g_cmdline.workload != WORKLOAD_RANDRW && g_cmdline.workload != WORKLOAD_COUNT) {
		fprintf(stderr, "bdevperf: -M is ignored by workload %s\n",
			bdevperf_workload_name(g_cmdline.workload));
	}
	if (!g_wait_for_tests && opts.rpc_addr != NULL &&
	    strcmp(opts.rpc_addr, BRISK_DEFAULT_RPC_ADDR) == 0) {
		/* Without -z nobody talks to bdevperf: no socket to collide with another app's. */
		opts.rpc_addr = NULL;
	}
	rc = brisk_app_start(&opts, bdevperf_started, NULL);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
