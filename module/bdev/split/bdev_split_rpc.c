/*
 * RPC methods of the split module (SPDK's names and parameters):
 *   bdev_split_create {base_bdev, split_count, split_size_mb?} -> [part names]
 *   bdev_split_delete {base_bdev} -> true
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/json.h>
#include <brisk/rpc.h>
#include <brisk/string.h>

#include "bdev_split.h"

struct rpc_split_create {
	char *base_bdev;
	uint32_t split_count;
	uint64_t split_size_mb;
};

static const struct brisk_json_object_decoder g_split_create_decoders[] = {
	{"base_bdev", offsetof(struct rpc_split_create, base_bdev), brisk_json_decode_string, false},
	{"split_count", offsetof(struct rpc_split_create, split_count), brisk_json_decode_uint32, false},
	{"split_size_mb", offsetof(struct rpc_split_create, split_size_mb), brisk_json_decode_uint64, true},
};

static void rpc_bdev_split_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_split_create p = {0};
	char err[256], *name;
	json_t *names;
	int rc;

	if (brisk_json_decode_object(params, g_split_create_decoders, BRISK_COUNTOF(g_split_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.base_bdev[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "base_bdev must not be empty");
		goto out;
	}
	if (p.split_count == 0) {
		brisk_jsonrpc_invalid_params(req, "split_count must be at least 1");
		goto out;
	}
	rc = bdev_split_create(p.base_bdev, p.split_count, p.split_size_mb);
	if (rc == -EINVAL) {
		brisk_jsonrpc_invalid_params(req, "split_count %u / split_size_mb %lu do not fit base_bdev '%s'",
					     p.split_count, (unsigned long)p.split_size_mb, p.base_bdev);
	} else if (rc == -EEXIST) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "base_bdev '%s' is already split or a part name "
						      "is taken", p.base_bdev);
	} else if (rc == -EPERM) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "base_bdev '%s' is already claimed", p.base_bdev);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_split_create failed: %s", strerror(-rc));
	} else {
		names = json_array();
		for (uint32_t i = 0; i < p.split_count; i++) {
			name = brisk_sprintf_alloc("%sp%u", p.base_bdev, i);
			if (name != NULL && brisk_bdev_get_by_name(name) != NULL) {
				json_array_append_new(names, json_string(name));
			}
			free(name);
		}
		brisk_jsonrpc_send_result(req, names);
	}
out:
	brisk_json_free_object(g_split_create_decoders, BRISK_COUNTOF(g_split_create_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_split_create", rpc_bdev_split_create, BRISK_RPC_RUNTIME)

struct rpc_split_delete {
	char *base_bdev;
};

static const struct brisk_json_object_decoder g_split_delete_decoders[] = {
	{"base_bdev", offsetof(struct rpc_split_delete, base_bdev), brisk_json_decode_string, false},
};

static void split_deleted(void *arg, int rc)
{
	struct brisk_jsonrpc_request *req = arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_split_delete failed: %s", strerror(-rc));
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}

static void rpc_bdev_split_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_split_delete p = {0};
	char err[256];

	if (brisk_json_decode_object(params, g_split_delete_decoders, BRISK_COUNTOF(g_split_delete_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (bdev_split_delete(p.base_bdev, split_deleted, req) != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such device: base_bdev '%s' is not split",
						      p.base_bdev);
	}
out:
	brisk_json_free_object(g_split_delete_decoders, BRISK_COUNTOF(g_split_delete_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_split_delete", rpc_bdev_split_delete, BRISK_RPC_RUNTIME)
