/*
 * Unit tests for lib/event/json_config.c: the STARTUP / RUNTIME split, order
 * by subsystem init order, checks done before anything runs, method errors,
 * and save_config's shape. Test methods and subsystems are registered here;
 * the test polls its own brisk_thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/event.h>
#include <brisk/json.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>

#include "../../../lib/event/event_internal.h"
#include "../../common/ut_main.h"

static struct brisk_thread *g_thread;
static char g_calls[512];   /* "method(tag) ..." in the order they ran */
static int g_rc = 1;        /* 1 = callback not called yet */
static char g_err[512];

static void record_call(const char *method, const json_t *params)
{
	const char *tag = json_string_value(json_object_get(params, "tag"));
	size_t len = strlen(g_calls);

	snprintf(g_calls + len, sizeof(g_calls) - len, "%s%s(%s)", len ? " " : "", method,
		 tag ? tag : "");
}

struct tag_params {
	char *tag;
	uint32_t value;
};

static const struct brisk_json_object_decoder g_tag_decoders[] = {
	{"tag", offsetof(struct tag_params, tag), brisk_json_decode_string, true},
	{"value", offsetof(struct tag_params, value), brisk_json_decode_uint32, true},
};

/* Validates params like a real method would (so a bad one is an error). */
static bool method_check(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct tag_params p = {0};
	char err[256];
	int rc = brisk_json_decode_object(params, g_tag_decoders, BRISK_COUNTOF(g_tag_decoders), &p,
					  err, sizeof(err));

	brisk_json_free_object(g_tag_decoders, BRISK_COUNTOF(g_tag_decoders), &p);
	if (rc != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return false;
	}
	return true;
}

static void ut_startup_only(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (method_check(req, params)) {
		record_call("ut_startup_only", params);
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("ut_startup_only", ut_startup_only, BRISK_RPC_STARTUP)

static void ut_runtime_only(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (method_check(req, params)) {
		record_call("ut_runtime_only", params);
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("ut_runtime_only", ut_runtime_only, BRISK_RPC_RUNTIME)

static void ut_any_state(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (method_check(req, params)) {
		record_call("ut_any_state", params);
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("ut_any_state", ut_any_state, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static void ut_fails(struct brisk_jsonrpc_request *req, const json_t *params)
{
	record_call("ut_fails", params);
	brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "device on fire");
}
BRISK_RPC_REGISTER("ut_fails", ut_fails, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static void write_first(json_t *array)
{
	json_array_append_new(array, json_pack("{s:s, s:{s:s}}", "method", "ut_runtime_only",
					       "params", "tag", "saved"));
}

static struct brisk_subsystem g_first = { .name = "first", .write_config_json = write_first };
static struct brisk_subsystem g_second = { .name = "second" };
static struct brisk_subsystem_depend g_second_first = { .name = "second", .depends_on = "first" };

static void setup_subsystems(void)
{
	event_subsystem_clear_registry();
	/* Registered second-first; the dependency makes "first" initialise first. */
	brisk_subsystem_register(&g_second);
	brisk_subsystem_register(&g_first);
	brisk_subsystem_add_depend(&g_second_first);
}

static void apply_cb(int rc, const char *errmsg, void *ctx)
{
	g_rc = rc;
	snprintf(g_err, sizeof(g_err), "%s", errmsg ? errmsg : "");
}

static void reset(void)
{
	g_calls[0] = '\0';
	g_err[0] = '\0';
	g_rc = 1;
}

static void wait_cb(void)
{
	for (int i = 0; i < 100000 && g_rc == 1; i++) {
		brisk_thread_poll(g_thread, 0, 0);
	}
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *v = json_loads(text, 0, &jerr);

	CU_ASSERT_PTR_NOT_NULL_FATAL(v);
	return v;
}

static void apply_text(const char *text)
{
	json_t *config = parse(text);

	reset();
	brisk_json_config_apply(config, apply_cb, NULL);
	json_decref(config);  /* the apply keeps its own reference */
	wait_cb();
}

static const char *g_mixed =
	"{\"subsystems\": ["
	" {\"subsystem\": \"second\", \"config\": ["
	"   {\"method\": \"ut_runtime_only\", \"params\": {\"tag\": \"s1\"}},"
	"   {\"method\": \"ut_startup_only\", \"params\": {\"tag\": \"s2\"}}]},"
	" {\"subsystem\": \"first\", \"config\": ["
	"   {\"method\": \"ut_runtime_only\", \"params\": {\"tag\": \"f1\"}},"
	"   {\"method\": \"ut_any_state\", \"params\": {\"tag\": \"f2\"}},"
	"   {\"method\": \"ut_startup_only\", \"params\": {\"tag\": \"f3\"}}]}]}";

static void test_startup_then_runtime(void)
{
	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_STARTUP);
	apply_text(g_mixed);
	CU_ASSERT_EQUAL(g_rc, 0);
	/* STARTUP: the methods allowed at STARTUP, "first" before "second". */
	CU_ASSERT_STRING_EQUAL(g_calls, "ut_any_state(f2) ut_startup_only(f3) ut_startup_only(s2)");

	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	reset();
	brisk_json_config_apply_deferred(apply_cb, NULL);
	wait_cb();
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "ut_runtime_only(f1) ut_runtime_only(s1)");

	/* Nothing deferred any more. */
	reset();
	brisk_json_config_apply_deferred(apply_cb, NULL);
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "");
}

static void test_runtime_apply_skips_startup_only(void)
{
	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	apply_text(g_mixed);
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "ut_runtime_only(f1) ut_any_state(f2) ut_runtime_only(s1)");
}

/* Every check runs before any method: a bad entry anywhere means nothing ran. */
static void expect_rejected(const char *text, const char *want)
{
	apply_text(text);
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_STRING_EQUAL(g_calls, "");
	if (strstr(g_err, want) == NULL) {
		fprintf(stderr, "\n    error '%s' lacks '%s'\n", g_err, want);
		CU_FAIL("error message does not name the problem");
	}
}

static void test_checks_before_running(void)
{
	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	expect_rejected("[]", "must be a JSON object");
	expect_rejected("{}", "'subsystems' is missing");
	expect_rejected("{\"subsystems\": {}}", "'subsystems' is missing or not an array");
	expect_rejected("{\"subsystems\": [5]}", "subsystems[0]");
	expect_rejected("{\"subsystems\": [{\"subsystem\": 5}]}", "subsystems[0]");
	expect_rejected("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": [{\"method\": \"ut_any_state\"}]},"
			" {\"subsystem\": \"nope\", \"config\": [{\"method\": \"no_such\"}]}]}",
			"subsystem 'nope' is not supported by Brisk: its config entry 0 ('no_such')");
	expect_rejected("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": {}}]}",
			"subsystem 'first': 'config' must be an array");
	expect_rejected("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": [{\"method\": \"ut_any_state\"},"
			" {\"method\": \"no_such\"}]}]}", "subsystem 'first': unknown method 'no_such'");
	expect_rejected("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": [7]}]}",
			"config entry 0 is not an object");
	expect_rejected("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": [{\"method\": 1}]}]}",
			"'method' is missing or not a string");
	expect_rejected("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": [{\"method\": \"ut_any_state\","
			" \"params\": 3}]}]}", "'params' must be an object");
	expect_rejected("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": [{\"method\": \"ut_any_state\","
			" \"extra\": 1}]}]}", "unknown key 'extra'");
}

/* SPDK's saved configs list subsystems Brisk lacks: empty ones are skipped;
 * one whose entries are methods Brisk has runs them before the known ones. */
static void test_unknown_subsystems(void)
{
	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	apply_text("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": [{\"method\": \"ut_any_state\","
		   " \"params\": {\"tag\": \"f\"}}]}, {\"subsystem\": \"vmd\", \"config\": []},"
		   " {\"subsystem\": \"keyring\"}, {\"subsystem\": \"iobuf\", \"config\": [{\"method\":"
		   " \"ut_any_state\", \"params\": {\"tag\": \"peer\"}}]}]}");
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "ut_any_state(peer) ut_any_state(f)");
}

/* More calls than 16 bits count keep file order (the order key once wrapped). */
static uint32_t g_seq_next;
static uint32_t g_seq_bad;

static void ut_seq(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if ((uint32_t)json_integer_value(json_object_get(params, "value")) != g_seq_next++) {
		g_seq_bad++;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("ut_seq", ut_seq, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static void test_many_calls_keep_file_order(void)
{
	const uint32_t n = 70000;
	json_t *calls = json_array();
	json_t *config = json_pack("{s:[{s:s, s:o}]}", "subsystems", "subsystem", "first", "config", calls);

	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	for (uint32_t i = 0; i < n; i++) {
		json_array_append_new(calls, json_pack("{s:s, s:{s:i}}", "method", "ut_seq", "params", "value", (int)i));
	}
	reset();
	g_seq_next = g_seq_bad = 0;
	brisk_json_config_apply(config, apply_cb, NULL);
	json_decref(config);
	for (uint32_t i = 0; i < 4 * n && g_rc == 1; i++) {
		brisk_thread_poll(g_thread, 0, 0);
	}
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_EQUAL(g_seq_next, n);
	CU_ASSERT_EQUAL(g_seq_bad, 0);
}

static void test_method_errors_stop_the_apply(void)
{
	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);

	/* A method that fails: later calls do not run; the message names all three. */
	apply_text("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": ["
		   "{\"method\": \"ut_any_state\", \"params\": {\"tag\": \"a\"}},"
		   "{\"method\": \"ut_fails\"},"
		   "{\"method\": \"ut_any_state\", \"params\": {\"tag\": \"never\"}}]}]}");
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_STRING_EQUAL(g_calls, "ut_any_state(a) ut_fails()");
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "subsystem 'first'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "method 'ut_fails'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "device on fire"));

	/* A bad parameter: the method's message names it. */
	apply_text("{\"subsystems\": [{\"subsystem\": \"second\", \"config\": ["
		   "{\"method\": \"ut_any_state\", \"params\": {\"value\": \"x\"}}]}]}");
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "method 'ut_any_state'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "value"));

	/* An unknown parameter too. */
	apply_text("{\"subsystems\": [{\"subsystem\": \"second\", \"config\": ["
		   "{\"method\": \"ut_any_state\", \"params\": {\"bogus\": 1}}]}]}");
	CU_ASSERT_EQUAL(g_rc, -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(g_err, "bogus"));
}

static void test_null_and_missing_config(void)
{
	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	apply_text("{\"subsystems\": [{\"subsystem\": \"first\", \"config\": null}, {\"subsystem\": \"second\"}]}");
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "");
	apply_text("{\"subsystems\": []}");
	CU_ASSERT_EQUAL(g_rc, 0);
}

static void test_save_shape_and_round_trip(void)
{
	json_t *saved, *subs, *again;

	setup_subsystems();
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	saved = brisk_json_config_save();
	CU_ASSERT_PTR_NOT_NULL_FATAL(saved);
	subs = json_object_get(saved, "subsystems");
	CU_ASSERT_EQUAL_FATAL(json_array_size(subs), 2);
	/* In init order, "config" null when the subsystem writes none. */
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(subs, 0), "subsystem")), "first");
	CU_ASSERT_EQUAL(json_array_size(json_object_get(json_array_get(subs, 0), "config")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(json_array_get(subs, 1), "subsystem")), "second");
	CU_ASSERT_TRUE(json_is_null(json_object_get(json_array_get(subs, 1), "config")));

	/* Applying it runs the saved call; saving again gives the same object. */
	reset();
	brisk_json_config_apply(saved, apply_cb, NULL);
	wait_cb();
	CU_ASSERT_EQUAL(g_rc, 0);
	CU_ASSERT_STRING_EQUAL(g_calls, "ut_runtime_only(saved)");
	again = brisk_json_config_save();
	CU_ASSERT_TRUE(json_equal(saved, again));
	json_decref(saved);
	json_decref(again);
}

static void test_read_file(void)
{
	char path[] = "/tmp/json_config_ut.XXXXXX";
	int fd = mkstemp(path);
	json_t *v;

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT(write(fd, "{\"subsystems\": [\n  oops\n]}", 26) == 26);
	close(fd);
	CU_ASSERT_PTR_NULL(brisk_json_config_read_file(path)); /* not JSON: logs line 2 */
	fd = open(path, O_WRONLY | O_TRUNC);
	CU_ASSERT(write(fd, "{\"subsystems\": []}", 18) == 18);
	close(fd);
	v = brisk_json_config_read_file(path);
	CU_ASSERT_PTR_NOT_NULL(v);
	json_decref(v);
	unlink(path);
	CU_ASSERT_PTR_NULL(brisk_json_config_read_file(path)); /* missing */
	CU_ASSERT_PTR_NULL(brisk_json_config_read_file(NULL));
}

static int ut_setup(void)
{
	g_thread = brisk_thread_create("json_config_ut", NULL);
	if (g_thread == NULL) {
		fprintf(stderr, "thread set-up failed\n");
		return -1;
	}
	brisk_set_thread(g_thread);
	return 0;
}

static int ut_teardown(void)
{
	brisk_thread_exit(g_thread);
	for (int i = 0; i < 1000 && !brisk_thread_is_exited(g_thread); i++) {
		brisk_thread_poll(g_thread, 0, 0);
	}
	brisk_thread_destroy(g_thread);
	brisk_set_thread(NULL);
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_startup_then_runtime),
	BRISK_UT_TEST(test_runtime_apply_skips_startup_only),
	BRISK_UT_TEST(test_checks_before_running),
	BRISK_UT_TEST(test_unknown_subsystems),
	BRISK_UT_TEST(test_many_calls_keep_file_order),
	BRISK_UT_TEST(test_method_errors_stop_the_apply),
	BRISK_UT_TEST(test_null_and_missing_config),
	BRISK_UT_TEST(test_save_shape_and_round_trip),
	BRISK_UT_TEST(test_read_file),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "json_config", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "json_config_ut",
	.env = BRISK_UT_ENV_THREAD,
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
