/* Set parent: a thin blob becomes a clone of a snapshot of the same store;
 * the snapshot's data shows through the clusters the blob has not allocated
 * (SPDK's bdev_lvol_set_parent). Nothing is copied.
 *
 * open the blob -> checks (thin, writable, not already that parent) ->
 * load the new parent's current version -> checks (read-only, no larger
 * than the blob) -> build the backing the blob has with it -> freeze ->
 * parent id and backing swapped (sync: the commit point; parent_of follows
 * at the commit, blob_sync.c) -> unfreeze -> close -> reply. A crash before
 * the commit leaves the old version (old parent), after it the new one; a
 * failed sync puts the old parent and backing back. Runs as a relation op,
 * so it never overlaps a snapshot, inflate, decouple or delete. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct set_parent_ctx {
	struct blob_relation_op op;
	struct brisk_blob_store *bs;
	brisk_blob_id id;
	brisk_blob_id parent;
	struct brisk_blob *blob;
	uint64_t *new_backing;
	uint64_t new_backing_len;
	uint64_t *old_backing;
	uint64_t old_backing_len;
	brisk_blob_id old_parent;
	int rc;
	brisk_blob_op_complete cb;
	void *cb_arg;
};

static void set_parent_finish(struct set_parent_ctx *c)
{
	if (c->rc == 0) {
		BRISK_NOTICELOG("blob set parent: blob 0x%lx now has parent 0x%lx\n", c->id, c->parent);
	}
	blob_relation_op_done(c->bs);
	c->cb(c->cb_arg, c->rc);
	free(c->new_backing);
	free(c);
}

static void set_parent_closed(void *ctx, int rc)
{
	struct set_parent_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob set parent: closing blob 0x%lx failed: %d\n", c->id, rc);
	}
	set_parent_finish(c);
}

static void set_parent_close(struct set_parent_ctx *c, int rc)
{
	if (rc != 0 && c->rc == 0) {
		c->rc = rc;
	}
	c->blob->relation_busy = false;
	brisk_blob_close(c->blob, set_parent_closed, c);
}

static void set_parent_unfrozen(void *ctx, int rc)
{
	(void)rc;
	set_parent_close(ctx, 0);
}

static void set_parent_committed(void *ctx, int rc)
{
	struct set_parent_ctx *c = ctx;
	struct brisk_blob *b = c->blob;

	if (rc != 0) {
		/* The old version is what the store has: keep serving it. */
		BRISK_ERRLOG("blob set parent: writing blob 0x%lx failed: %d\n", c->id, rc);
		c->new_backing = b->backing;
		b->backing = c->old_backing;
		b->backing_len = c->old_backing_len;
		b->md.parent_id = c->old_parent;
		b->dirty = true;
		c->rc = rc;
	} else {
		free(c->old_backing);
	}
	blob_unfreeze_io(b, set_parent_unfrozen, c);
}

static void set_parent_frozen(void *ctx, int rc)
{
	struct set_parent_ctx *c = ctx;
	struct brisk_blob *b = c->blob;

	(void)rc;
	c->old_backing = b->backing;
	c->old_backing_len = b->backing_len;
	c->old_parent = b->md.parent_id;
	b->backing = c->new_backing;
	b->backing_len = c->new_backing_len;
	c->new_backing = NULL;
	b->md.parent_id = c->parent;
	b->dirty = true;
	blob_sync(b, set_parent_committed, c);
}

static void set_parent_backing_built(void *ctx, uint64_t *backing, uint64_t len, int rc)
{
	struct set_parent_ctx *c = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob set parent: reading the chain of snapshot 0x%lx failed: %d\n", c->parent, rc);
		set_parent_close(c, rc);
		return;
	}
	c->new_backing = backing;
	c->new_backing_len = len;
	blob_freeze_io(c->blob, set_parent_frozen, c);
}

/* The rules on the new parent, from its current version. */
static int set_parent_check_parent(struct set_parent_ctx *c, const struct blob_loaded *res)
{
	if (!res->present) {
		BRISK_ERRLOG("blob set parent: snapshot 0x%lx does not exist\n", c->parent);
		return -ENOENT;
	}
	if (!(res->md.flags & BLOB_FLAG_READ_ONLY)) {
		BRISK_ERRLOG("blob set parent: blob 0x%lx is not a snapshot (not read-only)\n", c->parent);
		return -EINVAL;
	}
	if (res->md.num_clusters > c->blob->md.num_clusters) {
		BRISK_ERRLOG("blob set parent: snapshot 0x%lx (%lu clusters) is larger than blob 0x%lx "
			     "(%lu clusters)\n",
			     c->parent, res->md.num_clusters, c->id, c->blob->md.num_clusters);
		return -EINVAL;
	}
	return 0;
}

static void set_parent_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct set_parent_ctx *c = ctx;

	if (rc == 0) {
		rc = set_parent_check_parent(c, res);
	} else {
		BRISK_ERRLOG("blob set parent: snapshot 0x%lx cannot be read: %d\n", c->parent, rc);
	}
	blob_loaded_free(res);
	if (rc != 0) {
		set_parent_close(c, rc);
		return;
	}
	blob_backing_build(c->bs, c->parent, set_parent_backing_built, c);
}

/* The rules on the blob itself. */
static int set_parent_check_blob(struct set_parent_ctx *c)
{
	struct brisk_blob *b = c->blob;

	if (b->md.flags & BLOB_FLAG_READ_ONLY) {
		BRISK_ERRLOG("blob set parent: blob 0x%lx is read-only\n", c->id);
		return -EPERM;
	}
	if (!(b->md.flags & BLOB_FLAG_THIN)) {
		BRISK_ERRLOG("blob set parent: blob 0x%lx is not thin provisioned\n", c->id);
		return -EINVAL;
	}
	if (b->md.parent_id == c->parent) {
		BRISK_ERRLOG("blob set parent: blob 0x%lx already has parent 0x%lx\n", c->id, c->parent);
		return -EEXIST;
	}
	return 0;
}

static void set_parent_opened(void *ctx, struct brisk_blob *blob, int rc)
{
	struct set_parent_ctx *c = ctx;

	if (rc != 0) {
		c->rc = rc;
		set_parent_finish(c);
		return;
	}
	c->blob = blob;
	blob->relation_busy = true;
	rc = set_parent_check_blob(c);
	if (rc != 0) {
		set_parent_close(c, rc);
		return;
	}
	blob_load_version(c->bs, c->parent, set_parent_loaded, c);
}

static void set_parent_start(struct blob_relation_op *op)
{
	struct set_parent_ctx *c = (struct set_parent_ctx *)op;

	if (blob_relation_op_refused(c->bs, "blob set parent")) {
		c->rc = -EIO;
		set_parent_finish(c);
		return;
	}
	brisk_bs_open_blob(c->bs, c->id, set_parent_opened, c);
}

void brisk_bs_blob_set_parent(struct brisk_blob_store *bs, brisk_blob_id blobid, brisk_blob_id snapshotid,
			      brisk_blob_op_complete cb_fn, void *cb_arg)
{
	struct set_parent_ctx *c;
	int rc;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("blob set parent: cb_fn is NULL\n");
		return;
	}
	rc = blob_relation_check_id(bs, blobid, "blob set parent");
	if (rc == 0) {
		rc = blob_relation_check_id(bs, snapshotid, "blob set parent");
	}
	if (rc == 0 && blobid == snapshotid) {
		BRISK_ERRLOG("blob set parent: blob 0x%lx cannot be its own parent\n", blobid);
		rc = -EINVAL;
	}
	c = rc == 0 ? calloc(1, sizeof(*c)) : NULL;
	if (c == NULL) {
		blob_defer_cb(cb_fn, cb_arg, rc != 0 ? rc : -ENOMEM);
		return;
	}
	c->bs = bs;
	c->id = blobid;
	c->parent = snapshotid;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	c->op.start = set_parent_start;
	blob_relation_op_queue(bs, &c->op);
}
