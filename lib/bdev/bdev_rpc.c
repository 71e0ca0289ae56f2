/*
 * JSON-RPC methods of the bdev layer (SPDK's names and parameters):
 * bdev_get_bdevs, bdev_get_iostat, bdev_reset_iostat, bdev_set_options,
 * bdev_examine, bdev_wait_for_examine, bdev_set_qos_limit.
 * They run on the RPC (app) thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/ticks.h>

#include "bdev_internal.h"

#define GET_BDEVS_POLL_US 1000
#define QOS_MAX_MBYTES_PER_SEC (1ull << 40) /* what lib/bdev/bdev_qos.c accepts */

static void send_no_such_bdev(struct brisk_jsonrpc_request *req, const char *name)
{
	brisk_jsonrpc_send_error_response_fmt(req, -ENODEV, "No such device: bdev '%s' does not exist", name);
}

/* ---- bdev_get_bdevs {name, timeout (ms)} ----
 * Steps: wait for examine; look the name up; if absent and a timeout was
 * given, look again every millisecond until it appears or time runs out. */

struct get_bdevs {
	struct brisk_jsonrpc_request *req;
	char *name;
	uint64_t timeout_ms;
	uint64_t deadline;
	struct brisk_poller *poller;  /* set while waiting; then on g_get_bdevs_waiting */
	TAILQ_ENTRY(get_bdevs) link;
};

static TAILQ_HEAD(, get_bdevs) g_get_bdevs_waiting = TAILQ_HEAD_INITIALIZER(g_get_bdevs_waiting);

static const struct brisk_json_object_decoder g_get_bdevs_decoders[] = {
	{"name", offsetof(struct get_bdevs, name), brisk_json_decode_string, true},
	{"timeout", offsetof(struct get_bdevs, timeout_ms), brisk_json_decode_uint64, true},
};

static void get_bdevs_free(struct get_bdevs *g)
{
	if (g->poller != NULL) {
		TAILQ_REMOVE(&g_get_bdevs_waiting, g, link);
	}
	brisk_poller_unregister(&g->poller);
	brisk_json_free_object(g_get_bdevs_decoders, BRISK_COUNTOF(g_get_bdevs_decoders), g);
	free(g);
}

static void get_bdevs_answer(struct get_bdevs *g, struct brisk_bdev *only)
{
	json_t *arr = json_array();
	struct brisk_bdev *b;

	if (only != NULL) {
		json_array_append_new(arr, brisk_bdev_info_json(only));
	} else {
		for (b = brisk_bdev_first(); b != NULL; b = brisk_bdev_next(b)) {
			json_array_append_new(arr, brisk_bdev_info_json(b));
		}
	}
	brisk_jsonrpc_send_result(g->req, arr);
	get_bdevs_free(g);
}

static int get_bdevs_poll(void *arg)
{
	struct get_bdevs *g = arg;
	struct brisk_bdev *b = brisk_bdev_get_by_name(g->name);

	if (b != NULL) {
		get_bdevs_answer(g, b);
		return BRISK_POLLER_BUSY;
	}
	if (brisk_get_ticks() >= g->deadline) {
		send_no_such_bdev(g->req, g->name);
		get_bdevs_free(g);
		return BRISK_POLLER_BUSY;
	}
	return BRISK_POLLER_IDLE;
}

static void get_bdevs_examined(void *arg)
{
	struct get_bdevs *g = arg;
	struct brisk_bdev *b;

	if (g->name == NULL) {
		get_bdevs_answer(g, NULL);
		return;
	}
	b = brisk_bdev_get_by_name(g->name);
	if (b != NULL) {
		get_bdevs_answer(g, b);
		return;
	}
	if (g->timeout_ms == 0) {
		send_no_such_bdev(g->req, g->name);
		get_bdevs_free(g);
		return;
	}
	g->deadline = brisk_get_ticks() + brisk_us_to_ticks(g->timeout_ms * 1000, brisk_get_ticks_hz());
	g->poller = brisk_poller_register_named(get_bdevs_poll, g, GET_BDEVS_POLL_US, "bdev_get_bdevs_wait");
	if (g->poller == NULL) {
		brisk_jsonrpc_send_error_response(g->req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		get_bdevs_free(g);
		return;
	}
	TAILQ_INSERT_TAIL(&g_get_bdevs_waiting, g, link);
}

void bdev_rpc_fini(void)
{
	struct get_bdevs *g;

	while ((g = TAILQ_FIRST(&g_get_bdevs_waiting)) != NULL) {
		brisk_jsonrpc_send_error_response_fmt(g->req, -ESHUTDOWN, "No such device: bdev '%s' does not exist "
						      "(the bdev layer is shutting down)", g->name);
		get_bdevs_free(g);
	}
}

static void rpc_bdev_get_bdevs(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct get_bdevs *g = calloc(1, sizeof(*g));
	char err[256];

	if (g == NULL) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		return;
	}
	g->req = req;
	if (brisk_json_decode_object(params, g_get_bdevs_decoders, BRISK_COUNTOF(g_get_bdevs_decoders), g,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		get_bdevs_free(g);
		return;
	}
	if (g->timeout_ms > 3600 * 1000) {
		brisk_jsonrpc_invalid_params(req, "timeout %lu ms is longer than one hour",
					     (unsigned long)g->timeout_ms);
		get_bdevs_free(g);
		return;
	}
	if (brisk_bdev_wait_for_examine(get_bdevs_examined, g) != 0) {
		get_bdevs_examined(g);
	}
}
BRISK_RPC_REGISTER("bdev_get_bdevs", rpc_bdev_get_bdevs, BRISK_RPC_RUNTIME)

/* ---- bdev_get_iostat {name}: one bdev after the other ---- */

struct get_iostat {
	struct brisk_jsonrpc_request *req;
	char *name;
	char **names;
	size_t count;
	size_t next;
	json_t *bdevs;
	struct brisk_bdev_io_stat stat;
};

static const struct brisk_json_object_decoder g_iostat_decoders[] = {
	{"name", offsetof(struct get_iostat, name), brisk_json_decode_string, true},
};

/* Copies the names of the bdevs to visit, the one named or all, since a bdev
 * may go away between two steps. *count grows with each copy made, so the
 * caller frees what there is after -ENOMEM too. */
static int bdev_names_copy(const char *name, char ***names, size_t *count)
{
	struct brisk_bdev *b;
	size_t n = 0;

	*count = 0;
	for (b = brisk_bdev_first(); b != NULL; b = brisk_bdev_next(b)) {
		n++;
	}
	*names = calloc(name != NULL ? 1 : n + 1, sizeof(char *));
	if (*names == NULL) {
		return -ENOMEM;
	}
	for (b = brisk_bdev_first(); name == NULL && b != NULL && *count < n; b = brisk_bdev_next(b)) {
		(*names)[*count] = strdup(b->name);
		if ((*names)[*count] == NULL) {
			return -ENOMEM;
		}
		(*count)++;
	}
	if (name != NULL) {
		(*names)[0] = strdup(name);
		*count = (*names)[0] != NULL ? 1 : 0;
	}
	return name != NULL && *count == 0 ? -ENOMEM : 0;
}

static void bdev_names_free(char **names, size_t count)
{
	for (size_t i = 0; names != NULL && i < count; i++) {
		free(names[i]);
	}
	free(names);
}

static void iostat_free(struct get_iostat *g)
{
	bdev_names_free(g->names, g->count);
	json_decref(g->bdevs);
	brisk_json_free_object(g_iostat_decoders, BRISK_COUNTOF(g_iostat_decoders), g);
	free(g);
}

static void iostat_next(struct get_iostat *g);

static void iostat_got(struct brisk_bdev *bdev, struct brisk_bdev_io_stat *stat, void *arg, int rc)
{
	struct get_iostat *g = arg;
	json_t *o;

	if (rc == 0) {
		o = json_pack("{s:s}", "name", bdev->name);
		brisk_bdev_io_stat_dump_json(stat, o);
		json_array_append_new(g->bdevs, o);
	}
	iostat_next(g);
}

static void iostat_next(struct get_iostat *g)
{
	struct brisk_bdev *b;
	json_t *res;

	while (g->next < g->count) {
		b = brisk_bdev_get_by_name(g->names[g->next++]);
		if (b != NULL) {
			brisk_bdev_get_device_stat(b, &g->stat, iostat_got, g);
			return;
		}
	}
	res = json_pack("{s:I, s:I, s:O}", "tick_rate", (json_int_t)brisk_get_ticks_hz(),
			"ticks", (json_int_t)brisk_get_ticks(), "bdevs", g->bdevs);
	brisk_jsonrpc_send_result(g->req, res);
	iostat_free(g);
}

static void rpc_bdev_get_iostat(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct get_iostat *g = calloc(1, sizeof(*g));
	struct brisk_bdev *b = NULL;
	char err[256];

	if (g == NULL) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		return;
	}
	g->req = req;
	g->bdevs = json_array();
	if (brisk_json_decode_object(params, g_iostat_decoders, BRISK_COUNTOF(g_iostat_decoders), g,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		iostat_free(g);
		return;
	}
	if (g->name != NULL) {
		b = brisk_bdev_get_by_name(g->name);
		if (b == NULL) {
			send_no_such_bdev(req, g->name);
			iostat_free(g);
			return;
		}
	}
	if (g->bdevs == NULL || bdev_names_copy(g->name != NULL ? b->name : NULL, &g->names, &g->count) != 0) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		iostat_free(g);
		return;
	}
	iostat_next(g);
}
BRISK_RPC_REGISTER("bdev_get_iostat", rpc_bdev_get_iostat, BRISK_RPC_RUNTIME)

/* ---- bdev_reset_iostat {name, mode: "all" | "maxmin"} ---- */

struct reset_iostat {
	struct brisk_jsonrpc_request *req;
	char *name;
	char *mode;
	bool maxmin;
	char **names;
	size_t count;
	size_t next;
};

static const struct brisk_json_object_decoder g_reset_iostat_decoders[] = {
	{"name", offsetof(struct reset_iostat, name), brisk_json_decode_string, true},
	{"mode", offsetof(struct reset_iostat, mode), brisk_json_decode_string, true},
};

static void reset_iostat_free(struct reset_iostat *r)
{
	bdev_names_free(r->names, r->count);
	brisk_json_free_object(g_reset_iostat_decoders, BRISK_COUNTOF(g_reset_iostat_decoders), r);
	free(r);
}

static void reset_iostat_next(struct reset_iostat *r);

static void reset_iostat_done(struct brisk_bdev *bdev, void *arg, int rc)
{
	reset_iostat_next(arg);
}

static void reset_iostat_next(struct reset_iostat *r)
{
	struct brisk_bdev *b;

	while (r->next < r->count) {
		b = brisk_bdev_get_by_name(r->names[r->next++]);
		if (b != NULL) {
			bdev_reset_device_stat_ext(b, r->maxmin, reset_iostat_done, r);
			return;
		}
	}
	brisk_jsonrpc_send_bool_response(r->req, true);
	reset_iostat_free(r);
}

static void rpc_bdev_reset_iostat(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct reset_iostat *r = calloc(1, sizeof(*r));
	char err[256];

	if (r == NULL) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		return;
	}
	r->req = req;
	if (brisk_json_decode_object(params, g_reset_iostat_decoders, BRISK_COUNTOF(g_reset_iostat_decoders),
				     r, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		reset_iostat_free(r);
		return;
	}
	if (r->mode != NULL && strcmp(r->mode, "all") != 0 && strcmp(r->mode, "maxmin") != 0) {
		brisk_jsonrpc_invalid_params(req, "mode '%s' must be \"all\" or \"maxmin\"", r->mode);
		reset_iostat_free(r);
		return;
	}
	r->maxmin = r->mode != NULL && strcmp(r->mode, "maxmin") == 0;
	if (r->name != NULL && brisk_bdev_get_by_name(r->name) == NULL) {
		send_no_such_bdev(req, r->name);
		reset_iostat_free(r);
		return;
	}
	if (bdev_names_copy(r->name, &r->names, &r->count) != 0) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		reset_iostat_free(r);
		return;
	}
	reset_iostat_next(r);
}
BRISK_RPC_REGISTER("bdev_reset_iostat", rpc_bdev_reset_iostat, BRISK_RPC_RUNTIME)

/* ---- bdev_set_options (before the bdev subsystem starts) ---- */

static const struct brisk_json_object_decoder g_set_options_decoders[] = {
	{"bdev_io_pool_size", offsetof(struct brisk_bdev_opts, bdev_io_pool_size), brisk_json_decode_uint32, true},
	{"bdev_io_cache_size", offsetof(struct brisk_bdev_opts, bdev_io_cache_size), brisk_json_decode_uint32, true},
	{"bdev_auto_examine", offsetof(struct brisk_bdev_opts, bdev_auto_examine), brisk_json_decode_bool, true},
	{"small_buf_pool_size", offsetof(struct brisk_bdev_opts, small_buf_pool_size), brisk_json_decode_uint32, true},
	{"large_buf_pool_size", offsetof(struct brisk_bdev_opts, large_buf_pool_size), brisk_json_decode_uint32, true},
};

static void rpc_bdev_set_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_bdev_opts opts;
	char err[256];

	brisk_bdev_get_opts(&opts);
	if (brisk_json_decode_object(params, g_set_options_decoders, BRISK_COUNTOF(g_set_options_decoders),
				     &opts, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return;
	}
	if (bdev_opts_check(&opts, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		return;
	}
	if (brisk_bdev_set_opts(&opts) != 0) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INVALID_STATE,
						  "bdev options can only be set before the bdev subsystem starts");
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("bdev_set_options", rpc_bdev_set_options, BRISK_RPC_STARTUP)

/* ---- bdev_examine {name} ---- */

struct examine_params {
	char *name;
};

static const struct brisk_json_object_decoder g_examine_decoders[] = {
	{"name", offsetof(struct examine_params, name), brisk_json_decode_string, false},
};

static void rpc_bdev_examine(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct examine_params p = {0};
	char err[256];
	int rc;

	if (brisk_json_decode_object(params, g_examine_decoders, BRISK_COUNTOF(g_examine_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		brisk_json_free_object(g_examine_decoders, BRISK_COUNTOF(g_examine_decoders), &p);
		return;
	}
	rc = brisk_bdev_examine(p.name);
	if (rc == -EINVAL) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INVALID_STATE,
						  "bdev_examine needs bdev_auto_examine off (bdev_set_options)");
	} else if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, rc, "bdev_examine %s: %s", p.name, strerror(-rc));
	} else {
		brisk_jsonrpc_send_bool_response(req, true);
	}
	brisk_json_free_object(g_examine_decoders, BRISK_COUNTOF(g_examine_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_examine", rpc_bdev_examine, BRISK_RPC_RUNTIME)

/* ---- bdev_wait_for_examine ---- */

static void wait_for_examine_done(void *arg)
{
	brisk_jsonrpc_send_bool_response(arg, true);
}

static void rpc_bdev_wait_for_examine(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (params != NULL && !json_is_null(params) &&
	    !(json_is_object(params) && json_object_size(params) == 0)) {
		brisk_jsonrpc_invalid_params(req, "bdev_wait_for_examine takes no parameters");
		return;
	}
	if (brisk_bdev_wait_for_examine(wait_for_examine_done, req) != 0) {
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
	}
}
BRISK_RPC_REGISTER("bdev_wait_for_examine", rpc_bdev_wait_for_examine, BRISK_RPC_RUNTIME)

/* ---- bdev_set_qos_limit {name, rw_ios_per_sec, rw_mbytes_per_sec, r_mbytes_per_sec, w_mbytes_per_sec} ---- */

struct qos_params {
	char *name;
	uint64_t limits[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES];
};

static const struct brisk_json_object_decoder g_qos_decoders[] = {
	{"name", offsetof(struct qos_params, name), brisk_json_decode_string, false},
	{"rw_ios_per_sec", offsetof(struct qos_params, limits[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT]),
	 brisk_json_decode_uint64, true},
	{"rw_mbytes_per_sec", offsetof(struct qos_params, limits[BRISK_BDEV_QOS_RW_BPS_RATE_LIMIT]),
	 brisk_json_decode_uint64, true},
	{"r_mbytes_per_sec", offsetof(struct qos_params, limits[BRISK_BDEV_QOS_R_BPS_RATE_LIMIT]),
	 brisk_json_decode_uint64, true},
	{"w_mbytes_per_sec", offsetof(struct qos_params, limits[BRISK_BDEV_QOS_W_BPS_RATE_LIMIT]),
	 brisk_json_decode_uint64, true},
};

static void qos_set_done(void *arg, int status)
{
	struct brisk_jsonrpc_request *req = arg;

	if (status != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, status, "bdev_set_qos_limit failed: %s",
						      strerror(-status));
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}

static void rpc_bdev_set_qos_limit(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct qos_params p = {0};
	struct brisk_bdev *bdev;
	uint64_t iops;
	char err[256];
	bool any = false;

	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		p.limits[i] = BRISK_BDEV_QOS_LIMIT_NOT_DEFINED;
	}
	if (brisk_json_decode_object(params, g_qos_decoders, BRISK_COUNTOF(g_qos_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "%s", err);
		goto out;
	}
	for (int i = 0; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		any = any || p.limits[i] != BRISK_BDEV_QOS_LIMIT_NOT_DEFINED;
	}
	if (!any) {
		brisk_jsonrpc_invalid_params(req, "give at least one of rw_ios_per_sec, rw_mbytes_per_sec, "
					     "r_mbytes_per_sec, w_mbytes_per_sec");
		goto out;
	}
	iops = p.limits[BRISK_BDEV_QOS_RW_IOPS_RATE_LIMIT];
	if (iops != BRISK_BDEV_QOS_LIMIT_NOT_DEFINED && iops % BRISK_BDEV_QOS_MIN_IOS_PER_SEC != 0) {
		brisk_jsonrpc_invalid_params(req, "rw_ios_per_sec %lu must be a multiple of %u",
					     (unsigned long)iops, BRISK_BDEV_QOS_MIN_IOS_PER_SEC);
		goto out;
	}
	for (int i = BRISK_BDEV_QOS_RW_BPS_RATE_LIMIT; i < BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES; i++) {
		if (p.limits[i] != BRISK_BDEV_QOS_LIMIT_NOT_DEFINED && p.limits[i] > QOS_MAX_MBYTES_PER_SEC) {
			brisk_jsonrpc_invalid_params(req, "%s %lu is out of range (at most %llu)", g_qos_decoders[i + 1].name,
						     (unsigned long)p.limits[i], QOS_MAX_MBYTES_PER_SEC);
			goto out;
		}
	}
	bdev = brisk_bdev_get_by_name(p.name);
	if (bdev == NULL) {
		send_no_such_bdev(req, p.name);
		goto out;
	}
	brisk_bdev_set_qos_rate_limits(bdev, p.limits, qos_set_done, req);
out:
	brisk_json_free_object(g_qos_decoders, BRISK_COUNTOF(g_qos_decoders), &p);
}
BRISK_RPC_REGISTER("bdev_set_qos_limit", rpc_bdev_set_qos_limit, BRISK_RPC_RUNTIME)
