/*
 * SPDK methods that only tune internals of SPDK's own components (iobuf
 * pools, socket implementations, accel caches, the raid module, the
 * scheduler). SPDK's saved configs always contain them, so a config saved by
 * SPDK must load: each is accepted when its parameters have SPDK's names and
 * JSON types, and ignored with a notice, because Brisk has no such component
 * to tune (its buffers come from per-bdev pools sized at start-up, it has one
 * socket implementation and no accel framework). A value that would change
 * behaviour a user can see (another scheduler, a command retry delay) is
 * refused by name instead of silently dropped. Nothing here is written back
 * by save_config: it created nothing.
 */
#include <errno.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>

/* SPDK's parameters of one method: "name:t" pairs, t = i (integer),
 * b (bool), s (string). */
struct peer_method {
	const char *method;
	const char *params;
	const char *why;
};

static const struct peer_method g_peer_methods[] = {
	{"iobuf_set_options", "small_pool_count:i,large_pool_count:i,small_bufsize:i,large_bufsize:i,"
	 "enable_numa:b", "Brisk has no iobuf pools: bdev modules size their own buffers"},
	{"sock_impl_set_options", "impl_name:s,recv_buf_size:i,send_buf_size:i,enable_recv_pipe:b,"
	 "enable_quickack:b,enable_placement_id:i,enable_zerocopy_send:b,enable_zerocopy_send_server:b,"
	 "enable_zerocopy_send_client:b,zerocopy_threshold:i,tls_version:i,enable_ktls:b",
	 "Brisk has one socket implementation with its own settings"},
	{"sock_set_default_impl", "impl_name:s", "Brisk has one socket implementation (posix)"},
	{"accel_set_options", "small_cache_size:i,large_cache_size:i,task_count:i,sequence_count:i,buf_count:i",
	 "Brisk has no accel framework"},
	{"bdev_raid_set_options", "process_window_size_kb:i,process_max_bandwidth_mb_sec:i",
	 "Brisk has no raid module"},
	{"bdev_iscsi_set_options", "timeout_sec:i", "Brisk has no iSCSI initiator bdev module"},
	{"framework_set_scheduler", "name:s,period:i,load_limit:i,core_limit:i,core_busy:i",
	 "Brisk's reactors keep their threads where they are, as SPDK's static scheduler does"},
	{"nvmf_set_crdt", "crdt1:i,crdt2:i,crdt3:i", "Brisk's target asks for no command retry delay"},
	{"fsdev_set_opts", "fsdev_io_pool_size:i,fsdev_io_cache_size:i", "Brisk has no fsdev layer"},
};

static const struct peer_method *peer_method_find(const char *name)
{
	for (size_t i = 0; i < BRISK_COUNTOF(g_peer_methods); i++) {
		if (strcmp(g_peer_methods[i].method, name) == 0) {
			return &g_peer_methods[i];
		}
	}
	return NULL;
}

/* The type letter SPDK's parameter key has for m, or 0 when m has no such key. */
static char peer_param_type(const struct peer_method *m, const char *key)
{
	size_t len = strlen(key);
	const char *p = m->params;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == m->params || p[-1] == ',') && p[len] == ':') {
			return p[len + 1];
		}
		p += len;
	}
	return 0;
}

static bool peer_type_ok(char type, const json_t *val)
{
	switch (type) {
	case 'i':
		return json_is_integer(val);
	case 'b':
		return json_is_boolean(val);
	default:
		return json_is_string(val);
	}
}

/* Values that would change what a user sees: refused, not ignored. */
static const char *peer_value_refused(const char *method, const json_t *params)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	const char *impl = json_string_value(json_object_get(params, "impl_name"));

	if (strcmp(method, "framework_set_scheduler") == 0 && (name == NULL || strcmp(name, "static") != 0)) {
		return "name: not supported by Brisk: only the 'static' scheduler";
	}
	if (strcmp(method, "sock_set_default_impl") == 0 && (impl == NULL || strcmp(impl, "posix") != 0)) {
		return "impl_name: not supported by Brisk: only 'posix'";
	}
	if (strcmp(method, "nvmf_set_crdt") == 0) {
		for (int i = 1; i <= 3; i++) {
			char key[8] = {'c', 'r', 'd', 't', (char)('0' + i), '\0'};
			json_t *v = json_object_get(params, key);

			if (v != NULL && json_integer_value(v) != 0) {
				return "crdt1..crdt3: not supported by Brisk: only 0 (no retry delay)";
			}
		}
	}
	return NULL;
}

/* 0, or -EINVAL with msg naming the bad field. */
static int peer_params_check(const struct peer_method *m, const json_t *params, char *msg, size_t len)
{
	const char *key, *refused;
	json_t *val;

	if (params != NULL && !json_is_object(params)) {
		snprintf(msg, len, "%s: params must be an object", m->method);
		return -EINVAL;
	}
	json_object_foreach((json_t *)params, key, val) {
		char type = peer_param_type(m, key);

		if (type == 0) {
			snprintf(msg, len, "%s: unknown parameter '%s'", m->method, key);
			return -EINVAL;
		}
		if (!peer_type_ok(type, val)) {
			snprintf(msg, len, "%s: parameter '%s' must be %s", m->method, key,
				 type == 'i' ? "an integer" : type == 'b' ? "a boolean" : "a string");
			return -EINVAL;
		}
	}
	refused = params != NULL ? peer_value_refused(m->method, params) : NULL;
	if (refused != NULL) {
		snprintf(msg, len, "%s: %s", m->method, refused);
		return -EINVAL;
	}
	return 0;
}

static void rpc_peer_option(struct brisk_jsonrpc_request *req, const json_t *params,
			    const char *method)
{
	const struct peer_method *m = peer_method_find(method);
	char msg[256];

	if (peer_params_check(m, params, msg, sizeof(msg)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", msg);
		return;
	}
	BRISK_NOTICELOG("%s: accepted and ignored: %s\n", m->method, m->why);
	brisk_jsonrpc_send_bool_response(req, true);
}

/* One registered handler per method: a handler is told only its params. */
#define PEER_RPC(NAME) \
	static void rpc_##NAME(struct brisk_jsonrpc_request *req, const json_t *params) \
	{ rpc_peer_option(req, params, #NAME); } \
	BRISK_RPC_REGISTER(#NAME, rpc_##NAME, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

PEER_RPC(iobuf_set_options)
PEER_RPC(sock_impl_set_options)
PEER_RPC(sock_set_default_impl)
PEER_RPC(accel_set_options)
PEER_RPC(bdev_raid_set_options)
PEER_RPC(bdev_iscsi_set_options)
PEER_RPC(framework_set_scheduler)
PEER_RPC(nvmf_set_crdt)
PEER_RPC(fsdev_set_opts)
