/*
 * Multipath for the NVMe bdevs: bdev_nvme_attach_controller with multipath
 * under a name already attached (same subsystem NQN) makes the new
 * controller a secondary whose namespaces become more paths of the primary's
 * bdevs (same NSID, UUID and NGUID). Each controller with ANA reporting
 * reads its ANA log at attach and on every ANA change notice; a path's state
 * decides the choice (bdev_nvme_mp_pick): optimized paths first, then
 * non-optimized, never an inaccessible one or a controller that is lost,
 * resetting or going. With no usable path an I/O waits (bdev_nvme_mp_wait_us)
 * as long as a path may still come back: ANATT for an inaccessible path or
 * one in ANA change, the reconnect policy for a lost controller. Also the RPCs bdev_nvme_get_io_paths and
 * bdev_nvme_set_multipath_policy (SPDK's names).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/ticks.h>

#include "bdev_nvme.h"

/* ---- Controllers ---- */

static bool ctrlr_ana_reporting(struct nvme_ctrlr *nctrlr)
{
	return (brisk_nvme_ctrlr_get_data(nctrlr->ctrlr)->cmic & BRISK_NVME_CMIC_ANA_REPORTING) != 0;
}

uint32_t bdev_nvme_mp_free_slot(const struct nvme_ctrlr *primary)
{
	bool used[NVME_MP_MAX_CTRLRS] = { true };
	struct nvme_ctrlr *c;

	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		if (c->primary == primary && c->mp_slot < NVME_MP_MAX_CTRLRS) {
			used[c->mp_slot] = true;
		}
	}
	for (uint32_t i = 1; i < NVME_MP_MAX_CTRLRS; i++) {
		if (!used[i]) {
			return i;
		}
	}
	return 0;
}

struct nvme_ctrlr *bdev_nvme_mp_primary_for(const struct bdev_nvme_attach_opts *opts)
{
	struct nvme_ctrlr *c = opts->name != NULL ? bdev_nvme_ctrlr_get(opts->name) : NULL;

	if (c == NULL || !opts->multipath || c->primary != NULL || c->deleting || c->failed) {
		return NULL;
	}
	if (strcmp(c->trid.subnqn, opts->trid.subnqn) != 0) {
		BRISK_ERRLOG("nvme: %s is subsystem %s, not %s: no second path\n", c->name, c->trid.subnqn,
			     opts->trid.subnqn);
		return NULL;
	}
	if (bdev_nvme_mp_free_slot(c) == 0) {
		BRISK_ERRLOG("nvme: %s has %d paths already\n", c->name, NVME_MP_MAX_CTRLRS);
		return NULL;
	}
	return c;
}

/* ---- Paths ---- */

static struct nvme_path *path_new(struct nvme_ctrlr *nctrlr, struct brisk_nvme_ns *dns)
{
	struct nvme_path *p = calloc(1, sizeof(*p));

	if (p != NULL) {
		p->nctrlr = nctrlr;
		p->ns = dns;
	}
	return p;
}

int bdev_nvme_mp_ns_init(struct nvme_ns *ns)
{
	struct nvme_path *p = path_new(ns->nctrlr, ns->ns);

	TAILQ_INIT(&ns->paths);
	if (p == NULL) {
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&ns->paths, p, link);
	return 0;
}

void bdev_nvme_mp_ns_fini(struct nvme_ns *ns)
{
	struct nvme_path *p;

	while ((p = TAILQ_FIRST(&ns->paths)) != NULL) {
		TAILQ_REMOVE(&ns->paths, p, link);
		free(p);
	}
}

static struct nvme_ns *primary_ns(struct nvme_ctrlr *primary, uint32_t nsid)
{
	struct nvme_ns *ns;

	TAILQ_FOREACH(ns, &primary->namespaces, link) {
		if (ns->nsid == nsid) {
			return ns;
		}
	}
	return NULL;
}

/* The same namespace: NSID, UUID and NGUID as the primary reports them. */
static bool same_ns(struct nvme_ns *ns, struct brisk_nvme_ns *dns)
{
	const uint8_t *u1 = brisk_nvme_ns_get_uuid(ns->ns), *u2 = brisk_nvme_ns_get_uuid(dns);
	const struct brisk_nvme_ns_data *d1 = brisk_nvme_ns_get_data(ns->ns), *d2 = brisk_nvme_ns_get_data(dns);

	if ((u1 == NULL) != (u2 == NULL) || (u1 != NULL && memcmp(u1, u2, 16) != 0)) {
		return false;
	}
	return memcmp(d1->nguid, d2->nguid, sizeof(d1->nguid)) == 0;
}

int bdev_nvme_mp_add_paths(struct nvme_ctrlr *nctrlr)
{
	struct nvme_ctrlr *primary = nctrlr->primary;
	struct nvme_path *p;
	struct nvme_ns *ns;

	for (uint32_t nsid = brisk_nvme_ctrlr_get_first_active_ns(nctrlr->ctrlr); nsid != 0;
	     nsid = brisk_nvme_ctrlr_get_next_active_ns(nctrlr->ctrlr, nsid)) {
		struct brisk_nvme_ns *dns = brisk_nvme_ctrlr_get_ns(nctrlr->ctrlr, nsid);

		ns = primary_ns(primary, nsid);
		if (ns == NULL || dns == NULL || !same_ns(ns, dns)) {
			BRISK_ERRLOG("nvme %s: namespace %u through %s is not the one %s has\n", nctrlr->name, nsid,
				     nctrlr->trid.traddr, primary->trid.traddr);
			return -EINVAL;
		}
		p = path_new(nctrlr, dns);
		if (p == NULL) {
			return -ENOMEM;
		}
		TAILQ_INSERT_TAIL(&ns->paths, p, link);
	}
	BRISK_NOTICELOG("nvme: %s gets a path through %s:%s\n", primary->name, nctrlr->trid.traddr,
			nctrlr->trid.trsvcid);
	return 0;
}

bool bdev_nvme_mp_path_usable(const struct nvme_path *p)
{
	const struct nvme_ctrlr *c = p->nctrlr;

	if (p->removed || c->failed || c->deleting || c->resetting || c->reconnecting) {
		return false;
	}
	return p->ana_state == 0 || p->ana_state == BRISK_NVME_ANA_OPTIMIZED ||
	       p->ana_state == BRISK_NVME_ANA_NON_OPTIMIZED;
}

static bool path_optimized(const struct nvme_path *p)
{
	return p->ana_state == 0 || p->ana_state == BRISK_NVME_ANA_OPTIMIZED;
}

/* The n-th (modulo their count) usable path of the wanted kind. */
static struct nvme_path *pick_nth(struct nvme_ns *ns, bool optimized, uint32_t n, const struct nvme_ctrlr *avoid)
{
	struct nvme_path *p, *cand[NVME_MP_MAX_CTRLRS];
	uint32_t count = 0;

	TAILQ_FOREACH(p, &ns->paths, link) {
		if (count < NVME_MP_MAX_CTRLRS && p->nctrlr != avoid && bdev_nvme_mp_path_usable(p) &&
		    path_optimized(p) == optimized) {
			cand[count++] = p;
		}
	}
	return count == 0 ? NULL : cand[n % count];
}

struct nvme_path *bdev_nvme_mp_pick(struct nvme_ns *ns, uint32_t *rr, const struct nvme_ctrlr *avoid)
{
	struct nvme_path *first = TAILQ_FIRST(&ns->paths), *p;
	uint32_t n = 0;

	if (first != NULL && TAILQ_NEXT(first, link) == NULL) { /* one path: nothing to choose */
		return first->nctrlr != avoid && bdev_nvme_mp_path_usable(first) ? first : NULL;
	}
	if (ns->active_active) {
		n = (*rr)++;
	}
	p = pick_nth(ns, true, n, avoid);
	return p != NULL ? p : pick_nth(ns, false, n, avoid);
}

/* ---- No usable path: how long an I/O may wait ---- */

/* A reset either ends or fails the controller: a bound in case it hangs. */
#define MP_RESET_WAIT_US (10 * 1000000ull)
#define MP_WAIT_FOREVER UINT64_MAX

/* What is left of the reconnect policy's patience with a lost controller. */
static uint64_t reconnect_wait_us(const struct nvme_ctrlr *c, uint64_t now)
{
	int64_t loss = c->reconnect.ctrlr_loss_timeout_sec;
	uint64_t end;

	if (c->io_fail) {
		return 0;
	}
	if (loss < 0) {
		return MP_WAIT_FOREVER;
	}
	end = c->lost_at_us + (uint64_t)loss * 1000000ull;
	return end > now ? end - now : 0;
}

/* How long an I/O may wait for path p to become usable. */
static uint64_t path_wait_us(const struct nvme_path *p, uint64_t now)
{
	const struct nvme_ctrlr *c = p->nctrlr;
	uint8_t anatt;

	if (p->removed || c->failed || c->deleting) {
		return 0;
	}
	if (c->reconnecting) {
		return reconnect_wait_us(c, now);
	}
	if (c->resetting) {
		return MP_RESET_WAIT_US;
	}
	if (p->ana_state == BRISK_NVME_ANA_INACCESSIBLE || p->ana_state == BRISK_NVME_ANA_CHANGE) {
		anatt = brisk_nvme_ctrlr_get_data(c->ctrlr)->anatt;
		return (uint64_t)(anatt != 0 ? anatt : 1) * 1000000ull;
	}
	return 0; /* persistent loss, or usable (nothing to wait for) */
}

uint64_t bdev_nvme_mp_wait_us(const struct nvme_ns *ns)
{
	uint64_t now = brisk_get_time_us(), best = 0, w;
	const struct nvme_path *p;

	TAILQ_FOREACH(p, &ns->paths, link) {
		w = path_wait_us(p, now);
		best = w > best ? w : best;
	}
	return best;
}

void bdev_nvme_mp_path_error(struct nvme_ns *ns, const struct nvme_ctrlr *c, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_path *p;
	uint8_t state;

	switch (cpl->status.sc) {
	case BRISK_NVME_SC_ANA_PERSISTENT_LOSS:
		state = BRISK_NVME_ANA_PERSISTENT_LOSS;
		break;
	case BRISK_NVME_SC_ANA_INACCESSIBLE:
		state = BRISK_NVME_ANA_INACCESSIBLE;
		break;
	case BRISK_NVME_SC_ANA_TRANSITION:
		state = BRISK_NVME_ANA_CHANGE;
		break;
	default:
		return;
	}
	TAILQ_FOREACH(p, &ns->paths, link) {
		if (p->nctrlr == c) {
			p->ana_state = state;
		}
	}
}

/* ---- ANA log ---- */

static void ana_apply_group(struct nvme_ctrlr *nctrlr, const struct brisk_nvme_ana_group_desc *d)
{
	struct nvme_ctrlr *primary = nctrlr->primary != NULL ? nctrlr->primary : nctrlr;
	struct nvme_path *p;
	struct nvme_ns *ns;

	for (uint32_t i = 0; i < d->num_of_nsid; i++) {
		ns = primary_ns(primary, d->nsid[i]);
		if (ns == NULL) {
			continue;
		}
		TAILQ_FOREACH(p, &ns->paths, link) {
			if (p->nctrlr == nctrlr) {
				p->ana_state = d->ana_state & 0xf;
			}
		}
	}
}

/* Walks the descriptors, checking each fits in what was read. */
static void ana_log_apply(struct nvme_ctrlr *nctrlr)
{
	const struct brisk_nvme_ana_page *hdr = (const void *)nctrlr->ana_log;
	uint64_t off = sizeof(*hdr);

	for (uint32_t g = 0; g < hdr->num_ana_group_desc; g++) {
		const struct brisk_nvme_ana_group_desc *d = (const void *)(nctrlr->ana_log + off);

		if (off + sizeof(*d) > nctrlr->ana_log_size ||
		    off + sizeof(*d) + (uint64_t)d->num_of_nsid * 4 > nctrlr->ana_log_size) {
			BRISK_ERRLOG("nvme %s: ANA log longer than %u bytes: the rest is ignored\n", nctrlr->name,
				     nctrlr->ana_log_size);
			return;
		}
		ana_apply_group(nctrlr, d);
		off += sizeof(*d) + (uint64_t)d->num_of_nsid * 4;
	}
}

static void ana_log_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_ctrlr *nctrlr = arg;

	nctrlr->ana_reading = false;
	if (brisk_nvme_cpl_is_error(cpl)) {
		BRISK_ERRLOG("nvme %s: reading the ANA log failed (sct %u sc 0x%x)\n", nctrlr->name,
			     (unsigned)cpl->status.sct, (unsigned)cpl->status.sc);
		return;
	}
	ana_log_apply(nctrlr);
}

static void ana_log_read(struct nvme_ctrlr *nctrlr)
{
	int rc;

	if (nctrlr->ana_log == NULL || nctrlr->ana_reading || nctrlr->deleting) {
		return;
	}
	rc = brisk_nvme_ctrlr_cmd_get_log_page(nctrlr->ctrlr, BRISK_NVME_LOG_ANA, 0xffffffff, nctrlr->ana_log,
					       nctrlr->ana_log_size, 0, ana_log_done, nctrlr);
	nctrlr->ana_reading = rc == 0;
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: cannot read the ANA log: %s\n", nctrlr->name, strerror(-rc));
	}
}

static void aer_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	union brisk_nvme_async_event_completion ev = { .raw = cpl->cdw0 };

	if (!brisk_nvme_cpl_is_error(cpl) && ev.bits.async_event_type == BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE &&
	    ev.bits.async_event_info == BRISK_NVME_ASYNC_EVENT_ANA_CHANGE) {
		ana_log_read(arg);
	}
}

void bdev_nvme_mp_ctrlr_start(struct nvme_ctrlr *nctrlr)
{
	const struct brisk_nvme_ctrlr_data *cd = brisk_nvme_ctrlr_get_data(nctrlr->ctrlr);
	uint64_t size = sizeof(struct brisk_nvme_ana_page) +
			(uint64_t)cd->nanagrpid * sizeof(struct brisk_nvme_ana_group_desc) + (uint64_t)cd->nn * 4;

	if (!ctrlr_ana_reporting(nctrlr)) {
		return;
	}
	size = (size + 3) & ~3ull;
	if (size > (1u << 20)) { /* a bigger log is not believable: read what fits */
		size = 1u << 20;
	}
	nctrlr->ana_log = brisk_dma_zmalloc(size, 4096, NULL);
	if (nctrlr->ana_log == NULL) {
		BRISK_ERRLOG("nvme %s: no memory for the ANA log: its paths count as optimized\n", nctrlr->name);
		return;
	}
	nctrlr->ana_log_size = (uint32_t)size;
	brisk_nvme_ctrlr_register_aer_callback(nctrlr->ctrlr, aer_cb, nctrlr);
	ana_log_read(nctrlr);
}

void bdev_nvme_mp_ctrlr_free(struct nvme_ctrlr *nctrlr)
{
	brisk_free(nctrlr->ana_log);
	nctrlr->ana_log = NULL;
}

/* ---- A secondary going ---- */

struct release_ctx {
	struct nvme_ctrlr *nctrlr;
	void (*cb)(void *);
	void *cb_arg;
};

static void release_channel(struct brisk_io_channel_iter *i)
{
	struct release_ctx *r = brisk_io_channel_iter_get_ctx(i);

	bdev_nvme_channel_drop_path(brisk_io_channel_iter_get_channel(i), r->nctrlr->mp_slot);
	brisk_for_each_channel_continue(i, 0);
}

static void release_done(struct brisk_io_channel_iter *i, int status)
{
	struct release_ctx *r = brisk_io_channel_iter_get_ctx(i);
	struct nvme_ns *ns;
	struct nvme_path *p, *next;

	/* No channel reaches the paths any more: they can go. */
	TAILQ_FOREACH(ns, &r->nctrlr->primary->namespaces, link) {
		for (p = TAILQ_FIRST(&ns->paths); p != NULL; p = next) {
			next = TAILQ_NEXT(p, link);
			if (p->nctrlr == r->nctrlr) {
				TAILQ_REMOVE(&ns->paths, p, link);
				free(p);
			}
		}
	}
	r->cb(r->cb_arg);
	free(r);
}

void bdev_nvme_mp_ctrlr_release(struct nvme_ctrlr *nctrlr, void (*cb)(void *), void *cb_arg)
{
	struct release_ctx *r = calloc(1, sizeof(*r));
	struct nvme_ns *ns;
	struct nvme_path *p;

	TAILQ_FOREACH(ns, &nctrlr->primary->namespaces, link) {
		TAILQ_FOREACH(p, &ns->paths, link) {
			p->removed |= p->nctrlr == nctrlr;
		}
	}
	if (r == NULL) {
		BRISK_ERRLOG("nvme %s: no memory to release its paths\n", nctrlr->name);
		cb(cb_arg);
		return;
	}
	*r = (struct release_ctx){ .nctrlr = nctrlr, .cb = cb, .cb_arg = cb_arg };
	brisk_for_each_channel(nctrlr->primary, release_channel, r, release_done);
}

/* ---- RPCs ---- */

static const char *ana_state_str(uint8_t s)
{
	switch (s) {
	case BRISK_NVME_ANA_OPTIMIZED:
		return "optimized";
	case BRISK_NVME_ANA_NON_OPTIMIZED:
		return "non_optimized";
	case BRISK_NVME_ANA_INACCESSIBLE:
		return "inaccessible";
	case BRISK_NVME_ANA_PERSISTENT_LOSS:
		return "persistent_loss";
	case BRISK_NVME_ANA_CHANGE:
		return "change";
	default:
		return "optimized"; /* not reported: used as optimized */
	}
}

static json_t *path_json(struct nvme_ns *ns, struct nvme_path *p, const struct nvme_path *current)
{
	const struct nvme_ctrlr *c = p->nctrlr;

	return json_pack("{s:s, s:i, s:b, s:b, s:b, s:s, s:o}", "bdev_name", ns->bdev.name, "cntlid",
			 (int)brisk_nvme_ctrlr_get_data(c->ctrlr)->cntlid, "current", p == current, "connected",
			 !c->failed && !c->reconnecting && !c->resetting && !c->deleting, "accessible",
			 bdev_nvme_mp_path_usable(p), "ana_state", ana_state_str(p->ana_state), "transport",
			 bdev_nvme_trid_json(&c->trid));
}

struct rpc_name {
	char *name;
};

static const struct brisk_json_object_decoder g_name_decoders[] = {
	{ "name", offsetof(struct rpc_name, name), brisk_json_decode_string, true },
};

/* The paths as the calling thread sees them: "current" is the one an I/O
 * submitted now would take (active_passive) or could take (active_active). */
static void rpc_bdev_nvme_get_io_paths(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_name p = { 0 };
	json_t *paths = json_array();
	struct nvme_ctrlr *c;
	struct nvme_ns *ns;
	struct nvme_path *path, *cur;
	char err[256];
	uint32_t rr = 0;

	if (params != NULL && brisk_json_decode_object(params, g_name_decoders, BRISK_COUNTOF(g_name_decoders), &p, err,
						       sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		json_decref(paths);
		return;
	}
	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		TAILQ_FOREACH(ns, &c->namespaces, link) {
			if (p.name != NULL && strcmp(p.name, ns->bdev.name) != 0) {
				continue;
			}
			cur = bdev_nvme_mp_pick(ns, &rr, NULL);
			TAILQ_FOREACH(path, &ns->paths, link) {
				json_array_append_new(paths, path_json(ns, path, cur));
			}
		}
	}
	brisk_jsonrpc_send_result(req, json_pack("{s:[{s:o}]}", "poll_groups", "io_paths", paths));
	brisk_json_free_object(g_name_decoders, BRISK_COUNTOF(g_name_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_get_io_paths", rpc_bdev_nvme_get_io_paths, BRISK_RPC_RUNTIME)

struct rpc_policy {
	char *name;
	char *policy;
	char *selector;
	uint32_t rr_min_io;
};

static const struct brisk_json_object_decoder g_policy_decoders[] = {
	{ "name", offsetof(struct rpc_policy, name), brisk_json_decode_string, false },
	{ "policy", offsetof(struct rpc_policy, policy), brisk_json_decode_string, false },
	{ "selector", offsetof(struct rpc_policy, selector), brisk_json_decode_string, true },
	{ "rr_min_io", offsetof(struct rpc_policy, rr_min_io), brisk_json_decode_uint32, true },
};

static struct nvme_ns *ns_by_bdev_name(const char *name)
{
	struct nvme_ctrlr *c;
	struct nvme_ns *ns;

	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		TAILQ_FOREACH(ns, &c->namespaces, link) {
			if (strcmp(ns->bdev.name, name) == 0) {
				return ns;
			}
		}
	}
	return NULL;
}

static void rpc_bdev_nvme_set_multipath_policy(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_policy p = { 0 };
	struct nvme_ns *ns;
	char err[256];

	if (brisk_json_decode_object(params, g_policy_decoders, BRISK_COUNTOF(g_policy_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if (strcmp(p.policy, "active_passive") != 0 && strcmp(p.policy, "active_active") != 0) {
		brisk_jsonrpc_invalid_params(req, "policy '%s' is not active_passive or active_active", p.policy);
	} else if ((p.selector != NULL && strcmp(p.selector, "round_robin") != 0) || p.rr_min_io > 1) {
		brisk_jsonrpc_invalid_params(req, "only selector round_robin with rr_min_io 1 is supported");
	} else if ((ns = ns_by_bdev_name(p.name)) == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "no NVMe bdev named %s", p.name);
	} else {
		ns->active_active = strcmp(p.policy, "active_active") == 0;
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_policy_decoders, BRISK_COUNTOF(g_policy_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_set_multipath_policy", rpc_bdev_nvme_set_multipath_policy, BRISK_RPC_RUNTIME)
