/*
 * Tasks and ports: initialisation, fixed-format sense data, LUN field
 * coding, moving data between a task's buffer and the library, and the
 * deferred completion every path ends in.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/log.h>
#include <brisk/string.h>

#include "scsi_internal.h"

/* TransportID (SPC-4 7.6.4.6): protocol 5 (iSCSI); format 01b when the name
 * carries ",i,0x<ISID>", 00b otherwise. Length padded to a multiple of 4. */
static void port_build_transport_id(struct brisk_scsi_port *port)
{
	size_t n = strlen(port->name) + 1;
	size_t padded = (n + 3) & ~(size_t)3;

	if (padded < 20) {
		padded = 20;
	}
	memset(port->transport_id, 0, sizeof(port->transport_id));
	port->transport_id[0] = 0x05 | (strstr(port->name, ",i,0x") ? 0x40 : 0);
	scsi_put16(&port->transport_id[2], (uint16_t)padded);
	memcpy(&port->transport_id[4], port->name, n - 1);
	port->transport_id_len = (uint16_t)(4 + padded);
}

int brisk_scsi_port_init(struct brisk_scsi_port *port, uint64_t id, uint16_t index,
			 const char *name)
{
	if (port == NULL || name == NULL || name[0] == '\0' ||
	    strlen(name) > BRISK_SCSI_PORT_MAX_NAME) {
		BRISK_ERRLOG("scsi port: name must be 1..%d characters\n", BRISK_SCSI_PORT_MAX_NAME);
		return -EINVAL;
	}
	memset(port, 0, sizeof(*port));
	port->id = id;
	port->index = index;
	brisk_strlcpy(port->name, name, sizeof(port->name));
	port_build_transport_id(port);
	return 0;
}

void brisk_scsi_task_init(struct brisk_scsi_task *task, brisk_scsi_task_cpl cpl_fn, void *cb_arg)
{
	memset(task, 0, sizeof(*task));
	task->cpl_fn = cpl_fn;
	task->cb_arg = cb_arg;
}

/* A lent bdev buffer: give back the bdev_io, then the channel and the
 * LUN reference the task kept for it (the LUN may close after this). */
static void task_return_lent(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;

	brisk_bdev_free_io(task->bdev_io);
	task->bdev_io = NULL;
	brisk_put_io_channel(task->ch);
	task->ch = NULL;
	task->iovs = NULL;
	task->iovcnt = 0;
	pthread_mutex_lock(&lun->dev->lock);
	lun->outstanding--;
	scsi_lun_maybe_close(lun);
	pthread_mutex_unlock(&lun->dev->lock);
}

void brisk_scsi_task_put_buf(struct brisk_scsi_task *task)
{
	if (task->bdev_io != NULL) {
		task_return_lent(task);
	}
	if (task->buf != NULL && task->iovs == &task->iov) {
		task->iovs = NULL;
		task->iovcnt = 0;
	}
	free(task->buf);
	task->buf = NULL;
}

void scsi_sense(struct brisk_scsi_task *task, uint8_t sk, uint16_t asc)
{
	uint8_t *s = task->sense_data;

	memset(s, 0, 18);
	s[0] = 0x70;           /* current error, fixed format */
	s[2] = sk & 0x0f;
	s[7] = 10;             /* additional sense length: bytes 8..17 */
	s[12] = asc >> 8;
	s[13] = asc & 0xff;
	task->sense_data_len = 18;
	task->status = BRISK_SCSI_STATUS_CHECK_CONDITION;
}

void brisk_scsi_task_set_sense(struct brisk_scsi_task *task, uint8_t sk, uint8_t asc,
			       uint8_t ascq)
{
	scsi_sense(task, sk, (uint16_t)(asc << 8 | ascq));
}

void scsi_sense_field(struct brisk_scsi_task *task, bool param, uint16_t byte, int bit)
{
	uint8_t *s = task->sense_data;

	scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		   param ? BRISK_SCSI_ASC_INVALID_FIELD_IN_PARAM : BRISK_SCSI_ASC_INVALID_FIELD_IN_CDB);
	s[15] = 0x80 | (param ? 0 : 0x40);  /* SKSV, C/D */
	if (bit >= 0) {
		s[15] |= 0x08 | (bit & 7);   /* BPV, bit pointer */
	}
	scsi_put16(&s[16], byte);
}

void scsi_sense_info(struct brisk_scsi_task *task, uint64_t info)
{
	task->sense_data[0] |= 0x80;       /* VALID */
	scsi_put32(&task->sense_data[3], (uint32_t)info);
}

uint64_t brisk_scsi_lun_id_encode(uint64_t lun_id)
{
	if (lun_id < 256) {
		return lun_id << 48;                            /* peripheral device addressing */
	}
	return ((0x4000 | (lun_id & 0x3fff)) << 48);            /* flat space addressing */
}

uint64_t brisk_scsi_lun_id_decode(uint64_t lun_field)
{
	uint64_t first = lun_field >> 48;

	if ((lun_field & 0xffffffffffffULL) != 0) {
		return UINT64_MAX;                              /* multi-level: not supported */
	}
	switch (first >> 14) {
	case 0:
		return (first & 0x3f00) == 0 ? first & 0xff : UINT64_MAX;
	case 1:
		return first & 0x3fff;
	default:
		return UINT64_MAX;
	}
}

uint32_t scsi_task_iov_len(const struct brisk_scsi_task *task)
{
	uint64_t len = 0;
	int i;

	for (i = 0; i < task->iovcnt; i++) {
		len += task->iovs[i].iov_len;
	}
	return len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
}

int scsi_task_put_data(struct brisk_scsi_task *task, const void *data, uint32_t len)
{
	if (len > task->transfer_len) {
		len = task->transfer_len;
	}
	if (task->iovs == NULL || task->iovcnt == 0) {
		task->buf = malloc(len ? len : 1);
		if (task->buf == NULL) {
			return -ENOMEM;
		}
		task->iov.iov_base = task->buf;
		task->iov.iov_len = len;
		task->iovs = &task->iov;
		task->iovcnt = 1;
	}
	task->data_transferred = (uint32_t)brisk_copy_buf_to_iovs(task->iovs, task->iovcnt, data, len);
	return 0;
}

uint32_t scsi_task_get_data(struct brisk_scsi_task *task, void *buf, uint32_t len)
{
	uint32_t have = scsi_task_iov_len(task);

	if (len > have) {
		len = have;
	}
	if (len > task->transfer_len) {
		len = task->transfer_len;
	}
	if (task->iovs == NULL) {
		return 0;
	}
	return (uint32_t)brisk_copy_iovs_to_buf(buf, len, task->iovs, task->iovcnt);
}

static void task_complete_msg(void *ctx)
{
	struct brisk_scsi_task *task = ctx;

	scsi_task_finished(task);
}

void scsi_task_complete_later(struct brisk_scsi_task *task)
{
	struct brisk_thread *thread = brisk_get_thread();

	if (thread == NULL || brisk_thread_send_msg(thread, task_complete_msg, task) != 0) {
		BRISK_ERRLOG("scsi: cannot defer a completion; completing now\n");
		scsi_task_finished(task);
	}
}

size_t scsi_copy_iovs(const struct iovec *dst, int dstcnt, const struct iovec *src, int srccnt,
		      size_t len)
{
	size_t done = 0, doff = 0, soff = 0;
	int d = 0, s = 0;

	while (done < len && d < dstcnt && s < srccnt) {
		size_t n = dst[d].iov_len - doff;

		if (src[s].iov_len - soff < n) {
			n = src[s].iov_len - soff;
		}
		if (len - done < n) {
			n = len - done;
		}
		memcpy((uint8_t *)dst[d].iov_base + doff, (const uint8_t *)src[s].iov_base + soff, n);
		done += n;
		doff += n;
		soff += n;
		if (doff == dst[d].iov_len) {
			d++;
			doff = 0;
		}
		if (soff == src[s].iov_len) {
			s++;
			soff = 0;
		}
	}
	return done;
}
