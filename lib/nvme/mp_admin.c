/*
 * Admin commands of a secondary process, forwarded to the primary that owns
 * the admin queue (see nvme_mp.h). The secondary sends the command and the
 * address of its payload (shared DMA memory: the same address in every
 * process, so the primary builds the PRPs as for its own buffer); the
 * primary submits it on its admin queue and answers with the completion
 * (dw0 and status), which the secondary hands to the caller's callback from
 * its admin polling. Commands that would change the controller under the
 * primary (queues, format, namespace management, firmware, async events,
 * the number of queues...) are refused on both sides: the secondary with a
 * clear error before sending, the primary again since it trusts no request.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

/* A secondary's admin command being run by the primary. */
struct mp_admin_op {
	struct nvme_mp_primary *p;
	struct nvme_mp_msg *msg;
};

static bool admin_opc_refused(uint8_t opc)
{
	switch (opc) {
	case BRISK_NVME_OPC_DELETE_IO_SQ:
	case BRISK_NVME_OPC_CREATE_IO_SQ:
	case BRISK_NVME_OPC_DELETE_IO_CQ:
	case BRISK_NVME_OPC_CREATE_IO_CQ:
	case BRISK_NVME_OPC_ASYNC_EVENT_REQUEST: /* would hold a slot until an event */
	case BRISK_NVME_OPC_NS_MANAGEMENT:
	case BRISK_NVME_OPC_FIRMWARE_COMMIT:
	case BRISK_NVME_OPC_FIRMWARE_IMAGE_DOWNLOAD:
	case BRISK_NVME_OPC_NS_ATTACHMENT:
	case BRISK_NVME_OPC_KEEP_ALIVE:
	case BRISK_NVME_OPC_FORMAT_NVM:
	case BRISK_NVME_OPC_FABRIC:
	case 0x1c: /* Virtualization Management */
	case 0x7c: /* Doorbell Buffer Config */
	case 0x84: /* Sanitize */
		return true;
	default:
		return false;
	}
}

/* Set Features that the primary's bring-up configured for itself. */
static bool admin_feature_refused(uint8_t fid)
{
	return fid == BRISK_NVME_FEAT_NUMBER_OF_QUEUES || fid == BRISK_NVME_FEAT_ASYNC_EVENT_CONFIGURATION ||
	       fid == BRISK_NVME_FEAT_HOST_MEM_BUFFER || fid == BRISK_NVME_FEAT_KEEP_ALIVE_TIMER;
}

/* Every byte of the payload must be DMA memory (shared by all processes). */
static bool admin_buf_is_dma(uint64_t buf, uint32_t len)
{
	while (len != 0) {
		uint64_t size = len;

		if (brisk_vtophys((const void *)(uintptr_t)buf, &size) == BRISK_VTOPHYS_ERROR || size == 0) {
			return false;
		}
		size = size < len ? size : len;
		buf += size;
		len -= (uint32_t)size;
	}
	return true;
}

int nvme_mp_admin_check(struct brisk_nvme_ctrlr *ctrlr, const struct nvme_mp_msg *m)
{
	const char *addr = ctrlr->trid.traddr;

	if (admin_opc_refused(m->cmd.opc) ||
	    (m->cmd.opc == BRISK_NVME_OPC_SET_FEATURES && admin_feature_refused(m->cmd.cdw10 & 0xff))) {
		BRISK_ERRLOG("nvme %s: admin opcode 0x%02x (cdw10 0x%x) would change the controller "
			     "under the primary process: refused to a secondary\n",
			     addr, m->cmd.opc, m->cmd.cdw10);
		return -EPERM;
	}
	if (m->cmd.fuse != 0 || m->cmd.psdt != 0) {
		BRISK_ERRLOG("nvme %s: a secondary's admin command sets fuse/psdt\n", addr);
		return -EINVAL;
	}
	if (m->len > ctrlr->max_xfer_size || (m->len != 0) != (m->buf != 0)) {
		BRISK_ERRLOG("nvme %s: a secondary's admin payload of %u bytes at 0x%" PRIx64
			     " (len: at most %u, with an address)\n",
			     addr, m->len, m->buf, ctrlr->max_xfer_size);
		return -EINVAL;
	}
	if (m->len != 0 && !admin_buf_is_dma(m->buf, m->len)) {
		BRISK_ERRLOG("nvme %s: a secondary's admin payload (buf 0x%" PRIx64 ", %u bytes) is "
			     "not in shared DMA memory\n",
			     addr, m->buf, m->len);
		return -EINVAL;
	}
	return 0;
}

/* ---- Primary ---- */

static void admin_serve_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct mp_admin_op *op = arg;

	op->msg->cpl = *cpl;
	nvme_mp_channel_reply(&op->p->ch, op->msg, 0);
	op->p->in_flight--;
	free(op);
}

/* Abort only of a command on one of the sender's own queues. */
static int admin_abort_check(struct brisk_nvme_ctrlr *ctrlr, const struct nvme_mp_msg *m)
{
	struct nvme_mp_primary *p = ctrlr->mp;
	uint32_t sqid = m->cmd.cdw10 & 0xffffu;

	if (sqid == 0 || sqid > NVME_MAX_IO_QUEUES || p->owner[sqid] != m->pid) {
		BRISK_ERRLOG("nvme %s: process %d asks to abort a command of queue %u, which is not "
			     "its own\n",
			     ctrlr->trid.traddr, m->pid, sqid);
		return -EPERM;
	}
	return 0;
}

int nvme_mp_admin_serve(struct brisk_nvme_ctrlr *ctrlr, struct nvme_mp_msg *m)
{
	struct nvme_mp_primary *p = ctrlr->mp;
	struct mp_admin_op *op;
	int rc = nvme_mp_admin_check(ctrlr, m);

	if (rc == 0 && m->cmd.opc == BRISK_NVME_OPC_ABORT) {
		rc = admin_abort_check(ctrlr, m);
	}
	if (rc != 0) {
		return rc;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL) {
		return -ENOMEM;
	}
	op->p = p;
	op->msg = m;
	/* Addresses are the primary's to build from buf: a secondary's own PRP
	 * or metadata pointer could aim the controller anywhere. */
	m->cmd.mptr = 0;
	memset(&m->cmd.dptr, 0, sizeof(m->cmd.dptr));
	rc = nvme_admin_submit(ctrlr, &m->cmd, (void *)(uintptr_t)m->buf, m->len, admin_serve_done, op);
	if (rc != 0) {
		free(op);
		return rc;
	}
	p->in_flight++;
	return 0;
}

/* ---- Secondary ---- */

static struct nvme_mp_admin_wait *admin_wait_get(struct nvme_mp_secondary *s)
{
	for (uint32_t i = 0; i < NVME_MP_CHANNEL_SLOTS; i++) {
		if (s->admin[i].slot == NULL) {
			return &s->admin[i];
		}
	}
	return NULL;
}

int nvme_mp_admin_submit(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cmd *cmd, void *buf, uint32_t len,
			 brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_ADMIN, .cmd = *cmd, .len = len };
	struct nvme_mp_secondary *s = ctrlr->mp;
	struct nvme_mp_admin_wait *w;
	int rc;

	msg.buf = len != 0 ? (uint64_t)(uintptr_t)buf : 0;
	rc = nvme_mp_admin_check(ctrlr, &msg);
	if (rc != 0) {
		return rc;
	}
	pthread_mutex_lock(&ctrlr->lock);
	w = s != NULL ? admin_wait_get(s) : NULL;
	if (s == NULL || nvme_ctrlr_is_failed(ctrlr)) {
		rc = -ENXIO;
	} else {
		/* No free slot: the caller polls and retries, as with -ENOMEM elsewhere. */
		rc = w == NULL ? -ENOMEM : nvme_mp_channel_send(&s->ch, &msg, &w->slot);
		rc = rc == -EBUSY ? -ENOMEM : rc;
	}
	if (rc == 0) {
		w->cb_fn = cb_fn;
		w->cb_arg = cb_arg;
		s->admin_pending++;
	}
	pthread_mutex_unlock(&ctrlr->lock);
	return rc;
}

static void admin_wait_complete(struct nvme_mp_secondary *s, struct nvme_mp_admin_wait *w,
				const struct brisk_nvme_cpl *cpl)
{
	brisk_nvme_cmd_cb cb_fn = w->cb_fn;
	void *cb_arg = w->cb_arg;

	memset(w, 0, sizeof(*w));
	s->admin_pending--;
	if (cb_fn != NULL) {
		cb_fn(cb_arg, cpl);
	}
}

/* The primary refused (rc) or is gone: a completion saying so. */
static void admin_cpl_from_rc(struct brisk_nvme_cpl *cpl, int rc)
{
	memset(cpl, 0, sizeof(*cpl));
	cpl->status.sct = BRISK_NVME_SCT_GENERIC;
	cpl->status.sc = rc == -EPERM    ? BRISK_NVME_SC_INVALID_OPCODE
			 : rc == -EINVAL ? BRISK_NVME_SC_INVALID_FIELD
			 : rc == -ENXIO  ? BRISK_NVME_SC_ABORTED_SQ_DELETION
					 : BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
	cpl->status.dnr = 1;
}

static bool admin_wait_answered(struct nvme_mp_secondary *s, struct nvme_mp_admin_wait *w)
{
	struct nvme_mp_msg out;
	struct brisk_nvme_cpl cpl;

	if (nvme_mp_channel_result(&s->ch, w->slot, &out) != 0) {
		return false;
	}
	if (out.rc == 0) {
		cpl = out.cpl;
	} else {
		admin_cpl_from_rc(&cpl, out.rc);
	}
	admin_wait_complete(s, w, &cpl);
	return true;
}

/* primary_gone: give up on the answer (the slot is the primary's to free). */
static void admin_wait_poll(struct nvme_mp_secondary *s, struct nvme_mp_admin_wait *w, bool primary_gone)
{
	struct brisk_nvme_cpl cpl;

	if (admin_wait_answered(s, w) || !primary_gone) {
		return;
	}
	if (nvme_mp_channel_abandon(&s->ch, w->slot) != 0) {
		admin_wait_answered(s, w); /* answered meanwhile */
		return;
	}
	admin_cpl_from_rc(&cpl, -ENXIO);
	admin_wait_complete(s, w, &cpl);
}

int32_t nvme_mp_admin_poll_locked(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_secondary *s = ctrlr->mp;
	uint32_t before;
	bool gone;

	if (s == NULL || s->admin_pending == 0) {
		return 0;
	}
	before = s->admin_pending;
	gone = nvme_ctrlr_is_failed(ctrlr) || __atomic_load_n(&s->shared->magic, __ATOMIC_ACQUIRE) == 0 ||
	       !nvme_mp_pid_alive(s->shared->primary_pid);
	for (uint32_t i = 0; i < NVME_MP_CHANNEL_SLOTS && s->admin_pending != 0; i++) {
		if (s->admin[i].slot != NULL) {
			admin_wait_poll(s, &s->admin[i], gone);
		}
	}
	return (int32_t)(before - s->admin_pending);
}

void nvme_mp_admin_abort_all(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_secondary *s = ctrlr->mp;

	for (uint32_t i = 0; s != NULL && i < NVME_MP_CHANNEL_SLOTS && s->admin_pending != 0; i++) {
		if (s->admin[i].slot != NULL) {
			admin_wait_poll(s, &s->admin[i], true);
		}
	}
}
