/*
 * Unit tests for lib/event/subsystem.c: dependency order, asynchronous init,
 * reverse fini, failures part-way, missing dependencies and cycles, and the
 * settle steps that hold start-up complete until background work ends.
 * The test polls its own brisk_thread (no reactors).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/event.h>
#include <brisk/thread.h>

#include "../../../lib/event/event_internal.h"
#include "../../common/ut_main.h"

static struct brisk_thread *g_thread;
static char g_trace[256];     /* "+a +b -b -a": init (+) and fini (-) in order */
static int g_init_rc = 1;     /* 1 = not called yet */
static bool g_fini_called;
static const char *g_fail_name;  /* init of this subsystem fails with -EIO */
static const char *g_async_name; /* init of this one completes later, by message */

static void trace(char op, const char *name)
{
	size_t len = strlen(g_trace);

	snprintf(g_trace + len, sizeof(g_trace) - len, "%s%c%s", len ? " " : "", op, name);
}

static bool g_async_pending;   /* the async subsystem waits for the test to complete it */
static bool g_auto_complete = true;

static void init_common(const char *name)
{
	trace('+', name);
	if (g_fail_name != NULL && strcmp(name, g_fail_name) == 0) {
		brisk_subsystem_init_done(-EIO);
	} else if (g_async_name != NULL && strcmp(name, g_async_name) == 0) {
		g_async_pending = true;
	} else {
		brisk_subsystem_init_done(0);
	}
}

static void fini_common(const char *name)
{
	trace('-', name);
	brisk_subsystem_fini_done();
}

#define TEST_SUBSYSTEM(n) \
	static void init_##n(void) { init_common(#n); } \
	static void fini_##n(void) { fini_common(#n); } \
	static struct brisk_subsystem g_##n = { .name = #n, .init = init_##n, .fini = fini_##n };

TEST_SUBSYSTEM(a)
TEST_SUBSYSTEM(b)
TEST_SUBSYSTEM(c)
TEST_SUBSYSTEM(d)

static struct brisk_subsystem_depend g_dep_b_a = { .name = "b", .depends_on = "a" };
static struct brisk_subsystem_depend g_dep_c_b = { .name = "c", .depends_on = "b" };
static struct brisk_subsystem_depend g_dep_d_a = { .name = "d", .depends_on = "a" };
static struct brisk_subsystem_depend g_dep_a_c = { .name = "a", .depends_on = "c" };
static struct brisk_subsystem_depend g_dep_b_nope = { .name = "b", .depends_on = "nope" };
static struct brisk_subsystem_depend g_dep_ghost_a = { .name = "ghost", .depends_on = "a" };

static void reset(void)
{
	event_subsystem_clear_registry();
	g_trace[0] = '\0';
	g_init_rc = 1;
	g_fini_called = false;
	g_fail_name = NULL;
	g_async_name = NULL;
	g_async_pending = false;
	g_auto_complete = true;
}

static void init_cb(int rc, void *ctx)
{
	g_init_rc = rc;
}

static void fini_cb(void *ctx)
{
	g_fini_called = true;
}

/* Polls the thread; an asynchronous init completes "later", from here. */
static void poll_until(bool (*done)(void))
{
	for (int i = 0; i < 100000 && !done(); i++) {
		brisk_thread_poll(g_thread, 0, 0);
		if (g_async_pending && g_auto_complete) {
			g_async_pending = false;
			brisk_subsystem_init_done(0);
		}
	}
}

static bool async_is_pending(void)
{
	return g_async_pending;
}

static bool init_finished(void)
{
	return g_init_rc != 1;
}

static bool fini_finished(void)
{
	return g_fini_called;
}

static void run_init(void)
{
	g_init_rc = 1;
	brisk_subsystem_init(init_cb, NULL);
	poll_until(init_finished);
}

static void run_fini(void)
{
	g_fini_called = false;
	brisk_subsystem_fini(fini_cb, NULL);
	poll_until(fini_finished);
	CU_ASSERT_TRUE(g_fini_called);
}

/* Registered as c, d, b, a with b->a, c->b, d->a. */
static void test_dependency_order(void)
{
	struct brisk_subsystem *s;
	char names[64] = "";

	reset();
	brisk_subsystem_register(&g_c);
	brisk_subsystem_register(&g_d);
	brisk_subsystem_register(&g_b);
	brisk_subsystem_register(&g_a);
	brisk_subsystem_add_depend(&g_dep_b_a);
	brisk_subsystem_add_depend(&g_dep_c_b);
	brisk_subsystem_add_depend(&g_dep_d_a);
	g_async_name = "b"; /* one asynchronous init in the middle */

	run_init();
	CU_ASSERT_EQUAL(g_init_rc, 0);
	/* Every subsystem after all its dependencies; among those ready at the
	 * same time, registration order (pass 1: a; pass 2: d, b; pass 3: c). */
	CU_ASSERT_STRING_EQUAL(g_trace, "+a +d +b +c");
	CU_ASSERT_TRUE(event_subsystem_all_initialized());

	for (s = brisk_subsystem_get_first(); s != NULL; s = brisk_subsystem_get_next(s)) {
		strcat(names, s->name);
	}
	CU_ASSERT_STRING_EQUAL(names, "adbc");
	CU_ASSERT_PTR_EQUAL(brisk_subsystem_find("c"), &g_c);
	CU_ASSERT_PTR_NULL(brisk_subsystem_find("zzz"));
	CU_ASSERT_PTR_NULL(brisk_subsystem_find(NULL));

	g_trace[0] = '\0';
	run_fini();
	CU_ASSERT_STRING_EQUAL(g_trace, "-c -b -d -a");
	CU_ASSERT_FALSE(event_subsystem_all_initialized());
}

/* ---- settle ---- */

static void (*g_settle_done)(void *ctx); /* b's settle, waiting for the test */
static void *g_settle_done_ctx;
static bool g_settled;

static void settle_a(void (*done)(void *ctx), void *ctx)
{
	trace('=', "a");
	done(ctx); /* at once: the sequence must still not call back inside the call */
}

static void settle_b(void (*done)(void *ctx), void *ctx)
{
	trace('=', "b");
	g_settle_done = done; /* later: background work (an examine) still running */
	g_settle_done_ctx = ctx;
}

static void settled_cb(void *ctx)
{
	g_settled = true;
}

static bool settled(void)
{
	return g_settled;
}

/* Settle steps run in init order, one after the other; subsystems without
 * one are passed over; the callback comes last, never inside the call. */
static void test_settle(void)
{
	reset();
	g_a.settle = settle_a;
	g_b.settle = settle_b;
	brisk_subsystem_register(&g_c);
	brisk_subsystem_register(&g_b);
	brisk_subsystem_register(&g_a);
	brisk_subsystem_add_depend(&g_dep_b_a);
	brisk_subsystem_add_depend(&g_dep_c_b);
	run_init();
	CU_ASSERT_EQUAL_FATAL(g_init_rc, 0);
	g_trace[0] = '\0';
	g_settled = false;
	event_subsystem_settle(settled_cb, NULL);
	CU_ASSERT_FALSE(g_settled);
	CU_ASSERT_STRING_EQUAL(g_trace, "");
	poll_until(settled);
	/* b's examine is still running: not settled. */
	CU_ASSERT_FALSE(g_settled);
	CU_ASSERT_STRING_EQUAL(g_trace, "=a =b");
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_settle_done);
	g_settle_done(g_settle_done_ctx);
	CU_ASSERT_TRUE(g_settled);
	g_a.settle = NULL;
	g_b.settle = NULL;
	g_settle_done = NULL;
	run_fini();
}

static void collect_depend(const char *name, void *ctx)
{
	strcat(ctx, name);
}

static void test_for_each_depend(void)
{
	char deps[16] = "";

	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_register(&g_b);
	brisk_subsystem_register(&g_d);
	brisk_subsystem_add_depend(&g_dep_b_a);
	brisk_subsystem_add_depend(&g_dep_d_a);
	brisk_subsystem_for_each_depend(&g_b, collect_depend, deps);
	CU_ASSERT_STRING_EQUAL(deps, "a");
	deps[0] = '\0';
	brisk_subsystem_for_each_depend(&g_a, collect_depend, deps);
	CU_ASSERT_STRING_EQUAL(deps, "");
}

static void test_missing_dependency(void)
{
	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_register(&g_b);
	brisk_subsystem_add_depend(&g_dep_b_nope);
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, -EINVAL);
	CU_ASSERT_STRING_EQUAL(g_trace, ""); /* nothing was initialised */

	/* A dependency declared for a subsystem that does not exist. */
	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_add_depend(&g_dep_ghost_a);
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, -EINVAL);
	CU_ASSERT_STRING_EQUAL(g_trace, "");
	run_fini(); /* nothing to finish: the callback still comes */
	CU_ASSERT_STRING_EQUAL(g_trace, "");
}

static void test_cycle(void)
{
	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_register(&g_b);
	brisk_subsystem_register(&g_c);
	brisk_subsystem_register(&g_d);
	brisk_subsystem_add_depend(&g_dep_b_a);
	brisk_subsystem_add_depend(&g_dep_c_b);
	brisk_subsystem_add_depend(&g_dep_a_c); /* a -> c -> b -> a */
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, -EINVAL);
	CU_ASSERT_STRING_EQUAL(g_trace, "");
	/* Every subsystem is still registered (d is fine, the others cycle). */
	CU_ASSERT_PTR_NOT_NULL(brisk_subsystem_find("a"));
	CU_ASSERT_PTR_NOT_NULL(brisk_subsystem_find("b"));
	CU_ASSERT_PTR_NOT_NULL(brisk_subsystem_find("c"));
	CU_ASSERT_PTR_NOT_NULL(brisk_subsystem_find("d"));
}

static void test_duplicate_name(void)
{
	static struct brisk_subsystem other_a = { .name = "a" };

	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_register(&other_a);
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, -EINVAL);
	CU_ASSERT_STRING_EQUAL(g_trace, "");
}

static void test_init_failure_finishes_started_ones(void)
{
	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_register(&g_b);
	brisk_subsystem_register(&g_c);
	brisk_subsystem_add_depend(&g_dep_b_a);
	brisk_subsystem_add_depend(&g_dep_c_b);
	g_fail_name = "b";
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, -EIO);
	CU_ASSERT_STRING_EQUAL(g_trace, "+a +b"); /* c never started */
	CU_ASSERT_FALSE(event_subsystem_all_initialized());
	g_trace[0] = '\0';
	run_fini();
	CU_ASSERT_STRING_EQUAL(g_trace, "-a"); /* only what initialised */
}

static void test_init_twice_refused(void)
{
	reset();
	brisk_subsystem_register(&g_a);
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, 0);
	g_init_rc = 1;
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, -EALREADY);
	g_trace[0] = '\0';
	run_fini();
	CU_ASSERT_STRING_EQUAL(g_trace, "-a");
	/* After fini it can start again. */
	g_init_rc = 1;
	run_init();
	CU_ASSERT_EQUAL(g_init_rc, 0);
	run_fini();
}

static void test_fini_during_async_init(void)
{
	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_register(&g_b);
	brisk_subsystem_register(&g_c);
	g_async_name = "b";
	g_auto_complete = false;
	brisk_subsystem_init(init_cb, NULL);
	poll_until(async_is_pending);
	/* a is done, b is still initialising: ask for fini now. */
	CU_ASSERT_STRING_EQUAL(g_trace, "+a +b");
	brisk_subsystem_fini(fini_cb, NULL);
	CU_ASSERT_FALSE(g_fini_called); /* waits for b */
	CU_ASSERT_EQUAL(g_init_rc, 1);
	g_async_pending = false;
	brisk_subsystem_init_done(0);
	poll_until(fini_finished);
	CU_ASSERT_EQUAL(g_init_rc, -ECANCELED);
	CU_ASSERT_TRUE(g_fini_called);
	/* b completed its init, so it is finished too; c never started. */
	CU_ASSERT_STRING_EQUAL(g_trace, "+a +b -b -a");
}

static void config_writer(json_t *array)
{
	json_array_append_new(array, json_pack("{s:s}", "method", "x_set"));
}

static void test_write_config(void)
{
	static struct brisk_subsystem with_config = { .name = "w", .write_config_json = config_writer };
	json_t *arr = json_array();

	reset();
	brisk_subsystem_register(&g_a);
	brisk_subsystem_register(&with_config);
	brisk_subsystem_write_config_json(&g_a, arr);
	CU_ASSERT_EQUAL(json_array_size(arr), 0);
	brisk_subsystem_write_config_json(&with_config, arr);
	CU_ASSERT_EQUAL(json_array_size(arr), 1);
	json_decref(arr);
}

static int ut_setup(void)
{
	g_thread = brisk_thread_create("subsystem_ut", NULL);
	if (g_thread == NULL) {
		fprintf(stderr, "thread set-up failed\n");
		return -1;
	}
	brisk_set_thread(g_thread);
	return 0;
}

static int ut_teardown(void)
{
	brisk_thread_exit(g_thread);
	for (int i = 0; i < 1000 && !brisk_thread_is_exited(g_thread); i++) {
		brisk_thread_poll(g_thread, 0, 0);
	}
	brisk_thread_destroy(g_thread);
	brisk_set_thread(NULL);
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_dependency_order),
	BRISK_UT_TEST(test_for_each_depend),
	BRISK_UT_TEST(test_missing_dependency),
	BRISK_UT_TEST(test_cycle),
	BRISK_UT_TEST(test_duplicate_name),
	BRISK_UT_TEST(test_init_failure_finishes_started_ones),
	BRISK_UT_TEST(test_init_twice_refused),
	BRISK_UT_TEST(test_fini_during_async_init),
	BRISK_UT_TEST(test_write_config),
	BRISK_UT_TEST(test_settle),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "subsystem", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "subsystem_ut",
	.env = BRISK_UT_ENV_THREAD,
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
