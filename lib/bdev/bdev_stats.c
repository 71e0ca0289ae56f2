/*
 * Statistics: each channel counts its own completions (no sharing on the I/O
 * path); a bdev's figures are the totals of its closed channels plus a walk
 * over the open ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "bdev_internal.h"

void brisk_bdev_io_stat_clear(struct brisk_bdev_io_stat *stat)
{
	memset(stat, 0, sizeof(*stat));
	for (int t = 0; t < BRISK_BDEV_NUM_IO_TYPES; t++) {
		stat->min_latency_ticks[t] = UINT64_MAX;
	}
	stat->ticks_rate = brisk_get_ticks_hz();
}

static void stat_clear_maxmin(struct brisk_bdev_io_stat *stat)
{
	for (int t = 0; t < BRISK_BDEV_NUM_IO_TYPES; t++) {
		stat->max_latency_ticks[t] = 0;
		stat->min_latency_ticks[t] = UINT64_MAX;
	}
}

void brisk_bdev_io_stat_add(struct brisk_bdev_io_stat *dst, const struct brisk_bdev_io_stat *src)
{
	for (int t = 0; t < BRISK_BDEV_NUM_IO_TYPES; t++) {
		dst->num_ops[t] += src->num_ops[t];
		dst->bytes[t] += src->bytes[t];
		dst->latency_ticks[t] += src->latency_ticks[t];
		dst->num_errors[t] += src->num_errors[t];
		if (src->max_latency_ticks[t] > dst->max_latency_ticks[t]) {
			dst->max_latency_ticks[t] = src->max_latency_ticks[t];
		}
		if (src->min_latency_ticks[t] < dst->min_latency_ticks[t]) {
			dst->min_latency_ticks[t] = src->min_latency_ticks[t];
		}
	}
	for (int e = 0; e < BRISK_BDEV_IO_STATUS_ERROR_KINDS; e++) {
		dst->error_status[e] += src->error_status[e];
	}
	dst->ticks_rate = src->ticks_rate;
}

/* Slot in error_status: an NVMe error status counts as SPDK's nvme_error
 * (status -2) although the I/O completes with FAILED. */
static int stat_error_index(const struct bdev_io_priv *p)
{
	if (p->status == BRISK_BDEV_IO_STATUS_FAILED && p->has_nvme_status) {
		return 1;
	}
	if (p->status < 0 && p->status >= -BRISK_BDEV_IO_STATUS_ERROR_KINDS) {
		return -p->status - 1;
	}
	return 0;
}

/* A zero-copy read counts as a read when its data is lent, a zero-copy
 * write as a write when it is committed; the other halves as zcopy. */
static enum brisk_bdev_io_type stat_type(const struct bdev_io_priv *p)
{
	if (p->io.type != BRISK_BDEV_IO_TYPE_ZCOPY) {
		return p->io.type;
	}
	if (p->io.zcopy.start && p->io.zcopy.populate) {
		return BRISK_BDEV_IO_TYPE_READ;
	}
	if (!p->io.zcopy.start && p->io.zcopy.commit) {
		return BRISK_BDEV_IO_TYPE_WRITE;
	}
	return BRISK_BDEV_IO_TYPE_ZCOPY;
}

void bdev_stat_account(struct bdev_channel *ch, struct bdev_io_priv *p, uint64_t now)
{
	struct brisk_bdev_io_stat *s = &ch->stat;
	enum brisk_bdev_io_type t = stat_type(p);
	uint64_t lat = now > p->submit_tsc ? now - p->submit_tsc : 0;

	if (p->status != BRISK_BDEV_IO_STATUS_SUCCESS) {
		s->num_errors[t]++;
		s->error_status[stat_error_index(p)]++;
		return;
	}
	s->num_ops[t]++;
	if (t != BRISK_BDEV_IO_TYPE_FLUSH && t != BRISK_BDEV_IO_TYPE_RESET) {
		s->bytes[t] += p->io.u.num_blocks * p->io.bdev->blocklen;
	}
	s->latency_ticks[t] += lat;
	if (lat > s->max_latency_ticks[t]) {
		s->max_latency_ticks[t] = lat;
	}
	if (lat < s->min_latency_ticks[t]) {
		s->min_latency_ticks[t] = lat;
	}
}

void brisk_bdev_get_io_stat(struct brisk_bdev *bdev, struct brisk_io_channel *_ch,
			    struct brisk_bdev_io_stat *stat)
{
	struct bdev_channel *ch = brisk_io_channel_get_ctx(_ch);

	*stat = ch->stat;
}

struct stat_walk {
	struct brisk_bdev *bdev;
	struct brisk_bdev_io_stat *stat;
	brisk_bdev_get_device_stat_cb get_cb;
	brisk_bdev_reset_stat_cb reset_cb;
	bool maxmin_only;
	void *cb_arg;
};

static void stat_get_channel(struct brisk_io_channel_iter *i)
{
	struct stat_walk *w = brisk_io_channel_iter_get_ctx(i);
	struct bdev_channel *ch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));

	brisk_bdev_io_stat_add(w->stat, &ch->stat);
	brisk_for_each_channel_continue(i, 0);
}

static void stat_get_done(struct brisk_io_channel_iter *i, int status)
{
	struct stat_walk *w = brisk_io_channel_iter_get_ctx(i);

	w->get_cb(w->bdev, w->stat, w->cb_arg, status);
	free(w);
}

void brisk_bdev_get_device_stat(struct brisk_bdev *bdev, struct brisk_bdev_io_stat *stat,
				brisk_bdev_get_device_stat_cb cb, void *cb_arg)
{
	struct stat_walk *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		cb(bdev, stat, cb_arg, -ENOMEM);
		return;
	}
	w->bdev = bdev;
	w->stat = stat;
	w->get_cb = cb;
	w->cb_arg = cb_arg;
	pthread_mutex_lock(&g_bdev_mgr.lock);
	*stat = bdev->internal->stat;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	brisk_for_each_channel(bdev_to_io_device(bdev), stat_get_channel, w, stat_get_done);
}

static void stat_reset_channel(struct brisk_io_channel_iter *i)
{
	struct stat_walk *w = brisk_io_channel_iter_get_ctx(i);
	struct bdev_channel *ch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));

	if (w->maxmin_only) {
		stat_clear_maxmin(&ch->stat);
	} else {
		brisk_bdev_io_stat_clear(&ch->stat);
	}
	brisk_for_each_channel_continue(i, 0);
}

static void stat_reset_done(struct brisk_io_channel_iter *i, int status)
{
	struct stat_walk *w = brisk_io_channel_iter_get_ctx(i);

	if (w->reset_cb != NULL) {
		w->reset_cb(w->bdev, w->cb_arg, status);
	}
	free(w);
}

void bdev_reset_device_stat_ext(struct brisk_bdev *bdev, bool maxmin_only, brisk_bdev_reset_stat_cb cb,
				void *cb_arg)
{
	struct stat_walk *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		if (cb != NULL) {
			cb(bdev, cb_arg, -ENOMEM);
		}
		return;
	}
	w->bdev = bdev;
	w->reset_cb = cb;
	w->cb_arg = cb_arg;
	w->maxmin_only = maxmin_only;
	pthread_mutex_lock(&g_bdev_mgr.lock);
	if (maxmin_only) {
		stat_clear_maxmin(&bdev->internal->stat);
	} else {
		brisk_bdev_io_stat_clear(&bdev->internal->stat);
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	brisk_for_each_channel(bdev_to_io_device(bdev), stat_reset_channel, w, stat_reset_done);
}

void brisk_bdev_reset_device_stat(struct brisk_bdev *bdev, brisk_bdev_reset_stat_cb cb, void *cb_arg)
{
	bdev_reset_device_stat_ext(bdev, false, cb, cb_arg);
}

static void dump_type(json_t *obj, const struct brisk_bdev_io_stat *s, enum brisk_bdev_io_type t,
		      const char *bytes_key, const char *ops_key, const char *lat_prefix)
{
	char key[64];

	if (bytes_key != NULL) {
		json_object_set_new(obj, bytes_key, json_integer((json_int_t)s->bytes[t]));
	}
	json_object_set_new(obj, ops_key, json_integer((json_int_t)s->num_ops[t]));
	snprintf(key, sizeof(key), "%s_latency_ticks", lat_prefix);
	json_object_set_new(obj, key, json_integer((json_int_t)s->latency_ticks[t]));
	snprintf(key, sizeof(key), "max_%s_latency_ticks", lat_prefix);
	json_object_set_new(obj, key, json_integer((json_int_t)s->max_latency_ticks[t]));
	snprintf(key, sizeof(key), "min_%s_latency_ticks", lat_prefix);
	json_object_set_new(obj, key, json_integer((json_int_t)(s->min_latency_ticks[t] == UINT64_MAX ?
					0 : s->min_latency_ticks[t])));
}

void brisk_bdev_io_stat_dump_json(const struct brisk_bdev_io_stat *s, json_t *obj)
{
	/* SPDK's names for bdev I/O statuses -1 .. -8, the keys of its io_error. */
	static const char *const names[BRISK_BDEV_IO_STATUS_ERROR_KINDS] = {
		"failed", "nvme_error", "scsi_error", "nomem", "miscompare",
		"first_fused_failed", "aborted", "aio_error",
	};
	json_t *err = json_object();

	dump_type(obj, s, BRISK_BDEV_IO_TYPE_READ, "bytes_read", "num_read_ops", "read");
	dump_type(obj, s, BRISK_BDEV_IO_TYPE_WRITE, "bytes_written", "num_write_ops", "write");
	dump_type(obj, s, BRISK_BDEV_IO_TYPE_UNMAP, "bytes_unmapped", "num_unmap_ops", "unmap");
	dump_type(obj, s, BRISK_BDEV_IO_TYPE_WRITE_ZEROES, "bytes_write_zeroed", "num_write_zeroes_ops",
		  "write_zeroes");
	dump_type(obj, s, BRISK_BDEV_IO_TYPE_COMPARE, "bytes_compared", "num_compare_ops", "compare");
	dump_type(obj, s, BRISK_BDEV_IO_TYPE_FLUSH, NULL, "num_flush_ops", "flush");
	dump_type(obj, s, BRISK_BDEV_IO_TYPE_RESET, NULL, "num_reset_ops", "reset");
	/* Like SPDK, only the statuses that occurred are listed. */
	for (int e = 0; e < BRISK_BDEV_IO_STATUS_ERROR_KINDS; e++) {
		if (s->error_status[e] != 0) {
			json_object_set_new(err, names[e], json_integer((json_int_t)s->error_status[e]));
		}
	}
	json_object_set_new(obj, "io_error", err);
}
