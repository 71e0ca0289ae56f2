/*
 * brisk_bs_check and brisk_bs_dump on the RAM bs_dev, threads polled by hand.
 *
 * Covers: check passes on stores built through the API (clean and dirty
 * load), refuses a busy store and bad arguments, and reports a damaged head
 * (id used without a version, leaked clusters), a used cluster marked free
 * in a mask whose CRC was fixed up, and a parent that is not read-only; dump
 * prints both super block copies and every version along its chain, writes
 * nothing, says "no store" on an empty device, and never crashes on a store
 * whose metadata pages were overwritten or bit-flipped (CRC fixed up or not),
 * nor does load + check on the same images.
 */
#include "bs_ut.h"
#include "../../common/ut_main.h"

#define PAGE 4096
#define FUZZ_ROUNDS 300

static int init_store(uint8_t *img)
{
	struct brisk_bs_opts o = small_opts();

	return do_init(img, &o);
}

static int load_store(uint8_t *img)
{
	return do_load(img, NULL);
}

/* Dumps img into a malloc'ed string (*out); the dump's rc. */
static int do_dump(uint8_t *img, char **out)
{
	size_t len;
	FILE *f = open_memstream(out, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	brisk_bs_dump(brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, img), f, op_cb, NULL);
	finish();
	fclose(f);
	return g_rc;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static uint8_t *head_slot(uint8_t *img, brisk_blob_id id, int slot)
{
	return img + (le64(img + BLOB_SB_MD_START_OFF) + (id - 1) * 2 + (uint64_t)slot) * PAGE;
}

/* The slot holding a blob's newest valid head (its seq is the higher). */
static int newest_slot(uint8_t *img, brisk_blob_id id)
{
	uint64_t seq[2];

	for (int s = 0; s < 2; s++) {
		uint8_t *p = head_slot(img, id, s);
		uint32_t crc;

		memcpy(&crc, p + BLOB_PAGE_CRC_OFF, 4);
		seq[s] = memcmp(p, "BKMD", 4) == 0 && crc == brisk_crc32c(p, BLOB_PAGE_CRC_OFF) &&
			 le64(p + BLOB_MDH_BLOBID_OFF) == id ? le64(p + BLOB_MDH_SEQ_OFF) : 0;
	}
	return seq[1] > seq[0] ? 1 : 0;
}

/* A store with a thick blob with an xattr, a thin blob with one written
 * cluster and an xattr spread over three pages, a read-only blob and its
 * clone; left loaded in g_bs. Returns the read-only blob's id. */
static brisk_blob_id build_store(uint8_t *img, brisk_blob_id *clone)
{
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	brisk_blob_id thick, thin, ro;
	char big[3000];
	uint8_t *buf;

	CU_ASSERT_EQUAL_FATAL(init_store(img), 0);
	thick = do_create(3, false);
	thin = do_create(5, true);
	ro = do_create(2, false);
	b = do_open(thick);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "name", "thick", 5), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	b = do_open(thin);
	memset(big, 'x', sizeof(big));
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "big1", big, sizeof(big)), 0);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "big2", big, sizeof(big)), 0);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "big3", big, sizeof(big)), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	buf = brisk_dma_malloc(CLUSTER, PAGE, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	memset(buf, 0x5a, CLUSTER);
	brisk_blob_io_write(b, ch, buf, 2 * CLUSTER / BLOCKLEN, CLUSTER / BLOCKLEN, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	brisk_free(buf);
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_close(b), 0);
	b = do_open(ro);
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	brisk_bs_create_clone(g_bs, ro, NULL, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	*clone = g_id;
	return ro;
}

/* ---- check ---- */

static void test_check_good(void)
{
	uint8_t *img = new_image(), *copy = new_image();
	brisk_blob_id clone;

	build_store(img, &clone);
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(g_num_problems, 0);
	/* The image as a crash would leave it: loaded, never unloaded. */
	memcpy(copy, img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_unload(), 0);

	CU_ASSERT_EQUAL(load_store(img), 0); /* clean: masks from disk */
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(g_num_problems, 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	CU_ASSERT_EQUAL(load_store(copy), 0); /* dirty: masks rebuilt */
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(g_num_problems, 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
	free(copy);
}

static void test_check_bad_args(void)
{
	uint8_t *img = new_image();
	struct brisk_blob *b;
	brisk_blob_id id;

	/* Errors come through the callback, never inside the call. */
	g_done = 0;
	brisk_bs_check(NULL, check_report, NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(g_done, 0);
	CU_ASSERT_EQUAL(finish(), -EINVAL);

	CU_ASSERT_EQUAL(init_store(img), 0);
	id = do_create(1, false);
	b = do_open(id);
	CU_ASSERT_EQUAL(do_check(), -EBUSY);
	CU_ASSERT_EQUAL(do_close(b), 0);
	/* A NULL report is allowed: only the verdict comes back. */
	brisk_bs_check(g_bs, NULL, NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

static void test_check_damaged_head(void)
{
	uint8_t *img = new_image();
	brisk_blob_id a, c;

	CU_ASSERT_EQUAL(init_store(img), 0);
	a = do_create(2, false); /* created only: slot 0 is its one version */
	c = do_create(3, false);
	CU_ASSERT_EQUAL(do_unload(), 0);
	memset(head_slot(img, a, 0) + 100, 0xee, 200);

	/* A clean load trusts the masks: a is missing, its id and clusters stay
	 * used (held for it, not leaked). */
	CU_ASSERT_EQUAL(load_store(img), 0);
	CU_ASSERT_EQUAL(do_check(), -EUCLEAN);
	CU_ASSERT_EQUAL(g_num_problems, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, "blob 0x1 is missing: marked in use but has no "
					       "valid"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, "2 cluster(s) marked used belong to no readable "
					       "blob: held"));
	CU_ASSERT_PTR_NULL(strstr(g_problems, "0x2")); /* c is fine */
	CU_ASSERT_EQUAL(c, 2);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

/* Clears cluster bit of the on-disk cluster mask and fixes every CRC, as
 * a buggy writer would leave it. */
static void clear_cluster_bit(uint8_t *img, uint64_t cluster)
{
	uint64_t nbits = le64(img + BLOB_SB_SIZE_OFF) / CLUSTER;
	uint64_t start = le64(img + BLOB_SB_CLUSTER_MASK_OFF + BLOB_MASK_LOC_START_OFF);
	uint8_t *mask = img + start * PAGE;
	uint32_t crc;

	mask[cluster / 8] &= (uint8_t)~(1u << (cluster % 8));
	crc = brisk_crc32c(mask, (nbits + 7) / 8);
	for (int copy = 0; copy < 2; copy++) {
		memcpy(img + copy * PAGE + 136, &crc, 4);
		reseal_page(img + copy * PAGE);
	}
}

static void test_check_mask_mismatch(void)
{
	uint8_t *img = new_image();
	brisk_blob_id a;
	struct brisk_blob *b;
	uint64_t first;

	CU_ASSERT_EQUAL(init_store(img), 0);
	a = do_create(2, false);
	CU_ASSERT_EQUAL(do_unload(), 0);
	/* a's first cluster: the EXTENT_RUN after the BLOB descriptor. */
	CU_ASSERT_EQUAL(head_slot(img, a, 0)[UT_FIRST_RUN_OFF + BLOB_DESC_TYPE_OFF], BLOB_DESC_EXTENT_RUN);
	first = le64(head_slot(img, a, 0) + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_FIRST_OFF);
	clear_cluster_bit(img, first);

	/* The load sees it too: the blob is flagged (its cluster could have
	 * been handed out) and opens degraded. */
	CU_ASSERT_EQUAL(load_store(img), 0);
	b = do_open(a);
	CU_ASSERT_PTR_NOT_NULL(b);
	CU_ASSERT_TRUE(brisk_blob_is_degraded(b));
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_check(), -EUCLEAN);
	CU_ASSERT_EQUAL(g_num_problems, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, "blob 0x1 has damaged metadata"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, "is marked free: it could be handed out again"));
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

static void test_check_parent_not_read_only(void)
{
	uint8_t *img = new_image();
	brisk_blob_id ro, clone;
	uint8_t *p;
	uint32_t flags;
	char want[96];

	ro = build_store(img, &clone);
	CU_ASSERT_EQUAL(do_unload(), 0);
	/* Clear the read-only flag of the parent's current head, CRC fixed. */
	p = head_slot(img, ro, newest_slot(img, ro));
	CU_ASSERT_EQUAL(p[UT_BLOB_DESC_OFF + BLOB_DESC_TYPE_OFF], BLOB_DESC_BLOB);
	memcpy(&flags, p + UT_BLOB_DESC_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_DB_FLAGS_OFF, 4);
	CU_ASSERT_EQUAL(flags & 2, 2);
	flags &= ~2u;
	memcpy(p + UT_BLOB_DESC_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_DB_FLAGS_OFF, &flags, 4);
	reseal_page(p);

	CU_ASSERT_EQUAL(load_store(img), 0);
	CU_ASSERT_EQUAL(do_check(), -EUCLEAN);
	snprintf(want, sizeof(want), "blob 0x%lx names parent 0x%lx, which is not read-only",
		 (unsigned long)clone, (unsigned long)ro);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_problems, want));
	CU_ASSERT_EQUAL(g_num_problems, 1);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

/* ---- dump ---- */

static void test_dump_good(void)
{
	uint8_t *img = new_image(), *copy = new_image();
	brisk_blob_id clone, ro;
	char *out = NULL, want[64];

	ro = build_store(img, &clone);
	CU_ASSERT_EQUAL(do_unload(), 0);
	memcpy(copy, img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_dump(img, &out), 0);
	CU_ASSERT_EQUAL(memcmp(copy, img, DEV_BYTES), 0); /* read only */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Super block copy A (page 0): valid"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Super block copy B (page 1): valid"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "cluster size 1048576"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "XATTR name = \"thick\" (5 bytes)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "XATTR big3 = \"xxxx"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "complete (3 page(s))"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "EXTENT_RUN clusters 3..4 not allocated"));
	snprintf(want, sizeof(want), "parent 0x%lx flags 0x1 thin", (unsigned long)ro);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, " 0 damaged page(s)"));
	free(out);
	free(img);
	free(copy);
}

static void test_dump_no_store(void)
{
	uint8_t *img = new_image();
	char *out = NULL;

	CU_ASSERT_EQUAL(do_dump(img, &out), -EILSEQ);
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "Super block copy A (page 0): empty"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "No valid super block copy"));
	free(out);

	/* Bad arguments: the device is still released, the error deferred. */
	g_done = 0;
	brisk_bs_dump(brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, img), NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(g_done, 0);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	free(img);
}

static uint64_t g_seed = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	/* xorshift64: deterministic, so a failing round can be replayed. */
	g_seed ^= g_seed << 13;
	g_seed ^= g_seed >> 7;
	g_seed ^= g_seed << 17;
	return g_seed;
}

/* One kind of damage, picked at random, on a page that is in use: the super
 * block copies, the masks, the first head slots or the first chain pages
 * (build_store uses 4 ids and 2 chain pages). The geometry comes from good:
 * img's own super block may be damaged already. */
static void damage(uint8_t *img, const uint8_t *good)
{
	uint64_t md_start = le64(good + BLOB_SB_MD_START_OFF), ids, page;
	uint32_t ids32;
	uint8_t *p;

	memcpy(&ids32, good + 36, 4);
	ids = ids32;
	page = rnd() % (md_start + 8 + 4);
	if (page >= md_start + 8) {
		page = md_start + 2 * ids + (page - md_start - 8);
	}
	p = img + page * PAGE;

	switch (rnd() % 4) {
	case 0: /* random bytes over a whole page */
		for (int i = 0; i < PAGE; i++) {
			p[i] = (uint8_t)rnd();
		}
		break;
	case 1: /* one flipped bit, CRC left wrong */
		p[rnd() % 4092] ^= (uint8_t)(1u << (rnd() % 8));
		break;
	default: /* one changed byte with the CRC fixed: the decoders see it */
		p[rnd() % 4092] = (uint8_t)rnd();
		reseal_page(p);
		break;
	}
}

static void test_dump_and_check_fuzz(void)
{
	uint8_t *good = new_image(), *img = new_image();
	brisk_blob_id clone;
	int loaded = 0, problems = 0;

	/* BLOB_INSPECT_SEED=n replays or varies the damage. */
	if (getenv("BLOB_INSPECT_SEED") != NULL) {
		g_seed = strtoull(getenv("BLOB_INSPECT_SEED"), NULL, 0) | 1;
	}
	build_store(good, &clone);
	CU_ASSERT_EQUAL(do_unload(), 0);
	for (int round = 0; round < FUZZ_ROUNDS; round++) {
		char *out = NULL;
		int rc;

		memcpy(img, good, DEV_BYTES);
		for (uint64_t n = 1 + rnd() % 3; n > 0; n--) {
			damage(img, good);
		}
		rc = do_dump(img, &out);
		CU_ASSERT(rc == 0 || rc == -EILSEQ);
		CU_ASSERT_PTR_NOT_NULL(strstr(out, "Super block copy B"));
		free(out);
		/* Load may refuse; when it loads, check must run to a verdict. */
		if (load_store(img) == 0) {
			loaded++;
			rc = do_check();
			CU_ASSERT(rc == 0 || rc == -EUCLEAN);
			problems += rc == -EUCLEAN;
			CU_ASSERT(do_unload() == 0);
		}
	}
	/* The rounds reach both outcomes, or the test tests little. */
	CU_ASSERT(loaded > 0);
	CU_ASSERT(problems > 0);
	free(good);
	free(img);
}

/* ---- main ---- */

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_check_good),
	BRISK_UT_TEST(test_check_bad_args),
	BRISK_UT_TEST(test_check_damaged_head),
	BRISK_UT_TEST(test_check_mask_mismatch),
	BRISK_UT_TEST(test_check_parent_not_read_only),
	BRISK_UT_TEST(test_dump_good),
	BRISK_UT_TEST(test_dump_no_store),
	BRISK_UT_TEST(test_dump_and_check_fuzz),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_inspect_ut", bs_ut_suite_init, bs_ut_suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_inspect_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
