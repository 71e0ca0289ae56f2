/*
 * brisk_file(op, path [, to]): the store's files seen from SQL, for tools
 * and test harnesses that handle database files directly (SQLite's own TCL
 * suite deletes, copies and measures test.db between tests; on the brisk VFS
 * those files are on the store, not in the kernel's file system).
 *   'exists' -> 1 or 0      'size' -> bytes or NULL      'delete' -> 1 or 0
 *   'rename' -> 1 or 0 (replacing `to`)   'copy' -> 1 or 0 (replacing `to`)
 *   'list' -> the names of the files in the folder path, one a line
 * brisk_file_data(op, path, offset, arg): the bytes of a store file, for
 * suites that read or patch database and journal files directly (SQLite's
 * suite does it with Tcl's open and hexio_read/hexio_write):
 *   'read' -> a blob of at most arg bytes from offset (short at the end)
 *   'write' -> bytes written: the blob arg at offset (file created if absent)
 *   'truncate' -> 1 or 0: the file cut or extended to offset bytes
 * "<db>-shm" while a connection of this process maps db's WAL index: exists,
 * size, read and write act on that in-memory index, as on the unix VFS's
 * mapped -shm file.
 * Paths are SQLite paths, mapped as the VFS maps them (sqlite_name.c).
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

#define COPY_CHUNK (256 * 1024)

/* The blobfs name of a path argument; 0 or a negative errno. */
static int arg_name(sqlite3_value *v, char *name)
{
	const char *path = (const char *)sqlite3_value_text(v);
	char full[BRISK_SQLITE_MAX_PATH];

	if (path == NULL || brisk_sqlite_full_path(path, full, sizeof(full)) != 0) {
		return -EINVAL;
	}
	return brisk_sqlite_fs_name(full, name, BRISK_BLOBFS_NAME_MAX + 1);
}

/* Copies every byte of from into to (created or truncated), then syncs. */
static int copy_file(struct brisk_blobfs_sync_ctx *ctx, const char *from, const char *to)
{
	struct brisk_blobfs_file *src = NULL, *dst = NULL;
	bool dst_open;
	char *buf = malloc(COPY_CHUNK);
	uint64_t off = 0;
	int64_t n = 0;
	int rc = buf ? brisk_blobfs_sync_open(ctx, from, 0, &src) : -ENOMEM;

	if (rc != 0) {
		free(buf);
		return rc;
	}
	rc = brisk_blobfs_sync_open(ctx, to, BRISK_BLOBFS_OPEN_CREATE, &dst);
	dst_open = rc == 0;
	rc = rc ? rc : brisk_blobfs_sync_truncate(ctx, dst, 0);
	while (rc == 0 && (n = brisk_blobfs_sync_read(ctx, src, buf, off, COPY_CHUNK)) > 0) {
		rc = brisk_blobfs_sync_write(ctx, dst, buf, off, n) == n ? 0 : -EIO;
		off += n;
	}
	rc = rc ? rc : (n < 0 ? (int)n : brisk_blobfs_sync_sync(ctx, dst));
	if (dst_open) {
		brisk_blobfs_sync_close(ctx, dst);
	}
	brisk_blobfs_sync_close(ctx, src);
	free(buf);
	return rc;
}

/* 'list': a file is in folder dir when its name is dir's name, an escaped
 * '/', and a tail with no further '/' (sqlite_name.c escapes '%' and '/'). */
static void list_dir(sqlite3_context *sctx, struct brisk_blobfs_sync_ctx *ctx, const char *dir, const char *shm)
{
	size_t count = 0, i, dlen = strlen(dir), out_len = 1;
	char **names = NULL, *out, *tail;
	int rc = brisk_blobfs_sync_list(ctx, &names, &count);

	out = rc == 0 && shm ? calloc(1, (count + 1) * (BRISK_BLOBFS_NAME_MAX + 2) + strlen(shm)) : NULL;
	for (i = 0; out != NULL && i < count; i++) {
		if (strncmp(names[i], dir, dlen) != 0 || strncmp(names[i] + dlen, "%2F", 3) != 0 ||
		    strstr(names[i] + dlen + 3, "%2F") != NULL) {
			continue;
		}
		for (tail = names[i] + dlen + 3; *tail; tail++) {
			out[out_len++ - 1] = *tail;
			tail += strncmp(tail, "%25", 3) == 0 ? 2 : 0;
		}
		out[out_len++ - 1] = '\n';
	}
	if (out != NULL) {
		/* Live WAL indexes are files there on unix (the suite globs them). */
		strcpy(out + out_len - 1, shm);
		out_len += strlen(shm);
	}
	if (out == NULL) {
		sqlite3_result_error(sctx, "brisk_file: cannot list the store", -1);
	} else {
		sqlite3_result_text(sctx, out, (int)out_len - 1, SQLITE_TRANSIENT);
	}
	free(out);
	brisk_blobfs_free_names(names, count);
}

/* Whether path v is "<db>-shm" for a database whose WAL index is live in
 * this process (db gets its full path): the unix VFS maps that file, the
 * brisk VFS keeps the index in memory, and SQLite's suite reads and patches
 * it as a file; these functions show it the index's bytes as unix would. */
static bool shm_db(sqlite3_value *v, char *db)
{
	const char *path = (const char *)sqlite3_value_text(v);
	size_t len;

	if (path == NULL || brisk_sqlite_full_path(path, db, BRISK_SQLITE_MAX_PATH) != 0) {
		return false;
	}
	len = strlen(db);
	if (len < 4 || strcmp(db + len - 4, "-shm") != 0) {
		return false;
	}
	db[len - 4] = '\0';
	return brisk_sqlite_shm_file_size(db) >= 0;
}

/* 'exists' and 'size' of a live WAL index; false for other ops and files. */
static bool shm_file_op(sqlite3_context *sctx, const char *op, sqlite3_value *path)
{
	char db[BRISK_SQLITE_MAX_PATH];
	bool size = strcmp(op, "size") == 0;

	if ((!size && strcmp(op, "exists") != 0) || !shm_db(path, db)) {
		return false;
	}
	if (size) {
		sqlite3_result_int64(sctx, brisk_sqlite_shm_file_size(db));
	} else {
		sqlite3_result_int(sctx, 1);
	}
	return true;
}

/* 'read' and 'write' of a live WAL index; false for other ops and files. */
static bool shm_data_op(sqlite3_context *sctx, bool rd, const char *op, sqlite3_value **argv)
{
	char db[BRISK_SQLITE_MAX_PATH];
	int64_t off = sqlite3_value_int64(argv[2]);
	int64_t n = rd ? sqlite3_value_int64(argv[3]) : sqlite3_value_bytes(argv[3]);
	char *buf;

	if ((!rd && (strcmp(op, "write") != 0 || sqlite3_value_type(argv[3]) != SQLITE_BLOB)) || n < 0 ||
	    n > COPY_CHUNK || !shm_db(argv[1], db)) {
		return false;
	}
	buf = rd ? malloc(n + 1) : (char *)sqlite3_value_blob(argv[3]);
	n = buf ? brisk_sqlite_shm_file_io(db, off, buf, n, !rd) : -ENOMEM;
	if (n < 0) {
		sqlite3_result_error(sctx, "brisk_file_data: WAL index unavailable", -1);
	} else if (rd) {
		sqlite3_result_blob64(sctx, buf, n, SQLITE_TRANSIENT);
	} else {
		sqlite3_result_int64(sctx, n);
	}
	if (rd) {
		free(buf);
	}
	return true;
}

static void file_op(sqlite3_context *sctx, const char *op, const char *name, const char *to)
{
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	struct brisk_blobfs_stat st;

	if (ctx == NULL) {
		sqlite3_result_error(sctx, "brisk_file: the store is not mounted", -1);
	} else if (strcmp(op, "exists") == 0) {
		sqlite3_result_int(sctx, brisk_blobfs_sync_stat(ctx, name, &st) == 0);
	} else if (strcmp(op, "size") == 0) {
		if (brisk_blobfs_sync_stat(ctx, name, &st) == 0) {
			sqlite3_result_int64(sctx, (sqlite3_int64)st.size);
		}
	} else if (strcmp(op, "delete") == 0) {
		sqlite3_result_int(sctx, brisk_blobfs_sync_delete(ctx, name) == 0);
	} else if (strcmp(op, "rename") == 0 && to != NULL) {
		sqlite3_result_int(sctx, brisk_blobfs_sync_rename(ctx, name, to) == 0);
	} else if (strcmp(op, "copy") == 0 && to != NULL) {
		sqlite3_result_int(sctx, copy_file(ctx, name, to) == 0);
	} else {
		sqlite3_result_error(sctx,
				     "brisk_file: op must be exists, size, delete, list, "
				     "rename or copy (rename and copy take a third argument)",
				     -1);
	}
}

/* 'list': the store's files in the folder and the live WAL indexes there. */
static void list_op(sqlite3_context *sctx, const char *name, sqlite3_value *path)
{
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	char full[BRISK_SQLITE_MAX_PATH];
	char *shm;

	if (ctx == NULL || brisk_sqlite_full_path((const char *)sqlite3_value_text(path), full, sizeof(full)) != 0) {
		sqlite3_result_error(sctx, "brisk_file: the store is not mounted", -1);
		return;
	}
	shm = brisk_sqlite_shm_file_list(full);
	list_dir(sctx, ctx, name, shm);
	free(shm);
}

/* 'copy' of a live WAL index: its bytes into the store's file `to`, as
 * copying the unix VFS's -shm file would give (the copy is a plain file). */
static bool shm_copy(sqlite3_context *sctx, const char *op, sqlite3_value *path, const char *to)
{
	struct brisk_blobfs_sync_ctx *ctx = brisk_sqlite_ctx();
	struct brisk_blobfs_file *dst;
	char db[BRISK_SQLITE_MAX_PATH];
	int64_t size, rc;
	char *buf;

	if (strcmp(op, "copy") != 0 || ctx == NULL || !shm_db(path, db)) {
		return false;
	}
	size = brisk_sqlite_shm_file_size(db);
	buf = size >= 0 ? malloc(size + 1) : NULL;
	rc = buf ? brisk_sqlite_shm_file_io(db, 0, buf, size, false) : -ENOMEM;
	rc = rc < 0 ? rc : brisk_blobfs_sync_open(ctx, to, BRISK_BLOBFS_OPEN_CREATE, &dst);
	if (rc == 0) {
		rc = brisk_blobfs_sync_truncate(ctx, dst, 0);
		rc = rc ? rc : (brisk_blobfs_sync_write(ctx, dst, buf, 0, size) == size ? 0 : -EIO);
		rc = rc ? rc : brisk_blobfs_sync_sync(ctx, dst);
		brisk_blobfs_sync_close(ctx, dst);
	}
	sqlite3_result_int(sctx, rc == 0);
	free(buf);
	return true;
}

static void brisk_file_func(sqlite3_context *sctx, int argc, sqlite3_value **argv)
{
	char name[BRISK_BLOBFS_NAME_MAX + 1], to[BRISK_BLOBFS_NAME_MAX + 1];
	const char *op = (const char *)sqlite3_value_text(argv[0]);

	if (op == NULL || arg_name(argv[1], name) != 0 ||
	    (argc == 3 && arg_name(argv[2], to) != 0)) {
		sqlite3_result_error(sctx, "brisk_file: bad op or path", -1);
		return;
	}
	if ((argc == 2 && shm_file_op(sctx, op, argv[1])) || (argc == 3 && shm_copy(sctx, op, argv[1], to))) {
		return;
	}
	if (brisk_sqlite_mount(NULL, NULL) != 0) {
		sqlite3_result_error(sctx, "brisk_file: cannot mount the store", -1);
		return;
	}
	if (strcmp(op, "list") == 0) {
		list_op(sctx, name, argv[1]);
		return;
	}
	file_op(sctx, op, name, argc == 3 ? to : NULL);
}

/* 'read': up to n bytes at off as a blob (empty past the end). */
static void data_read(sqlite3_context *sctx, struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
		      int64_t off, int64_t n)
{
	char *buf = n >= 0 && n <= COPY_CHUNK * 64 ? malloc(n + 1) : NULL;
	int64_t got = buf ? brisk_blobfs_sync_read(ctx, file, buf, off, n) : -ENOMEM;

	if (got < 0) {
		sqlite3_result_error(sctx, "brisk_file_data: read failed", -1);
	} else {
		sqlite3_result_blob64(sctx, buf, got, SQLITE_TRANSIENT);
	}
	free(buf);
}

/* 'write' and 'truncate' also sync, so a later open sees them durable. */
static void data_change(sqlite3_context *sctx, struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			int64_t off, sqlite3_value *arg)
{
	bool write = sqlite3_value_type(arg) == SQLITE_BLOB;
	int64_t n = write ? sqlite3_value_bytes(arg) : 0;
	int64_t rc = write ? brisk_blobfs_sync_write(ctx, file, sqlite3_value_blob(arg), off, n)
			   : brisk_blobfs_sync_truncate(ctx, file, off);

	rc = rc < 0 ? rc : brisk_blobfs_sync_sync(ctx, file);
	if (rc < 0) {
		sqlite3_result_error(sctx, "brisk_file_data: write failed", -1);
	} else {
		sqlite3_result_int64(sctx, write ? n : 1);
	}
}

static void brisk_file_data_func(sqlite3_context *sctx, int argc, sqlite3_value **argv)
{
	const char *op = (const char *)sqlite3_value_text(argv[0]);
	int64_t off = sqlite3_value_int64(argv[2]);
	bool rd = op != NULL && strcmp(op, "read") == 0;
	char name[BRISK_BLOBFS_NAME_MAX + 1];
	struct brisk_blobfs_sync_ctx *ctx;
	struct brisk_blobfs_file *file;

	if (op == NULL || (!rd && strcmp(op, "write") != 0 && strcmp(op, "truncate") != 0) || off < 0 ||
	    arg_name(argv[1], name) != 0) {
		sqlite3_result_error(sctx,
				     "brisk_file_data: op must be read, write or truncate, "
				     "with a path and an offset >= 0",
				     -1);
		return;
	}
	if (shm_data_op(sctx, rd, op, argv)) {
		return;
	}
	if (brisk_sqlite_mount(NULL, NULL) != 0 || (ctx = brisk_sqlite_ctx()) == NULL) {
		sqlite3_result_error(sctx, "brisk_file_data: cannot mount the store", -1);
		return;
	}
	if (brisk_blobfs_sync_open(ctx, name, rd ? 0 : BRISK_BLOBFS_OPEN_CREATE, &file) != 0) {
		sqlite3_result_error(sctx, "brisk_file_data: no such file on the store", -1);
		return;
	}
	if (rd) {
		data_read(sctx, ctx, file, off, sqlite3_value_int64(argv[3]));
	} else {
		data_change(sctx, ctx, file, off, argv[3]);
	}
	brisk_blobfs_sync_close(ctx, file);
}

int brisk_sqlite_register_functions(sqlite3 *db, char **err, const sqlite3_api_routines *api)
{
	int rc = sqlite3_create_function_v2(db, "brisk_file", 2, SQLITE_UTF8, NULL,
					    brisk_file_func, NULL, NULL, NULL);

	rc = rc ? rc
		: sqlite3_create_function_v2(db, "brisk_file", 3, SQLITE_UTF8, NULL, brisk_file_func, NULL, NULL, NULL);
	return rc ? rc
		  : sqlite3_create_function_v2(db, "brisk_file_data", 4, SQLITE_UTF8, NULL, brisk_file_data_func, NULL,
					       NULL, NULL);
}
