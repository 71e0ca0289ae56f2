/*
 * The bdev layer's RPC methods and those of the malloc and null modules,
 * called in-process with brisk_rpc_call_local: parameter errors name the
 * field and change nothing, results have SPDK's shape. At the end, a
 * bdev_get_bdevs still waiting for a bdev is answered when the layer
 * finishes (shutdown does not wait for its timeout).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>

#include "../../../module/bdev/malloc/bdev_malloc.c"
#include "../../../module/bdev/malloc/bdev_malloc_rpc.c"
#include "../../../module/bdev/null/bdev_null.c"
#include "../../../module/bdev/null/bdev_null_rpc.c"
#include "../../common/ut_main.h"

static struct brisk_thread *g_th;

static void poll(void)
{
	for (int i = 0; i < 100000; i++) {
		if (brisk_thread_poll(g_th, 0, 0) == 0 && i > 10) {
			return;
		}
	}
}

struct answer {
	bool done;
	int code;
	char msg[512];
	json_t *result;
};

static void answered(void *ctx, int error_code, const char *error_message, const json_t *result)
{
	struct answer *a = ctx;

	a->done = true;
	a->code = error_code;
	snprintf(a->msg, sizeof(a->msg), "%s", error_message ? error_message : "");
	a->result = result ? json_deep_copy(result) : NULL;
}

/* Calls method with params given as JSON text; waits for the answer. */
static struct answer call(const char *method, const char *params_text)
{
	struct answer a = {0};
	json_t *params = params_text ? json_loads(params_text, 0, NULL) : NULL;
	int rc;

	rc = brisk_rpc_call_local(method, params, answered, &a);
	if (rc != 0) {
		a.done = true;
		a.code = rc;
	}
	for (int i = 0; i < 2000 && !a.done; i++) {
		poll();
	}
	CU_ASSERT_TRUE(a.done);
	json_decref(params);
	return a;
}

static void answer_free(struct answer *a)
{
	json_decref(a->result);
	a->result = NULL;
}

static int count_bdevs(void)
{
	int n = 0;

	for (struct brisk_bdev *b = brisk_bdev_first(); b != NULL; b = brisk_bdev_next(b)) {
		n++;
	}
	return n;
}

static void test_malloc_rpc(void)
{
	struct answer a;
	int before = count_bdevs();

	a = call("bdev_malloc_create", "{\"num_blocks\": 0, \"block_size\": 512}");
	CU_ASSERT_NOT_EQUAL(a.code, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "num_blocks"));
	a = call("bdev_malloc_create", "{\"num_blocks\": 16, \"block_size\": 1000}");
	CU_ASSERT_EQUAL(a.code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "block_size"));
	a = call("bdev_malloc_create", "{\"block_size\": 512}");
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "num_blocks"));
	a = call("bdev_malloc_create", "{\"num_blocks\": 16, \"block_size\": 512, \"uuid\": \"xyz\"}");
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "uuid"));
	a = call("bdev_malloc_create", "{\"num_blocks\": 16, \"block_size\": 512, \"physical_block_size\": 1536}");
	CU_ASSERT_EQUAL(a.code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "physical_block_size"));
	a = call("bdev_malloc_create", "{\"num_blocks\": 16, \"block_size\": 4096, \"physical_block_size\": 512}");
	CU_ASSERT_EQUAL(a.code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "physical_block_size"));
	a = call("bdev_malloc_create", "{\"num_blocks\": 16, \"block_size\": 512, \"bogus\": 1}");
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "bogus"));
	CU_ASSERT_EQUAL(count_bdevs(), before);

	a = call("bdev_malloc_create",
		 "{\"name\": \"M0\", \"num_blocks\": 16, \"block_size\": 4096, \"physical_block_size\": 8192}");
	CU_ASSERT_EQUAL(a.code, 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(a.result), "M0");
	CU_ASSERT_EQUAL(brisk_bdev_get_physical_block_size(brisk_bdev_get_by_name("M0")), 8192);
	answer_free(&a);
	a = call("bdev_malloc_create", "{\"name\": \"M0\", \"num_blocks\": 32, \"block_size\": 512}");
	CU_ASSERT_EQUAL(a.code, -EEXIST);
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "M0"));
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(brisk_bdev_get_by_name("M0")), 16);
	CU_ASSERT_EQUAL(count_bdevs(), before + 1);

	a = call("bdev_get_bdevs", "{\"name\": \"M0\"}");
	CU_ASSERT_EQUAL(a.code, 0);
	CU_ASSERT_EQUAL(json_array_size(a.result), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(a.result, 0), "block_size")), 4096);
	answer_free(&a);
	a = call("bdev_get_bdevs", "{\"name\": \"nope\"}");
	CU_ASSERT_EQUAL(a.code, -ENODEV);
	a = call("bdev_get_iostat", "{\"name\": \"M0\"}");
	CU_ASSERT_EQUAL(a.code, 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(a.result, "bdevs")), 1);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(a.result, "tick_rate"));
	answer_free(&a);
	a = call("bdev_reset_iostat", "{\"mode\": \"sideways\"}");
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "mode"));
	a = call("bdev_reset_iostat", "{\"name\": \"M0\", \"mode\": \"maxmin\"}");
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);

	a = call("bdev_set_qos_limit", "{\"name\": \"M0\", \"rw_ios_per_sec\": 1500}");
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "rw_ios_per_sec"));
	a = call("bdev_set_qos_limit", "{\"name\": \"M0\"}");
	CU_ASSERT_NOT_EQUAL(a.code, 0);
	a = call("bdev_set_qos_limit", "{\"name\": \"M0\", \"rw_ios_per_sec\": 2000, \"r_mbytes_per_sec\": 5}");
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);
	a = call("bdev_get_bdevs", "{\"name\": \"M0\"}");
	{
		json_t *l = json_object_get(json_array_get(a.result, 0), "assigned_rate_limits");

		CU_ASSERT_EQUAL(json_integer_value(json_object_get(l, "rw_ios_per_sec")), 2000);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(l, "r_mbytes_per_sec")), 5);
	}
	answer_free(&a);

	/* save_config recreates it, with its limits. */
	{
		json_t *cfg = json_array();
		char *text;

		brisk_bdev_subsystem_config_json(cfg);
		text = json_dumps(cfg, 0);
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"bdev_malloc_create\""));
		CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"bdev_set_qos_limit\""));
		free(text);
		json_decref(cfg);
	}

	a = call("bdev_malloc_delete", "{\"name\": \"nope\"}");
	CU_ASSERT_EQUAL(a.code, -ENODEV);
	a = call("bdev_malloc_delete", "{\"name\": \"M0\"}");
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);
	CU_ASSERT_EQUAL(count_bdevs(), before);
}

static void test_null_rpc_and_wait(void)
{
	struct answer a;

	a = call("bdev_null_create", "{\"name\": \"N0\", \"num_blocks\": 0, \"block_size\": 512}");
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "num_blocks"));
	a = call("bdev_null_create", "{\"num_blocks\": 8, \"block_size\": 512}");
	CU_ASSERT_PTR_NOT_NULL(strstr(a.msg, "name"));
	a = call("bdev_null_create", "{\"name\": \"N0\", \"num_blocks\": 2048, \"block_size\": 512}");
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);
	a = call("bdev_null_resize", "{\"name\": \"N0\", \"new_size\": 4}");
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);
	CU_ASSERT_EQUAL(brisk_bdev_get_num_blocks(brisk_bdev_get_by_name("N0")), 8192);
	a = call("bdev_null_resize", "{\"name\": \"nope\", \"new_size\": 4}");
	CU_ASSERT_EQUAL(a.code, -ENODEV);

	a = call("bdev_wait_for_examine", NULL);
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);
	a = call("bdev_examine", "{\"name\": \"N0\"}");
	CU_ASSERT_NOT_EQUAL(a.code, 0); /* auto examine is on */
	a = call("bdev_set_options", "{\"bdev_io_pool_size\": 100}");
	CU_ASSERT_NOT_EQUAL(a.code, 0); /* only before the subsystem starts */

	/* get_bdevs with a timeout finds a bdev created while it waits. */
	{
		struct answer w = {0};
		json_t *params = json_loads("{\"name\": \"late\", \"timeout\": 2000}", 0, NULL);
		struct bdev_null_opts o = { .name = "late", .num_blocks = 8, .block_size = 512 };
		struct brisk_bdev *b;

		CU_ASSERT_EQUAL(brisk_rpc_call_local("bdev_get_bdevs", params, answered, &w), 0);
		poll();
		CU_ASSERT_FALSE(w.done);
		CU_ASSERT_EQUAL(bdev_null_create(&b, &o), 0);
		for (int i = 0; i < 100000 && !w.done; i++) {
			brisk_thread_poll(g_th, 0, 0);
		}
		CU_ASSERT_TRUE(w.done);
		CU_ASSERT_EQUAL(w.code, 0);
		answer_free(&w);
		json_decref(params);
	}
	a = call("bdev_null_delete", "{\"name\": \"late\"}");
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);
	a = call("bdev_null_delete", "{\"name\": \"N0\"}");
	CU_ASSERT_EQUAL(a.code, 0);
	answer_free(&a);
}

static int g_init_rc = -1;
static void init_done(void *arg, int rc)
{
	g_init_rc = rc;
}

static bool g_fini;
static void fini_done(void *arg)
{
	g_fini = true;
}

static int ut_setup(void)
{
	struct brisk_bdev_opts opts;

	g_th = brisk_thread_create("ut", NULL);
	brisk_set_thread(g_th);
	brisk_bdev_get_opts(&opts);
	opts.bdev_io_pool_size = 256;
	opts.bdev_io_cache_size = 16;
	opts.small_buf_pool_size = 8;
	opts.large_buf_pool_size = 2;
	if (brisk_bdev_set_opts(&opts) != 0) {
		return -1;
	}
	brisk_bdev_initialize(init_done, NULL);
	poll();
	if (g_init_rc != 0) {
		return -1;
	}
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	return 0;
}

/* A bdev_get_bdevs still waiting for a bdev at finish is answered -ESHUTDOWN. */
static int ut_teardown(void)
{
	struct answer waiting = { 0 };
	json_t *wait_params;
	unsigned failures = 0;

	wait_params = json_loads("{\"name\": \"never\", \"timeout\": 3600000}", 0, NULL);
	if (brisk_rpc_call_local("bdev_get_bdevs", wait_params, answered, &waiting) != 0) {
		failures++;
	}
	json_decref(wait_params);
	poll();
	failures += waiting.done ? 1 : 0; /* still waiting for "never" */
	brisk_bdev_finish(fini_done, NULL);
	poll();
	failures += g_fini ? 0 : 1;
	if (!waiting.done || waiting.code != -ESHUTDOWN) {
		fprintf(stderr, "bdev_get_bdevs waiting at finish: done %d, code %d\n", waiting.done, waiting.code);
		failures++;
	}
	failures += brisk_ut_thread_end(g_th) != 0 ? 1 : 0;
	return failures ? -1 : 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_malloc_rpc),
	BRISK_UT_TEST(test_null_rpc_and_wait),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bdev_rpc", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "bdev_rpc_ut",
	.env = BRISK_UT_ENV_THREAD,
	.mem_mb = 128,
	.thread_opts = { .msg_pool_size = 4095 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
