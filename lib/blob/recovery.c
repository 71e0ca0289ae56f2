/* Dirty-load recovery: rebuild the masks from the current version of every
 * blob id (doc/blobstore_format.md, "Load, clean and dirty").
 *
 * scan (every id, several at a time: load its current version -> claim its
 * chain pages and clusters, or set it aside when it is marked pending) -> resolve each
 * pending version (keep: claim it and rewrite it without the mark; drop:
 * tombstone it) -> repair (tombstone stale heads of free ids) -> done.
 * Nothing is handed out twice: a cluster or chain page claimed by two blobs
 * fails the load with -EUCLEAN naming both. Pending versions are resolved
 * after every other blob has claimed its clusters because a pending version
 * shares clusters with its partner (a snapshot cut short, or a snapshot
 * whose delete into its clone was cut short). */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct recover_ctx {
	struct brisk_blob_store *bs;
	blob_md_io_cb cb;
	void *cb_ctx;
	uint32_t *cluster_owner;     /* blob id owning each cluster, 0 none */
	uint32_t *page_owner;        /* blob id owning each chain page, 0 none */
	uint64_t max_seq;
	brisk_blob_id *repair;       /* free ids with a stale head left */
	uint32_t nrepair;
	uint32_t repair_next;
	struct blob_loaded **pending; /* versions marked pending, by id index (NULL none) */
	uint32_t npending;
	brisk_blob_id resolve_next;  /* next id to look at in pending */
	uint32_t blobs;
};

static void recover_resolve_next(struct recover_ctx *r);
static void recover_repair_next(struct recover_ctx *r);

static void recover_done(struct recover_ctx *r, int rc)
{
	if (rc == 0) {
		BRISK_NOTICELOG("blobstore recovery: %u blobs, %u free clusters, %u stale heads cleared",
				r->blobs, brisk_bit_array_count_clear(r->bs->used_clusters), r->nrepair);
	}
	free(r->cluster_owner);
	free(r->page_owner);
	free(r->repair);
	if (r->pending != NULL) {
		for (uint32_t i = 0; i < r->bs->sb.num_blob_ids; i++) {
			blob_loaded_free(r->pending[i]);
		}
		free(r->pending);
	}
	r->cb(r->cb_ctx, rc);
	free(r);
}

static int recover_claim(struct recover_ctx *r, brisk_blob_id blobid, struct blob_loaded *res)
{
	struct brisk_blob_store *bs = r->bs;
	uint32_t id = (uint32_t)blobid;

	for (uint32_t i = 0; i < res->chain_len; i++) {
		uint32_t p = res->chain_pages[i];

		if (r->page_owner[p] != 0) {
			BRISK_ERRLOG("blobstore recovery: metadata page %u claimed by blobs 0x%x and 0x%x",
				     p, r->page_owner[p], id);
			return -EUCLEAN;
		}
		r->page_owner[p] = id;
		brisk_bit_array_set(bs->used_chain_pages, p);
	}
	for (uint64_t i = 0; i < res->md.num_clusters; i++) {
		uint64_t c = res->md.clusters[i];

		if (c == 0) {
			continue;
		}
		if (c >= bs->num_clusters) {
			BRISK_ERRLOG("blobstore recovery: blob 0x%x cluster %lu points at device cluster "
				     "%lu, beyond the %lu clusters", id, i, c, bs->num_clusters);
			return -EUCLEAN;
		}
		if (r->cluster_owner[c] != 0) {
			BRISK_ERRLOG("blobstore recovery: cluster %lu claimed by blobs 0x%x and 0x%x",
				     c, r->cluster_owner[c], id);
			return -EUCLEAN;
		}
		if (brisk_bit_array_get(bs->used_clusters, (uint32_t)c)) {
			BRISK_ERRLOG("blobstore recovery: blob 0x%x claims cluster %lu, which holds the "
				     "store's metadata", id, c);
			return -EUCLEAN;
		}
		r->cluster_owner[c] = id;
		brisk_bit_array_set(bs->used_clusters, (uint32_t)c);
	}
	brisk_bit_array_set(bs->used_ids, id - 1);
	bs->parent_of[id - 1] = res->md.parent_id;
	r->blobs++;
	return 0;
}

/* One id's current version, as the walk delivers it (any order). */
static int recover_visit(void *ctx, brisk_blob_id id, struct blob_loaded *res, int rc)
{
	struct recover_ctx *r = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blobstore recovery: blob 0x%lx cannot be read (%d); refusing to load "
			     "rather than free clusters it may own", id, rc);
		blob_loaded_free(res);
		return rc;
	}
	if (res->max_seq > r->max_seq) {
		r->max_seq = res->max_seq;
	}
	r->bs->id_slot[id - 1] = (int8_t)res->slot;
	if (res->present && blob_md_pending_partner(&res->md) != 0) {
		r->pending[id - 1] = res; /* resolved once the others have claimed */
		r->npending++;
		res = NULL;
	} else if (res->present) {
		rc = recover_claim(r, id, res);
	} else if (res->stale_other) {
		r->repair[r->nrepair++] = id;
	}
	blob_loaded_free(res);
	return rc;
}

static void recover_scanned(void *ctx, int rc)
{
	struct recover_ctx *r = ctx;

	if (rc != 0) {
		recover_done(r, rc);
		return;
	}
	/* New versions must sort above everything on disk. */
	r->bs->md_seq = r->max_seq;
	r->resolve_next = 1;
	recover_resolve_next(r);
}

/* ---- Pending versions ---- */

/* The parent the partner's current version records; false when the
 * partner has no current version. */
static bool partner_parent(struct recover_ctx *r, brisk_blob_id partner, brisk_blob_id *parent)
{
	struct brisk_blob_store *bs = r->bs;

	if (!blob_id_valid(bs, partner)) {
		return false;
	}
	if (brisk_bit_array_get(bs->used_ids, (uint32_t)(partner - 1))) {
		*parent = bs->parent_of[partner - 1];
		return true;
	}
	if (r->pending[partner - 1] != NULL) {
		*parent = r->pending[partner - 1]->md.parent_id;
		return true;
	}
	return false;
}

static void recover_resolved(void *ctx, int rc)
{
	struct recover_ctx *r = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blobstore recovery: settling blob 0x%lx failed: %d", r->resolve_next - 1,
			     rc);
		recover_done(r, rc);
		return;
	}
	recover_resolve_next(r);
}

/* Keep: the operation committed (snapshot) or never did (delete into the
 * clone). Claim the version, then write it again without the mark so
 * that later changes to the partner cannot be misread. */
static void recover_keep(struct recover_ctx *r, brisk_blob_id id, struct blob_loaded *res)
{
	struct brisk_blob *b;
	int rc = recover_claim(r, id, res);

	if (rc != 0) {
		recover_done(r, rc);
		return;
	}
	b = blob_new(r->bs, id);
	if (b == NULL) {
		recover_done(r, -ENOMEM);
		return;
	}
	blob_take_loaded(b, res);
	blob_md_remove_xattr(&b->md.xattrs_internal, BLOB_XATTR_PENDING);
	blob_sync_and_free(b, recover_resolved, r);
}

static void recover_resolve_next(struct recover_ctx *r)
{
	struct brisk_blob_store *bs = r->bs;
	struct blob_loaded *res;
	brisk_blob_id id, partner, parent = 0;

	while (r->resolve_next <= bs->sb.num_blob_ids && r->pending[r->resolve_next - 1] == NULL) {
		r->resolve_next++;
	}
	if (r->resolve_next > bs->sb.num_blob_ids) {
		recover_repair_next(r);
		return;
	}
	id = r->resolve_next++;
	res = r->pending[id - 1];
	r->pending[id - 1] = NULL;
	partner = blob_md_pending_partner(&res->md);
	if (partner_parent(r, partner, &parent) && parent != id) {
		/* The partner went on without this version: drop it. The
		 * clusters it names are the partner's (or nobody's). */
		BRISK_NOTICELOG("blobstore recovery: blob 0x%lx was left by an unfinished operation "
				"with blob 0x%lx; removing it", id, partner);
		blob_loaded_free(res);
		blob_write_tombstones(bs, id, recover_resolved, r);
		return;
	}
	BRISK_NOTICELOG("blobstore recovery: blob 0x%lx: finishing the operation with blob 0x%lx",
			id, partner);
	recover_keep(r, id, res);
	blob_loaded_free(res);
}

static void recover_repaired(void *ctx, int rc)
{
	struct recover_ctx *r = ctx;

	if (rc != 0) {
		recover_done(r, rc);
		return;
	}
	recover_repair_next(r);
}

static void recover_repair_next(struct recover_ctx *r)
{
	if (r->repair_next == r->nrepair) {
		recover_done(r, 0);
		return;
	}
	blob_write_tombstones(r->bs, r->repair[r->repair_next++], recover_repaired, r);
}

void blob_recover(struct brisk_blob_store *bs, blob_md_io_cb cb, void *ctx)
{
	struct recover_ctx *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	r->bs = bs;
	r->cb = cb;
	r->cb_ctx = ctx;
	r->cluster_owner = calloc(bs->num_clusters, sizeof(uint32_t));
	r->page_owner = calloc(bs->num_chain_pages, sizeof(uint32_t));
	r->repair = calloc(bs->sb.num_blob_ids, sizeof(brisk_blob_id));
	r->pending = calloc(bs->sb.num_blob_ids, sizeof(struct blob_loaded *));
	if (!r->cluster_owner || !r->page_owner || !r->repair || !r->pending) {
		recover_done(r, -ENOMEM);
		return;
	}
	brisk_bit_array_clear_all(bs->used_chain_pages);
	brisk_bit_array_clear_all(bs->used_clusters);
	brisk_bit_array_clear_all(bs->used_ids);
	blob_reserve_md_clusters(bs);
	blob_walk_versions(bs, false, recover_visit, recover_scanned, r);
}
