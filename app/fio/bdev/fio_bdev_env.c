/*
 * The Brisk app framework inside fio's process, for the brisk_bdev engine.
 *
 * fio calls the engine from its own threads and never gives it a main loop,
 * so brisk_app_start runs on an OS thread of ours (it becomes the main
 * core's reactor) and fio's threads talk to the framework by message:
 *   env_start           first job's setup: start the thread, wait for start-up
 *   env_app_started     on the app thread: JSON config applied, examine done
 *   env_stop            engine unload: brisk_app_stop, join the thread
 * The framework starts once per process (brisk_app_start allows no second
 * run), so every job shares the first job's configuration.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bdev.h>
#include <brisk/event.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "fio_bdev.h"

static struct {
	pthread_mutex_t lock;
	bool tried;               /* env_start ran once: rc holds its result */
	int rc;
	bool running;             /* the app thread is up and must be stopped */
	pthread_t os_thread;
	sem_t started;            /* posted once: start-up done or failed */
	struct brisk_app_opts app;
	struct brisk_fio_env_opts opts;
	char *strings[3];         /* our copies of the option strings */
	char *log_flag_buf;
} g_env = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void env_examine_done(void *ctx)
{
	g_env.rc = 0;
	sem_post(&g_env.started);
}

/* start_fn of brisk_app_start, on the app thread. Stacked bdevs (lvols on a
 * store found on the base bdev) appear by examine: wait for it. */
static void env_app_started(void *ctx)
{
	int rc = brisk_bdev_wait_for_examine(env_examine_done, NULL);

	if (rc != 0) {
		env_examine_done(NULL);
	}
}

static void *env_app_main(void *arg)
{
	int rc = brisk_app_start(&g_env.app, env_app_started, NULL);

	if (rc != 0 || g_env.rc != 0) {
		/* start-up failed before env_app_started: brisk_app_start is back */
		g_env.rc = rc != 0 ? rc : -EIO;
		sem_post(&g_env.started);
	}
	return NULL;
}

static char *env_strdup(int i, const char *s)
{
	g_env.strings[i] = s != NULL ? strdup(s) : NULL;
	return g_env.strings[i];
}

static int env_parse_log_flags(const char *flags)
{
	char *save = NULL, *tok;

	if (flags == NULL) {
		return 0;
	}
	g_env.log_flag_buf = strdup(flags);
	if (g_env.log_flag_buf == NULL) {
		return -ENOMEM;
	}
	for (tok = strtok_r(g_env.log_flag_buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
		if (g_env.app.num_log_flags == BRISK_APP_MAX_LOG_FLAGS) {
			BRISK_ERRLOG("log_flags: more than %d flags\n", BRISK_APP_MAX_LOG_FLAGS);
			return -EINVAL;
		}
		g_env.app.log_flags[g_env.app.num_log_flags++] = tok;
	}
	return 0;
}

static int env_fill_app_opts(const struct brisk_fio_env_opts *opts)
{
	g_env.opts = *opts;
	g_env.opts.json_conf = env_strdup(0, opts->json_conf);
	g_env.opts.reactor_mask = env_strdup(1, opts->reactor_mask);
	brisk_app_opts_init(&g_env.app);
	g_env.app.name = "fio";
	g_env.app.rpc_addr = NULL;          /* fio's process offers no RPC socket */
	g_env.app.no_signal_handlers = true; /* fio stops its jobs on SIGINT itself */
	g_env.app.json_config_file = g_env.opts.json_conf;
	if (g_env.opts.reactor_mask != NULL) {
		g_env.app.reactor_mask = g_env.opts.reactor_mask;
	}
	g_env.app.mem_size_mb = opts->mem_size_mb;
	g_env.app.no_huge = opts->no_huge;
	return env_parse_log_flags(opts->log_flags);
}

static bool env_str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return a != b;
	}
	return strcmp(a, b) != 0;
}

/* A later job asking for another env: refused, as it cannot be honoured. */
static int env_check_same(const struct brisk_fio_env_opts *opts)
{
	const char *what = NULL;

	if (env_str_differs(opts->json_conf, g_env.opts.json_conf)) {
		what = "spdk_json_conf";
	} else if (env_str_differs(opts->reactor_mask, g_env.opts.reactor_mask)) {
		what = "reactor_mask";
	} else if (opts->mem_size_mb != g_env.opts.mem_size_mb) {
		what = "spdk_mem";
	} else if (opts->no_huge != g_env.opts.no_huge) {
		what = "no_huge";
	}
	if (what != NULL) {
		BRISK_ERRLOG("brisk_bdev: %s differs between jobs; Brisk starts once per fio process "
			     "with the first job's settings (put them in the [global] section)\n", what);
		return -EINVAL;
	}
	return 0;
}

static int env_start_locked(const struct brisk_fio_env_opts *opts)
{
	int rc;

	g_env.tried = true;
	g_env.rc = -EIO;
	rc = env_fill_app_opts(opts);
	if (rc != 0) {
		return rc;
	}
	sem_init(&g_env.started, 0, 0);
	rc = pthread_create(&g_env.os_thread, NULL, env_app_main, NULL);
	if (rc != 0) {
		BRISK_ERRLOG("brisk_bdev: cannot start the Brisk app thread: %s\n", strerror(rc));
		return -rc;
	}
	g_env.running = true;
	while (sem_wait(&g_env.started) != 0 && errno == EINTR) {
	}
	return g_env.rc;
}

int brisk_fio_env_start(const struct brisk_fio_env_opts *opts)
{
	int rc;

	pthread_mutex_lock(&g_env.lock);
	if (g_env.tried) {
		rc = g_env.rc != 0 ? g_env.rc : env_check_same(opts);
	} else {
		rc = env_start_locked(opts);
		g_env.rc = rc;
	}
	pthread_mutex_unlock(&g_env.lock);
	return rc;
}

void brisk_fio_env_stop(void)
{
	pthread_mutex_lock(&g_env.lock);
	if (g_env.running) {
		brisk_app_stop(0);
		pthread_join(g_env.os_thread, NULL);
		g_env.running = false;
	}
	for (int i = 0; i < 3; i++) {
		free(g_env.strings[i]);
		g_env.strings[i] = NULL;
	}
	free(g_env.log_flag_buf);
	g_env.log_flag_buf = NULL;
	pthread_mutex_unlock(&g_env.lock);
}

/* ---- Looking a bdev up on the app thread ---- */

struct env_lookup {
	const char *name;
	struct brisk_fio_bdev_info *info;
	char *others;
	size_t others_len;
	int rc;
	sem_t done;
};

static void env_list_names(struct env_lookup *l)
{
	size_t used = 0;

	l->others[0] = '\0';
	for (struct brisk_bdev *b = brisk_bdev_first(); b != NULL; b = brisk_bdev_next(b)) {
		int n = snprintf(l->others + used, l->others_len - used, "%s%s", used ? ", " : "",
				 brisk_bdev_get_name(b));
		if (n < 0 || (size_t)n >= l->others_len - used) {
			break;
		}
		used += (size_t)n;
	}
}

static void env_lookup_msg(void *ctx)
{
	struct env_lookup *l = ctx;
	struct brisk_bdev *bdev = brisk_bdev_get_by_name(l->name);

	if (bdev == NULL) {
		env_list_names(l);
		l->rc = -ENODEV;
	} else {
		l->info->block_size = brisk_bdev_get_block_size(bdev);
		l->info->size = brisk_bdev_get_num_blocks(bdev) * l->info->block_size;
		l->info->unmap = brisk_bdev_io_type_supported(bdev, BRISK_BDEV_IO_TYPE_UNMAP);
		l->info->flush = brisk_bdev_io_type_supported(bdev, BRISK_BDEV_IO_TYPE_FLUSH);
		l->rc = 0;
	}
	sem_post(&l->done);
}

int brisk_fio_bdev_info(const char *name, struct brisk_fio_bdev_info *info, char *others,
			size_t others_len)
{
	struct env_lookup l = { .name = name, .info = info, .others = others, .others_len = others_len };
	int rc;

	if (others_len == 0) {
		return -EINVAL;
	}
	sem_init(&l.done, 0, 0);
	rc = brisk_thread_send_msg(brisk_app_get_thread(), env_lookup_msg, &l);
	if (rc == 0) {
		while (sem_wait(&l.done) != 0 && errno == EINTR) {
		}
		rc = l.rc;
	}
	sem_destroy(&l.done);
	return rc;
}
