/*
 * RPC methods of the passthru module (SPDK's names and parameters):
 *   bdev_passthru_create {base_bdev_name, name, uuid?} -> name
 *   bdev_passthru_delete {name} -> true
 */
#include <errno.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/bdev_module.h>
#include <brisk/json.h>
#include <brisk/rpc.h>

#include "bdev_passthru.h"

struct rpc_pt_create {
	char *base_bdev_name;
	char *name;
	char *uuid;
};

static const struct brisk_json_object_decoder g_pt_create_decoders[] = {
	{"base_bdev_name", offsetof(struct rpc_pt_create, base_bdev_name), brisk_json_decode_string, false},
	{"name", offsetof(struct rpc_pt_create, name), brisk_json_decode_name, false},
	{"uuid", offsetof(struct rpc_pt_create, uuid), brisk_json_decode_string, true},
};

static void rpc_bdev_passthru_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_pt_create p = {0};
	struct brisk_uuid uuid = {0};
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_pt_create_decoders, BRISK_COUNTOF(g_pt_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	if (p.name[0] == '\0' || p.base_bdev_name[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "%s must not be empty", p.name[0] == '\0' ? "name" : "base_bdev_name");
		goto out;
	}
	if (p.uuid != NULL && brisk_uuid_parse(&uuid, p.uuid) != 0) {
		brisk_jsonrpc_invalid_params(req, "uuid '%s' is not a valid UUID", p.uuid);
		goto out;
	}
	rc = bdev_passthru_create(p.base_bdev_name, p.name, &uuid);
	if (rc == -EEXIST) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev name '%s' already exists", p.name);
	} else if (rc == -EPERM) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "base_bdev_name '%s' is already claimed",
						      p.base_bdev_name);
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_passthru_create failed: %s", strerror(-rc));
	} else {
		brisk_jsonrpc_send_result(req, json_string(p.name));
	}
out:
	brisk_json_free_object(g_pt_create_decoders, BRISK_COUNTOF(g_pt_create_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_passthru_create", rpc_bdev_passthru_create, BRISK_RPC_RUNTIME)

static void rpc_bdev_passthru_delete(struct brisk_jsonrpc_request *req, const json_t *params)
{
	brisk_bdev_rpc_delete(req, params, "passthru", bdev_passthru_delete);
}
BRISK_RPC_REGISTER("bdev_passthru_delete", rpc_bdev_passthru_delete, BRISK_RPC_RUNTIME)
