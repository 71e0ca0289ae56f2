/*
 * QoS: IOPS and bandwidth limits of one bdev (SPDK's model).
 *
 * One thread owns a bdev's QoS: the thread that first set a limit. While
 * limits are on, every channel of the bdev is flagged and sends its I/O to
 * that thread, which queues it and lets it go while this timeslice's budget
 * lasts; a timed poller refills the budget every BRISK_BDEV_QOS_TIMESLICE_US.
 * Released I/O runs on the QoS thread's own channel and its completion is
 * sent back to the submitting thread.
 *
 * A large I/O may overdraw the budget; the debt is carried into the next
 * timeslice, so the average rate holds. The QoS state and its channel live
 * until the bdev is unregistered (I/O may still be on its way to the QoS
 * thread after limits are removed: it is then passed straight through).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "bdev_internal.h"

struct bdev_qos {
	struct brisk_bdev *bdev;
	struct brisk_thread *thread;
	struct brisk_io_channel *io_ch;   /* the bdev's channel on the QoS thread */
	struct bdev_channel *ch;
	uint64_t limits[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES]; /* as set: IOPS or MB/s; 0 = none (lock) */
	uint64_t per_slice[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES]; /* IOs or bytes per timeslice */
	int64_t remaining[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES];
	bool enabled;                     /* QoS thread only */
	TAILQ_HEAD(, bdev_io_priv) queued;
	struct brisk_poller *poller;
};

static bool qos_any_limit(const uint64_t *limits)
{
	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		if (limits[i] != 0) {
			return true;
		}
	}
	return false;
}

/* What I/O p costs against limit type i (0 when the limit does not apply). */
static uint64_t qos_cost(const struct bdev_io_priv *p, int i)
{
	uint64_t bytes = p->io.u.num_blocks * p->io.bdev->blocklen;
	bool is_read = p->io.type == BRISK_BDEV_IO_TYPE_READ || p->io.type == BRISK_BDEV_IO_TYPE_COMPARE;
	bool is_write = p->io.type == BRISK_BDEV_IO_TYPE_WRITE;

	switch (i) {
	case BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT:
		return 1;
	case BRISK_BDEV_QOS_RW_BPS_RATE_LIMIT:
		return is_read || is_write ? bytes : 0;
	case BRISK_BDEV_QOS_R_BPS_RATE_LIMIT:
		return is_read ? bytes : 0;
	case BRISK_BDEV_QOS_W_BPS_RATE_LIMIT:
		return is_write ? bytes : 0;
	default:
		return 0;
	}
}

static bool qos_allows(const struct bdev_qos *qos, const struct bdev_io_priv *p)
{
	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		if (qos->per_slice[i] != 0 && qos_cost(p, i) != 0 && qos->remaining[i] <= 0) {
			return false;
		}
	}
	return true;
}

/* Releases queued I/O while the budget lasts. Returns how many went. */
static int qos_release(struct bdev_qos *qos)
{
	struct bdev_io_priv *p;
	int n = 0;

	while ((p = TAILQ_FIRST(&qos->queued)) != NULL && qos_allows(qos, p)) {
		TAILQ_REMOVE(&qos->queued, p, link);
		for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
			if (qos->per_slice[i] != 0) {
				qos->remaining[i] -= (int64_t)qos_cost(p, i);
			}
		}
		bdev_io_submit_after_qos(p);
		n++;
	}
	return n;
}

static int qos_poll(void *arg)
{
	struct bdev_qos *qos = arg;

	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		/* Keep a debt, drop an unused surplus: bursts stay one slice long. */
		qos->remaining[i] = (qos->remaining[i] < 0 ? qos->remaining[i] : 0) + (int64_t)qos->per_slice[i];
	}
	return qos_release(qos) > 0 ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

/* On the QoS thread. */
static void qos_take(struct bdev_qos *qos, struct bdev_io_priv *p)
{
	p->ch = qos->ch;
	if (!qos->enabled) {
		bdev_io_submit_after_qos(p);
		return;
	}
	TAILQ_INSERT_TAIL(&qos->queued, p, link);
	qos_release(qos);
}

static void qos_take_msg(void *ctx)
{
	struct bdev_io_priv *p = ctx;

	qos_take(p->io.bdev->internal->qos, p);
}

bool bdev_qos_submit(struct bdev_io_priv *p)
{
	struct bdev_qos *qos;

	if (!(p->submit_ch->flags & BDEV_CH_QOS)) {
		return false;
	}
	/* The flag was set by a channel walk started after qos was created:
	 * the walk's messages order that write before this read. */
	qos = p->io.bdev->internal->qos;
	if (qos->thread == brisk_get_thread()) {
		qos_take(qos, p);
	} else if (brisk_thread_send_msg(qos->thread, qos_take_msg, p) != 0) {
		BRISK_ERRLOG("bdev %s: cannot reach the QoS thread; I/O bypasses QoS\n", p->io.bdev->name);
		return false;
	}
	return true;
}

void bdev_qos_channel_init(struct bdev_channel *ch)
{
	pthread_mutex_lock(&g_bdev_mgr.lock);
	if (ch->bdev->internal->qos != NULL && qos_any_limit(ch->bdev->internal->qos->limits)) {
		ch->flags |= BDEV_CH_QOS;
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
}

static void qos_compute_slices(struct bdev_qos *qos)
{
	uint64_t per_sec;

	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		per_sec = i == BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT ? qos->limits[i] : qos->limits[i] * 1024 * 1024;
		qos->per_slice[i] = per_sec * BRISK_BDEV_QOS_TIMESLICE_US / 1000000;
		if (per_sec != 0 && qos->per_slice[i] == 0) {
			qos->per_slice[i] = 1;
		}
		qos->remaining[i] = (int64_t)qos->per_slice[i];
	}
}

/* ------------------------------------------------------------------------ */
/* Setting limits: update on the QoS thread, then flag or unflag every
 * channel, then answer on the caller's thread. */

struct qos_update {
	struct brisk_bdev *bdev;
	uint64_t limits[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES];
	void (*cb)(void *cb_arg, int status);
	void *cb_arg;
	struct brisk_thread *caller;
	bool enable;
	int status;
};

static void qos_update_reply_msg(void *ctx)
{
	struct qos_update *u = ctx;

	u->cb(u->cb_arg, u->status);
	free(u);
}

static void qos_update_reply(struct qos_update *u, int status)
{
	u->status = status;
	if (brisk_thread_send_msg(u->caller, qos_update_reply_msg, u) != 0) {
		qos_update_reply_msg(u);
	}
}

static void qos_flag_channel(struct brisk_io_channel_iter *i)
{
	struct qos_update *u = brisk_io_channel_iter_get_ctx(i);
	struct bdev_channel *ch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));

	if (u->enable) {
		ch->flags |= BDEV_CH_QOS;
	} else {
		ch->flags &= ~BDEV_CH_QOS;
	}
	brisk_for_each_channel_continue(i, 0);
}

static void qos_flag_done(struct brisk_io_channel_iter *i, int status)
{
	qos_update_reply(brisk_io_channel_iter_get_ctx(i), status);
}

static void qos_update_on_thread(void *ctx)
{
	struct qos_update *u = ctx;
	struct bdev_qos *qos = u->bdev->internal->qos;
	struct bdev_io_priv *p;
	bool on;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		if (u->limits[i] != BRISK_BDEV_QOS_LIMIT_NOT_DEFINED) {
			qos->limits[i] = u->limits[i];
		}
	}
	on = qos_any_limit(qos->limits);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	qos_compute_slices(qos);

	if (on && qos->io_ch == NULL) {
		qos->io_ch = brisk_get_io_channel(bdev_to_io_device(u->bdev));
		if (qos->io_ch == NULL) {
			BRISK_ERRLOG("bdev %s: no channel for QoS\n", u->bdev->name);
			qos_update_reply(u, -ENOMEM);
			return;
		}
		qos->ch = brisk_io_channel_get_ctx(qos->io_ch);
	}
	if (on == qos->enabled) {
		qos_release(qos);
		qos_update_reply(u, 0);
		return;
	}
	qos->enabled = on;
	u->enable = on;
	if (on) {
		qos->poller = brisk_poller_register_named(qos_poll, qos, BRISK_BDEV_QOS_TIMESLICE_US, "bdev_qos");
	} else {
		brisk_poller_unregister(&qos->poller);
		while ((p = TAILQ_FIRST(&qos->queued)) != NULL) {
			TAILQ_REMOVE(&qos->queued, p, link);
			bdev_io_submit_after_qos(p);
		}
	}
	brisk_for_each_channel(bdev_to_io_device(u->bdev), qos_flag_channel, u, qos_flag_done);
}

static int qos_check_limits(struct brisk_bdev *bdev, const uint64_t *limits)
{
	uint64_t iops = limits[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT];

	if (iops != BRISK_BDEV_QOS_LIMIT_NOT_DEFINED && iops != 0 && iops % BRISK_BDEV_QOS_MIN_IOS_PER_SEC != 0) {
		BRISK_ERRLOG("bdev %s: rw_ios_per_sec %lu must be a multiple of %u\n", bdev->name,
			     (unsigned long)iops, BRISK_BDEV_QOS_MIN_IOS_PER_SEC);
		return -EINVAL;
	}
	for (int i = BRISK_BDEV_QOS_RW_BPS_RATE_LIMIT; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		if (limits[i] != BRISK_BDEV_QOS_LIMIT_NOT_DEFINED && limits[i] > (1ull << 40)) {
			BRISK_ERRLOG("bdev %s: bandwidth limit %lu MB/s is out of range\n", bdev->name,
				     (unsigned long)limits[i]);
			return -EINVAL;
		}
	}
	return 0;
}

void brisk_bdev_set_qos_rate_limits(struct brisk_bdev *bdev, const uint64_t *limits,
				    void (*cb)(void *cb_arg, int status), void *cb_arg)
{
	struct qos_update *u;
	struct bdev_qos *qos;
	int rc;

	rc = qos_check_limits(bdev, limits);
	if (rc != 0) {
		cb(cb_arg, rc);
		return;
	}
	u = calloc(1, sizeof(*u));
	if (u == NULL) {
		cb(cb_arg, -ENOMEM);
		return;
	}
	u->bdev = bdev;
	memcpy(u->limits, limits, sizeof(u->limits));
	u->cb = cb;
	u->cb_arg = cb_arg;
	u->caller = brisk_get_thread();

	pthread_mutex_lock(&g_bdev_mgr.lock);
	qos = bdev->internal->qos;
	if (qos == NULL) {
		qos = calloc(1, sizeof(*qos));
		if (qos == NULL) {
			pthread_mutex_unlock(&g_bdev_mgr.lock);
			free(u);
			cb(cb_arg, -ENOMEM);
			return;
		}
		qos->bdev = bdev;
		qos->thread = u->caller;
		TAILQ_INIT(&qos->queued);
		bdev->internal->qos = qos;
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	if (brisk_thread_send_msg(qos->thread, qos_update_on_thread, u) != 0) {
		free(u);
		cb(cb_arg, -EIO);
	}
}

void brisk_bdev_get_qos_rate_limits(struct brisk_bdev *bdev, uint64_t *limits)
{
	pthread_mutex_lock(&g_bdev_mgr.lock);
	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		limits[i] = bdev->internal->qos != NULL ? bdev->internal->qos->limits[i] : 0;
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
}

/* ------------------------------------------------------------------------ */
/* Teardown at unregister: on the QoS thread, let queued I/O go, drop the
 * channel, free the state, then continue the unregistration there. */

struct qos_destroy {
	struct brisk_bdev *bdev;
	void (*done)(struct brisk_bdev *bdev);
};

static void qos_destroy_on_thread(void *ctx)
{
	struct qos_destroy *d = ctx;
	struct bdev_qos *qos = d->bdev->internal->qos;
	struct bdev_io_priv *p;

	brisk_poller_unregister(&qos->poller);
	qos->enabled = false;
	while ((p = TAILQ_FIRST(&qos->queued)) != NULL) {
		TAILQ_REMOVE(&qos->queued, p, link);
		bdev_io_submit_after_qos(p);
	}
	if (qos->io_ch != NULL) {
		brisk_put_io_channel(qos->io_ch);
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	d->bdev->internal->qos = NULL;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	free(qos);
	d->done(d->bdev);
	free(d);
}

void bdev_qos_destroy(struct brisk_bdev *bdev, void (*done)(struct brisk_bdev *bdev))
{
	struct qos_destroy *d;
	struct bdev_qos *qos = bdev->internal->qos;

	if (qos == NULL) {
		done(bdev);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (d != NULL) {
		d->bdev = bdev;
		d->done = done;
		if (brisk_thread_send_msg(qos->thread, qos_destroy_on_thread, d) == 0) {
			return;
		}
	}
	BRISK_ERRLOG("bdev %s: could not stop QoS; its channel stays\n", bdev->name);
	free(d);
	done(bdev);
}
