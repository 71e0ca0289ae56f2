/*
 * Unit tests for lib/rpc/rpc_compat.c: the SPDK parameters Brisk lacks are
 * taken out at SPDK's default (or null), refused by name otherwise, ignored
 * at any value when they only tune a peer's internals; the caller's params
 * are never changed, and methods or params the list does not cover pass
 * through untouched.
 */
#include <errno.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <jansson.h>

#include "../../../lib/rpc/rpc_internal.h"
#include "../../common/ut_main.h"

static char g_msg[512];

static json_t *parse(const char *text)
{
	json_t *v = json_loads(text, 0, NULL);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

/* Filters text for method: rc, and *out the filtered copy (or NULL). */
static int filter(const char *method, const char *text, json_t **out)
{
	json_t *params = parse(text);
	json_t *before = json_deep_copy(params);
	int rc;

	g_msg[0] = '\0';
	rc = rpc_compat_filter(method, params, out, g_msg, sizeof(g_msg));
	CU_ASSERT(json_equal(params, before)); /* the caller's params stay as sent */
	json_decref(before);
	json_decref(params);
	return rc;
}

/* The filtered params must equal want (JSON text). */
static void expect_kept(const char *method, const char *text, const char *want)
{
	json_t *out = NULL, *w = parse(want);

	CU_ASSERT_EQUAL(filter(method, text, &out), 0);
	CU_ASSERT_PTR_NOT_NULL(out);
	CU_ASSERT(out != NULL && json_equal(out, w));
	json_decref(out);
	json_decref(w);
}

static void expect_refused(const char *method, const char *text, const char *param)
{
	json_t *out = (json_t *)1;

	CU_ASSERT_EQUAL(filter(method, text, &out), -ENOTSUP);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_msg, param));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_msg, "not supported"));
}

static void test_defaults_taken_out(void)
{
	expect_kept("bdev_malloc_create", "{\"name\": \"M\", \"num_blocks\": 8, \"block_size\": 512,"
		    " \"md_size\": 0, \"md_interleave\": false, \"dif_type\": 0, \"dif_is_head_of_md\": false,"
		    " \"dif_pi_format\": 0}", "{\"name\": \"M\", \"num_blocks\": 8, \"block_size\": 512}");
	expect_kept("bdev_aio_create", "{\"name\": \"A\", \"nowait\": null}", "{\"name\": \"A\"}");
	expect_kept("bdev_get_iostat", "{\"per_channel\": false}", "{}");
	expect_kept("save_config", "{\"with_batches\": false}", "{}");
}

static void test_non_defaults_refused(void)
{
	expect_refused("bdev_malloc_create", "{\"md_interleave\": true}", "md_interleave");
	expect_refused("bdev_null_create", "{\"dif_type\": 1}", "dif_type");
	/* 0 and 0.0 are different JSON values: a float is not SPDK's default. */
	expect_refused("bdev_null_create", "{\"md_size\": 0.0}", "md_size");
	expect_refused("bdev_get_iostat", "{\"per_channel\": true}", "per_channel");
	expect_refused("framework_get_config", "{\"name\": \"bdev\", \"with_batches\": true}", "with_batches");
}

static void test_same_as_sibling(void)
{
	expect_kept("bdev_null_create", "{\"block_size\": 4096, \"physical_block_size\": 4096}",
		    "{\"block_size\": 4096}");
	expect_kept("bdev_null_create", "{\"block_size\": 512, \"physical_block_size\": 0}", "{\"block_size\": 512}");
	expect_refused("bdev_null_create", "{\"block_size\": 512, \"physical_block_size\": 4096}",
		       "physical_block_size");
	expect_refused("bdev_null_create", "{\"block_size\": 512, \"physical_block_size\": \"512\"}",
		       "physical_block_size");
	expect_kept("bdev_lvol_create_lvstore", "{\"md_page_size\": 4096}", "{}");
	expect_refused("bdev_lvol_create_lvstore", "{\"md_page_size\": 8192}", "md_page_size");
}

static void test_nested_and_ignored(void)
{
	expect_kept("nvmf_subsystem_add_ns", "{\"nqn\": \"n\", \"namespace\": {\"bdev_name\": \"B\","
		    " \"no_auto_visible\": false, \"hide_metadata\": false}}",
		    "{\"nqn\": \"n\", \"namespace\": {\"bdev_name\": \"B\"}}");
	expect_refused("nvmf_subsystem_add_ns", "{\"nqn\": \"n\", \"namespace\": {\"no_auto_visible\": true}}",
		       "namespace.no_auto_visible");
	/* A namespace that is not an object is left for the handler to refuse. */
	expect_kept("nvmf_subsystem_add_ns", "{\"namespace\": 5}", "{\"namespace\": 5}");
	expect_kept("bdev_set_options", "{\"bdev_io_pool_size\": 1024, \"iobuf_small_cache_size\": 77,"
		    " \"iobuf_large_cache_size\": 9}", "{\"bdev_io_pool_size\": 1024}");
}

static void test_untouched(void)
{
	json_t *out = (json_t *)1;

	/* A method without listed parameters, params as an array, no params. */
	CU_ASSERT_EQUAL(filter("bdev_malloc_delete", "{\"name\": \"M\", \"md_size\": 3}", &out), 0);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(filter("bdev_malloc_create", "[1, 2]", &out), 0);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_EQUAL(rpc_compat_filter("bdev_malloc_create", NULL, &out, g_msg, sizeof(g_msg)), 0);
	CU_ASSERT_PTR_NULL(out);
	/* Unknown parameters are not this layer's business: the handler refuses them. */
	expect_kept("bdev_malloc_create", "{\"no_such\": 1}", "{\"no_such\": 1}");
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_defaults_taken_out), BRISK_UT_TEST(test_non_defaults_refused),
	BRISK_UT_TEST(test_same_as_sibling),    BRISK_UT_TEST(test_nested_and_ignored),
	BRISK_UT_TEST(test_untouched),          CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "rpc_compat", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "rpc_compat_ut",
	.suites = g_ut_suites,
};
