/*
 * nvme_io: the I/O test of lib/nvme on a real (QEMU-emulated) controller,
 * run inside the test guest. With no mode it runs every check on the first
 * active namespace, one line each, then "nvme_io: PASS" or
 * "nvme_io: FAIL <check>":
 *   write/read, FUA, compare (match and mismatch), fused compare-and-write
 *   (or -ENOTSUP when Identify's FUSES bit 0 is clear), write zeroes, DSM
 *   deallocate, flush, many small unaligned segments (SGL, or refused
 *   without SGLs), PRP-shaped segments, I/O past MDTS (split), more
 *   requests than SQ entries, reset with I/O in flight (aborted I/O is
 *   resubmitted, data checked), Abort of a command found by a timeout.
 * Cross-check modes with the kernel's driver (a pattern that depends only on
 * the byte offset in the namespace and a seed):
 *   --write-pattern SEED / --verify-pattern SEED  --lba L --count N
 *   --pattern-file FILE: writes the expected bytes of that range to FILE.
 * Surprise removal: --until-removed SECONDS keeps 32 I/Os in flight until
 * the controller is found failed (the test removes the device meanwhile),
 * then checks that every I/O completed and new ones are refused.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/nvme.h>
#include <brisk/ticks.h>

#include "../../../lib/nvme/nvme_fake.h"

#define IO_BUF_SIZE (4u << 20)
#define IO_WAIT_US (20u * 1000 * 1000)

enum io_mode { MODE_TESTS, MODE_WRITE, MODE_VERIFY, MODE_FILE, MODE_REMOVAL };

struct io_opts {
	struct brisk_nvme_transport_id trid;
	bool has_trid;
	bool no_huge;
	uint64_t mem_mb;
	uint32_t nsid;
	enum io_mode mode;
	uint64_t seed;
	uint64_t lba;
	uint64_t count;
	const char *file;
	bool fake;
};

struct io_test {
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;
	struct brisk_nvme_qpair *qpair;
	uint8_t *buf;
	uint8_t *buf2;
	uint32_t bs;
	uint64_t sectors;
	const char *failed;
};

static struct nvme_fake_dev *g_fake; /* --fake only */

struct io_wait {
	bool done;
	struct brisk_nvme_cpl cpl;
	struct iovec *iov;
	int iovcnt;
	int idx;
	uint32_t off;
};

static void io_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct io_wait *w = arg;

	w->cpl = *cpl;
	w->done = true;
}

static void reset_sgl(void *arg, uint32_t offset)
{
	struct io_wait *w = arg;

	for (w->idx = 0; w->idx < w->iovcnt && offset >= w->iov[w->idx].iov_len; w->idx++) {
		offset -= (uint32_t)w->iov[w->idx].iov_len;
	}
	w->off = offset;
}

static int next_sge(void *arg, void **address, uint32_t *length)
{
	struct io_wait *w = arg;

	if (w->idx >= w->iovcnt) {
		return -1;
	}
	*address = (uint8_t *)w->iov[w->idx].iov_base + w->off;
	*length = (uint32_t)w->iov[w->idx].iov_len - w->off;
	w->idx++;
	w->off = 0;
	return 0;
}

/* 0 on success, -EIO with the status in w->cpl, or the submission's -errno. */
static int io_wait(struct io_test *t, int rc, struct io_wait *w)
{
	uint64_t end = brisk_get_time_us() + IO_WAIT_US;

	while (rc == 0 && !w->done) {
		if (brisk_nvme_qpair_process_completions(t->qpair, 0) < 0 || brisk_get_time_us() > end) {
			return -ETIMEDOUT;
		}
		brisk_nvme_ctrlr_process_admin_completions(t->ctrlr);
	}
	if (rc == 0 && brisk_nvme_cpl_is_error(&w->cpl)) {
		return -EIO;
	}
	return rc;
}

/* ---- The pattern: 8-byte words, a function of the seed and the byte offset ---- */

static void pattern_fill(uint8_t *buf, uint64_t byte_off, size_t len, uint64_t seed)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w = (byte_off + i) / 8;
		uint64_t v = (seed * 0x9e3779b97f4a7c15ull) ^ (w * 0x100000001b3ull) ^ (w << 17);

		memcpy(buf + i, &v, 8);
	}
}

static int io_rw(struct io_test *t, bool write, void *buf, uint64_t lba, uint32_t n, uint32_t flags)
{
	struct io_wait w = { 0 };
	int rc = write ? brisk_nvme_ns_cmd_write(t->ns, t->qpair, buf, lba, n, io_cb, &w, flags) :
		 brisk_nvme_ns_cmd_read(t->ns, t->qpair, buf, lba, n, io_cb, &w, flags);

	return io_wait(t, rc, &w);
}

static int io_rwv(struct io_test *t, bool write, struct iovec *iov, int iovcnt, uint64_t lba,
		  uint32_t n)
{
	struct io_wait w = { .iov = iov, .iovcnt = iovcnt };
	int rc = write ?
		 brisk_nvme_ns_cmd_writev(t->ns, t->qpair, lba, n, io_cb, &w, 0, reset_sgl, next_sge) :
		 brisk_nvme_ns_cmd_readv(t->ns, t->qpair, lba, n, io_cb, &w, 0, reset_sgl, next_sge);

	return io_wait(t, rc, &w);
}

static bool check(struct io_test *t, const char *name, bool ok)
{
	printf("nvme_io: %-44s %s\n", name, ok ? "ok" : "FAILED");
	if (!ok && t->failed == NULL) {
		t->failed = name;
	}
	return ok;
}

/* ---- Checks ---- */

static void check_write_read(struct io_test *t)
{
	uint32_t n = 65536 / t->bs;

	pattern_fill(t->buf, 0, 65536, 1);
	memset(t->buf2, 0, 65536);
	check(t, "write then read 64 KiB", io_rw(t, true, t->buf, 0, n, 0) == 0 &&
	      io_rw(t, false, t->buf2, 0, n, 0) == 0 && memcmp(t->buf, t->buf2, 65536) == 0);
	pattern_fill(t->buf, 0, t->bs, 2);
	memset(t->buf2, 0, t->bs);
	check(t, "write FUA then read", io_rw(t, true, t->buf, 1, 1, BRISK_NVME_IO_FLAGS_FUA) == 0 &&
	      io_rw(t, false, t->buf2, 1, 1, 0) == 0 && memcmp(t->buf, t->buf2, t->bs) == 0);
}

static void check_compare(struct io_test *t)
{
	struct io_wait w = { 0 };
	int rc;

	if (!brisk_nvme_ns_supports_compare(t->ns)) {
		check(t, "compare (not supported: -ENOTSUP)", brisk_nvme_ns_cmd_compare(t->ns, t->qpair,
		      t->buf, 1, 1, io_cb, &w, 0) == -ENOTSUP);
		return;
	}
	rc = io_wait(t, brisk_nvme_ns_cmd_compare(t->ns, t->qpair, t->buf, 1, 1, io_cb, &w, 0), &w);
	check(t, "compare, matching data", rc == 0);
	t->buf[7] ^= 0x5a;
	memset(&w, 0, sizeof(w));
	rc = io_wait(t, brisk_nvme_ns_cmd_compare(t->ns, t->qpair, t->buf, 1, 1, io_cb, &w, 0), &w);
	check(t, "compare, mismatch -> COMPARE FAILURE", rc == -EIO &&
	      w.cpl.status.sct == BRISK_NVME_SCT_MEDIA_ERROR &&
	      w.cpl.status.sc == BRISK_NVME_SC_COMPARE_FAILURE);
}

/* Compare buf with LBA 2, write buf2 there if equal; both halves' completions. */
static int fused_pair(struct io_test *t, struct io_wait *w1, struct io_wait *w2)
{
	int rc1 = brisk_nvme_ns_cmd_compare(t->ns, t->qpair, t->buf, 2, 1, io_cb, w1,
					    BRISK_NVME_IO_FLAGS_FUSE_FIRST);
	int rc2 = rc1 != 0 ? rc1 : brisk_nvme_ns_cmd_write(t->ns, t->qpair, t->buf2, 2, 1, io_cb, w2,
							 BRISK_NVME_IO_FLAGS_FUSE_SECOND);

	if (rc1 != 0 || rc2 != 0) {
		return rc1 != 0 ? rc1 : rc2;
	}
	io_wait(t, 0, w2);
	io_wait(t, 0, w1);
	return w1->done && w2->done ? 0 : -ETIMEDOUT;
}

static void check_fused(struct io_test *t)
{
	struct io_wait w1 = { 0 }, w2 = { 0 };

	if ((brisk_nvme_ctrlr_get_data(t->ctrlr)->fuses & 0x1) == 0) {
		check(t, "compare-and-write (not supported: -ENOTSUP)", brisk_nvme_ns_cmd_compare(t->ns,
		      t->qpair, t->buf, 2, 1, io_cb, &w1, BRISK_NVME_IO_FLAGS_FUSE_FIRST) == -ENOTSUP);
		return;
	}
	check(t, "fused first on a write: -EINVAL", brisk_nvme_ns_cmd_write(t->ns, t->qpair, t->buf, 2, 1,
	      io_cb, &w1, BRISK_NVME_IO_FLAGS_FUSE_FIRST) == -EINVAL);
	memset(t->buf, 0x11, t->bs);
	memset(t->buf2, 0x22, t->bs);
	check(t, "compare-and-write: set up LBA 2", io_rw(t, true, t->buf, 2, 1, 0) == 0);
	check(t, "compare-and-write, matching data: both succeed",
	      fused_pair(t, &w1, &w2) == 0 && !brisk_nvme_cpl_is_error(&w1.cpl) &&
	      !brisk_nvme_cpl_is_error(&w2.cpl));
	memset(&w1, 0, sizeof(w1));
	memset(&w2, 0, sizeof(w2));
	check(t, "compare-and-write, mismatch: COMPARE FAILURE, write ABORTED - FAILED FUSED",
	      fused_pair(t, &w1, &w2) == 0 && w1.cpl.status.sct == BRISK_NVME_SCT_MEDIA_ERROR &&
	      w1.cpl.status.sc == BRISK_NVME_SC_COMPARE_FAILURE &&
	      w2.cpl.status.sc == BRISK_NVME_SC_ABORTED_FAILED_FUSED);
	check(t, "compare-and-write: LBA 2 holds the first write's data",
	      io_rw(t, false, t->buf, 2, 1, 0) == 0 && memcmp(t->buf, t->buf2, t->bs) == 0);
}

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static void check_zeroes_dsm_flush(struct io_test *t)
{
	struct brisk_nvme_dsm_range range = { .starting_lba = 8, .length = 8 };
	struct io_wait w = { 0 };
	uint32_t n = 16;
	int rc;

	pattern_fill(t->buf, 0, n * t->bs, 3);
	io_rw(t, true, t->buf, 0, n, 0);
	rc = io_wait(t, brisk_nvme_ns_cmd_write_zeroes(t->ns, t->qpair, 0, 8, io_cb, &w, 0), &w);
	memset(t->buf2, 0xff, n * t->bs);
	check(t, "write zeroes reads back zeroes", rc == 0 && io_rw(t, false, t->buf2, 0, n, 0) == 0 &&
	      all_zero(t->buf2, 8 * t->bs) && memcmp(t->buf2 + 8 * t->bs, t->buf + 8 * t->bs,
						      8 * t->bs) == 0);
	memset(&w, 0, sizeof(w));
	rc = io_wait(t, brisk_nvme_ns_cmd_dataset_management(t->ns, t->qpair,
		     BRISK_NVME_DSM_ATTR_DEALLOCATE, &range, 1, io_cb, &w), &w);
	/* Deallocation is advisory (NVMe Base: the controller may deallocate):
	 * only success is required; what a read returns is reported. */
	if (rc == 0 && io_rw(t, false, t->buf2, 8, 8, 0) == 0) {
		printf("nvme_io: (deallocated blocks read back as %s)\n",
		       all_zero(t->buf2, 8 * t->bs) ? "zeroes" : "their old data");
	}
	check(t, "DSM deallocate", rc == 0);
	memset(&w, 0, sizeof(w));
	check(t, "flush", io_wait(t, brisk_nvme_ns_cmd_flush(t->ns, t->qpair, io_cb, &w), &w) == 0);
}

/* 64 segments of one sector, each at an odd offset: PRPs cannot say it. */
static void check_small_segments(struct io_test *t)
{
	bool sgl = (brisk_nvme_ctrlr_get_data(t->ctrlr)->sgls & 3u) != 0;
	struct iovec iov[64], back[4];
	int rc;

	for (int i = 0; i < 64; i++) {
		iov[i].iov_base = t->buf + 100 * 1024 + (size_t)i * (t->bs + 64) + 8;
		iov[i].iov_len = t->bs;
		pattern_fill(iov[i].iov_base, (uint64_t)(256 + i) * t->bs, t->bs, 4);
	}
	rc = io_rwv(t, true, iov, 64, 256, 64);
	if (!sgl) {
		check(t, "unaligned segments refused without SGLs", rc == -EINVAL);
		return;
	}
	/* Read back through page-aligned pieces: a PRP-shaped list. */
	for (int i = 0; i < 4; i++) {
		back[i].iov_base = t->buf2 + (size_t)(3 - i) * 64 * 1024;
		back[i].iov_len = 16u * t->bs;
	}
	rc = rc ? rc : io_rwv(t, false, back, 4, 256, 64);
	for (int i = 0; rc == 0 && i < 64; i++) {
		uint8_t *got = (uint8_t *)back[i / 16].iov_base + (size_t)(i % 16) * t->bs;

		rc = memcmp(got, iov[i].iov_base, t->bs) ? -EILSEQ : 0;
	}
	check(t, "64 unaligned segments (SGL), read back as PRPs", rc == 0);
}

/* First segment ends a page, middle ones are whole pages: PRPs, no SGL. */
static void check_prp_segments(struct io_test *t)
{
	struct iovec iov[3];
	uint32_t len = 4096 * 2 + 1024 + 3072;
	int rc;

	iov[0] = (struct iovec) { t->buf + 4096 - 1024, 1024 };
	iov[1] = (struct iovec) { t->buf + 3 * 4096, 8192 };
	iov[2] = (struct iovec) { t->buf + 9 * 4096, 3072 };
	for (int i = 0; i < 3; i++) {
		memset(iov[i].iov_base, 0x30 + i, iov[i].iov_len);
	}
	rc = io_rwv(t, true, iov, 3, 512, len / t->bs);
	memset(t->buf2, 0, len);
	rc = rc ? rc : io_rw(t, false, t->buf2, 512, len / t->bs, 0);
	check(t, "PRP-shaped segments", rc == 0 && t->buf2[0] == 0x30 && t->buf2[1024] == 0x31 &&
	      t->buf2[len - 1] == 0x32);
}

static void check_past_mdts(struct io_test *t)
{
	uint32_t bytes = 2u << 20, n;
	uint32_t mdts = brisk_nvme_ctrlr_get_max_xfer_size(t->ctrlr);

	n = bytes / t->bs;
	pattern_fill(t->buf, 1024ull * t->bs, bytes, 5);
	memset(t->buf2, 0, bytes);
	printf("nvme_io: (max transfer %u bytes; 2 MiB is %u commands)\n", mdts,
	       (bytes + mdts - 1) / mdts);
	check(t, "2 MiB past MDTS (split), read back", io_rw(t, true, t->buf, 1024, n, 0) == 0 &&
	      io_rw(t, false, t->buf2, 1024, n, 0) == 0 && memcmp(t->buf, t->buf2, bytes) == 0);
}

struct queue_ctx {
	int done;
	int errors;
};

static void queue_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct queue_ctx *q = arg;

	q->done++;
	q->errors += brisk_nvme_cpl_is_error(cpl);
}

/* 256 writes on a 16-entry queue: 15 on the controller, the rest wait. */
static void check_queue_full(struct io_test *t)
{
	struct brisk_nvme_io_qpair_opts o = { .io_queue_size = 16, .io_queue_requests = 256 };
	struct brisk_nvme_qpair *small = brisk_nvme_ctrlr_alloc_io_qpair(t->ctrlr, &o);
	struct queue_ctx q = { 0 };
	uint64_t end = brisk_get_time_us() + IO_WAIT_US;
	int rc = 0;

	if (small == NULL) {
		check(t, "queue full: 256 requests on 16 entries", false);
		return;
	}
	pattern_fill(t->buf, 4096ull * t->bs, 256ull * t->bs, 6);
	for (int i = 0; i < 256 && rc == 0; i++) {
		rc = brisk_nvme_ns_cmd_write(t->ns, small, t->buf + (size_t)i * t->bs, 4096u + i, 1,
					     queue_cb, &q, 0);
	}
	while (rc == 0 && q.done < 256 && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(small, 0);
	}
	brisk_nvme_ctrlr_free_io_qpair(small);
	memset(t->buf2, 0, 256ull * t->bs);
	check(t, "queue full: 256 requests on 16 entries", rc == 0 && q.done == 256 && q.errors == 0 &&
	      io_rw(t, false, t->buf2, 4096, 256, 0) == 0 &&
	      memcmp(t->buf, t->buf2, 256ull * t->bs) == 0);
}

struct resub {
	struct io_test *t;
	uint64_t lba;
	int aborted;
	int ok;
	int errors;
};

static void resub_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct resub *r = arg;
	struct io_test *t = r->t;

	if (cpl->status.sct == BRISK_NVME_SCT_GENERIC && !cpl->status.dnr &&
	    cpl->status.sc == BRISK_NVME_SC_ABORTED_SQ_DELETION) {
		r->aborted++;
		if (brisk_nvme_ns_cmd_write(t->ns, t->qpair, t->buf + (r->lba - 8192) * t->bs, r->lba, 1,
					    resub_cb, r, 0) != 0) {
			r->errors++;
		}
		return;
	}
	r->errors += brisk_nvme_cpl_is_error(cpl);
	r->ok++;
}

static void check_reset_in_flight(struct io_test *t)
{
	static struct resub r[64];
	uint64_t end = brisk_get_time_us() + IO_WAIT_US;
	int ok = 0, errors = 0, aborted = 0, rc;

	pattern_fill(t->buf, 8192ull * t->bs, 64ull * t->bs, 7);
	for (int i = 0; i < 64; i++) {
		r[i] = (struct resub) { .t = t, .lba = 8192u + i };
		brisk_nvme_ns_cmd_write(t->ns, t->qpair, t->buf + (size_t)i * t->bs, r[i].lba, 1,
					resub_cb, &r[i], 0);
	}
	brisk_nvme_qpair_process_completions(t->qpair, 1); /* rings the doorbell */
	rc = brisk_nvme_ctrlr_reset(t->ctrlr);
	while (ok < 64 && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(t->qpair, 0);
		ok = errors = aborted = 0;
		for (int i = 0; i < 64; i++) {
			ok += r[i].ok;
			errors += r[i].errors;
			aborted += r[i].aborted;
		}
	}
	printf("nvme_io: (reset: %d of 64 writes came back aborted and were resubmitted)\n", aborted);
	memset(t->buf2, 0, 64ull * t->bs);
	check(t, "reset with I/O in flight, data right", rc == 0 && ok == 64 && errors == 0 &&
	      io_rw(t, false, t->buf2, 8192, 64, 0) == 0 && memcmp(t->buf, t->buf2, 64ull * t->bs) == 0);
}

#define ABORT_READS 32

struct abort_ctx {
	int timeouts;
	struct io_wait abort;
	bool abort_sent;
	struct queue_ctx reads;
	int aborted;
};

static void abort_timeout_cb(void *arg, struct brisk_nvme_ctrlr *ctrlr,
			     struct brisk_nvme_qpair *qpair, uint16_t cid)
{
	struct abort_ctx *a = arg;

	a->timeouts++;
	if (!a->abort_sent && qpair != NULL) {
		a->abort_sent = brisk_nvme_ctrlr_cmd_abort(ctrlr, qpair, cid, io_cb, &a->abort) == 0;
	}
}

static void abort_read_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct abort_ctx *a = arg;

	if (cpl->status.sct == BRISK_NVME_SCT_GENERIC &&
	    cpl->status.sc == BRISK_NVME_SC_ABORTED_BY_REQUEST) {
		a->aborted++;
	} else {
		a->reads.errors += brisk_nvme_cpl_is_error(cpl);
	}
	a->reads.done++;
}

/* A 1 us timeout finds a command still on the controller and the callback
 * aborts it. Rounds of 32 reads go out until a timeout catches one (QEMU
 * may finish a whole round before the first poll looks). The controller
 * may still finish the read (CDW0 bit 0 of the Abort says so): either is
 * right, but every command must complete and no read may fail otherwise. */
static int abort_round(struct io_test *t, struct abort_ctx *a, uint64_t end)
{
	uint32_t n = 131072 / t->bs;
	int rc = 0;

	a->reads.done = 0;
	for (int i = 0; i < ABORT_READS && rc == 0; i++) {
		rc = brisk_nvme_ns_cmd_read(t->ns, t->qpair, t->buf2 + (size_t)i * 131072, 0, n,
					    abort_read_cb, a, 0);
	}
	while (rc == 0 && (a->reads.done < ABORT_READS || (a->abort_sent && !a->abort.done)) &&
	       brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(t->qpair, 0);
		brisk_nvme_ctrlr_process_admin_completions(t->ctrlr);
		if (g_fake != NULL && a->abort.done) {
			nvme_fake_set_hold(g_fake, false);
			nvme_fake_release(g_fake, false);
		}
	}
	return rc != 0 ? rc : (a->reads.done == ABORT_READS ? 0 : -ETIMEDOUT);
}

static void check_abort(struct io_test *t)
{
	struct abort_ctx a = { 0 };
	uint64_t end = brisk_get_time_us() + IO_WAIT_US;
	int rc = 0, rounds = 0;

	brisk_nvme_ctrlr_register_timeout_callback(t->ctrlr, 1, abort_timeout_cb, &a);
	if (g_fake != NULL) {
		nvme_fake_set_hold(g_fake, true); /* the fake would finish them at once */
	}
	while (rc == 0 && !a.abort_sent && rounds++ < 200) {
		rc = abort_round(t, &a, end);
	}
	brisk_nvme_ctrlr_register_timeout_callback(t->ctrlr, 0, NULL, NULL);
	printf("nvme_io: (abort: %d rounds, %d timeouts seen, %d read aborted, Abort cdw0 %u)\n",
	       rounds, a.timeouts, a.aborted, a.abort.cpl.cdw0);
	check(t, "timeout callback, Abort of a command", rc == 0 && a.reads.errors == 0 &&
	      a.timeouts >= 1 && a.abort_sent && a.abort.done &&
	      !brisk_nvme_cpl_is_error(&a.abort.cpl) && a.aborted == !(a.abort.cpl.cdw0 & 1u));
}

static int run_tests(struct io_test *t)
{
	printf("nvme_io: namespace %u: %" PRIu64 " sectors of %u bytes\n", brisk_nvme_ns_get_id(t->ns),
	       t->sectors, t->bs);
	if (t->sectors < 16384) {
		check(t, "namespace of at least 16384 sectors", false);
	} else {
		check_write_read(t);
		check_compare(t);
		check_fused(t);
		check_zeroes_dsm_flush(t);
		check_small_segments(t);
		check_prp_segments(t);
		check_past_mdts(t);
		check_queue_full(t);
		check_reset_in_flight(t);
		check_abort(t);
	}
	if (t->failed != NULL) {
		printf("nvme_io: FAIL %s\n", t->failed);
		return 1;
	}
	printf("nvme_io: PASS\n");
	return 0;
}

/* ---- Surprise removal ---- */

#define REMOVAL_QD 32

struct removal {
	struct io_test *t;
	uint64_t completed;
	uint64_t errors;
	uint64_t refused;
	uint32_t next;
	bool stop;
};

static void removal_cb(void *arg, const struct brisk_nvme_cpl *cpl);

static void removal_submit(struct removal *r)
{
	struct io_test *t = r->t;
	uint32_t i = r->next++ % 1024;
	uint8_t *buf = t->buf + (size_t)(i % REMOVAL_QD) * t->bs;
	int rc = (i & 1) ? brisk_nvme_ns_cmd_write(t->ns, t->qpair, buf, i, 1, removal_cb, r, 0) :
		 brisk_nvme_ns_cmd_read(t->ns, t->qpair, buf, i, 1, removal_cb, r, 0);

	if (rc != 0) {
		r->refused++;
	}
}

static void removal_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct removal *r = arg;

	r->completed++;
	if (brisk_nvme_cpl_is_error(cpl)) {
		r->errors++;
		return;
	}
	if (!r->stop) {
		removal_submit(r);
	}
}

/* Polls until the controller is failed (or the time is up), then until
 * every I/O has come back. */
static int removal_run(struct io_test *t, uint64_t seconds)
{
	struct removal r = { .t = t };
	uint64_t end = brisk_get_time_us() + seconds * 1000000ull, drain_end;
	uint32_t left;

	for (int i = 0; i < REMOVAL_QD; i++) {
		removal_submit(&r);
	}
	printf("nvme_io: removal: %d I/Os in flight, waiting for the controller to go\n", REMOVAL_QD);
	fflush(stdout);
	while (!brisk_nvme_ctrlr_is_failed(t->ctrlr) && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(t->qpair, 0);
		brisk_nvme_ctrlr_process_admin_completions(t->ctrlr);
		if (g_fake != NULL && r.completed > 100000) {
			nvme_fake_set_removed(g_fake, true); /* --fake: the device goes now */
		}
	}
	r.stop = true;
	drain_end = brisk_get_time_us() + 10000000;
	while ((left = brisk_nvme_qpair_get_num_outstanding(t->qpair)) != 0 &&
	       brisk_get_time_us() < drain_end) {
		brisk_nvme_qpair_process_completions(t->qpair, 0);
	}
	removal_submit(&r); /* must be refused now */
	printf("nvme_io: removal: failed %d, removed %d, %" PRIu64 " I/Os completed, %" PRIu64
	       " with errors, %" PRIu64 " refused, %u outstanding\n",
	       brisk_nvme_ctrlr_is_failed(t->ctrlr), brisk_nvme_ctrlr_is_removed(t->ctrlr),
	       r.completed, r.errors, r.refused, left);
	if (brisk_nvme_ctrlr_is_failed(t->ctrlr) && left == 0 && r.refused >= 1) {
		printf("nvme_io: removal PASS\n");
		return 0;
	}
	printf("nvme_io: removal FAIL\n");
	return 1;
}

/* ---- Pattern modes ---- */

static int pattern_range(struct io_test *t, const struct io_opts *o, bool write)
{
	uint64_t per = IO_BUF_SIZE / t->bs;
	int rc = 0;

	for (uint64_t done = 0; rc == 0 && done < o->count; done += per) {
		uint32_t n = (uint32_t)(o->count - done < per ? o->count - done : per);
		uint64_t off = (o->lba + done) * t->bs;

		pattern_fill(t->buf, off, (size_t)n * t->bs, o->seed);
		rc = io_rw(t, write, write ? t->buf : t->buf2, o->lba + done, n, 0);
		if (rc == 0 && !write && memcmp(t->buf, t->buf2, (size_t)n * t->bs) != 0) {
			printf("nvme_io: pattern mismatch in LBAs %" PRIu64 "-%" PRIu64 "\n",
			       o->lba + done, o->lba + done + n - 1);
			rc = -EILSEQ;
		}
	}
	printf("nvme_io: %s pattern seed %" PRIu64 " LBAs %" PRIu64 "+%" PRIu64 ": %s\n",
	       write ? "write" : "verify", o->seed, o->lba, o->count, rc == 0 ? "PASS" : "FAIL");
	return rc == 0 ? 0 : 1;
}

/* The expected bytes, for dd/cmp on the kernel's side (block size from -b). */
static int pattern_file(const struct io_opts *o, uint32_t bs)
{
	FILE *f = fopen(o->file, "wb");
	uint8_t *buf = malloc(bs);
	int rc = 0;

	if (f == NULL || buf == NULL) {
		fprintf(stderr, "nvme_io: cannot write %s\n", o->file);
		rc = 1;
	}
	for (uint64_t i = 0; rc == 0 && i < o->count; i++) {
		pattern_fill(buf, (o->lba + i) * bs, bs, o->seed);
		rc = fwrite(buf, bs, 1, f) == 1 ? 0 : 1;
	}
	if (f != NULL && fclose(f) != 0) {
		rc = 1;
	}
	free(buf);
	return rc;
}

/* ---- Set-up ---- */

static void usage(const char *prog)
{
	printf("Usage: %s [-r TRID] [-n NSID] [--no-huge] [-s MB] [MODE]\n"
	       "Runs the I/O checks on a namespace (default: the first active one), or a mode:\n"
	       "  --write-pattern SEED --lba L --count N   write the pattern to LBAs L..L+N-1\n"
	       "  --verify-pattern SEED --lba L --count N  read them and compare\n"
	       "  --pattern-file FILE -b BS --write-pattern SEED --lba L --count N\n"
	       "                                           write the expected bytes to FILE (no device)\n"
	       "  -r, --trid TRID  controller (default: the first PCIe NVMe controller)\n"
	       "  -n, --nsid NSID  namespace\n"
	       "  --no-huge, -s MB memory as in every Brisk program (default 64 MB)\n"
	       "  --until-removed SECONDS  keep I/O in flight until the controller goes; every I/O\n"
	       "                   must come back and new ones be refused\n"
	       "  --fake [-b BS]   run on lib/nvme's in-memory fake controller (host self-check)\n",
	       prog);
}

static int parse_u64(const char *prog, const char *what, const char *s, uint64_t *v)
{
	char *end;

	*v = strtoull(s, &end, 0);
	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "%s: %s: '%s' is not a number\n", prog, what, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct io_opts *o, uint64_t *bs)
{
	static const struct option longopts[] = {
		{ "trid", required_argument, NULL, 'r' }, { "nsid", required_argument, NULL, 'n' },
		{ "no-huge", no_argument, NULL, 'H' }, { "mem-size", required_argument, NULL, 's' },
		{ "write-pattern", required_argument, NULL, 'W' },
		{ "verify-pattern", required_argument, NULL, 'V' },
		{ "pattern-file", required_argument, NULL, 'F' }, { "lba", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ "fake", no_argument, NULL, 'f' },
		{ "until-removed", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v = 0;
	int c, rc = 0;

	o->trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	o->mem_mb = 64;
	while (rc == 0 && (c = getopt_long(argc, argv, "r:n:s:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rc = brisk_nvme_transport_id_parse(&o->trid, optarg);
			o->has_trid = true;
			break;
		case 'n': rc = parse_u64(argv[0], "-n", optarg, &v); o->nsid = (uint32_t)v; break;
		case 'H': o->no_huge = true; break;
		case 's': rc = parse_u64(argv[0], "-s", optarg, &o->mem_mb); break;
		case 'b': rc = parse_u64(argv[0], "-b", optarg, bs); break;
		case 'W': o->mode = o->mode == MODE_FILE ? MODE_FILE : MODE_WRITE;
			rc = parse_u64(argv[0], "--write-pattern", optarg, &o->seed); break;
		case 'V': o->mode = MODE_VERIFY; rc = parse_u64(argv[0], "--verify-pattern", optarg, &o->seed); break;
		case 'F': o->mode = MODE_FILE; o->file = optarg; break;
		case 'l': rc = parse_u64(argv[0], "--lba", optarg, &o->lba); break;
		case 'c': rc = parse_u64(argv[0], "--count", optarg, &o->count); break;
		case 'f': o->fake = true; break;
		case 'R': o->mode = MODE_REMOVAL; rc = parse_u64(argv[0], "--until-removed", optarg, &o->seed); break;
		case 'h': usage(argv[0]); exit(0);
		default: usage(argv[0]); return -EINVAL;
		}
	}
	if (rc == 0 && o->mode != MODE_TESTS && o->mode != MODE_REMOVAL && o->count == 0) {
		fprintf(stderr, "%s: --count must be at least 1\n", argv[0]);
		rc = -EINVAL;
	}
	return rc;
}

static void attach_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
		      struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_ctrlr_opts *opts)
{
	struct brisk_nvme_ctrlr **out = cb_ctx;

	if (*out == NULL) {
		*out = ctrlr;
	} else {
		brisk_nvme_detach(ctrlr);
	}
}

/* The host self-check: the same checks against lib/nvme's fake controller. */

static void setup_fake(struct io_opts *o, uint64_t bs)
{
	struct nvme_fake_params p;

	nvme_fake_transport_register();
	nvme_fake_default_params(&p);
	p.ns_bytes = 64u << 20;
	p.lbaf = bs == 4096 ? 1 : 0;
	p.mdts = 7;
	g_fake = nvme_fake_dev_create("fake0", &p);
	brisk_nvme_transport_id_parse(&o->trid, "trtype:fake traddr:fake0");
	o->has_trid = true;
}

static int setup(struct io_test *t, const struct io_opts *o)
{
	uint32_t nsid;

	if (brisk_nvme_probe(o->has_trid ? &o->trid : NULL, &t->ctrlr, NULL, attach_cb, NULL) != 0 ||
	    t->ctrlr == NULL) {
		fprintf(stderr, "nvme_io: no NVMe controller attached\n");
		return -ENODEV;
	}
	nsid = o->nsid ? o->nsid : brisk_nvme_ctrlr_get_first_active_ns(t->ctrlr);
	t->ns = brisk_nvme_ctrlr_get_ns(t->ctrlr, nsid);
	if (t->ns == NULL || !brisk_nvme_ns_is_active(t->ns)) {
		fprintf(stderr, "nvme_io: namespace %u is not active\n", nsid);
		return -ENODEV;
	}
	t->bs = brisk_nvme_ns_get_sector_size(t->ns);
	t->sectors = brisk_nvme_ns_get_num_sectors(t->ns);
	t->qpair = brisk_nvme_ctrlr_alloc_io_qpair(t->ctrlr, NULL);
	t->buf = brisk_dma_zmalloc(IO_BUF_SIZE, 4096, NULL);
	t->buf2 = brisk_dma_zmalloc(IO_BUF_SIZE, 4096, NULL);
	if (t->qpair == NULL || t->buf == NULL || t->buf2 == NULL) {
		fprintf(stderr, "nvme_io: no qpair or no memory\n");
		return -ENOMEM;
	}
	return 0;
}

static void teardown(struct io_test *t)
{
	brisk_free(t->buf);
	brisk_free(t->buf2);
	if (t->qpair != NULL) {
		brisk_nvme_ctrlr_free_io_qpair(t->qpair);
	}
	if (t->ctrlr != NULL) {
		brisk_nvme_detach(t->ctrlr);
	}
}

int main(int argc, char **argv)
{
	struct brisk_env_opts env;
	struct io_opts o = { 0 };
	struct io_test t = { 0 };
	uint64_t bs = 512;
	int rc;

	if (parse_args(argc, argv, &o, &bs) != 0) {
		return 1;
	}
	if (o.mode == MODE_FILE) {
		return pattern_file(&o, (uint32_t)bs);
	}
	brisk_env_opts_init(&env);
	env.name = "nvme_io";
	env.mem_size_mb = o.mem_mb;
	env.no_huge = o.no_huge;
	if (brisk_env_init(&env) != 0) {
		fprintf(stderr, "nvme_io: environment initialization failed\n");
		return 1;
	}
	if (o.fake) {
		setup_fake(&o, bs);
	}
	rc = setup(&t, &o);
	if (rc == 0) {
		if (o.mode == MODE_TESTS) {
			rc = run_tests(&t);
		} else if (o.mode == MODE_REMOVAL) {
			rc = removal_run(&t, o.seed);
		} else {
			rc = pattern_range(&t, &o, o.mode == MODE_WRITE);
		}
	} else {
		printf("nvme_io: FAIL setup\n");
		rc = 1;
	}
	teardown(&t);
	brisk_env_fini();
	return rc;
}
