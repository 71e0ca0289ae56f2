/*
 * truncate, sync and close of an open file, each one operation on the
 * file's node queue (see rw.c for the steps).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blobfs_internal.h"

#define CHUNK BRISK_BLOBFS_CACHE_BUFFER_SIZE

struct fop {
	struct blobfs_op op;
	struct brisk_blobfs *fs;
	struct brisk_blobfs_file *file;
	uint64_t size;
	struct blobfs_buf *cur;
	brisk_blobfs_op_complete cb;
	void *cb_arg;
	int rc;
};
_Static_assert(sizeof(struct fop) <= BLOBFS_OP_MEM, "fop must fit a pool block");

/* The op and the queue are done with before the callback runs: the
 * callback may unload the file system. */
static void fop_finish(struct fop *o, int rc)
{
	struct blobfs_node *node = o->op.node;
	brisk_blobfs_op_complete cb = o->cb;
	void *cb_arg = o->cb_arg;

	blobfs_op_mem_put(o->fs, o);
	blobfs_op_done(node);
	cb(cb_arg, rc);
}

static void fop_cb(void *arg, int rc)
{
	fop_finish(arg, rc);
}

static void fop_submit(struct brisk_blobfs_file *file, uint64_t size, blobfs_op_fn start,
		       brisk_blobfs_op_complete cb_fn, void *cb_arg)
{
	struct fop *o;

	if (file == NULL || cb_fn == NULL || (o = blobfs_op_mem_get(file->node->fs)) == NULL) {
		BRISK_ERRLOG("blobfs: NULL argument or out of memory\n");
		return;
	}
	o->fs = file->node->fs;
	o->file = file;
	o->size = size;
	o->cb = cb_fn;
	o->cb_arg = cb_arg;
	blobfs_op_enqueue(file->node, &o->op, start);
}

/* ---- truncate ---- */

static void trunc_resized(void *arg, int rc)
{
	fop_finish(arg, rc);
}

static void trunc_resize(struct fop *o)
{
	struct blobfs_node *node = o->op.node;
	uint64_t csz = node->fs->cluster_size;

	node->md_clean = false;
	brisk_blob_resize(node->blob, (o->size + csz - 1) / csz, trunc_resized, o);
}

static void trunc_zeroed(void *arg, int rc)
{
	struct fop *o = arg;

	if (rc != 0) {
		fop_finish(o, rc);
		return;
	}
	trunc_resize(o);
}

/* The rest of the last cluster past the last chunk: a later extend must
 * read zeroes there, and the chunks are no longer cached. */
static void trunc_zero_cluster_tail(struct fop *o)
{
	struct blobfs_node *node = o->op.node;
	uint64_t csz = node->fs->cluster_size, unit = node->fs->io_unit;
	uint64_t from = (o->size + CHUNK - 1) / CHUNK * CHUNK;
	uint64_t to = (o->size + csz - 1) / csz * csz;
	uint64_t cap = brisk_blob_get_num_clusters(node->blob) * csz;

	to = to < cap ? to : cap;
	if (from >= to) {
		trunc_resize(o);
		return;
	}
	brisk_blob_io_write_zeroes(node->blob, node->fs->ch, from / unit, (to - from) / unit,
				   trunc_zeroed, o);
}

static void trunc_step(struct blobfs_op *op);

static void trunc_loaded(void *arg, int rc)
{
	struct fop *o = arg;

	if (rc != 0) {
		blobfs_buf_release(o->cur);
		fop_finish(o, rc);
		return;
	}
	trunc_step(&o->op);
}

/* Zero the tail of the chunk holding the new end, through the cache. */
static void trunc_step(struct blobfs_op *op)
{
	struct fop *o = (struct fop *)op;
	struct blobfs_node *node = op->node;
	uint32_t off = (uint32_t)(o->size % CHUNK);
	struct blobfs_buf *b;

	op->start = trunc_step;
	if (node->flushing > 0) {
		blobfs_defer((brisk_msg_fn)trunc_step, op); /* an eviction is writing: let it end */
		return;
	}
	blobfs_node_drop_bufs_from(node, o->size);
	if (off == 0) {
		node->size = o->size;
		trunc_zero_cluster_tail(o);
		return;
	}
	b = o->cur != NULL ? o->cur : blobfs_buf_get(node, o->size / CHUNK, op);
	if (b == NULL) {
		return;
	}
	o->cur = b;
	if (!b->valid) {
		blobfs_buf_load(b, trunc_loaded, o);
		return;
	}
	memset(b->data + off, 0, CHUNK - off);
	blobfs_buf_mark_dirty(b, off, CHUNK);
	blobfs_buf_release(b);
	o->cur = NULL;
	node->size = o->size;
	trunc_zero_cluster_tail(o);
}

static void trunc_start(struct blobfs_op *op)
{
	struct fop *o = (struct fop *)op;
	struct blobfs_node *node = op->node;

	if (node->batch) {
		fop_finish(o, -EBUSY); /* a batch holds writes only */
		return;
	}
	if (o->size >= node->size) {
		node->size = o->size;
		blobfs_node_reserve(node, o->size, fop_cb, o);
		return;
	}
	trunc_step(op);
}

void brisk_blobfs_file_truncate(struct brisk_blobfs_file *file, uint64_t size,
				brisk_blobfs_op_complete cb_fn, void *cb_arg)
{
	fop_submit(file, size, trunc_start, cb_fn, cb_arg);
}

/* ---- sync ---- */

static void sync_written(void *arg, int rc)
{
	struct fop *o = arg;

	if (rc != 0) {
		fop_finish(o, rc);
		return;
	}
	blobfs_node_sync_md(o->op.node, fop_cb, o);
}

static void sync_start(struct blobfs_op *op)
{
	blobfs_node_writeback(op->node, sync_written, op);
}

void brisk_blobfs_file_sync(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
			    void *cb_arg)
{
	fop_submit(file, 0, sync_start, cb_fn, cb_arg);
}

/* ---- close ---- */

static void close_deleted(void *arg, int rc)
{
	struct fop *o = arg;
	brisk_blobfs_op_complete cb = o->cb;
	void *cb_arg = o->cb_arg;

	blobfs_op_mem_put(o->fs, o);
	cb(cb_arg, rc);
}

static void close_blob_done(void *arg, int rc)
{
	struct fop *o = arg;
	struct blobfs_node *node = o->op.node;
	struct brisk_blobfs *fs = node->fs;

	node->handles--;
	fs->open_files--;
	TAILQ_REMOVE(&fs->files, o->file, link);
	free(o->file);
	if (rc != 0 && o->rc == 0) {
		o->rc = rc;
	}
	if (node->handles > 0 || node->name != NULL) {
		if (node->handles == 0) {
			node->blob = NULL;
		}
		fop_finish(o, o->rc);
		return;
	}
	/* Last close of an unlinked file: nothing can reach the node again. */
	blobfs_op_done(node);
	brisk_bs_delete_blob(fs->bs, node->id, close_deleted, o);
	blobfs_node_forget(node);
}

static void close_written(void *arg, int rc)
{
	struct fop *o = arg;

	o->rc = rc;
	brisk_blob_close(o->op.node->blob, close_blob_done, o);
}

static void close_start(struct blobfs_op *op)
{
	if (op->node->batch) {
		blobfs_batch_drop(op->node); /* closing uncommitted = abort */
	}
	blobfs_node_writeback(op->node, close_written, op);
}

void brisk_blobfs_file_close(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
			     void *cb_arg)
{
	fop_submit(file, 0, close_start, cb_fn, cb_arg);
}
