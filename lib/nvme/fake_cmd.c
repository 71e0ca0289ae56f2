/*
 * The fake controller's command execution: admin commands (Identify, log
 * pages, features, queue creation and deletion, Abort, async events, Format,
 * Namespace Management and Attachment)
 * and NVM I/O on RAM-backed namespaces. Data moves through the command's
 * PRPs or SGL exactly as a controller would walk them, so malformed lists
 * built by the driver fail with the status a controller would return.
 */
#include <stdlib.h>
#include <string.h>

#include <brisk/string.h>

#include "nvme_fake_internal.h"

enum fake_dir { FAKE_TO_HOST, FAKE_FROM_HOST, FAKE_COMPARE };

struct fake_xfer {
	uint8_t *dev_buf;
	enum fake_dir dir;
	uint32_t done;
	bool mismatch;
};

static void fake_copy(struct fake_xfer *x, uint64_t addr, uint32_t len)
{
	void *host = (void *)(uintptr_t)addr;

	if (x->dir == FAKE_TO_HOST) {
		memcpy(host, x->dev_buf + x->done, len);
	} else if (x->dir == FAKE_FROM_HOST) {
		memcpy(x->dev_buf + x->done, host, len);
	} else if (memcmp(host, x->dev_buf + x->done, len) != 0) {
		x->mismatch = true;
	}
	x->done += len;
}

/* Walks a PRP list (NVMe Base 4.3), following chained list pages. */
static uint16_t fake_walk_prp_list(struct fake_xfer *x, uint64_t list, uint32_t rem)
{
	while (rem > 0) {
		uint64_t *e = (uint64_t *)(uintptr_t)list;
		uint32_t slots = (NVME_PAGE_SIZE - (uint32_t)(list & NVME_PAGE_MASK)) / 8;

		for (uint32_t i = 0; i < slots && rem > 0; i++) {
			uint32_t chunk = rem < NVME_PAGE_SIZE ? rem : NVME_PAGE_SIZE;

			if (i == slots - 1 && rem > NVME_PAGE_SIZE) {
				list = e[i]; /* the last slot points at the next list page */
				break;
			}
			if (e[i] & NVME_PAGE_MASK) {
				return BRISK_NVME_SC_INVALID_PRP_OFFSET;
			}
			fake_copy(x, e[i], chunk);
			rem -= chunk;
		}
	}
	return 0;
}

static uint16_t fake_walk_prp(struct fake_xfer *x, const struct brisk_nvme_cmd *cmd, uint32_t len)
{
	uint64_t prp1 = cmd->dptr.prp.prp1, prp2 = cmd->dptr.prp.prp2;
	uint32_t first = NVME_PAGE_SIZE - (uint32_t)(prp1 & NVME_PAGE_MASK);

	if (prp1 & 3u) {
		return BRISK_NVME_SC_INVALID_FIELD;
	}
	first = first < len ? first : len;
	fake_copy(x, prp1, first);
	len -= first;
	if (len == 0) {
		return 0;
	}
	if (len <= NVME_PAGE_SIZE) {
		if (prp2 & NVME_PAGE_MASK) {
			return BRISK_NVME_SC_INVALID_PRP_OFFSET;
		}
		fake_copy(x, prp2, len);
		return 0;
	}
	return fake_walk_prp_list(x, prp2, len);
}

static uint16_t fake_walk_sgl(struct fake_xfer *x, const struct brisk_nvme_cmd *cmd, uint32_t len)
{
	const struct brisk_nvme_sgl_descriptor *d = &cmd->dptr.sgl1;
	uint32_t n = 1, total = 0;

	if ((d->type_subtype >> 4) == BRISK_NVME_SGL_TYPE_LAST_SEGMENT) {
		n = d->length / sizeof(*d);
		d = (const void *)(uintptr_t)d->address;
	} else if ((d->type_subtype >> 4) != BRISK_NVME_SGL_TYPE_DATA_BLOCK) {
		return BRISK_NVME_SC_INVALID_SGL_SEG_DESCRIPTOR;
	}
	for (uint32_t i = 0; i < n; i++) {
		if ((d[i].type_subtype >> 4) != BRISK_NVME_SGL_TYPE_DATA_BLOCK) {
			return BRISK_NVME_SC_INVALID_SGL_SEG_DESCRIPTOR;
		}
		total += d[i].length;
	}
	if (total != len) {
		return BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID;
	}
	for (uint32_t i = 0; i < n; i++) {
		fake_copy(x, d[i].address, d[i].length);
	}
	return 0;
}

static void fake_transfer(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			  void *dev_buf, uint32_t len, enum fake_dir dir, struct fake_result *res)
{
	struct fake_xfer x = { .dev_buf = dev_buf, .dir = dir };

	if (cmd->psdt == BRISK_NVME_PSDT_PRP) {
		res->sc = fake_walk_prp(&x, cmd, len);
	} else if (dev->params.sgl) {
		res->sc = fake_walk_sgl(&x, cmd, len);
	} else {
		res->sc = BRISK_NVME_SC_INVALID_FIELD;
	}
	if (res->sc == 0 && x.mismatch) {
		res->sct = BRISK_NVME_SCT_MEDIA_ERROR;
		res->sc = BRISK_NVME_SC_COMPARE_FAILURE;
	}
}

/* ---- Identify ---- */

static void fake_identify_ctrlr(struct nvme_fake_dev *dev, struct brisk_nvme_ctrlr_data *cd)
{
	cd->vid = 0x1b36;
	brisk_strcpy_pad(cd->sn, "FAKE0001", sizeof(cd->sn), ' ');
	brisk_strcpy_pad(cd->mn, "Brisk Fake NVMe Ctrl", sizeof(cd->mn), ' ');
	brisk_strcpy_pad(cd->fr, "1.0", sizeof(cd->fr), ' ');
	cd->mdts = dev->params.mdts;
	cd->ver = 0x10400;
	cd->oaes = BRISK_NVME_OAES_NS_ATTR;
	cd->cntlid = NVME_FAKE_CNTLID;
	cd->oacs = BRISK_NVME_OACS_FORMAT | (dev->params.ns_mgmt ? BRISK_NVME_OACS_NS_MANAGE : 0u);
	cd->acl = 3;
	cd->aerl = FAKE_MAX_AER - 1;
	cd->lpa = 0x2;
	cd->sqes = 0x66;
	cd->cqes = 0x44;
	cd->nn = NVME_FAKE_MAX_NS;
	cd->oncs = BRISK_NVME_ONCS_COMPARE | BRISK_NVME_ONCS_DSM | BRISK_NVME_ONCS_WRITE_ZEROES;
	cd->vwc = 1;
	cd->sgls = dev->params.sgl ? 1u : 0u;
	brisk_strcpy_pad(cd->subnqn, "nqn.2026-12.io.brisk:fake", sizeof(cd->subnqn), '\0');
}

static void fake_identify_ns(struct nvme_fake_dev *dev, uint32_t nsid, struct brisk_nvme_ns_data *nd)
{
	const struct fake_ns *ns = &dev->ns[nsid - 1];

	if (!ns->active) {
		return;
	}
	nd->nsze = ns->bytes / fake_ns_block_size(ns);
	nd->ncap = nd->nsze;
	nd->nuse = nd->nsze;
	nd->nlbaf = 1;
	nd->flbas = (uint8_t)ns->lbaf;
	nd->dlfeat = 1; /* deallocated blocks read as zeroes */
	nd->noiob = dev->params.noiob;
	nd->lbaf[0].lbads = 9;
	nd->lbaf[1].lbads = 12;
	nd->eui64[7] = (uint8_t)nsid;
}

static void fake_identify_descs(uint32_t nsid, uint8_t *list)
{
	struct brisk_nvme_ns_id_desc *d = (void *)list;

	d->nidt = BRISK_NVME_NIDT_UUID;
	d->nidl = 16;
	memset(d->nid, 0xb0 + (int)nsid, 16);
}

static void fake_identify_active(struct nvme_fake_dev *dev, uint32_t after, uint32_t *list)
{
	uint32_t n = 0;

	for (uint32_t i = after; i < NVME_FAKE_MAX_NS; i++) {
		if (dev->ns[i].active) {
			list[n++] = i + 1;
		}
	}
}

static void fake_identify(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			  struct fake_result *res)
{
	uint8_t *page = calloc(1, NVME_PAGE_SIZE);
	uint32_t cns = cmd->cdw10 & 0xffu;
	bool ns_cmd = cns == BRISK_NVME_IDENTIFY_NS || cns == BRISK_NVME_IDENTIFY_NS_ID_DESCRIPTOR_LIST;

	if (ns_cmd && (cmd->nsid == 0 || cmd->nsid > NVME_FAKE_MAX_NS)) {
		res->sc = BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT;
	} else if (cns == BRISK_NVME_IDENTIFY_CTRLR) {
		fake_identify_ctrlr(dev, (void *)page);
	} else if (cns == BRISK_NVME_IDENTIFY_NS) {
		fake_identify_ns(dev, cmd->nsid, (void *)page);
	} else if (cns == BRISK_NVME_IDENTIFY_NS_ID_DESCRIPTOR_LIST) {
		fake_identify_descs(cmd->nsid, page);
	} else if (cns == BRISK_NVME_IDENTIFY_ACTIVE_NS_LIST && !dev->params.no_active_list) {
		fake_identify_active(dev, cmd->nsid < NVME_FAKE_MAX_NS ? cmd->nsid : NVME_FAKE_MAX_NS,
				     (void *)page);
	} else {
		res->sc = BRISK_NVME_SC_INVALID_FIELD;
	}
	if (res->sc == 0) {
		fake_transfer(dev, cmd, page, NVME_PAGE_SIZE, FAKE_TO_HOST, res);
	}
	free(page);
}

/* ---- Logs and features ---- */

static void fake_log_page(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			  struct fake_result *res)
{
	uint32_t numd = ((cmd->cdw10 >> 16) | (cmd->cdw11 & 0xffffu) << 16) + 1u;
	uint32_t len = numd * 4u;
	uint8_t *page = calloc(1, NVME_PAGE_SIZE);

	if (len > NVME_PAGE_SIZE) {
		res->sc = BRISK_NVME_SC_INVALID_FIELD;
	} else if ((cmd->cdw10 & 0xffu) == BRISK_NVME_LOG_HEALTH_INFORMATION) {
		struct brisk_nvme_health_information_page *h = (void *)page;

		h->temperature = 310;
		h->available_spare = 100;
		h->available_spare_threshold = 10;
		h->power_cycles[0] = 1;
	} else if ((cmd->cdw10 & 0xffu) == BRISK_NVME_LOG_FIRMWARE_SLOT) {
		struct brisk_nvme_firmware_page *fw = (void *)page;

		fw->afi = 1;
		memcpy(fw->revision[0], "1.0     ", 8);
	} else if ((cmd->cdw10 & 0xffu) == BRISK_NVME_LOG_CHANGED_NS_LIST) {
		memcpy(page, dev->changed_ns, dev->num_changed * sizeof(uint32_t));
		dev->num_changed = 0;
	} else if ((cmd->cdw10 & 0xffu) != BRISK_NVME_LOG_ERROR) {
		res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
		res->sc = BRISK_NVME_SC_INVALID_LOG_PAGE;
	}
	if (res->sc == 0 && res->sct == 0) {
		fake_transfer(dev, cmd, page, len, FAKE_TO_HOST, res);
	}
	free(page);
}

static void fake_features(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			  struct fake_result *res)
{
	uint8_t fid = (uint8_t)cmd->cdw10;

	if (fid == BRISK_NVME_FEAT_NUMBER_OF_QUEUES) {
		res->cdw0 = (FAKE_MAX_Q - 2u) << 16 | (FAKE_MAX_Q - 2u);
	} else if (cmd->opc == BRISK_NVME_OPC_SET_FEATURES) {
		dev->features[fid] = cmd->cdw11;
	} else {
		res->cdw0 = dev->features[fid];
	}
}

/* ---- Queues, abort, events, format ---- */

static void fake_create_cq(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			   struct fake_result *res)
{
	uint16_t qid = (uint16_t)cmd->cdw10;

	if (qid == 0 || qid >= FAKE_MAX_Q || dev->cq[qid].exists) {
		res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
		res->sc = BRISK_NVME_SC_INVALID_QUEUE_IDENTIFIER;
		return;
	}
	dev->cq[qid] = (struct fake_cq) { .exists = true, .phase = 1,
		.ring = (void *)(uintptr_t)cmd->dptr.prp.prp1, .size = (cmd->cdw10 >> 16) + 1u };
}

static void fake_create_sq(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			   struct fake_result *res)
{
	uint16_t qid = (uint16_t)cmd->cdw10, cqid = (uint16_t)(cmd->cdw11 >> 16);

	res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
	if (qid == 0 || qid >= FAKE_MAX_Q || dev->sq[qid].exists) {
		res->sc = BRISK_NVME_SC_INVALID_QUEUE_IDENTIFIER;
	} else if (cqid >= FAKE_MAX_Q || !dev->cq[cqid].exists) {
		res->sc = BRISK_NVME_SC_COMPLETION_QUEUE_INVALID;
	} else {
		res->sct = 0;
		dev->sq[qid] = (struct fake_sq) { .exists = true, .cqid = cqid,
			.ring = (void *)(uintptr_t)cmd->dptr.prp.prp1, .size = (cmd->cdw10 >> 16) + 1u };
	}
}

/* Held commands of a deleted SQ complete as aborted, as the spec asks. */
static void fake_delete_sq(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			   struct fake_result *res)
{
	uint16_t qid = (uint16_t)cmd->cdw10;
	uint32_t kept = 0;

	if (qid == 0 || qid >= FAKE_MAX_Q || !dev->sq[qid].exists) {
		res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
		res->sc = BRISK_NVME_SC_INVALID_QUEUE_IDENTIFIER;
		return;
	}
	for (uint32_t i = 0; i < dev->num_held; i++) {
		if (dev->held[i].qid == qid) {
			fake_post(dev, qid, dev->held[i].cmd.cid, 0, BRISK_NVME_SC_ABORTED_SQ_DELETION, 0);
		} else {
			dev->held[kept++] = dev->held[i];
		}
	}
	dev->num_held = kept;
	dev->sq[qid].exists = false;
}

static void fake_delete_cq(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			   struct fake_result *res)
{
	uint16_t qid = (uint16_t)cmd->cdw10;

	if (qid == 0 || qid >= FAKE_MAX_Q || !dev->cq[qid].exists) {
		res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
		res->sc = BRISK_NVME_SC_INVALID_QUEUE_IDENTIFIER;
		return;
	}
	dev->cq[qid].exists = false;
}

static void fake_abort(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
		       struct fake_result *res)
{
	uint16_t sqid = (uint16_t)cmd->cdw10, cid = (uint16_t)(cmd->cdw10 >> 16);

	res->cdw0 = 1; /* not aborted */
	if (dev->abort_fails) {
		return;
	}
	for (uint32_t i = 0; i < dev->num_held; i++) {
		if (dev->held[i].qid == sqid && dev->held[i].cmd.cid == cid) {
			fake_post(dev, sqid, cid, 0, BRISK_NVME_SC_ABORTED_BY_REQUEST, 0);
			dev->held[i] = dev->held[--dev->num_held];
			res->cdw0 = 0;
			return;
		}
	}
}

static void fake_aer(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
		     struct fake_result *res)
{
	if (dev->num_events > 0) {
		res->cdw0 = dev->events[0];
		memmove(dev->events, dev->events + 1, --dev->num_events * sizeof(dev->events[0]));
	} else if (dev->num_aer == FAKE_MAX_AER) {
		res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
		res->sc = BRISK_NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED;
	} else {
		dev->aer_cid[dev->num_aer++] = cmd->cid;
		res->hold = true;
	}
}

static void fake_format(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			struct fake_result *res)
{
	uint32_t lbaf = cmd->cdw10 & 0xfu;

	if (lbaf > 1) {
		res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
		res->sc = BRISK_NVME_SC_INVALID_FORMAT;
		return;
	}
	for (uint32_t i = 0; i < NVME_FAKE_MAX_NS; i++) {
		struct fake_ns *ns = &dev->ns[i];

		if (ns->active && (cmd->nsid == i + 1 || cmd->nsid == BRISK_NVME_GLOBAL_NS_TAG)) {
			ns->lbaf = lbaf;
			if (ns->ram != NULL) {
				memset(ns->ram, 0, ns->bytes);
			}
		}
	}
}

/* ---- Namespace Management and Attachment ---- */

static void fake_cmd_specific(struct fake_result *res, uint16_t sc)
{
	res->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
	res->sc = sc;
}

static uint32_t fake_free_slot(const struct nvme_fake_dev *dev)
{
	uint32_t i = 0;

	while (i < NVME_FAKE_MAX_NS && dev->ns[i].allocated) {
		i++;
	}
	return i;
}

/* Create: the first free slot of the pool, not attached. */
static void fake_ns_create(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			   struct fake_result *res)
{
	/* Zeroed: read below even when the transfer failed (then unused). */
	struct brisk_nvme_ns_data nd = { 0 };
	uint32_t i, lbaf;
	uint64_t bytes;

	fake_transfer(dev, cmd, &nd, sizeof(nd), FAKE_FROM_HOST, res);
	i = fake_free_slot(dev);
	lbaf = nd.flbas & 0xfu;
	bytes = nd.nsze << (lbaf == 1 ? 12 : 9);
	if (res->sc != 0) {
		return;
	} else if (lbaf > 1) {
		fake_cmd_specific(res, BRISK_NVME_SC_INVALID_FORMAT);
	} else if (nd.nsze == 0 || nd.ncap != nd.nsze) {
		fake_cmd_specific(res, BRISK_NVME_SC_THIN_PROVISIONING_NOT_SUPPORTED);
	} else if (nd.nsze > NVME_FAKE_NS_MGMT_MAX_BYTES >> 9 || bytes > NVME_FAKE_NS_MGMT_MAX_BYTES) {
		fake_cmd_specific(res, BRISK_NVME_SC_NS_INSUFFICIENT_CAPACITY);
	} else if (i == NVME_FAKE_MAX_NS) {
		fake_cmd_specific(res, BRISK_NVME_SC_NS_ID_UNAVAILABLE);
	} else if (fake_ns_init(&dev->ns[i], bytes, lbaf, dev->params.no_data) != 0) {
		res->sc = BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
	} else {
		dev->ns[i].active = false;
		res->cdw0 = i + 1;
	}
}

static void fake_ns_delete(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			   struct fake_result *res)
{
	bool all = cmd->nsid == BRISK_NVME_GLOBAL_NS_TAG;

	if (!all && (cmd->nsid == 0 || cmd->nsid > NVME_FAKE_MAX_NS ||
		     !dev->ns[cmd->nsid - 1].allocated)) {
		res->sc = BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT;
		return;
	}
	for (uint32_t i = 0; i < NVME_FAKE_MAX_NS; i++) {
		if (all || cmd->nsid == i + 1) {
			fake_ns_init(&dev->ns[i], 0, 0, true);
		}
	}
}

static void fake_ns_management(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			       struct fake_result *res)
{
	uint32_t sel = cmd->cdw10 & 0xfu;

	if (!dev->params.ns_mgmt) {
		res->sc = BRISK_NVME_SC_INVALID_OPCODE;
	} else if (sel == BRISK_NVME_NS_MGMT_SEL_CREATE) {
		fake_ns_create(dev, cmd, res);
	} else if (sel == BRISK_NVME_NS_MGMT_SEL_DELETE) {
		fake_ns_delete(dev, cmd, res);
	} else {
		res->sc = BRISK_NVME_SC_INVALID_FIELD;
	}
}

/* The list must name this controller (the only one of the fake's subsystem). */
static bool fake_ctrlr_list_ok(const struct brisk_nvme_ctrlr_list *list)
{
	if (list->num_ids == 0 || list->num_ids > BRISK_NVME_CTRLR_LIST_MAX) {
		return false;
	}
	for (uint32_t i = 0; i < list->num_ids; i++) {
		if (list->ctrlr_ids[i] != NVME_FAKE_CNTLID) {
			return false;
		}
	}
	return true;
}

static void fake_ns_attachment(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
			       struct fake_result *res)
{
	struct brisk_nvme_ctrlr_list list;
	uint32_t sel = cmd->cdw10 & 0xfu;
	struct fake_ns *ns;

	if (!dev->params.ns_mgmt) {
		res->sc = BRISK_NVME_SC_INVALID_OPCODE;
		return;
	}
	if (cmd->nsid == 0 || cmd->nsid > NVME_FAKE_MAX_NS || !dev->ns[cmd->nsid - 1].allocated) {
		res->sc = BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT;
		return;
	}
	ns = &dev->ns[cmd->nsid - 1];
	fake_transfer(dev, cmd, &list, sizeof(list), FAKE_FROM_HOST, res);
	if (res->sc != 0) {
		return;
	} else if (sel > BRISK_NVME_NS_ATTACH_SEL_DETACH) {
		res->sc = BRISK_NVME_SC_INVALID_FIELD;
	} else if (!fake_ctrlr_list_ok(&list)) {
		fake_cmd_specific(res, BRISK_NVME_SC_CONTROLLER_LIST_INVALID);
	} else if (sel == BRISK_NVME_NS_ATTACH_SEL_ATTACH && ns->active) {
		fake_cmd_specific(res, BRISK_NVME_SC_NS_ALREADY_ATTACHED);
	} else if (sel == BRISK_NVME_NS_ATTACH_SEL_DETACH && !ns->active) {
		fake_cmd_specific(res, BRISK_NVME_SC_NS_NOT_ATTACHED);
	} else {
		/* As QEMU does: the change is also announced by an event. */
		ns->active = sel == BRISK_NVME_NS_ATTACH_SEL_ATTACH;
		fake_ns_notice(dev, cmd->nsid);
	}
}

static void fake_admin(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
		       struct fake_result *res)
{
	switch (cmd->opc) {
	case BRISK_NVME_OPC_IDENTIFY: fake_identify(dev, cmd, res); break;
	case BRISK_NVME_OPC_GET_LOG_PAGE: fake_log_page(dev, cmd, res); break;
	case BRISK_NVME_OPC_SET_FEATURES:
	case BRISK_NVME_OPC_GET_FEATURES: fake_features(dev, cmd, res); break;
	case BRISK_NVME_OPC_CREATE_IO_CQ: fake_create_cq(dev, cmd, res); break;
	case BRISK_NVME_OPC_CREATE_IO_SQ: fake_create_sq(dev, cmd, res); break;
	case BRISK_NVME_OPC_DELETE_IO_SQ: fake_delete_sq(dev, cmd, res); break;
	case BRISK_NVME_OPC_DELETE_IO_CQ: fake_delete_cq(dev, cmd, res); break;
	case BRISK_NVME_OPC_ABORT: fake_abort(dev, cmd, res); break;
	case BRISK_NVME_OPC_ASYNC_EVENT_REQUEST: fake_aer(dev, cmd, res); break;
	case BRISK_NVME_OPC_FORMAT_NVM: fake_format(dev, cmd, res); break;
	case BRISK_NVME_OPC_NS_MANAGEMENT: fake_ns_management(dev, cmd, res); break;
	case BRISK_NVME_OPC_NS_ATTACHMENT: fake_ns_attachment(dev, cmd, res); break;
	case BRISK_NVME_OPC_KEEP_ALIVE: break;
	default: res->sc = BRISK_NVME_SC_INVALID_OPCODE; break;
	}
}

/* ---- NVM I/O ---- */

static void fake_dsm(struct nvme_fake_dev *dev, struct fake_ns *ns,
		     const struct brisk_nvme_cmd *cmd, struct fake_result *res)
{
	/* Zeroed: scan-build cannot tell the transfer fills the n ranges read. */
	struct brisk_nvme_dsm_range ranges[BRISK_NVME_DSM_MAX_RANGES] = { 0 };
	uint32_t n = (cmd->cdw10 & 0xffu) + 1u, bs = fake_ns_block_size(ns);

	fake_transfer(dev, cmd, ranges, n * sizeof(ranges[0]), FAKE_FROM_HOST, res);
	for (uint32_t i = 0; res->sc == 0 && i < n; i++) {
		uint64_t end = (ranges[i].starting_lba + ranges[i].length) * bs;

		if (end > ns->bytes) {
			res->sc = BRISK_NVME_SC_LBA_OUT_OF_RANGE;
		} else if ((cmd->cdw11 & BRISK_NVME_DSM_ATTR_DEALLOCATE) && ns->ram != NULL) {
			memset(ns->ram + ranges[i].starting_lba * bs, 0, (size_t)ranges[i].length * bs);
		}
	}
}

static void fake_rw(struct nvme_fake_dev *dev, struct fake_ns *ns,
		    const struct brisk_nvme_cmd *cmd, struct fake_result *res)
{
	uint64_t slba = cmd->cdw10 | (uint64_t)cmd->cdw11 << 32;
	uint32_t nlb = (cmd->cdw12 & 0xffffu) + 1u, bs = fake_ns_block_size(ns);
	uint64_t len = (uint64_t)nlb * bs;
	uint8_t *ram;

	if ((slba + nlb) * bs > ns->bytes) {
		res->sc = BRISK_NVME_SC_LBA_OUT_OF_RANGE;
		return;
	}
	if (dev->params.mdts != 0 && cmd->opc != BRISK_NVME_OPC_WRITE_ZEROES &&
	    len > ((uint64_t)NVME_PAGE_SIZE << dev->params.mdts)) {
		res->sc = BRISK_NVME_SC_INVALID_FIELD;
		return;
	}
	if (ns->ram == NULL) {
		return; /* benchmark mode: no data */
	}
	ram = ns->ram + slba * bs;
	switch (cmd->opc) {
	case BRISK_NVME_OPC_READ: fake_transfer(dev, cmd, ram, (uint32_t)len, FAKE_TO_HOST, res); break;
	case BRISK_NVME_OPC_WRITE: fake_transfer(dev, cmd, ram, (uint32_t)len, FAKE_FROM_HOST, res); break;
	case BRISK_NVME_OPC_COMPARE: fake_transfer(dev, cmd, ram, (uint32_t)len, FAKE_COMPARE, res); break;
	case BRISK_NVME_OPC_WRITE_ZEROES: memset(ram, 0, len); break;
	default: break;
	}
}

static void fake_io(struct nvme_fake_dev *dev, const struct brisk_nvme_cmd *cmd,
		    struct fake_result *res)
{
	struct fake_ns *ns;

	if (cmd->nsid == 0 || cmd->nsid > NVME_FAKE_MAX_NS || !dev->ns[cmd->nsid - 1].active) {
		res->sc = BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT;
		return;
	}
	ns = &dev->ns[cmd->nsid - 1];
	switch (cmd->opc) {
	case BRISK_NVME_OPC_READ:
	case BRISK_NVME_OPC_WRITE:
	case BRISK_NVME_OPC_COMPARE:
	case BRISK_NVME_OPC_WRITE_ZEROES: fake_rw(dev, ns, cmd, res); break;
	case BRISK_NVME_OPC_DATASET_MANAGEMENT: fake_dsm(dev, ns, cmd, res); break;
	case BRISK_NVME_OPC_FLUSH: break;
	default: res->sc = BRISK_NVME_SC_INVALID_OPCODE; break;
	}
}

void fake_execute(struct nvme_fake_dev *dev, uint16_t qid, const struct brisk_nvme_cmd *cmd,
		  struct fake_result *res)
{
	if (qid == 0) {
		fake_admin(dev, cmd, res);
	} else {
		fake_io(dev, cmd, res);
	}
}
