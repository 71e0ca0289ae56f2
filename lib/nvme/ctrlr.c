/*
 * Controller bring-up as a non-blocking state machine (NVMe Base 3.5.1),
 * each call of nvme_ctrlr_process_init doing what can be done without
 * waiting:
 *   disable (after waiting for a controller found enabling to be ready),
 *   wait for CSTS.RDY = 0, program AQA/ASQ/ACQ, enable, wait for
 *   CSTS.RDY = 1 within CAP.TO, Identify Controller, Set Features Number of
 *   Queues, scan namespaces, configure asynchronous events, keep-alive.
 * A fatal status (CSTS.CFS) or a register reading all ones (the device has
 * gone) fails bring-up at any step. Also here: shutdown notification and
 * marking a controller failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/nvmf_spec.h>
#include <brisk/ticks.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

#define NVME_SHUTDOWN_TIMEOUT_US (5u * 1000 * 1000)
#define NVME_REG_ALL_ONES 0xffffffffu

uint64_t nvme_ticks_from_us(uint64_t us)
{
	return brisk_us_to_ticks(us, brisk_get_ticks_hz());
}

void nvme_ctrlr_set_failed(struct brisk_nvme_ctrlr *ctrlr, const char *why)
{
	if (nvme_ctrlr_is_failed(ctrlr)) {
		return;
	}
	BRISK_ERRLOG("nvme %s: controller failed: %s\n", ctrlr->trid.traddr, why);
	/* Release pairs with qpair threads' relaxed reads: they only need to see
	 * the flag eventually; every command then completes with an error. */
	__atomic_store_n(&ctrlr->failed, true, __ATOMIC_RELEASE);
}

/* False (and the controller failed) on CSTS.CFS or a removed device. */
bool nvme_ctrlr_check_health(struct brisk_nvme_ctrlr *ctrlr)
{
	union brisk_nvme_csts_register csts;

	if (ctrlr->ops->is_removed != NULL && ctrlr->ops->is_removed(ctrlr)) {
		ctrlr->removed = true;
		nvme_ctrlr_set_failed(ctrlr, "device removed");
		return false;
	}
	csts.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_CSTS);
	if (csts.raw == NVME_REG_ALL_ONES && ctrlr->ops->ctrlr_reconnect != NULL) {
		/* Over fabrics: the Property Get failed, the device is not gone. */
		nvme_ctrlr_set_failed(ctrlr, "the connection is lost");
		return false;
	}
	if (csts.raw == NVME_REG_ALL_ONES) {
		ctrlr->removed = true;
		nvme_ctrlr_set_failed(ctrlr, "registers read all ones (surprise removal)");
		return false;
	}
	if (csts.bits.cfs) {
		nvme_ctrlr_set_failed(ctrlr, "CSTS.CFS (controller fatal status)");
		return false;
	}
	/* A secondary's qpairs stall for good once the primary is gone. */
	if (ctrlr->mp_secondary && !nvme_mp_secondary_check(ctrlr)) {
		return false;
	}
	return !nvme_ctrlr_is_failed(ctrlr);
}

static uint64_t ctrlr_ready_deadline(struct brisk_nvme_ctrlr *ctrlr)
{
	uint64_t to_ms = ctrlr->cap.bits.to ? ctrlr->cap.bits.to * 500ull : 500ull;

	return brisk_get_ticks() + nvme_ticks_from_us(to_ms * 1000);
}

static const char *ctrlr_state_name(enum nvme_ctrlr_state state)
{
	static const char *const names[] = {
		[NVME_CTRLR_STATE_INIT] = "init",
		[NVME_CTRLR_STATE_DISABLE_WAIT_READY_1] = "wait for ready before disabling",
		[NVME_CTRLR_STATE_DISABLE] = "disable",
		[NVME_CTRLR_STATE_DISABLE_WAIT_READY_0] = "wait for not ready",
		[NVME_CTRLR_STATE_ENABLE_ADMIN_QUEUE] = "admin queue registers",
		[NVME_CTRLR_STATE_ENABLE] = "enable",
		[NVME_CTRLR_STATE_ENABLE_WAIT_READY_1] = "wait for ready",
		[NVME_CTRLR_STATE_IDENTIFY] = "identify controller",
		[NVME_CTRLR_STATE_SET_NUM_QUEUES] = "set number of queues",
		[NVME_CTRLR_STATE_SCAN_NS] = "scan namespaces",
		[NVME_CTRLR_STATE_CONFIGURE_AER] = "configure async events",
		[NVME_CTRLR_STATE_SET_KEEP_ALIVE] = "keep-alive",
		[NVME_CTRLR_STATE_READY] = "ready",
		[NVME_CTRLR_STATE_ERROR] = "error",
		[NVME_CTRLR_STATE_WAIT_ADMIN] = "wait for an admin command",
	};

	return state < sizeof(names) / sizeof(names[0]) && names[state] ? names[state] : "?";
}

static void ctrlr_set_state(struct brisk_nvme_ctrlr *ctrlr, enum nvme_ctrlr_state state,
			    bool with_deadline)
{
	BRISK_DEBUGLOG(nvme, "nvme %s: %s -> %s\n", ctrlr->trid.traddr,
		       ctrlr_state_name(ctrlr->state), ctrlr_state_name(state));
	ctrlr->state = state;
	ctrlr->state_deadline = with_deadline ? ctrlr_ready_deadline(ctrlr) : 0;
}

static int ctrlr_init_fail(struct brisk_nvme_ctrlr *ctrlr, int rc, const char *why)
{
	BRISK_ERRLOG("nvme %s: bring-up failed: %s\n", ctrlr->trid.traddr, why);
	ctrlr->state = NVME_CTRLR_STATE_ERROR;
	ctrlr->init_rc = rc;
	return rc;
}

static bool ctrlr_deadline_passed(struct brisk_nvme_ctrlr *ctrlr)
{
	return ctrlr->state_deadline != 0 && brisk_get_ticks() > ctrlr->state_deadline;
}

/* ---- Register steps ---- */

static int init_read_caps(struct brisk_nvme_ctrlr *ctrlr)
{
	union brisk_nvme_cc_register cc;
	union brisk_nvme_csts_register csts;

	ctrlr->cap.raw = ctrlr->ops->get_reg_8(ctrlr, BRISK_NVME_REG_CAP);
	ctrlr->vs.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_VS);
	cc.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_CC);
	csts.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_CSTS);
	if (csts.raw == NVME_REG_ALL_ONES || ctrlr->cap.raw == UINT64_MAX) {
		return ctrlr_init_fail(ctrlr, -ENXIO, "registers read all ones (no device)");
	}
	if (ctrlr->cap.bits.mpsmin != 0 || (ctrlr->cap.bits.css & 1u) == 0) {
		return ctrlr_init_fail(ctrlr, -ENOTSUP, "no 4 KiB pages or no NVM command set");
	}
	ctrlr->max_queue_entries = ctrlr->cap.bits.mqes + 1u;
	if (cc.bits.en) {
		/* Clearing EN while RDY is still 0 is undefined: wait for it first. */
		ctrlr_set_state(ctrlr, csts.bits.rdy ? NVME_CTRLR_STATE_DISABLE :
				NVME_CTRLR_STATE_DISABLE_WAIT_READY_1, true);
	} else {
		ctrlr_set_state(ctrlr, NVME_CTRLR_STATE_DISABLE_WAIT_READY_0, true);
	}
	return -EAGAIN;
}

static int init_wait_ready(struct brisk_nvme_ctrlr *ctrlr, uint32_t want,
			   enum nvme_ctrlr_state next, bool next_deadline)
{
	union brisk_nvme_csts_register csts;

	csts.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_CSTS);
	if (csts.raw == NVME_REG_ALL_ONES) {
		return ctrlr_init_fail(ctrlr, -ENXIO, "registers read all ones (device removed)");
	}
	if (csts.bits.cfs && want == 1) {
		return ctrlr_init_fail(ctrlr, -EIO, "CSTS.CFS set (controller fatal status)");
	}
	if (csts.bits.rdy == want) {
		ctrlr_set_state(ctrlr, next, next_deadline);
		return -EAGAIN;
	}
	if (!ctrlr_deadline_passed(ctrlr)) {
		return -EAGAIN;
	}
	if (ctrlr->state == NVME_CTRLR_STATE_DISABLE_WAIT_READY_1) {
		/* Left enabling and never ready (a failed earlier attach): disable anyway. */
		BRISK_WARNLOG("nvme %s: found enabled but never ready; disabling\n", ctrlr->trid.traddr);
		ctrlr_set_state(ctrlr, NVME_CTRLR_STATE_DISABLE, false);
		return -EAGAIN;
	}
	return ctrlr_init_fail(ctrlr, -ETIMEDOUT, want ? "not ready within CAP.TO" :
			       "still ready within CAP.TO of being disabled");
}

static int init_disable(struct brisk_nvme_ctrlr *ctrlr)
{
	union brisk_nvme_cc_register cc;

	cc.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_CC);
	cc.bits.en = 0;
	ctrlr->ops->set_reg_4(ctrlr, BRISK_NVME_REG_CC, cc.raw);
	ctrlr_set_state(ctrlr, NVME_CTRLR_STATE_DISABLE_WAIT_READY_0, true);
	return -EAGAIN;
}

static int init_admin_queue(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_qpair *aq = ctrlr->adminq;
	union brisk_nvme_aqa_register aqa = { .raw = 0 };

	nvme_qpair_reset_rings(aq);
	aqa.bits.asqs = aq->num_entries - 1u;
	aqa.bits.acqs = aq->num_entries - 1u;
	ctrlr->ops->set_reg_4(ctrlr, BRISK_NVME_REG_AQA, aqa.raw);
	ctrlr->ops->set_reg_8(ctrlr, BRISK_NVME_REG_ASQ, aq->sq_iova);
	ctrlr->ops->set_reg_8(ctrlr, BRISK_NVME_REG_ACQ, aq->cq_iova);
	ctrlr_set_state(ctrlr, NVME_CTRLR_STATE_ENABLE, false);
	return -EAGAIN;
}

static int init_enable(struct brisk_nvme_ctrlr *ctrlr)
{
	union brisk_nvme_cc_register cc = { .raw = 0 };

	cc.bits.en = 1;
	cc.bits.css = 0;    /* NVM command set */
	cc.bits.mps = 0;    /* 4 KiB pages */
	cc.bits.ams = 0;    /* round robin */
	cc.bits.iosqes = 6; /* 64-byte SQ entries */
	cc.bits.iocqes = 4; /* 16-byte CQ entries */
	ctrlr->ops->set_reg_4(ctrlr, BRISK_NVME_REG_CC, cc.raw);
	ctrlr_set_state(ctrlr, NVME_CTRLR_STATE_ENABLE_WAIT_READY_1, true);
	return -EAGAIN;
}

/* ---- Admin command steps ---- */

static void init_admin_cb(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct brisk_nvme_ctrlr *ctrlr = arg;

	ctrlr->admin_cpl = *cpl;
	ctrlr->admin_done = true;
}

static void init_scan_done(struct brisk_nvme_ctrlr *ctrlr, void *ctx, int rc)
{
	struct brisk_nvme_cpl cpl = { 0 };

	if (rc != 0) {
		cpl.status.sc = BRISK_NVME_SC_INTERNAL_DEVICE_ERROR;
	}
	init_admin_cb(ctrlr, &cpl);
}

/* Waits for the command a step sent, then moves to next. */
static int init_wait_for(struct brisk_nvme_ctrlr *ctrlr, int submit_rc, enum nvme_ctrlr_state next,
			 int (*cpl_fn)(struct brisk_nvme_ctrlr *, const struct brisk_nvme_cpl *))
{
	if (submit_rc != 0) {
		return ctrlr_init_fail(ctrlr, submit_rc, "an admin command could not be sent");
	}
	ctrlr->admin_done = false;
	ctrlr->init_cpl_fn = cpl_fn;
	ctrlr->next_state = next;
	ctrlr->state = NVME_CTRLR_STATE_WAIT_ADMIN;
	ctrlr->state_deadline = brisk_get_ticks() + nvme_ticks_from_us(NVME_ADMIN_SYNC_TIMEOUT_US);
	return -EAGAIN;
}

static int identify_done(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cpl *cpl)
{
	if (brisk_nvme_cpl_is_error(cpl)) {
		return ctrlr_init_fail(ctrlr, -EIO, "Identify Controller failed");
	}
	memcpy(&ctrlr->cdata, ctrlr->scratch, sizeof(ctrlr->cdata));
	nvme_ctrlr_apply_cdata(ctrlr);
	if (ctrlr->ns == NULL && ctrlr->num_ns != 0) {
		ctrlr->ns = calloc(ctrlr->num_ns, sizeof(*ctrlr->ns));
		if (ctrlr->ns == NULL) {
			return ctrlr_init_fail(ctrlr, -ENOMEM, "no memory for namespaces");
		}
	}
	if (ctrlr->cdata.cntrltype == BRISK_NVME_CNTRLTYPE_DISCOVERY) {
		/* A discovery controller has no I/O queues or namespaces:
		 * Get Log Page, Keep Alive and, if it has them, Discovery Log
		 * Page Change notices (a host's discovery service follows them). */
		ctrlr->max_io_queues = 0;
		ctrlr->next_state = (ctrlr->cdata.oaes & BRISK_NVME_OAES_DISCOVERY_LOG_CHANGE)
					    ? NVME_CTRLR_STATE_CONFIGURE_AER
					    : NVME_CTRLR_STATE_SET_KEEP_ALIVE;
		return 0;
	}
	return 0;
}

static int init_identify(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc;

	memset(ctrlr->scratch, 0, NVME_PAGE_SIZE);
	rc = nvme_admin_identify(ctrlr, BRISK_NVME_IDENTIFY_CTRLR, 0, ctrlr->scratch,
				 init_admin_cb, ctrlr);
	return init_wait_for(ctrlr, rc, NVME_CTRLR_STATE_SET_NUM_QUEUES, identify_done);
}

static int num_queues_done(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cpl *cpl)
{
	uint32_t nsqa = (cpl->cdw0 & 0xffffu) + 1u;
	uint32_t ncqa = (cpl->cdw0 >> 16) + 1u;

	if (brisk_nvme_cpl_is_error(cpl)) {
		return ctrlr_init_fail(ctrlr, -EIO, "Set Features Number of Queues failed");
	}
	ctrlr->max_io_queues = nsqa < ncqa ? nsqa : ncqa;
	if (ctrlr->max_io_queues > ctrlr->opts.num_io_queues) {
		ctrlr->max_io_queues = ctrlr->opts.num_io_queues;
	}
	if (ctrlr->max_io_queues >= NVME_MAX_IO_QUEUES) {
		ctrlr->max_io_queues = NVME_MAX_IO_QUEUES - 1;
	}
	return 0;
}

static int init_set_num_queues(struct brisk_nvme_ctrlr *ctrlr)
{
	uint32_t n = ctrlr->opts.num_io_queues;
	int rc;

	n = n == 0 ? 1 : (n > 65535 ? 65535 : n);
	rc = brisk_nvme_ctrlr_cmd_set_feature(ctrlr, BRISK_NVME_FEAT_NUMBER_OF_QUEUES,
					      (n - 1u) | (n - 1u) << 16, 0, NULL, 0,
					      init_admin_cb, ctrlr);
	return init_wait_for(ctrlr, rc, NVME_CTRLR_STATE_SCAN_NS, num_queues_done);
}

static int scan_done(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cpl *cpl)
{
	if (brisk_nvme_cpl_is_error(cpl)) {
		return ctrlr_init_fail(ctrlr, -EIO, "the namespace scan failed");
	}
	return 0;
}

static int init_scan_ns(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc = nvme_ns_scan_start(ctrlr, init_scan_done, NULL);

	return init_wait_for(ctrlr, rc, NVME_CTRLR_STATE_CONFIGURE_AER, scan_done);
}

/* Optional features: a controller refusing them still works. */
static int optional_done(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cpl *cpl)
{
	if (brisk_nvme_cpl_is_error(cpl)) {
		BRISK_WARNLOG("nvme %s: optional feature refused: %s\n", ctrlr->trid.traddr,
			      brisk_nvme_cpl_get_status_string(&cpl->status));
	}
	return 0;
}

static int aer_config_done(struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_cpl *cpl)
{
	optional_done(ctrlr, cpl);
	nvme_ctrlr_submit_aers(ctrlr);
	return 0;
}

static int init_configure_aer(struct brisk_nvme_ctrlr *ctrlr)
{
	uint32_t cdw11 = BRISK_NVME_AEC_SMART_CRITICAL_MASK;
	int rc;

	if (ctrlr->cdata.oaes & BRISK_NVME_OAES_NS_ATTR) {
		cdw11 |= BRISK_NVME_AEC_NS_ATTR_NOTICES;
	}
	if (ctrlr->cdata.oaes & BRISK_NVME_OAES_ANA_CHANGE) {
		cdw11 |= BRISK_NVME_AEC_ANA_CHANGE_NOTICES;
	}
	if (ctrlr->cdata.cntrltype == BRISK_NVME_CNTRLTYPE_DISCOVERY) {
		/* Bits 0-7 (SMART) are reserved on a discovery controller. */
		cdw11 = BRISK_NVME_AEC_DISCOVERY_LOG_CHANGE_NOTICES;
	}
	rc = brisk_nvme_ctrlr_cmd_set_feature(ctrlr, BRISK_NVME_FEAT_ASYNC_EVENT_CONFIGURATION,
					      cdw11, 0, NULL, 0, init_admin_cb, ctrlr);
	return init_wait_for(ctrlr, rc, NVME_CTRLR_STATE_SET_KEEP_ALIVE, aer_config_done);
}

static int init_keep_alive(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc;

	if (ctrlr->opts.keep_alive_timeout_ms == 0 || ctrlr->cdata.kas == 0) {
		ctrlr->keep_alive_ticks = 0;
		ctrlr_set_state(ctrlr, NVME_CTRLR_STATE_READY, false);
		return -EAGAIN;
	}
	/* Send a keep-alive at half the timeout, so one late poll is harmless. */
	ctrlr->keep_alive_ticks = nvme_ticks_from_us(ctrlr->opts.keep_alive_timeout_ms * 500ull);
	ctrlr->next_keep_alive = brisk_get_ticks() + ctrlr->keep_alive_ticks;
	rc = brisk_nvme_ctrlr_cmd_set_feature(ctrlr, BRISK_NVME_FEAT_KEEP_ALIVE_TIMER,
					      ctrlr->opts.keep_alive_timeout_ms, 0, NULL, 0,
					      init_admin_cb, ctrlr);
	return init_wait_for(ctrlr, rc, NVME_CTRLR_STATE_READY, optional_done);
}

static int init_wait_admin(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc;

	pthread_mutex_lock(&ctrlr->lock);
	nvme_ctrlr_poll_admin_locked(ctrlr);
	pthread_mutex_unlock(&ctrlr->lock);
	if (!ctrlr->admin_done) {
		if (nvme_ctrlr_is_failed(ctrlr)) {
			return ctrlr_init_fail(ctrlr, -ENXIO, "the controller failed");
		}
		if (ctrlr_deadline_passed(ctrlr)) {
			nvme_ctrlr_set_failed(ctrlr, "an admin command of bring-up timed out");
		}
		return -EAGAIN;
	}
	rc = ctrlr->init_cpl_fn(ctrlr, &ctrlr->admin_cpl);
	if (rc != 0) {
		return rc;
	}
	ctrlr_set_state(ctrlr, ctrlr->next_state, false);
	return -EAGAIN;
}

/* Fabrics: the admin queue's connection first (TCP connect, ICReq,
 * Connect), one poll at a time. */
static int init_admin_connect(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc = ctrlr->ops->qpair_connect_poll(ctrlr->adminq);

	if (rc == -EAGAIN) {
		return rc;
	}
	ctrlr->admin_connecting = false;
	if (rc != 0) {
		return ctrlr_init_fail(ctrlr, rc, "the admin queue did not connect");
	}
	return init_read_caps(ctrlr);
}

static int init_step(struct brisk_nvme_ctrlr *ctrlr)
{
	switch (ctrlr->state) {
	case NVME_CTRLR_STATE_INIT:
		return ctrlr->admin_connecting ? init_admin_connect(ctrlr) : init_read_caps(ctrlr);
	case NVME_CTRLR_STATE_DISABLE_WAIT_READY_1:
		return init_wait_ready(ctrlr, 1, NVME_CTRLR_STATE_DISABLE, false);
	case NVME_CTRLR_STATE_DISABLE:
		return init_disable(ctrlr);
	case NVME_CTRLR_STATE_DISABLE_WAIT_READY_0:
		return init_wait_ready(ctrlr, 0, NVME_CTRLR_STATE_ENABLE_ADMIN_QUEUE, false);
	case NVME_CTRLR_STATE_ENABLE_ADMIN_QUEUE:
		return init_admin_queue(ctrlr);
	case NVME_CTRLR_STATE_ENABLE:
		return init_enable(ctrlr);
	case NVME_CTRLR_STATE_ENABLE_WAIT_READY_1:
		return init_wait_ready(ctrlr, 1, NVME_CTRLR_STATE_IDENTIFY, false);
	case NVME_CTRLR_STATE_IDENTIFY:
		ctrlr->adminq->is_enabled = true;
		return init_identify(ctrlr);
	case NVME_CTRLR_STATE_SET_NUM_QUEUES:
		return init_set_num_queues(ctrlr);
	case NVME_CTRLR_STATE_SCAN_NS:
		return init_scan_ns(ctrlr);
	case NVME_CTRLR_STATE_CONFIGURE_AER:
		return init_configure_aer(ctrlr);
	case NVME_CTRLR_STATE_SET_KEEP_ALIVE:
		return init_keep_alive(ctrlr);
	case NVME_CTRLR_STATE_WAIT_ADMIN:
		return init_wait_admin(ctrlr);
	case NVME_CTRLR_STATE_READY:
		return 0;
	case NVME_CTRLR_STATE_ERROR:
	default:
		return ctrlr->init_rc != 0 ? ctrlr->init_rc : -EIO;
	}
}

void nvme_ctrlr_start_init(struct brisk_nvme_ctrlr *ctrlr, bool from_reset)
{
	ctrlr->init_rc = 0;
	ctrlr->adminq->is_enabled = false;
	/* A reset starts by disabling the controller it knows is enabled. */
	ctrlr_set_state(ctrlr, from_reset ? NVME_CTRLR_STATE_DISABLE : NVME_CTRLR_STATE_INIT,
			from_reset);
}

/* Runs steps until one has to wait: -EAGAIN, 0 when ready, -errno on failure. */
int nvme_ctrlr_process_init(struct brisk_nvme_ctrlr *ctrlr)
{
	enum nvme_ctrlr_state before;
	int rc;

	do {
		before = ctrlr->state;
		rc = init_step(ctrlr);
	} while (rc == -EAGAIN && ctrlr->state != before);
	return rc;
}

int nvme_ctrlr_init_sync(struct brisk_nvme_ctrlr *ctrlr)
{
	int rc;

	while ((rc = nvme_ctrlr_process_init(ctrlr)) == -EAGAIN) {
		;
	}
	return rc;
}

/* Normal shutdown notification, then wait for CSTS.SHST = complete. */
void nvme_ctrlr_shutdown(struct brisk_nvme_ctrlr *ctrlr)
{
	union brisk_nvme_cc_register cc;
	union brisk_nvme_csts_register csts;
	uint64_t deadline;

	if (nvme_ctrlr_is_failed(ctrlr) || ctrlr->removed || ctrlr->is_shutdown) {
		return;
	}
	ctrlr->is_shutdown = true;
	cc.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_CC);
	if (!cc.bits.en) {
		return;
	}
	cc.bits.shn = BRISK_NVME_SHN_NORMAL;
	ctrlr->ops->set_reg_4(ctrlr, BRISK_NVME_REG_CC, cc.raw);
	deadline = brisk_get_ticks() + nvme_ticks_from_us(NVME_SHUTDOWN_TIMEOUT_US);
	do {
		csts.raw = nvme_reg_read4(ctrlr, BRISK_NVME_REG_CSTS);
		if (csts.raw == NVME_REG_ALL_ONES || csts.bits.shst == BRISK_NVME_SHST_COMPLETE) {
			return;
		}
	} while (brisk_get_ticks() < deadline);
	BRISK_WARNLOG("nvme %s: shutdown did not complete in %u ms\n", ctrlr->trid.traddr,
		      NVME_SHUTDOWN_TIMEOUT_US / 1000);
}
