/*
 * nvme_resv: NVMe reservations seen from Brisk's host side (lib/nvme over
 * TCP, raw I/O commands). Two controllers in one process are two hosts:
 * each connects with its own uuid host NQN (lib/nvme sends its UUID as the
 * host ID; without one, both would share the process's), and the two
 * connect through two listeners of one subsystem (one transport ID may be
 * attached once). Prints one line per check, exits non-zero on a failure.
 *   nvme_resv -r TRID_A -r TRID_B        register, Write Exclusive, conflict,
 *                                        report, preempt (PTPL on)
 *   nvme_resv -r TRID_A --after-restart  the preempt's result came back
 *                                        from the ptpl_file; then clear
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/nvme.h>
#include <brisk/ticks.h>
#include <brisk/uuid.h>

#define RESV_NSID 1
#define RESV_BUF 4096
#define RESV_WAIT_US (10u * 1000 * 1000)
#define KEY_A 0xA1A1ull
#define KEY_B 0xB1B1ull
#define KEY_C 0xC1C1ull

struct host {
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_qpair *qpair;
	uint8_t *buf;
};

struct wait {
	bool done;
	struct brisk_nvme_cpl cpl;
};

static int g_failed;

static void check(bool cond, const char *what)
{
	printf("%s: %s\n", cond ? "ok" : "FAIL", what);
	g_failed += !cond;
}

static void cmd_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct wait *w = arg;

	w->cpl = *cpl;
	w->done = true;
}

/* Runs one raw I/O command; returns its status code (SCT in bits 8+), or
 * -errno when it could not run. */
static int run(struct host *h, uint8_t opc, uint32_t cdw10, uint32_t cdw11, uint32_t cdw12, uint32_t len)
{
	struct brisk_nvme_cmd cmd = { .opc = opc, .nsid = RESV_NSID, .cdw10 = cdw10, .cdw11 = cdw11, .cdw12 = cdw12 };
	struct wait w = { 0 };
	uint64_t end = brisk_get_time_us() + RESV_WAIT_US;
	int rc = brisk_nvme_ctrlr_cmd_io_raw(h->ctrlr, h->qpair, &cmd, h->buf, len, cmd_cb, &w);

	while (rc == 0 && !w.done) {
		if (brisk_nvme_qpair_process_completions(h->qpair, 0) < 0 || brisk_get_time_us() > end) {
			return -ETIMEDOUT;
		}
		brisk_nvme_ctrlr_process_admin_completions(h->ctrlr);
	}
	return rc != 0 ? rc : (w.cpl.status.sct << 8) | w.cpl.status.sc;
}

static int keys(struct host *h, uint8_t opc, uint32_t cdw10, uint64_t k1, uint64_t k2)
{
	memcpy(h->buf, &k1, 8);
	memcpy(h->buf + 8, &k2, 8);
	return run(h, opc, cdw10, 0, 0, opc == BRISK_NVME_OPC_RESERVATION_RELEASE ? 8 : 16);
}

static int rw(struct host *h, uint8_t opc)
{
	memset(h->buf, 0x5a, 512);
	return run(h, opc, 0, 0, 0, 512); /* LBA 0, one 512-byte block */
}

/* Report (EDS=1): type, number of registrants, and the holder's key. */
static int report(struct host *h, uint8_t *rtype, uint16_t *regctl, uint64_t *holder_key)
{
	int sc = run(h, BRISK_NVME_OPC_RESERVATION_REPORT, RESV_BUF / 4 - 1, 1, 0, RESV_BUF);

	*rtype = h->buf[4];
	memcpy(regctl, h->buf + 5, 2);
	*holder_key = 0;
	for (uint16_t i = 0; sc == 0 && i < *regctl && i < 60; i++) {
		if (h->buf[64 + 64 * i + 2] & 1) {
			memcpy(holder_key, h->buf + 64 + 64 * i + 8, 8);
		}
	}
	return sc;
}

static void scenario(struct host *a, struct host *b)
{
	uint8_t rtype;
	uint16_t n;
	uint64_t hk;

	check(keys(a, BRISK_NVME_OPC_RESERVATION_REGISTER, 3u << 30, 0, KEY_A) == 0, "host A registers, PTPL on");
	check(keys(b, BRISK_NVME_OPC_RESERVATION_REGISTER, 0, 0, KEY_B) == 0, "host B registers");
	check(keys(a, BRISK_NVME_OPC_RESERVATION_ACQUIRE, 1u << 8, KEY_A, 0) == 0, "host A acquires Write Exclusive");
	check(rw(b, BRISK_NVME_OPC_WRITE) == BRISK_NVME_SC_RESERVATION_CONFLICT,
	      "host B's write: Reservation Conflict");
	check(rw(b, BRISK_NVME_OPC_READ) == 0, "host B's read passes");
	check(rw(a, BRISK_NVME_OPC_WRITE) == 0, "host A (holder) writes");
	check(report(b, &rtype, &n, &hk) == 0 && rtype == 1 && n == 2 && hk == KEY_A,
	      "report: Write Exclusive, 2 registrants, A holds it");
	check(keys(b, BRISK_NVME_OPC_RESERVATION_ACQUIRE, 1u | (1u << 8), KEY_B, KEY_A) == 0, "host B preempts host A");
	check(rw(a, BRISK_NVME_OPC_WRITE) == BRISK_NVME_SC_RESERVATION_CONFLICT, "host A's write now conflicts");
	check(rw(b, BRISK_NVME_OPC_WRITE) == 0, "host B (holder) writes");
	check(report(a, &rtype, &n, &hk) == 0 && rtype == 1 && n == 1 && hk == KEY_B,
	      "report: 1 registrant (A was preempted), B holds it");
}

/* A new process is a new host: it sees B's reservation from the file. */
static void after_restart(struct host *c)
{
	uint8_t rtype;
	uint16_t n;
	uint64_t hk;

	check(report(c, &rtype, &n, &hk) == 0 && rtype == 1 && n == 1 && hk == KEY_B,
	      "after restart: B's Write Exclusive and registration came back");
	check(rw(c, BRISK_NVME_OPC_WRITE) == BRISK_NVME_SC_RESERVATION_CONFLICT,
	      "after restart: a new host's write conflicts");
	check(keys(c, BRISK_NVME_OPC_RESERVATION_REGISTER, 0, 0, KEY_C) == 0 &&
		      keys(c, BRISK_NVME_OPC_RESERVATION_RELEASE, 1, KEY_C, 0) == 0,
	      "a new host registers and clears");
	check(report(c, &rtype, &n, &hk) == 0 && rtype == 0 && n == 0 && rw(c, BRISK_NVME_OPC_WRITE) == 0,
	      "after clear: no reservation, writes pass");
}

static int host_open(struct host *h, const char *trid_str)
{
	struct brisk_nvme_transport_id trid;
	struct brisk_nvme_ctrlr_opts opts;
	struct brisk_uuid id;
	char uuid[40];

	brisk_nvme_ctrlr_get_default_opts(&opts);
	brisk_uuid_generate(&id);
	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &id);
	snprintf(opts.hostnqn, sizeof(opts.hostnqn), "nqn.2014-08.org.nvmexpress:uuid:%s", uuid);
	if (brisk_nvme_transport_id_parse(&trid, trid_str) != 0 ||
	    (h->ctrlr = brisk_nvme_connect(&trid, &opts)) == NULL) {
		fprintf(stderr, "nvme_resv: cannot connect to '%s'\n", trid_str);
		return -ENODEV;
	}
	h->qpair = brisk_nvme_ctrlr_alloc_io_qpair(h->ctrlr, NULL);
	h->buf = brisk_dma_zmalloc(RESV_BUF, 4096, NULL);
	return h->qpair != NULL && h->buf != NULL ? 0 : -ENOMEM;
}

static void host_close(struct host *h)
{
	brisk_free(h->buf);
	if (h->qpair != NULL) {
		brisk_nvme_ctrlr_free_io_qpair(h->qpair);
	}
	if (h->ctrlr != NULL) {
		brisk_nvme_detach(h->ctrlr);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = { { "after-restart", no_argument, NULL, 'R' }, { NULL, 0, NULL, 0 } };
	struct brisk_env_opts env;
	struct host h[2] = { 0 };
	const char *trids[2] = { NULL, NULL };
	int n = 0, c, rc = 0;
	bool after = false;

	while ((c = getopt_long(argc, argv, "r:", longopts, NULL)) != -1) {
		if (c == 'r' && n < 2) {
			trids[n++] = optarg;
		} else if (c == 'R') {
			after = true;
		} else {
			fprintf(stderr, "usage: %s -r TRID_A [-r TRID_B] [--after-restart]\n", argv[0]);
			return 1;
		}
	}
	if (n != (after ? 1 : 2)) {
		fprintf(stderr, "nvme_resv: give two transport IDs, or one with --after-restart\n");
		return 1;
	}
	brisk_env_opts_init(&env);
	env.name = "nvme_resv";
	env.mem_size_mb = 64;
	env.no_huge = true;
	if (brisk_env_init(&env) != 0) {
		fprintf(stderr, "nvme_resv: environment initialization failed\n");
		return 1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		rc = host_open(&h[i], trids[i]);
	}
	if (rc == 0) {
		after ? after_restart(&h[0]) : scenario(&h[0], &h[1]);
	}
	for (int i = 0; i < n; i++) {
		host_close(&h[i]);
	}
	brisk_env_fini();
	printf("nvme_resv: %s\n", rc == 0 && g_failed == 0 ? "PASS" : "FAIL");
	return rc == 0 && g_failed == 0 ? 0 : 1;
}
