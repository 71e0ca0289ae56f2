/* Consistency check of a loaded store (brisk_bs_check): what is on disk
 * against what the store holds in memory, reading only.
 *
 * begin (the store must be quiet: no open blob, no metadata operation)
 *   -> read_super     both super block copies decode and agree with memory
 *   -> scan_id        for every id, its current version (blob_load_version):
 *                     claim its chain pages and clusters, remember its
 *                     parent and flags, compare with the id mask
 *   -> check_masks    every used chain page / cluster has an owner, every
 *                     owned one is marked used, the metadata clusters too
 *   -> check_parents  parents exist, are read-only, no loop
 *   -> check_seq      the store's seq counter is above every seq on disk
 *   -> done           0, -EUCLEAN (problems reported) or the error that
 *                     stopped the check
 *
 * A version that may not be the newest (blob_load_version's judge: a newer
 * head damaged or lost) is damage, reported as such, not as a leak; so is a
 * blob the load flagged. A store loaded after a crash has rewritten such
 * versions, so a torn head write left by the crash is not reported. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/log.h>

#include "blob_internal.h"

/* Numbers listed in one report line before "and N more". */
#define CHECK_LIST_MAX 8

struct check_ctx {
	struct brisk_blob_store *bs;
	void (*report)(void *report_ctx, const char *problem);
	void *report_ctx;
	brisk_bs_op_complete cb;
	void *cb_arg;
	uint32_t problems;
	uint8_t *buf;               /* the two super block pages */
	brisk_blob_id id;           /* being scanned */
	uint64_t num_clusters;      /* at the start (a grow must not move the arrays' end) */
	uint32_t *cluster_owner;    /* blob id per device cluster, 0 none */
	uint32_t *page_owner;       /* blob id per chain page, 0 none */
	bool *present;              /* per id index: a current version exists */
	uint64_t *parent;           /* per id index: its parent id on disk */
	uint32_t *flags;            /* per id index: its BLOB flags on disk */
	uint64_t max_seq;
};

static void check_scan_id(struct check_ctx *c);

static void check_problem(struct check_ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void check_problem(struct check_ctx *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->problems++;
	if (c->report != NULL) {
		c->report(c->report_ctx, msg);
	}
}

static void check_free(struct check_ctx *c)
{
	blob_md_op_end(c->bs);
	blob_page_buf_free(c->buf);
	free(c->cluster_owner);
	free(c->page_owner);
	free(c->present);
	free(c->parent);
	free(c->flags);
	free(c);
}

static void check_done(struct check_ctx *c, int rc)
{
	brisk_bs_op_complete cb = c->cb;
	void *cb_arg = c->cb_arg;

	if (rc == 0 && c->problems > 0) {
		rc = -EUCLEAN;
	}
	check_free(c);
	cb(cb_arg, rc);
}

/* ---- Numbers in a report line ---- */

struct num_list {
	char text[160];
	size_t len;
	uint64_t count;
};

static void num_list_add(struct num_list *l, uint64_t n)
{
	if (l->count < CHECK_LIST_MAX && l->len < sizeof(l->text)) {
		l->len += (size_t)snprintf(l->text + l->len, sizeof(l->text) - l->len, "%s%" PRIu64,
					   l->count ? ", " : "", n);
	}
	l->count++;
}

/* " and N more" when the list was cut, "" otherwise. */
static const char *num_list_more(const struct num_list *l, char *buf, size_t size)
{
	if (l->count <= CHECK_LIST_MAX) {
		return "";
	}
	snprintf(buf, size, " and %" PRIu64 " more", l->count - CHECK_LIST_MAX);
	return buf;
}

/* ---- The steps, in the order they run ---- */

static void check_seq(struct check_ctx *c)
{
	if (c->max_seq > c->bs->md_seq) {
		check_problem(c, "a metadata page has seq %" PRIu64 ", above the store's counter %"
			      PRIu64 ": a new version could lose to it at the next load",
			      c->max_seq, c->bs->md_seq);
	}
	check_done(c, 0);
}

static void check_parents(struct check_ctx *c)
{
	struct brisk_blob_store *bs = c->bs;
	uint32_t n = bs->sb.num_blob_ids;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t p = c->parent[i], hops = 0;

		if (!c->present[i] || p == 0) {
			continue;
		}
		if (!blob_id_valid(bs, p) || !c->present[p - 1]) {
			check_problem(c, "blob 0x%x names parent 0x%" PRIx64 ", which does not exist",
				      i + 1, p);
			continue;
		}
		if (!(c->flags[p - 1] & BLOB_FLAG_READ_ONLY)) {
			check_problem(c, "blob 0x%x names parent 0x%" PRIx64 ", which is not read-only",
				      i + 1, p);
		}
		/* More hops than ids: the chain comes back on itself. */
		while (p != 0 && blob_id_valid(bs, p) && c->present[p - 1] && hops <= n) {
			p = c->parent[p - 1];
			hops++;
		}
		if (hops > n) {
			check_problem(c, "the parent chain of blob 0x%x loops", i + 1);
		}
	}
	check_seq(c);
}

static uint32_t check_damaged_count(const struct brisk_blob_store *bs)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < bs->sb.num_blob_ids; i++) {
		n += (bs->id_flags[i] & BLOB_ID_DAMAGED) != 0;
	}
	return n;
}

static void check_masks(struct check_ctx *c)
{
	struct brisk_blob_store *bs = c->bs;
	uint64_t first_data = ((bs->sb.md_start + bs->sb.md_len) * BLOB_PAGE_SIZE +
			       bs->sb.cluster_size - 1) / bs->sb.cluster_size;
	struct num_list leaked_pages = { .len = 0 }, leaked_clusters = { .len = 0 };
	struct num_list free_md = { .len = 0 };
	char more[48];

	for (uint32_t p = 0; p < bs->num_chain_pages; p++) {
		if (brisk_bit_array_get(bs->used_chain_pages, p) && c->page_owner[p] == 0) {
			num_list_add(&leaked_pages, p);
		}
	}
	for (uint64_t cl = 0; cl < c->num_clusters; cl++) {
		bool used = brisk_bit_array_get(bs->used_clusters, (uint32_t)cl);

		if (cl < first_data && !used) {
			num_list_add(&free_md, cl);
		} else if (cl >= first_data && used && c->cluster_owner[cl] == 0) {
			num_list_add(&leaked_clusters, cl);
		}
	}
	if (leaked_pages.count > 0) {
		check_problem(c, "%" PRIu64 " chain page(s) marked used belong to no blob's current "
			      "version (leaked): %s%s", leaked_pages.count, leaked_pages.text,
			      num_list_more(&leaked_pages, more, sizeof(more)));
	}
	if (leaked_clusters.count > 0 && (bs->num_missing > 0 || check_damaged_count(bs) > 0)) {
		check_problem(c, "%" PRIu64 " cluster(s) marked used belong to no readable blob: held "
			      "as the possible storage of lost versions of the %u missing and %u "
			      "damaged blob(s): %s%s", leaked_clusters.count, bs->num_missing,
			      check_damaged_count(bs), leaked_clusters.text,
			      num_list_more(&leaked_clusters, more, sizeof(more)));
	} else if (leaked_clusters.count > 0) {
		check_problem(c, "%" PRIu64 " cluster(s) marked used belong to no blob (leaked): %s%s",
			      leaked_clusters.count, leaked_clusters.text,
			      num_list_more(&leaked_clusters, more, sizeof(more)));
	}
	if (free_md.count > 0) {
		check_problem(c, "%" PRIu64 " cluster(s) holding the store's metadata are marked free: "
			      "%s%s", free_md.count, free_md.text,
			      num_list_more(&free_md, more, sizeof(more)));
	}
	check_parents(c);
}

/* The current version of c->id owns its chain pages and clusters. */
static void check_claim(struct check_ctx *c, const struct blob_loaded *res)
{
	struct brisk_blob_store *bs = c->bs;
	const struct blob_md *md = &res->md;
	uint32_t id = (uint32_t)c->id;
	uint64_t holes = 0;

	for (uint32_t i = 0; i < res->chain_len; i++) {
		uint32_t p = res->chain_pages[i];

		if (c->page_owner[p] != 0) {
			check_problem(c, "chain page %u is in the metadata of blobs 0x%x and 0x%x", p,
				      c->page_owner[p], id);
			continue;
		}
		c->page_owner[p] = id;
		if (!brisk_bit_array_get(bs->used_chain_pages, p)) {
			check_problem(c, "chain page %u of blob 0x%x is marked free: a new version of "
				      "another blob could overwrite it", p, id);
		}
	}
	for (uint64_t i = 0; i < md->num_clusters; i++) {
		uint64_t cl = md->clusters[i];

		if (cl == 0) {
			holes++;
			continue;
		}
		if (cl >= c->num_clusters) {
			check_problem(c, "blob 0x%x cluster %" PRIu64 " is at device cluster %" PRIu64
				      ", beyond the %" PRIu64 " clusters", id, i, cl, c->num_clusters);
			continue;
		}
		if (c->cluster_owner[cl] != 0) {
			check_problem(c, "cluster %" PRIu64 " is owned by blobs 0x%x and 0x%x", cl,
				      c->cluster_owner[cl], id);
			continue;
		}
		c->cluster_owner[cl] = id;
		if (!brisk_bit_array_get(bs->used_clusters, (uint32_t)cl)) {
			check_problem(c, "cluster %" PRIu64 " (blob 0x%x, cluster %" PRIu64 ") is marked "
				      "free: it could be handed out again", cl, id, i);
		}
	}
	if (!(md->flags & BLOB_FLAG_THIN) && holes > 0) {
		check_problem(c, "blob 0x%x is not thin but %" PRIu64 " of its %" PRIu64 " clusters "
			      "have no storage", id, holes, md->num_clusters);
	}
}

static void check_id_loaded(void *ctx, struct blob_loaded *res, int rc)
{
	struct check_ctx *c = ctx;
	struct brisk_blob_store *bs = c->bs;
	uint32_t idx = (uint32_t)(c->id - 1);
	bool marked = brisk_bit_array_get(bs->used_ids, idx);

	if (rc == -ENOMEM) {
		blob_loaded_free(res);
		check_done(c, rc);
		return;
	}
	if (rc != 0) {
		check_problem(c, "blob 0x%x: its current metadata version cannot be read (%s)", idx + 1,
			      strerror(-rc));
	} else {
		if (res->max_seq > c->max_seq) {
			c->max_seq = res->max_seq;
		}
		if (res->present) {
			c->present[idx] = true;
			c->parent[idx] = res->md.parent_id;
			c->flags[idx] = res->md.flags;
			if (!marked) {
				check_problem(c, "blob 0x%x has a valid current version but its id is "
					      "marked free", idx + 1);
			}
			if (bs->parent_of[idx] != res->md.parent_id) {
				check_problem(c, "blob 0x%x: the store has parent 0x%" PRIx64 " in memory, "
					      "its metadata says 0x%" PRIx64, idx + 1, bs->parent_of[idx],
					      res->md.parent_id);
			}
			if (res->damaged || (bs->id_flags[idx] & BLOB_ID_DAMAGED)) {
				check_problem(c, "blob 0x%x has damaged metadata: %s", idx + 1,
					      res->damaged ? res->why : "flagged at load (its newest "
					      "version was damaged or lost, or it shares storage)");
			}
			if (blob_md_pending_partner(&res->md) != 0) {
				/* Only a relation operation cut short leaves one; the next
				 * load settles it. */
				check_problem(c, "blob 0x%x carries the pending mark of a snapshot or "
					      "snapshot delete that did not finish (partner 0x%" PRIx64 ")",
					      idx + 1, blob_md_pending_partner(&res->md));
			}
			check_claim(c, res);
		} else {
			if (marked) {
				check_problem(c, "blob 0x%x is missing: marked in use but has no valid "
					      "metadata version (damaged or missing head page or chain%s%s)",
					      idx + 1, res->damaged ? ": " : "", res->damaged ? res->why : "");
			}
			if (res->stale_other) {
				check_problem(c, "blob id 0x%x is deleted but a head slot still holds a "
					      "live version", idx + 1);
			}
			if (bs->parent_of[idx] != 0) {
				check_problem(c, "blob id 0x%x has no version but the store remembers "
					      "parent 0x%" PRIx64 " for it", idx + 1, bs->parent_of[idx]);
			}
		}
	}
	blob_loaded_free(res);
	c->id++;
	check_scan_id(c);
}

static void check_scan_id(struct check_ctx *c)
{
	if (c->id > c->bs->sb.num_blob_ids) {
		check_masks(c);
		return;
	}
	blob_load_version(c->bs, c->id, check_id_loaded, c);
}

/* A copy on disk must be valid and describe the store that is loaded. */
static void check_super_copy(struct check_ctx *c, const struct blob_super *mem, int copy,
			     const uint8_t *page, uint64_t dev_bytes, struct blob_super *out)
{
	int rc = blob_super_decode(out, page, dev_bytes);

	if (rc != 0) {
		check_problem(c, "super block copy %c is %s (%s)", 'A' + copy,
			      rc == -EILSEQ ? "damaged: bad magic or CRC" : "not usable",
			      strerror(-rc));
		out->super_seq = UINT64_MAX;
		return;
	}
	if (brisk_uuid_compare(&out->uuid, &mem->uuid) != 0 || out->size != mem->size ||
	    out->cluster_size != mem->cluster_size || out->md_start != mem->md_start ||
	    out->md_len != mem->md_len || out->num_blob_ids != mem->num_blob_ids) {
		check_problem(c, "super block copy %c describes another geometry or store than the "
			      "one loaded", 'A' + copy);
	}
}

static void check_super_read(void *ctx, int rc)
{
	struct check_ctx *c = ctx;
	struct brisk_blob_store *bs = c->bs;
	uint64_t dev_bytes = bs->dev->blockcnt * bs->dev->blocklen;
	struct blob_super copy[2];

	if (rc != 0) {
		check_done(c, rc);
		return;
	}
	for (int i = 0; i < 2; i++) {
		check_super_copy(c, &bs->sb, i, c->buf + (uint64_t)i * BLOB_PAGE_SIZE, dev_bytes,
				 &copy[i]);
	}
	if (copy[0].super_seq != UINT64_MAX && copy[1].super_seq != UINT64_MAX &&
	    copy[0].super_seq != copy[1].super_seq) {
		check_problem(c, "the super block copies have different sequence numbers (%" PRIu64
			      " and %" PRIu64 "): an update did not reach both", copy[0].super_seq,
			      copy[1].super_seq);
	}
	c->id = 1;
	check_scan_id(c);
}

void brisk_bs_check(struct brisk_blob_store *bs,
		    void (*report)(void *report_ctx, const char *problem), void *report_ctx,
		    brisk_bs_op_complete cb_fn, void *cb_arg)
{
	struct check_ctx *c;
	uint32_t n;
	int rc;

	if (bs == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("brisk_bs_check: %s is NULL", bs == NULL ? "bs" : "cb_fn");
		if (cb_fn != NULL) {
			blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	/* Unsynced changes of an open blob, or an operation half done, would
	 * read as inconsistencies: only a quiet store can be checked. */
	if (blob_on_md_thread(bs) && (!TAILQ_EMPTY(&bs->open_blobs) || bs->md_ops > 0 ||
				      bs->relation_running || !TAILQ_EMPTY(&bs->relation_ops))) {
		BRISK_ERRLOG("brisk_bs_check: blobs are open or metadata operations are running");
		blob_defer_cb(cb_fn, cb_arg, -EBUSY);
		return;
	}
	rc = blob_md_op_begin(bs, "brisk_bs_check");
	if (rc != 0) {
		blob_defer_cb(cb_fn, cb_arg, rc);
		return;
	}
	n = bs->sb.num_blob_ids;
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		blob_md_op_end(bs);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->bs = bs;
	c->report = report;
	c->report_ctx = report_ctx;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	c->num_clusters = bs->num_clusters;
	c->cluster_owner = calloc(c->num_clusters, sizeof(uint32_t));
	c->page_owner = calloc(bs->num_chain_pages, sizeof(uint32_t));
	c->present = calloc(n, sizeof(bool));
	c->parent = calloc(n, sizeof(uint64_t));
	c->flags = calloc(n, sizeof(uint32_t));
	c->buf = blob_page_buf_alloc(2);
	if (!c->cluster_owner || !c->page_owner || !c->present || !c->parent || !c->flags ||
	    !c->buf) {
		check_free(c);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	blob_md_read_pages(bs, 0, 2, c->buf, check_super_read, c);
}
