/*
 * Error bdevs: "EE_<base>" claims a base bdev and forwards its I/O, except
 * for the I/O an injection rule picks: those fail, are held (pending) until a
 * reset, get their data corrupted, or report NOMEM. Rules are per I/O type
 * with a count of I/Os to affect, shared by every thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h>
#include <brisk/log.h>
#include <brisk/string.h>
#include <brisk/thread.h>

#include "bdev_error.h"

struct error_rule {
	enum bdev_error_type type;
	uint32_t remaining;   /* decremented by any thread: atomic */
	uint64_t queue_depth;
	uint64_t corrupt_offset;
	uint8_t corrupt_value;
};

struct error_disk {
	struct brisk_bdev bdev;
	struct brisk_bdev_desc *base_desc;
	struct error_rule rules[BRISK_BDEV_NUM_IO_TYPES];
	TAILQ_ENTRY(error_disk) link;
};

struct error_io {
	struct brisk_bdev_io_wait_entry wait;
	struct brisk_io_channel *ch;
	struct error_rule *corrupt; /* a read to corrupt on completion */
	TAILQ_ENTRY(error_io) link;
};

struct error_channel {
	struct brisk_io_channel *base_ch;
	uint64_t inflight;
	TAILQ_HEAD(, error_io) pending;
};

static TAILQ_HEAD(, error_disk) g_error_disks = TAILQ_HEAD_INITIALIZER(g_error_disks);

static int error_get_ctx_size(void);
static void error_fini_start(void);

static struct brisk_bdev_module g_error_if = {
	.name = "error",
	.get_ctx_size = error_get_ctx_size,
	.fini_start = error_fini_start,
};
BRISK_BDEV_MODULE_REGISTER(error, &g_error_if)

static int error_get_ctx_size(void)
{
	return sizeof(struct error_io);
}

/* ---- Rules ---- */

/* Takes one I/O from rule's count; false when it is used up. Several
 * threads may race on the count: a CAS loop keeps it exact. */
static bool error_rule_take(struct error_rule *rule)
{
	uint32_t n = __atomic_load_n(&rule->remaining, __ATOMIC_RELAXED);

	while (n > 0) {
		/* relaxed: the count is the only shared state; rule fields were published with it by the setter's release */
		if (__atomic_compare_exchange_n(&rule->remaining, &n, n - 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			return true;
		}
	}
	return false;
}

static void error_corrupt(struct brisk_bdev_io *io, const struct error_rule *rule)
{
	uint64_t off = rule->corrupt_offset;

	for (int i = 0; i < io->u.iovcnt; i++) {
		if (off < io->u.iovs[i].iov_len) {
			((uint8_t *)io->u.iovs[i].iov_base)[off] ^= rule->corrupt_value;
			return;
		}
		off -= io->u.iovs[i].iov_len;
	}
}

/* ---- I/O ---- */

static void error_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io);

static void error_base_done(struct brisk_bdev_io *base_io, bool success, void *arg)
{
	struct brisk_bdev_io *io = arg;
	struct error_io *eio = (struct error_io *)io->driver_ctx;
	struct error_channel *ech = brisk_io_channel_get_ctx(eio->ch);

	ech->inflight--;
	if (success && eio->corrupt != NULL) {
		error_corrupt(io, eio->corrupt);
	}
	brisk_bdev_io_complete_base_io_status(io, base_io);
	brisk_bdev_free_io(base_io);
}

static void error_retry(void *arg)
{
	struct brisk_bdev_io *io = arg;

	error_submit_request(((struct error_io *)io->driver_ctx)->ch, io);
}

static void error_abort_pending(struct error_channel *ech)
{
	struct error_io *eio;

	while ((eio = TAILQ_FIRST(&ech->pending)) != NULL) {
		TAILQ_REMOVE(&ech->pending, eio, link);
		brisk_bdev_io_complete(brisk_bdev_io_from_ctx(eio), BRISK_BDEV_IO_STATUS_ABORTED);
	}
}

static void error_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct error_disk *ed = io->bdev->ctxt;
	struct error_channel *ech = brisk_io_channel_get_ctx(ch);
	struct error_io *eio = (struct error_io *)io->driver_ctx;
	struct error_rule *rule = &ed->rules[io->type];
	int rc;

	eio->ch = ch;
	eio->corrupt = NULL;
	if (io->type == BRISK_BDEV_IO_TYPE_RESET) {
		error_abort_pending(ech); /* none left in practice: the layer drains first */
	} else if (rule->type != BDEV_ERROR_TYPE_NONE && ech->inflight + 1 >= rule->queue_depth &&
		   error_rule_take(rule)) {
		switch (rule->type) {
		case BDEV_ERROR_TYPE_FAILURE:
			brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
			return;
		case BDEV_ERROR_TYPE_NOMEM:
			brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_NOMEM);
			return;
		case BDEV_ERROR_TYPE_PENDING:
			TAILQ_INSERT_TAIL(&ech->pending, eio, link);
			return;
		case BDEV_ERROR_TYPE_CORRUPT_DATA:
			if (io->type == BRISK_BDEV_IO_TYPE_WRITE) {
				error_corrupt(io, rule);
			} else if (io->type == BRISK_BDEV_IO_TYPE_READ) {
				eio->corrupt = rule;
			}
			break;
		default:
			break;
		}
	}
	rc = brisk_bdev_forward_io(io, ed->base_desc, ech->base_ch, 0, error_base_done);
	if (rc == 0) {
		ech->inflight++;
		return;
	}
	if (rc == -ENOMEM) {
		rc = brisk_bdev_forward_wait(io, &eio->wait, ed->base_desc, ech->base_ch, error_retry);
		if (rc == 0) {
			return;
		}
	}
	BRISK_ERRLOG("error %s: forwarding failed: %s\n", ed->bdev.name, strerror(-rc));
	brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
}

static bool error_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct error_disk *ed = ctx;

	if (type == BRISK_BDEV_IO_TYPE_ZCOPY) {
		return false; /* its submit does not forward lent buffers */
	}
	return brisk_bdev_io_type_supported(brisk_bdev_desc_get_bdev(ed->base_desc), type);
}

static int error_channel_create(void *io_device, void *ctx_buf)
{
	struct error_disk *ed = io_device;
	struct error_channel *ech = ctx_buf;

	TAILQ_INIT(&ech->pending);
	ech->inflight = 0;
	ech->base_ch = brisk_bdev_get_io_channel(ed->base_desc);
	return ech->base_ch != NULL ? 0 : -ENOMEM;
}

static void error_channel_destroy(void *io_device, void *ctx_buf)
{
	struct error_channel *ech = ctx_buf;

	brisk_put_io_channel(ech->base_ch);
}

static struct brisk_io_channel *error_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(ctx);
}

static int error_dump_info_json(void *ctx, json_t *driver_specific)
{
	struct error_disk *ed = ctx;

	json_object_set_new(driver_specific, "error_disk", json_pack("{s:s}", "base_bdev",
			    brisk_bdev_get_name(brisk_bdev_desc_get_bdev(ed->base_desc))));
	return 0;
}

static void error_write_config_json(struct brisk_bdev *bdev, json_t *array)
{
	struct error_disk *ed = bdev->ctxt;
	char u[BRISK_UUID_STRING_LEN];

	brisk_uuid_fmt_lower(u, sizeof(u), &bdev->uuid);
	json_array_append_new(array, json_pack("{s:s, s:{s:s, s:s}}", "method", "bdev_error_create", "params",
					       "base_name", brisk_bdev_get_name(brisk_bdev_desc_get_bdev(ed->base_desc)),
					       "uuid", u));
}

/* ---- Teardown: channels gone -> release the base -> destruct done ---- */

static void error_base_closed(void *arg)
{
	struct error_disk *ed = arg;

	brisk_bdev_destruct_done(&ed->bdev, 0);
	free(ed->bdev.name);
	free(ed);
}

static void error_io_device_gone(void *io_device)
{
	struct error_disk *ed = io_device;

	brisk_bdev_module_close_base(ed->base_desc, error_base_closed, ed);
}

static int error_destruct(void *ctx)
{
	struct error_disk *ed = ctx;

	TAILQ_REMOVE(&g_error_disks, ed, link);
	brisk_io_device_unregister(ed, error_io_device_gone);
	return 1;
}

static const struct brisk_bdev_fn_table g_error_fn_table = {
	.destruct = error_destruct,
	.submit_request = error_submit_request,
	.io_type_supported = error_io_type_supported,
	.get_io_channel = error_get_io_channel,
	.dump_info_json = error_dump_info_json,
	.write_config_json = error_write_config_json,
};

static void error_base_event(enum brisk_bdev_event_type type, struct brisk_bdev *base, void *ctx)
{
	struct error_disk *ed = ctx;

	if (type == BRISK_BDEV_EVENT_REMOVE) {
		bdev_error_delete(ed->bdev.name, NULL, NULL);
	} else if (type == BRISK_BDEV_EVENT_RESIZE) {
		brisk_bdev_notify_blockcnt_change(&ed->bdev, brisk_bdev_get_num_blocks(base));
	}
}

int bdev_error_create(const char *base_name, const struct brisk_uuid *uuid)
{
	struct error_disk *ed;
	struct brisk_bdev *base;
	char *name;
	int rc;

	if (base_name == NULL || base_name[0] == '\0') {
		BRISK_ERRLOG("error: base_name is missing\n");
		return -EINVAL;
	}
	name = brisk_sprintf_alloc("EE_%s", base_name);
	if (name == NULL) {
		return -ENOMEM;
	}
	if (brisk_bdev_get_by_name(name) != NULL) {
		BRISK_ERRLOG("error: bdev name '%s' already exists\n", name);
		free(name);
		return -EEXIST;
	}
	ed = calloc(1, sizeof(*ed));
	if (ed == NULL) {
		free(name);
		return -ENOMEM;
	}
	ed->bdev.name = name;
	rc = brisk_bdev_open_ext(base_name, true, error_base_event, ed, &ed->base_desc);
	if (rc != 0) {
		BRISK_ERRLOG("error: cannot open base_name '%s': %s\n", base_name, strerror(-rc));
		goto free;
	}
	base = brisk_bdev_desc_get_bdev(ed->base_desc);
	rc = brisk_bdev_module_claim_bdev(base, ed->base_desc, &g_error_if);
	if (rc != 0) {
		BRISK_ERRLOG("error: base_name '%s' is already claimed by module %s\n", base_name,
			     brisk_bdev_get_claim_module_name(base) ?: "?");
		goto close;
	}
	ed->bdev.product_name = "Error Injection Disk";
	if (uuid != NULL) {
		ed->bdev.uuid = *uuid;
	}
	ed->bdev.blocklen = base->blocklen;
	ed->bdev.blockcnt = base->blockcnt;
	ed->bdev.write_cache = base->write_cache;
	ed->bdev.max_transfer_size = base->max_transfer_size;
	ed->bdev.required_alignment = base->required_alignment;
	ed->bdev.ctxt = ed;
	ed->bdev.fn_table = &g_error_fn_table;
	ed->bdev.module = &g_error_if;
	brisk_io_device_register(ed, error_channel_create, error_channel_destroy, sizeof(struct error_channel),
				 name);
	rc = brisk_bdev_register(&ed->bdev);
	if (rc != 0) {
		brisk_io_device_unregister(ed, NULL);
		brisk_bdev_module_release_bdev(base);
		goto close;
	}
	TAILQ_INSERT_TAIL(&g_error_disks, ed, link);
	return 0;
close:
	brisk_bdev_close(ed->base_desc);
free:
	free(ed->bdev.name);
	free(ed);
	return rc;
}

/* ---- Deletion: abort held I/O on every channel, then unregister ---- */

struct error_delete_ctx {
	char *name;
	brisk_bdev_unregister_cb cb;
	void *cb_arg;
};

static void error_abort_channel(struct brisk_io_channel_iter *i)
{
	error_abort_pending(brisk_io_channel_get_ctx(brisk_io_channel_iter_get_channel(i)));
	brisk_for_each_channel_continue(i, 0);
}

static void error_aborted_all(struct brisk_io_channel_iter *i, int status)
{
	struct error_delete_ctx *ctx = brisk_io_channel_iter_get_ctx(i);

	if (brisk_bdev_unregister_by_name(ctx->name, &g_error_if, ctx->cb, ctx->cb_arg) != 0 && ctx->cb) {
		ctx->cb(ctx->cb_arg, -ENODEV); /* deleted meanwhile */
	}
	free(ctx->name);
	free(ctx);
}

int bdev_error_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	struct brisk_bdev *bdev = name ? brisk_bdev_get_by_name(name) : NULL;
	struct error_delete_ctx *ctx;

	if (bdev == NULL || bdev->module != &g_error_if) {
		return -ENODEV;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL || (ctx->name = strdup(bdev->name)) == NULL) {
		free(ctx);
		return -ENOMEM;
	}
	ctx->cb = cb;
	ctx->cb_arg = cb_arg;
	brisk_for_each_channel(bdev->ctxt, error_abort_channel, ctx, error_aborted_all);
	return 0;
}

static void error_released_all(struct brisk_io_channel_iter *i, int status)
{
}

int bdev_error_inject_error(const char *name, const struct bdev_error_inject_opts *opts)
{
	struct brisk_bdev *bdev = name ? brisk_bdev_get_by_name(name) : NULL;
	struct error_disk *ed;

	if (bdev == NULL || bdev->module != &g_error_if) {
		BRISK_ERRLOG("error: name '%s' is not an error bdev\n", name ? name : "(null)");
		return -ENODEV;
	}
	if (opts->error_type == BDEV_ERROR_TYPE_CORRUPT_DATA && opts->corrupt_value == 0) {
		BRISK_ERRLOG("error: corrupt_value must be non-zero for corrupt_data\n");
		return -EINVAL;
	}
	if (opts->error_type != BDEV_ERROR_TYPE_NONE && opts->num == 0) {
		BRISK_ERRLOG("error: num must be at least 1\n");
		return -EINVAL;
	}
	ed = bdev->ctxt;
	for (int t = 1; t < BRISK_BDEV_NUM_IO_TYPES; t++) {
		struct error_rule *rule = &ed->rules[t];

		if ((opts->io_type_mask & (1u << t)) == 0) {
			continue;
		}
		/* Rules are set from the RPC thread while I/O threads read them;
		 * the count is stored last with release so a thread that takes
		 * one sees the rest of the rule. */
		__atomic_store_n(&rule->remaining, 0, __ATOMIC_RELAXED);
		rule->type = opts->error_type;
		rule->queue_depth = opts->queue_depth;
		rule->corrupt_offset = opts->corrupt_offset;
		rule->corrupt_value = opts->corrupt_value;
		__atomic_store_n(&rule->remaining, opts->error_type == BDEV_ERROR_TYPE_NONE ? 0 : opts->num,
				 __ATOMIC_RELEASE);
	}
	if (opts->error_type == BDEV_ERROR_TYPE_NONE) {
		/* Clearing the rules lets the held (pending) I/O go, aborted. */
		brisk_for_each_channel(ed, error_abort_channel, NULL, error_released_all);
	}
	return 0;
}

/* Shutdown: stop injecting and let the held (pending) I/O go, aborted, so
 * that what sits on top can close; SIGTERM must not wait for a "pending"
 * rule that nobody will clear. */
static void error_fini_start(void)
{
	const struct bdev_error_inject_opts clear = { .io_type_mask = ~0u, .error_type = BDEV_ERROR_TYPE_NONE };
	struct error_disk *ed;

	TAILQ_FOREACH(ed, &g_error_disks, link) {
		bdev_error_inject_error(ed->bdev.name, &clear);
	}
}

int bdev_error_parse_io_type(const char *s, uint32_t *mask, bool *clear)
{
	static const struct { const char *name; uint32_t mask; } names[] = {
		{"read", 1u << BRISK_BDEV_IO_TYPE_READ},
		{"write", 1u << BRISK_BDEV_IO_TYPE_WRITE},
		{"unmap", 1u << BRISK_BDEV_IO_TYPE_UNMAP},
		{"flush", 1u << BRISK_BDEV_IO_TYPE_FLUSH},
		{"write_zeroes", 1u << BRISK_BDEV_IO_TYPE_WRITE_ZEROES},
		{"compare", 1u << BRISK_BDEV_IO_TYPE_COMPARE},
		{"all", ~0u},
		{"clear", ~0u},
	};

	*clear = false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*mask = names[i].mask;
			*clear = strcmp(s, "clear") == 0;
			return 0;
		}
	}
	return -EINVAL;
}

int bdev_error_parse_error_type(const char *s, enum bdev_error_type *type)
{
	static const struct { const char *name; enum bdev_error_type type; } names[] = {
		{"failure", BDEV_ERROR_TYPE_FAILURE},
		{"pending", BDEV_ERROR_TYPE_PENDING},
		{"corrupt_data", BDEV_ERROR_TYPE_CORRUPT_DATA},
		{"nomem", BDEV_ERROR_TYPE_NOMEM},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i].name) == 0) {
			*type = names[i].type;
			return 0;
		}
	}
	return -EINVAL;
}
