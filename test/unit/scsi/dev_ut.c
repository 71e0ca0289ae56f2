/*
 * lib/scsi devices: construction refusals, LUN listing, hot add and
 * remove (REPORTED LUNS DATA HAS CHANGED, I/O in flight while the bdev
 * goes away), per-thread channels with completions on the queueing
 * thread, task management (ABORT TASK, ABORT TASK SET, CLEAR TASK SET,
 * LUN RESET, TARGET RESET, bad LUN and function), LUN field coding and
 * ports, and destruction completing outside the call.
 */
#include "scsi_ut_common.h"
#include "../../common/ut_main.h"

static struct ut_disk *g_d0, *g_d1;
static struct brisk_scsi_dev *g_dev;
static int g_hotremoved;

static void hotremove(struct brisk_scsi_lun *lun, void *ctx)
{
	(void)lun;
	(void)ctx;
	g_hotremoved++;
}

static void test_construct_refusals(void)
{
	const char *names[] = { "utd0", "utd0" }, *bad[] = { "nope" };
	const int ids[] = { 0, 0 }, far[] = { 64 };

	CU_ASSERT_PTR_NULL(brisk_scsi_dev_construct("", names, ids, 1, NULL, NULL));
	CU_ASSERT_PTR_NULL(brisk_scsi_dev_construct(NULL, names, ids, 1, NULL, NULL));
	CU_ASSERT_PTR_NULL(brisk_scsi_dev_construct("d", bad, ids, 1, NULL, NULL));
	CU_ASSERT_PTR_NULL(brisk_scsi_dev_construct("d", names, far, 1, NULL, NULL));
	CU_ASSERT_PTR_NULL(brisk_scsi_dev_construct("d", names, ids, 2, NULL, NULL)); /* same id twice */
	CU_ASSERT_PTR_NULL(brisk_scsi_dev_construct("d", NULL, NULL, 1, NULL, NULL));
	poll_threads();
}

static void test_lun_list_add_remove(void)
{
	struct brisk_scsi_lun *lun;
	uint8_t tur[6] = {0}, rl[12] = { BRISK_SPC_OP_REPORT_LUNS, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	struct ut_task *u;

	CU_ASSERT_STRING_EQUAL(brisk_scsi_dev_get_name(g_dev), "iqn.2026-01.io.brisk:dev");
	lun = brisk_scsi_dev_get_first_lun(g_dev);
	CU_ASSERT_PTR_NOT_NULL_FATAL(lun);
	CU_ASSERT_EQUAL(brisk_scsi_lun_get_id(lun), 0);
	CU_ASSERT_STRING_EQUAL(brisk_scsi_lun_get_bdev_name(lun), "utd0");
	CU_ASSERT(brisk_scsi_lun_get_dev(lun) == g_dev);
	CU_ASSERT_PTR_NULL(brisk_scsi_dev_get_next_lun(lun));
	CHECK_GOOD(ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0));    /* the initiator is known now */
	CU_ASSERT_EQUAL(brisk_scsi_dev_add_lun(g_dev, "utd1", 70, hotremove, NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_scsi_dev_add_lun(g_dev, "utd1", 0, hotremove, NULL), -EEXIST);
	CU_ASSERT_EQUAL(brisk_scsi_dev_add_lun(g_dev, "nope", 3, hotremove, NULL), -ENODEV);
	CU_ASSERT_EQUAL(brisk_scsi_dev_add_lun(g_dev, "utd1", -1, hotremove, NULL), 1);
	u = ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_UNIT_ATTENTION, BRISK_SCSI_ASC_REPORTED_LUNS_CHANGED);
	CHECK_GOOD(ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0));
	u = ut_cmd(g_dev, 1, rl, 12, NULL, 0, 256);          /* REPORT LUNS clears it on LUN 1 */
	CHECK_GOOD(u);
	CU_ASSERT_EQUAL(get_be32(u->data), 16);
	CHECK_GOOD(ut_cmd(g_dev, 1, tur, 6, NULL, 0, 0));
	CU_ASSERT_EQUAL(brisk_scsi_dev_remove_lun(g_dev, 1), 0);
	CU_ASSERT_EQUAL(brisk_scsi_dev_remove_lun(g_dev, 1), -ENODEV);
	CU_ASSERT_PTR_NULL(brisk_scsi_dev_get_lun(g_dev, 1));
	poll_threads();
	CU_ASSERT_EQUAL(g_hotremoved, 1);
	u = ut_cmd(g_dev, 1, tur, 6, NULL, 0, 0);
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LUN_NOT_SUPPORTED);
	CHECK_SENSE(ut_cmd(g_dev, 0, tur, 6, NULL, 0, 0), BRISK_SCSI_SENSE_UNIT_ATTENTION,
		    BRISK_SCSI_ASC_REPORTED_LUNS_CHANGED);
	CU_ASSERT_EQUAL(brisk_scsi_dev_add_lun(g_dev, "utd1", 5, hotremove, NULL), 5); /* reopen */
	ut_clear_ua(g_dev, 0, &g_iport);
}

static void test_channels_two_threads(void)
{
	uint8_t cdb[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	static struct ut_task u;

	brisk_set_thread(g_th[1]);
	CU_ASSERT_EQUAL(brisk_scsi_dev_allocate_io_channels(g_dev), 0);
	memset(g_d0->store, 0x42, 512);
	ut_task_prep(&u, cdb, 10, &g_iport2, BRISK_SCSI_DIR_FROM_DEV, 512);
	u.iov.iov_base = u.data;
	u.iov.iov_len = 512;
	u.t.iovs = &u.iov;
	u.t.iovcnt = 1;
	ut_exec_on(g_dev, &u, 1);                   /* completes on thread 1 */
	CHECK_GOOD(&u);
	CU_ASSERT_EQUAL(u.data[511], 0x42);
	brisk_set_thread(g_th[1]);
	brisk_scsi_dev_free_io_channels(g_dev);
	poll_threads();
}

/* Queues a held READ with tag on LUN 0 from ip (not completed yet). */
static void queue_held_read(struct ut_task *u, uint64_t tag, struct brisk_scsi_port *ip)
{
	uint8_t cdb[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };

	ut_task_prep(u, cdb, 10, ip, BRISK_SCSI_DIR_FROM_DEV, 512);
	u->t.tag = tag;
	u->iov.iov_base = u->data;
	u->iov.iov_len = 512;
	u->t.iovs = &u->iov;
	u->t.iovcnt = 1;
	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_queue_task(g_dev, &u->t);
	poll_threads();
	CU_ASSERT_EQUAL(u->calls, 0);
}

static void mgmt(struct ut_task *m, enum brisk_scsi_task_func fn, uint64_t lun, uint64_t tag,
		 struct brisk_scsi_port *ip)
{
	uint8_t none[1] = {0};

	ut_task_prep(m, none, 0, ip, BRISK_SCSI_DIR_NONE, 0);
	m->t.function = fn;
	m->t.lun_id = lun;
	m->t.abort_tag = tag;
	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_queue_mgmt_task(g_dev, &m->t);
	CU_ASSERT_EQUAL(m->calls, 0);
}

static void test_abort_task(void)
{
	static struct ut_task a, b, m;

	ut_clear_ua(g_dev, 0, &g_iport);
	g_d0->hold = true;
	queue_held_read(&a, 7, &g_iport);
	queue_held_read(&b, 8, &g_iport);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_ABORT_TASK, 0, 7, &g_iport);
	poll_threads();
	CU_ASSERT_EQUAL(m.calls, 0);                 /* waits for the aborted task */
	g_d0->hold = false;
	ut_release();
	poll_threads();
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_EQUAL(a.t.status, BRISK_SCSI_STATUS_TASK_ABORTED);
	CU_ASSERT_EQUAL(b.calls, 1);
	CU_ASSERT_EQUAL(b.t.status, BRISK_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(m.calls, 1);
	CU_ASSERT_EQUAL(m.t.response, BRISK_SCSI_TASK_MGMT_RESP_COMPLETE);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_ABORT_TASK, 0, 99, &g_iport);
	poll_threads();
	CU_ASSERT_EQUAL(m.calls, 1);
	CU_ASSERT_EQUAL(m.t.response, BRISK_SCSI_TASK_MGMT_RESP_TASK_NOT_FOUND);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_ABORT_TASK_SET, 9, 0, &g_iport);
	poll_threads();
	CU_ASSERT_EQUAL(m.t.response, BRISK_SCSI_TASK_MGMT_RESP_INVALID_LUN);
	mgmt(&m, (enum brisk_scsi_task_func)4, 0, 0, &g_iport);
	poll_threads();
	CU_ASSERT_EQUAL(m.t.response, BRISK_SCSI_TASK_MGMT_RESP_REJECT_FUNC_NOT_SUPPORTED);
}

static void test_task_sets_and_resets(void)
{
	static struct ut_task a, b, m;
	uint8_t tur[6] = {0};
	static struct ut_task u;

	ut_clear_ua(g_dev, 0, &g_iport2);
	g_d0->hold = true;
	queue_held_read(&a, 1, &g_iport);
	queue_held_read(&b, 2, &g_iport2);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_ABORT_TASK_SET, 0, 0, &g_iport);   /* only my tasks */
	ut_release();
	g_d0->hold = false;
	poll_threads();
	CU_ASSERT_EQUAL(a.t.status, BRISK_SCSI_STATUS_TASK_ABORTED);
	CU_ASSERT_EQUAL(b.t.status, BRISK_SCSI_STATUS_GOOD);
	CU_ASSERT_EQUAL(m.calls, 1);
	g_d0->hold = true;
	queue_held_read(&a, 1, &g_iport);
	queue_held_read(&b, 2, &g_iport2);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_LUN_RESET, 0, 0, &g_iport);        /* everyone's */
	ut_release();
	g_d0->hold = false;
	poll_threads();
	CU_ASSERT_EQUAL(a.t.status, BRISK_SCSI_STATUS_TASK_ABORTED);
	CU_ASSERT_EQUAL(b.t.status, BRISK_SCSI_STATUS_TASK_ABORTED);
	CU_ASSERT_EQUAL(m.calls, 1);
	ut_task_prep(&u, tur, 6, &g_iport2, BRISK_SCSI_DIR_NONE, 0);
	ut_exec_on(g_dev, &u, 0);                    /* the other initiator is told */
	CHECK_SENSE(&u, BRISK_SCSI_SENSE_UNIT_ATTENTION, BRISK_SCSI_ASC_BUS_DEVICE_RESET);
	ut_task_prep(&u, tur, 6, &g_iport, BRISK_SCSI_DIR_NONE, 0);
	ut_exec_on(g_dev, &u, 0); /* and so is the issuer */
	CHECK_SENSE(&u, BRISK_SCSI_SENSE_UNIT_ATTENTION, BRISK_SCSI_ASC_BUS_DEVICE_RESET);
	ut_task_prep(&u, tur, 6, &g_iport, BRISK_SCSI_DIR_NONE, 0);
	ut_exec_on(g_dev, &u, 0);
	CHECK_GOOD(&u);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_TARGET_RESET, 40, 0, &g_iport);    /* any LUN field */
	poll_threads();
	CU_ASSERT_EQUAL(m.calls, 1);
	CU_ASSERT_EQUAL(m.t.response, BRISK_SCSI_TASK_MGMT_RESP_COMPLETE);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_CLEAR_TASK_SET, 0, 0, &g_iport);
	poll_threads();
	CU_ASSERT_EQUAL(m.calls, 1);
	ut_clear_ua(g_dev, 0, &g_iport2);
	ut_clear_ua(g_dev, 5, &g_iport2);
	ut_clear_ua(g_dev, 5, &g_iport);
}

static void test_hot_remove_in_flight(void)
{
	static struct ut_task a;
	uint8_t tur[6] = {0}, rd[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct ut_task *u;
	int before = g_hotremoved;

	g_d1->hold = true;                           /* a read in flight on LUN 5 */
	ut_task_prep(&a, rd, 10, &g_iport, BRISK_SCSI_DIR_FROM_DEV, 4096);
	a.t.lun_id = 5;
	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_queue_task(g_dev, &a.t);
	poll_threads();
	CU_ASSERT_EQUAL(a.calls, 0);
	brisk_set_thread(g_th[0]);
	brisk_bdev_unregister(&g_d1->bdev, ut_unreg_done, NULL);
	poll_threads();
	CU_ASSERT_EQUAL(g_hotremoved, before + 1);
	u = ut_cmd(g_dev, 5, tur, 6, NULL, 0, 0);    /* new tasks refused at once */
	CHECK_SENSE(u, BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_LUN_NOT_SUPPORTED);
	g_d1->hold = false;
	ut_release();                                /* the I/O in flight finishes */
	poll_threads();
	CU_ASSERT_EQUAL(a.calls, 1);
	CU_ASSERT_EQUAL(a.t.status, BRISK_SCSI_STATUS_GOOD);
	brisk_scsi_task_put_buf(&a.t);
	poll_threads();
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("utd1"));  /* closed, so unregistered */
	free(g_d1->bdev.name);
	free(g_d1->store);
	free(g_d1);
	g_d1 = NULL;
}

/* Runs cdb on LUN 0 for initiator ip; returns the finished task. */
static struct ut_task *cmd_as(const uint8_t *cdb, struct brisk_scsi_port *ip)
{
	static struct ut_task u;

	ut_task_prep(&u, cdb, 6, ip, BRISK_SCSI_DIR_NONE, 0);
	ut_exec_on(g_dev, &u, 0);
	return &u;
}

/* The removable-medium option: RMB, eject and load by START STOP UNIT,
 * medium commands refused while unloaded, PREVENT from any I_T nexus
 * refusing both, and ended by that nexus's loss and by a LUN reset. */
static void test_removable_medium(void)
{
	uint8_t inq[6] = { BRISK_SPC_OP_INQUIRY, 0, 0, 0, 96, 0 }, tur[6] = { 0 };
	uint8_t eject[6] = { BRISK_SBC_OP_START_STOP_UNIT, 0, 0, 0, 0x02, 0 };
	uint8_t load[6] = { BRISK_SBC_OP_START_STOP_UNIT, 0, 0, 0, 0x03, 0 };
	uint8_t prevent[6] = { BRISK_SBC_OP_PREVENT_ALLOW, 0, 0, 0, 1, 0 };
	uint8_t rd[10] = { BRISK_SBC_OP_READ_10, 0, 0, 0, 0, 0, 0, 0, 1, 0 };
	struct brisk_scsi_lun *lun = brisk_scsi_dev_get_lun(g_dev, 0);
	static struct ut_task m;

	ut_clear_ua(g_dev, 0, &g_iport);
	ut_clear_ua(g_dev, 0, &g_iport2);
	CU_ASSERT_EQUAL(ut_cmd(g_dev, 0, inq, 6, NULL, 0, 96)->data[1] & 0x80, 0);
	brisk_scsi_lun_set_removable(lun, true);
	CU_ASSERT_TRUE(brisk_scsi_lun_is_removable(lun));
	CU_ASSERT_EQUAL(ut_cmd(g_dev, 0, inq, 6, NULL, 0, 96)->data[1] & 0x80, 0x80);
	CHECK_GOOD(cmd_as(eject, &g_iport));
	CHECK_SENSE(cmd_as(tur, &g_iport2), BRISK_SCSI_SENSE_NOT_READY, BRISK_SCSI_ASC_MEDIUM_NOT_PRESENT);
	CHECK_SENSE(ut_cmd(g_dev, 0, rd, 10, NULL, 0, 512), BRISK_SCSI_SENSE_NOT_READY,
		    BRISK_SCSI_ASC_MEDIUM_NOT_PRESENT);
	CHECK_GOOD(ut_cmd(g_dev, 0, inq, 6, NULL, 0, 96)); /* no medium needed */
	CHECK_GOOD(cmd_as(prevent, &g_iport2));
	CHECK_SENSE(cmd_as(load, &g_iport), BRISK_SCSI_SENSE_ILLEGAL_REQUEST,
		    BRISK_SCSI_ASC_MEDIUM_REMOVAL_PREVENTED); /* another nexus's PREVENT */
	brisk_scsi_dev_initiator_gone(g_dev, &g_iport2); /* nexus loss ends it */
	CHECK_GOOD(cmd_as(load, &g_iport));
	CHECK_GOOD(cmd_as(tur, &g_iport));
	CHECK_GOOD(cmd_as(prevent, &g_iport));
	CHECK_SENSE(cmd_as(eject, &g_iport), BRISK_SCSI_SENSE_ILLEGAL_REQUEST, BRISK_SCSI_ASC_MEDIUM_REMOVAL_PREVENTED);
	mgmt(&m, BRISK_SCSI_TASK_FUNC_LUN_RESET, 0, 0, &g_iport); /* a LUN reset ends it too */
	poll_threads();
	ut_clear_ua(g_dev, 0, &g_iport);
	CHECK_GOOD(cmd_as(eject, &g_iport));
	brisk_scsi_lun_set_removable(lun, false); /* a fixed disk has its medium */
	CHECK_GOOD(cmd_as(tur, &g_iport));
	CU_ASSERT_EQUAL(ut_cmd(g_dev, 0, inq, 6, NULL, 0, 96)->data[1] & 0x80, 0);
	brisk_scsi_lun_set_removable(NULL, true); /* a LUN gone meanwhile */
}

static void test_lun_codec_and_ports(void)
{
	struct brisk_scsi_port p;
	char big[300];

	CU_ASSERT_EQUAL(brisk_scsi_lun_id_encode(5), 0x0005000000000000ULL);
	CU_ASSERT_EQUAL(brisk_scsi_lun_id_encode(300), 0x412c000000000000ULL);
	CU_ASSERT_EQUAL(brisk_scsi_lun_id_decode(0x0005000000000000ULL), 5);
	CU_ASSERT_EQUAL(brisk_scsi_lun_id_decode(0x412c000000000000ULL), 300);
	CU_ASSERT_EQUAL(brisk_scsi_lun_id_decode(0x0005000100000000ULL), UINT64_MAX);
	CU_ASSERT_EQUAL(brisk_scsi_lun_id_decode(0xc000000000000000ULL), UINT64_MAX);
	CU_ASSERT_EQUAL(brisk_scsi_port_init(&p, 1, 1, ""), -EINVAL);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_EQUAL(brisk_scsi_port_init(&p, 1, 1, big), -EINVAL);
	CU_ASSERT_EQUAL(brisk_scsi_port_init(&p, 1, 1, "iqn.x,i,0x1"), 0);
	CU_ASSERT_EQUAL(p.transport_id[0], 0x45);   /* format 01b, iSCSI */
	CU_ASSERT_EQUAL(p.transport_id_len, 4 + 20);
	CU_ASSERT_EQUAL(brisk_scsi_port_init(&p, 1, 1, "iqn.2026-01.io.brisk:target"), 0);
	CU_ASSERT_EQUAL(p.transport_id[0], 0x05);
	CU_ASSERT_EQUAL(p.transport_id_len % 4, 0);
}

static int g_destructed;
static void destruct_done(void *arg, int rc) { (void)arg; g_destructed += rc == 0; }

static int ut_setup(void)
{
	if (scsi_ut_start() != 0) {
		return -1;
	}
	ut_ports_init();
	g_d0 = ut_disk_create("utd0", 512, 256);
	g_d1 = ut_disk_create("utd1", 4096, 64);
	g_dev = ut_dev_construct("iqn.2026-01.io.brisk:dev", (struct ut_disk *const[]){ g_d0 }, 1, hotremove);
	return g_dev != NULL ? 0 : -1;
}

static int ut_teardown(void)
{
	int rc = 0;

	brisk_set_thread(g_th[0]);
	brisk_scsi_dev_destruct(g_dev, destruct_done, NULL);
	if (g_destructed != 0) {
		rc = -1;
	}
	poll_threads();
	if (g_destructed != 1) {
		fprintf(stderr, "destruct did not complete\n");
		rc = -1;
	}
	ut_disk_delete(g_d0);
	if (g_d1 != NULL) {
		ut_disk_delete(g_d1);
	}
	return scsi_ut_stop() != 0 ? -1 : rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_construct_refusals),
	BRISK_UT_TEST(test_lun_list_add_remove),
	BRISK_UT_TEST(test_channels_two_threads),
	BRISK_UT_TEST(test_abort_task),
	BRISK_UT_TEST(test_task_sets_and_resets),
	BRISK_UT_TEST(test_hot_remove_in_flight),
	BRISK_UT_TEST(test_lun_codec_and_ports),
	BRISK_UT_TEST(test_removable_medium),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "scsi_dev", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "scsi_dev_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 64,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
