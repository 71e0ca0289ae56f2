/*
 * The PCI devices the kernel lists in sysfs: enumeration by class in address
 * order, ids and NUMA node, the driver bound now, BAR resources.
 *
 * The sysfs root is "/sys" unless BRISK_PCI_SYSFS_ROOT names another folder,
 * so unit tests can lay out a fake <root>/bus/pci/devices tree.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/pci.h>

#include "pci_internal.h"

#define PCI_DEVICES_SUBDIR "/bus/pci/devices"
#define IORESOURCE_IO 0x100
#define IORESOURCE_MEM 0x200

pthread_mutex_t g_pci_lock = PTHREAD_MUTEX_INITIALIZER;

const char *
pci_sysfs_root(void)
{
	const char *root = getenv(PCI_SYSFS_ROOT_ENV);

	return root != NULL && root[0] != '\0' ? root : "/sys";
}

int
pci_dev_file(const struct brisk_pci_device *dev, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", dev->path, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
pci_read_attr(const struct brisk_pci_device *dev, const char *name, char *buf, size_t len)
{
	char path[PCI_PATH_MAX];
	ssize_t n;
	int fd, rc;

	rc = pci_dev_file(dev, name, path, sizeof(path));
	if (rc != 0) {
		return rc;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	n = read(fd, buf, len - 1);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc != 0) {
		return rc;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* A sysfs number ("0x010802", "-1", "0"); 0 or -errno. */
static int
read_attr_long(const struct brisk_pci_device *dev, const char *name, long long *v)
{
	char buf[64], *end;
	int rc = pci_read_attr(dev, name, buf, sizeof(buf));

	if (rc != 0) {
		return rc;
	}
	errno = 0;
	*v = strtoll(buf, &end, 0);
	return errno != 0 || end == buf || *end != '\0' ? -EINVAL : 0;
}

int
pci_read_link_name(const struct brisk_pci_device *dev, const char *link, char *buf, size_t len)
{
	char path[PCI_PATH_MAX], target[PCI_PATH_MAX];
	const char *base;
	ssize_t n;
	int rc;

	rc = pci_dev_file(dev, link, path, sizeof(path));
	if (rc != 0) {
		return rc;
	}
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		return -errno;
	}
	target[n] = '\0';
	base = strrchr(target, '/');
	base = base != NULL ? base + 1 : target;
	if (strlen(base) >= len) {
		return -ENAMETOOLONG;
	}
	memcpy(buf, base, strlen(base) + 1);
	return 0;
}

/* Every line of "resource" is "start end flags" in hex; unused BARs are zeros. */
int
pci_read_resources(struct brisk_pci_device *dev)
{
	char path[PCI_PATH_MAX], line[128];
	unsigned long long start, end, flags;
	FILE *f;
	int i, rc;

	rc = pci_dev_file(dev, "resource", path, sizeof(path));
	if (rc != 0) {
		return rc;
	}
	f = fopen(path, "re");
	if (f == NULL) {
		return -errno;
	}
	for (i = 0; i < PCI_NUM_BARS && fgets(line, sizeof(line), f) != NULL; i++) {
		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3) {
			break;
		}
		dev->bars[i].phys = start;
		dev->bars[i].size = end > start ? end - start + 1 : 0;
		dev->bars[i].is_mem = (flags & IORESOURCE_MEM) != 0;
	}
	fclose(f);
	return 0;
}

static void
read_ids(struct brisk_pci_device *dev)
{
	long long v;

	dev->id.class_code = read_attr_long(dev, "class", &v) == 0 ? (uint32_t)v & 0xffffff : 0;
	dev->id.vendor_id = read_attr_long(dev, "vendor", &v) == 0 ? (uint16_t)v : 0;
	dev->id.device_id = read_attr_long(dev, "device", &v) == 0 ? (uint16_t)v : 0;
	dev->id.subvendor_id = read_attr_long(dev, "subsystem_vendor", &v) == 0 ? (uint16_t)v : 0;
	dev->id.subdevice_id = read_attr_long(dev, "subsystem_device", &v) == 0 ? (uint16_t)v : 0;
	dev->numa_node = read_attr_long(dev, "numa_node", &v) == 0 && v >= 0 ? (int)v : -1;
}

/* <root>/bus/pci/devices/<addr>, if sysfs has that device. */
static int
device_path(struct brisk_pci_device *dev)
{
	char vendor[PCI_PATH_MAX];
	int n;

	n = snprintf(dev->path, sizeof(dev->path), "%s%s/%s", pci_sysfs_root(), PCI_DEVICES_SUBDIR,
		     dev->addr_str);
	if (n < 0 || (size_t)n >= sizeof(dev->path)) {
		return -ENAMETOOLONG;
	}
	if (pci_dev_file(dev, "vendor", vendor, sizeof(vendor)) != 0 || access(vendor, F_OK) != 0) {
		return -ENOENT;
	}
	return 0;
}

/* A device object for addr, or -ENOENT when sysfs has no such entry. */
static int
device_new(const struct brisk_pci_addr *addr, struct brisk_pci_device **out)
{
	struct brisk_pci_device *dev;

	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return -ENOMEM;
	}
	dev->addr = *addr;
	brisk_pci_addr_fmt(dev->addr_str, sizeof(dev->addr_str), addr);
	if (device_path(dev) != 0) {
		free(dev);
		return -ENOENT;
	}
	dev->lock_fd = -1;
	dev->cfg_fd = -1;
	dev->vfio_fd = -1;
	dev->vfio_req_fd = -1;
	dev->vfio_group = -1;
	read_ids(dev);
	pci_read_resources(dev);
	*out = dev;
	return 0;
}

int
brisk_pci_device_get(const struct brisk_pci_addr *addr, struct brisk_pci_device **dev)
{
	if (addr == NULL || dev == NULL) {
		return -EINVAL;
	}
	return device_new(addr, dev);
}

static int
addr_cmp_qsort(const void *a, const void *b)
{
	return brisk_pci_addr_compare(a, b);
}

struct addr_array {
	struct brisk_pci_addr *a;
	size_t n;
	size_t cap;
};

static int
addr_array_push(struct addr_array *arr, const struct brisk_pci_addr *addr)
{
	struct brisk_pci_addr *grown;
	size_t cap;

	if (arr->n == arr->cap) {
		cap = arr->cap == 0 ? 32 : arr->cap * 2;
		grown = realloc(arr->a, cap * sizeof(*grown));
		if (grown == NULL) {
			return -ENOMEM;
		}
		arr->a = grown;
		arr->cap = cap;
	}
	arr->a[arr->n++] = *addr;
	return 0;
}

/* Allowed addresses in sysfs, sorted. 0 with arr filled (free arr->a), or -errno. */
static int
list_addresses(struct addr_array *arr)
{
	char dir_path[PCI_PATH_MAX];
	struct brisk_pci_addr a;
	struct dirent *e;
	DIR *d;
	int rc = 0;

	snprintf(dir_path, sizeof(dir_path), "%s%s", pci_sysfs_root(), PCI_DEVICES_SUBDIR);
	d = opendir(dir_path);
	if (d == NULL) {
		rc = -errno;
		BRISK_ERRLOG("cannot list PCI devices in %s: %s\n", dir_path, strerror(-rc));
		return rc;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (brisk_pci_addr_parse(&a, e->d_name) == 0 && brisk_pci_addr_allowed(&a)) {
			rc = addr_array_push(arr, &a);
		}
	}
	closedir(d);
	if (arr->n > 0) {
		qsort(arr->a, arr->n, sizeof(*arr->a), addr_cmp_qsort);
	}
	return rc;
}

int
brisk_pci_enumerate(uint32_t class_code, brisk_pci_enum_cb cb, void *ctx)
{
	struct addr_array arr = { .a = NULL };
	struct brisk_pci_device *dev;
	size_t i;
	int rc;

	if (cb == NULL) {
		return -EINVAL;
	}
	rc = list_addresses(&arr);
	for (i = 0; rc == 0 && i < arr.n; i++) {
		if (device_new(&arr.a[i], &dev) != 0) {
			continue; /* removed while we looked */
		}
		if (class_code != 0 && dev->id.class_code != class_code) {
			brisk_pci_device_free(dev);
			continue;
		}
		rc = cb(ctx, dev);
		if (rc != 1) {
			brisk_pci_device_free(dev);
		}
		rc = rc > 0 ? 0 : rc;
	}
	free(arr.a);
	return rc;
}

struct brisk_pci_addr
brisk_pci_device_get_addr(const struct brisk_pci_device *dev)
{
	return dev->addr;
}

struct brisk_pci_id
brisk_pci_device_get_id(const struct brisk_pci_device *dev)
{
	return dev->id;
}

int
brisk_pci_device_get_numa_node(const struct brisk_pci_device *dev)
{
	return dev->numa_node;
}

const char *
brisk_pci_device_get_driver(struct brisk_pci_device *dev)
{
	if (pci_read_link_name(dev, "driver", dev->driver, sizeof(dev->driver)) != 0) {
		dev->driver[0] = '\0';
		return NULL;
	}
	return dev->driver;
}
