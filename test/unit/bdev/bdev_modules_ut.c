/*
 * The malloc and null bdev modules through the public bdev API: creation
 * with bad parameters (each rejected with nothing changed), data written and
 * read back (across malloc's memory chunks), unmap / write_zeroes / compare,
 * completions never inside the submit call, auto names and UUIDs, resize
 * events, deletion, the save_config JSON, zero-copy I/O on malloc, and brisk_bdev_module_close_base
 * (a vbdev's base closed on the thread that opened it).
 *
 * Unit tests link only lib/bdev and below, so the two modules are compiled
 * into this test from their sources.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/thread.h>

#include "../../../module/bdev/malloc/bdev_malloc.c"
#include "../../../module/bdev/null/bdev_null.c"
#include "../../common/ut_main.h"

static struct brisk_thread *g_th;

static void poll(void)
{
	while (brisk_thread_poll(g_th, 0, 0) > 0) {
	}
}

static int count_bdevs(void)
{
	int n = 0;

	for (struct brisk_bdev *b = brisk_bdev_first(); b != NULL; b = brisk_bdev_next(b)) {
		n++;
	}
	return n;
}

struct cpl {
	int calls;
	bool success;
	int status;
};

static void io_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	struct cpl *c = arg;

	c->calls++;
	c->success = success;
	c->status = brisk_bdev_io_get_status(io);
	brisk_bdev_free_io(io);
}

struct events {
	int removes;
	int resizes;
};

static void ev_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	struct events *e = ctx;

	if (type == BRISK_BDEV_EVENT_REMOVE) {
		e->removes++;
	} else {
		e->resizes++;
	}
}

static int g_del_calls;
static int g_del_rc;
static void del_done(void *arg, int rc)
{
	g_del_calls++;
	g_del_rc = rc;
}

/* Submits through fn-like macro bodies and waits for the completion. */
#define RUN_IO(c, call) \
	do { \
		memset(&(c), 0, sizeof(c)); \
		CU_ASSERT_EQUAL((call), 0); \
		CU_ASSERT_EQUAL((c).calls, 0); /* never inside the submit call */ \
		poll(); \
		CU_ASSERT_EQUAL((c).calls, 1); \
	} while (0)

static void test_malloc_bad_params(void)
{
	struct bdev_malloc_opts o = { .name = "mbad", .num_blocks = 16, .block_size = 1000 };
	struct brisk_bdev *b = NULL, *first;
	int before = count_bdevs();

	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EINVAL);
	o.block_size = 0;
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EINVAL);
	o.block_size = 512;
	o.num_blocks = 0;
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EINVAL);
	o.num_blocks = UINT64_MAX / 256;
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EINVAL);
	o.num_blocks = 16;
	/* The physical block size must be a power-of-two multiple of the block size. */
	o.physical_block_size = 1536;
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EINVAL);
	o.physical_block_size = 256;
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EINVAL);
	o.physical_block_size = 0;
	o.name = "";
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EINVAL);
	CU_ASSERT_EQUAL(bdev_malloc_create(NULL, &o), -EINVAL);
	CU_ASSERT_PTR_NULL(b);
	CU_ASSERT_EQUAL(count_bdevs(), before);

	o.name = "mdup";
	CU_ASSERT_EQUAL(bdev_malloc_create(&first, &o), 0);
	CU_ASSERT_EQUAL(brisk_bdev_get_physical_block_size(first), 512); /* 0: the block size */
	o.num_blocks = 32;
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EEXIST);
	/* The existing one is untouched. */
	CU_ASSERT_PTR_EQUAL(brisk_bdev_get_by_name("mdup"), first);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(first), 16);
	CU_ASSERT_EQUAL(count_bdevs(), before + 1);
	/* A UUID already in use. */
	o.name = "mdup2";
	o.uuid = first->uuid;
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), -EEXIST);
	CU_ASSERT_EQUAL(count_bdevs(), before + 1);

	CU_ASSERT_EQUAL(bdev_malloc_delete("nosuch", del_done, NULL), -ENODEV);
	g_del_calls = 0;
	CU_ASSERT_EQUAL(bdev_malloc_delete("mdup", del_done, NULL), 0);
	poll();
	CU_ASSERT_EQUAL(g_del_calls, 1);
	CU_ASSERT_EQUAL(g_del_rc, 0);
	CU_ASSERT_EQUAL(count_bdevs(), before);
}

static void test_malloc_io(void)
{
	/* 40 MiB: 3 chunks; 16 KiB physical blocks */
	struct bdev_malloc_opts o = { .num_blocks = 40 * 256, .block_size = 4096, .physical_block_size = 16384 };
	struct brisk_bdev *b;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct events ev = {0};
	struct cpl c;
	size_t len = 64 * 4096;
	uint8_t *w = brisk_dma_malloc(len, 4096, NULL), *r = brisk_dma_malloc(len, 4096, NULL);
	uint64_t chunk_edge = (16ull << 20) / 4096 - 7; /* I/O crossing the first chunk's end */
	json_t *cfg;

	CU_ASSERT_EQUAL(brisk_uuid_parse(&o.uuid, "0c9e1f0a-3b3f-4d4e-9f6a-1234567890ab"), 0);
	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), 0);
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_name(b), "Malloc0");
	CU_ASSERT_PTR_EQUAL(brisk_bdev_get_by_name("0c9e1f0a-3b3f-4d4e-9f6a-1234567890ab"), b);
	CU_ASSERT_EQUAL(brisk_bdev_get_block_size(b), 4096);
	CU_ASSERT_EQUAL(brisk_bdev_get_physical_block_size(b), 16384);
	poll();
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("Malloc0", true, ev_cb, &ev, &desc), 0);
	ch = brisk_bdev_get_io_channel(desc);
	CU_ASSERT_PTR_NOT_NULL(ch);

	for (size_t i = 0; i < len; i++) {
		w[i] = (uint8_t)(i * 13 + (i >> 12));
	}
	RUN_IO(c, brisk_bdev_write_blocks(desc, ch, w, chunk_edge, 64, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	memset(r, 0, len);
	RUN_IO(c, brisk_bdev_read_blocks(desc, ch, r, chunk_edge, 64, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(memcmp(r, w, len), 0);

	RUN_IO(c, brisk_bdev_compare_blocks(desc, ch, w, chunk_edge, 64, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	w[100] ^= 1;
	RUN_IO(c, brisk_bdev_compare_blocks(desc, ch, w, chunk_edge, 64, io_done, &c));
	CU_ASSERT_FALSE(c.success);
	CU_ASSERT_EQUAL(c.status, BRISK_BDEV_IO_STATUS_MISCOMPARE);
	w[100] ^= 1;

	/* Unmap and write_zeroes leave zeroes; neighbours are untouched. */
	RUN_IO(c, brisk_bdev_unmap_blocks(desc, ch, chunk_edge + 1, 2, io_done, &c));
	RUN_IO(c, brisk_bdev_write_zeroes_blocks(desc, ch, chunk_edge + 10, 3, io_done, &c));
	RUN_IO(c, brisk_bdev_read_blocks(desc, ch, r, chunk_edge, 64, io_done, &c));
	for (uint64_t blk = 0; blk < 64; blk++) {
		bool zero = blk == 1 || blk == 2 || (blk >= 10 && blk < 13);
		uint8_t *got = r + blk * 4096;

		for (int i = 0; i < 4096; i++) {
			if (got[i] != (zero ? 0 : w[blk * 4096 + i])) {
				CU_FAIL("unexpected data after unmap/write_zeroes");
				blk = 64;
				break;
			}
		}
	}
	RUN_IO(c, brisk_bdev_flush_blocks(desc, ch, 0, 10, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	RUN_IO(c, brisk_bdev_reset(desc, ch, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	/* Out of range. */
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(desc, ch, r, 40 * 256 - 1, 2, io_done, &c), -EINVAL);

	/* save_config: the call that recreates it. */
	cfg = json_array();
	brisk_bdev_subsystem_config_json(cfg);
	{
		bool found = false;
		size_t i;
		json_t *it;

		json_array_foreach(cfg, i, it) {
			json_t *p = json_object_get(it, "params");

			if (strcmp(json_string_value(json_object_get(it, "method")), "bdev_malloc_create") == 0) {
				found = true;
				CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "name")), "Malloc0");
				CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "num_blocks")), 40 * 256);
				CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "block_size")), 4096);
				CU_ASSERT_EQUAL(json_integer_value(json_object_get(p, "physical_block_size")), 16384);
				CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(p, "uuid")),
						       "0c9e1f0a-3b3f-4d4e-9f6a-1234567890ab");
			}
		}
		CU_ASSERT_TRUE(found);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(cfg, 0), "method")),
				       "bdev_set_options");
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(cfg,
				       json_array_size(cfg) - 1), "method")), "bdev_wait_for_examine");
	}
	json_decref(cfg);

	/* Delete while open: the descriptor is told, deletion ends at close. */
	g_del_calls = 0;
	CU_ASSERT_EQUAL(bdev_malloc_delete("Malloc0", del_done, NULL), 0);
	poll();
	CU_ASSERT_EQUAL(ev.removes, 1);
	CU_ASSERT_EQUAL(g_del_calls, 0);
	brisk_put_io_channel(ch);
	poll();
	brisk_bdev_close(desc);
	poll();
	CU_ASSERT_EQUAL(g_del_calls, 1);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("Malloc0"));
	brisk_free(w);
	brisk_free(r);
}

static void test_null(void)
{
	struct bdev_null_opts o = { .name = "n0", .num_blocks = 1024, .block_size = 1000 };
	struct brisk_bdev *b = NULL;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct events ev = {0};
	struct cpl c;
	uint8_t *buf = malloc(8192);
	int before = count_bdevs();

	CU_ASSERT_EQUAL(bdev_null_create(&b, &o), -EINVAL);
	o.block_size = 512;
	o.num_blocks = 0;
	CU_ASSERT_EQUAL(bdev_null_create(&b, &o), -EINVAL);
	o.num_blocks = 1024;
	o.name = NULL;
	CU_ASSERT_EQUAL(bdev_null_create(&b, &o), -EINVAL);
	CU_ASSERT_EQUAL(count_bdevs(), before);
	o.name = "n0";
	CU_ASSERT_EQUAL(bdev_null_create(&b, &o), 0);
	CU_ASSERT_EQUAL(bdev_null_create(&b, &o), -EEXIST);
	CU_ASSERT_EQUAL(count_bdevs(), before + 1);
	poll();

	CU_ASSERT_EQUAL(brisk_bdev_open_ext("n0", true, ev_cb, &ev, &desc), 0);
	ch = brisk_bdev_get_io_channel(desc);
	memset(buf, 0xff, 8192);
	RUN_IO(c, brisk_bdev_write_blocks(desc, ch, buf, 0, 16, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	RUN_IO(c, brisk_bdev_read_blocks(desc, ch, buf, 0, 16, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	for (int i = 0; i < 8192; i++) {
		if (buf[i] != 0) {
			CU_FAIL("null read returned non-zero data");
			break;
		}
	}
	CU_ASSERT_EQUAL(brisk_bdev_unmap_blocks(desc, ch, 0, 1, io_done, &c), -ENOTSUP);
	RUN_IO(c, brisk_bdev_write_zeroes_blocks(desc, ch, 0, 1024, io_done, &c));
	CU_ASSERT_TRUE(c.success);

	/* Resize: growing notifies; shrinking an open bdev is refused. */
	CU_ASSERT_EQUAL(bdev_null_resize("n0", 1), 0); /* 1 MiB = 2048 blocks */
	poll();
	CU_ASSERT_EQUAL(ev.resizes, 1);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(b), 2048);
	RUN_IO(c, brisk_bdev_read_blocks(desc, ch, buf, 2040, 8, io_done, &c));
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(bdev_null_resize("nosuch", 4), -ENODEV);
	CU_ASSERT_EQUAL(bdev_null_resize("n0", 0), -EINVAL);
	brisk_put_io_channel(ch);
	poll();
	brisk_bdev_close(desc);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(b), 2048);

	g_del_calls = 0;
	CU_ASSERT_EQUAL(bdev_null_delete("n0", del_done, NULL), 0);
	poll();
	CU_ASSERT_EQUAL(g_del_calls, 1);
	CU_ASSERT_EQUAL(count_bdevs(), before);
	/* Deleting a malloc name through null (and the reverse) is refused. */
	{
		struct bdev_malloc_opts mo = { .name = "mx", .num_blocks = 8, .block_size = 512 };
		struct brisk_bdev *mb;

		CU_ASSERT_EQUAL(bdev_malloc_create(&mb, &mo), 0);
		CU_ASSERT_EQUAL(bdev_null_delete("mx", del_done, NULL), -ENODEV);
		CU_ASSERT_PTR_NOT_NULL(brisk_bdev_get_by_name("mx"));
		CU_ASSERT_EQUAL(bdev_malloc_delete("mx", del_done, NULL), 0);
		poll();
	}
	free(buf);
}

/* ---- Zero-copy: malloc lends its memory ---- */

struct zc_cpl {
	int calls;
	bool success;
	struct brisk_bdev_io *io;
};

/* Keeps the bdev_io: a started zero-copy I/O is given back by zcopy_end. */
static void zc_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	struct zc_cpl *c = arg;

	c->calls++;
	c->success = success;
	c->io = io;
}

/* Not cleared first: the call may read c.io (the I/O a start lent). */
#define RUN_ZC(c, call) \
	do { \
		int calls_ = (c).calls; \
		CU_ASSERT_EQUAL((call), 0); \
		CU_ASSERT_EQUAL((c).calls, calls_); /* never inside the call */ \
		poll(); \
		CU_ASSERT_EQUAL((c).calls, calls_ + 1); \
	} while (0)

/* Writes 2 blocks across the first chunk's end with zcopy, reads them back
 * both ways. */
static void zc_write_and_read(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, uint64_t edge)
{
	struct iovec iov[2];
	struct brisk_bdev_io_stat st;
	struct iovec *got;
	int n;
	struct zc_cpl zc = { 0 };
	struct cpl c;
	uint8_t *r = malloc(8192);

	RUN_ZC(zc, brisk_bdev_zcopy_start(desc, ch, iov, 2, edge, 2, false, zc_done, &zc));
	CU_ASSERT_TRUE(zc.success);
	brisk_bdev_io_get_iovec(zc.io, &got, &n);
	CU_ASSERT_PTR_EQUAL(got, iov);
	CU_ASSERT_EQUAL(n, 2); /* one buffer per chunk */
	CU_ASSERT_EQUAL(iov[0].iov_len, 4096);
	CU_ASSERT_EQUAL(iov[1].iov_len, 4096);
	memset(iov[0].iov_base, 0x5a, 4096);
	memset(iov[1].iov_base, 0xa5, 4096);
	RUN_ZC(zc, brisk_bdev_zcopy_end(zc.io, true, zc_done, &zc));
	CU_ASSERT_TRUE(zc.success);
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_end(zc.io, true, zc_done, &zc), -EINVAL); /* ended already */
	brisk_bdev_free_io(zc.io);
	RUN_IO(c, brisk_bdev_read_blocks(desc, ch, r, edge, 2, io_done, &c));
	CU_ASSERT_TRUE(r[0] == 0x5a && r[4095] == 0x5a && r[4096] == 0xa5 && r[8191] == 0xa5);

	RUN_ZC(zc, brisk_bdev_zcopy_start(desc, ch, iov, 2, edge + 1, 1, true, zc_done, &zc));
	CU_ASSERT_TRUE(zc.success);
	brisk_bdev_io_get_iovec(zc.io, &got, &n);
	CU_ASSERT_EQUAL(n, 1);
	CU_ASSERT_EQUAL(((uint8_t *)iov[0].iov_base)[17], 0xa5);
	RUN_ZC(zc, brisk_bdev_zcopy_end(zc.io, false, zc_done, &zc));
	brisk_bdev_free_io(zc.io);
	/* The read half counts as a read, the committed half as a write. */
	brisk_bdev_get_io_stat(brisk_bdev_desc_get_bdev(desc), ch, &st);
	CU_ASSERT_EQUAL(st.num_ops[BRISK_BDEV_IO_TYPE_READ], 2);
	CU_ASSERT_EQUAL(st.num_ops[BRISK_BDEV_IO_TYPE_WRITE], 1);
	CU_ASSERT_EQUAL(st.bytes[BRISK_BDEV_IO_TYPE_READ], 8192 + 4096);
	free(r);
}

static void test_malloc_zcopy(void)
{
	struct bdev_malloc_opts o = { .name = "mz", .num_blocks = 20 * 256, .block_size = 4096 };
	struct bdev_null_opts no = { .name = "nz", .num_blocks = 64, .block_size = 512 };
	uint64_t edge = (16ull << 20) / 4096 - 1; /* last block of the first chunk */
	struct brisk_bdev *b, *nb;
	struct brisk_bdev_desc *desc, *rodesc, *ndesc;
	struct brisk_io_channel *ch, *roch, *nch;
	struct events ev = { 0 };
	struct iovec iov[2];
	struct zc_cpl zc = { 0 };

	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), 0);
	CU_ASSERT_EQUAL(bdev_null_create(&nb, &no), 0);
	poll();
	CU_ASSERT_TRUE(brisk_bdev_io_type_supported(b, BRISK_BDEV_IO_TYPE_ZCOPY));
	CU_ASSERT_FALSE(brisk_bdev_io_type_supported(nb, BRISK_BDEV_IO_TYPE_ZCOPY));
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("mz", true, ev_cb, &ev, &desc), 0);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("mz", false, ev_cb, &ev, &rodesc), 0);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("nz", true, ev_cb, &ev, &ndesc), 0);
	ch = brisk_bdev_get_io_channel(desc);
	roch = brisk_bdev_get_io_channel(rodesc);
	nch = brisk_bdev_get_io_channel(ndesc);

	zc_write_and_read(desc, ch, edge);

	/* Refusals, each before anything starts. */
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_start(ndesc, nch, iov, 2, 0, 1, true, zc_done, &zc), -ENOTSUP);
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_start(rodesc, roch, iov, 2, 0, 1, false, zc_done, &zc), -EBADF);
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_start(desc, ch, NULL, 2, 0, 1, true, zc_done, &zc), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_start(desc, ch, iov, 0, 0, 1, true, zc_done, &zc), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_start(desc, ch, iov, 2, 20 * 256 - 1, 2, true, zc_done, &zc), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_end(NULL, false, zc_done, &zc), -EINVAL);
	/* A read-only descriptor may borrow for reading, not commit. */
	RUN_ZC(zc, brisk_bdev_zcopy_start(rodesc, roch, iov, 1, 0, 1, true, zc_done, &zc));
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_end(zc.io, true, zc_done, &zc), -EBADF);
	RUN_ZC(zc, brisk_bdev_zcopy_end(zc.io, false, zc_done, &zc));
	brisk_bdev_free_io(zc.io);
	/* Too few iovecs for a range across two chunks: the start fails. */
	RUN_ZC(zc, brisk_bdev_zcopy_start(desc, ch, iov, 1, edge, 2, true, zc_done, &zc));
	CU_ASSERT_FALSE(zc.success);
	CU_ASSERT_EQUAL(brisk_bdev_zcopy_end(zc.io, false, zc_done, &zc), -EINVAL);
	brisk_bdev_free_io(zc.io);
	/* A plain I/O cannot be ended as zero-copy. */
	{
		uint8_t buf[512];

		CU_ASSERT_EQUAL(brisk_bdev_read_blocks(ndesc, nch, buf, 0, 1, zc_done, &zc), 0);
		poll();
		CU_ASSERT_EQUAL(brisk_bdev_zcopy_end(zc.io, false, zc_done, &zc), -EINVAL);
		brisk_bdev_free_io(zc.io);
	}

	brisk_put_io_channel(ch);
	brisk_put_io_channel(roch);
	brisk_put_io_channel(nch);
	poll();
	brisk_bdev_close(desc);
	brisk_bdev_close(rodesc);
	brisk_bdev_close(ndesc);
	CU_ASSERT_EQUAL(bdev_malloc_delete("mz", del_done, NULL), 0);
	CU_ASSERT_EQUAL(bdev_null_delete("nz", del_done, NULL), 0);
	poll();
}

/* ---- brisk_bdev_module_close_base: closes on the opening thread ---- */

static struct brisk_thread *g_closed_on;
static void base_closed(void *arg)
{
	g_closed_on = brisk_get_thread();
	*(int *)arg += 1;
}

static void test_close_base_on_opening_thread(void)
{
	struct bdev_malloc_opts o = { .name = "mbase", .num_blocks = 16, .block_size = 512 };
	struct brisk_bdev_module vmod = { .name = "close_base_ut" };
	struct brisk_thread *other = brisk_thread_create("other", NULL);
	struct brisk_bdev_desc *desc, *desc2;
	struct brisk_bdev *b;
	int closed = 0;

	CU_ASSERT_FATAL(other != NULL);
	CU_ASSERT_FATAL(bdev_malloc_create(&b, &o) == 0);
	CU_ASSERT_FATAL(brisk_bdev_open_ext("mbase", false, ev_cb, NULL, &desc) == 0);
	CU_ASSERT(brisk_bdev_module_claim_bdev(b, desc, &vmod) == 0);
	/* The vbdev learns its channels are gone on another thread. */
	brisk_set_thread(other);
	g_closed_on = NULL;
	brisk_bdev_module_close_base(desc, base_closed, &closed);
	CU_ASSERT_EQUAL(closed, 0); /* never inside the call */
	while (brisk_thread_poll(other, 0, 0) > 0) {
	}
	CU_ASSERT_EQUAL(closed, 0); /* nothing runs on the wrong thread */
	brisk_set_thread(g_th);
	poll();
	CU_ASSERT_EQUAL(closed, 1);
	CU_ASSERT_PTR_EQUAL(g_closed_on, g_th);
	/* The claim is released: another module may take the bdev. */
	CU_ASSERT_FATAL(brisk_bdev_open_ext("mbase", false, ev_cb, NULL, &desc2) == 0);
	CU_ASSERT(brisk_bdev_module_claim_bdev(b, desc2, &vmod) == 0);
	brisk_bdev_module_release_bdev(b);
	brisk_bdev_close(desc2);
	g_del_calls = 0;
	CU_ASSERT_EQUAL(bdev_malloc_delete("mbase", del_done, NULL), 0);
	poll();
	CU_ASSERT_EQUAL(g_del_calls, 1);
	brisk_thread_exit(other);
	for (int k = 0; k < 1000 && !brisk_thread_is_exited(other); k++) {
		brisk_thread_poll(other, 0, 0);
	}
	brisk_thread_destroy(other);
}

static int g_init_rc = -1;
static void init_done(void *arg, int rc)
{
	g_init_rc = rc;
}

static bool g_fini;
static void fini_done(void *arg)
{
	g_fini = true;
}

static int ut_setup(void)
{
	struct brisk_bdev_opts opts;

	g_th = brisk_thread_create("ut", NULL);
	brisk_set_thread(g_th);
	brisk_bdev_get_opts(&opts);
	opts.bdev_io_pool_size = 512;
	opts.bdev_io_cache_size = 16;
	opts.small_buf_pool_size = 16;
	opts.large_buf_pool_size = 4;
	if (brisk_bdev_set_opts(&opts) != 0) {
		return -1;
	}
	brisk_bdev_initialize(init_done, NULL);
	poll();
	if (g_init_rc != 0) {
		fprintf(stderr, "bdev init failed: %d\n", g_init_rc);
		return -1;
	}
	return 0;
}

static int ut_teardown(void)
{
	int rc = 0;

	brisk_bdev_finish(fini_done, NULL);
	poll();
	if (!g_fini) {
		fprintf(stderr, "bdev finish did not complete\n");
		rc = -1;
	}
	return brisk_ut_thread_end(g_th) != 0 ? -1 : rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_malloc_bad_params),
	BRISK_UT_TEST(test_malloc_io),
	BRISK_UT_TEST(test_null),
	BRISK_UT_TEST(test_malloc_zcopy),
	BRISK_UT_TEST(test_close_base_on_opening_thread),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bdev_modules", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "bdev_modules_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 192,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
