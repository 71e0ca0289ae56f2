/*
 * PCI access for user-space drivers (part of lib/env): enumerate devices from
 * sysfs, filter them by the app's allow/block lists, claim one so that no
 * other process drives it, map its BARs and give it DMA access to Brisk's
 * memory through VFIO (IOVA = VA behind an IOMMU) or uio_pci_generic
 * (physical addresses from brisk_vtophys). After brisk_pci_device_attach,
 * brisk_vtophys returns the address the device must be given, whichever
 * mode is in use.
 */
#ifndef BRISK_PCI_H
#define BRISK_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Class code (base class, subclass, programming interface) of NVMe controllers. */
#define BRISK_PCI_CLASS_NVME 0x010802u
#define BRISK_PCI_ANY_ID 0xffffu
#define BRISK_PCI_ADDR_STR_LEN 13 /* "0000:00:04.0" and its NUL */

struct brisk_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t func;
};

struct brisk_pci_id {
	uint32_t class_code; /* 24 bits: base class << 16 | subclass << 8 | prog if */
	uint16_t vendor_id;
	uint16_t device_id;
	uint16_t subvendor_id;
	uint16_t subdevice_id;
};

/* Parses "DDDD:BB:DD.F", "BB:DD.F" (domain 0) and fio's "DDDD.BB.DD.F".
 * 0 or -EINVAL. */
int brisk_pci_addr_parse(struct brisk_pci_addr *addr, const char *str);
/* Writes "DDDD:BB:DD.F"; 0 or -ENOSPC when len < BRISK_PCI_ADDR_STR_LEN. */
int brisk_pci_addr_fmt(char *buf, size_t len, const struct brisk_pci_addr *addr);
/* Negative, 0 or positive, as strcmp. */
int brisk_pci_addr_compare(const struct brisk_pci_addr *a, const struct brisk_pci_addr *b);

/* The app's allow and block lists (-A/--pci-allowed, -B/--pci-blocked). With
 * an allow list, only the listed devices are allowed; otherwise every device
 * not on the block list is. 0, -EINVAL (bad address) or -ENOMEM. */
int brisk_pci_allow(const char *addr);
int brisk_pci_block(const char *addr);
bool brisk_pci_addr_allowed(const struct brisk_pci_addr *addr);
/* Empties both lists (every device allowed again). */
void brisk_pci_lists_reset(void);
/* Entries in each list (the app refuses -A and -B together, as SPDK does). */
size_t brisk_pci_allowed_count(void);
size_t brisk_pci_blocked_count(void);

struct brisk_pci_device; /* opaque; owned by lib/env until brisk_pci_device_free */

/* Calls cb for every allowed device whose class matches class_code (0 = any)
 * found in sysfs, in address order. The device belongs to cb when it returns 1
 * (free it with brisk_pci_device_free), otherwise it is freed when cb returns;
 * a negative return stops the walk and is returned. 0 when the walk ends. */
typedef int (*brisk_pci_enum_cb)(void *ctx, struct brisk_pci_device *dev);
int brisk_pci_enumerate(uint32_t class_code, brisk_pci_enum_cb cb, void *ctx);
/* The one device at addr (allowed or not: the caller asked for it by name).
 * 0 and *dev, -ENOENT when sysfs has no such device. */
int brisk_pci_device_get(const struct brisk_pci_addr *addr, struct brisk_pci_device **dev);
/* Detaches and unclaims as needed, then frees. */
void brisk_pci_device_free(struct brisk_pci_device *dev);

struct brisk_pci_addr brisk_pci_device_get_addr(const struct brisk_pci_device *dev);
struct brisk_pci_id brisk_pci_device_get_id(const struct brisk_pci_device *dev);
int brisk_pci_device_get_numa_node(const struct brisk_pci_device *dev); /* -1 unknown */
/* Kernel driver bound to the device now ("vfio-pci", "uio_pci_generic", "nvme"),
 * or NULL when none; read afresh from sysfs. */
const char *brisk_pci_device_get_driver(struct brisk_pci_device *dev);

/* Claims the device for this process with a lock file
 * (/var/tmp/brisk_pci_lock_DDDD:BB:DD.F holding the owner's pid): 0, or
 * -EBUSY naming the pid of the process that holds it. Released by unclaim,
 * detach, free, or the process's exit. */
int brisk_pci_device_claim(struct brisk_pci_device *dev);
void brisk_pci_device_unclaim(struct brisk_pci_device *dev);

/* Opens the device through the user-space driver bound to it (vfio-pci or
 * uio_pci_generic; -ENODEV naming the driver otherwise), enables bus mastering
 * and memory decoding, and, under VFIO, maps all Brisk memory (present and
 * future) into the IOMMU. Claims the device first if the caller has not. */
int brisk_pci_device_attach(struct brisk_pci_device *dev);
void brisk_pci_device_detach(struct brisk_pci_device *dev);
bool brisk_pci_device_is_vfio(const struct brisk_pci_device *dev);

/* Maps BAR bar (0-5) of an attached device: *vaddr, its *size and its bus
 * address *phys (0 when unknown). 0, -EINVAL (no such BAR) or -errno. */
int brisk_pci_device_map_bar(struct brisk_pci_device *dev, uint32_t bar, void **vaddr,
			     uint64_t *phys, uint64_t *size);
int brisk_pci_device_unmap_bar(struct brisk_pci_device *dev, uint32_t bar, void *vaddr);

/* Configuration space access of an attached device: 0 or -errno. */
int brisk_pci_device_cfg_read(struct brisk_pci_device *dev, void *buf, uint32_t len,
			      uint32_t offset);
int brisk_pci_device_cfg_write(struct brisk_pci_device *dev, const void *buf, uint32_t len,
			       uint32_t offset);

/* True once the device has gone: its sysfs entry vanished, or (VFIO) the
 * kernel asked for it back through the device-request interrupt. A driver's
 * hot-plug poller checks this and releases the device. */
bool brisk_pci_device_is_removed(struct brisk_pci_device *dev);

#ifdef __cplusplus
}
#endif
#endif
