/*
 * Lvols: create, rename, resize, set read-only, destroy, lookup. An lvol is
 * an open blob whose "name" and "uuid" xattrs say what it is; every change
 * of those is synced before it is reported, so a restart sees it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/string.h>

#include "lvol_internal.h"

/* ---- In-memory lvols ---- */

struct brisk_lvol *lvol_find_any(struct brisk_lvol_store *lvs, const char *name)
{
	struct brisk_lvol *lvol;

	TAILQ_FOREACH(lvol, &lvs->lvols, link) {
		if (strcmp(lvol->name, name) == 0) {
			return lvol;
		}
	}
	return NULL;
}

struct brisk_lvol *lvol_alloc(struct brisk_lvol_store *lvs, const char *name)
{
	struct brisk_lvol *lvol = calloc(1, sizeof(*lvol));

	if (lvol == NULL) {
		return NULL;
	}
	lvol->lvs = lvs;
	lvol->state = LVOL_CREATING;
	lvol->clear_method = BRISK_BLOB_CLEAR_WITH_DEFAULT;
	brisk_strlcpy(lvol->name, name, sizeof(lvol->name));
	brisk_uuid_generate(&lvol->uuid);
	brisk_uuid_fmt_lower(lvol->uuid_str, sizeof(lvol->uuid_str), &lvol->uuid);
	TAILQ_INSERT_TAIL(&lvs->lvols, lvol, link);
	return lvol;
}

void lvol_free(struct brisk_lvol *lvol)
{
	TAILQ_REMOVE(&lvol->lvs->lvols, lvol, link);
	free(lvol);
}

static void lvol_xattr_value(void *ctx, const char *name, const void **value, size_t *len)
{
	struct brisk_lvol *lvol = ctx;

	if (strcmp(name, LVOL_XATTR_NAME) == 0) {
		*value = lvol->name;
		*len = strlen(lvol->name) + 1;
	} else {
		*value = lvol->uuid_str;
		*len = strlen(lvol->uuid_str) + 1;
	}
}

void lvol_xattr_opts(struct brisk_lvol *lvol, struct brisk_blob_xattr_opts *xattrs)
{
	static char *names[] = { LVOL_XATTR_NAME, LVOL_XATTR_UUID };

	xattrs->count = 2;
	xattrs->names = names;
	xattrs->ctx = lvol;
	xattrs->get_value = lvol_xattr_value;
}

int lvol_from_blob(struct brisk_lvol *lvol, struct brisk_blob *blob)
{
	const void *v;
	size_t len;
	char uuid_str[BRISK_UUID_STRING_LEN];

	if (brisk_blob_get_xattr_value(blob, LVOL_XATTR_NAME, &v, &len) != 0 || len < 2 ||
	    len > BRISK_LVOL_NAME_MAX || ((const char *)v)[len - 1] != '\0') {
		return -EILSEQ;
	}
	memcpy(lvol->name, v, len);
	if (brisk_blob_get_xattr_value(blob, LVOL_XATTR_UUID, &v, &len) != 0 || len != BRISK_UUID_STRING_LEN) {
		return -EILSEQ;
	}
	memcpy(uuid_str, v, len);
	uuid_str[len - 1] = '\0';
	if (brisk_uuid_parse(&lvol->uuid, uuid_str) != 0) {
		return -EILSEQ;
	}
	brisk_uuid_fmt_lower(lvol->uuid_str, sizeof(lvol->uuid_str), &lvol->uuid);
	lvol->blob_id = brisk_blob_get_id(blob);
	lvol->clear_method = BRISK_BLOB_CLEAR_WITH_DEFAULT;
	return 0;
}

/* ---- Opening a newly created blob (create, snapshot, clone) ---- */

struct lvol_open_ctx {
	struct brisk_lvol *lvol;
	brisk_lvol_op_with_handle_complete cb_fn;
	void *cb_arg;
	int rc;
};

static void lvol_open_undone(void *arg, int bserrno)
{
	struct lvol_open_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: blob 0x%llx could not be removed after a failed open: %s\n",
			     c->lvol->name, (unsigned long long)c->lvol->blob_id, strerror(-bserrno));
	}
	lvol_free(c->lvol);
	c->cb_fn(c->cb_arg, NULL, c->rc);
	free(c);
}

static void lvol_open_done(void *arg, struct brisk_blob *blob, int bserrno)
{
	struct lvol_open_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: cannot open its new blob: %s\n", c->lvol->name, strerror(-bserrno));
		c->rc = bserrno;
		brisk_bs_delete_blob(c->lvol->lvs->bs, c->lvol->blob_id, lvol_open_undone, c);
		return;
	}
	c->lvol->blob = blob;
	c->lvol->state = LVOL_READY;
	BRISK_DEBUGLOG(lvol, "lvol %s/%s ready (blob 0x%llx)\n", c->lvol->lvs->name, c->lvol->name,
		      (unsigned long long)c->lvol->blob_id);
	c->cb_fn(c->cb_arg, c->lvol, 0);
	free(c);
}

void lvol_open_new(struct brisk_lvol *lvol, brisk_blob_id blob_id,
		   brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct lvol_open_ctx *c = calloc(1, sizeof(*c));

	lvol->blob_id = blob_id;
	if (c == NULL) {
		/* The blob stays on disk and loads next time. */
		lvol_free(lvol);
		lvol_defer_lvol(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->lvol = lvol;
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	brisk_bs_open_blob(lvol->lvs->bs, blob_id, lvol_open_done, c);
}

/* ---- Create: check -> reserve name -> create blob with xattrs -> open ---- */

struct lvol_create_ctx {
	struct brisk_lvol *lvol;
	brisk_lvol_op_with_handle_complete cb_fn;
	void *cb_arg;
};

static void lvol_create_blob_done(void *arg, brisk_blob_id id, int bserrno)
{
	struct lvol_create_ctx *c = arg;
	struct brisk_lvol *lvol = c->lvol;
	brisk_lvol_op_with_handle_complete cb_fn = c->cb_fn;
	void *cb_arg = c->cb_arg;

	free(c);
	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: cannot create its blob: %s\n", lvol->name, strerror(-bserrno));
		lvol_free(lvol);
		cb_fn(cb_arg, NULL, bserrno);
		return;
	}
	lvol_open_new(lvol, id, cb_fn, cb_arg);
}

/* Checks a new lvol's name in lvs: 0, -EINVAL, -EEXIST (logged). */
static int lvol_check_new_name(struct brisk_lvol_store *lvs, const char *name)
{
	int rc = lvol_check_name(name, BRISK_LVOL_NAME_MAX, "lvol");

	/* lvol_check_name refuses NULL; said again for scan-build, which does
	 * not see into lvs.c and then warns at every use of the name. */
	if (rc == 0 && name == NULL) {
		rc = -EINVAL;
	}
	if (rc == 0 && lvol_find_any(lvs, name) != NULL) {
		BRISK_ERRLOG("lvol name '%s' already exists in lvstore %s\n", name, lvs->name);
		rc = -EEXIST;
	}
	return rc;
}

static uint64_t lvol_clusters(struct brisk_lvol_store *lvs, uint64_t size_bytes)
{
	uint64_t csz = brisk_bs_get_cluster_size(lvs->bs);

	return size_bytes / csz + (size_bytes % csz != 0);
}

void brisk_lvol_create(struct brisk_lvol_store *lvs, const char *name, uint64_t size_bytes,
		       bool thin_provision, enum brisk_blob_clear_method clear_method,
		       brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct lvol_create_ctx *c;
	struct brisk_blob_opts bo;
	uint64_t clusters = 0, free_clusters;
	int rc;

	if (lvs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("brisk_lvol_create: lvs and cb_fn are required\n");
		if (cb_fn != NULL) {
			lvol_defer_lvol(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	rc = lvs->busy ? -EBUSY : lvol_check_new_name(lvs, name);
	if (rc == -EBUSY) {
		BRISK_ERRLOG("lvstore %s: another operation is running on it\n", lvs->name);
	}
	if (rc == 0 && size_bytes == 0) {
		BRISK_ERRLOG("lvol %s: size must be more than 0\n", name);
		rc = -EINVAL;
	}
	if (rc == 0 && clear_method > BRISK_BLOB_CLEAR_WITH_WRITE_ZEROES) {
		BRISK_ERRLOG("lvol %s: clear_method %d is not valid\n", name, (int)clear_method);
		rc = -EINVAL;
	}
	if (rc == 0) {
		clusters = lvol_clusters(lvs, size_bytes);
		free_clusters = brisk_bs_free_cluster_count(lvs->bs);
		if (clusters > UINT32_MAX) {
			BRISK_ERRLOG("lvol %s: size %llu bytes is too large\n", name, (unsigned long long)size_bytes);
			rc = -EINVAL;
		} else if (!thin_provision && clusters > free_clusters) {
			BRISK_ERRLOG("lvol %s: size %llu bytes needs %llu clusters, lvstore %s has %llu free\n", name,
				     (unsigned long long)size_bytes, (unsigned long long)clusters, lvs->name,
				     (unsigned long long)free_clusters);
			rc = -ENOSPC;
		}
	}
	c = rc == 0 ? calloc(1, sizeof(*c)) : NULL;
	if (rc == 0 && (c == NULL || (c->lvol = lvol_alloc(lvs, name)) == NULL)) {
		free(c);
		rc = -ENOMEM;
	}
	if (rc != 0) {
		lvol_defer_lvol(cb_fn, cb_arg, rc);
		return;
	}
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	c->lvol->clear_method = clear_method;
	brisk_blob_opts_init(&bo);
	bo.num_clusters = clusters;
	bo.thin_provision = thin_provision;
	bo.clear_method = clear_method;
	lvol_xattr_opts(c->lvol, &bo.xattrs);
	brisk_bs_create_blob_ext(lvs->bs, &bo, lvol_create_blob_done, c);
}

/* ---- Metadata changes of one lvol: each marks it busy, ends with a sync ---- */

struct lvol_md_ctx {
	struct brisk_lvol *lvol;
	brisk_lvol_op_complete cb_fn;
	void *cb_arg;
	char old_name[BRISK_LVOL_NAME_MAX];
	char new_name[BRISK_LVOL_NAME_MAX];
	uint64_t old_clusters;
	int rc;
};

/* -EBUSY (logged) when lvol cannot take a metadata operation now. */
static int lvol_begin(struct brisk_lvol *lvol, const char *what)
{
	if (lvol->state != LVOL_READY || lvol->busy || lvol->lvs->busy) {
		BRISK_ERRLOG("lvol %s: cannot %s: another operation is running on it or its lvstore\n",
			     lvol->name, what);
		return -EBUSY;
	}
	return 0;
}

static struct lvol_md_ctx *lvol_md_ctx_new(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn,
					   void *cb_arg)
{
	struct lvol_md_ctx *c = calloc(1, sizeof(*c));

	if (c != NULL) {
		c->lvol = lvol;
		c->cb_fn = cb_fn;
		c->cb_arg = cb_arg;
		lvol->busy = true;
	}
	return c;
}

static void lvol_md_finish(struct lvol_md_ctx *c, int rc)
{
	c->lvol->busy = false;
	c->cb_fn(c->cb_arg, rc);
	free(c);
}

static void lvol_rename_synced(void *arg, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: rename not persisted: %s\n", c->old_name, strerror(-bserrno));
		brisk_strlcpy(c->lvol->name, c->old_name, sizeof(c->lvol->name));
		brisk_blob_set_xattr(c->lvol->blob, LVOL_XATTR_NAME, c->old_name, strlen(c->old_name) + 1);
	} else {
		BRISK_NOTICELOG("lvol %s/%s renamed to %s\n", c->lvol->lvs->name, c->old_name, c->lvol->name);
	}
	lvol_md_finish(c, bserrno);
}

void brisk_lvol_rename(struct brisk_lvol *lvol, const char *new_name, brisk_lvol_op_complete cb_fn,
		       void *cb_arg)
{
	struct lvol_md_ctx *c;
	int rc;

	rc = lvol_begin(lvol, "rename");
	if (rc == 0 && new_name != NULL && strcmp(new_name, lvol->name) == 0) {
		lvol_defer_op(cb_fn, cb_arg, 0);
		return;
	}
	if (rc == 0) {
		rc = lvol_check_new_name(lvol->lvs, new_name);
	}
	c = rc == 0 ? lvol_md_ctx_new(lvol, cb_fn, cb_arg) : NULL;
	if (rc == 0 && c == NULL) {
		rc = -ENOMEM;
	}
	if (rc == 0) {
		rc = brisk_blob_set_xattr(lvol->blob, LVOL_XATTR_NAME, new_name, strlen(new_name) + 1);
		if (rc != 0) {
			BRISK_ERRLOG("lvol %s: cannot set its new name: %s\n", lvol->name, strerror(-rc));
			lvol->busy = false;
			free(c);
		}
	}
	if (rc != 0) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	brisk_strlcpy(c->old_name, lvol->name, sizeof(c->old_name));
	brisk_strlcpy(lvol->name, new_name, sizeof(lvol->name));
	brisk_blob_sync_md(lvol->blob, lvol_rename_synced, c);
}

/* Resize: blob resize -> sync (a failed sync resizes back). */
static void lvol_resize_undone(void *arg, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	(void)bserrno;
	lvol_md_finish(c, c->rc);
}

static void lvol_resize_synced(void *arg, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: resize not persisted: %s\n", c->lvol->name, strerror(-bserrno));
		c->rc = bserrno;
		brisk_blob_resize(c->lvol->blob, c->old_clusters, lvol_resize_undone, c);
		return;
	}
	lvol_md_finish(c, 0);
}

static void lvol_resize_done(void *arg, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: resize failed: %s\n", c->lvol->name, strerror(-bserrno));
		lvol_md_finish(c, bserrno);
		return;
	}
	brisk_blob_sync_md(c->lvol->blob, lvol_resize_synced, c);
}

void brisk_lvol_resize(struct brisk_lvol *lvol, uint64_t size_bytes, brisk_lvol_op_complete cb_fn,
		       void *cb_arg)
{
	struct lvol_md_ctx *c;
	uint64_t clusters, cur, free_clusters;
	int rc;

	rc = lvol_begin(lvol, "resize");
	if (rc == 0 && brisk_blob_is_read_only(lvol->blob)) {
		BRISK_ERRLOG("lvol %s is read-only: cannot resize\n", lvol->name);
		rc = -EPERM;
	}
	if (rc == 0) {
		clusters = lvol_clusters(lvol->lvs, size_bytes);
		cur = brisk_blob_get_num_clusters(lvol->blob);
		free_clusters = brisk_bs_free_cluster_count(lvol->lvs->bs);
		if (clusters > UINT32_MAX) {
			BRISK_ERRLOG("lvol %s: size %llu bytes is too large\n", lvol->name, (unsigned long long)size_bytes);
			rc = -EINVAL;
		} else if (!brisk_blob_is_thin_provisioned(lvol->blob) && clusters > cur &&
			   clusters - cur > free_clusters) {
			BRISK_ERRLOG("lvol %s: growing to %llu bytes needs %llu more clusters, lvstore %s has %llu free\n",
				     lvol->name, (unsigned long long)size_bytes, (unsigned long long)(clusters - cur),
				     lvol->lvs->name, (unsigned long long)free_clusters);
			rc = -ENOSPC;
		}
	}
	c = rc == 0 ? lvol_md_ctx_new(lvol, cb_fn, cb_arg) : NULL;
	if (rc == 0 && c == NULL) {
		rc = -ENOMEM;
	}
	if (rc != 0) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	c->old_clusters = brisk_blob_get_num_clusters(lvol->blob);
	brisk_blob_resize(lvol->blob, clusters, lvol_resize_done, c);
}

static void lvol_ro_synced(void *arg, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: read-only flag not persisted: %s\n", c->lvol->name, strerror(-bserrno));
	}
	lvol_md_finish(c, bserrno);
}

void brisk_lvol_set_read_only(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg)
{
	struct lvol_md_ctx *c;
	int rc;

	rc = lvol_begin(lvol, "set read-only");
	c = rc == 0 ? lvol_md_ctx_new(lvol, cb_fn, cb_arg) : NULL;
	if (rc == 0 && c == NULL) {
		rc = -ENOMEM;
	}
	if (rc == 0) {
		rc = brisk_blob_set_read_only(lvol->blob);
		if (rc != 0) {
			lvol->busy = false;
			free(c);
		}
	}
	if (rc != 0) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	brisk_blob_sync_md(lvol->blob, lvol_ro_synced, c);
}

/* ---- Destroy: close the blob -> delete it (a refusal reopens it) ---- */

static void lvol_destroy_reopened(void *arg, struct brisk_blob *blob, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	if (bserrno != 0) {
		/* The blob is on disk and loads at the next start; until then
		 * the lvol is gone from this process. */
		BRISK_ERRLOG("lvol %s: cannot reopen after a refused delete: %s\n", c->lvol->name,
			     strerror(-bserrno));
		c->cb_fn(c->cb_arg, c->rc);
		lvol_free(c->lvol);
		free(c);
		return;
	}
	c->lvol->blob = blob;
	lvol_md_finish(c, c->rc);
}

static void lvol_destroy_deleted(void *arg, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvol %s: the blobstore refused the delete: %s\n", c->lvol->name, strerror(-bserrno));
		c->rc = bserrno;
		brisk_bs_open_blob(c->lvol->lvs->bs, c->lvol->blob_id, lvol_destroy_reopened, c);
		return;
	}
	BRISK_NOTICELOG("lvol %s/%s deleted\n", c->lvol->lvs->name, c->lvol->name);
	c->cb_fn(c->cb_arg, 0);
	lvol_free(c->lvol);
	free(c);
}

static void lvol_destroy_closed(void *arg, int bserrno)
{
	struct lvol_md_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_WARNLOG("lvol %s: close before delete: %s\n", c->lvol->name, strerror(-bserrno));
	}
	brisk_bs_delete_blob(c->lvol->lvs->bs, c->lvol->blob_id, lvol_destroy_deleted, c);
}

void brisk_lvol_destroy(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg)
{
	struct lvol_md_ctx *c;
	struct brisk_blob *blob;
	int rc;

	rc = brisk_lvol_check_deletable(lvol);
	c = rc == 0 ? lvol_md_ctx_new(lvol, cb_fn, cb_arg) : NULL;
	if (rc == 0 && c == NULL) {
		rc = -ENOMEM;
	}
	if (rc != 0) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	blob = lvol->blob;
	lvol->blob = NULL;
	brisk_blob_close(blob, lvol_destroy_closed, c);
}

int brisk_lvol_check_deletable(struct brisk_lvol *lvol)
{
	size_t clones;

	if (lvol == NULL) {
		return -EINVAL;
	}
	if (lvol_begin(lvol, "delete") != 0) {
		return -EBUSY;
	}
	clones = brisk_lvol_get_clones(lvol, NULL, 0);
	if (clones > 1) {
		BRISK_ERRLOG("lvol %s is a snapshot with %zu clones: delete or inflate them first\n", lvol->name,
			     clones);
		return -EBUSY;
	}
	return 0;
}

/* ---- Lookup and accessors ---- */

static struct brisk_lvol *lvol_ready_from(struct brisk_lvol *lvol)
{
	while (lvol != NULL && lvol->state != LVOL_READY) {
		lvol = TAILQ_NEXT(lvol, link);
	}
	return lvol;
}

struct brisk_lvol *brisk_lvol_first(struct brisk_lvol_store *lvs)
{
	return lvol_ready_from(TAILQ_FIRST(&lvs->lvols));
}

struct brisk_lvol *brisk_lvol_next(struct brisk_lvol *lvol)
{
	return lvol_ready_from(TAILQ_NEXT(lvol, link));
}

struct brisk_lvol *brisk_lvol_get_by_name(struct brisk_lvol_store *lvs, const char *name)
{
	struct brisk_lvol *lvol;

	for (lvol = brisk_lvol_first(lvs); lvol != NULL && name != NULL; lvol = brisk_lvol_next(lvol)) {
		if (strcmp(lvol->name, name) == 0) {
			return lvol;
		}
	}
	return NULL;
}

struct brisk_lvol *brisk_lvol_get_by_uuid(const struct brisk_uuid *uuid)
{
	struct brisk_lvol_store *lvs;
	struct brisk_lvol *lvol;

	for (lvs = brisk_lvs_first(); lvs != NULL && uuid != NULL; lvs = brisk_lvs_next(lvs)) {
		for (lvol = brisk_lvol_first(lvs); lvol != NULL; lvol = brisk_lvol_next(lvol)) {
			if (brisk_uuid_compare(&lvol->uuid, uuid) == 0) {
				return lvol;
			}
		}
	}
	return NULL;
}

struct brisk_lvol *brisk_lvol_get_by_blob_id(struct brisk_lvol_store *lvs, brisk_blob_id blobid)
{
	struct brisk_lvol *lvol;

	for (lvol = brisk_lvol_first(lvs); lvol != NULL; lvol = brisk_lvol_next(lvol)) {
		if (lvol->blob_id == blobid) {
			return lvol;
		}
	}
	return NULL;
}

const char *brisk_lvol_get_name(const struct brisk_lvol *lvol) { return lvol->name; }
const struct brisk_uuid *brisk_lvol_get_uuid(const struct brisk_lvol *lvol) { return &lvol->uuid; }
const char *brisk_lvol_get_uuid_str(const struct brisk_lvol *lvol) { return lvol->uuid_str; }
struct brisk_lvol_store *brisk_lvol_get_lvs(const struct brisk_lvol *lvol) { return lvol->lvs; }
struct brisk_blob *brisk_lvol_get_blob(const struct brisk_lvol *lvol) { return lvol->blob; }
void brisk_lvol_set_ctx(struct brisk_lvol *lvol, void *ctx) { lvol->ctx = ctx; }
void *brisk_lvol_get_ctx(const struct brisk_lvol *lvol) { return lvol->ctx; }

enum brisk_blob_clear_method brisk_lvol_get_clear_method(const struct brisk_lvol *lvol)
{
	return lvol->clear_method;
}

uint64_t brisk_lvol_get_size(const struct brisk_lvol *lvol)
{
	return brisk_blob_get_num_clusters(lvol->blob) * brisk_bs_get_cluster_size(lvol->lvs->bs);
}

bool brisk_lvol_is_thin(const struct brisk_lvol *lvol)
{
	return brisk_blob_is_thin_provisioned(lvol->blob);
}

bool brisk_lvol_is_read_only(const struct brisk_lvol *lvol)
{
	return brisk_blob_is_read_only(lvol->blob);
}
