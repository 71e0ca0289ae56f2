/* Inflate and decouple: a blob stops depending on (part of) its parent
 * chain (doc/blobstore_format.md, "Snapshots, clones and parents").
 *
 * inflate: open -> count the clusters to fill, refuse if they do not fit
 *   -> materialize every unallocated cluster (the ancestors' data, or
 *   zeroes) -> freeze -> parent 0, not thin (sync: commit point) ->
 *   unfreeze -> close -> reply.
 * decouple from parent P: open -> read P's parent G and build the backing
 *   the blob would have with G as parent -> materialize the clusters whose
 *   data would change (those P has) -> freeze -> parent G, new backing
 *   (sync: commit point) -> unfreeze -> close -> reply.
 *
 * Each materialized cluster is committed by its own sync (as a first write
 * is), so a crash at any point leaves a blob that reads what it read
 * before; only the last sync changes the parent. I/O goes on meanwhile. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

/* ---- Materialize: give a blob its own copy of chosen clusters ---- */

struct materialize_ctx {
	struct brisk_blob *blob;
	blob_need_fn need;
	void *need_ctx;
	uint64_t next;
	uint64_t done_count;
	struct blob_alloc_req req;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void materialize_next(struct materialize_ctx *m);

static void materialize_finish(struct materialize_ctx *m, int rc)
{
	blob_md_io_cb cb = m->cb;
	void *cb_ctx = m->cb_ctx;

	if (rc == 0 && m->done_count > 0) {
		BRISK_INFOLOG("blob 0x%lx: %lu clusters copied in", m->blob->id, m->done_count);
	}
	free(m);
	cb(cb_ctx, rc);
}

static void materialize_cluster_done(struct blob_alloc_req *r, int rc)
{
	struct materialize_ctx *m = r->done_ctx;

	if (rc != 0) {
		materialize_finish(m, rc);
		return;
	}
	m->done_count++;
	m->next++;
	materialize_next(m);
}

static void materialize_next(struct materialize_ctx *m)
{
	struct brisk_blob *b = m->blob;

	while (m->next < b->md.num_clusters &&
	       (b->md.clusters[m->next] != 0 || !m->need(m->need_ctx, m->next))) {
		m->next++;
	}
	if (m->next >= b->md.num_clusters) {
		materialize_finish(m, 0);
		return;
	}
	m->req = (struct blob_alloc_req){
		.blob = b,
		.index = m->next,
		.done = materialize_cluster_done,
		.done_ctx = m,
	};
	blob_cluster_alloc(&m->req);
}

uint64_t blob_materialize_count(struct brisk_blob *b, blob_need_fn need, void *need_ctx)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < b->md.num_clusters; i++) {
		n += b->md.clusters[i] == 0 && need(need_ctx, i);
	}
	return n;
}

void blob_materialize(struct brisk_blob *b, blob_need_fn need, void *need_ctx, blob_md_io_cb cb,
		      void *ctx)
{
	struct materialize_ctx *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	m->blob = b;
	m->need = need;
	m->need_ctx = need_ctx;
	m->cb = cb;
	m->cb_ctx = ctx;
	materialize_next(m);
}

/* ---- Inflate and decouple ---- */

struct inflate_ctx {
	struct blob_relation_op op;
	struct brisk_blob_store *bs;
	brisk_blob_id id;
	bool decouple;
	const char *what;
	struct brisk_blob *blob;
	brisk_blob_id new_parent;
	uint64_t *new_backing;
	uint64_t new_backing_len;
	/* the blob before the commit, to undo it when the sync fails */
	uint64_t *old_backing;
	uint64_t old_backing_len;
	brisk_blob_id old_parent;
	uint32_t old_flags;
	int rc;
	brisk_blob_op_complete cb;
	void *cb_arg;
};

static void inflate_finish(struct inflate_ctx *c)
{
	if (c->rc == 0) {
		BRISK_NOTICELOG("%s: blob 0x%lx now has parent 0x%lx", c->what, c->id, c->new_parent);
	}
	blob_relation_op_done(c->bs);
	c->cb(c->cb_arg, c->rc);
	free(c->new_backing);
	free(c);
}

static void inflate_closed(void *ctx, int rc)
{
	struct inflate_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("%s: closing blob 0x%lx failed: %d", c->what, c->id, rc);
	}
	inflate_finish(c);
}

static void inflate_close(struct inflate_ctx *c)
{
	c->blob->relation_busy = false;
	brisk_blob_close(c->blob, inflate_closed, c);
}

static void inflate_unfrozen(void *ctx, int rc)
{
	(void)rc;
	inflate_close(ctx);
}

static void inflate_committed(void *ctx, int rc)
{
	struct inflate_ctx *c = ctx;
	struct brisk_blob *b = c->blob;

	if (rc != 0) {
		/* Old or new version on disk: both read the same data, and the old
		 * parent still exists (parent_of changes only at a commit). Go on
		 * with the old one; the next sync writes it again. */
		BRISK_ERRLOG("%s: writing blob 0x%lx failed: %d", c->what, c->id, rc);
		c->new_backing = b->backing;
		b->backing = c->old_backing;
		b->backing_len = c->old_backing_len;
		b->md.parent_id = c->old_parent;
		b->md.flags = c->old_flags;
		b->dirty = true;
		c->rc = rc;
	} else {
		free(c->old_backing);
	}
	blob_unfreeze_io(b, inflate_unfrozen, c);
}

static void inflate_frozen(void *ctx, int rc)
{
	struct inflate_ctx *c = ctx;
	struct brisk_blob *b = c->blob;

	(void)rc;
	c->old_backing = b->backing;
	c->old_backing_len = b->backing_len;
	c->old_parent = b->md.parent_id;
	c->old_flags = b->md.flags;
	/* Plain stores: the blob is frozen and drained (freeze.c). */
	b->backing = c->new_backing;
	b->backing_len = c->new_backing_len;
	c->new_backing = NULL;
	b->md.parent_id = c->new_parent;
	if (!c->decouple) {
		b->md.flags &= ~BLOB_FLAG_THIN;
	}
	b->dirty = true;
	blob_sync(b, inflate_committed, c);
}

static void inflate_materialized(void *ctx, int rc)
{
	struct inflate_ctx *c = ctx;

	if (rc != 0) {
		/* What was copied stays (each copy is committed); nothing else changed. */
		BRISK_ERRLOG("%s: copying clusters into blob 0x%lx failed: %d", c->what, c->id, rc);
		c->rc = rc;
		inflate_close(c);
		return;
	}
	blob_freeze_io(c->blob, inflate_frozen, c);
}

/* The cluster reads something else once the new parent is in place. */
static bool inflate_need(void *ctx, uint64_t index)
{
	struct inflate_ctx *c = ctx;
	uint64_t now = blob_backing_cluster(c->blob, index);
	uint64_t then = index < c->new_backing_len ? c->new_backing[index] : 0;

	/* Inflate leaves no hole at all, so every cluster is needed. */
	return !c->decouple || now != then;
}

static void inflate_backing_built(void *ctx, uint64_t *backing, uint64_t len, int rc)
{
	struct inflate_ctx *c = ctx;
	uint64_t need, free_clusters;

	if (rc != 0) {
		c->rc = rc;
		inflate_close(c);
		return;
	}
	c->new_backing = backing;
	c->new_backing_len = len;
	need = blob_materialize_count(c->blob, inflate_need, c);
	free_clusters = brisk_bit_array_count_clear(c->bs->used_clusters);
	if (need > free_clusters) {
		BRISK_ERRLOG("%s: blob 0x%lx needs %lu free clusters, the store has %lu", c->what,
			     c->id, need, free_clusters);
		c->rc = -ENOSPC;
		inflate_close(c);
		return;
	}
	BRISK_INFOLOG("%s: blob 0x%lx: copying %lu clusters", c->what, c->id, need);
	blob_materialize(c->blob, inflate_need, c, inflate_materialized, c);
}

static void inflate_parent_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct inflate_ctx *c = ctx;

	if (rc == 0 && !res->present) {
		rc = -ENOENT;
	}
	if (rc != 0) {
		BRISK_ERRLOG("%s: the parent of blob 0x%lx cannot be read: %d", c->what, c->id, rc);
		blob_loaded_free(res);
		c->rc = rc;
		inflate_close(c);
		return;
	}
	c->new_parent = res->md.parent_id;
	blob_loaded_free(res);
	blob_backing_build(c->bs, c->new_parent, inflate_backing_built, c);
}

static void inflate_opened(void *ctx, struct brisk_blob *blob, int rc)
{
	struct inflate_ctx *c = ctx;

	if (rc != 0) {
		c->rc = rc;
		inflate_finish(c);
		return;
	}
	c->blob = blob;
	blob->relation_busy = true;
	if (blob->md.flags & BLOB_FLAG_READ_ONLY) {
		BRISK_ERRLOG("%s: blob 0x%lx is read-only", c->what, c->id);
		c->rc = -EPERM;
		inflate_close(c);
		return;
	}
	if (blob->md.parent_id == 0 && (c->decouple || !(blob->md.flags & BLOB_FLAG_THIN))) {
		BRISK_ERRLOG("%s: blob 0x%lx has no parent%s", c->what, c->id,
			     c->decouple ? "" : " and is not thin: nothing to inflate");
		c->rc = -EINVAL;
		inflate_close(c);
		return;
	}
	if (c->decouple) {
		blob_load_version(c->bs, blob->md.parent_id, inflate_parent_loaded, c);
		return;
	}
	c->new_parent = 0;
	inflate_backing_built(c, NULL, 0, 0);
}

static void inflate_start(struct blob_relation_op *op)
{
	struct inflate_ctx *c = (struct inflate_ctx *)op;

	if (blob_relation_op_refused(c->bs, c->what)) {
		c->rc = -EIO;
		inflate_finish(c);
		return;
	}
	brisk_bs_open_blob(c->bs, c->id, inflate_opened, c);
}

static void inflate_queue(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
			  brisk_blob_id blobid, bool decouple, brisk_blob_op_complete cb_fn,
			  void *cb_arg)
{
	const char *what = decouple ? "blob decouple" : "blob inflate";
	struct inflate_ctx *c;
	int rc;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("%s: cb_fn is NULL", what);
		return;
	}
	rc = blob_relation_check_id(bs, blobid, what);
	if (rc == 0 && (channel == NULL || brisk_io_channel_get_io_device(channel) != bs)) {
		/* Kept for API compatibility: the copies run on the store's own channel. */
		BRISK_ERRLOG("%s: channel is NULL or of another store", what);
		rc = -EINVAL;
	}
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->id = blobid;
	c->decouple = decouple;
	c->what = what;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	c->op.start = inflate_start;
	blob_relation_op_queue(bs, &c->op);
}

void brisk_bs_inflate_blob(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
			   brisk_blob_id blobid, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	inflate_queue(bs, channel, blobid, false, cb_fn, cb_arg);
}

void brisk_bs_blob_decouple_parent(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
				   brisk_blob_id blobid, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	inflate_queue(bs, channel, blobid, true, cb_fn, cb_arg);
}
