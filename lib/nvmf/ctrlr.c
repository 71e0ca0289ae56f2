/*
 * Controllers: the Connect command (checked on the connection's thread,
 * then matched against subsystems, hosts and controllers on the app thread,
 * then finished back on the connection's thread), controller lifetime
 * (reference counted by its connections), Property Get/Set on the
 * controller registers, and the keep-alive timeout.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "nvmf_internal.h"

struct connect_ctx {
	struct nvmf_req *req;
	struct nvmf_conn *conn;
	struct brisk_thread *thread;
	uint16_t qid, sqsize;
	uint32_t kato;
	struct brisk_nvmf_connect_data data;
	int sct, sc;
	uint32_t cdw0;
	struct nvmf_ctrlr *ctrlr;
};

static void connect_fail(struct connect_ctx *cc, int sc, bool in_data, uint16_t ipo)
{
	cc->sct = BRISK_NVME_SCT_COMMAND_SPECIFIC;
	cc->sc = sc;
	if (sc == BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS) {
		cc->cdw0 = (in_data ? BRISK_NVMF_CONNECT_IATTR_DATA : 0) | ipo;
	}
}

static uint64_t ctrlr_cap(void)
{
	union brisk_nvme_cap_register cap = { .raw = 0 };

	cap.bits.mqes = g_nvmf_tgt.tcp->opts.max_queue_depth - 1;
	cap.bits.cqr = 1;
	cap.bits.to = 30; /* 15 s */
	cap.bits.css = 1; /* NVM command set */
	return cap.raw;
}

static uint16_t subsys_next_cntlid(struct nvmf_subsystem *s)
{
	for (uint32_t tries = 0; tries <= (uint32_t)(s->max_cntlid - s->min_cntlid); tries++) {
		uint16_t id = s->next_cntlid;
		struct nvmf_ctrlr *c;
		bool used = false;

		s->next_cntlid = id >= s->max_cntlid ? s->min_cntlid : id + 1;
		TAILQ_FOREACH(c, &s->ctrlrs, link) {
			used |= c->cntlid == id;
		}
		if (!used) {
			return id;
		}
	}
	return 0;
}

static struct nvmf_ctrlr *ctrlr_create(struct connect_ctx *cc, struct nvmf_subsystem *s)
{
	struct nvmf_ctrlr *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->cntlid = subsys_next_cntlid(s)) == 0 ||
	    (c->resv_mask = calloc(s->max_nsid ? s->max_nsid : 1, 1)) == NULL) {
		free(c);
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_CONTROLLER_BUSY, false, 0);
		return NULL;
	}
	c->subsys = s;
	memcpy(c->hostnqn, cc->data.hostnqn, sizeof(c->hostnqn) - 1); /* checked: a valid NQN fits */
	memcpy(c->hostid, cc->data.hostid, sizeof(c->hostid));
	c->thread = cc->thread;
	__atomic_store_n(&c->refs, 1, __ATOMIC_RELAXED);
	c->cap = ctrlr_cap();
	c->vs = 0x00010300; /* NVMe 1.3 */
	c->kato_ms = cc->kato;
	c->vwc = 1;
	c->num_queues_granted = g_nvmf_tgt.tcp->opts.max_qpairs_per_ctrlr - 1;
	if (s->subtype == BRISK_NVMF_SUBTYPE_NVME && nvmf_ana_ctrlr_init(c, &cc->conn->local) != 0) {
		free(c->resv_mask);
		free(c);
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_CONTROLLER_BUSY, false, 0);
		return NULL;
	}
	if (s->subtype == BRISK_NVMF_SUBTYPE_DISCOVERY) {
		c->disc_digest = nvmf_discovery_log_digest(c->hostnqn); /* changes are news from here on */
	}
	TAILQ_INSERT_TAIL(&s->ctrlrs, c, link);
	return c;
}

static struct nvmf_ctrlr *ctrlr_find(struct nvmf_subsystem *s, uint16_t cntlid)
{
	struct nvmf_ctrlr *c;

	TAILQ_FOREACH(c, &s->ctrlrs, link) {
		if (c->cntlid == cntlid) {
			return c;
		}
	}
	return NULL;
}

static void connect_io_queue(struct connect_ctx *cc, struct nvmf_subsystem *s)
{
	struct nvmf_ctrlr *c = ctrlr_find(s, cc->data.cntlid);

	if (c == NULL || __atomic_load_n(&c->dead, __ATOMIC_SEQ_CST)) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, true, 16);
	} else if (strcmp(c->hostnqn, cc->data.hostnqn) != 0) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, true, 512);
	} else if (cc->qid >= g_nvmf_tgt.tcp->opts.max_qpairs_per_ctrlr) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, false, 42);
	} else if (!(c->csts & 1)) {
		cc->sct = BRISK_NVME_SCT_GENERIC;
		cc->sc = BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR;
	} else {
		__atomic_fetch_add(&c->refs, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&c->num_io_qpairs, 1, __ATOMIC_SEQ_CST);
		cc->ctrlr = c;
	}
}

static void connect_finish(void *arg);

/* App thread: subsystem, host, controller. */
static void connect_on_app_thread(void *arg)
{
	struct connect_ctx *cc = arg;
	struct nvmf_subsystem *s = nvmf_subsystem_find(cc->data.subnqn);

	if (s == NULL || (s->subtype == BRISK_NVMF_SUBTYPE_NVME && !nvmf_subsystem_listens_on(s, &cc->conn->local))) {
		BRISK_ERRLOG("nvmf: connect from %s: no subsystem '%s' on this listener\n", cc->conn->peer,
			     cc->data.subnqn);
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, true, 256);
	} else if (!nvmf_subsystem_host_allowed(s, cc->data.hostnqn)) {
		BRISK_ERRLOG("nvmf: connect from %s: host '%s' not allowed on '%s'\n", cc->conn->peer,
			     cc->data.hostnqn, s->nqn);
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_HOST, false, 0);
	} else if (cc->qid == 0 && cc->data.cntlid != BRISK_NVMF_CNTLID_DYNAMIC) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, true, 16);
	} else if (cc->qid == 0) {
		cc->ctrlr = ctrlr_create(cc, s);
	} else {
		connect_io_queue(cc, s);
	}
	brisk_thread_send_msg(cc->thread, connect_finish, cc);
}

static void ka_start(struct nvmf_ctrlr *c);

static void connect_attach(struct nvmf_conn *conn, struct connect_ctx *cc)
{
	struct nvmf_ctrlr *c = cc->ctrlr;
	struct nvmf_poll_group *pg = conn->pg;

	conn->ctrlr = c;
	conn->qid = cc->qid;
	conn->sqsize = cc->sqsize + 1;
	if (cc->qid == 0) {
		c->admin = conn;
		c->last_ka_tick = brisk_get_ticks();
		ka_start(c);
		__atomic_fetch_add(&pg->admin_qpairs, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&pg->current_admin_qpairs, 1, __ATOMIC_SEQ_CST);
	} else {
		nvmf_conn_ns_init(conn, c->subsys->max_nsid); /* failing: its I/O is aborted */
		__atomic_fetch_add(&pg->io_qpairs, 1, __ATOMIC_SEQ_CST);
		__atomic_fetch_add(&pg->current_io_qpairs, 1, __ATOMIC_SEQ_CST);
	}
	cc->req->cpl.cdw0 = c->cntlid;
	BRISK_INFOLOG("nvmf: %s: %s queue %u of controller %u of %s (host %s)\n", conn->peer,
		      cc->qid ? "I/O" : "admin", cc->qid, c->cntlid, c->subsys->nqn, c->hostnqn);
}

/* Back on the connection's thread. */
static void connect_finish(void *arg)
{
	struct connect_ctx *cc = arg;
	struct nvmf_conn *conn = cc->conn;
	struct nvmf_req *req = cc->req;

	conn->outstanding--;
	conn->connecting = false;
	if (cc->ctrlr != NULL && conn->dead) { /* the host left during the round trip */
		if (cc->qid == 0) {
			__atomic_store_n(&cc->ctrlr->dead, true, __ATOMIC_SEQ_CST);
		} else {
			__atomic_fetch_sub(&cc->ctrlr->num_io_qpairs, 1, __ATOMIC_SEQ_CST);
		}
		nvmf_ctrlr_put(cc->ctrlr);
	} else if (cc->ctrlr != NULL) {
		connect_attach(conn, cc);
	} else {
		nvmf_req_set_status(req, cc->sct, cc->sc);
		req->cpl.cdw0 = cc->cdw0;
	}
	free(cc);
	nvmf_req_complete(req);
}

static int connect_check_cmd(struct nvmf_req *req, struct connect_ctx *cc)
{
	const struct brisk_nvmf_connect_cmd *cmd = (const void *)&req->cmd;
	const struct brisk_nvmf_transport_opts *o = &g_nvmf_tgt.tcp->opts;
	uint32_t max = cmd->qid == 0 ? o->max_aq_depth : o->max_queue_depth;

	if (cmd->recfmt != 0) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INCOMPATIBLE_FORMAT, false, 0);
		return -1;
	}
	if (cmd->sqsize == 0 || cmd->sqsize + 1u > max) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, false, 44);
		return -1;
	}
	if (req->length < sizeof(cc->data) || req->h2c_off < sizeof(cc->data)) {
		cc->sct = BRISK_NVME_SCT_GENERIC;
		cc->sc = BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID;
		return -1;
	}
	memcpy(&cc->data, req->buf, sizeof(cc->data));
	if (strnlen(cc->data.subnqn, sizeof(cc->data.subnqn)) == sizeof(cc->data.subnqn)) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, true, 256);
		return -1;
	}
	if (strnlen(cc->data.hostnqn, sizeof(cc->data.hostnqn)) == sizeof(cc->data.hostnqn) ||
	    nvmf_nqn_validate(cc->data.hostnqn) != 0) {
		connect_fail(cc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, true, 512);
		return -1;
	}
	cc->qid = cmd->qid;
	cc->sqsize = cmd->sqsize;
	cc->kato = cmd->kato;
	return 0;
}

void nvmf_ctrlr_connect(struct nvmf_req *req)
{
	struct nvmf_conn *conn = req->conn;
	struct connect_ctx *cc = calloc(1, sizeof(*cc));

	if (cc == NULL || conn->ctrlr != NULL || conn->connecting) {
		free(cc);
		nvmf_req_set_status(req, BRISK_NVME_SCT_GENERIC, cc == NULL ? BRISK_NVME_SC_INTERNAL_DEVICE_ERROR :
				    BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR);
		nvmf_req_complete(req);
		return;
	}
	if (connect_check_cmd(req, cc) != 0) {
		nvmf_req_set_status(req, cc->sct, cc->sc);
		req->cpl.cdw0 = cc->cdw0;
		free(cc);
		nvmf_req_complete(req);
		return;
	}
	cc->req = req;
	cc->conn = conn;
	cc->thread = brisk_get_thread();
	conn->connecting = true;
	conn->outstanding++;
	if (brisk_thread_send_msg(g_nvmf_tgt.app_thread, connect_on_app_thread, cc) != 0) {
		cc->sct = BRISK_NVME_SCT_GENERIC;
		cc->sc = BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
		connect_finish(cc);
	}
}

/* ---- lifetime ---- */

static void ctrlr_free_on_app_thread(void *arg)
{
	struct nvmf_ctrlr *c = arg;

	TAILQ_REMOVE(&c->subsys->ctrlrs, c, link);
	free(c->resv_mask);
	free((void *)c->ana_states);
	free(c);
}

void nvmf_ctrlr_put(struct nvmf_ctrlr *c)
{
	if (__atomic_fetch_sub(&c->refs, 1, __ATOMIC_SEQ_CST) == 1) {
		brisk_thread_send_msg(g_nvmf_tgt.app_thread, ctrlr_free_on_app_thread, c);
	}
}

void nvmf_ctrlr_conn_gone(struct nvmf_conn *conn)
{
	struct nvmf_ctrlr *c = conn->ctrlr;

	if (c == NULL) {
		return;
	}
	if (conn->qid == 0) {
		__atomic_store_n(&c->dead, true, __ATOMIC_SEQ_CST);
		brisk_poller_unregister(&c->ka_poller);
		c->admin = NULL;
		c->num_aer = 0; /* the requests were the connection's */
	} else {
		__atomic_fetch_sub(&c->num_io_qpairs, 1, __ATOMIC_SEQ_CST);
	}
	conn->ctrlr = NULL;
	nvmf_ctrlr_put(c);
}

/* ---- keep alive ---- */

static int ka_poll(void *arg)
{
	struct nvmf_ctrlr *c = arg;
	/* Half a period of slack: a host that sends Keep Alive exactly every KATO
	 * (as Linux before 6.2 does) must not be cut off by timer jitter. */
	uint64_t limit = brisk_us_to_ticks((uint64_t)c->kato_ms * 1500, brisk_get_ticks_hz());

	if (c->admin != NULL && brisk_get_ticks() - c->last_ka_tick > limit) {
		BRISK_ERRLOG("nvmf: controller %u of %s: keep alive timeout (%u ms): disconnecting\n", c->cntlid,
			     c->subsys->nqn, c->kato_ms);
		nvmf_conn_disconnect(c->admin);
		brisk_poller_unregister(&c->ka_poller);
		return 1;
	}
	return 0;
}

static void ka_start(struct nvmf_ctrlr *c)
{
	brisk_poller_unregister(&c->ka_poller);
	if (c->kato_ms != 0) {
		c->ka_poller = brisk_poller_register_named(ka_poll, c, (uint64_t)c->kato_ms * 1000,
							   "nvmf_keep_alive");
	}
}

void nvmf_ctrlr_set_kato(struct nvmf_ctrlr *c, uint32_t kato_ms)
{
	c->kato_ms = kato_ms;
	c->last_ka_tick = brisk_get_ticks();
	ka_start(c);
}

/* ---- properties ---- */

static int prop_set_cc(struct nvmf_ctrlr *c, uint32_t v)
{
	union brisk_nvme_cc_register cc = { .raw = v }, old = { .raw = c->cc };
	union brisk_nvme_csts_register csts = { .raw = c->csts };

	if (cc.bits.en && !old.bits.en) {
		csts.bits.rdy = 1;
	} else if (!cc.bits.en && old.bits.en) {
		csts.bits.rdy = 0; /* a reset: the host reconnects its I/O queues */
		csts.bits.shst = BRISK_NVME_SHST_NORMAL;
	}
	if (cc.bits.shn != 0) {
		csts.bits.shst = BRISK_NVME_SHST_COMPLETE;
	}
	c->cc = cc.raw;
	c->csts = csts.raw;
	return 0;
}

static int prop_get(struct nvmf_ctrlr *c, uint32_t ofst, uint8_t size, uint64_t *v)
{
	switch (ofst) {
	case BRISK_NVME_REG_CAP:
		*v = c->cap;
		return size == BRISK_NVMF_PROP_SIZE_8 ? 0 : -EINVAL;
	case BRISK_NVME_REG_VS:
		*v = c->vs;
		break;
	case BRISK_NVME_REG_CC:
		*v = c->cc;
		break;
	case BRISK_NVME_REG_CSTS:
		*v = c->csts;
		break;
	default:
		return -EINVAL;
	}
	return size == BRISK_NVMF_PROP_SIZE_4 ? 0 : -EINVAL;
}

void nvmf_ctrlr_property(struct nvmf_req *req)
{
	const struct brisk_nvmf_property_cmd *p = (const void *)&req->cmd;
	struct nvmf_ctrlr *c = req->conn->ctrlr;
	uint8_t size = p->attrib & 0x7;
	uint64_t v = 0;
	int rc;

	if (p->fctype == BRISK_NVMF_FCTYPE_PROPERTY_GET) {
		rc = prop_get(c, p->ofst, size, &v);
		req->cpl.cdw0 = (uint32_t)v;
		req->cpl.cdw1 = (uint32_t)(v >> 32);
	} else if (p->ofst == BRISK_NVME_REG_CC && size == BRISK_NVMF_PROP_SIZE_4) {
		rc = prop_set_cc(c, (uint32_t)p->value);
	} else {
		rc = -EINVAL;
	}
	if (rc != 0) {
		nvmf_req_set_status(req, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_INVALID_FIELD);
	}
	nvmf_req_complete(req);
}
