/* Metadata I/O: whole pages to and from the device on the metadata thread's
 * channel, with DMA-able page buffers. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

struct md_io {
	struct brisk_bs_dev_cb_args args;
	blob_md_io_cb cb;
	void *ctx;
};

void *blob_page_buf_alloc(uint64_t pages)
{
	return brisk_dma_zmalloc(pages * BLOB_PAGE_SIZE, BLOB_PAGE_SIZE, NULL);
}

void blob_page_buf_free(void *buf)
{
	brisk_free(buf);
}

static void md_io_done(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct md_io *io = cb_arg;
	blob_md_io_cb cb = io->cb;
	void *ctx = io->ctx;

	(void)ch;
	free(io);
	cb(ctx, rc);
}

static struct md_io *md_io_get(struct brisk_blob_store *bs, blob_md_io_cb cb, void *ctx,
			       struct brisk_io_channel **dev_ch)
{
	struct md_io *io = calloc(1, sizeof(*io));
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);

	if (io == NULL) {
		return NULL;
	}
	io->cb = cb;
	io->ctx = ctx;
	io->args.cb_fn = md_io_done;
	io->args.cb_arg = io;
	io->args.channel = bch->dev_ch;
	*dev_ch = bch->dev_ch;
	return io;
}

static void md_fail_later(blob_md_io_cb cb, void *ctx, int rc)
{
	/* Same shape as a device completion: never inside the caller. */
	blob_defer_cb(cb, ctx, rc);
}

void blob_md_read_pages(struct brisk_blob_store *bs, uint64_t page, uint64_t count, void *buf,
			blob_md_io_cb cb, void *ctx)
{
	struct brisk_io_channel *dev_ch;
	struct md_io *io = md_io_get(bs, cb, ctx, &dev_ch);
	uint64_t per = BLOB_PAGE_SIZE / bs->io_unit;

	if (io == NULL) {
		md_fail_later(cb, ctx, -ENOMEM);
		return;
	}
	bs->dev->read(bs->dev, dev_ch, buf, page * per, (uint32_t)(count * per), &io->args);
}

void blob_md_write_pages(struct brisk_blob_store *bs, uint64_t page, uint64_t count, void *buf,
			 blob_md_io_cb cb, void *ctx)
{
	struct brisk_io_channel *dev_ch;
	struct md_io *io = md_io_get(bs, cb, ctx, &dev_ch);
	uint64_t per = BLOB_PAGE_SIZE / bs->io_unit;

	if (io == NULL) {
		md_fail_later(cb, ctx, -ENOMEM);
		return;
	}
	bs->dev->write(bs->dev, dev_ch, buf, page * per, (uint32_t)(count * per), &io->args);
}

void blob_md_flush(struct brisk_blob_store *bs, blob_md_io_cb cb, void *ctx)
{
	struct brisk_io_channel *dev_ch;
	struct md_io *io = md_io_get(bs, cb, ctx, &dev_ch);

	if (io == NULL) {
		md_fail_later(cb, ctx, -ENOMEM);
		return;
	}
	bs->dev->flush(bs->dev, dev_ch, &io->args);
}
