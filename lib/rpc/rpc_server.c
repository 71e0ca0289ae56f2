/*
 * The JSON-RPC server's socket side: a Unix stream socket, its clients
 * (reading requests, writing responses), and the limits that keep one
 * client from starving the others: a connection limit with a backlog, an
 * idle timeout, a receive deadline per request, and eviction of idle or
 * slow clients when others are waiting.
 *
 * Waking: the listening socket and every client socket sit in a private,
 * level-triggered epoll set. That set's own fd is registered with the
 * brisk_thread (brisk_interrupt_register): a sleeping reactor wakes as soon
 * as a client connects, sends, or can take more output, and a busy one
 * looks at it from its polls (lib/thread/wake.c), so no fallback poller is
 * needed. A slow timed poller (RPC_SWEEP_PERIOD_US) enforces the timeouts
 * and the connection limit while there are clients; it is paused when there
 * are none, so an idle server costs no wake-ups.
 *
 * Connection limit: past max_connections the server stops accepting and new
 * clients wait in the listen backlog (large enough for a burst of hundreds
 * of one-shot clients). While some wait, a client idle or mid-request for
 * RPC_EVICT_MIN_IDLE_MS is closed (with a -32000 error) to make room; only
 * when every client has a request running for RPC_REFUSE_WAIT_MS is a
 * waiting one accepted and refused with "too many connections".
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "rpc_internal.h"

BRISK_LOG_REGISTER_COMPONENT(rpc)

#define RPC_EPOLL_BATCH 32
/* The kernel caps it at net.core.somaxconn (4096 by default since 5.4). */
#define RPC_LISTEN_BACKLOG 1024
#define RPC_SWEEP_PERIOD_US 100000
#define RPC_EVICT_MIN_IDLE_MS 1000
#define RPC_REFUSE_WAIT_MS 1000
/* Give freed memory back to the system after a client moved this much. */
#define RPC_TRIM_AFTER_BYTES (16u * 1024 * 1024)

struct rpc_conn {
	int fd;                 /* -1 once closed */
	uint32_t refs;
	uint32_t events;        /* current epoll interest */
	bool read_eof;          /* the client shut down its sending side */
	struct rpc_framer in;
	char *out;
	size_t out_len;
	size_t out_off;         /* first byte not yet sent */
	size_t out_cap;
	size_t bytes_moved;     /* received + sent, for the memory trim */
	uint64_t active_tsc;    /* connect, last complete request, or last response */
	uint64_t recv_start_tsc; /* first byte of the request being received; 0 = none */
	bool processing;        /* conn_process_input is on the stack */
	struct rpc_slot_queue slots;
	uint32_t slot_count;
	TAILQ_ENTRY(rpc_conn) link;
};
TAILQ_HEAD(rpc_conn_list, rpc_conn);

struct rpc_server {
	int listen_fd;
	int epoll_fd;
	int lock_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lock_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 8];
	struct brisk_thread *thread;
	struct brisk_poller *sweeper;
	bool sweeper_paused;
	struct brisk_interrupt *interrupt;
	struct rpc_conn_list conns;
	uint32_t conn_count;
	bool accept_paused;     /* at the limit: the listen fd is out of the epoll set */
	uint64_t waiting_since_tsc; /* clients seen waiting with no room; 0 = none */
	bool accept_error_logged;
	bool listening;
	struct brisk_rpc_opts opts;
};

static struct rpc_server g_server = {
	.listen_fd = -1, .epoll_fd = -1, .lock_fd = -1,
	.conns = TAILQ_HEAD_INITIALIZER(g_server.conns),
	.opts = {
		.max_connections = BRISK_RPC_DEFAULT_MAX_CONNECTIONS,
		.idle_timeout_ms = BRISK_RPC_DEFAULT_IDLE_TIMEOUT_MS,
		.recv_timeout_ms = BRISK_RPC_DEFAULT_RECV_TIMEOUT_MS,
		.max_batch_size = BRISK_RPC_DEFAULT_MAX_BATCH_SIZE,
		.socket_mode = BRISK_RPC_DEFAULT_SOCKET_MODE,
		.socket_gid = -1,
		.send_high_water = BRISK_RPC_DEFAULT_SEND_HIGH_WATER,
	},
};

/* epoll data of the listening socket (client entries carry their conn). */
static char g_listen_tag;

static void conn_close(struct rpc_conn *conn);
static void conn_send(struct rpc_conn *conn);
static void conn_process_input(struct rpc_conn *conn);
static void conn_process_values(struct rpc_conn *conn);
static void server_resume_accept(void);

static uint64_t
ms_to_ticks(uint64_t ms)
{
	return brisk_us_to_ticks(ms * 1000, brisk_get_ticks_hz());
}

/* ======================================================================
 * Options
 * ====================================================================== */

void
brisk_rpc_get_opts(struct brisk_rpc_opts *opts)
{
	*opts = g_server.opts;
}

int
brisk_rpc_set_opts(const struct brisk_rpc_opts *opts)
{
	const char *bad = NULL;

	if (opts->max_connections == 0 || opts->max_connections > 65536) {
		bad = "max_connections must be 1 to 65536";
	} else if (opts->max_batch_size == 0 || opts->max_batch_size > 1000000) {
		bad = "max_batch_size must be 1 to 1000000";
	} else if ((opts->socket_mode & ~0777u) != 0 || (opts->socket_mode & 0600) != 0600) {
		bad = "socket_mode must be permission bits (at most 0777) including 0600";
	} else if (opts->send_high_water < 4096) {
		bad = "send_high_water must be at least 4096";
	} else if (opts->socket_gid < -1 || opts->socket_gid > UINT32_MAX - 1) {
		bad = "socket_gid must be a group id or -1";
	}
	if (bad != NULL) {
		BRISK_ERRLOG("RPC options: %s\n", bad);
		return -EINVAL;
	}
	g_server.opts = *opts;
	if (g_server.listening && g_server.accept_paused &&
	    g_server.conn_count < g_server.opts.max_connections) {
		server_resume_accept();
	}
	return 0;
}

/* ======================================================================
 * Connections
 * ====================================================================== */

void
rpc_conn_get(struct rpc_conn *conn)
{
	conn->refs++;
}

void
rpc_conn_put(struct rpc_conn *conn)
{
	bool trim;

	if (conn->refs == 0) {
		BRISK_ERRLOG("internal error: RPC connection reference underflow\n");
		return;
	}
	if (--conn->refs > 0) {
		return;
	}
	/* Last reference: the socket is closed and no request is outstanding. */
	trim = conn->bytes_moved >= RPC_TRIM_AFTER_BYTES;
	rpc_framer_fini(&conn->in);
	free(conn->out);
	free(conn);
	if (trim) {
		/* Large answers leave the heap full of free chunks that malloc
		 * keeps; hand them back rather than keep gigabytes of RSS. */
		malloc_trim(0);
	}
}

struct rpc_slot_queue *
rpc_conn_slots(struct rpc_conn *conn)
{
	return &conn->slots;
}

void
rpc_conn_add_slot(struct rpc_conn *conn, struct rpc_slot *slot)
{
	rpc_conn_get(conn);
	TAILQ_INSERT_TAIL(&conn->slots, slot, link);
	conn->slot_count++;
}

bool
rpc_conn_is_closed(const struct rpc_conn *conn)
{
	return conn->fd < 0;
}

static size_t
conn_out_pending(const struct rpc_conn *conn)
{
	return conn->out_len - conn->out_off;
}

size_t
rpc_conn_queued_bytes(const struct rpc_conn *conn)
{
	const struct rpc_slot *slot;
	size_t n = conn_out_pending(conn);

	TAILQ_FOREACH(slot, &conn->slots, link) {
		n += slot->text.len;
	}
	return n;
}

bool
rpc_conn_over_high_water(const struct rpc_conn *conn)
{
	return rpc_conn_queued_bytes(conn) >= g_server.opts.send_high_water;
}

uint32_t
rpc_max_batch_size(void)
{
	return g_server.opts.max_batch_size;
}

/* New requests are taken from a client only while it reads its answers
 * (below the high-water mark) and has few enough requests unanswered: a
 * client that pipelines without reading cannot make the server hold an
 * unbounded number of answers. */
static bool
conn_may_take_requests(const struct rpc_conn *conn)
{
	return conn->slot_count < RPC_MAX_PENDING_PER_CONN && !rpc_conn_over_high_water(conn);
}

/* Sets the epoll interest to what the connection needs now: input unless
 * the client has finished sending or may not send more now, output while
 * responses wait. */
static void
conn_update_interest(struct rpc_conn *conn)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (conn->fd < 0) {
		return;
	}
	if (!conn->read_eof && conn_may_take_requests(conn)) {
		want |= EPOLLIN;
	}
	if (conn_out_pending(conn) > 0) {
		want |= EPOLLOUT;
	}
	if (want == conn->events) {
		return;
	}
	ev.events = want;
	ev.data.ptr = conn;
	if (epoll_ctl(g_server.epoll_fd, EPOLL_CTL_MOD, conn->fd, &ev) != 0) {
		BRISK_ERRLOG("RPC: epoll_ctl on client fd %d failed: %s\n", conn->fd, strerror(errno));
		conn_close(conn);
		return;
	}
	conn->events = want;
}

/* A client that has shut down its side and has nothing more coming is done. */
static void
conn_close_if_finished(struct rpc_conn *conn)
{
	if (conn->fd >= 0 && conn->read_eof && TAILQ_EMPTY(&conn->slots) &&
	    conn_out_pending(conn) == 0) {
		conn_close(conn);
	}
}

int
rpc_conn_append_output(struct rpc_conn *conn, const char *data, size_t len, bool newline)
{
	size_t need = len + (newline ? 1 : 0);

	if (conn->out_off > 0 && conn->out_off == conn->out_len) {
		conn->out_off = conn->out_len = 0;
	}
	if (conn->out_cap - conn->out_len < need) {
		size_t pending = conn_out_pending(conn);
		size_t cap;
		char *grown;

		/* Move unsent bytes to the front before growing. */
		if (pending > 0) { /* out is NULL before the first answer */
			memmove(conn->out, conn->out + conn->out_off, pending);
		}
		conn->out_off = 0;
		conn->out_len = pending;
		cap = conn->out_cap ? conn->out_cap : 4096;
		while (cap - conn->out_len < need) {
			cap *= 2;
		}
		if (cap != conn->out_cap) {
			grown = realloc(conn->out, cap);
			if (grown == NULL) {
				return -ENOMEM;
			}
			conn->out = grown;
			conn->out_cap = cap;
		}
	}
	memcpy(conn->out + conn->out_len, data, len);
	conn->out_len += len;
	if (newline) {
		/* A newline after each response helps line-oriented clients
		 * (socat, nc); JSON parsers skip it as whitespace. */
		conn->out[conn->out_len++] = '\n';
	}
	return 0;
}

static void
conn_append_response(struct rpc_conn *conn, const json_t *response)
{
	struct rpc_text text = { 0 };

	if (rpc_text_dump(&text, response) != 0 || rpc_conn_append_output(conn, text.buf, text.len, true) != 0) {
		BRISK_ERRLOG("RPC: out of memory queueing a response; closing the client\n");
		free(text.buf);
		conn_close(conn);
		return;
	}
	free(text.buf);
}

/* Hands the head slot's streamed batch text to the output. */
static void
conn_take_slot_text(struct rpc_conn *conn, struct rpc_slot *slot)
{
	if (slot->broken && conn->fd >= 0) {
		conn_close(conn); /* its array lacks an answer: nothing valid can follow */
	}
	if (slot->text.len == 0) {
		return;
	}
	if (conn->fd >= 0 &&
	    rpc_conn_append_output(conn, slot->text.buf, slot->text.len, slot->pending == 0) != 0) {
		BRISK_ERRLOG("RPC: out of memory queueing a batch answer; closing the client\n");
		conn_close(conn);
	}
	rpc_text_reset(&slot->text);
}

void
rpc_conn_flush_slots(struct rpc_conn *conn)
{
	struct rpc_slot *slot;

	rpc_conn_get(conn); /* the last slot's reference may be the last one */
	while ((slot = TAILQ_FIRST(&conn->slots)) != NULL) {
		/* A batch at the head streams its answers as they come. */
		conn_take_slot_text(conn, slot);
		if (slot->pending > 0) {
			break;
		}
		TAILQ_REMOVE(&conn->slots, slot, link);
		conn->slot_count--;
		if (conn->fd >= 0 && slot->response != NULL) {
			conn_append_response(conn, slot->response);
		} else if (conn->fd < 0 && slot->response != NULL) {
			BRISK_DEBUGLOG(rpc, "RPC: client gone; response dropped\n");
		}
		rpc_slot_free(slot);
		conn->active_tsc = brisk_get_ticks();
#ifdef __clang_analyzer__
		/* Ours (taken above) outlives this put; scan-build loses the count. */
		if (conn->refs < 2) {
			abort();
		}
#endif
		rpc_conn_put(conn); /* the slot's */
	}
	if (conn->fd >= 0) {
		conn_send(conn);
	}
	rpc_conn_put(conn);
}

static void
conn_shrink_output(struct rpc_conn *conn)
{
	if (conn_out_pending(conn) == 0 && conn->out_cap > RPC_IDLE_BUF_CAP) {
		free(conn->out);
		conn->out = NULL;
		conn->out_cap = conn->out_len = conn->out_off = 0;
	}
}

static void
conn_send(struct rpc_conn *conn)
{
	while (conn->fd >= 0 && conn_out_pending(conn) > 0) {
		ssize_t n = send(conn->fd, conn->out + conn->out_off, conn_out_pending(conn),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			conn->out_off += (size_t)n;
			conn->bytes_moved += (size_t)n;
			conn->active_tsc = brisk_get_ticks();
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			break;
		}
		/* EPIPE/ECONNRESET: the client left before reading its answers. */
		BRISK_DEBUGLOG(rpc, "RPC: send to client failed (%s); closing it\n",
			       n < 0 ? strerror(errno) : "no progress");
		conn_close(conn);
		return;
	}
	if (conn->fd < 0) {
		return;
	}
	conn_shrink_output(conn);
	if (!rpc_conn_over_high_water(conn)) {
		/* The client read enough: batches paused at the mark go on. */
		rpc_conn_kick_batches(conn);
	}
	if (!conn->processing && rpc_framer_pending(&conn->in) > 0 && conn_may_take_requests(conn)) {
		/* Requests that arrived while it was over its limits. */
		conn_process_input(conn);
		if (conn->fd < 0) {
			return;
		}
	}
	conn_update_interest(conn);
	conn_close_if_finished(conn);
}

/* One non-blocking attempt: a client that misbehaved does not get to hold
 * the server's buffer hostage. */
static void
conn_send_once(struct rpc_conn *conn)
{
	while (conn_out_pending(conn) > 0) {
		ssize_t n = send(conn->fd, conn->out + conn->out_off, conn_out_pending(conn),
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			break;
		}
		if (n > 0) {
			conn->out_off += (size_t)n;
		}
	}
}

void
rpc_conn_fatal_error(struct rpc_conn *conn, int code, const char *msg)
{
	json_t *response;

	if (conn->fd < 0) {
		return;
	}
	BRISK_NOTICELOG("RPC: closing a client: %s\n", msg);
	/* Responses already serialised go first; requests still pending on
	 * this connection will find it closed and drop their answers. */
	response = rpc_error_response(NULL, code, msg);
	if (response != NULL) {
		conn_append_response(conn, response);
		json_decref(response);
	}
	if (conn->fd >= 0) {
		conn_send_once(conn);
		conn_close(conn);
	}
}

static void
conn_close(struct rpc_conn *conn)
{
	if (conn->fd < 0) {
		return;
	}
	if (g_server.epoll_fd >= 0) {
		epoll_ctl(g_server.epoll_fd, EPOLL_CTL_DEL, conn->fd, NULL);
	}
	close(conn->fd);
	conn->fd = -1;
	conn->out_off = conn->out_len = 0;
	TAILQ_REMOVE(&g_server.conns, conn, link);
	g_server.conn_count--;
	BRISK_DEBUGLOG(rpc, "RPC: client closed (%u left)\n", g_server.conn_count);
	/* Batches still running stop at their next step: nobody will read. */
	rpc_conn_kick_batches(conn);
	if (g_server.accept_paused && g_server.conn_count < g_server.opts.max_connections) {
		server_resume_accept();
	}
	rpc_conn_put(conn); /* the socket's reference */
}

/* Handles the complete values buffered on conn, while it may take them
 * (conn_send comes back for the rest). */
static void
conn_process_input(struct rpc_conn *conn)
{
	rpc_conn_get(conn);
	conn->processing = true;
	conn_process_values(conn);
	conn->processing = false;
#ifdef __clang_analyzer__
	/* Every caller holds one too (server_poll, rpc_conn_flush_slots): not the
	 * last; scan-build loses the count over the calls above. */
	if (conn->refs < 2) {
		abort();
	}
#endif
	rpc_conn_put(conn);
}

static void
conn_process_values(struct rpc_conn *conn)
{
	const char *text;
	size_t len;
	char msg[128];

	while (conn->fd >= 0 && conn_may_take_requests(conn)) {
		switch (rpc_framer_next(&conn->in, RPC_MAX_REQUEST_SIZE, &text, &len)) {
		case RPC_FRAME_VALUE:
			conn->active_tsc = brisk_get_ticks();
			conn->recv_start_tsc = 0;
			rpc_conn_handle_value(conn, text, len);
			break;
		case RPC_FRAME_NEED_MORE:
			if (rpc_framer_pending(&conn->in) > 0 && conn->recv_start_tsc == 0) {
				conn->recv_start_tsc = brisk_get_ticks();
			}
			return;
		case RPC_FRAME_MALFORMED:
			rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_PARSE_ERROR,
					     "Parse error: unexpected character outside a JSON value");
			return;
		case RPC_FRAME_TOO_LARGE:
			snprintf(msg, sizeof(msg), "Invalid request: request larger than %u bytes",
				 RPC_MAX_REQUEST_SIZE);
			rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_INVALID_REQUEST, msg);
			return;
		}
	}
}

/* recv() result n (errno set when negative): false when reading must stop. */
static bool
conn_read_result(struct rpc_conn *conn, ssize_t n)
{
	if (n > 0) {
		rpc_framer_commit(&conn->in, (size_t)n);
		conn->bytes_moved += (size_t)n;
		conn_process_input(conn);
		return true;
	}
	if (n == 0) {
		/* The client finished sending. Answers to its complete requests
		 * still go out (clients like `nc -N` wait for them); a partial
		 * request is dropped. */
		conn->read_eof = true;
		if (rpc_framer_pending(&conn->in) > 0) {
			BRISK_DEBUGLOG(rpc, "RPC: client left mid-request (%zu bytes dropped)\n",
				       rpc_framer_pending(&conn->in));
		}
		return false;
	}
	if (errno == EINTR) {
		return true;
	}
	if (errno != EAGAIN && errno != EWOULDBLOCK) {
		BRISK_DEBUGLOG(rpc, "RPC: recv failed (%s); closing the client\n", strerror(errno));
		conn_close(conn);
	}
	return false;
}

static void
conn_read(struct rpc_conn *conn)
{
	while (conn->fd >= 0 && !conn->read_eof && conn_may_take_requests(conn)) {
		size_t avail;
		char *dst = rpc_framer_reserve(&conn->in, RPC_READ_CHUNK, &avail);

		if (dst == NULL) {
			rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
					     "out of memory reading the request");
			return;
		}
		if (!conn_read_result(conn, recv(conn->fd, dst, avail, MSG_DONTWAIT))) {
			break;
		}
	}
	if (conn->fd >= 0) {
		conn_update_interest(conn);
		conn_close_if_finished(conn);
	}
}

static void
conn_handle_events(struct rpc_conn *conn, uint32_t events)
{
	if (conn->fd >= 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		/* Read before acting on a hang-up: requests sent just before the
		 * client closed are still executed. */
		conn_read(conn);
	}
	if (conn->fd >= 0 && (events & EPOLLOUT)) {
		conn_send(conn);
	}
	if (conn->fd >= 0 && (events & (EPOLLHUP | EPOLLERR))) {
		/* Both directions are gone: nothing can be sent any more. */
		conn_close(conn);
	}
}

/* ======================================================================
 * Accepting, and the limits
 * ====================================================================== */

static void
sweeper_set_running(bool run)
{
	if (g_server.sweeper == NULL || g_server.sweeper_paused == !run) {
		return;
	}
	if (run) {
		brisk_poller_resume(g_server.sweeper);
	} else {
		brisk_poller_pause(g_server.sweeper);
	}
	g_server.sweeper_paused = !run;
}

static void
server_set_accept(bool on)
{
	struct epoll_event ev = { .events = on ? EPOLLIN : 0, .data.ptr = &g_listen_tag };

	if (g_server.accept_paused == !on || g_server.listen_fd < 0) {
		return;
	}
	/* Out of the set while paused: a level-triggered listen fd that stays
	 * readable would otherwise wake the thread over and over. */
	if (epoll_ctl(g_server.epoll_fd, EPOLL_CTL_MOD, g_server.listen_fd, &ev) != 0) {
		BRISK_ERRLOG("RPC: epoll_ctl on the listening socket: %s\n", strerror(errno));
		return;
	}
	g_server.accept_paused = !on;
	g_server.waiting_since_tsc = 0;
	if (!on) {
		sweeper_set_running(true);
	}
}

static void
server_resume_accept(void)
{
	server_set_accept(true);
}

/* Answers a client with one error and closes it (no connection state). */
static void
refuse_fd(int fd, int code, const char *msg)
{
	json_t *response = rpc_error_response(NULL, code, msg);
	struct rpc_text text = { 0 };

	if (response != NULL && rpc_text_dump(&text, response) == 0 &&
	    send(fd, text.buf, text.len, MSG_NOSIGNAL | MSG_DONTWAIT) > 0) {
		send(fd, "\n", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	free(text.buf);
	json_decref(response);
	close(fd);
}

static struct rpc_conn *
conn_new(int fd)
{
	struct rpc_conn *conn = calloc(1, sizeof(*conn));
	struct epoll_event ev = { .events = EPOLLIN };

	if (conn == NULL) {
		BRISK_ERRLOG("RPC: out of memory accepting a client\n");
		return NULL;
	}
	conn->fd = fd;
	conn->refs = 1; /* the socket's */
	conn->events = EPOLLIN;
	conn->active_tsc = brisk_get_ticks();
	rpc_framer_init(&conn->in);
	TAILQ_INIT(&conn->slots);
	ev.data.ptr = conn;
	if (epoll_ctl(g_server.epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
		BRISK_ERRLOG("RPC: epoll_ctl failed for a new client: %s\n", strerror(errno));
		free(conn);
		return NULL;
	}
	TAILQ_INSERT_TAIL(&g_server.conns, conn, link);
	g_server.conn_count++;
	sweeper_set_running(true);
	return conn;
}

/* accept4 without the noise: the fd, or -1 when nothing (more) waits. */
static int
server_accept_fd(void)
{
	for (;;) {
		int fd = accept4(g_server.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			g_server.accept_error_logged = false;
			return fd;
		}
		if (errno == EINTR || errno == ECONNABORTED) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK && !g_server.accept_error_logged) {
			/* Out of fds, typically: logged once, retried until it clears. */
			BRISK_ERRLOG("RPC: accept failed: %s\n", strerror(errno));
			g_server.accept_error_logged = true;
		}
		return -1;
	}
}

static void
server_accept(void)
{
	while (g_server.listen_fd >= 0) {
		int fd;

		if (g_server.conn_count >= g_server.opts.max_connections) {
			/* Later clients wait in the backlog (see the top). */
			server_set_accept(false);
			return;
		}
		fd = server_accept_fd();
		if (fd < 0) {
			return;
		}
		if (rpc_socket_check_peer(fd, &g_server.opts) != 0) {
			refuse_fd(fd, BRISK_JSONRPC_ERROR_PERMISSION_DENIED,
				  "Permission denied: not root, the server's user or its socket group");
			continue;
		}
		if (conn_new(fd) == NULL) {
			close(fd);
			continue;
		}
		BRISK_DEBUGLOG(rpc, "RPC: client connected (%u)\n", g_server.conn_count);
	}
}

static bool
listen_has_waiters(void)
{
	struct pollfd pfd = { .fd = g_server.listen_fd, .events = POLLIN };

	return g_server.listen_fd >= 0 && poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* Accepting was resumed (a client left) while clients wait: the listen fd
 * re-entering the set is not an event of its own, so take them now. */
static void
server_accept_waiters(void)
{
	if (g_server.listening && !g_server.accept_paused && listen_has_waiters()) {
		server_accept();
	}
}

/* A client with no request running and nothing to send, idle (or stuck
 * mid-request) the longest, if for at least RPC_EVICT_MIN_IDLE_MS. */
static struct rpc_conn *
find_evictable(uint64_t now)
{
	struct rpc_conn *conn, *best = NULL;

	TAILQ_FOREACH(conn, &g_server.conns, link) {
		if (!TAILQ_EMPTY(&conn->slots) || conn_out_pending(conn) > 0 ||
		    now - conn->active_tsc < ms_to_ticks(RPC_EVICT_MIN_IDLE_MS)) {
			continue;
		}
		if (best == NULL || conn->active_tsc < best->active_tsc) {
			best = conn;
		}
	}
	return best;
}

/* Every client busy for RPC_REFUSE_WAIT_MS: the waiting ones get an answer
 * rather than a connection that hangs. */
static void
server_refuse_waiters(void)
{
	int fd;

	BRISK_WARNLOG("RPC: too many connections (%u, all busy); refusing waiting clients\n",
		      g_server.conn_count);
	while ((fd = server_accept_fd()) >= 0) {
		refuse_fd(fd, BRISK_JSONRPC_ERROR_TOO_MANY_CONNECTIONS,
			  "Too many connections: every connection is busy; try again later");
	}
}

/* Clients wait at the limit: make room, or after a while refuse them. */
static void
server_serve_waiters(uint64_t now)
{
	struct rpc_conn *victim;

	if (!g_server.accept_paused || !listen_has_waiters()) {
		g_server.waiting_since_tsc = 0;
		return;
	}
	victim = find_evictable(now);
	if (victim != NULL) {
		/* The close resumes accepting. */
		rpc_conn_fatal_error(victim, BRISK_JSONRPC_ERROR_TOO_MANY_CONNECTIONS,
				     "Connection closed: idle while other clients wait "
				     "(too many connections)");
	} else if (g_server.waiting_since_tsc == 0) {
		g_server.waiting_since_tsc = now;
	} else if (now - g_server.waiting_since_tsc >= ms_to_ticks(RPC_REFUSE_WAIT_MS)) {
		server_refuse_waiters();
		g_server.waiting_since_tsc = now;
	}
}

/* Receive deadline and idle timeout of one client. */
static void
conn_check_timeouts(struct rpc_conn *conn, uint64_t now)
{
	const struct brisk_rpc_opts *o = &g_server.opts;
	char msg[128];

	if (conn->recv_start_tsc != 0 && o->recv_timeout_ms != 0 &&
	    now - conn->recv_start_tsc > ms_to_ticks(o->recv_timeout_ms)) {
		snprintf(msg, sizeof(msg), "Request timeout: the request did not arrive whole "
			 "within %u ms", o->recv_timeout_ms);
		rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_TIMEOUT, msg);
		return;
	}
	if (TAILQ_EMPTY(&conn->slots) && o->idle_timeout_ms != 0 &&
	    now - conn->active_tsc > ms_to_ticks(o->idle_timeout_ms)) {
		snprintf(msg, sizeof(msg), "Idle timeout: no request for %u ms", o->idle_timeout_ms);
		rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_TIMEOUT, msg);
	}
}

static int
server_sweep(void *ctx)
{
	uint64_t now = brisk_get_ticks();
	struct rpc_conn *conn, *next;

	for (conn = TAILQ_FIRST(&g_server.conns); conn != NULL; conn = next) {
		/* A timeout closes only this client: next stays valid. */
		next = TAILQ_NEXT(conn, link);
		conn_check_timeouts(conn, now);
	}
	server_serve_waiters(now);
	server_accept_waiters();
	if (g_server.conn_count == 0 && !g_server.accept_paused) {
		sweeper_set_running(false);
	}
	return BRISK_POLLER_IDLE;
}

/* Serves whatever the sockets have; returns true if anything happened. */
static bool
server_poll(void)
{
	struct epoll_event events[RPC_EPOLL_BATCH];
	bool busy = false;
	int n;

	do {
		if (g_server.epoll_fd < 0) {
			break;
		}
		n = epoll_wait(g_server.epoll_fd, events, RPC_EPOLL_BATCH, 0);
		if (n <= 0) {
			break;
		}
		busy = true;
		/* A handler may close other connections (or the whole server):
		 * keep every connection of this batch alive until it is done. */
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr != &g_listen_tag) {
				rpc_conn_get(events[i].data.ptr);
			}
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr == &g_listen_tag) {
				server_accept();
			} else {
				conn_handle_events(events[i].data.ptr, events[i].events);
			}
		}
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr != &g_listen_tag) {
				rpc_conn_put(events[i].data.ptr);
			}
		}
	} while (n == RPC_EPOLL_BATCH);
	return busy;
}

static int
server_interrupt(void *ctx)
{
	bool busy = server_poll();

	server_accept_waiters();
	return busy ? 1 : 0;
}

/* ======================================================================
 * Listening
 * ====================================================================== */

/* -EADDRINUSE if something accepts connections at path, 0 if the path is
 * free (a stale socket file is removed), other -errno on trouble. */
static int
claim_socket_path(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) != 0) {
		return errno == ENOENT ? 0 : -errno;
	}
	if (!S_ISSOCK(st.st_mode)) {
		BRISK_ERRLOG("RPC: %s exists and is not a socket; not replacing it\n", path);
		return -EEXIST;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	rc = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
	close(fd);
	if (rc == 0) {
		BRISK_ERRLOG("RPC: another process is listening on %s\n", path);
		return -EADDRINUSE;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		return -errno;
	}
	BRISK_NOTICELOG("RPC: removing stale socket %s\n", path);
	if (unlink(path) != 0 && errno != ENOENT) {
		return -errno;
	}
	return 0;
}

static void
server_release(void)
{
	if (g_server.sweeper != NULL) {
		brisk_poller_unregister(&g_server.sweeper);
	}
	g_server.sweeper_paused = false;
	if (g_server.interrupt != NULL) {
		brisk_interrupt_unregister(&g_server.interrupt);
	}
	if (g_server.listen_fd >= 0) {
		close(g_server.listen_fd);
		g_server.listen_fd = -1;
	}
	if (g_server.epoll_fd >= 0) {
		close(g_server.epoll_fd);
		g_server.epoll_fd = -1;
	}
	if (g_server.lock_fd >= 0) {
		close(g_server.lock_fd);
		g_server.lock_fd = -1;
	}
	g_server.accept_paused = false;
	g_server.waiting_since_tsc = 0;
}

/* Path checks, then the lock: 0 with the lock held, or -errno. */
static int
server_lock_path(const char *path)
{
	int rc = rpc_socket_check_path(path);

	if (rc != 0) {
		return rc;
	}
	/* The lock settles races between two starting processes; the connect
	 * probe catches listeners that do not use the lock. */
	g_server.lock_fd = rpc_socket_open_lock(g_server.lock_path);
	if (g_server.lock_fd < 0) {
		rc = g_server.lock_fd;
		g_server.lock_fd = -1;
		return rc;
	}
	if (flock(g_server.lock_fd, LOCK_EX | LOCK_NB) != 0) {
		BRISK_ERRLOG("RPC: %s is in use by another process\n", path);
		server_release();
		return -EADDRINUSE;
	}
	return 0;
}

/* Socket, bind (mode and group), listen, and the epoll set with its
 * interrupt and the sweeper. */
static int
server_open_socket(const char *path)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &g_listen_tag };
	int rc;

	g_server.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g_server.listen_fd < 0) {
		return -errno;
	}
	rc = rpc_socket_bind(g_server.listen_fd, path, &g_server.opts);
	if (rc != 0) {
		return rc;
	}
	if (listen(g_server.listen_fd, RPC_LISTEN_BACKLOG) != 0) {
		rc = -errno;
		BRISK_ERRLOG("RPC: cannot listen on %s: %s\n", path, strerror(errno));
		return rc;
	}
	g_server.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (g_server.epoll_fd < 0 ||
	    epoll_ctl(g_server.epoll_fd, EPOLL_CTL_ADD, g_server.listen_fd, &ev) != 0) {
		return -errno;
	}
	g_server.interrupt = brisk_interrupt_register(g_server.epoll_fd, server_interrupt, NULL,
						      "rpc_server");
	g_server.sweeper = brisk_poller_register_named(server_sweep, NULL, RPC_SWEEP_PERIOD_US,
						       "rpc_server");
	if (g_server.interrupt == NULL || g_server.sweeper == NULL) {
		BRISK_ERRLOG("RPC: cannot register the server's wake-up fd or poller\n");
		return -ENOMEM;
	}
	/* No client yet: the sweeper has nothing to watch. */
	brisk_poller_pause(g_server.sweeper);
	g_server.sweeper_paused = true;
	return 0;
}

int
brisk_rpc_listen(const char *path)
{
	int rc;

	if (g_server.listening) {
		BRISK_ERRLOG("RPC: already listening on %s\n", g_server.path);
		return -EBUSY;
	}
	if (path == NULL || path[0] == '\0') {
		BRISK_ERRLOG("RPC: empty socket path\n");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(g_server.path)) {
		BRISK_ERRLOG("RPC: socket path '%s' is longer than %zu bytes\n", path,
			     sizeof(g_server.path) - 1);
		return -ENAMETOOLONG;
	}
	g_server.thread = brisk_get_thread();
	if (g_server.thread == NULL) {
		BRISK_ERRLOG("RPC: brisk_rpc_listen must be called on a brisk_thread\n");
		return -EINVAL;
	}
	snprintf(g_server.path, sizeof(g_server.path), "%s", path);
	snprintf(g_server.lock_path, sizeof(g_server.lock_path), "%s.lock", path);

	rc = server_lock_path(path);
	if (rc != 0) {
		return rc;
	}
	rc = claim_socket_path(path);
	if (rc != 0) {
		goto fail_locked;
	}
	rc = server_open_socket(path);
	if (rc != 0) {
		unlink(path);
		goto fail_locked;
	}
	g_server.listening = true;
	BRISK_NOTICELOG("RPC server listening on %s (mode %04o)\n", path, g_server.opts.socket_mode);
	return 0;

fail_locked:
	server_release();
	unlink(g_server.lock_path);
	return rc;
}

void
brisk_rpc_close(void)
{
	struct rpc_conn *conn;

	if (!g_server.listening) {
		return;
	}
	/* No accept may resume while the clients are being dropped. */
	g_server.accept_paused = false;
	if (g_server.listen_fd >= 0) {
		close(g_server.listen_fd);
		g_server.listen_fd = -1;
	}
	while ((conn = TAILQ_FIRST(&g_server.conns)) != NULL) {
		conn_close(conn);
	}
	unlink(g_server.path);
	unlink(g_server.lock_path);
	server_release();
	g_server.listening = false;
	BRISK_NOTICELOG("RPC server on %s closed\n", g_server.path);
}
