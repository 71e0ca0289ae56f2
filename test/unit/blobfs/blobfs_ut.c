/*
 * Unit tests of lib/blobfs on a RAM device: every async call (with "not
 * done yet" checked right after it), partial-page writes against a model,
 * truncate, delete while open, rename over an open file, a file larger than
 * the cache (eviction), sync ordering and crash points (the RAM device's
 * crash injection), and the sync API from several application threads
 * while a poller thread runs the file system.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/blobfs.h>
#include <brisk/env.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

#define BLOCKLEN 512
#define DEV_BYTES (16ull * 1024 * 1024)
#define DEV_BLOCKS (DEV_BYTES / BLOCKLEN)
#define SMALL_CACHE (8ull * BRISK_BLOBFS_CACHE_BUFFER_SIZE)

static struct brisk_thread *g_th;
static struct brisk_blobfs *g_fs;
static struct brisk_blobfs_file *g_file;
static struct brisk_bs_dev *g_dev;
static uint8_t *g_img;
static int64_t g_rc;
static int g_done;

static void poll_all(void)
{
	while (brisk_thread_poll(g_th, 0, 0) > 0) {
	}
}

/* Checks the call has not completed yet, runs it, checks one completion. */
static int64_t finish(void)
{
	CU_ASSERT_EQUAL(g_done, 0);
	poll_all();
	CU_ASSERT_EQUAL(g_done, 1);
	g_done = 0;
	return g_rc;
}

static void fs_cb(void *arg, struct brisk_blobfs *fs, int rc)
{
	(void)arg;
	g_fs = fs;
	g_rc = rc;
	g_done++;
}

static void op_cb(void *arg, int rc)
{
	(void)arg;
	g_rc = rc;
	g_done++;
}

static void rw_cb(void *arg, int64_t rc)
{
	(void)arg;
	g_rc = rc;
	g_done++;
}

static void file_cb(void *arg, struct brisk_blobfs_file *f, int rc)
{
	(void)arg;
	g_file = f;
	g_rc = rc;
	g_done++;
}

static int do_init(uint64_t cache)
{
	struct brisk_blobfs_opts o;

	brisk_blobfs_opts_init(&o);
	o.cache_size = cache;
	memset(g_img, 0, DEV_BYTES);
	g_dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, g_img);
	brisk_blobfs_init(g_dev, &o, fs_cb, NULL);
	return (int)finish();
}

static int do_load(uint64_t cache)
{
	struct brisk_blobfs_opts o;

	brisk_blobfs_opts_init(&o);
	o.cache_size = cache;
	g_dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, g_img);
	brisk_blobfs_load(g_dev, &o, fs_cb, NULL);
	return (int)finish();
}

static int do_unload(void)
{
	brisk_blobfs_unload(g_fs, op_cb, NULL);
	return (int)finish();
}

static struct brisk_blobfs_file *do_open(const char *name, uint32_t flags)
{
	g_file = NULL;
	brisk_blobfs_open(g_fs, name, flags, file_cb, NULL);
	finish();
	return g_file;
}

static int do_close(struct brisk_blobfs_file *f)
{
	brisk_blobfs_file_close(f, op_cb, NULL);
	return (int)finish();
}

static int64_t do_write(struct brisk_blobfs_file *f, const void *buf, uint64_t off, uint64_t len)
{
	brisk_blobfs_file_write(f, buf, off, len, rw_cb, NULL);
	return finish();
}

static int64_t do_read(struct brisk_blobfs_file *f, void *buf, uint64_t off, uint64_t len)
{
	brisk_blobfs_file_read(f, buf, off, len, rw_cb, NULL);
	return finish();
}

static int do_sync(struct brisk_blobfs_file *f)
{
	brisk_blobfs_file_sync(f, op_cb, NULL);
	return (int)finish();
}

static int do_truncate(struct brisk_blobfs_file *f, uint64_t size)
{
	brisk_blobfs_file_truncate(f, size, op_cb, NULL);
	return (int)finish();
}

static int do_create(const char *name)
{
	brisk_blobfs_create(g_fs, name, op_cb, NULL);
	return (int)finish();
}

static int do_delete(const char *name)
{
	brisk_blobfs_delete(g_fs, name, op_cb, NULL);
	return (int)finish();
}

static int do_rename(const char *a, const char *b)
{
	brisk_blobfs_rename(g_fs, a, b, op_cb, NULL);
	return (int)finish();
}

static void fill(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
	}
}

static uint64_t num_blobs(void)
{
	struct brisk_bs_stats st;

	brisk_bs_get_stats(brisk_blobfs_get_bs(g_fs), &st);
	return st.num_blobs;
}

/* ---- tests ---- */

static void test_init_load_namespace(void)
{
	struct brisk_blobfs_stat st;
	int count = 0;

	CU_ASSERT_EQUAL_FATAL(do_init(0), 0);
	CU_ASSERT_EQUAL(do_create("a"), 0);
	CU_ASSERT_EQUAL(do_create("a"), -EEXIST);
	CU_ASSERT_EQUAL(do_create(""), -EINVAL);
	CU_ASSERT_EQUAL(do_create("x/y"), -EINVAL);
	CU_ASSERT_EQUAL(do_create("b"), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "a", &st), 0);
	CU_ASSERT_EQUAL(st.size, 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "zz", &st), -ENOENT);
	CU_ASSERT_PTR_NULL(do_open("nope", 0));
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(0), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "a", &st), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "b", &st), 0);
	count = 0;
	CU_ASSERT_EQUAL(num_blobs(), 2);
	CU_ASSERT_EQUAL(do_delete("a"), 0);
	CU_ASSERT_EQUAL(do_delete("a"), -ENOENT);
	CU_ASSERT_EQUAL(num_blobs(), 1);
	(void)count;
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static int count_cb(void *ctx, const char *name, const struct brisk_blobfs_stat *st)
{
	(void)name;
	(void)st;
	(*(int *)ctx)++;
	return 0;
}

static void test_rw_model(void)
{
	static uint8_t model[3 * 1024 * 1024], buf[3 * 1024 * 1024];
	struct brisk_blobfs_file *f;
	uint64_t size = 0;
	unsigned seed = 1;
	int n = 0;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	f = do_open("data", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memset(model, 0, sizeof(model));
	for (int i = 0; i < 300; i++) {
		uint64_t off = (uint64_t)rand_r(&seed) % (sizeof(model) - 70000);
		uint64_t len = 1 + (uint64_t)rand_r(&seed) % (i % 10 == 0 ? 70000 : 5000);

		fill(buf, len, (unsigned)i);
		memcpy(model + off, buf, len);
		CU_ASSERT_EQUAL(do_write(f, buf, off, len), (int64_t)len);
		size = off + len > size ? off + len : size;
		if (i % 50 == 49) {
			CU_ASSERT_EQUAL(do_sync(f), 0);
		}
	}
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), size);
	CU_ASSERT_EQUAL(do_read(f, buf, 0, sizeof(buf)), (int64_t)size);
	CU_ASSERT(memcmp(buf, model, size) == 0);
	CU_ASSERT_EQUAL(do_read(f, buf, size, 10), 0);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_iterate(g_fs, count_cb, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	f = do_open("data", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), size);
	memset(buf, 0xee, sizeof(buf));
	/* sequential reads in small pieces: the read-ahead path */
	for (uint64_t off = 0; off < size; off += 3000) {
		uint64_t len = size - off < 3000 ? size - off : 3000;

		CU_ASSERT_EQUAL(do_read(f, buf + off, off, 3000), (int64_t)len);
	}
	CU_ASSERT(memcmp(buf, model, size) == 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

/* 512 writes of 4 KiB into an 8-buffer cache: evictions write whole
 * chunks (at most one device write per 64 KiB), and sequential 4 KiB reads
 * after a reload load one chunk per device read, the next chunk ahead. */
static void test_eviction_coalescing(void)
{
	static uint8_t buf[4096], rd[4096];
	struct brisk_bs_dev_ram_counts c0, c1;
	struct brisk_blobfs_file *f;
	const uint64_t total = 2 * 1024 * 1024, chunks = total / BRISK_BLOBFS_CACHE_BUFFER_SIZE;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	f = do_open("big", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	brisk_bs_dev_ram_get_counts(g_dev, &c0);
	for (uint64_t off = 0; off < total; off += sizeof(buf)) {
		fill(buf, sizeof(buf), (unsigned)(off / 4096));
		CU_ASSERT_EQUAL(do_write(f, buf, off, sizeof(buf)), (int64_t)sizeof(buf));
	}
	brisk_bs_dev_ram_get_counts(g_dev, &c1);
	CU_ASSERT(c1.writes - c0.writes >= chunks - 8); /* all but the cache's worth evicted */
	CU_ASSERT(c1.writes - c0.writes <= chunks + 4); /* a few metadata writes (resize) */
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	f = do_open("big", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	brisk_bs_dev_ram_get_counts(g_dev, &c0);
	for (uint64_t off = 0; off < total; off += sizeof(rd)) {
		fill(buf, sizeof(buf), (unsigned)(off / 4096));
		CU_ASSERT_EQUAL(do_read(f, rd, off, sizeof(rd)), (int64_t)sizeof(rd));
		CU_ASSERT(memcmp(rd, buf, sizeof(rd)) == 0);
		if (off == 0) {
			/* the first read loaded its chunk and, read-ahead, the next */
			brisk_bs_dev_ram_get_counts(g_dev, &c1);
			CU_ASSERT_EQUAL(c1.reads - c0.reads, 2);
		}
	}
	brisk_bs_dev_ram_get_counts(g_dev, &c1);
	CU_ASSERT_EQUAL(c1.reads - c0.reads, chunks);
	CU_ASSERT_EQUAL(c1.read_blocks - c0.read_blocks, total / BLOCKLEN);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static void test_truncate(void)
{
	static uint8_t buf[2 * 1024 * 1024], zero[2 * 1024 * 1024];
	struct brisk_blobfs_file *f;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	f = do_open("t", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memset(buf, 0xab, sizeof(buf));
	CU_ASSERT_EQUAL(do_write(f, buf, 0, sizeof(buf)), (int64_t)sizeof(buf));
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_truncate(f, 1000), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), 1000);
	CU_ASSERT_EQUAL(do_truncate(f, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(do_read(f, buf, 0, sizeof(buf)), (int64_t)sizeof(buf));
	CU_ASSERT(buf[999] == 0xab);
	CU_ASSERT(memcmp(buf + 1000, zero, sizeof(buf) - 1000) == 0);
	/* again after the cache forgot everything */
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	f = do_open("t", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_read(f, buf, 0, sizeof(buf)), (int64_t)sizeof(buf));
	CU_ASSERT(buf[999] == 0xab);
	CU_ASSERT(memcmp(buf + 1000, zero, sizeof(buf) - 1000) == 0);
	CU_ASSERT_EQUAL(do_truncate(f, 0), 0);
	CU_ASSERT_EQUAL(do_read(f, buf, 0, 10), 0);
	/* a write past the end leaves a hole of zeroes */
	CU_ASSERT_EQUAL(do_write(f, "xyz", 300000, 3), 3);
	CU_ASSERT_EQUAL(do_read(f, buf, 0, 300003), 300003);
	CU_ASSERT(memcmp(buf, zero, 300000) == 0 && memcmp(buf + 300000, "xyz", 3) == 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static void test_delete_while_open(void)
{
	struct brisk_blobfs_file *f, *g;
	struct brisk_blobfs_stat st;
	char buf[16];

	CU_ASSERT_EQUAL_FATAL(do_init(0), 0);
	f = do_open("d", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_write(f, "hello", 0, 5), 5);
	CU_ASSERT_EQUAL(do_delete("d"), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "d", &st), -ENOENT);
	CU_ASSERT_EQUAL(num_blobs(), 1);
	/* a new file of the same name is another file */
	g = do_open("d", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(g), 0);
	CU_ASSERT_EQUAL(do_read(f, buf, 0, 16), 5);
	CU_ASSERT(memcmp(buf, "hello", 5) == 0);
	CU_ASSERT_EQUAL(do_unload(), -EBUSY);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(num_blobs(), 1);
	CU_ASSERT_EQUAL(do_close(g), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

/* A crash after the delete: the next load reaps the unlinked blob. */
static void test_delete_open_crash(void)
{
	struct brisk_blobfs_file *f;

	CU_ASSERT_EQUAL_FATAL(do_init(0), 0);
	f = do_open("d", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_delete("d"), 0);
	brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_DROP, 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(0), 0);
	CU_ASSERT_EQUAL(num_blobs(), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static void test_rename_over_open(void)
{
	struct brisk_blobfs_file *a, *b;
	struct brisk_blobfs_stat st;
	char buf[8];

	CU_ASSERT_EQUAL_FATAL(do_init(0), 0);
	a = do_open("a", BRISK_BLOBFS_OPEN_CREATE);
	b = do_open("b", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_EQUAL(do_write(a, "AAAA", 0, 4), 4);
	CU_ASSERT_EQUAL(do_write(b, "BBBBBB", 0, 6), 6);
	CU_ASSERT_EQUAL(do_sync(b), 0);
	CU_ASSERT_EQUAL(do_rename("b", "a"), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "b", &st), -ENOENT);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "a", &st), 0);
	CU_ASSERT_EQUAL(st.size, 6);
	CU_ASSERT_EQUAL(do_read(a, buf, 0, 8), 4); /* the old file stays readable */
	CU_ASSERT(memcmp(buf, "AAAA", 4) == 0);
	CU_ASSERT_STRING_EQUAL(brisk_blobfs_file_get_name(b), "a");
	CU_ASSERT_EQUAL(do_rename("a", "a"), 0);
	CU_ASSERT_EQUAL(do_rename("zz", "y"), -ENOENT);
	CU_ASSERT_EQUAL(do_close(a), 0);
	CU_ASSERT_EQUAL(do_close(b), 0);
	CU_ASSERT_EQUAL(num_blobs(), 1);
	/* rename of a closed file */
	CU_ASSERT_EQUAL(do_rename("a", "c"), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(0), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "c", &st), 0);
	CU_ASSERT_EQUAL(st.size, 6);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "a", &st), -ENOENT);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

/* Crash at every write of a rename over an existing file: the load finds
 * either the old pair or the new name, never both missing or a mix. */
static void test_rename_crash_points(void)
{
	static uint8_t base[DEV_BYTES];
	uint64_t writes;

	CU_ASSERT_EQUAL_FATAL(do_init(0), 0);
	for (int i = 0; i < 2; i++) {
		struct brisk_blobfs_file *f = do_open(i ? "new" : "old", BRISK_BLOBFS_OPEN_CREATE);

		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		CU_ASSERT_EQUAL(do_write(f, i ? "NEW!" : "OLD", 0, i ? 4 : 3), i ? 4 : 3);
		CU_ASSERT_EQUAL(do_sync(f), 0);
		CU_ASSERT_EQUAL(do_close(f), 0);
	}
	CU_ASSERT_EQUAL(do_unload(), 0);
	memcpy(base, g_img, DEV_BYTES);
	CU_ASSERT_EQUAL_FATAL(do_load(0), 0);
	brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_NONE, 0);
	CU_ASSERT_EQUAL(do_rename("new", "old"), 0);
	writes = brisk_bs_dev_ram_write_count(g_dev);
	CU_ASSERT(writes >= 2);
	CU_ASSERT_EQUAL(do_unload(), 0);
	for (uint64_t k = 0; k <= writes; k++) {
		struct brisk_blobfs_stat so, sn;
		int ro, rn;

		memcpy(g_img, base, DEV_BYTES);
		CU_ASSERT_EQUAL_FATAL(do_load(0), 0);
		brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_DROP, k);
		do_rename("new", "old");
		brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_NONE, 0);
		/* the crash: drop the store without unloading, reload the image */
		brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_DROP, 0);
		CU_ASSERT_EQUAL(do_unload(), 0);
		CU_ASSERT_EQUAL_FATAL(do_load(0), 0);
		ro = brisk_blobfs_stat(g_fs, "old", &so);
		rn = brisk_blobfs_stat(g_fs, "new", &sn);
		CU_ASSERT_EQUAL(ro, 0);
		CU_ASSERT((rn == 0 && so.size == 3 && sn.size == 4) || (rn == -ENOENT && so.size == 4));
		CU_ASSERT_EQUAL(num_blobs(), rn == 0 ? 2 : 1);
		CU_ASSERT_EQUAL(do_unload(), 0);
	}
}

/* Sync ordering: what was synced survives a crash; what came after the
 * sync may or may not, but the file is never shorter than at the sync. */
static void test_sync_crash(void)
{
	static uint8_t buf[300000], rd[600000];
	struct brisk_blobfs_file *f;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	f = do_open("s", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fill(buf, sizeof(buf), 3);
	CU_ASSERT_EQUAL(do_write(f, buf, 0, sizeof(buf)), (int64_t)sizeof(buf));
	CU_ASSERT_EQUAL(do_sync(f), 0);
	brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_DROP, 0);
	CU_ASSERT_EQUAL(do_write(f, buf, sizeof(buf), sizeof(buf)), (int64_t)sizeof(buf));
	CU_ASSERT_EQUAL(do_write(f, "zz", 5, 2), 2);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	f = do_open("s", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), sizeof(buf));
	CU_ASSERT_EQUAL(do_read(f, rd, 0, sizeof(rd)), (int64_t)sizeof(buf));
	CU_ASSERT(memcmp(rd, buf, sizeof(buf)) == 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static uint64_t dev_writes(void)
{
	struct brisk_bs_dev_ram_counts c;

	brisk_bs_dev_ram_get_counts(g_dev, &c);
	return c.writes + c.zeroes;
}

/* A sync that changes neither size nor clusters writes no metadata (data
 * and a flush only); one that grows or shrinks the file does, and after a
 * crash each synced state is what loads. */
static void test_sync_md_only_when_changed(void)
{
	static uint8_t a[10240], b[8192], rd[16384]; /* a: also the 10000-byte write */
	struct brisk_blobfs_file *f;
	uint64_t w;

	fill(a, sizeof(a), 11);
	fill(b, sizeof(b), 12);
	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	f = do_open("m", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_write(f, a, 0, 8192), 8192);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	w = dev_writes();
	CU_ASSERT_EQUAL(do_write(f, b, 0, 4096), 4096);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(dev_writes() - w, 1); /* the page, no metadata */
	w = dev_writes();
	CU_ASSERT_EQUAL(do_write(f, b, 8192, 100), 100);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT(dev_writes() - w >= 2); /* the page and the new size */
	CU_ASSERT_EQUAL(do_truncate(f, 6000), 0);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	w = dev_writes();
	CU_ASSERT_EQUAL(do_write(f, b + 4096, 4096, 1904), 1904);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(dev_writes() - w, 1);
	brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_DROP, 0);
	CU_ASSERT_EQUAL(do_write(f, a, 0, 10000), 10000); /* lost in the crash */
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	f = do_open("m", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), 6000);
	CU_ASSERT_EQUAL(do_read(f, rd, 0, sizeof(rd)), 6000);
	CU_ASSERT(memcmp(rd, b, 6000) == 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

/* A lazy-size file (SQLite's WAL) that grows within its last cluster syncs
 * its data and a flush only, while it reads its exact size; after a crash it
 * loads as long as its clusters: the synced data, then zeroes. Other files
 * and unknown open flags keep their behaviour. */
static void test_lazy_size(void)
{
	static uint8_t a[12288], rd[12288], zero[4096];
	struct brisk_blobfs_stat st;
	struct brisk_blobfs_file *f;
	uint64_t w;

	fill(a, sizeof(a), 31);
	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	CU_ASSERT_PTR_NULL(do_open("w", BRISK_BLOBFS_OPEN_CREATE | 0x80u));
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	f = do_open("w", BRISK_BLOBFS_OPEN_CREATE | BRISK_BLOBFS_OPEN_LAZY_SIZE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_write(f, a, 0, 8192), 8192);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	w = dev_writes();
	CU_ASSERT_EQUAL(do_write(f, a + 8192, 8192, 4096), 4096);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(dev_writes() - w, 1); /* grew, yet no metadata */
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), sizeof(a));
	brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_DROP, 0);
	CU_ASSERT_EQUAL(do_write(f, "lost", sizeof(a), 4), 4);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	CU_ASSERT_EQUAL_FATAL(brisk_blobfs_stat(g_fs, "w", &st), 0);
	CU_ASSERT_EQUAL(st.size, st.allocated);
	CU_ASSERT(st.size > sizeof(a));
	f = do_open("w", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_read(f, rd, 0, sizeof(rd)), (int64_t)sizeof(rd));
	CU_ASSERT(memcmp(rd, a, sizeof(a)) == 0);
	CU_ASSERT_EQUAL(do_read(f, rd, sizeof(a), sizeof(zero)), (int64_t)sizeof(zero));
	CU_ASSERT(memcmp(rd, zero, sizeof(zero)) == 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

/* A deleted small file's blob is kept as a spare and taken by the next
 * create: the new file is empty and reads zeroes in its holes (none of the
 * old data), the old name is gone, after a crash too, and unload (or the
 * next load, after a crash) deletes a kept spare. */
static void test_spare_blob_reuse(void)
{
	static uint8_t old[70000], rd[70000], zero[70000];
	struct brisk_blobfs_stat st;
	struct brisk_blobfs_file *f;

	fill(old, sizeof(old), 21);
	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	f = do_open("j1", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_write(f, old, 0, sizeof(old)), (int64_t)sizeof(old));
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_delete("j1"), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "j1", &st), -ENOENT);
	CU_ASSERT_EQUAL(num_blobs(), 1); /* the spare */
	f = do_open("j2", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(num_blobs(), 1); /* the spare became j2 */
	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), 0);
	CU_ASSERT_EQUAL(do_write(f, "x", sizeof(old) - 1, 1), 1);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	f = do_open("j2", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_read(f, rd, 0, sizeof(rd)), (int64_t)sizeof(rd));
	CU_ASSERT(memcmp(rd, zero, sizeof(rd) - 1) == 0);
	CU_ASSERT_EQUAL(rd[sizeof(rd) - 1], 'x');
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "j1", &st), -ENOENT);
	/* a crash right after a delete that kept a spare */
	CU_ASSERT_EQUAL(do_delete("j2"), 0);
	CU_ASSERT_EQUAL(do_create("c"), 0); /* takes the spare */
	CU_ASSERT_EQUAL(do_delete("c"), 0); /* its clusters: the spare again */
	brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_DROP, 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE), 0);
	CU_ASSERT_EQUAL(num_blobs(), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_stat(g_fs, "j2", &st), -ENOENT);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static void test_bad_args(void)
{
	struct brisk_blobfs_opts o;
	struct brisk_blobfs_file *f;
	char buf[4];

	brisk_blobfs_opts_init(&o);
	o.cache_size = 4096;
	g_dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, g_img);
	brisk_blobfs_init(g_dev, &o, fs_cb, NULL);
	CU_ASSERT_EQUAL(finish(), -EINVAL);
	CU_ASSERT_EQUAL(brisk_blobfs_set_cache_size(100), -EINVAL);
	/* a blobstore of another type is no blobfs */
	memset(g_img, 0, DEV_BYTES);
	CU_ASSERT_EQUAL(do_load(0), -EILSEQ);
	CU_ASSERT_EQUAL_FATAL(do_init(0), 0);
	f = do_open("f", BRISK_BLOBFS_OPEN_CREATE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(do_read(f, NULL, 0, 4), -EINVAL);
	CU_ASSERT_EQUAL(do_write(f, buf, UINT64_MAX - 1, 4), -EINVAL);
	CU_ASSERT_PTR_NULL(do_open("g", 0x80));
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static int do_batch(struct brisk_blobfs_file *f, int what)
{
	if (what == 0) {
		brisk_blobfs_file_batch_begin(f, op_cb, NULL);
	} else if (what == 1) {
		brisk_blobfs_file_batch_commit(f, op_cb, NULL);
	} else {
		brisk_blobfs_file_batch_abort(f, op_cb, NULL);
	}
	return (int)finish();
}

#define BATCH_BASE (300 * 1024)
static uint8_t g_old[BATCH_BASE + 200000], g_new[BATCH_BASE + 200000];

/* The batch of the batch tests: three scattered writes, one extending. */
static void batch_writes(struct brisk_blobfs_file *f)
{
	static const uint64_t offs[] = { 10, 70000, BATCH_BASE - 100 };
	static const uint64_t lens[] = { 5000, 3, 150000 };

	memcpy(g_new, g_old, sizeof(g_new));
	for (int i = 0; i < 3; i++) {
		fill(g_new + offs[i], lens[i], 77 + i);
		CU_ASSERT_EQUAL(do_write(f, g_new + offs[i], offs[i], lens[i]), (int64_t)lens[i]);
	}
}

static struct brisk_blobfs_file *batch_base(void)
{
	struct brisk_blobfs_file *f = do_open("db", BRISK_BLOBFS_OPEN_CREATE);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	memset(g_old, 0, sizeof(g_old));
	fill(g_old, BATCH_BASE, 5);
	CU_ASSERT_EQUAL(do_write(f, g_old, 0, BATCH_BASE), BATCH_BASE);
	CU_ASSERT_EQUAL(do_sync(f), 0);
	return f;
}

static void check_content(struct brisk_blobfs_file *f, const uint8_t *want, uint64_t size)
{
	static uint8_t rd[sizeof(g_old)];

	CU_ASSERT_EQUAL(brisk_blobfs_file_get_size(f), size);
	CU_ASSERT_EQUAL(do_read(f, rd, 0, sizeof(rd)), (int64_t)size);
	CU_ASSERT(memcmp(rd, want, size) == 0);
}

static void test_batch(void)
{
	const uint64_t new_size = BATCH_BASE - 100 + 150000;
	struct brisk_blobfs_file *f;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE * 2), 0);
	f = batch_base();
	CU_ASSERT_EQUAL(do_batch(f, 1), -EINVAL);
	CU_ASSERT_EQUAL(do_batch(f, 0), 0);
	CU_ASSERT_EQUAL(do_batch(f, 0), -EBUSY);
	batch_writes(f);
	check_content(f, g_new, new_size);
	CU_ASSERT_EQUAL(do_truncate(f, 10), -EBUSY);
	CU_ASSERT_EQUAL(do_batch(f, 2), 0);
	check_content(f, g_old, BATCH_BASE);
	CU_ASSERT_EQUAL(do_batch(f, 0), 0);
	batch_writes(f);
	CU_ASSERT_EQUAL(do_batch(f, 1), 0);
	check_content(f, g_new, new_size);
	CU_ASSERT_EQUAL(do_batch(f, 0), 0);
	CU_ASSERT_EQUAL(do_batch(f, 1), 0); /* an empty batch */
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(num_blobs(), 2); /* the file and the journal */
	CU_ASSERT_EQUAL(do_unload(), 0);
	CU_ASSERT_EQUAL_FATAL(do_load(0), 0);
	f = do_open("db", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	check_content(f, g_new, new_size);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

/* A batch larger than half the cache is refused; abort recovers. */
static void test_batch_too_big(void)
{
	static uint8_t buf[5 * BRISK_BLOBFS_CACHE_BUFFER_SIZE];
	struct brisk_blobfs_file *f;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	f = batch_base();
	CU_ASSERT_EQUAL(do_batch(f, 0), 0);
	CU_ASSERT_EQUAL(do_write(f, buf, 0, sizeof(buf)), -ENOSPC);
	CU_ASSERT_EQUAL(do_batch(f, 2), 0);
	check_content(f, g_old, BATCH_BASE);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

/* Crash at every write of a commit (and of the replay that follows a crash
 * after the commit point): the file is all old or all new. */
static void test_batch_crash_points(void)
{
	static uint8_t base[DEV_BYTES];
	const uint64_t new_size = BATCH_BASE - 100 + 150000;
	struct brisk_blobfs_file *f;
	uint64_t writes;
	int olds = 0, news = 0;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE * 2), 0);
	f = batch_base();
	/* a first commit creates the journal, so the loop sees steady state */
	CU_ASSERT_EQUAL(do_batch(f, 0), 0);
	CU_ASSERT_EQUAL(do_write(f, g_old, 0, 4096), 4096);
	CU_ASSERT_EQUAL(do_batch(f, 1), 0);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	memcpy(base, g_img, DEV_BYTES);
	CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE * 2), 0);
	f = do_open("db", 0);
	brisk_bs_dev_ram_set_crash(g_dev, BRISK_BS_DEV_RAM_CRASH_NONE, 0);
	CU_ASSERT_EQUAL(do_batch(f, 0), 0);
	batch_writes(f);
	CU_ASSERT_EQUAL(do_batch(f, 1), 0);
	writes = brisk_bs_dev_ram_write_count(g_dev);
	CU_ASSERT(writes >= 4);
	CU_ASSERT_EQUAL(do_close(f), 0);
	CU_ASSERT_EQUAL(do_unload(), 0);
	for (uint64_t k = 0; k <= writes; k++) {
		for (int tear = 0; tear < 2; tear++) {
			memcpy(g_img, base, DEV_BYTES);
			CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE * 2), 0);
			f = do_open("db", 0);
			CU_ASSERT_PTR_NOT_NULL_FATAL(f);
			brisk_bs_dev_ram_set_crash(g_dev, tear ? BRISK_BS_DEV_RAM_CRASH_TEAR :
						   BRISK_BS_DEV_RAM_CRASH_DROP, k);
			CU_ASSERT_EQUAL(do_batch(f, 0), 0);
			batch_writes(f);
			do_batch(f, 1);
			CU_ASSERT_EQUAL(do_close(f), 0);
			CU_ASSERT_EQUAL(do_unload(), 0);
			CU_ASSERT_EQUAL_FATAL(do_load(SMALL_CACHE * 2), 0);
			f = do_open("db", 0);
			CU_ASSERT_PTR_NOT_NULL_FATAL(f);
			if (brisk_blobfs_file_get_size(f) == new_size) {
				check_content(f, g_new, new_size);
				news++;
			} else {
				check_content(f, g_old, BATCH_BASE);
				olds++;
			}
			CU_ASSERT_EQUAL(do_close(f), 0);
			CU_ASSERT_EQUAL(do_unload(), 0);
		}
	}
	CU_ASSERT(olds > 0 && news > 0);
}

/* ---- the sync API from application threads ---- */

static volatile int g_stop;

static void *reactor(void *arg)
{
	(void)arg;
	brisk_set_thread(g_th);
	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		brisk_thread_poll(g_th, 0, 0);
	}
	return NULL;
}

struct worker {
	int id;
	int errors;
};

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct brisk_blobfs_sync_ctx *ctx = brisk_blobfs_sync_ctx_alloc(g_fs);
	static __thread uint8_t buf[200000], rd[200000];
	struct brisk_blobfs_file *f;
	char name[32];
	uint64_t size;

	snprintf(name, sizeof(name), "w%d", w->id);
	if (ctx == NULL || brisk_blobfs_sync_open(ctx, name, BRISK_BLOBFS_OPEN_CREATE, &f) != 0) {
		w->errors++;
		return NULL;
	}
	for (int i = 0; i < 20; i++) {
		uint64_t off = (uint64_t)i * 7777;

		fill(buf, 10000, (unsigned)(w->id * 100 + i));
		memcpy(rd + off, buf, 10000);
		w->errors += brisk_blobfs_sync_write(ctx, f, buf, off, 10000) != 10000;
		if (i % 5 == 0) {
			w->errors += brisk_blobfs_sync_sync(ctx, f) != 0;
		}
	}
	size = 19 * 7777 + 10000;
	w->errors += brisk_blobfs_sync_read(ctx, f, buf, 0, sizeof(buf)) != (int64_t)size;
	w->errors += memcmp(buf, rd, size) != 0;
	w->errors += brisk_blobfs_sync_size(ctx, f, &size) != 0 || size != 19 * 7777 + 10000;
	w->errors += brisk_blobfs_sync_truncate(ctx, f, 5000) != 0;
	w->errors += brisk_blobfs_sync_sync(ctx, f) != 0;
	w->errors += brisk_blobfs_sync_close(ctx, f) != 0;
	brisk_blobfs_sync_ctx_free(ctx);
	return NULL;
}

static void test_sync_api_threads(void)
{
	enum { N = 6 };
	pthread_t r, t[N];
	struct worker w[N];
	struct brisk_blobfs_sync_ctx *ctx;
	struct brisk_blobfs_stat st;
	char **names;
	size_t count;

	CU_ASSERT_EQUAL_FATAL(do_init(SMALL_CACHE), 0);
	g_stop = 0;
	pthread_create(&r, NULL, reactor, NULL);
	for (int i = 0; i < N; i++) {
		w[i].id = i;
		w[i].errors = 0;
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].errors, 0);
	}
	ctx = brisk_blobfs_sync_ctx_alloc(g_fs);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(brisk_blobfs_sync_list(ctx, &names, &count), 0);
	CU_ASSERT_EQUAL(count, N);
	brisk_blobfs_free_names(names, count);
	CU_ASSERT_EQUAL(brisk_blobfs_sync_stat(ctx, "w3", &st), 0);
	CU_ASSERT_EQUAL(st.size, 5000);
	CU_ASSERT_EQUAL(brisk_blobfs_sync_rename(ctx, "w3", "w0"), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_sync_delete(ctx, "w1"), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_sync_create(ctx, "w1"), 0);
	CU_ASSERT_EQUAL(brisk_blobfs_sync_stat(ctx, "w3", &st), -ENOENT);
	CU_ASSERT_EQUAL(brisk_blobfs_sync_stat(ctx, "w1", &st), 0);
	CU_ASSERT_EQUAL(st.size, 0);
	brisk_blobfs_sync_ctx_free(ctx);
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
	pthread_join(r, NULL);
	brisk_set_thread(g_th);
	CU_ASSERT_EQUAL(do_unload(), 0);
}

static int suite_init(void)
{
	g_img = malloc(DEV_BYTES);
	g_th = brisk_thread_create("blobfs_ut", NULL);
	if (g_img == NULL || g_th == NULL) {
		return 1;
	}
	brisk_set_thread(g_th);
	return 0;
}

static int suite_fini(void)
{
	brisk_thread_exit(g_th);
	while (!brisk_thread_is_exited(g_th)) {
		brisk_thread_poll(g_th, 0, 0);
	}
	brisk_thread_destroy(g_th);
	free(g_img);
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_init_load_namespace),
	BRISK_UT_TEST(test_rw_model),
	BRISK_UT_TEST(test_eviction_coalescing),
	BRISK_UT_TEST(test_truncate),
	BRISK_UT_TEST(test_delete_while_open),
	BRISK_UT_TEST(test_delete_open_crash),
	BRISK_UT_TEST(test_rename_over_open),
	BRISK_UT_TEST(test_rename_crash_points),
	BRISK_UT_TEST(test_sync_crash),
	BRISK_UT_TEST(test_sync_md_only_when_changed),
	BRISK_UT_TEST(test_lazy_size),
	BRISK_UT_TEST(test_spare_blob_reuse),
	BRISK_UT_TEST(test_bad_args),
	BRISK_UT_TEST(test_batch),
	BRISK_UT_TEST(test_batch_too_big),
	BRISK_UT_TEST(test_batch_crash_points),
	BRISK_UT_TEST(test_sync_api_threads),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blobfs", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blobfs_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 128,
	.thread_opts = { .msg_pool_size = 65535 },
	.suites = g_ut_suites,
};
