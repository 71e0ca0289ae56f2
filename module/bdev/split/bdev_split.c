/*
 * Split bdevs: a base bdev cut into equal, contiguous parts. One descriptor
 * on the base, claimed by this module, is shared by all parts; each part
 * adds its start offset to every I/O and forwards it on a per-thread channel
 * of the base. The base is released when the last part is gone.
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

#include "bdev_split.h"

struct split_part;

struct split_base {
	char *base_name;
	uint32_t split_count;
	uint64_t split_size_mb;
	struct brisk_bdev_desc *desc;      /* NULL while the base does not exist */
	uint32_t parts_alive;
	bool deleting;
	brisk_bdev_unregister_cb delete_cb;
	void *delete_cb_arg;
	TAILQ_ENTRY(split_base) link;
};

struct split_part {
	struct brisk_bdev bdev;
	struct split_base *sb;
	uint64_t offset_blocks;
};

struct split_channel {
	struct brisk_io_channel *base_ch;
};

struct split_io {
	struct brisk_bdev_io_wait_entry wait;
	struct brisk_io_channel *ch;
};

static TAILQ_HEAD(, split_base) g_split_bases = TAILQ_HEAD_INITIALIZER(g_split_bases);

static int split_get_ctx_size(void);
static void split_examine_config(struct brisk_bdev *bdev);
static void split_module_fini(void);
static void split_config_json(json_t *array);

static struct brisk_bdev_module g_split_if = {
	.name = "split",
	.get_ctx_size = split_get_ctx_size,
	.examine_config = split_examine_config,
	.module_fini = split_module_fini,
	.config_json = split_config_json,
};
BRISK_BDEV_MODULE_REGISTER(split, &g_split_if)

static int split_get_ctx_size(void)
{
	return sizeof(struct split_io);
}

/* ---- I/O: translate the offset and forward ---- */

static void split_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io);

static void split_retry(void *arg)
{
	struct brisk_bdev_io *io = arg;

	split_submit_request(((struct split_io *)io->driver_ctx)->ch, io);
}

static void split_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct split_part *part = io->bdev->ctxt;
	struct split_channel *sch = brisk_io_channel_get_ctx(ch);
	struct split_io *sio = (struct split_io *)io->driver_ctx;
	struct brisk_bdev_desc *d = part->sb->desc;
	int rc;

	if (io->type == BRISK_BDEV_IO_TYPE_RESET) {
		/* A reset of the base would disturb the other parts; the layer has
		 * already drained this part's I/O, which is all a part can reset. */
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_SUCCESS);
		return;
	}
	rc = brisk_bdev_forward_io(io, d, sch->base_ch, part->offset_blocks, brisk_bdev_forward_done);
	if (rc == -ENOMEM) {
		sio->ch = ch;
		rc = brisk_bdev_forward_wait(io, &sio->wait, d, sch->base_ch, split_retry);
	}
	if (rc != 0) {
		BRISK_ERRLOG("split %s: forwarding failed: %s\n", part->bdev.name, strerror(-rc));
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
	}
}

static bool split_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct split_part *part = ctx;

	if (type == BRISK_BDEV_IO_TYPE_RESET) {
		return true;
	}
	if (type == BRISK_BDEV_IO_TYPE_ZCOPY) {
		return false; /* its submit does not forward lent buffers */
	}
	return brisk_bdev_io_type_supported(brisk_bdev_desc_get_bdev(part->sb->desc), type);
}

static int split_channel_create(void *io_device, void *ctx_buf)
{
	struct split_part *part = io_device;
	struct split_channel *sch = ctx_buf;

	sch->base_ch = brisk_bdev_get_io_channel(part->sb->desc);
	return sch->base_ch != NULL ? 0 : -ENOMEM;
}

static void split_channel_destroy(void *io_device, void *ctx_buf)
{
	struct split_channel *sch = ctx_buf;

	brisk_put_io_channel(sch->base_ch);
}

static struct brisk_io_channel *split_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(ctx);
}

/* ---- JSON ---- */

static int split_dump_info_json(void *ctx, json_t *driver_specific)
{
	struct split_part *part = ctx;

	json_object_set_new(driver_specific, "split", json_pack("{s:s, s:I}", "base_bdev", part->sb->base_name,
			    "offset_blocks", (json_int_t)part->offset_blocks));
	return 0;
}

/* One call recreates every part: written by the module, not per part. */
static void split_config_json(json_t *array)
{
	struct split_base *sb;

	TAILQ_FOREACH(sb, &g_split_bases, link) {
		json_array_append_new(array, json_pack("{s:s, s:{s:s, s:i, s:I}}", "method", "bdev_split_create",
						       "params", "base_bdev", sb->base_name,
						       "split_count", (int)sb->split_count,
						       "split_size_mb", (json_int_t)sb->split_size_mb));
	}
}

/* ---- Teardown: each part's channels gone -> last part releases the base ---- */

static void split_base_free(struct split_base *sb)
{
	TAILQ_REMOVE(&g_split_bases, sb, link);
	free(sb->base_name);
	free(sb);
}

static void split_base_closed(void *arg)
{
	struct split_base *sb = arg;

	sb->desc = NULL;
	if (sb->deleting) {
		if (sb->delete_cb != NULL) {
			sb->delete_cb(sb->delete_cb_arg, 0);
		}
		split_base_free(sb);
	}
	/* else the base went away: keep the config for when it comes back */
}

static void split_part_gone(void *io_device)
{
	struct split_part *part = io_device;
	struct split_base *sb = part->sb;

	brisk_bdev_destruct_done(&part->bdev, 0);
	free(part->bdev.name);
	free(part);
	if (--sb->parts_alive > 0) {
		return;
	}
	brisk_bdev_module_close_base(sb->desc, split_base_closed, sb);
}

static int split_destruct(void *ctx)
{
	brisk_io_device_unregister(ctx, split_part_gone);
	return 1;
}

static const struct brisk_bdev_fn_table g_split_fn_table = {
	.destruct = split_destruct,
	.submit_request = split_submit_request,
	.io_type_supported = split_io_type_supported,
	.get_io_channel = split_get_io_channel,
	.dump_info_json = split_dump_info_json,
};

/* Unregisters every part of sb (they are the bdevs of this module whose ctxt points at sb). */
static void split_unregister_parts(struct split_base *sb)
{
	struct brisk_bdev *b, *next;

	for (b = brisk_bdev_first(); b != NULL; b = next) {
		next = brisk_bdev_next(b);
		if (b->module == &g_split_if && ((struct split_part *)b->ctxt)->sb == sb) {
			brisk_bdev_unregister(b, NULL, NULL);
		}
	}
}

static void split_base_event(enum brisk_bdev_event_type type, struct brisk_bdev *base, void *ctx)
{
	struct split_base *sb = ctx;

	if (type == BRISK_BDEV_EVENT_REMOVE) {
		BRISK_NOTICELOG("split: base bdev %s is going away: removing its parts\n", base->name);
		split_unregister_parts(sb);
	}
	/* A resized base keeps its parts as they are. */
}

/* ---- Building the parts: open and claim the base, check, register each ---- */

static int split_register_part(struct split_base *sb, uint32_t i, uint64_t part_blocks)
{
	struct brisk_bdev *base = brisk_bdev_desc_get_bdev(sb->desc);
	struct split_part *part;
	char uuid_name[32];
	int rc;

	part = calloc(1, sizeof(*part));
	if (part == NULL || (part->bdev.name = brisk_sprintf_alloc("%sp%u", sb->base_name, i)) == NULL) {
		free(part);
		return -ENOMEM;
	}
	/* Derived from the base's UUID and the index: the same part has the same
	 * UUID after a restart (the config records only the split itself). */
	snprintf(uuid_name, sizeof(uuid_name), "split part %u", i);
	brisk_uuid_generate_sha1(&part->bdev.uuid, &base->uuid, uuid_name, strlen(uuid_name));
	part->sb = sb;
	part->offset_blocks = (uint64_t)i * part_blocks;
	part->bdev.product_name = "Split Disk";
	part->bdev.blocklen = base->blocklen;
	part->bdev.blockcnt = part_blocks;
	part->bdev.write_cache = base->write_cache;
	part->bdev.max_transfer_size = base->max_transfer_size;
	part->bdev.required_alignment = base->required_alignment;
	part->bdev.ctxt = part;
	part->bdev.fn_table = &g_split_fn_table;
	part->bdev.module = &g_split_if;
	brisk_io_device_register(part, split_channel_create, split_channel_destroy,
				 sizeof(struct split_channel), part->bdev.name);
	sb->parts_alive++;
	rc = brisk_bdev_register(&part->bdev);
	if (rc != 0) {
		sb->parts_alive--;
		brisk_io_device_unregister(part, NULL);
		free(part->bdev.name);
		free(part);
	}
	return rc;
}

static int split_build(struct split_base *sb)
{
	struct brisk_bdev *base;
	uint64_t part_blocks;
	char *name;
	uint32_t i;
	int rc;

	rc = brisk_bdev_open_ext(sb->base_name, false, split_base_event, sb, &sb->desc);
	if (rc != 0) {
		BRISK_ERRLOG("split: cannot open base_bdev '%s': %s\n", sb->base_name, strerror(-rc));
		return rc;
	}
	base = brisk_bdev_desc_get_bdev(sb->desc);
	if (sb->split_size_mb != 0) {
		part_blocks = sb->split_size_mb * 1024 * 1024 / base->blocklen;
		if (part_blocks == 0 || part_blocks > base->blockcnt / sb->split_count) {
			BRISK_ERRLOG("split: split_count %u x split_size_mb %" PRIu64 " does not fit in base_bdev "
				     "'%s' (%" PRIu64 " MiB)\n", sb->split_count, sb->split_size_mb, sb->base_name,
				     base->blockcnt * base->blocklen / (1024 * 1024));
			rc = -EINVAL;
			goto close;
		}
	} else {
		part_blocks = base->blockcnt / sb->split_count;
		if (part_blocks == 0) {
			BRISK_ERRLOG("split: split_count %u is more than the %" PRIu64 " blocks of base_bdev '%s'\n",
				     sb->split_count, base->blockcnt, sb->base_name);
			rc = -EINVAL;
			goto close;
		}
	}
	for (i = 0; i < sb->split_count; i++) {
		name = brisk_sprintf_alloc("%sp%u", sb->base_name, i);
		if (name == NULL) {
			rc = -ENOMEM;
			goto close;
		}
		rc = brisk_bdev_get_by_name(name) != NULL ? -EEXIST : 0;
		if (rc != 0) {
			BRISK_ERRLOG("split: part name '%s' already exists\n", name);
		}
		free(name);
		if (rc != 0) {
			goto close;
		}
	}
	rc = brisk_bdev_module_claim_bdev(base, sb->desc, &g_split_if);
	if (rc != 0) {
		BRISK_ERRLOG("split: base_bdev '%s' is already claimed by module %s\n", sb->base_name,
			     brisk_bdev_get_claim_module_name(base) ?: "?");
		goto close;
	}
	for (i = 0; i < sb->split_count; i++) {
		rc = split_register_part(sb, i, part_blocks);
		if (rc != 0) {
			break;
		}
	}
	if (rc != 0 && sb->parts_alive > 0) {
		/* The parts registered so far go; the last one releases the base. */
		split_unregister_parts(sb);
		return rc;
	}
	if (rc == 0) {
		return 0;
	}
	brisk_bdev_module_release_bdev(base);
close:
	brisk_bdev_close(sb->desc);
	sb->desc = NULL;
	return rc;
}

static void split_examine_config(struct brisk_bdev *bdev)
{
	struct split_base *sb;

	TAILQ_FOREACH(sb, &g_split_bases, link) {
		if (sb->desc == NULL && !sb->deleting && brisk_bdev_get_by_name(sb->base_name) == bdev) {
			split_build(sb);
		}
	}
	brisk_bdev_module_examine_done(&g_split_if);
}

int bdev_split_create(const char *base_bdev, uint32_t split_count, uint64_t split_size_mb)
{
	struct split_base *sb;
	int rc;

	if (base_bdev == NULL || base_bdev[0] == '\0') {
		BRISK_ERRLOG("split: base_bdev is missing\n");
		return -EINVAL;
	}
	if (split_count == 0) {
		BRISK_ERRLOG("split: split_count must be at least 1\n");
		return -EINVAL;
	}
	if (split_size_mb > UINT64_MAX / (1024 * 1024)) {
		BRISK_ERRLOG("split: split_size_mb %" PRIu64 " is out of range\n", split_size_mb);
		return -EINVAL;
	}
	TAILQ_FOREACH(sb, &g_split_bases, link) {
		if (strcmp(sb->base_name, base_bdev) == 0) {
			BRISK_ERRLOG("split: base_bdev '%s' is already split\n", base_bdev);
			return -EEXIST;
		}
	}
	sb = calloc(1, sizeof(*sb));
	if (sb == NULL || (sb->base_name = strdup(base_bdev)) == NULL) {
		free(sb);
		return -ENOMEM;
	}
	sb->split_count = split_count;
	sb->split_size_mb = split_size_mb;
	TAILQ_INSERT_TAIL(&g_split_bases, sb, link);
	if (brisk_bdev_get_by_name(base_bdev) == NULL) {
		BRISK_NOTICELOG("split: base_bdev '%s' does not exist yet: split when it appears\n", base_bdev);
		return 0;
	}
	rc = split_build(sb);
	if (rc != 0 && sb->parts_alive == 0) {
		split_base_free(sb);
	} else if (rc != 0) {
		sb->deleting = true; /* freed with its last part */
	}
	return rc;
}

int bdev_split_delete(const char *base_bdev, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	struct split_base *sb;

	if (base_bdev == NULL) {
		BRISK_ERRLOG("split: base_bdev is missing\n");
		return -EINVAL;
	}
	TAILQ_FOREACH(sb, &g_split_bases, link) {
		if (strcmp(sb->base_name, base_bdev) == 0 && !sb->deleting) {
			break;
		}
	}
	if (sb == NULL) {
		return -ENODEV;
	}
	sb->deleting = true;
	sb->delete_cb = cb;
	sb->delete_cb_arg = cb_arg;
	if (sb->parts_alive == 0) {
		if (sb->desc == NULL) {
			split_base_free(sb);
			if (cb != NULL) {
				cb(cb_arg, 0);
			}
		}
		return 0;
	}
	split_unregister_parts(sb);
	return 0;
}

static void split_module_fini(void)
{
	struct split_base *sb, *next;

	/* Next taken before the free: clang's analyzer cannot tell that
	 * TAILQ_REMOVE of the first entry moves the head past it. */
	for (sb = TAILQ_FIRST(&g_split_bases); sb != NULL; sb = next) {
		next = TAILQ_NEXT(sb, link);
		split_base_free(sb);
	}
}
