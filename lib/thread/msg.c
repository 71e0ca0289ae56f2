/*
 * Messages between threads: {fn, arg} pairs taken from one global mempool
 * and queued on the target's multi-producer/single-consumer ring, messages
 * in sender-owned slots (an intrusive stack that cannot fill up), the
 * critical-message slot for signal handlers, and brisk_for_each_thread.
 *
 * Ordering: one ring per target, so messages from one sender run in the
 * order they were sent (the ring's multi-producer enqueue serialises
 * senders; each sender's own enqueues are in program order).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include <brisk/log.h>
#include <brisk/mempool.h>
#include <brisk/ring.h>
#include <brisk/ticks.h>

#include "thread_internal.h"

int brisk_thread_send_msg(const struct brisk_thread *cthread, brisk_msg_fn fn, void *ctx)
{
	/* The header keeps the thread const for callers; the ring is the one
	 * part a sender writes, through the ring's own atomics. */
	struct brisk_thread *thread = (struct brisk_thread *)cthread;
	struct thread_msg *msg;
	void *obj;

	if (thread == NULL || fn == NULL) {
		BRISK_ERRLOG("send msg: %s is NULL\n", thread ? "fn" : "thread");
		return -EINVAL;
	}
	if (thread_get_state(thread) == THREAD_STATE_EXITED) {
		return -EIO;
	}
	if (brisk_mempool_get(thread_msg_pool, &obj) != 0) {
		return -ENOMEM;
	}
	msg = obj;
	msg->fn = fn;
	msg->arg = ctx;
	/* The ring's enqueue publishes msg->fn/arg with release ordering on its tail. */
	thread_sender_enter(thread);
	if (brisk_ring_enqueue(thread->msgs, msg) != 0) {
		thread_sender_leave(thread);
		brisk_mempool_put(thread_msg_pool, msg);
		return -ENOMEM;
	}
	brisk_wake_notify(&thread->wake);
	thread_sender_leave(thread);
	return 0;
}

int brisk_thread_send_critical_msg(struct brisk_thread *thread, brisk_msg_fn fn)
{
	brisk_msg_fn expected = NULL;

	/* No logging here: this runs in signal handlers (async-signal-safe only). */
	if (thread == NULL || fn == NULL) {
		return -EINVAL;
	}
	/* release: whatever the handler wrote before is visible to the thread
	 * that takes fn out of the slot with acquire */
	thread_sender_enter(thread);
	if (!__atomic_compare_exchange_n(&thread->critical_msg, &expected, fn, false,
					 __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
		thread_sender_leave(thread);
		return -EIO;
	}
	brisk_wake_notify(&thread->wake);
	thread_sender_leave(thread);
	return 0;
}

int brisk_thread_send_msg_slot(struct brisk_thread *thread, struct brisk_msg_slot *slot,
			       brisk_msg_fn fn, void *ctx)
{
	struct brisk_msg_slot *head;

	if (thread == NULL || slot == NULL || fn == NULL) {
		BRISK_ERRLOG("send msg slot: thread, slot and fn are required\n");
		return -EINVAL;
	}
	if (thread_get_state(thread) == THREAD_STATE_EXITED) {
		return -EIO;
	}
	slot->fn = fn;
	slot->ctx = ctx;
	/* A push on an intrusive stack: no capacity, so nothing can refuse it.
	 * release: the slot's fields are visible to the thread that takes the
	 * list with acquire. */
	thread_sender_enter(thread);
	head = __atomic_load_n(&thread->slots, __ATOMIC_RELAXED);
	do {
		slot->next = head;
	} while (!__atomic_compare_exchange_n(&thread->slots, &head, slot, true, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	brisk_wake_notify(&thread->wake);
	thread_sender_leave(thread);
	return 0;
}

/* Takes every slot message, oldest first (the stack holds them newest first). */
static struct brisk_msg_slot *thread_slots_take(struct brisk_thread *thread)
{
	struct brisk_msg_slot *list, *next, *fifo = NULL;

	if (__atomic_load_n(&thread->slots, __ATOMIC_RELAXED) == NULL) {
		return NULL;
	}
	list = __atomic_exchange_n(&thread->slots, NULL, __ATOMIC_ACQUIRE);
	while (list != NULL) {
		next = list->next;
		list->next = fifo;
		fifo = list;
		list = next;
	}
	return fifo;
}

static uint32_t thread_slots_run(struct brisk_thread *thread)
{
	struct brisk_msg_slot *slot = thread_slots_take(thread), *next;
	uint32_t ran = 0;

	for (; slot != NULL; slot = next, ran++) {
		next = slot->next; /* fn may reuse or free its slot */
		slot->fn(slot->ctx);
	}
	return ran;
}

bool thread_msgs_pending(const struct brisk_thread *thread)
{
	/* relaxed: a hint; the thread re-checks on its next poll */
	return __atomic_load_n(&thread->critical_msg, __ATOMIC_RELAXED) != NULL ||
	       __atomic_load_n(&thread->slots, __ATOMIC_RELAXED) != NULL ||
	       !brisk_ring_empty(thread->msgs);
}

uint32_t thread_msgs_run(struct brisk_thread *thread, uint32_t max_msgs)
{
	void *objs[THREAD_MSG_BURST];
	brisk_msg_fn fns[THREAD_MSG_BURST];
	void *args[THREAD_MSG_BURST];
	brisk_msg_fn critical;
	uint32_t ran = 0;
	unsigned n, i;

	/* relaxed check first so the common case costs no locked instruction;
	 * acquire on the exchange pairs with the sender's release */
	if (__atomic_load_n(&thread->critical_msg, __ATOMIC_RELAXED) != NULL) {
		critical = __atomic_exchange_n(&thread->critical_msg, NULL, __ATOMIC_ACQUIRE);
		if (critical != NULL) {
			critical(NULL);
			ran++;
		}
	}

	ran += thread_slots_run(thread);
	while (ran < max_msgs) {
		unsigned want = max_msgs - ran;

		if (want > THREAD_MSG_BURST) {
			want = THREAD_MSG_BURST;
		}
		n = brisk_ring_sc_dequeue_burst(thread->msgs, objs, want, NULL);
		if (n == 0) {
			break;
		}
		for (i = 0; i < n; i++) {
			struct thread_msg *msg = objs[i];

			fns[i] = msg->fn;
			args[i] = msg->arg;
		}
		/* Return the messages before running them, so a handler that
		 * sends messages can reuse them. */
		brisk_mempool_put_bulk(thread_msg_pool, objs, n);
		for (i = 0; i < n; i++) {
			fns[i](args[i]);
		}
		ran += n;
		if (n < want) {
			break;
		}
	}
	return ran;
}

uint32_t thread_msgs_drop(struct brisk_thread *thread)
{
	struct brisk_msg_slot *slot;
	void *objs[THREAD_MSG_BURST];
	uint32_t dropped = 0;
	unsigned n;

	while ((n = brisk_ring_sc_dequeue_burst(thread->msgs, objs, THREAD_MSG_BURST, NULL)) > 0) {
		brisk_mempool_put_bulk(thread_msg_pool, objs, n);
		dropped += n;
	}
	if (__atomic_exchange_n(&thread->critical_msg, NULL, __ATOMIC_ACQUIRE) != NULL) {
		dropped++;
	}
	for (slot = thread_slots_take(thread); slot != NULL; slot = slot->next) {
		dropped++; /* the sender owns the storage: nothing to free */
	}
	return dropped;
}

int thread_send_msg_retry(const struct brisk_thread *thread, brisk_msg_fn fn, void *arg)
{
	uint64_t deadline = 0;
	int rc;

	for (;;) {
		rc = brisk_thread_send_msg(thread, fn, arg);
		if (rc != -ENOMEM) {
			return rc;
		}
		/* Exhaustion is transient (targets drain their rings); give them
		 * a second before reporting it. */
		if (deadline == 0) {
			deadline = brisk_get_ticks() + brisk_get_ticks_hz();
		} else if (brisk_get_ticks() > deadline) {
			BRISK_ERRLOG("send msg to '%s': message pool or ring still exhausted after 1 s\n",
				     brisk_thread_get_name(thread));
			return rc;
		}
		sched_yield();
	}
}

/* ---- brisk_for_each_thread: hop from thread to thread by message ---- */

struct for_each_thread_ctx {
	brisk_msg_fn fn;
	brisk_msg_fn cpl;
	void *ctx;
	uint64_t orig_thread_id;
	uint64_t *ids;
	uint32_t count;
	uint32_t next; /* index in ids of the next thread to visit */
};

static void for_each_thread_visit(void *arg);

static void for_each_thread_complete(void *arg)
{
	struct for_each_thread_ctx *c = arg;

	c->cpl(c->ctx);
	free(c->ids);
	free(c);
}

/* Sends the walk to the next thread that still exists, or completes it. */
static void for_each_thread_next(struct for_each_thread_ctx *c)
{
	struct brisk_thread *t;
	int rc;

	while (c->next < c->count) {
		thread_list_lock();
		t = thread_get_by_id_locked(c->ids[c->next++]);
		/* Sent under the list lock so the target cannot be destroyed meanwhile. */
		rc = t ? thread_send_msg_retry(t, for_each_thread_visit, c) : -ENODEV;
		thread_list_unlock();
		if (rc == 0) {
			return;
		}
		/* Gone or exited since the walk started: skip it. */
	}
	thread_list_lock();
	t = thread_get_by_id_locked(c->orig_thread_id);
	rc = t ? thread_send_msg_retry(t, for_each_thread_complete, c) : -ENODEV;
	thread_list_unlock();
	if (rc != 0) {
		BRISK_ERRLOG("for_each_thread: cannot return to the calling thread (%d); "
			     "completion dropped\n", rc);
		free(c->ids);
		free(c);
	}
}

static void for_each_thread_visit(void *arg)
{
	struct for_each_thread_ctx *c = arg;

	c->fn(c->ctx);
	for_each_thread_next(c);
}

void brisk_for_each_thread(brisk_msg_fn fn, void *ctx, brisk_msg_fn cpl)
{
	struct brisk_thread *self = brisk_get_thread();
	struct for_each_thread_ctx *c;

	if (fn == NULL || cpl == NULL) {
		BRISK_ERRLOG("for_each_thread: %s is NULL\n", fn ? "cpl" : "fn");
		return;
	}
	if (self == NULL) {
		BRISK_ERRLOG("for_each_thread: must be called on a brisk_thread\n");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		BRISK_ERRLOG("for_each_thread: out of memory\n");
		return;
	}
	c->fn = fn;
	c->cpl = cpl;
	c->ctx = ctx;
	c->orig_thread_id = self->id;
	c->ids = thread_snapshot_ids(&c->count);
	if (c->ids == NULL) {
		BRISK_ERRLOG("for_each_thread: out of memory\n");
		free(c);
		return;
	}
	for_each_thread_next(c);
}
