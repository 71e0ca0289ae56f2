/*
 * Unit tests of lib/nvmf's per-namespace LBA range lock (range_lock.c), the
 * part of fused Compare-and-Write that makes it atomic: writes share ranges
 * with writes, a Compare-and-Write excludes every overlapping write and
 * pair, ranges are half-open (adjacent ones do not conflict), DSM's
 * whole-namespace range conflicts with any pair, release lets the waiters
 * in, a deferred request on a dead connection is failed and freed, and a
 * namespace removed while in use is freed by its last range user.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "../../../lib/nvmf/nvmf_internal.h"
#include "../../common/ut_main.h"

static struct nvmf_ns *g_nsp;
#define g_ns (*g_nsp)
static struct nvmf_conn g_conn;
static struct nvmf_req g_req[4];

static int suite_init(void)
{
	return 0;
}

static void setup(void)
{
	g_nsp = calloc(1, sizeof(*g_nsp));
	CU_ASSERT_FATAL(g_nsp != NULL);
	memset(&g_conn, 0, sizeof(g_conn));
	memset(g_req, 0, sizeof(g_req));
	nvmf_range_init(&g_ns);
	TAILQ_INIT(&g_conn.free_reqs);
	TAILQ_INIT(&g_conn.deferred);
	for (int i = 0; i < 4; i++) {
		g_req[i].conn = &g_conn;
		g_req[i].ns = &g_ns;
	}
}

/* A pair's range is held by its FUSE first, marked running. */
static bool try_caw(struct nvmf_req *r, uint64_t slba, uint64_t nlb)
{
	r->fused_running = true;
	if (!nvmf_range_try_caw(&g_ns, r, slba, nlb)) {
		r->fused_running = false;
		return false;
	}
	return true;
}

static void test_writes_share(void)
{
	setup();
	CU_ASSERT_TRUE(nvmf_range_try_write(&g_ns, &g_req[0], 0, 16));
	CU_ASSERT_TRUE(nvmf_range_try_write(&g_ns, &g_req[1], 8, 16));
	CU_ASSERT_TRUE(g_req[0].range_held && g_req[1].range_held);
	nvmf_range_release(&g_ns, &g_req[0]);
	nvmf_range_release(&g_ns, &g_req[1]);
	CU_ASSERT_FALSE(g_req[0].range_held);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&g_ns.range_writes));
	nvmf_range_release(&g_ns, &g_req[0]); /* not held: nothing happens */
	nvmf_range_ns_removed(g_nsp);
}

static void test_caw_waits_for_writes(void)
{
	setup();
	CU_ASSERT_TRUE(nvmf_range_try_write(&g_ns, &g_req[0], 100, 8));
	CU_ASSERT_FALSE(try_caw(&g_req[1], 107, 1));  /* last block of the write */
	CU_ASSERT_FALSE(g_req[1].range_held);
	CU_ASSERT_TRUE(try_caw(&g_req[2], 108, 4));   /* adjacent: no conflict */
	nvmf_range_release(&g_ns, &g_req[0]);
	CU_ASSERT_TRUE(try_caw(&g_req[1], 107, 1));
	nvmf_range_release(&g_ns, &g_req[1]);
	nvmf_range_release(&g_ns, &g_req[2]);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&g_ns.range_caws));
	nvmf_range_ns_removed(g_nsp);
}

static void test_writes_wait_for_caw(void)
{
	setup();
	CU_ASSERT_TRUE(try_caw(&g_req[0], 50, 10));
	CU_ASSERT_FALSE(nvmf_range_try_write(&g_ns, &g_req[1], 40, 11)); /* ends at LBA 50 */
	CU_ASSERT_TRUE(nvmf_range_try_write(&g_ns, &g_req[2], 40, 10));  /* ends at LBA 49 */
	CU_ASSERT_FALSE(nvmf_range_try_write(&g_ns, &g_req[3], 0, UINT64_MAX)); /* DSM */
	CU_ASSERT_FALSE(try_caw(&g_req[1], 59, 1)); /* pairs exclude pairs */
	nvmf_range_release(&g_ns, &g_req[0]);
	CU_ASSERT_TRUE(nvmf_range_try_write(&g_ns, &g_req[1], 40, 11));
	CU_ASSERT_TRUE(nvmf_range_try_write(&g_ns, &g_req[3], 0, UINT64_MAX));
	CU_ASSERT_FALSE(try_caw(&g_req[0], 1000, 1)); /* DSM in flight holds everything */
	nvmf_range_release(&g_ns, &g_req[1]);
	nvmf_range_release(&g_ns, &g_req[2]);
	nvmf_range_release(&g_ns, &g_req[3]);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&g_ns.range_writes));
	nvmf_range_ns_removed(g_nsp);
}

/* A write deferred behind a pair, on a connection that died meanwhile: the
 * poll group's retry fails it (freed, no longer outstanding). */
static void test_deferred_on_dead_conn(void)
{
	setup();
	g_req[1].cmd.opc = BRISK_NVME_OPC_WRITE;
	g_req[1].state = NVMF_REQ_EXEC;
	CU_ASSERT_TRUE(try_caw(&g_req[0], 0, 1));
	CU_ASSERT_FALSE(nvmf_range_try_write(&g_ns, &g_req[1], 0, 1));
	g_conn.outstanding = 1;
	nvmf_range_defer(&g_req[1]);
	CU_ASSERT_EQUAL(TAILQ_FIRST(&g_conn.deferred), &g_req[1]);
	g_conn.dead = true;
	nvmf_range_retry_deferred(&g_conn);
	CU_ASSERT_TRUE(TAILQ_EMPTY(&g_conn.deferred));
	CU_ASSERT_EQUAL(g_conn.outstanding, 0);
	CU_ASSERT_EQUAL(g_req[1].state, NVMF_REQ_FREE);
	CU_ASSERT_EQUAL(TAILQ_FIRST(&g_conn.free_reqs), &g_req[1]);
	CU_ASSERT_FALSE(g_req[1].range_held);
	nvmf_range_release(&g_ns, &g_req[0]);
	nvmf_range_ns_removed(g_nsp);
}

/* Removed while a pair holds its range and a write waits behind it: the
 * namespace stays allocated until both are gone (ASan checks the rest). */
static void test_removed_while_used(void)
{
	setup();
	g_req[1].cmd.opc = BRISK_NVME_OPC_WRITE;
	g_req[1].state = NVMF_REQ_EXEC;
	CU_ASSERT_TRUE(try_caw(&g_req[0], 0, 1));
	CU_ASSERT_FALSE(nvmf_range_try_write(&g_ns, &g_req[1], 0, 1));
	g_conn.outstanding = 1;
	nvmf_range_defer(&g_req[1]);
	CU_ASSERT_EQUAL(g_ns.range_users, 2);
	nvmf_range_ns_removed(g_nsp);
	CU_ASSERT_TRUE(g_ns.removed);
	g_conn.dead = true;
	nvmf_range_retry_deferred(&g_conn);
	CU_ASSERT_EQUAL(g_ns.range_users, 1);
	CU_ASSERT_EQUAL(g_req[1].state, NVMF_REQ_FREE);
	nvmf_range_release(g_nsp, &g_req[0]); /* the last user frees it */
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_writes_share),        BRISK_UT_TEST(test_caw_waits_for_writes),
	BRISK_UT_TEST(test_writes_wait_for_caw), BRISK_UT_TEST(test_deferred_on_dead_conn),
	BRISK_UT_TEST(test_removed_while_used),  CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "nvmf_range_lock", suite_init, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "range_lock_ut",
	.suites = g_ut_suites,
};
