/*
 * Admin commands: submission on the controller's admin queue (under the
 * controller's lock, since several threads create qpairs or send admin
 * commands), synchronous waits, and the commands themselves: Identify, Get
 * Log Page, Get/Set Features, Create/Delete I/O SQ/CQ, Abort, Asynchronous
 * Event Request (with the namespace re-scan an attribute change asks for),
 * Format NVM and raw passthrough.
 */
#include <errno.h>
#include <string.h>

#include <brisk/ticks.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

int nvme_admin_submit(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cmd *cmd,
		      void *buf, uint32_t len, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct nvme_request *req;
	int rc;

	if (ctrlr->mp_secondary) {
		/* The admin queue is the primary's: it runs the command for us. */
		return nvme_mp_admin_submit(ctrlr, cmd, buf, len, cb_fn, cb_arg);
	}
	pthread_mutex_lock(&ctrlr->lock);
	if (nvme_ctrlr_is_failed(ctrlr)) {
		pthread_mutex_unlock(&ctrlr->lock);
		return -ENXIO;
	}
	req = nvme_request_alloc(ctrlr->adminq, cb_fn, cb_arg);
	if (req == NULL) {
		pthread_mutex_unlock(&ctrlr->lock);
		return -ENOMEM;
	}
	req->cmd = *cmd;
	if (len != 0) {
		req->payload_type = NVME_PAYLOAD_CONTIG;
		req->buf = buf;
		req->payload_size = len;
	}
	rc = nvme_qpair_submit_request(ctrlr->adminq, req);
	if (rc != 0) {
		nvme_request_free(req);
	}
	pthread_mutex_unlock(&ctrlr->lock);
	return rc;
}

void nvme_wait_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_wait *w = arg;

	w->cpl = *cpl;
	w->done = true;
}

static void wait_poll(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair)
{
	if (qpair != NULL) {
		nvme_qpair_process(qpair, 0);
		return;
	}
	pthread_mutex_lock(&ctrlr->lock);
	nvme_ctrlr_poll_admin_locked(ctrlr);
	pthread_mutex_unlock(&ctrlr->lock);
}

int nvme_wait_for(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
		  struct nvme_wait *w)
{
	uint64_t deadline = brisk_get_ticks() + nvme_ticks_from_us(NVME_ADMIN_SYNC_TIMEOUT_US);

	while (!w->done) {
		wait_poll(ctrlr, qpair);
		if (!w->done && brisk_get_ticks() > deadline && !nvme_ctrlr_is_failed(ctrlr)) {
			/* A controller that does not answer a command for this long is
			 * not going to: failing it completes the command with an error. */
			nvme_ctrlr_set_failed(ctrlr, "a synchronous command timed out");
		}
	}
	if (!brisk_nvme_cpl_is_error(&w->cpl)) {
		return 0;
	}
	return nvme_ctrlr_is_failed(ctrlr) ? -ENXIO : -EIO;
}

/* ---- Commands used by bring-up and queue management ---- */

int nvme_admin_identify(struct brisk_nvme_ctrlr *ctrlr, uint8_t cns, uint32_t nsid, void *buf,
			brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_IDENTIFY, .nsid = nsid, .cdw10 = cns };

	return nvme_admin_submit(ctrlr, &cmd, buf, NVME_PAGE_SIZE, cb_fn, cb_arg);
}

int nvme_admin_create_io_cq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_CREATE_IO_CQ };

	cmd.dptr.prp.prp1 = qpair->cq_iova;
	cmd.cdw10 = (uint32_t)(qpair->num_entries - 1u) << 16 | qpair->id;
	cmd.cdw11 = 1; /* physically contiguous, interrupts off: Brisk polls */
	return nvme_admin_submit(ctrlr, &cmd, NULL, 0, cb_fn, cb_arg);
}

int nvme_admin_create_io_sq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_CREATE_IO_SQ };

	cmd.dptr.prp.prp1 = qpair->sq_iova;
	cmd.cdw10 = (uint32_t)(qpair->num_entries - 1u) << 16 | qpair->id;
	cmd.cdw11 = (uint32_t)qpair->id << 16 | 1u; /* its CQ, physically contiguous */
	return nvme_admin_submit(ctrlr, &cmd, NULL, 0, cb_fn, cb_arg);
}

int nvme_admin_delete_io_sq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_DELETE_IO_SQ, .cdw10 = qpair->id };

	return nvme_admin_submit(ctrlr, &cmd, NULL, 0, cb_fn, cb_arg);
}

int nvme_admin_delete_io_cq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_DELETE_IO_CQ, .cdw10 = qpair->id };

	return nvme_admin_submit(ctrlr, &cmd, NULL, 0, cb_fn, cb_arg);
}

/* ---- Public admin commands ---- */

int brisk_nvme_ctrlr_cmd_admin_raw(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_cmd *cmd,
				   void *buf, uint32_t len, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	if (ctrlr == NULL || cmd == NULL || (len != 0 && buf == NULL) ||
	    len > ctrlr->max_xfer_size) {
		return -EINVAL;
	}
	return nvme_admin_submit(ctrlr, cmd, buf, len, cb_fn, cb_arg);
}

int brisk_nvme_ctrlr_cmd_get_log_page(struct brisk_nvme_ctrlr *ctrlr, uint8_t log_page,
				      uint32_t nsid, void *payload, uint32_t payload_size,
				      uint64_t offset, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_GET_LOG_PAGE, .nsid = nsid };
	uint32_t numd;

	if (ctrlr == NULL || payload == NULL || payload_size < 4 || payload_size % 4 != 0 ||
	    offset % 4 != 0 || payload_size > ctrlr->max_xfer_size) {
		return -EINVAL;
	}
	numd = payload_size / 4 - 1; /* dwords, 0's based */
	cmd.cdw10 = log_page | (numd & 0xffffu) << 16;
	cmd.cdw11 = numd >> 16;
	cmd.cdw12 = (uint32_t)offset;
	cmd.cdw13 = (uint32_t)(offset >> 32);
	return nvme_admin_submit(ctrlr, &cmd, payload, payload_size, cb_fn, cb_arg);
}

int brisk_nvme_ctrlr_cmd_get_feature(struct brisk_nvme_ctrlr *ctrlr, uint8_t feature,
				     uint32_t cdw11, void *payload, uint32_t payload_size,
				     brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_GET_FEATURES, .cdw10 = feature,
		.cdw11 = cdw11 };

	if (ctrlr == NULL || (payload_size != 0 && payload == NULL)) {
		return -EINVAL;
	}
	return nvme_admin_submit(ctrlr, &cmd, payload, payload_size, cb_fn, cb_arg);
}

int brisk_nvme_ctrlr_cmd_set_feature(struct brisk_nvme_ctrlr *ctrlr, uint8_t feature,
				     uint32_t cdw11, uint32_t cdw12, void *payload,
				     uint32_t payload_size, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_SET_FEATURES, .cdw10 = feature,
		.cdw11 = cdw11, .cdw12 = cdw12 };

	if (ctrlr == NULL || (payload_size != 0 && payload == NULL)) {
		return -EINVAL;
	}
	return nvme_admin_submit(ctrlr, &cmd, payload, payload_size, cb_fn, cb_arg);
}

int brisk_nvme_ctrlr_cmd_abort(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			       uint16_t cid, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_ABORT };
	uint16_t sqid = qpair != NULL ? qpair->id : 0;

	if (ctrlr == NULL || (qpair != NULL && qpair->ctrlr != ctrlr)) {
		return -EINVAL;
	}
	cmd.cdw10 = (uint32_t)cid << 16 | sqid;
	return nvme_admin_submit(ctrlr, &cmd, NULL, 0, cb_fn, cb_arg);
}

static void format_scan_done(struct brisk_nvme_ctrlr *ctrlr, void *ctx, int rc)
{
	struct brisk_nvme_cpl cpl = { 0 };

	if (rc != 0) {
		cpl.status.sc = BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
	}
	nvme_wait_cb(ctx, &cpl);
}

/* Re-reads every namespace, synchronously (after a format or a namespace
 * management command). A scan an event started first is waited for, since
 * it may have read the list before the change. */
int nvme_ns_rescan_sync(struct brisk_nvme_ctrlr *ctrlr)
{
	uint64_t deadline = brisk_get_ticks() + nvme_ticks_from_us(NVME_ADMIN_SYNC_TIMEOUT_US);
	struct nvme_wait w = { 0 };
	int rc;

	pthread_mutex_lock(&ctrlr->lock);
	while ((rc = nvme_ns_scan_start(ctrlr, format_scan_done, &w)) == -EBUSY &&
	       brisk_get_ticks() < deadline && !nvme_ctrlr_is_failed(ctrlr)) {
		nvme_ctrlr_poll_admin_locked(ctrlr);
	}
	pthread_mutex_unlock(&ctrlr->lock);
	return rc != 0 ? rc : nvme_wait_for(ctrlr, NULL, &w);
}

int brisk_nvme_ctrlr_format(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid, uint32_t lbaf,
			    uint32_t ses)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_FORMAT_NVM, .nsid = nsid };
	struct nvme_wait w = { 0 };
	int rc;

	if (ctrlr == NULL || lbaf > 15 || ses > 7) {
		return -EINVAL;
	}
	if ((ctrlr->cdata.oacs & BRISK_NVME_OACS_FORMAT) == 0) {
		return -ENOTSUP;
	}
	cmd.cdw10 = lbaf | ses << 9;
	rc = nvme_admin_submit(ctrlr, &cmd, NULL, 0, nvme_wait_cb, &w);
	rc = rc != 0 ? rc : nvme_wait_for(ctrlr, NULL, &w);
	if (rc != 0) {
		BRISK_ERRLOG("nvme: Format NVM of nsid %u failed: %s\n", nsid,
			     brisk_nvme_cpl_get_status_string(&w.cpl.status));
		return rc;
	}
	return nvme_ns_rescan_sync(ctrlr);
}
