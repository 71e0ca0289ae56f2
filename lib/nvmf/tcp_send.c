/*
 * The sending side of an NVMe/TCP connection: PDU headers built in place
 * (with the header digest), a queue of PDUs per connection written with
 * sendmsg as far as the socket takes them, and the request completion that
 * turns an NVMe completion into C2HData and/or CapsuleResp PDUs.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <brisk/crc32c.h>
#include <brisk/log.h>

#include "nvmf_internal.h"

#define SEND_MAX_IOV 48

/* Header of type/hlen with data_len bytes of data, digests as negotiated;
 * the caller fills the type-specific fields, then calls out_pdu_seal. */
static void *out_pdu_init(struct nvmf_conn *c, struct nvmf_out_pdu *p, uint8_t type, uint32_t hlen,
			  void *data, uint32_t data_len)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)p->hdr;
	uint32_t hd = c->lim.hdgst ? BRISK_NVME_TCP_DIGEST_LEN : 0;
	bool dd = c->lim.ddgst && data_len > 0;

	memset(p->hdr, 0, hlen);
	ch->pdu_type = type;
	ch->flags = (hd ? BRISK_NVME_TCP_FLAG_HDGST : 0) | (dd ? BRISK_NVME_TCP_FLAG_DDGST : 0);
	ch->hlen = hlen;
	ch->pdo = data_len ? hlen + hd : 0;
	ch->plen = hlen + hd + data_len + (dd ? BRISK_NVME_TCP_DIGEST_LEN : 0);
	p->hdr_len = hlen + hd;
	p->one.iov_base = data;
	p->one.iov_len = data_len;
	p->iov = &p->one;
	p->iovcnt = data_len ? 1 : 0;
	p->data_len = data_len;
	p->has_ddgst = dd;
	p->last_of_req = false;
	return p->hdr;
}

static void out_pdu_seal_and_queue(struct nvmf_conn *c, struct nvmf_out_pdu *p)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)p->hdr;
	uint32_t crc;

	if (ch->flags & BRISK_NVME_TCP_FLAG_HDGST) {
		crc = brisk_crc32c(p->hdr, ch->hlen);
		memcpy(p->hdr + ch->hlen, &crc, sizeof(crc));
	}
	if (p->has_ddgst) {
		uint32_t dcrc = ~0u;

		for (int i = 0; i < p->iovcnt; i++) {
			dcrc = brisk_crc32c_update(p->iov[i].iov_base, p->iov[i].iov_len, dcrc);
		}
		p->ddgst = ~dcrc;
	}
	TAILQ_INSERT_TAIL(&c->out, p, link);
}

void nvmf_conn_send_icresp(struct nvmf_conn *c, const struct brisk_nvme_tcp_ic_req *ic, uint32_t maxh2c)
{
	struct nvmf_out_pdu *p = &c->ctrl_pdu;

	nvmf_tcp_fill_icresp((void *)p->hdr, ic, maxh2c);
	p->hdr_len = sizeof(struct brisk_nvme_tcp_ic_resp);
	p->iovcnt = 0;
	p->data_len = 0;
	p->has_ddgst = false;
	p->last_of_req = false;
	p->req = NULL;
	TAILQ_INSERT_TAIL(&c->out, p, link);
}

/* C2HTermReq with the offending header as its data; the connection closes
 * once it is sent and reads nothing more. */
void nvmf_conn_send_term_req(struct nvmf_conn *c, uint16_t fes, uint32_t fei)
{
	struct nvmf_out_pdu *p = &c->ctrl_pdu, *q;
	struct brisk_nvme_tcp_term_req *t = (void *)p->hdr;
	uint32_t copy = c->rx_got < 128 ? c->rx_got : 128;

	BRISK_ERRLOG("nvmf: connection %s: fatal PDU error (FES %u, field offset %u): terminating\n",
		     c->peer, fes, fei);
	c->rx_state = NVMF_RX_ERROR;
	c->closing = true;
	TAILQ_FOREACH(q, &c->out, link) {
		if (q == p) {
			return; /* ICResp still queued: just close */
		}
	}
	memset(t, 0, sizeof(*t));
	t->ch.pdu_type = BRISK_NVME_TCP_PDU_C2H_TERM_REQ;
	t->ch.hlen = sizeof(*t);
	t->ch.plen = sizeof(*t) + copy;
	t->fes = fes;
	memcpy(t->fei, &fei, sizeof(fei));
	memcpy(p->hdr + sizeof(*t), c->rx_hdr, copy);
	p->hdr_len = t->ch.plen;
	p->iovcnt = 0;
	p->data_len = 0;
	p->has_ddgst = false;
	p->last_of_req = false;
	TAILQ_INSERT_TAIL(&c->out, p, link);
}

void nvmf_conn_send_r2t(struct nvmf_req *req)
{
	struct nvmf_conn *c = req->conn;
	struct brisk_nvme_tcp_r2t *r2t;

	r2t = out_pdu_init(c, &req->data_pdu, BRISK_NVME_TCP_PDU_R2T, sizeof(*r2t), NULL, 0);
	r2t->cccid = req->cmd.cid;
	r2t->ttag = req->ttag;
	r2t->r2to = req->h2c_off;
	r2t->r2tl = req->length - req->h2c_off;
	req->state = NVMF_REQ_WAIT_H2C;
	out_pdu_seal_and_queue(c, &req->data_pdu);
}

void nvmf_req_set_status(struct nvmf_req *req, int sct, int sc)
{
	req->cpl.status.sct = sct;
	req->cpl.status.sc = sc;
	req->cpl.status.dnr = sct != BRISK_NVME_SCT_GENERIC || sc != BRISK_NVME_SC_SUCCESS;
}

/* The request is free once its PDUs are sent (or dropped); lent read
 * buffers go back to their bdev on their own (zcopy.c). */
static void req_free(struct nvmf_req *req)
{
	struct nvmf_conn *c = req->conn;

	if (req->zc != NULL) {
		nvmf_zcopy_release(req);
	}
	req->state = NVMF_REQ_FREE;
	TAILQ_INSERT_HEAD(&c->free_reqs, req, link);
}

static bool req_success(const struct nvmf_req *req)
{
	return req->cpl.status.sct == BRISK_NVME_SCT_GENERIC && req->cpl.status.sc == BRISK_NVME_SC_SUCCESS;
}

/* Queues C2HData (reads, with SUCCESS when allowed) and the CapsuleResp. */
void nvmf_req_complete(struct nvmf_req *req)
{
	struct nvmf_conn *c = req->conn;
	struct brisk_nvme_tcp_data_hdr *d;
	struct brisk_nvme_tcp_rsp *rsp;
	bool success_flag = c->pg != NULL && g_nvmf_tgt.tcp->opts.c2h_success && req_success(req);

	nvmf_fused_req_done(req);
	nvmf_ns_io_unhold(req);
	if (c->dead) {
		req_free(req);
		return;
	}
	req->state = NVMF_REQ_SENDING;
	req->cpl.cid = req->cmd.cid;
	req->cpl.sqid = c->qid;
	c->sqhd = c->sqsize ? (uint16_t)((c->sqhd + 1) % c->sqsize) : 0;
	req->cpl.sqhd = c->sqhd;
	if (req->c2h && req->length > 0 && req_success(req)) {
		d = out_pdu_init(c, &req->data_pdu, BRISK_NVME_TCP_PDU_C2H_DATA, sizeof(*d), req->buf, req->length);
		if (req->zc != NULL) { /* straight from the bdev's buffers */
			req->data_pdu.iov = req->zc->iov;
			req->data_pdu.iovcnt = req->zc->iovcnt;
		}
		d->ch.flags |= BRISK_NVME_TCP_FLAG_LAST_PDU | (success_flag ? BRISK_NVME_TCP_FLAG_SUCCESS : 0);
		d->cccid = req->cmd.cid;
		d->datal = req->length;
		req->data_pdu.req = req;
		req->data_pdu.last_of_req = success_flag;
		out_pdu_seal_and_queue(c, &req->data_pdu);
		if (success_flag) {
			nvmf_poll_group_kick(c->pg);
			return;
		}
	}
	rsp = out_pdu_init(c, &req->resp_pdu, BRISK_NVME_TCP_PDU_CAPSULE_RESP, sizeof(*rsp), NULL, 0);
	rsp->rccqe = req->cpl;
	req->resp_pdu.req = req;
	req->resp_pdu.last_of_req = true;
	out_pdu_seal_and_queue(c, &req->resp_pdu);
	nvmf_poll_group_kick(c->pg);
}

static uint32_t pdu_total(const struct nvmf_out_pdu *p)
{
	return p->hdr_len + p->data_len + (p->has_ddgst ? BRISK_NVME_TCP_DIGEST_LEN : 0);
}

/* Adds seg from *skip bytes on (what the queue already sent); returns the
 * iovec count. */
static int iov_add(struct iovec *iov, int n, const struct iovec *seg, uint32_t *skip)
{
	if (seg->iov_len <= *skip) {
		*skip -= (uint32_t)seg->iov_len;
		return n;
	}
	iov[n].iov_base = (uint8_t *)seg->iov_base + *skip;
	iov[n].iov_len = seg->iov_len - *skip;
	*skip = 0;
	return n + 1;
}

/* iovecs for the queue from the current offset; returns their count. */
static int build_iov(struct nvmf_conn *c, struct iovec *iov)
{
	struct nvmf_out_pdu *p;
	uint32_t skip = c->out_off;
	int n = 0;

	TAILQ_FOREACH(p, &c->out, link) {
		struct iovec hdr = { p->hdr, p->hdr_len };
		struct iovec dgst = { &p->ddgst, p->has_ddgst ? BRISK_NVME_TCP_DIGEST_LEN : 0 };

		if (n + p->iovcnt + 2 > SEND_MAX_IOV) {
			break;
		}
		n = iov_add(iov, n, &hdr, &skip);
		for (int i = 0; i < p->iovcnt; i++) {
			n = iov_add(iov, n, &p->iov[i], &skip);
		}
		n = iov_add(iov, n, &dgst, &skip);
	}
	return n;
}

static void consume(struct nvmf_conn *c, size_t sent)
{
	struct nvmf_out_pdu *p;

	while (sent > 0 && (p = TAILQ_FIRST(&c->out)) != NULL) {
		uint32_t left = pdu_total(p) - c->out_off;

		if (sent < left) {
			c->out_off += sent;
			return;
		}
		sent -= left;
		c->out_off = 0;
		TAILQ_REMOVE(&c->out, p, link);
		if (p->last_of_req) {
			req_free(p->req);
		}
	}
}

/* Writes what the socket takes. 1 if bytes went out, 0 if none, -1 on a
 * broken connection. */
int nvmf_conn_flush(struct nvmf_conn *c)
{
	struct iovec iov[SEND_MAX_IOV];
	struct msghdr msg = { .msg_iov = iov };
	ssize_t n;
	int progress = 0;

	while (!TAILQ_EMPTY(&c->out)) {
		msg.msg_iovlen = build_iov(c, iov);
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				return progress;
			}
			return -1;
		}
		consume(c, (size_t)n);
		progress = 1;
	}
	return progress;
}

/* A closed connection's queue is never sent: its requests are released
 * (lent read buffers go back to their bdev) so the connection can go. */
void nvmf_conn_out_drop(struct nvmf_conn *c)
{
	struct nvmf_out_pdu *p;

	while ((p = TAILQ_FIRST(&c->out)) != NULL) {
		TAILQ_REMOVE(&c->out, p, link);
		if (p->last_of_req) {
			req_free(p->req);
		}
	}
	c->out_off = 0;
}
