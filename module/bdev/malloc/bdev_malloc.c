/*
 * Malloc bdevs: the data lives in env memory (chunks of up to
 * MALLOC_CHUNK_BYTES, so large disks need no huge contiguous allocation).
 * I/O is a memcpy done at submission (zero-copy I/O lends the chunks
 * themselves, no copy at all); its completion is delivered by a
 * message to the same thread, so callers never see a completion inside their
 * submit call and an idle thread has nothing to poll.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h>
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "bdev_malloc.h"

#define MALLOC_CHUNK_BYTES (16ull * 1024 * 1024)

struct malloc_disk {
	struct brisk_bdev disk;
	void **chunks;
	uint64_t num_chunks;
	uint64_t chunk_bytes;          /* a multiple of the block size */
	TAILQ_ENTRY(malloc_disk) link;
};

/* Per-I/O context: completions wait in the channel's list. */
struct malloc_task {
	int status;
	STAILQ_ENTRY(malloc_task) link;
};

/* One per thread, shared by every malloc disk. */
struct malloc_channel {
	STAILQ_HEAD(, malloc_task) done;
	bool msg_pending;
};

static TAILQ_HEAD(, malloc_disk) g_malloc_disks = TAILQ_HEAD_INITIALIZER(g_malloc_disks);
static int g_malloc_io_device; /* address used as the module's io_device */
static uint32_t g_malloc_next_id;

static int bdev_malloc_module_init(void);
static void bdev_malloc_module_fini(void);
static int bdev_malloc_get_ctx_size(void);

static struct brisk_bdev_module g_malloc_if = {
	.name = "malloc",
	.module_init = bdev_malloc_module_init,
	.module_fini = bdev_malloc_module_fini,
	.get_ctx_size = bdev_malloc_get_ctx_size,
};
BRISK_BDEV_MODULE_REGISTER(malloc, &g_malloc_if)

static int bdev_malloc_get_ctx_size(void)
{
	return sizeof(struct malloc_task);
}

/* ------------------------------------------------------------------------ */
/* Data movement */

enum malloc_op { MALLOC_TO_DISK, MALLOC_FROM_DISK, MALLOC_COMPARE };

/* Applies op to [offset, offset + len) of the disk against the iovecs.
 * Returns 0, or 1 for a compare that found a difference. */
static int malloc_iov_op(struct malloc_disk *d, uint64_t offset, struct iovec *iovs, int iovcnt,
			 enum malloc_op op)
{
	for (int i = 0; i < iovcnt; i++) {
		char *buf = iovs[i].iov_base;
		size_t left = iovs[i].iov_len;

		while (left > 0) {
			uint64_t in = offset % d->chunk_bytes;
			char *disk = (char *)d->chunks[offset / d->chunk_bytes] + in;
			size_t n = left < d->chunk_bytes - in ? left : d->chunk_bytes - in;

			if (op == MALLOC_TO_DISK) {
				memcpy(disk, buf, n);
			} else if (op == MALLOC_FROM_DISK) {
				memcpy(buf, disk, n);
			} else if (memcmp(disk, buf, n) != 0) {
				return 1;
			}
			buf += n;
			left -= n;
			offset += n;
		}
	}
	return 0;
}

static void malloc_zero(struct malloc_disk *d, uint64_t offset, uint64_t len)
{
	while (len > 0) {
		uint64_t in = offset % d->chunk_bytes;
		uint64_t n = len < d->chunk_bytes - in ? len : d->chunk_bytes - in;

		memset((char *)d->chunks[offset / d->chunk_bytes] + in, 0, n);
		offset += n;
		len -= n;
	}
}

/* Zero-copy start: lends the backing memory of [offset, offset + len) in
 * io->u.iovs (one entry per chunk crossed). Reads and writes alike get the
 * backing memory itself, so a write lands as the caller fills the buffer:
 * its end (commit or not) has nothing to copy, and a write given up leaves
 * whatever the caller had written, as an interrupted write leaves a torn
 * range on a disk (doc/bdev.md). Returns a BRISK_BDEV_IO_STATUS_*. */
static int malloc_zcopy_lend(struct malloc_disk *d, struct brisk_bdev_io *io, uint64_t offset, uint64_t len)
{
	int cap = io->u.iovcnt, n = 0;

	while (len > 0) {
		uint64_t in = offset % d->chunk_bytes;
		uint64_t part = len < d->chunk_bytes - in ? len : d->chunk_bytes - in;

		if (n == cap) {
			return BRISK_BDEV_IO_STATUS_FAILED; /* the caller gave too few iovecs */
		}
		io->u.iovs[n].iov_base = (char *)d->chunks[offset / d->chunk_bytes] + in;
		io->u.iovs[n++].iov_len = part;
		offset += part;
		len -= part;
	}
	io->u.iovcnt = n;
	return BRISK_BDEV_IO_STATUS_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Asynchronous completion */

static void malloc_complete_batch(void *ctx)
{
	struct malloc_channel *mch = ctx;
	STAILQ_HEAD(, malloc_task) batch = STAILQ_HEAD_INITIALIZER(batch);
	struct malloc_task *task;

	mch->msg_pending = false;
	STAILQ_CONCAT(&batch, &mch->done);
	while ((task = STAILQ_FIRST(&batch)) != NULL) {
		STAILQ_REMOVE_HEAD(&batch, link);
		brisk_bdev_io_complete(brisk_bdev_io_from_ctx(task), task->status);
	}
}

static void malloc_task_done(struct malloc_channel *mch, struct malloc_task *task, int status)
{
	task->status = status;
	STAILQ_INSERT_TAIL(&mch->done, task, link);
	if (!mch->msg_pending) {
		if (brisk_thread_send_msg(brisk_get_thread(), malloc_complete_batch, mch) == 0) {
			mch->msg_pending = true;
		} else {
			/* Message ring full: the layer defers the callback anyway. */
			malloc_complete_batch(mch);
		}
	}
}

static void bdev_malloc_submit_request(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct malloc_disk *d = io->bdev->ctxt;
	struct malloc_channel *mch = brisk_io_channel_get_ctx(ch);
	struct malloc_task *task = (struct malloc_task *)io->driver_ctx;
	uint64_t offset = io->u.offset_blocks * io->bdev->blocklen;
	uint64_t len = io->u.num_blocks * io->bdev->blocklen;
	int status = BRISK_BDEV_IO_STATUS_SUCCESS;

	switch (io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
		malloc_iov_op(d, offset, io->u.iovs, io->u.iovcnt, MALLOC_FROM_DISK);
		break;
	case BRISK_BDEV_IO_TYPE_WRITE:
		malloc_iov_op(d, offset, io->u.iovs, io->u.iovcnt, MALLOC_TO_DISK);
		break;
	case BRISK_BDEV_IO_TYPE_COMPARE:
		if (malloc_iov_op(d, offset, io->u.iovs, io->u.iovcnt, MALLOC_COMPARE) != 0) {
			status = BRISK_BDEV_IO_STATUS_MISCOMPARE;
		}
		break;
	case BRISK_BDEV_IO_TYPE_UNMAP:
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		malloc_zero(d, offset, len);
		break;
	case BRISK_BDEV_IO_TYPE_ZCOPY:
		if (io->zcopy.start) {
			status = malloc_zcopy_lend(d, io, offset, len);
		}
		break;
	case BRISK_BDEV_IO_TYPE_FLUSH:
	case BRISK_BDEV_IO_TYPE_RESET:
		break;
	default:
		status = BRISK_BDEV_IO_STATUS_FAILED;
		break;
	}
	malloc_task_done(mch, task, status);
}

static bool bdev_malloc_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	switch (type) {
	case BRISK_BDEV_IO_TYPE_READ:
	case BRISK_BDEV_IO_TYPE_WRITE:
	case BRISK_BDEV_IO_TYPE_UNMAP:
	case BRISK_BDEV_IO_TYPE_FLUSH:
	case BRISK_BDEV_IO_TYPE_RESET:
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
	case BRISK_BDEV_IO_TYPE_COMPARE:
	case BRISK_BDEV_IO_TYPE_ZCOPY:
		return true;
	default:
		return false;
	}
}

static struct brisk_io_channel *bdev_malloc_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(&g_malloc_io_device);
}

static void malloc_disk_free(struct malloc_disk *d)
{
	if (d->chunks != NULL) {
		for (uint64_t i = 0; i < d->num_chunks; i++) {
			brisk_free(d->chunks[i]);
		}
	}
	free(d->chunks);
	free(d->disk.name);
	free(d);
}

static int bdev_malloc_destruct(void *ctx)
{
	struct malloc_disk *d = ctx;

	TAILQ_REMOVE(&g_malloc_disks, d, link);
	malloc_disk_free(d);
	return 0;
}

static void bdev_malloc_write_config_json(struct brisk_bdev *bdev, json_t *array)
{
	char uuid[BRISK_UUID_STRING_LEN];

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &bdev->uuid);
	json_array_append_new(array, json_pack("{s:s, s:{s:s, s:I, s:i, s:i, s:s, s:i}}", "method",
					       "bdev_malloc_create", "params", "name", bdev->name, "num_blocks",
					       (json_int_t)bdev->blockcnt, "block_size", (int)bdev->blocklen,
					       "physical_block_size", (int)brisk_bdev_get_physical_block_size(bdev),
					       "uuid", uuid, "optimal_io_boundary", (int)bdev->optimal_io_boundary));
}

static const struct brisk_bdev_fn_table g_malloc_fn_table = {
	.destruct = bdev_malloc_destruct,
	.submit_request = bdev_malloc_submit_request,
	.io_type_supported = bdev_malloc_io_type_supported,
	.get_io_channel = bdev_malloc_get_io_channel,
	.write_config_json = bdev_malloc_write_config_json,
};

/* ------------------------------------------------------------------------ */
/* Creation and deletion */

static int malloc_check_opts(const struct bdev_malloc_opts *opts)
{
	if (opts->block_size == 0 || opts->block_size % 512 != 0) {
		BRISK_ERRLOG("block_size %u must be a multiple of 512\n", opts->block_size);
		return -EINVAL;
	}
	if (!brisk_bdev_physical_block_size_valid(opts->block_size, opts->physical_block_size)) {
		BRISK_ERRLOG("physical_block_size %u must be a power-of-two multiple of block_size %u\n",
			     opts->physical_block_size, opts->block_size);
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
	if (opts->name != NULL && opts->name[0] == '\0') {
		BRISK_ERRLOG("name must not be empty\n");
		return -EINVAL;
	}
	if (opts->name != NULL && brisk_bdev_get_by_name(opts->name) != NULL) {
		BRISK_ERRLOG("bdev name '%s' already exists\n", opts->name);
		return -EEXIST;
	}
	return 0;
}

static char *malloc_make_name(const struct bdev_malloc_opts *opts)
{
	char name[32];

	if (opts->name != NULL) {
		return strdup(opts->name);
	}
	do {
		snprintf(name, sizeof(name), "Malloc%u", g_malloc_next_id++);
	} while (brisk_bdev_get_by_name(name) != NULL);
	return strdup(name);
}

static int malloc_alloc_data(struct malloc_disk *d, uint64_t size, uint32_t block_size)
{
	uint64_t chunk_blocks = MALLOC_CHUNK_BYTES / block_size;

	if (chunk_blocks == 0) {
		chunk_blocks = 1;
	}
	d->chunk_bytes = chunk_blocks * block_size;
	if (d->chunk_bytes > size) {
		d->chunk_bytes = size;
	}
	d->num_chunks = (size + d->chunk_bytes - 1) / d->chunk_bytes;
	d->chunks = calloc(d->num_chunks, sizeof(void *));
	if (d->chunks == NULL) {
		return -ENOMEM;
	}
	for (uint64_t i = 0; i < d->num_chunks; i++) {
		uint64_t len = i == d->num_chunks - 1 ? size - i * d->chunk_bytes : d->chunk_bytes;

		d->chunks[i] = brisk_dma_zmalloc(len, 4096, NULL);
		if (d->chunks[i] == NULL) {
			BRISK_ERRLOG("no memory for a malloc bdev of %lu bytes\n", (unsigned long)size);
			return -ENOMEM;
		}
	}
	return 0;
}

int bdev_malloc_create(struct brisk_bdev **bdev, const struct bdev_malloc_opts *opts)
{
	struct malloc_disk *d;
	int rc;

	if (bdev == NULL || opts == NULL) {
		return -EINVAL;
	}
	rc = malloc_check_opts(opts);
	if (rc != 0) {
		return rc;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		return -ENOMEM;
	}
	d->disk.name = malloc_make_name(opts);
	if (d->disk.name == NULL) {
		malloc_disk_free(d);
		return -ENOMEM;
	}
	rc = malloc_alloc_data(d, opts->num_blocks * opts->block_size, opts->block_size);
	if (rc != 0) {
		malloc_disk_free(d);
		return rc;
	}
	d->disk.product_name = "Malloc disk";
	d->disk.uuid = opts->uuid;
	d->disk.blocklen = opts->block_size;
	d->disk.phys_blocklen = opts->physical_block_size;
	d->disk.blockcnt = opts->num_blocks;
	d->disk.write_cache = true;
	d->disk.optimal_io_boundary = opts->optimal_io_boundary;
	d->disk.split_on_optimal_io_boundary = opts->optimal_io_boundary != 0;
	d->disk.ctxt = d;
	d->disk.fn_table = &g_malloc_fn_table;
	d->disk.module = &g_malloc_if;
	rc = brisk_bdev_register(&d->disk);
	if (rc != 0) {
		malloc_disk_free(d);
		return rc;
	}
	TAILQ_INSERT_TAIL(&g_malloc_disks, d, link);
	*bdev = &d->disk;
	return 0;
}

int bdev_malloc_delete(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg)
{
	if (name == NULL) {
		BRISK_ERRLOG("name is missing\n");
		return -EINVAL;
	}
	return brisk_bdev_unregister_by_name(name, &g_malloc_if, cb, cb_arg);
}

/* ------------------------------------------------------------------------ */
/* Module */

static int malloc_channel_create(void *io_device, void *ctx_buf)
{
	struct malloc_channel *mch = ctx_buf;

	STAILQ_INIT(&mch->done);
	mch->msg_pending = false;
	return 0;
}

static void malloc_channel_destroy(void *io_device, void *ctx_buf)
{
	struct malloc_channel *mch = ctx_buf;

	if (!STAILQ_EMPTY(&mch->done)) {
		BRISK_ERRLOG("malloc channel destroyed with completions pending\n");
	}
}

static int bdev_malloc_module_init(void)
{
	brisk_io_device_register(&g_malloc_io_device, malloc_channel_create, malloc_channel_destroy,
				 sizeof(struct malloc_channel), "bdev_malloc");
	return 0;
}

static void bdev_malloc_module_fini(void)
{
	brisk_io_device_unregister(&g_malloc_io_device, NULL);
}
