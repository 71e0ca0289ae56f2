/* Private state of lib/blobfs shared by its files: the file system, one node
 * per file (whatever its name), open handles, cache buffers, and the per-node
 * operation queue that serializes everything done to one file. */
#ifndef BRISK_BLOBFS_INTERNAL_H
#define BRISK_BLOBFS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <brisk/blobfs.h>
#include <brisk/thread.h>

/* xattrs of a file's blob. */
#define BLOBFS_XATTR_NAME "blobfs.name"
#define BLOBFS_XATTR_SIZE "blobfs.size"       /* uint64_t, bytes */
#define BLOBFS_XATTR_GEN "blobfs.gen"         /* uint64_t, newest name wins */
#define BLOBFS_XATTR_DELETED "blobfs.deleted" /* present: unlinked, delete at load */
#define BLOBFS_XATTR_APPLIED "blobfs.applied" /* uint64_t, last batch seq written in place */
#define BLOBFS_XATTR_JOURNAL "blobfs.journal" /* uint64_t seq: this blob is the journal */

#define BLOBFS_MIN_BUFS 8

struct blobfs_node;
struct blobfs_op;

/* One step of work queued on a node (or on the namespace): run when it
 * reaches the head, and blobfs_op_done() when it has finished. */
typedef void (*blobfs_op_fn)(struct blobfs_op *op);
struct blobfs_op {
	TAILQ_ENTRY(blobfs_op) link;
	blobfs_op_fn start;
	struct blobfs_node *node;
};
TAILQ_HEAD(blobfs_op_queue, blobfs_op);

/* The one load or store a buffer can have in flight (a buffer is loaded
 * only while invalid, and stored only by whoever pinned it while dirty):
 * kept in the buffer so that buffer I/O allocates nothing. */
struct blobfs_buf_io {
	void (*cb)(void *ctx, int rc);
	void *ctx;
	uint32_t lo, hi;
};

struct blobfs_buf {
	struct blobfs_node *node;   /* NULL: free */
	struct blobfs_buf_io io;
	uint64_t index;             /* chunk number within the file */
	uint8_t *data;              /* BRISK_BLOBFS_CACHE_BUFFER_SIZE bytes */
	bool valid;                 /* data holds the chunk */
	bool in_batch;              /* uncommitted batch data: never written back */
	uint32_t dirty_lo, dirty_hi; /* dirty byte range within the chunk; lo == hi clean */
	uint32_t pins;              /* in use by an operation: not evictable */
	TAILQ_ENTRY(blobfs_buf) lru;  /* fs->lru: least recently used first */
	TAILQ_ENTRY(blobfs_buf) hash; /* bucket of (node, index) */
	TAILQ_ENTRY(blobfs_buf) nlink; /* node->bufs */
};
TAILQ_HEAD(blobfs_buf_list, blobfs_buf);

struct blobfs_node {
	struct brisk_blobfs *fs;
	brisk_blob_id id;
	struct brisk_blob *blob;    /* open while handles or dirty buffers exist */
	char *name;                 /* NULL once deleted or replaced */
	uint64_t size;              /* current size in bytes */
	uint64_t synced_size; /* size in the metadata last synced (when md_clean) */
	bool md_clean; /* metadata on disk matches: a sync only flushes */
	bool lazy_size; /* BRISK_BLOBFS_OPEN_LAZY_SIZE: syncs persist whole clusters */
	uint64_t gen;
	uint32_t handles;
	uint32_t dirty_bufs;
	uint32_t flushing;           /* buffer writes in flight */
	bool batch;                 /* a batch is open */
	uint64_t batch_size;        /* size at batch begin (restored by abort) */
	uint32_t batch_bufs;        /* buffers holding batch data */
	uint64_t applied_seq;       /* newest journal record written in place */
	struct blobfs_op_queue ops;
	bool op_running;
	struct blobfs_buf_list bufs;
	TAILQ_ENTRY(blobfs_node) link;
};
TAILQ_HEAD(blobfs_node_list, blobfs_node);

struct brisk_blobfs_file {
	struct blobfs_node *node;
	TAILQ_ENTRY(brisk_blobfs_file) link; /* fs->files */
	uint64_t next_seq_offset;   /* where a sequential read would go next */
	bool closing;
};

struct brisk_blobfs {
	struct brisk_blob_store *bs;
	struct brisk_thread *thread;
	struct brisk_io_channel *ch;
	struct brisk_bs_dev *dev; /* the store's device, for data-only flushes */
	struct brisk_io_channel *dev_ch;
	uint64_t cluster_size;
	uint64_t io_unit;
	uint64_t next_gen;
	struct blobfs_node_list nodes;  /* every file, named or not */
	struct blobfs_op_queue ns_ops;  /* namespace operations, one at a time */
	bool ns_running;
	/* cache */
	struct blobfs_buf *bufs;
	uint32_t nbufs;
	uint8_t *buf_mem;
	struct blobfs_buf_list lru;
	struct blobfs_buf_list *buckets;
	uint32_t nbuckets;
	struct blobfs_op_queue buf_waiters; /* operations waiting for a free buffer */
	uint32_t open_files;
	uint8_t *op_mem;                /* BLOBFS_OP_POOL blocks */
	void *op_free;                  /* free blocks, linked through their first word */
	TAILQ_HEAD(, brisk_blobfs_file) files;
	brisk_blob_id journal_id;       /* BRISK_BLOBID_INVALID until the first commit */
	struct brisk_blob *journal;     /* open while the fs is loaded, once created */
	uint64_t next_seq;
	uint8_t *jhdr;                  /* one page, for the journal header */
	struct blobfs_commit *commit;   /* the one commit in progress (batch.c) */
	struct brisk_blob *spare; /* a deleted file's blob kept for a create (spare.c) */
};

/* The journal record's header (batch.c writes it, replay.c reads it). */
#define BLOBFS_CHUNK BRISK_BLOBFS_CACHE_BUFFER_SIZE
#define JPAGE 4096u
#define JMAGIC 0x4c4e524a53464642ull /* "BFFSJRNL" */
#define JMAX_EXT 253

struct jext {
	uint64_t off;
	uint32_t len;
	uint32_t reserved;
};

struct jhdr {
	uint64_t magic;
	uint64_t seq;
	uint64_t target;
	uint64_t new_size;
	uint32_t next;
	uint32_t crc;   /* crc32c of this page (crc 0) then of each extent's data */
	struct jext ext[JMAX_EXT];
};
_Static_assert(sizeof(struct jhdr) <= JPAGE, "journal header fits one page");

/* batch.c */
void blobfs_batch_drop(struct blobfs_node *node);
int blobfs_commit_init(struct brisk_blobfs *fs);
void blobfs_commit_fini(struct brisk_blobfs *fs);
/* Load: replays a committed journal record not yet written in place. */
void blobfs_journal_replay(struct brisk_blobfs *fs, void (*cb)(void *ctx, int rc), void *ctx);
void blobfs_journal_close(struct brisk_blobfs *fs, void (*cb)(void *ctx, int rc), void *ctx);

/* fs.c */
struct blobfs_node *blobfs_node_find(struct brisk_blobfs *fs, const char *name);
struct blobfs_node *blobfs_node_new(struct brisk_blobfs *fs, brisk_blob_id id);
void blobfs_node_free(struct blobfs_node *node);
/* Drops the node's (clean) buffers and frees it. */
void blobfs_node_forget(struct blobfs_node *node);
/* The node named name other than self, or NULL. */
struct blobfs_node *blobfs_node_find_other(struct brisk_blobfs *fs, const char *name,
					   struct blobfs_node *self);
int blobfs_name_check(const char *name);
void blobfs_defer(brisk_msg_fn fn, void *ctx);

/* queue.c */
void blobfs_op_enqueue(struct blobfs_node *node, struct blobfs_op *op, blobfs_op_fn start);
void blobfs_op_done(struct blobfs_node *node);
void blobfs_ns_enqueue(struct brisk_blobfs *fs, struct blobfs_op *op, blobfs_op_fn start);
void blobfs_ns_done(struct brisk_blobfs *fs);

/* op_pool.c: memory for per-call operation contexts, taken at load so
 * that reads and writes allocate nothing (a burst beyond the pool falls
 * back to the heap). Blocks are BLOBFS_OP_MEM bytes, zeroed by get. */
#define BLOBFS_OP_MEM 256
#define BLOBFS_OP_POOL 512
int blobfs_op_pool_init(struct brisk_blobfs *fs);
void blobfs_op_pool_fini(struct brisk_blobfs *fs);
void *blobfs_op_mem_get(struct brisk_blobfs *fs);
void blobfs_op_mem_put(struct brisk_blobfs *fs, void *mem);

/* spare.c: a deleted small file's blob, zeroed and marked deleted, kept
 * open for the next create (namespace operations only). */
typedef void (*blobfs_spare_taken_fn)(void *ctx, struct brisk_blob *blob, brisk_blob_id id, int rc);
/* Deletes the closed blob id (cb when durable), keeping it as the spare
 * when it is small, has clusters and no spare is kept yet. */
void blobfs_spare_put(struct brisk_blobfs *fs, brisk_blob_id id, void (*cb)(void *ctx, int rc), void *ctx);
/* false: no spare (create a blob). true: cb gets the spare, renamed to name
 * with gen and size 0 (durable), or rc != 0 (then create a blob). */
bool blobfs_spare_take(struct brisk_blobfs *fs, const char *name, const uint64_t *gen, blobfs_spare_taken_fn cb,
		       void *ctx);
/* Closes and deletes the spare (unload). */
void blobfs_spare_drop(struct brisk_blobfs *fs, void (*cb)(void *ctx, int rc), void *ctx);

/* cache.c */
int blobfs_cache_init(struct brisk_blobfs *fs, uint64_t bytes);
void blobfs_cache_fini(struct brisk_blobfs *fs);
struct blobfs_buf *blobfs_buf_lookup(struct blobfs_node *node, uint64_t index);
/* Gets a buffer for (node, index), valid or not; NULL when every buffer is
 * pinned or dirty elsewhere: then op is queued and restarted later. */
struct blobfs_buf *blobfs_buf_get(struct blobfs_node *node, uint64_t index, struct blobfs_op *op);
void blobfs_buf_release(struct blobfs_buf *buf);
void blobfs_buf_drop(struct blobfs_buf *buf);
void blobfs_buf_mark_dirty(struct blobfs_buf *buf, uint32_t lo, uint32_t hi);
void blobfs_buf_wake_waiters(struct brisk_blobfs *fs);
/* Writes back the node's dirty buffers; cb(ctx, rc). */
void blobfs_node_writeback(struct blobfs_node *node, void (*cb)(void *ctx, int rc), void *ctx);
/* Drops every buffer of the node at or past byte offset size (partial
 * chunk kept). */
void blobfs_node_drop_bufs_from(struct blobfs_node *node, uint64_t size);

/* io.c: blob reads/writes of whole pages inside a chunk. */
void blobfs_buf_load(struct blobfs_buf *buf, void (*cb)(void *ctx, int rc), void *ctx);
void blobfs_buf_store(struct blobfs_buf *buf, void (*cb)(void *ctx, int rc), void *ctx);
/* Grows the blob so that it holds size bytes. */
void blobfs_node_reserve(struct blobfs_node *node, uint64_t size, void (*cb)(void *ctx, int rc),
			 void *ctx);
/* Makes the node's written data and size durable: one metadata sync (size
 * xattr) when size or cluster count changed since the last, else a flush. */
void blobfs_node_sync_md(struct blobfs_node *node, void (*cb)(void *ctx, int rc), void *ctx);


#endif
