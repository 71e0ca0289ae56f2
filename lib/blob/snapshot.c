/* Snapshots and clones (doc/blobstore_format.md, "Snapshots, clones and
 * parents"). Both run as relation operations: one at a time per store.
 *
 * snapshot of B: open B -> freeze B's I/O -> write S's first version (B's
 *   clusters, B's parent, read-only, marked pending with partner B) ->
 *   write B's new version (no clusters, thin, parent S: the commit point)
 *   -> write S again without the mark -> unfreeze B -> close both -> reply.
 *   B keeps its id, its open handles and its I/O; only its cluster map and
 *   parent change, while no I/O runs on it.
 * clone of S: open S -> check it is read-only -> create a thin blob of S's
 *   size whose parent is S (one metadata write: all or nothing) -> close S
 *   -> reply.
 *
 * Errors after the first write leave the disk in a state memory cannot be
 * sure of; the store is then marked for recovery at its next load and
 * refuses further relation operations until then (relation_op_refused). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

/* ---- Shared by the relation operations ---- */

int blob_relation_check_id(struct brisk_blob_store *bs, brisk_blob_id id, const char *what)
{
	if (bs == NULL) {
		BRISK_ERRLOG("%s: bs is NULL", what);
		return -EINVAL;
	}
	if (!blob_on_md_thread(bs)) {
		return -EINVAL;
	}
	if (!blob_id_valid(bs, id)) {
		BRISK_ERRLOG("%s: id 0x%lx is not a valid blob id", what, id);
		return -EINVAL;
	}
	if (!brisk_bit_array_get(bs->used_ids, (uint32_t)(id - 1))) {
		BRISK_ERRLOG("%s: blob 0x%lx does not exist", what, id);
		return -ENOENT;
	}
	if (bs->id_flags[id - 1] & (BLOB_ID_DAMAGED | BLOB_ID_MISSING)) {
		BRISK_ERRLOG("%s: blob 0x%lx has damaged metadata (%s); load the store with "
			     "recover_damaged or delete the blob first", what, id,
			     (bs->id_flags[id - 1] & BLOB_ID_MISSING) ? "no readable version" :
			     "its newest version is lost");
		return -EIO;
	}
	return 0;
}

bool blob_relation_op_refused(struct brisk_blob_store *bs, const char *what)
{
	if (bs->needs_recovery) {
		BRISK_ERRLOG("%s: an earlier I/O error left the store uncertain; reload it first", what);
		return true;
	}
	return false;
}

static void xattr_copy_get(void *ctx, const char *name, const void **value, size_t *value_len)
{
	struct blob_xattr *x = blob_md_find_xattr(ctx, name);

	*value = x != NULL ? x->value : NULL;
	*value_len = x != NULL ? x->value_len : 0;
}

int blob_xattr_copy_init(struct blob_xattr_copy *c, const struct brisk_blob_xattr_opts *x,
			 const char *what)
{
	size_t n = 0;
	struct blob_xattr *e;
	int rc;

	TAILQ_INIT(&c->list);
	c->names = NULL;
	if (x == NULL || x->count == 0) {
		return 0;
	}
	if (x->names == NULL || x->get_value == NULL) {
		BRISK_ERRLOG("%s: xattrs.count %zu without names/get_value", what, x->count);
		return -EINVAL;
	}
	for (size_t i = 0; i < x->count; i++) {
		const void *v = NULL;
		size_t len = 0;

		if (x->names[i] == NULL) {
			BRISK_ERRLOG("%s: xattr name %zu is NULL", what, i);
			rc = -EINVAL;
			goto fail;
		}
		x->get_value(x->ctx, x->names[i], &v, &len);
		rc = blob_check_xattr(x->names[i], len, v, what);
		if (rc == 0) {
			rc = blob_md_set_xattr(&c->list, x->names[i], v, (uint16_t)len);
		}
		if (rc != 0) {
			goto fail;
		}
	}
	TAILQ_FOREACH(e, &c->list, link) {
		n++;
	}
	c->names = calloc(n, sizeof(char *));
	if (c->names == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	n = 0;
	TAILQ_FOREACH(e, &c->list, link) {
		c->names[n++] = e->name;
	}
	c->opts.count = n;
	c->opts.names = c->names;
	c->opts.ctx = &c->list;
	c->opts.get_value = xattr_copy_get;
	return 0;
fail:
	blob_xattr_copy_fini(c);
	return rc;
}

void blob_xattr_copy_fini(struct blob_xattr_copy *c)
{
	struct blob_xattr *e;

	while ((e = TAILQ_FIRST(&c->list)) != NULL) {
		blob_md_remove_xattr(&c->list, e->name);
	}
	free(c->names);
	c->names = NULL;
	memset(&c->opts, 0, sizeof(c->opts));
}

/* ---- What snapshot and clone share: checks, the xattr copy, the queue ---- */

/* First member of the context of an operation that makes a new blob. */
struct new_blob_op {
	struct blob_relation_op op;
	struct brisk_blob_store *bs;
	brisk_blob_id from;   /* the blob snapshotted, or the snapshot cloned */
	struct blob_xattr_copy xattrs;
	brisk_blob_op_with_id_complete cb;
	void *cb_arg;
};

/* Validates, copies the xattrs and queues a zeroed context of size bytes
 * that starts with a struct new_blob_op; errors go to cb_fn. */
static void new_blob_op_queue(size_t size, struct brisk_blob_store *bs, brisk_blob_id from,
			      const struct brisk_blob_xattr_opts *xattrs, const char *what,
			      void (*start)(struct blob_relation_op *op),
			      brisk_blob_op_with_id_complete cb_fn, void *cb_arg)
{
	struct new_blob_op *h;
	int rc;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("%s: cb_fn is NULL", what);
		return;
	}
	rc = blob_relation_check_id(bs, from, what);
	if (rc != 0) {
		blob_defer_id_cb(cb_fn, cb_arg, rc);
		return;
	}
	h = calloc(1, size);
	if (h == NULL) {
		blob_defer_id_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	rc = blob_xattr_copy_init(&h->xattrs, xattrs, what);
	if (rc != 0) {
		free(h);
		blob_defer_id_cb(cb_fn, cb_arg, rc);
		return;
	}
	h->bs = bs;
	h->from = from;
	h->cb = cb_fn;
	h->cb_arg = cb_arg;
	h->op.start = start;
	blob_relation_op_queue(bs, &h->op);
}

/* ---- Snapshot ---- */

struct snapshot_ctx {
	struct new_blob_op h;        /* h.from: B */
	struct brisk_blob *origin;   /* B */
	struct brisk_blob *snap;     /* S */
	brisk_blob_id snap_id;
	/* B before the switch, to undo it when its write fails */
	uint64_t *old_clusters;
	uint64_t *old_backing;
	uint64_t old_backing_len;
	uint32_t old_flags;
	brisk_blob_id old_parent;
	bool frozen;
	int rc;
};

static void snap_finish(struct snapshot_ctx *c)
{
	struct brisk_blob_store *bs = c->h.bs;

	if (c->rc == 0) {
		BRISK_INFOLOG("blob snapshot: blob 0x%lx now reads through snapshot 0x%lx",
			      c->h.from, c->snap_id);
	}
	blob_relation_op_done(bs);
	c->h.cb(c->h.cb_arg, c->rc == 0 ? c->snap_id : BRISK_BLOBID_INVALID, c->rc);
	blob_xattr_copy_fini(&c->h.xattrs);
	free(c->old_clusters);
	free(c);
}

static void snap_origin_closed(void *ctx, int rc)
{
	struct snapshot_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob snapshot: closing blob 0x%lx failed: %d", c->h.from, rc);
	}
	snap_finish(c);
}

static void snap_close_origin(struct snapshot_ctx *c)
{
	if (c->origin == NULL) {
		snap_finish(c);
		return;
	}
	brisk_blob_close(c->origin, snap_origin_closed, c);
}

static void snap_snap_closed(void *ctx, int rc)
{
	struct snapshot_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob snapshot: closing snapshot 0x%lx failed: %d", c->snap_id, rc);
	}
	snap_close_origin(c);
}

static void snap_unfrozen(void *ctx, int rc)
{
	struct snapshot_ctx *c = ctx;

	(void)rc;
	c->origin->relation_busy = false;
	if (c->snap != NULL && !c->snap->quarantined) {
		brisk_blob_close(c->snap, snap_snap_closed, c);
		return;
	}
	snap_close_origin(c);
}

static void snap_unfreeze(struct snapshot_ctx *c)
{
	if (!c->frozen) {
		snap_unfrozen(c, 0);
		return;
	}
	blob_unfreeze_io(c->origin, snap_unfrozen, c);
}

static void snap_unmarked(void *ctx, int rc)
{
	struct snapshot_ctx *c = ctx;

	if (rc != 0) {
		/* The snapshot stands (B names it), marked or not on disk; the
		 * next load settles the mark. */
		BRISK_ERRLOG("blob snapshot: clearing the pending mark of snapshot 0x%lx failed: %d",
			     c->snap_id, rc);
		c->h.bs->needs_recovery = true;
	}
	snap_unfreeze(c);
}

/* B's new version could not be written: B goes on as before in memory; S
 * may be the snapshot on disk or not, so it stays reserved (quarantined)
 * until the next load decides. */
static void snap_undo_origin(struct snapshot_ctx *c)
{
	struct brisk_blob *b = c->origin;

	blob_clusters_copy(b->md.clusters, c->old_clusters, b->md.num_clusters);
	b->md.parent_id = c->old_parent;
	b->md.flags = c->old_flags;
	free(b->backing);
	b->backing = c->old_backing;
	b->backing_len = c->old_backing_len;
	b->dirty = true;
	blob_quarantine(c->snap);
	c->h.bs->needs_recovery = true;
}

static void snap_origin_written(void *ctx, int rc)
{
	struct snapshot_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob snapshot: writing blob 0x%lx over snapshot 0x%lx failed: %d",
			     c->h.from, c->snap_id, rc);
		snap_undo_origin(c);
		c->rc = rc;
		snap_unfreeze(c);
		return;
	}
	free(c->old_backing);
	c->old_backing = NULL;
	/* Committed: the mark has done its job. */
	blob_md_remove_xattr(&c->snap->md.xattrs_internal, BLOB_XATTR_PENDING);
	c->snap->dirty = true;
	blob_sync(c->snap, snap_unmarked, c);
}

/* B gives its clusters to S and reads through it from now on. */
static void snap_switch_origin(struct snapshot_ctx *c)
{
	struct brisk_blob *b = c->origin;
	struct brisk_blob *s = c->snap;
	uint64_t n = b->md.num_clusters;
	uint64_t len = n > b->backing_len ? n : b->backing_len;
	uint64_t *backing = calloc(len > 0 ? len : 1, sizeof(uint64_t));

	c->old_clusters = malloc((n > 0 ? n : 1) * sizeof(uint64_t));
	if (backing == NULL || c->old_clusters == NULL) {
		free(backing);
		/* S is written but B is not: S is dropped by the next load. */
		blob_quarantine(s);
		c->h.bs->needs_recovery = true;
		c->rc = -ENOMEM;
		snap_unfreeze(c);
		return;
	}
	blob_clusters_copy(c->old_clusters, b->md.clusters, n);
	for (uint64_t i = 0; i < len; i++) {
		backing[i] = i < n && s->md.clusters[i] != 0 ? s->md.clusters[i] :
			     blob_backing_cluster(b, i);
	}
	c->old_backing = b->backing;
	c->old_backing_len = b->backing_len;
	c->old_parent = b->md.parent_id;
	c->old_flags = b->md.flags;
	/* Plain stores: B is frozen and drained (freeze.c). */
	for (uint64_t i = 0; i < n; i++) {
		b->md.clusters[i] = 0;
	}
	b->backing = backing;
	b->backing_len = len;
	b->md.parent_id = s->id;
	b->md.flags |= BLOB_FLAG_THIN;
	b->dirty = true;
	blob_sync(b, snap_origin_written, c);
}

static void snap_snapshot_written(void *ctx, int rc)
{
	struct snapshot_ctx *c = ctx;
	struct brisk_blob *s = c->snap;

	if (rc != 0) {
		/* Whatever landed names B as partner while B does not name it:
		 * any load drops it, so the id can go back at once. */
		BRISK_ERRLOG("blob snapshot: writing snapshot 0x%lx of blob 0x%lx failed: %d",
			     c->snap_id, c->h.from, rc);
		TAILQ_REMOVE(&c->h.bs->open_blobs, s, link);
		blob_free_id(c->h.bs, s->id);
		blob_free_handle(s);
		c->snap = NULL;
		c->rc = rc;
		snap_unfreeze(c);
		return;
	}
	snap_switch_origin(c);
}

/* S in memory: B's clusters, parent and flags, read-only, marked pending. */
static int snap_build(struct snapshot_ctx *c)
{
	struct brisk_blob_store *bs = c->h.bs;
	struct brisk_blob *b = c->origin, *s;
	uint8_t partner[8];
	brisk_blob_id id;
	int rc;

	id = blob_alloc_id(bs);
	if (id == BRISK_BLOBID_INVALID) {
		BRISK_ERRLOG("blob snapshot: all %u blob ids are used", bs->sb.num_blob_ids);
		return -ENOSPC;
	}
	s = blob_new(bs, id);
	if (s == NULL) {
		blob_free_id(bs, id);
		return -ENOMEM;
	}
	rc = blob_md_reserve_clusters(&s->md, b->md.num_clusters);
	blob_put_le64(partner, b->id);
	if (rc == 0) {
		rc = blob_md_set_xattr(&s->md.xattrs_internal, BLOB_XATTR_PENDING, partner, 8);
	}
	if (rc != 0) {
		blob_free_id(bs, id);
		blob_free_handle(s);
		return rc;
	}
	blob_clusters_copy(s->md.clusters, b->md.clusters, b->md.num_clusters);
	s->md.num_clusters = b->md.num_clusters;
	s->md.parent_id = b->md.parent_id;
	s->md.flags = BLOB_FLAG_READ_ONLY | (b->md.flags & BLOB_FLAG_THIN);
	s->md.clear_method = b->md.clear_method;
	TAILQ_CONCAT(&s->md.xattrs, &c->h.xattrs.list, link);
	if (blob_md_count_pages(&s->md) - 1 > brisk_bit_array_count_clear(bs->used_chain_pages)) {
		BRISK_ERRLOG("blob snapshot: not enough free metadata pages");
		blob_free_id(bs, id);
		blob_free_handle(s);
		return -ENOSPC;
	}
	s->refs = 1;
	s->dirty = true;
	TAILQ_INSERT_TAIL(&bs->open_blobs, s, link);
	c->snap = s;
	c->snap_id = id;
	return 0;
}

static void snap_frozen(void *ctx, int rc)
{
	struct snapshot_ctx *c = ctx;

	if (rc != 0) {
		c->rc = rc;
		c->origin->relation_busy = false;
		snap_close_origin(c);
		return;
	}
	c->frozen = true;
	c->rc = snap_build(c);
	if (c->rc != 0) {
		snap_unfreeze(c);
		return;
	}
	blob_sync(c->snap, snap_snapshot_written, c);
}

static void snap_origin_opened(void *ctx, struct brisk_blob *blob, int rc)
{
	struct snapshot_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob snapshot: cannot open blob 0x%lx: %d", c->h.from, rc);
		c->rc = rc;
		snap_finish(c);
		return;
	}
	c->origin = blob;
	if (blob->md.flags & BLOB_FLAG_READ_ONLY) {
		BRISK_ERRLOG("blob snapshot: blob 0x%lx is read-only (a snapshot already?)", blob->id);
		c->rc = -EINVAL;
		snap_close_origin(c);
		return;
	}
	blob->relation_busy = true;
	blob_freeze_io(blob, snap_frozen, c);
}

static void snap_start(struct blob_relation_op *op)
{
	struct snapshot_ctx *c = (struct snapshot_ctx *)op;

	if (blob_relation_op_refused(c->h.bs, "blob snapshot")) {
		c->rc = -EIO;
		snap_finish(c);
		return;
	}
	brisk_bs_open_blob(c->h.bs, c->h.from, snap_origin_opened, c);
}

void brisk_bs_create_snapshot(struct brisk_blob_store *bs, brisk_blob_id blobid,
			      const struct brisk_blob_xattr_opts *snapshot_xattrs,
			      brisk_blob_op_with_id_complete cb_fn, void *cb_arg)
{
	new_blob_op_queue(sizeof(struct snapshot_ctx), bs, blobid, snapshot_xattrs, "blob snapshot",
			  snap_start, cb_fn, cb_arg);
}

/* ---- Clone ---- */

struct clone_ctx {
	struct new_blob_op h;        /* h.from: the snapshot */
	struct brisk_blob *snap;
	brisk_blob_id clone_id;
	int rc;
};

static void clone_finish(struct clone_ctx *c)
{
	blob_relation_op_done(c->h.bs);
	c->h.cb(c->h.cb_arg, c->rc == 0 ? c->clone_id : BRISK_BLOBID_INVALID, c->rc);
	blob_xattr_copy_fini(&c->h.xattrs);
	free(c);
}

static void clone_snap_closed(void *ctx, int rc)
{
	struct clone_ctx *c = ctx;

	(void)rc; /* the snapshot is read-only: nothing to lose on close */
	clone_finish(c);
}

static void clone_created(void *ctx, brisk_blob_id id, int rc)
{
	struct clone_ctx *c = ctx;

	c->clone_id = id;
	c->rc = rc;
	brisk_blob_close(c->snap, clone_snap_closed, c);
}

static void clone_snap_opened(void *ctx, struct brisk_blob *snap, int rc)
{
	struct clone_ctx *c = ctx;
	struct brisk_blob_opts o;

	if (rc != 0) {
		c->rc = rc;
		clone_finish(c);
		return;
	}
	c->snap = snap;
	if (!(snap->md.flags & BLOB_FLAG_READ_ONLY)) {
		BRISK_ERRLOG("blob clone: blob 0x%lx is not read-only (not a snapshot)", snap->id);
		clone_created(c, BRISK_BLOBID_INVALID, -EINVAL);
		return;
	}
	brisk_blob_opts_init(&o);
	o.num_clusters = snap->md.num_clusters;
	o.thin_provision = true;
	o.clear_method = (enum brisk_blob_clear_method)snap->md.clear_method;
	o.xattrs = c->h.xattrs.opts;
	blob_create(c->h.bs, &o, snap->id, clone_created, c);
}

static void clone_start(struct blob_relation_op *op)
{
	struct clone_ctx *c = (struct clone_ctx *)op;
	struct brisk_blob_open_opts oo = { .read_only = true };

	if (blob_relation_op_refused(c->h.bs, "blob clone")) {
		c->rc = -EIO;
		clone_finish(c);
		return;
	}
	brisk_bs_open_blob_ext(c->h.bs, c->h.from, &oo, clone_snap_opened, c);
}

void brisk_bs_create_clone(struct brisk_blob_store *bs, brisk_blob_id snapshotid,
			   const struct brisk_blob_xattr_opts *clone_xattrs,
			   brisk_blob_op_with_id_complete cb_fn, void *cb_arg)
{
	new_blob_op_queue(sizeof(struct clone_ctx), bs, snapshotid, clone_xattrs, "blob clone",
			  clone_start, cb_fn, cb_arg);
}
