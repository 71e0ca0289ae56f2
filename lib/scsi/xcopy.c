/*
 * Third-party copy (SPC-4): EXTENDED COPY (LID1) with identification
 * (E4h) copy target descriptors and block-to-block (02h) segment
 * descriptors, and RECEIVE COPY RESULTS (COPY STATUS, OPERATING
 * PARAMETERS). The copy manager is the LUN the command addresses: a copy
 * target must name that LUN (its NAA designator from the device
 * identification VPD page), so a copy never leaves the target and moves no
 * data over the wire. Segments are copied in order through one bounce
 * buffer, 1 MiB at a time (from the end when the destination overlaps
 * above the source); the outcome of a copy whose list identifier the
 * initiator asked to keep is held per I_T nexus for COPY STATUS.
 */
#include <stdlib.h>
#include <string.h>

#include "scsi_internal.h"

#define XCOPY_HDR_LEN 16
#define XCOPY_TGT_DESC_LEN 32
#define XCOPY_B2B_DESC_LEN 28
#define XCOPY_CHUNK_BYTES (1u << 20)

#define XCOPY_TGT_IDENT 0xe4 /* identification descriptor copy target */
#define XCOPY_SEG_B2B 0x02 /* block device to block device segment */

#define ASC_TOO_MANY_TARGET_DESC 0x2606
#define ASC_UNSUPPORTED_TARGET_DESC 0x2607
#define ASC_TOO_MANY_SEGMENT_DESC 0x2608
#define ASC_UNSUPPORTED_SEGMENT_DESC 0x2609
#define ASC_COPY_TARGET_NOT_REACHABLE 0x0d02
#define SENSE_COPY_ABORTED 0x0a

struct xcopy_ctx {
	uint8_t list_id;
	bool hold; /* LIST ID USAGE asks to keep the copy status */
	uint32_t ntgt, nseg, seg;
	uint64_t src, dst; /* current segment position */
	uint32_t left, chunk; /* blocks still to copy in it, blocks in flight */
	bool backward; /* destination overlaps above the source: copy from the end */
	uint64_t bytes; /* copied so far */
	uint8_t *params; /* header and descriptor lists */
	uint8_t *data; /* bounce buffer */
};

static uint32_t lun_bs(const struct brisk_scsi_task *task) { return brisk_bdev_get_block_size(task->lun->bdev); }

static struct xcopy_ctx *ctx_of(struct brisk_scsi_task *task) { return task->buf; }

static void copy_aborted(struct brisk_scsi_task *task, uint16_t asc) { scsi_sense(task, SENSE_COPY_ABORTED, asc); }

/* ---- Held copy status (per I_T nexus, dev->lock) ---- */

static void xcopy_record(struct brisk_scsi_task *task, const struct xcopy_ctx *c)
{
	struct brisk_scsi_dev *dev = task->lun->dev;
	struct scsi_itn *itn;

	pthread_mutex_lock(&dev->lock);
	itn = scsi_itn_get(dev, task->initiator_port);
	if (itn != NULL) {
		itn->copy.valid = true;
		itn->copy.lun_id = task->lun->id;
		itn->copy.list_id = c->list_id;
		itn->copy.status = task->status == BRISK_SCSI_STATUS_GOOD ? 0x01 : 0x02;
		itn->copy.segments = (uint16_t)c->seg;
		itn->copy.bytes = c->bytes;
	}
	pthread_mutex_unlock(&dev->lock);
}

static void xcopy_finish(struct brisk_scsi_task *task)
{
	struct xcopy_ctx *c = ctx_of(task);

	if (c->hold) {
		xcopy_record(task, c);
	}
	free(c->data);
	free(c->params);
	free(c);
	task->buf = NULL;
	/* The first segment may fail inside the queueing call: never complete there. */
	scsi_task_complete_later(task);
}

/* ---- Copying: read a chunk, write it, next chunk or segment ---- */

static void xcopy_next_segment(struct brisk_scsi_task *task);
static void xcopy_read_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok);

/* Offset of the chunk in flight from the segment's current start. */
static uint32_t chunk_off(const struct xcopy_ctx *c) { return c->backward ? c->left - c->chunk : 0; }

static int xcopy_read_submit(struct brisk_scsi_task *task)
{
	struct xcopy_ctx *c = ctx_of(task);

	return brisk_bdev_read_blocks(task->lun->desc, task->ch, c->data, c->src + chunk_off(c), c->chunk,
				      scsi_sbc_cb(), task);
}

static int xcopy_write_submit(struct brisk_scsi_task *task)
{
	struct xcopy_ctx *c = ctx_of(task);

	return brisk_bdev_write_blocks(task->lun->desc, task->ch, c->data, c->dst + chunk_off(c), c->chunk,
				       scsi_sbc_cb(), task);
}

static void xcopy_next_chunk(struct brisk_scsi_task *task)
{
	struct xcopy_ctx *c = ctx_of(task);
	uint32_t max = XCOPY_CHUNK_BYTES / lun_bs(task);

	if (c->left == 0) {
		c->seg++;
		xcopy_next_segment(task);
		return;
	}
	c->chunk = c->left < max ? c->left : max;
	scsi_sbc_run(task, xcopy_read_submit, xcopy_read_done);
}

static void xcopy_write_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	struct xcopy_ctx *c = ctx_of(task);

	if (!ok) {
		scsi_sbc_io_error(task, io);
		brisk_bdev_free_io(io);
		xcopy_finish(task);
		return;
	}
	brisk_bdev_free_io(io);
	if (!c->backward) {
		c->src += c->chunk;
		c->dst += c->chunk;
	}
	c->left -= c->chunk;
	c->bytes += (uint64_t)c->chunk * lun_bs(task);
	xcopy_next_chunk(task);
}

static void xcopy_read_done(struct brisk_scsi_task *task, struct brisk_bdev_io *io, bool ok)
{
	if (!ok) {
		scsi_sbc_io_error(task, io);
		brisk_bdev_free_io(io);
		xcopy_finish(task);
		return;
	}
	brisk_bdev_free_io(io);
	scsi_sbc_run(task, xcopy_write_submit, xcopy_write_done);
}

/* True when copy target descriptor idx names this LUN (not a null device,
 * the LUN's NAA designator, its block size). */
static bool xcopy_target_is_lun(struct brisk_scsi_task *task, uint32_t idx)
{
	const struct xcopy_ctx *c = ctx_of(task);
	const uint8_t *d = c->params + XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN * idx;
	const struct brisk_uuid *uuid = brisk_bdev_get_uuid(task->lun->bdev);
	uint8_t naa[16];

	if (idx >= c->ntgt || (d[1] & 0x20)) {
		return false;
	}
	memcpy(naa, uuid, 16);
	naa[0] = 0x60 | (naa[0] & 0x0f); /* as vpd_device_id builds it */
	return (d[5] & 0x0f) == 0x3 && d[7] == 16 && memcmp(&d[8], naa, 16) == 0 && scsi_be24(&d[29]) == lun_bs(task);
}

static void xcopy_next_segment(struct brisk_scsi_task *task)
{
	struct xcopy_ctx *c = ctx_of(task);
	const uint8_t *s;
	uint64_t num = brisk_bdev_get_num_blocks(task->lun->bdev);
	uint32_t n;

	if (c->seg == c->nseg) {
		xcopy_finish(task);
		return;
	}
	s = c->params + XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN * c->ntgt + XCOPY_B2B_DESC_LEN * c->seg;
	if (!xcopy_target_is_lun(task, scsi_be16(&s[4])) || !xcopy_target_is_lun(task, scsi_be16(&s[6]))) {
		copy_aborted(task, ASC_COPY_TARGET_NOT_REACHABLE);
		xcopy_finish(task);
		return;
	}
	n = scsi_be16(&s[10]);
	c->src = scsi_be64(&s[12]);
	c->dst = scsi_be64(&s[20]);
	if (c->src >= num || n > num - c->src || c->dst >= num || n > num - c->dst) {
		/* SPC-4: a segment the copy manager cannot process ends the
		 * copy with COPY ABORTED; the INFORMATION field names it. */
		copy_aborted(task, BRISK_SCSI_ASC_NO_ADDITIONAL_SENSE);
		scsi_sense_info(task, c->seg);
		xcopy_finish(task);
		return;
	}
	c->left = n;
	/* Like memmove: a destination overlapping above the source is copied
	 * from the end, so no chunk reads blocks an earlier one overwrote. */
	c->backward = c->dst > c->src && c->dst < c->src + n;
	xcopy_next_chunk(task);
}

/* ---- EXTENDED COPY: parameter list checks ---- */

/* Counts the segment descriptors (walking their lengths); false with the
 * sense set when one is not block-to-block or runs past the list. */
static bool xcopy_count_segments(struct brisk_scsi_task *task, const uint8_t *p, uint32_t len, uint32_t *count)
{
	uint32_t off = 0, n = 0;

	while (off < len) {
		if (len - off < 4 || len - off < 4u + scsi_be16(&p[off + 2])) {
			scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
			return false;
		}
		off += 4u + scsi_be16(&p[off + 2]);
		n++;
	}
	*count = n;
	return true;
}

static bool xcopy_check_segments(struct brisk_scsi_task *task, const uint8_t *p, uint32_t n, uint32_t base)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		const uint8_t *s = p + XCOPY_B2B_DESC_LEN * i;

		if (s[0] != XCOPY_SEG_B2B) {
			scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, ASC_UNSUPPORTED_SEGMENT_DESC);
			return false;
		}
		if (scsi_be16(&s[2]) != XCOPY_B2B_DESC_LEN - 4) {
			scsi_sense_field(task, true, (uint16_t)(base + XCOPY_B2B_DESC_LEN * i + 2), -1);
			return false;
		}
	}
	return true;
}

static bool xcopy_check_targets(struct brisk_scsi_task *task, const uint8_t *p, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++) {
		const uint8_t *d = p + XCOPY_TGT_DESC_LEN * i;
		uint16_t at = (uint16_t)(XCOPY_HDR_LEN + XCOPY_TGT_DESC_LEN * i);

		if (d[0] != XCOPY_TGT_IDENT) {
			scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, ASC_UNSUPPORTED_TARGET_DESC);
			return false;
		}
		/* LU ID TYPE (bits 7-6) qualifies an LU IDENTIFIER field, which
		 * an identification descriptor does not have: ignored. */
		if (d[1] & 0x1f) { /* PERIPHERAL DEVICE TYPE: block devices only */
			scsi_sense_field(task, true, (uint16_t)(at + 1), 4);
			return false;
		}
	}
	return true;
}

/* Header limits in the order the lists are read; false with sense set. */
static bool xcopy_check_header(struct brisk_scsi_task *task, const uint8_t *h, uint32_t plen)
{
	uint32_t tlen = scsi_be16(&h[2]), slen = scsi_be32(&h[8]);

	if (scsi_be32(&h[12]) != 0) { /* inline data: not supported */
		scsi_sense_field(task, true, 12, -1);
		return false;
	}
	if ((uint64_t)tlen + slen > SCSI_XCOPY_MAX_DESC_LIST || XCOPY_HDR_LEN + (uint64_t)tlen + slen > plen) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return false;
	}
	if (tlen % XCOPY_TGT_DESC_LEN != 0) {
		scsi_sense_field(task, true, 2, -1);
		return false;
	}
	if (tlen / XCOPY_TGT_DESC_LEN > SCSI_XCOPY_MAX_TGT_DESC) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, ASC_TOO_MANY_TARGET_DESC);
		return false;
	}
	return true;
}

/* Parses and checks the whole parameter list into c; false with sense. */
static bool xcopy_parse(struct brisk_scsi_task *task, struct xcopy_ctx *c, uint32_t plen)
{
	uint8_t h[XCOPY_HDR_LEN];
	uint32_t tlen, slen;

	if (scsi_task_get_data(task, h, sizeof(h)) < sizeof(h) || !xcopy_check_header(task, h, plen)) {
		return false;
	}
	tlen = scsi_be16(&h[2]);
	slen = scsi_be32(&h[8]);
	c->params = malloc(XCOPY_HDR_LEN + tlen + slen);
	if (c->params == NULL) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		return false;
	}
	if (scsi_task_get_data(task, c->params, XCOPY_HDR_LEN + tlen + slen) < XCOPY_HDR_LEN + tlen + slen) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return false;
	}
	c->ntgt = tlen / XCOPY_TGT_DESC_LEN;
	if (!xcopy_count_segments(task, c->params + XCOPY_HDR_LEN + tlen, slen, &c->nseg)) {
		return false;
	}
	if (c->nseg > SCSI_XCOPY_MAX_SEG_DESC) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, ASC_TOO_MANY_SEGMENT_DESC);
		return false;
	}
	c->list_id = h[0];
	c->hold = ((h[1] >> 3) & 0x3) != 0x3; /* 11b: list identifier not valid */
	return xcopy_check_targets(task, c->params + XCOPY_HDR_LEN, c->ntgt) &&
	       xcopy_check_segments(task, c->params + XCOPY_HDR_LEN + tlen, c->nseg, XCOPY_HDR_LEN + tlen);
}

static bool xcopy_lun_ready(struct brisk_scsi_task *task)
{
	if (task->lun->stopped) {
		scsi_sense(task, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_LUN_NOT_READY_STOPPED);
		return false;
	}
	if (scsi_lun_wp(task->lun)) {
		scsi_sense(task, BRISK_SCSI_SENSE_DATA_PROTECT, BRISK_SCSI_ASC_WRITE_PROTECTED);
		return false;
	}
	return true;
}

static void xcopy_fail_now(struct brisk_scsi_task *task, struct xcopy_ctx *c)
{
	if (c != NULL) {
		free(c->params);
		free(c);
	}
	task->buf = NULL;
	scsi_task_complete_later(task);
}

static void extended_copy(struct brisk_scsi_task *task)
{
	uint32_t plen = scsi_be32(&task->cdb[10]);
	struct xcopy_ctx *c;

	if ((task->cdb[1] & 0x1f) != 0) { /* only LID1 */
		scsi_sense_field(task, false, 1, 4);
		xcopy_fail_now(task, NULL);
		return;
	}
	task->cdb_data_len = plen;
	task->data_transferred = plen < task->transfer_len ? plen : task->transfer_len;
	if (plen == 0 || !xcopy_lun_ready(task)) { /* an empty list copies nothing */
		xcopy_fail_now(task, NULL);
		return;
	}
	c = calloc(1, sizeof(*c));
	task->buf = c;
	if (c == NULL) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		xcopy_fail_now(task, NULL);
		return;
	}
	if (plen < XCOPY_HDR_LEN) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		xcopy_fail_now(task, c);
		return;
	}
	if (!xcopy_parse(task, c, plen)) {
		xcopy_fail_now(task, c);
		return;
	}
	c->data = malloc(XCOPY_CHUNK_BYTES); /* a copy is rare: no pool */
	task->ch = brisk_bdev_get_io_channel(task->lun->desc);
	if (c->data == NULL || task->ch == NULL) {
		free(c->data);
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
		xcopy_fail_now(task, c);
		return;
	}
	xcopy_next_segment(task);
}

/* ---- RECEIVE COPY RESULTS ---- */

static void reply(struct brisk_scsi_task *task, const uint8_t *d, uint32_t len)
{
	uint32_t alloc = scsi_be32(&task->cdb[10]);

	task->cdb_data_len = alloc;
	if (scsi_task_put_data(task, d, len < alloc ? len : alloc) != 0) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

static void copy_status(struct brisk_scsi_task *task)
{
	struct brisk_scsi_dev *dev = task->lun->dev;
	struct scsi_itn *itn;
	uint8_t d[12] = { 0 };
	bool found = false;

	pthread_mutex_lock(&dev->lock);
	itn = scsi_itn_get(dev, task->initiator_port);
	if (itn != NULL && itn->copy.valid && itn->copy.lun_id == task->lun->id && itn->copy.list_id == task->cdb[2]) {
		found = true;
		scsi_put32(&d[0], sizeof(d) - 4);
		d[4] = itn->copy.status;
		scsi_put16(&d[5], itn->copy.segments);
		d[7] = 0x00; /* transfer count in bytes */
		scsi_put32(&d[8], itn->copy.bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)itn->copy.bytes);
	}
	pthread_mutex_unlock(&dev->lock);
	if (!found) { /* no such copy held for this nexus */
		scsi_sense_field(task, false, 2, -1);
		return;
	}
	reply(task, d, sizeof(d));
}

static void operating_parameters(struct brisk_scsi_task *task)
{
	uint8_t d[48] = { 0 };

	scsi_put32(&d[0], sizeof(d) - 4);
	scsi_put16(&d[8], SCSI_XCOPY_MAX_TGT_DESC);
	scsi_put16(&d[10], SCSI_XCOPY_MAX_SEG_DESC);
	scsi_put32(&d[12], SCSI_XCOPY_MAX_DESC_LIST);
	scsi_put32(&d[16], 0xffffu * lun_bs(task)); /* 16-bit block count per segment */
	scsi_put16(&d[34], 1); /* total concurrent copies */
	d[36] = 1; /* maximum concurrent copies */
	d[37] = 9; /* data segment granularity: 512 B */
	d[43] = 2; /* implemented descriptor codes */
	d[44] = XCOPY_SEG_B2B;
	d[45] = XCOPY_TGT_IDENT;
	reply(task, d, 46);
}

static void receive_copy_results(struct brisk_scsi_task *task)
{
	switch (task->cdb[1] & 0x1f) {
	case BRISK_SPC_RCR_COPY_STATUS:
		copy_status(task);
		break;
	case BRISK_SPC_RCR_OPERATING_PARAMS:
		operating_parameters(task);
		break;
	default:
		scsi_sense_field(task, false, 1, 4);
		break; /* RECEIVE DATA, FAILED SEGMENT DETAILS */
	}
	scsi_task_complete_later(task);
}

/* ---- Third-party Copy VPD page (8Fh) ---- */

uint32_t scsi_xcopy_vpd(uint8_t *d)
{
	static const uint8_t cmds[] = { BRISK_SPC_OP_EXTENDED_COPY,        1, 0x00,
					BRISK_SPC_OP_RECEIVE_COPY_RESULTS, 2, BRISK_SPC_RCR_COPY_STATUS,
					BRISK_SPC_RCR_OPERATING_PARAMS };
	uint8_t *p = &d[4];

	scsi_put16(&p[0], 0x0001); /* supported commands */
	scsi_put16(&p[2], 8);
	p[4] = sizeof(cmds);
	memcpy(&p[5], cmds, sizeof(cmds));
	p += 12;
	scsi_put16(&p[0], 0x0004); /* parameter data */
	scsi_put16(&p[2], 0x1c);
	scsi_put16(&p[8], SCSI_XCOPY_MAX_TGT_DESC);
	scsi_put16(&p[10], SCSI_XCOPY_MAX_SEG_DESC);
	scsi_put32(&p[12], SCSI_XCOPY_MAX_DESC_LIST);
	p += 32;
	scsi_put16(&p[0], 0x0008); /* supported descriptors */
	scsi_put16(&p[2], 4);
	p[4] = 2;
	p[5] = XCOPY_SEG_B2B;
	p[6] = XCOPY_TGT_IDENT;
	p += 8;
	scsi_put16(&d[2], (uint16_t)(p - &d[4]));
	return (uint32_t)(p - d);
}

bool scsi_xcopy_execute(struct brisk_scsi_task *task)
{
	switch (task->cdb[0]) {
	case BRISK_SPC_OP_EXTENDED_COPY:
		extended_copy(task);
		return true;
	case BRISK_SPC_OP_RECEIVE_COPY_RESULTS:
		receive_copy_results(task);
		return true;
	default:
		return false;
	}
}
