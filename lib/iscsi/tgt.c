/*
 * The target as a whole: option defaults and checks, start (poll groups
 * and the app thread's login poller) and stop (portals, connections still
 * logging in, poll groups with their connections, then target nodes whose
 * SCSI devices close asynchronously), in that order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "iscsi_internal.h"

BRISK_LOG_REGISTER_COMPONENT(iscsi)

/* SPDK's defaults, plus Brisk's two data size limits. */
#define ISCSI_DEFAULT_OPTS { \
	.node_base = "iqn.2016-06.io.spdk", .nop_timeout = 60, .nop_in_interval = 30, \
	.max_sessions = 128, .max_connections_per_session = 2, .max_queue_depth = 64, \
	.default_time2wait = 2, .default_time2retain = 20, .first_burst_length = 8192, \
	.immediate_data = true, .max_large_datain_per_connection = 64, .max_r2t_per_connection = 4, \
	.pdu_pool_size = 36864, .immediate_data_pool_size = 16384, .data_out_pool_size = 2048, \
	.max_recv_data_segment_length = 65536, .max_burst_length = 1048576, \
}

struct iscsi_tgt g_iscsi = {
	.pgs = TAILQ_HEAD_INITIALIZER(g_iscsi.pgs),
	.igs = TAILQ_HEAD_INITIALIZER(g_iscsi.igs),
	.ags = TAILQ_HEAD_INITIALIZER(g_iscsi.ags),
	.nodes = TAILQ_HEAD_INITIALIZER(g_iscsi.nodes),
	.sessions = TAILQ_HEAD_INITIALIZER(g_iscsi.sessions),
	.login_conns = TAILQ_HEAD_INITIALIZER(g_iscsi.login_conns),
	.opts = ISCSI_DEFAULT_OPTS,
	.next_tsih = 1,
	.next_conn_id = 1,
};

void iscsi_opts_default(struct brisk_iscsi_opts *o)
{
	static const struct brisk_iscsi_opts d = ISCSI_DEFAULT_OPTS;

	*o = d;
}

/* Each limit with the field it concerns; NULL when the options are fine. */
const char *iscsi_opts_check(const struct brisk_iscsi_opts *o)
{
	if (o->node_base[0] == '\0' || !iscsi_name_valid(o->node_base)) {
		return "node_base is not a valid iSCSI name";
	}
	if (o->nop_timeout < 1 || o->nop_timeout > 300) {
		return "nop_timeout must be 1..300";
	}
	if (o->nop_in_interval < 1 || o->nop_in_interval > 300) {
		return "nop_in_interval must be 1..300";
	}
	if (o->max_sessions < 1 || o->max_sessions > 65535) {
		return "max_sessions must be 1..65535";
	}
	if (o->max_connections_per_session < 1 || o->max_connections_per_session > 64) {
		return "max_connections_per_session must be 1..64";
	}
	if (o->max_queue_depth < 1 || o->max_queue_depth > 4096) {
		return "max_queue_depth must be 1..4096";
	}
	if (o->default_time2wait > 3600 || o->default_time2retain > 3600) {
		return "default_time2wait and default_time2retain must be 0..3600";
	}
	if (o->first_burst_length < 512 || o->first_burst_length > o->max_burst_length) {
		return "first_burst_length must be 512..max_burst_length";
	}
	if (o->max_burst_length < 512 || o->max_burst_length > 16777215) {
		return "max_burst_length must be 512..16777215";
	}
	if (o->max_recv_data_segment_length < 512 || o->max_recv_data_segment_length > 16777215) {
		return "max_recv_data_segment_length must be 512..16777215";
	}
	if (o->error_recovery_level != 0) {
		return "error_recovery_level: only 0 is supported";
	}
	if (o->max_r2t_per_connection < 1 || o->max_r2t_per_connection > 256) {
		return "max_r2t_per_connection must be 1..256";
	}
	if (o->disable_chap && (o->require_chap || o->mutual_chap)) {
		return "disable_chap excludes require_chap and mutual_chap";
	}
	if (o->mutual_chap && !o->require_chap) {
		return "mutual_chap needs require_chap";
	}
	return NULL;
}

struct init_ctx {
	brisk_iscsi_done_fn cb;
	void *ctx;
	int rc;
};

static void init_done(void *arg)
{
	struct init_ctx *ic = arg;

	ic->cb(ic->ctx, ic->rc);
	free(ic);
}

static int login_poll(void *ctx)
{
	iscsi_conn_login_poll_all();
	return 0;
}

void brisk_iscsi_tgt_init(bool poll_mode, brisk_iscsi_done_fn cb, void *ctx)
{
	struct init_ctx *ic = calloc(1, sizeof(*ic));

	if (ic == NULL) {
		return;
	}
	g_iscsi.app_thread = brisk_get_thread();
	g_iscsi.poll_mode = poll_mode;
	g_iscsi.discovery_auth.disable_chap = g_iscsi.opts.disable_chap;
	g_iscsi.discovery_auth.require_chap = g_iscsi.opts.require_chap;
	g_iscsi.discovery_auth.mutual_chap = g_iscsi.opts.mutual_chap;
	g_iscsi.discovery_auth.chap_group = g_iscsi.opts.chap_group;
	ic->cb = cb;
	ic->ctx = ctx;
	ic->rc = iscsi_poll_groups_start();
	if (ic->rc == 0) {
		/* Timeouts of connections still logging in; their data arrives by fd wakeups. */
		g_iscsi.login_poller = brisk_poller_register_named(login_poll, NULL, poll_mode ? 0 : 100000,
				       "iscsi_login");
		g_iscsi.running = true;
	}
	brisk_thread_send_msg(g_iscsi.app_thread, init_done, ic);
}

static void fini_nodes_step(void *ctx, int rc);

static void fini_done(void)
{
	brisk_iscsi_done_fn cb = g_iscsi.fini_cb;

	g_iscsi.fini_cb = NULL;
	if (cb != NULL) {
		cb(g_iscsi.fini_ctx, 0);
	}
}

/* Target nodes one at a time: each SCSI device closes asynchronously. */
static void fini_nodes_step(void *ctx, int rc)
{
	struct iscsi_tgt_node *n = TAILQ_FIRST(&g_iscsi.nodes);
	struct brisk_scsi_dev *dev;

	if (n == NULL) {
		fini_done();
		return;
	}
	TAILQ_REMOVE(&g_iscsi.nodes, n, link);
	dev = n->dev;
	free(n);
	brisk_scsi_dev_destruct(dev, fini_nodes_step, NULL);
}

/* After the poll groups have exited (iscsi_poll_groups_stop's callback). */
void iscsi_tgt_fini_pgs_done(void)
{
	struct iscsi_portal_grp *pg;
	struct iscsi_init_grp *ig;
	struct iscsi_auth_grp *ag;

	while ((pg = TAILQ_FIRST(&g_iscsi.pgs)) != NULL) {
		iscsi_portal_grp_delete(pg->tag);
	}
	while ((ig = TAILQ_FIRST(&g_iscsi.igs)) != NULL) {
		TAILQ_REMOVE(&g_iscsi.igs, ig, link);
		iscsi_init_grp_free(ig);
	}
	while ((ag = TAILQ_FIRST(&g_iscsi.ags)) != NULL) {
		TAILQ_REMOVE(&g_iscsi.ags, ag, link);
		free(ag);
	}
	fini_nodes_step(NULL, 0);
}

void brisk_iscsi_tgt_fini(brisk_iscsi_done_fn cb, void *ctx)
{
	struct iscsi_conn *c;

	g_iscsi.fini_cb = cb;
	g_iscsi.fini_ctx = ctx;
	g_iscsi.running = false;
	iscsi_portals_close_all();
	brisk_poller_unregister(&g_iscsi.login_poller);
	while ((c = TAILQ_FIRST(&g_iscsi.login_conns)) != NULL) {
		TAILQ_REMOVE(&g_iscsi.login_conns, c, link);
		iscsi_conn_close(c);
		iscsi_conn_free(c);
	}
	iscsi_poll_groups_stop();
}
