/*
 * Mode pages: MODE SENSE(6/10) and MODE SELECT(6/10) over the read-write
 * error recovery, caching, control and informational exceptions pages.
 * Changeable bits: WCE (caching) and SWP (control). Saved values are not
 * supported (SAVING PARAMETERS NOT SUPPORTED), as nothing is kept on disk.
 */
#include <string.h>

#include "scsi_internal.h"

#define MODE_PC_CURRENT 0
#define MODE_PC_CHANGEABLE 1
#define MODE_PC_DEFAULT 2
#define MODE_PC_SAVED 3

struct mode_page_desc {
	uint8_t code;
	uint8_t len;          /* whole page, header included */
};

static const struct mode_page_desc g_pages[] = {
	{ BRISK_SPC_MODE_PAGE_RW_ERROR_RECOVERY, 12 },
	{ BRISK_SBC_MODE_PAGE_CACHING, 20 },
	{ BRISK_SPC_MODE_PAGE_CONTROL, 12 },
	{ BRISK_SPC_MODE_PAGE_INFO_EXCEPTIONS, 12 },
};
#define NUM_PAGES (sizeof(g_pages) / sizeof(g_pages[0]))

/* Builds page g_pages[i] for page control pc into p. */
static uint8_t mode_page(struct brisk_scsi_lun *lun, size_t i, int pc, uint8_t *p)
{
	uint8_t len = g_pages[i].len;

	memset(p, 0, len);
	p[0] = g_pages[i].code;
	p[1] = len - 2;
	switch (g_pages[i].code) {
	case BRISK_SBC_MODE_PAGE_CACHING:
		if (pc == MODE_PC_CHANGEABLE) {
			p[2] = 0x04;
		} else if (pc == MODE_PC_CURRENT ? lun->wce : brisk_bdev_has_write_cache(lun->bdev)) {
			p[2] = 0x04;                  /* WCE */
		}
		break;
	case BRISK_SPC_MODE_PAGE_CONTROL:
		if (pc == MODE_PC_CHANGEABLE) {
			p[4] = 0x08;
		} else {
			p[3] = 0x10;                  /* unrestricted reordering, QERR 0 */
			p[4] = pc == MODE_PC_CURRENT && lun->swp ? 0x08 : 0;
			scsi_put16(&p[8], 0xffff);    /* busy timeout: unlimited */
		}
		break;
	case BRISK_SPC_MODE_PAGE_INFO_EXCEPTIONS:
		if (pc != MODE_PC_CHANGEABLE) {
			p[2] = 0x08;                  /* DEXCPT: no exceptions reported */
		}
		break;
	default:
		break;
	}
	return len;
}

static uint32_t mode_block_desc(struct brisk_scsi_lun *lun, bool llba, uint8_t *p)
{
	uint64_t blocks = brisk_bdev_get_num_blocks(lun->bdev);
	uint32_t bs = brisk_bdev_get_block_size(lun->bdev);

	if (llba) {
		memset(p, 0, 16);
		scsi_put64(&p[0], blocks);
		scsi_put32(&p[12], bs);
		return 16;
	}
	memset(p, 0, 8);
	scsi_put32(&p[0], blocks > 0xffffffffULL ? 0xffffffff : (uint32_t)blocks);
	scsi_put32(&p[4], bs & 0xffffff);
	return 8;
}

/* Appends the requested pages; false when the page code is unknown. */
static bool mode_pages(struct brisk_scsi_lun *lun, uint8_t code, int pc, uint8_t *p, uint32_t *len)
{
	bool found = false;
	size_t i;

	for (i = 0; i < NUM_PAGES; i++) {
		if (code == BRISK_SPC_MODE_PAGE_ALL || code == g_pages[i].code) {
			*len += mode_page(lun, i, pc, p + *len);
			found = true;
		}
	}
	return found;
}

void scsi_mode_sense(struct brisk_scsi_task *task)
{
	struct brisk_scsi_lun *lun = task->lun;
	bool ten = task->cdb[0] == BRISK_SPC_OP_MODE_SENSE_10;
	bool dbd = task->cdb[1] & 0x08, llba = ten && (task->cdb[1] & 0x10);
	int pc = task->cdb[2] >> 6;
	uint8_t code = task->cdb[2] & 0x3f, sub = task->cdb[3];
	uint32_t hdr = ten ? 8 : 4, len, alloc = ten ? scsi_be16(&task->cdb[7]) : task->cdb[4];
	uint8_t d[512] = {0};

	if (pc == MODE_PC_SAVED) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED);
		return;
	}
	if (sub != 0 && !(sub == 0xff && code == BRISK_SPC_MODE_PAGE_ALL)) {
		scsi_sense_field(task, false, 3, -1);
		return;
	}
	len = hdr;
	if (!dbd) {
		len += mode_block_desc(lun, llba, &d[len]);
	}
	if (!mode_pages(lun, code, pc, d, &len)) {
		scsi_sense_field(task, false, 2, 5);
		return;
	}
	if (ten) {
		scsi_put16(&d[0], (uint16_t)(len - 2));
		d[3] = (scsi_lun_wp(lun) ? 0x80 : 0) | 0x10; /* WP, DPOFUA */
		d[4] = llba ? 0x01 : 0;
		scsi_put16(&d[6], dbd ? 0 : (llba ? 16 : 8));
	} else {
		d[0] = (uint8_t)(len - 1);
		d[2] = (scsi_lun_wp(lun) ? 0x80 : 0) | 0x10;
		d[3] = dbd ? 0 : 8;
	}
	task->cdb_data_len = alloc;
	if (scsi_task_put_data(task, d, len < alloc ? len : alloc) != 0) {
		scsi_sense(task, BRISK_SCSI_SENSE_HARDWARE_ERROR, BRISK_SCSI_ASC_INTERNAL_TARGET_FAILURE);
	}
}

/* Checks one page of a MODE SELECT parameter list against the current page
 * and the changeable mask, and applies it. off: the page's offset in the
 * parameter list (for the field pointer). */
static bool mode_select_page(struct brisk_scsi_task *task, const uint8_t *p, uint32_t avail,
			     uint32_t off)
{
	struct brisk_scsi_lun *lun = task->lun;
	uint8_t cur[32], chg[32];
	uint32_t i, len;
	size_t k;

	for (k = 0; k < NUM_PAGES && g_pages[k].code != (p[0] & 0x3f); k++) {
	}
	if (k == NUM_PAGES || (p[0] & 0x40)) {
		scsi_sense_field(task, true, (uint16_t)off, 5);
		return false;
	}
	len = mode_page(lun, k, MODE_PC_CURRENT, cur);
	mode_page(lun, k, MODE_PC_CHANGEABLE, chg);
	if (avail < 2 || p[1] != len - 2 || avail < len) {
		scsi_sense_field(task, true, (uint16_t)(off + 1), -1);
		return false;
	}
	for (i = 2; i < len; i++) {
		if ((p[i] ^ cur[i]) & ~chg[i]) {
			scsi_sense_field(task, true, (uint16_t)(off + i), -1);
			return false;
		}
	}
	if (g_pages[k].code == BRISK_SBC_MODE_PAGE_CACHING) {
		lun->wce = p[2] & 0x04;
	} else if (g_pages[k].code == BRISK_SPC_MODE_PAGE_CONTROL) {
		lun->swp = p[4] & 0x08;
	}
	return true;
}

static void mode_select_params(struct brisk_scsi_task *task, const uint8_t *d, uint32_t len, bool ten)
{
	uint32_t hdr = ten ? 8 : 4, bdlen, off;
	struct brisk_scsi_dev *dev = task->lun->dev;

	if (len < hdr) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return;
	}
	bdlen = ten ? scsi_be16(&d[6]) : d[3];
	off = hdr + bdlen;
	if (off > len) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return;
	}
	pthread_mutex_lock(&dev->lock);
	while (off < len) {
		if (!mode_select_page(task, &d[off], len - off, off)) {
			pthread_mutex_unlock(&dev->lock);
			return;
		}
		off += d[off + 1] + 2u;
	}
	scsi_ua_set_all(dev, task->lun->id, SCSI_UA_MODE_CHANGED, scsi_itn_get(dev, task->initiator_port));
	pthread_mutex_unlock(&dev->lock);
}

void scsi_mode_select(struct brisk_scsi_task *task)
{
	bool ten = task->cdb[0] == BRISK_SPC_OP_MODE_SELECT_10;
	uint32_t plen = ten ? scsi_be16(&task->cdb[7]) : task->cdb[4];
	uint8_t d[512];

	task->cdb_data_len = plen;
	if (task->cdb[1] & 0x01) {
		scsi_sense_field(task, false, 1, 0);   /* SP: nothing can be saved */
		return;
	}
	if (!(task->cdb[1] & 0x10) && plen > 0) {
		scsi_sense_field(task, false, 1, 4);   /* PF: only the SPC page format */
		return;
	}
	if (plen == 0) {
		return;
	}
	if (plen > sizeof(d)) {
		scsi_sense_field(task, false, ten ? 7 : 4, -1);
		return;
	}
	if (scsi_task_get_data(task, d, plen) < plen) {
		scsi_sense(task, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
		return;
	}
	task->data_transferred = plen;
	mode_select_params(task, d, plen, ten);
}
