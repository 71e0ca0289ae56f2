/*
 * Reservation commands on the wire (I/O queues: Register, Report, Acquire,
 * Release), the reservation check of every I/O command, the reservation
 * features (Host Identifier, Reservation Notification Mask, Reservation
 * Persistence) and the Reservation Notification log page with its
 * asynchronous event. The state is per namespace (struct nvmf_resv, its
 * mutex taken here), changed by reservation.c and written to the ptpl_file
 * before the command completes, so a completed command survives a restart.
 */
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "nvmf_internal.h"

#define NVMF_SC_HOSTID_INCONSISTENT_FORMAT 0x18
#define NVMF_FEAT_RESV_NOTIFICATION_MASK 0x82
#define NVMF_FEAT_RESV_PERSISTENCE 0x83
#define NVMF_RESV_MASK_BITS 0x0e

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--) {
		v = (v << 8) | p[i];
	}
	return v;
}

bool nvmf_resv_io_ok(struct nvmf_ns *ns, const struct nvmf_req *req)
{
	uint8_t opc = req->cmd.opc;
	bool write, ok;

	if (!__atomic_load_n(&ns->resv.active, __ATOMIC_SEQ_CST)) {
		return true; /* no reservation: the common case takes no lock */
	}
	write = opc != BRISK_NVME_OPC_READ && opc != BRISK_NVME_OPC_COMPARE;
	pthread_mutex_lock(&ns->resv.mutex);
	ok = nvmf_resv_io_allowed(&ns->resv, req->conn->ctrlr->hostid, write);
	pthread_mutex_unlock(&ns->resv.mutex);
	return ok;
}

/* ---- notifications ---- */

struct resv_notify {
	char nqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	uint32_t nsid;
	struct nvmf_resv_out out;
};

struct resv_ctrlr_notice {
	struct nvmf_ctrlr *c;
	uint32_t nsid;
	uint8_t type;
};

static void resv_aer_post(struct nvmf_ctrlr *c)
{
	union brisk_nvme_async_event_completion ev = { .raw = 0 };

	if (!c->resv_aen_pending || c->resv_aen_masked) {
		return;
	}
	ev.bits.async_event_type = BRISK_NVME_ASYNC_EVENT_TYPE_IO;
	ev.bits.async_event_info = 0; /* Reservation Log Page Available */
	ev.bits.log_page_identifier = NVMF_LOG_RESV_NOTIFICATION;
	if (nvmf_ctrlr_aer_complete(c, ev.raw)) {
		c->resv_aen_pending = false;
		c->resv_aen_masked = true; /* until the host reads the log */
	}
}

void nvmf_resv_aer_retry(struct nvmf_ctrlr *c) { resv_aer_post(c); }

static void log_add(struct nvmf_ctrlr *c, uint32_t nsid, uint8_t type)
{
	c->resv_log_count++;
	if (nsid - 1 < c->subsys->max_nsid && c->resv_mask != NULL && (c->resv_mask[nsid - 1] & (1u << type))) {
		return; /* masked: the entry is lost, as the count shows */
	}
	if (c->resv_log_num == NVMF_RESV_LOG_MAX) {
		memmove(&c->resv_log[0], &c->resv_log[1], (NVMF_RESV_LOG_MAX - 1) * sizeof(c->resv_log[0]));
		c->resv_log_num--;
	}
	c->resv_log[c->resv_log_num].count = c->resv_log_count;
	c->resv_log[c->resv_log_num].nsid = nsid;
	c->resv_log[c->resv_log_num++].type = type;
	c->resv_aen_pending = true;
	resv_aer_post(c);
}

static void notify_on_ctrlr_thread(void *arg)
{
	struct resv_ctrlr_notice *n = arg;

	log_add(n->c, n->nsid, n->type);
	nvmf_ctrlr_put(n->c);
	free(n);
}

static void notify_ctrlr(struct nvmf_ctrlr *c, uint32_t nsid, uint8_t type)
{
	struct resv_ctrlr_notice *n = malloc(sizeof(*n));

	if (n == NULL || __atomic_load_n(&c->dead, __ATOMIC_SEQ_CST)) {
		free(n);
		return;
	}
	n->c = c;
	n->nsid = nsid;
	n->type = type;
	__atomic_fetch_add(&c->refs, 1, __ATOMIC_SEQ_CST);
	if (brisk_thread_send_msg(c->thread, notify_on_ctrlr_thread, n) != 0) {
		nvmf_ctrlr_put(c);
		free(n);
	}
}

/* App thread: every controller of each notified host gets its log entry. */
static void notify_on_app_thread(void *arg)
{
	struct resv_notify *n = arg;
	struct nvmf_subsystem *s = nvmf_subsystem_find(n->nqn);
	struct nvmf_ctrlr *c;

	for (uint32_t i = 0; s != NULL && i < n->out.num_notices; i++) {
		TAILQ_FOREACH(c, &s->ctrlrs, link) {
			if (memcmp(c->hostid, n->out.notices[i].hostid, 16) == 0) {
				notify_ctrlr(c, n->nsid, n->out.notices[i].type);
			}
		}
	}
	free(n);
}

static void notify_send(struct nvmf_ns *ns, const struct nvmf_resv_out *out)
{
	struct resv_notify *n;

	if (out->num_notices == 0 || (n = malloc(sizeof(*n))) == NULL) {
		return;
	}
	snprintf(n->nqn, sizeof(n->nqn), "%s", ns->subsys->nqn);
	n->nsid = ns->nsid;
	n->out = *out;
	if (brisk_thread_send_msg(g_nvmf_tgt.app_thread, notify_on_app_thread, n) != 0) {
		free(n);
	}
}

/* ---- commands ---- */

/* Runs one action under the lock; a changed state is persisted before the
 * command completes, and restored if it cannot be. */
static uint8_t resv_run(struct nvmf_req *req, const uint8_t *data)
{
	struct nvmf_resv *r = &req->ns->resv;
	struct nvmf_resv_state saved;
	const uint8_t *hostid = req->conn->ctrlr->hostid;
	struct nvmf_resv_out out = { 0 };
	uint8_t sc;

	pthread_mutex_lock(&r->mutex);
	nvmf_resv_state_save(r, &saved);
	if (req->cmd.opc == BRISK_NVME_OPC_RESERVATION_REGISTER) {
		sc = nvmf_resv_register(r, hostid, req->cmd.cdw10, le64(data), le64(data + 8), &out);
	} else if (req->cmd.opc == BRISK_NVME_OPC_RESERVATION_ACQUIRE) {
		sc = nvmf_resv_acquire(r, hostid, req->cmd.cdw10, le64(data), le64(data + 8), &out);
	} else {
		sc = nvmf_resv_release(r, hostid, req->cmd.cdw10, le64(data), &out);
	}
	if (sc == 0 && out.changed && r->ptpl_file != NULL && nvmf_resv_ptpl_save(r) != 0) {
		nvmf_resv_state_restore(r, &saved);
		sc = BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
		out.num_notices = 0;
	}
	pthread_mutex_unlock(&r->mutex);
	if (sc == BRISK_NVME_SC_INTERNAL_DEVICE_ERROR && out.num_notices == 0) {
		BRISK_ERRLOG("nvmf: %s namespace %u: reservation state not changed (registrants full or ptpl_file "
			     "not written)\n",
			     req->ns->subsys->nqn, req->ns->nsid);
	}
	notify_send(req->ns, &out);
	return sc;
}

static uint8_t resv_report(struct nvmf_req *req)
{
	struct nvmf_resv *r = &req->ns->resv;
	uint64_t len = ((uint64_t)req->cmd.cdw10 + 1) * 4;

	if (!(req->cmd.cdw11 & 1)) {
		return NVMF_SC_HOSTID_INCONSISTENT_FORMAT; /* fabrics host IDs are 128-bit: EDS=1 only */
	}
	if (!req->c2h || len > req->length) {
		return BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID;
	}
	req->length = (uint32_t)len;
	pthread_mutex_lock(&r->mutex);
	nvmf_resv_report(r, req->buf, req->length);
	pthread_mutex_unlock(&r->mutex);
	return BRISK_NVME_SC_SUCCESS;
}

/* Register/Acquire carry two keys (16 bytes), Release one (8). */
uint8_t nvmf_resv_cmd(struct nvmf_req *req)
{
	uint32_t need = req->cmd.opc == BRISK_NVME_OPC_RESERVATION_RELEASE ? 8 : 16;

	if (req->cmd.opc == BRISK_NVME_OPC_RESERVATION_REPORT) {
		return resv_report(req);
	}
	if (req->c2h || req->length < need) {
		return BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID;
	}
	return resv_run(req, req->buf);
}

bool nvmf_resv_is_cmd(uint8_t opc)
{
	return opc == BRISK_NVME_OPC_RESERVATION_REGISTER || opc == BRISK_NVME_OPC_RESERVATION_REPORT ||
	       opc == BRISK_NVME_OPC_RESERVATION_ACQUIRE || opc == BRISK_NVME_OPC_RESERVATION_RELEASE;
}

/* ---- log page and features (admin thread) ---- */

/* Reservation Notification log: the oldest entry, removed unless RAE; an
 * empty log reads as zeroes. Reading it unmasks the event. */
uint64_t nvmf_resv_log_fill(struct nvmf_ctrlr *c, uint8_t *page, bool rae)
{
	if (c->resv_log_num > 0) {
		memcpy(page, &c->resv_log[0].count, 8);
		page[8] = c->resv_log[0].type;
		page[9] = (uint8_t)(c->resv_log_num - 1 > 255 ? 255 : c->resv_log_num - 1);
		memcpy(page + 12, &c->resv_log[0].nsid, 4);
	}
	if (!rae) {
		if (c->resv_log_num > 0) {
			memmove(&c->resv_log[0], &c->resv_log[1], (c->resv_log_num - 1) * sizeof(c->resv_log[0]));
			c->resv_log_num--;
		}
		c->resv_aen_masked = false;
		c->resv_aen_pending = c->resv_log_num > 0;
		resv_aer_post(c);
	}
	return 64;
}

bool nvmf_resv_is_feature(uint8_t fid)
{
	return fid == BRISK_NVME_FEAT_HOST_IDENTIFIER || fid == NVMF_FEAT_RESV_NOTIFICATION_MASK ||
	       fid == NVMF_FEAT_RESV_PERSISTENCE;
}

static uint8_t feat_host_id(struct nvmf_req *req, struct nvmf_ctrlr *c, bool set)
{
	if (set) {
		return BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR; /* fabrics: the host ID is Connect's */
	}
	if (!(req->cmd.cdw11 & 1) || !req->c2h || req->length < 16) {
		return BRISK_NVME_SC_INVALID_FIELD; /* only the 128-bit (EXHID=1) form exists here */
	}
	memcpy(req->buf, c->hostid, 16);
	memset(req->buf + 16, 0, req->length - 16);
	return BRISK_NVME_SC_SUCCESS;
}

static uint8_t feat_mask(struct nvmf_req *req, struct nvmf_ctrlr *c, bool set)
{
	uint32_t nsid = req->cmd.nsid;

	if (set && nsid == 0xffffffff) {
		for (uint32_t i = 0; i < c->subsys->max_nsid; i++) {
			c->resv_mask[i] = req->cmd.cdw11 & NVMF_RESV_MASK_BITS;
		}
		return BRISK_NVME_SC_SUCCESS;
	}
	if (nvmf_subsystem_get_ns(c->subsys, nsid) == NULL) {
		return BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT;
	}
	if (set) {
		c->resv_mask[nsid - 1] = req->cmd.cdw11 & NVMF_RESV_MASK_BITS;
	} else {
		req->cpl.cdw0 = c->resv_mask[nsid - 1];
	}
	return BRISK_NVME_SC_SUCCESS;
}

static uint8_t feat_ptpl(struct nvmf_req *req, struct nvmf_ctrlr *c, bool set)
{
	struct nvmf_ns *ns = nvmf_subsystem_get_ns(c->subsys, req->cmd.nsid);
	struct nvmf_resv *r;
	uint8_t sc = BRISK_NVME_SC_SUCCESS;
	bool old;

	if (ns == NULL) {
		return BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT;
	}
	r = &ns->resv;
	pthread_mutex_lock(&r->mutex);
	old = r->ptpl;
	if (!set) {
		req->cpl.cdw0 = r->ptpl;
	} else if ((req->cmd.cdw11 & 1) && !r->ptpl_capable) {
		sc = BRISK_NVME_SC_INVALID_FIELD; /* no ptpl_file to keep it in */
	} else {
		r->ptpl = req->cmd.cdw11 & 1;
		if (r->ptpl_file != NULL && nvmf_resv_ptpl_save(r) != 0) {
			r->ptpl = old;
			sc = BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
		}
	}
	pthread_mutex_unlock(&r->mutex);
	return sc;
}

uint8_t nvmf_resv_feature(struct nvmf_req *req, struct nvmf_ctrlr *c, uint8_t fid, bool set)
{
	if (fid == BRISK_NVME_FEAT_HOST_IDENTIFIER) {
		return feat_host_id(req, c, set);
	}
	if (fid == NVMF_FEAT_RESV_NOTIFICATION_MASK) {
		return feat_mask(req, c, set);
	}
	return feat_ptpl(req, c, set);
}
