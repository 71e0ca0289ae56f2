/*
 * lib/scsi block commands on RAM bdevs of 512 B and 4 KiB blocks: READ and
 * WRITE 6/10/12/16 (data, caller and library buffers, many iovecs, short
 * and long expected lengths), range and field refusals, bdev failures,
 * VERIFY (BYTCHK 0/1/3, miscompare offset), WRITE AND VERIFY, COMPARE AND
 * WRITE, WRITE SAME (pattern across chunks, zeroes, UNMAP, NDOB, refusals),
 * UNMAP, GET LBA STATUS, SYNCHRONIZE CACHE and PRE-FETCH.
 */
#include "scsi_ut_common.h"
#include "../../common/ut_main.h"

static struct ut_disk *g_d512, *g_d4k;
static struct brisk_scsi_dev *g_dev;

static void cdb10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	put_be32(&cdb[2], lba);
	put_be16(&cdb[7], n);
}

static void cdb16(uint8_t *cdb, uint8_t op, uint64_t lba, uint32_t n)
{
	memset(cdb, 0, 16);
	cdb[0] = op;
	put_be64(&cdb[2], lba);
	put_be32(&cdb[10], n);
}

static void fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed + i * 13 + (i >> 9));
	}
}

static void test_rw_sizes(void)
{
	static uint8_t buf[8192];
	uint8_t cdb[16];
	struct ut_task *u;

	fill(buf, sizeof(buf), 1);
	cdb10(cdb, BRISK_SBC_OP_WRITE_10, 10, 4);
	u = ut_cmd(g_dev, 0, cdb, 10, buf, 2048, 0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 2048);
	CU_ASSERT(memcmp(g_d512->store + 10 * 512, buf, 2048) == 0);
	cdb10(cdb, BRISK_SBC_OP_READ_10, 10, 4);
	u = ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 2048);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 2048);
	CU_ASSERT(memcmp(u->data, buf, 2048) == 0);
	memset(cdb, 0, 6);                           /* READ(6) of the same blocks */
	cdb[0] = BRISK_SBC_OP_READ_6;
	cdb[3] = 10;
	cdb[4] = 4;
	u = ut_cmd(g_dev, 0, cdb, 6, NULL, 0, 2048);
	CU_ASSERT(memcmp(u->data, buf, 2048) == 0);
	memset(cdb, 0, 12);                          /* WRITE(12) on the 4 KiB LUN */
	cdb[0] = BRISK_SBC_OP_WRITE_12;
	put_be32(&cdb[2], 7);
	put_be32(&cdb[6], 2);
	CHECK_GOOD(ut_cmd(g_dev, 1, cdb, 12, buf, 8192, 0));
	CU_ASSERT(memcmp(g_d4k->store + 7 * 4096, buf, 8192) == 0);
	cdb16(cdb, BRISK_SBC_OP_READ_16, 7, 2);
	u = ut_cmd(g_dev, 1, cdb, 16, NULL, 0, 8192);
	CHECK_GOOD(u);
	CU_ASSERT(memcmp(u->data, buf, 8192) == 0);
}

static void test_read_library_buffer(void)
{
	static struct ut_task u;
	uint8_t cdb[16];

	fill(g_d512->store + 100 * 512, 1024, 9);
	cdb16(cdb, BRISK_SBC_OP_READ_16, 100, 2);
	ut_task_prep(&u, cdb, 16, &g_iport, BRISK_SCSI_DIR_FROM_DEV, 1024);
	ut_exec_on(g_dev, &u, 0);
	CHECK_GOOD(&u);
	CU_ASSERT_EQUAL(u.t.data_transferred, 1024);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u.t.iovs);
	CU_ASSERT(u.t.iovcnt >= 1);
	CU_ASSERT(memcmp(u.t.iovs[0].iov_base, g_d512->store + 100 * 512, 1024) == 0);
	brisk_scsi_task_put_buf(&u.t);
}

static void test_read_short_and_long_edtl(void)
{
	static struct ut_task u;
	uint8_t cdb[10];

	fill(g_d512->store, 2048, 3);
	cdb10(cdb, BRISK_SBC_OP_READ_10, 0, 2);
	ut_task_prep(&u, cdb, 10, &g_iport, BRISK_SCSI_DIR_FROM_DEV, 200);  /* EDTL < SPDTL */
	u.iov.iov_base = u.data;
	u.iov.iov_len = 200;
	u.t.iovs = &u.iov;
	u.t.iovcnt = 1;
	ut_exec_on(g_dev, &u, 0);
	CHECK_GOOD(&u);
	CU_ASSERT_EQUAL(u.t.data_transferred, 200);
	CU_ASSERT_EQUAL(u.t.cdb_data_len, 1024);
	CU_ASSERT(memcmp(u.data, g_d512->store, 200) == 0);
	ut_task_prep(&u, cdb, 10, &g_iport, BRISK_SCSI_DIR_FROM_DEV, 4096); /* EDTL > SPDTL */
	u.iov.iov_len = 4096;
	u.t.iovs = &u.iov;
	u.t.iovcnt = 1;
	ut_exec_on(g_dev, &u, 0);
	CHECK_GOOD(&u);
	CU_ASSERT_EQUAL(u.t.data_transferred, 1024);
}

static void test_write_short_edtl(void)
{
	static uint8_t buf[1024];
	uint8_t cdb[10];
	struct ut_task *u;

	memset(g_d512->store + 50 * 512, 'a', 1024);
	memset(buf, 'b', sizeof(buf));
	cdb10(cdb, BRISK_SBC_OP_WRITE_10, 50, 2);
	u = ut_cmd(g_dev, 0, cdb, 10, buf, 200, 0);      /* ends inside the first block */
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.cdb_data_len, 1024);
	CU_ASSERT_EQUAL(u->t.data_transferred, 200);
	CU_ASSERT_EQUAL(g_d512->store[50 * 512 + 199], 'b');
	CU_ASSERT_EQUAL(g_d512->store[50 * 512 + 200], 'a');   /* the rest keeps its data */
	CU_ASSERT_EQUAL(g_d512->store[51 * 512], 'a');
	memset(g_d512->store + 50 * 512, 'a', 1024);
	u = ut_cmd(g_dev, 0, cdb, 10, buf, 512, 0);      /* EDTL one whole block of two */
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 512);
	CU_ASSERT_EQUAL(g_d512->store[50 * 512 + 511], 'b');
	CU_ASSERT_EQUAL(g_d512->store[51 * 512], 'a');   /* the block that did not arrive */
	u = ut_cmd(g_dev, 0, cdb, 10, buf, 0, 0);        /* EDTL 0: nothing written, GOOD */
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 0);
	cdb10(cdb, BRISK_SBC_OP_WRITE_10, 50, 1);        /* EDTL > SPDTL: SPDTL written */
	u = ut_cmd(g_dev, 0, cdb, 10, buf, 1024, 0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 512);
}

static void test_write_many_iovecs(void)
{
	static struct ut_task u;
	static uint8_t buf[4096];
	struct iovec iov[16];
	uint8_t cdb[10];
	int i;

	fill(buf, sizeof(buf), 77);
	for (i = 0; i < 16; i++) {
		iov[i].iov_base = buf + i * 256;
		iov[i].iov_len = 256;
	}
	cdb10(cdb, BRISK_SBC_OP_WRITE_10, 200, 8);
	ut_task_prep(&u, cdb, 10, &g_iport, BRISK_SCSI_DIR_TO_DEV, 4096);
	u.t.iovs = iov;
	u.t.iovcnt = 16;                             /* more than the task's trim slots */
	ut_exec_on(g_dev, &u, 0);
	CHECK_GOOD(&u);
	CU_ASSERT(memcmp(g_d512->store + 200 * 512, buf, 4096) == 0);
	cdb10(cdb, BRISK_SBC_OP_READ_10, 200, 8);
	memset(buf, 0, sizeof(buf));
	ut_task_prep(&u, cdb, 10, &g_iport, BRISK_SCSI_DIR_FROM_DEV, 4096);
	u.t.iovs = iov;
	u.t.iovcnt = 16;
	ut_exec_on(g_dev, &u, 0);
	CHECK_GOOD(&u);
	CU_ASSERT(memcmp(g_d512->store + 200 * 512, buf, 4096) == 0);
}

static void test_rw_refusals(void)
{
	uint8_t cdb[16], buf[512] = {0};
	struct ut_task *u;

	cdb10(cdb, BRISK_SBC_OP_READ_10, 2047, 2);   /* crosses the end */
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 1024), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb16(cdb, BRISK_SBC_OP_READ_16, UINT64_MAX, 1); /* wraps around */
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 512), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(cdb, BRISK_SBC_OP_READ_10, 2049, 0);   /* zero blocks past the end */
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(cdb, BRISK_SBC_OP_READ_10, 0, 0);      /* zero blocks: nothing, GOOD */
	u = ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 0);
	cdb10(cdb, BRISK_SBC_OP_WRITE_10, 0, 1);
	cdb[1] = 0x20;                               /* WRPROTECT without protection */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 10, buf, 512, 0), 1, 7);
	cdb[1] = 0x18;                               /* DPO, FUA: accepted */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, buf, 512, 0));
	cdb16(cdb, BRISK_SBC_OP_READ_16, 0, 1024);   /* more blocks than the LUN has */
	u = ut_cmd(g_dev, 1, cdb, 16, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb16(cdb, BRISK_SBC_OP_READ_16, 0, 131073); /* beyond the 64 MiB transfer limit */
	g_d512->bdev.blockcnt = 262144;
	u = ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 0);
	g_d512->bdev.blockcnt = 2048;
	CHECK_FIELD(u, 10, -1);
}

static void test_bdev_failures(void)
{
	uint8_t cdb[10], buf[512] = {0};

	g_d512->fail_next = true;
	cdb10(cdb, BRISK_SBC_OP_READ_10, 0, 1);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 512), BRISK_SCSI_SENSE_MEDIUM_ERROR,
		    BRISK_SCSI_ASC_UNRECOVERED_READ_ERROR);
	g_d512->fail_next = true;
	cdb10(cdb, BRISK_SBC_OP_WRITE_10, 0, 1);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, buf, 512, 0), BRISK_SCSI_SENSE_MEDIUM_ERROR,
		    BRISK_SCSI_ASC_WRITE_ERROR);
}

static void test_verify(void)
{
	static uint8_t buf[2048];
	uint8_t cdb[16];
	struct ut_task *u;

	fill(g_d512->store + 300 * 512, 2048, 5);
	memcpy(buf, g_d512->store + 300 * 512, 2048);
	cdb10(cdb, BRISK_SBC_OP_VERIFY_10, 300, 4);
	cdb[1] = 0x02;                               /* BYTCHK 01b */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, buf, 2048, 0));
	buf[1000] ^= 0xff;
	u = ut_cmd(g_dev, 0, cdb, 10, buf, 2048, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_MISCOMPARE, BRISK_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	CU_ASSERT_EQUAL(u->t.sense_data[0], 0xf0);  /* VALID */
	CU_ASSERT_EQUAL(get_be32(&u->t.sense_data[3]), 1000);
	cdb[1] = 0;                                  /* BYTCHK 0: medium only */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, buf, 2048, 0));
	cdb[1] = 0x04;                               /* BYTCHK 10b: reserved */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 10, buf, 2048, 0), 1, 2);
	memset(g_d512->store + 300 * 512, 'q', 2048);
	memset(buf, 'q', 512);
	cdb16(cdb, BRISK_SBC_OP_VERIFY_16, 300, 4);
	cdb[1] = 0x06;                               /* BYTCHK 11b: one block against each */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 16, buf, 512, 0));
	g_d512->store[300 * 512 + 1600] = 'r';
	u = ut_cmd(g_dev, 0, cdb, 16, buf, 512, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_MISCOMPARE, BRISK_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	cdb16(cdb, BRISK_SBC_OP_VERIFY_16, 2047, 2);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(cdb, BRISK_SBC_OP_WRITE_VERIFY_10, 300, 1);
	cdb[1] = 0x02;
	memset(buf, 'w', 512);
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, buf, 512, 0));
	CU_ASSERT_EQUAL(g_d512->store[300 * 512 + 511], 'w');
}

static void test_compare_and_write(void)
{
	static uint8_t buf[4096];
	uint8_t cdb[16] = { BRISK_SBC_OP_COMPARE_AND_WRITE };
	struct ut_task *u;

	memset(g_d512->store + 400 * 512, 'A', 1024);
	memset(buf, 'A', 1024);
	memset(buf + 1024, 'B', 1024);
	put_be64(&cdb[2], 400);
	cdb[13] = 2;
	u = ut_cmd(g_dev, 0, cdb, 16, buf, 2048, 0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 2048);
	CU_ASSERT_EQUAL(g_d512->store[400 * 512], 'B');
	CU_ASSERT_EQUAL(g_d512->store[400 * 512 + 1023], 'B');
	buf[700] = 'x';                              /* medium is now B: miscompare at 0 */
	u = ut_cmd(g_dev, 0, cdb, 16, buf, 2048, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_MISCOMPARE, BRISK_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	CU_ASSERT_EQUAL(get_be32(&u->t.sense_data[3]), 0);
	memset(buf, 'B', 1024);
	buf[700] = 'x';
	memset(buf + 1024, 'C', 1024);
	u = ut_cmd(g_dev, 0, cdb, 16, buf, 2048, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_MISCOMPARE, BRISK_SCSI_ASC_MISCOMPARE_DURING_VERIFY);
	CU_ASSERT_EQUAL(get_be32(&u->t.sense_data[3]), 700);
	CU_ASSERT_EQUAL(g_d512->store[400 * 512], 'B');   /* not written */
	u = ut_cmd(g_dev, 0, cdb, 16, buf, 1024, 0);  /* only half the data-out */
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
	memset(buf, 'B', 1024); /* compares equal: only the length is wrong */
	memset(buf + 1024, 'C', 3072);
	u = ut_cmd(g_dev, 0, cdb, 16, buf, 4096, 0); /* twice the data-out: refused, not written */
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
	CU_ASSERT_EQUAL(g_d512->store[400 * 512 + 700], 'B');
	put_be64(&cdb[2], 2047);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, buf, 2048, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	put_be64(&cdb[2], 400);
	cdb[13] = 0;                                 /* 256 blocks wrapped to 0, data sent */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 16, buf, 2048, 0), 13, -1);
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 0));   /* 0 blocks, no data: nothing */
}

/* Two COMPARE AND WRITEs on one LUN: the second waits for the first, so
 * it compares against what the first wrote. */
static void test_compare_and_write_serialised(void)
{
	static struct ut_task a, b;
	static uint8_t da[1024], db[1024];
	uint8_t cdb[16] = { BRISK_SBC_OP_COMPARE_AND_WRITE };
	int before;

	memset(g_d512->store + 600 * 512, 'A', 512);
	memset(da, 'A', 512);
	memset(da + 512, 'B', 512);
	memset(db, 'B', 512);
	memset(db + 512, 'C', 512);
	put_be64(&cdb[2], 600);
	cdb[13] = 1;
	ut_task_prep(&a, cdb, 16, &g_iport, BRISK_SCSI_DIR_TO_DEV, 1024);
	ut_task_prep(&b, cdb, 16, &g_iport2, BRISK_SCSI_DIR_TO_DEV, 1024);
	a.iov.iov_base = da;
	b.iov.iov_base = db;
	a.iov.iov_len = b.iov.iov_len = 1024;
	a.t.iovs = &a.iov;
	b.t.iovs = &b.iov;
	a.t.iovcnt = b.t.iovcnt = 1;
	g_d512->hold = true;
	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_queue_task(g_dev, &a.t);
	poll_threads();
	before = g_d512->nsubmits;
	brisk_set_thread(g_th[1]);
	brisk_scsi_dev_queue_task(g_dev, &b.t);
	poll_threads();
	CU_ASSERT_EQUAL(g_d512->nsubmits, before);   /* b waits its turn */
	CU_ASSERT_EQUAL(a.calls + b.calls, 0);
	g_d512->hold = false;
	ut_release();
	poll_threads();
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_EQUAL(b.calls, 1);
	CU_ASSERT(b.thread == g_th[1]);
	CHECK_GOOD(&a);
	CHECK_GOOD(&b);
	CU_ASSERT_EQUAL(g_d512->store[600 * 512 + 100], 'C');
}

static void test_orwrite(void)
{
	static uint8_t buf[1024];
	uint8_t cdb[16];
	struct ut_task *u;

	memset(g_d512->store + 700 * 512, 0xa5, 1024);
	memset(buf, 0x5a, 512);
	memset(buf + 512, 0x01, 512);
	cdb16(cdb, BRISK_SBC_OP_ORWRITE_16, 700, 2);
	u = ut_cmd(g_dev, 0, cdb, 16, buf, 1024, 0);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->t.data_transferred, 1024);
	CU_ASSERT_EQUAL(g_d512->store[700 * 512 + 7], 0xff);
	CU_ASSERT_EQUAL(g_d512->store[701 * 512 + 7], 0xa5);
	cdb16(cdb, BRISK_SBC_OP_ORWRITE_16, 2047, 2);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, buf, 1024, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb16(cdb, BRISK_SBC_OP_ORWRITE_16, 700, 1);
	cdb[1] = 0x20;                               /* ORPROTECT */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 16, buf, 512, 0), 1, 7);
	cdb[1] = 0;
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, buf, 100, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
}

static void test_write_same(void)
{
	uint8_t cdb[16], blk[4096];
	uint32_t i;
	bool ok = true;

	fill(blk, 512, 44);
	cdb10(cdb, BRISK_SBC_OP_WRITE_SAME_10, 500, 150);  /* more than one chunk */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0));
	for (i = 0; i < 150; i++) {
		ok = ok && memcmp(g_d512->store + (500 + i) * 512, blk, 512) == 0;
	}
	CU_ASSERT(ok);
	CU_ASSERT_NOT_EQUAL(memcmp(g_d512->store + 650 * 512, blk, 512), 0);
	memset(blk, 0, 512);
	cdb[1] = 0x08;                               /* UNMAP with zeroes */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0));
	CU_ASSERT_EQUAL(g_d512->store[500 * 512 + 3], 0);
	fill(g_d512->store + 500 * 512, 512, 9);
	fill(blk, 512, 46);
	cdb[1] = 0x08; /* UNMAP with data: unmapped all the same */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0));
	CU_ASSERT_EQUAL(g_d512->store[500 * 512 + 3], 0);
	CU_ASSERT_EQUAL(g_d512->store[649 * 512 + 511], 0);
	cdb[1] = 0x10;                               /* ANCHOR */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0), 1, 4);
	cdb[1] = 0x02;                               /* LBDATA (obsolete) */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0), 1, 1);
	fill(blk, 512, 45);
	cdb10(cdb, BRISK_SBC_OP_WRITE_SAME_10, 2040, 0); /* WSNZ 0: to the end of the medium */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0));
	CU_ASSERT_EQUAL(memcmp(g_d512->store + 2047 * 512, blk, 512), 0);
	CU_ASSERT_EQUAL(memcmp(g_d512->store + 2040 * 512, blk, 512), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(g_d512->store + 2039 * 512, blk, 512), 0);
	cdb10(cdb, BRISK_SBC_OP_WRITE_SAME_10, 2048, 0); /* zero blocks from just past the end */
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(cdb, BRISK_SBC_OP_WRITE_SAME_10, 2049, 0);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, blk, 512, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	memset(g_d4k->store + 3 * 4096, 0x5a, 8192);
	cdb16(cdb, BRISK_SBC_OP_WRITE_SAME_16, 3, 2);
	cdb[1] = 0x01;                               /* NDOB: zeroes, no data-out */
	CHECK_GOOD(ut_cmd(g_dev, 1, cdb, 16, NULL, 0, 0));
	CU_ASSERT_EQUAL(g_d4k->store[3 * 4096 + 8191], 0);
	cdb[1] = 0;                                  /* no data-out although needed */
	CHECK_SENSE(ut_cmd(g_dev, 1, cdb, 16, NULL, 0, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
	/* Data-out of two blocks or half a block for the one WRITE SAME repeats:
	 * refused, the medium untouched. */
	memset(g_d512->store + 700 * 512, 0x11, 512);
	fill(blk, 1024, 47);
	cdb10(cdb, BRISK_SBC_OP_WRITE_SAME_10, 700, 1);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, blk, 1024, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, blk, 256, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_INVALID_FIELD_IN_IU);
	CU_ASSERT_EQUAL(g_d512->store[700 * 512 + 7], 0x11);
}

/* WRITE ATOMIC(16) is offered on malloc LUNs only (scsi_lun_atomic): the
 * test bdevs' module is not one, so it is an unsupported opcode here
 * (iscsi_conformance.sh runs libiscsi's WriteAtomic16 tests on malloc). */
static void test_write_atomic_not_offered(void)
{
	uint8_t cdb[16] = { BRISK_SBC_OP_WRITE_ATOMIC_16 }, blk[512] = { 0 };

	put_be64(&cdb[2], 10);
	put_be16(&cdb[12], 1);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, blk, 512, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_INVALID_OPCODE);
}

static uint8_t *unmap_params(uint8_t *p, int n, const uint64_t *lba, const uint32_t *cnt)
{
	int i;

	memset(p, 0, 8 + 16 * n);
	put_be16(&p[0], (uint16_t)(6 + 16 * n));
	put_be16(&p[2], (uint16_t)(16 * n));
	for (i = 0; i < n; i++) {
		put_be64(&p[8 + 16 * i], lba[i]);
		put_be32(&p[16 + 16 * i], cnt[i]);
	}
	return p;
}

static void test_unmap(void)
{
	uint8_t cdb[10], p[64];
	uint64_t lba[2] = { 10, 20 };
	uint32_t cnt[2] = { 2, 0 };

	memset(g_d512->store, 0x11, 64 * 512);
	cdb10(cdb, BRISK_SBC_OP_UNMAP, 0, 40);
	cdb[2] = cdb[3] = cdb[4] = cdb[5] = 0;
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, unmap_params(p, 2, lba, cnt), 40, 0));
	CU_ASSERT_EQUAL(g_d512->store[10 * 512], 0);
	CU_ASSERT_EQUAL(g_d512->store[11 * 512 + 511], 0);
	CU_ASSERT_EQUAL(g_d512->store[12 * 512], 0x11);
	CU_ASSERT_EQUAL(g_d512->store[20 * 512], 0x11);
	lba[1] = 2047;
	cnt[1] = 2;
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, unmap_params(p, 2, lba, cnt), 40, 0),
		    BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	CU_ASSERT_EQUAL(g_d512->store[10 * 512 + 0], 0);
	cdb10(cdb, BRISK_SBC_OP_UNMAP, 0, 4);        /* list shorter than its header */
	cdb[2] = cdb[3] = cdb[4] = cdb[5] = 0;
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 10, p, 4, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
	cdb10(cdb, BRISK_SBC_OP_UNMAP, 0, 0);        /* empty list: GOOD */
	cdb[2] = cdb[3] = cdb[4] = cdb[5] = 0;
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 0));
	cdb[1] = 1;                                  /* ANCHOR */
	CHECK_FIELD(ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 0), 1, 0);
}

static void test_get_lba_status_sync_prefetch(void)
{
	uint8_t cdb[16];
	struct ut_task *u;

	cdb16(cdb, BRISK_SBC_OP_SERVICE_ACTION_IN_16, 100, 24);
	cdb[1] = BRISK_SBC_SAI_GET_LBA_STATUS;
	u = ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 24);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be32(u->data), 20);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 100);
	CU_ASSERT_EQUAL(get_be32(&u->data[16]), 2048 - 100);
	CU_ASSERT_EQUAL(u->data[20] & 0x0f, 0);      /* mapped */
	put_be64(&cdb[2], 2048);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 24), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(cdb, BRISK_SBC_OP_SYNC_CACHE_10, 0, 0);  /* whole LUN */
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 0));
	cdb16(cdb, BRISK_SBC_OP_SYNC_CACHE_16, 2040, 9);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
	cdb10(cdb, BRISK_SBC_OP_PRE_FETCH_10, 10, 10);
	CHECK_GOOD(ut_cmd(g_dev, 0, cdb, 10, NULL, 0, 0));
	cdb16(cdb, BRISK_SBC_OP_PRE_FETCH_16, 2048, 1);
	CHECK_SENSE(ut_cmd(g_dev, 0, cdb, 16, NULL, 0, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_LBA_OUT_OF_RANGE);
}

static int ut_setup(void)
{
	if (scsi_ut_start() != 0) {
		return -1;
	}
	ut_ports_init();
	g_d512 = ut_disk_create("ut512", 512, 2048);
	g_d4k = ut_disk_create("ut4k", 4096, 512);
	g_dev = ut_dev_construct("iqn.2026-01.io.brisk:sbc", (struct ut_disk *const[]){ g_d512, g_d4k }, 2, NULL);
	return g_dev != NULL ? 0 : -1;
}

static int ut_teardown(void) { return ut_dev_teardown(g_dev, (struct ut_disk *const[]){ g_d512, g_d4k }, 2); }

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_rw_sizes),
	BRISK_UT_TEST(test_read_library_buffer),
	BRISK_UT_TEST(test_read_short_and_long_edtl),
	BRISK_UT_TEST(test_write_short_edtl),
	BRISK_UT_TEST(test_write_many_iovecs),
	BRISK_UT_TEST(test_rw_refusals),
	BRISK_UT_TEST(test_bdev_failures),
	BRISK_UT_TEST(test_verify),
	BRISK_UT_TEST(test_compare_and_write),
	BRISK_UT_TEST(test_compare_and_write_serialised),
	BRISK_UT_TEST(test_orwrite),
	BRISK_UT_TEST(test_write_same),
	BRISK_UT_TEST(test_write_atomic_not_offered),
	BRISK_UT_TEST(test_unmap),
	BRISK_UT_TEST(test_get_lba_status_sync_prefetch),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "scsi_sbc", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "scsi_sbc_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 64,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
