/*
 * lib/nvmf's private structures: the target, its TCP transport and
 * listeners, subsystems with namespaces and hosts, controllers, poll groups
 * and the connections (queue pairs) they poll, and the requests of a
 * connection.
 *
 * Ownership: the target, subsystems, namespaces, listeners and the
 * controller registry belong to the app thread (the one that ran
 * brisk_nvmf_tgt_init; RPCs run there). A connection and its requests belong
 * to its poll group's thread; a controller's admin state to the thread of its
 * admin connection. Connect goes to the app thread by message and back.
 */
#ifndef BRISK_NVMF_INTERNAL_H
#define BRISK_NVMF_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/uio.h>

#include <brisk/bdev.h>
#include <brisk/nvmf.h>
#include <brisk/nvmf_spec.h>
#include <brisk/readahead.h>
#include <brisk/thread.h>
#include <brisk/uuid.h>

#include "reservation.h"

#define NVMF_DEFAULT_MAX_SUBSYSTEMS 1024
#define NVMF_DEFAULT_MAX_NAMESPACES 32
#define NVMF_MAX_AER 4
/* Receive read-ahead per connection (tcp_recv.c): parts shorter than
 * NVMF_RX_DIRECT_MIN (headers, 4 KiB in-capsule data) come out of it; longer
 * ones are read straight into their request's buffer. */
#define NVMF_RX_AHEAD_SIZE (32u * 1024)
#define NVMF_RX_DIRECT_MIN (8u * 1024)
#define NVMF_ADMIN_ICD_SIZE 8192 /* in-capsule data the Linux host may put in admin capsules */
#define NVMF_SN_LEN 20
#define NVMF_MN_LEN 40
#define NVMF_DEFAULT_MN "Brisk bdev Controller"
#define NVMF_CNTLID_MIN 1
#define NVMF_CNTLID_MAX 0xffef
#define NVMF_RESV_LOG_MAX 16

struct nvmf_listen_addr {
	enum brisk_nvmf_adrfam adrfam;
	char traddr[BRISK_NVMF_TRADDR_LEN + 1];
	char trsvcid[BRISK_NVMF_TRSVCID_LEN + 1];
};

/* A listening socket, shared by every subsystem that lists its address. */
struct nvmf_listener {
	struct nvmf_listen_addr addr;
	int fd;
	uint32_t refs;
	struct brisk_interrupt *intr;
	TAILQ_ENTRY(nvmf_listener) link;
};

struct nvmf_host {
	char nqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	TAILQ_ENTRY(nvmf_host) link;
};

struct nvmf_subsys_listener {
	struct nvmf_listener *listener;
	uint8_t *ana_states; /* [subsys->max_nsid]: ANA state of each group through this port (ana.c) */
	TAILQ_ENTRY(nvmf_subsys_listener) link;
};

struct nvmf_subsystem;

struct nvmf_ns {
	uint32_t nsid;
	struct nvmf_subsystem *subsys;
	struct brisk_bdev_desc *desc;
	struct brisk_bdev *bdev;
	struct brisk_uuid uuid;
	uint8_t nguid[16];
	bool nguid_set;  /* given by the user (save_config writes it back) */
	bool uuid_set;
	uint32_t anagrpid; /* ANA group (ana.c): the NSID unless the user chose one */
	/* LBA ranges in flight, shared by every poll group (range_lock.c):
	 * writes and fused Compare-and-Writes, so a pair runs atomically. */
	pthread_mutex_t range_mutex;
	TAILQ_HEAD(, nvmf_req) range_writes;
	TAILQ_HEAD(, nvmf_req) range_caws;
	uint32_t range_users;  /* holders and deferred requests: keep ns allocated */
	bool removed;          /* freed by the last range user */
	/* connections' channels still waiting for I/O after removal */
	uint32_t chans_draining;
	struct brisk_poller *drain_poller;
	struct nvmf_resv resv; /* reservations (reservation.c, reservation_cmd.c) */
};

struct nvmf_ctrlr;

struct nvmf_subsystem {
	char nqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	enum brisk_nvmf_subtype subtype;
	char sn[NVMF_SN_LEN + 1];
	char mn[NVMF_MN_LEN + 1];
	uint32_t max_nsid;
	struct nvmf_ns **ns; /* [max_nsid], NULL = inactive */
	bool allow_any_host;
	bool ana_reporting;
	uint16_t min_cntlid, max_cntlid, next_cntlid;
	TAILQ_HEAD(, nvmf_host) hosts;
	TAILQ_HEAD(, nvmf_subsys_listener) listeners;
	TAILQ_HEAD(, nvmf_ctrlr) ctrlrs;
	TAILQ_ENTRY(nvmf_subsystem) link;
};

struct nvmf_transport {
	struct brisk_nvmf_transport_opts opts;
};

struct nvmf_poll_group;
struct nvmf_conn;

struct nvmf_ctrlr {
	uint16_t cntlid;
	struct nvmf_subsystem *subsys;
	char hostnqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	uint8_t hostid[16];
	struct brisk_thread *thread;   /* the admin connection's thread */
	struct nvmf_conn *admin;       /* on that thread */
	int refs; /* admin + I/O connections */
	bool dead; /* admin gone: I/O connections close */
	uint32_t num_io_qpairs;
	/* Registers (admin thread). */
	uint64_t cap;
	uint32_t vs, cc, csts;
	/* Features. */
	uint32_t num_queues_granted;   /* I/O queues, 1-based */
	uint32_t aec, arbitration, power_mgmt, kato_ms, vwc;
	struct nvmf_req *aer[NVMF_MAX_AER];
	uint32_t num_aer;
	uint64_t last_ka_tick;
	struct brisk_poller *ka_poller;
	/* Changed Namespace List log: NSIDs since the host last read it. */
	uint32_t changed_ns[1024];
	uint32_t num_changed;
	bool changed_overflow;         /* more than 1024: the log says FFFFFFFFh */
	bool aen_pending;              /* a Namespace Attribute Changed notice to send */
	bool aen_masked;               /* sent; no more until the log is read */
	uint64_t error_count;
	/* Reservation Notification log (reservation_cmd.c), oldest first. */
	struct {
		uint64_t count;
		uint32_t nsid;
		uint8_t type;
	} resv_log[NVMF_RESV_LOG_MAX];
	uint32_t resv_log_num;
	uint64_t resv_log_count;
	bool resv_aen_pending, resv_aen_masked;
	/* Discovery controllers: Discovery Log Page Change notices (discovery.c). */
	uint32_t disc_digest; /* app thread: CRC32C of this host's log entries */
	bool disc_aen_pending, disc_aen_masked;
	uint8_t *resv_mask; /* [subsys->max_nsid]: Reservation Notification Mask */
	/* ANA (ana.c): the port the host came in through and its group states
	 * there; written on the admin thread, read by I/O connections' threads. */
	struct nvmf_listen_addr port;
	uint8_t *ana_states; /* [subsys->max_nsid], __atomic: set by RPC, read by I/O */
	uint64_t ana_chgcnt;
	bool ana_aen_pending, ana_aen_masked;
	TAILQ_ENTRY(nvmf_ctrlr) link;  /* in subsys->ctrlrs (app thread) */
};

enum nvmf_req_state {
	NVMF_REQ_FREE,
	NVMF_REQ_RX_ICD,       /* receiving in-capsule data */
	NVMF_REQ_NEED_R2T,
	NVMF_REQ_WAIT_H2C,
	NVMF_REQ_EXEC,
	NVMF_REQ_SENDING,
};

/* One outgoing PDU: header (+ header digest) in hdr, optional data and digest. */
struct nvmf_out_pdu {
	uint8_t hdr[sizeof(struct brisk_nvme_tcp_term_req) + BRISK_NVME_TCP_TERM_REQ_MAX_DATA + 8]
	__attribute__((aligned(8)));
	uint32_t hdr_len;
	struct iovec *iov; /* the data: iovcnt pieces, data_len bytes in all */
	int iovcnt;
	struct iovec one; /* iov of data in one buffer */
	uint32_t data_len;
	uint32_t ddgst;
	bool has_ddgst;
	bool last_of_req;   /* the request is free once this PDU is sent */
	struct nvmf_req *req;
	TAILQ_ENTRY(nvmf_out_pdu) link;
};

/* Most buffers a bdev may lend for one read (malloc: one per chunk crossed);
 * a read that needs more takes the copy path. */
#define NVMF_ZCOPY_MAX_IOV 4

/* A read's data lent by its bdev (zcopy.c), from the zero-copy start until
 * its C2HData is sent and the bdev has it back. It holds the namespace
 * (ns_channel.c) and counts in conn->outstanding all that time, so neither
 * the namespace's channel nor the connection goes while the buffers are
 * out. Separate from the request, which is free once its PDUs are sent. */
struct nvmf_zcopy {
	struct nvmf_conn *conn;
	struct nvmf_req *req; /* while starting */
	struct nvmf_ns *ns;
	struct brisk_bdev_io *bdev_io;
	struct iovec iov[NVMF_ZCOPY_MAX_IOV];
	int iovcnt;
	TAILQ_ENTRY(nvmf_zcopy) link;
};

struct nvmf_req {
	struct nvmf_conn *conn;
	uint16_t ttag;
	enum nvmf_req_state state;
	struct brisk_nvme_cmd cmd;
	struct brisk_nvme_cpl cpl;
	uint8_t *buf;
	uint32_t buf_cap;
	uint32_t length;       /* data bytes the command moves */
	uint32_t h2c_off;      /* bytes received so far (in-capsule or H2C) */
	bool c2h;              /* controller to host */
	struct nvmf_ns *ns;
	bool ns_held; /* counted in the connection's ns_io (ns_channel.c) */
	struct nvmf_zcopy *zc; /* a read's lent data, sent from there */
	bool zc_skip; /* the zero-copy start failed: copy */
	uint32_t dsm_next;     /* DSM: next range to unmap */
	/* fused commands (fused.c) */
	struct nvmf_req *fused_partner; /* the other half, paired on arrival */
	bool fused_ready;      /* data received, waiting for the other half */
	uint8_t fused_abort_sc; /* nonzero: partner missing or failed, abort with this */
	bool fused_running;    /* the pair is executing */
	uint8_t fused_step;    /* FIRST of a running pair: the step to (re)run */
	/* LBA range held while in flight (range_lock.c) */
	bool range_held;
	uint64_t range_slba, range_nlb;
	TAILQ_ENTRY(nvmf_req) range_link;
	struct brisk_bdev_io_wait_entry wait;
	struct nvmf_out_pdu data_pdu;  /* C2HData or R2T */
	struct nvmf_out_pdu resp_pdu;  /* CapsuleResp */
	TAILQ_ENTRY(nvmf_req) link;
};

enum nvmf_rx_state {
	NVMF_RX_CH,
	NVMF_RX_PSH,
	NVMF_RX_PAD,
	NVMF_RX_DATA,
	NVMF_RX_DDGST,
	NVMF_RX_ERROR,  /* TermReq queued: read nothing more */
};

/* Negotiated and configured limits the PDU checks use (tcp_pdu.c). */
struct nvmf_tcp_limits {
	bool ic_done;
	bool hdgst, ddgst;
	uint32_t max_icd;      /* in-capsule data bytes */
	uint32_t maxh2cdata;
};

/* A TCP connection: one NVMe queue pair. */
struct nvmf_conn {
	int fd;
	struct nvmf_poll_group *pg;
	struct brisk_interrupt *intr;
	struct nvmf_listen_addr local;
	char peer[64];
	struct nvmf_tcp_limits lim;
	/* receive */
	enum nvmf_rx_state rx_state;
	/* aligned: read through the PDU header structs (64-bit fields) */
	uint8_t rx_hdr[sizeof(struct brisk_nvme_tcp_ic_req) + BRISK_NVME_TCP_DIGEST_LEN] __attribute__((aligned(8)));
	uint32_t rx_got, rx_need;
	uint8_t *rx_dst;
	uint32_t rx_data_len;
	uint32_t rx_ddgst;
	uint8_t rx_pad[256];
	bool rx_ddgst_err;
	struct nvmf_req *rx_req;
	/* one recv takes every small PDU the host queued (tcp_recv.c) */
	struct brisk_readahead rx_ra;
	/* send */
	TAILQ_HEAD(, nvmf_out_pdu) out;
	uint32_t out_off;       /* bytes of the head PDU already sent */
	struct nvmf_out_pdu ctrl_pdu; /* ICResp / C2HTermReq */
	uint64_t out_stall_tick; /* when output last stopped moving (0: moving) */
	bool closing;           /* stop after the queue drains (TermReq) */
	bool dead;
	/* queue pair */
	struct nvmf_ctrlr *ctrlr;
	uint16_t qid;
	uint16_t sqsize;        /* 1-based */
	uint16_t sqhd;
	bool connecting;
	struct brisk_io_channel **ns_ch; /* [subsys->max_nsid] (ns_channel.c) */
	uint32_t *ns_io; /* [subsys->max_nsid]: I/O in flight */
	uint32_t num_ns_ch;
	TAILQ_HEAD(, nvmf_ns_drain) ns_drains; /* removed namespaces' channels */
	/* requests */
	struct nvmf_req *reqs;
	uint32_t num_reqs;
	uint32_t outstanding;
	TAILQ_HEAD(, nvmf_req) free_reqs;
	TAILQ_HEAD(, nvmf_req) deferred; /* waiting for an LBA range (range_lock.c) */
	struct nvmf_zcopy *zcs; /* [num_reqs] (zcopy.c) */
	TAILQ_HEAD(, nvmf_zcopy) free_zcs;
	struct nvmf_req *fused_first;    /* last command was a FUSE first half */
	TAILQ_ENTRY(nvmf_conn) link;
};

struct nvmf_poll_group {
	uint32_t index;
	struct brisk_thread *thread;
	struct brisk_poller *poller;
	bool paused;
	uint64_t last_busy_tick;
	TAILQ_HEAD(, nvmf_conn) conns;
	/* counters for nvmf_get_stats (read racily by the app thread) */
	unsigned long admin_qpairs, io_qpairs, current_admin_qpairs, current_io_qpairs;
	unsigned long pending_bdev_io;
	bool exiting;
};

struct nvmf_tgt {
	struct brisk_thread *app_thread;
	bool poll_mode;
	bool running;
	uint32_t max_subsystems;
	uint32_t num_subsystems;
	struct brisk_nvmf_config conf;
	struct nvmf_transport *tcp;
	TAILQ_HEAD(, nvmf_subsystem) subsystems;
	TAILQ_HEAD(, nvmf_listener) listeners;
	struct nvmf_subsystem *discovery;
	struct nvmf_poll_group *pgs;
	uint32_t num_pgs;
	uint32_t next_pg;
	uint64_t discovery_genctr;
	struct brisk_poller *accept_poller;
	uint64_t accept_sleep_count;
	uint64_t accept_period_us;
	brisk_nvmf_done_fn fini_cb;
	void *fini_ctx;
	uint32_t pgs_left;
};

extern struct nvmf_tgt g_nvmf_tgt;

/* nqn.c */
int nvmf_nqn_validate(const char *nqn);

/* tgt.c */
int nvmf_transport_create(const struct brisk_nvmf_transport_opts *opts);
void nvmf_transport_opts_default(struct brisk_nvmf_transport_opts *opts);
int nvmf_listen_addr_parse(struct nvmf_listen_addr *a, const char *adrfam, const char *traddr,
			   const char *trsvcid, char *err, size_t errlen);
const char *nvmf_adrfam_str(enum brisk_nvmf_adrfam adrfam);
struct nvmf_listener *nvmf_listener_get(const struct nvmf_listen_addr *a, int *rc);
void nvmf_listener_put(struct nvmf_listener *l);
void nvmf_accept_poller_start(void);
bool nvmf_listen_addr_equal(const struct nvmf_listen_addr *a, const struct nvmf_listen_addr *b);

/* poll_group.c */
int nvmf_poll_groups_start(void);
void nvmf_poll_groups_stop(void);
void nvmf_poll_group_add_fd(int fd, const struct nvmf_listen_addr *local, const char *peer);
void nvmf_poll_group_kick(struct nvmf_poll_group *pg);
struct nvmf_poll_group *nvmf_poll_group_current(void);

/* subsystem.c */
struct nvmf_subsystem *nvmf_subsystem_find(const char *nqn);
int nvmf_subsystem_create(const char *nqn, enum brisk_nvmf_subtype subtype, uint32_t max_ns,
			  struct nvmf_subsystem **out);
void nvmf_subsystem_destroy(struct nvmf_subsystem *s);
bool nvmf_subsystem_host_allowed(const struct nvmf_subsystem *s, const char *hostnqn);
int nvmf_subsystem_add_host(struct nvmf_subsystem *s, const char *hostnqn);
int nvmf_subsystem_remove_host(struct nvmf_subsystem *s, const char *hostnqn);
int nvmf_subsystem_add_listener(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a);
int nvmf_subsystem_remove_listener(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a);
bool nvmf_subsystem_listens_on(const struct nvmf_subsystem *s, const struct nvmf_listen_addr *a);
struct nvmf_ns *nvmf_subsystem_get_ns(const struct nvmf_subsystem *s, uint32_t nsid);

/* namespace.c */
int nvmf_ns_add(struct nvmf_subsystem *s, uint32_t nsid, const char *bdev_name, const uint8_t *nguid,
		const struct brisk_uuid *uuid, const char *ptpl_file, uint32_t *out_nsid, char *err, size_t errlen);
int nvmf_ns_remove(struct nvmf_subsystem *s, uint32_t nsid);

/* discovery.c */
uint32_t nvmf_discovery_log_build(const char *hostnqn, uint8_t *buf, uint64_t offset, uint32_t len);
uint32_t nvmf_discovery_log_digest(const char *hostnqn);
void nvmf_discovery_changed(void);
void nvmf_discovery_log_read(struct nvmf_ctrlr *c, bool rae);
void nvmf_discovery_aer_retry(struct nvmf_ctrlr *c);

/* ctrlr.c */
void nvmf_ctrlr_connect(struct nvmf_req *req);
void nvmf_ctrlr_property(struct nvmf_req *req);
void nvmf_ctrlr_conn_gone(struct nvmf_conn *conn);
void nvmf_ctrlr_put(struct nvmf_ctrlr *ctrlr);
void nvmf_ctrlr_set_kato(struct nvmf_ctrlr *c, uint32_t kato_ms);

/* ctrlr_admin.c */
void nvmf_ctrlr_admin_cmd(struct nvmf_req *req);
void nvmf_ctrlr_notify_ns_changed(struct nvmf_subsystem *s, uint32_t nsid);
void nvmf_ctrlr_fill_identify(const struct nvmf_ctrlr *ctrlr, struct brisk_nvme_ctrlr_data *cd);
void nvmf_ctrlr_fill_identify_ns(const struct nvmf_ns *ns, struct brisk_nvme_ns_data *nd);
uint32_t nvmf_ctrlr_fill_ns_descs(const struct nvmf_ns *ns, uint8_t *buf, uint32_t len);

bool nvmf_ctrlr_aer_complete(struct nvmf_ctrlr *c, uint32_t cdw0);

/* reservation_cmd.c */
bool nvmf_resv_io_ok(struct nvmf_ns *ns, const struct nvmf_req *req);
bool nvmf_resv_is_cmd(uint8_t opc);
uint8_t nvmf_resv_cmd(struct nvmf_req *req);
void nvmf_resv_aer_retry(struct nvmf_ctrlr *c);
uint64_t nvmf_resv_log_fill(struct nvmf_ctrlr *c, uint8_t *page, bool rae);
bool nvmf_resv_is_feature(uint8_t fid);
uint8_t nvmf_resv_feature(struct nvmf_req *req, struct nvmf_ctrlr *c, uint8_t fid, bool set);

/* ana.c: Asymmetric Namespace Access */
int nvmf_ana_state_parse(const char *str, uint8_t *state);
const char *nvmf_ana_state_str(uint8_t state);
int nvmf_ana_listener_init(struct nvmf_subsystem *s, struct nvmf_subsys_listener *sl, uint8_t state);
int nvmf_ana_ctrlr_init(struct nvmf_ctrlr *c, const struct nvmf_listen_addr *port);
int nvmf_ana_set_state(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a, uint32_t anagrpid, uint8_t state);
void nvmf_ana_listener_removed(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a);
uint8_t nvmf_ana_io_status(const struct nvmf_req *req);
uint8_t *nvmf_ana_log_build(struct nvmf_ctrlr *c, bool rgo, bool rae, uint64_t *size);
void nvmf_ana_aer_retry(struct nvmf_ctrlr *c);
void nvmf_ana_fill_identify(const struct nvmf_subsystem *s, struct brisk_nvme_ctrlr_data *cd);
json_t *nvmf_ana_listener_json(const struct nvmf_subsystem *s, const struct nvmf_subsys_listener *sl);
void nvmf_ana_write_config(json_t *array, const struct nvmf_subsystem *s, const struct nvmf_subsys_listener *sl);

/* io.c */
void nvmf_io_cmd(struct nvmf_req *req);
void nvmf_io_resume(struct nvmf_req *req);
void nvmf_io_zcopy_started(struct nvmf_req *req, bool ok);

/* zcopy.c: reads sent from the bdev's own buffers */
int nvmf_zcopy_conn_init(struct nvmf_conn *c);
void nvmf_zcopy_conn_fini(struct nvmf_conn *c);
bool nvmf_zcopy_read(struct nvmf_req *req, struct brisk_io_channel *ch, uint64_t slba, uint32_t nlb);
void nvmf_zcopy_release(struct nvmf_req *req);

/* ns_channel.c: a connection's channels of its namespaces */
int nvmf_conn_ns_init(struct nvmf_conn *c, uint32_t max_nsid);
void nvmf_conn_ns_fini(struct nvmf_conn *c);
struct brisk_io_channel *nvmf_io_channel(struct nvmf_conn *c, struct nvmf_ns *ns);
void nvmf_ns_io_hold(struct nvmf_req *req);
void nvmf_ns_io_unhold(struct nvmf_req *req);
void nvmf_ns_io_put(struct nvmf_conn *c, struct nvmf_ns *ns);
void nvmf_conn_release_ns(struct nvmf_conn *c, struct nvmf_ns *ns);

/* fused.c: Compare-and-Write pairs */
void nvmf_fused_on_capsule(struct nvmf_conn *c, struct nvmf_req *req);
void nvmf_fused_dispatch(struct nvmf_req *req);
void nvmf_fused_req_done(struct nvmf_req *req);
void nvmf_fused_resume(struct nvmf_req *req);

/* range_lock.c: LBA ranges in flight on a namespace */
void nvmf_range_init(struct nvmf_ns *ns);
void nvmf_range_ns_removed(struct nvmf_ns *ns);
bool nvmf_range_ns_current(const struct nvmf_req *req);
bool nvmf_range_try_write(struct nvmf_ns *ns, struct nvmf_req *req, uint64_t slba, uint64_t nlb);
bool nvmf_range_try_caw(struct nvmf_ns *ns, struct nvmf_req *req, uint64_t slba, uint64_t nlb);
void nvmf_range_release(struct nvmf_ns *ns, struct nvmf_req *req);
void nvmf_range_defer(struct nvmf_req *req);
void nvmf_range_retry_deferred(struct nvmf_conn *c);

/* request completion (tcp_conn.c) */
void nvmf_req_complete(struct nvmf_req *req);
void nvmf_req_set_status(struct nvmf_req *req, int sct, int sc);
void nvmf_conn_disconnect(struct nvmf_conn *conn);

/* conn.c */
struct nvmf_conn *nvmf_conn_create(struct nvmf_poll_group *pg, int fd, const struct nvmf_listen_addr *local,
				   const char *peer);
void nvmf_conn_free(struct nvmf_conn *c);
bool nvmf_conn_poll(struct nvmf_conn *c);

/* tcp_send.c */
void nvmf_conn_send_icresp(struct nvmf_conn *c, const struct brisk_nvme_tcp_ic_req *ic, uint32_t maxh2c);
void nvmf_conn_send_term_req(struct nvmf_conn *c, uint16_t fes, uint32_t fei);
void nvmf_conn_send_r2t(struct nvmf_req *req);
int nvmf_conn_flush(struct nvmf_conn *c);
void nvmf_conn_out_drop(struct nvmf_conn *c);

/* tcp_recv.c */
int nvmf_conn_recv(struct nvmf_conn *c);
/* true while read-ahead bytes wait for the next poll */
bool nvmf_conn_rx_staged(const struct nvmf_conn *c);
void nvmf_req_exec(struct nvmf_req *req);

/* tcp_pdu.c: pure checks, unit tested */
uint32_t nvmf_tcp_expected_hlen(uint8_t pdu_type);
int nvmf_tcp_check_ch(const struct brisk_nvme_tcp_common_hdr *ch, const struct nvmf_tcp_limits *lim,
		      uint32_t *fei);
uint32_t nvmf_tcp_hdgst_len(const struct brisk_nvme_tcp_common_hdr *ch);
uint32_t nvmf_tcp_data_len(const struct brisk_nvme_tcp_common_hdr *ch);
bool nvmf_tcp_hdgst_ok(const void *hdr, uint32_t hlen);
int nvmf_tcp_check_icreq(const struct brisk_nvme_tcp_ic_req *ic, uint32_t *fei);
void nvmf_tcp_fill_icresp(struct brisk_nvme_tcp_ic_resp *r, const struct brisk_nvme_tcp_ic_req *ic,
			  uint32_t maxh2cdata);

/* config JSON (nvmf_json.c) */
void nvmf_subsystem_dump_json(const struct nvmf_subsystem *s, json_t *obj);
json_t *nvmf_listen_addr_json(const struct nvmf_listen_addr *a);
json_t *nvmf_transport_json(const struct brisk_nvmf_transport_opts *o);

#endif
