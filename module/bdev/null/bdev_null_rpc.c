/*
 * RPC methods of the null module (SPDK's names and parameters):
 *   bdev_null_create {name, num_blocks, block_size, uuid} -> name
 *   bdev_null_delete {name} -> true
 *   bdev_null_resize {name, new_size (MiB)} -> true
 */
#include <errno.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/json.h>
#include <brisk/rpc.h>

#include "bdev_null.h"

struct rpc_null_create {
	char *name;
	char *uuid;
	uint64_t num_blocks;
	uint32_t block_size;
};

static const struct brisk_json_object_decoder g_null_create_decoders[] = {
	{"name", offsetof(struct rpc_null_create, name), brisk_json_decode_name, false},
	{"num_blocks", offsetof(struct rpc_null_create, num_blocks), brisk_json_decode_uint64, false},
	{"block_size", offsetof(struct rpc_null_create, block_size), brisk_json_decode_uint32, false},
	{"uuid", offsetof(struct rpc_null_create, uuid), brisk_json_decode_string, true},
};

static void rpc_bdev_null_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_null_create p = {0};
	struct bdev_null_opts opts = {0};
	struct brisk_bdev *bdev;
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_null_create_decoders, BRISK_COUNTOF(g_null_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.name[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "name must not be empty");
		goto out;
	}
	if (p.block_size == 0 || p.block_size % 512 != 0) {
		brisk_jsonrpc_invalid_params(req, "block_size %u must be a multiple of 512", p.block_size);
		goto out;
	}
	if (p.num_blocks == 0) {
		brisk_jsonrpc_invalid_params(req, "num_blocks must be greater than 0");
		goto out;
	}
	if (p.num_blocks > UINT64_MAX / p.block_size) {
		brisk_jsonrpc_invalid_params(req, "num_blocks %lu x block_size %u bytes does not fit in 64 bits",
					     (unsigned long)p.num_blocks, p.block_size);
		goto out;
	}
	if (brisk_bdev_get_by_name(p.name) != NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -EEXIST, "bdev name '%s' already exists", p.name);
		goto out;
	}
	if (p.uuid != NULL && brisk_uuid_parse(&opts.uuid, p.uuid) != 0) {
		brisk_jsonrpc_invalid_params(req, "uuid '%s' is not a valid UUID", p.uuid);
		goto out;
	}
	opts.name = p.name;
	opts.num_blocks = p.num_blocks;
	opts.block_size = p.block_size;
	rc = bdev_null_create(&bdev, &opts);
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_null_create failed: %s%s", strerror(-rc),
						      rc == -EEXIST ? " (name or uuid already used)" : "");
		goto out;
	}
	brisk_jsonrpc_send_result(req, json_string(brisk_bdev_get_name(bdev)));
out:
	brisk_json_free_object(g_null_create_decoders, BRISK_COUNTOF(g_null_create_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_null_create", rpc_bdev_null_create, BRISK_RPC_RUNTIME)

static void rpc_bdev_null_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_bdev_rpc_delete(req, params, "null", bdev_null_delete);
}
BRISK_RPC_REGISTER("bdev_null_delete", rpc_bdev_null_delete, BRISK_RPC_RUNTIME)

struct rpc_null_resize {
	char *name;
	uint64_t new_size;
};

static const struct brisk_json_object_decoder g_null_resize_decoders[] = {
	{"name", offsetof(struct rpc_null_resize, name), brisk_json_decode_string, false},
	{"new_size", offsetof(struct rpc_null_resize, new_size), brisk_json_decode_uint64, false},
};

static void rpc_bdev_null_resize(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_null_resize p = {0};
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_null_resize_decoders, BRISK_COUNTOF(g_null_resize_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	rc = bdev_null_resize(p.name, p.new_size);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such device: null bdev '%s' does not exist",
						      p.name);
	} else if (rc == -EINVAL) {
		brisk_jsonrpc_invalid_params(req, "new_size %lu MiB is out of range", (unsigned long)p.new_size);
	} else if (rc == -EBUSY) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "null bdev '%s' is open: it cannot shrink", p.name);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_null_resize failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
out:
	brisk_json_free_object(g_null_resize_decoders, BRISK_COUNTOF(g_null_resize_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_null_resize", rpc_bdev_null_resize, BRISK_RPC_RUNTIME)
