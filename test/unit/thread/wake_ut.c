/*
 * Sleep/wake support: prepare_sleep refuses with work pending; a message or
 * critical message to a thread marked asleep makes its wake fd readable; a
 * busy thread's senders do not write the eventfd; registered interrupt fds
 * wake the thread and their callbacks run in end_sleep (on the thread), and
 * also from the polls of a thread that never sleeps (within a few ms); a
 * sleeper/sender stress run never loses a wake-up.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"

static struct brisk_thread *g_t;

static int suite_init(void)
{
	g_t = brisk_thread_create("sleeper", NULL);
	return g_t ? 0 : -1;
}

static int suite_fini(void)
{
	brisk_set_thread(NULL);
	brisk_thread_exit(g_t);
	brisk_thread_poll(g_t, 0, 0);
	if (!brisk_thread_is_exited(g_t)) {
		return -1;
	}
	brisk_thread_destroy(g_t);
	return 0;
}

/* 1 if fd is readable within timeout_ms, 0 if not, -1 on error. */
static int readable(int fd, int timeout_ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int n;

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		return -1;
	}
	n = epoll_wait(ep, &out, 1, timeout_ms);
	close(ep);
	return n;
}

static int g_msgs;
static void count_msg(void *arg)
{
	g_msgs++;
}

static void test_prepare_sleep(void)
{
	int fd = brisk_thread_get_wake_fd(g_t);

	CU_ASSERT(fd >= 0);
	CU_ASSERT_EQUAL(brisk_thread_get_wake_fd(NULL), -1);
	CU_ASSERT(!brisk_thread_prepare_sleep(NULL));
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(NULL), -EINVAL);

	/* A pending message: no sleep. */
	CU_ASSERT_EQUAL(brisk_thread_send_msg(g_t, count_msg, NULL), 0);
	CU_ASSERT(!brisk_thread_prepare_sleep(g_t));
	brisk_thread_poll(g_t, 0, 0);
	/* A pending critical message: no sleep either. */
	CU_ASSERT_EQUAL(brisk_thread_send_critical_msg(g_t, count_msg), 0);
	CU_ASSERT(!brisk_thread_prepare_sleep(g_t));
	brisk_thread_poll(g_t, 0, 0);

	/* Nothing pending: may sleep, and the wake fd is quiet. */
	CU_ASSERT(brisk_thread_prepare_sleep(g_t));
	CU_ASSERT_EQUAL(readable(fd, 0), 0);
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 0);
}

static void test_message_wakes_sleeper(void)
{
	int fd = brisk_thread_get_wake_fd(g_t);

	g_msgs = 0;
	CU_ASSERT(brisk_thread_prepare_sleep(g_t));
	CU_ASSERT_EQUAL(brisk_thread_send_msg(g_t, count_msg, NULL), 0);
	CU_ASSERT_EQUAL(readable(fd, 1000), 1);
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 1);
	/* end_sleep drained the eventfd. */
	CU_ASSERT_EQUAL(readable(fd, 0), 0);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, 0), 1);
	CU_ASSERT_EQUAL(g_msgs, 1);

	/* Several senders while asleep: still one readable wake fd, drained once. */
	CU_ASSERT(brisk_thread_prepare_sleep(g_t));
	for (int i = 0; i < 10; i++) {
		CU_ASSERT_EQUAL(brisk_thread_send_msg(g_t, count_msg, NULL), 0);
	}
	CU_ASSERT_EQUAL(readable(fd, 1000), 1);
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 1);
	CU_ASSERT_EQUAL(readable(fd, 0), 0);
	brisk_thread_poll(g_t, 0, 0);
	CU_ASSERT_EQUAL(g_msgs, 11);

	/* A critical message wakes it too. */
	CU_ASSERT(brisk_thread_prepare_sleep(g_t));
	CU_ASSERT_EQUAL(brisk_thread_send_critical_msg(g_t, count_msg), 0);
	CU_ASSERT_EQUAL(readable(fd, 1000), 1);
	brisk_thread_end_sleep(g_t);
	brisk_thread_poll(g_t, 0, 0);
	CU_ASSERT_EQUAL(g_msgs, 12);
}

static void test_busy_thread_no_write(void)
{
	int fd = brisk_thread_get_wake_fd(g_t);

	/* Not marked asleep: the sender must not write the eventfd. */
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(brisk_thread_send_msg(g_t, count_msg, NULL), 0);
	}
	CU_ASSERT_EQUAL(readable(fd, 0), 0);
	/* After end_sleep the mark is cleared: same. */
	CU_ASSERT(!brisk_thread_prepare_sleep(g_t));
	brisk_thread_poll(g_t, 0, 0);
	CU_ASSERT(brisk_thread_prepare_sleep(g_t));
	brisk_thread_end_sleep(g_t);
	CU_ASSERT_EQUAL(brisk_thread_send_msg(g_t, count_msg, NULL), 0);
	CU_ASSERT_EQUAL(readable(fd, 0), 0);
	brisk_thread_poll(g_t, 0, 0);
}

/* ---- Interrupts ---- */

struct intr_ctx {
	int efd;
	int calls;
	struct brisk_thread *ran_on;
	struct brisk_interrupt **unregister_self;
	struct brisk_interrupt **unregister_other;
};

static int on_interrupt(void *arg)
{
	struct intr_ctx *c = arg;
	uint64_t v;

	c->calls++;
	c->ran_on = brisk_get_thread();
	/* Edge-triggered: drain, as a module does. */
	if (read(c->efd, &v, sizeof(v)) != sizeof(v)) {
		CU_FAIL("interrupt fd not readable in its callback");
	}
	if (c->unregister_self != NULL) {
		brisk_interrupt_unregister(c->unregister_self);
	}
	if (c->unregister_other != NULL) {
		brisk_interrupt_unregister(c->unregister_other);
	}
	return 0;
}

static void kick(int efd)
{
	uint64_t one = 1;

	CU_ASSERT_EQUAL(write(efd, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static void test_interrupt_wakes(void)
{
	int fd = brisk_thread_get_wake_fd(g_t);
	struct intr_ctx c = { .efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	struct brisk_interrupt *intr;

	CU_ASSERT_FATAL(c.efd >= 0);
	brisk_set_thread(g_t);
	intr = brisk_interrupt_register(c.efd, on_interrupt, &c, "test_efd");
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(intr);

	CU_ASSERT(brisk_thread_prepare_sleep(g_t));
	CU_ASSERT_EQUAL(readable(fd, 0), 0);
	kick(c.efd);
	CU_ASSERT_EQUAL(readable(fd, 1000), 1);
	CU_ASSERT_EQUAL(c.calls, 0); /* callbacks run in end_sleep, not before */
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 1);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_PTR_EQUAL(c.ran_on, g_t);
	CU_ASSERT_PTR_NULL(brisk_get_thread()); /* restored */
	CU_ASSERT_EQUAL(readable(fd, 0), 0);

	/* It wakes a busy thread's fd too (the fd has no asleep check); the
	 * owner simply finds it at its next end_sleep. */
	kick(c.efd);
	CU_ASSERT_EQUAL(readable(fd, 100), 1);
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 1);
	CU_ASSERT_EQUAL(c.calls, 2);

	brisk_set_thread(g_t);
	brisk_interrupt_unregister(&intr);
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NULL(intr);
	kick(c.efd);
	CU_ASSERT_EQUAL(readable(fd, 50), 0);
	close(c.efd);
}

static void test_interrupt_without_callback(void)
{
	int fd = brisk_thread_get_wake_fd(g_t);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct brisk_interrupt *intr;

	brisk_set_thread(g_t);
	intr = brisk_interrupt_register(efd, NULL, NULL, NULL);
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(intr);
	CU_ASSERT(brisk_thread_prepare_sleep(g_t));
	kick(efd);
	CU_ASSERT_EQUAL(readable(fd, 1000), 1);
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 1);
	brisk_set_thread(g_t);
	brisk_interrupt_unregister(&intr);
	brisk_set_thread(NULL);
	close(efd);
}

static void test_interrupt_unregister_in_callback(void)
{
	struct intr_ctx a = { .efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	struct intr_ctx b = { .efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	struct brisk_interrupt *ia, *ib;

	brisk_set_thread(g_t);
	ia = brisk_interrupt_register(a.efd, on_interrupt, &a, "a");
	ib = brisk_interrupt_register(b.efd, on_interrupt, &b, "b");
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ia);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
	/* Both fire in one batch; whichever runs first unregisters both. */
	a.unregister_self = &ia;
	a.unregister_other = &ib;
	b.unregister_self = &ib;
	b.unregister_other = &ia;
	kick(a.efd);
	kick(b.efd);
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 2);
	CU_ASSERT_EQUAL(a.calls + b.calls, 1);
	CU_ASSERT_PTR_NULL(ia);
	CU_ASSERT_PTR_NULL(ib);
	kick(a.efd);
	kick(b.efd);
	CU_ASSERT_EQUAL(brisk_thread_end_sleep(g_t), 0);
	close(a.efd);
	close(b.efd);
}

static void test_interrupt_bad_input(void)
{
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct brisk_interrupt *intr;

	CU_ASSERT_PTR_NULL(brisk_interrupt_register(efd, NULL, NULL, "no_thread"));
	brisk_set_thread(g_t);
	CU_ASSERT_PTR_NULL(brisk_interrupt_register(-1, NULL, NULL, "bad_fd"));
	CU_ASSERT_PTR_NULL(brisk_interrupt_register(100000, NULL, NULL, "not_open"));
	intr = brisk_interrupt_register(efd, NULL, NULL, "twice");
	CU_ASSERT_PTR_NOT_NULL(intr);
	/* The same fd twice on one thread: epoll refuses it. */
	CU_ASSERT_PTR_NULL(brisk_interrupt_register(efd, NULL, NULL, "twice"));
	brisk_interrupt_unregister(&intr);
	brisk_interrupt_unregister(NULL);
	brisk_set_thread(NULL);
	close(efd);
}

/* A thread kept busy by an active poller never sleeps; its interrupts must
 * still be served by its polls, within a few ms (the RPC server's socket
 * went unserved for up to a second under I/O load). */
static int busy_poller(void *arg)
{
	return BRISK_POLLER_BUSY;
}

static void test_interrupt_served_while_busy(void)
{
	struct intr_ctx c = { .efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	struct brisk_interrupt *intr;
	struct brisk_poller *busy;
	uint64_t start, hz = brisk_get_ticks_hz();

	CU_ASSERT_FATAL(c.efd >= 0);
	brisk_set_thread(g_t);
	intr = brisk_interrupt_register(c.efd, on_interrupt, &c, "busy_efd");
	busy = brisk_poller_register_named(busy_poller, NULL, 0, "busy");
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(intr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(busy);
	brisk_thread_poll(g_t, 0, 0);
	kick(c.efd);
	CU_ASSERT_EQUAL(c.calls, 0); /* not inside the write */
	start = brisk_get_ticks();
	while (c.calls == 0 && brisk_get_ticks() - start < hz / 20) {
		brisk_thread_poll(g_t, 0, 0);
	}
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT(brisk_get_ticks() - start < hz / 100); /* within 10 ms */
	CU_ASSERT_PTR_EQUAL(c.ran_on, g_t);
	brisk_set_thread(g_t);
	brisk_poller_unregister(&busy);
	brisk_interrupt_unregister(&intr);
	brisk_set_thread(NULL);
	close(c.efd);
}

/* ---- Stress: a real sleeper and a sender on two OS threads ---- */

#define STRESS_MSGS 5000
static int g_stress_done; /* set by the sleeper when it gives up or is done */
static uint64_t g_stress_received; /* written by the sleeper, read by the sender */
static int g_lost_wakeups;

static void stress_msg(void *arg)
{
	/* release: the sender waits on this before sending the next message */
	__atomic_store_n(&g_stress_received, g_stress_received + 1, __ATOMIC_RELEASE);
}

static bool stress_done(void) { return __atomic_load_n(&g_stress_done, __ATOMIC_ACQUIRE) != 0; }

/* Ping-pong: one message at a time, the next only once the previous ran, so
 * a lost wake-up cannot be rescued by a later message: it shows as a timeout. */
static void *stress_sender(void *arg)
{
	for (uint64_t i = 0; i < STRESS_MSGS && !stress_done(); i++) {
		/* Vary the delay so the send lands in every phase of the sleeper. */
		uint64_t until = brisk_get_ticks() + brisk_us_to_ticks(i % 7, brisk_get_ticks_hz());
		while (brisk_get_ticks() < until) {
		}
		while (brisk_thread_send_msg(g_t, stress_msg, NULL) == -ENOMEM) {
			usleep(10);
		}
		while (__atomic_load_n(&g_stress_received, __ATOMIC_ACQUIRE) <= i && !stress_done()) {
		}
	}
	return NULL;
}

static void test_no_lost_wakeup(void)
{
	int fd = brisk_thread_get_wake_fd(g_t);
	struct epoll_event ev;
	pthread_t tid;
	int sleeps = 0, rechecks = 0;
	uint64_t deadline;

	g_stress_received = 0;
	g_lost_wakeups = 0;
	__atomic_store_n(&g_stress_done, 0, __ATOMIC_RELAXED);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tid, NULL, stress_sender, NULL), 0);
	deadline = brisk_get_ticks() + 60 * brisk_get_ticks_hz();
	while (g_stress_received < STRESS_MSGS && brisk_get_ticks() < deadline) {
		if (brisk_thread_poll(g_t, 0, 0) > 0) {
			continue;
		}
		/* Widen the window between "found nothing" and "going to sleep",
		 * where a sender that does not yet see asleep must be caught by
		 * prepare_sleep's re-check. */
		brisk_delay_us(2);
		if (!brisk_thread_prepare_sleep(g_t)) {
			rechecks++;
			continue;
		}
		sleeps++;
		/* A lost wake-up shows as a timeout while a message is queued. */
		if (epoll_wait(fd, &ev, 1, 200) == 0 && !brisk_thread_is_idle(g_t)) {
			if (++g_lost_wakeups > 3) {
				break;
			}
		}
		brisk_thread_end_sleep(g_t);
	}
	__atomic_store_n(&g_stress_done, 1, __ATOMIC_RELEASE);
	pthread_join(tid, NULL);
	while (brisk_thread_poll(g_t, 0, 0) > 0) {
	}
	CU_ASSERT_EQUAL(g_stress_received, STRESS_MSGS);
	CU_ASSERT_EQUAL(g_lost_wakeups, 0);
	CU_ASSERT(sleeps > 0);
	printf("(%d sleeps, %d caught by the re-check) ", sleeps, rechecks);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_prepare_sleep),
	BRISK_UT_TEST(test_message_wakes_sleeper),
	BRISK_UT_TEST(test_busy_thread_no_write),
	BRISK_UT_TEST(test_interrupt_wakes),
	BRISK_UT_TEST(test_interrupt_without_callback),
	BRISK_UT_TEST(test_interrupt_unregister_in_callback),
	BRISK_UT_TEST(test_interrupt_bad_input),
	BRISK_UT_TEST(test_interrupt_served_while_busy),
	BRISK_UT_TEST(test_no_lost_wakeup),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "wake", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "wake_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 4095 },
	.suites = g_ut_suites,
};
