/*
 * Namespaces: their Identify data and what follows from it (sector size,
 * metadata, transfer limits, identifiers), and the scan that finds the
 * active ones. The scan is a chain of admin commands driven by admin
 * completions (bring-up, and the re-scan after a namespace attribute
 * event): active namespace list, then Identify Namespace and its
 * identification descriptors for each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nvme_internal.h"

#define NVME_NS_LIST_ENTRIES 1024u

struct nvme_ns_scan {
	struct brisk_nvme_ctrlr *ctrlr;
	nvme_scan_done_fn done;
	void *done_ctx;
	uint32_t *ids;     /* active nsids found, ascending */
	uint32_t count;
	uint32_t cap;
	uint32_t idx;      /* namespace being identified */
	bool all_ids;      /* no active list (before NVMe 1.1): every nsid, nsze 0 = inactive */
};

static void scan_identify_next(struct nvme_ns_scan *scan);

/* ---- Accessors ---- */

uint32_t brisk_nvme_ns_get_id(struct brisk_nvme_ns *ns) { return ns->id; }
bool brisk_nvme_ns_is_active(struct brisk_nvme_ns *ns) { return ns->active; }
struct brisk_nvme_ctrlr *brisk_nvme_ns_get_ctrlr(struct brisk_nvme_ns *ns) { return ns->ctrlr; }
const struct brisk_nvme_ns_data *brisk_nvme_ns_get_data(struct brisk_nvme_ns *ns) { return &ns->nsdata; }
uint32_t brisk_nvme_ns_get_sector_size(struct brisk_nvme_ns *ns) { return ns->sector_size; }
uint64_t brisk_nvme_ns_get_num_sectors(struct brisk_nvme_ns *ns) { return ns->num_sectors; }
uint32_t brisk_nvme_ns_get_md_size(struct brisk_nvme_ns *ns) { return ns->md_size; }
uint64_t brisk_nvme_ns_get_eui64(struct brisk_nvme_ns *ns) { return ns->eui64; }

uint64_t brisk_nvme_ns_get_size(struct brisk_nvme_ns *ns)
{
	return ns->num_sectors * ns->sector_size;
}

uint32_t brisk_nvme_ns_get_optimal_io_boundary(struct brisk_nvme_ns *ns)
{
	return ns->optimal_io_boundary;
}

const uint8_t *brisk_nvme_ns_get_uuid(struct brisk_nvme_ns *ns)
{
	return ns->has_uuid ? ns->uuid : NULL;
}

const uint8_t *brisk_nvme_ns_get_nguid(struct brisk_nvme_ns *ns)
{
	return ns->has_nguid ? ns->nguid : NULL;
}

bool brisk_nvme_ns_supports_compare(struct brisk_nvme_ns *ns)
{
	return (ns->ctrlr->cdata.oncs & BRISK_NVME_ONCS_COMPARE) != 0;
}

bool brisk_nvme_ns_supports_write_zeroes(struct brisk_nvme_ns *ns)
{
	return (ns->ctrlr->cdata.oncs & BRISK_NVME_ONCS_WRITE_ZEROES) != 0;
}

bool brisk_nvme_ns_supports_dsm(struct brisk_nvme_ns *ns)
{
	return (ns->ctrlr->cdata.oncs & BRISK_NVME_ONCS_DSM) != 0;
}

bool brisk_nvme_ns_has_volatile_write_cache(struct brisk_nvme_ns *ns)
{
	return (ns->ctrlr->cdata.vwc & 1u) != 0;
}

/* ---- Data ---- */

struct brisk_nvme_ns *nvme_ns_get_or_create(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid)
{
	struct brisk_nvme_ns *ns;

	if (nsid == 0 || nsid > ctrlr->num_ns || ctrlr->ns == NULL) {
		return NULL;
	}
	ns = ctrlr->ns[nsid - 1];
	if (ns == NULL) {
		ns = calloc(1, sizeof(*ns));
		if (ns == NULL) {
			return NULL;
		}
		ns->ctrlr = ctrlr;
		ns->id = nsid;
		ctrlr->ns[nsid - 1] = ns;
	}
	return ns;
}

void nvme_ns_set_data(struct brisk_nvme_ns *ns, const struct brisk_nvme_ns_data *nsdata)
{
	const struct brisk_nvme_lbaf *lbaf = &nsdata->lbaf[nsdata->flbas & 0xfu];
	uint32_t lbads = lbaf->lbads >= 9 && lbaf->lbads <= 16 ? lbaf->lbads : 9;

	ns->nsdata = *nsdata;
	ns->sector_size = 1u << lbads;
	ns->md_size = lbaf->ms;
	/* Metadata at the end of each block (FLBAS bit 4) travels with the data. */
	ns->extended_lba_size = ns->sector_size + ((nsdata->flbas & 0x10u) ? ns->md_size : 0);
	ns->num_sectors = nsdata->nsze;
	ns->sectors_per_max_io = ns->ctrlr->max_xfer_size / ns->extended_lba_size;
	if (ns->sectors_per_max_io > NVME_MAX_BLOCKS_PER_CMD) {
		ns->sectors_per_max_io = NVME_MAX_BLOCKS_PER_CMD;
	}
	ns->optimal_io_boundary = nsdata->noiob;
	memcpy(&ns->eui64, nsdata->eui64, sizeof(ns->eui64));
	memcpy(ns->nguid, nsdata->nguid, sizeof(ns->nguid));
	ns->has_nguid = memcmp(ns->nguid, (uint8_t[16]) {0}, 16) != 0;
}

/* Walks the identification descriptor list (CNS 03h, 4096 bytes). */
void nvme_ns_set_id_descs(struct brisk_nvme_ns *ns, const void *list)
{
	const uint8_t *p = list;
	size_t off = 0;

	while (off + sizeof(struct brisk_nvme_ns_id_desc) <= NVME_PAGE_SIZE) {
		const struct brisk_nvme_ns_id_desc *d = (const void *)(p + off);

		if (d->nidt == 0 || off + sizeof(*d) + d->nidl > NVME_PAGE_SIZE) {
			break;
		}
		if (d->nidt == BRISK_NVME_NIDT_UUID && d->nidl == 16) {
			memcpy(ns->uuid, d->nid, 16);
			ns->has_uuid = true;
		} else if (d->nidt == BRISK_NVME_NIDT_NGUID && d->nidl == 16) {
			memcpy(ns->nguid, d->nid, 16);
			ns->has_nguid = true;
		} else if (d->nidt == BRISK_NVME_NIDT_EUI64 && d->nidl == 8) {
			memcpy(&ns->eui64, d->nid, 8);
		}
		off += sizeof(*d) + d->nidl;
	}
}

void nvme_ns_free_all(struct brisk_nvme_ctrlr *ctrlr)
{
	for (uint32_t i = 0; ctrlr->ns != NULL && i < ctrlr->num_ns; i++) {
		free(ctrlr->ns[i]);
	}
	free(ctrlr->ns);
	ctrlr->ns = NULL;
	free(ctrlr->active_ns);
	ctrlr->active_ns = NULL;
	ctrlr->num_active_ns = 0;
}

/* ---- Scan, step by step ---- */

/* Without an active list, identify marked inactive namespaces with 0. */
static void scan_drop_inactive(struct nvme_ns_scan *scan)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < scan->count; i++) {
		if (scan->ids[i] != 0) {
			scan->ids[kept++] = scan->ids[i];
		}
	}
	scan->count = kept;
}

static void scan_finish(struct nvme_ns_scan *scan, int rc)
{
	struct brisk_nvme_ctrlr *ctrlr = scan->ctrlr;
	nvme_scan_done_fn done = scan->done;
	void *done_ctx = scan->done_ctx;

	if (rc == 0) {
		scan_drop_inactive(scan);
		for (uint32_t i = 0; i < ctrlr->num_ns; i++) {
			if (ctrlr->ns[i] != NULL) {
				ctrlr->ns[i]->active = false;
			}
		}
		for (uint32_t i = 0; i < scan->count; i++) {
			nvme_ns_get_or_create(ctrlr, scan->ids[i])->active = true;
		}
		free(ctrlr->active_ns);
		ctrlr->active_ns = scan->ids;
		ctrlr->num_active_ns = scan->count;
	} else {
		free(scan->ids);
	}
	ctrlr->scan = NULL;
	free(scan);
	done(ctrlr, done_ctx, rc);
}

static int scan_add_id(struct nvme_ns_scan *scan, uint32_t nsid)
{
	if (scan->count == scan->cap) {
		uint32_t cap = scan->cap ? scan->cap * 2 : 64;
		uint32_t *ids = realloc(scan->ids, cap * sizeof(*ids));

		if (ids == NULL) {
			return -ENOMEM;
		}
		scan->ids = ids;
		scan->cap = cap;
	}
	scan->ids[scan->count++] = nsid;
	return 0;
}

static void scan_ns_descs_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_ns_scan *scan = arg;
	struct brisk_nvme_ctrlr *ctrlr = scan->ctrlr;

	/* Optional before NVMe 1.3: an error only means there are no descriptors. */
	if (!brisk_nvme_cpl_is_error(cpl)) {
		nvme_ns_set_id_descs(ctrlr->ns[scan->ids[scan->idx] - 1], ctrlr->scratch);
	}
	scan->idx++;
	scan_identify_next(scan);
}

static void scan_ns_data_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_ns_scan *scan = arg;
	struct brisk_nvme_ctrlr *ctrlr = scan->ctrlr;
	uint32_t nsid = scan->ids[scan->idx];
	struct brisk_nvme_ns *ns = nvme_ns_get_or_create(ctrlr, nsid);
	int rc;

	if (brisk_nvme_cpl_is_error(cpl) || ns == NULL) {
		scan_finish(scan, ns == NULL ? -ENOMEM : -EIO);
		return;
	}
	nvme_ns_set_data(ns, ctrlr->scratch);
	ns->has_uuid = false;
	if (scan->all_ids && ns->nsdata.nsze == 0) {
		scan->ids[scan->idx++] = 0; /* not active */
		scan_identify_next(scan);
		return;
	}
	memset(ctrlr->scratch, 0, NVME_PAGE_SIZE);
	rc = nvme_admin_identify(ctrlr, BRISK_NVME_IDENTIFY_NS_ID_DESCRIPTOR_LIST, nsid,
				 ctrlr->scratch, scan_ns_descs_done, scan);
	if (rc != 0) {
		scan_finish(scan, rc);
	}
}

static void scan_identify_next(struct nvme_ns_scan *scan)
{
	struct brisk_nvme_ctrlr *ctrlr = scan->ctrlr;
	int rc;

	if (scan->idx == scan->count) {
		scan_finish(scan, 0);
		return;
	}
	rc = nvme_admin_identify(ctrlr, BRISK_NVME_IDENTIFY_NS, scan->ids[scan->idx],
				 ctrlr->scratch, scan_ns_data_done, scan);
	if (rc != 0) {
		scan_finish(scan, rc);
	}
}

static void scan_list_done(void *arg, const struct brisk_nvme_cpl *cpl);

static int scan_list_from(struct nvme_ns_scan *scan, uint32_t start)
{
	memset(scan->ctrlr->scratch, 0, NVME_PAGE_SIZE);
	return nvme_admin_identify(scan->ctrlr, BRISK_NVME_IDENTIFY_ACTIVE_NS_LIST, start,
				   scan->ctrlr->scratch, scan_list_done, scan);
}

/* Controllers before NVMe 1.1 have no active namespace list (CNS 02h):
 * every nsid up to NN is identified instead. */
static void scan_list_all(struct nvme_ns_scan *scan)
{
	uint32_t n = scan->ctrlr->num_ns < NVME_NS_LIST_ENTRIES ? scan->ctrlr->num_ns :
		     NVME_NS_LIST_ENTRIES;

	scan->count = 0;
	scan->all_ids = true;
	for (uint32_t nsid = 1; nsid <= n; nsid++) {
		if (scan_add_id(scan, nsid) != 0) {
			scan_finish(scan, -ENOMEM);
			return;
		}
	}
	scan_identify_next(scan);
}

static void scan_list_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_ns_scan *scan = arg;
	const uint32_t *list = scan->ctrlr->scratch;
	uint32_t i;

	if (brisk_nvme_cpl_is_error(cpl)) {
		scan_list_all(scan);
		return;
	}
	for (i = 0; i < NVME_NS_LIST_ENTRIES && list[i] != 0; i++) {
		if (list[i] > scan->ctrlr->num_ns || scan_add_id(scan, list[i]) != 0) {
			continue; /* beyond NN (or out of memory): not usable */
		}
	}
	if (i == NVME_NS_LIST_ENTRIES && list[i - 1] < scan->ctrlr->num_ns) {
		/* A full page: there may be more. */
		int rc = scan_list_from(scan, list[i - 1]);

		if (rc != 0) {
			scan_finish(scan, rc);
		}
		return;
	}
	scan_identify_next(scan);
}

int nvme_ns_scan_start(struct brisk_nvme_ctrlr *ctrlr, nvme_scan_done_fn done, void *ctx)
{
	struct nvme_ns_scan *scan;
	int rc;

	if (ctrlr->scan != NULL) {
		return -EBUSY;
	}
	scan = calloc(1, sizeof(*scan));
	if (scan == NULL) {
		return -ENOMEM;
	}
	scan->ctrlr = ctrlr;
	scan->done = done;
	scan->done_ctx = ctx;
	ctrlr->scan = scan;
	rc = scan_list_from(scan, 0);
	if (rc != 0) {
		ctrlr->scan = NULL;
		free(scan);
	}
	return rc;
}
