/*
 * Zero-copy reads: on a bdev that lends its buffers (brisk_bdev_zcopy_start,
 * malloc does), a Read's C2HData is sent straight from them, sparing the
 * copy into the request's buffer. The buffers stay lent until the request's
 * last PDU is in the socket (or dropped with a closed connection); then the
 * zero-copy I/O ends. Until that end completes, the lent buffers hold the
 * namespace and count in conn->outstanding (struct nvmf_zcopy), so a removed
 * namespace waits for them as for any I/O in flight. Reads go the copy way
 * when the bdev does not lend (or the start fails, or every holder is out).
 */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "nvmf_internal.h"

int nvmf_zcopy_conn_init(struct nvmf_conn *c)
{
	TAILQ_INIT(&c->free_zcs);
	c->zcs = calloc(c->num_reqs, sizeof(*c->zcs));
	if (c->zcs == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < c->num_reqs; i++) {
		c->zcs[i].conn = c;
		TAILQ_INSERT_TAIL(&c->free_zcs, &c->zcs[i], link);
	}
	return 0;
}

void nvmf_zcopy_conn_fini(struct nvmf_conn *c)
{
	free(c->zcs);
	c->zcs = NULL;
}

/* The lent buffers are back: the namespace hold and the count end. */
static void zcopy_put(struct nvmf_zcopy *z)
{
	struct nvmf_conn *c = z->conn;

	nvmf_ns_io_put(c, z->ns);
	c->outstanding--;
	z->req = NULL;
	z->bdev_io = NULL;
	TAILQ_INSERT_HEAD(&c->free_zcs, z, link);
	if (c->dead) {
		nvmf_poll_group_kick(c->pg); /* the connection may be freed now */
	}
}

static void zcopy_end_done(struct brisk_bdev_io *bdev_io, bool success, void *arg)
{
	if (!success) {
		BRISK_ERRLOG("nvmf: %s: ending a zero-copy read failed\n", ((struct nvmf_zcopy *)arg)->conn->peer);
	}
	brisk_bdev_free_io(bdev_io);
	zcopy_put(arg);
}

/* The request's data went out (or never will): the bdev gets its buffers
 * back; the request itself is free from here on. */
void nvmf_zcopy_release(struct nvmf_req *req)
{
	struct nvmf_zcopy *z = req->zc;

	req->zc = NULL;
	if (brisk_bdev_zcopy_end(z->bdev_io, false, zcopy_end_done, z) != 0) {
		/* Not a started zero-copy I/O: cannot happen after a good start. */
		BRISK_ERRLOG("nvmf: %s: zero-copy read could not end\n", z->conn->peer);
		brisk_bdev_free_io(z->bdev_io);
		zcopy_put(z);
	}
}

/* Gives the request back its namespace hold and the holder back. */
static void zcopy_undo(struct nvmf_zcopy *z)
{
	struct nvmf_conn *c = z->conn;

	z->req->ns_held = true;
	z->req = NULL;
	c->outstanding--;
	TAILQ_INSERT_HEAD(&c->free_zcs, z, link);
}

static void zcopy_start_done(struct brisk_bdev_io *bdev_io, bool success, void *arg)
{
	struct nvmf_zcopy *z = arg;
	struct nvmf_req *req = z->req;
	struct iovec *iov;

	if (!success) {
		brisk_bdev_free_io(bdev_io);
		zcopy_undo(z);
		nvmf_io_zcopy_started(req, false);
		return;
	}
	brisk_bdev_io_get_iovec(bdev_io, &iov, &z->iovcnt);
	z->bdev_io = bdev_io;
	req->zc = z;
	nvmf_io_zcopy_started(req, true);
}

/* Starts a zero-copy read of nlb blocks at slba: true when it started (the
 * request completes through nvmf_io_zcopy_started), false to copy instead. */
bool nvmf_zcopy_read(struct nvmf_req *req, struct brisk_io_channel *ch, uint64_t slba, uint32_t nlb)
{
	struct nvmf_conn *c = req->conn;
	struct nvmf_zcopy *z = TAILQ_FIRST(&c->free_zcs);

	if (z == NULL || req->zc_skip || !req->ns_held ||
	    !brisk_bdev_io_type_supported(req->ns->bdev, BRISK_BDEV_IO_TYPE_ZCOPY)) {
		return false;
	}
	TAILQ_REMOVE(&c->free_zcs, z, link);
	z->req = req;
	z->ns = req->ns;
	req->ns_held = false; /* the hold goes with the buffers */
	c->outstanding++;
	if (brisk_bdev_zcopy_start(req->ns->desc, ch, z->iov, NVMF_ZCOPY_MAX_IOV, slba, nlb, true, zcopy_start_done,
				   z) != 0) {
		zcopy_undo(z);
		return false;
	}
	return true;
}
