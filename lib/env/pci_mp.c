/*
 * A secondary process's access to a device its primary claimed (the
 * multi-process model of env.h): no claim (the primary holds the lock file
 * and keeps holding it), no change to the command register (the primary
 * enabled bus mastering), only a mapping of the BARs so the secondary can
 * ring its own doorbells.
 *
 * Only uio_pci_generic is supported: sysfs resourceN can be mapped by any
 * process, and a secondary's DMA addresses are physical ones read from its
 * own pagemap of the same shared hugepages, which equal the primary's. Under
 * vfio-pci the IOMMU mappings belong to the primary's container, which a
 * second process cannot open (the group is busy); sharing it would need the
 * container and device descriptors passed over a Unix socket, not done yet.
 */
#include <errno.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/pci.h>

#include "pci_internal.h"

static int
attach_secondary_locked(struct brisk_pci_device *dev)
{
	const char *driver = brisk_pci_device_get_driver(dev);

	if (driver != NULL && strcmp(driver, "uio_pci_generic") == 0) {
		if (pci_vfio_in_use()) {
			BRISK_ERRLOG("PCI %s: uio_pci_generic device in a process that uses "
				     "vfio-pci\n", dev->addr_str);
			return -ENODEV;
		}
		return pci_uio_attach(dev);
	}
	if (driver != NULL && strcmp(driver, "vfio-pci") == 0) {
		BRISK_ERRLOG("PCI %s: a secondary process cannot share a vfio-pci device yet "
			     "(bind it to uio_pci_generic for multi-process use)\n", dev->addr_str);
		return -ENOTSUP;
	}
	BRISK_ERRLOG("PCI %s: bound to %s, not uio_pci_generic\n", dev->addr_str,
		     driver != NULL ? driver : "no driver");
	return -ENODEV;
}

int
brisk_pci_device_attach_secondary(struct brisk_pci_device *dev)
{
	int rc;

	if (dev == NULL) {
		return -EINVAL;
	}
	if (brisk_env_get_proc_type() != BRISK_PROC_SECONDARY) {
		BRISK_ERRLOG("PCI %s: attach_secondary in a process that is not a secondary\n",
			     dev->addr_str);
		return -EINVAL;
	}
	pthread_mutex_lock(&g_pci_lock);
	rc = dev->access != PCI_ACCESS_NONE ? 0 : attach_secondary_locked(dev);
	pthread_mutex_unlock(&g_pci_lock);
	return rc;
}
