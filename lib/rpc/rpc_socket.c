/*
 * Who may own, create and talk to the RPC socket: the default path, the
 * directory checks, the lock file, creating the socket with its mode and
 * group whatever the umask, and checking a client's credentials.
 *
 * The threat is a local user: one that squats the default path before the
 * target starts, plants a symlink where the lock file will be opened, or
 * connects to a socket left readable by a lax umask. See doc/security.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/rpc.h>

#include "rpc_internal.h"

#define RPC_MAX_PEER_GROUPS 256

static char g_default_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

/* Computed once; the environment does not change under a running program. */
const char *
brisk_rpc_default_path(void)
{
	const char *xdg;

	if (g_default_path[0] != '\0') {
		return g_default_path;
	}
	xdg = getenv("XDG_RUNTIME_DIR");
	if (geteuid() == 0) {
		snprintf(g_default_path, sizeof(g_default_path), "%s/brisk.sock",
			 BRISK_RPC_ROOT_RUNTIME_DIR);
	} else if (xdg != NULL && xdg[0] == '/' &&
		   strlen(xdg) + sizeof("/brisk.sock") <= sizeof(g_default_path)) {
		snprintf(g_default_path, sizeof(g_default_path), "%s/brisk.sock", xdg);
	} else {
		snprintf(g_default_path, sizeof(g_default_path), "/tmp/brisk-%u/brisk.sock",
			 (unsigned)geteuid());
	}
	return g_default_path;
}

/* The directory part of path ("." for a bare name). */
static void
path_dirname(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		snprintf(dir, len, ".");
	} else if (slash == path) {
		snprintf(dir, len, "/");
	} else {
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
	}
}

/* The default path's directory is created when missing: 0755 for root's
 * (clients of other users may reach it; the socket's own mode decides),
 * 0700 for a user's fallback under /tmp. */
static int
create_default_dir(const char *dir)
{
	mode_t mode = geteuid() == 0 ? 0755 : 0700;

	if (mkdir(dir, mode) != 0 && errno != EEXIST) {
		int rc = -errno;

		BRISK_ERRLOG("RPC: cannot create the socket directory %s: %s\n", dir, strerror(errno));
		return rc;
	}
	return 0;
}

/* Refuses a directory where another user could swap the socket or lock file:
 * writable by others without the sticky bit, or owned by another non-root
 * user. */
static int
check_dir(const char *dir, const char *path)
{
	struct stat st;

	if (stat(dir, &st) != 0) {
		int rc = -errno;

		BRISK_ERRLOG("RPC: socket directory %s of %s: %s\n", dir, path, strerror(errno));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		BRISK_ERRLOG("RPC: %s (directory of %s) is not a directory\n", dir, path);
		return -ENOTDIR;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		BRISK_ERRLOG("RPC: refusing socket path %s: its directory %s is writable by anyone "
			     "and not sticky (mode %04o)\n", path, dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		BRISK_ERRLOG("RPC: refusing socket path %s: its directory %s belongs to uid %u, "
			     "neither root nor this user\n", path, dir, (unsigned)st.st_uid);
		return -EPERM;
	}
	if (strcmp(path, brisk_rpc_default_path()) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		BRISK_ERRLOG("RPC: the default socket directory %s must not be group or world "
			     "writable (mode %04o)\n", dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int
rpc_socket_check_path(const char *path)
{
	char dir[PATH_MAX];
	int rc;

	path_dirname(path, dir, sizeof(dir));
	if (strcmp(path, brisk_rpc_default_path()) == 0) {
		rc = create_default_dir(dir);
		if (rc != 0) {
			return rc;
		}
	}
	return check_dir(dir, path);
}

int
rpc_socket_open_lock(const char *lock_path)
{
	struct stat st;
	int fd, rc;

	/* O_NOFOLLOW: a symlink planted at the lock path (say to a root-only
	 * file) is refused instead of being opened and truncated or locked. */
	fd = open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		BRISK_ERRLOG("RPC: cannot open lock file %s: %s%s\n", lock_path, strerror(errno),
			     errno == ELOOP ? " (it is a symlink)" : "");
		return rc;
	}
	/* A hard link to someone else's file, a FIFO or a device left there by
	 * another user is not ours to lock. */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid()) {
		BRISK_ERRLOG("RPC: refusing lock file %s: not a regular file of this user with one "
			     "link\n", lock_path);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* bind() creates the file with 0777 & ~umask: bind under a umask that
 * leaves only the owner's bits, then set the wanted group and mode before
 * listen(), so the socket is never wider than asked even for an instant. */
int
rpc_socket_bind(int fd, const char *path, const struct brisk_rpc_opts *opts)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int rc = 0;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	old_mask = umask(0177);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		rc = -errno;
	}
	umask(old_mask);
	if (rc != 0) {
		BRISK_ERRLOG("RPC: cannot bind %s: %s\n", path, strerror(-rc));
		return rc;
	}
	if (opts->socket_gid >= 0 && chown(path, (uid_t)-1, (gid_t)opts->socket_gid) != 0) {
		rc = -errno;
		BRISK_ERRLOG("RPC: cannot give %s to group %lld: %s\n", path,
			     (long long)opts->socket_gid, strerror(errno));
		return rc;
	}
	if (chmod(path, opts->socket_mode) != 0) {
		rc = -errno;
		BRISK_ERRLOG("RPC: cannot set mode %04o on %s: %s\n", opts->socket_mode, path,
			     strerror(errno));
		return rc;
	}
	return 0;
}

/* True if the peer's supplementary groups (at connect time) hold gid. */
static bool
peer_in_group(int fd, gid_t gid)
{
	gid_t groups[RPC_MAX_PEER_GROUPS];
	socklen_t len = sizeof(groups);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0) {
		return false;
	}
	for (size_t i = 0; i < len / sizeof(gid_t); i++) {
		if (groups[i] == gid) {
			return true;
		}
	}
	return false;
}

int
rpc_socket_check_peer(int fd, const struct brisk_rpc_opts *opts)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		BRISK_WARNLOG("RPC: refused a client: its credentials are unknown (%s)\n",
			      strerror(errno));
		return -EACCES;
	}
	if (cred.uid == 0 || cred.uid == geteuid()) {
		return 0;
	}
	if (opts->socket_gid >= 0 &&
	    (cred.gid == (gid_t)opts->socket_gid || peer_in_group(fd, (gid_t)opts->socket_gid))) {
		return 0;
	}
	BRISK_WARNLOG("RPC: refused a client: pid %d uid %u gid %u is not root, uid %u%s\n",
		      (int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid, (unsigned)geteuid(),
		      opts->socket_gid >= 0 ? " or in the socket's group" : "");
	return -EACCES;
}
