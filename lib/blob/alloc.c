/* Allocation of clusters, chain pages and blob ids from the in-memory masks.
 * Only the metadata thread touches the masks. */
#include <errno.h>

#include "blob_internal.h"

uint64_t blob_alloc_cluster(struct brisk_blob_store *bs)
{
	uint32_t c = brisk_bit_array_find_first_clear(bs->used_clusters, 0);

	if (c == BRISK_BIT_ARRAY_NONE) {
		return 0;
	}
	brisk_bit_array_set(bs->used_clusters, c);
	return c;
}

void blob_free_cluster(struct brisk_blob_store *bs, uint64_t cluster)
{
	brisk_bit_array_clear(bs->used_clusters, (uint32_t)cluster);
}

int blob_alloc_chain_pages(struct brisk_blob_store *bs, uint32_t n, uint32_t *out)
{
	uint32_t start = 0;

	for (uint32_t i = 0; i < n; i++) {
		uint32_t p = brisk_bit_array_find_first_clear(bs->used_chain_pages, start);

		if (p == BRISK_BIT_ARRAY_NONE) {
			blob_free_chain_pages(bs, out, i);
			return -ENOSPC;
		}
		brisk_bit_array_set(bs->used_chain_pages, p);
		out[i] = p;
		start = p + 1;
	}
	return 0;
}

void blob_free_chain_pages(struct brisk_blob_store *bs, const uint32_t *pages, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		brisk_bit_array_clear(bs->used_chain_pages, pages[i]);
	}
}

brisk_blob_id blob_alloc_id(struct brisk_blob_store *bs)
{
	uint32_t i = brisk_bit_array_find_first_clear(bs->used_ids, 0);

	if (i == BRISK_BIT_ARRAY_NONE) {
		return BRISK_BLOBID_INVALID;
	}
	brisk_bit_array_set(bs->used_ids, i);
	return (brisk_blob_id)i + 1;
}

void blob_free_id(struct brisk_blob_store *bs, brisk_blob_id id)
{
	brisk_bit_array_clear(bs->used_ids, (uint32_t)(id - 1));
	bs->id_flags[id - 1] &= (uint8_t)~(BLOB_ID_DAMAGED | BLOB_ID_CONFLICT);
}

bool blob_id_valid(const struct brisk_blob_store *bs, brisk_blob_id id)
{
	return id >= 1 && id <= bs->sb.num_blob_ids;
}
