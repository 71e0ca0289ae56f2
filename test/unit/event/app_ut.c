/*
 * Unit tests for lib/event/app.c and framework_rpc.c in one process: the app
 * runs (reactors on cores 0-1, no RPC socket) and the tests, on a separate OS
 * thread, call the framework methods on the app thread through
 * brisk_rpc_call_local, as the JSON config does. Then brisk_app_stop(0) and
 * brisk_app_start must return 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>
#include "../../common/ut_main.h"

static _Atomic int g_started;

struct call {
	const char *method;
	json_t *params;
	int rc;              /* of brisk_rpc_call_local */
	int error_code;
	char error_message[512];
	json_t *result;
	_Atomic int done;
};

static void call_done(void *ctx, int error_code, const char *error_message, const json_t *result)
{
	struct call *c = ctx;

	c->error_code = error_code;
	snprintf(c->error_message, sizeof(c->error_message), "%s", error_message ? error_message : "");
	c->result = result != NULL ? json_deep_copy(result) : NULL;
	atomic_store(&c->done, 1);
}

static void call_on_app_thread(void *ctx)
{
	struct call *c = ctx;
	int rc;

	/* call_done may run inside the call and set done, after which the test
	 * thread reads c: write c->rc (0 from call()'s memset) only on failure,
	 * when call_done never runs. */
	rc = brisk_rpc_call_local(c->method, c->params, call_done, c);
	if (rc != 0) {
		c->rc = rc;
		atomic_store(&c->done, 1);
	}
}

/* Runs method on the app thread and waits for its answer. */
static void call(struct call *c, const char *method, const char *params)
{
	json_error_t jerr;

	memset(c, 0, sizeof(*c));
	c->method = method;
	c->params = params != NULL ? json_loads(params, 0, &jerr) : NULL;
	CU_ASSERT_EQUAL_FATAL(brisk_thread_send_msg(brisk_app_get_thread(), call_on_app_thread, c), 0);
	for (int i = 0; i < 50000 && !atomic_load(&c->done); i++) {
		usleep(100);
	}
	CU_ASSERT_TRUE_FATAL(atomic_load(&c->done));
	json_decref(c->params);
}

static void call_free(struct call *c)
{
	json_decref(c->result);
}

static void test_app_state(void)
{
	CU_ASSERT_PTR_NOT_NULL(brisk_app_get_thread());
	CU_ASSERT_TRUE(brisk_app_is_init_done());
	CU_ASSERT_EQUAL(brisk_rpc_get_state(), BRISK_RPC_RUNTIME);
	CU_ASSERT_EQUAL(brisk_app_get_shm_id(), -1);
	CU_ASSERT_STRING_EQUAL(brisk_app_get_opts()->name, "app_ut");
	/* One app per process. */
	CU_ASSERT_EQUAL(brisk_app_start(brisk_app_get_opts(), NULL, NULL), -EALREADY);
}

static void test_wait_and_start_init(void)
{
	struct call c;

	call(&c, "framework_wait_init", NULL);
	CU_ASSERT_EQUAL(c.rc, 0);
	CU_ASSERT_EQUAL(c.error_code, 0);
	CU_ASSERT_TRUE(json_is_true(c.result));
	call_free(&c);

	call(&c, "framework_wait_init", "{\"x\": 1}");
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	call_free(&c);

	/* STARTUP only: refused now. */
	call(&c, "framework_start_init", NULL);
	CU_ASSERT_EQUAL(c.rc, -EPERM);
	call_free(&c);
}

static void test_get_reactors(void)
{
	struct call c;
	json_t *reactors, *r;
	size_t i, j;
	bool app_thread_on_main = false;

	call(&c, "framework_get_reactors", NULL);
	CU_ASSERT_EQUAL_FATAL(c.error_code, 0);
	reactors = json_object_get(c.result, "reactors");
	CU_ASSERT_EQUAL(json_array_size(reactors), brisk_env_get_core_count());
	CU_ASSERT(json_integer_value(json_object_get(c.result, "tick_rate")) > 0);
	json_array_foreach(reactors, i, r) {
		json_t *threads = json_object_get(r, "lw_threads"), *t;

		CU_ASSERT_TRUE(json_is_integer(json_object_get(r, "lcore")));
		CU_ASSERT_TRUE(json_is_integer(json_object_get(r, "busy")));
		CU_ASSERT_TRUE(json_is_integer(json_object_get(r, "idle")));
		CU_ASSERT_TRUE(json_is_boolean(json_object_get(r, "in_interrupt")));
		json_array_foreach(threads, j, t) {
			if (strcmp(json_string_value(json_object_get(t, "name")), "app_thread") == 0 &&
			    json_integer_value(json_object_get(r, "lcore")) == brisk_env_get_main_core()) {
				app_thread_on_main = true;
			}
		}
	}
	CU_ASSERT_TRUE(app_thread_on_main);
	call_free(&c);
}

static void test_get_subsystems_and_config(void)
{
	struct call c;
	json_t *s;
	size_t i;
	bool has_log = false;

	call(&c, "framework_get_subsystems", NULL);
	CU_ASSERT_EQUAL_FATAL(c.error_code, 0);
	json_array_foreach(c.result, i, s) {
		CU_ASSERT_TRUE(json_is_array(json_object_get(s, "depends_on")));
		has_log |= strcmp(json_string_value(json_object_get(s, "subsystem")), "log") == 0;
	}
	CU_ASSERT_TRUE(has_log);
	call_free(&c);

	call(&c, "framework_get_config", "{\"name\": \"log\"}");
	CU_ASSERT_EQUAL(c.error_code, 0);
	CU_ASSERT_TRUE(json_is_array(c.result));
	CU_ASSERT(json_array_size(c.result) >= 2); /* print level and level */
	call_free(&c);

	call(&c, "framework_get_config", "{\"name\": \"zz_nope\"}");
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.error_message, "zz_nope"));
	call_free(&c);

	call(&c, "framework_get_config", NULL);
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.error_message, "name"));
	call_free(&c);

	call(&c, "framework_get_config", "{\"name\": 5}");
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	call_free(&c);
}

static void test_save_and_load_config(void)
{
	struct call c;
	json_t *subs;

	call(&c, "save_config", NULL);
	CU_ASSERT_EQUAL_FATAL(c.error_code, 0);
	subs = json_object_get(c.result, "subsystems");
	CU_ASSERT_TRUE(json_is_array(subs));
	CU_ASSERT(json_array_size(subs) >= 1);
	call_free(&c);

	call(&c, "load_config", "{\"subsystems\": []}");
	CU_ASSERT_EQUAL(c.error_code, 0);
	CU_ASSERT_TRUE(json_is_true(c.result));
	call_free(&c);

	/* A method that exists, with good params, inside a config. */
	call(&c, "load_config", "{\"subsystems\": [{\"subsystem\": \"log\", \"config\": ["
	     "{\"method\": \"framework_get_config\", \"params\": {\"name\": \"log\"}}]}]}");
	CU_ASSERT_EQUAL(c.error_code, 0);
	call_free(&c);

	/* Errors name the method and the parameter. */
	call(&c, "load_config", "{\"subsystems\": [{\"subsystem\": \"log\", \"config\": ["
	     "{\"method\": \"framework_get_config\", \"params\": {\"name\": 1}}]}]}");
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.error_message, "framework_get_config"));
	CU_ASSERT_PTR_NOT_NULL(strstr(c.error_message, "name"));
	call_free(&c);

	call(&c, "load_config", "{\"subsystems\": [{\"subsystem\": \"log\", \"config\": [{\"method\": \"zz_none\"}]}]}");
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.error_message, "zz_none"));
	call_free(&c);

	call(&c, "load_config", NULL);
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	call_free(&c);
}

static void test_kill_instance_bad_input(void)
{
	struct call c;

	call(&c, "brisk_kill_instance", "{\"sig_name\": \"SIGNOPE\"}");
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.error_message, "sig_name"));
	call_free(&c);

	call(&c, "spdk_kill_instance", "{}");
	CU_ASSERT_EQUAL(c.error_code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(c.error_message, "sig_name"));
	call_free(&c);
}

static void app_started(void *ctx)
{
	atomic_store(&g_started, 1);
}

static int g_app_rc;

/* The app framework runs on the main thread (test_app_state checks it). */
static int ut_host(void)
{
	struct brisk_app_opts opts;
	const char *no_huge = getenv("BRISK_TEST_NO_HUGE");

	brisk_app_opts_init(&opts);
	opts.name = "app_ut";
	opts.reactor_mask = brisk_env_get_online_cpu_count() >= 2 ? "0x3" : "0x1";
	opts.rpc_addr = NULL;
	opts.mem_size_mb = 64;
	opts.no_huge = no_huge != NULL && strcmp(no_huge, "1") == 0;
	opts.print_level = getenv("BRISK_TEST_VERBOSE") ? BRISK_LOG_INFO : BRISK_LOG_ERROR;
	g_app_rc = brisk_app_start(&opts, app_started, NULL);
	if (!atomic_load(&g_started)) {
		fprintf(stderr, "the app stopped before start-up completed (rc %d)\n", g_app_rc);
		return -1;
	}
	return 0;
}

static void ut_host_wait(void)
{
	while (!atomic_load(&g_started)) {
		usleep(1000);
	}
}

static void ut_host_stop(void) { brisk_app_stop(0); }

static int ut_teardown(void)
{
	if (g_app_rc != 0) {
		fprintf(stderr, "brisk_app_start returned %d\n", g_app_rc);
		return -1;
	}
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_app_state),
	BRISK_UT_TEST(test_wait_and_start_init),
	BRISK_UT_TEST(test_get_reactors),
	BRISK_UT_TEST(test_get_subsystems_and_config),
	BRISK_UT_TEST(test_save_and_load_config),
	BRISK_UT_TEST(test_kill_instance_bad_input),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "app", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "app_ut",
	.teardown = ut_teardown,
	.host = ut_host,
	.host_wait = ut_host_wait,
	.host_stop = ut_host_stop,
	.suites = g_ut_suites,
};
