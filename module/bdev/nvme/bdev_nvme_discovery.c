/*
 * The host-side discovery service of the NVMe bdev module
 * (bdev_nvme_start_discovery): it keeps a connection to a discovery
 * controller, reads its discovery log, attaches every NVM subsystem the log
 * lists as a controller <name>_<N> (one per subsystem: the first entry of
 * an NQN) and follows Discovery Log Page Change notices: each notice reads
 * the log again, new subsystems are attached and those that left it are
 * detached. A lost discovery controller reconnects by the service's
 * reconnect policy (as bdev_nvme's controllers do) and reads the log again.
 * Stopping detaches what the service attached.
 *
 * Sequence (one context, on the thread that started it):
 *   probe (connect) -> log read (chunks, genctr checked) -> apply (attach /
 *   detach) -> [start answered] -> notice -> log read -> apply ...
 *   teardown: detach entries -> wait for them -> detach the discovery
 *   controller -> answer stop (or the failed start) -> free.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/nvmf_spec.h>
#include <brisk/string.h>
#include <brisk/ticks.h>

#include "bdev_nvme.h"

#define DISC_MAX_RECORDS 1024
#define DISC_CHUNK 4096u
#define DISC_LOG_TRIES 3
#define DISC_ENTRY_SIZE sizeof(struct brisk_nvmf_discovery_log_entry)

enum disc_entry_state {
	DISC_ATTACHING,
	DISC_ATTACHED,
	DISC_DETACHING,
};

/* One NVM subsystem of the log, attached as a controller. */
struct disc_entry {
	struct brisk_nvme_transport_id trid;
	char ctrlr_name[NVME_CTRLR_NAME_MAX];
	enum disc_entry_state state;
	bool seen; /* in the log just read */
	bool unwanted; /* left the log (or the service stops) while attaching */
	struct bdev_nvme_discovery *disc;
	TAILQ_ENTRY(disc_entry) link;
};

struct bdev_nvme_discovery {
	struct bdev_nvme_discovery_opts o;
	char name[NVME_CTRLR_NAME_MAX];
	char hostnqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	struct brisk_nvme_probe_ctx *probe;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_poller *poller;
	struct brisk_poller *timeout_poller;
	bool ctrlr_failed;
	/* Reconnecting the discovery controller (its reconnect policy). */
	struct brisk_poller *reconnect_poller;
	struct brisk_nvme_reset_ctx *attempt;
	uint64_t lost_at_us;
	/* Log reading: buf holds (1 + records) entries, hdr a re-read header. */
	uint8_t *buf;
	size_t buf_size;
	struct brisk_nvmf_discovery_log_header *hdr;
	uint64_t got;
	uint64_t total;
	uint64_t genctr;
	int tries;
	bool reading;
	bool reread; /* a notice came while reading */
	bool log_failed;
	bool first_done;
	uint32_t next_index;
	uint32_t pending; /* attaches and detaches in flight */
	json_t *referrals;
	/* Who waits: the start RPC (until connected and, with wait_for_attach,
	 * attached) and the stop RPC. */
	bdev_nvme_done_cb start_cb;
	void *start_cb_arg;
	bdev_nvme_done_cb stop_cb;
	void *stop_cb_arg;
	int fail_rc;
	bool stopping;
	bool finishing; /* module fini: the module deletes the controllers */
	TAILQ_HEAD(, disc_entry) entries;
	TAILQ_ENTRY(bdev_nvme_discovery) link;
};

static TAILQ_HEAD(, bdev_nvme_discovery) g_discs = TAILQ_HEAD_INITIALIZER(g_discs);

static void disc_log_read(struct bdev_nvme_discovery *d);
static void disc_teardown(struct bdev_nvme_discovery *d, int rc);
static void disc_progress(struct bdev_nvme_discovery *d);

static struct bdev_nvme_discovery *disc_get(const char *name)
{
	struct bdev_nvme_discovery *d;

	TAILQ_FOREACH(d, &g_discs, link) {
		if (strcmp(d->name, name) == 0) {
			return d;
		}
	}
	return NULL;
}

/* ---- The start answer ---- */

static void disc_answer_start(struct bdev_nvme_discovery *d, int rc)
{
	bdev_nvme_done_cb cb = d->start_cb;

	d->start_cb = NULL;
	brisk_poller_unregister(&d->timeout_poller);
	if (cb != NULL) {
		cb(d->start_cb_arg, rc);
	}
}

static bool disc_attaching(const struct bdev_nvme_discovery *d)
{
	const struct disc_entry *e;

	TAILQ_FOREACH(e, &d->entries, link) {
		if (e->state == DISC_ATTACHING) {
			return true;
		}
	}
	return false;
}

/* attach_timeout_ms passed before the first attach finished. */
static int disc_timeout(void *arg)
{
	struct bdev_nvme_discovery *d = arg;

	brisk_poller_unregister(&d->timeout_poller);
	BRISK_ERRLOG("nvme discovery %s: not attached within attach_timeout_ms %lu\n", d->name,
		     (unsigned long)d->o.attach_timeout_ms);
	disc_teardown(d, -ETIMEDOUT);
	return BRISK_POLLER_BUSY;
}

/* ---- Entries: attach and detach ---- */

static void disc_entry_free(struct bdev_nvme_discovery *d, struct disc_entry *e)
{
	TAILQ_REMOVE(&d->entries, e, link);
#ifdef __clang_analyzer__
	/* Unlinked: scan-build loses that e's tqe_prev pointed into this list. */
	struct disc_entry *x;

	TAILQ_FOREACH(x, &d->entries, link) {
		if (x == e) {
			abort();
		}
	}
#endif
	free(e);
}

static void disc_detach_done(void *arg, int rc)
{
	struct disc_entry *e = arg;
	struct bdev_nvme_discovery *d = e->disc;

	if (rc != 0) {
		BRISK_ERRLOG("nvme discovery %s: detaching %s failed: %d\n", d->name, e->ctrlr_name, rc);
	}
	d->pending--;
	disc_entry_free(d, e);
	disc_progress(d);
}

static void disc_entry_detach(struct disc_entry *e)
{
	struct bdev_nvme_discovery *d = e->disc;
	int rc;

	BRISK_NOTICELOG("nvme discovery %s: detaching %s (%s)\n", d->name, e->ctrlr_name, e->trid.subnqn);
	e->state = DISC_DETACHING;
	rc = bdev_nvme_detach(e->ctrlr_name, disc_detach_done, e);
	if (rc == 0) {
		d->pending++;
		return;
	}
	/* -ENODEV: gone already (lost); -EBUSY: being deleted by its loss. */
	disc_entry_free(d, e);
}

static void disc_attach_done(void *arg, int rc, struct nvme_ctrlr *nctrlr)
{
	struct disc_entry *e = arg;
	struct bdev_nvme_discovery *d = e->disc;

	d->pending--;
	if (rc != 0) {
		BRISK_ERRLOG("nvme discovery %s: attaching %s (%s) failed: %d\n", d->name, e->ctrlr_name,
			     e->trid.subnqn, rc);
		disc_entry_free(d, e);
	} else if (d->finishing) {
		disc_entry_free(d, e); /* the module's fini deletes the controller */
	} else {
		e->state = DISC_ATTACHED;
		if (e->unwanted || d->stopping) {
			disc_entry_detach(e);
		}
	}
	disc_progress(d);
}

static int disc_entry_attach(struct bdev_nvme_discovery *d, const struct brisk_nvme_transport_id *trid)
{
	struct bdev_nvme_attach_opts opts = { 0 };
	struct disc_entry *e = calloc(1, sizeof(*e));
	int rc;

	if (e == NULL) {
		return -ENOMEM;
	}
	do {
		snprintf(e->ctrlr_name, sizeof(e->ctrlr_name), "%.40s_%u", d->name, d->next_index++);
	} while (bdev_nvme_name_taken(e->ctrlr_name));
	e->trid = *trid;
	e->disc = d;
	e->seen = true; /* attached from the log being applied */
	opts.name = e->ctrlr_name;
	opts.trid = *trid;
	opts.hostnqn = d->hostnqn[0] != '\0' ? d->hostnqn : NULL;
	opts.reconnect = d->o.reconnect;
	opts.from_discovery = true;
	rc = bdev_nvme_attach(&opts, disc_attach_done, e);
	if (rc != 0) {
		BRISK_ERRLOG("nvme discovery %s: cannot attach %s at %s:%s: %d\n", d->name, trid->subnqn, trid->traddr,
			     trid->trsvcid, rc);
		free(e);
		return rc;
	}
	BRISK_NOTICELOG("nvme discovery %s: attaching %s as %s\n", d->name, trid->subnqn, e->ctrlr_name);
	TAILQ_INSERT_TAIL(&d->entries, e, link);
	d->pending++;
	return 0;
}

/* ---- Applying a log ---- */

/* A fixed-size field of a log entry (space or NUL padded, from the network):
 * false when empty or longer than dst holds. */
static bool disc_rec_field(char *dst, size_t dst_size, const char *src, size_t src_size)
{
	char tmp[257];
	size_t n = strnlen(src, src_size < sizeof(tmp) - 1 ? src_size : sizeof(tmp) - 1);

	memcpy(tmp, src, n);
	tmp[n] = '\0';
	brisk_str_trim(tmp);
	if (tmp[0] == '\0' || strlen(tmp) >= dst_size || brisk_str_has_control_chars(tmp)) {
		return false;
	}
	memcpy(dst, tmp, strlen(tmp) + 1);
	return true;
}

/* The transport ID a log entry names; false for what Brisk cannot attach. */
static bool disc_rec_trid(const struct brisk_nvmf_discovery_log_entry *r, struct brisk_nvme_transport_id *trid)
{
	memset(trid, 0, sizeof(*trid));
	if (r->trtype != BRISK_NVMF_TRTYPE_TCP ||
	    (r->adrfam != BRISK_NVMF_ADRFAM_IPV4 && r->adrfam != BRISK_NVMF_ADRFAM_IPV6)) {
		return false;
	}
	trid->trtype = BRISK_NVME_TRANSPORT_TCP;
	trid->adrfam = (enum brisk_nvmf_adrfam)r->adrfam;
	/* Fixed-size fields, space or NUL padded. */
	return disc_rec_field(trid->traddr, sizeof(trid->traddr), r->traddr, sizeof(r->traddr)) &&
	       disc_rec_field(trid->trsvcid, sizeof(trid->trsvcid), r->trsvcid, sizeof(r->trsvcid)) &&
	       disc_rec_field(trid->subnqn, sizeof(trid->subnqn), r->subnqn, sizeof(r->subnqn));
}

static struct disc_entry *disc_entry_by_nqn(struct bdev_nvme_discovery *d, const char *nqn)
{
	struct disc_entry *e;

	TAILQ_FOREACH(e, &d->entries, link) {
		if (strcmp(e->trid.subnqn, nqn) == 0) {
			return e;
		}
	}
	return NULL;
}

/* Entries whose controller went away on its own (lost, reconnect gave up)
 * are forgotten, so a subsystem still in the log is attached again. */
static void disc_drop_lost(struct bdev_nvme_discovery *d)
{
	struct disc_entry *e, *next;

	for (e = TAILQ_FIRST(&d->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, link);
		e->seen = false;
		if (e->state == DISC_ATTACHED && bdev_nvme_ctrlr_get(e->ctrlr_name) == NULL) {
			disc_entry_free(d, e);
		}
	}
}

static void disc_note_referral(struct bdev_nvme_discovery *d, const struct brisk_nvmf_discovery_log_entry *r)
{
	struct brisk_nvme_transport_id trid;

	if (disc_rec_trid(r, &trid) && brisk_nvme_transport_id_compare(&trid, &d->o.trid) != 0) {
		json_array_append_new(d->referrals, json_pack("{s:o}", "trid", bdev_nvme_trid_json(&trid)));
	}
}

/* One record: a referral is noted, a subsystem new to the service is
 * attached, a known one is marked as still listed. */
static void disc_apply_record(struct bdev_nvme_discovery *d, const struct brisk_nvmf_discovery_log_entry *rec)
{
	struct brisk_nvme_transport_id trid;
	struct disc_entry *e;

	if (rec->subtype == BRISK_NVMF_SUBTYPE_DISCOVERY) {
		disc_note_referral(d, rec);
		return;
	}
	if (rec->subtype != BRISK_NVMF_SUBTYPE_NVME || !disc_rec_trid(rec, &trid)) {
		return;
	}
	e = disc_entry_by_nqn(d, trid.subnqn);
	if (e == NULL) {
		disc_entry_attach(d, &trid);
	} else if (brisk_nvme_transport_id_compare(&e->trid, &trid) == 0) {
		e->seen = true;
		e->unwanted = false; /* listed again before its attach ended */
	}
}

/* Subsystems no longer listed: detached (once attached, if attaching). */
static void disc_apply_leavers(struct bdev_nvme_discovery *d)
{
	struct disc_entry *e, *next;

	for (e = TAILQ_FIRST(&d->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, link);
		if (e->seen || e->state == DISC_DETACHING) {
			continue;
		}
		if (e->state == DISC_ATTACHING) {
			e->unwanted = true;
		} else {
			disc_entry_detach(e);
		}
	}
}

static void disc_apply(struct bdev_nvme_discovery *d, const struct brisk_nvmf_discovery_log_entry *recs, uint64_t n)
{
	disc_drop_lost(d);
	json_array_clear(d->referrals);
	for (uint64_t i = 0; i < n; i++) {
		disc_apply_record(d, &recs[i]);
	}
	disc_apply_leavers(d);
}

/* ---- Reading the log ---- */

static void disc_log_applied(struct bdev_nvme_discovery *d)
{
	d->reading = false;
	if (d->reread && !d->stopping) {
		d->reread = false;
		disc_log_read(d);
		return;
	}
	if (!d->first_done) {
		d->first_done = true;
		BRISK_NOTICELOG("nvme discovery %s: started (%s:%s)\n", d->name, d->o.trid.traddr, d->o.trid.trsvcid);
	}
	disc_progress(d);
}

static void disc_log_failed(struct bdev_nvme_discovery *d, const char *what)
{
	BRISK_ERRLOG("nvme discovery %s: reading the discovery log failed (%s)\n", d->name, what);
	d->reading = false;
	/* Not here: inside a completion the controller cannot be detached;
	 * disc_poll ends a start that failed. */
	d->log_failed = true;
}

static int disc_log_submit(struct bdev_nvme_discovery *d, void *buf, uint32_t len, uint64_t offset,
			   brisk_nvme_cmd_cb cb)
{
	return brisk_nvme_ctrlr_cmd_get_log_page(d->ctrlr, BRISK_NVME_LOG_DISCOVERY, 0, buf, len, offset, cb, d);
}

/* The header read again after a log of several chunks: the same genctr
 * means no chunk saw another generation. */
static void disc_log_check_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct bdev_nvme_discovery *d = arg;

	if (d->stopping || d->finishing) {
		return;
	}
	if (brisk_nvme_cpl_is_error(cpl)) {
		disc_log_failed(d, "header");
		return;
	}
	if (d->hdr->genctr != d->genctr && ++d->tries < DISC_LOG_TRIES) {
		d->reading = false;
		disc_log_read(d); /* changed while read: again */
		return;
	}
	disc_apply(d, (const void *)(d->buf + DISC_ENTRY_SIZE), d->total / DISC_ENTRY_SIZE - 1);
	disc_log_applied(d);
}

static void disc_log_chunk_done(void *arg, const struct brisk_nvme_cpl *cpl);

static void disc_log_next(struct bdev_nvme_discovery *d)
{
	uint64_t left = d->total - d->got;
	int rc;

	if (left == 0) {
		if (d->total <= DISC_CHUNK) {
			disc_apply(d, (const void *)(d->buf + DISC_ENTRY_SIZE), d->total / DISC_ENTRY_SIZE - 1);
			disc_log_applied(d);
			return;
		}
		rc = disc_log_submit(d, d->hdr, sizeof(*d->hdr), 0, disc_log_check_done);
	} else {
		rc = disc_log_submit(d, d->buf + d->got, left < DISC_CHUNK ? (uint32_t)left : DISC_CHUNK, d->got,
				     disc_log_chunk_done);
	}
	if (rc != 0) {
		disc_log_failed(d, "submit");
	}
}

/* The first chunk holds the header: it sizes the whole read. */
static int disc_log_size(struct bdev_nvme_discovery *d)
{
	const struct brisk_nvmf_discovery_log_header *h = (const void *)d->buf;
	uint64_t n = h->numrec < DISC_MAX_RECORDS ? h->numrec : DISC_MAX_RECORDS;
	uint8_t *nbuf;

	d->genctr = h->genctr;
	d->total = (n + 1) * DISC_ENTRY_SIZE;
	if (d->total <= d->buf_size) {
		return 0;
	}
	nbuf = brisk_dma_zmalloc(d->total, 4096, NULL);
	if (nbuf == NULL) {
		return -ENOMEM;
	}
	memcpy(nbuf, d->buf, DISC_CHUNK);
	brisk_free(d->buf);
	d->buf = nbuf;
	d->buf_size = d->total;
	return 0;
}

static void disc_log_chunk_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct bdev_nvme_discovery *d = arg;

	if (d->stopping || d->finishing) {
		return;
	}
	if (brisk_nvme_cpl_is_error(cpl)) {
		disc_log_failed(d, brisk_nvme_cpl_get_status_string(&cpl->status));
		return;
	}
	if (d->got == 0) {
		if (disc_log_size(d) != 0) {
			disc_log_failed(d, "out of memory");
			return;
		}
		d->got = d->total < DISC_CHUNK ? d->total : DISC_CHUNK;
	} else {
		d->got += d->total - d->got < DISC_CHUNK ? d->total - d->got : DISC_CHUNK;
	}
	disc_log_next(d);
}

static void disc_log_read(struct bdev_nvme_discovery *d)
{
	if (d->reading) {
		d->reread = true;
		return;
	}
	d->reading = true;
	d->got = 0;
	if (disc_log_submit(d, d->buf, DISC_CHUNK, 0, disc_log_chunk_done) != 0) {
		disc_log_failed(d, "submit");
	}
}

static void disc_aer(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct bdev_nvme_discovery *d = arg;
	union brisk_nvme_async_event_completion ev = { .raw = cpl->cdw0 };

	if (d->stopping || d->finishing || ev.bits.async_event_type != BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE ||
	    ev.bits.async_event_info != BRISK_NVME_ASYNC_EVENT_DISCOVERY_LOG_CHANGE) {
		return;
	}
	BRISK_INFOLOG("nvme discovery %s: the discovery log changed\n", d->name);
	d->tries = 0;
	disc_log_read(d);
}

/* ---- Connecting ---- */

static bool disc_probe_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid, struct brisk_nvme_ctrlr_opts *opts)
{
	struct bdev_nvme_discovery *d = cb_ctx;

	if (d->hostnqn[0] != '\0') {
		brisk_strcpy_pad(opts->hostnqn, d->hostnqn, sizeof(opts->hostnqn), '\0');
	}
	opts->keep_alive_timeout_ms = g_bdev_nvme_opts.keep_alive_timeout_ms;
	return true;
}

static void disc_attach_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid, struct brisk_nvme_ctrlr *ctrlr,
			   const struct brisk_nvme_ctrlr_opts *opts)
{
	struct bdev_nvme_discovery *d = cb_ctx;

	if (d->ctrlr == NULL) {
		d->ctrlr = ctrlr;
	} else {
		brisk_nvme_detach(ctrlr);
	}
}

static void disc_connected(struct bdev_nvme_discovery *d, int rc)
{
	if (d->stopping || d->finishing) {
		disc_progress(d); /* the teardown waited for the probe */
		return;
	}
	if (rc != 0 || d->ctrlr == NULL) {
		BRISK_ERRLOG("nvme discovery %s: cannot connect to the discovery controller at %s:%s\n", d->name,
			     d->o.trid.traddr, d->o.trid.trsvcid);
		disc_teardown(d, -ENODEV);
		return;
	}
	if (brisk_nvme_ctrlr_get_data(d->ctrlr)->cntrltype != BRISK_NVME_CNTRLTYPE_DISCOVERY) {
		BRISK_ERRLOG("nvme discovery %s: %s:%s is not a discovery controller\n", d->name, d->o.trid.traddr,
			     d->o.trid.trsvcid);
		disc_teardown(d, -EINVAL);
		return;
	}
	brisk_nvme_ctrlr_register_aer_callback(d->ctrlr, disc_aer, d);
	disc_log_read(d);
}

/* ---- Reconnecting: the discovery controller follows the reconnect policy
 * the service was started with (bdev_nvme's for every controller) ---- */

static void disc_reconnect_end(struct bdev_nvme_discovery *d)
{
	brisk_poller_unregister(&d->reconnect_poller);
	if (d->attempt != NULL) {
		brisk_nvme_ctrlr_reset_cancel_async(d->attempt);
		d->attempt = NULL;
	}
}

/* An attempt failed: wait for the next, or give up after the loss timeout. */
static void disc_reconnect_failed(struct bdev_nvme_discovery *d)
{
	int32_t loss = d->o.reconnect.ctrlr_loss_timeout_sec;

	if (loss > 0 && brisk_get_time_us() - d->lost_at_us >= (uint64_t)loss * 1000000u) {
		BRISK_ERRLOG("nvme discovery %s: no reconnection in ctrlr_loss_timeout_sec %d s: its changes "
			     "are not followed any more\n",
			     d->name, loss);
		disc_reconnect_end(d);
	}
}

static void disc_reconnected(struct bdev_nvme_discovery *d)
{
	BRISK_NOTICELOG("nvme discovery %s: reconnected after %lu ms: reading the log again\n", d->name,
			(unsigned long)((brisk_get_time_us() - d->lost_at_us) / 1000u));
	disc_reconnect_end(d);
	d->ctrlr_failed = false;
	brisk_nvme_ctrlr_register_aer_callback(d->ctrlr, disc_aer, d);
	d->tries = 0;
	disc_log_read(d); /* what changed while the connection was down */
}

static int disc_reconnect_poll(void *arg)
{
	struct bdev_nvme_discovery *d = arg;

	if (d->attempt == NULL && !d->stopping && !d->finishing &&
	    brisk_nvme_ctrlr_reset_async(d->ctrlr, &d->attempt) != 0) {
		d->attempt = NULL;
		disc_reconnect_failed(d);
	}
	return BRISK_POLLER_BUSY;
}

/* The connection was lost: attempts every reconnect_delay_sec (the first
 * now), polled by disc_poll; false when the policy does not reconnect. */
static bool disc_reconnect_start(struct bdev_nvme_discovery *d)
{
	const struct bdev_nvme_reconnect_opts *o = &d->o.reconnect;

	if (o->ctrlr_loss_timeout_sec == 0 || d->reconnect_poller != NULL) {
		return d->reconnect_poller != NULL;
	}
	d->reconnect_poller = brisk_poller_register_named(
		disc_reconnect_poll, d, (uint64_t)o->reconnect_delay_sec * 1000000u, "bdev_nvme_disc_reconnect");
	if (d->reconnect_poller == NULL) {
		return false;
	}
	d->lost_at_us = brisk_get_time_us();
	BRISK_WARNLOG("nvme discovery %s: lost the discovery controller: reconnecting every %u s\n", d->name,
		      o->reconnect_delay_sec);
	disc_reconnect_poll(d);
	return true;
}

/* An attempt in progress: true while it goes on. */
static bool disc_reconnect_progress(struct bdev_nvme_discovery *d)
{
	int rc = brisk_nvme_ctrlr_reset_poll_async(d->attempt);

	if (rc == -EAGAIN) {
		return true;
	}
	d->attempt = NULL;
	if (rc == 0) {
		disc_reconnected(d);
	} else {
		disc_reconnect_failed(d);
	}
	return false;
}

/* Polls the probe, then the discovery controller's admin queue (log reads,
 * notices, keep-alive), or a reconnect attempt. */
static int disc_poll(void *arg)
{
	struct bdev_nvme_discovery *d = arg;
	int rc;

	if (d->probe != NULL) {
		rc = brisk_nvme_probe_poll_async(d->probe);
		if (rc == -EAGAIN) {
			return BRISK_POLLER_BUSY;
		}
		d->probe = NULL;
		disc_connected(d, rc);
		return BRISK_POLLER_BUSY;
	}
	if (d->attempt != NULL) {
		return disc_reconnect_progress(d) ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
	}
	if (d->ctrlr == NULL || d->ctrlr_failed) {
		return BRISK_POLLER_IDLE;
	}
	rc = brisk_nvme_ctrlr_process_admin_completions(d->ctrlr);
	if (rc < 0) {
		d->ctrlr_failed = true;
		d->reading = false; /* its commands are gone with the connection */
		if (!d->first_done || d->stopping || d->finishing || !disc_reconnect_start(d)) {
			BRISK_ERRLOG("nvme discovery %s: the discovery controller failed: its changes are not "
				     "followed any more\n",
				     d->name);
		}
	}
	if ((rc < 0 || d->log_failed) && !d->first_done) {
		d->log_failed = false;
		disc_teardown(d, -EIO);
		return BRISK_POLLER_BUSY;
	}
	d->log_failed = false;
	return rc > 0 ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

/* ---- Teardown ---- */

static void disc_destroy(struct bdev_nvme_discovery *d)
{
	bdev_nvme_done_cb stop_cb = d->stop_cb;
	void *stop_arg = d->stop_cb_arg;

	brisk_poller_unregister(&d->poller);
	brisk_poller_unregister(&d->timeout_poller);
	disc_reconnect_end(d);
	if (d->ctrlr != NULL) {
		brisk_nvme_detach(d->ctrlr);
		d->ctrlr = NULL;
	}
	TAILQ_REMOVE(&g_discs, d, link);
	if (!d->finishing) {
		BRISK_NOTICELOG("nvme discovery %s: stopped\n", d->name);
	}
	disc_answer_start(d, d->fail_rc != 0 ? d->fail_rc : -ESHUTDOWN);
	brisk_free(d->buf);
	brisk_free(d->hdr);
	json_decref(d->referrals);
	free(d);
	if (stop_cb != NULL) {
		stop_cb(stop_arg, 0);
	}
}

/* After each step: the start answered once attached, the teardown ended
 * once nothing is in flight. */
static void disc_progress(struct bdev_nvme_discovery *d)
{
	if (d->stopping || d->finishing) {
		if (d->probe == NULL && d->pending == 0 && TAILQ_EMPTY(&d->entries)) {
			disc_destroy(d);
		}
		return;
	}
	if (d->start_cb != NULL && d->first_done && (!d->o.wait_for_attach || !disc_attaching(d))) {
		disc_answer_start(d, 0);
	}
}

static void disc_teardown(struct bdev_nvme_discovery *d, int rc)
{
	struct disc_entry *e, *next;

	if (d->stopping) {
		return;
	}
	d->stopping = true;
	d->fail_rc = rc;
	brisk_poller_unregister(&d->timeout_poller);
	for (e = TAILQ_FIRST(&d->entries); e != NULL; e = next) {
		next = TAILQ_NEXT(e, link);
		if (e->state == DISC_ATTACHED) {
			disc_entry_detach(e);
		}
	}
	disc_progress(d);
}

static void disc_teardown_msg(void *arg) { disc_teardown(arg, 0); }

/* ---- What bdev_nvme_rpc and the module call ---- */

static struct bdev_nvme_discovery *disc_new(const struct bdev_nvme_discovery_opts *o)
{
	struct bdev_nvme_discovery *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		return NULL;
	}
	d->o = *o;
	snprintf(d->name, sizeof(d->name), "%s", o->name);
	snprintf(d->hostnqn, sizeof(d->hostnqn), "%s", o->hostnqn != NULL ? o->hostnqn : "");
	d->o.name = d->name;
	d->o.hostnqn = d->hostnqn;
	TAILQ_INIT(&d->entries);
	d->buf = brisk_dma_zmalloc(DISC_CHUNK, 4096, NULL);
	d->buf_size = DISC_CHUNK;
	d->hdr = brisk_dma_zmalloc(sizeof(*d->hdr), 4096, NULL);
	d->referrals = json_array();
	if (d->buf == NULL || d->hdr == NULL || d->referrals == NULL) {
		brisk_free(d->buf);
		brisk_free(d->hdr);
		json_decref(d->referrals);
		free(d);
		return NULL;
	}
	return d;
}

static void disc_free_new(struct bdev_nvme_discovery *d)
{
	brisk_poller_unregister(&d->poller);
	brisk_poller_unregister(&d->timeout_poller);
	brisk_free(d->buf);
	brisk_free(d->hdr);
	json_decref(d->referrals);
	free(d);
}

/* 0, -EEXIST (the name) or -EALREADY (the driver attaches a trid once). */
static int disc_start_check(const struct bdev_nvme_discovery_opts *o)
{
	struct bdev_nvme_discovery *d;

	if (disc_get(o->name) != NULL) {
		return -EEXIST;
	}
	TAILQ_FOREACH(d, &g_discs, link) {
		if (brisk_nvme_transport_id_compare(&d->o.trid, &o->trid) == 0) {
			return -EALREADY;
		}
	}
	return 0;
}

int bdev_nvme_start_discovery(const struct bdev_nvme_discovery_opts *o, bdev_nvme_done_cb cb, void *cb_arg)
{
	struct bdev_nvme_discovery *d;
	int rc = disc_start_check(o);

	if (rc != 0) {
		return rc;
	}
	d = disc_new(o);
	if (d == NULL) {
		return -ENOMEM;
	}
	d->start_cb = cb;
	d->start_cb_arg = cb_arg;
	d->poller = brisk_poller_register_named(disc_poll, d, g_bdev_nvme_opts.nvme_adminq_poll_period_us,
						"bdev_nvme_discovery");
	if (o->attach_timeout_ms != 0) {
		d->timeout_poller = brisk_poller_register_named(disc_timeout, d, o->attach_timeout_ms * 1000,
								"bdev_nvme_discovery_timeout");
	}
	if (d->poller == NULL || (o->attach_timeout_ms != 0 && d->timeout_poller == NULL)) {
		disc_free_new(d);
		return -ENOMEM;
	}
	/* NULL: nothing started (connection refused at once, no memory). */
	d->probe = brisk_nvme_probe_async(&d->o.trid, d, disc_probe_cb, disc_attach_cb, NULL);
	if (d->probe == NULL) {
		disc_free_new(d);
		return -ENODEV;
	}
	TAILQ_INSERT_TAIL(&g_discs, d, link);
	return 0;
}

int bdev_nvme_stop_discovery(const char *name, bdev_nvme_done_cb cb, void *cb_arg)
{
	struct bdev_nvme_discovery *d = disc_get(name);

	if (d == NULL) {
		return -ENODEV;
	}
	if (d->stopping || d->stop_cb != NULL || d->start_cb != NULL) {
		return -EBUSY;
	}
	d->stop_cb = cb;
	d->stop_cb_arg = cb_arg;
	/* Not inside this call: the teardown may end at once. */
	if (brisk_thread_send_msg(brisk_get_thread(), disc_teardown_msg, d) != 0) {
		d->stop_cb = NULL;
		return -ENOMEM;
	}
	return 0;
}

json_t *bdev_nvme_discovery_info_json(void)
{
	struct bdev_nvme_discovery *d;
	json_t *arr = json_array();

	TAILQ_FOREACH(d, &g_discs, link) {
		json_array_append_new(arr, json_pack("{s:s, s:o, s:O}", "name", d->name, "trid",
						     bdev_nvme_trid_json(&d->o.trid), "referrals", d->referrals));
	}
	return arr;
}

static json_t *disc_params_json(const struct bdev_nvme_discovery *d)
{
	json_t *p = bdev_nvme_trid_json(&d->o.trid);

	json_object_del(p, "subnqn");
	json_object_set_new(p, "name", json_string(d->name));
	if (d->hostnqn[0] != '\0') {
		json_object_set_new(p, "hostnqn", json_string(d->hostnqn));
	}
	json_object_set_new(p, "wait_for_attach", json_boolean(d->o.wait_for_attach));
	if (d->o.attach_timeout_ms != 0) {
		json_object_set_new(p, "attach_timeout_ms", json_integer((json_int_t)d->o.attach_timeout_ms));
	}
	json_object_set_new(p, "ctrlr_loss_timeout_sec", json_integer(d->o.reconnect.ctrlr_loss_timeout_sec));
	json_object_set_new(p, "reconnect_delay_sec", json_integer(d->o.reconnect.reconnect_delay_sec));
	json_object_set_new(p, "fast_io_fail_timeout_sec", json_integer(d->o.reconnect.fast_io_fail_timeout_sec));
	return p;
}

void bdev_nvme_discovery_config_json(json_t *array)
{
	struct bdev_nvme_discovery *d;

	TAILQ_FOREACH(d, &g_discs, link) {
		if (!d->stopping) {
			json_array_append_new(array, json_pack("{s:s, s:o}", "method", "bdev_nvme_start_discovery",
							       "params", disc_params_json(d)));
		}
	}
}

/* Module fini: the module deletes every controller; each service lets go
 * of its discovery controller once its probe and attaches have ended. */
void bdev_nvme_discovery_fini(void)
{
	struct bdev_nvme_discovery *d, *next;
	struct disc_entry *e, *enext;

	for (d = TAILQ_FIRST(&g_discs); d != NULL; d = next) {
		next = TAILQ_NEXT(d, link);
		d->finishing = true;
		d->fail_rc = d->fail_rc != 0 ? d->fail_rc : -ESHUTDOWN;
		for (e = TAILQ_FIRST(&d->entries); e != NULL; e = enext) {
			enext = TAILQ_NEXT(e, link);
			if (e->state == DISC_ATTACHED) { /* the others call back */
				disc_entry_free(d, e);
			}
		}
		disc_progress(d);
	}
}
