/*
 * pci_probe: checks lib/env's PCI access on real (or QEMU-emulated) NVMe
 * controllers; it runs inside the test guest.
 *
 * For each NVMe controller (class 0x010802) that enumeration offers: claim
 * it, check a forked child's claim is refused with -EBUSY, attach through
 * whatever the kernel bound (vfio-pci or uio_pci_generic), map BAR0 and read
 * CAP and VS, and translate a DMA buffer (under VFIO the address must be the
 * virtual address itself). A device left on a kernel driver is skipped (its
 * attach must fail with -ENODEV). One line per device, then
 * "pci_probe: PASS n=<count>" or "pci_probe: FAIL <reason>"; exit 0 on PASS.
 *
 * --unbind-test (VFIO only) then asks the kernel to unbind the device from
 * vfio-pci in a child and checks that brisk_pci_device_is_removed turns true
 * (the device-request interrupt) before the device is released.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/pci.h>

#define PROBE_MAX_DEVICES 16
#define PROBE_MEM_MB 64
#define PROBE_REMOVE_WAIT_MS 10000

struct probe {
	struct brisk_pci_device *devs[PROBE_MAX_DEVICES];
	int count;
	int probed; /* bound to vfio-pci or uio_pci_generic */
	bool unbind_test;
	char failure[256];
};

static void
usage(const char *prog)
{
	printf("Usage: %s [--no-huge] [-s MB] [-A ADDR]... [--unbind-test]\n"
	       "Claims, attaches and reads CAP/VS of every NVMe controller bound to vfio-pci or\n"
	       "uio_pci_generic; prints one line per device and PASS or FAIL.\n"
	       "  --no-huge        ordinary pages instead of hugepages\n"
	       "  -s, --mem-size   MB of memory to reserve (default %d)\n"
	       "  -A, --pci-allowed ADDR  probe only these devices (repeatable)\n"
	       "  --unbind-test    (vfio-pci) unbind each device and expect the removal to be seen\n"
	       "  -h, --help       this text\n", prog, PROBE_MEM_MB);
}

static int
collect(void *ctx, struct brisk_pci_device *dev)
{
	struct probe *p = ctx;

	if (p->count == PROBE_MAX_DEVICES) {
		return 0;
	}
	p->devs[p->count++] = dev;
	return 1;
}

static void
fail(struct probe *p, const char *addr, const char *what, int rc)
{
	if (p->failure[0] == '\0') {
		snprintf(p->failure, sizeof(p->failure), "%s: %s (%d)", addr, what, rc);
	}
}

/* A forked child's claim of the same address must be refused. */
static int
check_second_claim(const struct brisk_pci_addr *addr)
{
	struct brisk_pci_device *other;
	int status, rc;
	pid_t pid = fork();

	if (pid < 0) {
		return -errno;
	}
	if (pid == 0) {
		rc = brisk_pci_device_get(addr, &other);
		if (rc == 0) {
			rc = brisk_pci_device_claim(other);
			brisk_pci_device_free(other);
		}
		_exit(rc == -EBUSY ? 0 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		return -ECHILD;
	}
	return WEXITSTATUS(status) == 0 ? 0 : -EINVAL;
}

/* CAP (64-bit, read as two dwords) and VS from BAR0. */
static int
read_regs(struct brisk_pci_device *dev, uint64_t *cap, uint32_t *vs)
{
	volatile uint32_t *regs;
	uint64_t phys, size;
	void *bar;
	int rc;

	rc = brisk_pci_device_map_bar(dev, 0, &bar, &phys, &size);
	if (rc != 0) {
		return rc;
	}
	regs = bar;
	*cap = (uint64_t)regs[1] << 32 | regs[0];
	*vs = regs[2];
	brisk_pci_device_unmap_bar(dev, 0, bar);
	return *cap == 0 || *cap == UINT64_MAX ? -EIO : 0;
}

/* A DMA buffer's device address: VA under VFIO, a physical address otherwise. */
static int
check_dma(struct brisk_pci_device *dev, uint64_t *iova)
{
	void *buf = brisk_dma_zmalloc(4096, 4096, NULL);
	int rc = 0;

	if (buf == NULL) {
		return -ENOMEM;
	}
	*iova = brisk_vtophys(buf, NULL);
	if (*iova == BRISK_VTOPHYS_ERROR) {
		rc = -EFAULT;
	} else if (brisk_pci_device_is_vfio(dev) != (*iova == (uint64_t)(uintptr_t)buf)) {
		rc = -EINVAL;
	}
	brisk_free(buf);
	return rc;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* A child writes the address to vfio-pci's unbind, which blocks until we let
 * go; we must see the request. The child execs a shell so that it drops our
 * VFIO descriptors (close-on-exec): a forked copy of the device fd would keep
 * the device open and the unbind would wait forever. */
static int
unbind_test(struct brisk_pci_device *dev, const char *addr, long *ms)
{
	struct timespec t0;
	char cmd[128];
	int status;
	pid_t pid;

	snprintf(cmd, sizeof(cmd), "echo %s > /sys/bus/pci/drivers/vfio-pci/unbind", addr);
	pid = fork();
	if (pid < 0) {
		return -errno;
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!brisk_pci_device_is_removed(dev) && elapsed_ms(&t0) < PROBE_REMOVE_WAIT_MS) {
		usleep(1000);
	}
	*ms = elapsed_ms(&t0);
	status = brisk_pci_device_is_removed(dev);
	brisk_pci_device_detach(dev); /* lets the kernel's unbind finish */
	waitpid(pid, NULL, 0);
	return status ? 0 : -ETIMEDOUT;
}

static void
probe_one(struct probe *p, struct brisk_pci_device *dev)
{
	struct brisk_pci_addr a = brisk_pci_device_get_addr(dev);
	const char *driver;
	char addr[32];
	uint64_t cap = 0, iova = 0;
	uint32_t vs = 0;
	uint16_t cmd = 0;
	long ms = 0;
	int rc;

	brisk_pci_addr_fmt(addr, sizeof(addr), &a);
	driver = brisk_pci_device_get_driver(dev);
	if (driver == NULL || (strcmp(driver, "vfio-pci") != 0 &&
			       strcmp(driver, "uio_pci_generic") != 0)) {
		/* Left to the kernel (in use, or not chosen): attach must refuse it. */
		rc = brisk_pci_device_attach(dev);
		if (rc != -ENODEV) {
			fail(p, addr, "attach of a device on a kernel driver was not refused", rc);
			return;
		}
		printf("pci_probe: %s driver=%s skipped (not a user-space driver; attach: -ENODEV)\n",
		       addr, driver != NULL ? driver : "none");
		return;
	}
	p->probed++;
	rc = brisk_pci_device_claim(dev);
	if (rc != 0) {
		fail(p, addr, "claim", rc);
		return;
	}
	rc = check_second_claim(&a);
	if (rc != 0) {
		fail(p, addr, "a second process's claim was not refused with -EBUSY", rc);
		return;
	}
	rc = brisk_pci_device_attach(dev);
	if (rc != 0) {
		fail(p, addr, "attach", rc);
		return;
	}
	rc = brisk_pci_device_cfg_read(dev, &cmd, sizeof(cmd), 4);
	if (rc != 0 || (cmd & 0x6) != 0x6) {
		fail(p, addr, "command register lacks memory space / bus master", rc);
		return;
	}
	rc = read_regs(dev, &cap, &vs);
	if (rc != 0) {
		fail(p, addr, "BAR0 map / CAP read", rc);
		return;
	}
	rc = check_dma(dev, &iova);
	if (rc != 0) {
		fail(p, addr, rc == -EINVAL ? "vtophys is not IOVA = VA under VFIO (or is VA "
			    "under uio)" : "vtophys of a DMA buffer", rc);
		return;
	}
	printf("pci_probe: %s driver=%s CAP=0x%" PRIx64 " VS=0x%x iova=0x%" PRIx64 " cmd=0x%x "
	       "numa=%d\n", addr, driver != NULL ? driver : "none", cap, vs, iova, cmd,
	       brisk_pci_device_get_numa_node(dev));
	if (p->unbind_test && brisk_pci_device_is_vfio(dev)) {
		rc = unbind_test(dev, addr, &ms);
		if (rc != 0) {
			fail(p, addr, "no device request seen after unbind", rc);
			return;
		}
		printf("pci_probe: %s device request seen after %ld ms; released\n", addr, ms);
	}
	brisk_pci_device_detach(dev);
}

static int
parse_args(int argc, char **argv, struct brisk_env_opts *opts, struct probe *p)
{
	static const struct option longopts[] = {
		{"no-huge", no_argument, NULL, 'N'}, {"mem-size", required_argument, NULL, 's'},
		{"pci-allowed", required_argument, NULL, 'A'},
		{"unbind-test", no_argument, NULL, 'U'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int ch;

	while ((ch = getopt_long(argc, argv, "s:A:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'N': opts->no_huge = true; break;
		case 's': opts->mem_size_mb = strtoull(optarg, NULL, 10); break;
		case 'A':
			if (brisk_pci_allow(optarg) != 0) {
				fprintf(stderr, "pci_probe: -A: '%s' is not a PCI address\n", optarg);
				return 2;
			}
			break;
		case 'U': p->unbind_test = true; break;
		case 'h': usage(argv[0]); return 1;
		default: usage(argv[0]); return 2;
		}
	}
	if (opts->mem_size_mb == 0) {
		fprintf(stderr, "pci_probe: -s: give a size in MB\n");
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct brisk_env_opts opts;
	struct probe p = { .count = 0 };
	int rc, i;

	brisk_env_opts_init(&opts);
	opts.name = "pci_probe";
	opts.mem_size_mb = PROBE_MEM_MB;
	rc = parse_args(argc, argv, &opts, &p);
	if (rc != 0) {
		return rc == 1 ? 0 : 2;
	}
	rc = brisk_env_init(&opts);
	if (rc != 0) {
		printf("pci_probe: FAIL env init (%d)\n", rc);
		return 1;
	}
	rc = brisk_pci_enumerate(BRISK_PCI_CLASS_NVME, collect, &p);
	if (rc != 0) {
		snprintf(p.failure, sizeof(p.failure), "enumeration (%d)", rc);
	} else if (p.count == 0) {
		snprintf(p.failure, sizeof(p.failure), "no NVMe devices found");
	}
	for (i = 0; i < p.count; i++) {
		probe_one(&p, p.devs[i]);
		brisk_pci_device_free(p.devs[i]);
	}
	if (p.count > 0 && p.probed == 0) {
		snprintf(p.failure, sizeof(p.failure), "no NVMe device bound to vfio-pci or "
			 "uio_pci_generic");
	}
	if (p.failure[0] != '\0') {
		printf("pci_probe: FAIL %s\n", p.failure);
	} else {
		printf("pci_probe: PASS n=%d\n", p.probed);
	}
	fflush(stdout);
	brisk_env_fini();
	return p.failure[0] != '\0' ? 1 : 0;
}
