/*
 * Namespace operations, one at a time from the file system's queue:
 *
 * create: check name -> take the spare blob, or create one (xattrs name,
 *         size 0, gen) -> node
 * open:   find (or create) -> open blob (reference counted by the store) ->
 *         handle
 * delete: find -> unlink the name in memory -> closed file: delete its blob
 *         or keep it as the spare (spare.c); open file: mark the blob
 *         deleted (sync), delete at last close
 * rename: find -> (open the blob if closed) -> new name + newer gen, sync
 *         (the commit point: at load the newest gen owns a name) -> drop
 *         the replaced file as delete does
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blobfs_internal.h"

struct ns_op {
	struct blobfs_op op;
	struct brisk_blobfs *fs;
	char *name, *new_name;
	uint32_t flags;
	struct blobfs_node *node, *target;
	struct brisk_blob *tmp_blob;  /* opened for a rename of a closed file */
	brisk_blobfs_op_complete cb;
	brisk_blobfs_file_op_with_handle_complete open_cb;
	void *cb_arg;
	uint64_t gen;
	int rc;
};

static void ns_finish(struct ns_op *o, int rc, struct brisk_blobfs_file *file)
{
	struct brisk_blobfs *fs = o->fs;

	if (o->open_cb != NULL) {
		o->open_cb(o->cb_arg, file, rc);
	} else if (o->cb != NULL) {
		o->cb(o->cb_arg, rc);
	}
	free(o->name);
	free(o->new_name);
	free(o);
	blobfs_ns_done(fs);
}

static struct ns_op *ns_op_new(struct brisk_blobfs *fs, const char *name, const char *new_name)
{
	struct ns_op *o = calloc(1, sizeof(*o));

	if (o == NULL) {
		return NULL;
	}
	o->fs = fs;
	o->name = name != NULL ? strdup(name) : NULL;
	o->new_name = new_name != NULL ? strdup(new_name) : NULL;
	if ((name != NULL && o->name == NULL) || (new_name != NULL && o->new_name == NULL)) {
		free(o->name);
		free(o);
		return NULL;
	}
	return o;
}

/* ---- create ---- */

static void xattr_value(void *ctx, const char *name, const void **value, size_t *len)
{
	struct ns_op *o = ctx;
	static const uint64_t zero;

	if (strcmp(name, BLOBFS_XATTR_NAME) == 0) {
		*value = o->name;
		*len = strlen(o->name);
	} else if (strcmp(name, BLOBFS_XATTR_GEN) == 0) {
		*value = &o->gen;
		*len = sizeof(o->gen);
	} else {
		*value = &zero;
		*len = sizeof(zero);
	}
}

static void open_blob_done(void *arg, struct brisk_blob *blob, int rc);

static struct blobfs_node *created_node(struct ns_op *o, brisk_blob_id id)
{
	struct blobfs_node *n = blobfs_node_new(o->fs, id);

	if (n == NULL) {
		return NULL; /* the blob stays; the next load finds it */
	}
	n->name = o->name;
	o->name = strdup(n->name);
	n->gen = o->gen;
	return n;
}

static void create_done(void *arg, brisk_blob_id id, int rc)
{
	struct ns_op *o = arg;
	struct blobfs_node *n;

	if (rc != 0) {
		ns_finish(o, rc, NULL);
		return;
	}
	n = created_node(o, id);
	if (n == NULL || o->open_cb == NULL) {
		ns_finish(o, n == NULL ? -ENOMEM : 0, NULL);
		return;
	}
	o->node = n;
	brisk_bs_open_blob(o->fs->bs, id, open_blob_done, o);
}

static void create_fresh(struct ns_op *o)
{
	static char *names[] = { BLOBFS_XATTR_NAME, BLOBFS_XATTR_SIZE, BLOBFS_XATTR_GEN };
	struct brisk_blob_opts bo;

	brisk_blob_opts_init(&bo);
	bo.thin_provision = true;
	bo.xattrs.count = 3;
	bo.xattrs.names = names;
	bo.xattrs.ctx = o;
	bo.xattrs.get_value = xattr_value;
	brisk_bs_create_blob_ext(o->fs->bs, &bo, create_done, o);
}

static void spare_closed(void *arg, int rc)
{
	struct ns_op *o = arg;

	ns_finish(o, o->rc != 0 ? o->rc : rc, NULL);
}

/* The spare came with its handle open: an open uses it, a create closes it. */
static void spare_taken(void *ctx, struct brisk_blob *blob, brisk_blob_id id, int rc)
{
	struct ns_op *o = ctx;
	struct blobfs_node *n;

	if (rc != 0) {
		create_fresh(o);
		return;
	}
	n = created_node(o, id);
	if (n == NULL || o->open_cb == NULL) {
		o->rc = n == NULL ? -ENOMEM : 0;
		brisk_blob_close(blob, spare_closed, o);
		return;
	}
	o->node = n;
	open_blob_done(o, blob, 0);
}

static void create_blob(struct ns_op *o)
{
	o->gen = o->fs->next_gen++;
	if (!blobfs_spare_take(o->fs, o->name, &o->gen, spare_taken, o)) {
		create_fresh(o);
	}
}

static void create_start(struct blobfs_op *op)
{
	struct ns_op *o = (struct ns_op *)op;

	if (blobfs_node_find(o->fs, o->name) != NULL) {
		ns_finish(o, -EEXIST, NULL);
		return;
	}
	create_blob(o);
}

static bool ns_args_ok(struct brisk_blobfs *fs, const char *name, void *cb)
{
	return fs != NULL && cb != NULL && blobfs_name_check(name) == 0;
}

static void ns_submit(struct brisk_blobfs *fs, struct ns_op *o, blobfs_op_fn start, int early_rc)
{
	if (early_rc != 0) {
		o->rc = early_rc;
	}
	blobfs_ns_enqueue(fs, &o->op, start);
}

static void fail_start(struct blobfs_op *op)
{
	struct ns_op *o = (struct ns_op *)op;

	ns_finish(o, o->rc, NULL);
}

void brisk_blobfs_create(struct brisk_blobfs *fs, const char *name, brisk_blobfs_op_complete cb_fn,
			 void *cb_arg)
{
	struct ns_op *o;

	if (fs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("blobfs create: NULL argument\n");
		return;
	}
	o = ns_op_new(fs, name != NULL ? name : "", NULL);
	if (o == NULL) {
		BRISK_ERRLOG("blobfs create: out of memory\n");
		return;
	}
	o->cb = cb_fn;
	o->cb_arg = cb_arg;
	if (!ns_args_ok(fs, name, cb_fn)) {
		ns_submit(fs, o, fail_start, -EINVAL);
		return;
	}
	ns_submit(fs, o, create_start, 0);
}

/* ---- open ---- */

static void open_blob_done(void *arg, struct brisk_blob *blob, int rc)
{
	struct ns_op *o = arg;
	struct brisk_blobfs_file *f;

	if (rc != 0) {
		ns_finish(o, rc, NULL);
		return;
	}
	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		brisk_blob_close(blob, NULL, NULL);
		ns_finish(o, -ENOMEM, NULL);
		return;
	}
	f->node = o->node;
	o->node->blob = blob;
	if (o->flags & BRISK_BLOBFS_OPEN_LAZY_SIZE) {
		o->node->lazy_size = true;
	}
	o->node->handles++;
	o->fs->open_files++;
	TAILQ_INSERT_TAIL(&o->fs->files, f, link);
	ns_finish(o, 0, f);
}

static void open_start(struct blobfs_op *op)
{
	struct ns_op *o = (struct ns_op *)op;

	o->node = blobfs_node_find(o->fs, o->name);
	if (o->node == NULL) {
		if (!(o->flags & BRISK_BLOBFS_OPEN_CREATE)) {
			ns_finish(o, -ENOENT, NULL);
			return;
		}
		create_blob(o);
		return;
	}
	brisk_bs_open_blob(o->fs->bs, o->node->id, open_blob_done, o);
}

void brisk_blobfs_open(struct brisk_blobfs *fs, const char *name, uint32_t flags,
		       brisk_blobfs_file_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct ns_op *o;

	if (fs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("blobfs open: NULL argument\n");
		return;
	}
	o = ns_op_new(fs, name != NULL ? name : "", NULL);
	if (o == NULL) {
		BRISK_ERRLOG("blobfs open: out of memory\n");
		return;
	}
	o->open_cb = cb_fn;
	o->cb_arg = cb_arg;
	o->flags = flags;
	if (!ns_args_ok(fs, name, cb_fn) || (flags & ~(BRISK_BLOBFS_OPEN_CREATE | BRISK_BLOBFS_OPEN_LAZY_SIZE)) != 0) {
		ns_submit(fs, o, fail_start, -EINVAL);
		return;
	}
	ns_submit(fs, o, open_start, 0);
}

/* ---- dropping a file whose name is gone (delete, or replaced by rename) ---- */

static void unlink_done(void *arg, int rc)
{
	struct ns_op *o = arg;

	ns_finish(o, rc, NULL);
}

static void unlink_node(struct ns_op *o, struct blobfs_node *n)
{
	static const uint64_t one = 1;
	int rc;

	free(n->name);
	n->name = NULL;
	if (n->handles == 0) {
		brisk_blob_id id = n->id;

		blobfs_node_forget(n);
		blobfs_spare_put(o->fs, id, unlink_done, o);
		return;
	}
	rc = brisk_blob_set_xattr(n->blob, BLOBFS_XATTR_DELETED, &one, sizeof(one));
	if (rc != 0) {
		ns_finish(o, rc, NULL);
		return;
	}
	brisk_blob_sync_md(n->blob, unlink_done, o);
}

/* ---- delete ---- */

static void delete_start(struct blobfs_op *op)
{
	struct ns_op *o = (struct ns_op *)op;
	struct blobfs_node *n = blobfs_node_find(o->fs, o->name);

	if (n == NULL) {
		ns_finish(o, -ENOENT, NULL);
		return;
	}
	unlink_node(o, n);
}

static void ns_call(struct brisk_blobfs *fs, const char *name, const char *new_name,
		    blobfs_op_fn start, brisk_blobfs_op_complete cb_fn, void *cb_arg)
{
	struct ns_op *o;

	if (fs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("blobfs: NULL argument\n");
		return;
	}
	o = ns_op_new(fs, name != NULL ? name : "", new_name);
	if (o == NULL) {
		BRISK_ERRLOG("blobfs: out of memory\n");
		return;
	}
	o->cb = cb_fn;
	o->cb_arg = cb_arg;
	if (!ns_args_ok(fs, name, cb_fn) || (new_name != NULL && blobfs_name_check(new_name) != 0)) {
		ns_submit(fs, o, fail_start, -EINVAL);
		return;
	}
	ns_submit(fs, o, start, 0);
}

void brisk_blobfs_delete(struct brisk_blobfs *fs, const char *name, brisk_blobfs_op_complete cb_fn,
			 void *cb_arg)
{
	ns_call(fs, name, NULL, delete_start, cb_fn, cb_arg);
}

/* ---- rename ---- */

static void rename_drop_target(struct ns_op *o)
{
	if (o->target == NULL) {
		ns_finish(o, 0, NULL);
		return;
	}
	unlink_node(o, o->target);
}

static void rename_closed_tmp(void *arg, int rc)
{
	struct ns_op *o = arg;

	if (rc != 0) {
		BRISK_WARNLOG("blobfs rename: closing blob failed: %d\n", rc);
	}
	rename_drop_target(o);
}

static void rename_synced(void *arg, int rc)
{
	struct ns_op *o = arg;
	struct blobfs_node *n = o->node;

	if (rc != 0) {
		ns_finish(o, rc, NULL); /* old name kept in memory; the disk has either */
		return;
	}
	free(n->name);
	n->name = o->new_name;
	o->new_name = NULL;
	n->gen = o->gen;
	o->target = blobfs_node_find_other(o->fs, n->name, n);
	if (o->tmp_blob != NULL) {
		brisk_blob_close(o->tmp_blob, rename_closed_tmp, o);
		return;
	}
	rename_drop_target(o);
}

static void rename_set(struct ns_op *o, struct brisk_blob *blob)
{
	int rc;

	o->gen = o->fs->next_gen++;
	rc = brisk_blob_set_xattr(blob, BLOBFS_XATTR_NAME, o->new_name,
				  (uint16_t)strlen(o->new_name));
	if (rc == 0) {
		rc = brisk_blob_set_xattr(blob, BLOBFS_XATTR_GEN, &o->gen, sizeof(o->gen));
	}
	if (rc != 0) {
		ns_finish(o, rc, NULL);
		return;
	}
	brisk_blob_sync_md(blob, rename_synced, o);
}

static void rename_opened(void *arg, struct brisk_blob *blob, int rc)
{
	struct ns_op *o = arg;

	if (rc != 0) {
		ns_finish(o, rc, NULL);
		return;
	}
	o->tmp_blob = blob;
	rename_set(o, blob);
}

static void rename_start(struct blobfs_op *op)
{
	struct ns_op *o = (struct ns_op *)op;

	o->node = blobfs_node_find(o->fs, o->name);
	if (o->node == NULL) {
		ns_finish(o, -ENOENT, NULL);
		return;
	}
	if (strcmp(o->name, o->new_name) == 0) {
		ns_finish(o, 0, NULL);
		return;
	}
	if (o->node->blob != NULL) {
		rename_set(o, o->node->blob);
		return;
	}
	brisk_bs_open_blob(o->fs->bs, o->node->id, rename_opened, o);
}

void brisk_blobfs_rename(struct brisk_blobfs *fs, const char *old_name, const char *new_name,
			 brisk_blobfs_op_complete cb_fn, void *cb_arg)
{
	ns_call(fs, old_name, new_name != NULL ? new_name : "", rename_start, cb_fn, cb_arg);
}
