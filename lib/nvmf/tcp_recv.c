/*
 * The receiving side of an NVMe/TCP connection, as a state machine over the
 * parts of a PDU (common header, rest of the header and its digest, padding,
 * data, data digest), filled by non-blocking recv: small parts from a
 * per-connection read-ahead buffer, long data straight into its request. Every header is checked (tcp_pdu.c) before anything is
 * read into a request; a bad one sends a C2HTermReq and ends the connection.
 * Complete command capsules go to nvmf_req_exec.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <brisk/crc32c.h>
#include <brisk/log.h>
#include <brisk/readahead.h>

#include "nvmf_internal.h"

#define RECV_MAX_STEPS 128 /* parts per poll: about 40 small PDUs */

static void rx_expect(struct nvmf_conn *c, enum nvmf_rx_state st, void *dst, uint32_t len)
{
	c->rx_state = st;
	c->rx_dst = dst;
	c->rx_need = len;
	c->rx_got = st == NVMF_RX_PSH ? sizeof(struct brisk_nvme_tcp_common_hdr) : 0;
	if (st == NVMF_RX_PSH) {
		c->rx_need += c->rx_got;
	}
}

static void rx_next_pdu(struct nvmf_conn *c)
{
	c->rx_req = NULL;
	c->rx_ddgst_err = false;
	rx_expect(c, NVMF_RX_CH, c->rx_hdr, sizeof(struct brisk_nvme_tcp_common_hdr));
}

/* After the header: padding up to PDO, then data_len bytes into dst. */
static void rx_expect_data(struct nvmf_conn *c, void *dst, uint32_t data_len)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)c->rx_hdr;
	uint32_t pad = ch->pdo - ch->hlen - nvmf_tcp_hdgst_len(ch);

	c->rx_data_len = data_len;
	if (pad > 0) {
		rx_expect(c, NVMF_RX_PAD, c->rx_pad, pad);
		c->rx_dst = dst; /* kept for after the padding */
		c->rx_got = 0;
		c->rx_need = pad;
		return;
	}
	rx_expect(c, NVMF_RX_DATA, dst, data_len);
}

static int on_icreq(struct nvmf_conn *c)
{
	const struct brisk_nvme_tcp_ic_req *ic = (const void *)c->rx_hdr;
	uint32_t fei;
	int fes = nvmf_tcp_check_icreq(ic, &fei);

	if (fes != 0) {
		nvmf_conn_send_term_req(c, fes, fei);
		return 0;
	}
	c->lim.ic_done = true;
	c->lim.hdgst = ic->dgst & BRISK_NVME_TCP_DGST_HDR;
	c->lim.ddgst = ic->dgst & BRISK_NVME_TCP_DGST_DATA;
	nvmf_conn_send_icresp(c, ic, c->lim.maxh2cdata);
	rx_next_pdu(c);
	return 0;
}

static int on_capsule(struct nvmf_conn *c)
{
	const struct brisk_nvme_tcp_cmd *cap = (const void *)c->rx_hdr;
	uint32_t dlen = nvmf_tcp_data_len(&cap->ch);
	struct nvmf_req *req = TAILQ_FIRST(&c->free_reqs);

	if (req == NULL) {
		/* The host sent more commands than its queue holds. */
		nvmf_conn_send_term_req(c, BRISK_NVME_TCP_FES_PDU_SEQUENCE_ERROR, 0);
		return 0;
	}
	TAILQ_REMOVE(&c->free_reqs, req, link);
	memset(&req->cpl, 0, sizeof(req->cpl));
	req->cmd = cap->ccsqe;
	req->length = 0;
	req->h2c_off = 0;
	req->c2h = false;
	req->ns = NULL;
	req->ns_held = false;
	req->state = NVMF_REQ_RX_ICD;
	nvmf_fused_on_capsule(c, req);
	c->rx_req = req;
	if (dlen > 0) {
		rx_expect_data(c, req->buf, dlen);
		return 0;
	}
	c->rx_data_len = 0;
	nvmf_req_exec(req);
	rx_next_pdu(c);
	return 0;
}

static int on_h2c_data(struct nvmf_conn *c)
{
	const struct brisk_nvme_tcp_data_hdr *h = (const void *)c->rx_hdr;
	uint32_t dlen = nvmf_tcp_data_len(&h->ch);
	struct nvmf_req *req;

	if (h->ttag >= c->num_reqs || c->reqs[h->ttag].state != NVMF_REQ_WAIT_H2C ||
	    c->reqs[h->ttag].cmd.cid != h->cccid) {
		nvmf_conn_send_term_req(c, BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD,
					h->ttag >= c->num_reqs ? 10 : 8);
		return 0;
	}
	req = &c->reqs[h->ttag];
	if (h->datal != dlen) {
		nvmf_conn_send_term_req(c, BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD, 16);
		return 0;
	}
	if (h->datao != req->h2c_off || (uint64_t)h->datao + dlen > req->length) {
		nvmf_conn_send_term_req(c, BRISK_NVME_TCP_FES_DATA_OUT_OF_RANGE, 12);
		return 0;
	}
	c->rx_req = req;
	rx_expect_data(c, req->buf + h->datao, dlen);
	return 0;
}

static int on_header(struct nvmf_conn *c)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)c->rx_hdr;

	if (nvmf_tcp_hdgst_len(ch) != 0 && !nvmf_tcp_hdgst_ok(c->rx_hdr, ch->hlen)) {
		nvmf_conn_send_term_req(c, BRISK_NVME_TCP_FES_HDGST_ERROR, 0);
		return 0;
	}
	switch (ch->pdu_type) {
	case BRISK_NVME_TCP_PDU_IC_REQ:
		return on_icreq(c);
	case BRISK_NVME_TCP_PDU_CAPSULE_CMD:
		return on_capsule(c);
	case BRISK_NVME_TCP_PDU_H2C_DATA:
		return on_h2c_data(c);
	default: /* H2CTermReq: the host ends the connection */
		BRISK_NOTICELOG("nvmf: connection %s: host sent a termination request\n", c->peer);
		return -1;
	}
}

static void on_data_done(struct nvmf_conn *c)
{
	struct nvmf_req *req = c->rx_req;
	struct brisk_nvme_tcp_common_hdr *ch = (void *)c->rx_hdr;

	if (ch->pdu_type == BRISK_NVME_TCP_PDU_CAPSULE_CMD) {
		req->h2c_off = c->rx_data_len;
		if (c->rx_ddgst_err) {
			nvmf_req_set_status(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_DATA_TRANSFER_ERROR);
			nvmf_req_complete(req);
		} else {
			nvmf_req_exec(req);
		}
	} else {
		req->h2c_off += c->rx_data_len;
		if (c->rx_ddgst_err) {
			req->cpl.status.sc = BRISK_NVME_SC_DATA_TRANSFER_ERROR;
		}
		if (req->h2c_off == req->length) {
			nvmf_req_exec(req);
		}
	}
	rx_next_pdu(c);
}

/* A part of the PDU is complete: check it and say what to read next.
 * Returns -1 when the connection must close at once. */
static int rx_advance(struct nvmf_conn *c)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)c->rx_hdr;
	uint32_t fei;
	int fes;

	switch (c->rx_state) {
	case NVMF_RX_CH:
		fes = nvmf_tcp_check_ch(ch, &c->lim, &fei);
		if (fes != 0) {
			nvmf_conn_send_term_req(c, fes, fei);
			return 0;
		}
		rx_expect(c, NVMF_RX_PSH, c->rx_hdr, ch->hlen - sizeof(*ch) + nvmf_tcp_hdgst_len(ch));
		return 0;
	case NVMF_RX_PSH:
		return on_header(c);
	case NVMF_RX_PAD:
		rx_expect(c, NVMF_RX_DATA, c->rx_dst, c->rx_data_len);
		return 0;
	case NVMF_RX_DATA:
		if (ch->flags & BRISK_NVME_TCP_FLAG_DDGST) {
			c->rx_state = NVMF_RX_DDGST;
			c->rx_got = 0;
			c->rx_need = BRISK_NVME_TCP_DIGEST_LEN;
			return 0;
		}
		on_data_done(c);
		return 0;
	case NVMF_RX_DDGST:
		c->rx_ddgst_err = brisk_crc32c(c->rx_dst, c->rx_data_len) != c->rx_ddgst;
		if (c->rx_ddgst_err) {
			BRISK_ERRLOG("nvmf: connection %s: data digest error\n", c->peer);
		}
		on_data_done(c);
		return 0;
	default:
		return 0;
	}
}

static uint8_t *rx_cursor(struct nvmf_conn *c)
{
	switch (c->rx_state) {
	case NVMF_RX_CH:
	case NVMF_RX_PSH:
		return c->rx_hdr + c->rx_got;
	case NVMF_RX_PAD:
		return c->rx_pad + c->rx_got;
	case NVMF_RX_DDGST:
		return (uint8_t *)&c->rx_ddgst + c->rx_got;
	default:
		return c->rx_dst + c->rx_got;
	}
}

bool nvmf_conn_rx_staged(const struct nvmf_conn *c)
{
	return brisk_readahead_pending(&c->rx_ra) && c->rx_state != NVMF_RX_ERROR;
}

/* Reads what is there. 1 if bytes came in, 0 if none, -1 if the connection
 * is closed or must close. */
int nvmf_conn_recv(struct nvmf_conn *c)
{
	int progress = 0;

	if (c->rx_state == NVMF_RX_CH && c->rx_got == 0 && c->rx_need == 0) {
		rx_next_pdu(c);
	}
	for (int step = 0; step < RECV_MAX_STEPS && c->rx_state != NVMF_RX_ERROR; step++) {
		if (c->rx_got < c->rx_need) {
			ssize_t n = brisk_readahead_fill(&c->rx_ra, c->fd, rx_cursor(c), c->rx_need - c->rx_got,
							 NVMF_RX_DIRECT_MIN);

			if (n == 0) {
				return -1;
			}
			if (n < 0) {
				return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? progress : -1;
			}
			c->rx_got += (uint32_t)n;
			progress = 1;
		}
		if (c->rx_got == c->rx_need && rx_advance(c) < 0) {
			return -1;
		}
	}
	return progress;
}
