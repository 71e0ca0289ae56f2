/*
 * Listening sockets (IPv4 and IPv6, TCP) shared by the subsystems that list
 * their address, and accepting: new sockets are made non-blocking with
 * TCP_NODELAY and handed to a poll group. The listening fds wake a sleeping
 * app thread (brisk_interrupt_register); a timed poller accepts while that
 * thread is too busy to sleep, at acceptor_poll_rate, slowed to once a
 * second once the thread is seen sleeping (each expiry would wake it).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/string.h>

#include "nvmf_internal.h"

#define LISTEN_BACKLOG 512
#define ACCEPT_IDLE_PERIOD_US 1000000

const char *nvmf_adrfam_str(enum brisk_nvmf_adrfam adrfam)
{
	return adrfam == BRISK_NVMF_ADRFAM_IPV6 ? "IPv6" : "IPv4";
}

bool nvmf_listen_addr_equal(const struct nvmf_listen_addr *a, const struct nvmf_listen_addr *b)
{
	return a->adrfam == b->adrfam && strcmp(a->traddr, b->traddr) == 0 && strcmp(a->trsvcid, b->trsvcid) == 0;
}

int nvmf_listen_addr_parse(struct nvmf_listen_addr *a, const char *adrfam, const char *traddr,
			   const char *trsvcid, char *err, size_t errlen)
{
	uint8_t tmp[16];
	uint32_t port;

	memset(a, 0, sizeof(*a));
	a->adrfam = BRISK_NVMF_ADRFAM_IPV4;
	if (adrfam != NULL && strcasecmp(adrfam, "ipv6") == 0) {
		a->adrfam = BRISK_NVMF_ADRFAM_IPV6;
	} else if (adrfam != NULL && strcasecmp(adrfam, "ipv4") != 0) {
		snprintf(err, errlen, "adrfam '%s' is not supported (IPv4 or IPv6)", adrfam);
		return -EINVAL;
	}
	if (traddr == NULL || inet_pton(a->adrfam == BRISK_NVMF_ADRFAM_IPV6 ? AF_INET6 : AF_INET, traddr, tmp) != 1) {
		snprintf(err, errlen, "traddr '%s' is not an %s address", traddr ? traddr : "(none)",
			 nvmf_adrfam_str(a->adrfam));
		return -EINVAL;
	}
	if (trsvcid == NULL || brisk_parse_u32(trsvcid, 10, &port) != 0 || port == 0 || port > 65535) {
		snprintf(err, errlen, "trsvcid '%s' is not a port number", trsvcid ? trsvcid : "(none)");
		return -EINVAL;
	}
	snprintf(a->traddr, sizeof(a->traddr), "%s", traddr);
	snprintf(a->trsvcid, sizeof(a->trsvcid), "%u", port);
	return 0;
}

static void peer_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	getnameinfo((const struct sockaddr *)ss, sizeof(*ss), host, sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, len, "%s:%s", host, port);
}

static int accept_one(struct nvmf_listener *l)
{
	struct sockaddr_storage ss;
	socklen_t slen = sizeof(ss);
	char peer[64];
	int one = 1, prio = g_nvmf_tgt.tcp ? g_nvmf_tgt.tcp->opts.sock_priority : 0;
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &slen, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		return -errno;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (prio != 0) {
		setsockopt(fd, SOL_SOCKET, SO_PRIORITY, &prio, sizeof(prio));
	}
	peer_str(&ss, peer, sizeof(peer));
	nvmf_poll_group_add_fd(fd, &l->addr, peer);
	return 0;
}

static int accept_all(void)
{
	struct nvmf_listener *l;
	int n = 0;

	TAILQ_FOREACH(l, &g_nvmf_tgt.listeners, link) {
		while (accept_one(l) == 0) {
			n++;
		}
	}
	return n;
}

static int listener_on_fd(void *ctx)
{
	return accept_all();
}

static int accept_poller(void *ctx);

static void accept_poller_set(uint64_t period_us)
{
	brisk_poller_unregister(&g_nvmf_tgt.accept_poller);
	g_nvmf_tgt.accept_poller = brisk_poller_register_named(accept_poller, NULL, period_us, "nvmf_tcp_accept");
}

static int accept_poller(void *ctx)
{
	struct brisk_thread_stats st;
	uint64_t want = g_nvmf_tgt.conf.acceptor_poll_rate;
	int n = accept_all();

	if (!g_nvmf_tgt.poll_mode && brisk_thread_get_stats(&st) == 0) {
		if (st.sleep_count != g_nvmf_tgt.accept_sleep_count) {
			want = ACCEPT_IDLE_PERIOD_US;
		}
		g_nvmf_tgt.accept_sleep_count = st.sleep_count;
	}
	if (want != g_nvmf_tgt.accept_period_us) {
		g_nvmf_tgt.accept_period_us = want;
		accept_poller_set(want);
	}
	return n > 0;
}

void nvmf_accept_poller_start(void)
{
	g_nvmf_tgt.accept_period_us = g_nvmf_tgt.conf.acceptor_poll_rate;
	accept_poller_set(g_nvmf_tgt.accept_period_us);
}

static int listener_open(struct nvmf_listener *l)
{
	struct sockaddr_storage ss = {0};
	socklen_t slen;
	int one = 1, fd, port = atoi(l->addr.trsvcid);
	int af = l->addr.adrfam == BRISK_NVMF_ADRFAM_IPV6 ? AF_INET6 : AF_INET;

	if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, l->addr.traddr, &s6->sin6_addr);
		slen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, l->addr.traddr, &s4->sin_addr);
		slen = sizeof(*s4);
	}
	fd = socket(af, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (af == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	if (bind(fd, (struct sockaddr *)&ss, slen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	l->fd = fd;
	return 0;
}

struct nvmf_listener *nvmf_listener_get(const struct nvmf_listen_addr *a, int *rc)
{
	struct nvmf_listener *l;

	TAILQ_FOREACH(l, &g_nvmf_tgt.listeners, link) {
		if (nvmf_listen_addr_equal(&l->addr, a)) {
			l->refs++;
			return l;
		}
	}
	l = calloc(1, sizeof(*l));
	if (l == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	l->addr = *a;
	*rc = listener_open(l);
	if (*rc == 0 && !g_nvmf_tgt.poll_mode) {
		l->intr = brisk_interrupt_register(l->fd, listener_on_fd, l, "nvmf_tcp_listen");
		*rc = l->intr == NULL ? -ENOMEM : 0;
	}
	if (*rc != 0) {
		if (l->fd > 0) {
			close(l->fd);
		}
		free(l);
		return NULL;
	}
	BRISK_NOTICELOG("nvmf: NVMe/TCP target listening on %s port %s\n", a->traddr, a->trsvcid);
	l->refs = 1;
	TAILQ_INSERT_TAIL(&g_nvmf_tgt.listeners, l, link);
	return l;
}

void nvmf_listener_put(struct nvmf_listener *l)
{
	if (--l->refs > 0) {
		return;
	}
	TAILQ_REMOVE(&g_nvmf_tgt.listeners, l, link);
	brisk_interrupt_unregister(&l->intr);
	close(l->fd);
	free(l);
}
