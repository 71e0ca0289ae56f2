/* Blob I/O behind the cache: loading a chunk into a buffer, writing a
 * buffer's dirty range back (rounded out to io units), growing a blob to
 * hold a size, and making a file durable: one metadata sync when its size or
 * cluster count changed since the last one, else one device flush. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blobfs_internal.h"

#define CHUNK BRISK_BLOBFS_CACHE_BUFFER_SIZE

static uint64_t blob_bytes(struct blobfs_node *node)
{
	return brisk_blob_get_num_clusters(node->blob) * node->fs->cluster_size;
}

static void zero_past_size(struct blobfs_buf *b)
{
	uint64_t start = b->index * CHUNK, size = b->node->size;

	if (size <= start) {
		memset(b->data, 0, CHUNK);
	} else if (size < start + CHUNK) {
		memset(b->data + (size - start), 0, start + CHUNK - size);
	}
}

static void load_done(void *arg, int rc)
{
	struct blobfs_buf *b = arg;

	if (rc == 0) {
		zero_past_size(b);
		b->valid = true;
	}
	b->io.cb(b->io.ctx, rc);
}

static void load_zero_msg(void *arg)
{
	load_done(arg, 0);
}

void blobfs_buf_load(struct blobfs_buf *b, void (*cb)(void *ctx, int rc), void *ctx)
{
	struct blobfs_node *node = b->node;
	uint64_t start = b->index * CHUNK, cap = blob_bytes(node), len;

	b->io.cb = cb;
	b->io.ctx = ctx;
	if (start >= cap || start >= node->size) {
		blobfs_defer(load_zero_msg, b); /* nothing stored there: zeroes */
		return;
	}
	len = cap - start < CHUNK ? cap - start : CHUNK;
	brisk_blob_io_read(node->blob, node->fs->ch, b->data, start / node->fs->io_unit,
			   len / node->fs->io_unit, load_done, b);
}

static void store_done(void *arg, int rc)
{
	struct blobfs_buf *b = arg;

	b->node->flushing--;
	if (rc != 0) {
		blobfs_buf_mark_dirty(b, b->io.lo, b->io.hi);
	}
	b->io.cb(b->io.ctx, rc);
}

void blobfs_buf_store(struct blobfs_buf *b, void (*cb)(void *ctx, int rc), void *ctx)
{
	struct blobfs_node *node = b->node;
	uint64_t unit = node->fs->io_unit, start = b->index * CHUNK;
	uint64_t lo = b->dirty_lo / unit * unit, hi = (b->dirty_hi + unit - 1) / unit * unit;
	uint64_t cap = blob_bytes(node);

	b->io.cb = cb;
	b->io.ctx = ctx;
	b->io.lo = b->dirty_lo;
	b->io.hi = b->dirty_hi;
	b->dirty_lo = b->dirty_hi = 0;
	node->dirty_bufs--;
	node->flushing++;
	if (start + hi > cap) {
		hi = cap > start ? cap - start : 0;
	}
	if (hi <= lo) {
		store_done(b, 0); /* past the blob's end: truncated away */
		return;
	}
	brisk_blob_io_write(node->blob, node->fs->ch, b->data + lo, (start + lo) / unit,
			    (hi - lo) / unit, store_done, b);
}

void blobfs_node_reserve(struct blobfs_node *node, uint64_t size, void (*cb)(void *ctx, int rc),
			 void *ctx)
{
	uint64_t csz = node->fs->cluster_size;
	uint64_t need = (size + csz - 1) / csz;

	if (need <= brisk_blob_get_num_clusters(node->blob)) {
		cb(ctx, 0);
		return;
	}
	node->md_clean = false; /* the cluster count changes: the next sync writes it */
	brisk_blob_resize(node->blob, need, cb, ctx);
}

/* One sync of a node's durable state: the metadata when it changed, else a
 * device flush alone (the data writes before it are complete; the store
 * persists a thin blob's new clusters itself before such a write ends). */
struct md_sync {
	struct brisk_bs_dev_cb_args args;
	struct blobfs_node *node;
	uint64_t size;
	void (*cb)(void *ctx, int rc);
	void *ctx;
};
_Static_assert(sizeof(struct md_sync) <= BLOBFS_OP_MEM, "md_sync must fit a pool block");

static void md_sync_finish(struct md_sync *m, int rc)
{
	void (*cb)(void *ctx, int rc) = m->cb;
	void *ctx = m->ctx;

	blobfs_op_mem_put(m->node->fs, m);
	cb(ctx, rc);
}

static void md_synced(void *arg, int rc)
{
	struct md_sync *m = arg;

	if (rc == 0) {
		m->node->synced_size = m->size;
		m->node->md_clean = true;
	}
	md_sync_finish(m, rc);
}

static void md_flushed(struct brisk_io_channel *ch, void *arg, int rc)
{
	(void)ch;
	md_sync_finish(arg, rc);
}

static void md_flush(struct md_sync *m)
{
	struct brisk_blobfs *fs = m->node->fs;

	m->args.cb_fn = md_flushed;
	m->args.channel = fs->dev_ch;
	m->args.cb_arg = m;
	fs->dev->flush(fs->dev, fs->dev_ch, &m->args);
}

void blobfs_node_sync_md(struct blobfs_node *node, void (*cb)(void *ctx, int rc), void *ctx)
{
	/* inside a batch only the size before it is durable data */
	uint64_t size = node->batch ? node->batch_size : node->size;
	uint64_t csz = node->fs->cluster_size;
	struct md_sync *m = blobfs_op_mem_get(node->fs);
	int rc;

	if (node->lazy_size) {
		/* within the blob's clusters: load accepts it, reads past the
		 * end return what the clusters hold */
		size = (size + csz - 1) / csz * csz;
	}
	if (m == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	*m = (struct md_sync){ .node = node, .size = size, .cb = cb, .ctx = ctx };
	if (node->md_clean && size == node->synced_size) {
		md_flush(m);
		return;
	}
	node->md_clean = false; /* until this sync completes */
	rc = brisk_blob_set_xattr(node->blob, BLOBFS_XATTR_SIZE, &size, sizeof(size));
	if (rc != 0) {
		md_sync_finish(m, rc);
		return;
	}
	brisk_blob_sync_md(node->blob, md_synced, m);
}
