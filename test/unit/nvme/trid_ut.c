/*
 * Transport ID strings: every spelling of the keys and transport names,
 * PCI address forms, fields left alone, formatting round trips, comparison,
 * and bad input (each refused without changing the ID).
 */
#include "nvme_ut_common.h"
#include "../../common/ut_main.h"

static void test_parse_pcie(void)
{
	struct brisk_nvme_transport_id t = { 0 };

	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, "trtype:PCIe traddr:0000:00:04.0"), 0);
	CU_ASSERT_EQUAL(t.trtype, BRISK_NVME_TRANSPORT_PCIE);
	CU_ASSERT_STRING_EQUAL(t.traddr, "0000:00:04.0");

	memset(&t, 0, sizeof(t));
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, "TRTYPE=pcie  TrAddr=00:05.0"), 0);
	CU_ASSERT_EQUAL(t.trtype, BRISK_NVME_TRANSPORT_PCIE);
	CU_ASSERT_STRING_EQUAL(t.traddr, "0000:00:05.0");

	memset(&t, 0, sizeof(t));
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, "trtype=PCIe traddr=0000.00.04.0"), 0);
	CU_ASSERT_STRING_EQUAL(t.traddr, "0000:00:04.0");
}

static void test_parse_tcp(void)
{
	struct brisk_nvme_transport_id t = { 0 };

	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 "
			"trsvcid:4420 subnqn:nqn.2016-06.io.spdk:cnode1"), 0);
	CU_ASSERT_EQUAL(t.trtype, BRISK_NVME_TRANSPORT_TCP);
	CU_ASSERT_EQUAL(t.adrfam, BRISK_NVMF_ADRFAM_IPV4);
	CU_ASSERT_STRING_EQUAL(t.traddr, "127.0.0.1");
	CU_ASSERT_STRING_EQUAL(t.trsvcid, "4420");
	CU_ASSERT_STRING_EQUAL(t.subnqn, "nqn.2016-06.io.spdk:cnode1");

	/* Fields not given stay as they were. */
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, "adrfam:ipv6 traddr:::1"), 0);
	CU_ASSERT_EQUAL(t.adrfam, BRISK_NVMF_ADRFAM_IPV6);
	CU_ASSERT_STRING_EQUAL(t.traddr, "::1");
	CU_ASSERT_STRING_EQUAL(t.trsvcid, "4420");
	CU_ASSERT_EQUAL(t.trtype, BRISK_NVME_TRANSPORT_TCP);
}

static void test_parse_bad(void)
{
	struct brisk_nvme_transport_id t = { 0 }, before;
	char long_addr[400];
	const char *bad[] = {
		"trtype:RDMAX traddr:1.2.3.4", "trtype", "trtype:", ":PCIe", "foo:bar",
		"trtype:PCIe traddr:zz:99", "adrfam:IPv5", "trtype:PCIe traddr:0000:00:04.9",
	};

	brisk_nvme_transport_id_parse(&t, "trtype:TCP traddr:10.0.0.1 trsvcid:4420");
	before = t;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, bad[i]), -EINVAL);
		CU_ASSERT_EQUAL(memcmp(&t, &before, sizeof(t)), 0);
	}
	memset(long_addr, 'a', sizeof(long_addr));
	memcpy(long_addr, "traddr:", 7);
	long_addr[sizeof(long_addr) - 1] = '\0';
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, long_addr), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, "trsvcid:123456789012345678901234567890123"),
			-EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(NULL, "trtype:PCIe"), -EINVAL);
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, NULL), -EINVAL);
	CU_ASSERT_EQUAL(memcmp(&t, &before, sizeof(t)), 0);
	/* An empty string changes nothing and is fine. */
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_parse(&t, "   "), 0);
}

static void test_fmt_compare(void)
{
	struct brisk_nvme_transport_id a = { 0 }, b = { 0 };
	char buf[512];

	brisk_nvme_transport_id_parse(&a, "trtype:PCIe traddr:00:04.0");
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_fmt(buf, sizeof(buf), &a), 0);
	CU_ASSERT_STRING_EQUAL(buf, "trtype:PCIe traddr:0000:00:04.0");
	brisk_nvme_transport_id_parse(&b, buf);
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_fmt(buf, 10, &a), -ENOSPC);
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_compare(&a, &b), 0);
	brisk_nvme_transport_id_parse(&b, "traddr:0000:00:05.0");
	CU_ASSERT_NOT_EQUAL(brisk_nvme_transport_id_compare(&a, &b), 0);

	memset(&a, 0, sizeof(a));
	brisk_nvme_transport_id_parse(&a, "trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:4420 "
				      "subnqn:nqn.x");
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_fmt(buf, sizeof(buf), &a), 0);
	CU_ASSERT_STRING_EQUAL(buf, "trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:4420 subnqn:nqn.x");
	b = a;
	CU_ASSERT_EQUAL(brisk_nvme_transport_id_compare(&a, &b), 0);
	brisk_nvme_transport_id_parse(&b, "trsvcid:4421");
	CU_ASSERT_NOT_EQUAL(brisk_nvme_transport_id_compare(&a, &b), 0);
	CU_ASSERT_STRING_EQUAL(brisk_nvme_transport_id_trtype_str(BRISK_NVME_TRANSPORT_PCIE), "PCIe");
	CU_ASSERT_PTR_NULL(brisk_nvme_transport_id_trtype_str((enum brisk_nvme_transport_type)77));
}

static void test_status_strings(void)
{
	struct brisk_nvme_status st = { 0 };

	CU_ASSERT_STRING_EQUAL(brisk_nvme_cpl_get_status_string(&st), "SUCCESS");
	st.sc = BRISK_NVME_SC_ABORTED_SQ_DELETION;
	CU_ASSERT_STRING_EQUAL(brisk_nvme_cpl_get_status_string(&st), "ABORTED - SQ DELETION");
	st.sct = BRISK_NVME_SCT_MEDIA_ERROR;
	st.sc = BRISK_NVME_SC_COMPARE_FAILURE;
	CU_ASSERT_STRING_EQUAL(brisk_nvme_cpl_get_status_string(&st), "COMPARE FAILURE");
	st.sc = 0x7e;
	CU_ASSERT_STRING_EQUAL(brisk_nvme_cpl_get_status_string(&st), "UNKNOWN");
}

static int ut_setup(void)
{
	nvme_fake_transport_register();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "parse PCIe", test_parse_pcie },         { "parse TCP", test_parse_tcp },
	{ "bad input", test_parse_bad },           { "format and compare", test_fmt_compare },
	{ "status strings", test_status_strings }, CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_trid", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvme_trid",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
