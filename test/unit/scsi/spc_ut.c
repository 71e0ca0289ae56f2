/*
 * lib/scsi primary commands on RAM bdevs: INQUIRY (standard data, every
 * VPD page, allocation lengths, refusals with field pointers, a missing
 * LUN), REPORT LUNS, READ CAPACITY(10/16), MODE SENSE/SELECT(6/10),
 * REQUEST SENSE, START STOP UNIT, PREVENT ALLOW MEDIUM REMOVAL, REPORT
 * SUPPORTED OPERATION CODES and an unknown opcode.
 */
#include "scsi_ut_common.h"
#include "../../common/ut_main.h"

static struct ut_disk *g_d512, *g_d4k, *g_d512p; /* g_d512p: 4 KiB physical blocks */
static struct brisk_scsi_dev *g_dev;

static void test_inquiry_standard(void)
{
	uint8_t cdb[6] = { BRISK_SPC_OP_INQUIRY, 0, 0, 0, 255, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 255);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 96);
	CU_ASSERT_EQUAL(u->data[0], 0x00);           /* connected, direct access */
	CU_ASSERT_EQUAL(u->data[2], 0x06);           /* SPC-4 */
	CU_ASSERT_EQUAL(u->data[3] & 0x0f, 2);
	CU_ASSERT_EQUAL(u->data[4], 91);
	CU_ASSERT(memcmp(&u->data[8], "BRISK   ", 8) == 0);
	CU_ASSERT(memcmp(&u->data[16], "ut disk", 7) == 0);
	CU_ASSERT_EQUAL(u->data[58] << 8 | u->data[59], 0x00a0);  /* SAM-5 */
	CU_ASSERT_EQUAL(u->data[60] << 8 | u->data[61], 0x0460);  /* SPC-4 */

	cdb[4] = 5;                                  /* allocation length cuts the data */
	u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 255);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 5);
	cdb[4] = 0;
	u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 255);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 0);
}

static void test_inquiry_refusals(void)
{
	uint8_t cdb[6] = { BRISK_SPC_OP_INQUIRY, 0x02, 0, 0, 255, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 255);

	CHECK_FIELD(u, 1, 1);                        /* CMDDT */
	cdb[1] = 0;
	cdb[2] = 0x80;                               /* page code without EVPD */
	u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 255);
	CHECK_FIELD(u, 2, -1);
	cdb[1] = 1;
	cdb[2] = 0xc7;                               /* unknown VPD page */
	u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 255);
	CHECK_FIELD(u, 2, -1);
}

static struct ut_task *vpd(uint64_t lun, uint8_t page)
{
	uint8_t cdb[6] = { BRISK_SPC_OP_INQUIRY, 1, page, 1, 0, 0 };

	return ut_cmd(g_dev, lun, cdb, 6, NULL, 0, 256);
}

static void test_vpd_pages(void)
{
	struct ut_task *u = vpd(0, 0x00);
	uint32_t off, found_naa = 0, found_name = 0;

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[3], 7);
	CU_ASSERT(memcmp(&u->data[4], "\x00\x80\x83\x8f\xb0\xb1\xb2", 7) == 0);
	u = vpd(0, 0x8f); /* third-party copy: supported commands first */
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[3], 52);
	CU_ASSERT_EQUAL(u->data[5], 0x01);
	CU_ASSERT_EQUAL(u->data[9], 0x83);
	CU_ASSERT_EQUAL(u->data[12], 0x84);
	u = vpd(0, 0x80);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[1], 0x80);
	CU_ASSERT_EQUAL(u->data[3], 32);             /* the bdev UUID in hex */
	u = vpd(0, 0x83);
	CHECK_GOOD(u);
	for (off = 4; off < 4u + (u->data[2] << 8 | u->data[3]); off += 4u + u->data[off + 3]) {
		if ((u->data[off + 1] & 0x0f) == 3) {
			found_naa += (u->data[off + 4] >> 4) == 6;
		}
		if ((u->data[off + 1] & 0x0f) == 8 && (u->data[off + 1] & 0x30) == 0x10) {
			found_name += strcmp((char *)&u->data[off + 4], g_tport.name) == 0;
		}
	}
	CU_ASSERT_EQUAL(found_naa, 1);
	CU_ASSERT_EQUAL(found_name, 1);
	u = vpd(0, 0xb0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[4] & 1, 0); /* WSNZ: zero blocks allowed */
	CU_ASSERT_EQUAL(get_be32(&u->data[8]), (64u << 20) / 512);
	CU_ASSERT_EQUAL(get_be32(&u->data[24]), 256); /* unmap descriptors */
	CU_ASSERT_EQUAL(get_be32(&u->data[44]), 0); /* no WRITE ATOMIC on a non-malloc bdev */
	u = vpd(0, 0xb1);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[4] << 8 | u->data[5], 1);
	u = vpd(0, 0xb2);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[5] & 0xe0, 0xe0);    /* LBPU LBPWS LBPWS10 */
	u = vpd(1, 0xb2);                            /* 4 KiB disk without unmap */
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[5], 0);
}

static void test_missing_lun(void)
{
	uint8_t inq[6] = { BRISK_SPC_OP_INQUIRY, 0, 0, 0, 96, 0 }, tur[6] = {0};
	uint8_t rl[12] = { BRISK_SPC_OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct ut_task *u = ut_cmd(g_dev, 5, inq, 6, NULL, 0, 96);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[0], 0x7f);           /* PQ 011b, PDT 1Fh */
	u = ut_cmd(g_dev, 5, tur, 6, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LUN_NOT_SUPPORTED);
	u = ut_cmd(g_dev, 5, rl, 12, NULL, 0, 256);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be32(u->data), 24);
}

static void test_report_luns(void)
{
	uint8_t cdb[12] = { BRISK_SPC_OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 256);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 32);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0);
	CU_ASSERT_EQUAL(get_be64(&u->data[16]), brisk_scsi_lun_id_encode(1));
	CU_ASSERT_EQUAL(get_be64(&u->data[24]), brisk_scsi_lun_id_encode(2));
	cdb[2] = 0x05;
	u = ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 256);
	CHECK_FIELD(u, 2, -1);
	cdb[2] = 0;
	cdb[8] = 0;
	cdb[9] = 15;                                 /* allocation length under 16 */
	u = ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 256);
	CHECK_FIELD(u, 6, -1);
}

static void test_read_capacity(void)
{
	uint8_t rc10[10] = { BRISK_SBC_OP_READ_CAPACITY_10 };
	uint8_t rc16[16] = { BRISK_SBC_OP_SERVICE_ACTION_IN_16, BRISK_SBC_SAI_READ_CAPACITY_16 };
	struct ut_task *u = ut_cmd(g_dev, 0, rc10, 10, NULL, 0, 8);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be32(u->data), 2047);
	CU_ASSERT_EQUAL(get_be32(&u->data[4]), 512);
	rc10[5] = 1;                                 /* LBA without PMI */
	u = ut_cmd(g_dev, 0, rc10, 10, NULL, 0, 8);
	CHECK_FIELD(u, 2, -1);
	put_be32(&rc16[10], 32);
	u = ut_cmd(g_dev, 1, rc16, 16, NULL, 0, 32);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be64(u->data), 511);
	CU_ASSERT_EQUAL(get_be32(&u->data[8]), 4096);
	CU_ASSERT_EQUAL(u->data[14] & 0x80, 0);      /* no unmap: LBPME clear */
	u = ut_cmd(g_dev, 0, rc16, 16, NULL, 0, 32);
	CU_ASSERT_EQUAL(u->data[14] & 0x80, 0x80);
}

/* A LUN whose bdev has 4 KiB physical blocks of 512 B logical ones: READ
 * CAPACITY(16) reports 2^3 logical blocks per physical block, aligned at LBA 0,
 * and the block limits VPD asks for transfers and unmaps in whole physical
 * blocks; a LUN without a physical block size reports 1 everywhere. */
static void test_physical_block_size(void)
{
	uint8_t rc16[16] = { BRISK_SBC_OP_SERVICE_ACTION_IN_16, BRISK_SBC_SAI_READ_CAPACITY_16 };
	struct ut_task *u;

	put_be32(&rc16[10], 32);
	u = ut_cmd(g_dev, 2, rc16, 16, NULL, 0, 32);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be32(&u->data[8]), 512);
	CU_ASSERT_EQUAL(u->data[13] & 0x0f, 3); /* LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT */
	CU_ASSERT_EQUAL(u->data[14] & 0x3f, 0); /* LOWEST ALIGNED LBA */
	CU_ASSERT_EQUAL(u->data[15], 0);
	CU_ASSERT_EQUAL(u->data[14] & 0x80, 0x80); /* LBPME unchanged */
	u = ut_cmd(g_dev, 0, rc16, 16, NULL, 0, 32);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[13] & 0x0f, 0);
	u = vpd(2, 0xb0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[6] << 8 | u->data[7], 8); /* OPTIMAL TRANSFER LENGTH GRANULARITY */
	CU_ASSERT_EQUAL(get_be32(&u->data[28]), 8); /* OPTIMAL UNMAP GRANULARITY */
	u = vpd(0, 0xb0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[6] << 8 | u->data[7], 1);
	CU_ASSERT_EQUAL(get_be32(&u->data[28]), 1);
}

/* Finds page code in a MODE SENSE(6) reply; NULL if absent. */
static const uint8_t *ms6_page(const struct ut_task *u, uint8_t code)
{
	uint32_t off = 4u + u->data[3], end = 1u + u->data[0];

	while (off < end) {
		if ((u->data[off] & 0x3f) == code) {
			return &u->data[off];
		}
		off += 2u + u->data[off + 1];
	}
	return NULL;
}

static void test_mode_sense(void)
{
	uint8_t ms6[6] = { BRISK_SPC_OP_MODE_SENSE_6, 0, 0x3f, 0, 255, 0 };
	uint8_t ms10[10] = { BRISK_SPC_OP_MODE_SENSE_10, 0x10, 0x08, 0, 0, 0, 0, 1, 0, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, ms6, 6, NULL, 0, 255);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[3], 8);              /* block descriptor */
	CU_ASSERT_EQUAL(get_be32(&u->data[4]), 2048);
	CU_ASSERT_PTR_NOT_NULL(ms6_page(u, 0x08));
	CU_ASSERT_PTR_NOT_NULL(ms6_page(u, 0x0a));
	CU_ASSERT_PTR_NOT_NULL(ms6_page(u, 0x1c));
	CU_ASSERT_EQUAL(u->t.data_transferred, 1u + u->data[0]);
	u = ut_cmd(g_dev, 0, ms10, 10, NULL, 0, 256);   /* LLBAA: long descriptor */
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[4] & 1, 1);
	CU_ASSERT_EQUAL(u->data[7], 16);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 2048);
	CU_ASSERT_EQUAL(u->data[24], 0x08);
	ms6[2] = 0xc8;                               /* saved values */
	u = ut_cmd(g_dev, 0, ms6, 6, NULL, 0, 255);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED);
	ms6[2] = 0x2e;                               /* unknown page */
	u = ut_cmd(g_dev, 0, ms6, 6, NULL, 0, 255);
	CHECK_FIELD(u, 2, 5);
	ms6[2] = 0x08;
	ms6[3] = 0x01;                               /* unknown subpage */
	u = ut_cmd(g_dev, 0, ms6, 6, NULL, 0, 255);
	CHECK_FIELD(u, 3, -1);
	ms6[2] = 0x48;                               /* changeable: WCE only */
	ms6[3] = 0;
	u = ut_cmd(g_dev, 0, ms6, 6, NULL, 0, 255);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(ms6_page(u, 0x08)[2], 0x04);
}

static void test_mode_select(void)
{
	uint8_t ms6[6] = { BRISK_SPC_OP_MODE_SENSE_6, 0x08, 0x0a, 0, 255, 0 };
	uint8_t sel[6] = { BRISK_SPC_OP_MODE_SELECT_6, 0x10, 0, 0, 16, 0 };
	uint8_t prm[16] = { 0, 0, 0, 0, 0x0a, 0x0a, 0, 0x10, 0x08, 0, 0, 0, 0xff, 0xff, 0, 0 };
	uint8_t wr[10] = { BRISK_SBC_OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, blk[512] = {0};
	struct ut_task *u;

	u = ut_cmd(g_dev, 0, sel, 6, prm, 16, 0);    /* control page: set SWP */
	CHECK_GOOD(u);
	u = ut_cmd(g_dev, 0, ms6, 6, NULL, 0, 255);
	CU_ASSERT_EQUAL(u->data[2] & 0x80, 0x80);    /* WP in the header */
	CU_ASSERT_EQUAL(u->data[4 + 4] & 0x08, 0x08);
	u = ut_cmd(g_dev, 0, wr, 10, blk, 512, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_DATA_PROTECT, BRISK_SCSI_ASC_WRITE_PROTECTED);
	ut_clear_ua(g_dev, 0, &g_iport2);            /* the other initiator saw MODE PARAMETERS CHANGED */
	prm[8] = 0;
	u = ut_cmd(g_dev, 0, sel, 6, prm, 16, 0);
	CHECK_GOOD(u);
	u = ut_cmd(g_dev, 0, wr, 10, blk, 512, 0);
	CHECK_GOOD(u);
	prm[7] = 0x00;                               /* a bit that cannot change */
	u = ut_cmd(g_dev, 0, sel, 6, prm, 16, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_PARAM);
	CU_ASSERT_EQUAL(u->t.sense_data[17], 7);
	sel[1] = 0x11;                               /* SP */
	u = ut_cmd(g_dev, 0, sel, 6, prm, 16, 0);
	CHECK_FIELD(u, 1, 0);
	sel[1] = 0x00;                               /* PF clear */
	u = ut_cmd(g_dev, 0, sel, 6, prm, 16, 0);
	CHECK_FIELD(u, 1, 4);
}

/* A LUN exported write-protected: WP in MODE SENSE, writes and UNMAP refused,
 * and clearing SWP by MODE SELECT does not lift it; reads still work. */
static void test_write_protect_option(void)
{
	uint8_t ms6[6] = { BRISK_SPC_OP_MODE_SENSE_6, 0x08, 0x0a, 0, 255, 0 };
	uint8_t wr[10] = { BRISK_SBC_OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, blk[512] = { 0 };
	uint8_t rd[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	uint8_t unmap[10] = { BRISK_SBC_OP_UNMAP, 0, 0, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t ul[24] = { 0, 22, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	struct brisk_scsi_lun *lun = brisk_scsi_dev_get_lun(g_dev, 0);
	struct ut_task *u;

	CU_ASSERT_FALSE(brisk_scsi_lun_is_write_protected(lun));
	brisk_scsi_lun_set_write_protect(lun, true);
	CU_ASSERT_TRUE(brisk_scsi_lun_is_write_protected(lun));
	u = ut_cmd(g_dev, 0, ms6, 6, NULL, 0, 255);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[2] & 0x80, 0x80); /* WP */
	CU_ASSERT_EQUAL(u->data[4 + 4] & 0x08, 0); /* SWP stays the initiator's */
	u = ut_cmd(g_dev, 0, wr, 10, blk, 512, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_DATA_PROTECT, BRISK_SCSI_ASC_WRITE_PROTECTED);
	u = ut_cmd(g_dev, 0, unmap, 10, ul, 24, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_DATA_PROTECT, BRISK_SCSI_ASC_WRITE_PROTECTED);
	u = ut_cmd(g_dev, 0, rd, 10, NULL, 0, 512);
	CHECK_GOOD(u);
	brisk_scsi_lun_set_write_protect(lun, false);
	brisk_scsi_lun_set_write_protect(NULL, true); /* a LUN gone meanwhile: nothing */
	u = ut_cmd(g_dev, 0, wr, 10, blk, 512, 0);
	CHECK_GOOD(u);
}

static void test_mode_select_ua_other_initiator(void)
{
	uint8_t sel[6] = { BRISK_SPC_OP_MODE_SELECT_6, 0x10, 0, 0, 24, 0 };
	uint8_t prm[24] = { 0, 0, 0, 0, 0x08, 0x12, 0x00 };    /* caching page, WCE off */
	uint8_t tur[6] = {0};
	static struct ut_task u;

	ut_clear_ua(g_dev, 0, &g_iport2);
	CHECK_GOOD(ut_cmd(g_dev, 0, sel, 6, prm, 24, 0));
	ut_task_prep(&u, tur, 6, &g_iport2, BRISK_SCSI_DIR_NONE, 0);
	ut_exec_on(g_dev, &u, 0);
	CHECK_SENSE(&u, BRISK_SCSI_SENSE_UNIT_ATTENTION, BRISK_SCSI_ASC_MODE_PARAMS_CHANGED);
	ut_task_prep(&u, tur, 6, &g_iport2, BRISK_SCSI_DIR_NONE, 0);
	ut_exec_on(g_dev, &u, 0);
	CHECK_GOOD(&u);                              /* reported once */
}

static void test_request_sense_and_stop(void)
{
	uint8_t rs[6] = { BRISK_SPC_OP_REQUEST_SENSE, 0, 0, 0, 252, 0 };
	uint8_t ssu[6] = { BRISK_SBC_OP_START_STOP_UNIT, 0, 0, 0, 0x00, 0 };
	uint8_t tur[6] = {0}, pa[6] = { BRISK_SBC_OP_PREVENT_ALLOW, 0, 0, 0, 1, 0 };
	uint8_t rd[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, rs, 6, NULL, 0, 252);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 18);
	CU_ASSERT_EQUAL(u->data[0], 0x70);
	CU_ASSERT_EQUAL(u->data[2], BRISK_SCSI_SENSE_NO_SENSE);
	rs[1] = 1;                                   /* descriptor format */
	CHECK_FIELD(ut_cmd(g_dev, 0, rs, 6, NULL, 0, 252), 1, 0);
	CHECK_GOOD(ut_cmd(g_dev, 0, ssu, 6, NULL, 0, 0));          /* stop */
	u = ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_LUN_NOT_READY_STOPPED);
	u = ut_cmd(g_dev, 0, rd, 10, NULL, 0, 512);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_LUN_NOT_READY_STOPPED);
	ssu[4] = 0x01;                               /* start */
	CHECK_GOOD(ut_cmd(g_dev, 0, ssu, 6, NULL, 0, 0));
	CHECK_GOOD(ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0));
	CHECK_GOOD(ut_cmd(g_dev, 0, pa, 6, NULL, 0, 0));           /* prevent */
	ssu[4] = 0x02;                               /* eject */
	u = ut_cmd(g_dev, 0, ssu, 6, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_MEDIUM_REMOVAL_PREVENTED);
	pa[4] = 0;
	CHECK_GOOD(ut_cmd(g_dev, 0, pa, 6, NULL, 0, 0));           /* allow */
	CHECK_GOOD(ut_cmd(g_dev, 0, ssu, 6, NULL, 0, 0));
	pa[4] = 2;                                   /* medium changer form */
	CHECK_FIELD(ut_cmd(g_dev, 0, pa, 6, NULL, 0, 0), 4, 1);
}

static void test_report_opcodes(void)
{
	uint8_t cdb[12] = { BRISK_SPC_OP_MAINTENANCE_IN, BRISK_SPC_MI_REPORT_SUPPORTED_OPCODES, 0, 0, 0, 0,
			    0, 0, 0x10, 0, 0, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 4096);
	uint32_t len = get_be32(u->data), off, n16 = 0;

	CHECK_GOOD(u);
	for (off = 4; off < 4 + len; off += 8) {
		n16 += u->data[off] == BRISK_SBC_OP_READ_16 && u->data[off + 7] == 16;
	}
	CU_ASSERT_EQUAL(n16, 1);
	cdb[2] = 0x81;                               /* one command, with timeouts */
	cdb[3] = BRISK_SBC_OP_READ_10;
	u = ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 4096);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[1], 0x83);
	CU_ASSERT_EQUAL(u->data[3], 10);
	CU_ASSERT_EQUAL(u->data[4], BRISK_SBC_OP_READ_10);
	CU_ASSERT_EQUAL(u->t.data_transferred, 4 + 10 + 12);
	cdb[2] = 0x01;
	cdb[3] = BRISK_SBC_OP_SERVICE_ACTION_IN_16;  /* has service actions */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 4096), 3, -1);
	cdb[2] = 0x02;
	cdb[5] = BRISK_SBC_SAI_READ_CAPACITY_16;
	u = ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 4096);
	CU_ASSERT_EQUAL(u->data[1], 0x03);
	cdb[2] = 0x01;
	cdb[3] = 0xe7;                               /* not supported */
	u = ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 4096);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[1], 0x01);
	cdb[3] = BRISK_SBC_OP_UNMAP;                 /* the 4 KiB LUN cannot unmap */
	u = ut_cmd(g_dev, 1, cdb, 12, NULL, 0, 4096);
	CU_ASSERT_EQUAL(u->data[1], 0x01);
	cdb[2] = 0x05;
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 12, NULL, 0, 4096), 2, 2);
}

static void test_read_defect_data(void)
{
	uint8_t rdd10[10] = { BRISK_SBC_OP_READ_DEFECT_DATA_10, 0, 0x18 | 0x05, 0, 0, 0, 0, 0, 32, 0 };
	uint8_t rdd12[12] = { BRISK_SBC_OP_READ_DEFECT_DATA_12, 0x08, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, rdd10, 10, NULL, 0, 32);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 4);
	CU_ASSERT_EQUAL(u->data[1], 0x1d);           /* PLISTV GLISTV, format 5 */
	CU_ASSERT_EQUAL(u->data[2] << 8 | u->data[3], 0);
	u = ut_cmd(g_dev, 0, rdd12, 12, NULL, 0, 32);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 8);
	CU_ASSERT_EQUAL(u->data[1], 0x08);
	CU_ASSERT_EQUAL(get_be32(&u->data[4]), 0);
}

static void test_unknown_opcode(void)
{
	uint8_t cdb[6] = { 0xe0 };
	struct ut_task *u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 0);

	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_OPCODE);
	cdb[0] = BRISK_SBC_OP_UNMAP;                 /* unmap on a LUN that cannot */
	u = ut_cmd(g_dev, 1, cdb, 6, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_OPCODE);
}

static int g_destructed;
static void destruct_done(void *arg, int rc) { (void)arg; g_destructed += rc == 0; }

static int ut_setup(void)
{
	if (scsi_ut_start() != 0) {
		return -1;
	}
	ut_ports_init();
	g_d512 = ut_disk_create("ut512", 512, 2048);
	g_d4k = ut_disk_create("ut4k", 4096, 512);
	g_d4k->no_unmap = true;
	g_d512p = ut_disk_create_phys("ut512p", 512, 4096, 2048);
	g_dev = ut_dev_construct("iqn.2026-01.io.brisk:spc", (struct ut_disk *const[]){ g_d512, g_d4k, g_d512p }, 3,
				 NULL);
	return g_dev != NULL ? 0 : -1;
}

static int ut_teardown(void)
{
	int rc = 0;

	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_free_io_channels(g_dev);
	brisk_scsi_dev_destruct(g_dev, destruct_done, NULL);
	if (g_destructed != 0) {
		fprintf(stderr, "destruct completed inside the call\n");
		rc = -1;
	}
	poll_threads();
	if (g_destructed != 1) {
		fprintf(stderr, "destruct did not complete\n");
		rc = -1;
	}
	ut_disk_delete(g_d512);
	ut_disk_delete(g_d4k);
	ut_disk_delete(g_d512p);
	return scsi_ut_stop() != 0 ? -1 : rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_inquiry_standard),
	BRISK_UT_TEST(test_inquiry_refusals),
	BRISK_UT_TEST(test_vpd_pages),
	BRISK_UT_TEST(test_missing_lun),
	BRISK_UT_TEST(test_report_luns),
	BRISK_UT_TEST(test_read_capacity),
	BRISK_UT_TEST(test_physical_block_size),
	BRISK_UT_TEST(test_mode_sense),
	BRISK_UT_TEST(test_mode_select),
	BRISK_UT_TEST(test_mode_select_ua_other_initiator),
	BRISK_UT_TEST(test_write_protect_option),
	BRISK_UT_TEST(test_request_sense_and_stop),
	BRISK_UT_TEST(test_report_opcodes),
	BRISK_UT_TEST(test_read_defect_data),
	BRISK_UT_TEST(test_unknown_opcode),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "scsi_spc", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "scsi_spc_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 64,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
