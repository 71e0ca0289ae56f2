/*
 * Reconnecting a fabrics controller whose connection was lost, by the
 * policy bdev_nvme_attach_controller set (SPDK's ctrlr_loss_timeout_sec,
 * reconnect_delay_sec, fast_io_fail_timeout_sec). On the controller's
 * thread, in the order it runs:
 *   1. pause every channel: I/O submitted meanwhile, and I/O the lost
 *      connection aborted, is held (not failed);
 *   2. try a reset (new connections, bring-up, every qpair connected again)
 *      at once, then every reconnect_delay_sec; each attempt is the
 *      driver's polled reset (brisk_nvme_ctrlr_reset_async) driven by a
 *      poller, so the thread's other bdevs keep doing I/O meanwhile;
 *   3. success: resume every channel (held I/O goes out); after
 *      fast_io_fail_timeout_sec held and new I/O fails while the attempts go
 *      on; after ctrlr_loss_timeout_sec (unless -1) the controller is failed
 *      and deleted as without a policy.
 * An attempt ends when the target answers, refuses, or after the driver's
 * 5 s TCP timeout; property reads of bring-up (after Connect succeeded) are
 * still round trips the thread waits for.
 */
#include <errno.h>
#include <stdio.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "bdev_nvme.h"

/* How often an attempt in progress is polled: often enough that a
 * reconnection takes a few ms, rare enough to cost nothing while a target
 * that accepted the connection does not answer. */
#define BDEV_NVME_RECONNECT_POLL_US 200u

int bdev_nvme_reconnect_opts_check(const struct bdev_nvme_reconnect_opts *o,
				   const struct brisk_nvme_transport_id *trid, char *err, size_t len)
{
	const char *why = NULL;

	if (o->ctrlr_loss_timeout_sec < -1) {
		why = "ctrlr_loss_timeout_sec must be -1 (for ever), 0 (no reconnect) or a number of seconds";
	} else if (o->ctrlr_loss_timeout_sec == 0 && (o->reconnect_delay_sec != 0 ||
		   o->fast_io_fail_timeout_sec != 0)) {
		why = "reconnect_delay_sec and fast_io_fail_timeout_sec need ctrlr_loss_timeout_sec";
	} else if (o->ctrlr_loss_timeout_sec != 0 && trid->trtype != BRISK_NVME_TRANSPORT_TCP) {
		why = "ctrlr_loss_timeout_sec applies to fabrics (trtype TCP) only";
	} else if (o->ctrlr_loss_timeout_sec != 0 && o->reconnect_delay_sec == 0) {
		why = "reconnect_delay_sec must be at least 1 with ctrlr_loss_timeout_sec";
	} else if (o->ctrlr_loss_timeout_sec > 0 &&
		   o->reconnect_delay_sec > (uint32_t)o->ctrlr_loss_timeout_sec) {
		why = "reconnect_delay_sec must not exceed ctrlr_loss_timeout_sec";
	} else if (o->ctrlr_loss_timeout_sec > 0 &&
		   o->fast_io_fail_timeout_sec > (uint32_t)o->ctrlr_loss_timeout_sec) {
		why = "fast_io_fail_timeout_sec must not exceed ctrlr_loss_timeout_sec";
	} else if (o->fast_io_fail_timeout_sec != 0 && o->fast_io_fail_timeout_sec < o->reconnect_delay_sec) {
		why = "fast_io_fail_timeout_sec must be 0 or at least reconnect_delay_sec";
	}
	if (why != NULL) {
		snprintf(err, len, "%s", why);
		return -EINVAL;
	}
	return 0;
}

bool bdev_nvme_reconnect_holds_io(const struct nvme_ctrlr *nctrlr)
{
	return nctrlr->reconnect.ctrlr_loss_timeout_sec != 0 && !nctrlr->io_fail && !nctrlr->failed &&
	       !nctrlr->deleting;
}

static void reconnect_try(struct nvme_ctrlr *nctrlr);

static int reconnect_poll(void *arg)
{
	struct nvme_ctrlr *nctrlr = arg;

	if (nctrlr->attempt == NULL) {
		reconnect_try(nctrlr); /* not while one is still in progress */
	}
	return BRISK_POLLER_BUSY;
}

static void reconnect_pause_channel(struct brisk_io_channel_iter *i)
{
	bdev_nvme_channel_pause(brisk_io_channel_iter_get_channel(i));
	brisk_for_each_channel_continue(i, 0);
}

static void reconnect_paused(struct brisk_io_channel_iter *i, int status)
{
	struct nvme_ctrlr *nctrlr = brisk_io_channel_iter_get_ctx(i);

	if (nctrlr->reconnecting) {
		reconnect_try(nctrlr);
	}
}

bool bdev_nvme_reconnect_start(struct nvme_ctrlr *nctrlr)
{
	if (nctrlr->reconnecting) {
		return true;
	}
	if (nctrlr->reconnect.ctrlr_loss_timeout_sec == 0 || nctrlr->deleting || nctrlr->resetting ||
	    brisk_nvme_ctrlr_is_removed(nctrlr->ctrlr)) {
		return false;
	}
	nctrlr->reconnecting = true;
	nctrlr->resetting = true; /* the admin poller and timeouts keep off */
	nctrlr->io_fail = false;
	nctrlr->lost_at_us = brisk_get_time_us();
	BRISK_WARNLOG("nvme: controller %s lost its connection: reconnecting every %u s (%s%d s)\n",
		      nctrlr->name, nctrlr->reconnect.reconnect_delay_sec,
		      nctrlr->reconnect.ctrlr_loss_timeout_sec < 0 ? "for ever, " : "gives up after ",
		      nctrlr->reconnect.ctrlr_loss_timeout_sec < 0 ? 0 : nctrlr->reconnect.ctrlr_loss_timeout_sec);
	brisk_for_each_channel(nctrlr, reconnect_pause_channel, nctrlr, reconnect_paused);
	return true;
}

static void reconnect_resume_channel(struct brisk_io_channel_iter *i)
{
	bdev_nvme_channel_resume(brisk_io_channel_iter_get_channel(i));
	brisk_for_each_channel_continue(i, 0);
}

static void reconnect_resumed(struct brisk_io_channel_iter *i, int status)
{
	struct nvme_ctrlr *nctrlr = brisk_io_channel_iter_get_ctx(i);

	nctrlr->resetting = false;
}

/* The attempts end: the channels go again (held I/O is sent, or fails when
 * the controller is failed). */
static void reconnect_end(struct nvme_ctrlr *nctrlr)
{
	brisk_poller_unregister(&nctrlr->reconnect_poller);
	nctrlr->reconnecting = false;
	nctrlr->io_fail = false;
	brisk_for_each_channel(nctrlr, reconnect_resume_channel, nctrlr, reconnect_resumed);
}

void bdev_nvme_reconnect_stop(struct nvme_ctrlr *nctrlr)
{
	if (!nctrlr->reconnecting) {
		return;
	}
	nctrlr->failed = true; /* held I/O fails on resume */
	if (nctrlr->attempt != NULL) {
		brisk_poller_unregister(&nctrlr->attempt_poller);
		brisk_nvme_ctrlr_reset_cancel_async(nctrlr->attempt);
		nctrlr->attempt = NULL;
	}
	brisk_nvme_ctrlr_fail(nctrlr->ctrlr);
	reconnect_end(nctrlr);
}

static void reconnect_fail_channel_io(struct brisk_io_channel_iter *i)
{
	bdev_nvme_channel_fail_held(brisk_io_channel_iter_get_channel(i));
	brisk_for_each_channel_continue(i, 0);
}

static void reconnect_fail_io_done(struct brisk_io_channel_iter *i, int status)
{
}

/* After an attempt that failed: give up, fail the I/O, or wait. */
static void reconnect_failed_attempt(struct nvme_ctrlr *nctrlr)
{
	uint64_t lost_s = (brisk_get_time_us() - nctrlr->lost_at_us) / 1000000u;
	const struct bdev_nvme_reconnect_opts *o = &nctrlr->reconnect;

	if (o->ctrlr_loss_timeout_sec > 0 && lost_s >= (uint64_t)o->ctrlr_loss_timeout_sec) {
		BRISK_ERRLOG("nvme: controller %s: no reconnection in ctrlr_loss_timeout_sec %d s: "
			     "deleting it\n", nctrlr->name, o->ctrlr_loss_timeout_sec);
		brisk_poller_unregister(&nctrlr->reconnect_poller);
		nctrlr->reconnecting = false;
		nctrlr->resetting = false;
		bdev_nvme_ctrlr_fail_and_delete(nctrlr);
		return;
	}
	if (o->fast_io_fail_timeout_sec != 0 && lost_s >= o->fast_io_fail_timeout_sec && !nctrlr->io_fail) {
		BRISK_WARNLOG("nvme: controller %s: fast_io_fail_timeout_sec %u s passed: failing its I/O "
			      "while reconnecting\n", nctrlr->name, o->fast_io_fail_timeout_sec);
		nctrlr->io_fail = true;
		brisk_for_each_channel(nctrlr, reconnect_fail_channel_io, nctrlr, reconnect_fail_io_done);
	}
	if (nctrlr->reconnect_poller == NULL) {
		nctrlr->reconnect_poller = brisk_poller_register_named(reconnect_poll, nctrlr,
					   (uint64_t)o->reconnect_delay_sec * 1000000u, "bdev_nvme_reconnect");
	}
	if (nctrlr->reconnect_poller == NULL) {
		BRISK_ERRLOG("nvme: controller %s: cannot schedule reconnects: deleting it\n", nctrlr->name);
		nctrlr->reconnecting = false;
		nctrlr->resetting = false;
		bdev_nvme_ctrlr_fail_and_delete(nctrlr);
	}
}

static void reconnect_attempt_done(struct nvme_ctrlr *nctrlr, int rc)
{
	if (rc == 0) {
		BRISK_NOTICELOG("nvme: controller %s reconnected after %lu ms\n", nctrlr->name,
				(unsigned long)((brisk_get_time_us() - nctrlr->lost_at_us) / 1000u));
		reconnect_end(nctrlr);
		return;
	}
	reconnect_failed_attempt(nctrlr);
}

static int reconnect_attempt_poll(void *arg)
{
	struct nvme_ctrlr *nctrlr = arg;
	int rc = brisk_nvme_ctrlr_reset_poll_async(nctrlr->attempt);

	if (rc == -EAGAIN) {
		return BRISK_POLLER_BUSY;
	}
	nctrlr->attempt = NULL;
	brisk_poller_unregister(&nctrlr->attempt_poller);
	reconnect_attempt_done(nctrlr, rc);
	return BRISK_POLLER_BUSY;
}

/* Starts one attempt; a poller drives it to its end. */
static void reconnect_try(struct nvme_ctrlr *nctrlr)
{
	int rc = brisk_nvme_ctrlr_reset_async(nctrlr->ctrlr, &nctrlr->attempt);

	if (rc == 0) {
		nctrlr->attempt_poller = brisk_poller_register_named(
			reconnect_attempt_poll, nctrlr, BDEV_NVME_RECONNECT_POLL_US, "bdev_nvme_reconnect_attempt");
		if (nctrlr->attempt_poller != NULL) {
			return;
		}
		brisk_nvme_ctrlr_reset_cancel_async(nctrlr->attempt);
		nctrlr->attempt = NULL;
		rc = -ENOMEM;
	}
	reconnect_attempt_done(nctrlr, rc);
}
