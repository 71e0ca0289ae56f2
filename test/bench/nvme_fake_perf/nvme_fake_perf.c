/*
 * nvme_fake_perf: lib/nvme's own cost per I/O on one core, against the
 * in-memory fake controller that completes every command the moment its
 * doorbell is written and moves no data. Each completion submits the next
 * read, so the queue stays at depth QD; the figure is wall time per I/O
 * (submission, PRP building, doorbells, completion by phase tag, callback,
 * plus the fake's own work), and the thread's CPU time per I/O, which holds
 * on a shared machine where the process does not get the whole core.
 * Prints a table and one JSON line.
 *
 *   nvme_fake_perf [-t SECONDS] [-q QD -o BYTES (one case)] [-H (no hugepages)] [-s MB]
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/nvme.h>
#include <brisk/ticks.h>

#include "../../../lib/nvme/nvme_fake.h"

struct perf_job {
	struct brisk_nvme_ns *ns;
	struct brisk_nvme_qpair *qpair;
	uint8_t *buf;
	uint32_t lba_count;
	uint64_t lba;
	uint64_t num_sectors;
	uint64_t completed;
	bool stop;
};

struct perf_result {
	uint32_t qd;
	uint32_t io_size;
	uint64_t ios;
	double ns_per_io;     /* wall time */
	double cpu_ns_per_io; /* this thread's CPU time */
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void perf_submit(struct perf_job *job);

static void perf_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct perf_job *job = arg;

	job->completed++;
	if (!job->stop) {
		perf_submit(job);
	}
}

static void perf_submit(struct perf_job *job)
{
	job->lba += job->lba_count;
	if (job->lba + job->lba_count > job->num_sectors) {
		job->lba = 0;
	}
	if (brisk_nvme_ns_cmd_read(job->ns, job->qpair, job->buf, job->lba, job->lba_count,
				   perf_done, job, 0) != 0) {
		fprintf(stderr, "nvme_fake_perf: submit failed\n");
		exit(1);
	}
}

static void perf_run(struct perf_job *job, uint32_t qd, double seconds, struct perf_result *r)
{
	uint64_t hz = brisk_get_ticks_hz(), start, end, deadline, cpu0, cpu1;

	job->completed = 0;
	job->stop = false;
	for (uint32_t i = 0; i < qd; i++) {
		perf_submit(job);
	}
	cpu0 = thread_cpu_ns();
	start = brisk_get_ticks();
	deadline = start + (uint64_t)(seconds * (double)hz);
	do {
		for (int i = 0; i < 64; i++) {
			brisk_nvme_qpair_process_completions(job->qpair, 0);
		}
		end = brisk_get_ticks();
	} while (end < deadline);
	cpu1 = thread_cpu_ns();
	job->stop = true;
	r->ios = job->completed;
	while (brisk_nvme_qpair_get_num_outstanding(job->qpair) != 0) {
		brisk_nvme_qpair_process_completions(job->qpair, 0);
	}
	r->ns_per_io = (double)(end - start) * 1e9 / (double)hz / (double)r->ios;
	r->cpu_ns_per_io = (double)(cpu1 - cpu0) / (double)r->ios;
}

static int perf_setup(struct perf_job *job, struct brisk_nvme_ctrlr **ctrlrp)
{
	struct brisk_nvme_transport_id trid = { 0 };
	struct brisk_nvme_io_qpair_opts qo = { .io_queue_size = 256, .io_queue_requests = 512 };
	struct nvme_fake_params p;

	nvme_fake_transport_register();
	nvme_fake_default_params(&p);
	p.no_data = true;
	p.mdts = 7;
	p.ns_bytes = 1ull << 30;
	if (nvme_fake_dev_create("perf0", &p) == NULL ||
	    brisk_nvme_transport_id_parse(&trid, "trtype:fake traddr:perf0") != 0) {
		return -ENOMEM;
	}
	*ctrlrp = brisk_nvme_connect(&trid, NULL);
	if (*ctrlrp == NULL) {
		return -ENODEV;
	}
	job->ns = brisk_nvme_ctrlr_get_ns(*ctrlrp, 1);
	job->qpair = brisk_nvme_ctrlr_alloc_io_qpair(*ctrlrp, &qo);
	job->buf = brisk_dma_malloc(128 * 1024, 4096, NULL);
	job->num_sectors = brisk_nvme_ns_get_num_sectors(job->ns);
	return job->qpair != NULL && job->buf != NULL ? 0 : -ENOMEM;
}

int main(int argc, char **argv)
{
	static const uint32_t qds[] = { 1, 8, 32, 128 };
	static const uint32_t sizes[] = { 4096, 131072 };
	struct perf_result res[8];
	struct brisk_env_opts env;
	struct brisk_nvme_ctrlr *ctrlr = NULL;
	struct perf_job job = { 0 };
	double seconds = 2.0;
	uint32_t one_qd = 0, one_size = 0;
	int c, n = 0;

	brisk_env_opts_init(&env);
	env.name = "nvme_fake_perf";
	env.mem_size_mb = 64;
	while ((c = getopt(argc, argv, "t:s:q:o:Hh")) != -1) {
		switch (c) {
		case 't': seconds = atof(optarg); break;
		case 'q': one_qd = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'o': one_size = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 's': env.mem_size_mb = strtoull(optarg, NULL, 10); break;
		case 'H': env.no_huge = true; break;
		default:
			printf("Usage: %s [-t SECONDS per case] [-q QD -o BYTES] [-s MB] [-H (no hugepages)]\n",
			       argv[0]);
			return c == 'h' ? 0 : 1;
		}
	}
	if ((one_qd != 0) != (one_size != 0) || one_qd > 255 || one_size % 4096 != 0 ||
	    one_size > 131072) {
		fprintf(stderr, "nvme_fake_perf: -q (1-255) and -o (4 KiB multiple up to 128 KiB) go together\n");
		return 1;
	}
	if (seconds <= 0 || brisk_env_init(&env) != 0 || perf_setup(&job, &ctrlr) != 0) {
		fprintf(stderr, "nvme_fake_perf: set-up failed\n");
		return 1;
	}
	printf("%-6s %-8s %14s %12s %12s %14s\n", "QD", "size", "I/Os", "wall ns/I/O", "CPU ns/I/O",
	       "M IOPS (CPU)");
	for (size_t s = 0; s < 2; s++) {
		for (size_t q = 0; q < 4; q++, n++) {
			res[n].qd = one_qd ? one_qd : qds[q];
			res[n].io_size = one_size ? one_size : sizes[s];
			job.lba_count = res[n].io_size / brisk_nvme_ns_get_sector_size(job.ns);
			perf_run(&job, res[n].qd, seconds, &res[n]);
			printf("%-6u %-8u %14lu %12.1f %12.1f %14.2f\n", res[n].qd, res[n].io_size,
			       (unsigned long)res[n].ios, res[n].ns_per_io, res[n].cpu_ns_per_io,
			       1000.0 / res[n].cpu_ns_per_io);
			if (one_qd != 0) {
				break;
			}
		}
		if (one_qd != 0) {
			n++;
			break;
		}
	}
	printf("{\"benchmark\": \"nvme_fake_perf\", \"results\": [");
	for (int i = 0; i < n; i++) {
		printf("%s{\"qd\": %u, \"io_size\": %u, \"ns_per_io\": %.1f, \"cpu_ns_per_io\": %.1f}",
		       i ? ", " : "", res[i].qd, res[i].io_size, res[i].ns_per_io, res[i].cpu_ns_per_io);
	}
	printf("]}\n");
	brisk_nvme_ctrlr_free_io_qpair(job.qpair);
	brisk_free(job.buf);
	brisk_nvme_detach(ctrlr);
	brisk_env_fini();
	return 0;
}
