/*
 * io_devices and io_channels.
 *
 * The device registry is a list under g_dev_lock, taken when devices come and
 * go and when a channel is created or destroyed, never on the I/O path:
 * brisk_get_io_channel first looks in the current thread's own channel list,
 * which only that thread changes. Changes to that list are also made under
 * g_dev_lock so that brisk_for_each_channel can read other threads' lists.
 * Lock order: thread list lock, then g_dev_lock.
 *
 * A device's refcnt counts its channels plus the for_each_channel walks in
 * progress; an unregistered device finishes (unregister_cb, by message to the
 * thread that unregistered it) when that count reaches zero.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "thread_internal.h"

struct thread_io_device {
	TAILQ_ENTRY(thread_io_device) link;
	void *io_device;
	brisk_io_channel_create_cb create_cb;
	brisk_io_channel_destroy_cb destroy_cb;
	brisk_io_device_unregister_cb unregister_cb;
	uint64_t unregister_thread_id;
	uint32_t ctx_size;
	uint32_t refcnt;   /* under g_dev_lock */
	int unregistered;  /* set under g_dev_lock; read without it by the get fast path */
	char name[THREAD_DEVICE_NAME_MAX];
};

static pthread_mutex_t g_dev_lock = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, thread_io_device) g_devices = TAILQ_HEAD_INITIALIZER(g_devices);

static struct thread_io_device *device_find_locked(void *io_device)
{
	struct thread_io_device *dev;

	TAILQ_FOREACH(dev, &g_devices, link) {
		if (dev->io_device == io_device) {
			return dev;
		}
	}
	return NULL;
}

static bool device_is_unregistered(const struct thread_io_device *dev)
{
	/* acquire: pairs with the release in unregister; a stale "no" only lets
	 * a get that raced with unregister succeed, as if it came first */
	return __atomic_load_n(&dev->unregistered, __ATOMIC_ACQUIRE) != 0;
}

/* ---- Registration ---- */

void brisk_io_device_register(void *io_device, brisk_io_channel_create_cb create_cb,
			      brisk_io_channel_destroy_cb destroy_cb, uint32_t ctx_size,
			      const char *name)
{
	struct thread_io_device *dev, *old;

	if (io_device == NULL) {
		BRISK_ERRLOG("io_device register '%s': io_device is NULL\n", name ? name : "(unnamed)");
		return;
	}
	if (ctx_size > 64 * 1024 * 1024) {
		BRISK_ERRLOG("io_device register '%s': ctx_size %u is too large\n",
			     name ? name : "(unnamed)", ctx_size);
		return;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		BRISK_ERRLOG("io_device register: out of memory\n");
		return;
	}
	dev->io_device = io_device;
	dev->create_cb = create_cb;
	dev->destroy_cb = destroy_cb;
	dev->ctx_size = ctx_size;
	if (name != NULL) {
		snprintf(dev->name, sizeof(dev->name), "%s", name);
	} else {
		snprintf(dev->name, sizeof(dev->name), "%p", io_device);
	}

	pthread_mutex_lock(&g_dev_lock);
	old = device_find_locked(io_device);
	if (old != NULL) {
		pthread_mutex_unlock(&g_dev_lock);
		BRISK_ERRLOG("io_device register '%s': %p is already registered as '%s'%s\n",
			     dev->name, io_device, old->name,
			     device_is_unregistered(old) ? " (still being unregistered)" : "");
		free(dev);
		return;
	}
	TAILQ_INSERT_TAIL(&g_devices, dev, link);
	pthread_mutex_unlock(&g_dev_lock);
	BRISK_DEBUGLOG(thread, "registered io_device '%s' (%p)\n", dev->name, io_device);
}

/* Drops one reference; returns true if the device must now finish
 * unregistering (it has then left the registry). Under g_dev_lock. */
static bool device_put_locked(struct thread_io_device *dev)
{
	if (dev->refcnt == 0) {
		BRISK_ERRLOG("io_device '%s': reference count underflow\n", dev->name);
		return false;
	}
	dev->refcnt--;
	if (dev->refcnt == 0 && dev->unregistered) {
		TAILQ_REMOVE(&g_devices, dev, link);
		return true;
	}
	return false;
}

static void device_unregister_done(void *arg)
{
	struct thread_io_device *dev = arg;

	BRISK_DEBUGLOG(thread, "io_device '%s' unregistered\n", dev->name);
	if (dev->unregister_cb != NULL) {
		dev->unregister_cb(dev->io_device);
	}
	free(dev);
}

/* The last channel is gone: call back on the thread that unregistered. */
static void device_finish(struct thread_io_device *dev)
{
	struct brisk_thread *t;
	int rc;

	thread_list_lock();
	t = thread_get_by_id_locked(dev->unregister_thread_id);
	rc = t ? thread_send_msg_retry(t, device_unregister_done, dev) : -ENODEV;
	thread_list_unlock();
	if (rc != 0) {
		BRISK_ERRLOG("io_device '%s': the thread that unregistered it is gone (%d); "
			     "calling back on the current thread\n", dev->name, rc);
		device_unregister_done(dev);
	}
}

void brisk_io_device_unregister(void *io_device, brisk_io_device_unregister_cb unregister_cb)
{
	struct brisk_thread *t = brisk_get_thread();
	struct thread_io_device *dev;
	bool finish = false;

	if (t == NULL) {
		BRISK_ERRLOG("io_device unregister %p: not called on a brisk_thread\n", io_device);
		return;
	}
	pthread_mutex_lock(&g_dev_lock);
	dev = device_find_locked(io_device);
	if (dev == NULL) {
		pthread_mutex_unlock(&g_dev_lock);
		BRISK_ERRLOG("io_device unregister: %p is not registered\n", io_device);
		return;
	}
	if (dev->unregistered) {
		pthread_mutex_unlock(&g_dev_lock);
		BRISK_ERRLOG("io_device unregister '%s': already being unregistered\n", dev->name);
		return;
	}
	dev->unregister_cb = unregister_cb;
	dev->unregister_thread_id = t->id;
	/* release: the fields above are set before anyone sees the flag */
	__atomic_store_n(&dev->unregistered, 1, __ATOMIC_RELEASE);
	if (dev->refcnt == 0) {
		TAILQ_REMOVE(&g_devices, dev, link);
		finish = true;
	}
	pthread_mutex_unlock(&g_dev_lock);
	BRISK_DEBUGLOG(thread, "unregistering io_device '%s' (%u references)\n", dev->name,
		       dev->refcnt);
	if (finish) {
		device_finish(dev); /* still by message: the callback never runs inline */
	}
}

const char *brisk_io_device_get_name(void *io_device)
{
	struct thread_io_device *dev;

	pthread_mutex_lock(&g_dev_lock);
	dev = device_find_locked(io_device);
	pthread_mutex_unlock(&g_dev_lock);
	return dev ? dev->name : NULL;
}

/* ---- Channels ---- */

static struct brisk_io_channel *thread_find_channel(struct brisk_thread *t,
						    const struct thread_io_device *dev)
{
	struct brisk_io_channel *ch;

	TAILQ_FOREACH(ch, &t->io_channels, link) {
		if (ch->dev == dev) {
			return ch;
		}
	}
	return NULL;
}

struct brisk_io_channel *brisk_get_io_channel(void *io_device)
{
	struct brisk_thread *t = brisk_get_thread();
	struct thread_io_device *dev;
	struct brisk_io_channel *ch;
	bool finish;
	int rc;

	if (t == NULL) {
		BRISK_ERRLOG("get_io_channel %p: not called on a brisk_thread\n", io_device);
		return NULL;
	}
	if (thread_get_state(t) == THREAD_STATE_EXITED) {
		BRISK_ERRLOG("get_io_channel %p: thread '%s' has exited\n", io_device, t->name);
		return NULL;
	}
	/* Fast path: this thread's own list, no lock (only this thread changes it). */
	TAILQ_FOREACH(ch, &t->io_channels, link) {
		if (ch->dev->io_device == io_device) {
			if (device_is_unregistered(ch->dev)) {
				BRISK_ERRLOG("get_io_channel '%s': device is being unregistered\n",
					     ch->dev->name);
				return NULL;
			}
			/* A channel waiting for its deferred destroy comes back to life. */
			ch->ref++;
			return ch;
		}
	}

	pthread_mutex_lock(&g_dev_lock);
	dev = device_find_locked(io_device);
	if (dev == NULL || dev->unregistered) {
		pthread_mutex_unlock(&g_dev_lock);
		BRISK_ERRLOG("get_io_channel %p: device %s\n", io_device,
			     dev ? "is being unregistered" : "is not registered");
		return NULL;
	}
	ch = calloc(1, sizeof(*ch) + dev->ctx_size);
	if (ch == NULL) {
		pthread_mutex_unlock(&g_dev_lock);
		BRISK_ERRLOG("get_io_channel '%s': out of memory\n", dev->name);
		return NULL;
	}
	ch->thread = t;
	ch->dev = dev;
	ch->ref = 1;
	TAILQ_INSERT_TAIL(&t->io_channels, ch, link);
	dev->refcnt++;
	pthread_mutex_unlock(&g_dev_lock);

	/* Outside the lock: create_cb may get channels of other devices. */
	rc = dev->create_cb ? dev->create_cb(io_device, ch->ctx) : 0;
	if (rc != 0) {
		BRISK_ERRLOG("get_io_channel '%s': create_cb failed: %s\n", dev->name,
			     strerror(rc < 0 ? -rc : rc));
		pthread_mutex_lock(&g_dev_lock);
		TAILQ_REMOVE(&t->io_channels, ch, link);
		finish = device_put_locked(dev);
		pthread_mutex_unlock(&g_dev_lock);
		free(ch);
		if (finish) {
			device_finish(dev);
		}
		return NULL;
	}
	BRISK_DEBUGLOG(thread, "created channel of '%s' on thread '%s'\n", dev->name, t->name);
	return ch;
}

static void channel_destroy(struct brisk_io_channel *ch)
{
	struct thread_io_device *dev = ch->dev;
	bool finish;

	pthread_mutex_lock(&g_dev_lock);
	TAILQ_REMOVE(&ch->thread->io_channels, ch, link);
	pthread_mutex_unlock(&g_dev_lock);

	BRISK_DEBUGLOG(thread, "destroying channel of '%s' on thread '%s'\n", dev->name,
		       ch->thread->name);
	if (dev->destroy_cb != NULL) {
		dev->destroy_cb(dev->io_device, ch->ctx);
	}
	free(ch);

	pthread_mutex_lock(&g_dev_lock);
	finish = device_put_locked(dev);
	pthread_mutex_unlock(&g_dev_lock);
	if (finish) {
		device_finish(dev);
	}
}

static void channel_deferred_destroy(void *arg)
{
	struct brisk_io_channel *ch = arg;

	ch->destroy_ref--;
	/* Revived by a get since the put, or a later put has its own message. */
	if (ch->ref > 0 || ch->destroy_ref > 0) {
		return;
	}
	channel_destroy(ch);
}

void brisk_put_io_channel(struct brisk_io_channel *ch)
{
	int rc;

	if (ch == NULL) {
		return;
	}
	if (brisk_get_thread() != ch->thread) {
		BRISK_ERRLOG("put_io_channel '%s': called on thread '%s', the channel belongs to '%s'\n",
			     ch->dev->name, brisk_thread_get_name(brisk_get_thread()),
			     ch->thread->name);
		return;
	}
	if (ch->ref == 0) {
		BRISK_ERRLOG("put_io_channel '%s': released more times than it was taken\n",
			     ch->dev->name);
		return;
	}
	ch->ref--;
	if (ch->ref > 0) {
		return;
	}
	/* Destroy later, from the thread's own message loop, so the caller can
	 * finish using the channel in this call chain (and a quick get revives it). */
	ch->destroy_ref++;
	rc = thread_send_msg_retry(ch->thread, channel_deferred_destroy, ch);
	if (rc != 0) {
		BRISK_ERRLOG("put_io_channel '%s': cannot defer the destroy (%d); destroying now\n",
			     ch->dev->name, rc);
		ch->destroy_ref--;
		if (ch->destroy_ref == 0) {
			channel_destroy(ch);
		}
	}
}

void *brisk_io_channel_get_ctx(struct brisk_io_channel *ch)
{
	return ch ? ch->ctx : NULL;
}

struct brisk_io_channel *brisk_io_channel_from_ctx(void *ctx)
{
	if (ctx == NULL) {
		return NULL;
	}
	return (struct brisk_io_channel *)((uint8_t *)ctx - offsetof(struct brisk_io_channel, ctx));
}

struct brisk_thread *brisk_io_channel_get_thread(struct brisk_io_channel *ch)
{
	return ch ? ch->thread : NULL;
}

void *brisk_io_channel_get_io_device(struct brisk_io_channel *ch)
{
	return ch ? ch->dev->io_device : NULL;
}

uint32_t brisk_io_channel_get_ref_count(struct brisk_io_channel *ch)
{
	return ch ? ch->ref : 0;
}

void brisk_thread_for_each_io_channel(struct brisk_thread *thread,
				      void (*fn)(struct brisk_io_channel *ch, void *ctx), void *ctx)
{
	struct brisk_io_channel *ch, *tmp;

	if (thread == NULL || fn == NULL) {
		BRISK_ERRLOG("for_each_io_channel: %s is NULL\n", thread ? "fn" : "thread");
		return;
	}
	TAILQ_FOREACH_SAFE(ch, &thread->io_channels, link, tmp) {
		fn(ch, ctx);
	}
}

void thread_io_channels_log_remaining(const struct brisk_thread *thread)
{
	const struct brisk_io_channel *ch;

	TAILQ_FOREACH(ch, &thread->io_channels, link) {
		BRISK_WARNLOG("  io_channel of '%s' (ref %u)\n", ch->dev->name, ch->ref);
	}
}

/* ---- brisk_for_each_channel: a walk from thread to thread by message ----
 * Steps: start (caller) -> visit (each thread that had a channel at start,
 * in turn) -> continue -> ... -> complete (caller). The channel is looked up
 * again on each visit, so channels created or destroyed meanwhile are safe:
 * a thread whose channel is gone (or whose thread is gone) is skipped. */

struct brisk_io_channel_iter {
	void *io_device;
	struct thread_io_device *dev; /* held by a reference for the whole walk */
	brisk_channel_msg fn;
	brisk_channel_for_each_cpl cpl;
	void *ctx;
	int status;
	uint64_t orig_thread_id;
	struct brisk_io_channel *ch; /* channel being visited */
	uint64_t *ids;               /* threads that had a channel at start */
	uint32_t count;
	uint32_t next;
};

static void iter_visit(void *arg);

static void iter_complete(void *arg)
{
	struct brisk_io_channel_iter *i = arg;
	struct thread_io_device *dev = i->dev;
	bool finish = false;

	i->cpl(i, i->status);
	if (dev != NULL) {
		pthread_mutex_lock(&g_dev_lock);
		finish = device_put_locked(dev);
		pthread_mutex_unlock(&g_dev_lock);
	}
	free(i->ids);
	free(i);
	if (finish) {
		device_finish(dev);
	}
}

static void iter_return_to_caller(struct brisk_io_channel_iter *i)
{
	struct brisk_thread *t;
	int rc;

	thread_list_lock();
	t = thread_get_by_id_locked(i->orig_thread_id);
	rc = t ? thread_send_msg_retry(t, iter_complete, i) : -ENODEV;
	thread_list_unlock();
	if (rc != 0) {
		BRISK_ERRLOG("for_each_channel: the calling thread is gone (%d); completing here\n",
			     rc);
		iter_complete(i);
	}
}

/* Sends the walk to the next listed thread that still exists, or completes it. */
static void iter_next(struct brisk_io_channel_iter *i)
{
	struct brisk_thread *t;
	int rc;

	while (i->next < i->count) {
		thread_list_lock();
		t = thread_get_by_id_locked(i->ids[i->next++]);
		/* Sent under the list lock so the target cannot be destroyed meanwhile. */
		rc = t ? thread_send_msg_retry(t, iter_visit, i) : -ENODEV;
		thread_list_unlock();
		if (rc == 0) {
			return;
		}
	}
	iter_return_to_caller(i);
}

static void iter_visit(void *arg)
{
	struct brisk_io_channel_iter *i = arg;
	struct brisk_io_channel *ch = thread_find_channel(brisk_get_thread(), i->dev);

	/* ref 0 = released and waiting for its deferred destroy: not visited. */
	if (ch == NULL || ch->ref == 0) {
		brisk_for_each_channel_continue(i, 0);
		return;
	}
	i->ch = ch;
	i->fn(i);
}

void brisk_for_each_channel_continue(struct brisk_io_channel_iter *i, int status)
{
	if (i == NULL) {
		BRISK_ERRLOG("for_each_channel_continue: iterator is NULL\n");
		return;
	}
	i->ch = NULL;
	i->status = status;
	if (status != 0) {
		iter_return_to_caller(i);
		return;
	}
	iter_next(i);
}

/* Under the thread list lock (snapshot filter): does t hold a live channel? */
static bool thread_has_channel(struct brisk_thread *t, void *arg)
{
	struct brisk_io_channel *ch = thread_find_channel(t, arg);

	return ch != NULL && ch->ref > 0;
}

void brisk_for_each_channel(void *io_device, brisk_channel_msg fn, void *ctx,
			    brisk_channel_for_each_cpl cpl)
{
	struct brisk_thread *self = brisk_get_thread();
	struct thread_io_device *dev;
	struct brisk_io_channel_iter *i;

	if (fn == NULL || cpl == NULL) {
		BRISK_ERRLOG("for_each_channel %p: %s is NULL\n", io_device, fn ? "cpl" : "fn");
		return;
	}
	if (self == NULL) {
		BRISK_ERRLOG("for_each_channel %p: not called on a brisk_thread\n", io_device);
		return;
	}
	i = calloc(1, sizeof(*i));
	if (i == NULL) {
		BRISK_ERRLOG("for_each_channel %p: out of memory\n", io_device);
		return;
	}
	i->io_device = io_device;
	i->fn = fn;
	i->cpl = cpl;
	i->ctx = ctx;
	i->orig_thread_id = self->id;

	/* Lock order: thread list, then devices. */
	thread_list_lock();
	pthread_mutex_lock(&g_dev_lock);
	dev = device_find_locked(io_device);
	if (dev != NULL && !dev->unregistered) {
		dev->refcnt++;
		i->dev = dev;
		i->ids = thread_snapshot_ids_locked(thread_has_channel, dev, &i->count);
	}
	pthread_mutex_unlock(&g_dev_lock);
	thread_list_unlock();

	if (i->dev == NULL) {
		/* dev is not dereferenced here: without a reference it may be gone */
		BRISK_ERRLOG("for_each_channel %p: device %s\n", io_device,
			     dev ? "is being unregistered" : "is not registered");
		i->status = -ENODEV;
		iter_return_to_caller(i); /* cpl still runs, asynchronously */
		return;
	}
	if (i->ids == NULL) {
		BRISK_ERRLOG("for_each_channel '%s': out of memory\n", i->dev->name);
		i->status = -ENOMEM;
		iter_return_to_caller(i);
		return;
	}
	iter_next(i);
}

void *brisk_io_channel_iter_get_io_device(struct brisk_io_channel_iter *i)
{
	return i ? i->io_device : NULL;
}

struct brisk_io_channel *brisk_io_channel_iter_get_channel(struct brisk_io_channel_iter *i)
{
	return i ? i->ch : NULL;
}

void *brisk_io_channel_iter_get_ctx(struct brisk_io_channel_iter *i)
{
	return i ? i->ctx : NULL;
}
