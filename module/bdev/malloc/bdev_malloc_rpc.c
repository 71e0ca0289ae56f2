/*
 * RPC methods of the malloc module (SPDK's names and parameters):
 *   bdev_malloc_create {name, num_blocks, block_size, physical_block_size, uuid,
 *                       optimal_io_boundary} -> name
 *   bdev_malloc_delete {name} -> true
 */
#include <errno.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/json.h>
#include <brisk/rpc.h>

#include "bdev_malloc.h"

struct rpc_malloc_create {
	char *name;
	char *uuid;
	uint64_t num_blocks;
	uint32_t block_size;
	uint32_t physical_block_size;
	uint32_t optimal_io_boundary;
};

static const struct brisk_json_object_decoder g_malloc_create_decoders[] = {
	{ "name", offsetof(struct rpc_malloc_create, name), brisk_json_decode_name, true },
	{ "num_blocks", offsetof(struct rpc_malloc_create, num_blocks), brisk_json_decode_uint64, false },
	{ "block_size", offsetof(struct rpc_malloc_create, block_size), brisk_json_decode_uint32, false },
	{ "physical_block_size", offsetof(struct rpc_malloc_create, physical_block_size), brisk_json_decode_uint32,
	  true },
	{ "uuid", offsetof(struct rpc_malloc_create, uuid), brisk_json_decode_string, true },
	{ "optimal_io_boundary", offsetof(struct rpc_malloc_create, optimal_io_boundary), brisk_json_decode_uint32,
	  true },
};

static void rpc_bdev_malloc_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_malloc_create p = {0};
	struct bdev_malloc_opts opts = {0};
	struct brisk_bdev *bdev;
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_malloc_create_decoders, BRISK_COUNTOF(g_malloc_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	/* The checks the module makes, here with messages for the caller. */
	if (p.block_size == 0 || p.block_size % 512 != 0) {
		brisk_jsonrpc_invalid_params(req, "block_size %u must be a multiple of 512", p.block_size);
		goto out;
	}
	if (!brisk_bdev_physical_block_size_valid(p.block_size, p.physical_block_size)) {
		brisk_jsonrpc_invalid_params(req,
					     "physical_block_size %u must be a power-of-two multiple of block_size %u",
					     p.physical_block_size, p.block_size);
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
	if (p.name != NULL && p.name[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "name must not be empty");
		goto out;
	}
	if (p.name != NULL && brisk_bdev_get_by_name(p.name) != NULL) {
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
	opts.physical_block_size = p.physical_block_size;
	opts.optimal_io_boundary = p.optimal_io_boundary;
	rc = bdev_malloc_create(&bdev, &opts);
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_malloc_create failed: %s%s", strerror(-rc),
						      rc == -EEXIST ? " (name or uuid already used)" : "");
		goto out;
	}
	brisk_jsonrpc_send_result(req, json_string(brisk_bdev_get_name(bdev)));
out:
	brisk_json_free_object(g_malloc_create_decoders, BRISK_COUNTOF(g_malloc_create_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_malloc_create", rpc_bdev_malloc_create, BRISK_RPC_RUNTIME)

static void rpc_bdev_malloc_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_bdev_rpc_delete(req, params, "malloc", bdev_malloc_delete);
}
BRISK_RPC_REGISTER("bdev_malloc_delete", rpc_bdev_malloc_delete, BRISK_RPC_RUNTIME)
