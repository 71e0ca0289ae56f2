/*
 * The file system as a whole: options, init and load (a scan of every blob
 * that rebuilds the namespace and finishes interrupted deletes and renames),
 * unload, and the in-memory namespace (stat, iterate).
 *
 * load: load_store -> scan (iter_first/next, one node per live file) ->
 *       reap (delete blobs marked deleted or replaced by a newer name) ->
 *       channel + cache -> done.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/blob_bdev.h>
#include <brisk/log.h>

#include "blobfs_internal.h"

static uint64_t g_cache_size = BRISK_BLOBFS_DEFAULT_CACHE_SIZE;

void brisk_blobfs_opts_init(struct brisk_blobfs_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
}

int brisk_blobfs_set_cache_size(uint64_t bytes)
{
	if (bytes < (uint64_t)BLOBFS_MIN_BUFS * BRISK_BLOBFS_CACHE_BUFFER_SIZE) {
		BRISK_ERRLOG("blobfs: cache_size %lu is below the minimum %u bytes\n",
			     (unsigned long)bytes, BLOBFS_MIN_BUFS * BRISK_BLOBFS_CACHE_BUFFER_SIZE);
		return -EINVAL;
	}
	__atomic_store_n(&g_cache_size, bytes, __ATOMIC_RELAXED); /* a plain setting */
	return 0;
}

uint64_t brisk_blobfs_get_cache_size(void)
{
	return __atomic_load_n(&g_cache_size, __ATOMIC_RELAXED);
}

int blobfs_name_check(const char *name)
{
	size_t len;

	if (name == NULL) {
		BRISK_ERRLOG("blobfs: file name missing\n");
		return -EINVAL;
	}
	len = strlen(name);
	if (len == 0 || len > BRISK_BLOBFS_NAME_MAX || strchr(name, '/') != NULL) {
		BRISK_ERRLOG("blobfs: bad file name '%.64s' (1..%d bytes, no '/')\n", name,
			     BRISK_BLOBFS_NAME_MAX);
		return -EINVAL;
	}
	return 0;
}

struct blobfs_node *blobfs_node_find(struct brisk_blobfs *fs, const char *name)
{
	struct blobfs_node *n;

	TAILQ_FOREACH(n, &fs->nodes, link) {
		if (n->name != NULL && strcmp(n->name, name) == 0) {
			return n;
		}
	}
	return NULL;
}

struct blobfs_node *blobfs_node_find_other(struct brisk_blobfs *fs, const char *name,
					   struct blobfs_node *self)
{
	struct blobfs_node *n;

	TAILQ_FOREACH(n, &fs->nodes, link) {
		if (n != self && n->name != NULL && strcmp(n->name, name) == 0) {
			return n;
		}
	}
	return NULL;
}

void blobfs_node_forget(struct blobfs_node *node)
{
	struct blobfs_buf *b;

	while ((b = TAILQ_FIRST(&node->bufs)) != NULL) {
		blobfs_buf_drop(b);
	}
	blobfs_node_free(node);
}

struct blobfs_node *blobfs_node_new(struct brisk_blobfs *fs, brisk_blob_id id)
{
	struct blobfs_node *n = calloc(1, sizeof(*n));

	if (n == NULL) {
		return NULL;
	}
	n->fs = fs;
	n->id = id;
	TAILQ_INIT(&n->ops);
	TAILQ_INIT(&n->bufs);
	TAILQ_INSERT_TAIL(&fs->nodes, n, link);
	return n;
}

void blobfs_node_free(struct blobfs_node *node)
{
	TAILQ_REMOVE(&node->fs->nodes, node, link);
	free(node->name);
	free(node);
}

static void fill_stat(struct blobfs_node *n, struct brisk_blobfs_stat *st)
{
	uint64_t csz = n->fs->cluster_size;

	st->blobid = n->id;
	st->size = n->size;
	st->allocated = n->blob != NULL ?
			brisk_blob_get_num_allocated_clusters(n->blob) * csz :
			(n->size + csz - 1) / csz * csz;
}

int brisk_blobfs_stat(struct brisk_blobfs *fs, const char *name, struct brisk_blobfs_stat *stat)
{
	struct blobfs_node *n;
	int rc = blobfs_name_check(name);

	if (rc != 0 || fs == NULL || stat == NULL) {
		return -EINVAL;
	}
	n = blobfs_node_find(fs, name);
	if (n == NULL) {
		return -ENOENT;
	}
	fill_stat(n, stat);
	return 0;
}

int brisk_blobfs_iterate(struct brisk_blobfs *fs,
			 int (*fn)(void *ctx, const char *name, const struct brisk_blobfs_stat *stat),
			 void *ctx)
{
	struct blobfs_node *n;
	struct brisk_blobfs_stat st;
	int rc;

	if (fs == NULL || fn == NULL) {
		return -EINVAL;
	}
	TAILQ_FOREACH(n, &fs->nodes, link) {
		if (n->name == NULL) {
			continue;
		}
		fill_stat(n, &st);
		rc = fn(ctx, n->name, &st);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

struct brisk_thread *brisk_blobfs_get_thread(struct brisk_blobfs *fs)
{
	return fs->thread;
}

struct brisk_blob_store *brisk_blobfs_get_bs(struct brisk_blobfs *fs)
{
	return fs->bs;
}

uint64_t brisk_blobfs_file_get_size(struct brisk_blobfs_file *file)
{
	return file->node->size;
}

const char *brisk_blobfs_file_get_name(struct brisk_blobfs_file *file)
{
	return file->node->name;
}

struct check_ctx {
	brisk_blobfs_op_complete cb;
	void *cb_arg;
	int rc;
};

static void check_done(void *arg, int rc)
{
	struct check_ctx *c = arg;

	c->cb(c->cb_arg, rc != 0 ? rc : c->rc);
	free(c);
}

static void check_busy(void *arg)
{
	check_done(arg, -EBUSY);
}

void brisk_blobfs_check(struct brisk_blobfs *fs, void (*report)(void *ctx, const char *problem),
			void *report_ctx, brisk_blobfs_op_complete cb_fn, void *cb_arg)
{
	struct check_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || fs == NULL || cb_fn == NULL || report == NULL) {
		BRISK_ERRLOG("blobfs check: NULL argument or out of memory\n");
		free(c);
		return;
	}
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	if (fs->open_files != 0 || fs->ns_running) {
		BRISK_ERRLOG("blobfs check: %u file(s) open\n", fs->open_files);
		blobfs_defer(check_busy, c);
		return;
	}
	brisk_bs_check(fs->bs, report, report_ctx, check_done, c);
}
