/*
 * lib/scsi private structures: devices, LUNs, the per-initiator state
 * (unit attentions, medium removal), persistent reservations, and the
 * helpers the command files share (big-endian fields, sense, completion).
 *
 * Locking: a device may be used from several threads, so everything in a
 * dev and its LUNs that changes after construction is guarded by dev->lock.
 * The lock is never held across a bdev call or a completion callback.
 */
#ifndef BRISK_SCSI_INTERNAL_H
#define BRISK_SCSI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/queue.h>
#include <brisk/scsi.h>
#include <brisk/scsi_spec.h>
#include <brisk/thread.h>

#define SCSI_MAX_ITN 64          /* initiator ports tracked per device */
#define SCSI_MAX_REGS 64         /* persistent reservation registrations per LUN */
#define SCSI_WS_CHUNK_BLOCKS 64  /* WRITE SAME pattern buffer */
#define SCSI_MAX_UNMAP_DESC 256  /* per UNMAP command (block limits VPD) */
/* EXTENDED COPY limits (RECEIVE COPY RESULTS operating parameters). */
#define SCSI_XCOPY_MAX_TGT_DESC 8
#define SCSI_XCOPY_MAX_SEG_DESC 32
#define SCSI_XCOPY_MAX_DESC_LIST 1024 /* bytes of both descriptor lists */
/* Largest data transfer of one command (block limits VPD). libiscsi's
 * WRITE SAME tests write 65536 blocks in one WRITE(16) whatever the limit
 * says, so it is 64 MiB: 131072 blocks of 512 B. */
#define SCSI_MAX_XFER_BYTES (64u << 20)

/* Unit attention conditions, one bit each, reported highest first. */
enum scsi_ua {
	SCSI_UA_RESET = 1u << 0,          /* 29h/03h BUS DEVICE RESET FUNCTION OCCURRED */
	SCSI_UA_MODE_CHANGED = 1u << 1,   /* 2Ah/01h */
	SCSI_UA_RES_PREEMPTED = 1u << 2,  /* 2Ah/03h */
	SCSI_UA_RES_RELEASED = 1u << 3,   /* 2Ah/04h */
	SCSI_UA_REGS_PREEMPTED = 1u << 4, /* 2Ah/05h */
	SCSI_UA_CAPACITY = 1u << 5,       /* 2Ah/09h */
	SCSI_UA_LUNS_CHANGED = 1u << 6,   /* 3Fh/0Eh */
};

/* An initiator port this device has seen (an I_T nexus). */
struct scsi_itn {
	bool used;
	char name[BRISK_SCSI_PORT_MAX_NAME + 1];
	uint32_t ua[BRISK_SCSI_DEV_MAX_LUN]; /* pending enum scsi_ua bits per LUN */
	uint64_t prevent;                    /* PREVENT ALLOW bit per LUN */
	struct { /* last EXTENDED COPY held for COPY STATUS */
		bool valid;
		int lun_id;
		uint8_t list_id;
		uint8_t status; /* 01h done, 02h ended with an error */
		uint16_t segments;
		uint64_t bytes;
	} copy;
};

struct scsi_pr_reg {
	uint64_t key;
	char initiator[BRISK_SCSI_PORT_MAX_NAME + 1];
	char target[BRISK_SCSI_PORT_MAX_NAME + 1];
	uint16_t rel_tgt_port;
	uint16_t tid_len;
	uint8_t tid[BRISK_SCSI_TRANSPORT_ID_MAX];
};

struct scsi_pr {
	uint32_t generation;
	int nregs;
	struct scsi_pr_reg regs[SCSI_MAX_REGS];
	bool reserved;
	uint8_t type;
	int holder;         /* index into regs; for all-registrants types any */
	bool aptpl;         /* persist through power loss */
	/* RESERVE(6/10): an I_T nexus holds the whole LUN */
	bool spc2_reserved;
	char spc2_holder[BRISK_SCSI_PORT_MAX_NAME + 1];
};

struct scsi_chan {
	struct brisk_thread *thread;
	struct brisk_scsi_lun *lun;
	struct brisk_io_channel *ch;
	TAILQ_ENTRY(scsi_chan) link;
};

struct brisk_scsi_lun {
	struct brisk_scsi_dev *dev;
	int id;
	char bdev_name[256];
	struct brisk_bdev *bdev;
	struct brisk_bdev_desc *desc;
	struct brisk_thread *open_thread;
	brisk_scsi_dev_hotremove_cb hotremove_cb;
	void *hotremove_ctx;
	bool removed;
	uint32_t outstanding;             /* tasks running on it */
	uint32_t chans;                   /* scsi_chan records holding its channel */
	TAILQ_HEAD(, brisk_scsi_task) tasks;
	bool caw_busy;                    /* a COMPARE AND WRITE is running */
	TAILQ_HEAD(, brisk_scsi_task) caw_wait;
	bool wce;                         /* caching mode page WCE */
	bool swp;                         /* control mode page software write protect */
	bool write_protect; /* exported read-only (its owner's option) */
	bool stopped;                     /* START STOP UNIT */
	bool removable; /* RMB: its owner's option */
	bool ejected;
	struct scsi_sanitize *sanitize; /* a SANITIZE running (sanitize.c) */
	bool sanitize_failed; /* its last one failed: medium unusable */
	bool erased; /* all unmapped by an erase, nothing written since */ /* removable medium unloaded (LOEJ) */
	struct scsi_pr pr;
	TAILQ_ENTRY(brisk_scsi_lun) link;
};

struct brisk_scsi_dev {
	char name[BRISK_SCSI_DEV_MAX_NAME + 1];
	pthread_mutex_t lock;
	TAILQ_HEAD(, brisk_scsi_lun) luns; /* in id order */
	TAILQ_HEAD(, scsi_chan) chans;
	struct scsi_itn itn[SCSI_MAX_ITN];
	bool destructing;
	brisk_scsi_dev_destruct_cb destruct_cb;
	void *destruct_arg;
	struct brisk_thread *destruct_thread;
};

/* Writes are refused (DATA PROTECT, WRITE PROTECTED) and MODE SENSE shows
 * WP while either the initiator set SWP or the LUN was exported read-only. */
static inline bool scsi_lun_wp(const struct brisk_scsi_lun *lun) { return lun->swp || lun->write_protect; }

/* ---- Big-endian fields ---- */
static inline uint16_t scsi_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t scsi_be24(const uint8_t *p) { return (uint32_t)p[0] << 16 | p[1] << 8 | p[2]; }
static inline uint32_t scsi_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t scsi_be64(const uint8_t *p) { return (uint64_t)scsi_be32(p) << 32 | scsi_be32(p + 4); }
static inline void scsi_put16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static inline void scsi_put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void scsi_put64(uint8_t *p, uint64_t v) { scsi_put32(p, v >> 32); scsi_put32(p + 4, (uint32_t)v); }

/* Largest transfer one command may ask for, in blocks (block limits VPD). */
static inline uint32_t scsi_max_xfer_blocks(const struct brisk_scsi_lun *lun)
{
	return SCSI_MAX_XFER_BYTES / brisk_bdev_get_block_size(lun->bdev);
}

/* Logical blocks per physical block, a power of two (READ CAPACITY(16)'s
 * exponent, the block limits VPD's optimal granularities). */
static inline uint32_t scsi_lbppb(const struct brisk_scsi_lun *lun)
{
	uint32_t lbppb = brisk_bdev_get_physical_block_size(lun->bdev) / brisk_bdev_get_block_size(lun->bdev);

	return lbppb != 0 ? lbppb : 1;
}

/* LBPRZ: unmapped blocks read back as zeroes. Only claimed for the malloc
 * module, which zeroes what it unmaps; others may not. */
static inline bool scsi_lun_lbprz(const struct brisk_scsi_lun *lun)
{
	const char *m = brisk_bdev_get_module_name(lun->bdev);

	return m != NULL && __builtin_strcmp(m, "malloc") == 0;
}

/* WRITE ATOMIC(16): offered where one bdev write cannot be torn, the
 * malloc module (RAM: no power-loss window), for up to a maximum transfer. */
static inline bool scsi_lun_atomic(const struct brisk_scsi_lun *lun)
{
	const char *m = brisk_bdev_get_module_name(lun->bdev);

	return m != NULL && __builtin_strcmp(m, "malloc") == 0;
}

/* ---- task.c ---- */
/* CHECK CONDITION; asc is BRISK_SCSI_ASC_* (ASC << 8 | ASCQ). */
void scsi_sense(struct brisk_scsi_task *task, uint8_t sk, uint16_t asc);
/* ILLEGAL REQUEST, INVALID FIELD IN CDB (or PARAMETER LIST when param) with
 * the sense-key specific field pointer at byte, bit (-1: no bit pointer). */
void scsi_sense_field(struct brisk_scsi_task *task, bool param, uint16_t byte, int bit);
/* Sets the INFORMATION field (VALID bit) of the sense already set. */
void scsi_sense_info(struct brisk_scsi_task *task, uint64_t info);
/* Completes task on this thread from a message (never inline). */
void scsi_task_complete_later(struct brisk_scsi_task *task);
/* Copies len bytes of data to the task (allocating a buffer when it has
 * none), limited by transfer_len; sets data_transferred. */
int scsi_task_put_data(struct brisk_scsi_task *task, const void *data, uint32_t len);
/* Copies up to len bytes of the data-out into buf; returns bytes copied. */
uint32_t scsi_task_get_data(struct brisk_scsi_task *task, void *buf, uint32_t len);
uint32_t scsi_task_iov_len(const struct brisk_scsi_task *task);
/* Copies up to len bytes between iovec arrays; returns bytes copied. */
size_t scsi_copy_iovs(const struct iovec *dst, int dstcnt, const struct iovec *src, int srccnt,
		      size_t len);

/* ---- dev.c / itn.c / exec.c ---- */
struct brisk_scsi_lun *scsi_dev_find_lun(struct brisk_scsi_dev *dev, int id);
/* Reports (and clears) the highest pending unit attention of itn on lun_id
 * into task; false when none applies to this command. */
bool scsi_dev_report_ua(struct scsi_itn *itn, struct brisk_scsi_task *task, int lun_id);
struct scsi_itn *scsi_itn_get(struct brisk_scsi_dev *dev, const struct brisk_scsi_port *port);
/* Sets ua bits for every initiator on LUN lun_id except 'except' (may be NULL). */
void scsi_ua_set_all(struct brisk_scsi_dev *dev, int lun_id, uint32_t ua, const struct scsi_itn *except);
/* Sets ua on LUN lun for the initiator named initiator (if known). */
void scsi_ua_set_one(struct brisk_scsi_lun *lun, const char *initiator, uint32_t ua);
void scsi_task_finished(struct brisk_scsi_task *task);
/* With dev->lock held: frees a destructing dev once its last LUN left. */
void scsi_dev_maybe_free(struct brisk_scsi_dev *dev);

/* ---- lun.c ---- */
struct brisk_scsi_lun *scsi_lun_open(struct brisk_scsi_dev *dev, const char *bdev_name, int id,
				     brisk_scsi_dev_hotremove_cb cb, void *ctx);
void scsi_lun_start_remove(struct brisk_scsi_lun *lun);
/* With dev->lock held: closes the LUN if it is removed and idle. */
void scsi_lun_maybe_close(struct brisk_scsi_lun *lun);

/* ---- spc.c / sbc.c / pr.c ---- */
/* Each returns true when it recognised the opcode (the task is then done or
 * in flight), false for an opcode it does not own. */
bool scsi_spc_execute(struct brisk_scsi_task *task);
bool scsi_sbc_execute(struct brisk_scsi_task *task);
bool scsi_pr_execute(struct brisk_scsi_task *task);
/* RESERVATION CONFLICT check before any command (dev->lock held): true
 * when the task is refused. */
bool scsi_pr_conflict_locked(struct brisk_scsi_lun *lun, const struct brisk_scsi_task *task);
void scsi_pr_register_and_move(struct brisk_scsi_task *task, uint64_t key, uint64_t sa_key,
			       const uint8_t *prm, uint32_t plen);
/* pr_file.c: PR state across restarts (APTPL). Lock held for save. */
bool scsi_pr_file_enabled(void);
void scsi_pr_load(struct brisk_scsi_lun *lun);
void scsi_pr_save(struct brisk_scsi_lun *lun);
/* LUN-wide commands that answer without the LUN (INQUIRY, REPORT LUNS). */
void scsi_spc_no_lun(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task);
/* REPORT SUPPORTED OPERATION CODES table lookup (spc_opcodes.c). */
void scsi_spc_report_opcodes(struct brisk_scsi_task *task);
/* EXTENDED COPY and RECEIVE COPY RESULTS (xcopy.c); false for other opcodes. */
bool scsi_xcopy_execute(struct brisk_scsi_task *task);
/* Third-party Copy VPD page into d; returns its length. */
uint32_t scsi_xcopy_vpd(uint8_t *d);
/* SANITIZE (sanitize.c); false for other opcodes. */
bool scsi_sanitize_execute(struct brisk_scsi_task *task);
/* BLOCK and CRYPTOGRAPHIC ERASE are offered (the bdev can unmap). */
bool scsi_sanitize_erase_offered(const struct brisk_scsi_lun *lun);
/* The running sanitize's progress, 0..65535 of 65536 (dev->lock held). */
uint16_t scsi_sanitize_progress(const struct brisk_scsi_lun *lun);
/* NOT READY, SANITIZE IN PROGRESS with the progress indication. */
void scsi_sanitize_sense(struct brisk_scsi_task *task, const struct brisk_scsi_lun *lun);
/* Mode pages (mode.c). */
void scsi_mode_sense(struct brisk_scsi_task *task);
void scsi_mode_select(struct brisk_scsi_task *task);

/* ---- sbc.c / sbc_io.c / sbc_cmp.c ---- */
typedef int (*scsi_sbc_submit_fn)(struct brisk_scsi_task *task);
typedef void (*scsi_sbc_resume_fn)(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok);
/* Submits one bdev step (submit NULL: retry the current one); resume runs
 * on completion and owns the bdev_io. Failures end the task with sense. */
void scsi_sbc_run(struct brisk_scsi_task *task, scsi_sbc_submit_fn submit, scsi_sbc_resume_fn resume);
brisk_bdev_io_completion_cb scsi_sbc_cb(void);
void scsi_sbc_io_error(struct brisk_scsi_task *task, struct brisk_bdev_io *io);
/* task->iov_trim = bytes [skip, skip + len) of task->iovs; false if that
 * needs more than the task's trim slots or the iovs are too short. */
bool scsi_task_trim_iovs(struct brisk_scsi_task *task, uint64_t skip, uint64_t len);
bool scsi_sbc_data_out_ok(struct brisk_scsi_task *task, uint64_t nbytes);
/* The same, and also refused when longer than nbytes. */
bool scsi_sbc_data_out_exact(struct brisk_scsi_task *task, uint64_t nbytes);
bool scsi_sbc_check_range(struct brisk_scsi_task *task, uint64_t lba, uint32_t n);
/* VERIFY, COMPARE AND WRITE, WRITE SAME (checked LBA range in task). */
void scsi_sbc_cmp_execute(struct brisk_scsi_task *task);
/* UNMAP and GET LBA STATUS (LBAs in the parameter data / no length). */
bool scsi_sbc_cmp_execute_nolba(struct brisk_scsi_task *task);
/* WRITE of `have` bytes that end inside a block: read-modify-write. */
void scsi_sbc_partial_write(struct brisk_scsi_task *task, uint32_t have);
/* Passes the LUN's COMPARE AND WRITE turn on (task->caw_locked). */
void scsi_sbc_caw_unlock(struct brisk_scsi_task *task);

#endif
