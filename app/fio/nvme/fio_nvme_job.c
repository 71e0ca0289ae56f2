/*
 * A brisk_nvme fio job: one I/O queue pair per controller its files are on,
 * used only from the job's own OS thread, as the driver requires. Submission
 * goes straight to the driver; reap polls the qpairs until enough commands
 * completed (the driver never completes inside the submitting call, so the
 * completion callback only ever runs in reap).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/nvme.h>
#include <brisk/ticks.h>

#include "fio_nvme.h"

struct brisk_fio_nvme_job {
	uint32_t count;
	struct brisk_fio_nvme_target *targets;
	struct brisk_nvme_qpair **qpairs;     /* per target (shared by targets of one controller) */
	uint32_t num_owned;
	struct brisk_nvme_qpair **owned;      /* distinct qpairs, to poll and free */
	struct brisk_fio_nvme_req **done;     /* completed, not yet reaped */
	uint32_t num_done;
	uint32_t depth;
};

static void job_cmd_done(void *cb_arg, const struct brisk_nvme_cpl *cpl)
{
	struct brisk_fio_nvme_req *req = cb_arg;
	struct brisk_fio_nvme_job *job = req->job;

	req->status = brisk_nvme_cpl_is_error(cpl) ? -EIO : 0;
	if (req->status != 0) {
		BRISK_ERRLOG("brisk_nvme: I/O at offset %lu failed: %s\n", (unsigned long)req->offset,
			     brisk_nvme_cpl_get_status_string(&cpl->status));
	}
	job->done[job->num_done++] = req; /* at most depth requests are ever in flight */
}

static int job_submit_op(struct brisk_fio_nvme_req *req, const struct brisk_fio_nvme_target *t,
			 struct brisk_nvme_qpair *qp)
{
	uint64_t lba = req->offset / t->sector_size;
	uint32_t count = (uint32_t)(req->len / t->sector_size);

	switch (req->op) {
	case BRISK_FIO_NVME_READ:
		return brisk_nvme_ns_cmd_read(t->ns, qp, req->buf, lba, count, job_cmd_done, req, 0);
	case BRISK_FIO_NVME_WRITE:
		return brisk_nvme_ns_cmd_write(t->ns, qp, req->buf, lba, count, job_cmd_done, req, 0);
	case BRISK_FIO_NVME_TRIM:
		req->range.attributes = BRISK_NVME_DSM_ATTR_DEALLOCATE;
		req->range.length = count;
		req->range.starting_lba = lba;
		return brisk_nvme_ns_cmd_dataset_management(t->ns, qp, BRISK_NVME_DSM_ATTR_DEALLOCATE,
							    &req->range, 1, job_cmd_done, req);
	case BRISK_FIO_NVME_FLUSH:
		return brisk_nvme_ns_cmd_flush(t->ns, qp, job_cmd_done, req);
	}
	return -EINVAL;
}

int brisk_fio_nvme_job_submit(struct brisk_fio_nvme_job *job, struct brisk_fio_nvme_req *req)
{
	const struct brisk_fio_nvme_target *t = &job->targets[req->target];
	int rc;

	req->job = job;
	if (req->offset % t->sector_size != 0 || req->len % t->sector_size != 0) {
		return -EINVAL;
	}
	rc = job_submit_op(req, t, job->qpairs[req->target]);
	return rc == -ENOMEM ? -EAGAIN : rc;
}

static void job_poll(struct brisk_fio_nvme_job *job)
{
	for (uint32_t i = 0; i < job->num_owned; i++) {
		brisk_nvme_qpair_process_completions(job->owned[i], 0);
	}
}

uint32_t brisk_fio_nvme_job_reap(struct brisk_fio_nvme_job *job, struct brisk_fio_nvme_req **reqs,
				 uint32_t min, uint32_t max, const struct timespec *timeout)
{
	uint64_t hz = brisk_get_ticks_hz(), deadline = UINT64_MAX;
	uint32_t n;

	if (timeout != NULL) {
		deadline = brisk_get_ticks() + (uint64_t)timeout->tv_sec * hz +
			   (uint64_t)timeout->tv_nsec * hz / 1000000000ull;
	}
	job_poll(job);
	while (job->num_done < min && brisk_get_ticks() < deadline) {
		job_poll(job);
	}
	n = job->num_done < max ? job->num_done : max;
	memcpy(reqs, job->done, n * sizeof(*reqs));
	/* the ones beyond max wait for the next reap */
	memmove(job->done, job->done + n, (job->num_done - n) * sizeof(*reqs));
	job->num_done -= n;
	return n;
}

/* A qpair for target i: the one an earlier target on the same controller got, or a new one. */
static int job_get_qpair(struct brisk_fio_nvme_job *job, uint32_t i)
{
	struct brisk_nvme_io_qpair_opts opts;

	for (uint32_t j = 0; j < i; j++) {
		if (job->targets[j].ctrlr == job->targets[i].ctrlr) {
			job->qpairs[i] = job->qpairs[j];
			return 0;
		}
	}
	brisk_nvme_ctrlr_get_default_io_qpair_opts(job->targets[i].ctrlr, &opts);
	if (opts.io_queue_requests < job->depth) {
		opts.io_queue_requests = job->depth; /* a fio job never waits on the driver's pool */
	}
	job->qpairs[i] = brisk_nvme_ctrlr_alloc_io_qpair(job->targets[i].ctrlr, &opts);
	if (job->qpairs[i] == NULL) {
		return -ENOMEM;
	}
	job->owned[job->num_owned++] = job->qpairs[i];
	return 0;
}

void brisk_fio_nvme_job_destroy(struct brisk_fio_nvme_job *job)
{
	for (uint32_t i = 0; i < job->num_owned; i++) {
		brisk_nvme_ctrlr_free_io_qpair(job->owned[i]);
	}
	free(job->targets);
	free(job->qpairs);
	free(job->owned);
	free(job->done);
	free(job);
}

struct brisk_fio_nvme_job *brisk_fio_nvme_job_create(const struct brisk_fio_nvme_target *targets,
						     uint32_t count, uint32_t depth, int *rc)
{
	struct brisk_fio_nvme_job *job = calloc(1, sizeof(*job));

	*rc = -ENOMEM;
	if (job == NULL) {
		return NULL;
	}
	job->count = count;
	job->depth = depth;
	job->targets = calloc(count, sizeof(*targets));
	job->qpairs = calloc(count, sizeof(*job->qpairs));
	job->owned = calloc(count, sizeof(*job->owned));
	job->done = calloc(depth, sizeof(*job->done));
	if (job->targets != NULL && job->qpairs != NULL && job->owned != NULL && job->done != NULL) {
		memcpy(job->targets, targets, count * sizeof(*targets));
		*rc = 0;
		for (uint32_t i = 0; i < count && *rc == 0; i++) {
			*rc = job_get_qpair(job, i);
		}
	}
	if (*rc != 0) {
		brisk_fio_nvme_job_destroy(job);
		return NULL;
	}
	return job;
}
