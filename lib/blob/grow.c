/* Growing a store onto a device that got bigger: the super block's size
 * field decides how many clusters exist, so growing is one super block
 * update (A then B, each atomic by CRC + super_seq). The used-cluster mask
 * region was sized at init; growth beyond what it can describe is refused.
 * The masks on disk are only trusted after a clean unload, which rewrites
 * them at the new length, so they need no write here. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct grow_ctx {
	struct brisk_blob_store *bs;
	uint64_t old_size;
	uint64_t old_clusters;
	brisk_bs_op_complete cb;
	void *cb_arg;
};

static void grow_written(void *ctx, int rc)
{
	struct grow_ctx *g = ctx;
	struct brisk_blob_store *bs = g->bs;

	if (rc != 0) {
		/* Either size may be on disk; the in-memory store keeps the new
		 * one only if a later super block write succeeds, so go back. */
		BRISK_ERRLOG("blobstore grow: super block write failed (%d); staying at %lu clusters",
			     rc, g->old_clusters);
		bs->sb.size = g->old_size;
		bs->num_clusters = g->old_clusters;
		/* Shrinking the mask back cannot fail: the bits past the end are clear. */
		brisk_bit_array_resize(&bs->used_clusters, (uint32_t)g->old_clusters);
	} else {
		BRISK_NOTICELOG("blobstore grow: %lu -> %lu clusters", g->old_clusters,
				bs->num_clusters);
	}
	blob_md_op_end(bs);
	g->cb(g->cb_arg, rc);
	free(g);
}

void brisk_bs_grow_live(struct brisk_blob_store *bs, brisk_bs_op_complete cb_fn, void *cb_arg)
{
	struct grow_ctx *g;
	uint64_t dev_bytes, new_size, new_clusters, mask_bits;
	int rc;

	if (bs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("blobstore grow: %s is NULL", bs == NULL ? "bs" : "cb_fn");
		if (cb_fn != NULL) {
			blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	rc = blob_md_op_begin(bs, "blobstore grow");
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	dev_bytes = bs->dev->blockcnt * bs->dev->blocklen;
	new_size = dev_bytes / bs->sb.cluster_size * bs->sb.cluster_size;
	new_clusters = new_size / bs->sb.cluster_size;
	if (new_clusters <= bs->num_clusters) {
		blob_md_op_end(bs);
		blob_defer_cb(cb_fn, cb_arg, 0); /* nothing new (a smaller device is ignored) */
		return;
	}
	mask_bits = bs->sb.cluster_mask.len * BLOB_PAGE_SIZE * 8;
	if (new_clusters > mask_bits || new_clusters >= UINT32_MAX) {
		BRISK_ERRLOG("blobstore grow: %lu clusters do not fit the used-cluster mask (%lu bits); "
			     "the store was created with too few metadata pages", new_clusters,
			     mask_bits < UINT32_MAX ? mask_bits : UINT32_MAX);
		blob_md_op_end(bs);
		blob_defer_cb(cb_fn, cb_arg, -ENOSPC);
		return;
	}
	g = calloc(1, sizeof(*g));
	if (g == NULL || brisk_bit_array_resize(&bs->used_clusters, (uint32_t)new_clusters) != 0) {
		free(g);
		blob_md_op_end(bs);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	g->bs = bs;
	g->old_size = bs->sb.size;
	g->old_clusters = bs->num_clusters;
	g->cb = cb_fn;
	g->cb_arg = cb_arg;
	bs->sb.size = new_size;
	bs->num_clusters = new_clusters;
	blob_bs_write_super(bs, false, grow_written, g);
}

uint64_t brisk_bs_get_max_growable_size(struct brisk_blob_store *bs)
{
	/* The same limit brisk_bs_grow enforces: clusters the mask can describe. */
	uint64_t mask_bits = bs->sb.cluster_mask.len * BLOB_PAGE_SIZE * 8;
	uint64_t clusters = mask_bits < UINT32_MAX ? mask_bits : UINT32_MAX - 1;

	return clusters * bs->sb.cluster_size;
}
