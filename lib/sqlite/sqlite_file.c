/*
 * The file methods of the brisk VFS: each SQLite file (database, journal,
 * WAL, temp file) is one blobfs file reached through the synchronous API
 * from whatever thread SQLite calls on. Short reads are zero-filled as
 * SQLite requires; errors map to SQLite's extended I/O codes.
 */
#include <string.h>

#include "sqlite_internal.h"

#define FILE_OF(f) ((struct brisk_sqlite_file *)(f))

int brisk_sqlite_errno_to_rc(int err, int io_rc)
{
	switch (err) {
	case -ENOSPC:
		return SQLITE_FULL;
	case -ENOMEM:
		return SQLITE_IOERR_NOMEM;
	default:
		return io_rc;
	}
}

static int file_close(sqlite3_file *f)
{
	struct brisk_sqlite_file *file = FILE_OF(f);
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	int rc = SQLITE_OK;

	brisk_sqlite_unlock(f, SQLITE_LOCK_NONE);
	brisk_sqlite_shm_unmap(f, 0);
	/* After the exit-time stop the store closed every file itself. */
	if (ctx && brisk_blobfs_sync_close(ctx, file->bf) != 0) {
		rc = SQLITE_IOERR_CLOSE;
	}
	brisk_sqlite_node_put(file->node);
	brisk_sqlite_count_open(-1);
	file->bf = NULL;
	return rc;
}

static int file_read(sqlite3_file *f, void *buf, int amt, sqlite3_int64 off)
{
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	int64_t n;

	if (ctx == NULL) {
		return SQLITE_IOERR_READ;
	}
	n = brisk_blobfs_sync_read(ctx, FILE_OF(f)->bf, buf, off, amt);
	if (n < 0) {
		return brisk_sqlite_errno_to_rc((int)n, SQLITE_IOERR_READ);
	}
	if (n < amt) {
		memset((char *)buf + n, 0, amt - n);
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

static int file_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	int64_t n;

	if (ctx == NULL) {
		return SQLITE_IOERR_WRITE;
	}
	n = brisk_blobfs_sync_write(ctx, FILE_OF(f)->bf, buf, off, amt);
	if (brisk_sqlite_sim_diskfull()) {
		return SQLITE_FULL; /* after the write, as the unix VFS simulates it */
	}
	if (n < 0) {
		return brisk_sqlite_errno_to_rc((int)n, SQLITE_IOERR_WRITE);
	}
	return n == amt ? SQLITE_OK : SQLITE_IOERR_WRITE;
}

static int file_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	struct brisk_sqlite_file *file = FILE_OF(f);
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	int rc;

	if (ctx == NULL) {
		return SQLITE_IOERR_TRUNCATE;
	}
	if (file->chunk > 0) {
		/* Same as SQLite's unix VFS: grow in whole chunks. */
		size = ((size + file->chunk - 1) / file->chunk) * file->chunk;
	}
	rc = brisk_blobfs_sync_truncate(ctx, file->bf, size);
	return rc ? brisk_sqlite_errno_to_rc(rc, SQLITE_IOERR_TRUNCATE) : SQLITE_OK;
}

static int file_sync(sqlite3_file *f, int flags)
{
	struct brisk_sqlite_file *file = FILE_OF(f);
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	int rc;

	if (brisk_sqlite_sim_diskfull()) {
		return SQLITE_FULL;
	}
	if (file->temp) {
		return SQLITE_OK; /* gone after a crash anyway */
	}
	if (ctx == NULL) {
		return SQLITE_IOERR_FSYNC;
	}
	/* NORMAL and FULL alike: blobfs's sync is the only durable point. */
	rc = brisk_blobfs_sync_sync(ctx, file->bf);
	brisk_sqlite_count_sync(file, flags);
	return rc ? brisk_sqlite_errno_to_rc(rc, SQLITE_IOERR_FSYNC) : SQLITE_OK;
}

static int file_size(sqlite3_file *f, sqlite3_int64 *out)
{
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	uint64_t size = 0;
	int rc;

	if (ctx == NULL) {
		return SQLITE_IOERR_FSTAT;
	}
	rc = brisk_blobfs_sync_size(ctx, FILE_OF(f)->bf, &size);
	*out = (sqlite3_int64)size;
	return rc ? brisk_sqlite_errno_to_rc(rc, SQLITE_IOERR_FSTAT) : SQLITE_OK;
}

/* SQLITE_FCNTL_SIZE_HINT: like the unix VFS, only files with a chunk size
 * grow ahead of their writes. */
static int fcntl_size_hint(sqlite3_file *f, sqlite3_int64 hint)
{
	struct brisk_sqlite_file *file = FILE_OF(f);
	sqlite3_int64 size;
	int rc;

	if (file->chunk <= 0) {
		return SQLITE_OK;
	}
	rc = file_size(f, &size);
	if (rc == SQLITE_OK && hint > size) {
		rc = file_truncate(f, hint);
	}
	return rc;
}

/* SQLite's get (-1) / set (0 or 1) convention for boolean file controls. */
static void fcntl_bool(bool *flag, void *arg)
{
	int *v = arg;

	if (*v < 0) {
		*v = *flag;
	} else {
		*flag = *v != 0;
	}
}

static int file_control(sqlite3_file *f, int op, void *arg)
{
	struct brisk_sqlite_file *file = FILE_OF(f);

	switch (op) {
	case SQLITE_FCNTL_LOCKSTATE:
		*(int *)arg = file->level;
		return SQLITE_OK;
	case SQLITE_FCNTL_CHUNK_SIZE:
		file->chunk = *(int *)arg;
		return SQLITE_OK;
	case SQLITE_FCNTL_SIZE_HINT:
		return fcntl_size_hint(f, *(sqlite3_int64 *)arg);
	case SQLITE_FCNTL_PERSIST_WAL:
		fcntl_bool(&file->persist_wal, arg);
		return SQLITE_OK;
	case SQLITE_FCNTL_POWERSAFE_OVERWRITE:
		fcntl_bool(&file->psow, arg);
		return SQLITE_OK;
	case SQLITE_FCNTL_VFSNAME:
		*(char **)arg = sqlite3_mprintf("%s", BRISK_SQLITE_VFS_NAME);
		return SQLITE_OK;
	case SQLITE_FCNTL_HAS_MOVED:
		*(int *)arg = 0; /* names are resolved at open; a handle keeps its file */
		return SQLITE_OK;
	default:
		return SQLITE_NOTFOUND;
	}
}

static int file_sector_size(sqlite3_file *f)
{
	return BRISK_SQLITE_SECTOR_SIZE;
}

/* Only what the store guarantees: a write never damages bytes outside its
 * range (blobfs rewrites whole pages but with their old contents around the
 * write, and a blob page write is atomic on the devices Brisk supports).
 * Writes are not ordered (the cache coalesces them) and the size is not
 * persisted before the data, so no SEQUENTIAL or SAFE_APPEND. No
 * BATCH_ATOMIC yet: the file controls are not wired to blobfs's batches. */
static int file_device_characteristics(sqlite3_file *f)
{
	return FILE_OF(f)->psow ? SQLITE_IOCAP_POWERSAFE_OVERWRITE : 0;
}

/* No memory mapping: SQLite falls back to xRead. */
static int file_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	*pp = NULL;
	return SQLITE_OK;
}

static int file_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return SQLITE_OK;
}

const sqlite3_io_methods brisk_sqlite_io_methods = {
	.iVersion = 3,
	.xClose = file_close,
	.xRead = file_read,
	.xWrite = file_write,
	.xTruncate = file_truncate,
	.xSync = file_sync,
	.xFileSize = file_size,
	.xLock = brisk_sqlite_lock,
	.xUnlock = brisk_sqlite_unlock,
	.xCheckReservedLock = brisk_sqlite_check_reserved,
	.xFileControl = file_control,
	.xSectorSize = file_sector_size,
	.xDeviceCharacteristics = file_device_characteristics,
	.xShmMap = brisk_sqlite_shm_map,
	.xShmLock = brisk_sqlite_shm_lock,
	.xShmBarrier = brisk_sqlite_shm_barrier,
	.xShmUnmap = brisk_sqlite_shm_unmap,
	.xFetch = file_fetch,
	.xUnfetch = file_unfetch,
};
