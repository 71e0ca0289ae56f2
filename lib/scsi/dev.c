/*
 * SCSI devices: construction and destruction, the LUN table (hot add and
 * remove) and the per-thread bdev channels. Initiators and unit
 * attentions are in itn.c, task execution and management in exec.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "scsi_internal.h"

struct brisk_scsi_lun *scsi_dev_find_lun(struct brisk_scsi_dev *dev, int id)
{
	struct brisk_scsi_lun *lun;

	TAILQ_FOREACH(lun, &dev->luns, link) {
		if (lun->id == id) {
			return lun;
		}
	}
	return NULL;
}

static int dev_free_lun_id(struct brisk_scsi_dev *dev)
{
	int id;

	for (id = 0; id < BRISK_SCSI_DEV_MAX_LUN; id++) {
		if (scsi_dev_find_lun(dev, id) == NULL) {
			return id;
		}
	}
	return -ENOSPC;
}

/* Keeps dev->luns in id order (REPORT LUNS and listings read it as is). */
static void dev_insert_lun(struct brisk_scsi_dev *dev, struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_lun *it;

	TAILQ_FOREACH(it, &dev->luns, link) {
		if (it->id > lun->id) {
			TAILQ_INSERT_BEFORE(it, lun, link);
			return;
		}
	}
	TAILQ_INSERT_TAIL(&dev->luns, lun, link);
}

static int dev_add_lun_locked(struct brisk_scsi_dev *dev, const char *bdev_name, int lun_id,
			      brisk_scsi_dev_hotremove_cb cb, void *ctx)
{
	struct brisk_scsi_lun *lun;

	if (lun_id < -1 || lun_id >= BRISK_SCSI_DEV_MAX_LUN) {
		BRISK_ERRLOG("scsi dev '%s': lun_id %d out of range 0..%d\n", dev->name, lun_id,
			     BRISK_SCSI_DEV_MAX_LUN - 1);
		return -EINVAL;
	}
	if (lun_id == -1) {
		lun_id = dev_free_lun_id(dev);
		if (lun_id < 0) {
			return lun_id;
		}
	} else if (scsi_dev_find_lun(dev, lun_id) != NULL) {
		BRISK_ERRLOG("scsi dev '%s': lun_id %d already in use\n", dev->name, lun_id);
		return -EEXIST;
	}
	lun = scsi_lun_open(dev, bdev_name, lun_id, cb, ctx);
	if (lun == NULL) {
		return -ENODEV;
	}
	dev_insert_lun(dev, lun);
	return lun_id;
}

struct brisk_scsi_dev *brisk_scsi_dev_construct(const char *name, const char *const bdev_names[],
						const int lun_ids[], int num_luns,
						brisk_scsi_dev_hotremove_cb hotremove_cb,
						void *hotremove_ctx)
{
	struct brisk_scsi_dev *dev;
	pthread_mutexattr_t attr;
	int i;

	if (name == NULL || name[0] == '\0' || strlen(name) > BRISK_SCSI_DEV_MAX_NAME) {
		BRISK_ERRLOG("scsi dev: name must be 1..%d characters\n", BRISK_SCSI_DEV_MAX_NAME);
		return NULL;
	}
	if (num_luns < 0 || num_luns > BRISK_SCSI_DEV_MAX_LUN || (num_luns > 0 &&
			(bdev_names == NULL || lun_ids == NULL))) {
		BRISK_ERRLOG("scsi dev '%s': num_luns %d invalid\n", name, num_luns);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return NULL;
	}
	brisk_strlcpy(dev->name, name, sizeof(dev->name));
	pthread_mutexattr_init(&attr);
	/* Recursive: a hot-remove callback may call back into the device. */
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	TAILQ_INIT(&dev->luns);
	TAILQ_INIT(&dev->chans);
	for (i = 0; i < num_luns; i++) {
		if (lun_ids[i] < 0 || dev_add_lun_locked(dev, bdev_names[i], lun_ids[i], hotremove_cb,
				hotremove_ctx) < 0) {
			BRISK_ERRLOG("scsi dev '%s': LUN %d on '%s' refused\n", name, lun_ids[i],
				     bdev_names[i] ? bdev_names[i] : "(null)");
			brisk_scsi_dev_destruct(dev, NULL, NULL);
			return NULL;
		}
	}
	return dev;
}

const char *brisk_scsi_dev_get_name(const struct brisk_scsi_dev *dev)
{
	return dev->name;
}

int brisk_scsi_dev_add_lun(struct brisk_scsi_dev *dev, const char *bdev_name, int lun_id,
			   brisk_scsi_dev_hotremove_cb hotremove_cb, void *hotremove_ctx)
{
	int rc;

	pthread_mutex_lock(&dev->lock);
	rc = dev->destructing ? -ENODEV :
	     dev_add_lun_locked(dev, bdev_name, lun_id, hotremove_cb, hotremove_ctx);
	if (rc >= 0) {
		scsi_ua_set_all(dev, -1, SCSI_UA_LUNS_CHANGED, NULL);
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int brisk_scsi_dev_remove_lun(struct brisk_scsi_dev *dev, int lun_id)
{
	struct brisk_scsi_lun *lun;

	pthread_mutex_lock(&dev->lock);
	lun = scsi_dev_find_lun(dev, lun_id);
	if (lun == NULL || lun->removed) {
		pthread_mutex_unlock(&dev->lock);
		return -ENODEV;
	}
	scsi_lun_start_remove(lun);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

struct brisk_scsi_lun *brisk_scsi_dev_get_lun(struct brisk_scsi_dev *dev, int lun_id)
{
	struct brisk_scsi_lun *lun;

	pthread_mutex_lock(&dev->lock);
	lun = scsi_dev_find_lun(dev, lun_id);
	if (lun != NULL && lun->removed) {
		lun = NULL;
	}
	pthread_mutex_unlock(&dev->lock);
	return lun;
}

static struct brisk_scsi_lun *first_live(struct brisk_scsi_lun *lun)
{
	while (lun != NULL && lun->removed) {
		lun = TAILQ_NEXT(lun, link);
	}
	return lun;
}

struct brisk_scsi_lun *brisk_scsi_dev_get_first_lun(struct brisk_scsi_dev *dev)
{
	return first_live(TAILQ_FIRST(&dev->luns));
}

struct brisk_scsi_lun *brisk_scsi_dev_get_next_lun(struct brisk_scsi_lun *prev)
{
	return first_live(TAILQ_NEXT(prev, link));
}

int brisk_scsi_lun_get_id(const struct brisk_scsi_lun *lun)
{
	return lun->id;
}

const char *brisk_scsi_lun_get_bdev_name(const struct brisk_scsi_lun *lun)
{
	return lun->bdev_name;
}

struct brisk_scsi_dev *brisk_scsi_lun_get_dev(const struct brisk_scsi_lun *lun)
{
	return lun->dev;
}

void brisk_scsi_lun_set_write_protect(struct brisk_scsi_lun *lun, bool wp)
{
	if (lun == NULL) {
		return;
	}
	pthread_mutex_lock(&lun->dev->lock);
	lun->write_protect = wp;
	pthread_mutex_unlock(&lun->dev->lock);
}

bool brisk_scsi_lun_is_write_protected(const struct brisk_scsi_lun *lun) { return lun->write_protect; }

void brisk_scsi_lun_set_removable(struct brisk_scsi_lun *lun, bool removable)
{
	if (lun == NULL) {
		return;
	}
	pthread_mutex_lock(&lun->dev->lock);
	lun->removable = removable;
	lun->ejected = lun->ejected && removable; /* a fixed disk always has its medium */
	pthread_mutex_unlock(&lun->dev->lock);
}

bool brisk_scsi_lun_is_removable(const struct brisk_scsi_lun *lun) { return lun->removable; }

/* ---- Destruction ---- */

static void dev_free(struct brisk_scsi_dev *dev)
{
	brisk_scsi_dev_destruct_cb cb = dev->destruct_cb;
	void *arg = dev->destruct_arg;

	pthread_mutex_destroy(&dev->lock);
	free(dev);
	if (cb != NULL) {
		cb(arg, 0);
	}
}

static void dev_free_msg(void *ctx)
{
	dev_free(ctx);
}

/* Called with dev->lock held after a LUN left the table. */
void scsi_dev_maybe_free(struct brisk_scsi_dev *dev)
{
	if (!dev->destructing || !TAILQ_EMPTY(&dev->luns)) {
		return;
	}
	if (brisk_thread_send_msg(dev->destruct_thread, dev_free_msg, dev) != 0) {
		BRISK_ERRLOG("scsi dev '%s': cannot send the final free\n", dev->name);
	}
}

void brisk_scsi_dev_destruct(struct brisk_scsi_dev *dev, brisk_scsi_dev_destruct_cb cb_fn,
			     void *cb_arg)
{
	struct brisk_scsi_lun *lun, *tmp;

	pthread_mutex_lock(&dev->lock);
	dev->destructing = true;
	dev->destruct_cb = cb_fn;
	dev->destruct_arg = cb_arg;
	dev->destruct_thread = brisk_get_thread();
	if (TAILQ_EMPTY(&dev->luns)) {
		scsi_dev_maybe_free(dev);
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	TAILQ_FOREACH_SAFE(lun, &dev->luns, link, tmp) {
		if (!lun->removed) {
			lun->hotremove_cb = NULL;
			scsi_lun_start_remove(lun);
		}
	}
	pthread_mutex_unlock(&dev->lock);
}

/* ---- Channels ---- */

int brisk_scsi_dev_allocate_io_channels(struct brisk_scsi_dev *dev)
{
	struct brisk_scsi_lun *lun;
	struct scsi_chan *c;
	int rc = 0;

	pthread_mutex_lock(&dev->lock);
	TAILQ_FOREACH(lun, &dev->luns, link) {
		if (lun->removed) {
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c != NULL) {
			c->ch = brisk_bdev_get_io_channel(lun->desc);
		}
		if (c == NULL || c->ch == NULL) {
			free(c);
			rc = -ENOMEM;
			break;
		}
		c->thread = brisk_get_thread();
		c->lun = lun;
		lun->chans++;
		TAILQ_INSERT_TAIL(&dev->chans, c, link);
	}
	pthread_mutex_unlock(&dev->lock);
	if (rc != 0) {
		brisk_scsi_dev_free_io_channels(dev);
	}
	return rc;
}

void brisk_scsi_dev_free_io_channels(struct brisk_scsi_dev *dev)
{
	struct brisk_thread *me = brisk_get_thread();
	struct scsi_chan *c, *tmp;

	pthread_mutex_lock(&dev->lock);
	TAILQ_FOREACH_SAFE(c, &dev->chans, link, tmp) {
		if (c->thread != me) {
			continue;
		}
		TAILQ_REMOVE(&dev->chans, c, link);
		brisk_put_io_channel(c->ch);
		c->lun->chans--;
		scsi_lun_maybe_close(c->lun);
		free(c);
	}
	pthread_mutex_unlock(&dev->lock);
}
