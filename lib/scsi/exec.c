/*
 * Task execution and task management: admitting a task to its LUN (unit
 * attention and reservation checks), routing the CDB to the emulation,
 * the completion every command ends in, and ABORT TASK / ABORT TASK SET /
 * CLEAR TASK SET / LUN RESET / TARGET RESET.
 */
#include <string.h>

#include <brisk/log.h>

#include "scsi_internal.h"

static void task_reset_out(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task)
{
	task->dev = dev;
	task->thread = brisk_get_thread();
	task->status = BRISK_SCSI_STATUS_GOOD;
	task->sense_data_len = 0;
	task->data_transferred = 0;
	task->cdb_data_len = 0;
	task->lun = NULL;
	task->aborted = false;
	task->mgmt = NULL;
	task->ch = NULL;
	task->bdev_io = NULL;
	task->buf = NULL;
	task->step = 0;
	task->done = 0;
	task->caw_locked = false;
}

/* Looks the LUN up and admits the task, all under one lock: a pending unit
 * attention or a reservation conflict answers it instead (NULL, answered). */
static struct brisk_scsi_lun *dev_admit(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task,
					bool *answered)
{
	struct brisk_scsi_lun *lun = NULL;
	struct scsi_itn *itn;

	*answered = false;
	pthread_mutex_lock(&dev->lock);
	itn = scsi_itn_get(dev, task->initiator_port);
	if (task->lun_id < BRISK_SCSI_DEV_MAX_LUN) {
		lun = scsi_dev_find_lun(dev, (int)task->lun_id);
	}
	if (lun != NULL && lun->removed) {
		lun = NULL;
	}
	if (lun != NULL && itn != NULL && scsi_dev_report_ua(itn, task, lun->id)) {
		*answered = true;
		lun = NULL;
	} else if (lun != NULL && scsi_pr_conflict_locked(lun, task)) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		*answered = true;
		lun = NULL;
	} else if (lun != NULL) {
		lun->outstanding++;
		TAILQ_INSERT_TAIL(&lun->tasks, task, link);
		task->lun = lun;
	}
	pthread_mutex_unlock(&dev->lock);
	return lun;
}

/* Commands a LUN answers with its medium unloaded (SBC-4 4.16: the rest
 * need the medium and get NOT READY, MEDIUM NOT PRESENT). */
static bool needs_medium(uint8_t op)
{
	switch (op) {
	case BRISK_SPC_OP_INQUIRY:
	case BRISK_SPC_OP_REPORT_LUNS:
	case BRISK_SPC_OP_REQUEST_SENSE:
	case BRISK_SBC_OP_START_STOP_UNIT:
	case BRISK_SBC_OP_PREVENT_ALLOW:
	case BRISK_SPC_OP_MODE_SENSE_6:
	case BRISK_SPC_OP_MODE_SENSE_10:
	case BRISK_SPC_OP_MODE_SELECT_6:
	case BRISK_SPC_OP_MODE_SELECT_10:
	case BRISK_SPC_OP_MAINTENANCE_IN:
	case BRISK_SPC_OP_PERSISTENT_RESERVE_IN:
	case BRISK_SPC_OP_PERSISTENT_RESERVE_OUT:
	case BRISK_SPC_OP_RESERVE_6:
	case BRISK_SPC_OP_RESERVE_10:
	case BRISK_SPC_OP_RELEASE_6:
	case BRISK_SPC_OP_RELEASE_10:
	case BRISK_SPC_OP_SEND_DIAGNOSTIC:
		return false;
	default:
		return true;
	}
}

/* Commands that leave an erased LUN all unmapped (they write nothing);
 * any other one may write, so GET LBA STATUS then reports it mapped again. */
static bool keeps_erased(uint8_t op)
{
	switch (op) {
	case BRISK_SBC_OP_TEST_UNIT_READY:
	case BRISK_SBC_OP_READ_6:
	case BRISK_SBC_OP_READ_10:
	case BRISK_SBC_OP_READ_12:
	case BRISK_SBC_OP_READ_16:
	case BRISK_SBC_OP_VERIFY_10:
	case BRISK_SBC_OP_VERIFY_12:
	case BRISK_SBC_OP_VERIFY_16:
	case BRISK_SBC_OP_PRE_FETCH_10:
	case BRISK_SBC_OP_PRE_FETCH_16:
	case BRISK_SBC_OP_SYNC_CACHE_10:
	case BRISK_SBC_OP_SYNC_CACHE_16:
	case BRISK_SBC_OP_READ_CAPACITY_10:
	case BRISK_SBC_OP_SERVICE_ACTION_IN_16:
	case BRISK_SBC_OP_READ_DEFECT_DATA_10:
	case BRISK_SBC_OP_READ_DEFECT_DATA_12:
	case BRISK_SBC_OP_UNMAP:
	case BRISK_SBC_OP_SANITIZE: /* sets lun->erased itself when it ends */
		return true;
	default:
		return !needs_medium(op);
	}
}

/* The LUN's medium state answers task instead of the command: unloaded,
 * being sanitized (only INQUIRY, REPORT LUNS and REQUEST SENSE go on), or
 * left unusable by a failed sanitize (until SANITIZE clears it). */
static bool lun_refuses(struct brisk_scsi_lun *lun, struct brisk_scsi_task *task)
{
	uint8_t op = task->cdb[0];
	bool refused = true;

	pthread_mutex_lock(&lun->dev->lock);
	if (lun->sanitize != NULL && op != BRISK_SPC_OP_INQUIRY && op != BRISK_SPC_OP_REPORT_LUNS &&
	    op != BRISK_SPC_OP_REQUEST_SENSE) {
		scsi_sanitize_sense(task, lun);
	} else if (lun->ejected && needs_medium(op)) {
		scsi_sense(task, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_MEDIUM_NOT_PRESENT);
	} else if (lun->sanitize_failed && needs_medium(op) && op != BRISK_SBC_OP_SANITIZE) {
		scsi_sense(task, BRISK_SCSI_SENSE_MEDIUM_ERROR, BRISK_SCSI_ASC_SANITIZE_FAILED);
	} else {
		refused = false;
		lun->erased = lun->erased && keeps_erased(op);
	}
	pthread_mutex_unlock(&lun->dev->lock);
	return refused;
}

void brisk_scsi_dev_queue_task(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun;
	bool answered;

	task_reset_out(dev, task);
	lun = dev_admit(dev, task, &answered);
	if (lun == NULL) {
		if (!answered) {
			scsi_spc_no_lun(dev, task);
		}
		scsi_task_complete_later(task);
		return;
	}
	if (lun_refuses(lun, task)) {
		scsi_task_complete_later(task);
		return;
	}
	if (!scsi_pr_execute(task) && !scsi_spc_execute(task) && !scsi_sanitize_execute(task) &&
	    !scsi_sbc_execute(task) && !scsi_xcopy_execute(task)) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_OPCODE);
		scsi_task_complete_later(task);
	}
}

static void mgmt_complete_msg(void *ctx)
{
	struct brisk_scsi_task *mgmt = ctx;

	mgmt->cpl_fn(mgmt);
}

static void mgmt_complete_later(struct brisk_scsi_task *mgmt)
{
	if (brisk_thread_send_msg(mgmt->thread, mgmt_complete_msg, mgmt) != 0) {
		BRISK_ERRLOG("scsi: cannot send a management completion\n");
	}
}

void scsi_task_finished(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;
	struct brisk_scsi_task *mgmt = NULL;

	/* A read whose buffer the bdev layer lent keeps its channel and its
	 * place in lun->outstanding until brisk_scsi_task_put_buf. */
	if (task->caw_locked) {
		scsi_sbc_caw_unlock(task);
	}
	if (task->ch != NULL && task->bdev_io == NULL) {
		brisk_put_io_channel(task->ch);
		task->ch = NULL;
	}
	if (lun != NULL) {
		struct brisk_scsi_dev *dev = lun->dev;

		pthread_mutex_lock(&dev->lock);
		TAILQ_REMOVE(&lun->tasks, task, link);
		if (task->bdev_io == NULL) {
			lun->outstanding--;
		}
		if (task->aborted) {
			task->status = BRISK_SCSI_STATUS_TASK_ABORTED;
			task->sense_data_len = 0;
			if (task->mgmt != NULL && --task->mgmt->mgmt_wait == 0) {
				mgmt = task->mgmt;
			}
		}
		scsi_lun_maybe_close(lun);
		pthread_mutex_unlock(&dev->lock);
	}
	if (mgmt != NULL) {
		mgmt_complete_later(mgmt);
	}
	task->cpl_fn(task);
}

/* ---- Task management ---- */

static bool same_initiator(const struct brisk_scsi_task *a, const struct brisk_scsi_task *b)
{
	if (a->initiator_port == NULL || b->initiator_port == NULL) {
		return a->initiator_port == b->initiator_port;
	}
	return strcmp(a->initiator_port->name, b->initiator_port->name) == 0;
}

static bool mgmt_matches(const struct brisk_scsi_task *mgmt, const struct brisk_scsi_task *t)
{
	switch (mgmt->function) {
	case BRISK_SCSI_TASK_FUNC_ABORT_TASK:
		return same_initiator(mgmt, t) && t->tag == mgmt->abort_tag;
	case BRISK_SCSI_TASK_FUNC_ABORT_TASK_SET:
		return same_initiator(mgmt, t);
	default:
		return true;
	}
}

/* Marks the matching tasks of lun aborted; returns how many. Lock held. */
static uint32_t mgmt_abort_on_lun(struct brisk_scsi_task *mgmt, struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_task *t;
	uint32_t n = 0;

	TAILQ_FOREACH(t, &lun->tasks, link) {
		if (!t->aborted && mgmt_matches(mgmt, t)) {
			t->aborted = true;
			t->mgmt = mgmt;
			n++;
		}
	}
	return n;
}

static void mgmt_reset_lun(struct brisk_scsi_task *mgmt, struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_dev *dev = lun->dev;

	mgmt->mgmt_wait += mgmt_abort_on_lun(mgmt, lun);
	lun->pr.spc2_reserved = false;   /* SAM-5: a reset releases RESERVE(6/10) */
	lun->stopped = false;
	for (int i = 0; i < SCSI_MAX_ITN; i++) { /* SBC-4: a LUN reset ends PREVENT */
		dev->itn[i].prevent &= ~(1ull << lun->id);
	}
	/* SAM-5: a unit attention for every I_T nexus, the issuer's too (its
	 * other paths, and multipath software, learn of the reset that way). */
	scsi_ua_set_all(dev, lun->id, SCSI_UA_RESET, NULL);
}

static void mgmt_run_locked(struct brisk_scsi_dev *dev, struct brisk_scsi_task *mgmt,
			    struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_lun *it;

	switch (mgmt->function) {
	case BRISK_SCSI_TASK_FUNC_ABORT_TASK:
		mgmt->mgmt_wait = mgmt_abort_on_lun(mgmt, lun);
		if (mgmt->mgmt_wait == 0) {
			mgmt->response = BRISK_SCSI_TASK_MGMT_RESP_TASK_NOT_FOUND;
		}
		break;
	case BRISK_SCSI_TASK_FUNC_ABORT_TASK_SET:
	case BRISK_SCSI_TASK_FUNC_CLEAR_TASK_SET:
		mgmt->mgmt_wait = mgmt_abort_on_lun(mgmt, lun);
		break;
	case BRISK_SCSI_TASK_FUNC_LUN_RESET:
		mgmt_reset_lun(mgmt, lun);
		break;
	case BRISK_SCSI_TASK_FUNC_TARGET_RESET:
		TAILQ_FOREACH(it, &dev->luns, link) {
			if (!it->removed) {
				mgmt_reset_lun(mgmt, it);
			}
		}
		break;
	default:
		mgmt->response = BRISK_SCSI_TASK_MGMT_RESP_REJECT_FUNC_NOT_SUPPORTED;
		break;
	}
}

void brisk_scsi_dev_queue_mgmt_task(struct brisk_scsi_dev *dev, struct brisk_scsi_task *mgmt)
{
	struct brisk_scsi_lun *lun = NULL;
	bool wait;

	task_reset_out(dev, mgmt);
	mgmt->response = BRISK_SCSI_TASK_MGMT_RESP_COMPLETE;
	mgmt->mgmt_wait = 0;
	pthread_mutex_lock(&dev->lock);
	if (mgmt->lun_id < BRISK_SCSI_DEV_MAX_LUN) {
		lun = scsi_dev_find_lun(dev, (int)mgmt->lun_id);
	}
	if ((lun == NULL || lun->removed) && mgmt->function != BRISK_SCSI_TASK_FUNC_TARGET_RESET) {
		mgmt->response = BRISK_SCSI_TASK_MGMT_RESP_INVALID_LUN;
	} else {
		mgmt_run_locked(dev, mgmt, lun);
	}
	wait = mgmt->mgmt_wait > 0;
	pthread_mutex_unlock(&dev->lock);
	if (!wait) {
		mgmt_complete_later(mgmt);
	}
}
