/*
 * nvme_nsmgmt: runs a sequence of Namespace Management / Attachment steps on
 * one controller through lib/nvme's public API and checks each result
 * against the one expected, so a QEMU guest test (and the host, with
 * --fake) can assert exactly what a controller supports. One process, so
 * the driver's view after each step is the one under test, not a new
 * bring-up's.
 *
 * Steps (EXP: 0 by default, or an errno name such as EEXIST, ENOTSUP):
 *   list=N,N...         the active namespace list, exactly (list= : none)
 *   create:BLOCKS:FLBAS[=EXP]   prints the new nsid
 *   delete:NSID[=EXP] attach:NSID[=EXP] detach:NSID[=EXP]
 *   io:NSID[=EXP]       write 8 blocks with a pattern, read them back
 *   blocks:NSID=N       the namespace's size in blocks
 *   mgmt=yes|no         whether OACS bit 3 is set
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/nvme.h>

#include "../../../lib/nvme/nvme_fake.h"

#define IO_BLOCKS 8u

struct nsm {
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_qpair *qpair;
	uint8_t *buf;
};

static const struct { const char *name; int err; } g_errnos[] = {
	{ "0", 0 }, { "EEXIST", EEXIST }, { "ENOENT", ENOENT }, { "ENOTSUP", ENOTSUP },
	{ "EINVAL", EINVAL }, { "EIO", EIO }, { "ENOSPC", ENOSPC }, { "ENXIO", ENXIO },
};

/* "EEXIST" -> -EEXIST; 1 when unknown. */
static int parse_expect(const char *s)
{
	for (size_t i = 0; i < sizeof(g_errnos) / sizeof(g_errnos[0]); i++) {
		if (strcmp(s, g_errnos[i].name) == 0) {
			return -g_errnos[i].err;
		}
	}
	return 1;
}

static void attach_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
		      struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_ctrlr_opts *opts)
{
	struct brisk_nvme_ctrlr **out = cb_ctx;

	if (*out == NULL) {
		*out = ctrlr;
	} else {
		brisk_nvme_detach(ctrlr);
	}
}

/* The active list as "1,2" into out. */
static void active_list(struct brisk_nvme_ctrlr *ctrlr, char *out, size_t len)
{
	size_t off = 0;

	out[0] = '\0';
	for (uint32_t nsid = brisk_nvme_ctrlr_get_first_active_ns(ctrlr); nsid != 0 && off < len;
	     nsid = brisk_nvme_ctrlr_get_next_active_ns(ctrlr, nsid)) {
		off += (size_t)snprintf(out + off, len - off, "%s%u", off ? "," : "", nsid);
	}
}

struct io_wait {
	bool done;
	struct brisk_nvme_cpl cpl;
};

static void io_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct io_wait *w = arg;

	w->cpl = *cpl;
	w->done = true;
}

/* One command, polled to completion: 0, its submission errno, or -EIO. */
static int io_one(struct nsm *m, struct brisk_nvme_ns *ns, bool write)
{
	struct io_wait w = { 0 };
	int rc = write ? brisk_nvme_ns_cmd_write(ns, m->qpair, m->buf, 0, IO_BLOCKS, io_cb, &w, 0) :
		 brisk_nvme_ns_cmd_read(ns, m->qpair, m->buf, 0, IO_BLOCKS, io_cb, &w, 0);

	while (rc == 0 && !w.done) {
		if (brisk_nvme_qpair_process_completions(m->qpair, 0) < 0) {
			return -ENXIO;
		}
	}
	if (rc == 0 && brisk_nvme_cpl_is_error(&w.cpl)) {
		printf("nvme_nsmgmt:   I/O failed: %s\n", brisk_nvme_cpl_get_status_string(&w.cpl.status));
		rc = -EIO;
	}
	return rc;
}

static int io_check(struct nsm *m, uint32_t nsid)
{
	struct brisk_nvme_ns *ns = brisk_nvme_ctrlr_get_ns(m->ctrlr, nsid);
	uint32_t len = IO_BLOCKS * 4096u;
	int rc;

	if (ns == NULL) {
		return -ENOENT;
	}
	memset(m->buf, (int)(0xa0 + nsid), len);
	rc = io_one(m, ns, true);
	memset(m->buf, 0, len);
	rc = rc != 0 ? rc : io_one(m, ns, false);
	len = IO_BLOCKS * brisk_nvme_ns_get_sector_size(ns);
	for (uint32_t i = 0; rc == 0 && i < len; i++) {
		if (m->buf[i] != (uint8_t)(0xa0 + nsid)) {
			printf("nvme_nsmgmt:   data differs at byte %u\n", i);
			rc = -EILSEQ;
		}
	}
	return rc;
}

static int do_create(struct nsm *m, const char *arg)
{
	struct brisk_nvme_ns_data nd = { 0 };
	char *end;
	uint32_t nsid = 0;
	int rc;

	nd.nsze = strtoull(arg, &end, 0);
	nd.ncap = nd.nsze;
	if (*end != ':') {
		return -EINVAL;
	}
	nd.flbas = (uint8_t)strtoul(end + 1, NULL, 0);
	rc = brisk_nvme_ctrlr_create_ns(m->ctrlr, &nd, &nsid);
	if (rc == 0) {
		printf("nvme_nsmgmt:   created nsid %u\n", nsid);
	}
	return rc;
}

/* A step returning an errno: create/delete/attach/detach/io. */
static int run_errno_step(struct nsm *m, const char *op, const char *arg)
{
	uint32_t nsid = (uint32_t)strtoul(arg, NULL, 0);

	if (strcmp(op, "create") == 0) {
		return do_create(m, arg);
	} else if (strcmp(op, "delete") == 0) {
		return brisk_nvme_ctrlr_delete_ns(m->ctrlr, nsid);
	} else if (strcmp(op, "attach") == 0) {
		return brisk_nvme_ctrlr_attach_ns(m->ctrlr, nsid);
	} else if (strcmp(op, "detach") == 0) {
		return brisk_nvme_ctrlr_detach_ns(m->ctrlr, nsid);
	} else if (strcmp(op, "io") == 0) {
		return io_check(m, nsid);
	}
	return 1;
}

/* A step comparing a value with text: list, blocks, mgmt. */
static bool run_value_step(struct nsm *m, const char *op, const char *arg, const char *expect,
			   char *got, size_t len)
{
	struct brisk_nvme_ns *ns;

	if (strcmp(op, "list") == 0) {
		active_list(m->ctrlr, got, len);
	} else if (strcmp(op, "blocks") == 0) {
		ns = brisk_nvme_ctrlr_get_ns(m->ctrlr, (uint32_t)strtoul(arg, NULL, 0));
		snprintf(got, len, "%" PRIu64, ns != NULL && brisk_nvme_ns_is_active(ns) ?
			 brisk_nvme_ns_get_num_sectors(ns) : 0);
	} else {
		snprintf(got, len, "%s", brisk_nvme_ctrlr_get_data(m->ctrlr)->oacs &
			 BRISK_NVME_OACS_NS_MANAGE ? "yes" : "no");
	}
	return strcmp(got, expect) == 0;
}

/* "op[:arg][=expect]": true when the result is the expected one. */
static bool run_step(struct nsm *m, char *step)
{
	char *eq = strchr(step, '='), *colon, got[256];
	const char *arg = "", *expect = eq != NULL ? eq + 1 : "0";
	bool ok;
	int rc, want;

	if (eq != NULL) {
		*eq = '\0';
	}
	colon = strchr(step, ':');
	if (colon != NULL) {
		*colon = '\0';
		arg = colon + 1;
	}
	if (strcmp(step, "list") == 0 || strcmp(step, "blocks") == 0 || strcmp(step, "mgmt") == 0) {
		ok = run_value_step(m, step, arg, expect, got, sizeof(got));
	} else {
		want = parse_expect(expect);
		rc = want == 1 ? 1 : run_errno_step(m, step, arg);
		snprintf(got, sizeof(got), "%d (%s)", rc, rc < 0 ? strerror(-rc) : "ok");
		ok = rc != 1 && rc == want;
	}
	printf("nvme_nsmgmt: %s%s%s -> %s, expected %s: %s\n", step, *arg ? " " : "", arg, got,
	       expect, ok ? "ok" : "FAIL");
	return ok;
}

static struct nvme_fake_dev *fake_setup(struct brisk_nvme_transport_id *trid)
{
	struct nvme_fake_params p;

	nvme_fake_transport_register();
	nvme_fake_default_params(&p);
	p.ns_mgmt = true;
	brisk_nvme_transport_id_parse(trid, "trtype:fake traddr:nsmgmt0");
	return nvme_fake_dev_create("nsmgmt0", &p);
}

static int run_steps(const struct brisk_nvme_transport_id *trid, char **steps, int n)
{
	struct nsm m = { 0 };
	int fails = 0;

	if (brisk_nvme_probe(trid, &m.ctrlr, NULL, attach_cb, NULL) != 0 || m.ctrlr == NULL) {
		fprintf(stderr, "nvme_nsmgmt: no NVMe controller attached\n");
		return 1;
	}
	m.qpair = brisk_nvme_ctrlr_alloc_io_qpair(m.ctrlr, NULL);
	m.buf = brisk_dma_zmalloc(IO_BLOCKS * 4096u, 4096, NULL);
	for (int i = 0; m.qpair != NULL && m.buf != NULL && i < n; i++) {
		fails += run_step(&m, steps[i]) ? 0 : 1;
	}
	if (m.qpair == NULL || m.buf == NULL) {
		fprintf(stderr, "nvme_nsmgmt: no qpair or no memory\n");
		fails++;
	}
	brisk_free(m.buf);
	if (m.qpair != NULL) {
		brisk_nvme_ctrlr_free_io_qpair(m.qpair);
	}
	brisk_nvme_detach(m.ctrlr);
	printf("nvme_nsmgmt: %s\n", fails ? "FAIL" : "PASS");
	return fails ? 1 : 0;
}

static void usage(const char *prog)
{
	printf("Usage: %s (-r TRID | --fake) [--no-huge] [-s MB] STEP...\n"
	       "Steps (EXP: 0 or an errno name, default 0):\n"
	       "  create:BLOCKS:FLBAS[=EXP] delete:NSID[=EXP] attach:NSID[=EXP] detach:NSID[=EXP]\n"
	       "  io:NSID[=EXP]  write and read back 8 blocks\n"
	       "  list=N,N...    the active namespace list (list= : none)\n"
	       "  blocks:NSID=N  the namespace's size in blocks (0: not active)\n"
	       "  mgmt=yes|no    OACS bit 3\n", prog);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "trid", required_argument, NULL, 'r' }, { "fake", no_argument, NULL, 'f' },
		{ "no-huge", no_argument, NULL, 'H' }, { "mem-size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct brisk_nvme_transport_id trid = { .trtype = BRISK_NVME_TRANSPORT_PCIE };
	struct brisk_env_opts env;
	struct nvme_fake_dev *fake = NULL;
	bool has_trid = false, use_fake = false;
	int c, rc;

	brisk_env_opts_init(&env);
	env.name = "nvme_nsmgmt";
	env.mem_size_mb = 64;
	while ((c = getopt_long(argc, argv, "r:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (brisk_nvme_transport_id_parse(&trid, optarg) != 0) {
				fprintf(stderr, "nvme_nsmgmt: -r: bad transport ID '%s'\n", optarg);
				return 1;
			}
			has_trid = true;
			break;
		case 'f': use_fake = true; break;
		case 'H': env.no_huge = true; break;
		case 's': env.mem_size_mb = strtoull(optarg, NULL, 0); break;
		case 'h': usage(argv[0]); return 0;
		default: usage(argv[0]); return 1;
		}
	}
	if (has_trid == use_fake || optind == argc) {
		usage(argv[0]);
		return 1;
	}
	if (brisk_env_init(&env) != 0) {
		fprintf(stderr, "nvme_nsmgmt: environment initialization failed\n");
		return 1;
	}
	if (use_fake && (fake = fake_setup(&trid)) == NULL) {
		rc = 1;
	} else {
		rc = run_steps(&trid, argv + optind, argc - optind);
	}
	nvme_fake_dev_destroy(fake);
	brisk_env_fini();
	return rc;
}
