/*
 * JSON-RPC 2.0 requests: validating what a client sent, calling the
 * registered handler, and turning its answer into a response.
 *
 * A request received on a connection belongs to a slot (rpc_internal.h)
 * that keeps its place in the connection's response order; a batch shares
 * one slot. A request made in-process (brisk_rpc_call_local) has no slot and
 * hands its answer to a callback instead.
 *
 * Exactly one answer per request. A handler that answers twice has a bug;
 * the second answer is detected (and dropped with an error) when it comes
 * while the handler is still on the stack, which is where such bugs live
 * (a missing return after an error). A request is freed once answered, so
 * a second answer from a later callback cannot be detected safely.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "rpc_internal.h"

/* A batch step runs at most this many requests, or for this long, before
 * it lets the reactor run its other pollers. */
#define RPC_BATCH_STEP_REQUESTS 64
#define RPC_BATCH_STEP_US 1000
/* Requests of one batch running at once: asynchronous methods would
 * otherwise all start in one step and answer together, past the
 * high-water mark and in one long burst of work. */
#define RPC_BATCH_MAX_IN_FLIGHT 4

struct brisk_jsonrpc_request {
	struct rpc_slot *slot;     /* NULL for local calls */
	json_t *id;                /* NULL for notifications */
	char method[RPC_MAX_METHOD_NAME];
	bool in_handler;           /* the handler has not returned yet */
	bool answered;
	/* Local calls. */
	brisk_rpc_local_cb local_cb;
	void *local_ctx;
};

json_t *
rpc_error_response(const json_t *id, int code, const char *msg)
{
	json_t *error = json_pack("{s:i, s:s}", "code", code, "message", msg ? msg : "");

	if (error == NULL) {
		return NULL;
	}
	/* O? packs a NULL id as JSON null, which is what an unknown id must be. */
	return json_pack("{s:s, s:O?, s:o}", "jsonrpc", "2.0", "id", (json_t *)id, "error", error);
}

static json_t *
result_response(const json_t *id, json_t *result)
{
	/* o? steals result (and packs NULL as null). */
	return json_pack("{s:s, s:O, s:o?}", "jsonrpc", "2.0", "id", (json_t *)id, "result", result);
}

/* ---- slots ---- */

static struct rpc_slot *
slot_new(struct rpc_conn *conn, bool is_batch, uint32_t pending)
{
	struct rpc_slot *slot = calloc(1, sizeof(*slot));

	if (slot == NULL) {
		return NULL;
	}
	slot->conn = conn;
	slot->is_batch = is_batch;
	slot->pending = pending;
	rpc_conn_add_slot(conn, slot);
	return slot;
}

int
rpc_text_append(struct rpc_text *t, const char *data, size_t len)
{
	if (t->cap - t->len < len) {
		size_t cap = t->cap ? t->cap : 4096;
		char *grown;

		while (cap - t->len < len) {
			cap *= 2;
		}
		grown = realloc(t->buf, cap);
		if (grown == NULL) {
			return -ENOMEM;
		}
		t->buf = grown;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, data, len);
	t->len += len;
	return 0;
}

struct text_dump {
	struct rpc_text *t;
	bool failed;
};

static int text_dump_write(const char *buffer, size_t size, void *data)
{
	struct text_dump *d = data;

	if (rpc_text_append(d->t, buffer, size) != 0) {
		d->failed = true;
		return -1;
	}
	return 0;
}

int rpc_text_dump(struct rpc_text *t, const json_t *v)
{
	struct text_dump d = { .t = t, .failed = false };
	size_t len = t->len;

	if (json_dump_callback(v, text_dump_write, &d, JSON_COMPACT | JSON_ENCODE_ANY) != 0 || d.failed) {
		t->len = len;
		return -ENOMEM;
	}
	return 0;
}

void
rpc_text_reset(struct rpc_text *t)
{
	t->len = 0;
	if (t->cap > RPC_IDLE_BUF_CAP) {
		free(t->buf);
		t->buf = NULL;
		t->cap = 0;
	}
}

/* Writes one batch answer (owned) as text: '[' or ',' then the object. One
 * that cannot be written breaks the batch's array: the client is closed. */
static void
batch_write_answer(struct rpc_slot *slot, json_t *response)
{
	size_t len = slot->text.len;

	if (rpc_text_append(&slot->text, slot->opened ? "," : "[", 1) != 0 ||
	    rpc_text_dump(&slot->text, response) != 0) {
		BRISK_ERRLOG("RPC: out of memory writing a batch answer; closing the client\n");
		slot->text.len = len;
		slot->broken = true;
	} else {
		slot->opened = true;
	}
	json_decref(response);
}

static void batch_queue_step(struct rpc_slot *slot);

/* Adds one response (owned) to the slot; when the slot is complete, or a
 * batch has new text, lets the connection send what it can. */
static void
slot_add_response(struct rpc_slot *slot, json_t *response)
{
	if (slot->pending == 0) {
		BRISK_ERRLOG("internal error: response for a completed RPC slot\n");
		json_decref(response);
		return;
	}
	if (response != NULL && slot->is_batch) {
		batch_write_answer(slot, response);
	} else if (response != NULL) {
		slot->response = response;
	}
	slot->pending--;
	if (slot->is_batch) {
		slot->in_flight--;
		if (!slot->in_step) {
			batch_queue_step(slot); /* room in the window again */
		}
	}
	if (slot->pending == 0 && slot->opened &&
	    rpc_text_append(&slot->text, "]", 1) != 0) {
		BRISK_ERRLOG("RPC: out of memory closing a batch answer; closing the client\n");
		slot->broken = true;
	}
	/* A batch of notifications only gets no response at all. */
	if (slot->pending == 0 || (slot->is_batch && !slot->in_step &&
				   slot == TAILQ_FIRST(rpc_conn_slots(slot->conn)))) {
		rpc_conn_flush_slots(slot->conn);
	}
}

/* ---- requests ---- */

static void
request_free(struct brisk_jsonrpc_request *req)
{
	json_decref(req->id);
	free(req);
}

/* Delivers an answer: response is the full response object for a remote
 * request (owned); for a local call, error_code/msg or result go to the
 * callback. */
static void
request_answer(struct brisk_jsonrpc_request *req, json_t *result, int error_code, const char *msg)
{
	/* Read first: nothing below changes it, which scan-build cannot tell
	 * across the JSON calls (it then frees req under its handler). */
	bool in_handler = req->in_handler;

	if (req->answered) {
		BRISK_ERRLOG("internal error: method '%s' answered twice; second answer dropped\n",
			     req->method);
		json_decref(result);
		return;
	}
	req->answered = true;

	if (req->slot == NULL) {
		if (req->local_cb != NULL) {
			req->local_cb(req->local_ctx, error_code, error_code ? msg : NULL,
				      error_code ? NULL : result);
		}
		json_decref(result);
	} else {
		json_t *response = NULL;

		if (req->id != NULL) {
			if (error_code != 0) {
				json_decref(result);
				response = rpc_error_response(req->id, error_code, msg);
			} else {
				response = result_response(req->id, result);
			}
			if (response == NULL) {
				BRISK_ERRLOG("out of memory building the response to '%s'\n", req->method);
				response = rpc_error_response(req->id, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
							      "out of memory");
			}
		} else {
			json_decref(result); /* notification: nothing is sent */
		}
		slot_add_response(req->slot, response);
	}

	/* While the handler runs, keep the request so that a second answer is
	 * caught; dispatch frees it when the handler returns. */
	if (!in_handler) {
		request_free(req);
	}
}

void
brisk_jsonrpc_send_result(struct brisk_jsonrpc_request *request, json_t *result)
{
	if (request == NULL) {
		json_decref(result);
		return;
	}
	if (result == NULL) {
		result = json_null();
	}
	request_answer(request, result, 0, NULL);
}

void
brisk_jsonrpc_send_bool_response(struct brisk_jsonrpc_request *request, bool value)
{
	brisk_jsonrpc_send_result(request, json_boolean(value));
}

void
brisk_jsonrpc_send_error_response(struct brisk_jsonrpc_request *request, int code, const char *msg)
{
	if (request == NULL) {
		return;
	}
	if (code == 0) {
		/* 0 means success to local callers; an error must not look like one. */
		BRISK_ERRLOG("internal error: method '%s' sent error code 0\n", request->method);
		code = BRISK_JSONRPC_ERROR_INTERNAL_ERROR;
	}
	request_answer(request, NULL, code, msg);
}

void
brisk_jsonrpc_send_error_response_fmt(struct brisk_jsonrpc_request *request, int code,
				      const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	brisk_jsonrpc_send_error_response(request, code, msg);
}

/* Runs the handler; frees the request afterwards if it answered meanwhile. */
static void
request_run(struct brisk_jsonrpc_request *req, const struct rpc_method *m, const json_t *params)
{
	json_t *filtered = NULL;
	char msg[512];

	req->in_handler = true;
	/* SPDK's parameters Brisk lacks are checked here, once for all methods. */
	if (rpc_compat_filter(m->name, params, &filtered, msg, sizeof(msg)) != 0) {
#ifdef __clang_analyzer__
		/* Still set: scan-build forgets it over the call above and has the
		 * answer free req before the use below. */
		req->in_handler = true;
#endif
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INVALID_PARAMS, msg);
	} else {
		m->func(req, filtered != NULL ? filtered : params);
	}
	json_decref(filtered);
	req->in_handler = false;
	if (req->answered) {
		request_free(req);
	}
}

/* ---- validation ---- */

/* JSON-RPC 2.0 allows string, number and null ids; null is discouraged but
 * valid, and a fractional number is unusual but not forbidden. */
static bool
valid_id(const json_t *id)
{
	return json_is_string(id) || json_is_number(id) || json_is_null(id);
}

/*
 * Checks one request object. On failure returns the error code and sets
 * *msg; *id is set to the request's id when that id itself is usable (so
 * the error can name the request), NULL otherwise.
 */
static int
validate_request(const json_t *obj, const json_t **id, const char **method,
		 const json_t **params, char *msg, size_t msglen)
{
	const json_t *version, *name, *key_val;
	const char *key;

	*id = NULL;
	if (!json_is_object(obj)) {
		snprintf(msg, msglen, "Invalid request: a request must be a JSON object");
		return BRISK_JSONRPC_ERROR_INVALID_REQUEST;
	}
	key_val = json_object_get(obj, "id");
	if (key_val != NULL && !valid_id(key_val)) {
		snprintf(msg, msglen, "Invalid request: 'id' must be a string, a number or null");
		return BRISK_JSONRPC_ERROR_INVALID_REQUEST;
	}
	*id = key_val;

	version = json_object_get(obj, "jsonrpc");
	if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
		snprintf(msg, msglen, "Invalid request: 'jsonrpc' must be \"2.0\"");
		return BRISK_JSONRPC_ERROR_INVALID_REQUEST;
	}
	name = json_object_get(obj, "method");
	if (!json_is_string(name) || json_string_length(name) == 0) {
		snprintf(msg, msglen, "Invalid request: 'method' must be a non-empty string");
		return BRISK_JSONRPC_ERROR_INVALID_REQUEST;
	}
	if (strlen(json_string_value(name)) != json_string_length(name)) {
		snprintf(msg, msglen, "Invalid request: 'method' contains a NUL character");
		return BRISK_JSONRPC_ERROR_INVALID_REQUEST;
	}
	if (json_string_length(name) >= RPC_MAX_METHOD_NAME) {
		snprintf(msg, msglen, "Method not found: method name too long");
		return BRISK_JSONRPC_ERROR_METHOD_NOT_FOUND;
	}
	*method = json_string_value(name);

	json_object_foreach((json_t *)obj, key, key_val) {
		if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "method") != 0 &&
		    strcmp(key, "params") != 0 && strcmp(key, "id") != 0) {
			snprintf(msg, msglen, "Invalid request: unknown member '%.64s'", key);
			return BRISK_JSONRPC_ERROR_INVALID_REQUEST;
		}
	}

	*params = json_object_get(obj, "params");
	if (*params != NULL && !json_is_object(*params) && !json_is_array(*params)) {
		snprintf(msg, msglen, "Invalid params: 'params' must be an object or an array");
		return BRISK_JSONRPC_ERROR_INVALID_PARAMS;
	}
	return 0;
}

/* 0, or an error code with msg filled: method unknown or not allowed now. */
static int
check_method(const char *name, const struct rpc_method **m, char *msg, size_t msglen)
{
	*m = rpc_registry_find(name);
	if (*m == NULL) {
		snprintf(msg, msglen, "Method not found: %s", name);
		return BRISK_JSONRPC_ERROR_METHOD_NOT_FOUND;
	}
	if (brisk_rpc_is_method_allowed(name, brisk_rpc_get_state()) != 0) {
		uint32_t allowed = (*m)->state_mask;

		snprintf(msg, msglen, "Method %s may only be called %s", name,
			 rpc_state_name(allowed & BRISK_RPC_RUNTIME ? BRISK_RPC_RUNTIME : BRISK_RPC_STARTUP));
		return BRISK_JSONRPC_ERROR_INVALID_STATE;
	}
	return 0;
}

static struct brisk_jsonrpc_request *
request_new(const char *method, const json_t *id)
{
	struct brisk_jsonrpc_request *req = calloc(1, sizeof(*req));

	if (req == NULL) {
		return NULL;
	}
	snprintf(req->method, sizeof(req->method), "%s", method);
	req->id = id != NULL ? json_deep_copy(id) : NULL;
	if (id != NULL && req->id == NULL) {
		free(req);
		return NULL;
	}
	return req;
}

/* Handles one request object in a slot (answers it, now or later). */
static void
dispatch_one(struct rpc_slot *slot, const json_t *obj)
{
	const json_t *id = NULL, *params = NULL;
	const char *method = NULL;
	const struct rpc_method *m = NULL;
	struct brisk_jsonrpc_request *req;
	char msg[256];
	int code;

	code = validate_request(obj, &id, &method, &params, msg, sizeof(msg));
	if (code == 0) {
		code = check_method(method, &m, msg, sizeof(msg));
	}
	if (code != 0) {
		/* Errors about the request itself are answered even without an id
		 * (JSON-RPC 2.0 section 5); a valid notification's errors are not. */
		bool notification = code != BRISK_JSONRPC_ERROR_INVALID_REQUEST &&
				    json_is_object(obj) && json_object_get(obj, "id") == NULL;

		BRISK_INFOLOG("RPC request rejected: %s\n", msg);
		slot_add_response(slot, notification ? NULL : rpc_error_response(id, code, msg));
		return;
	}

	req = request_new(method, id);
	if (req == NULL) {
		slot_add_response(slot, rpc_error_response(id, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
				  "out of memory"));
		return;
	}
	req->slot = slot;
	request_run(req, m, params);
}

static void batch_step_msg(void *arg);

/* Queues the next step of a batch as a message: steps never nest inside
 * an answer, and the reactor runs its other pollers between them. */
static void
batch_queue_step(struct rpc_slot *slot)
{
	if (slot->step_queued || slot->next >= json_array_size(slot->batch)) {
		return;
	}
	if (brisk_thread_send_msg(brisk_get_thread(), batch_step_msg, slot) != 0) {
		/* The message pool is exhausted; the sweep of the next answer or
		 * send will try again. */
		BRISK_WARNLOG("RPC: cannot queue the next step of a batch; retrying later\n");
		return;
	}
	slot->step_queued = true;
}

/* The client is gone: the requests not started are dropped unrun. Returns
 * false if that completed (and freed) the slot. */
static bool
batch_abandon(struct rpc_slot *slot)
{
	size_t left = json_array_size(slot->batch) - slot->next;

	BRISK_NOTICELOG("RPC: client left; %zu requests of its batch dropped\n", left);
	slot->next = json_array_size(slot->batch);
	slot->pending -= (uint32_t)left;
	if (slot->pending == 0) {
		rpc_conn_flush_slots(slot->conn); /* frees the slot */
		return false;
	}
	return true;
}

/* Starts requests until the batch is done, the client is gone or reads too
 * slowly (high-water mark), or the step's budget is spent. Returns false
 * when the slot is gone (its last answer came). */
static bool
batch_run(struct rpc_slot *slot)
{
	size_t n = json_array_size(slot->batch);
	uint64_t end = brisk_get_ticks() + brisk_us_to_ticks(RPC_BATCH_STEP_US, brisk_get_ticks_hz());

	for (uint32_t run = 0; slot->next < n; run++) {
		const json_t *req;

		if (rpc_conn_is_closed(slot->conn)) {
			return batch_abandon(slot);
		}
		if (rpc_conn_over_high_water(slot->conn)) {
			return true; /* rpc_conn_kick_batches resumes it once the client reads */
		}
		if (slot->in_flight >= RPC_BATCH_MAX_IN_FLIGHT) {
			return true; /* the next answer queues the next step */
		}
		if (run >= RPC_BATCH_STEP_REQUESTS || brisk_get_ticks() > end) {
			batch_queue_step(slot);
			return true;
		}
		req = json_array_get(slot->batch, slot->next++);
		slot->in_flight++;
		if (slot->next == n) {
			/* The last request's answer may complete and free the slot. */
			dispatch_one(slot, req);
			return false;
		}
		dispatch_one(slot, req);
	}
	return true;
}

/* One step; the answers it wrote go out together at its end (one send,
 * not one per answer). */
static void
batch_step(struct rpc_slot *slot)
{
	struct rpc_conn *conn = slot->conn;

	slot->in_step = true;
	if (!batch_run(slot)) {
		return;
	}
	slot->in_step = false;
	if (slot == TAILQ_FIRST(rpc_conn_slots(conn))) {
		rpc_conn_flush_slots(conn);
	}
}

static void
batch_step_msg(void *arg)
{
	struct rpc_slot *slot = arg;

	slot->step_queued = false;
	batch_step(slot);
}

void
rpc_conn_kick_batches(struct rpc_conn *conn)
{
	struct rpc_slot *slot;

	TAILQ_FOREACH(slot, rpc_conn_slots(conn), link) {
		if (slot->is_batch) {
			batch_queue_step(slot);
		}
	}
}

/* A batch: refused past the size limit, else run in steps. */
static void
handle_batch(struct rpc_conn *conn, json_t *value)
{
	size_t n = json_array_size(value);
	struct rpc_slot *slot;
	char msg[160];

	if (n == 0 || n > rpc_max_batch_size()) {
		slot = slot_new(conn, false, 1);
		if (slot == NULL) {
			rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
			return;
		}
		if (n == 0) {
			snprintf(msg, sizeof(msg), "Invalid request: empty batch");
		} else {
			snprintf(msg, sizeof(msg), "Invalid request: batch of %zu requests is over the "
				 "limit of %u (rpc_set_options max_batch_size)", n, rpc_max_batch_size());
		}
		slot_add_response(slot, rpc_error_response(NULL, BRISK_JSONRPC_ERROR_INVALID_REQUEST, msg));
		return;
	}
	slot = slot_new(conn, true, (uint32_t)n);
	if (slot == NULL) {
		rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		return;
	}
	/* The slot holds a reference on conn and on the array until its last
	 * request has answered (or was dropped). */
	slot->batch = json_incref(value);
	batch_step(slot);
}

void
rpc_conn_handle_value(struct rpc_conn *conn, const char *text, size_t len)
{
	json_error_t error;
	struct rpc_slot *slot;
	json_t *value;

	value = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
	if (value == NULL) {
		char msg[256];

		snprintf(msg, sizeof(msg), "Parse error: %s (at byte %d of the request)", error.text,
			 error.position);
		rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_PARSE_ERROR, msg);
		return;
	}
	if (json_is_array(value)) {
		handle_batch(conn, value);
	} else {
		slot = slot_new(conn, false, 1);
		if (slot == NULL) {
			rpc_conn_fatal_error(conn, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		} else {
			dispatch_one(slot, value);
		}
	}
	json_decref(value);
}

void
rpc_slot_free(struct rpc_slot *slot)
{
	json_decref(slot->response);
	json_decref(slot->batch);
	free(slot->text.buf);
	free(slot);
}

int
brisk_rpc_call_local(const char *method, const json_t *params, brisk_rpc_local_cb cb, void *ctx)
{
	const struct rpc_method *m;
	struct brisk_jsonrpc_request *req;
	char msg[256];
	int code;

	if (method == NULL) {
		return -EINVAL;
	}
	code = check_method(method, &m, msg, sizeof(msg));
	if (code == BRISK_JSONRPC_ERROR_METHOD_NOT_FOUND) {
		return -ENOENT;
	}
	if (code != 0) {
		return -EPERM;
	}
	if (params != NULL && !json_is_object(params) && !json_is_array(params)) {
		return -EINVAL;
	}
	req = request_new(method, NULL);
	if (req == NULL) {
		return -ENOMEM;
	}
	req->local_cb = cb;
	req->local_ctx = ctx;
	request_run(req, m, params);
	return 0;
}

bool brisk_jsonrpc_decode_params(struct brisk_jsonrpc_request *req, const json_t *params,
				 const struct brisk_json_object_decoder *d, size_t n, void *out)
{
	char err[256];

	if (brisk_json_decode_object(params, d, n, out, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: %s", err);
		return false;
	}
	return true;
}
