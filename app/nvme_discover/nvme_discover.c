/*
 * nvme_discover: connects to an NVMe over Fabrics discovery controller and
 * prints its discovery log page (70h) the way `nvme discover` prints it.
 *
 *   nvme_discover -r 'trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420'
 *
 * subnqn defaults to the well-known discovery NQN. The log is read as the
 * specification asks: header first (NUMREC), then the entries, then the
 * header again; a generation counter that moved means the log changed
 * while being read, and it is read again (up to 3 times).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/nvme.h>
#include <brisk/nvmf_spec.h>

#define DISC_MAX_RECORDS 256u
#define DISC_DEFAULT_MEM_MB 64
#define DISC_TRIES 3

struct disc_opts {
	struct brisk_nvme_transport_id trid;
	bool no_huge;
	uint64_t mem_mb;
};

struct disc_wait {
	bool done;
	struct brisk_nvme_cpl cpl;
};

static void usage(const char *prog)
{
	printf("Usage: %s -r TRID [--no-huge] [-s MB]\n"
	       "Prints the discovery log of an NVMe over Fabrics discovery controller.\n"
	       "  -r, --trid TRID   e.g. 'trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420'\n"
	       "                    (subnqn defaults to %s)\n"
	       "      --no-huge     ordinary pages instead of hugepages\n"
	       "  -s, --mem-size MB memory to reserve (default %d)\n"
	       "  -h, --help        this text\n", prog, BRISK_NVMF_DISCOVERY_NQN, DISC_DEFAULT_MEM_MB);
}

static int parse_trid(const char *s, struct brisk_nvme_transport_id *trid)
{
	if (brisk_nvme_transport_id_parse(trid, s) != 0) {
		fprintf(stderr, "nvme_discover: -r: cannot parse transport ID '%s'\n", s);
		return -EINVAL;
	}
	if (trid->trtype != BRISK_NVME_TRANSPORT_TCP || trid->traddr[0] == '\0' ||
	    trid->trsvcid[0] == '\0') {
		fprintf(stderr, "nvme_discover: -r: needs trtype:TCP, traddr and trsvcid\n");
		return -EINVAL;
	}
	if (trid->subnqn[0] == '\0') {
		snprintf(trid->subnqn, sizeof(trid->subnqn), "%s", BRISK_NVMF_DISCOVERY_NQN);
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct disc_opts *o)
{
	static const struct option longopts[] = {
		{ "trid", required_argument, NULL, 'r' }, { "no-huge", no_argument, NULL, 'H' },
		{ "mem-size", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool has_trid = false;
	char *end;
	int c;

	o->mem_mb = DISC_DEFAULT_MEM_MB;
	while ((c = getopt_long(argc, argv, "r:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_trid(optarg, &o->trid) != 0) {
				return -EINVAL;
			}
			has_trid = true;
			break;
		case 'H': o->no_huge = true; break;
		case 's':
			o->mem_mb = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || o->mem_mb == 0) {
				fprintf(stderr, "nvme_discover: -s: '%s' is not a size in MB\n", optarg);
				return -EINVAL;
			}
			break;
		case 'h': usage(argv[0]); exit(0);
		default: usage(argv[0]); return -EINVAL;
		}
	}
	if (!has_trid) {
		fprintf(stderr, "nvme_discover: -r TRID is needed\n");
		return -EINVAL;
	}
	return 0;
}

/* ---- Reading the log ---- */

static void disc_wait_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct disc_wait *w = arg;

	w->cpl = *cpl;
	w->done = true;
}

static int read_log(struct brisk_nvme_ctrlr *ctrlr, void *buf, uint32_t len, uint64_t offset)
{
	struct disc_wait w = { 0 };
	int rc = brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, BRISK_NVME_LOG_DISCOVERY, 0, buf, len, offset,
						   disc_wait_cb, &w);

	while (rc == 0 && !w.done) {
		if (brisk_nvme_ctrlr_process_admin_completions(ctrlr) < 0) {
			return -ENXIO;
		}
	}
	if (rc == 0 && brisk_nvme_cpl_is_error(&w.cpl)) {
		fprintf(stderr, "nvme_discover: Get Log Page (discovery) failed: %s\n",
			brisk_nvme_cpl_get_status_string(&w.cpl.status));
		return -EIO;
	}
	return rc;
}

/* Header, entries, header again with the same generation counter. */
static int read_discovery_log(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvmf_discovery_log_header *hdr,
			      struct brisk_nvmf_discovery_log_entry *entries, uint64_t *count)
{
	uint64_t genctr;
	int rc;

	for (int i = 0; i < DISC_TRIES; i++) {
		rc = read_log(ctrlr, hdr, sizeof(*hdr), 0);
		if (rc != 0) {
			return rc;
		}
		genctr = hdr->genctr;
		*count = hdr->numrec < DISC_MAX_RECORDS ? hdr->numrec : DISC_MAX_RECORDS;
		rc = *count == 0 ? 0 : read_log(ctrlr, entries, (uint32_t)(*count * sizeof(*entries)),
						 sizeof(*hdr));
		rc = rc != 0 ? rc : read_log(ctrlr, hdr, sizeof(*hdr), 0);
		if (rc != 0 || hdr->genctr == genctr) {
			return rc;
		}
	}
	fprintf(stderr, "nvme_discover: the discovery log kept changing while being read\n");
	return -EAGAIN;
}

/* ---- Printing, as nvme-cli's `nvme discover` ---- */

static const char *trtype_str(uint8_t t)
{
	return t == BRISK_NVMF_TRTYPE_TCP ? "tcp" : t == BRISK_NVMF_TRTYPE_RDMA ? "rdma" :
	       t == BRISK_NVMF_TRTYPE_FC ? "fc" : "unrecognized";
}

static const char *adrfam_str(uint8_t a)
{
	return a == BRISK_NVMF_ADRFAM_IPV4 ? "ipv4" : a == BRISK_NVMF_ADRFAM_IPV6 ? "ipv6" : "unrecognized";
}

static const char *subtype_str(uint8_t s)
{
	return s == BRISK_NVMF_SUBTYPE_DISCOVERY ? "discovery subsystem" :
	       s == BRISK_NVMF_SUBTYPE_NVME ? "nvme subsystem" : "unrecognized";
}

static const char *treq_str(uint8_t t)
{
	switch (t & 0x3u) {
	case 0: return "not specified";
	case 1: return "required";
	case 2: return "not required";
	default: return "reserved";
	}
}

/* Fixed-size, space or NUL padded fields. */
static void print_field(const char *name, const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0')) {
		len--;
	}
	printf("%-8s %.*s\n", name, (int)len, s);
}

static void print_entry(uint64_t i, const struct brisk_nvmf_discovery_log_entry *e)
{
	printf("=====Discovery Log Entry %" PRIu64 "======\n", i);
	printf("trtype:  %s\n", trtype_str(e->trtype));
	printf("adrfam:  %s\n", adrfam_str(e->adrfam));
	printf("subtype: %s\n", subtype_str(e->subtype));
	printf("treq:    %s\n", treq_str(e->treq));
	printf("portid:  %u\n", e->portid);
	print_field("trsvcid:", e->trsvcid, sizeof(e->trsvcid));
	print_field("subnqn: ", e->subnqn, sizeof(e->subnqn));
	print_field("traddr: ", e->traddr, sizeof(e->traddr));
	if (e->trtype == BRISK_NVMF_TRTYPE_TCP) {
		printf("sectype: %s\n", e->tsas[0] == BRISK_NVMF_TCP_SECTYPE_NONE ? "none" : "tls");
	}
}

static int discover(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvmf_discovery_log_header *hdr = brisk_dma_zmalloc(sizeof(*hdr), 4096, NULL);
	struct brisk_nvmf_discovery_log_entry *entries =
		brisk_dma_zmalloc(DISC_MAX_RECORDS * sizeof(*entries), 4096, NULL);
	uint64_t count = 0;
	int rc = -ENOMEM;

	if (hdr != NULL && entries != NULL) {
		rc = read_discovery_log(ctrlr, hdr, entries, &count);
	}
	if (rc == 0) {
		printf("\nDiscovery Log Number of Records %" PRIu64 ", Generation counter %" PRIu64 "\n",
		       hdr->numrec, hdr->genctr);
		for (uint64_t i = 0; i < count; i++) {
			print_entry(i, &entries[i]);
		}
	}
	brisk_free(hdr);
	brisk_free(entries);
	return rc;
}

int main(int argc, char **argv)
{
	struct brisk_env_opts env;
	struct disc_opts o = { 0 };
	struct brisk_nvme_ctrlr *ctrlr;
	int rc;

	if (parse_args(argc, argv, &o) != 0) {
		return 1;
	}
	brisk_env_opts_init(&env);
	env.name = "nvme_discover";
	env.mem_size_mb = o.mem_mb;
	env.no_huge = o.no_huge;
	if (brisk_env_init(&env) != 0) {
		fprintf(stderr, "nvme_discover: environment initialization failed\n");
		return 1;
	}
	ctrlr = brisk_nvme_connect(&o.trid, NULL);
	if (ctrlr == NULL) {
		fprintf(stderr, "nvme_discover: cannot connect to %s:%s (%s)\n", o.trid.traddr,
			o.trid.trsvcid, o.trid.subnqn);
		brisk_env_fini();
		return 1;
	}
	if (brisk_nvme_ctrlr_get_data(ctrlr)->cntrltype != BRISK_NVME_CNTRLTYPE_DISCOVERY) {
		fprintf(stderr, "nvme_discover: %s is not a discovery controller\n", o.trid.subnqn);
		rc = -EINVAL;
	} else {
		rc = discover(ctrlr);
	}
	brisk_nvme_detach(ctrlr);
	brisk_env_fini();
	return rc != 0;
}
