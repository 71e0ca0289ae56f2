/*
 * NVMe over Fabrics and NVMe/TCP wire structures (NVMe-oF 1.1, NVMe/TCP
 * transport binding TP 8000), each checked by _Static_assert on its size and
 * field offsets. Little-endian hosts only, as brisk/nvme_spec.h.
 */
#ifndef BRISK_NVMF_SPEC_H
#define BRISK_NVMF_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include <brisk/nvme_spec.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRISK_NVMF_NQN_MAX_LEN 223 /* bytes, without the terminating NUL */
#define BRISK_NVMF_NQN_MIN_LEN 11  /* "nqn.yyyy-mm." */
#define BRISK_NVMF_DISCOVERY_NQN "nqn.2014-08.org.nvmexpress.discovery"

/* ---- Fabrics command types (opcode 7Fh, fctype at byte 4) ---- */
enum brisk_nvmf_fabric_cmd_type {
	BRISK_NVMF_FCTYPE_PROPERTY_SET = 0x00,
	BRISK_NVMF_FCTYPE_CONNECT = 0x01,
	BRISK_NVMF_FCTYPE_PROPERTY_GET = 0x04,
	BRISK_NVMF_FCTYPE_AUTHENTICATION_SEND = 0x05,
	BRISK_NVMF_FCTYPE_AUTHENTICATION_RECV = 0x06,
	BRISK_NVMF_FCTYPE_DISCONNECT = 0x08,
};

/* Generic fabrics command capsule (64 bytes). */
struct brisk_nvmf_capsule_cmd {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd5[19];
	struct brisk_nvme_sgl_descriptor sgl1;
	uint8_t fabric_specific[24];
};
_Static_assert(sizeof(struct brisk_nvmf_capsule_cmd) == 64, "fabrics command is 64 bytes");
_Static_assert(offsetof(struct brisk_nvmf_capsule_cmd, fctype) == 4, "FCTYPE at 4");
_Static_assert(offsetof(struct brisk_nvmf_capsule_cmd, sgl1) == 24, "SGL1 at 24");

/* Connect command (fctype 01h). */
struct brisk_nvmf_connect_cmd {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd5[19];
	struct brisk_nvme_sgl_descriptor sgl1;
	uint16_t recfmt; /* 40: record format, 0 */
	uint16_t qid;    /* 42 */
	uint16_t sqsize; /* 44: 0's based */
	uint8_t cattr;   /* 46 */
	uint8_t rsvd47;
	uint32_t kato;   /* 48: keep alive timeout, ms */
	uint8_t rsvd52[12];
};
_Static_assert(sizeof(struct brisk_nvmf_connect_cmd) == 64, "Connect is 64 bytes");
_Static_assert(offsetof(struct brisk_nvmf_connect_cmd, recfmt) == 40, "RECFMT at 40");
_Static_assert(offsetof(struct brisk_nvmf_connect_cmd, qid) == 42, "QID at 42");
_Static_assert(offsetof(struct brisk_nvmf_connect_cmd, sqsize) == 44, "SQSIZE at 44");
_Static_assert(offsetof(struct brisk_nvmf_connect_cmd, kato) == 48, "KATO at 48");

/* Connect data (1024 bytes, in-capsule). */
struct brisk_nvmf_connect_data {
	uint8_t hostid[16];
	uint16_t cntlid;     /* 16: FFFFh = dynamic controller */
	uint8_t rsvd18[238];
	char subnqn[256];    /* 256 */
	char hostnqn[256];   /* 512 */
	uint8_t rsvd768[256];
};
_Static_assert(sizeof(struct brisk_nvmf_connect_data) == 1024, "Connect data is 1024 bytes");
_Static_assert(offsetof(struct brisk_nvmf_connect_data, cntlid) == 16, "CNTLID at 16");
_Static_assert(offsetof(struct brisk_nvmf_connect_data, subnqn) == 256, "SUBNQN at 256");
_Static_assert(offsetof(struct brisk_nvmf_connect_data, hostnqn) == 512, "HOSTNQN at 512");
#define BRISK_NVMF_CNTLID_DYNAMIC 0xffff

/* Connect command-specific status codes (SCT 1). */
enum brisk_nvmf_connect_status {
	BRISK_NVMF_SC_CONNECT_INCOMPATIBLE_FORMAT = 0x80,
	BRISK_NVMF_SC_CONNECT_CONTROLLER_BUSY = 0x81,
	BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS = 0x82,
	BRISK_NVMF_SC_CONNECT_RESTART_DISCOVERY = 0x83,
	BRISK_NVMF_SC_CONNECT_INVALID_HOST = 0x84,
};
/* Connect Invalid Parameters: cdw0 = IATTR (bit 16: 0 command, 1 data) and IPO
 * (bits 15:0, byte offset of the bad field). */
#define BRISK_NVMF_CONNECT_IATTR_DATA (1u << 16)

/* Property Get (fctype 04h) and Set (00h). attrib bits 2:0: 0 4 bytes, 1 8 bytes. */
struct brisk_nvmf_property_cmd {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint8_t fctype;
	uint8_t rsvd5[35];
	uint8_t attrib; /* 40 */
	uint8_t rsvd41[3];
	uint32_t ofst;  /* 44 */
	uint64_t value; /* 48: Property Set only */
	uint8_t rsvd56[8];
};
_Static_assert(sizeof(struct brisk_nvmf_property_cmd) == 64, "property command is 64 bytes");
_Static_assert(offsetof(struct brisk_nvmf_property_cmd, attrib) == 40, "ATTRIB at 40");
_Static_assert(offsetof(struct brisk_nvmf_property_cmd, ofst) == 44, "OFST at 44");
_Static_assert(offsetof(struct brisk_nvmf_property_cmd, value) == 48, "VALUE at 48");
#define BRISK_NVMF_PROP_SIZE_4 0
#define BRISK_NVMF_PROP_SIZE_8 1

/* Identify Controller fabrics fields (bytes 1792..2047 of the nvmf[] area). */
struct brisk_nvmf_ctrlr_fabrics_data {
	uint32_t ioccsz;  /* 1792: I/O command capsule size, 16-byte units */
	uint32_t iorcsz;  /* 1796: I/O response capsule size, 16-byte units */
	uint16_t icdoff;  /* 1800: in-capsule data offset, 16-byte units */
	uint8_t ctrattr;  /* 1802 */
	uint8_t msdbd;    /* 1803: max SGL data block descriptors */
	uint8_t rsvd[244];
};
_Static_assert(sizeof(struct brisk_nvmf_ctrlr_fabrics_data) == 256, "fabrics identify area is 256 bytes");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, nvmf) == 1792, "fabrics area at 1792");
#define BRISK_NVME_CNTRLTYPE_IO 1
#define BRISK_NVME_CNTRLTYPE_DISCOVERY 2

/* ---- Discovery log page (log identifier 70h) ---- */
#define BRISK_NVME_LOG_DISCOVERY 0x70
enum brisk_nvmf_trtype {
	BRISK_NVMF_TRTYPE_RDMA = 1,
	BRISK_NVMF_TRTYPE_FC = 2,
	BRISK_NVMF_TRTYPE_TCP = 3,
};
enum brisk_nvmf_subtype {
	BRISK_NVMF_SUBTYPE_DISCOVERY = 1,
	BRISK_NVMF_SUBTYPE_NVME = 2,
};
#define BRISK_NVMF_TREQ_SECURE_CHANNEL_NOT_REQUIRED 0x2
#define BRISK_NVMF_TCP_SECTYPE_NONE 0

struct brisk_nvmf_discovery_log_entry {
	uint8_t trtype;
	uint8_t adrfam;
	uint8_t subtype;
	uint8_t treq;
	uint16_t portid;
	uint16_t cntlid;
	uint16_t asqsz;
	uint8_t rsvd10[22];
	char trsvcid[32];    /* 32 */
	uint8_t rsvd64[192];
	char subnqn[256];    /* 256 */
	char traddr[256];    /* 512 */
	uint8_t tsas[256];   /* 768: for TCP, byte 0 = sectype */
};
_Static_assert(sizeof(struct brisk_nvmf_discovery_log_entry) == 1024, "discovery entry is 1024 bytes");
_Static_assert(offsetof(struct brisk_nvmf_discovery_log_entry, trsvcid) == 32, "TRSVCID at 32");
_Static_assert(offsetof(struct brisk_nvmf_discovery_log_entry, subnqn) == 256, "SUBNQN at 256");
_Static_assert(offsetof(struct brisk_nvmf_discovery_log_entry, traddr) == 512, "TRADDR at 512");
_Static_assert(offsetof(struct brisk_nvmf_discovery_log_entry, tsas) == 768, "TSAS at 768");

struct brisk_nvmf_discovery_log_header {
	uint64_t genctr;
	uint64_t numrec;
	uint16_t recfmt;
	uint8_t rsvd18[1006];
};
_Static_assert(sizeof(struct brisk_nvmf_discovery_log_header) == 1024, "discovery header is 1024 bytes");
_Static_assert(offsetof(struct brisk_nvmf_discovery_log_header, recfmt) == 16, "RECFMT at 16");

/* ---- NVMe/TCP PDUs ---- */
enum brisk_nvme_tcp_pdu_type {
	BRISK_NVME_TCP_PDU_IC_REQ = 0x00,
	BRISK_NVME_TCP_PDU_IC_RESP = 0x01,
	BRISK_NVME_TCP_PDU_H2C_TERM_REQ = 0x02,
	BRISK_NVME_TCP_PDU_C2H_TERM_REQ = 0x03,
	BRISK_NVME_TCP_PDU_CAPSULE_CMD = 0x04,
	BRISK_NVME_TCP_PDU_CAPSULE_RESP = 0x05,
	BRISK_NVME_TCP_PDU_H2C_DATA = 0x06,
	BRISK_NVME_TCP_PDU_C2H_DATA = 0x07,
	BRISK_NVME_TCP_PDU_R2T = 0x09,
};

/* Common header flags. */
#define BRISK_NVME_TCP_FLAG_HDGST (1u << 0)
#define BRISK_NVME_TCP_FLAG_DDGST (1u << 1)
#define BRISK_NVME_TCP_FLAG_LAST_PDU (1u << 2) /* H2CData / C2HData */
#define BRISK_NVME_TCP_FLAG_SUCCESS (1u << 3)  /* C2HData: no CapsuleResp follows */

/* ICReq/ICResp digest field bits. */
#define BRISK_NVME_TCP_DGST_HDR (1u << 0)
#define BRISK_NVME_TCP_DGST_DATA (1u << 1)
#define BRISK_NVME_TCP_DIGEST_LEN 4
#define BRISK_NVME_TCP_PFV_1_0 0

/* Fatal error status of a termination request. */
enum brisk_nvme_tcp_fes {
	BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD = 0x01,
	BRISK_NVME_TCP_FES_PDU_SEQUENCE_ERROR = 0x02,
	BRISK_NVME_TCP_FES_HDGST_ERROR = 0x03,
	BRISK_NVME_TCP_FES_DATA_OUT_OF_RANGE = 0x04,
	BRISK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED = 0x05,
	BRISK_NVME_TCP_FES_UNSUPPORTED_PARAMETER = 0x06,
};

struct brisk_nvme_tcp_common_hdr {
	uint8_t pdu_type;
	uint8_t flags;
	uint8_t hlen; /* header length, without the header digest */
	uint8_t pdo;  /* PDU data offset from the PDU start, 0 without data */
	uint32_t plen; /* whole PDU: header, digests, padding, data */
};
_Static_assert(sizeof(struct brisk_nvme_tcp_common_hdr) == 8, "common header is 8 bytes");
_Static_assert(offsetof(struct brisk_nvme_tcp_common_hdr, plen) == 4, "PLEN at 4");

struct brisk_nvme_tcp_ic_req {
	struct brisk_nvme_tcp_common_hdr ch;
	uint16_t pfv;    /* 8 */
	uint8_t hpda;    /* 10: host PDU data alignment, 4-byte units, 0's based */
	uint8_t dgst;    /* 11 */
	uint32_t maxr2t; /* 12: 0's based */
	uint8_t rsvd16[112];
};
_Static_assert(sizeof(struct brisk_nvme_tcp_ic_req) == 128, "ICReq is 128 bytes");
_Static_assert(offsetof(struct brisk_nvme_tcp_ic_req, hpda) == 10, "HPDA at 10");
_Static_assert(offsetof(struct brisk_nvme_tcp_ic_req, maxr2t) == 12, "MAXR2T at 12");

struct brisk_nvme_tcp_ic_resp {
	struct brisk_nvme_tcp_common_hdr ch;
	uint16_t pfv;        /* 8 */
	uint8_t cpda;        /* 10 */
	uint8_t dgst;        /* 11 */
	uint32_t maxh2cdata; /* 12: bytes, >= 4096 */
	uint8_t rsvd16[112];
};
_Static_assert(sizeof(struct brisk_nvme_tcp_ic_resp) == 128, "ICResp is 128 bytes");
_Static_assert(offsetof(struct brisk_nvme_tcp_ic_resp, maxh2cdata) == 12, "MAXH2CDATA at 12");

/* H2CTermReq and C2HTermReq share this header; data is the offending PDU header. */
struct brisk_nvme_tcp_term_req {
	struct brisk_nvme_tcp_common_hdr ch;
	uint16_t fes;    /* 8 */
	uint8_t fei[4];  /* 10: fatal error information (byte offset for 01h) */
	uint8_t rsvd14[10];
};
_Static_assert(sizeof(struct brisk_nvme_tcp_term_req) == 24, "TermReq header is 24 bytes");
_Static_assert(offsetof(struct brisk_nvme_tcp_term_req, fei) == 10, "FEI at 10");
#define BRISK_NVME_TCP_TERM_REQ_MAX_DATA 152 /* C2HTermReq: plen <= 152 */

struct brisk_nvme_tcp_cmd {
	struct brisk_nvme_tcp_common_hdr ch;
	struct brisk_nvme_cmd ccsqe;
};
_Static_assert(sizeof(struct brisk_nvme_tcp_cmd) == 72, "CapsuleCmd header is 72 bytes");

struct brisk_nvme_tcp_rsp {
	struct brisk_nvme_tcp_common_hdr ch;
	struct brisk_nvme_cpl rccqe;
};
_Static_assert(sizeof(struct brisk_nvme_tcp_rsp) == 24, "CapsuleResp is 24 bytes");

/* H2CData and C2HData (ttag is reserved in C2HData). */
struct brisk_nvme_tcp_data_hdr {
	struct brisk_nvme_tcp_common_hdr ch;
	uint16_t cccid; /* 8: command capsule CID */
	uint16_t ttag;  /* 10: transfer tag from the R2T */
	uint32_t datao; /* 12: offset in the command's data */
	uint32_t datal; /* 16 */
	uint8_t rsvd20[4];
};
_Static_assert(sizeof(struct brisk_nvme_tcp_data_hdr) == 24, "data PDU header is 24 bytes");
_Static_assert(offsetof(struct brisk_nvme_tcp_data_hdr, datao) == 12, "DATAO at 12");
_Static_assert(offsetof(struct brisk_nvme_tcp_data_hdr, datal) == 16, "DATAL at 16");

struct brisk_nvme_tcp_r2t {
	struct brisk_nvme_tcp_common_hdr ch;
	uint16_t cccid; /* 8 */
	uint16_t ttag;  /* 10 */
	uint32_t r2to;  /* 12 */
	uint32_t r2tl;  /* 16 */
	uint8_t rsvd20[4];
};
_Static_assert(sizeof(struct brisk_nvme_tcp_r2t) == 24, "R2T is 24 bytes");
_Static_assert(offsetof(struct brisk_nvme_tcp_r2t, r2tl) == 16, "R2TL at 16");

/* SGL descriptor types a TCP host sends in SGL1. */
#define BRISK_NVME_SGL_TYPE_TRANSPORT_DATA_BLOCK 0x5
#define BRISK_NVME_SGL_SUBTYPE_OFFSET 0x1
#define BRISK_NVME_SGL_SUBTYPE_TRANSPORT 0xa

#ifdef __cplusplus
}
#endif
#endif
