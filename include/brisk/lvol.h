/*
 * Logical volumes: an lvol store (lvstore) is a blobstore of type LVOLSTORE
 * whose name and UUID live in the xattrs of one "super" blob; each lvol is a
 * blob whose name and UUID live in its own xattrs. Everything is on disk, so
 * loading the store finds every lvol again.
 *
 * Every call is asynchronous (the callback runs on the calling thread, never
 * inside the call) and must be made on the store's thread: the one that
 * called brisk_lvs_init / brisk_lvs_load. While the store is loaded every
 * lvol's blob is open; brisk_lvol_get_blob gives it for I/O on any thread
 * (through a channel of brisk_bs_alloc_io_channel(brisk_lvs_get_bs(lvs))).
 *
 * Errors are negative errnos, and the reason is logged naming the bad field.
 * An operation that fails changes nothing (on disk or in memory).
 */
#ifndef BRISK_LVOL_H
#define BRISK_LVOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <brisk/blob.h>
#include <brisk/uuid.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_lvol_store;
struct brisk_lvol;

/* Names include the terminating NUL: at most 63 characters. */
#define BRISK_LVS_NAME_MAX 64
#define BRISK_LVOL_NAME_MAX 64
#define BRISK_LVS_BSTYPE "LVOLSTORE"

struct brisk_lvs_opts {
	char name[BRISK_LVS_NAME_MAX];
	uint32_t cluster_sz;                     /* bytes; default 4 MiB */
	enum brisk_bs_clear_method clear_method; /* of the whole device at create; default unmap */
	/* Blob ids (lvols and snapshots) per 100 clusters; default 100, one per
	 * cluster. SPDK's name: there a blob takes at least one metadata page,
	 * so the same ratio gives the same number of lvols. Each id reserves
	 * BRISK_BS_MD_PAGES_PER_BLOB metadata pages. */
	uint32_t num_md_pages_per_cluster_ratio;
};

void brisk_lvs_opts_init(struct brisk_lvs_opts *opts);

typedef void (*brisk_lvs_op_complete)(void *cb_arg, int lvserrno);
typedef void (*brisk_lvs_op_with_handle_complete)(void *cb_arg, struct brisk_lvol_store *lvs,
						  int lvserrno);
typedef void (*brisk_lvol_op_complete)(void *cb_arg, int lvolerrno);
typedef void (*brisk_lvol_op_with_handle_complete)(void *cb_arg, struct brisk_lvol *lvol,
						   int lvolerrno);

/* ---- Stores ---- */

/* Writes a new store on bs_dev (owned from now on, also on failure).
 * -EINVAL (bad option), -EEXIST (a loaded store has that name), -ENOSPC,
 * -EIO, -ENOMEM. */
void brisk_lvs_init(struct brisk_bs_dev *bs_dev, const struct brisk_lvs_opts *opts,
		    brisk_lvs_op_with_handle_complete cb_fn, void *cb_arg);
/* Loads the store on bs_dev (owned from now on, also on failure) and opens
 * every lvol. -EILSEQ (no lvol store there), -EEXIST (a loaded store has the
 * same name or UUID), -EUCLEAN, -EIO, -ENOMEM. */
void brisk_lvs_load(struct brisk_bs_dev *bs_dev, brisk_lvs_op_with_handle_complete cb_fn,
		    void *cb_arg);
/* Closes every lvol and unloads the store (clean shutdown). */
void brisk_lvs_unload(struct brisk_lvol_store *lvs, brisk_lvs_op_complete cb_fn, void *cb_arg);
/* Closes every lvol and erases the store. */
void brisk_lvs_destroy(struct brisk_lvol_store *lvs, brisk_lvs_op_complete cb_fn, void *cb_arg);
/* -EINVAL (bad name), -EEXIST (a loaded store has it), -EBUSY, -EIO. */
void brisk_lvs_rename(struct brisk_lvol_store *lvs, const char *new_name,
		      brisk_lvs_op_complete cb_fn, void *cb_arg);
/* Uses the room of a device that grew (brisk_bs_grow_live). */
void brisk_lvs_grow_live(struct brisk_lvol_store *lvs, brisk_lvs_op_complete cb_fn, void *cb_arg);

struct brisk_lvol_store *brisk_lvs_first(void);
struct brisk_lvol_store *brisk_lvs_next(struct brisk_lvol_store *lvs);
struct brisk_lvol_store *brisk_lvs_get_by_name(const char *name);
struct brisk_lvol_store *brisk_lvs_get_by_uuid(const struct brisk_uuid *uuid);

const char *brisk_lvs_get_name(const struct brisk_lvol_store *lvs);
const struct brisk_uuid *brisk_lvs_get_uuid(const struct brisk_lvol_store *lvs);
struct brisk_blob_store *brisk_lvs_get_bs(const struct brisk_lvol_store *lvs);
/* True while an operation runs on the store (unload, destroy, rename, grow)
 * or on one of its lvols: unload and destroy would be refused (-EBUSY). */
bool brisk_lvs_is_busy(const struct brisk_lvol_store *lvs);
/* The module's own pointer (e.g. its per-store state). */
void brisk_lvs_set_ctx(struct brisk_lvol_store *lvs, void *ctx);
void *brisk_lvs_get_ctx(const struct brisk_lvol_store *lvs);

/* ---- Lvols ---- */

/* Creates a blob of ceil(size / cluster size) clusters named name.
 * -EINVAL (bad name or size 0), -EEXIST (name taken in this store),
 * -ENOSPC (thick and not enough free clusters), -EBUSY, -EIO, -ENOMEM. */
void brisk_lvol_create(struct brisk_lvol_store *lvs, const char *name, uint64_t size_bytes,
		       bool thin_provision, enum brisk_blob_clear_method clear_method,
		       brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg);
/* A read-only snapshot of lvol named snapshot_name; lvol keeps its data and
 * becomes a clone of it. Errors as create, and -EINVAL when lvol is
 * read-only. */
void brisk_lvol_create_snapshot(struct brisk_lvol *lvol, const char *snapshot_name,
				brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg);
/* A thin, writable clone of a snapshot (or any read-only lvol). */
void brisk_lvol_create_clone(struct brisk_lvol *snapshot, const char *clone_name,
			     brisk_lvol_op_with_handle_complete cb_fn, void *cb_arg);
void brisk_lvol_rename(struct brisk_lvol *lvol, const char *new_name, brisk_lvol_op_complete cb_fn,
		       void *cb_arg);
/* New size in bytes, rounded up to clusters. -ENOSPC, -EPERM (read-only). */
void brisk_lvol_resize(struct brisk_lvol *lvol, uint64_t size_bytes, brisk_lvol_op_complete cb_fn,
		       void *cb_arg);
void brisk_lvol_set_read_only(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg);
/* Allocates every cluster and drops the parent (brisk_bs_inflate_blob). */
void brisk_lvol_inflate(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg);
/* Copies the parent's clusters and takes the grandparent (brisk_bs_blob_decouple_parent). */
void brisk_lvol_decouple_parent(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg);
/* Shallow copy: writes the clusters the read-only lvol has allocated itself
 * (not its parents') to dst at the same byte offsets; nothing else of dst is
 * written. progress_fn (may be NULL) runs after each cluster with the count
 * copied and the total. The lvol stays busy (no delete, resize...) until
 * cb_fn. Errors: -EPERM (lvol not read-only), -EINVAL (dst smaller than the
 * lvol, or a block size that does not divide the cluster size), -EBUSY,
 * -ENOMEM, or the I/O error. dst is the caller's (not destroyed here). */
typedef void (*brisk_lvol_copy_progress)(void *cb_arg, uint64_t copied_clusters, uint64_t total_clusters);
void brisk_lvol_shallow_copy(struct brisk_lvol *lvol, struct brisk_bs_dev *dst, brisk_lvol_copy_progress progress_fn,
			     brisk_lvol_op_complete cb_fn, void *cb_arg);
/* Makes the thin lvol a clone of snapshot (same lvstore; brisk_bs_blob_set_parent). */
void brisk_lvol_set_parent(struct brisk_lvol *lvol, struct brisk_lvol *snapshot, brisk_lvol_op_complete cb_fn,
			   void *cb_arg);
/* Deletes the lvol's blob; the handle is freed on success. -EBUSY (an
 * operation runs on it, or a snapshot with more than one clone); on failure
 * the lvol stays as it was. */
void brisk_lvol_destroy(struct brisk_lvol *lvol, brisk_lvol_op_complete cb_fn, void *cb_arg);
/* 0 when brisk_lvol_destroy would be accepted, else -EBUSY with the reason logged. */
int brisk_lvol_check_deletable(struct brisk_lvol *lvol);

struct brisk_lvol *brisk_lvol_first(struct brisk_lvol_store *lvs);
struct brisk_lvol *brisk_lvol_next(struct brisk_lvol *lvol);
struct brisk_lvol *brisk_lvol_get_by_name(struct brisk_lvol_store *lvs, const char *name);
/* In any loaded store. */
struct brisk_lvol *brisk_lvol_get_by_uuid(const struct brisk_uuid *uuid);
/* The lvol whose blob is blobid in lvs, or NULL. */
struct brisk_lvol *brisk_lvol_get_by_blob_id(struct brisk_lvol_store *lvs, brisk_blob_id blobid);

const char *brisk_lvol_get_name(const struct brisk_lvol *lvol);
const struct brisk_uuid *brisk_lvol_get_uuid(const struct brisk_lvol *lvol);
/* Lower-case UUID text (the lvol bdev's name). */
const char *brisk_lvol_get_uuid_str(const struct brisk_lvol *lvol);
struct brisk_lvol_store *brisk_lvol_get_lvs(const struct brisk_lvol *lvol);
struct brisk_blob *brisk_lvol_get_blob(const struct brisk_lvol *lvol);
uint64_t brisk_lvol_get_size(const struct brisk_lvol *lvol); /* bytes */
enum brisk_blob_clear_method brisk_lvol_get_clear_method(const struct brisk_lvol *lvol);
bool brisk_lvol_is_thin(const struct brisk_lvol *lvol);
bool brisk_lvol_is_read_only(const struct brisk_lvol *lvol);
bool brisk_lvol_is_snapshot(const struct brisk_lvol *lvol);
bool brisk_lvol_is_clone(const struct brisk_lvol *lvol);
/* The lvol this one is a clone of, or NULL. */
struct brisk_lvol *brisk_lvol_get_parent(const struct brisk_lvol *lvol);
/* Up to max clones of lvol in out; returns how many there are. */
size_t brisk_lvol_get_clones(const struct brisk_lvol *lvol, struct brisk_lvol **out, size_t max);
void brisk_lvol_set_ctx(struct brisk_lvol *lvol, void *ctx);
void *brisk_lvol_get_ctx(const struct brisk_lvol *lvol);

#ifdef __cplusplus
}
#endif

#endif
