/*
 * JSON-RPC methods of the layers below the app framework: logging and
 * thread/poller/channel statistics (memory statistics: mem_rpc.c). Names
 * and parameters follow SPDK's interface.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/cpuset.h>
#include <brisk/env.h>
#include <brisk/json.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#define ANY_STATE (BRISK_RPC_STARTUP | BRISK_RPC_RUNTIME)

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

	if (brisk_jsonrpc_decode_params(req, params, log_level_decoders, BRISK_COUNTOF(log_level_decoders), &p)) {
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
	if (brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
		brisk_jsonrpc_send_result(req, level_json(brisk_log_get_level()));
	}
}
BRISK_RPC_REGISTER("log_get_level", log_get_level, ANY_STATE)

static void
log_get_print_level(struct brisk_jsonrpc_request *req, const json_t *params)
{
	if (brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
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

	if (brisk_jsonrpc_decode_params(req, params, log_flag_decoders, BRISK_COUNTOF(log_flag_decoders), &p)) {
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

	if (!brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
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
	if (brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
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
	json_t *p = json_pack("{s:s, s:I, s:s, s:I, s:I}", "name", info->name ? info->name : "",
			      "id", (json_int_t)info->id,
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
	if (brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
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
	if (brisk_jsonrpc_decode_params(req, params, NULL, 0, NULL)) {
		thread_walk_start(req, thread_channels_visit, thread_walk_answer);
	}
}
BRISK_RPC_REGISTER("thread_get_io_channels", thread_get_io_channels, ANY_STATE)
