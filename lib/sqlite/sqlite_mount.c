/*
 * The blobfs under the brisk VFS: one per process, started on first use
 * (brisk_blobfs_embed_start: env, one reactor thread, the JSON config that
 * creates the bdev, a blobfs made on a bdev that holds none) and stopped at
 * exit. Where it lives comes from the first database's URI parameters
 * brisk_config= / brisk_bdev=, else BRISK_SQLITE_CONFIG / BRISK_SQLITE_BDEV.
 *
 * A blobstore has one owner: two processes writing one would corrupt it.
 * The mount takes an exclusive flock on the backing file of every aio bdev
 * the config creates (and on the config itself), so a second process gets a
 * clear error instead.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>

#include "brisk/log.h"
#include "sqlite_internal.h"

static pthread_mutex_t g_mount_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct brisk_blobfs *g_fs;
static bool g_stopped;
static char g_config[PATH_MAX];
static char g_bdev[BRISK_BLOBFS_NAME_MAX + 1];
static pthread_key_t g_ctx_key;
static __thread struct brisk_blobfs_sync_ctx *t_ctx;

void brisk_sqlite_log_error(int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Both: SQLite's log for the application, stderr for a person. */
	sqlite3_log(rc, "brisk VFS: %s", msg);
	BRISK_ERRLOG("brisk VFS: %s\n", msg);
}

static bool env_flag(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && strcmp(v, "") != 0 && strcmp(v, "0") != 0;
}

/* Exclusive, non-blocking flock held for the process's life; 0 or -EBUSY. */
static int lock_path(const char *path, const char *what)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		return 0; /* the config's own loading reports a missing file */
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		brisk_sqlite_log_error(SQLITE_CANTOPEN, "%s %s is in use by another process: "
				       "one process owns a Brisk blobstore", what, path);
		return -EBUSY;
	}
	return 0; /* fd stays open: the lock lasts until exit */
}

/* Locks the backing file of each bdev_aio_create in the config. */
static int lock_config_files(const char *config)
{
	json_t *root = json_load_file(config, 0, NULL);
	json_t *subs = json_object_get(root, "subsystems"), *sub, *cfg, *ent;
	size_t i, j;
	int rc = lock_path(config, "config");

	json_array_foreach(subs, i, sub) {
		cfg = json_object_get(sub, "config");
		json_array_foreach(cfg, j, ent) {
			const char *method = json_string_value(json_object_get(ent, "method"));
			json_t *params = json_object_get(ent, "params");
			const char *file = json_string_value(json_object_get(params, "filename"));

			if (rc == 0 && method && strcmp(method, "bdev_aio_create") == 0 && file) {
				rc = lock_path(file, "aio file");
			}
		}
	}
	json_decref(root);
	return rc;
}

static void mount_stop(void)
{
	pthread_mutex_lock(&g_mount_mutex);
	if (g_fs != NULL) {
		brisk_blobfs_embed_stop();
		g_fs = NULL;
		g_stopped = true;
	}
	pthread_mutex_unlock(&g_mount_mutex);
}

static void ctx_destroy(void *ctx)
{
	pthread_mutex_lock(&g_mount_mutex);
	if (g_fs != NULL) {
		brisk_blobfs_sync_ctx_free(ctx);
	}
	pthread_mutex_unlock(&g_mount_mutex);
}

static uint64_t env_u64(const char *name)
{
	const char *v = getenv(name);

	return v ? strtoull(v, NULL, 0) : 0;
}

/* Caller holds g_mount_mutex. */
static int mount_start(const char *config, const char *bdev)
{
	struct brisk_blobfs_embed_opts opts;
	int rc;

	if (config && strlen(config) >= sizeof(g_config)) {
		brisk_sqlite_log_error(SQLITE_CANTOPEN, "brisk_config is too long");
		return -ENAMETOOLONG;
	}
	if (strlen(bdev) >= sizeof(g_bdev)) {
		brisk_sqlite_log_error(SQLITE_CANTOPEN, "brisk_bdev is too long");
		return -ENAMETOOLONG;
	}
	if (config && (rc = lock_config_files(config)) != 0) {
		return rc;
	}
	brisk_blobfs_embed_opts_init(&opts);
	opts.config_path = config;
	opts.bdev_name = bdev;
	opts.create_if_missing = true;
	opts.mem_size_mb = env_u64("BRISK_SQLITE_MEM_MB");
	opts.cache_size = env_u64("BRISK_SQLITE_CACHE_MB") << 20;
	opts.verbose = env_flag("BRISK_SQLITE_VERBOSE");
	rc = brisk_blobfs_embed_start(&opts, &g_fs);
	if (rc != 0) {
		brisk_sqlite_log_error(SQLITE_CANTOPEN, "cannot start blobfs on bdev %s (config %s): %s",
				       bdev, config ? config : "none", strerror(-rc));
		g_fs = NULL;
		return rc;
	}
	snprintf(g_config, sizeof(g_config), "%s", config ? config : "");
	snprintf(g_bdev, sizeof(g_bdev), "%s", bdev);
	pthread_key_create(&g_ctx_key, ctx_destroy);
	atexit(mount_stop);
	return 0;
}

/* Caller holds g_mount_mutex: is (config, bdev) the store already mounted? */
static int mount_check_same(const char *config, const char *bdev)
{
	if (strcmp(bdev, g_bdev) != 0 || (config && strcmp(config, g_config) != 0)) {
		brisk_sqlite_log_error(SQLITE_CANTOPEN, "this process already uses bdev %s (config %s); "
				       "one Brisk blobfs per process", g_bdev, g_config);
		return -EBUSY;
	}
	return 0;
}

int brisk_sqlite_mount(const char *config, const char *bdev)
{
	int rc;

	if (bdev == NULL) {
		bdev = getenv("BRISK_SQLITE_BDEV");
		config = config ? config : getenv("BRISK_SQLITE_CONFIG");
	}
	pthread_mutex_lock(&g_mount_mutex);
	if (g_fs != NULL) {
		rc = bdev ? mount_check_same(config, bdev) : 0;
	} else if (g_stopped) {
		rc = -ESHUTDOWN;
	} else if (bdev == NULL || bdev[0] == '\0') {
		brisk_sqlite_log_error(SQLITE_CANTOPEN, "no bdev: set BRISK_SQLITE_BDEV (and "
				       "BRISK_SQLITE_CONFIG) or the URI parameter brisk_bdev=");
		rc = -EINVAL;
	} else {
		rc = mount_start(config, bdev);
	}
	pthread_mutex_unlock(&g_mount_mutex);
	return rc;
}

bool brisk_sqlite_mounted(void)
{
	return __atomic_load_n(&g_fs, __ATOMIC_ACQUIRE) != NULL;
}

struct brisk_blobfs_sync_ctx *brisk_sqlite_ctx(void)
{
	if (!brisk_sqlite_mounted()) {
		return NULL; /* stopped at exit: a context would be stale */
	}
	if (t_ctx != NULL) {
		return t_ctx;
	}
	pthread_mutex_lock(&g_mount_mutex);
	if (g_fs != NULL) {
		t_ctx = brisk_blobfs_sync_ctx_alloc(g_fs);
		if (t_ctx != NULL) {
			pthread_setspecific(g_ctx_key, t_ctx);
		}
	}
	pthread_mutex_unlock(&g_mount_mutex);
	return t_ctx;
}
