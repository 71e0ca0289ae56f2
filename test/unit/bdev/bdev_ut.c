/*
 * The generic bdev layer, driven through a test module defined here whose
 * I/O completes only when the test says so (or inline, or with NOMEM).
 * Threads are polled by hand.
 *
 * Covers: registration bad input, descriptors and claims, examine order,
 * read/write data paths, completion never inside the submit call, splitting
 * on the optimal boundary and max transfer size with iovecs of odd shapes
 * (byte-for-byte), more iovecs than a child can carry, bounce buffers,
 * reads without a buffer, buffer pool exhaustion, io_wait under bdev_io pool
 * exhaustion, module NOMEM retries, reset with I/O in flight, hot-remove with
 * I/O in flight, resize events, emulated write_zeroes, statistics, QoS with a
 * fake clock, JSON info, and NVMe passthrough with its status.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/env.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../common/ut_main.h"

#define NTHREADS 2
#define IO_POOL_SIZE 24
#define IO_CACHE_SIZE 2

static struct brisk_thread *g_th[NTHREADS];

/* ------------------------------------------------------------------------ */
/* The test module */

struct ut_io {
	TAILQ_ENTRY(ut_io) link;
	struct brisk_thread *thread;
};

struct ut_rec {
	enum brisk_bdev_io_type type;
	uint64_t offset;
	uint64_t num;
	int iovcnt;
	bool aligned;
};

#define MAX_RECS 256
static struct ut_rec g_recs[MAX_RECS];
static int g_nrecs;
static TAILQ_HEAD(ut_io_q, ut_io) g_pending = TAILQ_HEAD_INITIALIZER(g_pending);
static int g_npending;
static int g_nomem_left;    /* next submissions answered with NOMEM */
static bool g_inline;       /* complete inside submit_request */

struct ut_disk {
	struct brisk_bdev bdev;
	uint8_t *store;
	bool no_write_zeroes;
	int destructs;
};

static int g_ut_io_device;
static int ut_ctx_size(void) { return sizeof(struct ut_io); }
static struct brisk_bdev_module g_ut_if = {
	.name = "ut",
	.get_ctx_size = ut_ctx_size,
};
BRISK_BDEV_MODULE_REGISTER(ut, &g_ut_if)

static void ut_apply(struct brisk_bdev_io *io, int *status)
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
	case BRISK_BDEV_IO_TYPE_WRITE_ZEROES:
		memset(d->store + off, 0, len);
		break;
	case BRISK_BDEV_IO_TYPE_COMPARE: {
		uint8_t *tmp = malloc(len);

		brisk_copy_iovs_to_buf(tmp, len, io->u.iovs, io->u.iovcnt);
		if (memcmp(tmp, d->store + off, len) != 0) {
			*status = BRISK_BDEV_IO_STATUS_MISCOMPARE;
		}
		free(tmp);
		break;
	}
	default:
		break;
	}
}

/* The errno a completion with BRISK_BDEV_IO_STATUS_AIO_ERROR carries. */
static int g_ut_errno = -ENOSPC;

static void ut_complete_io(struct brisk_bdev_io *io, int status)
{
	if (status == BRISK_BDEV_IO_STATUS_SUCCESS) {
		ut_apply(io, &status);
	}
	if (status == BRISK_BDEV_IO_STATUS_AIO_ERROR) {
		brisk_bdev_io_complete_aio_status(io, g_ut_errno);
		return;
	}
	brisk_bdev_io_complete(io, status);
}

static void ut_submit(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	struct ut_io *u = (struct ut_io *)io->driver_ctx;
	uintptr_t mask = io->bdev->required_alignment > 1 ? io->bdev->required_alignment - 1 : 0;
	struct ut_rec *r;

	if (g_nomem_left > 0) {
		g_nomem_left--;
		brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_NOMEM);
		return;
	}
	if (g_nrecs < MAX_RECS) {
		r = &g_recs[g_nrecs++];
		r->type = io->type;
		r->offset = io->u.offset_blocks;
		r->num = io->u.num_blocks;
		r->iovcnt = io->u.iovcnt;
		r->aligned = true;
		for (int i = 0; i < io->u.iovcnt; i++) {
			if (((uintptr_t)io->u.iovs[i].iov_base & mask) != 0) {
				r->aligned = false;
			}
		}
	}
	if (g_inline) {
		ut_complete_io(io, BRISK_BDEV_IO_STATUS_SUCCESS);
		return;
	}
	u->thread = brisk_get_thread();
	TAILQ_INSERT_TAIL(&g_pending, u, link);
	g_npending++;
}

/* Completes up to n pending I/Os (oldest first) on their own threads. */
static int ut_complete(int n, int status)
{
	struct brisk_thread *saved = brisk_get_thread();
	struct ut_io *u;
	int done = 0;

	while (done < n && (u = TAILQ_FIRST(&g_pending)) != NULL) {
		TAILQ_REMOVE(&g_pending, u, link);
		g_npending--;
		brisk_set_thread(u->thread);
		ut_complete_io(brisk_bdev_io_from_ctx(u), status);
		done++;
	}
	brisk_set_thread(saved);
	return done;
}

/* Completes the newest pending I/O (out-of-order completion). */
static void ut_complete_last(int status)
{
	struct brisk_thread *saved = brisk_get_thread();
	struct ut_io *u = TAILQ_LAST(&g_pending, ut_io_q);

	TAILQ_REMOVE(&g_pending, u, link);
	g_npending--;
	brisk_set_thread(u->thread);
	ut_complete_io(brisk_bdev_io_from_ctx(u), status);
	brisk_set_thread(saved);
}

static bool ut_io_type_supported(void *ctx, enum brisk_bdev_io_type type)
{
	struct ut_disk *d = ctx;

	if (type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES) {
		return !d->no_write_zeroes;
	}
	return type != BRISK_BDEV_IO_TYPE_INVALID && type < BRISK_BDEV_NUM_IO_TYPES;
}

static struct brisk_io_channel *ut_get_io_channel(void *ctx)
{
	return brisk_get_io_channel(&g_ut_io_device);
}

static int ut_destruct(void *ctx)
{
	struct ut_disk *d = ctx;

	d->destructs++;
	return 0;
}

static int ut_dump_info(void *ctx, json_t *driver)
{
	json_object_set_new(driver, "ut", json_pack("{s:b}", "test", 1));
	return 0;
}

static const struct brisk_bdev_fn_table g_ut_fn = {
	.destruct = ut_destruct,
	.submit_request = ut_submit,
	.io_type_supported = ut_io_type_supported,
	.get_io_channel = ut_get_io_channel,
	.dump_info_json = ut_dump_info,
};

static int ut_ch_create(void *dev, void *ctx) { return 0; }
static void ut_ch_destroy(void *dev, void *ctx) { }

static void ut_disk_init(struct ut_disk *d, const char *name, uint32_t blocklen, uint64_t blockcnt)
{
	memset(d, 0, sizeof(*d));
	d->bdev.name = (char *)name;
	d->bdev.product_name = "ut disk";
	d->bdev.blocklen = blocklen;
	d->bdev.blockcnt = blockcnt;
	d->bdev.ctxt = d;
	d->bdev.fn_table = &g_ut_fn;
	d->bdev.module = &g_ut_if;
	d->store = calloc(blockcnt, blocklen);
}

/* ------------------------------------------------------------------------ */
/* Helpers */

static void poll_threads(void)
{
	int work;

	for (int round = 0; round < 10000; round++) {
		work = 0;
		for (int i = 0; i < NTHREADS; i++) {
			work += brisk_thread_poll(g_th[i], 0, 0);
		}
		if (work == 0) {
			return;
		}
	}
}

static void set_thread(int i)
{
	brisk_set_thread(g_th[i]);
}

struct cpl {
	int calls;
	bool success;
	int status;
	int err;           /* brisk_bdev_io_get_errno */
	struct brisk_thread *thread;
	bool free_io;
	struct iovec data; /* copy of a provided-buffer read */
};

static void io_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	struct cpl *c = arg;
	struct iovec *iovs;
	int iovcnt;

	c->calls++;
	c->success = success;
	c->status = brisk_bdev_io_get_status(io);
	c->err = brisk_bdev_io_get_errno(io);
	c->thread = brisk_get_thread();
	if (c->data.iov_base != NULL) {
		brisk_bdev_io_get_iovec(io, &iovs, &iovcnt);
		brisk_copy_iovs_to_buf(c->data.iov_base, c->data.iov_len, iovs, iovcnt);
	}
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
	} else if (type == BRISK_BDEV_EVENT_RESIZE) {
		e->resizes++;
	}
}

static int g_unreg_calls;
static int g_unreg_rc;
static void unreg_done(void *arg, int rc)
{
	g_unreg_calls++;
	g_unreg_rc = rc;
}

static void remove_disk(struct ut_disk *d)
{
	int before = g_unreg_calls;

	set_thread(0);
	brisk_bdev_unregister(&d->bdev, unreg_done, NULL);
	poll_threads();
	CU_ASSERT_EQUAL(g_unreg_calls, before + 1);
	CU_ASSERT_EQUAL(g_unreg_rc, 0);
	free(d->store);
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
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

static void reset_recs(void)
{
	g_nrecs = 0;
}

/* ------------------------------------------------------------------------ */
/* Registration, descriptors, claims */

static void test_register_bad_params(void)
{
	struct ut_disk d, dup;
	int before;

	set_thread(0);
	before = count_bdevs();
	ut_disk_init(&d, "ut_bad", 1000, 16);
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.blocklen = 512;
	d.bdev.blockcnt = 0;
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.blockcnt = UINT64_MAX / 512 + 1; /* the size in bytes would overflow */
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.blockcnt = 16;
	d.bdev.name = NULL;
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.name = "ut_bad\n[ts] forged line";
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.name = "ut_bad";
	d.bdev.required_alignment = 3;
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.required_alignment = 0;
	d.bdev.phys_blocklen = 1536; /* not a power-of-two multiple of 512 */
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.phys_blocklen = 256; /* smaller than a block */
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), -EINVAL);
	d.bdev.phys_blocklen = 4096;
	CU_ASSERT_EQUAL(count_bdevs(), before);

	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), 0);
	CU_ASSERT_EQUAL(brisk_bdev_get_physical_block_size(&d.bdev), 4096);
	ut_disk_init(&dup, "ut_bad", 512, 16);
	CU_ASSERT_EQUAL(brisk_bdev_register(&dup.bdev), -EEXIST);
	/* Same UUID under another name. */
	dup.bdev.name = "ut_dup";
	dup.bdev.uuid = d.bdev.uuid;
	CU_ASSERT_EQUAL(brisk_bdev_register(&dup.bdev), -EEXIST);
	/* Alias clashes. */
	CU_ASSERT_EQUAL(brisk_bdev_alias_add(&d.bdev, "ut_bad"), -EEXIST);
	CU_ASSERT_EQUAL(brisk_bdev_alias_add(&d.bdev, "ut_bad\ralias"), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_alias_add(&d.bdev, "ut_bad_alias"), 0);
	CU_ASSERT_PTR_EQUAL(brisk_bdev_get_by_name("ut_bad_alias"), &d.bdev);
	CU_ASSERT_EQUAL(count_bdevs(), before + 1);
	free(dup.store);
	poll_threads();
	remove_disk(&d);
	CU_ASSERT_EQUAL(d.destructs, 1);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("ut_bad"));
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("ut_bad_alias"));
	CU_ASSERT_EQUAL(count_bdevs(), before);
}

static struct brisk_bdev_module g_claim_a = { .name = "claim_a" };
static struct brisk_bdev_module g_claim_b = { .name = "claim_b" };

static void test_open_and_claims(void)
{
	struct ut_disk d;
	struct brisk_bdev_desc *ro, *rw, *other;
	struct events ev = {0};
	char uuid[BRISK_UUID_STRING_LEN];

	set_thread(0);
	ut_disk_init(&d, "ut_claim", 512, 64);
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), 0);
	poll_threads();
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("nope", false, ev_cb, &ev, &ro), -ENODEV);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_claim", false, NULL, &ev, &ro), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_claim", false, ev_cb, &ev, &ro), 0);
	/* By UUID too. */
	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &d.bdev.uuid);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext(uuid, true, ev_cb, &ev, &rw), 0);
	brisk_bdev_close(rw);

	CU_ASSERT_EQUAL(brisk_bdev_module_claim_bdev(&d.bdev, ro, &g_claim_a), 0);
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_claim_module_name(&d.bdev), "claim_a");
	CU_ASSERT_EQUAL(brisk_bdev_module_claim_bdev(&d.bdev, NULL, &g_claim_b), -EPERM);
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_claim_module_name(&d.bdev), "claim_a");
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_claim", true, ev_cb, &ev, &other), -EPERM);
	CU_ASSERT_PTR_NULL(other);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_claim", false, ev_cb, &ev, &other), 0);
	brisk_bdev_close(other);
	/* A claimed bdev is not a leaf. */
	for (struct brisk_bdev *b = brisk_bdev_first_leaf(); b != NULL; b = brisk_bdev_next_leaf(b)) {
		CU_ASSERT_PTR_NOT_EQUAL(b, &d.bdev);
	}
	brisk_bdev_module_release_bdev(&d.bdev);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_claim_module_name(&d.bdev));
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_claim", true, ev_cb, &ev, &rw), 0);
	brisk_bdev_close(rw);
	brisk_bdev_close(ro);
	CU_ASSERT_EQUAL(ev.removes, 0);
	remove_disk(&d);
}

/* Examine: two modules record the order of their calls; the first claims. */
static char g_exam_log[256];
static struct brisk_bdev_module g_exam_a, g_exam_b;
static bool g_exam_a_claims;

static void exam_log(const char *s)
{
	strncat(g_exam_log, s, sizeof(g_exam_log) - strlen(g_exam_log) - 1);
}

static void exam_a_config(struct brisk_bdev *bdev)
{
	if (strncmp(bdev->name, "ut_exam", 7) == 0) {
		exam_log("Ac ");
		if (g_exam_a_claims) {
			CU_ASSERT_EQUAL(brisk_bdev_module_claim_bdev(bdev, NULL, &g_exam_a), 0);
		}
	}
	brisk_bdev_module_examine_done(&g_exam_a);
}

static void exam_b_config(struct brisk_bdev *bdev)
{
	if (strncmp(bdev->name, "ut_exam", 7) == 0) {
		exam_log("Bc ");
	}
	brisk_bdev_module_examine_done(&g_exam_b);
}

static struct brisk_bdev *g_exam_pending_bdev;
static void exam_a_disk(struct brisk_bdev *bdev)
{
	if (strncmp(bdev->name, "ut_exam", 7) == 0) {
		exam_log("Ad ");
		/* Finishes later: wait_for_examine must wait for it. */
		g_exam_pending_bdev = bdev;
		return;
	}
	brisk_bdev_module_examine_done(&g_exam_a);
}

static void exam_b_disk(struct brisk_bdev *bdev)
{
	if (strncmp(bdev->name, "ut_exam", 7) == 0) {
		exam_log("Bd ");
	}
	brisk_bdev_module_examine_done(&g_exam_b);
}

static struct brisk_bdev_module g_exam_a = {
	.name = "exam_a", .examine_config = exam_a_config, .examine_disk = exam_a_disk,
};
static struct brisk_bdev_module g_exam_b = {
	.name = "exam_b", .examine_config = exam_b_config, .examine_disk = exam_b_disk,
};
BRISK_BDEV_MODULE_REGISTER(exam_a, &g_exam_a)
BRISK_BDEV_MODULE_REGISTER(exam_b, &g_exam_b)

static int g_examined_cb;
static void examined(void *arg)
{
	g_examined_cb++;
}

static void test_examine_order(void)
{
	struct ut_disk d1, d2;

	set_thread(0);
	g_exam_log[0] = '\0';
	g_exam_a_claims = false;
	g_examined_cb = 0;
	ut_disk_init(&d1, "ut_exam1", 512, 64);
	CU_ASSERT_EQUAL(brisk_bdev_register(&d1.bdev), 0);
	CU_ASSERT_EQUAL(brisk_bdev_wait_for_examine(examined, NULL), 0);
	poll_threads();
	CU_ASSERT_STRING_EQUAL(g_exam_log, "Ac Bc Ad Bd ");
	CU_ASSERT_EQUAL(g_examined_cb, 0); /* exam_a's examine_disk is still running */
	brisk_bdev_module_examine_done(&g_exam_a);
	poll_threads();
	CU_ASSERT_EQUAL(g_examined_cb, 1);

	/* A claim in examine_config: only the claimer's examine_disk runs. */
	g_exam_log[0] = '\0';
	g_exam_a_claims = true;
	ut_disk_init(&d2, "ut_exam2", 512, 64);
	CU_ASSERT_EQUAL(brisk_bdev_register(&d2.bdev), 0);
	poll_threads();
	CU_ASSERT_STRING_EQUAL(g_exam_log, "Ac Bc Ad ");
	brisk_bdev_module_examine_done(&g_exam_a);
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_claim_module_name(&d2.bdev), "exam_a");
	brisk_bdev_module_release_bdev(&d2.bdev);
	g_exam_a_claims = false;
	remove_disk(&d1);
	remove_disk(&d2);
}

/* Unregistered (from another thread) before its examine message ran: the
 * examine is skipped and the module's destruct runs exactly once, after it. */
static void test_unregister_before_examine(void)
{
	struct ut_disk d;
	int before = g_unreg_calls;

	g_exam_log[0] = '\0';
	set_thread(0);
	ut_disk_init(&d, "ut_exam_gone", 512, 64);
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), 0);
	set_thread(1);
	brisk_bdev_unregister(&d.bdev, unreg_done, NULL);
	for (int i = 0; i < 3; i++) {
		brisk_thread_poll(g_th[1], 0, 0);
	}
	CU_ASSERT_EQUAL(d.destructs, 0);
	poll_threads();
	CU_ASSERT_EQUAL(d.destructs, 1);
	CU_ASSERT_EQUAL(g_unreg_calls, before + 1);
	CU_ASSERT_STRING_EQUAL(g_exam_log, "");
	free(d.store);
}

/* ------------------------------------------------------------------------ */
/* Data path */

struct io_env {
	struct ut_disk d;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch[NTHREADS];
	struct events ev;
};

static void env_open(struct io_env *e, const char *name, uint32_t blocklen, uint64_t blockcnt)
{
	set_thread(0);
	memset(&e->ev, 0, sizeof(e->ev));
	ut_disk_init(&e->d, name, blocklen, blockcnt);
}

static void env_start(struct io_env *e)
{
	set_thread(0);
	CU_ASSERT_EQUAL(brisk_bdev_register(&e->d.bdev), 0);
	poll_threads();
	CU_ASSERT_EQUAL(brisk_bdev_open_ext(e->d.bdev.name, true, ev_cb, &e->ev, &e->desc), 0);
	for (int i = 0; i < NTHREADS; i++) {
		set_thread(i);
		e->ch[i] = brisk_bdev_get_io_channel(e->desc);
		CU_ASSERT_PTR_NOT_NULL(e->ch[i]);
	}
	set_thread(0);
	reset_recs();
}

static void env_stop(struct io_env *e)
{
	for (int i = 0; i < NTHREADS; i++) {
		set_thread(i);
		brisk_put_io_channel(e->ch[i]);
	}
	poll_threads();
	set_thread(0);
	brisk_bdev_close(e->desc);
	remove_disk(&e->d);
}

static void test_rw_and_async_completion(void)
{
	struct io_env e;
	struct cpl c = {0};
	uint8_t *wbuf = malloc(4096), *rbuf = malloc(4096);

	env_open(&e, "ut_rw", 512, 128);
	env_start(&e);
	fill_pattern(wbuf, 4096, 1);
	CU_ASSERT_EQUAL(brisk_bdev_write(e.desc, e.ch[0], wbuf, 4096, 4096, io_done, &c), 0);
	CU_ASSERT_EQUAL(g_npending, 1);
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 0);
	/* Completed by the module on the channel's thread: called back there. */
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(memcmp(e.d.store + 4096, wbuf, 4096), 0);

	/* Inline completion by the module: the callback still comes later. */
	g_inline = true;
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], rbuf, 8, 8, io_done, &c), 0);
	CU_ASSERT_EQUAL(c.calls, 0);
	poll_threads();
	g_inline = false;
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_PTR_EQUAL(c.thread, g_th[1]);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 4096), 0);

	/* Bad requests. */
	CU_ASSERT_EQUAL(brisk_bdev_read(e.desc, e.ch[0], rbuf, 100, 512, io_done, &c), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], rbuf, 127, 2, io_done, &c), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], rbuf, UINT64_MAX, 2, io_done, &c), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], rbuf, 0, 0, io_done, &c), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], NULL, 0, 1, io_done, &c), -EINVAL);
	{
		struct iovec iov = { rbuf, 100 };

		CU_ASSERT_EQUAL(brisk_bdev_readv_blocks(e.desc, e.ch[0], &iov, 1, 0, 1, io_done, &c), -EINVAL);
	}
	CU_ASSERT_EQUAL(g_npending, 0);

	/* A read-only descriptor cannot write. */
	{
		struct brisk_bdev_desc *ro;
		struct brisk_io_channel *ch;

		CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_rw", false, ev_cb, &e.ev, &ro), 0);
		ch = brisk_bdev_get_io_channel(ro);
		CU_ASSERT_EQUAL(brisk_bdev_write_blocks(ro, ch, wbuf, 0, 1, io_done, &c), -EBADF);
		CU_ASSERT_EQUAL(brisk_bdev_unmap_blocks(ro, ch, 0, 1, io_done, &c), -EBADF);
		brisk_put_io_channel(ch);
		poll_threads();
		brisk_bdev_close(ro);
	}

	/* Compare: same data succeeds, different data miscompares. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_compare_blocks(e.desc, e.ch[0], wbuf, 8, 8, io_done, &c), 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_TRUE(c.success);
	wbuf[5] ^= 0xff;
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_compare_blocks(e.desc, e.ch[0], wbuf, 8, 8, io_done, &c), 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_FALSE(c.success);
	CU_ASSERT_EQUAL(c.status, BRISK_BDEV_IO_STATUS_MISCOMPARE);

	/* A failing module completion reaches the caller as a failure. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_flush_blocks(e.desc, e.ch[0], 0, 128, io_done, &c), 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_FAILED);
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_FALSE(c.success);
	CU_ASSERT_EQUAL(c.err, -EIO);

	/* A module's errno reaches the caller as it is (a full file: -ENOSPC). */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], wbuf, 0, 1, io_done, &c), 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_AIO_ERROR);
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_FALSE(c.success);
	CU_ASSERT_EQUAL(c.status, BRISK_BDEV_IO_STATUS_AIO_ERROR);
	CU_ASSERT_EQUAL(c.err, -ENOSPC);
	/* Completed from another thread: forwarded with its errno. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], wbuf, 0, 1, io_done, &c), 0);
	{
		struct ut_io *u = TAILQ_FIRST(&g_pending);

		u->thread = g_th[1];
	}
	g_ut_errno = -EROFS;
	ut_complete(1, BRISK_BDEV_IO_STATUS_AIO_ERROR);
	g_ut_errno = -ENOSPC;
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(c.err, -EROFS);
	CU_ASSERT_PTR_EQUAL(c.thread, g_th[0]);
	/* Success and miscompare have their own values. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_flush_blocks(e.desc, e.ch[0], 0, 128, io_done, &c), 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(c.err, 0);
	env_stop(&e);
	free(wbuf);
	free(rbuf);
}

static uint32_t g_pt_cdw0;
static int g_pt_sct, g_pt_sc;

static void pt_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	brisk_bdev_io_get_nvme_status(io, &g_pt_cdw0, &g_pt_sct, &g_pt_sc);
	io_done(io, success, arg);
}

/* NVMe passthrough: argument checks, the command reaching the module as a
 * copy, completion never inside the call, and the NVMe status kept for the
 * caller (or made up from the bdev status). */
static void test_nvme_passthru(void)
{
	struct io_env e;
	struct cpl c = {0};
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_READ, .cdw10 = 7 };
	struct brisk_bdev_desc *ro;
	struct brisk_io_channel *roch;
	struct ut_io *u;
	uint8_t buf[512];

	env_open(&e, "ut_pt", 512, 16);
	env_start(&e);
	CU_ASSERT_EQUAL(brisk_bdev_nvme_io_passthru(e.desc, e.ch[0], NULL, buf, 512, io_done, &c), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_nvme_io_passthru(e.desc, e.ch[0], &cmd, NULL, 512, io_done, &c), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_nvme_admin_passthru(e.desc, e.ch[0], &cmd, buf, 512, NULL, &c), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_pt", false, ev_cb, &e.ev, &ro), 0);
	roch = brisk_bdev_get_io_channel(ro);
	CU_ASSERT_EQUAL(brisk_bdev_nvme_io_passthru(ro, roch, &cmd, buf, 512, io_done, &c), -EBADF);
	brisk_put_io_channel(roch);
	poll_threads();
	brisk_bdev_close(ro);

	/* Succeeds with a status the module did not give: 0/0. */
	reset_recs();
	g_pt_sc = -1;
	CU_ASSERT_EQUAL(brisk_bdev_nvme_io_passthru(e.desc, e.ch[0], &cmd, buf, 512, pt_done, &c), 0);
	cmd.cdw10 = 99; /* the layer holds a copy */
	CU_ASSERT_EQUAL(g_nrecs, 1);
	CU_ASSERT_EQUAL(g_recs[0].type, BRISK_BDEV_IO_TYPE_NVME_IO);
	u = TAILQ_FIRST(&g_pending);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_EQUAL(brisk_bdev_io_from_ctx(u)->nvme_passthru.cmd.cdw10, 7);
	CU_ASSERT_PTR_EQUAL(brisk_bdev_io_from_ctx(u)->nvme_passthru.buf, buf);
	CU_ASSERT_EQUAL(c.calls, 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(g_pt_sct, 0);
	CU_ASSERT_EQUAL(g_pt_sc, 0);

	/* The module's NVMe status: a compare failure is a MISCOMPARE. */
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_nvme_admin_passthru(e.desc, e.ch[0], &cmd, NULL, 0, pt_done, &c), 0);
	u = TAILQ_FIRST(&g_pending);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	TAILQ_REMOVE(&g_pending, u, link);
	g_npending--;
	brisk_bdev_io_complete_nvme_status(brisk_bdev_io_from_ctx(u), 0x1234, BRISK_NVME_SCT_MEDIA_ERROR,
					   BRISK_NVME_SC_COMPARE_FAILURE);
	poll_threads();
	CU_ASSERT_EQUAL(g_pt_cdw0, 0x1234);
	CU_ASSERT_EQUAL(g_pt_sct, BRISK_NVME_SCT_MEDIA_ERROR);
	CU_ASSERT_EQUAL(g_pt_sc, BRISK_NVME_SC_COMPARE_FAILURE);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(c.status, BRISK_BDEV_IO_STATUS_MISCOMPARE);
	env_stop(&e);
}

/* Builds iovecs of the given lengths over one flat buffer. */
static int make_iovs(struct iovec *iov, uint8_t *buf, const size_t *lens, int n)
{
	size_t off = 0;

	for (int i = 0; i < n; i++) {
		iov[i].iov_base = buf + off;
		iov[i].iov_len = lens[i];
		off += lens[i];
	}
	return n;
}

static void test_split_boundary_odd_iovs(void)
{
	struct io_env e;
	struct cpl c = {0};
	/* 20 blocks = 10240 bytes in odd pieces, some cutting blocks. */
	static const size_t wl[] = { 100, 3000, 1, 511, 2048, 1000, 3580 };
	static const size_t rl[] = { 7000, 13, 3227 };
	struct iovec wiov[8], riov[4];
	uint8_t *wbuf = malloc(10240), *rbuf = calloc(1, 10240);

	env_open(&e, "ut_split", 512, 256);
	e.d.bdev.optimal_io_boundary = 8;
	e.d.bdev.split_on_optimal_io_boundary = true;
	env_start(&e);
	fill_pattern(wbuf, 10240, 7);
	make_iovs(wiov, wbuf, wl, 7);
	CU_ASSERT_EQUAL(brisk_bdev_writev_blocks(e.desc, e.ch[0], wiov, 7, 5, 20, io_done, &c), 0);
	/* Children: [5,8) [8,16) [16,24) [24,25). */
	CU_ASSERT_EQUAL(g_nrecs, 4);
	CU_ASSERT(g_recs[0].offset == 5 && g_recs[0].num == 3);
	CU_ASSERT(g_recs[1].offset == 8 && g_recs[1].num == 8);
	CU_ASSERT(g_recs[2].offset == 16 && g_recs[2].num == 8);
	CU_ASSERT(g_recs[3].offset == 24 && g_recs[3].num == 1);
	/* Out-of-order completion of the children. */
	while (g_npending > 0) {
		ut_complete_last(BRISK_BDEV_IO_STATUS_SUCCESS);
	}
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(memcmp(e.d.store + 5 * 512, wbuf, 10240), 0);

	/* Read back with other odd shapes, max transfer 3 blocks, no boundary. */
	e.d.bdev.split_on_optimal_io_boundary = false;
	e.d.bdev.max_transfer_size = 3;
	reset_recs();
	memset(&c, 0, sizeof(c));
	make_iovs(riov, rbuf, rl, 3);
	CU_ASSERT_EQUAL(brisk_bdev_readv_blocks(e.desc, e.ch[1], riov, 3, 5, 20, io_done, &c), 0);
	/* At most 8 children in flight: 3-block pieces, 7 of them in all. */
	CU_ASSERT_EQUAL(g_nrecs, 7);
	for (int i = 0; i < g_nrecs; i++) {
		CU_ASSERT(g_recs[i].num <= 3);
	}
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_PTR_EQUAL(c.thread, g_th[1]);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 10240), 0);

	/* A failing child fails the parent. */
	reset_recs();
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_readv_blocks(e.desc, e.ch[0], riov, 3, 5, 20, io_done, &c), 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_FAILED);
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_FALSE(c.success);
	CU_ASSERT_EQUAL(c.err, -EIO);

	/* The parent carries the errno of its failed child. */
	reset_recs();
	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_readv_blocks(e.desc, e.ch[0], riov, 3, 5, 20, io_done, &c), 0);
	ut_complete(2, BRISK_BDEV_IO_STATUS_SUCCESS);
	ut_complete(1, BRISK_BDEV_IO_STATUS_AIO_ERROR);
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_FALSE(c.success);
	CU_ASSERT_EQUAL(c.err, -ENOSPC);
	env_stop(&e);
	free(wbuf);
	free(rbuf);
}

static void test_split_many_iovs(void)
{
	struct io_env e;
	struct cpl c = {0};
	struct iovec iov[64];
	size_t lens[64];
	uint8_t *wbuf = malloc(10240), *rbuf = calloc(1, 10240);
	int total = 0;

	/* 64 iovecs of 160 bytes = 20 blocks; children of up to 16 blocks would
	 * need 52 iovecs, more than a child carries (32): they end early on a
	 * block boundary. */
	for (int i = 0; i < 64; i++) {
		lens[i] = 160;
	}
	env_open(&e, "ut_manyiov", 512, 64);
	e.d.bdev.max_transfer_size = 16;
	env_start(&e);
	fill_pattern(wbuf, 10240, 3);
	make_iovs(iov, wbuf, lens, 64);
	CU_ASSERT_EQUAL(brisk_bdev_writev_blocks(e.desc, e.ch[0], iov, 64, 0, 20, io_done, &c), 0);
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_TRUE(c.success);
	for (int i = 0; i < g_nrecs; i++) {
		CU_ASSERT(g_recs[i].iovcnt <= 32);
		CU_ASSERT(g_recs[i].num <= 16);
		total += (int)g_recs[i].num;
	}
	CU_ASSERT_EQUAL(total, 20);
	CU_ASSERT(g_nrecs >= 2);
	CU_ASSERT_EQUAL(memcmp(e.d.store, wbuf, 10240), 0);

	memset(&c, 0, sizeof(c));
	make_iovs(iov, rbuf, lens, 64);
	CU_ASSERT_EQUAL(brisk_bdev_readv_blocks(e.desc, e.ch[0], iov, 64, 0, 20, io_done, &c), 0);
	for (int k = 0; k < 4; k++) {
		ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
		poll_threads();
	}
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 10240), 0);
	env_stop(&e);
	free(wbuf);
	free(rbuf);
}

static void test_bounce_and_provided_buffers(void)
{
	struct io_env e;
	struct cpl c = {0};
	uint8_t *raw = malloc(8192 + 64), *wbuf = raw + 1; /* misaligned */
	uint8_t *raw2 = calloc(1, 8192 + 64), *rbuf = raw2 + 3;
	uint8_t *copy = malloc(4096);

	env_open(&e, "ut_bounce", 512, 64);
	e.d.bdev.required_alignment = 512;
	env_start(&e);
	fill_pattern(wbuf, 4096, 11);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], wbuf, 2, 8, io_done, &c), 0);
	CU_ASSERT_EQUAL(g_nrecs, 1);
	CU_ASSERT_TRUE(g_recs[0].aligned);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(memcmp(e.d.store + 1024, wbuf, 4096), 0);

	memset(&c, 0, sizeof(c));
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], rbuf, 2, 8, io_done, &c), 0);
	CU_ASSERT_TRUE(g_recs[1].aligned);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(memcmp(rbuf, wbuf, 4096), 0);

	/* A read with no buffer gets one from the pool. */
	memset(&c, 0, sizeof(c));
	c.data.iov_base = copy;
	c.data.iov_len = 4096;
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], NULL, 2, 8, io_done, &c), 0);
	CU_ASSERT_TRUE(g_recs[2].aligned);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT_EQUAL(memcmp(copy, wbuf, 4096), 0);

	/* Too large for one pool buffer. */
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], NULL, 0, 64, io_done, &c), 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	{
		struct ut_disk big;
		struct brisk_bdev_desc *bd;
		struct brisk_io_channel *bch;
		uint64_t max = BRISK_BDEV_LARGE_BUF_SIZE / 512;

		ut_disk_init(&big, "ut_bigread", 512, max + 8);
		CU_ASSERT_EQUAL(brisk_bdev_register(&big.bdev), 0);
		poll_threads();
		CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_bigread", false, ev_cb, &e.ev, &bd), 0);
		bch = brisk_bdev_get_io_channel(bd);
		CU_ASSERT_EQUAL(brisk_bdev_read_blocks(bd, bch, NULL, 0, max + 1, io_done, &c), -EINVAL);
		brisk_put_io_channel(bch);
		poll_threads();
		brisk_bdev_close(bd);
		remove_disk(&big);
	}

	/* Buffer pool exhaustion: the small pool has 4 buffers; 6 reads wait
	 * for buffers and all complete. */
	{
		struct cpl cs[6];

		memset(cs, 0, sizeof(cs));
		reset_recs();
		for (int i = 0; i < 6; i++) {
			CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], NULL, 2, 8, io_done, &cs[i]), 0);
		}
		CU_ASSERT_EQUAL(g_npending, 4);
		for (int k = 0; k < 10 && g_npending > 0; k++) {
			ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
			poll_threads();
		}
		for (int i = 0; i < 6; i++) {
			CU_ASSERT_EQUAL(cs[i].calls, 1);
			CU_ASSERT_TRUE(cs[i].success);
		}
	}
	env_stop(&e);
	free(raw);
	free(raw2);
	free(copy);
}

/* ------------------------------------------------------------------------ */
/* Resource exhaustion */

struct waiter {
	struct brisk_bdev_io_wait_entry entry;
	struct io_env *e;
	struct cpl *c;
	uint8_t *buf;
	int resubmits;
};

static void waiter_cb(void *arg)
{
	struct waiter *w = arg;

	w->resubmits++;
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(w->e->desc, w->e->ch[0], w->buf, 0, 1, io_done, w->c), 0);
}

static void test_io_wait_pool_exhaustion(void)
{
	struct io_env e;
	struct cpl cs[IO_POOL_SIZE + 1], wc = {0};
	struct waiter w = {0};
	uint8_t *buf = malloc(512);
	int n = 0, rc;

	env_open(&e, "ut_iowait", 512, 64);
	env_start(&e);
	memset(cs, 0, sizeof(cs));
	do {
		rc = brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 0, 1, io_done, &cs[n]);
		if (rc == 0) {
			n++;
		}
	} while (rc == 0 && n < IO_POOL_SIZE + 1);
	CU_ASSERT_EQUAL(rc, -ENOMEM);
	/* Thread 1 keeps its cache of IO_CACHE_SIZE. */
	CU_ASSERT_EQUAL(n, IO_POOL_SIZE - IO_CACHE_SIZE);
	CU_ASSERT_EQUAL(brisk_bdev_queue_io_wait(&e.d.bdev, e.ch[0], NULL), -EINVAL);
	w.entry.bdev = &e.d.bdev;
	w.entry.cb_fn = waiter_cb;
	w.entry.cb_arg = &w;
	w.e = &e;
	w.c = &wc;
	w.buf = buf;
	CU_ASSERT_EQUAL(brisk_bdev_queue_io_wait(&e.d.bdev, e.ch[0], &w.entry), 0);
	poll_threads();
	CU_ASSERT_EQUAL(w.resubmits, 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(cs[0].calls, 1);
	CU_ASSERT_EQUAL(w.resubmits, 1);
	CU_ASSERT_EQUAL(g_npending, n);
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	for (int i = 0; i < n; i++) {
		CU_ASSERT_EQUAL(cs[i].calls, 1);
	}
	CU_ASSERT_EQUAL(wc.calls, 1);
	CU_ASSERT_TRUE(wc.success);

	/* A split whose children exhaust the pool still completes. */
	{
		struct cpl big = {0};
		uint8_t *data = malloc(64 * 512);
		struct cpl hold[IO_POOL_SIZE];
		int h = 0;

		memset(hold, 0, sizeof(hold));
		e.d.bdev.max_transfer_size = 1;
		/* Leave 3 I/Os free: the parent and two children at a time. */
		while (h < IO_POOL_SIZE - IO_CACHE_SIZE - 3 &&
		       brisk_bdev_flush_blocks(e.desc, e.ch[0], 0, 1, io_done, &hold[h]) == 0) {
			h++;
		}
		CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], data, 0, 16, io_done, &big), 0);
		for (int k = 0; k < 100 && big.calls == 0; k++) {
			ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
			poll_threads();
		}
		CU_ASSERT_EQUAL(big.calls, 1);
		CU_ASSERT_TRUE(big.success);
		e.d.bdev.max_transfer_size = 0;
		free(data);
	}
	env_stop(&e);
	free(buf);
}

static void test_module_nomem_retry(void)
{
	struct io_env e;
	struct cpl cs[6];
	uint8_t *buf = malloc(4096);
	uint64_t start;

	env_open(&e, "ut_nomem", 512, 64);
	env_start(&e);
	memset(cs, 0, sizeof(cs));
	/* Nothing in flight: the retry poller resubmits. */
	g_nomem_left = 2;
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 0, 1, io_done, &cs[0]), 0);
	CU_ASSERT_EQUAL(g_npending, 0);
	start = brisk_get_time_us();
	while (g_npending == 0 && brisk_get_time_us() - start < 1000000) {
		poll_threads();
	}
	CU_ASSERT_EQUAL(g_nomem_left, 0);
	CU_ASSERT_EQUAL(g_npending, 1);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(cs[0].calls, 1);
	CU_ASSERT_TRUE(cs[0].success);

	/* With I/O in flight: queued I/O goes once the others complete, in order. */
	reset_recs();
	memset(cs, 0, sizeof(cs));
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 1, 1, io_done, &cs[0]), 0);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 2, 1, io_done, &cs[1]), 0);
	g_nomem_left = 1;
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 3, 1, io_done, &cs[2]), 0);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 4, 1, io_done, &cs[3]), 0);
	CU_ASSERT_EQUAL(g_npending, 2); /* 3 refused, 4 queued behind it */
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	CU_ASSERT_EQUAL(g_npending, 3);
	CU_ASSERT_EQUAL(g_recs[2].offset, 3);
	CU_ASSERT_EQUAL(g_recs[3].offset, 4);
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(cs[i].calls, 1);
		CU_ASSERT_TRUE(cs[i].success);
	}
	env_stop(&e);
	free(buf);
}

/* ------------------------------------------------------------------------ */
/* Reset, hot-remove, resize */

static void test_reset_with_io_in_flight(void)
{
	struct io_env e;
	struct cpl w0 = {0}, w1 = {0}, rst = {0}, late = {0};
	uint8_t *buf = calloc(1, 4096);

	env_open(&e, "ut_reset", 512, 64);
	env_start(&e);
	set_thread(0);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], buf, 0, 1, io_done, &w0), 0);
	set_thread(1);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[1], buf, 1, 1, io_done, &w1), 0);
	set_thread(0);
	CU_ASSERT_EQUAL(brisk_bdev_reset(e.desc, e.ch[0], io_done, &rst), 0);
	poll_threads();
	CU_ASSERT_EQUAL(g_nrecs, 2); /* the reset waits for the writes */
	set_thread(1);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], buf, 2, 1, io_done, &late), 0);
	poll_threads();
	CU_ASSERT_EQUAL(g_nrecs, 2); /* held: channels are frozen */
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(g_nrecs, 2);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(g_nrecs, 3);
	CU_ASSERT_EQUAL(g_recs[2].type, BRISK_BDEV_IO_TYPE_RESET);
	CU_ASSERT_EQUAL(w0.calls + w1.calls, 2);
	CU_ASSERT_EQUAL(rst.calls, 0);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(rst.calls, 1);
	CU_ASSERT_TRUE(rst.success);
	CU_ASSERT_EQUAL(g_nrecs, 4); /* the held read went after the reset */
	CU_ASSERT_EQUAL(g_recs[3].type, BRISK_BDEV_IO_TYPE_READ);
	ut_complete(1, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	CU_ASSERT_EQUAL(late.calls, 1);
	CU_ASSERT_PTR_EQUAL(late.thread, g_th[1]);
	env_stop(&e);
	free(buf);
}

static struct brisk_bdev_desc *g_hr_desc;
static struct brisk_io_channel *g_hr_ch;
static int g_hr_events;

static void hot_remove_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	if (type == BRISK_BDEV_EVENT_REMOVE) {
		g_hr_events++;
	}
}

static void test_hot_remove_with_io_in_flight(void)
{
	struct ut_disk d;
	struct cpl c[3];
	uint8_t *buf = malloc(512);
	int unreg_before;

	memset(c, 0, sizeof(c));
	set_thread(1);
	ut_disk_init(&d, "ut_hotremove", 512, 64);
	CU_ASSERT_EQUAL(brisk_bdev_register(&d.bdev), 0);
	poll_threads();
	g_hr_events = 0;
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_hotremove", true, hot_remove_cb, NULL, &g_hr_desc), 0);
	g_hr_ch = brisk_bdev_get_io_channel(g_hr_desc);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(brisk_bdev_write_blocks(g_hr_desc, g_hr_ch, buf, i, 1, io_done, &c[i]), 0);
	}
	unreg_before = g_unreg_calls;
	set_thread(0);
	brisk_bdev_unregister(&d.bdev, unreg_done, NULL);
	poll_threads();
	CU_ASSERT_EQUAL(g_hr_events, 1); /* delivered on the opening thread */
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("ut_hotremove"));
	{
		struct brisk_bdev_desc *late;

		CU_ASSERT_EQUAL(brisk_bdev_open_ext("ut_hotremove", false, hot_remove_cb, NULL, &late), -ENODEV);
	}
	CU_ASSERT_EQUAL(g_unreg_calls, unreg_before);
	CU_ASSERT_EQUAL(d.destructs, 0);
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_threads();
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(c[i].calls, 1);
		CU_ASSERT_TRUE(c[i].success);
	}
	set_thread(1);
	brisk_put_io_channel(g_hr_ch);
	poll_threads();
	set_thread(1);
	brisk_bdev_close(g_hr_desc);
	poll_threads();
	CU_ASSERT_EQUAL(d.destructs, 1);
	CU_ASSERT_EQUAL(g_unreg_calls, unreg_before + 1);
	CU_ASSERT_EQUAL(g_unreg_rc, 0);
	free(d.store);
	free(buf);
}

static void test_resize_event(void)
{
	struct io_env e;

	env_open(&e, "ut_resize", 512, 64);
	env_start(&e);
	CU_ASSERT_EQUAL(brisk_bdev_notify_blockcnt_change(&e.d.bdev, 128), 0);
	poll_threads();
	CU_ASSERT_EQUAL(e.ev.resizes, 1);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(&e.d.bdev), 128);
	CU_ASSERT_EQUAL(brisk_bdev_notify_blockcnt_change(&e.d.bdev, 32), -EBUSY);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(&e.d.bdev), 128);
	poll_threads();
	CU_ASSERT_EQUAL(e.ev.resizes, 1);
	e.d.bdev.blockcnt = 64; /* store size */
	env_stop(&e);
}

/* ------------------------------------------------------------------------ */
/* write_zeroes emulation, statistics, JSON */

static void test_write_zeroes_emulated(void)
{
	struct io_env e;
	struct cpl c = {0};
	uint64_t blocks = 300; /* more than the 64 KiB zero buffer */

	env_open(&e, "ut_wz", 512, 512);
	e.d.no_write_zeroes = true;
	env_start(&e);
	CU_ASSERT_TRUE(brisk_bdev_io_type_supported(&e.d.bdev, BRISK_BDEV_IO_TYPE_WRITE_ZEROES));
	memset(e.d.store, 0xab, 512 * 512);
	CU_ASSERT_EQUAL(brisk_bdev_write_zeroes_blocks(e.desc, e.ch[0], 10, blocks, io_done, &c), 0);
	for (int k = 0; k < 10 && c.calls == 0; k++) {
		ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
		poll_threads();
	}
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_TRUE(c.success);
	CU_ASSERT(g_nrecs >= 3);
	for (int i = 0; i < g_nrecs; i++) {
		CU_ASSERT_EQUAL(g_recs[i].type, BRISK_BDEV_IO_TYPE_WRITE);
	}
	for (uint64_t i = 0; i < 512 * 512; i++) {
		uint8_t want = (i >= 10 * 512 && i < (10 + blocks) * 512) ? 0 : 0xab;

		if (e.d.store[i] != want) {
			CU_FAIL("write_zeroes emulation wrote the wrong bytes");
			break;
		}
	}
	env_stop(&e);
}

static struct brisk_bdev_io_stat g_stat;
static int g_stat_calls;
static void stat_done(struct brisk_bdev *bdev, struct brisk_bdev_io_stat *stat, void *arg, int rc)
{
	CU_ASSERT_EQUAL(rc, 0);
	g_stat_calls++;
}

static void reset_stat_done(struct brisk_bdev *bdev, void *arg, int rc)
{
	g_stat_calls++;
}

static void test_stats_and_json(void)
{
	struct io_env e;
	struct cpl c = {0};
	struct brisk_bdev_io_stat chs;
	uint8_t *buf = calloc(1, 4096);
	json_t *info;

	env_open(&e, "ut_stats", 512, 64);
	env_start(&e);
	set_thread(0);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], buf, 0, 8, io_done, &c), 0);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 0, 4, io_done, &c), 0);
	set_thread(1);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], buf, 0, 2, io_done, &c), 0);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], buf, 0, 2, io_done, &c), 0);
	ut_complete(3, BRISK_BDEV_IO_STATUS_SUCCESS);
	ut_complete(1, BRISK_BDEV_IO_STATUS_FAILED);
	poll_threads();
	set_thread(0);
	brisk_bdev_get_io_stat(&e.d.bdev, e.ch[0], &chs);
	CU_ASSERT_EQUAL(chs.num_ops[BRISK_BDEV_IO_TYPE_WRITE], 1);
	CU_ASSERT_EQUAL(chs.bytes[BRISK_BDEV_IO_TYPE_WRITE], 4096);
	CU_ASSERT_EQUAL(chs.num_ops[BRISK_BDEV_IO_TYPE_READ], 1);
	g_stat_calls = 0;
	brisk_bdev_get_device_stat(&e.d.bdev, &g_stat, stat_done, NULL);
	poll_threads();
	CU_ASSERT_EQUAL(g_stat_calls, 1);
	CU_ASSERT_EQUAL(g_stat.num_ops[BRISK_BDEV_IO_TYPE_READ], 2);
	CU_ASSERT_EQUAL(g_stat.bytes[BRISK_BDEV_IO_TYPE_READ], 3072);
	CU_ASSERT_EQUAL(g_stat.num_errors[BRISK_BDEV_IO_TYPE_READ], 1);
	CU_ASSERT(g_stat.max_latency_ticks[BRISK_BDEV_IO_TYPE_WRITE] >= g_stat.min_latency_ticks[BRISK_BDEV_IO_TYPE_WRITE]);
	{
		json_t *o = json_object();

		brisk_bdev_io_stat_dump_json(&g_stat, o);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "num_read_ops")), 2);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "bytes_written")), 4096);
		/* io_error is keyed by SPDK's status names, listing only those seen. */
		CU_ASSERT_EQUAL(g_stat.error_status[-BRISK_BDEV_IO_STATUS_FAILED - 1], 1);
		CU_ASSERT_EQUAL(json_object_size(json_object_get(o, "io_error")), 1);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(o, "io_error"), "failed")), 1);
		g_stat.error_status[-BRISK_BDEV_IO_STATUS_NOMEM - 1] = 3;
		g_stat.error_status[-BRISK_BDEV_IO_STATUS_AIO_ERROR - 1] = 2;
		brisk_bdev_io_stat_dump_json(&g_stat, o);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(o, "io_error"), "nomem")), 3);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(o, "io_error"), "aio_error")), 2);
		json_decref(o);
	}
	brisk_bdev_reset_device_stat(&e.d.bdev, reset_stat_done, NULL);
	poll_threads();
	brisk_bdev_get_device_stat(&e.d.bdev, &g_stat, stat_done, NULL);
	poll_threads();
	CU_ASSERT_EQUAL(g_stat_calls, 3);
	CU_ASSERT_EQUAL(g_stat.num_ops[BRISK_BDEV_IO_TYPE_READ], 0);

	CU_ASSERT_EQUAL(brisk_bdev_alias_add(&e.d.bdev, "ut_stats_alias"), 0);
	info = brisk_bdev_info_json(&e.d.bdev);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(info, "name")), "ut_stats");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "num_blocks")), 64);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(info, "aliases")), 1);
	CU_ASSERT_TRUE(json_is_true(json_object_get(json_object_get(info, "supported_io_types"), "read")));
	CU_ASSERT_PTR_NOT_NULL(json_object_get(json_object_get(info, "driver_specific"), "ut"));
	/* SPDK's size hints are present even when the module gives none (0). */
	CU_ASSERT_TRUE(json_is_integer(json_object_get(info, "preferred_unmap_granularity")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "optimal_write_size")), 0);
	json_decref(info);
	e.d.bdev.preferred_write_granularity = 8;
	e.d.bdev.optimal_write_size = 32;
	info = brisk_bdev_info_json(&e.d.bdev);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "preferred_write_granularity")), 8);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "optimal_write_size")), 32);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(info, "preferred_write_alignment")), 0);
	json_decref(info);
	env_stop(&e);
	free(buf);
}

/* ------------------------------------------------------------------------ */
/* QoS with a fake clock */

static int g_qos_cb;
static int g_qos_rc;
static void qos_done(void *arg, int rc)
{
	g_qos_cb++;
	g_qos_rc = rc;
}

static uint64_t g_now;
static void poll_at(uint64_t now)
{
	for (int round = 0; round < 1000; round++) {
		int work = 0;

		for (int i = 0; i < NTHREADS; i++) {
			work += brisk_thread_poll(g_th[i], 0, now);
		}
		if (work == 0) {
			return;
		}
	}
}

static void test_qos_fake_clock(void)
{
	struct io_env e;
	struct cpl cs[6];
	uint8_t *buf = malloc(8 * 4096);
	uint64_t limits[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES];
	uint64_t got[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES];
	uint64_t ms = brisk_get_ticks_hz() / 1000;

	env_open(&e, "ut_qos", 512, 256);
	env_start(&e);
	memset(cs, 0, sizeof(cs));
	g_now = brisk_get_ticks();

	/* Bad limit: not a multiple of 1000. */
	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		limits[i] = BRISK_BDEV_QOS_LIMIT_NOT_DEFINED;
	}
	limits[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT] = 1500;
	g_qos_cb = 0;
	set_thread(0);
	brisk_bdev_set_qos_rate_limits(&e.d.bdev, limits, qos_done, NULL);
	CU_ASSERT_EQUAL(g_qos_cb, 1);
	CU_ASSERT_EQUAL(g_qos_rc, -EINVAL);

	/* 1000 IOPS = one I/O per 1 ms timeslice. */
	limits[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT] = 1000;
	brisk_bdev_set_qos_rate_limits(&e.d.bdev, limits, qos_done, NULL);
	poll_at(g_now);
	CU_ASSERT_EQUAL(g_qos_cb, 2);
	CU_ASSERT_EQUAL(g_qos_rc, 0);
	brisk_bdev_get_qos_rate_limits(&e.d.bdev, got);
	CU_ASSERT_EQUAL(got[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT], 1000);
	CU_ASSERT_EQUAL(got[BRISK_BDEV_QOS_RW_BPS_RATE_LIMIT], 0);

	/* Three from thread 1 (sent to the QoS thread, 0), two from thread 0. */
	set_thread(1);
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], buf, i, 1, io_done, &cs[i]), 0);
	}
	set_thread(0);
	for (int i = 3; i < 5; i++) {
		CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, i, 1, io_done, &cs[i]), 0);
	}
	poll_at(g_now);
	CU_ASSERT_EQUAL(g_nrecs, 1);
	for (int slice = 1; slice <= 4; slice++) {
		g_now += ms + 1;
		poll_at(g_now);
		CU_ASSERT_EQUAL(g_nrecs, 1 + slice);
	}
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_at(g_now);
	for (int i = 0; i < 5; i++) {
		CU_ASSERT_EQUAL(cs[i].calls, 1);
		CU_ASSERT_TRUE(cs[i].success);
	}
	/* Completions came back to each submitter. */
	CU_ASSERT_PTR_EQUAL(cs[0].thread, g_th[1]);
	CU_ASSERT_PTR_EQUAL(cs[3].thread, g_th[0]);

	/* Bandwidth: 1 MB/s = 1048 bytes per slice; a 4 KiB write overdraws and
	 * the next waits until the debt is paid (4 slices). */
	reset_recs();
	limits[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT] = 0;
	limits[BRISK_BDEV_QOS_W_BPS_RATE_LIMIT] = 1;
	brisk_bdev_set_qos_rate_limits(&e.d.bdev, limits, qos_done, NULL);
	poll_at(g_now);
	CU_ASSERT_EQUAL(g_qos_cb, 3);
	memset(cs, 0, sizeof(cs));
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], buf, 0, 8, io_done, &cs[0]), 0);
	CU_ASSERT_EQUAL(brisk_bdev_write_blocks(e.desc, e.ch[0], buf, 8, 8, io_done, &cs[1]), 0);
	/* Reads are not limited by a write limit. */
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[0], buf, 8, 8, io_done, &cs[2]), 0);
	poll_at(g_now);
	CU_ASSERT_EQUAL(g_nrecs, 1);
	{
		int slices = 0;

		while (g_nrecs < 3 && slices < 20) {
			g_now += ms + 1;
			poll_at(g_now);
			slices++;
		}
		CU_ASSERT_EQUAL(g_nrecs, 3);
		CU_ASSERT(slices >= 3 && slices <= 5);
	}
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_at(g_now);

	/* Removing every limit lets I/O through at once. */
	reset_recs();
	limits[BRISK_BDEV_QOS_W_BPS_RATE_LIMIT] = 0;
	brisk_bdev_set_qos_rate_limits(&e.d.bdev, limits, qos_done, NULL);
	poll_at(g_now);
	CU_ASSERT_EQUAL(g_qos_cb, 4);
	memset(cs, 0, sizeof(cs));
	set_thread(1);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(brisk_bdev_read_blocks(e.desc, e.ch[1], buf, i, 1, io_done, &cs[i]), 0);
	}
	CU_ASSERT_EQUAL(g_nrecs, 4);
	ut_complete(100, BRISK_BDEV_IO_STATUS_SUCCESS);
	poll_at(g_now);
	set_thread(0);
	env_stop(&e);
	free(buf);
}

/* ------------------------------------------------------------------------ */

static int g_init_rc = -1;
static void init_done(void *arg, int rc)
{
	g_init_rc = rc;
}

static bool g_fini_done;
static void fini_done(void *arg)
{
	g_fini_done = true;
}

static void test_opts_bad_input(void)
{
	struct brisk_bdev_opts opts;

	brisk_bdev_get_opts(&opts);
	/* After init, options are refused. */
	CU_ASSERT_EQUAL(brisk_bdev_set_opts(&opts), -EPERM);
	CU_ASSERT_EQUAL(brisk_bdev_set_opts(NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_examine("x"), -EINVAL); /* auto examine is on */
}

static int ut_setup(void)
{
	struct brisk_bdev_opts opts;

	for (int i = 0; i < NTHREADS; i++) {
		g_th[i] = brisk_thread_create(i == 0 ? "ut0" : "ut1", NULL);
	}
	brisk_set_thread(g_th[0]);
	brisk_io_device_register(&g_ut_io_device, ut_ch_create, ut_ch_destroy, 8, "ut_dev");
	brisk_bdev_get_opts(&opts);
	opts.bdev_io_cache_size = 0;
	if (brisk_bdev_set_opts(&opts) != -EINVAL) {
		fprintf(stderr, "cache size 0 accepted\n");
		return -1;
	}
	opts.bdev_io_pool_size = IO_POOL_SIZE;
	opts.bdev_io_cache_size = IO_CACHE_SIZE;
	opts.small_buf_pool_size = 4;
	opts.large_buf_pool_size = 2;
	if (brisk_bdev_set_opts(&opts) != 0) {
		fprintf(stderr, "bdev_set_opts failed\n");
		return -1;
	}
	brisk_bdev_initialize(init_done, NULL);
	poll_threads();
	if (g_init_rc != 0) {
		fprintf(stderr, "bdev init failed: %d\n", g_init_rc);
		return -1;
	}
	return 0;
}

/* Both threads exit together: one may still send to the other meanwhile. */
static void ut_threads_end(void)
{
	for (int i = 0; i < NTHREADS; i++) {
		brisk_set_thread(g_th[i]);
		brisk_thread_exit(g_th[i]);
	}
	for (int k = 0; k < 1000; k++) {
		bool all = true;

		for (int i = 0; i < NTHREADS; i++) {
			brisk_thread_poll(g_th[i], 0, 0);
			all = all && brisk_thread_is_exited(g_th[i]);
		}
		if (all) {
			break;
		}
	}
	for (int i = 0; i < NTHREADS; i++) {
		brisk_thread_destroy(g_th[i]);
	}
	brisk_set_thread(NULL);
}

static int ut_teardown(void)
{
	int rc = 0;

	brisk_set_thread(g_th[0]);
	brisk_bdev_finish(fini_done, NULL);
	poll_threads();
	if (!g_fini_done) {
		fprintf(stderr, "bdev finish did not complete\n");
		rc = -1;
	}
	brisk_io_device_unregister(&g_ut_io_device, NULL);
	poll_threads();
	ut_threads_end();
	return rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_opts_bad_input),
	BRISK_UT_TEST(test_register_bad_params),
	BRISK_UT_TEST(test_open_and_claims),
	BRISK_UT_TEST(test_examine_order),
	BRISK_UT_TEST(test_unregister_before_examine),
	BRISK_UT_TEST(test_rw_and_async_completion),
	BRISK_UT_TEST(test_nvme_passthru),
	BRISK_UT_TEST(test_split_boundary_odd_iovs),
	BRISK_UT_TEST(test_split_many_iovs),
	BRISK_UT_TEST(test_bounce_and_provided_buffers),
	BRISK_UT_TEST(test_io_wait_pool_exhaustion),
	BRISK_UT_TEST(test_module_nomem_retry),
	BRISK_UT_TEST(test_reset_with_io_in_flight),
	BRISK_UT_TEST(test_hot_remove_with_io_in_flight),
	BRISK_UT_TEST(test_resize_event),
	BRISK_UT_TEST(test_write_zeroes_emulated),
	BRISK_UT_TEST(test_stats_and_json),
	BRISK_UT_TEST(test_qos_fake_clock),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bdev", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "bdev_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 128,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
