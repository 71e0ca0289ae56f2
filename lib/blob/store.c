/* Store life cycle: init, load, unload, destroy, and the store's io_device.
 * (doc/blobstore_format.md: device layout, super block, clean flag.) */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/crc32c.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

#define BS_DEFAULT_CLUSTER_SZ (1024 * 1024)
#define BS_MIN_MD_PAGES 64
#define BS_MAX_CLUSTER_SZ (1024u * 1024 * 1024)

void brisk_bs_opts_init(struct brisk_bs_opts *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->cluster_sz = BS_DEFAULT_CLUSTER_SZ;
	opts->num_md_pages = 0; /* chosen from the device size */
	opts->max_md_ops = 32;
	opts->max_channel_ops = 512;
	opts->clear_method = BRISK_BS_CLEAR_WITH_UNMAP;
}

/* ---- Small helpers used by every file ---- */

struct defer_ctx {
	brisk_blob_op_complete cb;
	void *ctx;
	int rc;
};

static void defer_run(void *arg)
{
	struct defer_ctx *d = arg;

	d->cb(d->ctx, d->rc);
	free(d);
}

void blob_defer_cb(brisk_blob_op_complete cb, void *ctx, int rc)
{
	struct defer_ctx *d = malloc(sizeof(*d));

	if (d != NULL) {
		d->cb = cb;
		d->ctx = ctx;
		d->rc = rc;
		if (brisk_thread_send_msg(brisk_get_thread(), defer_run, d) == 0) {
			return;
		}
		free(d);
	}
	/* No memory for a message: completing inline is better than never. */
	BRISK_ERRLOG("blobstore: cannot defer a completion, completing inline");
	cb(ctx, rc);
}

struct defer_handle_ctx {
	brisk_bs_op_with_handle_complete cb;
	void *ctx;
	int rc;
};

static void defer_handle_run(void *arg)
{
	struct defer_handle_ctx *d = arg;

	d->cb(d->ctx, NULL, d->rc);
	free(d);
}

void blob_defer_handle_cb(brisk_bs_op_with_handle_complete cb, void *ctx, int rc)
{
	struct defer_handle_ctx *d = malloc(sizeof(*d));

	if (d != NULL) {
		d->cb = cb;
		d->ctx = ctx;
		d->rc = rc;
		if (brisk_thread_send_msg(brisk_get_thread(), defer_handle_run, d) == 0) {
			return;
		}
		free(d);
	}
	BRISK_ERRLOG("blobstore: cannot defer a completion, completing inline");
	cb(ctx, NULL, rc);
}

struct defer_id_ctx {
	brisk_blob_op_with_id_complete cb;
	void *ctx;
	int rc;
};

static void defer_id_run(void *arg)
{
	struct defer_id_ctx *d = arg;

	d->cb(d->ctx, BRISK_BLOBID_INVALID, d->rc);
	free(d);
}

void blob_defer_id_cb(brisk_blob_op_with_id_complete cb, void *ctx, int rc)
{
	struct defer_id_ctx *d = malloc(sizeof(*d));

	if (d != NULL) {
		d->cb = cb;
		d->ctx = ctx;
		d->rc = rc;
		if (brisk_thread_send_msg(brisk_get_thread(), defer_id_run, d) == 0) {
			return;
		}
		free(d);
	}
	BRISK_ERRLOG("blobstore: cannot defer a completion, completing inline");
	cb(ctx, BRISK_BLOBID_INVALID, rc);
}

/* The arguments brisk_bs_init and brisk_bs_load share, checked the same way
 * for both before anything is allocated. */
static int blob_bs_check_opts(const char *who, const struct brisk_bs_dev *dev,
			      const struct brisk_bs_opts *o)
{
	if (dev->blocklen == 0 || dev->blocklen > BLOB_PAGE_SIZE || BLOB_PAGE_SIZE % dev->blocklen) {
		BRISK_ERRLOG("%s: device block size %u must divide %u", who, dev->blocklen, BLOB_PAGE_SIZE);
		return -EINVAL;
	}
	/* Before the store exists: its channels are sized by max_channel_ops. */
	if (o->max_md_ops == 0 || o->max_channel_ops == 0 || o->max_channel_ops > (1u << 20)) {
		BRISK_ERRLOG("%s: max_md_ops (%u) must be > 0 and max_channel_ops (%u) 1 .. 1048576", who,
			     o->max_md_ops, o->max_channel_ops);
		return -EINVAL;
	}
	return 0;
}

int blob_bs_check_args(const char *who, struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts,
		       brisk_bs_op_with_handle_complete cb_fn, void *cb_arg, struct brisk_bs_opts *out)
{
	int rc = -EINVAL;

	if (cb_fn == NULL || dev == NULL) {
		BRISK_ERRLOG("%s: %s is NULL", who, cb_fn == NULL ? "cb_fn" : "dev");
	} else {
		if (opts != NULL) {
			*out = *opts;
		} else {
			brisk_bs_opts_init(out);
		}
		rc = blob_bs_check_opts(who, dev, out);
	}
	if (rc != 0 && dev != NULL) {
		dev->destroy(dev);
	}
	if (rc != 0 && cb_fn != NULL) {
		blob_defer_handle_cb(cb_fn, cb_arg, rc);
	}
	return rc;
}

bool blob_on_md_thread(struct brisk_blob_store *bs)
{
	if (brisk_get_thread() != bs->md_thread) {
		BRISK_ERRLOG("blobstore: metadata calls must run on the store's metadata thread");
		return false;
	}
	return true;
}

/* ---- io_device ---- */

static int bs_channel_create(void *io_device, void *ctx_buf)
{
	struct brisk_blob_store *bs = io_device;
	struct blob_channel *ch = ctx_buf;

	ch->bs = bs;
	ch->dev_ch = bs->dev->create_channel(bs->dev);
	if (ch->dev_ch == NULL) {
		BRISK_ERRLOG("blobstore: the device gave no channel");
		return -ENOMEM;
	}
	ch->zeroes_ch = bs->zeroes_dev->create_channel(bs->zeroes_dev);
	if (blob_channel_io_init(ch, bs->max_channel_ops) != 0) {
		bs->zeroes_dev->destroy_channel(bs->zeroes_dev, ch->zeroes_ch);
		bs->dev->destroy_channel(bs->dev, ch->dev_ch);
		return -ENOMEM;
	}
	return 0;
}

static void bs_channel_destroy(void *io_device, void *ctx_buf)
{
	struct brisk_blob_store *bs = io_device;
	struct blob_channel *ch = ctx_buf;

	blob_channel_io_fini(ch);
	bs->dev->destroy_channel(bs->dev, ch->dev_ch);
	bs->zeroes_dev->destroy_channel(bs->zeroes_dev, ch->zeroes_ch);
}

struct brisk_blob_store *blob_bs_alloc(struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts)
{
	struct brisk_blob_store *bs = calloc(1, sizeof(*bs));

	if (bs == NULL) {
		return NULL;
	}
	bs->dev = dev;
	bs->md_thread = brisk_get_thread();
	bs->io_unit = dev->blocklen;
	bs->max_md_ops = opts->max_md_ops;
	bs->max_channel_ops = opts->max_channel_ops;
	TAILQ_INIT(&bs->open_blobs);
	TAILQ_INIT(&bs->relation_ops);
	bs->zeroes_dev = brisk_bs_dev_zeroes_create(UINT64_MAX / 2 / dev->blocklen, dev->blocklen);
	if (bs->zeroes_dev == NULL) {
		free(bs);
		return NULL;
	}
	brisk_io_device_register(bs, bs_channel_create, bs_channel_destroy,
				 sizeof(struct blob_channel), "blobstore");
	bs->md_channel = brisk_get_io_channel(bs);
	if (bs->md_channel == NULL) {
		brisk_io_device_unregister(bs, NULL);
		bs->zeroes_dev->destroy(bs->zeroes_dev);
		free(bs);
		return NULL;
	}
	return bs;
}

/* Frees the store after its io_device is gone; the device is destroyed too. */
struct bs_free_ctx {
	struct brisk_blob_store *bs;
	brisk_bs_op_complete cb;
	void *cb_arg;
	int rc;
};

static void bs_unregistered(void *io_device)
{
	struct brisk_blob_store *bs = io_device;
	struct bs_free_ctx *f = bs->free_ctx;

	brisk_bit_array_free(&bs->used_chain_pages);
	brisk_bit_array_free(&bs->used_clusters);
	brisk_bit_array_free(&bs->used_ids);
	free(bs->id_slot);
	free(bs->id_seq);
	free(bs->id_flags);
	free(bs->orphans);
	free(bs->parent_of);
	bs->zeroes_dev->destroy(bs->zeroes_dev);
	bs->dev->destroy(bs->dev);
	free(bs);
	if (f != NULL) {
		if (f->cb != NULL) {
			f->cb(f->cb_arg, f->rc);
		}
		free(f);
	}
}

/* cb(cb_arg, rc) runs once everything is freed. */
void blob_bs_free(struct brisk_blob_store *bs, brisk_bs_op_complete cb, void *cb_arg, int rc)
{
	struct bs_free_ctx *f = calloc(1, sizeof(*f));

	if (f != NULL) {
		f->cb = cb;
		f->cb_arg = cb_arg;
		f->rc = rc;
	} else if (cb != NULL) {
		BRISK_ERRLOG("blobstore: out of memory while freeing; completing early");
		blob_defer_cb(cb, cb_arg, rc);
	}
	bs->free_ctx = f;
	brisk_put_io_channel(bs->md_channel);
	bs->md_channel = NULL;
	brisk_io_device_unregister(bs, bs_unregistered);
}

/* ---- Geometry ---- */

static uint64_t pages_for_bits(uint64_t nbits)
{
	return ((nbits + 7) / 8 + BLOB_PAGE_SIZE - 1) / BLOB_PAGE_SIZE;
}

/* Derived fields and empty masks from bs->sb. 0 or -ENOMEM / -EINVAL. */
int blob_bs_setup_from_super(struct brisk_blob_store *bs)
{
	uint64_t nclusters = blob_super_num_clusters(&bs->sb);
	uint64_t nchain = blob_super_num_chain_pages(&bs->sb);
	uint64_t reserved;

	if (nclusters >= UINT32_MAX || nchain >= UINT32_MAX || nchain == 0) {
		BRISK_ERRLOG("blobstore: %lu clusters / %lu chain pages are more than this version "
			     "handles (or no chain pages)", nclusters, nchain);
		return -EINVAL;
	}
	bs->num_clusters = nclusters;
	bs->num_chain_pages = (uint32_t)nchain;
	bs->pages_per_cluster = bs->sb.cluster_size / BLOB_PAGE_SIZE;
	bs->io_units_per_cluster = bs->sb.cluster_size / bs->io_unit;
	bs->upc_shift = -1;
	if ((bs->io_units_per_cluster & (bs->io_units_per_cluster - 1)) == 0) {
		bs->upc_shift = __builtin_ctzll(bs->io_units_per_cluster);
	}
	reserved = ((bs->sb.md_start + bs->sb.md_len) * BLOB_PAGE_SIZE + bs->sb.cluster_size - 1) /
		   bs->sb.cluster_size;
	if (reserved >= nclusters) {
		BRISK_ERRLOG("blobstore: metadata (%lu clusters) leaves no data cluster of %lu",
			     reserved, nclusters);
		return -ENOSPC;
	}
	bs->used_chain_pages = brisk_bit_array_create((uint32_t)nchain);
	bs->used_clusters = brisk_bit_array_create((uint32_t)nclusters);
	bs->used_ids = brisk_bit_array_create(bs->sb.num_blob_ids);
	bs->id_slot = malloc(bs->sb.num_blob_ids);
	bs->id_seq = calloc(bs->sb.num_blob_ids, sizeof(uint64_t));
	bs->id_flags = calloc(bs->sb.num_blob_ids, 1);
	free(bs->parent_of);
	bs->parent_of = calloc(bs->sb.num_blob_ids, sizeof(uint64_t));
	if (!bs->used_chain_pages || !bs->used_clusters || !bs->used_ids || !bs->id_slot ||
	    !bs->parent_of || !bs->id_seq || !bs->id_flags) {
		return -ENOMEM;
	}
	memset(bs->id_slot, -1, bs->sb.num_blob_ids);
	blob_reserve_md_clusters(bs);
	return 0;
}

void blob_reserve_md_clusters(struct brisk_blob_store *bs)
{
	uint64_t reserved = ((bs->sb.md_start + bs->sb.md_len) * BLOB_PAGE_SIZE +
			     bs->sb.cluster_size - 1) / bs->sb.cluster_size;

	for (uint64_t c = 0; c < reserved; c++) {
		brisk_bit_array_set(bs->used_clusters, (uint32_t)c);
	}
}

static int bs_init_geometry(struct brisk_blob_store *bs, const struct brisk_bs_opts *o)
{
	struct blob_super *sb = &bs->sb;
	uint64_t dev_bytes = bs->dev->blockcnt * bs->dev->blocklen;
	uint64_t nclusters, md_pages, ids, nchain, page;

	if (o->cluster_sz < BLOB_PAGE_SIZE || o->cluster_sz % BLOB_PAGE_SIZE != 0 ||
	    o->cluster_sz > BS_MAX_CLUSTER_SZ) {
		BRISK_ERRLOG("blobstore init: cluster_sz %u must be a multiple of %u up to %u",
			     o->cluster_sz, BLOB_PAGE_SIZE, BS_MAX_CLUSTER_SZ);
		return -EINVAL;
	}
	if (o->clear_method > BRISK_BS_CLEAR_WITH_NONE) {
		BRISK_ERRLOG("blobstore init: clear_method %d unknown", o->clear_method);
		return -EINVAL;
	}
	nclusters = dev_bytes / o->cluster_sz;
	if (nclusters < 2 || nclusters >= UINT32_MAX) {
		BRISK_ERRLOG("blobstore init: a device of %lu bytes gives %lu clusters of %u bytes "
			     "(need 2 .. 2^32-2)", dev_bytes, nclusters, o->cluster_sz);
		return nclusters < 2 ? -ENOSPC : -EINVAL;
	}
	md_pages = o->num_md_pages;
	if (md_pages == 0) {
		md_pages = nclusters * BRISK_BS_MD_PAGES_PER_BLOB;
		if (md_pages > dev_bytes / BLOB_PAGE_SIZE / 4) {
			md_pages = dev_bytes / BLOB_PAGE_SIZE / 4;
		}
		if (md_pages > UINT32_MAX) {
			md_pages = UINT32_MAX;
		}
	}
	if (md_pages < BS_MIN_MD_PAGES) {
		if (o->num_md_pages != 0) {
			BRISK_ERRLOG("blobstore init: num_md_pages %u is below the minimum %u",
				     o->num_md_pages, BS_MIN_MD_PAGES);
			return -EINVAL;
		}
		md_pages = BS_MIN_MD_PAGES;
	}
	/* Half of the region is head slots (two per id), half chain pages. */
	ids = md_pages / BRISK_BS_MD_PAGES_PER_BLOB;
	nchain = md_pages - 2 * ids;
	memset(sb, 0, sizeof(*sb));
	sb->version = BLOB_FORMAT_VERSION;
	sb->features = BLOB_FEATURE_HEAD_PAIRS;
	sb->page_size = BLOB_PAGE_SIZE;
	sb->io_unit_size = bs->io_unit;
	sb->cluster_size = o->cluster_sz;
	sb->num_blob_ids = (uint32_t)ids;
	memcpy(sb->bstype, o->bstype.bstype, BRISK_BLOBSTORE_TYPE_LENGTH);
	brisk_uuid_generate(&sb->uuid);
	sb->size = nclusters * o->cluster_sz;
	page = 2;
	sb->chain_mask.start = page;
	sb->chain_mask.len = pages_for_bits(nchain);
	page += sb->chain_mask.len;
	sb->cluster_mask.start = page;
	sb->cluster_mask.len = pages_for_bits(nclusters);
	page += sb->cluster_mask.len;
	sb->id_mask.start = page;
	sb->id_mask.len = pages_for_bits(ids);
	page += sb->id_mask.len;
	sb->md_start = page;
	sb->md_len = md_pages;
	if (sb->md_start + sb->md_len > sb->size / BLOB_PAGE_SIZE) {
		BRISK_ERRLOG("blobstore init: %lu metadata pages do not fit on the device", md_pages);
		return -ENOSPC;
	}
	return blob_bs_setup_from_super(bs);
}

/* ---- Writing the masks and the super block ---- */

struct sb_write_ctx {
	struct brisk_blob_store *bs;
	uint8_t *buf;
	int step;
	blob_md_io_cb cb;
	void *cb_ctx;
};

static void sb_write_step(void *ctx, int rc);

/* Masks (when with_masks), flush, super A, flush, super B, flush. The super
 * block copies are written one at a time so a torn write spoils one only. */
void blob_bs_write_super(struct brisk_blob_store *bs, bool with_masks, blob_md_io_cb cb, void *ctx)
{
	struct sb_write_ctx *w = calloc(1, sizeof(*w));
	uint64_t mask_pages = bs->sb.md_start - 2;

	if (w == NULL || (w->buf = blob_page_buf_alloc(mask_pages > 1 ? mask_pages : 1)) == NULL) {
		free(w);
		blob_defer_cb(cb, ctx, -ENOMEM);
		return;
	}
	w->bs = bs;
	w->cb = cb;
	w->cb_ctx = ctx;
	if (with_masks) {
		struct blob_super *sb = &bs->sb;
		uint8_t *b = w->buf;

		brisk_bit_array_store_mask(bs->used_chain_pages, b + (sb->chain_mask.start - 2) * BLOB_PAGE_SIZE);
		brisk_bit_array_store_mask(bs->used_clusters, b + (sb->cluster_mask.start - 2) * BLOB_PAGE_SIZE);
		brisk_bit_array_store_mask(bs->used_ids, b + (sb->id_mask.start - 2) * BLOB_PAGE_SIZE);
		sb->chain_mask.crc = brisk_crc32c(b + (sb->chain_mask.start - 2) * BLOB_PAGE_SIZE,
						  (bs->num_chain_pages + 7) / 8);
		sb->cluster_mask.crc = brisk_crc32c(b + (sb->cluster_mask.start - 2) * BLOB_PAGE_SIZE,
						    (bs->num_clusters + 7) / 8);
		sb->id_mask.crc = brisk_crc32c(b + (sb->id_mask.start - 2) * BLOB_PAGE_SIZE,
					       (sb->num_blob_ids + 7) / 8);
		w->step = 0;
		blob_md_write_pages(bs, 2, mask_pages, w->buf, sb_write_step, w);
	} else {
		w->step = 1;
		sb_write_step(w, 0);
	}
}

static void sb_write_step(void *ctx, int rc)
{
	struct sb_write_ctx *w = ctx;
	struct brisk_blob_store *bs = w->bs;

	if (rc != 0) {
		BRISK_ERRLOG("blobstore: writing the super block failed: %d", rc);
		goto done;
	}
	switch (w->step++) {
	case 0: /* masks written */
		blob_md_flush(bs, sb_write_step, w);
		return;
	case 1: /* masks durable: copy A */
		bs->sb.super_seq++;
		blob_super_encode(&bs->sb, w->buf);
		blob_md_write_pages(bs, 0, 1, w->buf, sb_write_step, w);
		return;
	case 2:
		blob_md_flush(bs, sb_write_step, w);
		return;
	case 3: /* A durable: copy B */
		blob_md_write_pages(bs, 1, 1, w->buf, sb_write_step, w);
		return;
	case 4:
		blob_md_flush(bs, sb_write_step, w);
		return;
	default:
		break;
	}
done:
	blob_page_buf_free(w->buf);
	w->cb(w->cb_ctx, rc);
	free(w);
}

/* ---- Init: geometry -> clear -> masks + super (clean = 0) -> done ---- */

struct init_ctx {
	struct brisk_blob_store *bs;
	brisk_bs_op_with_handle_complete cb;
	void *cb_arg;
	struct brisk_bs_dev_cb_args args;
	enum brisk_bs_clear_method clear;
};

static void init_fail_freed(void *ctx, int rc)
{
	struct init_ctx *c = ctx;

	c->cb(c->cb_arg, NULL, rc);
	free(c);
}

static void init_fail(struct init_ctx *c, int rc)
{
	blob_bs_free(c->bs, init_fail_freed, c, rc);
}

static void init_super_written(void *ctx, int rc)
{
	struct init_ctx *c = ctx;

	if (rc != 0) {
		init_fail(c, rc);
		return;
	}
	c->cb(c->cb_arg, c->bs, 0);
	free(c);
}

static void init_cleared(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct init_ctx *c = cb_arg;

	(void)ch;
	if (rc != 0) {
		BRISK_WARNLOG("blobstore init: clearing the device failed (%d); continuing", rc);
	}
	c->bs->sb.clean = false;
	blob_bs_write_super(c->bs, true, init_super_written, c);
}

static void init_clear(struct init_ctx *c)
{
	struct brisk_blob_store *bs = c->bs;
	struct blob_channel *bch = brisk_io_channel_get_ctx(bs->md_channel);
	uint64_t per = bs->sb.cluster_size / bs->io_unit;
	uint64_t first = 0, count;

	while (brisk_bit_array_get(bs->used_clusters, (uint32_t)first)) {
		first++;
	}
	count = (bs->num_clusters - first) * per;
	c->args.cb_fn = init_cleared;
	c->args.cb_arg = c;
	c->args.channel = bch->dev_ch;
	switch (c->clear) {
	case BRISK_BS_CLEAR_WITH_UNMAP:
		bs->dev->unmap(bs->dev, bch->dev_ch, first * per, count, &c->args);
		break;
	case BRISK_BS_CLEAR_WITH_WRITE_ZEROES:
		bs->dev->write_zeroes(bs->dev, bch->dev_ch, first * per, count, &c->args);
		break;
	case BRISK_BS_CLEAR_WITH_NONE:
		init_cleared(NULL, c, 0);
		break;
	}
}

void brisk_bs_init(struct brisk_bs_dev *dev, const struct brisk_bs_opts *opts,
		   brisk_bs_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct brisk_bs_opts o;
	struct init_ctx *c;
	int rc;

	if (blob_bs_check_args("brisk_bs_init", dev, opts, cb_fn, cb_arg, &o) != 0) {
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		dev->destroy(dev);
		blob_defer_handle_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	c->clear = o.clear_method;
	c->bs = blob_bs_alloc(dev, &o);
	if (c->bs == NULL) {
		dev->destroy(dev);
		free(c);
		blob_defer_handle_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	rc = bs_init_geometry(c->bs, &o);
	if (rc != 0) {
		init_fail(c, rc);
		return;
	}
	init_clear(c);
}
