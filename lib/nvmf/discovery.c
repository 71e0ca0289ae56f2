/*
 * The discovery log page (log identifier 70h): a header, then one entry per
 * (subsystem, listener) pair the requesting host may connect to. Built
 * piecewise for the byte range the host asked for, so a log of any length
 * is read in as many Get Log Page commands as the host likes.
 */
#include <stdio.h>
#include <string.h>

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

uint32_t nvmf_discovery_log_build(const char *hostnqn, uint8_t *buf, uint64_t offset, uint32_t len)
{
	struct log_window w = { buf, offset, len };
	struct brisk_nvmf_discovery_log_header hdr = {0};
	struct brisk_nvmf_discovery_log_entry e;
	const struct nvmf_subsystem *s;
	const struct nvmf_subsys_listener *sl;
	uint64_t n = 0;

	memset(buf, 0, len);
	TAILQ_FOREACH(s, &g_nvmf_tgt.subsystems, link) {
		if (s->subtype != BRISK_NVMF_SUBTYPE_NVME || !nvmf_subsystem_host_allowed(s, hostnqn)) {
			continue;
		}
		TAILQ_FOREACH(sl, &s->listeners, link) {
			fill_entry(&e, s, sl->listener);
			window_put(&w, sizeof(hdr) + n * sizeof(e), &e, sizeof(e));
			n++;
		}
	}
	hdr.genctr = g_nvmf_tgt.discovery_genctr;
	hdr.numrec = n;
	window_put(&w, 0, &hdr, sizeof(hdr));
	return (uint32_t)n;
}
