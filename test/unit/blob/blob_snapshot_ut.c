/*
 * Snapshots, clones, inflate, decouple, the delete of a snapshot into its
 * clone, and store growth, on the RAM bs_dev (threads polled by hand).
 *
 * Covers: clone of a read-only blob (relations, reads through the parent,
 * copy on first write leaving the parent intact, no copy for a first write
 * of a whole cluster); snapshot of an open blob
 * (it keeps its id and handle, reads the same, writes go to new clusters,
 * the snapshot keeps the old data), also with I/O from the other thread in
 * flight around it and chains of snapshots; inflate and decouple (same
 * data, parent gone or moved up, the parent deletable afterwards); delete
 * of a snapshot with one clone (clusters pass to the clone) and refused
 * with two; a stacked layer's direct I/O (where it is allowed, a snapshot
 * waiting for it); everything after clean and dirty reloads; bad input of every
 * call; growing a store onto a bigger device.
 */
#include "bs_ut.h"
#include "../../common/ut_main.h"

/* Byte pattern of cluster c of generation gen. */
static void fill(uint8_t *buf, uint64_t len, int c, int gen)
{
	for (uint64_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(c * 31 + gen * 7 + i % 251);
	}
}

/* Cluster c of b reads generation gen (0: zeroes). */
static bool cluster_is(struct brisk_blob *b, struct brisk_io_channel *ch, int c, int gen)
{
	uint8_t *got = brisk_dma_zmalloc(CLUSTER, 4096, NULL), *want = malloc(CLUSTER);
	bool ok;

	if (gen == 0) {
		memset(want, 0, CLUSTER);
	} else {
		fill(want, CLUSTER, c, gen);
	}
	ok = do_io(b, ch, false, got, (uint64_t)c * UPC, UPC) == 0 && memcmp(got, want, CLUSTER) == 0;
	brisk_free(got);
	free(want);
	return ok;
}

static void write_gen(struct brisk_blob *b, struct brisk_io_channel *ch, int c, int gen)
{
	uint8_t *buf = brisk_dma_zmalloc(CLUSTER, 4096, NULL);

	fill(buf, CLUSTER, c, gen);
	CU_ASSERT_EQUAL(do_io(b, ch, true, buf, (uint64_t)c * UPC, UPC), 0);
	brisk_free(buf);
}

/* A thick 4-cluster blob with generation 1 data, made read-only. */
static brisk_blob_id make_parent(struct brisk_io_channel *ch)
{
	brisk_blob_id id = do_create(4, false);
	struct brisk_blob *b = do_open(id);

	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int c = 0; c < 4; c++) {
		write_gen(b, ch, c, 1);
	}
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	return id;
}

/* parent of child is snap, and child is snap's only clone. */
static void check_only_clone(brisk_blob_id snap, brisk_blob_id child)
{
	brisk_blob_id ids[4] = { 0 };
	size_t n = 4;

	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, child), snap);
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, snap, ids, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(ids[0], child);
}

static uint64_t clone_count(brisk_blob_id id)
{
	size_t n = 0;
	int rc = brisk_blob_get_clones(g_bs, id, NULL, &n);

	CU_ASSERT(rc == 0 || rc == -ENOMEM);
	return n;
}

/* Unload and load again: clean (dirty false), or from a copy of the image
 * taken while the store was in use (dirty: recovery runs). *image stays
 * the image the store now works on. */
static void reload(uint8_t **image, uint8_t **spare, bool dirty, struct brisk_io_channel **ch)
{
	struct brisk_bs_opts o = small_opts();

	if (dirty) {
		uint8_t *t;

		memcpy(*spare, *image, DEV_BYTES);
		t = *image;
		*image = *spare;
		*spare = t;
	}
	brisk_bs_free_io_channel(*ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(*image, &o), 0);
	*ch = brisk_bs_alloc_io_channel(g_bs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(*ch);
}

/* The clone reads the parent, a first write copies the parent's cluster,
 * the parent stays intact; deleting the parent passes its clusters on. */
static void test_clone(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES), *spare = malloc(DEV_BYTES);
	uint8_t *buf = brisk_dma_zmalloc(CLUSTER, 4096, NULL), *want = malloc(CLUSTER);
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
	check_only_clone(sid, cid);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, sid), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(clone_count(cid), 0);

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
	fill(want, CLUSTER, 2, 1);
	memset(want + 5 * BLOCKLEN, 0xAB, BLOCKLEN);
	CU_ASSERT_EQUAL(memcmp(buf, want, CLUSTER), 0);
	CU_ASSERT_TRUE(cluster_is(snap, ch, 2, 1));
	write_gen(clone, ch, 0, 2);
	CU_ASSERT_TRUE(cluster_is(clone, ch, 0, 2));
	CU_ASSERT_TRUE(cluster_is(snap, ch, 0, 1));

	/* Refused while open. */
	CU_ASSERT_EQUAL(do_close(snap), 0);
	CU_ASSERT_EQUAL(do_close(clone), 0);
	snap = do_open(sid);
	CU_ASSERT_EQUAL(do_delete(sid), -EBUSY);
	CU_ASSERT_EQUAL(do_close(snap), 0);

	/* Relations and data survive a clean and a dirty reload. */
	for (int pass = 0; pass < 2; pass++) {
		reload(&image, &spare, pass == 1, &ch);
		check_only_clone(sid, cid);
		clone = do_open(cid);
		CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
		CU_ASSERT_TRUE(cluster_is(clone, ch, 0, 2));
		CU_ASSERT_TRUE(cluster_is(clone, ch, 1, 1));
		CU_ASSERT_TRUE(cluster_is(clone, ch, 3, 1));
		CU_ASSERT_EQUAL(do_close(clone), 0);
	}

	/* Delete of the parent (one clone): the clone keeps reading the same
	 * and owns the parent's clusters it had not copied; the copies the
	 * clone made replace the parent's, whose originals are freed. */
	free_before = brisk_bs_free_cluster_count(g_bs);
	CU_ASSERT_EQUAL(do_delete(sid), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before + 2);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, cid), BRISK_BLOBID_INVALID);
	clone = do_open(cid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	CU_ASSERT_FALSE(brisk_blob_is_clone(clone));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(clone), 4);
	CU_ASSERT_TRUE(cluster_is(clone, ch, 0, 2));
	CU_ASSERT_TRUE(cluster_is(clone, ch, 1, 1));
	CU_ASSERT_TRUE(cluster_is(clone, ch, 3, 1));
	CU_ASSERT_EQUAL(do_close(clone), 0);
	reload(&image, &spare, true, &ch);
	CU_ASSERT_PTR_NULL(do_open(sid));
	clone = do_open(cid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	CU_ASSERT_TRUE(cluster_is(clone, ch, 1, 1));
	CU_ASSERT_EQUAL(do_close(clone), 0);
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	brisk_free(buf);
	free(want);
	free(image);
	free(spare);
}

#define DELTA(field) (c1.field - c0.field)

/* A first write that covers a whole cluster of a clone: its data is the new
 * cluster's fill (the parent's cluster is not read), also as whole-cluster
 * slices of a longer write; a device error leaves the cluster free and the
 * clone reading the parent; reads while the cluster is pending see the
 * parent's data; the parent is never written. */
static void test_clone_whole_cluster(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES), *spare = malloc(DEV_BYTES);
	uint8_t *buf = brisk_dma_zmalloc(4 * CLUSTER, 4096, NULL), *want = malloc(4 * CLUSTER);
	uint8_t *old = malloc(CLUSTER);
	struct brisk_io_channel *ch, *ch1;
	struct brisk_bs_dev_ram_counts c0, c1;
	struct brisk_blob *clone;
	brisk_blob_id sid, cid, cid2;
	uint64_t free0, len;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	sid = make_parent(ch);
	cid = do_clone(sid);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	free0 = brisk_bs_free_cluster_count(g_bs);
	clone = do_open(cid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	brisk_set_thread(g_th[1]);
	ch1 = brisk_bs_alloc_io_channel(g_bs);
	brisk_set_thread(g_th[0]);

	/* For comparison: a small first write reads the parent's cluster. */
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	memset(buf, 0xAB, BLOCKLEN);
	CU_ASSERT_EQUAL(do_io(clone, ch, true, buf, 7, 1), 0);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(reads), 1);
	CU_ASSERT_EQUAL(DELTA(read_blocks), UPC);

	/* Cluster 3 whole, from the io thread: no read, no zeroes; the data
	 * once, plus the metadata pages of the sync. */
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	brisk_set_thread(g_th[1]);
	write_gen(clone, ch1, 3, 2);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(reads), 0);
	CU_ASSERT_EQUAL(DELTA(zeroes), 0);
	CU_ASSERT(DELTA(write_blocks) > UPC && DELTA(write_blocks) <= UPC + 4 * (4096 / BLOCKLEN));
	CU_ASSERT_TRUE(cluster_is(clone, ch, 3, 2));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(clone), 2);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 2);

	/* The data write fails: the write fails, the cluster is free again and
	 * the clone still reads the parent there. */
	brisk_bs_dev_ram_set_fail(g_last_dev, true);
	brisk_set_thread(g_th[1]);
	fill(buf, CLUSTER, 2, 3);
	CU_ASSERT_EQUAL(do_io(clone, ch1, true, buf, 2 * UPC, UPC), -EIO);
	brisk_bs_dev_ram_set_fail(g_last_dev, false);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(clone), 2);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free0 - 2);
	CU_ASSERT_TRUE(cluster_is(clone, ch, 2, 1));
	CU_ASSERT_EQUAL(do_close(clone), 0);
	CU_ASSERT_EQUAL(do_check(), 0);
	clone = do_open(cid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);

	/* Again, stepped: reads while the cluster is pending see the parent. */
	fill(old, CLUSTER, 2, 1);
	fill(buf, CLUSTER, 2, 3);
	CU_ASSERT(stepped_first_write(clone, ch1, 2, old, buf, image) > 0);
	CU_ASSERT_TRUE(cluster_is(clone, ch, 2, 3));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(clone), 3);
	CU_ASSERT_EQUAL(do_close(clone), 0);

	/* A second clone, one write: the second half of cluster 0, clusters 1
	 * and 2 whole, the start of cluster 3. Only the two partial clusters
	 * are copied from the parent. */
	cid2 = do_clone(sid);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	clone = do_open(cid2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
	for (int c = 0; c < 4; c++) {
		fill(want + (uint64_t)c * CLUSTER, CLUSTER, c, 4);
	}
	len = UPC / 2 + 2 * UPC + 16;
	memcpy(buf, want + CLUSTER / 2, len * BLOCKLEN);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c0);
	CU_ASSERT_EQUAL(do_io(clone, ch, true, buf, UPC / 2, len), 0);
	brisk_bs_dev_ram_get_counts(g_last_dev, &c1);
	CU_ASSERT_EQUAL(DELTA(reads), 2);
	CU_ASSERT_EQUAL(DELTA(read_blocks), 2 * UPC);
	CU_ASSERT_EQUAL(DELTA(zeroes), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(clone), 4);
	fill(want, CLUSTER / 2, 0, 1);
	fill(old, CLUSTER, 3, 1);
	memcpy(want + 3 * CLUSTER + 16 * BLOCKLEN, old + 16 * BLOCKLEN, CLUSTER - 16 * BLOCKLEN);
	CU_ASSERT_EQUAL(do_io(clone, ch, false, buf, 0, 4 * UPC), 0);
	CU_ASSERT_EQUAL(memcmp(buf, want, 4 * CLUSTER), 0);
	CU_ASSERT_EQUAL(do_close(clone), 0);

	/* The parent is untouched; everything survives a clean and a dirty
	 * reload, and the store checks clean. */
	brisk_set_thread(g_th[1]);
	brisk_bs_free_io_channel(ch1);
	brisk_set_thread(g_th[0]);
	poll_all();
	for (int pass = 0; pass < 3; pass++) {
		if (pass > 0) {
			reload(&image, &spare, pass == 2, &ch);
		}
		CU_ASSERT_EQUAL(do_check(), 0);
		CU_ASSERT_EQUAL(clone_count(sid), 2);
		clone = do_open(sid);
		CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
		for (int c = 0; c < 4; c++) {
			CU_ASSERT_TRUE(cluster_is(clone, ch, c, 1));
		}
		CU_ASSERT_EQUAL(do_close(clone), 0);
		clone = do_open(cid);
		CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
		CU_ASSERT_TRUE(cluster_is(clone, ch, 1, 1));
		CU_ASSERT_TRUE(cluster_is(clone, ch, 2, 3));
		CU_ASSERT_TRUE(cluster_is(clone, ch, 3, 2));
		CU_ASSERT_EQUAL(do_close(clone), 0);
		clone = do_open(cid2);
		CU_ASSERT_PTR_NOT_NULL_FATAL(clone);
		CU_ASSERT_EQUAL(do_io(clone, ch, false, buf, 0, 4 * UPC), 0);
		CU_ASSERT_EQUAL(memcmp(buf, want, 4 * CLUSTER), 0);
		CU_ASSERT_EQUAL(do_close(clone), 0);
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	brisk_free(buf);
	free(want);
	free(old);
	free(image);
	free(spare);
}

/* Snapshot of an open blob: same handle, same data; new writes go to new
 * clusters while the snapshot keeps the old data. */
static void test_snapshot(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES), *spare = malloc(DEV_BYTES);
	struct brisk_io_channel *ch;
	struct brisk_blob *b, *s;
	brisk_blob_id bid, sid;
	uint64_t free_before;
	const void *v;
	size_t len;
	char *names[] = { "name" };
	struct brisk_blob_xattr_opts xo = {
		.count = 1, .names = names, .ctx = NULL,
	};

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	bid = do_create(4, false);
	b = do_open(bid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int c = 0; c < 4; c++) {
		write_gen(b, ch, c, 1);
	}
	CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "k", "v", 1), 0);
	free_before = brisk_bs_free_cluster_count(g_bs);

	xo.get_value = NULL;
	brisk_bs_create_snapshot(g_bs, bid, &xo, id_cb, NULL); /* xattrs without get_value */
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	sid = do_snapshot(bid);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	CU_ASSERT_NOT_EQUAL(sid, bid);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before); /* nothing copied */
	check_only_clone(sid, bid);
	CU_ASSERT_TRUE(brisk_blob_is_clone(b));
	CU_ASSERT_TRUE(brisk_blob_is_thin_provisioned(b));
	CU_ASSERT_FALSE(brisk_blob_is_read_only(b));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 0);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "k", &v, &len), 0); /* kept */
	for (int c = 0; c < 4; c++) {
		CU_ASSERT_TRUE(cluster_is(b, ch, c, 1));
	}
	write_gen(b, ch, 1, 2);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before - 1);
	CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
	s = do_open(sid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_TRUE(brisk_blob_is_read_only(s));
	CU_ASSERT_TRUE(brisk_blob_is_snapshot(s));
	CU_ASSERT_FALSE(brisk_blob_is_thin_provisioned(s));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(s), 4);
	CU_ASSERT_TRUE(cluster_is(s, ch, 1, 1));
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(s, "k", &v, &len), -ENOENT);
	CU_ASSERT_EQUAL(do_close(s), 0);

	/* A snapshot of a snapshot is refused; a second one of B chains. */
	CU_ASSERT_EQUAL(do_snapshot(sid), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	{
		brisk_blob_id s2 = do_snapshot(bid);

		CU_ASSERT_EQUAL_FATAL(g_rc, 0);
		check_only_clone(s2, bid);
		check_only_clone(sid, s2);
		write_gen(b, ch, 3, 3);
		CU_ASSERT_TRUE(cluster_is(b, ch, 0, 1));
		CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
		CU_ASSERT_TRUE(cluster_is(b, ch, 3, 3));
		CU_ASSERT_EQUAL(do_close(b), 0);

		for (int pass = 0; pass < 2; pass++) {
			reload(&image, &spare, pass == 1, &ch);
			check_only_clone(s2, bid);
			check_only_clone(sid, s2);
			b = do_open(bid);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
			CU_ASSERT_TRUE(cluster_is(b, ch, 0, 1));
			CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
			CU_ASSERT_TRUE(cluster_is(b, ch, 2, 1));
			CU_ASSERT_TRUE(cluster_is(b, ch, 3, 3));
			CU_ASSERT_EQUAL(do_close(b), 0);
		}
		/* Delete the middle snapshot (one clone: the newer snapshot, which
		 * is read-only itself): B still reads the same. */
		CU_ASSERT_EQUAL(do_delete(s2), 0);
		check_only_clone(sid, bid);
		b = do_open(bid);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
		CU_ASSERT_TRUE(cluster_is(b, ch, 2, 1));
		CU_ASSERT_TRUE(cluster_is(b, ch, 3, 3));
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(image);
	free(spare);
}

struct inflight {
	int submitted, completed, failed;
};

static void inflight_cb(void *arg, int rc)
{
	struct inflight *f = arg;

	f->completed++;
	f->failed += rc != 0;
}

/* Writes from the io thread keep coming while the snapshot runs on the md
 * thread: every write completes, the blob reads the newest data, and the
 * snapshot holds each cluster whole either before or after a write. */
static void test_snapshot_io_in_flight(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES);
	uint8_t *bufs[4];
	struct brisk_io_channel *md_ch, *io_ch;
	struct brisk_blob *b, *s;
	struct inflight f = { 0 };
	brisk_blob_id bid;
	int round = 0;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	md_ch = brisk_bs_alloc_io_channel(g_bs);
	bid = do_create(4, false);
	b = do_open(bid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	for (int c = 0; c < 4; c++) {
		write_gen(b, md_ch, c, 1);
		bufs[c] = brisk_dma_zmalloc(CLUSTER, 4096, NULL);
		fill(bufs[c], CLUSTER, c, 2);
	}
	brisk_set_thread(g_th[1]);
	io_ch = brisk_bs_alloc_io_channel(g_bs);
	brisk_set_thread(g_th[0]);
	poll_all();

	g_done = 0;
	brisk_bs_create_snapshot(g_bs, bid, NULL, id_cb, NULL);
	/* One write per cluster, whole, at a different step of the snapshot
	 * each; then everything runs to the end. */
	while (g_done == 0 && round < 10000) {
		if (round % 3 == 0 && f.submitted < 4) {
			brisk_set_thread(g_th[1]);
			brisk_blob_io_write(b, io_ch, bufs[f.submitted], (uint64_t)f.submitted * UPC, UPC,
					    inflight_cb, &f);
			f.submitted++;
		}
		brisk_thread_poll(g_th[round % 2], 0, 0);
		round++;
	}
	poll_all();
	CU_ASSERT_EQUAL(g_done, 1);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	while (f.submitted < 4) {
		brisk_set_thread(g_th[1]);
		brisk_blob_io_write(b, io_ch, bufs[f.submitted], (uint64_t)f.submitted * UPC, UPC,
				    inflight_cb, &f);
		f.submitted++;
	}
	poll_all();
	CU_ASSERT_EQUAL(f.completed, 4);
	CU_ASSERT_EQUAL(f.failed, 0);
	for (int c = 0; c < 4; c++) {
		CU_ASSERT_TRUE(cluster_is(b, md_ch, c, 2));
	}
	s = do_open(g_id);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	for (int c = 0; c < 4; c++) {
		CU_ASSERT_TRUE(cluster_is(s, md_ch, c, 1) || cluster_is(s, md_ch, c, 2));
	}
	CU_ASSERT_EQUAL(do_close(s), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	brisk_set_thread(g_th[1]);
	brisk_bs_free_io_channel(io_ch);
	brisk_set_thread(g_th[0]);
	brisk_bs_free_io_channel(md_ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	for (int c = 0; c < 4; c++) {
		brisk_free(bufs[c]);
	}
	free(image);
}

/* A snapshot that finds a write in flight (a thin first write waiting for
 * its cluster on the md thread) waits for it: the write completes, and the
 * snapshot holds its data since it was acknowledged first. Both kinds of
 * first write: one of the whole cluster (its data goes in as the new
 * cluster's fill, on the md thread) and a small one (zeroes, then the data). */
static void snapshot_waits_for(uint64_t len)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES);
	uint8_t *buf = brisk_dma_zmalloc(CLUSTER, 4096, NULL), *want = calloc(1, CLUSTER);
	struct brisk_io_channel *md_ch, *io_ch;
	struct brisk_blob *b;
	struct inflight f = { 0 };
	brisk_blob_id bid, sid;
	int snap_done = 0;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	md_ch = brisk_bs_alloc_io_channel(g_bs);
	bid = do_create(2, true);
	b = do_open(bid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	brisk_set_thread(g_th[1]);
	io_ch = brisk_bs_alloc_io_channel(g_bs);
	poll_all();

	fill(buf, CLUSTER, 0, 4);
	memcpy(want, buf, len * BLOCKLEN); /* the rest of the cluster reads zeroes */
	brisk_set_thread(g_th[1]);
	brisk_blob_io_write(b, io_ch, buf, 0, len, inflight_cb, &f); /* asks md for a cluster */
	brisk_set_thread(g_th[0]);
	g_done = 0;
	brisk_bs_create_snapshot(g_bs, bid, NULL, id_cb, NULL);
	/* The md thread runs the allocation and the snapshot's start; the
	 * freeze reaches the io thread while the write still waits. */
	for (int i = 0; i < 10000 && (g_done == 0 || f.completed == 0); i++) {
		brisk_thread_poll(g_th[0], 0, 0);
		brisk_thread_poll(g_th[1], 0, 0);
		snap_done += g_done > 0 && f.completed == 0; /* snapshot first: must not happen */
	}
	poll_all();
	brisk_set_thread(g_th[0]);
	CU_ASSERT_EQUAL(snap_done, 0);
	CU_ASSERT_EQUAL(f.completed, 1);
	CU_ASSERT_EQUAL(f.failed, 0);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	sid = g_id;
	/* The blob, then its snapshot. */
	for (int pass = 0; pass < 2; pass++) {
		CU_ASSERT_EQUAL(do_io(b, md_ch, false, buf, 0, UPC), 0);
		CU_ASSERT_EQUAL(memcmp(buf, want, CLUSTER), 0);
		CU_ASSERT_EQUAL(do_close(b), 0);
		if (pass == 0) {
			b = do_open(sid);
			CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		}
	}
	brisk_set_thread(g_th[1]);
	brisk_bs_free_io_channel(io_ch);
	brisk_set_thread(g_th[0]);
	brisk_bs_free_io_channel(md_ch);
	poll_all();
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	brisk_free(buf);
	free(want);
	free(image);
}

static void test_snapshot_waits_for_inflight(void)
{
	snapshot_waits_for(UPC);
	snapshot_waits_for(8);
}

/* Direct I/O of a stacked layer (brisk_blob_io_direct_start): only inside
 * one allocated cluster of a writable, unfrozen blob, at the cluster's
 * device block; a snapshot waits for a direct I/O in flight, and afterwards
 * the blob's clusters are its snapshot's, so the ordinary path takes over. */
static void test_direct_io(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES), *buf = brisk_dma_zmalloc(CLUSTER, 4096, NULL);
	struct brisk_io_channel *ch, *dev_ch = NULL;
	struct brisk_blob *b;
	brisk_blob_id bid;
	uint64_t lba = 0;
	void *token = NULL;
	int snap_early = 0;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	bid = do_create(2, true);
	b = do_open(bid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	/* Thin, nothing allocated yet. */
	CU_ASSERT_EQUAL(brisk_blob_io_direct_start(b, ch, false, 8, 8, &lba, &dev_ch, &token), -EAGAIN);
	CU_ASSERT_EQUAL(brisk_blob_io_direct_start(b, ch, true, 8, 8, &lba, &dev_ch, &token), -EAGAIN);
	write_gen(b, ch, 0, 1);
	fill(buf, CLUSTER, 0, 1);
	CU_ASSERT_EQUAL_FATAL(brisk_blob_io_direct_start(b, ch, true, 8, 8, &lba, &dev_ch, &token), 0);
	CU_ASSERT_PTR_NOT_NULL(dev_ch);
	CU_ASSERT_EQUAL(lba % UPC, 8);
	CU_ASSERT_TRUE_FATAL(lba < DEV_BLOCKS - 8);
	CU_ASSERT_EQUAL(memcmp(image + lba * BLOCKLEN, buf + 8 * BLOCKLEN, 8 * BLOCKLEN), 0);
	/* The snapshot's freeze waits for the direct I/O in flight. */
	g_done = 0;
	brisk_bs_create_snapshot(g_bs, bid, NULL, id_cb, NULL);
	for (int i = 0; i < 1000; i++) {
		brisk_thread_poll(g_th[0], 0, 0);
		brisk_thread_poll(g_th[1], 0, 0);
		snap_early += g_done;
	}
	CU_ASSERT_EQUAL(snap_early, 0);
	brisk_blob_io_direct_end(token);
	poll_all();
	CU_ASSERT_EQUAL(g_done, 1);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	/* Cluster 0 is the snapshot's now; across clusters; past the end. */
	CU_ASSERT_EQUAL(brisk_blob_io_direct_start(b, ch, false, 8, 8, &lba, &dev_ch, &token), -EAGAIN);
	CU_ASSERT_EQUAL(brisk_blob_io_direct_start(b, ch, true, 8, 8, &lba, &dev_ch, &token), -EAGAIN);
	write_gen(b, ch, 0, 2);
	write_gen(b, ch, 1, 2);
	CU_ASSERT_EQUAL(brisk_blob_io_direct_start(b, ch, false, UPC - 4, 8, &lba, &dev_ch, &token), -EAGAIN);
	CU_ASSERT_EQUAL(brisk_blob_io_direct_start(b, ch, false, 2 * UPC, 8, &lba, &dev_ch, &token), -EAGAIN);
	CU_ASSERT_EQUAL_FATAL(brisk_blob_io_direct_start(b, ch, false, UPC, UPC, &lba, &dev_ch, &token), 0);
	brisk_blob_io_direct_end(token);
	/* Read-only: reads only. */
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(brisk_blob_io_direct_start(b, ch, true, 0, 8, &lba, &dev_ch, &token), -EAGAIN);
	CU_ASSERT_EQUAL_FATAL(brisk_blob_io_direct_start(b, ch, false, 0, 8, &lba, &dev_ch, &token), 0);
	brisk_blob_io_direct_end(token);
	CU_ASSERT_TRUE(cluster_is(b, ch, 0, 2));
	CU_ASSERT_EQUAL(do_close(b), 0);
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_check(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	brisk_free(buf);
	free(image);
}

/* Inflate: every cluster allocated, no parent, same data; decouple moves
 * the parent one step up. The parents become deletable. */
static void test_inflate_decouple(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES), *spare = malloc(DEV_BYTES);
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	brisk_blob_id g, p, bid, other;
	uint64_t free_before;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	/* G (gen 1, 4 clusters) <- P (cluster 1 gen 2, then snapshotted) <- B */
	g = make_parent(ch);
	bid = do_clone(g);
	b = do_open(bid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	write_gen(b, ch, 1, 2);
	p = do_snapshot(bid);
	CU_ASSERT_EQUAL_FATAL(g_rc, 0);
	write_gen(b, ch, 3, 3);
	check_only_clone(p, bid);
	check_only_clone(g, p);

	/* Decouple B from P: B copies cluster 1 (P's), now reads through G. */
	free_before = brisk_bs_free_cluster_count(g_bs);
	CU_ASSERT_EQUAL(do_decouple(ch, bid), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before - 1);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, bid), g);
	CU_ASSERT_EQUAL(clone_count(p), 0);
	CU_ASSERT_EQUAL(clone_count(g), 2);
	CU_ASSERT_TRUE(brisk_blob_is_thin_provisioned(b));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 2);
	CU_ASSERT_TRUE(cluster_is(b, ch, 0, 1));
	CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
	CU_ASSERT_TRUE(cluster_is(b, ch, 2, 1));
	CU_ASSERT_TRUE(cluster_is(b, ch, 3, 3));
	CU_ASSERT_EQUAL(do_delete(p), 0); /* no clone left */
	CU_ASSERT_EQUAL(do_close(b), 0);
	reload(&image, &spare, true, &ch);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, bid), g);

	/* Inflate B: all 4 clusters its own, no parent, not thin. */
	b = do_open(bid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
	free_before = brisk_bs_free_cluster_count(g_bs);
	CU_ASSERT_EQUAL(do_inflate(ch, bid), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before - 2);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, bid), BRISK_BLOBID_INVALID);
	CU_ASSERT_FALSE(brisk_blob_is_thin_provisioned(b));
	CU_ASSERT_FALSE(brisk_blob_is_clone(b));
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 4);
	CU_ASSERT_TRUE(cluster_is(b, ch, 0, 1));
	CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
	CU_ASSERT_TRUE(cluster_is(b, ch, 2, 1));
	CU_ASSERT_TRUE(cluster_is(b, ch, 3, 3));
	CU_ASSERT_EQUAL(do_close(b), 0);
	/* G has no clone left. */
	CU_ASSERT_EQUAL(clone_count(g), 0);
	CU_ASSERT_EQUAL(do_delete(g), 0);

	/* Inflate of a thin blob without parent allocates zeroed clusters. */
	other = do_create(3, true);
	CU_ASSERT_EQUAL(do_inflate(ch, other), 0);
	b = do_open(other);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_get_num_allocated_clusters(b), 3);
	CU_ASSERT_TRUE(cluster_is(b, ch, 2, 0));
	CU_ASSERT_EQUAL(do_close(b), 0);

	for (int pass = 0; pass < 2; pass++) {
		reload(&image, &spare, pass == 1, &ch);
		b = do_open(bid);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_FALSE(brisk_blob_is_clone(b));
		CU_ASSERT_TRUE(cluster_is(b, ch, 0, 1));
		CU_ASSERT_TRUE(cluster_is(b, ch, 1, 2));
		CU_ASSERT_TRUE(cluster_is(b, ch, 3, 3));
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(image);
	free(spare);
}

/* Set parent: asynchronous (not done inside the call, errors too). */
static int do_set_parent(brisk_blob_id id, brisk_blob_id parent)
{
	g_done = 0;
	brisk_bs_blob_set_parent(g_bs, id, parent, op_cb, NULL);
	CU_ASSERT_EQUAL(g_done, 0);
	return finish();
}

/* A thin blob becomes a clone of a snapshot: the snapshot shows through its
 * unwritten clusters, its own stay; each rule is refused and changes
 * nothing; the parent holds after a clean and a dirty reload. */
static void test_set_parent(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES), *spare = malloc(DEV_BYTES);
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	brisk_blob_id snap, thin, thick, big, writable;
	uint64_t free_before;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	ch = brisk_bs_alloc_io_channel(g_bs);
	snap = make_parent(ch); /* 4 clusters of generation 1, read-only */
	thin = do_create(4, true);
	thick = do_create(4, false);
	big = do_create(5, true);
	writable = do_create(2, true);
	b = do_open(big);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), 0);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	b = do_open(thin);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	write_gen(b, ch, 2, 5);

	CU_ASSERT_EQUAL(do_set_parent(thick, snap), -EINVAL); /* not thin */
	CU_ASSERT_EQUAL(do_set_parent(thin, writable), -EINVAL); /* not a snapshot */
	CU_ASSERT_EQUAL(do_set_parent(thin, big), -EINVAL); /* larger */
	CU_ASSERT_EQUAL(do_set_parent(snap, big), -EPERM); /* read-only blob */
	CU_ASSERT_EQUAL(do_set_parent(thin, thin), -EINVAL);
	CU_ASSERT_EQUAL(do_set_parent(thin, 20), -ENOENT);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, thin), BRISK_BLOBID_INVALID);
	CU_ASSERT_TRUE(cluster_is(b, ch, 0, 0));

	free_before = brisk_bs_free_cluster_count(g_bs);
	CU_ASSERT_EQUAL(do_set_parent(thin, snap), 0);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before); /* nothing copied */
	check_only_clone(snap, thin);
	CU_ASSERT_TRUE(brisk_blob_is_clone(b));
	CU_ASSERT_TRUE(cluster_is(b, ch, 0, 1));
	CU_ASSERT_TRUE(cluster_is(b, ch, 2, 5));
	CU_ASSERT_TRUE(cluster_is(b, ch, 3, 1));
	CU_ASSERT_EQUAL(do_set_parent(thin, snap), -EEXIST);
	write_gen(b, ch, 1, 6); /* copy-on-write from the new parent */
	CU_ASSERT_EQUAL(do_close(b), 0);

	for (int pass = 0; pass < 2; pass++) {
		reload(&image, &spare, pass == 1, &ch);
		CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, thin), snap);
		b = do_open(thin);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_TRUE(cluster_is(b, ch, 0, 1));
		CU_ASSERT_TRUE(cluster_is(b, ch, 1, 6));
		CU_ASSERT_TRUE(cluster_is(b, ch, 2, 5));
		CU_ASSERT_TRUE(cluster_is(b, ch, 3, 1));
		CU_ASSERT_EQUAL(do_close(b), 0);
	}
	CU_ASSERT_EQUAL(do_check(), 0);
	brisk_bs_free_io_channel(ch);
	poll_all();
	CU_ASSERT_EQUAL(do_unload(), 0);
	free(image);
	free(spare);
}

static void test_bad_input(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES);
	struct brisk_io_channel *ch;
	brisk_blob_id plain, sid, cid, c2, big;
	uint64_t free_before;
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
	brisk_bs_create_clone(NULL, sid, NULL, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	/* Snapshot: bad ids, a read-only blob, NULL store. */
	CU_ASSERT_EQUAL(do_snapshot(0), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_EQUAL(do_snapshot(20), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	CU_ASSERT_EQUAL(do_snapshot(sid), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	brisk_bs_create_snapshot(NULL, plain, NULL, id_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	/* Inflate / decouple: nothing to do, bad id, NULL channel, snapshot. */
	CU_ASSERT_EQUAL(do_inflate(ch, plain), -EINVAL);  /* thick, no parent */
	CU_ASSERT_EQUAL(do_decouple(ch, plain), -EINVAL); /* no parent */
	CU_ASSERT_EQUAL(do_decouple(ch, 0), -EINVAL);
	CU_ASSERT_EQUAL(do_inflate(ch, 20), -ENOENT);
	cid = do_clone(sid);
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_EQUAL(do_inflate(NULL, cid), -EINVAL);
	CU_ASSERT_EQUAL(do_inflate(ch, sid), -EPERM); /* read-only */
	/* Inflate without the space for it: refused, nothing changes. */
	big = do_create(30, true);
	CU_ASSERT_NOT_EQUAL(do_snapshot(big), BRISK_BLOBID_INVALID);
	free_before = brisk_bs_free_cluster_count(g_bs);
	CU_ASSERT(free_before < 30);
	CU_ASSERT_EQUAL(do_inflate(ch, big), -ENOSPC);
	CU_ASSERT_EQUAL(brisk_bs_free_cluster_count(g_bs), free_before);
	CU_ASSERT_NOT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, big), BRISK_BLOBID_INVALID);
	/* Delete of a snapshot with two clones. */
	c2 = do_clone(sid);
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_EQUAL(do_delete(sid), -EBUSY);
	CU_ASSERT_EQUAL(clone_count(sid), 2);
	/* Queries. */
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, 0), BRISK_BLOBID_INVALID);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(NULL, cid), BRISK_BLOBID_INVALID);
	n = 1;
	CU_ASSERT_EQUAL(brisk_blob_get_clones(g_bs, sid, &c2, &n), -ENOMEM);
	CU_ASSERT_EQUAL(n, 2);
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

/* Resize and set_read_only of a blob while it is being snapshotted are
 * refused (its cluster map must hold still); afterwards they work. */
static int g_resize_rc;

static void resize_cb(void *arg, int rc)
{
	(void)arg;
	g_resize_rc = rc;
}

static void test_busy_during_snapshot(void)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *image = calloc(1, DEV_BYTES);
	struct brisk_blob *b;
	brisk_blob_id bid;
	bool seen_busy = false;
	int round = 0;

	CU_ASSERT_EQUAL_FATAL(do_init(image, &o), 0);
	bid = do_create(2, false);
	b = do_open(bid);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	g_done = 0;
	brisk_bs_create_snapshot(g_bs, bid, NULL, id_cb, NULL);
	/* A resize to the same size each step: harmless until the snapshot
	 * holds the blob, refused while it does. */
	while (g_done == 0 && round++ < 10000) {
		g_resize_rc = 1;
		brisk_blob_resize(b, 2, resize_cb, NULL);
		while (g_resize_rc == 1) {
			brisk_thread_poll(g_th[0], 0, 0);
		}
		if (g_resize_rc == -EBUSY && !seen_busy) {
			seen_busy = true;
			CU_ASSERT_EQUAL(brisk_blob_set_read_only(b), -EBUSY);
		}
		brisk_thread_poll(g_th[1], 0, 0);
		brisk_thread_poll(g_th[0], 0, 0);
	}
	poll_all();
	CU_ASSERT_TRUE(seen_busy);
	CU_ASSERT_EQUAL(g_done, 1);
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_FALSE(brisk_blob_is_read_only(b));
	CU_ASSERT_EQUAL(do_resize(b, 5), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
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

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_clone),
	BRISK_UT_TEST(test_clone_whole_cluster),
	BRISK_UT_TEST(test_snapshot),
	BRISK_UT_TEST(test_snapshot_io_in_flight),
	BRISK_UT_TEST(test_snapshot_waits_for_inflight),
	BRISK_UT_TEST(test_direct_io),
	BRISK_UT_TEST(test_inflate_decouple),
	BRISK_UT_TEST(test_set_parent),
	BRISK_UT_TEST(test_busy_during_snapshot),
	BRISK_UT_TEST(test_bad_input),
	BRISK_UT_TEST(test_grow),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_snapshot_ut", bs_ut_suite_init, bs_ut_suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_snapshot_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
