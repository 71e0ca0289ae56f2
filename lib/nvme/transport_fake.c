/*
 * The fake controller's registers and queues, and its transport ops (see
 * nvme_fake.h). Addresses the driver gives it are plain virtual addresses
 * (the controller sets va_is_iova). A write to an SQ tail doorbell executes
 * every new entry at once and posts completions with the phase tag, as a
 * controller with zero latency would.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/string.h>

#include "nvme_fake_internal.h"

struct nvme_fake_ctrlr {
	struct brisk_nvme_ctrlr ctrlr; /* first: the generic code's view */
	struct nvme_fake_dev *dev;
};

static TAILQ_HEAD(, nvme_fake_dev) g_fake_devs = TAILQ_HEAD_INITIALIZER(g_fake_devs);

static struct nvme_fake_dev *fake_dev(struct brisk_nvme_ctrlr *ctrlr)
{
	return ((struct nvme_fake_ctrlr *)ctrlr)->dev;
}

void nvme_fake_default_params(struct nvme_fake_params *p)
{
	memset(p, 0, sizeof(*p));
	p->num_ns = 1;
	p->ns_bytes = 4u << 20;
	p->lbaf = 0;
	p->mdts = 5;      /* 128 KiB */
	p->sgl = true;
	p->mqes = 1023;
	p->cap_to = 1;    /* 500 ms */
	p->ready_delay = 2;
}

uint32_t fake_ns_block_size(const struct fake_ns *ns)
{
	return ns->lbaf == 1 ? 4096u : 512u;
}

int fake_ns_init(struct fake_ns *ns, uint64_t bytes, uint32_t lbaf, bool no_data)
{
	ns->active = bytes != 0;
	ns->allocated = ns->active;
	ns->lbaf = lbaf;
	ns->bytes = bytes;
	free(ns->ram);
	ns->ram = NULL;
	if (bytes != 0 && !no_data) {
		ns->ram = calloc(1, bytes);
		return ns->ram != NULL ? 0 : -ENOMEM;
	}
	return 0;
}

struct nvme_fake_dev *nvme_fake_dev_create(const char *name, const struct nvme_fake_params *p)
{
	struct nvme_fake_dev *dev = calloc(1, sizeof(*dev));

	if (dev == NULL || p->num_ns > NVME_FAKE_MAX_NS) {
		free(dev);
		return NULL;
	}
	brisk_strlcpy(dev->name, name, sizeof(dev->name));
	dev->params = *p;
	dev->held = calloc(FAKE_MAX_HELD, sizeof(*dev->held));
	dev->cap.bits.mqes = p->mqes;
	dev->cap.bits.cqr = 1;
	dev->cap.bits.to = p->cap_to;
	dev->cap.bits.css = 1;
	for (uint32_t i = 0; i < p->num_ns; i++) {
		if (fake_ns_init(&dev->ns[i], p->ns_bytes, p->lbaf, p->no_data) != 0) {
			dev->held = NULL;
		}
	}
	if (dev->held == NULL) {
		nvme_fake_dev_destroy(dev);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&g_fake_devs, dev, link);
	return dev;
}

void nvme_fake_dev_destroy(struct nvme_fake_dev *dev)
{
	struct nvme_fake_dev *d;

	if (dev == NULL) {
		return;
	}
	TAILQ_FOREACH(d, &g_fake_devs, link) {
		if (d == dev) {
			TAILQ_REMOVE(&g_fake_devs, dev, link);
			break;
		}
	}
	for (int i = 0; i < NVME_FAKE_MAX_NS; i++) {
		free(dev->ns[i].ram);
	}
	free(dev->held);
	free(dev);
}

/* ---- Knobs ---- */

void nvme_fake_set_ready_never(struct nvme_fake_dev *dev, bool on) { dev->ready_never = on; }
void nvme_fake_set_cfs(struct nvme_fake_dev *dev, bool on) { dev->cfs = on; }
void nvme_fake_set_removed(struct nvme_fake_dev *dev, bool on) { dev->removed = on; }
void nvme_fake_set_hold(struct nvme_fake_dev *dev, bool on) { dev->hold = on; }
void nvme_fake_set_abort_fails(struct nvme_fake_dev *dev, bool on) { dev->abort_fails = on; }
uint32_t nvme_fake_num_held(struct nvme_fake_dev *dev) { return dev->num_held; }

void nvme_fake_hold_admin(struct nvme_fake_dev *dev, bool on, uint8_t opc)
{
	dev->hold_admin = on;
	dev->hold_admin_opc = opc;
}
struct nvme_fake_stats *nvme_fake_get_stats(struct nvme_fake_dev *dev) { return &dev->stats; }
uint32_t nvme_fake_get_cc(struct nvme_fake_dev *dev) { return dev->cc; }

void nvme_fake_set_enabled(struct nvme_fake_dev *dev)
{
	dev->cc = 1;
	dev->csts.bits.rdy = 1;
	dev->rdy_target = 1;
}

uint8_t *nvme_fake_ns_ram(struct nvme_fake_dev *dev, uint32_t nsid)
{
	return nsid >= 1 && nsid <= NVME_FAKE_MAX_NS ? dev->ns[nsid - 1].ram : NULL;
}

static void fake_raise_event(struct nvme_fake_dev *dev, uint32_t cdw0)
{
	if (dev->num_aer > 0) {
		uint16_t cid = dev->aer_cid[--dev->num_aer];

		fake_post(dev, 0, cid, 0, 0, cdw0);
	} else if (dev->num_events < FAKE_MAX_EVENTS) {
		dev->events[dev->num_events++] = cdw0;
	}
}

/* A namespace attribute notice for nsid, through the Changed NS List log. */
void fake_ns_notice(struct nvme_fake_dev *dev, uint32_t nsid)
{
	union brisk_nvme_async_event_completion ev = { .raw = 0 };

	if (dev->num_changed < NVME_FAKE_MAX_NS) {
		dev->changed_ns[dev->num_changed++] = nsid;
	}
	ev.bits.async_event_type = BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE;
	ev.bits.async_event_info = BRISK_NVME_ASYNC_EVENT_NS_ATTR_CHANGED;
	ev.bits.log_page_identifier = BRISK_NVME_LOG_CHANGED_NS_LIST;
	fake_raise_event(dev, ev.raw);
}

void nvme_fake_ns_change(struct nvme_fake_dev *dev, uint32_t nsid, uint64_t bytes)
{
	if (nsid == 0 || nsid > NVME_FAKE_MAX_NS) {
		return;
	}
	fake_ns_init(&dev->ns[nsid - 1], bytes, dev->ns[nsid - 1].lbaf, dev->params.no_data);
	fake_ns_notice(dev, nsid);
}

/* ---- Queues ---- */

void fake_post(struct nvme_fake_dev *dev, uint16_t qid, uint16_t cid, uint16_t sct, uint16_t sc,
	       uint32_t cdw0)
{
	struct fake_sq *sq = &dev->sq[qid];
	struct fake_cq *cq = &dev->cq[sq->cqid];
	struct brisk_nvme_cpl *e;
	struct brisk_nvme_status st = { 0 };

	if (!sq->exists || !cq->exists) {
		return;
	}
	e = &cq->ring[cq->tail];
	e->cdw0 = cdw0;
	e->cdw1 = 0;
	e->sqhd = sq->head;
	e->sqid = qid;
	e->cid = cid;
	st.p = cq->phase;
	st.sct = sct;
	st.sc = sc;
	/* Release: the entry's other fields are visible before its phase tag. */
	__atomic_store(&e->status, &st, __ATOMIC_RELEASE);
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase ^= 1u;
	}
}

static void fake_hold(struct nvme_fake_dev *dev, uint16_t qid, const struct brisk_nvme_cmd *cmd)
{
	if (dev->num_held == FAKE_MAX_HELD) {
		fake_post(dev, qid, cmd->cid, 0, BRISK_NVME_SC_INTERNAL_DEVICE_ERROR, 0);
		return;
	}
	dev->held[dev->num_held].qid = qid;
	dev->held[dev->num_held].cmd = *cmd;
	dev->num_held++;
}

static void fake_run_one(struct nvme_fake_dev *dev, uint16_t qid, const struct brisk_nvme_cmd *cmd)
{
	struct fake_result res = { 0 };

	if (qid != 0) {
		dev->stats.io_cmds++;
		dev->stats.io_opc[cmd->opc]++;
		dev->stats.last_io = *cmd;
		if (dev->hold) {
			fake_hold(dev, qid, cmd);
			return;
		}
	} else {
		dev->stats.admin_cmds[cmd->opc]++;
		if (dev->hold_admin && cmd->opc == dev->hold_admin_opc) {
			fake_hold(dev, qid, cmd);
			return;
		}
	}
	fake_execute(dev, qid, cmd, &res);
	if (!res.hold) {
		fake_post(dev, qid, cmd->cid, res.sct, res.sc, res.cdw0);
	}
}

static void fake_sq_doorbell(struct nvme_fake_dev *dev, uint16_t qid, uint16_t tail)
{
	struct fake_sq *sq = &dev->sq[qid];
	uint32_t outstanding;

	dev->stats.sq_doorbells++;
	if (!sq->exists) {
		dev->stats.bad_doorbells++;
		return;
	}
	if (dev->removed || dev->cfs) {
		return;
	}
	outstanding = (tail + sq->size - sq->head) % sq->size;
	if (qid != 0 && outstanding + dev->num_held > dev->stats.max_io_outstanding) {
		dev->stats.max_io_outstanding = outstanding + dev->num_held;
	}
	while (sq->head != tail) {
		struct brisk_nvme_cmd cmd = sq->ring[sq->head];

		sq->head = (uint16_t)((sq->head + 1u) % sq->size);
		fake_run_one(dev, qid, &cmd);
	}
}

uint32_t nvme_fake_release(struct nvme_fake_dev *dev, bool reverse)
{
	uint32_t n = dev->num_held;
	struct fake_held *held = dev->held;

	dev->held = calloc(FAKE_MAX_HELD, sizeof(*dev->held));
	dev->num_held = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct fake_held *h = &held[reverse ? n - 1 - i : i];
		struct fake_result res = { 0 };

		fake_execute(dev, h->qid, &h->cmd, &res);
		fake_post(dev, h->qid, h->cmd.cid, res.sct, res.sc, res.cdw0);
	}
	free(held);
	return n;
}

/* ---- Registers ---- */

static void fake_reset_queues(struct nvme_fake_dev *dev)
{
	memset(dev->sq, 0, sizeof(dev->sq));
	memset(dev->cq, 0, sizeof(dev->cq));
	dev->num_held = 0;
	dev->num_aer = 0;
}

static void fake_enable(struct nvme_fake_dev *dev)
{
	union brisk_nvme_aqa_register aqa = { .raw = dev->aqa };

	fake_reset_queues(dev);
	dev->sq[0] = (struct fake_sq) { .exists = true, .ring = (void *)(uintptr_t)dev->asq,
		.size = aqa.bits.asqs + 1u, .cqid = 0 };
	dev->cq[0] = (struct fake_cq) { .exists = true, .ring = (void *)(uintptr_t)dev->acq,
		.size = aqa.bits.acqs + 1u, .phase = 1 };
}

static void fake_write_cc(struct nvme_fake_dev *dev, uint32_t value)
{
	union brisk_nvme_cc_register old = { .raw = dev->cc }, cc = { .raw = value };

	dev->cc = value;
	if (cc.bits.en && !old.bits.en) {
		fake_enable(dev);
		dev->rdy_target = dev->ready_never ? 0 : 1;
		dev->rdy_countdown = dev->params.ready_delay;
	} else if (!cc.bits.en && old.bits.en) {
		fake_reset_queues(dev);
		dev->rdy_target = 0;
		dev->rdy_countdown = dev->params.ready_delay;
		dev->csts.bits.shst = BRISK_NVME_SHST_NORMAL;
	}
	if (cc.bits.shn != 0) {
		dev->csts.bits.shst = BRISK_NVME_SHST_COMPLETE;
	}
}

static uint32_t fake_read_csts(struct nvme_fake_dev *dev)
{
	if (dev->rdy_countdown > 0) {
		dev->rdy_countdown--;
	} else {
		dev->csts.bits.rdy = dev->rdy_target;
	}
	dev->csts.bits.cfs = dev->cfs;
	return dev->csts.raw;
}

static uint32_t fake_get_reg_4(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset)
{
	struct nvme_fake_dev *dev = fake_dev(ctrlr);

	if (dev->removed) {
		return 0xffffffffu;
	}
	switch (offset) {
	case BRISK_NVME_REG_CAP:
		return (uint32_t)dev->cap.raw;
	case BRISK_NVME_REG_CAP + 4:
		return (uint32_t)(dev->cap.raw >> 32);
	case BRISK_NVME_REG_VS:
		return 0x10400; /* 1.4 */
	case BRISK_NVME_REG_CC:
		return dev->cc;
	case BRISK_NVME_REG_CSTS:
		return fake_read_csts(dev);
	case BRISK_NVME_REG_AQA:
		return dev->aqa;
	default:
		return 0;
	}
}

static void fake_set_reg_4(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint32_t value)
{
	struct nvme_fake_dev *dev = fake_dev(ctrlr);

	if (dev->removed) {
		return;
	}
	switch (offset) {
	case BRISK_NVME_REG_CC:
		fake_write_cc(dev, value);
		break;
	case BRISK_NVME_REG_AQA:
		dev->aqa = value;
		break;
	default:
		break;
	}
}

static uint64_t fake_get_reg_8(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset)
{
	uint64_t lo = fake_get_reg_4(ctrlr, offset);

	return (uint64_t)fake_get_reg_4(ctrlr, offset + 4) << 32 | lo;
}

static void fake_set_reg_8(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint64_t value)
{
	struct nvme_fake_dev *dev = fake_dev(ctrlr);

	if (offset == BRISK_NVME_REG_ASQ) {
		dev->asq = value;
	} else if (offset == BRISK_NVME_REG_ACQ) {
		dev->acq = value;
	}
}

/* ---- Transport ops ---- */

static bool fake_is_removed(struct brisk_nvme_ctrlr *ctrlr) { return fake_dev(ctrlr)->removed; }
static uint32_t fake_max_queue_entries(struct brisk_nvme_ctrlr *ctrlr) { return 65536; }
static void fake_init_doorbells(struct brisk_nvme_qpair *qpair) { }
static void fake_dev_free(void *dev) { }

static void fake_ring_sq(struct brisk_nvme_qpair *qpair, uint16_t tail)
{
	fake_sq_doorbell(fake_dev(qpair->ctrlr), qpair->id, tail);
}

static void fake_ring_cq(struct brisk_nvme_qpair *qpair, uint16_t head)
{
	fake_dev(qpair->ctrlr)->stats.cq_doorbells++;
}

static struct nvme_fake_dev *fake_find(const char *name)
{
	struct nvme_fake_dev *dev;

	TAILQ_FOREACH(dev, &g_fake_devs, link) {
		if (strcmp(dev->name, name) == 0) {
			return dev;
		}
	}
	return NULL;
}

static const struct nvme_transport_ops g_fake_ops;

static struct brisk_nvme_ctrlr *fake_ctrlr_construct(const struct brisk_nvme_transport_id *trid,
						     const struct brisk_nvme_ctrlr_opts *opts,
						     void *devp)
{
	struct nvme_fake_dev *dev = devp != NULL ? devp : fake_find(trid->traddr);
	struct nvme_fake_ctrlr *f;

	if (dev == NULL || dev->attached) {
		BRISK_ERRLOG("nvme fake: no free controller named '%s'\n", trid->traddr);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return NULL;
	}
	f->dev = dev;
	f->ctrlr.va_is_iova = true;
	if (nvme_ctrlr_construct(&f->ctrlr, trid, opts, &g_fake_ops) != 0) {
		free(f);
		return NULL;
	}
	dev->attached = true;
	return &f->ctrlr;
}

static void fake_ctrlr_destruct(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_fake_ctrlr *f = (struct nvme_fake_ctrlr *)ctrlr;

	f->dev->attached = false;
	nvme_ctrlr_destruct(ctrlr);
	free(f);
}

static int fake_scan(struct brisk_nvme_probe_ctx *ctx, const struct brisk_nvme_transport_id *trid)
{
	struct nvme_fake_dev *dev;

	TAILQ_FOREACH(dev, &g_fake_devs, link) {
		struct brisk_nvme_transport_id t = { .trtype = NVME_TRANSPORT_FAKE };

		if (trid->traddr[0] != '\0' && strcmp(trid->traddr, dev->name) != 0) {
			continue;
		}
		brisk_strlcpy(t.traddr, dev->name, sizeof(t.traddr));
		nvme_probe_found(ctx, &t, dev);
	}
	return 0;
}

static const struct nvme_transport_ops g_fake_ops = {
	.name = "fake",
	.trtype = NVME_TRANSPORT_FAKE,
	.scan = fake_scan,
	.ctrlr_construct = fake_ctrlr_construct,
	.ctrlr_destruct = fake_ctrlr_destruct,
	.dev_free = fake_dev_free,
	.get_reg_4 = fake_get_reg_4,
	.set_reg_4 = fake_set_reg_4,
	.get_reg_8 = fake_get_reg_8,
	.set_reg_8 = fake_set_reg_8,
	.is_removed = fake_is_removed,
	.max_queue_entries = fake_max_queue_entries,
	.qpair_init_doorbells = fake_init_doorbells,
	.ring_sq_doorbell = fake_ring_sq,
	.ring_cq_doorbell = fake_ring_cq,
};

void nvme_fake_transport_register(void)
{
	nvme_transport_register(&g_fake_ops);
}
