/*
 * SCSI devices on bdevs: the transport-independent half of the iSCSI target.
 * A brisk_scsi_dev (one per target node) holds LUNs, each on one bdev; a
 * transport (lib/iscsi) fills a caller-owned brisk_scsi_task with a CDB and a
 * data buffer and queues it; the library emulates SPC-4/SBC-3 on the bdev and
 * calls task->cpl_fn with the status, sense data and the bytes moved.
 *
 * Threads: a dev may be used from several threads (one per connection);
 * each thread calls brisk_scsi_dev_allocate_io_channels before its first
 * task and brisk_scsi_dev_free_io_channels after its last. A task completes
 * on the thread that queued it, never inside brisk_scsi_dev_queue_task.
 */
#ifndef BRISK_SCSI_H
#define BRISK_SCSI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <brisk/bdev.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_SCSI_DEV_MAX_NAME 255
#define BRISK_SCSI_PORT_MAX_NAME 255
#define BRISK_SCSI_DEV_MAX_LUN 64       /* LUN ids 0..63 per dev */
#define BRISK_SCSI_SENSE_MAX 32
#define BRISK_SCSI_TRANSPORT_ID_MAX 264 /* iSCSI TransportID, padded */

struct brisk_scsi_dev;
struct brisk_scsi_lun;
struct brisk_thread;

/*
 * An initiator or target port. For iSCSI the name is
 * "<iqn>,i,0x<isid>" (initiator) or "<iqn>,t,0x<tpgt>" (target); the
 * persistent reservation TransportID is derived from it.
 */
struct brisk_scsi_port {
	uint64_t id;       /* unique per port within the process (e.g. ISID or TPGT) */
	uint16_t index;    /* relative port identifier (target ports: the TPGT) */
	char name[BRISK_SCSI_PORT_MAX_NAME + 1];
	uint16_t transport_id_len;
	uint8_t transport_id[BRISK_SCSI_TRANSPORT_ID_MAX];
};

/* Fills port; 0 or -EINVAL (name empty or too long). */
int brisk_scsi_port_init(struct brisk_scsi_port *port, uint64_t id, uint16_t index,
			 const char *name);

/* Data direction of a task, from the transport's view of the command. */
enum brisk_scsi_dir {
	BRISK_SCSI_DIR_NONE = 0,
	BRISK_SCSI_DIR_TO_DEV = 1,   /* write: iovs hold the data-out */
	BRISK_SCSI_DIR_FROM_DEV = 2, /* read: the library fills iovs */
};

/* SAM status codes (task->status). */
#define BRISK_SCSI_STATUS_GOOD 0x00
#define BRISK_SCSI_STATUS_CHECK_CONDITION 0x02
#define BRISK_SCSI_STATUS_CONDITION_MET 0x04
#define BRISK_SCSI_STATUS_BUSY 0x08
#define BRISK_SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define BRISK_SCSI_STATUS_TASK_SET_FULL 0x28
#define BRISK_SCSI_STATUS_TASK_ABORTED 0x40

/* Task management functions (task->function) and responses (task->response). */
enum brisk_scsi_task_func {
	BRISK_SCSI_TASK_FUNC_ABORT_TASK = 1,
	BRISK_SCSI_TASK_FUNC_ABORT_TASK_SET = 2,
	BRISK_SCSI_TASK_FUNC_CLEAR_TASK_SET = 3,
	BRISK_SCSI_TASK_FUNC_LUN_RESET = 5,
	BRISK_SCSI_TASK_FUNC_TARGET_RESET = 6,
};
enum brisk_scsi_task_mgmt_resp {
	BRISK_SCSI_TASK_MGMT_RESP_COMPLETE = 0,       /* function complete */
	BRISK_SCSI_TASK_MGMT_RESP_INVALID_LUN = 1,    /* LUN does not exist */
	BRISK_SCSI_TASK_MGMT_RESP_REJECT_FUNC_NOT_SUPPORTED = 2,
	BRISK_SCSI_TASK_MGMT_RESP_TASK_NOT_FOUND = 3, /* ABORT TASK: no such tag (still done) */
};

struct brisk_scsi_task;
typedef void (*brisk_scsi_task_cpl)(struct brisk_scsi_task *task);

/*
 * Caller-owned; zero it (brisk_scsi_task_init) then set the "in" fields.
 * The library sets the "out" fields before cpl_fn runs. The task and its
 * iovs must stay valid until cpl_fn.
 */
struct brisk_scsi_task {
	/* in */
	uint64_t lun_id;                       /* flat LUN number (brisk_scsi_lun_id_decode) */
	uint64_t tag;                          /* transport tag (iSCSI ITT), for ABORT TASK */
	uint8_t cdb[16];
	enum brisk_scsi_dir dxfer_dir;
	uint32_t transfer_len;                 /* expected data transfer length, bytes */
	struct iovec *iovs;                    /* data buffer; see below */
	int iovcnt;
	struct brisk_scsi_port *initiator_port;
	struct brisk_scsi_port *target_port;
	brisk_scsi_task_cpl cpl_fn;
	void *cb_arg;                          /* for the caller */
	/* in, management tasks only */
	enum brisk_scsi_task_func function;
	uint64_t abort_tag;                    /* ABORT TASK: tag of the task to abort */

	/* out */
	uint8_t status;                        /* BRISK_SCSI_STATUS_* */
	uint8_t response;                      /* management: enum brisk_scsi_task_mgmt_resp */
	uint8_t sense_data_len;
	uint8_t sense_data[BRISK_SCSI_SENSE_MAX]; /* fixed format */
	uint32_t data_transferred;             /* bytes placed in (read) or taken from (write) iovs */
	uint32_t cdb_data_len;                 /* bytes the CDB itself asks to move (residuals) */

	/*
	 * Reads: when iovs is NULL (or iovcnt 0) the library supplies a buffer
	 * of data_transferred bytes in iov (iovs then points at it); it stays
	 * valid until brisk_scsi_task_put_buf, which the caller calls once the
	 * data has been sent, on the thread the task completed on (the buffer
	 * may be the bdev layer's; the LUN stays open until it is returned).
	 */
	struct iovec iov;

	/* library use only (per-command state lives here: no allocation per I/O) */
	struct brisk_scsi_lun *lun;
	struct brisk_scsi_dev *dev;
	struct brisk_thread *thread;           /* where cpl_fn runs */
	void *buf;                             /* library-allocated data buffer */
	struct brisk_bdev_io *bdev_io;         /* read whose buffer the bdev layer lent */
	struct brisk_io_channel *ch;
	uint64_t lba;
	uint32_t nblocks;
	uint32_t done;
	int step;
	bool aborted;
	struct iovec iov_trim[8];              /* iovs cut to the CDB's length */
	int iov_trim_cnt;
	struct brisk_bdev_io_wait_entry bdev_wait; /* retry after -ENOMEM */
	int (*submit)(struct brisk_scsi_task *task);       /* current bdev step */
	void (*resume)(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok);
	struct brisk_scsi_task *mgmt;          /* management task waiting for this one */
	uint32_t mgmt_wait;                    /* management: tasks still to finish */
	TAILQ_ENTRY(brisk_scsi_task) link;
	TAILQ_ENTRY(brisk_scsi_task) wait_link; /* COMPARE AND WRITE queue */
	bool caw_locked;                       /* holds the LUN's COMPARE AND WRITE turn */
};

/* Zeroes task and sets its direction, buffer and completion. */
void brisk_scsi_task_init(struct brisk_scsi_task *task, brisk_scsi_task_cpl cpl_fn, void *cb_arg);
/* Frees a library-allocated read buffer (no-op otherwise). */
void brisk_scsi_task_put_buf(struct brisk_scsi_task *task);
/* Sets CHECK CONDITION with fixed-format sense (transports refusing a task). */
void brisk_scsi_task_set_sense(struct brisk_scsi_task *task, uint8_t sk, uint8_t asc,
			       uint8_t ascq);

/* SAM-5 LUN field (8 bytes, big endian) <-> flat LUN id: peripheral (ids < 256)
 * and flat (ids < 16384) addressing. Decode returns UINT64_MAX for others. */
uint64_t brisk_scsi_lun_id_encode(uint64_t lun_id);
uint64_t brisk_scsi_lun_id_decode(uint64_t lun_field);

/* ---- Devices ---- */
/* Runs (on the thread that opened the LUN) when a LUN's bdev is removed,
 * before the LUN goes away; ctx is the one given at construct/add. */
typedef void (*brisk_scsi_dev_hotremove_cb)(struct brisk_scsi_lun *lun, void *ctx);
typedef void (*brisk_scsi_dev_destruct_cb)(void *cb_arg, int rc);

/*
 * A device named name with num_luns LUNs: LUN lun_ids[i] on bdev bdev_names[i].
 * NULL (reason logged) on a bad name, duplicate or out-of-range LUN id, or a
 * bdev that cannot be opened. Call on an app thread (LUN descriptors are
 * opened and later closed there).
 */
struct brisk_scsi_dev *brisk_scsi_dev_construct(const char *name, const char *const bdev_names[],
						const int lun_ids[], int num_luns,
						brisk_scsi_dev_hotremove_cb hotremove_cb,
						void *hotremove_ctx);
/* Closes every LUN once its I/O is done; cb_fn (may be NULL) runs afterwards,
 * never inside this call. Every thread must have freed its channels first. */
void brisk_scsi_dev_destruct(struct brisk_scsi_dev *dev, brisk_scsi_dev_destruct_cb cb_fn,
			     void *cb_arg);
const char *brisk_scsi_dev_get_name(const struct brisk_scsi_dev *dev);

/* Hot add: lun_id -1 takes the lowest free id. Returns the id or -EINVAL,
 * -EEXIST, -ENOSPC, -ENODEV. Every initiator sees REPORTED LUNS DATA HAS
 * CHANGED on its next command. */
int brisk_scsi_dev_add_lun(struct brisk_scsi_dev *dev, const char *bdev_name, int lun_id,
			   brisk_scsi_dev_hotremove_cb hotremove_cb, void *hotremove_ctx);
/* Hot remove: new tasks to it fail; the LUN closes once its I/O is done.
 * 0 or -ENODEV. */
int brisk_scsi_dev_remove_lun(struct brisk_scsi_dev *dev, int lun_id);
/* NULL when there is no such LUN or it is being removed. */
struct brisk_scsi_lun *brisk_scsi_dev_get_lun(struct brisk_scsi_dev *dev, int lun_id);
/* LUNs in id order (for listing); NULL after the last. */
struct brisk_scsi_lun *brisk_scsi_dev_get_first_lun(struct brisk_scsi_dev *dev);
struct brisk_scsi_lun *brisk_scsi_dev_get_next_lun(struct brisk_scsi_lun *prev);
int brisk_scsi_lun_get_id(const struct brisk_scsi_lun *lun);
const char *brisk_scsi_lun_get_bdev_name(const struct brisk_scsi_lun *lun);
struct brisk_scsi_dev *brisk_scsi_lun_get_dev(const struct brisk_scsi_lun *lun);
/* A write-protected LUN refuses every medium write with DATA PROTECT,
 * WRITE PROTECTED and reports WP in MODE SENSE; set it right after adding
 * the LUN (its first command still gets the LUNs-changed unit attention). */
void brisk_scsi_lun_set_write_protect(struct brisk_scsi_lun *lun, bool wp);
bool brisk_scsi_lun_is_write_protected(const struct brisk_scsi_lun *lun);
/* A removable-medium LUN (INQUIRY RMB): START STOP UNIT with LOEJ unloads
 * and loads its medium (refused while PREVENT ALLOW MEDIUM REMOVAL holds
 * it); unloaded, medium commands get NOT READY, MEDIUM NOT PRESENT. */
void brisk_scsi_lun_set_removable(struct brisk_scsi_lun *lun, bool removable);
bool brisk_scsi_lun_is_removable(const struct brisk_scsi_lun *lun);

/* The calling thread takes (and later releases) its bdev channels for every
 * LUN. 0 or -ENOMEM. */
int brisk_scsi_dev_allocate_io_channels(struct brisk_scsi_dev *dev);
void brisk_scsi_dev_free_io_channels(struct brisk_scsi_dev *dev);

/* ---- Tasks ---- */
/* Executes the CDB on task->lun_id; task->cpl_fn runs later on this thread. */
void brisk_scsi_dev_queue_task(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task);
/* A task management function (task->function, task->lun_id, task->abort_tag
 * for ABORT TASK, task->initiator_port: the nexus). Aborted tasks complete
 * with TASK ABORTED before this one completes. */
void brisk_scsi_dev_queue_mgmt_task(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task);

/* An initiator port logged out: drops its pending unit attentions and
 * RESERVE(6/10) reservation (persistent reservations stay, as SPC-4 says). */
void brisk_scsi_dev_initiator_gone(struct brisk_scsi_dev *dev, const struct brisk_scsi_port *port);

/*
 * Where persistent reservation state is kept across restarts: one small
 * JSON file per LUN, <dir>/<bdev uuid>.pr, written when an initiator asks
 * for it (APTPL) and read when the LUN opens. Set before devices are
 * constructed; NULL or "" (the default) keeps it in memory only. 0 or
 * -EINVAL (not a directory).
 */
int brisk_scsi_set_pr_dir(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
