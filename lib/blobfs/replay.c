/*
 * Load-time replay of the batch journal (see batch.c):
 *
 *   open journal -> read header -> record for a live file, newer than its
 *   blobfs.applied? -> read the record's data -> CRC of header and data
 *   holds? -> open the file -> grow it -> write each extent in place ->
 *   size + blobfs.applied in one sync -> close the file
 *
 * A record whose CRC fails was never committed (the crash came before the
 * journal's metadata sync): it is ignored. The journal stays open.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/crc32c.h>
#include <brisk/env.h>
#include <brisk/log.h>

#include "blobfs_internal.h"

struct replay {
	struct brisk_blobfs *fs;
	struct blobfs_node *node;
	struct brisk_blob *target;
	uint8_t *data;
	uint64_t dlen;
	uint32_t pending;
	int rc;
	void (*cb)(void *ctx, int rc);
	void *cb_arg;
};

static struct jhdr *hdr(struct replay *r)
{
	return (struct jhdr *)r->fs->jhdr;
}

static void replay_done(struct replay *r, int rc)
{
	if (r->data != NULL) {
		brisk_free(r->data);
	}
	r->cb(r->cb_arg, rc);
	free(r);
}

static void target_closed(void *arg, int rc)
{
	replay_done(arg, rc);
}

static void target_synced(void *arg, int rc)
{
	struct replay *r = arg;

	if (rc == 0) {
		r->node->size = hdr(r)->new_size;
		r->node->applied_seq = hdr(r)->seq;
		BRISK_NOTICELOG("blobfs: replayed batch %lu of '%s'\n", (unsigned long)hdr(r)->seq,
				r->node->name);
	}
	r->rc = rc;
	brisk_blob_close(r->target, rc == 0 ? target_closed : target_closed, r);
}

static void extents_written(void *arg, int rc)
{
	struct replay *r = arg;
	uint64_t size = hdr(r)->new_size, seq = hdr(r)->seq;

	if (rc != 0 && r->rc == 0) {
		r->rc = rc;
	}
	if (--r->pending > 0) {
		return;
	}
	rc = r->rc;
	if (rc == 0) {
		rc = brisk_blob_set_xattr(r->target, BLOBFS_XATTR_SIZE, &size, sizeof(size));
	}
	if (rc == 0) {
		rc = brisk_blob_set_xattr(r->target, BLOBFS_XATTR_APPLIED, &seq, sizeof(seq));
	}
	if (rc != 0) {
		brisk_blob_close(r->target, target_closed, r);
		return;
	}
	brisk_blob_sync_md(r->target, target_synced, r);
}

static void target_grown(void *arg, int rc)
{
	struct replay *r = arg;
	struct jhdr *h = hdr(r);
	uint64_t unit = r->fs->io_unit, doff = 0;

	if (rc != 0) {
		brisk_blob_close(r->target, target_closed, r);
		return;
	}
	r->pending = h->next + 1;
	for (uint32_t i = 0; i < h->next; i++) {
		brisk_blob_io_write(r->target, r->fs->ch, r->data + doff, h->ext[i].off / unit,
				    h->ext[i].len / unit, extents_written, r);
		doff += h->ext[i].len;
	}
	extents_written(r, 0);
}

static void target_opened(void *arg, struct brisk_blob *blob, int rc)
{
	struct replay *r = arg;
	uint64_t csz = r->fs->cluster_size, end = hdr(r)->new_size;

	if (rc != 0) {
		replay_done(r, rc);
		return;
	}
	r->target = blob;
	for (uint32_t i = 0; i < hdr(r)->next; i++) {
		uint64_t e = hdr(r)->ext[i].off + hdr(r)->ext[i].len;

		end = e > end ? e : end;
	}
	if ((end + csz - 1) / csz <= brisk_blob_get_num_clusters(blob)) {
		target_grown(r, 0);
		return;
	}
	brisk_blob_resize(blob, (end + csz - 1) / csz, target_grown, r);
}

static void data_read(void *arg, int rc)
{
	struct replay *r = arg;
	struct jhdr *h = hdr(r);
	uint32_t want = h->crc, crc;

	if (rc != 0) {
		replay_done(r, rc);
		return;
	}
	h->crc = 0;
	crc = brisk_crc32c(h, JPAGE);
	crc = brisk_crc32c_update(r->data, r->dlen, crc);
	h->crc = want;
	if (crc != want) {
		BRISK_NOTICELOG("blobfs: journal record %lu was not committed, ignored\n",
				(unsigned long)h->seq);
		replay_done(r, 0);
		return;
	}
	brisk_bs_open_blob(r->fs->bs, r->node->id, target_opened, r);
}

/* A header worth replaying: sane, for a live file, not yet in place. */
static bool header_wanted(struct replay *r)
{
	struct jhdr *h = hdr(r);
	struct blobfs_node *n;

	if (h->magic != JMAGIC || h->next > JMAX_EXT) {
		return false;
	}
	r->dlen = 0;
	for (uint32_t i = 0; i < h->next; i++) {
		if (h->ext[i].len == 0 || h->ext[i].len > BLOBFS_CHUNK || h->ext[i].len % JPAGE != 0 ||
		    h->ext[i].off % JPAGE != 0) {
			return false;
		}
		r->dlen += h->ext[i].len;
	}
	TAILQ_FOREACH(n, &r->fs->nodes, link) {
		if (n->id == h->target && n->name != NULL && n->applied_seq < h->seq) {
			r->node = n;
			return r->dlen + JPAGE <= brisk_blob_get_num_clusters(r->fs->journal) *
			       r->fs->cluster_size;
		}
	}
	return false;
}

static void header_read(void *arg, int rc)
{
	struct replay *r = arg;
	uint64_t unit;

	if (rc != 0) {
		replay_done(r, rc);
		return;
	}
	if (hdr(r)->seq >= r->fs->next_seq) {
		r->fs->next_seq = hdr(r)->seq + 1;
	}
	if (!header_wanted(r) || r->dlen == 0) {
		replay_done(r, 0);
		return;
	}
	r->data = brisk_dma_malloc(r->dlen, JPAGE, NULL);
	if (r->data == NULL) {
		replay_done(r, -ENOMEM);
		return;
	}
	unit = r->fs->io_unit;
	brisk_blob_io_read(r->fs->journal, r->fs->ch, r->data, JPAGE / unit, r->dlen / unit,
			   data_read, r);
}

static void journal_opened(void *arg, struct brisk_blob *blob, int rc)
{
	struct replay *r = arg;

	if (rc != 0) {
		replay_done(r, rc);
		return;
	}
	r->fs->journal = blob;
	if (brisk_blob_get_num_clusters(blob) == 0) {
		replay_done(r, 0);
		return;
	}
	brisk_blob_io_read(blob, r->fs->ch, r->fs->jhdr, 0, JPAGE / r->fs->io_unit, header_read, r);
}

void blobfs_journal_replay(struct brisk_blobfs *fs, void (*cb)(void *ctx, int rc), void *ctx)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	r->fs = fs;
	r->cb = cb;
	r->cb_arg = ctx;
	if (fs->journal_id == BRISK_BLOBID_INVALID) {
		replay_done(r, 0);
		return;
	}
	brisk_bs_open_blob(fs->bs, fs->journal_id, journal_opened, r);
}

static void journal_closed(void *arg, int rc)
{
	struct replay *r = arg;

	replay_done(r, rc);
}

void blobfs_journal_close(struct brisk_blobfs *fs, void (*cb)(void *ctx, int rc), void *ctx)
{
	struct replay *r = calloc(1, sizeof(*r));

	if (r == NULL) {
		cb(ctx, -ENOMEM);
		return;
	}
	r->cb = cb;
	r->cb_arg = ctx;
	if (fs->journal == NULL) {
		replay_done(r, 0);
		return;
	}
	brisk_blob_close(fs->journal, journal_closed, r);
	fs->journal = NULL;
}
