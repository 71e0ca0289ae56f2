/*
 * perform_tests (bdevperf -z): runs one test and answers with its results.
 * Parameters, all optional, as SPDK's bdevperf.py sends them; each replaces
 * the command line's value for this run:
 *   queue_depth (int), time_in_sec (int), workload_type (string),
 *   io_size (int or string with k/m suffix), rw_percentage (int 0..100)
 * Answer: {"results": [per job], "total": {...}, "core_count": N}, or an error
 * when the run could not start or any I/O failed / a verify read differed /
 * the bdev was removed: the error code is the errno (-ENOSPC, -EILSEQ,
 * -ENODEV ...) and the message says what happened.
 */
#include <errno.h>
#include <string.h>

#include <brisk/rpc.h>
#include <brisk/string.h>

#include "bdevperf.h"

static int rpc_get_uint(struct brisk_jsonrpc_request *req, const json_t *params, const char *name,
			uint64_t max, uint64_t *out, bool *given)
{
	json_t *v = json_object_get(params, name);

	*given = v != NULL;
	if (v == NULL) {
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max) {
		brisk_jsonrpc_invalid_params(req, "%s must be an integer between 0 and %llu", name,
					     (unsigned long long)max);
		return -EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* A key that is not one of the parameters above (a typo must not be ignored). */
static const char *rpc_unknown_key(const json_t *params)
{
	static const char *const known[] = {
		"queue_depth", "time_in_sec", "workload_type", "io_size", "rw_percentage",
	};
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)params, key, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
			if (strcmp(key, known[i]) == 0) {
				break;
			}
		}
		if (i == sizeof(known) / sizeof(known[0])) {
			return key;
		}
	}
	return NULL;
}

static void rpc_perform_tests_done(int rc, json_t *results, void *ctx)
{
	struct brisk_jsonrpc_request *req = ctx;

	bdevperf_write_json_output(results);
	if (rc == -ETIMEDOUT) {
		brisk_jsonrpc_send_error_response_fmt(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
						      "bdevperf failed: I/O did not complete within "
						      "--drain-timeout (%u s) after the test; see the "
						      "results in the program's output", g_drain_timeout_sec);
		json_decref(results);
		return;
	}
	if (rc != 0) {
		json_t *error = json_object_get(results, "error");

		if (json_is_string(error)) {
			/* What went wrong in words: "... No space left on device", "data
			 * miscompare at offset X", "bdev X was removed during the test". */
			brisk_jsonrpc_send_error_response_fmt(req, rc, "bdevperf failed: %s; see the "
							      "results in the program's output",
							      json_string_value(error));
		} else {
			brisk_jsonrpc_send_error_response_fmt(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
							      "bdevperf failed with error %d (%s)%s", rc,
							      strerror(-rc), results != NULL ?
							      ": see the results in the program's output" : "");
		}
		json_decref(results);
		return;
	}
	brisk_jsonrpc_send_result(req, results != NULL ? results : json_null());
}

static void rpc_perform_tests(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct bdevperf_params p = *bdevperf_cmdline_params();
	uint64_t v;
	bool given;
	json_t *j;
	int rc;

	if (params != NULL && !json_is_object(params)) {
		brisk_jsonrpc_invalid_params(req, "params must be an object");
		return;
	}
	if (bdevperf_io_left(&v)) {
		brisk_jsonrpc_send_error_response_fmt(req, -EBUSY, "the last test left %llu I/O "
						      "outstanding that did not complete within "
						      "--drain-timeout; restart bdevperf",
						      (unsigned long long)v);
		return;
	}
	if (bdevperf_is_running()) {
		brisk_jsonrpc_send_error_response(req, -EBUSY, "a test is already running");
		return;
	}
	if (params != NULL) {
		if (rpc_unknown_key(params) != NULL) {
			brisk_jsonrpc_invalid_params(req, "unknown parameter '%s'", rpc_unknown_key(params));
			return;
		}
		if (rpc_get_uint(req, params, "queue_depth", UINT32_MAX, &v, &given) != 0) {
			return;
		}
		if (given) {
			p.queue_depth = (uint32_t)v;
		}
		if (rpc_get_uint(req, params, "time_in_sec", UINT32_MAX, &v, &given) != 0) {
			return;
		}
		if (given) {
			p.time_sec = (uint32_t)v;
		}
		if (rpc_get_uint(req, params, "rw_percentage", 100, &v, &given) != 0) {
			return;
		}
		if (given) {
			p.rw_read_pct = (int)v;
		}
		j = json_object_get(params, "workload_type");
		if (j != NULL && (!json_is_string(j) ||
				  bdevperf_workload_parse(json_string_value(j), &p.workload) != 0)) {
			brisk_jsonrpc_invalid_params(req, "workload_type must be one of read, write, "
						     "randread, randwrite, rw, randrw, verify, unmap, "
						     "flush, write_zeroes, reset");
			return;
		}
		j = json_object_get(params, "io_size");
		if (j != NULL) {
			if (json_is_integer(j) && json_integer_value(j) > 0) {
				p.io_size = (uint64_t)json_integer_value(j);
			} else if (!json_is_string(j) ||
				   brisk_parse_capacity(json_string_value(j), &p.io_size, NULL) != 0 ||
				   p.io_size == 0) {
				brisk_jsonrpc_invalid_params(req, "io_size must be a size in bytes "
							     "(e.g. 4096 or \"4k\")");
				return;
			}
		}
	}
	if (bdevperf_params_check(&p) != 0) {
		brisk_jsonrpc_invalid_params(req, "incomplete test parameters (queue_depth %u, io_size "
					     "%llu, workload_type %s, time_in_sec %u, rw_percentage %d): "
					     "give them on the command line or in the call",
					     p.queue_depth, (unsigned long long)p.io_size,
					     bdevperf_workload_name(p.workload), p.time_sec, p.rw_read_pct);
		return;
	}
	rc = bdevperf_run(&p, rpc_perform_tests_done, req);
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
						      "cannot start the test: %s", strerror(-rc));
	}
}
BRISK_RPC_REGISTER("perform_tests", rpc_perform_tests, BRISK_RPC_RUNTIME)
