/*
 * lib/scsi SANITIZE on RAM bdevs: OVERWRITE with a pattern over the whole
 * LUN (several chunks, inverted passes), BLOCK ERASE (all deallocated in
 * GET LBA STATUS until a write), IMMED with NOT READY, SANITIZE IN
 * PROGRESS and its progress meanwhile (TEST UNIT READY, REQUEST SENSE),
 * the failure mode and EXIT FAILURE MODE, and the refusals (CDB and
 * parameter fields, service action, write-protected LUN, erases on a bdev
 * that cannot unmap).
 */
#include "scsi_ut_common.h"
#include "../../common/ut_main.h"

static struct ut_disk *g_d512, *g_nounmap;
static struct brisk_scsi_dev *g_dev;

#define NBLOCKS 4096 /* 2 MiB: the 1 MiB sweep takes two chunks */

static struct ut_task *sanitize(uint8_t sa, bool immed, const uint8_t *prm, uint16_t plen, uint64_t lun)
{
	uint8_t cdb[10] = { BRISK_SBC_OP_SANITIZE,
			    (uint8_t)(sa | (immed ? 0x80 : 0)),
			    0,
			    0,
			    0,
			    0,
			    0,
			    (uint8_t)(plen >> 8),
			    (uint8_t)plen,
			    0 };

	return ut_cmd(g_dev, lun, cdb, 10, prm, plen, 0);
}

static bool lun_reads_as(uint64_t lba, uint8_t c)
{
	uint8_t rd[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, (uint8_t)(lba >> 8), (uint8_t)lba, 0, 0, 1, 0 };
	struct ut_task *u = ut_cmd(g_dev, 0, rd, 10, NULL, 0, 512);

	for (int i = 0; i < 512; i++) {
		if (u->t.status != BRISK_SCSI_STATUS_GOOD || u->data[i] != c) {
			return false;
		}
	}
	return true;
}

static void test_overwrite(void)
{
	uint8_t prm[4 + 4] = { 0x01, 0, 0, 4, 0xaa, 0xaa, 0xaa, 0xaa };

	ut_clear_ua(g_dev, 0, &g_iport);
	CHECK_GOOD(sanitize(BRISK_SBC_SANITIZE_OVERWRITE, false, prm, sizeof(prm), 0));
	CU_ASSERT_TRUE(lun_reads_as(0, 0xaa));
	CU_ASSERT_TRUE(lun_reads_as(NBLOCKS - 1, 0xaa));
	prm[0] = 0x80 | 0x02; /* two passes, inverted between them: ends as 0x55 */
	CHECK_GOOD(sanitize(BRISK_SBC_SANITIZE_OVERWRITE, false, prm, sizeof(prm), 0));
	CU_ASSERT_TRUE(lun_reads_as(NBLOCKS - 1, 0x55));
}

static void test_block_erase_and_lba_status(void)
{
	uint8_t gls[16] = { BRISK_SBC_OP_SERVICE_ACTION_IN_16,
			    BRISK_SBC_SAI_GET_LBA_STATUS,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0,
			    0,
			    24,
			    0,
			    0 };
	uint8_t wr[10] = { BRISK_SBC_OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, blk[512] = { 1 };
	struct ut_task *u;

	CHECK_GOOD(sanitize(BRISK_SBC_SANITIZE_BLOCK_ERASE, false, NULL, 0, 0));
	CU_ASSERT_TRUE(lun_reads_as(7, 0x00));
	u = ut_cmd(g_dev, 0, gls, 16, NULL, 0, 24);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[20] & 0x0f, 1); /* deallocated */
	CHECK_GOOD(ut_cmd(g_dev, 0, wr, 10, blk, 512, 0));
	u = ut_cmd(g_dev, 0, gls, 16, NULL, 0, 24);
	CU_ASSERT_EQUAL(u->data[20] & 0x0f, 0); /* a write: mapped again */
	CHECK_GOOD(sanitize(BRISK_SBC_SANITIZE_CRYPTO_ERASE, false, NULL, 0, 0));
	CU_ASSERT_TRUE(lun_reads_as(0, 0x00));
}

/* IMMED answers at once; while the sweep's I/O is held the LUN reports the
 * sanitize with its progress; INQUIRY still works. */
static void test_immed_in_progress(void)
{
	uint8_t prm[4 + 1] = { 0x01, 0, 0, 1, 0x5a }, tur[6] = { 0 };
	uint8_t rs[6] = { BRISK_SPC_OP_REQUEST_SENSE, 0, 0, 0, 18, 0 },
		inq[6] = { BRISK_SPC_OP_INQUIRY, 0, 0, 0, 36, 0 };
	struct ut_task *u;

	g_d512->hold = true;
	CHECK_GOOD(sanitize(BRISK_SBC_SANITIZE_OVERWRITE, true, prm, sizeof(prm), 0));
	u = ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_SANITIZE_IN_PROGRESS);
	CU_ASSERT_EQUAL(u->t.sense_data[15], 0x80); /* SKSV: progress follows */
	CU_ASSERT(u->t.sense_data[16] << 8 < 0x8000); /* first of two chunks in flight */
	u = ut_cmd(g_dev, 0, rs, 6, NULL, 0, 18);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[2] & 0x0f, BRISK_SCSI_SENSE_NOT_READY);
	CU_ASSERT_EQUAL(u->data[12] << 8 | u->data[13], BRISK_SCSI_ASC_SANITIZE_IN_PROGRESS);
	CHECK_GOOD(ut_cmd(g_dev, 0, inq, 6, NULL, 0, 36));
	ut_release();
	poll_threads(); /* the second chunk */
	g_d512->hold = false;
	ut_release();
	poll_threads();
	CHECK_GOOD(ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0));
	CU_ASSERT_TRUE(lun_reads_as(NBLOCKS - 1, 0x5a));
}

/* A failed sweep leaves the medium unusable (MEDIUM ERROR, SANITIZE
 * COMMAND FAILED) until EXIT FAILURE MODE. */
static void test_failure_mode(void)
{
	uint8_t tur[6] = { 0 }, rd[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

	g_d512->fail_next = true;
	CHECK_SENSE(sanitize(BRISK_SBC_SANITIZE_BLOCK_ERASE, false, NULL, 0, 0), BRISK_SCSI_SENSE_MEDIUM_ERROR,
		    BRISK_SCSI_ASC_SANITIZE_FAILED);
	CHECK_SENSE(ut_cmd(g_dev, 0, rd, 10, NULL, 0, 512), BRISK_SCSI_SENSE_MEDIUM_ERROR,
		    BRISK_SCSI_ASC_SANITIZE_FAILED);
	CHECK_FIELD(sanitize(BRISK_SBC_SANITIZE_EXIT_FAILURE, false, (const uint8_t *)"12345678", 8, 0), 7, -1);
	CHECK_GOOD(sanitize(BRISK_SBC_SANITIZE_EXIT_FAILURE, false, NULL, 0, 0));
	CHECK_GOOD(ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0));
	CHECK_GOOD(ut_cmd(g_dev, 0, rd, 10, NULL, 0, 512));
}

static void test_refusals(void)
{
	uint8_t prm[4 + 4] = { 0x01, 0, 0, 4, 1, 2, 3, 4 };
	uint8_t cdb[10] = { BRISK_SBC_OP_SANITIZE, 0x40 | BRISK_SBC_SANITIZE_OVERWRITE, 0, 0, 0, 0, 0, 0, 8, 0 };

	ut_clear_ua(g_dev, 1, &g_iport);

	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 10, prm, 8, 0), 1, 6); /* reserved bit */
	cdb[1] = BRISK_SBC_SANITIZE_OVERWRITE;
	cdb[4] = 1;
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 10, prm, 8, 0), 4, -1); /* reserved byte */
	CHECK_FIELD(sanitize(0x04, false, NULL, 0, 0), 1, 4); /* service action */
	CHECK_FIELD(sanitize(BRISK_SBC_SANITIZE_OVERWRITE, false, prm, 4, 0), 7, -1);
	CHECK_FIELD(sanitize(BRISK_SBC_SANITIZE_BLOCK_ERASE, false, prm, 8, 0), 7, -1);
	prm[0] = 0; /* OVERWRITE COUNT 0 */
	CHECK_SENSE(sanitize(BRISK_SBC_SANITIZE_OVERWRITE, false, prm, 8, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_INVALID_FIELD_IN_PARAM);
	prm[0] = 1;
	prm[3] = 5; /* pattern past the list */
	CHECK_SENSE(sanitize(BRISK_SBC_SANITIZE_OVERWRITE, false, prm, 8, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_INVALID_FIELD_IN_PARAM);
	CHECK_FIELD(sanitize(BRISK_SBC_SANITIZE_BLOCK_ERASE, false, NULL, 0, 1), 1, 4); /* cannot unmap */
	brisk_scsi_lun_set_write_protect(brisk_scsi_dev_get_lun(g_dev, 0), true);
	CHECK_SENSE(sanitize(BRISK_SBC_SANITIZE_BLOCK_ERASE, false, NULL, 0, 0), BRISK_SCSI_SENSE_DATA_PROTECT,
		    BRISK_SCSI_ASC_WRITE_PROTECTED);
	brisk_scsi_lun_set_write_protect(brisk_scsi_dev_get_lun(g_dev, 0), false);
}

static int ut_setup(void)
{
	if (scsi_ut_start() != 0) {
		return -1;
	}
	ut_ports_init();
	g_d512 = ut_disk_create("ut512", 512, NBLOCKS);
	g_nounmap = ut_disk_create("utnounmap", 512, 64);
	g_nounmap->no_unmap = true;
	g_dev = ut_dev_construct("iqn.2026-01.io.brisk:sanitize", (struct ut_disk *const[]){ g_d512, g_nounmap }, 2,
				 NULL);
	return g_dev != NULL ? 0 : -1;
}

static int ut_teardown(void) { return ut_dev_teardown(g_dev, (struct ut_disk *const[]){ g_d512, g_nounmap }, 2); }

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_overwrite),         BRISK_UT_TEST(test_block_erase_and_lba_status),
	BRISK_UT_TEST(test_immed_in_progress), BRISK_UT_TEST(test_failure_mode),
	BRISK_UT_TEST(test_refusals),          CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "scsi_sanitize", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "scsi_sanitize_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 64,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
