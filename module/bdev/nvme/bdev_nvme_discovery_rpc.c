/*
 * RPC methods of the NVMe bdev module's discovery service (SPDK's names and
 * parameters):
 *   bdev_nvme_start_discovery {name, trtype, traddr, adrfam?, trsvcid?, hostnqn?,
 *                              wait_for_attach?, attach_timeout_ms?, ctrlr_loss_timeout_sec?,
 *                              reconnect_delay_sec?, fast_io_fail_timeout_sec?} -> true
 *   bdev_nvme_stop_discovery {name} -> true
 *   bdev_nvme_get_discovery_info {} -> [{name, trid, referrals}]
 * trtype is TCP (discovery over PCIe does not exist); trsvcid defaults to
 * 8009, the discovery service's well-known port.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <brisk/json.h>
#include <brisk/rpc.h>

#include "bdev_nvme.h"

/* Room for "_<index>" and the namespace suffix after the name. */
#define DISC_NAME_MAX 40

struct rpc_start {
	char *name;
	char *trtype;
	char *traddr;
	char *adrfam;
	char *trsvcid;
	char *hostnqn;
	bool wait_for_attach;
	uint64_t attach_timeout_ms;
	int32_t ctrlr_loss_timeout_sec;
	uint32_t reconnect_delay_sec;
	uint32_t fast_io_fail_timeout_sec;
};

#define S(f) offsetof(struct rpc_start, f)
static const struct brisk_json_object_decoder g_start_decoders[] = {
	{ "name", S(name), brisk_json_decode_string, false },
	{ "trtype", S(trtype), brisk_json_decode_string, false },
	{ "traddr", S(traddr), brisk_json_decode_string, false },
	{ "adrfam", S(adrfam), brisk_json_decode_string, true },
	{ "trsvcid", S(trsvcid), brisk_json_decode_string, true },
	{ "hostnqn", S(hostnqn), brisk_json_decode_string, true },
	{ "wait_for_attach", S(wait_for_attach), brisk_json_decode_bool, true },
	{ "attach_timeout_ms", S(attach_timeout_ms), brisk_json_decode_uint64, true },
	{ "ctrlr_loss_timeout_sec", S(ctrlr_loss_timeout_sec), brisk_json_decode_int32, true },
	{ "reconnect_delay_sec", S(reconnect_delay_sec), brisk_json_decode_uint32, true },
	{ "fast_io_fail_timeout_sec", S(fast_io_fail_timeout_sec), brisk_json_decode_uint32, true },
};
#undef S

/* The discovery controller's transport ID; an error naming the field. */
static int start_trid(const struct rpc_start *p, struct brisk_nvme_transport_id *trid, char *err, size_t len)
{
	memset(trid, 0, sizeof(*trid));
	trid->trtype = BRISK_NVME_TRANSPORT_TCP;
	trid->adrfam = BRISK_NVMF_ADRFAM_IPV4;
	if (strcasecmp(p->trtype, "tcp") != 0) {
		snprintf(err, len, "trtype '%s' is not supported (TCP)", p->trtype);
		return -EINVAL;
	}
	if (p->adrfam != NULL && strcasecmp(p->adrfam, "ipv4") != 0) {
		if (strcasecmp(p->adrfam, "ipv6") != 0) {
			snprintf(err, len, "adrfam '%s' is not supported (IPv4 or IPv6)", p->adrfam);
			return -EINVAL;
		}
		trid->adrfam = BRISK_NVMF_ADRFAM_IPV6;
	}
	if (p->traddr[0] == '\0' || strlen(p->traddr) > BRISK_NVMF_TRADDR_MAX_LEN) {
		snprintf(err, len, "traddr must be 1 to %d characters", BRISK_NVMF_TRADDR_MAX_LEN);
		return -EINVAL;
	}
	if (p->trsvcid != NULL && (p->trsvcid[0] == '\0' || strlen(p->trsvcid) > BRISK_NVMF_TRSVCID_MAX_LEN)) {
		snprintf(err, len, "trsvcid must be 1 to %d characters", BRISK_NVMF_TRSVCID_MAX_LEN);
		return -EINVAL;
	}
	snprintf(trid->traddr, sizeof(trid->traddr), "%s", p->traddr);
	snprintf(trid->trsvcid, sizeof(trid->trsvcid), "%s", p->trsvcid != NULL ? p->trsvcid : "8009");
	snprintf(trid->subnqn, sizeof(trid->subnqn), "%s", BRISK_NVMF_DISCOVERY_NQN);
	return 0;
}

/* Every parameter checked: 0, or -EINVAL with err naming it. */
static int start_opts(const struct rpc_start *p, struct bdev_nvme_discovery_opts *o, char *err, size_t len)
{
	if (p->name[0] == '\0' || strlen(p->name) > DISC_NAME_MAX) {
		snprintf(err, len, "name must be 1 to %d characters", DISC_NAME_MAX);
		return -EINVAL;
	}
	if (start_trid(p, &o->trid, err, len) != 0) {
		return -EINVAL;
	}
	if (p->hostnqn != NULL && strlen(p->hostnqn) > BRISK_NVMF_NQN_MAX_LEN) {
		snprintf(err, len, "hostnqn is longer than %d characters", BRISK_NVMF_NQN_MAX_LEN);
		return -EINVAL;
	}
	if (p->attach_timeout_ms > UINT32_MAX) {
		snprintf(err, len, "attach_timeout_ms must be at most %u", UINT32_MAX);
		return -EINVAL;
	}
	o->name = p->name;
	o->hostnqn = p->hostnqn;
	/* As SPDK: a timeout implies waiting. */
	o->wait_for_attach = p->wait_for_attach || p->attach_timeout_ms != 0;
	o->attach_timeout_ms = p->attach_timeout_ms;
	o->reconnect.ctrlr_loss_timeout_sec = p->ctrlr_loss_timeout_sec;
	o->reconnect.reconnect_delay_sec = p->reconnect_delay_sec;
	o->reconnect.fast_io_fail_timeout_sec = p->fast_io_fail_timeout_sec;
	return bdev_nvme_reconnect_opts_check(&o->reconnect, &o->trid, err, len);
}

static void rpc_start_done(void *cb_arg, int rc)
{
	struct brisk_jsonrpc_request *req = cb_arg;

	if (rc == 0) {
		brisk_jsonrpc_send_bool_response(req, true);
	} else if (rc == -ETIMEDOUT) {
		brisk_jsonrpc_send_error_response(req, rc,
						  "attach_timeout_ms passed before the discovered "
						  "subsystems were attached: discovery stopped");
	} else if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response(req, rc,
						  "cannot connect to the discovery controller: "
						  "nothing started");
	} else {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "discovery failed: %s: nothing started", strerror(-rc));
	}
}

static void rpc_bdev_nvme_start_discovery(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_start p = { 0 };
	struct bdev_nvme_discovery_opts o = { 0 };
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_start_decoders, BRISK_COUNTOF(g_start_decoders), &p, err, sizeof(err)) !=
		    0 ||
	    start_opts(&p, &o, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	rc = bdev_nvme_start_discovery(&o, rpc_start_done, req);
	if (rc == -EEXIST) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "a discovery service named %s already exists", p.name);
	} else if (rc == -EALREADY) {
		brisk_jsonrpc_send_error_response_fmt(req, -EEXIST,
						      "a discovery service already connects to "
						      "%s:%s",
						      o.trid.traddr, o.trid.trsvcid);
	} else if (rc == -ENODEV) {
		rpc_start_done(req, rc);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_nvme_start_discovery failed: %s", strerror(-rc));
	}
out:
	brisk_json_free_object(g_start_decoders, BRISK_COUNTOF(g_start_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_start_discovery", rpc_bdev_nvme_start_discovery, BRISK_RPC_RUNTIME)

struct rpc_stop {
	char *name;
};

static const struct brisk_json_object_decoder g_stop_decoders[] = {
	{ "name", offsetof(struct rpc_stop, name), brisk_json_decode_string, false },
};

static void rpc_stop_done(void *cb_arg, int rc) { brisk_jsonrpc_send_bool_response(cb_arg, true); }

static void rpc_bdev_nvme_stop_discovery(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_stop p = { 0 };
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_stop_decoders, BRISK_COUNTOF(g_stop_decoders), &p, err, sizeof(err)) !=
	    0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return;
	}
	rc = bdev_nvme_stop_discovery(p.name, rpc_stop_done, req);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such discovery service: %s", p.name);
	} else if (rc == -EBUSY) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "discovery service %s is starting or stopping", p.name);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_nvme_stop_discovery failed: %s", strerror(-rc));
	}
	brisk_json_free_object(g_stop_decoders, BRISK_COUNTOF(g_stop_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_nvme_stop_discovery", rpc_bdev_nvme_stop_discovery, BRISK_RPC_RUNTIME)

static void rpc_bdev_nvme_get_discovery_info(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (!brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
		return;
	}
	brisk_jsonrpc_send_result(req, bdev_nvme_discovery_info_json());
}
BRISK_RPC_REGISTER("bdev_nvme_get_discovery_info", rpc_bdev_nvme_get_discovery_info, BRISK_RPC_RUNTIME)
