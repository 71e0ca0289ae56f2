/*
 * Shared by the lib/scsi unit tests: a RAM bdev module defined here (I/O
 * done inside submit; the bdev layer defers the completion), two threads
 * polled by hand, a device with LUNs on such disks, and helpers that run
 * one CDB through brisk_scsi_dev_queue_task and check "not done yet" right
 * after the call. Header-only so each test stays one program.
 */
#ifndef SCSI_UT_COMMON_H
#define SCSI_UT_COMMON_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/env.h>
#include <brisk/scsi.h>
#include <brisk/scsi_spec.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

#define UT_NTHREADS 2

static struct brisk_thread *g_th[UT_NTHREADS];

/* ---- RAM disk module ---- */

struct ut_disk {
	struct brisk_bdev bdev;
	uint8_t *store;
	bool no_unmap;
	bool fail_next;        /* next I/O completes FAILED */
	bool hold;             /* keep I/O pending until ut_release */
	int nsubmits;
};

struct ut_held {
	struct brisk_bdev_io *io;
	struct brisk_thread *thread;
};
static struct ut_held g_held[64];
static int g_nheld;

static int g_ut_io_device;
static int ut_ctx_size(void) { return 0; }
static struct brisk_bdev_module g_ut_if = { .name = "scsi_ut", .get_ctx_size = ut_ctx_size };
BRISK_BDEV_MODULE_REGISTER(scsi_ut, &g_ut_if)

static int ut_apply(struct brisk_bdev_io *io)
{
	struct ut_disk *d = io->bdev->ctxt;
	uint64_t off = io->u.offset_blocks * io->bdev->blocklen;
	uint64_t len = io->u.num_blocks * io->bdev->blocklen;

	switch (io->type) {
	case BRISK_BDEV_IO_TYPE_READ:
		brisk_copy_buf_to_iovs(io->u.iovs, io->u.iovcnt, d->store + off, len);
		break;
	case BRISK_BDEV_IO_TYPE_WRITE:
		brisk_copy_iovs_to_buf(d->store + off, len, io->u.iovs, io->u.iovcnt);
		break;
	case BRISK_BDEV_IO_TYPE_UNMAP:
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		memset(d->store + off, 0, len);
		break;
	default:
		break;
	}
	return BRISK_BDEV_IO_STATUS_SUCCESS;
}

static void ut_submit(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct ut_disk *d = io->bdev->ctxt;

	(void)ch;
	d->nsubmits++;
	if (d->hold && g_nheld < 64) {
		g_held[g_nheld].io = io;
		g_held[g_nheld++].thread = brisk_get_thread();
		return;
	}
	if (d->fail_next) {
		d->fail_next = false;
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_FAILED);
		return;
	}
	brisk_bdev_io_complete(io, ut_apply(io));
}

/* Completes every held I/O on its own thread. */
static inline void ut_release(void)
{
	struct brisk_thread *saved = brisk_get_thread();
	int i;

	for (i = 0; i < g_nheld; i++) {
		brisk_set_thread(g_held[i].thread);
		brisk_bdev_io_complete(g_held[i].io, ut_apply(g_held[i].io));
	}
	g_nheld = 0;
	brisk_set_thread(saved);
}

static bool ut_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct ut_disk *d = ctx;

	if (type == BRISK_BDEV_IO_TYPE_UNMAP) {
		return !d->no_unmap;
	}
	return type == BRISK_BDEV_IO_TYPE_READ || type == BRISK_BDEV_IO_TYPE_WRITE ||
	       type == BRISK_BDEV_IO_TYPE_FLUSH || type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES ||
	       type == BRISK_BDEV_IO_TYPE_RESET;
}

static struct brisk_io_channel *ut_get_io_channel(void *ctx)
{
	(void)ctx;
	return brisk_get_io_channel(&g_ut_io_device);
}

static int ut_destruct(void *ctx) { (void)ctx; return 0; }

static const struct brisk_bdev_fn_table g_ut_fn = {
	.destruct = ut_destruct,
	.submit_request = ut_submit,
	.io_type_supported = ut_io_type_supported,
	.get_io_channel = ut_get_io_channel,
};

static int ut_ch_create(void *dev, void *ctx) { (void)dev; (void)ctx; return 0; }
static void ut_ch_destroy(void *dev, void *ctx) { (void)dev; (void)ctx; }

static void poll_threads(void)
{
	int round, i, work;

	for (round = 0; round < 10000; round++) {
		work = 0;
		for (i = 0; i < UT_NTHREADS; i++) {
			work += brisk_thread_poll(g_th[i], 0, 0);
		}
		if (work == 0) {
			return;
		}
	}
}

/* phys_blocklen: bytes per physical block, 0 = blocklen. */
static struct ut_disk *ut_disk_create_phys(const char *name, uint32_t blocklen, uint32_t phys_blocklen,
					   uint64_t blockcnt)
{
	struct ut_disk *d = calloc(1, sizeof(*d));

	d->bdev.name = strdup(name);
	d->bdev.product_name = "ut disk";
	d->bdev.blocklen = blocklen;
	d->bdev.phys_blocklen = phys_blocklen;
	d->bdev.blockcnt = blockcnt;
	d->bdev.ctxt = d;
	d->bdev.fn_table = &g_ut_fn;
	d->bdev.module = &g_ut_if;
	d->store = calloc(blockcnt, blocklen);
	if (brisk_bdev_register(&d->bdev) != 0) {
		fprintf(stderr, "cannot register %s\n", name);
		exit(1);
	}
	return d;
}

static struct ut_disk *ut_disk_create(const char *name, uint32_t blocklen, uint64_t blockcnt)
{
	return ut_disk_create_phys(name, blocklen, 0, blockcnt);
}

static void ut_unreg_done(void *arg, int rc) { (void)arg; (void)rc; }

static inline void ut_disk_delete(struct ut_disk *d)
{
	brisk_set_thread(g_th[0]);
	brisk_bdev_unregister(&d->bdev, ut_unreg_done, NULL);
	poll_threads();
	free(d->bdev.name);
	free(d->store);
	free(d);
}

static int g_init_rc = -1;
static void ut_init_done(void *arg, int rc) { (void)arg; g_init_rc = rc; }

/* Threads and the bdev layer (the runner started the env and the thread
 * library); returns 0 or prints why not. */
static int scsi_ut_start(void)
{
	int i;

	for (i = 0; i < UT_NTHREADS; i++) {
		g_th[i] = brisk_thread_create(i == 0 ? "ut0" : "ut1", NULL);
	}
	brisk_set_thread(g_th[0]);
	brisk_io_device_register(&g_ut_io_device, ut_ch_create, ut_ch_destroy, 8, "scsi_ut_dev");
	brisk_bdev_initialize(ut_init_done, NULL);
	poll_threads();
	if (g_init_rc != 0) {
		fprintf(stderr, "bdev init failed: %d\n", g_init_rc);
		return 1;
	}
	return 0;
}

static bool g_ut_fini;
static void ut_fini_done(void *arg)
{
	(void)arg;
	g_ut_fini = true;
}

/* Undoes scsi_ut_start: the runner fails a test that leaves a thread behind.
 * Both threads exit together (one may still message the other). */
static int scsi_ut_stop(void)
{
	bool exited = false;
	int i, k;

	brisk_set_thread(g_th[0]);
	brisk_bdev_finish(ut_fini_done, NULL);
	poll_threads();
	brisk_io_device_unregister(&g_ut_io_device, NULL);
	poll_threads();
	for (i = 0; i < UT_NTHREADS; i++) {
		brisk_set_thread(g_th[i]);
		brisk_thread_exit(g_th[i]);
	}
	for (k = 0; k < 1000 && !exited; k++) {
		exited = true;
		for (i = 0; i < UT_NTHREADS; i++) {
			brisk_thread_poll(g_th[i], 0, 0);
			exited = exited && brisk_thread_is_exited(g_th[i]);
		}
	}
	brisk_set_thread(NULL);
	for (i = 0; i < UT_NTHREADS && exited; i++) {
		brisk_thread_destroy(g_th[i]);
	}
	if (!g_ut_fini) {
		fprintf(stderr, "bdev finish did not complete\n");
	}
	return g_ut_fini && exited ? 0 : -1;
}

/* ---- Tasks ---- */

struct ut_task {
	struct brisk_scsi_task t;
	int calls;
	struct brisk_thread *thread;
	uint8_t data[65536];
	struct iovec iov;
};

static void ut_task_done(struct brisk_scsi_task *task)
{
	struct ut_task *u = task->cb_arg;

	u->calls++;
	u->thread = brisk_get_thread();
}

static struct brisk_scsi_port g_iport, g_iport2, g_tport;

/* Prepares u with cdb (len bytes) from initiator port ip; data-out of
 * out_len bytes from out (NULL: none); transfer_len xfer. */
static void ut_task_prep(struct ut_task *u, const uint8_t *cdb, size_t len, struct brisk_scsi_port *ip,
			 enum brisk_scsi_dir dir, uint32_t xfer)
{
	brisk_scsi_task_init(&u->t, ut_task_done, u);
	u->calls = 0;
	memcpy(u->t.cdb, cdb, len);
	u->t.dxfer_dir = dir;
	u->t.transfer_len = xfer;
	u->t.initiator_port = ip;
	u->t.target_port = &g_tport;
}

/* Runs one task on thread th to completion, asserting it was not done
 * inside the queueing call. */
static void ut_exec_on(struct brisk_scsi_dev *dev, struct ut_task *u, int th)
{
	brisk_set_thread(g_th[th]);
	brisk_scsi_dev_queue_task(dev, &u->t);
	CU_ASSERT_EQUAL(u->calls, 0);          /* never inside the call */
	poll_threads();
	CU_ASSERT_EQUAL(u->calls, 1);
	CU_ASSERT(u->thread == g_th[th]);
}

/* A command with optional data-out (out/out_len) or data-in into u->data
 * through the caller's buffer (u->iov). */
static inline struct ut_task *ut_cmd(struct brisk_scsi_dev *dev, uint64_t lun, const uint8_t *cdb, size_t len,
			      const void *out, uint32_t out_len, uint32_t in_len)
{
	static struct ut_task u;

	ut_task_prep(&u, cdb, len, &g_iport, out != NULL ? BRISK_SCSI_DIR_TO_DEV :
		     in_len ? BRISK_SCSI_DIR_FROM_DEV : BRISK_SCSI_DIR_NONE, out != NULL ? out_len : in_len);
	u.t.lun_id = lun;
	memset(u.data, 0xee, sizeof(u.data));
	if (out != NULL) {
		memcpy(u.data, out, out_len);
	}
	u.iov.iov_base = u.data;
	u.iov.iov_len = out != NULL ? out_len : in_len;
	if (u.iov.iov_len > 0) {
		u.t.iovs = &u.iov;
		u.t.iovcnt = 1;
	}
	ut_exec_on(dev, &u, 0);
	return &u;
}

static uint8_t ut_sk(const struct ut_task *u) { return u->t.sense_data[2] & 0x0f; }
static uint16_t ut_asc(const struct ut_task *u)
{
	return (uint16_t)(u->t.sense_data[12] << 8 | u->t.sense_data[13]);
}

#define CHECK_GOOD(u) do { const struct ut_task *ug_ = (u); CU_ASSERT_EQUAL(ug_->t.status, BRISK_SCSI_STATUS_GOOD); } while (0)
#define CHECK_SENSE(u, sk, asc) do { \
		const struct ut_task *u_ = (u); \
		CU_ASSERT_EQUAL(u_->t.status, BRISK_SCSI_STATUS_CHECK_CONDITION); \
		CU_ASSERT_EQUAL(ut_sk(u_), (sk)); \
		CU_ASSERT_EQUAL(ut_asc(u_), (asc)); \
		CU_ASSERT_EQUAL(u_->t.sense_data[0] & 0x7f, 0x70); \
		CU_ASSERT_EQUAL(u_->t.sense_data_len, 18); \
	} while (0)
/* INVALID FIELD IN CDB with the field pointer at byte (bit -1: none). */
#define CHECK_FIELD(u, byte, bit) do { \
		const struct ut_task *uf_ = (u); \
		CHECK_SENSE(uf_, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_CDB); \
		CU_ASSERT_EQUAL(uf_->t.sense_data[15] & 0xc0, 0xc0); \
		CU_ASSERT_EQUAL(uf_->t.sense_data[16] << 8 | uf_->t.sense_data[17], (byte)); \
		if ((bit) >= 0) { \
			CU_ASSERT_EQUAL(uf_->t.sense_data[15] & 0x0f, 0x08 | (bit)); \
		} \
	} while (0)

static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v) { put_be16(p, v >> 16); put_be16(p + 2, (uint16_t)v); }
static inline void put_be64(uint8_t *p, uint64_t v) { put_be32(p, v >> 32); put_be32(p + 4, (uint32_t)v); }
static inline uint32_t get_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static inline uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

static void ut_ports_init(void)
{
	brisk_scsi_port_init(&g_iport, 1, 0, "iqn.2026-01.io.ut:init1,i,0x00023d000001");
	brisk_scsi_port_init(&g_iport2, 2, 0, "iqn.2026-01.io.ut:init2,i,0x00023d000002");
	brisk_scsi_port_init(&g_tport, 3, 1, "iqn.2026-01.io.brisk:tgt,t,0x0001");
}

#define UT_MAX_LUNS 4

/* The device a test runs against: LUN i on disks[i]. NULL, with a message,
 * when it cannot be built. */
static inline struct brisk_scsi_dev *ut_dev_construct(const char *iqn, struct ut_disk *const *disks, int n,
						      brisk_scsi_dev_hotremove_cb hotremove)
{
	const char *names[UT_MAX_LUNS];
	int ids[UT_MAX_LUNS];
	struct brisk_scsi_dev *dev;

	for (int i = 0; i < n && i < UT_MAX_LUNS; i++) {
		names[i] = disks[i]->bdev.name;
		ids[i] = i;
	}
	dev = brisk_scsi_dev_construct(iqn, names, ids, n, hotremove, NULL);
	if (dev == NULL) {
		fprintf(stderr, "dev construct failed\n");
	}
	return dev;
}

/* The common teardown: destructs dev, deletes its disks and stops what
 * scsi_ut_start started; 0, or -1 when something was left behind. */
static inline int ut_dev_teardown(struct brisk_scsi_dev *dev, struct ut_disk *const *disks, int n)
{
	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_destruct(dev, NULL, NULL);
	poll_threads();
	for (int i = 0; i < n; i++) {
		ut_disk_delete(disks[i]);
	}
	return scsi_ut_stop() != 0 ? -1 : 0;
}

/* Clears every pending unit attention of ip on lun with TEST UNIT READY. */
static inline void ut_clear_ua(struct brisk_scsi_dev *dev, uint64_t lun, struct brisk_scsi_port *ip)
{
	static struct ut_task u;
	uint8_t cdb[6] = {0};
	int i;

	for (i = 0; i < 16; i++) {
		ut_task_prep(&u, cdb, 6, ip, BRISK_SCSI_DIR_NONE, 0);
		u.t.lun_id = lun;
		ut_exec_on(dev, &u, 0);
		if (u.t.status != BRISK_SCSI_STATUS_CHECK_CONDITION ||
		    (u.t.sense_data[2] & 0x0f) != BRISK_SCSI_SENSE_UNIT_ATTENTION) {
			return;
		}
	}
}

#endif
