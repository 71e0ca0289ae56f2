/*
 * Pollers: active pollers run on every poll; timed pollers driven by a fake
 * clock (the `now` argument of brisk_thread_poll) run when `now` crosses each
 * period boundary and not before; pause/resume (also from inside the
 * poller); unregister from inside its own callback and of other pollers
 * mid-loop; busy/idle results; names and brisk_thread_for_each_poller.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"

static struct brisk_thread *g_t;

static int suite_init(void)
{
	g_t = brisk_thread_create("pollers", NULL);
	if (g_t == NULL) {
		return -1;
	}
	brisk_set_thread(g_t);
	return 0;
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

struct counter {
	int runs;
	int rc;            /* value returned */
	int unregister_at; /* unregister self on this run (0 = never) */
	int pause_at;      /* pause self on this run */
	bool resume_after_pause; /* ... and resume within the same callback */
	struct brisk_poller *self;
	struct brisk_poller **victim; /* unregistered on the first run */
	struct counter *spawn;        /* registers a new poller on the first run */
	struct brisk_poller *spawned;
};

static int counting_poller(void *arg)
{
	struct counter *c = arg;

	c->runs++;
	CU_ASSERT_PTR_EQUAL(brisk_get_thread(), g_t);
	if (c->victim != NULL && *c->victim != NULL) {
		brisk_poller_unregister(c->victim);
	}
	if (c->spawn != NULL && c->spawned == NULL) {
		c->spawned = brisk_poller_register(counting_poller, c->spawn, 0);
	}
	if (c->pause_at != 0 && c->runs == c->pause_at) {
		brisk_poller_pause(c->self);
		if (c->resume_after_pause) {
			brisk_poller_resume(c->self);
		}
	}
	if (c->unregister_at != 0 && c->runs == c->unregister_at) {
		brisk_poller_unregister(&c->self);
		CU_ASSERT_PTR_NULL(c->self);
	}
	return c->rc;
}

static void poll_n(int n)
{
	for (int i = 0; i < n; i++) {
		brisk_thread_poll(g_t, 0, 0);
	}
}

static void test_active_pollers(void)
{
	struct counter a = { .rc = BRISK_POLLER_IDLE }, b = { .rc = BRISK_POLLER_IDLE };

	a.self = brisk_poller_register(counting_poller, &a, 0);
	b.self = brisk_poller_register(counting_poller, &b, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a.self);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b.self);
	CU_ASSERT(brisk_thread_has_active_pollers(g_t));

	/* Both idle: every poll runs both and reports idle. */
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, 0), 0);
	}
	CU_ASSERT_EQUAL(a.runs, 5);
	CU_ASSERT_EQUAL(b.runs, 5);

	/* One busy poller makes the poll busy. */
	b.rc = BRISK_POLLER_BUSY;
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, 0), 1);
	b.rc = BRISK_POLLER_IDLE;
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, 0), 0);

	brisk_poller_unregister(&a.self);
	brisk_poller_unregister(&b.self);
	CU_ASSERT_PTR_NULL(a.self);
	brisk_poller_unregister(&a.self); /* NULL: no-op */
	poll_n(3);
	CU_ASSERT_EQUAL(a.runs, 7);
	CU_ASSERT(!brisk_thread_has_pollers(g_t));
}

static void test_timed_poller_fake_clock(void)
{
	uint64_t hz = brisk_get_ticks_hz();
	uint64_t period = brisk_us_to_ticks(1000, hz);
	uint64_t base = brisk_get_ticks();
	struct counter c = { .rc = BRISK_POLLER_BUSY };
	int boundaries = 0;

	CU_ASSERT_FATAL(period > 10);
	/* The poll sets the time base new timed pollers count from. */
	brisk_thread_poll(g_t, 0, base);
	c.self = brisk_poller_register_named(counting_poller, &c, 1000, "timed_1ms");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.self);
	CU_ASSERT_EQUAL(brisk_thread_next_poller_expiration(g_t), base + period);
	CU_ASSERT(!brisk_thread_has_active_pollers(g_t));

	/* Not before the boundary, exactly at it, not again until the next. */
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, base + period - 1), 0);
	CU_ASSERT_EQUAL(c.runs, 0);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, base + period), 1);
	CU_ASSERT_EQUAL(c.runs, 1);
	CU_ASSERT_EQUAL(brisk_thread_next_poller_expiration(g_t), base + 2 * period);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, base + period + period / 2), 0);
	CU_ASSERT_EQUAL(c.runs, 1);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, base + 2 * period - 1), 0);
	CU_ASSERT_EQUAL(c.runs, 1);
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, base + 2 * period), 1);
	CU_ASSERT_EQUAL(c.runs, 2);

	/* Stepping the clock by a tenth of a period for 100 periods: the poller
	 * runs on the first poll at or past a full period after its last run
	 * (next_run = now + period), never earlier and never later. */
	uint64_t start = base + 2 * period;
	uint64_t step = period / 10;
	uint64_t last_run = start;
	int runs0 = c.runs, wrong = 0;
	for (uint64_t now = start + step; now <= start + 100 * period; now += step) {
		int before = c.runs;
		bool due = now >= last_run + period;

		brisk_thread_poll(g_t, 0, now);
		if ((c.runs - before == 1) != due || c.runs - before > 1) {
			wrong++;
		}
		if (c.runs != before) {
			last_run = now;
		}
		boundaries++;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	/* ceil(period / step) <= 11 polls per run: at least 90 runs in 100 periods. */
	CU_ASSERT(c.runs - runs0 >= 90 && c.runs - runs0 <= 100);
	CU_ASSERT(boundaries >= 999);

	/* A clock that jumps far ahead runs the poller once, not once per missed period. */
	int before = c.runs;
	brisk_thread_poll(g_t, 0, start + 1000 * period);
	CU_ASSERT_EQUAL(c.runs, before + 1);

	brisk_poller_unregister(&c.self);
	CU_ASSERT_EQUAL(brisk_thread_next_poller_expiration(g_t), 0);
}

static void test_timed_pollers_order(void)
{
	uint64_t hz = brisk_get_ticks_hz();
	uint64_t base = brisk_get_ticks();
	struct counter slow = { 0 }, fast = { 0 };

	brisk_thread_poll(g_t, 0, base);
	slow.self = brisk_poller_register(counting_poller, &slow, 5000);
	fast.self = brisk_poller_register(counting_poller, &fast, 1000);
	CU_ASSERT_EQUAL(brisk_thread_next_poller_expiration(g_t), base + brisk_us_to_ticks(1000, hz));
	for (int ms = 1; ms <= 10; ms++) {
		brisk_thread_poll(g_t, 0, base + brisk_us_to_ticks(ms * 1000, hz));
	}
	CU_ASSERT_EQUAL(fast.runs, 10);
	CU_ASSERT_EQUAL(slow.runs, 2);
	brisk_poller_unregister(&slow.self);
	brisk_poller_unregister(&fast.self);
}

struct name_seen {
	const char *want;
	bool found;
	bool paused;
	uint64_t runs, busy, period, id;
	int total;
};

static void find_poller(const struct brisk_poller_info *info, void *ctx)
{
	struct name_seen *s = ctx;

	s->total++;
	if (strcmp(info->name, s->want) == 0) {
		s->found = true;
		s->paused = info->paused;
		s->runs = info->run_count;
		s->busy = info->busy_count;
		s->period = info->period_ticks;
		s->id = info->id;
	}
}

static void test_pause_resume(void)
{
	struct counter c = { .rc = BRISK_POLLER_BUSY };
	struct name_seen seen = { .want = "pausable" };
	uint64_t base = brisk_get_ticks();
	uint64_t period = brisk_us_to_ticks(1000, brisk_get_ticks_hz());
	struct counter t = { 0 };

	c.self = brisk_poller_register_named(counting_poller, &c, 0, "pausable");
	poll_n(2);
	CU_ASSERT_EQUAL(c.runs, 2);
	brisk_poller_pause(c.self);
	brisk_poller_pause(c.self); /* twice: no-op */
	CU_ASSERT(!brisk_thread_has_active_pollers(g_t));
	CU_ASSERT_EQUAL(brisk_thread_poll(g_t, 0, 0), 0);
	poll_n(3);
	CU_ASSERT_EQUAL(c.runs, 2);
	brisk_thread_for_each_poller(g_t, find_poller, &seen);
	CU_ASSERT(seen.found);
	CU_ASSERT(seen.paused);
	CU_ASSERT_EQUAL(seen.runs, 2);
	CU_ASSERT_EQUAL(seen.busy, 2);
	CU_ASSERT_EQUAL(seen.period, 0);

	brisk_poller_resume(c.self);
	brisk_poller_resume(c.self); /* twice: no-op */
	poll_n(2);
	CU_ASSERT_EQUAL(c.runs, 4);

	/* Pause from inside: runs once more (the pausing run), then stops. */
	c.pause_at = 6;
	poll_n(5);
	CU_ASSERT_EQUAL(c.runs, 6);
	brisk_poller_resume(c.self);
	poll_n(1);
	CU_ASSERT_EQUAL(c.runs, 7);

	/* Pause and resume within the same callback: keeps running. */
	c.pause_at = 8;
	c.resume_after_pause = true;
	poll_n(3);
	CU_ASSERT_EQUAL(c.runs, 10);
	brisk_poller_unregister(&c.self);

	/* A paused poller can be unregistered. */
	c.pause_at = 0;
	c.self = brisk_poller_register(counting_poller, &c, 0);
	brisk_poller_pause(c.self);
	brisk_poller_unregister(&c.self);
	CU_ASSERT(!brisk_thread_has_pollers(g_t));

	/* Timed: paused through its expiration, resumed = a full period from then. */
	brisk_thread_poll(g_t, 0, base);
	t.self = brisk_poller_register(counting_poller, &t, 1000);
	brisk_poller_pause(t.self);
	CU_ASSERT_EQUAL(brisk_thread_next_poller_expiration(g_t), 0);
	brisk_thread_poll(g_t, 0, base + 3 * period);
	CU_ASSERT_EQUAL(t.runs, 0);
	brisk_poller_resume(t.self);
	CU_ASSERT_EQUAL(brisk_thread_next_poller_expiration(g_t), base + 4 * period);
	brisk_thread_poll(g_t, 0, base + 4 * period - 1);
	CU_ASSERT_EQUAL(t.runs, 0);
	brisk_thread_poll(g_t, 0, base + 4 * period);
	CU_ASSERT_EQUAL(t.runs, 1);
	brisk_poller_unregister(&t.self);
}

static void test_unregister_inside(void)
{
	struct counter self_unreg = { .unregister_at = 3 };
	struct counter a = { 0 }, b = { 0 }, spawned = { 0 };
	struct counter timed = { .unregister_at = 1 };
	uint64_t base = brisk_get_ticks();

	self_unreg.self = brisk_poller_register(counting_poller, &self_unreg, 0);
	poll_n(10);
	CU_ASSERT_EQUAL(self_unreg.runs, 3);
	CU_ASSERT(!brisk_thread_has_pollers(g_t));

	/* a unregisters b, which comes right after it in the same loop. */
	a.self = brisk_poller_register(counting_poller, &a, 0);
	b.self = brisk_poller_register(counting_poller, &b, 0);
	a.victim = &b.self;
	poll_n(3);
	CU_ASSERT_EQUAL(a.runs, 3);
	CU_ASSERT_EQUAL(b.runs, 0);
	CU_ASSERT_PTR_NULL(b.self);

	/* A poller registered from inside a poller waits for the next poll. */
	a.spawn = &spawned;
	poll_n(1);
	CU_ASSERT_PTR_NOT_NULL(a.spawned);
	CU_ASSERT_EQUAL(spawned.runs, 0);
	poll_n(2);
	CU_ASSERT_EQUAL(spawned.runs, 2);
	brisk_poller_unregister(&a.spawned);
	brisk_poller_unregister(&a.self);

	/* A timed poller unregistering itself. */
	brisk_thread_poll(g_t, 0, base);
	timed.self = brisk_poller_register(counting_poller, &timed, 10);
	brisk_thread_poll(g_t, 0, base + brisk_us_to_ticks(1000, brisk_get_ticks_hz()));
	CU_ASSERT_EQUAL(timed.runs, 1);
	CU_ASSERT_PTR_NULL(timed.self);
	CU_ASSERT(!brisk_thread_has_pollers(g_t));
}

static void test_names_and_info(void)
{
	struct counter c = { .rc = BRISK_POLLER_BUSY };
	struct brisk_poller *named, *anon;
	char expect[64];
	struct name_seen seen = { 0 };

	named = brisk_poller_register_named(counting_poller, &c, 250, "my_poller");
	anon = brisk_poller_register(counting_poller, &c, 0);
	CU_ASSERT_STRING_EQUAL(brisk_poller_get_name(named), "my_poller");
	snprintf(expect, sizeof(expect), "poller_%p", (void *)counting_poller);
	CU_ASSERT_STRING_EQUAL(brisk_poller_get_name(anon), expect);
	CU_ASSERT_PTR_NULL(brisk_poller_get_name(NULL));

	poll_n(4);
	seen.want = expect;
	brisk_thread_for_each_poller(g_t, find_poller, &seen);
	CU_ASSERT(seen.found);
	CU_ASSERT_EQUAL(seen.total, 2);
	CU_ASSERT_EQUAL(seen.runs, 4);
	CU_ASSERT_EQUAL(seen.busy, 4);
	seen.want = "my_poller";
	seen.found = false;
	brisk_thread_for_each_poller(g_t, find_poller, &seen);
	CU_ASSERT(seen.found);
	CU_ASSERT_EQUAL(seen.period, brisk_us_to_ticks(250, brisk_get_ticks_hz()));
	brisk_poller_unregister(&named);
	brisk_poller_unregister(&anon);
}

/* Ids are unique on a thread and never reused, so a tool sampling
 * thread_get_pollers twice can tell a new poller from an old one. */
static void test_poller_ids(void)
{
	struct counter c = { 0 };
	struct brisk_poller *a, *b;
	struct name_seen seen = { .want = "id_b" };
	uint64_t id_a, id_b;

	a = brisk_poller_register_named(counting_poller, &c, 0, "id_a");
	b = brisk_poller_register_named(counting_poller, &c, 100, "id_b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	brisk_thread_for_each_poller(g_t, find_poller, &seen);
	CU_ASSERT(seen.found);
	id_b = seen.id;
	seen = (struct name_seen) { .want = "id_a" };
	brisk_thread_for_each_poller(g_t, find_poller, &seen);
	CU_ASSERT(seen.found);
	id_a = seen.id;
	CU_ASSERT(id_a != 0);
	CU_ASSERT_EQUAL(id_b, id_a + 1);
	brisk_poller_unregister(&a);
	poll_n(1);
	a = brisk_poller_register_named(counting_poller, &c, 0, "id_a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	seen = (struct name_seen) { .want = "id_a" };
	brisk_thread_for_each_poller(g_t, find_poller, &seen);
	CU_ASSERT_EQUAL(seen.id, id_b + 1);
	brisk_poller_unregister(&a);
	brisk_poller_unregister(&b);
}

static void test_bad_input(void)
{
	struct counter c = { 0 };
	struct brisk_poller *p;
	struct brisk_thread *other;

	CU_ASSERT_PTR_NULL(brisk_poller_register(NULL, NULL, 0));
	CU_ASSERT_PTR_NULL(brisk_poller_register(counting_poller, &c, UINT64_MAX));
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NULL(brisk_poller_register(counting_poller, &c, 0));
	brisk_set_thread(g_t);

	/* Unregister/pause from another thread are refused; the poller stays. */
	p = brisk_poller_register(counting_poller, &c, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	other = brisk_thread_create("other", NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(other);
	brisk_set_thread(other);
	brisk_poller_pause(p);
	brisk_poller_unregister(&p);
	CU_ASSERT_PTR_NOT_NULL(p);
	brisk_set_thread(g_t);
	poll_n(1);
	CU_ASSERT_EQUAL(c.runs, 1);
	brisk_poller_unregister(&p);
	brisk_poller_pause(NULL);
	brisk_poller_resume(NULL);
	brisk_thread_for_each_poller(NULL, NULL, NULL);

	brisk_thread_exit(other);
	brisk_thread_poll(other, 0, 0);
	CU_ASSERT(brisk_thread_is_exited(other));
	/* No new pollers on an exited thread. */
	brisk_set_thread(other);
	CU_ASSERT_PTR_NULL(brisk_poller_register(counting_poller, &c, 0));
	brisk_set_thread(g_t);
	brisk_thread_destroy(other);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_active_pollers),
	BRISK_UT_TEST(test_poller_ids),
	BRISK_UT_TEST(test_timed_poller_fake_clock),
	BRISK_UT_TEST(test_timed_pollers_order),
	BRISK_UT_TEST(test_pause_resume),
	BRISK_UT_TEST(test_unregister_inside),
	BRISK_UT_TEST(test_names_and_info),
	BRISK_UT_TEST(test_bad_input),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "poller", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "poller_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 4095 },
	.suites = g_ut_suites,
};
