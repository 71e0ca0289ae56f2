/*
 * RPC methods of the error module (SPDK's names and parameters):
 *   bdev_error_create {base_name, uuid?} -> "EE_<base_name>"
 *   bdev_error_delete {name} -> true
 *   bdev_error_inject_error {name, io_type, error_type, num?, queue_depth?,
 *                            corrupt_offset?, corrupt_value?} -> true
 *     io_type: read|write|unmap|flush|write_zeroes|compare|all|clear
 *     error_type: failure|pending|corrupt_data|nomem
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/json.h>
#include <brisk/rpc.h>
#include <brisk/string.h>

#include "bdev_error.h"

struct rpc_error_create {
	char *base_name;
	char *uuid;
};

static const struct brisk_json_object_decoder g_error_create_decoders[] = {
	{"base_name", offsetof(struct rpc_error_create, base_name), brisk_json_decode_string, false},
	{"uuid", offsetof(struct rpc_error_create, uuid), brisk_json_decode_string, true},
};

static void rpc_bdev_error_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_error_create p = {0};
	struct brisk_uuid uuid = {0};
	char err[256], *name;
	int rc;

	if (brisk_json_decode_object(params, g_error_create_decoders, BRISK_COUNTOF(g_error_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.base_name[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "base_name must not be empty");
		goto out;
	}
	if (p.uuid != NULL && brisk_uuid_parse(&uuid, p.uuid) != 0) {
		brisk_jsonrpc_invalid_params(req, "uuid '%s' is not a valid UUID", p.uuid);
		goto out;
	}
	rc = bdev_error_create(p.base_name, &uuid);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such device: base_name '%s' does not exist",
						      p.base_name);
	} else if (rc == -EEXIST) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev EE_%s already exists", p.base_name);
	} else if (rc == -EPERM) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "base_name '%s' is already claimed", p.base_name);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_error_create failed: %s", strerror(-rc));
	} else {
		name = brisk_sprintf_alloc("EE_%s", p.base_name);
		brisk_jsonrpc_send_result(req, name != NULL ? json_string(name) : NULL);
		free(name);
	}
out:
	brisk_json_free_object(g_error_create_decoders, BRISK_COUNTOF(g_error_create_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_error_create", rpc_bdev_error_create, BRISK_RPC_RUNTIME)

static void rpc_bdev_error_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_bdev_rpc_delete(req, params, "error", bdev_error_delete);
}
BRISK_RPC_REGISTER("bdev_error_delete", rpc_bdev_error_delete, BRISK_RPC_RUNTIME)

struct rpc_error_inject {
	char *name;
	char *io_type;
	char *error_type;
	uint32_t num;
	uint64_t queue_depth;
	uint64_t corrupt_offset;
	uint32_t corrupt_value;
};

static const struct brisk_json_object_decoder g_error_inject_decoders[] = {
	{"name", offsetof(struct rpc_error_inject, name), brisk_json_decode_string, false},
	{"io_type", offsetof(struct rpc_error_inject, io_type), brisk_json_decode_string, false},
	{"error_type", offsetof(struct rpc_error_inject, error_type), brisk_json_decode_string, false},
	{"num", offsetof(struct rpc_error_inject, num), brisk_json_decode_uint32, true},
	{"queue_depth", offsetof(struct rpc_error_inject, queue_depth), brisk_json_decode_uint64, true},
	{"corrupt_offset", offsetof(struct rpc_error_inject, corrupt_offset), brisk_json_decode_uint64, true},
	{"corrupt_value", offsetof(struct rpc_error_inject, corrupt_value), brisk_json_decode_uint32, true},
};

static void rpc_bdev_error_inject_error(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_error_inject p = { .num = 1 };
	struct bdev_error_inject_opts opts = {0};
	char err[256];
	bool clear;
	int rc;

	if (brisk_json_decode_object(params, g_error_inject_decoders, BRISK_COUNTOF(g_error_inject_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (bdev_error_parse_io_type(p.io_type, &opts.io_type_mask, &clear) != 0) {
		brisk_jsonrpc_invalid_params(req, "io_type '%s' is not one of read, write, unmap, flush, "
					     "write_zeroes, compare, all, clear", p.io_type);
		goto out;
	}
	if (!clear && bdev_error_parse_error_type(p.error_type, &opts.error_type) != 0) {
		brisk_jsonrpc_invalid_params(req, "error_type '%s' is not one of failure, pending, corrupt_data, "
					     "nomem", p.error_type);
		goto out;
	}
	if (!clear && p.num == 0) {
		brisk_jsonrpc_invalid_params(req, "num must be at least 1");
		goto out;
	}
	if (p.corrupt_value > 255) {
		brisk_jsonrpc_invalid_params(req, "corrupt_value %u must be a byte (1..255)", p.corrupt_value);
		goto out;
	}
	if (opts.error_type == BDEV_ERROR_TYPE_CORRUPT_DATA && p.corrupt_value == 0) {
		brisk_jsonrpc_invalid_params(req, "corrupt_value must be non-zero for error_type corrupt_data");
		goto out;
	}
	if (clear) {
		opts.error_type = BDEV_ERROR_TYPE_NONE;
	}
	opts.num = p.num;
	opts.queue_depth = p.queue_depth;
	opts.corrupt_offset = p.corrupt_offset;
	opts.corrupt_value = (uint8_t)p.corrupt_value;
	rc = bdev_error_inject_error(p.name, &opts);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such device: error bdev '%s' does not exist",
						      p.name);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_error_inject_error failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
out:
	brisk_json_free_object(g_error_inject_decoders, BRISK_COUNTOF(g_error_inject_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_error_inject_error", rpc_bdev_error_inject_error, BRISK_RPC_RUNTIME)
