/*
 * The JSON-RPC server's socket side: a Unix stream socket, its clients,
 * finding where each JSON value ends in the byte stream, and writing
 * responses.
 *
 * Waking: the listening socket and every client socket sit in a private,
 * level-triggered epoll set. That set's own fd is registered with the
 * brisk_thread (brisk_interrupt_register), so a reactor sleeping in epoll
 * wakes as soon as a client connects, sends, or can take more output, and
 * the interrupt callback serves it. A timed poller serves the same set while
 * the reactor is too busy to sleep (interrupt callbacks run only when it
 * wakes from a sleep). Its period adapts: every RPC_POLL_PERIOD_US while the
 * reactor keeps polling, every RPC_IDLE_POLL_PERIOD_US once the reactor is
 * seen sleeping (its sleep count moved), since a sleeping reactor needs no
 * poller and each expiry would wake it for nothing.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "rpc_internal.h"

BRISK_LOG_REGISTER_COMPONENT(rpc)

#define RPC_READ_CHUNK (64u * 1024)
#define RPC_EPOLL_BATCH 32
#define RPC_LISTEN_BACKLOG 128
#define RPC_IDLE_BUF_CAP (1024u * 1024) /* shrink receive buffers above this once empty */

/* ======================================================================
 * Framing: where does the next JSON value end?
 * ====================================================================== */

void
rpc_framer_init(struct rpc_framer *f)
{
	memset(f, 0, sizeof(*f));
}

void
rpc_framer_fini(struct rpc_framer *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

char *
rpc_framer_reserve(struct rpc_framer *f, size_t want, size_t *avail)
{
	if (f->head == f->len && f->cap > RPC_IDLE_BUF_CAP) {
		/* A large request has been handled: give its buffer back. */
		free(f->buf);
		f->buf = NULL;
		f->cap = f->len = f->head = f->scan = f->value_start = 0;
	}
	if (f->head > 0 && (f->head == f->len || f->head >= f->cap / 2 || f->cap - f->len < want)) {
		memmove(f->buf, f->buf + f->head, f->len - f->head);
		f->len -= f->head;
		f->scan -= f->head;
		f->value_start = f->in_value ? f->value_start - f->head : 0;
		f->head = 0;
	}
	if (f->cap - f->len < want) {
		size_t cap = f->cap ? f->cap * 2 : RPC_READ_CHUNK;
		char *grown;

		if (cap < f->len + want) {
			cap = f->len + want;
		}
		grown = realloc(f->buf, cap);
		if (grown == NULL) {
			return NULL;
		}
		f->buf = grown;
		f->cap = cap;
	}
	*avail = f->cap - f->len;
	return f->buf + f->len;
}

void
rpc_framer_commit(struct rpc_framer *f, size_t n)
{
	f->len += n;
}

size_t
rpc_framer_pending(const struct rpc_framer *f)
{
	return f->len - f->head;
}

static bool
is_json_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static enum rpc_frame_status
framer_complete(struct rpc_framer *f, size_t end, size_t limit, const char **start, size_t *len)
{
	if (end - f->value_start > limit) {
		return RPC_FRAME_TOO_LARGE;
	}
	*start = f->buf + f->value_start;
	*len = end - f->value_start;
	f->head = end;
	f->scan = end;
	f->in_value = false;
	return RPC_FRAME_VALUE;
}

enum rpc_frame_status
rpc_framer_next(struct rpc_framer *f, size_t limit, const char **start, size_t *len)
{
	for (; f->scan < f->len; f->scan++) {
		char c = f->buf[f->scan];

		if (!f->in_value) {
			if (is_json_space(c)) {
				f->head = f->scan + 1;
				continue;
			}
			f->value_start = f->scan;
			f->in_value = true;
			f->depth = 0;
			f->in_string = false;
			f->escape = false;
			f->bare = false;
			if (c == '{' || c == '[') {
				f->depth = 1;
			} else if (c == '"') {
				f->in_string = true;
			} else if (c == '}' || c == ']' || c == ',' || c == ':') {
				return RPC_FRAME_MALFORMED;
			} else {
				f->bare = true;
			}
			continue;
		}
		if (f->in_string) {
			if (f->escape) {
				f->escape = false;
			} else if (c == '\\') {
				f->escape = true;
			} else if (c == '"') {
				f->in_string = false;
				if (f->depth == 0) {
					return framer_complete(f, f->scan + 1, limit, start, len);
				}
			}
			continue;
		}
		if (f->bare) {
			/* A number or literal ends at the first delimiter, which is
			 * not part of it. */
			if (is_json_space(c) || strchr("{}[],:\"", c) != NULL) {
				return framer_complete(f, f->scan, limit, start, len);
			}
			continue;
		}
		switch (c) {
		case '"':
			f->in_string = true;
			break;
		case '{':
		case '[':
			f->depth++;
			break;
		case '}':
		case ']':
			/* Mismatched pairs ({]) still balance the depth; the parser
			 * rejects them. */
			if (--f->depth == 0) {
				return framer_complete(f, f->scan + 1, limit, start, len);
			}
			break;
		default:
			break;
		}
	}
	if (f->in_value && f->len - f->value_start > limit) {
		return RPC_FRAME_TOO_LARGE;
	}
	return RPC_FRAME_NEED_MORE;
}

/* ======================================================================
 * Connections
 * ====================================================================== */

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
	struct rpc_slot_queue slots;
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
	struct brisk_poller *poller;
	uint64_t poll_period_us;
	uint64_t last_sleep_count; /* of the server's thread, at the poller's previous run */
	struct brisk_interrupt *interrupt;
	struct rpc_conn_list conns;
	uint32_t conn_count;
	bool accept_error_logged;
	bool listening;
};

static struct rpc_server g_server = {
	.listen_fd = -1, .epoll_fd = -1, .lock_fd = -1,
	.conns = TAILQ_HEAD_INITIALIZER(g_server.conns),
};

/* epoll data of the listening socket (client entries carry their conn). */
static char g_listen_tag;

static void conn_close(struct rpc_conn *conn);
static void conn_send(struct rpc_conn *conn);

void
rpc_conn_get(struct rpc_conn *conn)
{
	conn->refs++;
}

void
rpc_conn_put(struct rpc_conn *conn)
{
	if (conn->refs == 0) {
		BRISK_ERRLOG("internal error: RPC connection reference underflow\n");
		return;
	}
	if (--conn->refs > 0) {
		return;
	}
	/* Last reference: the socket is closed and no request is outstanding. */
	rpc_framer_fini(&conn->in);
	free(conn->out);
	free(conn);
}

struct rpc_slot_queue *
rpc_conn_slots(struct rpc_conn *conn)
{
	return &conn->slots;
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

/* Sets the epoll interest to what the connection needs now: input unless
 * the client has finished sending or is not reading its responses, output
 * while responses wait. */
static void
conn_update_interest(struct rpc_conn *conn)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (conn->fd < 0) {
		return;
	}
	if (!conn->read_eof && conn_out_pending(conn) < RPC_SEND_HIGH_WATER) {
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

static int
conn_append_output(struct rpc_conn *conn, const char *data, size_t len)
{
	if (conn->out_off > 0 && conn->out_off == conn->out_len) {
		conn->out_off = conn->out_len = 0;
	}
	if (conn->out_cap - conn->out_len < len + 1) {
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
		while (cap - conn->out_len < len + 1) {
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
	/* A newline after each response helps line-oriented clients (socat,
	 * nc); JSON parsers skip it as whitespace. */
	conn->out[conn->out_len + len] = '\n';
	conn->out_len += len + 1;
	return 0;
}

static void
conn_append_response(struct rpc_conn *conn, const json_t *response)
{
	char *text = json_dumps(response, JSON_COMPACT);

	if (text == NULL || conn_append_output(conn, text, strlen(text)) != 0) {
		BRISK_ERRLOG("RPC: out of memory queueing a response; closing the client\n");
		free(text);
		conn_close(conn);
		return;
	}
	free(text);
}

void
rpc_conn_flush_slots(struct rpc_conn *conn)
{
	struct rpc_slot *slot;

	rpc_conn_get(conn); /* the last slot's reference may be the last one */
	while ((slot = TAILQ_FIRST(&conn->slots)) != NULL && slot->pending == 0) {
		TAILQ_REMOVE(&conn->slots, slot, link);
		if (conn->fd >= 0 && slot->response != NULL) {
			conn_append_response(conn, slot->response);
		} else if (conn->fd < 0 && slot->response != NULL) {
			BRISK_DEBUGLOG(rpc, "RPC: client gone; response dropped\n");
		}
		rpc_slot_free(slot);
		rpc_conn_put(conn);
	}
	if (conn->fd >= 0) {
		conn_send(conn);
	}
	rpc_conn_put(conn);
}

static void
conn_send(struct rpc_conn *conn)
{
	while (conn->fd >= 0 && conn_out_pending(conn) > 0) {
		ssize_t n = send(conn->fd, conn->out + conn->out_off, conn_out_pending(conn),
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			conn->out_off += (size_t)n;
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
	conn_update_interest(conn);
	conn_close_if_finished(conn);
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
		/* One non-blocking attempt: a client that sent garbage does not get
		 * to hold the server's buffer hostage. */
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
	rpc_conn_put(conn); /* the socket's reference */
}

/* Handles every complete value buffered on conn. */
static void
conn_process_input(struct rpc_conn *conn)
{
	const char *text;
	size_t len;
	char msg[128];

	while (conn->fd >= 0) {
		switch (rpc_framer_next(&conn->in, RPC_MAX_REQUEST_SIZE, &text, &len)) {
		case RPC_FRAME_VALUE:
			rpc_conn_handle_value(conn, text, len);
			break;
		case RPC_FRAME_NEED_MORE:
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

static void
conn_read(struct rpc_conn *conn)
{
	while (conn->fd >= 0 && !conn->read_eof &&
	       conn_out_pending(conn) < RPC_SEND_HIGH_WATER) {
		size_t avail;
		char *dst = rpc_framer_reserve(&conn->in, RPC_READ_CHUNK, &avail);
		ssize_t n;

		if (dst == NULL) {
			rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
					     "out of memory reading the request");
			return;
		}
		n = recv(conn->fd, dst, avail, MSG_DONTWAIT);
		if (n > 0) {
			rpc_framer_commit(&conn->in, (size_t)n);
			conn_process_input(conn);
			continue;
		}
		if (n == 0) {
			/* The client finished sending. Answers to its complete
			 * requests still go out (clients like `nc -N` wait for them);
			 * a partial request is dropped. */
			conn->read_eof = true;
			if (rpc_framer_pending(&conn->in) > 0) {
				BRISK_DEBUGLOG(rpc, "RPC: client left mid-request (%zu bytes dropped)\n",
					       rpc_framer_pending(&conn->in));
			}
			break;
		}
		if (errno == EINTR) {
			continue;
		}
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			BRISK_DEBUGLOG(rpc, "RPC: recv failed (%s); closing the client\n", strerror(errno));
			conn_close(conn);
			return;
		}
		break;
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

static void
server_accept(void)
{
	for (;;) {
		struct rpc_conn *conn;
		struct epoll_event ev;
		int fd = accept4(g_server.listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK && !g_server.accept_error_logged) {
				/* Out of fds, typically: logged once, retried on
				 * every poll until it clears. */
				BRISK_ERRLOG("RPC: accept failed: %s\n", strerror(errno));
				g_server.accept_error_logged = true;
			}
			return;
		}
		g_server.accept_error_logged = false;
		if (g_server.conn_count >= RPC_MAX_CONNECTIONS) {
			BRISK_WARNLOG("RPC: too many clients (%u); refusing one\n", g_server.conn_count);
			close(fd);
			continue;
		}
		conn = calloc(1, sizeof(*conn));
		if (conn == NULL) {
			BRISK_ERRLOG("RPC: out of memory accepting a client\n");
			close(fd);
			continue;
		}
		conn->fd = fd;
		conn->refs = 1; /* the socket's */
		conn->events = EPOLLIN;
		rpc_framer_init(&conn->in);
		TAILQ_INIT(&conn->slots);
		ev.events = EPOLLIN;
		ev.data.ptr = conn;
		if (epoll_ctl(g_server.epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			BRISK_ERRLOG("RPC: epoll_ctl failed for a new client: %s\n", strerror(errno));
			close(fd);
			free(conn);
			continue;
		}
		TAILQ_INSERT_TAIL(&g_server.conns, conn, link);
		g_server.conn_count++;
		BRISK_DEBUGLOG(rpc, "RPC: client connected (%u)\n", g_server.conn_count);
	}
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
				if (g_server.listen_fd >= 0) {
					server_accept();
				}
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

static int server_poller(void *ctx);

static int
server_register_poller(uint64_t period_us)
{
	struct brisk_poller *poller = brisk_poller_register_named(server_poller, NULL, period_us,
								  "rpc_server");

	if (poller == NULL) {
		return -ENOMEM;
	}
	if (g_server.poller != NULL) {
		brisk_poller_unregister(&g_server.poller);
	}
	g_server.poller = poller;
	g_server.poll_period_us = period_us;
	return 0;
}

/* Fast period unless the thread has slept since the previous run (a thread
 * that never sleeps, e.g. in poll mode or polled by hand in tests, always
 * runs the fast period). */
static void
server_adapt_poll_period(void)
{
	struct brisk_thread_stats stats;
	uint64_t want = RPC_POLL_PERIOD_US;

	if (brisk_thread_get_stats(&stats) == 0) {
		if (stats.sleep_count != g_server.last_sleep_count) {
			want = RPC_IDLE_POLL_PERIOD_US;
		}
		g_server.last_sleep_count = stats.sleep_count;
	}
	if (want != g_server.poll_period_us && server_register_poller(want) != 0) {
		/* Keep the current poller: a wrong period is slower or costlier,
		 * never incorrect. */
		BRISK_DEBUGLOG(rpc, "RPC: cannot change the poller period\n");
	}
}

static int
server_poller(void *ctx)
{
	bool busy = server_poll();

	if (g_server.listening) {
		server_adapt_poll_period();
	}
	return busy ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

static int
server_interrupt(void *ctx)
{
	return server_poll() ? 1 : 0;
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
	if (g_server.poller != NULL) {
		brisk_poller_unregister(&g_server.poller);
	}
	g_server.poll_period_us = 0;
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
}

int
brisk_rpc_listen(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct epoll_event ev;
	int rc;

	if (g_server.listening) {
		BRISK_ERRLOG("RPC: already listening on %s\n", g_server.path);
		return -EBUSY;
	}
	if (path == NULL || path[0] == '\0') {
		BRISK_ERRLOG("RPC: empty socket path\n");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		BRISK_ERRLOG("RPC: socket path '%s' is longer than %zu bytes\n", path,
			     sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	g_server.thread = brisk_get_thread();
	if (g_server.thread == NULL) {
		BRISK_ERRLOG("RPC: brisk_rpc_listen must be called on a brisk_thread\n");
		return -EINVAL;
	}
	snprintf(g_server.path, sizeof(g_server.path), "%s", path);
	snprintf(g_server.lock_path, sizeof(g_server.lock_path), "%s.lock", path);

	/* The lock settles races between two starting processes; the connect
	 * probe catches listeners that do not use the lock. */
	g_server.lock_fd = open(g_server.lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (g_server.lock_fd < 0) {
		rc = -errno;
		BRISK_ERRLOG("RPC: cannot open lock file %s: %s\n", g_server.lock_path, strerror(errno));
		return rc;
	}
	if (flock(g_server.lock_fd, LOCK_EX | LOCK_NB) != 0) {
		BRISK_ERRLOG("RPC: %s is in use by another process\n", path);
		server_release();
		return -EADDRINUSE;
	}
	rc = claim_socket_path(path);
	if (rc != 0) {
		goto fail_locked;
	}

	g_server.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g_server.listen_fd < 0) {
		rc = -errno;
		goto fail_locked;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (bind(g_server.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(g_server.listen_fd, RPC_LISTEN_BACKLOG) != 0) {
		rc = -errno;
		BRISK_ERRLOG("RPC: cannot listen on %s: %s\n", path, strerror(errno));
		goto fail_locked;
	}
	g_server.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (g_server.epoll_fd < 0) {
		rc = -errno;
		goto fail_bound;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &g_listen_tag;
	if (epoll_ctl(g_server.epoll_fd, EPOLL_CTL_ADD, g_server.listen_fd, &ev) != 0) {
		rc = -errno;
		goto fail_bound;
	}
	g_server.interrupt = brisk_interrupt_register(g_server.epoll_fd, server_interrupt, NULL,
						      "rpc_server");
	if (g_server.interrupt == NULL) {
		rc = -ENOMEM;
		BRISK_ERRLOG("RPC: cannot register the server's wake-up fd\n");
		goto fail_bound;
	}
	{
		struct brisk_thread_stats stats = {0};

		brisk_thread_get_stats(&stats);
		g_server.last_sleep_count = stats.sleep_count;
	}
	rc = server_register_poller(RPC_POLL_PERIOD_US);
	if (rc != 0) {
		goto fail_bound;
	}
	g_server.listening = true;
	BRISK_NOTICELOG("RPC server listening on %s\n", path);
	return 0;

fail_bound:
	unlink(path);
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
	while ((conn = TAILQ_FIRST(&g_server.conns)) != NULL) {
		conn_close(conn);
	}
	unlink(g_server.path);
	unlink(g_server.lock_path);
	server_release();
	g_server.listening = false;
	BRISK_NOTICELOG("RPC server on %s closed\n", g_server.path);
}
