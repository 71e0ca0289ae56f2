/*
 * Examine: when a bdev is registered, every module may look at it (a module
 * that finds its metadata claims the bdev and builds on it). examine_config
 * runs for every module first, synchronously; then examine_disk runs for
 * every module, or only for the claimer when one claimed the bdev. Each call
 * ends with brisk_bdev_module_examine_done; brisk_bdev_wait_for_examine
 * waits until none is in progress. Runs on the thread that registered the
 * bdev (the app thread).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/string.h>

#include "bdev_internal.h"

/* Names allowed to be examined when auto examine is off (bdev_examine). */
struct examine_allow {
	char *name;
	TAILQ_ENTRY(examine_allow) link;
};
static TAILQ_HEAD(, examine_allow) g_examine_allow = TAILQ_HEAD_INITIALIZER(g_examine_allow);

struct examine_waiter {
	brisk_bdev_wait_for_examine_cb cb;
	void *cb_arg;
	struct brisk_thread *thread;
	TAILQ_ENTRY(examine_waiter) link;
};
static TAILQ_HEAD(, examine_waiter) g_examine_waiters = TAILQ_HEAD_INITIALIZER(g_examine_waiters);
static uint32_t g_examine_starts_pending; /* examine messages sent, not yet run */


bool bdev_examine_allowed(const char *name)
{
	struct examine_allow *e;

	if (g_bdev_mgr.opts.bdev_auto_examine) {
		return true;
	}
	TAILQ_FOREACH(e, &g_examine_allow, link) {
		if (strcmp(e->name, name) == 0) {
			return true;
		}
	}
	return false;
}

bool bdev_examine_pending(void)
{
	struct brisk_bdev_module *m;

	if (g_examine_starts_pending > 0) {
		return true;
	}
	TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
		if (m->action_in_progress > 0) {
			return true;
		}
	}
	return false;
}

static void examine_waiter_run(void *ctx)
{
	struct examine_waiter *w = ctx;

	w->cb(w->cb_arg);
	free(w);
}

void bdev_wait_for_examine_check(void)
{
	struct examine_waiter *w;

	if (bdev_examine_pending()) {
		return;
	}
	while ((w = TAILQ_FIRST(&g_examine_waiters)) != NULL) {
		TAILQ_REMOVE(&g_examine_waiters, w, link);
		if (brisk_thread_send_msg(w->thread, examine_waiter_run, w) != 0) {
			examine_waiter_run(w);
		}
	}
}

int brisk_bdev_wait_for_examine(brisk_bdev_wait_for_examine_cb cb, void *cb_arg)
{
	struct examine_waiter *w;

	if (cb == NULL || brisk_get_thread() == NULL) {
		return -EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		return -ENOMEM;
	}
	w->cb = cb;
	w->cb_arg = cb_arg;
	w->thread = brisk_get_thread();
	TAILQ_INSERT_TAIL(&g_examine_waiters, w, link);
	bdev_wait_for_examine_check();
	return 0;
}

void brisk_bdev_module_examine_done(struct brisk_bdev_module *module)
{
	if (module->action_in_progress == 0) {
		BRISK_ERRLOG("module %s finished an examine it had not started\n", module->name);
		return;
	}
	module->action_in_progress--;
	bdev_wait_for_examine_check();
}

/* Step 1: every module's examine_config (synchronous); step 2: examine_disk
 * of every module, or only the claimer's once a module claimed the bdev. */
static void bdev_examine(struct brisk_bdev *bdev)
{
	struct brisk_bdev_module *m;
	struct brisk_bdev_module *claimer;

	bdev->internal->examined = true;
	TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
		if (m->examine_config != NULL) {
			m->action_in_progress++;
			m->examine_config(bdev);
		}
	}
	pthread_mutex_lock(&g_bdev_mgr.lock);
	claimer = bdev->internal->claim_module;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	if (claimer != NULL) {
		if (claimer->examine_disk != NULL) {
			claimer->action_in_progress++;
			claimer->examine_disk(bdev);
		}
		return;
	}
	TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
		if (m->examine_disk != NULL) {
			m->action_in_progress++;
			m->examine_disk(bdev);
		}
	}
}

static void bdev_examine_msg(void *ctx)
{
	struct brisk_bdev *bdev = ctx;
	struct bdev_state *st = bdev->internal;
	bool destruct, ready;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	st->examine_msg_pending = false;
	destruct = st->destruct_deferred;
	ready = st->status == BDEV_STATUS_READY;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	/* Still counted as pending while the modules start: a module finishing
	 * synchronously must not release waiters before the others started. */
	if (ready && !st->examined) {
		bdev_examine(bdev);
	}
	g_examine_starts_pending--;
	bdev_wait_for_examine_check();
	if (destruct) {
		bdev_destruct(bdev); /* unregistered before its examine ran */
	}
}

void bdev_start_examine(struct brisk_bdev *bdev)
{
	g_examine_starts_pending++;
	pthread_mutex_lock(&g_bdev_mgr.lock);
	bdev->internal->examine_msg_pending = true;
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	if (brisk_thread_send_msg(brisk_get_thread(), bdev_examine_msg, bdev) != 0) {
		bdev_examine_msg(bdev);
	}
}

int brisk_bdev_examine(const char *name)
{
	struct examine_allow *e;
	struct brisk_bdev *bdev;

	if (name == NULL || name[0] == '\0') {
		BRISK_ERRLOG("bdev_examine: name is missing\n");
		return -EINVAL;
	}
	if (g_bdev_mgr.opts.bdev_auto_examine) {
		BRISK_ERRLOG("bdev_examine: manual examine is not allowed while bdev_auto_examine is on\n");
		return -EINVAL;
	}
	TAILQ_FOREACH(e, &g_examine_allow, link) {
		if (strcmp(e->name, name) == 0) {
			BRISK_ERRLOG("bdev_examine: %s is already in the examine list\n", name);
			return -EEXIST;
		}
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || (e->name = strdup(name)) == NULL) {
		free(e);
		return -ENOMEM;
	}
	TAILQ_INSERT_TAIL(&g_examine_allow, e, link);
	bdev = brisk_bdev_get_by_name(name);
	if (bdev != NULL && !bdev->internal->examined) {
		bdev_start_examine(bdev);
	}
	return 0;
}

/* For save_config: one bdev_examine call per allowed name. */
void bdev_write_examine_json(json_t *array)
{
	struct examine_allow *e;

	TAILQ_FOREACH(e, &g_examine_allow, link) {
		json_array_append_new(array, json_pack("{s:s, s:{s:s}}", "method", "bdev_examine",
						       "params", "name", e->name));
	}
}


void bdev_examine_fini(void)
{
	struct examine_allow *e;

	while ((e = TAILQ_FIRST(&g_examine_allow)) != NULL) {
		TAILQ_REMOVE(&g_examine_allow, e, link);
		free(e->name);
		free(e);
	}
}
