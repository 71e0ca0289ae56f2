/*
 * One bdev per active namespace of a controller, named <ctrlr>n<nsid>
 * (Nvme0n1): geometry from Identify Namespace, the UUID the namespace
 * reports, and the "nvme" entry of driver_specific in SPDK's shape.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "bdev_nvme.h"

/* ---- JSON ---- */

json_t *bdev_nvme_trid_json(const struct brisk_nvme_transport_id *trid)
{
	const char *trtype = brisk_nvme_transport_id_trtype_str(trid->trtype);
	json_t *o = json_object();

	json_object_set_new(o, "trtype", json_string(trtype != NULL ? trtype : "unknown"));
	if (trid->adrfam == BRISK_NVMF_ADRFAM_IPV4 || trid->adrfam == BRISK_NVMF_ADRFAM_IPV6) {
		json_object_set_new(o, "adrfam", json_string(trid->adrfam == BRISK_NVMF_ADRFAM_IPV4 ? "IPv4" :
				    "IPv6"));
	}
	json_object_set_new(o, "traddr", json_string(trid->traddr));
	if (trid->trsvcid[0] != '\0') {
		json_object_set_new(o, "trsvcid", json_string(trid->trsvcid));
	}
	if (trid->subnqn[0] != '\0') {
		json_object_set_new(o, "subnqn", json_string(trid->subnqn));
	}
	return o;
}

/* A space-padded Identify string without its padding. */
static json_t *padded_string_json(const char *field, size_t len)
{
	char buf[256];

	if (len >= sizeof(buf)) {
		len = sizeof(buf) - 1;
	}
	memcpy(buf, field, len);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == ' ' || buf[len - 1] == '\0')) {
		buf[--len] = '\0';
	}
	return json_string(buf);
}

static json_t *ctrlr_data_json(struct nvme_ctrlr *nctrlr)
{
	const struct brisk_nvme_ctrlr_data *cd = brisk_nvme_ctrlr_get_data(nctrlr->ctrlr);
	char vid[8];

	snprintf(vid, sizeof(vid), "0x%04x", cd->vid);
	return json_pack("{s:i, s:s, s:o, s:o, s:o, s:o}", "cntlid", (int)cd->cntlid, "vendor_id", vid,
			 "model_number", padded_string_json(cd->mn, sizeof(cd->mn)),
			 "serial_number", padded_string_json(cd->sn, sizeof(cd->sn)),
			 "firmware_revision", padded_string_json(cd->fr, sizeof(cd->fr)),
			 "subnqn", padded_string_json(cd->subnqn, sizeof(cd->subnqn)));
}

static int nvme_ns_dump_info_json(void *ctx, json_t *driver_specific)
{
	struct nvme_ns *ns = ctx;
	struct nvme_ctrlr *nctrlr = ns->nctrlr;
	json_t *entry = json_object();
	uint32_t vs = brisk_nvme_ctrlr_get_regs_vs(nctrlr->ctrlr);
	char ver[16];

	if (nctrlr->trid.trtype == BRISK_NVME_TRANSPORT_PCIE) {
		json_object_set_new(entry, "pci_address", json_string(nctrlr->trid.traddr));
	}
	json_object_set_new(entry, "trid", bdev_nvme_trid_json(&nctrlr->trid));
	json_object_set_new(entry, "ctrlr_data", ctrlr_data_json(nctrlr));
	snprintf(ver, sizeof(ver), "%u.%u", vs >> 16, (vs >> 8) & 0xff);
	json_object_set_new(entry, "vs", json_pack("{s:s}", "nvme_version", ver));
	json_object_set_new(entry, "ns_data", json_pack("{s:i, s:b}", "id", (int)ns->nsid, "can_share",
			    false));
	json_object_set_new(driver_specific, "nvme", json_pack("[o]", entry));
	/* SPDK's place for bdev_nvme_set_multipath_policy's choice. */
	json_object_set_new(driver_specific, "mp_policy",
			    json_string(ns->active_active ? "active_active" : "active_passive"));
	return 0;
}

/* ---- bdev ---- */

static void nvme_ns_free(struct nvme_ns *ns)
{
	bdev_nvme_mp_ns_fini(ns);
	free(ns->bdev.name);
	free(ns);
}

static int nvme_ns_destruct(void *ctx)
{
	struct nvme_ns *ns = ctx;

	TAILQ_REMOVE(&ns->nctrlr->namespaces, ns, link);
	nvme_ns_free(ns);
	return 0;
}

static struct brisk_io_channel *nvme_ns_get_io_channel(void *ctx)
{
	struct nvme_ns *ns = ctx;

	return brisk_get_io_channel(ns->nctrlr);
}

static const struct brisk_bdev_fn_table g_nvme_ns_fn_table = {
	.destruct = nvme_ns_destruct,
	.submit_request = bdev_nvme_submit_request,
	.io_type_supported = bdev_nvme_io_type_supported,
	.get_io_channel = nvme_ns_get_io_channel,
	.dump_info_json = nvme_ns_dump_info_json,
	/* No write_config_json: bdev_nvme_attach_controller in the module's
	 * config recreates every namespace bdev. */
};

/* NPWG..NOWS are 0's based LBA counts, valid only when NSFEAT bit 4 says so
 * (NVMe base spec, Identify Namespace). */
static void nvme_ns_fill_hints(struct nvme_ns *ns)
{
	const struct brisk_nvme_ns_data *d = brisk_nvme_ns_get_data(ns->ns);

	if ((d->nsfeat & (1u << 4)) == 0) {
		return;
	}
	ns->bdev.preferred_write_granularity = (uint32_t)d->npwg + 1;
	ns->bdev.preferred_write_alignment = (uint32_t)d->npwa + 1;
	ns->bdev.preferred_unmap_granularity = (uint32_t)d->npdg + 1;
	ns->bdev.preferred_unmap_alignment = (uint32_t)d->npda + 1;
	ns->bdev.optimal_write_size = (uint32_t)d->nows + 1;
}

static void nvme_ns_fill_bdev(struct nvme_ns *ns)
{
	struct brisk_nvme_ns *dns = ns->ns;
	const uint8_t *uuid = brisk_nvme_ns_get_uuid(dns);

	ns->bdev.product_name = "NVMe disk";
	ns->bdev.blocklen = brisk_nvme_ns_get_sector_size(dns);
	ns->bdev.blockcnt = brisk_nvme_ns_get_num_sectors(dns);
	ns->bdev.write_cache = brisk_nvme_ns_has_volatile_write_cache(dns);
	/* The driver splits at MDTS and at the namespace's boundary itself; the
	 * boundary is reported only. */
	ns->bdev.optimal_io_boundary = brisk_nvme_ns_get_optimal_io_boundary(dns);
	ns->bdev.split_on_optimal_io_boundary = false;
	ns->bdev.required_alignment = 4; /* PRP entries and SGL addresses are dword aligned */
	nvme_ns_fill_hints(ns);
	if (uuid != NULL) {
		memcpy(&ns->bdev.uuid, uuid, sizeof(ns->bdev.uuid));
	}
	ns->bdev.ctxt = ns;
	ns->bdev.fn_table = &g_nvme_ns_fn_table;
	ns->bdev.module = &g_nvme_if;
}

static int nvme_ns_create(struct nvme_ctrlr *nctrlr, uint32_t nsid)
{
	struct nvme_ns *ns = calloc(1, sizeof(*ns));
	int rc;

	if (ns == NULL) {
		return -ENOMEM;
	}
	ns->nctrlr = nctrlr;
	ns->nsid = nsid;
	ns->ns = brisk_nvme_ctrlr_get_ns(nctrlr->ctrlr, nsid);
	ns->bdev.name = brisk_sprintf_alloc("%sn%u", nctrlr->name, nsid);
	rc = bdev_nvme_mp_ns_init(ns);
	if (ns->ns == NULL || ns->bdev.name == NULL || rc != 0) {
		rc = ns->ns == NULL ? -ENODEV : -ENOMEM;
		nvme_ns_free(ns);
		return rc;
	}
	nvme_ns_fill_bdev(ns);
	if (ns->bdev.blocklen < 512 || ns->bdev.blocklen % 512 != 0 || ns->bdev.blockcnt == 0) {
		BRISK_WARNLOG("nvme %s: namespace %u (block size %u, %lu blocks) is not usable as a bdev\n",
			      nctrlr->name, nsid, ns->bdev.blocklen, (unsigned long)ns->bdev.blockcnt);
		nvme_ns_free(ns);
		return 0;
	}
	rc = brisk_bdev_register(&ns->bdev);
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: cannot register bdev %s: %s\n", nctrlr->name, ns->bdev.name,
			     strerror(-rc));
		nvme_ns_free(ns);
		return rc;
	}
	TAILQ_INSERT_TAIL(&nctrlr->namespaces, ns, link);
	return 0;
}

int bdev_nvme_ns_create_all(struct nvme_ctrlr *nctrlr)
{
	uint32_t nsid;
	int rc;

	for (nsid = brisk_nvme_ctrlr_get_first_active_ns(nctrlr->ctrlr); nsid != 0;
	     nsid = brisk_nvme_ctrlr_get_next_active_ns(nctrlr->ctrlr, nsid)) {
		rc = nvme_ns_create(nctrlr, nsid);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

json_t *bdev_nvme_ctrlr_bdev_names(struct nvme_ctrlr *nctrlr)
{
	json_t *names = json_array();
	struct nvme_ns *ns;

	TAILQ_FOREACH(ns, &nctrlr->namespaces, link) {
		json_array_append_new(names, json_string(ns->bdev.name));
	}
	return names;
}
