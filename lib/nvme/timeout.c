/*
 * Per-command timeouts. Each poll of a qpair with commands outstanding
 * looks, at most once a millisecond, at its oldest commands. A command past
 * its time goes to the user's timeout callback if there is one; otherwise
 * the driver aborts it, and asks for a controller reset when the Abort
 * fails or the command was an admin one. A controller found failed (CSTS.CFS,
 * all-ones registers) is marked so, which completes every command with an
 * error. The reset itself runs on the admin poller's thread.
 */
#include <brisk/ticks.h>

#include "nvme_internal.h"

static void timeout_request_reset(struct brisk_nvme_ctrlr *ctrlr)
{
	/* Release: the admin thread reads it with acquire before resetting. */
	__atomic_store_n(&ctrlr->needs_reset, true, __ATOMIC_RELEASE);
}

static void timeout_abort_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct brisk_nvme_ctrlr *ctrlr = arg;

	/* CDW0 bit 0 set: the controller did not abort the command. */
	if (brisk_nvme_cpl_is_error(cpl) || (cpl->cdw0 & 1u) != 0) {
		BRISK_WARNLOG("nvme %s: abort of a timed-out command failed: reset\n",
			      ctrlr->trid.traddr);
		timeout_request_reset(ctrlr);
	}
}

static void timeout_handle(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr)
{
	struct brisk_nvme_ctrlr *ctrlr = qpair->ctrlr;

	BRISK_WARNLOG("nvme %s: command cid %u (opcode 0x%02x) on queue %u timed out\n",
		      ctrlr->trid.traddr, tr->cid, tr->req->cmd.opc, qpair->id);
	if (!nvme_ctrlr_check_health(ctrlr)) {
		return; /* failed: every command completes with an error */
	}
	if (ctrlr->timeout_cb != NULL) {
		ctrlr->timeout_cb(ctrlr->timeout_cb_arg, ctrlr, qpair->id ? qpair : NULL, tr->cid);
		return;
	}
	if (qpair->id == 0 ||
	    brisk_nvme_ctrlr_cmd_abort(ctrlr, qpair, tr->cid, timeout_abort_done, ctrlr) != 0) {
		timeout_request_reset(ctrlr);
	}
}

void nvme_qpair_check_timeouts(struct brisk_nvme_qpair *qpair)
{
	struct brisk_nvme_ctrlr *ctrlr = qpair->ctrlr;
	uint64_t now = brisk_get_ticks();
	struct nvme_tracker *tr, *tmp;

	if (now < qpair->next_timeout_check) {
		return;
	}
	qpair->next_timeout_check = now + nvme_ticks_from_us(NVME_TIMEOUT_CHECK_US);
	/* Outstanding commands are in submission order: stop at the first young one. */
	TAILQ_FOREACH_SAFE(tr, &qpair->outstanding_tr, link, tmp) {
		struct nvme_request *req = tr->req;

		if (qpair->id == 0 && req->cmd.opc == BRISK_NVME_OPC_ASYNC_EVENT_REQUEST) {
			continue; /* waits for an event, for as long as it takes */
		}
		if (now - req->submit_tick < ctrlr->timeout_ticks) {
			break;
		}
		if (!req->timed_out) {
			req->timed_out = true;
			timeout_handle(qpair, tr);
		}
	}
}
