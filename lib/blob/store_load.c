/* Load, unload and destroy of a store, and its statistics.
 *
 * load: read_super -> pick_copy -> setup -> read_masks ->
 *       (clean, masks good: relations scan, which flags damage) |
 *       (clean, a mask fails its CRC: refuse, nothing written, unless
 *        recover_damaged: recover) |
 *       (dirty: recover, told what the last clean masks said if their CRCs
 *        hold) -> mark_dirty (super with clean = 0) -> done
 * unload: masks + super with clean = 1 (clean flag last) -> free
 * destroy: erase both super block copies -> free */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/crc32c.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

struct bs_load_ctx {
	struct brisk_blob_store *bs;
	brisk_bs_op_with_handle_complete cb;
	void *cb_arg;
	struct brisk_bs_type want;
	uint8_t *buf;
	bool pending;      /* the relations scan found an unfinished operation */
	struct blob_recover_hint hint;
};

static void load_hint_free(struct bs_load_ctx *c)
{
	brisk_bit_array_free(&c->hint.ids);
	brisk_bit_array_free(&c->hint.clusters);
}

static void load_failed_freed(void *ctx, int rc)
{
	struct bs_load_ctx *c = ctx;

	c->cb(c->cb_arg, NULL, rc);
	free(c);
}

static void load_fail(struct bs_load_ctx *c, int rc)
{
	load_hint_free(c);
	blob_page_buf_free(c->buf);
	c->buf = NULL;
	blob_bs_free(c->bs, load_failed_freed, c, rc);
}

static void load_done(void *ctx, int rc)
{
	struct bs_load_ctx *c = ctx;

	if (rc != 0) {
		load_fail(c, rc);
		return;
	}
	load_hint_free(c);
	blob_page_buf_free(c->buf);
	c->cb(c->cb_arg, c->bs, 0);
	free(c);
}

/* The store is in use from now on: clean = 0 on disk before anything changes. */
static void load_mark_dirty(struct bs_load_ctx *c)
{
	c->bs->sb.clean = false;
	blob_bs_write_super(c->bs, false, load_done, c);
}

static void load_recovered(void *ctx, int rc)
{
	struct bs_load_ctx *c = ctx;

	if (rc != 0) {
		load_fail(c, rc);
		return;
	}
	load_mark_dirty(c);
}

static void load_recover(struct bs_load_ctx *c)
{
	c->bs->recovered = true;
	blob_recover(c->bs, &c->hint, load_recovered, c);
}

static void load_relations_scanned(void *ctx, int rc)
{
	struct bs_load_ctx *c = ctx;

	if (rc != 0) {
		load_fail(c, rc);
		return;
	}
	if (c->pending) {
		/* Only recovery can settle a version marked pending. */
		BRISK_NOTICELOG("blobstore load: an operation was cut short; rebuilding the masks");
		load_recover(c);
		return;
	}
	load_mark_dirty(c);
}

static bool mask_crc_ok(struct bs_load_ctx *c, const struct blob_mask_loc *m, uint64_t nbits)
{
	const uint8_t *p = c->buf + (m->start - 2) * BLOB_PAGE_SIZE;

	return brisk_crc32c(p, (nbits + 7) / 8) == m->crc;
}

static const uint8_t *mask_bytes(struct bs_load_ctx *c, const struct blob_mask_loc *m)
{
	return c->buf + (m->start - 2) * BLOB_PAGE_SIZE;
}

/* Which mask fails its CRC, NULL when all three hold. */
static const char *load_bad_mask(struct bs_load_ctx *c)
{
	struct brisk_blob_store *bs = c->bs;
	struct blob_super *sb = &bs->sb;

	if (!mask_crc_ok(c, &sb->chain_mask, bs->num_chain_pages)) {
		return "chain-page";
	}
	if (!mask_crc_ok(c, &sb->cluster_mask, bs->num_clusters)) {
		return "cluster";
	}
	return mask_crc_ok(c, &sb->id_mask, sb->num_blob_ids) ? NULL : "blob-id";
}

/* Dirty load: what the last clean unload recorded, for recovery to find
 * blobs that vanished since. */
static int load_keep_hint(struct bs_load_ctx *c)
{
	struct brisk_blob_store *bs = c->bs;

	c->hint.ids = brisk_bit_array_create(bs->sb.num_blob_ids);
	c->hint.clusters = brisk_bit_array_create((uint32_t)bs->num_clusters);
	if (c->hint.ids == NULL || c->hint.clusters == NULL) {
		return -ENOMEM;
	}
	brisk_bit_array_load_mask(c->hint.ids, mask_bytes(c, &bs->sb.id_mask));
	brisk_bit_array_load_mask(c->hint.clusters, mask_bytes(c, &bs->sb.cluster_mask));
	return 0;
}

static void load_dirty_masks(struct bs_load_ctx *c, const char *bad)
{
	int rc;

	if (bad != NULL) {
		BRISK_WARNLOG("blobstore load: the %s mask of the last clean unload fails its CRC; "
			      "recovery cannot tell which blobs existed then", bad);
	} else if ((rc = load_keep_hint(c)) != 0) {
		load_fail(c, rc);
		return;
	}
	load_recover(c);
}

static void load_masks_read(void *ctx, int rc)
{
	struct bs_load_ctx *c = ctx;
	struct brisk_blob_store *bs = c->bs;
	struct blob_super *sb = &bs->sb;
	const char *bad;

	if (rc != 0) {
		load_fail(c, rc);
		return;
	}
	bad = load_bad_mask(c);
	if (!sb->clean) {
		load_dirty_masks(c, bad);
		return;
	}
	if (bad != NULL && !bs->recover_damaged) {
		/* A clean unload wrote the masks with their CRCs: no torn write
		 * explains a mismatch. Rebuilding would free whatever the damaged
		 * metadata no longer shows. */
		BRISK_ERRLOG("blobstore load: the store was unloaded cleanly but its %s mask fails "
			     "its CRC: the metadata behind the super block is damaged; refusing to "
			     "load (nothing was written); load with recover_damaged to rebuild the "
			     "masks from what the metadata region still holds", bad);
		load_fail(c, -EUCLEAN);
		return;
	}
	if (bad != NULL) {
		BRISK_WARNLOG("blobstore load: the %s mask fails its CRC; rebuilding from the "
			      "metadata (recover_damaged)", bad);
		load_recover(c);
		return;
	}
	brisk_bit_array_load_mask(bs->used_chain_pages, mask_bytes(c, &sb->chain_mask));
	brisk_bit_array_load_mask(bs->used_clusters, mask_bytes(c, &sb->cluster_mask));
	brisk_bit_array_load_mask(bs->used_ids, mask_bytes(c, &sb->id_mask));
	blob_reserve_md_clusters(bs);
	bs->md_seq = sb->md_seq;
	blob_relations_scan(bs, &c->pending, load_relations_scanned, c);
}

static void load_super_read(void *ctx, int rc)
{
	struct bs_load_ctx *c = ctx;
	struct brisk_blob_store *bs = c->bs;
	uint64_t dev_bytes = bs->dev->blockcnt * bs->dev->blocklen;
	struct blob_super copy[2];
	int crc[2], best = -1;
	uint8_t zero[BRISK_BLOBSTORE_TYPE_LENGTH] = { 0 };

	if (rc != 0) {
		load_fail(c, rc);
		return;
	}
	for (int i = 0; i < 2; i++) {
		crc[i] = blob_super_decode(&copy[i], c->buf + (uint64_t)i * BLOB_PAGE_SIZE, dev_bytes);
		if (crc[i] == 0 && (best < 0 || copy[i].super_seq > copy[best].super_seq)) {
			best = i;
		}
	}
	if (best < 0) {
		/* Prefer the more telling error of the two copies. */
		rc = crc[0] != -EILSEQ ? crc[0] : crc[1];
		if (rc == -EILSEQ) {
			BRISK_ERRLOG("blobstore load: no valid super block on the device (magic or "
				     "CRC wrong in both copies)");
		}
		load_fail(c, rc);
		return;
	}
	if (crc[1 - best] != 0) {
		BRISK_WARNLOG("blobstore load: super block copy %c is damaged; using copy %c",
			      best ? 'A' : 'B', best ? 'B' : 'A');
	}
	bs->sb = copy[best];
	if (memcmp(c->want.bstype, zero, sizeof(zero)) != 0 &&
	    memcmp(c->want.bstype, bs->sb.bstype, BRISK_BLOBSTORE_TYPE_LENGTH) != 0) {
		BRISK_ERRLOG("blobstore load: bstype '%.16s' does not match the requested '%.16s'",
			     (const char *)bs->sb.bstype, c->want.bstype);
		load_fail(c, -EINVAL);
		return;
	}
	if (bs->sb.io_unit_size != bs->io_unit) {
		BRISK_ERRLOG("blobstore load: io unit size %u differs from the device block size %u",
			     bs->sb.io_unit_size, bs->io_unit);
		load_fail(c, -EINVAL);
		return;
	}
	rc = blob_bs_setup_from_super(bs);
	if (rc != 0) {
		load_fail(c, rc);
		return;
	}
	if (!bs->sb.clean) {
		BRISK_NOTICELOG("blobstore load: not shut down cleanly; rebuilding the masks");
	}
	blob_page_buf_free(c->buf);
	c->buf = blob_page_buf_alloc(bs->sb.md_start - 2);
	if (c->buf == NULL) {
		load_fail(c, -ENOMEM);
		return;
	}
	blob_md_read_pages(bs, 2, bs->sb.md_start - 2, c->buf, load_masks_read, c);
}

void brisk_bs_load(struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts,
		   brisk_bs_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct brisk_bs_opts o;
	struct bs_load_ctx *c;

	if (blob_bs_check_args("brisk_bs_load", dev, opts, cb_fn, cb_arg, &o) != 0) {
		return;
	}
	/* Loading only: init reports a device this small as -ENOSPC from its geometry. */
	if (dev->blockcnt < 2 * BLOB_PAGE_SIZE / dev->blocklen) {
		BRISK_ERRLOG("brisk_bs_load: device of %lu blocks of %u bytes cannot hold a store",
			     dev->blockcnt, dev->blocklen);
		dev->destroy(dev);
		blob_defer_handle_cb(cb_fn, cb_arg, -EINVAL);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->bs = blob_bs_alloc(dev, &o)) == NULL) {
		free(c);
		dev->destroy(dev);
		blob_defer_handle_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	c->want = o.bstype;
	c->bs->recover_damaged = o.recover_damaged;
	c->buf = blob_page_buf_alloc(2);
	if (c->buf == NULL) {
		load_fail(c, -ENOMEM);
		return;
	}
	blob_md_read_pages(c->bs, 0, 2, c->buf, load_super_read, c);
}

/* ---- Unload and destroy ---- */

struct unload_ctx {
	struct brisk_blob_store *bs;
	brisk_bs_op_complete cb;
	void *cb_arg;
	uint8_t *page;
	int step;
};

static void unload_written(void *ctx, int rc)
{
	struct unload_ctx *u = ctx;

	if (rc != 0) {
		/* The store stays dirty on disk; the next load recovers. */
		BRISK_ERRLOG("blobstore unload: writing the clean state failed: %d", rc);
	}
	blob_bs_free(u->bs, u->cb, u->cb_arg, rc);
	free(u);
}

static int unload_check(struct brisk_blob_store *bs, const char *what)
{
	struct brisk_blob *b;

	if (!blob_on_md_thread(bs)) {
		return -EINVAL;
	}
	if (bs->unloading) {
		BRISK_ERRLOG("%s: already unloading", what);
		return -EBUSY;
	}
	TAILQ_FOREACH(b, &bs->open_blobs, link) {
		if (!b->quarantined) {
			BRISK_ERRLOG("%s: blob 0x%lx is still open", what, b->id);
			return -EBUSY;
		}
	}
	if (bs->md_ops > 0 || bs->retiring > 0 || bs->relation_running ||
	    !TAILQ_EMPTY(&bs->relation_ops)) {
		BRISK_ERRLOG("%s: metadata operations are still running", what);
		return -EBUSY;
	}
	return 0;
}

/* Ids whose state only the disk knows (a create or relation operation cut
 * short by an I/O error) are left out of the mask the next load reads:
 * recovery finds them there as they are, and does not take them for blobs
 * that vanished. */
static void unload_drop_unsettled(struct brisk_blob_store *bs)
{
	struct brisk_blob *b;

	TAILQ_FOREACH(b, &bs->open_blobs, link) {
		if (b->quarantined) {
			bs->id_flags[b->id - 1] |= BLOB_ID_UNSETTLED;
		}
	}
	for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
		if (bs->id_flags[i] & BLOB_ID_UNSETTLED) {
			brisk_bit_array_clear(bs->used_ids, i);
		}
	}
}

void brisk_bs_unload(struct brisk_blob_store *bs, brisk_bs_op_complete cb_fn, void *cb_arg)
{
	struct unload_ctx *u;
	int rc;

	if (bs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("brisk_bs_unload: %s is NULL", bs == NULL ? "bs" : "cb_fn");
		if (cb_fn != NULL) {
			blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	rc = unload_check(bs, "brisk_bs_unload");
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	bs->unloading = true;
	unload_drop_unsettled(bs);
	blob_free_quarantined(bs);
	u->bs = bs;
	u->cb = cb_fn;
	u->cb_arg = cb_arg;
	/* After an I/O error in the middle of an operation, memory may not
	 * match the disk: let the next load rebuild from the metadata. */
	bs->sb.clean = !bs->needs_recovery && !bs->settle_at_load;
	if (bs->needs_recovery) {
		BRISK_WARNLOG("blobstore unload: an earlier I/O error left the store uncertain; "
			      "the next load will run recovery");
	} else if (bs->settle_at_load) {
		BRISK_WARNLOG("blobstore unload: a create that failed left an id only the disk can "
			      "settle; the next load will run recovery");
	}
	bs->sb.md_seq = bs->md_seq;
	blob_bs_write_super(bs, true, unload_written, u);
}

static void destroy_step(void *ctx, int rc)
{
	struct unload_ctx *u = ctx;

	if (rc != 0) {
		BRISK_ERRLOG("blobstore destroy: erasing the super block failed: %d", rc);
		goto done;
	}
	switch (u->step++) {
	case 0:
		blob_md_flush(u->bs, destroy_step, u);
		return;
	default:
		break;
	}
done:
	blob_page_buf_free(u->page);
	blob_bs_free(u->bs, u->cb, u->cb_arg, rc);
	free(u);
}

void brisk_bs_destroy(struct brisk_blob_store *bs, brisk_bs_op_complete cb_fn, void *cb_arg)
{
	struct unload_ctx *u = NULL;
	int rc;

	if (bs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("brisk_bs_destroy: %s is NULL", bs == NULL ? "bs" : "cb_fn");
		if (cb_fn != NULL) {
			blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	rc = unload_check(bs, "brisk_bs_destroy");
	if (rc == 0 && ((u = calloc(1, sizeof(*u))) == NULL ||
			(u->page = blob_page_buf_alloc(2)) == NULL)) {
		free(u);
		rc = -ENOMEM;
	}
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	bs->unloading = true;
	blob_free_quarantined(bs);
	u->bs = bs;
	u->cb = cb_fn;
	u->cb_arg = cb_arg;
	/* Both copies at once: a store without a valid super block is gone. */
	blob_md_write_pages(bs, 0, 2, u->page, destroy_step, u);
}

/* ---- Properties ---- */

uint64_t brisk_bs_get_cluster_size(struct brisk_blob_store *bs)
{
	return bs->sb.cluster_size;
}

uint64_t brisk_bs_get_page_size(struct brisk_blob_store *bs)
{
	(void)bs;
	return BLOB_PAGE_SIZE;
}

uint64_t brisk_bs_get_io_unit_size(struct brisk_blob_store *bs)
{
	return bs->io_unit;
}

uint64_t brisk_bs_free_cluster_count(struct brisk_blob_store *bs)
{
	return brisk_bit_array_count_clear(bs->used_clusters);
}

uint64_t brisk_bs_total_data_cluster_count(struct brisk_blob_store *bs)
{
	uint64_t reserved = ((bs->sb.md_start + bs->sb.md_len) * BLOB_PAGE_SIZE +
			     bs->sb.cluster_size - 1) / bs->sb.cluster_size;

	return bs->num_clusters - reserved;
}

struct brisk_bs_type brisk_bs_get_bstype(struct brisk_blob_store *bs)
{
	struct brisk_bs_type t;

	memcpy(t.bstype, bs->sb.bstype, sizeof(t.bstype));
	return t;
}

int brisk_bs_get_stats(struct brisk_blob_store *bs, struct brisk_bs_stats *stats)
{
	if (bs == NULL || stats == NULL) {
		BRISK_ERRLOG("brisk_bs_get_stats: %s is NULL", bs == NULL ? "bs" : "stats");
		return -EINVAL;
	}
	stats->num_clusters = bs->num_clusters;
	stats->free_clusters = brisk_bit_array_count_clear(bs->used_clusters);
	stats->num_blobs = brisk_bit_array_count_set(bs->used_ids);
	stats->max_blobs = bs->sb.num_blob_ids;
	stats->free_md_pages = brisk_bit_array_count_clear(bs->used_chain_pages);
	stats->recovered = bs->recovered;
	stats->damaged_blobs = 0;
	for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
		stats->damaged_blobs += (bs->id_flags[i] & BLOB_ID_DAMAGED) != 0;
	}
	stats->missing_blobs = bs->num_missing;
	stats->quarantined_clusters = bs->num_orphans;
	return 0;
}
