/*
 * SBC-3 block commands, part two: VERIFY (BYTCHK 0, 1 and 3), COMPARE AND
 * WRITE, ORWRITE, WRITE SAME (pattern, zeroes, UNMAP, NDOB), UNMAP and GET LBA
 * STATUS. Comparisons read the medium into a buffer and compare here, so
 * the sense can carry the offset of the first differing byte and any bdev
 * works, whether or not it compares by itself.
 *
 * COMPARE AND WRITE and ORWRITE: one runs at a time per LUN (the others wait in
 * lun->caw_wait and start on their own thread when the previous one ends),
 * so two of them never interleave their compare and write. Plain writes
 * from other connections are not held off in between.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scsi_internal.h"

static uint32_t lun_bs(const struct brisk_scsi_task *task)
{
	return brisk_bdev_get_block_size(task->lun->bdev);
}

static void fail_now(struct brisk_scsi_task *task, uint8_t sk, uint16_t asc)
{
	scsi_sense(task, sk, asc);
	scsi_task_complete_later(task);
}

/* Offset of the first byte where the data-out (from skip, len bytes)
 * differs from buf, or -1. stride > 0: buf is compared against the first
 * stride bytes of the data-out repeated (VERIFY BYTCHK 11b). */
static int64_t compare_data_out(struct brisk_scsi_task *task, uint64_t skip, const uint8_t *buf,
				uint64_t len, uint64_t stride)
{
	uint64_t pos = 0, seen = 0;
	int i;

	for (i = 0; i < task->iovcnt && pos < len; i++) {
		const uint8_t *p = task->iovs[i].iov_base;
		uint64_t il = task->iovs[i].iov_len, k;

		for (k = 0; k < il && pos < len; k++, seen++) {
			if (seen < skip) {
				continue;
			}
			if (stride == 0 && p[k] != buf[pos]) {
				return (int64_t)pos;
			}
			pos++;
		}
	}
	if (stride > 0) {
		uint8_t *first = malloc(stride);
		int64_t bad = -1;

		if (first == NULL) {
			return -2;
		}
		brisk_copy_iovs_to_buf(first, stride, task->iovs, task->iovcnt);
		for (pos = 0; pos < len && bad < 0; pos++) {
			if (buf[pos] != first[pos % stride]) {
				bad = (int64_t)pos;
			}
		}
		free(first);
		return bad;
	}
	return -1;
}

/* ---- Read the medium into task->buf, then a per-command step ---- */

static int medium_read_submit(struct brisk_scsi_task *task)
{
	return brisk_bdev_read_blocks(task->lun->desc, task->ch, task->buf, task->lba, task->nblocks,
				      scsi_sbc_cb(), task);
}

static void run_medium_read(struct brisk_scsi_task *task, scsi_sbc_resume_fn next)
{
	task->buf = malloc((uint64_t)task->nblocks * lun_bs(task));
	if (task->buf == NULL) {
		fail_now(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	scsi_sbc_run(task, medium_read_submit, next);
}

/* Sets MISCOMPARE with the offset; true when the data matched. */
static bool check_compare(struct brisk_scsi_task *task, uint64_t stride)
{
	int64_t bad = compare_data_out(task, 0, task->buf, (uint64_t)task->nblocks * lun_bs(task),
				       stride);

	if (bad == -1) {
		return true;
	}
	if (bad == -2) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return false;
	}
	scsi_sense(task, BRISK_SCSI_SENSE_MISCOMPARE, BRISK_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	scsi_sense_info(task, (uint64_t)bad);
	return false;
}

static void finish_freeing(struct brisk_scsi_task *task, struct brisk_bdev_io *io)
{
	if (io != NULL) {
		brisk_bdev_free_io(io);
	}
	free(task->buf);
	task->buf = NULL;
	scsi_task_finished(task);
}

/* ---- VERIFY ---- */

static void verify_compared(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	uint8_t bytchk = (task->cdb[1] >> 1) & 3;

	if (!ok) {
		scsi_sbc_io_error(task, io);
	} else if (check_compare(task, bytchk == 3 ? lun_bs(task) : 0)) {
		task->data_transferred = task->cdb_data_len;
	}
	finish_freeing(task, io);
}

static void sbc_verify(struct brisk_scsi_task *task)
{
	uint8_t bytchk = (task->cdb[1] >> 1) & 3;

	if (bytchk == 2) {
		scsi_sense_field(task, false, 1, 2);
		scsi_task_complete_later(task);
		return;
	}
	if (bytchk == 0 || task->nblocks == 0) {
		scsi_task_complete_later(task);   /* medium check only: a bdev reads or fails */
		return;
	}
	task->cdb_data_len = bytchk == 3 ? lun_bs(task) : task->nblocks * lun_bs(task);
	if ((uint64_t)task->nblocks * lun_bs(task) > SCSI_MAX_XFER_BYTES) {
		scsi_sense_field(task, false, task->cdb[0] == BRISK_SBC_OP_VERIFY_12 ? 6 :
				 task->cdb[0] == BRISK_SBC_OP_VERIFY_16 ? 10 : 7, -1);
		scsi_task_complete_later(task);
		return;
	}
	if (!scsi_sbc_data_out_ok(task, task->cdb_data_len)) {
		scsi_task_complete_later(task);
		return;
	}
	run_medium_read(task, verify_compared);
}

/* ---- COMPARE AND WRITE ---- */

static void caw_compared(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok);

static void orwrite_start_msg(void *ctx);
static void atomic_start(struct brisk_scsi_task *task);

static void caw_start_msg(void *ctx)
{
	struct brisk_scsi_task *task = ctx;

	if (task->cdb[0] == BRISK_SBC_OP_ORWRITE_16) {
		orwrite_start_msg(ctx);
		return;
	}
	if (task->cdb[0] == BRISK_SBC_OP_WRITE_ATOMIC_16) {
		atomic_start(task);
		return;
	}
	run_medium_read(task, caw_compared);
}

/* Ends this command's turn (from scsi_task_finished, whatever path the
 * command ended on): the next waiting one starts on its own thread. */
void scsi_sbc_caw_unlock(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;
	struct brisk_scsi_task *next;

	task->caw_locked = false;
	pthread_mutex_lock(&lun->dev->lock);
	next = TAILQ_FIRST(&lun->caw_wait);
	if (next != NULL) {
		TAILQ_REMOVE(&lun->caw_wait, next, wait_link);
		next->caw_locked = true;   /* the turn passes straight to it */
	} else {
		lun->caw_busy = false;
	}
	pthread_mutex_unlock(&lun->dev->lock);
	if (next != NULL && brisk_thread_send_msg(next->thread, caw_start_msg, next) != 0) {
		/* cannot happen with a live thread; do not strand the queue */
		fail_now(next, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

/* True when the caller may run now; false when queued behind another. */
static bool caw_lock(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;
	bool run;

	pthread_mutex_lock(&lun->dev->lock);
	run = !lun->caw_busy;
	if (run) {
		lun->caw_busy = true;
		task->caw_locked = true;
	} else {
		TAILQ_INSERT_TAIL(&lun->caw_wait, task, wait_link);
	}
	pthread_mutex_unlock(&lun->dev->lock);
	return run;
}

static int caw_write_submit(struct brisk_scsi_task *task)
{
	return brisk_bdev_writev_blocks(task->lun->desc, task->ch, task->iov_trim, task->iov_trim_cnt,
					task->lba, task->nblocks, scsi_sbc_cb(), task);
}

static void caw_written(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
	} else {
		task->data_transferred = task->cdb_data_len;
	}
	finish_freeing(task, io);
}

static void caw_compared(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	uint64_t half = (uint64_t)task->nblocks * lun_bs(task);

	if (!ok) {
		scsi_sbc_io_error(task, io);
		finish_freeing(task, io);
		return;
	}
	brisk_bdev_free_io(io);
	if (!check_compare(task, 0)) {
		finish_freeing(task, NULL);
		return;
	}
	free(task->buf);
	task->buf = NULL;
	if (!scsi_task_trim_iovs(task, half, half)) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		scsi_task_finished(task);
		return;
	}
	scsi_sbc_run(task, caw_write_submit, caw_written);
}

static void sbc_compare_and_write(struct brisk_scsi_task *task)
{
	task->cdb_data_len = 2 * task->nblocks * lun_bs(task);
	if (task->nblocks == 0 && task->transfer_len > 0) {
		/* Data-out for a command that moves none: the block count did not
		 * fit its one byte (libiscsi sends 256 as 0). */
		scsi_sense_field(task, false, 13, -1);
		scsi_task_complete_later(task);
		return;
	}
	if (task->nblocks == 0) {
		scsi_task_complete_later(task);
		return;
	}
	if (!scsi_sbc_data_out_exact(task, task->cdb_data_len)) {
		scsi_task_complete_later(task);
		return;
	}
	if (caw_lock(task)) {
		run_medium_read(task, caw_compared);
	}
}

/* ---- ORWRITE: medium = medium OR data-out, read-modify-write under the
 * same per-LUN turn as COMPARE AND WRITE ---- */

static int orwrite_write_submit(struct brisk_scsi_task *task)
{
	return brisk_bdev_write_blocks(task->lun->desc, task->ch, task->buf, task->lba, task->nblocks,
				       scsi_sbc_cb(), task);
}

static void orwrite_merged(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	uint64_t len = (uint64_t)task->nblocks * lun_bs(task), pos = 0;
	uint8_t *m = task->buf;
	int i;

	if (!ok) {
		scsi_sbc_io_error(task, io);
		finish_freeing(task, io);
		return;
	}
	brisk_bdev_free_io(io);
	for (i = 0; i < task->iovcnt && pos < len; i++) {
		const uint8_t *p = task->iovs[i].iov_base;
		uint64_t k;

		for (k = 0; k < task->iovs[i].iov_len && pos < len; k++) {
			m[pos++] |= p[k];
		}
	}
	task->data_transferred = (uint32_t)len;
	scsi_sbc_run(task, orwrite_write_submit, caw_written);
}

static void orwrite_start_msg(void *ctx)
{
	run_medium_read(ctx, orwrite_merged);
}

static void sbc_orwrite(struct brisk_scsi_task *task)
{
	if (!scsi_sbc_data_out_exact(task, task->cdb_data_len)) {
		scsi_task_complete_later(task);
		return;
	}
	if (caw_lock(task)) {
		run_medium_read(task, orwrite_merged);
	}
}

/* ---- WRITE ATOMIC(16): the whole data-out or nothing, as one bdev write,
 * holding the COMPARE AND WRITE turn so it does not interleave with those. ---- */

static int atomic_submit(struct brisk_scsi_task *task)
{
	if (task->iov_trim_cnt > 0) {
		return brisk_bdev_writev_blocks(task->lun->desc, task->ch, task->iov_trim, task->iov_trim_cnt,
						task->lba, task->nblocks, scsi_sbc_cb(), task);
	}
	return brisk_bdev_write_blocks(task->lun->desc, task->ch, task->buf, task->lba, task->nblocks, scsi_sbc_cb(),
				       task);
}

static void atomic_written(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
	} else {
		task->data_transferred = task->cdb_data_len;
	}
	finish_freeing(task, io);
}

static void atomic_start(struct brisk_scsi_task *task)
{
	uint64_t nbytes = task->cdb_data_len;

	if (!scsi_task_trim_iovs(task, 0, nbytes)) {
		task->iov_trim_cnt = 0;
		task->buf = malloc(nbytes); /* more iovecs than the task can carry: rare */
		if (task->buf == NULL) {
			fail_now(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
			return;
		}
		brisk_copy_iovs_to_buf(task->buf, nbytes, task->iovs, task->iovcnt);
	}
	scsi_sbc_run(task, atomic_submit, atomic_written);
}

/* Short data-out is refused, never written in part. */
static void sbc_write_atomic(struct brisk_scsi_task *task)
{
	if (!scsi_sbc_data_out_exact(task, task->cdb_data_len)) {
		scsi_task_complete_later(task);
		return;
	}
	if (caw_lock(task)) {
		atomic_start(task);
	}
}

/* ---- A WRITE whose data-out ends inside a block (EDTL < SPDTL): the
 * blocks it touches are read, the bytes that arrived laid over them, and
 * written back, so the rest of the last block keeps its old data. ---- */

static void partial_written(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
	} else {
		task->data_transferred = task->done;
	}
	finish_freeing(task, io);
}

static void partial_merged(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
		finish_freeing(task, io);
		return;
	}
	brisk_bdev_free_io(io);
	brisk_copy_iovs_to_buf(task->buf, task->done, task->iovs, task->iovcnt);
	scsi_sbc_run(task, orwrite_write_submit, partial_written);
}

void scsi_sbc_partial_write(struct brisk_scsi_task *task, uint32_t have)
{
	uint32_t bs = lun_bs(task);

	task->done = have;
	task->nblocks = (have + bs - 1) / bs;
	run_medium_read(task, partial_merged);
}

/* ---- WRITE SAME ---- */

static int ws_unmap_submit(struct brisk_scsi_task *task)
{
	return brisk_bdev_unmap_blocks(task->lun->desc, task->ch, task->lba, task->nblocks,
				       scsi_sbc_cb(), task);
}

static int ws_zeroes_submit(struct brisk_scsi_task *task)
{
	return brisk_bdev_write_zeroes_blocks(task->lun->desc, task->ch, task->lba, task->nblocks,
					      scsi_sbc_cb(), task);
}

static uint32_t ws_chunk(const struct brisk_scsi_task *task)
{
	uint32_t left = task->nblocks - task->done;

	return left < SCSI_WS_CHUNK_BLOCKS ? left : SCSI_WS_CHUNK_BLOCKS;
}

static int ws_pattern_submit(struct brisk_scsi_task *task)
{
	return brisk_bdev_write_blocks(task->lun->desc, task->ch, task->buf, task->lba + task->done,
				       ws_chunk(task), scsi_sbc_cb(), task);
}

static void ws_step_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
		finish_freeing(task, io);
		return;
	}
	if (task->submit == ws_pattern_submit) {
		task->done += ws_chunk(task);
		if (task->done < task->nblocks) {
			brisk_bdev_free_io(io);
			scsi_sbc_run(task, NULL, NULL);
			return;
		}
	}
	finish_freeing(task, io);
}

static bool all_zero(const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

/* Fills task->buf with the pattern block repeated for one chunk. */
static bool ws_build_pattern(struct brisk_scsi_task *task, const uint8_t *block)
{
	uint32_t bs = lun_bs(task), i;

	task->buf = malloc((size_t)SCSI_WS_CHUNK_BLOCKS * bs);
	if (task->buf == NULL) {
		return false;
	}
	for (i = 0; i < SCSI_WS_CHUNK_BLOCKS; i++) {
		memcpy((uint8_t *)task->buf + (size_t)i * bs, block, bs);
	}
	return true;
}

static bool ws_check_flags(struct brisk_scsi_task *task)
{
	bool sixteen = task->cdb[0] == BRISK_SBC_OP_WRITE_SAME_16;

	if (task->cdb[1] & 0x10) {                 /* ANCHOR: anchored LBAs not supported */
		scsi_sense_field(task, false, 1, 4);
		return false;
	}
	if (task->cdb[1] & 0x06) {                 /* PBDATA/LBDATA: obsolete */
		scsi_sense_field(task, false, 1, (task->cdb[1] & 0x04) ? 2 : 1);
		return false;
	}
	if (!sixteen && (task->cdb[1] & 0x01)) {
		scsi_sense_field(task, false, 1, 0);
		return false;
	}
	if (task->nblocks == 0) {
		/* WSNZ is 0 in the block limits page: zero blocks means from
		 * the LBA to the end of the medium, up to the maximum WRITE
		 * SAME length (0xffffffff) the page reports. */
		uint64_t rest = brisk_bdev_get_num_blocks(task->lun->bdev) - task->lba;

		if (rest > UINT32_MAX) {
			scsi_sense_field(task, false, sixteen ? 10 : 7, -1);
			return false;
		}
		task->nblocks = (uint32_t)rest;
	}
	return true;
}

static void sbc_write_same(struct brisk_scsi_task *task)
{
	bool ndob = task->cdb[0] == BRISK_SBC_OP_WRITE_SAME_16 && (task->cdb[1] & 0x01);
	bool unmap = (task->cdb[1] & 0x08) &&
		     brisk_bdev_io_type_supported(task->lun->bdev, BRISK_BDEV_IO_TYPE_UNMAP);
	uint32_t bs = lun_bs(task);
	uint8_t block[4096 * 16];

	if (!ws_check_flags(task)) {
		scsi_task_complete_later(task);
		return;
	}
	task->cdb_data_len = ndob ? 0 : bs;
	memset(block, 0, bs <= sizeof(block) ? bs : sizeof(block));
	if (!ndob && (bs > sizeof(block) || !scsi_sbc_data_out_exact(task, bs))) {
		scsi_task_complete_later(task);
		return;
	}
	if (!ndob) {
		scsi_task_get_data(task, block, bs);
		task->data_transferred = bs;
	}
	task->done = 0;
	/* UNMAP set: SBC-4 lets the device server unmap whatever the data;
	 * the blocks then read back as LBPRZ says (zeroes on malloc). */
	if (unmap || all_zero(block, bs)) {
		scsi_sbc_run(task, unmap ? ws_unmap_submit : ws_zeroes_submit, ws_step_done);
		return;
	}
	if (!ws_build_pattern(task, block)) {
		fail_now(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return;
	}
	scsi_sbc_run(task, ws_pattern_submit, ws_step_done);
}

void scsi_sbc_cmp_execute(struct brisk_scsi_task *task)
{
	switch (task->cdb[0]) {
	case BRISK_SBC_OP_VERIFY_10: case BRISK_SBC_OP_VERIFY_12: case BRISK_SBC_OP_VERIFY_16:
		sbc_verify(task);
		break;
	case BRISK_SBC_OP_COMPARE_AND_WRITE:
		sbc_compare_and_write(task);
		break;
	case BRISK_SBC_OP_ORWRITE_16:
		sbc_orwrite(task);
		break;
	case BRISK_SBC_OP_WRITE_ATOMIC_16:
		sbc_write_atomic(task);
		break;
	default:
		sbc_write_same(task);
		break;
	}
}

/* ---- UNMAP: descriptors copied to task->buf, task->done the next one ---- */

static const uint8_t *unmap_desc(const struct brisk_scsi_task *task, uint32_t i)
{
	return (const uint8_t *)task->buf + 8 + 16 * i;
}

static int unmap_submit(struct brisk_scsi_task *task)
{
	const uint8_t *d = unmap_desc(task, task->done);

	return brisk_bdev_unmap_blocks(task->lun->desc, task->ch, scsi_be64(d), scsi_be32(&d[8]),
				       scsi_sbc_cb(), task);
}

/* Next descriptor with blocks in it, or false when none is left. */
static bool unmap_skip_empty(struct brisk_scsi_task *task)
{
	while (task->done < task->nblocks && scsi_be32(&unmap_desc(task, task->done)[8]) == 0) {
		task->done++;
	}
	return task->done < task->nblocks;
}

static void unmap_step_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
		finish_freeing(task, io);
		return;
	}
	brisk_bdev_free_io(io);
	task->done++;
	if (unmap_skip_empty(task)) {
		scsi_sbc_run(task, NULL, NULL);
		return;
	}
	finish_freeing(task, NULL);
}

/* Every descriptor in range; false with the sense set. */
static bool unmap_check_descs(struct brisk_scsi_task *task)
{
	uint64_t num = brisk_bdev_get_num_blocks(task->lun->bdev);
	uint32_t i;

	for (i = 0; i < task->nblocks; i++) {
		uint64_t lba = scsi_be64(unmap_desc(task, i));
		uint32_t n = scsi_be32(&unmap_desc(task, i)[8]);

		if (lba > num || n > num - lba || (n > 0 && lba == num)) {
			scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
			return false;
		}
	}
	return true;
}

/* Reads and checks the parameter list into task->buf; false with sense
 * (or plain GOOD when there is nothing to unmap). */
static bool unmap_load_params(struct brisk_scsi_task *task)
{
	uint32_t plen = scsi_be16(&task->cdb[7]), bdlen;

	task->cdb_data_len = plen;
	if (plen < 8) {
		if (plen > 0) {
			scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		}
		return false;
	}
	task->buf = calloc(1, plen);
	if (task->buf == NULL || scsi_task_get_data(task, task->buf, plen) < plen) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return false;
	}
	task->data_transferred = plen;
	bdlen = scsi_be16((uint8_t *)task->buf + 2);
	if (bdlen > plen - 8) {
		bdlen = plen - 8;
	}
	task->nblocks = bdlen / 16;       /* descriptor count */
	if (task->nblocks > SCSI_MAX_UNMAP_DESC) {
		scsi_sense_field(task, true, 2, -1);
		return false;
	}
	return unmap_check_descs(task);
}

static void sbc_unmap(struct brisk_scsi_task *task)
{
	if (task->cdb[1] & 0x01) {
		scsi_sense_field(task, false, 1, 0);   /* ANCHOR */
	} else if (scsi_lun_wp(task->lun)) {
		scsi_sense(task, BRISK_SCSI_SENSE_DATA_PROTECT, BRISK_SCSI_ASC_WRITE_PROTECTED);
	} else if (task->lun->stopped) {
		scsi_sense(task, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_LUN_NOT_READY_STOPPED);
	} else if (unmap_load_params(task)) {
		task->done = 0;
		task->ch = brisk_bdev_get_io_channel(task->lun->desc);
		if (task->ch != NULL && unmap_skip_empty(task)) {
			scsi_sbc_run(task, unmap_submit, unmap_step_done);
			return;
		}
	}
	free(task->buf);
	task->buf = NULL;
	scsi_task_complete_later(task);
}

/* ---- GET LBA STATUS: one descriptor from the LBA to the end, every
 * block mapped (the bdev API has no way to ask) unless a SANITIZE erase
 * unmapped them all and nothing was written since (lun->erased). ---- */

static void sbc_get_lba_status(struct brisk_scsi_task *task)
{
	uint64_t lba = scsi_be64(&task->cdb[2]), num = brisk_bdev_get_num_blocks(task->lun->bdev);
	uint32_t alloc = scsi_be32(&task->cdb[10]);
	uint8_t d[24] = {0};

	task->cdb_data_len = alloc;
	if (lba >= num) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	} else {
		scsi_put32(&d[0], 20);
		scsi_put64(&d[8], lba);
		scsi_put32(&d[16], num - lba > 0xffffffffULL ? 0xffffffff : (uint32_t)(num - lba));
		d[20] = task->lun->erased ? 0x01 : 0x00; /* PROVISIONING STATUS: deallocated */
		if (scsi_task_put_data(task, d, alloc < sizeof(d) ? alloc : sizeof(d)) != 0) {
			scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		}
	}
	scsi_task_complete_later(task);
}

bool scsi_sbc_cmp_execute_nolba(struct brisk_scsi_task *task)
{
	if (task->cdb[0] == BRISK_SBC_OP_UNMAP) {
		if (!brisk_bdev_io_type_supported(task->lun->bdev, BRISK_BDEV_IO_TYPE_UNMAP)) {
			return false;
		}
		sbc_unmap(task);
		return true;
	}
	sbc_get_lba_status(task);
	return true;
}
