/*
 * The bs_dev over a bdev: a store on a RAM bdev of a test module defined
 * here. Covers bad input of brisk_bdev_create_bs_dev_ext, claims, a store
 * init/load cycle keeping data, and bdev_io pool exhaustion under many
 * concurrent blob I/Os (the bs_dev waits and resubmits, never fails).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/blob.h>
#include <brisk/blob_bdev.h>
#include <brisk/env.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

#define BLOCKLEN 512
#define BLOCKS (32ull * 1024 * 1024 / BLOCKLEN)
#define UPC (1024 * 1024 / BLOCKLEN)
#define NIO 32

static struct brisk_thread *g_th;
static int g_rc, g_done;
static struct brisk_blob_store *g_bs;
static struct brisk_blob *g_blob;
static brisk_blob_id g_id;

/* ---- A RAM bdev module ---- */

struct ram_disk {
	struct brisk_bdev bdev;
	uint8_t *store;
};

static int g_ram_io_device;
static int ram_ctx_size(void) { return 8; }
static struct brisk_bdev_module g_ram_if = { .name = "blob_ut_ram", .get_ctx_size = ram_ctx_size };
BRISK_BDEV_MODULE_REGISTER(blob_ut_ram, &g_ram_if)
static struct brisk_bdev_module g_claimer = { .name = "blob_ut_claimer" };
BRISK_BDEV_MODULE_REGISTER(blob_ut_claimer, &g_claimer)
static struct brisk_bdev_module g_other = { .name = "blob_ut_other" };
BRISK_BDEV_MODULE_REGISTER(blob_ut_other, &g_other)

static void ram_submit(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct ram_disk *d = io->bdev->ctxt;
	uint64_t off = io->u.offset_blocks * io->bdev->blocklen;
	uint64_t len = io->u.num_blocks * io->bdev->blocklen;

	(void)ch;
	switch (io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
		brisk_copy_buf_to_iovs(io->u.iovs, io->u.iovcnt, d->store + off, len);
		break;
	case BRISK_BDEV_IO_TYPE_WRITE:
		brisk_copy_iovs_to_buf(d->store + off, len, io->u.iovs, io->u.iovcnt);
		break;
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
	case BRISK_BDEV_IO_TYPE_UNMAP:
		memset(d->store + off, 0, len);
		break;
	default:
		break;
	}
	brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_SUCCESS);
}

static bool ram_supported(void *ctx, enum brisk_bdev_io_type t)
{
	(void)ctx;
	return t == BRISK_BDEV_IO_TYPE_READ || t == BRISK_BDEV_IO_TYPE_WRITE || t == BRISK_BDEV_IO_TYPE_UNMAP ||
	       t == BRISK_BDEV_IO_TYPE_WRITE_ZEROES || t == BRISK_BDEV_IO_TYPE_FLUSH;
}

static struct brisk_io_channel *ram_channel(void *ctx)
{
	(void)ctx;
	return brisk_get_io_channel(&g_ram_io_device);
}

static int ram_destruct(void *ctx)
{
	struct ram_disk *d = ctx;

	free(d->store);
	d->store = NULL;
	return 0;
}

static const struct brisk_bdev_fn_table g_ram_fn = {
	.destruct = ram_destruct,
	.submit_request = ram_submit,
	.io_type_supported = ram_supported,
	.get_io_channel = ram_channel,
};

static int ram_ch_create(void *dev, void *ctx)
{
	(void)dev;
	(void)ctx;
	return 0;
}
static void ram_ch_destroy(void *dev, void *ctx)
{
	(void)dev;
	(void)ctx;
}

static struct ram_disk g_disk, g_odd_disk;

static void ram_disk_init(struct ram_disk *d, const char *name, uint32_t blocklen, uint64_t blockcnt)
{
	memset(d, 0, sizeof(*d));
	d->bdev.name = (char *)name;
	d->bdev.product_name = "blob ut ram";
	d->bdev.blocklen = blocklen;
	d->bdev.blockcnt = blockcnt;
	d->bdev.ctxt = d;
	d->bdev.fn_table = &g_ram_fn;
	d->bdev.module = &g_ram_if;
	d->store = calloc(blockcnt, blocklen);
}

/* ---- Plumbing ---- */

static void poll_all(void)
{
	while (brisk_thread_poll(g_th, 0, 0) > 0) {
	}
	brisk_set_thread(g_th);
}

static int finish(void)
{
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, 1);
	return g_rc;
}

static void bs_cb(void *arg, struct brisk_blob_store *bs, int rc)
{
	(void)arg;
	g_bs = bs;
	g_rc = rc;
	g_done++;
}
static void op_cb(void *arg, int rc)
{
	(void)arg;
	g_rc = rc;
	g_done++;
}
static void id_cb(void *arg, brisk_blob_id id, int rc)
{
	(void)arg;
	g_id = id;
	g_rc = rc;
	g_done++;
}
static void blob_cb(void *arg, struct brisk_blob *b, int rc)
{
	(void)arg;
	g_blob = b;
	g_rc = rc;
	g_done++;
}

static void event_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)type;
	(void)bdev;
	(void)ctx;
}

/* ---- Tests ---- */

static void test_bad_input(void)
{
	struct brisk_bs_dev *dev = NULL;

	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext(NULL, event_cb, NULL, &dev), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsram0", NULL, NULL, &dev), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsram0", event_cb, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("nosuch", event_cb, NULL, &dev), -ENODEV);
	/* 8 KiB blocks do not divide a 4 KiB page. */
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsodd", event_cb, NULL, &dev), -EINVAL);
	CU_ASSERT_PTR_NULL(dev);
	CU_ASSERT_EQUAL(brisk_bs_bdev_claim(NULL, &g_claimer), -EINVAL);
}

static void test_claim(void)
{
	struct brisk_bs_dev *a = NULL, *b = NULL;

	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsram0", event_cb, NULL, &a), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_EQUAL(a->blocklen, BLOCKLEN);
	CU_ASSERT_EQUAL(a->blockcnt, BLOCKS);
	CU_ASSERT_EQUAL(brisk_bs_bdev_claim(a, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bs_bdev_claim(a, &g_claimer), 0);
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_claim_module_name(&g_disk.bdev), "blob_ut_claimer");
	/* Another writer is refused while the claim holds. */
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsram0", event_cb, NULL, &b), -EPERM);
	a->destroy(a); /* releases the claim and closes */
	CU_ASSERT_PTR_NULL(brisk_bdev_get_claim_module_name(&g_disk.bdev));
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsram0", event_cb, NULL, &b), 0);
	CU_ASSERT_EQUAL(brisk_bs_bdev_claim(b, &g_other), 0);
	b->destroy(b);
}

static void io_done(void *arg, int rc)
{
	int *slot = arg;

	*slot = rc;
	g_done++;
}

static void test_store_on_bdev(void)
{
	struct brisk_bs_dev *dev = NULL;
	struct brisk_bs_opts o;
	struct brisk_blob_opts bo;
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	static uint8_t wbuf[NIO][BLOCKLEN], rbuf[NIO][BLOCKLEN];
	int rcs[NIO];
	brisk_blob_id id;

	brisk_bs_opts_init(&o);
	o.num_md_pages = 128;
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsram0", event_cb, NULL, &dev), 0);
	CU_ASSERT_EQUAL(brisk_bs_bdev_claim(dev, &g_claimer), 0);
	brisk_bs_init(dev, &o, bs_cb, NULL);
	CU_ASSERT_EQUAL_FATAL(finish(), 0);
	brisk_blob_opts_init(&bo);
	bo.num_clusters = 4;
	bo.thin_provision = true;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	id = g_id;
	brisk_bs_open_blob(g_bs, id, blob_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	b = g_blob;
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
	/* NIO writes in flight at once, more than the bdev_io pool holds, over
	 * two thin clusters allocated by the first of them. */
	for (int i = 0; i < NIO; i++) {
		memset(wbuf[i], i + 1, BLOCKLEN);
		brisk_blob_io_write(b, ch, wbuf[i], (uint64_t)i * (UPC / 16), 1, io_done, &rcs[i]);
	}
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, NIO);
	for (int i = 0; i < NIO; i++) {
		CU_ASSERT_EQUAL(rcs[i], 0);
		brisk_blob_io_read(b, ch, rbuf[i], (uint64_t)i * (UPC / 16), 1, io_done, &rcs[i]);
	}
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, NIO);
	for (int i = 0; i < NIO; i++) {
		CU_ASSERT_EQUAL(rcs[i], 0);
		CU_ASSERT_EQUAL(memcmp(rbuf[i], wbuf[i], BLOCKLEN), 0);
	}
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 2);
	brisk_bs_free_io_channel(ch);
	brisk_blob_close(b, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	brisk_bs_unload(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_claim_module_name(&g_disk.bdev));

	/* Load again from the bdev: data intact. */
	CU_ASSERT_EQUAL(brisk_bdev_create_bs_dev_ext("bsram0", event_cb, NULL, &dev), 0);
	brisk_bs_load(dev, &o, bs_cb, NULL);
	CU_ASSERT_EQUAL_FATAL(finish(), 0);
	brisk_bs_open_blob(g_bs, id, blob_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	b = g_blob;
	ch = brisk_bs_alloc_io_channel(g_bs);
	memset(rbuf[0], 0, BLOCKLEN);
	brisk_blob_io_read(b, ch, rbuf[0], 5 * (UPC / 16), 1, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf[0], wbuf[5], BLOCKLEN), 0);
	brisk_bs_free_io_channel(ch);
	brisk_blob_close(b, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	brisk_bs_unload(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
}

/* ---- main ---- */

static int g_init_rc = -1;
static bool g_fini_done;

static void init_done(void *arg, int rc)
{
	(void)arg;
	g_init_rc = rc;
}
static void fini_done(void *arg)
{
	(void)arg;
	g_fini_done = true;
}

static int ut_setup(void)
{
	struct brisk_bdev_opts opts;

	g_th = brisk_thread_create("ut", NULL);
	brisk_set_thread(g_th);
	brisk_io_device_register(&g_ram_io_device, ram_ch_create, ram_ch_destroy, 8, "blob_ut_ram");
	brisk_bdev_get_opts(&opts);
	opts.bdev_io_pool_size = 8;
	opts.bdev_io_cache_size = 1;
	if (brisk_bdev_set_opts(&opts) != 0) {
		fprintf(stderr, "bdev_set_opts failed\n");
		return -1;
	}
	brisk_bdev_initialize(init_done, NULL);
	poll_all();
	if (g_init_rc != 0) {
		fprintf(stderr, "bdev init failed: %d\n", g_init_rc);
		return -1;
	}
	ram_disk_init(&g_disk, "bsram0", BLOCKLEN, BLOCKS);
	ram_disk_init(&g_odd_disk, "bsodd", 8192, 64);
	if (brisk_bdev_register(&g_disk.bdev) != 0 || brisk_bdev_register(&g_odd_disk.bdev) != 0) {
		fprintf(stderr, "bdev register failed\n");
		return -1;
	}
	poll_all();
	return 0;
}

static int ut_teardown(void)
{
	int rc = 0;

	brisk_bdev_finish(fini_done, NULL);
	poll_all();
	if (!g_fini_done) {
		fprintf(stderr, "bdev finish did not complete\n");
		rc = -1;
	}
	brisk_io_device_unregister(&g_ram_io_device, NULL);
	poll_all();
	return brisk_ut_thread_end(g_th) != 0 ? -1 : rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_bad_input),
	BRISK_UT_TEST(test_claim),
	BRISK_UT_TEST(test_store_on_bdev),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_bdev", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_bdev_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 128,
	.thread_opts = { .msg_pool_size = 16383 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
