/*
 * NVM command set I/O on a namespace: Read, Write (FUA through io_flags),
 * Compare, fused Compare-and-Write (FUSE flags in io_flags), Write Zeroes, Dataset Management, Flush, raw I/O passthrough.
 * A transfer larger than the controller's MDTS, or one crossing the
 * namespace's optimal I/O boundary, becomes a parent request with one child
 * per piece; the caller's callback runs once, when the last child is done,
 * with the first error any child met.
 */
#include <errno.h>
#include <string.h>

#include "nvme_internal.h"

#define NVME_IO_FLAGS_VALID (BRISK_NVME_IO_FLAGS_FUA | BRISK_NVME_IO_FLAGS_LIMITED_RETRY | \
			     BRISK_NVME_IO_FLAGS_FUSE_MASK)

/* One I/O as the caller described it. */
struct ns_io {
	uint8_t opc;
	uint8_t payload_type;
	void *buf;
	brisk_nvme_req_reset_sgl_cb reset_sgl_fn;
	brisk_nvme_req_next_sge_cb next_sge_fn;
	uint64_t lba;
	uint32_t lba_count;
	uint32_t io_flags;
	brisk_nvme_cmd_cb cb_fn;
	void *cb_arg;
};

static int ns_check(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair)
{
	if (ns == NULL || qpair == NULL || qpair->ctrlr != ns->ctrlr) {
		return -EINVAL;
	}
	if (nvme_ctrlr_is_failed(ns->ctrlr)) {
		return -ENXIO;
	}
	return ns->active ? 0 : -EINVAL;
}

static void ns_setup_request(struct nvme_request *req, struct brisk_nvme_ns *ns,
			     const struct ns_io *io, uint64_t lba, uint32_t count, uint32_t offset)
{
	req->cmd.opc = io->opc;
	req->cmd.nsid = ns->id;
	req->cmd.cdw10 = (uint32_t)lba;
	req->cmd.cdw11 = (uint32_t)(lba >> 32);
	req->cmd.fuse = io->io_flags & BRISK_NVME_IO_FLAGS_FUSE_MASK;
	req->cmd.cdw12 = (count - 1u) | (io->io_flags & ~BRISK_NVME_IO_FLAGS_FUSE_MASK);
	req->payload_type = io->payload_type;
	if (io->payload_type != NVME_PAYLOAD_NONE) {
		req->buf = io->buf;
		req->reset_sgl_fn = io->reset_sgl_fn;
		req->next_sge_fn = io->next_sge_fn;
		req->payload_offset = offset;
		req->payload_size = count * ns->extended_lba_size;
	}
}

/* Sectors the piece starting at lba may cover. */
static uint32_t ns_piece(const struct brisk_nvme_ns *ns, const struct ns_io *io, uint64_t lba,
			 uint32_t remaining)
{
	bool has_data = io->payload_type != NVME_PAYLOAD_NONE;
	uint32_t max = has_data ? ns->sectors_per_max_io : NVME_MAX_BLOCKS_PER_CMD;
	uint32_t n = remaining < max ? remaining : max;
	uint32_t boundary = has_data ? ns->optimal_io_boundary : 0;

	if (boundary != 0) {
		uint32_t to_boundary = boundary - (uint32_t)(lba % boundary);

		n = n < to_boundary ? n : to_boundary;
	}
	return n;
}

static void ns_free_list(struct nvme_request_list *list)
{
	struct nvme_request *req;

	while ((req = STAILQ_FIRST(list)) != NULL) {
		STAILQ_REMOVE_HEAD(list, link);
		nvme_request_free(req);
	}
}

/* All children are taken from the pool before any is submitted, so running
 * out of requests fails the whole I/O cleanly with -ENOMEM. */
static int ns_alloc_children(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			     const struct ns_io *io, struct nvme_request *parent,
			     struct nvme_request_list *children)
{
	uint64_t lba = io->lba;
	uint32_t remaining = io->lba_count;
	uint32_t offset = 0;

	while (remaining > 0) {
		uint32_t n = ns_piece(ns, io, lba, remaining);
		struct nvme_request *child = nvme_request_alloc(qpair, NULL, io->cb_arg);

		if (child == NULL) {
			ns_free_list(children);
			return -ENOMEM;
		}
		ns_setup_request(child, ns, io, lba, n, offset);
		child->parent = parent;
		parent->num_children++;
		STAILQ_INSERT_TAIL(children, child, link);
		lba += n;
		remaining -= n;
		offset += n * ns->extended_lba_size;
	}
	return 0;
}

static int ns_submit_split(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			   const struct ns_io *io)
{
	struct nvme_request_list children = STAILQ_HEAD_INITIALIZER(children);
	struct nvme_request *parent = nvme_request_alloc(qpair, io->cb_fn, io->cb_arg);
	struct nvme_request *child;
	int rc;

	if (parent == NULL) {
		return -ENOMEM;
	}
	memset(&parent->parent_cpl, 0, sizeof(parent->parent_cpl));
	rc = ns_alloc_children(ns, qpair, io, parent, &children);
	if (rc != 0) {
		nvme_request_free(parent);
		return rc;
	}
	/* From here the parent completes through its children, errors included. */
	while ((child = STAILQ_FIRST(&children)) != NULL) {
		STAILQ_REMOVE_HEAD(&children, link);
		rc = nvme_qpair_submit_request(qpair, child);
		if (rc != 0) {
			nvme_request_complete_with(child, BRISK_NVME_SCT_GENERIC,
						   rc == -ENXIO ? BRISK_NVME_SC_ABORTED_SQ_DELETION :
						   BRISK_NVME_SC_INVALID_FIELD, true);
		}
	}
	return 0;
}

/* A fused half must be a whole Compare (first) or Write (second) the
 * controller supports fusing: split pieces would no longer be one pair. */
static int ns_check_fuse(const struct brisk_nvme_ns *ns, const struct ns_io *io)
{
	uint32_t fuse = io->io_flags & BRISK_NVME_IO_FLAGS_FUSE_MASK;

	if (fuse == 0) {
		return 0;
	}
	if ((ns->ctrlr->cdata.fuses & 0x1) == 0) {
		return -ENOTSUP;
	}
	if ((fuse == BRISK_NVME_IO_FLAGS_FUSE_FIRST && io->opc != BRISK_NVME_OPC_COMPARE) ||
	    (fuse == BRISK_NVME_IO_FLAGS_FUSE_SECOND && io->opc != BRISK_NVME_OPC_WRITE) ||
	    fuse == BRISK_NVME_IO_FLAGS_FUSE_MASK ||
	    ns_piece(ns, io, io->lba, io->lba_count) < io->lba_count) {
		return -EINVAL;
	}
	return 0;
}

static int ns_submit_io(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			const struct ns_io *io)
{
	struct nvme_request *req;
	int rc = ns_check(ns, qpair);

	if (rc != 0) {
		return rc;
	}
	if (io->lba_count == 0 || (io->io_flags & ~NVME_IO_FLAGS_VALID) != 0 ||
	    (io->payload_type == NVME_PAYLOAD_CONTIG && io->buf == NULL)) {
		return -EINVAL;
	}
	rc = ns_check_fuse(ns, io);
	if (rc != 0) {
		return rc;
	}
	if (ns_piece(ns, io, io->lba, io->lba_count) < io->lba_count) {
		return ns_submit_split(ns, qpair, io);
	}
	req = nvme_request_alloc(qpair, io->cb_fn, io->cb_arg);
	if (req == NULL) {
		return -ENOMEM;
	}
	ns_setup_request(req, ns, io, io->lba, io->lba_count, 0);
	rc = nvme_qpair_submit_request(qpair, req);
	if (rc != 0) {
		nvme_request_free(req);
	}
	return rc;
}

static int ns_rw(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair, uint8_t opc, void *buf,
		 uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn, void *cb_arg,
		 uint32_t io_flags)
{
	struct ns_io io = {
		.opc = opc, .payload_type = NVME_PAYLOAD_CONTIG, .buf = buf, .lba = lba,
		.lba_count = lba_count, .io_flags = io_flags, .cb_fn = cb_fn, .cb_arg = cb_arg,
	};

	return ns_submit_io(ns, qpair, &io);
}

static int ns_rwv(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair, uint8_t opc,
		  uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn, void *cb_arg,
		  uint32_t io_flags, brisk_nvme_req_reset_sgl_cb reset_sgl_fn,
		  brisk_nvme_req_next_sge_cb next_sge_fn)
{
	struct ns_io io = {
		.opc = opc, .payload_type = NVME_PAYLOAD_SGL, .reset_sgl_fn = reset_sgl_fn,
		.next_sge_fn = next_sge_fn, .lba = lba, .lba_count = lba_count,
		.io_flags = io_flags, .cb_fn = cb_fn, .cb_arg = cb_arg,
	};

	if (reset_sgl_fn == NULL || next_sge_fn == NULL) {
		return -EINVAL;
	}
	return ns_submit_io(ns, qpair, &io);
}

int brisk_nvme_ns_cmd_read(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			   void *buf, uint64_t lba, uint32_t lba_count,
			   brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags)
{
	return ns_rw(ns, qpair, BRISK_NVME_OPC_READ, buf, lba, lba_count, cb_fn, cb_arg, io_flags);
}

int brisk_nvme_ns_cmd_write(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			    void *buf, uint64_t lba, uint32_t lba_count,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags)
{
	return ns_rw(ns, qpair, BRISK_NVME_OPC_WRITE, buf, lba, lba_count, cb_fn, cb_arg, io_flags);
}

int brisk_nvme_ns_cmd_compare(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			      void *buf, uint64_t lba, uint32_t lba_count,
			      brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags)
{
	if (ns != NULL && !brisk_nvme_ns_supports_compare(ns)) {
		return -ENOTSUP;
	}
	return ns_rw(ns, qpair, BRISK_NVME_OPC_COMPARE, buf, lba, lba_count, cb_fn, cb_arg, io_flags);
}

int brisk_nvme_ns_cmd_readv(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			    uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn, void *cb_arg,
			    uint32_t io_flags, brisk_nvme_req_reset_sgl_cb reset_sgl_fn,
			    brisk_nvme_req_next_sge_cb next_sge_fn)
{
	return ns_rwv(ns, qpair, BRISK_NVME_OPC_READ, lba, lba_count, cb_fn, cb_arg, io_flags,
		      reset_sgl_fn, next_sge_fn);
}

int brisk_nvme_ns_cmd_writev(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			     uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn, void *cb_arg,
			     uint32_t io_flags, brisk_nvme_req_reset_sgl_cb reset_sgl_fn,
			     brisk_nvme_req_next_sge_cb next_sge_fn)
{
	return ns_rwv(ns, qpair, BRISK_NVME_OPC_WRITE, lba, lba_count, cb_fn, cb_arg, io_flags,
		      reset_sgl_fn, next_sge_fn);
}

int brisk_nvme_ns_cmd_comparev(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			       uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn,
			       void *cb_arg, uint32_t io_flags,
			       brisk_nvme_req_reset_sgl_cb reset_sgl_fn,
			       brisk_nvme_req_next_sge_cb next_sge_fn)
{
	if (ns != NULL && !brisk_nvme_ns_supports_compare(ns)) {
		return -ENOTSUP;
	}
	return ns_rwv(ns, qpair, BRISK_NVME_OPC_COMPARE, lba, lba_count, cb_fn, cb_arg, io_flags,
		      reset_sgl_fn, next_sge_fn);
}

int brisk_nvme_ns_cmd_write_zeroes(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
				   uint64_t lba, uint32_t lba_count,
				   brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags)
{
	struct ns_io io = {
		.opc = BRISK_NVME_OPC_WRITE_ZEROES, .payload_type = NVME_PAYLOAD_NONE, .lba = lba,
		.lba_count = lba_count, .io_flags = io_flags, .cb_fn = cb_fn, .cb_arg = cb_arg,
	};

	if (ns != NULL && !brisk_nvme_ns_supports_write_zeroes(ns)) {
		return -ENOTSUP;
	}
	return ns_submit_io(ns, qpair, &io);
}

/* A request carrying no payload, or an inline one, for one command. */
static int ns_submit_simple(struct brisk_nvme_qpair *qpair, const struct brisk_nvme_cmd *cmd,
			    uint8_t payload_type, void *buf, uint32_t len,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct nvme_request *req = nvme_request_alloc(qpair, cb_fn, cb_arg);
	int rc;

	if (req == NULL) {
		return -ENOMEM;
	}
	req->cmd = *cmd;
	req->payload_type = len != 0 ? payload_type : NVME_PAYLOAD_NONE;
	req->buf = buf;
	req->payload_size = len;
	rc = nvme_qpair_submit_request(qpair, req);
	if (rc != 0) {
		nvme_request_free(req);
	}
	return rc;
}

int brisk_nvme_ns_cmd_dataset_management(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
					 uint32_t type, const struct brisk_nvme_dsm_range *ranges,
					 uint16_t num_ranges, brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_DATASET_MANAGEMENT };
	int rc = ns_check(ns, qpair);

	if (rc != 0) {
		return rc;
	}
	if (ranges == NULL || num_ranges == 0 || num_ranges > BRISK_NVME_DSM_MAX_RANGES) {
		return -EINVAL;
	}
	if (!brisk_nvme_ns_supports_dsm(ns)) {
		return -ENOTSUP;
	}
	cmd.nsid = ns->id;
	cmd.cdw10 = num_ranges - 1u;
	cmd.cdw11 = type;
	return ns_submit_simple(qpair, &cmd, NVME_PAYLOAD_INLINE, (void *)ranges,
				num_ranges * (uint32_t)sizeof(*ranges), cb_fn, cb_arg);
}

int brisk_nvme_ns_cmd_flush(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_FLUSH };
	int rc = ns_check(ns, qpair);

	if (rc != 0) {
		return rc;
	}
	cmd.nsid = ns->id;
	return ns_submit_simple(qpair, &cmd, NVME_PAYLOAD_NONE, NULL, 0, cb_fn, cb_arg);
}

int brisk_nvme_ctrlr_cmd_io_raw(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
				struct brisk_nvme_cmd *cmd, void *buf, uint32_t len,
				brisk_nvme_cmd_cb cb_fn, void *cb_arg)
{
	if (ctrlr == NULL || qpair == NULL || cmd == NULL || qpair->ctrlr != ctrlr ||
	    (len != 0 && buf == NULL) || len > ctrlr->max_xfer_size) {
		return -EINVAL;
	}
	if (nvme_ctrlr_is_failed(ctrlr)) {
		return -ENXIO;
	}
	return ns_submit_simple(qpair, cmd, NVME_PAYLOAD_CONTIG, buf, len, cb_fn, cb_arg);
}
