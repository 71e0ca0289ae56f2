/*
 * SANITIZE (SBC-4 5.30): OVERWRITE writes the initiator's pattern over the
 * whole LUN (count passes, inverted between passes when INVERT is set);
 * BLOCK ERASE and CRYPTOGRAPHIC ERASE unmap the whole LUN, so both are
 * offered only where the bdev can unmap (the block device characteristics
 * VPD says reads after them succeed: WABEREQ and WACEREQ 01b); EXIT
 * FAILURE MODE leaves the state a failed sanitize left. With IMMED the
 * command answers at once and the operation goes on in the background;
 * meanwhile the LUN answers NOT READY, SANITIZE IN PROGRESS with the
 * progress indication (exec.c, REQUEST SENSE). The operation outlives task
 * management: it belongs to the LUN (lun->sanitize), not to the task.
 */
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>

#include "scsi_internal.h"

#define SANITIZE_CHUNK_BYTES (1u << 20) /* one write or unmap of the sweep */

struct scsi_sanitize {
	struct brisk_scsi_lun *lun;
	struct brisk_scsi_task *task; /* NULL once answered (IMMED) */
	struct brisk_io_channel *ch;
	uint8_t sa;
	bool invert;
	bool failed;
	uint8_t passes, pass;
	uint64_t next, total;
	uint32_t chunk_blocks;
	uint8_t *buf; /* OVERWRITE: chunk_blocks blocks of the pattern */
};

bool scsi_sanitize_erase_offered(const struct brisk_scsi_lun *lun)
{
	return brisk_bdev_io_type_supported(lun->bdev, BRISK_BDEV_IO_TYPE_UNMAP);
}

uint16_t scsi_sanitize_progress(const struct brisk_scsi_lun *lun)
{
	const struct scsi_sanitize *s = lun->sanitize;
	uint64_t done, all;

	if (s == NULL || s->total == 0) {
		return 0;
	}
	/* Read on another thread than the sweep's: atomics, no lock there. */
	done = (uint64_t)__atomic_load_n(&s->pass, __ATOMIC_RELAXED) * s->total +
	       __atomic_load_n(&s->next, __ATOMIC_RELAXED);
	all = (uint64_t)s->passes * s->total;
	return (uint16_t)(done * 65536 / (all + 1));
}

void scsi_sanitize_sense(struct brisk_scsi_task *task, const struct brisk_scsi_lun *lun)
{
	uint16_t progress = scsi_sanitize_progress(lun);

	scsi_sense(task, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_SANITIZE_IN_PROGRESS);
	task->sense_data[15] = 0x80; /* SKSV: the progress indication follows */
	scsi_put16(&task->sense_data[16], progress);
}

static void sanitize_free(struct scsi_sanitize *s)
{
	if (s->ch != NULL) {
		brisk_put_io_channel(s->ch);
	}
	if (s->buf != NULL) {
		brisk_free(s->buf);
	}
	free(s);
}

/* The end of the sweep: the LUN leaves the sanitize (or enters the failure
 * mode), the task still waiting (no IMMED) gets its status. */
static void sanitize_done(struct scsi_sanitize *s)
{
	struct brisk_scsi_lun *lun = s->lun;
	struct brisk_scsi_task *task = s->task;

	brisk_put_io_channel(s->ch); /* before the LUN may close its bdev */
	s->ch = NULL;
	pthread_mutex_lock(&lun->dev->lock);
	lun->sanitize = NULL;
	lun->sanitize_failed = s->failed;
	lun->erased = !s->failed && s->sa != BRISK_SBC_SANITIZE_OVERWRITE; /* GET LBA STATUS */
	lun->outstanding--;
	scsi_lun_maybe_close(lun);
	pthread_mutex_unlock(&lun->dev->lock);
	if (s->failed) {
		BRISK_ERRLOG("scsi: SANITIZE of LUN %d (%s) failed\n", lun->id, lun->bdev_name);
	}
	sanitize_free(s);
	if (task != NULL) {
		if (task->status == BRISK_SCSI_STATUS_GOOD && lun->sanitize_failed) {
			scsi_sense(task, BRISK_SCSI_SENSE_MEDIUM_ERROR, BRISK_SCSI_ASC_SANITIZE_FAILED);
		}
		scsi_task_complete_later(task);
	}
}

static void sanitize_step(struct scsi_sanitize *s);

static void sanitize_io_done(struct brisk_bdev_io *io, bool ok, void *ctx)
{
	struct scsi_sanitize *s = ctx;

	brisk_bdev_free_io(io);
	if (!ok) {
		s->failed = true;
		sanitize_done(s);
		return;
	}
	sanitize_step(s);
}

/* Fills every block of the buffer with the pattern, repeated from the
 * start of each block, inverted on odd passes when INVERT is set. */
static void sanitize_fill(struct scsi_sanitize *s, const uint8_t *pat, uint32_t plen, uint32_t bs)
{
	uint32_t i;

	for (i = 0; i < bs; i++) {
		s->buf[i] = pat[i % plen];
	}
	for (i = 1; i < s->chunk_blocks; i++) {
		memcpy(s->buf + (size_t)i * bs, s->buf, bs);
	}
}

static void sanitize_invert(struct scsi_sanitize *s, uint32_t bs)
{
	for (size_t i = 0; i < (size_t)s->chunk_blocks * bs; i++) {
		s->buf[i] = (uint8_t)~s->buf[i];
	}
}

static int sanitize_submit(struct scsi_sanitize *s, uint64_t n)
{
	struct brisk_bdev_desc *desc = s->lun->desc;

	if (s->sa == BRISK_SBC_SANITIZE_OVERWRITE) {
		return brisk_bdev_write_blocks(desc, s->ch, s->buf, s->next, n, sanitize_io_done, s);
	}
	return brisk_bdev_unmap_blocks(desc, s->ch, s->next, n, sanitize_io_done, s);
}

/* One chunk of the sweep; a new pass when this one reached the end. */
static void sanitize_step(struct scsi_sanitize *s)
{
	uint32_t bs = brisk_bdev_get_block_size(s->lun->bdev);
	uint64_t n;

	if (s->next >= s->total && s->pass + 1 < s->passes) {
		__atomic_store_n(&s->pass, s->pass + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&s->next, 0, __ATOMIC_RELAXED);
		if (s->invert) {
			sanitize_invert(s, bs);
		}
	}
	if (s->next >= s->total) {
		sanitize_done(s);
		return;
	}
	n = s->total - s->next < s->chunk_blocks ? s->total - s->next : s->chunk_blocks;
	if (sanitize_submit(s, n) != 0) {
		s->failed = true;
		sanitize_done(s);
		return;
	}
	__atomic_store_n(&s->next, s->next + n, __ATOMIC_RELAXED);
}

/* The CDB's reserved bits and bytes, the service action and the parameter
 * list length each service action allows (OVERWRITE: 5..block size + 4). */
static bool sanitize_cdb_ok(struct brisk_scsi_task *task, uint32_t bs)
{
	uint8_t sa = task->cdb[1] & 0x1f;
	uint16_t plen = scsi_be16(&task->cdb[7]);
	bool erase = sa == BRISK_SBC_SANITIZE_BLOCK_ERASE || sa == BRISK_SBC_SANITIZE_CRYPTO_ERASE;

	if (task->cdb[1] & 0x40) {
		scsi_sense_field(task, false, 1, 6);
		return false;
	}
	for (int i = 2; i <= 6; i++) {
		if (task->cdb[i] != 0) {
			scsi_sense_field(task, false, (uint16_t)i, -1);
			return false;
		}
	}
	if (sa != BRISK_SBC_SANITIZE_OVERWRITE && sa != BRISK_SBC_SANITIZE_EXIT_FAILURE &&
	    !(erase && scsi_sanitize_erase_offered(task->lun))) {
		scsi_sense_field(task, false, 1, 4);
		return false;
	}
	if (sa == BRISK_SBC_SANITIZE_OVERWRITE ? plen <= 4 || plen > bs + 4 : plen != 0) {
		scsi_sense_field(task, false, 7, -1);
		return false;
	}
	return true;
}

/* OVERWRITE's parameter list: a non-zero count, TEST 00b, and a pattern of
 * 1..block size bytes within the list. */
static bool sanitize_param_ok(struct brisk_scsi_task *task, const uint8_t *prm, uint32_t got, uint32_t bs)
{
	uint16_t plen = scsi_be16(&task->cdb[7]), ipl = scsi_be16(&prm[2]);

	if (got < plen) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return false;
	}
	if ((prm[0] & 0x1f) == 0 || (prm[0] & 0x60) != 0) {
		scsi_sense_field(task, true, 0, (prm[0] & 0x1f) == 0 ? 4 : 6);
		return false;
	}
	if (ipl == 0 || ipl > bs || ipl + 4u > plen) {
		scsi_sense_field(task, true, 2, -1);
		return false;
	}
	return true;
}

/* Builds the operation for task (checked); NULL with sense set otherwise. */
static struct scsi_sanitize *sanitize_prepare(struct brisk_scsi_task *task, uint32_t bs)
{
	struct brisk_scsi_lun *lun = task->lun;
	struct scsi_sanitize *s = calloc(1, sizeof(*s));
	uint16_t plen = scsi_be16(&task->cdb[7]);
	uint8_t *prm = plen != 0 ? malloc(plen) : NULL;
	bool ok;

	if (s == NULL || (plen != 0 && prm == NULL)) {
		free(s);
		free(prm);
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return NULL;
	}
	s->lun = lun;
	s->sa = task->cdb[1] & 0x1f;
	s->total = brisk_bdev_get_num_blocks(lun->bdev);
	s->chunk_blocks = SANITIZE_CHUNK_BYTES / bs != 0 ? SANITIZE_CHUNK_BYTES / bs : 1;
	s->passes = 1;
	/* The CDB check let OVERWRITE through only with a list of 5 bytes or
	 * more, and every other action only with none; said again here so that
	 * no path reads or leaks the list whatever the caller checked. */
	ok = s->sa != BRISK_SBC_SANITIZE_OVERWRITE;
	if (!ok && (prm == NULL || plen <= 4)) {
		scsi_sense_field(task, false, 7, -1);
	} else if (!ok) {
		ok = sanitize_param_ok(task, prm, scsi_task_get_data(task, prm, plen), bs);
	}
	if (!ok) {
		free(prm);
		sanitize_free(s);
		return NULL;
	}
	if (s->sa == BRISK_SBC_SANITIZE_OVERWRITE) {
		s->passes = prm[0] & 0x1f;
		s->invert = prm[0] & 0x80;
		s->buf = brisk_dma_malloc((size_t)s->chunk_blocks * bs, 4096, NULL);
		if (s->buf != NULL) {
			sanitize_fill(s, &prm[4], scsi_be16(&prm[2]), bs);
		}
	}
	free(prm);
	s->ch = brisk_bdev_get_io_channel(lun->desc);
	if (s->ch == NULL || (s->sa == BRISK_SBC_SANITIZE_OVERWRITE && s->buf == NULL)) {
		sanitize_free(s);
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return NULL;
	}
	return s;
}

/* Checks, then either answers (refusals, EXIT FAILURE MODE) or starts the
 * sweep; the LUN holds the operation (outstanding) until it ends. */
static void sanitize_start(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;
	uint32_t bs = brisk_bdev_get_block_size(lun->bdev);
	struct scsi_sanitize *s;

	if (!sanitize_cdb_ok(task, bs)) {
		scsi_task_complete_later(task);
		return;
	}
	if (scsi_lun_wp(lun)) {
		scsi_sense(task, BRISK_SCSI_SENSE_DATA_PROTECT, BRISK_SCSI_ASC_WRITE_PROTECTED);
		scsi_task_complete_later(task);
		return;
	}
	if ((task->cdb[1] & 0x1f) == BRISK_SBC_SANITIZE_EXIT_FAILURE) {
		lun->sanitize_failed = false; /* the medium is usable again, as it is */
		scsi_task_complete_later(task);
		return;
	}
	s = sanitize_prepare(task, bs);
	if (s == NULL) {
		scsi_task_complete_later(task);
		return;
	}
	pthread_mutex_lock(&lun->dev->lock);
	lun->sanitize = s;
	lun->outstanding++;
	pthread_mutex_unlock(&lun->dev->lock);
	if (task->cdb[1] & 0x80) { /* IMMED: the answer now, the sweep goes on */
		scsi_task_complete_later(task);
	} else {
		s->task = task;
	}
	sanitize_step(s);
}

bool scsi_sanitize_execute(struct brisk_scsi_task *task)
{
	if (task->cdb[0] != BRISK_SBC_OP_SANITIZE) {
		return false;
	}
	sanitize_start(task);
	return true;
}
