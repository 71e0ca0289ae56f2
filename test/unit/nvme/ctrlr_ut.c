/*
 * Controller bring-up and management against the fake controller: the
 * state machine (asynchronous probe, a controller found enabled, CAP.TO
 * timeout, CSTS.CFS, removal), Identify data and namespaces, admin
 * commands, asynchronous events with the namespace re-scan, Format,
 * shutdown on detach.
 */
#include "nvme_ut_common.h"
#include "../../common/ut_main.h"

struct probe_ctx {
	int probed;
	int attached;
	struct brisk_nvme_ctrlr *ctrlr;
};

static bool probe_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
		     struct brisk_nvme_ctrlr_opts *opts)
{
	struct probe_ctx *p = cb_ctx;

	p->probed++;
	opts->io_queue_size = 64;
	return true;
}

static void attach_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
		      struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_ctrlr_opts *opts)
{
	struct probe_ctx *p = cb_ctx;

	p->attached++;
	p->ctrlr = ctrlr;
	CU_ASSERT_EQUAL(opts->io_queue_size, 64);
}

static void test_bringup_async(void)
{
	struct brisk_nvme_transport_id trid = { 0 };
	struct nvme_fake_params params;
	struct brisk_nvme_probe_ctx *ctx;
	struct probe_ctx p = { 0 };
	struct nvme_fake_dev *dev;
	union brisk_nvme_cc_register cc;
	int rc, polls = 0;

	nvme_fake_default_params(&params);
	params.ready_delay = 5;
	params.num_ns = 2;
	dev = nvme_fake_dev_create("async0", &params);
	brisk_nvme_transport_id_parse(&trid, "trtype:fake traddr:async0");
	ctx = brisk_nvme_probe_async(&trid, &p, probe_cb, attach_cb, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
	CU_ASSERT_EQUAL(p.probed, 1);
	CU_ASSERT_EQUAL(p.attached, 0); /* not inside the starting call */
	while ((rc = brisk_nvme_probe_poll_async(ctx)) == -EAGAIN) {
		polls++;
		CU_ASSERT_EQUAL(p.attached, 0);
	}
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT(polls >= 2); /* waited for RDY over several polls */
	CU_ASSERT_EQUAL_FATAL(p.attached, 1);
	cc.raw = nvme_fake_get_cc(dev);
	CU_ASSERT_EQUAL(cc.bits.en, 1);
	CU_ASSERT_EQUAL(cc.bits.iosqes, 6);
	CU_ASSERT_EQUAL(cc.bits.iocqes, 4);
	CU_ASSERT_EQUAL(memcmp(brisk_nvme_ctrlr_get_data(p.ctrlr)->mn, "Brisk Fake NVMe Ctrl", 20), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_num_ns(p.ctrlr), NVME_FAKE_MAX_NS);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_first_active_ns(p.ctrlr), 1);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_next_active_ns(p.ctrlr, 1), 2);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_next_active_ns(p.ctrlr, 2), 0);
	CU_ASSERT(brisk_nvme_ctrlr_is_active_ns(p.ctrlr, 2));
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(p.ctrlr, 3));
	CU_ASSERT_PTR_NULL(brisk_nvme_ctrlr_get_ns(p.ctrlr, 0));
	CU_ASSERT_PTR_NULL(brisk_nvme_ctrlr_get_ns(p.ctrlr, NVME_FAKE_MAX_NS + 1));
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_max_xfer_size(p.ctrlr), 128 * 1024);
	/* A second probe skips the attached controller. */
	p.probed = 0;
	CU_ASSERT_EQUAL(brisk_nvme_probe(&trid, &p, probe_cb, attach_cb, NULL), 0);
	CU_ASSERT_EQUAL(p.probed, 0);
	ut_detach(p.ctrlr, dev);
}

static void test_namespace_data(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;
	const uint8_t *uuid;

	nvme_fake_default_params(&params);
	params.lbaf = 1;
	params.noiob = 16;
	ctrlr = ut_attach("nsdata0", &params, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	ns = brisk_nvme_ctrlr_get_ns(ctrlr, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
	CU_ASSERT(brisk_nvme_ns_is_active(ns));
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_id(ns), 1);
	CU_ASSERT_PTR_EQUAL(brisk_nvme_ns_get_ctrlr(ns), ctrlr);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_sector_size(ns), 4096);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_num_sectors(ns), params.ns_bytes / 4096);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_size(ns), params.ns_bytes);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_md_size(ns), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_optimal_io_boundary(ns), 16);
	uuid = brisk_nvme_ns_get_uuid(ns);
	CU_ASSERT_PTR_NOT_NULL_FATAL(uuid);
	CU_ASSERT_EQUAL(uuid[0], 0xb1);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_eui64(ns), 1ull << 56);
	CU_ASSERT(brisk_nvme_ns_supports_compare(ns));
	CU_ASSERT(brisk_nvme_ns_supports_write_zeroes(ns));
	CU_ASSERT(brisk_nvme_ns_supports_dsm(ns));
	CU_ASSERT(brisk_nvme_ns_has_volatile_write_cache(ns));
	ns = brisk_nvme_ctrlr_get_ns(ctrlr, 2);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ns);
	CU_ASSERT(!brisk_nvme_ns_is_active(ns));
	ut_detach(ctrlr, dev);
}

/* Before NVMe 1.1 there is no active namespace list: every nsid up to NN is
 * identified and those of size 0 are inactive. */
static void test_no_active_list(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;

	nvme_fake_default_params(&params);
	params.no_active_list = true;
	params.num_ns = 2;
	ctrlr = ut_attach("nolist0", &params, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_first_active_ns(ctrlr), 1);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_next_active_ns(ctrlr, 1), 2);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_next_active_ns(ctrlr, 2), 0);
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(ctrlr, 3));
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_size(brisk_nvme_ctrlr_get_ns(ctrlr, 2)), params.ns_bytes);
	ut_detach(ctrlr, dev);
}

static void test_found_enabled(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev = NULL;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_transport_id trid = { 0 };

	nvme_fake_default_params(&params);
	dev = nvme_fake_dev_create("enabled0", &params);
	nvme_fake_set_enabled(dev); /* as firmware leaves it */
	brisk_nvme_transport_id_parse(&trid, "trtype:fake traddr:enabled0");
	ctrlr = brisk_nvme_connect(&trid, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_get_regs_csts(ctrlr) & 1u, 1u);
	ut_detach(ctrlr, dev);
}

static void test_ready_timeout(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev = NULL;
	struct brisk_nvme_transport_id trid = { 0 };
	struct brisk_nvme_ctrlr *ctrlr;
	uint64_t start;

	nvme_fake_default_params(&params);
	params.cap_to = 1; /* 500 ms */
	dev = nvme_fake_dev_create("noready0", &params);
	nvme_fake_set_ready_never(dev, true);
	brisk_nvme_transport_id_parse(&trid, "trtype:fake traddr:noready0");
	start = brisk_get_time_us();
	CU_ASSERT_PTR_NULL(brisk_nvme_connect(&trid, NULL));
	CU_ASSERT(brisk_get_time_us() - start >= 500000);
	CU_ASSERT(brisk_get_time_us() - start < 3000000);
	/* The device is free again: with RDY working, it attaches. */
	nvme_fake_set_ready_never(dev, false);
	ctrlr = brisk_nvme_connect(&trid, NULL);
	CU_ASSERT_PTR_NOT_NULL(ctrlr);
	ut_detach(ctrlr, dev);
}

static void test_cfs_and_removed_at_bringup(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev = NULL;
	struct brisk_nvme_transport_id trid = { 0 };
	uint64_t start;

	nvme_fake_default_params(&params);
	dev = nvme_fake_dev_create("cfs0", &params);
	nvme_fake_set_cfs(dev, true);
	brisk_nvme_transport_id_parse(&trid, "trtype:fake traddr:cfs0");
	start = brisk_get_time_us();
	CU_ASSERT_PTR_NULL(brisk_nvme_connect(&trid, NULL));
	CU_ASSERT(brisk_get_time_us() - start < 400000); /* no wait for CAP.TO */
	nvme_fake_set_cfs(dev, false);
	nvme_fake_set_removed(dev, true);
	CU_ASSERT_PTR_NULL(brisk_nvme_connect(&trid, NULL));
	nvme_fake_dev_destroy(dev);
	/* No such device, no such transport. */
	CU_ASSERT_PTR_NULL(brisk_nvme_connect(&trid, NULL));
	trid.trtype = BRISK_NVME_TRANSPORT_TCP;
	CU_ASSERT_PTR_NULL(brisk_nvme_connect(&trid, NULL));
}

static void test_admin_commands(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_health_information_page *health;
	struct ut_io io = { 0 };
	uint8_t *buf;

	nvme_fake_default_params(&params);
	ctrlr = ut_attach("admin0", &params, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	buf = brisk_dma_zmalloc(4096, 4096, NULL);
	g_in_submit = true;
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, BRISK_NVME_LOG_HEALTH_INFORMATION,
			BRISK_NVME_GLOBAL_NS_TAG, buf, 512, 0, ut_io_cb, &io), 0);
	g_in_submit = false;
	CU_ASSERT(!io.done);
	CU_ASSERT(ut_wait(ctrlr, NULL, &io));
	CU_ASSERT(!io.ran_in_submit);
	CU_ASSERT(!brisk_nvme_cpl_is_error(&io.cpl));
	health = (void *)buf;
	CU_ASSERT_EQUAL(health->temperature, 310);
	CU_ASSERT_EQUAL(health->available_spare, 100);

	memset(&io, 0, sizeof(io));
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_set_feature(ctrlr, BRISK_NVME_FEAT_TEMPERATURE_THRESHOLD,
			350, 0, NULL, 0, ut_io_cb, &io), 0);
	CU_ASSERT(ut_wait(ctrlr, NULL, &io));
	memset(&io, 0, sizeof(io));
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_feature(ctrlr, BRISK_NVME_FEAT_TEMPERATURE_THRESHOLD,
			0, NULL, 0, ut_io_cb, &io), 0);
	CU_ASSERT(ut_wait(ctrlr, NULL, &io));
	CU_ASSERT_EQUAL(io.cpl.cdw0, 350);

	/* A log page the controller lacks: an error completion, not a hang. */
	memset(&io, 0, sizeof(io));
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, 0x70, 0, buf, 512, 0, ut_io_cb, &io), 0);
	CU_ASSERT(ut_wait(ctrlr, NULL, &io));
	CU_ASSERT(brisk_nvme_cpl_is_error(&io.cpl));
	CU_ASSERT_EQUAL(io.cpl.status.sct, BRISK_NVME_SCT_COMMAND_SPECIFIC);
	/* Bad arguments are refused up front. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, 2, 0, buf, 3, 0, ut_io_cb, &io), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_get_log_page(ctrlr, 2, 0, NULL, 512, 0, ut_io_cb, &io), -EINVAL);

	/* Raw passthrough: Identify Controller by hand. */
	{
		struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_IDENTIFY, .cdw10 = 1 };

		memset(&io, 0, sizeof(io));
		memset(buf, 0, 4096);
		CU_ASSERT_EQUAL(brisk_nvme_ctrlr_cmd_admin_raw(ctrlr, &cmd, buf, 4096, ut_io_cb, &io), 0);
		CU_ASSERT(ut_wait(ctrlr, NULL, &io));
		CU_ASSERT_EQUAL(((struct brisk_nvme_ctrlr_data *)buf)->vid, 0x1b36);
	}
	brisk_free(buf);
	ut_detach(ctrlr, dev);
}

static int g_aer_calls;
static uint32_t g_aer_cdw0;
static uint64_t g_aer_ns2_size;
static struct brisk_nvme_ctrlr *g_aer_ctrlr;

static void aer_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	g_aer_calls++;
	g_aer_cdw0 = cpl->cdw0;
	/* The re-scan has run before the callback. */
	g_aer_ns2_size = brisk_nvme_ns_get_size(brisk_nvme_ctrlr_get_ns(g_aer_ctrlr, 2));
}

static void test_aer_ns_change(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	union brisk_nvme_async_event_completion ev;
	uint64_t end;

	nvme_fake_default_params(&params);
	ctrlr = ut_attach("aer0", &params, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	g_aer_ctrlr = ctrlr;
	brisk_nvme_ctrlr_register_aer_callback(ctrlr, aer_cb, NULL);
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(ctrlr, 2));
	nvme_fake_ns_change(dev, 2, 1 << 20);
	end = brisk_get_time_us() + 1000000;
	while (g_aer_calls == 0 && brisk_get_time_us() < end) {
		brisk_nvme_ctrlr_process_admin_completions(ctrlr);
	}
	CU_ASSERT_EQUAL_FATAL(g_aer_calls, 1);
	ev.raw = g_aer_cdw0;
	CU_ASSERT_EQUAL(ev.bits.async_event_type, BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE);
	CU_ASSERT_EQUAL(ev.bits.async_event_info, BRISK_NVME_ASYNC_EVENT_NS_ATTR_CHANGED);
	CU_ASSERT_EQUAL(g_aer_ns2_size, 1 << 20);
	CU_ASSERT(brisk_nvme_ctrlr_is_active_ns(ctrlr, 2));
	/* AERs were sent again: a second event arrives too. */
	nvme_fake_ns_change(dev, 2, 0);
	end = brisk_get_time_us() + 1000000;
	while (g_aer_calls == 1 && brisk_get_time_us() < end) {
		brisk_nvme_ctrlr_process_admin_completions(ctrlr);
	}
	CU_ASSERT_EQUAL(g_aer_calls, 2);
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(ctrlr, 2));
	ut_detach(ctrlr, dev);
}

static void test_format(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	struct brisk_nvme_ns *ns;

	nvme_fake_default_params(&params);
	ctrlr = ut_attach("format0", &params, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	ns = brisk_nvme_ctrlr_get_ns(ctrlr, 1);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_sector_size(ns), 512);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_format(ctrlr, 1, 1, 0), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_sector_size(ns), 4096);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_num_sectors(ns), params.ns_bytes / 4096);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_format(ctrlr, 1, 7, 0), -EIO); /* no such format */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_format(ctrlr, 1, 16, 0), -EINVAL);
	ut_detach(ctrlr, dev);
}

static void test_detach_shutdown(void)
{
	struct nvme_fake_params params;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	union brisk_nvme_cc_register cc;

	nvme_fake_default_params(&params);
	ctrlr = ut_attach("shn0", &params, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	CU_ASSERT_PTR_NOT_NULL(brisk_nvme_ctrlr_alloc_io_qpair(ctrlr, NULL));
	CU_ASSERT_EQUAL(brisk_nvme_detach(ctrlr), 0); /* frees the qpair too */
	cc.raw = nvme_fake_get_cc(dev);
	CU_ASSERT_EQUAL(cc.bits.shn, BRISK_NVME_SHN_NORMAL);
	nvme_fake_dev_destroy(dev);
}

static int ut_setup(void)
{
	nvme_fake_transport_register();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "asynchronous bring-up", test_bringup_async },
	{ "namespace data", test_namespace_data },
	{ "no active namespace list (NVMe 1.0)", test_no_active_list },
	{ "controller found enabled", test_found_enabled },
	{ "CAP.TO timeout", test_ready_timeout },
	{ "CSTS.CFS and removal at bring-up", test_cfs_and_removed_at_bringup },
	{ "admin commands", test_admin_commands },
	{ "AER namespace change", test_aer_ns_change },
	{ "format", test_format },
	{ "detach shuts down", test_detach_shutdown },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_ctrlr", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvme_ctrlr",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
