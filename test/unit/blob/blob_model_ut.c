/*
 * Randomized model test: seeded random sequences of create, resize, write
 * (a quarter of them of one or two whole clusters), read, xattr, snapshot,
 * clone, inflate, decouple, delete (of snapshots with one clone too, and
 * refused with two) and reload (clean, and dirty from a
 * copy of the device taken mid-run as a crash would leave it), checked after
 * every step against an in-memory model of what each blob holds and of its
 * parent. Every metadata change is synced right away, so a dirty reload must
 * give back exactly the model.
 *
 * Where a blob with a parent grows, the new clusters read whatever its
 * ancestors hold there: the model marks them unknown rather than follow
 * the chain.
 *
 * Blocks of thick clusters that were never written hold whatever the device
 * had (clusters are not cleared on allocation): the model marks them unknown.
 *
 * Crash mode: the same sequences with the device losing power at write k
 * (dropped or torn), k swept over the sequence. The run stops after the
 * operation that contained write k; after a reload every blob the operation
 * did not touch must equal the model, and the touched one must be in its
 * state before or after the operation (block by block for data: a write is
 * not atomic across blocks).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/blob.h>
#include <brisk/env.h>
#include <brisk/thread.h>

#include "../../common/ut_main.h"

#define BLOCKLEN 512
#define DEV_BYTES (16ull * 1024 * 1024)
#define CLUSTER (64 * 1024)
#define UPC (CLUSTER / BLOCKLEN)
#define MAX_BLOBS 8
#define MAX_CLUSTERS 6
#define MAX_BLOCKS (MAX_CLUSTERS * UPC)
#define STEPS 400
#define CRASH_STEPS 80

struct model_blob {
	bool exists;
	brisk_blob_id id;
	bool thin;
	uint64_t clusters;
	uint8_t data[MAX_BLOCKS * BLOCKLEN];
	uint8_t known[MAX_BLOCKS]; /* 1: data[] holds what the blob must read */
	char xattr[16];
	bool ro;                   /* a snapshot (read-only) */
	brisk_blob_id parent;      /* 0: none */
};

static struct brisk_thread *g_th;
static struct brisk_blob_store *g_bs;
static struct brisk_blob *g_blob;
static brisk_blob_id g_id;
static int g_rc, g_done;
static struct model_blob g_m[MAX_BLOBS];
static uint8_t *g_img;
static struct brisk_bs_opts g_opts;
static uint8_t g_wbuf[UPC * 2 * BLOCKLEN], g_rbuf[MAX_BLOCKS * BLOCKLEN];
static unsigned g_ops[14];

static void poll_all(void)
{
	while (brisk_thread_poll(g_th, 0, 0) > 0) {
	}
}

static int finish(void)
{
	g_done = 0;
	poll_all();
	CU_ASSERT_EQUAL(g_done, 1);
	return g_rc;
}

static void bs_cb(void *a, struct brisk_blob_store *bs, int rc) { (void)a; g_bs = bs; g_rc = rc; g_done++; }
static void op_cb(void *a, int rc) { (void)a; g_rc = rc; g_done++; }
static void id_cb(void *a, brisk_blob_id id, int rc) { (void)a; g_id = id; g_rc = rc; g_done++; }
static void blob_cb(void *a, struct brisk_blob *b, int rc) { (void)a; g_blob = b; g_rc = rc; g_done++; }

/* Crash mode state. */
static struct brisk_bs_dev *g_dev;
static int g_crash_mode; /* 0: off; a crash run makes no reloads (one device) */

static int load(uint8_t *img)
{
	g_dev = brisk_bs_dev_ram_create(DEV_BYTES / BLOCKLEN, BLOCKLEN, img);
	brisk_bs_load(g_dev, &g_opts, bs_cb, NULL);
	return finish();
}

static struct brisk_blob *open_blob(struct model_blob *m)
{
	g_blob = NULL;
	brisk_bs_open_blob(g_bs, m->id, blob_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_blob);
	return g_blob;
}

static void close_blob(struct brisk_blob *b)
{
	brisk_blob_close(b, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
}

/* The blob reads back what the model says, and its sizes and xattr match. */
static void check_blob(struct model_blob *m)
{
	struct brisk_blob *b = open_blob(m);
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	uint64_t blocks = m->clusters * UPC, bad = 0;
	const void *v;
	size_t len;

	CU_ASSERT_EQUAL(brisk_blob_get_num_clusters(b), m->clusters);
	CU_ASSERT_EQUAL(brisk_blob_is_thin_provisioned(b), m->thin);
	CU_ASSERT_EQUAL(brisk_blob_is_read_only(b), m->ro);
	CU_ASSERT_EQUAL(brisk_blob_get_parent_snapshot(g_bs, m->id), m->parent);
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "x", &v, &len), 0);
	CU_ASSERT(len == strlen(m->xattr) && memcmp(v, m->xattr, len) == 0);
	if (blocks > 0) {
		brisk_blob_io_read(b, ch, g_rbuf, 0, blocks, op_cb, NULL);
		CU_ASSERT_EQUAL(finish(), 0);
		for (uint64_t i = 0; i < blocks; i++) {
			if (m->known[i] && memcmp(g_rbuf + i * BLOCKLEN, m->data + i * BLOCKLEN, BLOCKLEN)) {
				bad++;
			}
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
	close_blob(b);
}

static void check_report(void *ctx, const char *problem)
{
	(void)ctx;
	fprintf(stderr, "store check: %s\n", problem);
}

/* brisk_bs_check finds nothing wrong. */
static void check_store(void)
{
	brisk_bs_check(g_bs, check_report, NULL, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
}

static void check_all(void)
{
	struct brisk_bs_stats st;
	uint64_t n = 0, used = 0;

	for (int i = 0; i < MAX_BLOBS; i++) {
		if (g_m[i].exists) {
			struct brisk_blob *b;

			check_blob(&g_m[i]);
			b = open_blob(&g_m[i]);
			used += brisk_blob_get_num_allocated_clusters(b);
			close_blob(b);
			n++;
		}
	}
	brisk_bs_get_stats(g_bs, &st);
	CU_ASSERT_EQUAL(st.num_blobs, n);
	CU_ASSERT_EQUAL(st.free_clusters + used, brisk_bs_total_data_cluster_count(g_bs));
	check_store();
}

static const char *g_create_xattr;

static void create_xattr_get(void *ctx, const char *name, const void **value, size_t *len)
{
	(void)ctx;
	(void)name;
	*value = g_create_xattr;
	*len = strlen(g_create_xattr);
}

static void op_create(struct model_blob *m)
{
	struct brisk_blob_opts o;
	char xattr[16];
	char *names[] = { "x" };

	brisk_blob_opts_init(&o);
	o.thin_provision = rand() % 2;
	o.num_clusters = (uint64_t)rand() % 4;
	snprintf(xattr, sizeof(xattr), "c%u", (unsigned)rand() % 1000);
	/* The xattr comes with the create: one sync, all or nothing. */
	g_create_xattr = xattr;
	o.xattrs.count = 1;
	o.xattrs.names = names;
	o.xattrs.get_value = create_xattr_get;
	brisk_bs_create_blob_ext(g_bs, &o, id_cb, NULL);
	if (finish() != 0) {
		CU_ASSERT_EQUAL(g_rc, -ENOSPC);
		return;
	}
	memset(m, 0, sizeof(*m));
	m->exists = true;
	m->id = g_id;
	m->thin = o.thin_provision;
	m->clusters = o.num_clusters;
	/* Thin holes read zeroes: known. Thick clusters: unknown until written. */
	memset(m->known, m->thin ? 1 : 0, sizeof(m->known));
	memcpy(m->xattr, xattr, sizeof(xattr));
	g_ops[0]++;
}

static void op_resize(struct model_blob *m)
{
	struct brisk_blob *b = open_blob(m);
	uint64_t n = (uint64_t)rand() % (MAX_CLUSTERS + 1);

	brisk_blob_resize(b, n, op_cb, NULL);
	if (finish() == 0) {
		CU_ASSERT_FALSE(m->ro);
		brisk_blob_sync_md(b, op_cb, NULL);
		CU_ASSERT_EQUAL(finish(), 0);
		if (n < m->clusters) {
			/* Shrunk away: a later grow brings holes (thin) or unknown data. */
			memset(m->data + n * UPC * BLOCKLEN, 0, (m->clusters - n) * UPC * BLOCKLEN);
			memset(m->known + n * UPC, m->thin ? 1 : 0, (m->clusters - n) * UPC);
		} else if (m->parent != 0) {
			/* Grown: reads what the ancestors hold there. */
			memset(m->known + m->clusters * UPC, 0, (n - m->clusters) * UPC);
		}
		m->clusters = n;
		g_ops[1]++;
	} else {
		CU_ASSERT_EQUAL(g_rc, m->ro ? -EPERM : -ENOSPC);
	}
	close_blob(b);
}

static void op_write(struct model_blob *m)
{
	struct brisk_blob *b;
	struct brisk_io_channel *ch;
	uint64_t blocks = m->clusters * UPC, off, len;

	if (blocks == 0) {
		return;
	}
	len = 1 + (uint64_t)rand() % (blocks < 2 * UPC ? blocks : 2 * UPC);
	off = (uint64_t)rand() % (blocks - len + 1);
	if (rand() % 4 == 0) {
		/* Whole clusters (one or two), which a first write fills with its
		 * own data rather than zeroes or a copy of the parent's. */
		len = (blocks >= 2 * UPC && rand() % 2 == 0) ? 2 * UPC : UPC;
		off = (uint64_t)rand() % ((blocks - len) / UPC + 1) * UPC;
	}
	for (uint64_t i = 0; i < len * BLOCKLEN; i++) {
		g_wbuf[i] = (uint8_t)rand();
	}
	b = open_blob(m);
	ch = brisk_bs_alloc_io_channel(g_bs);
	brisk_blob_io_write(b, ch, g_wbuf, off, len, op_cb, NULL);
	if (m->ro) {
		CU_ASSERT_EQUAL(finish(), -EPERM);
	} else if (finish() == 0) {
		memcpy(m->data + off * BLOCKLEN, g_wbuf, len * BLOCKLEN);
		memset(m->known + off, 1, len);
		g_ops[2]++;
	} else {
		/* Thin blob, store full: nothing may have changed where it failed. */
		CU_ASSERT_EQUAL(g_rc, -ENOSPC);
		memset(m->known + off, 0, len);
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
	close_blob(b);
}

static void op_xattr(struct model_blob *m)
{
	struct brisk_blob *b = open_blob(m);
	char x[16];

	snprintf(x, sizeof(x), "v%u", (unsigned)rand() % 100000);
	if (m->ro) {
		CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "x", x, (uint16_t)strlen(x)), -EPERM);
	} else {
		memcpy(m->xattr, x, sizeof(x));
		CU_ASSERT_EQUAL(brisk_blob_set_xattr(b, "x", m->xattr, (uint16_t)strlen(m->xattr)), 0);
		g_ops[3]++;
	}
	close_blob(b); /* close syncs */
}

/* The model blob whose parent is m, and how many there are. */
static struct model_blob *model_clone_of(const struct model_blob *m, int *count)
{
	struct model_blob *found = NULL;

	*count = 0;
	for (int i = 0; i < MAX_BLOBS; i++) {
		if (g_m[i].exists && g_m[i].parent == m->id) {
			found = &g_m[i];
			(*count)++;
		}
	}
	return found;
}

static void op_delete(struct model_blob *m)
{
	int clones;
	struct model_blob *c = model_clone_of(m, &clones);

	brisk_bs_delete_blob(g_bs, m->id, op_cb, NULL);
	if (clones > 1) {
		CU_ASSERT_EQUAL(finish(), -EBUSY);
		g_ops[12]++;
		return;
	}
	CU_ASSERT_EQUAL(finish(), 0);
	if (c != NULL) {
		c->parent = m->parent; /* the clone takes over the snapshot's place */
		g_ops[11]++;
	}
	m->exists = false;
	g_ops[4]++;
}

/* The second blob an operation makes (crash mode: absent before it). */
static struct model_blob *g_new_slot;

static struct model_blob *free_slot(void)
{
	for (int i = 0; i < MAX_BLOBS; i++) {
		if (!g_m[i].exists) {
			return &g_m[i];
		}
	}
	return NULL;
}

static void relation_xattr_get(void *ctx, const char *name, const void **value, size_t *len)
{
	(void)name;
	*value = ctx;
	*len = strlen(ctx);
}

static void op_snapshot(struct model_blob *m)
{
	struct model_blob *s = free_slot();
	char *names[] = { "x" };
	char x[16];
	struct brisk_blob_xattr_opts xo = {
		.count = 1, .names = names, .ctx = x, .get_value = relation_xattr_get,
	};

	if (s == NULL) {
		return;
	}
	g_new_slot = s;
	snprintf(x, sizeof(x), "s%u", (unsigned)rand() % 1000);
	brisk_bs_create_snapshot(g_bs, m->id, &xo, id_cb, NULL);
	if (m->ro) {
		CU_ASSERT_EQUAL(finish(), -EINVAL);
		return;
	}
	if (finish() != 0) {
		CU_ASSERT_EQUAL(g_rc, -ENOSPC);
		return;
	}
	memcpy(s, m, sizeof(*s));
	s->id = g_id;
	s->ro = true;
	memcpy(s->xattr, x, sizeof(x));
	m->parent = s->id;
	m->thin = true;
	g_ops[8]++;
}

static void op_clone(struct model_blob *m)
{
	struct model_blob *c = free_slot();
	char *names[] = { "x" };
	char x[16];
	struct brisk_blob_xattr_opts xo = {
		.count = 1, .names = names, .ctx = x, .get_value = relation_xattr_get,
	};

	if (c == NULL) {
		return;
	}
	/* Mostly clone a snapshot (cloning a writable blob is refused). */
	for (int i = 0; i < MAX_BLOBS && !m->ro && rand() % 4 != 0; i++) {
		if (g_m[i].exists && g_m[i].ro) {
			m = &g_m[i];
		}
	}
	g_new_slot = c;
	snprintf(x, sizeof(x), "k%u", (unsigned)rand() % 1000);
	brisk_bs_create_clone(g_bs, m->id, &xo, id_cb, NULL);
	if (!m->ro) {
		CU_ASSERT_EQUAL(finish(), -EINVAL);
		return;
	}
	if (finish() != 0) {
		CU_ASSERT_EQUAL(g_rc, -ENOSPC);
		return;
	}
	memcpy(c, m, sizeof(*c));
	c->id = g_id;
	c->ro = false;
	c->thin = true;
	c->parent = m->id;
	memcpy(c->xattr, x, sizeof(x));
	g_ops[9]++;
}

/* Inflate (decouple false) or decouple: nothing a blob reads changes. */
static void op_unparent(struct model_blob *m, bool decouple)
{
	struct brisk_io_channel *ch = brisk_bs_alloc_io_channel(g_bs);
	int want = 0;

	if (m->ro) {
		want = -EPERM;
	} else if (m->parent == 0 && (decouple || !m->thin)) {
		want = -EINVAL;
	}
	if (decouple) {
		brisk_bs_blob_decouple_parent(g_bs, ch, m->id, op_cb, NULL);
	} else {
		brisk_bs_inflate_blob(g_bs, ch, m->id, op_cb, NULL);
	}
	if (want != 0) {
		CU_ASSERT_EQUAL(finish(), want);
	} else if (finish() != 0) {
		CU_ASSERT_EQUAL(g_rc, -ENOSPC);
	} else if (decouple) {
		for (int i = 0; i < MAX_BLOBS; i++) {
			if (g_m[i].exists && g_m[i].id == m->parent) {
				m->parent = g_m[i].parent;
				break;
			}
		}
		g_ops[13]++;
	} else {
		m->parent = 0;
		m->thin = false;
		/* Thick from now on: clusters a later grow adds hold old data. */
		memset(m->known + m->clusters * UPC, 0, (MAX_CLUSTERS - m->clusters) * UPC);
		g_ops[10]++;
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
}

static void op_reload(bool dirty)
{
	uint8_t *copy = NULL;
	struct brisk_bs_stats st;

	if (dirty) {
		copy = malloc(DEV_BYTES);
		CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
		memcpy(copy, g_img, DEV_BYTES); /* the device as a crash now leaves it */
	}
	brisk_bs_unload(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	if (dirty) {
		memcpy(g_img, copy, DEV_BYTES);
		free(copy);
	}
	CU_ASSERT_EQUAL_FATAL(load(g_img), 0);
	brisk_bs_get_stats(g_bs, &st);
	CU_ASSERT_EQUAL(st.recovered, dirty);
	check_all();
	g_ops[dirty ? 6 : 5]++;
}

/* After a crash: slot i is in state p (before the crash operation) or q
 * (after it). Returns 1 if its blob exists on the store, 0 if not. */
static int verify_either(const struct model_blob *p, const struct model_blob *q)
{
	const struct model_blob *m[2] = { p->exists ? p : NULL, q->exists ? q : NULL };
	struct brisk_io_channel *ch;
	struct brisk_blob *b;
	uint64_t n, bad = 0;
	const void *v;
	size_t len;

	if (m[0] == NULL && m[1] == NULL) {
		return 0;
	}
	g_blob = NULL;
	brisk_bs_open_blob(g_bs, m[0] ? m[0]->id : m[1]->id, blob_cb, NULL);
	if (finish() != 0) {
		CU_ASSERT_EQUAL(g_rc, -ENOENT);
		CU_ASSERT(m[0] == NULL || m[1] == NULL); /* only a create or delete may vanish */
		return 0;
	}
	b = g_blob;
	n = brisk_blob_get_num_clusters(b);
	CU_ASSERT((m[0] && m[0]->clusters == n) || (m[1] && m[1]->clusters == n));
	CU_ASSERT_EQUAL(brisk_blob_get_xattr_value(b, "x", &v, &len), 0);
	CU_ASSERT((m[0] && len == strlen(m[0]->xattr) && memcmp(v, m[0]->xattr, len) == 0) ||
		  (m[1] && len == strlen(m[1]->xattr) && memcmp(v, m[1]->xattr, len) == 0));
	ch = brisk_bs_alloc_io_channel(g_bs);
	if (n > 0 && n <= MAX_CLUSTERS) {
		brisk_blob_io_read(b, ch, g_rbuf, 0, n * UPC, op_cb, NULL);
		CU_ASSERT_EQUAL(finish(), 0);
		for (uint64_t i = 0; i < n * UPC; i++) {
			bool ok = false;

			for (int j = 0; j < 2 && !ok; j++) {
				ok = m[j] != NULL && i < m[j]->clusters * UPC &&
				     (!m[j]->known[i] ||
				      memcmp(g_rbuf + i * BLOCKLEN, m[j]->data + i * BLOCKLEN, BLOCKLEN) == 0);
			}
			bad += !ok;
		}
		CU_ASSERT_EQUAL(bad, 0);
	}
	brisk_bs_free_io_channel(ch);
	poll_all();
	close_blob(b);
	return 1;
}

static struct model_blob g_pre;   /* the crash operation's blob, before it */
static struct model_blob *g_snap; /* the whole model right after it */

/* One seeded sequence of steps. crash_mode: 0 for the plain model test
 * (with reloads); otherwise the device loses power at write k (counted from
 * the end of init) and the run stops after the operation containing it.
 * Returns the writes the steps made (crash mode). */
static uint64_t run_seed(unsigned seed, int steps, int crash_mode, uint64_t k)
{
	int touched = -1;
	uint64_t writes = 0;

	brisk_bs_opts_init(&g_opts);
	g_opts.cluster_sz = CLUSTER;
	g_opts.num_md_pages = 256;
	memset(g_img, 0, DEV_BYTES);
	memset(g_m, 0, sizeof(g_m));
	g_dev = brisk_bs_dev_ram_create(DEV_BYTES / BLOCKLEN, BLOCKLEN, g_img);
	brisk_bs_init(g_dev, &g_opts, bs_cb, NULL);
	CU_ASSERT_EQUAL_FATAL(finish(), 0);
	g_crash_mode = crash_mode;
	if (crash_mode) {
		brisk_bs_dev_ram_set_crash(g_dev, (enum brisk_bs_dev_ram_crash_mode)crash_mode, k);
	}
	srand(seed);
	for (int step = 0; step < steps; step++) {
		struct model_blob *m = &g_m[rand() % MAX_BLOBS];
		int what = rand() % 26;

		g_new_slot = NULL;
		if (crash_mode) {
			memcpy(&g_pre, m, sizeof(*m));
		}
		if (!m->exists) {
			op_create(m);
		} else if (what < 3) {
			op_resize(m);
		} else if (what < 11) {
			op_write(m);
		} else if (what < 13) {
			op_xattr(m);
		} else if (what < 15) {
			op_delete(m);
		} else if (what < 17 && !crash_mode) {
			op_reload(what == 16);
		} else if (what < 19) {
			op_snapshot(m);
		} else if (what < 21) {
			op_clone(m);
		} else if (what < 22) {
			op_unparent(m, false);
		} else if (what < 23) {
			op_unparent(m, true);
		} else {
			check_blob(m);
			g_ops[7]++;
		}
		if (crash_mode && brisk_bs_dev_ram_write_count(g_dev) > k) {
			touched = (int)(m - g_m);
			break;
		}
	}
	if (!crash_mode) {
		check_all();
		brisk_bs_unload(g_bs, op_cb, NULL);
		CU_ASSERT_EQUAL(finish(), 0);
		return 0;
	}
	writes = brisk_bs_dev_ram_write_count(g_dev);
	memcpy(g_snap, g_m, sizeof(g_m));
	/* Power is gone: the unload's writes are lost too (unless k is past them). */
	brisk_bs_unload(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	g_crash_mode = 0;
	CU_ASSERT_EQUAL_FATAL(load(g_img), 0);
	{
		struct brisk_bs_stats st;
		uint64_t n = 0, used = 0;
		struct brisk_blob *b;

		static const struct model_blob absent;
		int made = g_new_slot != NULL ? (int)(g_new_slot - g_m) : -1;

		for (int i = 0; i < MAX_BLOBS; i++) {
			/* The operation's blob, and the one it made, may be as before it. */
			const struct model_blob *before = i == touched ? &g_pre :
							  i == made ? &absent : &g_snap[i];

			n += verify_either(before, &g_snap[i]);
		}
		brisk_bs_get_stats(g_bs, &st);
		CU_ASSERT_EQUAL(st.num_blobs, n); /* no orphan blob */
		brisk_bs_iter_first(g_bs, blob_cb, NULL);
		finish();
		while (g_rc == 0) {
			b = g_blob;
			used += brisk_blob_get_num_allocated_clusters(b);
			brisk_bs_iter_next(g_bs, b, blob_cb, NULL);
			finish();
		}
		CU_ASSERT_EQUAL(st.free_clusters + used, brisk_bs_total_data_cluster_count(g_bs));
		check_store();
	}
	brisk_bs_unload(g_bs, op_cb, NULL);
	CU_ASSERT_EQUAL(finish(), 0);
	return writes;
}

static void test_model(void)
{
	for (unsigned seed = 1; seed <= 4; seed++) {
		unsigned before = CU_get_number_of_failures();

		run_seed(seed, STEPS, 0, 0);
		if (CU_get_number_of_failures() != before) {
			fprintf(stderr, "model test failed with seed %u\n", seed);
		}
	}
	printf("\n  ops: %u create, %u resize, %u write, %u xattr, %u delete (%u of a snapshot into "
	       "its clone, %u refused: two clones), %u snapshot, %u clone, %u inflate, %u decouple, "
	       "%u clean reload, %u dirty reload, %u check\n", g_ops[0], g_ops[1], g_ops[2],
	       g_ops[3], g_ops[4], g_ops[11], g_ops[12], g_ops[8], g_ops[9], g_ops[10], g_ops[13],
	       g_ops[5], g_ops[6], g_ops[7]);
}

/* Every write of random sequences, dropped and torn. */
static void test_model_crash(void)
{
	unsigned points = 0, failed = 0;

	for (unsigned seed = 11; seed <= 22; seed++) {
		uint64_t w = run_seed(seed, CRASH_STEPS, BRISK_BS_DEV_RAM_CRASH_DROP, UINT64_MAX);

		for (int mode = BRISK_BS_DEV_RAM_CRASH_DROP; mode <= BRISK_BS_DEV_RAM_CRASH_TEAR; mode++) {
			for (uint64_t k = 0; k <= w; k++) {
				unsigned before = CU_get_number_of_failures();

				run_seed(seed, CRASH_STEPS, mode, k);
				points++;
				if (CU_get_number_of_failures() != before) {
					failed++;
					fprintf(stderr, "model crash: seed %u mode %d write %lu of %lu failed\n",
						seed, mode, k, w);
				}
			}
		}
	}
	printf("\n  model crash points: %u tried, %u failed\n", points, failed);
}

static int ut_setup(void)
{
	g_th = brisk_thread_create("model", NULL);
	brisk_set_thread(g_th);
	g_img = malloc(DEV_BYTES);
	g_snap = malloc(sizeof(g_m));
	return g_th == NULL || g_img == NULL || g_snap == NULL ? -1 : 0;
}

static int ut_teardown(void)
{
	free(g_img);
	free(g_snap);
	brisk_thread_exit(g_th);
	for (int i = 0; i < 100 && !brisk_thread_is_exited(g_th); i++) {
		brisk_thread_poll(g_th, 0, 0);
	}
	brisk_set_thread(NULL);
	brisk_thread_destroy(g_th);
	return 0;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_model),
	BRISK_UT_TEST(test_model_crash),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "blob_model", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "blob_model_ut",
	.env = BRISK_UT_ENV_THREAD,
	.thread_opts = { .msg_pool_size = 16383 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
