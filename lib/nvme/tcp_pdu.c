/*
 * NVMe/TCP PDU building and checking for the host (TP 8000): common
 * headers with the data offset and digests negotiated at ICReq/ICResp,
 * and every check a received PDU passes before it is acted on (type,
 * lengths, data offset, digest flags, digests). Pure functions: no socket.
 */
#include <errno.h>
#include <string.h>

#include <brisk/crc32c.h>

#include "nvme_tcp.h"

static uint32_t align_up(uint32_t v, uint32_t a)
{
	return a <= 1 ? v : (v + a - 1) / a * a;
}

uint32_t nvme_tcp_hdr_total(const struct nvme_tcp_conn *c, uint32_t hlen)
{
	return hlen + (c->hdgst ? BRISK_NVME_TCP_DIGEST_LEN : 0);
}

uint32_t nvme_tcp_pdu_init(const struct nvme_tcp_conn *c, struct brisk_nvme_tcp_common_hdr *ch,
			   uint8_t type, uint32_t hlen, uint32_t dlen)
{
	uint32_t pdo = 0;

	memset(ch, 0, hlen);
	ch->pdu_type = type;
	ch->hlen = (uint8_t)hlen;
	ch->flags = c->hdgst ? BRISK_NVME_TCP_FLAG_HDGST : 0;
	ch->plen = nvme_tcp_hdr_total(c, hlen);
	if (dlen != 0) {
		pdo = align_up(ch->plen, c->cpda_align);
		ch->pdo = (uint8_t)pdo;
		ch->plen = pdo + dlen;
		if (c->ddgst) {
			ch->flags |= BRISK_NVME_TCP_FLAG_DDGST;
			ch->plen += BRISK_NVME_TCP_DIGEST_LEN;
		}
	}
	return pdo;
}

void nvme_tcp_pdu_seal(const struct nvme_tcp_conn *c, uint8_t *pdu)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)pdu;
	uint32_t crc;

	(void)c;
	if (ch->flags & BRISK_NVME_TCP_FLAG_HDGST) {
		crc = brisk_crc32c(pdu, ch->hlen);
		memcpy(pdu + ch->hlen, &crc, sizeof(crc));
	}
	if (ch->flags & BRISK_NVME_TCP_FLAG_DDGST) {
		crc = brisk_crc32c(pdu + ch->pdo, ch->plen - ch->pdo - BRISK_NVME_TCP_DIGEST_LEN);
		memcpy(pdu + ch->plen - BRISK_NVME_TCP_DIGEST_LEN, &crc, sizeof(crc));
	}
}

void nvme_tcp_ic_req_build(struct brisk_nvme_tcp_ic_req *req, bool hdgst, bool ddgst)
{
	memset(req, 0, sizeof(*req));
	req->ch.pdu_type = BRISK_NVME_TCP_PDU_IC_REQ;
	req->ch.hlen = sizeof(*req);
	req->ch.plen = sizeof(*req);
	req->pfv = BRISK_NVME_TCP_PFV_1_0;
	req->hpda = 0; /* any data offset will do */
	req->dgst = (hdgst ? BRISK_NVME_TCP_DGST_HDR : 0) | (ddgst ? BRISK_NVME_TCP_DGST_DATA : 0);
	req->maxr2t = 0; /* one R2T outstanding per command */
}

int nvme_tcp_ic_resp_check(struct nvme_tcp_conn *c, const struct brisk_nvme_tcp_ic_resp *r,
			   const char **why)
{
	uint8_t asked = (c->hdgst ? BRISK_NVME_TCP_DGST_HDR : 0) |
			(c->ddgst ? BRISK_NVME_TCP_DGST_DATA : 0);

	if (r->ch.pdu_type != BRISK_NVME_TCP_PDU_IC_RESP || r->ch.hlen != sizeof(*r) ||
	    r->ch.plen != sizeof(*r)) {
		*why = "ICResp expected (type, hlen or plen wrong)";
	} else if (r->pfv != BRISK_NVME_TCP_PFV_1_0) {
		*why = "ICResp PFV is not 0";
	} else if (r->cpda > 31) {
		*why = "ICResp CPDA above 31";
	} else if (r->maxh2cdata < 4096 || r->maxh2cdata % 4 != 0) {
		*why = "ICResp MAXH2CDATA below 4096 or not a multiple of 4";
	} else if ((r->dgst & ~asked) != 0) {
		*why = "ICResp enables a digest the host did not ask for";
	} else {
		c->hdgst = (r->dgst & BRISK_NVME_TCP_DGST_HDR) != 0;
		c->ddgst = (r->dgst & BRISK_NVME_TCP_DGST_DATA) != 0;
		c->cpda_align = (r->cpda + 1u) * 4u;
		c->maxh2cdata = r->maxh2cdata;
		return 0;
	}
	return -EPROTO;
}

/* Header and length rules per type; data only in C2HData and TermReq. */
static const char *ch_check_type(const struct nvme_tcp_conn *c,
				 const struct brisk_nvme_tcp_common_hdr *ch)
{
	uint32_t hl = nvme_tcp_hdr_total(c, ch->hlen);

	switch (ch->pdu_type) {
	case BRISK_NVME_TCP_PDU_C2H_TERM_REQ:
		return ch->hlen == sizeof(struct brisk_nvme_tcp_term_req) &&
		       ch->plen >= ch->hlen && ch->plen <= BRISK_NVME_TCP_TERM_REQ_MAX_DATA + (uint32_t)ch->hlen ?
		       NULL : "C2HTermReq lengths out of range";
	case BRISK_NVME_TCP_PDU_CAPSULE_RESP:
	case BRISK_NVME_TCP_PDU_R2T:
		return ch->hlen == 24 && ch->pdo == 0 && ch->plen == hl &&
		       !(ch->flags & BRISK_NVME_TCP_FLAG_DDGST) ? NULL :
		       "CapsuleResp/R2T hlen, pdo or plen wrong";
	case BRISK_NVME_TCP_PDU_C2H_DATA:
		if (ch->hlen != sizeof(struct brisk_nvme_tcp_data_hdr) || ch->pdo < hl ||
		    ch->plen <= ch->pdo + (c->ddgst ? BRISK_NVME_TCP_DIGEST_LEN : 0u)) {
			return "C2HData hlen, pdo or plen wrong";
		}
		return !!(ch->flags & BRISK_NVME_TCP_FLAG_DDGST) == c->ddgst ? NULL :
		       "C2HData data digest flag differs from the negotiated one";
	default:
		return "PDU type a host does not receive";
	}
}

int nvme_tcp_ch_check(const struct nvme_tcp_conn *c, const struct brisk_nvme_tcp_common_hdr *ch,
		      const char **why)
{
	*why = ch_check_type(c, ch);
	if (*why == NULL && ch->pdu_type != BRISK_NVME_TCP_PDU_C2H_TERM_REQ &&
	    !!(ch->flags & BRISK_NVME_TCP_FLAG_HDGST) != c->hdgst) {
		*why = "header digest flag differs from the negotiated one";
	}
	if (*why == NULL && ch->plen > c->rx_cap) {
		*why = "PDU longer than the host's receive buffer (data limit)";
	}
	return *why == NULL ? 0 : -EPROTO;
}

int nvme_tcp_pdu_check(const struct nvme_tcp_conn *c, const uint8_t *pdu, const uint8_t **data,
		       uint32_t *dlen, const char **why)
{
	const struct brisk_nvme_tcp_common_hdr *ch = (const void *)pdu;
	uint32_t crc;

	*data = NULL;
	*dlen = 0;
	if (ch->flags & BRISK_NVME_TCP_FLAG_HDGST && ch->pdu_type != BRISK_NVME_TCP_PDU_C2H_TERM_REQ) {
		memcpy(&crc, pdu + ch->hlen, sizeof(crc));
		if (brisk_crc32c(pdu, ch->hlen) != crc) {
			*why = "header digest mismatch";
			return -EPROTO;
		}
	}
	if (ch->pdu_type != BRISK_NVME_TCP_PDU_C2H_DATA) {
		return 0;
	}
	*data = pdu + ch->pdo;
	*dlen = ch->plen - ch->pdo - (c->ddgst ? BRISK_NVME_TCP_DIGEST_LEN : 0u);
	if (((const struct brisk_nvme_tcp_data_hdr *)pdu)->datal != *dlen) {
		*why = "C2HData DATAL differs from the PDU's data length";
		return -EPROTO;
	}
	if (c->ddgst) {
		memcpy(&crc, pdu + ch->plen - BRISK_NVME_TCP_DIGEST_LEN, sizeof(crc));
		if (brisk_crc32c(*data, *dlen) != crc) {
			*why = "data digest mismatch";
			return -EPROTO;
		}
	}
	return 0;
}
