/*
 * A mock of the NVMe driver (brisk/nvme.h) for bdev_nvme_ut, linked in place
 * of lib/nvme (see UT_NVME_MOCK in mk/rules.mk). Controllers are entries of
 * g_mock_devs that "exist" at a transport address; each namespace keeps its
 * data in memory. Commands are queued on their qpair and executed only by
 * brisk_nvme_qpair_process_completions (never inside the submitting call, as
 * the real driver). Every command is logged (g_mock_log) so tests can check
 * the mapping, and tests inject: a request limit per qpair (-ENOMEM), error
 * statuses for the next commands, commands held in flight, a failed or
 * removed controller.
 */
#ifndef BDEV_NVME_MOCK_H
#define BDEV_NVME_MOCK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/nvme.h>

#define MOCK_MAX_NS 4
#define MOCK_MAX_DEVS 4
#define MOCK_MAX_REQS 256
#define MOCK_LOG 512

struct brisk_nvme_ns {
	struct brisk_nvme_ctrlr *ctrlr;
	uint32_t id;
	bool active;
	uint32_t ss;
	uint64_t nsec;
	uint8_t *data;       /* NULL for namespaces too big to back (unmap tests) */
	bool vwc, dsm, wz, cmp;
};

struct mock_req {
	struct brisk_nvme_qpair *qpair;
	struct brisk_nvme_ns *ns;
	uint8_t opc;
	uint64_t lba;
	uint32_t nlb;
	uint16_t nranges;
	struct brisk_nvme_dsm_range ranges[BRISK_NVME_DSM_MAX_RANGES];
	void *buf;
	uint32_t len;
	brisk_nvme_req_reset_sgl_cb reset_sgl;
	brisk_nvme_req_next_sge_cb next_sge;
	brisk_nvme_cmd_cb cb;
	void *cb_arg;
	struct brisk_nvme_status status; /* injected */
	bool aborted;
	STAILQ_ENTRY(mock_req) link;
};

struct brisk_nvme_qpair {
	struct brisk_nvme_ctrlr *ctrlr;
	uint32_t limit;      /* requests; -ENOMEM past it */
	uint32_t outstanding;
	STAILQ_HEAD(, mock_req) queue;
	TAILQ_ENTRY(brisk_nvme_qpair) link;
};

struct brisk_nvme_ctrlr {
	struct brisk_nvme_transport_id trid;
	struct brisk_nvme_ctrlr_data cd;
	struct brisk_nvme_ns ns[MOCK_MAX_NS];
	uint32_t nn;
	bool attached;
	bool failed;
	bool removed;
	bool secondary; /* a secondary process's view: its reset is refused */
	int resets;
	int detaches;
	STAILQ_HEAD(, mock_req) admin;
	TAILQ_HEAD(, brisk_nvme_qpair) qpairs;
	const uint8_t *log; /* what Get Log Page returns (a discovery log), or NULL */
	uint32_t log_len;
	brisk_nvme_aer_cb aer_cb;
	void *aer_cb_arg;
};

/* The "hardware": devices present at an address. */
static struct brisk_nvme_ctrlr g_mock_devs[MOCK_MAX_DEVS];
static bool g_mock_present[MOCK_MAX_DEVS];
static uint32_t g_mock_qpair_limit = MOCK_MAX_REQS;
static bool g_mock_hold; /* I/O commands stay in flight until cleared */
static int g_mock_enomem_seen;

struct mock_log_entry {
	uint8_t opc;
	uint32_t nsid;
	uint64_t lba;
	uint32_t nlb;
	uint16_t nranges;
	uint64_t range_blocks; /* sum of the DSM ranges */
};
static struct mock_log_entry g_mock_log[MOCK_LOG];
static int g_mock_nlog;

/* Statuses for the next I/O commands, in order (sc 0 = success). */
static struct brisk_nvme_status g_mock_inject[8];
static int g_mock_ninject;

static struct mock_req g_mock_reqs[MOCK_MAX_REQS];
static STAILQ_HEAD(, mock_req) g_mock_free = STAILQ_HEAD_INITIALIZER(g_mock_free);
static bool g_mock_reqs_init;

static struct mock_req *mock_req_get(void)
{
	struct mock_req *r;

	if (!g_mock_reqs_init) {
		for (int i = 0; i < MOCK_MAX_REQS; i++) {
			STAILQ_INSERT_TAIL(&g_mock_free, &g_mock_reqs[i], link);
		}
		g_mock_reqs_init = true;
	}
	r = STAILQ_FIRST(&g_mock_free);
	if (r != NULL) {
		STAILQ_REMOVE_HEAD(&g_mock_free, link);
		memset(r, 0, sizeof(*r));
	}
	return r;
}

static void mock_req_put(struct mock_req *r)
{
	STAILQ_INSERT_HEAD(&g_mock_free, r, link);
}

/* A device at traddr with namespaces 1 and 3 active (2 inactive), 512 B and 4 KiB. */
static struct brisk_nvme_ctrlr *mock_dev_add(int i, const char *traddr)
{
	struct brisk_nvme_ctrlr *c = &g_mock_devs[i];

	memset(c, 0, sizeof(*c));
	c->trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	snprintf(c->trid.traddr, sizeof(c->trid.traddr), "%s", traddr);
	c->cd.vid = 0x1b36;
	c->cd.cntlid = (uint16_t)i;
	memcpy(c->cd.mn, "Mock NVMe Ctrl                          ", sizeof(c->cd.mn));
	memcpy(c->cd.sn, "MOCK0001            ", sizeof(c->cd.sn));
	memcpy(c->cd.fr, "1.0     ", sizeof(c->cd.fr));
	c->nn = 3;
	for (uint32_t n = 0; n < 3; n++) {
		struct brisk_nvme_ns *ns = &c->ns[n];

		ns->ctrlr = c;
		ns->id = n + 1;
		ns->active = n != 1;
		ns->ss = n == 0 ? 512 : 4096;
		ns->nsec = n == 0 ? 2048 : 256;
		ns->data = calloc(ns->nsec, ns->ss);
		ns->vwc = ns->dsm = ns->wz = ns->cmp = true;
	}
	STAILQ_INIT(&c->admin);
	TAILQ_INIT(&c->qpairs);
	g_mock_present[i] = true;
	return c;
}

static void mock_dev_free(int i)
{
	for (int n = 0; n < MOCK_MAX_NS; n++) {
		free(g_mock_devs[i].ns[n].data);
		g_mock_devs[i].ns[n].data = NULL;
	}
	g_mock_present[i] = false;
}

/* ---- Transport IDs ---- */

int brisk_nvme_transport_id_parse(struct brisk_nvme_transport_id *trid, const char *str)
{
	return -ENOTSUP;
}

const char *brisk_nvme_transport_id_trtype_str(enum brisk_nvme_transport_type t)
{
	return t == BRISK_NVME_TRANSPORT_PCIE ? "PCIe" : t == BRISK_NVME_TRANSPORT_TCP ? "TCP" : NULL;
}

int brisk_nvme_transport_id_compare(const struct brisk_nvme_transport_id *a,
				    const struct brisk_nvme_transport_id *b)
{
	if (a->trtype != b->trtype) {
		return 1;
	}
	return strcasecmp(a->traddr, b->traddr) != 0 || strcmp(a->trsvcid, b->trsvcid) != 0 ||
	       strcmp(a->subnqn, b->subnqn) != 0;
}

/* ---- Probe ---- */

struct brisk_nvme_probe_ctx {
	struct brisk_nvme_transport_id trid;
	bool all;
	void *cb_ctx;
	brisk_nvme_probe_cb probe_cb;
	brisk_nvme_attach_cb attach_cb;
	brisk_nvme_remove_cb remove_cb;
	bool claimed[MOCK_MAX_DEVS]; /* accepted by probe_cb, being brought up */
	int polls;
};

static bool mock_probe_matches(const struct brisk_nvme_probe_ctx *p, int i)
{
	return g_mock_present[i] &&
	       (p->all || brisk_nvme_transport_id_compare(&p->trid, &g_mock_devs[i].trid) == 0);
}

/* As the real driver: probe_cb runs while the probe starts, and a device it
 * accepts is claimed at once (another probe skips it) and attached later. */
struct brisk_nvme_probe_ctx *brisk_nvme_probe_async(const struct brisk_nvme_transport_id *trid,
						    void *cb_ctx, brisk_nvme_probe_cb probe_cb,
						    brisk_nvme_attach_cb attach_cb,
						    brisk_nvme_remove_cb remove_cb)
{
	struct brisk_nvme_probe_ctx *p = calloc(1, sizeof(*p));
	struct brisk_nvme_ctrlr_opts opts;

	p->all = trid == NULL;
	if (trid != NULL) {
		p->trid = *trid;
	}
	p->cb_ctx = cb_ctx;
	p->probe_cb = probe_cb;
	p->attach_cb = attach_cb;
	p->remove_cb = remove_cb;
	for (int i = 0; i < MOCK_MAX_DEVS; i++) {
		brisk_nvme_ctrlr_get_default_opts(&opts);
		if (mock_probe_matches(p, i) && !g_mock_devs[i].attached &&
		    p->probe_cb(p->cb_ctx, &g_mock_devs[i].trid, &opts)) {
			g_mock_devs[i].attached = true;
			p->claimed[i] = true;
		}
	}
	return p;
}

int brisk_nvme_probe_poll_async(struct brisk_nvme_probe_ctx *p)
{
	struct brisk_nvme_ctrlr_opts opts;

	if (p->polls++ == 0) {
		return -EAGAIN; /* bring-up takes a while */
	}
	for (int i = 0; i < MOCK_MAX_DEVS; i++) {
		struct brisk_nvme_ctrlr *c = &g_mock_devs[i];

		if (p->claimed[i]) {
			brisk_nvme_ctrlr_get_default_opts(&opts);
			p->attach_cb(p->cb_ctx, &c->trid, c, &opts);
		} else if (!g_mock_present[i] && c->attached && p->all && p->remove_cb != NULL) {
			p->remove_cb(p->cb_ctx, c);
		}
	}
	free(p);
	return 0;
}

int brisk_nvme_detach(struct brisk_nvme_ctrlr *c)
{
	c->attached = false;
	c->detaches++;
	return 0;
}

void brisk_nvme_ctrlr_get_default_opts(struct brisk_nvme_ctrlr_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->num_io_queues = 1024;
}

/* ---- Controller ---- */

const struct brisk_nvme_transport_id *brisk_nvme_ctrlr_get_transport_id(struct brisk_nvme_ctrlr *c)
{
	return &c->trid;
}

const struct brisk_nvme_ctrlr_data *brisk_nvme_ctrlr_get_data(struct brisk_nvme_ctrlr *c)
{
	return &c->cd;
}

uint32_t brisk_nvme_ctrlr_get_regs_vs(struct brisk_nvme_ctrlr *c)
{
	return 0x10400; /* 1.4 */
}

uint32_t brisk_nvme_ctrlr_get_max_xfer_size(struct brisk_nvme_ctrlr *c)
{
	return 128 * 1024;
}

uint32_t brisk_nvme_ctrlr_get_next_active_ns(struct brisk_nvme_ctrlr *c, uint32_t prev)
{
	for (uint32_t n = prev + 1; n <= c->nn; n++) {
		if (c->ns[n - 1].active) {
			return n;
		}
	}
	return 0;
}

uint32_t brisk_nvme_ctrlr_get_first_active_ns(struct brisk_nvme_ctrlr *c)
{
	return brisk_nvme_ctrlr_get_next_active_ns(c, 0);
}

struct brisk_nvme_ns *brisk_nvme_ctrlr_get_ns(struct brisk_nvme_ctrlr *c, uint32_t nsid)
{
	return nsid == 0 || nsid > c->nn ? NULL : &c->ns[nsid - 1];
}

bool brisk_nvme_ctrlr_is_failed(struct brisk_nvme_ctrlr *c)
{
	return c->failed;
}

bool brisk_nvme_ctrlr_is_removed(struct brisk_nvme_ctrlr *c)
{
	return c->removed;
}

static uint64_t g_mock_timeout_us;
void brisk_nvme_ctrlr_register_timeout_callback(struct brisk_nvme_ctrlr *c, uint64_t timeout_us,
						brisk_nvme_timeout_cb cb_fn, void *cb_arg)
{
	g_mock_timeout_us = timeout_us;
}

static void mock_complete(struct mock_req *r, uint16_t sct, uint16_t sc)
{
	struct brisk_nvme_cpl cpl = {0};

	cpl.status.sct = sct;
	cpl.status.sc = sc;
	cpl.status.dnr = r->status.dnr;
	r->cb(r->cb_arg, &cpl);
}

int32_t brisk_nvme_ctrlr_process_admin_completions(struct brisk_nvme_ctrlr *c)
{
	struct mock_req *r;
	int32_t n = 0;

	while ((r = STAILQ_FIRST(&c->admin)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->admin, link);
		if (c->failed) {
			mock_complete(r, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_BY_REQUEST);
		} else {
			mock_complete(r, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
		}
		mock_req_put(r);
		n++;
	}
	return c->failed ? -ENXIO : n;
}

/* Every outstanding command completes with ABORTED - SQ DELETION. */
int brisk_nvme_ctrlr_reset(struct brisk_nvme_ctrlr *c)
{
	struct brisk_nvme_qpair *q;
	struct mock_req *r;

	c->resets++;
	TAILQ_FOREACH(q, &c->qpairs, link) {
		STAILQ_FOREACH(r, &q->queue, link) {
			r->aborted = true;
		}
	}
	return c->failed ? -ENXIO : 0;
}

/* The polled reset: done at the second poll, as brisk_nvme_ctrlr_reset. */
struct brisk_nvme_reset_ctx {
	struct brisk_nvme_ctrlr *c;
	int polls;
};

int brisk_nvme_ctrlr_reset_async(struct brisk_nvme_ctrlr *c, struct brisk_nvme_reset_ctx **ctx)
{
	*ctx = calloc(1, sizeof(**ctx));
	if (*ctx == NULL) {
		return -ENOMEM;
	}
	(*ctx)->c = c;
	return 0;
}

int brisk_nvme_ctrlr_reset_poll_async(struct brisk_nvme_reset_ctx *ctx)
{
	int rc;

	if (++ctx->polls < 2) {
		return -EAGAIN;
	}
	rc = brisk_nvme_ctrlr_reset(ctx->c);
	free(ctx);
	return rc;
}

void brisk_nvme_ctrlr_reset_cancel_async(struct brisk_nvme_reset_ctx *ctx)
{
	ctx->c->failed = true;
	free(ctx);
}

void brisk_nvme_ctrlr_fail(struct brisk_nvme_ctrlr *c)
{
	c->failed = true;
}

/* Multi-process: the tests run one process with private memory, where
 * bdev_nvme neither shares a controller nor connects as a secondary. */
bool brisk_nvme_ctrlr_is_secondary(struct brisk_nvme_ctrlr *c) { return c->secondary; }

int brisk_nvme_ctrlr_share(struct brisk_nvme_ctrlr *c) { return -ENOTSUP; }

struct brisk_nvme_ctrlr *brisk_nvme_connect(const struct brisk_nvme_transport_id *trid,
					    const struct brisk_nvme_ctrlr_opts *opts)
{
	return NULL;
}

int brisk_nvme_ctrlr_cmd_admin_raw(struct brisk_nvme_ctrlr *c, struct brisk_nvme_cmd *cmd, void *buf,
				   uint32_t len, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct mock_req *r = mock_req_get();

	if (r == NULL) {
		return -ENOMEM;
	}
	r->opc = cmd->opc;
	r->cb = cb_fn;
	r->cb_arg = cb_arg;
	if (buf != NULL && len > 0) {
		memset(buf, 0xa5, len); /* "identify data" */
	}
	STAILQ_INSERT_TAIL(&c->admin, r, link);
	return 0;
}

/* The controller's mock log from offset (zeroes past its end). */
int brisk_nvme_ctrlr_cmd_get_log_page(struct brisk_nvme_ctrlr *c, uint8_t log_page, uint32_t nsid, void *payload,
				      uint32_t payload_size, uint64_t offset, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_GET_LOG_PAGE, .nsid = nsid, .cdw10 = log_page };
	int rc = brisk_nvme_ctrlr_cmd_admin_raw(c, &cmd, NULL, 0, cb_fn, cb_arg);

	if (rc == 0) {
		memset(payload, 0, payload_size);
		if (c->log != NULL && offset < c->log_len) {
			memcpy(payload, c->log + offset,
			       c->log_len - offset < payload_size ? c->log_len - offset : payload_size);
		}
	}
	return rc;
}

void brisk_nvme_ctrlr_register_aer_callback(struct brisk_nvme_ctrlr *c, brisk_nvme_aer_cb aer_cb, void *aer_cb_arg)
{
	c->aer_cb = aer_cb;
	c->aer_cb_arg = aer_cb_arg;
}

int brisk_nvme_ctrlr_cmd_abort(struct brisk_nvme_ctrlr *c, struct brisk_nvme_qpair *qpair, uint16_t cid,
			       brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_ABORT };

	return brisk_nvme_ctrlr_cmd_admin_raw(c, &cmd, NULL, 0, cb_fn, cb_arg);
}

/* ---- Qpairs ---- */

void brisk_nvme_ctrlr_get_default_io_qpair_opts(struct brisk_nvme_ctrlr *c,
					       struct brisk_nvme_io_qpair_opts *opts)
{
	opts->io_queue_size = 256;
	opts->io_queue_requests = g_mock_qpair_limit;
}

struct brisk_nvme_qpair *brisk_nvme_ctrlr_alloc_io_qpair(struct brisk_nvme_ctrlr *c,
							 const struct brisk_nvme_io_qpair_opts *opts)
{
	struct brisk_nvme_qpair *q;

	if (c->failed) {
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	q->ctrlr = c;
	q->limit = opts != NULL ? opts->io_queue_requests : g_mock_qpair_limit;
	STAILQ_INIT(&q->queue);
	TAILQ_INSERT_TAIL(&c->qpairs, q, link);
	return q;
}

int brisk_nvme_ctrlr_free_io_qpair(struct brisk_nvme_qpair *q)
{
	TAILQ_REMOVE(&q->ctrlr->qpairs, q, link);
	free(q);
	return 0;
}

uint32_t brisk_nvme_qpair_get_num_outstanding(struct brisk_nvme_qpair *q)
{
	return q->outstanding;
}

/* Moves data between the namespace and the request's buffer or SGL. */
static void mock_copy(struct mock_req *r, bool to_ns, uint8_t *cmp_fail)
{
	uint8_t *p = r->ns->data + r->lba * r->ns->ss;
	uint32_t left = r->nlb * r->ns->ss;
	void *addr;
	uint32_t len;

	if (r->ns->data == NULL) {
		return; /* a namespace without backing (examine reads it) */
	}
	r->reset_sgl(r->cb_arg, 0);
	while (left > 0 && r->next_sge(r->cb_arg, &addr, &len) == 0) {
		len = len < left ? len : left;
		if (cmp_fail != NULL) {
			*cmp_fail |= memcmp(p, addr, len) != 0;
		} else if (to_ns) {
			memcpy(p, addr, len);
		} else {
			memcpy(addr, p, len);
		}
		p += len;
		left -= len;
	}
}

static void mock_execute(struct mock_req *r)
{
	uint8_t miscompare = 0;

	switch (r->opc) {
	case BRISK_NVME_OPC_READ:
		mock_copy(r, false, NULL);
		break;
	case BRISK_NVME_OPC_WRITE:
		mock_copy(r, true, NULL);
		break;
	case BRISK_NVME_OPC_COMPARE:
		mock_copy(r, false, &miscompare);
		if (miscompare) {
			r->status.sct = BRISK_NVME_SCT_MEDIA_ERROR;
			r->status.sc = BRISK_NVME_SC_COMPARE_FAILURE;
		}
		break;
	case BRISK_NVME_OPC_WRITE_ZEROES:
		if (r->ns->data == NULL) {
			break;
		}
		memset(r->ns->data + r->lba * r->ns->ss, 0, (size_t)r->nlb * r->ns->ss);
		break;
	case BRISK_NVME_OPC_DATASET_MANAGEMENT:
		for (int i = 0; i < r->nranges && r->ns->data != NULL; i++) {
			memset(r->ns->data + r->ranges[i].starting_lba * r->ns->ss, 0,
			       (size_t)r->ranges[i].length * r->ns->ss);
		}
		break;
	default:
		break;
	}
}

int32_t brisk_nvme_qpair_process_completions(struct brisk_nvme_qpair *q, uint32_t max)
{
	STAILQ_HEAD(, mock_req) done = STAILQ_HEAD_INITIALIZER(done);
	struct mock_req *r;
	int32_t n = 0;

	if (g_mock_hold && !q->ctrlr->failed) {
		return 0;
	}
	STAILQ_CONCAT(&done, &q->queue);
	while ((r = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, link);
		q->outstanding--;
		if (q->ctrlr->failed) {
			mock_complete(r, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_BY_REQUEST);
		} else if (r->aborted) {
			mock_complete(r, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_SQ_DELETION);
		} else {
			if (r->status.sc == 0) {
				mock_execute(r);
			}
			mock_complete(r, r->status.sct, r->status.sc);
		}
		mock_req_put(r);
		n++;
	}
	return q->ctrlr->failed ? -ENXIO : n;
}

/* ---- Namespaces ---- */

uint32_t brisk_nvme_ns_get_sector_size(struct brisk_nvme_ns *ns) { return ns->ss; }
uint64_t brisk_nvme_ns_get_num_sectors(struct brisk_nvme_ns *ns) { return ns->nsec; }
bool brisk_nvme_ns_has_volatile_write_cache(struct brisk_nvme_ns *ns) { return ns->vwc; }
uint32_t brisk_nvme_ns_get_optimal_io_boundary(struct brisk_nvme_ns *ns) { return 0; }
const uint8_t *brisk_nvme_ns_get_uuid(struct brisk_nvme_ns *ns) { return NULL; }
/* Identify data with NSFEAT clear: no write/unmap hints. */
const struct brisk_nvme_ns_data *brisk_nvme_ns_get_data(struct brisk_nvme_ns *ns)
{
	static const struct brisk_nvme_ns_data zero;

	return &zero;
}
bool brisk_nvme_ns_supports_compare(struct brisk_nvme_ns *ns) { return ns->cmp; }
bool brisk_nvme_ns_supports_write_zeroes(struct brisk_nvme_ns *ns) { return ns->wz; }
bool brisk_nvme_ns_supports_dsm(struct brisk_nvme_ns *ns) { return ns->dsm; }

/* Queues a command; -ENOMEM past the qpair's request limit, -ENXIO once failed. */
static int mock_submit(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q, uint8_t opc, uint64_t lba,
		       uint32_t nlb, brisk_nvme_cmd_cb cb, void *cb_arg, struct mock_req **out)
{
	struct mock_req *r;
	struct mock_log_entry *l;

	if (q->ctrlr->failed) {
		return -ENXIO;
	}
	if (q->outstanding >= q->limit || (r = mock_req_get()) == NULL) {
		g_mock_enomem_seen++;
		return -ENOMEM;
	}
	r->qpair = q;
	r->ns = ns;
	r->opc = opc;
	r->lba = lba;
	r->nlb = nlb;
	r->cb = cb;
	r->cb_arg = cb_arg;
	if (g_mock_ninject > 0) {
		r->status = g_mock_inject[0];
		memmove(g_mock_inject, g_mock_inject + 1, sizeof(g_mock_inject[0]) * (size_t)--g_mock_ninject);
	}
	if (g_mock_nlog < MOCK_LOG) {
		l = &g_mock_log[g_mock_nlog++];
		memset(l, 0, sizeof(*l));
		l->opc = opc;
		l->nsid = ns != NULL ? ns->id : 0;
		l->lba = lba;
		l->nlb = nlb;
	}
	q->outstanding++;
	STAILQ_INSERT_TAIL(&q->queue, r, link);
	*out = r;
	return 0;
}

static int mock_rw(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q, uint8_t opc, uint64_t lba,
		   uint32_t n, brisk_nvme_cmd_cb cb, void *arg, brisk_nvme_req_reset_sgl_cb reset,
		   brisk_nvme_req_next_sge_cb next)
{
	struct mock_req *r;
	int rc;

	if (lba + n > ns->nsec || n == 0) {
		return -EINVAL;
	}
	rc = mock_submit(ns, q, opc, lba, n, cb, arg, &r);
	if (rc == 0) {
		r->reset_sgl = reset;
		r->next_sge = next;
	}
	return rc;
}

int brisk_nvme_ns_cmd_readv(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q, uint64_t lba,
			    uint32_t n, brisk_nvme_cmd_cb cb, void *arg, uint32_t flags,
			    brisk_nvme_req_reset_sgl_cb reset, brisk_nvme_req_next_sge_cb next)
{
	return mock_rw(ns, q, BRISK_NVME_OPC_READ, lba, n, cb, arg, reset, next);
}

int brisk_nvme_ns_cmd_writev(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q, uint64_t lba,
			     uint32_t n, brisk_nvme_cmd_cb cb, void *arg, uint32_t flags,
			     brisk_nvme_req_reset_sgl_cb reset, brisk_nvme_req_next_sge_cb next)
{
	return mock_rw(ns, q, BRISK_NVME_OPC_WRITE, lba, n, cb, arg, reset, next);
}

int brisk_nvme_ns_cmd_comparev(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q, uint64_t lba,
			       uint32_t n, brisk_nvme_cmd_cb cb, void *arg, uint32_t flags,
			       brisk_nvme_req_reset_sgl_cb reset, brisk_nvme_req_next_sge_cb next)
{
	return mock_rw(ns, q, BRISK_NVME_OPC_COMPARE, lba, n, cb, arg, reset, next);
}

int brisk_nvme_ns_cmd_write_zeroes(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q, uint64_t lba,
				   uint32_t n, brisk_nvme_cmd_cb cb, void *arg, uint32_t flags)
{
	struct mock_req *r;

	if (n > 65536 || lba + n > ns->nsec) {
		return -EINVAL;
	}
	return mock_submit(ns, q, BRISK_NVME_OPC_WRITE_ZEROES, lba, n, cb, arg, &r);
}

int brisk_nvme_ns_cmd_dataset_management(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q,
					 uint32_t type, const struct brisk_nvme_dsm_range *ranges,
					 uint16_t num_ranges, brisk_nvme_cmd_cb cb, void *arg)
{
	struct mock_req *r;
	int rc;

	if (num_ranges == 0 || num_ranges > BRISK_NVME_DSM_MAX_RANGES ||
	    type != BRISK_NVME_DSM_ATTR_DEALLOCATE) {
		return -EINVAL;
	}
	rc = mock_submit(ns, q, BRISK_NVME_OPC_DATASET_MANAGEMENT, ranges[0].starting_lba, 0, cb, arg, &r);
	if (rc != 0) {
		return rc;
	}
	memcpy(r->ranges, ranges, sizeof(*ranges) * num_ranges);
	r->nranges = num_ranges;
	g_mock_log[g_mock_nlog - 1].nranges = num_ranges;
	for (int i = 0; i < num_ranges; i++) {
		g_mock_log[g_mock_nlog - 1].range_blocks += ranges[i].length;
	}
	return 0;
}

int brisk_nvme_ns_cmd_flush(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *q, brisk_nvme_cmd_cb cb,
			    void *arg)
{
	struct mock_req *r;

	return mock_submit(ns, q, BRISK_NVME_OPC_FLUSH, 0, 0, cb, arg, &r);
}

int brisk_nvme_ctrlr_cmd_io_raw(struct brisk_nvme_ctrlr *c, struct brisk_nvme_qpair *q,
				struct brisk_nvme_cmd *cmd, void *buf, uint32_t len,
				brisk_nvme_cmd_cb cb, void *arg)
{
	struct mock_req *r;
	int rc = mock_submit(brisk_nvme_ctrlr_get_ns(c, cmd->nsid), q, cmd->opc, 0, 0, cb, arg, &r);

	if (rc == 0 && cmd->opc == BRISK_NVME_OPC_READ) {
		r->opc = 0xff; /* logged as a read; the mock moves no data for raw commands */
	}
	return rc;
}

const char *brisk_nvme_cpl_get_status_string(const struct brisk_nvme_status *status)
{
	return status->sc == 0 ? "SUCCESS" : "MOCK ERROR";
}

#endif
