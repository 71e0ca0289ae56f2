/*
 * NVMe data structures as the NVM Express Base and NVM Command Set
 * specifications lay them out: submission and completion queue entries,
 * status codes, opcodes. Every structure's size and field offsets are fixed
 * by the specification and checked by _Static_assert. (The controller
 * registers and Identify data structures are added next to these.)
 */
#ifndef BRISK_NVME_SPEC_H
#define BRISK_NVME_SPEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Identify Controller and Identify Namespace data (4 KiB each): defined below
 * once the driver fills them in. */
struct brisk_nvme_ctrlr_data;
struct brisk_nvme_ns_data;

/* ---- Submission queue entry (64 bytes) ---- */
struct brisk_nvme_sgl_descriptor {
	uint64_t address;
	uint32_t length;
	uint8_t reserved[3];
	uint8_t type_subtype; /* type << 4 | subtype */
};
_Static_assert(sizeof(struct brisk_nvme_sgl_descriptor) == 16, "SGL descriptor is 16 bytes");

struct brisk_nvme_cmd {
	uint8_t opc;       /* opcode */
	uint8_t fuse : 2;  /* fused operation */
	uint8_t rsvd1 : 4;
	uint8_t psdt : 2;  /* 0 PRPs, 1 SGL (data in a buffer), 2 SGL (metadata SGL too) */
	uint16_t cid;      /* command identifier */
	uint32_t nsid;
	uint32_t cdw2;
	uint32_t cdw3;
	uint64_t mptr;     /* metadata pointer */
	union {
		struct {
			uint64_t prp1;
			uint64_t prp2;
		} prp;
		struct brisk_nvme_sgl_descriptor sgl1;
	} dptr;
	uint32_t cdw10;
	uint32_t cdw11;
	uint32_t cdw12;
	uint32_t cdw13;
	uint32_t cdw14;
	uint32_t cdw15;
};
_Static_assert(sizeof(struct brisk_nvme_cmd) == 64, "SQE is 64 bytes");
_Static_assert(offsetof(struct brisk_nvme_cmd, nsid) == 4, "NSID at byte 4");
_Static_assert(offsetof(struct brisk_nvme_cmd, mptr) == 16, "MPTR at byte 16");
_Static_assert(offsetof(struct brisk_nvme_cmd, dptr) == 24, "DPTR at byte 24");
_Static_assert(offsetof(struct brisk_nvme_cmd, cdw10) == 40, "CDW10 at byte 40");

/* ---- Completion queue entry (16 bytes) ---- */
struct brisk_nvme_status {
	uint16_t p : 1;   /* phase tag */
	uint16_t sc : 8;  /* status code */
	uint16_t sct : 3; /* status code type */
	uint16_t crd : 2; /* command retry delay */
	uint16_t m : 1;   /* more (error log page) */
	uint16_t dnr : 1; /* do not retry */
};
_Static_assert(sizeof(struct brisk_nvme_status) == 2, "status field is 2 bytes");

struct brisk_nvme_cpl {
	uint32_t cdw0; /* command specific */
	uint32_t cdw1;
	uint16_t sqhd; /* submission queue head pointer */
	uint16_t sqid;
	uint16_t cid;
	struct brisk_nvme_status status;
};
_Static_assert(sizeof(struct brisk_nvme_cpl) == 16, "CQE is 16 bytes");
_Static_assert(offsetof(struct brisk_nvme_cpl, sqhd) == 8, "SQHD at byte 8");
_Static_assert(offsetof(struct brisk_nvme_cpl, cid) == 12, "CID at byte 12");

/* ---- Status code types and the codes Brisk produces or acts on ---- */
enum brisk_nvme_status_code_type {
	BRISK_NVME_SCT_GENERIC = 0x0,
	BRISK_NVME_SCT_COMMAND_SPECIFIC = 0x1,
	BRISK_NVME_SCT_MEDIA_ERROR = 0x2,
	BRISK_NVME_SCT_PATH = 0x3,
	BRISK_NVME_SCT_VENDOR_SPECIFIC = 0x7,
};

enum brisk_nvme_generic_status {
	BRISK_NVME_SC_SUCCESS = 0x00,
	BRISK_NVME_SC_INVALID_OPCODE = 0x01,
	BRISK_NVME_SC_INVALID_FIELD = 0x02,
	BRISK_NVME_SC_COMMAND_ID_CONFLICT = 0x03,
	BRISK_NVME_SC_DATA_TRANSFER_ERROR = 0x04,
	BRISK_NVME_SC_ABORTED_POWER_LOSS = 0x05,
	BRISK_NVME_SC_INTERNAL_DEVICE_ERROR = 0x06,
	BRISK_NVME_SC_ABORTED_BY_REQUEST = 0x07,
	BRISK_NVME_SC_ABORTED_SQ_DELETION = 0x08,
	BRISK_NVME_SC_ABORTED_FAILED_FUSED = 0x09,
	BRISK_NVME_SC_ABORTED_MISSING_FUSED = 0x0a,
	BRISK_NVME_SC_INVALID_NAMESPACE_OR_FORMAT = 0x0b,
	BRISK_NVME_SC_COMMAND_SEQUENCE_ERROR = 0x0c,
	BRISK_NVME_SC_INVALID_SGL_SEG_DESCRIPTOR = 0x0d,
	BRISK_NVME_SC_INVALID_NUM_SGL_DESCIRPTORS = 0x0e,
	BRISK_NVME_SC_DATA_SGL_LENGTH_INVALID = 0x0f,
	BRISK_NVME_SC_INVALID_PRP_OFFSET = 0x13,
	BRISK_NVME_SC_LBA_OUT_OF_RANGE = 0x80,
	BRISK_NVME_SC_CAPACITY_EXCEEDED = 0x81,
	BRISK_NVME_SC_NAMESPACE_NOT_READY = 0x82,
	BRISK_NVME_SC_RESERVATION_CONFLICT = 0x83,
};

enum brisk_nvme_media_error_status {
	BRISK_NVME_SC_WRITE_FAULTS = 0x80,
	BRISK_NVME_SC_UNRECOVERED_READ_ERROR = 0x81,
	BRISK_NVME_SC_COMPARE_FAILURE = 0x85,
	BRISK_NVME_SC_ACCESS_DENIED = 0x86,
	BRISK_NVME_SC_DEALLOCATED_OR_UNWRITTEN_BLOCK = 0x87,
};

/* ---- Opcodes ---- */
enum brisk_nvme_admin_opcode {
	BRISK_NVME_OPC_DELETE_IO_SQ = 0x00,
	BRISK_NVME_OPC_CREATE_IO_SQ = 0x01,
	BRISK_NVME_OPC_GET_LOG_PAGE = 0x02,
	BRISK_NVME_OPC_DELETE_IO_CQ = 0x04,
	BRISK_NVME_OPC_CREATE_IO_CQ = 0x05,
	BRISK_NVME_OPC_IDENTIFY = 0x06,
	BRISK_NVME_OPC_ABORT = 0x08,
	BRISK_NVME_OPC_SET_FEATURES = 0x09,
	BRISK_NVME_OPC_GET_FEATURES = 0x0a,
	BRISK_NVME_OPC_ASYNC_EVENT_REQUEST = 0x0c,
	BRISK_NVME_OPC_NS_MANAGEMENT = 0x0d,
	BRISK_NVME_OPC_FIRMWARE_COMMIT = 0x10,
	BRISK_NVME_OPC_FIRMWARE_IMAGE_DOWNLOAD = 0x11,
	BRISK_NVME_OPC_NS_ATTACHMENT = 0x15,
	BRISK_NVME_OPC_KEEP_ALIVE = 0x18,
	BRISK_NVME_OPC_FORMAT_NVM = 0x80,
	BRISK_NVME_OPC_FABRIC = 0x7f,
};

enum brisk_nvme_nvm_opcode {
	BRISK_NVME_OPC_FLUSH = 0x00,
	BRISK_NVME_OPC_WRITE = 0x01,
	BRISK_NVME_OPC_READ = 0x02,
	BRISK_NVME_OPC_WRITE_UNCORRECTABLE = 0x04,
	BRISK_NVME_OPC_COMPARE = 0x05,
	BRISK_NVME_OPC_WRITE_ZEROES = 0x08,
	BRISK_NVME_OPC_DATASET_MANAGEMENT = 0x09,
	BRISK_NVME_OPC_RESERVATION_REGISTER = 0x0d,
	BRISK_NVME_OPC_RESERVATION_REPORT = 0x0e,
	BRISK_NVME_OPC_RESERVATION_ACQUIRE = 0x11,
	BRISK_NVME_OPC_RESERVATION_RELEASE = 0x15,
};

/* Fused operation field of a command. */
enum brisk_nvme_fuse {
	BRISK_NVME_FUSE_NONE = 0,
	BRISK_NVME_FUSE_FIRST = 1,
	BRISK_NVME_FUSE_SECOND = 2,
};

/* Dataset Management range (16 bytes); attribute bit 2 = deallocate. */
struct brisk_nvme_dsm_range {
	uint32_t attributes;
	uint32_t length; /* in logical blocks */
	uint64_t starting_lba;
};
_Static_assert(sizeof(struct brisk_nvme_dsm_range) == 16, "DSM range is 16 bytes");
#define BRISK_NVME_DSM_ATTR_DEALLOCATE (1u << 2)
#define BRISK_NVME_DSM_MAX_RANGES 256

#ifdef __cplusplus
}
#endif
#endif
