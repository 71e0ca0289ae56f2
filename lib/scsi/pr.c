/*
 * Reservations: PERSISTENT RESERVE IN (read keys, read reservation,
 * report capabilities, read full status), PERSISTENT RESERVE OUT
 * (register, register and ignore existing key, reserve, release, clear,
 * preempt, preempt and abort, register and move) for all six types, the
 * older RESERVE/RELEASE(6/10), and the RESERVATION CONFLICT check every
 * command passes first (SPC-4 5.12, table "commands and reservations").
 *
 * A registration belongs to an initiator port (its I_T nexus name); the
 * registration is the same through every target port (ALL_TG_PT is
 * accepted and changes nothing). PR state is in lun->pr under dev->lock;
 * pr_file.c keeps it across restarts when an initiator asked for APTPL.
 */
#include <string.h>

#include <brisk/string.h>

#include "scsi_internal.h"

static const char *port_name(const struct brisk_scsi_port *port)
{
	return port != NULL ? port->name : "";
}

static int pr_find(const struct scsi_pr *pr, const char *initiator)
{
	int i;

	for (i = 0; i < pr->nregs; i++) {
		if (strcmp(pr->regs[i].initiator, initiator) == 0) {
			return i;
		}
	}
	return -1;
}

static bool pr_all_regs_type(uint8_t type)
{
	return type == BRISK_SPC_PR_WRITE_EXCLUSIVE_ALL_REGS || type == BRISK_SPC_PR_EXCLUSIVE_ACCESS_ALL_REGS;
}

static bool pr_regs_type(uint8_t type)
{
	return type == BRISK_SPC_PR_WRITE_EXCLUSIVE_REGS_ONLY ||
	       type == BRISK_SPC_PR_EXCLUSIVE_ACCESS_REGS_ONLY || pr_all_regs_type(type);
}

static bool pr_type_valid(uint8_t type)
{
	return type == BRISK_SPC_PR_WRITE_EXCLUSIVE || type == BRISK_SPC_PR_EXCLUSIVE_ACCESS ||
	       pr_regs_type(type);
}

static bool pr_is_holder(const struct scsi_pr *pr, int idx)
{
	return pr->reserved && idx >= 0 && (pr_all_regs_type(pr->type) || pr->holder == idx);
}

/* Removes registration idx; the holder index follows the shift. */
static void pr_remove(struct scsi_pr *pr, int idx)
{
	memmove(&pr->regs[idx], &pr->regs[idx + 1], (size_t)(pr->nregs - idx - 1) * sizeof(pr->regs[0]));
	pr->nregs--;
	if (pr->reserved && !pr_all_regs_type(pr->type)) {
		if (pr->holder == idx) {
			pr->reserved = false;
		} else if (pr->holder > idx) {
			pr->holder--;
		}
	}
	if (pr->reserved && pr->nregs == 0) {
		pr->reserved = false;   /* all-registrants: the last one left */
	}
}

/* Sets ua for every registrant's initiator except the one at 'except'. */
static void pr_ua_registrants(struct brisk_scsi_lun *lun, uint32_t ua, const char *except)
{
	struct scsi_pr *pr = &lun->pr;
	int i, t;

	for (i = 0; i < pr->nregs; i++) {
		if (strcmp(pr->regs[i].initiator, except) == 0) {
			continue;
		}
		for (t = 0; t < SCSI_MAX_ITN; t++) {
			if (lun->dev->itn[t].used && strcmp(lun->dev->itn[t].name, pr->regs[i].initiator) == 0) {
				lun->dev->itn[t].ua[lun->id] |= ua;
			}
		}
	}
}

/* ---- Conflict check ---- */

enum pr_access { PR_ACCESS_NONE, PR_ACCESS_READ, PR_ACCESS_WRITE };

static enum pr_access pr_access_of(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case BRISK_SPC_OP_INQUIRY: case BRISK_SPC_OP_REPORT_LUNS: case BRISK_SPC_OP_REQUEST_SENSE:
	case BRISK_SBC_OP_TEST_UNIT_READY: case BRISK_SBC_OP_READ_CAPACITY_10:
	case BRISK_SPC_OP_PERSISTENT_RESERVE_IN: case BRISK_SPC_OP_PERSISTENT_RESERVE_OUT:
	case BRISK_SPC_OP_MAINTENANCE_IN: case BRISK_SBC_OP_PREVENT_ALLOW:
		return PR_ACCESS_NONE;
	case BRISK_SBC_OP_SERVICE_ACTION_IN_16:
		return (cdb[1] & 0x1f) == BRISK_SBC_SAI_READ_CAPACITY_16 ? PR_ACCESS_NONE : PR_ACCESS_READ;
	case BRISK_SBC_OP_READ_DEFECT_DATA_10: case BRISK_SBC_OP_READ_DEFECT_DATA_12:
	case BRISK_SBC_OP_READ_6: case BRISK_SBC_OP_READ_10: case BRISK_SBC_OP_READ_12:
	case BRISK_SBC_OP_READ_16: case BRISK_SBC_OP_VERIFY_10: case BRISK_SBC_OP_VERIFY_12:
	case BRISK_SBC_OP_VERIFY_16: case BRISK_SBC_OP_PRE_FETCH_10: case BRISK_SBC_OP_PRE_FETCH_16:
	case BRISK_SPC_OP_MODE_SENSE_6: case BRISK_SPC_OP_MODE_SENSE_10:
		return PR_ACCESS_READ;
	default:
		return PR_ACCESS_WRITE;
	}
}

bool scsi_pr_conflict_locked(struct brisk_scsi_lun *lun, const struct brisk_scsi_task *task)
{
	struct scsi_pr *pr = &lun->pr;
	const char *me = port_name(task->initiator_port);
	enum pr_access access = pr_access_of(task->cdb);
	uint8_t op = task->cdb[0];
	int idx;

	if (pr->spc2_reserved && strcmp(pr->spc2_holder, me) != 0) {
		/* RESERVE(6/10) held elsewhere: only these pass (SPC-2 7.21). */
		return op != BRISK_SPC_OP_INQUIRY && op != BRISK_SPC_OP_REPORT_LUNS &&
		       op != BRISK_SPC_OP_REQUEST_SENSE && op != BRISK_SPC_OP_RELEASE_6 &&
		       op != BRISK_SPC_OP_RELEASE_10 && op != BRISK_SPC_OP_PERSISTENT_RESERVE_IN &&
		       op != BRISK_SPC_OP_MAINTENANCE_IN;
	}
	if (!pr->reserved) {
		return false;
	}
	if (op == BRISK_SPC_OP_RESERVE_6 || op == BRISK_SPC_OP_RESERVE_10 ||
	    op == BRISK_SPC_OP_RELEASE_6 || op == BRISK_SPC_OP_RELEASE_10) {
		return true;    /* CRH = 0: the two kinds of reservation do not mix */
	}
	idx = pr_find(pr, me);
	if (access == PR_ACCESS_NONE || pr_is_holder(pr, idx)) {
		return false;
	}
	if (pr_regs_type(pr->type) && idx >= 0) {
		return false;   /* registrants have access under the "registrants" types */
	}
	if (pr->type == BRISK_SPC_PR_WRITE_EXCLUSIVE || pr->type == BRISK_SPC_PR_WRITE_EXCLUSIVE_REGS_ONLY ||
	    pr->type == BRISK_SPC_PR_WRITE_EXCLUSIVE_ALL_REGS) {
		return access == PR_ACCESS_WRITE;
	}
	return true;
}

/* ---- RESERVE / RELEASE (6/10) ---- */

static void spc2_reserve(struct brisk_scsi_task *task, bool reserve)
{
	struct scsi_pr *pr = &task->lun->pr;
	const char *me = port_name(task->initiator_port);

	if (task->cdb[1] & 0x01) {               /* 3RDPTY / LONGID: third-party not supported */
		scsi_sense_field(task, false, 1, 0);
		return;
	}
	if (!reserve) {
		if (pr->spc2_reserved && strcmp(pr->spc2_holder, me) == 0) {
			pr->spc2_reserved = false;
		}
		return;                              /* release by a non-holder: GOOD, no change */
	}
	if (pr->spc2_reserved && strcmp(pr->spc2_holder, me) != 0) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	pr->spc2_reserved = true;
	brisk_strlcpy(pr->spc2_holder, me, sizeof(pr->spc2_holder));
}

/* ---- PERSISTENT RESERVE IN ---- */

static uint32_t prin_read_keys(const struct scsi_pr *pr, uint8_t *d)
{
	int i;

	scsi_put32(&d[0], pr->generation);
	scsi_put32(&d[4], 8u * (uint32_t)pr->nregs);
	for (i = 0; i < pr->nregs; i++) {
		scsi_put64(&d[8 + 8 * i], pr->regs[i].key);
	}
	return 8 + 8u * (uint32_t)pr->nregs;
}

static uint32_t prin_read_reservation(const struct scsi_pr *pr, uint8_t *d)
{
	scsi_put32(&d[0], pr->generation);
	if (!pr->reserved) {
		return 8;
	}
	scsi_put32(&d[4], 16);
	if (!pr_all_regs_type(pr->type)) {
		scsi_put64(&d[8], pr->regs[pr->holder].key);
	}
	d[21] = pr->type;                       /* scope 0: logical unit */
	return 24;
}

static uint32_t prin_report_caps(const struct scsi_pr *pr, uint8_t *d)
{
	scsi_put16(&d[0], 8);
	d[2] = 0x04 | (scsi_pr_file_enabled() ? 0x01 : 0);  /* ATP_C, PTPL_C */
	d[3] = 0x80 | (pr->aptpl ? 0x01 : 0);                /* TMV, PTPL_A */
	d[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02;             /* WR_EX_AR EX_AC_RO WR_EX_RO EX_AC WR_EX */
	d[5] = 0x01;                                          /* EX_AC_AR */
	return 8;
}

static uint32_t prin_full_status(const struct scsi_pr *pr, uint8_t *d, uint32_t cap)
{
	uint32_t off = 8;
	int i;

	scsi_put32(&d[0], pr->generation);
	for (i = 0; i < pr->nregs; i++) {
		const struct scsi_pr_reg *r = &pr->regs[i];
		uint32_t len = 24u + r->tid_len;

		if (off + len > cap) {
			break;
		}
		memset(&d[off], 0, len);
		scsi_put64(&d[off], r->key);
		d[off + 12] = 0x02 | (pr_is_holder(pr, i) ? 0x01 : 0);  /* ALL_TG_PT, R_HOLDER */
		d[off + 13] = pr_is_holder(pr, i) ? pr->type : 0;
		scsi_put16(&d[off + 18], r->rel_tgt_port);
		scsi_put32(&d[off + 20], r->tid_len);
		memcpy(&d[off + 24], r->tid, r->tid_len);
		off += len;
	}
	scsi_put32(&d[4], off - 8);
	return off;
}

static void pr_in(struct brisk_scsi_task *task)
{
	struct scsi_pr *pr = &task->lun->pr;
	uint32_t alloc = scsi_be16(&task->cdb[7]), len;
	static __thread uint8_t d[8 + SCSI_MAX_REGS * (24 + BRISK_SCSI_TRANSPORT_ID_MAX)];

	memset(d, 0, 64);
	switch (task->cdb[1] & 0x1f) {
	case BRISK_SPC_PRIN_READ_KEYS: len = prin_read_keys(pr, d); break;
	case BRISK_SPC_PRIN_READ_RESERVATION: len = prin_read_reservation(pr, d); break;
	case BRISK_SPC_PRIN_REPORT_CAPABILITIES: len = prin_report_caps(pr, d); break;
	case BRISK_SPC_PRIN_READ_FULL_STATUS: len = prin_full_status(pr, d, sizeof(d)); break;
	default:
		scsi_sense_field(task, false, 1, 4);
		return;
	}
	task->cdb_data_len = alloc;
	if (scsi_task_put_data(task, d, len < alloc ? len : alloc) != 0) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

/* ---- PERSISTENT RESERVE OUT ---- */

struct prout {
	uint64_t key;
	uint64_t sa_key;
	bool all_tg_pt;
	bool aptpl;
	uint8_t type;
	const char *me;
	int idx;            /* my registration or -1 */
};

static void pr_add(struct brisk_scsi_task *task, struct scsi_pr *pr, uint64_t key, const char *init)
{
	struct scsi_pr_reg *r = &pr->regs[pr->nregs++];

	memset(r, 0, sizeof(*r));
	r->key = key;
	brisk_strlcpy(r->initiator, init, sizeof(r->initiator));
	if (task->target_port != NULL) {
		brisk_strlcpy(r->target, task->target_port->name, sizeof(r->target));
		r->rel_tgt_port = task->target_port->index;
	}
	if (task->initiator_port != NULL && strcmp(task->initiator_port->name, init) == 0) {
		r->tid_len = task->initiator_port->transport_id_len;
		memcpy(r->tid, task->initiator_port->transport_id, r->tid_len);
	}
}

static void prout_register(struct brisk_scsi_task *task, struct scsi_pr *pr, struct prout *p,
			   bool ignore)
{
	if (p->idx < 0) {
		if (!ignore && p->key != 0) {
			task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		} else if (p->sa_key != 0 && pr->nregs == SCSI_MAX_REGS) {
			scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INSUFFICIENT_REG_RESOURCES);
		} else if (p->sa_key != 0) {
			pr_add(task, pr, p->sa_key, p->me);
			pr->generation++;
		}
		return;
	}
	if (!ignore && p->key != pr->regs[p->idx].key) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	if (p->sa_key == 0) {
		bool was_ro_holder = pr->reserved && !pr_all_regs_type(pr->type) && pr->holder == p->idx;
		uint8_t type = pr->type;

		pr_remove(pr, p->idx);
		if (was_ro_holder && pr_regs_type(type)) {
			pr_ua_registrants(task->lun, SCSI_UA_RES_RELEASED, p->me);
		}
	} else {
		pr->regs[p->idx].key = p->sa_key;
	}
	pr->generation++;
}

static void prout_reserve(struct brisk_scsi_task *task, struct scsi_pr *pr, struct prout *p)
{
	if (p->idx < 0 || p->key != pr->regs[p->idx].key) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	if (!pr_type_valid(p->type)) {
		scsi_sense_field(task, false, 2, 3);
		return;
	}
	if (pr->reserved) {
		if (!pr_is_holder(pr, p->idx) || pr->type != p->type) {
			task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		}
		return;
	}
	pr->reserved = true;
	pr->type = p->type;
	pr->holder = p->idx;
}

static void prout_release(struct brisk_scsi_task *task, struct scsi_pr *pr, struct prout *p)
{
	if (p->idx < 0 || p->key != pr->regs[p->idx].key) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	if (!pr_is_holder(pr, p->idx)) {
		return;      /* nothing of ours to release: GOOD */
	}
	if (pr->type != p->type) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_RELEASE_OF_PR);
		return;
	}
	pr->reserved = false;
	if (pr_regs_type(p->type)) {
		pr_ua_registrants(task->lun, SCSI_UA_RES_RELEASED, p->me);
	}
}

static void prout_clear(struct brisk_scsi_task *task, struct scsi_pr *pr, struct prout *p)
{
	if (p->idx < 0 || p->key != pr->regs[p->idx].key) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	pr_ua_registrants(task->lun, SCSI_UA_RES_PREEMPTED, p->me);
	pr->nregs = 0;
	pr->reserved = false;
	pr->generation++;
}

/* Removes every registration with key (but not 'keep'); returns how many. */
static int pr_remove_key(struct brisk_scsi_lun *lun, uint64_t key, const char *keep)
{
	struct scsi_pr *pr = &lun->pr;
	int i = 0, n = 0;

	while (i < pr->nregs) {
		if (pr->regs[i].key == key && strcmp(pr->regs[i].initiator, keep) != 0) {
			scsi_ua_set_one(lun, pr->regs[i].initiator, SCSI_UA_REGS_PREEMPTED);
			pr_remove(pr, i);
			n++;
		} else {
			i++;
		}
	}
	return n;
}

static void pr_take(struct scsi_pr *pr, struct prout *p)
{
	pr->reserved = true;
	pr->type = p->type;
	pr->holder = pr_find(pr, p->me);
}

static void prout_preempt(struct brisk_scsi_task *task, struct scsi_pr *pr, struct prout *p)
{
	struct brisk_scsi_lun *lun = task->lun;

	if (p->idx < 0 || p->key != pr->regs[p->idx].key) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
	} else if (pr->reserved && pr_all_regs_type(pr->type) && p->sa_key == 0) {
		if (!pr_type_valid(p->type)) {
			scsi_sense_field(task, false, 2, 3);
			return;
		}
		while (pr->nregs > 1) {     /* everyone but me */
			int victim = strcmp(pr->regs[0].initiator, p->me) == 0 ? 1 : 0;

			scsi_ua_set_one(lun, pr->regs[victim].initiator, SCSI_UA_REGS_PREEMPTED);
			pr_remove(pr, victim);
		}
		pr_take(pr, p);
		pr->generation++;
	} else if (pr->reserved && !pr_all_regs_type(pr->type) && p->sa_key == pr->regs[pr->holder].key) {
		if (!pr_type_valid(p->type)) {
			scsi_sense_field(task, false, 2, 3);
			return;
		}
		pr_remove_key(lun, p->sa_key, p->me);
		pr_take(pr, p);
		pr->generation++;
	} else if (p->sa_key == 0) {
		scsi_sense_field(task, true, 8, -1);
	} else if (pr_remove_key(lun, p->sa_key, p->me) == 0) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
	} else {
		pr->generation++;
	}
}

static int prout_decode(struct brisk_scsi_task *task, struct prout *p, uint8_t *prm, uint32_t plen)
{
	uint8_t sa = task->cdb[1] & 0x1f;

	if (sa != BRISK_SPC_PROUT_REGISTER_AND_MOVE && plen != 24) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return -1;
	}
	if (plen < 24 || scsi_task_get_data(task, prm, plen) < plen) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return -1;
	}
	if (task->cdb[2] & 0xf0) {
		scsi_sense_field(task, false, 2, 7);   /* scope: logical unit only */
		return -1;
	}
	if (sa != BRISK_SPC_PROUT_REGISTER_AND_MOVE && (prm[20] & 0x08)) {
		scsi_sense_field(task, true, 20, 3);   /* SPEC_I_PT not supported (SIP_C 0) */
		return -1;
	}
	p->key = scsi_be64(prm);
	p->sa_key = scsi_be64(&prm[8]);
	p->all_tg_pt = prm[20] & 0x04;
	p->aptpl = sa == BRISK_SPC_PROUT_REGISTER_AND_MOVE ? (prm[17] & 0x01) : (prm[20] & 0x01);
	p->type = task->cdb[2] & 0x0f;
	p->me = port_name(task->initiator_port);
	p->idx = pr_find(&task->lun->pr, p->me);
	task->data_transferred = plen;
	return 0;
}

static void prout_dispatch(struct brisk_scsi_task *task, struct prout *p, const uint8_t *prm,
			   uint32_t plen)
{
	struct scsi_pr *pr = &task->lun->pr;

	switch (task->cdb[1] & 0x1f) {
	case BRISK_SPC_PROUT_REGISTER: prout_register(task, pr, p, false); break;
	case BRISK_SPC_PROUT_REGISTER_AND_IGNORE: prout_register(task, pr, p, true); break;
	case BRISK_SPC_PROUT_RESERVE: prout_reserve(task, pr, p); break;
	case BRISK_SPC_PROUT_RELEASE: prout_release(task, pr, p); break;
	case BRISK_SPC_PROUT_CLEAR: prout_clear(task, pr, p); break;
	case BRISK_SPC_PROUT_PREEMPT:
	case BRISK_SPC_PROUT_PREEMPT_AND_ABORT:
		/* PREEMPT AND ABORT: the preempted initiators' commands still run
		 * to completion; a bdev cannot take back a submitted I/O. */
		prout_preempt(task, pr, p);
		break;
	case BRISK_SPC_PROUT_REGISTER_AND_MOVE: scsi_pr_register_and_move(task, p->key, p->sa_key, prm, plen); break;
	default:
		scsi_sense_field(task, false, 1, 4);
		return;
	}
	if (task->status == BRISK_SCSI_STATUS_GOOD) {
		uint8_t sa = task->cdb[1] & 0x1f;

		if (sa == BRISK_SPC_PROUT_REGISTER || sa == BRISK_SPC_PROUT_REGISTER_AND_IGNORE ||
		    sa == BRISK_SPC_PROUT_REGISTER_AND_MOVE) {
			pr->aptpl = p->aptpl;
		}
		scsi_pr_save(task->lun);
	}
}

static void pr_out(struct brisk_scsi_task *task)
{
	uint32_t plen = scsi_be32(&task->cdb[5]);
	uint8_t prm[24 + BRISK_SCSI_TRANSPORT_ID_MAX];
	struct prout p;

	task->cdb_data_len = plen;
	if (plen > sizeof(prm)) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return;
	}
	if (prout_decode(task, &p, prm, plen) != 0) {
		return;
	}
	prout_dispatch(task, &p, prm, plen);
}

bool scsi_pr_execute(struct brisk_scsi_task *task)
{
	struct brisk_scsi_dev *dev = task->lun->dev;

	switch (task->cdb[0]) {
	case BRISK_SPC_OP_PERSISTENT_RESERVE_IN:
	case BRISK_SPC_OP_PERSISTENT_RESERVE_OUT:
	case BRISK_SPC_OP_RESERVE_6: case BRISK_SPC_OP_RESERVE_10:
	case BRISK_SPC_OP_RELEASE_6: case BRISK_SPC_OP_RELEASE_10:
		break;
	default:
		return false;
	}
	pthread_mutex_lock(&dev->lock);
	if (task->cdb[0] == BRISK_SPC_OP_PERSISTENT_RESERVE_IN) {
		pr_in(task);
	} else if (task->cdb[0] == BRISK_SPC_OP_PERSISTENT_RESERVE_OUT) {
		pr_out(task);
	} else {
		spc2_reserve(task, task->cdb[0] == BRISK_SPC_OP_RESERVE_6 ||
			     task->cdb[0] == BRISK_SPC_OP_RESERVE_10);
	}
	pthread_mutex_unlock(&dev->lock);
	scsi_task_complete_later(task);
	return true;
}

/* ---- REGISTER AND MOVE (SPC-4 6.16.9): the holder hands its
 * reservation to the I_T nexus named by a TransportID. ---- */

/* The iSCSI name in a TransportID (format 00b or 01b), into out. */
static bool tid_to_name(const uint8_t *tid, uint32_t len, char *out, size_t size)
{
	uint32_t n;

	if (len < 24 || (tid[0] & 0x0f) != 0x05) {
		return false;
	}
	n = scsi_be16(&tid[2]);
	if (n + 4 > len || n == 0) {
		return false;
	}
	n = (uint32_t)strnlen((const char *)&tid[4], n);
	if (n == 0 || n >= size) {
		return false;
	}
	memcpy(out, &tid[4], n);
	out[n] = '\0';
	return true;
}

void scsi_pr_register_and_move(struct brisk_scsi_task *task, uint64_t key, uint64_t sa_key,
			       const uint8_t *prm, uint32_t plen)
{
	struct scsi_pr *pr = &task->lun->pr;
	int idx = pr_find(pr, port_name(task->initiator_port)), dst;
	uint32_t tid_len = scsi_be32(&prm[20]);
	char name[BRISK_SCSI_PORT_MAX_NAME + 1];

	if (idx < 0 || key != pr->regs[idx].key || !pr_is_holder(pr, idx)) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		return;
	}
	if (pr_all_regs_type(pr->type) || sa_key == 0) {
		scsi_sense_field(task, true, pr_all_regs_type(pr->type) ? 0 : 8, -1);
		return;
	}
	if (24 + tid_len > plen || !tid_to_name(&prm[24], tid_len, name, sizeof(name)) ||
	    strcmp(name, pr->regs[idx].initiator) == 0) {
		scsi_sense_field(task, true, 24, -1);
		return;
	}
	dst = pr_find(pr, name);
	if (dst < 0 && pr->nregs == SCSI_MAX_REGS) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INSUFFICIENT_REG_RESOURCES);
		return;
	}
	if (dst < 0) {
		pr_add(task, pr, sa_key, name);
		dst = pr->nregs - 1;
		pr->regs[dst].tid_len = (uint16_t)(tid_len < BRISK_SCSI_TRANSPORT_ID_MAX ? tid_len :
						   BRISK_SCSI_TRANSPORT_ID_MAX);
		memcpy(pr->regs[dst].tid, &prm[24], pr->regs[dst].tid_len);
	} else {
		pr->regs[dst].key = sa_key;
	}
	pr->holder = dst;
	if (prm[17] & 0x02) {                    /* UNREG: drop the mover's registration */
		pr_remove(pr, idx);               /* holder index follows the shift */
	}
	pr->generation++;
}
