/*
 * An NVMe/TCP host connection: non-blocking TCP connect to traddr:trsvcid
 * (IPv4 or IPv6) and the ICReq/ICResp exchange as steps polled by the
 * caller (nothing here waits for the controller), whole-PDU sends, and a
 * receive loop that reads what the socket has without blocking and hands
 * each complete, checked PDU to the qpair. A bad PDU, a closed socket or a
 * timeout marks the connection dead; the caller fails its controller.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brisk/ticks.h>

#include "nvme_tcp.h"

static int conn_fail(struct nvme_tcp_conn *c, int rc, const char *why)
{
	if (!c->dead) {
		BRISK_ERRLOG("nvme tcp %s: connection failed: %s\n", c->name, why);
	}
	c->dead = true;
	return rc;
}

static int64_t us_left(uint64_t deadline)
{
	uint64_t now = brisk_get_ticks();

	return now >= deadline ? 0 : (int64_t)((deadline - now) * 1000000 / brisk_get_ticks_hz());
}

static int conn_poll(struct nvme_tcp_conn *c, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = c->fd, .events = events };
	int64_t left = us_left(deadline);

	if (left == 0) {
		return -ETIMEDOUT;
	}
	return poll(&pfd, 1, (int)((left + 999) / 1000)) < 0 && errno != EINTR ? -errno : 0;
}

static int conn_socket(struct nvme_tcp_conn *c, const struct brisk_nvme_transport_id *trid)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	int one = 1, rc;

	hints.ai_family = trid->adrfam == BRISK_NVMF_ADRFAM_IPV6 ? AF_INET6 : AF_INET;
	rc = getaddrinfo(trid->traddr, trid->trsvcid[0] ? trid->trsvcid : "4420", &hints, &ai);
	if (rc != 0) {
		BRISK_ERRLOG("nvme tcp: traddr '%s' trsvcid '%s': %s\n", trid->traddr, trid->trsvcid,
			     gai_strerror(rc));
		return -EINVAL;
	}
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		freeaddrinfo(ai);
		return -errno;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rc = connect(c->fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS ? 0 : -errno;
	freeaddrinfo(ai);
	return rc;
}

/* OPEN_CONNECTING: once the socket is writable the TCP connect is done
 * (SO_ERROR says how); ICReq goes out (128 bytes fit a new socket). */
static int conn_open_connecting(struct nvme_tcp_conn *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };
	struct brisk_nvme_tcp_ic_req req;
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&pfd, 1, 0) <= 0) {
		return -EAGAIN;
	}
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
		err = errno;
	}
	if (err != 0) {
		BRISK_ERRLOG("nvme tcp %s: cannot connect: %s\n", c->name, strerror(err));
		c->dead = true;
		return -err;
	}
	nvme_tcp_ic_req_build(&req, c->hdgst, c->ddgst);
	c->open_state = NVME_TCP_OPEN_IC_WAIT;
	return nvme_tcp_conn_send(c, &req, sizeof(req)) == 0 ? -EAGAIN : -ENOTCONN;
}

/* OPEN_IC_WAIT: ICResp arrives in pieces into rx; nothing else may come
 * before it (the controller answers only ICReq so far). */
static int conn_open_ic_wait(struct nvme_tcp_conn *c)
{
	struct brisk_nvme_tcp_ic_resp resp;
	const char *why = NULL;
	ssize_t n = recv(c->fd, c->rx + c->rx_len, sizeof(resp) - c->rx_len, MSG_DONTWAIT);

	if (n == 0) {
		return conn_fail(c, -ECONNRESET, "the controller closed the connection before ICResp");
	}
	if (n < 0) {
		return errno == EAGAIN || errno == EINTR ? -EAGAIN
							 : conn_fail(c, -errno, "receive failed before ICResp");
	}
	c->rx_len += (uint32_t)n;
	if (c->rx_len < sizeof(resp)) {
		return -EAGAIN;
	}
	memcpy(&resp, c->rx, sizeof(resp));
	c->rx_len = 0;
	if (nvme_tcp_ic_resp_check(c, &resp, &why) != 0) {
		return conn_fail(c, -EPROTO, why);
	}
	c->open_state = NVME_TCP_OPEN_DONE;
	BRISK_DEBUGLOG(nvme, "nvme tcp %s: connected, header digest %s, data digest %s, "
		       "MAXH2CDATA %u\n", c->name, c->hdgst ? "on" : "off", c->ddgst ? "on" : "off",
		       c->maxh2cdata);
	return 0;
}

int nvme_tcp_conn_open_start(struct nvme_tcp_conn *c, const struct brisk_nvme_transport_id *trid, bool hdgst,
			     bool ddgst)
{
	int rc;

	nvme_tcp_conn_close(c); /* a reconnect reuses the struct */
	c->dead = false;
	c->rx_len = 0;
	c->hdgst = hdgst;
	c->ddgst = ddgst;
	c->open_state = NVME_TCP_OPEN_CONNECTING;
	c->rx_cap = NVME_MAX_XFER_SIZE + 4096;
	c->tx_cap = NVME_TCP_HDR_MAX + NVME_TCP_MAX_H2C_CHUNK + 2 * BRISK_NVME_TCP_DIGEST_LEN;
	c->rx = malloc(c->rx_cap);
	c->tx = malloc(c->tx_cap);
	if (c->rx == NULL || c->tx == NULL) {
		c->dead = true;
		return -ENOMEM;
	}
	rc = conn_socket(c, trid);
	if (rc != 0) {
		BRISK_ERRLOG("nvme tcp %s: cannot connect: %s\n", c->name, strerror(-rc));
		c->dead = true;
	}
	return rc;
}

int nvme_tcp_conn_open_poll(struct nvme_tcp_conn *c)
{
	if (c->dead) {
		return -ENOTCONN;
	}
	switch (c->open_state) {
	case NVME_TCP_OPEN_CONNECTING:
		return conn_open_connecting(c);
	case NVME_TCP_OPEN_IC_WAIT:
		return conn_open_ic_wait(c);
	default:
		return 0;
	}
}

void nvme_tcp_conn_close(struct nvme_tcp_conn *c)
{
	if (c->fd >= 0) {
		close(c->fd);
	}
	c->fd = -1;
	c->dead = true;
	free(c->rx);
	free(c->tx);
	c->rx = NULL;
	c->tx = NULL;
}

int nvme_tcp_conn_send(struct nvme_tcp_conn *c, const void *buf, uint32_t len)
{
	uint64_t deadline = brisk_get_ticks() + nvme_ticks_from_us(NVME_TCP_TIMEOUT_US);
	uint32_t sent = 0;

	if (c->dead) {
		return -ENOTCONN;
	}
	while (sent < len) {
		ssize_t n = send(c->fd, (const uint8_t *)buf + sent, len - sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n >= 0) {
			sent += (uint32_t)n;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (conn_poll(c, POLLOUT, deadline) != 0) {
				return conn_fail(c, -ETIMEDOUT, "the socket stayed full");
			}
		} else {
			return conn_fail(c, -errno, "send failed");
		}
	}
	return 0;
}

/* Handles every whole PDU at the start of rx; keeps a partial one. */
static int conn_parse(struct nvme_tcp_conn *c, nvme_tcp_pdu_fn handle, void *arg)
{
	uint32_t off = 0;
	int rc = 0;

	while (rc == 0 && c->rx_len - off >= sizeof(struct brisk_nvme_tcp_common_hdr)) {
		const struct brisk_nvme_tcp_common_hdr *ch = (const void *)(c->rx + off);
		const uint8_t *data;
		uint32_t dlen;
		const char *why;

		if (nvme_tcp_ch_check(c, ch, &why) != 0) {
			return conn_fail(c, -EPROTO, why);
		}
		if (c->rx_len - off < ch->plen) {
			break;
		}
		if (nvme_tcp_pdu_check(c, c->rx + off, &data, &dlen, &why) != 0) {
			return conn_fail(c, -EPROTO, why);
		}
		rc = handle(arg, c->rx + off, data, dlen);
		off += ch->plen;
		if (off % 8 != 0) {
			/* Headers are read as structs: keep the next one aligned. */
			memmove(c->rx, c->rx + off, c->rx_len - off);
			c->rx_len -= off;
			off = 0;
		}
	}
	memmove(c->rx, c->rx + off, c->rx_len - off);
	c->rx_len -= off;
	return rc != 0 ? conn_fail(c, rc, "a PDU did not fit the command it names") : 0;
}

int nvme_tcp_conn_recv(struct nvme_tcp_conn *c, nvme_tcp_pdu_fn handle, void *arg)
{
	for (;;) {
		uint32_t room = c->rx_cap - c->rx_len;
		ssize_t n;
		int rc;

		if (c->dead) {
			return -ENOTCONN;
		}
		n = recv(c->fd, c->rx + c->rx_len, room, MSG_DONTWAIT);
		if (n == 0) {
			return conn_fail(c, -ECONNRESET, "the controller closed the connection");
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				return 0;
			}
			return conn_fail(c, -errno, "receive failed");
		}
		c->rx_len += (uint32_t)n;
		rc = conn_parse(c, handle, arg);
		if (rc != 0 || (uint32_t)n < room) {
			return rc;
		}
	}
}

void nvme_tcp_conn_wait(struct nvme_tcp_conn *c, uint64_t timeout_us)
{
	struct pollfd pfd = { .fd = c->fd, .events = c->open_state == NVME_TCP_OPEN_CONNECTING ? POLLOUT : POLLIN };

	if (!c->dead) {
		poll(&pfd, 1, (int)((timeout_us + 999) / 1000));
	}
}
