/*
 * Zero-copy I/O (SPDK's zcopy model): brisk_bdev_zcopy_start asks the module
 * to lend its own buffers for a block range (filled with the data for a
 * read), brisk_bdev_zcopy_end gives them back, writing them first when the
 * caller commits. One brisk_bdev_io carries both halves: the caller keeps it
 * between them, so the module finds its state again at the end.
 *
 * Both halves go straight to the module on the submitting thread's channel:
 * a zero-copy range is never split or bounced (the module decides the
 * buffers), and a channel under QoS refuses zero-copy (-ENOTSUP, callers
 * fall back to a copying I/O) because QoS may move an I/O to another thread,
 * and the buffers of a start must be released on the thread that got them.
 */
#include <errno.h>

#include <brisk/ticks.h>

#include "bdev_internal.h"

static int zcopy_start_check(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch, struct iovec *iov, int iovcnt,
			     uint64_t offset_blocks, uint64_t num_blocks, bool populate, brisk_bdev_io_completion_cb cb)
{
	int rc = bdev_check_io(desc, _ch, BRISK_BDEV_IO_TYPE_ZCOPY, offset_blocks, num_blocks, cb);

	if (rc != 0) {
		return rc;
	}
	if (iov == NULL || iovcnt <= 0) {
		return -EINVAL;
	}
	if (!populate && !desc->write) {
		return -EBADF; /* buffers to fill are a write */
	}
	if (((struct bdev_channel *)brisk_io_channel_get_ctx(_ch))->flags & BDEV_CH_QOS) {
		return -ENOTSUP;
	}
	return 0;
}

int brisk_bdev_zcopy_start(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch, struct iovec *iov, int iovcnt,
			   uint64_t offset_blocks, uint64_t num_blocks, bool populate, brisk_bdev_io_completion_cb cb,
			   void *cb_arg)
{
	struct bdev_io_priv *p;
	int rc;

	rc = zcopy_start_check(desc, _ch, iov, iovcnt, offset_blocks, num_blocks, populate, cb);
	if (rc != 0) {
		return rc;
	}
	p = bdev_io_start(desc, _ch, BRISK_BDEV_IO_TYPE_ZCOPY, cb, cb_arg); /* lent whole: no split */
	if (p == NULL) {
		return -ENOMEM;
	}
	p->qos_done = true; /* refused above when QoS is on */
	p->io.u.iovs = iov;
	p->io.u.iovcnt = iovcnt;
	p->io.u.offset_blocks = offset_blocks;
	p->io.u.num_blocks = num_blocks;
	p->io.zcopy.start = true;
	p->io.zcopy.populate = populate;
	/* Through bdev_io_submit: a reset in progress holds it like any I/O. */
	bdev_io_submit(p);
	return 0;
}

int brisk_bdev_zcopy_end(struct brisk_bdev_io *bdev_io, bool commit, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_io_priv *p;

	if (bdev_io == NULL || cb == NULL || bdev_io->type != BRISK_BDEV_IO_TYPE_ZCOPY) {
		return -EINVAL;
	}
	p = bdev_io_priv(bdev_io);
	if (!bdev_io->zcopy.start || p->status != BRISK_BDEV_IO_STATUS_SUCCESS) {
		return -EINVAL; /* not started, already ended, or the start failed */
	}
	if (commit && !p->desc->write) {
		return -EBADF; /* a commit writes the blocks */
	}
	bdev_io->zcopy.start = false;
	bdev_io->zcopy.commit = commit;
	p->cb = cb;
	p->cb_arg = cb_arg;
	p->submit_tsc = brisk_get_ticks();
	/* Not held by a reset: the buffers are lent already, and a reset waits
	 * only for what the module has in flight. */
	bdev_io_submit_to_module(p);
	return 0;
}
