/*
 * lib/scsi reservations with two initiators: PERSISTENT RESERVE OUT
 * register / reserve / release / clear / preempt / register-and-ignore /
 * register-and-move, the access rules of all six types, holder loss for
 * the registrants-only and all-registrants types, PERSISTENT RESERVE IN
 * (keys, reservation, capabilities, full status), bad parameter lists,
 * RESERVE/RELEASE(6/10), and APTPL state kept in a file across a device
 * being destroyed and built again.
 */
#include <stdio.h>
#include <unistd.h>

#include "scsi_ut_common.h"

#include <brisk/uuid.h>
#include "../../common/ut_main.h"

static struct ut_disk *g_disk;
static struct brisk_scsi_dev *g_dev;
static char g_dir[64];

static struct ut_task *run_as(struct brisk_scsi_port *ip, const uint8_t *cdb, size_t len,
			      const void *out, uint32_t out_len, uint32_t in_len)
{
	static struct ut_task u;

	ut_task_prep(&u, cdb, len, ip, out ? BRISK_SCSI_DIR_TO_DEV : BRISK_SCSI_DIR_FROM_DEV,
		     out ? out_len : in_len);
	if (out != NULL) {
		memcpy(u.data, out, out_len);
	}
	u.iov.iov_base = u.data;
	u.iov.iov_len = out ? out_len : in_len;
	u.t.iovs = u.iov.iov_len ? &u.iov : NULL;
	u.t.iovcnt = u.iov.iov_len ? 1 : 0;
	ut_exec_on(g_dev, &u, 0);
	return &u;
}

static struct ut_task *prout(struct brisk_scsi_port *ip, uint8_t sa, uint8_t type, uint64_t key,
			     uint64_t sakey, uint8_t flags)
{
	uint8_t cdb[10] = { BRISK_SPC_OP_PERSISTENT_RESERVE_OUT, sa, type, 0, 0, 0, 0, 0, 24, 0 };
	uint8_t prm[24] = {0};

	put_be64(prm, key);
	put_be64(&prm[8], sakey);
	prm[20] = flags;
	return run_as(ip, cdb, 10, prm, 24, 0);
}

static struct ut_task *prin(struct brisk_scsi_port *ip, uint8_t sa)
{
	uint8_t cdb[10] = { BRISK_SPC_OP_PERSISTENT_RESERVE_IN, sa, 0, 0, 0, 0, 0, 0x10, 0, 0 };

	return run_as(ip, cdb, 10, NULL, 0, 4096);
}

static struct ut_task *rd(struct brisk_scsi_port *ip)
{
	uint8_t cdb[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

	return run_as(ip, cdb, 10, NULL, 0, 512);
}

static struct ut_task *wr(struct brisk_scsi_port *ip)
{
	uint8_t cdb[10] = { BRISK_SBC_OP_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 }, blk[512] = {0};

	return run_as(ip, cdb, 10, blk, 512, 0);
}

#define CONFLICT(u) CU_ASSERT_EQUAL((u)->t.status, BRISK_SCSI_STATUS_RESERVATION_CONFLICT)

/* Both initiators unregistered, no reservation, no pending UAs. */
static void pr_reset(void)
{
	struct ut_task *u = prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS);
	uint32_t n = get_be32(&u->data[4]) / 8;

	if (n > 0) {
		uint64_t key = 0xabc;

		prout(&g_iport, BRISK_SPC_PROUT_REGISTER_AND_IGNORE, 0, 0, key, 0);
		prout(&g_iport, BRISK_SPC_PROUT_CLEAR, 0, key, 0, 0);
	}
	ut_clear_ua(g_dev, 0, &g_iport);
	ut_clear_ua(g_dev, 0, &g_iport2);
}

static void test_register_and_keys(void)
{
	struct ut_task *u;
	uint32_t gen;

	pr_reset();
	gen = get_be32(prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS)->data);
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0x1111, 0));
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0x2222, 0));
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be32(u->data), gen + 2);
	CU_ASSERT_EQUAL(get_be32(&u->data[4]), 16);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0x1111);
	CU_ASSERT_EQUAL(get_be64(&u->data[16]), 0x2222);
	CONFLICT(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0x9999, 0x3333, 0));  /* wrong key */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0x1111, 0x3333, 0)); /* change */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER_AND_IGNORE, 0, 0, 0x4444, 0));
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0x4444);
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0x4444, 0, 0));      /* unregister */
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS);
	CU_ASSERT_EQUAL(get_be32(&u->data[4]), 8);
	CONFLICT(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0x4444, 0x5, 0));      /* not registered */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0, 0));           /* no-op */
}

/* Access of a non-registered and a registered other initiator under type. */
static void check_access(uint8_t type, bool unreg_read, bool unreg_write, bool reg_write)
{
	struct ut_task *u;

	pr_reset();
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, type, 0xa, 0, 0));
	u = prin(&g_iport2, BRISK_SPC_PRIN_READ_RESERVATION);
	CU_ASSERT_EQUAL(get_be32(&u->data[4]), 16);
	CU_ASSERT_EQUAL(u->data[21], type);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), type >= 7 ? 0 : 0xa);
	CHECK_GOOD(rd(&g_iport));
	CHECK_GOOD(wr(&g_iport));
	u = rd(&g_iport2);
	CU_ASSERT_EQUAL(u->t.status, unreg_read ? BRISK_SCSI_STATUS_GOOD : BRISK_SCSI_STATUS_RESERVATION_CONFLICT);
	u = wr(&g_iport2);
	CU_ASSERT_EQUAL(u->t.status, unreg_write ? BRISK_SCSI_STATUS_GOOD : BRISK_SCSI_STATUS_RESERVATION_CONFLICT);
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xb, 0));
	u = wr(&g_iport2);
	CU_ASSERT_EQUAL(u->t.status, reg_write ? BRISK_SCSI_STATUS_GOOD : BRISK_SCSI_STATUS_RESERVATION_CONFLICT);
	CHECK_GOOD(prin(&g_iport2, BRISK_SPC_PRIN_READ_KEYS));   /* always allowed */
	CONFLICT(prout(&g_iport2, BRISK_SPC_PROUT_RESERVE, type == 1 ? 3 : 1, 0xb, 0, 0));
}

static void test_access_by_type(void)
{
	check_access(BRISK_SPC_PR_WRITE_EXCLUSIVE, true, false, false);
	check_access(BRISK_SPC_PR_EXCLUSIVE_ACCESS, false, false, false);
	check_access(BRISK_SPC_PR_WRITE_EXCLUSIVE_REGS_ONLY, true, false, true);
	check_access(BRISK_SPC_PR_EXCLUSIVE_ACCESS_REGS_ONLY, false, false, true);
	check_access(BRISK_SPC_PR_WRITE_EXCLUSIVE_ALL_REGS, true, false, true);
	check_access(BRISK_SPC_PR_EXCLUSIVE_ACCESS_ALL_REGS, false, false, true);
}

static void test_release_and_holder_loss(void)
{
	struct ut_task *u;

	pr_reset();
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xb, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 1, 0xa, 0, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 1, 0xa, 0, 0));      /* again: GOOD */
	u = prout(&g_iport, BRISK_SPC_PROUT_RELEASE, 3, 0xa, 0, 0);              /* wrong type */
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_RELEASE_OF_PR);
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_RELEASE, 1, 0xb, 0, 0));     /* not holder: no-op */
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION)->data[4]), 16);
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RELEASE, 1, 0xa, 0, 0));
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION)->data[4]), 0);
	/* registrants only: the holder unregistering ends the reservation */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 5, 0xa, 0, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0xa, 0, 0));
	u = wr(&g_iport2);                           /* the other registrant is told first */
	CHECK_SENSE(u, BRISK_SCSI_SENSE_UNIT_ATTENTION, BRISK_SCSI_ASC_RESERVATIONS_RELEASED);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport2, BRISK_SPC_PRIN_READ_RESERVATION)->data[4]), 0);
	CHECK_GOOD(wr(&g_iport2));
	/* all registrants: it lasts while anyone is registered */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 7, 0xa, 0, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0xa, 0, 0));
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport2, BRISK_SPC_PRIN_READ_RESERVATION)->data[4]), 16);
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0xb, 0, 0));
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport2, BRISK_SPC_PRIN_READ_RESERVATION)->data[4]), 0);
	u = prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 2, 0, 0, 0);                 /* type 2: invalid */
	CONFLICT(u);                                 /* not registered comes first */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_FIELD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 2, 0xa, 0, 0), 2, 3);
}

static void test_clear_and_preempt(void)
{
	struct ut_task *u;

	pr_reset();
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xb, 0));
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_RESERVE, 3, 0xb, 0, 0));
	CONFLICT(rd(&g_iport));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_PREEMPT, 1, 0xa, 0xb, 0));    /* take it over */
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0xa);
	CU_ASSERT_EQUAL(u->data[21], 1);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS)->data[4]), 8);
	u = rd(&g_iport2);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_UNIT_ATTENTION, BRISK_SCSI_ASC_REGISTRATIONS_PREEMPTED);
	CHECK_GOOD(rd(&g_iport2));                   /* write exclusive: reads pass */
	CU_ASSERT_EQUAL(ut_asc(prout(&g_iport, BRISK_SPC_PROUT_PREEMPT, 1, 0xa, 0, 0)),
			BRISK_SCSI_ASC_INVALID_FIELD_IN_PARAM);
	CONFLICT(prout(&g_iport, BRISK_SPC_PROUT_PREEMPT, 1, 0xa, 0x77, 0));     /* no such key */
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xb, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_PREEMPT_AND_ABORT, 1, 0xa, 0xb, 0));
	ut_clear_ua(g_dev, 0, &g_iport2);
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xb, 0));
	CONFLICT(prout(&g_iport2, BRISK_SPC_PROUT_CLEAR, 0, 0xc, 0, 0));         /* wrong key */
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_CLEAR, 0, 0xb, 0, 0));
	CHECK_SENSE(rd(&g_iport), BRISK_SCSI_SENSE_UNIT_ATTENTION, BRISK_SCSI_ASC_RESERVATIONS_PREEMPTED);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS)->data[4]), 0);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION)->data[4]), 0);
	CHECK_GOOD(wr(&g_iport2));
	/* all-registrants preempted with key 0: everyone else goes */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xb, 0));
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_RESERVE, 8, 0xb, 0, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_PREEMPT, 3, 0xa, 0, 0));
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION);
	CU_ASSERT_EQUAL(u->data[21], 3);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS)->data[4]), 8);
}

static void test_prin_caps_full_status_and_bad_params(void)
{
	uint8_t cdb[10] = { BRISK_SPC_OP_PERSISTENT_RESERVE_OUT, 0, 0, 0, 0, 0, 0, 0, 20, 0 };
	uint8_t prm[24] = {0};
	struct ut_task *u;

	pr_reset();
	u = prin(&g_iport, BRISK_SPC_PRIN_REPORT_CAPABILITIES);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(u->data[1], 8);
	CU_ASSERT_EQUAL(u->data[2] & 0x05, 0x05);   /* ATP_C, PTPL_C (a pr dir is set) */
	CU_ASSERT_EQUAL(u->data[3] & 0x80, 0x80);   /* TMV */
	CU_ASSERT_EQUAL(u->data[4], 0xea);
	CU_ASSERT_EQUAL(u->data[5], 0x01);
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 1, 0xa, 0, 0));
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_FULL_STATUS);
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0xa);
	CU_ASSERT_EQUAL(u->data[20] & 0x01, 0x01);   /* R_HOLDER */
	CU_ASSERT_EQUAL(u->data[21], 1);
	CU_ASSERT_EQUAL(u->data[32] & 0x0f, 0x05);   /* iSCSI TransportID */
	CU_ASSERT(strcmp((char *)&u->data[36], g_iport.name) == 0);
	CHECK_SENSE(run_as(&g_iport, cdb, 10, prm, 20, 0), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_PARAM_LIST_LENGTH_ERROR);
	cdb[8] = 24;
	cdb[2] = 0x21;                               /* scope other than LU */
	CHECK_FIELD(run_as(&g_iport, cdb, 10, prm, 24, 0), 2, 7);
	cdb[2] = 0;
	cdb[1] = 0x1f;                               /* unknown service action */
	put_be64(prm, 0xa);
	CHECK_FIELD(run_as(&g_iport, cdb, 10, prm, 24, 0), 1, 4);
	u = prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0xa, 0xa, 0x08);         /* SPEC_I_PT */
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_INVALID_FIELD_IN_PARAM);
}

static void test_register_and_move(void)
{
	uint8_t cdb[10] = { BRISK_SPC_OP_PERSISTENT_RESERVE_OUT, BRISK_SPC_PROUT_REGISTER_AND_MOVE, 1,
			    0, 0, 0, 0, 0, 0, 0 };
	uint8_t prm[24 + 264] = {0};
	struct ut_task *u;

	pr_reset();
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 1, 0xa, 0, 0));
	put_be64(prm, 0xa);
	put_be64(&prm[8], 0xb);
	prm[17] = 0x02;                              /* UNREG */
	put_be32(&prm[20], g_iport2.transport_id_len);
	memcpy(&prm[24], g_iport2.transport_id, g_iport2.transport_id_len);
	cdb[8] = (uint8_t)(24 + g_iport2.transport_id_len);
	CHECK_GOOD(run_as(&g_iport, cdb, 10, prm, cdb[8], 0));
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0xb);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS)->data[4]), 8);
	CHECK_GOOD(wr(&g_iport2));
	CONFLICT(wr(&g_iport));
}

static void test_reserve6(void)
{
	uint8_t res[6] = { BRISK_SPC_OP_RESERVE_6 }, rel[6] = { BRISK_SPC_OP_RELEASE_6 };
	uint8_t res10[10] = { BRISK_SPC_OP_RESERVE_10 };
	uint8_t inq[6] = { BRISK_SPC_OP_INQUIRY, 0, 0, 0, 36, 0 };

	pr_reset();
	CHECK_GOOD(run_as(&g_iport, res, 6, NULL, 0, 0));
	CHECK_GOOD(run_as(&g_iport, res, 6, NULL, 0, 0));         /* again by the holder */
	CONFLICT(run_as(&g_iport2, res, 6, NULL, 0, 0));
	CONFLICT(run_as(&g_iport2, res10, 10, NULL, 0, 0));
	CONFLICT(rd(&g_iport2));
	CHECK_GOOD(run_as(&g_iport2, inq, 6, NULL, 0, 36));
	CHECK_GOOD(run_as(&g_iport2, rel, 6, NULL, 0, 0));        /* not holder: no effect */
	CONFLICT(wr(&g_iport2));
	CHECK_GOOD(rd(&g_iport));
	brisk_scsi_dev_initiator_gone(g_dev, &g_iport);           /* logout releases it */
	CHECK_GOOD(wr(&g_iport2));
	CHECK_GOOD(run_as(&g_iport2, res10, 10, NULL, 0, 0));
	CHECK_GOOD(run_as(&g_iport2, rel, 6, NULL, 0, 0));
	CHECK_GOOD(wr(&g_iport));
	res[1] = 0x01;                               /* third-party */
	CHECK_FIELD(run_as(&g_iport, res, 6, NULL, 0, 0), 1, 0);
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0xa, 0));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 1, 0xa, 0, 0));
	res[1] = 0;
	CONFLICT(run_as(&g_iport, res, 6, NULL, 0, 0));          /* PR held: RESERVE refused */
}

static void test_aptpl_persists(void)
{
	const char *names[] = { "utpr" };
	const int ids[] = { 0 };
	struct ut_task *u;

	pr_reset();
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0, 0x1234, 0x01));  /* APTPL */
	CHECK_GOOD(prout(&g_iport2, BRISK_SPC_PROUT_REGISTER, 0, 0, 0x5678, 0x01));
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_RESERVE, 5, 0x1234, 0, 0));
	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_destruct(g_dev, NULL, NULL);
	poll_threads();
	g_dev = brisk_scsi_dev_construct("iqn.2026-01.io.brisk:pr", names, ids, 1, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_dev);
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS);
	CU_ASSERT_EQUAL(get_be32(&u->data[4]), 16);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0x1234);
	u = prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION);
	CU_ASSERT_EQUAL(u->data[21], 5);
	CU_ASSERT_EQUAL(get_be64(&u->data[8]), 0x1234);
	CU_ASSERT_EQUAL(prin(&g_iport, BRISK_SPC_PRIN_REPORT_CAPABILITIES)->data[3] & 1, 1); /* PTPL_A */
	CHECK_GOOD(prout(&g_iport, BRISK_SPC_PROUT_REGISTER, 0, 0x1234, 0x1234, 0));       /* APTPL off */
	brisk_scsi_dev_destruct(g_dev, NULL, NULL);
	poll_threads();
	g_dev = brisk_scsi_dev_construct("iqn.2026-01.io.brisk:pr", names, ids, 1, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_dev);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_KEYS)->data[4]), 0);
}

static void test_malformed_pr_file(void)
{
	const char *names[] = { "utpr" };
	const int ids[] = { 0 };
	char path[256], uuid[40];
	FILE *f;

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &g_disk->bdev.uuid);
	snprintf(path, sizeof(path), "%s/%s.pr", g_dir, uuid);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs("{\"generation\":1,\"reserved\":true,\"type\":5,\"holder\":7,\"regs\":[]}", f);
	fclose(f);
	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_destruct(g_dev, NULL, NULL);
	poll_threads();
	g_dev = brisk_scsi_dev_construct("iqn.2026-01.io.brisk:pr", names, ids, 1, NULL, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_dev);
	CU_ASSERT_EQUAL(get_be32(&prin(&g_iport, BRISK_SPC_PRIN_READ_RESERVATION)->data[4]), 0);
	unlink(path);
	CU_ASSERT_EQUAL(brisk_scsi_set_pr_dir("/nonexistent/dir"), -EINVAL);
}

static int ut_setup(void)
{
	if (scsi_ut_start() != 0) {
		return -1;
	}
	snprintf(g_dir, sizeof(g_dir), "/tmp/scsi_pr_ut.XXXXXX");
	if (mkdtemp(g_dir) == NULL || brisk_scsi_set_pr_dir(g_dir) != 0) {
		return -1;
	}
	ut_ports_init();
	g_disk = ut_disk_create("utpr", 512, 256);
	g_dev = ut_dev_construct("iqn.2026-01.io.brisk:pr", (struct ut_disk *const[]){ g_disk }, 1, NULL);
	return g_dev != NULL ? 0 : -1;
}

static int ut_teardown(void)
{
	int rc = 0;

	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_destruct(g_dev, NULL, NULL);
	poll_threads();
	ut_disk_delete(g_disk);
	brisk_scsi_set_pr_dir(NULL);
	rmdir(g_dir);
	return scsi_ut_stop() != 0 ? -1 : rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_register_and_keys),
	BRISK_UT_TEST(test_access_by_type),
	BRISK_UT_TEST(test_release_and_holder_loss),
	BRISK_UT_TEST(test_clear_and_preempt),
	BRISK_UT_TEST(test_prin_caps_full_status_and_bad_params),
	BRISK_UT_TEST(test_register_and_move),
	BRISK_UT_TEST(test_reserve6),
	BRISK_UT_TEST(test_aptpl_persists),
	BRISK_UT_TEST(test_malformed_pr_file),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "scsi_pr", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "scsi_pr_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 64,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
