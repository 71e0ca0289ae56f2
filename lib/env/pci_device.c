/*
 * A device's life once found: claim, attach through the user-space driver the
 * kernel bound to it (uio_pci_generic or vfio-pci), BAR mappings, config
 * space, removal, detach and free. The access-specific work is in pci_uio.c
 * and pci_vfio.c; this file checks state and picks the access.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/pci.h>

#include "pci_internal.h"

int
brisk_pci_device_claim(struct brisk_pci_device *dev)
{
	int rc;

	if (dev == NULL) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_pci_lock);
	rc = dev->claimed ? 0 : pci_claim_locked(dev);
	pthread_mutex_unlock(&g_pci_lock);
	return rc;
}

void
brisk_pci_device_unclaim(struct brisk_pci_device *dev)
{
	if (dev == NULL) {
		return;
	}
	pthread_mutex_lock(&g_pci_lock);
	if (dev->access != PCI_ACCESS_NONE) {
		/* Driving a device nobody owns would let another process take it. */
		BRISK_ERRLOG("PCI %s: unclaim while attached; detach first\n", dev->addr_str);
	} else {
		pci_unclaim_locked(dev);
	}
	pthread_mutex_unlock(&g_pci_lock);
}

/* The access the bound driver gives, or -ENODEV naming what is bound. */
static int
pick_access(struct brisk_pci_device *dev, enum pci_access *access)
{
	const char *driver = brisk_pci_device_get_driver(dev);

	if (driver != NULL && strcmp(driver, "vfio-pci") == 0) {
		*access = PCI_ACCESS_VFIO;
		return 0;
	}
	if (driver != NULL && strcmp(driver, "uio_pci_generic") == 0) {
		*access = PCI_ACCESS_UIO;
		return 0;
	}
	BRISK_ERRLOG("PCI %s: bound to %s%s, not vfio-pci or uio_pci_generic (run scripts/setup.sh "
		     "config)\n", dev->addr_str, driver != NULL ? "driver " : "no driver",
		     driver != NULL ? driver : "");
	return -ENODEV;
}

/* uio devices need physical addresses, VFIO ones IOVA = VA: one process
 * cannot hand both kinds the same brisk_vtophys answers. */
static int
check_mix(const struct brisk_pci_device *dev, enum pci_access access)
{
	if (access == PCI_ACCESS_UIO && pci_vfio_in_use()) {
		BRISK_ERRLOG("PCI %s: bound to uio_pci_generic, but this process already drives "
			     "devices through vfio-pci (IOVA = VA); bind all devices to one driver\n",
			     dev->addr_str);
		return -ENODEV;
	}
	return 0;
}

static int
attach_locked(struct brisk_pci_device *dev)
{
	enum pci_access access;
	int rc;

	rc = pick_access(dev, &access);
	if (rc == 0) {
		rc = check_mix(dev, access);
	}
	if (rc == 0 && !dev->claimed) {
		rc = pci_claim_locked(dev);
		dev->claimed_by_attach = rc == 0;
	}
	if (rc != 0) {
		return rc;
	}
	rc = access == PCI_ACCESS_VFIO ? pci_vfio_attach(dev) : pci_uio_attach(dev);
	if (rc == 0) {
		rc = pci_enable_bus_master(dev);
		if (rc != 0) {
			BRISK_ERRLOG("PCI %s: cannot enable bus mastering: %d\n", dev->addr_str, rc);
			access == PCI_ACCESS_VFIO ? pci_vfio_detach(dev) : pci_uio_detach(dev);
		}
	}
	if (rc != 0 && dev->claimed_by_attach) {
		pci_unclaim_locked(dev);
		dev->claimed_by_attach = false;
	}
	return rc;
}

int
brisk_pci_device_attach(struct brisk_pci_device *dev)
{
	int rc;

	if (dev == NULL) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_pci_lock);
	rc = dev->access != PCI_ACCESS_NONE ? 0 : attach_locked(dev);
	pthread_mutex_unlock(&g_pci_lock);
	return rc;
}

static void
unmap_all_bars(struct brisk_pci_device *dev)
{
	int i;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		if (dev->bars[i].vaddr != NULL) {
			munmap(dev->bars[i].vaddr, dev->bars[i].map_len);
			dev->bars[i].vaddr = NULL;
		}
	}
}

static void
detach_locked(struct brisk_pci_device *dev)
{
	if (dev->access == PCI_ACCESS_NONE) {
		return;
	}
	unmap_all_bars(dev);
	if (dev->access == PCI_ACCESS_VFIO) {
		pci_vfio_detach(dev);
	} else {
		pci_uio_detach(dev);
	}
	dev->access = PCI_ACCESS_NONE;
	if (dev->claimed_by_attach) {
		pci_unclaim_locked(dev);
		dev->claimed_by_attach = false;
	}
}

void
brisk_pci_device_detach(struct brisk_pci_device *dev)
{
	if (dev == NULL) {
		return;
	}
	pthread_mutex_lock(&g_pci_lock);
	detach_locked(dev);
	pthread_mutex_unlock(&g_pci_lock);
}

void
brisk_pci_device_free(struct brisk_pci_device *dev)
{
	if (dev == NULL) {
		return;
	}
	pthread_mutex_lock(&g_pci_lock);
	detach_locked(dev);
	pci_unclaim_locked(dev);
	pthread_mutex_unlock(&g_pci_lock);
	free(dev);
}

bool
brisk_pci_device_is_vfio(const struct brisk_pci_device *dev)
{
	return dev != NULL && dev->access == PCI_ACCESS_VFIO;
}

int
brisk_pci_device_map_bar(struct brisk_pci_device *dev, uint32_t bar, void **vaddr,
			 uint64_t *phys, uint64_t *size)
{
	int rc;

	if (dev == NULL || vaddr == NULL || size == NULL || bar >= PCI_NUM_BARS) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_pci_lock);
	if (dev->access == PCI_ACCESS_NONE) {
		BRISK_ERRLOG("PCI %s: map BAR%u of a device that is not attached\n", dev->addr_str, bar);
		rc = -EINVAL;
	} else if (dev->bars[bar].vaddr != NULL) {
		*vaddr = dev->bars[bar].vaddr; /* one mapping per BAR, shared */
		*size = dev->bars[bar].map_len;
		rc = 0;
	} else {
		rc = dev->access == PCI_ACCESS_VFIO ? pci_vfio_map_bar(dev, bar, vaddr, size) :
		     pci_uio_map_bar(dev, bar, vaddr, size);
		if (rc == 0) {
			dev->bars[bar].vaddr = *vaddr;
			dev->bars[bar].map_len = *size;
		}
	}
	if (rc == 0 && phys != NULL) {
		*phys = dev->bars[bar].phys;
	}
	pthread_mutex_unlock(&g_pci_lock);
	return rc;
}

int
brisk_pci_device_unmap_bar(struct brisk_pci_device *dev, uint32_t bar, void *vaddr)
{
	int rc = 0;

	if (dev == NULL || bar >= PCI_NUM_BARS) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_pci_lock);
	if (dev->bars[bar].vaddr == NULL || dev->bars[bar].vaddr != vaddr) {
		rc = -EINVAL;
	} else {
		rc = munmap(vaddr, dev->bars[bar].map_len) == 0 ? 0 : -errno;
		dev->bars[bar].vaddr = NULL;
	}
	pthread_mutex_unlock(&g_pci_lock);
	return rc;
}

static int
cfg_rw(struct brisk_pci_device *dev, void *buf, uint32_t len, uint32_t offset, bool write)
{
	if (dev == NULL || buf == NULL || len == 0 || offset > 4096 || len > 4096 - offset) {
		return -EINVAL;
	}
	switch (dev->access) {
	case PCI_ACCESS_VFIO:
		return pci_vfio_cfg_rw(dev, buf, len, offset, write);
	case PCI_ACCESS_UIO:
		return pci_uio_cfg_rw(dev, buf, len, offset, write);
	default:
		return -EINVAL;
	}
}

int
brisk_pci_device_cfg_read(struct brisk_pci_device *dev, void *buf, uint32_t len, uint32_t offset)
{
	return cfg_rw(dev, buf, len, offset, false);
}

int
brisk_pci_device_cfg_write(struct brisk_pci_device *dev, const void *buf, uint32_t len,
			   uint32_t offset)
{
	return cfg_rw(dev, (void *)(uintptr_t)buf, len, offset, true);
}

int
pci_enable_bus_master(struct brisk_pci_device *dev)
{
	uint16_t cmd;
	int rc;

	rc = cfg_rw(dev, &cmd, sizeof(cmd), PCI_CFG_COMMAND, false);
	if (rc != 0) {
		return rc;
	}
	if ((cmd & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) ==
	    (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) {
		return 0;
	}
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return cfg_rw(dev, &cmd, sizeof(cmd), PCI_CFG_COMMAND, true);
}

bool
brisk_pci_device_is_removed(struct brisk_pci_device *dev)
{
	char path[PCI_PATH_MAX];

	if (dev == NULL) {
		return true;
	}
	if (dev->removed) {
		return true;
	}
	if (dev->access == PCI_ACCESS_VFIO && pci_vfio_req_pending(dev)) {
		BRISK_NOTICELOG("PCI %s: the kernel asks for the device back\n", dev->addr_str);
		dev->removed = true;
	} else if (pci_dev_file(dev, "vendor", path, sizeof(path)) != 0 ||
		   access(path, F_OK) != 0) {
		BRISK_NOTICELOG("PCI %s: gone from sysfs\n", dev->addr_str);
		dev->removed = true;
	}
	return dev->removed;
}
