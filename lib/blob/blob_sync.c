/* Atomic metadata sync of one blob, and delete tombstones
 * (doc/blobstore_format.md, "Atomic sync").
 *
 * sync: start -> serialize -> write_chain (if any) -> flush_chain ->
 *       write_head -> flush_head -> commit (free the old chain and released
 *       clusters) -> complete (and start a queued sync if one is waiting).
 * The flush before the head is never skipped, even with no chain pages: the
 * head makes current data written before the sync (a new cluster's fill,
 * a file's pages before its new size), and a device with a volatile cache
 * may persist the head before writes it has not been told to flush.
 * Syncs of one blob never overlap: a request made while one runs waits for
 * the next round, which serializes the metadata as it is then. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

struct sync_ctx {
	struct brisk_blob *blob;
	struct blob_sync_waiters waiters;
	uint8_t *pages;
	uint32_t npages;
	uint32_t *chain;        /* chain[0] unused (head), chain[1..] chain-page indices */
	uint32_t nchain;        /* chain pages allocated (given back on failure) */
	uint32_t pending;       /* chain writes in flight */
	int rc;
	int slot;
	uint64_t seq;
	/* HEAD_PAIRS, the other slot's content unknown (first version of the
	 * id since the load): a tombstone goes there first, with the chain, so
	 * that the new head has a page to name as the one it replaced. */
	bool pre_tomb;
	uint64_t *released;
	uint64_t released_len;
};

static void sync_start(struct brisk_blob *blob);
static void sync_start_msg(void *ctx);

static void sync_complete(struct sync_ctx *c)
{
	struct brisk_blob *blob = c->blob;
	struct blob_sync_waiter *w;

	blob_page_buf_free(c->pages);
	free(c->chain);
	free(c->released);
	blob->syncing = false;
	/* Requests that came during this sync need another round. It is
	 * scheduled before the callbacks run because a callback may free the
	 * blob (close and create do, once nothing is scheduled). */
	if (!TAILQ_EMPTY(&blob->sync_queued) && !blob->sync_scheduled) {
		if (brisk_thread_send_msg(brisk_get_thread(), sync_start_msg, blob) == 0) {
			blob->sync_scheduled = true;
		} else {
			sync_start(blob);
		}
	}
	while ((w = TAILQ_FIRST(&c->waiters)) != NULL) {
		TAILQ_REMOVE(&c->waiters, w, link);
		w->cb_fn(w->cb_arg, c->rc);
		free(w);
	}
	free(c);
}

/* The new version did not land (or may not have): keep the old one in memory. */
static void sync_fail(struct sync_ctx *c, int rc)
{
	struct brisk_blob *blob = c->blob;

	BRISK_ERRLOG("blob 0x%lx: metadata sync failed: %d", blob->id, rc);
	blob_free_chain_pages(blob->bs, c->chain + 1, c->nchain);
	/* Clusters released by a shrink stay owned until a sync succeeds. */
	for (uint64_t i = 0; i < c->released_len; i++) {
		if (blob->released_len == blob->released_cap) {
			uint64_t cap = blob->released_cap ? blob->released_cap * 2 : 16;
			uint64_t *p = realloc(blob->released, cap * sizeof(*p));

			if (p == NULL) {
				/* Leaks the cluster until the next load rebuilds the masks. */
				BRISK_ERRLOG("blob 0x%lx: out of memory keeping released cluster %lu",
					     blob->id, c->released[i]);
				continue;
			}
			blob->released = p;
			blob->released_cap = cap;
		}
		blob->released[blob->released_len++] = c->released[i];
	}
	blob->dirty = true;
	c->rc = rc;
	sync_complete(c);
}

static void sync_commit(struct sync_ctx *c)
{
	struct brisk_blob *blob = c->blob;
	struct brisk_blob_store *bs = blob->bs;

	/* The new head is durable: the old chain and released clusters are free. */
	blob_free_chain_pages(bs, blob->chain_pages, blob->chain_len);
	free(blob->chain_pages);
	blob->chain_len = c->npages - 1;
	blob->chain_pages = NULL;
	if (blob->chain_len > 0) {
		blob->chain_pages = malloc(blob->chain_len * sizeof(uint32_t));
		if (blob->chain_pages == NULL) {
			/* The pages stay marked used (a leak until the next dirty load). */
			BRISK_ERRLOG("blob 0x%lx: out of memory recording its chain", blob->id);
			blob->chain_len = 0;
		} else {
			memcpy(blob->chain_pages, c->chain + 1, blob->chain_len * sizeof(uint32_t));
		}
	}
	for (uint64_t i = 0; i < c->released_len; i++) {
		blob_free_cluster(bs, c->released[i]);
	}
	bs->id_slot[blob->id - 1] = (int8_t)c->slot;
	bs->id_seq[blob->id - 1] = c->seq;
	/* Commit point passed: the durable version now records this parent. */
	bs->parent_of[blob->id - 1] = blob->md.parent_id;
	c->rc = 0;
	sync_complete(c);
}

static void sync_flush_head_done(void *ctx, int rc)
{
	struct sync_ctx *c = ctx;

	if (rc != 0) {
		sync_fail(c, rc);
		return;
	}
	sync_commit(c);
}

static void sync_write_head_done(void *ctx, int rc)
{
	struct sync_ctx *c = ctx;

	if (rc != 0) {
		sync_fail(c, rc);
		return;
	}
	blob_md_flush(c->blob->bs, sync_flush_head_done, c);
}

static void sync_write_head(struct sync_ctx *c)
{
	struct brisk_blob_store *bs = c->blob->bs;

	blob_md_write_pages(bs, blob_md_region_page(bs, blob_head_slot_index(c->blob->id, c->slot)), 1,
			    c->pages, sync_write_head_done, c);
}

static void sync_flush_chain_done(void *ctx, int rc)
{
	struct sync_ctx *c = ctx;

	if (rc != 0) {
		sync_fail(c, rc);
		return;
	}
	sync_write_head(c);
}

static void sync_chain_page_done(void *ctx, int rc)
{
	struct sync_ctx *c = ctx;

	if (rc != 0 && c->rc == 0) {
		c->rc = rc;
	}
	if (--c->pending > 0) {
		return;
	}
	if (c->rc != 0) {
		sync_fail(c, c->rc);
		return;
	}
	/* The chain (and data written before the sync) must be durable before
	 * the head that points to it. */
	blob_md_flush(c->blob->bs, sync_flush_chain_done, c);
}

static void sync_write_chain(struct sync_ctx *c)
{
	struct brisk_blob_store *bs = c->blob->bs;

	if (c->npages == 1 && !c->pre_tomb) {
		blob_md_flush(bs, sync_flush_chain_done, c);
		return;
	}
	c->pending = c->npages - 1 + (c->pre_tomb ? 1 : 0);
	if (c->pre_tomb) {
		blob_md_write_pages(bs, blob_md_region_page(bs, blob_head_slot_index(c->blob->id, 1)), 1,
				    c->pages + (uint64_t)c->npages * BLOB_PAGE_SIZE,
				    sync_chain_page_done, c);
	}
	for (uint32_t i = 1; i < c->npages; i++) {
		blob_md_write_pages(bs, blob_md_region_page(bs, blob_chain_index(bs, c->chain[i])), 1,
				    c->pages + (uint64_t)i * BLOB_PAGE_SIZE, sync_chain_page_done, c);
	}
}

static int sync_serialize(struct sync_ctx *c)
{
	struct brisk_blob *blob = c->blob;
	struct brisk_blob_store *bs = blob->bs;
	int cur = bs->id_slot[blob->id - 1];
	uint64_t prev;
	int rc;

	c->npages = blob_md_count_pages(&blob->md);
	c->pre_tomb = cur < 0 && (bs->sb.features & BLOB_FEATURE_HEAD_PAIRS);
	c->chain = calloc(c->npages, sizeof(uint32_t));
	c->pages = blob_page_buf_alloc(c->npages + 1);
	if (c->chain == NULL || c->pages == NULL) {
		return -ENOMEM;
	}
	if (c->npages > 1) {
		rc = blob_alloc_chain_pages(bs, c->npages - 1, c->chain + 1);
		if (rc != 0) {
			BRISK_ERRLOG("blob 0x%lx: no free metadata pages for %u chain pages", blob->id,
				     c->npages - 1);
			return rc;
		}
		c->nchain = c->npages - 1;
	}
	/* Write the slot that does not hold the current version. */
	c->slot = cur < 0 ? 0 : 1 - cur;
	prev = cur < 0 ? 0 : bs->id_seq[blob->id - 1];
	if (c->pre_tomb) {
		prev = ++bs->md_seq;
		blob_md_encode_tombstone(blob->id, prev, 0, &bs->sb.uuid,
					 c->pages + (uint64_t)c->npages * BLOB_PAGE_SIZE);
	}
	c->seq = ++bs->md_seq;
	blob_md_encode(&blob->md, blob->id, c->seq, prev, &bs->sb.uuid, c->chain, c->npages,
		       c->pages);
	c->released = blob->released;
	c->released_len = blob->released_len;
	blob->released = NULL;
	blob->released_len = blob->released_cap = 0;
	blob->dirty = false;
	return 0;
}

static void sync_start(struct brisk_blob *blob)
{
	struct sync_ctx *c = calloc(1, sizeof(*c));
	struct blob_sync_waiter *w;
	int rc;

	if (c == NULL) {
		while ((w = TAILQ_FIRST(&blob->sync_queued)) != NULL) {
			TAILQ_REMOVE(&blob->sync_queued, w, link);
			blob_defer_cb(w->cb_fn, w->cb_arg, -ENOMEM);
			free(w);
		}
		return;
	}
	TAILQ_INIT(&c->waiters);
	while ((w = TAILQ_FIRST(&blob->sync_queued)) != NULL) {
		TAILQ_REMOVE(&blob->sync_queued, w, link);
		TAILQ_INSERT_TAIL(&c->waiters, w, link);
	}
	c->blob = blob;
	blob->syncing = true;
	rc = sync_serialize(c);
	if (rc != 0) {
		blob->dirty = true;
		c->rc = rc;
		sync_complete(c);
		return;
	}
	sync_write_chain(c);
}

static void sync_start_msg(void *ctx)
{
	struct brisk_blob *blob = ctx;

	blob->sync_scheduled = false;
	if (!blob->syncing && !TAILQ_EMPTY(&blob->sync_queued)) {
		sync_start(blob);
	}
}

void blob_sync(struct brisk_blob *blob, brisk_blob_op_complete cb_fn, void *cb_arg)
{
	struct blob_sync_waiter *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	w->cb_fn = cb_fn;
	w->cb_arg = cb_arg;
	TAILQ_INSERT_TAIL(&blob->sync_queued, w, link);
	/* Started from a message so that no callback runs inside the caller. */
	if (!blob->syncing && !blob->sync_scheduled) {
		if (brisk_thread_send_msg(brisk_get_thread(), sync_start_msg, blob) == 0) {
			blob->sync_scheduled = true;
		} else {
			TAILQ_REMOVE(&blob->sync_queued, w, link);
			free(w);
			blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		}
	}
}

/* ---- Tombstones: first_slot (commit point) -> flush -> other slot -> flush ---- */

struct tomb_ctx {
	struct brisk_blob_store *bs;
	brisk_blob_id id;
	int slot;        /* slot being written */
	uint64_t seq;    /* of the tombstone being written */
	int step;        /* 0: first tombstone, 1: second */
	uint8_t *page;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void tomb_write(struct tomb_ctx *t);

static void tomb_done(struct tomb_ctx *t, int rc)
{
	blob_page_buf_free(t->page);
	t->cb(t->cb_ctx, rc);
	free(t);
}

static void tomb_flush_done(void *ctx, int rc)
{
	struct tomb_ctx *t = ctx;

	if (rc != 0) {
		tomb_done(t, rc);
		return;
	}
	t->bs->id_slot[t->id - 1] = (int8_t)t->slot;
	t->bs->id_seq[t->id - 1] = t->seq;
	t->bs->parent_of[t->id - 1] = 0; /* the id is free: no relation left */
	if (t->step == 1) {
		tomb_done(t, 0);
		return;
	}
	t->step = 1;
	t->slot = 1 - t->slot;
	tomb_write(t);
}

static void tomb_write_done(void *ctx, int rc)
{
	struct tomb_ctx *t = ctx;

	if (rc != 0) {
		tomb_done(t, rc);
		return;
	}
	blob_md_flush(t->bs, tomb_flush_done, t);
}

static void tomb_write(struct tomb_ctx *t)
{
	struct brisk_blob_store *bs = t->bs;

	uint64_t prev = bs->id_slot[t->id - 1] < 0 ? 0 : bs->id_seq[t->id - 1];

	t->seq = ++bs->md_seq;
	blob_md_encode_tombstone(t->id, t->seq, prev, &bs->sb.uuid, t->page);
	blob_md_write_pages(bs, blob_md_region_page(bs, blob_head_slot_index(t->id, t->slot)), 1,
			    t->page, tomb_write_done, t);
}

void blob_write_tombstones(struct brisk_blob_store *bs, brisk_blob_id id, blob_md_io_cb cb, void *ctx)
{
	struct tomb_ctx *t = calloc(1, sizeof(*t));
	int cur = bs->id_slot[id - 1];

	if (t == NULL || (t->page = blob_page_buf_alloc(1)) == NULL) {
		free(t);
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	t->bs = bs;
	t->id = id;
	t->slot = cur < 0 ? 0 : 1 - cur;
	t->cb = cb;
	t->cb_ctx = ctx;
	tomb_write(t);
}
