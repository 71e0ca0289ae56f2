/*
 * LUNs: opening a bdev as a LUN, and the removal sequence shared by hot
 * remove, brisk_scsi_dev_remove_lun and device destruction:
 *   1. mark removed (new tasks see LOGICAL UNIT NOT SUPPORTED), tell the
 *      owner, raise REPORTED LUNS DATA HAS CHANGED;
 *   2. ask every thread holding a channel for this LUN to put it;
 *   3. once no task runs and no channel is held, close the descriptor on
 *      the thread that opened it and free the LUN.
 */
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "scsi_internal.h"

static void lun_bdev_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	struct brisk_scsi_lun *lun = ctx;
	struct brisk_scsi_dev *dev = lun->dev;

	(void)bdev;
	pthread_mutex_lock(&dev->lock);
	if (type == BRISK_BDEV_EVENT_REMOVE && !lun->removed) {
		scsi_lun_start_remove(lun);
	} else if (type == BRISK_BDEV_EVENT_RESIZE) {
		scsi_ua_set_all(dev, lun->id, SCSI_UA_CAPACITY, NULL);
	}
	pthread_mutex_unlock(&dev->lock);
}

struct brisk_scsi_lun *scsi_lun_open(struct brisk_scsi_dev *dev, const char *bdev_name, int id,
				     brisk_scsi_dev_hotremove_cb cb, void *ctx)
{
	struct brisk_scsi_lun *lun;

	if (bdev_name == NULL || strlen(bdev_name) >= sizeof(lun->bdev_name)) {
		BRISK_ERRLOG("scsi dev '%s': bdev name missing or too long\n", dev->name);
		return NULL;
	}
	lun = calloc(1, sizeof(*lun));
	if (lun == NULL) {
		return NULL;
	}
	lun->dev = dev;
	lun->id = id;
	brisk_strlcpy(lun->bdev_name, bdev_name, sizeof(lun->bdev_name));
	TAILQ_INIT(&lun->tasks);
	TAILQ_INIT(&lun->caw_wait);
	if (brisk_bdev_open_ext(bdev_name, true, lun_bdev_event, lun, &lun->desc) != 0) {
		BRISK_ERRLOG("scsi dev '%s': cannot open bdev '%s'\n", dev->name, bdev_name);
		free(lun);
		return NULL;
	}
	lun->bdev = brisk_bdev_desc_get_bdev(lun->desc);
	lun->open_thread = brisk_get_thread();
	lun->hotremove_cb = cb;
	lun->hotremove_ctx = ctx;
	lun->wce = brisk_bdev_has_write_cache(lun->bdev);
	scsi_pr_load(lun);
	return lun;
}

static void chan_put_msg(void *ctx)
{
	struct scsi_chan *c = ctx;
	struct brisk_scsi_dev *dev = c->lun->dev;

	brisk_put_io_channel(c->ch);
	pthread_mutex_lock(&dev->lock);
	c->lun->chans--;
	scsi_lun_maybe_close(c->lun);
	pthread_mutex_unlock(&dev->lock);
	free(c);
}

/* Lock held. The records leave dev->chans now so free_io_channels cannot
 * free them while the message is on its way. */
static void lun_release_chans(struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_dev *dev = lun->dev;
	struct scsi_chan *c, *tmp;

	TAILQ_FOREACH_SAFE(c, &dev->chans, link, tmp) {
		if (c->lun != lun) {
			continue;
		}
		TAILQ_REMOVE(&dev->chans, c, link);
		if (brisk_thread_send_msg(c->thread, chan_put_msg, c) != 0) {
			BRISK_ERRLOG("scsi LUN %d: cannot release a channel\n", lun->id);
		}
	}
}

void scsi_lun_start_remove(struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_dev *dev = lun->dev;

	lun->removed = true;
	if (lun->hotremove_cb != NULL) {
		lun->hotremove_cb(lun, lun->hotremove_ctx);
	}
	if (!dev->destructing) {
		scsi_ua_set_all(dev, -1, SCSI_UA_LUNS_CHANGED, NULL);
	}
	lun_release_chans(lun);
	scsi_lun_maybe_close(lun);
}

static void lun_close_msg(void *ctx)
{
	struct brisk_scsi_lun *lun = ctx;
	struct brisk_scsi_dev *dev = lun->dev;

	brisk_bdev_close(lun->desc);
	pthread_mutex_lock(&dev->lock);
	TAILQ_REMOVE(&dev->luns, lun, link);
	scsi_dev_maybe_free(dev);
	pthread_mutex_unlock(&dev->lock);
	free(lun);
}

void scsi_lun_maybe_close(struct brisk_scsi_lun *lun)
{
	if (!lun->removed || lun->outstanding > 0 || lun->chans > 0 || lun->desc == NULL) {
		return;
	}
	if (brisk_thread_send_msg(lun->open_thread, lun_close_msg, lun) != 0) {
		BRISK_ERRLOG("scsi LUN %d: cannot send the close\n", lun->id);
		return;
	}
	lun->chans = UINT32_MAX;  /* close is on its way: never send it twice */
}
