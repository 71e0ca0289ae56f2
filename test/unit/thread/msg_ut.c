/*
 * Messages: per-sender FIFO order with several OS threads sending to one
 * brisk_thread, sends from a plain pthread, the critical-message slot (also
 * from a real signal handler), brisk_for_each_thread, and exhaustion of the
 * ring and of the message pool (-ENOMEM, then success once drained), and
 * slot messages (sender-owned, accepted when the ring is full).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"

static struct brisk_thread *new_thread(const char *name)
{
	struct brisk_thread *t = brisk_thread_create(name, NULL);

	CU_ASSERT_PTR_NOT_NULL(t);
	return t;
}

static void exit_and_destroy(struct brisk_thread *t)
{
	brisk_thread_exit(t);
	for (int i = 0; i < 100000 && !brisk_thread_is_exited(t); i++) {
		brisk_thread_poll(t, 0, 0);
	}
	CU_ASSERT(brisk_thread_is_exited(t));
	brisk_thread_destroy(t);
}

/* ---- FIFO per sender ---- */

#define SENDERS 3
/* ThreadSanitizer makes every ring access a runtime call and every wait of a
 * claim on the pool's multi-consumer ring a reschedule: on two loaded cores
 * 50,000 messages per sender ran past the runner's bound. 2,000 per sender
 * still interleaves three senders' claims on one ring thousands of times. */
#if defined(__SANITIZE_THREAD__)
#define MSGS_PER_SENDER 2000
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MSGS_PER_SENDER 2000
#endif
#endif
#ifndef MSGS_PER_SENDER
#define MSGS_PER_SENDER 50000
#endif

static struct brisk_thread *g_receiver;
static uint64_t g_expected[SENDERS];
static uint64_t g_order_errors;
static uint64_t g_received;
static uint64_t g_wrong_thread;
static atomic_int g_fifo_stop; /* set by the receiver, read by the senders */

static void fifo_msg(void *arg)
{
	uintptr_t v = (uintptr_t)arg;
	unsigned sender = v >> 32;
	uint64_t seq = v & 0xffffffffu;

	if (brisk_get_thread() != g_receiver) {
		g_wrong_thread++;
	}
	if (sender >= SENDERS || seq != g_expected[sender]) {
		g_order_errors++;
	} else {
		g_expected[sender]++;
	}
	g_received++;
}

static void *fifo_sender(void *arg)
{
	uintptr_t sender = (uintptr_t)arg;
	uint64_t retries = 0;

	/* A plain pthread: no current brisk_thread. */
	if (brisk_get_thread() != NULL) {
		return (void *)1;
	}
	for (uint64_t seq = 0; seq < MSGS_PER_SENDER; seq++) {
		void *v = (void *)((sender << 32) | seq);
		int rc;

		while ((rc = brisk_thread_send_msg(g_receiver, fifo_msg, v)) == -ENOMEM) {
			if (atomic_load(&g_fifo_stop)) {
				return (void *)3; /* the receiver gave up */
			}
			retries++;
			sched_yield();
		}
		if (rc != 0) {
			return (void *)2;
		}
		/* Four spinning senders and a receiver on two cores would make every
		 * preempted producer stall the others (the ring publishes in claim
		 * order); real senders do other work between messages. */
		if (seq % 256 == 255) {
			usleep(50);
		}
	}
	return (void *)0;
}

static void test_fifo_per_sender(void)
{
	pthread_t tids[SENDERS];
	void *ret;

	g_receiver = new_thread("receiver");
	memset(g_expected, 0, sizeof(g_expected));
	g_order_errors = g_received = g_wrong_thread = 0;
	atomic_store(&g_fifo_stop, 0);
	for (uintptr_t i = 0; i < SENDERS; i++) {
		CU_ASSERT_EQUAL_FATAL(pthread_create(&tids[i], NULL, fifo_sender, (void *)i), 0);
	}
	/* Poll while the senders run, until everything arrived (bounded). */
	uint64_t deadline = brisk_get_ticks() + 30 * brisk_get_ticks_hz();
	while (g_received < (uint64_t)SENDERS * MSGS_PER_SENDER && brisk_get_ticks() < deadline) {
		/* Idle: give the core up, as a reactor going to sleep would (a
		 * spinning receiver starves preempted senders on two cores). */
		if (brisk_thread_poll(g_receiver, 1000, 0) == 0) {
			usleep(10);
		}
	}
	atomic_store(&g_fifo_stop, 1);
	for (int i = 0; i < SENDERS; i++) {
		pthread_join(tids[i], &ret);
		CU_ASSERT_PTR_NULL(ret);
	}
	CU_ASSERT_EQUAL(g_received, (uint64_t)SENDERS * MSGS_PER_SENDER);
	CU_ASSERT_EQUAL(g_order_errors, 0);
	CU_ASSERT_EQUAL(g_wrong_thread, 0);
	for (int i = 0; i < SENDERS; i++) {
		CU_ASSERT_EQUAL(g_expected[i], MSGS_PER_SENDER);
	}
	exit_and_destroy(g_receiver);
	g_receiver = NULL;
}

/* max_msgs bounds a poll; the rest waits for the next poll. */
static void test_max_msgs(void)
{
	g_receiver = new_thread("batch");
	memset(g_expected, 0, sizeof(g_expected));
	g_order_errors = g_received = g_wrong_thread = 0;
	for (uintptr_t seq = 0; seq < 100; seq++) {
		CU_ASSERT_EQUAL(brisk_thread_send_msg(g_receiver, fifo_msg, (void *)seq), 0);
	}
	CU_ASSERT_EQUAL(brisk_thread_poll(g_receiver, 7, 0), 1);
	CU_ASSERT_EQUAL(g_received, 7);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_receiver, 50, 0), 1);
	CU_ASSERT_EQUAL(g_received, 57);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_receiver, 0, 0), 1); /* default batch: 32 */
	CU_ASSERT_EQUAL(g_received, 89);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_receiver, 0, 0), 1);
	CU_ASSERT_EQUAL(g_received, 100);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_receiver, 0, 0), 0);
	CU_ASSERT_EQUAL(g_order_errors, 0);
	exit_and_destroy(g_receiver);
	g_receiver = NULL;
}

/* ---- Critical messages ---- */

static int g_order[8];
static int g_order_n;
static void normal_msg(void *arg)
{
	g_order[g_order_n++] = 1;
}
static void critical_msg(void *arg)
{
	g_order[g_order_n++] = 2;
}
static void critical_msg2(void *arg)
{
	g_order[g_order_n++] = 3;
}

static struct brisk_thread *g_sig_thread;
static volatile int g_sig_rc = 99;
static void on_sigusr1(int sig)
{
	g_sig_rc = brisk_thread_send_critical_msg(g_sig_thread, critical_msg2);
}

static void test_critical_msg(void)
{
	struct brisk_thread *t = new_thread("critical");
	struct sigaction sa, old;

	g_order_n = 0;
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, normal_msg, NULL), 0);
	CU_ASSERT_EQUAL(brisk_thread_send_critical_msg(t, critical_msg), 0);
	/* One slot: a second critical message before the poll is refused. */
	CU_ASSERT_EQUAL(brisk_thread_send_critical_msg(t, critical_msg2), -EIO);
	CU_ASSERT_EQUAL(brisk_thread_send_critical_msg(t, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_send_critical_msg(NULL, critical_msg), -EINVAL);
	CU_ASSERT(!brisk_thread_is_idle(t));
	CU_ASSERT_EQUAL(brisk_thread_poll(t, 0, 0), 1);
	/* The critical message ran first, although sent second. */
	CU_ASSERT_EQUAL(g_order_n, 2);
	CU_ASSERT_EQUAL(g_order[0], 2);
	CU_ASSERT_EQUAL(g_order[1], 1);

	/* From a real signal handler. */
	g_sig_thread = t;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigusr1;
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_EQUAL(sigaction(SIGUSR1, &sa, &old), 0);
	raise(SIGUSR1);
	sigaction(SIGUSR1, &old, NULL);
	CU_ASSERT_EQUAL(g_sig_rc, 0);
	g_order_n = 0;
	CU_ASSERT_EQUAL(brisk_thread_poll(t, 0, 0), 1);
	CU_ASSERT_EQUAL(g_order_n, 1);
	CU_ASSERT_EQUAL(g_order[0], 3);
	/* The slot is free again. */
	CU_ASSERT_EQUAL(brisk_thread_send_critical_msg(t, critical_msg), 0);
	brisk_thread_poll(t, 0, 0);
	exit_and_destroy(t);
}

/* ---- Sends from a non-Brisk pthread ---- */

static struct brisk_thread *g_ran_on;
static void where_msg(void *arg)
{
	g_ran_on = brisk_get_thread();
	*(int *)arg = 1;
}

static void *plain_sender(void *arg)
{
	return (void *)(intptr_t)brisk_thread_send_msg(g_receiver, where_msg, arg);
}

static void test_send_from_plain_pthread(void)
{
	pthread_t tid;
	void *ret;
	int done = 0;

	g_receiver = new_thread("plain");
	g_ran_on = NULL;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tid, NULL, plain_sender, &done), 0);
	pthread_join(tid, &ret);
	CU_ASSERT_EQUAL((intptr_t)ret, 0);
	CU_ASSERT_EQUAL(done, 0);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_receiver, 0, 0), 1);
	CU_ASSERT_EQUAL(done, 1);
	CU_ASSERT_PTR_EQUAL(g_ran_on, g_receiver);
	exit_and_destroy(g_receiver);
	g_receiver = NULL;
}

/* ---- brisk_for_each_thread ---- */

#define FE_THREADS 4
static struct brisk_thread *g_fe[FE_THREADS];
static int g_fe_visits[FE_THREADS];
static int g_fe_unknown;
static struct brisk_thread *g_fe_cpl_thread;
static int g_fe_cpl_calls;
static int g_fe_visits_at_cpl;

static void fe_visit(void *ctx)
{
	struct brisk_thread *self = brisk_get_thread();

	CU_ASSERT_PTR_EQUAL(ctx, &g_fe_visits);
	for (int i = 0; i < FE_THREADS; i++) {
		if (g_fe[i] == self) {
			g_fe_visits[i]++;
			return;
		}
	}
	g_fe_unknown++;
}

static void fe_done(void *ctx)
{
	g_fe_cpl_thread = brisk_get_thread();
	g_fe_cpl_calls++;
	g_fe_visits_at_cpl = 0;
	for (int i = 0; i < FE_THREADS; i++) {
		g_fe_visits_at_cpl += g_fe_visits[i];
	}
}

static void test_for_each_thread(void)
{
	char name[16];

	for (int i = 0; i < FE_THREADS; i++) {
		snprintf(name, sizeof(name), "fe%d", i);
		g_fe[i] = new_thread(name);
	}
	memset(g_fe_visits, 0, sizeof(g_fe_visits));
	g_fe_cpl_calls = 0;
	g_fe_unknown = 0;

	brisk_set_thread(g_fe[2]);
	brisk_for_each_thread(fe_visit, &g_fe_visits, fe_done);
	brisk_set_thread(NULL);
	/* Nothing runs until the threads are polled. */
	CU_ASSERT_EQUAL(g_fe_visits[0], 0);
	for (int round = 0; round < 20 && g_fe_cpl_calls == 0; round++) {
		for (int i = 0; i < FE_THREADS; i++) {
			brisk_thread_poll(g_fe[i], 0, 0);
		}
	}
	CU_ASSERT_EQUAL(g_fe_cpl_calls, 1);
	CU_ASSERT_PTR_EQUAL(g_fe_cpl_thread, g_fe[2]);
	CU_ASSERT_EQUAL(g_fe_unknown, 0);
	CU_ASSERT_EQUAL(g_fe_visits_at_cpl, FE_THREADS);
	for (int i = 0; i < FE_THREADS; i++) {
		CU_ASSERT_EQUAL(g_fe_visits[i], 1);
	}

	/* A thread that exits during the walk is skipped; the walk completes. */
	memset(g_fe_visits, 0, sizeof(g_fe_visits));
	g_fe_cpl_calls = 0;
	brisk_set_thread(g_fe[0]);
	brisk_for_each_thread(fe_visit, &g_fe_visits, fe_done);
	brisk_set_thread(NULL);
	exit_and_destroy(g_fe[3]); /* no pending message for it yet: the walk is on fe0 */
	g_fe[3] = NULL;
	for (int round = 0; round < 20 && g_fe_cpl_calls == 0; round++) {
		for (int i = 0; i < FE_THREADS - 1; i++) {
			brisk_thread_poll(g_fe[i], 0, 0);
		}
	}
	CU_ASSERT_EQUAL(g_fe_cpl_calls, 1);
	CU_ASSERT_PTR_EQUAL(g_fe_cpl_thread, g_fe[0]);
	CU_ASSERT_EQUAL(g_fe_visits[0] + g_fe_visits[1] + g_fe_visits[2], 3);

	/* Must be called on a brisk_thread; bad arguments are refused. */
	g_fe_cpl_calls = 0;
	brisk_for_each_thread(fe_visit, &g_fe_visits, fe_done);
	brisk_set_thread(g_fe[0]);
	brisk_for_each_thread(NULL, NULL, fe_done);
	brisk_for_each_thread(fe_visit, NULL, NULL);
	brisk_set_thread(NULL);
	for (int i = 0; i < FE_THREADS - 1; i++) {
		brisk_thread_poll(g_fe[i], 0, 0);
	}
	CU_ASSERT_EQUAL(g_fe_cpl_calls, 0);

	for (int i = 0; i < FE_THREADS - 1; i++) {
		exit_and_destroy(g_fe[i]);
	}
}

/* ---- Exhaustion ---- */

static uint64_t g_noop_count;
static void noop_msg(void *arg)
{
	g_noop_count++;
}

static void drain(struct brisk_thread *t)
{
	while (brisk_thread_poll(t, 4096, 0) > 0) {
	}
}

static void test_ring_full(void)
{
	struct brisk_thread *t = new_thread("ring_full");
	uint32_t sent = 0;
	int rc;

	g_noop_count = 0;
	while ((rc = brisk_thread_send_msg(t, noop_msg, NULL)) == 0) {
		sent++;
		if (sent > BRISK_MSG_RING_SIZE) {
			break;
		}
	}
	CU_ASSERT_EQUAL(rc, -ENOMEM);
	CU_ASSERT_EQUAL(sent, BRISK_MSG_RING_SIZE - 1);
	/* One poll frees room: sending works again. */
	brisk_thread_poll(t, 10, 0);
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, noop_msg, NULL), 0);
	drain(t);
	CU_ASSERT_EQUAL(g_noop_count, sent + 1);
	exit_and_destroy(t);
}

#define POOL_SIZE 131071 /* smaller than three full rings */
static void test_pool_exhausted(void)
{
	struct brisk_thread *t[3];
	uint32_t sent[3] = { 0 };
	int rc = 0;

	g_noop_count = 0;
	for (int i = 0; i < 3; i++) {
		t[i] = new_thread("pool");
	}
	for (int i = 0; i < 3; i++) {
		while ((rc = brisk_thread_send_msg(t[i], noop_msg, NULL)) == 0) {
			sent[i]++;
		}
		CU_ASSERT_EQUAL(rc, -ENOMEM);
	}
	/* The first two rings filled up; the third ran out of messages first. */
	CU_ASSERT_EQUAL(sent[0], BRISK_MSG_RING_SIZE - 1);
	CU_ASSERT_EQUAL(sent[1], BRISK_MSG_RING_SIZE - 1);
	CU_ASSERT(sent[2] > 0 && sent[2] < BRISK_MSG_RING_SIZE - 1);
	CU_ASSERT(sent[0] + sent[1] + sent[2] <= POOL_SIZE);
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t[2], noop_msg, NULL), -ENOMEM);

	/* Draining one thread returns its messages to the pool. */
	drain(t[0]);
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t[2], noop_msg, NULL), 0);
	for (int i = 0; i < 3; i++) {
		drain(t[i]);
	}
	CU_ASSERT_EQUAL(g_noop_count, (uint64_t)sent[0] + sent[1] + sent[2] + 1);
	for (int i = 0; i < 3; i++) {
		exit_and_destroy(t[i]);
	}
}

/* ---- Slot messages: sender-owned storage, accepted when the ring is full ---- */

static int g_slot_order[4];
static int g_slot_n;
static void slot_msg(void *arg)
{
	g_slot_order[g_slot_n++] = (int)(intptr_t)arg;
}

static void test_msg_slot(void)
{
	struct brisk_thread *t = new_thread("slot");
	struct brisk_msg_slot slots[3];
	int i;

	g_noop_count = 0;
	g_slot_n = 0;
	while (brisk_thread_send_msg(t, noop_msg, NULL) == 0) {
	}
	/* The ring is full; slot messages are still accepted, and run in order. */
	for (i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(brisk_thread_send_msg_slot(t, &slots[i], slot_msg, (void *)(intptr_t)(i + 1)), 0);
	}
	CU_ASSERT_EQUAL(g_slot_n, 0); /* not run inside the send */
	CU_ASSERT(!brisk_thread_is_idle(t));
	brisk_thread_poll(t, 1, 0);
	CU_ASSERT_EQUAL(g_slot_n, 3);
	CU_ASSERT(g_slot_order[0] == 1 && g_slot_order[1] == 2 && g_slot_order[2] == 3);
	/* A slot may be sent again once its message ran. */
	CU_ASSERT_EQUAL(brisk_thread_send_msg_slot(t, &slots[0], slot_msg, (void *)(intptr_t)4), 0);
	drain(t);
	CU_ASSERT_EQUAL(g_slot_n, 4);
	CU_ASSERT_EQUAL(g_slot_order[3], 4);
	CU_ASSERT_EQUAL(g_noop_count, BRISK_MSG_RING_SIZE - 1);
	CU_ASSERT_EQUAL(brisk_thread_send_msg_slot(NULL, &slots[0], slot_msg, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_send_msg_slot(t, NULL, slot_msg, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_send_msg_slot(t, &slots[0], NULL, NULL), -EINVAL);
	brisk_thread_exit(t);
	for (i = 0; i < 100000 && !brisk_thread_is_exited(t); i++) {
		brisk_thread_poll(t, 0, 0);
	}
	CU_ASSERT_EQUAL(brisk_thread_send_msg_slot(t, &slots[0], slot_msg, NULL), -EIO);
	brisk_thread_destroy(t);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_fifo_per_sender),
	BRISK_UT_TEST(test_max_msgs),
	BRISK_UT_TEST(test_critical_msg),
	BRISK_UT_TEST(test_send_from_plain_pthread),
	BRISK_UT_TEST(test_for_each_thread),
	BRISK_UT_TEST(test_ring_full),
	BRISK_UT_TEST(test_pool_exhausted),
	BRISK_UT_TEST(test_msg_slot),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "msg", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "msg_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = POOL_SIZE },
	.suites = g_ut_suites,
};
