/*
 * File I/O, each call one operation on the file's node queue:
 *
 * read:     clip to size -> per chunk: cached? copy : load (plus the next
 *           chunk when reads are sequential: read-ahead) -> copy
 * write:    grow the blob to hold the end -> per chunk: whole chunk or past
 *           the end? zero-fill : load (read-modify-write) -> copy, dirty
 * truncate: shrink: drop cached chunks past the end, zero the tail of the
 *           last chunk and of its cluster (so the disk reads zeroes past
 *           the size, as extending needs), resize; grow: resize
 * sync:     write back dirty buffers -> size xattr + metadata sync (which
 *           flushes the device before its commit)
 * close:    write back -> close the blob -> last close of an unlinked file
 *           deletes the blob
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blobfs_internal.h"

#define CHUNK BRISK_BLOBFS_CACHE_BUFFER_SIZE

struct rw_op {
	struct blobfs_op op;
	struct brisk_blobfs_file *file;
	uint8_t *ubuf;
	uint64_t offset, length, done;
	struct blobfs_buf *cur, *ra;
	uint32_t pending;
	int rc;
	brisk_blobfs_rw_complete rw_cb;
	void *cb_arg;
};
_Static_assert(sizeof(struct rw_op) <= BLOBFS_OP_MEM, "rw_op must fit a pool block");

/* The op and the queue are done with before the callback runs: the
 * callback may close the file or unload the file system. */
static void rw_finish(struct rw_op *o, int64_t result)
{
	struct blobfs_node *node = o->op.node;
	brisk_blobfs_rw_complete rw_cb = o->rw_cb;
	void *cb_arg = o->cb_arg;

	blobfs_op_mem_put(node->fs, o);
	blobfs_op_done(node);
	rw_cb(cb_arg, result);
}

static uint64_t chunk_take(uint64_t pos, uint64_t left)
{
	uint64_t in = CHUNK - pos % CHUNK;

	return in < left ? in : left;
}

/* ---- read ---- */

static void read_step(struct blobfs_op *op);

static void read_loaded(void *arg, int rc)
{
	struct rw_op *o = arg;

	if (rc != 0 && o->rc == 0) {
		o->rc = rc;
	}
	if (--o->pending > 0) {
		return;
	}
	if (o->ra != NULL) {
		blobfs_buf_release(o->ra);
		o->ra = NULL;
	}
	if (o->rc != 0) {
		blobfs_buf_release(o->cur);
		rw_finish(o, o->rc);
		return;
	}
	read_step(&o->op);
}

static void read_ahead(struct rw_op *o, uint64_t idx)
{
	struct blobfs_node *node = o->op.node;
	struct blobfs_buf *b;

	if (o->file->next_seq_offset != o->offset || (idx + 1) * CHUNK >= node->size ||
	    blobfs_buf_lookup(node, idx + 1) != NULL) {
		return;
	}
	b = blobfs_buf_get(node, idx + 1, NULL);
	if (b == NULL) {
		return;
	}
	o->ra = b;
	o->pending++;
	blobfs_buf_load(b, read_loaded, o);
}

static void read_step(struct blobfs_op *op)
{
	struct rw_op *o = (struct rw_op *)op;
	struct blobfs_node *node = op->node;

	op->start = read_step; /* a buffer waiter restarts here */
	while (o->done < o->length) {
		uint64_t pos = o->offset + o->done, n = chunk_take(pos, o->length - o->done);
		struct blobfs_buf *b = o->cur != NULL ? o->cur : blobfs_buf_get(node, pos / CHUNK, op);

		if (b == NULL) {
			return;
		}
		o->cur = b;
		if (!b->valid) {
			o->pending = 1;
			read_ahead(o, pos / CHUNK);
			blobfs_buf_load(b, read_loaded, o);
			return;
		}
		memcpy(o->ubuf + o->done, b->data + pos % CHUNK, n);
		blobfs_buf_release(b);
		o->cur = NULL;
		o->done += n;
	}
	o->file->next_seq_offset = o->offset + o->length;
	rw_finish(o, (int64_t)o->length);
}

static void read_start(struct blobfs_op *op)
{
	struct rw_op *o = (struct rw_op *)op;
	uint64_t size = op->node->size;

	if (o->offset >= size) {
		rw_finish(o, 0);
		return;
	}
	if (o->length > size - o->offset) {
		o->length = size - o->offset;
	}
	read_step(op);
}

static struct rw_op *rw_new(struct brisk_blobfs_file *file, void *buf, uint64_t offset,
			    uint64_t length)
{
	struct rw_op *o = blobfs_op_mem_get(file->node->fs);

	if (o != NULL) {
		o->file = file;
		o->ubuf = buf;
		o->offset = offset;
		o->length = length;
	}
	return o;
}

static void bad_start(struct blobfs_op *op)
{
	struct rw_op *o = (struct rw_op *)op;

	rw_finish(o, o->rc);
}

static void rw_submit(struct rw_op *o, blobfs_op_fn start)
{
	blobfs_op_enqueue(o->file->node, &o->op, o->rc != 0 ? bad_start : start);
}

void brisk_blobfs_file_read(struct brisk_blobfs_file *file, void *buf, uint64_t offset,
			    uint64_t length, brisk_blobfs_rw_complete cb_fn, void *cb_arg)
{
	struct rw_op *o;

	if (file == NULL || file->node == NULL || cb_fn == NULL || (o = rw_new(file, buf, offset, length)) == NULL) {
		BRISK_ERRLOG("blobfs read: NULL argument or out of memory\n");
		return;
	}
	o->rw_cb = cb_fn;
	o->cb_arg = cb_arg;
	if (buf == NULL && length > 0) {
		BRISK_ERRLOG("blobfs read: buf is NULL\n");
		o->rc = -EINVAL;
	}
	rw_submit(o, read_start);
}

/* ---- write ---- */

static void write_step(struct blobfs_op *op);

static void write_loaded(void *arg, int rc)
{
	struct rw_op *o = arg;

	if (rc != 0) {
		blobfs_buf_release(o->cur);
		rw_finish(o, rc);
		return;
	}
	write_step(&o->op);
}

static void write_copy(struct rw_op *o, struct blobfs_buf *b, uint64_t pos, uint64_t n)
{
	struct blobfs_node *node = o->op.node;
	uint32_t off = (uint32_t)(pos % CHUNK);

	memcpy(b->data + off, o->ubuf + o->done, n);
	blobfs_buf_mark_dirty(b, off, off + (uint32_t)n);
	if (node->batch && !b->in_batch) {
		b->in_batch = true;
		node->batch_bufs++;
	}
	if (pos + n > node->size) {
		node->size = pos + n;
	}
}

static void write_step(struct blobfs_op *op)
{
	struct rw_op *o = (struct rw_op *)op;
	struct blobfs_node *node = op->node;

	op->start = write_step;
	while (o->done < o->length) {
		uint64_t pos = o->offset + o->done, n = chunk_take(pos, o->length - o->done);
		struct blobfs_buf *b = o->cur != NULL ? o->cur : blobfs_buf_get(node, pos / CHUNK, op);

		if (b == NULL) {
			return;
		}
		o->cur = b;
		if (node->batch && !b->in_batch && node->batch_bufs >= node->fs->nbufs / 2) {
			/* a batch may hold half the cache; past that it must be aborted */
			blobfs_buf_release(b);
			rw_finish(o, -ENOSPC);
			return;
		}
		if (!b->valid && (n == CHUNK || pos / CHUNK * CHUNK >= node->size)) {
			memset(b->data, 0, CHUNK);
			b->valid = true;
		}
		if (!b->valid) {
			blobfs_buf_load(b, write_loaded, o);
			return;
		}
		write_copy(o, b, pos, n);
		blobfs_buf_release(b);
		o->cur = NULL;
		o->done += n;
	}
	rw_finish(o, (int64_t)o->length);
}

static void write_reserved(void *arg, int rc)
{
	struct rw_op *o = arg;

	if (rc != 0) {
		rw_finish(o, rc);
		return;
	}
	write_step(&o->op);
}

static void write_start(struct blobfs_op *op)
{
	struct rw_op *o = (struct rw_op *)op;

	if (o->length == 0) {
		rw_finish(o, 0);
		return;
	}
	blobfs_node_reserve(op->node, o->offset + o->length, write_reserved, o);
}

void brisk_blobfs_file_write(struct brisk_blobfs_file *file, const void *buf, uint64_t offset,
			     uint64_t length, brisk_blobfs_rw_complete cb_fn, void *cb_arg)
{
	struct rw_op *o;

	if (file == NULL || file->node == NULL || cb_fn == NULL || (o = rw_new(file, (void *)buf, offset, length)) == NULL) {
		BRISK_ERRLOG("blobfs write: NULL argument or out of memory\n");
		return;
	}
	o->rw_cb = cb_fn;
	o->cb_arg = cb_arg;
	if ((buf == NULL && length > 0) || offset + length < offset) {
		BRISK_ERRLOG("blobfs write: buf NULL or offset+length overflows\n");
		o->rc = -EINVAL;
	}
	rw_submit(o, write_start);
}
