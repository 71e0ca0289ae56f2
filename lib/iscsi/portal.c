/*
 * Portal groups and their listening sockets (IPv4 and IPv6 TCP). A portal
 * is "host:port"; its socket wakes the sleeping app thread when an
 * initiator connects (the login poller also accepts while the thread
 * polls). Accepted sockets log in on the app thread (conn.c, login.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "iscsi_internal.h"

#define LISTEN_BACKLOG 128

struct iscsi_portal_grp *iscsi_portal_grp_find(int tag)
{
	struct iscsi_portal_grp *pg;

	TAILQ_FOREACH(pg, &g_iscsi.pgs, link) {
		if (pg->tag == tag) {
			return pg;
		}
	}
	return NULL;
}

static int accept_all(struct iscsi_portal *p)
{
	int n = 0, fd, one = 1;

	while ((fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		iscsi_conn_accept(fd, p);
		n++;
	}
	return n;
}

static int portal_on_fd(void *ctx)
{
	return accept_all(ctx);
}

/* Poll mode: the login poller accepts (no fd wakeups then). */
void iscsi_portals_accept(void)
{
	struct iscsi_portal_grp *pg;
	struct iscsi_portal *p;

	TAILQ_FOREACH(pg, &g_iscsi.pgs, link) {
		TAILQ_FOREACH(p, &pg->portals, link) {
			accept_all(p);
		}
	}
}

static int sockaddr_make(const char *host, const char *port, struct sockaddr_storage *ss, socklen_t *len)
{
	uint32_t pn;

	memset(ss, 0, sizeof(*ss));
	if (brisk_parse_u32(port, 10, &pn) != 0 || pn == 0 || pn > 65535) {
		return -EINVAL;
	}
	if (strchr(host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (void *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(pn);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host, &s6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *s4 = (void *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(pn);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
}

static int portal_open(struct iscsi_portal *p)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, rc;

	if (sockaddr_make(p->host, p->port, &ss, &len) != 0) {
		return -EINVAL;
	}
	p->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0) {
		return -errno;
	}
	setsockopt(p->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) {
		setsockopt(p->fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(p->fd, (struct sockaddr *)&ss, len) != 0 || listen(p->fd, LISTEN_BACKLOG) != 0) {
		rc = -errno;
		close(p->fd);
		p->fd = -1;
		return rc;
	}
	if (!g_iscsi.poll_mode) {
		p->intr = brisk_interrupt_register(p->fd, portal_on_fd, p, "iscsi_portal");
		if (p->intr == NULL) {
			close(p->fd);
			p->fd = -1;
			return -ENOMEM;
		}
	}
	return 0;
}

static void portal_close(struct iscsi_portal *p)
{
	brisk_interrupt_unregister(&p->intr);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
}

static void pg_free(struct iscsi_portal_grp *pg)
{
	struct iscsi_portal *p;

	while ((p = TAILQ_FIRST(&pg->portals)) != NULL) {
		TAILQ_REMOVE(&pg->portals, p, link);
		portal_close(p);
		free(p);
	}
	free(pg);
}

static bool portal_in_use(const char *host, const char *port)
{
	struct iscsi_portal_grp *pg;
	struct iscsi_portal *p;

	TAILQ_FOREACH(pg, &g_iscsi.pgs, link) {
		TAILQ_FOREACH(p, &pg->portals, link) {
			if (strcmp(p->host, host) == 0 && strcmp(p->port, port) == 0) {
				return true;
			}
		}
	}
	return false;
}

static int pg_add_portal(struct iscsi_portal_grp *pg, const char *host, const char *port, char *err,
			 size_t errlen)
{
	struct iscsi_portal *p;
	int rc;

	if (strlen(host) >= ISCSI_HOST_MAX || strlen(port) >= ISCSI_PORT_MAX || portal_in_use(host, port)) {
		snprintf(err, errlen, "portal %s:%s is too long or already in a portal group", host, port);
		return -EEXIST;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		return -ENOMEM;
	}
	brisk_strlcpy(p->host, host, sizeof(p->host));
	brisk_strlcpy(p->port, port, sizeof(p->port));
	p->pg = pg;
	p->fd = -1;
	TAILQ_INSERT_TAIL(&pg->portals, p, link);
	rc = portal_open(p);
	if (rc != 0) {
		snprintf(err, errlen, "portal %s:%s: cannot listen (%s)", host, port, strerror(-rc));
		return rc;
	}
	BRISK_NOTICELOG("iscsi: portal group %d listening on %s port %s\n", pg->tag, host, port);
	return 0;
}

int iscsi_portal_grp_create(int tag, bool is_private, const char *const hosts[], const char *const ports[],
			    uint32_t n, char *err, size_t errlen)
{
	struct iscsi_portal_grp *pg;
	int rc = 0;

	if (tag < 1 || tag > 65535 || iscsi_portal_grp_find(tag) != NULL) {
		snprintf(err, errlen, "tag %d is not 1..65535 or already used", tag);
		return -EEXIST;
	}
	pg = calloc(1, sizeof(*pg));
	if (pg == NULL) {
		return -ENOMEM;
	}
	pg->tag = tag;
	pg->is_private = is_private;
	TAILQ_INIT(&pg->portals);
	for (uint32_t i = 0; i < n && rc == 0; i++) {
		rc = pg_add_portal(pg, hosts[i], ports[i], err, errlen);
	}
	if (rc != 0) {
		pg_free(pg);
		return rc;
	}
	TAILQ_INSERT_TAIL(&g_iscsi.pgs, pg, link);
	return 0;
}

int iscsi_portal_grp_delete(int tag)
{
	struct iscsi_portal_grp *pg = iscsi_portal_grp_find(tag);

	if (pg == NULL) {
		return -ENODEV;
	}
	TAILQ_REMOVE(&g_iscsi.pgs, pg, link);
	pg_free(pg);
	return 0;
}

void iscsi_portals_close_all(void)
{
	struct iscsi_portal_grp *pg;
	struct iscsi_portal *p;

	TAILQ_FOREACH(pg, &g_iscsi.pgs, link) {
		TAILQ_FOREACH(p, &pg->portals, link) {
			portal_close(p);
		}
	}
}
