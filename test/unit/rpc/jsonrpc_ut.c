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
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../../lib/rpc/rpc_internal.h"
#include "../../common/ut_main.h"

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

static void set_opts(uint32_t max_conns, uint32_t idle_ms, uint32_t recv_ms, uint32_t batch,
		     size_t high_water);
static void default_opts(void);

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
	/* 33 MB may take longer than the receive deadline under a sanitizer:
	 * the size limit is what is tested here. */
	set_opts(BRISK_RPC_DEFAULT_MAX_CONNECTIONS, BRISK_RPC_DEFAULT_IDLE_TIMEOUT_MS, 0,
		 BRISK_RPC_DEFAULT_MAX_BATCH_SIZE, BRISK_RPC_DEFAULT_SEND_HIGH_WATER);
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
	default_opts();
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
set_opts(uint32_t max_conns, uint32_t idle_ms, uint32_t recv_ms, uint32_t batch, size_t high_water)
{
	struct brisk_rpc_opts o;

	brisk_rpc_get_opts(&o);
	o.max_connections = max_conns;
	o.idle_timeout_ms = idle_ms;
	o.recv_timeout_ms = recv_ms;
	o.max_batch_size = batch;
	o.send_high_water = high_water;
	CU_ASSERT_EQUAL(brisk_rpc_set_opts(&o), 0);
}

static void
default_opts(void)
{
	set_opts(BRISK_RPC_DEFAULT_MAX_CONNECTIONS, BRISK_RPC_DEFAULT_IDLE_TIMEOUT_MS,
		 BRISK_RPC_DEFAULT_RECV_TIMEOUT_MS, BRISK_RPC_DEFAULT_MAX_BATCH_SIZE,
		 BRISK_RPC_DEFAULT_SEND_HIGH_WATER);
}

#define ECHO_REQ "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_echo\"}"

/* The error a closing server sends (id null), then EOF. */
static void
expect_closed_with(struct client *c, int code, const char *part, int timeout_ms)
{
	json_t *r = client_recv(c, timeout_ms);

	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_EQUAL(error_code(r), code);
	CU_ASSERT_PTR_NOT_NULL(strstr(error_message(r), part));
	if (r != NULL && (error_code(r) != code || strstr(error_message(r), part) == NULL)) {
		fprintf(stderr, "\n  got %d '%s'\n", error_code(r), error_message(r));
	}
	json_decref(r);
	CU_ASSERT(client_wait_eof(c, timeout_ms));
}

static void
test_connection_limit(void)
{
	enum { MAX = BRISK_RPC_DEFAULT_MAX_CONNECTIONS };
	struct client *c = calloc(MAX + 1, sizeof(*c));
	json_t *r;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (int i = 0; i < MAX; i++) {
		client_connect(&c[i]);
	}
	pump_ms(20);
	/* One too many waits in the backlog (not closed without a word)... */
	client_connect(&c[MAX]);
	client_send(&c[MAX], ECHO_REQ);
	CU_ASSERT_PTR_NULL(client_recv(&c[MAX], 300));
	CU_ASSERT_FALSE(c[MAX].eof);
	/* ...until the longest-idle client is closed, with an error, to make room. */
	expect_closed_with(&c[0], BRISK_JSONRPC_ERROR_TOO_MANY_CONNECTIONS, "too many connections",
			   3000);
	r = client_recv(&c[MAX], 2000);
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_PTR_NOT_NULL(json_object_get(r, "result"));
	json_decref(r);
	for (int i = 0; i <= MAX; i++) {
		client_close(&c[i]);
	}
	pump_ms(20);
	free(c);
}

/* Every client busy with a request: a waiting one is refused, with an error. */
static void
test_connection_refused_when_busy(void)
{
	struct client a, b;

	set_opts(1, 60000, 10000, 256, BRISK_RPC_DEFAULT_SEND_HIGH_WATER);
	g_async_count = 0;
	client_connect(&a);
	client_send(&a, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_async\"}");
	pump_ms(20);
	CU_ASSERT_EQUAL(g_async_count, 1);
	client_connect(&b);
	client_send(&b, ECHO_REQ);
	CU_ASSERT_PTR_NULL(client_recv(&b, 300));
	expect_closed_with(&b, BRISK_JSONRPC_ERROR_TOO_MANY_CONNECTIONS, "Too many connections", 3000);
	answer_async(0, 5);
	json_decref(client_recv(&a, 2000));
	client_close(&a);
	client_close(&b);
	default_opts();
	pump_ms(20);
}

static void
test_timeouts(void)
{
	struct client idle, slow, busy;
	uint64_t start;

	set_opts(64, 300, 300, 256, BRISK_RPC_DEFAULT_SEND_HIGH_WATER);
	client_connect(&idle);
	client_connect(&slow);
	client_connect(&busy);
	g_async_count = 0;
	client_send(&busy, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_async\"}");
	client_send(&slow, "{\"jsonrpc\":");
	start = brisk_get_time_us();
	expect_closed_with(&slow, BRISK_JSONRPC_ERROR_TIMEOUT, "did not arrive whole", 2000);
	expect_closed_with(&idle, BRISK_JSONRPC_ERROR_TIMEOUT, "Idle timeout", 2000);
	CU_ASSERT(brisk_get_time_us() - start >= 250000);
	/* A client waiting for its answer is not idle. */
	CU_ASSERT_FALSE(busy.eof);
	answer_async(0, 1);
	json_decref(client_recv(&busy, 2000));
	client_close(&idle);
	client_close(&slow);
	client_close(&busy);
	default_opts();
	pump_ms(20);
}

static int g_counted;
static void
ut_tally(struct brisk_jsonrpc_request *req, const json_t *params)
{
	g_counted++;
	brisk_jsonrpc_send_result(req, json_string("0123456789012345678901234567890123456789"));
}
BRISK_RPC_REGISTER("ut_tally", ut_tally, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* "[" + n requests of ut_tally + "]" (caller frees). */
static char *
count_batch(int n)
{
	const char *one = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ut_tally\"}";
	char *s = malloc((size_t)n * (strlen(one) + 1) + 3);
	size_t off = 0;

	s[off++] = '[';
	for (int i = 0; i < n; i++) {
		off += (size_t)sprintf(s + off, "%s%s", i ? "," : "", one);
	}
	s[off++] = ']';
	s[off] = '\0';
	return s;
}

/* Reads one whole (large) response line straight from the socket, pumping
 * the server meanwhile; parsed, or NULL after timeout_ms. */
static json_t *
client_recv_big(struct client *c, int timeout_ms)
{
	uint64_t end = brisk_get_time_us() + (uint64_t)timeout_ms * 1000;
	size_t len = 0, cap = 1 << 20;
	char *buf = malloc(cap);
	json_t *v = NULL;

	while (brisk_get_time_us() < end) {
		ssize_t n;

		if (cap - len < 65536) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		n = recv(c->fd, buf + len, cap - len, 0);
		if (n > 0) {
			len += (size_t)n;
			if (buf[len - 1] == '\n') {
				v = json_loadb(buf, len - 1, 0, NULL);
				break;
			}
		} else if (n == 0) {
			break;
		} else {
			pump_once(1);
		}
	}
	free(buf);
	return v;
}

static void
test_batch_limits(void)
{
	struct client c;
	char *batch;
	json_t *r;

	set_opts(64, 60000, 10000, 3, BRISK_RPC_DEFAULT_SEND_HIGH_WATER);
	batch = count_batch(4);
	g_counted = 0;
	expect_error(batch, BRISK_JSONRPC_ERROR_INVALID_REQUEST, "over the limit of 3");
	CU_ASSERT_EQUAL(g_counted, 0);
	free(batch);

	/* Answers past the high-water mark wait for the client to read: the
	 * batch pauses, then completes as it reads. */
	set_opts(64, 60000, 10000, 100000, 4096);
	batch = count_batch(20000);
	g_counted = 0;
	client_connect(&c);
	client_send(&c, batch);
	pump_ms(200);
	CU_ASSERT(g_counted > 0 && g_counted < 20000);
	printf("(paused after %d of 20000) ", g_counted);
	r = client_recv_big(&c, 10000);
	CU_ASSERT_PTR_NOT_NULL(r);
	CU_ASSERT_EQUAL(json_array_size(r), 20000);
	CU_ASSERT_EQUAL(g_counted, 20000);
	json_decref(r);
	client_close(&c);

	/* A client that leaves mid-batch: the rest is not run. */
	g_counted = 0;
	client_connect(&c);
	client_send(&c, batch);
	pump_ms(50);
	client_close(&c);
	pump_ms(100);
	CU_ASSERT(g_counted < 20000);
	printf("(abandoned after %d) ", g_counted);
	free(batch);
	default_opts();
	expect_alive();
}

/* Child side of the credential check: connects as uid/gid 65534 and exits
 * 0 if the server answered "permission denied" and closed. */
static void
nobody_client(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char buf[512];
	ssize_t n, len = 0;
	int fd;

	if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
		_exit(3);
	}
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		_exit(4);
	}
	if (send(fd, ECHO_REQ, strlen(ECHO_REQ), MSG_NOSIGNAL) < 0) {
		/* refused before the request went out: still read the answer */
	}
	while ((n = recv(fd, buf + len, sizeof(buf) - 1 - (size_t)len, 0)) > 0) {
		len += n;
	}
	buf[len] = '\0';
	_exit(strstr(buf, "-32002") != NULL && strstr(buf, "Permission denied") != NULL ? 0 : 5);
}

static void
test_socket_security(void)
{
	char path[100], target[100], dir[100];
	struct brisk_rpc_opts o;
	struct stat st;
	mode_t old;
	pid_t pid;
	int status = -1;

	/* The socket's mode does not follow the umask. */
	brisk_rpc_close();
	old = umask(0);
	CU_ASSERT_EQUAL_FATAL(brisk_rpc_listen(g_sock), 0);
	umask(old);
	CU_ASSERT_EQUAL(stat(g_sock, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);

	/* A symlink at the lock path is not followed. */
	brisk_rpc_close();
	snprintf(path, sizeof(path), "%s/s.sock", g_dir);
	snprintf(target, sizeof(target), "%s/victim", g_dir);
	snprintf(dir, sizeof(dir), "%s/s.sock.lock", g_dir);
	CU_ASSERT_EQUAL(symlink(target, dir), 0);
	CU_ASSERT_EQUAL(brisk_rpc_listen(path), -ELOOP);
	CU_ASSERT_EQUAL(access(target, F_OK), -1);
	unlink(dir);

	/* A world-writable directory without the sticky bit is refused; with
	 * it, fine; one owned by another non-root user is refused. */
	snprintf(dir, sizeof(dir), "%s/pub", g_dir);
	snprintf(path, sizeof(path), "%s/pub/s.sock", g_dir);
	CU_ASSERT_EQUAL(mkdir(dir, 0777), 0);
	CU_ASSERT_EQUAL(chmod(dir, 0777), 0);
	CU_ASSERT_EQUAL(brisk_rpc_listen(path), -EPERM);
	CU_ASSERT_EQUAL(chmod(dir, 01777), 0);
	if (geteuid() == 0) {
		CU_ASSERT_EQUAL(chown(dir, 65534, 65534), 0);
		CU_ASSERT_EQUAL(brisk_rpc_listen(path), -EPERM);
		CU_ASSERT_EQUAL(chown(dir, 0, 0), 0);
	}
	CU_ASSERT_EQUAL_FATAL(brisk_rpc_listen(path), 0);

	/* Another user that can reach the socket is still refused, by its
	 * credentials (root only: it needs a second uid). */
	if (geteuid() == 0) {
		brisk_rpc_close();
		brisk_rpc_get_opts(&o);
		o.socket_mode = 0666;
		CU_ASSERT_EQUAL(brisk_rpc_set_opts(&o), 0);
		CU_ASSERT_EQUAL_FATAL(brisk_rpc_listen(path), 0);
		chmod(g_dir, 0711);
		pid = fork();
		if (pid == 0) {
			nobody_client(path);
		}
		for (int i = 0; i < 3000 && waitpid(pid, &status, WNOHANG) == 0; i++) {
			pump_once(1);
		}
		CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "\n  nobody client: status %d\n", status);
		}
		chmod(g_dir, 0700);
		o.socket_mode = BRISK_RPC_DEFAULT_SOCKET_MODE;
		CU_ASSERT_EQUAL(brisk_rpc_set_opts(&o), 0);
	} else {
		printf("(not root: peer credential check not exercised) ");
	}
	brisk_rpc_close();
	rmdir(dir);
	CU_ASSERT_EQUAL(brisk_rpc_listen(g_sock), 0);
	expect_alive();
}

/* Holds requests until the test answers them (a slow asynchronous method). */
#define MAX_HELD 512
static struct brisk_jsonrpc_request *g_held[MAX_HELD];
static int g_held_count;
static int g_hold_calls;

static void
ut_hold(struct brisk_jsonrpc_request *req, const json_t *params)
{
	g_hold_calls++;
	if (g_held_count < MAX_HELD) {
		g_held[g_held_count++] = req;
	} else {
		brisk_jsonrpc_send_error_response(req, -1, "too many held");
	}
}
BRISK_RPC_REGISTER("ut_hold", ut_hold, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* Answers the held requests; an answer lets the server take the next
 * waiting request, which may be held again meanwhile. */
static void
release_held(void)
{
	while (g_held_count > 0) {
		struct brisk_jsonrpc_request *req = g_held[--g_held_count];

		brisk_jsonrpc_send_result(req, json_integer(g_held_count));
	}
}

/* A client that pipelines requests faster than they answer: the server
 * takes at most RPC_MAX_PENDING_PER_CONN at a time, the rest wait in the
 * socket, and all are answered in the end. */
static void
test_pending_limit(void)
{
	enum { N = 200 };
	struct client c;
	int answers = 0;
	json_t *r;

	g_hold_calls = 0;
	client_connect(&c);
	for (int i = 0; i < N; i++) {
		client_send(&c, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ut_hold\"}");
	}
	pump_ms(50);
	CU_ASSERT_EQUAL(g_held_count, RPC_MAX_PENDING_PER_CONN);
	CU_ASSERT_EQUAL(g_hold_calls, RPC_MAX_PENDING_PER_CONN);
	for (int round = 0; round < 10 && answers < N; round++) {
		release_held();
		while ((r = client_recv(&c, 100)) != NULL) {
			answers++;
			json_decref(r);
		}
	}
	CU_ASSERT_EQUAL(g_hold_calls, N);
	CU_ASSERT_EQUAL(answers, N);
	client_close(&c);
	pump_ms(10);
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

static const CU_TestInfo g_ut_tests_framer[] = {
	BRISK_UT_TEST(test_framer),
	CU_TEST_INFO_NULL,
};

static const CU_TestInfo g_ut_tests_server[] = {
	BRISK_UT_TEST(test_basic_call),
	BRISK_UT_TEST(test_invalid_requests),
	BRISK_UT_TEST(test_state),
	BRISK_UT_TEST(test_registry),
	BRISK_UT_TEST(test_framing_over_socket),
	BRISK_UT_TEST(test_batch_and_notifications),
	BRISK_UT_TEST(test_async_order),
	BRISK_UT_TEST(test_client_leaves),
	BRISK_UT_TEST(test_malformed_closes),
	BRISK_UT_TEST(test_oversized),
	BRISK_UT_TEST(test_double_answer),
	BRISK_UT_TEST(test_many_clients),
	BRISK_UT_TEST(test_connection_limit),
	BRISK_UT_TEST(test_connection_refused_when_busy),
	BRISK_UT_TEST(test_timeouts),
	BRISK_UT_TEST(test_batch_limits),
	BRISK_UT_TEST(test_pending_limit),
	BRISK_UT_TEST(test_socket_security),
	BRISK_UT_TEST(test_call_local),
	BRISK_UT_TEST(test_listen_errors),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "framer", NULL, NULL, g_ut_tests_framer },
	{ "server", suite_init, suite_fini, g_ut_tests_server },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "jsonrpc_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 4095 },
	.suites = g_ut_suites,
};
