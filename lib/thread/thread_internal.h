/*
 * Private to lib/thread: how threads (thread.c), messages (msg.c), pollers
 * (poller.c), io_channels (io_channel.c) and sleep/wake support (wake.c) fit
 * together.
 *
 * Ownership: everything in a brisk_thread belongs to the one OS thread that
 * is polling it, except the fields marked "shared", which other OS threads
 * (message senders, signal handlers) read or write with atomics. The global
 * thread list and the io_device registry are under mutexes that are never
 * taken on the message or poller path.
 */
#ifndef BRISK_THREAD_INTERNAL_H
#define BRISK_THREAD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <brisk/cpuset.h>
#include <brisk/queue.h>
#include <brisk/thread.h>

#define THREAD_MSG_BURST 32          /* messages dequeued per ring access */
#define THREAD_DEFAULT_MAX_MSGS 32   /* per poll when the caller passes 0 */
#define THREAD_DEFAULT_MSG_POOL_SIZE 262143
#define THREAD_EXIT_WARN_SEC 5       /* warn when a thread stays exiting this long */
#define THREAD_POLLER_NAME_MAX 64
#define THREAD_DEVICE_NAME_MAX 64
/* How often a thread that never sleeps still looks at its interrupt fds. */
#define THREAD_INTR_BUSY_CHECK_US 500
#define THREAD_MAX_PERIOD_US (365ull * 24 * 3600 * 1000000) /* one year */

struct brisk_ring;
struct brisk_mempool;

/* A message as it sits in the global pool and on a thread's ring. */
struct thread_msg {
	brisk_msg_fn fn;
	void *arg;
};

enum thread_state {
	THREAD_STATE_RUNNING = 0,
	THREAD_STATE_EXITING, /* brisk_thread_exit called; waits for pollers and channels */
	THREAD_STATE_EXITED,  /* messages are refused; may be destroyed */
};

/*
 * Poller states. Lists are changed only outside a poller's own callback: a
 * running poller that pauses or unregisters itself is only marked, and poll
 * moves or frees it once the callback returns.
 */
enum poller_state {
	POLLER_STATE_WAITING = 0,  /* on the active or timed list */
	POLLER_STATE_RUNNING,      /* its callback is on the stack */
	POLLER_STATE_PAUSING,      /* paused from inside its callback */
	POLLER_STATE_PAUSED,       /* on the paused list */
	POLLER_STATE_UNREGISTERED, /* unregistered from inside its callback */
};

struct brisk_poller {
	TAILQ_ENTRY(brisk_poller) link;
	struct brisk_thread *thread;
	brisk_poller_fn fn;
	void *arg;
	uint64_t period_ticks; /* 0 = active poller */
	uint64_t next_run;     /* timed pollers: tick of the next run */
	uint64_t loop_id;      /* active pollers: thread->active_loop_id when listed */
	enum poller_state state;
	uint64_t run_count;
	uint64_t busy_count;
	uint64_t id;           /* unique on its thread, as SPDK's thread_get_pollers reports */
	char name[THREAD_POLLER_NAME_MAX];
};
TAILQ_HEAD(thread_poller_list, brisk_poller);

struct brisk_interrupt {
	TAILQ_ENTRY(brisk_interrupt) link;
	struct brisk_thread *thread;
	int fd;
	brisk_interrupt_fn fn;
	void *ctx;
	bool dead; /* unregistered while end_sleep was dispatching events */
	char name[THREAD_POLLER_NAME_MAX];
};
TAILQ_HEAD(thread_interrupt_list, brisk_interrupt);

struct thread_io_device;

struct brisk_io_channel {
	TAILQ_ENTRY(brisk_io_channel) link; /* thread->io_channels */
	struct brisk_thread *thread;
	struct thread_io_device *dev;
	uint32_t ref;          /* brisk_get_io_channel references */
	uint32_t destroy_ref;  /* deferred-destroy messages in flight */
	uint8_t ctx[] __attribute__((aligned(16)));
};
TAILQ_HEAD(thread_io_channel_list, brisk_io_channel);

struct brisk_thread {
	/* ---- Shared with other OS threads (atomics only) ---- */
	uint64_t id;                 /* constant after creation */
	int state; /* enum thread_state */
	brisk_msg_fn critical_msg;   /* single-slot, async-signal-safe */
	struct brisk_ring *msgs;     /* MPSC ring of struct thread_msg * */
	struct brisk_msg_slot *slots; /* lock-free LIFO of caller-owned messages (newest first) */
	struct brisk_wake wake; /* asleep mark + eventfd written by senders that see it */
	/* Senders between their enqueue and the end of their wake-up: a message
	 * can run, and the thread be destroyed, before its sender is done with
	 * `wake`; brisk_thread_destroy waits for this to reach 0 before freeing. */
	uint32_t senders;

	/* ---- Owned by the polling OS thread ---- */
	int epoll_fd; /* the wake fd: wake.fd + registered interrupts */
	char name[BRISK_THREAD_NAME_MAX];
	struct brisk_cpuset cpumask;
	void *msgs_mem;              /* backing memory of msgs */

	struct thread_poller_list active_pollers;
	struct thread_poller_list timed_pollers; /* sorted by next_run */
	struct thread_poller_list paused_pollers;
	/* Next poller of the loop in progress, kept valid when pollers leave lists. */
	struct brisk_poller *active_cursor;
	struct brisk_poller *timed_cursor;
	uint64_t active_loop_id;     /* counts active-poller loops */
	uint64_t next_poller_id;     /* last id given; ids start at 1, unique per thread */

	/* Changed only by the owner, under the io_device mutex so that
	 * brisk_for_each_channel may read it from another thread. */
	struct thread_io_channel_list io_channels;

	struct thread_interrupt_list interrupts;
	bool in_dispatch;            /* interrupt unregister must defer the free */
	uint64_t intr_checked_tsc;   /* last look at the wake fd (sleep or busy poll) */

	uint64_t tsc_last;           /* `now` of the latest poll: base for new timed pollers */
	struct brisk_thread_stats stats;
	uint64_t exit_start_tsc;
	bool exit_warned;

	TAILQ_ENTRY(brisk_thread) link; /* global list, under the list mutex */

	uint8_t ctx[] __attribute__((aligned(64))); /* scheduler context, ctx_sz bytes */
};

/* ---- thread.c ---- */
extern struct brisk_mempool *thread_msg_pool;
void thread_list_lock(void);
void thread_list_unlock(void);
/* Under thread_list_lock. */
struct brisk_thread *thread_get_by_id_locked(uint64_t id);
/* Ids of every thread not yet exited, in list order (caller frees). */
uint64_t *thread_snapshot_ids(uint32_t *count);
/* Same under thread_list_lock, keeping the threads for which keep() is true. */
uint64_t *thread_snapshot_ids_locked(bool (*keep)(struct brisk_thread *t, void *arg), void *arg,
				     uint32_t *count);
static inline int thread_get_state(const struct brisk_thread *t)
{
	/* acquire: a sender that sees EXITED must not touch the ring afterwards */
	return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
}

/* ---- msg.c ---- */
/* Runs the critical message and up to max_msgs messages; returns how many ran. */
uint32_t thread_msgs_run(struct brisk_thread *thread, uint32_t max_msgs);
bool thread_msgs_pending(const struct brisk_thread *thread);
/* Returns undelivered messages to the pool (thread being destroyed). */
uint32_t thread_msgs_drop(struct brisk_thread *thread);
/* Like brisk_thread_send_msg, but retries for a while when the pool or ring
 * is exhausted; for control-path hops that must not be lost. */
int thread_send_msg_retry(const struct brisk_thread *thread, brisk_msg_fn fn, void *arg);

/* ---- poller.c ---- */
/* Returns the number of pollers that reported BUSY. */
uint32_t thread_pollers_run_active(struct brisk_thread *thread);
uint32_t thread_pollers_run_timed(struct brisk_thread *thread, uint64_t now);
bool thread_pollers_any(const struct brisk_thread *thread); /* including paused */
void thread_pollers_log_remaining(const struct brisk_thread *thread);
void thread_pollers_free_all(struct brisk_thread *thread);

/* ---- io_channel.c ---- */
void thread_io_channels_log_remaining(const struct brisk_thread *thread);

/* ---- wake.c ---- */
int thread_wake_init(struct brisk_thread *thread);
void thread_wake_fini(struct brisk_thread *thread);
void thread_interrupts_free_all(struct brisk_thread *thread);
/* From a poll at tick now: runs the callbacks of interrupts that fired, at
 * most every THREAD_INTR_BUSY_CHECK_US. Returns 1 if any event was seen. */
uint32_t thread_interrupts_poll(struct brisk_thread *thread, uint64_t now);

/* Brackets a sender's use of a thread it queued a message on (see senders). */
static inline void thread_sender_enter(struct brisk_thread *t) { __atomic_add_fetch(&t->senders, 1, __ATOMIC_RELAXED); }

/* release: pairs with brisk_thread_destroy's acquire load before the free. */
static inline void thread_sender_leave(struct brisk_thread *t) { __atomic_sub_fetch(&t->senders, 1, __ATOMIC_RELEASE); }

#endif
