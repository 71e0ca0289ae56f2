/*
 * Allocation failures in the RPC server (SQLite's "malloc failure" loop):
 * a request is sent over the Unix socket and answered while the Nth
 * allocation fails (lib/env's hook, brisk_env_fail_alloc_set, which also
 * covers jansson's allocations: parsing the request, building and writing the
 * answer), for N = 1, 2, ... until a run no longer reaches the failure. Each
 * failing run must end with an error reply or a closed connection, never a
 * crash or a hang; the same request then succeeds. Leaks of libc and jansson
 * memory show in the ASan build (LeakSanitizer), the env heap's in-use count
 * is compared here. The client side reads raw bytes: the test parses no JSON
 * while the hook is armed, so only the server's allocations fail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../common/test_env.h"
#include "../../common/ut_alloc_fail.h"
#include "../../common/ut_main.h"

#define MAX_RUNS 5000 /* far above the allocations of one request */
#define ANSWER_MS 2000 /* a run with no answer or close by then is a hang */

static struct brisk_thread *g_thread;
static char g_dir[64];
static char g_sock[100];

/* Echoes its params: a deep copy, so the answer allocates too. A failed
 * copy is an error reply (a NULL result would read as JSON null). */
static void ut_afail_echo(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *copy = params != NULL ? json_deep_copy(params) : NULL;

	if (params != NULL && copy == NULL) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "Out of memory");
		return;
	}
	brisk_jsonrpc_send_result(req, copy);
}
BRISK_RPC_REGISTER("ut_afail_echo", ut_afail_echo, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* Polls the server's thread; sleeps up to 1 ms on its wake fd when idle. */
static void pump_once(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int ep;

	brisk_thread_poll(g_thread, 0, 0);
	if (!brisk_thread_prepare_sleep(g_thread)) {
		return;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	epoll_ctl(ep, EPOLL_CTL_ADD, brisk_thread_get_wake_fd(g_thread), &ev);
	epoll_wait(ep, &ev, 1, 1);
	close(ep);
	brisk_thread_end_sleep(g_thread);
}

static void pump_ms(int ms)
{
	uint64_t end = brisk_get_time_us() + (uint64_t)ms * 1000;

	while (brisk_get_time_us() < end) {
		pump_once();
	}
}

static int client_connect(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		return -errno;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", g_sock);
	/* A Unix socket connects at once (or EAGAIN when the backlog is full). */
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

/* Reads until the first answer line (0), the server closing (-ECONNRESET)
 * or ANSWER_MS (-ETIMEDOUT); the server runs meanwhile. */
static int client_read_line(int fd, char *buf, size_t cap)
{
	uint64_t end = brisk_get_time_us() + (uint64_t)ANSWER_MS * 1000;
	size_t len = 0;

	while (brisk_get_time_us() < end) {
		ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);

		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
			if (memchr(buf, '\n', len) != NULL || len == cap - 1) {
				return 0;
			}
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			return -ECONNRESET;
		} else {
			pump_once();
		}
	}
	return -ETIMEDOUT;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
		n++;
	}
	return n;
}

/* One request on a new connection: 0 when answered with `results` results
 * and no error, -ENOMEM for an error reply or a closed connection (the
 * clean failures), -ETIMEDOUT or -EIO otherwise. */
static int run_request(const char *text, int results)
{
	char buf[4096];
	int fd = client_connect();
	int rc;

	if (fd < 0) {
		return fd;
	}
	if (send(fd, text, strlen(text), MSG_NOSIGNAL) != (ssize_t)strlen(text)) {
		close(fd);
		return -EIO;
	}
	rc = client_read_line(fd, buf, sizeof(buf));
	close(fd);
	pump_ms(2); /* the server sees the close and frees the connection */
	if (rc == -ETIMEDOUT) {
		return rc;
	}
	if (rc == -ECONNRESET || count(buf, "\"error\"") > 0) {
		return -ENOMEM;
	}
	if (count(buf, "\"result\"") != results) {
		fprintf(stderr, "unexpected answer: %s\n", buf);
		return -EIO;
	}
	return 0;
}

struct request_run {
	const char *text;
	int results;
};

static int run_request_fn(void *arg)
{
	struct request_run *r = arg;

	return run_request(r->text, r->results);
}

static void fail_loop(const char *text, int results, const char *what)
{
	struct request_run r = { .text = text, .results = results };

	brisk_ut_alloc_fail_loop(run_request_fn, &r, what, MAX_RUNS);
}

static void test_single_call(void)
{
	fail_loop("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ut_afail_echo\","
		  "\"params\":{\"name\":\"x\",\"list\":[1,2,{\"deep\":true}]}}\n",
		  1, "single call");
}

static void test_batch(void)
{
	fail_loop("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ut_afail_echo\",\"params\":[1]},"
		  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"rpc_get_methods\"}]\n",
		  2, "batch of two");
}

static void test_unknown_method(void)
{
	/* The answer is an error by design: the loop only asks it to come. */
	char buf[1024];
	int fd;

	brisk_env_fail_alloc_set(1);
	fd = client_connect();
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(send(fd, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"nope\"}\n", 41, MSG_NOSIGNAL), 41);
	CU_ASSERT_NOT_EQUAL(client_read_line(fd, buf, sizeof(buf)), -ETIMEDOUT);
	close(fd);
	pump_ms(2);
	CU_ASSERT(brisk_env_fail_alloc_hit());
	brisk_env_fail_alloc_set(0);
	CU_ASSERT_EQUAL(run_request("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"ut_afail_echo\"}\n", 1), 0);
}

static int suite_init(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/rpc_afail_ut.XXXXXX");
	if (mkdtemp(g_dir) == NULL) {
		return -1;
	}
	snprintf(g_sock, sizeof(g_sock), "%s/rpc.sock", g_dir);
	g_thread = brisk_thread_create("rpc_afail_ut", NULL);
	if (g_thread == NULL) {
		return -1;
	}
	brisk_set_thread(g_thread);
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	return brisk_rpc_listen(g_sock);
}

static int suite_fini(void)
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

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_single_call),
	BRISK_UT_TEST(test_batch),
	BRISK_UT_TEST(test_unknown_method),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "rpc_alloc_fail", suite_init, suite_fini, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "rpc_alloc_fail_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 1023 },
	.suites = g_ut_suites,
};
