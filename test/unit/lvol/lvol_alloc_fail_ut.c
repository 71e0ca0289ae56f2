/*
 * Allocation failures in lib/lvol (SQLite's "malloc failure" loop): lib/env's
 * hook (brisk_env_fail_alloc_set) fails the Nth brisk_malloc / zmalloc /
 * realloc / dma_* call or jansson allocation, for N = 1, 2, ... until a run
 * no longer reaches the failure. Covered: an lvol store created, unloaded,
 * loaded and unloaded on a RAM device, and an lvol created and deleted on it.
 * Each failing run must end with -ENOMEM through its callback (never inside
 * the call), leave nothing behind (no store or lvol by that name, the env
 * heap's in-use count unchanged; the ASan build reports libc leaks), and the
 * same run then succeeds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/blob.h>
#include <brisk/env.h>
#include <brisk/lvol.h>
#include <brisk/thread.h>

#include "../../common/test_env.h"
#include "../../common/ut_alloc_fail.h"
#include "../../common/ut_main.h"

#define MAX_RUNS 10000 /* far above the allocations of one run */
#define BLOCKLEN 512
#define DEV_BYTES (16ull * 1024 * 1024)
#define CLUSTER (1024 * 1024)

static struct brisk_thread *g_th;
static uint8_t *g_image;
static int g_rc;
static bool g_done;
static struct brisk_lvol_store *g_lvs;
static struct brisk_lvol *g_lvol;

/* Right after each call: its callback has not run inside it. */
static int wait_done(void)
{
	CU_ASSERT(!g_done);
	for (int i = 0; i < 1000000 && !g_done; i++) {
		brisk_thread_poll(g_th, 0, 0);
	}
	CU_ASSERT(g_done);
	return g_done ? g_rc : -ETIMEDOUT;
}

static void lvs_cb(void *arg, struct brisk_lvol_store *lvs, int rc)
{
	g_lvs = rc == 0 ? lvs : NULL;
	g_rc = rc;
	g_done = true;
}

static void lvol_cb(void *arg, struct brisk_lvol *lvol, int rc)
{
	g_lvol = rc == 0 ? lvol : NULL;
	g_rc = rc;
	g_done = true;
}

static void op_cb(void *arg, int rc)
{
	g_rc = rc;
	g_done = true;
}

static struct brisk_bs_dev *ram_dev(void) { return brisk_bs_dev_ram_create(DEV_BYTES / BLOCKLEN, BLOCKLEN, g_image); }

static int lvs_init(void)
{
	struct brisk_lvs_opts o;
	struct brisk_bs_dev *dev = ram_dev();

	if (dev == NULL) {
		return -ENOMEM; /* the RAM device's own allocation failed */
	}
	brisk_lvs_opts_init(&o);
	snprintf(o.name, sizeof(o.name), "afail");
	o.cluster_sz = CLUSTER;
	g_done = false;
	brisk_lvs_init(dev, &o, lvs_cb, NULL);
	return wait_done();
}

static int lvs_load(void)
{
	struct brisk_bs_dev *dev = ram_dev();

	if (dev == NULL) {
		return -ENOMEM;
	}
	g_done = false;
	brisk_lvs_load(dev, lvs_cb, NULL);
	return wait_done();
}

static int lvs_unload(void)
{
	g_done = false;
	brisk_lvs_unload(g_lvs, op_cb, NULL);
	return wait_done();
}

/* Store create, unload, load, unload; a failed step leaves no store. */
static int run_lvs(void)
{
	int rc;

	memset(g_image, 0, DEV_BYTES);
	rc = lvs_init();
	if (rc == 0) {
		rc = lvs_unload();
	}
	if (rc == 0) {
		rc = lvs_load();
		CU_ASSERT(rc != 0 || strcmp(brisk_lvs_get_name(g_lvs), "afail") == 0);
	}
	if (rc == 0) {
		rc = lvs_unload();
	}
	if (rc != 0 && brisk_lvs_get_by_name("afail") != NULL) {
		fprintf(stderr, "lvol store left loaded after %d\n", rc);
		CU_FAIL("a failed run left the store loaded");
		g_lvs = brisk_lvs_get_by_name("afail");
		CU_ASSERT_EQUAL(lvs_unload(), 0);
	}
	return rc;
}

static int lvol_count(void)
{
	int n = 0;

	for (struct brisk_lvol *l = brisk_lvol_first(g_lvs); l != NULL; l = brisk_lvol_next(l)) {
		n++;
	}
	return n;
}

static int lvol_destroy(void)
{
	g_done = false;
	brisk_lvol_destroy(g_lvol, op_cb, NULL);
	return wait_done();
}

/* An lvol created (thick, two clusters) and deleted. */
static int run_lvol_life(void)
{
	int rc, rc2;

	g_done = false;
	brisk_lvol_create(g_lvs, "afail_lvol", 2 * CLUSTER, false, BRISK_BLOB_CLEAR_WITH_DEFAULT, lvol_cb, NULL);
	rc = wait_done();
	if (rc != 0) {
		CU_ASSERT_EQUAL(lvol_count(), 0); /* nothing half-made stays */
		return rc;
	}
	rc2 = lvol_destroy();
	if (rc2 != 0) {
		CU_ASSERT_EQUAL(lvol_destroy(), 0); /* the delete works once retried */
	}
	CU_ASSERT_EQUAL(lvol_count(), 0);
	return rc2;
}

static int run_fn(void *arg)
{
	int (**run)(void) = arg;

	return (*run)();
}

static void fail_loop(int (*run)(void), const char *what) { brisk_ut_alloc_fail_loop(run_fn, &run, what, MAX_RUNS); }

static void test_lvs(void) { fail_loop(run_lvs, "lvol store create/unload/load/unload"); }

static void test_lvol_life(void)
{
	memset(g_image, 0, DEV_BYTES);
	CU_ASSERT_EQUAL_FATAL(lvs_init(), 0);
	fail_loop(run_lvol_life, "lvol create/delete");
	CU_ASSERT_EQUAL(lvs_unload(), 0);
}

static int suite_init(void)
{
	g_th = brisk_thread_create("lvol_afail_ut", NULL);
	if (g_th == NULL) {
		return -1;
	}
	brisk_set_thread(g_th);
	g_image = calloc(1, DEV_BYTES);
	return g_image == NULL ? -1 : 0;
}

static int suite_fini(void)
{
	int rc;

	free(g_image);
	brisk_thread_exit(g_th);
	for (int i = 0; i < 1000 && !brisk_thread_is_exited(g_th); i++) {
		brisk_thread_poll(g_th, 0, 0);
	}
	rc = brisk_thread_is_exited(g_th) ? 0 : -1;
	brisk_set_thread(NULL);
	brisk_thread_destroy(g_th);
	return rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_lvs),
	BRISK_UT_TEST(test_lvol_life),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "lvol_alloc_fail", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "lvol_alloc_fail_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 4095 },
	.suites = g_ut_suites,
};
