/*
 * Namespace Management and Attachment against the fake controller's pool of
 * namespaces: create, attach, the active list and I/O on the new namespace,
 * detach, delete; and the refusals (no OACS bit, bad nsid, attaching twice,
 * detaching what is not attached, bad format, no capacity, a full pool).
 */
#include <errno.h>

#include "nvme_ut_common.h"
#include "../../common/ut_main.h"

/* The active nsids, in the driver's iteration order, into ids; count. */
static uint32_t active_list(struct brisk_nvme_ctrlr *ctrlr, uint32_t *ids, uint32_t max)
{
	uint32_t n = 0;

	for (uint32_t nsid = brisk_nvme_ctrlr_get_first_active_ns(ctrlr); nsid != 0 && n < max;
	     nsid = brisk_nvme_ctrlr_get_next_active_ns(ctrlr, nsid)) {
		ids[n++] = nsid;
	}
	return n;
}

static int create_ns(struct brisk_nvme_ctrlr *ctrlr, uint64_t blocks, uint8_t flbas,
		     uint32_t *nsid)
{
	struct brisk_nvme_ns_data nd = { .nsze = blocks, .ncap = blocks, .flbas = flbas };

	return brisk_nvme_ctrlr_create_ns(ctrlr, &nd, nsid);
}

static struct brisk_nvme_ctrlr *attach_mgmt(const char *name, struct nvme_fake_dev **dev)
{
	struct nvme_fake_params p;

	nvme_fake_default_params(&p);
	p.ns_mgmt = true;
	return ut_attach(name, &p, dev, NULL);
}

/* Writes a pattern to nsid's first 8 blocks and reads it back: 0, the
 * submission's errno, the status code of a failed command, or -1000 (no
 * completion) / -1001 (wrong data). */
static int io_round_trip(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
			 uint32_t nsid, uint8_t *buf, uint32_t bs)
{
	struct brisk_nvme_ns *ns = brisk_nvme_ctrlr_get_ns(ctrlr, nsid);
	struct ut_io w = { 0 }, r = { 0 };
	int rc;

	memset(buf, 0x5a + (int)nsid, 8 * bs);
	rc = brisk_nvme_ns_cmd_write(ns, qpair, buf, 0, 8, ut_io_cb, &w, 0);
	if (rc != 0 || !ut_wait(ctrlr, qpair, &w)) {
		return rc != 0 ? rc : -1000;
	}
	if (brisk_nvme_cpl_is_error(&w.cpl)) {
		return w.cpl.status.sc;
	}
	memset(buf, 0, 8 * bs);
	rc = brisk_nvme_ns_cmd_read(ns, qpair, buf, 0, 8, ut_io_cb, &r, 0);
	if (rc != 0 || !ut_wait(ctrlr, qpair, &r)) {
		return rc != 0 ? rc : -1000;
	}
	if (brisk_nvme_cpl_is_error(&r.cpl)) {
		return r.cpl.status.sc;
	}
	for (uint32_t i = 0; i < 8 * bs; i++) {
		if (buf[i] != (uint8_t)(0x5a + nsid)) {
			return -1001;
		}
	}
	return 0;
}

/* A one-block Read sent raw, past the driver's namespace checks: its status. */
static int raw_read(struct brisk_nvme_ctrlr *ctrlr, struct brisk_nvme_qpair *qpair,
		    uint32_t nsid, uint8_t *buf)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_READ, .nsid = nsid };
	struct ut_io io = { 0 };
	int rc = brisk_nvme_ctrlr_cmd_io_raw(ctrlr, qpair, &cmd, buf, 512, ut_io_cb, &io);

	if (rc != 0 || !ut_wait(ctrlr, qpair, &io)) {
		return rc != 0 ? rc : -1000;
	}
	return io.cpl.status.sc;
}

static void test_lifecycle(void)
{
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr = attach_mgmt("nsm0", &dev);
	struct brisk_nvme_qpair *qpair;
	uint32_t ids[8], nsid = 0;
	uint8_t *buf = brisk_dma_zmalloc(8 * 4096, 4096, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
	qpair = brisk_nvme_ctrlr_alloc_io_qpair(ctrlr, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(qpair);
	CU_ASSERT(brisk_nvme_ctrlr_get_data(ctrlr)->oacs & BRISK_NVME_OACS_NS_MANAGE);

	/* Create: allocated, not attached. */
	CU_ASSERT_EQUAL(create_ns(ctrlr, 2048, 0, &nsid), 0);
	CU_ASSERT_EQUAL(nsid, 2);
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(ctrlr, 2));
	CU_ASSERT_EQUAL(active_list(ctrlr, ids, 8), 1);
	CU_ASSERT_EQUAL(io_round_trip(ctrlr, qpair, 2, buf, 512), -EINVAL); /* driver: inactive */

	/* Attach: active, its data read, I/O works. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, 2), 0);
	CU_ASSERT(brisk_nvme_ctrlr_is_active_ns(ctrlr, 2));
	CU_ASSERT_EQUAL(active_list(ctrlr, ids, 8), 2);
	CU_ASSERT(ids[0] == 1 && ids[1] == 2);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_num_sectors(brisk_nvme_ctrlr_get_ns(ctrlr, 2)), 2048);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_sector_size(brisk_nvme_ctrlr_get_ns(ctrlr, 2)), 512);
	CU_ASSERT_EQUAL(io_round_trip(ctrlr, qpair, 2, buf, 512), 0);
	CU_ASSERT_EQUAL(nvme_fake_ns_ram(dev, 2)[0], 0x5c);
	CU_ASSERT_EQUAL(io_round_trip(ctrlr, qpair, 1, buf, 512), 0);

	/* Detach: gone from the active list; I/O refused by the driver and,
	 * sent raw, by the controller. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_detach_ns(ctrlr, 2), 0);
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(ctrlr, 2));
	CU_ASSERT_EQUAL(active_list(ctrlr, ids, 8), 1);
	CU_ASSERT_EQUAL(io_round_trip(ctrlr, qpair, 2, buf, 512), -EINVAL);
	CU_ASSERT_EQUAL(raw_read(ctrlr, qpair, 2, buf), BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT);

	/* Delete: no longer attachable; the identifier is free again. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_delete_ns(ctrlr, 2), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, 2), -ENOENT);
	CU_ASSERT_EQUAL(create_ns(ctrlr, 64, 1, &nsid), 0); /* 4 KiB blocks */
	CU_ASSERT_EQUAL(nsid, 2);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, 2), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ns_get_sector_size(brisk_nvme_ctrlr_get_ns(ctrlr, 2)), 4096);
	CU_ASSERT_EQUAL(io_round_trip(ctrlr, qpair, 2, buf, 4096), 0);
	/* Deleting an attached namespace detaches it. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_delete_ns(ctrlr, 2), 0);
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(ctrlr, 2));
	CU_ASSERT_EQUAL(active_list(ctrlr, ids, 8), 1);

	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_free_io_qpair(qpair), 0);
	brisk_free(buf);
	ut_detach(ctrlr, dev);
}

static void test_not_supported(void)
{
	struct nvme_fake_params p;
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr;
	uint32_t nsid = 0;

	nvme_fake_default_params(&p);
	ctrlr = ut_attach("nsm1", &p, &dev, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	CU_ASSERT_EQUAL(create_ns(ctrlr, 64, 0, &nsid), -ENOTSUP);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_delete_ns(ctrlr, 1), -ENOTSUP);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, 1), -ENOTSUP);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_detach_ns(ctrlr, 1), -ENOTSUP);
	CU_ASSERT_EQUAL(nvme_fake_get_stats(dev)->admin_cmds[BRISK_NVME_OPC_NS_MANAGEMENT], 0);
	CU_ASSERT_EQUAL(nvme_fake_get_stats(dev)->admin_cmds[BRISK_NVME_OPC_NS_ATTACHMENT], 0);
	CU_ASSERT(brisk_nvme_ctrlr_is_active_ns(ctrlr, 1));
	ut_detach(ctrlr, dev);
}

static void test_refusals(void)
{
	struct nvme_fake_dev *dev;
	struct brisk_nvme_ctrlr *ctrlr = attach_mgmt("nsm2", &dev);
	uint32_t ids[8], nsid = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ctrlr);
	/* Bad input: refused before any command. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_detach_ns(ctrlr, BRISK_NVME_GLOBAL_NS_TAG), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_delete_ns(ctrlr, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_create_ns(ctrlr, NULL, &nsid), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_create_ns(NULL, NULL, &nsid), -EINVAL);
	/* The controller's refusals, as errnos. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, 1), -EEXIST); /* attached already */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, 3), -ENOENT); /* no such namespace */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_detach_ns(ctrlr, 99), -ENOENT);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_delete_ns(ctrlr, 3), -ENOENT);
	CU_ASSERT_EQUAL(create_ns(ctrlr, 64, 5, &nsid), -EINVAL);       /* no format 5 */
	CU_ASSERT_EQUAL(create_ns(ctrlr, 1ull << 40, 0, &nsid), -ENOSPC);
	CU_ASSERT_EQUAL(create_ns(ctrlr, 64, 0, &nsid), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_detach_ns(ctrlr, nsid), -ENOENT); /* not attached */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, nsid), 0);
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_attach_ns(ctrlr, nsid), -EEXIST); /* twice */
	CU_ASSERT_EQUAL(create_ns(ctrlr, 64, 0, &nsid), 0);
	CU_ASSERT_EQUAL(create_ns(ctrlr, 64, 0, &nsid), 0);
	CU_ASSERT_EQUAL(create_ns(ctrlr, 64, 0, &nsid), -ENOSPC); /* pool of 4 used up */
	CU_ASSERT_EQUAL(active_list(ctrlr, ids, 8), 2);
	/* Delete them all: nothing active any more. */
	CU_ASSERT_EQUAL(brisk_nvme_ctrlr_delete_ns(ctrlr, BRISK_NVME_GLOBAL_NS_TAG), 0);
	CU_ASSERT_EQUAL(active_list(ctrlr, ids, 8), 0);
	CU_ASSERT(!brisk_nvme_ctrlr_is_active_ns(ctrlr, 1));
	ut_detach(ctrlr, dev);
}

static int ut_setup(void)
{
	nvme_fake_transport_register();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "create, attach, I/O, detach, delete", test_lifecycle },
	{ "no OACS bit 3: -ENOTSUP", test_not_supported },
	{ "refusals", test_refusals },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_ns_mgmt", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvme_ns_mgmt",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
