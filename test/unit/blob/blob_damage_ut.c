/*
 * Damaged metadata is never served silently (issue 12, items 1-4), on the
 * RAM bs_dev: a damaged, zeroed or re-sequenced newest head on a clean
 * store flags the blob (degraded, read-only, reported by check) unless the
 * load asks for recovery; after a crash the fallback is repaired; a blob
 * with no readable version is reported missing and its clusters held until
 * it is deleted; garbage behind a valid super block is refused; a create
 * whose sync failed leaves no id behind for good.
 */
#include "bs_ut.h"
#include "../../common/ut_main.h"

static uint64_t sb_u64(const uint8_t *img, unsigned off)
{
	uint64_t v;

	memcpy(&v, img + off, 8);
	return v;
}

static uint8_t *head_slot(uint8_t *img, brisk_blob_id id, int slot)
{
	return img + (sb_u64(img, 80) + (id - 1) * 2 + (uint64_t)slot) * 4096;
}

/* The slot of id's head page with the highest seq (both checked intact). */
static int newest_slot(uint8_t *img, brisk_blob_id id)
{
	uint64_t s0, s1;

	memcpy(&s0, head_slot(img, id, 0) + BLOB_MDH_SEQ_OFF, 8);
	memcpy(&s1, head_slot(img, id, 1) + BLOB_MDH_SEQ_OFF, 8);
	return s1 > s0 ? 1 : 0;
}

static void pattern(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(seed + i * 13 + (i >> 10));
	}
}

static struct brisk_bs_stats stats(void)
{
	struct brisk_bs_stats st;

	CU_ASSERT_EQUAL(brisk_bs_get_stats(g_bs, &st), 0);
	return st;
}

/* A thin blob of 4 clusters; version 2 has cluster 0 (seed 1), version 3
 * cluster 1 too (seed 2): losing version 3 loses acknowledged data. Leaves
 * the store cleanly unloaded. */
static brisk_blob_id make_two_versions(uint8_t *img)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *buf = malloc(CLUSTER);
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	brisk_blob_id id;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	id = do_create(4, true);
	b = do_open(id);
	ch = brisk_bs_alloc_io_channel(g_bs);
	pattern(buf, CLUSTER, 1);
	CU_ASSERT_EQUAL(do_io(b, ch, true, buf, 0, UPC), 0);
	pattern(buf, CLUSTER, 2);
	CU_ASSERT_EQUAL(do_io(b, ch, true, buf, UPC, UPC), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(buf);
	return id;
}

/* The blob is flagged: degraded, read-only, counted, reported by check. */
static void expect_degraded(brisk_blob_id id)
{
	uint8_t buf[512] = { 0 };
	struct brisk_io_channel *ch;
	struct brisk_blob *b;

	CU_ASSERT_EQUAL(stats().damaged_blobs, 1);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(brisk_blob_is_degraded(b));
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_EQUAL(do_io(b, ch, true, buf, 0, 1), -EPERM);
	CU_ASSERT_EQUAL(do_resize(b, 8), -EPERM);
	CU_ASSERT_EQUAL(do_sync(b), -EPERM);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_check(), -EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, "damaged metadata"));
	CU_ASSERT_PTR_NULL(strstr(g_problems, "(leaked)"));
}

/* recover_damaged accepts the older version and makes it sound: a later
 * plain load sees a healthy store. */
static void expect_recovered(uint8_t *img, brisk_blob_id id)
{
	struct brisk_bs_opts o = small_opts();
	struct brisk_blob *b;

	o.recover_damaged = true;
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(stats().damaged_blobs, 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	o.recover_damaged = false;
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_FALSE(brisk_blob_is_degraded(b));
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static void test_clean_newest_head_damaged(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image();
	brisk_blob_id id = make_two_versions(img);

	/* One flipped byte in the newest head (bad CRC). */
	head_slot(img, id, newest_slot(img, id))[300] ^= 0x10;
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	expect_degraded(id);
	CU_ASSERT_EQUAL(do_unload(), 0);
	/* Still flagged at the next load: nothing was rewritten. */
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(stats().damaged_blobs, 1);
	CU_ASSERT_EQUAL(do_unload(), 0);
	expect_recovered(img, id);
	free(img);
}

static void test_clean_newest_head_zeroed(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image();
	brisk_blob_id id = make_two_versions(img);

	memset(head_slot(img, id, newest_slot(img, id)), 0, 4096);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	expect_degraded(id);
	CU_ASSERT_EQUAL(do_unload(), 0);
	expect_recovered(img, id);
	free(img);
}

/* A valid-CRC edit that makes the older version look newer. */
static void test_clean_seq_edit(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image();
	brisk_blob_id id = make_two_versions(img);
	int n = newest_slot(img, id);
	uint8_t *old = head_slot(img, id, 1 - n);
	uint64_t seq;

	memcpy(&seq, head_slot(img, id, n) + BLOB_MDH_SEQ_OFF, 8);
	seq += 1;
	memcpy(old + BLOB_MDH_SEQ_OFF, &seq, 8);
	reseal_page(old);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	expect_degraded(id);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

/* After a crash a torn newest head is normal: the load takes the older
 * version without flagging it (the write was never acknowledged), and
 * rewrites it so that the next clean load finds a sound pair. */
static void test_dirty_fallback_repaired(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image(), *dirty = new_image();
	brisk_blob_id id = make_two_versions(img);
	struct brisk_blob *b;

	CU_ASSERT_EQUAL(do_load(img, &o), 0); /* clean = 0 on disk from here */
	memcpy(dirty, img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_unload(), 0);
	memset(head_slot(dirty, id, newest_slot(dirty, id)) + 2048, 0, 2048); /* torn */
	CU_ASSERT_EQUAL(do_load(dirty, &o), 0);
	CU_ASSERT_EQUAL(stats().damaged_blobs, 0);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_FALSE(brisk_blob_is_degraded(b));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 1);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(dirty, &o), 0);
	CU_ASSERT_EQUAL(stats().damaged_blobs, 0);
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
	free(dirty);
}

/* Both slots of a thick blob zeroed on a dirty store: reported missing,
 * its clusters never handed out again until it is deleted. */
static void test_dirty_missing_blob(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image(), *dirty = new_image();
	brisk_blob_id a, c;
	uint64_t free_before;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	a = do_create(2, false);
	c = do_create(3, false);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	free_before = brisk_bs_free_cluster_count(g_bs);
	memcpy(dirty, img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_unload(), 0);
	memset(head_slot(dirty, a, 0), 0, 2 * 4096);

	CU_ASSERT_EQUAL(do_load(dirty, &o), 0);
	CU_ASSERT_EQUAL(stats().missing_blobs, 1);
	CU_ASSERT_EQUAL(stats().quarantined_clusters, 2);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before);
	CU_ASSERT_PTR_NULL(do_open(a));
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	CU_ASSERT_EQUAL(do_check(), -EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, "missing"));
	/* A clean unload and load keep it reported. */
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(dirty, &o), 0);
	CU_ASSERT_EQUAL(stats().missing_blobs, 1);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before);
	/* The user decides: delete releases the id and the held clusters. */
	CU_ASSERT_EQUAL(do_delete(a), 0);
	CU_ASSERT_EQUAL(stats().missing_blobs, 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before + 2);
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_PTR_NOT_NULL(do_open(c));
	CU_ASSERT_EQUAL(do_close(g_blob), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
	free(dirty);
}

/* A snapshot made after the last clean unload, both its slots zeroed: the
 * mask cannot name it, its clone does. */
static void test_dirty_missing_parent(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image(), *dirty = new_image();
	brisk_blob_id b, s;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	b = do_create(2, false);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	s = do_snapshot(b);
	CU_ASSERT_EQUAL(g_rc, 0);
	memcpy(dirty, img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_unload(), 0);
	memset(head_slot(dirty, s, 0), 0, 2 * 4096);

	CU_ASSERT_EQUAL(do_load(dirty, &o), 0);
	CU_ASSERT_EQUAL(stats().missing_blobs, 1);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, b), s);
	CU_ASSERT_EQUAL(do_check(), -EUCLEAN);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, "missing"));
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
	free(dirty);
}

/* The super block pages kept, masks and metadata region random. */
static void test_garbage_behind_super(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image(), *before = new_image();
	uint64_t md_end;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	do_create(2, false);
	do_create(1, true);
	CU_ASSERT_EQUAL(do_unload(), 0);
	md_end = (sb_u64(img, 80) + sb_u64(img, 88)) * 4096;
	srand(12);
	for (uint64_t i = 2 * 4096; i < md_end; i++) {
		img[i] = (uint8_t)rand();
	}
	memcpy(before, img, DEV_BYTES);
	/* Clean: the masks fail their CRC; refused, nothing written. */
	CU_ASSERT_EQUAL(do_load(img, &o), -EUCLEAN);
	CU_ASSERT_EQUAL(memcmp(before, img, DEV_BYTES), 0);
	/* Dirty: the rebuild finds no version where the super block promised
	 * some; refused the same way. */
	img[BLOB_SB_CLEAN_OFF] = 0;
	reseal_page(img);
	img[4096 + BLOB_SB_CLEAN_OFF] = 0;
	reseal_page(img + 4096);
	memcpy(before, img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_load(img, &o), -EUCLEAN);
	CU_ASSERT_EQUAL(memcmp(before, img, DEV_BYTES), 0);
	/* The user may accept an empty store. */
	o.recover_damaged = true;
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(stats().num_blobs, 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
	free(before);
}

/* A create whose metadata sync fails leaves no id behind for good. */
static void test_failed_create_settled(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image();
	struct brisk_blob_opts bo;
	uint64_t free0;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	do_create(1, false);
	free0 = brisk_bs_free_cluster_count(g_bs);
	brisk_blob_opts_init(&bo);
	bo.num_clusters = 2;
	brisk_bs_dev_ram_set_fail(g_last_dev, true);
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EIO);
	brisk_bs_dev_ram_set_fail(g_last_dev, false);
	CU_ASSERT_EQUAL(do_unload(), 0);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(do_load(img, &o), 0);
		CU_ASSERT_EQUAL(stats().num_blobs, 1);
		CU_ASSERT_EQUAL(stats().missing_blobs, 0);
		CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0);
		CU_ASSERT_EQUAL(do_check(), 0);
		CU_ASSERT_EQUAL(do_unload(), 0);
	}
	free(img);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_clean_newest_head_damaged),
	BRISK_UT_TEST(test_clean_newest_head_zeroed),
	BRISK_UT_TEST(test_clean_seq_edit),
	BRISK_UT_TEST(test_dirty_fallback_repaired),
	BRISK_UT_TEST(test_dirty_missing_blob),
	BRISK_UT_TEST(test_dirty_missing_parent),
	BRISK_UT_TEST(test_garbage_behind_super),
	BRISK_UT_TEST(test_failed_create_settled),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_damage_ut", bs_ut_suite_init, bs_ut_suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_damage_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
