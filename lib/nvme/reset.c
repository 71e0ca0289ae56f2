/*
 * Controller reset: disable, bring up again through the same state machine
 * as at attach, and re-create every I/O qpair. Commands that were on the
 * controller complete with ABORTED_SQ_DELETION (not DNR: callers may
 * resubmit) at their qpair's next poll; requests waiting in a qpair's
 * software queue are kept and go out after the reset. The caller must not
 * poll the controller's I/O qpairs from other threads while this runs.
 * reset_async.c has the same as polled steps.
 */
#include <errno.h>
#include <string.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

void nvme_ctrlr_reset_abort_all(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_qpair *qpair;

	TAILQ_FOREACH(qpair, &ctrlr->io_qpairs, link) {
		qpair->is_enabled = false;
		nvme_qpair_abort_outstanding(qpair, BRISK_NVME_SCT_GENERIC,
					     BRISK_NVME_SC_ABORTED_SQ_DELETION, false);
	}
	nvme_qpair_abort_outstanding(ctrlr->adminq, BRISK_NVME_SCT_GENERIC,
				     BRISK_NVME_SC_ABORTED_SQ_DELETION, false);
}

static int reset_recreate_qpairs(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_qpair *qpair;
	int rc;

	TAILQ_FOREACH(qpair, &ctrlr->io_qpairs, link) {
		rc = nvme_ctrlr_create_io_queues(qpair);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

/* Fabrics: new connections, then the controller is no longer failed. */
static int reset_reconnect(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc;

	if (ctrlr->ops->ctrlr_reconnect == NULL) {
		return 0;
	}
	rc = ctrlr->ops->ctrlr_reconnect(ctrlr);
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: reconnecting failed: %s\n", ctrlr->trid.traddr, strerror(-rc));
		return rc;
	}
	/* Release pairs with qpair threads' reads (paused by the caller). */
	__atomic_store_n(&ctrlr->failed, false, __ATOMIC_RELEASE);
	return 0;
}

int nvme_ctrlr_reset_locked(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc;

	/* Over fabrics a failure is usually a lost connection: reconnecting is
	 * the cure. Elsewhere a failed controller stays failed. */
	if (nvme_ctrlr_is_failed(ctrlr) && (ctrlr->ops->ctrlr_reconnect == NULL || ctrlr->removed)) {
		return -ENXIO;
	}
	ctrlr->resetting = true;
	__atomic_store_n(&ctrlr->needs_reset, false, __ATOMIC_RELAXED);
	nvme_ctrlr_reset_abort_all(ctrlr);
	rc = reset_reconnect(ctrlr);
	if (rc == 0) {
		nvme_ctrlr_start_init(ctrlr, true);
		rc = nvme_ctrlr_init_sync(ctrlr);
	}
	if (rc == 0) {
		rc = reset_recreate_qpairs(ctrlr);
	}
	ctrlr->resetting = false;
	nvme_mp_reset_done(ctrlr); /* secondaries' queues went with the reset */
	if (rc != 0) {
		nvme_ctrlr_set_failed(ctrlr, "reset failed");
		return -ENXIO;
	}
	BRISK_NOTICELOG("nvme %s: controller reset done\n", ctrlr->trid.traddr);
	return 0;
}

int brisk_nvme_ctrlr_reset(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc;

	if (ctrlr == NULL) {
		return -EINVAL;
	}
	if (ctrlr->mp_secondary) {
		BRISK_ERRLOG("nvme %s: only the primary process resets the controller\n",
			     ctrlr->trid.traddr);
		return -ENOTSUP;
	}
	pthread_mutex_lock(&ctrlr->lock);
	rc = nvme_ctrlr_reset_locked(ctrlr);
	pthread_mutex_unlock(&ctrlr->lock);
	return rc;
}
