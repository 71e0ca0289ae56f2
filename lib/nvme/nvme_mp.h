/*
 * Multi-process lib/nvme: the request channel between a secondary process and
 * the primary that owns a controller (mp_channel.c), and the controller-level
 * use of it (mp.c). Private to lib/nvme.
 *
 * The channel lives in shared memory under names made from a key (the
 * controller's PCI address): a memzone "nmpmsg_<key>" holding message slots,
 * a ring "nmpfree_<key>" of free slots and a ring "nmpreq_<key>" of slots
 * sent to the primary. A secondary takes a free slot, fills it, enqueues it
 * and polls its state; the primary dequeues it from its admin poller, does
 * the work with admin commands and sets the result. Neither side blocks the
 * other: a secondary that gave up (timeout) or died leaves its slot to the
 * primary, which puts it back on the free ring.
 */
#ifndef BRISK_NVME_MP_H
#define BRISK_NVME_MP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <brisk/env.h>
#include <brisk/nvme.h>

#include "nvme_internal.h"

#define NVME_MP_CHANNEL_SLOTS 32u
#define NVME_MP_KEY_MAX 20u /* names stay within BRISK_RING_NAMESIZE */

enum nvme_mp_op {
	NVME_MP_OP_CREATE_QPAIR = 1, /* in: num_entries, sq_iova, cq_iova; out: qid */
	NVME_MP_OP_DELETE_QPAIR = 2, /* in: qid */
	NVME_MP_OP_NOP = 3, /* in: nothing; the primary answers 0 (tests, liveness) */
	/* After a primary's reset: the sender's lost queue qid again, at the same
	 * memory. in: qid, num_entries, sq_iova, cq_iova; out: resets. */
	NVME_MP_OP_RECREATE_QPAIR = 4,
	/* An admin command on the primary's admin queue. in: cmd (cid ignored),
	 * buf/len (shared DMA memory, same address in every process); out: cpl. */
	NVME_MP_OP_ADMIN = 5,
};

/* Slot states; changed only by compare-and-swap so that a reply and a
 * sender's give-up cannot both win. */
enum nvme_mp_state {
	NVME_MP_SLOT_FREE = 0,
	NVME_MP_SLOT_SENT = 1,
	NVME_MP_SLOT_DONE = 2,
	NVME_MP_SLOT_ABANDONED = 3,
};

struct nvme_mp_msg {
	uint32_t op;
	int32_t pid;          /* sender (filled by send) */
	uint32_t qid;
	uint32_t num_entries;
	uint64_t sq_iova;
	uint64_t cq_iova;
	int32_t rc;           /* 0 or -errno, valid once DONE */
	uint32_t state;       /* enum nvme_mp_state */
	uint32_t resets; /* out: the primary's reset count the queue lives in */
	uint32_t len; /* ADMIN: payload bytes */
	uint64_t buf; /* ADMIN: payload address (0 = none) */
	struct brisk_nvme_cmd cmd; /* ADMIN */
	struct brisk_nvme_cpl cpl; /* ADMIN: the controller's completion */
};

struct brisk_ring;
struct nvme_mp_channel {
	struct nvme_mp_msg *slots; /* NVME_MP_CHANNEL_SLOTS, in the memzone */
	struct brisk_ring *req;
	struct brisk_ring *free;
	char key[NVME_MP_KEY_MAX + 1];
	bool owner;                /* created here: destroy frees it */
};

/* Primary: creates the memzone and rings. 0, -EINVAL (key), -EEXIST, -ENOMEM. */
int nvme_mp_channel_create(struct nvme_mp_channel *ch, const char *key);
/* Secondary: finds them. 0 or -ENOENT. */
int nvme_mp_channel_lookup(struct nvme_mp_channel *ch, const char *key);
/* Primary frees the shared objects; a secondary only forgets them. */
void nvme_mp_channel_destroy(struct nvme_mp_channel *ch);

/* Secondary: sends a copy of msg (op and arguments). 0 and *slot, -EBUSY (no
 * free slot), -ENOBUFS (request ring full; cannot happen with slots <= ring). */
int nvme_mp_channel_send(struct nvme_mp_channel *ch, const struct nvme_mp_msg *msg,
			 struct nvme_mp_msg **slot);
/* Secondary: -EAGAIN until the primary answered; then 0, *out the answer, and
 * the slot is free again. */
int nvme_mp_channel_result(struct nvme_mp_channel *ch, struct nvme_mp_msg *slot,
			   struct nvme_mp_msg *out);
/* Secondary: gives up waiting (timeout). The primary frees the slot when it
 * answers; 0, or -EALREADY when the answer came meanwhile (read it with result). */
int nvme_mp_channel_abandon(struct nvme_mp_channel *ch, struct nvme_mp_msg *slot);

/* Primary: the next request, or NULL. A pointer that is not one of the slots
 * (a broken sender) is logged and dropped. */
struct nvme_mp_msg *nvme_mp_channel_next(struct nvme_mp_channel *ch);
/* Primary: answers with rc (msg->qid etc. set before). A sender that is gone
 * or gave up gets nothing: the slot goes back to the free ring. */
void nvme_mp_channel_reply(struct nvme_mp_channel *ch, struct nvme_mp_msg *msg, int rc);
/* Free slots (tests). */
unsigned nvme_mp_channel_free_count(const struct nvme_mp_channel *ch);
/* A process with this pid exists (kill(pid, 0)). */
bool nvme_mp_pid_alive(pid_t pid);

#define NVME_MP_MAX_NS 16u

/* What a secondary reads; written once by the primary before magic. */
struct nvme_mp_shared {
	uint64_t magic;
	int32_t primary_pid;
	uint32_t num_ns; /* NN */
	uint32_t num_active_ns; /* entries of ns[] */
	uint32_t max_io_queues;
	uint32_t max_queue_entries;
	uint32_t resets; /* the primary's controller resets (atomic) */
	uint64_t cap;
	uint32_t vs;
	struct brisk_nvme_ctrlr_data cdata;
	struct brisk_nvme_ns ns[NVME_MP_MAX_NS]; /* copies; their ctrlr pointer is meaningless */
};

struct nvme_mp_primary {
	struct nvme_mp_channel ch;
	struct nvme_mp_shared *shared;
	char zone[BRISK_MEMZONE_NAMESIZE];
	pid_t owner[NVME_MAX_IO_QUEUES + 1]; /* secondary owning each qid; -1 being deleted */
	/* Queues a reset deleted: the qid stays the owner's (its stale qpair may
	 * still ring that doorbell) until it asks to re-create or delete it, or
	 * exits. */
	bool lost[NVME_MAX_IO_QUEUES + 1];
	uint32_t num_qpairs; /* queues that secondaries own */
	uint32_t in_flight; /* requests with admin commands outstanding */
	uint64_t next_reap_check;
	uint64_t next_serve_check;
};

/* A secondary's admin command forwarded to the primary. */
struct nvme_mp_admin_wait {
	struct nvme_mp_msg *slot; /* NULL: entry unused */
	brisk_nvme_cmd_cb cb_fn;
	void *cb_arg;
};

struct nvme_mp_secondary {
	struct nvme_mp_channel ch;
	struct nvme_mp_shared *shared;
	uint64_t next_primary_check;
	struct nvme_mp_admin_wait admin[NVME_MP_CHANNEL_SLOTS];
	uint32_t admin_pending;
};

/* mp.c */
/* Secondary: a primary shares the controller at trid. */
bool nvme_mp_is_shared(const struct brisk_nvme_transport_id *trid);
/* Secondary: the controller view built from the primary's shared data (BAR0
 * mapped here, no admin queue). NULL on error (logged). */
struct brisk_nvme_ctrlr *nvme_mp_connect_secondary(const struct brisk_nvme_transport_id *trid,
						   const struct brisk_nvme_ctrlr_opts *opts);
/* Both roles, from detach: primary stops sharing, secondary drops its view. */
void nvme_mp_detach(struct brisk_nvme_ctrlr *ctrlr);
/* Both roles, from admin polling with the controller lock held: the primary
 * serves requests and deletes the queues of dead secondaries; a secondary
 * checks that its primary still runs. */
void nvme_mp_poll_locked(struct brisk_nvme_ctrlr *ctrlr);
/* Primary, after a reset (under the controller lock): secondaries' queues are
 * gone; each secondary is told through the shared reset count. */
void nvme_mp_reset_done(struct brisk_nvme_ctrlr *ctrlr);
/* Secondary: false (and the view failed) when the primary stopped sharing;
 * true otherwise (primaries too). Its resets are each qpair's to handle. */
bool nvme_mp_secondary_check(struct brisk_nvme_ctrlr *ctrlr);
/* Secondary: a qpair whose queues the primary creates; NULL on error. */
struct brisk_nvme_qpair *nvme_mp_alloc_io_qpair(struct brisk_nvme_ctrlr *ctrlr, uint32_t entries,
					       uint32_t requests);
/* Secondary: asks the primary to delete the qpair's queues. */
void nvme_mp_delete_io_queues(struct brisk_nvme_qpair *qpair);
/* Secondary, from the qpair's poll when the primary's reset count moved: the
 * qpair's commands complete with ABORTED_SQ_DELETION (not DNR), its rings
 * are rewound and the primary re-creates its queues. */
void nvme_mp_qpair_recover(struct brisk_nvme_qpair *qpair);

/* mp_admin.c */
/* Primary: 0 when a secondary may send cmd with a payload of len bytes at
 * buf, else -EPERM (changes the controller under the primary) or -EINVAL
 * (logged, naming the field). */
int nvme_mp_admin_check(struct brisk_nvme_ctrlr *ctrlr, const struct nvme_mp_msg *m);
/* Primary: submits a secondary's admin command; the reply carries its
 * completion. 0, or -errno to answer at once. */
int nvme_mp_admin_serve(struct brisk_nvme_ctrlr *ctrlr, struct nvme_mp_msg *m);
/* Secondary: forwards an admin command; cb_fn runs from admin polling. */
int nvme_mp_admin_submit(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cmd *cmd, void *buf, uint32_t len,
			 brisk_nvme_cmd_cb cb_fn, void *cb_arg);
/* Secondary, admin polling under the controller lock: completes forwarded
 * commands that were answered (or fails them once the primary is gone). */
int32_t nvme_mp_admin_poll_locked(struct brisk_nvme_ctrlr *ctrlr);
/* Secondary, at detach: forwarded commands not answered complete with an
 * abort status. */
void nvme_mp_admin_abort_all(struct brisk_nvme_ctrlr *ctrlr);

#endif
