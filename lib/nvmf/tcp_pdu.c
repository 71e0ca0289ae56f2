/*
 * NVMe/TCP PDU checks: pure functions over a received common header and
 * the limits of its connection, so unit tests can feed them anything. Each
 * returns 0 or the fatal error status (FES) of the termination request the
 * connection must send, with *fei the byte offset of the offending field.
 */
#include <string.h>

#include <brisk/crc32c.h>

#include "nvmf_internal.h"

uint32_t nvmf_tcp_expected_hlen(uint8_t pdu_type)
{
	switch (pdu_type) {
	case BRISK_NVME_TCP_PDU_IC_REQ:
		return sizeof(struct brisk_nvme_tcp_ic_req);
	case BRISK_NVME_TCP_PDU_H2C_TERM_REQ:
		return sizeof(struct brisk_nvme_tcp_term_req);
	case BRISK_NVME_TCP_PDU_CAPSULE_CMD:
		return sizeof(struct brisk_nvme_tcp_cmd);
	case BRISK_NVME_TCP_PDU_H2C_DATA:
		return sizeof(struct brisk_nvme_tcp_data_hdr);
	default:
		return 0; /* not a PDU a host sends */
	}
}

static bool pdu_has_digests(uint8_t pdu_type)
{
	return pdu_type == BRISK_NVME_TCP_PDU_CAPSULE_CMD || pdu_type == BRISK_NVME_TCP_PDU_H2C_DATA;
}

uint32_t nvmf_tcp_hdgst_len(const struct brisk_nvme_tcp_common_hdr *ch)
{
	return pdu_has_digests(ch->pdu_type) && (ch->flags & BRISK_NVME_TCP_FLAG_HDGST) ?
	       BRISK_NVME_TCP_DIGEST_LEN : 0;
}

uint32_t nvmf_tcp_data_len(const struct brisk_nvme_tcp_common_hdr *ch)
{
	uint32_t dd = ch->flags & BRISK_NVME_TCP_FLAG_DDGST ? BRISK_NVME_TCP_DIGEST_LEN : 0;

	if (!pdu_has_digests(ch->pdu_type) || ch->plen <= ch->hlen + nvmf_tcp_hdgst_len(ch)) {
		return 0;
	}
	return ch->plen - ch->pdo - dd;
}

static int check_sequence(const struct brisk_nvme_tcp_common_hdr *ch, const struct nvmf_tcp_limits *lim)
{
	if (!lim->ic_done) {
		return ch->pdu_type == BRISK_NVME_TCP_PDU_IC_REQ ? 0 : BRISK_NVME_TCP_FES_PDU_SEQUENCE_ERROR;
	}
	if (ch->pdu_type == BRISK_NVME_TCP_PDU_IC_REQ) {
		return BRISK_NVME_TCP_FES_PDU_SEQUENCE_ERROR;
	}
	return 0;
}

/* Length, offset and digest flags of a CapsuleCmd or H2CData header. */
static int check_data_layout(const struct brisk_nvme_tcp_common_hdr *ch, const struct nvmf_tcp_limits *lim,
			     uint32_t *fei)
{
	uint32_t hd = nvmf_tcp_hdgst_len(ch), dd, dlen;
	bool is_h2c = ch->pdu_type == BRISK_NVME_TCP_PDU_H2C_DATA;

	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, flags);
	if ((hd != 0) != lim->hdgst) {
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, plen);
	if (ch->plen < ch->hlen + hd || (is_h2c && ch->plen == ch->hlen + hd)) {
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	if (ch->plen == ch->hlen + hd) {
		return 0; /* no data */
	}
	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, flags);
	dd = ch->flags & BRISK_NVME_TCP_FLAG_DDGST ? BRISK_NVME_TCP_DIGEST_LEN : 0;
	if ((dd != 0) != lim->ddgst) {
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, pdo);
	if (ch->pdo < ch->hlen + hd || (uint64_t)ch->pdo + dd >= ch->plen) {
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	dlen = ch->plen - ch->pdo - dd;
	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, plen);
	if (dlen > (is_h2c ? lim->maxh2cdata : lim->max_icd)) {
		return BRISK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED;
	}
	return 0;
}

int nvmf_tcp_check_ch(const struct brisk_nvme_tcp_common_hdr *ch, const struct nvmf_tcp_limits *lim,
		      uint32_t *fei)
{
	uint32_t hlen = nvmf_tcp_expected_hlen(ch->pdu_type);
	int fes;

	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, pdu_type);
	if (hlen == 0) {
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	fes = check_sequence(ch, lim);
	if (fes != 0) {
		return fes;
	}
	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, hlen);
	if (ch->hlen != hlen) {
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	*fei = offsetof(struct brisk_nvme_tcp_common_hdr, plen);
	switch (ch->pdu_type) {
	case BRISK_NVME_TCP_PDU_IC_REQ:
		return ch->plen == hlen ? 0 : BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	case BRISK_NVME_TCP_PDU_H2C_TERM_REQ:
		return ch->plen >= hlen && ch->plen <= hlen + BRISK_NVME_TCP_TERM_REQ_MAX_DATA ? 0 :
		       BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	default:
		return check_data_layout(ch, lim, fei);
	}
}

bool nvmf_tcp_hdgst_ok(const void *hdr, uint32_t hlen)
{
	uint32_t want;

	memcpy(&want, (const uint8_t *)hdr + hlen, sizeof(want));
	return brisk_crc32c(hdr, hlen) == want;
}

int nvmf_tcp_check_icreq(const struct brisk_nvme_tcp_ic_req *ic, uint32_t *fei)
{
	if (ic->pfv != BRISK_NVME_TCP_PFV_1_0) {
		*fei = offsetof(struct brisk_nvme_tcp_ic_req, pfv);
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	if (ic->hpda > 31) {
		*fei = offsetof(struct brisk_nvme_tcp_ic_req, hpda);
		return BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD;
	}
	return 0;
}

void nvmf_tcp_fill_icresp(struct brisk_nvme_tcp_ic_resp *r, const struct brisk_nvme_tcp_ic_req *ic,
			  uint32_t maxh2cdata)
{
	memset(r, 0, sizeof(*r));
	r->ch.pdu_type = BRISK_NVME_TCP_PDU_IC_RESP;
	r->ch.hlen = sizeof(*r);
	r->ch.plen = sizeof(*r);
	r->pfv = BRISK_NVME_TCP_PFV_1_0;
	r->cpda = 0;
	r->dgst = ic->dgst & (BRISK_NVME_TCP_DGST_HDR | BRISK_NVME_TCP_DGST_DATA);
	r->maxh2cdata = maxh2cdata;
}
