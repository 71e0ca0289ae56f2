/*
 * JSON-RPC methods of the app framework: start-up control (framework_wait_init,
 * framework_start_init), introspection (framework_get_reactors,
 * framework_get_subsystems, framework_get_config), configuration
 * (save_config, load_config) and brisk_kill_instance (alias spdk_kill_instance).
 * Names and parameters follow SPDK's interface. Every method runs on the app thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "event_internal.h"

/* Delay before brisk_kill_instance raises the signal, so the answer leaves first. */
#define KILL_DELAY_US 20000

/* Methods without parameters accept none, null or {}. */
static bool params_empty(const json_t *params)
{
	return params == NULL || json_is_null(params) ||
	       (json_is_object(params) && json_object_size(params) == 0);
}

/* ---- framework_wait_init ---- */

static void rpc_wait_init_done(void *ctx)
{
	brisk_jsonrpc_send_bool_response(ctx, true);
}

static void rpc_framework_wait_init(struct brisk_jsonrpc_request *request, const json_t *params)
{
	if (!params_empty(params)) {
		brisk_jsonrpc_invalid_params(request, "framework_wait_init takes no parameters");
		return;
	}
	event_app_when_init_done(rpc_wait_init_done, request);
}
BRISK_RPC_REGISTER("framework_wait_init", rpc_framework_wait_init, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* ---- framework_start_init ---- */

static void rpc_start_init_done(int rc, void *ctx)
{
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(ctx, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
						      "subsystem initialisation failed: %s", strerror(-rc));
		return;
	}
	brisk_jsonrpc_send_bool_response(ctx, true);
}

static void rpc_framework_start_init(struct brisk_jsonrpc_request *request, const json_t *params)
{
	if (!params_empty(params)) {
		brisk_jsonrpc_invalid_params(request, "framework_start_init takes no parameters");
		return;
	}
	if (event_app_start_init(rpc_start_init_done, request) != 0) {
		brisk_jsonrpc_send_error_response(request, BRISK_JSONRPC_ERROR_INVALID_STATE,
						  "subsystem initialisation has already started");
	}
}
BRISK_RPC_REGISTER("framework_start_init", rpc_framework_start_init, BRISK_RPC_STARTUP)

/* ---- framework_get_reactors: an event visits each reactor in turn ---- */

struct get_reactors_ctx {
	struct brisk_jsonrpc_request *request;
	json_t *reactors;
	uint32_t core;
};

static void get_reactors_visit(void *arg1, void *arg2);

static void get_reactors_finish(void *arg)
{
	struct get_reactors_ctx *ctx = arg;
	json_t *result = json_object();

	json_object_set_new(result, "tick_rate", json_integer((json_int_t)brisk_get_ticks_hz()));
	json_object_set_new(result, "pid", json_integer(getpid()));
	json_object_set_new(result, "poll_mode", json_boolean(brisk_reactors_is_poll_mode()));
	json_object_set_new(result, "reactors", ctx->reactors);
	brisk_jsonrpc_send_result(ctx->request, result);
	free(ctx);
}

static void get_reactors_add_thread(struct brisk_thread *thread, void *arg)
{
	json_t *threads = arg;
	json_t *t = json_object();
	char mask[BRISK_CPUSET_STR_MAX];
	const struct brisk_thread_stats *stats = brisk_thread_get_stats_of(thread);

	brisk_cpuset_fmt(brisk_thread_get_cpumask(thread), mask, sizeof(mask));
	json_object_set_new(t, "name", json_string(brisk_thread_get_name(thread)));
	json_object_set_new(t, "id", json_integer((json_int_t)brisk_thread_get_id(thread)));
	json_object_set_new(t, "cpumask", json_string(mask));
	if (stats != NULL) {
		json_object_set_new(t, "busy", json_integer((json_int_t)stats->busy_tsc));
		json_object_set_new(t, "idle", json_integer((json_int_t)stats->idle_tsc));
		/* SPDK: ticks since the thread came to this reactor. Brisk threads
		 * never move, so that is the time they have been accounted here. */
		json_object_set_new(t, "elapsed", json_integer((json_int_t)(stats->busy_tsc + stats->idle_tsc)));
	}
	json_array_append_new(threads, t);
}

/* The core's usr, sys and irq times from /proc/stat (clock ticks, as SPDK
 * reports them for spdk_top); zeros when the line cannot be read. */
static void reactor_cpu_times(uint32_t core, json_t *r)
{
	unsigned long long v[6] = {0};
	char line[256], want[32];
	FILE *f = fopen("/proc/stat", "re");
	int n = snprintf(want, sizeof(want), "cpu%u ", core);

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, want, (size_t)n) == 0) {
			/* user nice system idle iowait irq */
			sscanf(line + n, "%llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
			break;
		}
	}
	if (f != NULL) {
		fclose(f);
	}
	json_object_set_new(r, "irq", json_integer((json_int_t)v[5]));
	json_object_set_new(r, "sys", json_integer((json_int_t)v[2]));
	json_object_set_new(r, "usr", json_integer((json_int_t)v[0]));
}

/* Next core after ctx->core (or the first), then an event to it; after the
 * last core, back to the app thread to answer. */
static void get_reactors_next(struct get_reactors_ctx *ctx, bool first)
{
	uint32_t core = first ? brisk_env_get_first_core() : brisk_env_get_next_core(ctx->core);

	if (core != UINT32_MAX) {
		ctx->core = core;
		if (brisk_event_call(core, get_reactors_visit, ctx, NULL) == 0) {
			return;
		}
		BRISK_ERRLOG("framework_get_reactors: cannot reach reactor %u\n", core);
	}
	if (brisk_thread_send_msg(brisk_app_get_thread(), get_reactors_finish, ctx) != 0) {
		BRISK_ERRLOG("framework_get_reactors: cannot reach the app thread; answer lost\n");
	}
}

static void get_reactors_visit(void *arg1, void *arg2)
{
	struct get_reactors_ctx *ctx = arg1;
	struct event_reactor *reactor = event_reactor_get_current();
	struct brisk_reactor_info info;
	json_t *r = json_object(), *threads = json_array();

	brisk_reactor_get_info(ctx->core, &info);
	json_object_set_new(r, "lcore", json_integer(info.lcore));
	/* This event runs on the reactor's own OS thread. */
	json_object_set_new(r, "tid", json_integer((json_int_t)gettid()));
	json_object_set_new(r, "numa_id", json_integer(brisk_env_get_socket_id(ctx->core)));
	reactor_cpu_times(ctx->core, r);
	json_object_set_new(r, "busy", json_integer((json_int_t)info.busy_tsc));
	json_object_set_new(r, "idle", json_integer((json_int_t)info.idle_tsc));
	/* in_interrupt: SPDK's name for "sleeping between events" */
	json_object_set_new(r, "in_interrupt", json_boolean(info.sleeping));
	json_object_set_new(r, "sleep_count", json_integer((json_int_t)info.sleep_count));
	if (reactor != NULL) {
		event_reactor_for_each_thread(reactor, get_reactors_add_thread, threads);
	}
	json_object_set_new(r, "lw_threads", threads);
	json_array_append_new(ctx->reactors, r);
	get_reactors_next(ctx, false);
}

static void rpc_framework_get_reactors(struct brisk_jsonrpc_request *request, const json_t *params)
{
	struct get_reactors_ctx *ctx;

	if (!params_empty(params)) {
		brisk_jsonrpc_invalid_params(request, "framework_get_reactors takes no parameters");
		return;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL || (ctx->reactors = json_array()) == NULL) {
		free(ctx);
		brisk_jsonrpc_send_error_response(request, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		return;
	}
	ctx->request = request;
	get_reactors_next(ctx, true);
}
BRISK_RPC_REGISTER("framework_get_reactors", rpc_framework_get_reactors, BRISK_RPC_RUNTIME)

/* ---- framework_get_subsystems ---- */

static void add_depend(const char *depends_on, void *ctx)
{
	json_array_append_new(ctx, json_string(depends_on));
}

static void rpc_framework_get_subsystems(struct brisk_jsonrpc_request *request, const json_t *params)
{
	struct brisk_subsystem *s;
	json_t *result;

	if (!params_empty(params)) {
		brisk_jsonrpc_invalid_params(request, "framework_get_subsystems takes no parameters");
		return;
	}
	event_subsystem_sort();
	result = json_array();
	for (s = brisk_subsystem_get_first(); s != NULL; s = brisk_subsystem_get_next(s)) {
		json_t *entry = json_object();
		json_t *deps = json_array();

		brisk_subsystem_for_each_depend(s, add_depend, deps);
		json_object_set_new(entry, "subsystem", json_string(s->name));
		json_object_set_new(entry, "depends_on", deps);
		json_array_append_new(result, entry);
	}
	brisk_jsonrpc_send_result(request, result);
}
BRISK_RPC_REGISTER("framework_get_subsystems", rpc_framework_get_subsystems,
		   BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* ---- framework_get_config ---- */

struct get_config_params {
	char *name;
};

static const struct brisk_json_object_decoder g_get_config_decoders[] = {
	{"name", offsetof(struct get_config_params, name), brisk_json_decode_string, false},
};

static void rpc_framework_get_config(struct brisk_jsonrpc_request *request, const json_t *params)
{
	struct get_config_params p = {0};
	struct brisk_subsystem *s;
	char err[256];
	json_t *config;

	if (brisk_json_decode_object(params, g_get_config_decoders, BRISK_COUNTOF(g_get_config_decoders),
				     &p, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(request, "%s", err);
		goto out;
	}
	s = brisk_subsystem_find(p.name);
	if (s == NULL) {
		brisk_jsonrpc_invalid_params(request, "parameter 'name': there is no subsystem '%s'", p.name);
		goto out;
	}
	config = json_array();
	brisk_subsystem_write_config_json(s, config);
	brisk_jsonrpc_send_result(request, config);
out:
	brisk_json_free_object(g_get_config_decoders, BRISK_COUNTOF(g_get_config_decoders), &p);
}
BRISK_RPC_REGISTER("framework_get_config", rpc_framework_get_config, BRISK_RPC_RUNTIME)

/* ---- save_config / load_config ---- */

static void rpc_save_config(struct brisk_jsonrpc_request *request, const json_t *params)
{
	json_t *config;

	if (!params_empty(params)) {
		brisk_jsonrpc_invalid_params(request, "save_config takes no parameters");
		return;
	}
	config = brisk_json_config_save();
	if (config == NULL) {
		brisk_jsonrpc_send_error_response(request, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		return;
	}
	brisk_jsonrpc_send_result(request, config);
}
BRISK_RPC_REGISTER("save_config", rpc_save_config, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

static void rpc_load_config_done(int rc, const char *errmsg, void *ctx)
{
	if (rc != 0) {
		brisk_jsonrpc_send_error_response_fmt(ctx, rc == -EBUSY ? BRISK_JSONRPC_ERROR_INVALID_STATE :
						      BRISK_JSONRPC_ERROR_INVALID_PARAMS, "%s",
						      errmsg != NULL ? errmsg : strerror(-rc));
		return;
	}
	brisk_jsonrpc_send_bool_response(ctx, true);
}

static void rpc_load_config(struct brisk_jsonrpc_request *request, const json_t *params)
{
	if (!json_is_object(params)) {
		brisk_jsonrpc_invalid_params(request, "load_config takes the configuration object "
					     "({\"subsystems\": [...]}) as its parameters");
		return;
	}
	brisk_json_config_apply(params, rpc_load_config_done, request);
}
BRISK_RPC_REGISTER("load_config", rpc_load_config, BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* ---- brisk_kill_instance / spdk_kill_instance ---- */

static const struct {
	const char *name;
	int sig;
} g_signals[] = {
	{"SIGINT", SIGINT},
	{"SIGTERM", SIGTERM},
	{"SIGQUIT", SIGQUIT},
	{"SIGHUP", SIGHUP},
	{"SIGKILL", SIGKILL},
	{"SIGUSR1", SIGUSR1},
	{"SIGUSR2", SIGUSR2},
};

struct kill_params {
	char *sig_name;
};

static const struct brisk_json_object_decoder g_kill_decoders[] = {
	{"sig_name", offsetof(struct kill_params, sig_name), brisk_json_decode_string, false},
};

struct kill_ctx {
	struct brisk_poller *poller;
	int sig;
};

static int kill_poller(void *arg)
{
	struct kill_ctx *ctx = arg;
	int sig = ctx->sig;

	brisk_poller_unregister(&ctx->poller);
	free(ctx);
	kill(getpid(), sig);
	return BRISK_POLLER_BUSY;
}

/* Accepts "SIGINT", "INT", "sigint" or the number. */
static int kill_parse_signal(const char *name)
{
	const char *bare = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
	char *end;
	long num;

	for (size_t i = 0; i < BRISK_COUNTOF(g_signals); i++) {
		if (strcasecmp(bare, g_signals[i].name + 3) == 0) {
			return g_signals[i].sig;
		}
	}
	num = strtol(name, &end, 10);
	if (*name != '\0' && *end == '\0') {
		for (size_t i = 0; i < BRISK_COUNTOF(g_signals); i++) {
			if (g_signals[i].sig == num) {
				return (int)num;
			}
		}
	}
	return -EINVAL;
}

static void rpc_kill_instance(struct brisk_jsonrpc_request *request, const json_t *params)
{
	struct kill_params p = {0};
	struct kill_ctx *ctx;
	char err[256];
	int sig;

	if (brisk_json_decode_object(params, g_kill_decoders, BRISK_COUNTOF(g_kill_decoders), &p,
				     err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(request, "%s", err);
		goto out;
	}
	sig = kill_parse_signal(p.sig_name);
	if (sig < 0) {
		brisk_jsonrpc_invalid_params(request, "parameter 'sig_name': '%s' is not one of SIGINT, "
					     "SIGTERM, SIGQUIT, SIGHUP, SIGKILL, SIGUSR1, SIGUSR2", p.sig_name);
		goto out;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		brisk_jsonrpc_send_error_response(request, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		goto out;
	}
	ctx->sig = sig;
	ctx->poller = brisk_poller_register_named(kill_poller, ctx, KILL_DELAY_US, "kill_instance");
	if (ctx->poller == NULL) {
		free(ctx);
		brisk_jsonrpc_send_error_response(request, BRISK_JSONRPC_ERROR_INTERNAL_ERROR,
						  "cannot schedule the signal");
		goto out;
	}
	BRISK_NOTICELOG("sending %s to myself as asked by RPC\n", p.sig_name);
	brisk_jsonrpc_send_bool_response(request, true);
out:
	brisk_json_free_object(g_kill_decoders, BRISK_COUNTOF(g_kill_decoders), &p);
}

__attribute__((constructor)) static void rpc_kill_instance_register(void)
{
	brisk_rpc_register_method("brisk_kill_instance", rpc_kill_instance,
				  BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME);
	brisk_rpc_register_alias("brisk_kill_instance", "spdk_kill_instance");
}
