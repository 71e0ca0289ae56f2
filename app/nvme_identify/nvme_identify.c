/*
 * nvme_identify: attaches every NVMe controller (or the one -r names) and
 * prints its Identify Controller data, registers, namespaces with their LBA
 * formats, the SMART / health log, the firmware slot log and a few
 * features, laid out as nvme-cli's id-ctrl / id-ns / smart-log print them.
 *
 *   nvme_identify [-r 'trtype:PCIe traddr:0000:00:04.0'] [--no-huge] [-s MB]
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

#define ID_MAX_CTRLRS 16
#define ID_DEFAULT_MEM_MB 64

struct id_opts {
	struct brisk_nvme_transport_id trid;
	bool has_trid;
	bool no_huge;
	uint64_t mem_mb;
	int shm_id; /* -1: none */
};

struct id_ctx {
	struct brisk_nvme_ctrlr *ctrlrs[ID_MAX_CTRLRS];
	int count;
};

struct id_wait {
	bool done;
	struct brisk_nvme_cpl cpl;
};

static void usage(const char *prog)
{
	printf("Usage: %s [-r TRID] [--no-huge] [-s MB]\n"
	       "Prints Identify data, namespaces, health log and features of NVMe controllers.\n"
	       "  -r, --trid TRID   only this controller, e.g. 'trtype:PCIe traddr:0000:00:04.0'\n"
	       "  -i, --shm-id ID   shared memory id: with a primary of this id running, attach\n"
	       "                    as its secondary to the controller -r names\n"
	       "      --no-huge     ordinary pages instead of hugepages\n"
	       "  -s, --mem-size MB memory to reserve (default %d)\n"
	       "  -h, --help        this text\n",
	       prog, ID_DEFAULT_MEM_MB);
}

static int parse_args(int argc, char **argv, struct id_opts *o)
{
	static const struct option longopts[] = {
		{ "trid", required_argument, NULL, 'r' },     { "no-huge", no_argument, NULL, 'H' },
		{ "mem-size", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ "shm-id", required_argument, NULL, 'i' },   { NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	o->trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	o->mem_mb = ID_DEFAULT_MEM_MB;
	o->shm_id = -1;
	while ((c = getopt_long(argc, argv, "r:s:i:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'i': {
			unsigned long v = strtoul(optarg, &end, 10);

			if (*end != '\0' || optarg[0] == '\0' || v > INT32_MAX) {
				fprintf(stderr, "%s: -i: '%s' is not a shared memory id\n", argv[0], optarg);
				return -EINVAL;
			}
			o->shm_id = (int)v;
			break;
		}
		case 'r':
			if (brisk_nvme_transport_id_parse(&o->trid, optarg) != 0) {
				fprintf(stderr, "%s: -r: bad transport ID '%s'\n", argv[0], optarg);
				return -EINVAL;
			}
			o->has_trid = true;
			break;
		case 'H':
			o->no_huge = true;
			break;
		case 's':
			o->mem_mb = strtoull(optarg, &end, 10);
			if (*end != '\0' || o->mem_mb == 0) {
				fprintf(stderr, "%s: -s: '%s' is not a size in MB\n", argv[0], optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			usage(argv[0]);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- Synchronous admin commands ---- */

static void id_wait_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct id_wait *w = arg;

	w->cpl = *cpl;
	w->done = true;
}

static int id_wait(struct brisk_nvme_ctrlr *ctrlr, int rc, struct id_wait *w)
{
	while (rc == 0 && !w->done) {
		if (brisk_nvme_ctrlr_process_admin_completions(ctrlr) < 0) {
			return -ENXIO;
		}
	}
	if (rc == 0 && brisk_nvme_cpl_is_error(&w->cpl)) {
		return -EIO;
	}
	return rc;
}

/* ---- id-ctrl ---- */

/* Identify strings are space padded, not terminated. */
static void print_str(const char *name, const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0')) {
		len--;
	}
	printf("%-10s: %.*s\n", name, (int)len, s);
}

static void print_ctrlr_ids(const struct brisk_nvme_ctrlr_data *cd)
{
	printf("%-10s: %#x\n", "vid", cd->vid);
	printf("%-10s: %#x\n", "ssvid", cd->ssvid);
	print_str("sn", cd->sn, sizeof(cd->sn));
	print_str("mn", cd->mn, sizeof(cd->mn));
	print_str("fr", cd->fr, sizeof(cd->fr));
	printf("%-10s: %u\n", "rab", cd->rab);
	printf("%-10s: %02x%02x%02x\n", "ieee", cd->ieee[2], cd->ieee[1], cd->ieee[0]);
	printf("%-10s: %#x\n", "cmic", cd->cmic);
	printf("%-10s: %u\n", "mdts", cd->mdts);
	printf("%-10s: %#x\n", "cntlid", cd->cntlid);
	printf("%-10s: %#x\n", "ver", cd->ver);
	printf("%-10s: %#x\n", "oaes", cd->oaes);
	printf("%-10s: %#x\n", "ctratt", cd->ctratt);
}

static void print_ctrlr_caps(const struct brisk_nvme_ctrlr_data *cd)
{
	printf("%-10s: %#x\n", "oacs", cd->oacs);
	/* OACS bit 3: Namespace Management and Attachment (brisk_nvme_ctrlr_*_ns). */
	printf("%-10s: %s\n", "ns_mgmt",
	       cd->oacs & BRISK_NVME_OACS_NS_MANAGE ? "supported" : "not supported");
	printf("%-10s: %u\n", "acl", cd->acl);
	printf("%-10s: %u\n", "aerl", cd->aerl);
	printf("%-10s: %#x\n", "frmw", cd->frmw);
	printf("%-10s: %#x\n", "lpa", cd->lpa);
	printf("%-10s: %u\n", "elpe", cd->elpe);
	printf("%-10s: %u\n", "npss", cd->npss);
	printf("%-10s: %u\n", "wctemp", cd->wctemp);
	printf("%-10s: %u\n", "cctemp", cd->cctemp);
	printf("%-10s: %u\n", "kas", cd->kas);
	printf("%-10s: %#x\n", "sqes", cd->sqes);
	printf("%-10s: %#x\n", "cqes", cd->cqes);
	printf("%-10s: %u\n", "maxcmd", cd->maxcmd);
	printf("%-10s: %u\n", "nn", cd->nn);
	printf("%-10s: %#x\n", "oncs", cd->oncs);
	printf("%-10s: %#x\n", "fuses", cd->fuses);
	printf("%-10s: %#x\n", "fna", cd->fna);
	printf("%-10s: %#x\n", "vwc", cd->vwc);
	printf("%-10s: %u\n", "awun", cd->awun);
	printf("%-10s: %u\n", "awupf", cd->awupf);
	printf("%-10s: %#x\n", "sgls", cd->sgls);
	printf("%-10s: %.256s\n", "subnqn", cd->subnqn);
}

static void print_regs(struct brisk_nvme_ctrlr *ctrlr)
{
	union brisk_nvme_cap_register cap = { .raw = brisk_nvme_ctrlr_get_regs_cap(ctrlr) };
	union brisk_nvme_vs_register vs = { .raw = brisk_nvme_ctrlr_get_regs_vs(ctrlr) };

	printf("%-10s: %#" PRIx64 " (mqes %u, to %u ms, dstrd %u, css %#x)\n", "cap", cap.raw,
	       (unsigned)cap.bits.mqes + 1, (unsigned)cap.bits.to * 500, (unsigned)cap.bits.dstrd,
	       (unsigned)cap.bits.css);
	printf("%-10s: %u.%u.%u\n", "version", vs.bits.mjr, vs.bits.mnr, vs.bits.ter);
	printf("%-10s: %u bytes\n", "max xfer", brisk_nvme_ctrlr_get_max_xfer_size(ctrlr));
}

/* ---- id-ns ---- */

static void print_lbafs(const struct brisk_nvme_ns_data *nd)
{
	for (uint32_t i = 0; i <= nd->nlbaf && i < 16; i++) {
		printf("lbaf %2u : ms:%-3u lbads:%-2u rp:%#x %s\n", i, nd->lbaf[i].ms,
		       nd->lbaf[i].lbads, nd->lbaf[i].rp, (nd->flbas & 0xfu) == i ? "(in use)" : "");
	}
}

static void print_hex(const char *name, const uint8_t *p, size_t len)
{
	printf("%-10s: ", name);
	for (size_t i = 0; i < len; i++) {
		printf("%02x", p[i]);
	}
	printf("\n");
}

static void print_ns(struct brisk_nvme_ns *ns)
{
	const struct brisk_nvme_ns_data *nd = brisk_nvme_ns_get_data(ns);
	const uint8_t *uuid = brisk_nvme_ns_get_uuid(ns);

	printf("\nNVME Identify Namespace %u:\n", brisk_nvme_ns_get_id(ns));
	printf("%-10s: %#" PRIx64 "\n", "nsze", nd->nsze);
	printf("%-10s: %#" PRIx64 "\n", "ncap", nd->ncap);
	printf("%-10s: %#" PRIx64 "\n", "nuse", nd->nuse);
	printf("%-10s: %#x\n", "nsfeat", nd->nsfeat);
	printf("%-10s: %u\n", "nlbaf", nd->nlbaf);
	printf("%-10s: %#x\n", "flbas", nd->flbas);
	printf("%-10s: %#x\n", "dlfeat", nd->dlfeat);
	printf("%-10s: %u\n", "noiob", nd->noiob);
	print_hex("nguid", nd->nguid, sizeof(nd->nguid));
	print_hex("eui64", nd->eui64, sizeof(nd->eui64));
	if (uuid != NULL) {
		print_hex("uuid", uuid, 16);
	}
	print_lbafs(nd);
	printf("%-10s: %" PRIu64 " bytes (%" PRIu64 " MiB), %" PRIu64 " sectors of %u bytes\n",
	       "size", brisk_nvme_ns_get_size(ns), brisk_nvme_ns_get_size(ns) >> 20,
	       brisk_nvme_ns_get_num_sectors(ns), brisk_nvme_ns_get_sector_size(ns));
}

/* ---- Logs and features ---- */

static void print_health(const struct brisk_nvme_health_information_page *h)
{
	printf("\nSmart Log for NVME device\n");
	printf("%-36s: %#x\n", "critical_warning", h->critical_warning);
	printf("%-36s: %d C (%u Kelvin)\n", "temperature", (int)h->temperature - 273, h->temperature);
	printf("%-36s: %u%%\n", "available_spare", h->available_spare);
	printf("%-36s: %u%%\n", "available_spare_threshold", h->available_spare_threshold);
	printf("%-36s: %u%%\n", "percentage_used", h->percentage_used);
	printf("%-36s: %" PRIu64 "\n", "data_units_read", h->data_units_read[0]);
	printf("%-36s: %" PRIu64 "\n", "data_units_written", h->data_units_written[0]);
	printf("%-36s: %" PRIu64 "\n", "host_read_commands", h->host_read_commands[0]);
	printf("%-36s: %" PRIu64 "\n", "host_write_commands", h->host_write_commands[0]);
	printf("%-36s: %" PRIu64 "\n", "controller_busy_time", h->controller_busy_time[0]);
	printf("%-36s: %" PRIu64 "\n", "power_cycles", h->power_cycles[0]);
	printf("%-36s: %" PRIu64 "\n", "power_on_hours", h->power_on_hours[0]);
	printf("%-36s: %" PRIu64 "\n", "unsafe_shutdowns", h->unsafe_shutdowns[0]);
	printf("%-36s: %" PRIu64 "\n", "media_errors", h->media_errors[0]);
	printf("%-36s: %" PRIu64 "\n", "num_err_log_entries", h->num_error_info_log_entries[0]);
}

static int print_logs(struct brisk_nvme_ctrlr *ctrlr, void *buf)
{
	struct brisk_nvme_firmware_page *fw = buf;
	struct id_wait w = { 0 };
	int rc;

	rc = id_wait(ctrlr, brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, BRISK_NVME_LOG_HEALTH_INFORMATION,
		     BRISK_NVME_GLOBAL_NS_TAG, buf, 512, 0, id_wait_cb, &w), &w);
	if (rc != 0) {
		printf("health log: unavailable (%s)\n", strerror(-rc));
		return rc;
	}
	print_health(buf);
	memset(&w, 0, sizeof(w));
	rc = id_wait(ctrlr, brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, BRISK_NVME_LOG_FIRMWARE_SLOT,
		     BRISK_NVME_GLOBAL_NS_TAG, buf, 512, 0, id_wait_cb, &w), &w);
	if (rc == 0) {
		printf("\nFirmware Log\n%-10s: %#x\n%-10s: %.8s\n", "afi", fw->afi, "frs1",
		       fw->revision[0]);
	}
	return 0;
}

static void print_feature(struct brisk_nvme_ctrlr *ctrlr, uint8_t fid, const char *name)
{
	struct id_wait w = { 0 };
	int rc = id_wait(ctrlr, brisk_nvme_ctrlr_cmd_get_feature(ctrlr, fid, 0, NULL, 0,
			 id_wait_cb, &w), &w);

	if (rc == 0) {
		printf("get-feature:%#04x (%s), Current value:%#010x\n", fid, name, w.cpl.cdw0);
	} else {
		printf("get-feature:%#04x (%s): %s\n", fid, name,
		       brisk_nvme_cpl_get_status_string(&w.cpl.status));
	}
}

static void print_features(struct brisk_nvme_ctrlr *ctrlr)
{
	printf("\n");
	print_feature(ctrlr, BRISK_NVME_FEAT_ARBITRATION, "Arbitration");
	print_feature(ctrlr, BRISK_NVME_FEAT_TEMPERATURE_THRESHOLD, "Temperature Threshold");
	print_feature(ctrlr, BRISK_NVME_FEAT_VOLATILE_WRITE_CACHE, "Volatile Write Cache");
	print_feature(ctrlr, BRISK_NVME_FEAT_NUMBER_OF_QUEUES, "Number of Queues");
	print_feature(ctrlr, BRISK_NVME_FEAT_ASYNC_EVENT_CONFIGURATION, "Async Event Configuration");
}

static int print_ctrlr(struct brisk_nvme_ctrlr *ctrlr)
{
	char trid[300];
	void *buf = brisk_dma_zmalloc(4096, 4096, NULL);
	int rc;

	if (buf == NULL) {
		return -ENOMEM;
	}
	brisk_nvme_transport_id_fmt(trid, sizeof(trid), brisk_nvme_ctrlr_get_transport_id(ctrlr));
	printf("NVME Identify Controller (%s):\n", trid);
	print_ctrlr_ids(brisk_nvme_ctrlr_get_data(ctrlr));
	print_ctrlr_caps(brisk_nvme_ctrlr_get_data(ctrlr));
	print_regs(ctrlr);
	for (uint32_t nsid = brisk_nvme_ctrlr_get_first_active_ns(ctrlr); nsid != 0;
	     nsid = brisk_nvme_ctrlr_get_next_active_ns(ctrlr, nsid)) {
		print_ns(brisk_nvme_ctrlr_get_ns(ctrlr, nsid));
	}
	rc = print_logs(ctrlr, buf);
	print_features(ctrlr);
	printf("\n");
	brisk_free(buf);
	return rc;
}

static void attach_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
		      struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_ctrlr_opts *opts)
{
	struct id_ctx *ctx = cb_ctx;

	if (ctx->count < ID_MAX_CTRLRS) {
		ctx->ctrlrs[ctx->count++] = ctrlr;
	} else {
		brisk_nvme_detach(ctrlr);
	}
}

static int env_start(const struct id_opts *o)
{
	struct brisk_env_opts env;

	brisk_env_opts_init(&env);
	env.name = "nvme_identify";
	env.mem_size_mb = o->mem_mb;
	env.no_huge = o->no_huge;
	env.shm_id = o->shm_id;
	return brisk_env_init(&env);
}

int main(int argc, char **argv)
{
	struct id_opts o = { 0 };
	struct id_ctx ctx = { .count = 0 };
	int rc = 0;

	if (parse_args(argc, argv, &o) != 0) {
		return 1;
	}
	if (env_start(&o) != 0) {
		fprintf(stderr, "nvme_identify: environment initialization failed\n");
		return 1;
	}
	if (brisk_env_get_proc_type() == BRISK_PROC_SECONDARY) {
		/* The primary owns the controller: connect to its shared view. */
		ctx.ctrlrs[0] = o.has_trid ? brisk_nvme_connect(&o.trid, NULL) : NULL;
		ctx.count = ctx.ctrlrs[0] != NULL;
		if (!o.has_trid) {
			fprintf(stderr, "nvme_identify: a secondary process (-i %d) needs -r\n", o.shm_id);
		}
	} else if (brisk_nvme_probe(o.has_trid ? &o.trid : NULL, &ctx, NULL, attach_cb, NULL) != 0) {
		ctx.count = 0;
	}
	if (ctx.count == 0) {
		fprintf(stderr, "nvme_identify: no NVMe controller attached\n");
		brisk_env_fini();
		return 1;
	}
	for (int i = 0; i < ctx.count; i++) {
		rc |= print_ctrlr(ctx.ctrlrs[i]);
		brisk_nvme_detach(ctx.ctrlrs[i]);
	}
	brisk_env_fini();
	return rc != 0;
}
