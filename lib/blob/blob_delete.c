/* Delete of a blob and iteration over all blobs.
 *
 * delete: check -> (the blob has clones: the delete of a snapshot into its
 *         clone, snapshot_delete.c) -> load_version into a placeholder
 *         handle -> tombstones (commit) -> clear clusters -> free chain
 *         pages, clusters and id -> done. Until the tombstone lands the blob
 *         is intact on disk; after it nothing refers to its clusters. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

struct brisk_blob *blob_placeholder_new(struct brisk_blob_store *bs, brisk_blob_id id)
{
	struct brisk_blob *b = blob_new(bs, id);

	if (b != NULL) {
		b->deleting = true;
		TAILQ_INSERT_TAIL(&bs->open_blobs, b, link);
	}
	return b;
}

/* ---- The end of every delete: tombstones -> clear -> free ---- */

struct remove_ctx {
	struct brisk_blob *blob;     /* placeholder in open_blobs, deleting = true */
	blob_md_io_cb cb;
	void *cb_ctx;
	uint64_t next;               /* next blob cluster to clear */
	struct brisk_bs_dev_cb_args args;
};

static void remove_clear_next(struct remove_ctx *c);

static void remove_done(struct remove_ctx *c, int rc)
{
	struct brisk_blob *b = c->blob;
	blob_md_io_cb cb = c->cb;
	void *cb_ctx = c->cb_ctx;

	TAILQ_REMOVE(&b->bs->open_blobs, b, link);
	blob_free_handle(b);
	free(c);
	cb(cb_ctx, rc);
}

static void remove_free_all(struct remove_ctx *c)
{
	struct brisk_blob_store *bs = c->blob->bs;
	struct blob_md *md = &c->blob->md;

	blob_free_chain_pages(bs, c->blob->chain_pages, c->blob->chain_len);
	for (uint64_t i = 0; i < md->num_clusters; i++) {
		if (md->clusters[i] != 0) {
			blob_free_cluster(bs, md->clusters[i]);
		}
	}
	blob_free_id(bs, c->blob->id);
	remove_done(c, 0);
}

static void remove_cleared(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct remove_ctx *c = cb_arg;

	(void)ch;
	if (rc != 0) {
		/* Clearing is hygiene, not correctness: the blob is already gone. */
		BRISK_WARNLOG("blob delete: clearing clusters of blob 0x%lx failed: %d", c->blob->id,
			      rc);
	}
	remove_clear_next(c);
}

/* One device operation per run of consecutive clusters. */
static void remove_clear_next(struct remove_ctx *c)
{
	struct brisk_blob_store *bs = c->blob->bs;
	struct blob_md *md = &c->blob->md;
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);
	uint64_t first, n = 1, per = bs->io_units_per_cluster;

	while (c->next < md->num_clusters && md->clusters[c->next] == 0) {
		c->next++;
	}
	if (c->next >= md->num_clusters || md->clear_method == BRISK_BLOB_CLEAR_WITH_NONE) {
		remove_free_all(c);
		return;
	}
	first = md->clusters[c->next];
	while (c->next + n < md->num_clusters && md->clusters[c->next + n] == first + n) {
		n++;
	}
	c->next += n;
	c->args.cb_fn = remove_cleared;
	c->args.cb_arg = c;
	c->args.channel = bch->dev_ch;
	if (md->clear_method == BRISK_BLOB_CLEAR_WITH_WRITE_ZEROES) {
		bs->dev->write_zeroes(bs->dev, bch->dev_ch, first * per, n * per, &c->args);
	} else {
		bs->dev->unmap(bs->dev, bch->dev_ch, first * per, n * per, &c->args);
	}
}

static void remove_tombstoned(void *ctx, int rc)
{
	struct remove_ctx *c = ctx;

	if (rc != 0) {
		/* Maybe deleted on disk, maybe not: keep everything reserved. */
		BRISK_ERRLOG("blob delete: tombstone of blob 0x%lx failed (%d); its clusters stay "
			     "reserved until the store is reloaded", c->blob->id, rc);
		remove_done(c, rc);
		return;
	}
	if (c->blob->bs->id_flags[c->blob->id - 1] & BLOB_ID_CONFLICT) {
		/* What it names may be another blob's: neither cleared nor freed. */
		BRISK_WARNLOG("blob delete: blob 0x%lx shared clusters or metadata pages with another "
			      "blob; they stay reserved (run check to see them)", c->blob->id);
		blob_free_id(c->blob->bs, c->blob->id);
		remove_done(c, 0);
		return;
	}
	remove_clear_next(c);
}

void blob_remove_placeholder(struct brisk_blob *b, blob_md_io_cb cb, void *ctx)
{
	struct remove_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		TAILQ_REMOVE(&b->bs->open_blobs, b, link);
		blob_free_handle(b);
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	c->blob = b;
	c->cb = cb;
	c->cb_ctx = ctx;
	blob_write_tombstones(b->bs, b->id, remove_tombstoned, c);
}

/* ---- Delete of a blob without clones ---- */

struct delete_ctx {
	struct brisk_blob_store *bs;
	struct brisk_blob *blob;     /* freed by blob_remove_placeholder */
	brisk_blob_op_complete cb;
	void *cb_arg;
};

static void delete_done(void *ctx, int rc)
{
	struct delete_ctx *c = ctx;

	blob_md_op_end(c->bs);
	c->cb(c->cb_arg, rc);
	free(c);
}

static void delete_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct delete_ctx *c = ctx;
	struct brisk_blob *b = c->blob;

	if (rc == 0 && !res->present) {
		rc = -ENOENT;
	}
	if (rc == 0 && (res->md.flags & BLOB_FLAG_READ_ONLY) && b->bs->num_missing > 0) {
		/* Its clones are unknown while a blob is missing: it may be the
		 * snapshot the missing one reads through. */
		BRISK_ERRLOG("blob delete: blob 0x%lx is read-only and may be the snapshot of one of "
			     "the %u missing blob(s); delete those first", b->id, b->bs->num_missing);
		rc = -EBUSY;
	}
	if (rc != 0) {
		BRISK_ERRLOG("blob delete: blob 0x%lx cannot be read: %d", b->id, rc);
		blob_loaded_free(res);
		TAILQ_REMOVE(&b->bs->open_blobs, b, link);
		blob_free_handle(b);
		delete_done(c, rc);
		return;
	}
	blob_take_loaded(b, res);
	blob_loaded_free(res);
	blob_remove_placeholder(b, delete_done, c);
}

void brisk_bs_delete_blob(struct brisk_blob_store *bs, brisk_blob_id blobid,
			  brisk_blob_op_complete cb_fn, void *cb_arg)
{
	struct delete_ctx *c;
	struct brisk_blob *b;
	int rc;

	if (bs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("blob delete: %s is NULL", bs == NULL ? "bs" : "cb_fn");
		if (cb_fn != NULL) {
			blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	if (!blob_id_valid(bs, blobid)) {
		BRISK_ERRLOG("blob delete: id 0x%lx is not a valid blob id", blobid);
		blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		return;
	}
	b = blob_find_open(bs, blobid);
	if (b != NULL) {
		BRISK_ERRLOG("blob delete: blob 0x%lx is %s", blobid, b->deleting ? "being deleted" : "open");
		blob_defer_cb(cb_fn, cb_arg, -EBUSY);
		return;
	}
	if (!brisk_bit_array_get(bs->used_ids, (uint32_t)(blobid - 1))) {
		blob_defer_cb(cb_fn, cb_arg, -ENOENT);
		return;
	}
	if (bs->id_flags[blobid - 1] & BLOB_ID_MISSING) {
		blob_delete_missing(bs, blobid, cb_fn, cb_arg);
		return;
	}
	if (blob_count_clones(bs, blobid) > 0) {
		blob_delete_snapshot(bs, blobid, cb_fn, cb_arg);
		return;
	}
	rc = blob_md_op_begin(bs, "blob delete");
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	c = calloc(1, sizeof(*c));
	b = blob_placeholder_new(bs, blobid);
	if (c == NULL || b == NULL) {
		free(c);
		if (b != NULL) {
			TAILQ_REMOVE(&bs->open_blobs, b, link);
			blob_free_handle(b);
		}
		blob_md_op_end(bs);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->blob = b;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	blob_load_version(bs, blobid, delete_loaded, c);
}

/* ---- Iteration ---- */

struct iter_ctx {
	struct brisk_blob_store *bs;
	uint32_t start;              /* id index to look from */
	brisk_blob_op_with_handle_complete cb;
	void *cb_arg;
	struct brisk_blob *blob;
	int rc;
};

static void iter_open_next(struct iter_ctx *it);

static void iter_reply_msg(void *ctx)
{
	struct iter_ctx *it = ctx;

	it->cb(it->cb_arg, it->blob, it->rc);
	free(it);
}

static void iter_reply(struct iter_ctx *it, struct brisk_blob *blob, int rc)
{
	it->blob = blob;
	it->rc = rc;
	if (brisk_thread_send_msg(brisk_get_thread(), iter_reply_msg, it) != 0) {
		iter_reply_msg(it);
	}
}

static void iter_opened(void *ctx, struct brisk_blob *blob, int rc)
{
	struct iter_ctx *it = ctx;

	if (rc == -ENOENT) {
		/* Deleted between the mask lookup and the open: skip it. */
		iter_open_next(it);
		return;
	}
	iter_reply(it, blob, rc);
}

static void iter_open_next(struct iter_ctx *it)
{
	uint32_t i = brisk_bit_array_find_first_set(it->bs->used_ids, it->start);

	if (i == BRISK_BIT_ARRAY_NONE) {
		iter_reply(it, NULL, -ENOENT);
		return;
	}
	it->start = i + 1;
	brisk_bs_open_blob(it->bs, (brisk_blob_id)i + 1, iter_opened, it);
}

static struct iter_ctx *iter_new(struct brisk_blob_store *bs, brisk_blob_op_with_handle_complete cb_fn,
				 void *cb_arg, uint32_t start)
{
	struct iter_ctx *it = calloc(1, sizeof(*it));

	if (it != NULL) {
		it->bs = bs;
		it->cb = cb_fn;
		it->cb_arg = cb_arg;
		it->start = start;
	}
	return it;
}

void brisk_bs_iter_first(struct brisk_blob_store *bs, brisk_blob_op_with_handle_complete cb_fn,
			 void *cb_arg)
{
	struct iter_ctx *it;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("blob iter_first: cb_fn is NULL");
		return;
	}
	it = iter_new(bs, cb_fn, cb_arg, 0);
	if (it == NULL) {
		BRISK_ERRLOG("blob iter_first: out of memory");
		return;
	}
	if (bs == NULL || !blob_on_md_thread(bs)) {
		BRISK_ERRLOG("blob iter_first: bs is NULL or not on its metadata thread");
		iter_reply(it, NULL, -EINVAL);
		return;
	}
	iter_open_next(it);
}

static void iter_closed(void *ctx, int rc)
{
	struct iter_ctx *it = ctx;

	if (rc != 0) {
		iter_reply(it, NULL, rc);
		return;
	}
	iter_open_next(it);
}

void brisk_bs_iter_next(struct brisk_blob_store *bs, struct brisk_blob *blob,
			brisk_blob_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct iter_ctx *it;

	if (cb_fn == NULL) {
		BRISK_ERRLOG("blob iter_next: cb_fn is NULL");
		return;
	}
	it = iter_new(bs, cb_fn, cb_arg, 0);
	if (it == NULL) {
		BRISK_ERRLOG("blob iter_next: out of memory");
		return;
	}
	if (bs == NULL || blob == NULL || blob->bs != bs) {
		BRISK_ERRLOG("blob iter_next: bs or blob is NULL, or the blob is of another store");
		iter_reply(it, NULL, -EINVAL);
		return;
	}
	it->start = (uint32_t)blob->id; /* index of the next id */
	brisk_blob_close(blob, iter_closed, it);
}
