/*
 * SPDK's lvol methods built on external snapshots (a bdev outside the
 * lvstore as an lvol's read-only parent):
 *   bdev_lvol_set_parent_bdev {lvol_name, esnap_name}
 *   bdev_lvol_clone_bdev {bdev, lvs_name, clone_name}
 * Brisk's blobstore has no external parents (a blob's parent is always a
 * snapshot blob of the same store), so both are refused, with SPDK's
 * parameters checked first so a script gets the same errors for bad input
 * and one clear "not supported" otherwise. Nothing changes either way.
 */
#include <errno.h>

#include <brisk/json.h>
#include <brisk/rpc.h>

struct rpc_esnap {
	char *a;
	char *b;
	char *c;
};

static const struct brisk_json_object_decoder g_set_parent_bdev_dec[] = {
	{"lvol_name", offsetof(struct rpc_esnap, a), brisk_json_decode_string, false},
	{"esnap_name", offsetof(struct rpc_esnap, b), brisk_json_decode_string, false},
};

static const struct brisk_json_object_decoder g_clone_bdev_dec[] = {
	{"bdev", offsetof(struct rpc_esnap, a), brisk_json_decode_string, false},
	{"lvs_name", offsetof(struct rpc_esnap, b), brisk_json_decode_string, false},
	{"clone_name", offsetof(struct rpc_esnap, c), brisk_json_decode_string, false},
};

static void rpc_esnap_refuse(struct brisk_jsonrpc_request *req, const json_t *params,
			     const struct brisk_json_object_decoder *d, size_t n, const char *method)
{
	struct rpc_esnap p = {0};
	char err[256];

	if (brisk_json_decode_object(params, d, n, &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else {
		brisk_jsonrpc_send_error_response_fmt(req, -ENOTSUP, "%s: not supported: Brisk's blobstore "
						      "has no external snapshot parents (a parent must be a "
						      "snapshot in the same lvstore); nothing was changed", method);
	}
	brisk_json_free_object(d, n, &p);
}

static void rpc_bdev_lvol_set_parent_bdev(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_esnap_refuse(req, params, g_set_parent_bdev_dec, BRISK_COUNTOF(g_set_parent_bdev_dec),
			 "bdev_lvol_set_parent_bdev");
}
BRISK_RPC_REGISTER("bdev_lvol_set_parent_bdev", rpc_bdev_lvol_set_parent_bdev, BRISK_RPC_RUNTIME)

static void rpc_bdev_lvol_clone_bdev(struct brisk_jsonrpc_request *req, const json_t *params)
{
	rpc_esnap_refuse(req, params, g_clone_bdev_dec, BRISK_COUNTOF(g_clone_bdev_dec), "bdev_lvol_clone_bdev");
}
BRISK_RPC_REGISTER("bdev_lvol_clone_bdev", rpc_bdev_lvol_clone_bdev, BRISK_RPC_RUNTIME)
