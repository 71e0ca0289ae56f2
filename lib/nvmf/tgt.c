/*
 * The target: its defaults, start (discovery subsystem, poll groups, the
 * acceptor) and stop (listeners, subsystems, poll groups, in that order),
 * and the TCP transport's options.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "nvmf_internal.h"

BRISK_LOG_REGISTER_COMPONENT(nvmf)

struct nvmf_tgt g_nvmf_tgt;

void nvmf_transport_opts_default(struct brisk_nvmf_transport_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_queue_depth = 128;
	o->max_qpairs_per_ctrlr = 128;
	o->in_capsule_data_size = 4096;
	o->max_io_size = 131072;
	o->io_unit_size = 131072;
	o->max_aq_depth = 128;
	o->num_shared_buffers = 511;
	o->buf_cache_size = 32;
	o->abort_timeout_sec = 1;
	o->c2h_success = true;
}

int nvmf_transport_create(const struct brisk_nvmf_transport_opts *opts)
{
	if (g_nvmf_tgt.tcp != NULL) {
		return -EEXIST;
	}
	g_nvmf_tgt.tcp = calloc(1, sizeof(*g_nvmf_tgt.tcp));
	if (g_nvmf_tgt.tcp == NULL) {
		return -ENOMEM;
	}
	g_nvmf_tgt.tcp->opts = *opts;
	return 0;
}

struct init_ctx {
	brisk_nvmf_done_fn cb;
	void *ctx;
	int rc;
};

static void init_done(void *arg)
{
	struct init_ctx *ic = arg;

	ic->cb(ic->ctx, ic->rc);
	free(ic);
}

static int tgt_start(void)
{
	int rc;

	g_nvmf_tgt.app_thread = brisk_get_thread();
	g_nvmf_tgt.max_subsystems = g_nvmf_tgt.max_subsystems ? g_nvmf_tgt.max_subsystems :
				    NVMF_DEFAULT_MAX_SUBSYSTEMS;
	if (g_nvmf_tgt.conf.acceptor_poll_rate == 0) {
		g_nvmf_tgt.conf.acceptor_poll_rate = 10000;
	}
	if (g_nvmf_tgt.conf.discovery_filter[0] == '\0') {
		snprintf(g_nvmf_tgt.conf.discovery_filter, sizeof(g_nvmf_tgt.conf.discovery_filter), "match_any");
	}
	TAILQ_INIT(&g_nvmf_tgt.subsystems);
	TAILQ_INIT(&g_nvmf_tgt.listeners);
	rc = nvmf_subsystem_create(BRISK_NVMF_DISCOVERY_NQN, BRISK_NVMF_SUBTYPE_DISCOVERY, 0,
				   &g_nvmf_tgt.discovery);
	if (rc != 0) {
		return rc;
	}
	g_nvmf_tgt.discovery->allow_any_host = true;
	rc = nvmf_poll_groups_start();
	if (rc != 0) {
		return rc;
	}
	nvmf_accept_poller_start();
	g_nvmf_tgt.running = true;
	return 0;
}

void brisk_nvmf_tgt_init(bool poll_mode, brisk_nvmf_done_fn cb, void *ctx)
{
	struct init_ctx *ic = calloc(1, sizeof(*ic));

	if (ic == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	g_nvmf_tgt.poll_mode = poll_mode;
	ic->cb = cb;
	ic->ctx = ctx;
	ic->rc = tgt_start();
	brisk_thread_send_msg(brisk_get_thread(), init_done, ic);
}

/* Every connection is gone (and with it every controller): the subsystems
 * go next, closing their namespaces and listeners. */
static void fini_done(void *ctx, int rc)
{
	struct init_ctx *ic = ctx;
	struct nvmf_subsystem *s;

	if (g_nvmf_tgt.running) {
		while ((s = TAILQ_FIRST(&g_nvmf_tgt.subsystems)) != NULL) {
			nvmf_subsystem_destroy(s);
		}
	}
	g_nvmf_tgt.discovery = NULL;
	free(g_nvmf_tgt.tcp);
	g_nvmf_tgt.tcp = NULL;
	g_nvmf_tgt.running = false;
	ic->cb(ic->ctx, rc);
	free(ic);
}

void brisk_nvmf_tgt_fini(brisk_nvmf_done_fn cb, void *ctx)
{
	struct init_ctx *ic = calloc(1, sizeof(*ic));

	if (ic == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	ic->cb = cb;
	ic->ctx = ctx;
	brisk_poller_unregister(&g_nvmf_tgt.accept_poller);
	g_nvmf_tgt.fini_cb = fini_done;
	g_nvmf_tgt.fini_ctx = ic;
	nvmf_poll_groups_stop();
}
