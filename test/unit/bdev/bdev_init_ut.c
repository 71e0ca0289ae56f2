/*
 * Start and finish of the bdev layer and its options: bad option values
 * (each named, nothing changed), asynchronous module init in registration
 * order, auto examine off with bdev_examine's allow list, save_config of the
 * options and the allow list, and finish: stacked bdevs unregistered top
 * first, then module fini in reverse order (one asynchronous).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

static struct brisk_thread *g_th;
static char g_log[512];

static void logf_(const char *s)
{
	strncat(g_log, s, sizeof(g_log) - strlen(g_log) - 1);
}

static void poll(void)
{
	while (brisk_thread_poll(g_th, 0, 0) > 0) {
	}
}

/* Module "base" (async init, async fini) and module "stack" that claims
 * the base bdev in examine and registers a bdev on top of it. */
static struct brisk_bdev_module g_base_if, g_stack_if;
static bool g_base_init_pending;

static int base_init(void)
{
	logf_("init:base ");
	g_base_init_pending = true;
	return 0;
}

static void base_fini(void)
{
	logf_("fini:base ");
	brisk_bdev_module_fini_done(); /* asynchronous module, finishing at once */
}

static int stack_init(void)
{
	logf_("init:stack ");
	return 0;
}

static void stack_fini(void)
{
	logf_("fini:stack ");
}

struct disk {
	struct brisk_bdev bdev;
	struct brisk_bdev_desc *base_desc; /* stack only */
};

static int null_ch_create(void *d, void *c) { return 0; }
static void null_ch_destroy(void *d, void *c) { }
static int g_dev;

static void submit(struct brisk_io_channel *ch, struct brisk_bdev_io *io)
{
	brisk_bdev_io_complete(io, BRISK_BDEV_IO_STATUS_SUCCESS);
}

static bool supported(void *ctx, enum brisk_bdev_io_type t)
{
	return t == BRISK_BDEV_IO_TYPE_READ;
}

static struct brisk_io_channel *get_ch(void *ctx)
{
	return brisk_get_io_channel(&g_dev);
}

static int destruct(void *ctx)
{
	struct disk *d = ctx;

	logf_("destruct:");
	logf_(d->bdev.name);
	logf_(" ");
	if (d->base_desc != NULL) {
		brisk_bdev_module_release_bdev(brisk_bdev_desc_get_bdev(d->base_desc));
		brisk_bdev_close(d->base_desc);
	}
	return 0;
}

static const struct brisk_bdev_fn_table g_fn = {
	.destruct = destruct, .submit_request = submit, .io_type_supported = supported,
	.get_io_channel = get_ch,
};

static struct disk g_base_disk = { .bdev = { .name = "base", .blocklen = 512, .blockcnt = 64 } };
static struct disk g_top_disk = { .bdev = { .name = "top", .blocklen = 512, .blockcnt = 64 } };

static void base_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
}

static void stack_examine_config(struct brisk_bdev *bdev)
{
	logf_("examine:");
	logf_(bdev->name);
	logf_(" ");
	if (strcmp(bdev->name, "base") == 0) {
		CU_ASSERT_EQUAL(brisk_bdev_open_ext("base", false, base_event, NULL, &g_top_disk.base_desc), 0);
		CU_ASSERT_EQUAL(brisk_bdev_module_claim_bdev(bdev, g_top_disk.base_desc, &g_stack_if), 0);
		g_top_disk.bdev.ctxt = &g_top_disk;
		g_top_disk.bdev.fn_table = &g_fn;
		g_top_disk.bdev.module = &g_stack_if;
		CU_ASSERT_EQUAL(brisk_bdev_register(&g_top_disk.bdev), 0);
	}
	brisk_bdev_module_examine_done(&g_stack_if);
}

static struct brisk_bdev_module g_base_if = {
	.name = "base", .module_init = base_init, .module_fini = base_fini,
	.async_init = true, .async_fini = true,
};
static struct brisk_bdev_module g_stack_if = {
	.name = "stack", .module_init = stack_init, .module_fini = stack_fini,
	.examine_config = stack_examine_config,
};
BRISK_BDEV_MODULE_REGISTER(base, &g_base_if)
BRISK_BDEV_MODULE_REGISTER(stack, &g_stack_if)

static int g_init_rc = 1;
static void init_done(void *arg, int rc)
{
	g_init_rc = rc;
}

static bool g_fini;
static void fini_done(void *arg)
{
	g_fini = true;
}

static void test_options(void)
{
	struct brisk_bdev_opts o, saved;

	brisk_bdev_get_opts(&saved);
	o = saved;
	o.bdev_io_cache_size = 0;
	CU_ASSERT_EQUAL(brisk_bdev_set_opts(&o), -EINVAL);
	o = saved;
	o.bdev_io_pool_size = 10;
	o.bdev_io_cache_size = 8;
	CU_ASSERT_EQUAL(brisk_bdev_set_opts(&o), -EINVAL);
	o = saved;
	o.small_buf_pool_size = 0;
	CU_ASSERT_EQUAL(brisk_bdev_set_opts(&o), -EINVAL);
	o = saved;
	o.large_buf_pool_size = 1u << 20;
	CU_ASSERT_EQUAL(brisk_bdev_set_opts(&o), -EINVAL);
	brisk_bdev_get_opts(&o);
	CU_ASSERT_EQUAL(memcmp(&o, &saved, sizeof(o)), 0);
	/* Nothing registered before init. */
	CU_ASSERT_EQUAL(brisk_bdev_register(&g_base_disk.bdev), -EINVAL);

	o.bdev_io_pool_size = 64;
	o.bdev_io_cache_size = 4;
	o.bdev_auto_examine = false;
	o.small_buf_pool_size = 8;
	o.large_buf_pool_size = 2;
	CU_ASSERT_EQUAL(brisk_bdev_set_opts(&o), 0);
}

static void test_async_init_order(void)
{
	g_log[0] = '\0';
	brisk_bdev_initialize(init_done, NULL);
	poll();
	/* base is asynchronous: stack waits for it. */
	CU_ASSERT_STRING_EQUAL(g_log, "init:base ");
	CU_ASSERT_EQUAL(g_init_rc, 1);
	CU_ASSERT_FALSE(brisk_bdev_is_initialized());
	CU_ASSERT_TRUE(g_base_init_pending);
	brisk_bdev_module_init_done(&g_base_if);
	poll();
	CU_ASSERT_STRING_EQUAL(g_log, "init:base init:stack ");
	CU_ASSERT_EQUAL(g_init_rc, 0);
	CU_ASSERT_TRUE(brisk_bdev_is_initialized());
	/* Options are fixed now. */
	{
		struct brisk_bdev_opts o;

		brisk_bdev_get_opts(&o);
		CU_ASSERT_EQUAL(brisk_bdev_set_opts(&o), -EPERM);
	}
}

static int g_examined;
static void examined(void *arg)
{
	g_examined++;
}

static void test_manual_examine(void)
{
	json_t *cfg;
	char *text;

	g_log[0] = '\0';
	g_base_disk.bdev.ctxt = &g_base_disk;
	g_base_disk.bdev.fn_table = &g_fn;
	g_base_disk.bdev.module = &g_base_if;
	CU_ASSERT_EQUAL(brisk_bdev_register(&g_base_disk.bdev), 0);
	poll();
	CU_ASSERT_STRING_EQUAL(g_log, ""); /* auto examine is off */
	CU_ASSERT_EQUAL(brisk_bdev_examine(NULL), -EINVAL);
	CU_ASSERT_EQUAL(brisk_bdev_examine("base"), 0);
	CU_ASSERT_EQUAL(brisk_bdev_examine("base"), -EEXIST);
	CU_ASSERT_EQUAL(brisk_bdev_wait_for_examine(examined, NULL), 0);
	poll();
	CU_ASSERT_EQUAL(g_examined, 1);
	/* base examined (claimed, top registered); top is not in the list. */
	CU_ASSERT_STRING_EQUAL(g_log, "examine:base ");
	CU_ASSERT_STRING_EQUAL(brisk_bdev_get_claim_module_name(&g_base_disk.bdev), "stack");
	CU_ASSERT_PTR_EQUAL(brisk_bdev_get_by_name("top"), &g_top_disk.bdev);
	CU_ASSERT_PTR_EQUAL(brisk_bdev_first_leaf(), &g_top_disk.bdev);

	cfg = json_array();
	brisk_bdev_subsystem_config_json(cfg);
	text = json_dumps(cfg, JSON_COMPACT);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"bdev_auto_examine\":false"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"bdev_io_pool_size\":64"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "{\"method\":\"bdev_examine\",\"params\":{\"name\":\"base\"}}"));
	free(text);
	json_decref(cfg);
}

static void test_finish_order(void)
{
	g_log[0] = '\0';
	brisk_bdev_finish(fini_done, NULL);
	poll();
	CU_ASSERT_TRUE(g_fini);
	/* top (the leaf) before base; module fini in reverse registration order. */
	CU_ASSERT_STRING_EQUAL(g_log, "destruct:top destruct:base fini:stack fini:base ");
	CU_ASSERT_PTR_NULL(brisk_bdev_first());
	CU_ASSERT_FALSE(brisk_bdev_is_initialized());
}

static int ut_setup(void)
{
	g_th = brisk_thread_create("ut", NULL);
	brisk_set_thread(g_th);
	brisk_io_device_register(&g_dev, null_ch_create, null_ch_destroy, 8, "init_ut_dev");
	return g_th == NULL ? -1 : 0;
}

static int ut_teardown(void)
{
	brisk_io_device_unregister(&g_dev, NULL);
	poll();
	return brisk_ut_thread_end(g_th);
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_options),
	BRISK_UT_TEST(test_async_init_order),
	BRISK_UT_TEST(test_manual_examine),
	BRISK_UT_TEST(test_finish_order),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bdev_init", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "bdev_init_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
