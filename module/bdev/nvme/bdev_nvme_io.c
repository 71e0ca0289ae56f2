/*
 * The I/O path of the NVMe bdevs. Each thread has one channel per
 * controller holding its own I/O qpair (nothing is shared, nothing locks);
 * every namespace bdev of the controller submits through it. The qpair is
 * polled by a poller that runs only while commands are in flight: an idle
 * channel must let its reactor sleep.
 *
 * Mapping: read/write/compare walk the bdev_io iovecs through the driver's
 * reset_sgl/next_sge callbacks; unmap becomes Dataset Management deallocate
 * commands of up to 256 ranges, write_zeroes commands of up to 65536 blocks,
 * issued one after the other; reset and admin passthrough go to the
 * controller's thread. -ENOMEM from the driver becomes NOMEM (the bdev layer
 * submits again later); commands aborted by a controller reset are submitted
 * again; other NVMe errors fail the I/O (a compare failure is MISCOMPARE),
 * after bdev_retry_count retries where the controller allows them.
 *
 * Multipath: the bdev's channel is its primary controller's ("home"); an
 * I/O goes along the path bdev_nvme_mp_pick chooses, through home or the
 * home's channel to that secondary controller. A path error (SCT 3h, e.g.
 * ANA inaccessible) or a lost controller sends the I/O along another path
 * instead of failing it; with no usable path it waits on the home channel
 * (looked at every 10 ms) until one is, or its time is up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ticks.h>

#include "bdev_nvme.h"

/* How often I/O with no usable path looks for one. It waits for an ANA
 * change notice or a reconnect to make a path usable; nothing is sent to
 * the target meanwhile. */
#define NVME_NOPATH_POLL_US 10000

struct nvme_channel {
	struct nvme_ctrlr *nctrlr;
	struct brisk_nvme_qpair *qpair;
	struct brisk_poller *poller;
	bool poller_running;
	bool paused;                         /* a controller reset is in progress */
	uint32_t inflight;                   /* commands in the driver */
	TAILQ_HEAD(, nvme_io) held;          /* submitted while paused */
	struct brisk_nvme_dsm_range *dsm_free[NVME_CH_DSM_BUFS];
	uint32_t dsm_nfree;
	struct brisk_io_channel *mp_ch[NVME_MP_MAX_CTRLRS]; /* home: channels to secondaries, by slot */
	uint32_t mp_rr; /* active_active round robin */
	TAILQ_HEAD(, nvme_io) nopath; /* home: I/O waiting for a usable path */
	struct brisk_poller *nopath_poller; /* runs while nopath has I/O */
	bool nopath_running;
};

/* The module's part of each brisk_bdev_io. */
struct nvme_io {
	struct nvme_channel *ch; /* the path's channel */
	struct nvme_channel *home; /* the bdev's channel */
	struct brisk_nvme_ns *dns; /* the path's namespace */
	uint32_t failovers;
	int iov_idx;                         /* data cursor for next_sge */
	size_t iov_off;
	uint64_t next_lba;                   /* unmap / write_zeroes: what is left */
	uint64_t remaining;
	uint64_t chunk;                      /* blocks the command in flight covers */
	struct brisk_nvme_dsm_range *dsm;    /* unmap: a DMA buffer of the channel */
	uint32_t retries;
	uint64_t wait_end_us; /* no usable path: fails after this (0 = not waiting yet) */
	TAILQ_ENTRY(nvme_io) link;
};

int bdev_nvme_io_ctx_size(void)
{
	return sizeof(struct nvme_io);
}

size_t bdev_nvme_channel_size(void)
{
	return sizeof(struct nvme_channel);
}

static inline struct brisk_bdev_io *nvme_io_bdev_io(struct nvme_io *io)
{
	return brisk_bdev_io_from_ctx(io);
}

static void nvme_io_submit(struct nvme_io *io);

/* ---- Completion ---- */

static void nvme_io_release_dsm(struct nvme_io *io)
{
	if (io->dsm != NULL) {
		io->ch->dsm_free[io->ch->dsm_nfree++] = io->dsm;
		io->dsm = NULL;
	}
}

static void nvme_io_complete(struct nvme_io *io, int status)
{
	nvme_io_release_dsm(io);
	brisk_bdev_io_complete(nvme_io_bdev_io(io), status);
}

static bool nvme_cpl_is_aborted_by_reset(const struct brisk_nvme_cpl *cpl)
{
	return cpl->status.sct == BRISK_NVME_SCT_GENERIC &&
	       cpl->status.sc == BRISK_NVME_SC_ABORTED_SQ_DELETION;
}

static bool nvme_cpl_is_miscompare(const struct brisk_nvme_cpl *cpl)
{
	return cpl->status.sct == BRISK_NVME_SCT_MEDIA_ERROR &&
	       cpl->status.sc == BRISK_NVME_SC_COMPARE_FAILURE;
}

/* The controller allows a retry and retries are left. */
static bool nvme_io_may_retry(struct nvme_io *io, const struct brisk_nvme_cpl *cpl)
{
	int32_t limit = g_bdev_nvme_opts.bdev_retry_count;

	if (cpl->status.dnr || nvme_cpl_is_miscompare(cpl) || io->ch->nctrlr->failed ||
	    nvme_io_bdev_io(io)->type == BRISK_BDEV_IO_TYPE_NVME_IO) {
		return false;
	}
	return limit < 0 || io->retries < (uint32_t)limit;
}

static void nvme_io_failed(struct nvme_io *io, const struct brisk_nvme_cpl *cpl)
{
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);

	if (!io->ch->nctrlr->failed && !nvme_cpl_is_miscompare(cpl)) {
		BRISK_ERRLOG("nvme %s: I/O at block %lu failed: %s (sct %u sc 0x%x)\n", bdev_io->bdev->name,
			     (unsigned long)bdev_io->u.offset_blocks,
			     brisk_nvme_cpl_get_status_string(&cpl->status),
			     (unsigned)cpl->status.sct, (unsigned)cpl->status.sc);
	}
	nvme_io_complete(io, nvme_cpl_is_miscompare(cpl) ? BRISK_BDEV_IO_STATUS_MISCOMPARE :
			 cpl->status.sct == BRISK_NVME_SCT_GENERIC &&
			 cpl->status.sc == BRISK_NVME_SC_ABORTED_BY_REQUEST ?
			 BRISK_BDEV_IO_STATUS_ABORTED : BRISK_BDEV_IO_STATUS_FAILED);
}

/* ---- Paths ---- */

/* The channel of path p on this thread (home's own, or one home holds). */
static struct nvme_channel *nvme_path_channel(struct nvme_channel *home, const struct nvme_path *p)
{
	uint32_t slot = p->nctrlr->mp_slot;

	if (p->nctrlr == home->nctrlr) {
		return home;
	}
	if (slot == 0 || slot >= NVME_MP_MAX_CTRLRS) {
		return NULL;
	}
	if (home->mp_ch[slot] == NULL) {
		home->mp_ch[slot] = brisk_get_io_channel(p->nctrlr); /* once per thread and path */
	}
	return home->mp_ch[slot] != NULL ? brisk_io_channel_get_ctx(home->mp_ch[slot]) : NULL;
}

/* The channel of a usable path other than avoid's (its namespace in *dns),
 * or NULL when there is none. */
static struct nvme_channel *nvme_io_pick(struct nvme_io *io, const struct nvme_ctrlr *avoid, struct brisk_nvme_ns **dns)
{
	struct nvme_ns *ns = nvme_io_bdev_io(io)->bdev->ctxt;
	struct nvme_path *p = bdev_nvme_mp_pick(ns, &io->home->mp_rr, avoid);

	if (p == NULL) {
		return NULL;
	}
	*dns = p->ns;
	return nvme_path_channel(io->home, p);
}

void bdev_nvme_channel_drop_path(struct brisk_io_channel *_ch, uint32_t slot)
{
	struct nvme_channel *ch = brisk_io_channel_get_ctx(_ch);

	if (slot < NVME_MP_MAX_CTRLRS && ch->mp_ch[slot] != NULL) {
		brisk_put_io_channel(ch->mp_ch[slot]);
		ch->mp_ch[slot] = NULL;
	}
}

/* No usable path now: the I/O waits on its home channel while a path may
 * still come back (bdev_nvme_mp_wait_us, counted from its first wait);
 * false when none will, and the caller fails it. */
static bool nvme_io_wait_path(struct nvme_io *io)
{
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);
	struct nvme_channel *home = io->home;
	uint64_t wait;

	if (home == NULL || home->nopath_poller == NULL || bdev_io->type == BRISK_BDEV_IO_TYPE_NVME_IO) {
		return false;
	}
	wait = bdev_nvme_mp_wait_us(bdev_io->bdev->ctxt);
	if (wait == 0) {
		return false;
	}
	if (io->wait_end_us == 0) {
		io->wait_end_us = wait == UINT64_MAX ? UINT64_MAX : brisk_get_time_us() + wait;
	}
	nvme_io_release_dsm(io); /* the buffer belongs to the old channel */
	TAILQ_INSERT_TAIL(&home->nopath, io, link);
	if (!home->nopath_running) {
		brisk_poller_resume(home->nopath_poller);
		home->nopath_running = true;
	}
	return true;
}

/* A waiting I/O goes along a path usable now, fails once its time is up
 * (or no path may come back any more), or waits on. */
static void nvme_nopath_retry(struct nvme_io *io, uint64_t now)
{
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);
	struct brisk_nvme_ns *dns = NULL;
	struct nvme_channel *ch = nvme_io_pick(io, NULL, &dns);

	if (ch != NULL) {
		io->ch = ch;
		io->dns = dns;
		nvme_io_submit(io);
	} else if (now >= io->wait_end_us || bdev_nvme_mp_wait_us(bdev_io->bdev->ctxt) == 0) {
		BRISK_ERRLOG("nvme %s: no usable path for the I/O at block %lu in time\n", bdev_io->bdev->name,
			     (unsigned long)bdev_io->u.offset_blocks);
		nvme_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
	} else {
		TAILQ_INSERT_TAIL(&io->home->nopath, io, link);
	}
}

static int nvme_nopath_poll(void *arg)
{
	struct nvme_channel *home = arg;
	TAILQ_HEAD(, nvme_io) q = TAILQ_HEAD_INITIALIZER(q);
	uint64_t now = brisk_get_time_us();
	struct nvme_io *io;

	TAILQ_CONCAT(&q, &home->nopath, link);
	while ((io = TAILQ_FIRST(&q)) != NULL) {
		TAILQ_REMOVE(&q, io, link);
		nvme_nopath_retry(io, now);
	}
	if (TAILQ_EMPTY(&home->nopath) && home->nopath_running) {
		brisk_poller_pause(home->nopath_poller); /* nothing waits: let the reactor sleep */
		home->nopath_running = false;
	}
	return BRISK_POLLER_IDLE;
}

/* A path error or a lost controller: the I/O goes along another path, or
 * waits for one after an ANA status. */
static bool nvme_io_failover(struct nvme_io *io, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_ctrlr *c = io->ch->nctrlr;
	/* A qpair torn down under the I/O (its connection dropped) counts as a
	 * path error: the controller may not be marked lost yet when the abort
	 * completes, and resubmitting to it would fail the I/O. */
	bool path_err = cpl->status.sct == BRISK_NVME_SCT_PATH || nvme_cpl_is_aborted_by_reset(cpl);
	struct brisk_nvme_ns *dns = NULL;
	struct nvme_channel *ch;

	if ((!path_err && !c->failed && !c->reconnecting && !c->deleting) || io->home == NULL ||
	    nvme_io_bdev_io(io)->type == BRISK_BDEV_IO_TYPE_NVME_IO || io->failovers >= 2 * NVME_MP_MAX_CTRLRS) {
		return false;
	}
	if (cpl->status.sct == BRISK_NVME_SCT_PATH) {
		bdev_nvme_mp_path_error(nvme_io_bdev_io(io)->bdev->ctxt, c, cpl);
	}
	ch = nvme_io_pick(io, c, &dns);
	if (ch == NULL) {
		return cpl->status.sct == BRISK_NVME_SCT_PATH && nvme_io_wait_path(io);
	}
	nvme_io_release_dsm(io); /* the buffer belongs to the old channel */
	io->ch = ch;
	io->dns = dns;
	io->failovers++;
	nvme_io_submit(io);
	return true;
}

static void nvme_io_done(void *cb_arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_io *io = cb_arg;
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);

	io->ch->inflight--;
	if (brisk_nvme_cpl_is_error(cpl) && nvme_io_failover(io, cpl)) {
		return;
	}
	if (nvme_cpl_is_aborted_by_reset(cpl) && !io->ch->nctrlr->failed) {
		nvme_io_submit(io); /* the same command again once the qpair is back */
		return;
	}
	if (bdev_io->type == BRISK_BDEV_IO_TYPE_NVME_IO) {
		brisk_bdev_io_complete_nvme_status(bdev_io, cpl->cdw0, cpl->status.sct, cpl->status.sc);
		return;
	}
	if (brisk_nvme_cpl_is_error(cpl)) {
		if (nvme_io_may_retry(io, cpl)) {
			io->retries++;
			nvme_io_submit(io);
			return;
		}
		nvme_io_failed(io, cpl);
		return;
	}
	io->next_lba += io->chunk;
	io->remaining -= io->chunk;
	if (io->remaining > 0) {
		nvme_io_submit(io); /* the next command of an unmap or write_zeroes */
		return;
	}
	nvme_io_complete(io, BRISK_BDEV_IO_STATUS_SUCCESS);
}

/* ---- Data through the bdev_io iovecs ---- */

static void nvme_io_reset_sgl(void *cb_arg, uint32_t offset)
{
	struct nvme_io *io = cb_arg;
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);
	int i;

	for (i = 0; i < bdev_io->u.iovcnt && offset >= bdev_io->u.iovs[i].iov_len; i++) {
		offset -= (uint32_t)bdev_io->u.iovs[i].iov_len;
	}
	io->iov_idx = i;
	io->iov_off = offset;
}

static int nvme_io_next_sge(void *cb_arg, void **address, uint32_t *length)
{
	struct nvme_io *io = cb_arg;
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);
	const struct iovec *iov;

	if (io->iov_idx >= bdev_io->u.iovcnt) {
		return -EINVAL;
	}
	iov = &bdev_io->u.iovs[io->iov_idx];
	*address = (uint8_t *)iov->iov_base + io->iov_off;
	*length = (uint32_t)(iov->iov_len - io->iov_off);
	io->iov_idx++;
	io->iov_off = 0;
	return 0;
}

/* ---- Issuing one command ---- */

static int nvme_io_issue_rw(struct nvme_io *io, struct nvme_ns *ns, struct brisk_bdev_io *bdev_io)
{
	uint64_t lba = bdev_io->u.offset_blocks;
	uint32_t n = (uint32_t)bdev_io->u.num_blocks;
	struct brisk_nvme_qpair *qp = io->ch->qpair;

	io->iov_idx = 0;
	io->iov_off = 0;
	switch (bdev_io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
		return brisk_nvme_ns_cmd_readv(io->dns, qp, lba, n, nvme_io_done, io, 0, nvme_io_reset_sgl,
					       nvme_io_next_sge);
	case BRISK_BDEV_IO_TYPE_WRITE:
		return brisk_nvme_ns_cmd_writev(io->dns, qp, lba, n, nvme_io_done, io, 0, nvme_io_reset_sgl,
						nvme_io_next_sge);
	default:
		return brisk_nvme_ns_cmd_comparev(io->dns, qp, lba, n, nvme_io_done, io, 0, nvme_io_reset_sgl,
						  nvme_io_next_sge);
	}
}

/* Fills the DMA buffer with up to 256 ranges from next_lba; sets chunk. */
static uint16_t nvme_io_fill_dsm(struct nvme_io *io)
{
	uint64_t lba = io->next_lba;
	uint64_t left = io->remaining;
	uint16_t n = 0;

	while (left > 0 && n < BRISK_NVME_DSM_MAX_RANGES) {
		uint64_t len = left < NVME_DSM_RANGE_MAX_BLOCKS ? left : NVME_DSM_RANGE_MAX_BLOCKS;

		io->dsm[n].attributes = 0;
		io->dsm[n].length = (uint32_t)len;
		io->dsm[n].starting_lba = lba;
		lba += len;
		left -= len;
		n++;
	}
	io->chunk = io->remaining - left;
	return n;
}

static int nvme_io_issue_unmap(struct nvme_io *io, struct nvme_ns *ns)
{
	struct nvme_channel *ch = io->ch;
	uint16_t n;

	if (io->dsm == NULL) {
		if (ch->dsm_nfree == 0) {
			return -ENOMEM;
		}
		io->dsm = ch->dsm_free[--ch->dsm_nfree];
	}
	n = nvme_io_fill_dsm(io);
	return brisk_nvme_ns_cmd_dataset_management(io->dns, ch->qpair, BRISK_NVME_DSM_ATTR_DEALLOCATE, io->dsm, n,
						    nvme_io_done, io);
}

static int nvme_io_issue_write_zeroes(struct nvme_io *io, struct nvme_ns *ns)
{
	io->chunk = io->remaining < NVME_WRITE_ZEROES_MAX_BLOCKS ? io->remaining :
		    NVME_WRITE_ZEROES_MAX_BLOCKS;
	return brisk_nvme_ns_cmd_write_zeroes(io->dns, io->ch->qpair, io->next_lba, (uint32_t)io->chunk, nvme_io_done,
					      io, 0);
}

static int nvme_io_issue_passthru(struct nvme_io *io, struct nvme_ns *ns, struct brisk_bdev_io *bdev_io)
{
	uint32_t max = brisk_nvme_ctrlr_get_max_xfer_size(io->ch->nctrlr->ctrlr);

	if (max != 0 && bdev_io->nvme_passthru.nbytes > max) {
		BRISK_ERRLOG("nvme %s: passthrough of %zu bytes is over the controller's %u\n",
			     bdev_io->bdev->name, bdev_io->nvme_passthru.nbytes, max);
		return -EINVAL;
	}
	bdev_io->nvme_passthru.cmd.nsid = ns->nsid; /* the bdev's namespace only */
	return brisk_nvme_ctrlr_cmd_io_raw(io->ch->nctrlr->ctrlr, io->ch->qpair, &bdev_io->nvme_passthru.cmd,
					   bdev_io->nvme_passthru.buf, (uint32_t)bdev_io->nvme_passthru.nbytes,
					   nvme_io_done, io);
}

/* Issues the command for io; 0 when the driver took it. */
static int nvme_io_issue(struct nvme_io *io)
{
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);
	struct nvme_ns *ns = bdev_io->bdev->ctxt;

	io->chunk = io->remaining; /* one command covers it all, but for unmap and write_zeroes */
	switch (bdev_io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
	case BRISK_BDEV_IO_TYPE_WRITE:
	case BRISK_BDEV_IO_TYPE_COMPARE:
		return nvme_io_issue_rw(io, ns, bdev_io);
	case BRISK_BDEV_IO_TYPE_UNMAP:
		return nvme_io_issue_unmap(io, ns);
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		return nvme_io_issue_write_zeroes(io, ns);
	case BRISK_BDEV_IO_TYPE_FLUSH:
		return brisk_nvme_ns_cmd_flush(io->dns, io->ch->qpair, nvme_io_done, io);
	case BRISK_BDEV_IO_TYPE_NVME_IO:
		return nvme_io_issue_passthru(io, ns, bdev_io);
	default:
		return -ENOTSUP;
	}
}

static void nvme_channel_start_poller(struct nvme_channel *ch)
{
	if (!ch->poller_running && !ch->paused) {
		brisk_poller_resume(ch->poller);
		ch->poller_running = true;
	}
}

static void nvme_io_submit(struct nvme_io *io)
{
	struct nvme_channel *ch = io->ch;
	int rc;

	if (ch->paused && !ch->nctrlr->io_fail) {
		TAILQ_INSERT_TAIL(&ch->held, io, link); /* submitted when the reset is over */
		return;
	}
	if (ch->paused) {
		nvme_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED); /* fast_io_fail_timeout_sec passed */
		return;
	}
	if (ch->nctrlr->failed) {
		nvme_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
		return;
	}
	rc = nvme_io_issue(io);
	if (rc == 0) {
		ch->inflight++;
		nvme_channel_start_poller(ch);
		return;
	}
	if (rc == -ENOMEM) {
		nvme_io_complete(io, BRISK_BDEV_IO_STATUS_NOMEM); /* the bdev layer retries */
		return;
	}
	if (rc == -ENXIO && bdev_nvme_reconnect_holds_io(ch->nctrlr)) {
		/* The connection is lost and the policy reconnects: wait for it. */
		TAILQ_INSERT_TAIL(&ch->held, io, link);
		bdev_nvme_ctrlr_lost(ch->nctrlr);
		return;
	}
	if (rc != -ENXIO) {
		BRISK_ERRLOG("nvme %s: cannot submit I/O: %s\n", nvme_io_bdev_io(io)->bdev->name,
			     strerror(-rc));
	}
	nvme_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
}

/* ---- Work for the controller's thread: reset, admin passthrough ---- */

static void nvme_reset_io_done(void *cb_arg, int rc)
{
	nvme_io_complete(cb_arg, rc == 0 ? BRISK_BDEV_IO_STATUS_SUCCESS : BRISK_BDEV_IO_STATUS_FAILED);
}

static void nvme_reset_io_msg(void *arg)
{
	struct nvme_io *io = arg;

	bdev_nvme_reset(io->ch->nctrlr, nvme_reset_io_done, io);
}

static void nvme_admin_done(void *cb_arg, const struct brisk_nvme_cpl *cpl)
{
	brisk_bdev_io_complete_nvme_status(nvme_io_bdev_io(cb_arg), cpl->cdw0, cpl->status.sct,
					   cpl->status.sc);
}

static void nvme_admin_io_msg(void *arg)
{
	struct nvme_io *io = arg;
	struct brisk_bdev_io *bdev_io = nvme_io_bdev_io(io);
	struct nvme_ctrlr *nctrlr = io->ch->nctrlr;
	int rc;

	if (nctrlr->failed || nctrlr->resetting) {
		brisk_bdev_io_complete(bdev_io, nctrlr->failed ? BRISK_BDEV_IO_STATUS_FAILED :
				       BRISK_BDEV_IO_STATUS_NOMEM);
		return;
	}
	rc = brisk_nvme_ctrlr_cmd_admin_raw(nctrlr->ctrlr, &bdev_io->nvme_passthru.cmd,
					    bdev_io->nvme_passthru.buf,
					    (uint32_t)bdev_io->nvme_passthru.nbytes, nvme_admin_done, io);
	if (rc != 0) {
		brisk_bdev_io_complete(bdev_io, rc == -ENOMEM ? BRISK_BDEV_IO_STATUS_NOMEM :
				       BRISK_BDEV_IO_STATUS_FAILED);
	}
}

static void nvme_io_to_ctrlr_thread(struct nvme_io *io, brisk_msg_fn fn)
{
	if (brisk_thread_send_msg(io->ch->nctrlr->thread, fn, io) != 0) {
		nvme_io_complete(io, BRISK_BDEV_IO_STATUS_NOMEM);
	}
}

void bdev_nvme_submit_request(struct brisk_io_channel *_ch, struct brisk_bdev_io *bdev_io)
{
	struct nvme_io *io = (struct nvme_io *)bdev_io->driver_ctx;
	struct nvme_ns *ns = bdev_io->bdev->ctxt;
	struct brisk_nvme_ns *dns = NULL;
	struct nvme_channel *ch;

	io->ch = brisk_io_channel_get_ctx(_ch);
	io->home = io->ch;
	io->dns = ns->ns;
	io->failovers = 0;
	io->retries = 0;
	io->dsm = NULL;
	io->wait_end_us = 0;
	io->next_lba = bdev_io->u.offset_blocks;
	io->remaining = bdev_io->u.num_blocks;
	switch (bdev_io->type) {
	case BRISK_BDEV_IO_TYPE_RESET:
		nvme_io_to_ctrlr_thread(io, nvme_reset_io_msg);
		return;
	case BRISK_BDEV_IO_TYPE_NVME_ADMIN:
		nvme_io_to_ctrlr_thread(io, nvme_admin_io_msg);
		return;
	case BRISK_BDEV_IO_TYPE_FLUSH:
		if (!brisk_nvme_ns_has_volatile_write_cache(ns->ns)) {
			nvme_io_complete(io, BRISK_BDEV_IO_STATUS_SUCCESS); /* nothing is cached */
			return;
		}
		break;
	default:
		break;
	}
	ch = nvme_io_pick(io, NULL, &dns);
	if (ch == NULL && nvme_io_wait_path(io)) {
		return;
	}
	if (ch != NULL) { /* else the bdev's own controller, which reports what is wrong */
		io->ch = ch;
		io->dns = dns;
	}
	nvme_io_submit(io);
}

bool bdev_nvme_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct nvme_ns *ns = ctx;

	switch (type) {
	case BRISK_BDEV_IO_TYPE_READ:
	case BRISK_BDEV_IO_TYPE_WRITE:
	case BRISK_BDEV_IO_TYPE_FLUSH:
	case BRISK_BDEV_IO_TYPE_RESET:
	case BRISK_BDEV_IO_TYPE_NVME_ADMIN:
	case BRISK_BDEV_IO_TYPE_NVME_IO:
		return true;
	case BRISK_BDEV_IO_TYPE_UNMAP:
		return brisk_nvme_ns_supports_dsm(ns->ns);
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		return brisk_nvme_ns_supports_write_zeroes(ns->ns);
	case BRISK_BDEV_IO_TYPE_COMPARE:
		return brisk_nvme_ns_supports_compare(ns->ns);
	default:
		return false;
	}
}

/* ---- Channels ---- */

static int nvme_channel_poll(void *arg)
{
	struct nvme_channel *ch = arg;
	int32_t n;

	if (ch->paused) {
		return BRISK_POLLER_IDLE;
	}
	n = brisk_nvme_qpair_process_completions(ch->qpair, 0);
	if (n < 0 && !ch->nctrlr->failed) {
		bdev_nvme_ctrlr_lost(ch->nctrlr); /* its commands complete with errors meanwhile */
	}
	if (ch->inflight == 0 && ch->poller_running) {
		brisk_poller_pause(ch->poller); /* idle: let the reactor sleep */
		ch->poller_running = false;
	}
	return n > 0 ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

void bdev_nvme_channel_pause(struct brisk_io_channel *_ch)
{
	struct nvme_channel *ch = brisk_io_channel_get_ctx(_ch);

	ch->paused = true;
	if (ch->poller_running) {
		brisk_poller_pause(ch->poller);
		ch->poller_running = false;
	}
}

void bdev_nvme_channel_resume(struct brisk_io_channel *_ch)
{
	struct nvme_channel *ch = brisk_io_channel_get_ctx(_ch);
	TAILQ_HEAD(, nvme_io) held = TAILQ_HEAD_INITIALIZER(held);
	struct nvme_io *io;

	ch->paused = false;
	/* Commands the reset aborted complete from the next poll. */
	brisk_poller_resume(ch->poller);
	ch->poller_running = true;
	TAILQ_CONCAT(&held, &ch->held, link);
	while ((io = TAILQ_FIRST(&held)) != NULL) {
		TAILQ_REMOVE(&held, io, link);
		nvme_io_submit(io);
	}
}

void bdev_nvme_channel_fail_held(struct brisk_io_channel *_ch)
{
	struct nvme_channel *ch = brisk_io_channel_get_ctx(_ch);
	TAILQ_HEAD(, nvme_io) held = TAILQ_HEAD_INITIALIZER(held);
	struct nvme_io *io;

	TAILQ_CONCAT(&held, &ch->held, link);
	while ((io = TAILQ_FIRST(&held)) != NULL) {
		TAILQ_REMOVE(&held, io, link);
		nvme_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
	}
}

static void nvme_channel_free_dsm(struct nvme_channel *ch)
{
	while (ch->dsm_nfree > 0) {
		brisk_free(ch->dsm_free[--ch->dsm_nfree]);
	}
}

static int nvme_channel_alloc_dsm(struct nvme_channel *ch)
{
	size_t len = BRISK_NVME_DSM_MAX_RANGES * sizeof(struct brisk_nvme_dsm_range);

	for (int i = 0; i < NVME_CH_DSM_BUFS; i++) {
		void *buf = brisk_dma_zmalloc(len, 4096, NULL);

		if (buf == NULL) {
			nvme_channel_free_dsm(ch);
			return -ENOMEM;
		}
		ch->dsm_free[ch->dsm_nfree++] = buf;
	}
	return 0;
}

int bdev_nvme_channel_create(void *io_device, void *ctx_buf)
{
	struct nvme_channel *ch = ctx_buf;
	struct brisk_nvme_io_qpair_opts qopts;

	memset(ch, 0, sizeof(*ch));
	ch->nctrlr = io_device;
	TAILQ_INIT(&ch->held);
	TAILQ_INIT(&ch->nopath);
	brisk_nvme_ctrlr_get_default_io_qpair_opts(ch->nctrlr->ctrlr, &qopts);
	if (g_bdev_nvme_opts.io_queue_requests != 0) {
		qopts.io_queue_requests = g_bdev_nvme_opts.io_queue_requests;
	}
	ch->qpair = brisk_nvme_ctrlr_alloc_io_qpair(ch->nctrlr->ctrlr, &qopts);
	if (ch->qpair == NULL) {
		BRISK_ERRLOG("nvme %s: no I/O qpair for this thread\n", ch->nctrlr->name);
		return -ENOMEM;
	}
	ch->poller = brisk_poller_register_named(nvme_channel_poll, ch,
			 g_bdev_nvme_opts.nvme_ioq_poll_period_us, "bdev_nvme_ioq");
	ch->nopath_poller = brisk_poller_register_named(nvme_nopath_poll, ch, NVME_NOPATH_POLL_US, "bdev_nvme_nopath");
	if (ch->poller == NULL || ch->nopath_poller == NULL || nvme_channel_alloc_dsm(ch) != 0) {
		brisk_poller_unregister(&ch->poller);
		brisk_poller_unregister(&ch->nopath_poller);
		brisk_nvme_ctrlr_free_io_qpair(ch->qpair);
		return -ENOMEM;
	}
	brisk_poller_pause(ch->poller); /* until the first command */
	brisk_poller_pause(ch->nopath_poller); /* until an I/O has no usable path */
	return 0;
}

void bdev_nvme_channel_destroy(void *io_device, void *ctx_buf)
{
	struct nvme_channel *ch = ctx_buf;
	struct nvme_io *io;

	while ((io = TAILQ_FIRST(&ch->nopath)) != NULL) {
		TAILQ_REMOVE(&ch->nopath, io, link);
		nvme_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
	}
	brisk_poller_unregister(&ch->nopath_poller);
	for (uint32_t i = 0; i < NVME_MP_MAX_CTRLRS; i++) {
		bdev_nvme_channel_drop_path(brisk_io_channel_from_ctx(ch), i);
	}
	if (ch->inflight != 0 || !TAILQ_EMPTY(&ch->held)) {
		BRISK_ERRLOG("nvme %s: channel released with %u commands in flight\n", ch->nctrlr->name,
			     ch->inflight);
	}
	brisk_poller_unregister(&ch->poller);
	brisk_nvme_ctrlr_free_io_qpair(ch->qpair);
	nvme_channel_free_dsm(ch);
}
