/*
 * Login (RFC 7143 6.3, 11.12-11.13) on the app thread, one Login Request
 * at a time: the first PDU names the initiator and target and is checked
 * against the target node's portal group / initiator group maps; the
 * security stage runs AuthMethod and CHAP (one-way or mutual, with the
 * node's or discovery's auth group); the operational stage negotiates the
 * keys of negotiate.c; the transit to full feature phase creates or joins
 * the session and sends the connection to its poll group.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/random.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "iscsi_internal.h"

struct login_rsp {
	struct iscsi_out_pdu *pdu;
	struct iscsi_text_out text;
	bool transit;
	uint8_t nsg;
	uint16_t status;
	char err[640];
};

/* ---- first PDU: names, ACL, session lookup ---- */

static uint16_t login_node(struct iscsi_conn *c, const char *target, struct login_rsp *r)
{
	struct iscsi_tgt_node *n = iscsi_tgt_node_find(target);

	if (n == NULL || n->deleting || !iscsi_tgt_node_has_pg(n, c->portal_group_tag)) {
		snprintf(r->err, sizeof(r->err), "target %.200s is not known at portal group %d", target,
			 c->portal_group_tag);
		return ISCSI_LOGIN_NOT_FOUND;
	}
	if (!iscsi_tgt_node_visible(n, c->initiator, c->peer_host, c->portal_group_tag)) {
		snprintf(r->err, sizeof(r->err), "initiator %.200s at %.64s may not reach %.200s", c->initiator, c->peer_host,
			 n->name);
		return ISCSI_LOGIN_FORBIDDEN;
	}
	brisk_strlcpy(c->target, n->name, sizeof(c->target));
	c->login.auth = n->auth;
	if (!n->auth.disable_chap && !n->auth.require_chap && n->auth.chap_group == 0) {
		/* No node setting: the global one applies. */
		c->login.auth.require_chap = g_iscsi.opts.require_chap;
		c->login.auth.mutual_chap = g_iscsi.opts.mutual_chap;
		c->login.auth.disable_chap = g_iscsi.opts.disable_chap;
	}
	if (c->login.auth.chap_group == 0) {
		c->login.auth.chap_group = g_iscsi.opts.chap_group;
	}
	c->login.offer.digest_allowed_header = n->header_digest;
	c->login.offer.digest_allowed_data = n->data_digest;
	c->login.offer.p.max_connections = g_iscsi.opts.max_connections_per_session;
	return ISCSI_LOGIN_OK;
}

static uint16_t login_join(struct iscsi_conn *c, struct login_rsp *r)
{
	struct iscsi_session *s = iscsi_session_find(c->initiator, c->login.isid, c->login.tsih);

	if (s == NULL || s->dead || s->discovery || strcmp(s->node->name, c->target) != 0) {
		snprintf(r->err, sizeof(r->err), "no session with TSIH %u for %.200s", c->login.tsih, c->initiator);
		return ISCSI_LOGIN_SESSION_NOT_FOUND;
	}
	if (__atomic_load_n(&s->num_conns, __ATOMIC_SEQ_CST) >= s->params.max_connections &&
	    !iscsi_session_has_cid(s, c->cid)) {
		snprintf(r->err, sizeof(r->err), "session %u has its %u connections", s->tsih, s->params.max_connections);
		return ISCSI_LOGIN_TOO_MANY_CONNS;
	}
	c->login.join = s;
	return ISCSI_LOGIN_OK;
}

static uint16_t login_first(struct iscsi_conn *c, const struct iscsi_kv *kv, struct login_rsp *r)
{
	const char *init = iscsi_kv_get(kv, "InitiatorName");
	const char *type = iscsi_kv_get(kv, "SessionType");
	const char *target = iscsi_kv_get(kv, "TargetName");
	bool discovery = type != NULL && strcmp(type, "Discovery") == 0;

	if (init == NULL || !iscsi_name_valid(init) || (type != NULL && !discovery && strcmp(type, "Normal") != 0)) {
		snprintf(r->err, sizeof(r->err), "InitiatorName missing or invalid, or bad SessionType");
		return init == NULL ? ISCSI_LOGIN_MISSING_PARAM : ISCSI_LOGIN_INIT_ERR;
	}
	brisk_strlcpy(c->initiator, init, sizeof(c->initiator));
	c->login.got_names = true;
	c->login.offer.p = c->params;
	c->login.offer.p.max_recv_dsl = g_iscsi.opts.max_recv_data_segment_length;
	c->login.offer.p.max_burst = g_iscsi.opts.max_burst_length;
	c->login.offer.p.first_burst = g_iscsi.opts.first_burst_length;
	c->login.offer.p.immediate_data = g_iscsi.opts.immediate_data;
	c->login.offer.p.initial_r2t = false;
	c->login.offer.p.time2wait = g_iscsi.opts.default_time2wait;
	c->login.offer.p.time2retain = g_iscsi.opts.default_time2retain;
	c->login.offer.p.max_outstanding_r2t = 1;
	c->login.offer.p.max_connections = 1;
	c->login.offer.p.data_pdu_in_order = true;
	c->login.offer.p.data_seq_in_order = true;
	if (discovery) {
		c->login.auth = g_iscsi.discovery_auth;
		c->target[0] = '\0';
		return c->login.tsih != 0 ? ISCSI_LOGIN_SESSION_NOT_FOUND : ISCSI_LOGIN_OK;
	}
	if (target == NULL) {
		snprintf(r->err, sizeof(r->err), "TargetName missing in a normal session login");
		return ISCSI_LOGIN_MISSING_PARAM;
	}
	uint16_t st = login_node(c, target, r);

	if (st == ISCSI_LOGIN_OK && c->login.tsih != 0) {
		st = login_join(c, r);
	}
	return st;
}

/* ---- security stage ---- */

static uint16_t auth_method(struct iscsi_conn *c, const char *v, struct login_rsp *r)
{
	bool offers_chap = false, offers_none = false;
	char buf[128], *save = NULL, *tok;

	brisk_strlcpy(buf, v, sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		offers_chap |= strcmp(tok, "CHAP") == 0;
		offers_none |= strcmp(tok, "None") == 0;
	}
	if (c->login.auth.require_chap || (!c->login.auth.disable_chap && offers_chap && !offers_none)) {
		c->login.chap = true;
	} else if (!c->login.auth.disable_chap && offers_chap && strncmp(v, "CHAP", 4) == 0) {
		c->login.chap = true;  /* the initiator prefers it */
	}
	if ((c->login.chap && !offers_chap) || (!c->login.chap && !offers_none)) {
		snprintf(r->err, sizeof(r->err), "AuthMethod=%s: the target needs %s", v, c->login.chap ? "CHAP" : "None");
		iscsi_text_add(&r->text, "AuthMethod", "Reject");
		return ISCSI_LOGIN_AUTH_FAILED;
	}
	iscsi_text_add(&r->text, "AuthMethod", c->login.chap ? "CHAP" : "None");
	c->login.auth_done = !c->login.chap;
	return ISCSI_LOGIN_OK;
}

static uint16_t chap_a(struct iscsi_conn *c, const char *v, struct login_rsp *r)
{
	char hex[2 * ISCSI_CHAP_CHALLENGE_LEN + 3], buf[64], *save = NULL, *tok;
	bool md5 = false;

	brisk_strlcpy(buf, v, sizeof(buf));
	for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		md5 |= strcmp(tok, "5") == 0;
	}
	if (!md5) {
		iscsi_text_add(&r->text, "CHAP_A", "Reject");
		snprintf(r->err, sizeof(r->err), "CHAP_A=%s: only 5 (MD5) is supported", v);
		return ISCSI_LOGIN_AUTH_FAILED;
	}
	if (getrandom(c->login.chap_c, sizeof(c->login.chap_c), 0) != sizeof(c->login.chap_c) ||
	    getrandom(&c->login.chap_id, 1, 0) != 1) {
		return ISCSI_LOGIN_TARGET_ERR;
	}
	iscsi_chap_encode(c->login.chap_c, sizeof(c->login.chap_c), hex, sizeof(hex));
	iscsi_text_add(&r->text, "CHAP_A", "5");
	iscsi_text_addf(&r->text, "CHAP_I", "%u", c->login.chap_id);
	iscsi_text_add(&r->text, "CHAP_C", hex);
	c->login.chap_sent = true;
	return ISCSI_LOGIN_OK;
}

static uint16_t chap_mutual(struct iscsi_conn *c, const struct iscsi_kv *kv, const struct iscsi_secret *s,
			    struct login_rsp *r)
{
	const char *ci = iscsi_kv_get(kv, "CHAP_I"), *cc = iscsi_kv_get(kv, "CHAP_C");
	uint8_t chal[ISCSI_CHAP_MAX_BIN], rsp[16];
	char hex[40];
	uint32_t id;
	int len;

	if (ci == NULL && cc == NULL) {
		if (c->login.auth.mutual_chap) {
			snprintf(r->err, sizeof(r->err), "mutual CHAP required but the initiator sent no challenge");
			return ISCSI_LOGIN_AUTH_FAILED;
		}
		return ISCSI_LOGIN_OK;
	}
	len = cc ? iscsi_chap_decode(cc, chal, sizeof(chal)) : -EINVAL;
	if (ci == NULL || brisk_parse_u32(ci, 10, &id) != 0 || id > 255 || len <= 0 || s->msecret[0] == '\0' ||
	    (len == (int)sizeof(c->login.chap_c) && memcmp(chal, c->login.chap_c, (size_t)len) == 0)) {
		snprintf(r->err, sizeof(r->err), "mutual CHAP: bad CHAP_I/CHAP_C or no mutual secret for %.200s", s->user);
		return ISCSI_LOGIN_AUTH_FAILED;
	}
	iscsi_chap_response((uint8_t)id, s->msecret, chal, (size_t)len, rsp);
	iscsi_chap_encode(rsp, sizeof(rsp), hex, sizeof(hex));
	iscsi_text_add(&r->text, "CHAP_N", s->muser);
	iscsi_text_add(&r->text, "CHAP_R", hex);
	return ISCSI_LOGIN_OK;
}

static uint16_t chap_r(struct iscsi_conn *c, const struct iscsi_kv *kv, struct login_rsp *r)
{
	const char *name = iscsi_kv_get(kv, "CHAP_N"), *resp = iscsi_kv_get(kv, "CHAP_R");
	const struct iscsi_secret *s;
	uint8_t got[ISCSI_CHAP_MAX_BIN], want[16];

	if (name == NULL || resp == NULL || !c->login.chap_sent) {
		snprintf(r->err, sizeof(r->err), "CHAP_N/CHAP_R missing or before CHAP_C");
		return ISCSI_LOGIN_AUTH_FAILED;
	}
	s = iscsi_auth_grp_find_user(iscsi_auth_grp_find(c->login.auth.chap_group), name);
	if (s == NULL) {
		snprintf(r->err, sizeof(r->err), "CHAP user %.200s is not in auth group %d", name, c->login.auth.chap_group);
		return ISCSI_LOGIN_AUTH_FAILED;
	}
	iscsi_chap_response(c->login.chap_id, s->secret, c->login.chap_c, sizeof(c->login.chap_c), want);
	if (iscsi_chap_decode(resp, got, sizeof(got)) != 16 || memcmp(got, want, 16) != 0) {
		snprintf(r->err, sizeof(r->err), "CHAP response of %.200s does not match its secret", name);
		return ISCSI_LOGIN_AUTH_FAILED;
	}
	c->login.auth_done = true;
	return chap_mutual(c, kv, s, r);
}

static uint16_t security_keys(struct iscsi_conn *c, const struct iscsi_kv *kv, struct login_rsp *r)
{
	const char *v;
	uint16_t st = ISCSI_LOGIN_OK;

	if ((v = iscsi_kv_get(kv, "AuthMethod")) != NULL) {
		st = auth_method(c, v, r);
	}
	if (st == ISCSI_LOGIN_OK && c->login.chap && (v = iscsi_kv_get(kv, "CHAP_A")) != NULL) {
		st = chap_a(c, v, r);
	}
	if (st == ISCSI_LOGIN_OK && c->login.chap && iscsi_kv_get(kv, "CHAP_R") != NULL) {
		st = chap_r(c, kv, r);
	}
	return st;
}

/* ---- operational stage ---- */

static bool login_key_known(const char *k)
{
	static const char *const keys[] = {
		"InitiatorName", "TargetName", "SessionType", "InitiatorAlias", "AuthMethod", "CHAP_A",
		"CHAP_I", "CHAP_C", "CHAP_N", "CHAP_R", "TargetAlias", "TargetPortalGroupTag",
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i], k) == 0) {
			return true;
		}
	}
	return false;
}

static uint16_t operational_keys(struct iscsi_conn *c, const struct iscsi_kv *kv, bool discovery,
				 struct login_rsp *r)
{
	for (uint32_t i = 0; i < kv->num; i++) {
		const struct iscsi_pair *p = &kv->pairs[i];
		int rc = iscsi_negotiate_key(p->key, p->value, &c->login.offer, &c->params, discovery, &r->text,
					     r->err, sizeof(r->err));

		if (rc < 0) {
			return ISCSI_LOGIN_INIT_ERR;
		}
		if (rc == 0 && !login_key_known(p->key)) {
			iscsi_text_add(&r->text, p->key, "NotUnderstood");
		}
	}
	if (!c->login.mrdsl_sent) {
		c->login.mrdsl_sent = true;
		iscsi_negotiate_finish(&c->login.offer, &c->params, false, &r->text);
	}
	return ISCSI_LOGIN_OK;
}

/* ---- response ---- */

static void rsp_init(struct iscsi_conn *c, struct login_rsp *r)
{
	memset(r, 0, sizeof(*r));
	r->pdu = iscsi_conn_ctrl_pdu(c);
	r->text.buf = (char *)r->pdu->data;
	r->text.cap = c->ctrl_data_len;
}

static void rsp_send(struct iscsi_conn *c, struct login_rsp *r, uint8_t csg)
{
	uint8_t *h = r->pdu->hdr;

	h[0] = ISCSI_OP_LOGIN_RSP;
	h[1] = (uint8_t)((r->transit ? ISCSI_LOGIN_TRANSIT : 0) | (csg & 3) << 2 | (r->transit ? r->nsg : 0));
	memcpy(h + 8, c->login.isid, 6);
	iscsi_put16(h, 14, c->sess != NULL && r->transit && r->nsg == ISCSI_FULL_FEATURE_PHASE ? c->sess->tsih : 0);
	iscsi_put32(h, ISCSI_BHS_ITT, c->login.itt);
	iscsi_put32(h, ISCSI_BHS_EXPCMDSN, c->login.cmdsn);
	iscsi_put32(h, ISCSI_BHS_MAXCMDSN, c->login.cmdsn);
	if (c->sess != NULL) {
		iscsi_conn_set_window(c, h);
	}
	h[36] = r->status >> 8;
	h[37] = r->status & 0xff;
	r->pdu->data_len = r->status == ISCSI_LOGIN_OK ? r->text.len : 0;
	iscsi_conn_queue(c, r->pdu, true);
}

static int login_fail(struct iscsi_conn *c, struct login_rsp *r, uint8_t csg)
{
	BRISK_ERRLOG("iscsi: connection %u (%s): login refused (status 0x%04x): %s\n", c->id, c->peer_host,
		     r->status, r->err);
	r->transit = false;
	rsp_send(c, r, csg);
	c->state = ISCSI_CONN_LOGGED_OUT;  /* closes once the response is sent */
	return 0;
}

/* ---- transit to full feature phase ---- */

static uint16_t login_complete(struct iscsi_conn *c, bool discovery, struct login_rsp *r)
{
	struct iscsi_tgt_node *node = discovery ? NULL : iscsi_tgt_node_find(c->target);

	if (!discovery && (node == NULL || node->deleting)) {
		snprintf(r->err, sizeof(r->err), "target %.200s was deleted during login", c->target);
		return ISCSI_LOGIN_NOT_FOUND;
	}
	if (c->login.join != NULL) {
		c->sess = c->login.join;
		__atomic_fetch_add(&c->sess->num_conns, 1, __ATOMIC_SEQ_CST);
		iscsi_session_add_cid(c->sess, c->cid);
		return ISCSI_LOGIN_OK;
	}
	if (!discovery) {
		iscsi_session_reinstate(c->initiator, c->login.isid, c->target);
	}
	c->sess = iscsi_session_create(c, node);
	if (c->sess == NULL) {
		snprintf(r->err, sizeof(r->err), "no room for another session (max_sessions %u)",
			 g_iscsi.opts.max_sessions);
		return ISCSI_LOGIN_NO_RESOURCES;
	}
	return ISCSI_LOGIN_OK;
}

static void login_enter_ffp(struct iscsi_conn *c)
{
	BRISK_NOTICELOG("iscsi: %s logged in to %s (TSIH %u, CID %u) from %s\n", c->initiator,
			c->sess->discovery ? "discovery" : c->target, c->sess->tsih, c->cid, c->peer_host);
	if (c->sess->discovery) {
		c->state = ISCSI_CONN_FFP;
		return;
	}
	c->state = ISCSI_CONN_MOVING;
	TAILQ_REMOVE(&g_iscsi.login_conns, c, link);
	brisk_interrupt_unregister(&c->intr);
	iscsi_poll_group_add(c, c->sess->pg);
}

/* ---- one Login Request ---- */

static uint16_t login_header(struct iscsi_conn *c, const uint8_t *h, struct login_rsp *r)
{
	uint8_t csg = (h[1] >> 2) & 3, nsg = h[1] & 3;

	if (h[3] > 0 || h[2] < h[3]) {
		snprintf(r->err, sizeof(r->err), "version %u..%u: only 0 is supported", h[3], h[2]);
		return ISCSI_LOGIN_UNSUPPORTED_VERSION;
	}
	if (csg == 2 || (h[1] & ISCSI_LOGIN_TRANSIT && (nsg == 2 || nsg <= csg)) ||
	    (h[1] & ISCSI_LOGIN_TRANSIT && h[1] & ISCSI_LOGIN_CONTINUE)) {
		snprintf(r->err, sizeof(r->err), "bad stages CSG %u NSG %u (T %d C %d)", csg, nsg, !!(h[1] & 0x80),
			 !!(h[1] & 0x40));
		return ISCSI_LOGIN_INIT_ERR;
	}
	if (!c->login.got_names && c->text_len == 0) {
		memcpy(c->login.isid, h + 8, 6);
		c->login.tsih = iscsi_get16(h, 14);
		c->cid = iscsi_get16(h, 20);
		c->statsn = iscsi_get32(h, ISCSI_BHS_EXPSTATSN);
	} else if (memcmp(c->login.isid, h + 8, 6) != 0 || c->login.tsih != iscsi_get16(h, 14)) {
		snprintf(r->err, sizeof(r->err), "ISID or TSIH changed during login");
		return ISCSI_LOGIN_INIT_ERR;
	}
	c->login.itt = iscsi_get32(h, ISCSI_BHS_ITT);
	c->login.cmdsn = iscsi_get32(h, ISCSI_BHS_CMDSN);
	return ISCSI_LOGIN_OK;
}

static uint16_t login_stage(struct iscsi_conn *c, uint8_t csg, const struct iscsi_kv *kv, bool discovery,
			    struct login_rsp *r)
{
	uint16_t st = ISCSI_LOGIN_OK;

	if (csg == ISCSI_SECURITY_STAGE) {
		st = security_keys(c, kv, r);
		if (st == ISCSI_LOGIN_OK && (iscsi_kv_get(kv, "HeaderDigest") || iscsi_kv_get(kv, "MaxBurstLength"))) {
			st = operational_keys(c, kv, discovery, r);
		}
	} else {
		if (!c->login.auth_done && (c->login.auth.require_chap || c->login.chap)) {
			snprintf(r->err, sizeof(r->err), "operational stage without the CHAP the target requires");
			return ISCSI_LOGIN_AUTH_FAILED;
		}
		c->login.auth_done = true;
		st = operational_keys(c, kv, discovery, r);
	}
	return st;
}

/* The text of this PDU (and earlier C-bit PDUs) gathered; false: more to come. */
static bool login_gather(struct iscsi_conn *c, const uint8_t *h, struct login_rsp *r)
{
	uint32_t len = c->rx_data_len;

	if (c->text_len + len > ISCSI_TEXT_BUF) {
		r->status = ISCSI_LOGIN_INIT_ERR;
		snprintf(r->err, sizeof(r->err), "login text longer than %d bytes", ISCSI_TEXT_BUF);
		return true;
	}
	memcpy(c->text_buf + c->text_len, c->rx_data, len);
	c->text_len += len;
	return (h[1] & ISCSI_LOGIN_CONTINUE) == 0;
}

int iscsi_login_pdu(struct iscsi_conn *c)
{
	const uint8_t *h = c->rx_bhs;
	uint8_t csg = (h[1] >> 2) & 3;
	bool discovery;
	struct iscsi_kv kv;
	struct login_rsp r;

	rsp_init(c, &r);
	if (r.pdu == NULL) {
		return -ENOMEM;
	}
	r.status = login_header(c, h, &r);
	if (r.status != ISCSI_LOGIN_OK) {
		return login_fail(c, &r, csg);
	}
	if (!login_gather(c, h, &r)) {
		rsp_send(c, &r, csg);  /* empty: send the rest */
		return 0;
	}
	if (r.status == ISCSI_LOGIN_OK && iscsi_kv_parse((char *)c->text_buf, c->text_len, &kv, r.err, sizeof(r.err)) != 0) {
		r.status = ISCSI_LOGIN_INIT_ERR;
	}
	c->text_len = 0;
	if (r.status == ISCSI_LOGIN_OK && !c->login.got_names) {
		r.status = login_first(c, &kv, &r);
		if (r.status == ISCSI_LOGIN_OK && c->target[0] != '\0') {
			iscsi_text_addf(&r.text, "TargetPortalGroupTag", "%d", c->portal_group_tag);
		}
	}
	discovery = c->login.got_names && c->target[0] == '\0';
	if (r.status == ISCSI_LOGIN_OK) {
		r.status = login_stage(c, csg, &kv, discovery, &r);
	}
	if (r.status == ISCSI_LOGIN_OK && r.text.overflow) {
		snprintf(r.err, sizeof(r.err), "login response longer than %u bytes", c->ctrl_data_len);
		r.status = ISCSI_LOGIN_TARGET_ERR;
	}
	if (r.status != ISCSI_LOGIN_OK) {
		return login_fail(c, &r, csg);
	}
	if (h[1] & ISCSI_LOGIN_TRANSIT && (csg != ISCSI_SECURITY_STAGE || c->login.auth_done)) {
		r.transit = true;
		r.nsg = h[1] & 3;
	}
	if (r.transit && r.nsg == ISCSI_FULL_FEATURE_PHASE) {
		r.status = login_complete(c, discovery, &r);
		if (r.status != ISCSI_LOGIN_OK) {
			return login_fail(c, &r, csg);
		}
	}
	rsp_send(c, &r, csg);
	if (r.transit && r.nsg == ISCSI_FULL_FEATURE_PHASE) {
		login_enter_ffp(c);
	}
	return 0;
}
