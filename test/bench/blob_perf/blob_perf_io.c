/*
 * blob_perf's I/O engine: keeps job->qd I/Os in flight on one target (a
 * bdev through brisk_bdev_*_blocks, or a blob through brisk_blob_io_*),
 * each completion submitting the next, until the I/O count or the time is
 * reached. Both kinds of target run the same loop, the same random offsets
 * (same seed) and the same buffers, so their difference is the layer.
 *
 * Without latency tracking the clock is read every BP_CLOCK_EVERY
 * completions only (reading the TSC costs a few percent of a 4 KiB malloc
 * I/O, and would count against both sides alike).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "blob_perf.h"

#define BP_CLOCK_EVERY 16
#define BP_SEED 0x9e3779b97f4a7c15ull

/* ---- Histogram ---- */

void bp_hist_reset(struct bp_hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

static unsigned hist_index(uint64_t v)
{
	unsigned e;

	if (v < BP_HIST_SUB) {
		return (unsigned)v;
	}
	e = 63u - (unsigned)__builtin_clzll(v); /* >= BP_HIST_SUB_BITS */
	return (e - BP_HIST_SUB_BITS + 1) * BP_HIST_SUB +
	       (unsigned)((v >> (e - BP_HIST_SUB_BITS)) & (BP_HIST_SUB - 1));
}

/* Lowest value of bucket i, and its width. */
static void hist_bucket_range(unsigned i, uint64_t *low, uint64_t *width)
{
	unsigned e;

	if (i < BP_HIST_SUB) {
		*low = i;
		*width = 1;
		return;
	}
	e = i / BP_HIST_SUB + BP_HIST_SUB_BITS - 1;
	*width = 1ull << (e - BP_HIST_SUB_BITS);
	*low = (uint64_t)(BP_HIST_SUB + i % BP_HIST_SUB) << (e - BP_HIST_SUB_BITS);
}

void bp_hist_add(struct bp_hist *h, uint64_t ticks)
{
	h->count++;
	h->sum += ticks;
	if (ticks < h->min) {
		h->min = ticks;
	}
	if (ticks > h->max) {
		h->max = ticks;
	}
	h->bucket[hist_index(ticks)]++;
}

double bp_hist_us(const struct bp_hist *h, double q)
{
	uint64_t want, seen = 0, low, width, v;
	double hz = (double)brisk_get_ticks_hz();

	if (h->count == 0) {
		return 0.0;
	}
	want = (uint64_t)(q * (double)h->count + 0.5);
	if (want < 1) {
		want = 1;
	}
	for (unsigned i = 0; i < BP_HIST_BUCKETS; i++) {
		seen += h->bucket[i];
		if (seen >= want) {
			hist_bucket_range(i, &low, &width);
			v = low + width / 2;
			v = v < h->min ? h->min : v > h->max ? h->max : v;
			return (double)v * 1e6 / hz;
		}
	}
	return (double)h->max * 1e6 / hz;
}

/* ---- The run ---- */

struct bp_slot {
	uint8_t *buf;
	uint64_t submit_tsc;
};

static struct {
	struct bp_job *job;
	struct bp_slot slots[BP_MAX_QD];
	uint32_t nslots;
	uint64_t submitted;   /* this run */
	uint64_t completed;
	uint32_t inflight;
	bool stopping;
	uint64_t start_tsc, deadline_tsc, last_tsc, next_progress_tsc;
	uint64_t rng;
	uint64_t positions;   /* random: io_units-aligned positions in the target */
} g_io;

void bp_job_reset(struct bp_job *job)
{
	job->ios = 0;
	job->bytes = 0;
	job->ticks = 0;
	job->rc = 0;
	bp_hist_reset(&job->hist);
}

double bp_job_secs(const struct bp_job *job)
{
	return (double)job->ticks / (double)brisk_get_ticks_hz();
}

static uint64_t rng_next(void)
{
	/* xorshift64*: cheap, and the same sequence for every target. */
	g_io.rng ^= g_io.rng >> 12;
	g_io.rng ^= g_io.rng << 25;
	g_io.rng ^= g_io.rng >> 27;
	return g_io.rng * 0x2545f4914f6cdd1dull;
}

static void job_finish_msg(void *ctx)
{
	struct bp_job *job = g_io.job;

	(void)ctx;
	for (uint32_t i = 0; i < g_io.nslots; i++) {
		brisk_free(g_io.slots[i].buf);
		g_io.slots[i].buf = NULL;
	}
	job->ticks += g_io.last_tsc - g_io.start_tsc;
	job->ios += g_io.completed;
	job->bytes += g_io.completed * job->io_units * job->target->unit_size;
	g_io.job = NULL;
	job->done(job);
}

static void slot_submit(struct bp_slot *s);

static void slot_done(struct bp_slot *s, int rc)
{
	struct bp_job *job = g_io.job;
	uint64_t now = 0;

	g_io.inflight--;
	g_io.completed++;
	if (rc != 0 && job->rc == 0) {
		job->rc = rc;
		g_io.stopping = true;
	}
	if (job->latency || g_io.completed % BP_CLOCK_EVERY == 0 || g_io.inflight == 0) {
		now = brisk_get_ticks();
		g_io.last_tsc = now;
		if (job->latency) {
			bp_hist_add(&job->hist, now - s->submit_tsc);
		}
		if (g_io.deadline_tsc != 0 && now >= g_io.deadline_tsc) {
			g_io.stopping = true;
		}
		if (job->progress != NULL && now >= g_io.next_progress_tsc) {
			g_io.next_progress_tsc = now + brisk_get_ticks_hz();
			if (job->max_ios != 0) {
				bp_progress("%s: %llu/%llu I/Os", job->progress,
					    (unsigned long long)g_io.completed,
					    (unsigned long long)job->max_ios);
			} else {
				bp_progress("%s: %llu I/Os", job->progress, (unsigned long long)g_io.completed);
			}
		}
	}
	if (job->max_ios != 0 && g_io.submitted >= job->max_ios) {
		g_io.stopping = true;
	}
	if (!g_io.stopping) {
		slot_submit(s);
		return;
	}
	if (g_io.inflight == 0) {
		if (now == 0) {
			g_io.last_tsc = brisk_get_ticks();
		}
		/* Not from inside the completion: the bdev I/O is still being freed. */
		if (brisk_thread_send_msg(brisk_get_thread(), job_finish_msg, NULL) != 0) {
			job_finish_msg(NULL);
		}
	}
}

static void bdev_io_done(struct brisk_bdev_io *bdev_io, bool success, void *arg)
{
	brisk_bdev_free_io(bdev_io);
	slot_done(arg, success ? 0 : -EIO);
}

static void blob_io_done(void *arg, int bserrno)
{
	slot_done(arg, bserrno);
}

static void slot_submit(struct bp_slot *s)
{
	struct bp_job *job = g_io.job;
	struct bp_target *t = job->target;
	uint64_t off;
	int rc = 0;

	if (job->random) {
		off = (rng_next() % g_io.positions) * job->io_units;
	} else {
		off = (g_io.submitted % job->positions) * job->stride;
	}
	g_io.submitted++;
	g_io.inflight++;
	if (job->latency) {
		s->submit_tsc = brisk_get_ticks();
	}
	if (t->blob != NULL) {
		if (job->write) {
			brisk_blob_io_write(t->blob, t->ch, s->buf, off, job->io_units, blob_io_done, s);
		} else {
			brisk_blob_io_read(t->blob, t->ch, s->buf, off, job->io_units, blob_io_done, s);
		}
		return;
	}
	if (job->write) {
		rc = brisk_bdev_write_blocks(t->desc, t->ch, s->buf, off, job->io_units, bdev_io_done, s);
	} else {
		rc = brisk_bdev_read_blocks(t->desc, t->ch, s->buf, off, job->io_units, bdev_io_done, s);
	}
	if (rc != 0) {
		/* A submission error ends the run; the slot counts as a failed I/O. */
		g_io.submitted--;
		g_io.completed--;
		slot_done(s, rc);
	}
}

static void job_fail(struct bp_job *job, int rc)
{
	for (uint32_t i = 0; i < g_io.nslots; i++) {
		brisk_free(g_io.slots[i].buf);
		g_io.slots[i].buf = NULL;
	}
	g_io.job = NULL;
	job->rc = rc;
	job->done(job);
}

void bp_job_run(struct bp_job *job)
{
	struct bp_target *t = job->target;
	uint64_t hz = brisk_get_ticks_hz();
	size_t len = (size_t)(job->io_units * t->unit_size);
	uint32_t i;

	memset(&g_io, 0, sizeof(g_io));
	g_io.job = job;
	g_io.rng = BP_SEED;
	g_io.positions = t->units / job->io_units;
	if (job->io_units == 0 || g_io.positions == 0 || job->qd == 0 || job->qd > BP_MAX_QD ||
	    (!job->random && (job->positions == 0 || (job->positions - 1) * job->stride + job->io_units > t->units)) ||
	    (job->secs <= 0 && job->max_ios == 0)) {
		fprintf(stderr, "blob_perf: bad job on %s (io units %llu, qd %u, target %llu units)\n",
			t->label, (unsigned long long)job->io_units, job->qd, (unsigned long long)t->units);
		job_fail(job, -EINVAL);
		return;
	}
	g_io.nslots = job->qd;
	if (job->max_ios != 0 && job->max_ios < g_io.nslots) {
		g_io.nslots = (uint32_t)job->max_ios;
	}
	for (i = 0; i < g_io.nslots; i++) {
		g_io.slots[i].buf = brisk_dma_malloc(len, 4096, NULL);
		if (g_io.slots[i].buf == NULL) {
			fprintf(stderr, "blob_perf: no memory for %u buffers of %zu bytes (raise -s)\n",
				g_io.nslots, len);
			job_fail(job, -ENOMEM);
			return;
		}
		memset(g_io.slots[i].buf, 0x5a ^ (int)i, len);
	}
	g_io.start_tsc = brisk_get_ticks();
	g_io.last_tsc = g_io.start_tsc;
	g_io.next_progress_tsc = g_io.start_tsc + hz;
	if (job->secs > 0) {
		g_io.deadline_tsc = g_io.start_tsc + (uint64_t)(job->secs * (double)hz);
	}
	for (i = 0; i < g_io.nslots && !g_io.stopping; i++) {
		slot_submit(&g_io.slots[i]);
	}
}
