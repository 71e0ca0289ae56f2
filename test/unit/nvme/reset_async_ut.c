/*
 * The polled controller reset (brisk_nvme_ctrlr_reset_async) on the fake
 * controller: with the fabrics connect ops supplied by this test (each
 * connect takes a few polls, as a TCP connect + ICReq + Connect does), the
 * reset is not done after the start nor after each early poll, and ends
 * with I/O in flight aborted and resubmitted; a connect that fails leaves
 * the controller failed; cancel frees it at once; bring-up at attach polls
 * the admin connection before reading registers; a transport without the
 * polled ops (the fake as it is) resets in the first poll.
 */
#include "nvme_ut_common.h"
#include "../../../lib/nvme/nvme_internal.h"
#include "../../common/ut_main.h"

#define CONNECT_POLLS 3

static struct nvme_transport_ops g_ops;
static int g_reconnect_starts;
static int g_admin_polls;
static int g_io_starts;
static int g_io_polls;
static int g_fail_rc; /* the admin connect's result once its polls are done */

static int ut_reconnect_start(struct brisk_nvme_ctrlr *ctrlr)
{
	g_reconnect_starts++;
	g_admin_polls = 0;
	return 0;
}

static int ut_qpair_connect_start(struct brisk_nvme_qpair *qpair)
{
	g_io_starts++;
	g_io_polls = 0;
	return 0;
}

/* The admin queue "connects" after CONNECT_POLLS polls; an I/O qpair too,
 * and then gets its queues on the fake the way PCIe creates them. */
static int ut_qpair_connect_poll(struct brisk_nvme_qpair *qpair)
{
	if (qpair->id == 0) {
		return ++g_admin_polls < CONNECT_POLLS ? -EAGAIN : g_fail_rc;
	}
	if (++g_io_polls < CONNECT_POLLS) {
		return -EAGAIN;
	}
	return nvme_ctrlr_create_io_queues(qpair);
}

static struct brisk_nvme_ctrlr *attach_polled(const char *name, struct nvme_fake_dev **dev)
{
	struct nvme_fake_params p;
	struct brisk_nvme_ctrlr *ctrlr;

	nvme_fake_default_params(&p);
	ctrlr = ut_attach(name, &p, dev, NULL);
	if (ctrlr != NULL) {
		g_ops = *ctrlr->ops;
		g_ops.ctrlr_reconnect_start = ut_reconnect_start;
		g_ops.qpair_connect_start = ut_qpair_connect_start;
		g_ops.qpair_connect_poll = ut_qpair_connect_poll;
		ctrlr->ops = &g_ops;
	}
	g_reconnect_starts = g_io_starts = 0;
	g_fail_rc = 0;
	return ctrlr;
}

/* Polls ctx to its end (bounded): the result; *polls counts the polls. */
static int poll_to_end(struct brisk_nvme_reset_ctx *ctx, int *polls)
{
	int rc;

	*polls = 0;
	do {
		rc = brisk_nvme_ctrlr_reset_poll_async(ctx);
		(*polls)++;
	} while (rc == -EAGAIN && *polls < 100000);
	return rc;
}

static void test_polled_reset_in_flight(void)
{
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr = attach_polled("rasync0", &dev);
	struct brisk_nvme_qpair *qpair;
	struct brisk_nvme_reset_ctx *ctx = NULL;
	struct ut_io io = { 0 };
	uint8_t *buf = brisk_dma_zmalloc(4096, 4096, NULL);
	int polls;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	qpair = brisk_nvme_ctrlr_alloc_io_qpair(ctrlr, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(qpair);
	nvme_fake_set_hold(dev, true);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(brisk_nvme_ctrlr_get_ns(ctrlr, 1), qpair, buf, 0, 1, ut_io_cb, &io, 0),
			0);
	brisk_nvme_qpair_process_completions(qpair, 0);
	nvme_fake_set_hold(dev, false);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_async(ctrlr, &ctx), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(g_reconnect_starts, 1);
	CU_ASSERT_FALSE(io.done); /* not done yet: aborted commands complete at the qpair's poll */
	for (int i = 1; i < CONNECT_POLLS; i++) {
		CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_poll_async(ctx), -EAGAIN);
	}
	CU_ASSERT_EQUAL(g_io_starts, 0); /* the I/O qpair waits for the admin queue */
	CU_ASSERT_EQUAL(poll_to_end(ctx, &polls), 0);
	CU_ASSERT(polls >= CONNECT_POLLS); /* the I/O qpair's connect took polls too */
	CU_ASSERT_EQUAL(g_io_starts, 1);
	CU_ASSERT_FALSE(brisk_nvme_ctrlr_is_failed(ctrlr));
	CU_ASSERT(ut_wait(ctrlr, qpair, &io));
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_ABORTED_SQ_DELETION);
	io = (struct ut_io){ 0 };
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(brisk_nvme_ctrlr_get_ns(ctrlr, 1), qpair, buf, 0, 1, ut_io_cb, &io, 0),
			0);
	CU_ASSERT(ut_wait(ctrlr, qpair, &io));
	CU_ASSERT_FALSE(brisk_nvme_cpl_is_error(&io.cpl)); /* the qpair works after the reset */
	brisk_nvme_ctrlr_free_io_qpair(qpair);
	brisk_free(buf);
	ut_detach(ctrlr, dev);
}

static void test_polled_reset_connect_fails(void)
{
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr = attach_polled("rasync1", &dev);
	struct brisk_nvme_reset_ctx *ctx = NULL;
	int polls;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	g_fail_rc = -ECONNREFUSED;
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_async(ctrlr, &ctx), 0);
	CU_ASSERT_FALSE(brisk_nvme_ctrlr_is_failed(ctrlr)); /* not done yet */
	CU_ASSERT_EQUAL(poll_to_end(ctx, &polls), -ENXIO);
	CU_ASSERT_EQUAL(polls, CONNECT_POLLS);
	CU_ASSERT(brisk_nvme_ctrlr_is_failed(ctrlr));
	ut_detach(ctrlr, dev);
}

static void test_polled_reset_cancel(void)
{
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr = attach_polled("rasync2", &dev);
	struct brisk_nvme_reset_ctx *ctx = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_async(ctrlr, &ctx), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_poll_async(ctx), -EAGAIN);
	brisk_nvme_ctrlr_reset_cancel_async(ctx);
	CU_ASSERT(brisk_nvme_ctrlr_is_failed(ctrlr));
	ut_detach(ctrlr, dev);
}

/* Attach over fabrics: bring-up polls the admin queue's connection before
 * it reads any register, and fails cleanly when the connection does. */
static void test_bringup_polls_admin_connect(void)
{
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr = attach_polled("rasync4", &dev);
	int rc, polls = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	g_admin_polls = 0;
	ctrlr->admin_connecting = true;
	nvme_ctrlr_start_init(ctrlr, false);
	for (int i = 1; i < CONNECT_POLLS; i++) {
		CU_ASSERT_EQUAL(nvme_ctrlr_process_init(ctrlr), -EAGAIN);
		CU_ASSERT_EQUAL(ctrlr->state, NVME_CTRLR_STATE_INIT); /* no register read yet */
	}
	do {
		rc = nvme_ctrlr_process_init(ctrlr);
	} while (rc == -EAGAIN && ++polls < 100000);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_FALSE(ctrlr->admin_connecting);

	g_admin_polls = 0;
	g_fail_rc = -ETIMEDOUT;
	ctrlr->admin_connecting = true;
	nvme_ctrlr_start_init(ctrlr, false);
	CU_ASSERT_EQUAL(nvme_ctrlr_process_init(ctrlr), -EAGAIN);
	CU_ASSERT_EQUAL(nvme_ctrlr_process_init(ctrlr), -EAGAIN);
	CU_ASSERT_EQUAL(nvme_ctrlr_process_init(ctrlr), -ETIMEDOUT);
	CU_ASSERT_EQUAL(ctrlr->state, NVME_CTRLR_STATE_ERROR);
	ut_detach(ctrlr, dev);
}

static void test_unpolled_transport(void)
{
	struct nvme_fake_params p;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_reset_ctx *ctx = NULL;

	nvme_fake_default_params(&p);
	ctrlr = ut_attach("rasync3", &p, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_async(NULL, &ctx), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_async(ctrlr, &ctx), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset_poll_async(ctx), 0);
	CU_ASSERT_FALSE(brisk_nvme_ctrlr_is_failed(ctrlr));
	ut_detach(ctrlr, dev);
}

static int ut_setup(void)
{
	nvme_fake_transport_register();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "polled reset with I/O in flight", test_polled_reset_in_flight },
	{ "polled reset: the connect fails", test_polled_reset_connect_fails },
	{ "polled reset: cancelled", test_polled_reset_cancel },
	{ "bring-up polls the admin connection first", test_bringup_polls_admin_connect },
	{ "transport without polled ops", test_unpolled_transport },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_reset_async", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvme_reset_async",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
