/* A bs_dev in memory, for tests, with crash and failure injection.
 * Operations apply at once and complete later by a message to the
 * submitting thread (a bs_dev never completes inside the submitting call). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

struct ram_dev {
	struct brisk_bs_dev dev; /* first: the bs_dev pointer is the ram_dev pointer */
	uint8_t *image;          /* what survives a crash */
	uint8_t *live;           /* while crash injection is on: what the program sees */
	bool own_image;
	enum brisk_bs_dev_ram_crash_mode crash_mode;
	uint64_t crash_at;
	uint64_t writes;
	uint8_t *dirty; /* CACHE mode: per block, written since the last flush */
	struct brisk_bs_dev_ram_counts counts;
	bool fail;
};

/* The completion's rc travels in the device's scratch space of args, so
 * a deferred completion allocates nothing (the zeroes device and holes use
 * this on the I/O path). */
static void dev_cpl_run(void *ctx)
{
	struct brisk_bs_dev_cb_args *args = ctx;

	args->cb_fn(args->channel, args->cb_arg, (int)(int64_t)args->scratch[0]);
}

void blob_dev_complete(struct brisk_bs_dev_cb_args *args, int rc)
{
	args->scratch[0] = (uint64_t)(int64_t)rc;
	if (brisk_thread_send_msg(brisk_get_thread(), dev_cpl_run, args) != 0) {
		BRISK_ERRLOG("bs_dev: cannot queue a completion");
		abort(); /* the operation would never complete */
	}
}

struct fn_defer {
	brisk_msg_fn fn;
	void *arg;
};

static void fn_defer_run(void *ctx)
{
	struct fn_defer *d = ctx;
	brisk_msg_fn fn = d->fn;
	void *arg = d->arg;

	free(d);
	fn(arg);
}

void blob_dev_complete_fn(brisk_msg_fn fn, void *arg)
{
	struct fn_defer *d = malloc(sizeof(*d));

	if (d == NULL) {
		BRISK_ERRLOG("bs_dev: out of memory deferring a call");
		abort();
	}
	d->fn = fn;
	d->arg = arg;
	if (brisk_thread_send_msg(brisk_get_thread(), fn_defer_run, d) != 0) {
		BRISK_ERRLOG("bs_dev: cannot defer a call");
		abort();
	}
}

static struct brisk_io_channel *ram_create_channel(struct brisk_bs_dev *dev)
{
	return brisk_get_io_channel(dev);
}

static void ram_destroy_channel(struct brisk_bs_dev *dev, struct brisk_io_channel *ch)
{
	(void)dev;
	brisk_put_io_channel(ch);
}

static void ram_unregistered(void *io_device)
{
	struct ram_dev *r = io_device;

	if (r->own_image) {
		free(r->image);
	}
	free(r->live);
	free(r->dirty);
	free(r);
}

static void ram_destroy(struct brisk_bs_dev *dev)
{
	brisk_io_device_unregister(dev, ram_unregistered);
}

static bool ram_range_ok(struct ram_dev *r, uint64_t lba, uint64_t count)
{
	return count <= r->dev.blockcnt && lba <= r->dev.blockcnt - count;
}

/* How many leading blocks of this write (at lba) reach the image now
 * (crash injection). CACHE mode holds writes before the crash point in the
 * cache (dirty, copied by the next flush); write k itself reaches the image
 * and every unflushed one before it is lost: the worst order a volatile
 * cache may write back in. */
static uint64_t ram_blocks_landing(struct ram_dev *r, uint64_t lba, uint64_t count)
{
	uint64_t n = r->writes++;

	if (r->crash_mode == BRISK_BS_DEV_RAM_CRASH_CACHE) {
		if (n < r->crash_at) {
			memset(r->dirty + lba, 1, count);
			return 0;
		}
		return n == r->crash_at ? count : 0;
	}
	if (r->crash_mode == BRISK_BS_DEV_RAM_CRASH_NONE || n < r->crash_at) {
		return count;
	}
	if (r->crash_mode == BRISK_BS_DEV_RAM_CRASH_TEAR && n == r->crash_at) {
		return count / 2;
	}
	return 0;
}

/* CACHE mode, power still on: the cached writes reach the image. */
static void ram_flush_cache(struct ram_dev *r)
{
	uint32_t bl = r->dev.blocklen;

	if (r->crash_mode != BRISK_BS_DEV_RAM_CRASH_CACHE || r->writes > r->crash_at) {
		return;
	}
	for (uint64_t b = 0; b < r->dev.blockcnt; b++) {
		if (r->dirty[b]) {
			memcpy(r->image + b * bl, r->live + b * bl, bl);
			r->dirty[b] = 0;
		}
	}
}

static int ram_check(struct ram_dev *r, uint64_t lba, uint64_t count)
{
	if (r->fail) {
		return -EIO;
	}
	if (!ram_range_ok(r, lba, count)) {
		BRISK_ERRLOG("ram bs_dev: lba %lu + %lu past the end (%lu blocks)", lba, count,
			     r->dev.blockcnt);
		return -EINVAL;
	}
	return 0;
}

static void ram_readv(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, struct iovec *iov,
		      int iovcnt, uint64_t lba, uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	struct ram_dev *r = (struct ram_dev *)dev;
	int rc = ram_check(r, lba, count);
	uint64_t off = lba * dev->blocklen, left = (uint64_t)count * dev->blocklen;

	(void)ch;
	r->counts.reads++;
	r->counts.read_blocks += count;
	for (int i = 0; rc == 0 && i < iovcnt && left > 0; i++) {
		uint64_t n = iov[i].iov_len < left ? iov[i].iov_len : left;

		memcpy(iov[i].iov_base, (r->live ? r->live : r->image) + off, n);
		off += n;
		left -= n;
	}
	blob_dev_complete(args, rc);
}

static void ram_writev(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, struct iovec *iov,
		       int iovcnt, uint64_t lba, uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	struct ram_dev *r = (struct ram_dev *)dev;
	int rc = ram_check(r, lba, count);
	uint64_t off = lba * dev->blocklen, left;

	(void)ch;
	r->counts.writes++;
	r->counts.write_blocks += count;
	if (rc == 0) {
		uint64_t land = ram_blocks_landing(r, lba, count) * dev->blocklen;

		left = (uint64_t)count * dev->blocklen;
		for (int i = 0; i < iovcnt && left > 0; i++) {
			uint64_t n = iov[i].iov_len < left ? iov[i].iov_len : left;

			if (r->live != NULL) {
				memcpy(r->live + off, iov[i].iov_base, n);
			}
			if (land > 0) {
				memcpy(r->image + off, iov[i].iov_base, n < land ? n : land);
				land -= n < land ? n : land;
			}
			off += n;
			left -= n;
		}
	}
	blob_dev_complete(args, rc);
}

static void ram_read(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, void *buf, uint64_t lba,
		     uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)count * dev->blocklen };

	ram_readv(dev, ch, &iov, 1, lba, count, args);
}

static void ram_write(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, void *buf, uint64_t lba,
		      uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	struct iovec iov = { .iov_base = buf, .iov_len = (size_t)count * dev->blocklen };

	ram_writev(dev, ch, &iov, 1, lba, count, args);
}

static void ram_zero(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, uint64_t lba,
		     uint64_t count, struct brisk_bs_dev_cb_args *args)
{
	struct ram_dev *r = (struct ram_dev *)dev;
	int rc = ram_check(r, lba, count);

	(void)ch;
	r->counts.zeroes++;
	r->counts.zeroed_blocks += count;
	if (rc == 0) {
		if (r->live != NULL) {
			memset(r->live + lba * dev->blocklen, 0, count * dev->blocklen);
		}
		memset(r->image + lba * dev->blocklen, 0, ram_blocks_landing(r, lba, count) * dev->blocklen);
	}
	blob_dev_complete(args, rc);
}

static void ram_flush(struct brisk_bs_dev *dev, struct brisk_io_channel *ch,
		      struct brisk_bs_dev_cb_args *args)
{
	struct ram_dev *r = (struct ram_dev *)dev;

	(void)ch;
	if (!r->fail) {
		ram_flush_cache(r);
	}
	blob_dev_complete(args, r->fail ? -EIO : 0);
}

static int ram_channel_create(void *io_device, void *ctx)
{
	(void)io_device;
	(void)ctx;
	return 0;
}

static void ram_channel_destroy(void *io_device, void *ctx)
{
	(void)io_device;
	(void)ctx;
}

struct brisk_bs_dev *brisk_bs_dev_ram_create(uint64_t blockcnt, uint32_t blocklen, void *image)
{
	struct ram_dev *r;

	if (blocklen == 0 || blocklen > BLOB_PAGE_SIZE || BLOB_PAGE_SIZE % blocklen != 0) {
		BRISK_ERRLOG("ram bs_dev: blocklen %u must divide %u", blocklen, BLOB_PAGE_SIZE);
		return NULL;
	}
	if (blockcnt == 0 || blockcnt > (UINT64_MAX / 2) / blocklen) {
		BRISK_ERRLOG("ram bs_dev: blockcnt %lu invalid", blockcnt);
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		return NULL;
	}
	r->image = image;
	if (image == NULL) {
		r->image = calloc(blockcnt, blocklen);
		r->own_image = true;
		if (r->image == NULL) {
			free(r);
			return NULL;
		}
	}
	r->dev.create_channel = ram_create_channel;
	r->dev.destroy_channel = ram_destroy_channel;
	r->dev.destroy = ram_destroy;
	r->dev.read = ram_read;
	r->dev.write = ram_write;
	r->dev.readv = ram_readv;
	r->dev.writev = ram_writev;
	r->dev.write_zeroes = ram_zero;
	r->dev.unmap = ram_zero; /* unmapped blocks of this device read zeroes */
	r->dev.flush = ram_flush;
	r->dev.blockcnt = blockcnt;
	r->dev.blocklen = blocklen;
	brisk_io_device_register(r, ram_channel_create, ram_channel_destroy, 0, "bs_dev_ram");
	return &r->dev;
}

/* The injection calls take any bs_dev: make sure it is one of ours. */
static struct ram_dev *ram_from_dev(struct brisk_bs_dev *dev, const char *what)
{
	if (dev == NULL || dev->destroy != ram_destroy) {
		BRISK_ERRLOG("%s: not a RAM bs_dev", what);
		return NULL;
	}
	return (struct ram_dev *)dev;
}

void brisk_bs_dev_ram_set_crash(struct brisk_bs_dev *dev, enum brisk_bs_dev_ram_crash_mode mode,
				uint64_t k)
{
	struct ram_dev *r = ram_from_dev(dev, "brisk_bs_dev_ram_set_crash");

	if (r == NULL) {
		return;
	}

	r->crash_mode = mode;
	r->crash_at = k;
	r->writes = 0;
	free(r->dirty);
	r->dirty = NULL;
	if (mode == BRISK_BS_DEV_RAM_CRASH_NONE) {
		free(r->live);
		r->live = NULL;
		return;
	}
	if (mode == BRISK_BS_DEV_RAM_CRASH_CACHE) {
		r->dirty = calloc(r->dev.blockcnt, 1);
		if (r->dirty == NULL) {
			BRISK_ERRLOG("ram bs_dev: no memory for crash injection");
			abort();
		}
	}
	/* The program keeps seeing its own writes after the crash point (as a
	 * volatile cache would show them); only the image stops changing. */
	if (r->live == NULL) {
		r->live = malloc(r->dev.blockcnt * r->dev.blocklen);
		if (r->live == NULL) {
			BRISK_ERRLOG("ram bs_dev: no memory for crash injection");
			abort();
		}
		memcpy(r->live, r->image, r->dev.blockcnt * r->dev.blocklen);
	}
}

uint64_t brisk_bs_dev_ram_write_count(struct brisk_bs_dev *dev)
{
	struct ram_dev *r = ram_from_dev(dev, "brisk_bs_dev_ram_write_count");

	return r ? r->writes : 0;
}

void brisk_bs_dev_ram_get_counts(struct brisk_bs_dev *dev, struct brisk_bs_dev_ram_counts *counts)
{
	struct ram_dev *r = ram_from_dev(dev, "brisk_bs_dev_ram_get_counts");

	if (r != NULL) {
		*counts = r->counts;
	} else {
		memset(counts, 0, sizeof(*counts));
	}
}

void brisk_bs_dev_ram_set_fail(struct brisk_bs_dev *dev, bool fail)
{
	struct ram_dev *r = ram_from_dev(dev, "brisk_bs_dev_ram_set_fail");

	if (r != NULL) {
		r->fail = fail;
	}
}
