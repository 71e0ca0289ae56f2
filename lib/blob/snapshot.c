/* Snapshot, clone, inflate and decouple.
 *
 * Clone is implemented. NOT IMPLEMENTED YET in this build: snapshot,
 * inflate and decouple validate their arguments, then fail with -ENOTSUP
 * and a log line saying so. The parent representation they
 * will use is in place (BLOB descriptor parent id, bs->parent_of, see
 * blob_internal.h), and doc/blobstore_format.md describes the planned
 * crash-safe ordering. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

struct id_reply {
	brisk_blob_op_with_id_complete cb;
	void *cb_arg;
	int rc;
};

static void id_reply_run(void *ctx)
{
	struct id_reply *r = ctx;

	r->cb(r->cb_arg, BRISK_BLOBID_INVALID, r->rc);
	free(r);
}

static void id_fail(brisk_blob_op_with_id_complete cb, void *cb_arg, int rc)
{
	struct id_reply *r = malloc(sizeof(*r));

	if (r != NULL) {
		r->cb = cb;
		r->cb_arg = cb_arg;
		r->rc = rc;
		if (brisk_thread_send_msg(brisk_get_thread(), id_reply_run, r) == 0) {
			return;
		}
		free(r);
	}
	cb(cb_arg, BRISK_BLOBID_INVALID, rc);
}

/* 0 when id names a blob of bs; logs the bad field otherwise. */
static int check_id(struct brisk_blob_store *bs, brisk_blob_id id, const char *what)
{
	if (bs == NULL) {
		BRISK_ERRLOG("%s: bs is NULL", what);
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
	return 0;
}

static int not_yet(const char *what)
{
	BRISK_ERRLOG("%s: not implemented in this build of the blobstore", what);
	return -ENOTSUP;
}

void brisk_bs_create_snapshot(struct brisk_blob_store *bs, brisk_blob_id blobid,
			      const struct brisk_blob_xattr_opts *snapshot_xattrs,
			      brisk_blob_op_with_id_complete cb_fn, void *cb_arg)
{
	int rc;

	(void)snapshot_xattrs;
	if (cb_fn == NULL) {
		BRISK_ERRLOG("blob snapshot: cb_fn is NULL");
		return;
	}
	rc = check_id(bs, blobid, "blob snapshot");
	id_fail(cb_fn, cb_arg, rc != 0 ? rc : not_yet("blob snapshot"));
}

/* Clone: open the snapshot -> check read-only -> create a thin blob of its
 * size recording it as parent (one atomic metadata write: a crash leaves
 * no clone or the whole clone) -> close the snapshot -> reply. */
struct clone_ctx {
	struct brisk_blob_store *bs;
	struct brisk_blob *snap;
	struct brisk_blob_xattr_opts xattrs;
	bool has_xattrs;
	brisk_blob_id clone_id;
	int rc;
	brisk_blob_op_with_id_complete cb;
	void *cb_arg;
};

static void clone_snap_closed(void *ctx, int rc)
{
	struct clone_ctx *c = ctx;

	(void)rc; /* the snapshot is read-only: nothing to lose on close */
	c->cb(c->cb_arg, c->rc == 0 ? c->clone_id : BRISK_BLOBID_INVALID, c->rc);
	free(c);
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
		c->cb(c->cb_arg, BRISK_BLOBID_INVALID, rc);
		free(c);
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
	if (c->has_xattrs) {
		o.xattrs = c->xattrs;
	}
	blob_create(c->bs, &o, snap->id, clone_created, c);
}

void brisk_bs_create_clone(struct brisk_blob_store *bs, brisk_blob_id snapshotid,
			   const struct brisk_blob_xattr_opts *clone_xattrs,
			   brisk_blob_op_with_id_complete cb_fn, void *cb_arg)
{
	struct brisk_blob_open_opts oo = { .read_only = true };
	struct clone_ctx *c;
	int rc;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("blob clone: cb_fn is NULL");
		return;
	}
	rc = check_id(bs, snapshotid, "blob clone");
	if (rc != 0) {
		id_fail(cb_fn, cb_arg, rc);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		id_fail(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	if (clone_xattrs != NULL) {
		/* Copied: the caller's struct need not outlive this call (its
		 * names and values must, as for blob create). */
		c->xattrs = *clone_xattrs;
		c->has_xattrs = true;
	}
	brisk_bs_open_blob_ext(bs, snapshotid, &oo, clone_snap_opened, c);
}

static void parent_op(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
		      brisk_blob_id blobid, brisk_blob_op_complete cb_fn, void *cb_arg,
		      const char *what)
{
	int rc;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("%s: cb_fn is NULL", what);
		return;
	}
	rc = check_id(bs, blobid, what);
	if (rc == 0 && channel == NULL) {
		BRISK_ERRLOG("%s: channel is NULL", what);
		rc = -EINVAL;
	}
	if (rc == 0 && bs->parent_of[blobid - 1] == 0) {
		BRISK_ERRLOG("%s: blob 0x%lx has no parent", what, blobid);
		rc = -EINVAL;
	}
	blob_defer_cb(cb_fn, cb_arg, rc != 0 ? rc : not_yet(what));
}

void brisk_bs_inflate_blob(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
			   brisk_blob_id blobid, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	parent_op(bs, channel, blobid, cb_fn, cb_arg, "blob inflate");
}

void brisk_bs_blob_decouple_parent(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
				   brisk_blob_id blobid, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	parent_op(bs, channel, blobid, cb_fn, cb_arg, "blob decouple");
}
