/* Dirty-load recovery: rebuild the masks from the current version of every
 * blob id (doc/blobstore_format.md, "Load, clean and dirty").
 *
 * scan_id (for each id: load its current version -> claim its chain pages
 * and clusters) -> repair (tombstone stale heads of free ids) -> done.
 * Nothing is handed out twice: a cluster or chain page claimed by two blobs
 * fails the load with -EUCLEAN naming both. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct recover_ctx {
	struct brisk_blob_store *bs;
	blob_md_io_cb cb;
	void *cb_ctx;
	brisk_blob_id id;            /* being scanned */
	uint32_t *cluster_owner;     /* blob id owning each cluster, 0 none */
	uint32_t *page_owner;        /* blob id owning each chain page, 0 none */
	uint64_t max_seq;
	brisk_blob_id *repair;       /* free ids with a stale head left */
	uint32_t nrepair;
	uint32_t repair_next;
	uint32_t blobs;
};

static void recover_scan_id(struct recover_ctx *r);
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
	r->cb(r->cb_ctx, rc);
	free(r);
}

static int recover_claim(struct recover_ctx *r, struct blob_loaded *res)
{
	struct brisk_blob_store *bs = r->bs;
	uint32_t id = (uint32_t)r->id;

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

static void recover_id_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct recover_ctx *r = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blobstore recovery: blob 0x%lx cannot be read (%d); refusing to load "
			     "rather than free clusters it may own", r->id, rc);
		blob_loaded_free(res);
		recover_done(r, rc);
		return;
	}
	if (res->max_seq > r->max_seq) {
		r->max_seq = res->max_seq;
	}
	r->bs->id_slot[r->id - 1] = (int8_t)res->slot;
	if (res->present) {
		rc = recover_claim(r, res);
	} else if (res->stale_other) {
		r->repair[r->nrepair++] = r->id;
	}
	blob_loaded_free(res);
	if (rc != 0) {
		recover_done(r, rc);
		return;
	}
	r->id++;
	recover_scan_id(r);
}

static void recover_scan_id(struct recover_ctx *r)
{
	if (r->id > r->bs->sb.num_blob_ids) {
		/* New versions must sort above everything on disk. */
		r->bs->md_seq = r->max_seq;
		recover_repair_next(r);
		return;
	}
	blob_load_version(r->bs, r->id, recover_id_loaded, r);
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
	r->id = 1;
	r->cluster_owner = calloc(bs->num_clusters, sizeof(uint32_t));
	r->page_owner = calloc(bs->num_chain_pages, sizeof(uint32_t));
	r->repair = calloc(bs->sb.num_blob_ids, sizeof(brisk_blob_id));
	if (!r->cluster_owner || !r->page_owner || !r->repair) {
		recover_done(r, -ENOMEM);
		return;
	}
	brisk_bit_array_clear_all(bs->used_chain_pages);
	brisk_bit_array_clear_all(bs->used_clusters);
	brisk_bit_array_clear_all(bs->used_ids);
	blob_reserve_md_clusters(bs);
	recover_scan_id(r);
}
