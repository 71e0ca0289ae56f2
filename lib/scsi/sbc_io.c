/*
 * The bdev side of block commands: submitting one bdev step of a task
 * (retrying after -ENOMEM through the bdev layer's wait queue, never
 * failing for lack of resources), iovecs cut to the CDB's length, and the
 * mapping of bdev failures to sense data.
 */
#include <errno.h>
#include <string.h>

#include <brisk/log.h>

#include "scsi_internal.h"

static void sbc_io_done(struct brisk_bdev_io *io, bool ok, void *cb_arg)
{
	struct brisk_scsi_task *task = cb_arg;

	task->resume(task, io, ok);
}

static void sbc_retry(void *cb_arg)
{
	scsi_sbc_run(cb_arg, NULL, NULL);
}

void scsi_sbc_run(struct brisk_scsi_task *task, int (*submit)(struct brisk_scsi_task *task),
		  void (*resume)(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok))
{
	int rc;

	if (submit != NULL) {
		task->submit = submit;
		task->resume = resume;
	}
	rc = task->submit(task);
	if (rc == 0) {
		return;
	}
	if (rc == -ENOMEM) {
		task->bdev_wait.bdev = task->lun->bdev;
		task->bdev_wait.cb_fn = sbc_retry;
		task->bdev_wait.cb_arg = task;
		if (brisk_bdev_queue_io_wait(task->lun->bdev, task->ch, &task->bdev_wait) == 0) {
			return;
		}
		rc = task->submit(task);   /* I/Os became free meanwhile */
		if (rc == 0) {
			return;
		}
	}
	BRISK_ERRLOG("scsi LUN %d: bdev submission failed: %d\n", task->lun->id, rc);
	scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	scsi_task_complete_later(task);
}

brisk_bdev_io_completion_cb scsi_sbc_cb(void)
{
	return sbc_io_done;
}

void scsi_sbc_io_error(struct brisk_scsi_task *task, struct brisk_bdev_io *io)
{
	enum brisk_bdev_io_type type = brisk_bdev_io_get_type(io);

	if (brisk_bdev_io_get_status(io) == BRISK_BDEV_IO_STATUS_MISCOMPARE) {
		scsi_sense(task, BRISK_SCSI_SENSE_MISCOMPARE, BRISK_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	} else if (type == BRISK_BDEV_IO_TYPE_READ) {
		scsi_sense(task, BRISK_SCSI_SENSE_MEDIUM_ERROR, BRISK_SCSI_ASC_UNRECOVERED_READ_ERROR);
	} else if (type == BRISK_BDEV_IO_TYPE_WRITE || type == BRISK_BDEV_IO_TYPE_WRITE_ZEROES) {
		scsi_sense(task, BRISK_SCSI_SENSE_MEDIUM_ERROR, BRISK_SCSI_ASC_WRITE_ERROR);
	} else {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

bool scsi_task_trim_iovs(struct brisk_scsi_task *task, uint64_t skip, uint64_t len)
{
	int i, n = 0;

	for (i = 0; i < task->iovcnt && len > 0; i++) {
		uint64_t il = task->iovs[i].iov_len;

		if (skip >= il) {
			skip -= il;
			continue;
		}
		if (n == (int)(sizeof(task->iov_trim) / sizeof(task->iov_trim[0]))) {
			return false;
		}
		task->iov_trim[n].iov_base = (uint8_t *)task->iovs[i].iov_base + skip;
		task->iov_trim[n].iov_len = il - skip < len ? il - skip : len;
		len -= task->iov_trim[n].iov_len;
		skip = 0;
		n++;
	}
	task->iov_trim_cnt = n;
	return len == 0;
}
