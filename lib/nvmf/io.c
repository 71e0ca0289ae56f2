/*
 * NVM I/O commands on a namespace's bdev: Read, Write, Compare, Write
 * Zeroes, Flush and Dataset Management (deallocate ranges, one unmap after
 * the other). Each I/O connection gets its I/O channel of a namespace on
 * first use. A bdev out of brisk_bdev_io objects queues the command
 * (brisk_bdev_queue_io_wait) instead of failing it; bdev errors come back
 * as the NVMe status the bdev layer gives. Writes hold their LBA range
 * (range_lock.c) while in flight, for fused Compare-and-Write (fused.c).
 * Reads go zero-copy where the bdev lends its buffers (zcopy.c).
 * Reservation commands go to reservation_cmd.c, and every other command is
 * checked against the namespace's reservation first.
 */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "nvmf_internal.h"

static void io_submit(struct nvmf_req *req);

/* Every command counted in conn->outstanding (from nvmf_io_cmd) ends here. */
static void io_done(struct nvmf_req *req, int sct, int sc)
{
	if (req->ns != NULL) {
		nvmf_range_release(req->ns, req);
	}
	req->conn->outstanding--;
	nvmf_req_set_status(req, sct, sc);
	nvmf_req_complete(req);
}

static void io_complete_cb(struct brisk_bdev_io *bdev_io, bool success, void *arg);

static void io_retry(void *arg)
{
	io_submit(arg);
}

/* Starting LBA and block count of a read/write/compare/write zeroes. */
static int io_range(struct nvmf_req *req, uint64_t *slba, uint32_t *nlb)
{
	uint64_t blocks = brisk_bdev_get_num_blocks(req->ns->bdev);

	*slba = req->cmd.cdw10 | ((uint64_t)req->cmd.cdw11 << 32);
	*nlb = (req->cmd.cdw12 & 0xffff) + 1;
	if (*slba >= blocks || *nlb > blocks - *slba) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_LBA_OUT_OF_RANGE);
		return -1;
	}
	return 0;
}

static int io_rw(struct nvmf_req *req, struct brisk_io_channel *ch)
{
	struct brisk_bdev_desc *d = req->ns->desc;
	uint64_t slba, bytes;
	uint32_t nlb;
	bool is_read = req->cmd.opc == BRISK_NVME_OPC_READ;

	if (io_range(req, &slba, &nlb) != 0) {
		return 0;
	}
	bytes = (uint64_t)nlb * brisk_bdev_get_block_size(req->ns->bdev);
	if (bytes > req->length || req->c2h != is_read) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID);
		return 0;
	}
	req->length = (uint32_t)bytes;
	switch (req->cmd.opc) {
	case BRISK_NVME_OPC_READ:
		if (nvmf_zcopy_read(req, ch, slba, nlb)) {
			return 0;
		}
		return brisk_bdev_read_blocks(d, ch, req->buf, slba, nlb, io_complete_cb, req);
	case BRISK_NVME_OPC_WRITE:
		return brisk_bdev_write_blocks(d, ch, req->buf, slba, nlb, io_complete_cb, req);
	default:
		return brisk_bdev_compare_blocks(d, ch, req->buf, slba, nlb, io_complete_cb, req);
	}
}

static int io_write_zeroes(struct nvmf_req *req, struct brisk_io_channel *ch)
{
	uint64_t slba;
	uint32_t nlb;

	if (io_range(req, &slba, &nlb) != 0) {
		return 0;
	}
	return brisk_bdev_write_zeroes_blocks(req->ns->desc, ch, slba, nlb, io_complete_cb, req);
}

static int io_flush(struct nvmf_req *req, struct brisk_io_channel *ch)
{
	if (!brisk_bdev_io_type_supported(req->ns->bdev, BRISK_BDEV_IO_TYPE_FLUSH)) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS); /* nothing is cached */
		return 0;
	}
	return brisk_bdev_flush_blocks(req->ns->desc, ch, 0, brisk_bdev_get_num_blocks(req->ns->bdev),
				       io_complete_cb, req);
}

/* The next deallocate range, or completion after the last one. */
static int io_dsm(struct nvmf_req *req, struct brisk_io_channel *ch)
{
	uint32_t nr = (req->cmd.cdw10 & 0xff) + 1;
	const struct brisk_nvme_dsm_range *r = (const void *)req->buf;
	uint64_t blocks = brisk_bdev_get_num_blocks(req->ns->bdev);

	if (req->c2h || req->length < nr * sizeof(*r)) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID);
		return 0;
	}
	while (req->dsm_next < nr && r[req->dsm_next].length == 0) {
		req->dsm_next++;
	}
	if (!(req->cmd.cdw11 & BRISK_NVME_DSM_ATTR_DEALLOCATE) || req->dsm_next >= nr ||
	    !brisk_bdev_io_type_supported(req->ns->bdev, BRISK_BDEV_IO_TYPE_UNMAP)) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS); /* deallocation is advisory */
		return 0;
	}
	r += req->dsm_next;
	if (r->starting_lba >= blocks || r->length > blocks - r->starting_lba) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_LBA_OUT_OF_RANGE);
		return 0;
	}
	return brisk_bdev_unmap_blocks(req->ns->desc, ch, r->starting_lba, r->length, io_complete_cb, req);
}

static int io_start(struct nvmf_req *req, struct brisk_io_channel *ch)
{
	switch (req->cmd.opc) {
	case BRISK_NVME_OPC_READ:
	case BRISK_NVME_OPC_WRITE:
	case BRISK_NVME_OPC_COMPARE:
		return io_rw(req, ch);
	case BRISK_NVME_OPC_WRITE_ZEROES:
		return io_write_zeroes(req, ch);
	case BRISK_NVME_OPC_FLUSH:
		return io_flush(req, ch);
	case BRISK_NVME_OPC_DATASET_MANAGEMENT:
		return io_dsm(req, ch);
	default:
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_OPCODE);
		return 0;
	}
}

/* Writes hold their LBA range (DSM: the whole namespace) so that a fused
 * Compare-and-Write overlapping them waits; false when the write waits. */
static bool io_range_ready(struct nvmf_req *req)
{
	uint64_t slba = req->cmd.cdw10 | ((uint64_t)req->cmd.cdw11 << 32);
	uint64_t nlb = (req->cmd.cdw12 & 0xffff) + 1;

	switch (req->cmd.opc) {
	case BRISK_NVME_OPC_DATASET_MANAGEMENT:
		slba = 0;
		nlb = UINT64_MAX;
		break;
	case BRISK_NVME_OPC_WRITE:
	case BRISK_NVME_OPC_WRITE_ZEROES:
		break;
	default:
		return true;
	}
	if (req->range_held || nvmf_range_try_write(req->ns, req, slba, nlb)) {
		return true;
	}
	nvmf_range_defer(req);
	return false;
}

/* A read's zero-copy start finished (zcopy.c): its data is ready to send,
 * or the read runs again the copying way. */
void nvmf_io_zcopy_started(struct nvmf_req *req, bool ok)
{
	if (ok) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS);
		return;
	}
	req->zc_skip = true;
	io_submit(req);
}

void nvmf_io_resume(struct nvmf_req *req)
{
	if (!req->conn->dead && !nvmf_range_ns_current(req)) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	io_submit(req);
}

/* Submits (or resubmits after -ENOMEM); started/finished I/O counted in
 * conn->outstanding so the connection outlives it. */
static void io_submit(struct nvmf_req *req)
{
	struct nvmf_conn *c = req->conn;
	struct brisk_io_channel *ch = nvmf_io_channel(c, req->ns);
	int rc;

	if (c->dead || ch == NULL || c->ns_ch == NULL) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_SQ_DELETION);
		return;
	}
	if (!io_range_ready(req)) {
		return;
	}
	rc = io_start(req, ch); /* 0: submitted, or already completed */
	if (rc == -ENOMEM) {
		req->wait.bdev = req->ns->bdev;
		req->wait.cb_fn = io_retry;
		req->wait.cb_arg = req;
		rc = brisk_bdev_queue_io_wait(req->ns->bdev, ch, &req->wait);
	}
	if (rc != 0) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INTERNAL_DEVICE_ERROR);
	}
}

static void io_complete_cb(struct brisk_bdev_io *bdev_io, bool success, void *arg)
{
	struct nvmf_req *req = arg;
	uint32_t cdw0 = 0;
	int sct = BRISK_NVME_SCT_GENERIC, sc = BRISK_NVME_SC_SUCCESS;

	if (!success) {
		brisk_bdev_io_get_nvme_status(bdev_io, &cdw0, &sct, &sc);
	}
	brisk_bdev_free_io(bdev_io);
	if (success && req->cmd.opc == BRISK_NVME_OPC_DATASET_MANAGEMENT) {
		req->dsm_next++;
		io_submit(req);
		return;
	}
	io_done(req, sct, sc);
}

void nvmf_io_cmd(struct nvmf_req *req)
{
	struct nvmf_conn *c = req->conn;
	uint8_t sc;

	c->outstanding++;
	req->ns = nvmf_subsystem_get_ns(c->ctrlr->subsys, req->cmd.nsid);
	nvmf_ns_io_hold(req);
	req->dsm_next = 0;
	req->range_held = false;
	req->zc_skip = false;
	if (req->ns == NULL) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	if ((sc = nvmf_ana_io_status(req)) != 0) {
		io_done(req, BRISK_NVME_SCT_PATH, sc);
		return;
	}
	if (nvmf_resv_is_cmd(req->cmd.opc)) {
		io_done(req, BRISK_NVME_SCT_GENERIC, nvmf_resv_cmd(req));
		return;
	}
	if (!nvmf_resv_io_ok(req->ns, req)) {
		io_done(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_RESERVATION_CONFLICT);
		return;
	}
	io_submit(req);
}
