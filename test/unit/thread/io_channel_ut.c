/*
 * io_devices and io_channels: reference counting, asynchronous destroy (and
 * revival by a get that comes first), create_cb failure, channels on several
 * threads, brisk_for_each_channel (visits, completion thread, early stop,
 * channels and threads coming and going during the walk), device unregister
 * waiting for every channel, bad input.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/thread.h>

#include "../../common/ut_main.h"

#define NTHREADS 4
static struct brisk_thread *g_th[NTHREADS];
static struct brisk_thread *g_ctl; /* control thread: unregisters, starts walks */

struct dev {
	int create_calls;
	int destroy_calls;
	int create_rc;
	int unregistered;
	struct brisk_thread *unregister_thread;
};

struct chan_ctx {
	uint64_t magic;
	struct brisk_thread *created_on;
	int visits;
};

static int dev_create(void *io_device, void *buf)
{
	struct dev *d = io_device;
	struct chan_ctx *c = buf;

	d->create_calls++;
	if (d->create_rc != 0) {
		return d->create_rc;
	}
	c->magic = 0x5eed;
	c->created_on = brisk_get_thread();
	return 0;
}

static void dev_destroy(void *io_device, void *buf)
{
	struct dev *d = io_device;
	struct chan_ctx *c = buf;

	CU_ASSERT_EQUAL(c->magic, 0x5eed);
	CU_ASSERT_PTR_EQUAL(c->created_on, brisk_get_thread());
	d->destroy_calls++;
}

static void dev_unregistered(void *io_device)
{
	struct dev *d = io_device;

	d->unregistered++;
	d->unregister_thread = brisk_get_thread();
}

static void poll_all(int rounds)
{
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < NTHREADS; i++) {
			if (g_th[i] != NULL) {
				brisk_thread_poll(g_th[i], 0, 0);
			}
		}
		brisk_thread_poll(g_ctl, 0, 0);
	}
}

static struct brisk_io_channel *get_on(int i, void *dev)
{
	struct brisk_io_channel *ch;

	brisk_set_thread(g_th[i]);
	ch = brisk_get_io_channel(dev);
	brisk_set_thread(NULL);
	return ch;
}

static void put_on(struct brisk_io_channel *ch)
{
	brisk_set_thread(brisk_io_channel_get_thread(ch));
	brisk_put_io_channel(ch);
	brisk_set_thread(NULL);
}

static void unregister_from_ctl(struct dev *d)
{
	brisk_set_thread(g_ctl);
	brisk_io_device_unregister(d, dev_unregistered);
	brisk_set_thread(NULL);
}

static int suite_init(void)
{
	char name[16];

	for (int i = 0; i < NTHREADS; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		g_th[i] = brisk_thread_create(name, NULL);
		if (g_th[i] == NULL) {
			return -1;
		}
	}
	g_ctl = brisk_thread_create("ctl", NULL);
	return g_ctl ? 0 : -1;
}

static int suite_fini(void)
{
	int rc = 0;

	for (int i = 0; i <= NTHREADS; i++) {
		struct brisk_thread *t = i < NTHREADS ? g_th[i] : g_ctl;

		if (t == NULL) {
			continue;
		}
		brisk_thread_exit(t);
		brisk_thread_poll(t, 0, 0);
		if (!brisk_thread_is_exited(t)) {
			rc = -1;
		}
		brisk_thread_destroy(t);
	}
	return rc;
}

static void count_channel(struct brisk_io_channel *ch, void *ctx)
{
	(*(int *)ctx)++;
}

static int channels_on(int i)
{
	int n = 0;

	brisk_thread_for_each_io_channel(g_th[i], count_channel, &n);
	return n;
}

static void test_get_put(void)
{
	struct dev d = { 0 };
	struct brisk_io_channel *ch1, *ch2, *ch3;
	struct chan_ctx *ctx;

	brisk_io_device_register(&d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_getput");
	CU_ASSERT_STRING_EQUAL(brisk_io_device_get_name(&d), "dev_getput");
	ch1 = get_on(0, &d);
	ch2 = get_on(0, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch1);
	CU_ASSERT_PTR_EQUAL(ch1, ch2);
	CU_ASSERT_EQUAL(brisk_io_channel_get_ref_count(ch1), 2);
	CU_ASSERT_EQUAL(d.create_calls, 1);
	ctx = brisk_io_channel_get_ctx(ch1);
	CU_ASSERT_EQUAL(ctx->magic, 0x5eed);
	CU_ASSERT_PTR_EQUAL(ctx->created_on, g_th[0]);
	CU_ASSERT_PTR_EQUAL(brisk_io_channel_from_ctx(ctx), ch1);
	CU_ASSERT_PTR_EQUAL(brisk_io_channel_get_thread(ch1), g_th[0]);
	CU_ASSERT_PTR_EQUAL(brisk_io_channel_get_io_device(ch1), &d);
	CU_ASSERT_EQUAL(channels_on(0), 1);

	put_on(ch1);
	CU_ASSERT_EQUAL(brisk_io_channel_get_ref_count(ch2), 1);
	put_on(ch2);
	/* Destroyed asynchronously: not yet, only after the thread polls. */
	CU_ASSERT_EQUAL(d.destroy_calls, 0);
	CU_ASSERT_EQUAL(channels_on(0), 1);
	brisk_thread_poll(g_th[0], 0, 0);
	CU_ASSERT_EQUAL(d.destroy_calls, 1);
	CU_ASSERT_EQUAL(channels_on(0), 0);

	/* A get between the put and the deferred destroy revives the channel. */
	ch1 = get_on(0, &d);
	CU_ASSERT_EQUAL(d.create_calls, 2);
	put_on(ch1);
	ch3 = get_on(0, &d);
	CU_ASSERT_PTR_EQUAL(ch3, ch1);
	CU_ASSERT_EQUAL(brisk_io_channel_get_ref_count(ch3), 1);
	brisk_thread_poll(g_th[0], 0, 0);
	CU_ASSERT_EQUAL(d.destroy_calls, 1);
	CU_ASSERT_EQUAL(d.create_calls, 2);
	/* put, get, put: two deferred messages, one destroy. */
	put_on(ch3);
	ch3 = get_on(0, &d);
	put_on(ch3);
	brisk_thread_poll(g_th[0], 0, 0);
	CU_ASSERT_EQUAL(d.destroy_calls, 2);
	CU_ASSERT_EQUAL(channels_on(0), 0);

	unregister_from_ctl(&d);
	/* Never inline: the callback runs when the caller's thread polls. */
	CU_ASSERT_EQUAL(d.unregistered, 0);
	brisk_thread_poll(g_ctl, 0, 0);
	CU_ASSERT_EQUAL(d.unregistered, 1);
	CU_ASSERT_PTR_EQUAL(d.unregister_thread, g_ctl);
	CU_ASSERT_PTR_NULL(brisk_io_device_get_name(&d));
}

static void test_create_failure(void)
{
	struct dev d = { .create_rc = -ENOMEM };

	brisk_io_device_register(&d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_fail");
	CU_ASSERT_PTR_NULL(get_on(1, &d));
	CU_ASSERT_EQUAL(d.create_calls, 1);
	CU_ASSERT_EQUAL(channels_on(1), 0);
	poll_all(2);
	CU_ASSERT_EQUAL(d.destroy_calls, 0);
	/* Nothing was left behind: the device unregisters at once. */
	unregister_from_ctl(&d);
	poll_all(1);
	CU_ASSERT_EQUAL(d.unregistered, 1);

	/* NULL callbacks are allowed (a device with no per-channel work). */
	struct dev plain = { 0 };
	struct brisk_io_channel *ch;

	brisk_io_device_register(&plain, NULL, NULL, 0, NULL);
	ch = get_on(1, &plain);
	CU_ASSERT_PTR_NOT_NULL(ch);
	put_on(ch);
	unregister_from_ctl(&plain);
	poll_all(2);
	CU_ASSERT_EQUAL(plain.unregistered, 1);
}

static void test_two_threads(void)
{
	struct dev d = { 0 };
	struct brisk_io_channel *a, *b;

	brisk_io_device_register(&d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_two");
	a = get_on(0, &d);
	b = get_on(1, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_EQUAL(a, b);
	CU_ASSERT_PTR_EQUAL(((struct chan_ctx *)brisk_io_channel_get_ctx(a))->created_on, g_th[0]);
	CU_ASSERT_PTR_EQUAL(((struct chan_ctx *)brisk_io_channel_get_ctx(b))->created_on, g_th[1]);
	CU_ASSERT_EQUAL(d.create_calls, 2);
	put_on(a);
	put_on(b);
	poll_all(1);
	CU_ASSERT_EQUAL(d.destroy_calls, 2);
	unregister_from_ctl(&d);
	poll_all(1);
	CU_ASSERT_EQUAL(d.unregistered, 1);
}

/* ---- for_each_channel ---- */

struct walk {
	int visits[NTHREADS + 1];
	int bad_channel;
	int stop_at_visit;   /* return -EAGAIN at this visit number (1-based) */
	int total_visits;
	int cpl_calls;
	int cpl_status;
	struct brisk_thread *cpl_thread;
	struct dev *dev;
	/* Hooks run during a visit of thread index hook_on. */
	int hook_on;
	void (*hook)(struct walk *w);
};

static int thread_index(struct brisk_thread *t)
{
	for (int i = 0; i < NTHREADS; i++) {
		if (g_th[i] == t) {
			return i;
		}
	}
	return NTHREADS; /* ctl */
}

static void walk_visit(struct brisk_io_channel_iter *i)
{
	struct walk *w = brisk_io_channel_iter_get_ctx(i);
	struct brisk_io_channel *ch = brisk_io_channel_iter_get_channel(i);
	int idx = thread_index(brisk_get_thread());

	if (ch == NULL || brisk_io_channel_get_thread(ch) != brisk_get_thread() ||
	    brisk_io_channel_iter_get_io_device(i) != w->dev) {
		w->bad_channel++;
	}
	w->visits[idx]++;
	w->total_visits++;
	if (w->hook != NULL && idx == w->hook_on) {
		w->hook(w);
	}
	brisk_for_each_channel_continue(i, w->total_visits == w->stop_at_visit ? -EAGAIN : 0);
}

static void walk_done(struct brisk_io_channel_iter *i, int status)
{
	struct walk *w = brisk_io_channel_iter_get_ctx(i);

	w->cpl_calls++;
	w->cpl_status = status;
	w->cpl_thread = brisk_get_thread();
}

static void start_walk(struct brisk_thread *from, struct walk *w)
{
	brisk_set_thread(from);
	brisk_for_each_channel(w->dev, walk_visit, w, walk_done);
	brisk_set_thread(NULL);
}

static void test_for_each_channel(void)
{
	struct dev d = { 0 };
	struct walk w = { .dev = &d };
	struct brisk_io_channel *a, *b;

	brisk_io_device_register(&d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_walk");
	a = get_on(0, &d);
	b = get_on(2, &d);

	start_walk(g_ctl, &w);
	CU_ASSERT_EQUAL(w.total_visits, 0); /* all by message */
	poll_all(5);
	CU_ASSERT_EQUAL(w.cpl_calls, 1);
	CU_ASSERT_EQUAL(w.cpl_status, 0);
	CU_ASSERT_PTR_EQUAL(w.cpl_thread, g_ctl);
	CU_ASSERT_EQUAL(w.visits[0], 1);
	CU_ASSERT_EQUAL(w.visits[1], 0);
	CU_ASSERT_EQUAL(w.visits[2], 1);
	CU_ASSERT_EQUAL(w.visits[NTHREADS], 0);
	CU_ASSERT_EQUAL(w.bad_channel, 0);

	/* Early stop: a non-zero status ends the walk and reaches cpl. */
	memset(&w, 0, sizeof(w));
	w.dev = &d;
	w.stop_at_visit = 1;
	start_walk(g_th[3], &w);
	poll_all(5);
	CU_ASSERT_EQUAL(w.cpl_calls, 1);
	CU_ASSERT_EQUAL(w.cpl_status, -EAGAIN);
	CU_ASSERT_PTR_EQUAL(w.cpl_thread, g_th[3]);
	CU_ASSERT_EQUAL(w.total_visits, 1);

	/* No channel anywhere: completes right away with 0. */
	put_on(a);
	put_on(b);
	poll_all(1);
	memset(&w, 0, sizeof(w));
	w.dev = &d;
	start_walk(g_ctl, &w);
	poll_all(2);
	CU_ASSERT_EQUAL(w.cpl_calls, 1);
	CU_ASSERT_EQUAL(w.cpl_status, 0);
	CU_ASSERT_EQUAL(w.total_visits, 0);

	unregister_from_ctl(&d);
	poll_all(1);
	CU_ASSERT_EQUAL(d.unregistered, 1);

	/* Unknown device: cpl still runs, with -ENODEV. */
	memset(&w, 0, sizeof(w));
	w.dev = &d;
	start_walk(g_ctl, &w);
	poll_all(1);
	CU_ASSERT_EQUAL(w.cpl_calls, 1);
	CU_ASSERT_EQUAL(w.cpl_status, -ENODEV);
}

static struct brisk_io_channel *g_chan[NTHREADS];
static struct dev g_walk_dev;

/* During the visit of t0: release t1's channel (on t1), create one on t3. */
static void churn_hook(struct walk *w)
{
	struct brisk_thread *self = brisk_get_thread();

	brisk_set_thread(g_th[1]);
	brisk_put_io_channel(g_chan[1]);
	brisk_set_thread(g_th[3]);
	g_chan[3] = brisk_get_io_channel(&g_walk_dev);
	brisk_set_thread(self);
}

static void test_for_each_channel_churn(void)
{
	struct dev *d = &g_walk_dev;
	struct walk w = { .dev = d, .hook_on = 0, .hook = churn_hook };

	memset(d, 0, sizeof(*d));
	brisk_io_device_register(d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_churn");
	g_chan[0] = get_on(0, d);
	g_chan[1] = get_on(1, d);
	g_chan[2] = get_on(2, d);
	g_chan[3] = NULL;

	start_walk(g_ctl, &w);
	/* Step by step: t0 is visited and releases t1's channel, whose deferred
	 * destroy runs before the walk gets to t1; t1 is then skipped. */
	brisk_thread_poll(g_th[0], 0, 0);
	CU_ASSERT_EQUAL(w.visits[0], 1);
	CU_ASSERT_EQUAL(brisk_io_channel_get_ref_count(g_chan[1]), 0);
	brisk_thread_poll(g_th[1], 0, 0);
	CU_ASSERT_EQUAL(d->destroy_calls, 1);
	CU_ASSERT_EQUAL(w.visits[1], 0);

	/* t2's channel goes and comes back before its visit: it is visited. */
	put_on(g_chan[2]);
	poll_all(0);
	g_chan[2] = get_on(2, d);
	poll_all(5);
	CU_ASSERT_EQUAL(w.cpl_calls, 1);
	CU_ASSERT_EQUAL(w.cpl_status, 0);
	CU_ASSERT_EQUAL(w.visits[1], 0);
	CU_ASSERT_EQUAL(w.visits[2], 1);
	/* t3's channel did not exist at the start: not part of this walk. */
	CU_ASSERT_EQUAL(w.visits[3], 0);
	CU_ASSERT_EQUAL(w.bad_channel, 0);

	/* A thread that exits and is destroyed mid-walk is skipped. */
	memset(&w, 0, sizeof(w));
	w.dev = d;
	struct brisk_thread *extra = brisk_thread_create("extra", NULL);
	struct brisk_io_channel *ech;

	CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
	brisk_set_thread(extra);
	ech = brisk_get_io_channel(d);
	brisk_set_thread(NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ech);
	start_walk(g_ctl, &w);
	/* Release the channel and destroy the thread before the walk reaches it. */
	put_on(ech);
	brisk_thread_exit(extra);
	brisk_thread_poll(extra, 0, 0);
	CU_ASSERT(brisk_thread_is_exited(extra));
	brisk_thread_destroy(extra);
	poll_all(6);
	CU_ASSERT_EQUAL(w.cpl_calls, 1);
	CU_ASSERT_EQUAL(w.cpl_status, 0);
	CU_ASSERT_EQUAL(w.visits[0] + w.visits[2] + w.visits[3], 3);
	CU_ASSERT_EQUAL(w.bad_channel, 0);

	put_on(g_chan[0]);
	put_on(g_chan[2]);
	put_on(g_chan[3]);
	unregister_from_ctl(d);
	poll_all(2);
	CU_ASSERT_EQUAL(d->unregistered, 1);
	CU_ASSERT_EQUAL(d->create_calls, d->destroy_calls);
}

/* ---- Unregister ---- */

static void test_unregister_waits(void)
{
	struct dev d = { 0 };
	struct brisk_io_channel *a, *b, *a2;
	struct walk w = { .dev = &d };

	brisk_io_device_register(&d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_unreg");
	a = get_on(0, &d);
	b = get_on(1, &d);
	unregister_from_ctl(&d);
	poll_all(3);
	CU_ASSERT_EQUAL(d.unregistered, 0);

	/* New gets fail, also on a thread that already has a channel. */
	CU_ASSERT_PTR_NULL(get_on(2, &d));
	a2 = get_on(0, &d);
	CU_ASSERT_PTR_NULL(a2);
	CU_ASSERT_EQUAL(brisk_io_channel_get_ref_count(a), 1);
	/* So do walks and a second unregister. */
	start_walk(g_ctl, &w);
	unregister_from_ctl(&d);
	poll_all(1);
	CU_ASSERT_EQUAL(w.cpl_status, -ENODEV);

	put_on(a);
	poll_all(3);
	CU_ASSERT_EQUAL(d.unregistered, 0);
	put_on(b);
	/* The last destroy happens on t1's poll; the callback then on ctl's. */
	brisk_thread_poll(g_th[1], 0, 0);
	CU_ASSERT_EQUAL(d.destroy_calls, 2);
	CU_ASSERT_EQUAL(d.unregistered, 0);
	brisk_thread_poll(g_ctl, 0, 0);
	CU_ASSERT_EQUAL(d.unregistered, 1);
	CU_ASSERT_PTR_EQUAL(d.unregister_thread, g_ctl);

	/* The same pointer can be registered again once gone. */
	memset(&d, 0, sizeof(d));
	brisk_io_device_register(&d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_again");
	a = get_on(0, &d);
	CU_ASSERT_PTR_NOT_NULL(a);

	/* A walk in progress also holds the device: the callback waits for it. */
	memset(&w, 0, sizeof(w));
	w.dev = &d;
	start_walk(g_ctl, &w);
	put_on(a);
	/* t0's visit was queued before the deferred destroy, but the channel is
	 * already released (ref 0), so the visit skips it; then it is destroyed.
	 * The walk still holds the device until its completion has run. */
	unregister_from_ctl(&d);
	brisk_thread_poll(g_th[0], 0, 0);
	CU_ASSERT_EQUAL(w.visits[0], 0);
	CU_ASSERT_EQUAL(d.destroy_calls, 1);
	CU_ASSERT_EQUAL(w.cpl_calls, 0);
	CU_ASSERT_EQUAL(d.unregistered, 0);
	poll_all(3);
	CU_ASSERT_EQUAL(w.cpl_calls, 1);
	CU_ASSERT_EQUAL(d.unregistered, 1);
}

static void test_bad_input(void)
{
	struct dev d = { 0 }, other = { 0 };
	struct brisk_io_channel *ch;

	brisk_io_device_register(NULL, dev_create, dev_destroy, 8, "null_dev");
	CU_ASSERT_PTR_NULL(brisk_io_device_get_name(NULL));
	brisk_io_device_register(&d, dev_create, dev_destroy, sizeof(struct chan_ctx), "dev_bad");
	/* Duplicate registration is refused; the first stays. */
	brisk_io_device_register(&d, dev_create, dev_destroy, 8, "dev_dup");
	CU_ASSERT_STRING_EQUAL(brisk_io_device_get_name(&d), "dev_bad");

	CU_ASSERT_PTR_NULL(get_on(0, &other)); /* unknown device */
	CU_ASSERT_PTR_NULL(brisk_get_io_channel(&d)); /* no current thread */
	unregister_from_ctl(&other);               /* unknown: error, no callback */
	brisk_io_device_unregister(&d, dev_unregistered); /* no current thread: refused */
	poll_all(1);
	CU_ASSERT_EQUAL(other.unregistered, 0);
	CU_ASSERT_EQUAL(d.unregistered, 0);

	ch = get_on(0, &d);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
	/* put on a thread that does not own the channel: refused. */
	brisk_set_thread(g_th[1]);
	brisk_put_io_channel(ch);
	brisk_set_thread(NULL);
	CU_ASSERT_EQUAL(brisk_io_channel_get_ref_count(ch), 1);
	put_on(ch);
	put_on(ch); /* once too often: refused with an error, no double destroy */
	poll_all(1);
	CU_ASSERT_EQUAL(d.destroy_calls, 1);
	brisk_put_io_channel(NULL);
	CU_ASSERT_PTR_NULL(brisk_io_channel_get_ctx(NULL));
	CU_ASSERT_EQUAL(brisk_io_channel_get_ref_count(NULL), 0);

	/* for_each_channel needs fn, cpl and a current thread. */
	brisk_for_each_channel(&d, walk_visit, NULL, walk_done);
	brisk_set_thread(g_ctl);
	brisk_for_each_channel(&d, NULL, NULL, walk_done);
	brisk_for_each_channel(&d, walk_visit, NULL, NULL);
	brisk_set_thread(NULL);
	brisk_for_each_channel_continue(NULL, 0);

	unregister_from_ctl(&d);
	poll_all(1);
	CU_ASSERT_EQUAL(d.unregistered, 1);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_get_put),
	BRISK_UT_TEST(test_create_failure),
	BRISK_UT_TEST(test_two_threads),
	BRISK_UT_TEST(test_for_each_channel),
	BRISK_UT_TEST(test_for_each_channel_churn),
	BRISK_UT_TEST(test_unregister_waits),
	BRISK_UT_TEST(test_bad_input),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "io_channel", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "io_channel_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 4095 },
	.suites = g_ut_suites,
};
