/*
 * lib/lvol on a RAM bs_dev, one thread polled by hand: store create / load /
 * rename / destroy, lvol create / rename / resize / read-only / delete, bad
 * input (each refused with nothing changed), persistence across reloads of
 * the same image, snapshots and clones when the blobstore has them, and
 * crashes at every write of a sequence of creates. Every call is checked
 * "not done yet" right after it returns (poll_until_done, and
 * test_errors_deferred for each early error path).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/blob.h>
#include <brisk/env.h>
#include <brisk/lvol.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

#define BLOCKLEN 512
#define DEV_BYTES (64ull * 1024 * 1024)
#define CLUSTER (1024 * 1024)

static struct brisk_thread *g_th;
static uint8_t *g_image;
static int g_rc;
static bool g_done;
static struct brisk_lvol_store *g_lvs;
static struct brisk_lvol *g_lvol;

/* Called right after each call: its callback must not have run inside it
 * (include/brisk/lvol.h), error paths included. */
static void poll_until_done(void)
{
	int i;

	CU_ASSERT(!g_done);
	for (i = 0; i < 1000000 && !g_done; i++) {
		brisk_thread_poll(g_th, 0, 0);
	}
	CU_ASSERT(g_done);
}

static void lvs_cb(void *arg, struct brisk_lvol_store *lvs, int rc)
{
	(void)arg;
	g_lvs = lvs;
	g_rc = rc;
	g_done = true;
}

static void lvol_cb(void *arg, struct brisk_lvol *lvol, int rc)
{
	(void)arg;
	g_lvol = lvol;
	g_rc = rc;
	g_done = true;
}

static void op_cb(void *arg, int rc)
{
	(void)arg;
	g_rc = rc;
	g_done = true;
}

static struct brisk_bs_dev *ram_dev(void)
{
	return brisk_bs_dev_ram_create(DEV_BYTES / BLOCKLEN, BLOCKLEN, g_image);
}

static int lvs_init_named(const char *name, uint32_t cluster_sz)
{
	struct brisk_lvs_opts o;

	brisk_lvs_opts_init(&o);
	/* No NUL when name fills the array: a name one character too long. */
	memcpy(o.name, name, strlen(name) < sizeof(o.name) ? strlen(name) + 1 : sizeof(o.name));
	o.cluster_sz = cluster_sz;
	g_done = false;
	g_lvs = NULL;
	brisk_lvs_init(ram_dev(), &o, lvs_cb, NULL);
	poll_until_done();
	return g_rc;
}

static int lvs_load(void)
{
	g_done = false;
	g_lvs = NULL;
	brisk_lvs_load(ram_dev(), lvs_cb, NULL);
	poll_until_done();
	return g_rc;
}

static int lvs_unload(struct brisk_lvol_store *lvs)
{
	g_done = false;
	brisk_lvs_unload(lvs, op_cb, NULL);
	poll_until_done();
	return g_rc;
}

static int lvol_create(const char *name, uint64_t size, bool thin)
{
	g_done = false;
	g_lvol = NULL;
	brisk_lvol_create(g_lvs, name, size, thin, BRISK_BLOB_CLEAR_WITH_DEFAULT, lvol_cb, NULL);
	poll_until_done();
	return g_rc;
}

static int lvol_op(void (*fn)(struct brisk_lvol *, brisk_lvol_op_complete, void *), struct brisk_lvol *lvol)
{
	g_done = false;
	fn(lvol, op_cb, NULL);
	poll_until_done();
	return g_rc;
}

static int count_lvols(struct brisk_lvol_store *lvs)
{
	struct brisk_lvol *l;
	int n = 0;

	for (l = brisk_lvol_first(lvs); l != NULL; l = brisk_lvol_next(l)) {
		n++;
	}
	return n;
}

/* Blob I/O on the store's thread: fill or check a range (bytes) with one byte. */
static int blob_io(struct brisk_lvol *lvol, bool write, uint64_t off, uint64_t len, uint8_t byte)
{
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(brisk_lvs_get_bs(brisk_lvol_get_lvs(lvol)));
	uint8_t *buf = brisk_dma_malloc(len, 4096, NULL);
	uint64_t i;
	int rc;

	CU_ASSERT_FATAL(ch != NULL && buf != NULL);
	memset(buf, write ? byte : (uint8_t)~byte, len);
	g_done = false;
	if (write) {
		brisk_blob_io_write(brisk_lvol_get_blob(lvol), ch, buf, off / BLOCKLEN, len / BLOCKLEN, op_cb, NULL);
	} else {
		brisk_blob_io_read(brisk_lvol_get_blob(lvol), ch, buf, off / BLOCKLEN, len / BLOCKLEN, op_cb, NULL);
	}
	poll_until_done();
	rc = g_rc;
	for (i = 0; rc == 0 && !write && i < len; i++) {
		if (buf[i] != byte) {
			rc = -EILSEQ;
		}
	}
	brisk_free(buf);
	brisk_bs_free_io_channel(ch);
	return rc;
}

static void fresh_image(void)
{
	memset(g_image, 0, DEV_BYTES);
}

/* ---- Stores ---- */

static void test_lvs_bad_input(void)
{
	char longname[100];

	fresh_image();
	CU_ASSERT(lvs_init_named("", CLUSTER) == -EINVAL);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	longname[BRISK_LVS_NAME_MAX] = '\0'; /* 64 characters: one too many */
	CU_ASSERT(lvs_init_named(longname, CLUSTER) == -EINVAL);
	CU_ASSERT(lvs_init_named("a/b", CLUSTER) == -EINVAL);
	/* Control characters would forge log lines: refused. */
	CU_ASSERT(lvs_init_named("lvs\nforged", CLUSTER) == -EINVAL);
	CU_ASSERT(lvs_init_named("lvs\x1b[2J", CLUSTER) == -EINVAL);
	CU_ASSERT(lvs_init_named("lvs", 1000) == -EINVAL);
	CU_ASSERT(brisk_lvs_first() == NULL);
	/* Nothing was written: no store to load. */
	CU_ASSERT(lvs_load() == -EILSEQ);
	CU_ASSERT(brisk_lvs_first() == NULL);
}

static void test_lvs_create_load_rename_destroy(void)
{
	struct brisk_lvol_store *lvs;
	struct brisk_uuid uuid;

	fresh_image();
	CU_ASSERT_FATAL(lvs_init_named("lvs0", CLUSTER) == 0);
	lvs = g_lvs;
	CU_ASSERT(brisk_lvs_get_by_name("lvs0") == lvs);
	CU_ASSERT(brisk_lvs_get_by_uuid(brisk_lvs_get_uuid(lvs)) == lvs);
	uuid = *brisk_lvs_get_uuid(lvs);
	/* The same image loaded twice is refused (same name / uuid). */
	CU_ASSERT(lvs_load() == -EEXIST);
	CU_ASSERT(brisk_lvs_first() == lvs && brisk_lvs_next(lvs) == NULL);

	g_done = false;
	brisk_lvs_rename(lvs, "", op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == -EINVAL);
	g_done = false;
	brisk_lvs_rename(lvs, "renamed", op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == 0);
	CU_ASSERT(strcmp(brisk_lvs_get_name(lvs), "renamed") == 0);
	CU_ASSERT(lvs_unload(lvs) == 0);
	CU_ASSERT(brisk_lvs_first() == NULL);

	CU_ASSERT_FATAL(lvs_load() == 0);
	CU_ASSERT(strcmp(brisk_lvs_get_name(g_lvs), "renamed") == 0);
	CU_ASSERT(brisk_uuid_compare(brisk_lvs_get_uuid(g_lvs), &uuid) == 0);
	g_done = false;
	brisk_lvs_destroy(g_lvs, op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == 0);
	CU_ASSERT(brisk_lvs_first() == NULL);
	CU_ASSERT(lvs_load() == -EILSEQ);
}

/* ---- Lvols ---- */

static void test_lvol_lifecycle(void)
{
	struct brisk_lvol *thick, *thin, *l;
	char longname[80];
	uint64_t free_before;

	fresh_image();
	CU_ASSERT_FATAL(lvs_init_named("lvs0", CLUSTER) == 0);
	free_before = brisk_bs_free_cluster_count(brisk_lvs_get_bs(g_lvs));

	CU_ASSERT_FATAL(lvol_create("thick", 3 * CLUSTER + 1, false) == 0);
	thick = g_lvol;
	CU_ASSERT(brisk_lvol_get_size(thick) == 4ull * CLUSTER);
	CU_ASSERT(!brisk_lvol_is_thin(thick));
	CU_ASSERT(brisk_bs_free_cluster_count(brisk_lvs_get_bs(g_lvs)) == free_before - 4);
	CU_ASSERT_FATAL(lvol_create("thin", 100ull * CLUSTER, true) == 0);
	thin = g_lvol;
	CU_ASSERT(brisk_lvol_is_thin(thin));
	CU_ASSERT(brisk_blob_get_num_allocated_clusters(brisk_lvol_get_blob(thin)) == 0);

	/* Bad input: each refused, nothing changes. */
	CU_ASSERT(lvol_create("thick", CLUSTER, false) == -EEXIST);
	CU_ASSERT(lvol_create("v\nforged", CLUSTER, false) == -EINVAL);
	CU_ASSERT(lvol_create("v\t", CLUSTER, true) == -EINVAL);
	CU_ASSERT(lvol_create("big", 1000ull * CLUSTER, false) == -ENOSPC);
	CU_ASSERT(lvol_create("zero", 0, false) == -EINVAL);
	CU_ASSERT(lvol_create("", CLUSTER, false) == -EINVAL);
	memset(longname, 'x', sizeof(longname));
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT(lvol_create(longname, CLUSTER, false) == -EINVAL);
	CU_ASSERT(count_lvols(g_lvs) == 2);
	CU_ASSERT(brisk_bs_free_cluster_count(brisk_lvs_get_bs(g_lvs)) == free_before - 4);

	/* Data, rename, resize, read-only. */
	CU_ASSERT(blob_io(thick, true, 0, CLUSTER, 0x5a) == 0);
	CU_ASSERT(blob_io(thin, true, 7 * CLUSTER, 4096, 0xa5) == 0);
	CU_ASSERT(brisk_blob_get_num_allocated_clusters(brisk_lvol_get_blob(thin)) == 1);
	g_done = false;
	brisk_lvol_rename(thin, "thick", op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == -EEXIST);
	g_done = false;
	brisk_lvol_rename(thin, "thin2", op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == 0);
	CU_ASSERT(brisk_lvol_get_by_name(g_lvs, "thin2") == thin && brisk_lvol_get_by_name(g_lvs, "thin") == NULL);
	g_done = false;
	brisk_lvol_resize(thick, 1000ull * CLUSTER, op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == -ENOSPC);
	CU_ASSERT(brisk_lvol_get_size(thick) == 4ull * CLUSTER);
	g_done = false;
	brisk_lvol_resize(thick, 6ull * CLUSTER, op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == 0);
	CU_ASSERT(brisk_lvol_get_size(thick) == 6ull * CLUSTER);
	CU_ASSERT(lvol_op(brisk_lvol_set_read_only, thick) == 0);
	CU_ASSERT(brisk_lvol_is_read_only(thick));
	g_done = false;
	brisk_lvol_resize(thick, 2ull * CLUSTER, op_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == -EPERM);

	/* Everything is on disk. */
	CU_ASSERT(lvs_unload(g_lvs) == 0);
	CU_ASSERT_FATAL(lvs_load() == 0);
	CU_ASSERT(count_lvols(g_lvs) == 2);
	thick = brisk_lvol_get_by_name(g_lvs, "thick");
	thin = brisk_lvol_get_by_name(g_lvs, "thin2");
	CU_ASSERT_FATAL(thick != NULL && thin != NULL);
	CU_ASSERT(brisk_lvol_get_size(thick) == 6ull * CLUSTER);
	CU_ASSERT(brisk_lvol_is_read_only(thick));
	CU_ASSERT(brisk_lvol_is_thin(thin));
	CU_ASSERT(brisk_lvol_get_by_uuid(brisk_lvol_get_uuid(thin)) == thin);
	CU_ASSERT(blob_io(thick, false, 0, CLUSTER, 0x5a) == 0);
	CU_ASSERT(blob_io(thin, false, 7 * CLUSTER, 4096, 0xa5) == 0);
	CU_ASSERT(blob_io(thin, false, 0, 4096, 0) == 0);

	/* Delete. */
	CU_ASSERT(lvol_op(brisk_lvol_destroy, thin) == 0);
	CU_ASSERT(count_lvols(g_lvs) == 1);
	CU_ASSERT(lvs_unload(g_lvs) == 0);
	CU_ASSERT_FATAL(lvs_load() == 0);
	CU_ASSERT(count_lvols(g_lvs) == 1);
	l = brisk_lvol_first(g_lvs);
	CU_ASSERT(l != NULL && strcmp(brisk_lvol_get_name(l), "thick") == 0);
	CU_ASSERT(lvs_unload(g_lvs) == 0);
}

/* ---- Snapshots and clones ---- */

static bool snapshots_available(void)
{
	struct brisk_lvol *v;
	int rc;

	CU_ASSERT_FATAL(lvol_create("probe", CLUSTER, true) == 0);
	v = g_lvol;
	g_done = false;
	brisk_lvol_create_snapshot(v, "probe_snap", lvol_cb, NULL);
	poll_until_done();
	rc = g_rc;
	if (rc == -ENOTSUP) {
		/* Refused without a trace: the name is free again, nothing on disk. */
		CU_ASSERT(brisk_lvol_get_by_name(g_lvs, "probe_snap") == NULL);
		CU_ASSERT(lvol_op(brisk_lvol_destroy, v) == 0);
		return false;
	}
	CU_ASSERT_FATAL(rc == 0);
	CU_ASSERT(lvol_op(brisk_lvol_destroy, v) == 0);     /* the clone goes first */
	CU_ASSERT(lvol_op(brisk_lvol_destroy, g_lvol) == 0);
	return true;
}

static void test_snapshot_clone(void)
{
	struct brisk_lvol *vol, *snap, *c1, *c2;

	fresh_image();
	CU_ASSERT_FATAL(lvs_init_named("lvs0", CLUSTER) == 0);
	if (!snapshots_available()) {
		printf("(blobstore without snapshots: only the -ENOTSUP path is checked) ");
		CU_ASSERT(lvs_unload(g_lvs) == 0);
		return;
	}
	CU_ASSERT_FATAL(lvol_create("vol", 4ull * CLUSTER, false) == 0);
	vol = g_lvol;
	CU_ASSERT(blob_io(vol, true, 0, 2 * CLUSTER, 0x11) == 0);
	g_done = false;
	brisk_lvol_create_snapshot(vol, "vol", lvol_cb, NULL);
	poll_until_done();
	CU_ASSERT(g_rc == -EEXIST);
	g_done = false;
	brisk_lvol_create_snapshot(vol, "snap", lvol_cb, NULL);
	poll_until_done();
	CU_ASSERT_FATAL(g_rc == 0);
	snap = g_lvol;
	CU_ASSERT(brisk_lvol_is_snapshot(snap) && brisk_lvol_is_read_only(snap));
	CU_ASSERT(brisk_lvol_is_clone(vol) && brisk_lvol_get_parent(vol) == snap);
	CU_ASSERT(blob_io(vol, true, 0, CLUSTER, 0x22) == 0);
	CU_ASSERT(blob_io(snap, false, 0, CLUSTER, 0x11) == 0);
	CU_ASSERT(blob_io(vol, false, 0, CLUSTER, 0x22) == 0);
	CU_ASSERT(blob_io(vol, false, CLUSTER, CLUSTER, 0x11) == 0);

	g_done = false;
	brisk_lvol_create_clone(vol, "bad", lvol_cb, NULL); /* not read-only */
	poll_until_done();
	CU_ASSERT(g_rc == -EINVAL);
	g_done = false;
	brisk_lvol_create_clone(snap, "c1", lvol_cb, NULL);
	poll_until_done();
	CU_ASSERT_FATAL(g_rc == 0);
	c1 = g_lvol;
	CU_ASSERT(blob_io(c1, false, 0, CLUSTER, 0x11) == 0);
	CU_ASSERT(brisk_lvol_get_clones(snap, NULL, 0) == 2);
	/* A snapshot with two clones cannot go. */
	CU_ASSERT(brisk_lvol_check_deletable(snap) == -EBUSY);
	CU_ASSERT(lvol_op(brisk_lvol_destroy, snap) == -EBUSY);
	CU_ASSERT(brisk_lvol_get_by_name(g_lvs, "snap") == snap);

	/* Reload: the relations come back from disk. */
	CU_ASSERT(lvs_unload(g_lvs) == 0);
	CU_ASSERT_FATAL(lvs_load() == 0);
	vol = brisk_lvol_get_by_name(g_lvs, "vol");
	snap = brisk_lvol_get_by_name(g_lvs, "snap");
	c1 = brisk_lvol_get_by_name(g_lvs, "c1");
	CU_ASSERT_FATAL(vol != NULL && snap != NULL && c1 != NULL);
	CU_ASSERT(brisk_lvol_get_parent(c1) == snap);

	/* Inflate vol, decouple c1: snap has no clone left and can go. */
	CU_ASSERT(lvol_op(brisk_lvol_inflate, vol) == 0);
	CU_ASSERT(!brisk_lvol_is_thin(vol) && brisk_lvol_get_parent(vol) == NULL);
	CU_ASSERT(lvol_op(brisk_lvol_decouple_parent, c1) == 0);
	CU_ASSERT(brisk_lvol_get_parent(c1) == NULL);
	CU_ASSERT(lvol_op(brisk_lvol_destroy, snap) == 0);
	CU_ASSERT(blob_io(vol, false, CLUSTER, CLUSTER, 0x11) == 0);
	CU_ASSERT(blob_io(c1, false, 0, CLUSTER, 0x11) == 0);
	c2 = brisk_lvol_get_by_name(g_lvs, "snap");
	CU_ASSERT(c2 == NULL);
	CU_ASSERT(lvs_unload(g_lvs) == 0);
}

/* ---- Every early error path completes later, never inside the call ---- */

struct rec {
	bool done;
	int rc;
};

static void rec_op(void *arg, int rc)
{
	struct rec *r = arg;

	r->done = true;
	r->rc = rc;
}

static void rec_lvs(void *arg, struct brisk_lvol_store *lvs, int rc)
{
	CU_ASSERT(lvs == NULL);
	rec_op(arg, rc);
}

static void rec_lvol(void *arg, struct brisk_lvol *lvol, int rc)
{
	CU_ASSERT(lvol == NULL);
	rec_op(arg, rc);
}

/* Polls until every one of n records is done. */
static void poll_recs(struct rec *r, int n)
{
	int i, k, left = n;

	for (i = 0; i < 1000000 && left > 0; i++) {
		brisk_thread_poll(g_th, 0, 0);
		for (k = 0, left = 0; k < n; k++) {
			left += !r[k].done;
		}
	}
	CU_ASSERT(left == 0);
}

#define EXPECT_LATER(call, r, want)                   \
	do {                                          \
		(r)->done = false;                    \
		call;                                 \
		CU_ASSERT(!(r)->done);                \
		poll_recs((r), 1);                    \
		CU_ASSERT_EQUAL((r)->rc, (want));     \
	} while (0)

static void test_errors_deferred_store(void)
{
	struct brisk_lvs_opts o;
	struct rec r;

	brisk_lvs_opts_init(&o);
	EXPECT_LATER(brisk_lvs_init(ram_dev(), NULL, rec_lvs, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvs_init(ram_dev(), &o, rec_lvs, &r), &r, -EINVAL); /* empty name */
	EXPECT_LATER(brisk_lvs_load(NULL, rec_lvs, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvs_unload(NULL, rec_op, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvs_destroy(NULL, rec_op, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvs_rename(g_lvs, "", rec_op, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvs_rename(g_lvs, brisk_lvs_get_name(g_lvs), rec_op, &r), &r, 0);
	EXPECT_LATER(brisk_lvol_create(NULL, "x", CLUSTER, true, 0, rec_lvol, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvol_create(g_lvs, "", CLUSTER, true, 0, rec_lvol, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvol_create(g_lvs, "z", 0, true, 0, rec_lvol, &r), &r, -EINVAL);
}

static void test_errors_deferred_lvol(struct brisk_lvol *v, struct brisk_lvol *ro)
{
	struct rec r;

	EXPECT_LATER(brisk_lvol_rename(v, brisk_lvol_get_name(v), rec_op, &r), &r, 0);
	EXPECT_LATER(brisk_lvol_rename(v, brisk_lvol_get_name(ro), rec_op, &r), &r, -EEXIST);
	EXPECT_LATER(brisk_lvol_resize(v, 1000ull * CLUSTER, rec_op, &r), &r, -ENOSPC);
	EXPECT_LATER(brisk_lvol_resize(ro, CLUSTER, rec_op, &r), &r, -EPERM);
	EXPECT_LATER(brisk_lvol_create_snapshot(ro, "s", rec_lvol, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvol_create_snapshot(v, "", rec_lvol, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvol_create_clone(v, "c", rec_lvol, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvol_inflate(v, rec_op, &r), &r, -EINVAL);    /* no parent, thick */
	EXPECT_LATER(brisk_lvol_inflate(ro, rec_op, &r), &r, -EINVAL);
	EXPECT_LATER(brisk_lvol_decouple_parent(v, rec_op, &r), &r, -EINVAL);
}

/* While one lvol's rename runs, every call that needs it or the store idle is refused. */
static void test_errors_deferred_busy(struct brisk_lvol *v)
{
	struct rec busy, r[10];
	int i;

	memset(r, 0, sizeof(r));
	busy.done = false;
	brisk_lvol_rename(v, "renamed", rec_op, &busy);
	CU_ASSERT(!busy.done);
	brisk_lvs_unload(g_lvs, rec_op, &r[0]);
	brisk_lvs_destroy(g_lvs, rec_op, &r[1]);
	brisk_lvol_resize(v, CLUSTER, rec_op, &r[2]);
	brisk_lvol_set_read_only(v, rec_op, &r[3]);
	brisk_lvol_destroy(v, rec_op, &r[4]);
	brisk_lvol_rename(v, "again", rec_op, &r[5]);
	brisk_lvol_create_snapshot(v, "s", rec_lvol, &r[6]);
	brisk_lvol_inflate(v, rec_op, &r[7]);
	for (i = 0; i < 8; i++) {
		CU_ASSERT(!r[i].done);
	}
	poll_recs(r, 8);
	poll_recs(&busy, 1);
	CU_ASSERT(busy.rc == 0);
	for (i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(r[i].rc, -EBUSY);
	}
	/* The store is busy while it is being renamed. */
	busy.done = false;
	r[0].done = false;
	brisk_lvs_rename(g_lvs, "lvs1", rec_op, &busy);
	brisk_lvs_grow_live(g_lvs, rec_op, &r[8]);
	brisk_lvs_rename(g_lvs, "lvs2", rec_op, &r[9]);
	brisk_lvol_create(g_lvs, "n", CLUSTER, true, 0, rec_lvol, &r[0]);
	CU_ASSERT(!busy.done && !r[8].done && !r[9].done && !r[0].done);
	poll_recs(&busy, 1);
	poll_recs(&r[8], 2);
	poll_recs(&r[0], 1);
	CU_ASSERT(busy.rc == 0 && r[8].rc == -EBUSY && r[9].rc == -EBUSY && r[0].rc == -EBUSY);
}

static void test_errors_deferred(void)
{
	struct brisk_lvol *v, *ro;

	fresh_image();
	CU_ASSERT_FATAL(lvs_init_named("lvs0", CLUSTER) == 0);
	test_errors_deferred_store();
	CU_ASSERT_FATAL(lvol_create("v", CLUSTER, false) == 0);
	v = g_lvol;
	CU_ASSERT_FATAL(lvol_create("ro", CLUSTER, false) == 0);
	ro = g_lvol;
	CU_ASSERT(lvol_op(brisk_lvol_set_read_only, ro) == 0);
	test_errors_deferred_lvol(v, ro);
	test_errors_deferred_busy(v);
	CU_ASSERT(count_lvols(g_lvs) == 2);
	CU_ASSERT(lvs_unload(g_lvs) == 0);
}

/* ---- Crash at every write of a sequence of creates ---- */

#define CRASH_LVOLS 4

static void test_crash_during_creates(void)
{
	struct brisk_bs_dev *dev;
	uint64_t total, k, acked_at[CRASH_LVOLS];
	char name[16];
	int i, acked;

	/* A store to start from, then count the writes of the sequence. */
	fresh_image();
	CU_ASSERT_FATAL(lvs_init_named("crash", CLUSTER) == 0);
	CU_ASSERT(lvs_unload(g_lvs) == 0);
	memcpy(g_image + DEV_BYTES, g_image, DEV_BYTES); /* pristine copy after the live image */

	total = 0;
	for (k = 0; ; k++) {
		memcpy(g_image, g_image + DEV_BYTES, DEV_BYTES);
		g_done = false;
		dev = ram_dev();
		brisk_bs_dev_ram_set_crash(dev, BRISK_BS_DEV_RAM_CRASH_DROP, k);
		brisk_lvs_load(dev, lvs_cb, NULL);
		poll_until_done();
		if (g_rc != 0) {
			break;
		}
		acked = 0;
		for (i = 0; i < CRASH_LVOLS; i++) {
			snprintf(name, sizeof(name), "v%d", i);
			if (lvol_create(name, CLUSTER, i % 2 == 0) != 0) {
				break;
			}
			acked_at[i] = brisk_bs_dev_ram_write_count(dev);
			acked++;
		}
		total = brisk_bs_dev_ram_write_count(dev);
		/* Power off: nothing from write k on reached the image. */
		CU_ASSERT(lvs_unload(g_lvs) == 0);
		CU_ASSERT_FATAL(lvs_load() == 0);
		for (i = 0; i < acked; i++) {
			snprintf(name, sizeof(name), "v%d", i);
			if (acked_at[i] <= k) {
				CU_ASSERT(brisk_lvol_get_by_name(g_lvs, name) != NULL);
			}
		}
		CU_ASSERT(count_lvols(g_lvs) <= acked);
		CU_ASSERT(lvs_unload(g_lvs) == 0);
		if (k > total) {
			break;
		}
	}
	CU_ASSERT(total > 0);
	CU_ASSERT(k > total); /* every write position was tried */
}

static int suite_init(void)
{
	g_th = brisk_thread_create("lvol_ut", NULL);
	if (g_th == NULL) {
		return -1;
	}
	brisk_set_thread(g_th);
	/* Two images: the live one and a pristine copy for the crash test. */
	g_image = calloc(2, DEV_BYTES);
	return g_image == NULL ? -1 : 0;
}

static int suite_fini(void)
{
	int i, rc;

	free(g_image);
	brisk_thread_exit(g_th);
	for (i = 0; i < 1000 && !brisk_thread_is_exited(g_th); i++) {
		brisk_thread_poll(g_th, 0, 0);
	}
	rc = brisk_thread_is_exited(g_th) ? 0 : -1;
	brisk_set_thread(NULL);
	brisk_thread_destroy(g_th);
	return rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_lvs_bad_input),
	BRISK_UT_TEST(test_lvs_create_load_rename_destroy),
	BRISK_UT_TEST(test_lvol_lifecycle),
	BRISK_UT_TEST(test_snapshot_clone),
	BRISK_UT_TEST(test_errors_deferred),
	BRISK_UT_TEST(test_crash_during_creates),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "lvol", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "lvol_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 256,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
