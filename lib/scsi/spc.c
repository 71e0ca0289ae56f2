/*
 * SPC-4 primary commands that need no bdev I/O: INQUIRY (standard data and
 * VPD pages), REPORT LUNS, TEST UNIT READY, REQUEST SENSE, START STOP UNIT,
 * PREVENT ALLOW MEDIUM REMOVAL, READ CAPACITY(10/16), READ DEFECT DATA
 * (10/12) and the answers given
 * for a LUN that does not exist. Mode pages are in mode.c, REPORT SUPPORTED
 * OPERATION CODES in opcodes.c, reservations in pr.c.
 */
#include <string.h>

#include <brisk/log.h>
#include <brisk/string.h>
#include <brisk/uuid.h>

#include "scsi_internal.h"

#define SCSI_VENDOR "BRISK"
#define SCSI_REVISION "0001"

/* Version descriptors (SPC-4 table): SAM-5, SPC-4, SBC-3, iSCSI. */
static const uint16_t g_version_desc[] = { 0x00a0, 0x0460, 0x04c0, 0x0960 };

static uint32_t alloc_len_of(const struct brisk_scsi_task *task)
{
	switch (task->cdb[0]) {
	case BRISK_SPC_OP_INQUIRY:
		return scsi_be16(&task->cdb[3]);
	case BRISK_SPC_OP_REQUEST_SENSE:
		return task->cdb[4];
	case BRISK_SPC_OP_REPORT_LUNS:
		return scsi_be32(&task->cdb[6]);
	default:
		return 0;
	}
}

/* Sends len bytes of data limited by the CDB's allocation length. */
static void reply(struct brisk_scsi_task *task, const void *data, uint32_t len, uint32_t alloc_len)
{
	if (len > alloc_len) {
		len = alloc_len;
	}
	task->cdb_data_len = alloc_len;
	if (scsi_task_put_data(task, data, len) != 0) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

/* ---- INQUIRY ---- */

static uint32_t inquiry_standard(struct brisk_scsi_lun *lun, uint8_t *d)
{
	const char *product = lun != NULL ? brisk_bdev_get_product_name(lun->bdev) : "";
	size_t i;

	memset(d, 0, 96);
	d[0] = lun != NULL ? 0x00 : 0x7f;       /* PQ 011b + PDT 1Fh: no LUN here */
	d[1] = lun != NULL && lun->removable ? 0x80 : 0; /* RMB */
	d[2] = 0x06;                           /* SPC-4 */
	d[3] = 0x12;                           /* HISUP, response data format 2 */
	d[4] = 96 - 5;
	d[5] = lun != NULL ? 0x08 : 0; /* 3PC: EXTENDED COPY (xcopy.c) */
	d[7] = 0x02;                           /* CMDQUE */
	brisk_strcpy_pad(&d[8], SCSI_VENDOR, 8, ' ');
	brisk_strcpy_pad(&d[16], product != NULL && product[0] ? product : "Brisk disk", 16, ' ');
	brisk_strcpy_pad(&d[32], SCSI_REVISION, 4, ' ');
	for (i = 0; i < sizeof(g_version_desc) / sizeof(g_version_desc[0]); i++) {
		scsi_put16(&d[58 + 2 * i], g_version_desc[i]);
	}
	return 96;
}

static void lun_serial(const struct brisk_scsi_lun *lun, char *out, size_t size)
{
	char uuid[40];
	size_t i, j = 0;

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), brisk_bdev_get_uuid(lun->bdev));
	for (i = 0; uuid[i] != '\0' && j + 1 < size; i++) {
		if (uuid[i] != '-') {
			out[j++] = uuid[i];
		}
	}
	out[j] = '\0';
}

static uint32_t vpd_supported(uint8_t *d)
{
	static const uint8_t pages[] = {
		BRISK_SPC_VPD_SUPPORTED_PAGES,  BRISK_SPC_VPD_UNIT_SERIAL,  BRISK_SPC_VPD_DEVICE_ID,
		BRISK_SPC_VPD_THIRD_PARTY_COPY, BRISK_SBC_VPD_BLOCK_LIMITS, BRISK_SBC_VPD_BLOCK_DEV_CHARS,
		BRISK_SBC_VPD_LB_PROVISIONING,
	};

	d[3] = sizeof(pages);
	memcpy(&d[4], pages, sizeof(pages));
	return 4 + sizeof(pages);
}

static uint32_t vpd_serial(struct brisk_scsi_lun *lun, uint8_t *d)
{
	char serial[40];

	lun_serial(lun, serial, sizeof(serial));
	d[3] = (uint8_t)strlen(serial);
	memcpy(&d[4], serial, strlen(serial));
	return 4 + (uint32_t)strlen(serial);
}

/* One designation descriptor; returns its size. */
static uint32_t designator(uint8_t *p, uint8_t code_set, uint8_t assoc_type, const void *id,
			   uint32_t len, bool piv)
{
	p[0] = code_set | (piv ? 0x50 : 0);   /* protocol iSCSI when PIV */
	p[1] = assoc_type | (piv ? 0x80 : 0);
	p[3] = (uint8_t)len;
	memcpy(&p[4], id, len);
	return 4 + len;
}

/* A UTF-8 SCSI name string: null-terminated, padded to a multiple of 4. */
static uint32_t name_designator(uint8_t *p, uint8_t assoc, const char *name)
{
	uint8_t buf[260] = {0};
	uint32_t n = (uint32_t)strnlen(name, 251) + 1;

	n = (n + 3) & ~3u;
	memcpy(buf, name, strnlen(name, 251));
	return designator(p, 0x3, (uint8_t)(assoc | 0x8), buf, n, assoc != 0);
}

static uint32_t vpd_device_id(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun, uint8_t *d)
{
	const struct brisk_uuid *uuid = brisk_bdev_get_uuid(lun->bdev);
	uint8_t naa[16], t10[8 + 32], rtp[4] = {0};
	char serial[40];
	uint32_t off = 4;

	/* NAA 6 (IEEE registered extended) from the bdev UUID: stable per LUN. */
	memcpy(naa, uuid, 16);
	naa[0] = 0x60 | (naa[0] & 0x0f);
	off += designator(&d[off], 0x1, 0x03, naa, 16, false);
	lun_serial(lun, serial, sizeof(serial));
	brisk_strcpy_pad(t10, SCSI_VENDOR, 8, ' ');
	memcpy(&t10[8], serial, 32);
	off += designator(&d[off], 0x2, 0x01, t10, sizeof(t10), false);
	off += name_designator(&d[off], 0x20, lun->dev->name);     /* target device */
	if (task->target_port != NULL) {
		scsi_put16(&rtp[2], task->target_port->index);
		off += designator(&d[off], 0x1, 0x14, rtp, 4, true); /* relative target port */
		off += name_designator(&d[off], 0x10, task->target_port->name);
	}
	scsi_put16(&d[2], (uint16_t)(off - 4));
	return off;
}

static uint32_t vpd_block_limits(struct brisk_scsi_lun *lun, uint8_t *d)
{
	uint32_t max_xfer = scsi_max_xfer_blocks(lun), lbppb = scsi_lbppb(lun);
	bool unmap = brisk_bdev_io_type_supported(lun->bdev, BRISK_BDEV_IO_TYPE_UNMAP);

	scsi_put16(&d[2], 0x3c);
	/* WSNZ stays 0: WRITE SAME of zero blocks runs to the end of the medium. */
	d[5] = 0xff;                             /* COMPARE AND WRITE: up to 255 blocks */
	/* Transfers of whole physical blocks avoid the device's read-modify-write. */
	scsi_put16(&d[6], lbppb > 0xffff ? 0xffff : (uint16_t)lbppb);
	scsi_put32(&d[8], max_xfer);
	scsi_put32(&d[12], brisk_bdev_get_optimal_io_boundary(lun->bdev));
	scsi_put32(&d[16], max_xfer);           /* PRE-FETCH */
	if (unmap) {
		scsi_put32(&d[20], 0xffffffff);    /* max unmap LBA count */
		scsi_put32(&d[24], SCSI_MAX_UNMAP_DESC);
		scsi_put32(&d[28], lbppb); /* optimal unmap granularity */
	}
	scsi_put64(&d[36], 0xffffffff);         /* max WRITE SAME length: written in chunks */
	if (scsi_lun_atomic(lun)) {
		scsi_put32(&d[44], max_xfer); /* max atomic transfer; no alignment or granularity */
	}
	return 64;
}

static uint32_t vpd_block_chars(const struct brisk_scsi_lun *lun, uint8_t *d)
{
	scsi_put16(&d[2], 0x3c);
	scsi_put16(&d[4], 1);                    /* non-rotating medium */
	if (scsi_sanitize_erase_offered(lun)) {
		d[7] = 0x40 | 0x10; /* WABEREQ, WACEREQ 01b: reads after an erase succeed */
	}
	return 64;
}

static uint32_t vpd_provisioning(struct brisk_scsi_lun *lun, uint8_t *d)
{
	bool unmap = brisk_bdev_io_type_supported(lun->bdev, BRISK_BDEV_IO_TYPE_UNMAP);

	scsi_put16(&d[2], 4);
	if (unmap) {
		d[5] = 0x80 | 0x40 | 0x20 | (scsi_lun_lbprz(lun) ? 0x04 : 0); /* LBPU LBPWS LBPWS10 LBPRZ */
		d[6] = 0x02;                       /* thin provisioned */
	}
	return 8;
}

static uint32_t inquiry_vpd(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun, uint8_t *d)
{
	d[0] = 0x00;
	d[1] = task->cdb[2];
	switch (task->cdb[2]) {
	case BRISK_SPC_VPD_SUPPORTED_PAGES: return vpd_supported(d);
	case BRISK_SPC_VPD_UNIT_SERIAL: return vpd_serial(lun, d);
	case BRISK_SPC_VPD_DEVICE_ID: return vpd_device_id(task, lun, d);
	case BRISK_SPC_VPD_THIRD_PARTY_COPY:
		return scsi_xcopy_vpd(d);
	case BRISK_SBC_VPD_BLOCK_LIMITS: return vpd_block_limits(lun, d);
	case BRISK_SBC_VPD_BLOCK_DEV_CHARS:
		return vpd_block_chars(lun, d);
	case BRISK_SBC_VPD_LB_PROVISIONING: return vpd_provisioning(lun, d);
	default: return 0;
	}
}

static void inquiry(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	uint8_t d[1024] = {0};
	uint32_t len;

	if (task->cdb[1] & 0x02) {              /* CMDDT is obsolete */
		scsi_sense_field(task, false, 1, 1);
		return;
	}
	if (!(task->cdb[1] & 0x01)) {
		if (task->cdb[2] != 0) {
			scsi_sense_field(task, false, 2, -1);
			return;
		}
		reply(task, d, inquiry_standard(lun, d), alloc_len_of(task));
		return;
	}
	if (lun == NULL) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LUN_NOT_SUPPORTED);
		return;
	}
	len = inquiry_vpd(task, lun, d);
	if (len == 0) {
		scsi_sense_field(task, false, 2, -1);
		return;
	}
	reply(task, d, len, alloc_len_of(task));
}

/* ---- REPORT LUNS ---- */

static void report_luns(struct brisk_scsi_task *task, struct brisk_scsi_dev *dev)
{
	uint8_t d[8 + 8 * BRISK_SCSI_DEV_MAX_LUN] = {0};
	struct brisk_scsi_lun *lun;
	uint32_t n = 0;

	if (task->cdb[2] > 0x02 && task->cdb[2] != 0x10 && task->cdb[2] != 0x11) {
		scsi_sense_field(task, false, 2, -1);   /* SELECT REPORT */
		return;
	}
	if (scsi_be32(&task->cdb[6]) < 16) {
		scsi_sense_field(task, false, 6, -1);   /* SPC-4: at least 16 */
		return;
	}
	pthread_mutex_lock(&dev->lock);
	TAILQ_FOREACH(lun, &dev->luns, link) {
		if (!lun->removed && task->cdb[2] != 0x01 && task->cdb[2] != 0x10) {
			scsi_put64(&d[8 + 8 * n++], brisk_scsi_lun_id_encode((uint64_t)lun->id));
		}
	}
	pthread_mutex_unlock(&dev->lock);
	scsi_put32(&d[0], 8 * n);
	reply(task, d, 8 + 8 * n, alloc_len_of(task));
}

/* ---- REQUEST SENSE: no deferred errors are kept, so it reports "no
 * sense" (or the unit is stopped / the LUN is missing). ---- */

static void request_sense(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	struct brisk_scsi_task tmp;

	if (task->cdb[1] & 0x01) {               /* DESC: descriptor format not supported */
		scsi_sense_field(task, false, 1, 0);
		return;
	}
	memset(&tmp, 0, sizeof(tmp));
	if (lun != NULL) {
		pthread_mutex_lock(&lun->dev->lock); /* lun->sanitize ends under it */
	}
	if (lun == NULL) {
		scsi_sense(&tmp, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LUN_NOT_SUPPORTED);
	} else if (lun->stopped) {
		scsi_sense(&tmp, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_LUN_NOT_READY_STOPPED);
	} else if (lun->sanitize != NULL) {
		scsi_sanitize_sense(&tmp, lun); /* with the progress so far */
	} else {
		scsi_sense(&tmp, BRISK_SCSI_SENSE_NO_SENSE, BRISK_SCSI_ASC_NO_ADDITIONAL_SENSE);
	}
	if (lun != NULL) {
		pthread_mutex_unlock(&lun->dev->lock);
	}
	reply(task, tmp.sense_data, tmp.sense_data_len, alloc_len_of(task));
}

void scsi_spc_no_lun(struct brisk_scsi_dev *dev, struct brisk_scsi_task *task)
{
	switch (task->cdb[0]) {
	case BRISK_SPC_OP_INQUIRY:
		inquiry(task, NULL);
		break;
	case BRISK_SPC_OP_REPORT_LUNS:
		report_luns(task, dev);
		break;
	case BRISK_SPC_OP_REQUEST_SENSE:
		request_sense(task, NULL);
		break;
	default:
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LUN_NOT_SUPPORTED);
		break;
	}
}

/* ---- START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL ---- */

/* Any I_T nexus holding PREVENT on lun (dev->lock held). */
static bool removal_prevented(const struct brisk_scsi_lun *lun)
{
	uint64_t prevented = 0;
	int i;

	for (i = 0; i < SCSI_MAX_ITN; i++) {
		prevented |= lun->dev->itn[i].used ? lun->dev->itn[i].prevent & (1ull << lun->id) : 0;
	}
	return prevented != 0;
}

/* LOEJ: a removable LUN unloads (START 0) or loads (START 1) its medium,
 * neither while an initiator prevents removal; a fixed disk only refuses
 * the eject then. Without LOEJ, START starts or stops the unit. */
static void start_stop_unit(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	bool loej = task->cdb[4] & 0x02, start = task->cdb[4] & 0x01;

	if ((task->cdb[4] >> 4) != 0) {
		return;          /* power conditions: nothing to change on a bdev */
	}
	pthread_mutex_lock(&lun->dev->lock);
	if (loej && (lun->removable || !start) && removal_prevented(lun)) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_MEDIUM_REMOVAL_PREVENTED);
	} else if (loej && lun->removable) {
		lun->ejected = !start;
	} else if (!loej) {
		lun->stopped = !start;
	}
	pthread_mutex_unlock(&lun->dev->lock);
}

static void prevent_allow(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	struct scsi_itn *itn;

	if (task->cdb[4] & 0x02) {               /* PREVENT 10b/11b: changer, not ours */
		scsi_sense_field(task, false, 4, 1);
		return;
	}
	pthread_mutex_lock(&lun->dev->lock);
	itn = scsi_itn_get(lun->dev, task->initiator_port);
	if (itn != NULL && (task->cdb[4] & 0x01)) {
		itn->prevent |= 1ull << lun->id;
	} else if (itn != NULL) {
		itn->prevent &= ~(1ull << lun->id);
	}
	pthread_mutex_unlock(&lun->dev->lock);
}

/* ---- READ CAPACITY ---- */

static void read_capacity10(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	uint64_t last = brisk_bdev_get_num_blocks(lun->bdev) - 1;
	uint8_t d[8];

	if (!(task->cdb[8] & 0x01) && scsi_be32(&task->cdb[2]) != 0) {
		scsi_sense_field(task, false, 2, -1);   /* LBA without PMI */
		return;
	}
	scsi_put32(&d[0], last > 0xffffffffULL ? 0xffffffff : (uint32_t)last);
	scsi_put32(&d[4], brisk_bdev_get_block_size(lun->bdev));
	reply(task, d, 8, 8);
}

static void read_capacity16(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	uint8_t d[32] = {0};
	uint32_t exp;

	scsi_put64(&d[0], brisk_bdev_get_num_blocks(lun->bdev) - 1);
	scsi_put32(&d[8], brisk_bdev_get_block_size(lun->bdev));
	/* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (a 4-bit field); LBA 0
	 * starts a physical block, so LOWEST ALIGNED LBA stays 0. */
	exp = (uint32_t)__builtin_ctz(scsi_lbppb(lun));
	d[13] = (uint8_t)(exp > 15 ? 15 : exp);
	if (brisk_bdev_io_type_supported(lun->bdev, BRISK_BDEV_IO_TYPE_UNMAP)) {
		d[14] = 0x80 | (scsi_lun_lbprz(lun) ? 0x40 : 0);   /* LBPME, LBPRZ */
	}
	reply(task, d, sizeof(d), scsi_be32(&task->cdb[10]));
}

/* READ DEFECT DATA (10/12): a bdev has no defect list, so the reply is an
 * empty list in the format asked for, with PLISTV/GLISTV as requested. */
static void read_defect_data(struct brisk_scsi_task *task)
{
	bool twelve = task->cdb[0] == BRISK_SBC_OP_READ_DEFECT_DATA_12;
	uint8_t req = twelve ? task->cdb[1] : task->cdb[2], d[8] = {0};
	uint32_t alloc = twelve ? scsi_be32(&task->cdb[6]) : scsi_be16(&task->cdb[7]);

	d[1] = req & 0x1f;                      /* PLISTV, GLISTV, list format */
	reply(task, d, twelve ? 8 : 4, alloc);
}

static bool spc_service_action_in(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	switch (task->cdb[1] & 0x1f) {
	case BRISK_SBC_SAI_READ_CAPACITY_16:
		read_capacity16(task, lun);
		return true;
	default:
		return false;  /* GET LBA STATUS is in sbc.c */
	}
}

static bool spc_dispatch(struct brisk_scsi_task *task, struct brisk_scsi_lun *lun)
{
	switch (task->cdb[0]) {
	case BRISK_SPC_OP_INQUIRY: inquiry(task, lun); return true;
	case BRISK_SPC_OP_REPORT_LUNS: report_luns(task, lun->dev); return true;
	case BRISK_SPC_OP_REQUEST_SENSE: request_sense(task, lun); return true;
	case BRISK_SBC_OP_TEST_UNIT_READY:
		if (lun->stopped) {
			scsi_sense(task, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_LUN_NOT_READY_STOPPED);
		}
		return true;
	case BRISK_SBC_OP_START_STOP_UNIT: start_stop_unit(task, lun); return true;
	case BRISK_SBC_OP_PREVENT_ALLOW: prevent_allow(task, lun); return true;
	case BRISK_SBC_OP_READ_CAPACITY_10: read_capacity10(task, lun); return true;
	case BRISK_SBC_OP_READ_DEFECT_DATA_10:
	case BRISK_SBC_OP_READ_DEFECT_DATA_12: read_defect_data(task); return true;
	case BRISK_SBC_OP_SERVICE_ACTION_IN_16: return spc_service_action_in(task, lun);
	case BRISK_SPC_OP_MODE_SENSE_6:
	case BRISK_SPC_OP_MODE_SENSE_10: scsi_mode_sense(task); return true;
	case BRISK_SPC_OP_MODE_SELECT_6:
	case BRISK_SPC_OP_MODE_SELECT_10: scsi_mode_select(task); return true;
	case BRISK_SPC_OP_MAINTENANCE_IN:
		if ((task->cdb[1] & 0x1f) != BRISK_SPC_MI_REPORT_SUPPORTED_OPCODES) {
			return false;
		}
		scsi_spc_report_opcodes(task);
		return true;
	default:
		return false;
	}
}

bool scsi_spc_execute(struct brisk_scsi_task *task)
{
	if (!spc_dispatch(task, task->lun)) {
		return false;
	}
	scsi_task_complete_later(task);
	return true;
}
