/*
 * The polled, lock-free NVMe driver (lib/nvme): what its users call.
 *
 * A controller is found by a transport ID and attached (brisk_nvme_probe or
 * brisk_nvme_connect). Bring-up runs as a non-blocking state machine; the
 * synchronous calls here drive it to the end. The admin queue belongs to the
 * controller: whoever attached it polls brisk_nvme_ctrlr_process_admin_completions
 * (completions of admin commands, async events, keep-alive, timeouts).
 * I/O queue pairs are allocated by the caller, and each is used by one thread
 * at a time: nothing on the I/O path takes a lock. Commands complete only from
 * brisk_nvme_qpair_process_completions on the qpair's thread, never inside the
 * submitting call, on error paths too.
 *
 * Functions return 0 or a negative errno: -EINVAL (bad argument, range),
 * -ENOMEM (no free request on the qpair: poll completions and retry),
 * -ENXIO (controller failed or removed), -ENOTSUP (the controller lacks the
 * command).
 */
#ifndef BRISK_NVME_H
#define BRISK_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <brisk/nvme_spec.h>

#ifdef __cplusplus
extern "C" {
#endif

struct brisk_nvme_ctrlr;
struct brisk_nvme_ns;
struct brisk_nvme_qpair;

/* ---- Transport IDs ---- */
enum brisk_nvme_transport_type {
	BRISK_NVME_TRANSPORT_PCIE = 256, /* the values SPDK uses, so saved IDs compare */
	BRISK_NVME_TRANSPORT_TCP = 3,
};

#define BRISK_NVMF_TRADDR_MAX_LEN 256
#define BRISK_NVMF_TRSVCID_MAX_LEN 32
#define BRISK_NVMF_NQN_MAX_LEN 223
#define BRISK_NVMF_DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"

struct brisk_nvme_transport_id {
	enum brisk_nvme_transport_type trtype;
	enum brisk_nvmf_adrfam adrfam;
	char traddr[BRISK_NVMF_TRADDR_MAX_LEN + 1];   /* PCI address "0000:00:04.0" or host */
	char trsvcid[BRISK_NVMF_TRSVCID_MAX_LEN + 1]; /* port */
	char subnqn[BRISK_NVMF_NQN_MAX_LEN + 1];
};

/* Parses "trtype:PCIe traddr:0000:00:04.0" or "trtype:TCP adrfam:IPv4
 * traddr:127.0.0.1 trsvcid:4420 subnqn:nqn...": key:value or key=value pairs
 * separated by spaces, keys and transport names case-insensitive (fio's
 * "trtype=PCIe traddr=0000.00.04.0" too). Fields not given are left as they
 * are. 0, or -EINVAL with an error naming the bad field. */
int brisk_nvme_transport_id_parse(struct brisk_nvme_transport_id *trid, const char *str);
/* "PCIe" or "TCP"; NULL for an unknown type. */
const char *brisk_nvme_transport_id_trtype_str(enum brisk_nvme_transport_type trtype);
/* Writes the string form above; 0 or -ENOSPC. */
int brisk_nvme_transport_id_fmt(char *buf, size_t len, const struct brisk_nvme_transport_id *trid);
/* 0 when both name the same controller (type, address, port, subsystem). */
int brisk_nvme_transport_id_compare(const struct brisk_nvme_transport_id *a,
				    const struct brisk_nvme_transport_id *b);

/* ---- Controller options ---- */
struct brisk_nvme_ctrlr_opts {
	uint32_t num_io_queues;        /* asked of Set Features; default 1024 */
	uint32_t io_queue_size;        /* entries per I/O queue; default 256, capped by CAP.MQES */
	uint32_t io_queue_requests;    /* requests per qpair (queued past the SQ); default 512 */
	uint32_t admin_queue_size;     /* default 32 */
	uint32_t keep_alive_timeout_ms; /* 0 = none (PCIe); default 10000 over fabrics */
	uint32_t command_timeout_us;   /* 0 = no timeouts; default 0 (callers enable) */
	bool header_digest;            /* TCP */
	bool data_digest;              /* TCP */
	/* Fabrics: empty = nqn.2014-08.org.nvmexpress:uuid:<this process's host
	 * ID>. The host ID sent is the UUID of a uuid host NQN, else the
	 * process's (made once): stable per host NQN, as reservations need. */
	char hostnqn[BRISK_NVMF_NQN_MAX_LEN + 1];
};
void brisk_nvme_ctrlr_get_default_opts(struct brisk_nvme_ctrlr_opts *opts);

/* ---- Probe and attach ---- */
/* Return true to attach this controller (opts may be changed first). */
typedef bool (*brisk_nvme_probe_cb)(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
				    struct brisk_nvme_ctrlr_opts *opts);
typedef void (*brisk_nvme_attach_cb)(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
				     struct brisk_nvme_ctrlr *ctrlr,
				     const struct brisk_nvme_ctrlr_opts *opts);
/* A controller attached earlier has gone (hot removal noticed by probe). */
typedef void (*brisk_nvme_remove_cb)(void *cb_ctx, struct brisk_nvme_ctrlr *ctrlr);

/* Finds controllers: with trid NULL or of type PCIe and an empty traddr, every
 * allowed NVMe PCI device; otherwise the one named. Calls probe_cb for each
 * controller not attached yet, brings up those it accepts and calls attach_cb
 * for each before returning; remove_cb for attached ones that have gone.
 * 0 when the probe ran (even if nothing attached), -errno otherwise. */
int brisk_nvme_probe(const struct brisk_nvme_transport_id *trid, void *cb_ctx,
		     brisk_nvme_probe_cb probe_cb, brisk_nvme_attach_cb attach_cb,
		     brisk_nvme_remove_cb remove_cb);

/* The same without blocking: start, then poll until it returns 0 (done) or a
 * negative errno; -EAGAIN while bring-up goes on. The context is freed when
 * poll returns anything but -EAGAIN. */
struct brisk_nvme_probe_ctx;
struct brisk_nvme_probe_ctx *brisk_nvme_probe_async(const struct brisk_nvme_transport_id *trid,
						    void *cb_ctx, brisk_nvme_probe_cb probe_cb,
						    brisk_nvme_attach_cb attach_cb,
						    brisk_nvme_remove_cb remove_cb);
int brisk_nvme_probe_poll_async(struct brisk_nvme_probe_ctx *probe_ctx);

/* Attaches the one controller trid names (opts NULL = defaults): the
 * controller, or NULL with an error logged. */
struct brisk_nvme_ctrlr *brisk_nvme_connect(const struct brisk_nvme_transport_id *trid,
					    const struct brisk_nvme_ctrlr_opts *opts);
/* Shuts the controller down (shutdown notification), frees it and its qpairs
 * (the caller must have freed its I/O qpairs, or they are freed with it). */
int brisk_nvme_detach(struct brisk_nvme_ctrlr *ctrlr);

/* Multi-process (env.h's primary/secondary model, same shm id): the primary
 * shares a PCIe controller it attached; a secondary's brisk_nvme_connect to
 * the same traddr then gets a view of it (BAR0 mapped there, namespaces as
 * the primary found them, no admin queue of its own) whose I/O qpairs the
 * primary creates and deletes from its admin polling. The primary deletes
 * the queues of a secondary that exits or is killed. A secondary's admin
 * commands run on the primary's admin queue (those that would change the
 * controller under the primary are refused: -EPERM); after a reset by the
 * primary a secondary's qpair completes its commands with
 * ABORTED_SQ_DELETION (resubmit them) and gets its queues back by itself.
 * 0, -EINVAL (not a primary), -ENOTSUP (not PCIe), -EALREADY, -ENOMEM. */
int brisk_nvme_ctrlr_share(struct brisk_nvme_ctrlr *ctrlr);
/* Primary: I/O queues on the controller that secondaries own now. */
uint32_t brisk_nvme_ctrlr_get_num_secondary_qpairs(struct brisk_nvme_ctrlr *ctrlr);
bool brisk_nvme_ctrlr_is_secondary(struct brisk_nvme_ctrlr *ctrlr);

/* ---- Controller ---- */
const struct brisk_nvme_transport_id *brisk_nvme_ctrlr_get_transport_id(struct brisk_nvme_ctrlr *ctrlr);
/* Identify Controller data (struct brisk_nvme_ctrlr_data in nvme_spec.h). */
const struct brisk_nvme_ctrlr_data *brisk_nvme_ctrlr_get_data(struct brisk_nvme_ctrlr *ctrlr);
uint64_t brisk_nvme_ctrlr_get_regs_cap(struct brisk_nvme_ctrlr *ctrlr);
uint32_t brisk_nvme_ctrlr_get_regs_vs(struct brisk_nvme_ctrlr *ctrlr);
uint32_t brisk_nvme_ctrlr_get_regs_csts(struct brisk_nvme_ctrlr *ctrlr);
/* Bytes one command may transfer (MDTS); larger requests are split. */
uint32_t brisk_nvme_ctrlr_get_max_xfer_size(struct brisk_nvme_ctrlr *ctrlr);
uint32_t brisk_nvme_ctrlr_get_num_ns(struct brisk_nvme_ctrlr *ctrlr); /* NN */
/* Active namespaces: 0 when there is none / no next. */
uint32_t brisk_nvme_ctrlr_get_first_active_ns(struct brisk_nvme_ctrlr *ctrlr);
uint32_t brisk_nvme_ctrlr_get_next_active_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t prev_nsid);
bool brisk_nvme_ctrlr_is_active_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid);
/* NULL when nsid is 0 or above NN. */
struct brisk_nvme_ns *brisk_nvme_ctrlr_get_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid);
bool brisk_nvme_ctrlr_is_failed(struct brisk_nvme_ctrlr *ctrlr);
bool brisk_nvme_ctrlr_is_removed(struct brisk_nvme_ctrlr *ctrlr);

/* Completes admin commands and handles async events, keep-alive and timeouts.
 * Number of completions, or -ENXIO once the controller has failed. */
int32_t brisk_nvme_ctrlr_process_admin_completions(struct brisk_nvme_ctrlr *ctrlr);

typedef void (*brisk_nvme_cmd_cb)(void *cb_arg, const struct brisk_nvme_cpl *cpl);
/* Asynchronous events: called with the AER completion (cdw0 holds type, info
 * and log page). Namespace attribute changes re-scan the namespaces first. */
typedef void (*brisk_nvme_aer_cb)(void *aer_cb_arg, const struct brisk_nvme_cpl *cpl);
void brisk_nvme_ctrlr_register_aer_callback(struct brisk_nvme_ctrlr *ctrlr,
					    brisk_nvme_aer_cb aer_cb, void *aer_cb_arg);
/* A command ran past opts.command_timeout_us: qpair is NULL for an admin
 * command. Without a callback the driver aborts the command, and resets the
 * controller when the abort fails. */
typedef void (*brisk_nvme_timeout_cb)(void *cb_arg, struct brisk_nvme_ctrlr *ctrlr,
				      struct brisk_nvme_qpair *qpair, uint16_t cid);
void brisk_nvme_ctrlr_register_timeout_callback(struct brisk_nvme_ctrlr *ctrlr,
						uint64_t timeout_us,
						brisk_nvme_timeout_cb cb_fn, void *cb_arg);

/* Resets the controller and brings it up again; every qpair is re-created
 * and its outstanding commands complete with ABORTED_SQ_DELETION (the
 * caller may resubmit). Synchronous; 0 or -ENXIO (now failed). */
int brisk_nvme_ctrlr_reset(struct brisk_nvme_ctrlr *ctrlr);
/* The same without waiting for the controller (over fabrics a reconnect
 * never holds the thread: connections, ICReq and Connect are polled steps;
 * other transports reset in the first poll). Start: 0 with *ctx set, or
 * -EINVAL, -ENOTSUP (secondary), -ENXIO (failed for good), -ENOMEM. Then
 * poll on the same thread until it returns 0 or -ENXIO (now failed);
 * -EAGAIN while going on. ctx is freed when poll returns anything else;
 * cancel frees it at once with the controller failed. */
struct brisk_nvme_reset_ctx;
int brisk_nvme_ctrlr_reset_async(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_reset_ctx **ctx);
int brisk_nvme_ctrlr_reset_poll_async(struct brisk_nvme_reset_ctx *ctx);
void brisk_nvme_ctrlr_reset_cancel_async(struct brisk_nvme_reset_ctx *ctx);
/* Marks the controller failed: every outstanding and later command completes
 * with an error. */
void brisk_nvme_ctrlr_fail(struct brisk_nvme_ctrlr *ctrlr);

/* Admin commands (completed through process_admin_completions). */
int brisk_nvme_ctrlr_cmd_admin_raw(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_cmd *cmd,
				   void *buf, uint32_t len, brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int brisk_nvme_ctrlr_cmd_get_log_page(struct brisk_nvme_ctrlr *ctrlr, uint8_t log_page,
				      uint32_t nsid, void *payload, uint32_t payload_size,
				      uint64_t offset, brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int brisk_nvme_ctrlr_cmd_get_feature(struct brisk_nvme_ctrlr *ctrlr, uint8_t feature,
				     uint32_t cdw11, void *payload, uint32_t payload_size,
				     brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int brisk_nvme_ctrlr_cmd_set_feature(struct brisk_nvme_ctrlr *ctrlr, uint8_t feature,
				     uint32_t cdw11, uint32_t cdw12, void *payload,
				     uint32_t payload_size, brisk_nvme_cmd_cb cb_fn, void *cb_arg);
/* Aborts command cid of qpair (NULL = admin queue). */
int brisk_nvme_ctrlr_cmd_abort(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			       uint16_t cid, brisk_nvme_cmd_cb cb_fn, void *cb_arg);
/* Format NVM of nsid (BRISK_NVME_GLOBAL_NS_TAG for all) with LBA format lbaf;
 * synchronous, re-reads the namespace data. */
int brisk_nvme_ctrlr_format(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid, uint32_t lbaf,
			    uint32_t ses);
#define BRISK_NVME_GLOBAL_NS_TAG 0xffffffffu

/* ---- I/O queue pairs ---- */
struct brisk_nvme_io_qpair_opts {
	uint32_t io_queue_size;     /* SQ/CQ entries; 0 = the controller's opts */
	uint32_t io_queue_requests; /* requests, queued in software past the SQ */
};
void brisk_nvme_ctrlr_get_default_io_qpair_opts(struct brisk_nvme_ctrlr *ctrlr,
					       struct brisk_nvme_io_qpair_opts *opts);
/* NULL with an error logged (no queue left, no memory, controller failed). */
struct brisk_nvme_qpair *brisk_nvme_ctrlr_alloc_io_qpair(struct brisk_nvme_ctrlr *ctrlr,
							 const struct brisk_nvme_io_qpair_opts *opts);
/* Deletes the queues; outstanding commands complete with ABORTED_SQ_DELETION. */
int brisk_nvme_ctrlr_free_io_qpair(struct brisk_nvme_qpair *qpair);
/* Completes up to max_completions commands (0 = as many as there are), rings
 * the doorbells of what was queued meanwhile. Number completed, or -ENXIO
 * when the controller has failed (its commands then complete with errors). */
int32_t brisk_nvme_qpair_process_completions(struct brisk_nvme_qpair *qpair,
					     uint32_t max_completions);
/* Commands submitted and not yet completed. */
uint32_t brisk_nvme_qpair_get_num_outstanding(struct brisk_nvme_qpair *qpair);

/* ---- Namespaces ---- */
uint32_t brisk_nvme_ns_get_id(struct brisk_nvme_ns *ns);
bool brisk_nvme_ns_is_active(struct brisk_nvme_ns *ns);
struct brisk_nvme_ctrlr *brisk_nvme_ns_get_ctrlr(struct brisk_nvme_ns *ns);
/* Identify Namespace data (struct brisk_nvme_ns_data in nvme_spec.h). */
const struct brisk_nvme_ns_data *brisk_nvme_ns_get_data(struct brisk_nvme_ns *ns);
uint32_t brisk_nvme_ns_get_sector_size(struct brisk_nvme_ns *ns);   /* data bytes per LBA */
uint64_t brisk_nvme_ns_get_num_sectors(struct brisk_nvme_ns *ns);
uint64_t brisk_nvme_ns_get_size(struct brisk_nvme_ns *ns);          /* bytes */
uint32_t brisk_nvme_ns_get_md_size(struct brisk_nvme_ns *ns);       /* metadata bytes per LBA */
/* In sectors; 0 = none. I/O crossing it is split by the driver. */
uint32_t brisk_nvme_ns_get_optimal_io_boundary(struct brisk_nvme_ns *ns);
/* The namespace's UUID (from the descriptor list) as 16 bytes, or NULL. */
const uint8_t *brisk_nvme_ns_get_uuid(struct brisk_nvme_ns *ns);
const uint8_t *brisk_nvme_ns_get_nguid(struct brisk_nvme_ns *ns); /* 16 bytes or NULL */
uint64_t brisk_nvme_ns_get_eui64(struct brisk_nvme_ns *ns);       /* 0 = none */
/* Supported optional commands, from ONCS and VWC. */
bool brisk_nvme_ns_supports_compare(struct brisk_nvme_ns *ns);
bool brisk_nvme_ns_supports_write_zeroes(struct brisk_nvme_ns *ns);
bool brisk_nvme_ns_supports_dsm(struct brisk_nvme_ns *ns);
bool brisk_nvme_ns_has_volatile_write_cache(struct brisk_nvme_ns *ns);

/* I/O flags (cdw12 bits). */
#define BRISK_NVME_IO_FLAGS_FUA (1u << 30)
#define BRISK_NVME_IO_FLAGS_LIMITED_RETRY (1u << 31)
/* Fused Compare-and-Write (as SPDK's SPDK_NVME_IO_FLAGS_FUSE_*): a compare
 * with FUSE_FIRST then, right after on the same qpair, a write with
 * FUSE_SECOND over the same LBAs; each completes with its own status. Not
 * in cdw12 (stripped into the command's FUSE field); refused (-ENOTSUP) when
 * Identify's FUSES bit 0 is clear, and (-EINVAL) on another opcode or when
 * the transfer would be split. */
#define BRISK_NVME_IO_FLAGS_FUSE_FIRST (1u << 0)
#define BRISK_NVME_IO_FLAGS_FUSE_SECOND (1u << 1)
#define BRISK_NVME_IO_FLAGS_FUSE_MASK (BRISK_NVME_IO_FLAGS_FUSE_FIRST | BRISK_NVME_IO_FLAGS_FUSE_SECOND)

/* Gather/scatter lists are walked through callbacks, as the bdev layer's
 * iovecs are: reset to a byte offset, then next segment (address, length). */
typedef void (*brisk_nvme_req_reset_sgl_cb)(void *cb_arg, uint32_t offset);
typedef int (*brisk_nvme_req_next_sge_cb)(void *cb_arg, void **address, uint32_t *length);

/* Data buffers must be DMA-able (brisk_dma_malloc or registered memory). */
int brisk_nvme_ns_cmd_read(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			   void *buf, uint64_t lba, uint32_t lba_count,
			   brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags);
int brisk_nvme_ns_cmd_write(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			    void *buf, uint64_t lba, uint32_t lba_count,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags);
int brisk_nvme_ns_cmd_readv(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			    uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn, void *cb_arg,
			    uint32_t io_flags, brisk_nvme_req_reset_sgl_cb reset_sgl_fn,
			    brisk_nvme_req_next_sge_cb next_sge_fn);
int brisk_nvme_ns_cmd_writev(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			     uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn, void *cb_arg,
			     uint32_t io_flags, brisk_nvme_req_reset_sgl_cb reset_sgl_fn,
			     brisk_nvme_req_next_sge_cb next_sge_fn);
int brisk_nvme_ns_cmd_compare(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			      void *buf, uint64_t lba, uint32_t lba_count,
			      brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags);
int brisk_nvme_ns_cmd_comparev(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			       uint64_t lba, uint32_t lba_count, brisk_nvme_cmd_cb cb_fn,
			       void *cb_arg, uint32_t io_flags,
			       brisk_nvme_req_reset_sgl_cb reset_sgl_fn,
			       brisk_nvme_req_next_sge_cb next_sge_fn);
int brisk_nvme_ns_cmd_write_zeroes(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
				   uint64_t lba, uint32_t lba_count,
				   brisk_nvme_cmd_cb cb_fn, void *cb_arg, uint32_t io_flags);
/* Dataset Management over num_ranges ranges (type: BRISK_NVME_DSM_ATTR_*). */
int brisk_nvme_ns_cmd_dataset_management(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
					 uint32_t type, const struct brisk_nvme_dsm_range *ranges,
					 uint16_t num_ranges, brisk_nvme_cmd_cb cb_fn, void *cb_arg);
int brisk_nvme_ns_cmd_flush(struct brisk_nvme_ns *ns, struct brisk_nvme_qpair *qpair,
			    brisk_nvme_cmd_cb cb_fn, void *cb_arg);
/* Raw I/O command on qpair (cmd->nsid as given; cid set by the driver). */
int brisk_nvme_ctrlr_cmd_io_raw(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
				struct brisk_nvme_cmd *cmd, void *buf, uint32_t len,
				brisk_nvme_cmd_cb cb_fn, void *cb_arg);

/* ---- Completions ---- */
static inline bool brisk_nvme_cpl_is_error(const struct brisk_nvme_cpl *cpl)
{
	return cpl->status.sc != BRISK_NVME_SC_SUCCESS || cpl->status.sct != BRISK_NVME_SCT_GENERIC;
}
/* "SUCCESS", "INVALID FIELD", "ABORTED - SQ DELETION"...; never NULL. */
const char *brisk_nvme_cpl_get_status_string(const struct brisk_nvme_status *status);

/* ---- Namespace Management and Attachment (OACS bit 3) ----
 * Synchronous (the admin queue is driven until done), then the active
 * namespace list is re-scanned. -ENOTSUP without OACS bit 3; controller
 * errors: -ENOTSUP (Invalid Opcode: the controller lacks this one of the
 * two commands), -EEXIST (already attached), -ENOENT (no such or not attached
 * namespace), -ENOSPC (no capacity or identifier left), -EINVAL (a field or
 * the controller list refused), -EIO (other; the status is logged by name),
 * -ENXIO (controller failed). */
/* Creates a namespace from nsdata's NSZE, NCAP and FLBAS (other fields as
 * the spec allows; zero them otherwise); *nsid gets the new identifier. The
 * namespace is not attached. */
int brisk_nvme_ctrlr_create_ns(struct brisk_nvme_ctrlr *ctrlr,
			       const struct brisk_nvme_ns_data *nsdata, uint32_t *nsid);
/* Deletes namespace nsid (BRISK_NVME_GLOBAL_NS_TAG: all), attached or not. */
int brisk_nvme_ctrlr_delete_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid);
/* Attaches / detaches nsid to / from this controller (its CNTLID). */
int brisk_nvme_ctrlr_attach_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid);
int brisk_nvme_ctrlr_detach_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid);

#ifdef __cplusplus
}
#endif
#endif
