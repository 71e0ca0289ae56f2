/*
 * The interface between the generic bdev layer and bdev modules (malloc,
 * null, aio, passthru ...).
 *
 * A module registers a brisk_bdev_module (BRISK_BDEV_MODULE_REGISTER), then
 * registers each of its bdevs with brisk_bdev_register: a brisk_bdev it owns
 * (usually embedded in its own struct), filled with geometry, a fn_table and
 * ctxt. The module's submit_request gets I/O on the module channel of the
 * submitting thread and completes it with brisk_bdev_io_complete on that same
 * thread. BRISK_BDEV_IO_STATUS_NOMEM means "retry later": the layer queues the
 * I/O and submits it again once other I/O of the channel has completed.
 */
#ifndef BRISK_BDEV_MODULE_H
#define BRISK_BDEV_MODULE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <jansson.h>

#include <brisk/bdev.h>
#include <brisk/thread.h>
#include <brisk/uuid.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_bdev_module {
	const char *name;
	/* 0 or -errno; with async_init it must call brisk_bdev_module_init_done. */
	int (*module_init)(void);
	/* Called after every module is initialised (may be NULL). */
	void (*init_complete)(void);
	/* Called before the bdevs are unregistered at finish (may be NULL). */
	void (*fini_start)(void);
	/* With async_fini it must call brisk_bdev_module_fini_done (may be NULL). */
	void (*module_fini)(void);
	/* Appends module-wide settings calls ({"method","params"}) for save_config. */
	void (*config_json)(json_t *array);
	/* Bytes of driver_ctx each brisk_bdev_io carries for this module. */
	int (*get_ctx_size)(void);
	/* Examine a newly registered bdev. examine_config runs first for every
	 * module, synchronously; examine_disk may do I/O. Each call must end with
	 * brisk_bdev_module_examine_done(module) (possibly later). */
	void (*examine_config)(struct brisk_bdev *bdev);
	void (*examine_disk)(struct brisk_bdev *bdev);
	bool async_init;
	bool async_fini;
	TAILQ_ENTRY(brisk_bdev_module) link; /* owned by lib/bdev */
	uint32_t action_in_progress;         /* owned by lib/bdev: examines not yet done */
};

void brisk_bdev_module_list_add(struct brisk_bdev_module *module);
struct brisk_bdev_module *brisk_bdev_module_list_find(const char *name);
#define BRISK_BDEV_MODULE_REGISTER(_name, _module) \
	__attribute__((constructor)) static void brisk_bdev_module_register_##_name(void) \
	{ brisk_bdev_module_list_add(_module); }
void brisk_bdev_module_init_done(struct brisk_bdev_module *module);
void brisk_bdev_module_fini_done(void);
void brisk_bdev_module_examine_done(struct brisk_bdev_module *module);

struct brisk_bdev_fn_table {
	/* Frees the module's resources. 0 when done; > 0 when it will call
	 * brisk_bdev_destruct_done later; < 0 on error. */
	int (*destruct)(void *ctx);
	void (*submit_request)(struct brisk_io_channel *ch, struct brisk_bdev_io *bdev_io);
	bool (*io_type_supported)(void *ctx, enum brisk_bdev_io_type io_type);
	struct brisk_io_channel *(*get_io_channel)(void *ctx);
	/* Adds the module's keys to driver_specific (may be NULL). */
	int (*dump_info_json)(void *ctx, json_t *driver_specific);
	/* Appends the {"method","params"} object that recreates bdev (may be NULL). */
	void (*write_config_json)(struct brisk_bdev *bdev, json_t *array);
};

struct bdev_state; /* private to lib/bdev */

struct brisk_bdev {
	/* Filled by the module before brisk_bdev_register. */
	char *name;                   /* owned by the module */
	const char *product_name;
	struct brisk_uuid uuid;       /* generated at register when null */
	uint32_t blocklen;            /* bytes, a multiple of 512 */
	/* Bytes the medium writes as one unit (0 = blocklen); a power-of-two
	 * multiple of blocklen. A hint: I/O of single blocks still works. */
	uint32_t phys_blocklen;
	uint64_t blockcnt;
	bool write_cache;
	uint32_t optimal_io_boundary; /* blocks; I/O is split there if split_on_optimal_io_boundary */
	bool split_on_optimal_io_boundary;
	uint32_t max_transfer_size;   /* blocks per I/O, 0 = no limit */
	uint32_t required_alignment;  /* bytes of buffer alignment, a power of two (0 = none) */
	/* Device hints, in blocks (0 = no preference), reported by bdev_get_bdevs
	 * under SPDK's names; the layer does not act on them. */
	uint32_t preferred_write_alignment;
	uint32_t preferred_write_granularity;
	uint32_t optimal_write_size;
	uint32_t preferred_unmap_alignment;
	uint32_t preferred_unmap_granularity;
	void *ctxt;                   /* passed to the fn_table calls */
	const struct brisk_bdev_fn_table *fn_table;
	struct brisk_bdev_module *module;

	struct bdev_state *internal;  /* owned by lib/bdev */
	TAILQ_ENTRY(brisk_bdev) link; /* owned by lib/bdev */
};

/* 0, -EINVAL (a bad field, named in the log), -EEXIST (name, alias or UUID
 * taken; named in the log), -ENOMEM. Examine of the new bdev follows
 * asynchronously. */
int brisk_bdev_register(struct brisk_bdev *bdev);

/* True when phys_blocklen is a power-of-two multiple of blocklen (or 0):
 * the rule brisk_bdev_register applies, for modules checking their input. */
bool brisk_bdev_physical_block_size_valid(uint32_t blocklen, uint32_t phys_blocklen);
/* Tells every descriptor (REMOVE event), waits until they are closed and
 * every channel is gone, calls destruct, then cb(cb_arg, rc) on the calling
 * thread. cb may be NULL. */
void brisk_bdev_unregister(struct brisk_bdev *bdev, brisk_bdev_unregister_cb cb, void *cb_arg);
/* Unregister by name, only if the bdev belongs to module. -ENODEV otherwise. */
int brisk_bdev_unregister_by_name(const char *bdev_name, struct brisk_bdev_module *module,
				  brisk_bdev_unregister_cb cb, void *cb_arg);
/* A module's "delete by name" function, as bdev_malloc_delete. */
typedef int (*brisk_bdev_delete_fn)(const char *name, brisk_bdev_unregister_cb cb, void *cb_arg);
struct brisk_jsonrpc_request;
/* The body of a module's bdev_<kind>_delete {name} RPC method: decodes the
 * name, calls delete_fn and answers true once the bdev is gone, or an error
 * ("No such device: <kind> bdev 'X' does not exist" for -ENODEV). */
void brisk_bdev_rpc_delete(struct brisk_jsonrpc_request *req, const json_t *params, const char *kind,
			   brisk_bdev_delete_fn delete_fn);
void brisk_bdev_destruct_done(struct brisk_bdev *bdev, int bdeverrno);
/* Changes blockcnt and sends RESIZE to every descriptor. -EBUSY when
 * shrinking a bdev that is open. */
int brisk_bdev_notify_blockcnt_change(struct brisk_bdev *bdev, uint64_t size);

/* 0, -EEXIST (name or alias taken), -EINVAL. */
int brisk_bdev_alias_add(struct brisk_bdev *bdev, const char *alias);
int brisk_bdev_alias_del(struct brisk_bdev *bdev, const char *alias);

/* Exclusive claim: the descriptor (opened by the module) becomes a writer.
 * -EPERM if another module holds it (the holder is named in the log). */
int brisk_bdev_module_claim_bdev(struct brisk_bdev *bdev, struct brisk_bdev_desc *desc,
				 struct brisk_bdev_module *module);
void brisk_bdev_module_release_bdev(struct brisk_bdev *bdev);
/* A vbdev's teardown of its base: releases the claim on desc's bdev and
 * closes desc on the thread that opened it, by a message that cannot be lost
 * (brisk_thread_send_msg_slot, storage inside desc), then runs done(ctx) on
 * that thread. done never runs inside the call. */
void brisk_bdev_module_close_base(struct brisk_bdev_desc *desc, brisk_msg_fn done, void *ctx);
/* For a vbdev on a base bdev: sends io's operation (read, write, compare,
 * unmap, flush, write_zeroes, reset) to base on base_ch at io's offset plus
 * shift_blocks, with done(base_io, success, io) when it completes. 0, or the
 * submit's error (-ENOMEM: no base brisk_bdev_io free; -ENOTSUP: a type it
 * does not forward). */
int brisk_bdev_forward_io(struct brisk_bdev_io *io, struct brisk_bdev_desc *base, struct brisk_io_channel *base_ch,
			  uint64_t shift_blocks, brisk_bdev_io_completion_cb done);
/* The plain done for brisk_bdev_forward_io: completes io (its arg) with the
 * base I/O's status and frees the base I/O. */
void brisk_bdev_forward_done(struct brisk_bdev_io *base_io, bool success, void *arg);
/* After brisk_bdev_forward_io gave -ENOMEM: calls retry(io) once a base
 * brisk_bdev_io is free (wait lives in io's driver_ctx), never failing the I/O
 * for want of one. 0, or -ENOMEM if even the retry cannot be scheduled. */
int brisk_bdev_forward_wait(struct brisk_bdev_io *io, struct brisk_bdev_io_wait_entry *wait,
			    struct brisk_bdev_desc *base, struct brisk_io_channel *base_ch,
			    brisk_bdev_io_wait_cb retry);

/* The part of an I/O a module sees. */
struct brisk_bdev_io {
	struct brisk_bdev *bdev;
	enum brisk_bdev_io_type type;
	struct {
		struct iovec *iovs; /* READ/WRITE/COMPARE: data, any shape, total num_blocks * blocklen */
		int iovcnt;
		uint64_t offset_blocks;
		uint64_t num_blocks;
	} u;
	/* ZCOPY: start (lend buffers: fill u.iovs, whose capacity is u.iovcnt,
	 * and set u.iovcnt to the entries used; populate: with the data) or end
	 * (commit: write what the caller put in them; else release them). */
	struct {
		bool start;
		bool populate;
		bool commit;
	} zcopy;
	/* NVME_ADMIN / NVME_IO: the caller's command (a copy) and data buffer. */
	struct {
		struct brisk_nvme_cmd cmd;
		void *buf;
		size_t nbytes;
	} nvme_passthru;
	/* The module's per-I/O context (get_ctx_size bytes). */
	uint8_t driver_ctx[] __attribute__((aligned(16)));
};

/* status: a BRISK_BDEV_IO_STATUS_* value. On the thread of the channel the
 * I/O was submitted on (another thread is detected and forwarded). */
void brisk_bdev_io_complete(struct brisk_bdev_io *bdev_io, int status);
/* Completes with the errno of the failure (negative; 0 is success), so that
 * the user sees -ENOSPC rather than a bare failure (status AIO_ERROR). */
void brisk_bdev_io_complete_aio_status(struct brisk_bdev_io *bdev_io, int aio_result);
/* For a module stacked on another bdev: completes bdev_io with the status
 * (and errno) base_io completed with. */
void brisk_bdev_io_complete_base_io_status(struct brisk_bdev_io *bdev_io,
		const struct brisk_bdev_io *base_io);
struct brisk_bdev_io *brisk_bdev_io_from_ctx(void *driver_ctx);
/* For a layer stacked on a bdev whose caller already passed the bdev layer
 * once (the blobstore's bs_dev under an lvol): a read (write false) or write
 * of iov to desc's bdev, like brisk_bdev_readv_blocks/writev_blocks without
 * the checks such a caller makes true by construction: ch is a channel of
 * desc's bdev, iov holds num_blocks blocks, and the bdev supports reads and
 * writes (else the module fails the I/O when it completes). The range and
 * the write permission are still checked. The base bdev's statistics,
 * reset, QoS, splitting and -ENOMEM handling apply as usual. 0, -EINVAL,
 * -EBADF, or -ENOMEM (see brisk_bdev_queue_io_wait). */
int brisk_bdev_module_submit_rw(struct brisk_bdev_desc *desc, struct brisk_io_channel *ch, bool write,
				struct iovec *iov, int iovcnt, uint64_t offset_blocks, uint64_t num_blocks,
				brisk_bdev_io_completion_cb cb, void *cb_arg);
/* Called on the I/O's thread when the base module completed an I/O handed
 * down by brisk_bdev_io_submit_to_base, with the base's status (its errno
 * kept for brisk_bdev_io_complete); io is the stacked bdev's again (bdev,
 * offset, channel) and the stacked module completes it. */
typedef void (*brisk_bdev_io_stacked_cb)(struct brisk_bdev_io *io, int status, void *cb_ctx);
/* For a stacked module inside its submit_request (the lvol on its store's
 * base bdev): hands io, a READ or WRITE with its buffers, to the base
 * bdev's module at offset_blocks of the base, on base_ch (a channel of
 * base_desc on this thread), without a second bdev I/O: the stacked bdev's
 * I/O already had its checks, statistics, QoS and splitting, so the base's
 * statistics do not count it; its reset waits for it. 0, or -EAGAIN when
 * the base cannot take it as it is (a reset or QoS on the channel, I/O
 * waiting for resources, splitting or bouncing, another block size, no
 * buffer, outside the base, a write on a read-only descriptor): the
 * caller then submits the ordinary way. */
int brisk_bdev_io_submit_to_base(struct brisk_bdev_io *io, struct brisk_bdev_desc *base_desc,
				 struct brisk_io_channel *base_ch, uint64_t offset_blocks, brisk_bdev_io_stacked_cb cb,
				 void *cb_ctx);
/* Completes with an NVMe status (kept for brisk_bdev_io_get_nvme_status):
 * success for 0/0, MISCOMPARE for a compare failure, FAILED otherwise. */
void brisk_bdev_io_complete_nvme_status(struct brisk_bdev_io *bdev_io, uint32_t cdw0, int sct, int sc);
/* The module channel the I/O was submitted on. */
struct brisk_io_channel *brisk_bdev_io_get_io_channel(struct brisk_bdev_io *bdev_io);
struct brisk_thread *brisk_bdev_io_get_thread(struct brisk_bdev_io *bdev_io);
/* Copies between an iovec array and a flat buffer; returns bytes copied. */
size_t brisk_copy_iovs_to_buf(void *buf, size_t buf_len, const struct iovec *iovs, int iovcnt);
size_t brisk_copy_buf_to_iovs(const struct iovec *iovs, int iovcnt, const void *buf, size_t buf_len);

#ifdef __cplusplus
}
#endif
#endif
