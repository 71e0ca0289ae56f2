/*
 * brisk_bdev_module_close_base: the one teardown of a vbdev's base
 * descriptor. A descriptor must be closed on the thread that opened it; a
 * vbdev learns its channels are gone on whichever thread ran last, and an
 * ordinary message there can fail (pool or ring full), which used to close
 * the descriptor on the wrong thread. The message here lives in the
 * descriptor itself, so sending it cannot fail for want of memory.
 */
#include <brisk/log.h>

#include "bdev_internal.h"

static void close_base_run(void *arg)
{
	struct brisk_bdev_desc *desc = arg;
	brisk_msg_fn done = desc->close_done;
	void *ctx = desc->close_ctx;

	/* Read before the close: it may free desc. */
	brisk_bdev_module_release_bdev(desc->bdev);
	brisk_bdev_close(desc);
	if (done != NULL) {
		done(ctx);
	}
}

void brisk_bdev_module_close_base(struct brisk_bdev_desc *desc, brisk_msg_fn done, void *ctx)
{
	int rc;

	desc->close_done = done;
	desc->close_ctx = ctx;
	rc = brisk_thread_send_msg_slot(desc->thread, &desc->close_slot, close_base_run, desc);
	if (rc == 0) {
		return;
	}
	/* The opening thread has exited: no thread is left to close it on. */
	BRISK_WARNLOG("bdev %s: the thread that opened its descriptor is gone (%d); closing here\n",
		      desc->bdev->name, rc);
	rc = brisk_thread_send_msg_slot(brisk_get_thread(), &desc->close_slot, close_base_run, desc);
	if (rc != 0) {
		close_base_run(desc);
	}
}
