/*
 * JSON-RPC methods of the target as a whole (SPDK's names and parameters):
 * nvmf_create_transport, nvmf_get_transports, nvmf_set_config,
 * nvmf_set_max_subsystems, nvmf_get_stats, nvmf_create_subsystem,
 * nvmf_delete_subsystem, nvmf_get_subsystems. They run on the app thread.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/ticks.h>

#include "nvmf_internal.h"

/* ---- nvmf_create_transport ---- */

struct rpc_transport {
	char *trtype;
	char *tgt_name;
	uint32_t max_queue_depth;
	uint32_t max_io_qpairs_per_ctrlr;
	uint32_t in_capsule_data_size;
	uint32_t max_io_size;
	uint32_t io_unit_size;
	uint32_t max_aq_depth;
	uint32_t num_shared_buffers;
	uint32_t buf_cache_size;
	uint32_t abort_timeout_sec;
	bool c2h_success;
	bool dif_insert_or_strip;
	bool zcopy;
	int32_t sock_priority;
};

#define T(f, fn) {#f, offsetof(struct rpc_transport, f), fn, true}
static const struct brisk_json_object_decoder g_transport_decoders[] = {
	{"trtype", offsetof(struct rpc_transport, trtype), brisk_json_decode_string, false},
	T(tgt_name, brisk_json_decode_string),
	T(max_queue_depth, brisk_json_decode_uint32),
	T(max_io_qpairs_per_ctrlr, brisk_json_decode_uint32),
	T(in_capsule_data_size, brisk_json_decode_uint32),
	T(max_io_size, brisk_json_decode_uint32),
	T(io_unit_size, brisk_json_decode_uint32),
	T(max_aq_depth, brisk_json_decode_uint32),
	T(num_shared_buffers, brisk_json_decode_uint32),
	T(buf_cache_size, brisk_json_decode_uint32),
	T(abort_timeout_sec, brisk_json_decode_uint32),
	T(c2h_success, brisk_json_decode_bool),
	T(dif_insert_or_strip, brisk_json_decode_bool),
	T(zcopy, brisk_json_decode_bool),
	T(sock_priority, brisk_json_decode_int32),
};
#undef T

/* The option checks, with a message naming the field; NULL when fine. */
static const char *transport_opts_check(const struct rpc_transport *p)
{
	if (strcasecmp(p->trtype, "TCP") != 0) {
		return "trtype: only TCP is supported";
	}
	if (p->max_queue_depth < 2 || p->max_queue_depth > 4096) {
		return "max_queue_depth must be 2..4096";
	}
	if (p->max_io_qpairs_per_ctrlr < 1 || p->max_io_qpairs_per_ctrlr > 1023) {
		return "max_io_qpairs_per_ctrlr must be 1..1023";
	}
	if (p->max_io_size < 4096 || p->max_io_size > 1024 * 1024 || p->max_io_size % 4096 != 0) {
		return "max_io_size must be a multiple of 4096 from 4096 to 1048576";
	}
	if (p->in_capsule_data_size % 16 != 0 || p->in_capsule_data_size > p->max_io_size) {
		return "in_capsule_data_size must be a multiple of 16, at most max_io_size";
	}
	if (p->max_aq_depth < 2 || p->max_aq_depth > 4096) {
		return "max_aq_depth must be 2..4096";
	}
	if (p->dif_insert_or_strip) {
		return "dif_insert_or_strip is not supported";
	}
	if (p->sock_priority < 0 || p->sock_priority > 6) {
		return "sock_priority must be 0..6";
	}
	return NULL;
}

static void rpc_nvmf_create_transport(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_nvmf_transport_opts o;
	struct rpc_transport p = {0};
	const char *bad;
	char err[256];
	int rc;

	nvmf_transport_opts_default(&o);
	p.max_queue_depth = o.max_queue_depth;
	p.max_io_qpairs_per_ctrlr = o.max_qpairs_per_ctrlr - 1;
	p.in_capsule_data_size = o.in_capsule_data_size;
	p.max_io_size = o.max_io_size;
	p.io_unit_size = o.io_unit_size;
	p.max_aq_depth = o.max_aq_depth;
	p.num_shared_buffers = o.num_shared_buffers;
	p.buf_cache_size = o.buf_cache_size;
	p.abort_timeout_sec = o.abort_timeout_sec;
	p.c2h_success = o.c2h_success;
	if (brisk_json_decode_object(params, g_transport_decoders, BRISK_COUNTOF(g_transport_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	bad = transport_opts_check(&p);
	if (bad != NULL) {
		brisk_jsonrpc_invalid_params(req, "%s", bad);
		goto out;
	}
	o.max_queue_depth = (uint16_t)p.max_queue_depth;
	o.max_qpairs_per_ctrlr = (uint16_t)(p.max_io_qpairs_per_ctrlr + 1);
	o.in_capsule_data_size = p.in_capsule_data_size;
	o.max_io_size = p.max_io_size;
	o.io_unit_size = p.io_unit_size;
	o.max_aq_depth = p.max_aq_depth;
	o.num_shared_buffers = p.num_shared_buffers;
	o.buf_cache_size = p.buf_cache_size;
	o.abort_timeout_sec = p.abort_timeout_sec;
	o.c2h_success = p.c2h_success;
	o.sock_priority = p.sock_priority;
	rc = nvmf_transport_create(&o);
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "transport %s %s", p.trtype,
						      rc == -EEXIST ? "already exists" : strerror(-rc));
		goto out;
	}
	brisk_jsonrpc_send_bool_response(req, true);
out:
	brisk_json_free_object(g_transport_decoders, BRISK_COUNTOF(g_transport_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_create_transport", rpc_nvmf_create_transport, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static void rpc_nvmf_get_transports(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *arr = json_array();
	const char *trtype = NULL;

	if (params != NULL && json_is_object(params)) {
		trtype = json_string_value(json_object_get(params, "trtype"));
	}
	if (g_nvmf_tgt.tcp != NULL && (trtype == NULL || strcasecmp(trtype, "TCP") == 0)) {
		json_array_append_new(arr, nvmf_transport_json(&g_nvmf_tgt.tcp->opts));
	} else if (trtype != NULL) {
		json_decref(arr);
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "transport '%s' does not exist", trtype);
		return;
	}
	brisk_jsonrpc_send_result(req, arr);
}
BRISK_RPC_REGISTER("nvmf_get_transports", rpc_nvmf_get_transports, BRISK_RPC_RUNTIME)

/* ---- nvmf_set_config / nvmf_set_max_subsystems (before init) ---- */

struct rpc_config {
	uint32_t acceptor_poll_rate;
	char *discovery_filter;
	json_t *admin_cmd_passthru;
	char *poll_groups_mask;
};

static const struct brisk_json_object_decoder g_config_decoders[] = {
	{"acceptor_poll_rate", offsetof(struct rpc_config, acceptor_poll_rate), brisk_json_decode_uint32, true},
	{"discovery_filter", offsetof(struct rpc_config, discovery_filter), brisk_json_decode_string, true},
	{"admin_cmd_passthru", offsetof(struct rpc_config, admin_cmd_passthru), brisk_json_decode_json, true},
	{"poll_groups_mask", offsetof(struct rpc_config, poll_groups_mask), brisk_json_decode_string, true},
};

static void rpc_nvmf_set_config(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_config p = { .acceptor_poll_rate = 10000 };
	char err[256];

	if (brisk_json_decode_object(params, g_config_decoders, BRISK_COUNTOF(g_config_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if (p.discovery_filter != NULL && strcmp(p.discovery_filter, "match_any") != 0) {
		brisk_jsonrpc_invalid_params(req, "discovery_filter: only match_any is supported");
	} else if (p.acceptor_poll_rate == 0 || p.acceptor_poll_rate > 10000000) {
		brisk_jsonrpc_invalid_params(req, "acceptor_poll_rate must be 1..10000000 us");
	} else if (p.poll_groups_mask != NULL) {
		brisk_jsonrpc_invalid_params(req, "poll_groups_mask is not supported (one poll group per core)");
	} else {
		g_nvmf_tgt.conf.acceptor_poll_rate = p.acceptor_poll_rate;
		snprintf(g_nvmf_tgt.conf.discovery_filter, sizeof(g_nvmf_tgt.conf.discovery_filter), "match_any");
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_config_decoders, BRISK_COUNTOF(g_config_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_set_config", rpc_nvmf_set_config, BRISK_RPC_STARTUP)

static void rpc_nvmf_set_max_subsystems(struct brisk_jsonrpc_request *req, const json_t *params)
{
	uint32_t max = 0;
	const struct brisk_json_object_decoder d[] = {
		{"max_subsystems", 0, brisk_json_decode_uint32, false},
	};
	char err[256];

	if (brisk_json_decode_object(params, d, 1, &max, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if (max == 0 || max > 65535) {
		brisk_jsonrpc_invalid_params(req, "max_subsystems must be 1..65535");
	} else {
		g_nvmf_tgt.max_subsystems = max;
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("nvmf_set_max_subsystems", rpc_nvmf_set_max_subsystems, BRISK_RPC_STARTUP)

/* ---- nvmf_get_stats ---- */

static void rpc_nvmf_get_stats(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *pgs = json_array();

	for (uint32_t i = 0; i < g_nvmf_tgt.num_pgs; i++) {
		struct nvmf_poll_group *pg = &g_nvmf_tgt.pgs[i];

		json_array_append_new(
			pgs,
			json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:[{s:s}]}", "name",
				  brisk_thread_get_name(pg->thread), "admin_qpairs",
				  (json_int_t)__atomic_load_n(&pg->admin_qpairs, __ATOMIC_SEQ_CST), "io_qpairs",
				  (json_int_t)__atomic_load_n(&pg->io_qpairs, __ATOMIC_SEQ_CST), "current_admin_qpairs",
				  (json_int_t)__atomic_load_n(&pg->current_admin_qpairs, __ATOMIC_SEQ_CST),
				  "current_io_qpairs",
				  (json_int_t)__atomic_load_n(&pg->current_io_qpairs, __ATOMIC_SEQ_CST),
				  "pending_bdev_io",
				  (json_int_t)__atomic_load_n(&pg->pending_bdev_io, __ATOMIC_SEQ_CST), "transports",
				  "trtype", "TCP"));
	}
	brisk_jsonrpc_send_result(req, json_pack("{s:I, s:o}", "tick_rate", (json_int_t)brisk_get_ticks_hz(),
				  "poll_groups", pgs));
}
BRISK_RPC_REGISTER("nvmf_get_stats", rpc_nvmf_get_stats, BRISK_RPC_RUNTIME)

/* ---- nvmf_create_subsystem ---- */

struct rpc_subsys {
	char *nqn;
	char *tgt_name;
	char *serial_number;
	char *model_number;
	bool allow_any_host;
	bool ana_reporting;
	uint32_t max_namespaces;
	uint32_t min_cntlid;
	uint32_t max_cntlid;
};

#define S(f, fn) {#f, offsetof(struct rpc_subsys, f), fn, true}
static const struct brisk_json_object_decoder g_subsys_decoders[] = {
	{"nqn", offsetof(struct rpc_subsys, nqn), brisk_json_decode_string, false},
	S(tgt_name, brisk_json_decode_string),
	S(serial_number, brisk_json_decode_string),
	S(model_number, brisk_json_decode_string),
	S(allow_any_host, brisk_json_decode_bool),
	S(ana_reporting, brisk_json_decode_bool),
	S(max_namespaces, brisk_json_decode_uint32),
	S(min_cntlid, brisk_json_decode_uint32),
	S(max_cntlid, brisk_json_decode_uint32),
};
#undef S

static bool printable_ascii(const char *s)
{
	for (; *s; s++) {
		if (*s < 0x20 || *s > 0x7e) {
			return false;
		}
	}
	return true;
}

static const char *subsys_params_check(const struct rpc_subsys *p)
{
	if (nvmf_nqn_validate(p->nqn) != 0 || strcmp(p->nqn, BRISK_NVMF_DISCOVERY_NQN) == 0) {
		return "nqn is not a valid NVMe qualified name";
	}
	if (p->serial_number && (strlen(p->serial_number) > NVMF_SN_LEN || !printable_ascii(p->serial_number))) {
		return "serial_number must be at most 20 printable ASCII characters";
	}
	if (p->model_number && (strlen(p->model_number) > NVMF_MN_LEN || !printable_ascii(p->model_number))) {
		return "model_number must be at most 40 printable ASCII characters";
	}
	if (p->max_namespaces > 1024) {
		return "max_namespaces must be at most 1024";
	}
	if (p->min_cntlid < NVMF_CNTLID_MIN || p->max_cntlid > NVMF_CNTLID_MAX || p->min_cntlid > p->max_cntlid) {
		return "min_cntlid/max_cntlid must satisfy 1 <= min_cntlid <= max_cntlid <= 65519";
	}
	return NULL;
}

static void rpc_nvmf_create_subsystem(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_subsys p = { .max_namespaces = NVMF_DEFAULT_MAX_NAMESPACES, .min_cntlid = NVMF_CNTLID_MIN,
				.max_cntlid = NVMF_CNTLID_MAX };
	struct nvmf_subsystem *s;
	const char *bad;
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_subsys_decoders, BRISK_COUNTOF(g_subsys_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if ((bad = subsys_params_check(&p)) != NULL) {
		brisk_jsonrpc_invalid_params(req, "%s", bad);
		goto out;
	}
	rc = nvmf_subsystem_create(p.nqn, BRISK_NVMF_SUBTYPE_NVME, p.max_namespaces ? p.max_namespaces :
				   NVMF_DEFAULT_MAX_NAMESPACES, &s);
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "Unable to create subsystem %s: %s", p.nqn,
						      rc == -EEXIST ? "it already exists" : rc == -ENOSPC ?
						      "max_subsystems reached" : strerror(-rc));
		goto out;
	}
	s->allow_any_host = p.allow_any_host;
	s->ana_reporting = p.ana_reporting;
	s->min_cntlid = s->next_cntlid = (uint16_t)p.min_cntlid;
	s->max_cntlid = (uint16_t)p.max_cntlid;
	if (p.serial_number) {
		snprintf(s->sn, sizeof(s->sn), "%s", p.serial_number);
	}
	if (p.model_number) {
		snprintf(s->mn, sizeof(s->mn), "%s", p.model_number);
	}
	brisk_jsonrpc_send_bool_response(req, true);
out:
	brisk_json_free_object(g_subsys_decoders, BRISK_COUNTOF(g_subsys_decoders), &p);
}
BRISK_RPC_REGISTER("nvmf_create_subsystem", rpc_nvmf_create_subsystem, BRISK_RPC_RUNTIME)

static void rpc_nvmf_delete_subsystem(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_subsys p = {0};
	struct nvmf_subsystem *s;
	char err[256];

	if (brisk_json_decode_object(params, g_subsys_decoders, 2, &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if ((s = nvmf_subsystem_find(p.nqn)) == NULL || s->subtype != BRISK_NVMF_SUBTYPE_NVME) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "subsystem '%s' does not exist", p.nqn);
	} else if (!TAILQ_EMPTY(&s->ctrlrs)) {
		brisk_jsonrpc_send_error_response_fmt(req, -EBUSY, "subsystem '%s' has connected hosts", p.nqn);
	} else {
		nvmf_subsystem_destroy(s);
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_subsys_decoders, 2, &p);
}
BRISK_RPC_REGISTER("nvmf_delete_subsystem", rpc_nvmf_delete_subsystem, BRISK_RPC_RUNTIME)

static void rpc_nvmf_get_subsystems(struct brisk_jsonrpc_request *req, const json_t *params)
{
	const char *nqn = params && json_is_object(params) ? json_string_value(json_object_get(params, "nqn")) : NULL;
	json_t *arr = json_array();
	struct nvmf_subsystem *s;

	if (g_nvmf_tgt.running) {
		TAILQ_FOREACH(s, &g_nvmf_tgt.subsystems, link) {
			json_t *o = json_object();

			if (nqn != NULL && strcmp(nqn, s->nqn) != 0) {
				json_decref(o);
				continue;
			}
			nvmf_subsystem_dump_json(s, o);
			json_array_append_new(arr, o);
		}
	}
	if (nqn != NULL && json_array_size(arr) == 0) {
		json_decref(arr);
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "subsystem '%s' does not exist", nqn);
		return;
	}
	brisk_jsonrpc_send_result(req, arr);
}
BRISK_RPC_REGISTER("nvmf_get_subsystems", rpc_nvmf_get_subsystems, BRISK_RPC_RUNTIME)
