/*
 * The JSON-RPC server's own methods: rpc_get_methods (the registry's list)
 * and rpc_set_options / rpc_get_options (the server's settings). Names and
 * parameters follow SPDK's interface. The methods of other layers (log,
 * thread, env) live in lib/event/sys_rpc.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>

#include "rpc_internal.h"

#define ANY_STATE (BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* ---- rpc_get_methods ---- */

struct rpc_get_methods_params {
	bool current;
	bool include_aliases;
};

static const struct brisk_json_object_decoder rpc_get_methods_decoders[] = {
	{ "current", offsetof(struct rpc_get_methods_params, current), brisk_json_decode_bool, true },
	{ "include_aliases", offsetof(struct rpc_get_methods_params, include_aliases),
	  brisk_json_decode_bool, true },
};

struct name_list {
	json_t *names;
	bool failed; /* a name could not be added: the list would be short */
};

static void
append_name(const char *name, void *ctx)
{
	struct name_list *l = ctx;

	if (json_array_append_new(l->names, json_string(name)) != 0) {
		l->failed = true;
	}
}

static void
rpc_get_methods(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_get_methods_params p = { false, false };
	struct name_list l = { NULL, false };

	if (!brisk_jsonrpc_decode_params(req, params, rpc_get_methods_decoders,
			   BRISK_COUNTOF(rpc_get_methods_decoders), &p)) {
		return;
	}
	l.names = json_array();
	if (l.names != NULL) {
		rpc_registry_for_each(p.current ? brisk_rpc_get_state() : 0, p.include_aliases, append_name, &l);
	}
	if (l.names == NULL || l.failed) {
		json_decref(l.names);
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "Out of memory");
		return;
	}
	brisk_jsonrpc_send_result(req, l.names);
}
BRISK_RPC_REGISTER("rpc_get_methods", rpc_get_methods, ANY_STATE)

/* ---- rpc_set_options / rpc_get_options (Brisk's, in SPDK's
 * <area>_set_options style): the server's connection limits. The socket's
 * mode and group are start-up flags (--rpc-socket-mode/-group): a client
 * must not be able to widen who may connect. ---- */

struct rpc_options_params {
	uint32_t max_connections;
	uint32_t idle_timeout_ms;
	uint32_t recv_timeout_ms;
	uint32_t max_batch_size;
};

static const struct brisk_json_object_decoder rpc_options_decoders[] = {
	{ "max_connections", offsetof(struct rpc_options_params, max_connections),
	  brisk_json_decode_uint32, true },
	{ "idle_timeout_ms", offsetof(struct rpc_options_params, idle_timeout_ms),
	  brisk_json_decode_uint32, true },
	{ "recv_timeout_ms", offsetof(struct rpc_options_params, recv_timeout_ms),
	  brisk_json_decode_uint32, true },
	{ "max_batch_size", offsetof(struct rpc_options_params, max_batch_size),
	  brisk_json_decode_uint32, true },
};

static void
rpc_set_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_rpc_opts o;
	struct rpc_options_params p;

	brisk_rpc_get_opts(&o);
	p.max_connections = o.max_connections;
	p.idle_timeout_ms = o.idle_timeout_ms;
	p.recv_timeout_ms = o.recv_timeout_ms;
	p.max_batch_size = o.max_batch_size;
	if (!brisk_jsonrpc_decode_params(req, params, rpc_options_decoders, BRISK_COUNTOF(rpc_options_decoders), &p)) {
		return;
	}
	if (p.max_connections == 0 || p.max_connections > 65536) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: 'max_connections' must be 1 to 65536");
		return;
	}
	if (p.max_batch_size == 0 || p.max_batch_size > 1000000) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: 'max_batch_size' must be 1 to 1000000");
		return;
	}
	o.max_connections = p.max_connections;
	o.idle_timeout_ms = p.idle_timeout_ms;
	o.recv_timeout_ms = p.recv_timeout_ms;
	o.max_batch_size = p.max_batch_size;
	if (brisk_rpc_set_opts(&o) != 0) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: rejected (see the log)");
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("rpc_set_options", rpc_set_options, ANY_STATE)

static void
rpc_get_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_rpc_opts o;

	if (!brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
		return;
	}
	brisk_rpc_get_opts(&o);
	brisk_jsonrpc_send_result(req, json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:I}",
			"max_connections", (int)o.max_connections,
			"idle_timeout_ms", (int)o.idle_timeout_ms,
			"recv_timeout_ms", (int)o.recv_timeout_ms,
			"max_batch_size", (int)o.max_batch_size,
			"socket_mode", (json_int_t)o.socket_mode,
			"socket_gid", (json_int_t)o.socket_gid,
			"send_high_water", (json_int_t)o.send_high_water));
}
BRISK_RPC_REGISTER("rpc_get_options", rpc_get_options, ANY_STATE)
