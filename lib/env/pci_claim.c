/*
 * Claiming a device: one lock file per address, /var/tmp/brisk_pci_lock_<addr>
 * (the folder can be moved with BRISK_PCI_LOCK_DIR for tests), holding an
 * fcntl write lock and the owner's pid. The kernel drops the lock when the
 * owner exits, however it exits, so a crashed process never leaves a device
 * claimed.
 *
 * fcntl locks belong to the process and vanish when ANY descriptor of the
 * file is closed, so this process never opens a lock file it already holds:
 * a second claim of the same address here is refused from the in-process list.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/pci.h>

#include "pci_internal.h"

#define CLAIM_MAX 256

/* Addresses held (g_pci_lock). A forked child inherits its parent's entries
 * but not its locks, so each entry carries the pid that holds it. */
struct claim_entry {
	struct brisk_pci_addr addr;
	pid_t pid;
};
static struct claim_entry g_claimed[CLAIM_MAX];
static int g_claimed_count;

static int
lock_path(const struct brisk_pci_device *dev, char *buf, size_t len)
{
	const char *dir = getenv(PCI_LOCK_DIR_ENV);
	int n;

	n = snprintf(buf, len, "%s/brisk_pci_lock_%s", dir != NULL && dir[0] != '\0' ? dir :
		     "/var/tmp", dev->addr_str);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The pid of the process whose lock blocks ours (from the kernel, else the file). */
static long
holder_pid(int fd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	char buf[32];
	ssize_t n;

	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		return (long)fl.l_pid;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0) {
		return -1;
	}
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static int
claimed_index(const struct brisk_pci_addr *addr)
{
	int i;

	for (i = 0; i < g_claimed_count; i++) {
		if (g_claimed[i].pid == getpid() &&
		    brisk_pci_addr_compare(&g_claimed[i].addr, addr) == 0) {
			return i;
		}
	}
	return -1;
}

/* Locked fd still names the path (a releasing owner may have unlinked it). */
static bool
still_linked(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* Opens the lock file without following links; only a regular file will do. */
static int
open_lock_file(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

static void
write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		BRISK_WARNLOG("cannot write the pid into a PCI lock file: %s\n", strerror(errno));
	}
}

/* Takes the lock on path; fd or -EBUSY / -errno. */
static int
lock_file(const struct brisk_pci_device *dev, const char *path)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd, tries;

	for (tries = 0; tries < 8; tries++) {
		fd = open_lock_file(path);
		if (fd < 0) {
			BRISK_ERRLOG("PCI %s: cannot open lock file %s: %s\n", dev->addr_str, path,
				     strerror(-fd));
			return fd;
		}
		if (fcntl(fd, F_SETLK, &fl) != 0) {
			BRISK_ERRLOG("PCI %s: claimed by process %ld (lock file %s)\n", dev->addr_str,
				     holder_pid(fd), path);
			close(fd);
			return -EBUSY;
		}
		if (still_linked(fd, path)) {
			return fd;
		}
		close(fd); /* we locked a file its owner just removed: take the new one */
	}
	return -EBUSY;
}

/* Refusals decided inside this process; 0 when the lock file must decide. */
static int
check_local(const struct brisk_pci_device *dev)
{
	if (claimed_index(&dev->addr) >= 0) {
		BRISK_ERRLOG("PCI %s: claimed by process %ld (this process, another device object)\n",
			     dev->addr_str, (long)getpid());
		return -EBUSY;
	}
	if (g_claimed_count == CLAIM_MAX) {
		BRISK_ERRLOG("PCI %s: this process already claims %d devices\n", dev->addr_str,
			     CLAIM_MAX);
		return -ENOSPC;
	}
	return 0;
}

int
pci_claim_locked(struct brisk_pci_device *dev)
{
	char path[PCI_PATH_MAX];
	int fd, rc;

	if (dev->claimed) {
		return 0;
	}
	rc = check_local(dev);
	if (rc == 0) {
		rc = lock_path(dev, path, sizeof(path));
	}
	if (rc != 0) {
		return rc;
	}
	fd = lock_file(dev, path);
	if (fd < 0) {
		return fd;
	}
	write_pid(fd);
	dev->lock_fd = fd;
	dev->claimed = true;
	dev->claimed_pid = getpid();
	g_claimed[g_claimed_count].addr = dev->addr;
	g_claimed[g_claimed_count++].pid = getpid();
	return 0;
}

void
pci_unclaim_locked(struct brisk_pci_device *dev)
{
	char path[PCI_PATH_MAX];
	int i;

	if (!dev->claimed) {
		return;
	}
	/* A child forked from the owner holds no lock: it must not remove the file. */
	if (dev->claimed_pid == getpid() && lock_path(dev, path, sizeof(path)) == 0) {
		unlink(path); /* while still locked: a waiter re-checks the link */
	}
	close(dev->lock_fd);
	dev->lock_fd = -1;
	dev->claimed = false;
	i = claimed_index(&dev->addr);
	if (i >= 0) {
		g_claimed[i] = g_claimed[--g_claimed_count];
	}
}
