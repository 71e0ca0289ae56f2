/*
 * hello_blob: the smallest complete program on the blobstore.
 *
 * A Brisk app whose start function, on the app thread (the store's
 * metadata thread), runs these steps in order:
 *
 *   hello_start            create a 16 MiB malloc bdev (the bdev_malloc_create
 *                          method, called in-process)
 *   hello_bdev_created     wait for examine, then a bs_dev over the bdev
 *   hello_examined         and a new store on it (brisk_bs_init)
 *   hello_store_ready      create a blob
 *   hello_blob_created     open it
 *   hello_blob_opened      resize it to 4 clusters
 *   hello_resized          sync its metadata (the resize is durable now)
 *   hello_synced           write a pattern over the whole blob
 *   hello_written          read it back
 *   hello_read             compare, then close the blob
 *   hello_closed           delete it
 *   hello_deleted          unload the store
 *   hello_unloaded         stop the app: exit 0
 *
 * A failure prints the step and the error, closes and unloads what is open,
 * and exits 1. Run: build/examples/hello_blob [-s 64] [--no-huge]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/blob.h>
#include <brisk/blob_bdev.h>
#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/rpc.h>

#define HELLO_BDEV "Malloc0"
#define HELLO_CLUSTERS 4

struct hello_ctx {
	struct brisk_blob_store *bs;
	brisk_blob_id blobid;
	struct brisk_blob *blob;
	struct brisk_io_channel *channel;
	uint8_t *write_buf;
	uint8_t *read_buf;
	uint64_t blob_bytes;
	int rc;
};

static void hello_stop(struct hello_ctx *h)
{
	brisk_free(h->write_buf);
	brisk_free(h->read_buf);
	h->write_buf = h->read_buf = NULL;
	printf("hello_blob: %s\n", h->rc == 0 ? "done, everything worked" : "FAILED");
	brisk_app_stop(h->rc == 0 ? 0 : 1);
}

static void hello_unloaded(void *arg, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		fprintf(stderr, "hello_blob: unload failed: %s\n", strerror(-rc));
		h->rc = rc;
	} else {
		printf("store unloaded\n");
	}
	hello_stop(h);
}

static void hello_unload(struct hello_ctx *h)
{
	if (h->channel != NULL) {
		brisk_bs_free_io_channel(h->channel);
		h->channel = NULL;
	}
	brisk_bs_unload(h->bs, hello_unloaded, h);
}

static void hello_failed_blob_closed(void *arg, int rc)
{
	(void)rc;
	hello_unload(arg);
}

/* Reports the failed step and tears down whatever exists. */
static void hello_fail(struct hello_ctx *h, const char *step, int rc)
{
	struct brisk_blob *blob = h->blob;

	fprintf(stderr, "hello_blob: %s failed: %s\n", step, strerror(-rc));
	h->rc = rc;
	if (h->bs == NULL) {
		hello_stop(h);
	} else if (blob != NULL) {
		h->blob = NULL;
		brisk_blob_close(blob, hello_failed_blob_closed, h);
	} else {
		hello_unload(h);
	}
}

static void hello_deleted(void *arg, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "delete", rc);
		return;
	}
	printf("blob 0x%" PRIx64 " deleted\n", h->blobid);
	hello_unload(h);
}

static void hello_closed(void *arg, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "close", rc);
		return;
	}
	brisk_bs_delete_blob(h->bs, h->blobid, hello_deleted, h);
}

static void hello_read(void *arg, int rc)
{
	struct hello_ctx *h = arg;
	struct brisk_blob *blob = h->blob;

	if (rc != 0) {
		hello_fail(h, "read", rc);
		return;
	}
	if (memcmp(h->write_buf, h->read_buf, h->blob_bytes) != 0) {
		hello_fail(h, "compare (the data read back differs)", -EILSEQ);
		return;
	}
	printf("read back %" PRIu64 " bytes: they match\n", h->blob_bytes);
	h->blob = NULL;
	brisk_blob_close(blob, hello_closed, h);
}

static void hello_written(void *arg, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "write", rc);
		return;
	}
	printf("wrote a pattern over all %" PRIu64 " bytes\n", h->blob_bytes);
	memset(h->read_buf, 0, h->blob_bytes);
	brisk_blob_io_read(h->blob, h->channel, h->read_buf, 0, brisk_blob_get_num_io_units(h->blob),
			   hello_read, h);
}

static void hello_synced(void *arg, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "sync", rc);
		return;
	}
	h->blob_bytes = brisk_blob_get_num_io_units(h->blob) * brisk_bs_get_io_unit_size(h->bs);
	/* I/O runs on a channel of the calling thread; buffers are DMA memory. */
	h->channel = brisk_bs_alloc_io_channel(h->bs);
	h->write_buf = brisk_dma_malloc(h->blob_bytes, 4096, NULL);
	h->read_buf = brisk_dma_malloc(h->blob_bytes, 4096, NULL);
	if (h->channel == NULL || h->write_buf == NULL || h->read_buf == NULL) {
		hello_fail(h, "allocating the channel and buffers", -ENOMEM);
		return;
	}
	for (uint64_t i = 0; i < h->blob_bytes; i++) {
		h->write_buf[i] = (uint8_t)(i % 251); /* a prime: no two pages alike */
	}
	brisk_blob_io_write(h->blob, h->channel, h->write_buf, 0,
			    brisk_blob_get_num_io_units(h->blob), hello_written, h);
}

static void hello_resized(void *arg, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "resize", rc);
		return;
	}
	printf("blob resized to %" PRIu64 " clusters\n", brisk_blob_get_num_clusters(h->blob));
	brisk_blob_sync_md(h->blob, hello_synced, h);
}

static void hello_blob_opened(void *arg, struct brisk_blob *blob, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "open", rc);
		return;
	}
	h->blob = blob;
	brisk_blob_resize(blob, HELLO_CLUSTERS, hello_resized, h);
}

static void hello_blob_created(void *arg, brisk_blob_id blobid, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "create blob", rc);
		return;
	}
	h->blobid = blobid;
	printf("blob 0x%" PRIx64 " created\n", blobid);
	brisk_bs_open_blob(h->bs, blobid, hello_blob_opened, h);
}

static void hello_store_ready(void *arg, struct brisk_blob_store *bs, int rc)
{
	struct hello_ctx *h = arg;

	if (rc != 0) {
		hello_fail(h, "blobstore init", rc);
		return;
	}
	h->bs = bs;
	printf("blobstore on %s: %" PRIu64 " free clusters of %" PRIu64 " bytes\n", HELLO_BDEV,
	       brisk_bs_free_cluster_count(bs), brisk_bs_get_cluster_size(bs));
	brisk_bs_create_blob(bs, hello_blob_created, h);
}

static void hello_bdev_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)type; (void)bdev; (void)ctx; /* the bdev lives as long as the program */
}

static void hello_examined(void *arg)
{
	struct hello_ctx *h = arg;
	struct brisk_bs_dev *dev;
	int rc;

	rc = brisk_bdev_create_bs_dev_ext(HELLO_BDEV, hello_bdev_event, NULL, &dev);
	if (rc != 0) {
		hello_fail(h, "bs_dev over " HELLO_BDEV, rc);
		return;
	}
	/* The store owns dev from here on, also if init fails. */
	brisk_bs_init(dev, NULL, hello_store_ready, h);
}

static void hello_bdev_created(void *arg, int error_code, const char *error_message,
			       const json_t *result)
{
	struct hello_ctx *h = arg;
	int rc;

	(void)result;
	if (error_code != 0) {
		fprintf(stderr, "hello_blob: bdev_malloc_create: %s\n", error_message);
		hello_fail(h, "creating the malloc bdev", -EINVAL);
		return;
	}
	printf("malloc bdev %s created\n", HELLO_BDEV);
	rc = brisk_bdev_wait_for_examine(hello_examined, h);
	if (rc != 0) {
		hello_fail(h, "waiting for examine", rc);
	}
}

static void hello_start(void *arg)
{
	struct hello_ctx *h = arg;
	/* 4096 blocks of 4 KiB: 16 MiB, 16 clusters of the default 1 MiB. */
	json_t *params = json_pack("{s:s, s:i, s:i}", "name", HELLO_BDEV, "num_blocks", 4096,
				   "block_size", 4096);
	int rc;

	if (params == NULL) {
		hello_fail(h, "building the bdev parameters", -ENOMEM);
		return;
	}
	rc = brisk_rpc_call_local("bdev_malloc_create", params, hello_bdev_created, h);
	json_decref(params);
	if (rc != 0) {
		hello_fail(h, "calling bdev_malloc_create", rc);
	}
}

int main(int argc, char **argv)
{
	struct brisk_app_opts opts;
	struct hello_ctx h = { .rc = 0 };

	brisk_app_opts_init(&opts);
	opts.name = "hello_blob";
	opts.rpc_addr = NULL; /* no RPC server: the program talks to nobody */
	switch (brisk_app_parse_args(argc, argv, &opts, NULL, NULL, NULL, NULL)) {
	case BRISK_APP_PARSE_ARGS_SUCCESS:
		break;
	case BRISK_APP_PARSE_ARGS_HELP:
		return 0;
	default:
		return 2;
	}
	if (brisk_app_start(&opts, hello_start, &h) != 0) {
		return 1;
	}
	return h.rc == 0 ? 0 : 1;
}
