/*
 * An iSCSI connection's socket: created from an accepted fd (buffers and
 * tasks allocated once), the receive state machine (BHS, AHS, header
 * digest, data segment with padding, data digest; every header checked
 * before its data is read), the send queue written with sendmsg, and the
 * end of a connection. A malformed PDU ends its connection only.
 *
 * A connection logs in on the app thread (login.c), then moves to a poll
 * group thread for full feature phase; discovery sessions stay on the app
 * thread, which owns the configuration SendTargets reports.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brisk/crc32c.h>
#include <brisk/log.h>
#include <brisk/string.h>
#include <brisk/ticks.h>

#include "iscsi_internal.h"

#define CTRL_PDUS 16
#define CTRL_DATA_LEN 8192
#define RX_PDUS_PER_POLL 32
#define SEND_MAX_IOV 64
#define OUT_STALL_SEC 30u
#define LOGIN_TIMEOUT_SEC 30u

static int conn_on_fd(void *ctx)
{
	struct iscsi_conn *c = ctx;

	if (c->pg != NULL) {
		iscsi_poll_group_kick(c->pg);
	} else if (iscsi_conn_poll(c) && c->state == ISCSI_CONN_DEAD) {
		/* Login connections are freed by the login poller's pass. */
	}
	return 0;
}

static void addr_str(int fd, bool peer, char *host, size_t hlen, char *port, size_t plen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rc = peer ? getpeername(fd, (struct sockaddr *)&ss, &len) : getsockname(fd, (struct sockaddr *)&ss, &len);

	brisk_strlcpy(host, "?", hlen);
	brisk_strlcpy(port, "?", plen);
	if (rc == 0) {
		getnameinfo((struct sockaddr *)&ss, len, host, hlen, port, plen, NI_NUMERICHOST | NI_NUMERICSERV);
	}
}

static int conn_alloc(struct iscsi_conn *c)
{
	uint32_t rx = g_iscsi.opts.max_recv_data_segment_length;
	int rc;

	c->num_tasks = g_iscsi.opts.max_queue_depth + 8; /* + immediate commands and TMFs */
	c->rx_buf = malloc((rx > CTRL_DATA_LEN ? rx : CTRL_DATA_LEN) + ISCSI_DIGEST_LEN);
	c->text_buf = malloc(ISCSI_TEXT_BUF);
	rc = brisk_readahead_init(&c->rx_ra, ISCSI_RX_AHEAD_SIZE);
	c->ctrl_pdus = calloc(CTRL_PDUS, sizeof(*c->ctrl_pdus));
	c->ctrl_data = malloc((size_t)CTRL_PDUS * CTRL_DATA_LEN);
	c->tasks = calloc(c->num_tasks, sizeof(*c->tasks));
	/* Untouched pages of the write buffers cost no memory. */
	if (c->tasks != NULL) {
		c->tasks[0].buf = aligned_alloc(4096, (size_t)c->num_tasks * ISCSI_TASK_BUF);
	}
	if (c->rx_buf == NULL || c->text_buf == NULL || rc != 0 || c->ctrl_pdus == NULL || c->ctrl_data == NULL ||
	    c->tasks == NULL || c->tasks[0].buf == NULL) {
		return -ENOMEM;
	}
	c->num_ctrl_pdus = CTRL_PDUS;
	c->ctrl_data_len = CTRL_DATA_LEN;
	TAILQ_INIT(&c->free_tasks);
	TAILQ_INIT(&c->active);
	for (uint32_t i = 0; i < c->num_tasks; i++) {
		c->tasks[i].buf = c->tasks[0].buf + (size_t)i * ISCSI_TASK_BUF;
		c->tasks[i].conn = c;
		c->tasks[i].ttt = i;
		TAILQ_INSERT_TAIL(&c->free_tasks, &c->tasks[i], link);
	}
	return 0;
}

static void conn_release(struct iscsi_conn *c)
{
	if (c->tasks != NULL) {
		free(c->tasks[0].buf);
	}
	free(c->tasks);
	free(c->rx_buf);
	brisk_readahead_fini(&c->rx_ra);
	free(c->text_buf);
	free(c->ctrl_pdus);
	free(c->ctrl_data);
	free(c->text_rsp);
	free(c);
}

void iscsi_conn_accept(int fd, struct iscsi_portal *portal)
{
	struct iscsi_conn *c = calloc(1, sizeof(*c));

	if (c == NULL || conn_alloc(c) != 0) {
		BRISK_ERRLOG("iscsi: no memory for a new connection\n");
		if (c != NULL) {
			conn_release(c);
		}
		close(fd);
		return;
	}
	c->fd = fd;
	c->portal_group_tag = portal->pg->tag;
	c->id = g_iscsi.next_conn_id++;
	addr_str(fd, true, c->peer_host, sizeof(c->peer_host), c->peer_port, sizeof(c->peer_port));
	addr_str(fd, false, c->local_host, sizeof(c->local_host), c->local_port, sizeof(c->local_port));
	TAILQ_INIT(&c->out);
	iscsi_params_defaults(&c->params);
	c->last_rx_tick = brisk_get_ticks();
	if (!g_iscsi.poll_mode) {
		c->intr = brisk_interrupt_register(fd, conn_on_fd, c, "iscsi_login_conn");
		if (c->intr == NULL) {
			close(fd);
			conn_release(c);
			return;
		}
	}
	__atomic_fetch_add(&g_iscsi.num_conns, 1, __ATOMIC_SEQ_CST);
	TAILQ_INSERT_TAIL(&g_iscsi.login_conns, c, link);
	BRISK_INFOLOG("iscsi: connection %u from %s:%s\n", c->id, c->peer_host, c->peer_port);
	iscsi_conn_poll(c);
}

void iscsi_conn_close(struct iscsi_conn *c)
{
	if (c->state == ISCSI_CONN_DEAD) {
		return;
	}
	BRISK_INFOLOG("iscsi: connection %u (%s:%s) closed\n", c->id, c->peer_host, c->peer_port);
	c->state = ISCSI_CONN_DEAD;
	brisk_interrupt_unregister(&c->intr);
	TAILQ_INIT(&c->out);  /* unsent PDUs: their tasks are dropped next */
	iscsi_conn_drop_tasks(c);
	close(c->fd);
	c->fd = -1;
	if (c->pg != NULL) {
		iscsi_poll_group_kick(c->pg);
	}
}

/* Once nothing is in flight (outstanding == 0), on the owning thread. */
void iscsi_conn_free(struct iscsi_conn *c)
{
	if (c->channels && c->sess != NULL && c->sess->node != NULL) {
		brisk_scsi_dev_free_io_channels(c->sess->node->dev);
	}
	if (c->sess != NULL) {
		iscsi_session_conn_gone(c);
	}
	__atomic_fetch_sub(&g_iscsi.num_conns, 1, __ATOMIC_SEQ_CST);
	conn_release(c);
}

struct iscsi_out_pdu *iscsi_conn_ctrl_pdu(struct iscsi_conn *c)
{
	for (uint32_t i = 0; i < c->num_ctrl_pdus; i++) {
		struct iscsi_out_pdu *p = &c->ctrl_pdus[i];

		if (!p->in_use) {
			memset(p->hdr, 0, sizeof(p->hdr));
			p->in_use = true;
			p->data = c->ctrl_data + (size_t)i * c->ctrl_data_len;
			p->data_len = 0;
			p->sent = NULL;
			p->ctx = NULL;
			return p;
		}
	}
	return NULL;
}

void iscsi_conn_set_window(struct iscsi_conn *c, uint8_t *hdr)
{
	if (c->sess != NULL) {
		iscsi_put32(hdr, ISCSI_BHS_EXPCMDSN, c->sess->exp_cmdsn);
		iscsi_put32(hdr, ISCSI_BHS_MAXCMDSN, c->sess->max_cmdsn);
	}
}

/* Sets the data length and digests; statsn: gives it the next StatSN. */
void iscsi_conn_seal(struct iscsi_conn *c, struct iscsi_out_pdu *pdu, bool statsn)
{
	iscsi_set_dsl(pdu->hdr, pdu->data_len);
	if (statsn) {
		iscsi_put32(pdu->hdr, ISCSI_BHS_STATSN, c->statsn++);
	}
	if (c->params.header_digest) {
		uint32_t crc = iscsi_digest(pdu->hdr, ISCSI_BHS_LEN);

		memcpy(pdu->hdr + ISCSI_BHS_LEN, &crc, 4);  /* little-endian on the wire, as RFC 7143 13.1 readers do */
	}
	if (c->params.data_digest && pdu->data_len > 0) {
		uint32_t crc = iscsi_digest_data(pdu->data, pdu->data_len);

		memcpy(pdu->ddgst, &crc, 4);
	}
}

void iscsi_conn_queue(struct iscsi_conn *c, struct iscsi_out_pdu *pdu, bool statsn)
{
	iscsi_conn_seal(c, pdu, statsn);
	TAILQ_INSERT_TAIL(&c->out, pdu, link);
}

static uint32_t pdu_iov(struct iscsi_conn *c, struct iscsi_out_pdu *p, struct iovec *iov, uint32_t *total)
{
	static uint8_t zeros[4];
	uint32_t n = 0, pad = iscsi_pad4(p->data_len) - p->data_len;

	iov[n++] = (struct iovec) {p->hdr, ISCSI_BHS_LEN + (c->params.header_digest ? 4 : 0)};
	if (p->data_len > 0) {
		iov[n++] = (struct iovec) {p->data, p->data_len};
		if (pad > 0) {
			iov[n++] = (struct iovec) {zeros, pad};
		}
		if (c->params.data_digest) {
			iov[n++] = (struct iovec) {p->ddgst, 4};
		}
	}
	*total = 0;
	for (uint32_t i = 0; i < n; i++) {
		*total += iov[i].iov_len;
	}
	return n;
}

/* Skips off bytes of iov (the part of the head PDU already sent). */
static uint32_t iov_skip(struct iovec *iov, uint32_t n, uint32_t off)
{
	uint32_t i = 0;

	while (i < n && off >= iov[i].iov_len) {
		off -= iov[i].iov_len;
		i++;
	}
	if (i < n) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + off;
		iov[i].iov_len -= off;
	}
	memmove(iov, iov + i, (n - i) * sizeof(*iov));
	return n - i;
}

/* A PDU is on the wire: its owner may send it again (next Data-In). */
static void pdu_done(struct iscsi_conn *c, struct iscsi_out_pdu *p)
{
	TAILQ_REMOVE(&c->out, p, link);
	c->out_off = 0;
	if (p->sent == NULL) {
		p->in_use = false;
		return;
	}
	if (p->sent(p)) {
		TAILQ_INSERT_HEAD(&c->out, p, link);
	}
}

static int flush_once(struct iscsi_conn *c)
{
	struct iovec iov[SEND_MAX_IOV];
	uint32_t n = 0, total, first_len = 0;
	struct iscsi_out_pdu *p;
	struct msghdr msg = {0};
	ssize_t rc;

	TAILQ_FOREACH(p, &c->out, link) {
		if (n + 4 > SEND_MAX_IOV) {
			break;
		}
		n += pdu_iov(c, p, iov + n, &total);
		if (p == TAILQ_FIRST(&c->out)) {
			first_len = total;
		}
	}
	(void)first_len;
	n = iov_skip(iov, n, c->out_off);
	msg.msg_iov = iov;
	msg.msg_iovlen = n;
	rc = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (rc < 0) {
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	}
	c->out_off += (uint32_t)rc;
	while ((p = TAILQ_FIRST(&c->out)) != NULL) {
		pdu_iov(c, p, iov, &total);
		if (c->out_off < total) {
			break;
		}
		c->out_off -= total;
		{
			uint32_t keep = c->out_off;

			pdu_done(c, p);
			c->out_off = keep;
		}
	}
	return (int)rc;
}

int iscsi_conn_flush(struct iscsi_conn *c)
{
	int sent = 0, rc;

	while (!TAILQ_EMPTY(&c->out)) {
		rc = flush_once(c);
		if (rc < 0) {
			return rc;
		}
		if (rc == 0) {
			break;
		}
		sent += rc;
	}
	return sent;
}

/* ---- receive ---- */

static void rx_expect(struct iscsi_conn *c, enum iscsi_rx_state st, uint8_t *dst, uint32_t len)
{
	c->rx_state = st;
	c->rx_dst = dst;
	c->rx_need = len;
	c->rx_got = 0;
}

static int rx_header_done(struct iscsi_conn *c)
{
	struct iscsi_pdu_limits lim = {
		.full_feature = c->state != ISCSI_CONN_LOGIN,
		.discovery = c->sess != NULL && c->sess->discovery,
		.max_recv_dsl = c->params.max_recv_dsl,
	};
	char err[160];
	int rc = iscsi_pdu_check(c->rx_bhs, &lim, err, sizeof(err));

	if (rc < 0) {
		BRISK_ERRLOG("iscsi: connection %u (%s): %s: closing\n", c->id, c->peer_host, err);
		return rc;
	}
	c->rx_data_len = iscsi_dsl(c->rx_bhs);
	if (rc > 0) {
		BRISK_WARNLOG("iscsi: connection %u (%s): %s: rejected\n", c->id, c->peer_host, err);
		c->rx_bhs[0] |= 0x80;  /* marks "reject after the data is skipped" (bit 7 is unused by initiators) */
		c->rx_bhs[2] = (uint8_t)rc;
	}
	if (c->rx_bhs[ISCSI_BHS_AHSLEN] > 0) {
		rx_expect(c, ISCSI_RX_AHS, c->rx_ahs, c->rx_bhs[ISCSI_BHS_AHSLEN] * 4u);
	} else if (c->params.header_digest) {
		rx_expect(c, ISCSI_RX_HDGST, c->rx_dig, 4);
	} else {
		rx_expect(c, ISCSI_RX_DATA, c->rx_buf, iscsi_pad4(c->rx_data_len));
	}
	return 0;
}

static int rx_dispatch(struct iscsi_conn *c)
{
	c->rx_data = c->rx_buf;
	c->last_rx_tick = brisk_get_ticks();
	c->nop_outstanding = false;
	if (c->rx_bhs[0] & 0x80) {
		uint8_t reason = c->rx_bhs[2];

		c->rx_bhs[0] &= 0x7f;
		iscsi_send_reject(c, reason, c->rx_bhs);
		return 0;
	}
	if (c->state == ISCSI_CONN_LOGIN) {
		return iscsi_login_pdu(c);
	}
	return iscsi_ffp_pdu(c);
}

static int rx_step_done(struct iscsi_conn *c)
{
	uint32_t crc;

	switch (c->rx_state) {
	case ISCSI_RX_BHS:
		return rx_header_done(c);
	case ISCSI_RX_AHS:
		if (c->params.header_digest) {
			rx_expect(c, ISCSI_RX_HDGST, c->rx_dig, 4);
		} else {
			rx_expect(c, ISCSI_RX_DATA, c->rx_buf, iscsi_pad4(c->rx_data_len));
		}
		return 0;
	case ISCSI_RX_HDGST:
		crc = brisk_crc32c_update(c->rx_bhs, ISCSI_BHS_LEN, ~0u);
		crc = ~brisk_crc32c_update(c->rx_ahs, c->rx_bhs[ISCSI_BHS_AHSLEN] * 4u, crc);
		if (memcmp(&crc, c->rx_dig, 4) != 0) {
			/* RFC 7143 7.8: a header digest error at ERL 0 ends the connection. */
			BRISK_ERRLOG("iscsi: connection %u (%s): header digest error: closing\n", c->id, c->peer_host);
			return -EBADMSG;
		}
		rx_expect(c, ISCSI_RX_DATA, c->rx_buf, iscsi_pad4(c->rx_data_len));
		return 0;
	case ISCSI_RX_DATA:
		if (c->params.data_digest && c->rx_data_len > 0) {
			rx_expect(c, ISCSI_RX_DDGST, c->rx_dig, 4);
			return 0;
		}
		break;
	case ISCSI_RX_DDGST:
		crc = iscsi_digest_data(c->rx_buf, c->rx_data_len);
		if (memcmp(&crc, c->rx_dig, 4) != 0) {
			BRISK_ERRLOG("iscsi: connection %u (%s): data digest error: closing\n", c->id, c->peer_host);
			return -EBADMSG;
		}
		break;
	}
	rx_expect(c, ISCSI_RX_BHS, c->rx_bhs, ISCSI_BHS_LEN);
	return rx_dispatch(c);
}

bool iscsi_conn_rx_staged(const struct iscsi_conn *c) { return brisk_readahead_pending(&c->rx_ra); }

/* Fills the current part. Login and discovery connections are served when
 * their socket is readable, so they read exactly what they need: bytes read
 * ahead there could wait for an event that never comes. */
static ssize_t rx_fill(struct iscsi_conn *c)
{
	uint32_t direct_min = c->pg == NULL ? 0 : ISCSI_RX_DIRECT_MIN;
	ssize_t n = brisk_readahead_fill(&c->rx_ra, c->fd, c->rx_dst + c->rx_got, c->rx_need - c->rx_got, direct_min);

	if (n > 0) {
		c->rx_got += (uint32_t)n;
	}
	return n;
}

/* Reads and handles up to RX_PDUS_PER_POLL PDUs. >0 if anything came in,
 * 0 if nothing, <0 when the connection must end. */
static int conn_recv(struct iscsi_conn *c)
{
	int pdus = 0, got = 0, rc;

	if (c->rx_need == 0) {
		rx_expect(c, ISCSI_RX_BHS, c->rx_bhs, ISCSI_BHS_LEN);
	}
	while (pdus < RX_PDUS_PER_POLL && (c->state == ISCSI_CONN_LOGIN || c->state == ISCSI_CONN_FFP)) {
		if (c->rx_got < c->rx_need) {
			ssize_t n = rx_fill(c);

			if (n == 0) {
				return -ECONNRESET;
			}
			if (n < 0) {
				return errno == EAGAIN || errno == EWOULDBLOCK ? got : -errno;
			}
			got = 1;
			if (c->rx_got < c->rx_need) {
				continue;
			}
		}
		pdus += c->rx_state == ISCSI_RX_BHS ? 0 : 1;
		rc = rx_step_done(c);
		if (rc < 0) {
			return rc;
		}
	}
	return got;
}

static bool conn_out_stalled(struct iscsi_conn *c, int tx)
{
	uint64_t now;

	if (tx > 0 || TAILQ_EMPTY(&c->out)) {
		c->out_stall_tick = 0;
		return false;
	}
	now = brisk_get_ticks();
	if (c->out_stall_tick == 0) {
		c->out_stall_tick = now;
		return false;
	}
	return now - c->out_stall_tick > OUT_STALL_SEC * brisk_get_ticks_hz();
}

/* One pass: read, then write. true if anything moved. */
bool iscsi_conn_poll(struct iscsi_conn *c)
{
	int rx = 0, tx;

	if (c->state == ISCSI_CONN_DEAD) {
		return false;
	}
	if (c->sess != NULL && c->sess->dead && c->state == ISCSI_CONN_FFP) {
		iscsi_conn_close(c);
		return true;
	}
	if (c->state == ISCSI_CONN_LOGIN || c->state == ISCSI_CONN_FFP) {
		rx = conn_recv(c);
	}
	if (rx < 0) {
		iscsi_conn_close(c);
		return true;
	}
	tx = iscsi_conn_flush(c);
	if (tx < 0 || conn_out_stalled(c, tx) ||
	    (c->state == ISCSI_CONN_LOGGED_OUT && TAILQ_EMPTY(&c->out))) {
		iscsi_conn_close(c);
		return true;
	}
	return rx > 0 || tx > 0;
}

/* App thread: connections logging in and discovery sessions. */
void iscsi_conn_login_poll_all(void)
{
	struct iscsi_conn *c, *tmp;
	uint64_t hz = brisk_get_ticks_hz(), now = brisk_get_ticks();

	if (g_iscsi.poll_mode) {
		iscsi_portals_accept();
	}
	TAILQ_FOREACH_SAFE(c, &g_iscsi.login_conns, link, tmp) {
		iscsi_conn_poll(c);
		if (c->state == ISCSI_CONN_LOGIN && now - c->last_rx_tick > LOGIN_TIMEOUT_SEC * hz) {
			BRISK_ERRLOG("iscsi: connection %u (%s): login timed out\n", c->id, c->peer_host);
			iscsi_conn_close(c);
		}
		if (c->state == ISCSI_CONN_DEAD && c->outstanding == 0) {
			TAILQ_REMOVE(&g_iscsi.login_conns, c, link);
			iscsi_conn_free(c);
		}
	}
}
