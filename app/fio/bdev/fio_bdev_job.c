/*
 * One Brisk thread per fio job for the brisk_bdev engine.
 *
 * fio's job thread is not a Brisk thread, and bdev I/O must be submitted and
 * completed on the thread that owns the channel. So each job gets a Brisk
 * thread placed on a reactor (jobs round-robin over the reactor cores):
 *   submit      fio's thread sends the request by message (one per I/O)
 *   job_submit  on the Brisk thread: brisk_bdev_read/write/unmap/flush
 *   job_io_done the completion goes into the job's completion ring
 *   reap        fio's thread takes completions from the ring; when there are
 *               none it spins briefly, then sleeps on an eventfd that the
 *               Brisk thread writes only while the reaper is marked asleep
 *               (so a busy job pays no system call per I/O).
 * Set-up and tear-down (job_open, job_close) also run on the Brisk thread;
 * fio's thread waits for them on a semaphore.
 *
 * With inline polling (the engine's inline_poll option, SPDK's plugin's model)
 * the job's Brisk thread is on no reactor: fio's job thread is its current
 * thread and polls it, submit calls job_submit directly and reap polls until
 * enough completions are in the ring. No hop, no wake-up, one OS thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <brisk/bdev.h>
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ring.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "fio_bdev.h"

/* How long reap spins before it sleeps: long enough to cover the usual wait
 * of a busy job (a message there and a completion back), short enough that
 * a job waiting on a slow device does not hold a core. */
#define JOB_SPIN_US 50

struct brisk_fio_job {
	struct brisk_thread *thread;
	uint32_t count;
	char **names;
	struct brisk_bdev_desc **descs;
	struct brisk_io_channel **chs;
	uint64_t *num_blocks;
	struct brisk_ring *cpl;       /* single producer (Brisk thread), single consumer (fio) */
	int efd;
	atomic_bool waiting;          /* the reaper sleeps (or is about to) on efd */
	sem_t done;                   /* job_open / job_close finished */
	int rc;
	bool inline_poll;             /* fio's thread polls `thread` itself */
};

static atomic_uint g_next_job;

static inline void job_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* ---- Completion: Brisk thread to fio's thread ---- */

static void job_complete(struct brisk_fio_req *req, int status)
{
	struct brisk_fio_job *job = req->job;
	uint64_t one = 1;

	req->status = status;
	if (brisk_ring_sp_enqueue_bulk(job->cpl, (void **)&req, 1, NULL) != 1) {
		/* cannot happen: the ring holds more than the job's depth */
		BRISK_ERRLOG("brisk_bdev: completion ring full; an I/O is lost\n");
		return;
	}
	/* seq_cst fence: the enqueue must be visible before we read `waiting`,
	 * mirrored in job_sleep (store `waiting`, fence, check the ring): one of
	 * the two sides always sees the other, so no wake-up is missed. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&job->waiting, memory_order_relaxed)) {
		if (write(job->efd, &one, sizeof(one)) < 0) {
			BRISK_ERRLOG("brisk_bdev: eventfd write: %s\n", strerror(errno));
		}
	}
}

static void job_io_done(struct brisk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	brisk_bdev_free_io(bdev_io);
	job_complete(cb_arg, success ? 0 : -EIO);
}

/* ---- Submission, on the Brisk thread ---- */

static int job_submit_op(struct brisk_fio_job *job, struct brisk_fio_req *req)
{
	struct brisk_bdev_desc *desc = job->descs[req->bdev_index];
	struct brisk_io_channel *ch = job->chs[req->bdev_index];

	switch (req->op) {
	case BRISK_FIO_READ:
		return brisk_bdev_read(desc, ch, req->buf, req->offset, req->len, job_io_done, req);
	case BRISK_FIO_WRITE:
		return brisk_bdev_write(desc, ch, req->buf, req->offset, req->len, job_io_done, req);
	case BRISK_FIO_UNMAP:
		return brisk_bdev_unmap(desc, ch, req->offset, req->len, job_io_done, req);
	case BRISK_FIO_FLUSH:
		if (!brisk_bdev_io_type_supported(brisk_bdev_desc_get_bdev(desc), BRISK_BDEV_IO_TYPE_FLUSH)) {
			return -ENOTSUP; /* nothing cached: job_submit completes it as done */
		}
		return brisk_bdev_flush_blocks(desc, ch, 0, job->num_blocks[req->bdev_index], job_io_done,
					       req);
	}
	return -EINVAL;
}

static void job_submit(void *ctx)
{
	struct brisk_fio_req *req = ctx;
	struct brisk_fio_job *job = req->job;
	int rc = job_submit_op(job, req);

	if (rc == -ENOMEM) {
		/* every brisk_bdev_io in use: submit again when one is freed */
		req->wait.bdev = brisk_bdev_desc_get_bdev(job->descs[req->bdev_index]);
		req->wait.cb_fn = job_submit;
		req->wait.cb_arg = req;
		rc = brisk_bdev_queue_io_wait(req->wait.bdev, job->chs[req->bdev_index], &req->wait);
		if (rc == -EINVAL) {
			job_submit(req); /* freed meanwhile */
			return;
		}
	} else if (rc == -ENOTSUP && req->op == BRISK_FIO_FLUSH) {
		rc = 0;
		job_complete(req, 0);
	} else if (rc != 0) {
		job_complete(req, rc);
	}
}

int brisk_fio_job_submit(struct brisk_fio_job *job, struct brisk_fio_req *req)
{
	req->job = job;
	if (job->inline_poll) {
		job_submit(req); /* fio's thread is the job's Brisk thread */
		return 0;
	}
	return brisk_thread_send_msg(job->thread, job_submit, req) == -ENOMEM ? -EAGAIN : 0;
}

/* ---- Reaping, on fio's thread ---- */

static uint64_t job_deadline(const struct timespec *timeout)
{
	uint64_t hz = brisk_get_ticks_hz();

	if (timeout == NULL) {
		return UINT64_MAX;
	}
	return brisk_get_ticks() + (uint64_t)timeout->tv_sec * hz + (uint64_t)timeout->tv_nsec * hz / 1000000000ull;
}

/* Sleeps on the eventfd until the Brisk thread completes something (or the
 * deadline). The ring is checked after `waiting` is set: see job_complete. */
static void job_sleep(struct brisk_fio_job *job, uint64_t deadline)
{
	struct pollfd pfd = { .fd = job->efd, .events = POLLIN };
	uint64_t now, hz = brisk_get_ticks_hz(), buf;
	int ms = -1;

	atomic_store_explicit(&job->waiting, true, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst);
	if (brisk_ring_empty(job->cpl)) {
		if (deadline != UINT64_MAX) {
			now = brisk_get_ticks();
			ms = now >= deadline ? 0 : (int)((deadline - now) * 1000 / hz) + 1;
		}
		if (poll(&pfd, 1, ms) > 0 && read(job->efd, &buf, sizeof(buf)) < 0) {
			BRISK_ERRLOG("brisk_bdev: eventfd read: %s\n", strerror(errno));
		}
	}
	atomic_store_explicit(&job->waiting, false, memory_order_relaxed);
}

/* Between two looks at the ring (reactor placement): spin a while, then sleep. */
static void job_wait(struct brisk_fio_job *job, uint64_t now, uint64_t deadline, uint64_t *spin_end)
{
	if (*spin_end == 0) {
		*spin_end = now + brisk_get_ticks_hz() * JOB_SPIN_US / 1000000;
	}
	if (now < *spin_end) {
		job_cpu_relax();
	} else {
		job_sleep(job, deadline);
	}
}

uint32_t brisk_fio_job_reap(struct brisk_fio_job *job, struct brisk_fio_req **reqs, uint32_t min,
			    uint32_t max, const struct timespec *timeout)
{
	uint64_t deadline = job_deadline(timeout), spin_end = 0, now;
	uint32_t n = 0;

	for (;;) {
		if (job->inline_poll) {
			brisk_thread_poll(job->thread, 0, 0); /* completions land in the ring */
		}
		n += brisk_ring_sc_dequeue_burst(job->cpl, (void **)reqs + n, max - n, NULL);
		now = brisk_get_ticks();
		if (n >= min || n == max || now >= deadline) {
			return n;
		}
		if (!job->inline_poll) {
			job_wait(job, now, deadline, &spin_end);
		}
	}
}

/* ---- Set-up and tear-down, on the Brisk thread ---- */

static void job_bdev_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	if (type == BRISK_BDEV_EVENT_REMOVE) {
		BRISK_WARNLOG("brisk_bdev: bdev '%s' is being removed under a fio job; its I/O will fail\n",
			      brisk_bdev_get_name(bdev));
	}
}

static void job_close_bdevs(struct brisk_fio_job *job)
{
	for (uint32_t i = 0; i < job->count; i++) {
		if (job->chs[i] != NULL) {
			brisk_put_io_channel(job->chs[i]);
			job->chs[i] = NULL;
		}
		if (job->descs[i] != NULL) {
			brisk_bdev_close(job->descs[i]);
			job->descs[i] = NULL;
		}
	}
}

static int job_open_one(struct brisk_fio_job *job, uint32_t i)
{
	struct brisk_bdev *bdev;
	int rc = brisk_bdev_open_ext(job->names[i], true, job_bdev_event, job, &job->descs[i]);

	if (rc == -EPERM) {
		bdev = brisk_bdev_get_by_name(job->names[i]);
		BRISK_ERRLOG("brisk_bdev: bdev '%s' is claimed by the %s module: it cannot be written "
			     "directly (use the bdev built on it)\n", job->names[i],
			     bdev != NULL ? brisk_bdev_get_claim_module_name(bdev) : "?");
		return rc;
	}
	if (rc != 0) {
		BRISK_ERRLOG("brisk_bdev: cannot open bdev '%s': %s\n", job->names[i], strerror(-rc));
		return rc;
	}
	job->num_blocks[i] = brisk_bdev_get_num_blocks(brisk_bdev_desc_get_bdev(job->descs[i]));
	job->chs[i] = brisk_bdev_get_io_channel(job->descs[i]);
	if (job->chs[i] == NULL) {
		BRISK_ERRLOG("brisk_bdev: no I/O channel for bdev '%s'\n", job->names[i]);
		return -ENOMEM;
	}
	return 0;
}

static void job_open(void *ctx)
{
	struct brisk_fio_job *job = ctx;

	job->rc = 0;
	for (uint32_t i = 0; i < job->count && job->rc == 0; i++) {
		job->rc = job_open_one(job, i);
	}
	if (job->rc != 0) {
		job_close_bdevs(job);
		brisk_thread_exit(brisk_get_thread());
	}
	sem_post(&job->done); /* last touch of job on this thread */
}

static void job_close(void *ctx)
{
	struct brisk_fio_job *job = ctx;

	job_close_bdevs(job);
	brisk_thread_exit(brisk_get_thread());
	sem_post(&job->done);
}

static void job_wait_done(struct brisk_fio_job *job)
{
	while (sem_wait(&job->done) != 0 && errno == EINTR) {
	}
}

/* ---- Creation ---- */

static void job_free(struct brisk_fio_job *job)
{
	if (job->names != NULL) {
		for (uint32_t i = 0; i < job->count; i++) {
			free(job->names[i]);
		}
	}
	free(job->names);
	free(job->descs);
	free(job->chs);
	free(job->num_blocks);
	brisk_ring_free(job->cpl);
	if (job->efd >= 0) {
		close(job->efd);
	}
	sem_destroy(&job->done);
	free(job);
}

/* The next reactor core, round-robin over the env's cores. */
static uint32_t job_pick_core(uint32_t nth)
{
	uint32_t core, first = brisk_env_get_first_core(), i = 0;

	nth %= brisk_env_get_core_count();
	BRISK_ENV_FOREACH_CORE(core) {
		if (i++ == nth) {
			return core;
		}
	}
	return first;
}

static int job_alloc_parts(struct brisk_fio_job *job, const char *const *names, uint32_t depth,
			   uint32_t id)
{
	char ring_name[BRISK_RING_NAMESIZE];
	uint32_t size = 2;

	job->names = calloc(job->count, sizeof(*job->names));
	job->descs = calloc(job->count, sizeof(*job->descs));
	job->chs = calloc(job->count, sizeof(*job->chs));
	job->num_blocks = calloc(job->count, sizeof(*job->num_blocks));
	if (job->names == NULL || job->descs == NULL || job->chs == NULL || job->num_blocks == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < job->count; i++) {
		job->names[i] = strdup(names[i]);
		if (job->names[i] == NULL) {
			return -ENOMEM;
		}
	}
	while (size <= depth) { /* capacity size - 1 >= depth */
		size *= 2;
	}
	snprintf(ring_name, sizeof(ring_name), "fio_cpl_%u", id);
	job->cpl = brisk_ring_create(ring_name, size, BRISK_ENV_SOCKET_ID_ANY,
				     BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ);
	job->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return job->cpl == NULL || job->efd < 0 ? -ENOMEM : 0;
}

/* Inline: the thread's exit was started; poll it to the end and free it. */
static void job_inline_finish(struct brisk_fio_job *job)
{
	while (!brisk_thread_is_exited(job->thread)) {
		brisk_thread_poll(job->thread, 0, 0);
	}
	brisk_thread_destroy(job->thread);
	brisk_set_thread(NULL);
	job->thread = NULL;
}

static int job_start_inline(struct brisk_fio_job *job, const char *name)
{
	job->thread = brisk_thread_create_unscheduled(name, NULL);
	if (job->thread == NULL) {
		BRISK_ERRLOG("brisk_bdev: cannot create the job's Brisk thread\n");
		return -ENOMEM;
	}
	brisk_set_thread(job->thread);
	job_open(job);
	job_wait_done(job);
	if (job->rc != 0) {
		job_inline_finish(job);
	}
	return job->rc;
}

static int job_start_thread(struct brisk_fio_job *job, uint32_t id)
{
	struct brisk_cpuset mask;
	char name[BRISK_THREAD_NAME_MAX];

	brisk_cpuset_zero(&mask);
	brisk_cpuset_set_cpu(&mask, job_pick_core(id), true);
	snprintf(name, sizeof(name), "fio_job_%u", id);
	if (job->inline_poll) {
		return job_start_inline(job, name);
	}
	job->thread = brisk_thread_create(name, &mask);
	if (job->thread == NULL) {
		BRISK_ERRLOG("brisk_bdev: cannot create the job's Brisk thread\n");
		return -ENOMEM;
	}
	if (brisk_thread_send_msg(job->thread, job_open, job) != 0) {
		return -ENOMEM; /* a new thread's ring is empty: not expected */
	}
	job_wait_done(job);
	return job->rc;
}

struct brisk_fio_job *brisk_fio_job_create(const char *const *names, uint32_t count,
					   uint32_t depth, bool inline_poll, int *rc)
{
	uint32_t id = atomic_fetch_add(&g_next_job, 1);
	struct brisk_fio_job *job = calloc(1, sizeof(*job));

	if (job == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	job->count = count;
	job->inline_poll = inline_poll;
	job->efd = -1;
	sem_init(&job->done, 0, 0);
	*rc = job_alloc_parts(job, names, depth, id);
	if (*rc == 0) {
		*rc = job_start_thread(job, id);
	}
	if (*rc != 0) {
		job_free(job);
		return NULL;
	}
	return job;
}

void brisk_fio_job_destroy(struct brisk_fio_job *job)
{
	if (job->inline_poll) {
		job_close(job);
		job_wait_done(job);
		job_inline_finish(job);
		job_free(job);
		return;
	}
	if (brisk_thread_send_msg(job->thread, job_close, job) != 0) {
		BRISK_ERRLOG("brisk_bdev: cannot reach the job's Brisk thread to close its bdevs\n");
		return; /* leaked rather than freed under the thread */
	}
	job_wait_done(job);
	job_free(job);
}
