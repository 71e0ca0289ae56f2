/*
 * Unit tests of the NVMe reservation state machine (lib/nvmf/reservation.c)
 * and its ptpl_file (reservation_ptpl.c): register/unregister/replace with
 * keys and IEKEY, CPTPL; acquire, preempt and release/clear for every one of
 * the six types; the I/O access rule for holder, registrant and stranger
 * (read and write) per type; notices; the extended report; and the file
 * written, reloaded and refused when malformed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/nvme_spec.h>

#include "../../../lib/nvmf/reservation.h"
#include "../../common/ut_main.h"

#define CONFLICT BRISK_NVME_SC_RESERVATION_CONFLICT
#define INVALID BRISK_NVME_SC_INVALID_FIELD

static const uint8_t A[16] = { 0xa }, B[16] = { 0xb }, C[16] = { 0xc };
static struct nvmf_resv g_r;
static struct nvmf_resv_out g_out;

static uint32_t cdw(uint32_t action, uint32_t rtype, int iekey)
{
	return action | (rtype << 8) | (iekey ? 1u << 3 : 0);
}

static uint8_t reg(const uint8_t *h, uint32_t action, int iekey, uint64_t crkey, uint64_t nrkey)
{
	memset(&g_out, 0, sizeof(g_out));
	return nvmf_resv_register(&g_r, h, cdw(action, 0, iekey), crkey, nrkey, &g_out);
}

static uint8_t acq(const uint8_t *h, uint32_t action, uint32_t rtype, uint64_t crkey, uint64_t prkey)
{
	memset(&g_out, 0, sizeof(g_out));
	return nvmf_resv_acquire(&g_r, h, cdw(action, rtype, 0), crkey, prkey, &g_out);
}

static uint8_t rel(const uint8_t *h, uint32_t action, uint32_t rtype, uint64_t crkey)
{
	memset(&g_out, 0, sizeof(g_out));
	return nvmf_resv_release(&g_r, h, cdw(action, rtype, 0), crkey, &g_out);
}

static void reset(void)
{
	nvmf_resv_fini(&g_r);
	nvmf_resv_init(&g_r);
}

static bool has_notice(const uint8_t *h, uint8_t type)
{
	for (uint32_t i = 0; i < g_out.num_notices; i++) {
		if (memcmp(g_out.notices[i].hostid, h, 16) == 0 && g_out.notices[i].type == type) {
			return true;
		}
	}
	return false;
}

static void test_register_keys(void)
{
	reset();
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_REGISTER, 0, 0, 0), INVALID); /* key 0 */
	CU_ASSERT_EQUAL(reg(A, 3, 0, 0, 1), INVALID); /* RREGA 3 */
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_REGISTER, 0, 0, 0x11), 0);
	CU_ASSERT(g_out.changed);
	CU_ASSERT_EQUAL(g_r.gen, 1);
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_REGISTER, 0, 0, 0x11), 0); /* same key again */
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_REGISTER, 0, 0, 0x12), CONFLICT); /* another key */
	CU_ASSERT_EQUAL(reg(B, NVMF_RESV_REPLACE, 0, 0x11, 0x22), CONFLICT); /* not registered */
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_REPLACE, 0, 0x99, 0x22), CONFLICT); /* wrong CRKEY */
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_REPLACE, 1, 0x99, 0x22), 0); /* IEKEY */
	CU_ASSERT_EQUAL(g_r.regs[0].rkey, 0x22);
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_UNREGISTER, 0, 0x11, 0), CONFLICT);
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_UNREGISTER, 0, 0x22, 0), 0);
	CU_ASSERT_EQUAL(g_r.num_regs, 0);
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_UNREGISTER, 1, 0, 0), CONFLICT); /* not registered */
	/* CPTPL: 01b reserved; 11b needs a ptpl_file */
	CU_ASSERT_EQUAL(nvmf_resv_register(&g_r, A, 1u << 30, 0, 5, &g_out), INVALID);
	CU_ASSERT_EQUAL(nvmf_resv_register(&g_r, A, 3u << 30, 0, 5, &g_out), INVALID);
	CU_ASSERT_EQUAL(g_r.num_regs, 0);
	g_r.ptpl_capable = true;
	CU_ASSERT_EQUAL(nvmf_resv_register(&g_r, A, 3u << 30, 0, 5, &g_out), 0);
	CU_ASSERT(g_r.ptpl);
	CU_ASSERT_EQUAL(nvmf_resv_register(&g_r, A, 2u << 30, 0, 5, &g_out), 0);
	CU_ASSERT(!g_r.ptpl);
	CU_ASSERT_EQUAL(nvmf_resv_rescap(&g_r), 0xff);
	g_r.ptpl_capable = false;
	CU_ASSERT_EQUAL(nvmf_resv_rescap(&g_r), 0xfe);
}

static void setup_three(void)
{
	reset();
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_REGISTER, 0, 0, 0xa1), 0);
	CU_ASSERT_EQUAL(reg(B, NVMF_RESV_REGISTER, 0, 0, 0xb1), 0);
}

/* Expected access per type for [holder/registrant/stranger][read/write]. */
static const bool g_access[7][3][2] = {
	[1] = { { 1, 1 }, { 1, 0 }, { 1, 0 } }, [2] = { { 1, 1 }, { 0, 0 }, { 0, 0 } },
	[3] = { { 1, 1 }, { 1, 1 }, { 1, 0 } }, [4] = { { 1, 1 }, { 1, 1 }, { 0, 0 } },
	[5] = { { 1, 1 }, { 1, 1 }, { 1, 0 } }, [6] = { { 1, 1 }, { 1, 1 }, { 0, 0 } },
};

static void test_acquire_every_type(void)
{
	for (uint32_t t = 1; t <= 6; t++) {
		setup_three();
		CU_ASSERT_EQUAL(acq(C, NVMF_RESV_ACQUIRE, t, 0, 0), CONFLICT); /* not registered */
		CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, t, 0xff, 0), CONFLICT); /* wrong key */
		CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, t, 0xa1, 0), 0);
		CU_ASSERT(g_r.active);
		CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, t, 0xa1, 0), 0); /* again: same type */
		CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, t % 6 + 1, 0xa1, 0), CONFLICT);
		/* B: a holder too for all-registrants types, else a conflict */
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_ACQUIRE, t, 0xb1, 0), t >= 5 ? 0 : CONFLICT);
		for (int w = 0; w < 2; w++) {
			CU_ASSERT_EQUAL(nvmf_resv_io_allowed(&g_r, A, w), g_access[t][0][w]);
			CU_ASSERT_EQUAL(nvmf_resv_io_allowed(&g_r, B, w), t >= 5 ? true : g_access[t][1][w]);
			CU_ASSERT_EQUAL(nvmf_resv_io_allowed(&g_r, C, w), g_access[t][2][w]);
		}
		if (t < 5) { /* a non-holder's release has no effect */
			CU_ASSERT_EQUAL(rel(B, NVMF_RESV_RELEASE, t, 0xb1), 0);
			CU_ASSERT_EQUAL(g_r.rtype, t);
		}
		CU_ASSERT_EQUAL(rel(A, NVMF_RESV_RELEASE, t % 6 + 1, 0xa1), INVALID);
		CU_ASSERT_EQUAL(rel(A, NVMF_RESV_RELEASE, t, 0xa1), 0);
		CU_ASSERT_EQUAL(g_r.rtype, 0);
		CU_ASSERT(!g_r.active);
		CU_ASSERT(nvmf_resv_io_allowed(&g_r, C, true));
	}
	CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, 7, 0xa1, 0), INVALID);
	CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, 0, 0xa1, 0), INVALID);
	CU_ASSERT_EQUAL(acq(A, 3, 1, 0xa1, 0), INVALID);
}

static void test_release_notices(void)
{
	for (uint32_t t = 1; t <= 6; t++) {
		setup_three();
		CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, t, 0xa1, 0), 0);
		CU_ASSERT_EQUAL(rel(A, NVMF_RESV_RELEASE, t, 0xa1), 0);
		/* released notices only for the registrants-only and all-registrants types */
		CU_ASSERT_EQUAL(has_notice(B, NVMF_RESV_NOTICE_RESV_RELEASED), t >= 3);
		CU_ASSERT(!has_notice(A, NVMF_RESV_NOTICE_RESV_RELEASED));
	}
	/* the holder unregistering releases; an all-registrants one stays until the last leaves */
	setup_three();
	CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, 3, 0xa1, 0), 0);
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_UNREGISTER, 0, 0xa1, 0), 0);
	CU_ASSERT_EQUAL(g_r.rtype, 0);
	CU_ASSERT(has_notice(B, NVMF_RESV_NOTICE_RESV_RELEASED));
	setup_three();
	CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, 6, 0xa1, 0), 0);
	CU_ASSERT_EQUAL(reg(A, NVMF_RESV_UNREGISTER, 0, 0xa1, 0), 0);
	CU_ASSERT_EQUAL(g_r.rtype, 6);
	CU_ASSERT(!nvmf_resv_io_allowed(&g_r, A, false));
	CU_ASSERT_EQUAL(reg(B, NVMF_RESV_UNREGISTER, 0, 0xb1, 0), 0);
	CU_ASSERT_EQUAL(g_r.rtype, 0);
	/* clear: everyone unregistered, the others told "preempted" */
	setup_three();
	CU_ASSERT_EQUAL(acq(B, NVMF_RESV_ACQUIRE, 1, 0xb1, 0), 0);
	CU_ASSERT_EQUAL(rel(A, NVMF_RESV_CLEAR, 0, 0xbad), CONFLICT);
	CU_ASSERT_EQUAL(rel(A, NVMF_RESV_CLEAR, 0, 0xa1), 0);
	CU_ASSERT_EQUAL(g_r.num_regs, 0);
	CU_ASSERT_EQUAL(g_r.rtype, 0);
	CU_ASSERT(has_notice(B, NVMF_RESV_NOTICE_RESV_PREEMPTED));
	CU_ASSERT_EQUAL(rel(A, 2, 0, 0xa1), INVALID);
}

static void test_preempt(void)
{
	for (uint32_t t = 1; t <= 4; t++) {
		setup_three();
		CU_ASSERT_EQUAL(reg(C, NVMF_RESV_REGISTER, 0, 0, 0xc1), 0);
		CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, t, 0xa1, 0), 0);
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_PREEMPT, 2, 0xb1, 0), INVALID); /* PRKEY 0 */
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_PREEMPT, 2, 0xb1, 0x77), CONFLICT); /* nobody has it */
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_PREEMPT_ABORT, 2, 0xb1, 0xa1), 0); /* the holder's key */
		CU_ASSERT_EQUAL(g_r.rtype, 2);
		CU_ASSERT(memcmp(g_r.holder, B, 16) == 0);
		CU_ASSERT_EQUAL(g_r.num_regs, 2);
		CU_ASSERT(has_notice(A, NVMF_RESV_NOTICE_REG_PREEMPTED));
		CU_ASSERT(has_notice(C, NVMF_RESV_NOTICE_RESV_PREEMPTED));
		CU_ASSERT(!nvmf_resv_io_allowed(&g_r, A, false));
		/* a non-holder's key: only that registrant goes, the reservation stays */
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_PREEMPT, 2, 0xb1, 0xc1), 0);
		CU_ASSERT_EQUAL(g_r.num_regs, 1);
		CU_ASSERT(memcmp(g_r.holder, B, 16) == 0);
		CU_ASSERT(has_notice(C, NVMF_RESV_NOTICE_REG_PREEMPTED));
		/* the holder preempting itself changes the type */
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_PREEMPT, 1, 0xb1, 0xb1), 0);
		CU_ASSERT_EQUAL(g_r.rtype, 1);
		CU_ASSERT_EQUAL(g_r.num_regs, 1);
	}
	for (uint32_t t = 5; t <= 6; t++) {
		setup_three();
		CU_ASSERT_EQUAL(reg(C, NVMF_RESV_REGISTER, 0, 0, 0xc1), 0);
		CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, t, 0xa1, 0), 0);
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_PREEMPT, t, 0xb1, 0xc1), 0); /* C goes, type stays */
		CU_ASSERT_EQUAL(g_r.num_regs, 2);
		CU_ASSERT_EQUAL(g_r.rtype, t);
		CU_ASSERT_EQUAL(acq(B, NVMF_RESV_PREEMPT, 1, 0xb1, 0), 0); /* PRKEY 0: all others go */
		CU_ASSERT_EQUAL(g_r.num_regs, 1);
		CU_ASSERT_EQUAL(g_r.rtype, 1);
		CU_ASSERT(memcmp(g_r.holder, B, 16) == 0);
		CU_ASSERT(has_notice(A, NVMF_RESV_NOTICE_REG_PREEMPTED));
	}
	/* no reservation: preempt only unregisters by key */
	setup_three();
	CU_ASSERT_EQUAL(acq(A, NVMF_RESV_PREEMPT, 1, 0xa1, 0xb1), 0);
	CU_ASSERT_EQUAL(g_r.num_regs, 1);
	CU_ASSERT_EQUAL(g_r.rtype, 0);
	CU_ASSERT_EQUAL(acq(A, NVMF_RESV_PREEMPT, 1, 0xa1, 0), INVALID);
}

static void test_report(void)
{
	uint8_t buf[256];
	uint64_t key;

	setup_three();
	CU_ASSERT_EQUAL(acq(B, NVMF_RESV_ACQUIRE, 1, 0xb1, 0), 0);
	CU_ASSERT_EQUAL(nvmf_resv_report(&g_r, buf, sizeof(buf)), 64 + 2 * 64);
	CU_ASSERT_EQUAL(buf[0], 2); /* generation: two registrations */
	CU_ASSERT_EQUAL(buf[4], 1);
	CU_ASSERT_EQUAL(buf[5], 2);
	CU_ASSERT_EQUAL(buf[64], 0xff); /* CNTLID FFFFh */
	CU_ASSERT_EQUAL(buf[64 + 2], 0); /* A does not hold it */
	CU_ASSERT_EQUAL(buf[128 + 2], 1);
	memcpy(&key, buf + 128 + 8, 8);
	CU_ASSERT_EQUAL(key, 0xb1);
	CU_ASSERT(memcmp(buf + 128 + 16, B, 16) == 0);
	memset(buf, 0xee, sizeof(buf));
	nvmf_resv_report(&g_r, buf, 8); /* a short buffer gets the first bytes */
	CU_ASSERT_EQUAL(buf[8], 0xee);
}

static void test_ptpl_file(void)
{
	char path[] = "/tmp/reservation_ut_XXXXXX", err[256];
	struct nvmf_resv r2;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	unlink(path);
	reset();
	CU_ASSERT_EQUAL(nvmf_resv_ptpl_load(&g_r, path, err, sizeof(err)), 0); /* absent: empty */
	CU_ASSERT_EQUAL(nvmf_resv_register(&g_r, A, 3u << 30, 0, 0xa1, &g_out), 0);
	CU_ASSERT_EQUAL(reg(B, NVMF_RESV_REGISTER, 0, 0, 0xffffffffffffff01ull), 0);
	CU_ASSERT_EQUAL(acq(A, NVMF_RESV_ACQUIRE, 4, 0xa1, 0), 0);
	CU_ASSERT_EQUAL(nvmf_resv_ptpl_save(&g_r), 0);
	nvmf_resv_init(&r2);
	CU_ASSERT_EQUAL(nvmf_resv_ptpl_load(&r2, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(r2.rtype, 4);
	CU_ASSERT_EQUAL(r2.num_regs, 2);
	CU_ASSERT_EQUAL(r2.regs[1].rkey, 0xffffffffffffff01ull);
	CU_ASSERT_EQUAL(r2.gen, g_r.gen);
	CU_ASSERT(r2.ptpl && r2.active);
	CU_ASSERT(!nvmf_resv_io_allowed(&r2, C, false));
	nvmf_resv_fini(&r2);
	/* PTPL off: the file is kept but nothing is restored */
	g_r.ptpl = false;
	CU_ASSERT_EQUAL(nvmf_resv_ptpl_save(&g_r), 0);
	nvmf_resv_init(&r2);
	CU_ASSERT_EQUAL(nvmf_resv_ptpl_load(&r2, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(r2.num_regs, 0);
	CU_ASSERT_EQUAL(r2.rtype, 0);
	nvmf_resv_fini(&r2);
	unlink(path);
}

static void load_bad(const char *text, const char *field)
{
	char path[] = "/tmp/reservation_ut_XXXXXX", err[256] = "";
	struct nvmf_resv r2;
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	nvmf_resv_init(&r2);
	CU_ASSERT_NOT_EQUAL(nvmf_resv_ptpl_load(&r2, path, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, field));
	nvmf_resv_fini(&r2);
	unlink(path);
}

static void test_ptpl_malformed(void)
{
	const char *h = "\"11111111-2222-3333-4444-555555555555\"";
	char text[512];

	load_bad("{not json", "not a JSON object");
	load_bad("[]", "not a JSON object");
	load_bad("{\"rtype\": 1}", "ptpl");
	load_bad("{\"ptpl\": true, \"rtype\": 9}", "rtype");
	load_bad("{\"ptpl\": true, \"rtype\": 1, \"generation\": -1}", "generation");
	snprintf(text, sizeof(text), "{\"ptpl\": true, \"rtype\": 1, \"generation\": 1, \"holder\": \"x\"}");
	load_bad(text, "holder");
	snprintf(text, sizeof(text),
		 "{\"ptpl\": true, \"rtype\": 1, \"generation\": 1, \"holder\": %s, "
		 "\"registrants\": [{\"hostid\": %s, \"rkey\": \"zz\"}]}",
		 h, h);
	load_bad(text, "registrants[0].rkey");
	snprintf(text, sizeof(text),
		 "{\"ptpl\": true, \"rtype\": 1, \"generation\": 1, \"holder\": %s, "
		 "\"registrants\": [{\"hostid\": 5, \"rkey\": \"0x1\"}]}",
		 h);
	load_bad(text, "registrants[0].hostid");
	snprintf(text, sizeof(text),
		 "{\"ptpl\": true, \"rtype\": 1, \"generation\": 1, \"holder\": %s, "
		 "\"registrants\": []}",
		 h);
	load_bad(text, "holder is not one of the registrants");
}

static int ut_setup(void)
{
	nvmf_resv_init(&g_r);
	return 0;
}

static int ut_teardown(void)
{
	nvmf_resv_fini(&g_r);
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	{ "register_keys", test_register_keys },
	{ "acquire_every_type", test_acquire_every_type },
	{ "release_notices", test_release_notices },
	{ "preempt", test_preempt },
	{ "report", test_report },
	{ "ptpl_file", test_ptpl_file },
	{ "ptpl_malformed", test_ptpl_malformed },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvmf_reservation", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "reservation_ut",
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
