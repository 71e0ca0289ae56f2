/*
 * Thread life cycle: create, the exit protocol (exit waits for pollers and
 * io_channels, messages still run meanwhile), destroy refusing running
 * threads, registry queries, scheduler context, statistics, bad input.
 * Threads are polled by hand: no reactors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"

#define CTX_SZ 48

static int g_new_thread_calls;
static int g_new_thread_rc;

static int new_thread(struct brisk_thread *thread)
{
	g_new_thread_calls++;
	if (g_new_thread_rc == 0) {
		memset(brisk_thread_get_ctx(thread), 0xab, CTX_SZ);
	}
	return g_new_thread_rc;
}

static void poll_n(struct brisk_thread *t, int n)
{
	for (int i = 0; i < n; i++) {
		brisk_thread_poll(t, 0, 0);
	}
}

static void exit_and_destroy(struct brisk_thread *t)
{
	brisk_thread_exit(t);
	for (int i = 0; i < 100 && !brisk_thread_is_exited(t); i++) {
		brisk_thread_poll(t, 0, 0);
	}
	CU_ASSERT(brisk_thread_is_exited(t));
	brisk_thread_destroy(t);
}

static void test_lib_init_twice(void)
{
	struct brisk_thread_lib_opts opts = { 0 };

	CU_ASSERT_EQUAL(brisk_thread_lib_init(NULL, 0), -EALREADY);
	CU_ASSERT_EQUAL(brisk_thread_lib_init_ext(NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_lib_init_ext(&opts), -EALREADY);
}

static void test_create_and_registry(void)
{
	uint32_t base = brisk_thread_get_count();
	struct brisk_thread *a, *b, *it;
	int calls = g_new_thread_calls;
	bool seen_a = false, seen_b = false;
	struct brisk_cpuset mask;

	a = brisk_thread_create("alpha", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	brisk_cpuset_zero(&mask);
	brisk_cpuset_set_cpu(&mask, 0, true);
	b = brisk_thread_create(NULL, &mask);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(g_new_thread_calls, calls + 2);

	CU_ASSERT_STRING_EQUAL(brisk_thread_get_name(a), "alpha");
	CU_ASSERT(strncmp(brisk_thread_get_name(b), "thread_", 7) == 0);
	CU_ASSERT(brisk_thread_get_id(a) != 0);
	CU_ASSERT(brisk_thread_get_id(a) != brisk_thread_get_id(b));
	CU_ASSERT_PTR_EQUAL(brisk_thread_get_by_id(brisk_thread_get_id(b)), b);
	CU_ASSERT_PTR_NULL(brisk_thread_get_by_id(UINT64_MAX));
	CU_ASSERT_EQUAL(brisk_thread_get_count(), base + 2);
	CU_ASSERT(brisk_thread_is_running(a));
	CU_ASSERT(!brisk_thread_is_exited(a));
	CU_ASSERT(brisk_cpuset_equal(brisk_thread_get_cpumask(b), &mask));
	/* NULL cpumask = every core of the app (the env was started with 0x1). */
	CU_ASSERT(brisk_cpuset_get_cpu(brisk_thread_get_cpumask(a), 0));
	CU_ASSERT_PTR_NOT_NULL(brisk_thread_get_app_thread());

	for (it = brisk_thread_get_first(); it != NULL; it = brisk_thread_get_next(it)) {
		seen_a |= it == a;
		seen_b |= it == b;
	}
	CU_ASSERT(seen_a && seen_b);

	/* Scheduler context: ctx_sz bytes, written by new_thread_fn, round trip. */
	void *ctx = brisk_thread_get_ctx(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(((uint8_t *)ctx)[CTX_SZ - 1], 0xab);
	CU_ASSERT_PTR_EQUAL(brisk_thread_get_from_ctx(ctx), a);

	/* Current thread: set, get, and poll restores the previous one. */
	brisk_set_thread(b);
	CU_ASSERT_PTR_EQUAL(brisk_get_thread(), b);
	brisk_thread_poll(a, 0, 0);
	CU_ASSERT_PTR_EQUAL(brisk_get_thread(), b);
	brisk_set_thread(NULL);

	exit_and_destroy(a);
	exit_and_destroy(b);
	CU_ASSERT_EQUAL(brisk_thread_get_count(), base);
}

static void test_scheduler_refuses(void)
{
	uint32_t base = brisk_thread_get_count();
	struct brisk_thread *t;

	g_new_thread_rc = -EBUSY;
	errno = 0;
	t = brisk_thread_create("refused", NULL);
	g_new_thread_rc = 0;
	CU_ASSERT_PTR_NULL(t);
	CU_ASSERT_EQUAL(errno, EBUSY);
	CU_ASSERT_EQUAL(brisk_thread_get_count(), base);
}

static void test_create_unscheduled(void)
{
	uint32_t base = brisk_thread_get_count();
	int calls = g_new_thread_calls;
	struct brisk_thread *t;

	g_new_thread_rc = -EBUSY; /* would refuse it: the scheduler is not asked */
	t = brisk_thread_create_unscheduled("own", NULL);
	g_new_thread_rc = 0;
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(g_new_thread_calls, calls);
	CU_ASSERT_EQUAL(brisk_thread_get_count(), base + 1);
	CU_ASSERT(brisk_thread_is_running(t));
	exit_and_destroy(t);
	CU_ASSERT_EQUAL(brisk_thread_get_count(), base);
}

static void test_bad_input(void)
{
	struct brisk_cpuset empty;
	char long_name[BRISK_THREAD_NAME_MAX + 8];
	struct brisk_thread *t;

	brisk_cpuset_zero(&empty);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_thread_create("empty_mask", &empty));
	CU_ASSERT_EQUAL(errno, EINVAL);
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_thread_create(long_name, NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);

	CU_ASSERT_EQUAL(brisk_thread_exit(NULL), -EINVAL);
	CU_ASSERT(!brisk_thread_is_exited(NULL));
	CU_ASSERT(!brisk_thread_is_running(NULL));
	brisk_thread_destroy(NULL);
	CU_ASSERT_EQUAL(brisk_thread_poll(NULL, 0, 0), 0);

	t = brisk_thread_create("bad_input", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_EQUAL(brisk_thread_set_cpumask(t, &empty), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_set_cpumask(t, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_set_cpumask(NULL, &empty), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_send_msg(NULL, (brisk_msg_fn)free, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, NULL, NULL), -EINVAL);
	exit_and_destroy(t);
}

static int g_msgs_run;
static void count_msg(void *arg)
{
	g_msgs_run++;
}

static int idle_poller(void *arg)
{
	return BRISK_POLLER_IDLE;
}

static void test_destroy_running_refused(void)
{
	struct brisk_thread *t = brisk_thread_create("running", NULL);
	uint32_t count;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	count = brisk_thread_get_count();
	brisk_thread_destroy(t); /* refused with an error: still running */
	CU_ASSERT_EQUAL(brisk_thread_get_count(), count);
	CU_ASSERT_PTR_EQUAL(brisk_thread_get_by_id(brisk_thread_get_id(t)), t);
	CU_ASSERT(brisk_thread_is_running(t));

	/* Exiting but not exited (a poller remains): still refused. */
	brisk_set_thread(t);
	struct brisk_poller *p = brisk_poller_register(idle_poller, NULL, 0);
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(brisk_thread_exit(t), 0);
	poll_n(t, 3);
	brisk_thread_destroy(t);
	CU_ASSERT_EQUAL(brisk_thread_get_count(), count);

	brisk_set_thread(t);
	brisk_poller_unregister(&p);
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NULL(p);
	poll_n(t, 1);
	CU_ASSERT(brisk_thread_is_exited(t));
	brisk_thread_destroy(t);
	CU_ASSERT_EQUAL(brisk_thread_get_count(), count - 1);
}

static void test_exit_waits_for_pollers(void)
{
	struct brisk_thread *t = brisk_thread_create("exit_pollers", NULL);
	struct brisk_poller *active, *timed, *paused;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	brisk_set_thread(t);
	active = brisk_poller_register(idle_poller, NULL, 0);
	timed = brisk_poller_register(idle_poller, NULL, 1000000);
	paused = brisk_poller_register(idle_poller, NULL, 0);
	brisk_poller_pause(paused);
	brisk_set_thread(NULL);

	CU_ASSERT_EQUAL(brisk_thread_exit(t), 0);
	CU_ASSERT_EQUAL(brisk_thread_exit(t), 0); /* twice is harmless */
	CU_ASSERT(!brisk_thread_is_running(t));
	poll_n(t, 5);
	CU_ASSERT(!brisk_thread_is_exited(t));

	/* Messages still run while exiting. */
	g_msgs_run = 0;
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, count_msg, NULL), 0);
	poll_n(t, 1);
	CU_ASSERT_EQUAL(g_msgs_run, 1);

	brisk_set_thread(t);
	brisk_poller_unregister(&active);
	brisk_poller_unregister(&timed);
	brisk_set_thread(NULL);
	poll_n(t, 3);
	CU_ASSERT(!brisk_thread_is_exited(t)); /* a paused poller still counts */

	brisk_set_thread(t);
	brisk_poller_unregister(&paused);
	brisk_set_thread(NULL);
	/* A pending message also delays the exit until it ran. */
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, count_msg, NULL), 0);
	CU_ASSERT(!brisk_thread_is_exited(t));
	brisk_thread_poll(t, 0, 0);
	CU_ASSERT_EQUAL(g_msgs_run, 2);
	CU_ASSERT(brisk_thread_is_exited(t));

	/* Exited: messages are refused. */
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, count_msg, NULL), -EIO);
	brisk_thread_destroy(t);
}

static int g_dev;
static int dev_create(void *io_device, void *ctx)
{
	return 0;
}
static void dev_destroy(void *io_device, void *ctx)
{
}
static bool g_dev_unregistered;
static void dev_unregistered(void *io_device)
{
	g_dev_unregistered = true;
}

static void test_exit_waits_for_channels(void)
{
	struct brisk_thread *t = brisk_thread_create("exit_channels", NULL);
	struct brisk_thread *ctl = brisk_thread_create("control", NULL);
	struct brisk_io_channel *ch;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctl);
	brisk_io_device_register(&g_dev, dev_create, dev_destroy, 16, "exit_dev");
	brisk_set_thread(t);
	ch = brisk_get_io_channel(&g_dev);
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch);

	brisk_thread_exit(t);
	poll_n(t, 5);
	CU_ASSERT(!brisk_thread_is_exited(t));

	brisk_set_thread(t);
	brisk_put_io_channel(ch);
	brisk_set_thread(NULL);
	/* The channel goes away asynchronously, on the poll; then the exit completes. */
	CU_ASSERT(!brisk_thread_is_exited(t));
	for (int i = 0; i < 5 && !brisk_thread_is_exited(t); i++) {
		brisk_thread_poll(t, 0, 0);
	}
	CU_ASSERT(brisk_thread_is_exited(t));
	brisk_thread_destroy(t);

	brisk_set_thread(ctl);
	brisk_io_device_unregister(&g_dev, dev_unregistered);
	brisk_set_thread(NULL);
	poll_n(ctl, 2);
	CU_ASSERT(g_dev_unregistered);
	exit_and_destroy(ctl);
}

static void test_stats(void)
{
	struct brisk_thread *t = brisk_thread_create("stats", NULL);
	const struct brisk_thread_stats *s;
	struct brisk_thread_stats cur;
	uint64_t idle0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	s = brisk_thread_get_stats_of(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->busy_tsc, 0);
	CU_ASSERT_EQUAL(s->idle_tsc, 0);

	/* Idle polls add idle time only. */
	for (int i = 0; i < 1000; i++) {
		CU_ASSERT_EQUAL(brisk_thread_poll(t, 0, 0), 0);
	}
	CU_ASSERT(s->idle_tsc > 0);
	CU_ASSERT_EQUAL(s->busy_tsc, 0);

	/* A poll that runs a message is busy. */
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, count_msg, NULL), 0);
	CU_ASSERT_EQUAL(brisk_thread_poll(t, 0, 0), 1);
	CU_ASSERT(s->busy_tsc > 0);

	idle0 = s->idle_tsc;
	brisk_thread_update_stats(t, 12345);
	CU_ASSERT_EQUAL(s->idle_tsc, idle0 + 12345);

	/* get_stats reads the current thread; none current is an error. */
	brisk_set_thread(NULL);
	CU_ASSERT_EQUAL(brisk_thread_get_stats(&cur), -EINVAL);
	brisk_set_thread(t);
	CU_ASSERT_EQUAL(brisk_thread_get_stats(NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_thread_get_stats(&cur), 0);
	CU_ASSERT_EQUAL(cur.busy_tsc, s->busy_tsc);
	CU_ASSERT_EQUAL(cur.idle_tsc, s->idle_tsc);
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NULL(brisk_thread_get_stats_of(NULL));
	exit_and_destroy(t);
}

static void test_idle_queries(void)
{
	struct brisk_thread *t = brisk_thread_create("queries", NULL);
	struct brisk_poller *p;

	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	CU_ASSERT(brisk_thread_is_idle(t));
	CU_ASSERT(!brisk_thread_has_pollers(t));
	CU_ASSERT_EQUAL(brisk_thread_send_msg(t, count_msg, NULL), 0);
	CU_ASSERT(!brisk_thread_is_idle(t));
	poll_n(t, 1);
	CU_ASSERT(brisk_thread_is_idle(t));

	brisk_set_thread(t);
	p = brisk_poller_register(idle_poller, NULL, 0);
	CU_ASSERT(!brisk_thread_is_idle(t));
	CU_ASSERT(brisk_thread_has_active_pollers(t));
	CU_ASSERT(brisk_thread_has_pollers(t));
	brisk_poller_unregister(&p);
	p = brisk_poller_register(idle_poller, NULL, 500);
	CU_ASSERT(brisk_thread_is_idle(t));
	CU_ASSERT(!brisk_thread_has_active_pollers(t));
	CU_ASSERT(brisk_thread_has_pollers(t));
	CU_ASSERT(brisk_thread_next_poller_expiration(t) > 0);
	brisk_poller_unregister(&p);
	CU_ASSERT_EQUAL(brisk_thread_next_poller_expiration(t), 0);
	brisk_set_thread(NULL);
	exit_and_destroy(t);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_lib_init_twice),
	BRISK_UT_TEST(test_create_and_registry),
	BRISK_UT_TEST(test_scheduler_refuses),
	BRISK_UT_TEST(test_create_unscheduled),
	BRISK_UT_TEST(test_bad_input),
	BRISK_UT_TEST(test_destroy_running_refused),
	BRISK_UT_TEST(test_exit_waits_for_pollers),
	BRISK_UT_TEST(test_exit_waits_for_channels),
	BRISK_UT_TEST(test_stats),
	BRISK_UT_TEST(test_idle_queries),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "thread", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "thread_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .new_thread_fn = new_thread, .ctx_sz = CTX_SZ, .msg_pool_size = 4095 },
	.suites = g_ut_suites,
};
