/*
 * Admin commands of an emulated controller (on its admin connection's
 * thread): Identify, Get Log Page, Get/Set Features, Asynchronous Event
 * Request (with Namespace Attribute Changed notices), Keep Alive and Abort.
 * The reservation log page and features are reservation_cmd.c's.
 * A discovery controller takes only what a discovery host sends.
 */
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "nvmf_internal.h"

#define NVMF_PAGE 4096

static void admin_done(struct nvmf_req *req, int sct, int sc)
{
	nvmf_req_set_status(req, sct, sc);
	nvmf_req_complete(req);
}

/* Copies len bytes of a page built in full (size bytes) at offset. */
static void reply_slice(struct nvmf_req *req, const uint8_t *page, uint64_t size, uint64_t offset)
{
	uint32_t len = req->length, n = 0;

	if (offset > size) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
		return;
	}
	n = size - offset < len ? (uint32_t)(size - offset) : len;
	memcpy(req->buf, page + offset, n);
	memset(req->buf + n, 0, len - n);
	admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
}

static void identify_ns(struct nvmf_req *req, struct nvmf_ctrlr *c, uint8_t *page)
{
	uint32_t nsid = req->cmd.nsid;
	struct nvmf_ns *ns = nvmf_subsystem_get_ns(c->subsys, nsid);

	if (nsid == 0 || (nsid > c->subsys->max_nsid && nsid != 0xffffffff)) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	if (ns != NULL) { /* an inactive NSID reads as zeroes */
		nvmf_ctrlr_fill_identify_ns(ns, (void *)page);
	}
	reply_slice(req, page, NVMF_PAGE, 0);
}

static void identify_active_list(struct nvmf_req *req, struct nvmf_ctrlr *c, uint8_t *page)
{
	uint32_t *list = (void *)page, n = 0;

	if (req->cmd.nsid >= 0xfffffffe) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
		return;
	}
	for (uint32_t id = req->cmd.nsid + 1; id <= c->subsys->max_nsid && n < 1024; id++) {
		if (nvmf_subsystem_get_ns(c->subsys, id) != NULL) {
			list[n++] = id;
		}
	}
	reply_slice(req, page, NVMF_PAGE, 0);
}

static void admin_identify(struct nvmf_req *req, struct nvmf_ctrlr *c)
{
	uint8_t page[NVMF_PAGE] = {0};
	struct nvmf_ns *ns;

	if (!req->c2h || req->length == 0) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
		return;
	}
	switch (req->cmd.cdw10 & 0xff) {
	case BRISK_NVME_IDENTIFY_CTRLR:
		nvmf_ctrlr_fill_identify(c, (void *)page);
		reply_slice(req, page, NVMF_PAGE, 0);
		return;
	case BRISK_NVME_IDENTIFY_NS:
		identify_ns(req, c, page);
		return;
	case BRISK_NVME_IDENTIFY_ACTIVE_NS_LIST:
		identify_active_list(req, c, page);
		return;
	case BRISK_NVME_IDENTIFY_NS_ID_DESCRIPTOR_LIST:
		ns = nvmf_subsystem_get_ns(c->subsys, req->cmd.nsid);
		if (ns == NULL) {
			admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
			return;
		}
		nvmf_ctrlr_fill_ns_descs(ns, page, NVMF_PAGE);
		reply_slice(req, page, NVMF_PAGE, 0);
		return;
	default:
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
	}
}

/* ---- Get Log Page ---- */

/* The discovery log reads the subsystem lists, which belong to the app
 * thread: it is built there and the command completes back here. */
struct disc_ctx {
	struct nvmf_req *req;
	struct brisk_thread *thread;
	uint64_t offset;
	bool rae; /* Retain Asynchronous Event: the read leaves the notice masked */
};

static void discovery_log_done(void *arg)
{
	struct disc_ctx *d = arg;

	d->req->conn->outstanding--;
	if (d->req->conn->ctrlr != NULL) {
		nvmf_discovery_log_read(d->req->conn->ctrlr, d->rae);
	}
	admin_done(d->req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
	free(d);
}

static void discovery_log_on_app_thread(void *arg)
{
	struct disc_ctx *d = arg;

	nvmf_discovery_log_build(d->req->conn->ctrlr ? d->req->conn->ctrlr->hostnqn : "", d->req->buf,
				 d->offset, d->req->length);
	brisk_thread_send_msg(d->thread, discovery_log_done, d);
}

static void discovery_log(struct nvmf_req *req, struct nvmf_ctrlr *c, uint64_t offset)
{
	struct disc_ctx *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	d->req = req;
	d->thread = brisk_get_thread();
	d->offset = offset;
	d->rae = req->cmd.cdw10 & (1u << 15);
	req->conn->outstanding++; /* the connection outlives the round trip */
	if (brisk_thread_send_msg(g_nvmf_tgt.app_thread, discovery_log_on_app_thread, d) != 0) {
		req->conn->outstanding--;
		free(d);
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INTERNAL_DEVICE_ERROR);
	}
}

static uint64_t fill_health(uint8_t *page)
{
	struct brisk_nvme_health_information_page *h = (void *)page;

	h->temperature = 273 + 25;
	h->available_spare = 100;
	h->available_spare_threshold = 10;
	return sizeof(*h);
}

static uint64_t fill_firmware(uint8_t *page)
{
	struct brisk_nvme_firmware_page *f = (void *)page;

	f->afi = 1;
	memcpy(f->revision[0], "1.0     ", 8);
	return sizeof(*f);
}

static void aer_post_ns_changed(struct nvmf_ctrlr *c);

/* Reading it (without Retain Asynchronous Event) clears the list and
 * unmasks the notice. */
static uint64_t fill_changed_ns(struct nvmf_ctrlr *c, uint8_t *page, bool rae)
{
	struct brisk_nvme_ns_list *l = (void *)page;

	if (c->changed_overflow) {
		l->ns_list[0] = 0xffffffff;
	} else {
		memcpy(l->ns_list, c->changed_ns, c->num_changed * sizeof(uint32_t));
	}
	if (!rae) {
		c->num_changed = 0;
		c->changed_overflow = false;
		c->aen_masked = false;
		aer_post_ns_changed(c);
	}
	return sizeof(*l);
}

static void ana_log(struct nvmf_req *req, struct nvmf_ctrlr *c, uint64_t offset)
{
	uint64_t size = 0;
	uint8_t *page =
		nvmf_ana_log_build(c, req->cmd.cdw10 & BRISK_NVME_ANA_LOG_RGO, req->cmd.cdw10 & (1u << 15), &size);

	if (page == NULL) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INTERNAL_DEVICE_ERROR);
		return;
	}
	reply_slice(req, page, size, offset);
	free(page);
}

static void admin_get_log_page(struct nvmf_req *req, struct nvmf_ctrlr *c)
{
	uint8_t page[NVMF_PAGE] = {0};
	uint8_t lid = req->cmd.cdw10 & 0xff;
	uint64_t numd = (((uint64_t)(req->cmd.cdw11 & 0xffff) << 16) | (req->cmd.cdw10 >> 16)) + 1;
	uint64_t offset = req->cmd.cdw12 | ((uint64_t)req->cmd.cdw13 << 32), size;
	bool disc = c->subsys->subtype == BRISK_NVMF_SUBTYPE_DISCOVERY;

	if (!req->c2h || numd * 4 > req->length || (offset & 3) != 0) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
		return;
	}
	req->length = (uint32_t)(numd * 4);
	if (lid == BRISK_NVME_LOG_DISCOVERY && disc) {
		discovery_log(req, c, offset);
		return;
	}
	if (lid == BRISK_NVME_LOG_ANA && !disc && c->subsys->ana_reporting) {
		ana_log(req, c, offset);
		return;
	}
	switch (disc ? 0 : lid) {
	case BRISK_NVME_LOG_ERROR:
		size = sizeof(struct brisk_nvme_error_information_entry);
		break;
	case BRISK_NVME_LOG_HEALTH_INFORMATION:
		size = fill_health(page);
		break;
	case BRISK_NVME_LOG_FIRMWARE_SLOT:
		size = fill_firmware(page);
		break;
	case BRISK_NVME_LOG_CHANGED_NS_LIST:
		size = fill_changed_ns(c, page, req->cmd.cdw10 & (1u << 15));
		break;
	case NVMF_LOG_RESV_NOTIFICATION:
		size = nvmf_resv_log_fill(c, page, req->cmd.cdw10 & (1u << 15));
		break;
	default:
		admin_done(req, BRISK_NVME_SCT_COMMAND_SPECIFIC, BRISK_NVME_SC_INVALID_LOG_PAGE);
		return;
	}
	reply_slice(req, page, size, offset);
}

/* ---- Features ---- */

static uint32_t queues_cdw0(uint32_t n)
{
	return (n - 1) | ((n - 1) << 16);
}

static int set_feature(struct nvmf_req *req, struct nvmf_ctrlr *c, uint8_t fid, uint32_t v)
{
	uint32_t max = g_nvmf_tgt.tcp->opts.max_qpairs_per_ctrlr - 1, want;

	switch (fid) {
	case BRISK_NVME_FEAT_ARBITRATION:
		c->arbitration = v;
		return 0;
	case BRISK_NVME_FEAT_POWER_MANAGEMENT:
		if ((v & 0x1f) != 0) {
			return -1; /* only power state 0 exists */
		}
		c->power_mgmt = v;
		return 0;
	case BRISK_NVME_FEAT_VOLATILE_WRITE_CACHE:
		c->vwc = v & 1;
		return 0;
	case BRISK_NVME_FEAT_NUMBER_OF_QUEUES:
		if ((v & 0xffff) == 0xffff || (v >> 16) == 0xffff) {
			return -1;
		}
		want = ((v & 0xffff) > (v >> 16) ? (v & 0xffff) : (v >> 16)) + 1;
		c->num_queues_granted = want < max ? want : max;
		req->cpl.cdw0 = queues_cdw0(c->num_queues_granted);
		return 0;
	case BRISK_NVME_FEAT_ASYNC_EVENT_CONFIGURATION:
		c->aec = v;
		return 0;
	case BRISK_NVME_FEAT_KEEP_ALIVE_TIMER:
		nvmf_ctrlr_set_kato(c, v);
		return 0;
	default:
		return -1;
	}
}

static int get_feature(struct nvmf_req *req, struct nvmf_ctrlr *c, uint8_t fid)
{
	uint32_t *out = &req->cpl.cdw0;

	switch (fid) {
	case BRISK_NVME_FEAT_ARBITRATION:
		*out = c->arbitration;
		return 0;
	case BRISK_NVME_FEAT_POWER_MANAGEMENT:
		*out = c->power_mgmt;
		return 0;
	case BRISK_NVME_FEAT_VOLATILE_WRITE_CACHE:
		*out = c->vwc;
		return 0;
	case BRISK_NVME_FEAT_NUMBER_OF_QUEUES:
		*out = queues_cdw0(c->num_queues_granted);
		return 0;
	case BRISK_NVME_FEAT_ASYNC_EVENT_CONFIGURATION:
		*out = c->aec;
		return 0;
	case BRISK_NVME_FEAT_KEEP_ALIVE_TIMER:
		*out = c->kato_ms;
		return 0;
	default:
		return -1;
	}
}

static void admin_features(struct nvmf_req *req, struct nvmf_ctrlr *c, bool set)
{
	uint8_t fid = req->cmd.cdw10 & 0xff;
	bool disc = c->subsys->subtype == BRISK_NVMF_SUBTYPE_DISCOVERY;
	int rc;

	if (set && (req->cmd.cdw10 & (1u << 31))) {
		admin_done(req, BRISK_NVME_SCT_COMMAND_SPECIFIC, BRISK_NVME_SC_FEATURE_ID_NOT_SAVEABLE);
		return;
	}
	if (disc && fid != BRISK_NVME_FEAT_KEEP_ALIVE_TIMER && fid != BRISK_NVME_FEAT_ASYNC_EVENT_CONFIGURATION) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
		return;
	}
	if (!disc && nvmf_resv_is_feature(fid)) {
		admin_done(req, BRISK_NVME_SCT_GENERIC, nvmf_resv_feature(req, c, fid, set));
		return;
	}
	rc = set ? set_feature(req, c, fid, req->cmd.cdw11) : get_feature(req, c, fid);
	admin_done(req, BRISK_NVME_SCT_GENERIC, rc == 0 ? BRISK_NVME_SC_SUCCESS : BRISK_NVME_SC_INVALID_FIELD);
}

/* ---- Asynchronous events ---- */

/* Completes an outstanding AER with cdw0; false when none is outstanding. */
bool nvmf_ctrlr_aer_complete(struct nvmf_ctrlr *c, uint32_t cdw0)
{
	struct nvmf_req *req;

	if (c->num_aer == 0 || c->admin == NULL) {
		return false;
	}
	req = c->aer[--c->num_aer];
	req->cpl.cdw0 = cdw0;
	admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
	return true;
}

static void aer_post_ns_changed(struct nvmf_ctrlr *c)
{
	union brisk_nvme_async_event_completion ev = { .raw = 0 };
	struct nvmf_req *req;

	if (!c->aen_pending || c->aen_masked || c->num_aer == 0 || !(c->aec & BRISK_NVME_AEC_NS_ATTR_NOTICES) ||
	    c->admin == NULL) {
		return;
	}
	c->aen_pending = false;
	c->aen_masked = true;
	req = c->aer[--c->num_aer];
	ev.bits.async_event_type = BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE;
	ev.bits.async_event_info = BRISK_NVME_ASYNC_EVENT_NS_ATTR_CHANGED;
	ev.bits.log_page_identifier = BRISK_NVME_LOG_CHANGED_NS_LIST;
	req->cpl.cdw0 = ev.raw;
	admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
}

static void admin_aer(struct nvmf_req *req, struct nvmf_ctrlr *c)
{
	if (c->num_aer >= NVMF_MAX_AER) {
		admin_done(req, BRISK_NVME_SCT_COMMAND_SPECIFIC, BRISK_NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED);
		return;
	}
	c->aer[c->num_aer++] = req; /* completes when an event happens */
	aer_post_ns_changed(c);
	nvmf_resv_aer_retry(c);
	nvmf_discovery_aer_retry(c);
	nvmf_ana_aer_retry(c);
}

struct ns_change {
	struct nvmf_ctrlr *c;
	uint32_t nsid;
};

static void changed_list_add(struct nvmf_ctrlr *c, uint32_t nsid)
{
	uint32_t i = 0;

	while (i < c->num_changed && c->changed_ns[i] < nsid) {
		i++;
	}
	if (i < c->num_changed && c->changed_ns[i] == nsid) {
		return;
	}
	if (c->num_changed == 1024) {
		c->changed_overflow = true;
		return;
	}
	memmove(&c->changed_ns[i + 1], &c->changed_ns[i], (c->num_changed - i) * sizeof(uint32_t));
	c->changed_ns[i] = nsid; /* kept in increasing order, as the log lists them */
	c->num_changed++;
}

static void ns_changed_on_ctrlr_thread(void *arg)
{
	struct ns_change *nc = arg;

	changed_list_add(nc->c, nc->nsid);
	nc->c->aen_pending = true;
	aer_post_ns_changed(nc->c);
	nvmf_ctrlr_put(nc->c);
	free(nc);
}

/* App thread: every controller of s learns of a change of namespace nsid. */
void nvmf_ctrlr_notify_ns_changed(struct nvmf_subsystem *s, uint32_t nsid)
{
	struct nvmf_ctrlr *c;
	struct ns_change *nc;

	TAILQ_FOREACH(c, &s->ctrlrs, link) {
		nc = malloc(sizeof(*nc));
		if (__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST) || nc == NULL) {
			free(nc);
			continue;
		}
		nc->c = c;
		nc->nsid = nsid;
		__atomic_fetch_add(&c->refs, 1, __ATOMIC_SEQ_CST);
		if (brisk_thread_send_msg(c->thread, ns_changed_on_ctrlr_thread, nc) != 0) {
			nvmf_ctrlr_put(c);
			free(nc);
		}
	}
}

void nvmf_ctrlr_admin_cmd(struct nvmf_req *req)
{
	struct nvmf_ctrlr *c = req->conn->ctrlr;

	c->last_ka_tick = brisk_get_ticks();
	switch (req->cmd.opc) {
	case BRISK_NVME_OPC_IDENTIFY:
		admin_identify(req, c);
		return;
	case BRISK_NVME_OPC_GET_LOG_PAGE:
		admin_get_log_page(req, c);
		return;
	case BRISK_NVME_OPC_SET_FEATURES:
	case BRISK_NVME_OPC_GET_FEATURES:
		admin_features(req, c, req->cmd.opc == BRISK_NVME_OPC_SET_FEATURES);
		return;
	case BRISK_NVME_OPC_ASYNC_EVENT_REQUEST:
		admin_aer(req, c);
		return;
	case BRISK_NVME_OPC_KEEP_ALIVE:
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
		return;
	case BRISK_NVME_OPC_ABORT:
		req->cpl.cdw0 = 1; /* bit 0 set: the command was not aborted */
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
		return;
	default:
		admin_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_OPCODE);
	}
}
