/*
 * Private to lib/env's PCI files: the device object and how its pieces fit.
 *
 *   pci_addr.c   address parsing/formatting, the app's allow and block lists
 *   pci_sysfs.c  the sysfs tree: enumeration, ids, driver, removal, attach dispatch
 *   pci_claim.c  lock files that keep two processes off one device
 *   pci_uio.c    access through uio_pci_generic (sysfs config and resourceN)
 *   pci_vfio.c   access through vfio-pci (container, groups, IOMMU DMA map)
 *
 * Everything that changes a device's attach state runs under g_pci_lock, so
 * attach/detach from several threads cannot race on the shared VFIO container.
 */
#ifndef BRISK_PCI_INTERNAL_H
#define BRISK_PCI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <brisk/pci.h>

#define PCI_PATH_MAX 512
#define PCI_DRIVER_NAME_MAX 64
#define PCI_NUM_BARS 6
/* Command register (config offset 4): bit 1 memory space, bit 2 bus master. */
#define PCI_CFG_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x0002
#define PCI_COMMAND_MASTER 0x0004
/* Environment variables the tests use to point at a fake tree. */
#define PCI_SYSFS_ROOT_ENV "BRISK_PCI_SYSFS_ROOT"
#define PCI_LOCK_DIR_ENV "BRISK_PCI_LOCK_DIR"

enum pci_access {
	PCI_ACCESS_NONE = 0,
	PCI_ACCESS_UIO,
	PCI_ACCESS_VFIO,
};

struct pci_bar_info {
	uint64_t phys;   /* bus address from sysfs "resource", 0 if unknown */
	uint64_t size;
	bool is_mem;     /* memory BAR (an I/O port BAR cannot be mapped) */
	void *vaddr;     /* current mapping, NULL if none */
	uint64_t map_len;
};

struct brisk_pci_device {
	struct brisk_pci_addr addr;
	char addr_str[BRISK_PCI_ADDR_STR_LEN + 8];
	struct brisk_pci_id id;
	int numa_node;
	char path[PCI_PATH_MAX];                 /* <root>/bus/pci/devices/<addr> */
	char driver[PCI_DRIVER_NAME_MAX];        /* last read by get_driver */
	struct pci_bar_info bars[PCI_NUM_BARS];

	/* pci_claim.c */
	int lock_fd;                             /* -1 when not claimed */
	bool claimed;
	bool claimed_by_attach;                  /* attach claimed it, detach releases */
	pid_t claimed_pid;                       /* process that took the lock */

	/* attach state */
	enum pci_access access;
	bool removed;
	int cfg_fd;                              /* uio: sysfs config; -1 */
	int vfio_fd;                             /* vfio: device fd; -1 */
	int vfio_req_fd;                         /* vfio: device-request eventfd; -1 */
	int vfio_group;                          /* vfio: group number; -1 */
	uint64_t vfio_cfg_offset;                /* vfio: config region offset in vfio_fd */
	uint64_t vfio_bar_offset[PCI_NUM_BARS];
	uint32_t vfio_bar_flags[PCI_NUM_BARS];
};

extern pthread_mutex_t g_pci_lock;

/* pci_sysfs.c */
/* "<root>/bus/pci/devices" with root from BRISK_PCI_SYSFS_ROOT or "/sys". */
const char *pci_sysfs_root(void);
/* Formats "<dev->path>/<name>" into buf; 0 or -ENAMETOOLONG. */
int pci_dev_file(const struct brisk_pci_device *dev, const char *name, char *buf, size_t len);
/* Reads a sysfs attribute into buf (trailing newline removed); 0 or -errno. */
int pci_read_attr(const struct brisk_pci_device *dev, const char *name, char *buf, size_t len);
/* Bus address, size and type of every BAR from sysfs "resource". */
int pci_read_resources(struct brisk_pci_device *dev);
/* Name of the link target's last component ("driver", "iommu_group"); 0 or -errno. */
int pci_read_link_name(const struct brisk_pci_device *dev, const char *link, char *buf, size_t len);

/* Sets memory space and bus master in the command register through dev's cfg_write. */
int pci_enable_bus_master(struct brisk_pci_device *dev);

/* pci_claim.c (g_pci_lock held) */
int pci_claim_locked(struct brisk_pci_device *dev);
void pci_unclaim_locked(struct brisk_pci_device *dev);

/* pci_uio.c (g_pci_lock held) */
int pci_uio_attach(struct brisk_pci_device *dev);
void pci_uio_detach(struct brisk_pci_device *dev);
int pci_uio_map_bar(struct brisk_pci_device *dev, uint32_t bar, void **vaddr, uint64_t *size);
int pci_uio_cfg_rw(struct brisk_pci_device *dev, void *buf, uint32_t len, uint32_t offset,
		   bool write);

/* pci_vfio.c (g_pci_lock held) */
int pci_vfio_attach(struct brisk_pci_device *dev);
void pci_vfio_detach(struct brisk_pci_device *dev);
int pci_vfio_map_bar(struct brisk_pci_device *dev, uint32_t bar, void **vaddr, uint64_t *size);
int pci_vfio_cfg_rw(struct brisk_pci_device *dev, void *buf, uint32_t len, uint32_t offset,
		    bool write);
/* True when the kernel asked for the device back (device-request eventfd fired). */
bool pci_vfio_req_pending(struct brisk_pci_device *dev);
/* True while some device is attached through VFIO (IOVA = VA in force). */
bool pci_vfio_in_use(void);

#endif
