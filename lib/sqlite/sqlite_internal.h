/*
 * Private declarations of Brisk's SQLite VFS (lib/sqlite): the "brisk" VFS
 * keeps SQLite's files on a blobfs (include/brisk/blobfs.h) that this
 * process owns. The same sources build two ways: linked into a program that
 * links SQLite (build/lib/libbrisk_sqlite.a, calls SQLite directly), and as
 * a loadable extension (build/lib/libbrisk_sqlite.so, BRISK_SQLITE_EXTENSION
 * defined: calls go through the routines table SQLite hands the extension).
 */
#ifndef BRISK_SQLITE_INTERNAL_H
#define BRISK_SQLITE_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef BRISK_SQLITE_EXTENSION
#include <sqlite3ext.h>
SQLITE_EXTENSION_INIT3
#else
#include <sqlite3.h>
#endif

#include "brisk/blobfs.h"

#define BRISK_SQLITE_VFS_NAME "brisk"
/* Longest path SQLite may hand the VFS (xFullPathname output). */
#define BRISK_SQLITE_MAX_PATH 512
/* Blob page size: the unit the store writes atomically. */
#define BRISK_SQLITE_SECTOR_SIZE 4096

/* One per file name open in this process: the lock state every connection
 * to that file shares (SQLite's lock levels), and the WAL index (-shm) of a
 * database in WAL mode, which lives only in memory (one process owns a store). */
struct brisk_sqlite_node {
	char name[BRISK_SQLITE_MAX_PATH];
	int refs;                       /* open files plus shm links */
	int shared;                     /* files holding SHARED or more */
	int level;                      /* highest lock held (SQLITE_LOCK_*) */
	struct brisk_sqlite_shm *shm;
	struct brisk_sqlite_node *next;
};

/* The WAL index of one database: regions and SQLite's 8 shm lock slots. */
struct brisk_sqlite_shm {
	int nregion;
	int region_size;
	void **regions;
	int links;
	int shared[SQLITE_SHM_NLOCK];   /* readers per slot */
	bool excl[SQLITE_SHM_NLOCK];    /* a writer holds the slot */
};

struct brisk_sqlite_file {
	sqlite3_file base;              /* first: SQLite sees this */
	struct brisk_blobfs_file *bf;
	struct brisk_sqlite_node *node;
	int level;                      /* lock level this handle holds */
	int open_flags;                 /* SQLITE_OPEN_* */
	bool temp;                      /* no durability needed: sync is a no-op */
	bool psow;                      /* report POWERSAFE_OVERWRITE */
	bool persist_wal;
	int64_t chunk;                  /* SQLITE_FCNTL_CHUNK_SIZE, 0: none */
	uint16_t shm_shared;            /* shm slots this handle holds shared */
	uint16_t shm_excl;              /* ... and exclusively */
	bool shm_mapped;
	bool new_journal; /* created journal/WAL, not yet synced */
};

/* sqlite_mount.c: the one blobfs of this process. */
/* Mounts on first use from the URI parameters (may be NULL) or the
 * environment; 0 or a negative errno, the cause logged. */
int brisk_sqlite_mount(const char *config, const char *bdev);
bool brisk_sqlite_mounted(void);
/* The calling thread's context for the synchronous blobfs API; NULL when
 * not mounted (or out of memory). */
struct brisk_blobfs_sync_ctx *brisk_sqlite_ctx(void);
void brisk_sqlite_log_error(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* sqlite_lock.c: file lock levels shared by the handles of one process. */
struct brisk_sqlite_node *brisk_sqlite_node_get(const char *name);
void brisk_sqlite_node_put(struct brisk_sqlite_node *node);
/* The node of name, or NULL; caller holds the mutex (no reference taken). */
struct brisk_sqlite_node *brisk_sqlite_node_find(const char *name);
/* The first node (then node->next); caller holds the mutex. */
struct brisk_sqlite_node *brisk_sqlite_nodes(void);
int brisk_sqlite_lock(sqlite3_file *f, int level);
int brisk_sqlite_unlock(sqlite3_file *f, int level);
int brisk_sqlite_check_reserved(sqlite3_file *f, int *out);
/* The process-wide mutex guarding nodes and their shm. */
void brisk_sqlite_mutex_enter(void);
void brisk_sqlite_mutex_leave(void);

/* sqlite_shm.c: the in-memory WAL index. */
int brisk_sqlite_shm_map(sqlite3_file *f, int region, int size, int extend, void volatile **pp);
int brisk_sqlite_shm_lock(sqlite3_file *f, int offset, int n, int flags);
void brisk_sqlite_shm_barrier(sqlite3_file *f);
int brisk_sqlite_shm_unmap(sqlite3_file *f, int delete_flag);
/* The live WAL index of the database at full path db, seen as the bytes of
 * the unix VFS's "<db>-shm" file (for test suites that read or patch it):
 * its size, or -ENOENT when no connection maps it; copy n bytes at off out
 * of it (to buf) or into it (from buf, extending it), the bytes done or
 * -ENOENT. */
int64_t brisk_sqlite_shm_file_size(const char *db);
int64_t brisk_sqlite_shm_file_io(const char *db, uint64_t off, void *buf, uint64_t n, bool write);
/* "<tail>-shm\n" for each database directly in folder dir (a full path)
 * whose index is live, as one malloc'd string (NULL: out of memory). */
char *brisk_sqlite_shm_file_list(const char *dir);

/* sqlite_file.c */
extern const sqlite3_io_methods brisk_sqlite_io_methods;

/* sqlite_name.c: SQLite paths and blobfs names. */
int brisk_sqlite_full_path(const char *in, char *out, int out_len);
int brisk_sqlite_fs_name(const char *path, char *out, size_t out_len);
void brisk_sqlite_temp_name(char *out, size_t out_len);

/* sqlite_func.c: brisk_file() for SQL. */
/* An auto-extension entry: every new connection gets brisk_file(). */
int brisk_sqlite_register_functions(sqlite3 *db, char **err, const sqlite3_api_routines *api);

/* sqlite_testcount.c: SQLite's test-harness counters, when present. */
void brisk_sqlite_count_open(int delta);
void brisk_sqlite_count_sync(struct brisk_sqlite_file *file, int flags);
/* True when the harness's simulated full disk fails this write or sync. */
bool brisk_sqlite_sim_diskfull(void);

/* sqlite_vfs.c */
int brisk_sqlite_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
		      int *out_flags);
int brisk_sqlite_errno_to_rc(int err, int io_rc);

#endif
