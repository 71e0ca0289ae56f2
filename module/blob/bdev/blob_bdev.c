/* bs_dev over a bdev (libbrisk_blob_bdev, SPDK's module/blob/bdev): here,
 * not in lib/blob, so the blobstore links without the bdev layer. Each
 * operation becomes a bdev I/O on the calling thread's bdev channel. A submission that finds no free brisk_bdev_io
 * waits (brisk_bdev_queue_io_wait) and is submitted again: the store never
 * sees -ENOMEM from the device. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h>
#include <brisk/blob_bdev.h>
#include <brisk/log.h>
#include <brisk/thread.h>

struct bdev_dev {
	struct brisk_bs_dev dev; /* first: the bs_dev pointer is the bdev_dev pointer */
	struct brisk_bdev_desc *desc;
	struct brisk_bdev *bdev;
	bool claimed;
	brisk_bdev_event_cb_t event_cb; /* the owner's */
	void *event_ctx;
};

/* Keeps blockcnt current (brisk_bs_grow_live reads it), then tells the
 * owner, which may destroy the device: nothing touches d after that. */
static void bd_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	struct bdev_dev *d = ctx;

	if (type == BRISK_BDEV_EVENT_RESIZE) {
		d->dev.blockcnt = brisk_bdev_get_num_blocks(bdev);
	}
	d->event_cb(type, bdev, d->event_ctx);
}

enum bdev_op { OP_READ, OP_WRITE, OP_READV, OP_WRITEV, OP_ZEROES, OP_UNMAP, OP_FLUSH };

/* One operation, kept until it is submitted (for the -ENOMEM retry). */
struct bdev_req {
	struct bdev_dev *d;
	struct brisk_io_channel *ch;
	enum bdev_op op;
	int rc; /* the failure a deferred completion carries */
	void *buf;
	struct iovec *iov;
	int iovcnt;
	uint64_t lba, count;
	struct brisk_bs_dev_cb_args *args;
	union { /* never both at once: a wait for an I/O, or a deferred call */
		struct brisk_bdev_io_wait_entry wait;
		struct brisk_msg_slot slot;
	};
};

static void req_submit(struct bdev_req *r);

/* The request lives in the caller's cb_args scratch space: no allocation. */
_Static_assert(sizeof(struct bdev_req) <= sizeof(((struct brisk_bs_dev_cb_args *)0)->scratch),
	       "bdev_req must fit in brisk_bs_dev_cb_args.scratch");

static void req_done(struct brisk_bdev_io *bdev_io, bool success, void *cb_arg)
{
	struct bdev_req *r = cb_arg;
	struct brisk_bs_dev_cb_args *args = r->args;
	int bserrno = success ? 0 : brisk_bdev_io_get_errno(bdev_io);

	brisk_bdev_free_io(bdev_io);
	/* The bdev's errno, not a bare -EIO: a full backing file says -ENOSPC. */
	args->cb_fn(args->channel, args->cb_arg, bserrno);
}

static void req_retry(void *arg) { req_submit(arg); }

static void req_complete_run(void *arg)
{
	struct bdev_req *r = arg;

	r->args->cb_fn(r->args->channel, r->args->cb_arg, r->rc);
}

/* Runs fn(r) later on this thread: the request's own slot, so it cannot be
 * lost for want of memory (callbacks never run inside the submission). */
static void req_defer(struct bdev_req *r, brisk_msg_fn fn)
{
	if (brisk_thread_send_msg_slot(brisk_get_thread(), &r->slot, fn, r) != 0) {
		BRISK_ERRLOG("bs_dev over bdev: cannot defer a completion");
		abort(); /* the thread is gone: the operation would never complete */
	}
}

/* Completes args with rc later (a failed submission, an advisory no-op). */
static void req_complete_later(struct brisk_bs_dev_cb_args *args, int rc)
{
	struct bdev_req *r = (struct bdev_req *)args->scratch;

	r->args = args;
	r->rc = rc;
	req_defer(r, req_complete_run);
}

static void req_submit(struct bdev_req *r)
{
	struct brisk_bdev_desc *desc = r->d->desc;
	int rc = -EINVAL;

	switch (r->op) {
	case OP_READ:
		rc = brisk_bdev_read_blocks(desc, r->ch, r->buf, r->lba, r->count, req_done, r);
		break;
	case OP_WRITE:
		rc = brisk_bdev_write_blocks(desc, r->ch, r->buf, r->lba, r->count, req_done, r);
		break;
	case OP_READV:
		/* The stacked submission: the channel is desc's and the blob layer
		 * sized the iovec (brisk_bdev_module_submit_rw). */
		rc = brisk_bdev_module_submit_rw(desc, r->ch, false, r->iov, r->iovcnt, r->lba, r->count, req_done, r);
		break;
	case OP_WRITEV:
		rc = brisk_bdev_module_submit_rw(desc, r->ch, true, r->iov, r->iovcnt, r->lba, r->count, req_done, r);
		break;
	case OP_ZEROES:
		rc = brisk_bdev_write_zeroes_blocks(desc, r->ch, r->lba, r->count, req_done, r);
		break;
	case OP_UNMAP:
		rc = brisk_bdev_unmap_blocks(desc, r->ch, r->lba, r->count, req_done, r);
		break;
	case OP_FLUSH:
		rc = brisk_bdev_flush_blocks(desc, r->ch, 0, r->d->dev.blockcnt, req_done, r);
		break;
	}
	if (rc == -ENOMEM) {
		r->wait.bdev = r->d->bdev;
		r->wait.cb_fn = req_retry;
		r->wait.cb_arg = r;
		rc = brisk_bdev_queue_io_wait(r->d->bdev, r->ch, &r->wait);
		if (rc == 0) {
			return;
		}
		/* -EINVAL from queue_io_wait: I/Os are free again, submit at once. */
		req_defer(r, req_retry);
		return;
	}
	if (rc != 0) {
		req_complete_later(r->args, rc);
	}
}

static void req_new(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, enum bdev_op op, void *buf,
		    struct iovec *iov, int iovcnt, uint64_t lba, uint64_t count, struct brisk_bs_dev_cb_args *args)
{
	struct bdev_req *r = (struct bdev_req *)args->scratch;

	/* Every field is set here but wait, which only the -ENOMEM path uses
	 * and fills (no memset on the I/O path). */
	r->d = (struct bdev_dev *)dev;
	r->ch = ch;
	r->op = op;
	r->buf = buf;
	r->iov = iov;
	r->iovcnt = iovcnt;
	r->lba = lba;
	r->count = count;
	r->args = args;
	req_submit(r);
}

static void bd_read(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, void *buf, uint64_t lba, uint32_t count,
		    struct brisk_bs_dev_cb_args *args)
{
	req_new(dev, ch, OP_READ, buf, NULL, 0, lba, count, args);
}

static void bd_write(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, void *buf, uint64_t lba, uint32_t count,
		     struct brisk_bs_dev_cb_args *args)
{
	req_new(dev, ch, OP_WRITE, buf, NULL, 0, lba, count, args);
}

static void bd_readv(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, struct iovec *iov, int iovcnt, uint64_t lba,
		     uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	req_new(dev, ch, OP_READV, NULL, iov, iovcnt, lba, count, args);
}

static void bd_writev(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, struct iovec *iov, int iovcnt,
		      uint64_t lba, uint32_t count, struct brisk_bs_dev_cb_args *args)
{
	req_new(dev, ch, OP_WRITEV, NULL, iov, iovcnt, lba, count, args);
}

static void bd_zeroes(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, uint64_t lba, uint64_t count,
		      struct brisk_bs_dev_cb_args *args)
{
	req_new(dev, ch, OP_ZEROES, NULL, NULL, 0, lba, count, args);
}

static void bd_unmap(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, uint64_t lba, uint64_t count,
		     struct brisk_bs_dev_cb_args *args)
{
	struct bdev_dev *d = (struct bdev_dev *)dev;

	if (!brisk_bdev_io_type_supported(d->bdev, BRISK_BDEV_IO_TYPE_UNMAP)) {
		req_complete_later(args, 0); /* unmap is advisory */
		return;
	}
	req_new(dev, ch, OP_UNMAP, NULL, NULL, 0, lba, count, args);
}

static void bd_flush(struct brisk_bs_dev *dev, struct brisk_io_channel *ch, struct brisk_bs_dev_cb_args *args)
{
	struct bdev_dev *d = (struct bdev_dev *)dev;

	if (!brisk_bdev_io_type_supported(d->bdev, BRISK_BDEV_IO_TYPE_FLUSH)) {
		req_complete_later(args, 0); /* no volatile cache to flush */
		return;
	}
	req_new(dev, ch, OP_FLUSH, NULL, NULL, 0, 0, 0, args);
}

static struct brisk_io_channel *bd_create_channel(struct brisk_bs_dev *dev)
{
	return brisk_bdev_get_io_channel(((struct bdev_dev *)dev)->desc);
}

static void bd_destroy_channel(struct brisk_bs_dev *dev, struct brisk_io_channel *ch)
{
	(void)dev;
	brisk_put_io_channel(ch);
}

static void bd_destroy(struct brisk_bs_dev *dev)
{
	struct bdev_dev *d = (struct bdev_dev *)dev;

	if (d->claimed) {
		brisk_bdev_module_release_bdev(d->bdev);
	}
	brisk_bdev_close(d->desc);
	free(d);
}

int brisk_bdev_create_bs_dev_ext(const char *bdev_name, brisk_bdev_event_cb_t event_cb, void *event_ctx,
				 struct brisk_bs_dev **bs_dev)
{
	struct bdev_dev *d;
	uint32_t bl;
	int rc;

	if (bdev_name == NULL || event_cb == NULL || bs_dev == NULL) {
		BRISK_ERRLOG("bs_dev over bdev: bdev_name, event_cb and bs_dev are required");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return -ENOMEM;
	}
	d->event_cb = event_cb;
	d->event_ctx = event_ctx;
	rc = brisk_bdev_open_ext(bdev_name, true, bd_event, d, &d->desc);
	if (rc != 0) {
		BRISK_ERRLOG("bs_dev over bdev: cannot open '%s': %d", bdev_name, rc);
		free(d);
		return rc;
	}
	d->bdev = brisk_bdev_desc_get_bdev(d->desc);
	bl = brisk_bdev_get_block_size(d->bdev);
	if (bl == 0 || bl > BRISK_BS_PAGE_SIZE || BRISK_BS_PAGE_SIZE % bl != 0) {
		BRISK_ERRLOG("bs_dev over bdev: '%s' block size %u does not divide %u", bdev_name, bl,
			     BRISK_BS_PAGE_SIZE);
		brisk_bdev_close(d->desc);
		free(d);
		return -EINVAL;
	}
	d->dev.blocklen = bl;
	d->dev.blockcnt = brisk_bdev_get_num_blocks(d->bdev);
	d->dev.create_channel = bd_create_channel;
	d->dev.destroy_channel = bd_destroy_channel;
	d->dev.destroy = bd_destroy;
	d->dev.read = bd_read;
	d->dev.write = bd_write;
	d->dev.readv = bd_readv;
	d->dev.writev = bd_writev;
	d->dev.write_zeroes = bd_zeroes;
	d->dev.unmap = bd_unmap;
	d->dev.flush = bd_flush;
	*bs_dev = &d->dev;
	return 0;
}

int brisk_bs_bdev_claim(struct brisk_bs_dev *bs_dev, struct brisk_bdev_module *module)
{
	struct bdev_dev *d = (struct bdev_dev *)bs_dev;
	int rc;

	if (bs_dev == NULL || module == NULL) {
		BRISK_ERRLOG("brisk_bs_bdev_claim: bs_dev and module are required");
		return -EINVAL;
	}
	if (d->claimed) {
		return 0;
	}
	rc = brisk_bdev_module_claim_bdev(d->bdev, d->desc, module);
	if (rc == 0) {
		d->claimed = true;
	}
	return rc;
}

struct brisk_bdev_desc *brisk_bs_bdev_get_desc(struct brisk_bs_dev *bs_dev)
{
	return bs_dev != NULL ? ((struct bdev_dev *)bs_dev)->desc : NULL;
}
