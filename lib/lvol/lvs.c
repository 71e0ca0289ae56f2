/*
 * Lvol stores: create (init), load, unload, destroy, rename, grow, lookup.
 *
 * A store is a blobstore of type LVOLSTORE. Its name and UUID are the xattrs
 * of a "super" blob with no clusters, created right after the blobstore; a
 * blobstore of that type without one (a create cut short by a crash) does
 * not load. Each other blob carrying lvol xattrs is an lvol.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/string.h>

#include "lvol_internal.h"

BRISK_LOG_REGISTER_COMPONENT(lvol)

/* Stores in creation or loading are listed too (not visible) so that two
 * concurrent creates cannot take the same name. */
static TAILQ_HEAD(, brisk_lvol_store) g_stores = TAILQ_HEAD_INITIALIZER(g_stores);

void brisk_lvs_opts_init(struct brisk_lvs_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->cluster_sz = 4 * 1024 * 1024;
	opts->clear_method = BRISK_BS_CLEAR_WITH_UNMAP;
	opts->num_md_pages_per_cluster_ratio = 100;
}

int lvol_check_name(const char *name, size_t max, const char *what)
{
	size_t len;

	if (name == NULL || name[0] == '\0') {
		BRISK_ERRLOG("%s name is empty\n", what);
		return -EINVAL;
	}
	len = strnlen(name, max);
	if (len >= max) {
		BRISK_ERRLOG("%s name '%.20s...' is too long (at most %zu characters)\n", what, name, max - 1);
		return -EINVAL;
	}
	if (brisk_str_has_control_chars(name)) {
		/* A newline or escape in a name would forge log lines and terminal output. */
		BRISK_ERRLOG("%s name '%s' must not contain control characters\n", what, name);
		return -EINVAL;
	}
	if (strchr(name, '/') != NULL) {
		/* The bdev alias is lvs_name/lvol_name: a '/' would make it ambiguous. */
		BRISK_ERRLOG("%s name '%s' must not contain '/'\n", what, name);
		return -EINVAL;
	}
	return 0;
}

static struct brisk_lvol_store *lvs_find_any(const char *name, const struct brisk_uuid *uuid,
					     const struct brisk_lvol_store *except)
{
	struct brisk_lvol_store *lvs;

	TAILQ_FOREACH(lvs, &g_stores, link) {
		if (lvs == except) {
			continue;
		}
		if (name != NULL && strcmp(lvs->name, name) == 0) {
			return lvs;
		}
		if (uuid != NULL && brisk_uuid_compare(&lvs->uuid, uuid) == 0) {
			return lvs;
		}
	}
	return NULL;
}

void lvol_store_list_add(struct brisk_lvol_store *lvs)
{
	TAILQ_INSERT_TAIL(&g_stores, lvs, link);
}

static struct brisk_lvol_store *lvs_alloc(void)
{
	struct brisk_lvol_store *lvs = calloc(1, sizeof(*lvs));

	if (lvs != NULL) {
		TAILQ_INIT(&lvs->lvols);
		lvs->busy = true; /* until ready */
	}
	return lvs;
}

/* Skips stores that are not ready (still creating / loading / unloading). */
static bool lvs_visible(const struct brisk_lvol_store *lvs)
{
	return lvs->bs != NULL && lvs->md_channel != NULL;
}

struct brisk_lvol_store *brisk_lvs_first(void)
{
	struct brisk_lvol_store *lvs = TAILQ_FIRST(&g_stores);

	while (lvs != NULL && !lvs_visible(lvs)) {
		lvs = TAILQ_NEXT(lvs, link);
	}
	return lvs;
}

struct brisk_lvol_store *brisk_lvs_next(struct brisk_lvol_store *lvs)
{
	do {
		lvs = TAILQ_NEXT(lvs, link);
	} while (lvs != NULL && !lvs_visible(lvs));
	return lvs;
}

struct brisk_lvol_store *brisk_lvs_get_by_name(const char *name)
{
	struct brisk_lvol_store *lvs;

	for (lvs = brisk_lvs_first(); lvs != NULL && name != NULL; lvs = brisk_lvs_next(lvs)) {
		if (strcmp(lvs->name, name) == 0) {
			return lvs;
		}
	}
	return NULL;
}

struct brisk_lvol_store *brisk_lvs_get_by_uuid(const struct brisk_uuid *uuid)
{
	struct brisk_lvol_store *lvs;

	for (lvs = brisk_lvs_first(); lvs != NULL && uuid != NULL; lvs = brisk_lvs_next(lvs)) {
		if (brisk_uuid_compare(&lvs->uuid, uuid) == 0) {
			return lvs;
		}
	}
	return NULL;
}

const char *brisk_lvs_get_name(const struct brisk_lvol_store *lvs) { return lvs->name; }
const struct brisk_uuid *brisk_lvs_get_uuid(const struct brisk_lvol_store *lvs) { return &lvs->uuid; }
struct brisk_blob_store *brisk_lvs_get_bs(const struct brisk_lvol_store *lvs) { return lvs->bs; }
bool brisk_lvs_is_busy(const struct brisk_lvol_store *lvs)
{
	const struct brisk_lvol *lvol;

	if (lvs->busy) {
		return true;
	}
	TAILQ_FOREACH(lvol, &lvs->lvols, link) {
		if (lvol->busy || lvol->state != LVOL_READY) {
			return true;
		}
	}
	return false;
}
void brisk_lvs_set_ctx(struct brisk_lvol_store *lvs, void *ctx) { lvs->ctx = ctx; }
void *brisk_lvs_get_ctx(const struct brisk_lvol_store *lvs) { return lvs->ctx; }

static void lvs_free(struct brisk_lvol_store *lvs)
{
	struct brisk_lvol *lvol;

	while ((lvol = TAILQ_FIRST(&lvs->lvols)) != NULL) {
		lvol_free(lvol);
	}
	TAILQ_REMOVE(&g_stores, lvs, link);
	free(lvs);
}

static int lvs_ready(struct brisk_lvol_store *lvs)
{
	lvs->md_channel = brisk_bs_alloc_io_channel(lvs->bs);
	if (lvs->md_channel == NULL) {
		return -ENOMEM;
	}
	lvs->busy = false;
	return 0;
}

/* ---- Init: check opts -> bs_init -> create the super blob -> ready ---- */

struct lvs_init_ctx {
	struct brisk_lvol_store *lvs;
	brisk_lvs_op_with_handle_complete cb_fn;
	void *cb_arg;
	char uuid_str[BRISK_UUID_STRING_LEN];
	int rc;
};

static void lvs_super_xattr(void *ctx, const char *name, const void **value, size_t *len)
{
	struct lvs_init_ctx *c = ctx;

	if (strcmp(name, LVOL_XATTR_LVS_NAME) == 0) {
		*value = c->lvs->name;
		*len = strlen(c->lvs->name) + 1;
	} else {
		*value = c->uuid_str;
		*len = strlen(c->uuid_str) + 1;
	}
}

static void lvs_init_finish(struct lvs_init_ctx *c, int rc)
{
	if (rc != 0) {
		lvs_free(c->lvs);
		c->cb_fn(c->cb_arg, NULL, rc);
	} else {
		BRISK_NOTICELOG("lvstore %s created (%s)\n", c->lvs->name, c->uuid_str);
		c->cb_fn(c->cb_arg, c->lvs, 0);
	}
	free(c);
}

static void lvs_init_undone(void *arg, int bserrno)
{
	struct lvs_init_ctx *c = arg;

	(void)bserrno;
	lvs_init_finish(c, c->rc);
}

static void lvs_init_super_created(void *arg, brisk_blob_id id, int bserrno)
{
	struct lvs_init_ctx *c = arg;

	if (bserrno == 0) {
		c->lvs->super_id = id;
		bserrno = lvs_ready(c->lvs);
	}
	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore %s: cannot create its super blob: %s\n", c->lvs->name, strerror(-bserrno));
		c->rc = bserrno;
		brisk_bs_destroy(c->lvs->bs, lvs_init_undone, c);
		c->lvs->bs = NULL;
		return;
	}
	lvs_init_finish(c, 0);
}

static void lvs_init_bs_done(void *arg, struct brisk_blob_store *bs, int bserrno)
{
	struct lvs_init_ctx *c = arg;
	struct brisk_blob_opts bo;
	static char *names[] = { LVOL_XATTR_LVS_NAME, LVOL_XATTR_LVS_UUID };

	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore %s: cannot create the blobstore: %s\n", c->lvs->name, strerror(-bserrno));
		lvs_init_finish(c, bserrno);
		return;
	}
	c->lvs->bs = bs;
	brisk_blob_opts_init(&bo);
	bo.xattrs.count = 2;
	bo.xattrs.names = names;
	bo.xattrs.ctx = c;
	bo.xattrs.get_value = lvs_super_xattr;
	brisk_bs_create_blob_ext(bs, &bo, lvs_init_super_created, c);
}

void brisk_lvs_init(struct brisk_bs_dev *bs_dev, const struct brisk_lvs_opts *opts,
		    brisk_lvs_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct lvs_init_ctx *c;
	struct brisk_bs_opts bo;
	uint64_t clusters;
	int rc;

	if (bs_dev == NULL || opts == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("brisk_lvs_init: bs_dev, opts and cb_fn are required\n");
		if (bs_dev != NULL) {
			bs_dev->destroy(bs_dev);
		}
		if (cb_fn != NULL) {
			lvol_defer_lvs(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	rc = lvol_check_name(opts->name, BRISK_LVS_NAME_MAX, "lvs");
	if (rc == 0 && lvs_find_any(opts->name, NULL, NULL) != NULL) {
		BRISK_ERRLOG("lvstore name '%s' is already in use\n", opts->name);
		rc = -EEXIST;
	}
	if (rc == 0 && (opts->cluster_sz < BRISK_BS_PAGE_SIZE || opts->cluster_sz % BRISK_BS_PAGE_SIZE != 0)) {
		BRISK_ERRLOG("cluster_sz %u must be a multiple of %u\n", opts->cluster_sz, BRISK_BS_PAGE_SIZE);
		rc = -EINVAL;
	}
	if (rc == 0 && (opts->num_md_pages_per_cluster_ratio == 0 ||
			opts->num_md_pages_per_cluster_ratio > 100000)) {
		BRISK_ERRLOG("num_md_pages_per_cluster_ratio %u must be 1..100000\n",
			     opts->num_md_pages_per_cluster_ratio);
		rc = -EINVAL;
	}
	if (rc == 0 && opts->clear_method > BRISK_BS_CLEAR_WITH_NONE) {
		BRISK_ERRLOG("clear_method %d is not valid\n", (int)opts->clear_method);
		rc = -EINVAL;
	}
	c = rc == 0 ? calloc(1, sizeof(*c)) : NULL;
	if (rc == 0 && (c == NULL || (c->lvs = lvs_alloc()) == NULL)) {
		free(c);
		rc = -ENOMEM;
	}
	if (rc != 0) {
		bs_dev->destroy(bs_dev);
		lvol_defer_lvs(cb_fn, cb_arg, rc);
		return;
	}
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	brisk_strlcpy(c->lvs->name, opts->name, sizeof(c->lvs->name));
	brisk_uuid_generate(&c->lvs->uuid);
	brisk_uuid_fmt_lower(c->uuid_str, sizeof(c->uuid_str), &c->lvs->uuid);
	lvol_store_list_add(c->lvs);

	brisk_bs_opts_init(&bo);
	bo.cluster_sz = opts->cluster_sz;
	bo.clear_method = opts->clear_method;
	clusters = bs_dev->blockcnt * bs_dev->blocklen / opts->cluster_sz;
	/* Ratio is SPDK's md pages per 100 clusters, which is its lvol count per
	 * 100 clusters: the same number of blob ids here. The blobstore's own
	 * minimum applies when this comes out small. */
	clusters = clusters * opts->num_md_pages_per_cluster_ratio / 100 * BRISK_BS_MD_PAGES_PER_BLOB;
	bo.num_md_pages = clusters > UINT32_MAX ? UINT32_MAX : (uint32_t)clusters;
	if (bo.num_md_pages < 64) {
		bo.num_md_pages = 64;
	}
	memset(&bo.bstype, 0, sizeof(bo.bstype));
	memcpy(bo.bstype.bstype, BRISK_LVS_BSTYPE, strlen(BRISK_LVS_BSTYPE));
	brisk_bs_init(bs_dev, &bo, lvs_init_bs_done, c);
}

/* ---- Load: bs_load -> walk every blob (super blob, lvols) -> ready ---- */

struct lvs_load_ctx {
	struct brisk_lvol_store *lvs;
	brisk_lvs_op_with_handle_complete cb_fn;
	void *cb_arg;
	bool found_super;
	struct brisk_blob *cur;
	struct brisk_lvol *pending; /* lvol whose extra open is running */
	int rc;
};

static void lvs_load_iter_done(void *arg, struct brisk_blob *blob, int bserrno);

static void lvs_load_finish(struct lvs_load_ctx *c, int rc)
{
	c->cb_fn(c->cb_arg, rc == 0 ? c->lvs : NULL, rc);
	free(c);
}

static void lvs_load_unloaded(void *arg, int bserrno)
{
	struct lvs_load_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore load: unloading after a failed load: %s\n", strerror(-bserrno));
	}
	lvs_free(c->lvs);
	c->lvs = NULL;
	lvs_load_finish(c, c->rc);
}

/* Closes the lvols opened so far one by one, then unloads the blobstore. */
static void lvs_load_undo_close(void *arg, int bserrno)
{
	struct lvs_load_ctx *c = arg;
	struct brisk_lvol *lvol;

	(void)bserrno;
	TAILQ_FOREACH(lvol, &c->lvs->lvols, link) {
		if (lvol->blob != NULL) {
			struct brisk_blob *blob = lvol->blob;

			lvol->blob = NULL;
			brisk_blob_close(blob, lvs_load_undo_close, c);
			return;
		}
	}
	brisk_bs_unload(c->lvs->bs, lvs_load_unloaded, c);
}

static void lvs_load_fail(struct lvs_load_ctx *c, int rc)
{
	c->rc = rc;
	if (c->cur != NULL) {
		struct brisk_blob *blob = c->cur;

		c->cur = NULL;
		brisk_blob_close(blob, lvs_load_undo_close, c);
		return;
	}
	lvs_load_undo_close(c, 0);
}

static int lvs_load_super(struct lvs_load_ctx *c, struct brisk_blob *blob)
{
	const void *v;
	size_t len;
	char uuid_str[BRISK_UUID_STRING_LEN];

	if (brisk_blob_get_xattr_value(blob, LVOL_XATTR_LVS_NAME, &v, &len) != 0 ||
	    len == 0 || len > BRISK_LVS_NAME_MAX || ((const char *)v)[len - 1] != '\0') {
		BRISK_ERRLOG("lvstore super blob has a bad %s xattr\n", LVOL_XATTR_LVS_NAME);
		return -EUCLEAN;
	}
	memcpy(c->lvs->name, v, len);
	if (brisk_blob_get_xattr_value(blob, LVOL_XATTR_LVS_UUID, &v, &len) != 0 ||
	    len != BRISK_UUID_STRING_LEN) {
		BRISK_ERRLOG("lvstore %s: super blob has a bad %s xattr\n", c->lvs->name, LVOL_XATTR_LVS_UUID);
		return -EUCLEAN;
	}
	memcpy(uuid_str, v, len);
	uuid_str[len - 1] = '\0';
	if (brisk_uuid_parse(&c->lvs->uuid, uuid_str) != 0) {
		BRISK_ERRLOG("lvstore %s: super blob uuid '%s' does not parse\n", c->lvs->name, uuid_str);
		return -EUCLEAN;
	}
	c->lvs->super_id = brisk_blob_get_id(blob);
	c->found_super = true;
	return 0;
}

static void lvs_load_next(struct lvs_load_ctx *c)
{
	struct brisk_blob *blob = c->cur;

	c->cur = NULL;
	brisk_bs_iter_next(c->lvs->bs, blob, lvs_load_iter_done, c);
}

/* The iteration's handle is closed by iter_next: an lvol takes one more
 * reference of the same handle to keep it open. */
static void lvs_load_lvol_opened(void *arg, struct brisk_blob *blob, int bserrno)
{
	struct lvs_load_ctx *c = arg;
	struct brisk_lvol *lvol = c->pending;

	c->pending = NULL;
	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore %s: cannot open lvol %s: %s\n", c->lvs->name, lvol->name, strerror(-bserrno));
		lvol_free(lvol);
		lvs_load_fail(c, bserrno);
		return;
	}
	lvol->blob = blob;
	lvol->state = LVOL_READY;
	lvs_load_next(c);
}

static void lvs_load_lvol(struct lvs_load_ctx *c, struct brisk_blob *blob)
{
	struct brisk_lvol *lvol = calloc(1, sizeof(*lvol));
	int rc;

	if (lvol == NULL) {
		lvs_load_fail(c, -ENOMEM);
		return;
	}
	lvol->lvs = c->lvs;
	rc = lvol_from_blob(lvol, blob);
	if (rc != 0) {
		/* A blob without lvol xattrs is not ours to interpret: leave it. */
		BRISK_WARNLOG("lvstore: blob 0x%llx has no lvol name/uuid; ignored\n",
			      (unsigned long long)brisk_blob_get_id(blob));
		free(lvol);
		lvs_load_next(c);
		return;
	}
	lvol->state = LVOL_CREATING;
	TAILQ_INSERT_TAIL(&c->lvs->lvols, lvol, link);
	c->pending = lvol;
	brisk_bs_open_blob(c->lvs->bs, lvol->blob_id, lvs_load_lvol_opened, c);
}

static int lvs_load_check_unique(struct lvs_load_ctx *c)
{
	struct brisk_lvol *a, *b;

	if (!c->found_super) {
		BRISK_ERRLOG("blobstore of type %s has no lvstore super blob (creation was interrupted?)\n",
			     BRISK_LVS_BSTYPE);
		return -EILSEQ;
	}
	if (lvs_find_any(c->lvs->name, NULL, c->lvs) != NULL) {
		BRISK_ERRLOG("lvstore name '%s' is already in use: not loading this one\n", c->lvs->name);
		return -EEXIST;
	}
	if (lvs_find_any(NULL, &c->lvs->uuid, c->lvs) != NULL) {
		BRISK_ERRLOG("lvstore %s: its uuid is already loaded (a copy of the same device?)\n", c->lvs->name);
		return -EEXIST;
	}
	TAILQ_FOREACH(a, &c->lvs->lvols, link) {
		for (b = TAILQ_NEXT(a, link); b != NULL; b = TAILQ_NEXT(b, link)) {
			if (strcmp(a->name, b->name) == 0) {
				BRISK_WARNLOG("lvstore %s: two lvols named '%s' (blobs 0x%llx and 0x%llx)\n",
					      c->lvs->name, a->name, (unsigned long long)a->blob_id,
					      (unsigned long long)b->blob_id);
			}
		}
	}
	return 0;
}

static void lvs_load_iter_done(void *arg, struct brisk_blob *blob, int bserrno)
{
	struct lvs_load_ctx *c = arg;
	const void *v;
	size_t len;
	int rc;

	if (bserrno == -ENOENT) {
		rc = lvs_load_check_unique(c);
		if (rc == 0) {
			rc = lvs_ready(c->lvs);
		}
		if (rc != 0) {
			lvs_load_fail(c, rc);
			return;
		}
		BRISK_NOTICELOG("lvstore %s loaded\n", c->lvs->name);
		lvs_load_finish(c, 0);
		return;
	}
	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore load: cannot walk the blobs: %s\n", strerror(-bserrno));
		lvs_load_fail(c, bserrno);
		return;
	}
	c->cur = blob;
	if (brisk_blob_get_xattr_value(blob, LVOL_XATTR_LVS_NAME, &v, &len) == 0) {
		rc = lvs_load_super(c, blob);
		if (rc != 0) {
			lvs_load_fail(c, rc);
			return;
		}
		lvs_load_next(c);
		return;
	}
	lvs_load_lvol(c, blob);
}

static void lvs_load_bs_done(void *arg, struct brisk_blob_store *bs, int bserrno)
{
	struct lvs_load_ctx *c = arg;

	if (bserrno != 0) {
		lvs_free(c->lvs);
		c->lvs = NULL;
		lvs_load_finish(c, bserrno);
		return;
	}
	c->lvs->bs = bs;
	brisk_bs_iter_first(bs, lvs_load_iter_done, c);
}

void brisk_lvs_load(struct brisk_bs_dev *bs_dev, brisk_lvs_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct lvs_load_ctx *c;
	struct brisk_bs_opts bo;

	if (bs_dev == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("brisk_lvs_load: bs_dev and cb_fn are required\n");
		if (bs_dev != NULL) {
			bs_dev->destroy(bs_dev);
		}
		if (cb_fn != NULL) {
			lvol_defer_lvs(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->lvs = lvs_alloc()) == NULL) {
		free(c);
		bs_dev->destroy(bs_dev);
		lvol_defer_lvs(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	lvol_store_list_add(c->lvs);
	brisk_bs_opts_init(&bo);
	memset(&bo.bstype, 0, sizeof(bo.bstype));
	memcpy(bo.bstype.bstype, BRISK_LVS_BSTYPE, strlen(BRISK_LVS_BSTYPE));
	brisk_bs_load(bs_dev, &bo, lvs_load_bs_done, c);
}

/* ---- Unload and destroy: close every lvol -> free channel -> bs call ---- */

struct lvs_close_ctx {
	struct brisk_lvol_store *lvs;
	bool destroy;
	brisk_lvs_op_complete cb_fn;
	void *cb_arg;
};

static void lvs_close_bs_done(void *arg, int bserrno)
{
	struct lvs_close_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore %s: %s failed: %s\n", c->lvs->name, c->destroy ? "destroy" : "unload",
			     strerror(-bserrno));
	} else {
		BRISK_NOTICELOG("lvstore %s %s\n", c->lvs->name, c->destroy ? "destroyed" : "unloaded");
	}
	/* The blobstore frees itself and its device whatever the outcome
	 * (apart from -EBUSY, impossible here: every lvol is closed). */
	lvs_free(c->lvs);
	c->cb_fn(c->cb_arg, bserrno);
	free(c);
}

static void lvs_close_next(void *arg, int bserrno)
{
	struct lvs_close_ctx *c = arg;
	struct brisk_lvol *lvol;

	if (bserrno != 0) {
		BRISK_WARNLOG("lvstore %s: closing an lvol: %s\n", c->lvs->name, strerror(-bserrno));
	}
	TAILQ_FOREACH(lvol, &c->lvs->lvols, link) {
		if (lvol->blob != NULL) {
			struct brisk_blob *blob = lvol->blob;

			lvol->blob = NULL;
			brisk_blob_close(blob, lvs_close_next, c);
			return;
		}
	}
	if (c->lvs->md_channel != NULL) {
		brisk_bs_free_io_channel(c->lvs->md_channel);
		c->lvs->md_channel = NULL;
	}
	if (c->destroy) {
		brisk_bs_destroy(c->lvs->bs, lvs_close_bs_done, c);
	} else {
		brisk_bs_unload(c->lvs->bs, lvs_close_bs_done, c);
	}
}

static void lvs_close(struct brisk_lvol_store *lvs, bool destroy, brisk_lvs_op_complete cb_fn, void *cb_arg)
{
	struct lvs_close_ctx *c;
	struct brisk_lvol *lvol;

	if (lvs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("lvstore unload/destroy: lvs and cb_fn are required\n");
		if (cb_fn != NULL) {
			lvol_defer_op(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	if (lvs->busy) {
		BRISK_ERRLOG("lvstore %s: another operation is running on it\n", lvs->name);
		lvol_defer_op(cb_fn, cb_arg, -EBUSY);
		return;
	}
	TAILQ_FOREACH(lvol, &lvs->lvols, link) {
		if (lvol->busy || lvol->state != LVOL_READY) {
			BRISK_ERRLOG("lvstore %s: an operation is running on lvol %s\n", lvs->name, lvol->name);
			lvol_defer_op(cb_fn, cb_arg, -EBUSY);
			return;
		}
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		lvol_defer_op(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->lvs = lvs;
	c->destroy = destroy;
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	lvs->busy = true;
	lvs_close_next(c, 0);
}

void brisk_lvs_unload(struct brisk_lvol_store *lvs, brisk_lvs_op_complete cb_fn, void *cb_arg)
{
	lvs_close(lvs, false, cb_fn, cb_arg);
}

void brisk_lvs_destroy(struct brisk_lvol_store *lvs, brisk_lvs_op_complete cb_fn, void *cb_arg)
{
	lvs_close(lvs, true, cb_fn, cb_arg);
}

/* ---- Rename: open super blob -> set xattr -> sync -> close ---- */

struct lvs_rename_ctx {
	struct brisk_lvol_store *lvs;
	struct brisk_blob *super;
	char new_name[BRISK_LVS_NAME_MAX];
	brisk_lvs_op_complete cb_fn;
	void *cb_arg;
	int rc;
};

static void lvs_rename_closed(void *arg, int bserrno)
{
	struct lvs_rename_ctx *c = arg;
	int rc = c->rc != 0 ? c->rc : bserrno;

	if (rc == 0) {
		BRISK_NOTICELOG("lvstore %s renamed to %s\n", c->lvs->name, c->new_name);
		brisk_strlcpy(c->lvs->name, c->new_name, sizeof(c->lvs->name));
	}
	c->lvs->busy = false;
	c->cb_fn(c->cb_arg, rc);
	free(c);
}

static void lvs_rename_synced(void *arg, int bserrno)
{
	struct lvs_rename_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore %s: rename not persisted: %s\n", c->lvs->name, strerror(-bserrno));
		c->rc = bserrno;
		/* Put the old name back so the close does not write the new one. */
		brisk_blob_set_xattr(c->super, LVOL_XATTR_LVS_NAME, c->lvs->name, strlen(c->lvs->name) + 1);
	}
	brisk_blob_close(c->super, lvs_rename_closed, c);
}

static void lvs_rename_opened(void *arg, struct brisk_blob *blob, int bserrno)
{
	struct lvs_rename_ctx *c = arg;
	int rc;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore %s: cannot open its super blob: %s\n", c->lvs->name, strerror(-bserrno));
		c->rc = bserrno;
		lvs_rename_closed(c, 0);
		return;
	}
	c->super = blob;
	rc = brisk_blob_set_xattr(blob, LVOL_XATTR_LVS_NAME, c->new_name, strlen(c->new_name) + 1);
	if (rc != 0) {
		c->rc = rc;
		brisk_blob_close(blob, lvs_rename_closed, c);
		return;
	}
	brisk_blob_sync_md(blob, lvs_rename_synced, c);
}

void brisk_lvs_rename(struct brisk_lvol_store *lvs, const char *new_name, brisk_lvs_op_complete cb_fn,
		      void *cb_arg)
{
	struct lvs_rename_ctx *c;
	int rc;

	rc = lvol_check_name(new_name, BRISK_LVS_NAME_MAX, "lvs");
	if (rc == 0 && lvs->busy) {
		BRISK_ERRLOG("lvstore %s: another operation is running on it\n", lvs->name);
		rc = -EBUSY;
	}
	if (rc == 0 && strcmp(lvs->name, new_name) == 0) {
		lvol_defer_op(cb_fn, cb_arg, 0); /* nothing to do */
		return;
	}
	if (rc == 0 && lvs_find_any(new_name, NULL, NULL) != NULL) {
		BRISK_ERRLOG("lvstore name '%s' is already in use\n", new_name);
		rc = -EEXIST;
	}
	c = rc == 0 ? calloc(1, sizeof(*c)) : NULL;
	if (rc == 0 && c == NULL) {
		rc = -ENOMEM;
	}
	if (rc != 0) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	c->lvs = lvs;
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	brisk_strlcpy(c->new_name, new_name, sizeof(c->new_name));
	lvs->busy = true;
	brisk_bs_open_blob(lvs->bs, lvs->super_id, lvs_rename_opened, c);
}

/* ---- Grow ---- */

struct lvs_grow_ctx {
	struct brisk_lvol_store *lvs;
	brisk_lvs_op_complete cb_fn;
	void *cb_arg;
};

static void lvs_grow_done(void *arg, int bserrno)
{
	struct lvs_grow_ctx *c = arg;

	if (bserrno != 0) {
		BRISK_ERRLOG("lvstore %s: grow failed: %s\n", c->lvs->name, strerror(-bserrno));
	} else {
		BRISK_NOTICELOG("lvstore %s: %llu data clusters after grow\n", c->lvs->name,
				(unsigned long long)brisk_bs_total_data_cluster_count(c->lvs->bs));
	}
	c->lvs->busy = false;
	c->cb_fn(c->cb_arg, bserrno);
	free(c);
}

void brisk_lvs_grow_live(struct brisk_lvol_store *lvs, brisk_lvs_op_complete cb_fn, void *cb_arg)
{
	struct lvs_grow_ctx *c;

	if (lvs->busy) {
		BRISK_ERRLOG("lvstore %s: another operation is running on it\n", lvs->name);
		lvol_defer_op(cb_fn, cb_arg, -EBUSY);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		lvol_defer_op(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->lvs = lvs;
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	lvs->busy = true;
	brisk_bs_grow_live(lvs->bs, lvs_grow_done, c);
}
