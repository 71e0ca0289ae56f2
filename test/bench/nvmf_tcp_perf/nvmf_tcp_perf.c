/*
 * nvmf_tcp_perf: a minimal NVMe/TCP host load generator for benchmarking
 * the target (lib/nvmf) until Brisk's own host side exists. One thread, one
 * admin and one I/O queue, blocking sockets, -q commands kept in flight:
 * 4 KiB (-o) random reads (C2HData) or writes (in-capsule data up to the
 * target's in_capsule_data_size, R2T + H2CData above it) over the first
 * namespace for -t seconds. Prints IOPS, MiB/s and mean latency as a table
 * line and JSON. Figures only: the exit status says whether it ran.
 *
 *   nvmf_tcp_perf -a 127.0.0.1 -s 4420 -n NQN [-q 32] [-o 4096] [-w randread|randwrite] [-t 5]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <brisk/nvmf_spec.h>

#define HOSTNQN "nqn.2014-08.org.nvmexpress:uuid:0b7a3c52-8d1e-4f60-9a2b-5c3d4e5f6a7b"
#define MAX_QD 256

struct opts {
	const char *addr, *port, *nqn, *mode;
	int qd, secs;
	uint32_t io_size;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int full_io(int fd, void *buf, size_t len, int is_send)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = is_send ? send(fd, (char *)buf + done, len - done, MSG_NOSIGNAL) :
			    recv(fd, (char *)buf + done, len - done, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR) {
				continue;
			}
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

static int tcp_connect(const struct opts *o)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int fd, one = 1;

	if (getaddrinfo(o->addr, o->port, &hints, &ai) != 0) {
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads one PDU into hdr (header) and data (up to cap bytes). */
static int recv_pdu(int fd, uint8_t *hdr, uint8_t *data, uint32_t cap)
{
	struct brisk_nvme_tcp_common_hdr *ch = (void *)hdr;
	uint32_t dlen;

	if (full_io(fd, hdr, sizeof(*ch), 0) || ch->hlen > 128 || ch->plen < ch->hlen ||
	    full_io(fd, hdr + sizeof(*ch), ch->hlen - sizeof(*ch), 0)) {
		return -1;
	}
	dlen = ch->plen - ch->hlen;
	if (dlen > cap) {
		return -1;
	}
	return dlen ? full_io(fd, data, dlen, 0) : 0;
}

static int icreq(int fd)
{
	struct brisk_nvme_tcp_ic_req ic = { .ch = { BRISK_NVME_TCP_PDU_IC_REQ, 0, 128, 0, 128 } };
	uint8_t hdr[128];

	return full_io(fd, &ic, sizeof(ic), 1) || recv_pdu(fd, hdr, NULL, 0) ||
	       hdr[0] != BRISK_NVME_TCP_PDU_IC_RESP ? -1 : 0;
}

static void sgl(struct brisk_nvme_cmd *c, uint32_t len, int in_capsule)
{
	c->psdt = 1;
	c->dptr.sgl1.length = len;
	c->dptr.sgl1.type_subtype = in_capsule ? 0x01 : 0x50;
}

/* Sends a command (with in-capsule data if data != NULL). */
static int send_cmd(int fd, const struct brisk_nvme_cmd *cmd, const void *data, uint32_t dlen)
{
	struct brisk_nvme_tcp_cmd cap = { .ch = { BRISK_NVME_TCP_PDU_CAPSULE_CMD, 0, 72, data ? 72 : 0,
			72 + (data ? dlen : 0) }, .ccsqe = *cmd };

	return full_io(fd, &cap, sizeof(cap), 1) || (data && full_io(fd, (void *)data, dlen, 1)) ? -1 : 0;
}

/* Waits for the completion of a single outstanding command. */
static int wait_cpl(int fd, struct brisk_nvme_cpl *cpl, uint8_t *buf, uint32_t cap)
{
	uint8_t hdr[128];

	for (;;) {
		if (recv_pdu(fd, hdr, buf, cap)) {
			return -1;
		}
		if (hdr[0] == BRISK_NVME_TCP_PDU_CAPSULE_RESP) {
			memcpy(cpl, hdr + 8, sizeof(*cpl));
			return cpl->status.sc || cpl->status.sct ? -1 : 0;
		}
		if (hdr[0] == BRISK_NVME_TCP_PDU_C2H_DATA && (hdr[1] & BRISK_NVME_TCP_FLAG_SUCCESS)) {
			return 0;
		}
	}
}

static int fabric_connect(int fd, const char *nqn, uint16_t qid, uint16_t sqsize, uint16_t cntlid,
			  uint16_t *out_cntlid)
{
	struct brisk_nvme_cmd c = { .opc = BRISK_NVME_OPC_FABRIC, .cid = 1 };
	struct brisk_nvmf_connect_cmd *cc = (void *)&c;
	struct brisk_nvmf_connect_data d = { .cntlid = cntlid };
	struct brisk_nvme_cpl cpl;

	cc->fctype = BRISK_NVMF_FCTYPE_CONNECT;
	cc->qid = qid;
	cc->sqsize = sqsize;
	sgl(&c, sizeof(d), 1);
	snprintf(d.subnqn, sizeof(d.subnqn), "%s", nqn);
	snprintf(d.hostnqn, sizeof(d.hostnqn), "%s", HOSTNQN);
	if (send_cmd(fd, &c, &d, sizeof(d)) || wait_cpl(fd, &cpl, NULL, 0)) {
		return -1;
	}
	*out_cntlid = (uint16_t)cpl.cdw0;
	return 0;
}

/* Admin queue: connect, enable, namespace 1's size and block size. */
static int admin_setup(int fd, const struct opts *o, uint16_t *cntlid, uint64_t *blocks, uint32_t *bs)
{
	struct brisk_nvme_cmd c = { .opc = BRISK_NVME_OPC_FABRIC, .cid = 2 };
	struct brisk_nvmf_property_cmd *p = (void *)&c;
	struct brisk_nvme_cpl cpl;
	static uint8_t id[4096];

	if (icreq(fd) || fabric_connect(fd, o->nqn, 0, 31, 0xffff, cntlid)) {
		return -1;
	}
	p->fctype = BRISK_NVMF_FCTYPE_PROPERTY_SET;
	p->ofst = BRISK_NVME_REG_CC;
	p->value = 1 | (6 << 16) | (4 << 20);
	if (send_cmd(fd, &c, NULL, 0) || wait_cpl(fd, &cpl, NULL, 0)) {
		return -1;
	}
	c = (struct brisk_nvme_cmd) { .opc = BRISK_NVME_OPC_IDENTIFY, .cid = 3, .nsid = 1, .cdw10 = 0 };
	sgl(&c, sizeof(id), 0);
	if (send_cmd(fd, &c, NULL, 0) || wait_cpl(fd, &cpl, id, sizeof(id))) {
		return -1;
	}
	*blocks = ((struct brisk_nvme_ns_data *)id)->nsze;
	*bs = 1u << ((struct brisk_nvme_ns_data *)id)->lbaf[0].lbads;
	return *blocks ? 0 : -1;
}

static int submit(int fd, const struct opts *o, uint16_t cid, uint64_t blocks, uint32_t bs, uint8_t *wbuf)
{
	struct brisk_nvme_cmd c = { .cid = cid, .nsid = 1 };
	uint32_t nlb = o->io_size / bs;
	int write = strcmp(o->mode, "randwrite") == 0;
	int icd = write && o->io_size <= 4096;

	c.opc = write ? BRISK_NVME_OPC_WRITE : BRISK_NVME_OPC_READ;
	c.cdw10 = (uint32_t)((((uint64_t)rand() << 16) ^ rand()) % (blocks / nlb) * nlb);
	c.cdw12 = nlb - 1;
	sgl(&c, o->io_size, icd);
	return send_cmd(fd, &c, icd ? wbuf : NULL, o->io_size);
}

/* One completion (answering R2Ts on the way); returns the command id. */
static int reap(int fd, uint8_t *rbuf, uint8_t *wbuf, uint32_t cap)
{
	uint8_t hdr[128];

	for (;;) {
		if (recv_pdu(fd, hdr, rbuf, cap)) {
			return -1;
		}
		if (hdr[0] == BRISK_NVME_TCP_PDU_CAPSULE_RESP) {
			return ((struct brisk_nvme_tcp_rsp *)hdr)->rccqe.cid;
		}
		if (hdr[0] == BRISK_NVME_TCP_PDU_C2H_DATA && (hdr[1] & BRISK_NVME_TCP_FLAG_SUCCESS)) {
			return ((struct brisk_nvme_tcp_data_hdr *)hdr)->cccid;
		}
		if (hdr[0] == BRISK_NVME_TCP_PDU_R2T) {
			struct brisk_nvme_tcp_r2t *r = (void *)hdr;
			struct brisk_nvme_tcp_data_hdr h = { .ch = { BRISK_NVME_TCP_PDU_H2C_DATA,
					BRISK_NVME_TCP_FLAG_LAST_PDU, 24, 24, 24 + r->r2tl }, .cccid = r->cccid,
				.ttag = r->ttag, .datao = r->r2to, .datal = r->r2tl };

			if (full_io(fd, &h, sizeof(h), 1) || full_io(fd, wbuf, r->r2tl, 1)) {
				return -1;
			}
		}
	}
}

static int run(const struct opts *o)
{
	int afd = tcp_connect(o), fd = tcp_connect(o);
	uint16_t cntlid, dummy;
	uint64_t blocks, ios = 0;
	uint32_t bs;
	uint8_t *rbuf = malloc(o->io_size), *wbuf = calloc(1, o->io_size);
	double start[MAX_QD], lat = 0, t0, end;

	if (afd < 0 || fd < 0 || !rbuf || !wbuf || admin_setup(afd, o, &cntlid, &blocks, &bs) ||
	    icreq(fd) || fabric_connect(fd, o->nqn, 1, (uint16_t)(o->qd), cntlid, &dummy)) {
		fprintf(stderr, "nvmf_tcp_perf: cannot connect to %s:%s %s\n", o->addr, o->port, o->nqn);
		return 1;
	}
	t0 = now_s();
	end = t0 + o->secs;
	for (int i = 0; i < o->qd; i++) {
		start[i] = now_s();
		if (submit(fd, o, (uint16_t)i, blocks, bs, wbuf)) {
			return 1;
		}
	}
	for (;;) {
		int cid = reap(fd, rbuf, wbuf, o->io_size);
		double t = now_s();

		if (cid < 0 || cid >= o->qd) {
			fprintf(stderr, "nvmf_tcp_perf: connection failed\n");
			return 1;
		}
		lat += t - start[cid];
		ios++;
		if (t >= end) {
			break;
		}
		start[cid] = t;
		if (submit(fd, o, (uint16_t)cid, blocks, bs, wbuf)) {
			return 1;
		}
	}
	t0 = now_s() - t0;
	printf("%-10s qd %3d io %7u: %10.0f IOPS %9.1f MiB/s %9.1f us mean latency\n", o->mode, o->qd,
	       o->io_size, ios / t0, ios * (double)o->io_size / t0 / 1048576, lat / ios * 1e6);
	printf("{\"workload\":\"%s\",\"qd\":%d,\"io_size\":%u,\"iops\":%.0f,\"mean_latency_us\":%.1f}\n", o->mode,
	       o->qd, o->io_size, ios / t0, lat / ios * 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { "127.0.0.1", "4420", NULL, "randread", 32, 5, 4096 };
	int ch;

	while ((ch = getopt(argc, argv, "a:s:n:q:o:w:t:")) != -1) {
		switch (ch) {
		case 'a': o.addr = optarg; break;
		case 's': o.port = optarg; break;
		case 'n': o.nqn = optarg; break;
		case 'q': o.qd = atoi(optarg); break;
		case 'o': o.io_size = (uint32_t)atoi(optarg); break;
		case 'w': o.mode = optarg; break;
		case 't': o.secs = atoi(optarg); break;
		default: return 2;
		}
	}
	if (o.nqn == NULL || o.qd < 1 || o.qd > 127 || o.io_size < 512 || o.io_size > (1u << 20) || o.secs < 1 ||
	    (strcmp(o.mode, "randread") && strcmp(o.mode, "randwrite"))) {
		fprintf(stderr, "usage: nvmf_tcp_perf -a ADDR -s PORT -n NQN [-q 1..127] [-o 512..1048576] "
			"[-w randread|randwrite] [-t SECS]\n");
		return 2;
	}
	return run(&o);
}
