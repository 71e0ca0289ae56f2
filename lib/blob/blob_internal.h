/* Blobstore internals shared by the files of lib/blob (see doc/blobstore_format.md). */
#ifndef BRISK_BLOB_INTERNAL_H
#define BRISK_BLOB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <brisk/bit_array.h>
#include <brisk/blob.h>
#include <brisk/queue.h>
#include <brisk/thread.h>
#include <brisk/uuid.h>

#include "blob_layout.h"

/* In memory only: a thin cluster whose metadata is not durable yet. */
#define BLOB_CLUSTER_PENDING (1ull << 63)

/* Internal xattr of a blob version written in the middle of a snapshot or
 * of the delete of a snapshot into its clone (value: the partner's id, u64
 * little-endian). Such a version stands only if the partner's current
 * version names this blob as its parent, or the partner is gone; recovery
 * decides before anything else claims clusters (doc/blobstore_format.md,
 * "Snapshots, clones and parents"). */
#define BLOB_XATTR_PENDING "brisk.pending_partner"

/* A blob's cluster map is one array in memory (8 bytes a cluster): at most
 * 2^27 clusters (1 GiB of map; 128 TiB at 1 MiB clusters), so that a
 * damaged size on disk cannot make a load allocate tens of GiB. */
#define BLOB_MAX_CLUSTERS BRISK_BLOB_MAX_CLUSTERS

#define BLOB_XATTR_NAME_MAX 255u
/* A descriptor never spans pages: header, name and value fit in one page. */
#define BLOB_XATTR_VALUE_MAX (BLOB_PAGE_CRC_OFF - BLOB_MD_HDR_SIZE - 4 - 4 - BLOB_XATTR_NAME_MAX)

/* ---- format.c: super block and metadata pages, pure encode/decode ---- */

struct blob_mask_loc {
	uint64_t start; /* page */
	uint64_t len;   /* pages */
	uint32_t crc;
};

struct blob_super {
	uint32_t version;
	bool clean;
	uint64_t super_seq;
	uint32_t page_size;
	uint32_t io_unit_size;
	uint32_t cluster_size;
	uint32_t num_blob_ids;
	uint8_t bstype[BRISK_BLOBSTORE_TYPE_LENGTH];
	struct brisk_uuid uuid;
	uint64_t size;
	uint64_t md_start;
	uint64_t md_len;
	struct blob_mask_loc chain_mask;
	struct blob_mask_loc cluster_mask;
	struct blob_mask_loc id_mask;
	uint64_t md_seq;
	uint32_t features;   /* BLOB_FEATURE_* */
};

/* Super block features (offset 176). HEAD_PAIRS: every live blob's two head
 * slots hold two valid pages of its id, and the current head's prev16 is
 * the low 16 bits of the other one's seq (the version it replaced), so a
 * lost or damaged newest head shows (doc/blobstore_format.md). A build
 * without the bit writes zero there, which turns the check off. */
#define BLOB_FEATURE_HEAD_PAIRS 0x1u
#define BLOB_FEATURES_KNOWN BLOB_FEATURE_HEAD_PAIRS

void blob_super_encode(const struct blob_super *sb, void *page);
/* 0, -EILSEQ (not a super block: magic or CRC), -EPROTONOSUPPORT (version or
 * page size), -EINVAL (a geometry field out of range for a device of
 * dev_bytes; named in the log). */
int blob_super_decode(struct blob_super *sb, const void *page, uint64_t dev_bytes);

/* Bit count of each mask for a geometry. */
uint64_t blob_super_num_clusters(const struct blob_super *sb);
uint64_t blob_super_num_chain_pages(const struct blob_super *sb);

struct blob_xattr {
	TAILQ_ENTRY(blob_xattr) link;
	char *name;
	void *value;
	uint16_t value_len;
};
TAILQ_HEAD(blob_xattr_list, blob_xattr);

/* The metadata of one blob version, in memory. */
struct blob_md {
	uint64_t num_clusters;
	uint64_t *clusters;      /* device cluster per blob cluster, 0 = not allocated */
	uint64_t clusters_cap;
	uint64_t clusters_filled; /* while decoding: clusters covered by extent runs so far */
	uint64_t parent_id;
	uint32_t flags;
	uint8_t clear_method;
	struct blob_xattr_list xattrs;
	struct blob_xattr_list xattrs_internal;
};

void blob_md_init(struct blob_md *md);
void blob_md_free(struct blob_md *md);
/* 0 or -ENOMEM; grows the array (new entries 0), never shrinks it. */
int blob_md_reserve_clusters(struct blob_md *md, uint64_t num_clusters);
struct blob_xattr *blob_md_find_xattr(struct blob_xattr_list *list, const char *name);
/* Replaces or adds. 0 or -ENOMEM. */
int blob_md_set_xattr(struct blob_xattr_list *list, const char *name, const void *value,
		      uint16_t value_len);
/* false when there was no such xattr. */
bool blob_md_remove_xattr(struct blob_xattr_list *list, const char *name);

/* Number of pages the md needs (>= 1). */
uint32_t blob_md_count_pages(const struct blob_md *md);
/* Fills npages pages (npages = blob_md_count_pages) for blob id at seq;
 * chain_pages[i] is the metadata-region index of page i (i >= 1). prev_seq:
 * seq of the page in the other head slot, which this version replaces. */
void blob_md_encode(const struct blob_md *md, uint64_t blobid, uint64_t seq, uint64_t prev_seq,
		    const struct brisk_uuid *uuid, const uint32_t *chain_pages, uint32_t npages,
		    uint8_t *pages);
void blob_md_encode_tombstone(uint64_t blobid, uint64_t seq, uint64_t prev_seq,
			      const struct brisk_uuid *uuid, void *page);

struct blob_page_hdr {
	uint8_t kind;
	uint8_t flags;
	uint16_t prev16;   /* head: low 16 bits of the seq of the version it replaced */
	uint64_t blobid;
	uint64_t seq;
	uint32_t index;
	uint32_t next;
};
/* Checks magic, CRC and uuid. false when the page is not a metadata page of
 * this store (no log: free pages look like that). */
bool blob_page_check(const void *page, const struct brisk_uuid *uuid, struct blob_page_hdr *hdr);
/* Adds the descriptors of one page to md. 0, -EPROTONOSUPPORT (unknown or
 * reserved descriptor/flag), -EILSEQ (malformed), -ENOMEM. Logged with blobid. */
int blob_md_decode_page(struct blob_md *md, const void *page, uint64_t blobid, bool head);
/* After the last page: the extent runs must cover every cluster. 0 or -EILSEQ. */
int blob_md_decode_finish(struct blob_md *md, uint64_t blobid);

/* ---- The store ---- */

struct brisk_blob_store {
	struct brisk_bs_dev *dev;
	struct brisk_thread *md_thread;
	struct brisk_io_channel *md_channel; /* the md thread's bs channel */
	struct brisk_bs_dev *zeroes_dev;
	struct blob_super sb;
	uint32_t io_unit;
	uint64_t pages_per_cluster;
	uint64_t io_units_per_cluster;
	int upc_shift;     /* log2(io_units_per_cluster), -1 when not a power of two */
	uint64_t num_clusters;
	uint32_t num_chain_pages;
	uint64_t md_seq;
	struct brisk_bit_array *used_chain_pages;
	struct brisk_bit_array *used_clusters;
	struct brisk_bit_array *used_ids;
	int8_t *id_slot;   /* per id index: slot holding the current head, -1 none */
	uint64_t *id_seq;  /* per id index: seq of that head (valid when id_slot >= 0) */
	uint8_t *id_flags; /* per id index: BLOB_ID_* */
	uint32_t num_missing; /* ids with BLOB_ID_MISSING */
	/* Clusters marked used that no readable blob owns while some id is
	 * missing: one of the missing blobs may own them, so they stay out of
	 * use until the last missing id is deleted (then they are freed). */
	uint64_t *orphans;
	uint64_t num_orphans;
	bool recover_damaged; /* brisk_bs_opts.recover_damaged of the load */
	/* A create whose sync failed left an id whose head may or may not be on
	 * disk: unload leaves clean = 0 (and the id out of the mask) so that
	 * the next load settles it from what is on disk. */
	bool settle_at_load;
	/* Snapshot/clone relations (relations.c), per id index (id - 1): the
	 * parent id the current durable version of that blob records in its BLOB
	 * descriptor (0 = none / free id). Filled at every load (clean: a scan
	 * of the used ids' heads; dirty: by recovery), updated at each sync's
	 * commit point and at delete. The clones of S are the ids i with
	 * parent_of[i-1] == S (blob_for_each_clone / blob_count_clones); a blob
	 * is a snapshot when it is read-only and has at least one clone. The
	 * same parent id is in the open handle's md.parent_id. */
	uint64_t *parent_of;
	uint32_t max_md_ops;
	uint32_t max_channel_ops;
	uint32_t md_ops;   /* in flight */
	uint32_t retiring; /* old cluster arrays waiting for every channel's thread */
	/* An I/O error left the disk in a state memory does not know for sure
	 * (a multi-write operation cut short): unload leaves clean = 0 so the
	 * next load rebuilds everything from the metadata. */
	bool needs_recovery;
	/* Snapshot, clone, inflate, decouple and the delete of a snapshot run
	 * one at a time, in order (relations.c). */
	TAILQ_HEAD(, blob_relation_op) relation_ops;
	bool relation_running;
	bool recovered;
	bool unloading;
	TAILQ_HEAD(, brisk_blob) open_blobs;
	void *free_ctx; /* while the store is being freed */
};

/* brisk_blob_store.id_flags */
/* The current version is not provably the newest (a damaged or lost newer
 * head on a cleanly unloaded store): opens give a read-only, degraded
 * handle until a load with recover_damaged accepts the version. */
#define BLOB_ID_DAMAGED 0x1u
/* Marked used (mask, or named as a parent) with no readable version: the id
 * stays used, the orphans stay allocated, until the user deletes it. */
#define BLOB_ID_MISSING 0x2u
/* See settle_at_load. */
#define BLOB_ID_UNSETTLED 0x4u
/* DAMAGED because it names a cluster or chain page another blob names too
 * (or one the clean masks say is free): no rewrite can settle it. */
#define BLOB_ID_CONFLICT 0x8u

struct blob_io;

/* Per-thread channel context of a store. */
struct blob_channel {
	struct brisk_blob_store *bs;
	struct brisk_io_channel *dev_ch;
	struct brisk_io_channel *zeroes_ch;
	struct blob_io *io_pool;   /* max_channel_ops requests */
	struct blob_io *io_free;   /* free list, touched by this channel's thread only */
	/* Segment iovec arrays for requests of more than BLOB_IO_INLINE_IOVS
	 * iovecs: a stack of free ones, and the requests waiting for one. */
	struct iovec *big_iov_mem;
	struct iovec **big_iov_free;
	uint32_t big_iov_nfree;
	TAILQ_HEAD(, blob_io) iov_waiters;
	TAILQ_HEAD(, blob_io) frozen_ios; /* started while their blob was frozen */
	TAILQ_HEAD(, blob_io) inflight;   /* started and not completed */
	/* A freeze waiting for this channel's I/O of drain_blob (freeze.c). */
	struct brisk_blob *drain_blob;
	struct brisk_io_channel_iter *drain_iter;
};

/* io.c: the channel's request pool. 0 or -ENOMEM. */
int blob_channel_io_init(struct blob_channel *ch, uint32_t n);
void blob_channel_io_fini(struct blob_channel *ch);
/* Starts the channel's I/O held for blob (on the channel's thread). */
void blob_channel_release_frozen(struct blob_channel *ch, struct brisk_blob *blob);
/* Whether the channel has I/O of blob in flight (on the channel's thread). */
bool blob_channel_has_inflight(struct blob_channel *ch, struct brisk_blob *blob);

struct blob_sync_waiter {
	TAILQ_ENTRY(blob_sync_waiter) link;
	brisk_blob_op_complete cb_fn;
	void *cb_arg;
};
TAILQ_HEAD(blob_sync_waiters, blob_sync_waiter);

struct blob_open_ctx;

/* A request to give a blob its own cluster at one index (cluster_alloc.c). */
struct blob_alloc_req {
	TAILQ_ENTRY(blob_alloc_req) link;
	struct brisk_blob *blob;
	uint64_t index;             /* blob cluster */
	uint64_t cluster;           /* device cluster being prepared */
	void *copy_buf;             /* the ancestor's cluster on its way */
	/* A write covering the whole cluster (io.c): its data is the fill.
	 * NULL: fill with the ancestor's copy or zeroes. */
	struct iovec *data_iov;
	int data_iovcnt;
	bool data_in;               /* set: the cluster published is ours, with that data */
	int rc;
	TAILQ_HEAD(, blob_alloc_req) followers; /* same index, waiting for this one */
	struct brisk_bs_dev_cb_args args;
	/* Runs on the metadata thread once the cluster is durable (0) or not. */
	void (*done)(struct blob_alloc_req *r, int rc);
	void *done_ctx;
	/* The request's trip to the metadata thread and back: one message at a
	 * time, in storage that cannot run out (io.c). */
	struct brisk_msg_slot slot;
};
TAILQ_HEAD(blob_alloc_reqs, blob_alloc_req);

struct brisk_blob {
	struct brisk_blob_store *bs;
	brisk_blob_id id;
	uint32_t refs;
	uint32_t ro_refs;        /* handles opened read-only */
	bool dirty;
	bool deleting;
	struct blob_open_ctx *opening; /* loading its metadata; later opens wait here */
	struct blob_md md;
	uint32_t *chain_pages;   /* of the current on-disk version */
	uint32_t chain_len;
	uint64_t *released;      /* clusters to free after the next sync */
	uint64_t released_len, released_cap;
	bool syncing;
	bool sync_scheduled;     /* a message will start the next sync */
	struct blob_sync_waiters sync_waiters;   /* served by the running sync */
	struct blob_sync_waiters sync_queued;    /* need a sync after it */
	struct blob_alloc_reqs alloc_reqs;       /* thin allocations in progress */
	/* Clones: for each blob cluster below backing_len, the device cluster
	 * of the nearest ancestor (md.parent_id, its parent, ...) that has it,
	 * 0 = zeroes. Built at open before the handle is published, constant
	 * afterwards (ancestors are read-only and cannot be deleted while they
	 * have clones), so I/O threads read it without ordering. NULL when the
	 * blob has no parent. */
	uint64_t *backing;
	uint64_t backing_len;
	/* I/O freeze (freeze.c): while frozen > 0 (atomic) new I/O of the blob
	 * waits on its channel. */
	uint32_t frozen;
	/* A snapshot/inflate/decouple/merge works on the blob: resize and
	 * set_read_only are refused (-EBUSY) so its cluster map holds still. */
	bool relation_busy;
	/* Holds an id whose state on disk only the next load can settle (an
	 * I/O error cut a snapshot or merge short): opens fail, deletes are
	 * refused, unload frees it. Set with blob_quarantine. */
	bool quarantined;
	/* Opened from a damaged version (BLOB_ID_DAMAGED): read-only. */
	bool degraded;
	TAILQ_ENTRY(brisk_blob) link;
};

/* ---- md_io.c ---- */
typedef void (*blob_md_io_cb)(void *ctx, int rc);
/* Reads/writes count pages starting at page of the device on the md channel. */
void blob_md_read_pages(struct brisk_blob_store *bs, uint64_t page, uint64_t count, void *buf,
			blob_md_io_cb cb, void *ctx);
void blob_md_write_pages(struct brisk_blob_store *bs, uint64_t page, uint64_t count, void *buf,
			 blob_md_io_cb cb, void *ctx);
void blob_md_flush(struct brisk_blob_store *bs, blob_md_io_cb cb, void *ctx);
/* Device page of metadata-region page index. */
static inline uint64_t blob_md_region_page(const struct brisk_blob_store *bs, uint64_t idx)
{
	return bs->sb.md_start + idx;
}
static inline uint64_t blob_head_slot_index(brisk_blob_id id, int slot)
{
	return (id - 1) * 2 + (uint64_t)slot;
}
static inline uint64_t blob_chain_index(const struct brisk_blob_store *bs, uint32_t chain_bit)
{
	return (uint64_t)bs->sb.num_blob_ids * 2 + chain_bit;
}
void *blob_page_buf_alloc(uint64_t pages);
void blob_page_buf_free(void *buf);

/* ---- alloc.c ---- */
/* First free cluster, marked used; 0 when none. */
uint64_t blob_alloc_cluster(struct brisk_blob_store *bs);
void blob_free_cluster(struct brisk_blob_store *bs, uint64_t cluster);
/* n chain pages marked used, in out[]; -ENOSPC leaves nothing marked. */
int blob_alloc_chain_pages(struct brisk_blob_store *bs, uint32_t n, uint32_t *out);
void blob_free_chain_pages(struct brisk_blob_store *bs, const uint32_t *pages, uint32_t n);
/* Free blob id (marked used), or BRISK_BLOBID_INVALID. */
brisk_blob_id blob_alloc_id(struct brisk_blob_store *bs);
void blob_free_id(struct brisk_blob_store *bs, brisk_blob_id id);
bool blob_id_valid(const struct brisk_blob_store *bs, brisk_blob_id id);

/* ---- blob_md_load.c: reading the current version of a blob ---- */
struct blob_loaded {
	struct blob_md md;
	uint32_t *chain_pages;
	uint32_t chain_len;
	int slot;          /* slot of the current head, -1 none */
	bool present;      /* a current, non-tombstone version exists */
	bool stale_other;  /* tombstone current, other slot has a valid live head */
	uint64_t max_seq;  /* highest seq seen in either slot's pages */
	uint64_t seq;      /* of the current page (slot >= 0) */
	/* The current version may not be the newest one written: a newer head
	 * was damaged or lost (why says which, naming the versions). */
	bool damaged;
	char why[200];
};
typedef void (*blob_load_cb)(void *ctx, struct blob_loaded *res, int rc);
/* Reads both head slots and the chain of the current version. rc < 0 only
 * for I/O errors, no memory or an unreadable current version
 * (-EPROTONOSUPPORT); res belongs to the caller (blob_loaded_free). cb runs
 * later, never inside this call (but for libc running out of the context). */
void blob_load_version(struct brisk_blob_store *bs, brisk_blob_id id, blob_load_cb cb, void *ctx);
void blob_loaded_free(struct blob_loaded *res);
/* Loads the current version of every id (only those marked used when
 * used_only), several at a time, and calls visit for each as it arrives, in
 * any order; visit owns res. A non-zero return from visit stops the walk:
 * done(ctx, that value) once the loads in flight have finished, else
 * done(ctx, 0) after the last id (or -ENOMEM). */
typedef int (*blob_version_visit)(void *ctx, brisk_blob_id id, struct blob_loaded *res, int rc);
void blob_walk_versions(struct brisk_blob_store *bs, bool used_only, blob_version_visit visit,
			blob_md_io_cb done, void *ctx);

/* ---- blob_sync.c ---- */
/* Writes a new version of blob's md (chain first, then the head). */
void blob_sync(struct brisk_blob *blob, brisk_blob_op_complete cb_fn, void *cb_arg);
/* Tombstones both slots of id (non-current first). */
void blob_write_tombstones(struct brisk_blob_store *bs, brisk_blob_id id, blob_md_io_cb cb,
			   void *ctx);

/* ---- damage.c ---- */
/* Flag id (logged once, naming it and why). */
void blob_note_damaged(struct brisk_blob_store *bs, brisk_blob_id id, const char *why);
/* Flag id missing: its id bit stays set. */
void blob_note_missing(struct brisk_blob_store *bs, brisk_blob_id id, const char *why);
/* While some id is missing: the data clusters was_used marks and no blob owns
 * (cluster_owner[c] == 0) stay used, listed in bs->orphans. 0 or -ENOMEM. */
int blob_orphans_collect(struct brisk_blob_store *bs, const uint32_t *cluster_owner,
			 const struct brisk_bit_array *was_used);
/* Rewrites the version in list[i] of every id i+1 (list: num_blob_ids
 * entries, taken over and freed), clearing BLOB_ID_DAMAGED. cb(ctx, rc). */
void blob_repair_versions(struct brisk_blob_store *bs, struct blob_loaded **list, blob_md_io_cb cb,
			  void *ctx);
/* brisk_bs_delete_blob of a missing id. */
void blob_delete_missing(struct brisk_blob_store *bs, brisk_blob_id id, brisk_blob_op_complete cb_fn,
			 void *cb_arg);

/* ---- recovery.c ---- */
/* What the last clean unload's masks said (NULL fields: unknown, their CRC
 * failed or the load had none). */
struct blob_recover_hint {
	struct brisk_bit_array *ids;
	struct brisk_bit_array *clusters;
};
/* Rebuilds the masks from the metadata chains (dirty load). */
void blob_recover(struct brisk_blob_store *bs, const struct blob_recover_hint *hint, blob_md_io_cb cb,
		  void *ctx);

/* ---- blob.c ---- */
/* Counts a metadata operation: -EINVAL off the md thread, -EBUSY past
 * max_md_ops or while unloading (logged with what). */
int blob_md_op_begin(struct brisk_blob_store *bs, const char *what);
void blob_md_op_end(struct brisk_blob_store *bs);
/* false (logged) when the blob or all its handles are read-only. */
bool blob_handle_writable(struct brisk_blob *blob, const char *what);
/* true (logged) when the blob is degraded: no write, sync or relation. */
bool blob_degraded_refuse(struct brisk_blob *blob, const char *what);
struct brisk_blob *blob_new(struct brisk_blob_store *bs, brisk_blob_id id);
void blob_free_handle(struct brisk_blob *blob);
/* See brisk_blob.quarantined. */
void blob_quarantine(struct brisk_blob *blob);
/* Frees the quarantined handles (unload, destroy). */
void blob_free_quarantined(struct brisk_blob_store *bs);
/* Moves a loaded version (md, chain, slot) into a handle; res keeps nothing. */
void blob_take_loaded(struct brisk_blob *blob, struct blob_loaded *res);
/* Syncs a handle that is in no list (recovery) and frees it; cb(ctx, rc). */
void blob_sync_and_free(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx);
/* Thick growth allocates; shrink releases clusters for after the next sync.
 * 0, -ENOSPC, -ENOMEM; nothing changes on failure. */
int blob_set_num_clusters(struct brisk_blob *blob, uint64_t num_clusters);
int blob_check_xattr(const char *name, size_t value_len, const void *value, const char *what);
/* brisk_bs_create_blob_ext with a parent recorded in the first version. */
void blob_create(struct brisk_blob_store *bs, const struct brisk_blob_opts *opts,
		 brisk_blob_id parent_id, brisk_blob_op_with_id_complete cb_fn, void *cb_arg);

/* ---- cluster_alloc.c ---- */
/* On the metadata thread; r->blob, index, done (and done_ctx) set. */
void blob_cluster_alloc(struct blob_alloc_req *r);

/* ---- freeze.c ---- */
/* Holds new I/O of blob and waits for the I/O in flight; cb(ctx, 0). */
void blob_freeze_io(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx);
/* Undoes one freeze; at the last one the held I/O starts. cb(ctx, 0). */
void blob_unfreeze_io(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx);
/* On a channel's thread, after an I/O of ch->drain_blob completed: lets the
 * freeze go on once the channel has none of that blob's I/O in flight. */
void blob_channel_check_drained(struct blob_channel *ch);

/* ---- blob_delete.c ---- */
/* A handle marked deleting, in open_blobs: keeps opens and deletes away. */
struct brisk_blob *blob_placeholder_new(struct brisk_blob_store *bs, brisk_blob_id id);
/* Deletes the blob whose current version the placeholder holds: tombstones
 * (commit point), clears and frees its clusters, chain pages and id, frees
 * the placeholder. cb(ctx, rc). */
void blob_remove_placeholder(struct brisk_blob *b, blob_md_io_cb cb, void *ctx);

/* ---- snapshot_delete.c ---- */
/* brisk_bs_delete_blob of a blob that has clones. */
void blob_delete_snapshot(struct brisk_blob_store *bs, brisk_blob_id snap_id,
			  brisk_blob_op_complete cb_fn, void *cb_arg);

/* ---- inflate.c: materialize ---- */
/* true when blob cluster index must get a cluster of its own. */
typedef bool (*blob_need_fn)(void *ctx, uint64_t index);
/* Unallocated clusters of b for which need() holds. */
uint64_t blob_materialize_count(struct brisk_blob *b, blob_need_fn need, void *need_ctx);
/* Gives each of them a cluster holding what the blob reads there now (one
 * sync per cluster, as a first write). cb(ctx, rc). */
void blob_materialize(struct brisk_blob *b, blob_need_fn need, void *need_ctx, blob_md_io_cb cb,
		      void *ctx);

/* ---- snapshot.c: shared by the relation operations ---- */
/* 0 when id names an existing blob of bs and we are on its md thread. */
int blob_relation_check_id(struct brisk_blob_store *bs, brisk_blob_id id, const char *what);
/* true (logged) while the store needs a reload after an I/O error. */
bool blob_relation_op_refused(struct brisk_blob_store *bs, const char *what);
/* A private copy of caller xattrs, usable as brisk_blob_xattr_opts. */
struct blob_xattr_copy {
	struct blob_xattr_list list;
	char **names;
	struct brisk_blob_xattr_opts opts;
};
int blob_xattr_copy_init(struct blob_xattr_copy *c, const struct brisk_blob_xattr_opts *x,
			 const char *what);
void blob_xattr_copy_fini(struct blob_xattr_copy *c);

/* ---- relations.c: snapshot/clone bookkeeping (see parent_of) ---- */
uint32_t blob_count_clones(const struct brisk_blob_store *bs, brisk_blob_id parent);
/* The backing map of a blob whose parent is first_parent: for each cluster
 * index, the device cluster of the nearest ancestor that has it (0 =
 * zeroes), as long as the largest ancestor. cb gets a malloc'ed array (NULL
 * when first_parent is 0) and its length. rc: 0, -ENOMEM, -EIO, -ENOENT
 * (an ancestor is missing), -ELOOP (a parent cycle). */
typedef void (*blob_backing_cb)(void *ctx, uint64_t *backing, uint64_t len, int rc);
void blob_backing_build(struct brisk_blob_store *bs, brisk_blob_id first_parent, blob_backing_cb cb,
			void *ctx);
/* Builds blob->backing from its ancestors (at open, before the handle is
 * published). Same errors. */
void blob_backing_load(struct brisk_blob *blob, blob_md_io_cb cb, void *ctx);
/* Device cluster backing blob cluster index (0 = zeroes). */
static inline uint64_t blob_backing_cluster(const struct brisk_blob *blob, uint64_t index)
{
	return index < blob->backing_len ? blob->backing[index] : 0;
}
/* Reads the parent id of every used blob into parent_of (clean load).
 * *pending is set when a version carries BLOB_XATTR_PENDING (an operation
 * was cut short: the load must recover). */
void blob_relations_scan(struct brisk_blob_store *bs, bool *pending, blob_md_io_cb cb, void *ctx);
/* The pending partner of md (0 = none). */
brisk_blob_id blob_md_pending_partner(const struct blob_md *md);

/* Relation operations run one at a time per store: op->start runs (from a
 * message) when every earlier one has called blob_relation_op_done. */
struct blob_relation_op {
	TAILQ_ENTRY(blob_relation_op) link;
	void (*start)(struct blob_relation_op *op);
};
void blob_relation_op_queue(struct brisk_blob_store *bs, struct blob_relation_op *op);
void blob_relation_op_done(struct brisk_blob_store *bs);

/* ---- misc ---- */
/* Completes a bs_dev operation later on the current thread (bs_dev_ram.c). */
void blob_dev_complete(struct brisk_bs_dev_cb_args *args, int rc);
/* Runs fn(arg) later on the current thread. */
void blob_dev_complete_fn(void (*fn)(void *arg), void *arg);
/* Runs cb(ctx, rc) later on the current thread (callbacks never run inside
 * the public call). */
void blob_defer_cb(brisk_blob_op_complete cb, void *ctx, int rc);
void blob_defer_handle_cb(brisk_bs_op_with_handle_complete cb, void *ctx, int rc);
/* Runs cb(ctx, BRISK_BLOBID_INVALID, rc) later on the current thread. */
void blob_defer_id_cb(brisk_blob_op_with_id_complete cb, void *ctx, int rc);
bool blob_on_md_thread(struct brisk_blob_store *bs);

/* ---- store.c ---- */
struct brisk_blob_store *blob_bs_alloc(struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts);
/* brisk_bs_init's and brisk_bs_load's one check of their shared arguments:
 * 0 with *out = opts or the defaults; else -EINVAL, dev destroyed and
 * cb_fn(-EINVAL) deferred. who names the caller in the log. */
int blob_bs_check_args(const char *who, struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts,
		       brisk_bs_op_with_handle_complete cb_fn, void *cb_arg, struct brisk_bs_opts *out);
/* Derived geometry and empty masks (md clusters reserved) from bs->sb. */
int blob_bs_setup_from_super(struct brisk_blob_store *bs);
void blob_reserve_md_clusters(struct brisk_blob_store *bs);
/* Unregisters the io_device, frees the store, destroys the device, then cb. */
void blob_bs_free(struct brisk_blob_store *bs, brisk_bs_op_complete cb, void *cb_arg, int rc);
/* (masks, flush,) super A, flush, super B, flush. */
void blob_bs_write_super(struct brisk_blob_store *bs, bool with_masks, blob_md_io_cb cb, void *ctx);
struct brisk_blob *blob_find_open(struct brisk_blob_store *bs, brisk_blob_id id);

/* Cluster maps of blobs with no clusters may be NULL: copy nothing then. */
static inline void blob_clusters_copy(uint64_t *dst, const uint64_t *src, uint64_t n)
{
	if (n > 0) {
		memcpy(dst, src, n * sizeof(uint64_t));
	}
}

static inline void blob_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}
static inline void blob_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void blob_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t blob_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t blob_get_le32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
	return v;
}
static inline uint64_t blob_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
	return v;
}

#endif
