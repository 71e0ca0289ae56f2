/*
 * Crash points of the relation operations: snapshot, clone, inflate,
 * decouple, the delete of a snapshot into its clone, and a chain of them.
 * Each sequence runs once to count its writes W; then for every k in 0..W
 * (writes dropped from k on, or write k torn) the store is loaded again and
 * must hold: the store loads; the masks match what the blobs own; every
 * blob reads exactly the data it read before the operation (these
 * operations never change what a blob reads); relations are either the old
 * or the new ones; with no write lost, the new ones.
 */
#include "bs_ut.h"
#include "../../common/ut_main.h"

static uint8_t *g_buf;  /* one cluster, DMA-able */
static uint8_t *g_want; /* one cluster */
static struct brisk_io_channel *g_ch;

/* Byte pattern of cluster c of generation gen (0: zeroes). */
static void fill(uint8_t *buf, int c, int gen)
{
	for (uint64_t i = 0; i < CLUSTER; i++) {
		buf[i] = gen == 0 ? 0 : (uint8_t)(c * 31 + gen * 7 + i % 251);
	}
}

static void write_gen(struct brisk_blob *b, int c, int gen)
{
	fill(g_buf, c, gen);
	CU_ASSERT_EQUAL(do_io(b, g_ch, true, g_buf, (uint64_t)c * UPC, UPC), 0);
}

/* Opens id and checks that each cluster c reads generation gens[c]. */
static void expect_data(brisk_blob_id id, const int *gens, int n)
{
	struct brisk_blob *b = do_open(id);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), (uint64_t)n);
	for (int c = 0; c < n; c++) {
		fill(g_want, c, gens[c]);
		CU_ASSERT_EQUAL(do_io(b, g_ch, false, g_buf, (uint64_t)c * UPC, UPC), 0);
		if (memcmp(g_buf, g_want, CLUSTER) != 0) {
			CU_FAIL("a cluster reads other data than before the operation");
			fprintf(stderr, "blob 0x%lx cluster %d is not generation %d\n", id, c, gens[c]);
		}
	}
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static uint64_t clones_of(brisk_blob_id id)
{
	size_t n = 0;
	int rc = brisk_blob_get_clones(g_bs, id, NULL, &n);

	CU_ASSERT(rc == 0 || rc == -ENOMEM);
	return n;
}

static void channel_open(void)
{
	g_ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_ch);
}

static void channel_close(void)
{
	brisk_bs_free_io_channel(g_ch);
	poll_all();
	g_ch = NULL;
}

/* Blob ids of the case; which ones exist after a crash is checked. */
static brisk_blob_id g_a, g_b, g_c;

/* A thick 3-cluster blob: generations 1, 2, 3. */
static const int g_base[3] = { 1, 2, 3 };

static brisk_blob_id make_data_blob(void)
{
	brisk_blob_id id = do_create(3, false);
	struct brisk_blob *b = do_open(id);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int c = 0; c < 3; c++) {
		write_gen(b, c, g_base[c]);
	}
	CU_ASSERT_EQUAL(do_close(b), 0);
	return id;
}

/* ---- Snapshot of an open blob ---- */

static void prep_data(void)
{
	channel_open();
	g_a = make_data_blob();
	channel_close();
}

static void run_snapshot(void)
{
	struct brisk_blob *b = do_open(g_a);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	g_b = do_snapshot(g_a);
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_snapshot(bool complete)
{
	uint64_t n = check_masks();

	channel_open();
	CU_ASSERT(n == 1 || n == 2);
	CU_ASSERT(!complete || n == 2);
	expect_data(g_a, g_base, 3);
	if (n == 2) {
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_a), g_b);
		expect_data(g_b, g_base, 3);
	} else {
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_a), BRISK_BLOBID_INVALID);
	}
	channel_close();
}

/* ---- Clone of a snapshot ---- */

static void prep_snapshot(void)
{
	prep_data();
	g_b = do_snapshot(g_a);
	CU_ASSERT_EQUAL(g_rc, 0);
}

static void run_clone(void)
{
	g_c = do_clone(g_b);
	CU_ASSERT_EQUAL(g_rc, 0);
}

static void verify_clone(bool complete)
{
	uint64_t n = check_masks();

	channel_open();
	CU_ASSERT(n == 2 || n == 3);
	CU_ASSERT(!complete || n == 3);
	CU_ASSERT_EQUAL(clones_of(g_b), n - 1);
	expect_data(g_a, g_base, 3);
	expect_data(g_b, g_base, 3);
	if (n == 3) {
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_c), g_b);
		expect_data(g_c, g_base, 3);
	}
	channel_close();
}

/* ---- Inflate and decouple ---- */

/* A (snapshot of the data) <- B: B wrote cluster 1 (generation 5). */
static const int g_after[3] = { 1, 5, 3 };

static void prep_written_clone(void)
{
	struct brisk_blob *b;

	prep_data();
	g_b = g_a;
	g_a = do_snapshot(g_b);
	CU_ASSERT_EQUAL(g_rc, 0);
	channel_open();
	b = do_open(g_b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	write_gen(b, 1, 5);
	CU_ASSERT_EQUAL(do_close(b), 0);
	channel_close();
}

static void run_inflate(void)
{
	channel_open();
	CU_ASSERT_EQUAL(do_inflate(g_ch, g_b), 0);
	channel_close();
}

static void verify_inflate(bool complete)
{
	brisk_blob_id parent;

	CU_ASSERT_EQUAL(check_masks(), 2);
	channel_open();
	expect_data(g_a, g_base, 3);
	expect_data(g_b, g_after, 3);
	parent = brisk_blob_get_parent_snapshot(g_bs, g_b);
	CU_ASSERT(parent == g_a || parent == BRISK_BLOBID_INVALID);
	CU_ASSERT(!complete || parent == BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(clones_of(g_a), parent == g_a ? 1 : 0);
	channel_close();
}

/* G (the data) <- A (cluster 0 generation 6) <- B (cluster 1 generation 5). */
static brisk_blob_id g_g;
static const int g_mid[3] = { 6, 2, 3 };
static const int g_top[3] = { 6, 5, 3 };

static void prep_chain(void)
{
	struct brisk_blob *b;

	prep_data();
	g_b = g_a;
	g_g = do_snapshot(g_b);
	CU_ASSERT_EQUAL(g_rc, 0);
	channel_open();
	b = do_open(g_b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	write_gen(b, 0, 6);
	CU_ASSERT_EQUAL(do_close(b), 0);
	g_a = do_snapshot(g_b);
	CU_ASSERT_EQUAL(g_rc, 0);
	b = do_open(g_b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	write_gen(b, 1, 5);
	CU_ASSERT_EQUAL(do_close(b), 0);
	channel_close();
}

static void run_decouple(void)
{
	channel_open();
	CU_ASSERT_EQUAL(do_decouple(g_ch, g_b), 0);
	channel_close();
}

static void verify_decouple(bool complete)
{
	brisk_blob_id parent;

	CU_ASSERT_EQUAL(check_masks(), 3);
	channel_open();
	expect_data(g_g, g_base, 3);
	expect_data(g_a, g_mid, 3);
	expect_data(g_b, g_top, 3);
	parent = brisk_blob_get_parent_snapshot(g_bs, g_b);
	CU_ASSERT(parent == g_a || parent == g_g);
	CU_ASSERT(!complete || parent == g_g);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_a), g_g);
	channel_close();
}

/* ---- Delete of a snapshot with one clone ---- */

static void run_delete_snapshot(void)
{
	CU_ASSERT_EQUAL(do_delete(g_a), 0);
}

static void verify_delete_snapshot(bool complete)
{
	uint64_t n = check_masks();

	channel_open();
	CU_ASSERT(n == 1 || n == 2);
	CU_ASSERT(!complete || n == 1);
	expect_data(g_b, g_after, 3);
	if (n == 2) {
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_b), g_a);
		expect_data(g_a, g_base, 3);
	} else {
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_b), BRISK_BLOBID_INVALID);
	}
	channel_close();
}

/* The middle of a chain: A's clusters pass to B, B's parent becomes G. */
static void verify_delete_middle(bool complete)
{
	uint64_t n = check_masks();
	brisk_blob_id parent;

	channel_open();
	CU_ASSERT(n == 2 || n == 3);
	CU_ASSERT(!complete || n == 2);
	expect_data(g_g, g_base, 3);
	expect_data(g_b, g_top, 3);
	parent = brisk_blob_get_parent_snapshot(g_bs, g_b);
	CU_ASSERT_EQUAL(parent, n == 3 ? g_a : g_g);
	if (n == 3) {
		expect_data(g_a, g_mid, 3);
	}
	channel_close();
}

/* ---- A sequence: snapshot, write, snapshot, write, delete the older ---- */


static void run_sequence(void)
{
	struct brisk_blob *b = do_open(g_a);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	channel_open();
	g_b = do_snapshot(g_a);
	CU_ASSERT_EQUAL(g_rc, 0);
	write_gen(b, 0, 7);
	g_c = do_snapshot(g_a);
	CU_ASSERT_EQUAL(g_rc, 0);
	write_gen(b, 1, 8);
	CU_ASSERT_EQUAL(do_delete(g_b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	channel_close();
}

/* Each io unit of A's cluster c reads generation old or new; true when
 * all of it reads new. (A torn data write may land part of its blocks.) */
static bool cluster_old_or_new(struct brisk_blob *b, int c, int old, int new)
{
	uint8_t *o = malloc(CLUSTER);
	bool all_new = true;

	fill(o, c, old);
	fill(g_want, c, new);
	CU_ASSERT_EQUAL(do_io(b, g_ch, false, g_buf, (uint64_t)c * UPC, UPC), 0);
	for (uint64_t i = 0; i < CLUSTER; i += BLOCKLEN) {
		bool is_new = memcmp(g_buf + i, g_want + i, BLOCKLEN) == 0;

		CU_ASSERT(is_new || memcmp(g_buf + i, o + i, BLOCKLEN) == 0);
		all_new = all_new && is_new;
	}
	free(o);
	return all_new;
}

static bool blob_exists(brisk_blob_id id)
{
	struct brisk_blob *b = do_open(id);

	if (b == NULL) {
		CU_ASSERT_EQUAL(g_rc, -ENOENT);
		return false;
	}
	CU_ASSERT_EQUAL(do_close(b), 0);
	return true;
}

/* The snapshots that exist hold what A held when they were taken: the
 * writes before them had completed, so a durable snapshot implies durable
 * data before it (writes reach the device in order). */
static void verify_sequence(bool complete)
{
	static const int first[3] = { 1, 2, 3 }, second[3] = { 7, 2, 3 };
	uint64_t n = check_masks();
	bool b_there, c_there, new0, new1;
	struct brisk_blob *a;

	channel_open();
	CU_ASSERT(n >= 1 && n <= 3);
	a = do_open(g_a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	new0 = cluster_old_or_new(a, 0, 1, 7);
	new1 = cluster_old_or_new(a, 1, 2, 8);
	fill(g_want, 2, 3);
	CU_ASSERT_EQUAL(do_io(a, g_ch, false, g_buf, 2 * UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(g_buf, g_want, CLUSTER), 0);
	CU_ASSERT_EQUAL(do_close(a), 0);
	b_there = blob_exists(g_b);
	c_there = blob_exists(g_c);
	CU_ASSERT_EQUAL(n, 1 + b_there + c_there);
	if (b_there) {
		expect_data(g_b, first, 3);
	}
	if (c_there) {
		CU_ASSERT(new0);
		expect_data(g_c, second, 3);
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_a), g_c);
	}
	if (complete) {
		CU_ASSERT(new0 && new1 && c_there && !b_there);
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_c), BRISK_BLOBID_INVALID);
	}
	channel_close();
}

/* ---- Runner ---- */

static void test_crash_points(void)
{
	static const struct crash_case cases[] = {
		{ "snapshot of an open blob", prep_data, run_snapshot, verify_snapshot },
		{ "clone of a snapshot", prep_snapshot, run_clone, verify_clone },
		{ "inflate of a written clone", prep_written_clone, run_inflate, verify_inflate },
		{ "decouple from the middle of a chain", prep_chain, run_decouple, verify_decouple },
		{ "delete of a snapshot into its clone", prep_written_clone, run_delete_snapshot,
		  verify_delete_snapshot },
		{ "delete of the middle of a chain", prep_chain, run_delete_snapshot,
		  verify_delete_middle },
		{ "snapshot, write, snapshot, write, delete", prep_data, run_sequence,
		  verify_sequence },
	};

	g_buf = brisk_dma_zmalloc(CLUSTER, 4096, NULL);
	g_want = malloc(CLUSTER);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_buf);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_want);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned before = g_crash_points;

		crash_case_run(&cases[i]);
		printf("\n  %-45s %4u crash points", cases[i].name, g_crash_points - before);
	}
	printf("\n  crash points tried: %u\n", g_crash_points);
	brisk_free(g_buf);
	free(g_want);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_crash_points),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_snapshot_crash_ut", bs_ut_suite_init, bs_ut_suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_snapshot_crash_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
