/*
 * The controller object and its public calls: construction shared by the
 * transports, options, register and Identify accessors, admin polling
 * (health checks, keep-alive, a reset asked for by a timeout), I/O qpair
 * creation and deletion, detach.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/ticks.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

BRISK_LOG_REGISTER_COMPONENT(nvme)

void brisk_nvme_ctrlr_get_default_opts(struct brisk_nvme_ctrlr_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->num_io_queues = 1024;
	opts->io_queue_size = 256;
	opts->io_queue_requests = 512;
	opts->admin_queue_size = 32;
	opts->keep_alive_timeout_ms = 10000;
	opts->command_timeout_us = 0;
}

static void ctrlr_sanitize_opts(struct brisk_nvme_ctrlr_opts *opts)
{
	if (opts->admin_queue_size < 2) {
		opts->admin_queue_size = 2;
	} else if (opts->admin_queue_size > 4096) {
		opts->admin_queue_size = 4096; /* AQA holds 12 bits */
	}
	if (opts->io_queue_size < 2) {
		opts->io_queue_size = 2;
	}
	if (opts->num_io_queues == 0) {
		opts->num_io_queues = 1;
	}
}

int nvme_ctrlr_construct(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_transport_id *trid,
			 const struct brisk_nvme_ctrlr_opts *opts, const struct nvme_transport_ops *ops)
{
	pthread_mutexattr_t attr;
	uint32_t aq_size;

	ctrlr->trid = *trid;
	if (opts != NULL) {
		ctrlr->opts = *opts;
	} else {
		brisk_nvme_ctrlr_get_default_opts(&ctrlr->opts);
	}
	ctrlr_sanitize_opts(&ctrlr->opts);
	ctrlr->ops = ops;
	ctrlr->max_xfer_size = NVME_PAGE_SIZE; /* until Identify says more */
	TAILQ_INIT(&ctrlr->io_qpairs);
	/* Recursive: admin callbacks may send admin commands. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&ctrlr->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	ctrlr->timeout_ticks = nvme_ticks_from_us(ctrlr->opts.command_timeout_us);
	ctrlr->scratch = brisk_dma_zmalloc(NVME_PAGE_SIZE, NVME_PAGE_SIZE, NULL);
	ctrlr->aer_log = brisk_dma_zmalloc(NVME_PAGE_SIZE, NVME_PAGE_SIZE, NULL);
	aq_size = ctrlr->opts.admin_queue_size;
	ctrlr->adminq = nvme_qpair_create(ctrlr, 0, aq_size, aq_size * 2 + NVME_MAX_ASYNC_EVENTS);
	if (ctrlr->scratch == NULL || ctrlr->aer_log == NULL || ctrlr->adminq == NULL) {
		BRISK_ERRLOG("nvme %s: no memory for the admin queue\n", trid->traddr);
		nvme_ctrlr_destruct(ctrlr);
		return -ENOMEM;
	}
	return 0;
}

void nvme_ctrlr_destruct(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_qpair *qpair;

	while ((qpair = TAILQ_FIRST(&ctrlr->io_qpairs)) != NULL) {
		TAILQ_REMOVE(&ctrlr->io_qpairs, qpair, link);
		nvme_qpair_destroy(qpair);
	}
	nvme_qpair_destroy(ctrlr->adminq);
	ctrlr->adminq = NULL;
	nvme_ns_free_all(ctrlr);
	free(ctrlr->scan);
	brisk_free(ctrlr->scratch);
	brisk_free(ctrlr->aer_log);
	pthread_mutex_destroy(&ctrlr->lock);
}

/* Limits that follow from Identify Controller. */
void nvme_ctrlr_apply_cdata(struct brisk_nvme_ctrlr *ctrlr)
{
	const struct brisk_nvme_ctrlr_data *cd = &ctrlr->cdata;
	uint64_t max = NVME_MAX_XFER_SIZE;

	/* MDTS counts CAP.MPSMIN pages; Brisk only runs with 4 KiB ones. */
	if (cd->mdts != 0 && cd->mdts < 20 && ((uint64_t)NVME_PAGE_SIZE << cd->mdts) < max) {
		max = (uint64_t)NVME_PAGE_SIZE << cd->mdts;
	}
	ctrlr->max_xfer_size = (uint32_t)max;
	ctrlr->sgl_supported = (cd->sgls & BRISK_NVME_SGLS_SUPPORT_MASK) != 0;
	ctrlr->sgl_dword_aligned = (cd->sgls & BRISK_NVME_SGLS_SUPPORT_MASK) ==
				   BRISK_NVME_SGLS_DWORD_ALIGNED;
	if (ctrlr->ns == NULL) {
		ctrlr->num_ns = cd->nn < NVME_MAX_NS ? cd->nn : NVME_MAX_NS;
	}
}

/* ---- Accessors ---- */

const struct brisk_nvme_transport_id *brisk_nvme_ctrlr_get_transport_id(struct brisk_nvme_ctrlr *ctrlr)
{
	return &ctrlr->trid;
}

const struct brisk_nvme_ctrlr_data *brisk_nvme_ctrlr_get_data(struct brisk_nvme_ctrlr *ctrlr)
{
	return &ctrlr->cdata;
}

uint64_t brisk_nvme_ctrlr_get_regs_cap(struct brisk_nvme_ctrlr *ctrlr) { return ctrlr->cap.raw; }
uint32_t brisk_nvme_ctrlr_get_regs_vs(struct brisk_nvme_ctrlr *ctrlr) { return ctrlr->vs.raw; }
uint32_t brisk_nvme_ctrlr_get_max_xfer_size(struct brisk_nvme_ctrlr *ctrlr) { return ctrlr->max_xfer_size; }
uint32_t brisk_nvme_ctrlr_get_num_ns(struct brisk_nvme_ctrlr *ctrlr) { return ctrlr->num_ns; }
bool brisk_nvme_ctrlr_is_failed(struct brisk_nvme_ctrlr *ctrlr) { return nvme_ctrlr_is_failed(ctrlr); }
bool brisk_nvme_ctrlr_is_removed(struct brisk_nvme_ctrlr *ctrlr) { return ctrlr->removed; }

uint32_t brisk_nvme_ctrlr_get_regs_csts(struct brisk_nvme_ctrlr *ctrlr)
{
	return nvme_reg_read4(ctrlr, BRISK_NVME_REG_CSTS);
}

uint32_t brisk_nvme_ctrlr_get_first_active_ns(struct brisk_nvme_ctrlr *ctrlr)
{
	return ctrlr->num_active_ns ? ctrlr->active_ns[0] : 0;
}

uint32_t brisk_nvme_ctrlr_get_next_active_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t prev_nsid)
{
	for (uint32_t i = 0; i < ctrlr->num_active_ns; i++) {
		if (ctrlr->active_ns[i] > prev_nsid) {
			return ctrlr->active_ns[i];
		}
	}
	return 0;
}

bool brisk_nvme_ctrlr_is_active_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid)
{
	struct brisk_nvme_ns *ns = brisk_nvme_ctrlr_get_ns(ctrlr, nsid);

	return ns != NULL && ns->active;
}

struct brisk_nvme_ns *brisk_nvme_ctrlr_get_ns(struct brisk_nvme_ctrlr *ctrlr, uint32_t nsid)
{
	struct brisk_nvme_ns *ns;

	pthread_mutex_lock(&ctrlr->lock);
	ns = nvme_ns_get_or_create(ctrlr, nsid);
	pthread_mutex_unlock(&ctrlr->lock);
	return ns;
}

void brisk_nvme_ctrlr_register_aer_callback(struct brisk_nvme_ctrlr *ctrlr,
					    brisk_nvme_aer_cb aer_cb, void *aer_cb_arg)
{
	pthread_mutex_lock(&ctrlr->lock);
	ctrlr->aer_cb = aer_cb;
	ctrlr->aer_cb_arg = aer_cb_arg;
	pthread_mutex_unlock(&ctrlr->lock);
}

void brisk_nvme_ctrlr_register_timeout_callback(struct brisk_nvme_ctrlr *ctrlr,
						uint64_t timeout_us,
						brisk_nvme_timeout_cb cb_fn, void *cb_arg)
{
	pthread_mutex_lock(&ctrlr->lock);
	ctrlr->timeout_cb = cb_fn;
	ctrlr->timeout_cb_arg = cb_arg;
	ctrlr->timeout_ticks = nvme_ticks_from_us(timeout_us);
	pthread_mutex_unlock(&ctrlr->lock);
}

void brisk_nvme_ctrlr_fail(struct brisk_nvme_ctrlr *ctrlr)
{
	nvme_ctrlr_set_failed(ctrlr, "failed by its user");
}

/* ---- Admin polling ---- */

int32_t nvme_ctrlr_poll_admin_locked(struct brisk_nvme_ctrlr *ctrlr)
{
	uint64_t now = brisk_get_ticks();

	if (ctrlr->mp_secondary) {
		return nvme_mp_admin_poll_locked(ctrlr); /* commands the primary ran for us */
	}
	if (now >= ctrlr->next_health_check && ctrlr->adminq->is_enabled) {
		ctrlr->next_health_check = now + nvme_ticks_from_us(NVME_HEALTH_CHECK_US);
		nvme_ctrlr_check_health(ctrlr);
	}
	return nvme_qpair_process(ctrlr->adminq, 0);
}

static void ctrlr_keep_alive(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_cmd cmd = { .opc = BRISK_NVME_OPC_KEEP_ALIVE };
	uint64_t now;

	if (ctrlr->keep_alive_ticks == 0 || ctrlr->state != NVME_CTRLR_STATE_READY) {
		return;
	}
	now = brisk_get_ticks();
	if (now < ctrlr->next_keep_alive) {
		return;
	}
	ctrlr->next_keep_alive = now + ctrlr->keep_alive_ticks;
	if (nvme_admin_submit(ctrlr, &cmd, NULL, 0, NULL, NULL) != 0) {
		BRISK_WARNLOG("nvme %s: could not send a keep-alive\n", ctrlr->trid.traddr);
	}
}

int32_t brisk_nvme_ctrlr_process_admin_completions(struct brisk_nvme_ctrlr *ctrlr)
{
	int32_t n;

	if (__atomic_load_n(&ctrlr->needs_reset, __ATOMIC_ACQUIRE) && !ctrlr->resetting) {
		BRISK_WARNLOG("nvme %s: resetting after a command timed out\n", ctrlr->trid.traddr);
		brisk_nvme_ctrlr_reset(ctrlr);
	}
	pthread_mutex_lock(&ctrlr->lock);
	n = nvme_ctrlr_poll_admin_locked(ctrlr);
	ctrlr_keep_alive(ctrlr);
	if (ctrlr->mp != NULL) {
		nvme_mp_poll_locked(ctrlr);
	}
	pthread_mutex_unlock(&ctrlr->lock);
	return nvme_ctrlr_is_failed(ctrlr) ? -ENXIO : n;
}
