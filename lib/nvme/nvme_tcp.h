/*
 * lib/nvme's NVMe/TCP host transport, private: one connection per queue
 * pair (socket, receive buffer, negotiated digests and limits), PDU
 * building and checking (tcp_pdu.c), the socket and the receive loop
 * (tcp_conn.c), and the transport ops on top (tcp.c).
 *
 * The TCP qpair keeps the memory rings of qpair.c: the "doorbell" sends
 * each new submission entry as a CapsuleCmd, and each CapsuleResp (or
 * C2HData with SUCCESS) is written into the completion ring with the
 * phase tag, where qpair.c reaps it as it would from a controller.
 */
#ifndef BRISK_NVME_TCP_H
#define BRISK_NVME_TCP_H

#include <stdbool.h>
#include <stdint.h>

#include <brisk/nvmf_spec.h>

#include "nvme_internal.h"

/* Command identifier of the transport's own synchronous commands (Connect,
 * Property Get/Set): above every tracker's. */
#define NVME_TCP_SYNC_CID 0xfffeu
#define NVME_TCP_ADMIN_ICD 8192u      /* in-capsule data on the admin queue */
#define NVME_TCP_TIMEOUT_US (5u * 1000 * 1000)
/* Largest H2CData the host sends in one PDU, whatever MAXH2CDATA allows. */
#define NVME_TCP_MAX_H2C_CHUNK (128u * 1024)
#define NVME_TCP_HDR_MAX 128u         /* ICResp is the largest header */

/* Where opening a connection is (nvme_tcp_conn_open_poll). */
enum nvme_tcp_open_state {
	NVME_TCP_OPEN_CONNECTING, /* TCP connect in progress */
	NVME_TCP_OPEN_IC_WAIT, /* ICReq sent, ICResp not whole yet */
	NVME_TCP_OPEN_DONE,
};

struct nvme_tcp_conn {
	int fd;
	enum nvme_tcp_open_state open_state;
	bool hdgst;
	bool ddgst;
	bool dead;
	uint32_t cpda_align;   /* bytes: data offset alignment of PDUs we send */
	uint32_t maxh2cdata;
	uint32_t max_icd;      /* in-capsule data the controller takes */
	uint8_t *rx;           /* received bytes not yet handled */
	uint32_t rx_len;
	uint32_t rx_cap;
	uint8_t *tx;           /* one PDU being built */
	uint32_t tx_cap;
	const char *name;      /* for log messages: "traddr:trsvcid qid N" */
};

/* The transport's state of one qpair. */
struct nvme_tcp_qpair {
	struct nvme_tcp_conn conn;
	char name[BRISK_NVMF_TRADDR_MAX_LEN + BRISK_NVMF_TRSVCID_MAX_LEN + 16];
	uint16_t sq_sent;      /* SQ entries up to here were sent */
	uint16_t cq_tail;      /* where the next completion is written */
	uint8_t cq_phase;
	bool sync_done;        /* the NVME_TCP_SYNC_CID command completed */
	uint8_t connect_step; /* tcp.c's Connect of this queue, step by step */
	uint16_t connect_cntlid;
	uint32_t connect_kato;
	uint64_t connect_deadline; /* ticks: connect, ICResp and Connect together */
	uint8_t *posted;       /* by cid: its completion is in the ring */
	struct brisk_nvme_cpl sync_cpl;
};

/* ---- PDUs (tcp_pdu.c): pure functions, unit-tested ---- */
/* Bytes of a PDU header plus its digest as sent. */
uint32_t nvme_tcp_hdr_total(const struct nvme_tcp_conn *c, uint32_t hlen);
/* Fills ch and returns the data offset (0 without data) and *plen. */
uint32_t nvme_tcp_pdu_init(const struct nvme_tcp_conn *c, struct brisk_nvme_tcp_common_hdr *ch,
			   uint8_t type, uint32_t hlen, uint32_t dlen);
/* Header digest after the header, data digest at the end of a built PDU. */
void nvme_tcp_pdu_seal(const struct nvme_tcp_conn *c, uint8_t *pdu);
void nvme_tcp_ic_req_build(struct brisk_nvme_tcp_ic_req *req, bool hdgst, bool ddgst);
/* 0 or -EPROTO (why set) for an ICResp; sets the connection's limits. */
int nvme_tcp_ic_resp_check(struct nvme_tcp_conn *c, const struct brisk_nvme_tcp_ic_resp *r,
			   const char **why);
/* Common header check of a received PDU once 8 bytes are in: 0, or
 * -EPROTO with why. */
int nvme_tcp_ch_check(const struct nvme_tcp_conn *c, const struct brisk_nvme_tcp_common_hdr *ch,
		      const char **why);
/* Digests and data placement of a whole received PDU; *data and *dlen
 * give its data. 0 or -EPROTO with why. */
int nvme_tcp_pdu_check(const struct nvme_tcp_conn *c, const uint8_t *pdu, const uint8_t **data,
		       uint32_t *dlen, const char **why);

/* ---- Connection (tcp_conn.c) ---- */
/* Opening without waiting: start (socket, connect in progress; 0 or
 * -errno), then poll until 0 (ICResp checked) or -errno; -EAGAIN meanwhile.
 * The caller bounds the time. */
int nvme_tcp_conn_open_start(struct nvme_tcp_conn *c, const struct brisk_nvme_transport_id *trid, bool hdgst,
			     bool ddgst);
int nvme_tcp_conn_open_poll(struct nvme_tcp_conn *c);
void nvme_tcp_conn_close(struct nvme_tcp_conn *c);
/* Sends len bytes from tx whole (waits for room up to the timeout). */
int nvme_tcp_conn_send(struct nvme_tcp_conn *c, const void *buf, uint32_t len);
/* Reads what the socket has; calls handle for each whole PDU. 0 or -errno
 * (connection failed: bad PDU, closed, handler error). */
typedef int (*nvme_tcp_pdu_fn)(void *arg, const uint8_t *pdu, const uint8_t *data,
			       uint32_t dlen);
int nvme_tcp_conn_recv(struct nvme_tcp_conn *c, nvme_tcp_pdu_fn handle, void *arg);
/* Waits up to timeout_us for the socket to be readable (writable while the
 * TCP connect is in progress). */
void nvme_tcp_conn_wait(struct nvme_tcp_conn *c, uint64_t timeout_us);

/* ---- Qpair I/O (tcp_qpair.c) ---- */
struct nvme_tcp_qpair *nvme_tcp_qpair_new(struct brisk_nvme_qpair *qpair);
void nvme_tcp_qpair_free(struct brisk_nvme_qpair *qpair);
/* Empty rings on both sides (a new connection, or the admin queue re-armed). */
void nvme_tcp_qpair_reset(struct brisk_nvme_qpair *qpair);
/* Starts a new connection (nvme_tcp_conn_open_poll finishes it). */
int nvme_tcp_qpair_open_start(struct brisk_nvme_qpair *qpair);
/* A fabrics command on cid NVME_TCP_SYNC_CID: send, then poll until 0
 * (cpl filled) or -errno; -EAGAIN while the response has not come. */
int nvme_tcp_sync_send(struct brisk_nvme_qpair *qpair, struct brisk_nvme_cmd *cmd, const void *data, uint32_t dlen);
int nvme_tcp_sync_poll(struct brisk_nvme_qpair *qpair, struct brisk_nvme_cpl *cpl);
/* The same waiting up to NVME_TCP_TIMEOUT_US (Property Get/Set on a live
 * connection). data (in-capsule) may be NULL. 0 or -errno; cpl filled. */
int nvme_tcp_sync_cmd(struct brisk_nvme_qpair *qpair, struct brisk_nvme_cmd *cmd,
		      const void *data, uint32_t dlen, struct brisk_nvme_cpl *cpl);
void nvme_tcp_ring_sq(struct brisk_nvme_qpair *qpair, uint16_t tail);
int nvme_tcp_qpair_poll(struct brisk_nvme_qpair *qpair);

static inline struct nvme_tcp_qpair *nvme_tcp_qp(struct brisk_nvme_qpair *qpair)
{
	return qpair->transport_ctx;
}

#endif
