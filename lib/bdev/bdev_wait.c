/*
 * Waiting for a free brisk_bdev_io (brisk_bdev_queue_io_wait), and the
 * per-thread retry poller.
 *
 * Waiters are served when an I/O is freed on their thread (it lands in the
 * thread's cache). A thread whose waiters nothing would wake (its own I/Os are
 * all gone, the pool was drained by other threads) has a timed poller that
 * moves objects from the shared pool into its cache; the poller exists only
 * while something waits, so an idle thread never polls for it.
 */
#include <errno.h>

#include <brisk/log.h>

#include "bdev_internal.h"

void bdev_mgmt_wake_io_waiters(struct bdev_mgmt_channel *m)
{
	struct brisk_bdev_io_wait_entry *entry;

	while (m->io_cache_count > 0 && (entry = TAILQ_FIRST(&m->io_wait_queue)) != NULL) {
		TAILQ_REMOVE(&m->io_wait_queue, entry, link);
		entry->cb_fn(entry->cb_arg);
	}
}

static int bdev_mgmt_retry_poll(void *arg)
{
	struct bdev_mgmt_channel *m = arg;
	bool busy = false;
	void *obj;

	if (!TAILQ_EMPTY(&m->io_wait_queue) && m->io_cache_count == 0 &&
	    brisk_mempool_get(g_bdev_mgr.io_pool, &obj) == 0) {
		STAILQ_INSERT_HEAD(&m->io_cache, (struct bdev_io_priv *)obj, cache_link);
		m->io_cache_count++;
		bdev_mgmt_wake_io_waiters(m);
		busy = true;
	}
	if (!TAILQ_EMPTY(&m->buf_wait_queue)) {
		struct bdev_io_priv *first = TAILQ_FIRST(&m->buf_wait_queue);

		bdev_mgmt_retry_buf_waiters(m);
		busy = busy || TAILQ_FIRST(&m->buf_wait_queue) != first;
	}
	if (TAILQ_EMPTY(&m->io_wait_queue) && TAILQ_EMPTY(&m->buf_wait_queue)) {
		brisk_poller_unregister(&m->retry_poller);
	}
	return busy ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

void bdev_mgmt_start_retry_poller(struct bdev_mgmt_channel *m)
{
	if (m->retry_poller == NULL) {
		m->retry_poller = brisk_poller_register_named(bdev_mgmt_retry_poll, m, BDEV_RETRY_POLL_US,
							      "bdev_wait_retry");
	}
}

void bdev_queue_io_wait_internal(struct bdev_mgmt_channel *m, struct brisk_bdev_io_wait_entry *entry)
{
	TAILQ_INSERT_TAIL(&m->io_wait_queue, entry, link);
	bdev_mgmt_start_retry_poller(m);
}

int brisk_bdev_queue_io_wait(struct brisk_bdev *bdev, struct brisk_io_channel *_ch,
			     struct brisk_bdev_io_wait_entry *entry)
{
	struct bdev_channel *ch;

	if (bdev == NULL || _ch == NULL || entry == NULL || entry->cb_fn == NULL) {
		BRISK_ERRLOG("queue_io_wait: bdev, channel, entry and entry->cb_fn are required\n");
		return -EINVAL;
	}
	if (brisk_io_channel_get_io_device(_ch) != bdev_to_io_device(bdev)) {
		BRISK_ERRLOG("queue_io_wait: the channel is not one of bdev %s\n", bdev->name);
		return -EINVAL;
	}
	ch = brisk_io_channel_get_ctx(_ch);
	if (ch->mgmt->io_cache_count > 0) {
		BRISK_ERRLOG("queue_io_wait on bdev %s while I/Os are free: submit again instead\n", bdev->name);
		return -EINVAL;
	}
	entry->bdev = bdev;
	bdev_queue_io_wait_internal(ch->mgmt, entry);
	return 0;
}
