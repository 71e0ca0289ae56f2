/*
 * Allocation failures (SQLite's "malloc failure" loop): lib/env's test hook
 * (brisk_env_fail_alloc_set) fails the Nth brisk_malloc / zmalloc / realloc /
 * dma_* call, for N = 1, 2, ... until a run no longer reaches the failure.
 * Covered: a malloc bdev created, opened, closed and deleted through the bdev
 * API, a blobstore init, unload, load and unload on a RAM device, and a
 * blob created, opened, grown, synced, closed and deleted on it. Each
 * failing run must end with -ENOMEM and leave nothing behind (no bdev by that
 * name, the env heap's in-use count unchanged; the ASan build reports libc
 * leaks), and the same run then succeeds. libc allocations are not counted
 * by the hook (jansson's are).
 *
 * Unit tests link only lib/blob_bdev and below, so the malloc module is compiled
 * into this test from its source.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/blob.h>
#include <brisk/thread.h>

#include "../../../module/bdev/malloc/bdev_malloc.c"
#include "../../common/ut_alloc_fail.h"
#include "../../common/ut_main.h"

#define MAX_RUNS 10000 /* far above the allocations of one run */
#define BS_BLOCKLEN 4096
#define BS_BLOCKS 4096 /* 16 MiB: a few clusters past the metadata */

static struct brisk_thread *g_th;
static uint8_t *g_img;
static struct brisk_blob_store *g_bs;
static int g_done;
static int g_rc;

static void poll(void)
{
	while (brisk_thread_poll(g_th, 0, 0) > 0) {
	}
}

static void op_cb(void *arg, int rc)
{
	g_rc = rc;
	g_done++;
}

static void bs_cb(void *arg, struct brisk_blob_store *bs, int rc)
{
	g_bs = bs;
	g_rc = rc;
	g_done++;
}

static void bdev_ev(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx) {}

/* ---- malloc bdev ---- */

static int malloc_open_close(const char *name)
{
	struct brisk_bdev_desc *desc = NULL;
	int rc = brisk_bdev_open_ext(name, true, bdev_ev, NULL, &desc);

	if (rc == 0) {
		brisk_bdev_close(desc);
	}
	return rc;
}

static int malloc_delete(const char *name)
{
	g_done = 0;
	g_rc = -1;
	CU_ASSERT_EQUAL(bdev_malloc_delete(name, op_cb, NULL), 0);
	CU_ASSERT_EQUAL(g_done, 0); /* never inside the call */
	poll();
	CU_ASSERT_EQUAL(g_done, 1);
	return g_rc;
}

/* Three memory chunks: a failure on the second or third frees the first. */
static int run_malloc_bdev(void)
{
	struct bdev_malloc_opts o = {
		.name = "afail",
		.num_blocks = (2 * MALLOC_CHUNK_BYTES + 65536) / 4096,
		.block_size = 4096,
	};
	struct brisk_bdev *b = NULL;
	int rc = bdev_malloc_create(&b, &o);

	if (rc != 0) {
		CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("afail"));
		return rc;
	}
	CU_ASSERT_PTR_EQUAL(brisk_bdev_get_by_name("afail"), b);
	rc = malloc_open_close("afail");
	CU_ASSERT_EQUAL(malloc_delete("afail"), 0);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("afail"));
	return rc;
}

/* ---- blobstore on a RAM device ---- */

static int bs_wait(void)
{
	CU_ASSERT_EQUAL(g_done, 0); /* never inside the call */
	poll();
	CU_ASSERT_EQUAL(g_done, 1);
	return g_rc;
}

static int bs_unload(void)
{
	g_done = 0;
	brisk_bs_unload(g_bs, op_cb, NULL);
	g_bs = NULL;
	return bs_wait();
}

/* Opens (load) or writes (init) a store on the image, then unloads it. */
static int bs_open_unload(bool load)
{
	struct brisk_bs_dev *dev = brisk_bs_dev_ram_create(BS_BLOCKS, BS_BLOCKLEN, g_img);
	int rc;

	if (dev == NULL) {
		return -ENOMEM;
	}
	g_done = 0;
	g_bs = NULL;
	if (load) {
		brisk_bs_load(dev, NULL, bs_cb, NULL);
	} else {
		brisk_bs_init(dev, NULL, bs_cb, NULL);
	}
	rc = bs_wait();
	if (rc != 0) {
		CU_ASSERT_PTR_NULL(g_bs);
		return rc;
	}
	return bs_unload();
}

static int run_blobstore(void)
{
	int rc;

	memset(g_img, 0, (size_t)BS_BLOCKS * BS_BLOCKLEN);
	rc = bs_open_unload(false);
	return rc != 0 ? rc : bs_open_unload(true);
}

/* A blob's life on a store that stays loaded: create, open, grow, sync,
 * close, delete. A step that fails undoes the ones before it (the hook fails
 * once, so the undo itself runs without a failure). */
static struct brisk_blob *g_blob;
static brisk_blob_id g_id;

static void id_cb(void *arg, brisk_blob_id id, int rc)
{
	g_id = id;
	g_rc = rc;
	g_done++;
}

static void blob_cb(void *arg, struct brisk_blob *blob, int rc)
{
	g_blob = blob;
	g_rc = rc;
	g_done++;
}

static int blob_delete(void)
{
	g_done = 0;
	brisk_bs_delete_blob(g_bs, g_id, op_cb, NULL);
	return bs_wait();
}

static int blob_close(void)
{
	g_done = 0;
	brisk_blob_close(g_blob, op_cb, NULL);
	g_blob = NULL;
	return bs_wait();
}

static int blob_grow_sync(void)
{
	int rc;

	g_done = 0;
	brisk_blob_resize(g_blob, 2, op_cb, NULL);
	rc = bs_wait();
	if (rc == 0) {
		g_done = 0;
		brisk_blob_sync_md(g_blob, op_cb, NULL);
		rc = bs_wait();
	}
	return rc;
}

static int run_blob_life(void)
{
	int rc, rc2;

	g_done = 0;
	brisk_bs_create_blob(g_bs, id_cb, NULL);
	rc = bs_wait();
	if (rc != 0) {
		return rc;
	}
	g_done = 0;
	brisk_bs_open_blob(g_bs, g_id, blob_cb, NULL);
	rc = bs_wait();
	if (rc == 0) {
		rc = blob_grow_sync();
		rc2 = blob_close();
		rc = rc != 0 ? rc : rc2;
	}
	rc2 = blob_delete();
	if (rc == 0 && rc2 != 0) {
		rc = rc2;
	} else if (rc2 != 0) {
		CU_ASSERT_EQUAL(blob_delete(), 0); /* the undo must work once retried */
	}
	return rc;
}

/* ---- the loop ---- */

static int run_fn(void *arg)
{
	int (**run)(void) = arg;

	return (*run)();
}

static void fail_loop(int (*run)(void), const char *what) { brisk_ut_alloc_fail_loop(run_fn, &run, what, MAX_RUNS); }

static void test_malloc_bdev(void) { fail_loop(run_malloc_bdev, "malloc bdev create/delete"); }

static void test_blobstore(void) { fail_loop(run_blobstore, "blobstore init/load"); }

static void test_blob_life(void)
{
	struct brisk_bs_dev *dev = brisk_bs_dev_ram_create(BS_BLOCKS, BS_BLOCKLEN, g_img);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	memset(g_img, 0, (size_t)BS_BLOCKS * BS_BLOCKLEN);
	g_done = 0;
	brisk_bs_init(dev, NULL, bs_cb, NULL);
	CU_ASSERT_EQUAL_FATAL(bs_wait(), 0);
	fail_loop(run_blob_life, "blob create/open/resize/sync/close/delete");
	CU_ASSERT_EQUAL(bs_unload(), 0);
}

/* ---- set-up ---- */

static int g_init_rc = -1;
static void init_done(void *arg, int rc) { g_init_rc = rc; }

static bool g_fini;
static void fini_done(void *arg) { g_fini = true; }

/* The thread and the bdev layer (the runner started the env and the thread library). */
static int start(void)
{
	struct brisk_bdev_opts opts;

	g_th = brisk_thread_create("ut", NULL);
	g_img = malloc((size_t)BS_BLOCKS * BS_BLOCKLEN);
	if (g_th == NULL || g_img == NULL) {
		return -1;
	}
	brisk_set_thread(g_th);
	brisk_bdev_get_opts(&opts);
	opts.bdev_io_pool_size = 512;
	opts.bdev_io_cache_size = 16;
	opts.small_buf_pool_size = 16;
	opts.large_buf_pool_size = 4;
	if (brisk_bdev_set_opts(&opts) != 0) {
		return -1;
	}
	brisk_bdev_initialize(init_done, NULL);
	poll();
	return g_init_rc;
}

static int stop(void)
{
	brisk_bdev_finish(fini_done, NULL);
	poll();
	brisk_thread_exit(g_th);
	for (int k = 0; k < 1000 && !brisk_thread_is_exited(g_th); k++) {
		brisk_thread_poll(g_th, 0, 0);
	}
	brisk_thread_destroy(g_th);
	brisk_set_thread(NULL);
	free(g_img);
	if (!g_fini) {
		fprintf(stderr, "bdev finish did not complete\n");
		return -1;
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_malloc_bdev),
	BRISK_UT_TEST(test_blobstore),
	BRISK_UT_TEST(test_blob_life),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "alloc_fail", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "alloc_fail_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 128,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = start,
	.teardown = stop,
	.suites = g_ut_suites,
};
