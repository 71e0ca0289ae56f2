/*
 * A TCP connection's life on its poll group's thread: created from an
 * accepted socket (requests and their data buffers allocated once, sized by
 * the transport options), polled, disconnected, and freed once nothing of it
 * is in flight any more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/log.h>
#include <brisk/ticks.h>

#include "nvmf_internal.h"

#define NVMF_OUT_STALL_SEC 30u

static int conn_on_fd(void *ctx)
{
	struct nvmf_conn *c = ctx;

	nvmf_poll_group_kick(c->pg);
	return 0;
}

static int conn_alloc_reqs(struct nvmf_conn *c)
{
	const struct brisk_nvmf_transport_opts *o = &g_nvmf_tgt.tcp->opts;
	uint32_t cap = o->max_io_size > NVMF_ADMIN_ICD_SIZE ? o->max_io_size : NVMF_ADMIN_ICD_SIZE;
	uint8_t *bufs;

	c->num_reqs = o->max_queue_depth > o->max_aq_depth ? o->max_queue_depth : o->max_aq_depth;
	c->reqs = calloc(c->num_reqs, sizeof(*c->reqs));
	/* Untouched pages of these buffers cost no memory. */
	bufs = aligned_alloc(4096, (size_t)c->num_reqs * cap);
	if (c->reqs == NULL || bufs == NULL) {
		free(c->reqs);
		free(bufs);
		return -ENOMEM;
	}
	TAILQ_INIT(&c->free_reqs);
	TAILQ_INIT(&c->deferred);
	for (uint32_t i = 0; i < c->num_reqs; i++) {
		struct nvmf_req *r = &c->reqs[i];

		r->conn = c;
		r->ttag = (uint16_t)i;
		r->buf = bufs + (size_t)i * cap;
		r->buf_cap = cap;
		r->state = NVMF_REQ_FREE;
		TAILQ_INSERT_TAIL(&c->free_reqs, r, link);
	}
	return 0;
}

static void conn_free_mem(struct nvmf_conn *c)
{
	nvmf_zcopy_conn_fini(c);
	brisk_readahead_fini(&c->rx_ra);
	free(c->reqs[0].buf);
	free(c->reqs);
	free(c);
}

struct nvmf_conn *nvmf_conn_create(struct nvmf_poll_group *pg, int fd, const struct nvmf_listen_addr *local,
				   const char *peer)
{
	const struct brisk_nvmf_transport_opts *o = &g_nvmf_tgt.tcp->opts;
	struct nvmf_conn *c = calloc(1, sizeof(*c));

	if (c == NULL || conn_alloc_reqs(c) != 0) {
		free(c);
		return NULL;
	}
	if (nvmf_zcopy_conn_init(c) != 0 || brisk_readahead_init(&c->rx_ra, NVMF_RX_AHEAD_SIZE) != 0) {
		conn_free_mem(c);
		return NULL;
	}
	c->fd = fd;
	c->pg = pg;
	c->local = *local;
	snprintf(c->peer, sizeof(c->peer), "%s", peer);
	c->lim.max_icd = o->in_capsule_data_size > NVMF_ADMIN_ICD_SIZE ? o->in_capsule_data_size :
			 NVMF_ADMIN_ICD_SIZE;
	c->lim.maxh2cdata = o->max_io_size;
	TAILQ_INIT(&c->out);
	TAILQ_INIT(&c->ns_drains);
	c->rx_state = NVMF_RX_CH;
	c->rx_need = 0;
	if (!g_nvmf_tgt.poll_mode) {
		c->intr = brisk_interrupt_register(fd, conn_on_fd, c, "nvmf_tcp_conn");
		if (c->intr == NULL) {
			conn_free_mem(c);
			return NULL;
		}
	}
	return c;
}

void nvmf_conn_disconnect(struct nvmf_conn *c)
{
	if (c->dead) {
		return;
	}
	BRISK_INFOLOG("nvmf: connection %s (qid %u) closed\n", c->peer, c->qid);
	c->dead = true;
	brisk_interrupt_unregister(&c->intr);
	close(c->fd);
	c->fd = -1;
	nvmf_poll_group_kick(c->pg);
}

void nvmf_conn_free(struct nvmf_conn *c)
{
	nvmf_conn_ns_fini(c);
	nvmf_ctrlr_conn_gone(c);
	conn_free_mem(c);
}

/* A host that stops reading keeps our output queued and its poll group
 * polling: after NVMF_OUT_STALL_SEC without progress the connection ends. */
static bool conn_out_stalled(struct nvmf_conn *c, int tx)
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
	if (now - c->out_stall_tick < NVMF_OUT_STALL_SEC * brisk_get_ticks_hz()) {
		return false;
	}
	BRISK_ERRLOG("nvmf: connection %s: host has not read for %u s: disconnecting\n", c->peer,
		     NVMF_OUT_STALL_SEC);
	return true;
}

/* One pass: read, then write. true if anything moved. */
bool nvmf_conn_poll(struct nvmf_conn *c)
{
	int rx, tx;

	if (c->ctrlr != NULL && c->qid != 0 && __atomic_load_n(&c->ctrlr->dead, __ATOMIC_SEQ_CST)) {
		nvmf_conn_disconnect(c);
		return true;
	}
	rx = nvmf_conn_recv(c);
	if (rx < 0) {
		nvmf_conn_disconnect(c);
		return true;
	}
	tx = nvmf_conn_flush(c);
	if (tx < 0 || (c->closing && TAILQ_EMPTY(&c->out)) || conn_out_stalled(c, tx)) {
		nvmf_conn_disconnect(c);
		return true;
	}
	return rx > 0 || tx > 0;
}
