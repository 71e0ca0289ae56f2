/*
 * The "delete a bdev of my module by name" JSON-RPC method that every bdev
 * module has (bdev_malloc_delete, bdev_null_delete, bdev_aio_delete, ...):
 * {name} -> true once the bdev is unregistered. One place for the params,
 * the "No such device" refusal and the deferred answer, so the modules'
 * methods cannot drift apart.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev_module.h>
#include <brisk/json.h>
#include <brisk/rpc.h>

struct bdev_rpc_delete {
	struct brisk_jsonrpc_request *req;
	const char *kind;
};

struct bdev_rpc_delete_params {
	char *name;
};

static const struct brisk_json_object_decoder g_delete_decoders[] = {
	{ "name", offsetof(struct bdev_rpc_delete_params, name), brisk_json_decode_string, false },
};

static void bdev_rpc_deleted(void *arg, int rc)
{
	struct bdev_rpc_delete *ctx = arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(ctx->req, rc, "bdev_%s_delete failed: %s", ctx->kind,
						      strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(ctx->req, true);
	}
	free(ctx);
}

static void bdev_rpc_delete_start(struct brisk_jsonrpc_request *req, const char *name, const char *kind,
				  brisk_bdev_delete_fn delete_fn)
{
	struct bdev_rpc_delete *ctx = calloc(1, sizeof(*ctx));
	int rc;

	if (ctx == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENOMEM, "bdev_%s_delete: out of memory", kind);
		return;
	}
	ctx->req = req;
	ctx->kind = kind;
	rc = delete_fn(name, bdev_rpc_deleted, ctx);
	if (rc == 0) {
		return;
	}
	free(ctx);
	if (rc == -ENODEV) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "No such device: %s bdev '%s' does not exist", kind,
						      name);
	} else {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_%s_delete failed: %s", kind, strerror(-rc));
	}
}

void brisk_bdev_rpc_delete(struct brisk_jsonrpc_request *req, const json_t *params, const char *kind,
			   brisk_bdev_delete_fn delete_fn)
{
	struct bdev_rpc_delete_params p = { 0 };
	char err[256];

	if (brisk_json_decode_object(params, g_delete_decoders, BRISK_COUNTOF(g_delete_decoders), &p, err,
				     sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else {
		bdev_rpc_delete_start(req, p.name, kind, delete_fn);
	}
	brisk_json_free_object(g_delete_decoders, BRISK_COUNTOF(g_delete_decoders), &p);
}
