/* Dirty-load recovery: rebuild the masks from the current version of every
 * blob id (doc/blobstore_format.md, "Load, clean and dirty").
 *
 * scan (every id, several at a time: load its current version -> claim its
 * chain pages and clusters, or set it aside when it is marked pending) -> resolve each
 * pending version (keep: claim it and rewrite it without the mark; drop:
 * tombstone it) -> settle (ids the last clean masks or a parent relation
 * say exist but that have no version: missing, their possible clusters
 * held; a region with no version at all where the super block promised
 * some: refused) -> rewrite (versions that took over from a newer head a
 * crash tore: logged, then written again so the pair is sound) -> repair
 * (tombstone stale heads of free ids) -> done.
 * Nothing is handed out twice: a cluster or chain page claimed by two blobs
 * fails the load with -EUCLEAN naming both. Pending versions are resolved
 * after every other blob has claimed its clusters because a pending version
 * shares clusters with its partner (a snapshot cut short, or a snapshot
 * whose delete into its clone was cut short). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	uint32_t ids_with_pages;     /* ids with any valid head page (tombstones too) */
	brisk_blob_id *missing;      /* used in the last clean mask, no page now */
	uint32_t nmissing;
	const struct blob_recover_hint *hint;
	struct blob_loaded **rewrite; /* versions to write again, by id index */
};

static void recover_resolve_next(struct recover_ctx *r);
static void recover_repair_next(struct recover_ctx *r);
static void recover_settle(struct recover_ctx *r);

static void recover_done(struct recover_ctx *r, int rc)
{
	if (rc == 0) {
		BRISK_NOTICELOG("blobstore recovery: %u blobs, %u free clusters, %u stale heads cleared",
				r->blobs, brisk_bit_array_count_clear(r->bs->used_clusters), r->nrepair);
	}
	free(r->cluster_owner);
	free(r->page_owner);
	free(r->repair);
	free(r->missing);
	for (uint32_t i = 0; i < r->bs->sb.num_blob_ids; i++) {
		if (r->pending != NULL) {
			blob_loaded_free(r->pending[i]);
		}
		if (r->rewrite != NULL) {
			blob_loaded_free(r->rewrite[i]);
		}
	}
	free(r->pending);
	free(r->rewrite);
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

/* After a crash, a head the crash tore explains a version that is not the
 * newest: said, not flagged. An id the last clean masks marked used with no
 * page left at all is missing. */
static bool recover_note(struct recover_ctx *r, brisk_blob_id id, const struct blob_loaded *res)
{
	const struct blob_recover_hint *h = r->hint;

	if (res->damaged && res->present && r->bs->sb.clean) {
		/* Recovery of a clean store (a pending mark, or masks rebuilt on
		 * request): no crash explains it. */
		blob_note_damaged(r->bs, id, res->why);
	} else if (res->damaged && res->present) {
		BRISK_ERRLOG("blobstore recovery: blob 0x%lx: %s; the store was not unloaded cleanly, "
			     "so this is taken for a write the crash cut short", id, res->why);
	} else if (res->damaged) {
		/* An error: if the create had completed, its blob is gone. */
		BRISK_ERRLOG("blobstore recovery: blob id 0x%lx: %s; the id is left free", id,
			     res->why);
	}
	/* Used at the last clean unload, and no live version since: either
	 * nothing valid is left, or the tombstone found predates that unload
	 * (a delete after it would have written a newer one). */
	if (!res->present && h->ids != NULL && brisk_bit_array_get(h->ids, (uint32_t)(id - 1)) &&
	    (res->slot < 0 || res->seq <= r->bs->sb.md_seq)) {
		r->missing[r->nmissing++] = id;
		return true;
	}
	return false;
}

/* One id's current version, as the walk delivers it (any order). */
static int recover_visit(void *ctx, brisk_blob_id id, struct blob_loaded *res, int rc)
{
	struct recover_ctx *r = ctx;
	bool missing;

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
	r->bs->id_seq[id - 1] = res->seq;
	r->ids_with_pages += res->slot >= 0;
	missing = recover_note(r, id, res);
	if (res->present && blob_md_pending_partner(&res->md) != 0) {
		r->pending[id - 1] = res; /* resolved once the others have claimed */
		r->npending++;
		res = NULL;
	} else if (res->present) {
		rc = recover_claim(r, id, res);
		if (rc == 0 && res->damaged && (!r->bs->sb.clean || r->bs->recover_damaged)) {
			r->rewrite[id - 1] = res;
			res = NULL;
		}
	} else if (res->stale_other || (res->damaged && !missing)) {
		/* Both slots tombstoned: the next load does not say it again. */
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
	if (r->bs->id_flags[id - 1] & BLOB_ID_DAMAGED && !r->bs->recover_damaged) {
		/* Rewriting would make the damaged version look sound: it keeps
		 * its mark, and the next load settles it again. */
		recover_resolve_next(r);
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
		recover_settle(r);
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

/* ---- Settle: missing ids, an empty region, rewrites ---- */

/* No page at all where the super block says versions were written: the
 * region was overwritten, not torn. */
static bool recover_region_lost(struct recover_ctx *r)
{
	struct brisk_blob_store *bs = r->bs;
	uint32_t promised = r->hint->ids != NULL ? brisk_bit_array_count_set(r->hint->ids) : 0;

	if (r->ids_with_pages > 0 || (bs->sb.md_seq == 0 && promised == 0)) {
		return false;
	}
	BRISK_ERRLOG("blobstore recovery: the metadata region holds no blob version at all, but the "
		     "super block records metadata up to seq %lu%s%u blob(s): the region is damaged; "
		     "refusing to load (nothing was written)%s", bs->sb.md_seq,
		     promised ? " and its id mask " : " and ", promised,
		     bs->recover_damaged ? "" : "; load with recover_damaged to accept an empty store");
	return !bs->recover_damaged;
}

static void recover_missing_parents(struct recover_ctx *r)
{
	struct brisk_blob_store *bs = r->bs;
	char why[64];

	for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
		brisk_blob_id p = bs->parent_of[i];

		if (p != 0 && blob_id_valid(bs, p) &&
		    !brisk_bit_array_get(bs->used_ids, (uint32_t)(p - 1))) {
			snprintf(why, sizeof(why), "blob 0x%x names it as its parent", i + 1);
			blob_note_missing(bs, p, why);
		}
	}
}

static void recover_rewritten(void *ctx, int rc)
{
	struct recover_ctx *r = ctx;

	if (rc != 0) {
		recover_done(r, rc);
		return;
	}
	recover_repair_next(r);
}

static void recover_settle(struct recover_ctx *r)
{
	struct brisk_blob_store *bs = r->bs;
	struct blob_loaded **rewrite = r->rewrite;
	int rc;

	if (recover_region_lost(r)) {
		recover_done(r, -EUCLEAN);
		return;
	}
	for (uint32_t i = 0; i < r->nmissing; i++) {
		blob_note_missing(bs, r->missing[i], "the id mask of the last clean unload marks it used");
	}
	recover_missing_parents(r);
	rc = blob_orphans_collect(bs, r->cluster_owner, r->hint->clusters);
	if (rc != 0) {
		recover_done(r, rc);
		return;
	}
	r->rewrite = NULL;
	blob_repair_versions(bs, rewrite, recover_rewritten, r);
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

void blob_recover(struct brisk_blob_store *bs, const struct blob_recover_hint *hint, blob_md_io_cb cb,
		  void *ctx)
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
	r->rewrite = calloc(bs->sb.num_blob_ids, sizeof(struct blob_loaded *));
	r->missing = calloc(bs->sb.num_blob_ids, sizeof(brisk_blob_id));
	r->hint = hint;
	if (!r->cluster_owner || !r->page_owner || !r->repair || !r->pending || !r->rewrite ||
	    !r->missing) {
		recover_done(r, -ENOMEM);
		return;
	}
	/* Everything is derived again from the disk. */
	memset(bs->id_flags, 0, bs->sb.num_blob_ids);
	bs->num_missing = 0;
	free(bs->orphans);
	bs->orphans = NULL;
	bs->num_orphans = 0;
	brisk_bit_array_clear_all(bs->used_chain_pages);
	brisk_bit_array_clear_all(bs->used_clusters);
	brisk_bit_array_clear_all(bs->used_ids);
	blob_reserve_md_clusters(bs);
	blob_walk_versions(bs, false, recover_visit, recover_scanned, r);
}
