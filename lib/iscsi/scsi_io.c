/*
 * SCSI data movement over iSCSI (RFC 7143 11.2-11.8) on a poll group
 * thread: a SCSI Command takes a task; its CmdSN is checked against the
 * session's window (in order: run; ahead: held until the gap fills;
 * outside: ignored); write data arrives as immediate data, unsolicited
 * Data-Out (FirstBurstLength) and Data-Out answering our R2Ts, one burst
 * at a time; the task then runs in lib/scsi. Reads come back as Data-In
 * PDUs with the status in the last one unless there is sense data, which
 * needs a SCSI Response. Task management aborts our own waiting tasks and
 * passes the rest to lib/scsi.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "iscsi_internal.h"

#define MAX_WRITE_LEN (64u * 1024 * 1024)

struct iscsi_task *iscsi_task_find(struct iscsi_conn *c, uint32_t itt)
{
	struct iscsi_task *t;

	TAILQ_FOREACH(t, &c->active, link) {
		if (t->itt == itt) {
			return t;
		}
	}
	return NULL;
}

static struct iscsi_task *task_get(struct iscsi_conn *c, bool listed)
{
	struct iscsi_task *t = TAILQ_FIRST(&c->free_tasks);

	if (t == NULL) {
		return NULL;
	}
	TAILQ_REMOVE(&c->free_tasks, t, link);
	memset((uint8_t *)t + offsetof(struct iscsi_task, state), 0,
	       offsetof(struct iscsi_task, buf) - offsetof(struct iscsi_task, state));
	t->big_buf = NULL;
	t->data_got = t->r2t_off = t->r2t_sn = t->datasn = t->in_off = t->in_len = 0;
	t->aborted = false;
	t->status_sent = false;
	t->unsol_datasn = t->sol_datasn = 0;
	t->data_err = false;
	t->is_mgmt = false;
	t->in_window = false;
	memset(&t->pdu, 0, sizeof(t->pdu));
	t->listed = listed;
	if (listed) {
		TAILQ_INSERT_TAIL(&c->active, t, link);
	}
	c->outstanding++;
	return t;
}

/* A SCSI command's CmdSN slot reopens (MaxCmdSN + 1) once its status is
 * ready to go out, so the window bounds the commands the session holds:
 * raising MaxCmdSN on arrival let an initiator queue without limit, run
 * the connection out of tasks and have it closed (libiscsi reconnected,
 * 3 s each time, in the MultipathIO CAW test). */
static void task_window_release(struct iscsi_task *t)
{
	if (t->in_window && t->conn->sess != NULL) {
		t->conn->sess->max_cmdsn++;
	}
	t->in_window = false;
}

void iscsi_task_free(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;

	task_window_release(t);
	if (t->listed) {
		TAILQ_REMOVE(&c->active, t, link);
	}
	if (t->state == ISCSI_TASK_SEND || t->state == ISCSI_TASK_EXEC) {
		brisk_scsi_task_put_buf(&t->scsi);
	}
	free(t->big_buf);
	t->big_buf = NULL;
	t->state = ISCSI_TASK_FREE;
	TAILQ_INSERT_TAIL(&c->free_tasks, t, link);
	c->outstanding--;
}

/* A closing connection drops every task not inside lib/scsi. */
void iscsi_conn_drop_tasks(struct iscsi_conn *c)
{
	for (uint32_t i = 0; i < c->num_tasks; i++) {
		struct iscsi_task *t = &c->tasks[i];

		if (t->state != ISCSI_TASK_FREE && t->state != ISCSI_TASK_EXEC) {
			iscsi_task_free(t);
		}
	}
}

/* ---- responses ---- */

static void put_residual(const struct iscsi_task *t, uint8_t *h, uint32_t moved)
{
	uint32_t want = t->scsi.cdb_data_len;

	if (want > t->edtl) {
		h[1] |= ISCSI_RSP_OVER;
		iscsi_put32(h, ISCSI_BHS_RESID, want - t->edtl);
	} else if (moved < t->edtl) {
		h[1] |= ISCSI_RSP_UNDER;
		iscsi_put32(h, ISCSI_BHS_RESID, t->edtl - moved);
	}
}

static uint32_t task_moved(const struct iscsi_task *t)
{
	if (t->read) {
		return t->in_len;
	}
	return t->scsi.cdb_data_len < t->edtl ? t->scsi.cdb_data_len : t->edtl;
}

static bool datain_sent(struct iscsi_out_pdu *p);

static bool c_dead(const struct iscsi_task *t)
{
	return t->conn->state == ISCSI_CONN_DEAD;
}

static bool rsp_sent(struct iscsi_out_pdu *p)
{
	iscsi_task_free(p->ctx);
	return false;
}

/* Builds and seals the SCSI Response in t->pdu (not queued). */
static void response_fill(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	uint8_t *h = t->pdu.hdr;

	memset(h, 0, ISCSI_BHS_LEN);
	h[0] = ISCSI_OP_SCSI_RSP;
	h[1] = ISCSI_FLAG_FINAL;
	h[3] = t->scsi.status;
	iscsi_put32(h, ISCSI_BHS_ITT, t->itt);
	task_window_release(t);
	iscsi_conn_set_window(c, h);
	iscsi_put32(h, ISCSI_BHS_DATASN, t->datasn + t->r2t_sn);
	put_residual(t, h, task_moved(t));
	t->pdu.data_len = 0;
	if (t->scsi.status == BRISK_SCSI_STATUS_CHECK_CONDITION && t->scsi.sense_data_len > 0) {
		iscsi_put16(t->buf, 0, t->scsi.sense_data_len);
		memcpy(t->buf + 2, t->scsi.sense_data, t->scsi.sense_data_len);
		t->pdu.data = t->buf;
		t->pdu.data_len = 2u + t->scsi.sense_data_len;
	}
	t->pdu.sent = rsp_sent;
	t->pdu.ctx = t;
	t->pdu.in_use = true;
	t->status_sent = true;
	iscsi_conn_seal(c, &t->pdu, true);
}

static void send_response(struct iscsi_task *t)
{
	response_fill(t);
	TAILQ_INSERT_TAIL(&t->conn->out, &t->pdu, link);
}

/* Sense data cannot ride in a Data-In PDU (RFC 7143 11.7.4). */
static bool status_in_datain(const struct iscsi_task *t)
{
	return t->scsi.sense_data_len == 0 || t->scsi.status != BRISK_SCSI_STATUS_CHECK_CONDITION;
}

/* Builds and seals the Data-In PDU at t->in_off in t->pdu (not queued). */
static void datain_fill(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	uint32_t left = t->in_len - t->in_off;
	uint32_t n = left < c->params.max_xmit_dsl ? left : c->params.max_xmit_dsl;
	bool last = n == left, status = last && status_in_datain(t);
	uint8_t *h = t->pdu.hdr;

	memset(h, 0, ISCSI_BHS_LEN);
	h[0] = ISCSI_OP_DATA_IN;
	h[1] = last ? ISCSI_FLAG_FINAL : 0;
	memcpy(h + ISCSI_BHS_LUN, t->bhs + ISCSI_BHS_LUN, 8);
	iscsi_put32(h, ISCSI_BHS_ITT, t->itt);
	iscsi_put32(h, ISCSI_BHS_TTT, ISCSI_RSVD_TAG);
	if (status) {
		task_window_release(t);
	}
	iscsi_conn_set_window(c, h);
	iscsi_put32(h, ISCSI_BHS_DATASN, t->datasn++);
	iscsi_put32(h, ISCSI_BHS_BUFOFF, t->in_off);
	if (status) {
		h[1] |= ISCSI_DATAIN_STATUS;
		h[3] = t->scsi.status;
		put_residual(t, h, t->in_len);
		t->status_sent = true;
	}
	t->pdu.data = (uint8_t *)t->scsi.iovs[0].iov_base + t->in_off;
	t->pdu.data_len = n;
	t->pdu.sent = datain_sent;
	t->pdu.ctx = t;
	t->pdu.in_use = true;
	t->in_off += n;
	iscsi_conn_seal(c, &t->pdu, status);
}

static bool datain_sent(struct iscsi_out_pdu *p)
{
	struct iscsi_task *t = p->ctx;

	if (c_dead(t)) {
		iscsi_task_free(t);
		return false;
	}
	if (t->in_off < t->in_len) {
		datain_fill(t);
		return true;
	}
	if (!t->status_sent) {
		response_fill(t);
		return true;
	}
	iscsi_task_free(t);
	return false;
}

static void send_datain(struct iscsi_task *t)
{
	datain_fill(t);
	TAILQ_INSERT_TAIL(&t->conn->out, &t->pdu, link);
}

static void task_done(struct brisk_scsi_task *st)
{
	struct iscsi_task *t = st->cb_arg;
	struct iscsi_conn *c = t->conn;

	if (c->state == ISCSI_CONN_DEAD || st->status == BRISK_SCSI_STATUS_TASK_ABORTED || t->aborted) {
		/* Aborted tasks get no response (RFC 7143 4.2.3.3); the TMF answers for them. */
		iscsi_task_free(t);
		return;
	}
	t->state = ISCSI_TASK_SEND;
	if (t->read && st->iovs != NULL && st->iovcnt > 0) {
		t->in_len = st->data_transferred < t->edtl ? st->data_transferred : t->edtl;
	}
	if (t->in_len > 0) {
		send_datain(t);
	} else {
		send_response(t);
	}
	iscsi_poll_group_kick(c->pg);
}

static void task_exec(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	struct brisk_scsi_task *st = &t->scsi;

	brisk_scsi_task_init(st, task_done, t);
	st->lun_id = brisk_scsi_lun_id_decode((uint64_t)iscsi_get32(t->bhs, 8) << 32 | iscsi_get32(t->bhs, 12));
	st->tag = t->itt;
	memcpy(st->cdb, t->bhs + ISCSI_BHS_CDB, 16);
	st->transfer_len = t->edtl;
	st->initiator_port = &c->sess->iport;
	st->target_port = &c->sess->tport;
	if (t->write) {
		t->iov.iov_base = t->big_buf ? t->big_buf : t->buf;
		t->iov.iov_len = t->edtl;
		st->iovs = &t->iov;
		st->iovcnt = 1;
		st->dxfer_dir = BRISK_SCSI_DIR_TO_DEV;
	} else if (t->read) {
		st->dxfer_dir = BRISK_SCSI_DIR_FROM_DEV;
	}
	t->state = ISCSI_TASK_EXEC;
	if (t->read && t->write) {
		/* Bidirectional commands: no SBC command here needs one. */
		brisk_scsi_task_set_sense(st, 0x05, 0x24, 0x00);
		t->read = false;
		task_done(st);
		return;
	}
	brisk_scsi_dev_queue_task(c->sess->node->dev, st);
}

static void cmd_refuse(struct iscsi_conn *c, struct iscsi_task *t, uint8_t sk, uint8_t asc)
{
	t->state = ISCSI_TASK_SEND;
	t->read = false;
	brisk_scsi_task_init(&t->scsi, task_done, t);
	brisk_scsi_task_set_sense(&t->scsi, sk, asc, 0);
	send_response(t);
}

static void exec_if_ready(struct iscsi_task *t)
{
	if (t->state == ISCSI_TASK_DATA_OUT && !t->held && (!t->write || t->data_got >= t->edtl)) {
		if (t->aborted) {
			iscsi_task_free(t);
			return;
		}
		if (t->data_err) {
			cmd_refuse(t->conn, t, 0x0b, 0x4b);  /* ABORTED COMMAND, DATA PHASE ERROR */
			return;
		}
		task_exec(t);
	}
}

/* ---- R2T ---- */

static bool r2t_sent(struct iscsi_out_pdu *p)
{
	struct iscsi_task *t = p->ctx;

	p->in_use = false;
	if (t->aborted && t->state == ISCSI_TASK_DATA_OUT && !t->held) {
		iscsi_task_free(t);
	}
	return false;
}

static void send_r2t(struct iscsi_task *t)
{
	struct iscsi_conn *c = t->conn;
	uint32_t len = t->edtl - t->r2t_off;
	uint8_t *h = t->pdu.hdr;

	if (len > c->sess->params.max_burst) {
		len = c->sess->params.max_burst;
	}
	memset(h, 0, ISCSI_BHS_LEN);
	h[0] = ISCSI_OP_R2T;
	h[1] = ISCSI_FLAG_FINAL;
	memcpy(h + ISCSI_BHS_LUN, t->bhs + ISCSI_BHS_LUN, 8);
	iscsi_put32(h, ISCSI_BHS_ITT, t->itt);
	iscsi_put32(h, ISCSI_BHS_TTT, t->ttt);
	iscsi_put32(h, ISCSI_BHS_STATSN, c->statsn);
	iscsi_conn_set_window(c, h);
	iscsi_put32(h, ISCSI_BHS_DATASN, t->r2t_sn++);
	iscsi_put32(h, ISCSI_BHS_BUFOFF, t->r2t_off);
	iscsi_put32(h, 44, len);
	t->r2t_off += len;
	t->sol_datasn = 0;  /* each R2T's Data-Out sequence counts from 0 */
	t->pdu.data_len = 0;
	t->pdu.sent = r2t_sent;
	t->pdu.ctx = t;
	t->pdu.in_use = true;
	iscsi_conn_queue(c, &t->pdu, false);
}

static void maybe_r2t(struct iscsi_task *t)
{
	if (t->write && !t->pdu.in_use && t->r2t_off < t->edtl && t->data_got >= t->r2t_off) {
		send_r2t(t);
	}
}

/* ---- SCSI Command ---- */

static int cmd_setup_write(struct iscsi_conn *c, struct iscsi_task *t)
{
	const struct iscsi_params *p = &c->sess->params;
	uint32_t imm = c->rx_data_len;

	if (t->edtl > MAX_WRITE_LEN || imm > t->edtl || (imm > 0 && (!p->immediate_data || imm > p->first_burst))) {
		return -EINVAL;
	}
	if (t->edtl > ISCSI_TASK_BUF) {
		t->big_buf = malloc(t->edtl);  /* rare: above the preallocated buffer */
		if (t->big_buf == NULL) {
			return -ENOMEM;
		}
	}
	memcpy(t->big_buf ? t->big_buf : t->buf, c->rx_data, imm);
	t->data_got = imm;
	/* Without InitialR2T the initiator may send FirstBurstLength unasked. */
	t->r2t_off = p->initial_r2t ? imm : (p->first_burst < t->edtl ? p->first_burst : t->edtl);
	if (t->r2t_off < imm) {
		t->r2t_off = imm;
	}
	return 0;
}

/* RFC 7143 4.2.2.1: 0 = run now, 1 = hold for an earlier CmdSN, -1 = outside the window: ignore. */
static int cmdsn_place(struct iscsi_conn *c, const uint8_t *bhs)
{
	struct iscsi_session *s = c->sess;
	uint32_t sn = iscsi_get32(bhs, ISCSI_BHS_CMDSN);

	if (bhs[0] & ISCSI_IMMEDIATE) {
		return 0;
	}
	if (sn == s->exp_cmdsn) {
		s->exp_cmdsn++;
		return 0;
	}
	if (iscsi_sn_lt(s->exp_cmdsn, sn) && !iscsi_sn_lt(s->max_cmdsn, sn)) {
		return 1;
	}
	BRISK_WARNLOG("iscsi: connection %u: CmdSN %u outside %u..%u: ignored\n", c->id, sn, s->exp_cmdsn,
		      s->max_cmdsn);
	return -1;
}

int iscsi_scsi_cmd(struct iscsi_conn *c, const uint8_t *bhs)
{
	uint32_t itt = iscsi_get32(bhs, ISCSI_BHS_ITT);
	struct iscsi_task *t;
	int place;

	if (iscsi_task_find(c, itt) != NULL) {
		iscsi_send_reject(c, ISCSI_REJECT_TASK_IN_PROGRESS, bhs);
		return 0;
	}
	place = cmdsn_place(c, bhs);
	if (place < 0) {
		return 0;
	}
	t = task_get(c, true);
	if (t == NULL) {
		c->sess->max_cmdsn += (bhs[0] & ISCSI_IMMEDIATE) ? 0 : 1; /* its slot is free again */
		iscsi_send_reject(c, ISCSI_REJECT_OUT_OF_RESOURCES, bhs);
		return 0;
	}
	t->in_window = (bhs[0] & ISCSI_IMMEDIATE) == 0;
	memcpy(t->bhs, bhs, ISCSI_BHS_LEN);
	t->itt = itt;
	t->cmdsn = iscsi_get32(bhs, ISCSI_BHS_CMDSN);
	t->edtl = iscsi_get32(bhs, ISCSI_BHS_EDTL);
	t->read = (bhs[1] & ISCSI_CMD_READ) != 0;
	t->write = (bhs[1] & ISCSI_CMD_WRITE) != 0;
	t->held = place == 1;
	t->state = ISCSI_TASK_DATA_OUT;
	if (t->write && cmd_setup_write(c, t) != 0) {
		BRISK_ERRLOG("iscsi: connection %u: bad write command (EDTL %u, immediate %u)\n", c->id, t->edtl,
			     c->rx_data_len);
		cmd_refuse(c, t, 0x05, 0x24);  /* ILLEGAL REQUEST, INVALID FIELD IN CDB */
		return 0;
	}
	if (!t->write && c->rx_data_len > 0) {
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL, bhs);
		iscsi_task_free(t);
		return 0;
	}
	maybe_r2t(t);
	exec_if_ready(t);
	if (!t->held) {
		iscsi_run_held(c);
	}
	return 0;
}

/* Commands that waited for an earlier CmdSN run once it has come. */
void iscsi_run_held(struct iscsi_conn *c)
{
	struct iscsi_session *s = c->sess;
	struct iscsi_conn *o;
	struct iscsi_task *t;
	bool found = true;

	while (found && s->node != NULL) {
		found = false;
		TAILQ_FOREACH(o, &s->conns, sess_link) {
			TAILQ_FOREACH(t, &o->active, link) {
				if (t->held && t->cmdsn == s->exp_cmdsn) {
					t->held = false;
					s->exp_cmdsn++;
					exec_if_ready(t);
					found = true;
					break;
				}
			}
			if (found) {
				break;
			}
		}
	}
}

/* ---- Data-Out ---- */

int iscsi_data_out(struct iscsi_conn *c)
{
	const uint8_t *bhs = c->rx_bhs;
	struct iscsi_task *t = iscsi_task_find(c, iscsi_get32(bhs, ISCSI_BHS_ITT));
	uint32_t off = iscsi_get32(bhs, ISCSI_BHS_BUFOFF), len = c->rx_data_len;
	uint32_t *sn;

	if (t == NULL || t->state != ISCSI_TASK_DATA_OUT || !t->write) {
		/* Data for a task we no longer have (aborted): dropped. */
		return 0;
	}
	if (off > t->edtl || len > t->edtl - off) {
		BRISK_ERRLOG("iscsi: connection %u: Data-Out at %u+%u beyond EDTL %u\n", c->id, off, len, t->edtl);
		iscsi_send_reject(c, ISCSI_REJECT_PROTOCOL, bhs);
		return 0;
	}
	sn = iscsi_get32(bhs, ISCSI_BHS_TTT) == ISCSI_RSVD_TAG ? &t->unsol_datasn : &t->sol_datasn;
	if (iscsi_get32(bhs, ISCSI_BHS_DATASN) != *sn) {
		/* ERL 0 cannot recover a lost or reordered Data-Out: the command fails once its data is in. */
		BRISK_ERRLOG("iscsi: connection %u: Data-Out DataSN %u, expected %u: the command will fail\n", c->id,
			     iscsi_get32(bhs, ISCSI_BHS_DATASN), *sn);
		t->data_err = true;
	} else {
		(*sn)++;
	}
	memcpy((t->big_buf ? t->big_buf : t->buf) + off, c->rx_data, len);
	t->data_got += len;
	maybe_r2t(t);
	exec_if_ready(t);
	return 0;
}

/* ---- Task management ---- */

static uint8_t tmf_rsp_code(uint8_t scsi_rsp)
{
	switch (scsi_rsp) {
	case BRISK_SCSI_TASK_MGMT_RESP_COMPLETE:
	case BRISK_SCSI_TASK_MGMT_RESP_TASK_NOT_FOUND:
		return ISCSI_TMF_RSP_COMPLETE;
	case BRISK_SCSI_TASK_MGMT_RESP_INVALID_LUN:
		return ISCSI_TMF_RSP_NO_LUN;
	default:
		return ISCSI_TMF_RSP_NOT_SUPPORTED;
	}
}

static void tmf_send(struct iscsi_task *m, uint8_t rsp)
{
	struct iscsi_conn *c = m->conn;
	uint8_t *h = m->pdu.hdr;

	memset(h, 0, ISCSI_BHS_LEN);
	h[0] = ISCSI_OP_TMF_RSP;
	h[1] = ISCSI_FLAG_FINAL;
	h[2] = rsp;
	iscsi_put32(h, ISCSI_BHS_ITT, m->itt);
	iscsi_conn_set_window(c, h);
	m->pdu.data_len = 0;
	m->pdu.sent = rsp_sent;
	m->pdu.ctx = m;
	m->state = ISCSI_TASK_SEND;
	iscsi_conn_queue(c, &m->pdu, true);
	if ((m->bhs[1] & 0x7f) == ISCSI_TMF_TARGET_COLD_RESET) {
		c->state = ISCSI_CONN_LOGGED_OUT;  /* a cold reset ends the connections (RFC 7143 11.5.1) */
	}
	iscsi_poll_group_kick(c->pg);
}

static void tmf_done(struct brisk_scsi_task *st)
{
	struct iscsi_task *m = st->cb_arg;

	if (m->conn->state == ISCSI_CONN_DEAD) {
		iscsi_task_free(m);
		return;
	}
	tmf_send(m, tmf_rsp_code(st->response));
}

/* Tasks still waiting for data are ours to abort: lib/scsi never saw them. */
static void abort_waiting(struct iscsi_conn *c, bool all_luns, const uint8_t *lun)
{
	struct iscsi_conn *o;
	struct iscsi_task *t, *tmp;

	TAILQ_FOREACH(o, &c->sess->conns, sess_link) {
		TAILQ_FOREACH_SAFE(t, &o->active, link, tmp) {
			if (t->state != ISCSI_TASK_DATA_OUT || (!all_luns && memcmp(t->bhs + 8, lun, 8) != 0)) {
				continue;
			}
			t->aborted = true;
			if (!t->held && !t->pdu.in_use) {
				iscsi_task_free(t);
			}
		}
	}
}

static int tmf_function(uint8_t f, enum brisk_scsi_task_func *out)
{
	switch (f) {
	case ISCSI_TMF_ABORT_TASK: *out = BRISK_SCSI_TASK_FUNC_ABORT_TASK; return 0;
	case ISCSI_TMF_ABORT_TASK_SET: *out = BRISK_SCSI_TASK_FUNC_ABORT_TASK_SET; return 0;
	case ISCSI_TMF_CLEAR_TASK_SET: *out = BRISK_SCSI_TASK_FUNC_CLEAR_TASK_SET; return 0;
	case ISCSI_TMF_LUN_RESET: *out = BRISK_SCSI_TASK_FUNC_LUN_RESET; return 0;
	case ISCSI_TMF_TARGET_WARM_RESET:
	case ISCSI_TMF_TARGET_COLD_RESET: *out = BRISK_SCSI_TASK_FUNC_TARGET_RESET; return 0;
	case ISCSI_TMF_TASK_REASSIGN: return ISCSI_TMF_RSP_REASSIGN_UNSUPPORTED;
	default: return ISCSI_TMF_RSP_NOT_SUPPORTED;
	}
}

/* ABORT TASK of a task that is not in lib/scsi: answered here. true if done. */
static bool tmf_abort_local(struct iscsi_task *m, uint32_t rtt)
{
	struct iscsi_task *t = iscsi_task_find(m->conn, rtt);

	if (t != NULL && t->state == ISCSI_TASK_EXEC) {
		return false;
	}
	if (t != NULL && t->state == ISCSI_TASK_DATA_OUT) {
		t->aborted = true;
		if (!t->held && !t->pdu.in_use) {
			iscsi_task_free(t);
		}
	}
	/* Not found: done already, or never arrived (RFC 7143 11.5.1: function complete). */
	tmf_send(m, ISCSI_TMF_RSP_COMPLETE);
	return true;
}

void iscsi_tmf(struct iscsi_conn *c)
{
	const uint8_t *bhs = c->rx_bhs;
	struct iscsi_task *m = task_get(c, false);
	uint8_t f = bhs[1] & 0x7f;
	enum brisk_scsi_task_func func;
	int rc;

	if (m == NULL) {
		iscsi_send_reject(c, ISCSI_REJECT_OUT_OF_RESOURCES, bhs);
		return;
	}
	memcpy(m->bhs, bhs, ISCSI_BHS_LEN);
	m->itt = iscsi_get32(bhs, ISCSI_BHS_ITT);
	m->is_mgmt = true;
	rc = tmf_function(f, &func);
	if (rc != 0) {
		tmf_send(m, (uint8_t)rc);
		return;
	}
	if (f == ISCSI_TMF_ABORT_TASK && tmf_abort_local(m, iscsi_get32(bhs, ISCSI_BHS_TTT))) {
		return;
	}
	if (f != ISCSI_TMF_ABORT_TASK) {
		abort_waiting(c, f >= ISCSI_TMF_TARGET_WARM_RESET, bhs + 8);
	}
	brisk_scsi_task_init(&m->scsi, tmf_done, m);
	m->scsi.function = func;
	m->scsi.lun_id = brisk_scsi_lun_id_decode((uint64_t)iscsi_get32(bhs, 8) << 32 | iscsi_get32(bhs, 12));
	m->scsi.abort_tag = iscsi_get32(bhs, ISCSI_BHS_TTT);
	m->scsi.initiator_port = &c->sess->iport;
	m->scsi.target_port = &c->sess->tport;
	m->state = ISCSI_TASK_EXEC;
	brisk_scsi_dev_queue_mgmt_task(c->sess->node->dev, &m->scsi);
}
