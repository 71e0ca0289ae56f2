/*
 * Shared by the blobstore unit tests: two brisk threads polled by hand (md
 * = g_th[0], io = g_th[1]), a RAM device of DEV_BYTES, and one synchronous
 * wrapper per call (start it, poll until nothing is left to do, check that
 * exactly one completion came). Header-only, every helper static inline so
 * each test uses what it needs.
 */
#ifndef BRISK_BS_UT_H
#define BRISK_BS_UT_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/blob.h>
#include <brisk/crc32c.h>
#include <brisk/env.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

/* The on-disk layout, named once (lib/blob/blob_layout.h). */
#include "../../../lib/blob/blob_layout.h"
/* In a head page: the BLOB descriptor, then the first EXTENT_RUN. */
#define UT_BLOB_DESC_OFF BLOB_MDH_END
#define UT_FIRST_RUN_OFF (BLOB_MDH_END + BLOB_DESC_PAYLOAD_OFF + BLOB_DB_SIZE)

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
static struct brisk_bs_dev *g_last_dev;

static inline void poll_all(void)
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

static inline void bs_cb(void *arg, struct brisk_blob_store *bs, int rc)
{
	(void)arg;
	g_bs = bs;
	g_rc = rc;
	g_done++;
}

static inline void op_cb(void *arg, int rc)
{
	(void)arg;
	g_rc = rc;
	g_done++;
}

static inline void id_cb(void *arg, brisk_blob_id id, int rc)
{
	(void)arg;
	g_id = id;
	g_rc = rc;
	g_done++;
}

static inline void blob_cb(void *arg, struct brisk_blob *blob, int rc)
{
	(void)arg;
	g_blob = blob;
	g_rc = rc;
	g_done++;
}

/* Runs what was started and checks exactly one completion came. */
static inline int finish(void)
{
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, 1);
	return g_rc;
}

static inline struct brisk_bs_opts small_opts(void)
{
	struct brisk_bs_opts o;

	brisk_bs_opts_init(&o);
	o.cluster_sz = CLUSTER;
	o.num_md_pages = 128; /* 32 ids, 64 chain pages */
	memcpy(o.bstype.bstype, "brisk_ut", 8);
	return o;
}

static inline int do_init(uint8_t *image, const struct brisk_bs_opts *o)
{
	struct brisk_bs_dev *dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, image);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	g_last_dev = dev;
	g_bs = NULL;
	brisk_bs_init(dev, o, bs_cb, NULL);
	return finish();
}

static inline int do_load(uint8_t *image, const struct brisk_bs_opts *o)
{
	struct brisk_bs_dev *dev = brisk_bs_dev_ram_create(DEV_BLOCKS, BLOCKLEN, image);

	CU_ASSERT_PTR_NOT_NULL_FATAL(dev);
	g_last_dev = dev;
	g_bs = NULL;
	brisk_bs_load(dev, o, bs_cb, NULL);
	return finish();
}

static inline int do_unload(void)
{
	brisk_bs_unload(g_bs, op_cb, NULL);
	return finish();
}

static inline brisk_blob_id do_create(uint64_t clusters, bool thin)
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

static inline struct brisk_blob *do_open(brisk_blob_id id)
{
	g_blob = NULL;
	brisk_bs_open_blob(g_bs, id, blob_cb, NULL);
	finish();
	return g_blob;
}

static inline int do_close(struct brisk_blob *b)
{
	brisk_blob_close(b, op_cb, NULL);
	return finish();
}

static inline int do_resize(struct brisk_blob *b, uint64_t n)
{
	brisk_blob_resize(b, n, op_cb, NULL);
	return finish();
}

static inline int do_sync(struct brisk_blob *b)
{
	brisk_blob_sync_md(b, op_cb, NULL);
	return finish();
}

static inline int do_delete(brisk_blob_id id)
{
	brisk_bs_delete_blob(g_bs, id, op_cb, NULL);
	return finish();
}

static inline int do_io(struct brisk_blob *b, struct brisk_io_channel *ch, bool write, void *buf,
			uint64_t off, uint64_t len)
{
	if (write) {
		brisk_blob_io_write(b, ch, buf, off, len, op_cb, NULL);
	} else {
		brisk_blob_io_read(b, ch, buf, off, len, op_cb, NULL);
	}
	return finish();
}

/* The new blob's id, or BRISK_BLOBID_INVALID with the error in g_rc. */
static inline brisk_blob_id do_clone(brisk_blob_id snap)
{
	g_id = BRISK_BLOBID_INVALID;
	brisk_bs_create_clone(g_bs, snap, NULL, id_cb, NULL);
	g_rc = finish();
	return g_id;
}

static inline brisk_blob_id do_snapshot(brisk_blob_id id)
{
	g_id = BRISK_BLOBID_INVALID;
	brisk_bs_create_snapshot(g_bs, id, NULL, id_cb, NULL);
	g_rc = finish();
	return g_id;
}

static inline int do_inflate(struct brisk_io_channel *ch, brisk_blob_id id)
{
	brisk_bs_inflate_blob(g_bs, ch, id, op_cb, NULL);
	return finish();
}

static inline int do_decouple(struct brisk_io_channel *ch, brisk_blob_id id)
{
	brisk_bs_blob_decouple_parent(g_bs, ch, id, op_cb, NULL);
	return finish();
}

/* Problems the last do_check reported, one a line. */
static char g_problems[16384];
static size_t g_problems_len;
static unsigned g_num_problems;

static inline void check_report(void *ctx, const char *problem)
{
	(void)ctx;
	fprintf(stderr, "store check: %s\n", problem);
	g_num_problems++;
	g_problems_len += (size_t)snprintf(g_problems + g_problems_len,
					   sizeof(g_problems) - g_problems_len, "%s\n", problem);
	if (g_problems_len >= sizeof(g_problems)) {
		g_problems_len = sizeof(g_problems) - 1;
	}
}

/* brisk_bs_check of the loaded store: 0 when consistent. */
static inline int do_check(void)
{
	g_problems_len = 0;
	g_problems[0] = '\0';
	g_num_problems = 0;
	brisk_bs_check(g_bs, check_report, NULL, op_cb, NULL);
	return finish();
}

/* A metadata page changed on purpose gets a valid CRC again. */
static inline void reseal_page(uint8_t *page)
{
	uint32_t crc = brisk_crc32c(page, 4092);

	memcpy(page + 4092, &crc, 4);
}

/* ---- Crash points (on the RAM device's crash injection) ---- */

static inline uint8_t *new_image(void)
{
	uint8_t *img = calloc(1, DEV_BYTES);

	CU_ASSERT_PTR_NOT_NULL_FATAL(img);
	return img;
}

/* Sum of allocated clusters over every blob + free + reserved (+ those held
 * for missing blobs) must be the device's clusters: the masks match the
 * metadata. Returns the count of blobs that open. */
static inline uint64_t check_masks(void)
{
	struct brisk_bs_stats st;
	uint64_t used = 0, n = 0;
	struct brisk_blob *b;

	CU_ASSERT_EQUAL(brisk_bs_get_stats(g_bs, &st), 0);
	brisk_bs_iter_first(g_bs, blob_cb, NULL);
	finish();
	while (g_rc == 0) {
		b = g_blob;
		used += brisk_blob_get_num_allocated_clusters(b);
		n++;
		brisk_bs_iter_next(g_bs, b, blob_cb, NULL);
		finish();
	}
	CU_ASSERT_EQUAL(g_rc, -ENOENT);
	CU_ASSERT_PTR_NULL(g_blob);
	CU_ASSERT_EQUAL(n + st.missing_blobs, st.num_blobs);
	CU_ASSERT_EQUAL(st.free_clusters + used + st.quarantined_clusters,
			brisk_bs_total_data_cluster_count(g_bs));
	return n;
}

struct crash_case {
	const char *name;
	void (*prepare)(void);       /* on a fresh store, before the clean unload */
	void (*run)(void);           /* the operations under test */
	void (*verify)(bool complete); /* after reload; complete: no write was lost */
};

static unsigned g_crash_points;
/* The crash point k of the run in progress (UINT64_MAX while the writes are
 * counted): verify can tell from it which writes of run reached the image,
 * with run noting brisk_bs_dev_ram_write_count(g_last_dev) as it goes (the
 * writes are numbered the same in every run). */
static uint64_t g_crash_k;
/* The crash mode of the run in progress (NONE while counting). */
static int g_crash_run_mode;

/* Runs cc once to count its writes W, then for every k in 0..W and each
 * crash mode in [first, last]: crash at write k, load, verify,
 * brisk_bs_check, and check that the rebuilt masks survive a clean unload
 * and load. In CACHE mode nothing is complete: writes after the run's last
 * flush are lost even when the crash comes after them. */
static inline void crash_case_run_modes(const struct crash_case *cc, int first, int last)
{
	struct brisk_bs_opts o = small_opts();
	uint8_t *base = new_image(), *work = new_image();
	uint64_t writes;

	CU_ASSERT_EQUAL_FATAL(do_init(base, &o), 0);
	cc->prepare();
	CU_ASSERT_EQUAL(do_unload(), 0);

	/* Count the writes of the sequence. */
	memcpy(work, base, DEV_BYTES);
	CU_ASSERT_EQUAL_FATAL(do_load(work, &o), 0);
	brisk_bs_dev_ram_set_crash(g_last_dev, BRISK_BS_DEV_RAM_CRASH_NONE, 0);
	g_crash_k = UINT64_MAX;
	g_crash_run_mode = BRISK_BS_DEV_RAM_CRASH_NONE;
	cc->run();
	writes = brisk_bs_dev_ram_write_count(g_last_dev);
	CU_ASSERT(writes > 0);
	CU_ASSERT_EQUAL(do_unload(), 0);

	for (int mode = first; mode <= last; mode++) {
		for (uint64_t k = 0; k <= writes; k++) {
			unsigned fails = CU_get_number_of_failures();
			int rc;

			memcpy(work, base, DEV_BYTES);
			CU_ASSERT_EQUAL_FATAL(do_load(work, &o), 0);
			brisk_bs_dev_ram_set_crash(g_last_dev, (enum brisk_bs_dev_ram_crash_mode)mode, k);
			g_crash_k = k;
			g_crash_run_mode = mode;
			cc->run();
			/* The unload's writes are lost too: the power is already gone. */
			CU_ASSERT_EQUAL(do_unload(), 0);
			rc = do_load(work, &o);
			CU_ASSERT_EQUAL(rc, 0);
			if (rc == 0) {
				cc->verify(k == writes && mode != BRISK_BS_DEV_RAM_CRASH_CACHE);
				/* Every invariant: no cluster owned twice, masks match, no leak. */
				CU_ASSERT_EQUAL(do_check(), 0);
				/* And the rebuilt masks survive a clean cycle. */
				CU_ASSERT_EQUAL(do_unload(), 0);
				CU_ASSERT_EQUAL(do_load(work, &o), 0);
				check_masks();
				CU_ASSERT_EQUAL(do_unload(), 0);
			}
			g_crash_points++;
			if (CU_get_number_of_failures() != fails) {
				fprintf(stderr, "crash case %s: mode %d, write %lu of %lu failed\n", cc->name,
					mode, k, writes);
			}
		}
	}
	free(base);
	free(work);
}

/* The write-prefix modes: writes reach the image in the order issued. */
static inline void crash_case_run(const struct crash_case *cc)
{
	crash_case_run_modes(cc, BRISK_BS_DEV_RAM_CRASH_DROP, BRISK_BS_DEV_RAM_CRASH_TEAR);
}

/* ---- A first write seen from the reads around it ---- */

struct stepped_op {
	uint8_t *buf;
	bool data_on_dev; /* the write's data was on the device when this read started */
	bool write_done;  /* the write had completed when this read started */
	bool done;
	int rc;
};

static inline void stepped_cb(void *arg, int rc)
{
	struct stepped_op *s = arg;

	s->rc = rc;
	s->done = true;
}

#define STEPPED_MAX_READS 64

/* Whether some cluster of the device image holds data (CLUSTER bytes). */
static inline bool image_has_cluster(const uint8_t *image, const uint8_t *data)
{
	for (uint64_t i = 0; i < DEV_BYTES / CLUSTER; i++) {
		if (memcmp(image + i * CLUSTER, data, CLUSTER) == 0) {
			return true;
		}
	}
	return false;
}

/* Writes new_data over the whole cluster c of b from the io thread (ch_io,
 * a channel of g_th[1]) and runs the md thread one message at a time; before
 * every step a read of the cluster starts on the io thread. Every read must
 * get all of old or all of new_data (CLUSTER bytes each), and new_data once
 * the write has completed. image is the RAM device's (do_init's) buffer,
 * where a write lands when it is submitted. Returns how many reads got the
 * old contents while new_data was already in a cluster of the device:
 * reads of the cluster while it is pending, taken and filled with the
 * write's data but its metadata not yet durable. */
static inline unsigned stepped_first_write(struct brisk_blob *b, struct brisk_io_channel *ch_io,
					   uint64_t c, const uint8_t *old, uint8_t *new_data,
					   const uint8_t *image)
{
	struct stepped_op w = { 0 }, reads[STEPPED_MAX_READS];
	unsigned n = 0, pending_old = 0;

	memset(reads, 0, sizeof(reads));
	CU_ASSERT_FALSE(image_has_cluster(image, new_data));
	brisk_set_thread(g_th[1]);
	brisk_blob_io_write(b, ch_io, new_data, c * UPC, UPC, stepped_cb, &w);
	while (n < STEPPED_MAX_READS && (n == 0 || !reads[n - 1].write_done)) {
		struct stepped_op *s = &reads[n++];

		s->buf = malloc(CLUSTER);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s->buf);
		s->data_on_dev = image_has_cluster(image, new_data);
		s->write_done = w.done;
		brisk_set_thread(g_th[1]);
		brisk_blob_io_read(b, ch_io, s->buf, c * UPC, UPC, stepped_cb, s);
		brisk_thread_poll(g_th[0], 1, 0);
		brisk_thread_poll(g_th[1], 0, 0);
	}
	poll_all();
	CU_ASSERT_TRUE(w.done);
	CU_ASSERT_EQUAL(w.rc, 0);
	CU_ASSERT_TRUE(reads[n - 1].write_done);
	for (unsigned i = 0; i < n; i++) {
		bool is_old = memcmp(reads[i].buf, old, CLUSTER) == 0;
		bool is_new = memcmp(reads[i].buf, new_data, CLUSTER) == 0;

		CU_ASSERT_TRUE(reads[i].done);
		CU_ASSERT_EQUAL(reads[i].rc, 0);
		CU_ASSERT_TRUE(is_old || is_new);
		CU_ASSERT_TRUE(!reads[i].write_done || is_new);
		pending_old += reads[i].data_on_dev && is_old;
		free(reads[i].buf);
	}
	return pending_old;
}

static inline int bs_ut_suite_init(void)
{
	g_th[0] = brisk_thread_create("md", NULL);
	g_th[1] = brisk_thread_create("io", NULL);
	if (g_th[0] == NULL || g_th[1] == NULL) {
		return -1;
	}
	brisk_set_thread(g_th[0]);
	return 0;
}

static inline int bs_ut_suite_fini(void)
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

#endif
