/*
 * Access through uio_pci_generic. The driver only exposes the device: BARs
 * are mapped through sysfs resourceN (size from fstat, the file is exactly
 * the BAR) and config space through sysfs "config". There is no IOMMU
 * translation, so the device is given physical addresses (brisk_vtophys from
 * /proc/self/pagemap) and the memory must be hugepages that never move.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/pci.h>

#include "pci_internal.h"

int
pci_uio_attach(struct brisk_pci_device *dev)
{
	char path[PCI_PATH_MAX];
	int rc;

	rc = pci_dev_file(dev, "config", path, sizeof(path));
	if (rc != 0) {
		return rc;
	}
	dev->cfg_fd = open(path, O_RDWR | O_CLOEXEC);
	if (dev->cfg_fd < 0) {
		rc = -errno;
		BRISK_ERRLOG("PCI %s: cannot open %s: %s\n", dev->addr_str, path, strerror(-rc));
		return rc;
	}
	if (brisk_env_is_initialized() && !brisk_env_using_hugepages()) {
		BRISK_WARNLOG("PCI %s: uio_pci_generic without hugepages: ordinary pages may move, "
			      "DMA is not safe (use hugepages or vfio-pci)\n", dev->addr_str);
	}
	dev->access = PCI_ACCESS_UIO;
	return 0;
}

void
pci_uio_detach(struct brisk_pci_device *dev)
{
	if (dev->cfg_fd >= 0) {
		close(dev->cfg_fd);
		dev->cfg_fd = -1;
	}
}

/* Opens sysfs resource<bar>; fd and its size (the BAR's), or -errno. */
static int
open_resource(struct brisk_pci_device *dev, uint32_t bar, uint64_t *size)
{
	char name[16], path[PCI_PATH_MAX];
	struct stat st;
	int fd, rc;

	snprintf(name, sizeof(name), "resource%u", bar);
	rc = pci_dev_file(dev, name, path, sizeof(path));
	if (rc != 0) {
		return rc;
	}
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? -EINVAL : -errno; /* no file: no such (memory) BAR */
		BRISK_ERRLOG("PCI %s: BAR%u: cannot open %s: %s\n", dev->addr_str, bar, path,
			     strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) != 0 || st.st_size <= 0) {
		close(fd);
		BRISK_ERRLOG("PCI %s: BAR%u: %s has no size\n", dev->addr_str, bar, path);
		return -EINVAL;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

int
pci_uio_map_bar(struct brisk_pci_device *dev, uint32_t bar, void **vaddr, uint64_t *size)
{
	/* Set with every fd open_resource returns; scan-build cannot see that
	 * pci_dev_file (another file) never returns a positive value. */
	uint64_t len = 0;
	void *va;
	int fd, rc;

	fd = open_resource(dev, bar, &len);
	if (fd < 0) {
		return fd;
	}
	va = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	rc = va == MAP_FAILED ? -errno : 0;
	close(fd); /* the mapping keeps the BAR */
	if (rc != 0) {
		BRISK_ERRLOG("PCI %s: BAR%u: mmap failed: %s\n", dev->addr_str, bar, strerror(-rc));
		return rc;
	}
	*vaddr = va;
	*size = len;
	return 0;
}

int
pci_uio_cfg_rw(struct brisk_pci_device *dev, void *buf, uint32_t len, uint32_t offset,
	       bool write)
{
	ssize_t n;

	n = write ? pwrite(dev->cfg_fd, buf, len, offset) : pread(dev->cfg_fd, buf, len, offset);
	if (n < 0) {
		return -errno;
	}
	return (uint32_t)n == len ? 0 : -EIO;
}
