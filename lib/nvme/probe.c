/*
 * Probe, attach and detach. A probe asks the transport to list the
 * controllers a transport ID covers, offers each one not attached yet to
 * the caller's probe callback, brings up those it accepts side by side
 * (each through its own state machine) and hands them to attach_cb.
 * Controllers attached earlier whose device has gone go to remove_cb.
 */
#include <errno.h>
#include <stdlib.h>

#include "nvme_internal.h"

struct brisk_nvme_probe_ctx {
	struct brisk_nvme_transport_id trid;
	const struct nvme_transport_ops *ops;
	void *cb_ctx;
	brisk_nvme_probe_cb probe_cb;
	brisk_nvme_attach_cb attach_cb;
	brisk_nvme_remove_cb remove_cb;
	TAILQ_HEAD(, brisk_nvme_ctrlr) initializing;
};

/* Attached controllers, looked up by probes from any thread. */
static TAILQ_HEAD(, brisk_nvme_ctrlr) g_attached = TAILQ_HEAD_INITIALIZER(g_attached);
static pthread_mutex_t g_attached_lock = PTHREAD_MUTEX_INITIALIZER;

bool nvme_ctrlr_is_attached(const struct brisk_nvme_transport_id *trid)
{
	struct brisk_nvme_ctrlr *ctrlr;
	bool found = false;

	pthread_mutex_lock(&g_attached_lock);
	TAILQ_FOREACH(ctrlr, &g_attached, link) {
		if (brisk_nvme_transport_id_compare(&ctrlr->trid, trid) == 0) {
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&g_attached_lock);
	return found;
}

static void probe_attached_add(struct brisk_nvme_ctrlr *ctrlr)
{
	pthread_mutex_lock(&g_attached_lock);
	TAILQ_INSERT_TAIL(&g_attached, ctrlr, link);
	pthread_mutex_unlock(&g_attached_lock);
}

void nvme_probe_found(struct brisk_nvme_probe_ctx *ctx, const struct brisk_nvme_transport_id *trid,
		      void *dev)
{
	struct brisk_nvme_ctrlr_opts opts;
	struct brisk_nvme_ctrlr *ctrlr;

	if (nvme_ctrlr_is_attached(trid)) {
		ctx->ops->dev_free(dev);
		return;
	}
	brisk_nvme_ctrlr_get_default_opts(&opts);
	if (ctx->probe_cb != NULL && !ctx->probe_cb(ctx->cb_ctx, trid, &opts)) {
		ctx->ops->dev_free(dev);
		return;
	}
	ctrlr = ctx->ops->ctrlr_construct(trid, &opts, dev);
	if (ctrlr == NULL) {
		return;
	}
	nvme_ctrlr_start_init(ctrlr, false);
	TAILQ_INSERT_TAIL(&ctx->initializing, ctrlr, link);
}

#define PROBE_MAX_REMOVED 64

/* Attached controllers of this transport whose device has gone, each
 * reported once; remove_cb runs without the list lock (it may detach). */
static void probe_check_removed(struct brisk_nvme_probe_ctx *ctx)
{
	struct brisk_nvme_ctrlr *gone[PROBE_MAX_REMOVED], *ctrlr;
	int n = 0;

	if (ctx->remove_cb == NULL) {
		return;
	}
	pthread_mutex_lock(&g_attached_lock);
	TAILQ_FOREACH(ctrlr, &g_attached, link) {
		if (ctrlr->ops == ctx->ops && !ctrlr->remove_reported && n < PROBE_MAX_REMOVED &&
		    (ctrlr->removed || (ctrlr->ops->is_removed != NULL && ctrlr->ops->is_removed(ctrlr)))) {
			ctrlr->remove_reported = true;
			gone[n++] = ctrlr;
		}
	}
	pthread_mutex_unlock(&g_attached_lock);
	for (int i = 0; i < n; i++) {
		gone[i]->removed = true;
		nvme_ctrlr_set_failed(gone[i], "device removed");
		ctx->remove_cb(ctx->cb_ctx, gone[i]);
	}
}

static int probe_start(const struct brisk_nvme_transport_id *trid, void *cb_ctx,
		       brisk_nvme_probe_cb probe_cb, brisk_nvme_attach_cb attach_cb,
		       brisk_nvme_remove_cb remove_cb, struct brisk_nvme_probe_ctx **out)
{
	struct brisk_nvme_probe_ctx *ctx = calloc(1, sizeof(*ctx));
	int rc;

	if (ctx == NULL) {
		return -ENOMEM;
	}
	ctx->trid.trtype = BRISK_NVME_TRANSPORT_PCIE;
	if (trid != NULL) {
		ctx->trid = *trid;
	}
	ctx->ops = nvme_transport_get(ctx->trid.trtype);
	if (ctx->ops == NULL) {
		BRISK_ERRLOG("nvme: transport %s is not available\n",
			     brisk_nvme_transport_id_trtype_str(ctx->trid.trtype) ?: "(unknown)");
		free(ctx);
		return -ENOTSUP;
	}
	ctx->cb_ctx = cb_ctx;
	ctx->probe_cb = probe_cb;
	ctx->attach_cb = attach_cb;
	ctx->remove_cb = remove_cb;
	TAILQ_INIT(&ctx->initializing);
	probe_check_removed(ctx);
	rc = ctx->ops->scan(ctx, &ctx->trid);
	if (rc != 0 && TAILQ_EMPTY(&ctx->initializing)) {
		free(ctx);
		return rc;
	}
	*out = ctx;
	return 0;
}

struct brisk_nvme_probe_ctx *brisk_nvme_probe_async(const struct brisk_nvme_transport_id *trid,
						    void *cb_ctx, brisk_nvme_probe_cb probe_cb,
						    brisk_nvme_attach_cb attach_cb,
						    brisk_nvme_remove_cb remove_cb)
{
	struct brisk_nvme_probe_ctx *ctx = NULL;
	int rc = probe_start(trid, cb_ctx, probe_cb, attach_cb, remove_cb, &ctx);

	if (rc != 0) {
		errno = -rc;
		return NULL;
	}
	return ctx;
}

static void probe_poll_one(struct brisk_nvme_probe_ctx *ctx, struct brisk_nvme_ctrlr *ctrlr)
{
	int rc = nvme_ctrlr_process_init(ctrlr);

	if (rc == -EAGAIN) {
		return;
	}
	TAILQ_REMOVE(&ctx->initializing, ctrlr, link);
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: not attached (%d)\n", ctrlr->trid.traddr, rc);
		ctrlr->ops->ctrlr_destruct(ctrlr);
		return;
	}
	probe_attached_add(ctrlr);
	if (ctx->attach_cb != NULL) {
		ctx->attach_cb(ctx->cb_ctx, &ctrlr->trid, ctrlr, &ctrlr->opts);
	}
}

int brisk_nvme_probe_poll_async(struct brisk_nvme_probe_ctx *ctx)
{
	struct brisk_nvme_ctrlr *ctrlr, *tmp;

	TAILQ_FOREACH_SAFE(ctrlr, &ctx->initializing, link, tmp) {
		probe_poll_one(ctx, ctrlr);
	}
	if (!TAILQ_EMPTY(&ctx->initializing)) {
		return -EAGAIN;
	}
	free(ctx);
	return 0;
}

int brisk_nvme_probe(const struct brisk_nvme_transport_id *trid, void *cb_ctx,
		     brisk_nvme_probe_cb probe_cb, brisk_nvme_attach_cb attach_cb,
		     brisk_nvme_remove_cb remove_cb)
{
	struct brisk_nvme_probe_ctx *ctx = NULL;
	int rc = probe_start(trid, cb_ctx, probe_cb, attach_cb, remove_cb, &ctx);

	if (rc != 0) {
		return rc;
	}
	while (brisk_nvme_probe_poll_async(ctx) == -EAGAIN) {
		;
	}
	return 0;
}

struct brisk_nvme_ctrlr *brisk_nvme_connect(const struct brisk_nvme_transport_id *trid,
					    const struct brisk_nvme_ctrlr_opts *opts)
{
	const struct nvme_transport_ops *ops;
	struct brisk_nvme_ctrlr *ctrlr;

	if (trid == NULL || trid->traddr[0] == '\0') {
		BRISK_ERRLOG("nvme: connect needs a transport ID with traddr\n");
		return NULL;
	}
	ops = nvme_transport_get(trid->trtype);
	if (ops == NULL) {
		BRISK_ERRLOG("nvme: no transport for trtype %d\n", (int)trid->trtype);
		return NULL;
	}
	if (nvme_ctrlr_is_attached(trid)) {
		BRISK_ERRLOG("nvme %s: already attached\n", trid->traddr);
		return NULL;
	}
	ctrlr = ops->ctrlr_construct(trid, opts, NULL);
	if (ctrlr == NULL) {
		return NULL;
	}
	nvme_ctrlr_start_init(ctrlr, false);
	if (nvme_ctrlr_init_sync(ctrlr) != 0) {
		ops->ctrlr_destruct(ctrlr);
		return NULL;
	}
	probe_attached_add(ctrlr);
	return ctrlr;
}

int brisk_nvme_detach(struct brisk_nvme_ctrlr *ctrlr)
{
	struct brisk_nvme_qpair *qpair;

	if (ctrlr == NULL) {
		return -EINVAL;
	}
	pthread_mutex_lock(&g_attached_lock);
	TAILQ_REMOVE(&g_attached, ctrlr, link);
	pthread_mutex_unlock(&g_attached_lock);
	while ((qpair = TAILQ_FIRST(&ctrlr->io_qpairs)) != NULL) {
		brisk_nvme_ctrlr_free_io_qpair(qpair);
	}
	nvme_ctrlr_shutdown(ctrlr);
	ctrlr->ops->ctrlr_destruct(ctrlr);
	return 0;
}
