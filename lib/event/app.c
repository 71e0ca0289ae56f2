/*
 * The application framework: brisk_app_start brings up env, reactors, the
 * app thread and the RPC server, then runs the start-up sequence on the app
 * thread; brisk_app_stop runs the stop sequence and the reactors return.
 *
 * Start-up, on the app thread (each step a function, in order):
 *   app_start_rpc           state STARTUP; --wait-for-rpc: RPC server listening
 *   app_start_config        -c: STARTUP methods of the JSON config
 *   (--wait-for-rpc: wait for framework_start_init)
 *   app_start_subsystems    subsystems in dependency order
 *   app_start_runtime       RPC state RUNTIME, RPC server listening (if not
 *                           yet), RUNTIME methods of the config
 *   app_start_settle        each subsystem's background start-up work ends
 *                           (bdev examine: lvol stores loaded)
 *   app_start_done          start_fn(ctx); framework_wait_init answers
 * Stop, on the app thread:
 *   app_stop_rpc            server closed (socket file removed)
 *   app_stop_subsystems     subsystems finished in reverse order
 *   app_stop_reactors       every thread exits, reactors return
 * A stop requested while a start-up step is in flight waits for that step to
 * complete, so a subsystem is never finished while it is initialising.
 * brisk_app_exit_now is the one way out that skips the stop sequence (for
 * I/O that never completes): RPC server closed, then _exit.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/thread.h>

#include "event_internal.h"

struct app_init_waiter {
	brisk_msg_fn cb;
	void *ctx;
	STAILQ_ENTRY(app_init_waiter) link;
};

struct app {
	struct brisk_app_opts opts;
	brisk_app_start_fn start_fn;
	void *start_ctx;
	struct brisk_thread *thread;
	json_t *config;             /* -c file, kept until start-up completes */
	bool rpc_listening;
	bool init_started;          /* subsystem init began (auto or framework_start_init) */
	bool init_done;             /* start_fn called */
	bool step_in_flight;        /* an asynchronous start-up step is running */
	bool stop_requested;
	bool stopping;              /* the stop sequence began */
	void (*start_init_cb)(int rc, void *ctx); /* framework_start_init's answer */
	void *start_init_ctx;
	STAILQ_HEAD(, app_init_waiter) waiters;
	int rc;
};

static struct app g_app;
static bool g_app_started_once;
static bool g_app_stop_called;
static volatile sig_atomic_t g_signal_count;
static struct sigaction g_old_sigint, g_old_sigterm;

struct brisk_thread *brisk_app_get_thread(void)
{
	return g_app.thread;
}

bool brisk_app_is_init_done(void)
{
	return g_app.init_done;
}

int brisk_app_get_shm_id(void)
{
	return g_app.opts.shm_id;
}

const struct brisk_app_opts *brisk_app_get_opts(void)
{
	return &g_app.opts;
}

static bool app_on_app_thread(void)
{
	return g_app.thread != NULL && brisk_get_thread() == g_app.thread;
}

/* ---- Stop sequence ---- */

static void app_stop_reactors(void *ctx)
{
	BRISK_INFOLOG("stopping reactors\n");
	brisk_reactors_stop();
}

static void app_stop_subsystems(void)
{
	brisk_subsystem_fini(app_stop_reactors, NULL);
}

static void app_stop_rpc(void)
{
	if (g_app.rpc_listening) {
		brisk_rpc_close();
		g_app.rpc_listening = false;
	}
}

static void app_drop_waiters(void)
{
	struct app_init_waiter *w;

	while ((w = STAILQ_FIRST(&g_app.waiters)) != NULL) {
		STAILQ_REMOVE_HEAD(&g_app.waiters, link);
		free(w);
	}
}

static void app_stop_begin(void)
{
	if (g_app.stopping) {
		return;
	}
	g_app.stopping = true;
	if (g_app.start_init_cb != NULL) {
		/* framework_start_init is still waiting: answer before the server closes. */
		g_app.start_init_cb(g_app.rc != 0 ? g_app.rc : -ECANCELED, g_app.start_init_ctx);
		g_app.start_init_cb = NULL;
	}
	app_drop_waiters();
	event_json_config_drop_deferred();
	app_stop_rpc();
	app_stop_subsystems();
}

static void app_stop_msg(void *ctx)
{
	g_app.stop_requested = true;
	if (g_app.step_in_flight) {
		return; /* the step's completion checks stop_requested */
	}
	app_stop_begin();
}

void brisk_app_stop(int rc)
{
	/* seq_cst exchange: exactly one caller, from any thread, sets rc */
	if (__atomic_exchange_n(&g_app_stop_called, true, __ATOMIC_SEQ_CST)) {
		return;
	}
	g_app.rc = rc;
	if (g_app.thread == NULL) {
		brisk_reactors_stop();
		return;
	}
	if (app_on_app_thread()) {
		app_stop_msg(NULL);
	} else if (brisk_thread_send_msg(g_app.thread, app_stop_msg, NULL) != 0) {
		BRISK_ERRLOG("cannot reach the app thread to stop; stopping reactors directly\n");
		brisk_reactors_stop();
	}
}

/* A start-up step failed: log and stop with rc. */
static void app_start_failed(int rc, const char *what)
{
	BRISK_ERRLOG("start-up failed: %s (%s)\n", what, strerror(-rc));
	if (g_app.start_init_cb != NULL) {
		g_app.start_init_cb(rc, g_app.start_init_ctx);
		g_app.start_init_cb = NULL;
	}
	brisk_app_stop(rc);
}

/* After an asynchronous step: true if a stop came in meanwhile (and it now runs). */
static bool app_step_done_check_stop(void)
{
	g_app.step_in_flight = false;
	if (g_app.stop_requested) {
		app_stop_begin();
		return true;
	}
	return false;
}

/* ---- Start-up sequence ---- */

static void app_start_done(void)
{
	struct app_init_waiter *w;

	json_decref(g_app.config);
	g_app.config = NULL;
	g_app.init_done = true;
	BRISK_NOTICELOG("%s: start-up complete\n", g_app.opts.name);
	if (g_app.start_fn != NULL) {
		g_app.start_fn(g_app.start_ctx);
	}
	while ((w = STAILQ_FIRST(&g_app.waiters)) != NULL) {
		STAILQ_REMOVE_HEAD(&g_app.waiters, link);
		w->cb(w->ctx);
		free(w);
	}
}

static void app_start_settled(void *ctx)
{
	if (app_step_done_check_stop()) {
		return;
	}
	app_start_done();
}

static void app_start_runtime_config_done(int rc, const char *errmsg, void *ctx)
{
	if (app_step_done_check_stop()) {
		return;
	}
	if (rc != 0) {
		app_start_failed(rc, "JSON configuration");
		return;
	}
	/* app_start_settle: what the configuration started in the background
	 * (bdev examine loading lvol stores) ends before start-up completes. */
	g_app.step_in_flight = true;
	event_subsystem_settle(app_start_settled, NULL);
}

static int app_rpc_listen(void);

static void app_start_subsystems_done(int rc, void *ctx)
{
	if (g_app.start_init_cb != NULL) {
		g_app.start_init_cb(rc, g_app.start_init_ctx);
		g_app.start_init_cb = NULL;
	}
	if (app_step_done_check_stop()) {
		return;
	}
	if (rc != 0) {
		app_start_failed(rc, "subsystem initialisation");
		return;
	}
	/* app_start_runtime: */
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	rc = app_rpc_listen();
	if (rc != 0) {
		app_start_failed(rc, "RPC server");
		return;
	}
	g_app.step_in_flight = true;
	brisk_json_config_apply_deferred(app_start_runtime_config_done, NULL);
}

static void app_start_subsystems(void)
{
	g_app.init_started = true;
	g_app.step_in_flight = true;
	brisk_subsystem_init(app_start_subsystems_done, NULL);
}

int event_app_start_init(void (*cb)(int rc, void *ctx), void *ctx)
{
	if (g_app.init_started || g_app.stopping || g_app.stop_requested) {
		return -EALREADY;
	}
	g_app.start_init_cb = cb;
	g_app.start_init_ctx = ctx;
	app_start_subsystems();
	return 0;
}

void event_app_when_init_done(brisk_msg_fn cb, void *ctx)
{
	struct app_init_waiter *w;

	if (g_app.init_done) {
		cb(ctx);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		BRISK_ERRLOG("out of memory queueing a framework_wait_init request\n");
		return;
	}
	w->cb = cb;
	w->ctx = ctx;
	STAILQ_INSERT_TAIL(&g_app.waiters, w, link);
}

static void app_start_after_config(void)
{
	if (g_app.opts.wait_for_rpc) {
		BRISK_NOTICELOG("waiting for the framework_start_init RPC on %s\n", g_app.opts.rpc_addr);
		return;
	}
	app_start_subsystems();
}

static void app_start_config_done(int rc, const char *errmsg, void *ctx)
{
	if (app_step_done_check_stop()) {
		return;
	}
	if (rc != 0) {
		app_start_failed(rc, "JSON configuration");
		return;
	}
	app_start_after_config();
}

static void app_start_config(void)
{
	if (g_app.opts.json_config_file == NULL) {
		app_start_after_config();
		return;
	}
	g_app.config = brisk_json_config_read_file(g_app.opts.json_config_file);
	if (g_app.config == NULL) {
		app_start_failed(-EINVAL, "cannot load the JSON configuration file");
		return;
	}
	g_app.step_in_flight = true;
	brisk_json_config_apply(g_app.config, app_start_config_done, NULL);
}

/* The socket's mode and group, from the command line. */
static int app_set_rpc_socket_opts(void)
{
	struct brisk_rpc_opts opts;

	brisk_rpc_get_opts(&opts);
	opts.socket_mode = g_app.opts.rpc_socket_mode;
	opts.socket_gid = g_app.opts.rpc_socket_gid;
	return brisk_rpc_set_opts(&opts);
}

/* Listens on the RPC socket: 0, or the error already logged. */
static int app_rpc_listen(void)
{
	int rc;

	if (g_app.opts.rpc_addr == NULL || g_app.rpc_listening) {
		return 0;
	}
	rc = app_set_rpc_socket_opts();
	if (rc == 0) {
		rc = brisk_rpc_listen(g_app.opts.rpc_addr);
	}
	if (rc != 0) {
		BRISK_ERRLOG("cannot listen for JSON-RPC on %s: %s\n", g_app.opts.rpc_addr, strerror(-rc));
		return rc;
	}
	g_app.rpc_listening = true;
	return 0;
}

/* With --wait-for-rpc the socket opens now, in state STARTUP, for
 * framework_start_init and the start-up methods. Otherwise it opens once the
 * subsystems are up (app_start_subsystems_done), as SPDK's apps do: a client
 * that calls as soon as the socket appears (a script's waitforlisten, then
 * bdev_malloc_create) must never be told the method is for later. */
static void app_start_rpc(void *ctx)
{
	int rc = 0;

	if (g_app.stop_requested) {
		app_stop_begin();
		return;
	}
	brisk_rpc_set_state(BRISK_RPC_STARTUP);
	if (g_app.opts.wait_for_rpc) {
		rc = app_rpc_listen();
	}
	if (rc != 0) {
		app_start_failed(rc, "RPC server");
		return;
	}
	app_start_config();
}

/* ---- Shutdown requests and signals ---- */

static void app_start_shutdown_msg(void *ctx)
{
	if (g_app.opts.shutdown_cb != NULL && g_app.init_done && !g_app.stop_requested) {
		g_app.opts.shutdown_cb();
	} else {
		brisk_app_stop(0);
	}
}

void brisk_app_start_shutdown(void)
{
	if (g_app.thread == NULL) {
		return;
	}
	if (app_on_app_thread()) {
		app_start_shutdown_msg(NULL);
	} else if (brisk_thread_send_msg(g_app.thread, app_start_shutdown_msg, NULL) != 0) {
		brisk_app_stop(0);
	}
}

void brisk_app_exit_now(int status)
{
	if (app_on_app_thread()) {
		app_stop_rpc();
	} else if (g_app.rpc_listening) {
		BRISK_ERRLOG("brisk_app_exit_now called off the app thread: the RPC socket %s is left "
			     "behind\n", g_app.opts.rpc_addr);
	}
	BRISK_NOTICELOG("%s: exiting at once with status %d, without the clean stop\n",
			g_app.opts.name != NULL ? g_app.opts.name : "brisk", status);
	fflush(stdout);
	fflush(stderr);
	_exit(status);
}

static void app_signal_msg(void *ctx)
{
	BRISK_NOTICELOG("%s: shutting down on signal\n", g_app.opts.name);
	app_start_shutdown_msg(NULL);
}

/* A second signal this soon after the first is the same request delivered
 * twice (a wrapper such as timeout(1) forwards it to the process and to its
 * group, systemd signals the whole cgroup), not a user who insists. */
#define APP_SIGNAL_REPEAT_NS (1000ull * 1000 * 1000)

static uint64_t app_signal_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Async-signal-safe: clock_gettime, the critical message slot and _exit. */
static void app_signal_handler(int sig)
{
	static uint64_t first_ns;

	if (g_signal_count++ > 0) {
		if (app_signal_now_ns() - first_ns >= APP_SIGNAL_REPEAT_NS) {
			_exit(1); /* a later signal: the user insists */
		}
		return;
	}
	first_ns = app_signal_now_ns();
	if (brisk_thread_send_critical_msg(g_app.thread, app_signal_msg) != 0) {
		_exit(1);
	}
}

static int app_install_signals(void)
{
	struct sigaction sa;

	if (g_app.opts.no_signal_handlers) {
		return 0;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = app_signal_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, &g_old_sigint) != 0 || sigaction(SIGTERM, &sa, &g_old_sigterm) != 0) {
		BRISK_ERRLOG("cannot install signal handlers: %s\n", strerror(errno));
		return -errno;
	}
	signal(SIGPIPE, SIG_IGN); /* a client that goes away must not kill us */
	return 0;
}

static void app_restore_signals(void)
{
	if (g_app.opts.no_signal_handlers) {
		return;
	}
	sigaction(SIGINT, &g_old_sigint, NULL);
	sigaction(SIGTERM, &g_old_sigterm, NULL);
}

/* ---- brisk_app_start ---- */

static int app_setup_logging(const struct brisk_app_opts *opts)
{
	brisk_log_set_print_level(opts->print_level);
	for (uint32_t i = 0; i < opts->num_log_flags; i++) {
		if (brisk_log_set_flag(opts->log_flags[i]) != 0) {
			BRISK_ERRLOG("-L: there is no log flag '%s'\n", opts->log_flags[i]);
			return -EINVAL;
		}
	}
	if (opts->num_log_flags > 0 && opts->print_level < BRISK_LOG_DEBUG) {
		/* A debug flag is useless unless debug lines are printed. */
		brisk_log_set_print_level(BRISK_LOG_DEBUG);
	}
	return 0;
}

static void app_log_startup(void)
{
	char mask[BRISK_CPUSET_STR_MAX];

	brisk_cpuset_fmt(brisk_env_get_cpuset(), mask, sizeof(mask));
	BRISK_NOTICELOG("%s: %u reactor(s) on cores 0x%s (main core %u)%s; memory %" PRIu64 " MB of %s "
			"(page %" PRIu64 " KiB)%s; RPC socket %s\n",
			g_app.opts.name, brisk_env_get_core_count(), mask, brisk_env_get_main_core(),
			g_app.opts.poll_mode ? ", poll mode" : "",
			g_app.opts.mem_size_mb ? g_app.opts.mem_size_mb : (uint64_t)BRISK_ENV_DEFAULT_MEM_MB,
			brisk_env_using_hugepages() ? "hugepages" : "ordinary pages",
			brisk_env_get_page_size() / 1024,
			g_app.opts.shm_id >= 0 ? ", shared" : "",
			g_app.opts.rpc_addr != NULL ? g_app.opts.rpc_addr : "(none)");
}

static int app_init_env(void)
{
	struct brisk_env_opts env;

	brisk_env_opts_init(&env);
	env.name = g_app.opts.name;
	env.core_mask = g_app.opts.reactor_mask;
	env.mem_size_mb = g_app.opts.mem_size_mb;
	env.no_huge = g_app.opts.no_huge;
	env.hugepage_dir = g_app.opts.hugedir;
	env.shm_id = g_app.opts.shm_id;
	return brisk_env_init(&env);
}

static int app_create_thread(void)
{
	struct brisk_cpuset main_core;

	brisk_cpuset_zero(&main_core);
	brisk_cpuset_set_cpu(&main_core, brisk_env_get_main_core(), true);
	g_app.thread = brisk_thread_create("app_thread", &main_core);
	if (g_app.thread == NULL) {
		int rc = errno != 0 ? -errno : -ENOMEM;

		BRISK_ERRLOG("cannot create the app thread: %s\n", strerror(-rc));
		return rc;
	}
	return 0;
}

int brisk_app_start(const struct brisk_app_opts *opts, brisk_app_start_fn start_fn, void *ctx)
{
	int rc;

	if (opts == NULL) {
		BRISK_ERRLOG("brisk_app_start: opts is NULL\n");
		return -EINVAL;
	}
	if (g_app_started_once) {
		BRISK_ERRLOG("brisk_app_start: the app can start once per process\n");
		return -EALREADY;
	}
	g_app_started_once = true;
	memset(&g_app, 0, sizeof(g_app));
	STAILQ_INIT(&g_app.waiters);
	g_app.opts = *opts;
	if (g_app.opts.name == NULL) {
		g_app.opts.name = "brisk";
	}
	g_app.start_fn = start_fn;
	g_app.start_ctx = ctx;

	rc = app_setup_logging(&g_app.opts);
	if (rc != 0) {
		return rc;
	}
	rc = app_init_env();
	if (rc != 0) {
		BRISK_ERRLOG("%s: environment init failed: %s\n", g_app.opts.name, strerror(-rc));
		return rc;
	}
	rc = brisk_reactors_init(g_app.opts.poll_mode);
	if (rc != 0) {
		brisk_env_fini();
		return rc;
	}
	rc = brisk_reactors_set_adaptive_spin(g_app.opts.adaptive_spin_us);
	if (rc != 0) {
		brisk_reactors_fini();
		brisk_env_fini();
		return rc;
	}
	rc = app_create_thread();
	if (rc == 0) {
		rc = brisk_thread_send_msg(g_app.thread, app_start_rpc, NULL);
	}
	if (rc == 0) {
		rc = app_install_signals();
	}
	if (rc != 0) {
		/* The reactors run just long enough to exit the app thread, if any. */
		__atomic_store_n(&g_app_stop_called, true, __ATOMIC_SEQ_CST);
		g_app.rc = rc;
		brisk_reactors_stop();
	} else {
		app_log_startup();
	}

	rc = brisk_reactors_start();
	app_restore_signals();
	brisk_reactors_fini();
	brisk_env_fini();
	json_decref(g_app.config);
	g_app.config = NULL;
	g_app.thread = NULL;
	if (rc != 0 && g_app.rc == 0) {
		g_app.rc = rc;
	}
	BRISK_INFOLOG("%s: stopped (rc %d)\n", g_app.opts.name, g_app.rc);
	return g_app.rc;
}
