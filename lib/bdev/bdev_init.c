/*
 * The bdev layer's global state, its options (bdev_set_options), the module
 * list, and the layer's start (pools, then each module's init in
 * registration order) and finish (every bdev unregistered, then each
 * module's fini in reverse order, then the pools).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/string.h>

#include "bdev_internal.h"

/* Defaults take about 28 MiB of env memory (13 MiB of brisk_bdev_io, 6 + 8.5
 * MiB of data buffers), so a target started with -s 64 still has room;
 * bdev_set_options raises them for large queue depths. */
struct bdev_mgr g_bdev_mgr = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.modules = TAILQ_HEAD_INITIALIZER(g_bdev_mgr.modules),
	.bdevs = TAILQ_HEAD_INITIALIZER(g_bdev_mgr.bdevs),
	.opts = {
		.bdev_io_pool_size = 16383,
		.bdev_io_cache_size = 256,
		.bdev_auto_examine = true,
		.small_buf_pool_size = 511,
		.large_buf_pool_size = 63,
	},
};

/* ------------------------------------------------------------------------ */
/* Options */

void brisk_bdev_get_opts(struct brisk_bdev_opts *opts)
{
	*opts = g_bdev_mgr.opts;
}

int bdev_opts_check(const struct brisk_bdev_opts *opts, char *err, size_t errlen)
{
	if (opts->bdev_io_cache_size == 0) {
		snprintf(err, errlen, "bdev_io_cache_size must be at least 1");
		return -EINVAL;
	}
	/* Every thread may keep a full cache: leave room for a few of them. */
	if (opts->bdev_io_pool_size < (uint64_t)opts->bdev_io_cache_size * 2) {
		snprintf(err, errlen, "bdev_io_pool_size %u must be at least twice bdev_io_cache_size %u",
			 opts->bdev_io_pool_size, opts->bdev_io_cache_size);
		return -EINVAL;
	}
	if (opts->bdev_io_pool_size > (1u << 24)) {
		snprintf(err, errlen, "bdev_io_pool_size %u is too large (max %u)", opts->bdev_io_pool_size,
			 1u << 24);
		return -EINVAL;
	}
	if (opts->small_buf_pool_size == 0 || opts->small_buf_pool_size > (1u << 20)) {
		snprintf(err, errlen, "small_buf_pool_size %u must be between 1 and %u",
			 opts->small_buf_pool_size, 1u << 20);
		return -EINVAL;
	}
	if (opts->large_buf_pool_size == 0 || opts->large_buf_pool_size > (1u << 16)) {
		snprintf(err, errlen, "large_buf_pool_size %u must be between 1 and %u",
			 opts->large_buf_pool_size, 1u << 16);
		return -EINVAL;
	}
	return 0;
}

int brisk_bdev_set_opts(const struct brisk_bdev_opts *opts)
{
	char err[160];
	int rc;

	if (opts == NULL) {
		return -EINVAL;
	}
	if (g_bdev_mgr.init_started) {
		BRISK_ERRLOG("bdev options can only be set before the bdev layer starts\n");
		return -EPERM;
	}
	rc = bdev_opts_check(opts, err, sizeof(err));
	if (rc != 0) {
		BRISK_ERRLOG("%s\n", err);
		return rc;
	}
	g_bdev_mgr.opts = *opts;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Modules */

void brisk_bdev_module_list_add(struct brisk_bdev_module *module)
{
	if (brisk_bdev_module_list_find(module->name) != NULL) {
		BRISK_ERRLOG("bdev module %s registered twice\n", module->name);
		return;
	}
	TAILQ_INSERT_TAIL(&g_bdev_mgr.modules, module, link);
}

struct brisk_bdev_module *brisk_bdev_module_list_find(const char *name)
{
	struct brisk_bdev_module *m;

	TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
		if (strcmp(m->name, name) == 0) {
			return m;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Initialisation: pools, the mgmt io_device, then each module in turn. */

static struct {
	brisk_bdev_init_cb cb;
	void *cb_arg;
	struct brisk_bdev_module *next; /* module to initialise next */
	bool waiting;                   /* for brisk_bdev_module_init_done */
	brisk_bdev_fini_cb fini_cb;
	void *fini_arg;
	struct brisk_bdev_module *fini_next;
} g_init;

static void bdev_init_done(int rc)
{
	struct brisk_bdev_module *m;

	if (rc == 0) {
		g_bdev_mgr.initialized = true;
		TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
			if (m->init_complete != NULL) {
				m->init_complete();
			}
		}
	}
	g_init.cb(g_init.cb_arg, rc);
}

static void bdev_init_next_module(void)
{
	struct brisk_bdev_module *m;
	int rc;

	while ((m = g_init.next) != NULL) {
		g_init.next = TAILQ_NEXT(m, link);
		if (m->module_init == NULL) {
			continue;
		}
		g_init.waiting = m->async_init;
		rc = m->module_init();
		if (rc != 0) {
			BRISK_ERRLOG("bdev module %s failed to initialise: %d\n", m->name, rc);
			g_init.waiting = false;
			bdev_init_done(rc);
			return;
		}
		if (m->async_init) {
			return; /* resumes in brisk_bdev_module_init_done */
		}
	}
	bdev_init_done(0);
}

void brisk_bdev_module_init_done(struct brisk_bdev_module *module)
{
	if (!g_init.waiting) {
		BRISK_ERRLOG("module %s: init_done without an asynchronous init in progress\n", module->name);
		return;
	}
	g_init.waiting = false;
	bdev_init_next_module();
}

static int bdev_create_io_pool(void)
{
	struct brisk_bdev_module *m;
	uint32_t ctx = 0;
	size_t elt;
	char name[BRISK_MEMPOOL_NAMESIZE];

	TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
		if (m->get_ctx_size != NULL && m->get_ctx_size() > 0 && (uint32_t)m->get_ctx_size() > ctx) {
			ctx = (uint32_t)m->get_ctx_size();
		}
	}
	g_bdev_mgr.max_ctx_size = ctx;
	elt = sizeof(struct bdev_io_priv) + ctx;
	brisk_env_proc_obj_name(name, sizeof(name), "bdev_io"); /* a secondary's own */
	g_bdev_mgr.io_pool = brisk_mempool_create(name, g_bdev_mgr.opts.bdev_io_pool_size, (unsigned)elt, 0,
						  BRISK_ENV_SOCKET_ID_ANY);
	if (g_bdev_mgr.io_pool == NULL) {
		BRISK_ERRLOG("could not create the bdev_io pool (%u objects of %zu bytes)\n",
			     g_bdev_mgr.opts.bdev_io_pool_size, elt);
		return -ENOMEM;
	}
	return 0;
}

bool brisk_bdev_is_initialized(void)
{
	return g_bdev_mgr.initialized;
}

void brisk_bdev_initialize(brisk_bdev_init_cb cb, void *cb_arg)
{
	int rc;

	g_init.cb = cb;
	g_init.cb_arg = cb_arg;
	if (g_bdev_mgr.init_started) {
		BRISK_ERRLOG("the bdev layer is already initialised\n");
		cb(cb_arg, -EALREADY);
		return;
	}
	g_bdev_mgr.init_started = true;
	rc = bdev_create_io_pool();
	if (rc == 0) {
		rc = bdev_buf_init();
	}
	if (rc != 0) {
		brisk_mempool_free(g_bdev_mgr.io_pool);
		g_bdev_mgr.io_pool = NULL;
		g_bdev_mgr.init_started = false;
		cb(cb_arg, rc);
		return;
	}
	brisk_io_device_register(&g_bdev_mgr, bdev_mgmt_channel_create, bdev_mgmt_channel_destroy,
				 sizeof(struct bdev_mgmt_channel), "bdev_mgr");
	g_init.next = TAILQ_FIRST(&g_bdev_mgr.modules);
	bdev_init_next_module();
}

/* Finish: unregister the bdevs one at a time (leaves first, newest first, so
 * stacked bdevs go before their bases), then each module's fini in reverse
 * order, then the pools. */
static void bdev_finish_unregister_next(void);

static void bdev_finish_unregistered(void *ctx, int rc)
{
	if (rc != 0) {
		BRISK_ERRLOG("a bdev failed to unregister at finish: %d\n", rc);
	}
	bdev_finish_unregister_next();
}

static void bdev_finish_mgr_gone(void *io_device)
{
	bdev_buf_fini();
	brisk_mempool_free(g_bdev_mgr.io_pool);
	g_bdev_mgr.io_pool = NULL;
	bdev_examine_fini();
	g_bdev_mgr.initialized = false;
	g_bdev_mgr.init_started = false;
	g_init.fini_cb(g_init.fini_arg);
}

static void bdev_finish_next_module(void)
{
	struct brisk_bdev_module *m;

	while ((m = g_init.fini_next) != NULL) {
		g_init.fini_next = TAILQ_PREV(m, bdev_module_list, link);
		if (m->module_fini == NULL) {
			continue;
		}
		m->module_fini();
		if (m->async_fini) {
			return; /* resumes in brisk_bdev_module_fini_done */
		}
	}
	brisk_io_device_unregister(&g_bdev_mgr, bdev_finish_mgr_gone);
}

void brisk_bdev_module_fini_done(void)
{
	bdev_finish_next_module();
}

static void bdev_finish_unregister_next(void)
{
	struct brisk_bdev *bdev, *pick = NULL;

	pthread_mutex_lock(&g_bdev_mgr.lock);
	TAILQ_FOREACH_REVERSE(bdev, &g_bdev_mgr.bdevs, bdev_list, link) {
		if (bdev->internal->claim_module == NULL) {
			pick = bdev;
			break;
		}
	}
	if (pick == NULL) {
		pick = TAILQ_LAST(&g_bdev_mgr.bdevs, bdev_list);
	}
	pthread_mutex_unlock(&g_bdev_mgr.lock);
	if (pick != NULL) {
		brisk_bdev_unregister(pick, bdev_finish_unregistered, NULL);
		return;
	}
	g_init.fini_next = TAILQ_LAST(&g_bdev_mgr.modules, bdev_module_list);
	bdev_finish_next_module();
}

void brisk_bdev_finish(brisk_bdev_fini_cb cb, void *cb_arg)
{
	struct brisk_bdev_module *m;

	g_init.fini_cb = cb;
	g_init.fini_arg = cb_arg;
	bdev_rpc_fini();
	if (!g_bdev_mgr.init_started) {
		cb(cb_arg);
		return;
	}
	TAILQ_FOREACH(m, &g_bdev_mgr.modules, link) {
		if (m->fini_start != NULL) {
			m->fini_start();
		}
	}
	bdev_finish_unregister_next();
}

