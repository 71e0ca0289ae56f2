/*
 * Forwarding an I/O to a base bdev: the one I/O path of the vbdevs that sit
 * on another bdev (passthru, split, delay, error). Each used to carry its
 * own switch over the I/O types and its own "no base brisk_bdev_io free:
 * wait for one" retry; they differed only in the offset shift and in what
 * they do around the forward.
 */
#include <errno.h>

#include "bdev_internal.h"

int brisk_bdev_forward_io(struct brisk_bdev_io *io, struct brisk_bdev_desc *base, struct brisk_io_channel *base_ch,
			  uint64_t shift_blocks, brisk_bdev_io_completion_cb done)
{
	uint64_t off = io->u.offset_blocks + shift_blocks, n = io->u.num_blocks;
	struct iovec *iov = io->u.iovs;
	int iovcnt = io->u.iovcnt;

	switch (io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
		return brisk_bdev_readv_blocks(base, base_ch, iov, iovcnt, off, n, done, io);
	case BRISK_BDEV_IO_TYPE_WRITE:
		return brisk_bdev_writev_blocks(base, base_ch, iov, iovcnt, off, n, done, io);
	case BRISK_BDEV_IO_TYPE_COMPARE:
		return brisk_bdev_comparev_blocks(base, base_ch, iov, iovcnt, off, n, done, io);
	case BRISK_BDEV_IO_TYPE_UNMAP:
		return brisk_bdev_unmap_blocks(base, base_ch, off, n, done, io);
	case BRISK_BDEV_IO_TYPE_FLUSH:
		return brisk_bdev_flush_blocks(base, base_ch, off, n, done, io);
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		return brisk_bdev_write_zeroes_blocks(base, base_ch, off, n, done, io);
	case BRISK_BDEV_IO_TYPE_RESET:
		return brisk_bdev_reset(base, base_ch, done, io);
	default:
		return -ENOTSUP;
	}
}

void brisk_bdev_forward_done(struct brisk_bdev_io *base_io, bool success, void *arg)
{
	/* The base's status and errno (-ENOSPC ...) pass up unchanged. */
	brisk_bdev_io_complete_base_io_status(arg, base_io);
	brisk_bdev_free_io(base_io);
}

int brisk_bdev_forward_wait(struct brisk_bdev_io *io, struct brisk_bdev_io_wait_entry *wait,
			    struct brisk_bdev_desc *base, struct brisk_io_channel *base_ch, brisk_bdev_io_wait_cb retry)
{
	wait->bdev = brisk_bdev_desc_get_bdev(base);
	wait->cb_fn = retry;
	wait->cb_arg = io;
	if (brisk_bdev_queue_io_wait(wait->bdev, base_ch, wait) == 0) {
		return 0;
	}
	/* Not queueable (the base has bdev_ios free again): retry on the next
	 * turn of this thread rather than fail the I/O. */
	return brisk_thread_send_msg(brisk_get_thread(), retry, io) == 0 ? 0 : -ENOMEM;
}
