/*
 * Sleep/wake support: the one sleep/wake handshake (struct brisk_wake), used
 * by each thread's message ring here and by each reactor's event ring
 * (lib/event/reactor.c), and each thread's wake fd: an epoll fd holding
 * - the eventfd of its brisk_wake, that senders write only while the thread
 *   is marked asleep, and
 * - fds that modules registered with brisk_interrupt_register (edge-triggered).
 *
 * The asleep mark and the owner's queues form a Dekker-style handshake:
 *   sender:  enqueue;   fence(seq_cst);  if (asleep) write(eventfd)
 *   sleeper: asleep = 1; fence(seq_cst); if (queues not empty) { asleep = 0; don't sleep }
 * With both fences, at least one side sees the other's store: either the
 * sender sees asleep and writes the eventfd, or the sleeper sees the work
 * and stays awake. Work can never sit unnoticed behind a sleeping owner,
 * and a busy owner (asleep == 0) costs senders no system call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "thread_internal.h"

#define WAKE_MAX_EVENTS 32

int brisk_wake_init(struct brisk_wake *wake)
{
	__atomic_store_n(&wake->asleep, 0, __ATOMIC_RELAXED); /* not shared yet */
	wake->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return wake->fd < 0 ? -errno : 0;
}

void brisk_wake_fini(struct brisk_wake *wake)
{
	if (wake->fd >= 0) {
		close(wake->fd);
		wake->fd = -1;
	}
}

void brisk_wake_notify(struct brisk_wake *wake)
{
	uint64_t one = 1;
	ssize_t rc;

	/* seq_cst: orders the caller's enqueue before the load of asleep (see top). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	/* The relaxed load keeps busy owners free of locked instructions; the
	 * exchange lets only one of several concurrent senders pay the write. */
	if (__atomic_load_n(&wake->asleep, __ATOMIC_RELAXED) == 0 ||
	    __atomic_exchange_n(&wake->asleep, 0, __ATOMIC_RELAXED) == 0) {
		return;
	}
	/* write(2) is async-signal-safe; EAGAIN only means the counter is
	 * already huge, i.e. readable, which is all we need. */
	do {
		rc = write(wake->fd, &one, sizeof(one));
	} while (rc < 0 && errno == EINTR);
}

bool brisk_wake_prepare(struct brisk_wake *wake, bool (*pending)(const void *ctx), const void *ctx)
{
	__atomic_store_n(&wake->asleep, 1, __ATOMIC_RELAXED);
	/* seq_cst: orders the store of asleep before the queue check (see top). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (pending(ctx)) {
		__atomic_store_n(&wake->asleep, 0, __ATOMIC_RELAXED);
		return false;
	}
	return true;
}

void brisk_wake_clear(struct brisk_wake *wake)
{
	/* relaxed: the owner polls next, which reads its queues with acquire */
	__atomic_store_n(&wake->asleep, 0, __ATOMIC_RELAXED);
}

void brisk_wake_drain(struct brisk_wake *wake)
{
	uint64_t count;
	ssize_t rc;

	do {
		rc = read(wake->fd, &count, sizeof(count));
	} while (rc < 0 && errno == EINTR);
}

int thread_wake_init(struct brisk_thread *t)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	int rc;

	t->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epoll_fd < 0) {
		rc = -errno;
		BRISK_ERRLOG("thread '%s': epoll_create1 failed: %s\n", t->name, strerror(errno));
		return rc;
	}
	rc = brisk_wake_init(&t->wake);
	if (rc != 0) {
		BRISK_ERRLOG("thread '%s': eventfd failed: %s\n", t->name, strerror(-rc));
		return rc;
	}
	/* Level-triggered: the eventfd stays readable until end_sleep drains it,
	 * so a wake-up can never be lost between two epoll_waits. data.ptr NULL
	 * marks it apart from interrupts. */
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, t->wake.fd, &ev) != 0) {
		rc = -errno;
		BRISK_ERRLOG("thread '%s': adding its eventfd to epoll failed: %s\n", t->name,
			     strerror(errno));
		return rc;
	}
	return 0;
}

void thread_wake_fini(struct brisk_thread *t)
{
	brisk_wake_fini(&t->wake);
	if (t->epoll_fd >= 0) {
		close(t->epoll_fd);
		t->epoll_fd = -1;
	}
}

int brisk_thread_get_wake_fd(struct brisk_thread *thread)
{
	return thread ? thread->epoll_fd : -1;
}

static bool thread_pending(const void *ctx) { return thread_msgs_pending(ctx); }

bool brisk_thread_prepare_sleep(struct brisk_thread *thread)
{
	return thread != NULL && brisk_wake_prepare(&thread->wake, thread_pending, thread);
}

/* Reads the wake fd without blocking and runs the callbacks of the
 * interrupts that fired. Returns the number of events, or -errno. */
static int wake_dispatch(struct brisk_thread *thread)
{
	struct epoll_event events[WAKE_MAX_EVENTS];
	struct brisk_thread *prev;
	struct brisk_interrupt *intr, *tmp;
	int n, i;

	n = epoll_wait(thread->epoll_fd, events, WAKE_MAX_EVENTS, 0);
	if (n <= 0) {
		return n < 0 && errno != EINTR ? -errno : 0;
	}
	prev = brisk_get_thread();
	brisk_set_thread(thread);
	thread->in_dispatch = true;
	for (i = 0; i < n; i++) {
		intr = events[i].data.ptr;
		if (intr == NULL) {
			brisk_wake_drain(&thread->wake);
		} else if (!intr->dead && intr->fn != NULL) {
			intr->fn(intr->ctx);
		}
	}
	thread->in_dispatch = false;
	/* Interrupts unregistered by a callback above were kept until now
	 * because a later event of this batch could still point at them. */
	TAILQ_FOREACH_SAFE(intr, &thread->interrupts, link, tmp) {
		if (intr->dead) {
			TAILQ_REMOVE(&thread->interrupts, intr, link);
			free(intr);
		}
	}
	brisk_set_thread(prev);
	return n;
}

int brisk_thread_end_sleep(struct brisk_thread *thread)
{
	if (thread == NULL) {
		return -EINVAL;
	}
	brisk_wake_clear(&thread->wake);
	thread->stats.sleep_count++;
	thread->intr_checked_tsc = brisk_get_ticks();
	return wake_dispatch(thread);
}

/*
 * A thread that keeps working never sleeps, so end_sleep never runs its
 * interrupt callbacks: an fd-driven module (the RPC server) would starve for
 * as long as another module on the same thread or reactor has I/O going.
 * So a busy poll also looks at the wake fd, at most every
 * THREAD_INTR_BUSY_CHECK_US: one epoll_wait per period costs well under 0.1%
 * of a core, and bounds how late an interrupt is served.
 */
static uint64_t thread_intr_check_ticks(void)
{
	return brisk_us_to_ticks(THREAD_INTR_BUSY_CHECK_US, brisk_get_ticks_hz());
}

uint32_t thread_interrupts_poll(struct brisk_thread *thread, uint64_t now)
{
	if (TAILQ_EMPTY(&thread->interrupts) || thread->in_dispatch ||
	    now - thread->intr_checked_tsc < thread_intr_check_ticks()) {
		return 0;
	}
	thread->intr_checked_tsc = now;
	return wake_dispatch(thread) > 0 ? 1 : 0;
}

struct brisk_interrupt *brisk_interrupt_register(int fd, brisk_interrupt_fn fn, void *ctx,
						 const char *name)
{
	struct brisk_thread *t = brisk_get_thread();
	struct brisk_interrupt *intr;
	struct epoll_event ev;

	if (t == NULL) {
		BRISK_ERRLOG("interrupt register '%s': not called on a brisk_thread\n",
			     name ? name : "(unnamed)");
		return NULL;
	}
	if (fd < 0) {
		BRISK_ERRLOG("interrupt register '%s': fd %d is invalid\n", name ? name : "(unnamed)",
			     fd);
		return NULL;
	}
	intr = calloc(1, sizeof(*intr));
	if (intr == NULL) {
		BRISK_ERRLOG("interrupt register: out of memory\n");
		return NULL;
	}
	intr->thread = t;
	intr->fd = fd;
	intr->fn = fn;
	intr->ctx = ctx;
	if (name != NULL) {
		snprintf(intr->name, sizeof(intr->name), "%s", name);
	} else {
		snprintf(intr->name, sizeof(intr->name), "fd_%d", fd);
	}
	/* Edge-triggered: the module drains its fd itself (in fn or a poller);
	 * level-triggered would keep a sleeping reactor spinning until then. */
	ev.events = EPOLLIN | EPOLLET;
	ev.data.ptr = intr;
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		BRISK_ERRLOG("interrupt register '%s': epoll_ctl(ADD, fd %d) failed: %s\n",
			     intr->name, fd, strerror(errno));
		free(intr);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&t->interrupts, intr, link);
	return intr;
}

void brisk_interrupt_unregister(struct brisk_interrupt **pintr)
{
	struct brisk_interrupt *intr;
	struct brisk_thread *t;

	if (pintr == NULL || *pintr == NULL) {
		return;
	}
	intr = *pintr;
	t = intr->thread;
	if (brisk_get_thread() != t && brisk_get_thread() != NULL) {
		BRISK_ERRLOG("interrupt '%s': unregister must be called on its thread '%s'\n",
			     intr->name, t->name);
		return;
	}
	*pintr = NULL;
	if (intr->dead) {
		return;
	}
	/* The fd may already be closed by its owner, in which case the kernel
	 * dropped it from the set; ENOENT/EBADF are therefore fine. */
	if (epoll_ctl(t->epoll_fd, EPOLL_CTL_DEL, intr->fd, NULL) != 0 && errno != ENOENT &&
	    errno != EBADF) {
		BRISK_WARNLOG("interrupt '%s': epoll_ctl(DEL, fd %d) failed: %s\n", intr->name,
			      intr->fd, strerror(errno));
	}
	if (t->in_dispatch) {
		intr->dead = true;
		return;
	}
	TAILQ_REMOVE(&t->interrupts, intr, link);
	free(intr);
}

void thread_interrupts_free_all(struct brisk_thread *t)
{
	struct brisk_interrupt *intr;

	while ((intr = TAILQ_FIRST(&t->interrupts)) != NULL) {
		BRISK_WARNLOG("thread '%s' destroyed with interrupt '%s' still registered\n",
			      t->name, intr->name);
		TAILQ_REMOVE(&t->interrupts, intr, link);
		free(intr); /* the epoll fd closes with the thread */
	}
}
