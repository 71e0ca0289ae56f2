/* Damaged and missing blobs found by a load (doc/blobstore_format.md,
 * "Damage"): flagging them, holding the clusters a missing blob may own,
 * repairing accepted versions, and releasing a missing id the user deletes.
 *
 * A damaged blob (its version is not provably the newest) opens read-only
 * and degraded; with recover_damaged the load rewrites the version it found
 * (repair: one sync per blob, in turn), which gives it a sound head pair.
 * A missing id (marked used, no readable version) keeps its bit, and the
 * clusters no readable blob owns (orphans) stay used, until it is deleted:
 * delete_missing tombstones both slots, frees the id and, with the last
 * missing id, the orphans. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "blob_internal.h"

void blob_note_damaged(struct brisk_blob_store *bs, brisk_blob_id id, const char *why)
{
	uint8_t *f = &bs->id_flags[id - 1];

	if (*f & BLOB_ID_DAMAGED) {
		return;
	}
	*f |= BLOB_ID_DAMAGED;
	BRISK_ERRLOG("blobstore load: blob 0x%lx has damaged metadata: %s; %s", id, why,
		     bs->recover_damaged ? "accepting the version found (recover_damaged)" :
		     "it opens read-only and degraded until the store is loaded with recover_damaged");
}

void blob_note_missing(struct brisk_blob_store *bs, brisk_blob_id id, const char *why)
{
	uint8_t *f = &bs->id_flags[id - 1];

	if (*f & BLOB_ID_MISSING) {
		return;
	}
	*f |= BLOB_ID_MISSING;
	bs->num_missing++;
	brisk_bit_array_set(bs->used_ids, (uint32_t)(id - 1));
	BRISK_ERRLOG("blobstore load: blob 0x%lx is missing: %s, but no version of it can be read; "
		     "its id and the clusters no readable blob owns stay reserved until it is "
		     "deleted", id, why);
}

/* First cluster after the store's metadata. */
static uint64_t first_data_cluster(const struct brisk_blob_store *bs)
{
	return ((bs->sb.md_start + bs->sb.md_len) * BLOB_PAGE_SIZE + bs->sb.cluster_size - 1) /
	       bs->sb.cluster_size;
}

int blob_orphans_collect(struct brisk_blob_store *bs, const uint32_t *cluster_owner,
			 const struct brisk_bit_array *was_used)
{
	uint64_t n = 0;

	free(bs->orphans);
	bs->orphans = NULL;
	bs->num_orphans = 0;
	if (bs->num_missing == 0 || was_used == NULL) {
		return 0;
	}
	bs->orphans = calloc(bs->num_clusters, sizeof(uint64_t));
	if (bs->orphans == NULL) {
		return -ENOMEM;
	}
	for (uint64_t c = first_data_cluster(bs); c < bs->num_clusters; c++) {
		if (c < brisk_bit_array_capacity(was_used) && cluster_owner[c] == 0 &&
		    brisk_bit_array_get(was_used, (uint32_t)c)) {
			bs->orphans[n++] = c;
			brisk_bit_array_set(bs->used_clusters, (uint32_t)c);
		}
	}
	bs->num_orphans = n;
	if (n > 0) {
		BRISK_ERRLOG("blobstore load: %lu cluster(s) owned by no readable blob are held for "
			     "the %u missing blob(s)", n, bs->num_missing);
	}
	return 0;
}

static void orphans_release(struct brisk_blob_store *bs)
{
	if (bs->num_orphans > 0) {
		BRISK_NOTICELOG("blobstore: no missing blob left; freeing %lu held cluster(s)",
				bs->num_orphans);
	}
	for (uint64_t i = 0; i < bs->num_orphans; i++) {
		blob_free_cluster(bs, bs->orphans[i]);
	}
	free(bs->orphans);
	bs->orphans = NULL;
	bs->num_orphans = 0;
}

/* ---- Repair: rewrite each accepted version (one sync at a time) ---- */

struct repair_ctx {
	struct brisk_blob_store *bs;
	struct blob_loaded **list;   /* by id index, NULL none; owned */
	brisk_blob_id next;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void repair_next(struct repair_ctx *r);

static void repair_done(struct repair_ctx *r, int rc)
{
	for (uint32_t i = 0; i < r->bs->sb.num_blob_ids; i++) {
		blob_loaded_free(r->list[i]);
	}
	free(r->list);
	r->cb(r->cb_ctx, rc);
	free(r);
}

static void repair_synced(void *ctx, int rc)
{
	struct repair_ctx *r = ctx;
	brisk_blob_id id = r->next - 1;

	if (rc != 0) {
		BRISK_ERRLOG("blobstore load: rewriting blob 0x%lx failed: %d", id, rc);
		repair_done(r, rc);
		return;
	}
	r->bs->id_flags[id - 1] &= (uint8_t)~BLOB_ID_DAMAGED;
	BRISK_NOTICELOG("blobstore load: blob 0x%lx: the version found is now its current one", id);
	repair_next(r);
}

static void repair_next(struct repair_ctx *r)
{
	struct brisk_blob_store *bs = r->bs;
	struct brisk_blob *b;
	brisk_blob_id id;

	while (r->next <= bs->sb.num_blob_ids && r->list[r->next - 1] == NULL) {
		r->next++;
	}
	if (r->next > bs->sb.num_blob_ids) {
		repair_done(r, 0);
		return;
	}
	id = r->next++;
	if (bs->id_flags[id - 1] & BLOB_ID_CONFLICT) {
		/* Shares clusters with another blob: a rewrite cannot settle that. */
		repair_next(r);
		return;
	}
	b = blob_new(bs, id);
	if (b == NULL) {
		repair_done(r, -ENOMEM);
		return;
	}
	blob_take_loaded(b, r->list[id - 1]);
	blob_sync_and_free(b, repair_synced, r);
}

void blob_repair_versions(struct brisk_blob_store *bs, struct blob_loaded **list, blob_md_io_cb cb,
			  void *ctx)
{
	struct repair_ctx *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
			blob_loaded_free(list[i]);
		}
		free(list);
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	r->bs = bs;
	r->list = list;
	r->next = 1;
	r->cb = cb;
	r->cb_ctx = ctx;
	repair_next(r);
}

/* ---- Delete of a missing id ---- */

struct missing_delete_ctx {
	struct brisk_blob_store *bs;
	brisk_blob_id id;
	brisk_blob_op_complete cb;
	void *cb_arg;
};

static void missing_tombstoned(void *ctx, int rc)
{
	struct missing_delete_ctx *c = ctx;
	struct brisk_blob_store *bs = c->bs;

	if (rc == 0) {
		bs->id_flags[c->id - 1] &= (uint8_t)~BLOB_ID_MISSING;
		bs->num_missing--;
		blob_free_id(bs, c->id);
		BRISK_NOTICELOG("blob delete: missing blob 0x%lx released", c->id);
		if (bs->num_missing == 0) {
			orphans_release(bs);
		}
	} else {
		BRISK_ERRLOG("blob delete: releasing missing blob 0x%lx failed: %d", c->id, rc);
	}
	blob_md_op_end(bs);
	c->cb(c->cb_arg, rc);
	free(c);
}

void blob_delete_missing(struct brisk_blob_store *bs, brisk_blob_id id, brisk_blob_op_complete cb_fn,
			 void *cb_arg)
{
	struct missing_delete_ctx *c;
	int rc = blob_md_op_begin(bs, "blob delete");

	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		blob_md_op_end(bs);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->id = id;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	/* Both slots: whatever was left of the id can never come back. */
	blob_write_tombstones(bs, id, missing_tombstoned, c);
}
