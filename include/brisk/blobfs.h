/*
 * Blobfs: a flat namespace of files on a blobstore, for databases that embed
 * the store (the SQLite VFS in lib/sqlite). One blob per file; its name, size
 * and rename generation live in xattrs. Layout and guarantees: doc/blobfs.md.
 *
 * Two APIs:
 * - asynchronous (brisk_blobfs_*): call on the file system's thread (the one
 *   that called brisk_blobfs_init/load); callbacks run on that thread and
 *   never inside the call.
 * - synchronous (brisk_blobfs_sync_*): for ordinary application threads (not
 *   brisk_threads). Each application thread allocates its own
 *   brisk_blobfs_sync_ctx; a call sends the request to the file system's
 *   thread and sleeps until it completes. No lock is held across I/O, so
 *   many threads may call at once (each with its own context).
 *
 * Sizes and offsets are in bytes: any offset and length (partial pages are
 * read-modify-written through the cache). Reads past the end return fewer
 * bytes; writes past the end extend the file (the gap reads zeroes).
 * Durability: data and size written before brisk_blobfs_file_sync are
 * durable when it completes; a create, delete or rename is durable when its
 * callback runs.
 */
#ifndef BRISK_BLOBFS_H
#define BRISK_BLOBFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <brisk/blob.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_blobfs;
struct brisk_blobfs_file;
struct brisk_blobfs_sync_ctx;

/* Longest file name in bytes, without the terminating NUL. Any bytes but NUL
 * and '/' are allowed. */
#define BRISK_BLOBFS_NAME_MAX 255

/* The blobstore type a blobfs writes and requires at load. */
#define BRISK_BLOBFS_BSTYPE "BLOBFS"

/* Default cache size (bytes) for init/load when opts leave it 0. */
#define BRISK_BLOBFS_DEFAULT_CACHE_SIZE (64ull * 1024 * 1024)

struct brisk_blobfs_opts {
	/* Memory for the cache (read-ahead and write buffers), bytes; rounded
	 * down to whole cache buffers, at least 8 of them. 0: the value of
	 * brisk_blobfs_set_cache_size (default BRISK_BLOBFS_DEFAULT_CACHE_SIZE). */
	uint64_t cache_size;
	/* init only: the store's cluster size in bytes; 0 = 1 MiB. */
	uint32_t cluster_sz;
};

void brisk_blobfs_opts_init(struct brisk_blobfs_opts *opts);

/* The default cache size of later init/load calls (blobfs_set_cache_size
 * RPC). 0 or -EINVAL (smaller than 8 cache buffers). Any thread. */
int brisk_blobfs_set_cache_size(uint64_t bytes);
uint64_t brisk_blobfs_get_cache_size(void);

/* Size of one cache buffer: the unit of read-ahead and of write-back. */
#define BRISK_BLOBFS_CACHE_BUFFER_SIZE (64u * 1024)

typedef void (*brisk_blobfs_op_complete)(void *cb_arg, int fserrno);
typedef void (*brisk_blobfs_op_with_handle_complete)(void *cb_arg, struct brisk_blobfs *fs,
						      int fserrno);
typedef void (*brisk_blobfs_file_op_with_handle_complete)(void *cb_arg,
							  struct brisk_blobfs_file *file,
							  int fserrno);
/* result: bytes transferred (reads may be short at the end of the file) or a
 * negative errno. */
typedef void (*brisk_blobfs_rw_complete)(void *cb_arg, int64_t result);

/* ---- File system ---- */

/* Writes a new blobstore of type BRISK_BLOBFS_BSTYPE on dev (owned from now
 * on, also on failure). -EINVAL (bad option), -ENOSPC, -EIO, -ENOMEM. */
void brisk_blobfs_init(struct brisk_bs_dev *dev, const struct brisk_blobfs_opts *opts,
		       brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg);
/* Loads the blobfs on dev (owned from now on, also on failure), running the
 * store's crash recovery, then finishing interrupted deletes and renames.
 * -EILSEQ (no blobstore), -EINVAL (a blobstore of another type),
 * -EUCLEAN, -EIO, -ENOMEM. */
void brisk_blobfs_load(struct brisk_bs_dev *dev, const struct brisk_blobfs_opts *opts,
		       brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg);
/* Same on the bdev named bdev_name (opened and claimed for the file system's
 * lifetime). Extra errors: -ENODEV (no such bdev), -EPERM (claimed). */
void brisk_blobfs_init_bdev(const char *bdev_name, const struct brisk_blobfs_opts *opts,
			    brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg);
void brisk_blobfs_load_bdev(const char *bdev_name, const struct brisk_blobfs_opts *opts,
			    brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg);
/* Writes back every dirty cache buffer and unloads the store. -EBUSY when a
 * file is still open (nothing changes). */
void brisk_blobfs_unload(struct brisk_blobfs *fs, brisk_blobfs_op_complete cb_fn, void *cb_arg);

/* The thread that owns fs (where the async API must be called). */
struct brisk_thread *brisk_blobfs_get_thread(struct brisk_blobfs *fs);
struct brisk_blob_store *brisk_blobfs_get_bs(struct brisk_blobfs *fs);

struct brisk_blobfs_stat {
	brisk_blob_id blobid;
	uint64_t size;        /* bytes, as the file system sees it now */
	uint64_t allocated;   /* bytes of clusters with storage behind them */
};

/* ---- Namespace (on the file system's thread) ---- */

/* Creates an empty file. -EEXIST, -EINVAL (bad name), -ENOSPC, -EIO. */
void brisk_blobfs_create(struct brisk_blobfs *fs, const char *name, brisk_blobfs_op_complete cb_fn,
			 void *cb_arg);

/* Flags of brisk_blobfs_open. */
#define BRISK_BLOBFS_OPEN_CREATE 0x1u /* create the file when it does not exist */
/* The file's content marks its own end (a log of checksummed records, like
 * SQLite's WAL), so its exact size need not be durable: a sync persists the
 * size rounded up to the cluster size, and a file that grows within its last
 * cluster syncs with a device flush alone instead of a metadata write and a
 * second flush. After a crash (or a remount) such a file may read longer
 * than it was, with zeroes or writes that were never synced past its old
 * end. Sticks to the file until it is deleted or the file system unloads. */
#define BRISK_BLOBFS_OPEN_LAZY_SIZE 0x2u

/* Opens name (every open gets its own handle). -ENOENT, -EINVAL, -ENOSPC,
 * -EIO. */
void brisk_blobfs_open(struct brisk_blobfs *fs, const char *name, uint32_t flags,
		       brisk_blobfs_file_op_with_handle_complete cb_fn, void *cb_arg);
/* Writes back the handle's dirty buffers (not a sync: no flush, size not
 * persisted) and frees it. The last close of a deleted file deletes its blob. */
void brisk_blobfs_file_close(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
			     void *cb_arg);
/* Removes name now (later opens fail with -ENOENT; a new file of the same
 * name may be created). Open handles keep working; the blob is deleted when
 * the last one closes (or at the next load after a crash). -ENOENT, -EIO. */
void brisk_blobfs_delete(struct brisk_blobfs *fs, const char *name, brisk_blobfs_op_complete cb_fn,
			 void *cb_arg);
/* Renames old_name to new_name atomically, replacing new_name if it exists
 * (its open handles keep the replaced file, as after delete). After a crash
 * exactly one of the two states is found. -ENOENT (no old_name), -EINVAL,
 * -EIO. Renaming a file to its own name does nothing. */
void brisk_blobfs_rename(struct brisk_blobfs *fs, const char *old_name, const char *new_name,
			 brisk_blobfs_op_complete cb_fn, void *cb_arg);
/* Fills *stat synchronously (the namespace is in memory). 0, -ENOENT, -EINVAL. */
int brisk_blobfs_stat(struct brisk_blobfs *fs, const char *name, struct brisk_blobfs_stat *stat);
/* Calls fn for every file name, in no particular order, until fn returns
 * non-zero (which is returned). fn must not create, delete or rename. */
int brisk_blobfs_iterate(struct brisk_blobfs *fs,
			 int (*fn)(void *ctx, const char *name, const struct brisk_blobfs_stat *stat),
			 void *ctx);

/* Checks the store under fs (brisk_bs_check: metadata chains, cluster
 * ownership, masks, leaks). report gets one readable sentence per problem.
 * 0, -EUCLEAN (report was called), -EBUSY (a file is open). */
void brisk_blobfs_check(struct brisk_blobfs *fs, void (*report)(void *ctx, const char *problem),
			void *report_ctx, brisk_blobfs_op_complete cb_fn, void *cb_arg);

/* ---- File I/O (on the file system's thread) ---- */

void brisk_blobfs_file_read(struct brisk_blobfs_file *file, void *buf, uint64_t offset,
			    uint64_t length, brisk_blobfs_rw_complete cb_fn, void *cb_arg);
/* Goes to the cache; written back at sync, close, unload or eviction. */
void brisk_blobfs_file_write(struct brisk_blobfs_file *file, const void *buf, uint64_t offset,
			     uint64_t length, brisk_blobfs_rw_complete cb_fn, void *cb_arg);
/* Sets the size (shrinks or extends with zeroes). Durable at the next sync. */
void brisk_blobfs_file_truncate(struct brisk_blobfs_file *file, uint64_t size,
				brisk_blobfs_op_complete cb_fn, void *cb_arg);
/* Writes back the file's dirty buffers and persists its size: when cb runs
 * with 0, everything written before the call survives a crash. */
void brisk_blobfs_file_sync(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
			    void *cb_arg);
uint64_t brisk_blobfs_file_get_size(struct brisk_blobfs_file *file);
const char *brisk_blobfs_file_get_name(struct brisk_blobfs_file *file);

/* ---- Batch-atomic writes (SQLite's SQLITE_IOCAP_BATCH_ATOMIC) ----
 * begin: writes of the file from now on stay in the cache (pre-batch dirty
 * data is written back first). A batch may fill half the cache: a write
 * past that fails with -ENOSPC, after which the batch can only be aborted.
 * truncate inside a batch: -EBUSY. commit: all of the batch becomes durable
 * at once (a redo journal: doc/blobfs.md, "Batch-atomic commits"); after a
 * crash the file holds all of it or none. On a commit error the batch stays
 * open (abort it). abort: drops the batch, restoring the size. begin on a
 * file in a batch: -EBUSY; commit without a batch: -EINVAL; close aborts. */
void brisk_blobfs_file_batch_begin(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
				   void *cb_arg);
void brisk_blobfs_file_batch_commit(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
				    void *cb_arg);
void brisk_blobfs_file_batch_abort(struct brisk_blobfs_file *file, brisk_blobfs_op_complete cb_fn,
				   void *cb_arg);

/* ---- Synchronous API (any non-brisk thread; one context per thread) ----
 * Every call returns 0 (or a byte count) or a negative errno as the async
 * call would; -EINVAL for NULL arguments. */

struct brisk_blobfs_sync_ctx *brisk_blobfs_sync_ctx_alloc(struct brisk_blobfs *fs);
void brisk_blobfs_sync_ctx_free(struct brisk_blobfs_sync_ctx *ctx);

int brisk_blobfs_sync_create(struct brisk_blobfs_sync_ctx *ctx, const char *name);
int brisk_blobfs_sync_open(struct brisk_blobfs_sync_ctx *ctx, const char *name, uint32_t flags,
			   struct brisk_blobfs_file **file);
int brisk_blobfs_sync_close(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file);
int64_t brisk_blobfs_sync_read(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			       void *buf, uint64_t offset, uint64_t length);
int64_t brisk_blobfs_sync_write(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
				const void *buf, uint64_t offset, uint64_t length);
int brisk_blobfs_sync_truncate(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			       uint64_t size);
int brisk_blobfs_sync_sync(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file);
int brisk_blobfs_sync_size(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			   uint64_t *size);
int brisk_blobfs_sync_delete(struct brisk_blobfs_sync_ctx *ctx, const char *name);
int brisk_blobfs_sync_rename(struct brisk_blobfs_sync_ctx *ctx, const char *old_name,
			     const char *new_name);
int brisk_blobfs_sync_stat(struct brisk_blobfs_sync_ctx *ctx, const char *name,
			   struct brisk_blobfs_stat *stat);
/* *names: a malloc'ed array of *count malloc'ed names; free with
 * brisk_blobfs_free_names. */
int brisk_blobfs_sync_list(struct brisk_blobfs_sync_ctx *ctx, char ***names, size_t *count);
void brisk_blobfs_free_names(char **names, size_t count);
int brisk_blobfs_sync_batch_begin(struct brisk_blobfs_sync_ctx *ctx,
				  struct brisk_blobfs_file *file);
int brisk_blobfs_sync_batch_commit(struct brisk_blobfs_sync_ctx *ctx,
				   struct brisk_blobfs_file *file);
int brisk_blobfs_sync_batch_abort(struct brisk_blobfs_sync_ctx *ctx,
				  struct brisk_blobfs_file *file);
/* brisk_blobfs_check; report runs on the file system's thread. */
int brisk_blobfs_sync_check(struct brisk_blobfs_sync_ctx *ctx,
			    void (*report)(void *report_ctx, const char *problem), void *report_ctx);

/* ---- Embedding without an app framework ----
 * For a library (the SQLite VFS) inside a program that knows nothing of
 * Brisk: starts the env (hugepages if available, else ordinary memory, with
 * no warning on stderr unless verbose), one reactor thread running one
 * brisk_thread, applies the JSON config (SPDK's shape, e.g. a
 * bdev_aio_create) on it, then loads the blobfs on bdev_name, creating one
 * when the bdev holds none (create_if_missing). Blocks until ready. One
 * embedded instance per process. */
struct brisk_blobfs_embed_opts {
	const char *config_path;   /* JSON config creating the bdev; NULL: none */
	const char *bdev_name;     /* required */
	bool create_if_missing;    /* init a blobfs on a bdev that has no blobstore */
	uint64_t mem_size_mb;      /* env memory; 0 = 256 */
	uint64_t cache_size;       /* 0 = default */
	bool verbose;              /* log notices and warnings to stderr */
	bool format;               /* init a new blobfs even if the bdev holds one (mkfs) */
};
void brisk_blobfs_embed_opts_init(struct brisk_blobfs_embed_opts *opts);
/* 0 and *fs, or a negative errno (the cause logged). -EALREADY when started. */
int brisk_blobfs_embed_start(const struct brisk_blobfs_embed_opts *opts, struct brisk_blobfs **fs);
/* Unloads the blobfs (files still open are closed first, their dirty data
 * written back), stops the thread and releases the env. 0 or a negative
 * errno from the unload. */
int brisk_blobfs_embed_stop(void);

#ifdef __cplusplus
}
#endif

#endif
