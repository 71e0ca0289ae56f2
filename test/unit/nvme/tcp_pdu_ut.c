/*
 * NVMe/TCP host PDUs (lib/nvme/tcp_pdu.c): headers built with and without
 * digests and with the controller's data alignment, digests sealed and
 * checked (a flipped header or data byte is caught), ICResp negotiation,
 * and the checks that refuse a malformed received PDU.
 */
#include "nvme_ut_common.h"

#include <brisk/crc32c.h>

#include "../../../lib/nvme/nvme_tcp.h"
#include "../../common/ut_main.h"

static struct nvme_tcp_conn conn_with(bool hdgst, bool ddgst, uint32_t align)
{
	struct nvme_tcp_conn c = { .fd = -1, .hdgst = hdgst, .ddgst = ddgst, .cpda_align = align,
				   .rx_cap = 65536 };

	return c;
}

static void test_capsule_header(void)
{
	struct nvme_tcp_conn c = conn_with(false, false, 4);
	uint64_t mem[32];
	uint8_t *buf = (uint8_t *)mem;
	struct brisk_nvme_tcp_cmd *cmd = (void *)buf;
	uint32_t pdo, crc;

	pdo = nvme_tcp_pdu_init(&c, &cmd->ch, BRISK_NVME_TCP_PDU_CAPSULE_CMD, sizeof(*cmd), 0);
	CU_ASSERT_EQUAL(pdo, 0);
	CU_ASSERT_EQUAL(cmd->ch.plen, 72);
	CU_ASSERT_EQUAL(cmd->ch.flags, 0);
	pdo = nvme_tcp_pdu_init(&c, &cmd->ch, BRISK_NVME_TCP_PDU_CAPSULE_CMD, sizeof(*cmd), 100);
	CU_ASSERT_EQUAL(pdo, 72);
	CU_ASSERT_EQUAL(cmd->ch.pdo, 72);
	CU_ASSERT_EQUAL(cmd->ch.plen, 172);

	c = conn_with(true, true, 32); /* CPDA 7: data at a 32-byte boundary */
	pdo = nvme_tcp_pdu_init(&c, &cmd->ch, BRISK_NVME_TCP_PDU_CAPSULE_CMD, sizeof(*cmd), 100);
	CU_ASSERT_EQUAL(pdo, 96); /* 72 + 4 rounded up */
	CU_ASSERT_EQUAL(cmd->ch.plen, 96 + 100 + 4);
	CU_ASSERT_EQUAL(cmd->ch.flags, BRISK_NVME_TCP_FLAG_HDGST | BRISK_NVME_TCP_FLAG_DDGST);
	memset(buf + pdo, 0x5a, 100);
	nvme_tcp_pdu_seal(&c, buf);
	memcpy(&crc, buf + 72, sizeof(crc));
	CU_ASSERT_EQUAL(crc, brisk_crc32c(buf, 72));
	memcpy(&crc, buf + 196, sizeof(crc));
	CU_ASSERT_EQUAL(crc, brisk_crc32c(buf + 96, 100));
}

/* A C2HData as a controller would send it, with digests. */
static uint32_t build_c2h(struct nvme_tcp_conn *c, uint8_t *buf, uint32_t dlen)
{
	struct brisk_nvme_tcp_data_hdr *h = (void *)buf;
	uint32_t pdo = nvme_tcp_pdu_init(c, &h->ch, BRISK_NVME_TCP_PDU_C2H_DATA, sizeof(*h), dlen);

	h->cccid = 3;
	h->datal = dlen;
	for (uint32_t i = 0; i < dlen; i++) {
		buf[pdo + i] = (uint8_t)i;
	}
	nvme_tcp_pdu_seal(c, buf);
	return pdo;
}

static void test_c2h_digests(void)
{
	struct nvme_tcp_conn c = conn_with(true, true, 4);
	uint64_t mem[128];
	uint8_t *buf = (uint8_t *)mem;
	const uint8_t *data;
	const char *why = NULL;
	uint32_t dlen, pdo = build_c2h(&c, buf, 512);

	CU_ASSERT_EQUAL(nvme_tcp_ch_check(&c, (void *)buf, &why), 0);
	CU_ASSERT_EQUAL(nvme_tcp_pdu_check(&c, buf, &data, &dlen, &why), 0);
	CU_ASSERT_PTR_EQUAL(data, buf + pdo);
	CU_ASSERT_EQUAL(dlen, 512);

	buf[pdo + 7] ^= 1;
	CU_ASSERT_EQUAL(nvme_tcp_pdu_check(&c, buf, &data, &dlen, &why), -EPROTO);
	CU_ASSERT_STRING_EQUAL(why, "data digest mismatch");
	buf[pdo + 7] ^= 1;
	buf[12] ^= 1; /* DATAO */
	CU_ASSERT_EQUAL(nvme_tcp_pdu_check(&c, buf, &data, &dlen, &why), -EPROTO);
	CU_ASSERT_STRING_EQUAL(why, "header digest mismatch");
	buf[12] ^= 1;

	((struct brisk_nvme_tcp_data_hdr *)buf)->datal = 511;
	nvme_tcp_pdu_seal(&c, buf);
	CU_ASSERT_EQUAL(nvme_tcp_pdu_check(&c, buf, &data, &dlen, &why), -EPROTO);
	CU_ASSERT_STRING_EQUAL(why, "C2HData DATAL differs from the PDU's data length");
}

static void expect_refused(struct nvme_tcp_conn *c, struct brisk_nvme_tcp_common_hdr *ch)
{
	const char *why = NULL;

	CU_ASSERT_EQUAL(nvme_tcp_ch_check(c, ch, &why), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(why);
}

static void test_bad_headers(void)
{
	struct nvme_tcp_conn c = conn_with(false, false, 4);
	struct brisk_nvme_tcp_common_hdr ch = { .pdu_type = BRISK_NVME_TCP_PDU_CAPSULE_RESP,
						.hlen = 24, .plen = 24 };
	const char *why = NULL;

	CU_ASSERT_EQUAL(nvme_tcp_ch_check(&c, &ch, &why), 0);
	ch.hlen = 20;
	expect_refused(&c, &ch);                        /* wrong hlen */
	ch.hlen = 24;
	ch.plen = 28;
	expect_refused(&c, &ch);                        /* data on a response */
	ch.plen = 24;
	ch.flags = BRISK_NVME_TCP_FLAG_HDGST;
	expect_refused(&c, &ch);                        /* digest not negotiated */
	ch.flags = 0;
	ch.pdu_type = BRISK_NVME_TCP_PDU_H2C_DATA;
	expect_refused(&c, &ch);                        /* a host-to-controller PDU */
	ch.pdu_type = 0x7f;
	expect_refused(&c, &ch);                        /* unknown type */
	ch = (struct brisk_nvme_tcp_common_hdr){ .pdu_type = BRISK_NVME_TCP_PDU_C2H_DATA, .hlen = 24,
						 .pdo = 16, .plen = 100 };
	expect_refused(&c, &ch);                        /* data inside the header */
	ch.pdo = 24;
	ch.plen = 24;
	expect_refused(&c, &ch);                        /* no data */
	ch.plen = c.rx_cap + 1;
	expect_refused(&c, &ch);                        /* beyond the receive buffer */
	ch.plen = 100;
	CU_ASSERT_EQUAL(nvme_tcp_ch_check(&c, &ch, &why), 0);
	ch.flags = BRISK_NVME_TCP_FLAG_DDGST;
	expect_refused(&c, &ch);                        /* data digest not negotiated */
}

static void test_ic_resp(void)
{
	struct nvme_tcp_conn c = conn_with(true, false, 4);
	struct brisk_nvme_tcp_ic_req req;
	struct brisk_nvme_tcp_ic_resp r = { .ch = { .pdu_type = BRISK_NVME_TCP_PDU_IC_RESP,
						    .hlen = 128, .plen = 128 },
					    .cpda = 1, .dgst = BRISK_NVME_TCP_DGST_HDR,
					    .maxh2cdata = 131072 };
	const char *why = NULL;

	nvme_tcp_ic_req_build(&req, true, false);
	CU_ASSERT_EQUAL(req.ch.plen, 128);
	CU_ASSERT_EQUAL(req.dgst, BRISK_NVME_TCP_DGST_HDR);
	CU_ASSERT_EQUAL(nvme_tcp_ic_resp_check(&c, &r, &why), 0);
	CU_ASSERT(c.hdgst && !c.ddgst);
	CU_ASSERT_EQUAL(c.cpda_align, 8);
	CU_ASSERT_EQUAL(c.maxh2cdata, 131072);

	r.dgst = BRISK_NVME_TCP_DGST_DATA; /* the host did not ask for it */
	CU_ASSERT_EQUAL(nvme_tcp_ic_resp_check(&c, &r, &why), -EPROTO);
	r.dgst = 0;
	r.maxh2cdata = 1000;
	CU_ASSERT_EQUAL(nvme_tcp_ic_resp_check(&c, &r, &why), -EPROTO);
	r.maxh2cdata = 8192;
	r.pfv = 1;
	CU_ASSERT_EQUAL(nvme_tcp_ic_resp_check(&c, &r, &why), -EPROTO);
	r.pfv = 0;
	r.ch.pdu_type = BRISK_NVME_TCP_PDU_CAPSULE_RESP;
	CU_ASSERT_EQUAL(nvme_tcp_ic_resp_check(&c, &r, &why), -EPROTO);
	r.ch.pdu_type = BRISK_NVME_TCP_PDU_IC_RESP;
	CU_ASSERT_EQUAL(nvme_tcp_ic_resp_check(&c, &r, &why), 0);
	CU_ASSERT(!c.hdgst && !c.ddgst); /* the controller turned the digest down */
}

static int ut_setup(void)
{
	nvme_fake_transport_register();
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "capsule header, alignment, digests", test_capsule_header },
	{ "C2HData digests and DATAL", test_c2h_digests },
	{ "malformed headers refused", test_bad_headers },
	{ "ICReq/ICResp negotiation", test_ic_resp },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvme_tcp_pdu", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvme_tcp_pdu",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.setup = ut_setup,
	.suites = g_ut_suites,
};
