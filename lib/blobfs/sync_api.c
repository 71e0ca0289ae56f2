/*
 * The synchronous API for application threads. A context belongs to one
 * application thread: a call fills the context's request, sends it to the
 * file system's thread as a message, and sleeps on the context's semaphore
 * until the completion (which runs on the file system's thread) posts it.
 * The file system's thread never blocks, and no lock is held across I/O:
 * each thread waits on its own semaphore only.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blobfs_internal.h"

enum sync_kind {
	SK_CREATE, SK_OPEN, SK_CLOSE, SK_READ, SK_WRITE, SK_TRUNCATE, SK_SYNC, SK_SIZE,
	SK_DELETE, SK_RENAME, SK_STAT, SK_LIST, SK_CHECK, SK_BEGIN, SK_COMMIT, SK_ABORT,
};

struct brisk_blobfs_sync_ctx {
	struct brisk_blobfs *fs;
	sem_t done;
	enum sync_kind kind;
	const char *name, *new_name;
	uint32_t flags;
	struct brisk_blobfs_file *file;
	void *buf;
	uint64_t offset, length;
	struct brisk_blobfs_stat *stat;
	char **names;
	size_t count;
	void (*report)(void *report_ctx, const char *problem);
	void *report_ctx;
	int64_t result;
};

struct brisk_blobfs_sync_ctx *brisk_blobfs_sync_ctx_alloc(struct brisk_blobfs *fs)
{
	struct brisk_blobfs_sync_ctx *c;

	if (fs == NULL) {
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return NULL;
	}
	if (sem_init(&c->done, 0, 0) != 0) {
		free(c);
		return NULL;
	}
	c->fs = fs;
	return c;
}

void brisk_blobfs_sync_ctx_free(struct brisk_blobfs_sync_ctx *ctx)
{
	if (ctx != NULL) {
		sem_destroy(&ctx->done);
		free(ctx);
	}
}

/* Runs on the file system's thread; the post publishes the result (a
 * semaphore post/wait pair orders the writes before it for the waiter). */
static void done_rc(void *arg, int rc)
{
	struct brisk_blobfs_sync_ctx *c = arg;

	c->result = rc;
	sem_post(&c->done);
}

static void done_rw(void *arg, int64_t result)
{
	struct brisk_blobfs_sync_ctx *c = arg;

	c->result = result;
	sem_post(&c->done);
}

static void done_open(void *arg, struct brisk_blobfs_file *file, int rc)
{
	struct brisk_blobfs_sync_ctx *c = arg;

	c->file = file;
	done_rc(c, rc);
}

static int list_one(void *arg, const char *name, const struct brisk_blobfs_stat *st)
{
	struct brisk_blobfs_sync_ctx *c = arg;
	char **n = realloc(c->names, (c->count + 1) * sizeof(*n));

	(void)st;
	if (n == NULL) {
		return -ENOMEM;
	}
	c->names = n;
	n[c->count] = strdup(name);
	if (n[c->count] == NULL) {
		return -ENOMEM;
	}
	c->count++;
	return 0;
}

static void run_in_memory(struct brisk_blobfs_sync_ctx *c)
{
	switch (c->kind) {
	case SK_SIZE:
		c->offset = c->file->node->size;
		done_rc(c, 0);
		break;
	case SK_STAT:
		done_rc(c, brisk_blobfs_stat(c->fs, c->name, c->stat));
		break;
	default:
		c->names = NULL;
		c->count = 0;
		done_rc(c, brisk_blobfs_iterate(c->fs, list_one, c));
		break;
	}
}

static void run_msg(void *arg)
{
	struct brisk_blobfs_sync_ctx *c = arg;

	switch (c->kind) {
	case SK_CREATE: brisk_blobfs_create(c->fs, c->name, done_rc, c); break;
	case SK_OPEN: brisk_blobfs_open(c->fs, c->name, c->flags, done_open, c); break;
	case SK_CLOSE: brisk_blobfs_file_close(c->file, done_rc, c); break;
	case SK_READ: brisk_blobfs_file_read(c->file, c->buf, c->offset, c->length, done_rw, c); break;
	case SK_WRITE: brisk_blobfs_file_write(c->file, c->buf, c->offset, c->length, done_rw, c); break;
	case SK_TRUNCATE: brisk_blobfs_file_truncate(c->file, c->length, done_rc, c); break;
	case SK_SYNC: brisk_blobfs_file_sync(c->file, done_rc, c); break;
	case SK_BEGIN: brisk_blobfs_file_batch_begin(c->file, done_rc, c); break;
	case SK_COMMIT: brisk_blobfs_file_batch_commit(c->file, done_rc, c); break;
	case SK_ABORT: brisk_blobfs_file_batch_abort(c->file, done_rc, c); break;
	case SK_DELETE: brisk_blobfs_delete(c->fs, c->name, done_rc, c); break;
	case SK_RENAME: brisk_blobfs_rename(c->fs, c->name, c->new_name, done_rc, c); break;
	case SK_CHECK: brisk_blobfs_check(c->fs, c->report, c->report_ctx, done_rc, c); break;
	default: run_in_memory(c); break;
	}
}

static int64_t call(struct brisk_blobfs_sync_ctx *c, enum sync_kind kind)
{
	c->kind = kind;
	if (brisk_thread_send_msg(c->fs->thread, run_msg, c) != 0) {
		return -ENOMEM;
	}
	while (sem_wait(&c->done) != 0) {
		/* EINTR: a signal; keep waiting, the request is in flight */
	}
	return c->result;
}

int brisk_blobfs_sync_create(struct brisk_blobfs_sync_ctx *ctx, const char *name)
{
	if (ctx == NULL || name == NULL) {
		return -EINVAL;
	}
	ctx->name = name;
	return (int)call(ctx, SK_CREATE);
}

int brisk_blobfs_sync_open(struct brisk_blobfs_sync_ctx *ctx, const char *name, uint32_t flags,
			   struct brisk_blobfs_file **file)
{
	int rc;

	if (ctx == NULL || name == NULL || file == NULL) {
		return -EINVAL;
	}
	ctx->name = name;
	ctx->flags = flags;
	ctx->file = NULL;
	rc = (int)call(ctx, SK_OPEN);
	*file = rc == 0 ? ctx->file : NULL;
	return rc;
}

static int64_t file_call(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			 enum sync_kind kind)
{
	if (ctx == NULL || file == NULL) {
		return -EINVAL;
	}
	ctx->file = file;
	return call(ctx, kind);
}

int brisk_blobfs_sync_close(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file)
{
	return (int)file_call(ctx, file, SK_CLOSE);
}

int64_t brisk_blobfs_sync_read(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			       void *buf, uint64_t offset, uint64_t length)
{
	if (ctx == NULL || (buf == NULL && length > 0)) {
		return -EINVAL;
	}
	ctx->buf = buf;
	ctx->offset = offset;
	ctx->length = length;
	return file_call(ctx, file, SK_READ);
}

int64_t brisk_blobfs_sync_write(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
				const void *buf, uint64_t offset, uint64_t length)
{
	if (ctx == NULL || (buf == NULL && length > 0)) {
		return -EINVAL;
	}
	ctx->buf = (void *)buf;
	ctx->offset = offset;
	ctx->length = length;
	return file_call(ctx, file, SK_WRITE);
}

int brisk_blobfs_sync_truncate(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			       uint64_t size)
{
	if (ctx == NULL) {
		return -EINVAL;
	}
	ctx->length = size;
	return (int)file_call(ctx, file, SK_TRUNCATE);
}

int brisk_blobfs_sync_sync(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file)
{
	return (int)file_call(ctx, file, SK_SYNC);
}

int brisk_blobfs_sync_size(struct brisk_blobfs_sync_ctx *ctx, struct brisk_blobfs_file *file,
			   uint64_t *size)
{
	int rc;

	if (size == NULL) {
		return -EINVAL;
	}
	rc = (int)file_call(ctx, file, SK_SIZE);
	if (rc == 0) {
		*size = ctx->offset;
	}
	return rc;
}

int brisk_blobfs_sync_delete(struct brisk_blobfs_sync_ctx *ctx, const char *name)
{
	if (ctx == NULL || name == NULL) {
		return -EINVAL;
	}
	ctx->name = name;
	return (int)call(ctx, SK_DELETE);
}

int brisk_blobfs_sync_rename(struct brisk_blobfs_sync_ctx *ctx, const char *old_name,
			     const char *new_name)
{
	if (ctx == NULL || old_name == NULL || new_name == NULL) {
		return -EINVAL;
	}
	ctx->name = old_name;
	ctx->new_name = new_name;
	return (int)call(ctx, SK_RENAME);
}

int brisk_blobfs_sync_stat(struct brisk_blobfs_sync_ctx *ctx, const char *name,
			   struct brisk_blobfs_stat *stat)
{
	if (ctx == NULL || name == NULL || stat == NULL) {
		return -EINVAL;
	}
	ctx->name = name;
	ctx->stat = stat;
	return (int)call(ctx, SK_STAT);
}

void brisk_blobfs_free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		free(names[i]);
	}
	free(names);
}

int brisk_blobfs_sync_list(struct brisk_blobfs_sync_ctx *ctx, char ***names, size_t *count)
{
	int rc;

	if (ctx == NULL || names == NULL || count == NULL) {
		return -EINVAL;
	}
	rc = (int)call(ctx, SK_LIST);
	if (rc != 0) {
		brisk_blobfs_free_names(ctx->names, ctx->count);
		return rc;
	}
	*names = ctx->names;
	*count = ctx->count;
	return 0;
}

int brisk_blobfs_sync_check(struct brisk_blobfs_sync_ctx *ctx,
			    void (*report)(void *report_ctx, const char *problem), void *report_ctx)
{
	if (ctx == NULL || report == NULL) {
		return -EINVAL;
	}
	ctx->report = report;
	ctx->report_ctx = report_ctx;
	return (int)call(ctx, SK_CHECK);
}

int brisk_blobfs_sync_batch_begin(struct brisk_blobfs_sync_ctx *ctx,
				  struct brisk_blobfs_file *file)
{
	return (int)file_call(ctx, file, SK_BEGIN);
}

int brisk_blobfs_sync_batch_commit(struct brisk_blobfs_sync_ctx *ctx,
				   struct brisk_blobfs_file *file)
{
	return (int)file_call(ctx, file, SK_COMMIT);
}

int brisk_blobfs_sync_batch_abort(struct brisk_blobfs_sync_ctx *ctx,
				  struct brisk_blobfs_file *file)
{
	return (int)file_call(ctx, file, SK_ABORT);
}
