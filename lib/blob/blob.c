/* Blob life cycle on the metadata thread: create, open, close, delete,
 * resize, sync, read-only, xattrs, iteration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

/* ---- Shared checks ---- */

/* Counts a metadata operation; -EBUSY past max_md_ops or while unloading. */
int blob_md_op_begin(struct brisk_blob_store *bs, const char *what)
{
	if (!blob_on_md_thread(bs)) {
		return -EINVAL;
	}
	if (bs->unloading) {
		BRISK_ERRLOG("%s: the store is unloading", what);
		return -EBUSY;
	}
	if (bs->md_ops >= bs->max_md_ops) {
		BRISK_ERRLOG("%s: %u metadata operations already running (max_md_ops)", what,
			     bs->md_ops);
		return -EBUSY;
	}
	bs->md_ops++;
	return 0;
}

void blob_md_op_end(struct brisk_blob_store *bs)
{
	bs->md_ops--;
}

struct brisk_blob *blob_find_open(struct brisk_blob_store *bs, brisk_blob_id id)
{
	struct brisk_blob *b;

	TAILQ_FOREACH(b, &bs->open_blobs, link) {
		if (b->id == id) {
			return b;
		}
	}
	return NULL;
}

bool blob_handle_writable(struct brisk_blob *blob, const char *what)
{
	if (blob->md.flags & BLOB_FLAG_READ_ONLY) {
		BRISK_ERRLOG("%s: blob 0x%lx is read-only", what, blob->id);
		return false;
	}
	if (blob->refs > 0 && blob->refs == blob->ro_refs) {
		BRISK_ERRLOG("%s: blob 0x%lx is open read-only", what, blob->id);
		return false;
	}
	return !blob_degraded_refuse(blob, what);
}

bool blob_degraded_refuse(struct brisk_blob *blob, const char *what)
{
	if (blob->degraded) {
		BRISK_ERRLOG("%s: blob 0x%lx is degraded (its newest metadata version is damaged or "
			     "lost): read-only until the store is loaded with recover_damaged", what,
			     blob->id);
	}
	return blob->degraded;
}

struct brisk_blob *blob_new(struct brisk_blob_store *bs, brisk_blob_id id)
{
	struct brisk_blob *b = calloc(1, sizeof(*b));

	if (b == NULL) {
		return NULL;
	}
	b->bs = bs;
	b->id = id;
	blob_md_init(&b->md);
	TAILQ_INIT(&b->sync_waiters);
	TAILQ_INIT(&b->sync_queued);
	TAILQ_INIT(&b->alloc_reqs);
	return b;
}

void blob_free_handle(struct brisk_blob *b)
{
	blob_md_free(&b->md);
	free(b->chain_pages);
	free(b->released);
	free(b->backing);
	free(b);
}

void blob_quarantine(struct brisk_blob *b)
{
	BRISK_ERRLOG("blob 0x%lx: kept out of use until the store is loaded again", b->id);
	b->quarantined = true;
	b->deleting = true;
	b->refs = 0;
	b->ro_refs = 0;
}

void blob_free_quarantined(struct brisk_blob_store *bs)
{
	struct brisk_blob *b, *tmp;

	TAILQ_FOREACH_SAFE(b, &bs->open_blobs, link, tmp) {
		if (b->quarantined) {
			TAILQ_REMOVE(&bs->open_blobs, b, link);
			blob_free_handle(b);
		}
	}
}

void blob_take_loaded(struct brisk_blob *b, struct blob_loaded *res)
{
	blob_md_free(&b->md);
	b->md = res->md;
	/* The lists moved with the struct copy: re-point their heads. */
	TAILQ_INIT(&b->md.xattrs);
	TAILQ_INIT(&b->md.xattrs_internal);
	TAILQ_CONCAT(&b->md.xattrs, &res->md.xattrs, link);
	TAILQ_CONCAT(&b->md.xattrs_internal, &res->md.xattrs_internal, link);
	blob_md_init(&res->md);
	free(b->chain_pages);
	b->chain_pages = res->chain_pages;
	b->chain_len = res->chain_len;
	res->chain_pages = NULL;
	res->chain_len = 0;
	b->bs->id_slot[b->id - 1] = (int8_t)res->slot;
	b->bs->id_seq[b->id - 1] = res->seq;
}

struct sync_free_ctx {
	struct brisk_blob *blob;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void sync_free_done(void *ctx, int rc)
{
	struct sync_free_ctx *c = ctx;

	blob_free_handle(c->blob);
	c->cb(c->cb_ctx, rc);
	free(c);
}

void blob_sync_and_free(struct brisk_blob *b, blob_md_io_cb cb, void *ctx)
{
	struct sync_free_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		blob_free_handle(b);
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	c->blob = b;
	c->cb = cb;
	c->cb_ctx = ctx;
	b->dirty = true;
	blob_sync(b, sync_free_done, c);
}

/* Clusters given up by a shrink or delete stay owned until the metadata
 * that drops them is durable. 0 or -ENOMEM. */
static int release_cluster(struct brisk_blob *b, uint64_t cluster)
{
	if (b->released_len == b->released_cap) {
		uint64_t cap = b->released_cap ? b->released_cap * 2 : 16;
		uint64_t *p = realloc(b->released, cap * sizeof(*p));

		if (p == NULL) {
			return -ENOMEM;
		}
		b->released = p;
		b->released_cap = cap;
	}
	b->released[b->released_len++] = cluster;
	return 0;
}

/* An old cluster array, freed once every thread with a channel of the
 * store has run a message after the new array was published: I/O threads
 * read the array pointer inside one non-preemptible step, so none can still
 * hold the old one then. */
struct retire_ctx {
	struct brisk_blob_store *bs;
	uint64_t *old;
};

static void retire_visit(struct brisk_io_channel_iter *i)
{
	brisk_for_each_channel_continue(i, 0);
}

static void retire_done(struct brisk_io_channel_iter *i, int status)
{
	struct retire_ctx *r = brisk_io_channel_iter_get_ctx(i);

	(void)status;
	free(r->old);
	r->bs->retiring--;
	free(r);
}

/* Grows the cluster array while I/O threads may be reading it. 0 or -ENOMEM. */
static int grow_cluster_array(struct brisk_blob *b, uint64_t n)
{
	struct blob_md *md = &b->md;
	uint64_t cap = md->clusters_cap ? md->clusters_cap : 16;
	struct retire_ctx *r;
	uint64_t *c;

	if (n <= md->clusters_cap) {
		return 0;
	}
	while (cap < n) {
		cap *= 2;
	}
	c = calloc(cap, sizeof(*c));
	r = calloc(1, sizeof(*r));
	if (c == NULL || r == NULL) {
		free(c);
		free(r);
		return -ENOMEM;
	}
	if (md->clusters_cap > 0) {
		memcpy(c, md->clusters, md->clusters_cap * sizeof(*c));
	}
	r->bs = b->bs;
	r->old = md->clusters;
	/* release: the copied entries are visible before the pointer to them. */
	__atomic_store_n(&md->clusters, c, __ATOMIC_RELEASE);
	md->clusters_cap = cap;
	if (r->old == NULL) {
		free(r);
		return 0;
	}
	/* Counted so that unload refuses to free the store under it. */
	b->bs->retiring++;
	brisk_for_each_channel(b->bs, retire_visit, r, retire_done);
	return 0;
}

/* Grows or shrinks the in-memory cluster map. 0, -ENOSPC, -ENOMEM. */
int blob_set_num_clusters(struct brisk_blob *b, uint64_t n)
{
	struct brisk_blob_store *bs = b->bs;
	uint64_t old = b->md.num_clusters;
	bool thin = b->md.flags & BLOB_FLAG_THIN;
	int rc;

	if (n > old) {
		rc = grow_cluster_array(b, n);
		if (rc != 0) {
			return rc;
		}
		if (!thin && n - old > brisk_bit_array_count_clear(bs->used_clusters)) {
			BRISK_ERRLOG("blob 0x%lx: %lu more clusters asked, %u free", b->id, n - old,
				     brisk_bit_array_count_clear(bs->used_clusters));
			return -ENOSPC;
		}
		for (uint64_t i = old; i < n; i++) {
			b->md.clusters[i] = thin ? 0 : blob_alloc_cluster(bs);
		}
	} else {
		/* Room for every release first, so a shrink never half happens. */
		uint64_t need = 0;

		for (uint64_t i = n; i < old; i++) {
			need += b->md.clusters[i] != 0;
		}
		if (b->released_len + need > b->released_cap) {
			uint64_t *p = realloc(b->released, (b->released_len + need) * sizeof(*p));

			if (p == NULL) {
				return -ENOMEM;
			}
			b->released = p;
			b->released_cap = b->released_len + need;
		}
		for (uint64_t i = n; i < old; i++) {
			if (b->md.clusters[i] != 0) {
				release_cluster(b, b->md.clusters[i] & ~BLOB_CLUSTER_PENDING);
				b->md.clusters[i] = 0;
			}
		}
	}
	b->md.num_clusters = n;
	b->dirty = true;
	return 0;
}

/* ---- Create: validate -> build in memory -> sync -> done ---- */

void brisk_blob_opts_init(struct brisk_blob_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->clear_method = BRISK_BLOB_CLEAR_WITH_DEFAULT;
}

int blob_check_xattr(const char *name, size_t value_len, const void *value, const char *what)
{
	size_t nlen = name ? strlen(name) : 0;

	if (nlen == 0 || nlen > BLOB_XATTR_NAME_MAX) {
		BRISK_ERRLOG("%s: xattr name must be 1..%u characters", what, BLOB_XATTR_NAME_MAX);
		return -EINVAL;
	}
	if (value_len > BLOB_XATTR_VALUE_MAX) {
		BRISK_ERRLOG("%s: xattr '%s' value of %zu bytes exceeds %u", what, name, value_len,
			     (unsigned)BLOB_XATTR_VALUE_MAX);
		return -EINVAL;
	}
	if (value == NULL && value_len > 0) {
		BRISK_ERRLOG("%s: xattr '%s' has a NULL value", what, name);
		return -EINVAL;
	}
	return 0;
}

struct create_ctx {
	struct brisk_blob *blob;
	brisk_blob_op_with_id_complete cb;
	void *cb_arg;
	int rc;
};

static void create_complete(struct create_ctx *c, brisk_blob_id id, int rc)
{
	struct brisk_blob_store *bs = c->blob->bs;

	blob_free_handle(c->blob);
	blob_md_op_end(bs);
	c->cb(c->cb_arg, id, rc);
	free(c);
}

/* After a failed first sync: both slots now hold tombstones (rc 0), so no
 * version can name the clusters or come back. Otherwise only the disk
 * knows whether the head landed: the id and clusters stay reserved and the
 * next load settles them (unload leaves the store for recovery, the id out
 * of its mask). */
static void create_released(void *ctx, int rc)
{
	struct create_ctx *c = ctx;
	struct brisk_blob *b = c->blob;
	struct brisk_blob_store *bs = b->bs;

	if (rc == 0) {
		for (uint64_t i = 0; i < b->md.num_clusters; i++) {
			if (b->md.clusters[i] != 0) {
				blob_free_cluster(bs, b->md.clusters[i] & ~BLOB_CLUSTER_PENDING);
			}
		}
		blob_free_id(bs, b->id);
		BRISK_ERRLOG("blob create: sync of blob 0x%lx failed (%d); its id and clusters are "
			     "released", b->id, c->rc);
	} else {
		bs->id_flags[b->id - 1] |= BLOB_ID_UNSETTLED;
		bs->settle_at_load = true;
		BRISK_ERRLOG("blob create: sync of blob 0x%lx failed (%d) and so did releasing it (%d); "
			     "its id and clusters stay reserved until the next load settles them",
			     b->id, c->rc, rc);
	}
	create_complete(c, BRISK_BLOBID_INVALID, c->rc);
}

static void create_synced(void *ctx, int rc)
{
	struct create_ctx *c = ctx;
	struct brisk_blob *b = c->blob;

	if (rc != 0) {
		c->rc = rc;
		blob_write_tombstones(b->bs, b->id, create_released, c);
		return;
	}
	create_complete(c, b->id, 0);
}

static int create_validate(const struct brisk_blob_opts *o)
{
	if (o->num_clusters > BLOB_MAX_CLUSTERS) {
		BRISK_ERRLOG("blob create: %lu clusters is more than a blob can have (%llu)",
			     o->num_clusters, BLOB_MAX_CLUSTERS);
		return -EINVAL;
	}
	if (o->clear_method > BRISK_BLOB_CLEAR_WITH_WRITE_ZEROES) {
		BRISK_ERRLOG("blob create: clear_method %d unknown", o->clear_method);
		return -EINVAL;
	}
	if (o->xattrs.count > 0 && (o->xattrs.names == NULL || o->xattrs.get_value == NULL)) {
		BRISK_ERRLOG("blob create: xattrs.count %zu without names/get_value", o->xattrs.count);
		return -EINVAL;
	}
	for (size_t i = 0; i < o->xattrs.count; i++) {
		const void *v = NULL;
		size_t len = 0;
		int rc;

		if (o->xattrs.names[i] == NULL) {
			BRISK_ERRLOG("blob create: xattr name %zu is NULL", i);
			return -EINVAL;
		}
		o->xattrs.get_value(o->xattrs.ctx, o->xattrs.names[i], &v, &len);
		rc = blob_check_xattr(o->xattrs.names[i], len, v, "blob create");
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

void brisk_bs_create_blob_ext(struct brisk_blob_store *bs, const struct brisk_blob_opts *opts,
			      brisk_blob_op_with_id_complete cb_fn, void *cb_arg)
{
	blob_create(bs, opts, 0, cb_fn, cb_arg);
}

void blob_create(struct brisk_blob_store *bs, const struct brisk_blob_opts *opts,
		 brisk_blob_id parent_id, brisk_blob_op_with_id_complete cb_fn, void *cb_arg)
{
	struct brisk_blob_opts o;
	struct create_ctx *c = NULL;
	struct brisk_blob *b = NULL;
	brisk_blob_id id;
	int rc;

	if (bs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("blob create: %s is NULL", bs == NULL ? "bs" : "cb_fn");
		if (cb_fn != NULL) {
			blob_defer_id_cb(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	if (opts != NULL) {
		o = *opts;
	} else {
		brisk_blob_opts_init(&o);
	}
	rc = create_validate(&o);
	if (rc == 0) {
		rc = blob_md_op_begin(bs, "blob create");
	}
	if (rc != 0) {
		blob_defer_id_cb(cb_fn, cb_arg, rc);
		return;
	}
	id = blob_alloc_id(bs);
	if (id == BRISK_BLOBID_INVALID) {
		BRISK_ERRLOG("blob create: all %u blob ids are used", bs->sb.num_blob_ids);
		rc = -ENOSPC;
		goto fail;
	}
	b = blob_new(bs, id);
	c = calloc(1, sizeof(*c));
	if (b == NULL || c == NULL) {
		rc = -ENOMEM;
		goto fail_id;
	}
	b->md.flags = o.thin_provision ? BLOB_FLAG_THIN : 0;
	b->md.clear_method = (uint8_t)o.clear_method;
	b->md.parent_id = parent_id;
	for (size_t i = 0; i < o.xattrs.count; i++) {
		const void *v = NULL;
		size_t len = 0;

		o.xattrs.get_value(o.xattrs.ctx, o.xattrs.names[i], &v, &len);
		rc = blob_md_set_xattr(&b->md.xattrs, o.xattrs.names[i], v, (uint16_t)len);
		if (rc != 0) {
			goto fail_id;
		}
	}
	rc = blob_set_num_clusters(b, o.num_clusters);
	if (rc != 0) {
		goto fail_id;
	}
	if (blob_md_count_pages(&b->md) - 1 > brisk_bit_array_count_clear(bs->used_chain_pages)) {
		BRISK_ERRLOG("blob create: not enough free metadata pages");
		rc = -ENOSPC;
		goto fail_clusters;
	}
	c->blob = b;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	blob_sync(b, create_synced, c);
	return;

fail_clusters:
	for (uint64_t i = 0; i < b->md.num_clusters; i++) {
		if (b->md.clusters[i] != 0) {
			blob_free_cluster(bs, b->md.clusters[i]);
		}
	}
fail_id:
	blob_free_id(bs, id);
fail:
	if (b != NULL) {
		blob_free_handle(b);
	}
	free(c);
	blob_md_op_end(bs);
	blob_defer_id_cb(cb_fn, cb_arg, rc);
}

void brisk_bs_create_blob(struct brisk_blob_store *bs, brisk_blob_op_with_id_complete cb_fn,
			  void *cb_arg)
{
	brisk_bs_create_blob_ext(bs, NULL, cb_fn, cb_arg);
}

/* ---- Open: same handle when open; else load the current version ---- */

/* A second open of an id being loaded waits in the first one's context. */
struct open_waiter {
	TAILQ_ENTRY(open_waiter) link;
	brisk_blob_op_with_handle_complete cb;
	void *cb_arg;
	bool read_only;
	int rc;
	struct brisk_blob *blob;
};

struct blob_open_ctx {
	struct brisk_blob *blob;
	TAILQ_HEAD(, open_waiter) waiters;
};

static void open_waiter_run(void *ctx)
{
	struct open_waiter *w = ctx;

	w->cb(w->cb_arg, w->rc == 0 ? w->blob : NULL, w->rc);
	free(w);
}

static void open_reply(struct open_waiter *w, struct brisk_blob *blob, int rc)
{
	w->blob = blob;
	w->rc = rc;
	if (brisk_thread_send_msg(brisk_get_thread(), open_waiter_run, w) != 0) {
		open_waiter_run(w);
	}
}

static void open_finish(void *ctx, int rc);

/* A version that may not be the newest is served read-only and flagged,
 * never as if nothing happened. Damage that appeared after the load is
 * flagged the same way. */
static brisk_blob_id open_damaged_ancestor(struct brisk_blob_store *bs, brisk_blob_id p)
{
	for (uint32_t depth = 0; p != 0 && blob_id_valid(bs, p) && depth < bs->sb.num_blob_ids; depth++) {
		if (bs->id_flags[p - 1] & BLOB_ID_DAMAGED) {
			return p;
		}
		p = bs->parent_of[p - 1];
	}
	return 0;
}

static void open_judge(struct brisk_blob *b, struct blob_loaded *res)
{
	uint8_t *flags = &b->bs->id_flags[b->id - 1];
	brisk_blob_id anc = open_damaged_ancestor(b->bs, res->md.parent_id);

	if (res->damaged && !(*flags & BLOB_ID_DAMAGED)) {
		BRISK_ERRLOG("blob 0x%lx: damaged metadata: %s", b->id, res->why);
		*flags |= BLOB_ID_DAMAGED;
	}
	if (anc != 0) {
		/* It reads through a version that may be stale. */
		BRISK_WARNLOG("blob open: blob 0x%lx reads through snapshot 0x%lx, whose metadata is "
			      "damaged: opened read-only; its data may be stale", b->id, anc);
		b->degraded = true;
	}
	if (*flags & BLOB_ID_DAMAGED) {
		BRISK_WARNLOG("blob open: blob 0x%lx is degraded (damaged metadata): opened read-only; "
			      "its data may be stale", b->id);
		b->degraded = true;
	}
}

static void open_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct blob_open_ctx *oc = ctx;
	struct brisk_blob *b = oc->blob;

	if (rc == 0 && !res->present) {
		BRISK_ERRLOG("blob open: blob 0x%lx has no current version on disk%s%s", b->id,
			     res->damaged ? ": " : "", res->damaged ? res->why : "");
		rc = -ENOENT;
	}
	if (rc == 0) {
		open_judge(b, res);
		blob_take_loaded(b, res);
	}
	blob_loaded_free(res);
	if (rc == 0 && b->md.parent_id != 0) {
		blob_backing_load(b, open_finish, oc);
		return;
	}
	open_finish(oc, rc);
}

static void open_finish(void *ctx, int rc)
{
	struct blob_open_ctx *oc = ctx;
	struct brisk_blob *b = oc->blob;
	struct brisk_blob_store *bs = b->bs;
	struct open_waiter *w;

	b->opening = NULL;
	if (rc != 0) {
		BRISK_ERRLOG("blob open: blob 0x%lx cannot be opened: %s", b->id, strerror(-rc));
		TAILQ_REMOVE(&bs->open_blobs, b, link);
		blob_free_handle(b);
		b = NULL;
	}
	while ((w = TAILQ_FIRST(&oc->waiters)) != NULL) {
		TAILQ_REMOVE(&oc->waiters, w, link);
		if (b != NULL) {
			b->refs++;
			b->ro_refs += w->read_only;
		}
		blob_md_op_end(bs);
		open_reply(w, b, rc);
	}
	free(oc);
}

void brisk_bs_open_blob_ext(struct brisk_blob_store *bs, brisk_blob_id blobid,
			    const struct brisk_blob_open_opts *opts,
			    brisk_blob_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct open_waiter *w;
	struct brisk_blob *b;
	struct blob_open_ctx *oc;
	int rc;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("blob open: cb_fn is NULL");
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		BRISK_ERRLOG("blob open: out of memory");
		return;
	}
	w->cb = cb_fn;
	w->cb_arg = cb_arg;
	w->read_only = opts != NULL && opts->read_only;
	if (bs == NULL) {
		BRISK_ERRLOG("blob open: bs is NULL");
		open_reply(w, NULL, -EINVAL);
		return;
	}
	if (!blob_id_valid(bs, blobid)) {
		BRISK_ERRLOG("blob open: id 0x%lx is not a valid blob id", blobid);
		open_reply(w, NULL, -EINVAL);
		return;
	}
	rc = blob_md_op_begin(bs, "blob open");
	if (rc != 0) {
		open_reply(w, NULL, rc);
		return;
	}
	b = blob_find_open(bs, blobid);
	if (b != NULL && b->deleting) {
		blob_md_op_end(bs);
		open_reply(w, NULL, -ENOENT);
		return;
	}
	if (b != NULL && b->opening != NULL) {
		TAILQ_INSERT_TAIL(&b->opening->waiters, w, link);
		return;
	}
	if (b != NULL) {
		b->refs++;
		b->ro_refs += w->read_only;
		blob_md_op_end(bs);
		open_reply(w, b, 0);
		return;
	}
	if (!brisk_bit_array_get(bs->used_ids, (uint32_t)(blobid - 1))) {
		blob_md_op_end(bs);
		open_reply(w, NULL, -ENOENT);
		return;
	}
	b = blob_new(bs, blobid);
	oc = calloc(1, sizeof(*oc));
	if (b == NULL || oc == NULL) {
		free(b);
		free(oc);
		blob_md_op_end(bs);
		open_reply(w, NULL, -ENOMEM);
		return;
	}
	oc->blob = b;
	TAILQ_INIT(&oc->waiters);
	TAILQ_INSERT_TAIL(&oc->waiters, w, link);
	b->opening = oc;
	TAILQ_INSERT_TAIL(&bs->open_blobs, b, link);
	blob_load_version(bs, blobid, open_loaded, oc);
}

void brisk_bs_open_blob(struct brisk_blob_store *bs, brisk_blob_id blobid,
			brisk_blob_op_with_handle_complete cb_fn, void *cb_arg)
{
	brisk_bs_open_blob_ext(bs, blobid, NULL, cb_fn, cb_arg);
}
