/*
 * SCSI devices: construction and destruction, the LUN table (hot add and
 * remove), per-thread bdev channels, the initiator (I_T nexus) table with
 * its unit attentions, and the entry point that routes a task to the
 * command emulation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "scsi_internal.h"

static struct brisk_scsi_lun *dev_find_lun(struct brisk_scsi_dev *dev, int id)
{
	struct brisk_scsi_lun *lun;

	TAILQ_FOREACH(lun, &dev->luns, link) {
		if (lun->id == id) {
			return lun;
		}
	}
	return NULL;
}

static int dev_free_lun_id(struct brisk_scsi_dev *dev)
{
	int id;

	for (id = 0; id < BRISK_SCSI_DEV_MAX_LUN; id++) {
		if (dev_find_lun(dev, id) == NULL) {
			return id;
		}
	}
	return -ENOSPC;
}

/* Keeps dev->luns in id order (REPORT LUNS and listings read it as is). */
static void dev_insert_lun(struct brisk_scsi_dev *dev, struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_lun *it;

	TAILQ_FOREACH(it, &dev->luns, link) {
		if (it->id > lun->id) {
			TAILQ_INSERT_BEFORE(it, lun, link);
			return;
		}
	}
	TAILQ_INSERT_TAIL(&dev->luns, lun, link);
}

static int dev_add_lun_locked(struct brisk_scsi_dev *dev, const char *bdev_name, int lun_id,
			      brisk_scsi_dev_hotremove_cb cb, void *ctx)
{
	struct brisk_scsi_lun *lun;

	if (lun_id < -1 || lun_id >= BRISK_SCSI_DEV_MAX_LUN) {
		BRISK_ERRLOG("scsi dev '%s': lun_id %d out of range 0..%d\n", dev->name, lun_id,
			     BRISK_SCSI_DEV_MAX_LUN - 1);
		return -EINVAL;
	}
	if (lun_id == -1) {
		lun_id = dev_free_lun_id(dev);
		if (lun_id < 0) {
			return lun_id;
		}
	} else if (dev_find_lun(dev, lun_id) != NULL) {
		BRISK_ERRLOG("scsi dev '%s': lun_id %d already in use\n", dev->name, lun_id);
		return -EEXIST;
	}
	lun = scsi_lun_open(dev, bdev_name, lun_id, cb, ctx);
	if (lun == NULL) {
		return -ENODEV;
	}
	dev_insert_lun(dev, lun);
	return lun_id;
}

struct brisk_scsi_dev *brisk_scsi_dev_construct(const char *name, const char *const bdev_names[],
						const int lun_ids[], int num_luns,
						brisk_scsi_dev_hotremove_cb hotremove_cb,
						void *hotremove_ctx)
{
	struct brisk_scsi_dev *dev;
	pthread_mutexattr_t attr;
	int i;

	if (name == NULL || name[0] == '\0' || strlen(name) > BRISK_SCSI_DEV_MAX_NAME) {
		BRISK_ERRLOG("scsi dev: name must be 1..%d characters\n", BRISK_SCSI_DEV_MAX_NAME);
		return NULL;
	}
	if (num_luns < 0 || num_luns > BRISK_SCSI_DEV_MAX_LUN || (num_luns > 0 &&
			(bdev_names == NULL || lun_ids == NULL))) {
		BRISK_ERRLOG("scsi dev '%s': num_luns %d invalid\n", name, num_luns);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev == NULL) {
		return NULL;
	}
	brisk_strlcpy(dev->name, name, sizeof(dev->name));
	pthread_mutexattr_init(&attr);
	/* Recursive: a hot-remove callback may call back into the device. */
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	TAILQ_INIT(&dev->luns);
	TAILQ_INIT(&dev->chans);
	for (i = 0; i < num_luns; i++) {
		if (lun_ids[i] < 0 || dev_add_lun_locked(dev, bdev_names[i], lun_ids[i], hotremove_cb,
				hotremove_ctx) < 0) {
			BRISK_ERRLOG("scsi dev '%s': LUN %d on '%s' refused\n", name, lun_ids[i],
				     bdev_names[i] ? bdev_names[i] : "(null)");
			brisk_scsi_dev_destruct(dev, NULL, NULL);
			return NULL;
		}
	}
	return dev;
}

const char *brisk_scsi_dev_get_name(const struct brisk_scsi_dev *dev)
{
	return dev->name;
}

int brisk_scsi_dev_add_lun(struct brisk_scsi_dev *dev, const char *bdev_name, int lun_id,
			   brisk_scsi_dev_hotremove_cb hotremove_cb, void *hotremove_ctx)
{
	int rc;

	pthread_mutex_lock(&dev->lock);
	rc = dev->destructing ? -ENODEV :
	     dev_add_lun_locked(dev, bdev_name, lun_id, hotremove_cb, hotremove_ctx);
	if (rc >= 0) {
		scsi_ua_set_all(dev, -1, SCSI_UA_LUNS_CHANGED, NULL);
	}
	pthread_mutex_unlock(&dev->lock);
	return rc;
}

int brisk_scsi_dev_remove_lun(struct brisk_scsi_dev *dev, int lun_id)
{
	struct brisk_scsi_lun *lun;

	pthread_mutex_lock(&dev->lock);
	lun = dev_find_lun(dev, lun_id);
	if (lun == NULL || lun->removed) {
		pthread_mutex_unlock(&dev->lock);
		return -ENODEV;
	}
	scsi_lun_start_remove(lun);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

struct brisk_scsi_lun *brisk_scsi_dev_get_lun(struct brisk_scsi_dev *dev, int lun_id)
{
	struct brisk_scsi_lun *lun;

	pthread_mutex_lock(&dev->lock);
	lun = dev_find_lun(dev, lun_id);
	if (lun != NULL && lun->removed) {
		lun = NULL;
	}
	pthread_mutex_unlock(&dev->lock);
	return lun;
}

static struct brisk_scsi_lun *first_live(struct brisk_scsi_lun *lun)
{
	while (lun != NULL && lun->removed) {
		lun = TAILQ_NEXT(lun, link);
	}
	return lun;
}

struct brisk_scsi_lun *brisk_scsi_dev_get_first_lun(struct brisk_scsi_dev *dev)
{
	return first_live(TAILQ_FIRST(&dev->luns));
}

struct brisk_scsi_lun *brisk_scsi_dev_get_next_lun(struct brisk_scsi_lun *prev)
{
	return first_live(TAILQ_NEXT(prev, link));
}

int brisk_scsi_lun_get_id(const struct brisk_scsi_lun *lun)
{
	return lun->id;
}

const char *brisk_scsi_lun_get_bdev_name(const struct brisk_scsi_lun *lun)
{
	return lun->bdev_name;
}

struct brisk_scsi_dev *brisk_scsi_lun_get_dev(const struct brisk_scsi_lun *lun)
{
	return lun->dev;
}

/* ---- Destruction ---- */

static void dev_free(struct brisk_scsi_dev *dev)
{
	brisk_scsi_dev_destruct_cb cb = dev->destruct_cb;
	void *arg = dev->destruct_arg;

	pthread_mutex_destroy(&dev->lock);
	free(dev);
	if (cb != NULL) {
		cb(arg, 0);
	}
}

static void dev_free_msg(void *ctx)
{
	dev_free(ctx);
}

/* Called with dev->lock held after a LUN left the table. */
void scsi_dev_maybe_free(struct brisk_scsi_dev *dev)
{
	if (!dev->destructing || !TAILQ_EMPTY(&dev->luns)) {
		return;
	}
	if (brisk_thread_send_msg(dev->destruct_thread, dev_free_msg, dev) != 0) {
		BRISK_ERRLOG("scsi dev '%s': cannot send the final free\n", dev->name);
	}
}

void brisk_scsi_dev_destruct(struct brisk_scsi_dev *dev, brisk_scsi_dev_destruct_cb cb_fn,
			     void *cb_arg)
{
	struct brisk_scsi_lun *lun, *tmp;

	pthread_mutex_lock(&dev->lock);
	dev->destructing = true;
	dev->destruct_cb = cb_fn;
	dev->destruct_arg = cb_arg;
	dev->destruct_thread = brisk_get_thread();
	if (TAILQ_EMPTY(&dev->luns)) {
		scsi_dev_maybe_free(dev);
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	TAILQ_FOREACH_SAFE(lun, &dev->luns, link, tmp) {
		if (!lun->removed) {
			lun->hotremove_cb = NULL;
			scsi_lun_start_remove(lun);
		}
	}
	pthread_mutex_unlock(&dev->lock);
}

/* ---- Channels ---- */

int brisk_scsi_dev_allocate_io_channels(struct brisk_scsi_dev *dev)
{
	struct brisk_scsi_lun *lun;
	struct scsi_chan *c;
	int rc = 0;

	pthread_mutex_lock(&dev->lock);
	TAILQ_FOREACH(lun, &dev->luns, link) {
		if (lun->removed) {
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c != NULL) {
			c->ch = brisk_bdev_get_io_channel(lun->desc);
		}
		if (c == NULL || c->ch == NULL) {
			free(c);
			rc = -ENOMEM;
			break;
		}
		c->thread = brisk_get_thread();
		c->lun = lun;
		lun->chans++;
		TAILQ_INSERT_TAIL(&dev->chans, c, link);
	}
	pthread_mutex_unlock(&dev->lock);
	if (rc != 0) {
		brisk_scsi_dev_free_io_channels(dev);
	}
	return rc;
}

void brisk_scsi_dev_free_io_channels(struct brisk_scsi_dev *dev)
{
	struct brisk_thread *me = brisk_get_thread();
	struct scsi_chan *c, *tmp;

	pthread_mutex_lock(&dev->lock);
	TAILQ_FOREACH_SAFE(c, &dev->chans, link, tmp) {
		if (c->thread != me) {
			continue;
		}
		TAILQ_REMOVE(&dev->chans, c, link);
		brisk_put_io_channel(c->ch);
		c->lun->chans--;
		scsi_lun_maybe_close(c->lun);
		free(c);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* ---- Initiators and unit attentions ---- */

struct scsi_itn *scsi_itn_get(struct brisk_scsi_dev *dev, const struct brisk_scsi_port *port)
{
	const char *name = port != NULL ? port->name : "";
	struct scsi_itn *free_slot = NULL;
	int i;

	for (i = 0; i < SCSI_MAX_ITN; i++) {
		if (dev->itn[i].used && strcmp(dev->itn[i].name, name) == 0) {
			return &dev->itn[i];
		}
		if (!dev->itn[i].used && free_slot == NULL) {
			free_slot = &dev->itn[i];
		}
	}
	if (free_slot == NULL) {
		return NULL;  /* table full: this initiator gets no unit attentions */
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	brisk_strlcpy(free_slot->name, name, sizeof(free_slot->name));
	return free_slot;
}

void scsi_ua_set_all(struct brisk_scsi_dev *dev, int lun_id, uint32_t ua, const struct scsi_itn *except)
{
	int i, l;

	for (i = 0; i < SCSI_MAX_ITN; i++) {
		if (!dev->itn[i].used || &dev->itn[i] == except) {
			continue;
		}
		for (l = 0; l < BRISK_SCSI_DEV_MAX_LUN; l++) {
			if (lun_id < 0 || l == lun_id) {
				dev->itn[i].ua[l] |= ua;
			}
		}
	}
}

void scsi_ua_set_one(struct brisk_scsi_lun *lun, const char *initiator, uint32_t ua)
{
	int i;

	for (i = 0; i < SCSI_MAX_ITN; i++) {
		if (lun->dev->itn[i].used && strcmp(lun->dev->itn[i].name, initiator) == 0) {
			lun->dev->itn[i].ua[lun->id] |= ua;
		}
	}
}

void brisk_scsi_dev_initiator_gone(struct brisk_scsi_dev *dev, const struct brisk_scsi_port *port)
{
	struct brisk_scsi_lun *lun;
	int i;

	pthread_mutex_lock(&dev->lock);
	TAILQ_FOREACH(lun, &dev->luns, link) {
		if (lun->pr.spc2_reserved && strcmp(lun->pr.spc2_holder, port->name) == 0) {
			lun->pr.spc2_reserved = false;
		}
	}
	for (i = 0; i < SCSI_MAX_ITN; i++) {
		if (dev->itn[i].used && strcmp(dev->itn[i].name, port->name) == 0) {
			dev->itn[i].used = false;
		}
	}
	pthread_mutex_unlock(&dev->lock);
}

static const struct {
	uint32_t bit;
	uint16_t asc;
} g_ua_sense[] = {
	{ SCSI_UA_RESET, BRISK_SCSI_ASC_BUS_DEVICE_RESET },
	{ SCSI_UA_REGS_PREEMPTED, BRISK_SCSI_ASC_REGISTRATIONS_PREEMPTED },
	{ SCSI_UA_RES_PREEMPTED, BRISK_SCSI_ASC_RESERVATIONS_PREEMPTED },
	{ SCSI_UA_RES_RELEASED, BRISK_SCSI_ASC_RESERVATIONS_RELEASED },
	{ SCSI_UA_MODE_CHANGED, BRISK_SCSI_ASC_MODE_PARAMS_CHANGED },
	{ SCSI_UA_CAPACITY, BRISK_SCSI_ASC_CAPACITY_CHANGED },
	{ SCSI_UA_LUNS_CHANGED, BRISK_SCSI_ASC_REPORTED_LUNS_CHANGED },
};

/* SAM-5 5.14: INQUIRY, REPORT LUNS and REQUEST SENSE are answered despite a
 * pending unit attention; REPORT LUNS clears REPORTED LUNS DATA HAS CHANGED. */
static bool dev_report_ua(struct scsi_itn *itn, struct brisk_scsi_task *task, int lun_id)
{
	uint8_t op = task->cdb[0];
	size_t i;

	if (op == BRISK_SPC_OP_REPORT_LUNS) {
		itn->ua[lun_id] &= ~(uint32_t)SCSI_UA_LUNS_CHANGED;
	}
	if (itn->ua[lun_id] == 0 || op == BRISK_SPC_OP_INQUIRY || op == BRISK_SPC_OP_REPORT_LUNS ||
	    op == BRISK_SPC_OP_REQUEST_SENSE) {
		return false;
	}
	for (i = 0; i < sizeof(g_ua_sense) / sizeof(g_ua_sense[0]); i++) {
		if (itn->ua[lun_id] & g_ua_sense[i].bit) {
			itn->ua[lun_id] &= ~g_ua_sense[i].bit;
			scsi_sense(task, BRISK_SCSI_SENSE_UNIT_ATTENTION, g_ua_sense[i].asc);
			return true;
		}
	}
	return false;
}

/* ---- Tasks ---- */

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
}

/* Looks the LUN up and admits the task: NULL lun with the task answered. */
static struct brisk_scsi_lun *dev_admit(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task,
					bool *answered)
{
	struct brisk_scsi_lun *lun = NULL;
	struct scsi_itn *itn;

	*answered = false;
	pthread_mutex_lock(&dev->lock);
	itn = scsi_itn_get(dev, task->initiator_port);
	if (task->lun_id < BRISK_SCSI_DEV_MAX_LUN) {
		lun = dev_find_lun(dev, (int)task->lun_id);
	}
	if (lun != NULL && lun->removed) {
		lun = NULL;
	}
	if (lun != NULL && itn != NULL && dev_report_ua(itn, task, lun->id)) {
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
	if (scsi_pr_conflict(task)) {
		task->status = BRISK_SCSI_STATUS_RESERVATION_CONFLICT;
		scsi_task_complete_later(task);
		return;
	}
	if (!scsi_pr_execute(task) && !scsi_spc_execute(task) && !scsi_sbc_execute(task)) {
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

	if (task->ch != NULL) {
		brisk_put_io_channel(task->ch);
		task->ch = NULL;
	}
	if (lun != NULL) {
		struct brisk_scsi_dev *dev = lun->dev;

		pthread_mutex_lock(&dev->lock);
		TAILQ_REMOVE(&lun->tasks, task, link);
		lun->outstanding--;
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
	scsi_ua_set_all(dev, lun->id, SCSI_UA_RESET,
			scsi_itn_get(dev, mgmt->initiator_port));
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
		lun = dev_find_lun(dev, (int)mgmt->lun_id);
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
