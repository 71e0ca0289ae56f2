/* Freezing a blob's I/O while its cluster map or parent changes under it
 * (snapshot, the end of inflate/decouple, the delete of a snapshot into its
 * clone).
 *
 * freeze: frozen++ -> visit every channel's thread (after the visit, no
 *         thread can start I/O on the blob without seeing frozen) -> wait
 *         until the I/O already started has completed -> done.
 * unfreeze: frozen-- -> (at 0) visit every channel: resubmit the I/O it held.
 *
 * Cross-thread data: blob->frozen is written on the metadata thread and read
 * by I/O threads when they start a request; blob->io_inflight is changed by
 * I/O threads and read on the metadata thread. While the blob is frozen and
 * drained, no I/O thread touches the blob's cluster map or backing, so the
 * metadata thread changes them with plain stores; the release store of
 * frozen = 0 (and the visit messages) publish them. */
#include <errno.h>
#include <stdlib.h>

#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

struct freeze_ctx {
	struct brisk_blob *blob;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void freeze_visit(struct brisk_io_channel_iter *i)
{
	/* Nothing to do: running here orders this thread's earlier I/O starts
	 * (counted in io_inflight) before the metadata thread's check. */
	brisk_for_each_channel_continue(i, 0);
}

static void freeze_finish(struct freeze_ctx *f)
{
	blob_md_io_cb cb = f->cb;
	void *cb_ctx = f->cb_ctx;

	f->blob->drain_ctx = NULL;
	free(f);
	cb(cb_ctx, 0);
}

static void freeze_visited(struct brisk_io_channel_iter *i, int status)
{
	struct freeze_ctx *f = brisk_io_channel_iter_get_ctx(i);

	(void)status;
	/* acquire: the effects of completed I/O are visible before we go on. */
	if (__atomic_load_n(&f->blob->io_inflight, __ATOMIC_ACQUIRE) == 0) {
		freeze_finish(f);
		return;
	}
	/* The I/O that brings io_inflight to 0 sends blob_drain_msg. */
	f->blob->drain_ctx = f;
}

void blob_drain_msg(void *ctx)
{
	struct brisk_blob_store *bs = ctx;
	struct brisk_blob *b, *tmp;

	TAILQ_FOREACH_SAFE(b, &bs->open_blobs, link, tmp) {
		if (b->drain_ctx != NULL && __atomic_load_n(&b->io_inflight, __ATOMIC_ACQUIRE) == 0) {
			freeze_finish(b->drain_ctx);
		}
	}
	/* release: pairs with the acquire in unload_check. */
	__atomic_sub_fetch(&bs->drain_msgs, 1, __ATOMIC_RELEASE);
}

void blob_freeze_io(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx)
{
	struct freeze_ctx *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	f->blob = blob;
	f->cb = cb;
	f->cb_ctx = ctx;
	/* release: an I/O thread that sees frozen also sees everything the
	 * metadata thread did before freezing. */
	__atomic_add_fetch(&blob->frozen, 1, __ATOMIC_RELEASE);
	brisk_for_each_channel(blob->bs, freeze_visit, f, freeze_visited);
}

struct unfreeze_ctx {
	struct brisk_blob *blob;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void unfreeze_visit(struct brisk_io_channel_iter *i)
{
	struct unfreeze_ctx *u = brisk_io_channel_iter_get_ctx(i);

	blob_channel_release_frozen(brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i)),
				    u->blob);
	brisk_for_each_channel_continue(i, 0);
}

static void unfreeze_visited(struct brisk_io_channel_iter *i, int status)
{
	struct unfreeze_ctx *u = brisk_io_channel_iter_get_ctx(i);

	(void)status;
	u->cb(u->cb_ctx, 0);
	free(u);
}

void blob_unfreeze_io(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx)
{
	struct unfreeze_ctx *u = calloc(1, sizeof(*u));

	/* release: the new cluster map and backing are visible to any I/O
	 * thread that sees the blob unfrozen. */
	if (__atomic_sub_fetch(&blob->frozen, 1, __ATOMIC_RELEASE) > 0) {
		free(u);
		blob_defer_cb(cb, ctx, 0);
		return;
	}
	if (u == NULL) {
		/* The held I/O would wait forever: better to stop loudly. */
		BRISK_ERRLOG("blob 0x%lx: out of memory releasing frozen I/O", blob->id);
		abort();
	}
	u->blob = blob;
	u->cb = cb;
	u->cb_ctx = ctx;
	brisk_for_each_channel(blob->bs, unfreeze_visit, u, unfreeze_visited);
}
