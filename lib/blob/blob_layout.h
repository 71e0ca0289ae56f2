/*
 * The blobstore's on-disk layout, defined once: the byte offset and size of
 * every field of the super block, the metadata page header and the
 * descriptors, all little-endian. The encoder and decoder (format.c), the
 * dump (dump.c), metadata loading and the tests use these names;
 * doc/blobstore_format.md names the same fields. The _Static_asserts pin
 * each field right after the one before it, so a change here that moves a
 * field cannot go unnoticed.
 */
#ifndef BLOB_LAYOUT_H
#define BLOB_LAYOUT_H

#define BLOB_FORMAT_VERSION 1
#define BLOB_PAGE_SIZE 4096u
#define BLOB_SUPER_MAGIC "BRISKBS"      /* 8 bytes with the NUL */
#define BLOB_MD_MAGIC 0x444d4b42u       /* "BKMD" little-endian */
#define BLOB_PAGE_CRC_OFF 4092u         /* every super and metadata page: CRC32C of the bytes before */
#define BLOB_MD_HDR_SIZE 48u
#define BLOB_MD_NO_NEXT 0xFFFFFFFFu

#define BLOB_MD_KIND_HEAD 1
#define BLOB_MD_KIND_CHAIN 2
#define BLOB_MD_PAGE_TOMBSTONE 0x01

#define BLOB_DESC_END 0
#define BLOB_DESC_BLOB 1
#define BLOB_DESC_EXTENT_RUN 2
#define BLOB_DESC_XATTR 3
#define BLOB_DESC_XATTR_INTERNAL 4
#define BLOB_DESC_EXTENT_PAGE 5

#define BLOB_FLAG_THIN 0x1u
#define BLOB_FLAG_READ_ONLY 0x2u
#define BLOB_FLAGS_KNOWN (BLOB_FLAG_THIN | BLOB_FLAG_READ_ONLY)

/* A field placed right after the previous one: its offset is prev + size. */
#define BLOB_LAYOUT_NEXT(prev_off, prev_size, off) _Static_assert((prev_off) + (prev_size) == (off), #off)

/* ---- Super block (pages 0 and 1, one copy each; CRC at BLOB_PAGE_CRC_OFF) ---- */
#define BLOB_SB_MAGIC_OFF 0u         /* 8: BLOB_SUPER_MAGIC with its NUL */
#define BLOB_SB_VERSION_OFF 8u       /* 4 */
#define BLOB_SB_CLEAN_OFF 12u        /* 4: 1 after a clean unload */
#define BLOB_SB_SUPER_SEQ_OFF 16u    /* 8: the newer copy wins */
#define BLOB_SB_PAGE_SIZE_OFF 24u    /* 4 */
#define BLOB_SB_IO_UNIT_OFF 28u      /* 4 */
#define BLOB_SB_CLUSTER_SIZE_OFF 32u /* 4 */
#define BLOB_SB_NUM_IDS_OFF 36u      /* 4 */
#define BLOB_SB_BSTYPE_OFF 40u       /* 16 */
#define BLOB_SB_UUID_OFF 56u         /* 16 */
#define BLOB_SB_SIZE_OFF 72u         /* 8: device bytes */
#define BLOB_SB_MD_START_OFF 80u     /* 8: first metadata page */
#define BLOB_SB_MD_LEN_OFF 88u       /* 8: metadata pages */
#define BLOB_SB_CHAIN_MASK_OFF 96u   /* BLOB_MASK_LOC_SIZE */
#define BLOB_SB_CLUSTER_MASK_OFF 120u
#define BLOB_SB_ID_MASK_OFF 144u
#define BLOB_SB_MD_SEQ_OFF 168u      /* 8 */
#define BLOB_SB_FEATURES_OFF 176u    /* 4 */
#define BLOB_SB_END 180u

/* Where a bit mask is stored: start page, length in pages, CRC, padding. */
#define BLOB_MASK_LOC_START_OFF 0u /* 8 */
#define BLOB_MASK_LOC_LEN_OFF 8u   /* 8 */
#define BLOB_MASK_LOC_CRC_OFF 16u  /* 4 */
#define BLOB_MASK_LOC_PAD_OFF 20u  /* 4, zero */
#define BLOB_MASK_LOC_SIZE 24u

BLOB_LAYOUT_NEXT(BLOB_SB_MAGIC_OFF, 8, BLOB_SB_VERSION_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_VERSION_OFF, 4, BLOB_SB_CLEAN_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_CLEAN_OFF, 4, BLOB_SB_SUPER_SEQ_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_SUPER_SEQ_OFF, 8, BLOB_SB_PAGE_SIZE_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_PAGE_SIZE_OFF, 4, BLOB_SB_IO_UNIT_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_IO_UNIT_OFF, 4, BLOB_SB_CLUSTER_SIZE_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_CLUSTER_SIZE_OFF, 4, BLOB_SB_NUM_IDS_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_NUM_IDS_OFF, 4, BLOB_SB_BSTYPE_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_BSTYPE_OFF, 16, BLOB_SB_UUID_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_UUID_OFF, 16, BLOB_SB_SIZE_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_SIZE_OFF, 8, BLOB_SB_MD_START_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_MD_START_OFF, 8, BLOB_SB_MD_LEN_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_MD_LEN_OFF, 8, BLOB_SB_CHAIN_MASK_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_CHAIN_MASK_OFF, BLOB_MASK_LOC_SIZE, BLOB_SB_CLUSTER_MASK_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_CLUSTER_MASK_OFF, BLOB_MASK_LOC_SIZE, BLOB_SB_ID_MASK_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_ID_MASK_OFF, BLOB_MASK_LOC_SIZE, BLOB_SB_MD_SEQ_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_MD_SEQ_OFF, 8, BLOB_SB_FEATURES_OFF);
BLOB_LAYOUT_NEXT(BLOB_SB_FEATURES_OFF, 4, BLOB_SB_END);
BLOB_LAYOUT_NEXT(BLOB_MASK_LOC_START_OFF, 8, BLOB_MASK_LOC_LEN_OFF);
BLOB_LAYOUT_NEXT(BLOB_MASK_LOC_LEN_OFF, 8, BLOB_MASK_LOC_CRC_OFF);
BLOB_LAYOUT_NEXT(BLOB_MASK_LOC_CRC_OFF, 4, BLOB_MASK_LOC_PAD_OFF);
BLOB_LAYOUT_NEXT(BLOB_MASK_LOC_PAD_OFF, 4, BLOB_MASK_LOC_SIZE);

/* ---- Metadata page header (BLOB_MD_HDR_SIZE bytes; CRC at BLOB_PAGE_CRC_OFF) ---- */
#define BLOB_MDH_MAGIC_OFF 0u   /* 4: BLOB_MD_MAGIC */
#define BLOB_MDH_KIND_OFF 4u    /* 1: BLOB_MD_KIND_HEAD or _CHAIN */
#define BLOB_MDH_FLAGS_OFF 5u   /* 1: BLOB_MD_PAGE_TOMBSTONE */
#define BLOB_MDH_PREV16_OFF 6u  /* 2: head pages: low 16 bits of the previous version's seq */
#define BLOB_MDH_BLOBID_OFF 8u  /* 8 */
#define BLOB_MDH_SEQ_OFF 16u    /* 8 */
#define BLOB_MDH_UUID_OFF 24u   /* 16: the store's UUID */
#define BLOB_MDH_INDEX_OFF 40u  /* 4: position in the blob's chain */
#define BLOB_MDH_NEXT_OFF 44u   /* 4: next chain page, or BLOB_MD_NO_NEXT */
#define BLOB_MDH_END 48u

BLOB_LAYOUT_NEXT(BLOB_MDH_MAGIC_OFF, 4, BLOB_MDH_KIND_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_KIND_OFF, 1, BLOB_MDH_FLAGS_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_FLAGS_OFF, 1, BLOB_MDH_PREV16_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_PREV16_OFF, 2, BLOB_MDH_BLOBID_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_BLOBID_OFF, 8, BLOB_MDH_SEQ_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_SEQ_OFF, 8, BLOB_MDH_UUID_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_UUID_OFF, 16, BLOB_MDH_INDEX_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_INDEX_OFF, 4, BLOB_MDH_NEXT_OFF);
BLOB_LAYOUT_NEXT(BLOB_MDH_NEXT_OFF, 4, BLOB_MDH_END);
_Static_assert(BLOB_MDH_END == BLOB_MD_HDR_SIZE, "metadata page header size");
_Static_assert(BLOB_SB_END <= BLOB_PAGE_CRC_OFF, "super block fits before its CRC");

/* ---- Descriptors: a 4-byte header, then the payload ---- */
#define BLOB_DESC_TYPE_OFF 0u     /* 1: BLOB_DESC_* */
#define BLOB_DESC_RSVD_OFF 1u     /* 1, zero */
#define BLOB_DESC_LEN_OFF 2u      /* 2: payload bytes */
#define BLOB_DESC_PAYLOAD_OFF 4u

BLOB_LAYOUT_NEXT(BLOB_DESC_TYPE_OFF, 1, BLOB_DESC_RSVD_OFF);
BLOB_LAYOUT_NEXT(BLOB_DESC_RSVD_OFF, 1, BLOB_DESC_LEN_OFF);
BLOB_LAYOUT_NEXT(BLOB_DESC_LEN_OFF, 2, BLOB_DESC_PAYLOAD_OFF);

/* BLOB descriptor payload (first in the head page). */
#define BLOB_DB_NUM_CLUSTERS_OFF 0u /* 8 */
#define BLOB_DB_PARENT_OFF 8u       /* 8: parent snapshot id, or 0 */
#define BLOB_DB_FLAGS_OFF 16u       /* 4: BLOB_FLAG_* */
#define BLOB_DB_CLEAR_OFF 20u       /* 1: clear method; 3 bytes of zero follow */
#define BLOB_DB_SIZE 24u

BLOB_LAYOUT_NEXT(BLOB_DB_NUM_CLUSTERS_OFF, 8, BLOB_DB_PARENT_OFF);
BLOB_LAYOUT_NEXT(BLOB_DB_PARENT_OFF, 8, BLOB_DB_FLAGS_OFF);
BLOB_LAYOUT_NEXT(BLOB_DB_FLAGS_OFF, 4, BLOB_DB_CLEAR_OFF);
BLOB_LAYOUT_NEXT(BLOB_DB_CLEAR_OFF, 4, BLOB_DB_SIZE);

/* EXTENT_RUN payload: first device cluster (0: holes), run length. */
#define BLOB_ER_FIRST_OFF 0u /* 8 */
#define BLOB_ER_COUNT_OFF 8u /* 4 */
#define BLOB_ER_SIZE 12u

BLOB_LAYOUT_NEXT(BLOB_ER_FIRST_OFF, 8, BLOB_ER_COUNT_OFF);
BLOB_LAYOUT_NEXT(BLOB_ER_COUNT_OFF, 4, BLOB_ER_SIZE);

/* XATTR / XATTR_INTERNAL payload: name length, value length, name, value. */
#define BLOB_XA_NAME_LEN_OFF 0u  /* 2 */
#define BLOB_XA_VALUE_LEN_OFF 2u /* 2 */
#define BLOB_XA_NAME_OFF 4u      /* name bytes (no NUL), then the value */

BLOB_LAYOUT_NEXT(BLOB_XA_NAME_LEN_OFF, 2, BLOB_XA_VALUE_LEN_OFF);
BLOB_LAYOUT_NEXT(BLOB_XA_VALUE_LEN_OFF, 2, BLOB_XA_NAME_OFF);

#endif
