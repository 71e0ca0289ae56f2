/*
 * Reactors, events, the application framework and subsystems.
 *
 * A reactor is one OS thread pinned to one core of the app's cpumask. It polls
 * the brisk_threads placed on it (see thread.h) and, after a short idle spell,
 * sleeps in epoll until a message, an event, a timed poller or a registered fd
 * needs it (hybrid polling; --poll-mode never sleeps).
 *
 * Most programs only need brisk_app_opts_init, brisk_app_parse_args,
 * brisk_app_start and brisk_app_stop. The reactor calls below are for programs
 * and tests that run reactors without the app framework.
 */
#ifndef BRISK_EVENT_H
#define BRISK_EVENT_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <brisk/cpuset.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Events: a call run on a given reactor ---- */
typedef void (*brisk_event_fn)(void *arg1, void *arg2);
/* Runs fn(arg1, arg2) on the reactor of core, outside any brisk_thread
 * (brisk_get_thread() is NULL there). Callable from any OS thread. Events
 * from one sender to one core run in order. 0, -EINVAL (no reactor on core,
 * fn NULL) or -ENOMEM (the reactor's event ring is full). */
int brisk_event_call(uint32_t core, brisk_event_fn fn, void *arg1, void *arg2);

/* ---- Reactors (without the app framework) ---- */
/* Consecutive idle time after which a reactor may sleep (when no thread has
 * active pollers). See lib/event/reactor.c for why this figure. */
#define BRISK_REACTOR_IDLE_SLEEP_US 200

/* After brisk_env_init: one reactor per core of the env's cpumask, and
 * brisk_thread_lib_init with the reactor scheduler (threads created from now
 * on are placed on reactors). poll_mode = never sleep. 0 or -errno. */
int brisk_reactors_init(bool poll_mode);
/* Starts a pinned OS thread for every other core and runs the main core's
 * reactor on the calling OS thread. Returns once brisk_reactors_stop was
 * called and every thread has exited and been destroyed: 0, or -errno if a
 * reactor OS thread could not be started (then nothing runs). */
int brisk_reactors_start(void);
/* Callable from any OS thread: asks every thread to exit (brisk_thread_exit),
 * then the reactors return. */
void brisk_reactors_stop(void);
/* After brisk_reactors_start returned: brisk_thread_lib_fini and frees the reactors. */
void brisk_reactors_fini(void);
bool brisk_reactors_is_poll_mode(void);
/* Adaptive spin (Brisk's own; SPDK has no such option): a reactor woken by
 * work within max_us of its previous work spins that gap (plus a quarter, at
 * most max_us) before sleeping again, instead of BRISK_REACTOR_IDLE_SLEEP_US.
 * 0 = off (the default). Callable any time, from any thread. 0, or -EINVAL
 * above BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US. */
#define BRISK_REACTOR_ADAPTIVE_SPIN_MAX_US 10000u
/* The apps' default (brisk_app_opts_init; the library's own stays 0): on a
 * quiet 2-vCPU VM it cut the p99 of a message to a reactor that last had work
 * 0.2-1 ms before from 406-3067 us to 48-79 us, and an idle target still uses
 * under 1% of a core (doc/performance.md, "Adaptive spin before sleep"). */
#define BRISK_APP_DEFAULT_ADAPTIVE_SPIN_US 2000u
int brisk_reactors_set_adaptive_spin(uint32_t max_us);
uint32_t brisk_reactors_get_adaptive_spin(void);
/* Core of the calling reactor's OS thread, or BRISK_ENV_LCORE_ID_ANY (UINT32_MAX). */
uint32_t brisk_reactor_get_current_core(void);

/* Moves thread to the reactor of core (asynchronously, between two polls of
 * the thread). The thread's cpumask is not changed; core must be in it. Callable
 * from any OS thread. 0, -EINVAL (no reactor on core / core not in the mask),
 * -ENOMEM. brisk_thread_set_cpumask moves a thread whose core left its mask. */
int brisk_reactor_move_thread(struct brisk_thread *thread, uint32_t core);
/* Core whose reactor polls thread, or UINT32_MAX while it is being placed/moved. */
uint32_t brisk_reactor_get_thread_core(const struct brisk_thread *thread);

struct brisk_reactor_info {
	uint32_t lcore;
	uint64_t busy_tsc;     /* ticks of loop iterations in which some thread worked */
	uint64_t idle_tsc;     /* ticks of idle iterations and of sleeping */
	uint64_t sleep_count;  /* times the reactor went to sleep */
	bool sleeping;         /* asleep in epoll right now */
	uint32_t thread_count;
};
/* Counters of the reactor of core (read without stopping it). 0 or -EINVAL. */
int brisk_reactor_get_info(uint32_t core, struct brisk_reactor_info *info);

/* ---- Subsystems ---- */
struct brisk_subsystem {
	const char *name;
	/* Starts the subsystem; must call brisk_subsystem_init_done(rc) once,
	 * now or later, on the app thread. NULL = nothing to start. */
	void (*init)(void);
	/* Stops it; must call brisk_subsystem_fini_done() once. NULL = nothing. */
	void (*fini)(void);
	/* Appends {"method": ..., "params": {...}} objects that recreate the
	 * subsystem's current state (save_config). NULL = no configuration. */
	void (*write_config_json)(json_t *config_array);
	/* Once the start-up configuration ran: calls done(ctx) (later, on the app
	 * thread) when the work the configuration started in the background is
	 * over (the bdev subsystem: examine, which loads lvol stores). Start-up
	 * completes only then, so that "start-up complete" and framework_wait_init
	 * mean the configured state is there. NULL = nothing to wait for. */
	void (*settle)(void (*done)(void *ctx), void *ctx);
	struct brisk_subsystem *next; /* registry, owned by lib/event */
};

struct brisk_subsystem_depend {
	const char *name;
	const char *depends_on;
	struct brisk_subsystem_depend *next; /* registry, owned by lib/event */
};

void brisk_subsystem_register(struct brisk_subsystem *subsystem);
void brisk_subsystem_add_depend(struct brisk_subsystem_depend *depend);

#define BRISK_SUBSYSTEM_REGISTER(_subsystem) \
	__attribute__((constructor)) static void brisk_subsystem_register_##_subsystem(void) \
	{ brisk_subsystem_register(&(_subsystem)); }

/* _name depends on _depends_on: _depends_on is initialised first, finished last. */
#define BRISK_SUBSYSTEM_DEPEND(_name, _depends_on) \
	static struct brisk_subsystem_depend brisk_subsystem_depend_##_name##_##_depends_on = { \
		.name = #_name, .depends_on = #_depends_on, .next = NULL }; \
	__attribute__((constructor)) static void brisk_subsystem_depend_register_##_name##_##_depends_on(void) \
	{ brisk_subsystem_add_depend(&brisk_subsystem_depend_##_name##_##_depends_on); }

void brisk_subsystem_init_done(int rc);
void brisk_subsystem_fini_done(void);

/* Initialisation order, valid once brisk_subsystem_init has sorted them
 * (before that: registration order). */
struct brisk_subsystem *brisk_subsystem_get_first(void);
struct brisk_subsystem *brisk_subsystem_get_next(struct brisk_subsystem *prev);
struct brisk_subsystem *brisk_subsystem_find(const char *name);
/* Calls fn for each subsystem name depends on (in registration order). */
void brisk_subsystem_for_each_depend(const struct brisk_subsystem *subsystem,
				     void (*fn)(const char *depends_on, void *ctx), void *ctx);

typedef void (*brisk_subsystem_init_fn)(int rc, void *ctx);
/* Sorts subsystems by dependency (a missing dependency or a cycle is logged,
 * naming the subsystems, and gives -EINVAL without initialising any), then
 * initialises them one after the other; cb gets 0 or the first failing rc
 * (initialisation stops there). Runs on the calling thread (the app thread). */
void brisk_subsystem_init(brisk_subsystem_init_fn cb, void *ctx);
/* Finishes the subsystems that were initialised, in reverse order, then cb. */
void brisk_subsystem_fini(brisk_msg_fn cb, void *ctx);
/* Appends a subsystem's configuration objects (write_config_json) to array. */
void brisk_subsystem_write_config_json(const struct brisk_subsystem *subsystem, json_t *array);

/* ---- JSON configuration (SPDK's shape) ---- */
/* rc 0 (errmsg NULL) or a negative errno with a message naming the subsystem,
 * method and the method's error (errmsg valid during the call only). */
typedef void (*brisk_json_config_cb)(int rc, const char *errmsg, void *ctx);
/* Applies {"subsystems":[{"subsystem":NAME,"config":[{"method":..,"params":..}]}]}
 * through brisk_rpc_call_local, subsystems in init order. In the STARTUP RPC
 * state it runs the methods allowed at STARTUP and keeps the others for
 * brisk_json_config_apply_deferred; in RUNTIME it runs the methods allowed at
 * RUNTIME that are not STARTUP methods (those cannot run any more: warned and
 * skipped). The whole object is checked before anything runs (shape, known
 * subsystems, known methods). Every problem is logged naming the subsystem,
 * method and error, and cb gets -EINVAL (-EBUSY if another apply is running).
 * Must run on the app (RPC) thread. */
void brisk_json_config_apply(const json_t *config, brisk_json_config_cb cb, void *ctx);
/* Runs what an earlier apply in STARTUP kept for RUNTIME (no-op if nothing). */
void brisk_json_config_apply_deferred(brisk_json_config_cb cb, void *ctx);
/* Reads a file (error naming line/column if it is not JSON). NULL on error. */
json_t *brisk_json_config_read_file(const char *path);
/* The running configuration in the shape above (new reference). */
json_t *brisk_json_config_save(void);

/* ---- Application framework ---- */
#define BRISK_APP_MAX_LOG_FLAGS 64
/* Long options of a program must use values >= this (framework ones are below). */
#define BRISK_APP_OPT_USER_BASE 1000

struct brisk_app_opts {
	const char *name;             /* program name (logs, shm file names); default "brisk" */
	const char *reactor_mask;     /* -m: "0x3" or "0-1"; default "0x1" */
	const char *json_config_file; /* -c */
	const char *rpc_addr;         /* -r: Unix socket; default BRISK_DEFAULT_RPC_ADDR; NULL = no RPC */
	uint32_t rpc_socket_mode;     /* --rpc-socket-mode; default BRISK_RPC_DEFAULT_SOCKET_MODE */
	int64_t rpc_socket_gid;       /* --rpc-socket-group; -1 = none (only root and this user) */
	uint64_t mem_size_mb;         /* -s; 0 = BRISK_ENV_DEFAULT_MEM_MB */
	bool no_huge;                 /* --no-huge */
	const char *hugedir;          /* --huge-dir */
	int shm_id;                   /* -i; -1 = private memory */
	enum brisk_log_level print_level; /* --log-level */
	const char *log_flags[BRISK_APP_MAX_LOG_FLAGS]; /* -L, repeatable */
	uint32_t num_log_flags;
	bool wait_for_rpc;            /* --wait-for-rpc: init waits for framework_start_init */
	bool poll_mode;               /* --poll-mode: reactors never sleep */
	/* --adaptive-spin-us (Brisk's own); 0 = off; brisk_app_opts_init sets
	 * BRISK_APP_DEFAULT_ADAPTIVE_SPIN_US. */
	uint32_t adaptive_spin_us;
	/* The host program owns SIGINT/SIGTERM (a plugin inside fio): the framework
	 * installs no handlers and the host stops it with brisk_app_stop. */
	bool no_signal_handlers;
	/* Called (on the app thread) for SIGINT/SIGTERM and brisk_app_start_shutdown;
	 * must end with brisk_app_stop. NULL = brisk_app_stop(0). */
	void (*shutdown_cb)(void);
};

enum brisk_app_parse_args_rvals {
	BRISK_APP_PARSE_ARGS_SUCCESS = 0,
	BRISK_APP_PARSE_ARGS_HELP,  /* -h: usage printed; exit 0 */
	BRISK_APP_PARSE_ARGS_ERROR, /* a message naming the bad flag was printed; exit non-zero */
};

void brisk_app_opts_init(struct brisk_app_opts *opts);
/* Parses the framework's options plus the program's: app_getopt_str (short
 * options, may be NULL) and app_long_opts (NULL-terminated, may be NULL, values
 * >= BRISK_APP_OPT_USER_BASE or a short letter of app_getopt_str). parse gets
 * each program option and returns 0 or a negative errno (then parsing fails;
 * parse should print why). usage prints the program's options after the
 * framework's. Strings in opts point into argv. */
enum brisk_app_parse_args_rvals brisk_app_parse_args(int argc, char **argv, struct brisk_app_opts *opts,
		const char *app_getopt_str, const struct option *app_long_opts,
		int (*parse)(int ch, char *arg), void (*usage)(void));
/* Prints the framework's options to f. */
void brisk_app_usage(FILE *f);

typedef void (*brisk_app_start_fn)(void *ctx);
/* Runs the application: env, reactors, the app thread on the main core, the
 * RPC server (STARTUP state), then (unless wait_for_rpc) subsystems in
 * dependency order, the JSON config, RPC RUNTIME state, and start_fn(ctx) on
 * the app thread. Returns, after everything is torn down, the rc given to
 * brisk_app_stop (or a negative errno if start-up failed). One call per process. */
int brisk_app_start(const struct brisk_app_opts *opts, brisk_app_start_fn start_fn, void *ctx);
/* Stops the application (from any thread): RPC closed, subsystems finished in
 * reverse order, threads exited, reactors stopped; brisk_app_start returns rc.
 * Only the first call's rc counts. */
void brisk_app_stop(int rc);
/* Graceful shutdown as on SIGTERM: opts.shutdown_cb or brisk_app_stop(0). Any thread. */
void brisk_app_start_shutdown(void);
/* Ends the process at once with exit status `status`, skipping the stop
 * sequence. For a program that holds I/O that will never complete: the clean
 * stop would wait for it forever (a bdev is not unregistered while a
 * descriptor is open, a thread does not exit while it holds a channel, and
 * neither may be given up while the I/O is in flight). Closes the RPC server
 * (its socket file is removed; only on the app thread), flushes stdout and
 * stderr, then calls _exit: no subsystem is finished, no thread exits and no
 * memory is freed, so nothing that still holds the I/O can reach freed
 * memory. Shared memory (-i) is left as a crashed primary leaves it, for the
 * next primary with that id to remove. Does not return. */
__attribute__((noreturn)) void brisk_app_exit_now(int status);
/* The thread that runs start_fn, RPC methods and subsystem init/fini. */
struct brisk_thread *brisk_app_get_thread(void);
/* True once start-up (subsystems, JSON config, start_fn) has completed. */
bool brisk_app_is_init_done(void);
int brisk_app_get_shm_id(void);
const struct brisk_app_opts *brisk_app_get_opts(void);

#ifdef __cplusplus
}
#endif
#endif
