/* The blob I/O path: requests in io units on a channel, split at cluster
 * boundaries, unallocated clusters read through the zeroes device, and thin
 * blobs allocating a cluster on first write by a message to the metadata
 * thread.
 *
 * A request runs its segments (one per cluster touched) one after another:
 * next_segment -> (alloc_request -> [md thread] alloc_cluster -> zero ->
 * sync -> publish -> [back] resume) -> submit -> segment_done -> ... -> complete.
 *
 * Cross-thread data: blob->md.clusters[] entries are written by the metadata
 * thread and read by I/O threads. A cluster being allocated carries
 * BLOB_CLUSTER_PENDING until its metadata is durable, so no write completes
 * into a cluster that a crash could still take back. A resize that grows
 * the array publishes a new one and frees the old one only after every
 * channel's thread has run a message (blob.c, grow_cluster_array). I/O
 * already past its bounds check when a shrink lands sees holes: reads give
 * zeroes, writes fail with -EINVAL. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

enum blob_io_type { BLOB_IO_READ, BLOB_IO_WRITE, BLOB_IO_UNMAP, BLOB_IO_WRITE_ZEROES };

#define BLOB_IO_INLINE_IOVS 16

/* Preallocated per channel (max_channel_ops of them): the I/O path allocates
 * nothing unless a caller passes more than BLOB_IO_INLINE_IOVS iovecs. */
struct blob_io {
	struct blob_io *next_free;
	struct brisk_blob *blob;
	struct brisk_io_channel *io_ch;
	struct blob_channel *ch;
	struct brisk_thread *thread;
	enum blob_io_type type;
	struct iovec single;
	struct iovec *iov;          /* the caller's */
	int iovcnt;
	struct iovec *seg_iov;      /* the slice of the current segment */
	struct iovec seg_iov_inline[BLOB_IO_INLINE_IOVS];
	int seg_iovcnt;
	uint64_t offset;            /* io units, next segment */
	uint64_t left;              /* io units still to do */
	uint64_t byte_pos;          /* position in the caller's buffers */
	uint64_t seg_len;           /* io units of the current segment */
	brisk_blob_op_complete cb;
	void *cb_arg;
	struct brisk_bs_dev_cb_args args;
	int rc;
};

/* A thin allocation of one cluster, on the metadata thread. */
struct blob_alloc_req {
	TAILQ_ENTRY(blob_alloc_req) link;
	struct brisk_blob *blob;
	uint64_t index;             /* blob cluster */
	uint64_t cluster;           /* device cluster being prepared */
	void *copy_buf;             /* clone: the ancestor's cluster on its way */
	struct blob_io *io;
	int rc;
	struct blob_alloc_req *leader; /* NULL: this one does the work */
	TAILQ_HEAD(, blob_alloc_req) followers;
	struct brisk_bs_dev_cb_args args;
};

static void io_next_segment(struct blob_io *io);

static void io_put(struct blob_io *io)
{
	if (io->seg_iov != io->seg_iov_inline) {
		free(io->seg_iov);
	}
	io->next_free = io->ch->io_free;
	io->ch->io_free = io;
}

static void io_complete_msg(void *ctx)
{
	struct blob_io *io = ctx;
	brisk_blob_op_complete cb = io->cb;
	void *cb_arg = io->cb_arg;
	int rc = io->rc;

	/* Back in the pool first: the callback may submit again at once. */
	io_put(io);
	cb(cb_arg, rc);
}

int blob_channel_io_init(struct blob_channel *ch, uint32_t n)
{
	ch->io_pool = calloc(n, sizeof(struct blob_io));
	if (ch->io_pool == NULL) {
		return -ENOMEM;
	}
	ch->io_free = NULL;
	for (uint32_t i = n; i > 0; i--) {
		ch->io_pool[i - 1].next_free = ch->io_free;
		ch->io_free = &ch->io_pool[i - 1];
	}
	return 0;
}

void blob_channel_io_fini(struct blob_channel *ch)
{
	free(ch->io_pool);
	ch->io_pool = NULL;
	ch->io_free = NULL;
}

static void io_finish(struct blob_io *io, int rc)
{
	io->rc = rc;
	/* Runs from a device completion or a message, never inside the submit call. */
	io_complete_msg(io);
}

static void io_segment_done(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct blob_io *io = cb_arg;

	(void)ch;
	if (rc != 0) {
		io_finish(io, rc);
		return;
	}
	io->offset += io->seg_len;
	io->left -= io->seg_len;
	io->byte_pos += io->seg_len * io->blob->bs->io_unit;
	io_next_segment(io);
}

/* The part of the caller's iovecs at byte_pos, seg_len io units long. */
static void io_slice(struct blob_io *io)
{
	uint64_t skip = io->byte_pos, want = io->seg_len * io->blob->bs->io_unit;
	int n = 0;

	for (int i = 0; i < io->iovcnt && want > 0; i++) {
		uint64_t len = io->iov[i].iov_len;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		io->seg_iov[n].iov_base = (uint8_t *)io->iov[i].iov_base + skip;
		io->seg_iov[n].iov_len = len - skip < want ? len - skip : want;
		want -= io->seg_iov[n].iov_len;
		skip = 0;
		n++;
	}
	io->seg_iovcnt = n;
}

static void io_submit_segment(struct blob_io *io, uint64_t cluster)
{
	struct brisk_blob_store *bs = io->blob->bs;
	uint64_t upc = bs->io_units_per_cluster;
	uint64_t lba = cluster * upc + io->offset % upc;

	io->args.cb_fn = io_segment_done;
	io->args.cb_arg = io;
	io->args.channel = io->ch->dev_ch;
	switch (io->type) {
	case BLOB_IO_READ:
		io_slice(io);
		if (cluster == 0) {
			io->args.channel = io->ch->zeroes_ch;
			bs->zeroes_dev->readv(bs->zeroes_dev, io->ch->zeroes_ch, io->seg_iov, io->seg_iovcnt,
					      io->offset, (uint32_t)io->seg_len, &io->args);
		} else {
			bs->dev->readv(bs->dev, io->ch->dev_ch, io->seg_iov, io->seg_iovcnt, lba,
				       (uint32_t)io->seg_len, &io->args);
		}
		break;
	case BLOB_IO_WRITE:
		io_slice(io);
		bs->dev->writev(bs->dev, io->ch->dev_ch, io->seg_iov, io->seg_iovcnt, lba,
				(uint32_t)io->seg_len, &io->args);
		break;
	case BLOB_IO_UNMAP:
		bs->dev->unmap(bs->dev, io->ch->dev_ch, lba, io->seg_len, &io->args);
		break;
	case BLOB_IO_WRITE_ZEROES:
		bs->dev->write_zeroes(bs->dev, io->ch->dev_ch, lba, io->seg_len, &io->args);
		break;
	}
}

/* ---- Thin allocation (metadata thread) ---- */

static void alloc_reply_msg(void *ctx)
{
	struct blob_alloc_req *r = ctx;
	struct blob_io *io = r->io;
	int rc = r->rc;

	free(r);
	if (rc != 0) {
		io_finish(io, rc);
		return;
	}
	/* Look again: the cluster is published now (or someone else's is). */
	io_next_segment(io);
}

/* Back to the I/O's thread. */
static void alloc_reply(struct blob_alloc_req *r, int rc)
{
	r->rc = rc;
	if (brisk_thread_send_msg(r->io->thread, alloc_reply_msg, r) != 0) {
		BRISK_ERRLOG("blob I/O: cannot reply to an allocation request");
		abort(); /* losing the request would hang the I/O forever */
	}
}

static void alloc_leader_done(struct blob_alloc_req *r, int rc)
{
	struct blob_alloc_req *f;

	TAILQ_REMOVE(&r->blob->alloc_reqs, r, link);
	while ((f = TAILQ_FIRST(&r->followers)) != NULL) {
		TAILQ_REMOVE(&r->followers, f, link);
		alloc_reply(f, rc);
	}
	alloc_reply(r, rc);
}

static void alloc_synced(void *ctx, int rc)
{
	struct blob_alloc_req *r = ctx;
	struct brisk_blob *b = r->blob;

	if (rc != 0) {
		BRISK_ERRLOG("blob 0x%lx: metadata sync after allocating cluster %lu failed: %d",
			     b->id, r->index, rc);
		alloc_leader_done(r, rc);
		return;
	}
	if (r->index < b->md.num_clusters &&
	    b->md.clusters[r->index] == (r->cluster | BLOB_CLUSTER_PENDING)) {
		/* release: the cluster's zeroes and metadata are durable before any
		 * I/O thread that sees the number writes into it. */
		__atomic_store_n(&b->md.clusters[r->index], r->cluster, __ATOMIC_RELEASE);
	}
	alloc_leader_done(r, 0);
}

static void alloc_zeroed(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct blob_alloc_req *r = cb_arg;
	struct brisk_blob *b = r->blob;

	(void)ch;
	if (r->copy_buf != NULL) {
		blob_page_buf_free(r->copy_buf);
		r->copy_buf = NULL;
	}
	if (rc != 0) {
		BRISK_ERRLOG("blob 0x%lx: zeroing new cluster %lu failed: %d", b->id, r->cluster, rc);
		blob_free_cluster(b->bs, r->cluster);
		alloc_leader_done(r, rc);
		return;
	}
	if (r->index >= b->md.num_clusters || b->md.clusters[r->index] != 0) {
		/* Shrunk meanwhile: give the cluster back. */
		blob_free_cluster(b->bs, r->cluster);
		alloc_leader_done(r, r->index >= b->md.num_clusters ? -EINVAL : 0);
		return;
	}
	/* Serialized with the pending mark cleared (see blob_md_encode); I/O
	 * threads still see it pending until the sync completes. */
	b->md.clusters[r->index] = r->cluster | BLOB_CLUSTER_PENDING;
	b->dirty = true;
	blob_sync(b, alloc_synced, r);
}

static void alloc_copy_read(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct blob_alloc_req *r = cb_arg;
	struct brisk_blob_store *bs = r->blob->bs;
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);
	uint64_t per = bs->io_units_per_cluster;

	(void)ch;
	if (rc != 0) {
		alloc_zeroed(NULL, r, rc);
		return;
	}
	r->args.cb_fn = alloc_zeroed;
	r->args.cb_arg = r;
	r->args.channel = bch->dev_ch;
	bs->dev->write(bs->dev, bch->dev_ch, r->copy_buf, r->cluster * per, (uint32_t)per, &r->args);
}

/* Copy on first write of a clone: the new cluster starts as the ancestor's
 * copy (read whole, then written whole), then continues as a zeroed one. */
static void alloc_copy_from_ancestor(struct blob_alloc_req *r)
{
	struct brisk_blob_store *bs = r->blob->bs;
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);
	uint64_t per = bs->io_units_per_cluster;

	r->copy_buf = blob_page_buf_alloc(bs->pages_per_cluster);
	if (r->copy_buf == NULL) {
		alloc_zeroed(NULL, r, -ENOMEM);
		return;
	}
	r->args.cb_fn = alloc_copy_read;
	r->args.cb_arg = r;
	r->args.channel = bch->dev_ch;
	bs->dev->read(bs->dev, bch->dev_ch, r->copy_buf, blob_backing_cluster(r->blob, r->index) * per,
		      (uint32_t)per, &r->args);
}

static void alloc_on_md_thread(void *ctx)
{
	struct blob_alloc_req *r = ctx;
	struct brisk_blob *b = r->blob;
	struct brisk_blob_store *bs = b->bs;
	struct blob_alloc_req *l;
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);
	uint64_t per = bs->io_units_per_cluster;

	if (r->index >= b->md.num_clusters) {
		alloc_reply(r, -EINVAL);
		return;
	}
	if (b->md.clusters[r->index] != 0 && !(b->md.clusters[r->index] & BLOB_CLUSTER_PENDING)) {
		alloc_reply(r, 0); /* allocated by an earlier request */
		return;
	}
	TAILQ_FOREACH(l, &b->alloc_reqs, link) {
		if (l->index == r->index) {
			/* One allocation per cluster: wait for the one running. */
			TAILQ_INSERT_TAIL(&l->followers, r, link);
			return;
		}
	}
	r->cluster = blob_alloc_cluster(bs);
	if (r->cluster == 0) {
		BRISK_ERRLOG("blob 0x%lx: no free cluster for a thin write", b->id);
		alloc_reply(r, -ENOSPC);
		return;
	}
	TAILQ_INIT(&r->followers);
	TAILQ_INSERT_TAIL(&b->alloc_reqs, r, link);
	if (blob_backing_cluster(b, r->index) != 0) {
		alloc_copy_from_ancestor(r);
		return;
	}
	/* The rest of the cluster must read zeroes, as it did before. */
	r->args.cb_fn = alloc_zeroed;
	r->args.cb_arg = r;
	r->args.channel = bch->dev_ch;
	bs->dev->write_zeroes(bs->dev, bch->dev_ch, r->cluster * per, per, &r->args);
}

static void io_request_alloc(struct blob_io *io, uint64_t index)
{
	struct blob_alloc_req *r = calloc(1, sizeof(*r));
	struct brisk_blob_store *bs = io->blob->bs;

	if (r == NULL) {
		io_finish(io, -ENOMEM);
		return;
	}
	r->blob = io->blob;
	r->index = index;
	r->io = io;
	TAILQ_INIT(&r->followers);
	if (brisk_thread_send_msg(bs->md_thread, alloc_on_md_thread, r) != 0) {
		free(r);
		io_finish(io, -ENOMEM);
	}
}

/* ---- Segments ---- */

static void io_next_segment(struct blob_io *io)
{
	struct brisk_blob_store *bs = io->blob->bs;
	uint64_t upc = bs->io_units_per_cluster;
	uint64_t index, cluster, in;

	if (io->left == 0) {
		io_finish(io, 0);
		return;
	}
	index = io->offset / upc;
	in = io->offset % upc;
	io->seg_len = upc - in < io->left ? upc - in : io->left;
	/* acquire (both): the array pointer pairs with the release in
	 * grow_cluster_array, the entry with the one in alloc_synced. */
	cluster = __atomic_load_n(&__atomic_load_n(&io->blob->md.clusters, __ATOMIC_ACQUIRE)[index],
				  __ATOMIC_ACQUIRE);
	if (cluster & BLOB_CLUSTER_PENDING) {
		cluster = 0;
	}
	if (cluster == 0) {
		if (io->type == BLOB_IO_WRITE) {
			io_request_alloc(io, index);
			return;
		}
		if (io->type == BLOB_IO_READ) {
			/* A clone reads what its nearest ancestor has (or zeroes). */
			cluster = blob_backing_cluster(io->blob, index);
		} else {
			/* Unmap / write zeroes of a hole: it reads zeroes already. */
			io->args.cb_fn = io_segment_done;
			io->args.cb_arg = io;
			io->args.channel = NULL;
			blob_dev_complete(&io->args, 0);
			return;
		}
	}
	io_submit_segment(io, cluster);
}

static void io_start_msg(void *ctx)
{
	io_next_segment(ctx);
}

static void io_start(struct brisk_blob *blob, struct brisk_io_channel *ch, enum blob_io_type type,
		     void *payload, struct iovec *iov, int iovcnt, uint64_t offset, uint64_t length,
		     brisk_blob_op_complete cb_fn, void *cb_arg)
{
	static const char *const names[] = { "read", "write", "unmap", "write_zeroes" };
	struct blob_channel *bch;
	struct blob_io *io;
	uint64_t total;
	int rc = 0;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("blob %s: cb_fn is NULL", names[type]);
		return;
	}
	if (blob == NULL || ch == NULL) {
		BRISK_ERRLOG("blob %s: %s is NULL", names[type], blob == NULL ? "blob" : "channel");
		blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		return;
	}
	bch = brisk_io_channel_get_ctx(ch);
	total = blob->md.num_clusters * blob->bs->io_units_per_cluster;
	if (brisk_io_channel_get_io_device(ch) != blob->bs) {
		BRISK_ERRLOG("blob %s: the channel belongs to another store", names[type]);
		rc = -EINVAL;
	} else if (length == 0 || offset >= total || length > total - offset) {
		BRISK_ERRLOG("blob %s: io units %lu+%lu outside blob 0x%lx of %lu io units", names[type],
			     offset, length, blob->id, total);
		rc = -EINVAL;
	} else if ((type == BLOB_IO_READ || type == BLOB_IO_WRITE) && iov == NULL && payload == NULL) {
		BRISK_ERRLOG("blob %s: payload is NULL", names[type]);
		rc = -EINVAL;
	} else if (iov != NULL && iovcnt <= 0) {
		BRISK_ERRLOG("blob %s: iovcnt %d", names[type], iovcnt);
		rc = -EINVAL;
	} else if (type != BLOB_IO_READ && ((blob->md.flags & BLOB_FLAG_READ_ONLY) ||
					   (blob->refs > 0 && blob->refs == blob->ro_refs))) {
		BRISK_ERRLOG("blob %s: blob 0x%lx is read-only", names[type], blob->id);
		rc = -EPERM;
	} else if (bch->io_free == NULL) {
		rc = -ENOMEM; /* max_channel_ops in flight on this channel */
	}
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	io = bch->io_free;
	bch->io_free = io->next_free;
	memset(io, 0, sizeof(*io));
	io->blob = blob;
	io->io_ch = ch;
	io->ch = bch;
	io->thread = brisk_get_thread();
	io->type = type;
	if (iov == NULL) {
		io->single.iov_base = payload;
		io->single.iov_len = length * blob->bs->io_unit;
		io->iov = &io->single;
		io->iovcnt = 1;
	} else {
		io->iov = iov;
		io->iovcnt = iovcnt;
	}
	io->seg_iov = io->seg_iov_inline;
	if (io->iovcnt > BLOB_IO_INLINE_IOVS) {
		io->seg_iov = calloc((size_t)io->iovcnt, sizeof(struct iovec));
		if (io->seg_iov == NULL) {
			io->seg_iov = io->seg_iov_inline;
			io_put(io);
			blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
			return;
		}
	}
	io->offset = offset;
	io->left = length;
	io->cb = cb_fn;
	io->cb_arg = cb_arg;
	/* Start from a message: the first segment may complete inline (holes). */
	if (brisk_thread_send_msg(io->thread, io_start_msg, io) != 0) {
		io_put(io);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
	}
}

void brisk_blob_io_read(struct brisk_blob *blob, struct brisk_io_channel *channel, void *payload,
			uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	io_start(blob, channel, BLOB_IO_READ, payload, NULL, 0, offset, length, cb_fn, cb_arg);
}

void brisk_blob_io_write(struct brisk_blob *blob, struct brisk_io_channel *channel, void *payload,
			 uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	io_start(blob, channel, BLOB_IO_WRITE, payload, NULL, 0, offset, length, cb_fn, cb_arg);
}

void brisk_blob_io_readv(struct brisk_blob *blob, struct brisk_io_channel *channel,
			 struct iovec *iov, int iovcnt, uint64_t offset, uint64_t length,
			 brisk_blob_op_complete cb_fn, void *cb_arg)
{
	if (iov == NULL) {
		iovcnt = 0;
	}
	io_start(blob, channel, BLOB_IO_READ, NULL, iov, iovcnt, offset, length, cb_fn, cb_arg);
}

void brisk_blob_io_writev(struct brisk_blob *blob, struct brisk_io_channel *channel,
			  struct iovec *iov, int iovcnt, uint64_t offset, uint64_t length,
			  brisk_blob_op_complete cb_fn, void *cb_arg)
{
	io_start(blob, channel, BLOB_IO_WRITE, NULL, iov, iovcnt, offset, length, cb_fn, cb_arg);
}

void brisk_blob_io_unmap(struct brisk_blob *blob, struct brisk_io_channel *channel,
			 uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	io_start(blob, channel, BLOB_IO_UNMAP, NULL, NULL, 0, offset, length, cb_fn, cb_arg);
}

void brisk_blob_io_write_zeroes(struct brisk_blob *blob, struct brisk_io_channel *channel,
				uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn,
				void *cb_arg)
{
	io_start(blob, channel, BLOB_IO_WRITE_ZEROES, NULL, NULL, 0, offset, length, cb_fn, cb_arg);
}

/* ---- Channels ---- */

struct brisk_io_channel *brisk_bs_alloc_io_channel(struct brisk_blob_store *bs)
{
	if (bs == NULL) {
		BRISK_ERRLOG("brisk_bs_alloc_io_channel: bs is NULL");
		return NULL;
	}
	return brisk_get_io_channel(bs);
}

void brisk_bs_free_io_channel(struct brisk_io_channel *channel)
{
	if (channel != NULL) {
		brisk_put_io_channel(channel);
	}
}
