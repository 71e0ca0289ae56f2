/*
 * Blobstore failure paths on the RAM bs_dev: crash points (every write of a
 * sequence dropped or torn, then reload and check: the store loads, masks
 * match the metadata, each blob is all-old or all-new) for init,
 * create+resize+sync, delete, xattr syncs with chain pages, shrink/grow,
 * create with chain pages, thin and clone first writes (small and
 * whole-cluster); corrupted metadata (bad
 * CRC, unknown descriptors, double-claimed clusters, random bytes).
 */
#include "bs_ut.h"
#include "../../common/ut_main.h"

static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 9)) & 0xff);
	}
}

/* Super block copy A's field at off (little-endian u64). */
static uint64_t sb_u64(const uint8_t *img, unsigned off)
{
	uint64_t v;

	memcpy(&v, img + off, 8);
	return v;
}

static void xattr_get(void *ctx, const char *name, const void **value, size_t *len)
{
	(void)ctx;
	*value = name;
	*len = strlen(name);
}

/* Device page of blob id's head slot (from super block copy A). */
static uint8_t *head_slot(uint8_t *img, brisk_blob_id id, int slot)
{
	uint64_t md_start = sb_u64(img, 80);

	return img + (md_start + (id - 1) * 2 + (uint64_t)slot) * 4096;
}

static void test_corrupt_md(void)
{
	uint8_t *img = new_image(), *copy = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_blob *b;
	brisk_blob_id a, c;
	uint64_t free0;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	free0 = brisk_bs_free_cluster_count(g_bs);
	a = do_create(2, false);
	c = do_create(3, false);
	memcpy(copy, img, DEV_BYTES);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Bad CRC on blob a's head (slot 0 holds its only version). */
	head_slot(img, a, 0)[200] ^= 1;
	head_slot(copy, a, 0)[200] ^= 1;
	/* Clean load: masks trusted, the blob cannot be opened (clear error). */
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_PTR_NULL(do_open(a));
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	b = do_open(c);
	CU_ASSERT_PTR_NOT_NULL(b);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	/* Dirty load: a is gone, its clusters free; c intact. */
	CU_ASSERT_EQUAL(do_load(copy, &o), 0);
	CU_ASSERT_EQUAL(check_masks(), 1);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 3);
	b = do_open(c);
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 3);
	CU_ASSERT_EQUAL(do_close(b), 0);
	memcpy(img, copy, DEV_BYTES); /* dirty again */
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* An unknown descriptor with a valid CRC: the load refuses with a clear
	 * error rather than free clusters it cannot account for. */
	{
		uint8_t *p = head_slot(img, c, 0);

		CU_ASSERT_EQUAL(p[UT_BLOB_DESC_OFF + BLOB_DESC_TYPE_OFF], BLOB_DESC_BLOB);
		p[UT_FIRST_RUN_OFF + BLOB_DESC_TYPE_OFF] = 77; /* the next descriptor's type */
		reseal_page(p);
		CU_ASSERT_EQUAL(do_load(img, &o), -EPROTONOSUPPORT);
	}

	/* Two blobs claiming one cluster: refused with -EUCLEAN. */
	memcpy(img, copy, DEV_BYTES);
	{
		uint8_t *pa = head_slot(img, c, 0);
		brisk_blob_id d;

		CU_ASSERT_EQUAL(do_load(img, &o), 0); /* dirty load of a good image */
		d = do_create(1, false);
		memcpy(copy, img, DEV_BYTES);
		CU_ASSERT_EQUAL(do_unload(), 0);
		pa = head_slot(copy, c, 0);
		/* c's first extent run: point it at d's cluster. */
		{
			uint8_t *pd = head_slot(copy, d, 0);
			uint64_t dc;

			CU_ASSERT_EQUAL(pd[UT_FIRST_RUN_OFF + BLOB_DESC_TYPE_OFF], BLOB_DESC_EXTENT_RUN);
			memcpy(&dc, pd + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_FIRST_OFF, 8);
			memcpy(pa + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_FIRST_OFF, &dc, 8);
			reseal_page(pa);
		}
		CU_ASSERT_EQUAL(do_load(copy, &o), -EUCLEAN);
	}

	/* A size of 2^32-1 clusters (one hole run covering it), valid CRC: the
	 * version is malformed (more than a blob may have), nothing huge is
	 * allocated, and the dirty load goes on without it. */
	memcpy(img, copy, DEV_BYTES);
	{
		uint8_t *p = head_slot(img, c, 0);
		uint64_t huge = 0xFFFFFFFFull;
		uint32_t n = 0xFFFFFFFFu;
		uint64_t zero = 0;

		CU_ASSERT_EQUAL(p[UT_BLOB_DESC_OFF + BLOB_DESC_TYPE_OFF], BLOB_DESC_BLOB);
		memcpy(p + UT_BLOB_DESC_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_DB_NUM_CLUSTERS_OFF, &huge, 8);
		CU_ASSERT_EQUAL(p[UT_FIRST_RUN_OFF + BLOB_DESC_TYPE_OFF], BLOB_DESC_EXTENT_RUN); /* one hole run */
		memcpy(p + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_FIRST_OFF, &zero, 8);
		memcpy(p + UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_COUNT_OFF, &n, 4);
		p[UT_FIRST_RUN_OFF + BLOB_DESC_PAYLOAD_OFF + BLOB_ER_SIZE] = BLOB_DESC_END; /* no further descriptor */
		reseal_page(p);
		CU_ASSERT_EQUAL(do_load(img, &o), 0);
		CU_ASSERT_PTR_NULL(do_open(c));
		check_masks();
		CU_ASSERT_EQUAL(do_unload(), 0);
	}

	/* Random bytes over the whole metadata region, valid CRC or not: the
	 * load either works or fails cleanly. */
	memcpy(copy, img, DEV_BYTES);
	srand(7);
	for (int round = 0; round < 20; round++) {
		uint64_t md_start = sb_u64(copy, 80), md_len = sb_u64(copy, 88);
		uint8_t *mdr = copy + md_start * 4096;
		int rc;

		for (int j = 0; j < 200; j++) {
			uint64_t page = (uint64_t)rand() % md_len;
			uint8_t *p = mdr + page * 4096;

			p[rand() % BLOB_PAGE_CRC_OFF] = (uint8_t)rand();
			if (rand() % 2) {
				reseal_page(p);
			}
		}
		copy[BLOB_SB_CLEAN_OFF] = 0; /* force the dirty path through the damage */
		reseal_page(copy);
		copy[4096 + 12] = 0;
		reseal_page(copy + 4096);
		rc = do_load(copy, &o);
		CU_ASSERT(rc == 0 || rc == -EUCLEAN || rc == -EPROTONOSUPPORT);
		if (rc == 0) {
			check_masks();
			CU_ASSERT_EQUAL(do_unload(), 0);
		}
	}
	free(img);
	free(copy);
}

/* ---- Crash points ---- */

static brisk_blob_id g_case_id;
static uint8_t g_big[3000];

static void prep_none(void)
{
	g_case_id = BRISK_BLOBID_INVALID;
}

static void run_create_resize_sync(void)
{
	struct brisk_blob_opts bo;
	char *names[] = { "name" };
	struct brisk_blob *b;

	brisk_blob_opts_init(&bo);
	bo.num_clusters = 2;
	bo.xattrs.count = 1;
	bo.xattrs.names = names;
	bo.xattrs.get_value = xattr_get;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	g_case_id = g_id;
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_resize(b, 5), 0);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "k", "v", 1), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_resize(b, 1), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_create_resize_sync(bool complete)
{
	const void *v;
	size_t len;
	uint64_t n = check_masks();
	struct brisk_blob *b;

	CU_ASSERT(n <= 1);
	if (n == 0) {
		CU_ASSERT_FALSE(complete);
		return;
	}
	b = do_open(1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "name", &v, &len), 0);
	switch (brisk_blob_get_num_clusters(b)) {
	case 2:
		CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "k", &v, &len), -ENOENT);
		CU_ASSERT_FALSE(complete);
		break;
	case 5:
		CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "k", &v, &len), 0);
		CU_ASSERT_FALSE(complete);
		break;
	case 1:
		CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "k", &v, &len), 0);
		break;
	default:
		CU_FAIL("blob of an unexpected size");
	}
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), brisk_blob_get_num_clusters(b));
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void prep_one_blob(void)
{
	struct brisk_blob *b;

	g_case_id = do_create(3, false);
	b = do_open(g_case_id);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "keep", "me", 2), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void run_delete(void)
{
	CU_ASSERT_EQUAL(do_delete(g_case_id), 0);
}

static void verify_delete(bool complete)
{
	uint64_t n = check_masks();
	struct brisk_blob *b;
	const void *v;
	size_t len;

	if (n == 0) {
		return;
	}
	CU_ASSERT_FALSE(complete);
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 3);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "keep", &v, &len), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void run_xattr_chain(void)
{
	struct brisk_blob *b = do_open(g_case_id);
	char name[8];

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		g_big[0] = (uint8_t)i;
		CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, name, g_big, sizeof(g_big)), 0);
	}
	CU_ASSERT_EQUAL(do_sync(b), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		CU_ASSERT_EQUAL(brisk_blob_remove_xattr(b, name), 0);
	}
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "z", "z", 1), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_xattr_chain(bool complete)
{
	struct brisk_blob *b;
	const void *v;
	size_t len;
	char name[8];
	int bigs = 0;
	bool z;

	CU_ASSERT_EQUAL(check_masks(), 1);
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "keep", &v, &len), 0);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		if (brisk_blob_get_xattr_value(b, name, &v, &len) == 0) {
			g_big[0] = (uint8_t)i;
			CU_ASSERT(len == sizeof(g_big) && memcmp(v, g_big, len) == 0);
			bigs++;
		}
	}
	z = brisk_blob_get_xattr_value(b, "z", &v, &len) == 0;
	/* all old, first sync, or second sync: never a mix */
	CU_ASSERT((bigs == 0 && !z) || (bigs == 3 && !z) || (bigs == 0 && z));
	if (complete) {
		CU_ASSERT(bigs == 0 && z);
	}
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void prep_thin(void)
{
	g_case_id = do_create(4, true);
}

static void run_thin_write(void)
{
	struct brisk_blob *b = do_open(g_case_id);
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);

	fill(g_big, sizeof(g_big), 4);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_big, UPC + 8, 4), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_thin_write(bool complete)
{
	struct brisk_blob *b;
	struct brisk_io_channel *ch;
	uint8_t *buf = malloc(CLUSTER);
	uint64_t nz = 0;

	CU_ASSERT_EQUAL(check_masks(), 1);
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT(brisk_blob_get_num_allocated_clusters(b) <= 1);
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_EQUAL(do_io(b, ch, false, buf, UPC, UPC), 0);
	/* Outside the written range the cluster reads zeroes, whatever happened. */
	for (uint64_t i = 0; i < CLUSTER; i++) {
		if (i < 8 * BLOCKLEN || i >= 12 * BLOCKLEN) {
			nz += buf[i] != 0;
		}
	}
	CU_ASSERT_EQUAL(nz, 0);
	if (complete) {
		CU_ASSERT_EQUAL(memcmp(buf + 8 * BLOCKLEN, g_big, 4 * BLOCKLEN), 0);
	}
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	free(buf);
}

static void prep_four(void)
{
	g_case_id = do_create(4, false);
}

static void run_shrink_grow(void)
{
	struct brisk_blob *b = do_open(g_case_id);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_resize(b, 1), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_resize(b, 6), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_shrink_grow(bool complete)
{
	struct brisk_blob *b;
	uint64_t n;

	CU_ASSERT_EQUAL(check_masks(), 1);
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	n = brisk_blob_get_num_clusters(b);
	CU_ASSERT(n == 4 || n == 1 || n == 6);
	CU_ASSERT(!complete || n == 6);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), n);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void big_get(void *ctx, const char *name, const void **value, size_t *len)
{
	(void)ctx;
	g_big[0] = (uint8_t)name[1];
	*value = g_big;
	*len = sizeof(g_big);
}

static void run_create_chain(void)
{
	struct brisk_blob_opts bo;
	char *names[] = { "b0", "b1", "b2" };

	brisk_blob_opts_init(&bo);
	bo.num_clusters = 1;
	bo.thin_provision = true;
	bo.xattrs.count = 3;
	bo.xattrs.names = names;
	bo.xattrs.get_value = big_get;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	g_case_id = g_id;
}

static void verify_create_chain(bool complete)
{
	struct brisk_blob *b;
	const void *v;
	size_t len;
	char name[4];
	uint64_t n = check_masks();

	if (n == 0) {
		CU_ASSERT_FALSE(complete);
		return;
	}
	b = do_open(1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "b%d", i);
		CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, name, &v, &len), 0);
		g_big[0] = (uint8_t)name[1];
		CU_ASSERT(len == sizeof(g_big) && memcmp(v, g_big, len) == 0);
	}
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void run_thin_three(void)
{
	struct brisk_blob *b = do_open(g_case_id);
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);

	for (int c = 0; c < 3; c++) {
		g_big[0] = (uint8_t)c;
		CU_ASSERT_EQUAL(do_io(b, ch, true, g_big, (uint64_t)(c == 0 ? 0 : c + 1) * UPC + 1, 2), 0);
	}
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_thin_three(bool complete)
{
	struct brisk_blob *b;
	struct brisk_io_channel *ch;
	uint8_t *buf = malloc(4 * CLUSTER);
	uint64_t nz = 0;

	CU_ASSERT_EQUAL(check_masks(), 1);
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT(brisk_blob_get_num_allocated_clusters(b) <= 3);
	CU_ASSERT(!complete || brisk_blob_get_num_allocated_clusters(b) == 3);
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_EQUAL(do_io(b, ch, false, buf, 0, 4 * UPC), 0);
	for (int c = 0; c < 4; c++) {
		uint8_t *cl = buf + (uint64_t)c * CLUSTER;

		for (uint64_t i = 0; i < CLUSTER; i++) {
			if (c == 1 || i < BLOCKLEN || i >= 3 * BLOCKLEN) {
				nz += cl[i] != 0;
			}
		}
		if (complete && c != 1) {
			g_big[0] = (uint8_t)(c == 0 ? 0 : c - 1);
			CU_ASSERT_EQUAL(memcmp(cl + BLOCKLEN, g_big, 2 * BLOCKLEN), 0);
		}
	}
	CU_ASSERT_EQUAL(nz, 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	free(buf);
}

/* A longer mixed sequence over three blobs. */
static brisk_blob_id g_mix_a, g_mix_b;

static void prep_mix(void)
{
	struct brisk_blob *b;

	g_mix_a = do_create(2, false);
	g_mix_b = do_create(3, true);
	b = do_open(g_mix_a);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "name", "A", 1), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void run_mix(void)
{
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	struct brisk_blob *a, *b;
	brisk_blob_id c;

	c = do_create(1, false);
	a = do_open(g_mix_a);
	b = do_open(g_mix_b);
	CU_ASSERT_EQUAL(do_resize(a, 4), 0);
	CU_ASSERT_EQUAL(do_sync(a), 0);
	fill(g_big, sizeof(g_big), 21);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_big, 0, 2), 0);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(a, "gen", "1", 1), 0);
	CU_ASSERT_EQUAL(do_sync(a), 0);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_big, 2 * UPC + 4, 2), 0);
	CU_ASSERT_EQUAL(do_delete(c), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(a), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_mix(bool complete)
{
	struct brisk_io_channel *ch;
	struct brisk_blob *a, *b;
	const void *v;
	size_t len;
	uint64_t n = check_masks(), nz = 0;
	uint8_t *buf = malloc(3 * CLUSTER);
	bool gen;

	CU_ASSERT(n == 2 || n == 3);
	CU_ASSERT(!complete || n == 2);
	a = do_open(g_mix_a);
	b = do_open(g_mix_b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(a, "name", &v, &len), 0);
	gen = brisk_blob_get_xattr_value(a, "gen", &v, &len) == 0;
	CU_ASSERT(brisk_blob_get_num_clusters(a) == 4 || (brisk_blob_get_num_clusters(a) == 2 && !gen));
	CU_ASSERT(!complete || (gen && brisk_blob_get_num_clusters(a) == 4));
	CU_ASSERT(brisk_blob_get_num_allocated_clusters(b) <= 2);
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_EQUAL(do_io(b, ch, false, buf, 0, 3 * UPC), 0);
	for (uint64_t i = 0; i < 3 * CLUSTER; i++) {
		bool written = i < 2 * BLOCKLEN ||
			       (i >= 2 * CLUSTER + 4 * BLOCKLEN && i < 2 * CLUSTER + 6 * BLOCKLEN);

		nz += !written && buf[i] != 0;
	}
	CU_ASSERT_EQUAL(nz, 0);
	if (complete) {
		CU_ASSERT_EQUAL(memcmp(buf, g_big, 2 * BLOCKLEN), 0);
		CU_ASSERT_EQUAL(memcmp(buf + 2 * CLUSTER + 4 * BLOCKLEN, g_big, 2 * BLOCKLEN), 0);
	}
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(a), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	free(buf);
}

/* Clone of a read-only parent, then a first (copy-on-)write to the clone:
 * after a crash the clone is absent or whole, its parent relation is
 * durable with it, the parent is untouched, and the clone reads the
 * parent's data with the written range all-old or all-new. */
static brisk_blob_id g_clone_parent;

static void prep_parent(void)
{
	struct brisk_blob *b;
	struct brisk_io_channel *ch;

	g_clone_parent = do_create(2, false);
	b = do_open(g_clone_parent);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	ch = brisk_bs_alloc_io_channel(g_bs);
	for (int c = 0; c < 2; c++) {
		fill(g_big, 4 * BLOCKLEN, 20 + (uint32_t)c);
		CU_ASSERT_EQUAL(do_io(b, ch, true, g_big, (uint64_t)c * UPC + 8, 4), 0);
	}
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	g_case_id = BRISK_BLOBID_INVALID;
}

static void run_clone_write(void)
{
	struct brisk_blob *b;
	struct brisk_io_channel *ch;

	brisk_bs_create_clone(g_bs, g_clone_parent, NULL, id_cb, NULL);
	CU_ASSERT_EQUAL_FATAL(finish(), 0);
	g_case_id = g_id;
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	ch = brisk_bs_alloc_io_channel(g_bs);
	fill(g_big, 2 * BLOCKLEN, 30);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_big, UPC + 10, 2), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_clone_write(bool complete)
{
	uint64_t n = check_masks();
	uint8_t *buf = malloc(CLUSTER), *want = malloc(CLUSTER), *mine = malloc(2 * BLOCKLEN);
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	struct brisk_blob *b;
	brisk_blob_id ids[2];
	size_t cnt = 2;

	/* The parent is untouched. */
	b = do_open(g_clone_parent);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_io(b, ch, false, want, UPC, UPC), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	fill(g_big, 4 * BLOCKLEN, 21);
	CU_ASSERT_EQUAL(memcmp(want + 8 * BLOCKLEN, g_big, 4 * BLOCKLEN), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, g_clone_parent, ids, &cnt), 0);
	CU_ASSERT_EQUAL(cnt, n - 1);
	if (n == 1) {
		CU_ASSERT_FALSE(complete);
		goto out;
	}
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, ids[0]), g_clone_parent);
	b = do_open(ids[0]);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT(brisk_blob_get_num_allocated_clusters(b) <= 1);
	CU_ASSERT_EQUAL(do_io(b, ch, false, buf, UPC, UPC), 0);
	fill(mine, 2 * BLOCKLEN, 30);
	/* Outside the write: the parent's bytes. Inside: all-old or all-new. */
	CU_ASSERT_EQUAL(memcmp(buf, want, 10 * BLOCKLEN), 0);
	CU_ASSERT_EQUAL(memcmp(buf + 12 * BLOCKLEN, want + 12 * BLOCKLEN, CLUSTER - 12 * BLOCKLEN), 0);
	if (complete) {
		CU_ASSERT_EQUAL(memcmp(buf + 10 * BLOCKLEN, mine, 2 * BLOCKLEN), 0);
	} else {
		/* A torn data write may land some of its blocks: each is old or new. */
		for (int i = 0; i < 2; i++) {
			CU_ASSERT(memcmp(buf + (10 + i) * BLOCKLEN, mine + i * BLOCKLEN, BLOCKLEN) == 0 ||
				  memcmp(buf + (10 + i) * BLOCKLEN, want + (10 + i) * BLOCKLEN, BLOCKLEN) == 0);
		}
	}
	CU_ASSERT_EQUAL(do_close(b), 0);
out:
	brisk_bs_free_io_channel(ch);
	poll_all();
	free(buf);
	free(want);
	free(mine);
}

/* Whole-cluster first writes: the write's data is the new cluster's fill,
 * committed by the sync after it. Write A covers cluster 0; write B the
 * second half of cluster 1, clusters 2 and 3 whole and the start of
 * cluster 4 (segments s1..s4, each committed on its own). On a thin blob
 * (old data: zeroes) and on a clone of a parent with data in every
 * cluster. g_fw_ack[i] is the number of writes issued when write i was
 * acknowledged: all of them reached the image iff the crash came at write
 * g_fw_ack[i] or later. */
#define FW_CLUSTERS 5
#define FW_B_OFF (UPC + UPC / 2)
#define FW_B_LEN (UPC / 2 + 2 * UPC + 16)

static uint8_t *g_fw_old, *g_fw_new; /* FW_CLUSTERS clusters each */
static brisk_blob_id g_fw_parent;
static uint64_t g_fw_ack[2];

static void fw_patterns(bool with_parent)
{
	if (g_fw_old == NULL) {
		g_fw_old = malloc(FW_CLUSTERS * CLUSTER);
		g_fw_new = malloc(FW_CLUSTERS * CLUSTER);
		CU_ASSERT_PTR_NOT_NULL_FATAL(g_fw_old);
		CU_ASSERT_PTR_NOT_NULL_FATAL(g_fw_new);
	}
	/* Seeds 20 apart: no block of one pattern equals a block of the other. */
	for (uint32_t c = 0; c < FW_CLUSTERS; c++) {
		fill(g_fw_new + c * CLUSTER, CLUSTER, 60 + c);
		if (with_parent) {
			fill(g_fw_old + c * CLUSTER, CLUSTER, 40 + c);
		} else {
			memset(g_fw_old + c * CLUSTER, 0, CLUSTER);
		}
	}
}

static void prep_fw_thin(void)
{
	fw_patterns(false);
	g_fw_parent = BRISK_BLOBID_INVALID;
	g_case_id = do_create(FW_CLUSTERS, true);
}

static void prep_fw_clone(void)
{
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	struct brisk_blob *b;

	fw_patterns(true);
	g_fw_parent = do_create(FW_CLUSTERS, false);
	b = do_open(g_fw_parent);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_fw_old, 0, FW_CLUSTERS * UPC), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	g_case_id = do_clone(g_fw_parent);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
}

static void run_fw(void)
{
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	struct brisk_blob *b = do_open(g_case_id);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_fw_new, 0, UPC), 0);
	g_fw_ack[0] = brisk_bs_dev_ram_write_count(g_last_dev);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_fw_new + FW_B_OFF * BLOCKLEN, FW_B_OFF, FW_B_LEN), 0);
	g_fw_ack[1] = brisk_bs_dev_ram_write_count(g_last_dev);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	/* Nothing is written after B's acknowledgement (so "complete" = both durable). */
	CU_ASSERT_EQUAL(brisk_bs_dev_ram_write_count(g_last_dev), g_fw_ack[1]);
}

enum fw_state { FW_OLD, FW_NEW, FW_MIXED, FW_BAD };

/* Blocks [from, to) of got against the old and new patterns: all old, all
 * new, each block one or the other (MIXED: a torn write), or neither. */
static enum fw_state fw_state(const uint8_t *got, uint64_t from, uint64_t to)
{
	bool any_old = false, any_new = false;

	for (uint64_t blk = from; blk < to; blk++) {
		uint64_t off = blk * BLOCKLEN;

		if (memcmp(got + off, g_fw_old + off, BLOCKLEN) == 0) {
			any_old = true;
		} else if (memcmp(got + off, g_fw_new + off, BLOCKLEN) == 0) {
			any_new = true;
		} else {
			return FW_BAD;
		}
	}
	return any_old && any_new ? FW_MIXED : any_new ? FW_NEW : FW_OLD;
}

static void verify_fw(bool complete)
{
	/* CACHE mode: write k lands after the flushed ones, so A (whose last
	 * write is its metadata head, after a flush) is new from k = ack - 1 on;
	 * B's last data write follows its commit and no flush: never durable. */
	bool cache = g_crash_run_mode == BRISK_BS_DEV_RAM_CRASH_CACHE;
	bool a_durable = g_crash_k + cache >= g_fw_ack[0];
	bool b_durable = !cache && g_crash_k >= g_fw_ack[1];
	uint8_t *buf = malloc(FW_CLUSTERS * CLUSTER);
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	enum fw_state a, s1, s2, s3, s4;
	struct brisk_blob *b;
	uint64_t alloc, alloc_min;

	CU_ASSERT(complete == b_durable);
	CU_ASSERT_EQUAL(check_masks(), g_fw_parent != BRISK_BLOBID_INVALID ? 2 : 1);
	if (g_fw_parent != BRISK_BLOBID_INVALID) {
		/* The parent is untouched and still the clone's. */
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, g_case_id), g_fw_parent);
		b = do_open(g_fw_parent);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(do_io(b, ch, false, buf, 0, FW_CLUSTERS * UPC), 0);
		CU_ASSERT_EQUAL(memcmp(buf, g_fw_old, FW_CLUSTERS * CLUSTER), 0);
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
	b = do_open(g_case_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_io(b, ch, false, buf, 0, FW_CLUSTERS * UPC), 0);
	/* A: all new once acknowledged with its writes on the image, all old
	 * before (never a torn cluster: its data lands before the commit). */
	a = fw_state(buf, 0, UPC);
	CU_ASSERT_EQUAL(a, a_durable ? FW_NEW : FW_OLD);
	/* B: outside its range, old. */
	CU_ASSERT_EQUAL(fw_state(buf, UPC, FW_B_OFF), FW_OLD);
	CU_ASSERT_EQUAL(fw_state(buf, FW_B_OFF + FW_B_LEN, FW_CLUSTERS * UPC), FW_OLD);
	/* Its whole clusters are all old or all new; its partial ones, written
	 * after their commit, may be torn block by block. */
	s1 = fw_state(buf, FW_B_OFF, 2 * UPC);
	s2 = fw_state(buf, 2 * UPC, 3 * UPC);
	s3 = fw_state(buf, 3 * UPC, 4 * UPC);
	s4 = fw_state(buf, 4 * UPC, 4 * UPC + 16);
	CU_ASSERT(s1 != FW_BAD && s4 != FW_BAD);
	CU_ASSERT(s2 == FW_OLD || s2 == FW_NEW);
	CU_ASSERT(s3 == FW_OLD || s3 == FW_NEW);
	/* The segments land in order, after A. */
	CU_ASSERT(s1 == FW_OLD || a_durable);
	CU_ASSERT(s2 == FW_OLD || s1 == FW_NEW);
	CU_ASSERT(s3 == FW_OLD || s2 == FW_NEW);
	CU_ASSERT(s4 == FW_OLD || s3 == FW_NEW);
	if (b_durable) {
		CU_ASSERT(s1 == FW_NEW && s2 == FW_NEW && s3 == FW_NEW && s4 == FW_NEW);
	} else if (!cache) {
		CU_ASSERT(s4 != FW_NEW);
	}
	/* A whole cluster reading old has no cluster of its own (its commit
	 * did not land); a partial one may (committed, its data not written). */
	alloc = brisk_blob_get_num_allocated_clusters(b);
	alloc_min = (a == FW_NEW) + (s1 != FW_OLD) + (s2 == FW_NEW) + (s3 == FW_NEW) + (s4 != FW_OLD);
	CU_ASSERT(alloc >= alloc_min && alloc <= alloc_min + (s1 == FW_OLD) + (s4 == FW_OLD));
	CU_ASSERT_EQUAL(do_close(b), 0);
	brisk_bs_free_io_channel(ch);
	poll_all();
	free(buf);
}

static void test_crash_points(void)
{
	static const struct crash_case cases[] = {
		{ "create+resize+sync", prep_none, run_create_resize_sync, verify_create_resize_sync },
		{ "delete", prep_one_blob, run_delete, verify_delete },
		{ "xattr chain sync", prep_one_blob, run_xattr_chain, verify_xattr_chain },
		{ "thin first write", prep_thin, run_thin_write, verify_thin_write },
		{ "shrink+sync+grow+sync", prep_four, run_shrink_grow, verify_shrink_grow },
		{ "create with chain pages", prep_none, run_create_chain, verify_create_chain },
		{ "thin writes to three clusters", prep_thin, run_thin_three, verify_thin_three },
		{ "mixed sequence over three blobs", prep_mix, run_mix, verify_mix },
		{ "clone + first write to the clone", prep_parent, run_clone_write, verify_clone_write },
		{ "full-cluster first writes on a thin blob", prep_fw_thin, run_fw, verify_fw },
		{ "full-cluster first writes on a clone", prep_fw_clone, run_fw, verify_fw },
	};

	fill(g_big, sizeof(g_big), 11);
	printf("\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned before = g_crash_points;

		crash_case_run(&cases[i]);
		printf("  %-45s %3u crash points\n", cases[i].name, g_crash_points - before);
	}
	printf("  crash points tried (with init): %u\n", g_crash_points);
	free(g_fw_old);
	free(g_fw_new);
	g_fw_old = g_fw_new = NULL;
}

/* Grow, write the new cluster, sync (blobfs's extend-then-sync): once the
 * larger size is durable, so is the data written before its sync. */
static void prep_one_cluster(void) { g_case_id = do_create(1, false); }

static void run_grow_write_sync(void)
{
	struct brisk_blob *b = do_open(g_case_id);
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_resize(b, 2), 0);
	fill(g_fw_new, CLUSTER, 70);
	CU_ASSERT_EQUAL(do_io(b, ch, true, g_fw_new, UPC, UPC), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
}

static void verify_grow_write_sync(bool complete)
{
	struct brisk_blob *b = do_open(g_case_id);
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	uint8_t *buf = malloc(CLUSTER);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	CU_ASSERT_EQUAL(check_masks(), 1);
	if (brisk_blob_get_num_clusters(b) == 2) {
		CU_ASSERT_EQUAL(do_io(b, ch, false, buf, UPC, UPC), 0);
		CU_ASSERT_EQUAL(memcmp(buf, g_fw_new, CLUSTER), 0);
	} else {
		CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 1);
		CU_ASSERT_FALSE(complete);
	}
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	free(buf);
}

/* A volatile write cache (CACHE mode): at write k the power fails, write k
 * lands and every write since the last flush is lost. The metadata that
 * makes data current must never land without that data: the store flushes
 * before each metadata head. */
static void test_crash_cache(void)
{
	/* Cases whose data writes precede a one-page metadata sync (the others
	 * differ only in metadata, whose chain pages were always flushed
	 * before the head); each fails without that flush. */
	static const struct crash_case cases[] = {
		{ "grow+write+sync", prep_one_cluster, run_grow_write_sync, verify_grow_write_sync },
		{ "clone + first write to the clone", prep_parent, run_clone_write, verify_clone_write },
		{ "full-cluster first writes on a clone", prep_fw_clone, run_fw, verify_fw },
	};

	fill(g_big, sizeof(g_big), 11);
	fw_patterns(true);
	printf("\n");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned before = g_crash_points;

		crash_case_run_modes(&cases[i], BRISK_BS_DEV_RAM_CRASH_CACHE, BRISK_BS_DEV_RAM_CRASH_CACHE);
		printf("  %-45s %3u crash points\n", cases[i].name, g_crash_points - before);
	}
	free(g_fw_old);
	free(g_fw_new);
	g_fw_old = g_fw_new = NULL;
}

/* Init interrupted at every write: the device then holds either no store
 * (-EILSEQ) or an empty, consistent one. */
static void test_crash_init(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image();
	uint64_t writes;
	struct brisk_bs_dev *dev;

	dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, img);
	brisk_bs_dev_ram_set_crash(dev, BRISK_BS_DEV_RAM_CRASH_NONE, 0);
	brisk_bs_init(dev, &o, bs_cb, NULL);
	CU_ASSERT_EQUAL_FATAL(finish(), 0);
	writes = brisk_bs_dev_ram_write_count(dev);
	CU_ASSERT_EQUAL(do_unload(), 0);
	for (int mode = BRISK_BS_DEV_RAM_CRASH_DROP; mode <= BRISK_BS_DEV_RAM_CRASH_TEAR; mode++) {
		for (uint64_t k = 0; k <= writes; k++) {
			int rc;

			memset(img, 0, DEV_BYTES);
			dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, img);
			brisk_bs_dev_ram_set_crash(dev, (enum brisk_bs_dev_ram_crash_mode)mode, k);
			brisk_bs_init(dev, &o, bs_cb, NULL);
			CU_ASSERT_EQUAL_FATAL(finish(), 0);
			CU_ASSERT_EQUAL(do_unload(), 0);
			rc = do_load(img, &o);
			CU_ASSERT(rc == 0 || (rc == -EILSEQ && k < writes));
			if (rc == 0) {
				CU_ASSERT_EQUAL(check_masks(), 0);
				CU_ASSERT_NOT_EQUAL(do_create(1, false), BRISK_BLOBID_INVALID);
				CU_ASSERT_EQUAL(do_unload(), 0);
			}
			g_crash_points++;
		}
	}
	free(img);
}

/* ---- main ---- */

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_corrupt_md),
	BRISK_UT_TEST(test_crash_init),
	BRISK_UT_TEST(test_crash_points),
	BRISK_UT_TEST(test_crash_cache),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_crash_ut", bs_ut_suite_init, bs_ut_suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_crash_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
