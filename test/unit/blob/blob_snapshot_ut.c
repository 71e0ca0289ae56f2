/*
 * Snapshots/clones and store growth on the RAM bs_dev (threads polled by hand).
 *
 * Covers: clone of a read-only blob (relations queries, reads through the
 * parent, copy on first write leaving the parent intact, relations and data
 * after a clean and a dirty reload), delete refused while clones exist,
 * write/resize of the parent refused, bad input of clone/snapshot/inflate/
 * decouple/get_clones, growing a store onto a bigger device (persisted).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/blob.h>
#include <brisk/env.h>
#include <brisk/thread.h>

#include "../../common/test_env.h"

#define BLOCKLEN 512
#define DEV_BYTES (32ull * 1024 * 1024)
#define DEV_BLOCKS (DEV_BYTES / BLOCKLEN)
#define CLUSTER (1024 * 1024)
#define UPC (CLUSTER / BLOCKLEN) /* io units per cluster */

static struct brisk_thread *g_th[2];
static struct brisk_blob_store *g_bs;
static struct brisk_blob *g_blob;
static brisk_blob_id g_id;
static int g_rc;
static int g_done;

/* ---- Plumbing ---- */

static void poll_all(void)
{
	int busy;

	do {
		busy = 0;
		for (int i = 1; i >= 0; i--) {
			busy += brisk_thread_poll(g_th[i], 0, 0);
		}
	} while (busy > 0);
	brisk_set_thread(g_th[0]);
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

static void blob_cb(void *arg, struct brisk_blob *blob, int rc)
{
	(void)arg;
	g_blob = blob;
	g_rc = rc;
	g_done++;
}

/* Runs what was started and checks exactly one completion came. */
static int finish(void)
{
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, 1);
	return g_rc;
}

static struct brisk_bs_opts small_opts(void)
{
	struct brisk_bs_opts o;

	brisk_bs_opts_init(&o);
	o.cluster_sz = CLUSTER;
	o.num_md_pages = 128; /* 32 ids, 64 chain pages */
	memcpy(o.bstype.bstype, "brisk_ut", 8);
	return o;
}

static struct brisk_bs_dev *g_last_dev;

static int do_init(uint8_t *image, const struct brisk_bs_opts *o)
{
	struct brisk_bs_dev *dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, image);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	g_last_dev = dev;
	g_bs = NULL;
	brisk_bs_init(dev, o, bs_cb, NULL);
	return finish();
}

static int do_load(uint8_t *image, const struct brisk_bs_opts *o)
{
	struct brisk_bs_dev *dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, image);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	g_last_dev = dev;
	g_bs = NULL;
	brisk_bs_load(dev, o, bs_cb, NULL);
	return finish();
}

static int do_unload(void)
{
	brisk_bs_unload(g_bs, op_cb, NULL);
	return finish();
}

static brisk_blob_id do_create(uint64_t clusters, bool thin)
{
	struct brisk_blob_opts o;

	brisk_blob_opts_init(&o);
	o.num_clusters = clusters;
	o.thin_provision = thin;
	g_id = BRISK_BLOBID_INVALID;
	brisk_bs_create_blob_ext(g_bs, &o, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	return g_id;
}

static struct brisk_blob *do_open(brisk_blob_id id)
{
	g_blob = NULL;
	brisk_bs_open_blob(g_bs, id, blob_cb, NULL);
	finish();
	return g_blob;
}

static int do_close(struct brisk_blob *b)
{
	brisk_blob_close(b, op_cb, NULL);
	return finish();
}

static int do_resize(struct brisk_blob *b, uint64_t n)
{
	brisk_blob_resize(b, n, op_cb, NULL);
	return finish();
}

static int do_sync(struct brisk_blob *b)
{
	brisk_blob_sync_md(b, op_cb, NULL);
	return finish();
}

static int do_delete(brisk_blob_id id)
{
	brisk_bs_delete_blob(g_bs, id, op_cb, NULL);
	return finish();
}

static int do_io(struct brisk_blob *b, struct brisk_io_channel *ch, bool write, void *buf,
		 uint64_t off, uint64_t len)
{
	if (write) {
		brisk_blob_io_write(b, ch, buf, off, len, op_cb, NULL);
	} else {
		brisk_blob_io_read(b, ch, buf, off, len, op_cb, NULL);
	}
	return finish();
}

static brisk_blob_id do_clone(brisk_blob_id snap)
{
	g_id = BRISK_BLOBID_INVALID;
	brisk_bs_create_clone(g_bs, snap, NULL, id_cb, NULL);
	g_rc = finish();
	return g_id;
}

/* Byte pattern of cluster c of generation gen. */
static void fill(uint8_t *buf, uint64_t len, int c, int gen)
{
	for (uint64_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(c * 31 + gen * 7 + i % 251);
	}
}

static bool cluster_is(struct brisk_blob *b, struct brisk_io_channel *ch, int c, int gen)
{
	uint8_t *got = brisk_dma_zmalloc(CLUSTER, 4096, NULL), *want = malloc(CLUSTER);
	bool ok;

	fill(want, CLUSTER, c, gen);
	ok = do_io(b, ch, false, got, (uint64_t)c * UPC, UPC) == 0 && memcmp(got, want, CLUSTER) == 0;
	brisk_free(got);
	free(want);
	return ok;
}

/* A thick 4-cluster blob with generation 1 data, made read-only. */
static brisk_blob_id make_parent(struct brisk_io_channel *ch)
{
	brisk_blob_id id = do_create(4, false);
	struct brisk_blob *b = do_open(id);
	uint8_t *buf = brisk_dma_zmalloc(CLUSTER, 4096, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int c = 0; c < 4; c++) {
		fill(buf, CLUSTER, c, 1);
		CU_ASSERT_EQUAL(do_io(b, ch, true, buf, (uint64_t)c * UPC, UPC), 0);
	}
	brisk_free(buf);
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	return id;
}

static void check_relations(brisk_blob_id snap, brisk_blob_id clone)
{
	brisk_blob_id ids[4] = { 0 };
	size_t n = 4;

	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, clone), snap);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, snap), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, snap, ids, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(ids[0], clone);
	n = 0;
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, snap, NULL, &n), -ENOMEM);
	CU_ASSERT_EQUAL(n, 1);
	n = 4;
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, clone, ids, &n), 0);
	CU_ASSERT_EQUAL(n, 0);
}

/* The clone reads the parent, a first write copies the parent's cluster,
 * the parent stays intact; everything survives clean and dirty reloads. */
static void test_clone(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES), *dirty = malloc(DEV_BYTES);
	uint8_t *buf = brisk_dma_zmalloc(CLUSTER, 4096, NULL);
	struct brisk_io_channel *ch;
	struct brisk_blob *snap, *clone;
	brisk_blob_id sid, cid;
	uint64_t free_before;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	sid = make_parent(ch);
	free_before = brisk_bs_free_cluster_count(g_bs);
	cid = do_clone(sid);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before); /* thin */
	check_relations(sid, cid);

	clone = do_open(cid);
	snap = do_open(sid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	CU_ASSERT_PTR_NOT_NULL_FATAL(snap);
	CU_ASSERT_TRUE(brisk_blob_is_clone(clone));
	CU_ASSERT_FALSE(brisk_blob_is_snapshot(clone));
	CU_ASSERT_TRUE(brisk_blob_is_snapshot(snap));
	CU_ASSERT_FALSE(brisk_blob_is_clone(snap));
	CU_ASSERT_TRUE(brisk_blob_is_thin_provisioned(clone));
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(clone), 4);
	for (int c = 0; c < 4; c++) {
		CU_ASSERT_TRUE(cluster_is(clone, ch, c, 1));
	}
	/* The parent refuses writes and resizes. */
	CU_ASSERT_EQUAL(do_io(snap, ch, true, buf, 0, 1), -EPERM);
	CU_ASSERT_EQUAL(do_resize(snap, 8), -EPERM);

	/* First write of 1 io unit into cluster 2: the rest is the parent's. */
	memset(buf, 0xAB, BLOCKLEN);
	CU_ASSERT_EQUAL(do_io(clone, ch, true, buf, 2 * UPC + 5, 1), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before - 1);
	CU_ASSERT_EQUAL(do_io(clone, ch, false, buf, 2 * UPC, UPC), 0);
	{
		uint8_t *want = malloc(CLUSTER);

		fill(want, CLUSTER, 2, 1);
		memset(want + 5 * BLOCKLEN, 0xAB, BLOCKLEN);
		CU_ASSERT_EQUAL(memcmp(buf, want, CLUSTER), 0);
		free(want);
	}
	CU_ASSERT_TRUE(cluster_is(snap, ch, 2, 1));
	/* A whole-cluster overwrite of cluster 0. */
	fill(buf, CLUSTER, 0, 2);
	CU_ASSERT_EQUAL(do_io(clone, ch, true, buf, 0, UPC), 0);
	CU_ASSERT_TRUE(cluster_is(clone, ch, 0, 2));
	CU_ASSERT_TRUE(cluster_is(snap, ch, 0, 1));

	/* Delete: refused while open, refused for a parent with a clone. */
	CU_ASSERT_EQUAL(do_close(snap), 0);
	CU_ASSERT_EQUAL(do_delete(sid), -EBUSY);
	CU_ASSERT_EQUAL(do_close(clone), 0);
	CU_ASSERT_EQUAL(do_delete(sid), -EBUSY);

	/* A dirty image (copy while in use) and a clean reload. */
	memcpy(dirty, image, DEV_BYTES);
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	for (int pass = 0; pass < 2; pass++) {
		CU_ASSERT_EQUAL_FATAL(do_load(pass == 0 ? image : dirty, &o), 0);
		ch = brisk_bs_alloc_io_channel(g_bs);
		check_relations(sid, cid);
		clone = do_open(cid);
		CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
		CU_ASSERT_TRUE(cluster_is(clone, ch, 0, 2));
		CU_ASSERT_TRUE(cluster_is(clone, ch, 1, 1));
		CU_ASSERT_TRUE(cluster_is(clone, ch, 3, 1));
		CU_ASSERT_EQUAL(do_close(clone), 0);
		CU_ASSERT_EQUAL(do_delete(sid), -EBUSY);
		if (pass == 1) {
			/* Clone gone: the parent has no clone left and may go. */
			CU_ASSERT_EQUAL(do_delete(cid), 0);
			CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, cid), BRISK_BLOBID_INVALID);
			CU_ASSERT_EQUAL(do_delete(sid), 0);
		}
		brisk_bs_free_io_channel(ch);
		poll_all();
		CU_ASSERT_EQUAL(do_unload(), 0);
	}
	brisk_free(buf);
	free(image);
	free(dirty);
}

static void test_bad_input(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES);
	struct brisk_io_channel *ch;
	brisk_blob_id plain, sid, cid;
	size_t n = 4;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	plain = do_create(2, false);
	sid = make_parent(ch);
	/* Clone: of a writable blob, bad id, unused id. */
	CU_ASSERT_EQUAL(do_clone(plain), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_EQUAL(do_clone(0), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_EQUAL(do_clone(1000000), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_EQUAL(do_clone(20), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	/* Snapshot: bad ids; the operation itself is not in this build. */
	brisk_bs_create_snapshot(g_bs, 0, NULL, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_bs_create_snapshot(g_bs, 20, NULL, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -ENOENT);
	brisk_bs_create_snapshot(g_bs, plain, NULL, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -ENOTSUP);
	/* Inflate / decouple: no parent, bad id, NULL channel. */
	brisk_bs_inflate_blob(g_bs, ch, plain, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_bs_blob_decouple_parent(g_bs, ch, 0, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	cid = do_clone(sid);
	CU_ASSERT_EQUAL(g_rc, 0);
	brisk_bs_inflate_blob(g_bs, NULL, cid, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	/* Queries. */
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, 0), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(NULL, cid), BRISK_BLOBID_INVALID);
	n = 0;
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, 20, NULL, &n), -ENOENT);
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, sid, NULL, NULL), -EINVAL);
	CU_ASSERT_FALSE(brisk_blob_is_clone(NULL));
	CU_ASSERT_FALSE(brisk_blob_is_snapshot(NULL));
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(image);
}

/* The device doubles: grow uses it, and the size survives a reload. */
static void test_grow(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, 2 * DEV_BYTES);
	struct brisk_bs_dev *dev;
	uint64_t before;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	dev = g_last_dev;
	before = brisk_bs_total_data_cluster_count(g_bs);
	brisk_bs_grow_live(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0); /* nothing new */
	CU_ASSERT_EQUAL(brisk_bs_total_data_cluster_count(g_bs), before);
	dev->blockcnt = 2 * DEV_BLOCKS; /* the RAM image is that big */
	brisk_bs_grow_live(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(brisk_bs_total_data_cluster_count(g_bs), before + DEV_BYTES / CLUSTER);
	brisk_bs_grow_live(NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	CU_ASSERT_EQUAL(do_unload(), 0);
	dev = brisk_bs_dev_ram_create(2 * DEV_BLOCKS, BLOCKLEN, image);
	g_bs = NULL;
	brisk_bs_load(dev, &o, bs_cb, NULL);
	CU_ASSERT_EQUAL_FATAL(finish(), 0);
	CU_ASSERT_EQUAL(brisk_bs_total_data_cluster_count(g_bs), before + DEV_BYTES / CLUSTER);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(image);
}
static int suite_init(void)
{
	g_th[0] = brisk_thread_create("md", NULL);
	g_th[1] = brisk_thread_create("io", NULL);
	if (g_th[0] == NULL || g_th[1] == NULL) {
		return -1;
	}
	brisk_set_thread(g_th[0]);
	return 0;
}

static int suite_fini(void)
{
	int rc = 0;

	for (int i = 0; i < 2; i++) {
		brisk_set_thread(g_th[i]);
		brisk_thread_exit(g_th[i]);
		for (int j = 0; j < 100 && !brisk_thread_is_exited(g_th[i]); j++) {
			brisk_thread_poll(g_th[i], 0, 0);
		}
		if (!brisk_thread_is_exited(g_th[i])) {
			rc = -1;
		}
		brisk_set_thread(NULL);
		brisk_thread_destroy(g_th[i]);
	}
	return rc;
}

int main(void)
{
	struct brisk_thread_lib_opts opts = { .msg_pool_size = 65535 };
	CU_pSuite suite;
	unsigned failures;
	int rc;

	rc = brisk_test_env_init("blob_snapshot_ut", "0x1", 64);
	if (rc != 0) {
		fprintf(stderr, "env init failed: %d\n", rc);
		return 1;
	}
	rc = brisk_thread_lib_init_ext(&opts);
	if (rc != 0) {
		fprintf(stderr, "thread lib init failed: %d\n", rc);
		return 1;
	}
	CU_initialize_registry();
	suite = CU_add_suite("blob_snapshot", suite_init, suite_fini);
	CU_ADD_TEST(suite, test_clone);
	CU_ADD_TEST(suite, test_bad_input);
	CU_ADD_TEST(suite, test_grow);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	if (brisk_thread_get_count() != 0) {
		fprintf(stderr, "%u threads left behind\n", brisk_thread_get_count());
		failures++;
	}
	brisk_thread_lib_fini();
	brisk_env_fini();
	return failures ? 1 : 0;
}
