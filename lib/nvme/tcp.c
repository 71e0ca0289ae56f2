/*
 * The NVMe/TCP host transport's ops: a controller is reached at
 * traddr:trsvcid and named by subnqn. Construction starts the admin
 * connection (the fabrics Connect asks for a dynamic controller, with the
 * host NQN from the options or one made from this process's host ID), and the
 * generic bring-up state machine polls it to its end before reading any
 * register; registers are Property Get/Set, so the rest of bring-up (CAP,
 * VS, CC.EN, CSTS.RDY, shutdown) runs unchanged. Each I/O qpair is its own
 * connection with its own Connect. Connecting is a sequence of polled
 * steps, so that neither attaching nor a reset (a reconnect) waits for the
 * controller on its thread. No DMA constraints: addresses are the caller's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/string.h>
#include <brisk/ticks.h>
#include <brisk/uuid.h>

#include "nvme_tcp.h"

#define NVME_TCP_MAX_QUEUE_ENTRIES 1024u
#define NVMF_OPC_FABRICS 0x7f

struct nvme_tcp_ctrlr {
	struct brisk_nvme_ctrlr ctrlr; /* first: the generic code's view */
	char hostnqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	struct brisk_uuid hostid;
	uint16_t cntlid;
};

static struct nvme_tcp_ctrlr *tcp_ctrlr(struct brisk_nvme_ctrlr *ctrlr)
{
	return (struct nvme_tcp_ctrlr *)ctrlr;
}

/* ---- Connect ---- */

static const char *connect_status_str(const struct brisk_nvme_cpl *cpl)
{
	if (cpl->status.sct != BRISK_NVME_SCT_COMMAND_SPECIFIC) {
		return brisk_nvme_cpl_get_status_string(&cpl->status);
	}
	switch (cpl->status.sc) {
	case BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS:
		return (cpl->cdw0 & BRISK_NVMF_CONNECT_IATTR_DATA) && (cpl->cdw0 & 0xffffu) == 256 ?
		       "no such subsystem (subnqn)" : "invalid parameters";
	case BRISK_NVMF_SC_CONNECT_INVALID_HOST:
		return "host NQN not allowed by the subsystem";
	case BRISK_NVMF_SC_CONNECT_CONTROLLER_BUSY:
		return "controller busy";
	default:
		return "refused";
	}
}

/* The steps of connecting a queue: each runs when the one before is done,
 * none waits (the caller polls and bounds the time by connect_deadline). */
enum tcp_connect_step {
	TCP_CONNECT_OPENING = 1, /* TCP connect, ICReq/ICResp */
	TCP_CONNECT_WAIT_RESP, /* fabrics Connect sent */
	TCP_CONNECT_DONE,
};

static int tcp_connect_send(struct brisk_nvme_qpair *qpair)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	struct nvme_tcp_ctrlr *t = tcp_ctrlr(qpair->ctrlr);
	struct brisk_nvmf_connect_cmd cmd = { .opcode = NVMF_OPC_FABRICS,
					      .fctype = BRISK_NVMF_FCTYPE_CONNECT,
					      .qid = qpair->id,
					      .sqsize = (uint16_t)(qpair->num_entries - 1u),
					      .kato = tq->connect_kato };
	struct brisk_nvmf_connect_data data = { .cntlid = tq->connect_cntlid };

	memcpy(data.hostid, &t->hostid, sizeof(data.hostid));
	brisk_strlcpy(data.subnqn, t->ctrlr.trid.subnqn, sizeof(data.subnqn));
	brisk_strlcpy(data.hostnqn, t->hostnqn, sizeof(data.hostnqn));
	tq->connect_step = TCP_CONNECT_WAIT_RESP;
	return nvme_tcp_sync_send(qpair, (struct brisk_nvme_cmd *)&cmd, &data, sizeof(data));
}

/* The Connect response: the admin queue learns its controller ID. */
static int tcp_connect_resp(struct brisk_nvme_qpair *qpair, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_tcp_ctrlr *t = tcp_ctrlr(qpair->ctrlr);

	nvme_tcp_qp(qpair)->connect_step = TCP_CONNECT_DONE;
	if (brisk_nvme_cpl_is_error(cpl)) {
		BRISK_ERRLOG("nvme tcp %s: Connect to '%s' as '%s' failed: %s\n", nvme_tcp_qp(qpair)->name,
			     t->ctrlr.trid.subnqn, t->hostnqn, connect_status_str(cpl));
		return -ECONNREFUSED;
	}
	if (qpair->id == 0) {
		t->cntlid = (uint16_t)cpl->cdw0;
	}
	return 0;
}

static int tcp_connect_step(struct brisk_nvme_qpair *qpair)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	struct brisk_nvme_cpl cpl;
	int rc;

	switch (tq->connect_step) {
	case TCP_CONNECT_OPENING:
		rc = nvme_tcp_conn_open_poll(&tq->conn);
		return rc != 0 ? rc : tcp_connect_send(qpair) == 0 ? -EAGAIN : -ENOTCONN;
	case TCP_CONNECT_WAIT_RESP:
		rc = nvme_tcp_sync_poll(qpair, &cpl);
		return rc != 0 ? rc : tcp_connect_resp(qpair, &cpl);
	default:
		return tq->conn.dead ? -ENOTCONN : 0;
	}
}

/* A new connection for qpair, then Connect on it: started here, finished by
 * tcp_qpair_connect_poll. */
static int tcp_connect_start(struct brisk_nvme_qpair *qpair, uint16_t cntlid, uint32_t kato)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);

	if (tq == NULL && (tq = nvme_tcp_qpair_new(qpair)) == NULL) {
		return -ENOMEM;
	}
	tq->connect_cntlid = cntlid;
	tq->connect_kato = kato;
	tq->connect_deadline = brisk_get_ticks() + nvme_ticks_from_us(NVME_TCP_TIMEOUT_US);
	tq->connect_step = TCP_CONNECT_OPENING;
	return nvme_tcp_qpair_open_start(qpair);
}

/* What a connect that timed out was waiting for, for the log. */
static const char *connect_waited_for(const struct nvme_tcp_qpair *tq)
{
	if (tq->connect_step == TCP_CONNECT_WAIT_RESP) {
		return "no response to a fabrics command (Connect)";
	}
	return tq->conn.open_state == NVME_TCP_OPEN_IC_WAIT ? "no ICResp" : "TCP connection not established";
}

/* -EAGAIN while connecting, 0 when the queue is connected, -errno. */
static int tcp_qpair_connect_poll(struct brisk_nvme_qpair *qpair)
{
	struct nvme_tcp_qpair *tq = nvme_tcp_qp(qpair);
	int rc;

	if (tq == NULL) {
		return -ENOTCONN;
	}
	rc = tcp_connect_step(qpair);
	if (rc == -EAGAIN && brisk_get_ticks() > tq->connect_deadline) {
		BRISK_ERRLOG("nvme tcp %s: %s in %u s\n", tq->name, connect_waited_for(tq),
			     NVME_TCP_TIMEOUT_US / 1000000u);
		nvme_tcp_conn_close(&tq->conn);
		rc = -ETIMEDOUT;
	}
	return rc;
}

static int tcp_qpair_connect_start(struct brisk_nvme_qpair *qpair)
{
	return tcp_connect_start(qpair, tcp_ctrlr(qpair->ctrlr)->cntlid, 0);
}

/* Polls a started connect to its end, waiting on the socket between. */
static int tcp_connect_wait(struct brisk_nvme_qpair *qpair)
{
	int rc;

	while ((rc = tcp_qpair_connect_poll(qpair)) == -EAGAIN) {
		nvme_tcp_conn_wait(&nvme_tcp_qp(qpair)->conn, 1000);
	}
	return rc;
}

/* The same, waiting (attach, and a qpair allocated by its user). */
static int tcp_connect_sync(struct brisk_nvme_qpair *qpair, uint16_t cntlid, uint32_t kato)
{
	int rc = tcp_connect_start(qpair, cntlid, kato);

	return rc != 0 ? rc : tcp_connect_wait(qpair);
}

static int tcp_qpair_connect(struct brisk_nvme_qpair *qpair)
{
	return tcp_connect_sync(qpair, tcp_ctrlr(qpair->ctrlr)->cntlid, 0);
}

static void tcp_qpair_destroy(struct brisk_nvme_qpair *qpair)
{
	nvme_tcp_qpair_free(qpair);
}

static int tcp_qpair_poll(struct brisk_nvme_qpair *qpair)
{
	return nvme_tcp_qp(qpair) == NULL ? -ENOTCONN : nvme_tcp_qpair_poll(qpair);
}

/* ---- Properties in place of registers ---- */

static int tcp_property(struct brisk_nvme_ctrlr *ctrlr, uint8_t fctype, uint32_t ofst,
			bool size8, uint64_t value, uint64_t *out)
{
	struct brisk_nvmf_property_cmd cmd = { .opcode = NVMF_OPC_FABRICS, .fctype = fctype,
		.attrib = size8 ? BRISK_NVMF_PROP_SIZE_8 : BRISK_NVMF_PROP_SIZE_4, .ofst = ofst,
		.value = value };
	struct brisk_nvme_cpl cpl;
	int rc;

	/* The admin connection is shared: a qpair thread's health check (or a
	 * caller's CSTS read) must not interleave with admin polling. */
	pthread_mutex_lock(&ctrlr->lock);
	if (nvme_tcp_qp(ctrlr->adminq) == NULL || nvme_tcp_qp(ctrlr->adminq)->conn.dead) {
		pthread_mutex_unlock(&ctrlr->lock);
		return -ENOTCONN;
	}
	rc = nvme_tcp_sync_cmd(ctrlr->adminq, (struct brisk_nvme_cmd *)&cmd, NULL, 0, &cpl);
	pthread_mutex_unlock(&ctrlr->lock);
	if (rc == 0 && brisk_nvme_cpl_is_error(&cpl)) {
		BRISK_ERRLOG("nvme tcp %s: Property %s of offset 0x%x failed: %s\n", ctrlr->trid.traddr,
			     fctype == BRISK_NVMF_FCTYPE_PROPERTY_GET ? "Get" : "Set", ofst,
			     brisk_nvme_cpl_get_status_string(&cpl.status));
		rc = -EIO;
	}
	if (rc == 0 && out != NULL) {
		*out = (uint64_t)cpl.cdw1 << 32 | cpl.cdw0;
	}
	return rc;
}

/* A property that cannot be read reads as all ones: the generic code then
 * fails the controller as it does for a PCIe device that has gone. */
static uint64_t tcp_get_reg_8(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset)
{
	uint64_t v = 0;

	return tcp_property(ctrlr, BRISK_NVMF_FCTYPE_PROPERTY_GET, offset, true, 0, &v) == 0 ?
	       v : UINT64_MAX;
}

static uint32_t tcp_get_reg_4(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset)
{
	uint64_t v = 0;

	return tcp_property(ctrlr, BRISK_NVMF_FCTYPE_PROPERTY_GET, offset, false, 0, &v) == 0 ?
	       (uint32_t)v : UINT32_MAX;
}

/* AQA/ASQ/ACQ have no meaning over fabrics (the admin queue is the
 * connection); writing AQA is where bring-up re-arms the admin rings. */
static void tcp_set_reg_4(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint32_t value)
{
	if (offset == BRISK_NVME_REG_AQA) {
		nvme_tcp_qpair_reset(ctrlr->adminq);
		return;
	}
	if (tcp_property(ctrlr, BRISK_NVMF_FCTYPE_PROPERTY_SET, offset, false, value, NULL) != 0) {
		nvme_ctrlr_set_failed(ctrlr, "Property Set failed");
	}
}

static void tcp_set_reg_8(struct brisk_nvme_ctrlr *ctrlr, uint32_t offset, uint64_t value)
{
	(void)ctrlr;
	(void)offset;
	(void)value;
}

/* ---- Controller ---- */

/* This process's host identifier, made once: every controller without a
 * uuid host NQN sends it, so that a target sees one host (its reservations,
 * keyed by host ID, hold across reconnects, detach and attach, and every
 * path of a multipath bdev). */
static struct brisk_uuid g_tcp_default_hostid;
static pthread_once_t g_tcp_hostid_once = PTHREAD_ONCE_INIT;

static void tcp_default_hostid_init(void) { brisk_uuid_generate(&g_tcp_default_hostid); }

#define NVME_UUID_HOSTNQN_PREFIX "nqn.2014-08.org.nvmexpress:uuid:"

/* The host NQN asked for (else one from this process's host ID) and its
 * host ID: the UUID a uuid host NQN carries, else this process's. */
static void tcp_hostnqn(struct nvme_tcp_ctrlr *t, const struct brisk_nvme_ctrlr_opts *opts)
{
	const size_t plen = strlen(NVME_UUID_HOSTNQN_PREFIX);
	char uuid[40];

	pthread_once(&g_tcp_hostid_once, tcp_default_hostid_init);
	t->hostid = g_tcp_default_hostid;
	if (opts == NULL || opts->hostnqn[0] == '\0') {
		brisk_uuid_fmt_lower(uuid, sizeof(uuid), &t->hostid);
		snprintf(t->hostnqn, sizeof(t->hostnqn), NVME_UUID_HOSTNQN_PREFIX "%s", uuid);
		return;
	}
	brisk_strlcpy(t->hostnqn, opts->hostnqn, sizeof(t->hostnqn));
	if (strncmp(t->hostnqn, NVME_UUID_HOSTNQN_PREFIX, plen) == 0 &&
	    brisk_uuid_parse(&t->hostid, t->hostnqn + plen) != 0) {
		t->hostid = g_tcp_default_hostid; /* not a UUID after all */
	}
}

static void tcp_ctrlr_destruct(struct brisk_nvme_ctrlr *ctrlr)
{
	nvme_ctrlr_destruct(ctrlr);
	free(tcp_ctrlr(ctrlr));
}

static struct brisk_nvme_ctrlr *tcp_ctrlr_construct(const struct brisk_nvme_transport_id *trid,
						    const struct brisk_nvme_ctrlr_opts *opts,
						    void *dev)
{
	struct nvme_tcp_ctrlr *t = calloc(1, sizeof(*t));
	int rc;

	(void)dev;
	if (t == NULL) {
		return NULL;
	}
	if (trid->subnqn[0] == '\0' || trid->traddr[0] == '\0') {
		BRISK_ERRLOG("nvme tcp: the transport ID needs traddr and subnqn\n");
		free(t);
		return NULL;
	}
	t->ctrlr.va_is_iova = true; /* data is copied to the socket: any memory will do */
	rc = nvme_ctrlr_construct(&t->ctrlr, trid, opts, &nvme_tcp_ops);
	if (rc != 0) {
		free(t);
		return NULL;
	}
	tcp_hostnqn(t, opts);
	/* Bring-up polls the rest (admin_connecting): attaching never waits. */
	rc = tcp_connect_start(t->ctrlr.adminq, BRISK_NVMF_CNTLID_DYNAMIC, t->ctrlr.opts.keep_alive_timeout_ms);
	t->ctrlr.admin_connecting = rc == 0;
	if (rc != 0) {
		BRISK_ERRLOG("nvme tcp %s:%s: cannot attach '%s' (%s)\n", trid->traddr, trid->trsvcid,
			     trid->subnqn, strerror(-rc));
		tcp_ctrlr_destruct(&t->ctrlr);
		return NULL;
	}
	return &t->ctrlr;
}

/* A reset over TCP: the old connections (dead or not) go, and the admin
 * queue connects again to a new dynamic controller (finished by polling
 * the admin queue's connect); the generic reset then brings it up with
 * Property Set and connects each I/O qpair again. */
static int tcp_ctrlr_reconnect_start(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_qpair *qpair;

	TAILQ_FOREACH(qpair, &ctrlr->io_qpairs, link) {
		if (nvme_tcp_qp(qpair) != NULL) {
			nvme_tcp_conn_close(&nvme_tcp_qp(qpair)->conn);
		}
	}
	if (nvme_tcp_qp(ctrlr->adminq) != NULL) {
		nvme_tcp_conn_close(&nvme_tcp_qp(ctrlr->adminq)->conn);
	}
	nvme_qpair_reset_rings(ctrlr->adminq);
	return tcp_connect_start(ctrlr->adminq, BRISK_NVMF_CNTLID_DYNAMIC, ctrlr->opts.keep_alive_timeout_ms);
}

static int tcp_ctrlr_reconnect(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc = tcp_ctrlr_reconnect_start(ctrlr);

	return rc != 0 ? rc : tcp_connect_wait(ctrlr->adminq);
}

static int tcp_scan(struct brisk_nvme_probe_ctx *ctx, const struct brisk_nvme_transport_id *trid)
{
	if (!nvme_ctrlr_is_attached(trid)) {
		nvme_probe_found(ctx, trid, NULL);
	}
	return 0;
}

static void tcp_dev_free(void *dev)
{
	(void)dev; /* scan hands out no device */
}

static uint32_t tcp_max_queue_entries(struct brisk_nvme_ctrlr *ctrlr)
{
	(void)ctrlr;
	return NVME_TCP_MAX_QUEUE_ENTRIES;
}

static void tcp_qpair_init_doorbells(struct brisk_nvme_qpair *qpair)
{
	(void)qpair; /* no MMIO: ring_sq_doorbell sends */
}

static void tcp_ring_cq(struct brisk_nvme_qpair *qpair, uint16_t head)
{
	(void)qpair; /* the host's ring only: nothing to tell the controller */
	(void)head;
}

const struct nvme_transport_ops nvme_tcp_ops = {
	.name = "TCP",
	.trtype = BRISK_NVME_TRANSPORT_TCP,
	.scan = tcp_scan,
	.ctrlr_construct = tcp_ctrlr_construct,
	.ctrlr_destruct = tcp_ctrlr_destruct,
	.dev_free = tcp_dev_free,
	.get_reg_4 = tcp_get_reg_4,
	.set_reg_4 = tcp_set_reg_4,
	.get_reg_8 = tcp_get_reg_8,
	.set_reg_8 = tcp_set_reg_8,
	.max_queue_entries = tcp_max_queue_entries,
	.qpair_init_doorbells = tcp_qpair_init_doorbells,
	.ring_sq_doorbell = nvme_tcp_ring_sq,
	.ring_cq_doorbell = tcp_ring_cq,
	.qpair_connect = tcp_qpair_connect,
	.qpair_destroy = tcp_qpair_destroy,
	.qpair_poll = tcp_qpair_poll,
	.ctrlr_reconnect = tcp_ctrlr_reconnect,
	.ctrlr_reconnect_start = tcp_ctrlr_reconnect_start,
	.qpair_connect_start = tcp_qpair_connect_start,
	.qpair_connect_poll = tcp_qpair_connect_poll,
};
