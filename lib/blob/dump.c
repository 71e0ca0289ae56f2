/* Human-readable dump of a store's metadata (brisk_bs_dump), straight from
 * the device: no store is loaded and nothing is written, so a store that
 * does not load can still be looked at. Decoding goes through format.c;
 * this file only classifies pages and prints.
 *
 * begin -> read_super -> print_super (both copies; the newest valid one
 *   gives the geometry) -> read_mask -> print_mask (x3)
 *   -> heads: for each id, read_slots -> print_slot (x2); a live head is
 *      decoded with its chain: read_chain_page -> print_chain_page ... ->
 *      print_version_end
 *   -> chains: read_chain_batch -> print the pages no head reached
 *   -> summary -> done (channel and device released, then cb) */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/bit_array.h>
#include <brisk/crc32c.h>
#include <brisk/log.h>
#include <brisk/thread.h>

#include "blob_internal.h"

/* Chain pages read at once while scanning the chain region. */
#define DUMP_BATCH 32
/* Bytes of an xattr value printed before "...". */
#define DUMP_VALUE_MAX 64

enum page_state {
	PAGE_VALID,       /* a metadata page of this store */
	PAGE_EMPTY,       /* all zero: never written */
	PAGE_NOT_MD,      /* no metadata magic */
	PAGE_BAD_CRC,     /* magic, but the CRC does not match */
	PAGE_OTHER_STORE, /* intact, but of another store (uuid) */
	PAGE_BAD_KIND,    /* intact, of this store, unknown kind */
};

struct dump_ctx {
	struct brisk_bs_dev *dev;
	struct brisk_io_channel *ch;
	FILE *out;
	brisk_bs_op_complete cb;
	void *cb_arg;
	struct brisk_bs_dev_cb_args args;
	void (*after_read)(struct dump_ctx *c); /* the step a read completes into */
	uint64_t read_page;
	uint32_t blocks_per_page;
	uint8_t *buf;                /* DUMP_BATCH pages: super copies, slots, chain batches */
	uint8_t *page;               /* one chain page being followed */
	uint8_t *mask;               /* the mask being read */
	struct blob_super sb;
	uint64_t num_chain;
	int mask_index;              /* 0 chain pages, 1 clusters, 2 ids */
	/* Heads. */
	brisk_blob_id id;
	int slot;
	struct blob_page_hdr hdr[2];
	enum page_state state[2];
	struct blob_md md;           /* the version being decoded */
	uint32_t next;               /* its next chain page */
	uint32_t index;              /* expected index of that page */
	struct brisk_bit_array *shown; /* chain pages printed with a version */
	/* Chain scan. */
	uint64_t chain_pos;
	uint64_t chain_count;        /* pages in the current batch */
	uint64_t chain_listed;       /* pages printed by the scan */
	/* Summary. */
	uint64_t live_heads, tombstones, empty, damaged, foreign, unreached, versions_ok;
};

static void dump_heads_next_id(struct dump_ctx *c);
static void dump_slot(struct dump_ctx *c);
static void dump_chain_scan(struct dump_ctx *c);

static void dump_done(struct dump_ctx *c, int rc)
{
	brisk_bs_op_complete cb = c->cb;
	void *cb_arg = c->cb_arg;

	fflush(c->out);
	blob_md_free(&c->md);
	brisk_bit_array_free(&c->shown);
	blob_page_buf_free(c->buf);
	blob_page_buf_free(c->page);
	blob_page_buf_free(c->mask);
	if (c->ch != NULL) {
		c->dev->destroy_channel(c->dev, c->ch);
	}
	c->dev->destroy(c->dev);
	free(c);
	cb(cb_arg, rc);
}

/* ---- Reading ---- */

static void dump_read_done(struct brisk_io_channel *ch, void *cb_arg, int rc)
{
	struct dump_ctx *c = cb_arg;

	(void)ch;
	if (rc != 0) {
		fprintf(c->out, "read of device page %" PRIu64 " failed: %s; dump stopped\n",
			c->read_page, strerror(-rc));
		dump_done(c, rc);
		return;
	}
	c->after_read(c);
}

static void dump_read(struct dump_ctx *c, uint64_t page, uint64_t count, void *buf,
		      void (*after_read)(struct dump_ctx *c))
{
	c->after_read = after_read;
	c->read_page = page;
	c->args.cb_fn = dump_read_done;
	c->args.cb_arg = c;
	c->args.channel = c->ch;
	c->dev->read(c->dev, c->ch, buf, page * c->blocks_per_page,
		     (uint32_t)(count * c->blocks_per_page), &c->args);
}

/* Device page of metadata-region page idx. */
static uint64_t dump_region_page(const struct dump_ctx *c, uint64_t idx)
{
	return c->sb.md_start + idx;
}

/* ---- Classifying and printing pages ---- */

static bool page_is_zero(const uint8_t *p)
{
	for (uint32_t i = 0; i < BLOB_PAGE_SIZE; i++) {
		if (p[i] != 0) {
			return false;
		}
	}
	return true;
}

static enum page_state dump_classify(const struct dump_ctx *c, const uint8_t *p,
				     struct blob_page_hdr *hdr)
{
	struct brisk_uuid other;

	if (blob_page_check(p, &c->sb.uuid, hdr)) {
		return PAGE_VALID;
	}
	if (page_is_zero(p)) {
		return PAGE_EMPTY;
	}
	if (blob_get_le32(p + BLOB_MDH_MAGIC_OFF) != BLOB_MD_MAGIC) {
		return PAGE_NOT_MD;
	}
	if (blob_get_le32(p + BLOB_PAGE_CRC_OFF) != brisk_crc32c(p, BLOB_PAGE_CRC_OFF)) {
		return PAGE_BAD_CRC;
	}
	/* blob_page_check accepts any intact page that carries another uuid
	 * as "not ours"; pages of an earlier store on the device look like that. */
	memcpy(other.u, p + BLOB_MDH_UUID_OFF, sizeof(other.u));
	if (brisk_uuid_compare(&other, &c->sb.uuid) != 0) {
		return PAGE_OTHER_STORE;
	}
	return PAGE_BAD_KIND;
}

static const char *page_state_name(enum page_state s)
{
	switch (s) {
	case PAGE_VALID: return "valid";
	case PAGE_EMPTY: return "empty";
	case PAGE_NOT_MD: return "not a metadata page";
	case PAGE_BAD_CRC: return "bad CRC";
	case PAGE_OTHER_STORE: return "metadata page of another store (uuid differs)";
	case PAGE_BAD_KIND: return "unknown page kind";
	}
	return "?";
}

/* Counts a page that is not valid, by kind, for the summary. */
static void dump_count_bad(struct dump_ctx *c, enum page_state s)
{
	if (s == PAGE_EMPTY) {
		c->empty++;
	} else if (s == PAGE_OTHER_STORE) {
		c->foreign++;
	} else {
		c->damaged++;
	}
}

static void print_hdr(struct dump_ctx *c, const struct blob_page_hdr *h)
{
	fprintf(c->out, "%s blob 0x%" PRIx64 " seq %" PRIu64 " index %u next ",
		h->kind == BLOB_MD_KIND_HEAD ? "head" : "chain", h->blobid, h->seq, h->index);
	if (h->next == BLOB_MD_NO_NEXT) {
		fprintf(c->out, "none");
	} else {
		fprintf(c->out, "%u", h->next);
	}
	if (h->flags & BLOB_MD_PAGE_TOMBSTONE) {
		fprintf(c->out, " TOMBSTONE");
	}
	if (h->flags & ~BLOB_MD_PAGE_TOMBSTONE) {
		fprintf(c->out, " unknown page flags 0x%x", h->flags & ~BLOB_MD_PAGE_TOMBSTONE);
	}
	fprintf(c->out, "\n");
}

static void print_value(struct dump_ctx *c, const uint8_t *v, uint16_t len)
{
	uint16_t textlen = len > 0 && v[len - 1] == 0 ? len - 1 : len; /* a C string's NUL */
	bool text = len > 0;
	uint16_t n;

	for (uint16_t i = 0; i < textlen; i++) {
		if (v[i] < 0x20 || v[i] > 0x7e) {
			text = false;
			break;
		}
	}
	if (text) {
		n = textlen < DUMP_VALUE_MAX ? textlen : DUMP_VALUE_MAX;
		fprintf(c->out, "\"%.*s\"%s", (int)n, (const char *)v, textlen > n ? "..." : "");
	} else {
		n = len < DUMP_VALUE_MAX ? len : DUMP_VALUE_MAX;
		fprintf(c->out, "0x");
		for (uint16_t i = 0; i < n; i++) {
			fprintf(c->out, "%02x", v[i]);
		}
		fprintf(c->out, "%s", len > n ? "..." : "");
	}
	fprintf(c->out, " (%u bytes)\n", len);
}

static void print_xattrs_after(struct dump_ctx *c, struct blob_xattr_list *list,
			       struct blob_xattr *last, const char *what)
{
	struct blob_xattr *x = last != NULL ? TAILQ_NEXT(last, link) : TAILQ_FIRST(list);

	for (; x != NULL; x = TAILQ_NEXT(x, link)) {
		fprintf(c->out, "      %s %s = ", what, x->name);
		print_value(c, x->value, x->value_len);
	}
}

static const char *clear_method_name(uint8_t m)
{
	switch (m) {
	case BRISK_BLOB_CLEAR_WITH_DEFAULT: return "default";
	case BRISK_BLOB_CLEAR_WITH_NONE: return "none";
	case BRISK_BLOB_CLEAR_WITH_UNMAP: return "unmap";
	case BRISK_BLOB_CLEAR_WITH_WRITE_ZEROES: return "write_zeroes";
	}
	return "?";
}

/* Decodes page into c->md and prints what this page added: the BLOB
 * descriptor (head), extent runs, xattrs. false when it did not decode. */
static bool dump_decode_page(struct dump_ctx *c, const uint8_t *page, bool head)
{
	struct blob_md *md = &c->md;
	struct blob_xattr *last = TAILQ_LAST(&md->xattrs, blob_xattr_list);
	struct blob_xattr *last_int = TAILQ_LAST(&md->xattrs_internal, blob_xattr_list);
	uint64_t from = head ? 0 : md->clusters_filled;
	int rc;

	rc = blob_md_decode_page(md, page, c->id, head);
	if (rc != 0) {
		fprintf(c->out, "      descriptors: %s (details in the log)\n",
			rc == -EPROTONOSUPPORT ? "unknown descriptor or flag (a newer format?)" :
			rc == -ENOMEM ? "out of memory" : "malformed");
		return false;
	}
	if (head) {
		fprintf(c->out, "      BLOB clusters %" PRIu64 " parent ", md->num_clusters);
		if (md->parent_id != 0) {
			fprintf(c->out, "0x%" PRIx64, md->parent_id);
		} else {
			fprintf(c->out, "none");
		}
		fprintf(c->out, " flags 0x%x%s%s clear %s\n", md->flags,
			md->flags & BLOB_FLAG_THIN ? " thin" : "",
			md->flags & BLOB_FLAG_READ_ONLY ? " read-only" : "",
			clear_method_name(md->clear_method));
	}
	/* The runs as the encoder writes them: consecutive device clusters or holes. */
	for (uint64_t i = from; i < md->clusters_filled;) {
		uint64_t first = md->clusters[i], n = 1;

		while (i + n < md->clusters_filled &&
		       md->clusters[i + n] == (first == 0 ? 0 : first + n)) {
			n++;
		}
		if (first == 0) {
			fprintf(c->out, "      EXTENT_RUN clusters %" PRIu64 "..%" PRIu64
				" not allocated\n", i, i + n - 1);
		} else {
			fprintf(c->out, "      EXTENT_RUN clusters %" PRIu64 "..%" PRIu64
				" -> device clusters %" PRIu64 "..%" PRIu64 "\n", i, i + n - 1, first,
				first + n - 1);
		}
		i += n;
	}
	print_xattrs_after(c, &md->xattrs, last, "XATTR");
	print_xattrs_after(c, &md->xattrs_internal, last_int, "XATTR_INTERNAL");
	return true;
}

/* ---- Heads: both slots of each id; a live head with its chain ---- */

static void dump_version_end(struct dump_ctx *c, const char *broken)
{
	if (broken == NULL && blob_md_decode_finish(&c->md, c->id) != 0) {
		broken = "the extent runs do not cover every cluster";
	}
	if (broken != NULL) {
		fprintf(c->out, "    version seq %" PRIu64 ": INCOMPLETE: %s\n",
			c->hdr[c->slot].seq, broken);
	} else {
		fprintf(c->out, "    version seq %" PRIu64 ": complete (%u page(s))\n",
			c->hdr[c->slot].seq, c->index);
		c->versions_ok++;
	}
	blob_md_free(&c->md);
	c->slot++;
	dump_slot(c);
}

static void dump_chain_page_read(struct dump_ctx *c)
{
	const struct blob_page_hdr *head = &c->hdr[c->slot];
	struct blob_page_hdr h;
	enum page_state s = dump_classify(c, c->page, &h);
	uint32_t this = c->next;

	fprintf(c->out, "    chain page %u (device page %" PRIu64 "): ", this,
		dump_region_page(c, 2ull * c->sb.num_blob_ids + this));
	if (s != PAGE_VALID) {
		fprintf(c->out, "%s\n", page_state_name(s));
		dump_version_end(c, "a chain page is not a valid metadata page");
		return;
	}
	print_hdr(c, &h);
	if (h.kind != BLOB_MD_KIND_CHAIN || h.blobid != c->id || h.seq != head->seq ||
	    h.index != c->index) {
		dump_version_end(c, "the chain page belongs to another blob or version");
		return;
	}
	brisk_bit_array_set(c->shown, this);
	if (!dump_decode_page(c, c->page, false)) {
		dump_version_end(c, "a chain page does not decode");
		return;
	}
	c->next = h.next;
	c->index++;
	if (c->next == BLOB_MD_NO_NEXT) {
		dump_version_end(c, NULL);
		return;
	}
	if (c->next >= c->num_chain || c->index > c->num_chain) {
		dump_version_end(c, "the chain points outside the chain region or loops");
		return;
	}
	dump_read(c, dump_region_page(c, 2ull * c->sb.num_blob_ids + c->next), 1, c->page,
		  dump_chain_page_read);
}

/* A live head in c->slot: decode it, then follow its chain. */
static void dump_live_head(struct dump_ctx *c, const uint8_t *page)
{
	const struct blob_page_hdr *h = &c->hdr[c->slot];

	c->live_heads++;
	blob_md_init(&c->md);
	c->index = 1;
	if (!dump_decode_page(c, page, true)) {
		dump_version_end(c, "the head page does not decode");
		return;
	}
	c->next = h->next;
	if (c->next == BLOB_MD_NO_NEXT) {
		dump_version_end(c, NULL);
		return;
	}
	if (c->next >= c->num_chain) {
		dump_version_end(c, "the chain points outside the chain region");
		return;
	}
	dump_read(c, dump_region_page(c, 2ull * c->sb.num_blob_ids + c->next), 1, c->page,
		  dump_chain_page_read);
}

/* Prints slot c->slot of c->id (both were read into c->buf), then the next. */
static void dump_slot(struct dump_ctx *c)
{
	const uint8_t *page;
	const struct blob_page_hdr *h;
	int other = 1 - c->slot;

	if (c->slot > 1) {
		c->id++;
		dump_heads_next_id(c);
		return;
	}
	page = c->buf + (uint64_t)c->slot * BLOB_PAGE_SIZE;
	h = &c->hdr[c->slot];
	if (c->state[c->slot] != PAGE_VALID) {
		dump_count_bad(c, c->state[c->slot]);
		if (c->state[c->slot] != PAGE_EMPTY) {
			fprintf(c->out, "  slot %d (device page %" PRIu64 "): %s\n", c->slot,
				dump_region_page(c, blob_head_slot_index(c->id, c->slot)),
				page_state_name(c->state[c->slot]));
		}
		c->slot++;
		dump_slot(c);
		return;
	}
	fprintf(c->out, "  slot %d (device page %" PRIu64 ", %s): ", c->slot,
		dump_region_page(c, blob_head_slot_index(c->id, c->slot)),
		c->state[other] == PAGE_VALID && c->hdr[other].blobid == c->id &&
		c->hdr[other].seq > h->seq ? "older" : "newest");
	print_hdr(c, h);
	if (h->kind != BLOB_MD_KIND_HEAD || h->blobid != c->id || h->index != 0) {
		fprintf(c->out, "    not a head of this slot's blob id: ignored by load\n");
		c->damaged++;
		c->slot++;
		dump_slot(c);
		return;
	}
	if (h->flags & BLOB_MD_PAGE_TOMBSTONE) {
		c->tombstones++;
		c->slot++;
		dump_slot(c);
		return;
	}
	dump_live_head(c, page);
}

static void dump_slots_read(struct dump_ctx *c)
{
	bool any = false;

	for (int s = 0; s < 2; s++) {
		c->state[s] = dump_classify(c, c->buf + (uint64_t)s * BLOB_PAGE_SIZE, &c->hdr[s]);
		any = any || c->state[s] != PAGE_EMPTY;
	}
	if (any) {
		fprintf(c->out, "blob id 0x%" PRIx64 ":\n", c->id);
	}
	c->slot = 0;
	dump_slot(c);
}

static void dump_heads_next_id(struct dump_ctx *c)
{
	if (c->id > c->sb.num_blob_ids) {
		fprintf(c->out, "\nChain pages not reached from a head above:\n");
		c->chain_pos = 0;
		dump_chain_scan(c);
		return;
	}
	dump_read(c, dump_region_page(c, blob_head_slot_index(c->id, 0)), 2, c->buf,
		  dump_slots_read);
}

/* ---- Chain pages no head reached ---- */

static void dump_summary(struct dump_ctx *c)
{
	if (c->chain_listed == 0) {
		fprintf(c->out, "  none\n");
	}
	fprintf(c->out, "\nSummary: %" PRIu64 " live head(s), %" PRIu64 " complete version(s), %"
		PRIu64 " tombstone(s), %" PRIu64 " unreached chain page(s), %" PRIu64
		" damaged page(s), %" PRIu64 " page(s) of another store, %" PRIu64 " empty page(s)\n",
		c->live_heads, c->versions_ok, c->tombstones, c->unreached, c->damaged, c->foreign,
		c->empty);
	dump_done(c, 0);
}

static void dump_chain_batch_read(struct dump_ctx *c)
{
	for (uint64_t i = 0; i < c->chain_count; i++) {
		uint64_t idx = c->chain_pos + i;
		struct blob_page_hdr h;
		enum page_state s;

		if (brisk_bit_array_get(c->shown, (uint32_t)idx)) {
			continue;
		}
		s = dump_classify(c, c->buf + i * BLOB_PAGE_SIZE, &h);
		if (s != PAGE_VALID) {
			dump_count_bad(c, s);
			if (s != PAGE_EMPTY) {
				c->chain_listed++;
				fprintf(c->out, "  chain page %" PRIu64 " (device page %" PRIu64 "): %s\n",
					idx, dump_region_page(c, 2ull * c->sb.num_blob_ids + idx),
					page_state_name(s));
			}
			continue;
		}
		c->unreached++;
		c->chain_listed++;
		fprintf(c->out, "  chain page %" PRIu64 " (device page %" PRIu64 "): ", idx,
			dump_region_page(c, 2ull * c->sb.num_blob_ids + idx));
		print_hdr(c, &h);
		fprintf(c->out, "    %s\n", h.kind == BLOB_MD_KIND_CHAIN ?
			"of an older version or freed: no current head names it" :
			"a head page in the chain region: ignored by load");
	}
	c->chain_pos += c->chain_count;
	dump_chain_scan(c);
}

static void dump_chain_scan(struct dump_ctx *c)
{
	if (c->chain_pos >= c->num_chain) {
		dump_summary(c);
		return;
	}
	c->chain_count = c->num_chain - c->chain_pos < DUMP_BATCH ? c->num_chain - c->chain_pos :
			 DUMP_BATCH;
	dump_read(c, dump_region_page(c, 2ull * c->sb.num_blob_ids + c->chain_pos), c->chain_count,
		  c->buf, dump_chain_batch_read);
}

/* ---- Masks ---- */

static const struct blob_mask_loc *dump_mask_loc(struct dump_ctx *c, uint64_t *nbits,
						 const char **name)
{
	switch (c->mask_index) {
	case 0:
		*nbits = c->num_chain;
		*name = "chain-page";
		return &c->sb.chain_mask;
	case 1:
		*nbits = blob_super_num_clusters(&c->sb);
		*name = "cluster";
		return &c->sb.cluster_mask;
	default:
		*nbits = c->sb.num_blob_ids;
		*name = "blob-id";
		return &c->sb.id_mask;
	}
}

static void dump_next_mask(struct dump_ctx *c);

static void dump_mask_read(struct dump_ctx *c)
{
	const char *name;
	uint64_t nbits, set = 0;
	const struct blob_mask_loc *m = dump_mask_loc(c, &nbits, &name);
	bool crc_ok = brisk_crc32c(c->mask, (nbits + 7) / 8) == m->crc;

	for (uint64_t i = 0; i < nbits; i++) {
		set += (c->mask[i / 8] >> (i % 8)) & 1;
	}
	fprintf(c->out, "  %-10s mask: %" PRIu64 " of %" PRIu64 " bits set, CRC %s\n", name, set,
		nbits, crc_ok ? "ok" : "does not match");
	blob_page_buf_free(c->mask);
	c->mask = NULL;
	c->mask_index++;
	dump_next_mask(c);
}

static void dump_next_mask(struct dump_ctx *c)
{
	const char *name;
	uint64_t nbits, pages;
	const struct blob_mask_loc *m;

	if (c->mask_index > 2) {
		fprintf(c->out, "\nHead slots (two per blob id; empty ones not shown):\n");
		c->id = 1;
		dump_heads_next_id(c);
		return;
	}
	m = dump_mask_loc(c, &nbits, &name);
	/* Only the bytes the CRC covers: the region itself may be longer. */
	pages = ((nbits + 7) / 8 + BLOB_PAGE_SIZE - 1) / BLOB_PAGE_SIZE;
	c->mask = blob_page_buf_alloc(pages);
	if (c->mask == NULL) {
		dump_done(c, -ENOMEM);
		return;
	}
	dump_read(c, m->start, pages, c->mask, dump_mask_read);
}

/* ---- Super block ---- */

static void print_mask_loc(struct dump_ctx *c, const char *name, const struct blob_mask_loc *m)
{
	fprintf(c->out, "  %-10s mask: pages %" PRIu64 "..%" PRIu64 " CRC 0x%08x\n", name, m->start,
		m->start + m->len - 1, m->crc);
}

static void print_super(struct dump_ctx *c, const struct blob_super *sb)
{
	char uuid[BRISK_UUID_STRING_LEN];
	char bstype[BRISK_BLOBSTORE_TYPE_LENGTH + 1];

	brisk_uuid_fmt_lower(uuid, sizeof(uuid), &sb->uuid);
	for (int i = 0; i < BRISK_BLOBSTORE_TYPE_LENGTH; i++) {
		uint8_t ch = sb->bstype[i];

		bstype[i] = ch == 0 ? '\0' : (ch >= 0x20 && ch <= 0x7e ? (char)ch : '?');
	}
	bstype[BRISK_BLOBSTORE_TYPE_LENGTH] = '\0';
	fprintf(c->out, "  version %u, %s, super_seq %" PRIu64 ", md_seq %" PRIu64 "\n", sb->version,
		sb->clean ? "clean" : "in use or not shut down cleanly", sb->super_seq, sb->md_seq);
	fprintf(c->out, "  uuid %s, bstype \"%s\"\n", uuid, bstype);
	fprintf(c->out, "  page size %u, io unit %u, cluster size %u\n", sb->page_size,
		sb->io_unit_size, sb->cluster_size);
	if (sb->cluster_size == 0) {
		return;
	}
	fprintf(c->out, "  size %" PRIu64 " bytes (%" PRIu64 " clusters), %u blob ids\n", sb->size,
		sb->size / sb->cluster_size, sb->num_blob_ids);
	fprintf(c->out, "  metadata region: pages %" PRIu64 "..%" PRIu64 " (%" PRIu64 " pages: %"
		PRIu64 " head slots, then chain pages)\n", sb->md_start, sb->md_start + sb->md_len - 1,
		sb->md_len, (uint64_t)2 * sb->num_blob_ids);
	print_mask_loc(c, "chain-page", &sb->chain_mask);
	print_mask_loc(c, "cluster", &sb->cluster_mask);
	print_mask_loc(c, "blob-id", &sb->id_mask);
}

static void dump_super_read(struct dump_ctx *c)
{
	uint64_t dev_bytes = c->dev->blockcnt * c->dev->blocklen;
	struct blob_super copy[2];
	int rc[2], best = -1;

	for (int i = 0; i < 2; i++) {
		const uint8_t *p = c->buf + (uint64_t)i * BLOB_PAGE_SIZE;

		rc[i] = blob_super_decode(&copy[i], p, dev_bytes);
		fprintf(c->out, "Super block copy %c (page %d): ", 'A' + i, i);
		if (rc[i] == -EILSEQ) {
			fprintf(c->out, "%s\n", memcmp(p, BLOB_SUPER_MAGIC, 8) != 0 ?
				(page_is_zero(p) ? "empty" : "not a super block (no magic)") : "bad CRC");
			continue;
		}
		/* Other errors come after the fields were read: show them. */
		fprintf(c->out, "%s\n", rc[i] == 0 ? "valid" : rc[i] == -EPROTONOSUPPORT ?
			"unsupported (version or page size; details in the log)" :
			"invalid geometry (details in the log)");
		print_super(c, &copy[i]);
		if (rc[i] == 0 && (best < 0 || copy[i].super_seq > copy[best].super_seq)) {
			best = i;
		}
	}
	if (best < 0) {
		fprintf(c->out, "No valid super block copy: no blobstore on this device.\n");
		dump_done(c, -EILSEQ);
		return;
	}
	c->sb = copy[best];
	c->num_chain = blob_super_num_chain_pages(&c->sb);
	if (c->num_chain > UINT32_MAX - 1) {
		/* blob_super_decode refuses this already; the bit array below needs it. */
		dump_done(c, -EINVAL);
		return;
	}
	c->shown = brisk_bit_array_create((uint32_t)c->num_chain);
	if (c->shown == NULL) {
		dump_done(c, -ENOMEM);
		return;
	}
	fprintf(c->out, "Using copy %c. Masks (trusted by load only when clean):\n", 'A' + best);
	c->mask_index = 0;
	dump_next_mask(c);
}

void brisk_bs_dump(struct brisk_bs_dev *dev, FILE *out, brisk_bs_op_complete cb_fn, void *cb_arg)
{
	struct dump_ctx *c;

	if (dev == NULL || out == NULL || cb_fn == NULL) {
		BRISK_ERRLOG("brisk_bs_dump: %s is NULL", dev == NULL ? "dev" : out == NULL ? "out" :
			     "cb_fn");
		if (dev != NULL) {
			dev->destroy(dev);
		}
		if (cb_fn != NULL) {
			blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		}
		return;
	}
	if (dev->blocklen == 0 || dev->blocklen > BLOB_PAGE_SIZE || BLOB_PAGE_SIZE % dev->blocklen ||
	    dev->blockcnt < 2 * BLOB_PAGE_SIZE / dev->blocklen) {
		BRISK_ERRLOG("brisk_bs_dump: device of %" PRIu64 " blocks of %u bytes cannot hold a "
			     "store", dev->blockcnt, dev->blocklen);
		dev->destroy(dev);
		blob_defer_cb(cb_fn, cb_arg, -EINVAL);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		dev->destroy(dev);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	c->dev = dev;
	c->out = out;
	c->cb = cb_fn;
	c->cb_arg = cb_arg;
	c->blocks_per_page = BLOB_PAGE_SIZE / dev->blocklen;
	blob_md_init(&c->md);
	c->buf = blob_page_buf_alloc(DUMP_BATCH);
	c->page = blob_page_buf_alloc(1);
	c->ch = dev->create_channel(dev);
	if (c->buf == NULL || c->page == NULL || c->ch == NULL) {
		/* Not dump_done: it would complete inside this call. */
		blob_md_free(&c->md);
		blob_page_buf_free(c->buf);
		blob_page_buf_free(c->page);
		if (c->ch != NULL) {
			dev->destroy_channel(dev, c->ch);
		}
		dev->destroy(dev);
		free(c);
		blob_defer_cb(cb_fn, cb_arg, -ENOMEM);
		return;
	}
	dump_read(c, 0, 2, c->buf, dump_super_read);
}
