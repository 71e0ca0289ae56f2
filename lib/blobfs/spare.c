/*
 * The spare blob: a deleted small file's blob kept for the next create.
 * SQLite's DELETE journal mode creates and deletes its journal at every
 * commit; a fresh blob's first write allocates a cluster (the store fills it
 * with zeroes and syncs the cluster map) and a blob delete costs a tombstone
 * sequence of three flushes. Taking the spare costs one metadata sync, and
 * keeping one costs a metadata sync and a write_zeroes of its clusters.
 *
 * put:  open -> (no cluster allocated, too big, or a spare already kept:
 *       close, delete) -> mark deleted, sync (the delete's commit point) ->
 *       zero every cluster (the next file must read zeroes in its holes) ->
 *       keep it open as fs->spare
 * take: name, gen, size 0, unmark, sync (the create's commit point) -> the
 *       caller owns the open handle
 * drop: (unload) close -> delete
 * A crash leaves a kept spare marked deleted: the next load reaps it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blobfs_internal.h"

#define SPARE_MAX_CLUSTERS 4

struct spare_op {
	struct brisk_blobfs *fs;
	struct brisk_blob *blob;
	brisk_blob_id id;
	void (*cb)(void *ctx, int rc);
	blobfs_spare_taken_fn take_cb;
	void *ctx;
};

static const uint64_t g_one = 1, g_zero;

static void spare_finish(struct spare_op *s, int rc)
{
	void (*cb)(void *ctx, int rc) = s->cb;
	void *ctx = s->ctx;

	free(s);
	cb(ctx, rc);
}

static void deleted(void *arg, int rc) { spare_finish(arg, rc); }

static void closed_then_delete(void *arg, int rc)
{
	struct spare_op *s = arg;

	(void)rc; /* the delete reports what matters */
	brisk_bs_delete_blob(s->fs->bs, s->id, deleted, s);
}

static void put_zeroed(void *arg, int rc)
{
	struct spare_op *s = arg;

	if (rc != 0 || s->fs->spare != NULL) {
		brisk_blob_close(s->blob, closed_then_delete, s);
		return;
	}
	s->fs->spare = s->blob;
	spare_finish(s, 0);
}

static void put_marked(void *arg, int rc)
{
	struct spare_op *s = arg;
	uint64_t units = brisk_blob_get_num_io_units(s->blob);

	if (rc != 0) {
		brisk_blob_close(s->blob, closed_then_delete, s);
		return;
	}
	brisk_blob_io_write_zeroes(s->blob, s->fs->ch, 0, units, put_zeroed, s);
}

static void put_opened(void *arg, struct brisk_blob *blob, int rc)
{
	struct spare_op *s = arg;
	uint64_t n;

	if (rc != 0) {
		brisk_bs_delete_blob(s->fs->bs, s->id, deleted, s);
		return;
	}
	s->blob = blob;
	n = brisk_blob_get_num_clusters(blob);
	if (s->fs->spare != NULL || n > SPARE_MAX_CLUSTERS || brisk_blob_get_num_allocated_clusters(blob) == 0) {
		brisk_blob_close(blob, closed_then_delete, s);
		return;
	}
	rc = brisk_blob_set_xattr(blob, BLOBFS_XATTR_DELETED, &g_one, sizeof(g_one));
	if (rc != 0) {
		brisk_blob_close(blob, closed_then_delete, s);
		return;
	}
	brisk_blob_sync_md(blob, put_marked, s);
}

void blobfs_spare_put(struct brisk_blobfs *fs, brisk_blob_id id, void (*cb)(void *ctx, int rc), void *ctx)
{
	struct spare_op *s = calloc(1, sizeof(*s));

	if (s == NULL || fs->spare != NULL) {
		free(s);
		brisk_bs_delete_blob(fs->bs, id, cb, ctx);
		return;
	}
	*s = (struct spare_op){ .fs = fs, .id = id, .cb = cb, .ctx = ctx };
	brisk_bs_open_blob(fs->bs, id, put_opened, s);
}

static void closed_ignored(void *arg, int rc)
{
	(void)arg;
	(void)rc; /* a given-up spare: marked deleted, the next load reaps it */
}

/* A failed take gives the blob up: marked deleted again (the close persists
 * that if anything changed), closed; the next load reaps it. */
static void take_failed(struct spare_op *s, int rc)
{
	blobfs_spare_taken_fn cb = s->take_cb;
	void *ctx = s->ctx;

	brisk_blob_set_xattr(s->blob, BLOBFS_XATTR_DELETED, &g_one, sizeof(g_one));
	brisk_blob_close(s->blob, closed_ignored, NULL);
	free(s);
	cb(ctx, NULL, BRISK_BLOBID_INVALID, rc);
}

static void take_synced(void *arg, int rc)
{
	struct spare_op *s = arg;
	blobfs_spare_taken_fn cb = s->take_cb;
	void *ctx = s->ctx;

	if (rc != 0) {
		take_failed(s, rc);
		return;
	}
	cb(ctx, s->blob, brisk_blob_get_id(s->blob), 0);
	free(s);
}

static int take_relabel(struct brisk_blob *blob, const char *name, const uint64_t *gen)
{
	int rc = brisk_blob_set_xattr(blob, BLOBFS_XATTR_NAME, name, (uint16_t)strlen(name));

	if (rc == 0) {
		rc = brisk_blob_set_xattr(blob, BLOBFS_XATTR_GEN, gen, sizeof(*gen));
	}
	if (rc == 0) {
		rc = brisk_blob_set_xattr(blob, BLOBFS_XATTR_SIZE, &g_zero, sizeof(g_zero));
	}
	return rc == 0 ? brisk_blob_remove_xattr(blob, BLOBFS_XATTR_DELETED) : rc;
}

bool blobfs_spare_take(struct brisk_blobfs *fs, const char *name, const uint64_t *gen, blobfs_spare_taken_fn cb,
		       void *ctx)
{
	struct spare_op *s;
	int rc;

	if (fs->spare == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		return false;
	}
	rc = take_relabel(fs->spare, name, gen);
	if (rc != 0) { /* no memory: nothing synced; the spare stays a spare */
		brisk_blob_set_xattr(fs->spare, BLOBFS_XATTR_DELETED, &g_one, sizeof(g_one));
		free(s);
		return false;
	}
	*s = (struct spare_op){ .fs = fs, .blob = fs->spare, .take_cb = cb, .ctx = ctx };
	fs->spare = NULL;
	brisk_blob_sync_md(s->blob, take_synced, s);
	return true;
}

void blobfs_spare_drop(struct brisk_blobfs *fs, void (*cb)(void *ctx, int rc), void *ctx)
{
	struct spare_op *s;

	if (fs->spare == NULL || (s = calloc(1, sizeof(*s))) == NULL) {
		cb(ctx, 0); /* none kept (or no memory: the next load reaps it) */
		return;
	}
	*s = (struct spare_op){ .fs = fs, .blob = fs->spare, .cb = cb, .ctx = ctx };
	s->id = brisk_blob_get_id(fs->spare);
	fs->spare = NULL;
	brisk_blob_close(s->blob, closed_then_delete, s);
}
