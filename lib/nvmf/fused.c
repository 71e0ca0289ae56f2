/*
 * Fused Compare-and-Write: a Compare with FUSE "first" immediately followed
 * on the same queue by a Write with FUSE "second", same namespace and LBA
 * range. The halves are paired in capsule arrival order (their data may
 * arrive in either order, an R2T for one and in-capsule data for the
 * other); the pair runs once both have their data: lock the LBA range
 * against other writes (range_lock.c), compare, write if equal, release.
 * A miscompare fails the first with Compare Failure and aborts the second
 * (Aborted due to Failed Fused Command); a half whose partner never came
 * is aborted with Missing Fused Command.
 */
#include <errno.h>

#include "nvmf_internal.h"

enum caw_step {
	CAW_LOCK,
	CAW_COMPARE,
	CAW_WRITE,
};

static void fused_fail(struct nvmf_req *req, int sct, int sc)
{
	nvmf_req_set_status(req, sct, sc);
	nvmf_req_complete(req);
}

/* Pairs by arrival: only the command right after a "first" may be its
 * "second". A "first" already waiting for its partner is aborted now. */
void nvmf_fused_on_capsule(struct nvmf_conn *c, struct nvmf_req *req)
{
	struct nvmf_req *first = c->fused_first;

	req->fused_partner = NULL;
	req->fused_ready = false;
	req->fused_abort_sc = 0;
	req->fused_running = false;
	req->range_held = false;
	c->fused_first = NULL;
	if (first != NULL && req->cmd.fuse == BRISK_NVME_FUSE_SECOND) {
		first->fused_partner = req;
		req->fused_partner = first;
	} else if (first != NULL) {
		first->fused_abort_sc = BRISK_NVME_SC_ABORTED_MISSING_FUSED;
		if (first->fused_ready) {
			fused_fail(first, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_MISSING_FUSED);
		}
	} else if (req->cmd.fuse == BRISK_NVME_FUSE_SECOND) {
		req->fused_abort_sc = BRISK_NVME_SC_ABORTED_MISSING_FUSED;
	}
	if (req->cmd.fuse == BRISK_NVME_FUSE_FIRST) {
		c->fused_first = req;
	}
}

/* Every completed request passes here: a half that ends alone (an error
 * before the pair ran) takes its partner down with it. */
void nvmf_fused_req_done(struct nvmf_req *req)
{
	struct nvmf_req *p = req->fused_partner;

	if (req->conn->fused_first == req) {
		req->conn->fused_first = NULL;
	}
	if (p == NULL) {
		return;
	}
	req->fused_partner = NULL;
	p->fused_partner = NULL;
	p->fused_abort_sc = BRISK_NVME_SC_ABORTED_FAILED_FUSED;
	if (p->fused_ready) {
		fused_fail(p, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_FAILED_FUSED);
	}
}

/* Ends a running pair with the status of each half. */
static void caw_finish(struct nvmf_req *first, int sct, int sc, int sct2, int sc2)
{
	struct nvmf_req *second = first->fused_partner;

	nvmf_range_release(first->ns, first);
	first->fused_running = second->fused_running = false;
	first->fused_partner = second->fused_partner = NULL;
	first->conn->outstanding -= 2;
	fused_fail(first, sct, sc);
	fused_fail(second, sct2, sc2);
}

static void caw_abort(struct nvmf_req *first, int sct, int sc)
{
	caw_finish(first, sct, sc, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_FAILED_FUSED);
}

static void caw_write_done(struct brisk_bdev_io *bdev_io, bool success, void *arg)
{
	struct nvmf_req *first = arg;
	uint32_t cdw0 = 0;
	int sct = BRISK_NVME_SCT_GENERIC, sc = BRISK_NVME_SC_SUCCESS;

	if (!success) {
		brisk_bdev_io_get_nvme_status(bdev_io, &cdw0, &sct, &sc);
	}
	brisk_bdev_free_io(bdev_io);
	caw_finish(first, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_SUCCESS, sct, sc);
}

static void caw_compare_done(struct brisk_bdev_io *bdev_io, bool success, void *arg)
{
	struct nvmf_req *first = arg;
	uint32_t cdw0 = 0;
	int sct = BRISK_NVME_SCT_GENERIC, sc = BRISK_NVME_SC_SUCCESS;

	if (!success) {
		brisk_bdev_io_get_nvme_status(bdev_io, &cdw0, &sct, &sc);
	}
	brisk_bdev_free_io(bdev_io);
	if (!success) {
		caw_abort(first, sct, sc); /* a miscompare comes back as Compare Failure */
		return;
	}
	first->fused_step = CAW_WRITE;
	nvmf_fused_resume(first);
}

static void caw_range(const struct nvmf_req *req, uint64_t *slba, uint32_t *nlb)
{
	*slba = req->cmd.cdw10 | ((uint64_t)req->cmd.cdw11 << 32);
	*nlb = (req->cmd.cdw12 & 0xffff) + 1;
}

/* Runs (or reruns after waiting for the range or for a bdev_io) the pair's
 * current step. */
void nvmf_fused_resume(struct nvmf_req *first)
{
	struct nvmf_req *second = first->fused_partner;
	struct brisk_io_channel *ch;
	uint64_t slba;
	uint32_t nlb;
	int rc = 0;

	if (first->conn->dead) {
		caw_abort(first, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_SQ_DELETION);
		return;
	}
	ch = nvmf_range_ns_current(first) ? nvmf_io_channel(first->conn, first->ns) : NULL;
	if (ch == NULL) {
		caw_abort(first, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	caw_range(first, &slba, &nlb);
	switch (first->fused_step) {
	case CAW_LOCK:
		if (!nvmf_range_try_caw(first->ns, first, slba, nlb)) {
			nvmf_range_defer(first);
			return;
		}
		first->fused_step = CAW_COMPARE;
	/* fallthrough */
	case CAW_COMPARE:
		rc = brisk_bdev_compare_blocks(first->ns->desc, ch, first->buf, slba, nlb, caw_compare_done, first);
		break;
	default:
		rc = brisk_bdev_write_blocks(first->ns->desc, ch, second->buf, slba, nlb, caw_write_done, first);
		break;
	}
	if (rc == -ENOMEM) {
		nvmf_range_defer(first); /* out of bdev_io: try again on the next poll */
	} else if (rc != 0) {
		caw_abort(first, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INTERNAL_DEVICE_ERROR);
	}
}

/* Status for a pair whose commands do not make a valid Compare-and-Write. */
static int caw_check(struct nvmf_req *first, struct nvmf_req *second)
{
	uint64_t slba, blocks = brisk_bdev_get_num_blocks(first->ns->bdev);
	uint32_t nlb;
	uint64_t bytes;

	caw_range(first, &slba, &nlb);
	bytes = (uint64_t)nlb * brisk_bdev_get_block_size(first->ns->bdev);
	if (first->cmd.opc != BRISK_NVME_OPC_COMPARE || second->cmd.opc != BRISK_NVME_OPC_WRITE ||
	    first->cmd.nsid != second->cmd.nsid || first->cmd.cdw10 != second->cmd.cdw10 ||
	    first->cmd.cdw11 != second->cmd.cdw11 || (first->cmd.cdw12 & 0xffff) != (second->cmd.cdw12 & 0xffff)) {
		return BRISK_NVME_SC_INVALID_FIELD;
	}
	if (slba >= blocks || nlb > blocks - slba) {
		return BRISK_NVME_SC_LBA_OUT_OF_RANGE;
	}
	if (first->c2h || second->c2h || bytes > first->length || bytes > second->length) {
		return BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID;
	}
	return BRISK_NVME_SC_SUCCESS;
}

static void caw_start(struct nvmf_req *first, struct nvmf_req *second)
{
	int sc;

	first->fused_running = second->fused_running = true;
	first->conn->outstanding += 2;
	first->ns = nvmf_subsystem_get_ns(first->conn->ctrlr->subsys, first->cmd.nsid);
	second->ns = first->ns;
	nvmf_ns_io_hold(first);
	nvmf_ns_io_hold(second);
	if (first->ns == NULL) {
		caw_abort(first, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT);
		return;
	}
	sc = caw_check(first, second);
	if (sc == BRISK_NVME_SC_SUCCESS && !nvmf_resv_io_ok(first->ns, second)) {
		sc = BRISK_NVME_SC_RESERVATION_CONFLICT; /* the pair writes */
	}
	if (sc != BRISK_NVME_SC_SUCCESS) {
		caw_abort(first, BRISK_NVME_SCT_GENERIC, sc);
		return;
	}
	first->fused_step = CAW_LOCK;
	nvmf_fused_resume(first);
}

/* A fused half whose data is in: waits for its partner, or starts the pair. */
void nvmf_fused_dispatch(struct nvmf_req *req)
{
	struct nvmf_req *p = req->fused_partner;

	if (req->conn->qid == 0 || req->cmd.fuse > BRISK_NVME_FUSE_SECOND) {
		fused_fail(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD); /* admin: no fused ops */
		return;
	}
	if (req->fused_abort_sc != 0) {
		fused_fail(req, BRISK_NVME_SCT_GENERIC, req->fused_abort_sc);
		return;
	}
	req->fused_ready = true;
	if (p == NULL || !p->fused_ready) {
		return;
	}
	if (req->cmd.fuse == BRISK_NVME_FUSE_FIRST) {
		caw_start(req, p);
	} else {
		caw_start(p, req);
	}
}
