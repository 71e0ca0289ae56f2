/*
 * nvme_perf: drives NVMe namespaces straight through the driver, one qpair
 * per core and namespace, and prints spdk_nvme_perf's table (IOPS, MiB/s,
 * average/min/max latency per namespace and in total; percentiles with -L).
 *
 *   nvme_perf -r 'trtype:PCIe traddr:0000:00:04.0' -q 32 -o 4096 -w randread -t 10 -c 0x1
 *
 * Without -r every NVMe PCI device the environment allows is used. Exits
 * non-zero on bad arguments, when no controller is found, or on any I/O
 * error.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/cpuset.h>
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/pci.h>
#include <brisk/string.h>
#include <brisk/ticks.h>

#include "nvme_perf.h"

#define PERF_MAX_TRIDS 16
#define PERF_MAX_CTRLRS 32

struct perf_config g_cfg = { .read_pct = -1, .mem_mb = 0, .shm_id = -1 };
volatile bool g_perf_stop;

static struct brisk_nvme_transport_id g_trids[PERF_MAX_TRIDS];
static int g_num_trids;
static struct brisk_nvme_ctrlr *g_ctrlrs[PERF_MAX_CTRLRS];
static int g_num_ctrlrs;
static struct perf_ns g_ns[PERF_MAX_NS];
static int g_num_ns;
static struct perf_worker g_workers[PERF_MAX_WORKERS];
static int g_num_workers;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nvme_perf -q DEPTH -o IO_SIZE -w PATTERN -t SECONDS [options]\n"
		"  -r, --transport-id TRID  controller to use, e.g. 'trtype:PCIe traddr:0000:00:04.0'\n"
		"                           (repeatable; default: every allowed NVMe PCI device)\n"
		"  -q, --io-depth N         I/Os in flight per namespace and core\n"
		"  -o, --io-size BYTES      size of each I/O (a multiple of the sector size)\n"
		"  -w, --io-pattern P       read, write, randread, randwrite, rw, randrw\n"
		"  -M, --rwmixread PCT      reads in percent for rw/randrw (default 50)\n"
		"  -t, --time SECONDS       run time\n"
		"  -c, --core-mask MASK     cores to run workers on (default 0x1)\n"
		"  -L, --enable-sw-latency-tracking  print latency percentiles\n"
		"  -s, --mem-size MB        memory to reserve (default %u)\n"
		"      --no-huge            ordinary pages instead of hugepages\n"
		"  -i, --shm-id ID          multi-process: the first process of an id is the primary\n"
		"                           and shares its controllers; later ones (secondaries,\n"
		"                           -r needed) run I/O on qpairs the primary creates\n"
		"  -h, --help               this text\n",
		BRISK_ENV_DEFAULT_MEM_MB);
}

static int parse_pattern(const char *p)
{
	static const struct {
		const char *name;
		bool random;
		int read_pct; /* -1: mixed (-M) */
	} pats[] = {
		{"read", false, 100}, {"write", false, 0}, {"randread", true, 100},
		{"randwrite", true, 0}, {"rw", false, -1}, {"randrw", true, -1},
	};

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		if (strcmp(p, pats[i].name) == 0) {
			g_cfg.random = pats[i].random;
			if (pats[i].read_pct >= 0) {
				g_cfg.read_pct = pats[i].read_pct;
			} else if (g_cfg.read_pct < 0 || g_cfg.read_pct == 100 || g_cfg.read_pct == 0) {
				g_cfg.read_pct = -2; /* mixed: -M decides, default 50 */
			}
			return 0;
		}
	}
	fprintf(stderr, "nvme_perf: -w '%s' must be read, write, randread, randwrite, rw or randrw\n", p);
	return -EINVAL;
}

static int parse_u32_arg(const char *s, const char *what, uint32_t min, uint32_t *out)
{
	if (brisk_parse_u32(s, 0, out) != 0 || *out < min) {
		fprintf(stderr, "nvme_perf: %s '%s' must be a number of at least %u\n", what, s, min);
		return -EINVAL;
	}
	return 0;
}

static int add_trid(const char *s)
{
	struct brisk_nvme_transport_id *t;

	if (g_num_trids == PERF_MAX_TRIDS) {
		fprintf(stderr, "nvme_perf: at most %d -r\n", PERF_MAX_TRIDS);
		return -EINVAL;
	}
	t = &g_trids[g_num_trids];
	memset(t, 0, sizeof(*t));
	t->trtype = BRISK_NVME_TRANSPORT_PCIE;
	if (brisk_nvme_transport_id_parse(t, s) != 0) {
		fprintf(stderr, "nvme_perf: -r '%s' is not a transport ID\n", s);
		return -EINVAL;
	}
	g_num_trids++;
	return 0;
}

/* The pattern's read share once every option is known. */
static int finish_mix(uint32_t mix, bool mix_given)
{
	if (g_cfg.read_pct == -1) {
		fprintf(stderr, "nvme_perf: -w is required\n");
		return -EINVAL;
	}
	if (mix_given && mix > 100) {
		fprintf(stderr, "nvme_perf: -M %u must be 0 to 100\n", mix);
		return -EINVAL;
	}
	if (g_cfg.read_pct == -2) {
		g_cfg.read_pct = mix_given ? (int)mix : 50;
	} else if (mix_given) {
		fprintf(stderr, "nvme_perf: -M is for -w rw or randrw only\n");
		return -EINVAL;
	}
	return 0;
}

enum { OPT_NO_HUGE = 256 };

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"transport-id", required_argument, NULL, 'r'}, {"io-depth", required_argument, NULL, 'q'},
		{"io-size", required_argument, NULL, 'o'}, {"io-pattern", required_argument, NULL, 'w'},
		{"rwmixread", required_argument, NULL, 'M'}, {"time", required_argument, NULL, 't'},
		{"core-mask", required_argument, NULL, 'c'}, {"mem-size", required_argument, NULL, 's'},
		{"enable-sw-latency-tracking", no_argument, NULL, 'L'}, {"no-huge", no_argument, NULL, OPT_NO_HUGE},
		{"shm-id", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	uint32_t depth = 0, size = 0, secs = 0, mix = 0, mem = 0, shm = 0;
	bool mix_given = false;
	int c, rc = 0;

	g_cfg.core_mask = "0x1";
	while (rc == 0 && (c = getopt_long(argc, argv, "r:q:o:w:M:t:c:s:i:Lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': rc = add_trid(optarg); break;
		case 'q': rc = parse_u32_arg(optarg, "-q", 1, &depth); break;
		case 'o': rc = parse_u32_arg(optarg, "-o", 512, &size); break;
		case 'w': rc = parse_pattern(optarg); break;
		case 'M': rc = parse_u32_arg(optarg, "-M", 0, &mix); mix_given = true; break;
		case 't': rc = parse_u32_arg(optarg, "-t", 1, &secs); break;
		case 'c': g_cfg.core_mask = optarg; break;
		case 's': rc = parse_u32_arg(optarg, "-s", 16, &mem); break;
		case 'L': g_cfg.latency = true; break;
		case 'i': rc = parse_u32_arg(optarg, "-i", 0, &shm); g_cfg.shm_id = (int)shm; break;
		case OPT_NO_HUGE: g_cfg.no_huge = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (rc != 0) {
		return rc;
	}
	if (optind < argc || depth == 0 || size == 0 || secs == 0) {
		fprintf(stderr, "nvme_perf: %s\n", optind < argc ? "unexpected argument" :
			"-q, -o, -w and -t are required");
		usage(stderr);
		return -EINVAL;
	}
	g_cfg.queue_depth = (int)depth;
	g_cfg.io_size = size;
	g_cfg.seconds = secs;
	g_cfg.mem_mb = mem;
	return finish_mix(mix, mix_given);
}

/* ---- Controllers and namespaces ---- */

static void add_namespaces(struct brisk_nvme_ctrlr *ctrlr)
{
	const struct brisk_nvme_transport_id *trid = brisk_nvme_ctrlr_get_transport_id(ctrlr);
	const char *tt = brisk_nvme_transport_id_trtype_str(trid->trtype);

	for (uint32_t nsid = brisk_nvme_ctrlr_get_first_active_ns(ctrlr); nsid != 0;
	     nsid = brisk_nvme_ctrlr_get_next_active_ns(ctrlr, nsid)) {
		struct brisk_nvme_ns *ns = brisk_nvme_ctrlr_get_ns(ctrlr, nsid);
		struct perf_ns *p = &g_ns[g_num_ns];
		uint32_t ss = ns != NULL ? brisk_nvme_ns_get_sector_size(ns) : 0;

		if (ss == 0 || g_cfg.io_size % ss != 0 || brisk_nvme_ns_get_size(ns) < g_cfg.io_size) {
			fprintf(stderr, "nvme_perf: skipping %s NSID %u: -o %u is not a multiple of its %u byte "
				"sectors or larger than it\n", trid->traddr, nsid, g_cfg.io_size, ss);
			continue;
		}
		if (g_num_ns == PERF_MAX_NS) {
			fprintf(stderr, "nvme_perf: only the first %d namespaces are used\n", PERF_MAX_NS);
			return;
		}
		p->ctrlr = ctrlr;
		p->ns = ns;
		p->blocks_per_io = g_cfg.io_size / ss;
		p->io_count = brisk_nvme_ns_get_num_sectors(ns) / p->blocks_per_io;
		snprintf(p->name, sizeof(p->name), "%s (%s) NSID %u", tt != NULL && strcmp(tt, "PCIe") == 0 ?
			 "PCIE" : (tt != NULL ? tt : "?"), trid->traddr, nsid);
		g_num_ns++;
	}
}

/* Without -r only devices bound to a user-space driver are used: those the
 * kernel's nvme driver holds (the host's own disks) are left alone. */
static bool probe_cb(void *ctx, const struct brisk_nvme_transport_id *trid,
		     struct brisk_nvme_ctrlr_opts *opts)
{
	struct brisk_pci_device *dev;
	struct brisk_pci_addr addr;
	const char *drv = NULL;
	bool usable;

	if (brisk_pci_addr_parse(&addr, trid->traddr) == 0 && brisk_pci_device_get(&addr, &dev) == 0) {
		drv = brisk_pci_device_get_driver(dev);
		usable = drv != NULL && (strcmp(drv, "vfio-pci") == 0 || strcmp(drv, "uio_pci_generic") == 0);
		if (!usable) {
			printf("Skipping %s: bound to %s, not vfio-pci or uio_pci_generic\n", trid->traddr,
			       drv != NULL ? drv : "no driver");
		}
		brisk_pci_device_free(dev);
		return usable && g_num_ctrlrs < PERF_MAX_CTRLRS;
	}
	return false;
}

static void attach_cb(void *ctx, const struct brisk_nvme_transport_id *trid,
		      struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_ctrlr_opts *opts)
{
	printf("Attached to NVMe controller at %s\n", trid->traddr);
	g_ctrlrs[g_num_ctrlrs++] = ctrlr;
}

/* -i: a primary shares every controller it attached with secondaries. */
static int share_controllers(void)
{
	if (g_cfg.shm_id < 0 || brisk_env_get_proc_type() != BRISK_PROC_PRIMARY) {
		return 0;
	}
	for (int i = 0; i < g_num_ctrlrs; i++) {
		if (brisk_nvme_ctrlr_share(g_ctrlrs[i]) != 0) {
			fprintf(stderr, "nvme_perf: cannot share %s with secondary processes\n",
				brisk_nvme_ctrlr_get_transport_id(g_ctrlrs[i])->traddr);
			return -EIO;
		}
	}
	printf("Primary process of shm id %d: controllers shared\n", g_cfg.shm_id);
	return 0;
}

static int attach_controllers(void)
{
	if (g_num_trids == 0 && brisk_env_get_proc_type() == BRISK_PROC_SECONDARY) {
		fprintf(stderr, "nvme_perf: a secondary process (-i %d) needs -r for each controller\n",
			g_cfg.shm_id);
		return -EINVAL;
	}
	if (g_num_trids == 0) {
		if (brisk_nvme_probe(NULL, NULL, probe_cb, attach_cb, NULL) != 0) {
			fprintf(stderr, "nvme_perf: probing NVMe devices failed\n");
			return -ENODEV;
		}
	}
	for (int i = 0; i < g_num_trids; i++) {
		struct brisk_nvme_ctrlr *c = brisk_nvme_connect(&g_trids[i], NULL);

		if (c == NULL) {
			fprintf(stderr, "nvme_perf: no NVMe controller at %s\n", g_trids[i].traddr);
			return -ENODEV;
		}
		attach_cb(NULL, &g_trids[i], c, NULL);
	}
	if (g_num_ctrlrs == 0) {
		fprintf(stderr, "nvme_perf: no NVMe controller found\n");
		return -ENODEV;
	}
	for (int i = 0; i < g_num_ctrlrs; i++) {
		add_namespaces(g_ctrlrs[i]);
	}
	if (g_num_ns == 0) {
		fprintf(stderr, "nvme_perf: no usable namespace\n");
		return -ENODEV;
	}
	return share_controllers();
}

/* Admin polling for a second: serves secondaries (primary), notices the
 * primary's end (secondary), health checks. */
static void poll_admin_for_a_second(void)
{
	/* By the clock: a 1 ms sleep may last much longer beside busy workers. */
	uint64_t end = brisk_get_time_us() + 1000000;

	while (brisk_get_time_us() < end && !g_perf_stop) {
		for (int i = 0; i < g_num_ctrlrs; i++) {
			brisk_nvme_ctrlr_process_admin_completions(g_ctrlrs[i]);
		}
		usleep(1000);
	}
}

/* ---- Run ---- */

static void on_signal(int sig)
{
	g_perf_stop = true;
}

static int setup_workers(void)
{
	for (uint32_t core = brisk_env_get_first_core(); core != UINT32_MAX && g_num_workers < PERF_MAX_WORKERS;
	     core = brisk_env_get_next_core(core)) {
		struct perf_worker *w = &g_workers[g_num_workers++];

		w->core = core;
		if (perf_worker_setup(w, g_ns, g_num_ns) != 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

static uint64_t progress_total(void)
{
	uint64_t n = 0;

	for (int w = 0; w < g_num_workers; w++) {
		for (int i = 0; i < g_workers[w].num_ns; i++) {
			n += __atomic_load_n(&g_workers[w].nsw[i].progress_ios, __ATOMIC_RELAXED);
		}
	}
	return n;
}

/* Prints IOPS each second until the time is up (or a worker stops the run). */
static void run_progress(void)
{
	uint64_t last = 0;

	for (uint32_t s = 1; s <= g_cfg.seconds && !g_perf_stop; s++) {
		uint64_t now;

		poll_admin_for_a_second();
		now = progress_total();
		printf("[%3us] %10.2f IOPS, %8.2f MiB/s\n", s, (double)(now - last),
		       (double)(now - last) * g_cfg.io_size / (1024.0 * 1024.0));
		fflush(stdout);
		last = now;
	}
	g_perf_stop = true;
}

static int run_workers(void)
{
	uint64_t start, elapsed;
	int rc = 0;

	printf("Running %s I/O of %u bytes, queue depth %d, %u s on %d core(s), %d namespace(s)\n",
	       g_cfg.random ? "random" : "sequential", g_cfg.io_size, g_cfg.queue_depth, g_cfg.seconds,
	       g_num_workers, g_num_ns);
	start = brisk_get_ticks();
	for (int w = 0; w < g_num_workers; w++) {
		if (pthread_create(&g_workers[w].tid, NULL, perf_worker_run, &g_workers[w]) != 0) {
			g_perf_stop = true;
			g_num_workers = w;
			rc = -EAGAIN;
			break;
		}
	}
	run_progress();
	for (int w = 0; w < g_num_workers; w++) {
		pthread_join(g_workers[w].tid, NULL);
		if (g_workers[w].rc != 0 && rc == 0) {
			rc = g_workers[w].rc;
		}
	}
	elapsed = brisk_get_ticks() - start;
	perf_print_results(g_workers, g_num_workers, elapsed);
	return rc;
}

static uint64_t total_errors(void)
{
	uint64_t n = 0;

	for (int w = 0; w < g_num_workers; w++) {
		for (int i = 0; i < g_workers[w].num_ns; i++) {
			n += g_workers[w].nsw[i].stats.errors;
		}
	}
	return n;
}

static void cleanup(void)
{
	for (int w = 0; w < g_num_workers; w++) {
		perf_worker_cleanup(&g_workers[w]);
	}
	for (int i = 0; i < g_num_ctrlrs; i++) {
		brisk_nvme_detach(g_ctrlrs[i]);
	}
	brisk_env_fini();
}

int main(int argc, char **argv)
{
	struct brisk_env_opts opts;
	int rc;

	if (parse_args(argc, argv) != 0) {
		return 2;
	}
	brisk_env_opts_init(&opts);
	opts.name = "nvme_perf";
	opts.core_mask = g_cfg.core_mask;
	opts.no_huge = g_cfg.no_huge;
	opts.mem_size_mb = g_cfg.mem_mb;
	opts.shm_id = g_cfg.shm_id;
	if (brisk_env_init(&opts) != 0) {
		fprintf(stderr, "nvme_perf: cannot initialise the environment (core mask '%s')\n",
			g_cfg.core_mask);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rc = attach_controllers();
	if (rc == 0) {
		rc = setup_workers();
	}
	if (rc == 0) {
		rc = run_workers();
	}
	if (rc == 0 && total_errors() > 0) {
		rc = -EIO;
	}
	cleanup();
	return rc == 0 ? 0 : 1;
}
