/*
 * Operational parameter negotiation (RFC 7143 13): each key the initiator
 * offers is answered by the rule its definition gives (declarative, the
 * lower or higher number, boolean AND or OR, a list choice), against the
 * values the target is configured with. The result lands in struct
 * iscsi_params, which the connection uses from full feature phase on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <brisk/string.h>

#include "iscsi_text.h"

enum key_rule { RULE_MIN, RULE_MAX, RULE_OR, RULE_AND, RULE_DECL, RULE_DIGEST, RULE_NO };

struct key_def {
	const char *name;
	enum key_rule rule;
	uint32_t lo, hi;
	size_t off;       /* in struct iscsi_params */
};

#define P(f) offsetof(struct iscsi_params, f)
static const struct key_def g_keys[] = {
	{"HeaderDigest", RULE_DIGEST, 0, 0, P(header_digest)},
	{"DataDigest", RULE_DIGEST, 0, 0, P(data_digest)},
	{"MaxRecvDataSegmentLength", RULE_DECL, 512, 16777215, P(max_xmit_dsl)},
	{"MaxBurstLength", RULE_MIN, 512, 16777215, P(max_burst)},
	{"FirstBurstLength", RULE_MIN, 512, 16777215, P(first_burst)},
	{"MaxOutstandingR2T", RULE_MIN, 1, 65535, P(max_outstanding_r2t)},
	{"MaxConnections", RULE_MIN, 1, 65535, P(max_connections)},
	{"DefaultTime2Wait", RULE_MAX, 0, 3600, P(time2wait)},
	{"DefaultTime2Retain", RULE_MIN, 0, 3600, P(time2retain)},
	{"ErrorRecoveryLevel", RULE_MIN, 0, 2, P(erl)},
	{"InitialR2T", RULE_OR, 0, 0, P(initial_r2t)},
	{"ImmediateData", RULE_AND, 0, 0, P(immediate_data)},
	{"DataPDUInOrder", RULE_OR, 0, 0, P(data_pdu_in_order)},
	{"DataSequenceInOrder", RULE_OR, 0, 0, P(data_seq_in_order)},
	/* Markers (RFC 3720, dropped by RFC 7143): we never use them. */
	{"IFMarker", RULE_NO, 0, 0, 0},
	{"OFMarker", RULE_NO, 0, 0, 0},
	{"IFMarkInt", RULE_NO, 0, 0, 0},
	{"OFMarkInt", RULE_NO, 0, 0, 0},
};
#undef P

void iscsi_params_defaults(struct iscsi_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_recv_dsl = 8192;
	p->max_xmit_dsl = 8192;
	p->max_burst = 262144;
	p->first_burst = 65536;
	p->max_outstanding_r2t = 1;
	p->max_connections = 1;
	p->time2wait = 2;
	p->time2retain = 20;
	p->initial_r2t = true;
	p->immediate_data = true;
	p->data_pdu_in_order = true;
	p->data_seq_in_order = true;
}

static int parse_bool(const char *v, bool *out)
{
	if (strcmp(v, "Yes") == 0) {
		*out = true;
	} else if (strcmp(v, "No") == 0) {
		*out = false;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* A list like "CRC32C,None": the first entry we accept. */
static int pick_digest(const char *v, bool required, bool *out)
{
	char buf[64];
	char *save = NULL, *tok;

	brisk_strlcpy(buf, v, sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "CRC32C") == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(tok, "None") == 0 && !required) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int neg_number(const struct key_def *k, const char *v, const struct iscsi_offer *offer,
		      struct iscsi_params *p, struct iscsi_text_out *out, char *err, size_t errlen)
{
	uint32_t *field = (uint32_t *)((char *)p + k->off);
	uint32_t ours = *(const uint32_t *)((const char *)&offer->p + k->off);
	uint32_t n;

	if (brisk_parse_u32(v, 10, &n) != 0 || n < k->lo || n > k->hi) {
		snprintf(err, errlen, "%s=%.32s is not a number in %u..%u", k->name, v, k->lo, k->hi);
		return -EINVAL;
	}
	if (k->rule == RULE_DECL) {
		*field = n;
		return 1;
	}
	if (k->rule == RULE_MIN) {
		*field = n < ours ? n : ours;
	} else {
		*field = n > ours ? n : ours;
	}
	iscsi_text_addf(out, k->name, "%u", *field);
	return 1;
}

static int neg_bool(const struct key_def *k, const char *v, const struct iscsi_offer *offer,
		    struct iscsi_params *p, struct iscsi_text_out *out, char *err, size_t errlen)
{
	bool *field = (bool *)((char *)p + k->off);
	bool ours = *(const bool *)((const char *)&offer->p + k->off);
	bool theirs;

	if (parse_bool(v, &theirs) != 0) {
		snprintf(err, errlen, "%s=%.32s is not Yes or No", k->name, v);
		return -EINVAL;
	}
	*field = k->rule == RULE_OR ? (theirs || ours) : (theirs && ours);
	iscsi_text_add(out, k->name, *field ? "Yes" : "No");
	return 1;
}

static int neg_digest(const struct key_def *k, const char *v, const struct iscsi_offer *offer,
		      struct iscsi_params *p, struct iscsi_text_out *out, char *err, size_t errlen)
{
	bool required = k->off == offsetof(struct iscsi_params, header_digest) ? offer->digest_allowed_header :
			offer->digest_allowed_data;
	bool *field = (bool *)((char *)p + k->off);

	if (pick_digest(v, required, field) != 0) {
		snprintf(err, errlen, "%s=%.32s: the target requires CRC32C or the value is unknown", k->name, v);
		return -EINVAL;
	}
	iscsi_text_add(out, k->name, *field ? "CRC32C" : "None");
	return 1;
}

int iscsi_negotiate_key(const char *key, const char *value, const struct iscsi_offer *offer,
			struct iscsi_params *p, bool discovery, struct iscsi_text_out *out, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(g_keys) / sizeof(g_keys[0]); i++) {
		const struct key_def *k = &g_keys[i];

		if (strcmp(k->name, key) != 0) {
			continue;
		}
		switch (k->rule) {
		case RULE_NO:
			iscsi_text_add(out, key, strstr(key, "MarkInt") ? "Irrelevant" : "No");
			return 1;
		case RULE_DIGEST:
			return neg_digest(k, value, offer, p, out, err, errlen);
		case RULE_OR:
		case RULE_AND:
			return neg_bool(k, value, offer, p, out, err, errlen);
		default:
			return neg_number(k, value, offer, p, out, err, errlen);
		}
	}
	(void)discovery;
	return 0;
}

void iscsi_negotiate_finish(const struct iscsi_offer *offer, struct iscsi_params *p, bool sent_mrdsl,
			    struct iscsi_text_out *out)
{
	(void)sent_mrdsl;
	/* Declarative: we always tell the initiator how much it may send us. */
	p->max_recv_dsl = offer->p.max_recv_dsl;
	iscsi_text_addf(out, "MaxRecvDataSegmentLength", "%u", p->max_recv_dsl);
	if (p->first_burst > p->max_burst) {
		p->first_burst = p->max_burst;
	}
}
