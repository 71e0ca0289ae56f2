/*
 * NVMe controllers of the bdev module, by name (Nvme0): attach without
 * blocking the reactor (the driver's asynchronous probe, polled by a timed
 * poller), the admin queue poller, and deletion (bdevs unregistered, every
 * channel released, then the controller detached) after an RPC, a failure
 * or a surprise removal. Everything here runs on the controller's thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/string.h>

#include "bdev_nvme.h"

#define ATTACH_POLL_US 1000

static TAILQ_HEAD(, nvme_ctrlr) g_ctrlrs = TAILQ_HEAD_INITIALIZER(g_ctrlrs);

/* An attach in progress: the driver's probe, polled until bring-up ends. */
struct attach_ctx {
	struct bdev_nvme_attach_opts opts;
	char name[NVME_CTRLR_NAME_MAX];
	char hostnqn[BRISK_NVMF_NQN_MAX_LEN + 1];
	struct brisk_nvme_probe_ctx *probe;
	struct brisk_poller *poller;
	struct brisk_nvme_ctrlr *ctrlr;
	struct nvme_ctrlr *nctrlr;
	uint64_t hotplug_probe;        /* the hotplug probe waited for (0: none) */
	int rc;
	bdev_nvme_attach_cb cb;
	void *cb_arg;
	TAILQ_ENTRY(attach_ctx) link;
};
static TAILQ_HEAD(, attach_ctx) g_attaches = TAILQ_HEAD_INITIALIZER(g_attaches);
static bool g_module_finishing;

static int bdev_nvme_module_init(void);
static void bdev_nvme_module_fini(void);

static int bdev_nvme_get_ctx_size(void)
{
	return bdev_nvme_io_ctx_size();
}

struct brisk_bdev_module g_nvme_if = {
	.name = "nvme",
	.module_init = bdev_nvme_module_init,
	.module_fini = bdev_nvme_module_fini,
	.config_json = bdev_nvme_config_json,
	.get_ctx_size = bdev_nvme_get_ctx_size,
	.async_fini = true,
};
BRISK_BDEV_MODULE_REGISTER(nvme, &g_nvme_if)

/* ---- Lookup ---- */

struct nvme_ctrlr *bdev_nvme_ctrlr_get(const char *name)
{
	struct nvme_ctrlr *c;

	TAILQ_FOREACH(c, &g_ctrlrs, link) {
		if (strcmp(c->name, name) == 0) {
			return c;
		}
	}
	return NULL;
}

struct nvme_ctrlr *bdev_nvme_ctrlr_get_by_trid(const struct brisk_nvme_transport_id *trid)
{
	struct nvme_ctrlr *c;

	TAILQ_FOREACH(c, &g_ctrlrs, link) {
		if (brisk_nvme_transport_id_compare(&c->trid, trid) == 0) {
			return c;
		}
	}
	return NULL;
}

struct nvme_ctrlr *bdev_nvme_ctrlr_get_by_driver(struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_ctrlr *c;

	TAILQ_FOREACH(c, &g_ctrlrs, link) {
		if (c->ctrlr == ctrlr) {
			return c;
		}
	}
	return NULL;
}

struct nvme_ctrlr *bdev_nvme_ctrlr_first(void)
{
	return TAILQ_FIRST(&g_ctrlrs);
}

struct nvme_ctrlr *bdev_nvme_ctrlr_next(struct nvme_ctrlr *prev)
{
	return TAILQ_NEXT(prev, link);
}

static bool attach_name_pending(const char *name)
{
	struct attach_ctx *a;

	TAILQ_FOREACH(a, &g_attaches, link) {
		if (strcmp(a->name, name) == 0) {
			return true;
		}
	}
	return false;
}

bool bdev_nvme_name_taken(const char *name)
{
	return bdev_nvme_ctrlr_get(name) != NULL || attach_name_pending(name);
}

bool bdev_nvme_attach_pending(const struct brisk_nvme_transport_id *trid)
{
	struct attach_ctx *a;

	TAILQ_FOREACH(a, &g_attaches, link) {
		if (brisk_nvme_transport_id_compare(&a->opts.trid, trid) == 0) {
			return true;
		}
	}
	return false;
}

/* A hotplug probe that started before the attach of trid brought the device
 * up: the attach, waiting for that probe, takes the controller. */
bool bdev_nvme_attach_take(const struct brisk_nvme_transport_id *trid, struct brisk_nvme_ctrlr *ctrlr)
{
	struct attach_ctx *a;

	TAILQ_FOREACH(a, &g_attaches, link) {
		if (a->hotplug_probe != 0 && a->ctrlr == NULL &&
		    brisk_nvme_transport_id_compare(&a->opts.trid, trid) == 0) {
			BRISK_NOTICELOG("nvme: %s takes the controller at %s that hotplug brought up\n",
					a->name, trid->traddr);
			a->ctrlr = ctrlr;
			return true;
		}
	}
	return false;
}

/* ---- Admin queue ---- */

static int ctrlr_admin_poll(void *arg)
{
	struct nvme_ctrlr *nctrlr = arg;
	int32_t n;

	if (nctrlr->resetting) {
		return BRISK_POLLER_IDLE;
	}
	n = brisk_nvme_ctrlr_process_admin_completions(nctrlr->ctrlr);
	if (!nctrlr->failed && (n < 0 || brisk_nvme_ctrlr_is_failed(nctrlr->ctrlr) ||
				brisk_nvme_ctrlr_is_removed(nctrlr->ctrlr))) {
		bdev_nvme_ctrlr_lost(nctrlr);
		return BRISK_POLLER_BUSY;
	}
	return n > 0 ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
}

/* ---- Deletion: bdevs, then channels, then the controller ---- */

static void ctrlr_delete_device_gone(void *io_device);

static bool has_secondaries(const struct nvme_ctrlr *primary)
{
	struct nvme_ctrlr *c;

	TAILQ_FOREACH(c, &g_ctrlrs, link) {
		if (c->primary == primary) {
			return true;
		}
	}
	return false;
}

/* A primary whose bdevs are gone waits for its secondaries (they reach its
 * channels and namespaces until they are detached). */
static void ctrlr_unregister_when_alone(struct nvme_ctrlr *primary)
{
	if (primary->deleting && primary->unregistering == 0 && !has_secondaries(primary)) {
		brisk_io_device_unregister(primary, ctrlr_delete_device_gone);
	}
}

static void ctrlr_delete_detach(struct nvme_ctrlr *nctrlr)
{
	bdev_nvme_done_cb cb = nctrlr->delete_cb;
	void *cb_arg = nctrlr->delete_cb_arg;
	struct nvme_ctrlr *primary = nctrlr->primary;

	brisk_poller_unregister(&nctrlr->admin_poller);
	TAILQ_REMOVE(&g_ctrlrs, nctrlr, link);
	BRISK_NOTICELOG("nvme: controller %s detached\n", nctrlr->name);
	/* A failed or removed controller gets no shutdown notification: the
	 * driver only frees it. */
	brisk_nvme_detach(nctrlr->ctrlr);
	bdev_nvme_mp_ctrlr_free(nctrlr);
	free(nctrlr);
	if (primary != NULL) {
		ctrlr_unregister_when_alone(primary);
	}
	if (cb != NULL) {
		cb(cb_arg, 0);
	}
	if (g_module_finishing && TAILQ_EMPTY(&g_ctrlrs) && TAILQ_EMPTY(&g_attaches)) {
		brisk_bdev_module_fini_done();
	}
}

static void ctrlr_delete_device_gone(void *io_device)
{
	ctrlr_delete_detach(io_device);
}

/* A secondary: no channel of the primary reaches it any more. */
static void ctrlr_delete_paths_gone(void *arg) { brisk_io_device_unregister(arg, ctrlr_delete_device_gone); }

static void ctrlr_delete_bdev_done(void *arg, int rc)
{
	struct nvme_ctrlr *nctrlr = arg;

	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: a bdev unregister failed: %d\n", nctrlr->name, rc);
	}
	if (--nctrlr->unregistering == 0 && nctrlr->primary != NULL) {
		bdev_nvme_mp_ctrlr_release(nctrlr, ctrlr_delete_paths_gone, nctrlr);
	} else if (nctrlr->unregistering == 0) {
		ctrlr_unregister_when_alone(nctrlr);
	}
}

void bdev_nvme_ctrlr_delete(struct nvme_ctrlr *nctrlr, bdev_nvme_done_cb cb, void *cb_arg)
{
	struct nvme_ns *ns, *next;
	struct nvme_ctrlr *c;
	uint32_t count = 0;

	/* The primary's bdevs go: its secondaries' paths with them. */
	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		if (c->primary == nctrlr && !c->deleting) {
			bdev_nvme_ctrlr_delete(c, NULL, NULL);
		}
	}
	bdev_nvme_reconnect_stop(nctrlr); /* held I/O fails */
	nctrlr->deleting = true;
	nctrlr->delete_cb = cb;
	nctrlr->delete_cb_arg = cb_arg;
	TAILQ_FOREACH(ns, &nctrlr->namespaces, link) {
		count++;
	}
	/* One extra count, dropped below, so that a bdev whose unregister
	 * finishes early cannot end the deletion while the loop runs. */
	nctrlr->unregistering = count + 1;
	for (ns = TAILQ_FIRST(&nctrlr->namespaces); ns != NULL; ns = next) {
		next = TAILQ_NEXT(ns, link);
		brisk_bdev_unregister(&ns->bdev, ctrlr_delete_bdev_done, nctrlr);
	}
	ctrlr_delete_bdev_done(nctrlr, 0);
}

int bdev_nvme_detach(const char *name, bdev_nvme_done_cb cb, void *cb_arg)
{
	struct nvme_ctrlr *nctrlr = name != NULL ? bdev_nvme_ctrlr_get(name) : NULL;

	if (nctrlr == NULL) {
		BRISK_ERRLOG("nvme: no controller named '%s'\n", name != NULL ? name : "(null)");
		return -ENODEV;
	}
	if (nctrlr->deleting) {
		BRISK_ERRLOG("nvme: controller %s is already being detached\n", name);
		return -EBUSY;
	}
	if (nctrlr->resetting) {
		BRISK_ERRLOG("nvme: controller %s is resetting; detach it afterwards\n", name);
		return -EBUSY;
	}
	bdev_nvme_ctrlr_delete(nctrlr, cb, cb_arg);
	return 0;
}

static void ctrlr_lost_channel(struct brisk_io_channel_iter *i)
{
	/* Poll once more so that I/O in flight completes (with errors) even on
	 * a channel whose poller was paused by a reset. */
	bdev_nvme_channel_resume(brisk_io_channel_iter_get_channel(i));
	brisk_for_each_channel_continue(i, 0);
}

static void ctrlr_lost_channels_done(struct brisk_io_channel_iter *i, int status)
{
	struct nvme_ctrlr *nctrlr = brisk_io_channel_iter_get_ctx(i);

	if (!nctrlr->deleting) {
		bdev_nvme_ctrlr_delete(nctrlr, NULL, NULL);
	}
}

static void ctrlr_lost_msg(void *arg)
{
	struct nvme_ctrlr *nctrlr = arg;

	if (nctrlr->failed || bdev_nvme_reconnect_start(nctrlr)) {
		return;
	}
	bdev_nvme_ctrlr_fail_and_delete(nctrlr);
}

void bdev_nvme_ctrlr_fail_and_delete(struct nvme_ctrlr *nctrlr)
{
	if (nctrlr->failed) {
		return;
	}
	nctrlr->failed = true;
	BRISK_ERRLOG("nvme: controller %s %s: failing its I/O and removing its bdevs\n", nctrlr->name,
		     brisk_nvme_ctrlr_is_removed(nctrlr->ctrlr) ? "was removed" : "failed");
	brisk_nvme_ctrlr_fail(nctrlr->ctrlr);
	brisk_for_each_channel(nctrlr, ctrlr_lost_channel, nctrlr, ctrlr_lost_channels_done);
}

void bdev_nvme_ctrlr_lost(struct nvme_ctrlr *nctrlr)
{
	if (brisk_get_thread() == nctrlr->thread) {
		ctrlr_lost_msg(nctrlr);
		return;
	}
	if (brisk_thread_send_msg(nctrlr->thread, ctrlr_lost_msg, nctrlr) != 0) {
		BRISK_ERRLOG("nvme %s: cannot reach the controller's thread\n", nctrlr->name);
	}
}

/* ---- Attach ---- */

static int attach_check_trid(const struct brisk_nvme_transport_id *trid)
{
	if (trid->traddr[0] == '\0') {
		BRISK_ERRLOG("nvme: traddr is missing\n");
		return -EINVAL;
	}
	if (trid->trtype == BRISK_NVME_TRANSPORT_TCP) {
		if (trid->adrfam != BRISK_NVMF_ADRFAM_IPV4 && trid->adrfam != BRISK_NVMF_ADRFAM_IPV6) {
			BRISK_ERRLOG("nvme: adrfam must be IPv4 or IPv6 for TCP\n");
			return -EINVAL;
		}
		if (trid->trsvcid[0] == '\0' || trid->subnqn[0] == '\0') {
			BRISK_ERRLOG("nvme: %s is missing (needed for TCP)\n",
				     trid->trsvcid[0] == '\0' ? "trsvcid" : "subnqn");
			return -EINVAL;
		}
	} else if (trid->trtype != BRISK_NVME_TRANSPORT_PCIE) {
		BRISK_ERRLOG("nvme: trtype %d is not supported (PCIe or TCP)\n", (int)trid->trtype);
		return -EINVAL;
	}
	return 0;
}

static int attach_check(const struct bdev_nvme_attach_opts *opts)
{
	struct nvme_ctrlr *other;
	int rc;

	if (opts->name == NULL || opts->name[0] == '\0' || strlen(opts->name) >= NVME_CTRLR_NAME_MAX - 12) {
		BRISK_ERRLOG("nvme: name must be 1 to %d characters\n", NVME_CTRLR_NAME_MAX - 13);
		return -EINVAL;
	}
	if (g_module_finishing) {
		return -ESHUTDOWN;
	}
	if ((bdev_nvme_ctrlr_get(opts->name) != NULL && bdev_nvme_mp_primary_for(opts) == NULL) ||
	    attach_name_pending(opts->name)) {
		BRISK_ERRLOG("nvme: a controller named %s already exists\n", opts->name);
		return -EEXIST;
	}
	rc = attach_check_trid(&opts->trid);
	if (rc != 0) {
		return rc;
	}
	other = bdev_nvme_ctrlr_get_by_trid(&opts->trid);
	if (other != NULL || bdev_nvme_attach_pending(&opts->trid)) {
		BRISK_ERRLOG("nvme: traddr %s is already attached%s%s\n", opts->trid.traddr,
			     other != NULL ? " as " : "", other != NULL ? other->name : "");
		return -EALREADY;
	}
	if (opts->hostnqn != NULL && strlen(opts->hostnqn) > BRISK_NVMF_NQN_MAX_LEN) {
		BRISK_ERRLOG("nvme: hostnqn is longer than %d characters\n", BRISK_NVMF_NQN_MAX_LEN);
		return -EINVAL;
	}
	return 0;
}

static bool attach_probe_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
			    struct brisk_nvme_ctrlr_opts *opts)
{
	struct attach_ctx *a = cb_ctx;

	if (brisk_nvme_transport_id_compare(trid, &a->opts.trid) != 0) {
		return false;
	}
	if (a->hostnqn[0] != '\0') {
		brisk_strcpy_pad(opts->hostnqn, a->hostnqn, sizeof(opts->hostnqn), '\0');
	}
	opts->header_digest = a->opts.hdgst;
	opts->data_digest = a->opts.ddgst;
	if (a->opts.num_io_queues != 0) {
		opts->num_io_queues = a->opts.num_io_queues;
	}
	if (trid->trtype != BRISK_NVME_TRANSPORT_PCIE) {
		opts->keep_alive_timeout_ms = g_bdev_nvme_opts.keep_alive_timeout_ms;
	}
	return true;
}

static void attach_attach_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
			     struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_ctrlr_opts *opts)
{
	struct attach_ctx *a = cb_ctx;

	if (a->ctrlr == NULL) {
		a->ctrlr = ctrlr;
	} else {
		brisk_nvme_detach(ctrlr); /* only the one asked for */
	}
}

static void attach_finish(struct attach_ctx *a)
{
	TAILQ_REMOVE(&g_attaches, a, link);
	a->cb(a->cb_arg, a->rc, a->rc == 0 ? a->nctrlr : NULL);
	free(a);
	if (g_module_finishing && TAILQ_EMPTY(&g_ctrlrs) && TAILQ_EMPTY(&g_attaches)) {
		brisk_bdev_module_fini_done();
	}
}

static void attach_finish_msg(void *arg)
{
	attach_finish(arg);
}

/* The bdevs could not all be registered: the controller goes again. */
static void attach_undone(void *arg, int rc)
{
	attach_finish(arg);
}

static struct nvme_ctrlr *attach_new_ctrlr(const char *name, struct brisk_nvme_ctrlr *ctrlr,
		const struct bdev_nvme_attach_opts *opts, const char *hostnqn)
{
	struct nvme_ctrlr *nctrlr = calloc(1, sizeof(*nctrlr));

	if (nctrlr == NULL) {
		return NULL;
	}
	snprintf(nctrlr->name, sizeof(nctrlr->name), "%s", name);
	nctrlr->ctrlr = ctrlr;
	nctrlr->trid = *brisk_nvme_ctrlr_get_transport_id(ctrlr);
	snprintf(nctrlr->hostnqn, sizeof(nctrlr->hostnqn), "%s", hostnqn);
	nctrlr->hdgst = opts->hdgst;
	nctrlr->ddgst = opts->ddgst;
	nctrlr->from_hotplug = opts->from_hotplug;
	nctrlr->from_discovery = opts->from_discovery;
	nctrlr->reconnect = opts->reconnect;
	nctrlr->thread = brisk_get_thread();
	nctrlr->primary = bdev_nvme_mp_primary_for(opts);
	nctrlr->mp_slot = nctrlr->primary != NULL ? bdev_nvme_mp_free_slot(nctrlr->primary) : 0;
	TAILQ_INIT(&nctrlr->namespaces);
	TAILQ_INIT(&nctrlr->reset_waiters);
	return nctrlr;
}

/* In a primary process with a shm id (-i), a PCIe controller is shared:
 * bdev_nvme in a secondary of that id attaches it too (its admin poller
 * serves them). Not sharing only costs the secondaries. */
static void ctrlr_share(struct nvme_ctrlr *nctrlr)
{
	int rc;

	if (brisk_env_get_shm_id() < 0 || brisk_env_get_proc_type() != BRISK_PROC_PRIMARY ||
	    nctrlr->trid.trtype != BRISK_NVME_TRANSPORT_PCIE) {
		return;
	}
	rc = brisk_nvme_ctrlr_share(nctrlr->ctrlr);
	if (rc != 0 && rc != -EALREADY) {
		BRISK_WARNLOG("nvme: %s is not shared with secondary processes: %s\n", nctrlr->name, strerror(-rc));
	}
}

/* Bring-up is over: the controller gets its io_device, pollers and bdevs.
 * 0, or -errno with the controller being deleted (cb called then). */
static int ctrlr_setup(struct nvme_ctrlr *nctrlr, bdev_nvme_done_cb cb, void *cb_arg)
{
	int rc;

	nctrlr->admin_poller = brisk_poller_register_named(ctrlr_admin_poll, nctrlr,
			       g_bdev_nvme_opts.nvme_adminq_poll_period_us, "bdev_nvme_adminq");
	brisk_io_device_register(nctrlr, bdev_nvme_channel_create, bdev_nvme_channel_destroy,
				 (uint32_t)bdev_nvme_channel_size(), nctrlr->name);
	TAILQ_INSERT_TAIL(&g_ctrlrs, nctrlr, link);
	bdev_nvme_register_timeout(nctrlr);
	rc = nctrlr->admin_poller == NULL ? -ENOMEM
	     : nctrlr->primary != NULL    ? bdev_nvme_mp_add_paths(nctrlr)
					  : bdev_nvme_ns_create_all(nctrlr);
	if (rc == 0) {
		bdev_nvme_mp_ctrlr_start(nctrlr);
	}
	if (rc != 0) {
		BRISK_ERRLOG("nvme %s: cannot create its bdevs: %s\n", nctrlr->name, strerror(-rc));
		bdev_nvme_ctrlr_delete(nctrlr, cb, cb_arg);
		return rc;
	}
	ctrlr_share(nctrlr);
	BRISK_NOTICELOG("nvme: controller %s attached (%s)\n", nctrlr->name, nctrlr->trid.traddr);
	return 0;
}

static void attach_create(struct attach_ctx *a)
{
	struct nvme_ctrlr *nctrlr = attach_new_ctrlr(a->name, a->ctrlr, &a->opts, a->hostnqn);

	if (nctrlr == NULL) {
		brisk_nvme_detach(a->ctrlr);
		a->rc = -ENOMEM;
		attach_finish(a);
		return;
	}
	a->nctrlr = nctrlr;
	a->rc = ctrlr_setup(nctrlr, attach_undone, a);
	if (a->rc == 0) {
		attach_finish(a);
	}
}

int bdev_nvme_ctrlr_adopt(const char *name, struct brisk_nvme_ctrlr *ctrlr, bool from_hotplug)
{
	struct bdev_nvme_attach_opts opts = { .from_hotplug = from_hotplug };
	struct nvme_ctrlr *nctrlr;

	if (g_module_finishing) {
		brisk_nvme_detach(ctrlr);
		return -ESHUTDOWN;
	}
	nctrlr = attach_new_ctrlr(name, ctrlr, &opts, "");
	if (nctrlr == NULL) {
		brisk_nvme_detach(ctrlr);
		return -ENOMEM;
	}
	return ctrlr_setup(nctrlr, NULL, NULL);
}

/* The probe (ours, or a hotplug one that handed the controller over) ended
 * with rc: bdevs for a->ctrlr, or the attach fails. */
static void attach_probe_done(struct attach_ctx *a, int rc)
{
	if (rc == 0 && a->ctrlr == NULL) {
		BRISK_ERRLOG("nvme: no NVMe controller found at traddr %s\n", a->opts.trid.traddr);
		rc = -ENODEV;
	} else if (rc == 0 && g_module_finishing) {
		brisk_nvme_detach(a->ctrlr);
		rc = -ESHUTDOWN;
	}
	if (rc != 0) {
		if (rc != -ENODEV) {
			BRISK_ERRLOG("nvme: attaching %s (traddr %s) failed: %s\n", a->name, a->opts.trid.traddr,
				     strerror(-rc));
		}
		a->rc = rc;
		attach_finish(a);
		return;
	}
	attach_create(a);
}

static int attach_poll(void *arg)
{
	struct attach_ctx *a = arg;
	int rc = brisk_nvme_probe_poll_async(a->probe);

	if (rc == -EAGAIN) {
		return BRISK_POLLER_BUSY;
	}
	brisk_poller_unregister(&a->poller);
	a->probe = NULL; /* freed by the driver */
	attach_probe_done(a, rc);
	return BRISK_POLLER_BUSY;
}

/* A secondary process (same -i as the primary that owns the PCIe device)
 * takes the primary's shared view of the controller instead of probing. */
static bool attach_as_secondary(const struct attach_ctx *a)
{
	return a->opts.trid.trtype == BRISK_NVME_TRANSPORT_PCIE && brisk_env_get_proc_type() == BRISK_PROC_SECONDARY;
}

static int attach_connect_secondary(void *arg)
{
	struct attach_ctx *a = arg;

	brisk_poller_unregister(&a->poller);
	a->ctrlr = brisk_nvme_connect(&a->opts.trid, NULL);
	if (a->ctrlr == NULL) {
		BRISK_ERRLOG("nvme: %s: no primary process of this shm id shares the controller at %s\n", a->name,
			     a->opts.trid.traddr);
		attach_probe_done(a, -ENODEV);
		return BRISK_POLLER_BUSY;
	}
	attach_probe_done(a, 0);
	return BRISK_POLLER_BUSY;
}

/* Starts the driver's probe of a->opts.trid, polled by attach_poll. 0, or
 * -errno with nothing left running. */
static int attach_start_probe(struct attach_ctx *a)
{
	if (attach_as_secondary(a)) {
		a->poller =
			brisk_poller_register_named(attach_connect_secondary, a, ATTACH_POLL_US, "bdev_nvme_attach");
		return a->poller == NULL ? -ENOMEM : 0;
	}
	a->probe = brisk_nvme_probe_async(&a->opts.trid, a, attach_probe_cb, attach_attach_cb, NULL);
	if (a->probe == NULL) {
		BRISK_ERRLOG("nvme: cannot start probing traddr %s\n", a->opts.trid.traddr);
		return -ENODEV;
	}
	a->poller = brisk_poller_register_named(attach_poll, a, ATTACH_POLL_US, "bdev_nvme_attach");
	if (a->poller != NULL) {
		return 0;
	}
	BRISK_ERRLOG("nvme: cannot poll the probe of traddr %s\n", a->opts.trid.traddr);
	/* Drive the probe to its end so that the driver frees it. */
	while (brisk_nvme_probe_poll_async(a->probe) == -EAGAIN) {
	}
	a->probe = NULL;
	if (a->ctrlr != NULL) {
		brisk_nvme_detach(a->ctrlr);
		a->ctrlr = NULL;
	}
	return -ENOMEM;
}

/* A hotplug probe that began before this attach may have claimed the device
 * and be bringing it up (its probe callback ran before the attach was
 * pending). Probing now would find the device taken, so the attach waits
 * for that probe to end: it hands the controller over (bdev_nvme_attach_take)
 * or left the device alone, and then our own probe runs. */
static int attach_wait_hotplug(void *arg)
{
	struct attach_ctx *a = arg;
	int rc;

	if (bdev_nvme_hotplug_probe_id() == a->hotplug_probe) {
		return BRISK_POLLER_IDLE;
	}
	brisk_poller_unregister(&a->poller);
	if (a->ctrlr != NULL) {
		attach_probe_done(a, 0);
		return BRISK_POLLER_BUSY;
	}
	rc = attach_start_probe(a);
	if (rc != 0) {
		a->rc = rc;
		attach_finish(a);
	}
	return BRISK_POLLER_BUSY;
}

static struct attach_ctx *attach_ctx_new(const struct bdev_nvme_attach_opts *opts,
		bdev_nvme_attach_cb cb, void *cb_arg)
{
	struct attach_ctx *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		return NULL;
	}
	a->opts = *opts;
	snprintf(a->name, sizeof(a->name), "%s", opts->name);
	a->opts.name = a->name;
	if (opts->hostnqn != NULL) {
		snprintf(a->hostnqn, sizeof(a->hostnqn), "%s", opts->hostnqn);
	}
	a->opts.hostnqn = NULL;
	a->cb = cb;
	a->cb_arg = cb_arg;
	return a;
}

/* The hotplug poller attached this very device under this very name before
 * the attach asked for it (a config's bdev_nvme_set_hotplug runs at start-up,
 * before the attaches): the attach adopts it and save_config writes it. */
static struct nvme_ctrlr *attach_adoptable(const struct bdev_nvme_attach_opts *opts)
{
	struct nvme_ctrlr *c = opts->name != NULL ? bdev_nvme_ctrlr_get(opts->name) : NULL;

	if (c == NULL || !c->from_hotplug || c->deleting || c->failed || g_module_finishing ||
	    brisk_nvme_transport_id_compare(&c->trid, &opts->trid) != 0) {
		return NULL;
	}
	BRISK_NOTICELOG("nvme: %s adopts the controller hotplug attached at %s\n", c->name, c->trid.traddr);
	c->from_hotplug = false;
	return c;
}

/* A hotplug probe may hold a PCIe device: the attach waits for it. */
static int attach_begin(struct attach_ctx *a)
{
	if (a->nctrlr != NULL) {
		return 0; /* adopted: only the callback is left */
	}
	if (a->opts.trid.trtype == BRISK_NVME_TRANSPORT_PCIE) {
		a->hotplug_probe = bdev_nvme_hotplug_probe_id();
	}
	if (a->hotplug_probe == 0) {
		return attach_start_probe(a);
	}
	a->poller = brisk_poller_register_named(attach_wait_hotplug, a, ATTACH_POLL_US, "bdev_nvme_attach");
	return a->poller == NULL ? -ENOMEM : 0;
}

int bdev_nvme_attach(const struct bdev_nvme_attach_opts *opts, bdev_nvme_attach_cb cb, void *cb_arg)
{
	struct nvme_ctrlr *adopted;
	struct attach_ctx *a;
	int rc;

	if (opts == NULL || cb == NULL) {
		return -EINVAL;
	}
	adopted = attach_adoptable(opts);
	rc = adopted != NULL ? 0 : attach_check(opts);
	if (rc != 0) {
		return rc;
	}
	a = attach_ctx_new(opts, cb, cb_arg);
	if (a == NULL) {
		if (adopted != NULL) {
			adopted->from_hotplug = true;
		}
		return -ENOMEM;
	}
	a->nctrlr = adopted;
	TAILQ_INSERT_TAIL(&g_attaches, a, link);
	rc = attach_begin(a);
	if (rc != 0 || a->nctrlr != NULL) {
		a->rc = rc;
		/* Called back later, never inside this call. */
		if (brisk_thread_send_msg(brisk_get_thread(), attach_finish_msg, a) != 0) {
			TAILQ_REMOVE(&g_attaches, a, link);
			free(a);
			if (adopted != NULL) {
				adopted->from_hotplug = true;
			}
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- Module init / fini ---- */

static int bdev_nvme_module_init(void)
{
	return 0;
}

static void bdev_nvme_module_fini(void)
{
	struct nvme_ctrlr *c, *next;

	g_module_finishing = true;
	bdev_nvme_hotplug_stop();
	bdev_nvme_discovery_fini();
	if (TAILQ_EMPTY(&g_ctrlrs) && TAILQ_EMPTY(&g_attaches)) {
		brisk_bdev_module_fini_done();
		return;
	}
	/* Attaches in progress finish (and detach) on their own. */
	for (c = TAILQ_FIRST(&g_ctrlrs); c != NULL; c = next) {
		next = TAILQ_NEXT(c, link);
		if (!c->deleting) {
			bdev_nvme_ctrlr_delete(c, NULL, NULL);
		}
	}
}
