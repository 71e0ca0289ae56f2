/*
 * lib/nvmf unit tests: NQN validation; the PDU header checks of tcp_pdu.c
 * over a table of good and bad headers; and a connection driven through a
 * socketpair (no threads, no network): ICReq -> ICResp with the digests
 * asked for, commands before Connect, Connect's own checks, Property
 * Get/Set on a controller, Identify Controller data, and malformed PDUs
 * that must end in a C2HTermReq with the right FES.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/crc32c.h>

#include "../../../lib/nvmf/nvmf_internal.h"
#include "../../common/ut_main.h"

/* ---- NQN ---- */

static void test_nqn(void)
{
	const char *good[] = {
		"nqn.2016-06.io.spdk:cnode1", "nqn.2014-08.org.nvmexpress.discovery",
		"nqn.2014-08.org.nvmexpress:uuid:6f1d2b9a-52c4-4a3e-8a51-3b7e1f0c9d21", "nqn.2021-12.com.example",
		"nqn.2021-12.com.exa-mple:x\xc3\xa9",
	};
	const char *bad[] = {
		"", "nqn.", "nqn.2016-06.", "iqn.2016-06.io.spdk:a", "nqn.16-06.io.spdk:a", "nqn.2016-13.io.spdk:a",
		"nqn.2016-00.io.spdk:a", "nqn.2016-06.-io.spdk:a", "nqn.2016-06.io..spdk:a", "nqn.2016-06.io.spdk-:a",
		"nqn.2016-06.io.spdk:", "nqn.2014-08.org.nvmexpress:uuid:not-a-uuid", "nqn.2016-06.io_x.spdk:a",
		"nqn.2016-06.io.spdk:\xff\xfe",
	};
	char longnqn[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CU_ASSERT_EQUAL(nvmf_nqn_validate(good[i]), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT_EQUAL(nvmf_nqn_validate(bad[i]), -EINVAL);
	}
	CU_ASSERT_EQUAL(nvmf_nqn_validate(NULL), -EINVAL);
	snprintf(longnqn, sizeof(longnqn), "nqn.2016-06.io.spdk:");
	memset(longnqn + strlen(longnqn), 'a', 223 - strlen(longnqn));
	longnqn[223] = '\0';
	CU_ASSERT_EQUAL(nvmf_nqn_validate(longnqn), 0);
	strcat(longnqn, "b");
	CU_ASSERT_EQUAL(nvmf_nqn_validate(longnqn), -EINVAL);
}

/* ---- PDU header checks ---- */

static struct brisk_nvme_tcp_common_hdr ch(uint8_t type, uint8_t flags, uint8_t hlen, uint8_t pdo, uint32_t plen)
{
	struct brisk_nvme_tcp_common_hdr h = { type, flags, hlen, pdo, plen };

	return h;
}

static void test_check_ch(void)
{
	struct nvmf_tcp_limits pre = { .ic_done = false, .max_icd = 8192, .maxh2cdata = 131072 };
	struct nvmf_tcp_limits lim = { .ic_done = true, .max_icd = 8192, .maxh2cdata = 131072 };
	struct nvmf_tcp_limits dg = { .ic_done = true, .hdgst = true, .ddgst = true, .max_icd = 8192,
				      .maxh2cdata = 131072 };
	struct brisk_nvme_tcp_common_hdr h;
	uint32_t fei = 99;

	h = ch(0, 0, 128, 0, 128);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &pre, &fei), 0);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	h = ch(4, 0, 72, 0, 72);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &pre, &fei), BRISK_NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), 0);
	CU_ASSERT_EQUAL(nvmf_tcp_data_len(&h), 0);
	h = ch(0, 0, 128, 0, 129);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &pre, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_EQUAL(fei, 4);
	h = ch(0x0f, 0, 72, 0, 72);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_EQUAL(fei, 0);
	h = ch(7, 0, 24, 0, 24); /* C2HData never comes from a host */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	h = ch(4, 0, 70, 0, 70);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_EQUAL(fei, 2);
	h = ch(4, 0, 72, 72, 72 + 4096); /* in-capsule data */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), 0);
	CU_ASSERT_EQUAL(nvmf_tcp_data_len(&h), 4096);
	h = ch(4, 0, 72, 72, 72 + 8193);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED);
	h = ch(4, 0, 72, 40, 72 + 100); /* PDO inside the header */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_EQUAL(fei, 3);
	h = ch(4, 0, 72, 0, 60); /* plen below hlen */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	h = ch(4, BRISK_NVME_TCP_FLAG_HDGST, 72, 0, 76); /* digest not negotiated */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_EQUAL(fei, 1);
	h = ch(4, 0, 72, 0, 72); /* digest negotiated but missing */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &dg, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	h = ch(4, BRISK_NVME_TCP_FLAG_HDGST | BRISK_NVME_TCP_FLAG_DDGST, 72, 76, 76 + 512 + 4);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &dg, &fei), 0);
	CU_ASSERT_EQUAL(nvmf_tcp_hdgst_len(&h), 4);
	CU_ASSERT_EQUAL(nvmf_tcp_data_len(&h), 512);
	h = ch(6, 0, 24, 24, 24); /* H2CData without data */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	h = ch(6, 0, 24, 24, 24 + 131073);
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_DATA_LIMIT_EXCEEDED);
	h = ch(2, 0, 24, 0, 24 + 152 + 1); /* H2CTermReq too long */
	CU_ASSERT_EQUAL(nvmf_tcp_check_ch(&h, &lim, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
}

static void test_icreq(void)
{
	struct brisk_nvme_tcp_ic_req ic = {0};
	struct brisk_nvme_tcp_ic_resp r;
	uint32_t fei = 0;

	ic.dgst = 3;
	CU_ASSERT_EQUAL(nvmf_tcp_check_icreq(&ic, &fei), 0);
	ic.pfv = 1;
	CU_ASSERT_EQUAL(nvmf_tcp_check_icreq(&ic, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_EQUAL(fei, 8);
	ic.pfv = 0;
	ic.hpda = 32;
	CU_ASSERT_EQUAL(nvmf_tcp_check_icreq(&ic, &fei), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_EQUAL(fei, 10);
	ic.dgst = 0xff;
	nvmf_tcp_fill_icresp(&r, &ic, 65536);
	CU_ASSERT_EQUAL(r.ch.pdu_type, BRISK_NVME_TCP_PDU_IC_RESP);
	CU_ASSERT_EQUAL(r.ch.plen, 128);
	CU_ASSERT_EQUAL(r.dgst, 3);
	CU_ASSERT_EQUAL(r.maxh2cdata, 65536);
}

/* ---- a connection over a socketpair ---- */

static struct nvmf_transport g_tr;
static int g_peer = -1;
static struct nvmf_conn *g_c;

static void conn_open(void)
{
	int sv[2];

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	g_peer = sv[1];
	g_c = nvmf_conn_create(NULL, sv[0], &(struct nvmf_listen_addr){0}, "unit-test");
	CU_ASSERT_FATAL(g_c != NULL);
}

static void conn_close(void)
{
	if (!g_c->dead) {
		nvmf_conn_disconnect(g_c);
	}
	g_c->ctrlr = NULL;
	nvmf_conn_free(g_c);
	close(g_peer);
}

static void peer_send(const void *buf, size_t len)
{
	CU_ASSERT_EQUAL(write(g_peer, buf, len), (ssize_t)len);
}

/* Runs the connection until the peer has n bytes (or nothing more comes). */
static ssize_t peer_recv(void *buf, size_t n)
{
	size_t got = 0;

	for (int i = 0; i < 100 && got < n; i++) {
		ssize_t r;

		if (!g_c->dead) {
			nvmf_conn_poll(g_c);
		}
		r = read(g_peer, (uint8_t *)buf + got, n - got);
		if (r > 0) {
			got += (size_t)r;
		} else if (r == 0) {
			break;
		}
	}
	return (ssize_t)got;
}

static void send_icreq(uint8_t dgst)
{
	struct brisk_nvme_tcp_ic_req ic = { .ch = { 0, 0, 128, 0, 128 }, .dgst = dgst };
	struct brisk_nvme_tcp_ic_resp r;

	peer_send(&ic, sizeof(ic));
	CU_ASSERT_EQUAL(peer_recv(&r, sizeof(r)), (ssize_t)sizeof(r));
	CU_ASSERT_EQUAL(r.ch.pdu_type, BRISK_NVME_TCP_PDU_IC_RESP);
	CU_ASSERT_EQUAL(r.dgst, dgst);
	CU_ASSERT(r.maxh2cdata >= 4096);
}

static void send_capsule(const struct brisk_nvme_cmd *cmd, const void *data, uint32_t dlen)
{
	struct brisk_nvme_tcp_cmd cap = { .ch = { 4, 0, 72, dlen ? 72 : 0, 72 + dlen }, .ccsqe = *cmd };

	peer_send(&cap, sizeof(cap));
	if (dlen) {
		peer_send(data, dlen);
	}
}

static struct brisk_nvme_cpl recv_cpl(void)
{
	struct brisk_nvme_tcp_rsp rsp = {0};

	CU_ASSERT_EQUAL(peer_recv(&rsp, sizeof(rsp)), (ssize_t)sizeof(rsp));
	CU_ASSERT_EQUAL(rsp.ch.pdu_type, BRISK_NVME_TCP_PDU_CAPSULE_RESP);
	return rsp.rccqe;
}

static uint16_t recv_term(void)
{
	struct brisk_nvme_tcp_term_req t = {0};

	CU_ASSERT(peer_recv(&t, sizeof(t)) >= (ssize_t)sizeof(t));
	CU_ASSERT_EQUAL(t.ch.pdu_type, BRISK_NVME_TCP_PDU_C2H_TERM_REQ);
	return t.fes;
}

static struct brisk_nvme_cmd fabrics_cmd(uint8_t fctype, uint16_t cid)
{
	struct brisk_nvme_cmd c = { .opc = BRISK_NVME_OPC_FABRIC, .psdt = 1, .cid = cid };

	((struct brisk_nvmf_capsule_cmd *)&c)->fctype = fctype;
	return c;
}

static void test_icreq_and_sequence(void)
{
	struct brisk_nvme_cmd c = fabrics_cmd(BRISK_NVMF_FCTYPE_PROPERTY_GET, 7);
	struct brisk_nvme_cpl cpl;

	conn_open();
	send_icreq(0);
	CU_ASSERT_FALSE(g_c->lim.hdgst);
	send_capsule(&c, NULL, 0);
	cpl = recv_cpl();
	CU_ASSERT_EQUAL(cpl.cid, 7);
	CU_ASSERT_EQUAL(cpl.status.sc, BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR);
	c = (struct brisk_nvme_cmd) { .opc = BRISK_NVME_OPC_IDENTIFY, .cid = 8 };
	send_capsule(&c, NULL, 0);
	cpl = recv_cpl();
	CU_ASSERT_EQUAL(cpl.status.sc, BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR);
	CU_ASSERT_FALSE(g_c->dead);
	conn_close();
}

/* A Connect capsule with 1 KiB of in-capsule data and a second capsule in
 * one write: the data must land in the Connect (its host NQN is refused,
 * which only the data holds), the second capsule must still be parsed. */
static void batched_icd_then_capsule(void)
{
	struct {
		struct brisk_nvme_tcp_cmd conn;
		struct brisk_nvmf_connect_data data;
		struct brisk_nvme_tcp_cmd next;
	} __attribute__((packed)) buf;
	struct brisk_nvme_cmd c = fabrics_cmd(BRISK_NVMF_FCTYPE_CONNECT, 5);
	struct brisk_nvmf_connect_cmd *cc = (void *)&c;
	struct brisk_nvme_cpl cpl;

	CU_ASSERT_EQUAL(sizeof(buf.data), 1024);
	memset(&buf, 0, sizeof(buf));
	cc->sqsize = 31;
	cc->sgl1.length = 1024;
	cc->sgl1.type_subtype = 0x01;
	buf.conn = (struct brisk_nvme_tcp_cmd){ .ch = { 4, 0, 72, 72, 72 + 1024 }, .ccsqe = c };
	buf.data.cntlid = 0xffff;
	snprintf(buf.data.subnqn, sizeof(buf.data.subnqn), "nqn.2016-06.io.spdk:cnode1");
	memcpy(buf.data.hostnqn, "not a host nqn", 14);
	c = fabrics_cmd(BRISK_NVMF_FCTYPE_PROPERTY_GET, 6);
	buf.next = (struct brisk_nvme_tcp_cmd){ .ch = { 4, 0, 72, 0, 72 }, .ccsqe = c };
	conn_open();
	send_icreq(0);
	peer_send(&buf, sizeof(buf));
	cpl = recv_cpl();
	CU_ASSERT_EQUAL(cpl.cid, 5);
	CU_ASSERT_EQUAL(cpl.status.sc, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS);
	CU_ASSERT_EQUAL(cpl.cdw0, BRISK_NVMF_CONNECT_IATTR_DATA | 512);
	cpl = recv_cpl();
	CU_ASSERT_EQUAL(cpl.cid, 6);
	CU_ASSERT_FALSE(g_c->dead);
	conn_close();
}

/* The read-ahead: many capsules in one write come out of one recv in
 * order; a capsule trickling in byte by byte is assembled across polls;
 * in-capsule data batched with the next capsule goes to the right request. */
static void test_batched_and_split_pdus(void)
{
	enum { N = 40 };
	struct brisk_nvme_tcp_cmd caps[N];
	struct brisk_nvme_cmd c = fabrics_cmd(BRISK_NVMF_FCTYPE_PROPERTY_GET, 0);
	const uint8_t *bytes;
	struct brisk_nvme_cpl cpl;

	conn_open();
	send_icreq(0);
	for (int i = 0; i < N; i++) {
		c.cid = (uint16_t)(100 + i);
		caps[i] = (struct brisk_nvme_tcp_cmd){ .ch = { 4, 0, 72, 0, 72 }, .ccsqe = c };
	}
	peer_send(caps, sizeof(caps));
	for (int i = 0; i < N; i++) {
		cpl = recv_cpl();
		CU_ASSERT_EQUAL(cpl.cid, 100 + i);
	}
	bytes = (const uint8_t *)&caps[7];
	for (size_t i = 0; i < sizeof(caps[7]); i++) {
		peer_send(bytes + i, 1);
		nvmf_conn_poll(g_c);
	}
	cpl = recv_cpl();
	CU_ASSERT_EQUAL(cpl.cid, 107);
	CU_ASSERT_FALSE(g_c->dead);
	conn_close();
	batched_icd_then_capsule();
}

static void connect_expect(uint16_t recfmt, uint16_t sqsize, const char *hostnqn, uint32_t dlen, int sct, int sc,
			   uint32_t cdw0)
{
	struct brisk_nvme_cmd c = fabrics_cmd(BRISK_NVMF_FCTYPE_CONNECT, 3);
	struct brisk_nvmf_connect_cmd *cc = (void *)&c;
	struct brisk_nvmf_connect_data d = {0};
	struct brisk_nvme_cpl cpl;

	cc->recfmt = recfmt;
	cc->sqsize = sqsize;
	cc->sgl1.length = dlen;
	cc->sgl1.type_subtype = 0x01;
	d.cntlid = 0xffff;
	snprintf(d.subnqn, sizeof(d.subnqn), "nqn.2016-06.io.spdk:cnode1");
	memcpy(d.hostnqn, hostnqn, strnlen(hostnqn, sizeof(d.hostnqn)));
	send_capsule(&c, &d, dlen);
	cpl = recv_cpl();
	CU_ASSERT_EQUAL(cpl.status.sct, sct);
	CU_ASSERT_EQUAL(cpl.status.sc, sc);
	CU_ASSERT_EQUAL(cpl.cdw0, cdw0);
	CU_ASSERT_PTR_NULL(g_c->ctrlr);
}

static void test_connect_checks(void)
{
	const char *host = "nqn.2014-08.org.nvmexpress:uuid:6f1d2b9a-52c4-4a3e-8a51-3b7e1f0c9d21";

	conn_open();
	send_icreq(0);
	connect_expect(1, 31, host, 1024, 1, BRISK_NVMF_SC_CONNECT_INCOMPATIBLE_FORMAT, 0);
	connect_expect(0, 0, host, 1024, 1, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, 44);
	connect_expect(0, 500, host, 1024, 1, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS, 44);
	connect_expect(0, 31, "not a host nqn", 1024, 1, BRISK_NVMF_SC_CONNECT_INVALID_PARAMETERS,
		       BRISK_NVMF_CONNECT_IATTR_DATA | 512);
	connect_expect(0, 31, host, 512, 0, BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID, 0);
	CU_ASSERT_FALSE(g_c->dead);
	conn_close();
}

static struct nvmf_subsystem g_subsys = {
	.nqn = "nqn.2016-06.io.spdk:cnode1", .subtype = BRISK_NVMF_SUBTYPE_NVME, .sn = "SN123",
	.mn = "Model X", .max_nsid = 8,
};

static void prop(uint8_t fctype, uint32_t ofst, uint8_t size, uint64_t value, struct brisk_nvme_cpl *cpl)
{
	struct brisk_nvme_cmd c = fabrics_cmd(fctype, 9);
	struct brisk_nvmf_property_cmd *p = (void *)&c;

	p->ofst = ofst;
	p->attrib = size;
	p->value = value;
	send_capsule(&c, NULL, 0);
	*cpl = recv_cpl();
}

static void test_properties(void)
{
	struct nvmf_ctrlr ctrlr = { .cntlid = 5, .subsys = &g_subsys, .cap = 0x201e01007full, .vs = 0x10300 };
	struct brisk_nvme_cpl cpl;

	conn_open();
	send_icreq(0);
	g_c->ctrlr = &ctrlr;
	prop(BRISK_NVMF_FCTYPE_PROPERTY_GET, BRISK_NVME_REG_CAP, BRISK_NVMF_PROP_SIZE_8, 0, &cpl);
	CU_ASSERT_EQUAL(cpl.status.sc, 0);
	CU_ASSERT_EQUAL(cpl.cdw0 | ((uint64_t)cpl.cdw1 << 32), 0x201e01007full);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_GET, BRISK_NVME_REG_CAP, BRISK_NVMF_PROP_SIZE_4, 0, &cpl);
	CU_ASSERT_EQUAL(cpl.status.sc, BRISK_NVME_SC_INVALID_FIELD);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_GET, BRISK_NVME_REG_VS, BRISK_NVMF_PROP_SIZE_4, 0, &cpl);
	CU_ASSERT_EQUAL(cpl.cdw0, 0x10300);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_SET, BRISK_NVME_REG_CC, BRISK_NVMF_PROP_SIZE_4, 1 | (6 << 16) | (4 << 20), &cpl);
	CU_ASSERT_EQUAL(cpl.status.sc, 0);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_GET, BRISK_NVME_REG_CSTS, BRISK_NVMF_PROP_SIZE_4, 0, &cpl);
	CU_ASSERT_EQUAL(cpl.cdw0 & 1, 1);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_SET, BRISK_NVME_REG_CC, BRISK_NVMF_PROP_SIZE_4,
	     1 | (BRISK_NVME_SHN_NORMAL << 14), &cpl);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_GET, BRISK_NVME_REG_CSTS, BRISK_NVMF_PROP_SIZE_4, 0, &cpl);
	CU_ASSERT_EQUAL((cpl.cdw0 >> 2) & 3, BRISK_NVME_SHST_COMPLETE);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_SET, BRISK_NVME_REG_CC, BRISK_NVMF_PROP_SIZE_4, 0, &cpl);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_GET, BRISK_NVME_REG_CSTS, BRISK_NVMF_PROP_SIZE_4, 0, &cpl);
	CU_ASSERT_EQUAL(cpl.cdw0 & 1, 0);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_SET, BRISK_NVME_REG_CAP, BRISK_NVMF_PROP_SIZE_8, 0, &cpl);
	CU_ASSERT_EQUAL(cpl.status.sc, BRISK_NVME_SC_INVALID_FIELD);
	prop(BRISK_NVMF_FCTYPE_PROPERTY_GET, 0x50, BRISK_NVMF_PROP_SIZE_4, 0, &cpl);
	CU_ASSERT_EQUAL(cpl.status.sc, BRISK_NVME_SC_INVALID_FIELD);
	conn_close();
}

static void test_identify_ctrlr(void)
{
	struct nvmf_ctrlr ctrlr = { .cntlid = 5, .subsys = &g_subsys, .vs = 0x10300 };
	struct brisk_nvme_ctrlr_data cd;
	struct brisk_nvmf_ctrlr_fabrics_data *f = (void *)cd.nvmf;

	nvmf_ctrlr_fill_identify(&ctrlr, &cd);
	CU_ASSERT_EQUAL(memcmp(cd.sn, "SN123               ", 20), 0);
	CU_ASSERT_EQUAL(memcmp(cd.mn, "Model X", 7), 0);
	CU_ASSERT_EQUAL(cd.mn[39], ' ');
	CU_ASSERT_STRING_EQUAL(cd.subnqn, g_subsys.nqn);
	CU_ASSERT_EQUAL(cd.cntlid, 5);
	CU_ASSERT_EQUAL(cd.nn, 8);
	CU_ASSERT_EQUAL(cd.mdts, 5); /* 128 KiB in 4 KiB pages */
	CU_ASSERT_EQUAL(cd.maxcmd, g_tr.opts.max_queue_depth);
	CU_ASSERT_EQUAL(cd.cntrltype, BRISK_NVME_CNTRLTYPE_IO);
	CU_ASSERT_EQUAL(f->ioccsz, (64 + 4096) / 16);
	CU_ASSERT_EQUAL(f->iorcsz, 1);
	CU_ASSERT_EQUAL(f->icdoff, 0);
	CU_ASSERT(cd.sgls & 1);
	CU_ASSERT(cd.oncs & BRISK_NVME_ONCS_DSM);
}

static void test_malformed_term(void)
{
	struct brisk_nvme_tcp_common_hdr bad = ch(0x0f, 0, 72, 0, 72);
	uint8_t zeros[64] = {0};
	struct brisk_nvme_cmd c = { .opc = BRISK_NVME_OPC_IDENTIFY, .cid = 1 };
	struct brisk_nvme_tcp_cmd cap = { .ch = { 4, BRISK_NVME_TCP_FLAG_HDGST, 72, 0, 76 }, .ccsqe = c };
	uint32_t crc;

	conn_open();
	send_icreq(0);
	peer_send(&bad, sizeof(bad));
	peer_send(zeros, sizeof(zeros));
	CU_ASSERT_EQUAL(recv_term(), BRISK_NVME_TCP_FES_INVALID_HEADER_FIELD);
	CU_ASSERT_TRUE(g_c->dead);
	conn_close();

	conn_open();
	send_icreq(BRISK_NVME_TCP_DGST_HDR);
	crc = brisk_crc32c(&cap, sizeof(cap)) ^ 1;
	peer_send(&cap, sizeof(cap));
	peer_send(&crc, sizeof(crc));
	CU_ASSERT_EQUAL(recv_term(), BRISK_NVME_TCP_FES_HDGST_ERROR);
	conn_close();

	conn_open();
	send_icreq(0);
	peer_send(&(struct brisk_nvme_tcp_ic_req){ .ch = { 0, 0, 128, 0, 128 } }, 128);
	CU_ASSERT_EQUAL(recv_term(), BRISK_NVME_TCP_FES_PDU_SEQUENCE_ERROR);
	conn_close();
}

static int suite_init(void)
{
	nvmf_transport_opts_default(&g_tr.opts);
	g_nvmf_tgt.tcp = &g_tr;
	g_nvmf_tgt.poll_mode = true; /* no thread to register fds with */
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_nqn),
	BRISK_UT_TEST(test_check_ch),
	BRISK_UT_TEST(test_icreq),
	BRISK_UT_TEST(test_icreq_and_sequence),
	BRISK_UT_TEST(test_batched_and_split_pdus),
	BRISK_UT_TEST(test_connect_checks),
	BRISK_UT_TEST(test_properties),
	BRISK_UT_TEST(test_identify_ctrlr),
	BRISK_UT_TEST(test_malformed_term),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvmf_tcp", suite_init, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "nvmf_tcp_ut",
	.suites = g_ut_suites,
};
