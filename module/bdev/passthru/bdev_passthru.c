/*
 * Passthru bdevs: the simplest virtual bdev. Each one opens its base bdev,
 * claims it (so nothing else writes under it), and forwards every I/O on a
 * per-thread channel of the base. A config whose base does not exist yet is
 * kept and the passthru is built when the base registers (examine_config).
 * When the base goes away, the passthru is unregistered.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "bdev_passthru.h"

struct pt_config {
	char *base_bdev_name;
	char *name;
	struct brisk_uuid uuid;
	TAILQ_ENTRY(pt_config) link;
};

struct pt_bdev {
	struct brisk_bdev bdev;
	struct brisk_bdev_desc *base_desc;
	TAILQ_ENTRY(pt_bdev) link;
};

struct pt_channel {
	struct brisk_io_channel *base_ch;
};

/* Per-I/O context: what a retry after -ENOMEM needs. */
struct pt_io {
	struct brisk_bdev_io_wait_entry wait;
	struct brisk_io_channel *ch;
};

static TAILQ_HEAD(, pt_config) g_pt_configs = TAILQ_HEAD_INITIALIZER(g_pt_configs);
static TAILQ_HEAD(, pt_bdev) g_pt_bdevs = TAILQ_HEAD_INITIALIZER(g_pt_bdevs);

static int pt_get_ctx_size(void);
static void pt_examine_config(struct brisk_bdev *bdev);
static void pt_module_fini(void);
static void pt_config_json(json_t *array);

static struct brisk_bdev_module g_pt_if = {
	.name = "passthru",
	.get_ctx_size = pt_get_ctx_size,
	.examine_config = pt_examine_config,
	.module_fini = pt_module_fini,
	.config_json = pt_config_json,
};
BRISK_BDEV_MODULE_REGISTER(passthru, &g_pt_if)

static int pt_get_ctx_size(void)
{
	return sizeof(struct pt_io);
}

/* ---- I/O forwarding ---- */

static void pt_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io);

static void pt_retry(void *arg)
{
	struct brisk_bdev_io *io = arg;
	struct pt_io *pio = (struct pt_io *)io->driver_ctx;

	pt_submit_request(pio->ch, io);
}

static void pt_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct pt_bdev *pt = io->bdev->ctxt;
	struct pt_channel *pch = brisk_io_channel_get_ctx(ch);
	struct pt_io *pio = (struct pt_io *)io->driver_ctx;
	int rc;

	rc = brisk_bdev_forward_io(io, pt->base_desc, pch->base_ch, 0, brisk_bdev_forward_done);
	if (rc == -ENOMEM) {
		pio->ch = ch;
		rc = brisk_bdev_forward_wait(io, &pio->wait, pt->base_desc, pch->base_ch, pt_retry);
	}
	if (rc != 0) {
		BRISK_ERRLOG("passthru %s: forwarding failed: %s\n", pt->bdev.name, strerror(-rc));
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
	}
}

static bool pt_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct pt_bdev *pt = ctx;

	if (type == BRISK_BDEV_IO_TYPE_ZCOPY) {
		return false; /* its submit does not forward lent buffers */
	}
	return brisk_bdev_io_type_supported(brisk_bdev_desc_get_bdev(pt->base_desc), type);
}

static int pt_channel_create(void *io_device, void *ctx_buf)
{
	struct pt_bdev *pt = io_device;
	struct pt_channel *pch = ctx_buf;

	pch->base_ch = brisk_bdev_get_io_channel(pt->base_desc);
	return pch->base_ch != NULL ? 0 : -ENOMEM;
}

static void pt_channel_destroy(void *io_device, void *ctx_buf)
{
	struct pt_channel *pch = ctx_buf;

	brisk_put_io_channel(pch->base_ch);
}

static struct brisk_io_channel *pt_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(ctx);
}

/* ---- JSON ---- */

static int pt_dump_info_json(void *ctx, json_t *driver_specific)
{
	struct pt_bdev *pt = ctx;

	json_object_set_new(driver_specific, "passthru", json_pack("{s:s, s:s}", "name", pt->bdev.name,
			    "base_bdev_name", brisk_bdev_get_name(brisk_bdev_desc_get_bdev(pt->base_desc))));
	return 0;
}

static json_t *pt_create_call(const char *base, const char *name, const struct brisk_uuid *uuid)
{
	char u[BRISK_UUID_STRING_LEN];

	brisk_uuid_fmt_lower(u, sizeof(u), uuid);
	return json_pack("{s:s, s:{s:s, s:s, s:s}}", "method", "bdev_passthru_create", "params",
			 "base_bdev_name", base, "name", name, "uuid", u);
}

static void pt_write_config_json(struct brisk_bdev *bdev, json_t *array)
{
	struct pt_bdev *pt = bdev->ctxt;

	json_array_append_new(array, pt_create_call(brisk_bdev_get_name(brisk_bdev_desc_get_bdev(pt->base_desc)),
						    bdev->name, &bdev->uuid));
}

/* Configs still waiting for their base are saved too, so a restart keeps them. */
static void pt_config_json(json_t *array)
{
	struct pt_config *cfg;

	TAILQ_FOREACH(cfg, &g_pt_configs, link) {
		if (brisk_bdev_get_by_name(cfg->name) == NULL) {
			json_array_append_new(array, pt_create_call(cfg->base_bdev_name, cfg->name, &cfg->uuid));
		}
	}
}

/* ---- Teardown: channels gone -> release the base -> destruct done ---- */

static void pt_free(struct pt_bdev *pt)
{
	free(pt->bdev.name);
	free(pt);
}

static void pt_base_closed(void *arg)
{
	struct pt_bdev *pt = arg;

	brisk_bdev_destruct_done(&pt->bdev, 0);
	pt_free(pt);
}

static void pt_io_device_gone(void *io_device)
{
	struct pt_bdev *pt = io_device;

	brisk_bdev_module_close_base(pt->base_desc, pt_base_closed, pt);
}

static int pt_destruct(void *ctx)
{
	struct pt_bdev *pt = ctx;

	TAILQ_REMOVE(&g_pt_bdevs, pt, link);
	brisk_io_device_unregister(pt, pt_io_device_gone);
	return 1;
}

static const struct brisk_bdev_fn_table g_pt_fn_table = {
	.destruct = pt_destruct,
	.submit_request = pt_submit_request,
	.io_type_supported = pt_io_type_supported,
	.get_io_channel = pt_get_io_channel,
	.dump_info_json = pt_dump_info_json,
	.write_config_json = pt_write_config_json,
};

static void pt_base_event(enum brisk_bdev_event_type type, struct brisk_bdev *base, void *ctx)
{
	struct pt_bdev *pt = ctx;

	switch (type) {
	case BRISK_BDEV_EVENT_REMOVE:
		BRISK_NOTICELOG("passthru %s: base bdev %s is going away\n", pt->bdev.name, base->name);
		brisk_bdev_unregister(&pt->bdev, NULL, NULL);
		break;
	case BRISK_BDEV_EVENT_RESIZE:
		brisk_bdev_notify_blockcnt_change(&pt->bdev, brisk_bdev_get_num_blocks(base));
		break;
	}
}

/* ---- Building a passthru on its base: open, claim, register ---- */

static int pt_build(struct pt_config *cfg)
{
	struct pt_bdev *pt;
	struct brisk_bdev *base;
	int rc;

	pt = calloc(1, sizeof(*pt));
	if (pt == NULL || (pt->bdev.name = strdup(cfg->name)) == NULL) {
		free(pt);
		return -ENOMEM;
	}
	rc = brisk_bdev_open_ext(cfg->base_bdev_name, true, pt_base_event, pt, &pt->base_desc);
	if (rc != 0) {
		BRISK_ERRLOG("passthru %s: cannot open base_bdev_name '%s': %s\n", cfg->name, cfg->base_bdev_name,
			     strerror(-rc));
		pt_free(pt);
		return rc;
	}
	base = brisk_bdev_desc_get_bdev(pt->base_desc);
	rc = brisk_bdev_module_claim_bdev(base, pt->base_desc, &g_pt_if);
	if (rc != 0) {
		BRISK_ERRLOG("passthru %s: base_bdev_name '%s' is already claimed by module %s\n", cfg->name,
			     cfg->base_bdev_name, brisk_bdev_get_claim_module_name(base) ?: "?");
		brisk_bdev_close(pt->base_desc);
		pt_free(pt);
		return rc;
	}
	pt->bdev.product_name = "passthru";
	pt->bdev.uuid = cfg->uuid;
	pt->bdev.blocklen = base->blocklen;
	pt->bdev.blockcnt = base->blockcnt;
	pt->bdev.write_cache = base->write_cache;
	pt->bdev.optimal_io_boundary = base->optimal_io_boundary;
	pt->bdev.split_on_optimal_io_boundary = base->split_on_optimal_io_boundary;
	pt->bdev.max_transfer_size = base->max_transfer_size;
	pt->bdev.required_alignment = base->required_alignment;
	pt->bdev.ctxt = pt;
	pt->bdev.fn_table = &g_pt_fn_table;
	pt->bdev.module = &g_pt_if;
	brisk_io_device_register(pt, pt_channel_create, pt_channel_destroy, sizeof(struct pt_channel),
				 cfg->name);
	rc = brisk_bdev_register(&pt->bdev);
	if (rc != 0) {
		/* No channel exists yet: undo synchronously. */
		brisk_io_device_unregister(pt, NULL);
		brisk_bdev_module_release_bdev(base);
		brisk_bdev_close(pt->base_desc);
		pt_free(pt);
		return rc;
	}
	TAILQ_INSERT_TAIL(&g_pt_bdevs, pt, link);
	return 0;
}

static void pt_config_free(struct pt_config *cfg)
{
	TAILQ_REMOVE(&g_pt_configs, cfg, link);
	free(cfg->base_bdev_name);
	free(cfg->name);
	free(cfg);
}

static bool pt_names_base(const struct pt_config *cfg, struct brisk_bdev *bdev)
{
	return brisk_bdev_get_by_name(cfg->base_bdev_name) == bdev;
}

static void pt_examine_config(struct brisk_bdev *bdev)
{
	struct pt_config *cfg;

	TAILQ_FOREACH(cfg, &g_pt_configs, link) {
		if (pt_names_base(cfg, bdev) && brisk_bdev_get_by_name(cfg->name) == NULL) {
			pt_build(cfg);
		}
	}
	brisk_bdev_module_examine_done(&g_pt_if);
}

int bdev_passthru_create(const char *base_bdev_name, const char *name, const struct brisk_uuid *uuid)
{
	struct pt_config *cfg;
	int rc;

	if (base_bdev_name == NULL || base_bdev_name[0] == '\0') {
		BRISK_ERRLOG("passthru: base_bdev_name is missing\n");
		return -EINVAL;
	}
	if (name == NULL || name[0] == '\0') {
		BRISK_ERRLOG("passthru: name is missing\n");
		return -EINVAL;
	}
	TAILQ_FOREACH(cfg, &g_pt_configs, link) {
		if (strcmp(cfg->name, name) == 0) {
			BRISK_ERRLOG("passthru: name '%s' is already configured\n", name);
			return -EEXIST;
		}
	}
	if (brisk_bdev_get_by_name(name) != NULL) {
		BRISK_ERRLOG("passthru: bdev name '%s' already exists\n", name);
		return -EEXIST;
	}
	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL) {
		return -ENOMEM;
	}
	cfg->base_bdev_name = strdup(base_bdev_name);
	cfg->name = strdup(name);
	if (uuid != NULL) {
		cfg->uuid = *uuid;
	}
	TAILQ_INSERT_TAIL(&g_pt_configs, cfg, link);
	if (cfg->base_bdev_name == NULL || cfg->name == NULL) {
		pt_config_free(cfg);
		return -ENOMEM;
	}
	if (brisk_bdev_get_by_name(base_bdev_name) == NULL) {
		BRISK_NOTICELOG("passthru %s: base bdev '%s' does not exist yet: created when it appears\n",
				name, base_bdev_name);
		return 0;
	}
	rc = pt_build(cfg);
	if (rc != 0) {
		pt_config_free(cfg);
	}
	return rc;
}

int bdev_passthru_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	struct pt_config *cfg;
	bool had_config = false;

	if (name == NULL) {
		BRISK_ERRLOG("passthru: name is missing\n");
		return -EINVAL;
	}
	TAILQ_FOREACH(cfg, &g_pt_configs, link) {
		if (strcmp(cfg->name, name) == 0) {
			pt_config_free(cfg);
			had_config = true;
			break;
		}
	}
	/* A config still waiting for its base has no bdev to unregister (and
	 * nothing to complain about in the log). */
	if ((!had_config || brisk_bdev_get_by_name(name) != NULL) &&
	    brisk_bdev_unregister_by_name(name, &g_pt_if, cb, cb_arg) == 0) {
		return 0;
	}
	if (had_config) {
		if (cb != NULL) {
			cb(cb_arg, 0); /* only a waiting config existed */
		}
		return 0;
	}
	return -ENODEV;
}

static void pt_module_fini(void)
{
	struct pt_config *cfg, *next;

	/* Next taken before the free: clang's analyzer cannot tell that
	 * TAILQ_REMOVE of the first entry moves the head past it. */
	for (cfg = TAILQ_FIRST(&g_pt_configs); cfg != NULL; cfg = next) {
		next = TAILQ_NEXT(cfg, link);
		pt_config_free(cfg);
	}
}
