/*
 * The virtual bdev modules over malloc bdevs, through the public bdev API:
 * passthru (forwarding, claim conflicts, creation when the base appears,
 * hot-remove of the base), error (injected failures seen as failed I/O,
 * pending I/O released by clearing, corrupt data), delay (latency bounded
 * below by the configured figure, update at runtime, p99 >= avg checks) and
 * split (parts, offsets checked byte for byte, claim, delete). At the end,
 * finishing the bdev layer releases I/O held by error and delay bdevs.
 */
#include "ut_common.h"
#include "../../../module/bdev/malloc/bdev_malloc.h"
#include "../../../module/bdev/passthru/bdev_passthru.h"
#include "../../../module/bdev/error/bdev_error.h"
#include "../../../module/bdev/delay/bdev_delay.h"
#include "../../../module/bdev/split/bdev_split.h"
#include "../../common/ut_main.h"

#define BS 512

static struct brisk_bdev *make_malloc(const char *name, uint64_t blocks)
{
	struct bdev_malloc_opts o = { .name = name, .num_blocks = blocks, .block_size = BS };
	struct brisk_bdev *b = NULL;

	CU_ASSERT_EQUAL(bdev_malloc_create(&b, &o), 0);
	poll_idle(); /* examine */
	return b;
}

static void delete_malloc(const char *name)
{
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_malloc_delete(name, del_done, NULL), 0);
	poll_until(&g_del_done);
	poll_idle();
}

struct opened {
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct events ev;
};

static int open_bdev(struct opened *o, const char *name)
{
	memset(o, 0, sizeof(*o));
	int rc = brisk_bdev_open_ext(name, true, ev_cb, &o->ev, &o->desc);

	if (rc == 0) {
		o->ch = brisk_bdev_get_io_channel(o->desc);
	}
	return rc;
}

static void close_bdev(struct opened *o)
{
	if (o->ch) {
		brisk_put_io_channel(o->ch);
	}
	poll_idle();
	brisk_bdev_close(o->desc);
	poll_idle();
}

static void fill(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++) {
		buf[i] = (uint8_t)(seed + i * 13);
	}
}

/* ---- passthru ---- */

static void test_passthru(void)
{
	uint8_t wbuf[8 * BS], rbuf[8 * BS];
	struct opened pt, base;
	struct brisk_bdev_desc *d2;

	make_malloc("pm0", 256);
	CU_ASSERT_EQUAL(bdev_passthru_create("pm0", "pt0", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(brisk_bdev_get_by_name("pt0"));
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_claim_module_name(brisk_bdev_get_by_name("pm0")), "passthru");
	/* A second claim of the same base fails; nothing new appears. */
	CU_ASSERT_EQUAL(bdev_passthru_create("pm0", "pt1", NULL), -EPERM);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("pt1"));
	CU_ASSERT_EQUAL(bdev_passthru_create("pm0", "pt0", NULL), -EEXIST);
	CU_ASSERT_EQUAL(bdev_passthru_create("", "x", NULL), -EINVAL);
	CU_ASSERT_EQUAL(bdev_passthru_create("pm0", NULL, NULL), -EINVAL);
	/* The claimed base refuses a writer. */
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("pm0", true, ev_cb, NULL, &d2), -EPERM);

	CU_ASSERT_EQUAL(open_bdev(&pt, "pt0"), 0);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(brisk_bdev_desc_get_bdev(pt.desc)), 256);
	fill(wbuf, sizeof(wbuf), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(pt.desc, pt.ch, wbuf, 20, 8, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(pt.desc, pt.ch, rbuf, 20, 8, io_done, c)), 1);
	CU_ASSERT_EQUAL(memcmp(wbuf, rbuf, sizeof(wbuf)), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_unmap_blocks(pt.desc, pt.ch, 20, 1, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_zeroes_blocks(pt.desc, pt.ch, 21, 1, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_flush_blocks(pt.desc, pt.ch, 0, 8, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_reset(pt.desc, pt.ch, io_done, c)), 1);
	/* Data reached the base at the same offset. */
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("pm0", false, ev_cb, &base.ev, &base.desc), 0);
	base.ch = brisk_bdev_get_io_channel(base.desc);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(base.desc, base.ch, rbuf, 22, 6, io_done, c)), 1);
	CU_ASSERT_EQUAL(memcmp(wbuf + 2 * BS, rbuf, 6 * BS), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(base.desc, base.ch, rbuf, 21, 1, io_done, c)), 1);
	CU_ASSERT(rbuf[0] == 0 && rbuf[BS - 1] == 0);
	close_bdev(&base);

	/* Hot-remove of the base removes the passthru; its user gets REMOVE. */
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_malloc_delete("pm0", del_done, NULL), 0);
	poll_idle();
	CU_ASSERT_EQUAL(pt.ev.removes, 1);
	close_bdev(&pt);
	poll_until(&g_del_done);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("pt0"));
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("pm0"));

	/* Config before the base: created when the base appears (examine). */
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_passthru_delete("pt0", del_done, NULL), 0); /* drops the remembered config */
	poll_until(&g_del_done);
	CU_ASSERT_EQUAL(bdev_passthru_create("pm_late", "pt_late", NULL), 0);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("pt_late"));
	make_malloc("pm_late", 64);
	CU_ASSERT_PTR_NOT_NULL(brisk_bdev_get_by_name("pt_late"));
	{
		json_t *cfg = json_array();
		char *s;

		brisk_bdev_subsystem_config_json(cfg);
		s = json_dumps(cfg, 0);
		CU_ASSERT(s != NULL && strstr(s, "bdev_passthru_create") != NULL && strstr(s, "pt_late") != NULL);
		free(s);
		json_decref(cfg);
	}
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_passthru_delete("pt_late", del_done, NULL), 0);
	poll_until(&g_del_done);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("pt_late"));
	CU_ASSERT_PTR_NULL(brisk_bdev_get_claim_module_name(brisk_bdev_get_by_name("pm_late")));
	CU_ASSERT_EQUAL(bdev_passthru_delete("pt_late", NULL, NULL), -ENODEV);
	delete_malloc("pm_late");
}

/* ---- error ---- */

static void test_error(void)
{
	uint8_t wbuf[4 * BS], rbuf[4 * BS];
	struct bdev_error_inject_opts inj = {0};
	struct opened ee;
	struct cpl held = {0};

	make_malloc("em0", 128);
	CU_ASSERT_EQUAL(bdev_error_create("nonexistent", NULL), -ENODEV);
	CU_ASSERT_EQUAL(bdev_error_create("em0", NULL), 0);
	CU_ASSERT_PTR_NOT_NULL(brisk_bdev_get_by_name("EE_em0"));
	CU_ASSERT_EQUAL(bdev_error_create("em0", NULL), -EEXIST);
	CU_ASSERT_EQUAL(open_bdev(&ee, "EE_em0"), 0);
	fill(wbuf, sizeof(wbuf), 9);

	/* Two failed writes, then writes go through again. */
	inj.io_type_mask = 1u << BRISK_BDEV_IO_TYPE_WRITE;
	inj.error_type = BDEV_ERROR_TYPE_FAILURE;
	inj.num = 2;
	CU_ASSERT_EQUAL(bdev_error_inject_error("EE_em0", &inj), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(ee.desc, ee.ch, wbuf, 0, 4, io_done, c)), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(ee.desc, ee.ch, rbuf, 0, 4, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(ee.desc, ee.ch, wbuf, 0, 4, io_done, c)), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(ee.desc, ee.ch, wbuf, 0, 4, io_done, c)), 1);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(ee.desc, ee.ch, rbuf, 0, 4, io_done, c)), 1);
	CU_ASSERT_EQUAL(memcmp(wbuf, rbuf, sizeof(wbuf)), 0);

	/* Corrupt data on a read: one byte flipped at the offset. */
	inj.io_type_mask = 1u << BRISK_BDEV_IO_TYPE_READ;
	inj.error_type = BDEV_ERROR_TYPE_CORRUPT_DATA;
	inj.num = 1;
	inj.corrupt_offset = 100;
	inj.corrupt_value = 0xff;
	CU_ASSERT_EQUAL(bdev_error_inject_error("EE_em0", &inj), 0);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(ee.desc, ee.ch, rbuf, 0, 4, io_done, c)), 1);
	CU_ASSERT_EQUAL(rbuf[100], (uint8_t)(wbuf[100] ^ 0xff));
	CU_ASSERT_EQUAL(memcmp(wbuf, rbuf, 100), 0);
	inj.corrupt_value = 0;
	CU_ASSERT_EQUAL(bdev_error_inject_error("EE_em0", &inj), -EINVAL);

	/* Pending: held until the rules are cleared, then aborted. */
	inj.io_type_mask = ~0u;
	inj.error_type = BDEV_ERROR_TYPE_PENDING;
	inj.num = 1;
	CU_ASSERT_EQUAL(bdev_error_inject_error("EE_em0", &inj), 0);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(ee.desc, ee.ch, rbuf, 0, 1, io_done, &held), 0);
	poll_idle();
	CU_ASSERT_EQUAL(held.done, 0);
	inj.error_type = BDEV_ERROR_TYPE_NONE;
	CU_ASSERT_EQUAL(bdev_error_inject_error("EE_em0", &inj), 0);
	poll_until(&held.done);
	CU_ASSERT(held.done == 1 && !held.success);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(ee.desc, ee.ch, rbuf, 0, 1, io_done, c)), 1);

	CU_ASSERT_EQUAL(bdev_error_inject_error("em0", &inj), -ENODEV);
	{
		uint32_t mask;
		bool clear;
		enum bdev_error_type t;

		CU_ASSERT_EQUAL(bdev_error_parse_io_type("bogus", &mask, &clear), -EINVAL);
		CU_ASSERT_EQUAL(bdev_error_parse_error_type("bogus", &t), -EINVAL);
		CU_ASSERT_EQUAL(bdev_error_parse_error_type("pending", &t), 0);
		CU_ASSERT_EQUAL(t, BDEV_ERROR_TYPE_PENDING);
	}
	close_bdev(&ee);
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_error_delete("EE_em0", del_done, NULL), 0);
	poll_until(&g_del_done);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("EE_em0"));
	CU_ASSERT_EQUAL(bdev_error_delete("EE_em0", NULL, NULL), -ENODEV);
	delete_malloc("em0");
}

/* ---- delay ---- */

static void test_delay(void)
{
	struct bdev_delay_opts o = {
		.base_bdev_name = "dm0", .name = "dl0",
		.avg_read_latency = 20000, .p99_read_latency = 20000,
		.avg_write_latency = 5000, .p99_write_latency = 5000,
	};
	uint8_t buf[BS];
	struct opened dl;
	uint64_t t0, t;

	make_malloc("dm0", 64);
	o.p99_read_latency = 10;
	CU_ASSERT_EQUAL(bdev_delay_create(&o), -EINVAL); /* p99 < avg */
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("dl0"));
	o.p99_read_latency = 20000;
	o.p99_write_latency = BDEV_DELAY_MAX_LATENCY_US + 1; /* over a minute */
	CU_ASSERT_EQUAL(bdev_delay_create(&o), -EINVAL);
	o.p99_write_latency = 5000;
	o.base_bdev_name = "nope";
	CU_ASSERT_EQUAL(bdev_delay_create(&o), -ENODEV);
	o.base_bdev_name = "dm0";
	CU_ASSERT_EQUAL(bdev_delay_create(&o), 0);
	CU_ASSERT_EQUAL(open_bdev(&dl, "dl0"), 0);
	memset(buf, 0x5a, sizeof(buf));

	t0 = now_ms();
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(dl.desc, dl.ch, buf, 0, 1, io_done, c)), 1);
	t = now_ms() - t0;
	CU_ASSERT(t >= 19 && t < 2000);
	memset(buf, 0x5a, sizeof(buf));
	t0 = now_ms();
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(dl.desc, dl.ch, buf, 0, 1, io_done, c)), 1);
	t = now_ms() - t0;
	CU_ASSERT(t >= 4 && t < 2000);

	CU_ASSERT_EQUAL(bdev_delay_update_latency("dl0", "avg_read", 30000), -EINVAL); /* above p99 */
	CU_ASSERT_EQUAL(bdev_delay_update_latency("dl0", "bogus", 1), -EINVAL);
	CU_ASSERT_EQUAL(bdev_delay_update_latency("dl0", "p99_read", BDEV_DELAY_MAX_LATENCY_US + 1), -EINVAL);
	CU_ASSERT_EQUAL(bdev_delay_update_latency("dl0", "p99_read", UINT64_MAX), -EINVAL);
	CU_ASSERT_EQUAL(bdev_delay_update_latency("dm0", "avg_read", 1), -ENODEV);
	CU_ASSERT_EQUAL(bdev_delay_update_latency("dl0", "avg_read", 0), 0);
	CU_ASSERT_EQUAL(bdev_delay_update_latency("dl0", "p99_read", 0), 0);
	t0 = now_ms();
	for (int i = 0; i < 20; i++) {
		CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(dl.desc, dl.ch, buf, 0, 1, io_done, c)), 1);
	}
	CU_ASSERT(now_ms() - t0 < 200); /* no delay any more */
	CU_ASSERT_EQUAL(buf[0], 0x5a);
	/* No held completion: the delay poller is paused, the thread idle. */
	poll_idle();
	CU_ASSERT_EQUAL(brisk_thread_poll(g_th, 0, 0), 0);

	close_bdev(&dl);
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_delay_delete("dl0", del_done, NULL), 0);
	poll_until(&g_del_done);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("dl0"));
	delete_malloc("dm0");
}

/* ---- split ---- */

static void test_split(void)
{
	uint8_t buf[BS], all[64 * BS];
	struct opened part, base;
	struct brisk_uuid uuids[4];
	char name[16];

	make_malloc("sm0", 64);
	CU_ASSERT_EQUAL(bdev_split_create("sm0", 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(bdev_split_create("sm0", 4, 1), -EINVAL); /* 4 x 1 MiB > 32 KiB */
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("sm0p0"));
	CU_ASSERT_PTR_NULL(brisk_bdev_get_claim_module_name(brisk_bdev_get_by_name("sm0")));
	CU_ASSERT_EQUAL(bdev_split_create("sm0", 4, 0), 0);
	CU_ASSERT_EQUAL(bdev_split_create("sm0", 2, 0), -EEXIST);
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_claim_module_name(brisk_bdev_get_by_name("sm0")), "split");
	CU_ASSERT_EQUAL(bdev_passthru_create("sm0", "ptx", NULL), -EPERM);

	/* Write block 0 of each part with the part number. */
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "sm0p%d", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(brisk_bdev_get_by_name(name));
		CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(brisk_bdev_get_by_name(name)), 16);
		brisk_uuid_copy(&uuids[i], brisk_bdev_get_uuid(brisk_bdev_get_by_name(name)));
		CU_ASSERT(i == 0 || brisk_uuid_compare(&uuids[i], &uuids[i - 1]) != 0);
		CU_ASSERT(brisk_uuid_compare(&uuids[i], brisk_bdev_get_uuid(brisk_bdev_get_by_name("sm0"))) != 0);
		CU_ASSERT_EQUAL(open_bdev(&part, name), 0);
		memset(buf, 0xa0 + i, sizeof(buf));
		CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_write_blocks(part.desc, part.ch, buf, 3, 1, io_done, c)), 1);
		/* Past the end of a part is refused. */
		CU_ASSERT_EQUAL(brisk_bdev_write_blocks(part.desc, part.ch, buf, 16, 1, io_done, NULL), -EINVAL);
		close_bdev(&part);
	}
	/* The base shows each at part * 16 + 3, and nothing else written. */
	CU_ASSERT_EQUAL(brisk_bdev_open_ext("sm0", false, ev_cb, &base.ev, &base.desc), 0);
	base.ch = brisk_bdev_get_io_channel(base.desc);
	CU_ASSERT_EQUAL(SYNC_IO(brisk_bdev_read_blocks(base.desc, base.ch, all, 0, 64, io_done, c)), 1);
	for (int blk = 0; blk < 64; blk++) {
		uint8_t want = (blk % 16 == 3) ? (uint8_t)(0xa0 + blk / 16) : 0;

		for (int k = 0; k < BS; k++) {
			if (all[blk * BS + k] != want) {
				CU_FAIL("split offset mismatch");
				blk = 64;
				break;
			}
		}
	}
	close_bdev(&base);

	CU_ASSERT_EQUAL(bdev_split_delete("nope", NULL, NULL), -ENODEV);
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_split_delete("sm0", del_done, NULL), 0);
	poll_until(&g_del_done);
	poll_idle();
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("sm0p0"));
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("sm0p3"));
	CU_ASSERT_PTR_NULL(brisk_bdev_get_claim_module_name(brisk_bdev_get_by_name("sm0")));

	/* Split again: each part gets the same UUID as before (derived from the
	 * base's UUID and its index, so a restart keeps it). */
	CU_ASSERT_EQUAL(bdev_split_create("sm0", 4, 0), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "sm0p%d", i);
		CU_ASSERT_PTR_NOT_NULL_FATAL(brisk_bdev_get_by_name(name));
		CU_ASSERT_EQUAL(brisk_uuid_compare(brisk_bdev_get_uuid(brisk_bdev_get_by_name(name)), &uuids[i]), 0);
	}
	g_del_done = 0;
	CU_ASSERT_EQUAL(bdev_split_delete("sm0", del_done, NULL), 0);
	poll_until(&g_del_done);
	poll_idle();

	/* split_size_mb form: 2 parts of 1 MiB on a 4 MiB base. */
	make_malloc("sm1", 8192);
	CU_ASSERT_EQUAL(bdev_split_create("sm1", 2, 1), 0);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(brisk_bdev_get_by_name("sm1p1")), 2048);
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("sm1p2"));
	/* Base removed: the parts go with it. */
	delete_malloc("sm1");
	CU_ASSERT_PTR_NULL(brisk_bdev_get_by_name("sm1p0"));
	delete_malloc("sm0");
}

/* ---- shutdown with held I/O ---- */

/* A read held by a "pending" rule of an error bdev and one held for a
 * minute by a delay bdev: finishing the bdev layer releases both at once
 * (the error read fails, the delay read succeeds), so whoever holds them can
 * close and a SIGTERM does not wait. */
static struct opened g_sh_ee, g_sh_dl;
static struct cpl g_sh_err, g_sh_delay;
static uint8_t g_sh_buf[2][BS];

/* The last test: leaves the two reads held for main's finish. */
static void test_hold_io_for_finish(void)
{
	struct bdev_error_inject_opts inj = {
		.io_type_mask = 1u << BRISK_BDEV_IO_TYPE_READ, .error_type = BDEV_ERROR_TYPE_PENDING, .num = 1,
	};
	struct bdev_delay_opts o = {
		.base_bdev_name = "sh1", .name = "shd",
		.avg_read_latency = BDEV_DELAY_MAX_LATENCY_US, .p99_read_latency = BDEV_DELAY_MAX_LATENCY_US,
	};

	make_malloc("sh0", 64);
	make_malloc("sh1", 64);
	CU_ASSERT_EQUAL_FATAL(bdev_error_create("sh0", NULL), 0);
	CU_ASSERT_EQUAL_FATAL(bdev_delay_create(&o), 0);
	poll_idle(); /* examine of the new bdevs (the delay holds its reads too) */
	CU_ASSERT_EQUAL_FATAL(bdev_error_inject_error("EE_sh0", &inj), 0);
	CU_ASSERT_EQUAL_FATAL(open_bdev(&g_sh_ee, "EE_sh0"), 0);
	CU_ASSERT_EQUAL_FATAL(open_bdev(&g_sh_dl, "shd"), 0);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(g_sh_ee.desc, g_sh_ee.ch, g_sh_buf[0], 0, 1, io_done, &g_sh_err), 0);
	CU_ASSERT_EQUAL(brisk_bdev_read_blocks(g_sh_dl.desc, g_sh_dl.ch, g_sh_buf[1], 0, 1, io_done, &g_sh_delay), 0);
	poll_idle();
	CU_ASSERT_EQUAL(g_sh_err.done, 0);
	CU_ASSERT_EQUAL(g_sh_delay.done, 0);
}

static int check_held_io_released(void)
{
	uint64_t end = now_ms() + 5000;

	while ((g_sh_err.done == 0 || g_sh_delay.done == 0) && now_ms() < end) {
		brisk_thread_poll(g_th, 0, 0);
	}
	close_bdev(&g_sh_ee);
	close_bdev(&g_sh_dl);
	if (g_sh_err.done != 1 || g_sh_err.success || g_sh_delay.done != 1 || !g_sh_delay.success) {
		fprintf(stderr, "held I/O at finish: error read done %d success %d, delay read done %d success %d\n",
			g_sh_err.done, g_sh_err.success, g_sh_delay.done, g_sh_delay.success);
		return -1;
	}
	return 0;
}

static int ut_setup(void) { return ut_start(); }

static int ut_teardown(void) { return ut_finish_with(check_held_io_released) != 0 || !g_fini ? -1 : 0; }

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_passthru),
	BRISK_UT_TEST(test_error),
	BRISK_UT_TEST(test_delay),
	BRISK_UT_TEST(test_split),
	BRISK_UT_TEST(test_hold_io_for_finish),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "vbdev", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "vbdev_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 192,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
