/* Operations on an open blob: close, resize, sync, read-only, xattrs and
 * properties. All on the metadata thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

/* NULL blob or wrong thread: logged, false. */
static bool blob_call_ok(struct brisk_blob *blob, const char *what)
{
	if (blob == NULL) {
		BRISK_ERRLOG("%s: blob is NULL", what);
		return false;
	}
	if (blob->refs == 0 || blob->opening != NULL) {
		BRISK_ERRLOG("%s: blob 0x%lx is not open", what, blob->id);
		return false;
	}
	return blob_on_md_thread(blob->bs);
}

static void complete_or_log(brisk_blob_op_complete cb_fn, void *cb_arg, int rc, const char *what)
{
	if (cb_fn == NULL) {
		BRISK_ERRLOG("%s: cb_fn is NULL", what);
		return;
	}
	blob_defer_cb(cb_fn, cb_arg, rc);
}

/* ---- Close: drop a reference; the last one syncs, then frees ---- */

struct close_ctx {
	struct brisk_blob *blob;
	brisk_blob_op_complete cb;
	void *cb_arg;
	bool was_ro;
};

static bool close_needs_sync(struct brisk_blob *b)
{
	return b->dirty || b->syncing || b->sync_scheduled || !TAILQ_EMPTY(&b->sync_queued);
}

static void close_synced(void *ctx, int rc);

static void close_finish(void *ctx, int rc)
{
	struct close_ctx *c = ctx;
	struct brisk_blob *b = c->blob;
	struct brisk_blob_store *bs = b->bs;

	(void)rc;
	if (b->refs == 0 && close_needs_sync(b)) {
		/* Something queued a sync after ours: wait for it too. */
		blob_sync(b, close_synced, c);
		return;
	}
	if (b->refs == 0) {
		TAILQ_REMOVE(&bs->open_blobs, b, link);
		blob_free_handle(b);
	}
	/* else: opened again while closing, the handle lives on. */
	blob_md_op_end(bs);
	c->cb(c->cb_arg, 0);
	free(c);
}

static void close_synced(void *ctx, int rc)
{
	struct close_ctx *c = ctx;
	struct brisk_blob *b = c->blob;

	if (rc != 0) {
		/* The blob stays open so nothing unsaved is lost; the caller may retry. */
		BRISK_ERRLOG("blob close: blob 0x%lx metadata sync failed (%d); it stays open", b->id,
			     rc);
		b->refs++;
		b->ro_refs += c->was_ro;
		blob_md_op_end(b->bs);
		c->cb(c->cb_arg, rc);
		free(c);
		return;
	}
	/* Let the sync machinery finish with the blob before it is freed. */
	blob_defer_cb(close_finish, c, 0);
}

void brisk_blob_close(struct brisk_blob *blob, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	struct close_ctx *c;
	int rc;

	if (cb_fn == NULL || !blob_call_ok(blob, "blob close")) {
		complete_or_log(cb_fn, cb_arg, -EINVAL, "blob close");
		return;
	}
	rc = blob_md_op_begin(blob->bs, "blob close");
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		blob_md_op_end(blob->bs);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->blob = blob;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	blob->refs--;
	/* Handles are shared: count this close against the read-only opens
	 * only when more read-only opens than handles remain. */
	if (blob->ro_refs > blob->refs) {
		blob->ro_refs--;
		c->was_ro = true;
	}
	if (blob->refs > 0) {
		blob_defer_cb(close_finish, c, 0);
		return;
	}
	if (close_needs_sync(blob)) {
		blob_sync(blob, close_synced, c);
	} else {
		blob_defer_cb(close_finish, c, 0);
	}
}

/* ---- Resize and sync ---- */

void brisk_blob_resize(struct brisk_blob *blob, uint64_t num_clusters, brisk_blob_op_complete cb_fn,
		       void *cb_arg)
{
	int rc;

	if (cb_fn == NULL || !blob_call_ok(blob, "blob resize")) {
		complete_or_log(cb_fn, cb_arg, -EINVAL, "blob resize");
		return;
	}
	if (!blob_handle_writable(blob, "blob resize")) {
		blob_defer_cb(cb_fn, cb_arg, -EPERM);
		return;
	}
	if (blob->relation_busy) {
		BRISK_ERRLOG("blob resize: blob 0x%lx is being snapshotted, inflated or decoupled",
			     blob->id);
		blob_defer_cb(cb_fn, cb_arg, -EBUSY);
		return;
	}
	if (num_clusters > BLOB_MAX_CLUSTERS) {
		BRISK_ERRLOG("blob resize: %lu clusters is more than a blob can have (%llu)", num_clusters,
			     BLOB_MAX_CLUSTERS);
		blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		return;
	}
	rc = blob_set_num_clusters(blob, num_clusters);
	blob_defer_cb(cb_fn, cb_arg, rc);
}

struct md_op_ctx {
	struct brisk_blob_store *bs;
	brisk_blob_op_complete cb;
	void *cb_arg;
};

static void sync_md_done(void *ctx, int rc)
{
	struct md_op_ctx *c = ctx;

	blob_md_op_end(c->bs);
	c->cb(c->cb_arg, rc);
	free(c);
}

void brisk_blob_sync_md(struct brisk_blob *blob, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	struct md_op_ctx *c;
	int rc;

	if (cb_fn == NULL || !blob_call_ok(blob, "blob sync_md")) {
		complete_or_log(cb_fn, cb_arg, -EINVAL, "blob sync_md");
		return;
	}
	if (blob_degraded_refuse(blob, "blob sync_md")) {
		blob_defer_cb(cb_fn, cb_arg, -EPERM);
		return;
	}
	rc = blob_md_op_begin(blob->bs, "blob sync_md");
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		blob_md_op_end(blob->bs);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->bs = blob->bs;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	blob_sync(blob, sync_md_done, c);
}

int brisk_blob_set_read_only(struct brisk_blob *blob)
{
	if (!blob_call_ok(blob, "blob set_read_only")) {
		return -EINVAL;
	}
	if (blob_degraded_refuse(blob, "blob set_read_only")) {
		return -EPERM;
	}
	if (blob->relation_busy) {
		BRISK_ERRLOG("blob set_read_only: blob 0x%lx is being snapshotted, inflated or "
			     "decoupled", blob->id);
		return -EBUSY;
	}
	if (!(blob->md.flags & BLOB_FLAG_READ_ONLY)) {
		blob->md.flags |= BLOB_FLAG_READ_ONLY;
		blob->dirty = true;
	}
	return 0;
}

bool brisk_blob_is_read_only(struct brisk_blob *blob)
{
	return blob != NULL && (blob->md.flags & BLOB_FLAG_READ_ONLY) != 0;
}

bool brisk_blob_is_degraded(struct brisk_blob *blob)
{
	return blob != NULL && blob->degraded;
}

bool brisk_blob_is_thin_provisioned(struct brisk_blob *blob)
{
	return blob != NULL && (blob->md.flags & BLOB_FLAG_THIN) != 0;
}

/* ---- Xattrs ---- */

int brisk_blob_set_xattr(struct brisk_blob *blob, const char *name, const void *value,
			 uint16_t value_len)
{
	int rc;

	if (!blob_call_ok(blob, "blob set_xattr")) {
		return -EINVAL;
	}
	rc = blob_check_xattr(name, value_len, value, "blob set_xattr");
	if (rc != 0) {
		return rc;
	}
	if (!blob_handle_writable(blob, "blob set_xattr")) {
		return -EPERM;
	}
	rc = blob_md_set_xattr(&blob->md.xattrs, name, value, value_len);
	if (rc == 0) {
		blob->dirty = true;
	}
	return rc;
}

int brisk_blob_get_xattr_value(struct brisk_blob *blob, const char *name, const void **value,
			       size_t *value_len)
{
	struct blob_xattr *x;

	if (blob == NULL || name == NULL || value == NULL || value_len == NULL) {
		BRISK_ERRLOG("blob get_xattr_value: NULL argument");
		return -EINVAL;
	}
	x = blob_md_find_xattr(&blob->md.xattrs, name);
	if (x == NULL) {
		return -ENOENT;
	}
	*value = x->value;
	*value_len = x->value_len;
	return 0;
}

int brisk_blob_remove_xattr(struct brisk_blob *blob, const char *name)
{
	if (!blob_call_ok(blob, "blob remove_xattr") || name == NULL) {
		return -EINVAL;
	}
	if (blob_md_find_xattr(&blob->md.xattrs, name) == NULL) {
		return -ENOENT;
	}
	if (!blob_handle_writable(blob, "blob remove_xattr")) {
		return -EPERM;
	}
	blob_md_remove_xattr(&blob->md.xattrs, name);
	blob->dirty = true;
	return 0;
}

int brisk_blob_get_xattr_names(struct brisk_blob *blob, const char ***names, size_t *count)
{
	struct blob_xattr *x;
	size_t n = 0;

	if (blob == NULL || names == NULL || count == NULL) {
		BRISK_ERRLOG("blob get_xattr_names: NULL argument");
		return -EINVAL;
	}
	TAILQ_FOREACH(x, &blob->md.xattrs, link) {
		n++;
	}
	*names = calloc(n ? n : 1, sizeof(char *));
	if (*names == NULL) {
		return -ENOMEM;
	}
	n = 0;
	TAILQ_FOREACH(x, &blob->md.xattrs, link) {
		(*names)[n++] = x->name;
	}
	*count = n;
	return 0;
}

/* ---- Properties ---- */

brisk_blob_id brisk_blob_get_id(struct brisk_blob *blob)
{
	return blob ? blob->id : BRISK_BLOBID_INVALID;
}

uint64_t brisk_blob_get_num_clusters(struct brisk_blob *blob)
{
	return blob ? blob->md.num_clusters : 0;
}

uint64_t brisk_blob_get_num_pages(struct brisk_blob *blob)
{
	return blob ? blob->md.num_clusters * blob->bs->pages_per_cluster : 0;
}

uint64_t brisk_blob_get_num_io_units(struct brisk_blob *blob)
{
	return blob ? blob->md.num_clusters * blob->bs->io_units_per_cluster : 0;
}

bool brisk_blob_cluster_is_allocated(struct brisk_blob *blob, uint64_t index)
{
	return blob != NULL && index < blob->md.num_clusters && blob->md.clusters[index] != 0;
}

uint64_t brisk_blob_get_num_allocated_clusters(struct brisk_blob *blob)
{
	uint64_t n = 0;

	if (blob == NULL) {
		return 0;
	}
	for (uint64_t i = 0; i < blob->md.num_clusters; i++) {
		n += blob->md.clusters[i] != 0;
	}
	return n;
}
