/*
 * Initiator ports a device has seen (I_T nexuses) and their unit
 * attentions: established by resets, reservation changes, mode changes,
 * resizes and LUN hot add/remove, reported one per command (SAM-5 5.14).
 */
#include <string.h>

#include <brisk/string.h>

#include "scsi_internal.h"

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
bool scsi_dev_report_ua(struct scsi_itn *itn, struct brisk_scsi_task *task, int lun_id)
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
