/*
 * Header checks of received iSCSI PDUs and the digests (CRC32C, RFC 7143
 * 11.1 and 13.1). A PDU that fails a check is either rejected (the
 * connection goes on) or ends the connection; which one is decided here so
 * that the receive path has one place to ask.
 */
#include <errno.h>
#include <stdio.h>

#include <brisk/crc32c.h>

#include "iscsi_pdu.h"

#define ISCSI_TEXT_MAX_DSL 8192  /* login/text PDUs: RFC 7143 6.1 caps them at 8192 */

const char *iscsi_opcode_name(uint8_t op)
{
	switch (op) {
	case ISCSI_OP_NOPOUT: return "NOP-Out";
	case ISCSI_OP_SCSI_CMD: return "SCSI Command";
	case ISCSI_OP_TMF_REQ: return "Task Management Request";
	case ISCSI_OP_LOGIN_REQ: return "Login Request";
	case ISCSI_OP_TEXT_REQ: return "Text Request";
	case ISCSI_OP_DATA_OUT: return "SCSI Data-Out";
	case ISCSI_OP_LOGOUT_REQ: return "Logout Request";
	case ISCSI_OP_SNACK: return "SNACK Request";
	default: return "unknown";
	}
}

uint32_t iscsi_digest(const void *buf, size_t len)
{
	return brisk_crc32c(buf, len);
}

/* Data digest covers the data and its padding (zeros). */
uint32_t iscsi_digest_data(const void *buf, uint32_t len)
{
	static const uint8_t zeros[4];
	uint32_t crc = brisk_crc32c_update(buf, len, ~0u);

	crc = brisk_crc32c_update(zeros, iscsi_pad4(len) - len, crc);
	return ~crc;
}

static int check_phase(uint8_t op, const struct iscsi_pdu_limits *lim, char *err, size_t errlen)
{
	if (!lim->full_feature) {
		if (op != ISCSI_OP_LOGIN_REQ) {
			snprintf(err, errlen, "%s (opcode 0x%02x) before login completed", iscsi_opcode_name(op), op);
			return -EPROTO;
		}
		return 0;
	}
	if (op == ISCSI_OP_LOGIN_REQ) {
		snprintf(err, errlen, "Login Request in full feature phase");
		return -EPROTO;
	}
	if (lim->discovery && (op == ISCSI_OP_SCSI_CMD || op == ISCSI_OP_TMF_REQ || op == ISCSI_OP_DATA_OUT)) {
		snprintf(err, errlen, "%s on a discovery session", iscsi_opcode_name(op));
		return ISCSI_REJECT_PROTOCOL;
	}
	return 0;
}

static int check_lengths(const uint8_t *bhs, uint8_t op, const struct iscsi_pdu_limits *lim, char *err,
			 size_t errlen)
{
	uint32_t dsl = iscsi_dsl(bhs);
	uint32_t max = lim->max_recv_dsl;

	if (op == ISCSI_OP_LOGIN_REQ || op == ISCSI_OP_TEXT_REQ) {
		max = ISCSI_TEXT_MAX_DSL;
	}
	if (bhs[ISCSI_BHS_AHSLEN] != 0 && op != ISCSI_OP_SCSI_CMD) {
		snprintf(err, errlen, "TotalAHSLength %u on a %s", bhs[ISCSI_BHS_AHSLEN], iscsi_opcode_name(op));
		return -EPROTO;
	}
	if (dsl > max) {
		/* We cannot find the next PDU without reading this one: close. */
		snprintf(err, errlen, "DataSegmentLength %u above %u on a %s", dsl, max, iscsi_opcode_name(op));
		return -EMSGSIZE;
	}
	if (dsl != 0 && (op == ISCSI_OP_TMF_REQ || op == ISCSI_OP_LOGOUT_REQ || op == ISCSI_OP_SNACK)) {
		snprintf(err, errlen, "%s carries %u data bytes", iscsi_opcode_name(op), dsl);
		return -EPROTO;
	}
	return 0;
}

static int check_fields(const uint8_t *bhs, uint8_t op, char *err, size_t errlen)
{
	switch (op) {
	case ISCSI_OP_SCSI_CMD:
		if ((bhs[1] & ISCSI_FLAG_FINAL) == 0 && (bhs[1] & ISCSI_CMD_WRITE) == 0) {
			snprintf(err, errlen, "SCSI Command without F bit and without W bit");
			return ISCSI_REJECT_INVALID_FIELD;
		}
		break;
	case ISCSI_OP_NOPOUT:
		if ((bhs[1] & ISCSI_FLAG_FINAL) == 0) {
			snprintf(err, errlen, "NOP-Out without F bit");
			return ISCSI_REJECT_PROTOCOL;
		}
		if (iscsi_get32(bhs, ISCSI_BHS_ITT) == ISCSI_RSVD_TAG && (bhs[0] & ISCSI_IMMEDIATE) == 0) {
			snprintf(err, errlen, "NOP-Out with ITT 0xffffffff must be immediate");
			return ISCSI_REJECT_PROTOCOL;
		}
		break;
	case ISCSI_OP_DATA_OUT:
		if (iscsi_get32(bhs, ISCSI_BHS_ITT) == ISCSI_RSVD_TAG) {
			snprintf(err, errlen, "Data-Out with the reserved ITT");
			return -EPROTO;
		}
		break;
	case ISCSI_OP_TMF_REQ:
	case ISCSI_OP_LOGOUT_REQ:
		if ((bhs[1] & ISCSI_FLAG_FINAL) == 0) {
			snprintf(err, errlen, "%s without F bit", iscsi_opcode_name(op));
			return ISCSI_REJECT_PROTOCOL;
		}
		break;
	default:
		break;
	}
	return 0;
}

int iscsi_pdu_check(const uint8_t *bhs, const struct iscsi_pdu_limits *lim, char *err, size_t errlen)
{
	uint8_t op = iscsi_opcode(bhs);
	int rc;

	/* Lengths first: even a PDU we reject must be skippable. */
	rc = check_lengths(bhs, op, lim, err, errlen);
	if (rc != 0) {
		return rc;
	}
	if (op != ISCSI_OP_NOPOUT && op != ISCSI_OP_SCSI_CMD && op != ISCSI_OP_TMF_REQ && op != ISCSI_OP_LOGIN_REQ &&
	    op != ISCSI_OP_TEXT_REQ && op != ISCSI_OP_DATA_OUT && op != ISCSI_OP_LOGOUT_REQ && op != ISCSI_OP_SNACK) {
		snprintf(err, errlen, "opcode 0x%02x is not an initiator opcode", op);
		return lim->full_feature ? ISCSI_REJECT_NOT_SUPPORTED : -EPROTO;
	}
	rc = check_phase(op, lim, err, errlen);
	if (rc == 0) {
		rc = check_fields(bhs, op, err, errlen);
	}
	return rc;
}
