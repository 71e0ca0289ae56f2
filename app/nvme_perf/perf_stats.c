/*
 * nvme_perf's statistics: per namespace and worker counts, total/min/max
 * latency, and with -L a log-linear histogram (exact below 128 ticks, then 64
 * buckets per power of two: under 1.6% error) from which the percentiles are
 * read. The table has spdk_nvme_perf's shape so the numbers compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/ticks.h>

#include "nvme_perf.h"

void perf_stats_init(struct perf_stats *s, bool hist)
{
	memset(s, 0, sizeof(*s));
	s->min_ticks = UINT64_MAX;
	if (hist) {
		s->hist = calloc(PERF_HIST_BUCKETS, sizeof(uint64_t));
	}
}

void perf_stats_free(struct perf_stats *s)
{
	free(s->hist);
	s->hist = NULL;
}

static uint32_t hist_index(uint64_t v)
{
	uint32_t msb;

	if (v < 128) {
		return (uint32_t)v;
	}
	msb = 63u - (uint32_t)__builtin_clzll(v);
	return 128 + (msb - 7) * 64 + (uint32_t)((v >> (msb - PERF_HIST_SUB_BITS)) & 63);
}

/* The highest value that falls in bucket i. */
static uint64_t hist_value(uint32_t i)
{
	uint32_t msb, sub;

	if (i < 128) {
		return i;
	}
	msb = (i - 128) / 64 + 7;
	sub = (i - 128) % 64;
	return ((64ull + sub + 1) << (msb - PERF_HIST_SUB_BITS)) - 1;
}

void perf_stats_record(struct perf_stats *s, uint64_t ticks)
{
	s->ios++;
	s->total_ticks += ticks;
	if (ticks < s->min_ticks) {
		s->min_ticks = ticks;
	}
	if (ticks > s->max_ticks) {
		s->max_ticks = ticks;
	}
	if (s->hist != NULL) {
		s->hist[hist_index(ticks)]++;
	}
}

static void stats_add(struct perf_stats *dst, const struct perf_stats *src)
{
	dst->ios += src->ios;
	dst->errors += src->errors;
	dst->total_ticks += src->total_ticks;
	if (src->min_ticks < dst->min_ticks) {
		dst->min_ticks = src->min_ticks;
	}
	if (src->max_ticks > dst->max_ticks) {
		dst->max_ticks = src->max_ticks;
	}
	if (dst->hist != NULL && src->hist != NULL) {
		for (int i = 0; i < PERF_HIST_BUCKETS; i++) {
			dst->hist[i] += src->hist[i];
		}
	}
}

static double ticks_us(uint64_t ticks)
{
	return (double)ticks * 1000000.0 / (double)brisk_get_ticks_hz();
}

static void print_row(const char *label, const struct perf_stats *s, double secs)
{
	double iops = secs > 0 ? (double)s->ios / secs : 0;
	double mibs = iops * g_cfg.io_size / (1024.0 * 1024.0);
	double avg = s->ios > 0 ? ticks_us(s->total_ticks) / (double)s->ios : 0;

	printf("%-55s: %12.2f %10.2f %10.2f %10.2f %10.2f\n", label, iops, mibs, avg,
	       s->ios > 0 ? ticks_us(s->min_ticks) : 0.0, ticks_us(s->max_ticks));
}

static void print_percentiles(const char *label, const struct perf_stats *s)
{
	static const double pcts[] = { 1, 10, 25, 50, 75, 90, 95, 98, 99, 99.5, 99.9, 99.99, 99.999 };
	uint64_t seen = 0;
	uint32_t b = 0;

	printf("Summary latency data for %s:\n", label);
	printf("=================================================================================\n");
	for (size_t p = 0; p < sizeof(pcts) / sizeof(pcts[0]); p++) {
		uint64_t target = (uint64_t)((double)s->ios * pcts[p] / 100.0);

		/* The first bucket whose running count passes the target. */
		while (b < PERF_HIST_BUCKETS - 1 && seen + s->hist[b] <= target) {
			seen += s->hist[b++];
		}
		printf("%10.5f%% : %12.3fus\n", pcts[p], ticks_us(hist_value(b)));
	}
	printf("\n");
}

void perf_print_results(struct perf_worker *workers, int num_workers, uint64_t elapsed_ticks)
{
	double secs = (double)elapsed_ticks / (double)brisk_get_ticks_hz();
	struct perf_stats total;
	char label[400];

	perf_stats_init(&total, false);
	printf("========================================================\n");
	printf("%-55s  %12s %10s %32s\n", "", "", "", "Latency(us)");
	printf("%-55s: %12s %10s %10s %10s %10s\n", "Device Information", "IOPS", "MiB/s", "Average", "min",
	       "max");
	for (int w = 0; w < num_workers; w++) {
		for (int n = 0; n < workers[w].num_ns; n++) {
			struct perf_ns_worker *nw = &workers[w].nsw[n];

			snprintf(label, sizeof(label), "%s from core %2u", nw->pns->name, workers[w].core);
			print_row(label, &nw->stats, secs);
			stats_add(&total, &nw->stats);
		}
	}
	printf("========================================================\n");
	print_row("Total", &total, secs);
	printf("\n");
	for (int w = 0; g_cfg.latency && w < num_workers; w++) {
		for (int n = 0; n < workers[w].num_ns; n++) {
			snprintf(label, sizeof(label), "%s from core %u", workers[w].nsw[n].pns->name,
				 workers[w].core);
			print_percentiles(label, &workers[w].nsw[n].stats);
		}
	}
	if (total.errors > 0) {
		printf("%lu I/O errors\n", (unsigned long)total.errors);
	}
}
