/*
 * PRP lists (NVMe Base 4.3): PRP1 may start anywhere dword aligned in a
 * page; every later entry starts a page, and every entry but the last ends
 * one. Two entries fit in the command; more go in the tracker's list page
 * (up to 512 entries, so 2 MiB a command). A payload whose segments break
 * these rules is refused with -EINVAL (the caller may use an SGL instead).
 */
#include <string.h>

#include <brisk/env.h>

#include "nvme_internal.h"
#include "payload.h"

struct prp_state {
	uint64_t *list;
	uint32_t n;            /* entries so far, PRP1 included */
	uint64_t prp1;
	bool ends_page;        /* the previous entry ended at a page boundary */
};

/* One page-bounded chunk at iova of len bytes. */
static int prp_add(struct prp_state *st, uint64_t iova, uint32_t len)
{
	if (st->n == 0) {
		if (iova & 3u) {
			BRISK_ERRLOG("nvme: PRP data must be dword aligned (0x%llx)\n",
				     (unsigned long long)iova);
			return -EINVAL;
		}
		st->prp1 = iova;
	} else {
		if ((iova & NVME_PAGE_MASK) != 0 || !st->ends_page) {
			return -EINVAL; /* a hole inside the transfer: not describable by PRPs */
		}
		if (st->n - 1 >= NVME_MAX_PRP_LIST_ENTRIES) {
			BRISK_ERRLOG("nvme: transfer needs more than %zu PRP entries\n",
				     NVME_MAX_PRP_LIST_ENTRIES);
			return -EINVAL;
		}
		st->list[st->n - 1] = iova;
	}
	st->ends_page = ((iova + len) & NVME_PAGE_MASK) == 0;
	st->n++;
	return 0;
}

/* A virtually contiguous segment: translated once per physically contiguous run. */
static int prp_add_segment(struct brisk_nvme_ctrlr *ctrlr, struct prp_state *st, uint8_t *va,
			   uint32_t len)
{
	while (len > 0) {
		uint64_t run = len;
		uint64_t iova = nvme_vtophys(ctrlr, va, &run);

		if (iova == BRISK_VTOPHYS_ERROR || run == 0) {
			BRISK_ERRLOG("nvme: buffer %p is not DMA memory\n", (void *)va);
			return -EFAULT;
		}
		if (run > len) {
			run = len;
		}
		while (run > 0) {
			uint32_t chunk = NVME_PAGE_SIZE - (uint32_t)(iova & NVME_PAGE_MASK);
			int rc;

			chunk = chunk < run ? chunk : (uint32_t)run;
			rc = prp_add(st, iova, chunk);
			if (rc != 0) {
				return rc;
			}
			iova += chunk;
			va += chunk;
			run -= chunk;
			len -= chunk;
		}
	}
	return 0;
}

/* The common case: one buffer whose pages are contiguous for DMA, so every
 * entry follows from the first translation. -EAGAIN when it is not. */
static int prp_build_contig(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr)
{
	struct nvme_request *req = tr->req;
	uint8_t *va = (uint8_t *)req->buf + req->payload_offset;
	uint64_t len = req->payload_size, run = len;
	uint64_t iova = nvme_vtophys(qpair->ctrlr, va, &run);
	uint64_t *list = tr->list;
	uint32_t first;

	if (iova == BRISK_VTOPHYS_ERROR || run < len) {
		return -EAGAIN;
	}
	if (iova & 3u) {
		BRISK_ERRLOG("nvme: PRP data must be dword aligned (0x%llx)\n", (unsigned long long)iova);
		return -EINVAL;
	}
	first = NVME_PAGE_SIZE - (uint32_t)(iova & NVME_PAGE_MASK);
	req->cmd.psdt = BRISK_NVME_PSDT_PRP;
	req->cmd.dptr.prp.prp1 = iova;
	if (len <= first) {
		req->cmd.dptr.prp.prp2 = 0;
	} else if (len <= first + NVME_PAGE_SIZE) {
		req->cmd.dptr.prp.prp2 = iova + first;
	} else {
		uint32_t n = (uint32_t)((len - first + NVME_PAGE_MASK) / NVME_PAGE_SIZE);

		if (n > NVME_MAX_PRP_LIST_ENTRIES) {
			return -EAGAIN; /* the general path says why */
		}
		for (uint32_t i = 0; i < n; i++) {
			list[i] = iova + first + (uint64_t)i * NVME_PAGE_SIZE;
		}
		req->cmd.dptr.prp.prp2 = tr->list_iova;
	}
	return 0;
}

int nvme_build_prps(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr)
{
	struct nvme_request *req = tr->req;
	struct prp_state st = { .list = tr->list, .n = 0, .ends_page = true };
	struct nvme_payload_iter it;
	uint8_t *va;
	uint32_t len;
	int rc;

	if (req->payload_type == NVME_PAYLOAD_CONTIG) {
		rc = prp_build_contig(qpair, tr);
		if (rc != -EAGAIN) {
			return rc;
		}
	}
	nvme_payload_iter_init(&it, req);
	while ((rc = nvme_payload_next(&it, &va, &len)) > 0) {
		rc = prp_add_segment(qpair->ctrlr, &st, va, len);
		if (rc != 0) {
			return rc;
		}
	}
	if (rc < 0) {
		return rc;
	}
	req->cmd.psdt = BRISK_NVME_PSDT_PRP;
	req->cmd.dptr.prp.prp1 = st.prp1;
	if (st.n <= 1) {
		req->cmd.dptr.prp.prp2 = 0;
	} else if (st.n == 2) {
		req->cmd.dptr.prp.prp2 = st.list[0];
	} else {
		req->cmd.dptr.prp.prp2 = tr->list_iova;
	}
	return 0;
}

int nvme_build_data_pointer(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr)
{
	struct nvme_request *req = tr->req;
	int rc;

	if (req->payload_size == 0) {
		return 0;
	}
	if (req->payload_type == NVME_PAYLOAD_INLINE) {
		memcpy(tr->list, req->buf, req->payload_size);
		req->cmd.psdt = BRISK_NVME_PSDT_PRP;
		req->cmd.dptr.prp.prp1 = tr->list_iova;
		req->cmd.dptr.prp.prp2 = 0;
		return 0;
	}
	rc = nvme_build_prps(qpair, tr);
	if (rc == -EINVAL && req->payload_type == NVME_PAYLOAD_SGL) {
		if (!qpair->ctrlr->sgl_supported) {
			BRISK_ERRLOG("nvme: segments not page aligned need SGLs, which the controller lacks\n");
			return -EINVAL;
		}
		rc = nvme_build_sgl(qpair, tr);
	}
	return rc;
}
