/*
 * LBA ranges in flight on a namespace, so a fused Compare-and-Write is
 * atomic with respect to every other write on it: the bdev layer has no
 * compare-and-write I/O type, so lib/nvmf keeps the ranges itself. Writes
 * register their range and wait only for an overlapping Compare-and-Write;
 * a Compare-and-Write waits for any overlapping write or pair. Poll groups
 * on several threads share a namespace, hence the mutex (held for a list
 * walk only). A request that must wait goes on its connection's deferred
 * list, which its poll group retries on every poll (the request counts as
 * outstanding, so the poll group keeps polling until it has run). Holders
 * and waiters count as users of the namespace, which a removal frees only
 * once the last of them is gone.
 */
#include <stdlib.h>

#include "nvmf_internal.h"

void nvmf_range_init(struct nvmf_ns *ns)
{
	pthread_mutex_init(&ns->range_mutex, NULL);
	TAILQ_INIT(&ns->range_writes);
	TAILQ_INIT(&ns->range_caws);
}

static void ns_free(struct nvmf_ns *ns)
{
	pthread_mutex_destroy(&ns->range_mutex);
	nvmf_resv_fini(&ns->resv);
	free(ns);
}

/* The namespace left its subsystem (its bdev is closed): freed now, or by
 * the last range user. */
void nvmf_range_ns_removed(struct nvmf_ns *ns)
{
	bool now;

	pthread_mutex_lock(&ns->range_mutex);
	ns->removed = true;
	now = ns->range_users == 0;
	pthread_mutex_unlock(&ns->range_mutex);
	if (now) {
		ns_free(ns);
	}
}

static void range_unuse(struct nvmf_ns *ns)
{
	bool last;

	pthread_mutex_lock(&ns->range_mutex);
	last = --ns->range_users == 0 && ns->removed;
	pthread_mutex_unlock(&ns->range_mutex);
	if (last) {
		ns_free(ns);
	}
}

static void range_use(struct nvmf_ns *ns)
{
	pthread_mutex_lock(&ns->range_mutex);
	ns->range_users++;
	pthread_mutex_unlock(&ns->range_mutex);
}

/* False when the request's namespace was removed while it waited (the
 * subsystem's table is cleared before the namespace is released). */
bool nvmf_range_ns_current(const struct nvmf_req *req)
{
	return nvmf_subsystem_get_ns(req->conn->ctrlr->subsys, req->ns->nsid) == req->ns;
}

static bool overlaps(const struct nvmf_req *r, uint64_t slba, uint64_t nlb)
{
	return r->range_slba < slba + nlb && slba < r->range_slba + r->range_nlb;
}

static bool list_overlaps(struct nvmf_req *head, uint64_t slba, uint64_t nlb)
{
	for (struct nvmf_req *r = head; r != NULL; r = TAILQ_NEXT(r, range_link)) {
		if (overlaps(r, slba, nlb)) {
			return true;
		}
	}
	return false;
}

static void hold(struct nvmf_req *req, uint64_t slba, uint64_t nlb)
{
	req->range_slba = slba;
	req->range_nlb = nlb;
	req->range_held = true;
	req->ns->range_users++;
}

/* True when the write may run now (its range is then held). */
bool nvmf_range_try_write(struct nvmf_ns *ns, struct nvmf_req *req, uint64_t slba, uint64_t nlb)
{
	bool ok;

	pthread_mutex_lock(&ns->range_mutex);
	ok = !list_overlaps(TAILQ_FIRST(&ns->range_caws), slba, nlb);
	if (ok) {
		hold(req, slba, nlb);
		TAILQ_INSERT_TAIL(&ns->range_writes, req, range_link);
	}
	pthread_mutex_unlock(&ns->range_mutex);
	return ok;
}

/* True when the Compare-and-Write may run now (its range is then held). */
bool nvmf_range_try_caw(struct nvmf_ns *ns, struct nvmf_req *req, uint64_t slba, uint64_t nlb)
{
	bool ok;

	pthread_mutex_lock(&ns->range_mutex);
	ok = !list_overlaps(TAILQ_FIRST(&ns->range_caws), slba, nlb) &&
	     !list_overlaps(TAILQ_FIRST(&ns->range_writes), slba, nlb);
	if (ok) {
		hold(req, slba, nlb);
		TAILQ_INSERT_TAIL(&ns->range_caws, req, range_link);
	}
	pthread_mutex_unlock(&ns->range_mutex);
	return ok;
}

void nvmf_range_release(struct nvmf_ns *ns, struct nvmf_req *req)
{
	if (!req->range_held) {
		return;
	}
	pthread_mutex_lock(&ns->range_mutex);
	if (req->fused_running) {
		TAILQ_REMOVE(&ns->range_caws, req, range_link);
	} else {
		TAILQ_REMOVE(&ns->range_writes, req, range_link);
	}
	pthread_mutex_unlock(&ns->range_mutex);
	req->range_held = false;
	range_unuse(ns);
}

void nvmf_range_defer(struct nvmf_req *req)
{
	range_use(req->ns);
	TAILQ_INSERT_TAIL(&req->conn->deferred, req, link);
}

/* Runs the connection's waiting requests again (dead connections too: they
 * then fail, which lets the connection be freed). */
void nvmf_range_retry_deferred(struct nvmf_conn *c)
{
	TAILQ_HEAD(, nvmf_req) todo = TAILQ_HEAD_INITIALIZER(todo);
	struct nvmf_req *req;

	TAILQ_CONCAT(&todo, &c->deferred, link);
	while ((req = TAILQ_FIRST(&todo)) != NULL) {
		struct nvmf_ns *ns = req->ns; /* kept allocated until the resume is done */

		TAILQ_REMOVE(&todo, req, link);
		if (req->fused_running) {
			nvmf_fused_resume(req);
		} else {
			nvmf_io_resume(req);
		}
		range_unuse(ns);
	}
}
