/*
 * One bdevperf job: a bdev, a core, a brisk_thread pinned to that core, its
 * own io_channel and queue_depth tasks. Each task keeps one I/O in flight and
 * submits the next from the completion of the last, so the queue stays full
 * without any allocation on the I/O path.
 *
 * Life of a job, in order:
 *   create  (app thread)  open the descriptor, compute the job's slice
 *   start   (app thread)  create the pinned thread, send it job_setup
 *   setup   (job thread)  channel, buffers; report "started" to the app thread
 *   go      (job thread)  submit every task (the app thread sends it once all
 *                         jobs are set up, so they start together)
 *   stop    (job thread)  no new I/O; the last completion calls job_finish;
 *                         the drain timer (--drain-timeout) starts
 *   give up (job thread)  the timer fired with I/O still in flight: results
 *                         freeze, report "gave up" with the count; the
 *                         channel, tasks and buffers stay for those I/O
 *   finish  (job thread)  release channel, buffers, thread; report "done"
 *   free    (app thread)  close the descriptor
 * A job that gave up still finishes if its last I/O completes after all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h> /* brisk_copy_buf_to_iovs */
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/string.h>
#include <brisk/ticks.h>

#include "bdevperf.h"

#define JOB_MAX_ERROR_LOGS 5        /* per job, so a failing device does not flood the log */
#define JOB_RESET_PERIOD_US 1000000 /* reset workload: one reset a second (4 a run at least) */
#define JOB_ZCOPY_IOVS 4 /* -Z: buffers a bdev may lend for one I/O */

struct bdevperf_task {
	struct bdevperf_job *job;
	void *buf;                  /* data written, or read into */
	void *check_buf;            /* verify/reset: the read-back */
	uint64_t offset_blocks;
	uint64_t seed;
	uint64_t submit_ticks;
	enum brisk_bdev_io_type io_type;
	bool verify_read;           /* verify/reset: this is the read-back */
	struct iovec zc_iov[JOB_ZCOPY_IOVS]; /* -Z: the bdev's lent buffers */
	struct brisk_bdev_io_wait_entry wait;
};

struct bdevperf_job {
	char name[64];
	char *bdev_name;
	uint32_t core;
	uint32_t index;
	struct bdevperf_params params;
	struct brisk_bdev_desc *desc;
	struct brisk_bdev *bdev;
	struct brisk_thread *thread;
	struct brisk_thread *app_thread;
	struct brisk_io_channel *ch;

	uint32_t block_size;
	uint64_t io_blocks;         /* blocks per I/O */
	uint64_t first_block;       /* the job's slice */
	uint64_t num_units;         /* I/O-sized units in the slice */
	uint64_t next_unit;         /* sequential workloads */
	uint64_t rand_state;        /* xorshift64* state */
	uint64_t seq;               /* verify seeds */
	uint64_t *inflight;         /* verify/reset: bit per unit with an I/O in flight */
	bool random;
	bool verify;
	bool stopping;
	bool finished;              /* job thread's view */
	bool gave_up;               /* job thread: the drain timed out; results are frozen */
	bool app_done;              /* app thread's view: the thread is gone, send nothing */
	bool bdev_removed;          /* app thread: the REMOVE event came during the run */
	uint32_t outstanding;       /* tasks and resets in flight */
	uint32_t left_outstanding;  /* outstanding when the job gave up (read by the app thread) */
	struct brisk_poller *drain_poller;
	uint32_t error_logs;
	uint64_t start_ticks;
	struct brisk_poller *reset_poller;
	bool reset_in_flight;

	struct bdevperf_task *tasks;
	struct bdevperf_result result;
	uint64_t progress_ios;      /* single writer (job thread); read relaxed by the app thread */
	uint64_t progress_bytes;

	bdevperf_job_cb started_cb;
	bdevperf_job_cb done_cb;
	int setup_rc;
};

/* A failed I/O: counted, and the first one's errno kept for the report. */
static void job_record_error(struct bdevperf_job *job, const struct bdevperf_task *task, int err)
{
	if (job->result.failed++ == 0) {
		job->result.first_errno = err < 0 ? err : -EIO;
		job->result.first_error_offset = task->offset_blocks * job->block_size;
	}
}

static uint64_t job_rand(struct bdevperf_job *job)
{
	uint64_t x = job->rand_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	job->rand_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void job_event_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	struct bdevperf_job *job = ctx;

	if (type == BRISK_BDEV_EVENT_REMOVE) {
		BRISK_WARNLOG("bdevperf: bdev %s is being removed: stopping job %s\n",
			      brisk_bdev_get_name(bdev), job->name);
		job->bdev_removed = true;
		bdevperf_job_stop(job);
	}
}

static bool workload_is_random(enum bdevperf_workload w)
{
	return w == WORKLOAD_RANDREAD || w == WORKLOAD_RANDWRITE || w == WORKLOAD_RANDRW;
}

static bool workload_writes(enum bdevperf_workload w)
{
	return w != WORKLOAD_READ && w != WORKLOAD_RANDREAD;
}

/* The I/O type a workload needs the bdev to support (besides read/write). */
static enum brisk_bdev_io_type workload_io_type(enum bdevperf_workload w)
{
	switch (w) {
	case WORKLOAD_UNMAP: return BRISK_BDEV_IO_TYPE_UNMAP;
	case WORKLOAD_FLUSH: return BRISK_BDEV_IO_TYPE_FLUSH;
	case WORKLOAD_WRITE_ZEROES: return BRISK_BDEV_IO_TYPE_WRITE_ZEROES;
	case WORKLOAD_RESET: return BRISK_BDEV_IO_TYPE_RESET;
	case WORKLOAD_READ: case WORKLOAD_RANDREAD: return BRISK_BDEV_IO_TYPE_READ;
	default: return BRISK_BDEV_IO_TYPE_WRITE;
	}
}

struct bdevperf_job *bdevperf_job_create(const struct bdevperf_job_info *info,
		const struct bdevperf_params *params, int *rc)
{
	struct bdevperf_job *job;
	enum brisk_bdev_io_type need;

	job = calloc(1, sizeof(*job));
	if (job == NULL || (job->bdev_name = strdup(info->bdev_name)) == NULL) {
		free(job);
		*rc = -ENOMEM;
		return NULL;
	}
	snprintf(job->name, sizeof(job->name), "%s_core%u", info->bdev_name, info->core);
	job->core = info->core;
	job->index = info->index;
	job->params = *params;
	job->app_thread = brisk_get_thread();
	job->random = workload_is_random(params->workload);
	job->verify = params->workload == WORKLOAD_VERIFY || params->workload == WORKLOAD_RESET;
	job->rand_state = 0x853c49e6748fea9bull ^ ((uint64_t)info->index + 1) * 0x9E3779B97F4A7C15ull;
	bdevperf_result_init(&job->result);

	*rc = brisk_bdev_open_ext(info->bdev_name, workload_writes(params->workload), job_event_cb, job,
				  &job->desc);
	if (*rc != 0) {
		fprintf(stderr, "bdevperf: cannot open bdev '%s' (-T): %s\n", info->bdev_name,
			strerror(-*rc));
		goto fail;
	}
	job->bdev = brisk_bdev_desc_get_bdev(job->desc);
	if (g_zcopy && !brisk_bdev_io_type_supported(job->bdev, BRISK_BDEV_IO_TYPE_ZCOPY)) {
		fprintf(stderr, "bdevperf: -Z: bdev %s does not support zero-copy I/O\n", info->bdev_name);
		*rc = -ENOTSUP;
		goto fail;
	}
	job->block_size = brisk_bdev_get_block_size(job->bdev);
	if (params->io_size % job->block_size != 0) {
		fprintf(stderr, "bdevperf: -o %" PRIu64 " is not a multiple of the block size %u of bdev %s\n",
			params->io_size, job->block_size, info->bdev_name);
		*rc = -EINVAL;
		goto fail;
	}
	need = workload_io_type(params->workload);
	if (!brisk_bdev_io_type_supported(job->bdev, need) ||
	    (job->verify && !brisk_bdev_io_type_supported(job->bdev, BRISK_BDEV_IO_TYPE_READ))) {
		fprintf(stderr, "bdevperf: bdev %s does not support the I/O of workload '%s'\n",
			info->bdev_name, bdevperf_workload_name(params->workload));
		*rc = -ENOTSUP;
		goto fail;
	}
	job->io_blocks = params->io_size / job->block_size;
	job->first_block = info->first_block;
	job->num_units = info->num_blocks / job->io_blocks;
	if (job->num_units == 0) {
		fprintf(stderr, "bdevperf: bdev %s: the job's share (%" PRIu64 " blocks) is smaller than "
			"one I/O of %" PRIu64 " bytes (-o)\n", info->bdev_name, info->num_blocks,
			params->io_size);
		*rc = -EINVAL;
		goto fail;
	}
	if (job->verify) {
		if (job->num_units < params->queue_depth) {
			fprintf(stderr, "bdevperf: bdev %s: verify needs at least queue depth (%u) distinct "
				"I/O units per job, the job has %" PRIu64 "; lower -q or -o\n",
				info->bdev_name, params->queue_depth, job->num_units);
			*rc = -EINVAL;
			goto fail;
		}
		job->inflight = calloc((job->num_units + 63) / 64, sizeof(uint64_t));
		if (job->inflight == NULL) {
			*rc = -ENOMEM;
			goto fail;
		}
	}
	job->tasks = calloc(params->queue_depth, sizeof(*job->tasks));
	if (job->tasks == NULL) {
		*rc = -ENOMEM;
		goto fail;
	}
	*rc = 0;
	return job;
fail:
	bdevperf_job_free(job);
	return NULL;
}

/* ---- I/O engine (job thread) ---- */

static void task_complete(struct brisk_bdev_io *bdev_io, bool success, void *cb_arg);
static void job_finish(struct bdevperf_job *job);

static bool unit_busy(struct bdevperf_job *job, uint64_t unit)
{
	return (job->inflight[unit / 64] >> (unit % 64)) & 1;
}

static void unit_mark(struct bdevperf_job *job, uint64_t unit, bool busy)
{
	if (busy) {
		job->inflight[unit / 64] |= 1ull << (unit % 64);
	} else {
		job->inflight[unit / 64] &= ~(1ull << (unit % 64));
	}
}

static uint64_t job_pick_unit(struct bdevperf_job *job)
{
	uint64_t unit;

	if (job->random) {
		unit = job_rand(job) % job->num_units;
	} else {
		unit = job->next_unit;
		job->next_unit = job->next_unit + 1 == job->num_units ? 0 : job->next_unit + 1;
	}
	if (job->inflight != NULL) {
		/* num_units >= queue depth, so a free unit always exists. */
		while (unit_busy(job, unit)) {
			unit = unit + 1 == job->num_units ? 0 : unit + 1;
		}
		unit_mark(job, unit, true);
	}
	return unit;
}

/* Chooses what the task does next: operation, offset, data. */
static void task_prepare(struct bdevperf_task *task)
{
	struct bdevperf_job *job = task->job;
	uint64_t unit = job_pick_unit(job);

	task->offset_blocks = job->first_block + unit * job->io_blocks;
	task->verify_read = false;
	switch (job->params.workload) {
	case WORKLOAD_READ:
	case WORKLOAD_RANDREAD:
		task->io_type = BRISK_BDEV_IO_TYPE_READ;
		break;
	case WORKLOAD_WRITE:
	case WORKLOAD_RANDWRITE:
		task->io_type = BRISK_BDEV_IO_TYPE_WRITE;
		break;
	case WORKLOAD_RW:
	case WORKLOAD_RANDRW:
		task->io_type = (int)(job_rand(job) % 100) < job->params.rw_read_pct ?
				BRISK_BDEV_IO_TYPE_READ : BRISK_BDEV_IO_TYPE_WRITE;
		break;
	case WORKLOAD_VERIFY:
	case WORKLOAD_RESET:
		task->io_type = BRISK_BDEV_IO_TYPE_WRITE;
		task->seed = ((uint64_t)job->core << 48) ^ ++job->seq;
		bdevperf_pattern_fill(task->buf, job->params.io_size, job->block_size,
				      task->offset_blocks, task->seed);
		break;
	case WORKLOAD_UNMAP:
		task->io_type = BRISK_BDEV_IO_TYPE_UNMAP;
		break;
	case WORKLOAD_FLUSH:
		task->io_type = BRISK_BDEV_IO_TYPE_FLUSH;
		break;
	case WORKLOAD_WRITE_ZEROES:
		task->io_type = BRISK_BDEV_IO_TYPE_WRITE_ZEROES;
		break;
	default:
		task->io_type = BRISK_BDEV_IO_TYPE_READ;
		break;
	}
}

/* -Z: the bdev lent its buffers. A write copies its data into them (as a
 * target receiving it would) and commits; a verify read-back copies them out
 * to be checked; a plain read only gives them back. */
static void task_zcopy_started(struct brisk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct bdevperf_task *task = cb_arg;
	bool write = task->io_type == BRISK_BDEV_IO_TYPE_WRITE;
	size_t len = task->job->params.io_size;
	struct iovec *iovs;
	int iovcnt;

	if (!success) {
		task_complete(bdev_io, false, task);
		return;
	}
	brisk_bdev_io_get_iovec(bdev_io, &iovs, &iovcnt);
	if (write) {
		brisk_copy_buf_to_iovs(iovs, iovcnt, task->buf, len);
	} else if (task->verify_read) {
		brisk_copy_iovs_to_buf(task->check_buf, len, iovs, iovcnt);
	}
	if (brisk_bdev_zcopy_end(bdev_io, write, task_complete, task) != 0) {
		task_complete(bdev_io, false, task); /* cannot happen for a started I/O */
	}
}

static int task_issue(struct bdevperf_task *task)
{
	struct bdevperf_job *job = task->job;

	task->submit_ticks = brisk_get_ticks();
	if (g_zcopy && (task->io_type == BRISK_BDEV_IO_TYPE_READ || task->io_type == BRISK_BDEV_IO_TYPE_WRITE)) {
		return brisk_bdev_zcopy_start(job->desc, job->ch, task->zc_iov, JOB_ZCOPY_IOVS, task->offset_blocks,
					      job->io_blocks, task->io_type == BRISK_BDEV_IO_TYPE_READ,
					      task_zcopy_started, task);
	}
	switch (task->io_type) {
	case BRISK_BDEV_IO_TYPE_READ:
		return brisk_bdev_read_blocks(job->desc, job->ch, task->verify_read ? task->check_buf : task->buf,
					      task->offset_blocks, job->io_blocks, task_complete, task);
	case BRISK_BDEV_IO_TYPE_WRITE:
		return brisk_bdev_write_blocks(job->desc, job->ch, task->buf, task->offset_blocks,
					       job->io_blocks, task_complete, task);
	case BRISK_BDEV_IO_TYPE_UNMAP:
		return brisk_bdev_unmap_blocks(job->desc, job->ch, task->offset_blocks, job->io_blocks,
					       task_complete, task);
	case BRISK_BDEV_IO_TYPE_FLUSH:
		return brisk_bdev_flush_blocks(job->desc, job->ch, task->offset_blocks, job->io_blocks,
					       task_complete, task);
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		return brisk_bdev_write_zeroes_blocks(job->desc, job->ch, task->offset_blocks,
						      job->io_blocks, task_complete, task);
	default:
		return -EINVAL;
	}
}

static void task_retire(struct bdevperf_task *task)
{
	struct bdevperf_job *job = task->job;

	if (job->inflight != NULL) {
		unit_mark(job, (task->offset_blocks - job->first_block) / job->io_blocks, false);
	}
	job->outstanding--;
	if (job->stopping && job->outstanding == 0) {
		job_finish(job);
	}
}

static void task_submit(struct bdevperf_task *task);

static void task_retry(void *arg)
{
	struct bdevperf_task *task = arg;

	if (task->job->gave_up) {
		task_retire(task); /* do not start new I/O for a job that gave up */
		return;
	}
	task_submit(task);
}

/* Issues the prepared I/O; waits for a free brisk_bdev_io on -ENOMEM. */
static void task_submit(struct bdevperf_task *task)
{
	struct bdevperf_job *job = task->job;
	int rc;

	rc = task_issue(task);
	if (rc == 0) {
		return;
	}
	if (rc == -ENOMEM) {
		task->wait.bdev = job->bdev;
		task->wait.cb_fn = task_retry;
		task->wait.cb_arg = task;
		if (brisk_bdev_queue_io_wait(job->bdev, job->ch, &task->wait) == 0) {
			return;
		}
		/* -EINVAL: I/Os were freed meanwhile; try once more through a message. */
		brisk_thread_send_msg(job->thread, task_retry, task);
		return;
	}
	/* Refused outright (bad range, read-only...): retrying would spin, so the task retires. */
	if (job->gave_up) {
		task_retire(task); /* results are frozen: nothing more is counted */
		return;
	}
	job_record_error(job, task, rc);
	if (job->error_logs++ < JOB_MAX_ERROR_LOGS) {
		BRISK_ERRLOG("bdevperf: job %s: submission of I/O type %d at block %" PRIu64
			     " failed: %s\n", job->name, task->io_type, task->offset_blocks, strerror(-rc));
	}
	task_retire(task);
}

static void job_stop_msg(void *arg);

static void task_next(struct bdevperf_task *task)
{
	struct bdevperf_job *job = task->job;

	if (g_io_count != 0 && job->result.ios + job->result.failed >= g_io_count) {
		job_stop_msg(job); /* the job's own stop, as the end of -t would send */
	}
	if (job->stopping) {
		task_retire(task);
		return;
	}
	if (job->inflight != NULL) {
		unit_mark(job, (task->offset_blocks - job->first_block) / job->io_blocks, false);
	}
	task_prepare(task);
	task_submit(task);
}

static void task_record(struct bdevperf_job *job, struct bdevperf_task *task, uint64_t now)
{
	uint64_t lat = now - task->submit_ticks;
	struct bdevperf_result *r = &job->result;

	r->ios++;
	if (task->io_type == BRISK_BDEV_IO_TYPE_READ || task->io_type == BRISK_BDEV_IO_TYPE_WRITE) {
		r->bytes += job->params.io_size;
	}
	r->lat_sum += lat;
	if (lat < r->lat_min) {
		r->lat_min = lat;
	}
	if (lat > r->lat_max) {
		r->lat_max = lat;
	}
	bdevperf_hist_add(&r->hist, lat);
	/* Relaxed: the app thread only shows these in the progress line. */
	__atomic_store_n(&job->progress_ios, r->ios, __ATOMIC_RELAXED);
	__atomic_store_n(&job->progress_bytes, r->bytes, __ATOMIC_RELAXED);
}

static void task_complete(struct brisk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct bdevperf_task *task = cb_arg;
	struct bdevperf_job *job = task->job;
	uint64_t now = brisk_get_ticks();
	int status = brisk_bdev_io_get_status(bdev_io);
	int err = brisk_bdev_io_get_errno(bdev_io);
	uint64_t bad = 0;

	brisk_bdev_free_io(bdev_io);
	if (job->gave_up) {
		/* The app thread has read the results: they are frozen. */
		task_retire(task);
		return;
	}
	if (!success) {
		if (status == BRISK_BDEV_IO_STATUS_ABORTED && job->params.workload == WORKLOAD_RESET) {
			job->result.aborted++; /* expected: a reset aborted it */
		} else {
			job_record_error(job, task, err);
			if (job->error_logs++ < JOB_MAX_ERROR_LOGS) {
				BRISK_ERRLOG("bdevperf: job %s: I/O type %d at block %" PRIu64 " (%" PRIu64
					     " blocks) failed: %s\n", job->name, task->io_type,
					     task->offset_blocks, job->io_blocks, strerror(-err));
			}
		}
		task_next(task);
		return;
	}
	task_record(job, task, now);
	if (job->verify && !task->verify_read) {
		/* The write landed: read it back into the other buffer and check it. */
		task->verify_read = true;
		task->io_type = BRISK_BDEV_IO_TYPE_READ;
		task_submit(task);
		return;
	}
	if (job->verify &&
	    bdevperf_pattern_check(brisk_bdev_get_name(job->bdev), task->check_buf, job->params.io_size,
				   job->block_size, task->offset_blocks, task->seed, &bad) != 0) {
		if (job->result.miscompares++ == 0) {
			job->result.first_miscompare_offset = bad;
		}
	}
	task_next(task);
}

static void reset_complete(struct brisk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct bdevperf_job *job = cb_arg;

	brisk_bdev_free_io(bdev_io);
	job->reset_in_flight = false;
	if (job->gave_up) {
		/* results frozen: not counted */
	} else if (success) {
		job->result.resets++;
	} else {
		job->result.failed++;
		BRISK_ERRLOG("bdevperf: job %s: reset of bdev %s failed\n", job->name, job->bdev_name);
	}
	job->outstanding--;
	if (job->stopping && job->outstanding == 0) {
		job_finish(job);
	}
}

static int job_reset_poll(void *arg)
{
	struct bdevperf_job *job = arg;
	int rc;

	if (job->stopping || job->reset_in_flight) {
		return BRISK_POLLER_IDLE;
	}
	rc = brisk_bdev_reset(job->desc, job->ch, reset_complete, job);
	if (rc == 0) {
		job->reset_in_flight = true;
		job->outstanding++;
	} else if (rc != -ENOMEM) {
		job->result.failed++;
		BRISK_ERRLOG("bdevperf: job %s: reset submission failed: %s\n", job->name, strerror(-rc));
	}
	return BRISK_POLLER_BUSY;
}

/* ---- Job life (see the list at the top) ---- */

static void job_started_msg(void *arg)
{
	struct bdevperf_job *job = arg;

	if (job->setup_rc != 0) {
		job->app_done = true;
	}
	job->started_cb(job, job->setup_rc);
}

static void job_done_msg(void *arg)
{
	struct bdevperf_job *job = arg;

	job->app_done = true;
	job->done_cb(job, 0);
}

static void job_gave_up_msg(void *arg)
{
	struct bdevperf_job *job = arg;

	job->done_cb(job, -ETIMEDOUT);
}

static void job_release(struct bdevperf_job *job)
{
	if (job->tasks != NULL) {
		for (uint32_t i = 0; i < job->params.queue_depth; i++) {
			brisk_free(job->tasks[i].buf);
			brisk_free(job->tasks[i].check_buf);
			job->tasks[i].buf = job->tasks[i].check_buf = NULL;
		}
	}
	brisk_poller_unregister(&job->reset_poller);
	brisk_poller_unregister(&job->drain_poller);
	if (job->ch != NULL) {
		brisk_put_io_channel(job->ch);
		job->ch = NULL;
	}
	brisk_thread_exit(job->thread);
}

static void job_setup(void *arg)
{
	struct bdevperf_job *job = arg;
	size_t align = brisk_bdev_get_buf_align(job->bdev);
	int rc = 0;

	job->ch = brisk_bdev_get_io_channel(job->desc);
	if (job->ch == NULL) {
		BRISK_ERRLOG("bdevperf: job %s: cannot get an I/O channel of bdev %s\n", job->name,
			     job->bdev_name);
		rc = -ENOMEM;
	}
	for (uint32_t i = 0; rc == 0 && i < job->params.queue_depth; i++) {
		struct bdevperf_task *task = &job->tasks[i];

		task->job = job;
		task->buf = brisk_dma_malloc(job->params.io_size, align, NULL);
		if (task->buf != NULL && job->verify) {
			task->check_buf = brisk_dma_malloc(job->params.io_size, align, NULL);
		}
		if (task->buf == NULL || (job->verify && task->check_buf == NULL)) {
			BRISK_ERRLOG("bdevperf: job %s: out of DMA memory for %u buffers of %" PRIu64
				     " bytes (raise -s)\n", job->name, job->params.queue_depth,
				     job->params.io_size);
			rc = -ENOMEM;
			break;
		}
		/* Writes of the plain write workloads carry a recognisable pattern too. */
		bdevperf_pattern_fill(task->buf, job->params.io_size, job->block_size, 0, i);
	}
	job->setup_rc = rc;
	if (rc != 0) {
		job_release(job);
		job->finished = true;
	}
	brisk_thread_send_msg(job->app_thread, job_started_msg, job);
}

static void job_go(void *arg)
{
	struct bdevperf_job *job = arg;

	if (job->stopping || job->finished) {
		return;
	}
	job->start_ticks = brisk_get_ticks();
	if (job->params.workload == WORKLOAD_RESET) {
		uint64_t period = (uint64_t)job->params.time_sec * 1000000 / 4;

		if (period > JOB_RESET_PERIOD_US) {
			period = JOB_RESET_PERIOD_US;
		}
		job->reset_poller = brisk_poller_register_named(job_reset_poll, job, period,
							       "bdevperf_reset");
	}
	job->outstanding = job->params.queue_depth;
	for (uint32_t i = 0; i < job->params.queue_depth && !job->stopping; i++) {
		task_prepare(&job->tasks[i]);
		task_submit(&job->tasks[i]);
	}
}

static void job_finish(struct bdevperf_job *job)
{
	if (job->finished) {
		return;
	}
	job->finished = true;
	job_release(job);
	brisk_thread_send_msg(job->app_thread, job_done_msg, job);
}

/* The drain timer: I/O still in flight --drain-timeout after the stop. The
 * job gives up on them: its results freeze (the message to the app thread
 * publishes them) and everything those I/O use stays allocated. */
static int job_drain_timeout(void *arg)
{
	struct bdevperf_job *job = arg;

	brisk_poller_unregister(&job->drain_poller);
	if (job->finished || job->outstanding == 0) {
		return BRISK_POLLER_IDLE;
	}
	job->gave_up = true;
	job->left_outstanding = job->outstanding;
	if (brisk_thread_send_msg(job->app_thread, job_gave_up_msg, job) != 0) {
		/* The app thread's own deadline (bdevperf.c) names this job then. */
		BRISK_ERRLOG("bdevperf: job %s: cannot report its %u outstanding I/O to the app thread\n",
			     job->name, job->left_outstanding);
	}
	return BRISK_POLLER_BUSY;
}

static void job_stop_msg(void *arg)
{
	struct bdevperf_job *job = arg;

	if (job->stopping || job->finished) {
		return;
	}
	job->stopping = true;
	job->result.run_ticks = job->start_ticks != 0 ? brisk_get_ticks() - job->start_ticks : 0;
	brisk_poller_unregister(&job->reset_poller);
	if (job->outstanding == 0) {
		job_finish(job);
		return;
	}
	if (g_drain_timeout_sec > 0) {
		job->drain_poller = brisk_poller_register_named(job_drain_timeout, job,
				    (uint64_t)g_drain_timeout_sec * 1000000, "bdevperf_drain");
		if (job->drain_poller == NULL) {
			BRISK_WARNLOG("bdevperf: job %s: no drain timer: waiting for its I/O without a "
				      "limit\n", job->name);
		}
	}
}

int bdevperf_job_start(struct bdevperf_job *job, bdevperf_job_cb started, bdevperf_job_cb done)
{
	struct brisk_cpuset mask;

	job->started_cb = started;
	job->done_cb = done;
	brisk_cpuset_zero(&mask);
	brisk_cpuset_set_cpu(&mask, job->core, true);
	job->thread = brisk_thread_create(job->name, &mask);
	if (job->thread == NULL) {
		BRISK_ERRLOG("bdevperf: cannot create the thread of job %s on core %u\n", job->name,
			     job->core);
		return -ENOMEM;
	}
	return brisk_thread_send_msg(job->thread, job_setup, job);
}

static void job_go_or_stop(struct bdevperf_job *job, brisk_msg_fn fn)
{
	if (job->thread != NULL && !job->app_done) {
		brisk_thread_send_msg(job->thread, fn, job);
	}
}

void bdevperf_job_go(struct bdevperf_job *job)
{
	job_go_or_stop(job, job_go);
}

void bdevperf_job_stop(struct bdevperf_job *job)
{
	job_go_or_stop(job, job_stop_msg);
}

void bdevperf_job_free(struct bdevperf_job *job)
{
	if (job == NULL) {
		return;
	}
	brisk_bdev_close(job->desc);
	free(job->inflight);
	free(job->tasks);
	free(job->bdev_name);
	free(job);
}

void bdevperf_job_progress(const struct bdevperf_job *job, uint64_t *ios, uint64_t *bytes)
{
	*ios = __atomic_load_n(&job->progress_ios, __ATOMIC_RELAXED);
	*bytes = __atomic_load_n(&job->progress_bytes, __ATOMIC_RELAXED);
}

const struct bdevperf_result *bdevperf_job_result(const struct bdevperf_job *job)
{
	return &job->result;
}

const char *bdevperf_job_name(const struct bdevperf_job *job)
{
	return job->name;
}

uint32_t bdevperf_job_outstanding(const struct bdevperf_job *job)
{
	return job->left_outstanding;
}

uint32_t bdevperf_job_index(const struct bdevperf_job *job)
{
	return job->index;
}

const char *bdevperf_job_bdev_name(const struct bdevperf_job *job)
{
	return job->bdev_name;
}

bool bdevperf_job_bdev_removed(const struct bdevperf_job *job)
{
	return job->bdev_removed;
}

uint32_t bdevperf_job_core(const struct bdevperf_job *job)
{
	return job->core;
}
