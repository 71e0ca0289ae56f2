/*
 * The discovery log page (log identifier 70h): a header, then one entry per
 * (subsystem, listener) pair the requesting host may connect to. Built
 * piecewise for the byte range the host asked for, so a log of any length
 * is read in as many Get Log Page commands as the host likes.
 *
 * Also the Discovery Log Page Change notice: when a change of the target
 * (subsystem, listener, allow list) changes what a host's log lists, each of
 * that host's discovery controllers that enabled the notice (Async Event
 * Configuration bit 31) completes an outstanding AER with Notice / F0h /
 * log 70h, and sends no other until the host reads the log.
 */
#include <stdio.h>
#include <string.h>

#include <brisk/crc32c.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "nvmf_internal.h"

struct log_window {
	uint8_t *buf;
	uint64_t offset;
	uint32_t len;
};

/* Copies the part of [at, at + size) that falls inside the window. */
static void window_put(const struct log_window *w, uint64_t at, const void *src, uint32_t size)
{
	uint64_t start = at > w->offset ? at : w->offset;
	uint64_t end = at + size < w->offset + w->len ? at + size : w->offset + w->len;

	if (start < end) {
		memcpy(w->buf + (start - w->offset), (const uint8_t *)src + (start - at), end - start);
	}
}

static void fill_entry(struct brisk_nvmf_discovery_log_entry *e, const struct nvmf_subsystem *s,
		       const struct nvmf_listener *l)
{
	memset(e, 0, sizeof(*e));
	e->trtype = BRISK_NVMF_TRTYPE_TCP;
	e->adrfam = l->addr.adrfam;
	e->subtype = BRISK_NVMF_SUBTYPE_NVME;
	e->treq = BRISK_NVMF_TREQ_SECURE_CHANNEL_NOT_REQUIRED;
	e->portid = 0;
	e->cntlid = BRISK_NVMF_CNTLID_DYNAMIC;
	e->asqsz = g_nvmf_tgt.tcp->opts.max_aq_depth;
	/* NUL padded, as the Linux target does (e was zeroed). */
	snprintf(e->trsvcid, sizeof(e->trsvcid), "%s", l->addr.trsvcid);
	snprintf(e->subnqn, sizeof(e->subnqn), "%s", s->nqn);
	snprintf(e->traddr, sizeof(e->traddr), "%s", l->addr.traddr);
	e->tsas[0] = BRISK_NVMF_TCP_SECTYPE_NONE;
}

typedef void (*entry_fn)(void *ctx, uint64_t index, const struct brisk_nvmf_discovery_log_entry *e);

/* Calls fn on every entry hostnqn may see, in log order; returns how many. */
static uint64_t for_each_entry(const char *hostnqn, entry_fn fn, void *ctx)
{
	struct brisk_nvmf_discovery_log_entry e;
	const struct nvmf_subsystem *s;
	const struct nvmf_subsys_listener *sl;
	uint64_t n = 0;

	TAILQ_FOREACH(s, &g_nvmf_tgt.subsystems, link) {
		if (s->subtype != BRISK_NVMF_SUBTYPE_NVME || !nvmf_subsystem_host_allowed(s, hostnqn)) {
			continue;
		}
		TAILQ_FOREACH(sl, &s->listeners, link) {
			fill_entry(&e, s, sl->listener);
			fn(ctx, n++, &e);
		}
	}
	return n;
}

static void put_entry(void *ctx, uint64_t index, const struct brisk_nvmf_discovery_log_entry *e)
{
	window_put(ctx, sizeof(struct brisk_nvmf_discovery_log_header) + index * sizeof(*e), e, sizeof(*e));
}

uint32_t nvmf_discovery_log_build(const char *hostnqn, uint8_t *buf, uint64_t offset, uint32_t len)
{
	struct log_window w = { buf, offset, len };
	struct brisk_nvmf_discovery_log_header hdr = { 0 };

	memset(buf, 0, len);
	hdr.numrec = for_each_entry(hostnqn, put_entry, &w);
	hdr.genctr = g_nvmf_tgt.discovery_genctr;
	window_put(&w, 0, &hdr, sizeof(hdr));
	return (uint32_t)hdr.numrec;
}

static void digest_entry(void *ctx, uint64_t index, const struct brisk_nvmf_discovery_log_entry *e)
{
	uint32_t *crc = ctx;

	(void)index;
	*crc = brisk_crc32c_update(e, sizeof(*e), *crc);
}

/* App thread. The entries only (the generation counter moves on every change,
 * whoever it concerns): equal digests mean the host's log did not change. */
uint32_t nvmf_discovery_log_digest(const char *hostnqn)
{
	uint32_t crc = ~0u;

	for_each_entry(hostnqn, digest_entry, &crc);
	return ~crc;
}

/* Controller thread: sends the notice if it is due and can be sent. */
void nvmf_discovery_aer_retry(struct nvmf_ctrlr *c)
{
	union brisk_nvme_async_event_completion ev = { .raw = 0 };

	if (!c->disc_aen_pending || c->disc_aen_masked || !(c->aec & BRISK_NVME_AEC_DISCOVERY_LOG_CHANGE_NOTICES)) {
		return;
	}
	ev.bits.async_event_type = BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE;
	ev.bits.async_event_info = BRISK_NVME_ASYNC_EVENT_DISCOVERY_LOG_CHANGE;
	ev.bits.log_page_identifier = BRISK_NVME_LOG_DISCOVERY;
	if (nvmf_ctrlr_aer_complete(c, ev.raw)) {
		c->disc_aen_pending = false;
		c->disc_aen_masked = true; /* until the host reads the log */
	}
}

/* Controller thread: the host read the log (Retain Asynchronous Event clear). */
void nvmf_discovery_log_read(struct nvmf_ctrlr *c, bool rae)
{
	if (!rae) {
		c->disc_aen_masked = false;
		c->disc_aen_pending = false; /* what it just read is the news */
	}
}

static void log_changed_on_ctrlr_thread(void *arg)
{
	struct nvmf_ctrlr *c = arg;

	/* A notice disabled when the change happens is not reported later. */
	if (c->aec & BRISK_NVME_AEC_DISCOVERY_LOG_CHANGE_NOTICES) {
		c->disc_aen_pending = true;
		nvmf_discovery_aer_retry(c);
	}
	nvmf_ctrlr_put(c);
}

/* App thread, after any change the discovery log may show: a new generation,
 * and a notice to every discovery controller whose host's log now differs. */
void nvmf_discovery_changed(void)
{
	struct nvmf_ctrlr *c;
	uint32_t digest;

	g_nvmf_tgt.discovery_genctr++;
	if (g_nvmf_tgt.discovery == NULL) {
		return;
	}
	TAILQ_FOREACH(c, &g_nvmf_tgt.discovery->ctrlrs, link) {
		digest = nvmf_discovery_log_digest(c->hostnqn);
		if (__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST) || digest == c->disc_digest) {
			continue;
		}
		c->disc_digest = digest;
		__atomic_fetch_add(&c->refs, 1, __ATOMIC_SEQ_CST);
		if (brisk_thread_send_msg(c->thread, log_changed_on_ctrlr_thread, c) != 0) {
			BRISK_WARNLOG("nvmf: no discovery log change notice for controller %u\n", c->cntlid);
			nvmf_ctrlr_put(c);
		}
	}
}
