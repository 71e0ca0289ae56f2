/*
 * JSON configuration in SPDK's shape:
 *   {"subsystems": [{"subsystem": NAME, "config": [{"method": M, "params": {...}}]}]}
 *
 * Applying one is a plan: check the whole object first (so a typo never leaves
 * half a configuration behind), list its method calls in subsystem init order,
 * then run them one by one through brisk_rpc_call_local. In the STARTUP RPC
 * state only methods allowed at STARTUP run (before subsystems initialise, as
 * SPDK does); the rest is kept and run by brisk_json_config_apply_deferred once
 * the subsystems are up. save_config writes the same shape back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>

#include "event_internal.h"

#define CONFIG_ERR_MAX 512

struct config_call {
	const char *subsystem; /* strings point into plan->config */
	const char *method;
	const json_t *params;  /* NULL when absent */
	uint32_t rank;         /* subsystem init index (+1; 0 for peer-only subsystems) */
	size_t seq;            /* position in the file: keeps file order within a rank */
};

struct config_plan {
	json_t *config;        /* reference kept while calls point into it */
	struct config_call *calls;
	size_t count;
	size_t next;
	brisk_json_config_cb cb;
	void *cb_ctx;
	struct brisk_thread *thread;
};

static struct config_plan *g_running;   /* at most one apply at a time */
static struct config_plan *g_deferred;  /* RUNTIME calls kept by a STARTUP apply */

static void config_plan_free(struct config_plan *plan)
{
	if (plan == NULL) {
		return;
	}
	json_decref(plan->config);
	free(plan->calls);
	free(plan);
}

json_t *brisk_json_config_read_file(const char *path)
{
	json_error_t jerr;
	json_t *config;
	FILE *f;

	if (path == NULL) {
		BRISK_ERRLOG("JSON config: no file name\n");
		return NULL;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		BRISK_ERRLOG("JSON config '%s': cannot read: %s\n", path, strerror(errno));
		return NULL;
	}
	config = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (config == NULL) {
		BRISK_ERRLOG("JSON config '%s': not valid JSON at line %d, column %d: %s\n",
			     path, jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	return config;
}

/* ---- Checking and planning ---- */

/* 1 + the subsystem's init index; 0 for a subsystem Brisk lacks, whose
 * accepted entries (peer tuning) then run first, as SPDK inits them first. */
static uint32_t config_subsystem_rank(const char *name)
{
	struct brisk_subsystem *s;
	uint32_t i = 1;

	for (s = brisk_subsystem_get_first(); s != NULL; s = brisk_subsystem_get_next(s), i++) {
		if (strcmp(s->name, name) == 0) {
			return i;
		}
	}
	return 0;
}

static int config_call_cmp(const void *a, const void *b)
{
	const struct config_call *x = a, *y = b;

	/* qsort is not stable: seq is unique, so no two calls compare equal. */
	if (x->rank != y->rank) {
		return x->rank < y->rank ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Checks one {"method":..., "params":...} entry and appends it to plan. */
static int config_plan_add_call(struct config_plan *plan, const char *subsystem, uint32_t rank,
				size_t pos, const json_t *entry, char *err, size_t errlen)
{
	const json_t *method = json_object_get(entry, "method");
	const json_t *params = json_object_get(entry, "params");
	const char *key;
	json_t *val;

	if (!json_is_object(entry)) {
		snprintf(err, errlen, "subsystem '%s': config entry %zu is not an object", subsystem, pos);
		return -EINVAL;
	}
	if (!json_is_string(method)) {
		snprintf(err, errlen, "subsystem '%s': config entry %zu: 'method' is missing or not a string",
			 subsystem, pos);
		return -EINVAL;
	}
	json_object_foreach((json_t *)entry, key, val) {
		if (strcmp(key, "method") != 0 && strcmp(key, "params") != 0) {
			snprintf(err, errlen, "subsystem '%s': method '%s': unknown key '%s' in the entry",
				 subsystem, json_string_value(method), key);
			return -EINVAL;
		}
	}
	if (params != NULL && !json_is_object(params) && !json_is_array(params) && !json_is_null(params)) {
		snprintf(err, errlen, "subsystem '%s': method '%s': 'params' must be an object",
			 subsystem, json_string_value(method));
		return -EINVAL;
	}
	if (brisk_rpc_is_method_allowed(json_string_value(method), BRISK_RPC_RUNTIME) == -ENOENT) {
		snprintf(err, errlen, "subsystem '%s': unknown method '%s'", subsystem,
			 json_string_value(method));
		return -EINVAL;
	}
	plan->calls[plan->count] = (struct config_call) {
		.subsystem = subsystem,
		.method = json_string_value(method),
		.params = json_is_null(params) ? NULL : params,
		.rank = rank,
		.seq = plan->count,
	};
	plan->count++;
	return 0;
}

static size_t config_count_calls(const json_t *subsystems)
{
	const json_t *sub;
	size_t i, n = 0;

	json_array_foreach(subsystems, i, sub) {
		const json_t *cfg = json_object_get(sub, "config");

		if (json_is_array(cfg)) {
			n += json_array_size(cfg);
		}
	}
	return n;
}

/* A subsystem Brisk lacks (SPDK's saved configs always list accel, iobuf,
 * sock, keyring, vmd, scheduler ...): 0 when it can be skipped or its entries
 * are all methods Brisk accepts (peer tuning such as iobuf_set_options, which
 * answer with a notice); -EINVAL naming it and the entry otherwise. */
static int config_check_unknown_subsystem(const char *name, const json_t *cfg, char *err, size_t errlen)
{
	const json_t *entry;
	size_t j;

	if (json_array_size(cfg) == 0) {
		BRISK_NOTICELOG("JSON config: subsystem '%s' is not part of Brisk; its empty config is "
				"skipped\n", name);
		return 0;
	}
	json_array_foreach(cfg, j, entry) {
		const char *method = json_string_value(json_object_get(entry, "method"));

		if (method != NULL && brisk_rpc_is_method_allowed(method, BRISK_RPC_RUNTIME) == -ENOENT) {
			snprintf(err, errlen, "subsystem '%s' is not supported by Brisk: its config entry %zu "
				 "('%s') cannot be applied", name, j, method);
			return -EINVAL;
		}
	}
	return 0;
}

/* Checks one {"subsystem":..., "config":[...]} element and plans its calls. */
static int config_plan_add_subsystem(struct config_plan *plan, const json_t *sub, size_t i,
				     char *err, size_t errlen)
{
	const json_t *name = json_object_get(sub, "subsystem");
	const json_t *cfg = json_object_get(sub, "config");
	const json_t *entry;
	uint32_t rank;
	size_t j;
	int rc;

	if (!json_is_object(sub) || !json_is_string(name)) {
		snprintf(err, errlen, "subsystems[%zu]: 'subsystem' is missing or not a string", i);
		return -EINVAL;
	}
	if (cfg != NULL && !json_is_null(cfg) && !json_is_array(cfg)) {
		snprintf(err, errlen, "subsystem '%s': 'config' must be an array", json_string_value(name));
		return -EINVAL;
	}
	rank = config_subsystem_rank(json_string_value(name));
	if (rank == 0) {
		rc = config_check_unknown_subsystem(json_string_value(name), cfg, err, errlen);
		if (rc != 0) {
			return rc;
		}
	}
	json_array_foreach(cfg, j, entry) {
		rc = config_plan_add_call(plan, json_string_value(name), rank, j, entry, err, errlen);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

/* Checks the whole object and lists its calls in subsystem init order. */
static int config_plan_build(const json_t *config, struct config_plan **out, char *err, size_t errlen)
{
	const json_t *subsystems = json_object_get(config, "subsystems");
	struct config_plan *plan;
	const json_t *sub;
	size_t i;
	int rc = 0;

	if (!json_is_object(config)) {
		snprintf(err, errlen, "the configuration must be a JSON object");
		return -EINVAL;
	}
	if (!json_is_array(subsystems)) {
		snprintf(err, errlen, "'subsystems' is missing or not an array");
		return -EINVAL;
	}
	if (event_subsystem_sort() != 0) {
		snprintf(err, errlen, "the subsystems cannot be ordered (see the dependency error above)");
		return -EINVAL;
	}
	plan = calloc(1, sizeof(*plan));
	if (plan == NULL || (plan->calls = calloc(config_count_calls(subsystems) + 1,
						  sizeof(*plan->calls))) == NULL) {
		free(plan);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	plan->config = json_incref((json_t *)config);
	json_array_foreach(subsystems, i, sub) {
		rc = config_plan_add_subsystem(plan, sub, i, err, errlen);
		if (rc != 0) {
			config_plan_free(plan);
			return rc;
		}
	}
	qsort(plan->calls, plan->count, sizeof(*plan->calls), config_call_cmp);
	*out = plan;
	return 0;
}

/* Keeps in plan only the calls select() accepts; moves the others to *rest
 * (a new plan sharing the config) when rest is not NULL. */
static int config_plan_split(struct config_plan *plan, bool (*select)(const char *method),
			     struct config_plan **rest)
{
	struct config_plan *other = NULL;
	size_t i, kept = 0;

	if (rest != NULL) {
		other = calloc(1, sizeof(*other));
		if (other == NULL || (other->calls = calloc(plan->count + 1, sizeof(*other->calls))) == NULL) {
			free(other);
			return -ENOMEM;
		}
		other->config = json_incref(plan->config);
	}
	for (i = 0; i < plan->count; i++) {
		if (select(plan->calls[i].method)) {
			plan->calls[kept++] = plan->calls[i];
		} else if (other != NULL) {
			other->calls[other->count++] = plan->calls[i];
		} else {
			BRISK_WARNLOG("JSON config: subsystem '%s': method '%s' can only run before "
				      "subsystems are initialised; skipped\n",
				      plan->calls[i].subsystem, plan->calls[i].method);
		}
	}
	plan->count = kept;
	if (rest != NULL) {
		*rest = other;
	}
	return 0;
}

static bool config_is_startup_method(const char *method)
{
	return brisk_rpc_is_method_allowed(method, BRISK_RPC_STARTUP) == 0;
}

static bool config_is_runtime_method(const char *method)
{
	return brisk_rpc_is_method_allowed(method, BRISK_RPC_RUNTIME) == 0;
}

/* ---- Running a plan, one call after the other ---- */

static void config_run_next(void *ctx);

static void config_plan_finish(struct config_plan *plan, int rc, const char *errmsg)
{
	brisk_json_config_cb cb = plan->cb;
	void *cb_ctx = plan->cb_ctx;

	if (rc != 0) {
		BRISK_ERRLOG("JSON config: %s\n", errmsg);
	}
	g_running = NULL;
	config_plan_free(plan);
	cb(rc, errmsg, cb_ctx);
}

static void config_call_done(void *ctx, int error_code, const char *error_message, const json_t *result)
{
	struct config_plan *plan = ctx;
	const struct config_call *call = &plan->calls[plan->next - 1];
	char err[CONFIG_ERR_MAX];

	if (error_code != 0) {
		snprintf(err, sizeof(err), "subsystem '%s': method '%s' failed: %s (code %d)",
			 call->subsystem, call->method,
			 error_message != NULL ? error_message : "no message", error_code);
		config_plan_finish(plan, -EINVAL, err);
		return;
	}
	/* Continue by message: a method may answer from inside the call, and a
	 * long configuration must not grow the stack. */
	if (brisk_thread_send_msg(plan->thread, config_run_next, plan) != 0) {
		snprintf(err, sizeof(err), "subsystem '%s': cannot continue after method '%s': out of "
			 "messages", call->subsystem, call->method);
		config_plan_finish(plan, -ENOMEM, err);
	}
}

static void config_run_next(void *ctx)
{
	struct config_plan *plan = ctx;
	const struct config_call *call;
	char err[CONFIG_ERR_MAX];
	int rc;

	if (plan->next == plan->count) {
		config_plan_finish(plan, 0, NULL);
		return;
	}
	call = &plan->calls[plan->next++];
	BRISK_INFOLOG("JSON config: subsystem '%s': %s\n", call->subsystem, call->method);
	rc = brisk_rpc_call_local(call->method, call->params, config_call_done, plan);
	if (rc != 0) {
		snprintf(err, sizeof(err), "subsystem '%s': method '%s' %s", call->subsystem, call->method,
			 rc == -ENOENT ? "is unknown" :
			 rc == -EPERM ? "is not allowed in the current RPC state" :
			 rc == -ENOMEM ? "could not run: out of memory" : "has invalid params");
		config_plan_finish(plan, -EINVAL, err);
	}
}

static void config_plan_start(struct config_plan *plan, brisk_json_config_cb cb, void *ctx)
{
	plan->cb = cb;
	plan->cb_ctx = ctx;
	plan->thread = brisk_get_thread();
	g_running = plan;
	config_run_next(plan);
}

void brisk_json_config_apply(const json_t *config, brisk_json_config_cb cb, void *ctx)
{
	struct config_plan *plan, *rest = NULL;
	char err[CONFIG_ERR_MAX];
	int rc;

	if (g_running != NULL) {
		cb(-EBUSY, "another configuration is being applied", ctx);
		return;
	}
	if (brisk_get_thread() == NULL) {
		cb(-EINVAL, "configurations are applied on the app thread", ctx);
		return;
	}
	rc = config_plan_build(config, &plan, err, sizeof(err));
	if (rc != 0) {
		BRISK_ERRLOG("JSON config: %s\n", err);
		cb(rc, err, ctx);
		return;
	}
	if (brisk_rpc_get_state() == BRISK_RPC_STARTUP) {
		rc = config_plan_split(plan, config_is_startup_method, &rest);
		if (rc == 0 && g_deferred != NULL) {
			/* A second apply before init: its runtime calls follow the first's. */
			rc = -EBUSY;
		}
		if (rc != 0) {
			config_plan_free(plan);
			config_plan_free(rest);
			cb(rc, rc == -EBUSY ? "a configuration already waits for framework_start_init" :
			   "out of memory", ctx);
			return;
		}
		g_deferred = rest;
	} else {
		config_plan_split(plan, config_is_runtime_method, NULL);
	}
	config_plan_start(plan, cb, ctx);
}

void brisk_json_config_apply_deferred(brisk_json_config_cb cb, void *ctx)
{
	struct config_plan *plan = g_deferred;

	if (plan == NULL) {
		cb(0, NULL, ctx);
		return;
	}
	if (g_running != NULL) {
		cb(-EBUSY, "another configuration is being applied", ctx);
		return;
	}
	g_deferred = NULL;
	config_plan_start(plan, cb, ctx);
}

/* Frees what an apply in STARTUP kept (start-up stopped before init). */
void event_json_config_drop_deferred(void)
{
	config_plan_free(g_deferred);
	g_deferred = NULL;
}

/* ---- Saving ---- */

json_t *brisk_json_config_save(void)
{
	json_t *root = json_object();
	json_t *subsystems = json_array();
	struct brisk_subsystem *s;

	if (root == NULL || subsystems == NULL) {
		json_decref(root);
		json_decref(subsystems);
		return NULL;
	}
	event_subsystem_sort();
	for (s = brisk_subsystem_get_first(); s != NULL; s = brisk_subsystem_get_next(s)) {
		json_t *entry = json_object();
		json_t *config = s->write_config_json != NULL ? json_array() : json_null();

		if (entry == NULL || config == NULL) {
			json_decref(entry);
			json_decref(config);
			json_decref(root);
			json_decref(subsystems);
			return NULL;
		}
		brisk_subsystem_write_config_json(s, config);
		json_object_set_new(entry, "subsystem", json_string(s->name));
		json_object_set_new(entry, "config", config);
		json_array_append_new(subsystems, entry);
	}
	json_object_set_new(root, "subsystems", subsystems);
	return root;
}
