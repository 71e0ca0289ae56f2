/*
 * The I/O path against the fake controller: every NVM command with data
 * checked in the fake's RAM, callbacks never inside the submitting call,
 * PRP and SGL building for contiguous and scattered buffers, splitting past
 * MDTS and at the optimal I/O boundary, phase-tag wrap, out-of-order
 * completions, the software queue when the SQ is full, an empty request
 * pool, qpair deletion with commands outstanding.
 */
#include <sys/uio.h>

#include "nvme_ut_common.h"
#include "../../common/ut_main.h"

struct ut_vio {
	struct ut_io io; /* first: ut_io_cb's view */
	struct iovec *iov;
	int iovcnt;
	int idx;
	uint32_t off;
};

static void ut_reset_sgl(void *arg, uint32_t offset)
{
	struct ut_vio *v = arg;

	for (v->idx = 0; v->idx < v->iovcnt && offset >= v->iov[v->idx].iov_len; v->idx++) {
		offset -= (uint32_t)v->iov[v->idx].iov_len;
	}
	v->off = offset;
}

static int ut_next_sge(void *arg, void **address, uint32_t *length)
{
	struct ut_vio *v = arg;

	if (v->idx >= v->iovcnt) {
		return -1;
	}
	*address = (uint8_t *)v->iov[v->idx].iov_base + v->off;
	*length = (uint32_t)v->iov[v->idx].iov_len - v->off;
	v->idx++;
	v->off = 0;
	return 0;
}

struct ut_env {
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;
	struct brisk_nvme_qpair *qpair;
	uint8_t *buf;  /* 2 MiB DMA buffer */
	uint8_t *ram;  /* namespace 1's contents in the fake */
};

static void ut_env_up(struct ut_env *e, const char *name, struct nvme_fake_params *p,
		      uint32_t qsize, uint32_t nreqs)
{
	struct brisk_nvme_io_qpair_opts qo = { .io_queue_size = qsize, .io_queue_requests = nreqs };

	memset(e, 0, sizeof(*e));
	e->ctrlr = ut_attach(name, p, &e->dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->ctrlr);
	e->ns = brisk_nvme_ctrlr_get_ns(e->ctrlr, 1);
	e->qpair = brisk_nvme_ctrlr_alloc_io_qpair(e->ctrlr, &qo);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->qpair);
	e->buf = brisk_dma_zmalloc(2u << 20, 4096, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->buf);
	e->ram = nvme_fake_ns_ram(e->dev, 1);
}

static void ut_env_down(struct ut_env *e)
{
	brisk_free(e->buf);
	if (e->qpair != NULL) {
		CU_ASSERT_EQUAL(brisk_nvme_ctrlr_free_io_qpair(e->qpair), 0);
	}
	ut_detach(e->ctrlr, e->dev);
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed + i * 7 + i / 512);
	}
}

/* Submits through fn with g_in_submit set, then waits: the callback must
 * not have run inside the call. */
#define UT_SUBMIT_WAIT(e, io, call) do { \
		g_in_submit = true; \
		CU_ASSERT_EQUAL(call, 0); \
		g_in_submit = false; \
		CU_ASSERT(!(io)->done); \
		CU_ASSERT(ut_wait((e)->ctrlr, (e)->qpair, (io))); \
		CU_ASSERT(!(io)->ran_in_submit); \
		CU_ASSERT_EQUAL((io)->calls, 1); \
	} while (0)

static void test_commands(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	struct ut_io io = { 0 };
	struct brisk_nvme_dsm_range range = { .starting_lba = 8, .length = 4 };
	struct nvme_fake_stats *st;

	nvme_fake_default_params(&p);
	ut_env_up(&e, "cmds0", &p, 32, 64);
	st = nvme_fake_get_stats(e.dev);
	fill(e.buf, 8192, 1);
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf, 4, 16, ut_io_cb, &io, 0));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io.cpl));
	CU_ASSERT_EQUAL(memcmp(e.ram + 4 * 512, e.buf, 8192), 0);

	memset(&io, 0, sizeof(io));
	memset(e.buf + 8192, 0, 8192);
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf + 8192, 4, 16, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(memcmp(e.buf, e.buf + 8192, 8192), 0);

	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf, 4, 1, ut_io_cb, &io,
							BRISK_NVME_IO_FLAGS_FUA));
	CU_ASSERT(st->last_io.cdw12 & BRISK_NVME_IO_FLAGS_FUA);

	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_compare(e.ns, e.qpair, e.buf, 4, 16, ut_io_cb, &io, 0));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io.cpl));
	memset(&io, 0, sizeof(io));
	e.buf[100] ^= 0xff;
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_compare(e.ns, e.qpair, e.buf, 4, 16, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(io.cpl.status.sct, BRISK_NVME_SCT_MEDIA_ERROR);
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_COMPARE_FAILURE);

	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write_zeroes(e.ns, e.qpair, 4, 4, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(e.ram[4 * 512], 0);
	CU_ASSERT_EQUAL(e.ram[8 * 512 - 1], 0);
	CU_ASSERT_EQUAL(memcmp(e.ram + 8 * 512, e.buf + 8192 + 4 * 512, 512), 0);

	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_dataset_management(e.ns, e.qpair,
			BRISK_NVME_DSM_ATTR_DEALLOCATE, &range, 1, ut_io_cb, &io));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io.cpl));
	CU_ASSERT_EQUAL(e.ram[8 * 512], 0);
	CU_ASSERT_EQUAL(st->io_opc[BRISK_NVME_OPC_DATASET_MANAGEMENT], 1);

	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_flush(e.ns, e.qpair, ut_io_cb, &io));
	CU_ASSERT_EQUAL(st->io_opc[BRISK_NVME_OPC_FLUSH], 1);

	/* Past the end: the controller's LBA OUT OF RANGE. */
	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf,
			brisk_nvme_ns_get_num_sectors(e.ns), 1, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_LBA_OUT_OF_RANGE);

	/* Bad arguments never reach the controller. */
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 0, ut_io_cb, &io, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, NULL, 0, 1, ut_io_cb, &io, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io, 1u << 5), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_dataset_management(e.ns, e.qpair, 0, &range, 0, ut_io_cb, &io),
			-EINVAL);
	ut_env_down(&e);
}

static void test_raw_io(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	struct ut_io io = { 0 };
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_WRITE, .nsid = 1, .cdw10 = 2, .cdw12 = 0 };

	nvme_fake_default_params(&p);
	ut_env_up(&e, "raw0", &p, 32, 64);
	fill(e.buf, 512, 9);
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ctrlr_cmd_io_raw(e.ctrlr, e.qpair, &cmd, e.buf, 512, ut_io_cb, &io));
	CU_ASSERT_EQUAL(memcmp(e.ram + 1024, e.buf, 512), 0);
	ut_env_down(&e);
}

/* Contiguous buffers: PRP1 only, PRP1+PRP2, a PRP list; offsets in a page. */
static void test_prp_contig(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	struct ut_io io = { 0 };
	struct nvme_fake_stats *st;

	nvme_fake_default_params(&p);
	ut_env_up(&e, "prp0", &p, 32, 64);
	st = nvme_fake_get_stats(e.dev);
	fill(e.buf, 1 << 20, 3);

	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf + 512, 0, 7, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(st->last_io.psdt, 0);
	CU_ASSERT_EQUAL(st->last_io.dptr.prp.prp2, 0); /* 3.5 KiB in one page */
	CU_ASSERT_EQUAL(memcmp(e.ram, e.buf + 512, 7 * 512), 0);

	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf + 3584, 0, 8, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(st->last_io.dptr.prp.prp2, (uint64_t)(uintptr_t)(e.buf + 4096)); /* two pages */
	CU_ASSERT_EQUAL(memcmp(e.ram, e.buf + 3584, 4096), 0);

	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf + 1024, 16, 200, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(st->last_io.dptr.prp.prp2 & 4095, 0); /* a list page */
	CU_ASSERT_NOT_EQUAL(st->last_io.dptr.prp.prp2, (uint64_t)(uintptr_t)(e.buf + 4096));
	CU_ASSERT_EQUAL(memcmp(e.ram + 16 * 512, e.buf + 1024, 200 * 512), 0);

	/* Not dword aligned: refused before it reaches the controller. */
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf + 2, 0, 1, ut_io_cb, &io, 0), -EINVAL);
	ut_env_down(&e);
}

static void vio_setup(struct ut_vio *v, struct iovec *iov, int n)
{
	memset(v, 0, sizeof(*v));
	v->iov = iov;
	v->iovcnt = n;
}

/* Scattered buffers: PRP-shaped lists take PRPs; others an SGL, or an
 * error on a controller without SGLs. */
static void test_iovec_shapes(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	struct ut_vio v;
	struct iovec iov[64];
	struct nvme_fake_stats *st;
	uint8_t *expect = malloc(1 << 20);
	size_t off = 0;

	nvme_fake_default_params(&p);
	ut_env_up(&e, "iov0", &p, 32, 64);
	st = nvme_fake_get_stats(e.dev);
	fill(e.buf, 2u << 20, 5);

	/* Page-aligned pages, scattered: a PRP list. */
	for (int i = 0; i < 16; i++) {
		iov[i].iov_base = e.buf + (size_t)(15 - i) * 8192;
		iov[i].iov_len = 4096;
		memcpy(expect + i * 4096, iov[i].iov_base, 4096);
	}
	vio_setup(&v, iov, 16);
	UT_SUBMIT_WAIT(&e, &v.io, brisk_nvme_ns_cmd_writev(e.ns, e.qpair, 0, 128, ut_io_cb, &v, 0,
			ut_reset_sgl, ut_next_sge));
	CU_ASSERT_EQUAL(st->last_io.psdt, 0);
	CU_ASSERT_EQUAL(memcmp(e.ram, expect, 65536), 0);

	/* Many small segments of 512 bytes, not page aligned: an SGL. */
	for (int i = 0; i < 64; i++) {
		iov[i].iov_base = e.buf + 300000 + (size_t)i * 1000;
		iov[i].iov_len = 512;
		memcpy(expect + off, iov[i].iov_base, 512);
		off += 512;
	}
	vio_setup(&v, iov, 64);
	UT_SUBMIT_WAIT(&e, &v.io, brisk_nvme_ns_cmd_writev(e.ns, e.qpair, 64, 64, ut_io_cb, &v, 0,
			ut_reset_sgl, ut_next_sge));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&v.io.cpl));
	CU_ASSERT_EQUAL(st->last_io.psdt, 1);
	CU_ASSERT_EQUAL(st->last_io.dptr.sgl1.type_subtype >> 4, BRISK_NVME_SGL_TYPE_LAST_SEGMENT);
	CU_ASSERT_EQUAL(memcmp(e.ram + 64 * 512, expect, 64 * 512), 0);

	/* Read it back through the same shape. */
	memset(e.buf + 300000, 0, 64000);
	vio_setup(&v, iov, 64);
	UT_SUBMIT_WAIT(&e, &v.io, brisk_nvme_ns_cmd_readv(e.ns, e.qpair, 64, 64, ut_io_cb, &v, 0,
			ut_reset_sgl, ut_next_sge));
	for (int i = 0; i < 64; i++) {
		CU_ASSERT_EQUAL(memcmp(iov[i].iov_base, expect + i * 512, 512), 0);
	}
	/* A list shorter than the I/O: refused. */
	vio_setup(&v, iov, 2);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_readv(e.ns, e.qpair, 0, 4, ut_io_cb, &v, 0,
						ut_reset_sgl, ut_next_sge), -EINVAL);
	ut_env_down(&e);

	/* The same shape on a controller without SGLs: an error, nothing sent. */
	p.sgl = false;
	ut_env_up(&e, "iov1", &p, 32, 64);
	vio_setup(&v, iov, 64);
	for (int i = 0; i < 64; i++) {
		iov[i].iov_base = e.buf + 300000 + (size_t)i * 1000;
	}
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_writev(e.ns, e.qpair, 64, 64, ut_io_cb, &v, 0,
						 ut_reset_sgl, ut_next_sge), -EINVAL);
	CU_ASSERT_EQUAL(nvme_fake_get_stats(e.dev)->io_cmds, 0);
	ut_env_down(&e);
	free(expect);
}

/* Past MDTS (128 KiB here) and across the optimal I/O boundary. */
static void test_split(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	struct ut_vio v;
	struct iovec iov[3];
	struct ut_io io = { 0 };
	struct nvme_fake_stats *st;

	nvme_fake_default_params(&p);
	ut_env_up(&e, "split0", &p, 32, 64);
	st = nvme_fake_get_stats(e.dev);
	fill(e.buf, 1 << 20, 11);
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf, 0, 2048, ut_io_cb, &io, 0));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io.cpl));
	CU_ASSERT_EQUAL(st->io_opc[BRISK_NVME_OPC_WRITE], 8);
	CU_ASSERT_EQUAL(memcmp(e.ram, e.buf, 1 << 20), 0);

	/* Split iovecs: children start inside segments. */
	iov[0] = (struct iovec) { e.buf + (1 << 20), 100 * 1024 };
	iov[1] = (struct iovec) { e.buf + (1 << 20) + 200 * 1024, 60 * 1024 };
	iov[2] = (struct iovec) { e.buf + (1 << 20) + 400 * 1024, 96 * 1024 };
	fill(e.buf + (1 << 20), 1 << 20, 12);
	vio_setup(&v, iov, 3);
	UT_SUBMIT_WAIT(&e, &v.io, brisk_nvme_ns_cmd_writev(e.ns, e.qpair, 100, 512, ut_io_cb, &v, 0,
			ut_reset_sgl, ut_next_sge));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&v.io.cpl));
	CU_ASSERT_EQUAL(st->io_opc[BRISK_NVME_OPC_WRITE], 8 + 2);
	CU_ASSERT_EQUAL(memcmp(e.ram + 100 * 512, iov[0].iov_base, iov[0].iov_len), 0);
	CU_ASSERT_EQUAL(memcmp(e.ram + 100 * 512 + 100 * 1024, iov[1].iov_base, iov[1].iov_len), 0);
	CU_ASSERT_EQUAL(memcmp(e.ram + 100 * 512 + 160 * 1024, iov[2].iov_base, iov[2].iov_len), 0);

	/* Any child's error reaches the parent's callback once. */
	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf,
			brisk_nvme_ns_get_num_sectors(e.ns) - 300, 600, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_LBA_OUT_OF_RANGE);
	ut_env_down(&e);

	nvme_fake_default_params(&p);
	p.noiob = 8;
	ut_env_up(&e, "split1", &p, 32, 64);
	st = nvme_fake_get_stats(e.dev);
	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf, 4, 16, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(st->io_opc[BRISK_NVME_OPC_WRITE], 3); /* 4-7, 8-15, 16-19 */
	CU_ASSERT_EQUAL(st->last_io.cdw10, 16);
	CU_ASSERT_EQUAL(st->last_io.cdw12 & 0xffff, 3);
	CU_ASSERT_EQUAL(memcmp(e.ram + 4 * 512, e.buf, 16 * 512), 0);
	/* Write Zeroes carries no data: not split at the boundary. */
	memset(&io, 0, sizeof(io));
	UT_SUBMIT_WAIT(&e, &io, brisk_nvme_ns_cmd_write_zeroes(e.ns, e.qpair, 4, 16, ut_io_cb, &io, 0));
	CU_ASSERT_EQUAL(st->io_opc[BRISK_NVME_OPC_WRITE_ZEROES], 1);
	ut_env_down(&e);
}

static int g_done_count;
static int g_order[64];

static void count_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	CU_ASSERT(!brisk_nvme_cpl_is_error(cpl));
	g_order[g_done_count++ % 64] = (int)(uintptr_t)arg;
}

/* A 4-entry queue wraps its phase tag many times; completions that come
 * back in reverse order still find their callbacks. */
static void test_phase_wrap_and_order(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	uint64_t end;

	nvme_fake_default_params(&p);
	ut_env_up(&e, "wrap0", &p, 4, 8);
	g_done_count = 0;
	for (int i = 0; i < 100; i++) {
		CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, (uint64_t)i, 1, count_cb,
						       (void *)(uintptr_t)i, 0), 0);
		while (g_done_count == i) {
			brisk_nvme_qpair_process_completions(e.qpair, 0);
		}
	}
	CU_ASSERT_EQUAL(g_done_count, 100);

	nvme_fake_set_hold(e.dev, true);
	g_done_count = 0;
	for (int i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, count_cb,
						       (void *)(uintptr_t)i, 0), 0);
	}
	brisk_nvme_qpair_process_completions(e.qpair, 0);
	CU_ASSERT_EQUAL(nvme_fake_num_held(e.dev), 3);
	nvme_fake_set_hold(e.dev, false);
	nvme_fake_release(e.dev, true);
	end = brisk_get_time_us() + 1000000;
	while (g_done_count < 3 && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(e.qpair, 1); /* one at a time */
	}
	CU_ASSERT_EQUAL(g_order[0], 2);
	CU_ASSERT_EQUAL(g_order[1], 1);
	CU_ASSERT_EQUAL(g_order[2], 0);
	ut_env_down(&e);
}

/* More requests than SQ entries wait in software; an empty pool says -ENOMEM. */
static void test_queue_full(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	uint64_t end;
	int rc;

	nvme_fake_default_params(&p);
	ut_env_up(&e, "full0", &p, 8, 40);
	g_done_count = 0;
	for (int i = 0; i < 40; i++) {
		CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf + i * 512, (uint64_t)i, 1,
							count_cb, NULL, 0), 0);
	}
	CU_ASSERT_EQUAL(brisk_nvme_qpair_get_num_outstanding(e.qpair), 40);
	rc = brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf, 0, 1, count_cb, NULL, 0);
	CU_ASSERT_EQUAL(rc, -ENOMEM);
	CU_ASSERT_EQUAL(g_done_count, 0);
	end = brisk_get_time_us() + 1000000;
	while (g_done_count < 40 && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(e.qpair, 0);
	}
	CU_ASSERT_EQUAL(g_done_count, 40);
	CU_ASSERT(nvme_fake_get_stats(e.dev)->max_io_outstanding <= 7);
	CU_ASSERT_EQUAL(brisk_nvme_qpair_get_num_outstanding(e.qpair), 0);
	ut_env_down(&e);
}

/* Deleting a qpair completes what it had outstanding. */
static void test_free_qpair_outstanding(void)
{
	struct nvme_fake_params p;
	struct ut_env e;
	struct ut_io io = { 0 };

	nvme_fake_default_params(&p);
	ut_env_up(&e, "freeq0", &p, 16, 32);
	nvme_fake_set_hold(e.dev, true);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io, 0), 0);
	brisk_nvme_qpair_process_completions(e.qpair, 0);
	CU_ASSERT(!io.done);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_free_io_qpair(e.qpair), 0);
	e.qpair = NULL;
	CU_ASSERT(io.done);
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_ABORTED_SQ_DELETION);
	CU_ASSERT_EQUAL(nvme_fake_get_stats(e.dev)->bad_doorbells, 0);

	/* Written but not rung yet: sent before the SQ goes, and completed. */
	nvme_fake_set_hold(e.dev, false);
	e.qpair = brisk_nvme_ctrlr_alloc_io_qpair(e.ctrlr, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e.qpair);
	memset(&io, 0, sizeof(io));
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io, 0), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_free_io_qpair(e.qpair), 0);
	e.qpair = NULL;
	CU_ASSERT(io.done);
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io.cpl));
	CU_ASSERT_EQUAL(nvme_fake_get_stats(e.dev)->bad_doorbells, 0);
	ut_env_down(&e);
}

static int ut_setup(void)
{
	nvme_fake_transport_register();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "every command", test_commands },
	{ "raw I/O", test_raw_io },
	{ "PRPs of contiguous buffers", test_prp_contig },
	{ "iovec shapes: PRP, SGL, refused", test_iovec_shapes },
	{ "split past MDTS and at the boundary", test_split },
	{ "phase wrap and out-of-order completions", test_phase_wrap_and_order },
	{ "queue full: software queue, empty pool", test_queue_full },
	{ "free qpair with commands outstanding", test_free_qpair_outstanding },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_io", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvme_io",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
