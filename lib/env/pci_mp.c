/*
 * A secondary process's access to a device its primary claimed (the
 * multi-process model of env.h): no claim (the primary holds the lock file
 * and keeps holding it), no change to the command register (the primary
 * enabled bus mastering), only a mapping of the BARs so the secondary can
 * ring its own doorbells.
 *
 * uio_pci_generic: sysfs resourceN can be mapped by any process, and a
 * secondary's DMA addresses are physical ones read from its own pagemap of
 * the same shared hugepages, which equal the primary's.
 *
 * vfio-pci: a second process cannot open the group (the kernel lets one
 * container own it) and the IOMMU mappings belong to the primary's
 * container. But they cover all of the env's shared memory, which a
 * secondary maps at the same virtual addresses, so IOVA = VA holds there
 * too; the secondary needs only the device's descriptor to map BAR0. The
 * primary hands it over a Unix socket in the abstract namespace
 * ("\0brisk_pci_mp_<addr>", nothing left on disk), with SCM_RIGHTS, to
 * processes of its own user, whenever brisk_pci_device_serve_secondaries
 * is polled.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/pci.h>

#include "env_internal.h"
#include "pci_internal.h"

#define MP_RECV_TIMEOUT_S 10

/* The socket's address: abstract (sun_path[0] = 0); its length. */
static socklen_t
mp_sock_addr(const struct brisk_pci_device *dev, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "brisk_pci_mp_%s", dev->addr_str);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int
mp_listen(struct brisk_pci_device *dev)
{
	struct sockaddr_un sa;
	socklen_t len = mp_sock_addr(dev, &sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) != 0 || listen(fd, 8) != 0) {
		BRISK_ERRLOG("PCI %s: cannot open the socket for secondary processes: %s\n",
			     dev->addr_str, strerror(errno));
		if (fd >= 0) {
			close(fd);
		}
		return -errno;
	}
	dev->mp_listen_fd = fd;
	return 0;
}

/* Sends the VFIO device fd to one connected process of our user. */
static void
mp_send_fd(struct brisk_pci_device *dev, int conn)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 'V';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct cmsghdr *c;

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || cred.uid != geteuid()) {
		BRISK_WARNLOG("PCI %s: refused the device to a process of another user\n",
			      dev->addr_str);
		return;
	}
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &dev->vfio_fd, sizeof(int));
	if (sendmsg(conn, &msg, MSG_NOSIGNAL) != 1) {
		BRISK_WARNLOG("PCI %s: cannot send the device to process %d: %s\n", dev->addr_str,
			      (int)cred.pid, strerror(errno));
		return;
	}
	BRISK_INFOLOG("PCI %s: VFIO device handed to process %d\n", dev->addr_str, (int)cred.pid);
}

int
brisk_pci_device_serve_secondaries(struct brisk_pci_device *dev)
{
	int conn, rc = 0;

	if (dev == NULL) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_pci_lock);
	if (dev->access != PCI_ACCESS_VFIO || dev->vfio_secondary) {
		rc = dev->access == PCI_ACCESS_UIO ? 0 : -EINVAL; /* uio: nothing to hand over */
	} else if (dev->mp_listen_fd < 0) {
		rc = mp_listen(dev);
	}
	while (rc == 0 && dev->mp_listen_fd >= 0 &&
	       (conn = accept4(dev->mp_listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		mp_send_fd(dev, conn);
		close(conn);
	}
	pthread_mutex_unlock(&g_pci_lock);
	return rc;
}

void
pci_mp_serve_stop(struct brisk_pci_device *dev)
{
	if (dev->mp_listen_fd >= 0) {
		close(dev->mp_listen_fd);
		dev->mp_listen_fd = -1;
	}
}

/* The descriptor from the message's SCM_RIGHTS, or -1. */
static int
mp_take_fd(struct msghdr *msg)
{
	struct cmsghdr *c = CMSG_FIRSTHDR(msg);
	int fd = -1;

	if (c != NULL && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int))) {
		memcpy(&fd, CMSG_DATA(c), sizeof(int));
	}
	return fd;
}

/* Connects to the primary's socket and receives the device fd; fd or -errno. */
static int
mp_recv_fd(struct brisk_pci_device *dev)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct timeval tv = { .tv_sec = MP_RECV_TIMEOUT_S };
	struct sockaddr_un sa;
	socklen_t len = mp_sock_addr(dev, &sa);
	int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), fd = -1;

	if (sock < 0) {
		return -errno;
	}
	if (setsockopt(sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(sock, (struct sockaddr *)&sa, len) != 0) {
		BRISK_ERRLOG("PCI %s: no primary process serves the VFIO device: %s\n", dev->addr_str,
			     strerror(errno));
	} else if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1 || (fd = mp_take_fd(&msg)) < 0) {
		BRISK_ERRLOG("PCI %s: the primary process did not hand over the VFIO device%s\n",
			     dev->addr_str, errno == EAGAIN ? " in time (does it poll?)" : "");
	}
	close(sock);
	return fd >= 0 ? fd : -ENODEV;
}

static int
attach_secondary_vfio(struct brisk_pci_device *dev)
{
	int fd = mp_recv_fd(dev);

	return fd < 0 ? fd : pci_vfio_attach_fd(dev, fd);
}

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
		return attach_secondary_vfio(dev);
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
