/*
 * lib/iscsi unit tests: the BHS checks of pdu.c over good and bad headers
 * (reject vs close), the data digest with padding, key=value parsing,
 * operational negotiation rules (min, max, OR, AND, declarative, digest
 * lists, out-of-range values), MD5 against RFC 1321's vectors, CHAP
 * responses against an independent MD5, and the CHAP value encodings.
 */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/crc32c.h>

#include "../../../lib/iscsi/iscsi_chap.h"
#include "../../../lib/iscsi/iscsi_pdu.h"
#include "../../../lib/iscsi/iscsi_text.h"
#include "../../common/ut_main.h"

static void bhs_make(uint8_t *b, uint8_t op, uint8_t flags, uint32_t dsl)
{
	memset(b, 0, ISCSI_BHS_LEN);
	b[0] = op;
	b[1] = flags;
	iscsi_set_dsl(b, dsl);
}

static void test_pdu_check(void)
{
	struct iscsi_pdu_limits ffp = {.full_feature = true, .max_recv_dsl = 8192};
	struct iscsi_pdu_limits login = {.full_feature = false, .max_recv_dsl = 8192};
	struct iscsi_pdu_limits disc = {.full_feature = true, .discovery = true, .max_recv_dsl = 8192};
	uint8_t b[ISCSI_BHS_LEN];
	char err[128];

	bhs_make(b, ISCSI_OP_SCSI_CMD, 0x80 | ISCSI_CMD_READ, 0);
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &ffp, err, sizeof(err)), 0);
	/* before login: anything but Login closes */
	CU_ASSERT(iscsi_pdu_check(b, &login, err, sizeof(err)) < 0);
	/* a discovery session has no SCSI */
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &disc, err, sizeof(err)), ISCSI_REJECT_PROTOCOL);
	/* data segment above MaxRecvDataSegmentLength: the stream is lost, close */
	bhs_make(b, ISCSI_OP_DATA_OUT, 0x80, 8193);
	iscsi_put32(b, ISCSI_BHS_ITT, 5);
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &ffp, err, sizeof(err)), -EMSGSIZE);
	/* login text may be 8192 even when MRDSL is smaller */
	ffp.max_recv_dsl = 512;
	bhs_make(b, ISCSI_OP_TEXT_REQ, 0x80, 8192);
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &ffp, err, sizeof(err)), 0);
	/* an unknown opcode in full feature phase is rejected, its data skippable */
	bhs_make(b, 0x1c, 0x80, 100);
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &ffp, err, sizeof(err)), ISCSI_REJECT_NOT_SUPPORTED);
	CU_ASSERT(strstr(err, "0x1c") != NULL);
	/* AHS only on SCSI Commands */
	bhs_make(b, ISCSI_OP_NOPOUT, 0x80, 0);
	b[ISCSI_BHS_AHSLEN] = 1;
	CU_ASSERT(iscsi_pdu_check(b, &ffp, err, sizeof(err)) < 0);
	/* NOP-Out with the reserved ITT must be immediate */
	bhs_make(b, ISCSI_OP_NOPOUT, 0x80, 0);
	iscsi_put32(b, ISCSI_BHS_ITT, ISCSI_RSVD_TAG);
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &ffp, err, sizeof(err)), ISCSI_REJECT_PROTOCOL);
	b[0] |= ISCSI_IMMEDIATE;
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &ffp, err, sizeof(err)), 0);
	/* Logout and TMF carry no data */
	bhs_make(b, ISCSI_OP_LOGOUT_REQ, 0x80, 4);
	CU_ASSERT(iscsi_pdu_check(b, &ffp, err, sizeof(err)) < 0);
	/* a second Login in full feature phase closes */
	bhs_make(b, ISCSI_OP_LOGIN_REQ, 0x80, 0);
	CU_ASSERT(iscsi_pdu_check(b, &ffp, err, sizeof(err)) < 0);
	/* SCSI Command without F and without W */
	bhs_make(b, ISCSI_OP_SCSI_CMD, ISCSI_CMD_READ, 0);
	CU_ASSERT_EQUAL(iscsi_pdu_check(b, &ffp, err, sizeof(err)), ISCSI_REJECT_INVALID_FIELD);
}

static void test_digest(void)
{
	uint8_t buf[7] = {1, 2, 3, 4, 5, 6, 7}, padded[8] = {1, 2, 3, 4, 5, 6, 7, 0};

	CU_ASSERT_EQUAL(iscsi_digest_data(buf, 7), brisk_crc32c(padded, 8));
	CU_ASSERT_EQUAL(iscsi_digest_data(padded, 8), brisk_crc32c(padded, 8));
	CU_ASSERT_EQUAL(iscsi_digest("123456789", 9), 0xE3069283u);
	CU_ASSERT(iscsi_sn_lt(0xfffffff0u, 5));
	CU_ASSERT(!iscsi_sn_lt(5, 0xfffffff0u));
	CU_ASSERT(!iscsi_sn_lt(7, 7));
}

static void test_kv(void)
{
	char good[] = "InitiatorName=iqn.2024-01.x:y\0SessionType=Normal\0\0\0";
	char dup[] = "A=1\0A=2\0";
	char noeq[] = "Novalue\0";
	char unterminated[] = {'A', '=', '1'};
	struct iscsi_kv kv;
	char err[128];

	CU_ASSERT_EQUAL(iscsi_kv_parse(good, sizeof(good) - 1, &kv, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(kv.num, 2);
	CU_ASSERT_STRING_EQUAL(iscsi_kv_get(&kv, "SessionType"), "Normal");
	CU_ASSERT_PTR_NULL(iscsi_kv_get(&kv, "TargetName"));
	CU_ASSERT_EQUAL(iscsi_kv_parse(dup, sizeof(dup) - 1, &kv, err, sizeof(err)), -EINVAL);
	CU_ASSERT(strstr(err, "twice") != NULL);
	CU_ASSERT_EQUAL(iscsi_kv_parse(noeq, sizeof(noeq) - 1, &kv, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL(iscsi_kv_parse(unterminated, sizeof(unterminated), &kv, err, sizeof(err)), -EINVAL);
}

static int neg(const char *k, const char *v, struct iscsi_offer *o, struct iscsi_params *p, char *ans)
{
	char buf[256];
	struct iscsi_text_out out = {.buf = buf, .cap = sizeof(buf)};
	char err[128];
	int rc = iscsi_negotiate_key(k, v, o, p, false, &out, err, sizeof(err));

	ans[0] = '\0';
	if (out.len > 0) {
		strcpy(ans, buf);
	}
	return rc;
}

static void test_negotiate(void)
{
	struct iscsi_offer o = {0};
	struct iscsi_params p;
	char ans[256];

	iscsi_params_defaults(&o.p);
	o.p.max_burst = 1048576;
	o.p.immediate_data = false;
	iscsi_params_defaults(&p);
	CU_ASSERT_EQUAL(neg("MaxBurstLength", "262144", &o, &p, ans), 1);
	CU_ASSERT_STRING_EQUAL(ans, "MaxBurstLength=262144");
	CU_ASSERT_EQUAL(p.max_burst, 262144);
	CU_ASSERT_EQUAL(neg("DefaultTime2Wait", "0", &o, &p, ans), 1);
	CU_ASSERT_STRING_EQUAL(ans, "DefaultTime2Wait=2");  /* the higher */
	CU_ASSERT_EQUAL(neg("ImmediateData", "Yes", &o, &p, ans), 1);
	CU_ASSERT_STRING_EQUAL(ans, "ImmediateData=No");   /* AND */
	CU_ASSERT_EQUAL(neg("InitialR2T", "No", &o, &p, ans), 1);
	CU_ASSERT_STRING_EQUAL(ans, "InitialR2T=Yes");     /* OR with our Yes */
	CU_ASSERT_EQUAL(neg("MaxRecvDataSegmentLength", "4096", &o, &p, ans), 1);
	CU_ASSERT_STRING_EQUAL(ans, "");                   /* declarative: no answer */
	CU_ASSERT_EQUAL(p.max_xmit_dsl, 4096);
	CU_ASSERT_EQUAL(neg("HeaderDigest", "CRC32C,None", &o, &p, ans), 1);
	CU_ASSERT_STRING_EQUAL(ans, "HeaderDigest=CRC32C");
	CU_ASSERT(p.header_digest);
	o.digest_allowed_data = true;  /* the node requires a data digest */
	CU_ASSERT_EQUAL(neg("DataDigest", "None", &o, &p, ans), -EINVAL);
	CU_ASSERT_EQUAL(neg("MaxBurstLength", "100", &o, &p, ans), -EINVAL);       /* below 512 */
	CU_ASSERT_EQUAL(neg("ErrorRecoveryLevel", "x", &o, &p, ans), -EINVAL);
	CU_ASSERT_EQUAL(neg("InitialR2T", "maybe", &o, &p, ans), -EINVAL);
	CU_ASSERT_EQUAL(neg("IFMarker", "Yes", &o, &p, ans), 1);
	CU_ASSERT_STRING_EQUAL(ans, "IFMarker=No");
	CU_ASSERT_EQUAL(neg("X-com.example.foo", "1", &o, &p, ans), 0);  /* not ours: caller answers */
}

static void hex(const uint8_t *d, char *out)
{
	for (int i = 0; i < 16; i++) {
		sprintf(out + 2 * i, "%02x", d[i]);
	}
}

static void test_md5_chap(void)
{
	const char *fox = "The quick brown fox jumps over the lazy dog";
	struct iscsi_md5_piece p[2];
	uint8_t d[16], chal[16], bin[64];
	char h[40], enc[80];

	iscsi_md5(NULL, 0, d);
	hex(d, h);
	CU_ASSERT_STRING_EQUAL(h, "d41d8cd98f00b204e9800998ecf8427e");
	p[0] = (struct iscsi_md5_piece) {"ab", 2};
	p[1] = (struct iscsi_md5_piece) {"c", 1};
	iscsi_md5(p, 2, d);
	hex(d, h);
	CU_ASSERT_STRING_EQUAL(h, "900150983cd24fb0d6963f7d28e17f72");
	p[0] = (struct iscsi_md5_piece) {fox, strlen(fox)};
	iscsi_md5(p, 1, d);
	hex(d, h);
	CU_ASSERT_STRING_EQUAL(h, "9e107d9d372bb6826bd81d3542a419d6");
	for (int i = 0; i < 16; i++) {
		chal[i] = (uint8_t)i;
	}
	/* Python: hashlib.md5(b'\x07' + b'alicesecret12' + bytes(range(16))) */
	iscsi_chap_response(7, "alicesecret12", chal, 16, d);
	hex(d, h);
	CU_ASSERT_STRING_EQUAL(h, "12d1b6a5d2644d6c54e5fd724cc21d44");
	iscsi_chap_encode(chal, 4, enc, sizeof(enc));
	CU_ASSERT_STRING_EQUAL(enc, "0x00010203");
	CU_ASSERT_EQUAL(iscsi_chap_decode("0x00010203", bin, sizeof(bin)), 4);
	CU_ASSERT_EQUAL(iscsi_chap_decode("0xABC", bin, sizeof(bin)), 2);   /* odd digits: leading nibble */
	CU_ASSERT_EQUAL(bin[0], 0x0a);
	CU_ASSERT_EQUAL(iscsi_chap_decode("0bAAECAw==", bin, sizeof(bin)), 4); /* base64 of 00 01 02 03 */
	CU_ASSERT_EQUAL(bin[3], 3);
	CU_ASSERT_EQUAL(iscsi_chap_decode("0xZZ", bin, sizeof(bin)), -EINVAL);
	CU_ASSERT_EQUAL(iscsi_chap_decode("1234", bin, sizeof(bin)), -EINVAL);
	CU_ASSERT_EQUAL(iscsi_chap_decode("0x0102", bin, 1), -EINVAL);       /* too long for the buffer */
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_pdu_check), BRISK_UT_TEST(test_digest),   BRISK_UT_TEST(test_kv),
	BRISK_UT_TEST(test_negotiate), BRISK_UT_TEST(test_md5_chap), CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "iscsi", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "iscsi_ut",
	.suites = g_ut_suites,
};
