/*
 * RPC methods of the aio module (SPDK's names and parameters):
 *   bdev_aio_create {filename, name, block_size?, readonly?, fallocate?, uuid?} -> name
 *     (filename must be absolute: see doc/security.md)
 *   bdev_aio_delete {name} -> true
 *   bdev_aio_rescan {name} -> true
 */
#include <errno.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/json.h>
#include <brisk/rpc.h>

#include "bdev_aio.h"

struct rpc_aio_create {
	char *filename;
	char *name;
	char *uuid;
	uint32_t block_size;
	bool readonly;
	bool fallocate;
};

static const struct brisk_json_object_decoder g_aio_create_decoders[] = {
	{"filename", offsetof(struct rpc_aio_create, filename), brisk_json_decode_string, false},
	{"name", offsetof(struct rpc_aio_create, name), brisk_json_decode_name, false},
	{"block_size", offsetof(struct rpc_aio_create, block_size), brisk_json_decode_uint32, true},
	{"readonly", offsetof(struct rpc_aio_create, readonly), brisk_json_decode_bool, true},
	{"fallocate", offsetof(struct rpc_aio_create, fallocate), brisk_json_decode_bool, true},
	{"uuid", offsetof(struct rpc_aio_create, uuid), brisk_json_decode_string, true},
};

static void rpc_bdev_aio_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_aio_create p = {0};
	struct bdev_aio_opts opts = {0};
	struct brisk_bdev *bdev;
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_aio_create_decoders, BRISK_COUNTOF(g_aio_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.name[0] == '\0' || p.filename[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "%s must not be empty", p.name[0] == '\0' ? "name" : "filename");
		goto out;
	}
	if (p.filename[0] != '/') {
		/* A relative name would resolve against the target's working
		 * directory, which the client neither sees nor controls. */
		brisk_jsonrpc_invalid_params(req, "filename '%s' must be an absolute path (starting "
					     "with '/'); relative paths are refused", p.filename);
		goto out;
	}
	if (p.block_size != 0 && (p.block_size < 512 || (p.block_size & (p.block_size - 1)) != 0)) {
		brisk_jsonrpc_invalid_params(req, "block_size %u must be a power of two >= 512", p.block_size);
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
	opts.filename = p.filename;
	opts.name = p.name;
	opts.block_size = p.block_size;
	opts.readonly = p.readonly;
	opts.fallocate = p.fallocate;
	rc = bdev_aio_create(&bdev, &opts);
	if (rc == -ENOENT || rc == -EACCES || rc == -EPERM || rc == -EISDIR) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "cannot open filename '%s': %s", p.filename,
						      strerror(-rc));
	} else if (rc == -ENOTBLK) {
		const char *type = bdev_aio_file_type(p.filename);

		brisk_jsonrpc_invalid_params(req, "filename '%s' is %s%snot a regular file or a block device",
					     p.filename, type != NULL ? type : "", type != NULL ? ", " : "");
	} else if (rc == -ERANGE) {
		brisk_jsonrpc_invalid_params(req, "filename '%s' is smaller than one block (block_size %u; 0 = "
					     "detected, 4096 for a file)", p.filename, p.block_size);
	} else if (rc == -EINVAL) {
		brisk_jsonrpc_invalid_params(req, "block_size %u is smaller than the logical block size of "
					     "filename '%s'", p.block_size, p.filename);
	} else if (rc == -EIO) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "cannot read the geometry of filename '%s'",
						      p.filename);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_aio_create failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_result(req, json_string(brisk_bdev_get_name(bdev)));
	}
out:
	brisk_json_free_object(g_aio_create_decoders, BRISK_COUNTOF(g_aio_create_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_aio_create", rpc_bdev_aio_create, BRISK_RPC_RUNTIME)

struct rpc_aio_name {
	char *name;
};

static const struct brisk_json_object_decoder g_aio_name_decoders[] = {
	{"name", offsetof(struct rpc_aio_name, name), brisk_json_decode_string, false},
};

static void rpc_bdev_aio_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_bdev_rpc_delete(req, params, "aio", bdev_aio_delete);
}
BRISK_RPC_REGISTER("bdev_aio_delete", rpc_bdev_aio_delete, BRISK_RPC_RUNTIME)

static void rpc_bdev_aio_rescan(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_aio_name p = {0};
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_aio_name_decoders, BRISK_COUNTOF(g_aio_name_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	rc = bdev_aio_rescan(p.name);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such device: aio bdev '%s' does not exist",
						      p.name);
	} else if (rc == -EBUSY) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "aio bdev '%s' is open: it cannot shrink", p.name);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_aio_rescan failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
out:
	brisk_json_free_object(g_aio_name_decoders, BRISK_COUNTOF(g_aio_name_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_aio_rescan", rpc_bdev_aio_rescan, BRISK_RPC_RUNTIME)
