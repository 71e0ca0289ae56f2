/*
 * Null bdevs: no storage. Writes are dropped, reads are filled with zeroes.
 * Completions go out by a message to the submitting thread (never inside
 * the submit call, no poller while idle), as in the malloc module.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "bdev_null.h"

struct null_bdev {
	struct brisk_bdev bdev;
	TAILQ_ENTRY(null_bdev) link;
};

struct null_task {
	STAILQ_ENTRY(null_task) link;
};

struct null_channel {
	STAILQ_HEAD(, null_task) done;
	bool msg_pending;
};

static TAILQ_HEAD(, null_bdev) g_null_bdevs = TAILQ_HEAD_INITIALIZER(g_null_bdevs);
static int g_null_io_device;

static int bdev_null_module_init(void);
static void bdev_null_module_fini(void);
static int bdev_null_get_ctx_size(void);

static struct brisk_bdev_module g_null_if = {
	.name = "null",
	.module_init = bdev_null_module_init,
	.module_fini = bdev_null_module_fini,
	.get_ctx_size = bdev_null_get_ctx_size,
};
BRISK_BDEV_MODULE_REGISTER(null, &g_null_if)

static int bdev_null_get_ctx_size(void)
{
	return sizeof(struct null_task);
}

static void null_complete_batch(void *ctx)
{
	struct null_channel *nch = ctx;
	STAILQ_HEAD(, null_task) batch = STAILQ_HEAD_INITIALIZER(batch);
	struct null_task *task;

	nch->msg_pending = false;
	STAILQ_CONCAT(&batch, &nch->done);
	while ((task = STAILQ_FIRST(&batch)) != NULL) {
		STAILQ_REMOVE_HEAD(&batch, link);
		brisk_bdev_io_complete(brisk_bdev_io_from_ctx(task), BRISK_BDEV_IO_STATUS_SUCCESS);
	}
}

static void bdev_null_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct null_channel *nch = brisk_io_channel_get_ctx(ch);
	struct null_task *task = (struct null_task *)io->driver_ctx;

	if (io->type == BRISK_BDEV_IO_TYPE_READ) {
		for (int i = 0; i < io->u.iovcnt; i++) {
			memset(io->u.iovs[i].iov_base, 0, io->u.iovs[i].iov_len);
		}
	}
	STAILQ_INSERT_TAIL(&nch->done, task, link);
	if (!nch->msg_pending) {
		if (brisk_thread_send_msg(brisk_get_thread(), null_complete_batch, nch) == 0) {
			nch->msg_pending = true;
		} else {
			null_complete_batch(nch); /* the layer defers the callback anyway */
		}
	}
}

static bool bdev_null_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	switch (type) {
	case BRISK_BDEV_IO_TYPE_READ:
	case BRISK_BDEV_IO_TYPE_WRITE:
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
	case BRISK_BDEV_IO_TYPE_FLUSH:
	case BRISK_BDEV_IO_TYPE_RESET:
		return true;
	default:
		return false;
	}
}

static struct brisk_io_channel *bdev_null_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(&g_null_io_device);
}

static int bdev_null_destruct(void *ctx)
{
	struct null_bdev *nb = ctx;

	TAILQ_REMOVE(&g_null_bdevs, nb, link);
	free(nb->bdev.name);
	free(nb);
	return 0;
}

static void bdev_null_write_config_json(struct brisk_bdev *bdev, json_t *array)
{
	char uuid[BRISK_UUID_STRING_LEN];

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &bdev->uuid);
	json_array_append_new(array, json_pack("{s:s, s:{s:s, s:I, s:i, s:s}}",
					       "method", "bdev_null_create", "params",
					       "name", bdev->name,
					       "num_blocks", (json_int_t)bdev->blockcnt,
					       "block_size", (int)bdev->blocklen,
					       "uuid", uuid));
}

static const struct brisk_bdev_fn_table g_null_fn_table = {
	.destruct = bdev_null_destruct,
	.submit_request = bdev_null_submit_request,
	.io_type_supported = bdev_null_io_type_supported,
	.get_io_channel = bdev_null_get_io_channel,
	.write_config_json = bdev_null_write_config_json,
};

int bdev_null_create(struct brisk_bdev **bdev, const struct bdev_null_opts *opts)
{
	struct null_bdev *nb;
	int rc;

	if (bdev == NULL || opts == NULL) {
		return -EINVAL;
	}
	if (opts->name == NULL || opts->name[0] == '\0') {
		BRISK_ERRLOG("name is missing\n");
		return -EINVAL;
	}
	if (opts->block_size == 0 || opts->block_size % 512 != 0) {
		BRISK_ERRLOG("block_size %u must be a multiple of 512\n", opts->block_size);
		return -EINVAL;
	}
	if (opts->num_blocks == 0) {
		BRISK_ERRLOG("num_blocks must be greater than 0\n");
		return -EINVAL;
	}
	if (opts->num_blocks > UINT64_MAX / opts->block_size) {
		BRISK_ERRLOG("num_blocks %lu x block_size %u overflows\n", (unsigned long)opts->num_blocks,
			     opts->block_size);
		return -EINVAL;
	}
	if (brisk_bdev_get_by_name(opts->name) != NULL) {
		BRISK_ERRLOG("bdev name '%s' already exists\n", opts->name);
		return -EEXIST;
	}
	nb = calloc(1, sizeof(*nb));
	if (nb == NULL || (nb->bdev.name = strdup(opts->name)) == NULL) {
		free(nb);
		return -ENOMEM;
	}
	nb->bdev.product_name = "Null disk";
	nb->bdev.uuid = opts->uuid;
	nb->bdev.blocklen = opts->block_size;
	nb->bdev.blockcnt = opts->num_blocks;
	nb->bdev.ctxt = nb;
	nb->bdev.fn_table = &g_null_fn_table;
	nb->bdev.module = &g_null_if;
	rc = brisk_bdev_register(&nb->bdev);
	if (rc != 0) {
		free(nb->bdev.name);
		free(nb);
		return rc;
	}
	TAILQ_INSERT_TAIL(&g_null_bdevs, nb, link);
	*bdev = &nb->bdev;
	return 0;
}

int bdev_null_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	if (name == NULL) {
		BRISK_ERRLOG("name is missing\n");
		return -EINVAL;
	}
	return brisk_bdev_unregister_by_name(name, &g_null_if, cb, cb_arg);
}

int bdev_null_resize(const char *name, uint64_t new_size_mb)
{
	struct brisk_bdev *bdev = name ? brisk_bdev_get_by_name(name) : NULL;
	uint64_t blocks;

	if (bdev == NULL || bdev->module != &g_null_if) {
		BRISK_ERRLOG("null bdev '%s' does not exist\n", name ? name : "(null)");
		return -ENODEV;
	}
	if (new_size_mb == 0 || new_size_mb > UINT64_MAX / (1024 * 1024)) {
		BRISK_ERRLOG("new_size %lu MiB is out of range\n", (unsigned long)new_size_mb);
		return -EINVAL;
	}
	blocks = new_size_mb * 1024 * 1024 / bdev->blocklen;
	if (blocks == 0) {
		BRISK_ERRLOG("new_size %lu MiB is smaller than one block\n", (unsigned long)new_size_mb);
		return -EINVAL;
	}
	return brisk_bdev_notify_blockcnt_change(bdev, blocks);
}

static int null_channel_create(void *io_device, void *ctx_buf)
{
	struct null_channel *nch = ctx_buf;

	STAILQ_INIT(&nch->done);
	nch->msg_pending = false;
	return 0;
}

static void null_channel_destroy(void *io_device, void *ctx_buf)
{
}

static int bdev_null_module_init(void)
{
	brisk_io_device_register(&g_null_io_device, null_channel_create, null_channel_destroy,
				 sizeof(struct null_channel), "bdev_null");
	return 0;
}

static void bdev_null_module_fini(void)
{
	brisk_io_device_unregister(&g_null_io_device, NULL);
}
