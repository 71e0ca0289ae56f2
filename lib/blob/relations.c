/* Snapshot/clone relations: the store-wide parent_of table (see
 * blob_internal.h) and the public queries over it.
 *
 * The parent of a blob is durable in its BLOB descriptor (parent id). A
 * clean load trusts the masks but not any relation cache, so it scans the
 * heads of the used ids here (blob_walk_versions: several at a time; each
 * records its parent id) -> done. A dirty load gets the same table from
 * recovery. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct relations_scan_ctx {
	struct brisk_blob_store *bs;
	bool *pending;
	blob_md_io_cb cb;
	void *cb_ctx;
};

brisk_blob_id blob_md_pending_partner(const struct blob_md *md)
{
	struct blob_xattr *x = blob_md_find_xattr((struct blob_xattr_list *)&md->xattrs_internal,
						  BLOB_XATTR_PENDING);

	if (x == NULL) {
		return 0;
	}
	if (x->value_len != 8) {
		return UINT64_MAX; /* malformed: names no blob, so recovery drops the version */
	}
	return blob_get_le64(x->value);
}

static int scan_visit(void *ctx, brisk_blob_id id, struct blob_loaded *res, int rc)
{
	struct relations_scan_ctx *s = ctx;

	if (rc == 0 && res->present) {
		s->bs->parent_of[id - 1] = res->md.parent_id;
		if (blob_md_pending_partner(&res->md) != 0) {
			BRISK_NOTICELOG("blobstore load: blob 0x%lx is marked by an operation that did "
					"not finish", id);
			*s->pending = true;
		}
	} else {
		/* As for any clean load: a blob whose metadata cannot be read now
		 * fails its open later; its clusters stay reserved. */
		BRISK_WARNLOG("blobstore load: blob 0x%lx has no readable current version (%d); "
			      "its parent is unknown", id, rc);
	}
	blob_loaded_free(res);
	return 0;
}

static void scan_done(void *ctx, int rc)
{
	struct relations_scan_ctx *s = ctx;
	blob_md_io_cb cb = s->cb;
	void *cb_ctx = s->cb_ctx;

	free(s);
	cb(cb_ctx, rc);
}

void blob_relations_scan(struct brisk_blob_store *bs, bool *pending, blob_md_io_cb cb, void *ctx)
{
	struct relations_scan_ctx *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	*pending = false;
	s->pending = pending;
	s->bs = bs;
	s->cb = cb;
	s->cb_ctx = ctx;
	blob_walk_versions(bs, true, scan_visit, scan_done, s);
}

uint32_t blob_count_clones(const struct brisk_blob_store *bs, brisk_blob_id parent)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
		n += bs->parent_of[i] == parent;
	}
	return n;
}

static bool id_in_use(struct brisk_blob_store *bs, brisk_blob_id id)
{
	return blob_id_valid(bs, id) && brisk_bit_array_get(bs->used_ids, (uint32_t)(id - 1));
}

brisk_blob_id brisk_blob_get_parent_snapshot(struct brisk_blob_store *bs, brisk_blob_id blobid)
{
	if (bs == NULL || !id_in_use(bs, blobid)) {
		return BRISK_BLOBID_INVALID;
	}
	return bs->parent_of[blobid - 1] != 0 ? bs->parent_of[blobid - 1] : BRISK_BLOBID_INVALID;
}

int brisk_blob_get_clones(struct brisk_blob_store *bs, brisk_blob_id blobid, brisk_blob_id *ids,
			  size_t *count)
{
	size_t n = 0;

	if (bs == NULL || count == NULL || (ids == NULL && *count > 0)) {
		BRISK_ERRLOG("blob get_clones: %s is NULL", bs == NULL ? "bs" : count == NULL ? "count" : "ids");
		return -EINVAL;
	}
	if (!id_in_use(bs, blobid)) {
		return -ENOENT;
	}
	for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
		if (bs->parent_of[i] != blobid) {
			continue;
		}
		if (n < *count) {
			ids[n] = (brisk_blob_id)i + 1;
		}
		n++;
	}
	if (n > *count) {
		*count = n;
		return -ENOMEM;
	}
	*count = n;
	return 0;
}

bool brisk_blob_is_snapshot(struct brisk_blob *blob)
{
	return blob != NULL && (blob->md.flags & BLOB_FLAG_READ_ONLY) &&
	       blob_count_clones(blob->bs, blob->id) > 0;
}

bool brisk_blob_is_clone(struct brisk_blob *blob)
{
	return blob != NULL && blob->md.parent_id != 0;
}

/* ---- The backing map: load ancestors one by one, nearest first ---- */

struct backing_ctx {
	struct brisk_blob_store *bs;
	brisk_blob_id first;
	brisk_blob_id next;   /* ancestor to load */
	uint32_t depth;
	uint64_t *backing;
	uint64_t len;
	blob_backing_cb cb;
	void *cb_ctx;
};

static void backing_done(struct backing_ctx *k, int rc)
{
	blob_backing_cb cb = k->cb;
	void *cb_ctx = k->cb_ctx;
	uint64_t *backing = k->backing;
	uint64_t len = k->len;

	if (rc != 0) {
		free(backing);
		backing = NULL;
		len = 0;
	}
	free(k);
	cb(cb_ctx, backing, len, rc);
}

static void backing_step(struct backing_ctx *k);

static void backing_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct backing_ctx *k = ctx;

	if (rc == 0 && !res->present) {
		BRISK_ERRLOG("blobstore: ancestor 0x%lx (from parent 0x%lx) does not exist", k->next,
			     k->first);
		rc = -ENOENT;
	}
	if (rc == 0 && res->md.num_clusters > k->len) {
		uint64_t *p = realloc(k->backing, res->md.num_clusters * sizeof(uint64_t));

		if (p == NULL) {
			rc = -ENOMEM;
		} else {
			for (uint64_t i = k->len; i < res->md.num_clusters; i++) {
				p[i] = 0;
			}
			k->backing = p;
			k->len = res->md.num_clusters;
		}
	}
	if (rc != 0) {
		blob_loaded_free(res);
		backing_done(k, rc);
		return;
	}
	/* Nearest ancestor first: fill only what closer ones left empty. */
	for (uint64_t i = 0; i < res->md.num_clusters; i++) {
		if (k->backing[i] == 0) {
			k->backing[i] = res->md.clusters[i];
		}
	}
	k->next = res->md.parent_id;
	blob_loaded_free(res);
	backing_step(k);
}

static void backing_step(struct backing_ctx *k)
{
	struct brisk_blob_store *bs = k->bs;

	if (k->next == 0) {
		backing_done(k, 0);
		return;
	}
	if (!blob_id_valid(bs, k->next) || ++k->depth > bs->sb.num_blob_ids) {
		BRISK_ERRLOG("blobstore: parent chain from 0x%lx has a bad ancestor 0x%lx (or a cycle)",
			     k->first, k->next);
		backing_done(k, blob_id_valid(bs, k->next) ? -ELOOP : -ENOENT);
		return;
	}
	blob_load_version(bs, k->next, backing_loaded, k);
}

void blob_backing_build(struct brisk_blob_store *bs, brisk_blob_id first_parent, blob_backing_cb cb,
			void *ctx)
{
	struct backing_ctx *k = calloc(1, sizeof(*k));

	if (k == NULL) {
		cb(ctx, NULL, 0, -ENOMEM);
		return;
	}
	k->bs = bs;
	k->first = first_parent;
	k->next = first_parent;
	k->cb = cb;
	k->cb_ctx = ctx;
	backing_step(k);
}

struct backing_attach_ctx {
	struct brisk_blob *blob;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void backing_attach(void *ctx, uint64_t *backing, uint64_t len, int rc)
{
	struct backing_attach_ctx *a = ctx;
	blob_md_io_cb cb = a->cb;
	void *cb_ctx = a->cb_ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blob open: blob 0x%lx cannot read its parent chain: %d", a->blob->id, rc);
	} else {
		free(a->blob->backing);
		a->blob->backing = backing;
		a->blob->backing_len = len;
	}
	free(a);
	cb(cb_ctx, rc);
}

void blob_backing_load(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx)
{
	struct backing_attach_ctx *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	a->blob = blob;
	a->cb = cb;
	a->cb_ctx = ctx;
	blob_backing_build(blob->bs, blob->md.parent_id, backing_attach, a);
}

/* ---- One relation operation at a time ---- */

static void relation_start_msg(void *ctx)
{
	struct brisk_blob_store *bs = ctx;
	struct blob_relation_op *op = TAILQ_FIRST(&bs->relation_ops);

	TAILQ_REMOVE(&bs->relation_ops, op, link);
	op->start(op);
}

static void relation_kick(struct brisk_blob_store *bs)
{
	if (bs->relation_running || TAILQ_EMPTY(&bs->relation_ops)) {
		return;
	}
	bs->relation_running = true;
	/* From a message: start functions may complete at once, and no
	 * callback runs inside the public call that queued the operation. */
	blob_dev_complete_fn(relation_start_msg, bs);
}

void blob_relation_op_queue(struct brisk_blob_store *bs, struct blob_relation_op *op)
{
	TAILQ_INSERT_TAIL(&bs->relation_ops, op, link);
	relation_kick(bs);
}

void blob_relation_op_done(struct brisk_blob_store *bs)
{
	bs->relation_running = false;
	relation_kick(bs);
}
