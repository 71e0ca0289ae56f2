/*
 * When things go wrong: command timeouts (the user's callback; abort by
 * default; reset when the abort fails), controller reset with I/O in
 * flight (ABORTED_SQ_DELETION, resubmission, data right), and a failed
 * controller (CSTS.CFS, registers all ones, brisk_nvme_ctrlr_fail) that
 * completes every command with an error and never hangs.
 */
#include "nvme_ut_common.h"
#include "../../common/ut_main.h"

struct ut_env {
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;
	struct brisk_nvme_qpair *qpair;
	uint8_t *buf;
};

static void env_up(struct ut_env *e, const char *name, const struct brisk_nvme_ctrlr_opts *opts)
{
	struct nvme_fake_params p;

	nvme_fake_default_params(&p);
	memset(e, 0, sizeof(*e));
	e->ctrlr = ut_attach(name, &p, &e->dev, opts);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->ctrlr);
	e->ns = brisk_nvme_ctrlr_get_ns(e->ctrlr, 1);
	e->qpair = brisk_nvme_ctrlr_alloc_io_qpair(e->ctrlr, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->qpair);
	e->buf = brisk_dma_zmalloc(1 << 20, 4096, NULL);
}

static void env_down(struct ut_env *e)
{
	brisk_free(e->buf);
	ut_detach(e->ctrlr, e->dev);
}

/* Polls the qpair and the admin queue until io is done or ms pass. */
static bool poll_both(struct ut_env *e, struct ut_io *io, unsigned ms)
{
	uint64_t end = brisk_get_time_us() + ms * 1000ull;

	while (!io->done && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(e->qpair, 0);
		brisk_nvme_ctrlr_process_admin_completions(e->ctrlr);
	}
	return io->done;
}

static int g_timeouts;
static uint16_t g_timeout_cid;
static struct brisk_nvme_qpair *g_timeout_qpair;

static void timeout_cb(void *arg, struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
		       uint16_t cid)
{
	g_timeouts++;
	g_timeout_cid = cid;
	g_timeout_qpair = qpair;
}

static void test_timeout_callback(void)
{
	struct ut_env e;
	struct ut_io io = { 0 };

	env_up(&e, "to_cb0", NULL);
	brisk_nvme_ctrlr_register_timeout_callback(e.ctrlr, 20000, timeout_cb, NULL);
	nvme_fake_set_hold(e.dev, true);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io, 0), 0);
	CU_ASSERT(!poll_both(&e, &io, 100));
	CU_ASSERT_EQUAL(g_timeouts, 1); /* once per command */
	CU_ASSERT_PTR_EQUAL(g_timeout_qpair, e.qpair);
	CU_ASSERT_EQUAL(g_timeout_cid, nvme_fake_get_stats(e.dev)->last_io.cid);
	/* The user aborts it. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_abort(e.ctrlr, e.qpair, g_timeout_cid, NULL, NULL), 0);
	CU_ASSERT(poll_both(&e, &io, 1000));
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_ABORTED_BY_REQUEST);
	env_down(&e);
}

static void test_timeout_abort(void)
{
	struct brisk_nvme_ctrlr_opts opts;
	struct ut_env e;
	struct ut_io io = { 0 };

	brisk_nvme_ctrlr_get_default_opts(&opts);
	opts.command_timeout_us = 20000;
	env_up(&e, "to_abort0", &opts);
	nvme_fake_set_hold(e.dev, true);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io, 0), 0);
	CU_ASSERT(poll_both(&e, &io, 1000));
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_ABORTED_BY_REQUEST);
	CU_ASSERT_EQUAL(nvme_fake_get_stats(e.dev)->admin_cmds[BRISK_NVME_OPC_ABORT], 1);
	CU_ASSERT(!brisk_nvme_ctrlr_is_failed(e.ctrlr));
	env_down(&e);
}

static void test_timeout_abort_fails_reset(void)
{
	struct brisk_nvme_ctrlr_opts opts;
	struct ut_env e;
	struct ut_io io = { 0 }, io2 = { 0 };

	brisk_nvme_ctrlr_get_default_opts(&opts);
	opts.command_timeout_us = 20000;
	env_up(&e, "to_reset0", &opts);
	nvme_fake_set_hold(e.dev, true);
	nvme_fake_set_abort_fails(e.dev, true);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io, 0), 0);
	CU_ASSERT(poll_both(&e, &io, 2000));
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_ABORTED_SQ_DELETION);
	CU_ASSERT_EQUAL(io.cpl.status.dnr, 0); /* may be resubmitted */
	CU_ASSERT(!brisk_nvme_ctrlr_is_failed(e.ctrlr));
	/* The qpair works after the reset. */
	nvme_fake_set_hold(e.dev, false);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io2, 0), 0);
	CU_ASSERT(poll_both(&e, &io2, 1000));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io2.cpl));
	env_down(&e);
}

/* An admin command that never completes: the driver resets the controller
 * (no abort for admin commands) and the command completes aborted. */
static void test_admin_timeout_reset(void)
{
	struct brisk_nvme_ctrlr_opts opts;
	struct ut_env e;
	struct ut_io io = { 0 };

	brisk_nvme_ctrlr_get_default_opts(&opts);
	opts.command_timeout_us = 20000;
	env_up(&e, "admin_to0", &opts);
	nvme_fake_hold_admin(e.dev, true, BRISK_NVME_OPC_GET_FEATURES);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_feature(e.ctrlr, BRISK_NVME_FEAT_ARBITRATION, 0, NULL,
			0, ut_io_cb, &io), 0);
	CU_ASSERT(poll_both(&e, &io, 2000));
	CU_ASSERT_EQUAL(io.cpl.status.sc, BRISK_NVME_SC_ABORTED_SQ_DELETION);
	CU_ASSERT_EQUAL(nvme_fake_get_stats(e.dev)->admin_cmds[BRISK_NVME_OPC_ABORT], 0);
	CU_ASSERT(!brisk_nvme_ctrlr_is_failed(e.ctrlr));
	/* Async events were sent again after the reset: AERL + 1 of them held. */
	nvme_fake_hold_admin(e.dev, false, 0);
	memset(&io, 0, sizeof(io));
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_feature(e.ctrlr, BRISK_NVME_FEAT_ARBITRATION, 0, NULL,
			0, ut_io_cb, &io), 0);
	CU_ASSERT(poll_both(&e, &io, 1000));
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io.cpl));
	env_down(&e);
}

static int g_removed;

static void remove_cb(void *cb_ctx, struct brisk_nvme_ctrlr *ctrlr)
{
	g_removed++;
	CU_ASSERT(brisk_nvme_ctrlr_is_failed(ctrlr));
	brisk_nvme_detach(ctrlr);
}

/* A probe reports an attached controller whose device went away, once. */
static void test_probe_remove(void)
{
	struct brisk_nvme_transport_id trid = { 0 };
	struct nvme_fake_params p;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;

	nvme_fake_default_params(&p);
	ctrlr = ut_attach("remove0", &p, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	brisk_nvme_transport_id_parse(&trid, "trtype:fake");
	CU_ASSERT_EQUAL(brisk_nvme_probe(&trid, NULL, NULL, NULL, remove_cb), 0);
	CU_ASSERT_EQUAL(g_removed, 0);
	nvme_fake_set_removed(dev, true);
	CU_ASSERT_EQUAL(brisk_nvme_probe(&trid, NULL, NULL, NULL, remove_cb), 0);
	CU_ASSERT_EQUAL(g_removed, 1);
	nvme_fake_dev_destroy(dev);
}

struct resub {
	struct ut_env *e;
	int lba;
	int aborted;
	int ok;
};

static void resub_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct resub *r = arg;

	if (cpl->status.sc == BRISK_NVME_SC_ABORTED_SQ_DELETION && !cpl->status.dnr) {
		r->aborted++;
		CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_write(r->e->ns, r->e->qpair, r->e->buf + r->lba * 512,
							(uint64_t)r->lba, 1, resub_cb, r, 0), 0);
		return;
	}
	CU_ASSERT(!brisk_nvme_cpl_is_error(cpl));
	r->ok++;
}

static void test_reset_in_flight(void)
{
	struct ut_env e;
	struct resub r[8];
	int ok = 0;
	uint64_t end;

	env_up(&e, "reset0", NULL);
	for (int i = 0; i < 8 * 512; i++) {
		e.buf[i] = (uint8_t)(i * 13);
	}
	nvme_fake_set_hold(e.dev, true);
	for (int i = 0; i < 8; i++) {
		r[i] = (struct resub) { .e = &e, .lba = i };
		CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_write(e.ns, e.qpair, e.buf + i * 512, (uint64_t)i, 1,
							resub_cb, &r[i], 0), 0);
	}
	brisk_nvme_qpair_process_completions(e.qpair, 0);
	CU_ASSERT_EQUAL(nvme_fake_num_held(e.dev), 8);
	nvme_fake_set_hold(e.dev, false);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset(e.ctrlr), 0);
	CU_ASSERT_EQUAL(r[0].aborted, 0); /* completions come from the qpair's poll */
	end = brisk_get_time_us() + 1000000;
	while (ok < 8 && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(e.qpair, 0);
		ok = 0;
		for (int i = 0; i < 8; i++) {
			ok += r[i].ok;
		}
	}
	CU_ASSERT_EQUAL(ok, 8);
	for (int i = 0; i < 8; i++) {
		CU_ASSERT_EQUAL(r[i].aborted, 1);
	}
	CU_ASSERT_EQUAL(memcmp(nvme_fake_ns_ram(e.dev, 1), e.buf, 8 * 512), 0);
	env_down(&e);
}

static void failed_common(struct ut_env *e, void (*make_fail)(struct ut_env *))
{
	struct ut_io io[4];
	struct ut_io admin = { 0 };
	uint8_t *log = brisk_dma_zmalloc(4096, 4096, NULL);
	uint64_t end;

	memset(io, 0, sizeof(io));
	nvme_fake_set_hold(e->dev, true);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e->ns, e->qpair, e->buf, 0, 1, ut_io_cb, &io[i], 0), 0);
	}
	brisk_nvme_qpair_process_completions(e->qpair, 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_log_page(e->ctrlr, BRISK_NVME_LOG_ERROR, 0, log, 64, 0,
			ut_io_cb, &admin), 0);
	nvme_fake_set_hold(e->dev, false);
	make_fail(e);
	end = brisk_get_time_us() + 1000000;
	while (!brisk_nvme_ctrlr_is_failed(e->ctrlr) && brisk_get_time_us() < end) {
		brisk_nvme_ctrlr_process_admin_completions(e->ctrlr);
	}
	CU_ASSERT_FATAL(brisk_nvme_ctrlr_is_failed(e->ctrlr));
	CU_ASSERT_EQUAL(brisk_nvme_qpair_process_completions(e->qpair, 0), -ENXIO);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_process_admin_completions(e->ctrlr), -ENXIO);
	for (int i = 0; i < 4; i++) {
		CU_ASSERT(io[i].done);
		CU_ASSERT(brisk_nvme_cpl_is_error(&io[i].cpl));
		CU_ASSERT_EQUAL(io[i].cpl.status.dnr, 1);
	}
	CU_ASSERT(admin.done);
	CU_ASSERT(brisk_nvme_cpl_is_error(&admin.cpl));
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e->ns, e->qpair, e->buf, 0, 1, ut_io_cb, &io[0], 0), -ENXIO);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_log_page(e->ctrlr, BRISK_NVME_LOG_ERROR, 0, log, 64, 0,
			ut_io_cb, &admin), -ENXIO);
	CU_ASSERT_PTR_NULL(brisk_nvme_ctrlr_alloc_io_qpair(e->ctrlr, NULL));
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_reset(e->ctrlr), -ENXIO);
	brisk_free(log);
}

/* Only the qpair is polled (no admin poller, no timeout): a controller
 * that stops answering is still found failed. */
static void test_failed_qpair_only(void)
{
	struct ut_env e;
	struct ut_io io = { 0 };
	uint64_t end;

	env_up(&e, "qponly1", NULL);
	nvme_fake_set_hold(e.dev, true);
	CU_ASSERT_EQUAL(brisk_nvme_ns_cmd_read(e.ns, e.qpair, e.buf, 0, 1, ut_io_cb, &io, 0), 0);
	nvme_fake_set_removed(e.dev, true);
	end = brisk_get_time_us() + 2000000;
	while (!io.done && brisk_get_time_us() < end) {
		brisk_nvme_qpair_process_completions(e.qpair, 0);
	}
	CU_ASSERT(io.done);
	CU_ASSERT(brisk_nvme_cpl_is_error(&io.cpl));
	CU_ASSERT(brisk_nvme_ctrlr_is_failed(e.ctrlr));
	env_down(&e);
}

static void fail_cfs(struct ut_env *e) { nvme_fake_set_cfs(e->dev, true); }
static void fail_removed(struct ut_env *e) { nvme_fake_set_removed(e->dev, true); }
static void fail_user(struct ut_env *e) { brisk_nvme_ctrlr_fail(e->ctrlr); }

static void test_failed_cfs(void)
{
	struct ut_env e;

	env_up(&e, "cfs1", NULL);
	failed_common(&e, fail_cfs);
	CU_ASSERT(!brisk_nvme_ctrlr_is_removed(e.ctrlr));
	env_down(&e);
}

static void test_failed_removed(void)
{
	struct ut_env e;

	env_up(&e, "gone1", NULL);
	failed_common(&e, fail_removed);
	CU_ASSERT(brisk_nvme_ctrlr_is_removed(e.ctrlr));
	env_down(&e);
}

static void test_failed_by_user(void)
{
	struct ut_env e;

	env_up(&e, "userfail1", NULL);
	failed_common(&e, fail_user);
	env_down(&e);
}

static int ut_setup(void)
{
	nvme_fake_transport_register();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "timeout: user callback", test_timeout_callback },
	{ "timeout: abort", test_timeout_abort },
	{ "timeout: abort fails, reset", test_timeout_abort_fails_reset },
	{ "admin command timeout: reset", test_admin_timeout_reset },
	{ "reset with I/O in flight", test_reset_in_flight },
	{ "probe reports a removed controller", test_probe_remove },
	{ "failed: CSTS.CFS", test_failed_cfs },
	{ "failed: registers all ones", test_failed_removed },
	{ "failed: by the user", test_failed_by_user },
	{ "failed: found by a qpair's polls alone", test_failed_qpair_only },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_recovery", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvme_recovery",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
