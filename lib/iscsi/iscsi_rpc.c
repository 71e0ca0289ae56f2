/*
 * JSON-RPC methods of the target as a whole and of its groups (SPDK's
 * names and parameters): iscsi_set_options, iscsi_get_options, portal
 * groups, initiator groups, auth groups and their secrets,
 * iscsi_set_discovery_auth, iscsi_get_connections, iscsi_get_stats. They
 * run on the app thread, which owns the configuration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/string.h>

#include "iscsi_internal.h"
#include "iscsi_rpc.h"

/* ---- iscsi_set_options / iscsi_get_options ---- */

struct rpc_opts {
	struct brisk_iscsi_opts o;
	char *node_base;
	char *auth_file;
};

#define O(f, fn) {#f, offsetof(struct rpc_opts, o.f), fn, true}
static const struct brisk_json_object_decoder g_opts_decoders[] = {
	{"node_base", offsetof(struct rpc_opts, node_base), brisk_json_decode_string, true},
	{"auth_file", offsetof(struct rpc_opts, auth_file), brisk_json_decode_string, true},
	O(nop_timeout, brisk_json_decode_uint32),
	O(nop_in_interval, brisk_json_decode_uint32),
	O(disable_chap, brisk_json_decode_bool),
	O(require_chap, brisk_json_decode_bool),
	O(mutual_chap, brisk_json_decode_bool),
	O(chap_group, brisk_json_decode_int32),
	O(max_sessions, brisk_json_decode_uint32),
	O(max_connections_per_session, brisk_json_decode_uint32),
	O(max_queue_depth, brisk_json_decode_uint32),
	O(default_time2wait, brisk_json_decode_uint32),
	O(default_time2retain, brisk_json_decode_uint32),
	O(first_burst_length, brisk_json_decode_uint32),
	O(immediate_data, brisk_json_decode_bool),
	O(error_recovery_level, brisk_json_decode_uint32),
	O(allow_duplicated_isid, brisk_json_decode_bool),
	O(max_large_datain_per_connection, brisk_json_decode_uint32),
	O(max_r2t_per_connection, brisk_json_decode_uint32),
	O(pdu_pool_size, brisk_json_decode_uint32),
	O(immediate_data_pool_size, brisk_json_decode_uint32),
	O(data_out_pool_size, brisk_json_decode_uint32),
	O(max_recv_data_segment_length, brisk_json_decode_uint32),
	O(max_burst_length, brisk_json_decode_uint32),
};
#undef O

static void rpc_iscsi_set_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_opts p = {.o = g_iscsi.opts};
	const char *bad;
	char err[256];

	if (brisk_json_decode_object(params, g_opts_decoders, BRISK_COUNTOF(g_opts_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.auth_file != NULL) {
		brisk_jsonrpc_invalid_params(req, "auth_file is not supported: use iscsi_create_auth_group");
		goto out;
	}
	if (p.node_base != NULL && brisk_strlcpy(p.o.node_base, p.node_base, sizeof(p.o.node_base)) >=
	    sizeof(p.o.node_base)) {
		brisk_jsonrpc_invalid_params(req, "node_base is longer than %d bytes", BRISK_ISCSI_NODE_BASE_MAX);
		goto out;
	}
	bad = iscsi_opts_check(&p.o);
	if (bad != NULL) {
		brisk_jsonrpc_invalid_params(req, "%s", bad);
		goto out;
	}
	g_iscsi.opts = p.o;
	brisk_jsonrpc_send_bool_response(req, true);
out:
	brisk_json_free_object(g_opts_decoders, BRISK_COUNTOF(g_opts_decoders), &p);
}
BRISK_RPC_REGISTER("iscsi_set_options", rpc_iscsi_set_options, BRISK_RPC_STARTUP)

static void rpc_iscsi_get_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (params != NULL && json_object_size(params) > 0) {
		brisk_jsonrpc_invalid_params(req, "iscsi_get_options takes no parameters");
		return;
	}
	brisk_jsonrpc_send_result(req, iscsi_opts_json(&g_iscsi.opts));
}
BRISK_RPC_REGISTER("iscsi_get_options", rpc_iscsi_get_options, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* ---- helpers ---- */

/* A JSON array of strings into list (pointers into the JSON). */
int iscsi_rpc_strings(const json_t *arr, const char *field, char **list, uint32_t max, uint32_t *n, char *err,
		      size_t errlen)
{
	size_t i;
	json_t *v;

	*n = 0;
	if (arr == NULL) {
		return 0;
	}
	if (!json_is_array(arr) || json_array_size(arr) > max) {
		snprintf(err, errlen, "%s must be an array of at most %u strings", field, max);
		return -EINVAL;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) || json_string_length(v) == 0 || brisk_str_has_control_chars(json_string_value(v))) {
			snprintf(err, errlen, "%s[%zu] must be a non-empty string", field, i);
			return -EINVAL;
		}
		list[(*n)++] = (char *)json_string_value(v);
	}
	return 0;
}

/* ---- portal groups ---- */

struct rpc_pg {
	int32_t tag;
	json_t *portals;
	bool is_private;
	bool wait;
};

static const struct brisk_json_object_decoder g_pg_decoders[] = {
	{"tag", offsetof(struct rpc_pg, tag), brisk_json_decode_int32, false},
	{"portals", offsetof(struct rpc_pg, portals), brisk_json_decode_json, false},
	{"private", offsetof(struct rpc_pg, is_private), brisk_json_decode_bool, true},
	{"wait", offsetof(struct rpc_pg, wait), brisk_json_decode_bool, true},
};

#define MAX_PORTALS 32

static int pg_portals(const json_t *arr, const char **hosts, const char **ports, uint32_t *n, char *err,
		      size_t errlen)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_PORTALS) {
		snprintf(err, errlen, "portals must be an array of 1..%d {host, port} objects", MAX_PORTALS);
		return -EINVAL;
	}
	*n = 0;
	json_array_foreach(arr, i, v) {
		json_t *h = json_object_get(v, "host"), *p = json_object_get(v, "port");

		if (!json_is_string(h) || !json_is_string(p)) {
			snprintf(err, errlen, "portals[%zu] needs string host and port", i);
			return -EINVAL;
		}
		hosts[*n] = json_string_value(h);
		ports[(*n)++] = json_string_value(p);
	}
	return 0;
}

static void rpc_iscsi_create_portal_group(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_pg p = {0};
	const char *hosts[MAX_PORTALS], *ports[MAX_PORTALS];
	uint32_t n = 0;
	char err[256];

	if (brisk_json_decode_object(params, g_pg_decoders, BRISK_COUNTOF(g_pg_decoders), &p, err, sizeof(err)) != 0 ||
	    pg_portals(p.portals, hosts, ports, &n, err, sizeof(err)) != 0 ||
	    iscsi_portal_grp_create(p.tag, p.is_private, hosts, ports, n, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_pg_decoders, BRISK_COUNTOF(g_pg_decoders), &p);
}
BRISK_RPC_REGISTER("iscsi_create_portal_group", rpc_iscsi_create_portal_group, BRISK_RPC_RUNTIME)

static bool pg_in_use(int tag)
{
	struct iscsi_tgt_node *n;

	TAILQ_FOREACH(n, &g_iscsi.nodes, link) {
		if (iscsi_tgt_node_has_pg(n, tag)) {
			return true;
		}
	}
	return false;
}

static int decode_tag(struct brisk_jsonrpc_request *req, const json_t *params, int32_t *tag)
{
	const struct brisk_json_object_decoder d[] = {{"tag", 0, brisk_json_decode_int32, false}};
	char err[256];

	if (brisk_json_decode_object(params, d, 1, tag, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return -EINVAL;
	}
	return 0;
}

static void rpc_iscsi_delete_portal_group(struct brisk_jsonrpc_request *req, const json_t *params)
{
	int32_t tag;

	if (decode_tag(req, params, &tag) != 0) {
		return;
	}
	if (pg_in_use(tag)) {
		brisk_jsonrpc_invalid_params(req, "portal group %d is mapped by a target node", tag);
	} else if (iscsi_portal_grp_delete(tag) != 0) {
		brisk_jsonrpc_invalid_params(req, "portal group %d does not exist", tag);
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("iscsi_delete_portal_group", rpc_iscsi_delete_portal_group, BRISK_RPC_RUNTIME)

static void rpc_iscsi_get_portal_groups(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *a = json_array();
	struct iscsi_portal_grp *pg;

	TAILQ_FOREACH(pg, &g_iscsi.pgs, link) {
		json_array_append_new(a, iscsi_pg_json(pg));
	}
	brisk_jsonrpc_send_result(req, a);
}
BRISK_RPC_REGISTER("iscsi_get_portal_groups", rpc_iscsi_get_portal_groups, BRISK_RPC_RUNTIME)

/* ---- initiator groups ---- */

struct rpc_ig {
	int32_t tag;
	json_t *initiators;
	json_t *netmasks;
};

static const struct brisk_json_object_decoder g_ig_decoders[] = {
	{"tag", offsetof(struct rpc_ig, tag), brisk_json_decode_int32, false},
	{"initiators", offsetof(struct rpc_ig, initiators), brisk_json_decode_json, true},
	{"netmasks", offsetof(struct rpc_ig, netmasks), brisk_json_decode_json, true},
};

enum ig_op { IG_CREATE, IG_ADD, IG_REMOVE };

static int ig_apply(enum ig_op op, struct rpc_ig *p, char *err, size_t errlen)
{
	static char *names[ISCSI_MAX_IG_NAMES], *masks[ISCSI_MAX_IG_NAMES];
	struct iscsi_init_grp *ig = iscsi_init_grp_find(p->tag);
	uint32_t nn, nm;
	int rc;

	if (iscsi_rpc_strings(p->initiators, "initiators", names, ISCSI_MAX_IG_NAMES, &nn, err, errlen) != 0 ||
	    iscsi_rpc_strings(p->netmasks, "netmasks", masks, ISCSI_MAX_IG_NAMES, &nm, err, errlen) != 0) {
		return -EINVAL;
	}
	if (op == IG_CREATE) {
		if (ig != NULL || p->tag < 1 || p->tag > 65535 || nn == 0 || nm == 0) {
			snprintf(err, errlen, "tag %d is taken or not 1..65535, or initiators/netmasks empty", p->tag);
			return -EINVAL;
		}
		ig = calloc(1, sizeof(*ig));
		if (ig == NULL) {
			return -ENOMEM;
		}
		ig->tag = p->tag;
		rc = iscsi_init_grp_add(ig, names, nn, masks, nm, err, errlen);
		if (rc != 0) {
			iscsi_init_grp_free(ig);
			return rc;
		}
		TAILQ_INSERT_TAIL(&g_iscsi.igs, ig, link);
		return 0;
	}
	if (ig == NULL) {
		snprintf(err, errlen, "initiator group %d does not exist", p->tag);
		return -ENOENT;
	}
	return op == IG_ADD ? iscsi_init_grp_add(ig, names, nn, masks, nm, err, errlen) :
	       iscsi_init_grp_remove(ig, names, nn, masks, nm, err, errlen);
}

static void rpc_ig_common(struct brisk_jsonrpc_request *req, const json_t *params, enum ig_op op)
{
	struct rpc_ig p = {0};
	char err[256];

	if (brisk_json_decode_object(params, g_ig_decoders, BRISK_COUNTOF(g_ig_decoders), &p, err, sizeof(err)) != 0 ||
	    ig_apply(op, &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_ig_decoders, BRISK_COUNTOF(g_ig_decoders), &p);
}

static void rpc_iscsi_create_initiator_group(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_ig_common(req, params, IG_CREATE);
}
BRISK_RPC_REGISTER("iscsi_create_initiator_group", rpc_iscsi_create_initiator_group, BRISK_RPC_RUNTIME)

static void rpc_iscsi_initiator_group_add_initiators(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_ig_common(req, params, IG_ADD);
}
BRISK_RPC_REGISTER("iscsi_initiator_group_add_initiators", rpc_iscsi_initiator_group_add_initiators,
		   BRISK_RPC_RUNTIME)

static void rpc_iscsi_initiator_group_remove_initiators(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_ig_common(req, params, IG_REMOVE);
}
BRISK_RPC_REGISTER("iscsi_initiator_group_remove_initiators", rpc_iscsi_initiator_group_remove_initiators,
		   BRISK_RPC_RUNTIME)

static bool ig_in_use(int tag)
{
	struct iscsi_tgt_node *n;

	TAILQ_FOREACH(n, &g_iscsi.nodes, link) {
		for (uint32_t i = 0; i < n->num_maps; i++) {
			if (n->maps[i].ig_tag == tag) {
				return true;
			}
		}
	}
	return false;
}

static void rpc_iscsi_delete_initiator_group(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct iscsi_init_grp *ig;
	int32_t tag;

	if (decode_tag(req, params, &tag) != 0) {
		return;
	}
	ig = iscsi_init_grp_find(tag);
	if (ig == NULL) {
		brisk_jsonrpc_invalid_params(req, "initiator group %d does not exist", tag);
	} else if (ig_in_use(tag)) {
		brisk_jsonrpc_invalid_params(req, "initiator group %d is mapped by a target node", tag);
	} else {
		TAILQ_REMOVE(&g_iscsi.igs, ig, link);
		iscsi_init_grp_free(ig);
		brisk_jsonrpc_send_bool_response(req, true);
	}
}
BRISK_RPC_REGISTER("iscsi_delete_initiator_group", rpc_iscsi_delete_initiator_group, BRISK_RPC_RUNTIME)

static void rpc_iscsi_get_initiator_groups(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *a = json_array();
	struct iscsi_init_grp *ig;

	TAILQ_FOREACH(ig, &g_iscsi.igs, link) {
		json_array_append_new(a, iscsi_ig_json(ig));
	}
	brisk_jsonrpc_send_result(req, a);
}
BRISK_RPC_REGISTER("iscsi_get_initiator_groups", rpc_iscsi_get_initiator_groups, BRISK_RPC_RUNTIME)

/* ---- iscsi_get_stats, iscsi_get_connections ---- */

static void rpc_iscsi_get_stats(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_jsonrpc_send_result(req, json_pack("{s:i, s:i, s:i, s:i}", "invalid", 0, "running",
						 (json_int_t)__atomic_load_n(&g_iscsi.num_conns, __ATOMIC_SEQ_CST),
						 "exiting", 0, "zombie", 0));
}
BRISK_RPC_REGISTER("iscsi_get_stats", rpc_iscsi_get_stats, BRISK_RPC_RUNTIME)
