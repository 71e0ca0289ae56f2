/*
 * JSON-RPC server, in process: the framer on its own, then a real server on
 * a Unix socket in a temporary directory, driven by polling one brisk_thread
 * by hand and sleeping on its wake fd like a reactor would (so the socket
 * wake-up path is exercised too). Covers request validation, framing across
 * reads, batches, notifications, response order with asynchronous methods,
 * clients that leave early, malformed and oversized input, states, aliases,
 * double answers, local calls and socket path claiming.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../common/test_env.h"
#include "../../../lib/rpc/rpc_internal.h"

static struct brisk_thread *g_thread;
static char g_dir[64];
static char g_sock[100];

/* ---------------------------------------------------------------------
 * Test methods
 * --------------------------------------------------------------------- */

/* Echoes its params (or null). */
static void
ut_echo(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_jsonrpc_send_result(req, params ? json_deep_copy(params) : NULL);
}
BRISK_RPC_REGISTER("ut_echo", ut_echo, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* Answers later, when the test calls answer_async(). */
#define MAX_ASYNC 8
static struct brisk_jsonrpc_request *g_async[MAX_ASYNC];
static int g_async_count;
static int g_async_calls;

static void
ut_async(struct brisk_jsonrpc_request *req, const json_t *params)
{
	g_async_calls++;
	g_async[g_async_count++] = req;
}
BRISK_RPC_REGISTER("ut_async", ut_async, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static void
answer_async(int i, json_int_t value)
{
	brisk_jsonrpc_send_result(g_async[i], json_integer(value));
	g_async[i] = NULL;
}

/* A buggy handler that answers twice. */
static void
ut_double(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_jsonrpc_send_bool_response(req, true);
	brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "second");
}
BRISK_RPC_REGISTER("ut_double", ut_double, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static int g_runtime_calls;
static void
ut_runtime_only(struct brisk_jsonrpc_request *req, const json_t *params)
{
	g_runtime_calls++;
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("ut_runtime_only", ut_runtime_only, BRISK_RPC_RUNTIME)

static int g_notify_calls;
static void
ut_count(struct brisk_jsonrpc_request *req, const json_t *params)
{
	g_notify_calls++;
	brisk_jsonrpc_send_error_response(req, -5, "errors to notifications are not sent");
}
BRISK_RPC_REGISTER("ut_count", ut_count, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

__attribute__((constructor)) static void
register_aliases(void)
{
	/* Registered before its target on purpose: resolved at lookup time. */
	brisk_rpc_register_alias("ut_late", "ut_late_alias");
	brisk_rpc_register_alias("ut_echo", "ut_echo_alias");
}

static void
ut_late(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_jsonrpc_send_result(req, json_string("late"));
}
BRISK_RPC_REGISTER("ut_late", ut_late, BRISK_RPC_RUNTIME)

/* ---------------------------------------------------------------------
 * Driving the thread and clients
 * --------------------------------------------------------------------- */

/* One reactor-like iteration: poll, then sleep on the wake fd for up to
 * sleep_ms when the thread allows it. */
static void
pump_once(int sleep_ms)
{
	struct epoll_event ev;
	int ep = -1;

	brisk_thread_poll(g_thread, 0, 0);
	if (!brisk_thread_prepare_sleep(g_thread)) {
		return;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.u64 = 0;
	epoll_ctl(ep, EPOLL_CTL_ADD, brisk_thread_get_wake_fd(g_thread), &ev);
	epoll_wait(ep, &ev, 1, sleep_ms);
	close(ep);
	brisk_thread_end_sleep(g_thread);
}

static void
pump_ms(int ms)
{
	uint64_t end = brisk_get_time_us() + (uint64_t)ms * 1000;

	while (brisk_get_time_us() < end) {
		pump_once(1);
	}
}

struct client {
	int fd;
	char buf[1 << 16];
	size_t len;
	bool eof;
};

static void
client_connect(struct client *c)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CU_ASSERT_FATAL(c->fd >= 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_sock);
	CU_ASSERT_FATAL(connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

static void
client_close(struct client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

static void
client_send(struct client *c, const char *text)
{
	size_t len = strlen(text), off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, text + off, len - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
		} else if (errno == EAGAIN) {
			pump_once(0);
		} else {
			CU_FAIL("send failed");
			return;
		}
	}
}

/* The next response line, parsed; NULL on EOF or after timeout_ms. */
static json_t *
client_recv(struct client *c, int timeout_ms)
{
	uint64_t end = brisk_get_time_us() + (uint64_t)timeout_ms * 1000;

	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);

		if (nl != NULL) {
			size_t line = (size_t)(nl - c->buf);
			json_t *v = json_loadb(c->buf, line, 0, NULL);

			memmove(c->buf, nl + 1, c->len - line - 1);
			c->len -= line + 1;
			CU_ASSERT_PTR_NOT_NULL(v);
			return v;
		}
		if (c->eof || brisk_get_time_us() > end) {
			return NULL;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			c->eof = true;
		} else {
			pump_once(1);
		}
	}
}

/* true if the server closed the connection within timeout_ms. */
static bool
client_wait_eof(struct client *c, int timeout_ms)
{
	json_t *v;

	while ((v = client_recv(c, timeout_ms)) != NULL) {
		json_decref(v);
	}
	return c->eof;
}

static int
error_code(const json_t *resp)
{
	return (int)json_integer_value(json_object_get(json_object_get(resp, "error"), "code"));
}

static const char *
error_message(const json_t *resp)
{
	const char *m = json_string_value(json_object_get(json_object_get(resp, "error"), "message"));

	return m ? m : "";
}

/* Sends text, expects one response and returns it (caller decrefs). */
static json_t *
roundtrip(const char *text)
{
	struct client c;
	json_t *r;

	client_connect(&c);
	client_send(&c, text);
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL(r);
	client_close(&c);
	return r;
}

/* Expects the request to fail with code and a message containing part. */
static void
expect_error(const char *text, int code, const char *part)
{
	json_t *r = roundtrip(text);

	if (r == NULL) {
		return;
	}
	CU_ASSERT_EQUAL(error_code(r), code);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_message(r), part));
	if (error_code(r) != code || strstr(error_message(r), part) == NULL) {
		fprintf(stderr, "\nrequest %s\n  got %d '%s'\n", text, error_code(r), error_message(r));
	}
	json_decref(r);
}

/* The server answers a basic request: it is alive and well. */
static void
expect_alive(void)
{
	json_t *r = roundtrip("{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"ut_echo\",\"params\":[1]}");

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 99);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(r, "result"), 0)), 1);
	json_decref(r);
}

/* ---------------------------------------------------------------------
 * Framer
 * --------------------------------------------------------------------- */

static void
framer_feed(struct rpc_framer *f, const char *s)
{
	size_t avail;
	char *dst = rpc_framer_reserve(f, strlen(s), &avail);

	CU_ASSERT_FATAL(dst != NULL && avail >= strlen(s));
	memcpy(dst, s, strlen(s));
	rpc_framer_commit(f, strlen(s));
}

static void
expect_frame(struct rpc_framer *f, const char *want)
{
	const char *start;
	size_t len;

	CU_ASSERT_EQUAL_FATAL(rpc_framer_next(f, 1 << 20, &start, &len), RPC_FRAME_VALUE);
	CU_ASSERT_EQUAL(len, strlen(want));
	CU_ASSERT(len == strlen(want) && memcmp(start, want, len) == 0);
}

static void
test_framer(void)
{
	struct rpc_framer f;
	const char *start;
	size_t len;

	rpc_framer_init(&f);
	/* Two values in one read, with braces and escaped quotes inside strings. */
	framer_feed(&f, " {\"a\":\"}{\\\"\"} \n[1,[2]]{\"b\"");
	expect_frame(&f, "{\"a\":\"}{\\\"\"}");
	expect_frame(&f, "[1,[2]]");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 1 << 20, &start, &len), RPC_FRAME_NEED_MORE);
	/* The rest arrives one byte at a time. */
	framer_feed(&f, ":");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 1 << 20, &start, &len), RPC_FRAME_NEED_MORE);
	framer_feed(&f, "\"\\\\\"");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 1 << 20, &start, &len), RPC_FRAME_NEED_MORE);
	framer_feed(&f, "}");
	expect_frame(&f, "{\"b\":\"\\\\\"}");
	/* Bare values end at a delimiter, which is not part of them. */
	framer_feed(&f, "12 true\"s\"");
	expect_frame(&f, "12");
	expect_frame(&f, "true");
	expect_frame(&f, "\"s\"");
	CU_ASSERT_EQUAL(rpc_framer_pending(&f), 0);
	framer_feed(&f, "nul");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 1 << 20, &start, &len), RPC_FRAME_NEED_MORE);
	framer_feed(&f, "l\n");
	expect_frame(&f, "null");
	/* A value over the limit, complete or not. */
	framer_feed(&f, "[1,2,3,4,5,6");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 8, &start, &len), RPC_FRAME_TOO_LARGE);
	rpc_framer_fini(&f);

	rpc_framer_init(&f);
	framer_feed(&f, "[1,2,3,4,5,6,7,8,9]");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 8, &start, &len), RPC_FRAME_TOO_LARGE);
	rpc_framer_fini(&f);

	/* A stray closing bracket cannot start a value. */
	rpc_framer_init(&f);
	framer_feed(&f, "  }");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 1 << 20, &start, &len), RPC_FRAME_MALFORMED);
	rpc_framer_fini(&f);

	/* Big input across many reserves keeps its bytes (compaction, growth). */
	rpc_framer_init(&f);
	for (int i = 0; i < 2000; i++) {
		framer_feed(&f, "{\"k\":[\"0123456789abcdef0123456789abcdef\"]} ");
		if (i % 3 == 2) {
			for (int j = 0; j < 3; j++) {
				expect_frame(&f, "{\"k\":[\"0123456789abcdef0123456789abcdef\"]}");
			}
		}
	}
	expect_frame(&f, "{\"k\":[\"0123456789abcdef0123456789abcdef\"]}");
	expect_frame(&f, "{\"k\":[\"0123456789abcdef0123456789abcdef\"]}");
	CU_ASSERT_EQUAL(rpc_framer_next(&f, 1 << 20, &start, &len), RPC_FRAME_NEED_MORE);
	rpc_framer_fini(&f);
}

/* ---------------------------------------------------------------------
 * Server tests
 * --------------------------------------------------------------------- */

static void
test_basic_call(void)
{
	json_t *r = roundtrip("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"ut_echo\","
			      "\"params\":{\"x\":1}}");

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "id")), "abc");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_object_get(r, "result"), "x")), 1);
	CU_ASSERT_PTR_NULL(json_object_get(r, "error"));
	json_decref(r);

	/* No params: handler sees NULL and answers null; null id is echoed. */
	r = roundtrip("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ut_echo\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(json_is_null(json_object_get(r, "result")));
	CU_ASSERT(json_is_null(json_object_get(r, "id")));
	json_decref(r);

	/* The alias reaches its target. */
	r = roundtrip("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo_alias\",\"params\":[5]}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(r, "result"), 0)), 5);
	json_decref(r);
}

static void
test_invalid_requests(void)
{
	expect_error("1\n", BRISK_JSONRPC_ERROR_INVALID_REQUEST, "must be a JSON object");
	expect_error("\"hello\"", BRISK_JSONRPC_ERROR_INVALID_REQUEST, "must be a JSON object");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1}", BRISK_JSONRPC_ERROR_INVALID_REQUEST, "'method'");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", BRISK_JSONRPC_ERROR_INVALID_REQUEST,
		     "'method'");
	expect_error("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ut_echo\"}",
		     BRISK_JSONRPC_ERROR_INVALID_REQUEST, "'jsonrpc'");
	expect_error("{\"id\":1,\"method\":\"ut_echo\"}", BRISK_JSONRPC_ERROR_INVALID_REQUEST, "'jsonrpc'");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ut_echo\"}",
		     BRISK_JSONRPC_ERROR_INVALID_REQUEST, "'id'");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ut_echo\"}",
		     BRISK_JSONRPC_ERROR_INVALID_REQUEST, "'id'");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\",\"extra\":1}",
		     BRISK_JSONRPC_ERROR_INVALID_REQUEST, "'extra'");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\",\"params\":3}",
		     BRISK_JSONRPC_ERROR_INVALID_PARAMS, "'params'");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\",\"params\":null}",
		     BRISK_JSONRPC_ERROR_INVALID_PARAMS, "'params'");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"no_such_method\"}",
		     BRISK_JSONRPC_ERROR_METHOD_NOT_FOUND, "Method not found: no_such_method");
	expect_error("[]", BRISK_JSONRPC_ERROR_INVALID_REQUEST, "empty batch");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\\u0000x\"}",
		     BRISK_JSONRPC_ERROR_INVALID_REQUEST, "'method' contains a NUL character");

	/* The id of a rejected request is kept when it is usable. */
	json_t *r = roundtrip("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"nope\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 7);
	json_decref(r);
	expect_alive();
}

static void
test_state(void)
{
	int calls = g_runtime_calls;

	brisk_rpc_set_state(BRISK_RPC_STARTUP);
	CU_ASSERT_EQUAL(brisk_rpc_get_state(), BRISK_RPC_STARTUP);
	CU_ASSERT_EQUAL(brisk_rpc_is_method_allowed("ut_runtime_only", 0), -EPERM);
	CU_ASSERT_EQUAL(brisk_rpc_is_method_allowed("ut_echo", 0), 0);
	CU_ASSERT_EQUAL(brisk_rpc_is_method_allowed("nope", 0), -ENOENT);
	CU_ASSERT_EQUAL(brisk_rpc_is_method_allowed("ut_runtime_only", BRISK_RPC_RUNTIME), 0);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_runtime_only\"}",
		     BRISK_JSONRPC_ERROR_INVALID_STATE, "after subsystem initialization");
	CU_ASSERT_EQUAL(g_runtime_calls, calls);
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	json_t *r = roundtrip("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_runtime_only\"}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(json_is_true(json_object_get(r, "result")));
	CU_ASSERT_EQUAL(g_runtime_calls, calls + 1);
	json_decref(r);
}

static void
count_name(const char *name, void *ctx)
{
	json_array_append_new(ctx, json_string(name));
}

static bool
names_have(const json_t *names, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(names, i, v) {
		if (strcmp(json_string_value(v), name) == 0) {
			return true;
		}
	}
	return false;
}

static void
test_registry(void)
{
	json_t *all = json_array(), *startup = json_array(), *aliases = json_array();
	const char *prev = "";
	size_t i;
	json_t *v;

	brisk_rpc_for_each_method(0, count_name, all);
	brisk_rpc_for_each_method(BRISK_RPC_STARTUP, count_name, startup);
	rpc_registry_for_each(0, true, count_name, aliases);
	CU_ASSERT(names_have(all, "ut_runtime_only"));
	CU_ASSERT(!names_have(startup, "ut_runtime_only"));
	CU_ASSERT(names_have(startup, "ut_echo"));
	CU_ASSERT(!names_have(all, "ut_echo_alias"));
	CU_ASSERT(names_have(aliases, "ut_echo_alias"));
	CU_ASSERT(names_have(aliases, "ut_late_alias"));
	CU_ASSERT(names_have(all, "rpc_get_methods"));
	json_array_foreach(all, i, v) {
		CU_ASSERT(strcmp(prev, json_string_value(v)) < 0); /* sorted, unique */
		prev = json_string_value(v);
	}
	/* Duplicates and bad registrations are refused without harm. */
	brisk_rpc_register_method("ut_echo", ut_late, BRISK_RPC_RUNTIME);
	brisk_rpc_register_method("", ut_late, BRISK_RPC_RUNTIME);
	brisk_rpc_register_method("ut_no_handler", NULL, BRISK_RPC_RUNTIME);
	CU_ASSERT_PTR_EQUAL(rpc_registry_find("ut_echo")->func, ut_echo);
	CU_ASSERT_PTR_NULL(rpc_registry_find("ut_no_handler"));
	CU_ASSERT_PTR_EQUAL(rpc_registry_find("ut_late_alias")->func, ut_late);
	json_decref(all);
	json_decref(startup);
	json_decref(aliases);

	/* Through the server: rpc_get_methods with its parameters. */
	json_t *r = roundtrip("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc_get_methods\","
			      "\"params\":{\"include_aliases\":true}}");
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(names_have(json_object_get(r, "result"), "ut_echo_alias"));
	json_decref(r);
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc_get_methods\","
		     "\"params\":{\"current\":1}}", BRISK_JSONRPC_ERROR_INVALID_PARAMS,
		     "parameter 'current' must be a boolean");
	expect_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc_get_methods\","
		     "\"params\":{\"bogus\":true}}", BRISK_JSONRPC_ERROR_INVALID_PARAMS,
		     "unknown parameter 'bogus'");
}

static void
test_framing_over_socket(void)
{
	struct client c;
	const char *req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\",\"params\":[\"a}b\"]}";
	json_t *r;

	/* One byte per write, with the thread polled between bytes. */
	client_connect(&c);
	for (size_t i = 0; req[i] != '\0'; i++) {
		char one[2] = { req[i], '\0' };

		client_send(&c, one);
		pump_once(0);
	}
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(json_object_get(r, "result"), 0)), "a}b");
	json_decref(r);

	/* Three requests in one write: three answers, in order. */
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\",\"params\":[1]}"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ut_echo\",\"params\":[2]}\n"
		    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ut_echo\",\"params\":[3]}");
	for (int i = 1; i <= 3; i++) {
		r = client_recv(&c, 2000);
		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), i);
		json_decref(r);
	}
	client_close(&c);
}

static void
test_batch_and_notifications(void)
{
	struct client c;
	int calls = g_notify_calls;
	json_t *r;

	client_connect(&c);
	/* A notification (no id) gets no answer, even an error. */
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"ut_count\"}"
		    "{\"jsonrpc\":\"2.0\",\"method\":\"no_such\"}"
		    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ut_echo\"}");
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 5);
	CU_ASSERT_EQUAL(g_notify_calls, calls + 1);
	json_decref(r);

	/* A batch: one array answer with the non-notifications, in order,
	 * including per-element errors. */
	client_send(&c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\",\"params\":[1]},"
		    "{\"jsonrpc\":\"2.0\",\"method\":\"ut_count\"},"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"missing\"},"
		    "42,"
		    "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ut_echo\",\"params\":[3]}]");
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(json_is_array(r));
	CU_ASSERT_EQUAL_FATAL(json_array_size(r), 4);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(r, 0), "id")), 1);
	CU_ASSERT_EQUAL(error_code(json_array_get(r, 1)), BRISK_JSONRPC_ERROR_METHOD_NOT_FOUND);
	CU_ASSERT_EQUAL(error_code(json_array_get(r, 2)), BRISK_JSONRPC_ERROR_INVALID_REQUEST);
	CU_ASSERT(json_is_null(json_object_get(json_array_get(r, 2), "id")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(r, 3), "id")), 3);
	CU_ASSERT_EQUAL(g_notify_calls, calls + 2);
	json_decref(r);

	/* A batch of notifications only: nothing comes back; the next answer
	 * is the next request's. */
	client_send(&c, "[{\"jsonrpc\":\"2.0\",\"method\":\"ut_count\"}]"
		    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ut_echo\"}");
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 9);
	json_decref(r);
	client_close(&c);
}

static void
test_async_order(void)
{
	struct client c;
	json_t *r;

	g_async_count = 0;
	client_connect(&c);
	/* An asynchronous request, then a synchronous one: the second answer
	 * waits so responses leave in request order. */
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_async\"}"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ut_echo\"}");
	r = client_recv(&c, 100);
	CU_ASSERT_PTR_NULL(r);
	CU_ASSERT_EQUAL_FATAL(g_async_count, 1);
	answer_async(0, 41);
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 1);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "result")), 41);
	json_decref(r);
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);

	/* An asynchronous request inside a batch completes the batch later. */
	g_async_count = 0;
	client_send(&c, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\"},"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ut_async\"}]");
	CU_ASSERT_PTR_NULL(client_recv(&c, 50));
	CU_ASSERT_EQUAL_FATAL(g_async_count, 1);
	answer_async(0, 7);
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_array_size(r), 2);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(json_array_get(r, 1), "result")), 7);
	json_decref(r);
	client_close(&c);
}

static void
test_client_leaves(void)
{
	struct client c;

	/* Leaves before the asynchronous answer: the answer is dropped. */
	g_async_count = 0;
	client_connect(&c);
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_async\"}"
		    "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ut_async\"}]");
	pump_ms(20);
	CU_ASSERT_EQUAL_FATAL(g_async_count, 2);
	client_close(&c);
	pump_ms(20);
	answer_async(1, 2); /* out of order on purpose */
	answer_async(0, 1);
	pump_ms(5);
	expect_alive();

	/* Leaves mid-request: the partial request is dropped. */
	int calls = g_async_calls;
	client_connect(&c);
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_async\",\"par");
	pump_ms(20);
	client_close(&c);
	pump_ms(20);
	CU_ASSERT_EQUAL(g_async_calls, calls);
	expect_alive();

	/* Shuts down its sending side after a request (like `nc -N`): the
	 * answer still arrives, then the server closes. */
	client_connect(&c);
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ut_echo\"}");
	shutdown(c.fd, SHUT_WR);
	json_t *r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 4);
	json_decref(r);
	CU_ASSERT(client_wait_eof(&c, 2000));
	client_close(&c);
}

static void
test_malformed_closes(void)
{
	struct client c;
	json_t *r;

	client_connect(&c);
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\"}{\"jsonrpc\": nope}");
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(error_code(r), BRISK_JSONRPC_ERROR_PARSE_ERROR);
	CU_ASSERT(json_is_null(json_object_get(r, "id")));
	json_decref(r);
	CU_ASSERT(client_wait_eof(&c, 2000));
	client_close(&c);

	client_connect(&c);
	client_send(&c, "]");
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(error_code(r), BRISK_JSONRPC_ERROR_PARSE_ERROR);
	json_decref(r);
	CU_ASSERT(client_wait_eof(&c, 2000));
	client_close(&c);
	expect_alive();
}

static void
test_oversized(void)
{
	size_t total = RPC_MAX_REQUEST_SIZE + (1u << 20);
	const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\",\"params\":[\"";
	char *big = malloc(total + 1);
	size_t off = 0;
	struct client c;
	json_t *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	memset(big, 'x', total);
	memcpy(big, head, strlen(head));
	big[total] = '\0';
	client_connect(&c);
	/* Send until the server gives up on us. */
	while (off < total) {
		ssize_t n = send(c.fd, big + off, total - off, MSG_NOSIGNAL);

		if (n > 0) {
			off += (size_t)n;
		} else if (errno == EAGAIN) {
			pump_once(0);
		} else {
			break; /* EPIPE / ECONNRESET: closed by the server */
		}
	}
	CU_ASSERT(off < total);
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(error_code(r), BRISK_JSONRPC_ERROR_INVALID_REQUEST);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_message(r), "larger than"));
	json_decref(r);
	CU_ASSERT(client_wait_eof(&c, 2000));
	client_close(&c);
	free(big);
	expect_alive();
}

static void
test_double_answer(void)
{
	json_t *r;
	struct client c;

	client_connect(&c);
	client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_double\"}"
		    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ut_echo\"}");
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT(json_is_true(json_object_get(r, "result")));
	json_decref(r);
	r = client_recv(&c, 2000);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), 2);
	json_decref(r);
	client_close(&c);
}

static void
test_many_clients(void)
{
	enum { N = 10 };
	struct client *c = calloc(N, sizeof(*c));
	char req[128];

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (int i = 0; i < N; i++) {
		client_connect(&c[i]);
	}
	/* Interleave half-requests from every client. */
	for (int i = 0; i < N; i++) {
		client_send(&c[i], "{\"jsonrpc\":\"2.0\",");
	}
	pump_ms(5);
	for (int i = N - 1; i >= 0; i--) {
		snprintf(req, sizeof(req), "\"id\":%d,\"method\":\"ut_echo\",\"params\":[%d]}", i, i * 10);
		client_send(&c[i], req);
	}
	for (int i = 0; i < N; i++) {
		json_t *r = client_recv(&c[i], 2000);

		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "id")), i);
		CU_ASSERT_EQUAL(json_integer_value(json_array_get(json_object_get(r, "result"), 0)), i * 10);
		json_decref(r);
		client_close(&c[i]);
	}
	free(c);
}

static void
test_connection_limit(void)
{
	struct client *c = calloc(RPC_MAX_CONNECTIONS + 1, sizeof(*c));
	json_t *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (int i = 0; i < RPC_MAX_CONNECTIONS; i++) {
		client_connect(&c[i]);
	}
	pump_ms(20);
	/* One too many: accepted and closed at once. */
	client_connect(&c[RPC_MAX_CONNECTIONS]);
	CU_ASSERT(client_wait_eof(&c[RPC_MAX_CONNECTIONS], 2000));
	client_close(&c[RPC_MAX_CONNECTIONS]);
	/* The others still work; after one leaves, a new client is served. */
	client_send(&c[RPC_MAX_CONNECTIONS - 1], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\"}");
	r = client_recv(&c[RPC_MAX_CONNECTIONS - 1], 2000);
	CU_ASSERT_PTR_NOT_NULL(r);
	json_decref(r);
	client_close(&c[0]);
	pump_ms(20);
	client_connect(&c[0]);
	client_send(&c[0], "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\"}");
	r = client_recv(&c[0], 2000);
	CU_ASSERT_PTR_NOT_NULL(r);
	json_decref(r);
	for (int i = 0; i < RPC_MAX_CONNECTIONS; i++) {
		client_close(&c[i]);
	}
	pump_ms(20);
	free(c);
}

struct local_result {
	int calls;
	int code;
	char msg[128];
	json_t *result;
};

static void
local_cb(void *ctx, int code, const char *msg, const json_t *result)
{
	struct local_result *lr = ctx;

	lr->calls++;
	lr->code = code;
	snprintf(lr->msg, sizeof(lr->msg), "%s", msg ? msg : "");
	lr->result = result ? json_deep_copy(result) : NULL;
}

static void
test_call_local(void)
{
	struct local_result lr = { 0 };
	json_t *params = json_pack("{s:i}", "v", 3);

	CU_ASSERT_EQUAL(brisk_rpc_call_local("ut_echo", params, local_cb, &lr), 0);
	CU_ASSERT_EQUAL(lr.calls, 1);
	CU_ASSERT_EQUAL(lr.code, 0);
	CU_ASSERT(json_equal(lr.result, params));
	json_decref(lr.result);

	memset(&lr, 0, sizeof(lr));
	CU_ASSERT_EQUAL(brisk_rpc_call_local("rpc_get_methods", params, local_cb, &lr), 0);
	CU_ASSERT_EQUAL(lr.calls, 1);
	CU_ASSERT_EQUAL(lr.code, BRISK_JSONRPC_ERROR_INVALID_PARAMS);
	CU_ASSERT_PTR_NOT_NULL(strstr(lr.msg, "unknown parameter 'v'"));
	CU_ASSERT_PTR_NULL(lr.result);

	/* Asynchronous: the callback runs at the answer. */
	memset(&lr, 0, sizeof(lr));
	g_async_count = 0;
	CU_ASSERT_EQUAL(brisk_rpc_call_local("ut_async", NULL, local_cb, &lr), 0);
	CU_ASSERT_EQUAL(lr.calls, 0);
	answer_async(0, 12);
	CU_ASSERT_EQUAL(lr.calls, 1);
	CU_ASSERT_EQUAL(json_integer_value(lr.result), 12);
	json_decref(lr.result);

	memset(&lr, 0, sizeof(lr));
	CU_ASSERT_EQUAL(brisk_rpc_call_local("no_such", NULL, local_cb, &lr), -ENOENT);
	brisk_rpc_set_state(BRISK_RPC_STARTUP);
	CU_ASSERT_EQUAL(brisk_rpc_call_local("ut_runtime_only", NULL, local_cb, &lr), -EPERM);
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	CU_ASSERT_EQUAL(brisk_rpc_call_local("ut_echo", params, NULL, NULL), 0); /* no callback is fine */
	CU_ASSERT_EQUAL(lr.calls, 0);
	json_decref(params);
}

static void
test_listen_errors(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[100];
	char longpath[200];
	int fd;

	/* Already listening. */
	CU_ASSERT_EQUAL(brisk_rpc_listen(g_sock), -EBUSY);
	brisk_rpc_close();
	CU_ASSERT_EQUAL(access(g_sock, F_OK), -1); /* socket file removed */

	/* Someone else listens at the path: refused, their socket untouched. */
	snprintf(path, sizeof(path), "%s/other.sock", g_dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	CU_ASSERT_FATAL(listen(fd, 1) == 0);
	CU_ASSERT_EQUAL(brisk_rpc_listen(path), -EADDRINUSE);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	/* Once it stops, the stale file is replaced. */
	close(fd);
	CU_ASSERT_EQUAL(brisk_rpc_listen(path), 0);
	brisk_rpc_close();

	/* A regular file at the path is not deleted. */
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	CU_ASSERT_EQUAL(brisk_rpc_listen(path), -EEXIST);
	CU_ASSERT_EQUAL(access(path, F_OK), 0);
	unlink(path);

	CU_ASSERT_EQUAL(brisk_rpc_listen(""), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	CU_ASSERT_EQUAL(brisk_rpc_listen(longpath), -ENAMETOOLONG);

	/* Back to normal for whatever follows. */
	CU_ASSERT_EQUAL(brisk_rpc_listen(g_sock), 0);
	expect_alive();
}

static int
suite_init(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/jsonrpc_ut.XXXXXX");
	if (mkdtemp(g_dir) == NULL) {
		return -1;
	}
	snprintf(g_sock, sizeof(g_sock), "%s/rpc.sock", g_dir);
	g_thread = brisk_thread_create("rpc_ut", NULL);
	if (g_thread == NULL) {
		return -1;
	}
	brisk_set_thread(g_thread);
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	return brisk_rpc_listen(g_sock);
}

static int
suite_fini(void)
{
	brisk_rpc_close();
	pump_ms(5);
	brisk_thread_exit(g_thread);
	for (int i = 0; i < 1000 && !brisk_thread_is_exited(g_thread); i++) {
		brisk_thread_poll(g_thread, 0, 0);
	}
	if (!brisk_thread_is_exited(g_thread)) {
		return -1;
	}
	brisk_set_thread(NULL);
	brisk_thread_destroy(g_thread);
	rmdir(g_dir);
	return 0;
}

int
main(void)
{
	struct brisk_thread_lib_opts opts = { .msg_pool_size = 4095 };
	CU_pSuite suite;
	unsigned failures;
	int rc;

	rc = brisk_test_env_init("jsonrpc_ut", "0x1", 64);
	if (rc != 0) {
		fprintf(stderr, "env init failed: %d\n", rc);
		return 1;
	}
	rc = brisk_thread_lib_init_ext(&opts);
	if (rc != 0) {
		fprintf(stderr, "thread lib init failed: %d\n", rc);
		return 1;
	}
	CU_initialize_registry();
	suite = CU_add_suite("framer", NULL, NULL);
	CU_ADD_TEST(suite, test_framer);
	suite = CU_add_suite("server", suite_init, suite_fini);
	CU_ADD_TEST(suite, test_basic_call);
	CU_ADD_TEST(suite, test_invalid_requests);
	CU_ADD_TEST(suite, test_state);
	CU_ADD_TEST(suite, test_registry);
	CU_ADD_TEST(suite, test_framing_over_socket);
	CU_ADD_TEST(suite, test_batch_and_notifications);
	CU_ADD_TEST(suite, test_async_order);
	CU_ADD_TEST(suite, test_client_leaves);
	CU_ADD_TEST(suite, test_malformed_closes);
	CU_ADD_TEST(suite, test_oversized);
	CU_ADD_TEST(suite, test_double_answer);
	CU_ADD_TEST(suite, test_many_clients);
	CU_ADD_TEST(suite, test_connection_limit);
	CU_ADD_TEST(suite, test_call_local);
	CU_ADD_TEST(suite, test_listen_errors);
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures = CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	brisk_thread_lib_fini();
	brisk_env_fini();
	return failures ? 1 : 0;
}
