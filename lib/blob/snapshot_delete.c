/* Delete of a snapshot S that has exactly one clone C: S's clusters pass to
 * C, which takes S's parent as its own (doc/blobstore_format.md,
 * "Snapshots, clones and parents"). A relation operation.
 *
 * check -> load S into a placeholder -> open C -> build C's backing without
 * S -> copy into C any cluster whose data would change (normally none) ->
 * write S marked pending with partner C -> freeze C -> C takes S's clusters
 * where it has none, parent = S's parent (sync: the commit point) ->
 * unfreeze C -> close C -> tombstone S, clear and free what C did not take
 * -> reply.
 *
 * Between the mark and the commit both S and C are valid on disk; after
 * the commit both name the same clusters until S's tombstone lands. The
 * mark lets recovery tell the two apart: C naming S as parent means the
 * commit did not happen (S stays), anything else means it did (S goes). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct snapdel_ctx {
	struct blob_relation_op op;
	struct brisk_blob_store *bs;
	brisk_blob_id snap_id;
	brisk_blob_id clone_id;
	struct brisk_blob *snap;   /* placeholder, deleting = true */
	struct brisk_blob *clone;
	uint64_t *new_backing;
	uint64_t new_backing_len;
	/* C before the commit, to undo it when the sync fails */
	uint64_t *old_clusters;
	uint64_t *old_backing;
	uint64_t old_backing_len;
	brisk_blob_id old_parent;
	bool *taken;               /* per C cluster: came from S */
	int rc;
	brisk_blob_op_complete cb;
	void *cb_arg;
};

static void snapdel_finish(struct snapdel_ctx *c)
{
	if (c->rc == 0) {
		BRISK_NOTICELOG("blob delete: snapshot 0x%lx removed, its clusters passed to clone 0x%lx",
				c->snap_id, c->clone_id);
	}
	blob_relation_op_done(c->bs);
	c->cb(c->cb_arg, c->rc);
	free(c->new_backing);
	free(c->old_clusters);
	free(c->taken);
	free(c);
}

static void snapdel_removed(void *ctx, int rc)
{
	struct snapdel_ctx *c = ctx;

	/* The tombstone failing leaves S on disk naming clusters C owns now:
	 * only recovery (it sees the mark) can sort that out. */
	if (rc != 0) {
		c->bs->needs_recovery = true;
	}
	c->rc = rc;
	snapdel_finish(c);
}

static void snapdel_clone_closed(void *ctx, int rc)
{
	struct snapdel_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob delete: closing clone 0x%lx failed: %d", c->clone_id, rc);
	}
	if (c->rc != 0) {
		if (!c->snap->quarantined) {
			/* Failed before anything on disk changed: S simply stays. */
			TAILQ_REMOVE(&c->bs->open_blobs, c->snap, link);
			blob_free_handle(c->snap);
		}
		snapdel_finish(c);
		return;
	}
	blob_remove_placeholder(c->snap, snapdel_removed, c);
}

static void snapdel_close_clone(struct snapdel_ctx *c)
{
	c->clone->relation_busy = false;
	brisk_blob_close(c->clone, snapdel_clone_closed, c);
}

static void snapdel_unfrozen(void *ctx, int rc)
{
	(void)rc;
	snapdel_close_clone(ctx);
}

/* C's new version may or may not be on disk: C goes on as before in memory
 * and S stays reserved (quarantined) until the next load decides. */
static void snapdel_undo_clone(struct snapdel_ctx *c)
{
	struct brisk_blob *cl = c->clone;
	struct brisk_blob *s = c->snap;

	for (uint64_t i = 0; i < cl->md.num_clusters; i++) {
		if (c->taken[i]) {
			s->md.clusters[i] = cl->md.clusters[i];
		}
	}
	blob_clusters_copy(cl->md.clusters, c->old_clusters, cl->md.num_clusters);
	cl->md.parent_id = c->old_parent;
	c->new_backing = cl->backing;
	cl->backing = c->old_backing;
	cl->backing_len = c->old_backing_len;
	c->old_backing = NULL;
	cl->dirty = true;
	blob_quarantine(s);
	c->bs->needs_recovery = true;
}

static void snapdel_committed(void *ctx, int rc)
{
	struct snapdel_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob delete: writing clone 0x%lx with the clusters of snapshot 0x%lx "
			     "failed: %d", c->clone_id, c->snap_id, rc);
		snapdel_undo_clone(c);
		c->rc = rc;
	} else {
		free(c->old_backing);
		c->old_backing = NULL;
	}
	blob_unfreeze_io(c->clone, snapdel_unfrozen, c);
}

static void snapdel_frozen(void *ctx, int rc)
{
	struct snapdel_ctx *c = ctx;
	struct brisk_blob *cl = c->clone;
	struct blob_md *smd = &c->snap->md;
	uint64_t n = cl->md.num_clusters;

	(void)rc;
	c->old_clusters = malloc((n > 0 ? n : 1) * sizeof(uint64_t));
	c->taken = calloc(n > 0 ? n : 1, sizeof(bool));
	if (c->old_clusters == NULL || c->taken == NULL) {
		/* S is marked on disk, C unchanged: any load keeps S. */
		c->rc = -ENOMEM;
		c->bs->needs_recovery = true;
		blob_quarantine(c->snap);
		blob_unfreeze_io(cl, snapdel_unfrozen, c);
		return;
	}
	blob_clusters_copy(c->old_clusters, cl->md.clusters, n);
	/* Plain stores: C is frozen and drained (freeze.c). */
	for (uint64_t i = 0; i < n && i < smd->num_clusters; i++) {
		if (cl->md.clusters[i] == 0 && smd->clusters[i] != 0) {
			cl->md.clusters[i] = smd->clusters[i];
			smd->clusters[i] = 0; /* C's now: not freed with S */
			c->taken[i] = true;
		}
	}
	c->old_parent = cl->md.parent_id;
	c->old_backing = cl->backing;
	c->old_backing_len = cl->backing_len;
	cl->md.parent_id = smd->parent_id;
	cl->backing = c->new_backing;
	cl->backing_len = c->new_backing_len;
	c->new_backing = NULL;
	cl->dirty = true;
	blob_sync(cl, snapdel_committed, c);
}

static void snapdel_marked(void *ctx, int rc)
{
	struct snapdel_ctx *c = ctx;

	if (rc != 0) {
		/* Marked or not on disk, C still names S: any load keeps S. */
		BRISK_ERRLOG("blob delete: marking snapshot 0x%lx failed: %d", c->snap_id, rc);
		c->rc = rc;
		c->bs->needs_recovery = true;
		blob_quarantine(c->snap);
		snapdel_close_clone(c);
		return;
	}
	blob_freeze_io(c->clone, snapdel_frozen, c);
}

static void snapdel_mark(struct snapdel_ctx *c)
{
	uint8_t partner[8];
	int rc;

	blob_put_le64(partner, c->clone_id);
	rc = blob_md_set_xattr(&c->snap->md.xattrs_internal, BLOB_XATTR_PENDING, partner, 8);
	if (rc != 0) {
		c->rc = rc;
		snapdel_close_clone(c);
		return;
	}
	c->snap->dirty = true;
	blob_sync(c->snap, snapdel_marked, c);
}

/* Where C has no cluster and S gives none, C must keep reading the same
 * data with S's parent in S's place. */
static bool snapdel_need(void *ctx, uint64_t index)
{
	struct snapdel_ctx *c = ctx;
	struct blob_md *smd = &c->snap->md;
	uint64_t then = index < c->new_backing_len ? c->new_backing[index] : 0;

	if (index < smd->num_clusters && smd->clusters[index] != 0) {
		return false;
	}
	return blob_backing_cluster(c->clone, index) != then;
}

static void snapdel_materialized(void *ctx, int rc)
{
	struct snapdel_ctx *c = ctx;

	if (rc != 0) {
		c->rc = rc;
		snapdel_close_clone(c);
		return;
	}
	snapdel_mark(c);
}

static void snapdel_backing_built(void *ctx, uint64_t *backing, uint64_t len, int rc)
{
	struct snapdel_ctx *c = ctx;
	uint64_t need;

	if (rc != 0) {
		c->rc = rc;
		snapdel_close_clone(c);
		return;
	}
	c->new_backing = backing;
	c->new_backing_len = len;
	need = blob_materialize_count(c->clone, snapdel_need, c);
	if (need > brisk_bit_array_count_clear(c->bs->used_clusters)) {
		BRISK_ERRLOG("blob delete: clone 0x%lx needs %lu free clusters to stand without "
			     "snapshot 0x%lx", c->clone_id, need, c->snap_id);
		c->rc = -ENOSPC;
		snapdel_close_clone(c);
		return;
	}
	blob_materialize(c->clone, snapdel_need, c, snapdel_materialized, c);
}

static void snapdel_clone_opened(void *ctx, struct brisk_blob *blob, int rc)
{
	struct snapdel_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob delete: cannot open clone 0x%lx of snapshot 0x%lx: %d",
			     c->clone_id, c->snap_id, rc);
		c->rc = rc;
		TAILQ_REMOVE(&c->bs->open_blobs, c->snap, link);
		blob_free_handle(c->snap);
		snapdel_finish(c);
		return;
	}
	c->clone = blob;
	blob->relation_busy = true;
	blob_backing_build(c->bs, c->snap->md.parent_id, snapdel_backing_built, c);
}

static void snapdel_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct snapdel_ctx *c = ctx;
	struct brisk_blob *s = c->snap;

	if (rc == 0 && !res->present) {
		rc = -ENOENT;
	}
	if (rc != 0) {
		BRISK_ERRLOG("blob delete: snapshot 0x%lx cannot be read: %d", c->snap_id, rc);
		blob_loaded_free(res);
		TAILQ_REMOVE(&c->bs->open_blobs, s, link);
		blob_free_handle(s);
		c->rc = rc;
		snapdel_finish(c);
		return;
	}
	blob_take_loaded(s, res);
	blob_loaded_free(res);
	/* The clone of a snapshot about to be deleted must not be deleted,
	 * snapshotted or inflated meanwhile: holding it open sees to that. */
	brisk_bs_open_blob(c->bs, c->clone_id, snapdel_clone_opened, c);
}

static void snapdel_plain_done(void *ctx, int rc)
{
	struct snapdel_ctx *c = ctx;

	blob_relation_op_done(c->bs);
	c->cb(c->cb_arg, rc);
	free(c);
}

static void snapdel_start(struct blob_relation_op *op)
{
	struct snapdel_ctx *c = (struct snapdel_ctx *)op;
	struct brisk_blob_store *bs = c->bs;
	size_t count = 1;
	brisk_blob_id clone;
	int rc;

	if (blob_relation_op_refused(bs, "blob delete")) {
		c->rc = -EIO;
		snapdel_finish(c);
		return;
	}
	/* Things may have changed while the operation waited its turn. */
	if (blob_find_open(bs, c->snap_id) != NULL) {
		BRISK_ERRLOG("blob delete: blob 0x%lx is open", c->snap_id);
		c->rc = -EBUSY;
		snapdel_finish(c);
		return;
	}
	rc = brisk_blob_get_clones(bs, c->snap_id, &clone, &count);
	if (rc == 0 && count == 0) {
		brisk_bs_delete_blob(bs, c->snap_id, snapdel_plain_done, c);
		return;
	}
	if (rc != 0) {
		if (rc == -ENOMEM) {
			BRISK_ERRLOG("blob delete: blob 0x%lx has %zu clones; only a snapshot with one "
				     "clone can be deleted", c->snap_id, count);
			rc = -EBUSY;
		}
		c->rc = rc;
		snapdel_finish(c);
		return;
	}
	c->clone_id = clone;
	c->snap = blob_placeholder_new(bs, c->snap_id);
	if (c->snap == NULL) {
		c->rc = -ENOMEM;
		snapdel_finish(c);
		return;
	}
	blob_load_version(bs, c->snap_id, snapdel_loaded, c);
}

void blob_delete_snapshot(struct brisk_blob_store *bs, brisk_blob_id snap_id,
			  brisk_blob_op_complete cb_fn, void *cb_arg)
{
	struct snapdel_ctx *c;
	uint32_t clones = blob_count_clones(bs, snap_id);

	if (clones > 1) {
		BRISK_ERRLOG("blob delete: blob 0x%lx has %u clones; only a snapshot with one clone "
			     "can be deleted", snap_id, clones);
		blob_defer_cb(cb_fn, cb_arg, -EBUSY);
		return;
	}
	if (blob_relation_op_refused(bs, "blob delete")) {
		blob_defer_cb(cb_fn, cb_arg, -EIO);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->snap_id = snap_id;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	c->op.start = snapdel_start;
	blob_relation_op_queue(bs, &c->op);
}
