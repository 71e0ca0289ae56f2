/*
 * Access through vfio-pci behind an IOMMU.
 *
 * One VFIO container per process holds every group this process attaches;
 * the first group gives it a type 1 IOMMU. All memory registered with lib/env
 * (brisk_mem_register: the reserved segments and whatever is registered
 * later) is mapped into that IOMMU with IOVA = VA, through a brisk_mem_map
 * whose notify callback issues VFIO_IOMMU_MAP_DMA / UNMAP_DMA. From then on
 * brisk_vtophys answers VA. Mappings are made per 2 MiB page so that
 * unregistering part of a region never has to split an IOMMU mapping.
 *
 * The device-request interrupt (VFIO_PCI_REQ_IRQ_INDEX) signals an eventfd
 * when the kernel wants the device back (unbind, hot remove);
 * brisk_pci_device_is_removed reports it so the driver releases the device.
 *
 * When the last device is detached, the DMA map, groups and container are
 * closed and brisk_vtophys goes back to physical addresses.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/pci.h>

#include "env_internal.h"
#include "pci_internal.h"

#define VFIO_MAX_GROUPS 64
#define VFIO_CHUNK BRISK_MEM_MAP_PAGE_SIZE

struct vfio_group_ref {
	int num;
	int fd;
	int refs;
};

/* All under g_pci_lock except container_fd, read by the DMA map's notify
 * callback, which runs only while a group keeps the container alive. */
static struct {
	int container_fd;
	struct brisk_mem_map *dma_map;
	struct vfio_group_ref groups[VFIO_MAX_GROUPS];
	int ngroups;
	int devices;
} g_vfio = { .container_fd = -1 };

bool
pci_vfio_in_use(void)
{
	return g_vfio.devices > 0;
}

/* ---- IOMMU mappings of Brisk's memory ---- */

static int
dma_unmap_range(uint64_t va, uint64_t len)
{
	struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof(unmap) };
	uint64_t off;
	int rc = 0;

	for (off = 0; off < len; off += VFIO_CHUNK) {
		unmap.iova = va + off;
		unmap.size = VFIO_CHUNK;
		if (ioctl(g_vfio.container_fd, VFIO_IOMMU_UNMAP_DMA, &unmap) != 0) {
			rc = -errno;
			BRISK_ERRLOG("VFIO: unmap of IOVA 0x%" PRIx64 " failed: %s\n", va + off,
				     strerror(errno));
		}
	}
	return rc;
}

static int
dma_map_range(uint64_t va, uint64_t len)
{
	struct vfio_iommu_type1_dma_map map = {
		.argsz = sizeof(map),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
	};
	uint64_t off;
	int rc;

	for (off = 0; off < len; off += VFIO_CHUNK) {
		map.vaddr = va + off;
		map.iova = va + off; /* IOVA = VA */
		map.size = VFIO_CHUNK;
		if (ioctl(g_vfio.container_fd, VFIO_IOMMU_MAP_DMA, &map) != 0) {
			rc = -errno;
			BRISK_ERRLOG("VFIO: cannot map 0x%" PRIx64 "+2 MiB into the IOMMU: %s\n",
				     va + off, strerror(errno));
			if (off != 0) {
				dma_unmap_range(va, off);
			}
			return rc;
		}
	}
	return 0;
}

static int
dma_notify(void *cb_ctx, struct brisk_mem_map *map, enum brisk_mem_map_notify_action action,
	   void *vaddr, size_t size)
{
	uint64_t va = (uint64_t)(uintptr_t)vaddr;

	(void)cb_ctx;
	(void)map;
	if (action == BRISK_MEM_MAP_NOTIFY_REGISTER) {
		return dma_map_range(va, size);
	}
	dma_unmap_range(va, size);
	return 0;
}

/* ---- Container and groups ---- */

static int
container_open(void)
{
	int fd = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		BRISK_ERRLOG("VFIO: cannot open /dev/vfio/vfio: %s (is the vfio module loaded?)\n",
			     strerror(errno));
		return -ENODEV;
	}
	if (ioctl(fd, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) <= 0) {
		BRISK_ERRLOG("VFIO: the kernel's VFIO has another API version or no type 1 IOMMU "
			     "(load vfio_iommu_type1)\n");
		close(fd);
		return -ENODEV;
	}
	g_vfio.container_fd = fd;
	return 0;
}

/* First group in the container: the IOMMU, then every registered region. */
static int
container_start_iommu(void)
{
	static const struct brisk_mem_map_ops ops = { .notify_cb = dma_notify };

	if (ioctl(g_vfio.container_fd, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU) != 0) {
		BRISK_ERRLOG("VFIO: VFIO_SET_IOMMU (type 1) failed: %s\n", strerror(errno));
		return -errno;
	}
	g_vfio.dma_map = brisk_mem_map_alloc(0, &ops, NULL);
	if (g_vfio.dma_map == NULL) {
		BRISK_ERRLOG("VFIO: cannot map Brisk's memory into the IOMMU\n");
		return -ENOMEM;
	}
	env_vtophys_set_iova_va(true);
	return 0;
}

/* Before the last group leaves: its IOMMU still holds the mappings to undo. */
static void
container_stop_iommu(void)
{
	if (g_vfio.dma_map != NULL) {
		env_vtophys_set_iova_va(false);
		brisk_mem_map_free(&g_vfio.dma_map);
	}
}

static void
container_close(void)
{
	container_stop_iommu();
	if (g_vfio.container_fd >= 0) {
		close(g_vfio.container_fd);
		g_vfio.container_fd = -1;
	}
}

static struct vfio_group_ref *
group_find(int num)
{
	int i;

	for (i = 0; i < g_vfio.ngroups; i++) {
		if (g_vfio.groups[i].num == num) {
			return &g_vfio.groups[i];
		}
	}
	return NULL;
}

static void
group_put(int num)
{
	struct vfio_group_ref *g = group_find(num);

	if (g == NULL || --g->refs > 0) {
		return;
	}
	if (g_vfio.ngroups == 1) {
		container_stop_iommu();
	}
	ioctl(g->fd, VFIO_GROUP_UNSET_CONTAINER);
	close(g->fd);
	*g = g_vfio.groups[--g_vfio.ngroups];
	if (g_vfio.ngroups == 0) {
		container_close();
	}
}

/* Opens group num, checks it is viable and adds it to the container. */
static int
group_open(const struct brisk_pci_device *dev, int num)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%d", num);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		BRISK_ERRLOG("PCI %s: cannot open %s: %s\n", dev->addr_str, path, strerror(errno));
		return errno == EBUSY ? -EBUSY : -ENODEV;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &status) != 0 ||
	    (status.flags & VFIO_GROUP_FLAGS_VIABLE) == 0) {
		BRISK_ERRLOG("PCI %s: IOMMU group %d is not viable: bind every device of "
			     "/sys/kernel/iommu_groups/%d to vfio-pci\n", dev->addr_str, num, num);
		close(fd);
		return -ENODEV;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &g_vfio.container_fd) != 0) {
		BRISK_ERRLOG("PCI %s: cannot add IOMMU group %d to the container: %s\n",
			     dev->addr_str, num, strerror(errno));
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/* A reference on group num, opening it (and the container) on first use. */
static int
group_get(const struct brisk_pci_device *dev, int num, int *group_fd)
{
	struct vfio_group_ref *g = group_find(num);
	int fd, rc;

	if (g != NULL) {
		g->refs++;
		*group_fd = g->fd;
		return 0;
	}
	if (g_vfio.ngroups == VFIO_MAX_GROUPS) {
		return -ENOSPC;
	}
	if (g_vfio.container_fd < 0 && (rc = container_open()) != 0) {
		return rc;
	}
	fd = group_open(dev, num);
	if (fd < 0) {
		if (g_vfio.ngroups == 0) {
			container_close();
		}
		return fd;
	}
	g_vfio.groups[g_vfio.ngroups++] = (struct vfio_group_ref) { .num = num, .fd = fd, .refs = 1 };
	if (g_vfio.ngroups == 1 && (rc = container_start_iommu()) != 0) {
		group_put(num);
		return rc;
	}
	*group_fd = fd;
	return 0;
}

/* ---- The device ---- */

static int
read_regions(struct brisk_pci_device *dev)
{
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	uint32_t i;

	for (i = 0; i < PCI_NUM_BARS; i++) {
		reg.index = VFIO_PCI_BAR0_REGION_INDEX + i;
		if (ioctl(dev->vfio_fd, VFIO_DEVICE_GET_REGION_INFO, &reg) != 0) {
			return -errno;
		}
		dev->vfio_bar_offset[i] = reg.offset;
		dev->vfio_bar_flags[i] = reg.flags;
		dev->bars[i].size = reg.size;
	}
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(dev->vfio_fd, VFIO_DEVICE_GET_REGION_INFO, &reg) != 0) {
		return -errno;
	}
	dev->vfio_cfg_offset = reg.offset;
	return 0;
}

/* Asks VFIO to signal an eventfd when the kernel wants the device back. */
static void
req_irq_enable(struct brisk_pci_device *dev)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_REQ_IRQ_INDEX };
	char buf[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;
	int32_t fd;

	if (ioctl(dev->vfio_fd, VFIO_DEVICE_GET_IRQ_INFO, &info) != 0 || info.count == 0) {
		BRISK_WARNLOG("PCI %s: no VFIO device-request interrupt: removal is seen only when "
			      "the device leaves sysfs\n", dev->addr_str);
		return;
	}
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0) {
		return;
	}
	set->argsz = sizeof(buf);
	set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	set->index = VFIO_PCI_REQ_IRQ_INDEX;
	set->start = 0;
	set->count = 1;
	memcpy(set->data, &fd, sizeof(fd));
	if (ioctl(dev->vfio_fd, VFIO_DEVICE_SET_IRQS, set) != 0) {
		BRISK_WARNLOG("PCI %s: cannot enable the device-request interrupt: %s\n",
			      dev->addr_str, strerror(errno));
		close(fd);
		return;
	}
	dev->vfio_req_fd = fd;
}

static void
req_irq_disable(struct brisk_pci_device *dev)
{
	struct vfio_irq_set set = {
		.argsz = sizeof(set),
		.flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER,
		.index = VFIO_PCI_REQ_IRQ_INDEX,
		.start = 0,
		.count = 0,
	};

	if (dev->vfio_req_fd < 0) {
		return;
	}
	ioctl(dev->vfio_fd, VFIO_DEVICE_SET_IRQS, &set);
	close(dev->vfio_req_fd);
	dev->vfio_req_fd = -1;
}

bool
pci_vfio_req_pending(struct brisk_pci_device *dev)
{
	uint64_t count;

	return dev->vfio_req_fd >= 0 && read(dev->vfio_req_fd, &count, sizeof(count)) ==
	       (ssize_t)sizeof(count) && count > 0;
}

/* Device fd from the group; checks it is a PCI device with a config region. */
static int
device_open(struct brisk_pci_device *dev, int group_fd)
{
	struct vfio_device_info info = { .argsz = sizeof(info) };

	dev->vfio_fd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, dev->addr_str);
	if (dev->vfio_fd < 0) {
		dev->vfio_fd = -1;
		BRISK_ERRLOG("PCI %s: VFIO_GROUP_GET_DEVICE_FD failed: %s\n", dev->addr_str,
			     strerror(errno));
		return errno == EBUSY ? -EBUSY : -ENODEV;
	}
	if (ioctl(dev->vfio_fd, VFIO_DEVICE_GET_INFO, &info) != 0 ||
	    (info.flags & VFIO_DEVICE_FLAGS_PCI) == 0 ||
	    info.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX || read_regions(dev) != 0) {
		BRISK_ERRLOG("PCI %s: VFIO does not describe it as a PCI device\n", dev->addr_str);
		close(dev->vfio_fd);
		dev->vfio_fd = -1;
		return -ENODEV;
	}
	return 0;
}

int
pci_vfio_attach(struct brisk_pci_device *dev)
{
	char name[32];
	int group_fd, rc;

	if (pci_read_link_name(dev, "iommu_group", name, sizeof(name)) != 0) {
		BRISK_ERRLOG("PCI %s: bound to vfio-pci but in no IOMMU group (boot with the IOMMU "
			     "on, e.g. intel_iommu=on)\n", dev->addr_str);
		return -ENODEV;
	}
	dev->vfio_group = atoi(name);
	rc = group_get(dev, dev->vfio_group, &group_fd);
	if (rc != 0) {
		dev->vfio_group = -1;
		return rc;
	}
	rc = device_open(dev, group_fd);
	if (rc != 0) {
		group_put(dev->vfio_group);
		dev->vfio_group = -1;
		return rc;
	}
	req_irq_enable(dev);
	dev->access = PCI_ACCESS_VFIO;
	g_vfio.devices++;
	return 0;
}

void
pci_vfio_detach(struct brisk_pci_device *dev)
{
	req_irq_disable(dev);
	if (g_vfio.devices == 1 && dev->access == PCI_ACCESS_VFIO) {
		/* Undo the IOMMU mappings while this device keeps its group in the
		 * container: once its fd closes, a pending unbind completes and the
		 * kernel may take the group's IOMMU away under us. */
		container_stop_iommu();
	}
	if (dev->vfio_fd >= 0) {
		close(dev->vfio_fd);
		dev->vfio_fd = -1;
	}
	if (dev->vfio_group >= 0) {
		group_put(dev->vfio_group);
		dev->vfio_group = -1;
	}
	if (dev->access == PCI_ACCESS_VFIO) {
		g_vfio.devices--;
	}
}

int
pci_vfio_map_bar(struct brisk_pci_device *dev, uint32_t bar, void **vaddr, uint64_t *size)
{
	void *va;

	if (dev->bars[bar].size == 0 || (dev->vfio_bar_flags[bar] & VFIO_REGION_INFO_FLAG_MMAP) == 0) {
		BRISK_ERRLOG("PCI %s: BAR%u is %s\n", dev->addr_str, bar,
			     dev->bars[bar].size == 0 ? "not implemented" : "not mappable through VFIO");
		return -EINVAL;
	}
	va = mmap(NULL, dev->bars[bar].size, PROT_READ | PROT_WRITE, MAP_SHARED, dev->vfio_fd,
		  (off_t)dev->vfio_bar_offset[bar]);
	if (va == MAP_FAILED) {
		BRISK_ERRLOG("PCI %s: mmap of BAR%u failed: %s\n", dev->addr_str, bar, strerror(errno));
		return -errno;
	}
	*vaddr = va;
	*size = dev->bars[bar].size;
	return 0;
}

int
pci_vfio_cfg_rw(struct brisk_pci_device *dev, void *buf, uint32_t len, uint32_t offset,
		bool write)
{
	off_t off = (off_t)(dev->vfio_cfg_offset + offset);
	ssize_t n;

	n = write ? pwrite(dev->vfio_fd, buf, len, off) : pread(dev->vfio_fd, buf, len, off);
	if (n < 0) {
		return -errno;
	}
	return (uint32_t)n == len ? 0 : -EIO;
}
