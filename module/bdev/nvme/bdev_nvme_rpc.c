/*
 * RPC methods of the NVMe bdev module (SPDK's names and parameters):
 *   bdev_nvme_attach_controller {name, trtype, traddr, adrfam?, trsvcid?, subnqn?, hostnqn?,
 *                                hdgst?, ddgst?, num_io_queues?, max_bdevs?, ...} -> [bdev names]
 *   bdev_nvme_detach_controller {name, trtype?, traddr?, adrfam?, trsvcid?, subnqn?,
 *                                hostaddr?, hostsvcid?} -> true (only the matching paths go)
 *   bdev_nvme_get_controllers {name?} -> [{name, ctrlrs: [{state, trid, cntlid, host}]}]
 *   bdev_nvme_reset_controller {name} -> true
 *   bdev_nvme_set_options {SPDK's set; unsupported ones only at their default} -> true
 *   bdev_nvme_set_hotplug {enable, period_us?} -> true
 * SPDK parameters Brisk has no use for are accepted at their default value
 * and refused, by name, otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/bdev.h>
#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>

#include "bdev_nvme.h"

/* ---- Transport ID fields ---- */

static int rpc_parse_trtype(const char *s, enum brisk_nvme_transport_type *out)
{
	if (strcasecmp(s, "pcie") == 0) {
		*out = BRISK_NVME_TRANSPORT_PCIE;
	} else if (strcasecmp(s, "tcp") == 0) {
		*out = BRISK_NVME_TRANSPORT_TCP;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int rpc_parse_adrfam(const char *s, enum brisk_nvmf_adrfam *out)
{
	if (strcasecmp(s, "ipv4") == 0) {
		*out = BRISK_NVMF_ADRFAM_IPV4;
	} else if (strcasecmp(s, "ipv6") == 0) {
		*out = BRISK_NVMF_ADRFAM_IPV6;
	} else {
		return -EINVAL;
	}
	return 0;
}

/* "0000:00:04.0", or "00:04.0" with domain 0 written out. */
static int rpc_normalize_pci_addr(const char *in, char *out, size_t len)
{
	unsigned int dom, bus, dev, fn;
	char tail;

	if (sscanf(in, "%x:%x:%x.%x%c", &dom, &bus, &dev, &fn, &tail) == 4) {
	} else if (sscanf(in, "%x:%x.%x%c", &bus, &dev, &fn, &tail) == 3) {
		dom = 0;
	} else {
		return -EINVAL;
	}
	if (dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7) {
		return -EINVAL;
	}
	snprintf(out, len, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
	return 0;
}

struct rpc_trid {
	char *trtype;
	char *traddr;
	char *adrfam;
	char *trsvcid;
	char *subnqn;
};

/* Fills trid from the decoded strings; an error message naming the field. */
static int rpc_build_trid(const struct rpc_trid *p, struct brisk_nvme_transport_id *trid, char *err,
			  size_t errlen)
{
	memset(trid, 0, sizeof(*trid));
	if (rpc_parse_trtype(p->trtype, &trid->trtype) != 0) {
		snprintf(err, errlen, "trtype '%s' is not supported (PCIe or TCP)", p->trtype);
		return -EINVAL;
	}
	if (p->traddr[0] == '\0') {
		snprintf(err, errlen, "traddr must not be empty");
		return -EINVAL;
	}
	if (trid->trtype == BRISK_NVME_TRANSPORT_PCIE) {
		if (rpc_normalize_pci_addr(p->traddr, trid->traddr, sizeof(trid->traddr)) != 0) {
			snprintf(err, errlen, "traddr '%s' is not a PCI address (DDDD:BB:DD.F)", p->traddr);
			return -EINVAL;
		}
		return 0;
	}
	trid->adrfam = BRISK_NVMF_ADRFAM_IPV4;
	if (p->adrfam != NULL && rpc_parse_adrfam(p->adrfam, &trid->adrfam) != 0) {
		snprintf(err, errlen, "adrfam '%s' is not supported (IPv4 or IPv6)", p->adrfam);
		return -EINVAL;
	}
	if (strlen(p->traddr) > BRISK_NVMF_TRADDR_MAX_LEN ||
	    (p->trsvcid != NULL && strlen(p->trsvcid) > BRISK_NVMF_TRSVCID_MAX_LEN) ||
	    (p->subnqn != NULL && strlen(p->subnqn) > BRISK_NVMF_NQN_MAX_LEN)) {
		snprintf(err, errlen, "traddr, trsvcid or subnqn is too long");
		return -EINVAL;
	}
	snprintf(trid->traddr, sizeof(trid->traddr), "%s", p->traddr);
	snprintf(trid->trsvcid, sizeof(trid->trsvcid), "%s", p->trsvcid != NULL ? p->trsvcid : "");
	snprintf(trid->subnqn, sizeof(trid->subnqn), "%s", p->subnqn != NULL ? p->subnqn : "");
	if (trid->trsvcid[0] == '\0' || trid->subnqn[0] == '\0') {
		snprintf(err, errlen, "%s is required for trtype TCP", trid->trsvcid[0] == '\0' ? "trsvcid" :
			 "subnqn");
		return -EINVAL;
	}
	return 0;
}

/* ---- bdev_nvme_attach_controller ---- */

struct rpc_attach {
	char *name;
	struct rpc_trid t;
	char *priority;
	char *hostnqn;
	char *hostaddr;
	char *hostsvcid;
	bool prchk_reftag;
	bool prchk_guard;
	bool hdgst;
	bool ddgst;
	uint64_t fabrics_connect_timeout_us;
	char *multipath;
	uint32_t num_io_queues;
	int32_t ctrlr_loss_timeout_sec;
	uint32_t reconnect_delay_sec;
	uint32_t fast_io_fail_timeout_sec;
	char *psk;
	uint32_t max_bdevs;
	char *dhchap_key;
	char *dhchap_ctrlr_key;
	bool allow_unrecognized_csi;
};

#define A(f) offsetof(struct rpc_attach, f)
static const struct brisk_json_object_decoder g_attach_decoders[] = {
	{"name", A(name), brisk_json_decode_string, false},
	{"trtype", A(t.trtype), brisk_json_decode_string, false},
	{"traddr", A(t.traddr), brisk_json_decode_string, false},
	{"adrfam", A(t.adrfam), brisk_json_decode_string, true},
	{"trsvcid", A(t.trsvcid), brisk_json_decode_string, true},
	{"subnqn", A(t.subnqn), brisk_json_decode_string, true},
	{"priority", A(priority), brisk_json_decode_string, true},
	{"hostnqn", A(hostnqn), brisk_json_decode_string, true},
	{"hostaddr", A(hostaddr), brisk_json_decode_string, true},
	{"hostsvcid", A(hostsvcid), brisk_json_decode_string, true},
	{"prchk_reftag", A(prchk_reftag), brisk_json_decode_bool, true},
	{"prchk_guard", A(prchk_guard), brisk_json_decode_bool, true},
	{"hdgst", A(hdgst), brisk_json_decode_bool, true},
	{"ddgst", A(ddgst), brisk_json_decode_bool, true},
	{"fabrics_connect_timeout_us", A(fabrics_connect_timeout_us), brisk_json_decode_uint64, true},
	{"multipath", A(multipath), brisk_json_decode_string, true},
	{"num_io_queues", A(num_io_queues), brisk_json_decode_uint32, true},
	{"ctrlr_loss_timeout_sec", A(ctrlr_loss_timeout_sec), brisk_json_decode_int32, true},
	{"reconnect_delay_sec", A(reconnect_delay_sec), brisk_json_decode_uint32, true},
	{"fast_io_fail_timeout_sec", A(fast_io_fail_timeout_sec), brisk_json_decode_uint32, true},
	{"psk", A(psk), brisk_json_decode_string, true},
	{"max_bdevs", A(max_bdevs), brisk_json_decode_uint32, true},
	{"dhchap_key", A(dhchap_key), brisk_json_decode_string, true},
	{"dhchap_ctrlr_key", A(dhchap_ctrlr_key), brisk_json_decode_string, true},
	{"allow_unrecognized_csi", A(allow_unrecognized_csi), brisk_json_decode_bool, true},
};
#undef A

/* The first SPDK parameter given that Brisk cannot honour, or NULL. */
static const char *attach_unsupported(const struct rpc_attach *p)
{
	if (p->priority != NULL && strcmp(p->priority, "0") != 0) {
		return "priority";
	}
	if (p->hostaddr != NULL || p->hostsvcid != NULL) {
		return p->hostaddr != NULL ? "hostaddr" : "hostsvcid";
	}
	if (p->prchk_reftag || p->prchk_guard) {
		return p->prchk_reftag ? "prchk_reftag" : "prchk_guard";
	}
	if (p->multipath != NULL && strcmp(p->multipath, "disable") != 0 && strcmp(p->multipath, "failover") != 0 &&
	    strcmp(p->multipath, "multipath") != 0) {
		return "multipath (disable, failover or multipath)";
	}
	if (p->psk != NULL || p->dhchap_key != NULL || p->dhchap_ctrlr_key != NULL) {
		return p->psk != NULL ? "psk" : "dhchap_key";
	}
	if (p->fabrics_connect_timeout_us != 0 || p->allow_unrecognized_csi) {
		return p->allow_unrecognized_csi ? "allow_unrecognized_csi" : "fabrics_connect_timeout_us";
	}
	return NULL;
}

struct attach_req {
	struct brisk_jsonrpc_request *req;
	uint32_t max_bdevs;
	char name[NVME_CTRLR_NAME_MAX];
};

static void rpc_attach_too_many_done(void *arg, int rc)
{
	struct attach_req *r = arg;

	brisk_jsonrpc_send_error_response_fmt(r->req, -EINVAL, "controller %s has more namespaces than "
					      "max_bdevs %u: detached", r->name, r->max_bdevs);
	free(r);
}

static void rpc_attach_done(void *cb_arg, int rc, struct nvme_ctrlr *nctrlr)
{
	struct attach_req *r = cb_arg;
	json_t *names;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(r->req, rc, rc == -ENODEV ?
						      "no NVMe controller found for %s: nothing attached" :
						      "attaching controller %s failed: %s", r->name, strerror(-rc));
		free(r);
		return;
	}
	names = bdev_nvme_ctrlr_bdev_names(nctrlr->primary != NULL ? nctrlr->primary : nctrlr);
	if (json_array_size(names) > r->max_bdevs) {
		json_decref(names);
		bdev_nvme_ctrlr_delete(nctrlr, rpc_attach_too_many_done, r);
		return;
	}
	brisk_jsonrpc_send_result(r->req, names);
	free(r);
}

static void rpc_attach_start(struct brisk_jsonrpc_request *req, const struct rpc_attach *p,
			     const struct bdev_nvme_attach_opts *opts)
{
	struct attach_req *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL) {
		brisk_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	r->req = req;
	r->max_bdevs = p->max_bdevs != 0 ? p->max_bdevs : 128;
	snprintf(r->name, sizeof(r->name), "%s", p->name);
	rc = bdev_nvme_attach(opts, rpc_attach_done, r);
	if (rc == 0) {
		return;
	}
	if (rc == -EEXIST) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "a controller named %s already exists", p->name);
	} else if (rc == -EALREADY) {
		brisk_jsonrpc_send_error_response_fmt(req, -EEXIST, "traddr %s is already attached",
						      opts->trid.traddr);
	} else if (rc == -EINVAL) {
		brisk_jsonrpc_invalid_params(req, "name must be 1 to %d characters", NVME_CTRLR_NAME_MAX - 13);
	} else {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_nvme_attach_controller failed: %s",
						      strerror(-rc));
	}
	free(r);
}

static void rpc_bdev_nvme_attach_controller(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_attach p = {0};
	struct bdev_nvme_attach_opts opts = {0};
	const char *bad;
	char err[256];

	if (brisk_json_decode_object(params, g_attach_decoders, BRISK_COUNTOF(g_attach_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	bad = attach_unsupported(&p);
	if (bad != NULL) {
		brisk_jsonrpc_invalid_params(req, "%s is not supported by Brisk's bdev_nvme", bad);
		goto out;
	}
	if (rpc_build_trid(&p.t, &opts.trid, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.hostnqn != NULL && strlen(p.hostnqn) > BRISK_NVMF_NQN_MAX_LEN) {
		brisk_jsonrpc_invalid_params(req, "hostnqn is longer than %d characters", BRISK_NVMF_NQN_MAX_LEN);
		goto out;
	}
	opts.name = p.name;
	opts.hostnqn = p.hostnqn;
	opts.hdgst = p.hdgst;
	opts.ddgst = p.ddgst;
	opts.num_io_queues = p.num_io_queues;
	opts.multipath = p.multipath != NULL && strcmp(p.multipath, "disable") != 0;
	opts.reconnect.ctrlr_loss_timeout_sec = p.ctrlr_loss_timeout_sec;
	opts.reconnect.reconnect_delay_sec = p.reconnect_delay_sec;
	opts.reconnect.fast_io_fail_timeout_sec = p.fast_io_fail_timeout_sec;
	if (bdev_nvme_reconnect_opts_check(&opts.reconnect, &opts.trid, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	rpc_attach_start(req, &p, &opts);
out:
	brisk_json_free_object(g_attach_decoders, BRISK_COUNTOF(g_attach_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_attach_controller", rpc_bdev_nvme_attach_controller, BRISK_RPC_RUNTIME)

/* ---- bdev_nvme_detach_controller ---- */

struct rpc_detach {
	char *name;
	struct rpc_trid t;
	char *hostaddr;
	char *hostsvcid;
};

#define D(f) offsetof(struct rpc_detach, f)
static const struct brisk_json_object_decoder g_detach_decoders[] = {
	{"name", D(name), brisk_json_decode_string, false},
	{"trtype", D(t.trtype), brisk_json_decode_string, true},
	{"traddr", D(t.traddr), brisk_json_decode_string, true},
	{"adrfam", D(t.adrfam), brisk_json_decode_string, true},
	{"trsvcid", D(t.trsvcid), brisk_json_decode_string, true},
	{"subnqn", D(t.subnqn), brisk_json_decode_string, true},
	{"hostaddr", D(hostaddr), brisk_json_decode_string, true},
	{"hostsvcid", D(hostsvcid), brisk_json_decode_string, true},
};
#undef D

/* The path fields given must be the controller's own (a controller has no
 * host address or port of its own: any given matches none). */
static bool detach_path_matches(const struct rpc_detach *p, struct nvme_ctrlr *c)
{
	enum brisk_nvme_transport_type tt;
	enum brisk_nvmf_adrfam af;
	char addr[BRISK_NVMF_TRADDR_MAX_LEN + 1];

	if (p->t.trtype != NULL && (rpc_parse_trtype(p->t.trtype, &tt) != 0 || tt != c->trid.trtype)) {
		return false;
	}
	if (p->t.adrfam != NULL && (c->trid.trtype == BRISK_NVME_TRANSPORT_PCIE ||
				    rpc_parse_adrfam(p->t.adrfam, &af) != 0 || af != c->trid.adrfam)) {
		return false;
	}
	if (p->t.traddr != NULL) {
		if (c->trid.trtype != BRISK_NVME_TRANSPORT_PCIE ||
		    rpc_normalize_pci_addr(p->t.traddr, addr, sizeof(addr)) != 0) {
			snprintf(addr, sizeof(addr), "%s", p->t.traddr);
		}
		if (strcmp(addr, c->trid.traddr) != 0) {
			return false;
		}
	}
	return (p->t.trsvcid == NULL || strcmp(p->t.trsvcid, c->trid.trsvcid) == 0) &&
	       (p->t.subnqn == NULL || strcmp(p->t.subnqn, c->trid.subnqn) == 0) &&
	       (p->hostaddr == NULL || p->hostaddr[0] == '\0') && (p->hostsvcid == NULL || p->hostsvcid[0] == '\0');
}

static void rpc_detach_done(void *cb_arg, int rc)
{
	struct brisk_jsonrpc_request *req = cb_arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "detach failed: %s", strerror(-rc));
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}

/* Several paths going: one answer once the last is detached. */
struct detach_req {
	struct brisk_jsonrpc_request *req;
	uint32_t pending;
	int rc;
};

static void rpc_detach_path_done(void *cb_arg, int rc)
{
	struct detach_req *d = cb_arg;

	if (rc != 0 && d->rc == 0) {
		d->rc = rc;
	}
	if (--d->pending == 0) {
		rpc_detach_done(d->req, d->rc);
		free(d);
	}
}

/* Only secondaries match: each goes, the bdevs stay with the other paths.
 * A reset in progress on one refuses them all before anything starts. */
static void detach_secondaries(struct brisk_jsonrpc_request *req, const struct rpc_detach *p,
			       struct nvme_ctrlr *primary)
{
	struct detach_req *d;
	struct nvme_ctrlr *c;

	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		if (c->primary == primary && !c->deleting && c->resetting && detach_path_matches(p, c)) {
			brisk_jsonrpc_send_error_response_fmt(req, -EBUSY, "path %s:%s of %s is resetting",
							      c->trid.traddr, c->trid.trsvcid, p->name);
			return;
		}
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		brisk_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return;
	}
	/* One count held by this loop, dropped after it: the answer goes once
	 * every deletion it started is done, however many that is. */
	*d = (struct detach_req){ .req = req, .pending = 1 };
	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		if (c->primary == primary && !c->deleting && detach_path_matches(p, c)) {
			BRISK_NOTICELOG("nvme: %s loses its path through %s:%s\n", p->name, c->trid.traddr,
					c->trid.trsvcid);
			d->pending++;
			bdev_nvme_ctrlr_delete(c, rpc_detach_path_done, d);
		}
	}
	rpc_detach_path_done(d, 0);
}

/* SPDK's semantics: the filters pick paths of the controller name and only
 * those go; without filters every path and the bdevs go. The first path
 * (the bdevs' own controller, whose channels carry the others) goes only
 * together with all the others. */
static void detach_paths(struct brisk_jsonrpc_request *req, const struct rpc_detach *p, struct nvme_ctrlr *primary)
{
	bool primary_hit = detach_path_matches(p, primary);
	uint32_t hit = 0, kept = 0;
	struct nvme_ctrlr *c;
	int rc;

	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		if (c->primary != primary || c->deleting) {
			continue;
		}
		if (detach_path_matches(p, c)) {
			hit++;
		} else {
			kept++;
		}
	}
	if (!primary_hit && hit == 0) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV,
						      "controller %s has no path matching the "
						      "given trtype/traddr/adrfam/trsvcid/subnqn/hostaddr/hostsvcid",
						      p->name);
	} else if (primary_hit && kept > 0) {
		brisk_jsonrpc_send_error_response_fmt(req, -EBUSY,
						      "the path through %s:%s carries the other "
						      "paths of %s: detach them first, or all at once without filters",
						      primary->trid.traddr, primary->trid.trsvcid, p->name);
	} else if (!primary_hit) {
		detach_secondaries(req, p, primary);
	} else if ((rc = bdev_nvme_detach(p->name, rpc_detach_done, req)) != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "controller %s is %s", p->name,
						      primary->resetting ? "resetting" : "already being detached");
	}
}

static void rpc_bdev_nvme_detach_controller(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_detach p = {0};
	struct nvme_ctrlr *c;
	char err[256];

	if (brisk_json_decode_object(params, g_detach_decoders, BRISK_COUNTOF(g_detach_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	c = bdev_nvme_ctrlr_get(p.name);
	if (c == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such device: controller %s", p.name);
		goto out;
	}
	detach_paths(req, &p, c);
out:
	brisk_json_free_object(g_detach_decoders, BRISK_COUNTOF(g_detach_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_detach_controller", rpc_bdev_nvme_detach_controller, BRISK_RPC_RUNTIME)

/* ---- bdev_nvme_get_controllers ---- */

struct rpc_name {
	char *name;
};

static const struct brisk_json_object_decoder g_name_opt_decoders[] = {
	{"name", offsetof(struct rpc_name, name), brisk_json_decode_string, true},
};
static const struct brisk_json_object_decoder g_name_decoders[] = {
	{"name", offsetof(struct rpc_name, name), brisk_json_decode_string, false},
};

static const char *ctrlr_state(const struct nvme_ctrlr *c)
{
	return c->deleting ? "deleting" : c->failed ? "failed" : c->resetting ? "resetting" : "enabled";
}

static json_t *ctrlr_json(struct nvme_ctrlr *c)
{
	const struct brisk_nvme_ctrlr_data *cd = brisk_nvme_ctrlr_get_data(c->ctrlr);
	json_t *path = json_object();

	json_object_set_new(path, "state", json_string(ctrlr_state(c)));
	json_object_set_new(path, "trid", bdev_nvme_trid_json(&c->trid));
	json_object_set_new(path, "cntlid", json_integer(cd->cntlid));
	json_object_set_new(path, "host", json_pack("{s:s, s:s, s:s}", "nqn", c->hostnqn, "addr", "",
			    "svcid", ""));
	return json_pack("{s:s, s:[o]}", "name", c->name, "ctrlrs", path);
}

static void rpc_bdev_nvme_get_controllers(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_name p = {0};
	struct nvme_ctrlr *c;
	json_t *arr;
	char err[256];

	if (brisk_json_decode_object(params, g_name_opt_decoders, BRISK_COUNTOF(g_name_opt_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.name != NULL && bdev_nvme_ctrlr_get(p.name) == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such device: controller %s", p.name);
		goto out;
	}
	arr = json_array();
	for (c = bdev_nvme_ctrlr_first(); c != NULL; c = bdev_nvme_ctrlr_next(c)) {
		if (p.name == NULL || strcmp(p.name, c->name) == 0) {
			json_array_append_new(arr, ctrlr_json(c));
		}
	}
	brisk_jsonrpc_send_result(req, arr);
out:
	brisk_json_free_object(g_name_opt_decoders, BRISK_COUNTOF(g_name_opt_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_get_controllers", rpc_bdev_nvme_get_controllers, BRISK_RPC_RUNTIME)

/* ---- bdev_nvme_reset_controller ---- */

static void rpc_reset_done(void *cb_arg, int rc)
{
	struct brisk_jsonrpc_request *req = cb_arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "reset failed: %s", strerror(-rc));
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}

static void rpc_bdev_nvme_reset_controller(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_name p = {0};
	struct nvme_ctrlr *c;
	char err[256];

	if (brisk_json_decode_object(params, g_name_decoders, BRISK_COUNTOF(g_name_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	c = bdev_nvme_ctrlr_get(p.name);
	if (c == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such device: controller %s", p.name);
		goto out;
	}
	bdev_nvme_reset(c, rpc_reset_done, req);
out:
	brisk_json_free_object(g_name_decoders, BRISK_COUNTOF(g_name_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_reset_controller", rpc_bdev_nvme_reset_controller, BRISK_RPC_RUNTIME)

/* ---- bdev_nvme_set_hotplug ---- */

struct rpc_hotplug {
	bool enable;
	uint64_t period_us;
};

static const struct brisk_json_object_decoder g_hotplug_decoders[] = {
	{"enable", offsetof(struct rpc_hotplug, enable), brisk_json_decode_bool, false},
	{"period_us", offsetof(struct rpc_hotplug, period_us), brisk_json_decode_uint64, true},
};

static void rpc_bdev_nvme_set_hotplug(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_hotplug p = {0};
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_hotplug_decoders, BRISK_COUNTOF(g_hotplug_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return;
	}
	rc = bdev_nvme_set_hotplug(p.enable, p.period_us);
	if (rc == -EINVAL) {
		brisk_jsonrpc_invalid_params(req, "period_us %lu is too large (at most 10000000)",
					     (unsigned long)p.period_us);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_nvme_set_hotplug failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("bdev_nvme_set_hotplug", rpc_bdev_nvme_set_hotplug,
		   BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)
