/*
 * Private state of lib/bdev, shared by its files:
 *   bdev.c        registration, lookup, aliases, descriptors and events, claims
 *   bdev_examine.c examine of new bdevs, wait_for_examine, bdev_examine allow list
 *   bdev_init.c   global state, options, module list, initialize / finish
 *   bdev_io.c     brisk_bdev_io pool and per-thread cache, channels, submission, completion, reset
 *   bdev_io_split.c  splitting on the optimal boundary / max transfer size, emulated write_zeroes
 *   bdev_bounce.c data buffers: bounce buffers for misaligned buffers, reads without a buffer
 *   bdev_wait.c   brisk_bdev_queue_io_wait and the per-thread retry poller
 *   bdev_stats.c  per-channel and per-bdev statistics
 *   bdev_qos.c    IOPS and bandwidth limits
 *   bdev_json.c   bdev_get_bdevs info and save_config
 *   bdev_zcopy.c  zero-copy start/end (the bdev lends its buffers)
 *   bdev_nvme_passthru.c raw NVMe admin/I/O commands and their NVMe status
 *   bdev_rpc.c    the RPC methods
 */
#ifndef BRISK_BDEV_INTERNAL_H
#define BRISK_BDEV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/mempool.h>
#include <brisk/thread.h>

#define BDEV_ZERO_BUF_SIZE (64 * 1024)
#define BDEV_MAX_CHILD_IOVS 32     /* iovecs one child of a split I/O can carry */
#define BDEV_MAX_CHILDREN_IN_FLIGHT 8
#define BDEV_RETRY_POLL_US 100     /* retry of waiters nothing else would wake */

enum bdev_status {
	BDEV_STATUS_READY,
	BDEV_STATUS_UNREGISTERING,
};

struct bdev_alias {
	char *name;
	TAILQ_ENTRY(bdev_alias) link;
};

struct brisk_bdev_desc {
	struct brisk_bdev *bdev;
	struct brisk_thread *thread;   /* opened on; events run here */
	brisk_bdev_event_cb_t event_cb;
	void *event_ctx;
	bool write;
	bool closed;
	uint32_t pending_events;       /* event messages not yet run (desc freed after them) */
	/* brisk_bdev_module_close_base: its message and what runs after the close */
	struct brisk_msg_slot close_slot;
	brisk_msg_fn close_done;
	void *close_ctx;
	TAILQ_ENTRY(brisk_bdev_desc) link;
};

struct bdev_qos;

/* Per-bdev state (bdev->internal), allocated at register. Fields marked
 * "lock" are read and written under g_bdev_mgr.lock (management path only). */
struct bdev_state {
	enum bdev_status status;               /* lock */
	TAILQ_HEAD(, bdev_alias) aliases;      /* lock */
	TAILQ_HEAD(, brisk_bdev_desc) descs;   /* lock */
	struct brisk_bdev_module *claim_module; /* lock */
	bool examine_msg_pending;              /* lock: an examine message is on its way */
	bool destruct_deferred;                /* lock: destruct waits for that message */
	bool examined;                         /* registering thread only */
	struct brisk_bdev_io_stat stat;        /* closed channels' totals; lock */
	/* Reset: the one in progress and those waiting behind it (app of the resetter). */
	struct brisk_bdev_io *reset_in_progress; /* lock */
	TAILQ_HEAD(, bdev_io_priv) queued_resets; /* lock */
	struct bdev_qos *qos;                  /* lock; created on first limit */
	brisk_bdev_unregister_cb unregister_cb;
	void *unregister_ctx;
	struct brisk_thread *unregister_thread;
	int unregister_rc;
};

/* Per-thread state of the layer (an io_channel of the io_device &g_bdev_mgr). */
struct bdev_mgmt_channel {
	STAILQ_HEAD(, bdev_io_priv) io_cache;  /* free brisk_bdev_io kept by this thread */
	uint32_t io_cache_count;
	uint32_t io_cache_size;
	TAILQ_HEAD(, brisk_bdev_io_wait_entry) io_wait_queue;
	TAILQ_HEAD(, bdev_io_priv) buf_wait_queue; /* I/O waiting for a data buffer */
	struct brisk_poller *retry_poller;     /* runs only while something waits */
};

#define BDEV_CH_RESET_IN_PROGRESS 0x1
#define BDEV_CH_QOS 0x2

/* Per-thread channel of one bdev (io_device = bdev_to_io_device(bdev)). */
struct bdev_channel {
	struct brisk_bdev *bdev;
	struct brisk_io_channel *module_ch;
	struct brisk_io_channel *mgmt_io_ch;
	struct bdev_mgmt_channel *mgmt;
	struct brisk_thread *thread;
	uint32_t flags;
	uint64_t io_outstanding;               /* submitted to the module, not completed */
	uint64_t nomem_threshold;              /* retry the nomem queue at or below this */
	TAILQ_HEAD(, bdev_io_priv) nomem_io;   /* module said NOMEM; resubmitted later */
	TAILQ_HEAD(, bdev_io_priv) frozen_io;  /* submitted during a reset */
	struct brisk_io_channel_iter *drain_iter; /* reset waiting for io_outstanding == 0 */
	struct brisk_poller *nomem_poller;
	struct brisk_bdev_io_stat stat;
};

/* A brisk_bdev_io with the layer's private part in front of it. */
struct bdev_io_priv {
	brisk_bdev_io_completion_cb cb;
	void *cb_arg;
	struct bdev_channel *submit_ch;        /* channel the user submitted on */
	struct bdev_channel *ch;               /* channel the module got it on (QoS may differ) */
	struct brisk_bdev_desc *desc;
	int status;
	int io_errno;                          /* status AIO_ERROR: the negative errno */
	uint64_t submit_tsc;
	bool in_submit;                        /* inside the module's submit_request */
	bool split_done;                       /* already checked/split: go straight to the module */
	bool qos_done;                         /* went through QoS (or QoS is off) */
	/* Handed down to a base bdev's module (brisk_bdev_io_submit_to_base):
	 * the stacked bdev's own bdev, offset and channel, back on completion. */
	brisk_bdev_io_stacked_cb stack_cb;
	void *stack_ctx;
	struct brisk_bdev *stack_bdev;
	uint64_t stack_offset;
	struct bdev_channel *stack_ch;
	struct iovec iov;                      /* the single buffer of the buffer variants */
	bool has_nvme_status;                  /* completed by brisk_bdev_io_complete_nvme_status */
	uint32_t nvme_cdw0;
	int nvme_sct;
	int nvme_sc;
	/* Data buffer from the pools (bounce or provided read buffer). */
	void *buf_obj;
	struct brisk_mempool *buf_pool;
	struct iovec bounce_iov;
	struct iovec *orig_iovs;               /* caller's iovecs while bounced */
	int orig_iovcnt;
	bool provided_buf;                     /* read submitted without a buffer */
	void (*buf_cont)(struct bdev_io_priv *p); /* what follows once the buffer is there */
	/* Splitting (parent side). */
	struct bdev_io_priv *parent;
	uint64_t split_next_block;
	uint64_t split_remaining;
	uint32_t split_outstanding;
	int split_status;
	int split_errno;                       /* errno of the first failed child */
	int split_iov_idx;                     /* parent iovec cursor */
	size_t split_iov_off;
	struct brisk_bdev_io_wait_entry split_wait;
	struct iovec child_iovs[BDEV_MAX_CHILD_IOVS];
	/* Links: channel queues, mgmt cache and waits, QoS queue. */
	TAILQ_ENTRY(bdev_io_priv) link;
	STAILQ_ENTRY(bdev_io_priv) cache_link;
	struct brisk_bdev_io io;               /* last: driver_ctx follows */
};

static inline struct bdev_io_priv *bdev_io_priv(struct brisk_bdev_io *io)
{
	return (struct bdev_io_priv *)((char *)io - offsetof(struct bdev_io_priv, io));
}

/* Channels of a bdev use bdev + 1 as io_device so that a module may register
 * its own struct (which often starts with the brisk_bdev) as an io_device. */
static inline void *bdev_to_io_device(struct brisk_bdev *bdev)
{
	return (char *)bdev + 1;
}

struct bdev_mgr {
	pthread_mutex_t lock;
	TAILQ_HEAD(bdev_module_list, brisk_bdev_module) modules;
	TAILQ_HEAD(bdev_list, brisk_bdev) bdevs;
	struct brisk_bdev_opts opts;
	struct brisk_mempool *io_pool;
	struct brisk_mempool *small_buf_pool;
	struct brisk_mempool *large_buf_pool;
	void *zero_buf;
	uint32_t max_ctx_size;
	bool init_started;
	bool initialized;
};
extern struct bdev_mgr g_bdev_mgr;

/* bdev.c */
/* Calls the module's destruct, then finishes the unregistration. */
void bdev_destruct(struct brisk_bdev *bdev);

/* bdev_init.c */
/* 0, or -EINVAL with a message naming the bad field in err. */
int bdev_opts_check(const struct brisk_bdev_opts *opts, char *err, size_t errlen);

/* bdev_rpc.c */
/* Answers the bdev_get_bdevs calls still waiting for a bdev (the layer is
 * finishing: shutdown must not wait for their timeouts). */
void bdev_rpc_fini(void);

/* bdev_examine.c */
bool bdev_examine_allowed(const char *name);
/* Examines bdev by a message to the current thread (counted as pending now). */
void bdev_start_examine(struct brisk_bdev *bdev);
bool bdev_examine_pending(void);
void bdev_wait_for_examine_check(void);
void bdev_examine_fini(void);

/* bdev_io.c */
int bdev_io_channel_create(void *io_device, void *ctx_buf);
void bdev_io_channel_destroy(void *io_device, void *ctx_buf);
int bdev_mgmt_channel_create(void *io_device, void *ctx_buf);
void bdev_mgmt_channel_destroy(void *io_device, void *ctx_buf);
struct bdev_io_priv *bdev_io_get(struct bdev_channel *ch);
void bdev_io_put(struct bdev_io_priv *p);
void bdev_io_init(struct bdev_io_priv *p, struct brisk_bdev *bdev, struct bdev_channel *ch,
		  enum brisk_bdev_io_type type, brisk_bdev_io_completion_cb cb, void *cb_arg);
/* An I/O of desc from _ch's pool, initialised and never split (no block
 * range, or a range lent whole): the start of the zero-copy and NVMe
 * passthrough submissions. NULL when the pool is empty (-ENOMEM). */
struct bdev_io_priv *bdev_io_start(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch,
				   enum brisk_bdev_io_type type, brisk_bdev_io_completion_cb cb, void *cb_arg);
/* Full path: QoS, split, buffers, module. */
void bdev_io_submit(struct bdev_io_priv *p);
/* From buffers onwards (QoS and split already handled). */
void bdev_io_submit_unsplit(struct bdev_io_priv *p);
/* Straight to the module on p->ch (buffers in place). */
void bdev_io_submit_to_module(struct bdev_io_priv *p);
/* After QoS released it (on the QoS thread): split, buffers, module. */
void bdev_io_submit_after_qos(struct bdev_io_priv *p);
/* A parent (or unsplit) I/O is complete: statistics, then the user's callback
 * on the submitting thread. */
void bdev_io_complete_user(struct bdev_io_priv *p);
bool bdev_io_type_supported(struct brisk_bdev *bdev, enum brisk_bdev_io_type type);
/* The checks every submission makes: 0, -EINVAL, -EBADF or -ENOTSUP. */
int bdev_check_io(struct brisk_bdev_desc *desc, struct brisk_io_channel *_ch, enum brisk_bdev_io_type type,
		  uint64_t offset_blocks, uint64_t num_blocks, brisk_bdev_io_completion_cb cb);

/* Nothing about the bdev can make a data I/O split: no transfer limit, no
 * boundary, no alignment (whose bounce buffers cap a child's length). The
 * common case, decided without child_max_blocks; it also means no bounce. */
static inline bool bdev_never_splits_data(const struct brisk_bdev *bdev)
{
	return bdev->max_transfer_size == 0 && bdev->required_alignment <= 1 &&
	       !(bdev->split_on_optimal_io_boundary && bdev->optimal_io_boundary != 0);
}

/* bdev_io_split.c */
bool bdev_io_should_split(struct bdev_io_priv *p);
void bdev_io_split(struct bdev_io_priv *p);
/* A child finished: account it in its parent. */
void bdev_io_split_child_done(struct bdev_io_priv *child, int status);
bool bdev_write_zeroes_emulated(struct brisk_bdev *bdev);

/* bdev_bounce.c */
int bdev_buf_init(void);
void bdev_buf_fini(void);
/* A read submitted without a buffer. */
bool bdev_io_needs_provided_buf(struct bdev_io_priv *p);
/* Caller buffers break the bdev's required alignment. */
bool bdev_io_needs_bounce(struct bdev_io_priv *p);
/* Gets a pool buffer (waiting for one if needed), attaches it (provided
 * buffer or bounce copy), then calls cont(p). */
void bdev_io_get_buf(struct bdev_io_priv *p, void (*cont)(struct bdev_io_priv *p));
/* At completion: copies a bounced read back (on success), gives the caller's
 * iovecs back; a provided read buffer stays until the I/O is freed. */
void bdev_io_buf_complete(struct bdev_io_priv *p);
/* Returns the buffer to its pool (at free) and wakes waiters of this thread. */
void bdev_io_buf_release(struct bdev_io_priv *p);
uint64_t bdev_max_buf_blocks(struct brisk_bdev *bdev);
bool bdev_mgmt_retry_buf_waiters(struct bdev_mgmt_channel *mgmt);

/* bdev_wait.c */
void bdev_mgmt_wake_io_waiters(struct bdev_mgmt_channel *mgmt);
void bdev_mgmt_start_retry_poller(struct bdev_mgmt_channel *mgmt);
void bdev_queue_io_wait_internal(struct bdev_mgmt_channel *mgmt, struct brisk_bdev_io_wait_entry *entry);

/* bdev_stats.c */
void bdev_stat_account(struct bdev_channel *ch, struct bdev_io_priv *p, uint64_t now);
void bdev_reset_device_stat_ext(struct brisk_bdev *bdev, bool maxmin_only, brisk_bdev_reset_stat_cb cb,
				void *cb_arg);

/* bdev_qos.c */
bool bdev_qos_submit(struct bdev_io_priv *p);
void bdev_qos_channel_init(struct bdev_channel *ch);
void bdev_qos_destroy(struct brisk_bdev *bdev, void (*done)(struct brisk_bdev *bdev));

/* bdev_examine.c, for save_config */
void bdev_write_examine_json(json_t *array);

#endif
