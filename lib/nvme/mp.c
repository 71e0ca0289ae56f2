/*
 * Multi-process controllers. The primary process owns the controller: bring-
 * up, the admin queue, resets. brisk_nvme_ctrlr_share publishes what a
 * secondary needs (CAP, VS, Identify data, the active namespaces) in a
 * memzone "nvme_mp_<traddr>" and opens a request channel (mp_channel.c).
 * A secondary's brisk_nvme_connect finds the memzone, maps BAR0 itself
 * (lib/env's attach_secondary; under vfio-pci with the device descriptor
 * the primary's admin polling hands over), and builds a controller view
 * without an admin queue. Its I/O qpairs live in shared DMA memory; the primary creates
 * and deletes their queues on the controller (Create/Delete I/O CQ/SQ) when
 * asked through the channel, from its admin poller. The primary records the
 * pid owning each such queue and deletes the queues of a secondary that is
 * gone (checked every NVME_MP_REAP_CHECK_US of admin polling).
 *
 * Steps of the primary's work run as admin completions, a small context per
 * request: create CQ -> create SQ -> answer; delete SQ -> delete CQ -> answer.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/ticks.h>

#include "nvme_internal.h"
#include "nvme_mp.h"

#define NVME_MP_MAGIC 0x4e564d654d505631ull /* "NVMeMPV1" */
#define NVME_MP_REAP_CHECK_US 100000u
#define NVME_MP_PRIMARY_CHECK_US 100000u
#define NVME_MP_SERVE_CHECK_US 10000u /* a secondary waits for its VFIO device */
#define NVME_MP_CALL_TIMEOUT_US (10u * 1000 * 1000)
#define NVME_MP_DRAIN_TIMEOUT_US (2u * 1000 * 1000)

/* One request of the primary's, from the channel or its own reaping. */
struct nvme_mp_work {
	struct brisk_nvme_ctrlr *ctrlr;
	struct nvme_mp_primary *p;       /* kept even after unshare gave up waiting */
	struct nvme_mp_msg *msg;           /* NULL when reaping */
	bool recreate; /* a lost queue again: qid and owner stay */
	struct brisk_nvme_qpair shadow;    /* id, size, addresses: what the commands need */
};

static void mp_zone_name(const struct brisk_nvme_transport_id *trid, char *buf, size_t len)
{
	/* Callers checked that traddr fits (NVME_MP_KEY_MAX). */
	snprintf(buf, len, "nvme_mp_%.*s", (int)NVME_MP_KEY_MAX, trid->traddr);
}

static struct nvme_mp_primary *mp_primary(struct brisk_nvme_ctrlr *ctrlr)
{
	return ctrlr->mp_secondary ? NULL : ctrlr->mp;
}

/* ---- Primary: publishing ---- */

static void mp_fill_shared(struct brisk_nvme_ctrlr *ctrlr, struct nvme_mp_shared *sh)
{
	uint32_t n = 0;

	sh->primary_pid = (int32_t)getpid();
	sh->num_ns = ctrlr->num_ns;
	sh->max_io_queues = ctrlr->max_io_queues;
	sh->max_queue_entries = ctrlr->max_queue_entries;
	sh->cap = ctrlr->cap.raw;
	sh->vs = ctrlr->vs.raw;
	sh->cdata = ctrlr->cdata;
	for (uint32_t i = 0; i < ctrlr->num_active_ns; i++) {
		struct brisk_nvme_ns *ns = brisk_nvme_ctrlr_get_ns(ctrlr, ctrlr->active_ns[i]);

		if (ns == NULL) {
			continue;
		}
		if (n == NVME_MP_MAX_NS) {
			BRISK_WARNLOG("nvme %s: secondary processes see only the first %u namespaces\n",
				      ctrlr->trid.traddr, NVME_MP_MAX_NS);
			break;
		}
		sh->ns[n++] = *ns;
	}
	sh->num_active_ns = n;
}

static int mp_share_check(struct brisk_nvme_ctrlr *ctrlr)
{
	if (ctrlr->trid.trtype != BRISK_NVME_TRANSPORT_PCIE) {
		BRISK_ERRLOG("nvme %s: only PCIe controllers can be shared\n", ctrlr->trid.traddr);
		return -ENOTSUP;
	}
	if (ctrlr->mp_secondary || brisk_env_get_proc_type() != BRISK_PROC_PRIMARY) {
		BRISK_ERRLOG("nvme %s: only a primary process shares a controller\n",
			     ctrlr->trid.traddr);
		return -EINVAL;
	}
	if (ctrlr->mp != NULL) {
		return -EALREADY;
	}
	if (strlen(ctrlr->trid.traddr) > NVME_MP_KEY_MAX) {
		BRISK_ERRLOG("nvme %s: traddr too long to share\n", ctrlr->trid.traddr);
		return -EINVAL;
	}
	return 0;
}

/* The channel and the shared memzone; NULL on error (logged). */
static struct nvme_mp_primary *mp_primary_create(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_primary *p = calloc(1, sizeof(*p));
	int rc = p == NULL ? -ENOMEM : 0;

	if (rc == 0) {
		mp_zone_name(&ctrlr->trid, p->zone, sizeof(p->zone));
		rc = nvme_mp_channel_create(&p->ch, ctrlr->trid.traddr);
	}
	if (rc == 0) {
		p->shared = brisk_memzone_reserve(p->zone, sizeof(*p->shared), BRISK_ENV_SOCKET_ID_ANY, 0);
		rc = p->shared == NULL ? -errno : 0;
	}
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: cannot share with secondary processes: %s\n",
			     ctrlr->trid.traddr, strerror(-rc));
		if (p != NULL) {
			nvme_mp_channel_destroy(&p->ch);
		}
		free(p);
		return NULL;
	}
	return p;
}

int brisk_nvme_ctrlr_share(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_primary *p;
	int rc;

	if (ctrlr == NULL) {
		return -EINVAL;
	}
	rc = mp_share_check(ctrlr);
	if (rc != 0) {
		return rc;
	}
	p = mp_primary_create(ctrlr);
	if (p == NULL) {
		return -ENOMEM;
	}
	memset(p->shared, 0, sizeof(*p->shared));
	mp_fill_shared(ctrlr, p->shared);
	/* Release: a secondary that reads the magic (acquire) sees the rest. */
	__atomic_store_n(&p->shared->magic, NVME_MP_MAGIC, __ATOMIC_RELEASE);
	pthread_mutex_lock(&ctrlr->lock);
	ctrlr->mp = p;
	pthread_mutex_unlock(&ctrlr->lock);
	BRISK_NOTICELOG("nvme %s: shared with secondary processes\n", ctrlr->trid.traddr);
	return 0;
}

uint32_t brisk_nvme_ctrlr_get_num_secondary_qpairs(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_primary *p = mp_primary(ctrlr);

	return p != NULL ? p->num_qpairs : 0;
}

bool brisk_nvme_ctrlr_is_secondary(struct brisk_nvme_ctrlr *ctrlr)
{
	return ctrlr->mp_secondary;
}

/* ---- Primary: the steps of a request ---- */

static void mp_op_finish(struct nvme_mp_work *op, int rc)
{
	struct nvme_mp_primary *p = op->p;

	if (op->msg != NULL) {
		op->msg->qid = op->shadow.id;
		/* Same thread as resets: the queue lives in this count's epoch. */
		op->msg->resets = __atomic_load_n(&p->shared->resets, __ATOMIC_RELAXED);
		nvme_mp_channel_reply(&p->ch, op->msg, rc);
	}
	p->in_flight--;
	free(op);
}

static void mp_release_qid(struct nvme_mp_work *op)
{
	struct nvme_mp_primary *p = op->p;

	p->owner[op->shadow.id] = 0;
	p->lost[op->shadow.id] = false;
	p->num_qpairs--;
	nvme_ctrlr_qid_free(op->ctrlr, op->shadow.id);
}

static void mp_delete_cq_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_mp_work *op = arg;

	if (brisk_nvme_cpl_is_error(cpl)) {
		BRISK_WARNLOG("nvme %s: Delete I/O CQ %u of a secondary failed: %s\n",
			      op->ctrlr->trid.traddr, op->shadow.id,
			      brisk_nvme_cpl_get_status_string(&cpl->status));
	}
	mp_release_qid(op);
	mp_op_finish(op, 0);
}

static void mp_delete_sq_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_mp_work *op = arg;
	int rc;

	if (brisk_nvme_cpl_is_error(cpl)) {
		BRISK_WARNLOG("nvme %s: Delete I/O SQ %u of a secondary failed: %s\n",
			      op->ctrlr->trid.traddr, op->shadow.id,
			      brisk_nvme_cpl_get_status_string(&cpl->status));
	}
	rc = nvme_admin_delete_io_cq(op->ctrlr, &op->shadow, mp_delete_cq_done, op);
	if (rc != 0) {
		mp_release_qid(op);
		mp_op_finish(op, rc);
	}
}

/* Delete SQ, then CQ, then free the qid; the owner is -1 meanwhile. */
static void mp_delete_start(struct nvme_mp_work *op)
{
	struct nvme_mp_primary *p = op->p;
	int rc;

	if (p->lost[op->shadow.id]) {
		mp_release_qid(op); /* the reset deleted it already */
		mp_op_finish(op, 0);
		return;
	}
	p->owner[op->shadow.id] = -1;
	rc = nvme_admin_delete_io_sq(op->ctrlr, &op->shadow, mp_delete_sq_done, op);
	if (rc != 0) {
		mp_release_qid(op);
		mp_op_finish(op, rc);
	}
}

/* A failed creation: a new qid is freed; a lost one stays its owner's. */
static void mp_create_failed(struct nvme_mp_work *op, int rc)
{
	if (!op->recreate) {
		nvme_ctrlr_qid_free(op->ctrlr, op->shadow.id);
		op->shadow.id = 0;
	}
	mp_op_finish(op, rc);
}

static void mp_create_fail_cq_done(void *arg, const struct brisk_nvme_cpl *cpl) { mp_create_failed(arg, -EIO); }

static void mp_create_sq_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_mp_work *op = arg;
	struct nvme_mp_primary *p = op->p;

	if (brisk_nvme_cpl_is_error(cpl)) {
		BRISK_ERRLOG("nvme %s: Create I/O SQ %u for process %d failed: %s\n",
			     op->ctrlr->trid.traddr, op->shadow.id, op->msg->pid,
			     brisk_nvme_cpl_get_status_string(&cpl->status));
		if (nvme_admin_delete_io_cq(op->ctrlr, &op->shadow, mp_create_fail_cq_done, op) != 0) {
			mp_create_fail_cq_done(op, cpl);
		}
		return;
	}
	if (op->recreate) {
		p->lost[op->shadow.id] = false;
	} else {
		p->owner[op->shadow.id] = op->msg->pid;
		p->num_qpairs++;
	}
	BRISK_INFOLOG("nvme %s: I/O queue %u for process %d%s\n", op->ctrlr->trid.traddr, op->shadow.id, op->msg->pid,
		      op->recreate ? " re-created after a reset" : "");
	mp_op_finish(op, 0);
}

static void mp_create_cq_done(void *arg, const struct brisk_nvme_cpl *cpl)
{
	struct nvme_mp_work *op = arg;
	int rc = -EIO;

	if (!brisk_nvme_cpl_is_error(cpl)) {
		rc = nvme_admin_create_io_sq(op->ctrlr, &op->shadow, mp_create_sq_done, op);
	} else {
		BRISK_ERRLOG("nvme %s: Create I/O CQ %u for process %d failed: %s\n",
			     op->ctrlr->trid.traddr, op->shadow.id, op->msg->pid,
			     brisk_nvme_cpl_get_status_string(&cpl->status));
	}
	if (rc != 0) {
		mp_create_failed(op, rc);
	}
}

/* A request from another process: every field is checked. */
static int mp_check_create(struct brisk_nvme_ctrlr *ctrlr, const struct nvme_mp_msg *m)
{
	if (m->num_entries < 2 || m->num_entries > ctrlr->max_queue_entries) {
		BRISK_ERRLOG("nvme %s: process %d asks for a queue of %u entries (2-%u)\n",
			     ctrlr->trid.traddr, m->pid, m->num_entries, ctrlr->max_queue_entries);
		return -EINVAL;
	}
	if (m->sq_iova == 0 || m->cq_iova == 0 || ((m->sq_iova | m->cq_iova) & NVME_PAGE_MASK)) {
		BRISK_ERRLOG("nvme %s: process %d gives queue addresses 0x%" PRIx64 "/0x%" PRIx64
			     " that are not 4 KiB pages\n", ctrlr->trid.traddr, m->pid, m->sq_iova,
			     m->cq_iova);
		return -EINVAL;
	}
	return 0;
}

static int mp_create_start(struct nvme_mp_work *op)
{
	struct brisk_nvme_ctrlr *ctrlr = op->ctrlr;
	struct nvme_mp_msg *m = op->msg;
	int qid, rc = mp_check_create(ctrlr, m);

	if (rc != 0) {
		return rc;
	}
	qid = nvme_ctrlr_qid_alloc(ctrlr);
	if (qid < 0) {
		BRISK_ERRLOG("nvme %s: no I/O queue left for process %d\n", ctrlr->trid.traddr, m->pid);
		return qid;
	}
	op->shadow.id = (uint16_t)qid;
	op->shadow.num_entries = (uint16_t)m->num_entries;
	op->shadow.sq_iova = m->sq_iova;
	op->shadow.cq_iova = m->cq_iova;
	rc = nvme_admin_create_io_cq(ctrlr, &op->shadow, mp_create_cq_done, op);
	if (rc != 0) {
		nvme_ctrlr_qid_free(ctrlr, (uint16_t)qid);
		op->shadow.id = 0;
	}
	return rc;
}

/* A queue the reset deleted, again at the same memory and id. */
static int mp_recreate_request(struct nvme_mp_work *op)
{
	struct nvme_mp_primary *p = op->p;
	struct nvme_mp_msg *m = op->msg;
	int rc;

	if (m->qid == 0 || m->qid > NVME_MAX_IO_QUEUES || p->owner[m->qid] != m->pid || !p->lost[m->qid]) {
		BRISK_ERRLOG("nvme %s: process %d asks to re-create I/O queue %u, which is not its "
			     "own or was not deleted by a reset\n",
			     op->ctrlr->trid.traddr, m->pid, m->qid);
		return -EPERM;
	}
	rc = mp_check_create(op->ctrlr, m);
	if (rc != 0) {
		return rc;
	}
	op->recreate = true;
	op->shadow.id = (uint16_t)m->qid;
	op->shadow.num_entries = (uint16_t)m->num_entries;
	op->shadow.sq_iova = m->sq_iova;
	op->shadow.cq_iova = m->cq_iova;
	return nvme_admin_create_io_cq(op->ctrlr, &op->shadow, mp_create_cq_done, op);
}

static int mp_delete_request(struct nvme_mp_work *op)
{
	struct nvme_mp_primary *p = op->p;
	struct nvme_mp_msg *m = op->msg;

	if (m->qid == 0 || m->qid > NVME_MAX_IO_QUEUES || p->owner[m->qid] != m->pid) {
		BRISK_ERRLOG("nvme %s: process %d asks to delete I/O queue %u, which is not its own\n",
			     op->ctrlr->trid.traddr, m->pid, m->qid);
		return -EPERM;
	}
	op->shadow.id = (uint16_t)m->qid;
	mp_delete_start(op);
	return 0;
}

static void mp_serve(struct brisk_nvme_ctrlr *ctrlr, struct nvme_mp_msg *m)
{
	struct nvme_mp_primary *p = ctrlr->mp;
	struct nvme_mp_work *op;
	int rc;

	if (m->op == NVME_MP_OP_ADMIN) {
		rc = nvme_mp_admin_serve(ctrlr, m); /* answered when the command completes */
		if (rc != 0) {
			nvme_mp_channel_reply(&p->ch, m, rc);
		}
		return;
	}
	op = calloc(1, sizeof(*op));
	if (op == NULL) {
		nvme_mp_channel_reply(&p->ch, m, -ENOMEM);
		return;
	}
	op->ctrlr = ctrlr;
	op->p = ctrlr->mp;
	op->msg = m;
	p->in_flight++;
	switch (m->op) {
	case NVME_MP_OP_CREATE_QPAIR: rc = mp_create_start(op); break;
	case NVME_MP_OP_DELETE_QPAIR: rc = mp_delete_request(op); break;
	case NVME_MP_OP_RECREATE_QPAIR:
		rc = mp_recreate_request(op);
		break;
	case NVME_MP_OP_NOP:
		mp_op_finish(op, 0);
		return;
	default:
		BRISK_ERRLOG("nvme %s: process %d sent unknown request %u\n", ctrlr->trid.traddr,
			     m->pid, m->op);
		rc = -EINVAL;
	}
	if (rc != 0) {
		mp_op_finish(op, rc);
	}
}

/* Queues whose owner has exited (or was killed) are deleted. */
static void mp_reap(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_primary *p = ctrlr->mp;
	struct nvme_mp_work *op;

	for (uint32_t qid = 1; qid <= NVME_MAX_IO_QUEUES && p->num_qpairs != 0; qid++) {
		if (p->owner[qid] <= 0 || nvme_mp_pid_alive(p->owner[qid])) {
			continue;
		}
		op = calloc(1, sizeof(*op));
		if (op == NULL) {
			return;
		}
		BRISK_NOTICELOG("nvme %s: process %d is gone: deleting its I/O queue %u\n",
				ctrlr->trid.traddr, p->owner[qid], qid);
		op->ctrlr = ctrlr;
		op->p = ctrlr->mp;
		op->shadow.id = (uint16_t)qid;
		p->in_flight++;
		mp_delete_start(op);
	}
}

static void mp_primary_poll(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_primary *p = ctrlr->mp;
	struct nvme_mp_msg *m;
	uint64_t now;

	if (nvme_ctrlr_is_failed(ctrlr) || ctrlr->resetting) {
		return;
	}
	while ((m = nvme_mp_channel_next(&p->ch)) != NULL) {
		mp_serve(ctrlr, m);
	}
	now = brisk_get_ticks();
	if (now >= p->next_serve_check) {
		p->next_serve_check = now + nvme_ticks_from_us(NVME_MP_SERVE_CHECK_US);
		nvme_pcie_ctrlr_serve_secondaries(ctrlr);
	}
	if (now >= p->next_reap_check) {
		p->next_reap_check = now + nvme_ticks_from_us(NVME_MP_REAP_CHECK_US);
		mp_reap(ctrlr);
	}
}

/* A reset deleted every I/O queue on the controller and re-created only the
 * primary's own qpairs. A secondary's rings and phase cannot be rewound
 * from here while it may still be submitting, so its queues are marked lost
 * and the count of resets each secondary's qpairs watch goes up: each
 * secondary qpair then aborts its commands, rewinds its rings and asks for
 * its queue again (NVME_MP_OP_RECREATE_QPAIR). Under the controller lock. */
void nvme_mp_reset_done(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_primary *p = ctrlr->mp;
	uint32_t n = 0;

	if (p == NULL || ctrlr->mp_secondary) {
		return;
	}
	for (uint32_t qid = 1; qid <= NVME_MAX_IO_QUEUES; qid++) {
		if (p->owner[qid] > 0) {
			p->lost[qid] = true;
			n++;
		}
	}
	__atomic_add_fetch(&p->shared->resets, 1, __ATOMIC_RELEASE);
	if (n != 0) {
		BRISK_NOTICELOG("nvme %s: the reset deleted %u I/O queues of secondary processes; "
				"they re-create them\n",
				ctrlr->trid.traddr, n);
	}
}

/* Deletes every secondary queue, waiting (bounded) for the commands. */
static void mp_delete_all(struct brisk_nvme_ctrlr *ctrlr, struct nvme_mp_primary *p)
{
	uint64_t end = brisk_get_time_us() + NVME_MP_DRAIN_TIMEOUT_US;
	struct nvme_mp_work *op;

	for (uint32_t qid = 1; qid <= NVME_MAX_IO_QUEUES && !nvme_ctrlr_is_failed(ctrlr); qid++) {
		if (p->owner[qid] > 0 && (op = calloc(1, sizeof(*op))) != NULL) {
			op->ctrlr = ctrlr;
			op->p = p;
			op->shadow.id = (uint16_t)qid;
			p->in_flight++;
			mp_delete_start(op);
		}
	}
	while (p->in_flight != 0 && !nvme_ctrlr_is_failed(ctrlr) && brisk_get_time_us() < end) {
		pthread_mutex_lock(&ctrlr->lock);
		nvme_ctrlr_poll_admin_locked(ctrlr);
		pthread_mutex_unlock(&ctrlr->lock);
	}
}

/* Stops sharing: no new secondary finds it, every secondary queue is deleted. */
static void mp_unshare(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_primary *p = ctrlr->mp;

	__atomic_store_n(&p->shared->magic, 0, __ATOMIC_RELEASE);
	mp_delete_all(ctrlr, p);
	pthread_mutex_lock(&ctrlr->lock);
	ctrlr->mp = NULL;
	pthread_mutex_unlock(&ctrlr->lock);
	if (p->in_flight != 0) {
		BRISK_WARNLOG("nvme %s: %u secondary requests left unfinished\n", ctrlr->trid.traddr,
			      p->in_flight);
		return; /* their callbacks may still run: keep p */
	}
	brisk_memzone_free(p->zone);
	nvme_mp_channel_destroy(&p->ch);
	free(p);
}

/* ---- Secondary ---- */

static struct nvme_mp_shared *mp_lookup_shared(const struct brisk_nvme_transport_id *trid)
{
	char zone[BRISK_MEMZONE_NAMESIZE];
	struct nvme_mp_shared *sh;

	mp_zone_name(trid, zone, sizeof(zone));
	sh = brisk_memzone_lookup(zone);
	/* Acquire pairs with the primary's release of magic in share. */
	if (sh == NULL || __atomic_load_n(&sh->magic, __ATOMIC_ACQUIRE) != NVME_MP_MAGIC) {
		return NULL;
	}
	return sh;
}

bool nvme_mp_is_shared(const struct brisk_nvme_transport_id *trid)
{
	return brisk_env_get_proc_type() == BRISK_PROC_SECONDARY &&
	       strlen(trid->traddr) <= NVME_MP_KEY_MAX && mp_lookup_shared(trid) != NULL;
}

/* Namespaces as the primary found them; the secondary's own copies. */
static int mp_copy_namespaces(struct brisk_nvme_ctrlr *ctrlr, const struct nvme_mp_shared *sh)
{
	ctrlr->num_ns = sh->num_ns;
	ctrlr->ns = calloc(sh->num_ns ? sh->num_ns : 1, sizeof(*ctrlr->ns));
	ctrlr->active_ns = calloc(sh->num_active_ns ? sh->num_active_ns : 1, sizeof(uint32_t));
	if (ctrlr->ns == NULL || ctrlr->active_ns == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < sh->num_active_ns; i++) {
		uint32_t nsid = sh->ns[i].id;
		struct brisk_nvme_ns *ns;

		if (nsid == 0 || nsid > ctrlr->num_ns || ctrlr->ns[nsid - 1] != NULL) {
			return -EPROTO;
		}
		ns = malloc(sizeof(*ns));
		if (ns == NULL) {
			return -ENOMEM;
		}
		*ns = sh->ns[i];
		ns->ctrlr = ctrlr;
		ctrlr->ns[nsid - 1] = ns;
		ctrlr->active_ns[ctrlr->num_active_ns++] = nsid;
	}
	return 0;
}

static int mp_secondary_init(struct brisk_nvme_ctrlr *ctrlr, struct nvme_mp_shared *sh)
{
	struct nvme_mp_secondary *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL) {
		return -ENOMEM;
	}
	ctrlr->mp = s;
	ctrlr->mp_secondary = true;
	s->shared = sh;
	rc = nvme_mp_channel_lookup(&s->ch, ctrlr->trid.traddr);
	if (rc != 0) {
		return rc;
	}
	ctrlr->cap.raw = sh->cap;
	ctrlr->vs.raw = sh->vs;
	ctrlr->cdata = sh->cdata;
	nvme_ctrlr_apply_cdata(ctrlr);
	ctrlr->max_io_queues = sh->max_io_queues;
	ctrlr->max_queue_entries = sh->max_queue_entries;
	ctrlr->state = NVME_CTRLR_STATE_READY;
	ctrlr->timeout_ticks = 0; /* a timeout's Abort would need the admin queue */
	return mp_copy_namespaces(ctrlr, sh);
}

struct brisk_nvme_ctrlr *nvme_mp_connect_secondary(const struct brisk_nvme_transport_id *trid,
						   const struct brisk_nvme_ctrlr_opts *opts)
{
	struct nvme_mp_shared *sh = mp_lookup_shared(trid);
	struct brisk_nvme_ctrlr *ctrlr;
	int rc;

	if (sh == NULL) {
		BRISK_ERRLOG("nvme %s: no primary process shares this controller\n", trid->traddr);
		return NULL;
	}
	ctrlr = nvme_pcie_ctrlr_construct_secondary(trid, opts);
	if (ctrlr == NULL) {
		return NULL;
	}
	rc = mp_secondary_init(ctrlr, sh);
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: cannot use the primary's controller: %s\n", trid->traddr,
			     strerror(-rc));
		nvme_mp_detach(ctrlr);
		ctrlr->ops->ctrlr_destruct(ctrlr);
		return NULL;
	}
	BRISK_NOTICELOG("nvme %s: attached as a secondary of process %d (%u namespaces)\n",
			trid->traddr, sh->primary_pid, ctrlr->num_active_ns);
	return ctrlr;
}

static bool mp_primary_alive(struct nvme_mp_secondary *s)
{
	return __atomic_load_n(&s->shared->magic, __ATOMIC_ACQUIRE) == NVME_MP_MAGIC &&
	       nvme_mp_pid_alive(s->shared->primary_pid);
}

static void mp_secondary_poll(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_secondary *s = ctrlr->mp;
	uint64_t now = brisk_get_ticks();

	if (now < s->next_primary_check || nvme_ctrlr_is_failed(ctrlr)) {
		return;
	}
	s->next_primary_check = now + nvme_ticks_from_us(NVME_MP_PRIMARY_CHECK_US);
	nvme_mp_secondary_check(ctrlr);
}

bool nvme_mp_secondary_check(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_secondary *s = ctrlr->mp;

	if (s == NULL || !ctrlr->mp_secondary) {
		return true;
	}
	if (!mp_primary_alive(s)) {
		nvme_ctrlr_set_failed(ctrlr, "the primary process stopped sharing it");
		return false;
	}
	return true; /* a reset is each qpair's to notice (nvme_mp_qpair_recover) */
}

/* Sends msg and waits for the answer (or the primary's end, or a timeout). */
static int mp_call(struct brisk_nvme_ctrlr *ctrlr, struct nvme_mp_msg *msg)
{
	struct nvme_mp_secondary *s = ctrlr->mp;
	uint64_t end = brisk_get_time_us() + NVME_MP_CALL_TIMEOUT_US;
	struct nvme_mp_msg *slot;
	int rc;

	while ((rc = nvme_mp_channel_send(&s->ch, msg, &slot)) == -EBUSY &&
	       brisk_get_time_us() < end && mp_primary_alive(s)) {
		sched_yield();
	}
	if (rc != 0) {
		return rc == -EBUSY ? -ETIMEDOUT : rc;
	}
	/* 0 (answered) or -EAGAIN only. */
	while (nvme_mp_channel_result(&s->ch, slot, msg) == -EAGAIN) {
		if (brisk_get_time_us() >= end || !mp_primary_alive(s)) {
			if (nvme_mp_channel_abandon(&s->ch, slot) == 0) {
				BRISK_ERRLOG("nvme %s: the primary process did not answer\n",
					     ctrlr->trid.traddr);
				return -ETIMEDOUT;
			}
		}
		sched_yield();
	}
	return msg->rc;
}

struct brisk_nvme_qpair *nvme_mp_alloc_io_qpair(struct brisk_nvme_ctrlr *ctrlr, uint32_t entries,
					       uint32_t requests)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_CREATE_QPAIR };
	struct brisk_nvme_qpair *qpair;
	int rc;

	/* Queue id 0 until the primary gives one: doorbells are set then. */
	qpair = nvme_qpair_create(ctrlr, 0, entries, requests);
	if (qpair == NULL) {
		return NULL;
	}
	msg.num_entries = entries;
	msg.sq_iova = qpair->sq_iova;
	msg.cq_iova = qpair->cq_iova;
	rc = mp_call(ctrlr, &msg);
	if (rc != 0 || msg.qid == 0 || msg.qid > NVME_MAX_IO_QUEUES) {
		BRISK_ERRLOG("nvme %s: the primary process did not create an I/O queue: %s\n",
			     ctrlr->trid.traddr, strerror(rc != 0 ? -rc : EPROTO));
		nvme_qpair_destroy(qpair);
		return NULL;
	}
	qpair->id = (uint16_t)msg.qid;
	qpair->mp_resets = &((struct nvme_mp_secondary *)ctrlr->mp)->shared->resets;
	qpair->mp_epoch = msg.resets;
	ctrlr->ops->qpair_init_doorbells(qpair);
	qpair->is_enabled = true;
	pthread_mutex_lock(&ctrlr->lock);
	TAILQ_INSERT_TAIL(&ctrlr->io_qpairs, qpair, link);
	pthread_mutex_unlock(&ctrlr->lock);
	return qpair;
}

void nvme_mp_delete_io_queues(struct brisk_nvme_qpair *qpair)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_DELETE_QPAIR, .qid = qpair->id };
	int rc;

	nvme_qpair_flush_sq(qpair);
	rc = mp_call(qpair->ctrlr, &msg);
	if (rc == 0) {
		nvme_qpair_drain_cq(qpair); /* commands that finished before the SQ went */
	} else {
		BRISK_WARNLOG("nvme %s: the primary process did not delete I/O queue %u: %s\n",
			      qpair->ctrlr->trid.traddr, qpair->id, strerror(-rc));
	}
}

/* The primary reset the controller, which deleted this qpair's queues: like
 * a fabric disconnect, its commands complete with ABORTED_SQ_DELETION (not
 * DNR: the caller may resubmit), its rings start again empty (only this
 * process may touch them) and the primary re-creates the queues at the same
 * memory and id. Software-queued requests are kept. Blocks for the answer. */
void nvme_mp_qpair_recover(struct brisk_nvme_qpair *qpair)
{
	struct nvme_mp_msg msg = { .op = NVME_MP_OP_RECREATE_QPAIR, .qid = qpair->id };
	struct brisk_nvme_ctrlr *ctrlr = qpair->ctrlr;
	int rc;

	BRISK_NOTICELOG("nvme %s: the primary process reset the controller: re-creating I/O queue "
			"%u (%u commands aborted)\n",
			ctrlr->trid.traddr, qpair->id, qpair->num_outstanding);
	nvme_qpair_abort_outstanding(qpair, BRISK_NVME_SCT_GENERIC, BRISK_NVME_SC_ABORTED_SQ_DELETION, false);
	nvme_qpair_reset_rings(qpair);
	msg.num_entries = qpair->num_entries;
	msg.sq_iova = qpair->sq_iova;
	msg.cq_iova = qpair->cq_iova;
	rc = mp_call(ctrlr, &msg);
	if (rc != 0) {
		qpair->mp_resets = NULL;
		BRISK_ERRLOG("nvme %s: the primary process did not re-create I/O queue %u: %s\n", ctrlr->trid.traddr,
			     qpair->id, strerror(-rc));
		nvme_ctrlr_set_failed(ctrlr, "the primary process reset the controller and could not "
					     "re-create this process's I/O queues");
		return;
	}
	qpair->mp_epoch = msg.resets;
}

/* ---- Both ---- */

void nvme_mp_poll_locked(struct brisk_nvme_ctrlr *ctrlr)
{
	if (ctrlr->mp_secondary) {
		mp_secondary_poll(ctrlr);
	} else {
		mp_primary_poll(ctrlr);
	}
}

void nvme_mp_detach(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_mp_secondary *s;

	if (ctrlr->mp == NULL) {
		return;
	}
	if (!ctrlr->mp_secondary) {
		mp_unshare(ctrlr);
		return;
	}
	nvme_mp_admin_abort_all(ctrlr);
	s = ctrlr->mp;
	nvme_mp_channel_destroy(&s->ch);
	free(s);
	ctrlr->mp = NULL; /* mp_secondary stays: the view has no admin queue */
}
