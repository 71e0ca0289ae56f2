/*
 * Walking a request's payload as (address, length) segments: the single
 * buffer of a contiguous request, or the caller's scatter/gather callbacks
 * starting at the request's byte offset. Shared by the PRP and SGL builders.
 */
#ifndef BRISK_NVME_PAYLOAD_H
#define BRISK_NVME_PAYLOAD_H

#include <errno.h>

#include "nvme_internal.h"

struct nvme_payload_iter {
	struct nvme_request *req;
	uint32_t remaining;
	bool started;
};

static inline void nvme_payload_iter_init(struct nvme_payload_iter *it, struct nvme_request *req)
{
	it->req = req;
	it->remaining = req->payload_size;
	it->started = false;
	if (req->payload_type == NVME_PAYLOAD_SGL) {
		req->reset_sgl_fn(req->cb_arg, req->payload_offset);
	}
}

/* 1 and the next segment, 0 at the end, -EINVAL when the caller's list
 * ends early or fails. */
static inline int nvme_payload_next(struct nvme_payload_iter *it, uint8_t **va, uint32_t *len)
{
	struct nvme_request *req = it->req;
	void *addr;
	uint32_t seg_len;

	if (it->remaining == 0) {
		return 0;
	}
	if (req->payload_type == NVME_PAYLOAD_CONTIG) {
		*va = (uint8_t *)req->buf + req->payload_offset;
		*len = it->remaining;
		it->remaining = 0;
		return 1;
	}
	if (req->next_sge_fn(req->cb_arg, &addr, &seg_len) != 0 || seg_len == 0) {
		BRISK_ERRLOG("nvme: scatter/gather list ends %u bytes early\n", it->remaining);
		return -EINVAL;
	}
	*va = addr;
	*len = seg_len < it->remaining ? seg_len : it->remaining;
	it->remaining -= *len;
	return 1;
}

#endif
