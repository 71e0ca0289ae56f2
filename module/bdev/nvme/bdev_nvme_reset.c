/*
 * Controller reset, on the controller's thread, in the order it runs:
 *   1. pause every channel (no thread touches its qpair; new I/O is held),
 *   2. brisk_nvme_ctrlr_reset (the driver re-creates every qpair; commands
 *      outstanding complete with ABORTED - SQ DELETION),
 *   3. resume every channel (aborted commands are submitted again, held I/O
 *      goes), then call back everyone who asked for this reset.
 * A reset that fails leaves a failed controller: it is deleted.
 *
 * Also the command timeouts of bdev_nvme_set_options (timeout_us,
 * action_on_timeout): abort the command, or reset the controller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "bdev_nvme.h"

static void reset_pause_channel(struct brisk_io_channel_iter *i);
static void reset_paused(struct brisk_io_channel_iter *i, int status);
static void reset_resume_channel(struct brisk_io_channel_iter *i);
static void reset_resumed(struct brisk_io_channel_iter *i, int status);

static int reset_add_waiter(struct nvme_ctrlr *nctrlr, bdev_nvme_done_cb cb, void *cb_arg)
{
	struct nvme_reset_waiter *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		return -ENOMEM;
	}
	w->cb = cb;
	w->cb_arg = cb_arg;
	TAILQ_INSERT_TAIL(&nctrlr->reset_waiters, w, link);
	return 0;
}

struct reset_fail_ctx {
	bdev_nvme_done_cb cb;
	void *cb_arg;
	int rc;
};

static void reset_fail_msg(void *arg)
{
	struct reset_fail_ctx *f = arg;

	f->cb(f->cb_arg, f->rc);
	free(f);
}

/* Calls back later with rc (never inside bdev_nvme_reset). */
static void reset_fail_later(bdev_nvme_done_cb cb, void *cb_arg, int rc)
{
	struct reset_fail_ctx *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		BRISK_ERRLOG("nvme: out of memory answering a reset\n");
		return;
	}
	f->cb = cb;
	f->cb_arg = cb_arg;
	f->rc = rc;
	if (brisk_thread_send_msg(brisk_get_thread(), reset_fail_msg, f) != 0) {
		free(f);
	}
}

void bdev_nvme_reset(struct nvme_ctrlr *nctrlr, bdev_nvme_done_cb cb, void *cb_arg)
{
	if (nctrlr->failed || nctrlr->deleting) {
		reset_fail_later(cb, cb_arg, -ENXIO);
		return;
	}
	if (brisk_nvme_ctrlr_is_secondary(nctrlr->ctrlr)) {
		/* The controller is another process's: resetting is its job; our
		 * qpairs follow its resets by themselves. */
		BRISK_ERRLOG("nvme: controller %s belongs to the primary process of this shm id: only "
			     "the primary resets it\n",
			     nctrlr->name);
		reset_fail_later(cb, cb_arg, -ENOTSUP);
		return;
	}
	if (nctrlr->reconnecting) {
		BRISK_ERRLOG("nvme: controller %s is reconnecting: no reset meanwhile\n", nctrlr->name);
		reset_fail_later(cb, cb_arg, -EBUSY);
		return;
	}
	if (reset_add_waiter(nctrlr, cb, cb_arg) != 0) {
		reset_fail_later(cb, cb_arg, -ENOMEM);
		return;
	}
	if (nctrlr->resetting) {
		return; /* joins the reset in progress */
	}
	nctrlr->resetting = true;
	BRISK_NOTICELOG("nvme: resetting controller %s\n", nctrlr->name);
	brisk_for_each_channel(nctrlr, reset_pause_channel, nctrlr, reset_paused);
}

static void reset_pause_channel(struct brisk_io_channel_iter *i)
{
	bdev_nvme_channel_pause(brisk_io_channel_iter_get_channel(i));
	brisk_for_each_channel_continue(i, 0);
}

static void reset_paused(struct brisk_io_channel_iter *i, int status)
{
	struct nvme_ctrlr *nctrlr = brisk_io_channel_iter_get_ctx(i);

	nctrlr->reset_rc = brisk_nvme_ctrlr_reset(nctrlr->ctrlr);
	if (nctrlr->reset_rc != 0) {
		BRISK_ERRLOG("nvme: reset of controller %s failed: %s\n", nctrlr->name,
			     strerror(-nctrlr->reset_rc));
		/* Held and aborted I/O must fail, not be submitted again. */
		nctrlr->failed = true;
		brisk_nvme_ctrlr_fail(nctrlr->ctrlr);
	}
	brisk_for_each_channel(nctrlr, reset_resume_channel, nctrlr, reset_resumed);
}

static void reset_resume_channel(struct brisk_io_channel_iter *i)
{
	bdev_nvme_channel_resume(brisk_io_channel_iter_get_channel(i));
	brisk_for_each_channel_continue(i, 0);
}

static void reset_resumed(struct brisk_io_channel_iter *i, int status)
{
	struct nvme_ctrlr *nctrlr = brisk_io_channel_iter_get_ctx(i);
	TAILQ_HEAD(, nvme_reset_waiter) waiters = TAILQ_HEAD_INITIALIZER(waiters);
	struct nvme_reset_waiter *w;
	int rc = nctrlr->reset_rc;

	nctrlr->resetting = false;
	TAILQ_CONCAT(&waiters, &nctrlr->reset_waiters, link);
	if (rc == 0) {
		BRISK_NOTICELOG("nvme: controller %s reset\n", nctrlr->name);
	} else if (!nctrlr->deleting) {
		bdev_nvme_ctrlr_delete(nctrlr, NULL, NULL);
	}
	while ((w = TAILQ_FIRST(&waiters)) != NULL) {
		TAILQ_REMOVE(&waiters, w, link);
		w->cb(w->cb_arg, rc);
		free(w);
	}
}

/* ---- Timeouts ---- */

struct timeout_ctx {
	struct nvme_ctrlr *nctrlr;
	struct brisk_nvme_qpair *qpair;
	uint16_t cid;
};

static void timeout_reset_done(void *cb_arg, int rc)
{
	struct nvme_ctrlr *nctrlr = cb_arg;

	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: reset after a command timeout failed\n", nctrlr->name);
	}
}

static void timeout_abort_done(void *cb_arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_ctrlr *nctrlr = cb_arg;

	/* Abort's cdw0 bit 0 set: the command was not aborted. */
	if (brisk_nvme_cpl_is_error(cpl) || (cpl->cdw0 & 1u) != 0) {
		BRISK_WARNLOG("nvme %s: abort of a timed out command failed: resetting\n", nctrlr->name);
		bdev_nvme_reset(nctrlr, timeout_reset_done, nctrlr);
	}
}

static void timeout_msg(void *arg)
{
	struct timeout_ctx *t = arg;
	struct nvme_ctrlr *nctrlr = t->nctrlr;
	int rc = -ENOTSUP;

	if (nctrlr->failed || nctrlr->deleting || nctrlr->resetting) {
		free(t);
		return;
	}
	if (g_bdev_nvme_opts.action_on_timeout == BDEV_NVME_TIMEOUT_ACTION_ABORT && t->qpair != NULL) {
		rc = brisk_nvme_ctrlr_cmd_abort(nctrlr->ctrlr, t->qpair, t->cid, timeout_abort_done, nctrlr);
	}
	/* A timed out admin command, or an abort that could not be sent: reset. */
	if (rc != 0) {
		bdev_nvme_reset(nctrlr, timeout_reset_done, nctrlr);
	}
	free(t);
}

static void bdev_nvme_timeout_cb(void *cb_arg, struct brisk_nvme_ctrlr *ctrlr,
				 struct brisk_nvme_qpair *qpair, uint16_t cid)
{
	struct nvme_ctrlr *nctrlr = cb_arg;
	struct timeout_ctx *t;

	BRISK_WARNLOG("nvme %s: %s command cid %u timed out (action %s)\n", nctrlr->name,
		      qpair == NULL ? "admin" : "I/O", (unsigned)cid,
		      bdev_nvme_timeout_action_str(g_bdev_nvme_opts.action_on_timeout));
	if (g_bdev_nvme_opts.action_on_timeout == BDEV_NVME_TIMEOUT_ACTION_NONE) {
		return;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return;
	}
	t->nctrlr = nctrlr;
	t->qpair = qpair;
	t->cid = cid;
	/* Aborts and resets use the admin queue: the controller's thread. */
	if (brisk_thread_send_msg(nctrlr->thread, timeout_msg, t) != 0) {
		free(t);
	}
}

void bdev_nvme_register_timeout(struct nvme_ctrlr *nctrlr)
{
	if (g_bdev_nvme_opts.timeout_us == 0) {
		return;
	}
	brisk_nvme_ctrlr_register_timeout_callback(nctrlr->ctrlr, g_bdev_nvme_opts.timeout_us,
						   bdev_nvme_timeout_cb, nctrlr);
}
