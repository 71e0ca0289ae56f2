/*
 * Blobstore: a power-fail-safe allocator of blobs (resizable arrays of
 * clusters with metadata) on a block device. On-disk format:
 * doc/blobstore_format.md.
 *
 * Every call is asynchronous: the callback runs on the calling thread, never
 * inside the call. Store and metadata calls (everything but the I/O calls)
 * must be made on the store's metadata thread, the thread that called
 * brisk_bs_init/brisk_bs_load. I/O is submitted on a channel
 * (brisk_bs_alloc_io_channel) of any thread.
 */
#ifndef BRISK_BLOB_H
#define BRISK_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_blob_store;
struct brisk_blob;
struct brisk_io_channel;

typedef uint64_t brisk_blob_id;
#define BRISK_BLOBID_INVALID ((brisk_blob_id)0)

#define BRISK_BS_PAGE_SIZE 4096
#define BRISK_BLOBSTORE_TYPE_LENGTH 16

/* ---- The device under a store ---- */

/* Completion of a bs_dev operation: bserrno is 0 or a negative errno. */
struct brisk_bs_dev_cb_args {
	void (*cb_fn)(struct brisk_io_channel *channel, void *cb_arg, int bserrno);
	struct brisk_io_channel *channel;
	void *cb_arg;
	/* The device's own per-operation state, so the I/O path allocates nothing. */
	uint64_t scratch[16];
};

/* A block device as the store sees it. lba and counts are in blocklen units.
 * Every operation completes through args->cb_fn on the submitting thread,
 * never inside the submitting call. */
struct brisk_bs_dev {
	struct brisk_io_channel *(*create_channel)(struct brisk_bs_dev *dev);
	void (*destroy_channel)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel);
	void (*destroy)(struct brisk_bs_dev *dev);
	void (*read)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel, void *payload,
		     uint64_t lba, uint32_t lba_count, struct brisk_bs_dev_cb_args *args);
	void (*write)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel, void *payload,
		      uint64_t lba, uint32_t lba_count, struct brisk_bs_dev_cb_args *args);
	void (*readv)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel, struct iovec *iov,
		      int iovcnt, uint64_t lba, uint32_t lba_count, struct brisk_bs_dev_cb_args *args);
	void (*writev)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel, struct iovec *iov,
		       int iovcnt, uint64_t lba, uint32_t lba_count, struct brisk_bs_dev_cb_args *args);
	void (*write_zeroes)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel,
			     uint64_t lba, uint64_t lba_count, struct brisk_bs_dev_cb_args *args);
	void (*unmap)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel,
		      uint64_t lba, uint64_t lba_count, struct brisk_bs_dev_cb_args *args);
	void (*flush)(struct brisk_bs_dev *dev, struct brisk_io_channel *channel,
		      struct brisk_bs_dev_cb_args *args);
	uint64_t blockcnt;
	uint32_t blocklen;
};

/* A device in memory, for tests. image NULL: the device owns a zeroed buffer
 * of blockcnt * blocklen bytes; otherwise it works on the caller's buffer
 * (kept after destroy, so a test can load a store again from the same bytes).
 * NULL on bad arguments (logged) or no memory. */
struct brisk_bs_dev *brisk_bs_dev_ram_create(uint64_t blockcnt, uint32_t blocklen, void *image);

/* Crash injection on a RAM device (only on devices of brisk_bs_dev_ram_create).
 * Writes (write, writev, write_zeroes, unmap) are numbered from 0 from this
 * call on. From write number k on, nothing reaches the image any more; the
 * operations still succeed and later reads still see them (as a volatile
 * cache would show a program that did not notice the power loss), so a
 * sequence runs the same whatever k is. TEAR also lets the first half of the
 * blocks of write k reach the image. CACHE models a volatile write cache:
 * writes before k reach the image only at the next flush; at write k the
 * power fails, write k reaches the image and every write since the last
 * flush is lost (the worst write-back order). NONE turns injection off. */
enum brisk_bs_dev_ram_crash_mode {
	BRISK_BS_DEV_RAM_CRASH_NONE = 0,
	BRISK_BS_DEV_RAM_CRASH_DROP,
	BRISK_BS_DEV_RAM_CRASH_TEAR,
	BRISK_BS_DEV_RAM_CRASH_CACHE,
};
void brisk_bs_dev_ram_set_crash(struct brisk_bs_dev *dev, enum brisk_bs_dev_ram_crash_mode mode,
				uint64_t k);
/* Writes seen since the last brisk_bs_dev_ram_set_crash (dropped ones too). */
uint64_t brisk_bs_dev_ram_write_count(struct brisk_bs_dev *dev);
/* Operations a RAM device was asked for since it was created, by kind, with
 * their blocks (failed ones too): lets a test tell whether a step read,
 * wrote or zeroed, and how much. */
struct brisk_bs_dev_ram_counts {
	uint64_t reads, read_blocks;     /* read, readv */
	uint64_t writes, write_blocks;   /* write, writev */
	uint64_t zeroes, zeroed_blocks;  /* write_zeroes, unmap */
};
/* All zero for a device that is not a RAM device (logged). */
void brisk_bs_dev_ram_get_counts(struct brisk_bs_dev *dev, struct brisk_bs_dev_ram_counts *counts);
/* Makes every following operation complete with -EIO (true) or work (false). */
void brisk_bs_dev_ram_set_fail(struct brisk_bs_dev *dev, bool fail);

/* A device of blockcnt blocks that reads zeroes and refuses writes (-EPERM):
 * the backing of thin blobs' unallocated clusters. */
struct brisk_bs_dev *brisk_bs_dev_zeroes_create(uint64_t blockcnt, uint32_t blocklen);

/* ---- Store ---- */

enum brisk_blob_clear_method {
	BRISK_BLOB_CLEAR_WITH_DEFAULT = 0,
	BRISK_BLOB_CLEAR_WITH_NONE,
	BRISK_BLOB_CLEAR_WITH_UNMAP,
	BRISK_BLOB_CLEAR_WITH_WRITE_ZEROES,
};

enum brisk_bs_clear_method {
	BRISK_BS_CLEAR_WITH_UNMAP = 0,
	BRISK_BS_CLEAR_WITH_WRITE_ZEROES,
	BRISK_BS_CLEAR_WITH_NONE,
};

struct brisk_bs_type {
	char bstype[BRISK_BLOBSTORE_TYPE_LENGTH];
};

/* Each blob id takes two head slots plus, on average, two chain pages. */
#define BRISK_BS_MD_PAGES_PER_BLOB 4

struct brisk_bs_opts {
	uint32_t cluster_sz;      /* bytes, multiple of 4096; default 1 MiB */
	/* Metadata region in pages: BRISK_BS_MD_PAGES_PER_BLOB per blob id. Default:
	 * one blob id per cluster (SPDK's count), at most a quarter of the device,
	 * at least 64 pages. */
	uint32_t num_md_pages;
	uint32_t max_md_ops;      /* metadata operations in flight; default 32 */
	uint32_t max_channel_ops; /* I/O in flight per channel; default 512 */
	enum brisk_bs_clear_method clear_method; /* of the device at init; default unmap */
	struct brisk_bs_type bstype; /* all zero: any type (load) / none (init) */
	/* Load only; default false. Damaged metadata is refused or flagged
	 * unless this is set (doc/blobstore_format.md, "Damage"): a blob whose
	 * newest version was lost then keeps its older one (rewritten so later
	 * loads see a sound pair), and a clean super block whose masks fail
	 * their CRC is rebuilt from the metadata instead of refused. */
	bool recover_damaged;
};

void brisk_bs_opts_init(struct brisk_bs_opts *opts);

typedef void (*brisk_bs_op_complete)(void *cb_arg, int bserrno);
typedef void (*brisk_bs_op_with_handle_complete)(void *cb_arg, struct brisk_blob_store *bs,
						 int bserrno);
typedef void (*brisk_blob_op_complete)(void *cb_arg, int bserrno);
typedef void (*brisk_blob_op_with_id_complete)(void *cb_arg, brisk_blob_id blobid, int bserrno);
typedef void (*brisk_blob_op_with_handle_complete)(void *cb_arg, struct brisk_blob *blob,
						   int bserrno);

/* Writes a new, empty store on dev (which the store owns from now on, also
 * on failure). opts NULL = defaults. Errors: -EINVAL (bad option, named in
 * the log), -ENOSPC (device too small for the metadata), -EIO, -ENOMEM. */
void brisk_bs_init(struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts,
		   brisk_bs_op_with_handle_complete cb_fn, void *cb_arg);
/* Opens the store on dev (owned from now on, also on failure). A non-zero
 * opts->bstype must match. After a dirty shutdown the masks are rebuilt from
 * the metadata. Errors: -EILSEQ (no store), -EPROTONOSUPPORT (other version),
 * -EINVAL (bstype or geometry), -EUCLEAN (inconsistent metadata), -EIO. */
void brisk_bs_load(struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts,
		   brisk_bs_op_with_handle_complete cb_fn, void *cb_arg);
/* Writes the masks, then the clean flag, and frees the store and its device.
 * -EBUSY if a blob is still open (the store stays usable). */
void brisk_bs_unload(struct brisk_blob_store *bs, brisk_bs_op_complete cb_fn, void *cb_arg);
/* Erases the super block, then frees the store and its device. -EBUSY if a
 * blob is open. */
void brisk_bs_destroy(struct brisk_blob_store *bs, brisk_bs_op_complete cb_fn, void *cb_arg);

uint64_t brisk_bs_get_cluster_size(struct brisk_blob_store *bs);
uint64_t brisk_bs_get_page_size(struct brisk_blob_store *bs);
uint64_t brisk_bs_get_io_unit_size(struct brisk_blob_store *bs);
uint64_t brisk_bs_free_cluster_count(struct brisk_blob_store *bs);
uint64_t brisk_bs_total_data_cluster_count(struct brisk_blob_store *bs);
struct brisk_bs_type brisk_bs_get_bstype(struct brisk_blob_store *bs);

struct brisk_bs_stats {
	uint64_t num_clusters;      /* whole device */
	uint64_t free_clusters;
	uint64_t num_blobs;
	uint64_t max_blobs;
	uint64_t free_md_pages;     /* chain pages */
	bool recovered;             /* the last load rebuilt the masks */
	uint64_t damaged_blobs;     /* opened degraded (brisk_blob_is_degraded) */
	uint64_t missing_blobs;     /* ids marked used with no readable version */
	uint64_t quarantined_clusters; /* held for the missing ones */
};
int brisk_bs_get_stats(struct brisk_blob_store *bs, struct brisk_bs_stats *stats);

/* ---- Blobs ---- */

struct brisk_blob_xattr_opts {
	size_t count;
	char **names;
	void *ctx;
	/* Returns the value of name in *value / *value_len. */
	void (*get_value)(void *xattr_ctx, const char *name, const void **value, size_t *value_len);
};

struct brisk_blob_opts {
	uint64_t num_clusters;
	bool thin_provision;
	enum brisk_blob_clear_method clear_method;
	struct brisk_blob_xattr_opts xattrs;
};

void brisk_blob_opts_init(struct brisk_blob_opts *opts);

/* Creates and syncs a new blob. opts NULL = defaults. -ENOSPC (no id or no
 * cluster left), -EINVAL, -EIO. */
void brisk_bs_create_blob_ext(struct brisk_blob_store *bs, const struct brisk_blob_opts *opts,
			      brisk_blob_op_with_id_complete cb_fn, void *cb_arg);
void brisk_bs_create_blob(struct brisk_blob_store *bs, brisk_blob_op_with_id_complete cb_fn,
			  void *cb_arg);

struct brisk_blob_open_opts {
	bool read_only; /* this handle refuses writes and metadata changes */
};
/* Opening an open blob gives the same handle with one more reference.
 * -ENOENT (no such blob), -EINVAL (bad id), -EPROTONOSUPPORT, -EIO. */
void brisk_bs_open_blob_ext(struct brisk_blob_store *bs, brisk_blob_id blobid,
			    const struct brisk_blob_open_opts *opts,
			    brisk_blob_op_with_handle_complete cb_fn, void *cb_arg);
void brisk_bs_open_blob(struct brisk_blob_store *bs, brisk_blob_id blobid,
			brisk_blob_op_with_handle_complete cb_fn, void *cb_arg);
/* Drops a reference; the last one syncs unsaved metadata and frees the handle. */
void brisk_blob_close(struct brisk_blob *blob, brisk_blob_op_complete cb_fn, void *cb_arg);
/* -EBUSY when the blob is open. Also releases an id the load reported
 * missing (marked used, no readable version): its clusters are unknown, so
 * the clusters no readable blob owns are freed with the last such id. */
void brisk_bs_delete_blob(struct brisk_blob_store *bs, brisk_blob_id blobid,
			  brisk_blob_op_complete cb_fn, void *cb_arg);

/* A blob has at most this many clusters (its cluster map is one array in
 * memory); a resize or create past it fails with -EINVAL. */
#define BRISK_BLOB_MAX_CLUSTERS (1ull << 27)

/* In memory until the next sync (a shrink's clusters are reused only once
 * that sync is durable). -ENOSPC (thick grow beyond the free clusters),
 * -EPERM (read-only blob or handle), -EINVAL (more than 2^27 clusters),
 * -EBUSY (a snapshot, inflate or decouple is working on the blob).
 * I/O on other threads may run meanwhile; I/O that a shrink cuts off fails. */
void brisk_blob_resize(struct brisk_blob *blob, uint64_t num_clusters, brisk_blob_op_complete cb_fn,
		       void *cb_arg);
/* Persists the metadata atomically (old or new version after a crash). */
void brisk_blob_sync_md(struct brisk_blob *blob, brisk_blob_op_complete cb_fn, void *cb_arg);
/* Marks the blob read-only (persisted by the next sync). 0 or -EINVAL. */
int brisk_blob_set_read_only(struct brisk_blob *blob);
bool brisk_blob_is_read_only(struct brisk_blob *blob);
/* true when the handle was opened from a version that may not be the newest
 * (its newest metadata head was damaged or lost on a cleanly unloaded
 * store): the handle is read-only and the data may be stale. Loading the
 * store with recover_damaged accepts the version and clears it. */
bool brisk_blob_is_degraded(struct brisk_blob *blob);
bool brisk_blob_is_thin_provisioned(struct brisk_blob *blob);

/* 0, -EINVAL (name empty / too long, value too large for a page), -EPERM
 * (read-only), -ENOMEM. */
int brisk_blob_set_xattr(struct brisk_blob *blob, const char *name, const void *value,
			 uint16_t value_len);
/* 0 or -ENOENT. *value points into the handle, valid until the xattr changes. */
int brisk_blob_get_xattr_value(struct brisk_blob *blob, const char *name, const void **value,
			       size_t *value_len);
int brisk_blob_remove_xattr(struct brisk_blob *blob, const char *name);
/* Number of xattrs; *names receives a malloc'ed array of pointers into the
 * handle (free the array only). -ENOMEM. */
int brisk_blob_get_xattr_names(struct brisk_blob *blob, const char ***names, size_t *count);

brisk_blob_id brisk_blob_get_id(struct brisk_blob *blob);
uint64_t brisk_blob_get_num_clusters(struct brisk_blob *blob);
uint64_t brisk_blob_get_num_pages(struct brisk_blob *blob);
uint64_t brisk_blob_get_num_io_units(struct brisk_blob *blob);
/* Clusters with storage behind them. */
uint64_t brisk_blob_get_num_allocated_clusters(struct brisk_blob *blob);
/* true when cluster index of the blob has storage of the blob's own (not a
 * parent's); call on the store's metadata thread. */
bool brisk_blob_cluster_is_allocated(struct brisk_blob *blob, uint64_t index);

/* Iteration in id order. first opens the first blob; next closes blob and
 * opens the following one. The end is -ENOENT with a NULL blob. */
void brisk_bs_iter_first(struct brisk_blob_store *bs, brisk_blob_op_with_handle_complete cb_fn,
			 void *cb_arg);
void brisk_bs_iter_next(struct brisk_blob_store *bs, struct brisk_blob *blob,
			brisk_blob_op_with_handle_complete cb_fn, void *cb_arg);

/* ---- Snapshots and clones ----
 * A snapshot takes over the blob's clusters and becomes a read-only parent;
 * the blob keeps its id, reads unallocated clusters from the parent chain
 * and writes to new clusters (allocated on first write, as thin blobs do).
 * The blob may be open with I/O in flight: its I/O is frozen while the
 * snapshot is taken. */

/* snapshot_xattrs may be NULL. cb gets the snapshot's id. -EINVAL (blob is a
 * snapshot already or read-only), -ENOENT, -ENOSPC (no blob id or metadata
 * page left), -EIO. */
void brisk_bs_create_snapshot(struct brisk_blob_store *bs, brisk_blob_id blobid,
			      const struct brisk_blob_xattr_opts *snapshot_xattrs,
			      brisk_blob_op_with_id_complete cb_fn, void *cb_arg);
/* A thin, writable blob whose parent is the snapshot. -EINVAL when
 * snapshotid is not read-only. The xattrs are copied at the call. */
void brisk_bs_create_clone(struct brisk_blob_store *bs, brisk_blob_id snapshotid,
			   const struct brisk_blob_xattr_opts *clone_xattrs,
			   brisk_blob_op_with_id_complete cb_fn, void *cb_arg);
/* Allocates every cluster of the blob, copying what the parent chain holds
 * (zeroes elsewhere), and drops the parent: the blob stands alone and is no
 * longer thin. -ENOSPC when the free clusters do not suffice (nothing
 * changes), -EINVAL for a thick blob without parent, -EPERM for a read-only
 * one. channel: a channel of the store (the copies use the store's own). */
void brisk_bs_inflate_blob(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
			   brisk_blob_id blobid, brisk_blob_op_complete cb_fn, void *cb_arg);
/* Copies only the clusters the immediate parent has allocated, then makes
 * the parent's parent (or nothing) the blob's parent. Stays thin. -EINVAL
 * without a parent, -EPERM for a read-only blob, -ENOSPC. */
void brisk_bs_blob_decouple_parent(struct brisk_blob_store *bs, struct brisk_io_channel *channel,
				   brisk_blob_id blobid, brisk_blob_op_complete cb_fn, void *cb_arg);
/* Makes the thin blob blobid a clone of snapshotid (a read-only blob of
 * the same store, no larger): the snapshot's data shows through the
 * clusters blobid has not allocated; nothing is copied. Crash-safe (one md
 * commit). -EINVAL (not thin, parent not read-only or larger, blobid ==
 * snapshotid), -EPERM (blobid read-only), -EEXIST (already its parent),
 * -ENOENT. */
void brisk_bs_blob_set_parent(struct brisk_blob_store *bs, brisk_blob_id blobid, brisk_blob_id snapshotid,
			      brisk_blob_op_complete cb_fn, void *cb_arg);
/* BRISK_BLOBID_INVALID when the blob has no parent (or is unknown). */
brisk_blob_id brisk_blob_get_parent_snapshot(struct brisk_blob_store *bs, brisk_blob_id blobid);
/* Fills ids with the clones of blobid; *count is the array size on entry and
 * the number of clones on return. 0, -ENOMEM (array too small, *count says
 * how many are needed), -ENOENT. */
int brisk_blob_get_clones(struct brisk_blob_store *bs, brisk_blob_id blobid, brisk_blob_id *ids,
			  size_t *count);
bool brisk_blob_is_snapshot(struct brisk_blob *blob);
bool brisk_blob_is_clone(struct brisk_blob *blob);
/* brisk_bs_delete_blob on a snapshot: -EBUSY with more than one clone; with
 * exactly one clone the snapshot's clusters pass to the clone, which takes
 * the snapshot's parent as its own.
 * Snapshot, clone, inflate, decouple and that delete run one at a time per
 * store, in order; meanwhile resize and set_read_only of a blob they work
 * on fail with -EBUSY. After an I/O error in the middle of one of them the
 * store refuses the next ones (-EIO) until it is loaded again
 * (doc/blobstore_format.md, "Snapshots, clones and parents"). */

/* ---- Growing and checking a store ---- */

/* Uses the space of a device that got bigger since the store was created
 * (the bs_dev's blockcnt is read again). 0 (also when there is nothing new),
 * -ENOSPC (the used-cluster mask has no room: the store was made with too
 * few metadata pages), -EIO. */
void brisk_bs_grow_live(struct brisk_blob_store *bs, brisk_bs_op_complete cb_fn, void *cb_arg);
/* The largest size, in bytes, brisk_bs_grow_live can take the store to (its
 * used-cluster mask was sized at init): SPDK's lvstore max_growable_size. */
uint64_t brisk_bs_get_max_growable_size(struct brisk_blob_store *bs);

/* Verifies every invariant of a loaded store (each blob's metadata chain
 * reads back with good CRCs, no cluster owned twice, masks match what the
 * blobs own, no leaked cluster/page/id, parents exist and are read-only).
 * report is called once per problem found with a readable sentence. cb gets
 * 0 when the store is consistent, -EUCLEAN when report was called, -EBUSY
 * while a blob is open or a metadata operation runs (only a quiet store can
 * be checked), or another negative errno when the check could not run. */
void brisk_bs_check(struct brisk_blob_store *bs,
		    void (*report)(void *report_ctx, const char *problem), void *report_ctx,
		    brisk_bs_op_complete cb_fn, void *cb_arg);

/* ---- I/O (offsets and lengths in io units) ----
 * The blob must stay open until its I/O has completed, and a channel must be
 * freed (on its thread) before the store is unloaded. */

/* NULL on failure. Release with brisk_bs_free_io_channel. */
struct brisk_io_channel *brisk_bs_alloc_io_channel(struct brisk_blob_store *bs);
void brisk_bs_free_io_channel(struct brisk_io_channel *channel);

/* Most iovecs one readv/writev may take (the kernel's UIO_MAXIOV). */
#define BRISK_BLOB_IO_MAX_IOVS 1024

/* Errors in the callback: -EINVAL (past the end, length 0, NULL buffer,
 * iovcnt outside 1 .. BRISK_BLOB_IO_MAX_IOVS), -EPERM (write on a read-only
 * blob or handle), -ENOSPC (thin blob, no cluster left), -ENOMEM (more than
 * max_channel_ops in flight), -EIO. The path allocates nothing per request:
 * a request short of a pooled resource waits for it. */
void brisk_blob_io_read(struct brisk_blob *blob, struct brisk_io_channel *channel, void *payload,
			uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn, void *cb_arg);
void brisk_blob_io_write(struct brisk_blob *blob, struct brisk_io_channel *channel, void *payload,
			 uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn, void *cb_arg);
void brisk_blob_io_readv(struct brisk_blob *blob, struct brisk_io_channel *channel,
			 struct iovec *iov, int iovcnt, uint64_t offset, uint64_t length,
			 brisk_blob_op_complete cb_fn, void *cb_arg);
void brisk_blob_io_writev(struct brisk_blob *blob, struct brisk_io_channel *channel,
			  struct iovec *iov, int iovcnt, uint64_t offset, uint64_t length,
			  brisk_blob_op_complete cb_fn, void *cb_arg);
/* Unmap: the range reads zeroes afterwards only if the device guarantees it;
 * clusters stay allocated. */
void brisk_blob_io_unmap(struct brisk_blob *blob, struct brisk_io_channel *channel,
			 uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn, void *cb_arg);
void brisk_blob_io_write_zeroes(struct brisk_blob *blob, struct brisk_io_channel *channel,
				uint64_t offset, uint64_t length, brisk_blob_op_complete cb_fn,
				void *cb_arg);

/* Direct I/O for a layer stacked on a store over a block device (the lvol
 * bdev): if io units offset..offset+length of blob lie in one allocated
 * cluster, the blob is not frozen and (write) is writable, returns 0 with
 * *dev_lba (the device's block, io units = device blocks), *dev_ch (the
 * store's device channel of this thread) and *token; the caller then does
 * the I/O on the device itself and calls brisk_blob_io_direct_end(token)
 * once it completed, before anything else of the blob runs on this thread
 * (a freeze waits for it like for any I/O of the blob). Otherwise -EAGAIN:
 * use brisk_blob_io_readv/writev, which handle every case. Same thread and
 * channel rules as brisk_blob_io_readv. */
int brisk_blob_io_direct_start(struct brisk_blob *blob, struct brisk_io_channel *channel, bool write, uint64_t offset,
			       uint64_t length, uint64_t *dev_lba, struct brisk_io_channel **dev_ch, void **token);
void brisk_blob_io_direct_end(void *token);

/* ---- Inspection (blobcli) ---- */

/* For FILE; here rather than at the top so this section stands alone. */
#include <stdio.h>

/* Prints the store on dev to out, human-readable, reading only (nothing is
 * written and the store need not be loadable): both super block copies with
 * their fields, the masks' bit counts and CRCs, then every non-empty page of
 * the metadata region: each head slot, each valid head with the descriptors
 * of its version decoded page by page along its chain, and the chain pages
 * no head reaches. A damaged page is printed as such ("bad CRC", "not a
 * metadata page", ...) and the dump goes on. Must run on a brisk_thread; dev
 * is destroyed before cb runs (also on failure). cb gets 0, -EILSEQ (no
 * valid super block copy: the copies are printed, nothing more), -EINVAL
 * (NULL argument, or a block size that does not divide 4096), -ENOMEM or
 * -EIO (a read failed; what was read is printed). */
void brisk_bs_dump(struct brisk_bs_dev *dev, FILE *out, brisk_bs_op_complete cb_fn, void *cb_arg);

#ifdef __cplusplus
}
#endif

#endif
