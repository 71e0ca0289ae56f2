/*
 * lib/scsi third-party copy on RAM bdevs: EXTENDED COPY (LID1) copying
 * within a LUN (several chunks, several segments, overlapping ranges), the refusals of a bad
 * parameter list (lengths, counts, descriptor types, fields) with their
 * sense codes, COPY ABORTED for an unreachable target or a segment past the
 * end, and RECEIVE COPY RESULTS (operating parameters, held copy status).
 */
#include "scsi_ut_common.h"
#include "../../common/ut_main.h"

static struct ut_disk *g_d512, *g_d4k;
static struct brisk_scsi_dev *g_dev;

#define SENSE_COPY_ABORTED 0x0a

/* INVALID FIELD IN PARAMETER LIST with the field pointer at byte, bit
 * (-1: none). */
#define CHECK_PARAM_FIELD(u, byte, bit) \
	do { \
		const struct ut_task *up_ = (u); \
		CHECK_SENSE(up_, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_PARAM); \
		CU_ASSERT_EQUAL(up_->t.sense_data[15] & 0xc0, 0x80); \
		CU_ASSERT_EQUAL(up_->t.sense_data[16] << 8 | up_->t.sense_data[17], (byte)); \
		if ((bit) >= 0) { \
			CU_ASSERT_EQUAL(up_->t.sense_data[15] & 0x0f, 0x08 | (bit)); \
		} \
	} while (0)

/* The LUN's identification copy target descriptor, built from its device
 * identification VPD page the way an initiator does. */
static void tgt_desc(uint64_t lun, uint32_t bs, uint8_t *d)
{
	uint8_t inq[6] = { 0x12, 0x01, 0x83, 0x00, 0xff, 0x00 };
	struct ut_task *u = ut_cmd(g_dev, lun, inq, 6, NULL, 0, 255);

	memset(d, 0, 32);
	d[0] = 0xe4;
	memcpy(&d[4], &u->data[4], 4 + 16); /* the NAA designator comes first */
	d[29] = (uint8_t)(bs >> 16);
	d[30] = (uint8_t)(bs >> 8);
	d[31] = (uint8_t)bs;
}

static void seg_desc(uint8_t *s, uint16_t src, uint16_t dst, uint16_t n, uint64_t slba, uint64_t dlba)
{
	memset(s, 0, 28);
	s[0] = 0x02;
	put_be16(&s[2], 24);
	put_be16(&s[4], src);
	put_be16(&s[6], dst);
	put_be16(&s[10], n);
	put_be64(&s[12], slba);
	put_be64(&s[20], dlba);
}

/* Header for ntgt target and nseg segment descriptors; list id 'id' held. */
static void hdr(uint8_t *p, uint8_t id, uint32_t ntgt, uint32_t nseg)
{
	memset(p, 0, 16);
	p[0] = id;
	put_be16(&p[2], (uint16_t)(32 * ntgt));
	put_be32(&p[8], 28 * nseg);
}

static struct ut_task *xcopy(uint64_t lun, const uint8_t *p, uint32_t len)
{
	uint8_t cdb[16] = { 0x83 };

	put_be32(&cdb[10], len);
	return ut_cmd(g_dev, lun, cdb, 16, len ? p : NULL, len, 0);
}

static struct ut_task *rcr(uint64_t lun, uint8_t sa, uint8_t id)
{
	uint8_t cdb[16] = { 0x84, sa, id };

	put_be32(&cdb[10], 1024);
	return ut_cmd(g_dev, lun, cdb, 16, NULL, 0, 1024);
}

static void test_copy_within_lun(void)
{
	uint8_t p[16 + 32 + 2 * 28];
	struct ut_task *u;

	memset(g_d512->store, 0x3c, 8192 * 512);
	memset(g_d512->store, 0xa1, 3000 * 512); /* 1.5 MiB: two chunks */
	tgt_desc(0, 512, p + 16);
	seg_desc(p + 48, 0, 0, 3000, 0, 4000);
	seg_desc(p + 76, 0, 0, 10, 7000, 0);
	hdr(p, 7, 1, 2);
	CHECK_GOOD(xcopy(0, p, sizeof(p)));
	CU_ASSERT_EQUAL(g_d512->store[4000 * 512], 0xa1);
	CU_ASSERT_EQUAL(g_d512->store[7000 * 512 - 1], 0xa1);
	CU_ASSERT_EQUAL(g_d512->store[7000 * 512], 0x3c);
	CU_ASSERT_EQUAL(g_d512->store[3999 * 512], 0x3c);
	CU_ASSERT_EQUAL(g_d512->store[0], 0x3c); /* second segment, after the first */
	CU_ASSERT_EQUAL(g_d512->store[10 * 512], 0xa1);
	u = rcr(0, 0x00, 7);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[4], 0x01); /* completed without error */
	CU_ASSERT_EQUAL(u->data[6], 2); /* segments processed */
	CU_ASSERT_EQUAL(get_be32(&u->data[8]), 3010 * 512);
	CHECK_FIELD(rcr(0, 0x00, 8), 2, -1); /* no copy with list id 8 */
	CHECK_FIELD(rcr(1, 0x00, 7), 2, -1); /* held for LUN 0 only */
	CHECK_GOOD(xcopy(0, p, 0)); /* empty list: nothing to do */
}

/* Overlapping ranges, three chunks each way: the result is what memmove
 * gives. */
static void test_copy_overlapping(void)
{
	uint8_t p[16 + 32 + 28];
	uint32_t i;
	bool ok = true;

	for (i = 0; i < 8192; i++) {
		memset(g_d512->store + i * 512, (int)(i * 7 % 251), 512);
	}
	tgt_desc(0, 512, p + 16);
	seg_desc(p + 48, 0, 0, 5000, 0, 1000); /* destination above the source */
	hdr(p, 3, 1, 1);
	CHECK_GOOD(xcopy(0, p, sizeof(p)));
	for (i = 0; i < 5000; i++) {
		ok = ok && g_d512->store[(1000 + i) * 512 + 17] == (uint8_t)(i * 7 % 251);
	}
	CU_ASSERT(ok);
	seg_desc(p + 48, 0, 0, 5000, 1000, 0); /* and back down */
	CHECK_GOOD(xcopy(0, p, sizeof(p)));
	for (i = 0; i < 5000; i++) {
		ok = ok && g_d512->store[i * 512 + 511] == (uint8_t)(i * 7 % 251);
	}
	CU_ASSERT(ok);
}

static void test_copy_4k_and_status_not_held(void)
{
	uint8_t p[16 + 32 + 28];

	memset(g_d4k->store, 0, 512 * 4096);
	memset(g_d4k->store + 3 * 4096, 0x77, 4096);
	tgt_desc(1, 4096, p + 16);
	seg_desc(p + 48, 0, 0, 1, 3, 511);
	hdr(p, 9, 1, 1);
	p[1] = 0x18; /* LIST ID USAGE 11b: nothing held */
	CHECK_GOOD(xcopy(1, p, sizeof(p)));
	CU_ASSERT_EQUAL(g_d4k->store[511 * 4096 + 4095], 0x77);
	CHECK_FIELD(rcr(1, 0x00, 9), 2, -1);
}

static void test_operating_parameters(void)
{
	struct ut_task *u = rcr(0, 0x03, 0);

	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be32(&u->data[0]), 44);
	CU_ASSERT_EQUAL(u->data[9], 8); /* target descriptors */
	CU_ASSERT_EQUAL(u->data[11], 32); /* segment descriptors */
	CU_ASSERT_EQUAL(get_be32(&u->data[12]), 1024);
	CU_ASSERT_EQUAL(u->data[43], 2);
	CU_ASSERT_EQUAL(u->data[44], 0x02);
	CU_ASSERT_EQUAL(u->data[45], 0xe4);
	CHECK_FIELD(rcr(0, 0x01, 0), 1, 4); /* RECEIVE DATA: not supported */
}

static void test_list_refusals(void)
{
	uint8_t p[16 + 9 * 32 + 33 * 28];
	uint32_t i;

	tgt_desc(0, 512, p + 16);
	seg_desc(p + 48, 0, 0, 1, 0, 1);
	hdr(p, 1, 1, 1);
	CHECK_SENSE(xcopy(0, p, 16 + 32 - 1), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR); /* truncates the target list */
	CHECK_SENSE(xcopy(0, p, 16 + 32 + 27), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR); /* truncates the segment */
	CHECK_SENSE(xcopy(0, p, 10), BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
	for (i = 0; i < 9; i++) {
		tgt_desc(0, 512, p + 16 + 32 * i);
	}
	seg_desc(p + 16 + 9 * 32, 0, 0, 1, 0, 1);
	hdr(p, 1, 9, 1);
	CHECK_SENSE(xcopy(0, p, 16 + 9 * 32 + 28), BRISK_SCSI_SENSE_ILLEGAL_REQUEST, 0x2606);
	for (i = 0; i < 33; i++) {
		seg_desc(p + 48 + 28 * i, 0, 0, 1, 0, 1);
	}
	hdr(p, 1, 1, 33);
	CHECK_SENSE(xcopy(0, p, 16 + 32 + 33 * 28), BRISK_SCSI_SENSE_ILLEGAL_REQUEST, 0x2608);
	hdr(p, 1, 9, 33); /* both lists beyond 1024 bytes */
	CHECK_SENSE(xcopy(0, p, sizeof(p)), BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
	hdr(p, 1, 1, 1);
	put_be32(&p[12], 4); /* inline data */
	CHECK_PARAM_FIELD(xcopy(0, p, 16 + 32 + 28 + 4), 12, -1);
}

static void test_descriptor_refusals(void)
{
	uint8_t p[16 + 32 + 28];
	uint8_t cdb[16] = { 0x83, 0x01 }; /* LID4 */

	tgt_desc(0, 512, p + 16);
	seg_desc(p + 48, 0, 0, 1, 0, 1);
	hdr(p, 1, 1, 1);
	p[16] = 0xe0; /* Fibre Channel N_Port_Name */
	CHECK_SENSE(xcopy(0, p, sizeof(p)), BRISK_SCSI_SENSE_ILLEGAL_REQUEST, 0x2607);
	p[16] = 0xe4;
	p[48] = 0x03; /* stream-to-stream */
	CHECK_SENSE(xcopy(0, p, sizeof(p)), BRISK_SCSI_SENSE_ILLEGAL_REQUEST, 0x2609);
	p[48] = 0x02;
	p[17] = 0xc0; /* LU ID TYPE: no LU IDENTIFIER to qualify */
	CHECK_GOOD(xcopy(0, p, sizeof(p)));
	p[17] = 0x05; /* not a block device */
	CHECK_PARAM_FIELD(xcopy(0, p, sizeof(p)), 17, 4);
	p[17] = 0x20; /* NUL: a null device */
	CHECK_SENSE(xcopy(0, p, sizeof(p)), SENSE_COPY_ABORTED, 0x0d02);
	p[17] = 0;
	put_be16(&p[48 + 6], 1); /* destination index past the list */
	CHECK_SENSE(xcopy(0, p, sizeof(p)), SENSE_COPY_ABORTED, 0x0d02);
	put_be16(&p[48 + 6], 0);
	tgt_desc(1, 4096, p + 16); /* another LUN: not this copy manager */
	CHECK_SENSE(xcopy(0, p, sizeof(p)), SENSE_COPY_ABORTED, 0x0d02);
	tgt_desc(0, 512, p + 16);
	put_be64(&p[48 + 20], 8191); /* two blocks from the last LBA */
	put_be16(&p[48 + 10], 2);
	CHECK_SENSE(xcopy(0, p, sizeof(p)), SENSE_COPY_ABORTED, 0x0000);
	put_be32(&cdb[10], sizeof(p));
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 16, p, sizeof(p), 0), 1, 4);
}

static int ut_setup(void)
{
	if (scsi_ut_start() != 0) {
		return -1;
	}
	ut_ports_init();
	g_d512 = ut_disk_create("ut512", 512, 8192);
	g_d4k = ut_disk_create("ut4k", 4096, 512);
	g_dev = ut_dev_construct("iqn.2026-01.io.brisk:xcopy", (struct ut_disk *const[]){ g_d512, g_d4k }, 2, NULL);
	return g_dev != NULL ? 0 : -1;
}

static int ut_teardown(void) { return ut_dev_teardown(g_dev, (struct ut_disk *const[]){ g_d512, g_d4k }, 2); }

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_copy_within_lun),
	BRISK_UT_TEST(test_copy_overlapping),
	BRISK_UT_TEST(test_copy_4k_and_status_not_held),
	BRISK_UT_TEST(test_operating_parameters),
	BRISK_UT_TEST(test_list_refusals),
	BRISK_UT_TEST(test_descriptor_refusals),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "scsi_xcopy", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "scsi_xcopy_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 64,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
