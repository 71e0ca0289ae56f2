/*
 * The I/O path: the brisk_bdev_io pool with its per-thread cache, the
 * per-thread channels, submission (QoS -> split -> buffers -> module),
 * completion (module -ENOMEM retries, reset drain, user callback on the
 * submitting thread, never inside the submitting call), and reset.
 *
 * Everything here runs on the thread that owns the channel; a channel's
 * queues and counters are never touched from another thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "bdev_internal.h"

/* ------------------------------------------------------------------------ */
/* Per-thread management channel: the brisk_bdev_io cache and wait queues. */

int bdev_mgmt_channel_create(void *io_device, void *ctx_buf)
{
	struct bdev_mgmt_channel *m = ctx_buf;
	uint32_t i;
	void *obj;

	STAILQ_INIT(&m->io_cache);
	TAILQ_INIT(&m->io_wait_queue);
	TAILQ_INIT(&m->buf_wait_queue);
	m->io_cache_count = 0;
	m->io_cache_size = g_bdev_mgr.opts.bdev_io_cache_size;
	m->retry_poller = NULL;
	/* Fill the cache now so that this thread has I/Os of its own even when
	 * other threads have drained the shared pool. */
	for (i = 0; i < m->io_cache_size; i++) {
		if (brisk_mempool_get(g_bdev_mgr.io_pool, &obj) != 0) {
			break;
		}
		STAILQ_INSERT_HEAD(&m->io_cache, (struct bdev_io_priv *)obj, cache_link);
		m->io_cache_count++;
	}
	return 0;
}

void bdev_mgmt_channel_destroy(void *io_device, void *ctx_buf)
{
	struct bdev_mgmt_channel *m = ctx_buf;
	struct bdev_io_priv *p;

	if (!TAILQ_EMPTY(&m->io_wait_queue) || !TAILQ_EMPTY(&m->buf_wait_queue)) {
		BRISK_ERRLOG("bdev management channel destroyed with waiters queued\n");
	}
	while ((p = STAILQ_FIRST(&m->io_cache)) != NULL) {
		STAILQ_REMOVE_HEAD(&m->io_cache, cache_link);
		brisk_mempool_put(g_bdev_mgr.io_pool, p);
	}
	m->io_cache_count = 0;
	brisk_poller_unregister(&m->retry_poller);
}

struct bdev_io_priv *bdev_io_get(struct bdev_channel *ch)
{
	struct bdev_mgmt_channel *m = ch->mgmt;
	struct bdev_io_priv *p = NULL;
	void *obj;

	if (m->io_cache_count > 0) {
		p = STAILQ_FIRST(&m->io_cache);
		STAILQ_REMOVE_HEAD(&m->io_cache, cache_link);
		m->io_cache_count--;
	} else if (TAILQ_EMPTY(&m->io_wait_queue)) {
		/* Waiters come first: taking from the pool now would let this
		 * caller pass those already queued. */
		if (brisk_mempool_get(g_bdev_mgr.io_pool, &obj) == 0) {
			p = obj;
		}
	}
	return p;
}

void bdev_io_put(struct bdev_io_priv *p)
{
	struct bdev_mgmt_channel *m = p->submit_ch->mgmt;

	if (p->buf_obj != NULL) {
		bdev_io_buf_release(p);
	}
	if (m->io_cache_count < m->io_cache_size) {
		STAILQ_INSERT_HEAD(&m->io_cache, p, cache_link);
		m->io_cache_count++;
	} else {
		brisk_mempool_put(g_bdev_mgr.io_pool, p);
	}
	if (!TAILQ_EMPTY(&m->io_wait_queue)) {
		bdev_mgmt_wake_io_waiters(m);
	}
}

void brisk_bdev_free_io(struct brisk_bdev_io *bdev_io)
{
	if (bdev_io == NULL) {
		return;
	}
	bdev_io_put(bdev_io_priv(bdev_io));
}

/* ------------------------------------------------------------------------ */
/* Bdev channels */

static int bdev_nomem_poll(void *arg);

int bdev_io_channel_create(void *io_device, void *ctx_buf)
{
	struct brisk_bdev *bdev = (struct brisk_bdev *)((char *)io_device - 1);
	struct bdev_channel *ch = ctx_buf;

	memset(ch, 0, sizeof(*ch));
	ch->bdev = bdev;
	ch->thread = brisk_get_thread();
	TAILQ_INIT(&ch->nomem_io);
	TAILQ_INIT(&ch->frozen_io);
	brisk_bdev_io_stat_clear(&ch->stat);
	ch->mgmt_io_ch = brisk_get_io_channel(&g_bdev_mgr);
	if (ch->mgmt_io_ch == NULL) {
		BRISK_ERRLOG("bdev %s: no management channel on this thread\n", bdev->name);
		return -ENOMEM;
	}
	ch->mgmt = brisk_io_channel_get_ctx(ch->mgmt_io_ch);
	ch->module_ch = bdev->fn_table->get_io_channel(bdev->ctxt);
	if (ch->module_ch == NULL) {
		BRISK_ERRLOG("bdev %s: module %s gave no io_channel\n", bdev->name, bdev->module->name);
		brisk_put_io_channel(ch->mgmt_io_ch);
		return -ENOMEM;
	}
	bdev_qos_channel_init(ch);
	return 0;
}

void bdev_io_channel_destroy(void *io_device, void *ctx_buf)
{
	struct bdev_channel *ch = ctx_buf;

	if (ch->io_outstanding != 0 || !TAILQ_EMPTY(&ch->nomem_io) || !TAILQ_EMPTY(&ch->frozen_io)) {
		BRISK_ERRLOG("bdev %s: channel released with I/O still in flight\n", ch->bdev->name);
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	brisk_bdev_io_stat_add(&ch->bdev->internal->stat, &ch->stat);
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	brisk_poller_unregister(&ch->nomem_poller);
	brisk_put_io_channel(ch->module_ch);
	brisk_put_io_channel(ch->mgmt_io_ch);
}

bool bdev_io_type_supported(struct brisk_bdev *bdev, enum brisk_bdev_io_type type)
{
	return bdev->fn_table->io_type_supported(bdev->ctxt, type);
}

/* ------------------------------------------------------------------------ */
/* Submission */

/* Sets what every path reads; the split and bounce fields are set by the
 * code that starts a split or a bounce (bdev_io_split, bdev_io_get_buf). */
void bdev_io_init(struct bdev_io_priv *p, struct brisk_bdev *bdev, struct bdev_channel *ch,
		  enum brisk_bdev_io_type type, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	p->cb = cb;
	p->cb_arg = cb_arg;
	p->submit_ch = ch;
	p->ch = ch;
	p->desc = NULL;
	p->status = BRISK_BDEV_IO_STATUS_PENDING;
	p->io_errno = 0;
	p->submit_tsc = 0;
	p->in_submit = false;
	p->split_done = false;
	p->qos_done = false;
	p->stack_cb = NULL;
	p->buf_obj = NULL;
	p->buf_pool = NULL;
	p->orig_iovs = NULL;
	p->provided_buf = false;
	p->has_nvme_status = false;
	p->parent = NULL;
	p->io.bdev = bdev;
	p->io.type = type;
	p->io.u.iovs = NULL;
	p->io.u.iovcnt = 0;
	p->io.u.offset_blocks = 0;
	p->io.u.num_blocks = 0;
	p->io.zcopy.start = false;
	p->io.zcopy.populate = false;
	p->io.zcopy.commit = false;
}

struct bdev_io_priv *bdev_io_start(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch,
				   enum brisk_bdev_io_type type, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_channel *ch = brisk_io_channel_get_ctx(_ch);
	struct bdev_io_priv *p = bdev_io_get(ch);

	if (p == NULL) {
		return NULL;
	}
	bdev_io_init(p, desc->bdev, ch, type, cb, cb_arg);
	p->desc = desc;
	p->split_done = true;
	return p;
}

static void bdev_reset_start(struct bdev_io_priv *p);

void bdev_io_submit(struct bdev_io_priv *p)
{
	struct bdev_channel *ch = p->submit_ch;

	if (p->submit_tsc == 0) {
		p->submit_tsc = brisk_get_ticks();
	}
	if (p->io.type == BRISK_BDEV_IO_TYPE_RESET) {
		bdev_reset_start(p);
		return;
	}
	if (ch->flags & BDEV_CH_RESET_IN_PROGRESS) {
		/* Held until the reset is over (then submitted from the top). */
		TAILQ_INSERT_TAIL(&ch->frozen_io, p, link);
		return;
	}
	if (!p->qos_done) {
		p->qos_done = true;
		if (bdev_qos_submit(p)) {
			return;
		}
	}
	bdev_io_submit_after_qos(p);
}

void bdev_io_submit_after_qos(struct bdev_io_priv *p)
{
	if (bdev_io_needs_provided_buf(p)) {
		/* The buffer first: children of a split read into it. */
		bdev_io_get_buf(p, bdev_io_submit_after_qos);
		return;
	}
	if (!p->split_done) {
		p->split_done = true;
		if (bdev_io_should_split(p)) {
			bdev_io_split(p);
			return;
		}
	}
	bdev_io_submit_unsplit(p);
}

void bdev_io_submit_unsplit(struct bdev_io_priv *p)
{
	if (bdev_io_needs_bounce(p)) {
		bdev_io_get_buf(p, bdev_io_submit_to_module);
		return;
	}
	bdev_io_submit_to_module(p);
}

static void bdev_module_submit(struct bdev_channel *ch, struct bdev_io_priv *p)
{
	ch->io_outstanding++;
	p->status = BRISK_BDEV_IO_STATUS_PENDING;
	p->in_submit = true;
	ch->bdev->fn_table->submit_request(ch->module_ch, &p->io);
	p->in_submit = false;
}

void bdev_io_submit_to_module(struct bdev_io_priv *p)
{
	struct bdev_channel *ch = p->ch;

	if (!TAILQ_EMPTY(&ch->nomem_io)) {
		/* The module is out of resources: queue behind those waiting. */
		TAILQ_INSERT_TAIL(&ch->nomem_io, p, link);
		return;
	}
	bdev_module_submit(ch, p);
}

/* Resubmits I/O the module refused with NOMEM, until it refuses again. */
static void bdev_retry_nomem(struct bdev_channel *ch)
{
	struct bdev_io_priv *p;

	while ((p = TAILQ_FIRST(&ch->nomem_io)) != NULL) {
		TAILQ_REMOVE(&ch->nomem_io, p, link);
		bdev_module_submit(ch, p);
		if (p->status == BRISK_BDEV_IO_STATUS_NOMEM) {
			break;
		}
	}
}

/* Runs only while I/O waits on NOMEM with nothing in flight to wake it. */
static int bdev_nomem_poll(void *arg)
{
	struct bdev_channel *ch = arg;

	if (TAILQ_EMPTY(&ch->nomem_io)) {
		brisk_poller_unregister(&ch->nomem_poller);
		return BRISK_POLLER_IDLE;
	}
	if (ch->io_outstanding == 0) {
		bdev_retry_nomem(ch);
		return BRISK_POLLER_BUSY;
	}
	return BRISK_POLLER_IDLE;
}

static bool bdev_channel_drained(struct bdev_channel *ch)
{
	return ch->io_outstanding == 0 && TAILQ_EMPTY(&ch->nomem_io);
}

static void bdev_channel_after_completion(struct bdev_channel *ch)
{
	struct brisk_io_channel_iter *iter;

	if (!TAILQ_EMPTY(&ch->nomem_io) && ch->io_outstanding <= ch->nomem_threshold) {
		bdev_retry_nomem(ch);
	}
	if (ch->drain_iter != NULL && bdev_channel_drained(ch)) {
		iter = ch->drain_iter;
		ch->drain_iter = NULL;
		brisk_for_each_channel_continue(iter, 0);
	}
}

/* ------------------------------------------------------------------------ */
/* Completion */

static void bdev_call_user_cb(struct bdev_io_priv *p)
{
	p->cb(&p->io, p->status == BRISK_BDEV_IO_STATUS_SUCCESS, p->cb_arg);
}

static void bdev_call_user_cb_msg(void *ctx)
{
	bdev_call_user_cb(ctx);
}

static void bdev_reset_complete(struct bdev_io_priv *p);

void bdev_io_complete_user(struct bdev_io_priv *p)
{
	if (p->io.type == BRISK_BDEV_IO_TYPE_RESET) {
		bdev_reset_complete(p);
		return;
	}
	bdev_stat_account(p->ch, p, brisk_get_ticks());
	if (p->submit_ch->thread != brisk_get_thread()) {
		/* Went through the QoS thread: back to the submitter. */
		if (brisk_thread_send_msg(p->submit_ch->thread, bdev_call_user_cb_msg, p) == 0) {
			return;
		}
		BRISK_ERRLOG("could not send a completion to its thread; completing here\n");
	}
	bdev_call_user_cb(p);
}

static void bdev_io_complete_finish(struct bdev_io_priv *p)
{
	bdev_io_buf_complete(p);
	if (p->parent != NULL) {
		bdev_io_split_child_done(p, p->status);
		return;
	}
	bdev_io_complete_user(p);
}

static void bdev_io_complete_deferred(void *ctx)
{
	bdev_io_complete_finish(ctx);
}

static void bdev_io_complete_forwarded(void *ctx)
{
	struct bdev_io_priv *p = ctx;

	brisk_bdev_io_complete(&p->io, p->status);
}

/* The base module completed an I/O handed down to it: the base channel's
 * accounting (a reset of the base waits for io_outstanding), then the I/O
 * is the stacked bdev's again and goes back to its module. */
static void bdev_io_stacked_complete(struct bdev_io_priv *p, int status)
{
	struct bdev_channel *bch = p->ch;
	brisk_bdev_io_stacked_cb cb = p->stack_cb;

	bch->io_outstanding--;
	p->io.bdev = p->stack_bdev;
	p->io.u.offset_blocks = p->stack_offset;
	p->ch = p->stack_ch;
	p->stack_cb = NULL;
	bdev_channel_after_completion(bch);
	cb(&p->io, status, p->stack_ctx);
}

void brisk_bdev_io_complete(struct brisk_bdev_io *bdev_io, int status)
{
	struct bdev_io_priv *p = bdev_io_priv(bdev_io);
	struct bdev_channel *ch = p->ch;

	if (brisk_get_thread() != ch->thread) {
		p->status = status;
		if (brisk_thread_send_msg(ch->thread, bdev_io_complete_forwarded, p) != 0) {
			BRISK_ERRLOG("bdev %s: cannot forward a completion to its channel's thread\n",
				     bdev_io->bdev->name);
		}
		return;
	}
	if (p->stack_cb != NULL) {
		bdev_io_stacked_complete(p, status);
		return;
	}
	ch->io_outstanding--;
	if (status == BRISK_BDEV_IO_STATUS_NOMEM) {
		p->status = status;
		TAILQ_INSERT_HEAD(&ch->nomem_io, p, link);
		/* Retry once a good part of what is in flight has completed. */
		ch->nomem_threshold = ch->io_outstanding / 2;
		if (ch->io_outstanding > 8 && ch->io_outstanding - 8 > ch->nomem_threshold) {
			ch->nomem_threshold = ch->io_outstanding - 8;
		}
		if (ch->io_outstanding == 0 && ch->nomem_poller == NULL) {
			ch->nomem_poller = brisk_poller_register_named(bdev_nomem_poll, ch,
					   BDEV_RETRY_POLL_US, "bdev_nomem_retry");
		}
		return;
	}
	p->status = status == BRISK_BDEV_IO_STATUS_PENDING ? BRISK_BDEV_IO_STATUS_FAILED : status;
	bdev_channel_after_completion(ch);
	if (p->in_submit) {
		/* Never call back inside the caller's submission. */
		if (brisk_thread_send_msg(ch->thread, bdev_io_complete_deferred, p) == 0) {
			return;
		}
	}
	bdev_io_complete_finish(p);
}

struct brisk_bdev_io *brisk_bdev_io_from_ctx(void *driver_ctx)
{
	return (struct brisk_bdev_io *)((char *)driver_ctx - offsetof(struct brisk_bdev_io, driver_ctx));
}

struct brisk_io_channel *brisk_bdev_io_get_io_channel(struct brisk_bdev_io *bdev_io)
{
	return bdev_io_priv(bdev_io)->ch->module_ch;
}

struct brisk_thread *brisk_bdev_io_get_thread(struct brisk_bdev_io *bdev_io)
{
	return bdev_io_priv(bdev_io)->ch->thread;
}

void brisk_bdev_io_get_iovec(struct brisk_bdev_io *bdev_io, struct iovec **iovs, int *iovcnt)
{
	*iovs = bdev_io->u.iovs;
	*iovcnt = bdev_io->u.iovcnt;
}

int brisk_bdev_io_get_status(const struct brisk_bdev_io *bdev_io)
{
	return bdev_io_priv((struct brisk_bdev_io *)bdev_io)->status;
}

static int bdev_status_to_errno(int status, int io_errno)
{
	switch (status) {
	case BRISK_BDEV_IO_STATUS_SUCCESS: return 0;
	case BRISK_BDEV_IO_STATUS_AIO_ERROR: return io_errno < 0 ? io_errno : -EIO;
	case BRISK_BDEV_IO_STATUS_MISCOMPARE: return -EILSEQ;
	case BRISK_BDEV_IO_STATUS_ABORTED: return -ECANCELED;
	case BRISK_BDEV_IO_STATUS_NOMEM: return -ENOMEM;
	default: return -EIO;
	}
}

int brisk_bdev_io_get_errno(const struct brisk_bdev_io *bdev_io)
{
	const struct bdev_io_priv *p = bdev_io_priv((struct brisk_bdev_io *)bdev_io);

	return bdev_status_to_errno(p->status, p->io_errno);
}

void brisk_bdev_io_complete_aio_status(struct brisk_bdev_io *bdev_io, int aio_result)
{
	if (aio_result == 0) {
		brisk_bdev_io_complete(bdev_io, BRISK_BDEV_IO_STATUS_SUCCESS);
		return;
	}
	/* Set before completing: a completion forwarded to another thread
	 * carries the whole priv, errno included. */
	bdev_io_priv(bdev_io)->io_errno = aio_result < 0 ? aio_result : -aio_result;
	brisk_bdev_io_complete(bdev_io, BRISK_BDEV_IO_STATUS_AIO_ERROR);
}

void brisk_bdev_io_complete_base_io_status(struct brisk_bdev_io *bdev_io,
		const struct brisk_bdev_io *base_io)
{
	const struct bdev_io_priv *b = bdev_io_priv((struct brisk_bdev_io *)base_io);

	if (b->status == BRISK_BDEV_IO_STATUS_AIO_ERROR) {
		brisk_bdev_io_complete_aio_status(bdev_io, b->io_errno);
		return;
	}
	brisk_bdev_io_complete(bdev_io, b->status == BRISK_BDEV_IO_STATUS_PENDING ?
			       BRISK_BDEV_IO_STATUS_FAILED : b->status);
}

enum brisk_bdev_io_type brisk_bdev_io_get_type(const struct brisk_bdev_io *bdev_io)
{
	return bdev_io->type;
}

/* ------------------------------------------------------------------------ */
/* Reset: freeze every channel, then wait for each one's I/O, reset the device, thaw
 * (resubmitting what was held), then call back. Resets queue behind one
 * another. */

static void bdev_reset_freeze_channel(struct brisk_io_channel_iter *i);
static void bdev_reset_frozen(struct brisk_io_channel_iter *i, int status);
static void bdev_reset_drain_channel(struct brisk_io_channel_iter *i);
static void bdev_reset_drained(struct brisk_io_channel_iter *i, int status);
static void bdev_reset_thaw_channel(struct brisk_io_channel_iter *i);
static void bdev_reset_thawed(struct brisk_io_channel_iter *i, int status);

static void bdev_reset_start(struct bdev_io_priv *p)
{
	struct bdev_state *st = p->io.bdev->internal;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	if (st->reset_in_progress != NULL) {
		TAILQ_INSERT_TAIL(&st->queued_resets, p, link);
		pthread_mutex_unlock(&g_bdev_mgr.lock);
		return;
	}
	st->reset_in_progress = &p->io;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	brisk_for_each_channel(bdev_to_io_device(p->io.bdev), bdev_reset_freeze_channel, p,
			       bdev_reset_frozen);
}

static void bdev_reset_start_msg(void *ctx)
{
	bdev_reset_start(ctx);
}

/* First walk: every channel holds new I/O from now on. */
static void bdev_reset_freeze_channel(struct brisk_io_channel_iter *i)
{
	struct bdev_channel *ch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));

	ch->flags |= BDEV_CH_RESET_IN_PROGRESS;
	brisk_for_each_channel_continue(i, 0);
}

static void bdev_reset_frozen(struct brisk_io_channel_iter *i, int status)
{
	struct bdev_io_priv *p = brisk_io_channel_iter_get_ctx(i);

	brisk_for_each_channel(bdev_to_io_device(p->io.bdev), bdev_reset_drain_channel, p,
			       bdev_reset_drained);
}

/* Second walk: wait on each channel until its I/O in flight is done. */
static void bdev_reset_drain_channel(struct brisk_io_channel_iter *i)
{
	struct bdev_channel *ch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));

	if (bdev_channel_drained(ch)) {
		brisk_for_each_channel_continue(i, 0);
		return;
	}
	ch->drain_iter = i; /* continued by the last completion */
}

static void bdev_reset_drained(struct brisk_io_channel_iter *i, int status)
{
	struct bdev_io_priv *p = brisk_io_channel_iter_get_ctx(i);

	/* Runs on the resetter's thread: its own channel takes the reset. */
	p->ch = p->submit_ch;
	bdev_module_submit(p->ch, p);
}

static void bdev_reset_complete(struct bdev_io_priv *p)
{
	brisk_for_each_channel(bdev_to_io_device(p->io.bdev), bdev_reset_thaw_channel, p,
			       bdev_reset_thawed);
}

static void bdev_reset_thaw_channel(struct brisk_io_channel_iter *i)
{
	struct bdev_channel *ch = brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i));
	TAILQ_HEAD(, bdev_io_priv) held = TAILQ_HEAD_INITIALIZER(held);
	struct bdev_io_priv *p;

	ch->flags &= ~BDEV_CH_RESET_IN_PROGRESS;
	TAILQ_CONCAT(&held, &ch->frozen_io, link);
	while ((p = TAILQ_FIRST(&held)) != NULL) {
		TAILQ_REMOVE(&held, p, link);
		bdev_io_submit(p);
	}
	brisk_for_each_channel_continue(i, 0);
}

static void bdev_reset_thawed(struct brisk_io_channel_iter *i, int status)
{
	struct bdev_io_priv *p = brisk_io_channel_iter_get_ctx(i);
	struct bdev_state *st = p->io.bdev->internal;
	struct bdev_io_priv *next;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	st->reset_in_progress = NULL;
	next = TAILQ_FIRST(&st->queued_resets);
	if (next != NULL) {
		TAILQ_REMOVE(&st->queued_resets, next, link);
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	bdev_stat_account(p->ch, p, brisk_get_ticks());
	bdev_call_user_cb(p);
	if (next != NULL && brisk_thread_send_msg(next->submit_ch->thread, bdev_reset_start_msg, next) != 0) {
		BRISK_ERRLOG("could not start a queued reset\n");
	}
}

/* ------------------------------------------------------------------------ */
/* The public submission calls */

static bool bdev_is_write_type(enum brisk_bdev_io_type type)
{
	return type == BRISK_BDEV_IO_TYPE_WRITE || type == BRISK_BDEV_IO_TYPE_UNMAP ||
	       type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES || type == BRISK_BDEV_IO_TYPE_FLUSH ||
	       type == BRISK_BDEV_IO_TYPE_RESET;
}

int bdev_check_io(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch, enum brisk_bdev_io_type type,
		  uint64_t offset_blocks, uint64_t num_blocks, brisk_bdev_io_completion_cb cb)
{
	struct brisk_bdev *bdev;

	if (desc == NULL || _ch == NULL || cb == NULL) {
		return -EINVAL;
	}
	bdev = desc->bdev;
	if (brisk_io_channel_get_io_device(_ch) != bdev_to_io_device(bdev)) {
		BRISK_ERRLOG("bdev %s: I/O submitted on a channel of another device\n", bdev->name);
		return -EINVAL;
	}
	if (bdev_is_write_type(type) && !desc->write) {
		return -EBADF;
	}
	if (type != BRISK_BDEV_IO_TYPE_RESET && type != BRISK_BDEV_IO_TYPE_FLUSH && num_blocks == 0) {
		return -EINVAL;
	}
	/* blockcnt may change under a resize on another thread: a plain
	 * aligned 64-bit load sees the old or the new size, both valid here. */
	if (type != BRISK_BDEV_IO_TYPE_RESET &&
	    (offset_blocks + num_blocks < offset_blocks || offset_blocks + num_blocks > bdev->blockcnt)) {
		return -EINVAL;
	}
	if (type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES) {
		return brisk_bdev_io_type_supported(bdev, type) ? 0 : -ENOTSUP;
	}
	if (!bdev_io_type_supported(bdev, type)) {
		return -ENOTSUP;
	}
	return 0;
}

static int bdev_bytes_to_blocks(struct brisk_bdev_desc *desc, uint64_t offset, uint64_t nbytes,
				uint64_t *offset_blocks, uint64_t *num_blocks)
{
	uint32_t bs;

	if (desc == NULL) {
		return -EINVAL;
	}
	bs = desc->bdev->blocklen;
	if (offset % bs != 0 || nbytes % bs != 0) {
		return -EINVAL;
	}
	*offset_blocks = offset / bs;
	*num_blocks = nbytes / bs;
	return 0;
}

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t len = 0;

	for (int i = 0; i < iovcnt; i++) {
		len += iov[i].iov_len;
	}
	return len;
}

/* A data I/O that bdev_io_submit would pass straight to the module: no
 * reset or QoS on the channel, a bdev that never splits or bounces, the
 * caller's own buffers. Most I/O, and every I/O of a stacked bdev's second
 * pass (an lvol's blob I/O to its base bdev) on an ordinary base. */
static inline bool bdev_io_plain(const struct bdev_channel *ch, const struct bdev_io_priv *p)
{
	return ch->flags == 0 && bdev_never_splits_data(p->io.bdev) && p->io.u.iovs[0].iov_base != NULL;
}

/* What bdev_io_submit ends with for a plain I/O, without its checks. */
static void bdev_io_submit_plain(struct bdev_io_priv *p)
{
	p->submit_tsc = brisk_get_ticks();
	p->qos_done = true;
	p->split_done = true;
	bdev_io_submit_to_module(p);
}

/* Gets and fills a brisk_bdev_io for an I/O that passed its checks, and
 * submits it (a plain data I/O straight to the module). 0 or -ENOMEM. */
static int bdev_submit_checked(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch, enum brisk_bdev_io_type type,
			       bool has_data, void *buf, struct iovec *iov, int iovcnt, uint64_t offset_blocks,
			       uint64_t num_blocks, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	struct bdev_channel *ch = brisk_io_channel_get_ctx(_ch);
	struct bdev_io_priv *p = bdev_io_get(ch);

	if (p == NULL) {
		return -ENOMEM;
	}
	bdev_io_init(p, desc->bdev, ch, type, cb, cb_arg);
	p->desc = desc;
	p->io.u.offset_blocks = offset_blocks;
	p->io.u.num_blocks = num_blocks;
	if (has_data) {
		if (iov != NULL) {
			p->io.u.iovs = iov;
			p->io.u.iovcnt = iovcnt;
		} else {
			p->iov.iov_base = buf;
			p->iov.iov_len = num_blocks * desc->bdev->blocklen;
			p->io.u.iovs = &p->iov;
			p->io.u.iovcnt = 1;
		}
		if (bdev_io_plain(ch, p)) {
			bdev_io_submit_plain(p);
			return 0;
		}
	}
	bdev_io_submit(p);
	return 0;
}

/* Common body of every data and non-data submission. iov NULL with buf: the
 * single-buffer variants. */
static int bdev_submit(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch,
		       enum brisk_bdev_io_type type, void *buf, struct iovec *iov, int iovcnt,
		       uint64_t offset_blocks, uint64_t num_blocks, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	bool has_data = type == BRISK_BDEV_IO_TYPE_READ || type == BRISK_BDEV_IO_TYPE_WRITE ||
			type == BRISK_BDEV_IO_TYPE_COMPARE;
	int rc;

	rc = bdev_check_io(desc, _ch, type, offset_blocks, num_blocks, cb);
	if (rc != 0) {
		return rc;
	}
	if (has_data && iov != NULL) {
		if (iovcnt <= 0 || iov_total(iov, iovcnt) != num_blocks * desc->bdev->blocklen) {
			return -EINVAL;
		}
	}
	if (has_data && iov == NULL && buf == NULL) {
		/* Reads without a buffer get one pool buffer: they must fit in it. */
		if (type != BRISK_BDEV_IO_TYPE_READ ||
		    num_blocks > bdev_max_buf_blocks(desc->bdev)) {
			return -EINVAL;
		}
	}
	return bdev_submit_checked(desc, _ch, type, has_data, buf, iov, iovcnt, offset_blocks, num_blocks, cb, cb_arg);
}

/* The stacked module's submission (bdev_module.h): of bdev_check_io only
 * what its caller cannot know (the range: on-disk data chose the blocks),
 * and the write permission, which costs one load. */
int brisk_bdev_module_submit_rw(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, bool write,
				struct iovec *iov, int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
				brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	uint64_t end = offset_blocks + num_blocks;

	if (num_blocks == 0 || end < offset_blocks || end > desc->bdev->blockcnt || iovcnt <= 0) {
		return -EINVAL;
	}
	if (write && !desc->write) {
		return -EBADF;
	}
	return bdev_submit_checked(desc, ch, write ? BRISK_BDEV_IO_TYPE_WRITE : BRISK_BDEV_IO_TYPE_READ, true, NULL,
				   iov, iovcnt, offset_blocks, num_blocks, cb, cb_arg);
}

/* The hand-down of a stacked module (bdev_module.h): only what the base
 * module itself needs (no reset, QoS or NOMEM queue on its channel, no
 * split or bounce, the same block size, buffers, the range, the write
 * permission); the stacked bdev's I/O already passed everything else. */
int brisk_bdev_io_submit_to_base(struct brisk_bdev_io *io, struct brisk_bdev_desc *base_desc,
				 struct brisk_io_channel *base_ch, uint64_t offset_blocks, brisk_bdev_io_stacked_cb cb,
				 void *cb_ctx)
{
	struct bdev_io_priv *p = bdev_io_priv(io);
	struct bdev_channel *bch = brisk_io_channel_get_ctx(base_ch);
	struct brisk_bdev *base = base_desc->bdev;
	uint64_t end = offset_blocks + io->u.num_blocks;

	if ((io->type != BRISK_BDEV_IO_TYPE_READ && (io->type != BRISK_BDEV_IO_TYPE_WRITE || !base_desc->write)) ||
	    bch->flags != 0 || !TAILQ_EMPTY(&bch->nomem_io) || !bdev_never_splits_data(base) ||
	    base->blocklen != io->bdev->blocklen || io->u.iovs[0].iov_base == NULL || end < offset_blocks ||
	    end > base->blockcnt) {
		return -EAGAIN;
	}
	p->stack_cb = cb;
	p->stack_ctx = cb_ctx;
	p->stack_bdev = io->bdev;
	p->stack_offset = io->u.offset_blocks;
	p->stack_ch = p->ch;
	io->bdev = base;
	io->u.offset_blocks = offset_blocks;
	p->ch = bch;
	bdev_module_submit(bch, p);
	/* Still inside the stacked module's submit_request: an inline
	 * completion of the stacked I/O must be deferred as usual. */
	p->in_submit = true;
	return 0;
}

int brisk_bdev_read_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
			   uint64_t offset_blocks, uint64_t num_blocks,
			   brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_READ, buf, NULL, 0, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int brisk_bdev_read(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
		    uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	uint64_t ob, nb;
	int rc = bdev_bytes_to_blocks(desc, offset, nbytes, &ob, &nb);

	return rc != 0 ? rc : brisk_bdev_read_blocks(desc, ch, buf, ob, nb, cb, cb_arg);
}

int brisk_bdev_readv_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
			    int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	if (iov == NULL) {
		return -EINVAL;
	}
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_READ, NULL, iov, iovcnt, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int brisk_bdev_readv(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
		     int iovcnt, uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	uint64_t ob, nb;
	int rc = bdev_bytes_to_blocks(desc, offset, nbytes, &ob, &nb);

	return rc != 0 ? rc : brisk_bdev_readv_blocks(desc, ch, iov, iovcnt, ob, nb, cb, cb_arg);
}

int brisk_bdev_write_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
			    uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_WRITE, buf, NULL, 0, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int brisk_bdev_write(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
		     uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	uint64_t ob, nb;
	int rc = bdev_bytes_to_blocks(desc, offset, nbytes, &ob, &nb);

	return rc != 0 ? rc : brisk_bdev_write_blocks(desc, ch, buf, ob, nb, cb, cb_arg);
}

int brisk_bdev_writev_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
			     int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
			     brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	if (iov == NULL) {
		return -EINVAL;
	}
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_WRITE, NULL, iov, iovcnt, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int brisk_bdev_writev(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
		      int iovcnt, uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	uint64_t ob, nb;
	int rc = bdev_bytes_to_blocks(desc, offset, nbytes, &ob, &nb);

	return rc != 0 ? rc : brisk_bdev_writev_blocks(desc, ch, iov, iovcnt, ob, nb, cb, cb_arg);
}

int brisk_bdev_compare_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
			      uint64_t offset_blocks, uint64_t num_blocks,
			      brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_COMPARE, buf, NULL, 0, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int brisk_bdev_comparev_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
			       struct iovec *iov, int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
			       brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	if (iov == NULL) {
		return -EINVAL;
	}
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_COMPARE, NULL, iov, iovcnt, offset_blocks,
			   num_blocks, cb, cb_arg);
}

int brisk_bdev_unmap_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
			    uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_UNMAP, NULL, NULL, 0, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int brisk_bdev_unmap(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, uint64_t offset,
		     uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	uint64_t ob, nb;
	int rc = bdev_bytes_to_blocks(desc, offset, nbytes, &ob, &nb);

	return rc != 0 ? rc : brisk_bdev_unmap_blocks(desc, ch, ob, nb, cb, cb_arg);
}

int brisk_bdev_flush_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
			    uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_FLUSH, NULL, NULL, 0, offset_blocks, num_blocks,
			   cb, cb_arg);
}

int brisk_bdev_write_zeroes_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
				   uint64_t offset_blocks, uint64_t num_blocks,
				   brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_WRITE_ZEROES, NULL, NULL, 0, offset_blocks,
			   num_blocks, cb, cb_arg);
}

int brisk_bdev_reset(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
		     brisk_bdev_io_completion_cb cb, void *cb_arg)
{
	return bdev_submit(desc, ch, BRISK_BDEV_IO_TYPE_RESET, NULL, NULL, 0, 0, 0, cb, cb_arg);
}
