/*
 * Poll groups: one brisk_thread per core of the app's mask, each polling the
 * connections placed on it (new connections go round-robin). A poll group
 * polls while it has work and pauses its poller after POLL_GROUP_IDLE_US
 * without any, unless the reactors run in poll mode; every socket is
 * registered with the thread (brisk_interrupt_register), so data arriving
 * on a paused group wakes the reactor and resumes the poller. This is what
 * keeps an idle target with connected hosts under 1% CPU.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/cpuset.h>
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ticks.h>

#include "nvmf_internal.h"

#define POLL_GROUP_IDLE_US 1000

struct pg_add_ctx {
	int fd;
	struct nvmf_listen_addr local;
	char peer[64];
	struct nvmf_poll_group *pg;
};

struct nvmf_poll_group *nvmf_poll_group_current(void)
{
	struct brisk_thread *t = brisk_get_thread();

	for (uint32_t i = 0; i < g_nvmf_tgt.num_pgs; i++) {
		if (g_nvmf_tgt.pgs[i].thread == t) {
			return &g_nvmf_tgt.pgs[i];
		}
	}
	return NULL;
}

void nvmf_poll_group_kick(struct nvmf_poll_group *pg)
{
	if (pg != NULL && pg->paused && pg->poller != NULL) {
		pg->paused = false;
		pg->last_busy_tick = brisk_get_ticks();
		brisk_poller_resume(pg->poller);
	}
}

static void pg_count_gone(struct nvmf_poll_group *pg, struct nvmf_conn *c)
{
	if (c->ctrlr == NULL) {
		return;
	}
	__atomic_fetch_sub(c->qid == 0 ? &pg->current_admin_qpairs : &pg->current_io_qpairs, 1, __ATOMIC_SEQ_CST);
}

static bool pg_has_pending(const struct nvmf_conn *c)
{
	return !TAILQ_EMPTY(&c->out) || c->outstanding > 0 || nvmf_conn_rx_staged(c);
}

static void pg_exit_done(void *ctx);

static int pg_poll(void *arg)
{
	struct nvmf_poll_group *pg = arg;
	struct nvmf_conn *c, *tmp;
	bool busy = false, pending = false;
	uint64_t now;

	for (c = TAILQ_FIRST(&pg->conns); c != NULL; c = tmp) {
		tmp = TAILQ_NEXT(c, link);
		nvmf_range_retry_deferred(c);
		if (c->dead) {
			nvmf_conn_out_drop(c); /* lent read buffers go back */
			if (c->outstanding == 0) {
				TAILQ_REMOVE(&pg->conns, c, link);
				pg_count_gone(pg, c);
				nvmf_conn_free(c);
				busy = true;
			}
			continue;
		}
		busy |= nvmf_conn_poll(c);
		pending |= pg_has_pending(c);
	}
	if (pg->exiting && TAILQ_EMPTY(&pg->conns)) {
		brisk_poller_unregister(&pg->poller);
		brisk_thread_exit(pg->thread);
		/* Last touch of pg: once every group has reported, the app thread
		 * frees the array pg lives in (ThreadSanitizer saw the race). */
		brisk_thread_send_msg(g_nvmf_tgt.app_thread, pg_exit_done, pg);
		return 1;
	}
	now = brisk_get_ticks();
	if (busy || pending) {
		pg->last_busy_tick = now;
	} else if (!g_nvmf_tgt.poll_mode && now - pg->last_busy_tick >
		   brisk_us_to_ticks(POLL_GROUP_IDLE_US, brisk_get_ticks_hz())) {
		pg->paused = true;
		brisk_poller_pause(pg->poller);
	}
	return busy ? 1 : 0;
}

static void pg_start(void *ctx)
{
	struct nvmf_poll_group *pg = ctx;

	pg->poller = brisk_poller_register_named(pg_poll, pg, 0, "nvmf_tgt_poll_group");
	if (pg->poller == NULL) {
		BRISK_ERRLOG("nvmf: poll group %u: no poller\n", pg->index);
		return;
	}
	pg->last_busy_tick = brisk_get_ticks();
}

int nvmf_poll_groups_start(void)
{
	uint32_t n = brisk_env_get_core_count(), i = 0, core;
	char name[32];

	g_nvmf_tgt.pgs = calloc(n ? n : 1, sizeof(*g_nvmf_tgt.pgs));
	if (g_nvmf_tgt.pgs == NULL) {
		return -ENOMEM;
	}
	for (core = brisk_env_get_first_core(); core != UINT32_MAX && i < n; core = brisk_env_get_next_core(core)) {
		struct nvmf_poll_group *pg = &g_nvmf_tgt.pgs[i];
		struct brisk_cpuset mask;

		brisk_cpuset_zero(&mask);
		brisk_cpuset_set_cpu(&mask, core, true);
		snprintf(name, sizeof(name), "nvmf_tgt_poll_group_%03u", i);
		pg->index = i;
		TAILQ_INIT(&pg->conns);
		pg->thread = brisk_thread_create(name, &mask);
		if (pg->thread == NULL || brisk_thread_send_msg(pg->thread, pg_start, pg) != 0) {
			BRISK_ERRLOG("nvmf: cannot start poll group thread %s\n", name);
			return -ENOMEM;
		}
		i++;
		g_nvmf_tgt.num_pgs = i;
	}
	return 0;
}

static void pg_add(void *arg)
{
	struct pg_add_ctx *ctx = arg;
	struct nvmf_poll_group *pg = ctx->pg;
	struct nvmf_conn *c = pg->exiting ? NULL : nvmf_conn_create(pg, ctx->fd, &ctx->local, ctx->peer);

	if (c == NULL) {
		BRISK_ERRLOG("nvmf: cannot take connection from %s\n", ctx->peer);
		close(ctx->fd);
	} else {
		TAILQ_INSERT_TAIL(&pg->conns, c, link);
		BRISK_INFOLOG("nvmf: connection from %s on poll group %u\n", ctx->peer, pg->index);
		nvmf_poll_group_kick(pg);
	}
	free(ctx);
}

void nvmf_poll_group_add_fd(int fd, const struct nvmf_listen_addr *local, const char *peer)
{
	struct pg_add_ctx *ctx = calloc(1, sizeof(*ctx));
	struct nvmf_poll_group *pg;

	if (ctx == NULL || g_nvmf_tgt.num_pgs == 0) {
		free(ctx);
		close(fd);
		return;
	}
	pg = &g_nvmf_tgt.pgs[g_nvmf_tgt.next_pg++ % g_nvmf_tgt.num_pgs];
	ctx->fd = fd;
	ctx->local = *local;
	ctx->pg = pg;
	snprintf(ctx->peer, sizeof(ctx->peer), "%s", peer);
	if (brisk_thread_send_msg(pg->thread, pg_add, ctx) != 0) {
		close(fd);
		free(ctx);
	}
}

/* ---- stop ---- */

static void pg_exit_done(void *ctx)
{
	if (--g_nvmf_tgt.pgs_left == 0 && g_nvmf_tgt.fini_cb != NULL) {
		brisk_nvmf_done_fn cb = g_nvmf_tgt.fini_cb;

		g_nvmf_tgt.fini_cb = NULL;
		free(g_nvmf_tgt.pgs);
		g_nvmf_tgt.pgs = NULL;
		g_nvmf_tgt.num_pgs = 0;
		cb(g_nvmf_tgt.fini_ctx, 0);
	}
}

static void pg_stop(void *arg)
{
	struct nvmf_poll_group *pg = arg;
	struct nvmf_conn *c;

	pg->exiting = true;
	TAILQ_FOREACH(c, &pg->conns, link) {
		nvmf_conn_disconnect(c);
	}
	if (pg->poller == NULL) {
		brisk_thread_exit(pg->thread);
		/* Last touch of pg, as in pg_poll. */
		brisk_thread_send_msg(g_nvmf_tgt.app_thread, pg_exit_done, pg);
		return;
	}
	pg->paused = true;
	nvmf_poll_group_kick(pg);
}

/* fini_cb runs once every poll group thread has exited. */
void nvmf_poll_groups_stop(void)
{
	g_nvmf_tgt.pgs_left = g_nvmf_tgt.num_pgs;
	if (g_nvmf_tgt.num_pgs == 0) {
		g_nvmf_tgt.pgs_left = 1;
		pg_exit_done(NULL);
		return;
	}
	for (uint32_t i = 0; i < g_nvmf_tgt.num_pgs; i++) {
		brisk_thread_send_msg(g_nvmf_tgt.pgs[i].thread, pg_stop, &g_nvmf_tgt.pgs[i]);
	}
}
