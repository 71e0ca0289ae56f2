/*
 * Operations of the lvol module: lib/lvol does the on-disk work, this file
 * keeps the bdevs in step (register new lvols, move aliases on renames,
 * change block counts on resize, unregister before delete).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/blob_bdev.h>
#include <brisk/log.h>

#include "vbdev_lvol.h"

/* ---- Lvol store create ---- */

struct lvs_create_ctx {
	struct lvs_bdev *lb;
	vbdev_lvs_done cb;
	void *cb_arg;
};

static void lvs_create_done(void *arg, struct brisk_lvol_store *lvs, int rc)
{
	struct lvs_create_ctx *c = arg;

	if (rc != 0) {
		vbdev_lvs_bdev_free(c->lb); /* the store destroyed the bs_dev: claim released */
	} else {
		c->lb->lvs = lvs;
		brisk_lvs_set_ctx(lvs, c->lb);
	}
	c->cb(c->cb_arg, lvs, rc);
	free(c);
}

void vbdev_lvs_create(const char *bdev_name, const struct brisk_lvs_opts *opts, vbdev_lvs_done cb,
		      void *cb_arg)
{
	struct lvs_create_ctx *c;
	struct brisk_bs_dev *bs_dev;
	struct brisk_bdev *bdev;
	int rc;

	bdev = brisk_bdev_get_by_name(bdev_name);
	if (bdev == NULL) {
		BRISK_ERRLOG("bdev_name '%s' does not exist\n", bdev_name);
		cb(cb_arg, NULL, -ENODEV);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->lb = vbdev_lvs_bdev_new(brisk_bdev_get_name(bdev))) == NULL) {
		free(c);
		cb(cb_arg, NULL, -ENOMEM);
		return;
	}
	c->cb = cb;
	c->cb_arg = cb_arg;
	rc = brisk_bdev_create_bs_dev_ext(bdev_name, vbdev_lvs_base_event, c->lb, &bs_dev);
	if (rc == 0) {
		rc = brisk_bs_bdev_claim(bs_dev, &g_lvol_if);
		if (rc != 0) {
			bs_dev->destroy(bs_dev);
		}
	}
	if (rc != 0) {
		BRISK_ERRLOG("bdev_name '%s': cannot open and claim it: %s%s\n", bdev_name, strerror(-rc),
			     rc == -EPERM ? " (already claimed by another module)" : "");
		vbdev_lvs_bdev_free(c->lb);
		free(c);
		cb(cb_arg, NULL, rc);
		return;
	}
	c->lb->bs_dev = bs_dev;
	brisk_lvs_init(bs_dev, opts, lvs_create_done, c);
}

/* ---- Lvol store delete: unregister every lvol bdev -> destroy ---- */

struct lvs_op_ctx {
	struct lvs_bdev *lb;
	char name[BRISK_LVS_NAME_MAX];
	vbdev_lvol_done cb;
	void *cb_arg;
};

static void lvs_delete_destroyed(void *arg, int rc)
{
	struct lvs_op_ctx *c = arg;

	vbdev_lvs_bdev_free(c->lb);
	c->cb(c->cb_arg, rc);
	free(c);
}

static void lvs_delete_bdevs_gone(struct lvs_bdev *lb)
{
	struct lvs_op_ctx *c = lb->op_ctx;

	brisk_lvs_destroy(lb->lvs, lvs_delete_destroyed, c);
}

void vbdev_lvs_delete(struct brisk_lvol_store *lvs, vbdev_lvol_done cb, void *cb_arg)
{
	struct lvs_bdev *lb = brisk_lvs_get_ctx(lvs);
	struct lvs_op_ctx *c;

	if (lb == NULL || lb->removing || brisk_lvs_is_busy(lvs)) {
		BRISK_ERRLOG("lvstore %s: another operation is running on it\n", brisk_lvs_get_name(lvs));
		cb(cb_arg, -EBUSY);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		cb(cb_arg, -ENOMEM);
		return;
	}
	c->lb = lb;
	c->cb = cb;
	c->cb_arg = cb_arg;
	lb->removing = true;
	vbdev_lvs_unregister_all(lb, lvs_delete_bdevs_gone, c);
}

/* ---- Lvol store rename: every lvol bdev's alias follows ---- */

static void lvs_rename_done(void *arg, int rc)
{
	struct lvs_op_ctx *c = arg;
	struct brisk_lvol *lvol;
	struct lvol_bdev *lv;
	char alias[BRISK_LVS_NAME_MAX + BRISK_LVOL_NAME_MAX + 1];

	if (rc == 0) {
		for (lvol = brisk_lvol_first(c->lb->lvs); lvol != NULL; lvol = brisk_lvol_next(lvol)) {
			lv = brisk_lvol_get_ctx(lvol);
			if (lv == NULL) {
				continue;
			}
			snprintf(alias, sizeof(alias), "%s/%s", c->name, brisk_lvol_get_name(lvol));
			brisk_bdev_alias_del(&lv->bdev, alias);
			vbdev_lvol_claim_alias(lv);
		}
	}
	c->cb(c->cb_arg, rc);
	free(c);
}

void vbdev_lvs_rename(struct brisk_lvol_store *lvs, const char *new_name, vbdev_lvol_done cb, void *cb_arg)
{
	struct lvs_op_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		cb(cb_arg, -ENOMEM);
		return;
	}
	c->lb = brisk_lvs_get_ctx(lvs);
	snprintf(c->name, sizeof(c->name), "%s", brisk_lvs_get_name(lvs));
	c->cb = cb;
	c->cb_arg = cb_arg;
	brisk_lvs_rename(lvs, new_name, lvs_rename_done, c);
}

void vbdev_lvs_grow(struct brisk_lvol_store *lvs, vbdev_lvol_done cb, void *cb_arg)
{
	brisk_lvs_grow_live(lvs, cb, cb_arg);
}

/* ---- New lvols (create, snapshot, clone): lib call -> register bdev ---- */

struct lvol_new_ctx {
	vbdev_lvol_new_done cb;
	void *cb_arg;
};

static void lvol_new_done(void *arg, struct brisk_lvol *lvol, int rc)
{
	struct lvol_new_ctx *c = arg;

	if (rc == 0) {
		rc = vbdev_lvol_register(brisk_lvs_get_ctx(brisk_lvol_get_lvs(lvol)), lvol);
		/* A failed register leaves the lvol on disk (listed, bdev missing until restart). */
	}
	c->cb(c->cb_arg, rc == 0 ? lvol : NULL, rc);
	free(c);
}

static struct lvol_new_ctx *lvol_new_ctx(vbdev_lvol_new_done cb, void *cb_arg)
{
	struct lvol_new_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		cb(cb_arg, NULL, -ENOMEM);
		return NULL;
	}
	c->cb = cb;
	c->cb_arg = cb_arg;
	return c;
}

void vbdev_lvol_create(struct brisk_lvol_store *lvs, const char *name, uint64_t size, bool thin,
		       enum brisk_blob_clear_method clear_method, vbdev_lvol_new_done cb, void *cb_arg)
{
	struct lvol_new_ctx *c = lvol_new_ctx(cb, cb_arg);

	if (c != NULL) {
		brisk_lvol_create(lvs, name, size, thin, clear_method, lvol_new_done, c);
	}
}

void vbdev_lvol_snapshot(struct brisk_lvol *lvol, const char *name, vbdev_lvol_new_done cb, void *cb_arg)
{
	struct lvol_new_ctx *c = lvol_new_ctx(cb, cb_arg);

	if (c != NULL) {
		brisk_lvol_create_snapshot(lvol, name, lvol_new_done, c);
	}
}

void vbdev_lvol_clone(struct brisk_lvol *snap, const char *name, vbdev_lvol_new_done cb, void *cb_arg)
{
	struct lvol_new_ctx *c = lvol_new_ctx(cb, cb_arg);

	if (c != NULL) {
		brisk_lvol_create_clone(snap, name, lvol_new_done, c);
	}
}

/* ---- Changes of one lvol ---- */

struct lvol_op_ctx {
	struct brisk_lvol *lvol;
	char old_alias[BRISK_LVS_NAME_MAX + BRISK_LVOL_NAME_MAX + 1];
	uint64_t old_blocks;
	uint64_t new_size;
	vbdev_lvol_done cb;
	void *cb_arg;
};

static struct lvol_op_ctx *lvol_op_ctx(struct brisk_lvol *lvol, vbdev_lvol_done cb, void *cb_arg)
{
	struct lvol_op_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		cb(cb_arg, -ENOMEM);
		return NULL;
	}
	c->lvol = lvol;
	c->cb = cb;
	c->cb_arg = cb_arg;
	return c;
}

static void lvol_op_finish(struct lvol_op_ctx *c, int rc)
{
	c->cb(c->cb_arg, rc);
	free(c);
}

static void lvol_rename_done(void *arg, int rc)
{
	struct lvol_op_ctx *c = arg;
	struct lvol_bdev *lv = brisk_lvol_get_ctx(c->lvol);

	if (rc == 0 && lv != NULL) {
		brisk_bdev_alias_del(&lv->bdev, c->old_alias);
		vbdev_lvol_claim_alias(lv);
	}
	lvol_op_finish(c, rc);
}

void vbdev_lvol_rename(struct brisk_lvol *lvol, const char *new_name, vbdev_lvol_done cb, void *cb_arg)
{
	struct lvol_op_ctx *c = lvol_op_ctx(lvol, cb, cb_arg);

	if (c != NULL) {
		vbdev_lvol_alias(lvol, c->old_alias, sizeof(c->old_alias));
		brisk_lvol_rename(lvol, new_name, lvol_rename_done, c);
	}
}

/* Resize. Growing: blob first, then the bdev. Shrinking: the bdev first
 * (refused while it is open, so no user sees blocks vanish), then the blob;
 * a failed blob shrink gives the bdev its blocks back. */
static uint64_t lvol_blocks(struct brisk_lvol *lvol)
{
	return brisk_blob_get_num_io_units(brisk_lvol_get_blob(lvol));
}

static void lvol_resize_done(void *arg, int rc)
{
	struct lvol_op_ctx *c = arg;
	struct lvol_bdev *lv = brisk_lvol_get_ctx(c->lvol);
	uint64_t blocks = lvol_blocks(c->lvol);

	if (lv != NULL) {
		if (rc != 0 && blocks > lv->bdev.blockcnt) {
			brisk_bdev_notify_blockcnt_change(&lv->bdev, blocks); /* undo our shrink */
		} else if (rc == 0 && blocks != lv->bdev.blockcnt) {
			brisk_bdev_notify_blockcnt_change(&lv->bdev, blocks);
		}
	}
	lvol_op_finish(c, rc);
}

void vbdev_lvol_resize(struct brisk_lvol *lvol, uint64_t size, vbdev_lvol_done cb, void *cb_arg)
{
	struct lvol_op_ctx *c = lvol_op_ctx(lvol, cb, cb_arg);
	struct lvol_bdev *lv = brisk_lvol_get_ctx(lvol);
	struct brisk_blob_store *bs = brisk_lvs_get_bs(brisk_lvol_get_lvs(lvol));
	uint64_t csz = brisk_bs_get_cluster_size(bs);
	uint64_t new_blocks;
	int rc;

	if (c == NULL) {
		return;
	}
	new_blocks = (size / csz + (size % csz != 0)) * (csz / brisk_bs_get_io_unit_size(bs));
	if (lv != NULL && new_blocks < lv->bdev.blockcnt) {
		rc = brisk_bdev_notify_blockcnt_change(&lv->bdev, new_blocks);
		if (rc != 0) {
			BRISK_ERRLOG("lvol %s: cannot shrink while its bdev is open (%s)\n", brisk_lvol_get_name(lvol),
				     strerror(-rc));
			lvol_op_finish(c, rc);
			return;
		}
	}
	brisk_lvol_resize(lvol, size, lvol_resize_done, c);
}

static void lvol_simple_done(void *arg, int rc)
{
	lvol_op_finish(arg, rc);
}

void vbdev_lvol_set_read_only(struct brisk_lvol *lvol, vbdev_lvol_done cb, void *cb_arg)
{
	struct lvol_op_ctx *c = lvol_op_ctx(lvol, cb, cb_arg);

	if (c != NULL) {
		brisk_lvol_set_read_only(lvol, lvol_simple_done, c);
	}
}

/* Delete: check -> unregister the bdev -> delete the blob (a refusal there
 * registers the bdev again). */
static void lvol_delete_done(void *arg, int rc)
{
	struct lvol_op_ctx *c = arg;

	if (rc != 0) {
		struct lvs_bdev *lb = brisk_lvs_get_ctx(brisk_lvol_get_lvs(c->lvol));

		if (brisk_lvol_get_ctx(c->lvol) == NULL && brisk_lvol_get_blob(c->lvol) != NULL) {
			vbdev_lvol_register(lb, c->lvol);
		}
	}
	lvol_op_finish(c, rc);
}

static void lvol_delete_unregistered(void *arg, int rc)
{
	struct lvol_op_ctx *c = arg;

	if (rc != 0) {
		BRISK_ERRLOG("lvol %s: bdev unregister failed: %s\n", brisk_lvol_get_name(c->lvol), strerror(-rc));
		lvol_op_finish(c, rc);
		return;
	}
	brisk_lvol_destroy(c->lvol, lvol_delete_done, c);
}

void vbdev_lvol_delete(struct brisk_lvol *lvol, vbdev_lvol_done cb, void *cb_arg)
{
	struct lvol_op_ctx *c;
	struct lvol_bdev *lv;
	int rc;

	rc = brisk_lvol_check_deletable(lvol);
	if (rc != 0) {
		cb(cb_arg, rc);
		return;
	}
	c = lvol_op_ctx(lvol, cb, cb_arg);
	if (c == NULL) {
		return;
	}
	lv = brisk_lvol_get_ctx(lvol);
	if (lv == NULL) {
		brisk_lvol_destroy(lvol, lvol_delete_done, c);
		return;
	}
	brisk_bdev_unregister(&lv->bdev, lvol_delete_unregistered, c);
}
