/*
 * lib/iscsi's private structures: the target's options, portal groups and
 * their listening sockets, initiator groups, auth groups, target nodes
 * (each a brisk_scsi_dev), sessions, connections and the tasks of a
 * connection, and the poll groups connections run on.
 *
 * Ownership: configuration (options, groups, nodes), the session registry
 * and every connection still logging in belong to the app thread (the one
 * that ran brisk_iscsi_tgt_init; RPCs run there). A connection in full
 * feature phase belongs to its poll group's thread, and so does its
 * session's command window: every connection of a session runs on the
 * poll group of the session's first connection.
 */
#ifndef BRISK_ISCSI_INTERNAL_H
#define BRISK_ISCSI_INTERNAL_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <brisk/iscsi.h>
#include <brisk/readahead.h>
#include <brisk/queue.h>
#include <brisk/scsi.h>
#include <brisk/thread.h>

#include "iscsi_chap.h"
#include "iscsi_pdu.h"
#include "iscsi_text.h"

#define ISCSI_NAME_MAX 223            /* RFC 7143 4.2.7.1 */
#define ISCSI_ALIAS_MAX 255
#define ISCSI_MAX_IG_NAMES 256
#define ISCSI_MAX_MAPS 256
#define ISCSI_MAX_SECRETS 64
#define ISCSI_CHAP_NAME_MAX 255
#define ISCSI_CHAP_SECRET_MAX 255
#define ISCSI_TEXT_BUF 65536          /* login/text data gathered over C-bit PDUs */
#define ISCSI_HOST_MAX 64
#define ISCSI_PORT_MAX 8
#define ISCSI_TASK_BUF (256 * 1024)   /* preallocated write buffer per task */
/* Receive read-ahead per connection in full feature phase (conn.c): parts
 * shorter than ISCSI_RX_DIRECT_MIN (headers, small data) come out of it,
 * longer ones are read straight into their destination. */
#define ISCSI_RX_AHEAD_SIZE (32u * 1024)
#define ISCSI_RX_DIRECT_MIN (8u * 1024)

/* ---- configuration ---- */

struct iscsi_portal {
	char host[ISCSI_HOST_MAX];
	char port[ISCSI_PORT_MAX];
	int fd;
	struct brisk_interrupt *intr;
	struct iscsi_portal_grp *pg;
	TAILQ_ENTRY(iscsi_portal) link;
};

struct iscsi_portal_grp {
	int tag;
	bool is_private;
	TAILQ_HEAD(, iscsi_portal) portals;
	TAILQ_ENTRY(iscsi_portal_grp) link;
};

struct iscsi_init_grp {
	int tag;
	char *names[ISCSI_MAX_IG_NAMES];
	uint32_t num_names;
	char *netmasks[ISCSI_MAX_IG_NAMES];
	uint32_t num_netmasks;
	TAILQ_ENTRY(iscsi_init_grp) link;
};

struct iscsi_secret {
	char user[ISCSI_CHAP_NAME_MAX + 1];
	char secret[ISCSI_CHAP_SECRET_MAX + 1];
	char muser[ISCSI_CHAP_NAME_MAX + 1];
	char msecret[ISCSI_CHAP_SECRET_MAX + 1];
};

struct iscsi_auth_grp {
	int tag;
	struct iscsi_secret secrets[ISCSI_MAX_SECRETS];
	uint32_t num_secrets;
	TAILQ_ENTRY(iscsi_auth_grp) link;
};

/* CHAP settings of a node or of discovery sessions. */
struct iscsi_auth {
	bool disable_chap;
	bool require_chap;
	bool mutual_chap;
	int chap_group;
};

struct iscsi_pg_ig_map {
	int pg_tag;
	int ig_tag;
};

struct iscsi_tgt_node {
	char name[ISCSI_NAME_MAX + 1];     /* full name (node_base prefixed) */
	char short_name[ISCSI_NAME_MAX + 1];  /* as created (save_config) */
	char alias[ISCSI_ALIAS_MAX + 1];
	struct brisk_scsi_dev *dev;
	struct iscsi_pg_ig_map maps[ISCSI_MAX_MAPS];
	uint32_t num_maps;
	uint32_t queue_depth;
	struct iscsi_auth auth;
	bool header_digest;
	bool data_digest;
	uint32_t num_sessions;
	bool deleting; /* logout requested (async.c): no new logins */
	TAILQ_ENTRY(iscsi_tgt_node) link;
};

/* ---- sessions, connections, tasks ---- */

struct iscsi_conn;
struct iscsi_poll_group;

struct iscsi_session {
	uint16_t tsih;
	uint8_t isid[6];
	bool discovery;
	char initiator[ISCSI_NAME_MAX + 1];
	struct iscsi_tgt_node *node;       /* NULL for discovery */
	struct brisk_scsi_port iport;
	struct brisk_scsi_port tport;
	struct iscsi_params params;        /* session-wide values, from the leading login */
	struct iscsi_poll_group *pg;
	int portal_group_tag;
	uint32_t queue_depth;
	/* Poll group thread: the command window. */
	uint32_t exp_cmdsn;
	uint32_t max_cmdsn;
	uint32_t num_conns;
	uint16_t cids[64];                  /* app thread: CIDs of its connections (reinstatement) */
	uint32_t num_cids;
	bool dead;                          /* reinstated or closing: its connections end */
	TAILQ_HEAD(, iscsi_conn) conns;     /* on the poll group thread */
	TAILQ_ENTRY(iscsi_session) link;    /* registry (app thread) */
};

/* One outgoing PDU. */
struct iscsi_out_pdu {
	uint8_t hdr[ISCSI_BHS_LEN + ISCSI_DIGEST_LEN];
	uint8_t *data;
	uint32_t data_len;
	uint8_t ddgst[ISCSI_DIGEST_LEN];
	/* Called when the PDU is on the wire: may refill it and return true to
	 * send it again (Data-In sequences), false when it is done. */
	bool (*sent)(struct iscsi_out_pdu *pdu);
	void *ctx;
	bool in_use;
	TAILQ_ENTRY(iscsi_out_pdu) link;
};

enum iscsi_task_state {
	ISCSI_TASK_FREE,
	ISCSI_TASK_DATA_OUT,     /* waiting for write data */
	ISCSI_TASK_EXEC,         /* in lib/scsi */
	ISCSI_TASK_SEND,         /* Data-In / response queued */
	ISCSI_TASK_HELD,         /* waiting for an earlier CmdSN */
};

struct iscsi_task {
	struct brisk_scsi_task scsi;
	struct iscsi_conn *conn;
	enum iscsi_task_state state;
	uint8_t bhs[ISCSI_BHS_LEN];        /* the command (held commands) */
	uint32_t itt;
	uint32_t ttt;
	uint32_t cmdsn;
	bool is_mgmt;
	bool read, write;
	uint32_t edtl;
	uint8_t *buf;                      /* write data / preallocated */
	uint8_t *big_buf;                  /* writes larger than ISCSI_TASK_BUF */
	uint32_t data_got;                 /* write bytes received */
	uint32_t r2t_off;                  /* next offset to ask for */
	uint32_t r2t_sn;
	uint32_t datasn;
	uint32_t in_off;                   /* Data-In bytes sent */
	uint32_t in_len;                   /* Data-In bytes to send */
	struct iovec iov;
	struct iscsi_out_pdu pdu;          /* Data-In / R2T / response */
	bool aborted;
	bool held;                         /* waiting for an earlier CmdSN */
	bool in_window; /* holds a CmdSN slot until its status goes out */
	bool listed;                       /* in conn->active */
	bool status_sent;
	uint32_t unsol_datasn;             /* next DataSN of unsolicited Data-Out */
	uint32_t sol_datasn;               /* next DataSN in the current R2T's sequence */
	bool data_err;                     /* a Data-Out came out of sequence */
	TAILQ_ENTRY(iscsi_task) link;
};

enum iscsi_rx_state {
	ISCSI_RX_BHS,
	ISCSI_RX_AHS,
	ISCSI_RX_HDGST,
	ISCSI_RX_DATA,
	ISCSI_RX_DDGST,
};

enum iscsi_conn_state {
	ISCSI_CONN_LOGIN,
	ISCSI_CONN_MOVING,      /* login done, going to its poll group */
	ISCSI_CONN_FFP,
	ISCSI_CONN_LOGGED_OUT,  /* logout response queued: close when sent */
	ISCSI_CONN_DEAD,
};

struct iscsi_login {
	uint8_t csg;
	bool got_names;
	bool authorized;
	bool auth_done;
	bool chap;             /* CHAP chosen */
	uint8_t chap_id;
	uint8_t chap_c[ISCSI_CHAP_CHALLENGE_LEN];
	bool chap_sent;
	bool mrdsl_sent;
	uint8_t isid[6];
	uint16_t tsih;
	uint32_t itt;
	uint32_t cmdsn;
	uint8_t version;
	struct iscsi_auth auth;
	struct iscsi_session *join;   /* MC/S: the session this connection joins */
	struct iscsi_offer offer;
	struct brisk_scsi_port iport_tmp;
};

struct iscsi_conn {
	int fd;
	struct brisk_interrupt *intr;
	struct iscsi_poll_group *pg;          /* NULL while logging in (app thread) */
	enum iscsi_conn_state state;
	char peer_host[ISCSI_HOST_MAX];
	char peer_port[ISCSI_PORT_MAX];
	char local_host[ISCSI_HOST_MAX];
	char local_port[ISCSI_PORT_MAX];
	int portal_group_tag;
	uint16_t cid;
	uint32_t id;                           /* for iscsi_get_connections */
	struct iscsi_session *sess;
	struct iscsi_params params;
	struct iscsi_login login;
	char initiator[ISCSI_NAME_MAX + 1];
	char target[ISCSI_NAME_MAX + 1];
	/* receive */
	enum iscsi_rx_state rx_state;
	uint8_t rx_bhs[ISCSI_BHS_LEN] __attribute__((aligned(8)));
	uint8_t rx_ahs[ISCSI_MAX_AHS_LEN];
	uint8_t rx_dig[ISCSI_DIGEST_LEN];
	uint32_t rx_got, rx_need;
	uint8_t *rx_dst;
	uint8_t *rx_data;                      /* data segment of the current PDU */
	uint32_t rx_data_len;
	uint8_t *rx_buf;                       /* [max_recv_dsl + 4]: data segments not placed in a task */
	/* one recv takes every small PDU the initiator queued; only on poll
	 * groups, which poll while it holds any (conn.c) */
	struct brisk_readahead rx_ra;
	uint8_t *text_buf;                     /* login/text keys gathered over C-bit PDUs */
	uint32_t text_len;
	/* send */
	TAILQ_HEAD(, iscsi_out_pdu) out;
	uint32_t out_off;
	uint32_t statsn;
	struct iscsi_out_pdu *ctrl_pdus;       /* NOP-In, Reject, Login, Text, Logout, TMF responses */
	uint32_t num_ctrl_pdus;
	uint8_t *ctrl_data;                    /* [num_ctrl_pdus][ctrl_data_len] */
	uint32_t ctrl_data_len;
	uint64_t out_stall_tick;
	uint64_t last_rx_tick;
	bool nop_outstanding;
	uint64_t nop_sent_tick;
	/* tasks */
	struct iscsi_task *tasks;
	uint32_t num_tasks;
	uint32_t outstanding;                  /* tasks not free */
	TAILQ_HEAD(, iscsi_task) free_tasks;
	TAILQ_HEAD(, iscsi_task) active;       /* by ITT lookup */
	bool channels;                         /* scsi dev channels held on this thread */
	/* text (SendTargets) continuation */
	uint32_t text_ttt;
	uint32_t text_sent;
	uint8_t *text_rsp;
	uint32_t text_rsp_len;
	TAILQ_ENTRY(iscsi_conn) link;          /* poll group or login list */
	TAILQ_ENTRY(iscsi_conn) sess_link;
};

struct iscsi_poll_group {
	uint32_t index;
	struct brisk_thread *thread;
	struct brisk_poller *poller;
	struct brisk_poller *timer;
	bool paused;
	bool exiting;
	uint64_t last_busy_tick;
	TAILQ_HEAD(, iscsi_conn) conns;
	uint32_t num_conns;
};

struct iscsi_tgt {
	struct brisk_thread *app_thread;
	bool poll_mode;
	bool running;
	struct brisk_iscsi_opts opts;
	struct iscsi_auth discovery_auth;
	bool discovery_auth_set;           /* by iscsi_set_discovery_auth (save_config) */
	TAILQ_HEAD(, iscsi_portal_grp) pgs;
	TAILQ_HEAD(, iscsi_init_grp) igs;
	TAILQ_HEAD(, iscsi_auth_grp) ags;
	TAILQ_HEAD(, iscsi_tgt_node) nodes;
	TAILQ_HEAD(, iscsi_session) sessions;
	TAILQ_HEAD(, iscsi_conn) login_conns;
	struct brisk_poller *login_poller;
	struct iscsi_poll_group *pollgroups;
	uint32_t num_pollgroups;
	uint32_t next_pg;
	uint32_t pgs_left;
	uint16_t next_tsih;
	uint32_t next_conn_id;
	uint32_t num_conns;
	brisk_iscsi_done_fn fini_cb;
	void *fini_ctx;
};

extern struct iscsi_tgt g_iscsi;

/* tgt.c */
void iscsi_opts_default(struct brisk_iscsi_opts *o);
const char *iscsi_opts_check(const struct brisk_iscsi_opts *o);

/* portal.c */
struct iscsi_portal_grp *iscsi_portal_grp_find(int tag);
int iscsi_portal_grp_create(int tag, bool is_private, const char *const hosts[], const char *const ports[],
			    uint32_t n, char *err, size_t errlen);
int iscsi_portal_grp_delete(int tag);
void iscsi_portals_close_all(void);
void iscsi_portals_accept(void);

/* groups.c */
struct iscsi_init_grp *iscsi_init_grp_find(int tag);
int iscsi_init_grp_add(struct iscsi_init_grp *ig, char *const names[], uint32_t nn, char *const masks[],
		       uint32_t nm, char *err, size_t errlen);
int iscsi_init_grp_remove(struct iscsi_init_grp *ig, char *const names[], uint32_t nn, char *const masks[],
			  uint32_t nm, char *err, size_t errlen);
void iscsi_init_grp_free(struct iscsi_init_grp *ig);
bool iscsi_init_grp_allows(const struct iscsi_init_grp *ig, const char *name, const char *addr);
struct iscsi_auth_grp *iscsi_auth_grp_find(int tag);
const struct iscsi_secret *iscsi_auth_grp_find_user(const struct iscsi_auth_grp *ag, const char *user);
int iscsi_auth_check(const struct iscsi_auth *a, char *err, size_t errlen);

/* tgt_node.c */
struct iscsi_tgt_node *iscsi_tgt_node_find(const char *name);
void iscsi_tgt_node_full_name(const char *name, char *out, size_t len);
bool iscsi_tgt_node_visible(const struct iscsi_tgt_node *n, const char *initiator, const char *addr,
			    int pg_tag);
bool iscsi_tgt_node_has_pg(const struct iscsi_tgt_node *n, int pg_tag);
void iscsi_tgt_node_destroy(struct iscsi_tgt_node *n);
bool iscsi_name_valid(const char *name);
int iscsi_node_maps_add(struct iscsi_tgt_node *n, const struct iscsi_pg_ig_map *m, uint32_t nm, char *err,
			size_t errlen);
int iscsi_node_maps_remove(struct iscsi_tgt_node *n, const struct iscsi_pg_ig_map *m, uint32_t nm, char *err,
			   size_t errlen);

/* conn.c */
void iscsi_conn_accept(int fd, struct iscsi_portal *portal);
void iscsi_conn_close(struct iscsi_conn *c);
void iscsi_conn_free(struct iscsi_conn *c);
bool iscsi_conn_poll(struct iscsi_conn *c);
/* true while read-ahead bytes wait for the next poll */
bool iscsi_conn_rx_staged(const struct iscsi_conn *c);
struct iscsi_out_pdu *iscsi_conn_ctrl_pdu(struct iscsi_conn *c);
void iscsi_conn_queue(struct iscsi_conn *c, struct iscsi_out_pdu *pdu, bool statsn);
void iscsi_conn_seal(struct iscsi_conn *c, struct iscsi_out_pdu *pdu, bool statsn);
void iscsi_conn_set_window(struct iscsi_conn *c, uint8_t *hdr);
int iscsi_conn_flush(struct iscsi_conn *c);
void iscsi_conn_login_poll_all(void);

/* login.c (app thread) */
int iscsi_login_pdu(struct iscsi_conn *c);

/* ffp.c, scsi_io.c (poll group thread) */
int iscsi_ffp_pdu(struct iscsi_conn *c);
int iscsi_scsi_cmd(struct iscsi_conn *c, const uint8_t *bhs);
int iscsi_data_out(struct iscsi_conn *c);
void iscsi_task_free(struct iscsi_task *t);
void iscsi_conn_drop_tasks(struct iscsi_conn *c);
struct iscsi_task *iscsi_task_find(struct iscsi_conn *c, uint32_t itt);
void iscsi_send_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t *bhs);
void iscsi_tmf(struct iscsi_conn *c);
int iscsi_text_req(struct iscsi_conn *c);
int iscsi_send_targets(struct iscsi_conn *c, const char *which, uint8_t *out, uint32_t cap);
void iscsi_run_held(struct iscsi_conn *c);

/* async.c (app thread) */
struct brisk_jsonrpc_request;
void iscsi_async_luns_changed(const struct iscsi_tgt_node *n, int lun_id);
int iscsi_async_node_delete(struct iscsi_tgt_node *n, struct brisk_jsonrpc_request *req);
void iscsi_tgt_node_lun_gone(struct brisk_scsi_lun *lun, void *ctx);

/* poll_group.c */
int iscsi_poll_groups_start(void);
void iscsi_poll_groups_stop(void);
void iscsi_tgt_fini_pgs_done(void);
void iscsi_poll_group_kick(struct iscsi_poll_group *pg);
void iscsi_poll_group_kick_remote(struct iscsi_poll_group *pg);
void iscsi_poll_group_add(struct iscsi_conn *c, struct iscsi_poll_group *pg);
struct iscsi_poll_group *iscsi_poll_group_pick(void);

/* session.c */
struct iscsi_session *iscsi_session_create(struct iscsi_conn *c, struct iscsi_tgt_node *node);
struct iscsi_session *iscsi_session_find(const char *initiator, const uint8_t isid[6], uint16_t tsih);
void iscsi_session_reinstate(const char *initiator, const uint8_t isid[6], const char *target);
void iscsi_session_conn_gone(struct iscsi_conn *c);
bool iscsi_session_has_cid(const struct iscsi_session *s, uint16_t cid);
void iscsi_session_add_cid(struct iscsi_session *s, uint16_t cid);

#endif
