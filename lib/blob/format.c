/* Encode and decode of the super block and metadata pages
 * (doc/blobstore_format.md). Pure functions: no I/O, no store state. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/crc32c.h>
#include <brisk/log.h>

#include "blob_internal.h"

BRISK_LOG_REGISTER_COMPONENT(blob)

static void page_seal(uint8_t *page)
{
	blob_put_le32(page + BLOB_PAGE_CRC_OFF, brisk_crc32c(page, BLOB_PAGE_CRC_OFF));
}

static bool page_crc_ok(const uint8_t *page)
{
	return blob_get_le32(page + BLOB_PAGE_CRC_OFF) == brisk_crc32c(page, BLOB_PAGE_CRC_OFF);
}

/* ---- Super block ---- */

static void put_mask_loc(uint8_t *p, const struct blob_mask_loc *m)
{
	blob_put_le64(p + BLOB_MASK_LOC_START_OFF, m->start);
	blob_put_le64(p + BLOB_MASK_LOC_LEN_OFF, m->len);
	blob_put_le32(p + BLOB_MASK_LOC_CRC_OFF, m->crc);
	blob_put_le32(p + BLOB_MASK_LOC_PAD_OFF, 0);
}

static void get_mask_loc(const uint8_t *p, struct blob_mask_loc *m)
{
	m->start = blob_get_le64(p + BLOB_MASK_LOC_START_OFF);
	m->len = blob_get_le64(p + BLOB_MASK_LOC_LEN_OFF);
	m->crc = blob_get_le32(p + BLOB_MASK_LOC_CRC_OFF);
}

void blob_super_encode(const struct blob_super *sb, void *page_buf)
{
	uint8_t *p = page_buf;

	memset(p, 0, BLOB_PAGE_SIZE);
	memcpy(p + BLOB_SB_MAGIC_OFF, BLOB_SUPER_MAGIC, 8);
	blob_put_le32(p + BLOB_SB_VERSION_OFF, sb->version);
	blob_put_le32(p + BLOB_SB_CLEAN_OFF, sb->clean ? 1 : 0);
	blob_put_le64(p + BLOB_SB_SUPER_SEQ_OFF, sb->super_seq);
	blob_put_le32(p + BLOB_SB_PAGE_SIZE_OFF, sb->page_size);
	blob_put_le32(p + BLOB_SB_IO_UNIT_OFF, sb->io_unit_size);
	blob_put_le32(p + BLOB_SB_CLUSTER_SIZE_OFF, sb->cluster_size);
	blob_put_le32(p + BLOB_SB_NUM_IDS_OFF, sb->num_blob_ids);
	memcpy(p + BLOB_SB_BSTYPE_OFF, sb->bstype, BRISK_BLOBSTORE_TYPE_LENGTH);
	memcpy(p + BLOB_SB_UUID_OFF, sb->uuid.u, 16);
	blob_put_le64(p + BLOB_SB_SIZE_OFF, sb->size);
	blob_put_le64(p + BLOB_SB_MD_START_OFF, sb->md_start);
	blob_put_le64(p + BLOB_SB_MD_LEN_OFF, sb->md_len);
	put_mask_loc(p + BLOB_SB_CHAIN_MASK_OFF, &sb->chain_mask);
	put_mask_loc(p + BLOB_SB_CLUSTER_MASK_OFF, &sb->cluster_mask);
	put_mask_loc(p + BLOB_SB_ID_MASK_OFF, &sb->id_mask);
	blob_put_le64(p + BLOB_SB_MD_SEQ_OFF, sb->md_seq);
	blob_put_le32(p + BLOB_SB_FEATURES_OFF, sb->features);
	page_seal(p);
}

uint64_t blob_super_num_clusters(const struct blob_super *sb)
{
	return sb->size / sb->cluster_size;
}

uint64_t blob_super_num_chain_pages(const struct blob_super *sb)
{
	return sb->md_len - 2ull * sb->num_blob_ids;
}

/* A mask region: after the super block copies, before the metadata region,
 * and long enough for nbits. */
static int check_mask_loc(const struct blob_super *sb, const struct blob_mask_loc *m,
			  uint64_t nbits, const char *name)
{
	uint64_t need = ((nbits + 7) / 8 + BLOB_PAGE_SIZE - 1) / BLOB_PAGE_SIZE;

	if (m->start < 2 || m->len < need || m->start + m->len > sb->md_start) {
		BRISK_ERRLOG("blobstore super block: %s mask (start %lu, %lu pages) out of range "
			     "(needs %lu pages between page 2 and the metadata region at %lu)",
			     name, m->start, m->len, need, sb->md_start);
		return -EINVAL;
	}
	return 0;
}

int blob_super_decode(struct blob_super *sb, const void *page_buf, uint64_t dev_bytes)
{
	const uint8_t *p = page_buf;
	uint64_t total_pages;
	int rc;

	if (memcmp(p + BLOB_SB_MAGIC_OFF, BLOB_SUPER_MAGIC, 8) != 0 || !page_crc_ok(p)) {
		return -EILSEQ;
	}
	memset(sb, 0, sizeof(*sb));
	sb->version = blob_get_le32(p + BLOB_SB_VERSION_OFF);
	sb->clean = blob_get_le32(p + BLOB_SB_CLEAN_OFF) == 1;
	sb->super_seq = blob_get_le64(p + BLOB_SB_SUPER_SEQ_OFF);
	sb->page_size = blob_get_le32(p + BLOB_SB_PAGE_SIZE_OFF);
	sb->io_unit_size = blob_get_le32(p + BLOB_SB_IO_UNIT_OFF);
	sb->cluster_size = blob_get_le32(p + BLOB_SB_CLUSTER_SIZE_OFF);
	sb->num_blob_ids = blob_get_le32(p + BLOB_SB_NUM_IDS_OFF);
	memcpy(sb->bstype, p + BLOB_SB_BSTYPE_OFF, BRISK_BLOBSTORE_TYPE_LENGTH);
	memcpy(sb->uuid.u, p + BLOB_SB_UUID_OFF, 16);
	sb->size = blob_get_le64(p + BLOB_SB_SIZE_OFF);
	sb->md_start = blob_get_le64(p + BLOB_SB_MD_START_OFF);
	sb->md_len = blob_get_le64(p + BLOB_SB_MD_LEN_OFF);
	get_mask_loc(p + BLOB_SB_CHAIN_MASK_OFF, &sb->chain_mask);
	get_mask_loc(p + BLOB_SB_CLUSTER_MASK_OFF, &sb->cluster_mask);
	get_mask_loc(p + BLOB_SB_ID_MASK_OFF, &sb->id_mask);
	sb->md_seq = blob_get_le64(p + BLOB_SB_MD_SEQ_OFF);
	/* Bits this build does not know are dropped: they describe how pages
	 * were written, and the next super block write says how this build
	 * writes them. */
	sb->features = blob_get_le32(p + BLOB_SB_FEATURES_OFF) & BLOB_FEATURES_KNOWN;

	if (sb->version != BLOB_FORMAT_VERSION) {
		BRISK_ERRLOG("blobstore super block: version %u is not supported (this build reads "
			     "version %u)", sb->version, BLOB_FORMAT_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (sb->page_size != BLOB_PAGE_SIZE) {
		BRISK_ERRLOG("blobstore super block: page size %u is not supported (only %u)",
			     sb->page_size, BLOB_PAGE_SIZE);
		return -EPROTONOSUPPORT;
	}
	if (sb->io_unit_size == 0 || sb->io_unit_size > BLOB_PAGE_SIZE ||
	    BLOB_PAGE_SIZE % sb->io_unit_size != 0) {
		BRISK_ERRLOG("blobstore super block: io unit size %u invalid", sb->io_unit_size);
		return -EINVAL;
	}
	if (sb->cluster_size == 0 || sb->cluster_size % BLOB_PAGE_SIZE != 0) {
		BRISK_ERRLOG("blobstore super block: cluster size %u invalid", sb->cluster_size);
		return -EINVAL;
	}
	if (sb->size == 0 || sb->size > dev_bytes || sb->size % sb->cluster_size != 0) {
		BRISK_ERRLOG("blobstore super block: size %lu invalid for a device of %lu bytes",
			     sb->size, dev_bytes);
		return -EINVAL;
	}
	total_pages = sb->size / BLOB_PAGE_SIZE;
	if (sb->num_blob_ids == 0 || sb->md_len < 2ull * sb->num_blob_ids || sb->md_start < 3 ||
	    sb->md_start > total_pages || sb->md_len > total_pages - sb->md_start ||
	    blob_super_num_chain_pages(sb) > UINT32_MAX - 1) {
		BRISK_ERRLOG("blobstore super block: metadata region (start %lu, %lu pages, %u ids) "
			     "invalid for %lu pages", sb->md_start, sb->md_len, sb->num_blob_ids,
			     total_pages);
		return -EINVAL;
	}
	rc = check_mask_loc(sb, &sb->chain_mask, blob_super_num_chain_pages(sb), "chain page");
	if (rc == 0) {
		rc = check_mask_loc(sb, &sb->cluster_mask, blob_super_num_clusters(sb), "cluster");
	}
	if (rc == 0) {
		rc = check_mask_loc(sb, &sb->id_mask, sb->num_blob_ids, "blob id");
	}
	return rc;
}

/* ---- In-memory metadata ---- */

void blob_md_init(struct blob_md *md)
{
	memset(md, 0, sizeof(*md));
	TAILQ_INIT(&md->xattrs);
	TAILQ_INIT(&md->xattrs_internal);
}

static void free_xattrs(struct blob_xattr_list *list)
{
	struct blob_xattr *x;

	while ((x = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, x, link);
		free(x->name);
		free(x->value);
		free(x);
	}
}

void blob_md_free(struct blob_md *md)
{
	free(md->clusters);
	free_xattrs(&md->xattrs);
	free_xattrs(&md->xattrs_internal);
	blob_md_init(md);
}

int blob_md_reserve_clusters(struct blob_md *md, uint64_t n)
{
	uint64_t cap = md->clusters_cap ? md->clusters_cap : 16;
	uint64_t *c;

	if (n <= md->clusters_cap) {
		return 0;
	}
	while (cap < n) {
		cap *= 2;
	}
	c = realloc(md->clusters, cap * sizeof(*c));
	if (c == NULL) {
		return -ENOMEM;
	}
	memset(c + md->clusters_cap, 0, (cap - md->clusters_cap) * sizeof(*c));
	md->clusters = c;
	md->clusters_cap = cap;
	return 0;
}

struct blob_xattr *blob_md_find_xattr(struct blob_xattr_list *list, const char *name)
{
	struct blob_xattr *x;

	TAILQ_FOREACH(x, list, link) {
		if (strcmp(x->name, name) == 0) {
			return x;
		}
	}
	return NULL;
}

int blob_md_set_xattr(struct blob_xattr_list *list, const char *name, const void *value,
		      uint16_t value_len)
{
	struct blob_xattr *x = blob_md_find_xattr(list, name);
	void *v = malloc(value_len ? value_len : 1);

	if (v == NULL) {
		return -ENOMEM;
	}
	if (value_len) {
		memcpy(v, value, value_len);
	}
	if (x != NULL) {
		free(x->value);
		x->value = v;
		x->value_len = value_len;
		return 0;
	}
	x = calloc(1, sizeof(*x));
	if (x == NULL || (x->name = strdup(name)) == NULL) {
		free(x);
		free(v);
		return -ENOMEM;
	}
	x->value = v;
	x->value_len = value_len;
	TAILQ_INSERT_TAIL(list, x, link);
	return 0;
}

bool blob_md_remove_xattr(struct blob_xattr_list *list, const char *name)
{
	struct blob_xattr *x = blob_md_find_xattr(list, name);

	if (x == NULL) {
		return false;
	}
	TAILQ_REMOVE(list, x, link);
	free(x->name);
	free(x->value);
	free(x);
	return true;
}

/* ---- Metadata page encoding ---- */

/* Walks the descriptors of md in order, calling emit(type, payload, len).
 * Extent runs are produced on the fly so nothing is allocated. */
struct desc_writer {
	uint8_t *pages;            /* NULL: only count */
	uint32_t npages;
	uint32_t page;             /* current page index */
	uint32_t off;              /* offset in the current page */
};

static void writer_next_page(struct desc_writer *w)
{
	w->page++;
	w->off = BLOB_MD_HDR_SIZE;
}

static void emit(struct desc_writer *w, uint8_t type, const uint8_t *a, uint16_t alen,
		 const uint8_t *b, uint16_t blen)
{
	uint32_t need = BLOB_DESC_PAYLOAD_OFF + alen + blen;

	if (w->off + need > BLOB_PAGE_CRC_OFF) {
		writer_next_page(w);
	}
	if (w->pages != NULL) {
		uint8_t *p = w->pages + (uint64_t)w->page * BLOB_PAGE_SIZE + w->off;

		p[BLOB_DESC_TYPE_OFF] = type;
		p[BLOB_DESC_RSVD_OFF] = 0;
		blob_put_le16(p + BLOB_DESC_LEN_OFF, (uint16_t)(alen + blen));
		memcpy(p + BLOB_DESC_PAYLOAD_OFF, a, alen);
		if (blen) {
			memcpy(p + BLOB_DESC_PAYLOAD_OFF + alen, b, blen);
		}
	}
	w->off += need;
}

static void emit_xattrs(struct desc_writer *w, uint8_t type, const struct blob_xattr_list *list)
{
	const struct blob_xattr *x;
	uint8_t hdr[BLOB_XA_NAME_OFF + BLOB_XATTR_NAME_MAX];

	TAILQ_FOREACH(x, list, link) {
		uint16_t nlen = (uint16_t)strlen(x->name);

		blob_put_le16(hdr + BLOB_XA_NAME_LEN_OFF, nlen);
		blob_put_le16(hdr + BLOB_XA_VALUE_LEN_OFF, x->value_len);
		memcpy(hdr + BLOB_XA_NAME_OFF, x->name, nlen);
		emit(w, type, hdr, (uint16_t)(BLOB_XA_NAME_OFF + nlen), x->value, x->value_len);
	}
}

static void emit_all(struct desc_writer *w, const struct blob_md *md)
{
	uint8_t b[BLOB_DB_SIZE] = { 0 };
	uint64_t i = 0;

	blob_put_le64(b + BLOB_DB_NUM_CLUSTERS_OFF, md->num_clusters);
	blob_put_le64(b + BLOB_DB_PARENT_OFF, md->parent_id);
	blob_put_le32(b + BLOB_DB_FLAGS_OFF, md->flags);
	b[BLOB_DB_CLEAR_OFF] = md->clear_method;
	emit(w, BLOB_DESC_BLOB, b, BLOB_DB_SIZE, NULL, 0);

	while (i < md->num_clusters) {
		uint64_t first = md->clusters[i] & ~BLOB_CLUSTER_PENDING;
		uint32_t n = 1;

		/* A run: consecutive device clusters, or consecutive holes. */
		while (i + n < md->num_clusters && n < UINT32_MAX &&
		       (md->clusters[i + n] & ~BLOB_CLUSTER_PENDING) == (first == 0 ? 0 : first + n)) {
			n++;
		}
		blob_put_le64(b + BLOB_ER_FIRST_OFF, first);
		blob_put_le32(b + BLOB_ER_COUNT_OFF, n);
		emit(w, BLOB_DESC_EXTENT_RUN, b, BLOB_ER_SIZE, NULL, 0);
		i += n;
	}
	emit_xattrs(w, BLOB_DESC_XATTR, &md->xattrs);
	emit_xattrs(w, BLOB_DESC_XATTR_INTERNAL, &md->xattrs_internal);
}

uint32_t blob_md_count_pages(const struct blob_md *md)
{
	struct desc_writer w = { .pages = NULL, .page = 0, .off = BLOB_MD_HDR_SIZE };

	emit_all(&w, md);
	return w.page + 1;
}

static void put_hdr(uint8_t *p, uint8_t kind, uint8_t flags, uint64_t blobid, uint64_t seq,
		    const struct brisk_uuid *uuid, uint32_t index, uint32_t next, uint64_t prev_seq)
{
	blob_put_le32(p + BLOB_MDH_MAGIC_OFF, BLOB_MD_MAGIC);
	p[BLOB_MDH_KIND_OFF] = kind;
	p[BLOB_MDH_FLAGS_OFF] = flags;
	blob_put_le16(p + BLOB_MDH_PREV16_OFF, index == 0 ? (uint16_t)prev_seq : 0);
	blob_put_le64(p + BLOB_MDH_BLOBID_OFF, blobid);
	blob_put_le64(p + BLOB_MDH_SEQ_OFF, seq);
	memcpy(p + BLOB_MDH_UUID_OFF, uuid->u, 16);
	blob_put_le32(p + BLOB_MDH_INDEX_OFF, index);
	blob_put_le32(p + BLOB_MDH_NEXT_OFF, next);
}

void blob_md_encode(const struct blob_md *md, uint64_t blobid, uint64_t seq, uint64_t prev_seq,
		    const struct brisk_uuid *uuid, const uint32_t *chain_pages, uint32_t npages,
		    uint8_t *pages)
{
	struct desc_writer w = { .pages = pages, .npages = npages, .page = 0, .off = BLOB_MD_HDR_SIZE };

	memset(pages, 0, (uint64_t)npages * BLOB_PAGE_SIZE);
	emit_all(&w, md);
	for (uint32_t i = 0; i < npages; i++) {
		uint8_t *p = pages + (uint64_t)i * BLOB_PAGE_SIZE;
		uint32_t next = i + 1 < npages ? chain_pages[i + 1] : BLOB_MD_NO_NEXT;

		put_hdr(p, i == 0 ? BLOB_MD_KIND_HEAD : BLOB_MD_KIND_CHAIN, 0, blobid, seq, uuid, i,
			next, prev_seq);
		page_seal(p);
	}
}

void blob_md_encode_tombstone(uint64_t blobid, uint64_t seq, uint64_t prev_seq,
			      const struct brisk_uuid *uuid, void *page)
{
	memset(page, 0, BLOB_PAGE_SIZE);
	put_hdr(page, BLOB_MD_KIND_HEAD, BLOB_MD_PAGE_TOMBSTONE, blobid, seq, uuid, 0,
		BLOB_MD_NO_NEXT, prev_seq);
	page_seal(page);
}

bool blob_page_check(const void *page_buf, const struct brisk_uuid *uuid, struct blob_page_hdr *hdr)
{
	const uint8_t *p = page_buf;

	if (blob_get_le32(p + BLOB_MDH_MAGIC_OFF) != BLOB_MD_MAGIC || !page_crc_ok(p) ||
	    memcmp(p + BLOB_MDH_UUID_OFF, uuid->u, 16) != 0) {
		return false;
	}
	hdr->kind = p[BLOB_MDH_KIND_OFF];
	hdr->flags = p[BLOB_MDH_FLAGS_OFF];
	hdr->prev16 = blob_get_le16(p + BLOB_MDH_PREV16_OFF);
	hdr->blobid = blob_get_le64(p + BLOB_MDH_BLOBID_OFF);
	hdr->seq = blob_get_le64(p + BLOB_MDH_SEQ_OFF);
	hdr->index = blob_get_le32(p + BLOB_MDH_INDEX_OFF);
	hdr->next = blob_get_le32(p + BLOB_MDH_NEXT_OFF);
	return hdr->kind == BLOB_MD_KIND_HEAD || hdr->kind == BLOB_MD_KIND_CHAIN;
}

static int decode_xattr(struct blob_md *md, uint8_t type, const uint8_t *d, uint16_t len,
			uint64_t blobid)
{
	uint16_t nlen, vlen;
	char name[BLOB_XATTR_NAME_MAX + 1];

	if (len < BLOB_XA_NAME_OFF) {
		goto bad;
	}
	nlen = blob_get_le16(d + BLOB_XA_NAME_LEN_OFF);
	vlen = blob_get_le16(d + BLOB_XA_VALUE_LEN_OFF);
	if (nlen == 0 || nlen > BLOB_XATTR_NAME_MAX || BLOB_XA_NAME_OFF + nlen + vlen != len ||
	    memchr(d + BLOB_XA_NAME_OFF, '\0', nlen) != NULL) {
		goto bad;
	}
	memcpy(name, d + BLOB_XA_NAME_OFF, nlen);
	name[nlen] = '\0';
	return blob_md_set_xattr(type == BLOB_DESC_XATTR ? &md->xattrs : &md->xattrs_internal, name,
				 d + BLOB_XA_NAME_OFF + nlen, vlen);
bad:
	BRISK_ERRLOG("blob 0x%lx: malformed xattr descriptor (length %u)", blobid, len);
	return -EILSEQ;
}

/* Extent runs fill md->clusters from the current end (md->clusters_cap
 * tracks the space; the count filled so far is kept in *filled). */
static int decode_extent(struct blob_md *md, const uint8_t *d, uint16_t len, uint64_t blobid,
			 uint64_t *filled)
{
	uint64_t first;
	uint32_t n;
	int rc;

	if (len != BLOB_ER_SIZE) {
		BRISK_ERRLOG("blob 0x%lx: extent descriptor of length %u (expected %u)", blobid, len,
			     BLOB_ER_SIZE);
		return -EILSEQ;
	}
	first = blob_get_le64(d + BLOB_ER_FIRST_OFF);
	n = blob_get_le32(d + BLOB_ER_COUNT_OFF);
	if (n == 0 || *filled + n > md->num_clusters || (first != 0 && first + n < first)) {
		BRISK_ERRLOG("blob 0x%lx: extent run (cluster %lu, %u clusters) beyond the blob's "
			     "%lu clusters", blobid, first, n, md->num_clusters);
		return -EILSEQ;
	}
	rc = blob_md_reserve_clusters(md, *filled + n);
	if (rc != 0) {
		return rc;
	}
	for (uint32_t i = 0; i < n; i++) {
		md->clusters[*filled + i] = first == 0 ? 0 : first + i;
	}
	*filled += n;
	return 0;
}

int blob_md_decode_page(struct blob_md *md, const void *page_buf, uint64_t blobid, bool head)
{
	const uint8_t *p = page_buf;
	uint32_t off = BLOB_MD_HDR_SIZE;
	bool first = true;
	int rc;

	if (head) {
		md->clusters_filled = 0;
	}
	while (off + BLOB_DESC_PAYLOAD_OFF <= BLOB_PAGE_CRC_OFF && p[off + BLOB_DESC_TYPE_OFF] != BLOB_DESC_END) {
		uint8_t type = p[off + BLOB_DESC_TYPE_OFF];
		uint16_t len = blob_get_le16(p + off + BLOB_DESC_LEN_OFF);
		const uint8_t *d = p + off + BLOB_DESC_PAYLOAD_OFF;

		if (off + BLOB_DESC_PAYLOAD_OFF + len > BLOB_PAGE_CRC_OFF) {
			BRISK_ERRLOG("blob 0x%lx: descriptor of length %u runs past the page", blobid,
				     len);
			return -EILSEQ;
		}
		if (head && first && type != BLOB_DESC_BLOB) {
			BRISK_ERRLOG("blob 0x%lx: head page does not start with the BLOB descriptor",
				     blobid);
			return -EILSEQ;
		}
		switch (type) {
		case BLOB_DESC_BLOB:
			if (!(head && first) || len != BLOB_DB_SIZE) {
				BRISK_ERRLOG("blob 0x%lx: misplaced or malformed BLOB descriptor", blobid);
				return -EILSEQ;
			}
			md->num_clusters = blob_get_le64(d + BLOB_DB_NUM_CLUSTERS_OFF);
			if (md->num_clusters > BLOB_MAX_CLUSTERS) {
				BRISK_ERRLOG("blob 0x%lx: %lu clusters is more than a blob can have (%llu)",
					     blobid, md->num_clusters, BLOB_MAX_CLUSTERS);
				return -EILSEQ;
			}
			md->parent_id = blob_get_le64(d + BLOB_DB_PARENT_OFF);
			md->flags = blob_get_le32(d + BLOB_DB_FLAGS_OFF);
			md->clear_method = d[BLOB_DB_CLEAR_OFF];
			if (md->flags & ~BLOB_FLAGS_KNOWN) {
				BRISK_ERRLOG("blob 0x%lx: unknown flags 0x%x (written by a newer version?)",
					     blobid, md->flags & ~BLOB_FLAGS_KNOWN);
				return -EPROTONOSUPPORT;
			}
			if (md->clear_method > BRISK_BLOB_CLEAR_WITH_WRITE_ZEROES) {
				BRISK_ERRLOG("blob 0x%lx: unknown clear method %u", blobid, md->clear_method);
				return -EPROTONOSUPPORT;
			}
			rc = 0;
			break;
		case BLOB_DESC_EXTENT_RUN:
			rc = decode_extent(md, d, len, blobid, &md->clusters_filled);
			break;
		case BLOB_DESC_XATTR:
		case BLOB_DESC_XATTR_INTERNAL:
			rc = decode_xattr(md, type, d, len, blobid);
			break;
		case BLOB_DESC_EXTENT_PAGE:
			BRISK_ERRLOG("blob 0x%lx: extent-page descriptors are reserved for a later "
				     "version of the format", blobid);
			return -EPROTONOSUPPORT;
		default:
			BRISK_ERRLOG("blob 0x%lx: unknown descriptor type %u", blobid, type);
			return -EPROTONOSUPPORT;
		}
		if (rc != 0) {
			return rc;
		}
		first = false;
		off += BLOB_DESC_PAYLOAD_OFF + len;
	}
	if (head && first) {
		BRISK_ERRLOG("blob 0x%lx: head page without a BLOB descriptor", blobid);
		return -EILSEQ;
	}
	return 0;
}

int blob_md_decode_finish(struct blob_md *md, uint64_t blobid)
{
	if (md->clusters_filled != md->num_clusters) {
		BRISK_ERRLOG("blob 0x%lx: extent runs cover %lu of its %lu clusters", blobid,
			     md->clusters_filled, md->num_clusters);
		return -EILSEQ;
	}
	return 0;
}
