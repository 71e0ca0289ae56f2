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

struct blobfs_buf {
	struct blobfs_node *node;   /* NULL: free */
	uint64_t index;             /* chunk number within the file */
	uint8_t *data;              /* BRISK_BLOBFS_CACHE_BUFFER_SIZE bytes */
	bool valid;                 /* data holds the chunk */
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
	uint64_t gen;
	uint32_t handles;
	uint32_t dirty_bufs;
	uint32_t flushing;           /* buffer writes in flight */
	bool writeback_queued;      /* an eviction writeback sits in ops */
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
	TAILQ_HEAD(, brisk_blobfs_file) files;

};

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
void blobfs_op_done(struct blobfs_op *op);
void blobfs_ns_enqueue(struct brisk_blobfs *fs, struct blobfs_op *op, blobfs_op_fn start);
void blobfs_ns_done(struct brisk_blobfs *fs);

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
/* Persists size (and an xattr change) with one metadata sync. */
void blobfs_node_sync_md(struct blobfs_node *node, void (*cb)(void *ctx, int rc), void *ctx);


#endif
