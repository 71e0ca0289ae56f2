/*
 * Text key=value lists of Login and Text PDUs (RFC 7143 6.1): parsing the
 * NUL-separated pairs an initiator sends, building the answer, and the
 * operational parameter negotiation (RFC 7143 13) with the target's
 * configured values.
 */
#ifndef BRISK_ISCSI_TEXT_H
#define BRISK_ISCSI_TEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define ISCSI_TEXT_MAX_PAIRS 64
#define ISCSI_KEY_MAX 63
#define ISCSI_VALUE_MAX 8192  /* RFC 7143 6.1: values up to 8192 bytes */

struct iscsi_pair {
	const char *key;
	const char *value;
};

struct iscsi_kv {
	struct iscsi_pair pairs[ISCSI_TEXT_MAX_PAIRS];
	uint32_t num;
};

/* Splits buf (len bytes, modified in place) into pairs. 0, or -EINVAL with
 * a message (no '=', empty key, too many pairs, a key given twice). */
int iscsi_kv_parse(char *buf, uint32_t len, struct iscsi_kv *kv, char *err, size_t errlen);
const char *iscsi_kv_get(const struct iscsi_kv *kv, const char *key);

/* An answer being built: "key=value\0" appended. */
struct iscsi_text_out {
	char *buf;
	uint32_t len;
	uint32_t cap;
	bool overflow;
};
void iscsi_text_add(struct iscsi_text_out *out, const char *key, const char *value);
void iscsi_text_addf(struct iscsi_text_out *out, const char *key, const char *fmt, ...)
__attribute__((format(printf, 3, 4)));

/* Negotiated operational parameters of a session and its connection. */
struct iscsi_params {
	bool header_digest;
	bool data_digest;
	uint32_t max_recv_dsl;       /* what we declared: the most the initiator may send per PDU */
	uint32_t max_xmit_dsl;       /* what the initiator declared: the most we send per PDU */
	uint32_t max_burst;
	uint32_t first_burst;
	uint32_t max_outstanding_r2t;
	uint32_t max_connections;
	uint32_t time2wait;
	uint32_t time2retain;
	uint32_t erl;
	bool initial_r2t;
	bool immediate_data;
	bool data_pdu_in_order;
	bool data_seq_in_order;
};

/* Our side's offer (from iscsi_set_options and the target node). */
struct iscsi_offer {
	struct iscsi_params p;
	bool digest_allowed_header;   /* target node header_digest: true = require CRC32C */
	bool digest_allowed_data;
};

void iscsi_params_defaults(struct iscsi_params *p);

/*
 * Negotiates one operational key the initiator sent, appending our answer
 * to out and updating p. Returns 1 when the key is operational (handled),
 * 0 when it is not (the caller handles it), or -EINVAL (err says why: a
 * value out of range, a key that must not appear in this stage) after which
 * the login fails with an initiator error.
 */
int iscsi_negotiate_key(const char *key, const char *value, const struct iscsi_offer *offer,
			struct iscsi_params *p, bool discovery, struct iscsi_text_out *out, char *err, size_t errlen);

/* Keys the target declares or must answer even if not asked (at the end of
 * operational negotiation): MaxRecvDataSegmentLength when the initiator
 * did not ask. */
void iscsi_negotiate_finish(const struct iscsi_offer *offer, struct iscsi_params *p, bool sent_mrdsl,
			    struct iscsi_text_out *out);

#endif
