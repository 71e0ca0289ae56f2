/*
 * lib/env PCI access against a fake sysfs tree in a temporary folder
 * (BRISK_PCI_SYSFS_ROOT) with lock files in another (BRISK_PCI_LOCK_DIR):
 * address spellings, enumeration by class, allow/block lists, claims across a
 * fork, the bound driver, and attach through uio_pci_generic, whose BAR and
 * config files are plain files here. VFIO needs a real IOMMU: the guest test
 * (test/nvme/pci_probe) covers it; here only its refusals.
 */
#include <CUnit/Basic.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/pci.h>
#include "../../common/ut_main.h"

#define BAR0_SIZE 16384
#define BAR0_PHYS 0xfe000000ull
#define FAKE_CAP 0x004018200f0107ffull

/* The tree is built in the suite's init, where CUnit asserts cannot run. */
#define TREE_CHECK(c) do { if (!(c)) { g_tree_bad = true; } } while (0)

static bool g_tree_bad;
static char g_tmp[] = "/tmp/pci_ut.XXXXXX";
static char g_sys[256], g_lock[256];

static void
write_file(const char *dir, const char *name, const void *data, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	TREE_CHECK(f != NULL);
	if (f != NULL) {
		TREE_CHECK(fwrite(data, 1, len, f) == len);
		fclose(f);
	}
}

static void
write_str(const char *dir, const char *name, const char *s)
{
	write_file(dir, name, s, strlen(s));
}

static void
dev_dir(const char *addr, char *buf, size_t len)
{
	snprintf(buf, len, "%s/bus/pci/devices/%s", g_sys, addr);
}

/* Points the device's "driver" link at drivers/<driver>, or removes it. */
static void
set_driver(const char *addr, const char *driver)
{
	char dir[512], link[600], target[600];

	dev_dir(addr, dir, sizeof(dir));
	snprintf(link, sizeof(link), "%s/driver", dir);
	unlink(link);
	if (driver != NULL) {
		snprintf(target, sizeof(target), "%s/bus/pci/drivers/%s", g_sys, driver);
		mkdir(target, 0755);
		TREE_CHECK(symlink(target, link) == 0);
	}
}

/* A device with ids, a 16 KiB memory BAR0 holding CAP, and 256 bytes of config. */
static void
make_device(const char *addr, const char *class_code, const char *driver, int numa)
{
	char dir[512], num[16];
	static uint8_t bar[BAR0_SIZE], cfg[256];
	uint64_t cap = FAKE_CAP;

	dev_dir(addr, dir, sizeof(dir));
	TREE_CHECK(mkdir(dir, 0755) == 0);
	write_str(dir, "class", class_code);
	write_str(dir, "vendor", "0x1b36\n");
	write_str(dir, "device", "0x0010\n");
	write_str(dir, "subsystem_vendor", "0x1af4\n");
	write_str(dir, "subsystem_device", "0x1100\n");
	snprintf(num, sizeof(num), "%d\n", numa);
	write_str(dir, "numa_node", num);
	write_str(dir, "resource", "0x00000000fe000000 0x00000000fe003fff 0x0000000000140204\n"
		  "0x0000000000000000 0x0000000000000000 0x0000000000000000\n"
		  "0x000000000000c000 0x000000000000c03f 0x0000000000040101\n");
	memset(bar, 0, sizeof(bar));
	memcpy(bar, &cap, sizeof(cap));
	bar[8] = 0x00;
	bar[9] = 0x04;
	bar[10] = 0x01; /* VS 1.4 */
	write_file(dir, "resource0", bar, sizeof(bar));
	memset(cfg, 0, sizeof(cfg));
	write_file(dir, "config", cfg, sizeof(cfg));
	set_driver(addr, driver);
}

static int
suite_init(void)
{
	char path[1024];

	if (mkdtemp(g_tmp) == NULL) {
		return -1;
	}
	snprintf(g_sys, sizeof(g_sys), "%s/sys", g_tmp);
	snprintf(g_lock, sizeof(g_lock), "%s/lock", g_tmp);
	snprintf(path, sizeof(path), "mkdir -p %s/bus/pci/devices %s/bus/pci/drivers %s", g_sys,
		 g_sys, g_lock);
	if (system(path) != 0) {
		return -1;
	}
	setenv("BRISK_PCI_SYSFS_ROOT", g_sys, 1);
	setenv("BRISK_PCI_LOCK_DIR", g_lock, 1);
	make_device("0000:00:05.0", "0x010802\n", "uio_pci_generic", 0);
	make_device("0000:00:04.0", "0x010802\n", "vfio-pci", 1);
	make_device("0000:00:03.0", "0x020000\n", "e1000e", -1);
	make_device("0001:00:00.0", "0x010802\n", NULL, -1);
	make_device("0000:00:06.0", "0x010802\n", "nvme", -1);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/not-an-address", g_sys);
	TREE_CHECK(mkdir(path, 0755) == 0);
	return g_tree_bad ? -1 : 0;
}

static int
suite_fini(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", g_tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void
check_parse(const char *s, uint32_t domain, uint8_t bus, uint8_t dev, uint8_t func)
{
	struct brisk_pci_addr a;

	CU_ASSERT_EQUAL_FATAL(brisk_pci_addr_parse(&a, s), 0);
	CU_ASSERT_EQUAL(a.domain, domain);
	CU_ASSERT_EQUAL(a.bus, bus);
	CU_ASSERT_EQUAL(a.dev, dev);
	CU_ASSERT_EQUAL(a.func, func);
}

static void
test_addr_parse(void)
{
	static const char *bad[] = {
		"", "0000:00:20.0", "0000:00:04.8", "0000:100:04.0", "0000:00:04", "0000:00:04.0 ",
		" 0000:00:04.0", "0000:00.04:0", "0000.00:04.0", "0000:00.04.0", "x000:00:04.0",
		"0000:00:04.0.1", "123456789:00:00.0", ":00:04.0", "0000::04.0", "00:004.0",
		"0000:00:04.00", "00:04", "04.0", "0000:00:04.", "0000:00:04.0:", "0000:00:0g.0",
		"-1:00:04.0", "0x0:00:04.0", "00.04.0",
	};
	struct brisk_pci_addr a;
	size_t i;

	check_parse("0000:00:04.0", 0, 0, 4, 0);
	check_parse("00:04.0", 0, 0, 4, 0);
	check_parse("0000.00.04.0", 0, 0, 4, 0);
	check_parse("0001:ff:1f.7", 1, 0xff, 0x1f, 7);
	check_parse("0000:AB:1F.7", 0, 0xab, 0x1f, 7);
	check_parse("10000:00:00.0", 0x10000, 0, 0, 0);
	check_parse("0:1:2.3", 0, 1, 2, 3);
	check_parse("ffffffff:ff:1f.7", 0xffffffff, 0xff, 0x1f, 7);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(brisk_pci_addr_parse(&a, bad[i]), -EINVAL);
	}
	CU_ASSERT_EQUAL(brisk_pci_addr_parse(&a, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_addr_parse(NULL, "0000:00:04.0"), -EINVAL);
}

static void
test_addr_fmt_compare(void)
{
	struct brisk_pci_addr a = { .domain = 0, .bus = 0xab, .dev = 0x1f, .func = 7 }, b;
	char buf[BRISK_PCI_ADDR_STR_LEN], big[32];

	CU_ASSERT_EQUAL(brisk_pci_addr_fmt(buf, sizeof(buf), &a), 0);
	CU_ASSERT_STRING_EQUAL(buf, "0000:ab:1f.7");
	CU_ASSERT_EQUAL(brisk_pci_addr_parse(&b, buf), 0);
	CU_ASSERT_EQUAL(brisk_pci_addr_compare(&a, &b), 0);
	CU_ASSERT_EQUAL(brisk_pci_addr_fmt(buf, sizeof(buf) - 1, &a), -ENOSPC);
	a.domain = 0x10000;
	CU_ASSERT_EQUAL(brisk_pci_addr_fmt(buf, sizeof(buf), &a), -ENOSPC);
	CU_ASSERT_EQUAL(brisk_pci_addr_fmt(big, sizeof(big), &a), 0);
	CU_ASSERT_STRING_EQUAL(big, "10000:ab:1f.7");

	b = a;
	CU_ASSERT(brisk_pci_addr_compare(&a, &b) == 0);
	b.func = 6;
	CU_ASSERT(brisk_pci_addr_compare(&a, &b) > 0);
	b.dev = 0x1e;
	b.func = 7;
	CU_ASSERT(brisk_pci_addr_compare(&b, &a) < 0);
	b.bus = 0xac;
	b.dev = 0;
	CU_ASSERT(brisk_pci_addr_compare(&b, &a) > 0);
	b.domain = 0xffff;
	CU_ASSERT(brisk_pci_addr_compare(&b, &a) < 0);
}

static bool
allowed(const char *s)
{
	struct brisk_pci_addr a;

	CU_ASSERT_EQUAL_FATAL(brisk_pci_addr_parse(&a, s), 0);
	return brisk_pci_addr_allowed(&a);
}

static void
test_allow_block(void)
{
	brisk_pci_lists_reset();
	CU_ASSERT_TRUE(allowed("0000:00:04.0"));
	CU_ASSERT_EQUAL(brisk_pci_block("00:04.0"), 0);
	CU_ASSERT_EQUAL(brisk_pci_block("0000:00:04.0"), 0); /* the same, once */
	CU_ASSERT_EQUAL(brisk_pci_blocked_count(), 1);
	CU_ASSERT_FALSE(allowed("0000:00:04.0"));
	CU_ASSERT_TRUE(allowed("0000:00:05.0"));
	CU_ASSERT_EQUAL(brisk_pci_block("00:04"), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_allow("junk"), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_allow(NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_allowed_count(), 0);
	CU_ASSERT_FALSE(brisk_pci_addr_allowed(NULL));

	/* With an allow list only its devices pass. */
	CU_ASSERT_EQUAL(brisk_pci_allow("0000.00.05.0"), 0);
	CU_ASSERT_TRUE(allowed("0000:00:05.0"));
	CU_ASSERT_FALSE(allowed("0000:00:06.0"));
	CU_ASSERT_FALSE(allowed("0000:00:04.0"));
	brisk_pci_lists_reset();
	CU_ASSERT_TRUE(allowed("0000:00:04.0"));
	CU_ASSERT_EQUAL(brisk_pci_allowed_count(), 0);
	CU_ASSERT_EQUAL(brisk_pci_blocked_count(), 0);
}

struct enum_ctx {
	char seen[8][BRISK_PCI_ADDR_STR_LEN];
	int count;
	int keep_index;     /* the device kept (return 1), -1 none */
	struct brisk_pci_device *kept;
	int stop_after;     /* return -EINTR at this count, 0 never */
};

static int
enum_cb(void *arg, struct brisk_pci_device *dev)
{
	struct enum_ctx *c = arg;
	struct brisk_pci_addr a = brisk_pci_device_get_addr(dev);

	brisk_pci_addr_fmt(c->seen[c->count], sizeof(c->seen[0]), &a);
	if (++c->count == c->stop_after) {
		return -EINTR;
	}
	if (c->count - 1 == c->keep_index) {
		c->kept = dev;
		return 1;
	}
	return 0;
}

static void
test_enumerate(void)
{
	struct enum_ctx c = { .keep_index = 0 };
	struct brisk_pci_id id;

	brisk_pci_lists_reset();
	CU_ASSERT_EQUAL(brisk_pci_enumerate(BRISK_PCI_CLASS_NVME, enum_cb, &c), 0);
	CU_ASSERT_EQUAL_FATAL(c.count, 4);
	CU_ASSERT_STRING_EQUAL(c.seen[0], "0000:00:04.0");
	CU_ASSERT_STRING_EQUAL(c.seen[1], "0000:00:05.0");
	CU_ASSERT_STRING_EQUAL(c.seen[2], "0000:00:06.0");
	CU_ASSERT_STRING_EQUAL(c.seen[3], "0001:00:00.0");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c.kept);
	id = brisk_pci_device_get_id(c.kept);
	CU_ASSERT_EQUAL(id.class_code, BRISK_PCI_CLASS_NVME);
	CU_ASSERT_EQUAL(id.vendor_id, 0x1b36);
	CU_ASSERT_EQUAL(id.device_id, 0x0010);
	CU_ASSERT_EQUAL(id.subvendor_id, 0x1af4);
	CU_ASSERT_EQUAL(id.subdevice_id, 0x1100);
	CU_ASSERT_EQUAL(brisk_pci_device_get_numa_node(c.kept), 1);
	brisk_pci_device_free(c.kept);

	memset(&c, 0, sizeof(c));
	c.keep_index = -1;
	CU_ASSERT_EQUAL(brisk_pci_enumerate(0, enum_cb, &c), 0);
	CU_ASSERT_EQUAL(c.count, 5);
	CU_ASSERT_STRING_EQUAL(c.seen[0], "0000:00:03.0");

	memset(&c, 0, sizeof(c));
	c.keep_index = -1;
	c.stop_after = 2;
	CU_ASSERT_EQUAL(brisk_pci_enumerate(BRISK_PCI_CLASS_NVME, enum_cb, &c), -EINTR);
	CU_ASSERT_EQUAL(c.count, 2);

	/* Lists filter the walk. */
	memset(&c, 0, sizeof(c));
	c.keep_index = -1;
	CU_ASSERT_EQUAL(brisk_pci_block("0000:00:05.0"), 0);
	CU_ASSERT_EQUAL(brisk_pci_enumerate(BRISK_PCI_CLASS_NVME, enum_cb, &c), 0);
	CU_ASSERT_EQUAL(c.count, 3);
	CU_ASSERT_STRING_EQUAL(c.seen[1], "0000:00:06.0");
	brisk_pci_lists_reset();
	memset(&c, 0, sizeof(c));
	c.keep_index = -1;
	CU_ASSERT_EQUAL(brisk_pci_allow("0001:00:00.0"), 0);
	CU_ASSERT_EQUAL(brisk_pci_enumerate(BRISK_PCI_CLASS_NVME, enum_cb, &c), 0);
	CU_ASSERT_EQUAL(c.count, 1);
	CU_ASSERT_STRING_EQUAL(c.seen[0], "0001:00:00.0");
	brisk_pci_lists_reset();
	CU_ASSERT_EQUAL(brisk_pci_enumerate(0, NULL, NULL), -EINVAL);
}

static struct brisk_pci_device *
get_dev(const char *s)
{
	struct brisk_pci_addr a;
	struct brisk_pci_device *dev = NULL;

	CU_ASSERT_EQUAL_FATAL(brisk_pci_addr_parse(&a, s), 0);
	CU_ASSERT_EQUAL_FATAL(brisk_pci_device_get(&a, &dev), 0);
	return dev;
}

static void
test_get_and_driver(void)
{
	struct brisk_pci_addr a = { .bus = 0x42 };
	struct brisk_pci_device *dev = NULL;

	/* Asked by name: found even when the lists would not offer it. */
	CU_ASSERT_EQUAL(brisk_pci_block("0000:00:05.0"), 0);
	dev = get_dev("0000:00:05.0");
	brisk_pci_lists_reset();
	CU_ASSERT_STRING_EQUAL(brisk_pci_device_get_driver(dev), "uio_pci_generic");
	set_driver("0000:00:05.0", "nvme");
	CU_ASSERT_STRING_EQUAL(brisk_pci_device_get_driver(dev), "nvme");
	set_driver("0000:00:05.0", NULL);
	CU_ASSERT_PTR_NULL(brisk_pci_device_get_driver(dev));
	set_driver("0000:00:05.0", "uio_pci_generic");
	CU_ASSERT_FALSE(g_tree_bad);
	CU_ASSERT_EQUAL(brisk_pci_device_get_numa_node(dev), 0);
	brisk_pci_device_free(dev);

	dev = get_dev("0001:00:00.0");
	CU_ASSERT_PTR_NULL(brisk_pci_device_get_driver(dev));
	CU_ASSERT_EQUAL(brisk_pci_device_get_numa_node(dev), -1);
	brisk_pci_device_free(dev);

	CU_ASSERT_EQUAL(brisk_pci_device_get(&a, &dev), -ENOENT);
	CU_ASSERT_EQUAL(brisk_pci_device_get(NULL, &dev), -EINVAL);
}

/* Child: a claim of addr from another process; exit 0 when it got -EBUSY. */
static int
child_claim(const char *s, int want)
{
	struct brisk_pci_device *dev;
	struct brisk_pci_addr a;
	int status, rc;
	pid_t pid = fork();

	if (pid == 0) {
		brisk_pci_addr_parse(&a, s);
		rc = brisk_pci_device_get(&a, &dev);
		if (rc == 0) {
			rc = brisk_pci_device_claim(dev);
			brisk_pci_device_free(dev);
		}
		_exit(rc == want ? 0 : 1);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads the lock file's pid in a child: closing a descriptor of the file here
 * would drop this process's fcntl lock (the reason lib/env never does). */
static long
lock_file_pid(const char *path)
{
	char buf[32];
	int status, fd;
	ssize_t n;
	pid_t pid = fork();

	if (pid == 0) {
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		buf[n > 0 ? n : 0] = '\0';
		_exit(atol(buf) == (long)getppid() ? 0 : 1);
	}
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? (long)getpid() : -1;
}

static void
test_claim(void)
{
	struct brisk_pci_device *dev = get_dev("0000:00:05.0"), *again = get_dev("0000:00:05.0");
	char path[512];

	CU_ASSERT_EQUAL_FATAL(brisk_pci_device_claim(dev), 0);
	CU_ASSERT_EQUAL(brisk_pci_device_claim(dev), 0); /* already ours */
	snprintf(path, sizeof(path), "%s/brisk_pci_lock_0000:00:05.0", g_lock);
	CU_ASSERT_EQUAL(lock_file_pid(path), (long)getpid());

	/* Another process, and another object in this one, are refused. */
	CU_ASSERT_EQUAL(child_claim("0000:00:05.0", -EBUSY), 0);
	CU_ASSERT_EQUAL(brisk_pci_device_claim(again), -EBUSY);
	brisk_pci_device_unclaim(dev);
	CU_ASSERT_EQUAL(access(path, F_OK), -1); /* removed at release */
	CU_ASSERT_EQUAL(child_claim("0000:00:05.0", 0), 0);
	CU_ASSERT_EQUAL(brisk_pci_device_claim(again), 0);
	CU_ASSERT_EQUAL(child_claim("0000:00:05.0", -EBUSY), 0);
	brisk_pci_device_free(again); /* frees the claim too */
	CU_ASSERT_EQUAL(brisk_pci_device_claim(dev), 0);
	brisk_pci_device_free(dev);
	CU_ASSERT_EQUAL(child_claim("0000:00:05.0", 0), 0);
}

static void
test_claim_refuses_symlink(void)
{
	struct brisk_pci_device *dev = get_dev("0000:00:04.0");
	char path[512], target[512];

	snprintf(path, sizeof(path), "%s/brisk_pci_lock_0000:00:04.0", g_lock);
	snprintf(target, sizeof(target), "%s/victim", g_tmp);
	CU_ASSERT_EQUAL_FATAL(symlink(target, path), 0);
	CU_ASSERT_EQUAL(brisk_pci_device_claim(dev), -ELOOP);
	CU_ASSERT_EQUAL(access(target, F_OK), -1); /* nothing created through the link */
	unlink(path);
	brisk_pci_device_free(dev);
}

static void
test_attach_refusals(void)
{
	struct brisk_pci_device *dev = get_dev("0001:00:00.0");
	void *va;
	uint64_t size, phys;

	CU_ASSERT_EQUAL(brisk_pci_device_attach(dev), -ENODEV); /* no driver */
	CU_ASSERT_EQUAL(brisk_pci_device_map_bar(dev, 0, &va, &phys, &size), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_device_cfg_read(dev, &size, 4, 0), -EINVAL);
	/* A failed attach leaves no claim behind. */
	CU_ASSERT_EQUAL(child_claim("0001:00:00.0", 0), 0);
	brisk_pci_device_free(dev);

	dev = get_dev("0000:00:06.0");
	CU_ASSERT_EQUAL(brisk_pci_device_attach(dev), -ENODEV); /* the kernel's nvme driver */
	brisk_pci_device_free(dev);
	dev = get_dev("0000:00:03.0");
	CU_ASSERT_EQUAL(brisk_pci_device_attach(dev), -ENODEV); /* e1000e */
	brisk_pci_device_free(dev);
	/* vfio-pci but no IOMMU group: refused before touching /dev/vfio. */
	dev = get_dev("0000:00:04.0");
	CU_ASSERT_EQUAL(brisk_pci_device_attach(dev), -ENODEV);
	CU_ASSERT_FALSE(brisk_pci_device_is_vfio(dev));
	brisk_pci_device_free(dev);
}

static void
test_uio_attach(void)
{
	struct brisk_pci_device *dev = get_dev("0000:00:05.0");
	uint64_t size = 0, phys = 0, cap;
	uint16_t cmd = 0;
	void *va = NULL, *va2 = NULL;
	char dir[512], away[600];

	CU_ASSERT_EQUAL_FATAL(brisk_pci_device_attach(dev), 0);
	CU_ASSERT_FALSE(brisk_pci_device_is_vfio(dev));
	CU_ASSERT_EQUAL(child_claim("0000:00:05.0", -EBUSY), 0); /* attach claimed it */
	CU_ASSERT_EQUAL(brisk_pci_device_cfg_read(dev, &cmd, sizeof(cmd), 4), 0);
	CU_ASSERT_EQUAL(cmd, 0x6); /* memory space + bus master */
	CU_ASSERT_EQUAL(brisk_pci_device_map_bar(dev, 0, &va, &phys, &size), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(va);
	CU_ASSERT_EQUAL(size, BAR0_SIZE);
	CU_ASSERT_EQUAL(phys, BAR0_PHYS);
	memcpy(&cap, va, sizeof(cap));
	CU_ASSERT_EQUAL(cap, FAKE_CAP);
	CU_ASSERT_EQUAL(((volatile uint32_t *)va)[2], 0x10400);
	CU_ASSERT_EQUAL(brisk_pci_device_map_bar(dev, 0, &va2, NULL, &size), 0);
	CU_ASSERT_PTR_EQUAL(va2, va); /* one mapping per BAR */
	CU_ASSERT_EQUAL(brisk_pci_device_map_bar(dev, 1, &va2, NULL, &size), -EINVAL); /* unused */
	CU_ASSERT_EQUAL(brisk_pci_device_map_bar(dev, 6, &va2, NULL, &size), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_device_cfg_read(dev, &cmd, 2, 4095), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_device_unmap_bar(dev, 0, (char *)va + 1), -EINVAL);
	CU_ASSERT_EQUAL(brisk_pci_device_unmap_bar(dev, 0, va), 0);
	CU_ASSERT_FALSE(brisk_pci_device_is_removed(dev));
	brisk_pci_device_detach(dev);
	CU_ASSERT_EQUAL(child_claim("0000:00:05.0", 0), 0); /* detach released it */

	/* Gone from sysfs: removed. */
	dev_dir("0000:00:05.0", dir, sizeof(dir));
	snprintf(away, sizeof(away), "%s.away", dir);
	CU_ASSERT_EQUAL_FATAL(rename(dir, away), 0);
	CU_ASSERT_TRUE(brisk_pci_device_is_removed(dev));
	CU_ASSERT_EQUAL(rename(away, dir), 0);
	CU_ASSERT_TRUE(brisk_pci_device_is_removed(dev)); /* once gone, stays gone */
	brisk_pci_device_free(dev);
}

/* The bad-input cases log errors on purpose; keep the output readable. */
static int ut_setup(void)
{
	if (getenv("BRISK_TEST_VERBOSE") == NULL) {
		brisk_log_set_print_level(BRISK_LOG_DISABLED);
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_addr_parse),
	BRISK_UT_TEST(test_addr_fmt_compare),
	BRISK_UT_TEST(test_allow_block),
	BRISK_UT_TEST(test_enumerate),
	BRISK_UT_TEST(test_get_and_driver),
	BRISK_UT_TEST(test_claim),
	BRISK_UT_TEST(test_claim_refuses_symlink),
	BRISK_UT_TEST(test_attach_refusals),
	BRISK_UT_TEST(test_uio_attach),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "pci", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "pci_ut",
	.setup = ut_setup,
	.suites = g_ut_suites,
};
