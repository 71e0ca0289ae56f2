/*
 * JSON-RPC methods of blobfs, SPDK's names and params:
 *   blobfs_detect {bdev_name}                 -> true when the bdev holds a blobfs
 *   blobfs_create {bdev_name, cluster_sz?}    -> writes a new, empty blobfs
 *   blobfs_set_cache_size {size_in_mb}        -> cache of later loads
 * detect and create leave nothing loaded (the bdev is free again after the
 * answer); the setting is process-wide.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/string.h>

#include "blobfs_internal.h"

#define MIN_CLUSTER_SZ (1024u * 1024)

struct rpc_blobfs_bdev {
	char *bdev_name;
	uint64_t cluster_sz;
};

static const struct brisk_json_object_decoder g_detect_decoders[] = {
	{"bdev_name", offsetof(struct rpc_blobfs_bdev, bdev_name), brisk_json_decode_name, false},
};

static const struct brisk_json_object_decoder g_create_decoders[] = {
	{"bdev_name", offsetof(struct rpc_blobfs_bdev, bdev_name), brisk_json_decode_name, false},
	{"cluster_sz", offsetof(struct rpc_blobfs_bdev, cluster_sz), brisk_json_decode_uint64, true},
};

struct rpc_ctx {
	struct brisk_jsonrpc_request *req;
	bool detect;
	char *bdev_name;
};

static void rpc_ctx_free(struct rpc_ctx *c)
{
	free(c->bdev_name);
	free(c);
}

static void unloaded(void *arg, int rc)
{
	struct rpc_ctx *c = arg;

	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(c->req, rc, "unloading the blobfs on '%s' failed: %s",
						      c->bdev_name, strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(c->req, true);
	}
	rpc_ctx_free(c);
}

static void loaded(void *arg, struct brisk_blobfs *fs, int rc)
{
	struct rpc_ctx *c = arg;

	if (c->detect && (rc == -EILSEQ || rc == -EINVAL)) {
		/* no blobstore, or one of another type (an lvol store ...) */
		brisk_jsonrpc_send_bool_response(c->req, false);
		rpc_ctx_free(c);
		return;
	}
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(c->req, rc, "%s on bdev '%s' failed: %s",
						      c->detect ? "blobfs_detect" : "blobfs_create",
						      c->bdev_name, strerror(-rc));
		rpc_ctx_free(c);
		return;
	}
	brisk_blobfs_unload(fs, unloaded, c);
}

static struct rpc_ctx *rpc_ctx_new(struct brisk_jsonrpc_request *req, const char *bdev, bool detect)
{
	struct rpc_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->bdev_name = strdup(bdev)) == NULL) {
		free(c);
		brisk_jsonrpc_send_error_response(req, -ENOMEM, "out of memory");
		return NULL;
	}
	c->req = req;
	c->detect = detect;
	return c;
}

static void rpc_blobfs_detect(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_blobfs_bdev p = {0};
	struct rpc_ctx *c;
	char err[256];

	if (brisk_json_decode_object(params, g_detect_decoders, BRISK_COUNTOF(g_detect_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if (p.bdev_name[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "bdev_name must not be empty");
	} else if ((c = rpc_ctx_new(req, p.bdev_name, true)) != NULL) {
		brisk_blobfs_load_bdev(p.bdev_name, NULL, loaded, c);
	}
	brisk_json_free_object(g_detect_decoders, BRISK_COUNTOF(g_detect_decoders), &p);
}
BRISK_RPC_REGISTER("blobfs_detect", rpc_blobfs_detect, BRISK_RPC_RUNTIME)

static void rpc_blobfs_create(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_blobfs_bdev p = { .cluster_sz = MIN_CLUSTER_SZ };
	struct brisk_blobfs_opts o;
	struct rpc_ctx *c;
	char err[256];

	if (brisk_json_decode_object(params, g_create_decoders, BRISK_COUNTOF(g_create_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if (p.bdev_name[0] == '\0') {
		brisk_jsonrpc_invalid_params(req, "bdev_name must not be empty");
	} else if (p.cluster_sz < MIN_CLUSTER_SZ || p.cluster_sz % 4096 != 0 ||
		   p.cluster_sz > UINT32_MAX) {
		brisk_jsonrpc_invalid_params(req, "cluster_sz %lu must be a multiple of 4096, at least "
					     "%u and below 4 GiB", (unsigned long)p.cluster_sz,
					     MIN_CLUSTER_SZ);
	} else if ((c = rpc_ctx_new(req, p.bdev_name, false)) != NULL) {
		brisk_blobfs_opts_init(&o);
		o.cluster_sz = (uint32_t)p.cluster_sz;
		brisk_blobfs_init_bdev(p.bdev_name, &o, loaded, c);
	}
	brisk_json_free_object(g_create_decoders, BRISK_COUNTOF(g_create_decoders), &p);
}
BRISK_RPC_REGISTER("blobfs_create", rpc_blobfs_create, BRISK_RPC_RUNTIME)

struct rpc_cache_size {
	uint64_t size_in_mb;
};

static const struct brisk_json_object_decoder g_cache_decoders[] = {
	{"size_in_mb", offsetof(struct rpc_cache_size, size_in_mb), brisk_json_decode_uint64, false},
};

static void rpc_blobfs_set_cache_size(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_cache_size p = {0};
	char err[256];

	if (brisk_json_decode_object(params, g_cache_decoders, BRISK_COUNTOF(g_cache_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return;
	}
	if (p.size_in_mb == 0 || p.size_in_mb > (1ull << 30) ||
	    brisk_blobfs_set_cache_size(p.size_in_mb * 1024 * 1024) != 0) {
		brisk_jsonrpc_invalid_params(req, "size_in_mb %lu must be between 1 and 2^30",
					     (unsigned long)p.size_in_mb);
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("blobfs_set_cache_size", rpc_blobfs_set_cache_size,
		   BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)
