/* Reading the current version of one blob: both head slots, then the chain
 * of the newest valid head (doc/blobstore_format.md, "Blob ids and versions").
 *
 * Steps: read_slots -> pick_candidate -> (read_chain_page -> check_chain_page)*
 *        -> finish. A candidate whose chain is broken gives way to the other
 * slot; an unreadable newest version (unknown descriptor) is an error, never
 * silently replaced by an older one. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blob_internal.h"

struct load_ctx {
	struct brisk_blob_store *bs;
	brisk_blob_id id;
	blob_load_cb cb;
	void *cb_ctx;
	uint8_t *slots;            /* 2 pages */
	uint8_t *page;             /* 1 page for the chain */
	struct blob_page_hdr hdr[2];
	bool valid[2];
	bool tried[2];
	int cand;                  /* slot being followed */
	int failed_slot;           /* a newer candidate that failed, -1 none */
	const char *failed_why;
	uint32_t next;             /* next chain page */
	uint32_t index;            /* its expected index */
	uint32_t chain_cap;
	struct blob_loaded *res;
};

static void load_pick_candidate(struct load_ctx *c);
static void load_read_chain_page(struct load_ctx *c);
static void load_judge(struct load_ctx *c);

static void load_finish(struct load_ctx *c, int rc)
{
	struct blob_loaded *res = c->res;

	blob_page_buf_free(c->slots);
	blob_page_buf_free(c->page);
	c->cb(c->cb_ctx, res, rc);
	free(c);
}

void blob_loaded_free(struct blob_loaded *res)
{
	if (res == NULL) {
		return;
	}
	blob_md_free(&res->md);
	free(res->chain_pages);
	free(res);
}

static void load_reset_result(struct load_ctx *c)
{
	blob_md_free(&c->res->md);
	c->res->chain_len = 0;
	c->res->present = false;
	c->res->stale_other = false;
	c->res->slot = -1;
}

/* The candidate's chain is broken: try the other slot. */
static void load_candidate_failed(struct load_ctx *c, const char *why)
{
	if (c->failed_slot < 0) {
		c->failed_slot = c->cand;
		c->failed_why = why;
	}
	load_reset_result(c);
	load_pick_candidate(c);
}

static void load_chain_page_done(void *ctx, int rc)
{
	struct load_ctx *c = ctx;
	struct blob_page_hdr h;
	const struct blob_page_hdr *head = &c->hdr[c->cand];

	if (rc != 0) {
		load_finish(c, rc);
		return;
	}
	if (!blob_page_check(c->page, &c->bs->sb.uuid, &h) || h.kind != BLOB_MD_KIND_CHAIN ||
	    h.blobid != c->id || h.seq != head->seq || h.index != c->index) {
		load_candidate_failed(c, "chain page missing or from another version");
		return;
	}
	rc = blob_md_decode_page(&c->res->md, c->page, c->id, false);
	if (rc == -EPROTONOSUPPORT || rc == -ENOMEM) {
		load_finish(c, rc);
		return;
	}
	if (rc != 0) {
		load_candidate_failed(c, "malformed chain page");
		return;
	}
	c->res->chain_pages[c->res->chain_len++] = c->next;
	c->next = h.next;
	c->index++;
	load_read_chain_page(c);
}

/* Every allocated cluster must be a data cluster of this device. */
static bool load_clusters_in_range(struct load_ctx *c)
{
	const struct blob_md *md = &c->res->md;
	const struct blob_super *sb = &c->bs->sb;
	uint64_t first_data = ((sb->md_start + sb->md_len) * BLOB_PAGE_SIZE + sb->cluster_size - 1) /
			      sb->cluster_size;

	for (uint64_t i = 0; i < md->num_clusters; i++) {
		uint64_t cl = md->clusters[i];

		if (cl != 0 && (cl < first_data || cl >= c->bs->num_clusters)) {
			BRISK_ERRLOG("blob 0x%lx: cluster %lu at device cluster %lu, outside %lu..%lu",
				     c->id, i, cl, first_data, c->bs->num_clusters - 1);
			return false;
		}
	}
	return true;
}

static void load_read_chain_page(struct load_ctx *c)
{
	struct brisk_blob_store *bs = c->bs;
	int rc;

	if (c->next == BLOB_MD_NO_NEXT) {
		rc = blob_md_decode_finish(&c->res->md, c->id);
		if (rc != 0) {
			load_candidate_failed(c, "extents do not cover the blob");
			return;
		}
		if (!load_clusters_in_range(c)) {
			load_candidate_failed(c, "an extent points outside the data clusters");
			return;
		}
		c->res->present = true;
		load_judge(c);
		load_finish(c, 0);
		return;
	}
	if (c->next >= bs->num_chain_pages || c->res->chain_len >= bs->num_chain_pages) {
		load_candidate_failed(c, "chain points outside the metadata region");
		return;
	}
	if (c->res->chain_len == c->chain_cap) {
		uint32_t cap = c->chain_cap ? c->chain_cap * 2 : 4;
		uint32_t *p = realloc(c->res->chain_pages, cap * sizeof(*p));

		if (p == NULL) {
			load_finish(c, -ENOMEM);
			return;
		}
		c->res->chain_pages = p;
		c->chain_cap = cap;
	}
	blob_md_read_pages(bs, blob_md_region_page(bs, blob_chain_index(bs, c->next)), 1, c->page,
			   load_chain_page_done, c);
}

static bool load_pairs(const struct load_ctx *c)
{
	return (c->bs->sb.features & BLOB_FEATURE_HEAD_PAIRS) != 0;
}

static void load_pick_candidate(struct load_ctx *c)
{
	int best = -1;
	int rc;

	for (int s = 0; s < 2; s++) {
		if (c->valid[s] && !c->tried[s] && (best < 0 || c->hdr[s].seq > c->hdr[best].seq)) {
			best = s;
		}
	}
	if (best < 0) {
		/* No usable version: the id is free (or its versions are lost). */
		load_judge(c);
		load_finish(c, 0);
		return;
	}
	c->tried[best] = true;
	c->cand = best;
	c->res->slot = best;
	c->res->seq = c->hdr[best].seq;
	if (c->hdr[best].flags & BLOB_MD_PAGE_TOMBSTONE) {
		int o = 1 - best;

		c->res->stale_other = c->valid[o] && !(c->hdr[o].flags & BLOB_MD_PAGE_TOMBSTONE);
		if (c->res->stale_other && load_pairs(c) &&
		    c->hdr[best].prev16 != (uint16_t)c->hdr[o].seq) {
			/* A delete's tombstone names the version it ends: this one
			 * does not, so it does not end the live head next to it. */
			load_candidate_failed(c, "a tombstone that does not follow the live version");
			return;
		}
		load_judge(c);
		load_finish(c, 0);
		return;
	}
	rc = blob_md_decode_page(&c->res->md, c->slots + (uint64_t)best * BLOB_PAGE_SIZE, c->id, true);
	if (rc == -EPROTONOSUPPORT || rc == -ENOMEM) {
		load_finish(c, rc);
		return;
	}
	if (rc != 0) {
		load_candidate_failed(c, "malformed head page");
		return;
	}
	c->next = c->hdr[best].next;
	c->index = 1;
	load_read_chain_page(c);
}

/* ---- judge: is the version taken provably the newest? ---- */

static void load_damaged(struct load_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void load_damaged(struct load_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->res->why, sizeof(c->res->why), fmt, ap);
	va_end(ap);
	c->res->damaged = true;
}

/* "seq N (slot S)" of what was taken, or "no version left". */
static void load_taken(struct load_ctx *c, char *buf, size_t size)
{
	const struct blob_loaded *res = c->res;

	if (res->slot < 0) {
		snprintf(buf, size, "no version left");
	} else {
		snprintf(buf, size, "%s seq %lu (slot %d)", res->present ? "version" : "tombstone",
			 res->seq, res->slot);
	}
}

/* A page of this store in slot s that is not a head of this id: its CRC
 * fails, or it names another id, kind or index. *seq is its seq field
 * (unverified). Zeroed or foreign pages are not "damaged", only absent. */
static bool load_slot_damaged(struct load_ctx *c, int s, uint64_t *seq)
{
	const uint8_t *p = c->slots + (uint64_t)s * BLOB_PAGE_SIZE;

	if (c->valid[s] || blob_get_le32(p + BLOB_MDH_MAGIC_OFF) != BLOB_MD_MAGIC ||
	    memcmp(p + BLOB_MDH_UUID_OFF, c->bs->sb.uuid.u, 16) != 0) {
		return false;
	}
	*seq = blob_get_le64(p + BLOB_MDH_SEQ_OFF);
	return true;
}

static const char *load_slot_damage_kind(struct load_ctx *c, int s)
{
	struct blob_page_hdr h;

	if (!blob_page_check(c->slots + (uint64_t)s * BLOB_PAGE_SIZE, &c->bs->sb.uuid, &h)) {
		return "bad CRC";
	}
	return h.blobid != c->id ? "a page of another blob id" : "not a head page";
}

/* HEAD_PAIRS: a live current head's other slot holds the page it replaced,
 * and that page does not claim to have replaced the current one (an edited
 * seq can make the newer page look older; the pages' own links still tell
 * which came first. 16 bits of prev: a false alarm needs the other page's
 * predecessor to sit an exact multiple of 65536 seqs below the current). */
static bool load_pair_ok(struct load_ctx *c)
{
	int cur = c->res->slot, o = 1 - cur;

	return c->valid[o] && c->hdr[o].seq < c->hdr[cur].seq &&
	       (uint16_t)c->hdr[o].seq == c->hdr[cur].prev16 &&
	       c->hdr[o].prev16 != (uint16_t)c->hdr[cur].seq;
}

static void load_judge(struct load_ctx *c)
{
	char taken[64];
	uint64_t raw;
	int o = c->res->slot < 0 ? -1 : 1 - c->res->slot;

	load_taken(c, taken, sizeof(taken));
	if (c->failed_slot >= 0) {
		load_damaged(c, "newest version seq %lu (slot %d) is unusable (%s); found %s",
			     c->hdr[c->failed_slot].seq, c->failed_slot, c->failed_why, taken);
		return;
	}
	for (int s = 0; s < 2; s++) {
		if (s != c->res->slot && load_slot_damaged(c, s, &raw) &&
		    (c->res->slot < 0 || raw > c->res->seq)) {
			load_damaged(c, "head slot %d holds a damaged page (%s, seq %lu unverified); "
				     "found %s", s, load_slot_damage_kind(c, s), raw, taken);
			return;
		}
	}
	if (load_pairs(c) && c->res->present && !load_pair_ok(c)) {
		load_damaged(c, "head slot %d does not hold the version (seq ...%u) that %s replaced: "
			     "a newer version may have been lost", o, c->hdr[c->res->slot].prev16, taken);
	} else if (load_pairs(c) && !c->res->present && c->res->slot >= 0 && !c->valid[o] &&
		   c->hdr[c->res->slot].prev16 == 0) {
		/* The tombstone a first version writes before its head: the head
		 * never landed (a crash) or was lost. */
		load_damaged(c, "the first version of a blob under this id is not in head slot %d "
			     "(a create cut short, or its head was lost); found %s", o, taken);
	}
}

static void load_slots_done(void *ctx, int rc)
{
	struct load_ctx *c = ctx;

	if (rc != 0) {
		load_finish(c, rc);
		return;
	}
	for (int s = 0; s < 2; s++) {
		struct blob_page_hdr *h = &c->hdr[s];

		c->valid[s] = blob_page_check(c->slots + (uint64_t)s * BLOB_PAGE_SIZE, &c->bs->sb.uuid, h) &&
			      h->kind == BLOB_MD_KIND_HEAD && h->blobid == c->id && h->index == 0;
		if (c->valid[s] && h->seq > c->res->max_seq) {
			c->res->max_seq = h->seq;
		}
	}
	load_pick_candidate(c);
}

static void load_finish_deferred(void *ctx, int rc) { load_finish(ctx, rc); }

void blob_load_version(struct brisk_blob_store *bs, brisk_blob_id id, blob_load_cb cb, void *ctx)
{
	struct load_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL || (c->res = calloc(1, sizeof(*c->res))) == NULL) {
		free(c);
		cb(ctx, NULL, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->id = id;
	c->cb = cb;
	c->cb_ctx = ctx;
	c->res->slot = -1;
	c->failed_slot = -1;
	blob_md_init(&c->res->md);
	c->slots = blob_page_buf_alloc(2);
	c->page = blob_page_buf_alloc(1);
	if (c->slots == NULL || c->page == NULL) {
		/* Later, as an I/O error would: callers (blob delete) complete
		 * their own caller from cb. */
		blob_defer_cb(load_finish_deferred, c, -ENOMEM);
		return;
	}
	blob_md_read_pages(bs, blob_md_region_page(bs, blob_head_slot_index(id, 0)), 2, c->slots,
			   load_slots_done, c);
}

/* ---- Walking every id, several loads in flight ---- */

/* Loads in flight during a walk: enough to keep a device queue busy at
 * load time (one read each) without tying up much memory. */
#define BLOB_WALK_WINDOW 32

struct walk_ctx {
	struct brisk_blob_store *bs;
	bool used_only;
	blob_version_visit visit;
	blob_md_io_cb done;
	void *ctx;
	brisk_blob_id next;
	uint32_t inflight;
	bool filling;  /* walk_fill is running: a load that fails at once comes back here */
	int rc;
};

struct walk_one {
	struct walk_ctx *w;
	brisk_blob_id id;
};

static void walk_fill(struct walk_ctx *w);

static void walk_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct walk_one *o = ctx;
	struct walk_ctx *w = o->w;
	brisk_blob_id id = o->id;

	free(o);
	w->inflight--;
	if (w->rc == 0) {
		w->rc = w->visit(w->ctx, id, res, rc);
	} else {
		blob_loaded_free(res);
	}
	walk_fill(w);
}

static void walk_fill(struct walk_ctx *w)
{
	struct brisk_blob_store *bs = w->bs;

	if (w->filling) {
		return;
	}
	w->filling = true;
	while (w->rc == 0 && w->inflight < BLOB_WALK_WINDOW && w->next <= bs->sb.num_blob_ids) {
		struct walk_one *o;
		brisk_blob_id id = w->next++;

#ifdef __clang_analyzer__
		/* Still set: scan-build forgets it over the opaque load call below
		 * and then has a nested walk_fill free w under this loop. */
		w->filling = true;
#endif

		if (w->used_only && !brisk_bit_array_get(bs->used_ids, (uint32_t)(id - 1))) {
			continue;
		}
		o = malloc(sizeof(*o));
		if (o == NULL) {
			w->rc = -ENOMEM;
			break;
		}
		o->w = w;
		o->id = id;
		w->inflight++;
		blob_load_version(bs, id, walk_loaded, o);
	}
	w->filling = false;
	if (w->inflight == 0 && (w->rc != 0 || w->next > bs->sb.num_blob_ids)) {
		blob_md_io_cb done = w->done;
		void *ctx = w->ctx;
		int rc = w->rc;

		free(w);
		done(ctx, rc);
	}
}

void blob_walk_versions(struct brisk_blob_store *bs, bool used_only, blob_version_visit visit,
			blob_md_io_cb done, void *ctx)
{
	struct walk_ctx *w = calloc(1, sizeof(*w));

	if (w == NULL) {
		blob_defer_cb(done, ctx, -ENOMEM);
		return;
	}
	w->bs = bs;
	w->used_only = used_only;
	w->visit = visit;
	w->done = done;
	w->ctx = ctx;
	w->next = 1;
	walk_fill(w);
}
