/* The blob I/O path: requests in io units on a channel, split at cluster
 * boundaries, unallocated clusters read through the zeroes device, and thin
 * blobs allocating a cluster on first write by a message to the metadata
 * thread.
 *
 * A request runs its segments (one per cluster touched) one after another:
 * next_segment -> (alloc_request -> [md thread] alloc_cluster -> fill ->
 * sync -> publish -> [back] resume) -> submit -> segment_done -> ... -> complete.
 * A write segment that covers its whole cluster is the fill itself: the
 * md thread writes its data into the new cluster before the sync, and
 * resume goes straight to segment_done.
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
/* Segment iovec arrays for larger requests: one per BLOB_IO_BIG_IOV_SHARE
 * requests of the channel (at least BLOB_IO_BIG_IOV_MIN); a request that
 * finds none free waits for one (iov_waiters), it does not fail. */
#define BLOB_IO_BIG_IOV_SHARE 64
#define BLOB_IO_BIG_IOV_MIN 2

/* Preallocated per channel (max_channel_ops of them), with everything a
 * request needs (segment iovecs, its cluster allocation request): the I/O
 * path allocates nothing. */
struct blob_io {
	struct blob_io *next_free;
	/* On its channel's in-flight list, or on its frozen list while the blob
	 * is frozen (never both). */
	TAILQ_ENTRY(blob_io) link;
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
	struct blob_alloc_req alloc; /* first write to an unallocated cluster */
	uint64_t offset;            /* io units, next segment */
	uint64_t left;              /* io units still to do */
	uint64_t byte_pos;          /* position in the caller's buffers */
	uint64_t seg_len;           /* io units of the current segment */
	uint64_t seg_in;            /* where it starts in its cluster (io units) */
	brisk_blob_op_complete cb;
	void *cb_arg;
	struct brisk_bs_dev_cb_args args;
	int rc;
};

static void io_next_segment(struct blob_io *io);
static void io_ready(struct blob_io *io);

/* Gives a big iovec array back: to the first request waiting for one, or
 * to the free stack. */
static void io_big_iov_put(struct blob_channel *ch, struct iovec *iov)
{
	struct blob_io *w = TAILQ_FIRST(&ch->iov_waiters);

	if (w == NULL) {
		ch->big_iov_free[ch->big_iov_nfree++] = iov;
		return;
	}
	TAILQ_REMOVE(&ch->iov_waiters, w, link);
	w->seg_iov = iov;
	io_ready(w);
}

static void io_put(struct blob_io *io)
{
	struct iovec *big = io->seg_iov != io->seg_iov_inline ? io->seg_iov : NULL;

	io->seg_iov = io->seg_iov_inline;
	io->next_free = io->ch->io_free;
	io->ch->io_free = io;
	if (big != NULL) {
		io_big_iov_put(io->ch, big);
	}
}

static void io_complete(void *ctx)
{
	struct blob_io *io = ctx;
	struct brisk_blob *blob = io->blob;
	struct blob_channel *ch = io->ch;
	brisk_blob_op_complete cb = io->cb;
	void *cb_arg = io->cb_arg;
	int rc = io->rc;

	TAILQ_REMOVE(&ch->inflight, io, link);
	if (ch->drain_blob == blob) {
		blob_channel_check_drained(ch);
	}
	/* Back in the pool first: the callback may submit again at once. */
	io_put(io);
	cb(cb_arg, rc);
}

static int blob_channel_big_iov_init(struct blob_channel *ch, uint32_t n)
{
	uint32_t count = n / BLOB_IO_BIG_IOV_SHARE;

	if (count < BLOB_IO_BIG_IOV_MIN) {
		count = BLOB_IO_BIG_IOV_MIN;
	}
	TAILQ_INIT(&ch->iov_waiters);
	ch->big_iov_mem = calloc((size_t)count * BRISK_BLOB_IO_MAX_IOVS, sizeof(struct iovec));
	ch->big_iov_free = calloc(count, sizeof(*ch->big_iov_free));
	if (ch->big_iov_mem == NULL || ch->big_iov_free == NULL) {
		return -ENOMEM;
	}
	for (ch->big_iov_nfree = 0; ch->big_iov_nfree < count; ch->big_iov_nfree++) {
		ch->big_iov_free[ch->big_iov_nfree] = ch->big_iov_mem +
						      (size_t)ch->big_iov_nfree * BRISK_BLOB_IO_MAX_IOVS;
	}
	return 0;
}

int blob_channel_io_init(struct blob_channel *ch, uint32_t n)
{
	TAILQ_INIT(&ch->frozen_ios);
	TAILQ_INIT(&ch->inflight);
	ch->io_pool = calloc(n, sizeof(struct blob_io));
	if (ch->io_pool == NULL || blob_channel_big_iov_init(ch, n) != 0) {
		blob_channel_io_fini(ch);
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
	free(ch->big_iov_mem);
	free(ch->big_iov_free);
	ch->io_pool = NULL;
	ch->io_free = NULL;
	ch->big_iov_mem = NULL;
	ch->big_iov_free = NULL;
	ch->big_iov_nfree = 0;
}

static void io_finish(struct blob_io *io, int rc)
{
	io->rc = rc;
	/* Runs from a device completion or a message, never inside the submit call. */
	io_complete(io);
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
	uint64_t lba = cluster * bs->io_units_per_cluster + io->seg_in;

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

/* ---- First writes: a cluster from the metadata thread (cluster_alloc.c) ---- */

static void alloc_reply_msg(void *ctx)
{
	struct blob_alloc_req *r = ctx;
	struct blob_io *io = r->done_ctx;
	int rc = r->rc;
	bool data_in = r->data_in;

	if (rc != 0) {
		io_finish(io, rc);
		return;
	}
	if (data_in) {
		/* The segment's data went in as the cluster's fill. */
		io_segment_done(NULL, io, 0);
		return;
	}
	/* Look again: the cluster is published now (or someone else's is). */
	io_next_segment(io);
}

/* On the metadata thread: back to the I/O's thread. The slot is free again:
 * the message that brought the request here has run. */
static void alloc_done(struct blob_alloc_req *r, int rc)
{
	struct blob_io *io = r->done_ctx;

	r->rc = rc;
	if (brisk_thread_send_msg_slot(io->thread, &r->slot, alloc_reply_msg, r) != 0) {
		/* The I/O's thread exited with the I/O in flight: nobody is
		 * left to complete it. */
		BRISK_ERRLOG("blob I/O: the thread of an allocating write has exited");
	}
}

static void alloc_start_msg(void *ctx)
{
	blob_cluster_alloc(ctx);
}

static void io_failed_later(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	(void)ch;
	io_finish(cb_arg, rc);
}

static void io_request_alloc(struct blob_io *io, uint64_t index)
{
	struct blob_alloc_req *r = &io->alloc;
	struct brisk_blob_store *bs = io->blob->bs;
	int rc;

	memset(r, 0, sizeof(*r));
	r->blob = io->blob;
	r->index = index;
	r->done = alloc_done;
	r->done_ctx = io;
	if (io->seg_in == 0 && io->seg_len == bs->io_units_per_cluster) {
		/* The write covers the whole cluster: its data replaces the
		 * fill (zeroes or the parent's copy) that it would overwrite at
		 * once. Used only if this request does the allocation; as a
		 * follower of another one it is written after the publish,
		 * like any write. The md thread reads seg_iov while this I/O
		 * waits for the reply. */
		io_slice(io);
		r->data_iov = io->seg_iov;
		r->data_iovcnt = io->seg_iovcnt;
	}
	rc = brisk_thread_send_msg_slot(bs->md_thread, &r->slot, alloc_start_msg, r);
	if (rc == 0) {
		return;
	}
	/* The metadata thread has exited. Maybe inside the caller's submit:
	 * fail from a message. */
	io->args.cb_fn = io_failed_later;
	io->args.cb_arg = io;
	io->args.channel = NULL;
	blob_dev_complete(&io->args, rc);
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
	/* A shift when clusters hold a power of two of io units (the usual
	 * case): this runs for every segment of every I/O. */
	if (bs->upc_shift >= 0) {
		index = io->offset >> bs->upc_shift;
		in = io->offset & (upc - 1);
	} else {
		index = io->offset / upc;
		in = io->offset % upc;
	}
	io->seg_in = in;
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

static void io_go(struct blob_io *io);

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
	} else if (iov != NULL && (iovcnt <= 0 || iovcnt > BRISK_BLOB_IO_MAX_IOVS)) {
		BRISK_ERRLOG("blob %s: iovcnt %d must be 1 .. %d", names[type], iovcnt, BRISK_BLOB_IO_MAX_IOVS);
		rc = -EINVAL;
	} else if (type != BLOB_IO_READ && ((blob->md.flags & BLOB_FLAG_READ_ONLY) || blob->degraded ||
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
	/* Field by field, not a memset of the whole request: this is the hot
	 * path, and everything else is set before it is read. */
	io->byte_pos = 0;
	io->rc = 0;
	io->seg_iovcnt = 0;
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
	io->offset = offset;
	io->left = length;
	io->cb = cb_fn;
	io->cb_arg = cb_arg;
	io->seg_iov = io->seg_iov_inline;
	if (io->iovcnt > BLOB_IO_INLINE_IOVS) {
		if (bch->big_iov_nfree == 0) {
			/* Started when a running request gives its array back. */
			TAILQ_INSERT_TAIL(&bch->iov_waiters, io, link);
			return;
		}
		io->seg_iov = bch->big_iov_free[--bch->big_iov_nfree];
	}
	io_ready(io);
}

/* Starts io unless its blob is frozen. */
static void io_ready(struct blob_io *io)
{
	/* acquire: pairs with the release in blob_freeze_io/blob_unfreeze_io. */
	if (__atomic_load_n(&io->blob->frozen, __ATOMIC_ACQUIRE) > 0) {
		/* Held until the blob's cluster map is stable again. */
		TAILQ_INSERT_TAIL(&io->ch->frozen_ios, io, link);
		return;
	}
	io_go(io);
}

/* Puts the I/O on its channel's in-flight list and starts its first
 * segment. Nothing completes inside this call: devices (and hole
 * completions) always call back later, and the allocation path fails
 * through a deferred completion. */
static void io_go(struct blob_io *io)
{
	TAILQ_INSERT_TAIL(&io->ch->inflight, io, link);
	io_next_segment(io);
}

bool blob_channel_has_inflight(struct blob_channel *ch, struct brisk_blob *blob)
{
	struct blob_io *io;

	TAILQ_FOREACH(io, &ch->inflight, link) {
		if (io->blob == blob) {
			return true;
		}
	}
	return false;
}

void blob_channel_release_frozen(struct blob_channel *ch, struct brisk_blob *blob)
{
	struct blob_io *io, *tmp;

	TAILQ_FOREACH_SAFE(io, &ch->frozen_ios, link, tmp) {
		if (io->blob == blob) {
			TAILQ_REMOVE(&ch->frozen_ios, io, link);
			io_go(io);
		}
	}
}

/* ---- Direct I/O of a stacked layer (blob.h) ---- */

/* Whether a write to blob would be refused (io_start's checks): the
 * refusal itself is left to the ordinary path, which logs it. */
static inline bool io_write_refused(const struct brisk_blob *blob)
{
	return (blob->md.flags & BLOB_FLAG_READ_ONLY) || blob->degraded ||
	       (blob->refs > 0 && blob->refs == blob->ro_refs);
}

/* The device block of io units offset..offset+length, or 0 when they are
 * not all in one allocated, published cluster. */
static uint64_t io_direct_lba(const struct brisk_blob *blob, uint64_t offset, uint64_t length)
{
	const struct brisk_blob_store *bs = blob->bs;
	uint64_t upc = bs->io_units_per_cluster, index, in, cluster;

	if (bs->upc_shift < 0 || length == 0 || offset >= blob->md.num_clusters * upc) {
		return 0;
	}
	index = offset >> bs->upc_shift;
	in = offset & (upc - 1);
	if (length > upc - in) {
		return 0;
	}
	/* acquire: as in io_next_segment. */
	cluster = __atomic_load_n(&__atomic_load_n(&blob->md.clusters, __ATOMIC_ACQUIRE)[index], __ATOMIC_ACQUIRE);
	if (cluster == 0 || (cluster & BLOB_CLUSTER_PENDING)) {
		return 0;
	}
	return cluster * upc + in;
}

/* The request taken from the pool only marks the I/O in flight (for a
 * freeze's drain): the caller does the I/O itself. */
int brisk_blob_io_direct_start(struct brisk_blob *blob, struct brisk_io_channel *channel, bool write, uint64_t offset,
			       uint64_t length, uint64_t *dev_lba, struct brisk_io_channel **dev_ch, void **token)
{
	struct blob_channel *bch = brisk_io_channel_get_ctx(channel);
	struct blob_io *io = bch->io_free;
	uint64_t lba;

	/* acquire: pairs with the release in blob_freeze_io/blob_unfreeze_io. */
	if (io == NULL || __atomic_load_n(&blob->frozen, __ATOMIC_ACQUIRE) > 0 || (write && io_write_refused(blob))) {
		return -EAGAIN;
	}
	lba = io_direct_lba(blob, offset, length);
	if (lba == 0) {
		return -EAGAIN;
	}
	bch->io_free = io->next_free;
	io->blob = blob;
	io->ch = bch;
	TAILQ_INSERT_TAIL(&bch->inflight, io, link);
	*dev_lba = lba;
	*dev_ch = bch->dev_ch;
	*token = io;
	return 0;
}

void brisk_blob_io_direct_end(void *token)
{
	struct blob_io *io = token;
	struct blob_channel *ch = io->ch;

	TAILQ_REMOVE(&ch->inflight, io, link);
	if (ch->drain_blob == io->blob) {
		blob_channel_check_drained(ch);
	}
	io_put(io);
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
