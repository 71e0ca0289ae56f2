/*
 * Full feature phase PDUs other than SCSI data movement: the command
 * sequence numbers of non-SCSI requests, NOP-Out (ping answers), Text
 * (SendTargets, with continuation), Logout (session, connection), SNACK
 * (refused, as ErrorRecoveryLevel 0 requires) and Reject.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "iscsi_internal.h"

#define TEXT_RSP_CAP 65536
#define TEXT_TTT 0x54585431u

void iscsi_send_reject(struct iscsi_conn *c, uint8_t reason, const uint8_t *bhs)
{
	struct iscsi_out_pdu *p = iscsi_conn_ctrl_pdu(c);

	if (p == NULL) {
		/* The initiator sends faster than it reads our replies. */
		BRISK_ERRLOG("iscsi: connection %u (%s): no PDU free for a Reject (reason 0x%02x): closing\n", c->id,
			     c->peer_host, reason);
		iscsi_conn_close(c);
		return;
	}
	p->hdr[0] = ISCSI_OP_REJECT;
	p->hdr[1] = ISCSI_FLAG_FINAL;
	p->hdr[2] = reason;
	iscsi_put32(p->hdr, ISCSI_BHS_ITT, ISCSI_RSVD_TAG);
	iscsi_conn_set_window(c, p->hdr);
	memcpy(p->data, bhs, ISCSI_BHS_LEN);
	p->data_len = ISCSI_BHS_LEN;
	iscsi_conn_queue(c, p, true);
}

/* CmdSN of a non-SCSI request: immediate ones do not advance the window. */
static void advance_cmdsn(struct iscsi_conn *c, const uint8_t *bhs)
{
	struct iscsi_session *s = c->sess;

	if ((bhs[0] & ISCSI_IMMEDIATE) == 0 && iscsi_get32(bhs, ISCSI_BHS_CMDSN) == s->exp_cmdsn) {
		s->exp_cmdsn++;
		s->max_cmdsn++;
		iscsi_run_held(c);
	}
}

static bool nop_sent(struct iscsi_out_pdu *p)
{
	iscsi_task_free(p->ctx);
	return false;
}

static int nop_out(struct iscsi_conn *c, const uint8_t *bhs)
{
	struct iscsi_task *t;

	if (iscsi_get32(bhs, ISCSI_BHS_ITT) == ISCSI_RSVD_TAG) {
		return 0;  /* the answer to our NOP-In ping */
	}
	t = TAILQ_FIRST(&c->free_tasks);
	if (t == NULL) {
		iscsi_send_reject(c, ISCSI_REJECT_OUT_OF_RESOURCES, bhs);
		return 0;
	}
	TAILQ_REMOVE(&c->free_tasks, t, link);
	c->outstanding++;
	/* A recycled SCSI task keeps listed set: freeing it would unlink it
	 * from the active list it is not on and corrupt the free list. */
	t->listed = false;
	t->state = ISCSI_TASK_SEND;
	memset(t->pdu.hdr, 0, sizeof(t->pdu.hdr));
	t->pdu.hdr[0] = ISCSI_OP_NOPIN;
	t->pdu.hdr[1] = ISCSI_FLAG_FINAL;
	memcpy(t->pdu.hdr + ISCSI_BHS_LUN, bhs + ISCSI_BHS_LUN, 8);
	iscsi_put32(t->pdu.hdr, ISCSI_BHS_ITT, iscsi_get32(bhs, ISCSI_BHS_ITT));
	iscsi_put32(t->pdu.hdr, ISCSI_BHS_TTT, ISCSI_RSVD_TAG);
	iscsi_conn_set_window(c, t->pdu.hdr);
	memcpy(t->buf, c->rx_data, c->rx_data_len);  /* the ping data comes back */
	t->pdu.data = t->buf;
	t->pdu.data_len = c->rx_data_len;
	t->pdu.sent = nop_sent;
	t->pdu.ctx = t;
	t->pdu.in_use = true;
	iscsi_conn_queue(c, &t->pdu, true);
	return 0;
}

/* ---- Text: SendTargets ---- */

static void add_portals(const struct iscsi_conn *c, const struct iscsi_portal_grp *pg, struct iscsi_text_out *o)
{
	const struct iscsi_portal *p;

	TAILQ_FOREACH(p, &pg->portals, link) {
		const char *host = p->host;
		bool v6;

		if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0) {
			host = c->local_host;  /* a wildcard portal: the address this initiator reached */
		}
		v6 = strchr(host, ':') != NULL;
		iscsi_text_addf(o, "TargetAddress", "%s%s%s:%s,%d", v6 ? "[" : "", host, v6 ? "]" : "", p->port, pg->tag);
	}
}

static void add_node(const struct iscsi_conn *c, const struct iscsi_tgt_node *n, struct iscsi_text_out *o)
{
	int done[ISCSI_MAX_MAPS];
	uint32_t nd = 0;

	iscsi_text_add(o, "TargetName", n->name);
	for (uint32_t i = 0; i < n->num_maps; i++) {
		const struct iscsi_portal_grp *pg = iscsi_portal_grp_find(n->maps[i].pg_tag);
		const struct iscsi_init_grp *ig = iscsi_init_grp_find(n->maps[i].ig_tag);
		bool seen = false;

		for (uint32_t j = 0; j < nd; j++) {
			seen |= done[j] == n->maps[i].pg_tag;
		}
		if (seen || pg == NULL || pg->is_private || ig == NULL ||
		    !iscsi_init_grp_allows(ig, c->initiator, c->peer_host)) {
			continue;
		}
		done[nd++] = pg->tag;
		add_portals(c, pg, o);
	}
}

/* App thread: the SendTargets answer for this connection into out. */
int iscsi_send_targets(struct iscsi_conn *c, const char *which, uint8_t *out, uint32_t cap)
{
	struct iscsi_text_out o = {.buf = (char *)out, .cap = cap};
	const struct iscsi_tgt_node *n;
	bool all = strcmp(which, "All") == 0;

	TAILQ_FOREACH(n, &g_iscsi.nodes, link) {
		bool want;

		if (all) {
			/* A normal session sees only its own target (RFC 7143 12.3). */
			want = c->sess->discovery ? iscsi_tgt_node_visible(n, c->initiator, c->peer_host, c->portal_group_tag) :
			       strcasecmp(n->name, c->target) == 0;
		} else {
			want = strcasecmp(which[0] ? which : c->target, n->name) == 0 &&
			       iscsi_tgt_node_visible(n, c->initiator, c->peer_host, c->portal_group_tag);
		}
		if (!want) {
			continue;
		}
		add_node(c, n, &o);
	}
	return (int)o.len;
}

static void text_send_chunk(struct iscsi_conn *c, uint32_t itt)
{
	struct iscsi_out_pdu *p = iscsi_conn_ctrl_pdu(c);
	uint32_t max = c->params.max_xmit_dsl < c->ctrl_data_len ? c->params.max_xmit_dsl : c->ctrl_data_len;
	uint32_t left = c->text_rsp_len - c->text_sent, n = left < max ? left : max;

	if (p == NULL) {
		iscsi_conn_close(c);
		return;
	}
	p->hdr[0] = ISCSI_OP_TEXT_RSP;
	p->hdr[1] = n == left ? ISCSI_FLAG_FINAL : ISCSI_TEXT_CONTINUE;
	iscsi_put32(p->hdr, ISCSI_BHS_ITT, itt);
	iscsi_put32(p->hdr, ISCSI_BHS_TTT, n == left ? ISCSI_RSVD_TAG : TEXT_TTT);
	iscsi_conn_set_window(c, p->hdr);
	memcpy(p->data, c->text_rsp + c->text_sent, n);
	p->data_len = n;
	c->text_sent += n;
	iscsi_conn_queue(c, p, true);
}

struct text_ctx {
	struct iscsi_conn *c;
	char which[ISCSI_NAME_MAX + 1];
	uint32_t itt;
};

static void text_back(void *arg)
{
	struct text_ctx *x = arg;
	struct iscsi_conn *c = x->c;

	c->outstanding--;
	if (c->state != ISCSI_CONN_DEAD) {
		text_send_chunk(c, x->itt);
		iscsi_poll_group_kick(c->pg);
	}
	free(x);
}

static void text_on_app(void *arg)
{
	struct text_ctx *x = arg;

	x->c->text_rsp_len = (uint32_t)iscsi_send_targets(x->c, x->which, x->c->text_rsp, TEXT_RSP_CAP);
	brisk_thread_send_msg(x->c->pg->thread, text_back, x);
}

int iscsi_text_req(struct iscsi_conn *c)
{
	const uint8_t *bhs = c->rx_bhs;
	uint32_t itt = iscsi_get32(bhs, ISCSI_BHS_ITT);
	struct iscsi_text_out o;
	struct iscsi_kv kv;
	char err[128];
	const char *st;

	if (iscsi_get32(bhs, ISCSI_BHS_TTT) == TEXT_TTT && c->text_rsp != NULL && c->text_sent < c->text_rsp_len) {
		text_send_chunk(c, itt);  /* the initiator asks for the rest */
		return 0;
	}
	if (c->text_rsp == NULL && (c->text_rsp = malloc(TEXT_RSP_CAP)) == NULL) {
		return -ENOMEM;
	}
	if (iscsi_kv_parse((char *)c->rx_data, c->rx_data_len, &kv, err, sizeof(err)) != 0) {
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL, bhs);
		return 0;
	}
	c->text_sent = 0;
	st = iscsi_kv_get(&kv, "SendTargets");
	if (st != NULL && c->pg != NULL) {
		struct text_ctx *x = calloc(1, sizeof(*x));

		if (x == NULL) {
			return -ENOMEM;
		}
		x->c = c;
		x->itt = itt;
		brisk_strlcpy(x->which, st, sizeof(x->which));
		c->outstanding++;
		brisk_thread_send_msg(g_iscsi.app_thread, text_on_app, x);
		return 0;
	}
	o = (struct iscsi_text_out) {.buf = (char *)c->text_rsp, .cap = TEXT_RSP_CAP};
	if (st != NULL) {
		o.len = (uint32_t)iscsi_send_targets(c, st, c->text_rsp, TEXT_RSP_CAP);
	}
	for (uint32_t i = 0; i < kv.num; i++) {
		if (strcmp(kv.pairs[i].key, "SendTargets") != 0) {
			iscsi_text_add(&o, kv.pairs[i].key, "NotUnderstood");
		}
	}
	c->text_rsp_len = o.len;
	text_send_chunk(c, itt);
	return 0;
}

/* ---- Logout ---- */

static uint8_t logout_conn(struct iscsi_conn *c, uint16_t cid)
{
	struct iscsi_conn *o;

	if (cid == c->cid) {
		return 0;
	}
	TAILQ_FOREACH(o, &c->sess->conns, sess_link) {
		if (o->cid == cid && o->state != ISCSI_CONN_DEAD) {
			iscsi_conn_close(o);
			return 0;
		}
	}
	return 1;  /* CID not found */
}

static int logout(struct iscsi_conn *c, const uint8_t *bhs)
{
	struct iscsi_out_pdu *p = iscsi_conn_ctrl_pdu(c);
	uint8_t reason = bhs[1] & 0x7f, rsp = 0;
	uint16_t cid = iscsi_get16(bhs, 20);
	struct iscsi_conn *o;

	if (p == NULL) {
		return -ENOMEM;
	}
	if (reason == 0) {
		TAILQ_FOREACH(o, &c->sess->conns, sess_link) {
			if (o != c) {
				iscsi_conn_close(o);
			}
		}
	} else if (reason == 1) {
		rsp = logout_conn(c, cid);
	} else {
		rsp = 2;  /* connection recovery is not supported (ERL 0) */
	}
	p->hdr[0] = ISCSI_OP_LOGOUT_RSP;
	p->hdr[1] = ISCSI_FLAG_FINAL;
	p->hdr[2] = rsp;
	iscsi_put32(p->hdr, ISCSI_BHS_ITT, iscsi_get32(bhs, ISCSI_BHS_ITT));
	iscsi_conn_set_window(c, p->hdr);
	iscsi_conn_queue(c, p, true);
	if (rsp == 0 && (reason == 0 || cid == c->cid)) {
		c->state = ISCSI_CONN_LOGGED_OUT;
	}
	return 0;
}

int iscsi_ffp_pdu(struct iscsi_conn *c)
{
	const uint8_t *bhs = c->rx_bhs;
	uint8_t op = iscsi_opcode(bhs);

	if (op == ISCSI_OP_SCSI_CMD) {
		return iscsi_scsi_cmd(c, bhs);
	}
	if (op == ISCSI_OP_DATA_OUT) {
		return iscsi_data_out(c);
	}
	if (op != ISCSI_OP_SNACK && !(op == ISCSI_OP_NOPOUT && iscsi_get32(bhs, ISCSI_BHS_ITT) == ISCSI_RSVD_TAG)) {
		advance_cmdsn(c, bhs);
	}
	switch (op) {
	case ISCSI_OP_NOPOUT:
		return nop_out(c, bhs);
	case ISCSI_OP_TEXT_REQ:
		return iscsi_text_req(c);
	case ISCSI_OP_LOGOUT_REQ:
		return logout(c, bhs);
	case ISCSI_OP_TMF_REQ:
		iscsi_tmf(c);
		return 0;
	default:
		/* SNACK: ErrorRecoveryLevel 0 has no recovery to offer (RFC 7143 11.16). */
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL, bhs);
		return 0;
	}
}
