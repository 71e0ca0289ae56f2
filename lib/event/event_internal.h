/*
 * Private to lib/event: how reactors (reactor.c), subsystems (subsystem.c),
 * the JSON config (json_config.c), the app (app.c, app_args.c) and the
 * framework RPC methods (framework_rpc.c) reach each other.
 */
#ifndef BRISK_EVENT_INTERNAL_H
#define BRISK_EVENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <brisk/event.h>

/* ---- Reactors ---- */
struct event_reactor;
/* The reactor of the calling OS thread, or NULL. */
struct event_reactor *event_reactor_get_current(void);
uint32_t event_reactor_get_core(const struct event_reactor *reactor);
/* On the reactor's own OS thread: calls fn for each thread it polls. */
void event_reactor_for_each_thread(struct event_reactor *reactor,
				   void (*fn)(struct brisk_thread *thread, void *ctx), void *ctx);

/* ---- Subsystems ---- */
/* Sorts the subsystems in dependency order (done once); 0 or -EINVAL. */
int event_subsystem_sort(void);
/* For unit tests: forgets every registered subsystem and dependency. */
void event_subsystem_clear_registry(void);
/* True once every subsystem has been initialised. */
bool event_subsystem_all_initialized(void);
/* Runs every subsystem's settle step in init order, then cb(ctx). */
void event_subsystem_settle(brisk_msg_fn cb, void *ctx);

/* ---- JSON config ---- */
/* Frees what an apply in STARTUP kept for RUNTIME (start-up stopped first). */
void event_json_config_drop_deferred(void);

/* ---- App internals used by the framework RPC methods ---- */
/* framework_start_init: -EALREADY if init already started, else starts it
 * and calls cb (on the app thread) once subsystems are initialised or failed. */
int event_app_start_init(void (*cb)(int rc, void *ctx), void *ctx);
/* Calls cb(ctx) on the app thread once start-up is complete (now if it is). */
void event_app_when_init_done(brisk_msg_fn cb, void *ctx);

#endif
