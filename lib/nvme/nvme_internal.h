/*
 * lib/nvme's private structures: controllers, namespaces, queue pairs,
 * requests and trackers, the transport interface, and the functions the
 * driver's files share. Nothing here is visible to users of brisk/nvme.h.
 *
 * Queue pairs of the memory-queue transports (PCIe, and the test fake that
 * emulates a controller's registers) share one implementation in qpair.c:
 * submission and completion rings in DMA memory, one tracker per command
 * identifier, a doorbell written once per batch. A transport supplies
 * register access, queue memory and doorbells through its ops table.
 */
#ifndef BRISK_NVME_INTERNAL_H
#define BRISK_NVME_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <brisk/log.h>
#include <brisk/nvme.h>
#include <brisk/queue.h>

/* Memory page size the driver programs (CC.MPS = 0): PRP entries cover 4 KiB. */
#define NVME_PAGE_SIZE 4096u
#define NVME_PAGE_MASK (NVME_PAGE_SIZE - 1)
/* Each tracker owns one 4 KiB page for its PRP list or SGL segment. */
#define NVME_MAX_PRP_LIST_ENTRIES (NVME_PAGE_SIZE / sizeof(uint64_t))
#define NVME_MAX_SGL_DESCRIPTORS (NVME_PAGE_SIZE / sizeof(struct brisk_nvme_sgl_descriptor))
/* Largest transfer one PRP list describes, whatever MDTS says. */
#define NVME_MAX_XFER_SIZE (NVME_MAX_PRP_LIST_ENTRIES * NVME_PAGE_SIZE)
#define NVME_MAX_ASYNC_EVENTS 4
#define NVME_MAX_IO_QUEUES 1024
#define NVME_MAX_NS 65536u
#define NVME_ADMIN_SYNC_TIMEOUT_US (10u * 1000 * 1000)
/* How often admin polling reads CSTS to notice a fatal status or removal. */
#define NVME_HEALTH_CHECK_US 10000u
#define NVME_TIMEOUT_CHECK_US 1000u
/* Polls of a qpair with commands outstanding and nothing completing after
 * which it reads CSTS itself: a removed or fatal controller is found even
 * when nobody polls the admin queue and no timeout is set. */
#define NVME_IDLE_POLLS_HEALTH_CHECK 65536u
/* Write Zeroes and reads carry a 16-bit 0's based block count. */
#define NVME_MAX_BLOCKS_PER_CMD 65536u

/* A transport type lib/nvme registers only for its own tests. */
#define NVME_TRANSPORT_FAKE ((enum brisk_nvme_transport_type)0xfa4e)

enum nvme_payload_type {
	NVME_PAYLOAD_NONE = 0,
	NVME_PAYLOAD_CONTIG,
	NVME_PAYLOAD_SGL,
	NVME_PAYLOAD_INLINE, /* up to 4 KiB copied into the tracker's page (DSM ranges) */
};

struct nvme_request {
	struct brisk_nvme_cmd cmd;
	uint8_t payload_type;
	bool timed_out;
	bool user_copy;          /* buf is a malloc'd copy of the caller's data, freed with the request */
	uint16_t num_children;   /* of a split parent still outstanding */
	uint32_t payload_offset; /* of this request's bytes within the payload */
	uint32_t payload_size;
	void *buf;               /* CONTIG payload start */
	brisk_nvme_req_reset_sgl_cb reset_sgl_fn;
	brisk_nvme_req_next_sge_cb next_sge_fn;
	brisk_nvme_cmd_cb cb_fn;
	void *cb_arg;            /* also the sgl callbacks' argument */
	struct brisk_nvme_qpair *qpair;
	struct nvme_request *parent;
	struct brisk_nvme_cpl parent_cpl; /* the first child error, else success */
	uint64_t submit_tick;
	struct brisk_nvme_cpl deferred_cpl; /* status for a request completed later */
	STAILQ_ENTRY(nvme_request) link;
};
STAILQ_HEAD(nvme_request_list, nvme_request);

struct nvme_tracker {
	struct nvme_request *req;
	uint16_t cid;
	void *list;              /* PRP list / SGL segment: one 4 KiB page */
	uint64_t list_iova;
	TAILQ_ENTRY(nvme_tracker) link; /* free list, or outstanding in submit order */
};
TAILQ_HEAD(nvme_tracker_list, nvme_tracker);

struct brisk_nvme_qpair {
	struct brisk_nvme_ctrlr *ctrlr;
	uint16_t id;                   /* 0 = admin */
	uint16_t num_entries;          /* SQ and CQ */
	uint16_t sq_tail;
	uint16_t sq_head;              /* from the controller's SQHD */
	uint16_t cq_head;
	uint16_t sq_tail_rung;         /* last tail written to the doorbell */
	uint8_t phase;
	bool in_completion;            /* process_completions is running */
	bool is_enabled;               /* queues exist on the controller */
	struct brisk_nvme_cmd *sq;
	struct brisk_nvme_cpl *cq;
	uint64_t sq_iova;
	uint64_t cq_iova;
	volatile uint32_t *sq_tdbl;    /* MMIO doorbells; NULL when the transport rings */
	volatile uint32_t *cq_hdbl;

	struct nvme_tracker *trackers;
	uint32_t num_trackers;
	struct nvme_tracker_list free_tr;
	struct nvme_tracker_list outstanding_tr;
	uint32_t num_outstanding;       /* commands on the controller */
	void *list_mem;

	struct nvme_request *reqs;
	uint32_t num_requests;
	struct nvme_request_list free_req;
	struct nvme_request_list queued_req;   /* software queue: SQ was full */
	struct nvme_request_list deferred_req; /* completed at the next poll (status set) */
	uint32_t num_queued;
	uint32_t num_deferred;

	uint64_t next_timeout_check;
	uint32_t idle_polls;
	void *transport_ctx;
	/* A secondary's qpair (mp.c): the primary's shared reset count, and its
	 * value when the queues were created; NULL elsewhere. */
	const uint32_t *mp_resets;
	uint32_t mp_epoch;
	TAILQ_ENTRY(brisk_nvme_qpair) link;
};

struct brisk_nvme_ns {
	struct brisk_nvme_ctrlr *ctrlr;
	uint32_t id;
	bool active;
	bool has_uuid;
	bool has_nguid;
	uint32_t sector_size;
	uint32_t extended_lba_size; /* data plus interleaved metadata */
	uint32_t md_size;
	uint64_t num_sectors;
	uint32_t sectors_per_max_io;
	uint32_t optimal_io_boundary;
	uint64_t eui64;
	uint8_t uuid[16];
	uint8_t nguid[16];
	struct brisk_nvme_ns_data nsdata;
};

enum nvme_ctrlr_state {
	NVME_CTRLR_STATE_INIT,
	NVME_CTRLR_STATE_DISABLE_WAIT_READY_1,
	NVME_CTRLR_STATE_DISABLE,
	NVME_CTRLR_STATE_DISABLE_WAIT_READY_0,
	NVME_CTRLR_STATE_ENABLE_ADMIN_QUEUE,
	NVME_CTRLR_STATE_ENABLE,
	NVME_CTRLR_STATE_ENABLE_WAIT_READY_1,
	NVME_CTRLR_STATE_IDENTIFY,
	NVME_CTRLR_STATE_SET_NUM_QUEUES,
	NVME_CTRLR_STATE_SCAN_NS,
	NVME_CTRLR_STATE_CONFIGURE_AER,
	NVME_CTRLR_STATE_SET_KEEP_ALIVE,
	NVME_CTRLR_STATE_READY,
	NVME_CTRLR_STATE_ERROR,
	NVME_CTRLR_STATE_WAIT_ADMIN, /* an admin command of the state before is in flight */
};

struct nvme_transport_ops;
struct nvme_ns_scan;

struct brisk_nvme_ctrlr {
	struct brisk_nvme_transport_id trid;
	struct brisk_nvme_ctrlr_opts opts;
	const struct nvme_transport_ops *ops;
	void *dev;                        /* transport's device */
	bool va_is_iova;                  /* the fake: addresses given as they are */

	enum nvme_ctrlr_state state;
	/* Fabrics: the transport started the admin queue's connection at
	 * construction; bring-up polls it (qpair_connect_poll) before the first
	 * property is read, so attaching never waits for the controller. */
	bool admin_connecting;
	enum nvme_ctrlr_state next_state; /* after WAIT_ADMIN */
	uint64_t state_deadline;          /* ticks; 0 = none */
	int init_rc;
	bool admin_done;
	struct brisk_nvme_cpl admin_cpl;
	/* Takes the result of the admin command a state sent: 0 or -errno. */
	int (*init_cpl_fn)(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cpl *cpl);

	union brisk_nvme_cap_register cap;
	union brisk_nvme_vs_register vs;
	struct brisk_nvme_ctrlr_data cdata;
	void *scratch;                    /* 4 KiB DMA buffer for identify/logs */
	uint64_t scratch_iova;
	uint32_t max_xfer_size;
	uint32_t max_io_queues;           /* granted by Set Features */
	uint32_t max_queue_entries;
	bool sgl_supported;
	bool sgl_dword_aligned;
	uint8_t qid_used[NVME_MAX_IO_QUEUES / 8 + 1];
	uint32_t qid_last; /* last queue ID handed out: allocation is next-fit */

	struct brisk_nvme_qpair *adminq;
	TAILQ_HEAD(, brisk_nvme_qpair) io_qpairs;

	uint32_t num_ns;                  /* NN, capped at NVME_MAX_NS */
	struct brisk_nvme_ns **ns;        /* by nsid - 1, created on demand */
	uint32_t *active_ns;              /* sorted */
	uint32_t num_active_ns;
	struct nvme_ns_scan *scan;

	pthread_mutex_t lock;             /* admin queue and management state */
	bool failed;                      /* read by qpair threads: atomic access */
	bool removed;
	bool remove_reported;             /* remove_cb called by a probe */
	bool resetting;
	bool needs_reset;
	bool is_shutdown;

	/* Multi-process (mp.c): the primary's sharing state, or the secondary's
	 * view of its primary; NULL in a single-process use. */
	void *mp;
	bool mp_secondary;                /* no admin queue here: the primary's */

	brisk_nvme_aer_cb aer_cb;
	void *aer_cb_arg;
	uint32_t num_aers;
	brisk_nvme_timeout_cb timeout_cb;
	void *timeout_cb_arg;
	uint64_t timeout_ticks;           /* 0 = no command timeouts */
	uint64_t next_health_check;
	uint64_t next_keep_alive;
	uint64_t keep_alive_ticks;
	void *aer_log;                    /* DMA buffer for the changed namespace list */
	struct brisk_nvme_cpl aer_cpl;    /* the event being handled */

	TAILQ_ENTRY(brisk_nvme_ctrlr) link;
};

/* ---- Transports ---- */
struct brisk_nvme_probe_ctx;
struct nvme_transport_ops {
	const char *name;
	enum brisk_nvme_transport_type trtype;
	/* Discovery: calls nvme_probe_found for each controller trid covers. */
	int (*scan)(struct brisk_nvme_probe_ctx *ctx, const struct brisk_nvme_transport_id *trid);
	/* A controller object for trid (dev from scan, may be NULL); NULL on error. */
	struct brisk_nvme_ctrlr *(*ctrlr_construct)(const struct brisk_nvme_transport_id *trid,
						    const struct brisk_nvme_ctrlr_opts *opts, void *dev);
	void (*ctrlr_destruct)(struct brisk_nvme_ctrlr *ctrlr);
	void (*dev_free)(void *dev); /* a scanned device nobody attached */
	uint32_t (*get_reg_4)(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset);
	void (*set_reg_4)(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint32_t value);
	uint64_t (*get_reg_8)(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset);
	void (*set_reg_8)(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint64_t value);
	bool (*is_removed)(struct brisk_nvme_ctrlr *ctrlr);
	/* Largest queue the transport's memory allows (physically contiguous). */
	uint32_t (*max_queue_entries)(struct brisk_nvme_ctrlr *ctrlr);
	/* Points qpair->sq_tdbl/cq_hdbl at MMIO doorbells, or leaves them NULL. */
	void (*qpair_init_doorbells)(struct brisk_nvme_qpair *qpair);
	void (*ring_sq_doorbell)(struct brisk_nvme_qpair *qpair, uint16_t tail);
	void (*ring_cq_doorbell)(struct brisk_nvme_qpair *qpair, uint16_t head);
	/* Fabrics (optional): an I/O qpair is connected instead of created
	 * with Create I/O CQ/SQ; 0 or -errno. */
	int (*qpair_connect)(struct brisk_nvme_qpair *qpair);
	/* Optional: the transport's state of a qpair, before its memory goes. */
	void (*qpair_destroy)(struct brisk_nvme_qpair *qpair);
	/* Optional: at each poll before the CQ is reaped (a socket's input);
	 * -errno fails the controller. */
	int (*qpair_poll)(struct brisk_nvme_qpair *qpair);
	/* Fabrics (optional): a reset drops every connection and connects the
	 * admin queue again (the I/O qpairs follow through qpair_connect); this
	 * also revives a controller failed by a lost connection. 0 or -errno. */
	int (*ctrlr_reconnect)(struct brisk_nvme_ctrlr *ctrlr);
	/* Fabrics (optional, all three or none): the same without waiting for
	 * the controller. ctrlr_reconnect_start starts the admin queue's
	 * connection, qpair_connect_start an I/O qpair's; qpair_connect_poll
	 * (admin or I/O qpair) returns -EAGAIN until 0 or -errno. */
	int (*ctrlr_reconnect_start)(struct brisk_nvme_ctrlr *ctrlr);
	int (*qpair_connect_start)(struct brisk_nvme_qpair *qpair);
	int (*qpair_connect_poll)(struct brisk_nvme_qpair *qpair);
};

void nvme_transport_register(const struct nvme_transport_ops *ops);
const struct nvme_transport_ops *nvme_transport_get(enum brisk_nvme_transport_type trtype);
const struct nvme_transport_ops *nvme_transport_get_by_name(const char *name);
extern const struct nvme_transport_ops nvme_pcie_ops;
extern const struct nvme_transport_ops nvme_tcp_ops;
/* A secondary process's PCIe controller: BAR0 mapped, nothing else set up. */
struct brisk_nvme_ctrlr *nvme_pcie_ctrlr_construct_secondary(const struct brisk_nvme_transport_id *trid,
							     const struct brisk_nvme_ctrlr_opts *opts);
/* The primary's side of that: hands the VFIO device to secondaries asking. */
void nvme_pcie_ctrlr_serve_secondaries(struct brisk_nvme_ctrlr *ctrlr);

/* ---- Probe ---- */
void nvme_probe_found(struct brisk_nvme_probe_ctx *ctx, const struct brisk_nvme_transport_id *trid,
		      void *dev);
bool nvme_ctrlr_is_attached(const struct brisk_nvme_transport_id *trid);

/* ---- Controller ---- */
int nvme_ctrlr_construct(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_transport_id *trid,
			 const struct brisk_nvme_ctrlr_opts *opts, const struct nvme_transport_ops *ops);
void nvme_ctrlr_destruct(struct brisk_nvme_ctrlr *ctrlr);
/* One step of bring-up: -EAGAIN while going on, 0 when ready, -errno when failed. */
int nvme_ctrlr_process_init(struct brisk_nvme_ctrlr *ctrlr);
void nvme_ctrlr_start_init(struct brisk_nvme_ctrlr *ctrlr, bool from_reset);
int nvme_ctrlr_init_sync(struct brisk_nvme_ctrlr *ctrlr);
void nvme_ctrlr_shutdown(struct brisk_nvme_ctrlr *ctrlr);
void nvme_ctrlr_set_failed(struct brisk_nvme_ctrlr *ctrlr, const char *why);
bool nvme_ctrlr_check_health(struct brisk_nvme_ctrlr *ctrlr);
int32_t nvme_ctrlr_poll_admin_locked(struct brisk_nvme_ctrlr *ctrlr);
void nvme_ctrlr_apply_cdata(struct brisk_nvme_ctrlr *ctrlr);
int nvme_ctrlr_create_io_queues(struct brisk_nvme_qpair *qpair);
/* I/O queue ids (controller lock held): id or -ENOSPC; free. */
int nvme_ctrlr_qid_alloc(struct brisk_nvme_ctrlr *ctrlr);
void nvme_ctrlr_qid_free(struct brisk_nvme_ctrlr *ctrlr, uint16_t qid);
void nvme_ctrlr_submit_aers(struct brisk_nvme_ctrlr *ctrlr);
int nvme_ctrlr_reset_locked(struct brisk_nvme_ctrlr *ctrlr);
/* A reset's start: every command on the controller completes with
 * ABORTED_SQ_DELETION at its qpair's next poll; I/O qpairs are disabled. */
void nvme_ctrlr_reset_abort_all(struct brisk_nvme_ctrlr *ctrlr);
uint64_t nvme_ticks_from_us(uint64_t us);

static inline bool nvme_ctrlr_is_failed(struct brisk_nvme_ctrlr *ctrlr)
{
	/* Relaxed: a flag set once by the admin thread; a qpair thread that
	 * sees it late completes a few more commands normally, which is right. */
	return __atomic_load_n(&ctrlr->failed, __ATOMIC_RELAXED);
}

static inline uint32_t nvme_reg_read4(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset)
{
	return ctrlr->ops->get_reg_4(ctrlr, offset);
}

/* ---- Namespaces ---- */
typedef void (*nvme_scan_done_fn)(struct brisk_nvme_ctrlr *ctrlr, void *ctx, int rc);
/* Reads the active namespace list and identifies each namespace, then calls
 * done (through admin completions). 0 or -errno (done not called). */
int nvme_ns_scan_start(struct brisk_nvme_ctrlr *ctrlr, nvme_scan_done_fn done, void *ctx);
void nvme_ns_free_all(struct brisk_nvme_ctrlr *ctrlr);
void nvme_ns_set_data(struct brisk_nvme_ns *ns, const struct brisk_nvme_ns_data *nsdata);
void nvme_ns_set_id_descs(struct brisk_nvme_ns *ns, const void *list);
struct brisk_nvme_ns *nvme_ns_get_or_create(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid);

/* ---- Queue pairs and requests ---- */
struct brisk_nvme_qpair *nvme_qpair_create(struct brisk_nvme_ctrlr *ctrlr, uint16_t id,
					   uint32_t num_entries, uint32_t num_requests);
void nvme_qpair_destroy(struct brisk_nvme_qpair *qpair);
void nvme_qpair_reset_rings(struct brisk_nvme_qpair *qpair);
struct nvme_request *nvme_request_alloc(struct brisk_nvme_qpair *qpair, brisk_nvme_cmd_cb cb_fn,
					void *cb_arg);
void nvme_request_free(struct nvme_request *req);
int nvme_qpair_submit_request(struct brisk_nvme_qpair *qpair, struct nvme_request *req);
int32_t nvme_qpair_process(struct brisk_nvme_qpair *qpair, uint32_t max);
/* Every command on the controller is completed at the next poll with sc
 * (trackers freed now): reset, queue deletion, failure. */
void nvme_qpair_abort_outstanding(struct brisk_nvme_qpair *qpair, uint16_t sct, uint16_t sc,
				  bool dnr);
void nvme_qpair_abort_queued(struct brisk_nvme_qpair *qpair, uint16_t sct, uint16_t sc);
void nvme_qpair_ring_sq(struct brisk_nvme_qpair *qpair);
void nvme_qpair_flush_sq(struct brisk_nvme_qpair *qpair);
void nvme_qpair_drain_cq(struct brisk_nvme_qpair *qpair);
void nvme_request_complete_with(struct nvme_request *req, uint16_t sct, uint16_t sc, bool dnr);
void nvme_qpair_check_timeouts(struct brisk_nvme_qpair *qpair);
struct nvme_tracker *nvme_qpair_find_tracker(struct brisk_nvme_qpair *qpair, uint16_t cid);

/* ---- Data pointers ---- */
uint64_t nvme_vtophys(struct brisk_nvme_ctrlr *ctrlr, const void *va, uint64_t *size);
int nvme_build_prps(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr);
int nvme_build_sgl(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr);
int nvme_build_data_pointer(struct brisk_nvme_qpair *qpair, struct nvme_tracker *tr);

/* ---- Admin ---- */
struct nvme_wait {
	bool done;
	struct brisk_nvme_cpl cpl;
};
void nvme_wait_cb(void *arg, const struct brisk_nvme_cpl *cpl);
/* Re-scans the namespaces and waits for it (takes the lock itself). */
int nvme_ns_rescan_sync(struct brisk_nvme_ctrlr *ctrlr);
/* Polls the admin queue (qpair NULL) or qpair until w is done. 0, -EIO
 * (command error, w->cpl holds it), -ENXIO (controller failed). */
int nvme_wait_for(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
		  struct nvme_wait *w);
int nvme_admin_submit(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cmd *cmd,
		      void *buf, uint32_t len, brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int nvme_admin_identify(struct brisk_nvme_ctrlr *ctrlr, uint8_t cns, uint32_t nsid, void *buf,
			brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int nvme_admin_create_io_cq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int nvme_admin_create_io_sq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int nvme_admin_delete_io_sq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int nvme_admin_delete_io_cq(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int nvme_admin_async_event_request(struct brisk_nvme_ctrlr *ctrlr);

#endif
