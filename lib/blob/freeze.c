/* Freezing a blob's I/O while its cluster map or parent changes under it
 * (snapshot, the end of inflate/decouple, the delete of a snapshot into its
 * clone).
 *
 * freeze: frozen++ -> visit every channel's thread: from then on no I/O of
 *         the blob starts there (it waits on the channel's frozen list), and
 *         the visit moves on only once the channel has none of the blob's
 *         I/O in flight -> done.
 * unfreeze: frozen-- -> (at 0) visit every channel: start the I/O it held.
 *
 * Each channel's in-flight list belongs to its thread, so the I/O path
 * touches nothing shared but a read of blob->frozen. That flag is written
 * on the metadata thread and read by I/O threads when they start a request;
 * while the blob is frozen and drained no I/O thread touches its cluster
 * map or backing, so the metadata thread changes them with plain stores,
 * published by the release store of frozen = 0 and the visit messages. */
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
	struct freeze_ctx *f = brisk_io_channel_iter_get_ctx(i);
	struct blob_channel *ch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));

	if (!blob_channel_has_inflight(ch, f->blob)) {
		brisk_for_each_channel_continue(i, 0);
		return;
	}
	/* The channel's last I/O of the blob moves the walk on. */
	ch->drain_blob = f->blob;
	ch->drain_iter = i;
}

void blob_channel_check_drained(struct blob_channel *ch)
{
	struct brisk_io_channel_iter *i = ch->drain_iter;

	if (blob_channel_has_inflight(ch, ch->drain_blob)) {
		return;
	}
	ch->drain_blob = NULL;
	ch->drain_iter = NULL;
	brisk_for_each_channel_continue(i, 0);
}

static void freeze_visited(struct brisk_io_channel_iter *i, int status)
{
	struct freeze_ctx *f = brisk_io_channel_iter_get_ctx(i);

	(void)status;
	f->cb(f->cb_ctx, 0);
	free(f);
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

static void unfreeze_visit(struct brisk_io_channel_iter *i)
{
	struct freeze_ctx *u = brisk_io_channel_iter_get_ctx(i);

	blob_channel_release_frozen(brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i)),
				    u->blob);
	brisk_for_each_channel_continue(i, 0);
}

void blob_unfreeze_io(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx)
{
	struct freeze_ctx *u;

	/* release: the new cluster map and backing are visible to any I/O
	 * thread that sees the blob unfrozen. */
	if (__atomic_sub_fetch(&blob->frozen, 1, __ATOMIC_RELEASE) > 0) {
		blob_defer_cb(cb, ctx, 0);
		return;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		/* The held I/O would wait forever: better to stop loudly. */
		BRISK_ERRLOG("blob 0x%lx: out of memory releasing frozen I/O", blob->id);
		abort();
	}
	u->blob = blob;
	u->cb = cb;
	u->cb_ctx = ctx;
	brisk_for_each_channel(blob->bs, unfreeze_visit, u, freeze_visited);
}
