/*
 * blob_perf's phases, each a list of steps for the plan (blob_perf.c):
 *
 * io:   open raw bdev -> store on BpStore -> thick blob of --size -> open ->
 *       fill both sequentially (so neither side reads never-touched memory)
 *       -> per workload, -R rounds of (raw run, blob run), order swapped
 *       every round -> close -> unload -> close raw bdev
 * thin: store -> per configuration (small/whole-cluster writes, QD 1/-q),
 *       -R passes of (thin blob over every free cluster -> open -> first
 *       write of each cluster -> same writes again, now allocated -> close
 *       -> delete) -> unload
 * md:   store with num_md_pages for -n blobs -> create -n blobs -> copy the
 *       device (the crash image: metadata synced, masks and clean flag not)
 *       -> unload (timed) -> clean load (timed) -> open+close every blob ->
 *       unload -> write the crash image back -> dirty load (timed) -> delete
 *       every blob -> create and delete at QD 1 -> unload
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/blob_bdev.h>
#include <brisk/env.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "blob_perf.h"

#define FILL_IO_BYTES (128 * 1024)
#define FILL_QD 8
#define IMAGE_CHUNK (1024 * 1024)
#define OVERWRITE_MAX_SECS 2.0

static struct bp_target g_raw_t = { .label = "raw bdev " BP_RAW_BDEV };
static struct bp_target g_blob_t = { .label = "thick blob" };
static struct bp_job g_job;

static void blob_target_set(struct bp_target *t)
{
	t->blob = g_st.blob;
	t->ch = g_st.bs_ch;
	t->unit_size = (uint32_t)brisk_bs_get_io_unit_size(g_st.bs);
	t->units = brisk_blob_get_num_io_units(g_st.blob);
}

static void job_sequential(struct bp_job *j, struct bp_target *t, bool write, uint64_t io_bytes,
			   uint32_t qd, uint64_t stride_bytes, uint64_t positions)
{
	memset(j, 0, sizeof(*j));
	bp_job_reset(j);
	j->target = t;
	j->write = write;
	j->io_units = io_bytes / t->unit_size;
	j->qd = qd;
	j->stride = stride_bytes / t->unit_size;
	j->positions = positions;
}

/* ================= io: blob vs raw bdev ================= */

static void io_open_raw(void)
{
	int rc = brisk_bdev_open_ext(BP_RAW_BDEV, true, bp_bdev_event_cb, NULL, &g_st.raw_desc);

	if (rc != 0) {
		bp_fail(rc, "open %s", BP_RAW_BDEV);
		return;
	}
	g_st.raw_ch = brisk_bdev_get_io_channel(g_st.raw_desc);
	if (g_st.raw_ch == NULL) {
		bp_fail(-ENOMEM, "channel of %s", BP_RAW_BDEV);
		return;
	}
	g_raw_t.desc = g_st.raw_desc;
	g_raw_t.ch = g_st.raw_ch;
	g_raw_t.unit_size = brisk_bdev_get_block_size(brisk_bdev_desc_get_bdev(g_st.raw_desc));
	g_raw_t.units = g_bp.size / g_raw_t.unit_size;
	bp_next();
}

static void io_init_store(void)
{
	struct brisk_bs_opts o;

	brisk_bs_opts_init(&o);
	o.cluster_sz = (uint32_t)g_bp.cluster_sz;
	bp_store_init(&o);
}

static void blob_created(void *ctx, brisk_blob_id id, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_bs_create_blob_ext");
		return;
	}
	g_st.blob_id = id;
	bp_next();
}

static void io_create_blob(void)
{
	struct brisk_blob_opts bo;

	brisk_blob_opts_init(&bo);
	bo.num_clusters = g_bp.size / g_bp.cluster_sz;
	brisk_bs_create_blob_ext(g_st.bs, &bo, blob_created, NULL);
}

static void fill_blob_done(struct bp_job *j)
{
	if (j->rc != 0) {
		bp_fail(j->rc, "filling the blob");
		return;
	}
	bp_next();
}

static void fill_raw_done(struct bp_job *j)
{
	if (j->rc != 0) {
		bp_fail(j->rc, "filling %s", BP_RAW_BDEV);
		return;
	}
	job_sequential(&g_job, &g_blob_t, true, FILL_IO_BYTES, FILL_QD, FILL_IO_BYTES,
		       g_blob_t.units * g_blob_t.unit_size / FILL_IO_BYTES);
	g_job.max_ios = g_job.positions;
	g_job.progress = "io: filling the blob";
	g_job.done = fill_blob_done;
	bp_job_run(&g_job);
}

static void io_fill(void)
{
	blob_target_set(&g_blob_t);
	if (g_blob_t.units * g_blob_t.unit_size != g_bp.size) {
		bp_fail(-EINVAL, "blob is %llu bytes, not --size", (unsigned long long)(g_blob_t.units * g_blob_t.unit_size));
		return;
	}
	bp_progress("io: filling %s and the blob (%.0f MiB each)", BP_RAW_BDEV, (double)g_bp.size / 1048576.0);
	job_sequential(&g_job, &g_raw_t, true, FILL_IO_BYTES, FILL_QD, FILL_IO_BYTES, g_bp.size / FILL_IO_BYTES);
	g_job.max_ios = g_job.positions;
	g_job.progress = "io: filling the raw bdev";
	g_job.done = fill_raw_done;
	bp_job_run(&g_job);
}

/* The comparison: workload w, round r, side s (0 first, 1 second). */
static struct {
	unsigned w, round, side;
	struct bp_row *row;
} g_cmp;
static const char *const g_workloads[] = { "randread", "randwrite" };

static void cmp_run(void);

static void cmp_run_done(struct bp_job *j)
{
	/* odd rounds: blob first */
	bool blob_side = g_bp.io_side != 0 ? g_bp.io_side == 2 : (g_cmp.side == 0) == (g_cmp.round % 2 == 1);
	double iops = bp_job_secs(j) > 0 ? (double)j->ios / bp_job_secs(j) : 0;

	if (j->rc != 0) {
		bp_fail(j->rc, "%s on the %s", g_workloads[g_cmp.w], j->target->label);
		return;
	}
	if (blob_side) {
		g_cmp.row->blob_iops[g_cmp.round] = iops;
	} else {
		g_cmp.row->raw_iops[g_cmp.round] = iops;
	}
	bp_progress("io: %s round %u/%u %-18s %10.0f IOPS", g_workloads[g_cmp.w], g_cmp.round + 1,
		    g_bp.repeat, j->target->label, iops);
	if (g_bp.io_side != 0) {
		g_cmp.side++; /* one side only: the other stays 0 */
	}
	if (++g_cmp.side >= 2) {
		g_cmp.side = 0;
		g_cmp.row->runs = ++g_cmp.round;
		if (g_cmp.round == g_bp.repeat) {
			g_cmp.round = 0;
			g_cmp.row = NULL;
			if (++g_cmp.w == sizeof(g_workloads) / sizeof(g_workloads[0])) {
				bp_next();
				return;
			}
		}
	}
	cmp_run();
}

static void cmp_run(void)
{
	bool blob_side = g_bp.io_side != 0 ? g_bp.io_side == 2 : (g_cmp.side == 0) == (g_cmp.round % 2 == 1);
	char id[32];

	if (g_cmp.row == NULL) {
		snprintf(id, sizeof(id), "io_%s", g_workloads[g_cmp.w]);
		g_cmp.row = bp_row_add("io", id, "%s", g_workloads[g_cmp.w]);
	}
	memset(&g_job, 0, sizeof(g_job));
	bp_job_reset(&g_job);
	g_job.target = blob_side ? &g_blob_t : &g_raw_t;
	g_job.write = g_cmp.w == 1;
	g_job.io_units = g_bp.io_size / g_job.target->unit_size;
	g_job.qd = g_bp.qd;
	g_job.random = true;
	g_job.secs = g_bp.secs;
	g_job.done = cmp_run_done;
	bp_job_run(&g_job);
}

static void io_compare(void)
{
	memset(&g_cmp, 0, sizeof(g_cmp));
	cmp_run();
}

static void io_close_raw(void)
{
	brisk_put_io_channel(g_st.raw_ch);
	g_st.raw_ch = NULL;
	brisk_bdev_close(g_st.raw_desc);
	g_st.raw_desc = NULL;
	bp_next();
}

const struct bp_step g_bp_io_steps[] = {
	{ "io", "io: open raw bdev", io_open_raw },
	{ "io", "io: init store", io_init_store },
	{ "io", "io: create thick blob", io_create_blob },
	{ "io", "io: open blob", bp_blob_open },
	{ "io", "io: fill", io_fill },
	{ "io", "io: compare", io_compare },
	{ "io", "io: close blob", bp_blob_close },
	{ "io", "io: unload", bp_store_unload },
	{ "io", "io: close raw bdev", io_close_raw },
};
const unsigned g_bp_io_nsteps = sizeof(g_bp_io_steps) / sizeof(g_bp_io_steps[0]);

/* ================= thin: first writes ================= */

struct thin_cfg {
	bool whole_cluster;
	bool qd1;
};
static const struct thin_cfg g_thin_cfgs[] = {
	{ false, true }, { false, false }, { true, true }, { true, false },
};
#define THIN_NCFG (sizeof(g_thin_cfgs) / sizeof(g_thin_cfgs[0]))

static struct {
	unsigned cfg, pass;
	struct bp_job first, over;  /* accumulate over the passes of a configuration */
	struct bp_target t;
	uint64_t clusters;          /* of this pass's blob */
} g_thin;

static void thin_pass_start(void);

static uint64_t thin_io_bytes(void)
{
	return g_thin_cfgs[g_thin.cfg].whole_cluster ? g_bp.cluster_sz : g_bp.io_size;
}

static uint32_t thin_qd(void)
{
	return g_thin_cfgs[g_thin.cfg].qd1 ? 1 : g_bp.qd;
}

static void thin_init_store(void)
{
	struct brisk_bs_opts o;

	brisk_bs_opts_init(&o);
	o.cluster_sz = (uint32_t)g_bp.cluster_sz;
	bp_store_init(&o);
}

static void thin_add_rows(void)
{
	char io[48], id[48];
	struct bp_row *r;

	if (g_thin_cfgs[g_thin.cfg].whole_cluster) {
		snprintf(io, sizeof(io), "%llu KiB (whole cluster)", (unsigned long long)(g_bp.cluster_sz >> 10));
	} else {
		snprintf(io, sizeof(io), "%llu KiB", (unsigned long long)(g_bp.io_size >> 10));
	}
	snprintf(id, sizeof(id), "thin_first_%s_qd%s", g_thin_cfgs[g_thin.cfg].whole_cluster ? "cluster" : "small",
		 g_thin_cfgs[g_thin.cfg].qd1 ? "1" : "n");
	r = bp_row_add("thin", id, "first write %s QD %u", io, thin_qd());
	bp_row_from_job(r, &g_thin.first);
	snprintf(id, sizeof(id), "thin_over_%s_qd%s", g_thin_cfgs[g_thin.cfg].whole_cluster ? "cluster" : "small",
		 g_thin_cfgs[g_thin.cfg].qd1 ? "1" : "n");
	r = bp_row_add("thin", id, "allocated write %s QD %u", io, thin_qd());
	bp_row_from_job(r, &g_thin.over);
}

static void thin_deleted(void *ctx, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "deleting the thin blob");
		return;
	}
	g_st.blob_id = BRISK_BLOBID_INVALID;
	if (++g_thin.pass < g_bp.repeat) {
		thin_pass_start();
		return;
	}
	thin_add_rows();
	g_thin.pass = 0;
	if (++g_thin.cfg == THIN_NCFG) {
		bp_next();
		return;
	}
	thin_pass_start();
}

static void thin_closed(void *ctx, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "closing the thin blob");
		return;
	}
	brisk_bs_delete_blob(g_st.bs, g_st.blob_id, thin_deleted, NULL);
}

static void thin_over_done(struct bp_job *j)
{
	struct brisk_blob *b = g_st.blob;

	if (j->rc != 0) {
		bp_fail(j->rc, "writes to allocated clusters");
		return;
	}
	g_st.blob = NULL;
	brisk_blob_close(b, thin_closed, NULL);
}

static void thin_first_done(struct bp_job *j)
{
	if (j->rc != 0) {
		bp_fail(j->rc, "first writes to the thin blob");
		return;
	}
	if (brisk_blob_get_num_allocated_clusters(g_st.blob) == 0) {
		bp_fail(-EIO, "the thin blob has no cluster allocated after its first writes");
		return;
	}
	/* The same positions again: every one is allocated now. */
	g_thin.over.target = &g_thin.t;
	g_thin.over.positions = brisk_blob_get_num_allocated_clusters(g_st.blob);
	g_thin.over.max_ios = 0;
	g_thin.over.secs = (g_bp.secs < OVERWRITE_MAX_SECS ? g_bp.secs : OVERWRITE_MAX_SECS) / g_bp.repeat;
	bp_job_run(&g_thin.over);
}

static void thin_opened(void *ctx, struct brisk_blob *blob, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "opening the thin blob");
		return;
	}
	g_st.blob = blob;
	blob_target_set(&g_thin.t);
	g_thin.first.target = &g_thin.t;
	g_thin.first.positions = g_thin.clusters;
	g_thin.first.max_ios = g_thin.clusters; /* one write per cluster: every one allocates */
	g_thin.first.secs = g_bp.secs;
	bp_job_run(&g_thin.first);
}

static void thin_created(void *ctx, brisk_blob_id id, int bserrno)
{
	(void)ctx;
	if (bserrno != 0) {
		bp_fail(bserrno, "creating the thin blob");
		return;
	}
	g_st.blob_id = id;
	brisk_bs_open_blob(g_st.bs, id, thin_opened, NULL);
}

static void thin_pass_start(void)
{
	struct brisk_blob_opts bo;
	char label[96];

	if (g_thin.pass == 0) {
		/* Fresh accumulators for this configuration. */
		g_thin.t.label = "thin blob";
		g_thin.t.unit_size = (uint32_t)brisk_bs_get_io_unit_size(g_st.bs);
		job_sequential(&g_thin.first, &g_thin.t, true, thin_io_bytes(), thin_qd(), g_bp.cluster_sz, 1);
		g_thin.first.latency = true;
		g_thin.first.done = thin_first_done;
		g_thin.over = g_thin.first;
		g_thin.over.done = thin_over_done;
	}
	g_thin.clusters = brisk_bs_free_cluster_count(g_st.bs);
	snprintf(label, sizeof(label), "thin: %llu KiB writes QD %u, pass %u/%u over %llu clusters",
		 (unsigned long long)(thin_io_bytes() >> 10), thin_qd(), g_thin.pass + 1, g_bp.repeat,
		 (unsigned long long)g_thin.clusters);
	bp_progress("%s", label);
	brisk_blob_opts_init(&bo);
	bo.thin_provision = true;
	bo.num_clusters = g_thin.clusters;
	brisk_bs_create_blob_ext(g_st.bs, &bo, thin_created, NULL);
}

static void thin_runs(void)
{
	memset(&g_thin, 0, sizeof(g_thin));
	if (brisk_bs_free_cluster_count(g_st.bs) < 8) {
		bp_fail(-ENOSPC, "the store has fewer than 8 free clusters (raise --size)");
		return;
	}
	thin_pass_start();
}

const struct bp_step g_bp_thin_steps[] = {
	{ "thin", "thin: init store", thin_init_store },
	{ "thin", "thin: runs", thin_runs },
	{ "thin", "thin: unload", bp_store_unload },
};
const unsigned g_bp_thin_nsteps = sizeof(g_bp_thin_steps) / sizeof(g_bp_thin_steps[0]);

/* ================= md: metadata rates and load times ================= */

enum md_kind { MD_CREATE, MD_OPEN_CLOSE, MD_DELETE };

static struct {
	enum md_kind kind;
	uint32_t depth;
	uint64_t count, next, done, inflight;
	uint64_t base;            /* first index in g_md_ids of this run */
	uint64_t start_tsc, next_progress_tsc;
	int rc;
	struct bp_row *row;
	const char *what;
} g_md;
static brisk_blob_id *g_md_ids;
static uint8_t *g_image;      /* the crash image of BpStore */
static uint64_t g_load_tsc;

struct md_op {
	uint64_t i;
	char name[24];
	struct brisk_blob *blob;
};
static struct md_op g_md_ops[BP_MAX_QD];

static void md_op_issue(struct md_op *op);

static void md_run_end(void)
{
	uint64_t ticks = brisk_get_ticks() - g_md.start_tsc;

	if (g_md.rc != 0) {
		bp_fail(g_md.rc, "%s", g_md.what);
		return;
	}
	g_md.row->ops = g_md.done;
	g_md.row->secs = (double)ticks / (double)brisk_get_ticks_hz();
	bp_next();
}

static void md_op_done(struct md_op *op, int rc)
{
	uint64_t now;

	g_md.inflight--;
	g_md.done++;
	if (rc != 0 && g_md.rc == 0) {
		g_md.rc = rc;
	}
	now = brisk_get_ticks();
	if (now >= g_md.next_progress_tsc) {
		g_md.next_progress_tsc = now + brisk_get_ticks_hz();
		bp_progress("md: %s: %llu/%llu", g_md.what, (unsigned long long)g_md.done,
			    (unsigned long long)g_md.count);
	}
	if (g_md.rc == 0 && g_md.next < g_md.count) {
		md_op_issue(op);
		return;
	}
	if (g_md.inflight == 0) {
		md_run_end();
	}
}

static void md_created(void *ctx, brisk_blob_id id, int bserrno)
{
	struct md_op *op = ctx;

	if (bserrno == 0) {
		g_md_ids[g_md.base + op->i] = id;
	}
	md_op_done(op, bserrno);
}

static void md_closed(void *ctx, int bserrno)
{
	md_op_done(ctx, bserrno);
}

static void md_opened(void *ctx, struct brisk_blob *blob, int bserrno)
{
	struct md_op *op = ctx;

	if (bserrno != 0) {
		md_op_done(op, bserrno);
		return;
	}
	brisk_blob_close(blob, md_closed, op);
}

static void md_deleted(void *ctx, int bserrno)
{
	md_op_done(ctx, bserrno);
}

static void md_xattr_value(void *xattr_ctx, const char *name, const void **value, size_t *value_len)
{
	struct md_op *op = xattr_ctx;

	(void)name;
	*value = op->name;
	*value_len = strlen(op->name);
}

static void md_op_issue(struct md_op *op)
{
	static char *names[] = { "name" };
	struct brisk_blob_opts bo;

	op->i = g_md.next++;
	g_md.inflight++;
	switch (g_md.kind) {
	case MD_CREATE:
		/* Like an lvol: thin, one cluster (not allocated), a name xattr. */
		brisk_blob_opts_init(&bo);
		bo.thin_provision = true;
		bo.num_clusters = 1;
		snprintf(op->name, sizeof(op->name), "blob%llu", (unsigned long long)(g_md.base + op->i));
		bo.xattrs.count = 1;
		bo.xattrs.names = names;
		bo.xattrs.ctx = op;
		bo.xattrs.get_value = md_xattr_value;
		brisk_bs_create_blob_ext(g_st.bs, &bo, md_created, op);
		break;
	case MD_OPEN_CLOSE:
		brisk_bs_open_blob(g_st.bs, g_md_ids[g_md.base + op->i], md_opened, op);
		break;
	case MD_DELETE:
		brisk_bs_delete_blob(g_st.bs, g_md_ids[g_md.base + op->i], md_deleted, op);
		break;
	}
}

static void md_run(enum md_kind kind, uint64_t base, uint64_t count, uint32_t depth, struct bp_row *row,
		   const char *what)
{
	memset(&g_md, 0, sizeof(g_md));
	g_md.kind = kind;
	g_md.base = base;
	g_md.count = count;
	g_md.depth = depth;
	g_md.row = row;
	g_md.what = what;
	g_md.start_tsc = brisk_get_ticks();
	g_md.next_progress_tsc = g_md.start_tsc + brisk_get_ticks_hz();
	for (uint32_t i = 0; i < depth && g_md.next < count; i++) {
		md_op_issue(&g_md_ops[i]);
	}
}

static void md_init_store(void)
{
	struct brisk_bs_opts o;

	g_md_ids = calloc((size_t)g_bp.blobs + g_bp.md_qd1_count, sizeof(*g_md_ids));
	if (g_md_ids == NULL) {
		bp_fail(-ENOMEM, "blob id array");
		return;
	}
	brisk_bs_opts_init(&o);
	o.cluster_sz = (uint32_t)g_bp.cluster_sz;
	o.num_md_pages = g_bp.md_pages;
	o.max_md_ops = g_bp.md_qd > 16 ? 2 * g_bp.md_qd : 32;
	bp_progress("md: store with num_md_pages %u (%u blob ids)", g_bp.md_pages, g_bp.md_pages / 4);
	bp_store_init(&o);
}

static void md_create(void)
{
	md_run(MD_CREATE, 0, g_bp.blobs, g_bp.md_qd,
	       bp_row_add("md", "md_create", "create (create+sync+close) QD %u", g_bp.md_qd), "creating blobs");
}

static void md_open_close(void)
{
	md_run(MD_OPEN_CLOSE, 0, g_bp.blobs, g_bp.md_qd,
	       bp_row_add("md", "md_open_close", "open+close after a clean load QD %u", g_bp.md_qd),
	       "opening and closing blobs");
}

static void md_delete(void)
{
	md_run(MD_DELETE, 0, g_bp.blobs, g_bp.md_qd,
	       bp_row_add("md", "md_delete", "delete QD %u", g_bp.md_qd), "deleting blobs");
}

static uint32_t md_qd1_count(void)
{
	return g_bp.md_qd1_count < g_bp.blobs ? g_bp.md_qd1_count : g_bp.blobs;
}

static void md_create_qd1(void)
{
	md_run(MD_CREATE, g_bp.blobs, md_qd1_count(), 1,
	       bp_row_add("md", "md_create_qd1", "create (create+sync+close) QD 1"), "creating blobs at QD 1");
}

static void md_delete_qd1(void)
{
	md_run(MD_DELETE, g_bp.blobs, md_qd1_count(), 1, bp_row_add("md", "md_delete_qd1", "delete QD 1"),
	       "deleting blobs at QD 1");
}

/* ---- The crash image: the whole of BpStore copied to host memory and back ---- */

static struct {
	bool restore;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	uint8_t *chunk;
	uint64_t off, len;
} g_img;

static void image_next(void);

static void image_end(int rc)
{
	if (g_img.ch != NULL) {
		brisk_put_io_channel(g_img.ch);
	}
	if (g_img.desc != NULL) {
		brisk_bdev_close(g_img.desc);
	}
	brisk_free(g_img.chunk);
	g_img.ch = NULL;
	g_img.desc = NULL;
	g_img.chunk = NULL;
	if (rc != 0) {
		bp_fail(rc, "%s the crash image", g_img.restore ? "writing back" : "copying");
		return;
	}
	bp_next();
}

static void image_io_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	(void)arg;
	brisk_bdev_free_io(io);
	if (!success) {
		image_end(-EIO);
		return;
	}
	if (!g_img.restore) {
		memcpy(g_image + g_img.off, g_img.chunk, g_img.len);
	}
	g_img.off += g_img.len;
	image_next();
}

static void image_next(void)
{
	int rc;

	if (g_img.off >= g_bp.store_size) {
		image_end(0);
		return;
	}
	g_img.len = g_bp.store_size - g_img.off < IMAGE_CHUNK ? g_bp.store_size - g_img.off : IMAGE_CHUNK;
	if (g_img.restore) {
		memcpy(g_img.chunk, g_image + g_img.off, g_img.len);
		rc = brisk_bdev_write(g_img.desc, g_img.ch, g_img.chunk, g_img.off, g_img.len, image_io_done, NULL);
	} else {
		rc = brisk_bdev_read(g_img.desc, g_img.ch, g_img.chunk, g_img.off, g_img.len, image_io_done, NULL);
	}
	if (rc != 0) {
		image_end(rc);
	}
}

static void image_start(bool restore)
{
	int rc;

	memset(&g_img, 0, sizeof(g_img));
	g_img.restore = restore;
	rc = brisk_bdev_open_ext(BP_STORE_BDEV, restore, bp_bdev_event_cb, NULL, &g_img.desc);
	if (rc != 0) {
		g_img.desc = NULL;
		image_end(rc);
		return;
	}
	g_img.ch = brisk_bdev_get_io_channel(g_img.desc);
	g_img.chunk = brisk_dma_malloc(IMAGE_CHUNK, 4096, NULL);
	if (g_img.ch == NULL || g_img.chunk == NULL) {
		image_end(-ENOMEM);
		return;
	}
	image_next();
}

static void md_capture(void)
{
	g_image = malloc(g_bp.store_size);
	if (g_image == NULL) {
		bp_fail(-ENOMEM, "host memory for the crash image");
		return;
	}
	bp_progress("md: copying %s (%.0f MiB) as the crash image", BP_STORE_BDEV, (double)g_bp.store_size / 1048576.0);
	image_start(false);
}

static void md_restore(void)
{
	bp_progress("md: writing the crash image back to %s", BP_STORE_BDEV);
	image_start(true);
}

/* ---- Timed unload and loads ---- */

static void md_unloaded(void *ctx, int bserrno)
{
	struct bp_row *r = ctx;

	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_bs_unload");
		return;
	}
	g_st.bs = NULL;
	r->secs = (double)(brisk_get_ticks() - g_load_tsc) / (double)brisk_get_ticks_hz();
	r->ops = 1;
	bp_next();
}

static void md_unload_timed(void)
{
	struct bp_row *r = bp_row_add("load", "load_unload", "unload (masks, clean flag) of %u blobs", g_bp.blobs);

	r->blobs_found = g_bp.blobs;
	brisk_bs_free_io_channel(g_st.bs_ch);
	g_st.bs_ch = NULL;
	g_load_tsc = brisk_get_ticks();
	brisk_bs_unload(g_st.bs, md_unloaded, r);
}

static void md_loaded(void *ctx, struct brisk_blob_store *bs, int bserrno)
{
	struct bp_row *r = ctx;
	struct brisk_bs_stats st;
	int rc;

	r->secs = (double)(brisk_get_ticks() - g_load_tsc) / (double)brisk_get_ticks_hz();
	r->ops = 1;
	if (bserrno != 0) {
		bp_fail(bserrno, "brisk_bs_load");
		return;
	}
	g_st.bs = bs;
	g_st.bs_ch = brisk_bs_alloc_io_channel(bs);
	rc = brisk_bs_get_stats(bs, &st);
	if (g_st.bs_ch == NULL || rc != 0) {
		bp_fail(rc != 0 ? rc : -ENOMEM, "after the load");
		return;
	}
	r->blobs_found = (int64_t)st.num_blobs;
	r->recovered = st.recovered;
	bp_progress("md: %s: %.3f s, %llu blobs, %s", r->name, r->secs, (unsigned long long)st.num_blobs,
		    st.recovered ? "masks rebuilt" : "masks read");
	if (st.num_blobs != g_bp.blobs) {
		bp_fail(-EUCLEAN, "the load found %llu blobs, not %u", (unsigned long long)st.num_blobs, g_bp.blobs);
		return;
	}
	if (st.recovered != (strcmp(r->id, "load_dirty") == 0)) {
		bp_fail(-EUCLEAN, "%s load %s the masks", r->id + 5, st.recovered ? "rebuilt" : "did not rebuild");
		return;
	}
	bp_next();
}

static void md_load(const char *id, const char *what)
{
	struct bp_row *r = bp_row_add("load", id, "%s load of a store with %u blobs", what, g_bp.blobs);
	struct brisk_bs_dev *dev;
	int rc;

	g_load_tsc = brisk_get_ticks();
	rc = brisk_bdev_create_bs_dev_ext(BP_STORE_BDEV, bp_bdev_event_cb, NULL, &dev);
	if (rc != 0) {
		bp_fail(rc, "brisk_bdev_create_bs_dev_ext(%s)", BP_STORE_BDEV);
		return;
	}
	brisk_bs_load(dev, NULL, md_loaded, r);
}

static void md_load_clean(void)
{
	md_load("load_clean", "clean");
}

static void md_load_dirty(void)
{
	free(g_image);
	g_image = NULL;
	md_load("load_dirty", "dirty (after a crash)");
}

static void md_finish(void)
{
	free(g_md_ids);
	g_md_ids = NULL;
	bp_next();
}

const struct bp_step g_bp_md_steps[] = {
	{ "md", "md: init store", md_init_store },
	{ "md", "md: create", md_create },
	{ "md", "md: copy crash image", md_capture },
	{ "md", "md: unload (timed)", md_unload_timed },
	{ "md", "md: clean load", md_load_clean },
	{ "md", "md: open+close", md_open_close },
	{ "md", "md: unload", bp_store_unload },
	{ "md", "md: write crash image back", md_restore },
	{ "md", "md: dirty load", md_load_dirty },
	{ "md", "md: delete", md_delete },
	{ "md", "md: create QD 1", md_create_qd1 },
	{ "md", "md: delete QD 1", md_delete_qd1 },
	{ "md", "md: unload", bp_store_unload },
	{ "md", "md: finish", md_finish },
};
const unsigned g_bp_md_nsteps = sizeof(g_bp_md_steps) / sizeof(g_bp_md_steps[0]);
