/*
 * iSCSI PDU framing (RFC 7143 section 11): the 48-byte Basic Header Segment
 * read and written through byte accessors (no packed structs: every field
 * is big-endian at a fixed offset), the opcodes and flags the target uses,
 * and the header checks every received PDU goes through before anything
 * acts on it.
 */
#ifndef BRISK_ISCSI_PDU_H
#define BRISK_ISCSI_PDU_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define ISCSI_BHS_LEN 48
#define ISCSI_DIGEST_LEN 4
#define ISCSI_MAX_AHS_LEN (255 * 4)
#define ISCSI_RSVD_TAG 0xffffffffu

/* Initiator opcodes. */
#define ISCSI_OP_NOPOUT 0x00
#define ISCSI_OP_SCSI_CMD 0x01
#define ISCSI_OP_TMF_REQ 0x02
#define ISCSI_OP_LOGIN_REQ 0x03
#define ISCSI_OP_TEXT_REQ 0x04
#define ISCSI_OP_DATA_OUT 0x05
#define ISCSI_OP_LOGOUT_REQ 0x06
#define ISCSI_OP_SNACK 0x10
/* Target opcodes. */
#define ISCSI_OP_NOPIN 0x20
#define ISCSI_OP_SCSI_RSP 0x21
#define ISCSI_OP_TMF_RSP 0x22
#define ISCSI_OP_LOGIN_RSP 0x23
#define ISCSI_OP_TEXT_RSP 0x24
#define ISCSI_OP_DATA_IN 0x25
#define ISCSI_OP_LOGOUT_RSP 0x26
#define ISCSI_OP_R2T 0x31
#define ISCSI_OP_ASYNC 0x32
#define ISCSI_OP_REJECT 0x3f

#define ISCSI_IMMEDIATE 0x40   /* byte 0 */
#define ISCSI_FLAG_FINAL 0x80  /* byte 1 */
#define ISCSI_CMD_READ 0x40
#define ISCSI_CMD_WRITE 0x20
#define ISCSI_LOGIN_TRANSIT 0x80
#define ISCSI_LOGIN_CONTINUE 0x40
#define ISCSI_TEXT_CONTINUE 0x40
#define ISCSI_DATAIN_ACK 0x40
#define ISCSI_DATAIN_OVER 0x04
#define ISCSI_DATAIN_UNDER 0x02
#define ISCSI_DATAIN_STATUS 0x01
#define ISCSI_RSP_OVER 0x04
#define ISCSI_RSP_UNDER 0x02

/* Login stages (CSG/NSG). */
#define ISCSI_SECURITY_STAGE 0
#define ISCSI_OPERATIONAL_STAGE 1
#define ISCSI_FULL_FEATURE_PHASE 3

/* Login status class/detail (RFC 7143 11.13.5). */
#define ISCSI_LOGIN_OK 0x0000
#define ISCSI_LOGIN_AUTH_FAILED 0x0201
#define ISCSI_LOGIN_FORBIDDEN 0x0202
#define ISCSI_LOGIN_NOT_FOUND 0x0203
#define ISCSI_LOGIN_MISSING_PARAM 0x0207
#define ISCSI_LOGIN_CANT_INCLUDE 0x0208
#define ISCSI_LOGIN_SESSION_NOT_FOUND 0x020a
#define ISCSI_LOGIN_INIT_ERR 0x0200
#define ISCSI_LOGIN_UNSUPPORTED_VERSION 0x0205
#define ISCSI_LOGIN_TOO_MANY_CONNS 0x0206
#define ISCSI_LOGIN_TARGET_ERR 0x0300
#define ISCSI_LOGIN_NO_RESOURCES 0x0302

/* Reject reasons (RFC 7143 11.17.1). */
#define ISCSI_REJECT_DIGEST 0x02
#define ISCSI_REJECT_SNACK 0x03
#define ISCSI_REJECT_PROTOCOL 0x04
#define ISCSI_REJECT_NOT_SUPPORTED 0x05
#define ISCSI_REJECT_IMMEDIATE 0x06
#define ISCSI_REJECT_TASK_IN_PROGRESS 0x07
#define ISCSI_REJECT_INVALID_FIELD 0x09
#define ISCSI_REJECT_OUT_OF_RESOURCES 0x0a
#define ISCSI_REJECT_WAITING_LOGOUT 0x0c

/* Task management functions and responses (RFC 7143 11.5, 11.6). */
#define ISCSI_TMF_ABORT_TASK 1
#define ISCSI_TMF_ABORT_TASK_SET 2
#define ISCSI_TMF_CLEAR_ACA 3
#define ISCSI_TMF_CLEAR_TASK_SET 4
#define ISCSI_TMF_LUN_RESET 5
#define ISCSI_TMF_TARGET_WARM_RESET 6
#define ISCSI_TMF_TARGET_COLD_RESET 7
#define ISCSI_TMF_TASK_REASSIGN 8
#define ISCSI_TMF_RSP_COMPLETE 0
#define ISCSI_TMF_RSP_NO_TASK 1
#define ISCSI_TMF_RSP_NO_LUN 2
#define ISCSI_TMF_RSP_REASSIGN_UNSUPPORTED 4
#define ISCSI_TMF_RSP_NOT_SUPPORTED 5
#define ISCSI_TMF_RSP_REJECTED 255

/* Byte offsets of BHS fields shared by several opcodes. */
#define ISCSI_BHS_AHSLEN 4
#define ISCSI_BHS_DSL 5
#define ISCSI_BHS_LUN 8
#define ISCSI_BHS_ITT 16
#define ISCSI_BHS_TTT 20
#define ISCSI_BHS_CMDSN 24    /* initiator PDUs */
#define ISCSI_BHS_STATSN 24   /* target PDUs */
#define ISCSI_BHS_EXPSTATSN 28
#define ISCSI_BHS_EXPCMDSN 28
#define ISCSI_BHS_MAXCMDSN 32
#define ISCSI_BHS_DATASN 36
#define ISCSI_BHS_BUFOFF 40
#define ISCSI_BHS_EDTL 20     /* SCSI Command */
#define ISCSI_BHS_CDB 32
#define ISCSI_BHS_RESID 44

static inline uint32_t iscsi_get32(const uint8_t *b, size_t off)
{
	return (uint32_t)b[off] << 24 | (uint32_t)b[off + 1] << 16 | (uint32_t)b[off + 2] << 8 | b[off + 3];
}

static inline uint16_t iscsi_get16(const uint8_t *b, size_t off)
{
	return (uint16_t)(b[off] << 8 | b[off + 1]);
}

static inline void iscsi_put32(uint8_t *b, size_t off, uint32_t v)
{
	b[off] = v >> 24;
	b[off + 1] = v >> 16;
	b[off + 2] = v >> 8;
	b[off + 3] = v;
}

static inline void iscsi_put16(uint8_t *b, size_t off, uint16_t v)
{
	b[off] = v >> 8;
	b[off + 1] = v;
}

static inline uint8_t iscsi_opcode(const uint8_t *bhs)
{
	return bhs[0] & 0x3f;
}

static inline uint32_t iscsi_dsl(const uint8_t *bhs)
{
	return (uint32_t)bhs[5] << 16 | (uint32_t)bhs[6] << 8 | bhs[7];
}

static inline void iscsi_set_dsl(uint8_t *bhs, uint32_t len)
{
	bhs[5] = len >> 16;
	bhs[6] = len >> 8;
	bhs[7] = len;
}

static inline uint32_t iscsi_pad4(uint32_t len)
{
	return (len + 3) & ~3u;
}

/* Serial number arithmetic (RFC 1982, 32 bits). */
static inline bool iscsi_sn_lt(uint32_t a, uint32_t b)
{
	return a != b && (int32_t)(a - b) < 0;
}

/* The limits the header checks use. */
struct iscsi_pdu_limits {
	bool full_feature;        /* false: only Login (and nothing else) is allowed */
	bool discovery;           /* discovery session: no SCSI, TMF, Data-Out */
	uint32_t max_recv_dsl;    /* our MaxRecvDataSegmentLength */
};

/*
 * Checks a received BHS: known initiator opcode allowed in this phase,
 * AHS only on SCSI Commands, data segment within max_recv_dsl (login and
 * text PDUs: within 8192), reserved bits of the header clear where RFC 7143
 * requires them. Returns 0 or a Reject reason (ISCSI_REJECT_*) with a
 * message in err; a negative value when the connection must close.
 */
int iscsi_pdu_check(const uint8_t *bhs, const struct iscsi_pdu_limits *lim, char *err, size_t errlen);

/* CRC32C of header/data as the digests need it (padding included in data). */
uint32_t iscsi_digest(const void *buf, size_t len);
uint32_t iscsi_digest_data(const void *buf, uint32_t len);

const char *iscsi_opcode_name(uint8_t op);

#endif
