/*
 * Blobstore on the RAM bs_dev, threads polled by hand.
 *
 * Covers: store init/load/unload/destroy and their bad input (options,
 * devices, missing/damaged/future super blocks, bstype), blob create/open/
 * close/resize/sync/delete/xattrs/iteration and their bad input, I/O
 * (split at cluster boundaries, iovecs, thin allocation once per cluster
 * under concurrent first writes from two threads, zeroes for holes, bounds,
 * read-only, whole-cluster first writes that skip the zeroing, with a
 * device error, stepped, and mixed with small ones), reload keeping blobs, xattrs and data, dirty load rebuilding
 * the masks, max_md_ops / max_channel_ops limits. Crash points and corrupted
 * metadata are in blob_crash_ut.c.
 */
#include "bs_ut.h"
#include "../../common/ut_main.h"

static void fill(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)((i * 31 + seed * 7 + (i >> 9)) & 0xff);
	}
}

static void test_init_load_unload(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_bs_stats st;
	uint64_t free0;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_bs);
	CU_ASSERT_EQUAL(brisk_bs_get_cluster_size(g_bs), CLUSTER);
	CU_ASSERT_EQUAL(brisk_bs_get_page_size(g_bs), 4096);
	CU_ASSERT_EQUAL(brisk_bs_get_io_unit_size(g_bs), BLOCKLEN);
	CU_ASSERT_EQUAL(memcmp(brisk_bs_get_bstype(g_bs).bstype, "brisk_ut", 8), 0);
	CU_ASSERT_EQUAL(brisk_bs_get_stats(g_bs, &st), 0);
	CU_ASSERT_EQUAL(st.num_clusters, 32);
	CU_ASSERT_EQUAL(st.num_blobs, 0);
	CU_ASSERT_EQUAL(st.max_blobs, 32);
	CU_ASSERT_FALSE(st.recovered);
	free0 = brisk_bs_free_cluster_count(g_bs);
	CU_ASSERT(free0 >= 30);
	CU_ASSERT_EQUAL(free0, brisk_bs_total_data_cluster_count(g_bs));
	CU_ASSERT_EQUAL(brisk_bs_get_stats(NULL, &st), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bs_get_stats(g_bs, NULL), -EINVAL);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(img[BLOB_SB_CLEAN_OFF], 1); /* clean flag of copy A */

	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_bs);
	CU_ASSERT_EQUAL(img[BLOB_SB_CLEAN_OFF], 0); /* in use again */
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0);
	CU_ASSERT_EQUAL(brisk_bs_get_stats(g_bs, &st), 0);
	CU_ASSERT_FALSE(st.recovered);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Load with any bstype (all zero) works too. */
	brisk_bs_opts_init(&o);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Destroy erases it. */
	CU_ASSERT_EQUAL(do_load(img, NULL), 0);
	brisk_bs_destroy(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(do_load(img, NULL), -EILSEQ);
	CU_ASSERT_PTR_NULL(g_bs);
	free(img);
}

static void test_init_bad(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_bs_dev *dev;

	o.cluster_sz = 1000;
	CU_ASSERT_EQUAL(do_init(img, &o), -EINVAL);
	CU_ASSERT_PTR_NULL(g_bs);
	o = small_opts();
	o.num_md_pages = 10;
	CU_ASSERT_EQUAL(do_init(img, &o), -EINVAL);
	o = small_opts();
	o.max_md_ops = 0;
	CU_ASSERT_EQUAL(do_init(img, &o), -EINVAL);
	o = small_opts();
	o.max_channel_ops = 0;
	CU_ASSERT_EQUAL(do_init(img, &o), -EINVAL);
	o = small_opts();
	o.cluster_sz = 16 * 1024 * 1024; /* two clusters, metadata leaves no data */
	o.num_md_pages = 8192;
	CU_ASSERT_EQUAL(do_init(img, &o), -ENOSPC);
	o = small_opts();
	o.num_md_pages = 1u << 20; /* 4 GiB of metadata on 32 MiB */
	CU_ASSERT_EQUAL(do_init(img, &o), -ENOSPC);
	o = small_opts();
	o.clear_method = (enum brisk_bs_clear_method)7;
	CU_ASSERT_EQUAL(do_init(img, &o), -EINVAL);

	/* A device too small for even two clusters. */
	dev = brisk_bs_dev_ram_create(1024, BLOCKLEN, NULL);
	o = small_opts();
	brisk_bs_init(dev, &o, bs_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -ENOSPC);

	/* NULL device. */
	brisk_bs_init(NULL, &o, bs_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_bs_load(NULL, &o, bs_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);

	/* Injection calls refuse other devices. */
	{
		struct brisk_bs_dev *z = brisk_bs_dev_zeroes_create(8, 512);

		brisk_bs_dev_ram_set_fail(z, true);
		brisk_bs_dev_ram_set_crash(z, BRISK_BS_DEV_RAM_CRASH_DROP, 0);
		CU_ASSERT_EQUAL(brisk_bs_dev_ram_write_count(z), 0);
		CU_ASSERT_EQUAL(brisk_bs_dev_ram_write_count(NULL), 0);
		z->destroy(z);
	}
	/* Devices refuse bad geometry. */
	CU_ASSERT_PTR_NULL(brisk_bs_dev_ram_create(100, 3000, NULL));
	CU_ASSERT_PTR_NULL(brisk_bs_dev_ram_create(0, 512, NULL));
	CU_ASSERT_PTR_NULL(brisk_bs_dev_zeroes_create(0, 512));

	/* Unload/destroy bad input. */
	brisk_bs_unload(NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_bs_destroy(NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	free(img);
}

static void test_load_bad(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	uint32_t v;

	/* Nothing there. */
	CU_ASSERT_EQUAL(do_load(img, &o), -EILSEQ);
	CU_ASSERT_PTR_NULL(g_bs);

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Wrong bstype. */
	memcpy(o.bstype.bstype, "other", 6);
	CU_ASSERT_EQUAL(do_load(img, &o), -EINVAL);
	o = small_opts();

	/* The options init checks are checked the same way at load. */
	o.max_md_ops = 0;
	CU_ASSERT_EQUAL(do_load(img, &o), -EINVAL);
	o = small_opts();
	o.max_channel_ops = 0;
	CU_ASSERT_EQUAL(do_load(img, &o), -EINVAL);
	o = small_opts();
	o.max_channel_ops = (1u << 20) + 1;
	CU_ASSERT_EQUAL(do_load(img, &o), -EINVAL);
	o = small_opts();
	o.max_channel_ops = (1u << 20) + 1;
	CU_ASSERT_EQUAL(do_init(img, &o), -EINVAL);
	o = small_opts();
	CU_ASSERT_EQUAL(do_load(img, &o), 0); /* a refused call changed nothing */
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Copy A damaged: copy B is used. */
	img[100] ^= 0xff;
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(do_unload(), 0); /* rewrites both copies */
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Both copies from a future version (valid CRC). */
	for (int c = 0; c < 2; c++) {
		v = 2;
		memcpy(img + c * 4096 + 8, &v, 4);
		reseal_page(img + c * 4096);
	}
	CU_ASSERT_EQUAL(do_load(img, &o), -EPROTONOSUPPORT);
	for (int c = 0; c < 2; c++) {
		v = 1;
		memcpy(img + c * 4096 + 8, &v, 4);
		reseal_page(img + c * 4096);
	}
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Geometry that does not fit the device (valid CRC): refused, no crash. */
	{
		uint8_t save[8192];
		uint64_t big = 1ull << 40;

		memcpy(save, img, sizeof(save));
		for (int c = 0; c < 2; c++) {
			memcpy(img + c * 4096 + 72, &big, 8);
			reseal_page(img + c * 4096);
		}
		CU_ASSERT_EQUAL(do_load(img, &o), -EINVAL);
		memcpy(img, save, sizeof(save));
		for (int c = 0; c < 2; c++) {
			big = 1ull << 33; /* md_len far too long */
			memcpy(img + c * 4096 + 88, &big, 8);
			reseal_page(img + c * 4096);
		}
		CU_ASSERT_EQUAL(do_load(img, &o), -EINVAL);
		memcpy(img, save, sizeof(save));
	}

	/* A device with another block size than the store's io unit. */
	{
		struct brisk_bs_dev *dev = brisk_bs_dev_ram_create(DEV_BYTES / 4096, 4096, img);

		brisk_bs_load(dev, &o, bs_cb, NULL);
		CU_ASSERT_EQUAL(finish(), -EINVAL);
	}

	/* A damaged mask with the clean flag: no torn write explains it, so the
	 * load refuses and writes nothing; with recover_damaged it rebuilds. */
	img[2 * 4096] ^= 0x55;
	{
		uint8_t *before = malloc(DEV_BYTES);

		CU_ASSERT_PTR_NOT_NULL_FATAL(before);
		memcpy(before, img, DEV_BYTES);
		CU_ASSERT_EQUAL(do_load(img, &o), -EUCLEAN);
		CU_ASSERT_EQUAL(memcmp(before, img, DEV_BYTES), 0);
		free(before);
	}
	o.recover_damaged = true;
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	o.recover_damaged = false;
	{
		struct brisk_bs_stats st;

		brisk_bs_get_stats(g_bs, &st);
		CU_ASSERT_TRUE(st.recovered);
	}
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

/* ---- Blobs ---- */

static void test_create_open_close(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_blob_opts bo;
	struct brisk_blob *b, *b2;
	struct brisk_blob_open_opts ro = { .read_only = true };
	uint64_t free0;
	brisk_blob_id id, id2;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	free0 = brisk_bs_free_cluster_count(g_bs);
	id = do_create(5, false);
	CU_ASSERT_NOT_EQUAL(id, BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 5);
	id2 = do_create(0, false);
	CU_ASSERT_NOT_EQUAL(id2, id);

	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_id(b), id);
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 5);
	CU_ASSERT_EQUAL(brisk_blob_get_num_pages(b), 5 * 256);
	CU_ASSERT_EQUAL(brisk_blob_get_num_io_units(b), 5 * UPC);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 5);
	CU_ASSERT_FALSE(brisk_blob_is_thin_provisioned(b));
	CU_ASSERT_FALSE(brisk_blob_is_read_only(b));

	/* Opening again gives the same handle. */
	b2 = do_open(id);
	CU_ASSERT_PTR_EQUAL(b2, b);
	/* Two opens in a row before any completes: one load, one handle. */
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	g_done = 0;
	brisk_bs_open_blob(g_bs, id, blob_cb, NULL);
	brisk_bs_open_blob(g_bs, id, blob_cb, NULL);
	poll_all();
	CU_ASSERT_EQUAL(g_done, 2);
	CU_ASSERT_EQUAL(g_rc, 0);
	b = g_blob;
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);

	/* Bad ids. */
	CU_ASSERT_PTR_NULL(do_open(0));
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_PTR_NULL(do_open(1000));
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_PTR_NULL(do_open(30)); /* valid id, no blob */
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	brisk_bs_open_blob(NULL, id, blob_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);

	/* Create bad input. */
	brisk_blob_opts_init(&bo);
	bo.num_clusters = 1000;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -ENOSPC);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 5);
	brisk_blob_opts_init(&bo);
	bo.clear_method = (enum brisk_blob_clear_method)9;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_blob_opts_init(&bo);
	bo.xattrs.count = 1;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_bs_create_blob(NULL, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);

	/* Read-only open: the handle refuses changes. */
	g_blob = NULL;
	brisk_bs_open_blob_ext(g_bs, id, &ro, blob_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	b = g_blob;
	CU_ASSERT_EQUAL(do_resize(b, 6), -EPERM);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "a", "b", 1), -EPERM);
	CU_ASSERT_EQUAL(do_close(b), 0);

	/* Close bad input; close of a closed handle is caught by the caller's
	 * discipline, so only NULL is tested. */
	brisk_blob_close(NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);

	/* Unload refuses while a blob is open. */
	b = do_open(id);
	CU_ASSERT_EQUAL(do_unload(), -EBUSY);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

static void test_create_exhausts_ids(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_bs_stats st;
	brisk_blob_id first;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	first = do_create(0, true);
	for (int i = 1; i < 32; i++) {
		CU_ASSERT_NOT_EQUAL(do_create(0, true), BRISK_BLOBID_INVALID);
	}
	brisk_bs_create_blob(g_bs, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -ENOSPC);
	brisk_bs_get_stats(g_bs, &st);
	CU_ASSERT_EQUAL(st.num_blobs, 32);
	/* A freed id is reused, and the store still reloads correctly. */
	CU_ASSERT_EQUAL(do_delete(first), 0);
	CU_ASSERT_EQUAL(do_create(2, false), first);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(check_masks(), 32);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

static void test_resize(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_blob *b;
	uint64_t free0;
	brisk_blob_id id;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	free0 = brisk_bs_free_cluster_count(g_bs);
	id = do_create(2, false);
	b = do_open(id);
	CU_ASSERT_EQUAL(do_resize(b, 10), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 10);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 10);
	CU_ASSERT_EQUAL(do_resize(b, 1000), -ENOSPC);
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 10);
	/* Beyond what a blob's cluster map may hold (2^27), even thin. */
	CU_ASSERT_EQUAL(do_resize(b, (1ull << 27) + 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 10);
	{
		struct brisk_blob_opts bo;

		brisk_blob_opts_init(&bo);
		bo.thin_provision = true;
		bo.num_clusters = (1ull << 27) + 1;
		brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
		CU_ASSERT_EQUAL(finish(), -EINVAL);
	}
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 10);
	/* Shrink: the clusters return only once the sync is durable. */
	CU_ASSERT_EQUAL(do_resize(b, 3), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 10);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 3);
	CU_ASSERT_EQUAL(do_resize(b, 0), 0);
	CU_ASSERT_EQUAL(do_resize(b, 4), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 4);
	/* A failing device: the shrink's clusters stay owned. */
	CU_ASSERT_EQUAL(do_resize(b, 1), 0);
	brisk_bs_dev_ram_set_fail(g_last_dev, true);
	CU_ASSERT_EQUAL(do_sync(b), -EIO);
	brisk_bs_dev_ram_set_fail(g_last_dev, false);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 4);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 1);
	/* Bad input. */
	brisk_blob_resize(NULL, 1, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_blob_sync_md(NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	CU_ASSERT_EQUAL(do_resize(b, 1ull << 40), -EINVAL);
	/* Read-only blob. */
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_TRUE(brisk_blob_is_read_only(b));
	CU_ASSERT_EQUAL(do_resize(b, 2), -EPERM);
	CU_ASSERT_EQUAL(do_close(b), 0); /* syncs the flag */
	b = do_open(id);
	CU_ASSERT_TRUE(brisk_blob_is_read_only(b));
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 1);
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(NULL), -EINVAL);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

static void xattr_get(void *ctx, const char *name, const void **value, size_t *len)
{
	(void)ctx;
	*value = name;
	*len = strlen(name);
}

static void io_rc_cb(void *arg, int rc)
{
	*(int *)arg = rc;
}

static void test_xattrs(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_blob_opts bo;
	struct brisk_blob *b;
	const void *v;
	size_t len, count;
	const char **names;
	char name[32];
	static uint8_t big[3000];
	char *cnames[] = { "owner", "tag" };
	brisk_blob_id id;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	brisk_blob_opts_init(&bo);
	bo.num_clusters = 1;
	bo.xattrs.count = 2;
	bo.xattrs.names = cnames;
	bo.xattrs.get_value = xattr_get;
	brisk_bs_create_blob_ext(g_bs, &bo, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	id = g_id;
	b = do_open(id);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "owner", &v, &len), 0);
	CU_ASSERT_EQUAL(len, 5);
	CU_ASSERT_EQUAL(memcmp(v, "owner", 5), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "nope", &v, &len), -ENOENT);

	/* Enough big xattrs to need several chain pages. */
	fill(big, sizeof(big), 3);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		big[0] = (uint8_t)i;
		CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, name, big, sizeof(big)), 0);
	}
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "tag", "new", 3), 0); /* replace */
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "empty", NULL, 0), 0);
	CU_ASSERT_EQUAL(brisk_blob_remove_xattr(b, "owner"), 0);
	CU_ASSERT_EQUAL(brisk_blob_remove_xattr(b, "owner"), -ENOENT);
	/* Bad input. */
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "", "x", 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, NULL, "x", 1), -EINVAL);
	{
		char longname[300];

		memset(longname, 'n', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, longname, "x", 1), -EINVAL);
	}
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "x", NULL, 4), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "x", big, 4000), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(NULL, "x", "y", 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(NULL, "x", &v, &len), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_remove_xattr(NULL, "x"), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_names(b, &names, &count), 0);
	CU_ASSERT_EQUAL(count, 8);
	free(names);
	CU_ASSERT_EQUAL(do_close(b), 0);

	/* Reload: all of it is there. */
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_names(b, &names, &count), 0);
	CU_ASSERT_EQUAL(count, 8);
	free(names);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "owner", &v, &len), -ENOENT);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "tag", &v, &len), 0);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT_EQUAL(memcmp(v, "new", 3), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "empty", &v, &len), 0);
	CU_ASSERT_EQUAL(len, 0);
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		big[0] = (uint8_t)i;
		CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, name, &v, &len), 0);
		CU_ASSERT_EQUAL(len, sizeof(big));
		CU_ASSERT(len == sizeof(big) && memcmp(v, big, len) == 0);
	}
	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), 1);
	/* Shrinking the xattrs frees chain pages again. */
	for (int i = 0; i < 6; i++) {
		snprintf(name, sizeof(name), "big%d", i);
		CU_ASSERT_EQUAL(brisk_blob_remove_xattr(b, name), 0);
	}
	{
		struct brisk_bs_stats st1, st2;

		brisk_bs_get_stats(g_bs, &st1);
		CU_ASSERT_EQUAL(do_sync(b), 0);
		brisk_bs_get_stats(g_bs, &st2);
		CU_ASSERT(st2.free_md_pages > st1.free_md_pages);
	}
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

static void test_delete(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_blob *b;
	uint64_t free0;
	brisk_blob_id id, id2;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	free0 = brisk_bs_free_cluster_count(g_bs);
	id = do_create(4, false);
	id2 = do_create(2, false);
	b = do_open(id);
	CU_ASSERT_EQUAL(do_delete(id), -EBUSY);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_delete(id), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 2);
	CU_ASSERT_EQUAL(do_delete(id), -ENOENT);
	CU_ASSERT_PTR_NULL(do_open(id));
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	CU_ASSERT_EQUAL(do_delete(0), -EINVAL);
	CU_ASSERT_EQUAL(do_delete(12345), -EINVAL);
	brisk_bs_delete_blob(NULL, id, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	/* Two deletes in a row: the second sees the first. */
	g_done = 0;
	brisk_bs_delete_blob(g_bs, id2, op_cb, NULL);
	brisk_bs_delete_blob(g_bs, id2, op_cb, NULL);
	poll_all();
	CU_ASSERT_EQUAL(g_done, 2);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0);
	/* Stays deleted across reload, clean and dirty. */
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(check_masks(), 0);
	{
		uint8_t *copy = new_image();

		memcpy(copy, img, DEV_BYTES); /* a crash right now: dirty */
		CU_ASSERT_EQUAL(do_unload(), 0);
		CU_ASSERT_EQUAL(do_load(copy, &o), 0);
		CU_ASSERT_EQUAL(check_masks(), 0);
		CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0);
		CU_ASSERT_EQUAL(do_unload(), 0);
		free(copy);
	}
	free(img);
}

/* ---- I/O ---- */
/* ---- Requests with many iovecs: pooled arrays, waiting when all are taken ---- */

#define BIG_IOS 6
#define BIG_IOVCNT 32 /* more than the 16 a request holds inline */

static int g_big_done, g_big_failed;
static void big_io_cb(void *arg, int rc)
{
	(void)arg;
	g_big_done++;
	g_big_failed += rc != 0;
}

static void test_io_many_iovs(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	static struct iovec iov[BIG_IOS][BRISK_BLOB_IO_MAX_IOVS + 1];
	uint8_t *wbuf = malloc(BIG_IOS * BIG_IOVCNT * BLOCKLEN), *rbuf = malloc(BIG_IOVCNT * BLOCKLEN);
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	int i, k;

	o.max_channel_ops = 16; /* two big iovec arrays on the channel */
	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	b = do_open(do_create(BIG_IOS, true));
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_FATAL(b != NULL && ch != NULL && wbuf != NULL && rbuf != NULL);
	fill(wbuf, BIG_IOS * BIG_IOVCNT * BLOCKLEN, 7);
	g_big_done = g_big_failed = 0;
	/* Six at once, each a first write to a thin cluster: four wait for an
	 * array, every one allocates its cluster, none fails. */
	for (i = 0; i < BIG_IOS; i++) {
		for (k = 0; k < BIG_IOVCNT; k++) {
			iov[i][k].iov_base = wbuf + ((size_t)i * BIG_IOVCNT + k) * BLOCKLEN;
			iov[i][k].iov_len = BLOCKLEN;
		}
		brisk_blob_io_writev(b, ch, iov[i], BIG_IOVCNT, (uint64_t)i * UPC + 3, BIG_IOVCNT, big_io_cb, NULL);
	}
	CU_ASSERT_EQUAL(g_big_done, 0);
	poll_all();
	CU_ASSERT_EQUAL(g_big_done, BIG_IOS);
	CU_ASSERT_EQUAL(g_big_failed, 0);
	for (i = 0; i < BIG_IOS; i++) {
		CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, (uint64_t)i * UPC + 3, BIG_IOVCNT), 0);
		CU_ASSERT_EQUAL(memcmp(rbuf, wbuf + (size_t)i * BIG_IOVCNT * BLOCKLEN, BIG_IOVCNT * BLOCKLEN), 0);
	}
	/* More iovecs than a request may carry: refused, later. */
	for (k = 0; k <= BRISK_BLOB_IO_MAX_IOVS; k++) {
		iov[0][k].iov_base = rbuf;
		iov[0][k].iov_len = 1;
	}
	brisk_blob_io_readv(b, ch, iov[0], BRISK_BLOB_IO_MAX_IOVS + 1, 0, 1, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(wbuf);
	free(rbuf);
	free(img);
}


static void test_io(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	uint8_t *wbuf = malloc(3 * CLUSTER), *rbuf = malloc(3 * CLUSTER);
	struct iovec iov[3];
	brisk_blob_id id;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	id = do_create(3, false);
	b = do_open(id);
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ch);
	fill(wbuf, 3 * CLUSTER, 1);
	/* Crosses two cluster boundaries. */
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 10, 2 * UPC + 5), 0);
	memset(rbuf, 0xee, 3 * CLUSTER);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 10, 2 * UPC + 5), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, (2 * UPC + 5) * BLOCKLEN), 0);
	/* iovecs of odd shapes, crossing a boundary. */
	iov[0].iov_base = rbuf;
	iov[0].iov_len = 3 * BLOCKLEN + 100;
	iov[1].iov_base = rbuf + 5000;
	iov[1].iov_len = 412;
	iov[2].iov_base = rbuf + 100000;
	iov[2].iov_len = 4 * BLOCKLEN;
	brisk_blob_io_readv(b, ch, iov, 3, UPC - 4, 8, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf + (UPC - 14) * BLOCKLEN, 3 * BLOCKLEN + 100), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 5000, wbuf + (UPC - 14) * BLOCKLEN + 3 * BLOCKLEN + 100, 412), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 100000, wbuf + (UPC - 10) * BLOCKLEN, 4 * BLOCKLEN), 0);
	iov[0].iov_base = wbuf;
	iov[0].iov_len = BLOCKLEN;
	iov[1].iov_base = wbuf + 7 * BLOCKLEN;
	iov[1].iov_len = BLOCKLEN;
	brisk_blob_io_writev(b, ch, iov, 2, UPC - 1, 2, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, UPC - 1, 2), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, BLOCKLEN), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + BLOCKLEN, wbuf + 7 * BLOCKLEN, BLOCKLEN), 0);
	/* write_zeroes and unmap (the RAM device reads unmapped blocks as zero). */
	brisk_blob_io_write_zeroes(b, ch, 20, 3, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	brisk_blob_io_unmap(b, ch, UPC + 1, UPC, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 20, 3), 0);
	CU_ASSERT_EQUAL(rbuf[0] | rbuf[3 * BLOCKLEN - 1], 0);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, UPC + 1, UPC), 0);
	CU_ASSERT_EQUAL(rbuf[0] | rbuf[UPC * BLOCKLEN - 1], 0);
	/* Bad input. */
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 3 * UPC, 1), -EINVAL);
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 3 * UPC - 1, 2), -EINVAL);
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(do_io(b, ch, true, NULL, 0, 1), -EINVAL);
	CU_ASSERT_EQUAL(do_io(NULL, ch, true, wbuf, 0, 1), -EINVAL);
	CU_ASSERT_EQUAL(do_io(b, NULL, true, wbuf, 0, 1), -EINVAL);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, UINT64_MAX, 2), -EINVAL);
	brisk_blob_io_readv(b, ch, iov, 0, 0, 1, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	brisk_blob_io_unmap(b, ch, 0, 3 * UPC + 1, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	/* Read-only. */
	brisk_blob_set_read_only(b);
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 0, 1), -EPERM);
	brisk_blob_io_write_zeroes(b, ch, 0, 1, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EPERM);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 0, 1), 0);
	/* Device errors reach the caller. */
	brisk_bs_dev_ram_set_fail(g_last_dev, true);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 0, 1), -EIO);
	brisk_bs_dev_ram_set_fail(g_last_dev, false);

	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Data survives a reload. */
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	b = do_open(id);
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 2 * UPC + 1, UPC - 1), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf + (2 * UPC + 1 - 10) * BLOCKLEN, 14 * BLOCKLEN), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(wbuf);
	free(rbuf);
	free(img);
}

static void test_thin(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_io_channel *ch, *ch1;
	struct brisk_blob *b;
	uint8_t *wbuf = malloc(CLUSTER), *wbuf2 = malloc(CLUSTER), *rbuf = malloc(2 * CLUSTER);
	uint64_t free0;
	brisk_blob_id id;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	free0 = brisk_bs_free_cluster_count(g_bs);
	id = do_create(4, true);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0);
	b = do_open(id);
	CU_ASSERT_TRUE(brisk_blob_is_thin_provisioned(b));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	/* Holes read zeroes; unmap/write_zeroes of a hole allocate nothing. */
	memset(rbuf, 0xee, 2 * CLUSTER);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 0, 2 * UPC), 0);
	CU_ASSERT_EQUAL(rbuf[0] | rbuf[2 * CLUSTER - 1] | rbuf[CLUSTER], 0);
	brisk_blob_io_write_zeroes(b, ch, 0, UPC, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	brisk_blob_io_unmap(b, ch, 0, UPC, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 0);

	/* Two first writes to one cluster from two threads, in flight together:
	 * one allocation, both data land. */
	brisk_set_thread(g_th[1]);
	ch1 = brisk_bs_alloc_io_channel(g_bs);
	fill(wbuf2, CLUSTER, 9);
	brisk_blob_io_write(b, ch1, wbuf2, UPC + 100, 4, op_cb, NULL);
	brisk_set_thread(g_th[0]);
	fill(wbuf, CLUSTER, 5);
	brisk_blob_io_write(b, ch, wbuf, UPC + 3, 2, op_cb, NULL);
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, 2);
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 1);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 1);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 3 * BLOCKLEN, wbuf, 2 * BLOCKLEN), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 100 * BLOCKLEN, wbuf2, 4 * BLOCKLEN), 0);
	/* The rest of the new cluster reads zeroes. */
	CU_ASSERT_EQUAL(rbuf[0] | rbuf[2 * BLOCKLEN] | rbuf[50 * BLOCKLEN] | rbuf[CLUSTER - 1], 0);
	/* A write across a hole and an allocated cluster. */
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 2 * UPC - 2, 4), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 2);
	brisk_set_thread(g_th[1]);
	brisk_bs_free_io_channel(ch1);
	brisk_set_thread(g_th[0]);
	brisk_bs_free_io_channel(ch);
	poll_all();
	/* Thin allocation persisted without an explicit sync: a crash now keeps it. */
	{
		uint8_t *copy = new_image();

		memcpy(copy, img, DEV_BYTES);
		CU_ASSERT_EQUAL(do_close(b), 0);
		CU_ASSERT_EQUAL(do_unload(), 0);
		CU_ASSERT_EQUAL(do_load(copy, &o), 0);
		CU_ASSERT_EQUAL(check_masks(), 1);
		b = do_open(id);
		CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 2);
		ch = brisk_bs_alloc_io_channel(g_bs);
		CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, UPC + 3, 2), 0);
		CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 2 * BLOCKLEN), 0);
		brisk_bs_free_io_channel(ch);
		/* Delete frees the thin blob's clusters. */
		CU_ASSERT_EQUAL(do_close(b), 0);
		CU_ASSERT_EQUAL(do_delete(id), 0);
		CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0);
		CU_ASSERT_EQUAL(do_unload(), 0);
		free(copy);
	}
	/* No cluster left: a thin write fails with -ENOSPC. */
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	{
		brisk_blob_id big = do_create(brisk_bs_free_cluster_count(g_bs) - 1, false);

		CU_ASSERT_NOT_EQUAL(big, BRISK_BLOBID_INVALID);
		b = do_open(id);
		ch = brisk_bs_alloc_io_channel(g_bs);
		CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 0, 1), 0);
		CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 3 * UPC, 1), -ENOSPC);
		brisk_bs_free_io_channel(ch);
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(wbuf);
	free(wbuf2);
	free(rbuf);
	free(img);
}

/* Blocks of a RAM device operation, per kind, between two get_counts. */
#define DELTA(field) (c1.field - c0.field)

/* A first write that covers a whole cluster of a thin blob: its data is the
 * new cluster's fill (no zeroing), also as whole-cluster slices of a longer
 * write; a device error leaves the cluster free and the metadata as it was;
 * reads while the cluster is pending see zeroes; with another first write to
 * the same cluster in flight, the one that came first does the allocation. */
static void test_thin_whole_cluster(void)
{
	uint8_t *img = new_image(), *copy = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_io_channel *ch, *ch1;
	struct brisk_blob *b;
	uint8_t *wbuf = malloc(4 * CLUSTER), *wbuf2 = malloc(CLUSTER), *rbuf = malloc(4 * CLUSTER);
	uint8_t *zero = calloc(1, CLUSTER);
	struct brisk_bs_dev_ram_counts c0, c1;
	uint64_t free0, len;
	brisk_blob_id id;

	CU_ASSERT_EQUAL_FATAL(do_init(img, &o), 0);
	free0 = brisk_bs_free_cluster_count(g_bs);
	id = do_create(10, true);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	ch = brisk_bs_alloc_io_channel(g_bs);
	brisk_set_thread(g_th[1]);
	ch1 = brisk_bs_alloc_io_channel(g_bs);
	brisk_set_thread(g_th[0]);

	/* For comparison: a small first write zeroes its cluster. */
	fill(wbuf, CLUSTER, 1);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 5, 2), 0);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(zeroes), 1);
	CU_ASSERT_EQUAL(DELTA(zeroed_blocks), UPC);

	/* A whole cluster, from the io thread: no zeroes, no read; the data
	 * once, plus the metadata pages of the sync. */
	fill(wbuf, CLUSTER, 2);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	brisk_set_thread(g_th[1]);
	CU_ASSERT_EQUAL(do_io(b, ch1, true, wbuf, UPC, UPC), 0);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(zeroes), 0);
	CU_ASSERT_EQUAL(DELTA(reads), 0);
	CU_ASSERT(DELTA(write_blocks) > UPC && DELTA(write_blocks) <= UPC + 4 * (4096 / BLOCKLEN));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 2);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 2);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, CLUSTER), 0);

	/* One write: the second half of cluster 2, clusters 3 and 4 whole, the
	 * start of cluster 5. Only the two partial clusters are zeroed. */
	fill(wbuf, 4 * CLUSTER, 3);
	len = UPC / 2 + 2 * UPC + 16;
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf + CLUSTER / 2, 2 * UPC + UPC / 2, len), 0);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(zeroes), 2);
	CU_ASSERT_EQUAL(DELTA(zeroed_blocks), 2 * UPC);
	CU_ASSERT_EQUAL(DELTA(reads), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 6);
	memset(rbuf, 0xee, 4 * CLUSTER);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 2 * UPC, 4 * UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, zero, CLUSTER / 2), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + CLUSTER / 2, wbuf + CLUSTER / 2, len * BLOCKLEN), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 3 * CLUSTER + 16 * BLOCKLEN, zero, CLUSTER - 16 * BLOCKLEN), 0);

	/* The data write fails: the write fails, the cluster is free again, the
	 * blob still reads zeroes there, and its metadata did not change (a
	 * dirty load of the image as it is now agrees). */
	fill(wbuf, CLUSTER, 4);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	brisk_bs_dev_ram_set_fail(g_last_dev, true);
	brisk_set_thread(g_th[1]);
	CU_ASSERT_EQUAL(do_io(b, ch1, true, wbuf, 6 * UPC, UPC), -EIO);
	brisk_bs_dev_ram_set_fail(g_last_dev, false);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(writes), 1); /* the data, and no sync after it */
	CU_ASSERT_EQUAL(DELTA(zeroes), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 6);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 6);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 6 * UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, zero, CLUSTER), 0);
	CU_ASSERT_EQUAL(do_close(b), 0); /* the check wants no blob open */
	CU_ASSERT_EQUAL(do_check(), 0);
	memcpy(copy, img, DEV_BYTES);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);

	/* Again, stepped: reads while the cluster is pending see zeroes. */
	CU_ASSERT(stepped_first_write(b, ch1, 6, zero, wbuf, img) > 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 7);

	/* A small first write, then a whole-cluster one to the same cluster,
	 * both in flight: the small one allocates (and zeroes), the whole one
	 * follows it and is written after the publish, as any write. */
	fill(wbuf, CLUSTER, 5);
	fill(wbuf2, CLUSTER, 6);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	brisk_blob_io_write(b, ch, wbuf2, 7 * UPC + 9, 3, op_cb, NULL);
	brisk_set_thread(g_th[1]);
	brisk_blob_io_write(b, ch1, wbuf, 7 * UPC, UPC, op_cb, NULL);
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, 2);
	CU_ASSERT_EQUAL(g_rc, 0);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(zeroes), 1);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 7 * UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 9 * BLOCKLEN), 0);
	CU_ASSERT(memcmp(rbuf + 9 * BLOCKLEN, wbuf + 9 * BLOCKLEN, 3 * BLOCKLEN) == 0 ||
		  memcmp(rbuf + 9 * BLOCKLEN, wbuf2, 3 * BLOCKLEN) == 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 12 * BLOCKLEN, wbuf + 12 * BLOCKLEN, CLUSTER - 12 * BLOCKLEN), 0);
	/* The other way round: the whole one allocates with its data, the small
	 * one follows and lands on top of it. */
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	brisk_set_thread(g_th[1]);
	brisk_blob_io_write(b, ch1, wbuf, 8 * UPC, UPC, op_cb, NULL);
	brisk_set_thread(g_th[0]);
	brisk_blob_io_write(b, ch, wbuf2, 8 * UPC + 9, 3, op_cb, NULL);
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, 2);
	CU_ASSERT_EQUAL(g_rc, 0);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(zeroes), 0);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 8 * UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 9 * BLOCKLEN), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 9 * BLOCKLEN, wbuf2, 3 * BLOCKLEN), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + 12 * BLOCKLEN, wbuf + 12 * BLOCKLEN, CLUSTER - 12 * BLOCKLEN), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 9);

	brisk_set_thread(g_th[1]);
	brisk_bs_free_io_channel(ch1);
	brisk_set_thread(g_th[0]);
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* The image taken after the failed write: the blob as it was before it. */
	CU_ASSERT_EQUAL_FATAL(do_load(copy, &o), 0);
	CU_ASSERT_EQUAL(check_masks(), 1);
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 6);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 6);
	ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 6 * UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, zero, CLUSTER), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* The final image, clean: everything written is there. */
	CU_ASSERT_EQUAL_FATAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(do_check(), 0);
	b = do_open(id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 9);
	ch = brisk_bs_alloc_io_channel(g_bs);
	fill(wbuf, CLUSTER, 2);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, CLUSTER), 0);
	fill(wbuf, 4 * CLUSTER, 3);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 2 * UPC, 4 * UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf + CLUSTER / 2, wbuf + CLUSTER / 2, len * BLOCKLEN), 0);
	fill(wbuf, CLUSTER, 4);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 6 * UPC, UPC), 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, CLUSTER), 0);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(wbuf);
	free(wbuf2);
	free(rbuf);
	free(zero);
	free(img);
	free(copy);
}

/* ---- Reload, dirty load, corruption ---- */

static void test_reload_many(void)
{
	uint8_t *img = new_image(), *copy = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	brisk_blob_id ids[12];
	uint8_t buf[BLOCKLEN], rbuf[BLOCKLEN];
	uint64_t free_before;
	char val[16];
	const void *v;
	size_t len;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	for (int i = 0; i < 12; i++) {
		ids[i] = do_create((uint64_t)i % 3, i % 2 == 0);
		b = do_open(ids[i]);
		snprintf(val, sizeof(val), "blob%d", i);
		CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "name", val, (uint16_t)strlen(val)), 0);
		if (i % 3 != 0) {
			fill(buf, sizeof(buf), (uint32_t)i);
			CU_ASSERT_EQUAL(do_io(b, ch, true, buf, (uint64_t)i, 1), 0);
		}
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
	/* Some deleted, some resized and left synced. */
	CU_ASSERT_EQUAL(do_delete(ids[4]), 0);
	CU_ASSERT_EQUAL(do_delete(ids[9]), 0);
	b = do_open(ids[1]);
	CU_ASSERT_EQUAL(do_resize(b, 3), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	brisk_bs_free_io_channel(ch);
	poll_all();
	free_before = brisk_bs_free_cluster_count(g_bs);
	memcpy(copy, img, DEV_BYTES); /* the dirty image, as a crash would leave it */
	CU_ASSERT_EQUAL(do_unload(), 0);

	for (int pass = 0; pass < 2; pass++) {
		struct brisk_bs_stats st;

		CU_ASSERT_EQUAL(do_load(pass == 0 ? img : copy, &o), 0);
		brisk_bs_get_stats(g_bs, &st);
		CU_ASSERT_EQUAL(st.recovered, pass == 1);
		CU_ASSERT_EQUAL(check_masks(), 10);
		CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before);
		ch = brisk_bs_alloc_io_channel(g_bs);
		for (int i = 0; i < 12; i++) {
			b = do_open(ids[i]);
			if (i == 4 || i == 9) {
				CU_ASSERT_PTR_NULL(b);
				continue;
			}
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
			snprintf(val, sizeof(val), "blob%d", i);
			CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "name", &v, &len), 0);
			CU_ASSERT(len == strlen(val) && memcmp(v, val, len) == 0);
			CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), i == 1 ? 3 : (uint64_t)i % 3);
			if (i % 3 != 0) {
				fill(buf, sizeof(buf), (uint32_t)i);
				CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, (uint64_t)i, 1), 0);
				CU_ASSERT_EQUAL(memcmp(rbuf, buf, BLOCKLEN), 0);
			}
			CU_ASSERT_EQUAL(do_close(b), 0);
		}
		brisk_bs_free_io_channel(ch);
		poll_all();
		/* New blobs after a recovery never collide with old ones. */
		b = do_open(do_create(1, false));
		CU_ASSERT_PTR_NOT_NULL(b);
		CU_ASSERT_EQUAL(do_close(b), 0);
		CU_ASSERT_EQUAL(check_masks(), 11);
		CU_ASSERT_EQUAL(do_unload(), 0);
	}
	free(img);
	free(copy);
}

/* Resize while another thread has I/O in flight: a grow publishes a new
 * cluster array and frees the old one only after that thread moved on; I/O
 * caught by a shrink fails cleanly. */
static void test_resize_with_io(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	struct brisk_io_channel *ch, *ch1;
	struct brisk_blob *b;
	static uint8_t wbuf[4 * BLOCKLEN], rbuf[4 * BLOCKLEN];
	int rc1 = 1, rc2 = 1;
	brisk_blob_id id;

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	id = do_create(2, true);
	b = do_open(id);
	ch = brisk_bs_alloc_io_channel(g_bs);
	fill(wbuf, sizeof(wbuf), 3);
	CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, UPC - 2, 4), 0);
	brisk_set_thread(g_th[1]);
	ch1 = brisk_bs_alloc_io_channel(g_bs);
	brisk_blob_io_read(b, ch1, rbuf, UPC - 2, 4, io_rc_cb, &rc1);
	brisk_set_thread(g_th[0]);
	CU_ASSERT_EQUAL(do_resize(b, 200), 0); /* array grows past its capacity */
	CU_ASSERT_EQUAL(rc1, 0);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, sizeof(wbuf)), 0);
	CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 150 * UPC, 1), 0);
	CU_ASSERT_EQUAL(rbuf[0], 0);
	/* A write in flight on the other thread when a shrink lands. */
	brisk_set_thread(g_th[1]);
	brisk_blob_io_write(b, ch1, wbuf, 100 * UPC, 1, io_rc_cb, &rc2);
	brisk_set_thread(g_th[0]);
	brisk_blob_resize(b, 2, op_cb, NULL);
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_EQUAL(rc2, -EINVAL);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 2);
	brisk_set_thread(g_th[1]);
	brisk_bs_free_io_channel(ch1);
	brisk_set_thread(g_th[0]);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	CU_ASSERT_EQUAL(check_masks(), 1);
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(img);
}

/* max_md_ops and max_channel_ops are limits, not hints. */
static void test_limits(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *img = new_image();
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	uint8_t buf[3][BLOCKLEN];
	brisk_blob_id id;
	int rcs[3] = { 1, 1, 1 };

	CU_ASSERT_EQUAL(do_init(img, &o), 0);
	id = do_create(1, false);
	CU_ASSERT_EQUAL(do_unload(), 0);
	o.max_md_ops = 2;
	o.max_channel_ops = 2;
	CU_ASSERT_EQUAL(do_load(img, &o), 0);
	g_done = 0;
	brisk_bs_create_blob(g_bs, id_cb, NULL);
	brisk_bs_create_blob(g_bs, id_cb, NULL);
	brisk_bs_create_blob(g_bs, id_cb, NULL); /* third at once: refused */
	poll_all();
	CU_ASSERT_EQUAL(g_done, 3);
	CU_ASSERT_EQUAL(check_masks(), 3);
	b = do_open(id);
	ch = brisk_bs_alloc_io_channel(g_bs);
	for (int i = 0; i < 3; i++) {
		brisk_blob_io_read(b, ch, buf[i], 0, 1, io_rc_cb, &rcs[i]);
	}
	poll_all();
	CU_ASSERT_EQUAL(rcs[0], 0);
	CU_ASSERT_EQUAL(rcs[1], 0);
	CU_ASSERT_EQUAL(rcs[2], -ENOMEM);
	brisk_bs_free_io_channel(ch);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	o.max_md_ops = 0;
	CU_ASSERT_EQUAL(do_load(img, &o), -EINVAL);
	free(img);
}

/* Clusters of 12 KiB (24 io units, not a power of two): I/O split at
 * their boundaries still lands where it should, thin and thick. */
static void test_io_odd_cluster(void)
{
	uint8_t *img = new_image();
	struct brisk_bs_opts o = small_opts();
	uint8_t *wbuf = brisk_dma_zmalloc(40 * BLOCKLEN, 4096, NULL);
	uint8_t *rbuf = brisk_dma_zmalloc(72 * BLOCKLEN, 4096, NULL);
	struct brisk_io_channel *ch;
	struct brisk_blob *b;

	o.cluster_sz = 12 * 1024;
	CU_ASSERT_EQUAL_FATAL(do_init(img, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	for (int thin = 0; thin < 2; thin++) {
		b = do_open(do_create(3, thin));
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(brisk_blob_get_num_io_units(b), 72);
		fill(wbuf, 40 * BLOCKLEN, 5 + (uint32_t)thin);
		/* io units 20..59: the end of cluster 0, all of 1, the start of 2 */
		CU_ASSERT_EQUAL(do_io(b, ch, true, wbuf, 20, 40), 0);
		memset(rbuf, 0xee, 72 * BLOCKLEN);
		CU_ASSERT_EQUAL(do_io(b, ch, false, rbuf, 0, 72), 0);
		CU_ASSERT_EQUAL(memcmp(rbuf + 20 * BLOCKLEN, wbuf, 40 * BLOCKLEN), 0);
		if (thin) {
			for (int i = 0; i < 20 * BLOCKLEN; i++) {
				CU_ASSERT_EQUAL_FATAL(rbuf[i], 0);
			}
		}
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	brisk_free(wbuf);
	brisk_free(rbuf);
	free(img);
}

/* ---- main ---- */

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_init_load_unload),
	BRISK_UT_TEST(test_init_bad),
	BRISK_UT_TEST(test_io_many_iovs),
	BRISK_UT_TEST(test_load_bad),
	BRISK_UT_TEST(test_create_open_close),
	BRISK_UT_TEST(test_create_exhausts_ids),
	BRISK_UT_TEST(test_resize),
	BRISK_UT_TEST(test_xattrs),
	BRISK_UT_TEST(test_delete),
	BRISK_UT_TEST(test_io),
	BRISK_UT_TEST(test_thin),
	BRISK_UT_TEST(test_thin_whole_cluster),
	BRISK_UT_TEST(test_reload_many),
	BRISK_UT_TEST(test_resize_with_io),
	BRISK_UT_TEST(test_limits),
	BRISK_UT_TEST(test_io_odd_cluster),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_ut", bs_ut_suite_init, bs_ut_suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
