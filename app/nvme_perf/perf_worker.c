/*
 * nvme_perf's workers: one pthread pinned to each core of the mask, with an
 * I/O qpair of its own on every namespace and queue_depth tasks per
 * namespace, each with its DMA buffer. A task is resubmitted from its own
 * completion until the run time is over; then the worker drains its qpairs.
 * Nothing is shared between workers but the stop flag.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ticks.h>

#include "nvme_perf.h"

struct perf_task {
	struct perf_ns_worker *nw;
	struct perf_worker *w;
	void *buf;
	uint64_t submit_ticks;
	bool is_read;
};

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: cheap, per worker, good enough for offsets. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

int perf_worker_setup(struct perf_worker *w, struct perf_ns *ns, int num_ns)
{
	w->num_ns = num_ns;
	w->rng = 0x9e3779b97f4a7c15ull ^ ((uint64_t)w->core << 32);
	for (int i = 0; i < num_ns; i++) {
		struct perf_ns_worker *nw = &w->nsw[i];
		struct brisk_nvme_io_qpair_opts qopts;

		nw->pns = &ns[i];
		/* Room for every task, and for the children of I/O split at MDTS. */
		brisk_nvme_ctrlr_get_default_io_qpair_opts(ns[i].ctrlr, &qopts);
		if (qopts.io_queue_requests < 2u * (uint32_t)g_cfg.queue_depth) {
			qopts.io_queue_requests = 2u * (uint32_t)g_cfg.queue_depth;
		}
		nw->qpair = brisk_nvme_ctrlr_alloc_io_qpair(ns[i].ctrlr, &qopts);
		if (nw->qpair == NULL) {
			fprintf(stderr, "nvme_perf: no I/O qpair for core %u on %s\n", w->core, ns[i].name);
			return -ENOMEM;
		}
		perf_stats_init(&nw->stats, g_cfg.latency);
	}
	return 0;
}

void perf_worker_cleanup(struct perf_worker *w)
{
	for (int i = 0; i < w->num_ns; i++) {
		if (w->nsw[i].qpair != NULL) {
			brisk_nvme_ctrlr_free_io_qpair(w->nsw[i].qpair);
			w->nsw[i].qpair = NULL;
		}
		perf_stats_free(&w->nsw[i].stats);
	}
}

static void task_submit(struct perf_task *t);

static void task_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct perf_task *t = arg;
	struct perf_ns_worker *nw = t->nw;

	nw->outstanding--;
	if (brisk_nvme_cpl_is_error(cpl)) {
		if (nw->stats.errors++ == 0) {
			fprintf(stderr, "nvme_perf: %s on %s failed: %s\n", t->is_read ? "read" : "write",
				nw->pns->name, brisk_nvme_cpl_get_status_string(&cpl->status));
		}
	} else {
		perf_stats_record(&nw->stats, brisk_get_ticks() - t->submit_ticks);
		__atomic_store_n(&nw->progress_ios, nw->stats.ios, __ATOMIC_RELAXED);
	}
	if (!__atomic_load_n(&g_perf_stop, __ATOMIC_RELAXED)) {
		task_submit(t);
	}
}

static uint64_t task_next_lba(struct perf_task *t)
{
	struct perf_ns_worker *nw = t->nw;
	uint64_t idx;

	if (g_cfg.random) {
		idx = rng_next(&t->w->rng) % nw->pns->io_count;
	} else {
		idx = nw->seq_next++;
		if (nw->seq_next >= nw->pns->io_count) {
			nw->seq_next = 0;
		}
	}
	return idx * nw->pns->blocks_per_io;
}

static void task_submit(struct perf_task *t)
{
	struct perf_ns_worker *nw = t->nw;
	struct perf_ns *pns = nw->pns;
	uint64_t lba = task_next_lba(t);
	int rc;

	t->is_read = g_cfg.read_pct == 100 ||
		     (g_cfg.read_pct != 0 && (int)(rng_next(&t->w->rng) % 100) < g_cfg.read_pct);
	t->submit_ticks = brisk_get_ticks();
	if (t->is_read) {
		rc = brisk_nvme_ns_cmd_read(pns->ns, nw->qpair, t->buf, lba, pns->blocks_per_io, task_done, t, 0);
	} else {
		rc = brisk_nvme_ns_cmd_write(pns->ns, nw->qpair, t->buf, lba, pns->blocks_per_io, task_done, t, 0);
	}
	if (rc != 0) {
		nw->stats.errors++;
		fprintf(stderr, "nvme_perf: cannot submit to %s: %s\n", pns->name, strerror(-rc));
		if (rc != -ENOMEM) {
			t->w->rc = rc;
		}
		return;
	}
	nw->outstanding++;
}

static struct perf_task *worker_alloc_tasks(struct perf_worker *w)
{
	int n = w->num_ns * g_cfg.queue_depth;
	struct perf_task *tasks = calloc((size_t)n, sizeof(*tasks));

	for (int i = 0; tasks != NULL && i < n; i++) {
		tasks[i].w = w;
		tasks[i].nw = &w->nsw[i / g_cfg.queue_depth];
		tasks[i].buf = brisk_dma_zmalloc(g_cfg.io_size, 4096, NULL);
		if (tasks[i].buf == NULL) {
			fprintf(stderr, "nvme_perf: out of DMA memory for %d buffers of %u bytes (raise -s)\n", n,
				g_cfg.io_size);
			for (int j = 0; j < i; j++) {
				brisk_free(tasks[j].buf);
			}
			free(tasks);
			return NULL;
		}
	}
	return tasks;
}

static uint32_t worker_outstanding(struct perf_worker *w)
{
	uint32_t n = 0;

	for (int i = 0; i < w->num_ns; i++) {
		n += w->nsw[i].outstanding;
	}
	return n;
}

/* Polls every qpair until the stop flag is set and nothing is in flight. */
static void worker_poll_loop(struct perf_worker *w)
{
	for (;;) {
		bool stopping = __atomic_load_n(&g_perf_stop, __ATOMIC_RELAXED);

		for (int i = 0; i < w->num_ns; i++) {
			if (brisk_nvme_qpair_process_completions(w->nsw[i].qpair, 0) < 0 && w->rc == 0) {
				fprintf(stderr, "nvme_perf: controller of %s failed\n", w->nsw[i].pns->name);
				w->rc = -ENXIO;
			}
		}
		if ((stopping || w->rc != 0) && worker_outstanding(w) == 0) {
			return;
		}
		if (w->rc != 0) {
			__atomic_store_n(&g_perf_stop, true, __ATOMIC_RELAXED);
		}
	}
}

void *perf_worker_run(void *arg)
{
	struct perf_worker *w = arg;
	struct perf_task *tasks;
	int n = w->num_ns * g_cfg.queue_depth;

	if (brisk_env_thread_pin(w->core) != 0) {
		fprintf(stderr, "nvme_perf: cannot pin a worker to core %u\n", w->core);
	}
	tasks = worker_alloc_tasks(w);
	if (tasks == NULL) {
		w->rc = -ENOMEM;
		__atomic_store_n(&g_perf_stop, true, __ATOMIC_RELAXED);
		return NULL;
	}
	for (int i = 0; i < n; i++) {
		task_submit(&tasks[i]);
	}
	worker_poll_loop(w);
	for (int i = 0; i < n; i++) {
		brisk_free(tasks[i].buf);
	}
	free(tasks);
	return NULL;
}
