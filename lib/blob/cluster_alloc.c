/* Giving a blob a cluster of its own at one index, on the metadata thread:
 * the first write of a thin blob or clone, and inflate/decouple.
 *
 * alloc: (already allocated? done) -> (another request for the index?
 *        follow it) -> take a free cluster -> fill it (the data of a write
 *        that covers the whole cluster; else the nearest ancestor's copy:
 *        read whole, write whole; or zeroes) -> record it as pending ->
 *        sync the blob's metadata (commit point) -> publish -> done (this
 *        request and its followers).
 *
 * A crash before the sync leaves the cluster unreferenced (free after
 * recovery), and the write that filled it unacknowledged; after it, the
 * cluster holds the data the blob read there before, or that write's.
 * Until the sync completes, I/O threads see the entry as pending and treat
 * it as unallocated (reads still get the old contents). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

static void alloc_finish(struct blob_alloc_req *r, int rc)
{
	struct blob_alloc_req *f;

	TAILQ_REMOVE(&r->blob->alloc_reqs, r, link);
	while ((f = TAILQ_FIRST(&r->followers)) != NULL) {
		TAILQ_REMOVE(&r->followers, f, link);
		f->done(f, rc);
	}
	r->done(r, rc);
}

/* A full store or device fails every write to a new cluster: one log site
 * for all of them, rate-limited. */
static struct brisk_log_ratelimit g_alloc_err_log = BRISK_LOG_RATELIMIT_DEFAULT;

static void alloc_synced(void *ctx, int rc)
{
	struct blob_alloc_req *r = ctx;
	struct brisk_blob *b = r->blob;
	bool ours = r->index < b->md.num_clusters &&
		    b->md.clusters[r->index] == (r->cluster | BLOB_CLUSTER_PENDING);

	if (rc != 0) {
		BRISK_ERRLOG_RATELIMIT(&g_alloc_err_log, "blob 0x%lx: metadata sync after allocating "
				       "cluster %lu failed: %s", b->id, r->index, strerror(-rc));
		if (ours) {
			/* The version naming the cluster may be on disk or not: keep
			 * the cluster reserved (the next load decides) but stop using
			 * it, so the next sync drops it from the blob. */
			b->md.clusters[r->index] = 0;
			b->dirty = true;
			b->bs->needs_recovery = true;
		}
		alloc_finish(r, rc);
		return;
	}
	if (ours) {
		/* release: the cluster's contents and metadata are durable before
		 * any I/O thread that sees the number uses it. */
		__atomic_store_n(&b->md.clusters[r->index], r->cluster, __ATOMIC_RELEASE);
		r->data_in = r->data_iov != NULL;
	}
	alloc_finish(r, 0);
}

static void alloc_filled(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct blob_alloc_req *r = cb_arg;
	struct brisk_blob *b = r->blob;

	(void)ch;
	if (r->copy_buf != NULL) {
		blob_page_buf_free(r->copy_buf);
		r->copy_buf = NULL;
	}
	if (rc != 0) {
		BRISK_ERRLOG_RATELIMIT(&g_alloc_err_log, "blob 0x%lx: %s new cluster %lu failed: %s", b->id,
				       r->data_iov != NULL ? "writing a whole-cluster write into" : "filling",
				       r->cluster, strerror(-rc));
		blob_free_cluster(b->bs, r->cluster);
		alloc_finish(r, rc);
		return;
	}
	if (r->index >= b->md.num_clusters || b->md.clusters[r->index] != 0) {
		/* Shrunk meanwhile, or given a cluster another way: give ours back
		 * (a write whose data was in it then goes to that cluster). */
		blob_free_cluster(b->bs, r->cluster);
		alloc_finish(r, r->index >= b->md.num_clusters ? -EINVAL : 0);
		return;
	}
	/* Serialized with the pending mark cleared (see blob_md_encode); I/O
	 * threads still see it pending until the sync completes. */
	b->md.clusters[r->index] = r->cluster | BLOB_CLUSTER_PENDING;
	b->dirty = true;
	blob_sync(b, alloc_synced, r);
}

static void alloc_copy_read(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct blob_alloc_req *r = cb_arg;
	struct brisk_blob_store *bs = r->blob->bs;
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);
	uint64_t per = bs->io_units_per_cluster;

	(void)ch;
	if (rc != 0) {
		alloc_filled(NULL, r, rc);
		return;
	}
	r->args.cb_fn = alloc_filled;
	r->args.cb_arg = r;
	r->args.channel = bch->dev_ch;
	bs->dev->write(bs->dev, bch->dev_ch, r->copy_buf, r->cluster * per, (uint32_t)per, &r->args);
}

static void alloc_fill(struct blob_alloc_req *r)
{
	struct brisk_blob_store *bs = r->blob->bs;
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);
	uint64_t per = bs->io_units_per_cluster;
	uint64_t source = blob_backing_cluster(r->blob, r->index);

	r->args.cb_arg = r;
	r->args.channel = bch->dev_ch;
	if (r->data_iov != NULL) {
		/* The write overwrites every block of the cluster: nothing of the
		 * copy or the zeroes would survive it, so its data is the fill. */
		r->args.cb_fn = alloc_filled;
		bs->dev->writev(bs->dev, bch->dev_ch, r->data_iov, r->data_iovcnt, r->cluster * per,
				(uint32_t)per, &r->args);
		return;
	}
	if (source == 0) {
		/* The rest of the cluster must read zeroes, as it did before. */
		r->args.cb_fn = alloc_filled;
		bs->dev->write_zeroes(bs->dev, bch->dev_ch, r->cluster * per, per, &r->args);
		return;
	}
	r->copy_buf = blob_page_buf_alloc(bs->pages_per_cluster);
	if (r->copy_buf == NULL) {
		alloc_filled(NULL, r, -ENOMEM);
		return;
	}
	r->args.cb_fn = alloc_copy_read;
	bs->dev->read(bs->dev, bch->dev_ch, r->copy_buf, source * per, (uint32_t)per, &r->args);
}

void blob_cluster_alloc(struct blob_alloc_req *r)
{
	struct brisk_blob *b = r->blob;
	struct blob_alloc_req *l;
	uint64_t cur;

	TAILQ_INIT(&r->followers);
	if (r->index >= b->md.num_clusters) {
		r->done(r, -EINVAL);
		return;
	}
	cur = b->md.clusters[r->index];
	if (cur != 0 && !(cur & BLOB_CLUSTER_PENDING)) {
		r->done(r, 0); /* allocated by an earlier request */
		return;
	}
	TAILQ_FOREACH(l, &b->alloc_reqs, link) {
		if (l->index == r->index) {
			/* One allocation per cluster: wait for the one running. */
			TAILQ_INSERT_TAIL(&l->followers, r, link);
			return;
		}
	}
	r->cluster = blob_alloc_cluster(b->bs);
	if (r->cluster == 0) {
		BRISK_ERRLOG_RATELIMIT(&g_alloc_err_log, "blob 0x%lx: no free cluster for cluster %lu",
				       b->id, r->index);
		r->done(r, -ENOSPC);
		return;
	}
	TAILQ_INSERT_TAIL(&b->alloc_reqs, r, link);
	alloc_fill(r);
}
