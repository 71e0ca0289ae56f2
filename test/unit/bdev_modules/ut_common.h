/*
 * Shared by the bdev module unit tests: one brisk_thread polled by hand,
 * the bdev layer started on it, and synchronous wrappers that submit one I/O
 * and poll until it completes (bounded in time).
 */
#ifndef BDEV_MODULES_UT_COMMON_H
#define BDEV_MODULES_UT_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/env.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

static struct brisk_thread *g_th;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls until *flag is non-zero or 5 s pass (a hang fails the test, not the run). */
static void poll_until(const int *flag)
{
	uint64_t end = now_ms() + 5000;

	while (*flag == 0 && now_ms() < end) {
		brisk_thread_poll(g_th, 0, 0);
	}
}

static void poll_idle(void)
{
	for (int i = 0; i < 100; i++) {
		brisk_thread_poll(g_th, 0, 0);
	}
}

struct cpl {
	int done;
	bool success;
	int status;
};

static void io_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	struct cpl *c = arg;

	c->done++;
	c->success = success;
	c->status = brisk_bdev_io_get_status(io);
	brisk_bdev_free_io(io);
}

/* Runs one I/O: returns 1 for success, 0 for a failed completion, or the
 * negative submission error; -ETIMEDOUT if it never completes. */
#define SYNC_IO(call_with_cpl) \
	({ \
		struct cpl _c = {0}; \
		struct cpl *c = &_c; \
		int _rc = (call_with_cpl); \
		if (_rc == 0) { \
			poll_until(&c->done); \
			_rc = c->done == 0 ? -ETIMEDOUT : (c->success ? 1 : 0); \
		} \
		_rc; \
	})

struct events {
	int removes;
	int resizes;
};

static void ev_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	struct events *e = ctx;

	if (type == BRISK_BDEV_EVENT_REMOVE) {
		e->removes++;
	} else {
		e->resizes++;
	}
}

static int g_del_done;
static int g_del_rc;
static void del_done(void *arg, int rc)
{
	g_del_done = 1;
	g_del_rc = rc;
}

static int g_init_rc = 1;
static int g_fini;
static void init_done(void *arg, int rc)
{
	g_init_rc = rc;
}
static void fini_done(void *arg)
{
	g_fini = 1;
}

/* The thread and the bdev layer (the runner started the env and the thread
 * library). */
static int ut_start(void)
{
	struct brisk_bdev_opts opts;

	g_th = brisk_thread_create("ut", NULL);
	brisk_set_thread(g_th);
	brisk_bdev_get_opts(&opts);
	opts.bdev_io_pool_size = 512;
	opts.bdev_io_cache_size = 16;
	if (brisk_bdev_set_opts(&opts) != 0) {
		return -1;
	}
	brisk_bdev_initialize(init_done, NULL);
	poll_idle();
	if (g_init_rc != 0) {
		fprintf(stderr, "bdev init failed: %d\n", g_init_rc);
		return -1;
	}
	return 0;
}

/* Finishes the bdev layer (after_start, when not NULL, runs once the finish
 * has started: it returns non-zero for a failed check), then the thread. */
static int ut_finish_with(int (*after_start)(void))
{
	int rc = 0;

	brisk_bdev_finish(fini_done, NULL);
	if (after_start != NULL) {
		rc = after_start();
	}
	poll_until(&g_fini);
	if (!g_fini) {
		fprintf(stderr, "bdev finish did not complete\n");
		return -1;
	}
	return brisk_ut_thread_end(g_th) != 0 ? -1 : rc;
}

static inline int ut_finish(void)
{
	return ut_finish_with(NULL);
}

#endif
