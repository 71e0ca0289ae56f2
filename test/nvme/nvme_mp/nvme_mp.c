/*
 * nvme_mp: lib/nvme's multi-process check, run inside the test guest. The
 * primary (--primary) attaches a controller, shares it and does verified
 * I/O on its LBA range while it serves secondaries; each secondary
 * (--secondary, same -i shm id) connects to the primary's controller, gets
 * an I/O qpair from it and does verified I/O on a range of its own. Verified
 * I/O: QD 8, each slot writes a block with a pattern of (seed, LBA) and
 * reads it back and compares, over and over (--verify-only: reads and
 * compares what another run wrote). Every second a progress line;
 * at the end "nvme_mp: <role> PASS" or "nvme_mp: <role> FAIL <why>".
 * --bad-requests sends malformed requests to the primary and checks its answers.
 * --reset-file (primary): when the file appears, the primary resets the
 * controller once. Commands the reset aborted (ABORTED - SQ DELETION without
 * DNR) are resubmitted: the primary's own, and a secondary's, whose qpair
 * lib/nvme re-creates by itself.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/nvme.h>
#include <brisk/ticks.h>

#include "../../../lib/nvme/nvme_mp.h"

#define MP_QD 8u

struct mp_opts {
	struct brisk_nvme_transport_id trid;
	bool primary;
	bool secondary;
	bool verify_only;   /* read and compare what an earlier run wrote */
	bool bad_requests;  /* send malformed requests on the channel instead */
	int shm_id;
	uint64_t lba;
	uint64_t count;
	uint64_t seconds;
	uint64_t seed;
	uint64_t mem_mb;
	const char *stop_file;
	const char *reset_file;
};

struct mp_slot {
	struct mp_run *run;
	uint8_t *wbuf;
	uint8_t *rbuf;
	uint64_t lba;
	bool reading;
};

struct mp_run {
	const struct mp_opts *o;
	const char *role;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;
	struct brisk_nvme_qpair *qpair;
	struct mp_slot slots[MP_QD];
	uint32_t bs;
	uint64_t next;
	uint64_t verified;
	uint64_t errors;
	uint32_t outstanding;
	uint64_t resubmitted; /* aborted by the primary's reset, sent again */
	bool reset_done;
	bool stop;
};

static void pattern_fill(uint8_t *buf, uint32_t len, uint64_t lba, uint64_t seed)
{
	uint64_t *w = (uint64_t *)buf;

	for (uint32_t i = 0; i < len / 8; i++) {
		w[i] = (lba * 0x9e3779b97f4a7c15ull) ^ (seed << 40) ^ i;
	}
}

static void slot_start(struct mp_slot *s);

static void slot_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct mp_slot *s = arg;
	struct mp_run *r = s->run;

	r->outstanding--;
	/* A secondary hears of the primary's reset only through these aborts. */
	if ((r->reset_done || !r->o->primary) && cpl->status.sct == BRISK_NVME_SCT_GENERIC &&
	    cpl->status.sc == BRISK_NVME_SC_ABORTED_SQ_DELETION && !cpl->status.dnr && !r->stop) {
		r->resubmitted++; /* a reset aborted it: the driver says try again */
		slot_start(s);
		return;
	}
	if (brisk_nvme_cpl_is_error(cpl)) {
		r->errors++;
		printf("nvme_mp: %s: I/O error at LBA %" PRIu64 ": %s\n", r->role, s->lba,
		       brisk_nvme_cpl_get_status_string(&cpl->status));
		return;
	}
	if (!s->reading) {
		s->reading = true;
		memset(s->rbuf, 0, r->bs);
		if (brisk_nvme_ns_cmd_read(r->ns, r->qpair, s->rbuf, s->lba, 1, slot_done, s, 0) == 0) {
			r->outstanding++;
		} else {
			r->errors++;
		}
		return;
	}
	if (memcmp(s->wbuf, s->rbuf, r->bs) != 0) {
		r->errors++;
		printf("nvme_mp: %s: data mismatch at LBA %" PRIu64 "\n", r->role, s->lba);
	} else {
		r->verified++;
	}
	if (!r->stop) {
		slot_start(s);
	}
}

static void slot_start(struct mp_slot *s)
{
	struct mp_run *r = s->run;

	s->lba = r->o->lba + (r->next++ % r->o->count);
	s->reading = r->o->verify_only;
	pattern_fill(s->wbuf, r->bs, s->lba, r->o->seed);
	if (s->reading) {
		memset(s->rbuf, 0, r->bs);
	}
	if ((s->reading ? brisk_nvme_ns_cmd_read(r->ns, r->qpair, s->rbuf, s->lba, 1, slot_done, s, 0) :
	     brisk_nvme_ns_cmd_write(r->ns, r->qpair, s->wbuf, s->lba, 1, slot_done, s, 0)) == 0) {
		r->outstanding++;
	} else {
		r->errors++;
	}
}

static bool run_should_stop(struct mp_run *r, uint64_t end)
{
	if (brisk_get_time_us() >= end || r->errors != 0 || brisk_nvme_ctrlr_is_failed(r->ctrlr)) {
		return true;
	}
	return r->o->stop_file != NULL && access(r->o->stop_file, F_OK) == 0;
}

static void run_progress(struct mp_run *r)
{
	printf("nvme_mp: %s pid %d: %" PRIu64 " verified, %" PRIu64 " errors", r->role, (int)getpid(),
	       r->verified, r->errors);
	if (r->resubmitted != 0) {
		printf(", %" PRIu64 " resubmitted after the reset", r->resubmitted);
	}
	if (r->o->primary) {
		printf(", %u secondary qpairs", brisk_nvme_ctrlr_get_num_secondary_qpairs(r->ctrlr));
	}
	printf("\n");
	fflush(stdout);
}

/* --reset-file: the primary resets the controller once, when asked. */
static void run_maybe_reset(struct mp_run *r)
{
	int rc;

	if (r->reset_done || r->o->reset_file == NULL || access(r->o->reset_file, F_OK) != 0) {
		return;
	}
	r->reset_done = true;
	rc = brisk_nvme_ctrlr_reset(r->ctrlr);
	printf("nvme_mp: %s reset the controller: %s\n", r->role, rc == 0 ? "done" : strerror(-rc));
	fflush(stdout);
	if (rc != 0) {
		r->errors++;
	}
}

static void run_io(struct mp_run *r)
{
	uint64_t end = brisk_get_time_us() + r->o->seconds * 1000000ull;
	uint64_t next_print = 0, drain_end;

	for (uint32_t i = 0; i < MP_QD; i++) {
		slot_start(&r->slots[i]);
	}
	while (!run_should_stop(r, end)) {
		brisk_nvme_qpair_process_completions(r->qpair, 0);
		brisk_nvme_ctrlr_process_admin_completions(r->ctrlr);
		run_maybe_reset(r);
		if (brisk_get_time_us() >= next_print) {
			next_print = brisk_get_time_us() + 1000000;
			run_progress(r);
		}
	}
	r->stop = true;
	drain_end = brisk_get_time_us() + 10000000;
	while (r->outstanding != 0 && brisk_get_time_us() < drain_end) {
		brisk_nvme_qpair_process_completions(r->qpair, 0);
		brisk_nvme_ctrlr_process_admin_completions(r->ctrlr);
	}
	run_progress(r);
}

static int run_setup(struct mp_run *r)
{
	uint32_t nsid;

	r->ctrlr = brisk_nvme_connect(&r->o->trid, NULL);
	if (r->ctrlr == NULL) {
		return -ENODEV;
	}
	if (r->o->primary && brisk_nvme_ctrlr_share(r->ctrlr) != 0) {
		return -EIO;
	}
	if (r->o->secondary && !brisk_nvme_ctrlr_is_secondary(r->ctrlr)) {
		return -EPROTO;
	}
	nsid = brisk_nvme_ctrlr_get_first_active_ns(r->ctrlr);
	r->ns = brisk_nvme_ctrlr_get_ns(r->ctrlr, nsid);
	if (r->ns == NULL) {
		return -ENODEV;
	}
	r->bs = brisk_nvme_ns_get_sector_size(r->ns);
	if (r->o->lba + r->o->count > brisk_nvme_ns_get_num_sectors(r->ns)) {
		fprintf(stderr, "nvme_mp: --lba/--count pass the namespace's end\n");
		return -EINVAL;
	}
	r->qpair = brisk_nvme_ctrlr_alloc_io_qpair(r->ctrlr, NULL);
	for (uint32_t i = 0; i < MP_QD; i++) {
		r->slots[i].run = r;
		r->slots[i].wbuf = brisk_dma_zmalloc(r->bs, 4096, NULL);
		r->slots[i].rbuf = brisk_dma_zmalloc(r->bs, 4096, NULL);
		if (r->slots[i].wbuf == NULL || r->slots[i].rbuf == NULL) {
			return -ENOMEM;
		}
	}
	return r->qpair != NULL ? 0 : -ENOMEM;
}

static void run_teardown(struct mp_run *r)
{
	for (uint32_t i = 0; i < MP_QD; i++) {
		brisk_free(r->slots[i].wbuf);
		brisk_free(r->slots[i].rbuf);
	}
	if (r->qpair != NULL) {
		brisk_nvme_ctrlr_free_io_qpair(r->qpair);
	}
	if (r->ctrlr != NULL) {
		brisk_nvme_detach(r->ctrlr);
	}
}

/* ---- --bad-requests: the primary's checks of what a secondary sends ---- */

static int bad_call(struct nvme_mp_channel *ch, struct nvme_mp_msg *m)
{
	uint64_t end = brisk_get_time_us() + 10000000;
	struct nvme_mp_msg *slot;
	int rc = nvme_mp_channel_send(ch, m, &slot);

	if (rc != 0) {
		return rc;
	}
	while ((rc = nvme_mp_channel_result(ch, slot, m)) == -EAGAIN && brisk_get_time_us() < end) {
	}
	return rc == 0 ? m->rc : -ETIMEDOUT;
}

static int bad_expect(struct nvme_mp_channel *ch, const char *what, struct nvme_mp_msg m, int want)
{
	int rc = bad_call(ch, &m);

	printf("nvme_mp: bad request %s: %d (%s), want %d: %s\n", what, rc, strerror(-rc), want,
	       rc == want ? "ok" : "WRONG");
	return rc == want ? 0 : 1;
}

/* Admin commands that would change the controller under the primary, and
 * payloads that are not shared DMA memory, are refused by the primary. */
static int bad_admin_requests(struct nvme_mp_channel *ch)
{
	static const uint8_t refused[] = { BRISK_NVME_OPC_CREATE_IO_SQ,  BRISK_NVME_OPC_DELETE_IO_CQ,
					   BRISK_NVME_OPC_FORMAT_NVM,    BRISK_NVME_OPC_NS_MANAGEMENT,
					   BRISK_NVME_OPC_NS_ATTACHMENT, BRISK_NVME_OPC_ASYNC_EVENT_REQUEST };
	struct nvme_mp_msg m = { .op = NVME_MP_OP_ADMIN };
	uint64_t local = 0;
	int bad = 0;

	for (size_t i = 0; i < sizeof(refused); i++) {
		m.cmd.opc = refused[i];
		bad += bad_expect(ch, "admin: refused opcode", m, -EPERM);
	}
	m.cmd.opc = BRISK_NVME_OPC_SET_FEATURES;
	m.cmd.cdw10 = BRISK_NVME_FEAT_NUMBER_OF_QUEUES;
	bad += bad_expect(ch, "admin: Set Features number of queues", m, -EPERM);
	m.cmd.opc = BRISK_NVME_OPC_ABORT;
	m.cmd.cdw10 = 1; /* the primary's queue 1 */
	bad += bad_expect(ch, "admin: abort on the primary's queue", m, -EPERM);
	m.cmd.opc = BRISK_NVME_OPC_IDENTIFY;
	m.cmd.cdw10 = 1;
	m.buf = (uint64_t)(uintptr_t)&local; /* stack, not DMA memory */
	m.len = 4096;
	bad += bad_expect(ch, "admin: Identify into non-DMA memory", m, -EINVAL);
	m.buf = 0;
	bad += bad_expect(ch, "admin: a length without a buffer", m, -EINVAL);
	return bad;
}

static int run_bad_requests(const struct mp_opts *o)
{
	struct nvme_mp_channel ch;
	int bad = 0;

	if (nvme_mp_channel_lookup(&ch, o->trid.traddr) != 0) {
		printf("nvme_mp: no channel for %s\n", o->trid.traddr);
		return 1;
	}
	bad += bad_expect(&ch, "nop", (struct nvme_mp_msg) { .op = NVME_MP_OP_NOP }, 0);
	bad += bad_expect(&ch, "unknown op", (struct nvme_mp_msg) { .op = 99 }, -EINVAL);
	bad += bad_expect(&ch, "queue of 1 entry", (struct nvme_mp_msg) {
		.op = NVME_MP_OP_CREATE_QPAIR, .num_entries = 1, .sq_iova = 0x1000, .cq_iova = 0x2000 }, -EINVAL);
	bad += bad_expect(&ch, "queue of 2^20 entries", (struct nvme_mp_msg) {
		.op = NVME_MP_OP_CREATE_QPAIR, .num_entries = 1u << 20, .sq_iova = 0x1000, .cq_iova = 0x2000 }, -EINVAL);
	bad += bad_expect(&ch, "unaligned SQ", (struct nvme_mp_msg) {
		.op = NVME_MP_OP_CREATE_QPAIR, .num_entries = 16, .sq_iova = 0x1008, .cq_iova = 0x2000 }, -EINVAL);
	bad += bad_expect(&ch, "no CQ address", (struct nvme_mp_msg) {
		.op = NVME_MP_OP_CREATE_QPAIR, .num_entries = 16, .sq_iova = 0x1000 }, -EINVAL);
	bad += bad_expect(&ch, "delete the primary's queue 1", (struct nvme_mp_msg) {
		.op = NVME_MP_OP_DELETE_QPAIR, .qid = 1 }, -EPERM);
	bad += bad_expect(&ch, "delete queue 0", (struct nvme_mp_msg) {
		.op = NVME_MP_OP_DELETE_QPAIR, .qid = 0 }, -EPERM);
	bad += bad_expect(&ch, "delete queue 70000", (struct nvme_mp_msg) {
		.op = NVME_MP_OP_DELETE_QPAIR, .qid = 70000 }, -EPERM);
	bad += bad_expect(&ch, "re-create the primary's queue 1",
			  (struct nvme_mp_msg){ .op = NVME_MP_OP_RECREATE_QPAIR,
						.qid = 1,
						.num_entries = 16,
						.sq_iova = 0x1000,
						.cq_iova = 0x2000 },
			  -EPERM);
	bad += bad_admin_requests(&ch);
	nvme_mp_channel_destroy(&ch);
	return bad;
}

static void usage(const char *prog)
{
	printf("Usage: %s --primary|--secondary -i SHM_ID -r TRID --lba L --count N\n"
	       "          [--seconds S] [--stop-file FILE] [--seed X] [--verify-only] [-s MB]\n"
	       "Verified I/O on LBAs L..L+N-1 of the first namespace for S seconds (default 10)\n"
	       "or until FILE exists. The primary shares the controller with secondaries of\n"
	       "the same shm id and serves them while it runs. --verify-only reads and compares\n"
	       "what a run with the same --seed wrote, without writing. --bad-requests (with\n"
	       "--secondary) sends malformed requests to the primary and checks its answers.\n"
	       "--reset-file FILE (with --primary) resets the controller once FILE exists.\n", prog);
}

static int parse_u64(const char *what, const char *s, uint64_t *v)
{
	char *end;

	*v = strtoull(s, &end, 0);
	if (*s == '\0' || *end != '\0') {
		fprintf(stderr, "nvme_mp: %s: '%s' is not a number\n", what, s);
		return -EINVAL;
	}
	return 0;
}

static int parse_check(const struct mp_opts *o)
{
	if (o->primary == o->secondary) {
		fprintf(stderr, "nvme_mp: give exactly one of --primary and --secondary\n");
		return -EINVAL;
	}
	if (o->shm_id < 0 || o->trid.traddr[0] == '\0' || o->count == 0) {
		fprintf(stderr, "nvme_mp: -i SHM_ID, -r TRID and --count N >= 1 are needed\n");
		return -EINVAL;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct mp_opts *o)
{
	static const struct option longopts[] = {
		{ "primary", no_argument, NULL, 'P' }, { "secondary", no_argument, NULL, 'S' },
		{ "shm-id", required_argument, NULL, 'i' }, { "trid", required_argument, NULL, 'r' },
		{ "lba", required_argument, NULL, 'l' }, { "count", required_argument, NULL, 'c' },
		{ "seconds", required_argument, NULL, 't' }, { "seed", required_argument, NULL, 'e' },
		{ "stop-file", required_argument, NULL, 'f' }, { "help", no_argument, NULL, 'h' },
		{ "mem-size", required_argument, NULL, 's' },
		{ "verify-only", no_argument, NULL, 'v' },
		{ "bad-requests", no_argument, NULL, 'B' },
		{ "reset-file", required_argument, NULL, 'R' }, { NULL, 0, NULL, 0 },
	};
	uint64_t v = 0;
	int c, rc = 0;

	o->shm_id = -1;
	o->seconds = 10;
	o->mem_mb = 64;
	while (rc == 0 && (c = getopt_long(argc, argv, "i:r:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P': o->primary = true; break;
		case 'S': o->secondary = true; break;
		case 'i': rc = parse_u64("-i", optarg, &v); o->shm_id = v > 65535 ? -1 : (int)v; break;
		case 'r': rc = brisk_nvme_transport_id_parse(&o->trid, optarg); break;
		case 'l': rc = parse_u64("--lba", optarg, &o->lba); break;
		case 'c': rc = parse_u64("--count", optarg, &o->count); break;
		case 't': rc = parse_u64("--seconds", optarg, &o->seconds); break;
		case 'e': rc = parse_u64("--seed", optarg, &o->seed); break;
		case 's': rc = parse_u64("-s", optarg, &o->mem_mb); break;
		case 'f': o->stop_file = optarg; break;
		case 'R': o->reset_file = optarg; break;
		case 'v': o->verify_only = true; break;
		case 'B': o->bad_requests = true; break;
		case 'h': usage(argv[0]); exit(0);
		default: usage(argv[0]); return -EINVAL;
		}
	}
	return rc != 0 ? rc : parse_check(o);
}

int main(int argc, char **argv)
{
	struct brisk_env_opts env;
	struct mp_opts o = { 0 };
	struct mp_run r = { .o = &o };
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		return 1;
	}
	r.role = o.primary ? "primary" : "secondary";
	brisk_env_opts_init(&env);
	env.name = "nvme_mp";
	env.mem_size_mb = o.mem_mb;
	env.shm_id = o.shm_id;
	env.proc_type = o.primary ? BRISK_PROC_PRIMARY : BRISK_PROC_SECONDARY;
	if (brisk_env_init(&env) != 0) {
		printf("nvme_mp: %s FAIL environment\n", r.role);
		return 1;
	}
	if (o.secondary && o.bad_requests) {
		rc = run_bad_requests(&o);
		brisk_env_fini();
		printf("nvme_mp: bad requests %s\n", rc == 0 ? "PASS" : "FAIL");
		return rc == 0 ? 0 : 1;
	}
	rc = run_setup(&r);
	if (rc == 0) {
		printf("nvme_mp: %s ready\n", r.role);
		fflush(stdout);
		run_io(&r);
	}
	run_teardown(&r);
	brisk_env_fini();
	if (rc != 0 || r.errors != 0 || r.verified == 0) {
		printf("nvme_mp: %s FAIL %s\n", r.role, rc != 0 ? strerror(-rc) : "I/O");
		return 1;
	}
	printf("nvme_mp: %s PASS %" PRIu64 " verified\n", r.role, r.verified);
	return 0;
}
