/*
 * Poll groups: one brisk_thread per core of the app's mask, each polling
 * the full feature phase connections placed on it (sessions go round-robin;
 * every connection of a session joins the session's group). A group polls
 * while it has work and pauses its poller after POLL_GROUP_IDLE_US without
 * any (unless the reactors run in poll mode); each socket is registered
 * with the thread, so data arriving on a paused group wakes the reactor.
 * A timer once a second sends NOP-In pings to silent initiators and ends
 * connections whose initiator stopped answering.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/cpuset.h>
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ticks.h>

#include "iscsi_internal.h"

#define POLL_GROUP_IDLE_US 1000
#define NOP_TIMER_US 1000000

void iscsi_poll_group_kick(struct iscsi_poll_group *pg)
{
	if (pg != NULL && pg->paused && pg->poller != NULL) {
		pg->paused = false;
		pg->last_busy_tick = brisk_get_ticks();
		brisk_poller_resume(pg->poller);
	}
}

static void kick_msg(void *ctx)
{
	iscsi_poll_group_kick(ctx);
}

void iscsi_poll_group_kick_remote(struct iscsi_poll_group *pg)
{
	brisk_thread_send_msg(pg->thread, kick_msg, pg);
}

struct iscsi_poll_group *iscsi_poll_group_pick(void)
{
	if (g_iscsi.num_pollgroups == 0) {
		return NULL;
	}
	return &g_iscsi.pollgroups[g_iscsi.next_pg++ % g_iscsi.num_pollgroups];
}

static void pg_exit_done(void *ctx);

static void pg_reap(struct iscsi_poll_group *pg, struct iscsi_conn *c)
{
	TAILQ_REMOVE(&pg->conns, c, link);
	__atomic_fetch_sub(&pg->num_conns, 1, __ATOMIC_SEQ_CST);
	iscsi_conn_free(c);
}

static int pg_poll(void *arg)
{
	struct iscsi_poll_group *pg = arg;
	struct iscsi_conn *c, *tmp;
	bool busy = false, pending = false;
	uint64_t now;

	TAILQ_FOREACH_SAFE(c, &pg->conns, link, tmp) {
		if (c->state == ISCSI_CONN_DEAD) {
			if (c->outstanding == 0) {
				pg_reap(pg, c);
				busy = true;
			}
			continue;
		}
		busy |= iscsi_conn_poll(c);
		pending |= !TAILQ_EMPTY(&c->out) || c->outstanding > 0 || iscsi_conn_rx_staged(c);
	}
	if (pg->exiting && TAILQ_EMPTY(&pg->conns)) {
		brisk_poller_unregister(&pg->poller);
		brisk_poller_unregister(&pg->timer);
		brisk_thread_exit(pg->thread);
		/* Last touch of pg: once every group has reported, the app thread
		 * frees the array pg lives in (ThreadSanitizer saw the race). */
		brisk_thread_send_msg(g_iscsi.app_thread, pg_exit_done, pg);
		return 1;
	}
	now = brisk_get_ticks();
	if (busy || pending) {
		pg->last_busy_tick = now;
	} else if (!g_iscsi.poll_mode &&
		   now - pg->last_busy_tick > brisk_us_to_ticks(POLL_GROUP_IDLE_US, brisk_get_ticks_hz())) {
		pg->paused = true;
		brisk_poller_pause(pg->poller);
	}
	return busy ? 1 : 0;
}

static void send_nopin(struct iscsi_conn *c)
{
	struct iscsi_out_pdu *p = iscsi_conn_ctrl_pdu(c);

	if (p == NULL) {
		return;
	}
	p->hdr[0] = ISCSI_OP_NOPIN;
	p->hdr[1] = ISCSI_FLAG_FINAL;
	iscsi_put32(p->hdr, ISCSI_BHS_ITT, ISCSI_RSVD_TAG);
	iscsi_put32(p->hdr, ISCSI_BHS_TTT, 0x4e4f5031); /* a ping asking for an answer */
	iscsi_put32(p->hdr, ISCSI_BHS_STATSN, c->statsn);
	iscsi_conn_set_window(c, p->hdr);
	iscsi_conn_queue(c, p, false);
	c->nop_outstanding = true;
	c->nop_sent_tick = brisk_get_ticks();
}

static int pg_timer(void *arg)
{
	struct iscsi_poll_group *pg = arg;
	struct iscsi_conn *c;
	uint64_t hz = brisk_get_ticks_hz(), now = brisk_get_ticks();

	TAILQ_FOREACH(c, &pg->conns, link) {
		if (c->state != ISCSI_CONN_FFP) {
			continue;
		}
		if (c->nop_outstanding && now - c->nop_sent_tick > (uint64_t)g_iscsi.opts.nop_timeout * hz) {
			BRISK_ERRLOG("iscsi: connection %u (%s): no NOP-Out answer in %u s: closing\n", c->id,
				     c->peer_host, g_iscsi.opts.nop_timeout);
			iscsi_conn_close(c);
		} else if (!c->nop_outstanding && now - c->last_rx_tick > (uint64_t)g_iscsi.opts.nop_in_interval * hz) {
			send_nopin(c);
			iscsi_poll_group_kick(pg);
		}
	}
	return 0;
}

static void pg_start(void *ctx)
{
	struct iscsi_poll_group *pg = ctx;

	pg->poller = brisk_poller_register_named(pg_poll, pg, 0, "iscsi_poll_group");
	pg->timer = brisk_poller_register_named(pg_timer, pg, NOP_TIMER_US, "iscsi_nop");
	if (pg->poller == NULL || pg->timer == NULL) {
		BRISK_ERRLOG("iscsi: poll group %u: no poller\n", pg->index);
		return;
	}
	pg->last_busy_tick = brisk_get_ticks();
}

int iscsi_poll_groups_start(void)
{
	uint32_t n = brisk_env_get_core_count(), i = 0, core;
	char name[32];

	g_iscsi.pollgroups = calloc(n ? n : 1, sizeof(*g_iscsi.pollgroups));
	if (g_iscsi.pollgroups == NULL) {
		return -ENOMEM;
	}
	for (core = brisk_env_get_first_core(); core != UINT32_MAX && i < n; core = brisk_env_get_next_core(core)) {
		struct iscsi_poll_group *pg = &g_iscsi.pollgroups[i];
		struct brisk_cpuset mask;

		brisk_cpuset_zero(&mask);
		brisk_cpuset_set_cpu(&mask, core, true);
		snprintf(name, sizeof(name), "iscsi_poll_group_%03u", i);
		pg->index = i;
		TAILQ_INIT(&pg->conns);
		pg->thread = brisk_thread_create(name, &mask);
		if (pg->thread == NULL || brisk_thread_send_msg(pg->thread, pg_start, pg) != 0) {
			BRISK_ERRLOG("iscsi: cannot start poll group thread %s\n", name);
			return -ENOMEM;
		}
		i++;
		g_iscsi.num_pollgroups = i;
	}
	return 0;
}

static int conn_on_fd(void *ctx)
{
	struct iscsi_conn *c = ctx;

	iscsi_poll_group_kick(c->pg);
	return 0;
}

/* Connection reinstatement (RFC 7143 6.3.4): a login with the CID of a
 * live connection of the session replaces that connection. */
static void conn_reinstate(struct iscsi_conn *c)
{
	struct iscsi_conn *o;

	TAILQ_FOREACH(o, &c->sess->conns, sess_link) {
		if (o != c && o->cid == c->cid && o->state != ISCSI_CONN_DEAD) {
			BRISK_NOTICELOG("iscsi: connection %u (CID %u) reinstated by connection %u\n", o->id, o->cid, c->id);
			iscsi_conn_close(o);
		}
	}
}

static void pg_add_msg(void *arg)
{
	struct iscsi_conn *c = arg;
	struct iscsi_poll_group *pg = c->sess->pg;

	c->pg = pg;
	TAILQ_INSERT_TAIL(&pg->conns, c, link);
	__atomic_fetch_add(&pg->num_conns, 1, __ATOMIC_SEQ_CST);
	TAILQ_INSERT_TAIL(&c->sess->conns, c, sess_link);
	conn_reinstate(c);
	if (pg->exiting || brisk_scsi_dev_allocate_io_channels(c->sess->node->dev) != 0) {
		iscsi_conn_close(c);
		return;
	}
	c->channels = true;
	c->state = ISCSI_CONN_FFP;
	if (!g_iscsi.poll_mode) {
		c->intr = brisk_interrupt_register(c->fd, conn_on_fd, c, "iscsi_conn");
		if (c->intr == NULL) {
			iscsi_conn_close(c);
			return;
		}
	}
	pg->paused = true;
	iscsi_poll_group_kick(pg);
}

void iscsi_poll_group_add(struct iscsi_conn *c, struct iscsi_poll_group *pg)
{
	if (pg == NULL || brisk_thread_send_msg(pg->thread, pg_add_msg, c) != 0) {
		BRISK_ERRLOG("iscsi: connection %u: no poll group to take it\n", c->id);
		c->state = ISCSI_CONN_DEAD;
		TAILQ_INSERT_TAIL(&g_iscsi.login_conns, c, link);
	}
}

/* ---- stop ---- */

static void pg_exit_done(void *ctx)
{
	if (--g_iscsi.pgs_left > 0) {
		return;
	}
	free(g_iscsi.pollgroups);
	g_iscsi.pollgroups = NULL;
	g_iscsi.num_pollgroups = 0;
	iscsi_tgt_fini_pgs_done();
}

static void pg_stop(void *arg)
{
	struct iscsi_poll_group *pg = arg;
	struct iscsi_conn *c;

	pg->exiting = true;
	TAILQ_FOREACH(c, &pg->conns, link) {
		iscsi_conn_close(c);
	}
	if (pg->poller == NULL) {
		brisk_poller_unregister(&pg->timer);
		brisk_thread_exit(pg->thread);
		/* Last touch of pg, as in pg_poll. */
		brisk_thread_send_msg(g_iscsi.app_thread, pg_exit_done, pg);
		return;
	}
	pg->paused = true;
	iscsi_poll_group_kick(pg);
}

void iscsi_poll_groups_stop(void)
{
	g_iscsi.pgs_left = g_iscsi.num_pollgroups;
	if (g_iscsi.num_pollgroups == 0) {
		g_iscsi.pgs_left = 1;
		pg_exit_done(NULL);
		return;
	}
	for (uint32_t i = 0; i < g_iscsi.num_pollgroups; i++) {
		brisk_thread_send_msg(g_iscsi.pollgroups[i].thread, pg_stop, &g_iscsi.pollgroups[i]);
	}
}
