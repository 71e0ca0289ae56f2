/*
 * RPC methods of the delay module (SPDK's names and parameters):
 *   bdev_delay_create {base_bdev_name, name, avg_read_latency, p99_read_latency,
 *                      avg_write_latency, p99_write_latency, uuid?} -> name   (µs)
 *   bdev_delay_delete {name} -> true
 *   bdev_delay_update_latency {delay_bdev_name, latency_type, latency_us} -> true
 */
#include <errno.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/json.h>
#include <brisk/rpc.h>

#include "bdev_delay.h"

struct rpc_delay_create {
	char *base_bdev_name;
	char *name;
	char *uuid;
	uint64_t avg_read_latency;
	uint64_t p99_read_latency;
	uint64_t avg_write_latency;
	uint64_t p99_write_latency;
};

static const struct brisk_json_object_decoder g_delay_create_decoders[] = {
	{"base_bdev_name", offsetof(struct rpc_delay_create, base_bdev_name), brisk_json_decode_string, false},
	{"name", offsetof(struct rpc_delay_create, name), brisk_json_decode_name, false},
	{"avg_read_latency", offsetof(struct rpc_delay_create, avg_read_latency), brisk_json_decode_uint64, false},
	{"p99_read_latency", offsetof(struct rpc_delay_create, p99_read_latency), brisk_json_decode_uint64, false},
	{"avg_write_latency", offsetof(struct rpc_delay_create, avg_write_latency), brisk_json_decode_uint64, false},
	{"p99_write_latency", offsetof(struct rpc_delay_create, p99_write_latency), brisk_json_decode_uint64, false},
	{"uuid", offsetof(struct rpc_delay_create, uuid), brisk_json_decode_string, true},
};

static void rpc_bdev_delay_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_delay_create p = {0};
	struct bdev_delay_opts opts = {0};
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_delay_create_decoders, BRISK_COUNTOF(g_delay_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.name[0] == '\0' || p.base_bdev_name[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "%s must not be empty", p.name[0] == '\0' ? "name" : "base_bdev_name");
		goto out;
	}
	if (p.avg_read_latency > BDEV_DELAY_MAX_LATENCY_US || p.p99_read_latency > BDEV_DELAY_MAX_LATENCY_US ||
	    p.avg_write_latency > BDEV_DELAY_MAX_LATENCY_US || p.p99_write_latency > BDEV_DELAY_MAX_LATENCY_US) {
		brisk_jsonrpc_invalid_params(req, "%s must be at most %llu (us, one minute)",
					     p.avg_read_latency > BDEV_DELAY_MAX_LATENCY_US ? "avg_read_latency" :
					     p.p99_read_latency > BDEV_DELAY_MAX_LATENCY_US ? "p99_read_latency" :
					     p.avg_write_latency > BDEV_DELAY_MAX_LATENCY_US ? "avg_write_latency" :
					     "p99_write_latency", BDEV_DELAY_MAX_LATENCY_US);
		goto out;
	}
	if (p.p99_read_latency < p.avg_read_latency) {
		brisk_jsonrpc_invalid_params(req, "p99_read_latency must be >= avg_read_latency");
		goto out;
	}
	if (p.p99_write_latency < p.avg_write_latency) {
		brisk_jsonrpc_invalid_params(req, "p99_write_latency must be >= avg_write_latency");
		goto out;
	}
	if (p.uuid != NULL && brisk_uuid_parse(&opts.uuid, p.uuid) != 0) {
		brisk_jsonrpc_invalid_params(req, "uuid '%s' is not a valid UUID", p.uuid);
		goto out;
	}
	opts.base_bdev_name = p.base_bdev_name;
	opts.name = p.name;
	opts.avg_read_latency = p.avg_read_latency;
	opts.p99_read_latency = p.p99_read_latency;
	opts.avg_write_latency = p.avg_write_latency;
	opts.p99_write_latency = p.p99_write_latency;
	rc = bdev_delay_create(&opts);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such device: base_bdev_name '%s' does not exist",
						      p.base_bdev_name);
	} else if (rc == -EEXIST) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev name '%s' already exists", p.name);
	} else if (rc == -EPERM) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "base_bdev_name '%s' is already claimed",
						      p.base_bdev_name);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_delay_create failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_result(req, json_string(p.name));
	}
out:
	brisk_json_free_object(g_delay_create_decoders, BRISK_COUNTOF(g_delay_create_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_delay_create", rpc_bdev_delay_create, BRISK_RPC_RUNTIME)

static void rpc_bdev_delay_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_bdev_rpc_delete(req, params, "delay", bdev_delay_delete);
}
BRISK_RPC_REGISTER("bdev_delay_delete", rpc_bdev_delay_delete, BRISK_RPC_RUNTIME)

struct rpc_delay_update {
	char *delay_bdev_name;
	char *latency_type;
	uint64_t latency_us;
};

static const struct brisk_json_object_decoder g_delay_update_decoders[] = {
	{"delay_bdev_name", offsetof(struct rpc_delay_update, delay_bdev_name), brisk_json_decode_string, false},
	{"latency_type", offsetof(struct rpc_delay_update, latency_type), brisk_json_decode_string, false},
	{"latency_us", offsetof(struct rpc_delay_update, latency_us), brisk_json_decode_uint64, false},
};

static void rpc_bdev_delay_update_latency(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_delay_update p = {0};
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_delay_update_decoders, BRISK_COUNTOF(g_delay_update_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (strcmp(p.latency_type, "avg_read") != 0 && strcmp(p.latency_type, "p99_read") != 0 &&
	    strcmp(p.latency_type, "avg_write") != 0 && strcmp(p.latency_type, "p99_write") != 0) {
		brisk_jsonrpc_invalid_params(req, "latency_type '%s' is not one of avg_read, p99_read, avg_write, "
					     "p99_write", p.latency_type);
		goto out;
	}
	if (p.latency_us > BDEV_DELAY_MAX_LATENCY_US) {
		brisk_jsonrpc_invalid_params(req, "latency_us %lu must be at most %llu (one minute)",
					     (unsigned long)p.latency_us, BDEV_DELAY_MAX_LATENCY_US);
		goto out;
	}
	rc = bdev_delay_update_latency(p.delay_bdev_name, p.latency_type, p.latency_us);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such device: delay_bdev_name '%s' is not a delay "
						      "bdev", p.delay_bdev_name);
	} else if (rc == -EINVAL) {
		brisk_jsonrpc_invalid_params(req, "latency_us %lu for %s would put a p99 latency below its average",
					     (unsigned long)p.latency_us, p.latency_type);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_delay_update_latency failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
out:
	brisk_json_free_object(g_delay_update_decoders, BRISK_COUNTOF(g_delay_update_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_delay_update_latency", rpc_bdev_delay_update_latency, BRISK_RPC_RUNTIME)
