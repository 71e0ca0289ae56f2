/*
 * Results: summing jobs, latency percentiles from the log-linear histogram,
 * the printed table and the JSON form (--json-output and perform_tests).
 */
#include <math.h>
#include <string.h>

#include <brisk/ticks.h>

#include "bdevperf.h"

void bdevperf_result_init(struct bdevperf_result *r)
{
	memset(r, 0, sizeof(*r));
	r->lat_min = UINT64_MAX;
}

void bdevperf_result_add(struct bdevperf_result *dst, const struct bdevperf_result *src)
{
	dst->ios += src->ios;
	dst->bytes += src->bytes;
	dst->failed += src->failed;
	dst->aborted += src->aborted;
	if (dst->first_errno == 0 && src->first_errno != 0) {
		dst->first_errno = src->first_errno;
		dst->first_error_offset = src->first_error_offset;
	}
	if (dst->miscompares == 0 && src->miscompares > 0) {
		dst->first_miscompare_offset = src->first_miscompare_offset;
	}
	dst->miscompares += src->miscompares;
	dst->resets += src->resets;
	dst->lat_sum += src->lat_sum;
	if (src->lat_min < dst->lat_min) {
		dst->lat_min = src->lat_min;
	}
	if (src->lat_max > dst->lat_max) {
		dst->lat_max = src->lat_max;
	}
	/* Jobs run side by side: the total's run time is the longest one. */
	if (src->run_ticks > dst->run_ticks) {
		dst->run_ticks = src->run_ticks;
	}
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		dst->hist.buckets[i] += src->hist.buckets[i];
	}
}

/* Largest value that falls in bucket idx. */
static uint64_t hist_bucket_upper(uint32_t idx)
{
	uint32_t shift, sub;

	if (idx < HIST_SUB_COUNT) {
		return idx;
	}
	shift = idx / HIST_SUB_COUNT - 1;
	sub = idx % HIST_SUB_COUNT;
	return (((uint64_t)HIST_SUB_COUNT + sub + 1) << shift) - 1;
}

uint64_t bdevperf_hist_percentile(const struct bdevperf_hist *h, double p)
{
	uint64_t total = 0, want, seen = 0;

	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		total += h->buckets[i];
	}
	if (total == 0) {
		return 0;
	}
	want = (uint64_t)ceil(total * p / 100.0);
	if (want == 0) {
		want = 1;
	}
	for (uint32_t i = 0; i < HIST_BUCKETS; i++) {
		seen += h->buckets[i];
		if (seen >= want) {
			return hist_bucket_upper(i);
		}
	}
	return hist_bucket_upper(HIST_BUCKETS - 1);
}

static double ticks_us(uint64_t ticks)
{
	return (double)ticks * 1e6 / (double)g_ticks_hz;
}

struct result_figures {
	double secs, iops, mibps, fail_per_sec, avg_us, min_us, max_us;
	double p50_us, p99_us, p999_us;
};

static void result_figures(const struct bdevperf_result *r, struct result_figures *f)
{
	memset(f, 0, sizeof(*f));
	f->secs = (double)r->run_ticks / (double)g_ticks_hz;
	if (f->secs > 0) {
		f->iops = r->ios / f->secs;
		f->mibps = r->bytes / f->secs / (1024.0 * 1024.0);
		f->fail_per_sec = r->failed / f->secs;
	}
	if (r->ios > 0) {
		f->avg_us = ticks_us(r->lat_sum) / r->ios;
		f->min_us = ticks_us(r->lat_min);
		f->max_us = ticks_us(r->lat_max);
		f->p50_us = ticks_us(bdevperf_hist_percentile(&r->hist, 50.0));
		f->p99_us = ticks_us(bdevperf_hist_percentile(&r->hist, 99.0));
		f->p999_us = ticks_us(bdevperf_hist_percentile(&r->hist, 99.9));
	}
}

void bdevperf_print_header(FILE *f)
{
	fprintf(f, "%-28s %9s %12s %10s %9s %10s %10s %10s", "Job", "runtime(s)", "IOPS", "MiB/s",
		"Fail/s", "avg(us)", "min(us)", "max(us)");
	if (g_latency_pct) {
		fprintf(f, " %10s %10s %10s", "p50(us)", "p99(us)", "p99.9(us)");
	}
	fprintf(f, "\n");
}

void bdevperf_print_row(FILE *f, const char *name, const struct bdevperf_result *r)
{
	struct result_figures fig;

	result_figures(r, &fig);
	fprintf(f, "%-28s %9.2f %12.2f %10.2f %9.2f %10.2f %10.2f %10.2f", name, fig.secs, fig.iops,
		fig.mibps, fig.fail_per_sec, fig.avg_us, fig.min_us, fig.max_us);
	if (g_latency_pct) {
		fprintf(f, " %10.2f %10.2f %10.2f", fig.p50_us, fig.p99_us, fig.p999_us);
	}
	fprintf(f, "\n");
	if (r->miscompares > 0 || r->aborted > 0 || r->resets > 0) {
		fprintf(f, "%-28s failed %lu, miscompares %lu, aborted by reset %lu, resets %lu\n", "",
			(unsigned long)r->failed, (unsigned long)r->miscompares,
			(unsigned long)r->aborted, (unsigned long)r->resets);
	}
}

json_t *bdevperf_result_json(const char *name, const char *bdev, uint32_t core,
			     const struct bdevperf_params *p, const struct bdevperf_result *r)
{
	struct result_figures fig;
	json_t *o;

	result_figures(r, &fig);
	o = json_pack("{s:s, s:s, s:I, s:I, s:f, s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f}",
		      "job", name, "workload", bdevperf_workload_name(p->workload),
		      "queue_depth", (json_int_t)p->queue_depth, "io_size", (json_int_t)p->io_size,
		      "runtime", fig.secs, "iops", fig.iops, "mibps", fig.mibps,
		      "io_completed", (json_int_t)r->ios, "io_failed", (json_int_t)r->failed,
		      "miscompares", (json_int_t)r->miscompares, "aborted", (json_int_t)r->aborted,
		      "resets", (json_int_t)r->resets,
		      "avg_latency_us", fig.avg_us, "min_latency_us", fig.min_us,
		      "max_latency_us", fig.max_us);
	if (o == NULL) {
		return NULL;
	}
	if (bdev != NULL) {
		json_object_set_new(o, "bdev", json_string(bdev));
		json_object_set_new(o, "core", json_integer(core));
	}
	if (r->first_errno != 0) {
		json_object_set_new(o, "first_error", json_pack("{s:i, s:s, s:I}", "errno", -r->first_errno,
				    "message", strerror(-r->first_errno),
				    "offset", (json_int_t)r->first_error_offset));
	}
	if (r->miscompares > 0) {
		json_object_set_new(o, "first_miscompare_offset",
				    json_integer((json_int_t)r->first_miscompare_offset));
	}
	if (p->workload == WORKLOAD_RW || p->workload == WORKLOAD_RANDRW) {
		json_object_set_new(o, "rw_percentage", json_integer(p->rw_read_pct));
	}
	if (g_latency_pct) {
		json_object_set_new(o, "latency_percentiles_us",
				    json_pack("{s:f, s:f, s:f}", "p50", fig.p50_us, "p99", fig.p99_us,
					      "p99.9", fig.p999_us));
	}
	return o;
}
