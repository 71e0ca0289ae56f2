/*
 * Blobfs inside a program that knows nothing of Brisk (the SQLite VFS):
 * the env, one OS thread running one brisk_thread, the bdev layer, the bdevs
 * of a JSON config, and the file system, with no app framework.
 *
 * start (caller):  env (hugepages, else ordinary memory) -> thread lib ->
 *                  brisk_thread + OS thread -> wait
 * start (thread):  bdev_initialize -> config calls one by one
 *                  (brisk_rpc_call_local) -> load blobfs (init one when the
 *                  bdev has no store and create_if_missing) -> post
 * stop (thread):   close open files -> unload -> bdev_finish -> post
 * stop (caller):   thread exits -> join -> thread lib, env down
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <brisk/bdev.h>
#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/rpc.h>
#include <brisk/ticks.h>

#include "blobfs_internal.h"

/* Keep polling this long after the last work before sleeping in epoll: a
 * sync-API caller usually sends its next request within it. */
#define EMBED_SPIN_US 200
/* Longest sleep while a poller is active. The embedded thread shares the
 * application's cores, so it sleeps even then: the aio bdev's active poller
 * (the one a store of this kind normally has) is backed by an eventfd that
 * the wake fd watches, and spinning on it while a flush is in the kernel
 * starved the kernel's completion work on a loaded machine (issue 16: a
 * WAL commit took 12-20 ms, completions landing on scheduler ticks). The
 * bound keeps a poller with no fd (an aio retry queue) moving. */
#define EMBED_ACTIVE_SLEEP_MS 1

struct embed {
	struct brisk_blobfs_embed_opts opts;
	struct brisk_thread *thread;
	pthread_t os_thread;
	sem_t done;
	int rc;
	bool env_ours;
	bool threads_ours;  /* we initialised the thread library */
	bool stop;          /* set by the caller after the stop sequence */
	json_t *config;
	json_t *calls;      /* the bdev subsystem's config array (borrowed) */
	size_t next_call;
	struct brisk_blobfs *fs;
};

static struct embed *g_embed;

void brisk_blobfs_embed_opts_init(struct brisk_blobfs_embed_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->create_if_missing = true;
}

/* ---- the OS thread ---- */

/* How long the thread may sleep: -1 (until woken), 0 (not at all: a timed
 * poller is due), else milliseconds. */
static int sleep_timeout_ms(struct brisk_thread *t)
{
	uint64_t expire = brisk_thread_next_poller_expiration(t), now = brisk_get_ticks();
	int timeout = brisk_thread_has_active_pollers(t) ? EMBED_ACTIVE_SLEEP_MS : -1;
	int timer;

	if (expire == 0) {
		return timeout;
	}
	timer = (int)(expire > now ? brisk_ticks_to_us(expire - now, brisk_get_ticks_hz()) / 1000 : 0);
	return timeout < 0 || timer < timeout ? timer : timeout;
}

static void sleep_until_work(struct brisk_thread *t)
{
	struct pollfd pfd = { .fd = brisk_thread_get_wake_fd(t), .events = POLLIN };
	int timeout = sleep_timeout_ms(t);

	if (timeout == 0) {
		return;
	}
	if (!brisk_thread_prepare_sleep(t)) {
		brisk_thread_end_sleep(t);
		return;
	}
	poll(&pfd, 1, timeout);
	brisk_thread_end_sleep(t);
}

static void *embed_main(void *arg)
{
	struct embed *e = arg;
	uint64_t spin = brisk_us_to_ticks(EMBED_SPIN_US, brisk_get_ticks_hz());
	uint64_t last_work = brisk_get_ticks();

	for (;;) {
		if (brisk_thread_is_exited(e->thread)) {
			/* the stop sequence ended: wait for the caller's word */
			if (__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
				break;
			}
			usleep(50);
			continue;
		}
		if (brisk_thread_poll(e->thread, 0, 0) > 0) {
			last_work = brisk_get_ticks();
		} else if (brisk_get_ticks() - last_work > spin) {
			sleep_until_work(e->thread);
			last_work = brisk_get_ticks();
		}
	}
	return NULL;
}

/* ---- start, on the brisk_thread ---- */

static void start_done(struct embed *e, int rc)
{
	e->rc = rc;
	sem_post(&e->done);
}

static void fs_ready(void *arg, struct brisk_blobfs *fs, int rc);

static void fs_loaded(void *arg, struct brisk_blobfs *fs, int rc)
{
	struct embed *e = arg;
	struct brisk_blobfs_opts o;

	if (rc == -EILSEQ && e->opts.create_if_missing) {
		BRISK_NOTICELOG("blobfs: no blobstore on bdev '%s', creating a blobfs\n",
				e->opts.bdev_name);
		brisk_blobfs_opts_init(&o);
		o.cache_size = e->opts.cache_size;
		brisk_blobfs_init_bdev(e->opts.bdev_name, &o, fs_ready, e);
		return;
	}
	fs_ready(e, fs, rc);
}

static void fs_ready(void *arg, struct brisk_blobfs *fs, int rc)
{
	struct embed *e = arg;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: cannot load a blobfs on bdev '%s': %d\n", e->opts.bdev_name, rc);
	}
	e->fs = fs;
	start_done(e, rc);
}

static void load_fs(struct embed *e)
{
	struct brisk_blobfs_opts o;

	brisk_blobfs_opts_init(&o);
	o.cache_size = e->opts.cache_size;
	if (e->opts.format) {
		brisk_blobfs_init_bdev(e->opts.bdev_name, &o, fs_ready, e);
		return;
	}
	brisk_blobfs_load_bdev(e->opts.bdev_name, &o, fs_loaded, e);
}

static void next_call(struct embed *e);

static void call_done(void *ctx, int code, const char *msg, const json_t *result)
{
	struct embed *e = ctx;

	(void)result;
	if (code != 0) {
		BRISK_ERRLOG("blobfs: config call %zu failed: %s\n", e->next_call - 1, msg ? msg : "");
		start_done(e, -EINVAL);
		return;
	}
	next_call(e);
}

static void next_call(struct embed *e)
{
	json_t *call, *method;
	int rc;

	if (e->calls == NULL || e->next_call >= json_array_size(e->calls)) {
		load_fs(e);
		return;
	}
	call = json_array_get(e->calls, e->next_call++);
	method = json_object_get(call, "method");
	if (!json_is_string(method)) {
		BRISK_ERRLOG("blobfs: config: entry %zu has no \"method\" string\n", e->next_call - 1);
		start_done(e, -EINVAL);
		return;
	}
	rc = brisk_rpc_call_local(json_string_value(method), json_object_get(call, "params"),
				  call_done, e);
	if (rc != 0) {
		BRISK_ERRLOG("blobfs: config: method '%s' cannot run: %d\n",
			     json_string_value(method), rc);
		start_done(e, rc);
	}
}

static void bdev_ready(void *arg, int rc)
{
	struct embed *e = arg;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: bdev layer init failed: %d\n", rc);
		start_done(e, rc);
		return;
	}
	brisk_rpc_set_state(BRISK_RPC_RUNTIME);
	next_call(e);
}

static void start_msg(void *arg)
{
	brisk_bdev_initialize(bdev_ready, arg);
}

/* ---- stop, on the brisk_thread ---- */

static void bdev_finished(void *arg)
{
	struct embed *e = arg;

	brisk_thread_exit(e->thread);
	sem_post(&e->done);
}

static void unloaded(void *arg, int rc)
{
	struct embed *e = arg;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: unload failed: %d\n", rc);
	}
	e->rc = rc;
	e->fs = NULL;
	brisk_bdev_finish(bdev_finished, e);
}

static void close_next(void *arg, int rc)
{
	struct embed *e = arg;
	struct brisk_blobfs_file *f;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: closing a file at stop failed: %d\n", rc);
	}
	if (e->fs == NULL) {
		brisk_bdev_finish(bdev_finished, e);
		return;
	}
	f = TAILQ_FIRST(&e->fs->files);
	if (f != NULL) {
		brisk_blobfs_file_close(f, close_next, e);
		return;
	}
	brisk_blobfs_unload(e->fs, unloaded, e);
}

static void stop_msg(void *arg)
{
	close_next(arg, 0);
}

/* ---- the caller's side ---- */

static int read_config(struct embed *e)
{
	json_error_t err;
	json_t *subs;
	size_t i;

	if (e->opts.config_path == NULL) {
		return 0;
	}
	e->config = json_load_file(e->opts.config_path, 0, &err);
	if (e->config == NULL) {
		BRISK_ERRLOG("blobfs: config '%s' line %d: %s\n", e->opts.config_path, err.line,
			     err.text);
		return -EINVAL;
	}
	subs = json_object_get(e->config, "subsystems");
	if (!json_is_array(subs)) {
		BRISK_ERRLOG("blobfs: config '%s': no \"subsystems\" array\n", e->opts.config_path);
		return -EINVAL;
	}
	for (i = 0; i < json_array_size(subs); i++) {
		json_t *s = json_array_get(subs, i);
		json_t *name = json_object_get(s, "subsystem");

		if (json_is_string(name) && strcmp(json_string_value(name), "bdev") == 0) {
			e->calls = json_object_get(s, "config");
			if (e->calls != NULL && !json_is_array(e->calls)) {
				BRISK_ERRLOG("blobfs: config: bdev \"config\" is not an array\n");
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int env_up(struct embed *e)
{
	struct brisk_env_opts o;
	int rc;

	if (brisk_env_is_initialized()) {
		return 0;
	}
	brisk_env_opts_init(&o);
	o.name = "brisk_blobfs";
	o.mem_size_mb = e->opts.mem_size_mb != 0 ? e->opts.mem_size_mb : 256;
	rc = brisk_env_init(&o);
	if (rc != 0) {
		/* No hugepages (or too few): ordinary memory serves a library. */
		o.no_huge = true;
		rc = brisk_env_init(&o);
	}
	e->env_ours = rc == 0;
	return rc;
}

static void embed_free(struct embed *e)
{
	if (e->config != NULL) {
		json_decref(e->config);
	}
	sem_destroy(&e->done);
	free(e);
}

static int threads_up(struct embed *e)
{
	int rc = brisk_thread_lib_init(NULL, 0);

	if (rc != 0 && rc != -EALREADY) {
		return rc;
	}
	e->threads_ours = rc == 0;
	e->thread = brisk_thread_create("blobfs", NULL);
	if (e->thread == NULL) {
		return -ENOMEM;
	}
	rc = pthread_create(&e->os_thread, NULL, embed_main, e);
	return -rc;
}

static void teardown(struct embed *e, bool joined)
{
	if (!joined && e->thread != NULL) {
		/* the OS thread never ran: nothing else owns the thread */
		brisk_thread_exit(e->thread);
		while (!brisk_thread_is_exited(e->thread)) {
			brisk_thread_poll(e->thread, 0, 0);
		}
	}
	if (e->thread != NULL) {
		brisk_thread_destroy(e->thread);
	}
	if (e->threads_ours) {
		brisk_thread_lib_fini();
	}
	if (e->env_ours) {
		brisk_env_fini();
	}
	embed_free(e);
}

static int start_fail(struct embed *e, int rc, bool running)
{
	if (running) {
		/* stop what the start built: bdev layer and thread */
		brisk_thread_send_msg(e->thread, stop_msg, e);
		while (sem_wait(&e->done) != 0) {
		}
		__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
		pthread_join(e->os_thread, NULL);
	}
	teardown(e, running);
	return rc;
}

int brisk_blobfs_embed_start(const struct brisk_blobfs_embed_opts *opts, struct brisk_blobfs **fs)
{
	struct embed *e;
	int rc;

	if (opts == NULL || fs == NULL || opts->bdev_name == NULL) {
		BRISK_ERRLOG("blobfs embed: bdev_name is required\n");
		return -EINVAL;
	}
	if (g_embed != NULL) {
		return -EALREADY;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL || sem_init(&e->done, 0, 0) != 0) {
		free(e);
		return -ENOMEM;
	}
	e->opts = *opts;
	if (!opts->verbose) {
		brisk_log_set_print_level(BRISK_LOG_ERROR);
	}
	rc = read_config(e);
	if (rc == 0) {
		rc = env_up(e);
	}
	if (rc != 0) {
		embed_free(e);
		return rc;
	}
	rc = threads_up(e);
	if (rc != 0) {
		return start_fail(e, rc, false);
	}
	if (brisk_thread_send_msg(e->thread, start_msg, e) != 0) {
		return start_fail(e, -ENOMEM, true);
	}
	while (sem_wait(&e->done) != 0) {
	}
	if (e->rc != 0) {
		return start_fail(e, e->rc, true);
	}
	g_embed = e;
	*fs = e->fs;
	return 0;
}

int brisk_blobfs_embed_stop(void)
{
	struct embed *e = g_embed;
	int rc;

	if (e == NULL) {
		return -EINVAL;
	}
	g_embed = NULL;
	e->rc = 0;
	if (brisk_thread_send_msg(e->thread, stop_msg, e) != 0) {
		return -ENOMEM;
	}
	while (sem_wait(&e->done) != 0) {
	}
	rc = e->rc;
	__atomic_store_n(&e->stop, true, __ATOMIC_RELEASE);
	pthread_join(e->os_thread, NULL);
	teardown(e, true);
	return rc;
}
