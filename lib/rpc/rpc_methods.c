/*
 * Built-in JSON-RPC methods: the method list, logging, thread/poller/
 * channel statistics and memory statistics. Names and parameters follow
 * SPDK's interface (env_get_mem_stats is Brisk's own).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/cpuset.h>
#include <brisk/env.h>
#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/mempool.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "rpc_internal.h"

#define ANY_STATE (BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

/* Decodes params through d; on failure answers -32602 naming the field and
 * returns false (the caller must then only free and return). */
static bool
decode_params(struct brisk_jsonrpc_request *req, const json_t *params,
	      const struct brisk_json_object_decoder *d, size_t n, void *out)
{
	char err[256];

	if (brisk_json_decode_object(params, d, n, out, err, sizeof(err)) != 0) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: %s", err);
		return false;
	}
	return true;
}

/* For methods that take no parameters: absent or {} only. */
static bool
expect_no_params(struct brisk_jsonrpc_request *req, const json_t *params)
{
	return decode_params(req, params, NULL, 0, NULL);
}

/* ---- rpc_get_methods ---- */

struct rpc_get_methods_params {
	bool current;
	bool include_aliases;
};

static const struct brisk_json_object_decoder rpc_get_methods_decoders[] = {
	{ "current", offsetof(struct rpc_get_methods_params, current), brisk_json_decode_bool, true },
	{ "include_aliases", offsetof(struct rpc_get_methods_params, include_aliases),
	  brisk_json_decode_bool, true },
};

static void
append_name(const char *name, void *ctx)
{
	json_array_append_new(ctx, json_string(name));
}

static void
rpc_get_methods(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct rpc_get_methods_params p = { false, false };
	json_t *names;

	if (!decode_params(req, params, rpc_get_methods_decoders,
			   BRISK_COUNTOF(rpc_get_methods_decoders), &p)) {
		return;
	}
	names = json_array();
	rpc_registry_for_each(p.current ? brisk_rpc_get_state() : 0, p.include_aliases,
			      append_name, names);
	brisk_jsonrpc_send_result(req, names);
}
BRISK_RPC_REGISTER("rpc_get_methods", rpc_get_methods, ANY_STATE)

/* ---- rpc_set_options / rpc_get_options (Brisk's, in SPDK's
 * <area>_set_options style): the server's connection limits. The socket's
 * mode and group are start-up flags (--rpc-socket-mode/-group): a client
 * must not be able to widen who may connect. ---- */

struct rpc_options_params {
	uint32_t max_connections;
	uint32_t idle_timeout_ms;
	uint32_t recv_timeout_ms;
	uint32_t max_batch_size;
};

static const struct brisk_json_object_decoder rpc_options_decoders[] = {
	{ "max_connections", offsetof(struct rpc_options_params, max_connections),
	  brisk_json_decode_uint32, true },
	{ "idle_timeout_ms", offsetof(struct rpc_options_params, idle_timeout_ms),
	  brisk_json_decode_uint32, true },
	{ "recv_timeout_ms", offsetof(struct rpc_options_params, recv_timeout_ms),
	  brisk_json_decode_uint32, true },
	{ "max_batch_size", offsetof(struct rpc_options_params, max_batch_size),
	  brisk_json_decode_uint32, true },
};

static void
rpc_set_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_rpc_opts o;
	struct rpc_options_params p;

	brisk_rpc_get_opts(&o);
	p.max_connections = o.max_connections;
	p.idle_timeout_ms = o.idle_timeout_ms;
	p.recv_timeout_ms = o.recv_timeout_ms;
	p.max_batch_size = o.max_batch_size;
	if (!decode_params(req, params, rpc_options_decoders, BRISK_COUNTOF(rpc_options_decoders), &p)) {
		return;
	}
	if (p.max_connections == 0 || p.max_connections > 65536) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: 'max_connections' must be 1 to 65536");
		return;
	}
	if (p.max_batch_size == 0 || p.max_batch_size > 1000000) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: 'max_batch_size' must be 1 to 1000000");
		return;
	}
	o.max_connections = p.max_connections;
	o.idle_timeout_ms = p.idle_timeout_ms;
	o.recv_timeout_ms = p.recv_timeout_ms;
	o.max_batch_size = p.max_batch_size;
	if (brisk_rpc_set_opts(&o) != 0) {
		brisk_jsonrpc_invalid_params(req, "Invalid parameters: rejected (see the log)");
		return;
	}
	brisk_jsonrpc_send_bool_response(req, true);
}
BRISK_RPC_REGISTER("rpc_set_options", rpc_set_options, ANY_STATE)

static void
rpc_get_options(struct brisk_jsonrpc_request *req, const json_t *params)
{
	struct brisk_rpc_opts o;

	if (!expect_no_params(req, params)) {
		return;
	}
	brisk_rpc_get_opts(&o);
	brisk_jsonrpc_send_result(req, json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:I}",
			"max_connections", (int)o.max_connections,
			"idle_timeout_ms", (int)o.idle_timeout_ms,
			"recv_timeout_ms", (int)o.recv_timeout_ms,
			"max_batch_size", (int)o.max_batch_size,
			"socket_mode", (json_int_t)o.socket_mode,
			"socket_gid", (json_int_t)o.socket_gid,
			"send_high_water", (json_int_t)o.send_high_water));
}
BRISK_RPC_REGISTER("rpc_get_options", rpc_get_options, ANY_STATE)

/* ---- logging ---- */

/* SPDK spells levels in capitals ("NOTICE"); parsing is case-insensitive. */
static json_t *
level_json(enum brisk_log_level level)
{
	char buf[16];
	const char *s = brisk_log_level_to_string(level);
	size_t i;

	for (i = 0; i < sizeof(buf) - 1 && s[i] != '\0'; i++) {
		buf[i] = (char)toupper((unsigned char)s[i]);
	}
	buf[i] = '\0';
	return json_string(buf);
}

struct log_level_params {
	char *level;
};

static const struct brisk_json_object_decoder log_level_decoders[] = {
	{ "level", offsetof(struct log_level_params, level), brisk_json_decode_string, false },
};

static void
log_set_level_common(struct brisk_jsonrpc_request *req, const json_t *params,
		     void (*set)(enum brisk_log_level))
{
	struct log_level_params p = { NULL };
	enum brisk_log_level level;

	if (decode_params(req, params, log_level_decoders, BRISK_COUNTOF(log_level_decoders), &p)) {
		if (brisk_log_level_from_string(p.level, &level) != 0) {
			brisk_jsonrpc_invalid_params(req, "Invalid parameters: 'level' must be one of "
						     "ERROR, WARNING, NOTICE, INFO, DEBUG (got '%s')",
						     p.level);
		} else {
			set(level);
			brisk_jsonrpc_send_bool_response(req, true);
		}
	}
	brisk_json_free_object(log_level_decoders, BRISK_COUNTOF(log_level_decoders), &p);
}

static void
log_set_level(struct brisk_jsonrpc_request *req, const json_t *params)
{
	log_set_level_common(req, params, brisk_log_set_level);
}
BRISK_RPC_REGISTER("log_set_level", log_set_level, ANY_STATE)

static void
log_set_print_level(struct brisk_jsonrpc_request *req, const json_t *params)
{
	log_set_level_common(req, params, brisk_log_set_print_level);
}
BRISK_RPC_REGISTER("log_set_print_level", log_set_print_level, ANY_STATE)

static void
log_get_level(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (expect_no_params(req, params)) {
		brisk_jsonrpc_send_result(req, level_json(brisk_log_get_level()));
	}
}
BRISK_RPC_REGISTER("log_get_level", log_get_level, ANY_STATE)

static void
log_get_print_level(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (expect_no_params(req, params)) {
		brisk_jsonrpc_send_result(req, level_json(brisk_log_get_print_level()));
	}
}
BRISK_RPC_REGISTER("log_get_print_level", log_get_print_level, ANY_STATE)

struct log_flag_params {
	char *flag;
};

static const struct brisk_json_object_decoder log_flag_decoders[] = {
	{ "flag", offsetof(struct log_flag_params, flag), brisk_json_decode_string, false },
};

static void
log_flag_common(struct brisk_jsonrpc_request *req, const json_t *params, int (*change)(const char *))
{
	struct log_flag_params p = { NULL };

	if (decode_params(req, params, log_flag_decoders, BRISK_COUNTOF(log_flag_decoders), &p)) {
		if (change(p.flag) != 0) {
			brisk_jsonrpc_invalid_params(req, "Invalid parameters: no log flag named '%s'"
						     " (see log_get_flags)", p.flag);
		} else {
			brisk_jsonrpc_send_bool_response(req, true);
		}
	}
	brisk_json_free_object(log_flag_decoders, BRISK_COUNTOF(log_flag_decoders), &p);
}

static void
log_set_flag(struct brisk_jsonrpc_request *req, const json_t *params)
{
	log_flag_common(req, params, brisk_log_set_flag);
}
BRISK_RPC_REGISTER("log_set_flag", log_set_flag, ANY_STATE)

static void
log_clear_flag(struct brisk_jsonrpc_request *req, const json_t *params)
{
	log_flag_common(req, params, brisk_log_clear_flag);
}
BRISK_RPC_REGISTER("log_clear_flag", log_clear_flag, ANY_STATE)

static void
log_get_flags(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *flags;

	if (!expect_no_params(req, params)) {
		return;
	}
	flags = json_object();
	for (struct brisk_log_flag *f = brisk_log_get_first_flag(); f != NULL;
	     f = brisk_log_get_next_flag(f)) {
		json_object_set_new(flags, f->name, json_boolean(f->enabled));
	}
	brisk_jsonrpc_send_result(req, flags);
}
BRISK_RPC_REGISTER("log_get_flags", log_get_flags, ANY_STATE)

/* ---- thread_get_stats / thread_get_pollers / thread_get_io_channels ----
 *
 * Each visits every thread in turn with brisk_for_each_thread: the entry for
 * a thread is built on that thread (its pollers and channels belong to it),
 * then the completion answers on the RPC thread. The messages order the
 * visits, so the shared context needs no locking.
 */

struct thread_walk {
	struct brisk_jsonrpc_request *req;
	json_t *threads;
};

static struct thread_walk *
thread_walk_start(struct brisk_jsonrpc_request *req, brisk_msg_fn visit, brisk_msg_fn done)
{
	struct thread_walk *w = calloc(1, sizeof(*w));

	if (w == NULL || (w->threads = json_array()) == NULL) {
		free(w);
		brisk_jsonrpc_send_error_response(req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
		return NULL;
	}
	w->req = req;
	brisk_for_each_thread(visit, w, done);
	return w;
}

static void
thread_walk_answer(void *ctx)
{
	struct thread_walk *w = ctx;
	json_t *result = json_pack("{s:I, s:o}", "tick_rate", (json_int_t)brisk_get_ticks_hz(),
				   "threads", w->threads);

	if (result == NULL) {
		brisk_jsonrpc_send_error_response(w->req, BRISK_JSONRPC_ERROR_INTERNAL_ERROR, "out of memory");
	} else {
		brisk_jsonrpc_send_result(w->req, result);
	}
	free(w);
}

/* name and id of the current thread, the start of every per-thread entry. */
static json_t *
thread_entry(struct brisk_thread *thread)
{
	return json_pack("{s:s, s:I}", "name", brisk_thread_get_name(thread),
			 "id", (json_int_t)brisk_thread_get_id(thread));
}

struct poller_counts {
	uint64_t active, timed, paused;
};

static void
count_poller(const struct brisk_poller_info *info, void *ctx)
{
	struct poller_counts *c = ctx;

	if (info->paused) {
		c->paused++;
	} else if (info->period_ticks == 0) {
		c->active++;
	} else {
		c->timed++;
	}
}

static void
thread_stats_visit(void *ctx)
{
	struct thread_walk *w = ctx;
	struct brisk_thread *thread = brisk_get_thread();
	const struct brisk_thread_stats *stats = brisk_thread_get_stats_of(thread);
	struct poller_counts counts = { 0, 0, 0 };
	char mask[BRISK_CPUSET_STR_MAX];
	json_t *entry = thread_entry(thread);

	brisk_thread_for_each_poller(thread, count_poller, &counts);
	brisk_cpuset_fmt(brisk_thread_get_cpumask(thread), mask, sizeof(mask));
	json_object_set_new(entry, "cpumask", json_string(mask));
	json_object_set_new(entry, "busy", json_integer((json_int_t)stats->busy_tsc));
	json_object_set_new(entry, "idle", json_integer((json_int_t)stats->idle_tsc));
	json_object_set_new(entry, "active_pollers_count", json_integer((json_int_t)counts.active));
	json_object_set_new(entry, "timed_pollers_count", json_integer((json_int_t)counts.timed));
	json_object_set_new(entry, "paused_pollers_count", json_integer((json_int_t)counts.paused));
	json_array_append_new(w->threads, entry);
}

static void
thread_get_stats(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (expect_no_params(req, params)) {
		thread_walk_start(req, thread_stats_visit, thread_walk_answer);
	}
}
BRISK_RPC_REGISTER("thread_get_stats", thread_get_stats, ANY_STATE)

struct poller_lists {
	json_t *active, *timed, *paused;
};

static void
list_poller(const struct brisk_poller_info *info, void *ctx)
{
	struct poller_lists *l = ctx;
	json_t *p = json_pack("{s:s, s:s, s:I, s:I}", "name", info->name ? info->name : "",
			      "state", info->paused ? "paused" : "waiting",
			      "run_count", (json_int_t)info->run_count,
			      "busy_count", (json_int_t)info->busy_count);

	if (p == NULL) {
		return;
	}
	if (info->period_ticks != 0) {
		json_object_set_new(p, "period_ticks", json_integer((json_int_t)info->period_ticks));
	}
	json_array_append_new(info->paused ? l->paused : info->period_ticks ? l->timed : l->active, p);
}

static void
thread_pollers_visit(void *ctx)
{
	struct thread_walk *w = ctx;
	struct brisk_thread *thread = brisk_get_thread();
	struct poller_lists l = { json_array(), json_array(), json_array() };
	json_t *entry = thread_entry(thread);

	brisk_thread_for_each_poller(thread, list_poller, &l);
	json_object_set_new(entry, "active_pollers", l.active);
	json_object_set_new(entry, "timed_pollers", l.timed);
	json_object_set_new(entry, "paused_pollers", l.paused);
	json_array_append_new(w->threads, entry);
}

static void
thread_get_pollers(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (expect_no_params(req, params)) {
		thread_walk_start(req, thread_pollers_visit, thread_walk_answer);
	}
}
BRISK_RPC_REGISTER("thread_get_pollers", thread_get_pollers, ANY_STATE)

static void
list_channel(struct brisk_io_channel *ch, void *ctx)
{
	const char *name = brisk_io_device_get_name(brisk_io_channel_get_io_device(ch));

	json_array_append_new(ctx, json_pack("{s:s, s:i}", "name", name ? name : "",
					     "ref", (int)brisk_io_channel_get_ref_count(ch)));
}

static void
thread_channels_visit(void *ctx)
{
	struct thread_walk *w = ctx;
	struct brisk_thread *thread = brisk_get_thread();
	json_t *channels = json_array();
	json_t *entry = thread_entry(thread);

	brisk_thread_for_each_io_channel(thread, list_channel, channels);
	json_object_set_new(entry, "io_channels", channels);
	json_array_append_new(w->threads, entry);
}

static void
thread_get_io_channels(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (expect_no_params(req, params)) {
		thread_walk_start(req, thread_channels_visit, thread_walk_answer);
	}
}
BRISK_RPC_REGISTER("thread_get_io_channels", thread_get_io_channels, ANY_STATE)

/* ---- env_get_mem_stats ---- */

static int
add_memzone(const struct brisk_memzone_info *info, void *ctx)
{
	json_array_append_new(ctx, json_pack("{s:s, s:I, s:i}", "name", info->name,
					     "len", (json_int_t)info->len, "socket_id", info->socket_id));
	return 0;
}

static void
add_mempool(struct brisk_mempool *mp, void *ctx)
{
	json_array_append_new(ctx, json_pack("{s:s, s:I, s:I, s:I, s:I}", "name", mp->name,
					     "count", (json_int_t)brisk_mempool_get_count(mp),
					     "avail", (json_int_t)brisk_mempool_avail_count(mp),
					     "in_use", (json_int_t)brisk_mempool_in_use_count(mp),
					     "elt_size", (json_int_t)mp->elt_size));
}

static void
env_get_mem_stats(struct brisk_jsonrpc_request *req, const json_t *params)
{
	json_t *heaps, *memzones, *mempools;

	if (!expect_no_params(req, params)) {
		return;
	}
	heaps = json_array();
	for (int socket = 0; socket < BRISK_ENV_MAX_NUMA_NODES; socket++) {
		struct brisk_heap_stats s;

		if (brisk_malloc_get_heap_stats(socket, &s) != 0) {
			continue;
		}
		json_array_append_new(heaps, json_pack("{s:i, s:I, s:I, s:I, s:I, s:I, s:I}",
						       "socket_id", s.socket_id,
						       "total_bytes", (json_int_t)s.total_bytes,
						       "free_bytes", (json_int_t)s.free_bytes,
						       "alloc_bytes", (json_int_t)s.alloc_bytes,
						       "greatest_free_size", (json_int_t)s.greatest_free_size,
						       "alloc_count", (json_int_t)s.alloc_count,
						       "free_count", (json_int_t)s.free_count));
	}
	memzones = json_array();
	brisk_memzone_walk(add_memzone, memzones);
	mempools = json_array();
	brisk_mempool_walk(add_mempool, mempools);
	brisk_jsonrpc_send_result(req, json_pack("{s:o, s:o, s:o}", "heaps", heaps,
						 "memzones", memzones, "mempools", mempools));
}
BRISK_RPC_REGISTER("env_get_mem_stats", env_get_mem_stats, ANY_STATE)
