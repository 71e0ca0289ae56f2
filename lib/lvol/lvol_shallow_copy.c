/*
 * Shallow copy (SPDK's bdev_lvol_start_shallow_copy): the clusters a
 * read-only lvol has allocated itself go to another device at the same byte
 * offsets, one cluster at a time through one cluster-sized DMA buffer:
 *
 *   checks -> for each allocated cluster: read it from the blob (the
 *   store's metadata channel) -> write it to dst -> report progress ->
 *   next -> done (lvol no longer busy).
 *
 * The lvol is marked busy for the whole copy, so it cannot be deleted or
 * changed under it; being read-only, its clusters do not change either.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "lvol_internal.h"

struct shallow_copy_ctx {
	struct brisk_lvol *lvol;
	struct brisk_bs_dev *dst;
	struct brisk_io_channel *dst_ch;
	struct brisk_bs_dev_cb_args dst_args;
	void *buf;
	uint64_t cluster_sz;
	uint64_t next; /* cluster index to look at next */
	uint64_t copied;
	uint64_t total;
	brisk_lvol_copy_progress progress_fn;
	brisk_lvol_op_complete cb_fn;
	void *cb_arg;
};

static void copy_next(struct shallow_copy_ctx *c);

static void copy_finish(struct shallow_copy_ctx *c, int rc)
{
	struct brisk_lvol *lvol = c->lvol;

	lvol->busy = false;
	if (rc != 0) {
		BRISK_ERRLOG("lvol %s: shallow copy failed after %lu of %lu clusters: %s\n", lvol->name, c->copied,
			     c->total, strerror(-rc));
	} else {
		BRISK_NOTICELOG("lvol %s/%s: shallow copy done (%lu clusters)\n", lvol->lvs->name, lvol->name,
				c->copied);
	}
	c->dst->destroy_channel(c->dst, c->dst_ch);
	brisk_free(c->buf);
	c->cb_fn(c->cb_arg, rc);
	free(c);
}

static void copy_written(struct brisk_io_channel *ch, void *arg, int rc)
{
	struct shallow_copy_ctx *c = arg;

	(void)ch;
	if (rc != 0) {
		copy_finish(c, rc);
		return;
	}
	c->copied++;
	c->next++;
	if (c->progress_fn != NULL) {
		c->progress_fn(c->cb_arg, c->copied, c->total);
	}
	copy_next(c);
}

static void copy_read(void *arg, int rc)
{
	struct shallow_copy_ctx *c = arg;
	uint64_t lba = c->next * c->cluster_sz / c->dst->blocklen;

	if (rc != 0) {
		copy_finish(c, rc);
		return;
	}
	c->dst_args.cb_fn = copy_written;
	c->dst_args.cb_arg = c;
	c->dst_args.channel = c->dst_ch;
	c->dst->write(c->dst, c->dst_ch, c->buf, lba, (uint32_t)(c->cluster_sz / c->dst->blocklen), &c->dst_args);
}

static void copy_next(struct shallow_copy_ctx *c)
{
	struct brisk_blob *blob = c->lvol->blob;
	uint64_t io_unit = brisk_bs_get_io_unit_size(c->lvol->lvs->bs);
	uint64_t n = brisk_blob_get_num_clusters(blob);

	while (c->next < n && !brisk_blob_cluster_is_allocated(blob, c->next)) {
		c->next++;
	}
	if (c->next >= n) {
		copy_finish(c, 0);
		return;
	}
	brisk_blob_io_read(blob, c->lvol->lvs->md_channel, c->buf, c->next * c->cluster_sz / io_unit,
			   c->cluster_sz / io_unit, copy_read, c);
}

static int copy_check(struct brisk_lvol *lvol, struct brisk_bs_dev *dst, uint64_t cluster_sz)
{
	uint64_t size = brisk_blob_get_num_clusters(lvol->blob) * cluster_sz;

	if (lvol->state != LVOL_READY || lvol->busy || lvol->lvs->busy) {
		BRISK_ERRLOG("lvol %s: cannot shallow copy: another operation is running on it\n", lvol->name);
		return -EBUSY;
	}
	if (!brisk_blob_is_read_only(lvol->blob)) {
		BRISK_ERRLOG("lvol %s: shallow copy needs a read-only lvol (a snapshot, or set read-only)\n",
			     lvol->name);
		return -EPERM;
	}
	if (dst->blocklen == 0 || cluster_sz % dst->blocklen != 0) {
		BRISK_ERRLOG("lvol %s: shallow copy: the destination's block size %u does not divide the "
			     "cluster size %lu\n",
			     lvol->name, dst->blocklen, cluster_sz);
		return -EINVAL;
	}
	if (dst->blockcnt * dst->blocklen < size) {
		BRISK_ERRLOG("lvol %s: shallow copy: the destination (%lu bytes) is smaller than the lvol "
			     "(%lu bytes)\n",
			     lvol->name, dst->blockcnt * dst->blocklen, size);
		return -EINVAL;
	}
	return 0;
}

static struct shallow_copy_ctx *copy_begin(struct brisk_lvol *lvol, struct brisk_bs_dev *dst, int *rc)
{
	struct shallow_copy_ctx *c = calloc(1, sizeof(*c));

	*rc = -ENOMEM;
	if (c == NULL) {
		return NULL;
	}
	c->cluster_sz = brisk_bs_get_cluster_size(lvol->lvs->bs);
	c->buf = brisk_dma_malloc(c->cluster_sz, 4096, NULL);
	c->dst_ch = c->buf != NULL ? dst->create_channel(dst) : NULL;
	if (c->dst_ch == NULL) {
		brisk_free(c->buf);
		free(c);
		return NULL;
	}
	*rc = 0;
	return c;
}

void brisk_lvol_shallow_copy(struct brisk_lvol *lvol, struct brisk_bs_dev *dst, brisk_lvol_copy_progress progress_fn,
			     brisk_lvol_op_complete cb_fn, void *cb_arg)
{
	struct shallow_copy_ctx *c = NULL;
	int rc = copy_check(lvol, dst, brisk_bs_get_cluster_size(lvol->lvs->bs));

	if (rc == 0 && brisk_blob_get_num_allocated_clusters(lvol->blob) == 0) {
		BRISK_NOTICELOG("lvol %s: shallow copy: no cluster of its own, nothing to copy\n", lvol->name);
	} else if (rc == 0) {
		c = copy_begin(lvol, dst, &rc);
	}
	if (c == NULL) {
		lvol_defer_op(cb_fn, cb_arg, rc);
		return;
	}
	c->lvol = lvol;
	c->dst = dst;
	c->total = brisk_blob_get_num_allocated_clusters(lvol->blob);
	c->progress_fn = progress_fn;
	c->cb_fn = cb_fn;
	c->cb_arg = cb_arg;
	lvol->busy = true;
	BRISK_NOTICELOG("lvol %s/%s: shallow copy of %lu clusters started\n", lvol->lvs->name, lvol->name, c->total);
	copy_next(c); /* the first read completes later: nothing runs inline */
}
