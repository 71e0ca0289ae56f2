/*
 * Scatter/gather lists (NVMe Base 4.4) for payloads PRPs cannot describe,
 * on controllers that support them (SGLS): one data block descriptor in the
 * command, or a last-segment descriptor pointing at up to 256 data block
 * descriptors in the tracker's page. A segment is cut where its physical
 * memory stops being contiguous.
 */
#include <string.h>

#include <brisk/env.h>

#include "nvme_internal.h"
#include "payload.h"

static void sgl_set(struct brisk_nvme_sgl_descriptor *d, uint64_t addr, uint32_t len, uint8_t type)
{
	d->address = addr;
	d->length = len;
	memset(d->reserved, 0, sizeof(d->reserved));
	d->type_subtype = (uint8_t)(type << 4 | BRISK_NVME_SGL_SUBTYPE_ADDRESS);
}

static int sgl_add_segment(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_sgl_descriptor *list,
			   uint32_t *n, uint8_t *va, uint32_t len)
{
	while (len > 0) {
		uint64_t run = len;
		uint64_t iova = nvme_vtophys(ctrlr, va, &run);

		if (iova == BRISK_VTOPHYS_ERROR || run == 0) {
			BRISK_ERRLOG("nvme: buffer %p is not DMA memory\n", (void *)va);
			return -EFAULT;
		}
		run = run < len ? run : len;
		if (ctrlr->sgl_dword_aligned && ((iova | run) & 3u) != 0) {
			BRISK_ERRLOG("nvme: the controller's SGLs need dword-aligned segments\n");
			return -EINVAL;
		}
		if (*n == NVME_MAX_SGL_DESCRIPTORS) {
			BRISK_ERRLOG("nvme: transfer needs more than %zu SGL descriptors\n",
				     NVME_MAX_SGL_DESCRIPTORS);
			return -EINVAL;
		}
		sgl_set(&list[(*n)++], iova, (uint32_t)run, BRISK_NVME_SGL_TYPE_DATA_BLOCK);
		va += run;
		len -= (uint32_t)run;
	}
	return 0;
}

int nvme_build_sgl(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr)
{
	struct nvme_request *req = tr->req;
	struct brisk_nvme_sgl_descriptor *list = tr->list;
	struct nvme_payload_iter it;
	uint32_t n = 0;
	uint8_t *va;
	uint32_t len;
	int rc;

	nvme_payload_iter_init(&it, req);
	while ((rc = nvme_payload_next(&it, &va, &len)) > 0) {
		rc = sgl_add_segment(qpair->ctrlr, list, &n, va, len);
		if (rc != 0) {
			return rc;
		}
	}
	if (rc < 0) {
		return rc;
	}
	req->cmd.psdt = BRISK_NVME_PSDT_SGL_MPTR_CONTIG;
	if (n == 1) {
		req->cmd.dptr.sgl1 = list[0];
	} else {
		sgl_set(&req->cmd.dptr.sgl1, tr->list_iova, n * (uint32_t)sizeof(*list),
			BRISK_NVME_SGL_TYPE_LAST_SEGMENT);
	}
	return 0;
}
