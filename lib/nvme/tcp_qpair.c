/*
 * NVMe/TCP queue pair I/O (host): each submission entry qpair.c writes is
 * sent as a CapsuleCmd (in-capsule data up to the controller's limit, or a
 * transport SGL the controller pulls with R2T -> H2CData); C2HData fills
 * the caller's buffer; each CapsuleResp (or C2HData with SUCCESS) goes into
 * the completion ring with the phase tag, where qpair.c reaps it. Every PDU
 * must name an outstanding command and stay inside its data, else the
 * connection (and the controller) fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/ticks.h>

#include "nvme_tcp.h"

#define OPC_DIR_H2C 1u
#define OPC_DIR_C2H 2u

struct nvme_tcp_qpair *nvme_tcp_qpair_new(struct brisk_nvme_qpair *qpair)
{
	struct nvme_tcp_qpair *tq = calloc(1, sizeof(*tq));
	const struct brisk_nvme_transport_id *trid = &qpair->ctrlr->trid;

	if (tq == NULL) {
		return NULL;
	}
	tq->posted = calloc(qpair->num_trackers, 1);
	if (tq->posted == NULL) {
		free(tq);
		return NULL;
	}
	snprintf(tq->name, sizeof(tq->name), "%s:%s qid %u", trid->traddr, trid->trsvcid, qpair->id);
	tq->conn.name = tq->name;
	tq->conn.fd = -1;
	qpair->transport_ctx = tq;
	return tq;
}

void nvme_tcp_qpair_free(struct brisk_nvme_qpair *qpair)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);

	if (tq == NULL) {
		return;
	}
	nvme_tcp_conn_close(&tq->conn);
	free(tq->posted);
	free(tq);
	qpair->transport_ctx = NULL;
}

void nvme_tcp_qpair_reset(struct brisk_nvme_qpair *qpair)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);

	tq->sq_sent = 0;
	tq->cq_tail = 0;
	tq->cq_phase = 1;
	memset(tq->posted, 0, qpair->num_trackers);
}

int nvme_tcp_qpair_open_start(struct brisk_nvme_qpair *qpair)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	struct brisk_nvme_ctrlr *ctrlr = qpair->ctrlr;
	const struct brisk_nvmf_ctrlr_fabrics_data *f = (const void *)ctrlr->cdata.nvmf;
	int rc;

	rc = nvme_tcp_conn_open_start(&tq->conn, &ctrlr->trid, ctrlr->opts.header_digest, ctrlr->opts.data_digest);
	if (qpair->id == 0) {
		tq->conn.max_icd = NVME_TCP_ADMIN_ICD;
	} else {
		tq->conn.max_icd = f->ioccsz > 4 ? (f->ioccsz - 4u) * 16u : 0;
	}
	if (tq->conn.max_icd > NVME_TCP_MAX_H2C_CHUNK) {
		tq->conn.max_icd = NVME_TCP_MAX_H2C_CHUNK; /* what tx holds */
	}
	nvme_tcp_qpair_reset(qpair);
	return rc;
}

/* ---- The caller's data ---- */

static uint8_t *payload_base(struct nvme_tracker *tr)
{
	struct nvme_request *req = tr->req;

	if (req->payload_type == NVME_PAYLOAD_INLINE) {
		return tr->list; /* prp.c copied the caller's bytes there */
	}
	return (uint8_t *)req->buf + req->payload_offset;
}

/* Copies len bytes at off of the command's data to or from buf. */
static int payload_copy(struct nvme_tracker *tr, uint32_t off, uint8_t *buf, uint32_t len,
			bool to_payload)
{
	struct nvme_request *req = tr->req;
	void *addr;
	uint32_t seg;

	if (req->payload_type != NVME_PAYLOAD_SGL) {
		uint8_t *p = payload_base(tr) + off;

		memcpy(to_payload ? p : buf, to_payload ? buf : p, len);
		return 0;
	}
	req->reset_sgl_fn(req->cb_arg, req->payload_offset + off);
	while (len > 0) {
		if (req->next_sge_fn(req->cb_arg, &addr, &seg) != 0 || seg == 0) {
			return -EINVAL;
		}
		seg = seg < len ? seg : len;
		memcpy(to_payload ? addr : buf, to_payload ? buf : addr, seg);
		buf += seg;
		len -= seg;
	}
	return 0;
}

static uint32_t req_size(const struct nvme_request *req)
{
	return req->payload_type == NVME_PAYLOAD_NONE ? 0 : req->payload_size;
}

/* ---- Sending ---- */

/* Builds a CapsuleCmd in tx with icd bytes of in-capsule data to follow at
 * the returned offset; size is the command's whole data length. */
static uint32_t capsule_build(struct nvme_tcp_qpair *tq, const struct brisk_nvme_cmd *sqe,
			      uint32_t size, uint32_t icd)
{
	struct brisk_nvme_tcp_cmd *pdu = (void *)tq->conn.tx;
	struct brisk_nvme_sgl_descriptor *sgl = &pdu->ccsqe.dptr.sgl1;
	uint32_t pdo = nvme_tcp_pdu_init(&tq->conn, &pdu->ch, BRISK_NVME_TCP_PDU_CAPSULE_CMD,
					 sizeof(*pdu), icd);

	pdu->ccsqe = *sqe;
	pdu->ccsqe.psdt = BRISK_NVME_PSDT_SGL_MPTR_CONTIG;
	memset(sgl, 0, sizeof(*sgl));
	sgl->length = size;
	if (icd != 0) {
		sgl->type_subtype = BRISK_NVME_SGL_TYPE_DATA_BLOCK << 4 | BRISK_NVME_SGL_SUBTYPE_OFFSET;
	} else {
		sgl->type_subtype = BRISK_NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK << 4 |
				    BRISK_NVME_SGL_SUBTYPE_TRANSPORT;
	}
	return pdo;
}

static int pdu_send(struct nvme_tcp_qpair *tq)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)tq->conn.tx;

	nvme_tcp_pdu_seal(&tq->conn, tq->conn.tx);
	return nvme_tcp_conn_send(&tq->conn, tq->conn.tx, ch->plen);
}

static int send_command(struct brisk_nvme_qpair *qpair, const struct brisk_nvme_cmd *sqe)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	struct nvme_tracker *tr = nvme_qpair_find_tracker(qpair, sqe->cid);
	uint32_t size, icd = 0, pdo;

	if (tr == NULL) {
		return -EINVAL;
	}
	size = req_size(tr->req);
	if ((sqe->opc & 3u) == OPC_DIR_H2C && size <= tq->conn.max_icd) {
		icd = size;
	}
	tq->posted[sqe->cid] = 0;
	pdo = capsule_build(tq, sqe, size, icd);
	if (icd != 0 && payload_copy(tr, 0, tq->conn.tx + pdo, icd, false) != 0) {
		return -EINVAL;
	}
	return pdu_send(tq);
}

/* The qpair's "doorbell": sends the entries written since the last one. */
void nvme_tcp_ring_sq(struct brisk_nvme_qpair *qpair, uint16_t tail)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);

	while (tq->sq_sent != tail) {
		if (send_command(qpair, &qpair->sq[tq->sq_sent]) != 0) {
			nvme_ctrlr_set_failed(qpair->ctrlr, "a command could not be sent over TCP");
			return;
		}
		tq->sq_sent = (uint16_t)((tq->sq_sent + 1u) % qpair->num_entries);
	}
}

/* ---- Receiving ---- */

static uint32_t cq_pending(struct brisk_nvme_qpair *qpair, struct nvme_tcp_qpair *tq)
{
	if (tq->cq_phase == qpair->phase) {
		return (uint32_t)tq->cq_tail - qpair->cq_head;
	}
	return qpair->num_entries - (uint32_t)qpair->cq_head + tq->cq_tail;
}

static int post_cpl(struct brisk_nvme_qpair *qpair, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	struct brisk_nvme_cpl *slot = &qpair->cq[tq->cq_tail];

	if (cpl->cid >= qpair->num_trackers || qpair->trackers[cpl->cid].req == NULL ||
	    tq->posted[cpl->cid] || cq_pending(qpair, tq) >= qpair->num_entries - 1u) {
		BRISK_ERRLOG("nvme tcp %s: completion for cid %u, which is not outstanding\n",
			     tq->name, cpl->cid);
		return -EPROTO;
	}
	tq->posted[cpl->cid] = 1;
	*slot = *cpl;
	slot->status.p = tq->cq_phase;
	if (++tq->cq_tail == qpair->num_entries) {
		tq->cq_tail = 0;
		tq->cq_phase ^= 1u;
	}
	return 0;
}

static int handle_resp(struct brisk_nvme_qpair *qpair, const struct brisk_nvme_tcp_rsp *rsp)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);

	if (rsp->rccqe.cid == NVME_TCP_SYNC_CID) {
		tq->sync_cpl = rsp->rccqe;
		tq->sync_done = true;
		return 0;
	}
	return post_cpl(qpair, &rsp->rccqe);
}

/* The outstanding command a data PDU names, moving data in direction dir. */
static struct nvme_tracker *data_tracker(struct brisk_nvme_qpair *qpair, uint16_t cid,
					 uint32_t dir, uint32_t off, uint32_t len)
{
	struct nvme_tracker *tr = nvme_qpair_find_tracker(qpair, cid);

	if (tr == NULL || (tr->req->cmd.opc & 3u) != dir || len == 0 ||
	    off > req_size(tr->req) || len > req_size(tr->req) - off) {
		BRISK_ERRLOG("nvme tcp %s: data PDU for cid %u out of range (offset %u length %u)\n",
			     nvme_tcp_qp(qpair)->name, cid, off, len);
		return NULL;
	}
	return tr;
}

static int handle_c2h(struct brisk_nvme_qpair *qpair, const struct brisk_nvme_tcp_data_hdr *h,
		      const uint8_t *data, uint32_t dlen)
{
	struct nvme_tracker *tr = data_tracker(qpair, h->cccid, OPC_DIR_C2H, h->datao, dlen);
	struct brisk_nvme_cpl cpl = { .cid = h->cccid, .sqid = qpair->id };

	if (tr == NULL || payload_copy(tr, h->datao, (uint8_t *)data, dlen, true) != 0) {
		return -EPROTO;
	}
	if (!(h->ch.flags & BRISK_NVME_TCP_FLAG_SUCCESS)) {
		return 0;
	}
	if (!(h->ch.flags & BRISK_NVME_TCP_FLAG_LAST_PDU)) {
		BRISK_ERRLOG("nvme tcp %s: C2HData SUCCESS without LAST_PDU\n", nvme_tcp_qp(qpair)->name);
		return -EPROTO;
	}
	return post_cpl(qpair, &cpl);
}

static int send_h2c(struct nvme_tcp_qpair *tq, struct nvme_tracker *tr,
		    const struct brisk_nvme_tcp_r2t *r2t, uint32_t off, uint32_t len)
{
	struct brisk_nvme_tcp_data_hdr *h = (void *)tq->conn.tx;
	uint32_t pdo = nvme_tcp_pdu_init(&tq->conn, &h->ch, BRISK_NVME_TCP_PDU_H2C_DATA,
					 sizeof(*h), len);

	h->cccid = r2t->cccid;
	h->ttag = r2t->ttag;
	h->datao = off;
	h->datal = len;
	if (off + len == r2t->r2to + r2t->r2tl) {
		h->ch.flags |= BRISK_NVME_TCP_FLAG_LAST_PDU;
	}
	if (payload_copy(tr, off, tq->conn.tx + pdo, len, false) != 0) {
		return -EINVAL;
	}
	return pdu_send(tq);
}

static int handle_r2t(struct brisk_nvme_qpair *qpair, const struct brisk_nvme_tcp_r2t *r2t)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	struct nvme_tracker *tr = data_tracker(qpair, r2t->cccid, OPC_DIR_H2C, r2t->r2to, r2t->r2tl);
	uint32_t chunk = tq->conn.maxh2cdata < NVME_TCP_MAX_H2C_CHUNK ? tq->conn.maxh2cdata :
			 NVME_TCP_MAX_H2C_CHUNK;
	uint32_t end = r2t->r2to + r2t->r2tl;

	if (tr == NULL) {
		return -EPROTO;
	}
	for (uint32_t off = r2t->r2to; off < end; off += chunk) {
		int rc = send_h2c(tq, tr, r2t, off, end - off < chunk ? end - off : chunk);

		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

static int handle_pdu(void *arg, const uint8_t *pdu, const uint8_t *data, uint32_t dlen)
{
	struct brisk_nvme_qpair *qpair = arg;
	const struct brisk_nvme_tcp_term_req *term = (const void *)pdu;

	switch (pdu[0]) {
	case BRISK_NVME_TCP_PDU_CAPSULE_RESP:
		return handle_resp(qpair, (const void *)pdu);
	case BRISK_NVME_TCP_PDU_C2H_DATA:
		return handle_c2h(qpair, (const void *)pdu, data, dlen);
	case BRISK_NVME_TCP_PDU_R2T:
		return handle_r2t(qpair, (const void *)pdu);
	default: /* nvme_tcp_ch_check let only C2HTermReq through besides */
		BRISK_ERRLOG("nvme tcp %s: the controller ended the connection (C2HTermReq FES %u)\n",
			     nvme_tcp_qp(qpair)->name, term->fes);
		return -ECONNRESET;
	}
}

int nvme_tcp_qpair_poll(struct brisk_nvme_qpair *qpair)
{
	return nvme_tcp_conn_recv(&nvme_tcp_qp(qpair)->conn, handle_pdu, qpair);
}

int nvme_tcp_sync_send(struct brisk_nvme_qpair *qpair, struct brisk_nvme_cmd *cmd, const void *data, uint32_t dlen)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	uint32_t pdo;

	cmd->cid = NVME_TCP_SYNC_CID;
	tq->sync_done = false;
	pdo = capsule_build(tq, cmd, dlen, dlen);
	if (dlen != 0) {
		memcpy(tq->conn.tx + pdo, data, dlen);
	}
	return pdu_send(tq);
}

int nvme_tcp_sync_poll(struct brisk_nvme_qpair *qpair, struct brisk_nvme_cpl *cpl)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	int rc = nvme_tcp_qpair_poll(qpair);

	if (rc != 0) {
		return rc;
	}
	if (!tq->sync_done) {
		return -EAGAIN;
	}
	*cpl = tq->sync_cpl;
	return 0;
}

int nvme_tcp_sync_cmd(struct brisk_nvme_qpair *qpair, struct brisk_nvme_cmd *cmd, const void *data, uint32_t dlen,
		      struct brisk_nvme_cpl *cpl)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	uint64_t deadline = brisk_get_ticks() + nvme_ticks_from_us(NVME_TCP_TIMEOUT_US);
	int rc = nvme_tcp_sync_send(qpair, cmd, data, dlen);

	if (rc != 0) {
		return rc;
	}
	while ((rc = nvme_tcp_sync_poll(qpair, cpl)) == -EAGAIN) {
		if (brisk_get_ticks() > deadline) {
			BRISK_ERRLOG("nvme tcp %s: no response to a fabrics command\n", tq->name);
			tq->conn.dead = true;
			return -ETIMEDOUT;
		}
		nvme_tcp_conn_wait(&tq->conn, 1000);
	}
	return rc;
}
