/*
 * Batch-atomic writes through a redo journal (doc/blobfs.md, "Batch-atomic
 * commits"). Between begin and commit a file's writes stay in pinned cache
 * buffers. commit:
 *
 *   gather (each batch buffer's dirty pages: one extent) -> journal ready
 *   (created on first use: a nameless blob with xattr blobfs.journal) ->
 *   grow it -> write header + extents -> journal metadata sync (flushes
 *   the device: from here the batch survives a crash; the header's CRC
 *   covers header and data, so a half-written record is never replayed) ->
 *   release the buffers as ordinary dirty ones -> write back -> size and
 *   blobfs.applied = seq in one sync of the file
 *
 * A load replays the journal's record when its CRC holds and the target's
 * blobfs.applied is older (blobfs_journal_replay).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/crc32c.h>
#include <brisk/env.h>
#include <brisk/log.h>

#include "blobfs_internal.h"

#define CHUNK BRISK_BLOBFS_CACHE_BUFFER_SIZE
/* One commit at a time per file system: the journal holds one record,
 * which must stay until its target is written in place. The request is a
 * pool block on the file's queue; the state is the file system's. */
struct commit_req {
	struct blobfs_op op;
	struct brisk_blobfs *fs;
	brisk_blobfs_op_complete cb;
	void *cb_arg;
};

struct blobfs_commit {
	struct commit_req *req;
	struct blobfs_node *node;
	struct brisk_blobfs *fs;
	struct blobfs_buf *bufs[JMAX_EXT];
	uint32_t nbufs;
	uint64_t jbytes;
	uint32_t pending;
	int rc;
	bool running;
	struct blobfs_op_queue waiters;
};
_Static_assert(sizeof(struct commit_req) <= BLOBFS_OP_MEM, "commit_req fits a pool block");

/* ---- begin / abort ---- */

void blobfs_batch_drop(struct blobfs_node *node)
{
	struct blobfs_buf *b, *next;

	for (b = TAILQ_FIRST(&node->bufs); b != NULL; b = next) {
		next = TAILQ_NEXT(b, nlink);
		if (b->in_batch) {
			b->in_batch = false;
			blobfs_buf_drop(b);
		}
	}
	node->size = node->batch_size;
	node->batch = false;
	node->batch_bufs = 0;
}

struct simple {
	struct blobfs_op op;
	struct brisk_blobfs *fs;
	brisk_blobfs_op_complete cb;
	void *cb_arg;
	bool abort;
};
_Static_assert(sizeof(struct simple) <= BLOBFS_OP_MEM, "batch op fits a pool block");

static void simple_finish(struct simple *o, int rc)
{
	struct blobfs_node *node = o->op.node;
	brisk_blobfs_op_complete cb = o->cb;
	void *cb_arg = o->cb_arg;

	blobfs_op_mem_put(o->fs, o);
	blobfs_op_done(node);
	cb(cb_arg, rc);
}

/* Pre-batch dirty data goes out first, so that batch buffers hold only
 * batch data (an abort may then drop them whole). */
static void begin_written(void *arg, int rc)
{
	struct simple *o = arg;
	struct blobfs_node *node = o->op.node;

	if (rc == 0) {
		node->batch = true;
		node->batch_size = node->size;
		node->batch_bufs = 0;
	}
	simple_finish(o, rc);
}

static void begin_start(struct blobfs_op *op)
{
	struct simple *o = (struct simple *)op;

	if (o->abort) {
		if (op->node->batch) {
			blobfs_batch_drop(op->node);
		}
		simple_finish(o, 0);
		return;
	}
	if (op->node->batch) {
		simple_finish(o, -EBUSY);
		return;
	}
	blobfs_node_writeback(op->node, begin_written, o);
}

static void simple_submit(struct brisk_blobfs_file *file, bool abort,
			  brisk_blobfs_op_complete cb_fn, void *cb_arg)
{
	struct simple *o;

	if (file == NULL || cb_fn == NULL || (o = blobfs_op_mem_get(file->node->fs)) == NULL) {
		BRISK_ERRLOG("blobfs batch: NULL argument or out of memory\n");
		return;
	}
	o->fs = file->node->fs;
	o->cb = cb_fn;
	o->cb_arg = cb_arg;
	o->abort = abort;
	blobfs_op_enqueue(file->node, &o->op, begin_start);
}

void brisk_blobfs_file_batch_begin(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
				   void *cb_arg)
{
	simple_submit(file, false, cb_fn, cb_arg);
}

void brisk_blobfs_file_batch_abort(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
				   void *cb_arg)
{
	simple_submit(file, true, cb_fn, cb_arg);
}

/* ---- commit ---- */

static void commit_finish(struct blobfs_commit *c, int rc)
{
	struct commit_req *r = c->req;
	struct blobfs_node *node = r->op.node;
	brisk_blobfs_op_complete cb = r->cb;
	void *cb_arg = r->cb_arg;
	struct blobfs_op *next = TAILQ_FIRST(&c->waiters);

	c->running = false;
	c->req = NULL;
	blobfs_op_mem_put(c->fs, r);
	blobfs_op_done(node);
	if (next != NULL) {
		TAILQ_REMOVE(&c->waiters, next, link);
		blobfs_defer((brisk_msg_fn)next->start, next);
	}
	cb(cb_arg, rc);
}

static void commit_cb(void *arg, int rc)
{
	commit_finish(arg, rc);
}

static void ext_of(struct blobfs_buf *b, uint64_t *off, uint32_t *len)
{
	uint32_t lo = b->dirty_lo / JPAGE * JPAGE;
	uint32_t hi = (b->dirty_hi + JPAGE - 1) / JPAGE * JPAGE;

	*off = b->index * CHUNK + lo;
	*len = hi - lo;
}

/* Step 6: the record is durable; the buffers become ordinary dirty ones. */
static void applied_written(void *arg, int rc)
{
	struct blobfs_commit *c = arg;
	struct blobfs_node *node = c->node;
	uint64_t seq = node->applied_seq;

	if (rc == 0) {
		rc = brisk_blob_set_xattr(node->blob, BLOBFS_XATTR_APPLIED, &seq, sizeof(seq));
	}
	if (rc != 0) {
		commit_finish(c, rc); /* committed anyway: the next load replays it */
		return;
	}
	node->md_clean = false; /* the applied xattr changed: sync the metadata */
	blobfs_node_sync_md(node, commit_cb, c);
}

static void journal_synced(void *arg, int rc)
{
	struct blobfs_commit *c = arg;
	struct blobfs_node *node = c->node;
	struct jhdr *h = (struct jhdr *)c->fs->jhdr;

	if (rc != 0) {
		commit_finish(c, rc); /* not committed: the batch stays open for abort */
		return;
	}
	for (uint32_t i = 0; i < c->nbufs; i++) {
		c->bufs[i]->in_batch = false;
	}
	node->batch = false;
	node->batch_bufs = 0;
	node->applied_seq = h->seq;
	blobfs_node_writeback(node, applied_written, c);
}

static void journal_written(void *arg, int rc)
{
	struct blobfs_commit *c = arg;
	struct jhdr *h = (struct jhdr *)c->fs->jhdr;

	if (rc != 0 && c->rc == 0) {
		c->rc = rc;
	}
	if (--c->pending > 0) {
		return;
	}
	if (c->rc == 0) {
		c->rc = brisk_blob_set_xattr(c->fs->journal, BLOBFS_XATTR_JOURNAL, &h->seq,
					     sizeof(h->seq));
	}
	if (c->rc != 0) {
		commit_finish(c, c->rc);
		return;
	}
	brisk_blob_sync_md(c->fs->journal, journal_synced, c);
}

static void journal_write(struct blobfs_commit *c)
{
	struct brisk_blobfs *fs = c->fs;
	struct jhdr *h = (struct jhdr *)fs->jhdr;
	uint64_t unit = fs->io_unit, joff = JPAGE;

	c->pending = c->nbufs + 1;
	for (uint32_t i = 0; i < c->nbufs; i++) {
		struct blobfs_buf *b = c->bufs[i];
		uint32_t lo = (uint32_t)(h->ext[i].off - b->index * CHUNK);

		brisk_blob_io_write(fs->journal, fs->ch, b->data + lo, joff / unit, h->ext[i].len / unit,
				    journal_written, c);
		joff += h->ext[i].len;
	}
	brisk_blob_io_write(fs->journal, fs->ch, fs->jhdr, 0, JPAGE / unit, journal_written, c);
}

static void journal_grown(void *arg, int rc)
{
	struct blobfs_commit *c = arg;

	if (rc != 0) {
		commit_finish(c, rc);
		return;
	}
	journal_write(c);
}

static void journal_grow(struct blobfs_commit *c)
{
	uint64_t csz = c->fs->cluster_size, need = (c->jbytes + csz - 1) / csz;

	if (need <= brisk_blob_get_num_clusters(c->fs->journal)) {
		journal_write(c);
		return;
	}
	brisk_blob_resize(c->fs->journal, need, journal_grown, c);
}

static void journal_opened(void *arg, struct brisk_blob *blob, int rc)
{
	struct blobfs_commit *c = arg;

	if (rc != 0) {
		commit_finish(c, rc);
		return;
	}
	c->fs->journal = blob;
	journal_grow(c);
}

static void journal_created(void *arg, brisk_blob_id id, int rc)
{
	struct blobfs_commit *c = arg;

	if (rc != 0) {
		commit_finish(c, rc);
		return;
	}
	c->fs->journal_id = id;
	brisk_bs_open_blob(c->fs->bs, id, journal_opened, c);
}

static void jxattr(void *ctx, const char *name, const void **value, size_t *len)
{
	static const uint64_t zero;

	(void)ctx;
	(void)name;
	*value = &zero;
	*len = sizeof(zero);
}

static void journal_ready(struct blobfs_commit *c)
{
	static char *names[] = { BLOBFS_XATTR_JOURNAL };
	struct brisk_blob_opts bo;

	if (c->fs->journal != NULL) {
		journal_grow(c);
		return;
	}
	if (c->fs->journal_id != BRISK_BLOBID_INVALID) {
		brisk_bs_open_blob(c->fs->bs, c->fs->journal_id, journal_opened, c);
		return;
	}
	brisk_blob_opts_init(&bo);
	bo.thin_provision = true;
	bo.xattrs.count = 1;
	bo.xattrs.names = names;
	bo.xattrs.get_value = jxattr;
	brisk_bs_create_blob_ext(c->fs->bs, &bo, journal_created, c);
}

static int gather(struct blobfs_commit *c)
{
	struct blobfs_node *node = c->node;
	struct jhdr *h = (struct jhdr *)c->fs->jhdr;
	struct blobfs_buf *b;
	uint32_t crc;

	memset(h, 0, JPAGE);
	c->jbytes = JPAGE;
	TAILQ_FOREACH(b, &node->bufs, nlink) {
		if (!b->in_batch) {
			continue;
		}
		if (c->nbufs == JMAX_EXT) {
			return -ENOSPC;
		}
		ext_of(b, &h->ext[c->nbufs].off, &h->ext[c->nbufs].len);
		c->jbytes += h->ext[c->nbufs].len;
		c->bufs[c->nbufs++] = b;
	}
	h->magic = JMAGIC;
	h->seq = c->fs->next_seq++;
	h->target = node->id;
	h->new_size = node->size;
	h->next = c->nbufs;
	crc = brisk_crc32c(h, JPAGE);
	for (uint32_t i = 0; i < c->nbufs; i++) {
		crc = brisk_crc32c_update(c->bufs[i]->data + (h->ext[i].off - c->bufs[i]->index * CHUNK),
					  h->ext[i].len, crc);
	}
	h->crc = crc;
	return 0;
}

static void commit_start(struct blobfs_op *op)
{
	struct commit_req *r = (struct commit_req *)op;
	struct blobfs_commit *c = r->fs->commit;
	int rc;

	if (c->running) {
		TAILQ_INSERT_TAIL(&c->waiters, op, link);
		return;
	}
	c->running = true;
	c->req = r;
	c->node = op->node;
	c->nbufs = 0;
	c->rc = 0;
	if (!op->node->batch) {
		commit_finish(c, -EINVAL);
		return;
	}
	if (op->node->batch_bufs == 0) {
		op->node->batch = false; /* nothing written: nothing to commit */
		commit_finish(c, 0);
		return;
	}
	rc = gather(c);
	if (rc != 0) {
		commit_finish(c, rc);
		return;
	}
	journal_ready(c);
}

void brisk_blobfs_file_batch_commit(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
				    void *cb_arg)
{
	struct commit_req *r;

	if (file == NULL || cb_fn == NULL || (r = blobfs_op_mem_get(file->node->fs)) == NULL) {
		BRISK_ERRLOG("blobfs batch commit: NULL argument or out of memory\n");
		return;
	}
	r->fs = file->node->fs;
	r->cb = cb_fn;
	r->cb_arg = cb_arg;
	blobfs_op_enqueue(file->node, &r->op, commit_start);
}

int blobfs_commit_init(struct brisk_blobfs *fs)
{
	fs->commit = calloc(1, sizeof(*fs->commit));
	fs->jhdr = brisk_dma_malloc(JPAGE, JPAGE, NULL);
	if (fs->commit == NULL || fs->jhdr == NULL) {
		return -ENOMEM;
	}
	fs->commit->fs = fs;
	TAILQ_INIT(&fs->commit->waiters);
	return 0;
}

void blobfs_commit_fini(struct brisk_blobfs *fs)
{
	free(fs->commit);
	if (fs->jhdr != NULL) {
		brisk_free(fs->jhdr);
	}
	fs->commit = NULL;
	fs->jhdr = NULL;
}
