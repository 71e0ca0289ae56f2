/*
 * Sessions: the registry on the app thread (TSIH allocation, lookup for
 * connections joining a session (MC/S), session reinstatement when an
 * initiator logs in again with the same ISID), and a session's end once
 * its last connection is gone. A session's command window belongs to its
 * poll group thread; the registry only counts connections.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "iscsi_internal.h"

static uint32_t num_sessions(void)
{
	struct iscsi_session *s;
	uint32_t n = 0;

	TAILQ_FOREACH(s, &g_iscsi.sessions, link) {
		n++;
	}
	return n;
}

static uint16_t next_tsih(void)
{
	for (;;) {
		uint16_t t = g_iscsi.next_tsih++;
		struct iscsi_session *s;
		bool used = false;

		if (t == 0) {
			continue;  /* TSIH 0 means "new session" */
		}
		TAILQ_FOREACH(s, &g_iscsi.sessions, link) {
			used |= s->tsih == t;
		}
		if (!used) {
			return t;
		}
	}
}

static void session_ports(struct iscsi_session *s, const struct iscsi_conn *c)
{
	char name[BRISK_SCSI_PORT_MAX_NAME + 1];
	uint64_t isid = 0;

	for (int i = 0; i < 6; i++) {
		isid = isid << 8 | s->isid[i];
	}
	snprintf(name, sizeof(name), "%s,i,0x%012llx", s->initiator, (unsigned long long)isid);
	brisk_scsi_port_init(&s->iport, isid, 0, name);
	snprintf(name, sizeof(name), "%s,t,0x%04x", c->target, (unsigned)c->portal_group_tag);
	brisk_scsi_port_init(&s->tport, (uint64_t)c->portal_group_tag, (uint16_t)c->portal_group_tag, name);
}

struct iscsi_session *iscsi_session_create(struct iscsi_conn *c, struct iscsi_tgt_node *node)
{
	struct iscsi_session *s;

	if (num_sessions() >= g_iscsi.opts.max_sessions) {
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		return NULL;
	}
	s->tsih = next_tsih();
	memcpy(s->isid, c->login.isid, 6);
	s->discovery = node == NULL;
	s->node = node;
	brisk_strlcpy(s->initiator, c->initiator, sizeof(s->initiator));
	s->params = c->params;
	s->portal_group_tag = c->portal_group_tag;
	s->queue_depth = node != NULL && node->queue_depth > 0 ? node->queue_depth : g_iscsi.opts.max_queue_depth;
	if (s->queue_depth > g_iscsi.opts.max_queue_depth) {
		s->queue_depth = g_iscsi.opts.max_queue_depth;
	}
	s->exp_cmdsn = c->login.cmdsn;
	s->max_cmdsn = s->exp_cmdsn + s->queue_depth - 1;
	s->pg = node != NULL ? iscsi_poll_group_pick() : NULL;
	TAILQ_INIT(&s->conns);
	__atomic_store_n(&s->num_conns, 1, __ATOMIC_SEQ_CST);
	iscsi_session_add_cid(s, c->cid);
	if (node != NULL) {
		session_ports(s, c);
		__atomic_fetch_add(&node->num_sessions, 1, __ATOMIC_SEQ_CST);
	}
	TAILQ_INSERT_TAIL(&g_iscsi.sessions, s, link);
	return s;
}

struct iscsi_session *iscsi_session_find(const char *initiator, const uint8_t isid[6], uint16_t tsih)
{
	struct iscsi_session *s;

	TAILQ_FOREACH(s, &g_iscsi.sessions, link) {
		if (s->tsih == tsih && memcmp(s->isid, isid, 6) == 0 && strcasecmp(s->initiator, initiator) == 0) {
			return s;
		}
	}
	return NULL;
}

/* RFC 7143 6.3.5: a new login with the ISID of a live session replaces it. */
void iscsi_session_reinstate(const char *initiator, const uint8_t isid[6], const char *target)
{
	struct iscsi_session *s;

	TAILQ_FOREACH(s, &g_iscsi.sessions, link) {
		if (!s->discovery && !s->dead && memcmp(s->isid, isid, 6) == 0 &&
		    strcasecmp(s->initiator, initiator) == 0 && strcasecmp(s->node->name, target) == 0) {
			BRISK_NOTICELOG("iscsi: session %u of %s reinstated\n", s->tsih, initiator);
			/* Read by its poll group thread, which then closes the connections. */
			__atomic_store_n(&s->dead, true, __ATOMIC_RELEASE);
			if (s->pg != NULL) {
				iscsi_poll_group_kick_remote(s->pg);
			}
		}
	}
}

bool iscsi_session_has_cid(const struct iscsi_session *s, uint16_t cid)
{
	for (uint32_t i = 0; i < s->num_cids; i++) {
		if (s->cids[i] == cid) {
			return true;
		}
	}
	return false;
}

/* One entry per connection: a reinstated CID is listed twice until the old one is gone. */
void iscsi_session_add_cid(struct iscsi_session *s, uint16_t cid)
{
	if (s->num_cids < sizeof(s->cids) / sizeof(s->cids[0])) {
		s->cids[s->num_cids++] = cid;
	}
}

static void session_remove_cid(struct iscsi_session *s, uint16_t cid)
{
	for (uint32_t i = 0; i < s->num_cids; i++) {
		if (s->cids[i] == cid) {
			s->cids[i] = s->cids[--s->num_cids];
			return;
		}
	}
}

static void session_free(struct iscsi_session *s)
{
	TAILQ_REMOVE(&g_iscsi.sessions, s, link);
	if (s->node != NULL) {
		brisk_scsi_dev_initiator_gone(s->node->dev, &s->iport);
		__atomic_fetch_sub(&s->node->num_sessions, 1, __ATOMIC_SEQ_CST);
	}
	free(s);
}

struct conn_gone {
	struct iscsi_session *s;
	uint16_t cid;
};

static void conn_gone_msg(void *ctx)
{
	struct conn_gone *g = ctx;
	struct iscsi_session *s = g->s;

	session_remove_cid(s, g->cid);
	free(g);
	if (__atomic_fetch_sub(&s->num_conns, 1, __ATOMIC_SEQ_CST) == 1) {
		session_free(s);
	}
}

void iscsi_session_conn_gone(struct iscsi_conn *c)
{
	struct iscsi_session *s = c->sess;

	if (c->pg != NULL) {
		TAILQ_REMOVE(&s->conns, c, sess_link);
	}
	struct conn_gone *g = malloc(sizeof(*g));

	c->sess = NULL;
	if (g == NULL) {
		BRISK_ERRLOG("iscsi: no memory to retire connection %u: session %u leaks\n", c->id, s->tsih);
		return;
	}
	g->s = s;
	g->cid = c->cid;
	if (brisk_get_thread() == g_iscsi.app_thread) {
		conn_gone_msg(g);
	} else {
		brisk_thread_send_msg(g_iscsi.app_thread, conn_gone_msg, g);
	}
}
