/* Snapshot/clone relations: the store-wide parent_of table (see
 * blob_internal.h) and the public queries over it.
 *
 * The parent of a blob is durable in its BLOB descriptor (parent id). A
 * clean load trusts the masks but not any relation cache, so it scans the
 * current version of every used id here (blob_walk_versions: several at a
 * time; each records its parent id and claims its clusters and chain pages
 * against the masks) -> parents (a named parent must exist) -> orphans
 * (held while an id is missing) -> repair (recover_damaged) -> done. Damage
 * is flagged per blob (damage.c), never silently served. A dirty load gets
 * the same table from recovery. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct relations_scan_ctx {
	struct brisk_blob_store *bs;
	bool *pending;
	blob_md_io_cb cb;
	void *cb_ctx;
	uint32_t *cluster_owner;      /* blob id per device cluster, 0 none */
	uint32_t *page_owner;         /* blob id per chain page, 0 none */
	uint64_t max_seq;             /* highest seq of a valid page seen */
	struct blob_loaded **repair;  /* recover_damaged: versions to rewrite, by id index */
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

/* Two blobs name one cluster or chain page: neither version can be trusted. */
static void scan_conflict(struct relations_scan_ctx *s, uint32_t a, uint32_t b, const char *what,
			  uint64_t n)
{
	char why[128];

	snprintf(why, sizeof(why), "%s %lu is also named by blob 0x%x", what, n, a);
	s->bs->id_flags[b - 1] |= BLOB_ID_CONFLICT;
	blob_note_damaged(s->bs, b, why);
	snprintf(why, sizeof(why), "%s %lu is also named by blob 0x%x", what, n, b);
	s->bs->id_flags[a - 1] |= BLOB_ID_CONFLICT;
	blob_note_damaged(s->bs, a, why);
}

/* What the clean masks say must agree with what the version names. */
static void scan_claim(struct relations_scan_ctx *s, uint32_t id, const struct blob_loaded *res)
{
	struct brisk_blob_store *bs = s->bs;
	char why[128];

	for (uint32_t i = 0; i < res->chain_len; i++) {
		uint32_t p = res->chain_pages[i];

		if (s->page_owner[p] != 0) {
			scan_conflict(s, s->page_owner[p], id, "chain page", p);
			continue;
		}
		s->page_owner[p] = id;
		if (!brisk_bit_array_get(bs->used_chain_pages, p)) {
			snprintf(why, sizeof(why), "its chain page %u is free in the clean mask", p);
			bs->id_flags[id - 1] |= BLOB_ID_CONFLICT;
			blob_note_damaged(bs, id, why);
		}
	}
	for (uint64_t i = 0; i < res->md.num_clusters; i++) {
		uint64_t c = res->md.clusters[i];

		if (c == 0) {
			continue;
		}
		if (s->cluster_owner[c] != 0) {
			scan_conflict(s, s->cluster_owner[c], id, "cluster", c);
			continue;
		}
		s->cluster_owner[c] = id;
		if (!brisk_bit_array_get(bs->used_clusters, (uint32_t)c)) {
			snprintf(why, sizeof(why), "its cluster %lu is free in the clean mask", c);
			bs->id_flags[id - 1] |= BLOB_ID_CONFLICT;
			blob_note_damaged(bs, id, why);
		}
	}
}

static int scan_visit(void *ctx, brisk_blob_id id, struct blob_loaded *res, int rc)
{
	struct relations_scan_ctx *s = ctx;
	struct brisk_blob_store *bs = s->bs;

	if (rc == 0 && res->max_seq > s->max_seq) {
		s->max_seq = res->max_seq;
	}
	if (rc == 0 && res->present) {
		bs->parent_of[id - 1] = res->md.parent_id;
		if (blob_md_pending_partner(&res->md) != 0) {
			BRISK_NOTICELOG("blobstore load: blob 0x%lx is marked by an operation that did "
					"not finish", id);
			*s->pending = true;
		}
		scan_claim(s, (uint32_t)id, res);
		if (res->damaged) {
			blob_note_damaged(bs, id, res->why);
			if (bs->recover_damaged) {
				s->repair[id - 1] = res;
				res = NULL;
			}
		}
	} else if (rc == 0) {
		blob_note_missing(bs, id, res->damaged ? res->why : "the id mask marks it used");
	} else if (rc == -ENOMEM) {
		/* Not the blob's fault: a load that went on would have its
		 * relations wrong until the next load. Fail it; a retry works. */
		BRISK_ERRLOG("blobstore load: out of memory reading blob 0x%lx", id);
		blob_loaded_free(res);
		return rc;
	} else {
		/* A blob whose metadata cannot be read now fails its open later;
		 * its clusters stay reserved. */
		BRISK_ERRLOG("blobstore load: blob 0x%lx cannot be read (%d); its parent is unknown",
			     id, rc);
	}
	blob_loaded_free(res);
	return 0;
}

/* A parent named by a readable blob must be readable too. */
static void scan_parents(struct relations_scan_ctx *s)
{
	struct brisk_blob_store *bs = s->bs;
	char why[96];

	for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
		brisk_blob_id p = bs->parent_of[i];

		if (p == 0) {
			continue;
		}
		snprintf(why, sizeof(why), "blob 0x%x names it as its parent", i + 1);
		if (!blob_id_valid(bs, p)) {
			snprintf(why, sizeof(why), "its parent id 0x%lx is not a valid id", p);
			blob_note_damaged(bs, i + 1, why);
		} else if (!brisk_bit_array_get(bs->used_ids, (uint32_t)(p - 1))) {
			blob_note_missing(bs, p, why);
		}
	}
}

static void scan_free(struct relations_scan_ctx *s, int rc)
{
	blob_md_io_cb cb = s->cb;
	void *cb_ctx = s->cb_ctx;

	if (s->repair != NULL) {
		for (uint32_t i = 0; i < s->bs->sb.num_blob_ids; i++) {
			blob_loaded_free(s->repair[i]);
		}
		free(s->repair);
	}
	free(s->cluster_owner);
	free(s->page_owner);
	free(s);
	cb(cb_ctx, rc);
}

/* recover_damaged, no blob missing: what no readable version names (the
 * storage of the versions that were lost) goes back to the free pool. */
static void scan_free_unowned(struct relations_scan_ctx *s)
{
	struct brisk_blob_store *bs = s->bs;
	uint64_t first = ((bs->sb.md_start + bs->sb.md_len) * BLOB_PAGE_SIZE + bs->sb.cluster_size - 1) /
			 bs->sb.cluster_size;
	uint64_t clusters = 0, pages = 0;

	for (uint64_t c = first; c < bs->num_clusters; c++) {
		if (s->cluster_owner[c] == 0 && brisk_bit_array_get(bs->used_clusters, (uint32_t)c)) {
			blob_free_cluster(bs, c);
			clusters++;
		}
	}
	for (uint32_t p = 0; p < bs->num_chain_pages; p++) {
		if (s->page_owner[p] == 0 && brisk_bit_array_get(bs->used_chain_pages, p)) {
			blob_free_chain_pages(bs, &p, 1);
			pages++;
		}
	}
	if (clusters + pages > 0) {
		BRISK_NOTICELOG("blobstore load: recover_damaged: freed %lu cluster(s) and %lu metadata "
				"page(s) no readable blob owns", clusters, pages);
	}
}

static void scan_repaired(void *ctx, int rc)
{
	struct relations_scan_ctx *s = ctx;

	if (rc == 0 && s->bs->num_missing == 0) {
		scan_free_unowned(s);
	}
	scan_free(s, rc);
}

static void scan_done(void *ctx, int rc)
{
	struct relations_scan_ctx *s = ctx;
	struct blob_loaded **repair = s->repair;

	if (rc == 0 && s->max_seq > s->bs->md_seq) {
		/* A clean unload records the highest seq written: a page above it
		 * was edited. New versions must still sort above it. */
		BRISK_ERRLOG("blobstore load: a metadata page has seq %lu, above the %lu the clean "
			     "unload recorded", s->max_seq, s->bs->md_seq);
		s->bs->md_seq = s->max_seq;
	}
	if (rc == 0) {
		scan_parents(s);
		rc = blob_orphans_collect(s->bs, s->cluster_owner, s->bs->used_clusters);
	}
	if (rc != 0 || *s->pending || !s->bs->recover_damaged) {
		/* A pending mark sends the load to recovery, which repairs too. */
		scan_free(s, rc);
		return;
	}
	s->repair = NULL;
	blob_repair_versions(s->bs, repair, scan_repaired, s);
}

void blob_relations_scan(struct brisk_blob_store *bs, bool *pending, blob_md_io_cb cb, void *ctx)
{
	struct relations_scan_ctx *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	*pending = false;
	s->pending = pending;
	s->bs = bs;
	s->cb = cb;
	s->cb_ctx = ctx;
	s->cluster_owner = calloc(bs->num_clusters, sizeof(uint32_t));
	s->page_owner = calloc(bs->num_chain_pages, sizeof(uint32_t));
	s->repair = calloc(bs->sb.num_blob_ids, sizeof(*s->repair));
	if (!s->cluster_owner || !s->page_owner || !s->repair) {
		free(s->cluster_owner);
		free(s->page_owner);
		free(s->repair);
		free(s);
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
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
	if (rc == 0 && !(res->md.flags & BLOB_FLAG_READ_ONLY)) {
		/* Only a read-only blob can be a parent: the parent id that
		 * leads here is damaged. */
		BRISK_ERRLOG("blobstore: ancestor 0x%lx (from parent 0x%lx) is not read-only: a parent "
			     "id on that chain is damaged", k->next, k->first);
		rc = -EUCLEAN;
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
