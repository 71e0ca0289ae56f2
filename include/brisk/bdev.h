/*
 * The generic block-device layer: what users of bdevs call.
 *
 * A bdev is opened into a descriptor (brisk_bdev_open_ext), which gives each
 * thread an io_channel (brisk_bdev_get_io_channel). I/O is submitted on a
 * channel and its callback runs on the submitting thread, never inside the
 * submitting call. The callback receives the brisk_bdev_io, which the user
 * gives back with brisk_bdev_free_io.
 *
 * Submission returns 0, -EINVAL (range or alignment), -EBADF (write on a
 * read-only descriptor), -ENOTSUP (type not supported) or -ENOMEM: no
 * brisk_bdev_io is free on this thread; wait with brisk_bdev_queue_io_wait and
 * submit again from its callback. Everything after a successful submission
 * (splitting, bounce buffers, module -ENOMEM) queues inside the layer and
 * never fails the I/O for lack of resources.
 */
#ifndef BRISK_BDEV_H
#define BRISK_BDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <jansson.h>

#include <brisk/nvme_spec.h>
#include <brisk/uuid.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_bdev;
struct brisk_bdev_desc;
struct brisk_bdev_io;
struct brisk_io_channel;

enum brisk_bdev_io_type {
	BRISK_BDEV_IO_TYPE_INVALID = 0,
	BRISK_BDEV_IO_TYPE_READ,
	BRISK_BDEV_IO_TYPE_WRITE,
	BRISK_BDEV_IO_TYPE_UNMAP,
	BRISK_BDEV_IO_TYPE_FLUSH,
	BRISK_BDEV_IO_TYPE_RESET,
	BRISK_BDEV_IO_TYPE_WRITE_ZEROES,
	BRISK_BDEV_IO_TYPE_COMPARE,
	BRISK_BDEV_IO_TYPE_NVME_ADMIN, /* raw NVMe admin command (brisk_bdev_nvme_admin_passthru) */
	BRISK_BDEV_IO_TYPE_NVME_IO, /* raw NVMe I/O command (brisk_bdev_nvme_io_passthru) */
	BRISK_BDEV_IO_TYPE_ZCOPY, /* zero-copy start/end (brisk_bdev_zcopy_start) */
	BRISK_BDEV_NUM_IO_TYPES
};

/* Status of a completed I/O (brisk_bdev_io_get_status). AIO_ERROR: failed
 * with a specific errno (brisk_bdev_io_get_errno says which: -ENOSPC from a
 * full backing file, ...). */
#define BRISK_BDEV_IO_STATUS_AIO_ERROR (-8)
/* Error statuses run from -1 to -8 (SPDK's numbering; -2, -3, -6 unused here). */
#define BRISK_BDEV_IO_STATUS_ERROR_KINDS 8
#define BRISK_BDEV_IO_STATUS_ABORTED (-7)
#define BRISK_BDEV_IO_STATUS_MISCOMPARE (-5)
#define BRISK_BDEV_IO_STATUS_NOMEM (-4)
#define BRISK_BDEV_IO_STATUS_FAILED (-1)
#define BRISK_BDEV_IO_STATUS_PENDING 0
#define BRISK_BDEV_IO_STATUS_SUCCESS 1

enum brisk_bdev_event_type {
	BRISK_BDEV_EVENT_REMOVE, /* the bdev is going away: close the descriptor */
	BRISK_BDEV_EVENT_RESIZE, /* block count changed */
};

/* Runs on the thread that opened the descriptor. */
typedef void (*brisk_bdev_event_cb_t)(enum brisk_bdev_event_type type, struct brisk_bdev *bdev,
				      void *event_ctx);
typedef void (*brisk_bdev_io_completion_cb)(struct brisk_bdev_io *bdev_io, bool success, void *cb_arg);
typedef void (*brisk_bdev_init_cb)(void *cb_arg, int rc);
typedef void (*brisk_bdev_fini_cb)(void *cb_arg);
typedef void (*brisk_bdev_unregister_cb)(void *cb_arg, int rc);
typedef void (*brisk_bdev_wait_for_examine_cb)(void *arg);

/* ---- Options (bdev_set_options; before brisk_bdev_initialize) ---- */
struct brisk_bdev_opts {
	uint32_t bdev_io_pool_size;  /* brisk_bdev_io objects, all threads */
	uint32_t bdev_io_cache_size; /* kept per thread, >= 1 */
	bool bdev_auto_examine;      /* examine every new bdev; false: only names given to brisk_bdev_examine */
	uint32_t small_buf_pool_size; /* data buffers of BRISK_BDEV_SMALL_BUF_SIZE */
	uint32_t large_buf_pool_size; /* data buffers of BRISK_BDEV_LARGE_BUF_SIZE */
};
#define BRISK_BDEV_SMALL_BUF_SIZE 8192
#define BRISK_BDEV_LARGE_BUF_SIZE (132 * 1024)
void brisk_bdev_get_opts(struct brisk_bdev_opts *opts);
/* 0, -EINVAL (a field is named in the log), -EPERM after initialisation. */
int brisk_bdev_set_opts(const struct brisk_bdev_opts *opts);

/* ---- Library ---- */
/* Creates the pools and initialises every registered module (in
 * registration order). cb runs on the calling thread. */
void brisk_bdev_initialize(brisk_bdev_init_cb cb, void *cb_arg);
/* Unregisters every bdev (those nobody has claimed first), finishes the
 * modules in reverse order, frees the pools. */
void brisk_bdev_finish(brisk_bdev_fini_cb cb, void *cb_arg);
bool brisk_bdev_is_initialized(void);

/* ---- Lookup ---- */
/* By name, alias or UUID string. NULL if none. */
struct brisk_bdev *brisk_bdev_get_by_name(const char *name);
struct brisk_bdev *brisk_bdev_first(void);
struct brisk_bdev *brisk_bdev_next(struct brisk_bdev *prev);
/* Bdevs nobody has claimed (the tops of the stacks). */
struct brisk_bdev *brisk_bdev_first_leaf(void);
struct brisk_bdev *brisk_bdev_next_leaf(struct brisk_bdev *prev);

/* ---- Properties ---- */
const char *brisk_bdev_get_name(const struct brisk_bdev *bdev);
const char *brisk_bdev_get_product_name(const struct brisk_bdev *bdev);
const char *brisk_bdev_get_module_name(const struct brisk_bdev *bdev);
uint32_t brisk_bdev_get_block_size(const struct brisk_bdev *bdev);
/* Bytes per physical block: a power-of-two multiple of the block size. */
uint32_t brisk_bdev_get_physical_block_size(const struct brisk_bdev *bdev);
uint64_t brisk_bdev_get_num_blocks(const struct brisk_bdev *bdev);
const struct brisk_uuid *brisk_bdev_get_uuid(const struct brisk_bdev *bdev);
bool brisk_bdev_has_write_cache(const struct brisk_bdev *bdev);
uint32_t brisk_bdev_get_optimal_io_boundary(const struct brisk_bdev *bdev);
uint32_t brisk_bdev_get_max_transfer_size(const struct brisk_bdev *bdev); /* blocks, 0 = no limit */
size_t brisk_bdev_get_buf_align(const struct brisk_bdev *bdev);           /* bytes, >= 1 */
bool brisk_bdev_io_type_supported(struct brisk_bdev *bdev, enum brisk_bdev_io_type io_type);
/* Name of the module holding the claim, or NULL. */
const char *brisk_bdev_get_claim_module_name(const struct brisk_bdev *bdev);
/* Calls fn for each alias. */
void brisk_bdev_for_each_alias(const struct brisk_bdev *bdev, void (*fn)(const char *alias, void *ctx),
			       void *ctx);

/* ---- Descriptors ---- */
/* event_cb is required. 0, -EINVAL, -ENODEV (no such bdev, or being removed),
 * -EPERM (write asked on a bdev claimed by a module). */
int brisk_bdev_open_ext(const char *bdev_name, bool write, brisk_bdev_event_cb_t event_cb,
			void *event_ctx, struct brisk_bdev_desc **desc);
/* On the thread that opened it; every channel of it must have been put. */
void brisk_bdev_close(struct brisk_bdev_desc *desc);
struct brisk_bdev *brisk_bdev_desc_get_bdev(struct brisk_bdev_desc *desc);
/* The calling thread's channel (reference counted); NULL on failure. */
struct brisk_io_channel *brisk_bdev_get_io_channel(struct brisk_bdev_desc *desc);

/* ---- I/O (see the top of the file for the return values) ---- */
int brisk_bdev_read(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
		    uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg);
/* buf NULL: the layer provides a buffer from its pool (see
 * brisk_bdev_io_get_iovec), for reads up to BRISK_BDEV_LARGE_BUF_SIZE bytes. */
int brisk_bdev_read_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
			   uint64_t offset_blocks, uint64_t num_blocks,
			   brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_readv(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
		     int iovcnt, uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg);
/* The iovec array must stay valid until completion. */
int brisk_bdev_readv_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
			    int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_write(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
		     uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_write_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
			    uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_writev(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
		      int iovcnt, uint64_t offset, uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_writev_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov,
			     int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
			     brisk_bdev_io_completion_cb cb, void *cb_arg);
/* Completes with BRISK_BDEV_IO_STATUS_MISCOMPARE when the data differ. */
int brisk_bdev_compare_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, void *buf,
			      uint64_t offset_blocks, uint64_t num_blocks,
			      brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_comparev_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
			       struct iovec *iov, int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
			       brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_unmap(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, uint64_t offset,
		     uint64_t nbytes, brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_unmap_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
			    uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_flush_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
			    uint64_t offset_blocks, uint64_t num_blocks,
			    brisk_bdev_io_completion_cb cb, void *cb_arg);
/* Emulated with writes of zeroes when the module lacks it. */
int brisk_bdev_write_zeroes_blocks(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
				   uint64_t offset_blocks, uint64_t num_blocks,
				   brisk_bdev_io_completion_cb cb, void *cb_arg);
/* Holds new I/O on every channel, waits for the I/O in flight, resets the
 * device, then lets the held I/O go. */
int brisk_bdev_reset(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
		     brisk_bdev_io_completion_cb cb, void *cb_arg);

/* Zero-copy I/O (SPDK's zcopy model), on bdevs that support
 * BRISK_BDEV_IO_TYPE_ZCOPY (malloc): instead of copying into or out of the
 * caller's memory, the bdev lends its own buffers.
 *
 * brisk_bdev_zcopy_start: iov is an array of iovcnt entries (>= 1) the bdev
 * fills with the lent buffers; it must stay valid until zcopy_end completes.
 * populate true: the buffers hold the blocks' data (a read); false: buffers
 * for the caller to fill (a write; needs a writable descriptor), their
 * content undefined. In cb, brisk_bdev_io_get_iovec gives the buffers (iov,
 * and how many entries were used). On success the caller keeps the bdev_io
 * and must give it back with brisk_bdev_zcopy_end; on failure it frees it
 * with brisk_bdev_free_io. Returns as the calls above, plus -ENOTSUP when
 * the bdev does not lend buffers or QoS limits the bdev (fall back to
 * brisk_bdev_readv/writev), -EINVAL when iov/iovcnt are missing. A start
 * whose range needs more than iovcnt buffers fails (errno -EINVAL).
 *
 * brisk_bdev_zcopy_end: commit true writes the buffers' content to the
 * blocks (a write); false releases them (a read, or a write given up). cb
 * gets the same bdev_io; free it with brisk_bdev_free_io. 0, or -EINVAL when
 * bdev_io is not a successfully started zero-copy I/O. The buffers must not
 * be touched after the call. What a write given up (or a failed commit)
 * leaves in the blocks is up to the bdev (malloc lends its backing memory:
 * the blocks hold whatever the caller wrote; see doc/bdev.md). */
int brisk_bdev_zcopy_start(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, struct iovec *iov, int iovcnt,
			   uint64_t offset_blocks, uint64_t num_blocks, bool populate, brisk_bdev_io_completion_cb cb,
			   void *cb_arg);
int brisk_bdev_zcopy_end(struct brisk_bdev_io *bdev_io, bool commit, brisk_bdev_io_completion_cb cb, void *cb_arg);

/* NVMe passthrough, on bdevs that support BRISK_BDEV_IO_TYPE_NVME_ADMIN /
 * BRISK_BDEV_IO_TYPE_NVME_IO (bdev_nvme): the command is copied; buf (nbytes,
 * DMA-able, may be NULL with nbytes 0) carries the data in the direction the
 * opcode gives. An I/O command goes to the bdev's namespace (the module sets
 * nsid). Needs a descriptor opened for writing. Returns as the calls above;
 * the NVMe completion status is read with brisk_bdev_io_get_nvme_status. */
int brisk_bdev_nvme_admin_passthru(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
				   const struct brisk_nvme_cmd *cmd, void *buf, size_t nbytes,
				   brisk_bdev_io_completion_cb cb, void *cb_arg);
int brisk_bdev_nvme_io_passthru(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch,
				const struct brisk_nvme_cmd *cmd, void *buf, size_t nbytes,
				brisk_bdev_io_completion_cb cb, void *cb_arg);
/* The NVMe status of a completed I/O: what the controller returned for an
 * I/O a module completed with brisk_bdev_io_complete_nvme_status; otherwise
 * success (0/0) or INTERNAL DEVICE ERROR made up from the bdev status. */
void brisk_bdev_io_get_nvme_status(const struct brisk_bdev_io *bdev_io, uint32_t *cdw0, int *sct,
				   int *sc);

/* In the completion callback: the data of a read (the layer's buffer when the
 * read was submitted without one). */
void brisk_bdev_io_get_iovec(struct brisk_bdev_io *bdev_io, struct iovec **iovs, int *iovcnt);
int brisk_bdev_io_get_status(const struct brisk_bdev_io *bdev_io);
/* The failure as a negative errno: 0 on success, the module's errno for
 * AIO_ERROR (-ENOSPC, -EROFS ...), -EIO for a plain failure, -EILSEQ for a
 * miscompare, -ECANCELED when aborted, -ENOMEM. */
int brisk_bdev_io_get_errno(const struct brisk_bdev_io *bdev_io);
enum brisk_bdev_io_type brisk_bdev_io_get_type(const struct brisk_bdev_io *bdev_io);
void brisk_bdev_free_io(struct brisk_bdev_io *bdev_io);

/* ---- Waiting for a free brisk_bdev_io ---- */
typedef void (*brisk_bdev_io_wait_cb)(void *cb_arg);
struct brisk_bdev_io_wait_entry {
	struct brisk_bdev *bdev;
	brisk_bdev_io_wait_cb cb_fn;
	void *cb_arg;
	TAILQ_ENTRY(brisk_bdev_io_wait_entry) link;
};
/* After a submission on ch returned -ENOMEM: cb_fn runs on this thread when a
 * brisk_bdev_io is free again. 0, -EINVAL (fields missing, or I/Os are free
 * now: submit again). */
int brisk_bdev_queue_io_wait(struct brisk_bdev *bdev, struct brisk_io_channel *ch,
			     struct brisk_bdev_io_wait_entry *entry);

/* ---- Statistics ---- */
struct brisk_bdev_io_stat {
	uint64_t num_ops[BRISK_BDEV_NUM_IO_TYPES];      /* successful */
	uint64_t bytes[BRISK_BDEV_NUM_IO_TYPES];
	uint64_t latency_ticks[BRISK_BDEV_NUM_IO_TYPES]; /* sum */
	uint64_t max_latency_ticks[BRISK_BDEV_NUM_IO_TYPES];
	uint64_t min_latency_ticks[BRISK_BDEV_NUM_IO_TYPES]; /* UINT64_MAX when no op */
	uint64_t num_errors[BRISK_BDEV_NUM_IO_TYPES];
	/* Failed I/Os by status: [-status - 1] for BRISK_BDEV_IO_STATUS_* < 0, so
	 * bdev_get_iostat can key io_error by status name as SPDK does. */
	uint64_t error_status[BRISK_BDEV_IO_STATUS_ERROR_KINDS];
	uint64_t ticks_rate;                             /* brisk_get_ticks_hz() */
};
/* This channel's counters. */
void brisk_bdev_get_io_stat(struct brisk_bdev *bdev, struct brisk_io_channel *ch,
			    struct brisk_bdev_io_stat *stat);
typedef void (*brisk_bdev_get_device_stat_cb)(struct brisk_bdev *bdev, struct brisk_bdev_io_stat *stat,
					      void *cb_arg, int rc);
/* The whole bdev: closed channels plus every open one (visits each channel). */
void brisk_bdev_get_device_stat(struct brisk_bdev *bdev, struct brisk_bdev_io_stat *stat,
				brisk_bdev_get_device_stat_cb cb, void *cb_arg);
typedef void (*brisk_bdev_reset_stat_cb)(struct brisk_bdev *bdev, void *cb_arg, int rc);
void brisk_bdev_reset_device_stat(struct brisk_bdev *bdev, brisk_bdev_reset_stat_cb cb, void *cb_arg);
/* Adds src to dst (min/max merged). */
void brisk_bdev_io_stat_add(struct brisk_bdev_io_stat *dst, const struct brisk_bdev_io_stat *src);
void brisk_bdev_io_stat_clear(struct brisk_bdev_io_stat *stat);
/* Appends SPDK's iostat fields to obj. */
void brisk_bdev_io_stat_dump_json(const struct brisk_bdev_io_stat *stat, json_t *obj);

/* ---- QoS ---- */
enum brisk_bdev_qos_rate_limit_type {
	BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT = 0, /* rw_ios_per_sec, a multiple of 1000 */
	BRISK_BDEV_QOS_RW_BPS_RATE_LIMIT,      /* rw_mbytes_per_sec (set in MB/s) */
	BRISK_BDEV_QOS_R_BPS_RATE_LIMIT,       /* r_mbytes_per_sec */
	BRISK_BDEV_QOS_W_BPS_RATE_LIMIT,       /* w_mbytes_per_sec */
	BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES
};
#define BRISK_BDEV_QOS_LIMIT_NOT_DEFINED UINT64_MAX
#define BRISK_BDEV_QOS_MIN_IOS_PER_SEC 1000
#define BRISK_BDEV_QOS_TIMESLICE_US 1000
/* limits: IOPS and MB/s per type; BRISK_BDEV_QOS_LIMIT_NOT_DEFINED leaves one
 * unchanged, 0 removes it. The calling thread becomes the bdev's QoS thread
 * when QoS starts. cb(cb_arg, 0 or -errno) on the calling thread. */
void brisk_bdev_set_qos_rate_limits(struct brisk_bdev *bdev, const uint64_t *limits,
				    void (*cb)(void *cb_arg, int status), void *cb_arg);
/* Current limits (0 = none); IOPS and MB/s. */
void brisk_bdev_get_qos_rate_limits(struct brisk_bdev *bdev, uint64_t *limits);

/* ---- Examine ---- */
/* bdev_examine: lets modules examine name (needed when auto examine is off). */
int brisk_bdev_examine(const char *name);
/* cb runs on the calling thread once no examine is in progress. */
int brisk_bdev_wait_for_examine(brisk_bdev_wait_for_examine_cb cb, void *cb_arg);

/* ---- JSON ---- */
/* The object bdev_get_bdevs returns for bdev. */
json_t *brisk_bdev_info_json(struct brisk_bdev *bdev);
/* Appends to array the calls that recreate the bdevs and module settings
 * (bdev_set_options first, bdev_wait_for_examine last). */
void brisk_bdev_subsystem_config_json(json_t *array);

#ifdef __cplusplus
}
#endif
#endif
