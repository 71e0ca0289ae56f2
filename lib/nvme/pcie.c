/*
 * The PCIe transport: a controller is a PCI device (lib/env's pci.h)
 * attached through vfio-pci or uio_pci_generic. Registers and doorbells are
 * BAR0 (MMIO); queues and PRP lists live in Brisk's DMA memory, whose bus
 * addresses brisk_vtophys gives once the device is attached.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/pci.h>
#include <brisk/string.h>

#include "nvme_internal.h"

struct nvme_pcie_ctrlr {
	struct brisk_nvme_ctrlr ctrlr; /* first: the generic code's view */
	struct brisk_pci_device *pci;
	volatile uint8_t *bar0;
	uint64_t bar0_size;
	uint32_t db_stride;            /* doorbell stride in 32-bit words */
};

static struct nvme_pcie_ctrlr *pcie_ctrlr(struct brisk_nvme_ctrlr *ctrlr)
{
	return (struct nvme_pcie_ctrlr *)ctrlr;
}

static uint32_t pcie_get_reg_4(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset)
{
	return *(volatile uint32_t *)(pcie_ctrlr(ctrlr)->bar0 + offset);
}

static void pcie_set_reg_4(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint32_t value)
{
	*(volatile uint32_t *)(pcie_ctrlr(ctrlr)->bar0 + offset) = value;
}

/* 64-bit registers as two 32-bit accesses, low word first: every
 * controller (and QEMU's model) accepts those. */
static uint64_t pcie_get_reg_8(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset)
{
	uint64_t lo = pcie_get_reg_4(ctrlr, offset);
	uint64_t hi = pcie_get_reg_4(ctrlr, offset + 4);

	return hi << 32 | lo;
}

static void pcie_set_reg_8(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint64_t value)
{
	pcie_set_reg_4(ctrlr, offset, (uint32_t)value);
	pcie_set_reg_4(ctrlr, offset + 4, (uint32_t)(value >> 32));
}

static bool pcie_is_removed(struct brisk_nvme_ctrlr *ctrlr)
{
	return brisk_pci_device_is_removed(pcie_ctrlr(ctrlr)->pci);
}

/* Without an IOMMU a queue must be physically contiguous: one page of the
 * env's memory (4 KiB without hugepages holds 64 SQ entries). */
static uint32_t pcie_max_queue_entries(struct brisk_nvme_ctrlr *ctrlr)
{
	if (brisk_pci_device_is_vfio(pcie_ctrlr(ctrlr)->pci)) {
		return 65536;
	}
	return (uint32_t)(brisk_env_get_page_size() / sizeof(struct brisk_nvme_cmd));
}

static void pcie_qpair_init_doorbells(struct brisk_nvme_qpair *qpair)
{
	struct nvme_pcie_ctrlr *p = pcie_ctrlr(qpair->ctrlr);
	volatile uint32_t *db = (volatile uint32_t *)(p->bar0 + BRISK_NVME_REG_DOORBELL);

	qpair->sq_tdbl = db + (2u * qpair->id) * p->db_stride;
	qpair->cq_hdbl = db + (2u * qpair->id + 1u) * p->db_stride;
}

static void pcie_ring_unused(struct brisk_nvme_qpair *qpair, uint16_t value)
{
	/* MMIO doorbells are written directly by qpair.c. */
}

static int pcie_map(struct nvme_pcie_ctrlr *p)
{
	union brisk_nvme_cap_register cap;
	uint64_t phys = 0;
	void *va = NULL;
	int rc;

	rc = brisk_pci_device_attach(p->pci);
	if (rc != 0) {
		return rc;
	}
	rc = brisk_pci_device_map_bar(p->pci, 0, &va, &phys, &p->bar0_size);
	if (rc != 0) {
		return rc;
	}
	p->bar0 = va;
	if (p->bar0_size < BRISK_NVME_REG_DOORBELL + 8) {
		BRISK_ERRLOG("nvme: BAR0 of %" PRIu64 " bytes is too small for NVMe registers\n",
			     p->bar0_size);
		return -ENODEV;
	}
	cap.raw = pcie_get_reg_8(&p->ctrlr, BRISK_NVME_REG_CAP);
	p->db_stride = 1u << cap.bits.dstrd;
	return 0;
}

static struct brisk_pci_device *pcie_get_device(const struct brisk_nvme_transport_id *trid)
{
	struct brisk_pci_device *dev = NULL;
	struct brisk_pci_addr addr;

	if (brisk_pci_addr_parse(&addr, trid->traddr) != 0) {
		BRISK_ERRLOG("nvme: traddr '%s' is not a PCI address\n", trid->traddr);
		return NULL;
	}
	if (brisk_pci_device_get(&addr, &dev) != 0) {
		BRISK_ERRLOG("nvme: no PCI device at %s\n", trid->traddr);
		return NULL;
	}
	return dev;
}

static void pcie_free(struct nvme_pcie_ctrlr *p)
{
	if (p->bar0 != NULL) {
		brisk_pci_device_unmap_bar(p->pci, 0, (void *)p->bar0);
	}
	brisk_pci_device_free(p->pci);
	free(p);
}

static struct brisk_nvme_ctrlr *pcie_ctrlr_construct(const struct brisk_nvme_transport_id *trid,
						     const struct brisk_nvme_ctrlr_opts *opts,
						     void *dev)
{
	struct nvme_pcie_ctrlr *p = calloc(1, sizeof(*p));
	int rc;

	if (dev == NULL) {
		dev = pcie_get_device(trid);
	}
	if (p == NULL || dev == NULL) {
		free(p);
		if (dev != NULL) {
			brisk_pci_device_free(dev);
		}
		return NULL;
	}
	p->pci = dev;
	rc = pcie_map(p);
	if (rc == 0) {
		rc = nvme_ctrlr_construct(&p->ctrlr, trid, opts, &nvme_pcie_ops);
	}
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: cannot attach (%d)\n", trid->traddr, rc);
		pcie_free(p);
		return NULL;
	}
	/* PCIe has no keep-alive (NVMe Base 7.12: a fabrics mechanism). */
	p->ctrlr.opts.keep_alive_timeout_ms = 0;
	return &p->ctrlr;
}

static void pcie_ctrlr_destruct(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_pcie_ctrlr *p = pcie_ctrlr(ctrlr);

	nvme_ctrlr_destruct(ctrlr);
	pcie_free(p);
}

static void pcie_dev_free(void *dev)
{
	brisk_pci_device_free(dev);
}

static int pcie_scan_cb(void *ctx, struct brisk_pci_device *dev)
{
	struct brisk_nvme_transport_id trid = { .trtype = BRISK_NVME_TRANSPORT_PCIE };
	struct brisk_pci_addr addr = brisk_pci_device_get_addr(dev);

	brisk_pci_addr_fmt(trid.traddr, sizeof(trid.traddr), &addr);
	nvme_probe_found(ctx, &trid, dev); /* takes the device */
	return 1;
}

static int pcie_scan(struct brisk_nvme_probe_ctx *ctx, const struct brisk_nvme_transport_id *trid)
{
	struct brisk_pci_device *dev;

	if (trid->traddr[0] == '\0') {
		return brisk_pci_enumerate(BRISK_PCI_CLASS_NVME, pcie_scan_cb, ctx);
	}
	if (nvme_ctrlr_is_attached(trid)) {
		return 0;
	}
	dev = pcie_get_device(trid);
	if (dev == NULL) {
		return -ENODEV;
	}
	nvme_probe_found(ctx, trid, dev);
	return 0;
}

const struct nvme_transport_ops nvme_pcie_ops = {
	.name = "PCIe",
	.trtype = BRISK_NVME_TRANSPORT_PCIE,
	.scan = pcie_scan,
	.ctrlr_construct = pcie_ctrlr_construct,
	.ctrlr_destruct = pcie_ctrlr_destruct,
	.dev_free = pcie_dev_free,
	.get_reg_4 = pcie_get_reg_4,
	.set_reg_4 = pcie_set_reg_4,
	.get_reg_8 = pcie_get_reg_8,
	.set_reg_8 = pcie_set_reg_8,
	.is_removed = pcie_is_removed,
	.max_queue_entries = pcie_max_queue_entries,
	.qpair_init_doorbells = pcie_qpair_init_doorbells,
	.ring_sq_doorbell = pcie_ring_unused,
	.ring_cq_doorbell = pcie_ring_unused,
};
