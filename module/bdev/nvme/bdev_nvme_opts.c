/*
 * Module-wide settings of bdev_nvme: the bdev_nvme_set_options values, the
 * hotplug poller (bdev_nvme_set_hotplug: a timed poller that runs the
 * driver's probe to notice PCIe controllers removed and added, attaching new
 * ones as NvmeN), and what save_config writes for the module.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <brisk/log.h>
#include <brisk/pci.h>

#include "bdev_nvme.h"

#define HOTPLUG_DEFAULT_PERIOD_US 100000
#define HOTPLUG_MAX_PERIOD_US 10000000

struct bdev_nvme_opts g_bdev_nvme_opts = {
	.action_on_timeout = BDEV_NVME_TIMEOUT_ACTION_NONE,
	.keep_alive_timeout_ms = 10000,
	.nvme_adminq_poll_period_us = 10000,
	.bdev_retry_count = 3,
};

void bdev_nvme_get_default_opts(struct bdev_nvme_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->action_on_timeout = BDEV_NVME_TIMEOUT_ACTION_NONE;
	opts->keep_alive_timeout_ms = 10000;
	opts->nvme_adminq_poll_period_us = 10000;
	opts->bdev_retry_count = 3;
}

const char *bdev_nvme_timeout_action_str(enum bdev_nvme_timeout_action a)
{
	switch (a) {
	case BDEV_NVME_TIMEOUT_ACTION_RESET:
		return "reset";
	case BDEV_NVME_TIMEOUT_ACTION_ABORT:
		return "abort";
	default:
		return "none";
	}
}

int bdev_nvme_set_opts(const struct bdev_nvme_opts *opts)
{
	if (bdev_nvme_ctrlr_first() != NULL) {
		BRISK_ERRLOG("nvme: options can only be set before any controller is attached\n");
		return -EPERM;
	}
	g_bdev_nvme_opts = *opts;
	return 0;
}

/* ---- Hotplug ---- */

static struct {
	bool enabled;
	uint64_t period_us;
	struct brisk_poller *poller;
	struct brisk_nvme_probe_ctx *probe; /* a probe in progress */
	uint64_t probe_id;                  /* its number, 0 when none */
	uint64_t probes;                    /* probes started */
} g_hotplug = { .period_us = HOTPLUG_DEFAULT_PERIOD_US };

/* Bound to a user-space driver: devices the kernel's nvme driver holds (a
 * host's own disks) are left alone, and a device added again is taken once
 * it has been bound. */
static bool hotplug_device_usable(const struct brisk_nvme_transport_id *trid)
{
	struct brisk_pci_device *dev;
	struct brisk_pci_addr addr;
	const char *drv;
	bool usable;

	if (brisk_pci_addr_parse(&addr, trid->traddr) != 0 || brisk_pci_device_get(&addr, &dev) != 0) {
		return false;
	}
	drv = brisk_pci_device_get_driver(dev);
	usable = drv != NULL && (strcmp(drv, "vfio-pci") == 0 || strcmp(drv, "uio_pci_generic") == 0);
	brisk_pci_device_free(dev);
	return usable;
}

bool (*g_bdev_nvme_hotplug_usable)(const struct brisk_nvme_transport_id *trid) = hotplug_device_usable;

static bool hotplug_probe_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
			     struct brisk_nvme_ctrlr_opts *opts)
{
	if (trid->trtype != BRISK_NVME_TRANSPORT_PCIE || bdev_nvme_attach_pending(trid) ||
	    bdev_nvme_ctrlr_get_by_trid(trid) != NULL || !g_bdev_nvme_hotplug_usable(trid)) {
		return false;
	}
	BRISK_NOTICELOG("nvme: hotplug found a new controller at %s\n", trid->traddr);
	return true;
}

static void hotplug_attach_cb(void *cb_ctx, const struct brisk_nvme_transport_id *trid,
			      struct brisk_nvme_ctrlr *ctrlr, const struct brisk_nvme_ctrlr_opts *opts)
{
	char name[NVME_CTRLR_NAME_MAX];
	int i;

	if (bdev_nvme_attach_take(trid, ctrlr)) {
		return;
	}
	for (i = 0; i < 1024; i++) {
		snprintf(name, sizeof(name), "Nvme%d", i);
		if (!bdev_nvme_name_taken(name)) {
			break;
		}
	}
	if (bdev_nvme_ctrlr_adopt(name, ctrlr, true) != 0) {
		BRISK_ERRLOG("nvme: could not attach the controller at %s found by hotplug\n", trid->traddr);
	}
}

static void hotplug_remove_cb(void *cb_ctx, struct brisk_nvme_ctrlr *ctrlr)
{
	struct nvme_ctrlr *nctrlr = bdev_nvme_ctrlr_get_by_driver(ctrlr);

	if (nctrlr != NULL) {
		bdev_nvme_ctrlr_lost(nctrlr);
	}
}

static int hotplug_poll(void *arg)
{
	int rc;

	if (g_hotplug.probe == NULL) {
		g_hotplug.probe = brisk_nvme_probe_async(NULL, NULL, hotplug_probe_cb, hotplug_attach_cb,
				  hotplug_remove_cb);
		g_hotplug.probe_id = g_hotplug.probe != NULL ? ++g_hotplug.probes : 0;
		return g_hotplug.probe != NULL ? BRISK_POLLER_BUSY : BRISK_POLLER_IDLE;
	}
	rc = brisk_nvme_probe_poll_async(g_hotplug.probe);
	if (rc != -EAGAIN) {
		g_hotplug.probe = NULL; /* freed by the driver */
		g_hotplug.probe_id = 0;
	}
	return BRISK_POLLER_BUSY;
}

/* Drives a probe in progress to its end (the driver frees it then). */
static void hotplug_finish_probe(void)
{
	while (g_hotplug.probe != NULL) {
		if (brisk_nvme_probe_poll_async(g_hotplug.probe) != -EAGAIN) {
			g_hotplug.probe = NULL;
		}
	}
	g_hotplug.probe_id = 0;
}

uint64_t bdev_nvme_hotplug_probe_id(void)
{
	return g_hotplug.probe_id;
}

void bdev_nvme_hotplug_stop(void)
{
	brisk_poller_unregister(&g_hotplug.poller);
	hotplug_finish_probe();
	g_hotplug.enabled = false;
}

int bdev_nvme_set_hotplug(bool enable, uint64_t period_us)
{
	if (period_us > HOTPLUG_MAX_PERIOD_US) {
		BRISK_ERRLOG("nvme: period_us %lu is over %d\n", (unsigned long)period_us, HOTPLUG_MAX_PERIOD_US);
		return -EINVAL;
	}
	bdev_nvme_hotplug_stop();
	g_hotplug.period_us = period_us != 0 ? period_us : HOTPLUG_DEFAULT_PERIOD_US;
	if (!enable) {
		return 0;
	}
	g_hotplug.poller = brisk_poller_register_named(hotplug_poll, NULL, g_hotplug.period_us,
			   "bdev_nvme_hotplug");
	if (g_hotplug.poller == NULL) {
		return -ENOMEM;
	}
	g_hotplug.enabled = true;
	return 0;
}

/* ---- save_config ---- */

static json_t *opts_json(void)
{
	const struct bdev_nvme_opts *o = &g_bdev_nvme_opts;

	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i, s:i, s:b}",
			 "action_on_timeout", bdev_nvme_timeout_action_str(o->action_on_timeout),
			 "timeout_us", (json_int_t)o->timeout_us,
			 "timeout_admin_us", (json_int_t)o->timeout_admin_us,
			 "keep_alive_timeout_ms", (json_int_t)o->keep_alive_timeout_ms,
			 "nvme_adminq_poll_period_us", (json_int_t)o->nvme_adminq_poll_period_us,
			 "nvme_ioq_poll_period_us", (json_int_t)o->nvme_ioq_poll_period_us,
			 "io_queue_requests", (json_int_t)o->io_queue_requests,
			 "bdev_retry_count", (int)o->bdev_retry_count,
			 "transport_retry_count", 4, "delay_cmd_submit", true);
}

static json_t *attach_params_json(struct nvme_ctrlr *c)
{
	json_t *p = bdev_nvme_trid_json(&c->trid);

	json_object_set_new(p, "name", json_string(c->name));
	if (c->hostnqn[0] != '\0') {
		json_object_set_new(p, "hostnqn", json_string(c->hostnqn));
	}
	if (c->primary != NULL) {
		json_object_set_new(p, "multipath", json_string("multipath"));
	}
	if (c->trid.trtype == BRISK_NVME_TRANSPORT_TCP) {
		json_object_set_new(p, "hdgst", json_boolean(c->hdgst));
		json_object_set_new(p, "ddgst", json_boolean(c->ddgst));
	}
	if (c->reconnect.ctrlr_loss_timeout_sec != 0) {
		json_object_set_new(p, "ctrlr_loss_timeout_sec", json_integer(c->reconnect.ctrlr_loss_timeout_sec));
		json_object_set_new(p, "reconnect_delay_sec", json_integer(c->reconnect.reconnect_delay_sec));
		json_object_set_new(p, "fast_io_fail_timeout_sec",
				    json_integer(c->reconnect.fast_io_fail_timeout_sec));
	}
	return p;
}

/* After every attach: the bdevs exist once the attaches answered (a config
 * is applied one call after the other, each waiting for its answer). */
static void policies_json(json_t *array)
{
	struct nvme_ctrlr *c;
	struct nvme_ns *ns;

	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		if (c->from_hotplug || c->from_discovery || c->deleting || c->primary != NULL) {
			continue;
		}
		TAILQ_FOREACH(ns, &c->namespaces, link) {
			if (ns->active_active) { /* active_passive is what an attach gives */
				json_array_append_new(array, json_pack("{s:s, s:{s:s, s:s, s:s}}", "method",
								       "bdev_nvme_set_multipath_policy", "params",
								       "name", ns->bdev.name, "policy", "active_active",
								       "selector", "round_robin"));
			}
		}
	}
}

void bdev_nvme_config_json(json_t *array)
{
	struct nvme_ctrlr *c;

	json_array_append_new(array, json_pack("{s:s, s:o}", "method", "bdev_nvme_set_options",
					       "params", opts_json()));
	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		/* Controllers the hotplug poller or a discovery service attached
		 * are found again by them. */
		if (c->from_hotplug || c->from_discovery || c->deleting) {
			continue;
		}
		json_array_append_new(array, json_pack("{s:s, s:o}", "method", "bdev_nvme_attach_controller",
						       "params", attach_params_json(c)));
	}
	policies_json(array);
	bdev_nvme_discovery_config_json(array);
	/* Last, so that the controllers above keep their names. */
	json_array_append_new(array, json_pack("{s:s, s:{s:b, s:I}}", "method", "bdev_nvme_set_hotplug",
					       "params", "enable", g_hotplug.enabled,
					       "period_us", (json_int_t)g_hotplug.period_us));
}
