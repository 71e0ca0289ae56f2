/*
 * Bringing a file system up and down.
 *
 * init:   bs_init (bstype BLOBFS) -> setup (channel, cache) -> done
 * load:   bs_load -> scan (every blob: live file, unlinked, or replaced by a
 *         rename whose delete a crash cut off) -> reap (delete the dead
 *         ones) -> setup -> done
 * unload: refuse with open files -> drop the spare blob -> close the journal ->
 *         free channels and cache -> bs_unload
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/blob_bdev.h>
#include <brisk/log.h>

#include "blobfs_internal.h"

struct load_ctx {
	struct brisk_blobfs *fs;
	struct brisk_blobfs_opts opts;
	brisk_blobfs_op_with_handle_complete cb;
	void *cb_arg;
	brisk_blob_id *dead;
	size_t ndead, cap;
	int rc;
};

static void load_finish(struct load_ctx *c, int rc);
static void free_nodes(struct brisk_blobfs *fs);

static struct brisk_blobfs *fs_alloc(void)
{
	struct brisk_blobfs *fs = calloc(1, sizeof(*fs));

	if (fs != NULL) {
		TAILQ_INIT(&fs->nodes);
		TAILQ_INIT(&fs->ns_ops);
		TAILQ_INIT(&fs->files);
		fs->thread = brisk_get_thread();
		fs->next_gen = 1;
		fs->next_seq = 1;
	}
	return fs;
}

static void bs_opts_for(struct brisk_bs_opts *o, const struct brisk_blobfs_opts *opts)
{
	brisk_bs_opts_init(o);
	if (opts->cluster_sz != 0) {
		o->cluster_sz = opts->cluster_sz;
	}
	memcpy(o->bstype.bstype, BRISK_BLOBFS_BSTYPE, sizeof(BRISK_BLOBFS_BSTYPE));
}

static int fs_setup(struct brisk_blobfs *fs, uint64_t cache_size)
{
	fs->cluster_size = brisk_bs_get_cluster_size(fs->bs);
	fs->io_unit = brisk_bs_get_io_unit_size(fs->bs);
	fs->ch = brisk_bs_alloc_io_channel(fs->bs);
	fs->dev_ch = fs->dev->create_channel(fs->dev);
	if (fs->ch == NULL || fs->dev_ch == NULL) {
		return -ENOMEM;
	}
	if (blobfs_op_pool_init(fs) != 0 || blobfs_commit_init(fs) != 0) {
		return -ENOMEM;
	}
	return blobfs_cache_init(fs, cache_size != 0 ? cache_size : brisk_blobfs_get_cache_size());
}

static void unload_after_fail(void *arg, int rc)
{
	struct load_ctx *c = arg;

	(void)rc;
	c->cb(c->cb_arg, NULL, c->rc);
	free(c->dead);
	free(c);
}

static void free_nodes(struct brisk_blobfs *fs)
{
	struct blobfs_node *n;

	while ((n = TAILQ_FIRST(&fs->nodes)) != NULL) {
		blobfs_node_free(n);
	}
}

static void fail_journal_closed(void *arg, int rc)
{
	struct load_ctx *c = arg;
	struct brisk_blobfs *fs = c->fs;

	(void)rc;
	blobfs_cache_fini(fs);
	blobfs_op_pool_fini(fs);
	blobfs_commit_fini(fs);
	if (fs->ch != NULL) {
		brisk_bs_free_io_channel(fs->ch);
	}
	if (fs->dev_ch != NULL) {
		fs->dev->destroy_channel(fs->dev, fs->dev_ch);
	}
	free_nodes(fs);
	brisk_bs_unload(fs->bs, unload_after_fail, c);
	free(fs);
}

static void replayed(void *arg, int rc)
{
	struct load_ctx *c = arg;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: replaying the batch journal failed: %d\n", rc);
		c->rc = rc;
		blobfs_journal_close(c->fs, fail_journal_closed, c);
		return;
	}
	c->cb(c->cb_arg, c->fs, 0);
	free(c->dead);
	free(c);
}

static void load_finish(struct load_ctx *c, int rc)
{
	struct brisk_blobfs *fs = c->fs;

	if (rc == 0) {
		rc = fs_setup(fs, c->opts.cache_size);
	}
	if (rc == 0) {
		blobfs_journal_replay(fs, replayed, c);
		return;
	}
	c->rc = rc;
	blobfs_journal_close(fs, fail_journal_closed, c);
}

static void init_done(void *arg, struct brisk_blob_store *bs, int rc)
{
	struct load_ctx *c = arg;

	if (rc != 0) {
		c->cb(c->cb_arg, NULL, rc);
		free(c->fs);
		free(c);
		return;
	}
	c->fs->bs = bs;
	load_finish(c, 0);
}

static struct load_ctx *load_ctx_new(const struct brisk_blobfs_opts *opts,
				     brisk_blobfs_op_with_handle_complete cb, void *cb_arg)
{
	struct load_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		return NULL;
	}
	c->fs = fs_alloc();
	if (c->fs == NULL) {
		free(c);
		return NULL;
	}
	if (opts != NULL) {
		c->opts = *opts;
	}
	c->cb = cb;
	c->cb_arg = cb_arg;
	return c;
}

struct fail_msg {
	brisk_blobfs_op_with_handle_complete cb;
	void *cb_arg;
	int rc;
};

static void fail_msg_run(void *ctx)
{
	struct fail_msg *m = ctx;

	m->cb(m->cb_arg, NULL, m->rc);
	free(m);
}

/* An early error still completes from a message, never inside the call. */
static void fail_later(brisk_blobfs_op_with_handle_complete cb, void *cb_arg, int rc)
{
	struct fail_msg *m = malloc(sizeof(*m));

	if (m == NULL) {
		BRISK_ERRLOG("blobfs: out of memory reporting error %d\n", rc);
		return;
	}
	m->cb = cb;
	m->cb_arg = cb_arg;
	m->rc = rc;
	blobfs_defer(fail_msg_run, m);
}

static bool opts_ok(const struct brisk_blobfs_opts *opts)
{
	if (opts != NULL && opts->cache_size != 0 &&
	    opts->cache_size < (uint64_t)BLOBFS_MIN_BUFS * BRISK_BLOBFS_CACHE_BUFFER_SIZE) {
		BRISK_ERRLOG("blobfs: opts.cache_size %lu below %u bytes\n",
			     (unsigned long)opts->cache_size,
			     BLOBFS_MIN_BUFS * BRISK_BLOBFS_CACHE_BUFFER_SIZE);
		return false;
	}
	return true;
}

void brisk_blobfs_init(struct brisk_bs_dev *dev, const struct brisk_blobfs_opts *opts,
		       brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct brisk_bs_opts o;
	struct load_ctx *c;

	if (!opts_ok(opts) || (c = load_ctx_new(opts, cb_fn, cb_arg)) == NULL) {
		dev->destroy(dev);
		fail_later(cb_fn, cb_arg, opts_ok(opts) ? -ENOMEM : -EINVAL);
		return;
	}
	c->fs->dev = dev;
	bs_opts_for(&o, &c->opts);
	brisk_bs_init(dev, &o, init_done, c);
}

/* ---- load: scan ---- */

static int xattr_u64(struct brisk_blob *blob, const char *name, uint64_t *v)
{
	const void *val;
	size_t len;

	if (brisk_blob_get_xattr_value(blob, name, &val, &len) != 0 || len != sizeof(*v)) {
		return -ENOENT;
	}
	memcpy(v, val, sizeof(*v));
	return 0;
}

static int mark_dead(struct load_ctx *c, brisk_blob_id id)
{
	if (c->ndead == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		brisk_blob_id *d = realloc(c->dead, cap * sizeof(*d));

		if (d == NULL) {
			return -ENOMEM;
		}
		c->dead = d;
		c->cap = cap;
	}
	c->dead[c->ndead++] = id;
	return 0;
}

static char *xattr_name(struct brisk_blob *blob)
{
	const void *val;
	size_t len;
	char *s;

	if (brisk_blob_get_xattr_value(blob, BLOBFS_XATTR_NAME, &val, &len) != 0 || len == 0 ||
	    len > BRISK_BLOBFS_NAME_MAX || memchr(val, '\0', len) != NULL) {
		return NULL;
	}
	s = malloc(len + 1);
	if (s != NULL) {
		memcpy(s, val, len);
		s[len] = '\0';
	}
	return s;
}

/* Two blobs with one name: a rename replaced the older one and a crash came
 * before its delete. The newer generation is the file. */
static int scan_add(struct load_ctx *c, brisk_blob_id id, char *name, uint64_t size, uint64_t gen,
		    uint64_t applied)
{
	struct blobfs_node *old = blobfs_node_find(c->fs, name), *n;

	if (old != NULL && old->gen > gen) {
		free(name);
		return mark_dead(c, id);
	}
	if (old != NULL) {
		int rc = mark_dead(c, old->id);

		if (rc != 0) {
			free(name);
			return rc;
		}
		blobfs_node_free(old);
	}
	n = blobfs_node_new(c->fs, id);
	if (n == NULL) {
		free(name);
		return -ENOMEM;
	}
	n->name = name;
	n->size = size;
	n->gen = gen;
	n->applied_seq = applied;
	return 0;
}

static int scan_blob(struct load_ctx *c, struct brisk_blob *blob)
{
	brisk_blob_id id = brisk_blob_get_id(blob);
	uint64_t size = 0, gen = 0, applied = 0, dummy;
	char *name;

	if (xattr_u64(blob, BLOBFS_XATTR_JOURNAL, &dummy) == 0) {
		if (c->fs->journal_id != BRISK_BLOBID_INVALID) {
			return mark_dead(c, id); /* only one journal is ever made */
		}
		c->fs->journal_id = id;
		return 0;
	}
	if (xattr_u64(blob, BLOBFS_XATTR_DELETED, &dummy) == 0) {
		return mark_dead(c, id);
	}
	name = xattr_name(blob);
	if (name == NULL) {
		BRISK_WARNLOG("blobfs: blob 0x%lx has no valid name, removing it\n",
			      (unsigned long)id);
		return mark_dead(c, id);
	}
	xattr_u64(blob, BLOBFS_XATTR_SIZE, &size);
	xattr_u64(blob, BLOBFS_XATTR_GEN, &gen);
	xattr_u64(blob, BLOBFS_XATTR_APPLIED, &applied);
	if (size > brisk_blob_get_num_clusters(blob) * brisk_bs_get_cluster_size(c->fs->bs)) {
		BRISK_WARNLOG("blobfs: file '%s' size %lu beyond its blob, clipped\n", name,
			      (unsigned long)size);
		size = brisk_blob_get_num_clusters(blob) * brisk_bs_get_cluster_size(c->fs->bs);
	}
	if (gen >= c->fs->next_gen) {
		c->fs->next_gen = gen + 1;
	}
	return scan_add(c, id, name, size, gen, applied);
}

static void reap_next(struct load_ctx *c);

static void reap_done(void *arg, int rc)
{
	struct load_ctx *c = arg;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: deleting dead blob failed: %d\n", rc);
		load_finish(c, rc);
		return;
	}
	reap_next(c);
}

static void reap_next(struct load_ctx *c)
{
	if (c->ndead == 0) {
		load_finish(c, 0);
		return;
	}
	brisk_bs_delete_blob(c->fs->bs, c->dead[--c->ndead], reap_done, c);
}

static void scan_step(void *arg, struct brisk_blob *blob, int rc)
{
	struct load_ctx *c = arg;

	if (rc == -ENOENT && blob == NULL) {
		reap_next(c);
		return;
	}
	if (rc == 0) {
		rc = scan_blob(c, blob);
	}
	if (rc != 0) {
		if (blob != NULL) {
			brisk_blob_close(blob, NULL, NULL);
		}
		load_finish(c, rc);
		return;
	}
	brisk_bs_iter_next(c->fs->bs, blob, scan_step, c);
}

static void load_done(void *arg, struct brisk_blob_store *bs, int rc)
{
	struct load_ctx *c = arg;

	if (rc != 0) {
		c->cb(c->cb_arg, NULL, rc);
		free(c->fs);
		free(c);
		return;
	}
	c->fs->bs = bs;
	brisk_bs_iter_first(bs, scan_step, c);
}

void brisk_blobfs_load(struct brisk_bs_dev *dev, const struct brisk_blobfs_opts *opts,
		       brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct brisk_bs_opts o;
	struct load_ctx *c;

	if (!opts_ok(opts) || (c = load_ctx_new(opts, cb_fn, cb_arg)) == NULL) {
		dev->destroy(dev);
		fail_later(cb_fn, cb_arg, opts_ok(opts) ? -ENOMEM : -EINVAL);
		return;
	}
	c->fs->dev = dev;
	bs_opts_for(&o, &c->opts);
	brisk_bs_load(dev, &o, load_done, c);
}

static void bdev_event(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
	(void)bdev;
	(void)ctx;
	BRISK_NOTICELOG("blobfs: bdev event %d ignored\n", (int)type);
}

static void on_bdev(const char *bdev_name, const struct brisk_blobfs_opts *opts, bool init,
		    brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg)
{
	struct brisk_bs_dev *dev = NULL;
	int rc = brisk_bdev_create_bs_dev_ext(bdev_name, bdev_event, NULL, &dev);

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: cannot open bdev '%s': %d\n", bdev_name ? bdev_name : "", rc);
		fail_later(cb_fn, cb_arg, rc);
		return;
	}
	if (init) {
		brisk_blobfs_init(dev, opts, cb_fn, cb_arg);
	} else {
		brisk_blobfs_load(dev, opts, cb_fn, cb_arg);
	}
}

void brisk_blobfs_init_bdev(const char *bdev_name, const struct brisk_blobfs_opts *opts,
			    brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg)
{
	on_bdev(bdev_name, opts, true, cb_fn, cb_arg);
}

void brisk_blobfs_load_bdev(const char *bdev_name, const struct brisk_blobfs_opts *opts,
			    brisk_blobfs_op_with_handle_complete cb_fn, void *cb_arg)
{
	on_bdev(bdev_name, opts, false, cb_fn, cb_arg);
}

/* ---- unload ---- */

struct unload_ctx {
	brisk_blobfs_op_complete cb;
	void *cb_arg;
	struct brisk_blobfs *fs;
	int rc;
};

static void unload_done(void *arg, int rc)
{
	struct unload_ctx *u = arg;

	u->cb(u->cb_arg, rc);
	free(u);
}

/* Every dirty buffer belongs to an open file (close writes back). */
static void unload_journal_closed(void *arg, int rc)
{
	struct unload_ctx *u = arg;
	struct brisk_blobfs *fs = u->fs;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: closing the journal failed: %d\n", rc);
	}
	blobfs_cache_fini(fs);
	blobfs_op_pool_fini(fs);
	blobfs_commit_fini(fs);
	brisk_bs_free_io_channel(fs->ch);
	fs->dev->destroy_channel(fs->dev, fs->dev_ch);
	free_nodes(fs);
	brisk_bs_unload(fs->bs, unload_done, u);
	free(fs);
}

static void unload_spare_dropped(void *arg, int rc)
{
	struct unload_ctx *u = arg;

	if (rc != 0) {
		BRISK_ERRLOG("blobfs: deleting the spare blob failed: %d (the next load reaps it)\n", rc);
	}
	blobfs_journal_close(u->fs, unload_journal_closed, u);
}

static void unload_busy(void *arg)
{
	struct unload_ctx *u = arg;

	u->cb(u->cb_arg, u->rc);
	free(u);
}

void brisk_blobfs_unload(struct brisk_blobfs *fs, brisk_blobfs_op_complete cb_fn, void *cb_arg)
{
	struct unload_ctx *u = calloc(1, sizeof(*u));

	if (u == NULL) {
		BRISK_ERRLOG("blobfs: unload: out of memory\n");
		return;
	}
	u->cb = cb_fn;
	u->cb_arg = cb_arg;
	if (fs->open_files != 0 || fs->ns_running) {
		BRISK_ERRLOG("blobfs: unload with %u file(s) open\n", fs->open_files);
		u->rc = -EBUSY;
		blobfs_defer(unload_busy, u);
		return;
	}
	u->fs = fs;
	blobfs_spare_drop(fs, unload_spare_dropped, u);
}
