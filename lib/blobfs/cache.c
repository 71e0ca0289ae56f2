/*
 * The cache: a fixed set of BRISK_BLOBFS_CACHE_BUFFER_SIZE buffers, taken at
 * start-up (nothing is allocated per I/O), each holding one chunk of one
 * file, found through a hash of (node, chunk), evicted least recently used
 * first. Small writes land in buffers and reach the blob as page-aligned
 * writes of the dirty range at sync, close, unload or eviction. A buffer in
 * use by an operation is pinned.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "blobfs_internal.h"

#define CHUNK BRISK_BLOBFS_CACHE_BUFFER_SIZE

int blobfs_cache_init(struct brisk_blobfs *fs, uint64_t bytes)
{
	uint32_t n = (uint32_t)(bytes / CHUNK);

	if (n < BLOBFS_MIN_BUFS) {
		n = BLOBFS_MIN_BUFS;
	}
	fs->bufs = calloc(n, sizeof(*fs->bufs));
	fs->nbuckets = n * 2;
	fs->buckets = calloc(fs->nbuckets, sizeof(*fs->buckets));
	fs->buf_mem = brisk_dma_malloc((size_t)n * CHUNK, 4096, NULL);
	if (fs->bufs == NULL || fs->buckets == NULL || fs->buf_mem == NULL) {
		BRISK_ERRLOG("blobfs: no memory for a cache of %u buffers\n", n);
		return -ENOMEM;
	}
	fs->nbufs = n;
	TAILQ_INIT(&fs->lru);
	TAILQ_INIT(&fs->buf_waiters);
	for (uint32_t i = 0; i < fs->nbuckets; i++) {
		TAILQ_INIT(&fs->buckets[i]);
	}
	for (uint32_t i = 0; i < n; i++) {
		fs->bufs[i].data = fs->buf_mem + (size_t)i * CHUNK;
		TAILQ_INSERT_TAIL(&fs->lru, &fs->bufs[i], lru);
	}
	return 0;
}

void blobfs_cache_fini(struct brisk_blobfs *fs)
{
	free(fs->bufs);
	free(fs->buckets);
	if (fs->buf_mem != NULL) {
		brisk_free(fs->buf_mem);
	}
	fs->bufs = NULL;
	fs->buckets = NULL;
	fs->buf_mem = NULL;
}

static struct blobfs_buf_list *bucket(struct brisk_blobfs *fs, struct blobfs_node *node,
				      uint64_t index)
{
	uint64_t h = ((uintptr_t)node >> 4) * 0x9e3779b97f4a7c15ull ^ index * 0xff51afd7ed558ccdull;

	return &fs->buckets[(h >> 17) % fs->nbuckets];
}

struct blobfs_buf *blobfs_buf_lookup(struct blobfs_node *node, uint64_t index)
{
	struct blobfs_buf *b;

	TAILQ_FOREACH(b, bucket(node->fs, node, index), hash) {
		if (b->node == node && b->index == index) {
			return b;
		}
	}
	return NULL;
}

static void buf_detach(struct blobfs_buf *b)
{
	struct brisk_blobfs *fs = b->node->fs;

	TAILQ_REMOVE(bucket(fs, b->node, b->index), b, hash);
	TAILQ_REMOVE(&b->node->bufs, b, nlink);
	b->node = NULL;
	b->valid = false;
	b->in_batch = false;
	b->dirty_lo = b->dirty_hi = 0;
}

static void buf_attach(struct blobfs_buf *b, struct blobfs_node *node, uint64_t index)
{
	b->node = node;
	b->index = index;
	TAILQ_INSERT_TAIL(bucket(node->fs, node, index), b, hash);
	TAILQ_INSERT_TAIL(&node->bufs, b, nlink);
}

static bool buf_dirty(const struct blobfs_buf *b)
{
	return b->dirty_lo != b->dirty_hi;
}

/* An eviction writeback finished: the buffer may be reused by a waiter. */
static void evict_done(void *ctx, int rc)
{
	struct blobfs_buf *b = ctx;
	struct brisk_blobfs *fs = b->node->fs;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: writeback of chunk %lu failed: %d (kept dirty)\n",
			     (unsigned long)b->index, rc);
	}
	blobfs_buf_release(b);
	blobfs_buf_wake_waiters(fs);
}

/* No clean buffer is free: write the least recently used dirty one back. */
static void start_eviction(struct brisk_blobfs *fs)
{
	struct blobfs_buf *b;

	TAILQ_FOREACH(b, &fs->lru, lru) {
		if (b->pins == 0 && !b->in_batch && buf_dirty(b)) {
			b->pins++;
			blobfs_buf_store(b, evict_done, b);
			return;
		}
	}
}

struct blobfs_buf *blobfs_buf_get(struct blobfs_node *node, uint64_t index, struct blobfs_op *op)
{
	struct brisk_blobfs *fs = node->fs;
	struct blobfs_buf *b = blobfs_buf_lookup(node, index);

	if (b == NULL) {
		TAILQ_FOREACH(b, &fs->lru, lru) {
			if (b->pins == 0 && !buf_dirty(b)) {
				break;
			}
		}
		if (b == NULL) {
			if (op != NULL) {
				TAILQ_INSERT_TAIL(&fs->buf_waiters, op, link);
				start_eviction(fs);
			}
			return NULL;
		}
		if (b->node != NULL) {
			buf_detach(b);
		}
		buf_attach(b, node, index);
	}
	b->pins++;
	TAILQ_REMOVE(&fs->lru, b, lru);
	TAILQ_INSERT_TAIL(&fs->lru, b, lru);
	return b;
}

void blobfs_buf_release(struct blobfs_buf *buf)
{
	buf->pins--;
	if (buf->pins == 0 && !TAILQ_EMPTY(&buf->node->fs->buf_waiters)) {
		blobfs_buf_wake_waiters(buf->node->fs);
	}
}

static void waiter_msg(void *ctx)
{
	struct blobfs_op *op = ctx;

	op->start(op);
}

/* Waiters retry from a message each: a retry that fails queues itself again. */
void blobfs_buf_wake_waiters(struct brisk_blobfs *fs)
{
	struct blobfs_op *op;

	while ((op = TAILQ_FIRST(&fs->buf_waiters)) != NULL) {
		TAILQ_REMOVE(&fs->buf_waiters, op, link);
		blobfs_defer(waiter_msg, op);
	}
}

void blobfs_buf_drop(struct blobfs_buf *buf)
{
	struct brisk_blobfs *fs = buf->node->fs;

	if (buf_dirty(buf)) {
		buf->node->dirty_bufs--;
	}
	buf_detach(buf);
	TAILQ_REMOVE(&fs->lru, buf, lru);
	TAILQ_INSERT_HEAD(&fs->lru, buf, lru);
}

void blobfs_buf_mark_dirty(struct blobfs_buf *buf, uint32_t lo, uint32_t hi)
{
	if (!buf_dirty(buf)) {
		buf->node->dirty_bufs++;
		buf->dirty_lo = lo;
		buf->dirty_hi = hi;
		return;
	}
	buf->dirty_lo = lo < buf->dirty_lo ? lo : buf->dirty_lo;
	buf->dirty_hi = hi > buf->dirty_hi ? hi : buf->dirty_hi;
}

void blobfs_node_drop_bufs_from(struct blobfs_node *node, uint64_t size)
{
	struct blobfs_buf *b, *next;
	uint64_t first = (size + CHUNK - 1) / CHUNK;

	for (b = TAILQ_FIRST(&node->bufs); b != NULL; b = next) {
		next = TAILQ_NEXT(b, nlink);
		if (b->index >= first && b->pins == 0) {
			blobfs_buf_drop(b);
		}
	}
}

/* ---- writeback of a node: every dirty buffer, in parallel ---- */

struct wb_ctx {
	struct blobfs_node *node;
	void (*cb)(void *ctx, int rc);
	void *cb_arg;
	uint32_t pending;
	int rc;
};

/* An eviction may still be writing one of the node's buffers (already
 * clean, so not written again here): the sync must not pass it. Rare and
 * short, so waiting is a re-check from a message. */
static void wb_finish(void *arg)
{
	struct wb_ctx *w = arg;

	if (w->node->flushing > 0) {
		blobfs_defer(wb_finish, w);
		return;
	}
	w->cb(w->cb_arg, w->rc);
	free(w);
}

static void wb_one_done(void *arg, int rc)
{
	struct wb_ctx *w = arg;

	if (rc != 0 && w->rc == 0) {
		w->rc = rc;
	}
	if (--w->pending == 0) {
		wb_finish(w);
	}
}

/* Drops the reference the start held, from a message so that a node with
 * nothing dirty still completes outside the call. */
static void wb_start_ref_done(void *arg)
{
	wb_one_done(arg, 0);
}

struct wb_buf {
	struct wb_ctx *w;
	struct blobfs_buf *b;
};

static void wb_buf_done(void *arg, int rc)
{
	struct wb_buf *wb = arg;
	struct wb_ctx *w = wb->w;

	blobfs_buf_release(wb->b);
	free(wb);
	wb_one_done(w, rc);
}

void blobfs_node_writeback(struct blobfs_node *node, void (*cb)(void *ctx, int rc), void *ctx)
{
	struct wb_ctx *w = calloc(1, sizeof(*w));
	struct blobfs_buf *b;

	if (w == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	w->node = node;
	w->cb = cb;
	w->cb_arg = ctx;
	w->pending = 1;
	TAILQ_FOREACH(b, &node->bufs, nlink) {
		struct wb_buf *wb;

		if (!buf_dirty(b) || b->in_batch) {
			continue;
		}
		wb = malloc(sizeof(*wb));
		if (wb == NULL) {
			w->rc = -ENOMEM;
			break;
		}
		wb->w = w;
		wb->b = b;
		b->pins++;
		w->pending++;
		blobfs_buf_store(b, wb_buf_done, wb);
	}
	blobfs_defer(wb_start_ref_done, w);
}
