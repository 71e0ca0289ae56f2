/*
 * Private to lib/event: how reactors (reactor.c), the event ring
 * (event_ring.c), subsystems (subsystem.c), the JSON config (json_config.c),
 * the app (app.c, app_args.c) and the framework RPC methods
 * (framework_rpc.c) reach each other.
 */
#ifndef BRISK_EVENT_INTERNAL_H
#define BRISK_EVENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <brisk/event.h>

/* ---- Event ring: a bounded lock-free multi-producer / single-consumer
 * queue of (fn, arg1, arg2) stored by value, so posting an event allocates
 * nothing. Each cell carries a sequence number that says whose turn it is
 * (Vyukov's bounded queue). ---- */
struct event_ring_cell {
	uint64_t seq;
	brisk_event_fn fn;
	void *arg1;
	void *arg2;
};

struct event_ring {
	uint64_t mask;
	struct event_ring_cell *cells;
	/* Producers and the consumer write different lines: no false sharing. */
	_Alignas(64) uint64_t head; /* next position a producer claims */
	_Alignas(64) uint64_t tail;         /* next position the consumer reads */
};

/* size: a power of two. 0 or -ENOMEM/-EINVAL. */
int event_ring_init(struct event_ring *ring, uint32_t size);
void event_ring_fini(struct event_ring *ring);
/* Any thread. 0 or -ENOMEM when full. */
int event_ring_enqueue(struct event_ring *ring, brisk_event_fn fn, void *arg1, void *arg2);
/* Consumer only: runs up to max events, returns how many ran. */
uint32_t event_ring_run(struct event_ring *ring, uint32_t max);
/* Consumer only: true when no published event waits. */
bool event_ring_empty(struct event_ring *ring);

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
