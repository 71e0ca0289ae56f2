/*
 * The "brisk" VFS object: open, delete, access and path names on the blobfs
 * of this process (sqlite_mount.c); time, randomness, sleep and dynamic
 * loading are the unix VFS's, which SQLite always has on Linux.
 */
#include <stdio.h>
#include <string.h>

#include "brisk/sqlite.h"
#include "sqlite_internal.h"

static sqlite3_vfs *g_unix;

/* Mounts from the main database's URI parameters, else the environment. */
static int open_mount(const char *path, int flags)
{
	const char *config = NULL, *bdev = NULL;

	if (path != NULL && (flags & SQLITE_OPEN_URI)) {
		config = sqlite3_uri_parameter(path, "brisk_config");
		bdev = sqlite3_uri_parameter(path, "brisk_bdev");
	}
	return brisk_sqlite_mount(config, bdev);
}

/* A WAL marks its own end (salted, checksummed frames: recovery stops at
 * the first frame that does not match, as it does past a WAL SQLite reset
 * without truncating), so its exact size need not be durable: a commit that
 * appends within the WAL's last cluster syncs with one flush. */
static uint32_t open_flags(int flags)
{
	uint32_t f = (flags & SQLITE_OPEN_CREATE) ? BRISK_BLOBFS_OPEN_CREATE : 0;

	return (flags & SQLITE_OPEN_WAL) ? f | BRISK_BLOBFS_OPEN_LAZY_SIZE : f;
}

/* Opens (or creates) the blobfs file behind path; 0 or a negative errno. */
static int open_blobfs(struct brisk_blobfs_sync_ctx *ctx, const char *path, int flags,
		       struct brisk_blobfs_file **bf)
{
	char name[BRISK_BLOBFS_NAME_MAX + 1];
	struct brisk_blobfs_stat st;
	int rc = brisk_sqlite_fs_name(path, name, sizeof(name));

	if (rc != 0) {
		return rc;
	}
	if ((flags & SQLITE_OPEN_EXCLUSIVE) && brisk_blobfs_sync_stat(ctx, name, &st) == 0) {
		return -EEXIST;
	}
	rc = brisk_blobfs_sync_open(ctx, name, open_flags(flags), bf);
	if (rc == 0 && (flags & SQLITE_OPEN_DELETEONCLOSE)) {
		/* Unlinked at once: the handle keeps the file until it closes,
		 * and a crash leaves nothing behind. */
		rc = brisk_blobfs_sync_delete(ctx, name);
		if (rc != 0) {
			brisk_blobfs_sync_close(ctx, *bf);
		}
	}
	return rc;
}

static void file_init(struct brisk_sqlite_file *file, int flags)
{
	memset(file, 0, sizeof(*file));
	file->open_flags = flags;
	file->psow = true;
	file->temp = (flags & (SQLITE_OPEN_DELETEONCLOSE | SQLITE_OPEN_TEMP_DB |
			       SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_TRANSIENT_DB)) != 0;
}

int brisk_sqlite_open(sqlite3_vfs *vfs, const char *path, sqlite3_file *f, int flags,
		      int *out_flags)
{
	struct brisk_sqlite_file *file = (struct brisk_sqlite_file *)f;
	struct brisk_blobfs_sync_ctx *ctx;
	char tmp[BRISK_SQLITE_MAX_PATH];
	int rc = open_mount(path, flags);

	file_init(file, flags);
	if (path != NULL && (flags & SQLITE_OPEN_URI) && sqlite3_uri_boolean(path, "brisk_functions", 0)) {
		/* brisk_file() for connections opened from now on, again after
		 * sqlite3_reset_auto_extension (SQLite's suite resets them; its
		 * Tcl shim asks back with this URI parameter). */
		sqlite3_auto_extension((void (*)(void))brisk_sqlite_register_functions);
	}
	if (rc != 0 || (ctx = brisk_sqlite_ctx()) == NULL) {
		return SQLITE_CANTOPEN;
	}
	if (path == NULL) {
		brisk_sqlite_temp_name(tmp, sizeof(tmp));
		path = tmp;
		flags |= SQLITE_OPEN_CREATE | SQLITE_OPEN_DELETEONCLOSE;
		file->temp = true;
	}
	file->node = brisk_sqlite_node_get(path);
	if (file->node == NULL) {
		return SQLITE_CANTOPEN;
	}
	rc = open_blobfs(ctx, path, flags, &file->bf);
	if (rc != 0) {
		brisk_sqlite_node_put(file->node);
		file->node = NULL;
		return rc == -ENOSPC ? SQLITE_FULL : SQLITE_CANTOPEN;
	}
	file->base.pMethods = &brisk_sqlite_io_methods;
	file->new_journal = (flags & SQLITE_OPEN_CREATE) &&
			    (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_SUPER_JOURNAL | SQLITE_OPEN_WAL));
	brisk_sqlite_count_open(1);
	if (out_flags != NULL) {
		*out_flags = flags;
	}
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *path, int sync_dir)
{
	char name[BRISK_BLOBFS_NAME_MAX + 1];
	struct brisk_blobfs_sync_ctx *ctx;
	int rc;

	if (brisk_sqlite_mount(NULL, NULL) != 0 || (ctx = brisk_sqlite_ctx()) == NULL) {
		return SQLITE_IOERR_DELETE;
	}
	if (brisk_sqlite_fs_name(path, name, sizeof(name)) != 0) {
		return SQLITE_IOERR_DELETE_NOENT;
	}
	/* Durable when it returns: no directory to sync. */
	rc = brisk_blobfs_sync_delete(ctx, name);
	if (rc == -ENOENT) {
		return SQLITE_IOERR_DELETE_NOENT;
	}
	return rc ? SQLITE_IOERR_DELETE : SQLITE_OK;
}

static int vfs_access(sqlite3_vfs *vfs, const char *path, int flags, int *out)
{
	char name[BRISK_BLOBFS_NAME_MAX + 1];
	struct brisk_blobfs_stat st;
	struct brisk_blobfs_sync_ctx *ctx;

	*out = 0;
	if (brisk_sqlite_mount(NULL, NULL) != 0 || (ctx = brisk_sqlite_ctx()) == NULL) {
		return SQLITE_IOERR_ACCESS;
	}
	if (brisk_sqlite_fs_name(path, name, sizeof(name)) != 0 ||
	    brisk_blobfs_sync_stat(ctx, name, &st) != 0) {
		return SQLITE_OK;
	}
	/* As the unix VFS: an empty file does not "exist" (no hot journal). */
	*out = (flags == SQLITE_ACCESS_EXISTS) ? st.size > 0 : 1;
	return SQLITE_OK;
}

static int vfs_full_pathname(sqlite3_vfs *vfs, const char *path, int out_len, char *out)
{
	if (brisk_sqlite_full_path(path, out, out_len) != 0) {
		return SQLITE_CANTOPEN;
	}
	return SQLITE_OK;
}

static void *vfs_dlopen(sqlite3_vfs *vfs, const char *path)
{
	return g_unix->xDlOpen(g_unix, path);
}

static void vfs_dlerror(sqlite3_vfs *vfs, int n, char *msg)
{
	g_unix->xDlError(g_unix, n, msg);
}

static void (*vfs_dlsym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
	return g_unix->xDlSym(g_unix, h, sym);
}

static void vfs_dlclose(sqlite3_vfs *vfs, void *h)
{
	g_unix->xDlClose(g_unix, h);
}

static int vfs_randomness(sqlite3_vfs *vfs, int n, char *out)
{
	return g_unix->xRandomness(g_unix, n, out);
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return g_unix->xSleep(g_unix, us);
}

static int vfs_current_time(sqlite3_vfs *vfs, double *out)
{
	return g_unix->xCurrentTime(g_unix, out);
}

static int vfs_last_error(sqlite3_vfs *vfs, int n, char *msg)
{
	return 0;
}

static int vfs_current_time64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
	return g_unix->xCurrentTimeInt64(g_unix, out);
}

/* Version 3 interface: the VFS makes no system calls of its own to swap. */
static int vfs_set_syscall(sqlite3_vfs *vfs, const char *name, sqlite3_syscall_ptr fn)
{
	return SQLITE_NOTFOUND;
}

static sqlite3_syscall_ptr vfs_get_syscall(sqlite3_vfs *vfs, const char *name)
{
	return NULL;
}

static const char *vfs_next_syscall(sqlite3_vfs *vfs, const char *name)
{
	return NULL;
}

static sqlite3_vfs g_brisk_vfs = {
	.iVersion = 3,
	.szOsFile = sizeof(struct brisk_sqlite_file),
	.mxPathname = BRISK_SQLITE_MAX_PATH,
	.zName = BRISK_SQLITE_VFS_NAME,
	.xOpen = brisk_sqlite_open,
	.xDelete = vfs_delete,
	.xAccess = vfs_access,
	.xFullPathname = vfs_full_pathname,
	.xDlOpen = vfs_dlopen,
	.xDlError = vfs_dlerror,
	.xDlSym = vfs_dlsym,
	.xDlClose = vfs_dlclose,
	.xRandomness = vfs_randomness,
	.xSleep = vfs_sleep,
	.xCurrentTime = vfs_current_time,
	.xGetLastError = vfs_last_error,
	.xCurrentTimeInt64 = vfs_current_time64,
	.xSetSystemCall = vfs_set_syscall,
	.xGetSystemCall = vfs_get_syscall,
	.xNextSystemCall = vfs_next_syscall,
};

int brisk_sqlite_vfs_register(int make_default)
{
	if (g_unix == NULL) {
		g_unix = sqlite3_vfs_find("unix");
		if (g_unix == NULL) {
			return SQLITE_ERROR;
		}
	}
	return sqlite3_vfs_register(&g_brisk_vfs, make_default);
}
