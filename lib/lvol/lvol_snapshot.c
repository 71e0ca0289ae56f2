/*
 * Snapshots, clones, inflate and decouple of lvols, and the parent/clone
 * relations (which live in the blobstore: an lvol only names its blob).
 * A new snapshot or clone is created with its name and uuid xattrs in the
 * same metadata write as the blob, so a crash leaves either nothing or a
 * complete lvol.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lvol_internal.h"

/* ---- Snapshot and clone: check -> reserve name -> blob call -> open ---- */

struct lvol_new_ctx {
	struct brisk_lvol *origin; /* the lvol snapshotted, or the snapshot cloned */
	struct brisk_lvol *lvol;   /* the new one */
	const char *what;
	brisk_lvol_op_with_handle_complete cb_fn;
	void *cb_arg;
};

static void lvol_new_opened(void *arg, struct brisk_lvol *lvol, int rc)
{
	struct lvol_new_ctx *c = arg;

	c->origin->busy = false;
	if (rc == 0) {
		BRISK_NOTICELOG("lvol %s/%s: %s of %s created\n", lvol->lvs->name, lvol->name, c->what,
				c->origin->name);
	}
	c->cb_fn(c->cb_arg, lvol, rc);
	free(c);
}

static void lvol_new_blob_done(void *arg, brisk_blob_id id, int bserrno)
{
	struct lvol_new_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: %s %s failed: %s\n", c->origin->name, c->what, c->lvol->name,
			     strerror(-bserrno));
		lvol_free(c->lvol);
		c->origin->busy = false;
		c->cb_fn(c->cb_arg, NULL, bserrno);
		free(c);
		return;
	}
	lvol_open_new(c->lvol, id, lvol_new_opened, c);
}

/* Checks and reserves; NULL with *rc set (and the reason logged) on refusal. */
static struct lvol_new_ctx *lvol_new_begin(struct brisk_lvol *origin, const char *name, const char *what,
					   brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg, int *rc)
{
	struct lvol_new_ctx *c;

	*rc = lvol_check_name(name, BRISK_LVOL_NAME_MAX, "lvol");
	if (*rc == 0 && lvol_find_any(origin->lvs, name) != NULL) {
		BRISK_ERRLOG("lvol name '%s' already exists in lvstore %s\n", name, origin->lvs->name);
		*rc = -EEXIST;
	}
	if (*rc == 0 && (origin->state != LVOL_READY || origin->busy || origin->lvs->busy)) {
		BRISK_ERRLOG("lvol %s: cannot take a %s: another operation is running on it\n", origin->name, what);
		*rc = -EBUSY;
	}
	if (*rc != 0) {
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->lvol = lvol_alloc(origin->lvs, name)) == NULL) {
		free(c);
		*rc = -ENOMEM;
		return NULL;
	}
	c->origin = origin;
	c->what = what;
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	origin->busy = true;
	return c;
}

void brisk_lvol_create_snapshot(struct brisk_lvol *lvol, const char *snapshot_name,
				brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct brisk_blob_xattr_opts xattrs;
	struct lvol_new_ctx *c;
	int rc;

	if (lvol->blob != NULL && brisk_blob_is_read_only(lvol->blob)) {
		BRISK_ERRLOG("lvol %s is read-only (a snapshot already?): cannot snapshot it\n", lvol->name);
		lvol_defer_lvol(cb_fn, cb_arg, -EINVAL);
		return;
	}
	c = lvol_new_begin(lvol, snapshot_name, "snapshot", cb_fn, cb_arg, &rc);
	if (c == NULL) {
		lvol_defer_lvol(cb_fn, cb_arg, rc);
		return;
	}
	lvol_xattr_opts(c->lvol, &xattrs);
	brisk_bs_create_snapshot(lvol->lvs->bs, lvol->blob_id, &xattrs, lvol_new_blob_done, c);
}

void brisk_lvol_create_clone(struct brisk_lvol *snapshot, const char *clone_name,
			     brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct brisk_blob_xattr_opts xattrs;
	struct lvol_new_ctx *c;
	int rc;

	if (snapshot->blob == NULL || !brisk_blob_is_read_only(snapshot->blob)) {
		BRISK_ERRLOG("lvol %s is not a snapshot (not read-only): cannot clone it\n", snapshot->name);
		lvol_defer_lvol(cb_fn, cb_arg, -EINVAL);
		return;
	}
	c = lvol_new_begin(snapshot, clone_name, "clone", cb_fn, cb_arg, &rc);
	if (c == NULL) {
		lvol_defer_lvol(cb_fn, cb_arg, rc);
		return;
	}
	lvol_xattr_opts(c->lvol, &xattrs);
	brisk_bs_create_clone(snapshot->lvs->bs, snapshot->blob_id, &xattrs, lvol_new_blob_done, c);
}

/* ---- Inflate and decouple: copies on the store's channel ---- */

struct lvol_copy_ctx {
	struct brisk_lvol *lvol;
	const char *what;
	brisk_lvol_op_complete cb_fn;
	void *cb_arg;
};

static void lvol_copy_done(void *arg, int bserrno)
{
	struct lvol_copy_ctx *c = arg;

	c->lvol->busy = false;
	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: %s failed: %s\n", c->lvol->name, c->what, strerror(-bserrno));
	} else {
		BRISK_NOTICELOG("lvol %s/%s: %s done\n", c->lvol->lvs->name, c->lvol->name, c->what);
	}
	c->cb_fn(c->cb_arg, bserrno);
	free(c);
}

static struct lvol_copy_ctx *lvol_copy_begin(struct brisk_lvol *lvol, const char *what,
					     brisk_lvol_op_complete cb_fn, void *cb_arg, int *rc)
{
	struct lvol_copy_ctx *c;

	*rc = 0;
	if (lvol->state != LVOL_READY || lvol->busy || lvol->lvs->busy) {
		BRISK_ERRLOG("lvol %s: cannot %s: another operation is running on it\n", lvol->name, what);
		*rc = -EBUSY;
	} else if (brisk_blob_get_parent_snapshot(lvol->lvs->bs, lvol->blob_id) == BRISK_BLOBID_INVALID &&
		   !brisk_blob_is_thin_provisioned(lvol->blob)) {
		BRISK_ERRLOG("lvol %s has no parent and is not thin: nothing to %s\n", lvol->name, what);
		*rc = -EINVAL;
	} else if (brisk_blob_is_read_only(lvol->blob)) {
		BRISK_ERRLOG("lvol %s is read-only: cannot %s\n", lvol->name, what);
		*rc = -EPERM;
	}
	if (*rc != 0) {
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	c->lvol = lvol;
	c->what = what;
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	lvol->busy = true;
	return c;
}

void brisk_lvol_inflate(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg)
{
	struct lvol_copy_ctx *c;
	int rc;

	c = lvol_copy_begin(lvol, "inflate", cb_fn, cb_arg, &rc);
	if (c == NULL) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	brisk_bs_inflate_blob(lvol->lvs->bs, lvol->lvs->md_channel, lvol->blob_id, lvol_copy_done, c);
}

void brisk_lvol_decouple_parent(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg)
{
	struct lvol_copy_ctx *c;
	int rc;

	if (brisk_blob_get_parent_snapshot(lvol->lvs->bs, lvol->blob_id) == BRISK_BLOBID_INVALID) {
		BRISK_ERRLOG("lvol %s has no parent snapshot to decouple from\n", lvol->name);
		lvol_defer_op(cb_fn, cb_arg, -EINVAL);
		return;
	}
	c = lvol_copy_begin(lvol, "decouple parent", cb_fn, cb_arg, &rc);
	if (c == NULL) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	brisk_bs_blob_decouple_parent(lvol->lvs->bs, lvol->lvs->md_channel, lvol->blob_id, lvol_copy_done, c);
}

/* The lvol-level rules of set parent; the blob checks the rest. */
static int lvol_set_parent_check(struct brisk_lvol *lvol, struct brisk_lvol *snapshot)
{
	if (lvol->lvs != snapshot->lvs) {
		BRISK_ERRLOG("lvol %s and snapshot %s are in different lvstores\n", lvol->name, snapshot->name);
		return -EINVAL;
	}
	if (!brisk_blob_is_thin_provisioned(lvol->blob)) {
		BRISK_ERRLOG("lvol %s is not thin provisioned: cannot set a parent\n", lvol->name);
		return -EINVAL;
	}
	if (!brisk_blob_is_read_only(snapshot->blob)) {
		BRISK_ERRLOG("lvol %s is not a snapshot: cannot be a parent\n", snapshot->name);
		return -EINVAL;
	}
	return 0;
}

void brisk_lvol_set_parent(struct brisk_lvol *lvol, struct brisk_lvol *snapshot, brisk_lvol_op_complete cb_fn,
			   void *cb_arg)
{
	struct lvol_copy_ctx *c;
	int rc = lvol_set_parent_check(lvol, snapshot);

	c = rc == 0 ? lvol_copy_begin(lvol, "set parent", cb_fn, cb_arg, &rc) : NULL;
	if (c == NULL) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	brisk_bs_blob_set_parent(lvol->lvs->bs, lvol->blob_id, snapshot->blob_id, lvol_copy_done, c);
}

/* ---- Relations ---- */

bool brisk_lvol_is_snapshot(const struct brisk_lvol *lvol)
{
	return lvol->blob != NULL && brisk_blob_is_snapshot(lvol->blob);
}

bool brisk_lvol_is_clone(const struct brisk_lvol *lvol)
{
	return lvol->blob != NULL && brisk_blob_is_clone(lvol->blob);
}

struct brisk_lvol *brisk_lvol_get_parent(const struct brisk_lvol *lvol)
{
	brisk_blob_id parent;

	parent = brisk_blob_get_parent_snapshot(lvol->lvs->bs, lvol->blob_id);
	return parent == BRISK_BLOBID_INVALID ? NULL : brisk_lvol_get_by_blob_id(lvol->lvs, parent);
}

size_t brisk_lvol_get_clones(const struct brisk_lvol *lvol, struct brisk_lvol **out, size_t max)
{
	brisk_blob_id ids[64];
	brisk_blob_id *p = ids;
	size_t count = sizeof(ids) / sizeof(ids[0]), i, n = 0;
	struct brisk_lvol *clone;
	int rc;

	rc = brisk_blob_get_clones(lvol->lvs->bs, lvol->blob_id, p, &count);
	if (rc == -ENOMEM) {
		p = calloc(count, sizeof(*p));
		if (p == NULL || brisk_blob_get_clones(lvol->lvs->bs, lvol->blob_id, p, &count) != 0) {
			free(p);
			return 0;
		}
	} else if (rc != 0) {
		return 0;
	}
	for (i = 0; i < count; i++) {
		clone = brisk_lvol_get_by_blob_id(lvol->lvs, p[i]);
		if (clone != NULL) {
			if (n < max && out != NULL) {
				out[n] = clone;
			}
			n++;
		}
	}
	if (p != ids) {
		free(p);
	}
	return n;
}
