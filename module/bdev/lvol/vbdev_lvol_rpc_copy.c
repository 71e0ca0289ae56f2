/*
 * SPDK's shallow copy methods:
 *   bdev_lvol_start_shallow_copy {src_lvol_name, dst_bdev_name} -> {operation_id}
 *   bdev_lvol_check_shallow_copy {operation_id} -> {state, copied_clusters,
 *       total_clusters[, error]}, state "in progress", "complete" or "error".
 * The copy itself is brisk_lvol_shallow_copy; the destination bdev is opened
 * for writing (as a bs_dev) for the copy's duration. Operations are kept,
 * finished ones too, so a script can ask after the fact, as SPDK does.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/blob_bdev.h>
#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/lvol.h>
#include <brisk/queue.h>
#include <brisk/rpc.h>

#include "vbdev_lvol.h"

struct shallow_copy_op {
	uint32_t id;
	const char *state;
	uint64_t copied;
	uint64_t total;
	char error[128];
	struct brisk_bs_dev *dst;
	TAILQ_ENTRY(shallow_copy_op) link;
};

static TAILQ_HEAD(, shallow_copy_op) g_copy_ops = TAILQ_HEAD_INITIALIZER(g_copy_ops);
static uint32_t g_copy_next_id;

struct rpc_start_copy {
	char *src_lvol_name;
	char *dst_bdev_name;
};

static const struct brisk_json_object_decoder g_start_copy_dec[] = {
	{ "src_lvol_name", offsetof(struct rpc_start_copy, src_lvol_name), brisk_json_decode_string, false },
	{ "dst_bdev_name", offsetof(struct rpc_start_copy, dst_bdev_name), brisk_json_decode_string, false },
};

static void copy_dst_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)ctx;
	if (type == BRISK_BDEV_EVENT_REMOVE) {
		BRISK_WARNLOG("shallow copy: destination %s is being removed: the copy's writes will fail\n",
			      brisk_bdev_get_name(bdev));
	}
}

static void copy_progress(void *arg, uint64_t copied, uint64_t total)
{
	struct shallow_copy_op *op = arg;

	op->copied = copied;
	op->total = total;
}

static void copy_done(void *arg, int rc)
{
	struct shallow_copy_op *op = arg;

	op->dst->destroy(op->dst);
	op->dst = NULL;
	op->state = rc == 0 ? "complete" : "error";
	if (rc != 0) {
		snprintf(op->error, sizeof(op->error), "%s", strerror(-rc));
	}
}

static struct shallow_copy_op *copy_op_new(struct brisk_jsonrpc_request *req, struct brisk_lvol *lvol,
					   const char *dst_name)
{
	struct shallow_copy_op *op = calloc(1, sizeof(*op));
	int rc;

	if (op == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENOMEM, "out of memory");
		return NULL;
	}
	rc = brisk_bdev_create_bs_dev_ext(dst_name, copy_dst_event, op, &op->dst);
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "dst_bdev_name '%s': cannot open it for writing: %s",
						      dst_name, strerror(-rc));
		free(op);
		return NULL;
	}
	if (op->dst->blockcnt * op->dst->blocklen < brisk_lvol_get_size(lvol)) {
		brisk_jsonrpc_send_error_response_fmt(req, -EINVAL,
						      "dst_bdev_name '%s' (%lu bytes) is smaller than "
						      "src_lvol_name (%lu bytes)",
						      dst_name, op->dst->blockcnt * op->dst->blocklen,
						      brisk_lvol_get_size(lvol));
		op->dst->destroy(op->dst);
		free(op);
		return NULL;
	}
	op->id = g_copy_next_id++;
	op->state = "in progress";
	op->total = brisk_blob_get_num_allocated_clusters(brisk_lvol_get_blob(lvol));
	TAILQ_INSERT_TAIL(&g_copy_ops, op, link);
	return op;
}

static void rpc_bdev_lvol_start_shallow_copy(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_start_copy p = { 0 };
	struct brisk_lvol *lvol = NULL;
	struct shallow_copy_op *op;
	char err[256];

	if (brisk_json_decode_object(params, g_start_copy_dec, BRISK_COUNTOF(g_start_copy_dec), &p, err, sizeof(err)) !=
	    0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
	} else if ((lvol = vbdev_lvol_find(p.src_lvol_name)) == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such lvol: src_lvol_name '%s'",
						      p.src_lvol_name);
	} else if (!brisk_lvol_is_read_only(lvol)) {
		brisk_jsonrpc_send_error_response_fmt(req, -EPERM,
						      "src_lvol_name '%s' is not read-only: a shallow "
						      "copy needs a snapshot or a read-only lvol",
						      p.src_lvol_name);
	} else if ((op = copy_op_new(req, lvol, p.dst_bdev_name)) != NULL) {
		/* Checks that fail later (size, busy) show as state "error". */
		brisk_lvol_shallow_copy(lvol, op->dst, copy_progress, copy_done, op);
		brisk_jsonrpc_send_result(req, json_pack("{s:I}", "operation_id", (json_int_t)op->id));
	}
	brisk_json_free_object(g_start_copy_dec, BRISK_COUNTOF(g_start_copy_dec), &p);
}
BRISK_RPC_REGISTER("bdev_lvol_start_shallow_copy", rpc_bdev_lvol_start_shallow_copy, BRISK_RPC_RUNTIME)

struct rpc_check_copy {
	uint32_t operation_id;
};

static const struct brisk_json_object_decoder g_check_copy_dec[] = {
	{ "operation_id", offsetof(struct rpc_check_copy, operation_id), brisk_json_decode_uint32, false },
};

static void rpc_bdev_lvol_check_shallow_copy(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_check_copy p = { 0 };
	struct shallow_copy_op *op;
	json_t *o;
	char err[256];

	if (brisk_json_decode_object(params, g_check_copy_dec, BRISK_COUNTOF(g_check_copy_dec), &p, err, sizeof(err)) !=
	    0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return;
	}
	TAILQ_FOREACH(op, &g_copy_ops, link) {
		if (op->id == p.operation_id) {
			break;
		}
	}
	if (op == NULL) {
		brisk_jsonrpc_send_error_response_fmt(req, -ENOENT, "No shallow copy with operation_id %u",
						      p.operation_id);
		return;
	}
	o = json_pack("{s:s, s:I, s:I}", "state", op->state, "copied_clusters", (json_int_t)op->copied,
		      "total_clusters", (json_int_t)op->total);
	if (op->error[0] != '\0') {
		json_object_set_new(o, "error", json_string(op->error));
	}
	brisk_jsonrpc_send_result(req, o);
}
BRISK_RPC_REGISTER("bdev_lvol_check_shallow_copy", rpc_bdev_lvol_check_shallow_copy, BRISK_RPC_RUNTIME)
