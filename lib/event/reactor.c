/*
 * Reactors: one OS thread pinned per core of the app's cpumask, each polling
 * the brisk_threads placed on it, with hybrid polling.
 *
 * Placement: brisk_thread_create calls reactor_schedule_thread, which picks a
 * core of the thread's cpumask (round-robin) and posts an event to that
 * reactor; the reactor adds the thread to its list when it runs the event. A
 * thread's list is touched only by its reactor, so the poll path takes no lock.
 * A move takes the thread off the old reactor's list (on that reactor) and
 * posts it to the new one in the same way.
 *
 * Hybrid polling: a reactor polls while any thread does work. Once every poll
 * has been idle for BRISK_REACTOR_IDLE_SLEEP_US and no thread has an active
 * poller, it sleeps in epoll_wait on its event eventfd, every thread's wake fd
 * (the thread's own epoll fd: messages and registered fds) and a timerfd armed
 * for the earliest timed poller. Why 200 us: a wake-up costs roughly 5-30 us
 * (syscalls, cache refill), so spinning for ~10x that after the last piece of
 * work keeps request/response traffic on the fast polled path while an idle
 * reactor still stops spinning almost at once (an idle app wakes only for its
 * timed pollers, each wake costing at most 200 us of spinning).
 *
 * Adaptive spin (Brisk's own option; SPDK has none), off by default: with
 * brisk_reactors_set_adaptive_spin(max_us), a reactor woken by work (an
 * event or a message, not its timer) after a gap of at most max_us since its
 * last work spins gap + 1/4 (at most max_us) before its next sleep, so work
 * arriving at that rate finds it polling instead of halted (the halted
 * vCPU's wake-up is the tail of the latency). A gap longer than max_us, or a
 * wake-up by the timer alone, returns the window to the 200 us default: an
 * idle reactor pays at most one max_us spin after its last piece of work.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/ring.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "event_internal.h"

BRISK_LOG_REGISTER_COMPONENT(reactor)

/* Events waiting on one reactor, at most (placements, moves, RPC calls). */
#define REACTOR_EVENT_MAX 16384
/* An event is (fn, arg1, arg2) stored by value as three ring slots. */
#define REACTOR_EVENT_SLOTS 3
#define REACTOR_EVENT_BATCH 64
/* Events taken off the ring per dequeue. */
#define REACTOR_EVENT_BURST 16
#define REACTOR_EPOLL_BATCH 32
/* Do not go to sleep for a timed poller due sooner than this: the syscalls
 * would cost more than spinning until it is due. */
#define REACTOR_MIN_SLEEP_US 20
#define CORE_NONE UINT32_MAX

/* Scheduler context kept in every brisk_thread (brisk_thread_get_ctx). */
struct reactor_lw_thread {
	TAILQ_ENTRY(reactor_lw_thread) link;
	struct event_reactor *reactor; /* owner; NULL while being placed or moved */
	uint32_t core;         /* owner's core, CORE_NONE in transit */
	uint32_t move_to;              /* requested core; written and read on the owner */
	bool wake_fd_added;
	bool exit_requested;
	bool exited;
};
TAILQ_HEAD(reactor_lw_list, reactor_lw_thread);

struct event_reactor {
	uint32_t core;
	pthread_t pthread;
	bool pthread_started;
	/* Events: lib/env's ring in multi-producer / single-consumer mode, the
	 * queue thread messages use, with the same sleep/wake handshake. */
	struct brisk_ring *events;
	struct brisk_wake wake; /* asleep mark + eventfd written by event senders */
	int timer_fd;  /* armed for the earliest timed poller while asleep */
	int epoll_fd;
	bool timer_armed;
	struct reactor_lw_list threads;
	uint64_t last_busy_tsc;
	uint64_t spin_ticks; /* idle time before sleeping (adaptive spin moves it) */
	bool stop_seen;
	/* Statistics: written by the reactor only, read by anyone (relaxed). */
	uint64_t busy_tsc;
	uint64_t idle_tsc;
	uint64_t sleep_count;
	bool in_sleep;
	uint32_t thread_count;
};

static struct event_reactor *g_reactors[BRISK_ENV_MAX_CORES];
static uint32_t g_main_core = CORE_NONE;
static bool g_poll_mode;
/* Adaptive spin bound in us, 0 = off; read by every reactor (relaxed). */
static uint32_t g_adaptive_spin_max_us;
static bool g_initialized;
/* Set once by brisk_reactors_stop; read by every reactor each loop. */
static bool g_stopping;
/* Threads placed and not yet seen exited (shutdown waits for 0). */
static uint32_t g_threads_live;
/* Round-robin cursor for placement. */
static uint32_t g_next_core;
static __thread struct event_reactor *tls_reactor;

static inline void stat_add(uint64_t *stat, uint64_t v)
{
	/* relaxed load+store: single writer (the reactor), readers only need a recent value */
	__atomic_store_n(stat, __atomic_load_n(stat, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

static struct event_reactor *reactor_get(uint32_t core)
{
	if (core >= BRISK_ENV_MAX_CORES) {
		return NULL;
	}
	return g_reactors[core];
}

static struct reactor_lw_thread *lw_of(struct brisk_thread *thread)
{
	return brisk_thread_get_ctx(thread);
}

static struct brisk_thread *thread_of(struct reactor_lw_thread *lw)
{
	return brisk_thread_get_from_ctx(lw);
}

struct event_reactor *event_reactor_get_current(void)
{
	return tls_reactor;
}

uint32_t event_reactor_get_core(const struct event_reactor *reactor)
{
	return reactor->core;
}

uint32_t brisk_reactor_get_current_core(void)
{
	return tls_reactor != NULL ? tls_reactor->core : CORE_NONE;
}

int brisk_reactors_set_adaptive_spin(uint32_t max_us)
{
	if (max_us > BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US) {
		BRISK_ERRLOG("adaptive spin %u us: at most %u us\n", max_us, BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US);
		return -EINVAL;
	}
	__atomic_store_n(&g_adaptive_spin_max_us, max_us, __ATOMIC_RELAXED);
	return 0;
}

uint32_t brisk_reactors_get_adaptive_spin(void) { return __atomic_load_n(&g_adaptive_spin_max_us, __ATOMIC_RELAXED); }

bool brisk_reactors_is_poll_mode(void)
{
	return g_poll_mode;
}

/* ---- Events ---- */

/* A ring slot holds a pointer; the event's function travels in one too. */
union reactor_event_slot {
	brisk_event_fn fn;
	void *ptr;
};

int brisk_event_call(uint32_t core, brisk_event_fn fn, void *arg1, void *arg2)
{
	struct event_reactor *r = reactor_get(core);
	union reactor_event_slot slot;
	void *objs[REACTOR_EVENT_SLOTS];

	if (r == NULL || fn == NULL) {
		return -EINVAL;
	}
	slot.fn = fn;
	objs[0] = slot.ptr;
	objs[1] = arg1;
	objs[2] = arg2;
	/* One bulk enqueue claims the three slots at once and publishes them
	 * together (release on the ring's tail), so events never interleave. */
	if (brisk_ring_mp_enqueue_bulk(r->events, objs, REACTOR_EVENT_SLOTS, NULL) == 0) {
		return -ENOMEM;
	}
	brisk_wake_notify(&r->wake);
	return 0;
}

/* On the reactor: runs up to max events, returns how many ran. */
static uint32_t reactor_events_run(struct event_reactor *r, uint32_t max)
{
	void *objs[REACTOR_EVENT_SLOTS * REACTOR_EVENT_BURST];
	union reactor_event_slot slot;
	uint32_t ran = 0;
	unsigned n;

	while (ran < max) {
		/* Producers publish whole events, so n is a multiple of three. */
		n = brisk_ring_sc_dequeue_burst(r->events, objs, sizeof(objs) / sizeof(objs[0]), NULL);
		for (unsigned i = 0; i + REACTOR_EVENT_SLOTS <= n; i += REACTOR_EVENT_SLOTS) {
			slot.ptr = objs[i];
			slot.fn(objs[i + 1], objs[i + 2]);
		}
		ran += n / REACTOR_EVENT_SLOTS;
		if (n < sizeof(objs) / sizeof(objs[0])) {
			break;
		}
	}
	return ran;
}

static bool reactor_events_pending(const void *ctx)
{
	const struct event_reactor *r = ctx;

	return !brisk_ring_empty(r->events);
}

/* ---- Thread placement ---- */

/* The next reactor core of mask after the round-robin cursor, or CORE_NONE. */
static uint32_t reactor_pick_core(const struct brisk_cpuset *mask)
{
	/* relaxed: the cursor only spreads threads; a lost update is harmless */
	uint32_t start = __atomic_load_n(&g_next_core, __ATOMIC_RELAXED);

	for (uint32_t i = 0; i < BRISK_ENV_MAX_CORES; i++) {
		uint32_t core = (start + i) % BRISK_ENV_MAX_CORES;

		if (g_reactors[core] != NULL && (mask == NULL || brisk_cpuset_get_cpu(mask, core))) {
			__atomic_store_n(&g_next_core, core + 1, __ATOMIC_RELAXED);
			return core;
		}
	}
	return CORE_NONE;
}

static void reactor_request_exit(struct reactor_lw_thread *lw)
{
	struct brisk_thread *thread = thread_of(lw);
	struct brisk_thread *prev = brisk_get_thread();

	if (lw->exit_requested) {
		return;
	}
	lw->exit_requested = true;
	if (!brisk_thread_is_exited(thread) && brisk_thread_is_running(thread)) {
		brisk_set_thread(thread);
		brisk_thread_exit(thread);
		brisk_set_thread(prev);
	}
}

/* Event: thread lw joins the reactor it was posted to. */
static void reactor_add_thread(void *arg1, void *arg2)
{
	struct reactor_lw_thread *lw = arg1;
	struct event_reactor *r = tls_reactor;
	struct brisk_thread *thread = thread_of(lw);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = lw };
	int fd = brisk_thread_get_wake_fd(thread);

	lw->reactor = r;
	lw->move_to = CORE_NONE;
	lw->wake_fd_added = false;
	if (fd >= 0) {
		if (epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0) {
			lw->wake_fd_added = true;
		} else {
			BRISK_ERRLOG("reactor %u: cannot watch wake fd of thread %s: %s\n",
				     r->core, brisk_thread_get_name(thread), strerror(errno));
		}
	}
	TAILQ_INSERT_TAIL(&r->threads, lw, link);
	__atomic_fetch_add(&r->thread_count, 1, __ATOMIC_RELAXED);
	/* release: a reader of core also sees the thread on this reactor's list */
	__atomic_store_n(&lw->core, r->core, __ATOMIC_RELEASE);
	BRISK_DEBUGLOG(reactor, "thread %s on core %u\n", brisk_thread_get_name(thread), r->core);
	if (__atomic_load_n(&g_stopping, __ATOMIC_ACQUIRE)) {
		reactor_request_exit(lw);
	}
}

/* On the owner: takes lw off its list (it is no longer polled here). */
static void reactor_remove_thread(struct event_reactor *r, struct reactor_lw_thread *lw)
{
	struct brisk_thread *thread = thread_of(lw);

	TAILQ_REMOVE(&r->threads, lw, link);
	__atomic_fetch_sub(&r->thread_count, 1, __ATOMIC_RELAXED);
	if (lw->wake_fd_added) {
		epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, brisk_thread_get_wake_fd(thread), NULL);
		lw->wake_fd_added = false;
	}
	lw->reactor = NULL;
	__atomic_store_n(&lw->core, CORE_NONE, __ATOMIC_RELAXED);
}

/* new_thread_fn of the thread library: runs in whoever creates the thread. */
static int reactor_schedule_thread(struct brisk_thread *thread)
{
	struct reactor_lw_thread *lw = lw_of(thread);
	uint32_t core = reactor_pick_core(brisk_thread_get_cpumask(thread));
	int rc;

	memset(lw, 0, sizeof(*lw));
	lw->move_to = CORE_NONE;
	__atomic_store_n(&lw->core, CORE_NONE, __ATOMIC_RELAXED);
	if (core == CORE_NONE) {
		BRISK_ERRLOG("thread %s: its cpumask holds no core of the app\n",
			     brisk_thread_get_name(thread));
		return -EINVAL;
	}
	__atomic_fetch_add(&g_threads_live, 1, __ATOMIC_SEQ_CST);
	rc = brisk_event_call(core, reactor_add_thread, lw, NULL);
	if (rc != 0) {
		__atomic_fetch_sub(&g_threads_live, 1, __ATOMIC_SEQ_CST);
		BRISK_ERRLOG("thread %s: cannot post it to core %u: %s\n",
			     brisk_thread_get_name(thread), core, strerror(-rc));
	}
	return rc;
}

/* On the owner, between polls: hands lw to the reactor of core. */
static void reactor_move_now(struct event_reactor *r, struct reactor_lw_thread *lw, uint32_t core)
{
	int rc;

	reactor_remove_thread(r, lw);
	rc = brisk_event_call(core, reactor_add_thread, lw, NULL);
	if (rc != 0) {
		/* The target ring is full: keep the thread here rather than lose it. */
		BRISK_ERRLOG("thread %s: cannot move to core %u: %s\n",
			     brisk_thread_get_name(thread_of(lw)), core, strerror(-rc));
		reactor_add_thread(lw, NULL);
	}
}

/* Message run on the thread being moved, so move_to is written on its owner. */
static void reactor_move_msg(void *ctx)
{
	struct reactor_lw_thread *lw = lw_of(brisk_get_thread());

	lw->move_to = (uint32_t)(uintptr_t)ctx;
}

int brisk_reactor_move_thread(struct brisk_thread *thread, uint32_t core)
{
	if (thread == NULL || reactor_get(core) == NULL ||
	    !brisk_cpuset_get_cpu(brisk_thread_get_cpumask(thread), core)) {
		return -EINVAL;
	}
	return brisk_thread_send_msg(thread, reactor_move_msg, (void *)(uintptr_t)core);
}

uint32_t brisk_reactor_get_thread_core(const struct brisk_thread *thread)
{
	struct reactor_lw_thread *lw = brisk_thread_get_ctx((struct brisk_thread *)thread);

	/* acquire: pairs with the release in reactor_add_thread */
	return __atomic_load_n(&lw->core, __ATOMIC_ACQUIRE);
}

void event_reactor_for_each_thread(struct event_reactor *reactor,
				   void (*fn)(struct brisk_thread *thread, void *ctx), void *ctx)
{
	struct reactor_lw_thread *lw;

	TAILQ_FOREACH(lw, &reactor->threads, link) {
		if (!lw->exited) {
			fn(thread_of(lw), ctx);
		}
	}
}

int brisk_reactor_get_info(uint32_t core, struct brisk_reactor_info *info)
{
	struct event_reactor *r = reactor_get(core);

	if (r == NULL || info == NULL) {
		return -EINVAL;
	}
	/* relaxed: statistics, a slightly stale value is fine */
	info->lcore = core;
	info->busy_tsc = __atomic_load_n(&r->busy_tsc, __ATOMIC_RELAXED);
	info->idle_tsc = __atomic_load_n(&r->idle_tsc, __ATOMIC_RELAXED);
	info->sleep_count = __atomic_load_n(&r->sleep_count, __ATOMIC_RELAXED);
	info->sleeping = __atomic_load_n(&r->in_sleep, __ATOMIC_RELAXED);
	info->thread_count = __atomic_load_n(&r->thread_count, __ATOMIC_RELAXED);
	return 0;
}

/* ---- The loop ---- */

static void reactor_noop_event(void *arg1, void *arg2)
{
}

/* Wakes every reactor (they re-check the stop state). */
static void reactor_wake_all(void)
{
	for (uint32_t core = 0; core < BRISK_ENV_MAX_CORES; core++) {
		if (g_reactors[core] != NULL) {
			brisk_event_call(core, reactor_noop_event, NULL, NULL);
		}
	}
}

/* After a poll: exited threads leave, moved threads go, a thread whose
 * cpumask no longer holds this core is rescheduled. */
static void reactor_after_poll(struct event_reactor *r, struct reactor_lw_thread *lw)
{
	struct brisk_thread *thread = thread_of(lw);
	const struct brisk_cpuset *mask;
	uint32_t core;

	if (brisk_thread_is_exited(thread)) {
		lw->exited = true;
		if (lw->wake_fd_added) {
			epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, brisk_thread_get_wake_fd(thread), NULL);
			lw->wake_fd_added = false;
		}
		/* acq_rel: the last exit is seen by whoever reads 0 (reactor_stop_step) */
		if (__atomic_fetch_sub(&g_threads_live, 1, __ATOMIC_SEQ_CST) == 1 &&
		    __atomic_load_n(&g_stopping, __ATOMIC_ACQUIRE)) {
			reactor_wake_all(); /* the last thread exited: every reactor may return */
		}
		if (!__atomic_load_n(&g_stopping, __ATOMIC_ACQUIRE)) {
			/* Normal operation: an exited thread is freed at once. At
			 * shutdown it stays until every thread has exited, so no
			 * late message can reach a freed thread. */
			reactor_remove_thread(r, lw);
			brisk_thread_destroy(thread);
		}
		return;
	}
	if (lw->move_to != CORE_NONE) {
		core = lw->move_to;
		lw->move_to = CORE_NONE;
		if (core != r->core && reactor_get(core) != NULL) {
			reactor_move_now(r, lw, core);
		}
		return;
	}
	mask = brisk_thread_get_cpumask(thread);
	if (mask != NULL && !brisk_cpuset_get_cpu(mask, r->core)) {
		core = reactor_pick_core(mask);
		if (core != CORE_NONE) {
			reactor_move_now(r, lw, core);
		}
	}
}

static void reactor_arm_timer(struct event_reactor *r, uint64_t expire_tsc, uint64_t now)
{
	struct itimerspec its = {0};

	if (expire_tsc == 0) {
		if (!r->timer_armed) {
			return;
		}
		r->timer_armed = false;
	} else {
		uint64_t ns = (uint64_t)((unsigned __int128)(expire_tsc - now) * 1000000000u /
					 brisk_get_ticks_hz());

		its.it_value.tv_sec = ns / 1000000000u;
		its.it_value.tv_nsec = ns % 1000000000u;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) {
			its.it_value.tv_nsec = 1;
		}
		r->timer_armed = true;
	}
	if (timerfd_settime(r->timer_fd, 0, &its, NULL) != 0) {
		BRISK_ERRLOG("reactor %u: timerfd_settime: %s\n", r->core, strerror(errno));
	}
}

static void reactor_end_sleep(struct reactor_lw_thread *upto, struct event_reactor *r)
{
	struct reactor_lw_thread *lw;

	TAILQ_FOREACH(lw, &r->threads, link) {
		if (lw == upto) {
			break;
		}
		if (!lw->exited) {
			brisk_thread_end_sleep(thread_of(lw));
		}
	}
}

enum reactor_wake {
	REACTOR_WAKE_NONE, /* did not sleep: something was pending */
	REACTOR_WAKE_TIMER, /* only the timed-poller timer fired */
	REACTOR_WAKE_WORK, /* an event, a message or a registered fd */
};

/* Reads a fired eventfd or timerfd so that it stops being readable. */
static void reactor_drain_fd(struct event_reactor *r, int fd, const char *what)
{
	uint64_t buf;

	if (read(fd, &buf, sizeof(buf)) < 0 && errno != EAGAIN) {
		BRISK_ERRLOG("reactor %u: %s read: %s\n", r->core, what, strerror(errno));
	}
}

/* Sleeps until an event, a message, a registered fd or the earliest timed
 * poller needs the reactor, unless something is already pending. */
static enum reactor_wake reactor_sleep(struct event_reactor *r)
{
	struct epoll_event evs[REACTOR_EPOLL_BATCH];
	struct reactor_lw_thread *lw;
	uint64_t next_expire = 0, now, slept;
	uint64_t hz = brisk_get_ticks_hz();
	enum reactor_wake why = REACTOR_WAKE_TIMER;
	int n;

	TAILQ_FOREACH(lw, &r->threads, link) {
		struct brisk_thread *thread = thread_of(lw);
		uint64_t expire;

		if (lw->exited) {
			continue;
		}
		if (brisk_thread_has_active_pollers(thread)) {
			return REACTOR_WAKE_NONE;
		}
		expire = brisk_thread_next_poller_expiration(thread);
		if (expire != 0 && (next_expire == 0 || expire < next_expire)) {
			next_expire = expire;
		}
	}
	now = brisk_get_ticks();
	if (next_expire != 0 && next_expire <= now + brisk_us_to_ticks(REACTOR_MIN_SLEEP_US, hz)) {
		return REACTOR_WAKE_NONE;
	}

	/* The handshake with event senders (lib/thread/wake.c): either we see
	 * their event here or they see the mark and write the eventfd. */
	if (!brisk_wake_prepare(&r->wake, reactor_events_pending, r)) {
		return REACTOR_WAKE_NONE;
	}
	TAILQ_FOREACH(lw, &r->threads, link) {
		if (!lw->exited && !brisk_thread_prepare_sleep(thread_of(lw))) {
			reactor_end_sleep(lw, r);
			brisk_wake_clear(&r->wake);
			return REACTOR_WAKE_NONE;
		}
	}
	reactor_arm_timer(r, next_expire, now);

	__atomic_store_n(&r->in_sleep, true, __ATOMIC_RELAXED);
	stat_add(&r->sleep_count, 1);
	n = epoll_wait(r->epoll_fd, evs, REACTOR_EPOLL_BATCH, -1);
	__atomic_store_n(&r->in_sleep, false, __ATOMIC_RELAXED);
	brisk_wake_clear(&r->wake);

	for (int i = 0; i < n; i++) {
		if (evs[i].data.ptr == &r->timer_fd) {
			reactor_drain_fd(r, r->timer_fd, "timerfd");
			r->timer_armed = false;
			continue;
		}
		why = REACTOR_WAKE_WORK;
		if (evs[i].data.ptr == &r->wake) {
			brisk_wake_drain(&r->wake);
		}
	}
	reactor_end_sleep(NULL, r);

	slept = brisk_get_ticks() - now;
	stat_add(&r->idle_tsc, slept);
	TAILQ_FOREACH(lw, &r->threads, link) {
		if (!lw->exited) {
			brisk_thread_update_stats(thread_of(lw), slept);
		}
	}
	return why;
}

/* Adaptive spin: the idle window before the next sleep, from why and when
 * the reactor woke (see the top of the file). */
static void reactor_adapt_spin(struct event_reactor *r, enum reactor_wake why, uint64_t now, uint64_t default_ticks,
			       uint64_t hz)
{
	uint32_t max_us = __atomic_load_n(&g_adaptive_spin_max_us, __ATOMIC_RELAXED);
	uint64_t max_ticks = brisk_us_to_ticks(max_us, hz), gap = now - r->last_busy_tsc;

	if (why == REACTOR_WAKE_NONE) {
		return;
	}
	if (max_us == 0 || why == REACTOR_WAKE_TIMER || gap > max_ticks) {
		r->spin_ticks = default_ticks;
		return;
	}
	gap += gap / 4;
	r->spin_ticks = gap < default_ticks ? default_ticks : gap > max_ticks ? max_ticks : gap;
}

/* At shutdown: returns true when this reactor may return. */
static bool reactor_stop_step(struct event_reactor *r)
{
	struct reactor_lw_thread *lw, *next;

	if (!r->stop_seen) {
		r->stop_seen = true;
		TAILQ_FOREACH(lw, &r->threads, link) {
			reactor_request_exit(lw);
		}
	}
	/* acquire: every thread's exit (and its last writes) happened before */
	if (__atomic_load_n(&g_threads_live, __ATOMIC_ACQUIRE) != 0) {
		return false;
	}
	for (lw = TAILQ_FIRST(&r->threads); lw != NULL; lw = next) {
		next = TAILQ_NEXT(lw, link);
		reactor_remove_thread(r, lw);
		brisk_thread_destroy(thread_of(lw));
	}
	return true;
}

static void reactor_run(struct event_reactor *r)
{
	uint64_t hz = brisk_get_ticks_hz();
	uint64_t idle_sleep_ticks = brisk_us_to_ticks(BRISK_REACTOR_IDLE_SLEEP_US, hz);
	uint64_t last = brisk_get_ticks(), now;

	r->last_busy_tsc = last;
	r->spin_ticks = idle_sleep_ticks;
	for (;;) {
		struct reactor_lw_thread *lw, *next;
		bool busy = reactor_events_run(r, REACTOR_EVENT_BATCH) > 0;

		for (lw = TAILQ_FIRST(&r->threads); lw != NULL; lw = next) {
			next = TAILQ_NEXT(lw, link);
			if (lw->exited) {
				continue;
			}
			if (brisk_thread_poll(thread_of(lw), 0, 0) > 0) {
				busy = true;
			}
			reactor_after_poll(r, lw);
		}

		now = brisk_get_ticks();
		if (busy) {
			stat_add(&r->busy_tsc, now - last);
			r->last_busy_tsc = now;
		} else {
			stat_add(&r->idle_tsc, now - last);
		}
		last = now;

		/* acquire: pairs with the release in brisk_reactors_stop */
		if (__atomic_load_n(&g_stopping, __ATOMIC_ACQUIRE) && reactor_stop_step(r)) {
			break;
		}
		if (!g_poll_mode && !busy && now - r->last_busy_tsc >= r->spin_ticks) {
			enum reactor_wake why = reactor_sleep(r);

			last = brisk_get_ticks();
			reactor_adapt_spin(r, why, last, idle_sleep_ticks, hz);
		}
	}
}

/* ---- Set-up and tear-down ---- */

static void reactor_free(struct event_reactor *r)
{
	if (r->epoll_fd >= 0) {
		close(r->epoll_fd);
	}
	brisk_wake_fini(&r->wake);
	if (r->timer_fd >= 0) {
		close(r->timer_fd);
	}
	free(r->events);
	free(r);
}

static int reactor_watch(struct event_reactor *r, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };

	ev.data.ptr = fd == r->wake.fd ? (void *)&r->wake : (void *)&r->timer_fd;
	return epoll_ctl(r->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

/* The event ring: any thread enqueues, only the reactor dequeues. Ordinary
 * memory, as the reactor itself: it is control-plane state, not DMA memory. */
static int reactor_events_alloc(struct event_reactor *r)
{
	unsigned count = REACTOR_EVENT_MAX * REACTOR_EVENT_SLOTS;
	unsigned flags = BRISK_RING_F_SC_DEQ | BRISK_RING_F_EXACT_SZ;
	long len = brisk_ring_get_memsize_flags(count, flags);
	void *mem = NULL;

	if (len < 0) {
		return (int)len;
	}
	/* brisk_ring_init wants 128-byte alignment (head and tail on separate lines). */
	if (posix_memalign(&mem, BRISK_RING_SIDE_ALIGN, (size_t)len) != 0) {
		return -ENOMEM;
	}
	r->events = mem;
	return brisk_ring_init(r->events, "reactor_events", count, flags);
}

static int reactor_alloc(uint32_t core, struct event_reactor **out)
{
	struct event_reactor *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL) {
		return -ENOMEM;
	}
	r->core = core;
	r->epoll_fd = r->wake.fd = r->timer_fd = -1;
	TAILQ_INIT(&r->threads);
	rc = reactor_events_alloc(r);
	if (rc == 0) {
		rc = brisk_wake_init(&r->wake);
	}
	r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	r->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (rc == 0 && (r->epoll_fd < 0 || r->timer_fd < 0)) {
		rc = -errno;
	}
	if (rc == 0) {
		rc = reactor_watch(r, r->wake.fd);
	}
	if (rc == 0) {
		rc = reactor_watch(r, r->timer_fd);
	}
	if (rc != 0) {
		BRISK_ERRLOG("reactor %u: cannot create its event ring or fds: %s\n", core, strerror(-rc));
		reactor_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static void reactors_free_all(void)
{
	for (uint32_t core = 0; core < BRISK_ENV_MAX_CORES; core++) {
		if (g_reactors[core] != NULL) {
			reactor_free(g_reactors[core]);
			g_reactors[core] = NULL;
		}
	}
}

int brisk_reactors_init(bool poll_mode)
{
	uint32_t core;
	int rc;

	if (g_initialized) {
		BRISK_ERRLOG("reactors are already initialised\n");
		return -EALREADY;
	}
	if (!brisk_env_is_initialized()) {
		BRISK_ERRLOG("brisk_env_init must run before brisk_reactors_init\n");
		return -EINVAL;
	}
	BRISK_ENV_FOREACH_CORE(core) {
		if (core >= BRISK_ENV_MAX_CORES) {
			BRISK_ERRLOG("core %u is beyond the %u reactors supported\n", core,
				     BRISK_ENV_MAX_CORES);
			rc = -EINVAL;
			goto fail;
		}
		rc = reactor_alloc(core, &g_reactors[core]);
		if (rc != 0) {
			goto fail;
		}
	}
	g_main_core = brisk_env_get_main_core();
	g_poll_mode = poll_mode;
	__atomic_store_n(&g_stopping, false, __ATOMIC_SEQ_CST);
	__atomic_store_n(&g_threads_live, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&g_next_core, 0, __ATOMIC_SEQ_CST);
	rc = brisk_thread_lib_init(reactor_schedule_thread, sizeof(struct reactor_lw_thread));
	if (rc != 0) {
		BRISK_ERRLOG("thread library init failed: %s\n", strerror(-rc));
		goto fail;
	}
	g_initialized = true;
	return 0;
fail:
	reactors_free_all();
	return rc;
}

static void reactor_thread_setup(struct event_reactor *r)
{
	char name[16];
	int rc;

	tls_reactor = r;
	rc = brisk_env_thread_pin(r->core);
	if (rc != 0) {
		BRISK_WARNLOG("reactor %u: cannot pin to its core: %s\n", r->core, strerror(-rc));
	}
	/* Timed pollers should fire on time, not up to 50 us late. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	snprintf(name, sizeof(name), "reactor_%u", r->core);
	pthread_setname_np(pthread_self(), name);
}

static void *reactor_thread_main(void *arg)
{
	struct event_reactor *r = arg;

	reactor_thread_setup(r);
	reactor_run(r);
	tls_reactor = NULL;
	return NULL;
}

int brisk_reactors_start(void)
{
	struct event_reactor *main_r;
	sigset_t block, old;
	uint32_t core;
	int rc = 0;

	if (!g_initialized || (main_r = reactor_get(g_main_core)) == NULL) {
		BRISK_ERRLOG("reactors are not initialised\n");
		return -EINVAL;
	}
	/* Signals are for the main OS thread: the other reactors block them. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	BRISK_ENV_FOREACH_CORE(core) {
		struct event_reactor *r = g_reactors[core];

		if (core == g_main_core) {
			continue;
		}
		rc = -pthread_create(&r->pthread, NULL, reactor_thread_main, r);
		if (rc != 0) {
			BRISK_ERRLOG("cannot start the reactor of core %u: %s\n", core, strerror(-rc));
			break;
		}
		r->pthread_started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		/* Let the started ones exit (they own no thread yet, or they exit them). */
		brisk_reactors_stop();
	}

	reactor_thread_setup(main_r);
	reactor_run(main_r);
	tls_reactor = NULL;

	BRISK_ENV_FOREACH_CORE(core) {
		struct event_reactor *r = g_reactors[core];

		if (r->pthread_started) {
			pthread_join(r->pthread, NULL);
			r->pthread_started = false;
		}
	}
	return rc;
}

void brisk_reactors_stop(void)
{
	if (!g_initialized) {
		return;
	}
	/* release: a reactor that sees the flag also sees what led to it */
	__atomic_store_n(&g_stopping, true, __ATOMIC_RELEASE);
	reactor_wake_all();
}

void brisk_reactors_fini(void)
{
	if (!g_initialized) {
		return;
	}
	brisk_thread_lib_fini();
	reactors_free_all();
	g_main_core = CORE_NONE;
	__atomic_store_n(&g_adaptive_spin_max_us, 0, __ATOMIC_RELAXED);
	g_initialized = false;
}
