/*
 * Async Message PDUs (RFC 7143 11.9). AsyncEvent 0 carries SCSI sense data
 * to every connection of a target node's sessions when its LUN inventory
 * changes (a LUN added, a LUN's bdev gone: UNIT ATTENTION, REPORTED LUNS
 * DATA HAS CHANGED), so an initiator rescans without waiting for its next
 * command. AsyncEvent 1 asks an initiator to log out within Parameter3
 * seconds: iscsi_delete_target_node on a node with sessions sends it, waits
 * for the sessions to end, drops the connections still there after that
 * time, and only then deletes the node.
 *
 * The app thread decides (RPCs and bdev events run there); each poll
 * group's thread queues the PDUs on the connections it owns.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/ticks.h>

#include "iscsi_internal.h"

#define ASYNC_SCSI_EVENT 0
#define ASYNC_LOGOUT_REQUEST 1
#define SENSE_LEN 18 /* fixed format sense data */
#define DELETE_POLL_US 100000

struct async_msg {
	struct iscsi_poll_group *pg;
	const struct iscsi_tgt_node *node; /* compared, never dereferenced on the poll group */
	uint8_t event;
	int lun_id;
	uint8_t asc, ascq;
	bool drop; /* close the connections instead */
	uint32_t *pending; /* app thread: answered when the group is done */
};

static void async_hdr(struct iscsi_conn *c, struct iscsi_out_pdu *p, uint8_t event, int lun_id)
{
	uint64_t lun = brisk_scsi_lun_id_encode(lun_id < 0 ? 0 : (uint64_t)lun_id);

	p->hdr[0] = ISCSI_OP_ASYNC;
	p->hdr[1] = ISCSI_FLAG_FINAL;
	iscsi_put32(p->hdr, ISCSI_BHS_LUN, (uint32_t)(lun >> 32));
	iscsi_put32(p->hdr, ISCSI_BHS_LUN + 4, (uint32_t)lun);
	iscsi_put32(p->hdr, ISCSI_BHS_ITT, ISCSI_RSVD_TAG);
	iscsi_conn_set_window(c, p->hdr);
	p->hdr[36] = event;
}

/* SenseLength, then fixed format sense: UNIT ATTENTION with asc/ascq. */
static void async_sense(struct iscsi_out_pdu *p, uint8_t asc, uint8_t ascq)
{
	uint8_t *s = p->data + 2;

	iscsi_put16(p->data, 0, SENSE_LEN);
	memset(s, 0, SENSE_LEN);
	s[0] = 0x70;
	s[2] = 0x06;
	s[7] = SENSE_LEN - 8;
	s[12] = asc;
	s[13] = ascq;
	p->data_len = 2 + SENSE_LEN;
}

static void async_send(struct iscsi_conn *c, const struct async_msg *m)
{
	struct iscsi_out_pdu *p = iscsi_conn_ctrl_pdu(c);

	if (p == NULL) {
		BRISK_WARNLOG("iscsi: connection %u: no PDU free for Async Message %u\n", c->id, m->event);
		return;
	}
	async_hdr(c, p, m->event, m->lun_id);
	if (m->event == ASYNC_SCSI_EVENT) {
		async_sense(p, m->asc, m->ascq);
	} else {
		iscsi_put16(p->hdr, 42, g_iscsi.opts.default_time2wait); /* Parameter3: seconds to log out */
	}
	iscsi_conn_queue(c, p, true);
}

static void async_group_done(void *ctx)
{
	struct async_msg *m = ctx;

	if (m->pending != NULL) {
		(*m->pending)--;
	}
	free(m);
}

static void async_on_group(void *ctx)
{
	struct async_msg *m = ctx;
	struct iscsi_conn *c;

	TAILQ_FOREACH(c, &m->pg->conns, link) {
		if (c->state != ISCSI_CONN_FFP || c->sess == NULL || c->sess->node != m->node) {
			continue;
		}
		if (m->drop) {
			BRISK_NOTICELOG("iscsi: connection %u (%s) did not log out of %s in time: closing\n", c->id,
					c->initiator, c->target);
			iscsi_conn_close(c);
		} else {
			async_send(c, m);
		}
	}
	iscsi_poll_group_kick(m->pg);
	brisk_thread_send_msg(g_iscsi.app_thread, async_group_done, m);
}

/* App thread: the message m (pg unset) to every poll group; *pending counts them. */
static void async_broadcast(const struct async_msg *m)
{
	for (uint32_t i = 0; i < g_iscsi.num_pollgroups; i++) {
		struct async_msg *x = malloc(sizeof(*x));

		if (x == NULL) {
			BRISK_ERRLOG("iscsi: no memory for an Async Message to poll group %u\n", i);
			continue;
		}
		*x = *m;
		x->pg = &g_iscsi.pollgroups[i];
		if (x->pending != NULL) {
			(*x->pending)++;
		}
		brisk_thread_send_msg(x->pg->thread, async_on_group, x);
	}
}

void iscsi_async_luns_changed(const struct iscsi_tgt_node *n, int lun_id)
{
	struct async_msg m = { .node = n, .event = ASYNC_SCSI_EVENT, .lun_id = lun_id, .asc = 0x3f, .ascq = 0x0e };

	if (__atomic_load_n(&n->num_sessions, __ATOMIC_SEQ_CST) > 0) {
		async_broadcast(&m);
	}
}

/* ---- iscsi_delete_target_node with sessions: request logout, wait, drop ---- */

struct node_delete {
	struct iscsi_tgt_node *node;
	struct brisk_jsonrpc_request *req;
	struct brisk_poller *poller;
	uint64_t deadline;
	uint32_t pending;
};

static void node_delete_finish(struct node_delete *d)
{
	brisk_poller_unregister(&d->poller);
	BRISK_NOTICELOG("iscsi: target node %s deleted after its sessions ended\n", d->node->name);
	iscsi_tgt_node_destroy(d->node);
	brisk_jsonrpc_send_bool_response(d->req, true);
	free(d);
}

static int node_delete_poll(void *ctx)
{
	struct node_delete *d = ctx;
	struct async_msg drop = { .node = d->node, .drop = true, .pending = &d->pending };

	if (d->pending > 0) {
		return 0;
	}
	if (__atomic_load_n(&d->node->num_sessions, __ATOMIC_SEQ_CST) == 0) {
		node_delete_finish(d);
		return 1;
	}
	if (brisk_get_ticks() > d->deadline) {
		async_broadcast(&drop); /* again each tick: a connection may still have been moving */
	}
	return 0;
}

int iscsi_async_node_delete(struct iscsi_tgt_node *n, struct brisk_jsonrpc_request *req)
{
	struct node_delete *d = calloc(1, sizeof(*d));
	struct async_msg m = { .node = n, .event = ASYNC_LOGOUT_REQUEST, .lun_id = 0 };
	uint64_t wait = (uint64_t)(g_iscsi.opts.default_time2wait + 1) * brisk_get_ticks_hz();

	if (d == NULL) {
		return -ENOMEM;
	}
	d->poller = brisk_poller_register_named(node_delete_poll, d, DELETE_POLL_US, "iscsi_node_delete");
	if (d->poller == NULL) {
		free(d);
		return -ENOMEM;
	}
	d->node = n;
	d->req = req;
	d->deadline = brisk_get_ticks() + wait;
	n->deleting = true;
	m.pending = &d->pending;
	BRISK_NOTICELOG("iscsi: target node %s has %u sessions: asking them to log out within %u s\n", n->name,
			__atomic_load_n(&n->num_sessions, __ATOMIC_SEQ_CST), g_iscsi.opts.default_time2wait);
	async_broadcast(&m);
	return 0;
}
