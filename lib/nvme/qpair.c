/*
 * Queue pairs of the memory-queue transports: submission and completion
 * rings in DMA memory, a tracker (and its PRP/SGL page) per command
 * identifier, requests from a per-qpair pool, a software queue for requests
 * that find the submission queue full, completions found by the phase bit.
 *
 * A qpair belongs to one thread: nothing here takes a lock (the admin
 * queue's callers hold the controller's lock). Submission only writes the
 * entry; the tail doorbell is written once per batch, when the owner polls.
 * Completions run only from nvme_qpair_process, never inside a submit call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/ticks.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

uint64_t nvme_vtophys(struct brisk_nvme_ctrlr *ctrlr, const void *va, uint64_t *size)
{
	if (ctrlr->va_is_iova) {
		return (uint64_t)(uintptr_t)va;
	}
	return brisk_vtophys(va, size);
}

/* Queue memory must be contiguous for the controller (CAP.CQR). */
static void *qpair_dma_alloc(struct brisk_nvme_ctrlr *ctrlr, size_t len, uint64_t *iova)
{
	uint64_t contig = len;
	void *buf = brisk_dma_zmalloc(len, NVME_PAGE_SIZE, NULL);

	if (buf == NULL) {
		return NULL;
	}
	*iova = nvme_vtophys(ctrlr, buf, &contig);
	if (*iova == BRISK_VTOPHYS_ERROR || contig < len) {
		BRISK_ERRLOG("nvme: %zu bytes of queue memory are not contiguous for DMA\n", len);
		brisk_free(buf);
		return NULL;
	}
	return buf;
}

static int qpair_alloc_trackers(struct brisk_nvme_qpair *qpair)
{
	struct brisk_nvme_ctrlr *ctrlr = qpair->ctrlr;
	uint8_t *page;

	qpair->num_trackers = qpair->num_entries - 1u; /* a full SQ keeps one slot empty */
	qpair->trackers = calloc(qpair->num_trackers, sizeof(*qpair->trackers));
	qpair->list_mem = brisk_dma_zmalloc((size_t)qpair->num_trackers * NVME_PAGE_SIZE,
					    NVME_PAGE_SIZE, NULL);
	if (qpair->trackers == NULL || qpair->list_mem == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < qpair->num_trackers; i++) {
		struct nvme_tracker *tr = &qpair->trackers[i];

		page = (uint8_t *)qpair->list_mem + (size_t)i * NVME_PAGE_SIZE;
		tr->cid = (uint16_t)i;
		tr->list = page;
		tr->list_iova = nvme_vtophys(ctrlr, page, NULL);
		if (tr->list_iova == BRISK_VTOPHYS_ERROR) {
			return -EFAULT;
		}
		TAILQ_INSERT_TAIL(&qpair->free_tr, tr, link);
	}
	return 0;
}

static int qpair_alloc_requests(struct brisk_nvme_qpair *qpair, uint32_t num_requests)
{
	qpair->num_requests = num_requests;
	qpair->reqs = calloc(num_requests, sizeof(*qpair->reqs));
	if (qpair->reqs == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < num_requests; i++) {
		qpair->reqs[i].qpair = qpair;
		STAILQ_INSERT_TAIL(&qpair->free_req, &qpair->reqs[i], link);
	}
	return 0;
}

struct brisk_nvme_qpair *nvme_qpair_create(struct brisk_nvme_ctrlr *ctrlr, uint16_t id,
					   uint32_t num_entries, uint32_t num_requests)
{
	struct brisk_nvme_qpair *qpair = calloc(1, sizeof(*qpair));

	if (qpair == NULL) {
		return NULL;
	}
	qpair->ctrlr = ctrlr;
	qpair->id = id;
	qpair->num_entries = (uint16_t)num_entries;
	TAILQ_INIT(&qpair->free_tr);
	TAILQ_INIT(&qpair->outstanding_tr);
	STAILQ_INIT(&qpair->free_req);
	STAILQ_INIT(&qpair->queued_req);
	STAILQ_INIT(&qpair->deferred_req);
	qpair->sq = qpair_dma_alloc(ctrlr, num_entries * sizeof(struct brisk_nvme_cmd), &qpair->sq_iova);
	qpair->cq = qpair_dma_alloc(ctrlr, num_entries * sizeof(struct brisk_nvme_cpl), &qpair->cq_iova);
	if (qpair->sq == NULL || qpair->cq == NULL || qpair_alloc_trackers(qpair) != 0 ||
	    qpair_alloc_requests(qpair, num_requests) != 0) {
		BRISK_ERRLOG("nvme: no memory for queue pair %u (%u entries)\n", id, num_entries);
		nvme_qpair_destroy(qpair);
		return NULL;
	}
	ctrlr->ops->qpair_init_doorbells(qpair);
	nvme_qpair_reset_rings(qpair);
	return qpair;
}

void nvme_qpair_destroy(struct brisk_nvme_qpair *qpair)
{
	if (qpair == NULL) {
		return;
	}
	if (qpair->ctrlr->ops->qpair_destroy != NULL) {
		qpair->ctrlr->ops->qpair_destroy(qpair);
	}
	brisk_free(qpair->sq);
	brisk_free(qpair->cq);
	brisk_free(qpair->list_mem);
	free(qpair->trackers);
	for (uint32_t i = 0; qpair->reqs != NULL && i < qpair->num_requests; i++) {
		if (qpair->reqs[i].user_copy) {
			free(qpair->reqs[i].buf);
		}
	}
	free(qpair->reqs);
	free(qpair);
}

/* After a reset or before (re)creation: empty rings, phase 1. */
void nvme_qpair_reset_rings(struct brisk_nvme_qpair *qpair)
{
	qpair->sq_tail = 0;
	qpair->sq_head = 0;
	qpair->cq_head = 0;
	qpair->sq_tail_rung = 0;
	qpair->phase = 1;
	memset(qpair->cq, 0, qpair->num_entries * sizeof(struct brisk_nvme_cpl));
}

struct nvme_request *nvme_request_alloc(struct brisk_nvme_qpair *qpair, brisk_nvme_cmd_cb cb_fn,
					void *cb_arg)
{
	struct nvme_request *req = STAILQ_FIRST(&qpair->free_req);

	if (req == NULL) {
		return NULL;
	}
	STAILQ_REMOVE_HEAD(&qpair->free_req, link);
	memset(&req->cmd, 0, sizeof(req->cmd));
	req->payload_type = NVME_PAYLOAD_NONE;
	req->timed_out = false;
	req->user_copy = false;
	req->num_children = 0;
	req->payload_offset = 0;
	req->payload_size = 0;
	req->parent = NULL;
	req->cb_fn = cb_fn;
	req->cb_arg = cb_arg;
	return req;
}

void nvme_request_free(struct nvme_request *req)
{
	if (req->user_copy) {
		free(req->buf);
		req->user_copy = false;
	}
	STAILQ_INSERT_HEAD(&req->qpair->free_req, req, link);
}

static void request_complete_parent(struct nvme_request *parent)
{
	brisk_nvme_cmd_cb cb_fn = parent->cb_fn;
	void *cb_arg = parent->cb_arg;
	struct brisk_nvme_cpl cpl = parent->parent_cpl;

	nvme_request_free(parent);
	if (cb_fn != NULL) {
		cb_fn(cb_arg, &cpl);
	}
}

/* The request goes back to the pool before its callback runs, so the
 * callback can submit again with the same pool. */
static void request_complete(struct nvme_request *req, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_request *parent = req->parent;
	brisk_nvme_cmd_cb cb_fn = req->cb_fn;
	void *cb_arg = req->cb_arg;

	nvme_request_free(req);
	if (parent != NULL) {
		if (brisk_nvme_cpl_is_error(cpl) && !brisk_nvme_cpl_is_error(&parent->parent_cpl)) {
			parent->parent_cpl = *cpl;
		}
		if (--parent->num_children == 0) {
			request_complete_parent(parent);
		}
		return;
	}
	if (cb_fn != NULL) {
		cb_fn(cb_arg, cpl);
	}
}

static void cpl_set_status(struct brisk_nvme_cpl *cpl, uint16_t sct, uint16_t sc, bool dnr)
{
	memset(cpl, 0, sizeof(*cpl));
	cpl->status.sct = sct & 0x7;
	cpl->status.sc = sc & 0xff;
	cpl->status.dnr = dnr;
}

/* Completes req at the owner's next poll with the given status. */
void nvme_request_complete_with(struct nvme_request *req, uint16_t sct, uint16_t sc, bool dnr)
{
	struct brisk_nvme_qpair *qpair = req->qpair;

	cpl_set_status(&req->deferred_cpl, sct, sc, dnr);
	req->deferred_cpl.cid = req->cmd.cid;
	req->deferred_cpl.sqid = qpair->id;
	STAILQ_INSERT_TAIL(&qpair->deferred_req, req, link);
	qpair->num_deferred++;
}

static void qpair_write_sqe(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr)
{
	struct nvme_request *req = tr->req;

	req->cmd.cid = tr->cid;
	if (qpair->ctrlr->timeout_ticks != 0) {
		req->submit_tick = brisk_get_ticks();
	}
	memcpy(&qpair->sq[qpair->sq_tail], &req->cmd, sizeof(req->cmd));
	if (++qpair->sq_tail == qpair->num_entries) {
		qpair->sq_tail = 0;
	}
	TAILQ_REMOVE(&qpair->free_tr, tr, link);
	TAILQ_INSERT_TAIL(&qpair->outstanding_tr, tr, link);
	qpair->num_outstanding++;
}

/* Puts req on the controller's queue: 0, or -errno when its data pointer
 * cannot be built (nothing submitted). */
static int qpair_start_request(struct brisk_nvme_qpair *qpair, struct nvme_request *req)
{
	struct nvme_tracker *tr = TAILQ_FIRST(&qpair->free_tr);
	int rc;

	tr->req = req;
	if (req->payload_type != NVME_PAYLOAD_NONE) {
		rc = nvme_build_data_pointer(qpair, tr);
		if (rc != 0) {
			tr->req = NULL;
			return rc;
		}
	}
	qpair_write_sqe(qpair, tr);
	return 0;
}

/* Inline data points at the caller's memory, valid only during the submit
 * call: a request that must wait in the software queue takes a copy. */
static bool request_copy_inline(struct nvme_request *req)
{
	void *copy = malloc(req->payload_size);

	if (copy == NULL) {
		return false;
	}
	memcpy(copy, req->buf, req->payload_size);
	req->buf = copy;
	req->user_copy = true;
	return true;
}

int nvme_qpair_submit_request(struct brisk_nvme_qpair *qpair, struct nvme_request *req)
{
	if (nvme_ctrlr_is_failed(qpair->ctrlr)) {
		return -ENXIO;
	}
	if (!qpair->is_enabled || TAILQ_EMPTY(&qpair->free_tr) ||
	    !STAILQ_EMPTY(&qpair->queued_req)) {
		if (req->payload_type == NVME_PAYLOAD_INLINE && !request_copy_inline(req)) {
			return -ENOMEM;
		}
		STAILQ_INSERT_TAIL(&qpair->queued_req, req, link);
		qpair->num_queued++;
		return 0;
	}
	return qpair_start_request(qpair, req);
}

/* Moves queued requests onto the controller while it has room. */
static void qpair_submit_queued(struct brisk_nvme_qpair *qpair)
{
	struct nvme_request *req;

	while (qpair->is_enabled && !TAILQ_EMPTY(&qpair->free_tr) &&
	       (req = STAILQ_FIRST(&qpair->queued_req)) != NULL) {
		STAILQ_REMOVE_HEAD(&qpair->queued_req, link);
		qpair->num_queued--;
		if (qpair_start_request(qpair, req) != 0) {
			nvme_request_complete_with(req, BRISK_NVME_SCT_GENERIC,
						   BRISK_NVME_SC_INVALID_FIELD, true);
		}
	}
}

void nvme_qpair_ring_sq(struct brisk_nvme_qpair *qpair)
{
	if (qpair->sq_tail == qpair->sq_tail_rung) {
		return;
	}
	qpair->sq_tail_rung = qpair->sq_tail;
	if (qpair->sq_tdbl != NULL) {
		/* The entries must be in memory before the controller sees the
		 * tail: x86 keeps stores in order (a compiler barrier is enough),
		 * weaker CPUs get their store fence from the release. */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		*qpair->sq_tdbl = qpair->sq_tail;
	} else {
		qpair->ctrlr->ops->ring_sq_doorbell(qpair, qpair->sq_tail);
	}
}

static void qpair_ring_cq(struct brisk_nvme_qpair *qpair)
{
	if (qpair->cq_hdbl != NULL) {
		*qpair->cq_hdbl = qpair->cq_head;
	} else {
		qpair->ctrlr->ops->ring_cq_doorbell(qpair, qpair->cq_head);
	}
}

static void qpair_complete_tracker(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr,
				   const struct brisk_nvme_cpl *cpl)
{
	struct nvme_request *req = tr->req;

	tr->req = NULL;
	TAILQ_REMOVE(&qpair->outstanding_tr, tr, link);
	TAILQ_INSERT_HEAD(&qpair->free_tr, tr, link);
	qpair->num_outstanding--;
	request_complete(req, cpl);
}

/* Consumes CQ entries whose phase tag matches: each names its command by cid,
 * in whatever order the controller finished them. */
static uint32_t qpair_reap_cq(struct brisk_nvme_qpair *qpair, uint32_t max)
{
	uint32_t n = 0;

	while (n < max) {
		struct brisk_nvme_cpl *cpl = &qpair->cq[qpair->cq_head];
		uint16_t status = __atomic_load_n((uint16_t *)&cpl->status, __ATOMIC_ACQUIRE);
		struct nvme_tracker *tr;

		/* Acquire: the rest of the entry is read after its phase tag. */
		if ((status & 1u) != qpair->phase) {
			break;
		}
		if (++qpair->cq_head == qpair->num_entries) {
			qpair->cq_head = 0;
			qpair->phase ^= 1u;
		}
		qpair->sq_head = cpl->sqhd;
		n++;
		if (cpl->cid >= qpair->num_trackers || qpair->trackers[cpl->cid].req == NULL) {
			BRISK_ERRLOG("nvme: qpair %u: completion for unknown cid %u\n", qpair->id, cpl->cid);
			continue;
		}
		tr = &qpair->trackers[cpl->cid];
		qpair_complete_tracker(qpair, tr, cpl);
	}
	if (n > 0) {
		qpair_ring_cq(qpair);
	}
	return n;
}

static uint32_t qpair_complete_deferred(struct brisk_nvme_qpair *qpair)
{
	struct nvme_request_list list = STAILQ_HEAD_INITIALIZER(list);
	struct nvme_request *req;
	uint32_t n = 0;

	/* Callbacks may defer more: those wait for the next poll. */
	STAILQ_CONCAT(&list, &qpair->deferred_req);
	while ((req = STAILQ_FIRST(&list)) != NULL) {
		STAILQ_REMOVE_HEAD(&list, link);
		qpair->num_deferred--;
		request_complete(req, &req->deferred_cpl);
		n++;
	}
	return n;
}

void nvme_qpair_abort_outstanding(struct brisk_nvme_qpair *qpair, uint16_t sct, uint16_t sc,
				  bool dnr)
{
	struct nvme_tracker *tr;

	while ((tr = TAILQ_FIRST(&qpair->outstanding_tr)) != NULL) {
		struct nvme_request *req = tr->req;

		tr->req = NULL;
		TAILQ_REMOVE(&qpair->outstanding_tr, tr, link);
		TAILQ_INSERT_TAIL(&qpair->free_tr, tr, link);
		/* Never NULL here; scan-build loses the list head in TAILQ_REMOVE
		 * and meets the cleared tracker again. */
		if (req != NULL) {
			nvme_request_complete_with(req, sct, sc, dnr);
		}
	}
	qpair->num_outstanding = 0;
}

void nvme_qpair_abort_queued(struct brisk_nvme_qpair *qpair, uint16_t sct, uint16_t sc)
{
	struct nvme_request *req;

	while ((req = STAILQ_FIRST(&qpair->queued_req)) != NULL) {
		STAILQ_REMOVE_HEAD(&qpair->queued_req, link);
		nvme_request_complete_with(req, sct, sc, true);
	}
	qpair->num_queued = 0;
}

/* A failed controller completes everything with an error, never hangs. */
static int32_t qpair_process_failed(struct brisk_nvme_qpair *qpair)
{
	nvme_qpair_abort_outstanding(qpair, BRISK_NVME_SCT_GENERIC,
				     BRISK_NVME_SC_ABORTED_SQ_DELETION, true);
	nvme_qpair_abort_queued(qpair, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_SQ_DELETION);
	qpair_complete_deferred(qpair);
	return -ENXIO;
}

/* Commands outstanding: their timeouts, and now and then the controller's
 * health when nothing completes. */
static void qpair_check_stalled(struct brisk_nvme_qpair *qpair, uint32_t completed)
{
	if (qpair->ctrlr->timeout_ticks != 0) {
		nvme_qpair_check_timeouts(qpair);
	}
	if (completed != 0) {
		qpair->idle_polls = 0;
	} else if (++qpair->idle_polls == NVME_IDLE_POLLS_HEALTH_CHECK) {
		qpair->idle_polls = 0;
		nvme_ctrlr_check_health(qpair->ctrlr);
	}
}

int32_t nvme_qpair_process(struct brisk_nvme_qpair *qpair, uint32_t max)
{
	uint32_t n;

	if (nvme_ctrlr_is_failed(qpair->ctrlr)) {
		return qpair_process_failed(qpair);
	}
	if (max == 0) {
		max = UINT32_MAX;
	}
	n = STAILQ_EMPTY(&qpair->deferred_req) ? 0 : qpair_complete_deferred(qpair);
	if (!qpair->is_enabled) {
		return (int32_t)n; /* being freed, or its controller resetting */
	}
	/* A secondary's queues went with its primary's reset. */
	if (qpair->mp_resets != NULL && __atomic_load_n(qpair->mp_resets, __ATOMIC_ACQUIRE) != qpair->mp_epoch) {
		nvme_mp_qpair_recover(qpair);
	}
	nvme_qpair_ring_sq(qpair);
	if (qpair->ctrlr->ops->qpair_poll != NULL && qpair->ctrlr->ops->qpair_poll(qpair) != 0) {
		nvme_ctrlr_set_failed(qpair->ctrlr, "the transport's connection failed");
		return qpair_process_failed(qpair);
	}
	n += qpair_reap_cq(qpair, max - (n < max ? n : max));
	if (qpair->num_queued != 0) {
		qpair_submit_queued(qpair);
	}
	nvme_qpair_ring_sq(qpair);
	if (qpair->num_outstanding != 0) {
		qpair_check_stalled(qpair, n);
	}
	return (int32_t)n;
}

/* Before its SQ is deleted: the entries written go to the controller; after:
 * the completions it posted are taken, and nothing new is submitted (a
 * doorbell write to a deleted queue is an error on the controller). */
void nvme_qpair_flush_sq(struct brisk_nvme_qpair *qpair)
{
	nvme_qpair_ring_sq(qpair);
}

void nvme_qpair_drain_cq(struct brisk_nvme_qpair *qpair)
{
	qpair_reap_cq(qpair, UINT32_MAX);
	qpair_complete_deferred(qpair);
}

struct nvme_tracker *nvme_qpair_find_tracker(struct brisk_nvme_qpair *qpair, uint16_t cid)
{
	if (cid >= qpair->num_trackers || qpair->trackers[cid].req == NULL) {
		return NULL;
	}
	return &qpair->trackers[cid];
}
