/*
 * Controller reset as polled steps (brisk_nvme_ctrlr_reset_async), so that
 * a fabrics reconnect never holds its thread while the controller is slow
 * or gone: the admin queue's new connection (TCP connect, ICReq, Connect),
 * bring-up through the generic state machine, then each I/O qpair's new
 * connection, one poll at a time. The controller lock is taken per poll,
 * not across them. Transports without the polled ops (PCIe) run the
 * synchronous reset in the first poll.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

enum reset_step {
	RESET_SYNC, /* no polled ops: reset at once */
	RESET_ADMIN_CONNECT, /* admin queue connecting */
	RESET_INIT, /* bring-up state machine */
	RESET_IO_CONNECT, /* I/O qpairs connecting, one at a time */
};

struct brisk_nvme_reset_ctx {
	struct brisk_nvme_ctrlr *ctrlr;
	enum reset_step step;
	int start_rc; /* a start that failed, reported by the first poll */
	struct brisk_nvme_qpair *qpair; /* the I/O qpair connecting, NULL = pick the next */
};

static bool reset_has_polled_ops(const struct brisk_nvme_ctrlr *ctrlr)
{
	const struct nvme_transport_ops *ops = ctrlr->ops;

	return ops->ctrlr_reconnect_start != NULL && ops->qpair_connect_start != NULL &&
	       ops->qpair_connect_poll != NULL;
}

int brisk_nvme_ctrlr_reset_async(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_reset_ctx **ctx)
{
	struct brisk_nvme_reset_ctx *r;

	if (ctrlr == NULL || ctx == NULL) {
		return -EINVAL;
	}
	if (ctrlr->mp_secondary) {
		return -ENOTSUP;
	}
	if (nvme_ctrlr_is_failed(ctrlr) && (ctrlr->ops->ctrlr_reconnect == NULL || ctrlr->removed)) {
		return -ENXIO;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return -ENOMEM;
	}
	r->ctrlr = ctrlr;
	r->step = reset_has_polled_ops(ctrlr) ? RESET_ADMIN_CONNECT : RESET_SYNC;
	if (r->step != RESET_SYNC) {
		pthread_mutex_lock(&ctrlr->lock);
		ctrlr->resetting = true;
		__atomic_store_n(&ctrlr->needs_reset, false, __ATOMIC_RELAXED);
		nvme_ctrlr_reset_abort_all(ctrlr);
		r->start_rc = ctrlr->ops->ctrlr_reconnect_start(ctrlr);
		pthread_mutex_unlock(&ctrlr->lock);
	}
	*ctx = r;
	return 0;
}

/* The I/O qpair to connect next: the one in progress if it still exists,
 * else the first still disabled (a qpair freed meanwhile is skipped). */
static struct brisk_nvme_qpair *reset_next_qpair(struct brisk_nvme_reset_ctx *r)
{
	struct brisk_nvme_qpair *qpair;

	TAILQ_FOREACH(qpair, &r->ctrlr->io_qpairs, link) {
		if (qpair == r->qpair) {
			return qpair;
		}
	}
	r->qpair = NULL;
	TAILQ_FOREACH(qpair, &r->ctrlr->io_qpairs, link) {
		if (!qpair->is_enabled) {
			return qpair;
		}
	}
	return NULL;
}

static int reset_io_connect(struct brisk_nvme_reset_ctx *r)
{
	struct brisk_nvme_qpair *qpair = reset_next_qpair(r);
	int rc;

	if (qpair == NULL) {
		return 0;
	}
	if (r->qpair == NULL) {
		r->qpair = qpair;
		nvme_qpair_reset_rings(qpair);
		rc = r->ctrlr->ops->qpair_connect_start(qpair);
		return rc != 0 ? rc : -EAGAIN;
	}
	rc = r->ctrlr->ops->qpair_connect_poll(qpair);
	if (rc == 0) {
		qpair->is_enabled = true;
		r->qpair = NULL;
		rc = -EAGAIN;
	}
	return rc;
}

static int reset_admin_connected(struct brisk_nvme_ctrlr *ctrlr)
{
	/* Release pairs with qpair threads' reads (paused by the caller). */
	__atomic_store_n(&ctrlr->failed, false, __ATOMIC_RELEASE);
	nvme_ctrlr_start_init(ctrlr, true);
	return -EAGAIN;
}

static int reset_step(struct brisk_nvme_reset_ctx *r)
{
	struct brisk_nvme_ctrlr *ctrlr = r->ctrlr;
	int rc;

	switch (r->step) {
	case RESET_SYNC:
		return nvme_ctrlr_reset_locked(ctrlr);
	case RESET_ADMIN_CONNECT:
		rc = ctrlr->ops->qpair_connect_poll(ctrlr->adminq);
		if (rc == 0) {
			r->step = RESET_INIT;
			rc = reset_admin_connected(ctrlr);
		}
		return rc;
	case RESET_INIT:
		rc = nvme_ctrlr_process_init(ctrlr);
		if (rc == 0) {
			r->step = RESET_IO_CONNECT;
			rc = -EAGAIN;
		}
		return rc;
	default:
		return reset_io_connect(r);
	}
}

/* The end of a polled reset (not RESET_SYNC, which ends by itself). */
static int reset_finish(struct brisk_nvme_ctrlr *ctrlr, int rc)
{
	ctrlr->resetting = false;
	nvme_mp_reset_done(ctrlr);
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: reconnecting failed: %s\n", ctrlr->trid.traddr, strerror(-rc));
		nvme_ctrlr_set_failed(ctrlr, "reset failed");
		return -ENXIO;
	}
	BRISK_NOTICELOG("nvme %s: controller reset done\n", ctrlr->trid.traddr);
	return 0;
}

int brisk_nvme_ctrlr_reset_poll_async(struct brisk_nvme_reset_ctx *r)
{
	struct brisk_nvme_ctrlr *ctrlr = r->ctrlr;
	int rc = r->start_rc;

	pthread_mutex_lock(&ctrlr->lock);
	if (rc == 0) {
		rc = reset_step(r);
	}
	if (rc != -EAGAIN && r->step != RESET_SYNC) {
		rc = reset_finish(ctrlr, rc);
	}
	pthread_mutex_unlock(&ctrlr->lock);
	if (rc != -EAGAIN) {
		free(r);
	}
	return rc;
}

void brisk_nvme_ctrlr_reset_cancel_async(struct brisk_nvme_reset_ctx *r)
{
	struct brisk_nvme_ctrlr *ctrlr = r->ctrlr;

	pthread_mutex_lock(&ctrlr->lock);
	if (r->step != RESET_SYNC) {
		reset_finish(ctrlr, -ECANCELED);
	}
	pthread_mutex_unlock(&ctrlr->lock);
	free(r);
}
