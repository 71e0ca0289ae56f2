/*
 * Identify data the target reports: Identify Controller (NVM and discovery
 * controllers, with the fabrics fields a TCP host needs), Identify
 * Namespace from the bdev, the active namespace list and the namespace
 * identification descriptors (NGUID, UUID).
 */
#include <string.h>

#include <brisk/string.h>

#include "nvmf_internal.h"

#define NVMF_FIRMWARE_REV "1.0"

static uint8_t ilog2_u32(uint32_t v)
{
	uint8_t r = 0;

	while (v > 1) {
		v >>= 1;
		r++;
	}
	return r;
}

static void fill_fabrics(struct brisk_nvme_ctrlr_data *cd)
{
	struct brisk_nvmf_ctrlr_fabrics_data *f = (void *)cd->nvmf;
	const struct brisk_nvmf_transport_opts *o = &g_nvmf_tgt.tcp->opts;

	f->ioccsz = (sizeof(struct brisk_nvme_cmd) + o->in_capsule_data_size) / 16;
	f->iorcsz = sizeof(struct brisk_nvme_cpl) / 16;
	f->icdoff = 0;
	f->msdbd = 1;
}

void nvmf_ctrlr_fill_identify(const struct nvmf_ctrlr *c, struct brisk_nvme_ctrlr_data *cd)
{
	const struct nvmf_subsystem *s = c->subsys;
	const struct brisk_nvmf_transport_opts *o = &g_nvmf_tgt.tcp->opts;
	bool disc = s->subtype == BRISK_NVMF_SUBTYPE_DISCOVERY;

	memset(cd, 0, sizeof(*cd));
	brisk_strcpy_pad(cd->sn, s->sn, sizeof(cd->sn), ' ');
	brisk_strcpy_pad(cd->mn, s->mn, sizeof(cd->mn), ' ');
	brisk_strcpy_pad(cd->fr, NVMF_FIRMWARE_REV, sizeof(cd->fr), ' ');
	cd->rab = 6;
	cd->mdts = ilog2_u32(o->max_io_size / 4096);
	cd->cntlid = c->cntlid;
	cd->ver = c->vs;
	cd->oaes = disc ? BRISK_NVME_OAES_DISCOVERY_LOG_CHANGE : BRISK_NVME_OAES_NS_ATTR;
	cd->cntrltype = disc ? BRISK_NVME_CNTRLTYPE_DISCOVERY : BRISK_NVME_CNTRLTYPE_IO;
	cd->acl = 3;
	cd->aerl = NVMF_MAX_AER - 1;
	cd->frmw = 0x3; /* one slot, read-only */
	cd->lpa = 0x4;  /* extended Get Log Page data */
	cd->kas = 10;   /* 1 s granularity */
	cd->sqes = 0x66;
	cd->cqes = 0x44;
	cd->maxcmd = o->max_queue_depth;
	cd->nn = s->max_nsid;
	cd->oncs = disc ? 0
			: BRISK_NVME_ONCS_COMPARE | BRISK_NVME_ONCS_DSM | BRISK_NVME_ONCS_WRITE_ZEROES |
				   BRISK_NVME_ONCS_RESERVATIONS;
	cd->vwc = disc ? 0 : 1;
	cd->fuses = disc ? 0 : 0x1; /* Compare and Write (fused.c) */
	cd->sgls = 0x1 | (1u << 20); /* SGLs without alignment rule; offsets in data block descriptors */
	cd->psd[0].mp = 100;
	snprintf(cd->subnqn, sizeof(cd->subnqn), "%s", s->nqn);
	fill_fabrics(cd);
	nvmf_ana_fill_identify(s, cd);
}

void nvmf_ctrlr_fill_identify_ns(const struct nvmf_ns *ns, struct brisk_nvme_ns_data *nd)
{
	uint64_t blocks = brisk_bdev_get_num_blocks(ns->bdev);

	memset(nd, 0, sizeof(*nd));
	nd->nsze = blocks;
	nd->ncap = blocks;
	nd->nuse = blocks;
	nd->nlbaf = 0;
	nd->flbas = 0;
	nd->lbaf[0].lbads = ilog2_u32(brisk_bdev_get_block_size(ns->bdev));
	nd->noiob = (uint16_t)brisk_bdev_get_optimal_io_boundary(ns->bdev);
	memcpy(nd->nguid, ns->nguid, sizeof(nd->nguid));
	nd->rescap = nvmf_resv_rescap(&ns->resv);
	if (ns->subsys->ana_reporting) {
		nd->nmic = 1; /* shared: reachable through several controllers */
		nd->anagrpid = ns->anagrpid;
	}
}

static uint32_t put_desc(uint8_t *buf, uint32_t off, uint32_t len, uint8_t type, const void *id, uint8_t idlen)
{
	if (off + 4 + idlen > len) {
		return off;
	}
	buf[off] = type;
	buf[off + 1] = idlen;
	memcpy(buf + off + 4, id, idlen);
	return off + 4 + idlen;
}

uint32_t nvmf_ctrlr_fill_ns_descs(const struct nvmf_ns *ns, uint8_t *buf, uint32_t len)
{
	uint32_t off = 0;

	memset(buf, 0, len);
	off = put_desc(buf, off, len, BRISK_NVME_NIDT_NGUID, ns->nguid, 16);
	if (!brisk_uuid_is_null(&ns->uuid)) {
		off = put_desc(buf, off, len, BRISK_NVME_NIDT_UUID, ns->uuid.u, 16);
	}
	return off;
}
