/*
 * I/O queue pairs as the caller sees them: allocation (a queue id, memory,
 * Create I/O CQ then SQ on the controller), deletion (Delete SQ then CQ,
 * whatever was outstanding completes with ABORTED_SQ_DELETION), polling.
 */
#include <errno.h>
#include <stdlib.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

void brisk_nvme_ctrlr_get_default_io_qpair_opts(struct brisk_nvme_ctrlr *ctrlr,
					       struct brisk_nvme_io_qpair_opts *opts)
{
	opts->io_queue_size = ctrlr->opts.io_queue_size;
	opts->io_queue_requests = ctrlr->opts.io_queue_requests;
}

/*
 * Next-fit, not lowest-free: a fabrics target may still be tearing down the
 * queue a freed ID named (Linux's nvmet-tcp releases it asynchronously after
 * the socket closes) and answers a Connect that reuses it at once with
 * COMMAND SEQUENCE ERROR. Cycling through the IDs gives it time.
 */
int nvme_ctrlr_qid_alloc(struct brisk_nvme_ctrlr *ctrlr)
{
	uint32_t n = ctrlr->max_io_queues;

	for (uint32_t i = 1; i <= n; i++) {
		uint32_t qid = (ctrlr->qid_last + i - 1) % n + 1;

		if (!(ctrlr->qid_used[qid / 8] & (1u << (qid % 8)))) {
			ctrlr->qid_used[qid / 8] |= (uint8_t)(1u << (qid % 8));
			ctrlr->qid_last = qid;
			return (int)qid;
		}
	}
	return -ENOSPC;
}

void nvme_ctrlr_qid_free(struct brisk_nvme_ctrlr *ctrlr, uint16_t qid)
{
	ctrlr->qid_used[qid / 8] &= (uint8_t)~(1u << (qid % 8));
}

/* Create I/O CQ, then its SQ; synchronous. */
int nvme_ctrlr_create_io_queues(struct brisk_nvme_qpair *qpair)
{
	struct brisk_nvme_ctrlr *ctrlr = qpair->ctrlr;
	struct nvme_wait w = { 0 };
	int rc;

	nvme_qpair_reset_rings(qpair);
	if (ctrlr->ops->qpair_connect != NULL) {
		rc = ctrlr->ops->qpair_connect(qpair);
		qpair->is_enabled = rc == 0;
		return rc;
	}
	rc = nvme_admin_create_io_cq(ctrlr, qpair, nvme_wait_cb, &w);
	rc = rc != 0 ? rc : nvme_wait_for(ctrlr, NULL, &w);
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: Create I/O CQ %u failed: %s\n", ctrlr->trid.traddr, qpair->id,
			     brisk_nvme_cpl_get_status_string(&w.cpl.status));
		return rc;
	}
	w.done = false;
	rc = nvme_admin_create_io_sq(ctrlr, qpair, nvme_wait_cb, &w);
	rc = rc != 0 ? rc : nvme_wait_for(ctrlr, NULL, &w);
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: Create I/O SQ %u failed: %s\n", ctrlr->trid.traddr, qpair->id,
			     brisk_nvme_cpl_get_status_string(&w.cpl.status));
		w.done = false;
		if (nvme_admin_delete_io_cq(ctrlr, qpair, nvme_wait_cb, &w) == 0) {
			nvme_wait_for(ctrlr, NULL, &w);
		}
		return rc;
	}
	qpair->is_enabled = true;
	return 0;
}

static uint32_t io_qpair_entries(struct brisk_nvme_ctrlr *ctrlr,
				 const struct brisk_nvme_io_qpair_opts *opts)
{
	uint32_t n = opts->io_queue_size ? opts->io_queue_size : ctrlr->opts.io_queue_size;
	uint32_t transport_max = ctrlr->ops->max_queue_entries(ctrlr);

	n = n < ctrlr->max_queue_entries ? n : ctrlr->max_queue_entries;
	n = n < transport_max ? n : transport_max;
	return n < 2 ? 2 : n;
}

/* The caller's options over the controller's: 0 means "the default". */
static void io_qpair_opts_merge(struct brisk_nvme_ctrlr *ctrlr,
				const struct brisk_nvme_io_qpair_opts *opts,
				struct brisk_nvme_io_qpair_opts *o)
{
	brisk_nvme_ctrlr_get_default_io_qpair_opts(ctrlr, o);
	if (opts != NULL && opts->io_queue_size != 0) {
		o->io_queue_size = opts->io_queue_size;
	}
	if (opts != NULL && opts->io_queue_requests != 0) {
		o->io_queue_requests = opts->io_queue_requests;
	}
}

struct brisk_nvme_qpair *brisk_nvme_ctrlr_alloc_io_qpair(struct brisk_nvme_ctrlr *ctrlr,
							 const struct brisk_nvme_io_qpair_opts *opts)
{
	struct brisk_nvme_io_qpair_opts o;
	struct brisk_nvme_qpair *qpair;
	uint32_t entries, requests;
	int qid;

	if (nvme_ctrlr_is_failed(ctrlr)) {
		BRISK_ERRLOG("nvme %s: no qpair on a failed controller\n", ctrlr->trid.traddr);
		return NULL;
	}
	io_qpair_opts_merge(ctrlr, opts, &o);
	entries = io_qpair_entries(ctrlr, &o);
	requests = o.io_queue_requests > entries ? o.io_queue_requests : entries;
	if (ctrlr->mp_secondary) {
		return nvme_mp_alloc_io_qpair(ctrlr, entries, requests);
	}
	pthread_mutex_lock(&ctrlr->lock);
	qid = nvme_ctrlr_qid_alloc(ctrlr);
	pthread_mutex_unlock(&ctrlr->lock);
	if (qid < 0) {
		BRISK_ERRLOG("nvme %s: all %u I/O queues are in use\n", ctrlr->trid.traddr,
			     ctrlr->max_io_queues);
		return NULL;
	}
	qpair = nvme_qpair_create(ctrlr, (uint16_t)qid, entries, requests);
	if (qpair == NULL || nvme_ctrlr_create_io_queues(qpair) != 0) {
		nvme_qpair_destroy(qpair);
		pthread_mutex_lock(&ctrlr->lock);
		nvme_ctrlr_qid_free(ctrlr, (uint16_t)qid);
		pthread_mutex_unlock(&ctrlr->lock);
		return NULL;
	}
	pthread_mutex_lock(&ctrlr->lock);
	TAILQ_INSERT_TAIL(&ctrlr->io_qpairs, qpair, link);
	pthread_mutex_unlock(&ctrlr->lock);
	return qpair;
}

static void io_qpair_delete_queues(struct brisk_nvme_qpair *qpair)
{
	struct brisk_nvme_ctrlr *ctrlr = qpair->ctrlr;
	struct nvme_wait w = { 0 };

	if (nvme_ctrlr_is_failed(ctrlr) || !qpair->is_enabled || ctrlr->ops->qpair_connect != NULL) {
		return; /* a fabrics qpair goes with its connection */
	}
	if (ctrlr->mp_secondary) {
		nvme_mp_delete_io_queues(qpair);
		return;
	}
	nvme_qpair_flush_sq(qpair);
	if (nvme_admin_delete_io_sq(ctrlr, qpair, nvme_wait_cb, &w) == 0 &&
	    nvme_wait_for(ctrlr, NULL, &w) == 0) {
		/* Commands that finished (or were aborted) before the SQ went. */
		nvme_qpair_drain_cq(qpair);
	}
	w.done = false;
	if (nvme_admin_delete_io_cq(ctrlr, qpair, nvme_wait_cb, &w) == 0) {
		nvme_wait_for(ctrlr, NULL, &w);
	}
}

int brisk_nvme_ctrlr_free_io_qpair(struct brisk_nvme_qpair *qpair)
{
	struct brisk_nvme_ctrlr *ctrlr;

	if (qpair == NULL || qpair->id == 0) {
		return -EINVAL;
	}
	ctrlr = qpair->ctrlr;
	io_qpair_delete_queues(qpair);
	qpair->is_enabled = false;
	nvme_qpair_abort_outstanding(qpair, BRISK_NVME_SCT_GENERIC,
				     BRISK_NVME_SC_ABORTED_SQ_DELETION, true);
	nvme_qpair_abort_queued(qpair, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_SQ_DELETION);
	nvme_qpair_process(qpair, 0); /* runs those completions */
	pthread_mutex_lock(&ctrlr->lock);
	TAILQ_REMOVE(&ctrlr->io_qpairs, qpair, link);
	nvme_ctrlr_qid_free(ctrlr, qpair->id);
	pthread_mutex_unlock(&ctrlr->lock);
	nvme_qpair_destroy(qpair);
	return 0;
}

int32_t brisk_nvme_qpair_process_completions(struct brisk_nvme_qpair *qpair,
					     uint32_t max_completions)
{
	return nvme_qpair_process(qpair, max_completions);
}

uint32_t brisk_nvme_qpair_get_num_outstanding(struct brisk_nvme_qpair *qpair)
{
	return qpair->num_outstanding + qpair->num_queued + qpair->num_deferred;
}
