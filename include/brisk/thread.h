/*
 * Lightweight threads, messages, pollers, io_devices and io_channels.
 *
 * A brisk_thread is a non-preemptive context. Whoever owns it (a reactor in
 * lib/event, or a test/embedding program) calls brisk_thread_poll() on it
 * from one OS thread at a time. Code reaches another thread's state only by
 * message. Nothing here takes a lock on the message or poller path.
 */
#ifndef BRISK_THREAD_H
#define BRISK_THREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <brisk/cpuset.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_thread;
struct brisk_poller;
struct brisk_io_channel;
struct brisk_io_channel_iter;

#define BRISK_POLLER_IDLE 0
#define BRISK_POLLER_BUSY 1
#define BRISK_THREAD_NAME_MAX 64
#define BRISK_MSG_RING_SIZE 65536 /* per-thread message ring (power of two) */

typedef void (*brisk_msg_fn)(void *ctx);
/* Returns BRISK_POLLER_BUSY if it did work, BRISK_POLLER_IDLE if not. */
typedef int (*brisk_poller_fn)(void *ctx);
/* Called when a thread is created, so a scheduler can place it; 0 or -errno. */
typedef int (*brisk_new_thread_fn)(struct brisk_thread *thread);
/* Called on the thread that owns a registered fd when the fd becomes readable. */
typedef int (*brisk_interrupt_fn)(void *ctx);

/* ---- Library ---- */
/* new_thread_fn may be NULL (the caller polls its threads itself). ctx_sz is
 * the size of a scheduler context kept in each thread (brisk_thread_get_ctx).
 * Needs brisk_env_init first (message rings come from the env layer). */
int brisk_thread_lib_init(brisk_new_thread_fn new_thread_fn, size_t ctx_sz);
struct brisk_thread_lib_opts {
	brisk_new_thread_fn new_thread_fn; /* may be NULL */
	size_t ctx_sz;                     /* scheduler context per thread */
	uint32_t msg_pool_size;            /* messages in flight, all threads; 0 = 262143 */
};
/* Same as brisk_thread_lib_init with every option spelled out (tests use a
 * small message pool). 0, -EINVAL (bad option), -EALREADY, -ENOMEM. */
int brisk_thread_lib_init_ext(const struct brisk_thread_lib_opts *opts);
/* All threads must be destroyed first. */
void brisk_thread_lib_fini(void);

/* ---- Threads ---- */
/* cpumask NULL = every core of the app. NULL on failure (errno set). */
struct brisk_thread *brisk_thread_create(const char *name, const struct brisk_cpuset *cpumask);
/* The same, but the scheduler (new_thread_fn) is not told: the caller owns
 * the thread and polls it from one OS thread at a time until it has exited,
 * then destroys it. For a host program that brings its own threads (fio's
 * jobs polling their Brisk thread, as SPDK's plugin does) while reactors run. */
struct brisk_thread *brisk_thread_create_unscheduled(const char *name, const struct brisk_cpuset *cpumask);
/* Starts the asynchronous exit of the calling/owning thread: it completes once
 * all its pollers are unregistered and its io_channels released (pending
 * messages still run). brisk_thread_is_exited() then turns true. */
int brisk_thread_exit(struct brisk_thread *thread);
bool brisk_thread_is_exited(const struct brisk_thread *thread);
bool brisk_thread_is_running(const struct brisk_thread *thread);
/* Frees an exited thread. */
void brisk_thread_destroy(struct brisk_thread *thread);

/* Runs up to max_msgs messages (0 = a default batch), expired timed pollers and
 * all active pollers, as the current thread. now = brisk_get_ticks() or 0 to
 * read the clock. Returns > 0 if any work was done, 0 if idle. */
int brisk_thread_poll(struct brisk_thread *thread, uint32_t max_msgs, uint64_t now);
/* Tick at which the earliest timed poller expires, 0 if none. */
uint64_t brisk_thread_next_poller_expiration(struct brisk_thread *thread);
bool brisk_thread_has_active_pollers(struct brisk_thread *thread);
bool brisk_thread_has_pollers(struct brisk_thread *thread);
/* No active pollers, no pending messages. */
bool brisk_thread_is_idle(struct brisk_thread *thread);

struct brisk_thread *brisk_get_thread(void);        /* current thread, or NULL */
void brisk_set_thread(struct brisk_thread *thread); /* used by schedulers/tests */
const char *brisk_thread_get_name(const struct brisk_thread *thread);
uint64_t brisk_thread_get_id(const struct brisk_thread *thread);
struct brisk_thread *brisk_thread_get_by_id(uint64_t id);
const struct brisk_cpuset *brisk_thread_get_cpumask(const struct brisk_thread *thread);
int brisk_thread_set_cpumask(struct brisk_thread *thread, const struct brisk_cpuset *cpumask);
void *brisk_thread_get_ctx(struct brisk_thread *thread);
struct brisk_thread *brisk_thread_get_from_ctx(void *ctx);
uint32_t brisk_thread_get_count(void);
/* Iterate all threads (from any thread; the list is read under a lock that is
 * never taken on the I/O path). */
struct brisk_thread *brisk_thread_get_first(void);
struct brisk_thread *brisk_thread_get_next(struct brisk_thread *prev);
/* Thread of the app's first call to brisk_thread_create (the "app thread"). */
struct brisk_thread *brisk_thread_get_app_thread(void);

struct brisk_thread_stats {
	uint64_t busy_tsc; /* ticks spent in polls that did work */
	uint64_t idle_tsc; /* ticks spent in polls that did nothing */
	uint64_t sleep_count; /* times the owner slept on the wake fd */
};
int brisk_thread_get_stats(struct brisk_thread_stats *stats); /* of the current thread */
const struct brisk_thread_stats *brisk_thread_get_stats_of(const struct brisk_thread *thread);
/* Accounts ticks spent by the owner outside brisk_thread_poll (e.g. sleeping) as idle. */
void brisk_thread_update_stats(struct brisk_thread *thread, uint64_t idle_tsc);

/* ---- Messages ---- */
/* Callable from any OS thread (Brisk or not). Messages from one sender to one
 * thread run in order. 0, -ENOMEM (ring full), -EIO (thread exited). */
int brisk_thread_send_msg(const struct brisk_thread *thread, brisk_msg_fn fn, void *ctx);
/* Async-signal-safe: one slot per thread, run before other messages.
 * 0 or -EIO if the slot is taken. */
int brisk_thread_send_critical_msg(struct brisk_thread *thread, brisk_msg_fn fn);
/* Storage for a message that cannot be refused for want of memory: the
 * sender owns it (e.g. inside the object the message is about) and must not
 * reuse it before fn runs. For teardown steps that must not be lost. */
struct brisk_msg_slot {
	struct brisk_msg_slot *next;
	brisk_msg_fn fn;
	void *ctx;
};
/* Like brisk_thread_send_msg but never -ENOMEM: 0, -EINVAL, -EIO (thread
 * exited). Slot messages run in the order sent, not ordered with ring ones. */
int brisk_thread_send_msg_slot(struct brisk_thread *thread, struct brisk_msg_slot *slot,
			       brisk_msg_fn fn, void *ctx);
/* Runs fn on every thread in turn, then cpl on the calling thread. */
void brisk_for_each_thread(brisk_msg_fn fn, void *ctx, brisk_msg_fn cpl);

/* ---- Pollers (on the current thread) ---- */
/* period_us 0 = active poller (runs every poll); otherwise timed. */
struct brisk_poller *brisk_poller_register(brisk_poller_fn fn, void *arg, uint64_t period_us);
struct brisk_poller *brisk_poller_register_named(brisk_poller_fn fn, void *arg,
						 uint64_t period_us, const char *name);
/* Safe from inside the poller itself; sets *poller to NULL. */
void brisk_poller_unregister(struct brisk_poller **poller);
void brisk_poller_pause(struct brisk_poller *poller);
void brisk_poller_resume(struct brisk_poller *poller);
const char *brisk_poller_get_name(const struct brisk_poller *poller);

struct brisk_poller_info {
	const char *name;
	uint64_t id; /* unique among the pollers of its thread, never reused */
	uint64_t period_ticks; /* 0 for active pollers */
	uint64_t run_count;
	uint64_t busy_count;
	bool paused;
};
/* Calls fn for each poller of thread (to be called on that thread). */
void brisk_thread_for_each_poller(struct brisk_thread *thread,
				  void (*fn)(const struct brisk_poller_info *info, void *ctx), void *ctx);

/* ---- The sleep/wake handshake (lib/thread/wake.c) ----
 * The one implementation for every queue whose owner sleeps in epoll: each
 * thread's message ring and each reactor's event ring. The owner marks
 * itself asleep, then re-checks its queues; a sender publishes its work,
 * then writes the eventfd if it sees the mark. With a full fence on each
 * side, one of the two always sees the other (see wake.c), so no wake-up is
 * lost and a busy owner costs senders no system call. */
struct brisk_wake {
	int asleep; /* 1 while the owner sleeps (or is about to); atomics only */
	int fd; /* eventfd, readable once a sender saw the mark */
};
/* Creates the eventfd (level-triggered in the owner's epoll); 0 or -errno. */
int brisk_wake_init(struct brisk_wake *wake);
/* Closes the eventfd (fd -1: nothing to do). */
void brisk_wake_fini(struct brisk_wake *wake);
/* Sender, after publishing its work: wakes the owner if it is marked
 * asleep. Async-signal-safe. */
void brisk_wake_notify(struct brisk_wake *wake);
/* Owner: marks itself asleep, then calls pending(ctx); if work waits the mark
 * is cleared and false returned (do not sleep). */
bool brisk_wake_prepare(struct brisk_wake *wake, bool (*pending)(const void *ctx), const void *ctx);
/* Owner, after sleeping or deciding not to: clears the mark. */
void brisk_wake_clear(struct brisk_wake *wake);
/* Owner, when the eventfd fired: reads it so that it stops being readable. */
void brisk_wake_drain(struct brisk_wake *wake);

/* ---- Sleeping (for the owner of the thread, e.g. a reactor) ----
 * Each thread has an epoll fd, readable when the thread has something to do:
 * a message sent while it sleeps, or a registered fd (edge-triggered). */
int brisk_thread_get_wake_fd(struct brisk_thread *thread);
/* Announces that the owner will sleep on the wake fd. Returns false (and does
 * not sleep-arm) if a message is already pending. Senders write the thread's
 * eventfd only while it is marked asleep, so busy threads pay no syscall. */
bool brisk_thread_prepare_sleep(struct brisk_thread *thread);
/* After waking: clears the asleep mark, drains the wake fd and runs the
 * interrupt callbacks of fds that fired. Returns the number of events. */
int brisk_thread_end_sleep(struct brisk_thread *thread);
/* Registers fd (readable = work to do) on the current thread; fn may be NULL
 * when the module's poller does the work and the fd only has to wake the thread. */
struct brisk_interrupt *brisk_interrupt_register(int fd, brisk_interrupt_fn fn, void *ctx,
						 const char *name);
void brisk_interrupt_unregister(struct brisk_interrupt **intr);

/* ---- io_devices and io_channels ---- */
typedef int (*brisk_io_channel_create_cb)(void *io_device, void *ctx_buf);
typedef void (*brisk_io_channel_destroy_cb)(void *io_device, void *ctx_buf);
typedef void (*brisk_io_device_unregister_cb)(void *io_device);
typedef void (*brisk_channel_msg)(struct brisk_io_channel_iter *i);
typedef void (*brisk_channel_for_each_cpl)(struct brisk_io_channel_iter *i, int status);

/* io_device is any unique pointer. ctx_size bytes of per-channel context. */
void brisk_io_device_register(void *io_device, brisk_io_channel_create_cb create_cb,
			      brisk_io_channel_destroy_cb destroy_cb, uint32_t ctx_size,
			      const char *name);
/* Waits until every channel is released, then calls unregister_cb (may be NULL)
 * on the calling thread. */
void brisk_io_device_unregister(void *io_device, brisk_io_device_unregister_cb unregister_cb);
const char *brisk_io_device_get_name(void *io_device);
/* The current thread's channel (created on first use; reference counted).
 * NULL if the device is unknown, being unregistered, or create_cb failed. */
struct brisk_io_channel *brisk_get_io_channel(void *io_device);
/* Drops a reference; the channel is destroyed asynchronously on its thread. */
void brisk_put_io_channel(struct brisk_io_channel *ch);
void *brisk_io_channel_get_ctx(struct brisk_io_channel *ch);
struct brisk_io_channel *brisk_io_channel_from_ctx(void *ctx);
struct brisk_thread *brisk_io_channel_get_thread(struct brisk_io_channel *ch);
void *brisk_io_channel_get_io_device(struct brisk_io_channel *ch);
uint32_t brisk_io_channel_get_ref_count(struct brisk_io_channel *ch);
/* Visits every thread's channel for io_device in turn (fn runs on the channel's
 * thread and must call brisk_for_each_channel_continue), then cpl runs on the
 * calling thread with the first non-zero status (which also stops the walk). */
void brisk_for_each_channel(void *io_device, brisk_channel_msg fn, void *ctx,
			    brisk_channel_for_each_cpl cpl);
void brisk_for_each_channel_continue(struct brisk_io_channel_iter *i, int status);
void *brisk_io_channel_iter_get_io_device(struct brisk_io_channel_iter *i);
struct brisk_io_channel *brisk_io_channel_iter_get_channel(struct brisk_io_channel_iter *i);
void *brisk_io_channel_iter_get_ctx(struct brisk_io_channel_iter *i);
/* Calls fn for each channel of thread (on that thread), for thread_get_io_channels. */
void brisk_thread_for_each_io_channel(struct brisk_thread *thread,
				      void (*fn)(struct brisk_io_channel *ch, void *ctx), void *ctx);

#ifdef __cplusplus
}
#endif
#endif
