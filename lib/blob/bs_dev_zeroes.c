/* A bs_dev that reads zeroes and refuses writes: what a thin blob's
 * unallocated clusters read through. No state, so no io_device: its
 * channel is NULL. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blob_internal.h"

static struct brisk_io_channel *zeroes_create_channel(struct brisk_bs_dev *dev)
{
	(void)dev;
	return NULL;
}

static void zeroes_destroy_channel(struct brisk_bs_dev *dev, struct brisk_io_channel *ch)
{
	(void)dev;
	(void)ch;
}

static void zeroes_destroy(struct brisk_bs_dev *dev)
{
	free(dev);
}

static bool zeroes_range_ok(struct brisk_bs_dev *dev, uint64_t lba, uint64_t count)
{
	return count <= dev->blockcnt && lba <= dev->blockcnt - count;
}

static void zeroes_readv(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, struct iovec *iov,
			 int iovcnt, uint64_t lba, uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	uint64_t left = (uint64_t)count * dev->blocklen;

	(void)ch;
	if (!zeroes_range_ok(dev, lba, count)) {
		blob_dev_complete(args, -EINVAL);
		return;
	}
	for (int i = 0; i < iovcnt && left > 0; i++) {
		uint64_t n = iov[i].iov_len < left ? iov[i].iov_len : left;

		memset(iov[i].iov_base, 0, n);
		left -= n;
	}
	blob_dev_complete(args, 0);
}

static void zeroes_read(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, void *buf,
			uint64_t lba, uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)count * dev->blocklen };

	zeroes_readv(dev, ch, &iov, 1, lba, count, args);
}

static void zeroes_write(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, void *buf,
			 uint64_t lba, uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	(void)dev; (void)ch; (void)buf; (void)lba; (void)count;
	blob_dev_complete(args, -EPERM);
}

static void zeroes_writev(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, struct iovec *iov,
			  int iovcnt, uint64_t lba, uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	(void)dev; (void)ch; (void)iov; (void)iovcnt; (void)lba; (void)count;
	blob_dev_complete(args, -EPERM);
}

static void zeroes_zero(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, uint64_t lba,
			uint64_t count, struct brisk_bs_dev_cb_args *args)
{
	(void)dev; (void)ch; (void)lba; (void)count;
	blob_dev_complete(args, -EPERM);
}

static void zeroes_flush(struct brisk_bs_dev *dev, struct brisk_io_channel *ch,
			 struct brisk_bs_dev_cb_args *args)
{
	(void)dev; (void)ch;
	blob_dev_complete(args, 0);
}

struct brisk_bs_dev *brisk_bs_dev_zeroes_create(uint64_t blockcnt, uint32_t blocklen)
{
	struct brisk_bs_dev *dev;

	if (blocklen == 0 || blockcnt == 0) {
		BRISK_ERRLOG("zeroes bs_dev: blockcnt %lu and blocklen %u must be non-zero", blockcnt,
			     blocklen);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return NULL;
	}
	dev->create_channel = zeroes_create_channel;
	dev->destroy_channel = zeroes_destroy_channel;
	dev->destroy = zeroes_destroy;
	dev->read = zeroes_read;
	dev->write = zeroes_write;
	dev->readv = zeroes_readv;
	dev->writev = zeroes_writev;
	dev->write_zeroes = zeroes_zero;
	dev->unmap = zeroes_zero;
	dev->flush = zeroes_flush;
	dev->blockcnt = blockcnt;
	dev->blocklen = blocklen;
	return dev;
}
