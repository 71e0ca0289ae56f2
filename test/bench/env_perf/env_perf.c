/*
 * env_perf: cost per object of the env layer's hot paths, next to DPDK's
 * when DPDK is built in (env_perf_dpdk.c registers itself).
 *
 * Rows: ring enqueue+dequeue (SP/SC and MP/MC; bursts 1, 8, 32) on one core
 * (enqueue then dequeue in a loop) and on two cores (producer on core 0,
 * consumer on core 1); mempool get+put with and without a per-core cache,
 * single and bulk 32; malloc+free. Each row runs every backend in turn, a few
 * times, and keeps each backend's best time, so both see the same machine
 * state. Output: a table "row | brisk ns/obj | dpdk ns/obj | ratio" and,
 * with --json, the same as JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ticks.h>

#include "env_perf.h"

#define REPS 5
#define RING_SIZE 2048
#define POOL_SIZE 16384
#define POOL_ELT_SIZE 64
#define POOL_CACHE 256

enum row_kind {
	ROW_RING_1CORE,
	ROW_RING_2CORE,
	ROW_MEMPOOL,
	ROW_MALLOC,
};

struct perf_row {
	const char *name;
	enum row_kind kind;
	bool single;       /* rings: SP/SC (else MP/MC) */
	unsigned burst;    /* ring burst, mempool bulk, malloc batch */
	unsigned cache;    /* mempool cache size */
	uint64_t size;     /* malloc size */
	uint64_t objs;     /* objects per run (full mode) */
	double ns[ENV_PERF_MAX_BACKENDS]; /* best ns/object per backend; <0 = not run */
	bool ran;          /* selected by --filter */
};

#define ROW(NAME, KIND, SINGLE, BURST, CACHE, SIZE, OBJS) \
	{ .name = NAME, .kind = KIND, .single = SINGLE, .burst = BURST, .cache = CACHE, \
	  .size = SIZE, .objs = OBJS, .ns = { -1, -1 } }

static struct perf_row g_rows[] = {
	ROW("ring SP/SC 1 core burst 1", ROW_RING_1CORE, true, 1, 0, 0, 10000000),
	ROW("ring SP/SC 1 core burst 8", ROW_RING_1CORE, true, 8, 0, 0, 40000000),
	ROW("ring SP/SC 1 core burst 32", ROW_RING_1CORE, true, 32, 0, 0, 80000000),
	ROW("ring MP/MC 1 core burst 1", ROW_RING_1CORE, false, 1, 0, 0, 4000000),
	ROW("ring MP/MC 1 core burst 8", ROW_RING_1CORE, false, 8, 0, 0, 20000000),
	ROW("ring MP/MC 1 core burst 32", ROW_RING_1CORE, false, 32, 0, 0, 40000000),
	ROW("ring SP/SC 2 cores burst 1", ROW_RING_2CORE, true, 1, 0, 0, 1000000),
	ROW("ring SP/SC 2 cores burst 8", ROW_RING_2CORE, true, 8, 0, 0, 4000000),
	ROW("ring SP/SC 2 cores burst 32", ROW_RING_2CORE, true, 32, 0, 0, 8000000),
	ROW("ring MP/MC 2 cores burst 1", ROW_RING_2CORE, false, 1, 0, 0, 200000),
	ROW("ring MP/MC 2 cores burst 8", ROW_RING_2CORE, false, 8, 0, 0, 1000000),
	ROW("ring MP/MC 2 cores burst 32", ROW_RING_2CORE, false, 32, 0, 0, 2000000),
	ROW("mempool cache get/put 1", ROW_MEMPOOL, false, 1, POOL_CACHE, 0, 10000000),
	ROW("mempool cache get/put bulk 32", ROW_MEMPOOL, false, 32, POOL_CACHE, 0, 40000000),
	ROW("mempool no cache get/put 1", ROW_MEMPOOL, false, 1, 0, 0, 4000000),
	ROW("mempool no cache get/put bulk 32", ROW_MEMPOOL, false, 32, 0, 0, 20000000),
	ROW("malloc/free 64 B", ROW_MALLOC, false, 1, 0, 64, 500000),
	ROW("malloc/free 64 B batch 32", ROW_MALLOC, false, 32, 0, 64, 1000000),
	ROW("malloc/free 4 KiB batch 32", ROW_MALLOC, false, 32, 0, 4096, 500000),
};
#define NUM_ROWS (sizeof(g_rows) / sizeof(g_rows[0]))

static const struct env_perf_ops *g_backends[ENV_PERF_MAX_BACKENDS] = { &g_env_perf_brisk_ops };
static unsigned g_num_backends = 1;
static bool g_backend_up[ENV_PERF_MAX_BACKENDS];
struct env_perf_ring_calls g_env_perf_ring_calls;
/* --calls: print each two-core ring run's calls per full burst. */
static bool g_print_calls;

void env_perf_register(const struct env_perf_ops *ops)
{
	if (g_num_backends < ENV_PERF_MAX_BACKENDS) {
		g_backends[g_num_backends++] = ops;
	}
}

static void usage(const char *prog)
{
	printf("Usage: %s [options]\n"
	       "Measures the cost per object of Brisk's rings, mempools and malloc%s.\n"
	       "  --json FILE   also write the results as JSON to FILE\n"
	       "  --quick       10x fewer objects per row (a few seconds in all)\n"
	       "  --no-huge     run without hugepages (both environments)\n"
	       "  --mem MB      memory each environment reserves (default 256)\n"
	       "  --brisk-only  do not run the DPDK side even if built in\n"
	       "  --filter TEXT run only the rows whose name contains TEXT\n"
	       "  --calls       after each two-core ring run, the calls each side made\n"
	       "                per full burst (1.00: never found the ring empty/full)\n"
	       "  -h, --help    this text\n",
	       prog, g_num_backends > 1 ? ", next to DPDK's (built in)" : " (DPDK side not built)");
}

/* Calls per full burst of each side of a two-core run: every call past
 * one per burst found the ring empty (consumer) or full (producer). */
static void print_calls(const struct env_perf_ops *ops, const struct perf_row *row, uint64_t objs, uint64_t ticks,
			uint64_t hz)
{
	double bursts = (double)objs / row->burst;

	printf("calls %-5s %-30s %8.2f ns/obj  producer %6.2f  consumer %6.2f per burst\n", ops->name, row->name,
	       (double)ticks * 1e9 / (double)hz / (double)objs, (double)g_env_perf_ring_calls.producer / bursts,
	       (double)g_env_perf_ring_calls.consumer / bursts);
}

/* One timed run of row on backend b; ns per object, or -1 on failure. */
static double run_once(const struct env_perf_ops *ops, struct perf_row *row, void *res, uint64_t objs,
		       const struct env_perf_config *cfg, uint64_t hz)
{
	uint64_t ticks = 0;

	switch (row->kind) {
	case ROW_RING_1CORE:
		ticks = ops->ring_1core(res, row->single, row->burst, objs);
		break;
	case ROW_RING_2CORE:
		ticks = ops->ring_2core(res, row->single, row->burst, objs, cfg);
		if (g_print_calls && ticks != 0) {
			print_calls(ops, row, objs, ticks, hz);
		}
		break;
	case ROW_MEMPOOL:
		ticks = ops->mempool_loop(res, row->burst, objs);
		break;
	case ROW_MALLOC:
		ticks = ops->malloc_loop(row->size, row->burst, objs);
		break;
	}
	if (ticks == 0) {
		return -1;
	}
	return (double)ticks * 1e9 / (double)hz / (double)objs;
}

static void *row_resource(const struct env_perf_ops *ops, const struct perf_row *row)
{
	switch (row->kind) {
	case ROW_RING_1CORE:
	case ROW_RING_2CORE:
		return ops->ring_create("perf_ring", RING_SIZE, row->single);
	case ROW_MEMPOOL:
		return ops->mempool_create("perf_pool", POOL_SIZE, POOL_ELT_SIZE, row->cache);
	case ROW_MALLOC:
		return (void *)1; /* nothing to create */
	}
	return NULL;
}

static void row_resource_free(const struct env_perf_ops *ops, const struct perf_row *row, void *res)
{
	if (row->kind == ROW_RING_1CORE || row->kind == ROW_RING_2CORE) {
		ops->ring_free(res);
	} else if (row->kind == ROW_MEMPOOL) {
		ops->mempool_free(res);
	}
}

static void run_row(struct perf_row *row, bool quick, const struct env_perf_config *cfg, uint64_t hz)
{
	uint64_t objs = quick ? row->objs / 10 : row->objs;
	void *res[ENV_PERF_MAX_BACKENDS] = { NULL };
	unsigned b, i, rep;

	row->ran = true;
	for (b = 0; b < ENV_PERF_MAX_BACKENDS; b++) {
		row->ns[b] = -1;
	}
	for (b = 0; b < g_num_backends; b++) {
		if (!g_backend_up[b]) {
			continue;
		}
		res[b] = row_resource(g_backends[b], row);
		if (res[b] == NULL) {
			fprintf(stderr, "%s: cannot set up row '%s'\n", g_backends[b]->name, row->name);
			continue;
		}
		/* Warm-up: fault in memory, fill the caches, settle the clocks. */
		run_once(g_backends[b], row, res[b], objs / 20 + row->burst, cfg, hz);
	}
	/* Alternate backends, in reverse order every other time (A B B A ...),
	 * so both see the same machine state and neither always goes first;
	 * keep each one's best. */
	for (rep = 0; rep < REPS; rep++) {
		for (i = 0; i < g_num_backends; i++) {
			double ns;

			b = rep % 2 == 0 ? i : g_num_backends - 1 - i;

			if (res[b] == NULL) {
				continue;
			}
			ns = run_once(g_backends[b], row, res[b], objs, cfg, hz);
			if (ns > 0 && (row->ns[b] < 0 || ns < row->ns[b])) {
				row->ns[b] = ns;
			}
		}
	}
	for (b = 0; b < g_num_backends; b++) {
		if (res[b] != NULL) {
			row_resource_free(g_backends[b], row, res[b]);
		}
	}
}

static void print_table(FILE *f)
{
	unsigned i;

	fprintf(f, "%-34s | %12s | %12s | %16s\n", "row", "brisk ns/obj", "dpdk ns/obj", "ratio brisk/dpdk");
	fprintf(f, "%.34s-+-%.12s-+-%.12s-+-%.16s\n", "----------------------------------------",
		"--------------", "--------------", "------------------");
	for (i = 0; i < NUM_ROWS; i++) {
		const struct perf_row *r = &g_rows[i];
		char brisk[32] = "n/a", dpdk[32] = "-", ratio[32] = "-";

		if (!r->ran) {
			continue;
		}
		if (r->ns[0] > 0) {
			snprintf(brisk, sizeof(brisk), "%.2f", r->ns[0]);
		}
		if (r->ns[1] > 0) {
			snprintf(dpdk, sizeof(dpdk), "%.2f", r->ns[1]);
			if (r->ns[0] > 0) {
				snprintf(ratio, sizeof(ratio), "%.2f", r->ns[0] / r->ns[1]);
			}
		}
		fprintf(f, "%-34s | %12s | %12s | %16s\n", r->name, brisk, dpdk, ratio);
	}
}

static int write_json(const char *path, bool quick, bool hugepages, uint64_t hz)
{
	json_t *root = json_object(), *rows = json_array();
	unsigned i;
	int rc;

	json_object_set_new(root, "tool", json_string("env_perf"));
	json_object_set_new(root, "unit", json_string("ns per object"));
	json_object_set_new(root, "quick", json_boolean(quick));
	json_object_set_new(root, "hugepages", json_boolean(hugepages));
	json_object_set_new(root, "tick_hz", json_integer((json_int_t)hz));
	json_object_set_new(root, "dpdk", json_boolean(g_num_backends > 1 && g_backend_up[1]));
	for (i = 0; i < NUM_ROWS; i++) {
		const struct perf_row *r = &g_rows[i];
		json_t *row;

		if (!r->ran) {
			continue;
		}
		row = json_object();
		json_object_set_new(row, "row", json_string(r->name));
		json_object_set_new(row, "brisk_ns_per_obj", r->ns[0] > 0 ? json_real(r->ns[0]) : json_null());
		json_object_set_new(row, "dpdk_ns_per_obj", r->ns[1] > 0 ? json_real(r->ns[1]) : json_null());
		json_object_set_new(row, "ratio_brisk_dpdk",
				    r->ns[0] > 0 && r->ns[1] > 0 ? json_real(r->ns[0] / r->ns[1]) : json_null());
		json_array_append_new(rows, row);
	}
	json_object_set_new(root, "rows", rows);
	rc = json_dump_file(root, path, JSON_INDENT(2));
	json_decref(root);
	if (rc != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return -EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "json", required_argument, NULL, 'j' },
		{ "quick", no_argument, NULL, 'q' },
		{ "no-huge", no_argument, NULL, 'n' },
		{ "mem", required_argument, NULL, 'm' },
		{ "brisk-only", no_argument, NULL, 'b' },
		{ "filter", required_argument, NULL, 'f' },
		{ "calls", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct env_perf_config cfg = { .mem_mb = 256, .producer_core = 0, .consumer_core = 1 };
	struct brisk_env_opts opts;
	const char *json_path = NULL, *filter = NULL;
	char *end;
	bool quick = false, brisk_only = false;
	uint64_t hz, start;
	unsigned i, b;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json_path = optarg;
			break;
		case 'q':
			quick = true;
			break;
		case 'n':
			cfg.no_huge = true;
			break;
		case 'm':
			cfg.mem_mb = strtoull(optarg, &end, 10);
			if (end == optarg || *end != '\0' || cfg.mem_mb < 64 || cfg.mem_mb > 1024 * 1024) {
				fprintf(stderr, "--mem '%s': need a number of MB, at least 64\n", optarg);
				return 1;
			}
			break;
		case 'b':
			brisk_only = true;
			break;
		case 'f':
			filter = optarg;
			break;
		case 'C':
			g_print_calls = true;
			break;
		case 'h':
			usage(argv[0]);
			return 0;
		default:
			usage(argv[0]);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "unexpected argument '%s'\n", argv[optind]);
		usage(argv[0]);
		return 1;
	}

	brisk_env_opts_init(&opts);
	opts.name = "env_perf";
	opts.core_mask = "0x3";
	opts.mem_size_mb = cfg.mem_mb;
	opts.no_huge = cfg.no_huge;
	rc = brisk_env_init(&opts);
	if (rc != 0) {
		fprintf(stderr, "brisk_env_init failed: %s\n", strerror(-rc));
		return 1;
	}
	/* Brisk falls back to ordinary pages without hugepages: DPDK does the same then. */
	cfg.no_huge = !brisk_env_using_hugepages();
	g_backend_up[0] = true;
	if (brisk_only) {
		g_num_backends = 1;
	}
	for (b = 1; b < g_num_backends; b++) {
		g_backend_up[b] = g_backends[b]->init(&cfg) == 0;
		if (!g_backend_up[b]) {
			fprintf(stderr, "%s: could not start; its column stays empty\n", g_backends[b]->name);
		}
	}
	/* After DPDK's init, which sets its own affinity: the main thread is the
	 * producer core for both (Brisk's current core drives its mempool cache). */
	rc = brisk_env_thread_pin(cfg.producer_core);
	if (rc != 0) {
		fprintf(stderr, "cannot pin to core %u: %s\n", cfg.producer_core, strerror(-rc));
		return 1;
	}

	hz = brisk_get_ticks_hz();
	printf("env_perf: %s, %s, %llu MB each, producer core %u, consumer core %u%s\n",
	       cfg.no_huge ? "no hugepages" : "hugepages",
	       g_num_backends > 1 && g_backend_up[1] ? "brisk and dpdk" : "brisk only",
	       (unsigned long long)cfg.mem_mb, cfg.producer_core, cfg.consumer_core,
	       quick ? ", quick" : "");
	fflush(stdout);
	start = brisk_get_ticks();
	for (i = 0; i < NUM_ROWS; i++) {
		if (filter == NULL || strstr(g_rows[i].name, filter) != NULL) {
			run_row(&g_rows[i], quick, &cfg, hz);
		}
	}
	printf("\n");
	print_table(stdout);
	printf("\n(%.1f s; ns per object moved: enqueue+dequeue, get+put, malloc+free; best of %d)\n",
	       (double)(brisk_get_ticks() - start) / (double)hz, REPS);

	rc = 0;
	if (json_path != NULL) {
		rc = write_json(json_path, quick, !cfg.no_huge, hz);
	}
	for (b = 1; b < g_num_backends; b++) {
		if (g_backend_up[b] && g_backends[b]->fini != NULL) {
			g_backends[b]->fini();
		}
	}
	brisk_env_fini();
	return rc == 0 ? 0 : 1;
}
