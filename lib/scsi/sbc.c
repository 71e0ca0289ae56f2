/*
 * SBC-3 block commands, part one: decoding the LBA and length of every
 * block CDB, the checks they share (protection fields, LBA range, transfer
 * length, software write protect, stopped unit), and the plain data path:
 * READ and WRITE (6/10/12/16), WRITE AND VERIFY, PRE-FETCH and
 * SYNCHRONIZE CACHE. Compare, OR write, write same, unmap and LBA status
 * are in sbc_cmp.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi_internal.h"

/* LBA and block count of a block CDB; false for other opcodes. */
static bool sbc_decode(const uint8_t *cdb, uint64_t *lba, uint32_t *n)
{
	switch (cdb[0]) {
	case BRISK_SBC_OP_READ_6:
	case BRISK_SBC_OP_WRITE_6:
		*lba = scsi_be24(&cdb[1]) & 0x1fffff;
		*n = cdb[4] == 0 ? 256 : cdb[4];
		return true;
	case BRISK_SBC_OP_READ_10: case BRISK_SBC_OP_WRITE_10: case BRISK_SBC_OP_WRITE_VERIFY_10:
	case BRISK_SBC_OP_VERIFY_10: case BRISK_SBC_OP_PRE_FETCH_10: case BRISK_SBC_OP_SYNC_CACHE_10:
	case BRISK_SBC_OP_WRITE_SAME_10:
		*lba = scsi_be32(&cdb[2]);
		*n = scsi_be16(&cdb[7]);
		return true;
	case BRISK_SBC_OP_READ_12: case BRISK_SBC_OP_WRITE_12: case BRISK_SBC_OP_WRITE_VERIFY_12:
	case BRISK_SBC_OP_VERIFY_12:
		*lba = scsi_be32(&cdb[2]);
		*n = scsi_be32(&cdb[6]);
		return true;
	case BRISK_SBC_OP_READ_16: case BRISK_SBC_OP_WRITE_16: case BRISK_SBC_OP_WRITE_VERIFY_16:
	case BRISK_SBC_OP_VERIFY_16: case BRISK_SBC_OP_PRE_FETCH_16: case BRISK_SBC_OP_SYNC_CACHE_16:
	case BRISK_SBC_OP_WRITE_SAME_16: case BRISK_SBC_OP_ORWRITE_16:
		*lba = scsi_be64(&cdb[2]);
		*n = scsi_be32(&cdb[10]);
		return true;
	case BRISK_SBC_OP_COMPARE_AND_WRITE:
		*lba = scsi_be64(&cdb[2]);
		*n = cdb[13];
		return true;
	case BRISK_SBC_OP_WRITE_ATOMIC_16:
		*lba = scsi_be64(&cdb[2]);
		*n = scsi_be16(&cdb[12]);
		return true;
	default:
		return false;
	}
}

static bool sbc_is_write(uint8_t op)
{
	switch (op) {
	case BRISK_SBC_OP_WRITE_6: case BRISK_SBC_OP_WRITE_10: case BRISK_SBC_OP_WRITE_12:
	case BRISK_SBC_OP_WRITE_16: case BRISK_SBC_OP_WRITE_VERIFY_10: case BRISK_SBC_OP_WRITE_VERIFY_12:
	case BRISK_SBC_OP_WRITE_VERIFY_16: case BRISK_SBC_OP_WRITE_SAME_10:
	case BRISK_SBC_OP_WRITE_SAME_16: case BRISK_SBC_OP_COMPARE_AND_WRITE: case BRISK_SBC_OP_UNMAP:
	case BRISK_SBC_OP_ORWRITE_16:
	case BRISK_SBC_OP_WRITE_ATOMIC_16:
		return true;
	default:
		return false;
	}
}

/* RDPROTECT/WRPROTECT/VRPROTECT (byte 1, bits 7-5): the LUNs carry no
 * protection information, so any non-zero value is refused. */
static bool sbc_has_protect_field(uint8_t op)
{
	return op != BRISK_SBC_OP_READ_6 && op != BRISK_SBC_OP_WRITE_6 &&
	       op != BRISK_SBC_OP_PRE_FETCH_10 && op != BRISK_SBC_OP_PRE_FETCH_16 &&
	       op != BRISK_SBC_OP_SYNC_CACHE_10 && op != BRISK_SBC_OP_SYNC_CACHE_16;
}

/* The checks every block command shares; false with the sense set. */
static bool sbc_check(struct brisk_scsi_task *task, uint64_t lba, uint32_t n)
{
	struct brisk_scsi_lun *lun = task->lun;
	uint64_t num = brisk_bdev_get_num_blocks(lun->bdev);
	uint8_t op = task->cdb[0];

	if (sbc_has_protect_field(op) && (task->cdb[1] & 0xe0)) {
		scsi_sense_field(task, false, 1, 7);
		return false;
	}
	if (lba >= num || n > num - lba) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
		return false;
	}
	if (lun->stopped) {
		scsi_sense(task, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_LUN_NOT_READY_STOPPED);
		return false;
	}
	if (sbc_is_write(op) && scsi_lun_wp(lun)) {
		scsi_sense(task, BRISK_SCSI_SENSE_DATA_PROTECT, BRISK_SCSI_ASC_WRITE_PROTECTED);
		return false;
	}
	return true;
}

bool scsi_sbc_check_range(struct brisk_scsi_task *task, uint64_t lba, uint32_t n)
{
	return sbc_check(task, lba, n);
}

/* ---- READ ---- */

static int read_submit(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;

	if (task->iov_trim_cnt > 0) {
		return brisk_bdev_readv_blocks(lun->desc, task->ch, task->iov_trim, task->iov_trim_cnt,
					       task->lba, task->nblocks, scsi_sbc_cb(), task);
	}
	return brisk_bdev_read_blocks(lun->desc, task->ch, task->buf, task->lba, task->nblocks,
				      scsi_sbc_cb(), task);
}

/* The data sits in the bdev's buffer or ours: hand it to the caller's
 * iovs when it gave some, else lend it until brisk_scsi_task_put_buf. */
static void read_deliver(struct brisk_scsi_task *task, struct brisk_bdev_io *io, uint32_t len)
{
	struct iovec *iovs;
	int iovcnt;

	brisk_bdev_io_get_iovec(io, &iovs, &iovcnt);
	if (task->iovs != NULL && task->iovcnt > 0) {
		task->data_transferred = (uint32_t)scsi_copy_iovs(task->iovs, task->iovcnt,
					 iovs, iovcnt, len);
		brisk_bdev_free_io(io);
		return;
	}
	if (task->buf != NULL) {
		task->iov.iov_base = task->buf;
		task->iov.iov_len = len;
		task->iovs = &task->iov;
		task->iovcnt = 1;
		brisk_bdev_free_io(io);
	} else {
		task->bdev_io = io;
		task->iovs = iovs;
		task->iovcnt = iovcnt;
	}
	task->data_transferred = len;
}

static void read_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	uint32_t len = task->cdb_data_len < task->transfer_len ? task->cdb_data_len : task->transfer_len;

	if (!ok) {
		scsi_sbc_io_error(task, io);
		brisk_bdev_free_io(io);
	} else if (task->iov_trim_cnt > 0) {
		task->data_transferred = len;
		brisk_bdev_free_io(io);
	} else {
		read_deliver(task, io, len);
	}
	scsi_task_finished(task);
}

static void sbc_read(struct brisk_scsi_task *task)
{
	uint64_t nbytes = (uint64_t)task->nblocks * brisk_bdev_get_block_size(task->lun->bdev);

	task->iov_trim_cnt = 0;
	if (task->iovs != NULL && task->iovcnt > 0 && scsi_task_iov_len(task) >= nbytes &&
	    task->transfer_len >= nbytes && scsi_task_trim_iovs(task, 0, nbytes)) {
		scsi_sbc_run(task, read_submit, read_done);
		return;
	}
	task->iov_trim_cnt = 0;
	if (nbytes > BRISK_BDEV_LARGE_BUF_SIZE) {
		task->buf = malloc(nbytes);   /* beyond the bdev pool's buffers: rare */
		if (task->buf == NULL) {
			scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
			scsi_task_complete_later(task);
			return;
		}
	}
	scsi_sbc_run(task, read_submit, read_done);
}

/* ---- WRITE ---- */

static int write_submit(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;

	if (task->iov_trim_cnt > 0) {
		return brisk_bdev_writev_blocks(lun->desc, task->ch, task->iov_trim, task->iov_trim_cnt,
						task->lba, task->nblocks, scsi_sbc_cb(), task);
	}
	return brisk_bdev_write_blocks(lun->desc, task->ch, task->buf, task->lba, task->nblocks,
				       scsi_sbc_cb(), task);
}

static void write_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
	} else {
		task->data_transferred = task->nblocks * brisk_bdev_get_block_size(task->lun->bdev);
	}
	brisk_bdev_free_io(io);
	free(task->buf);
	task->buf = NULL;
	scsi_task_finished(task);
}

/* Data-out shorter than the CDB asks for: FCP-4/iSCSI let the target
 * refuse without writing (INVALID FIELD IN INFORMATION UNIT). */
bool scsi_sbc_data_out_ok(struct brisk_scsi_task *task, uint64_t nbytes)
{
	if (task->transfer_len < nbytes || scsi_task_iov_len(task) < nbytes) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
		return false;
	}
	return true;
}

/* Data-out of a command whose data has a fixed shape (WRITE SAME's one
 * block, COMPARE AND WRITE's compare and write halves): any other length
 * leaves the command ambiguous, so it is refused, too long as too short. */
bool scsi_sbc_data_out_exact(struct brisk_scsi_task *task, uint64_t nbytes)
{
	if (!scsi_sbc_data_out_ok(task, nbytes)) {
		return false;
	}
	if (task->transfer_len > nbytes) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
		return false;
	}
	return true;
}

/* Data-out shorter than the CDB asks for (iSCSI EDTL < SPDTL): FCP-4 lets
 * the target write what arrived (and report the overflow) or refuse.
 * What arrived is written and GOOD returned: libiscsi's residual and
 * reservation tests want that (they send 512 bytes to one 4 KiB block);
 * a partial last block is merged into the old data (sbc_cmp.c). */
static void sbc_write(struct brisk_scsi_task *task)
{
	uint32_t bs = brisk_bdev_get_block_size(task->lun->bdev);
	uint32_t have = scsi_task_iov_len(task) < task->transfer_len ? scsi_task_iov_len(task) :
			task->transfer_len;
	uint64_t nbytes;

	if (have < task->cdb_data_len && have % bs != 0) {
		scsi_sbc_partial_write(task, have);
		return;
	}
	if (have < task->cdb_data_len) {
		task->nblocks = have / bs;
	}
	if (task->nblocks == 0) {
		scsi_task_complete_later(task);
		return;
	}
	nbytes = (uint64_t)task->nblocks * bs;
	if (!scsi_task_trim_iovs(task, 0, nbytes)) {
		task->iov_trim_cnt = 0;
		task->buf = malloc(nbytes);   /* more iovecs than the task can carry: rare */
		if (task->buf == NULL) {
			scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
			scsi_task_complete_later(task);
			return;
		}
		brisk_copy_iovs_to_buf(task->buf, nbytes, task->iovs, task->iovcnt);
	}
	scsi_sbc_run(task, write_submit, write_done);
}

/* ---- SYNCHRONIZE CACHE ---- */

static int flush_submit(struct brisk_scsi_task *task)
{
	return brisk_bdev_flush_blocks(task->lun->desc, task->ch, task->lba, task->nblocks,
				       scsi_sbc_cb(), task);
}

static void flush_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
	}
	brisk_bdev_free_io(io);
	scsi_task_finished(task);
}

static void sbc_sync_cache(struct brisk_scsi_task *task)
{
	if (task->nblocks == 0) {
		task->nblocks = (uint32_t)(brisk_bdev_get_num_blocks(task->lun->bdev) - task->lba);
	}
	if (!brisk_bdev_io_type_supported(task->lun->bdev, BRISK_BDEV_IO_TYPE_FLUSH)) {
		scsi_task_complete_later(task);   /* nothing volatile to write back */
		return;
	}
	scsi_sbc_run(task, flush_submit, flush_done);
}

/* ---- Dispatch ---- */

static uint32_t max_blocks_for(struct brisk_scsi_task *task)
{
	switch (task->cdb[0]) {
	case BRISK_SBC_OP_SYNC_CACHE_10: case BRISK_SBC_OP_SYNC_CACHE_16:
	case BRISK_SBC_OP_PRE_FETCH_10: case BRISK_SBC_OP_PRE_FETCH_16:
	case BRISK_SBC_OP_VERIFY_10: case BRISK_SBC_OP_VERIFY_12: case BRISK_SBC_OP_VERIFY_16:
	case BRISK_SBC_OP_WRITE_SAME_10: case BRISK_SBC_OP_WRITE_SAME_16:
		return UINT32_MAX;             /* no data moves for the whole range */
	default:
		return scsi_max_xfer_blocks(task->lun);
	}
}

/* Byte of the transfer length field, for the field pointer. */
static uint16_t length_field_byte(uint8_t op)
{
	if (op == BRISK_SBC_OP_READ_6 || op == BRISK_SBC_OP_WRITE_6) {
		return 4;
	}
	if (op == BRISK_SBC_OP_WRITE_ATOMIC_16) {
		return 12;
	}
	if (op == BRISK_SBC_OP_READ_12 || op == BRISK_SBC_OP_WRITE_12 ||
	    op == BRISK_SBC_OP_WRITE_VERIFY_12 || op == BRISK_SBC_OP_VERIFY_12) {
		return 6;
	}
	return (op & 0xe0) == 0x80 ? 10 : 7;
}

static void sbc_rw(struct brisk_scsi_task *task)
{
	uint8_t op = task->cdb[0];

	switch (op) {
	case BRISK_SBC_OP_READ_6: case BRISK_SBC_OP_READ_10: case BRISK_SBC_OP_READ_12:
	case BRISK_SBC_OP_READ_16:
		sbc_read(task);
		return;
	case BRISK_SBC_OP_WRITE_6: case BRISK_SBC_OP_WRITE_10: case BRISK_SBC_OP_WRITE_12:
	case BRISK_SBC_OP_WRITE_16: case BRISK_SBC_OP_WRITE_VERIFY_10: case BRISK_SBC_OP_WRITE_VERIFY_12:
	case BRISK_SBC_OP_WRITE_VERIFY_16:
		/* The data just written is what the medium holds: the verify
		 * part has nothing more to compare on a bdev. */
		sbc_write(task);
		return;
	case BRISK_SBC_OP_SYNC_CACHE_10: case BRISK_SBC_OP_SYNC_CACHE_16:
		sbc_sync_cache(task);
		return;
	case BRISK_SBC_OP_PRE_FETCH_10: case BRISK_SBC_OP_PRE_FETCH_16:
		scsi_task_complete_later(task);    /* RAM or the bdev's own cache */
		return;
	default:
		scsi_sbc_cmp_execute(task);
		return;
	}
}

/* Range, flags and length checks, then the command; false for an opcode
 * that is not a block command. */
static bool sbc_start(struct brisk_scsi_task *task)
{
	uint32_t bs = brisk_bdev_get_block_size(task->lun->bdev);
	uint8_t op = task->cdb[0];
	bool sync = op == BRISK_SBC_OP_SYNC_CACHE_10 || op == BRISK_SBC_OP_SYNC_CACHE_16;
	uint64_t lba;
	uint32_t n;

	if (!sbc_decode(task->cdb, &lba, &n)) {
		return false;
	}
	task->lba = lba;
	task->nblocks = n;
	if (sbc_is_write(op) || op == BRISK_SBC_OP_READ_6 || op == BRISK_SBC_OP_READ_10 ||
	    op == BRISK_SBC_OP_READ_12 || op == BRISK_SBC_OP_READ_16) {
		task->cdb_data_len = (uint32_t)((uint64_t)n * bs > UINT32_MAX ? UINT32_MAX : (uint64_t)n * bs);
	}
	if (!sbc_check(task, lba, sync && n == 0 ? 1 : n)) {
		scsi_task_complete_later(task);
		return true;
	}
	if (n > max_blocks_for(task)) {
		scsi_sense_field(task, false, length_field_byte(op), -1);
		scsi_task_complete_later(task);
		return true;
	}
	if (n == 0 && !sync && op != BRISK_SBC_OP_WRITE_SAME_10 && op != BRISK_SBC_OP_WRITE_SAME_16 &&
	    op != BRISK_SBC_OP_COMPARE_AND_WRITE) {
		scsi_task_complete_later(task);    /* zero blocks: nothing to move */
		return true;
	}
	task->ch = brisk_bdev_get_io_channel(task->lun->desc);
	if (task->ch == NULL) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		scsi_task_complete_later(task);
		return true;
	}
	sbc_rw(task);
	return true;
}

bool scsi_sbc_execute(struct brisk_scsi_task *task)
{
	uint8_t op = task->cdb[0];

	if (op == BRISK_SBC_OP_WRITE_ATOMIC_16 && !scsi_lun_atomic(task->lun)) {
		return false; /* not offered on this LUN: INVALID COMMAND OPERATION CODE */
	}
	if (op == BRISK_SBC_OP_UNMAP || (op == BRISK_SBC_OP_SERVICE_ACTION_IN_16 &&
					 (task->cdb[1] & 0x1f) == BRISK_SBC_SAI_GET_LBA_STATUS)) {
		return scsi_sbc_cmp_execute_nolba(task);
	}
	return sbc_start(task);
}
