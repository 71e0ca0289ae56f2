/*
 * NVMe data structures as the NVM Express Base and NVM Command Set
 * specifications lay them out: submission and completion queue entries,
 * status codes, opcodes, the controller registers, Identify data, log
 * pages, features and asynchronous events. Every structure's size and the
 * offsets of the fields Brisk uses are fixed by the specification (NVMe Base
 * 1.4) and checked by _Static_assert. Little-endian hosts only (x86-64,
 * aarch64), as the bit-fields assume.
 */
#ifndef BRISK_NVME_SPEC_H
#define BRISK_NVME_SPEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Address family of an NVMe over Fabrics transport address (ADRFAM in the
 * discovery log; trid.adrfam in brisk/nvme.h). */
enum brisk_nvmf_adrfam {
	BRISK_NVMF_ADRFAM_NONE = 0,
	BRISK_NVMF_ADRFAM_IPV4 = 1,
	BRISK_NVMF_ADRFAM_IPV6 = 2,
};

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

/* Path related status codes (SCT 3h). */
enum brisk_nvme_path_status {
	BRISK_NVME_SC_INTERNAL_PATH_ERROR = 0x00,
	BRISK_NVME_SC_ANA_PERSISTENT_LOSS = 0x01,
	BRISK_NVME_SC_ANA_INACCESSIBLE = 0x02,
	BRISK_NVME_SC_ANA_TRANSITION = 0x03,
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

/* ---- Controller registers (BAR0) ---- */
union brisk_nvme_cap_register {
	uint64_t raw;
	struct {
		uint64_t mqes : 16;   /* maximum queue entries, 0's based */
		uint64_t cqr : 1;     /* contiguous queues required */
		uint64_t ams : 2;
		uint64_t rsvd1 : 5;
		uint64_t to : 8;      /* ready timeout, 500 ms units */
		uint64_t dstrd : 4;   /* doorbell stride: 4 << dstrd bytes */
		uint64_t nssrs : 1;
		uint64_t css : 8;     /* command sets supported; bit 0 NVM */
		uint64_t bps : 1;
		uint64_t rsvd2 : 2;
		uint64_t mpsmin : 4;  /* minimum memory page size 2^(12 + mpsmin) */
		uint64_t mpsmax : 4;
		uint64_t pmrs : 1;
		uint64_t cmbs : 1;
		uint64_t rsvd3 : 6;
	} bits;
};
_Static_assert(sizeof(union brisk_nvme_cap_register) == 8, "CAP is 8 bytes");

union brisk_nvme_vs_register {
	uint32_t raw;
	struct {
		uint32_t ter : 8; /* tertiary version */
		uint32_t mnr : 8; /* minor */
		uint32_t mjr : 16; /* major */
	} bits;
};
_Static_assert(sizeof(union brisk_nvme_vs_register) == 4, "VS is 4 bytes");

union brisk_nvme_cc_register {
	uint32_t raw;
	struct {
		uint32_t en : 1;
		uint32_t rsvd1 : 3;
		uint32_t css : 3;
		uint32_t mps : 4;    /* memory page size 2^(12 + mps) */
		uint32_t ams : 3;
		uint32_t shn : 2;    /* shutdown notification */
		uint32_t iosqes : 4; /* I/O SQ entry size 2^n (6 = 64 bytes) */
		uint32_t iocqes : 4; /* I/O CQ entry size 2^n (4 = 16 bytes) */
		uint32_t rsvd2 : 8;
	} bits;
};
_Static_assert(sizeof(union brisk_nvme_cc_register) == 4, "CC is 4 bytes");
#define BRISK_NVME_SHN_NORMAL 1
#define BRISK_NVME_SHN_ABRUPT 2

union brisk_nvme_csts_register {
	uint32_t raw;
	struct {
		uint32_t rdy : 1;
		uint32_t cfs : 1;   /* controller fatal status */
		uint32_t shst : 2;  /* shutdown status */
		uint32_t nssro : 1;
		uint32_t pp : 1;
		uint32_t rsvd : 26;
	} bits;
};
_Static_assert(sizeof(union brisk_nvme_csts_register) == 4, "CSTS is 4 bytes");
#define BRISK_NVME_SHST_NORMAL 0
#define BRISK_NVME_SHST_OCCURRING 1
#define BRISK_NVME_SHST_COMPLETE 2

union brisk_nvme_aqa_register {
	uint32_t raw;
	struct {
		uint32_t asqs : 12; /* admin SQ size, 0's based */
		uint32_t rsvd1 : 4;
		uint32_t acqs : 12; /* admin CQ size, 0's based */
		uint32_t rsvd2 : 4;
	} bits;
};
_Static_assert(sizeof(union brisk_nvme_aqa_register) == 4, "AQA is 4 bytes");

/* The register file up to the doorbells; doorbell n of queue y sits at
 * 0x1000 + (2y + (n == CQ)) * (4 << CAP.DSTRD). */
struct brisk_nvme_registers {
	union brisk_nvme_cap_register cap;   /* 0x00 */
	union brisk_nvme_vs_register vs;     /* 0x08 */
	uint32_t intms;                      /* 0x0c */
	uint32_t intmc;                      /* 0x10 */
	union brisk_nvme_cc_register cc;     /* 0x14 */
	uint32_t rsvd1;                      /* 0x18 */
	union brisk_nvme_csts_register csts; /* 0x1c */
	uint32_t nssr;                       /* 0x20 */
	union brisk_nvme_aqa_register aqa;   /* 0x24 */
	uint64_t asq;                        /* 0x28 */
	uint64_t acq;                        /* 0x30 */
	uint32_t cmbloc;                     /* 0x38 */
	uint32_t cmbsz;                      /* 0x3c */
	uint8_t rsvd2[0x1000 - 0x40];
	uint32_t doorbell[];                 /* 0x1000 */
};
_Static_assert(offsetof(struct brisk_nvme_registers, vs) == 0x08, "VS at 0x08");
_Static_assert(offsetof(struct brisk_nvme_registers, cc) == 0x14, "CC at 0x14");
_Static_assert(offsetof(struct brisk_nvme_registers, csts) == 0x1c, "CSTS at 0x1c");
_Static_assert(offsetof(struct brisk_nvme_registers, aqa) == 0x24, "AQA at 0x24");
_Static_assert(offsetof(struct brisk_nvme_registers, asq) == 0x28, "ASQ at 0x28");
_Static_assert(offsetof(struct brisk_nvme_registers, acq) == 0x30, "ACQ at 0x30");
_Static_assert(offsetof(struct brisk_nvme_registers, doorbell) == 0x1000, "doorbells at 0x1000");
#define BRISK_NVME_REG_CAP 0x00
#define BRISK_NVME_REG_VS 0x08
#define BRISK_NVME_REG_CC 0x14
#define BRISK_NVME_REG_CSTS 0x1c
#define BRISK_NVME_REG_AQA 0x24
#define BRISK_NVME_REG_ASQ 0x28
#define BRISK_NVME_REG_ACQ 0x30
#define BRISK_NVME_REG_DOORBELL 0x1000

/* ---- SGL descriptor types (type << 4 in type_subtype) ---- */
#define BRISK_NVME_SGL_TYPE_DATA_BLOCK 0x0
#define BRISK_NVME_SGL_TYPE_SEGMENT 0x2
#define BRISK_NVME_SGL_TYPE_LAST_SEGMENT 0x3
#define BRISK_NVME_SGL_SUBTYPE_ADDRESS 0x0
#define BRISK_NVME_PSDT_PRP 0
#define BRISK_NVME_PSDT_SGL_MPTR_CONTIG 1

/* ---- Identify ---- */
enum brisk_nvme_identify_cns {
	BRISK_NVME_IDENTIFY_NS = 0x00,
	BRISK_NVME_IDENTIFY_CTRLR = 0x01,
	BRISK_NVME_IDENTIFY_ACTIVE_NS_LIST = 0x02,
	BRISK_NVME_IDENTIFY_NS_ID_DESCRIPTOR_LIST = 0x03,
};

/* Power state descriptor (32 bytes). */
struct brisk_nvme_power_state {
	uint16_t mp;        /* maximum power, centiwatts */
	uint8_t rsvd2;
	uint8_t mps_nops;   /* bit 0 max power scale, bit 1 non-operational */
	uint32_t enlat;     /* entry latency, us */
	uint32_t exlat;     /* exit latency, us */
	uint8_t rrt;
	uint8_t rrl;
	uint8_t rwt;
	uint8_t rwl;
	uint8_t rsvd16[16];
};
_Static_assert(sizeof(struct brisk_nvme_power_state) == 32, "power state is 32 bytes");

/* Identify Controller data (CNS 01h), 4096 bytes. */
struct brisk_nvme_ctrlr_data {
	uint16_t vid;          /* 0 */
	uint16_t ssvid;        /* 2 */
	char sn[20];           /* 4, ASCII, space padded */
	char mn[40];           /* 24 */
	char fr[8];            /* 64 */
	uint8_t rab;           /* 72 */
	uint8_t ieee[3];       /* 73 */
	uint8_t cmic;          /* 76 */
	uint8_t mdts;          /* 77: 2^mdts minimum pages, 0 = no limit */
	uint16_t cntlid;       /* 78 */
	uint32_t ver;          /* 80 */
	uint32_t rtd3r;        /* 84 */
	uint32_t rtd3e;        /* 88 */
	uint32_t oaes;         /* 92 */
	uint32_t ctratt;       /* 96 */
	uint16_t rrls;         /* 100 */
	uint8_t rsvd102[9];
	uint8_t cntrltype;     /* 111 */
	uint8_t fguid[16];     /* 112 */
	uint16_t crdt[3];      /* 128 */
	uint8_t rsvd134[122];
	uint16_t oacs;         /* 256: optional admin commands */
	uint8_t acl;           /* 258: abort command limit, 0's based */
	uint8_t aerl;          /* 259: async event request limit, 0's based */
	uint8_t frmw;          /* 260 */
	uint8_t lpa;           /* 261 */
	uint8_t elpe;          /* 262: error log page entries, 0's based */
	uint8_t npss;          /* 263 */
	uint8_t avscc;         /* 264 */
	uint8_t apsta;         /* 265 */
	uint16_t wctemp;       /* 266, kelvin */
	uint16_t cctemp;       /* 268 */
	uint16_t mtfa;         /* 270 */
	uint32_t hmpre;        /* 272 */
	uint32_t hmmin;        /* 276 */
	uint64_t tnvmcap[2];   /* 280 */
	uint64_t unvmcap[2];   /* 296 */
	uint32_t rpmbs;        /* 312 */
	uint16_t edstt;        /* 316 */
	uint8_t dsto;          /* 318 */
	uint8_t fwug;          /* 319 */
	uint16_t kas;          /* 320: keep alive granularity, 100 ms */
	uint16_t hctma;        /* 322 */
	uint16_t mntmt;        /* 324 */
	uint16_t mxtmt;        /* 326 */
	uint32_t sanicap;      /* 328 */
	uint32_t hmminds; /* 332 */
	uint16_t hmmaxd; /* 336 */
	uint16_t nsetidmax; /* 338 */
	uint16_t endgidmax; /* 340 */
	uint8_t anatt; /* 342: ANA transition time, seconds */
	uint8_t anacap; /* 343: ANA capabilities */
	uint32_t anagrpmax; /* 344: highest ANA group ID */
	uint32_t nanagrpid; /* 348: number of ANA group IDs */
	uint8_t rsvd352[160];
	uint8_t sqes;          /* 512 */
	uint8_t cqes;          /* 513 */
	uint16_t maxcmd;       /* 514 */
	uint32_t nn;           /* 516: number of namespaces */
	uint16_t oncs;         /* 520: optional NVM commands */
	uint16_t fuses;        /* 522 */
	uint8_t fna;           /* 524 */
	uint8_t vwc;           /* 525: bit 0 volatile write cache present */
	uint16_t awun;         /* 526 */
	uint16_t awupf;        /* 528 */
	uint8_t nvscc;         /* 530 */
	uint8_t nwpc;          /* 531 */
	uint16_t acwu;         /* 532 */
	uint16_t rsvd534;
	uint32_t sgls;         /* 536: bits 1:0 SGL support */
	uint32_t mnan;         /* 540 */
	uint8_t rsvd544[224];
	char subnqn[256];      /* 768 */
	uint8_t rsvd1024[768];
	uint8_t nvmf[256];     /* 1792 */
	struct brisk_nvme_power_state psd[32]; /* 2048 */
	uint8_t vs[1024];      /* 3072 */
};
_Static_assert(sizeof(struct brisk_nvme_ctrlr_data) == 4096, "Identify Controller is 4096 bytes");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, ssvid) == 2, "SSVID at 2");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, sn) == 4, "SN at 4");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, mn) == 24, "MN at 24");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, fr) == 64, "FR at 64");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, rab) == 72, "RAB at 72");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, ieee) == 73, "IEEE at 73");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, cmic) == 76, "CMIC at 76");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, mdts) == 77, "MDTS at 77");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, cntlid) == 78, "CNTLID at 78");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, ver) == 80, "VER at 80");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, oaes) == 92, "OAES at 92");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, ctratt) == 96, "CTRATT at 96");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, oacs) == 256, "OACS at 256");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, acl) == 258, "ACL at 258");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, aerl) == 259, "AERL at 259");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, frmw) == 260, "FRMW at 260");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, lpa) == 261, "LPA at 261");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, elpe) == 262, "ELPE at 262");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, npss) == 263, "NPSS at 263");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, wctemp) == 266, "WCTEMP at 266");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, cctemp) == 268, "CCTEMP at 268");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, tnvmcap) == 280, "TNVMCAP at 280");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, unvmcap) == 296, "UNVMCAP at 296");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, kas) == 320, "KAS at 320");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, anatt) == 342, "ANATT at 342");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, anacap) == 343, "ANACAP at 343");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, anagrpmax) == 344, "ANAGRPMAX at 344");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, nanagrpid) == 348, "NANAGRPID at 348");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, sqes) == 512, "SQES at 512");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, cqes) == 513, "CQES at 513");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, maxcmd) == 514, "MAXCMD at 514");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, nn) == 516, "NN at 516");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, oncs) == 520, "ONCS at 520");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, fuses) == 522, "FUSES at 522");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, fna) == 524, "FNA at 524");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, vwc) == 525, "VWC at 525");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, awun) == 526, "AWUN at 526");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, awupf) == 528, "AWUPF at 528");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, sgls) == 536, "SGLS at 536");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, subnqn) == 768, "SUBNQN at 768");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, psd) == 2048, "PSD at 2048");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_data, vs) == 3072, "VS at 3072");

/* OACS bits. */
#define BRISK_NVME_OACS_SECURITY (1u << 0)
#define BRISK_NVME_OACS_FORMAT (1u << 1)
#define BRISK_NVME_OACS_FIRMWARE (1u << 2)
#define BRISK_NVME_OACS_NS_MANAGE (1u << 3)
/* ONCS bits. */
#define BRISK_NVME_ONCS_COMPARE (1u << 0)
#define BRISK_NVME_ONCS_WRITE_UNC (1u << 1)
#define BRISK_NVME_ONCS_DSM (1u << 2)
#define BRISK_NVME_ONCS_WRITE_ZEROES (1u << 3)
#define BRISK_NVME_ONCS_SET_FEATURES_SAVE (1u << 4)
#define BRISK_NVME_ONCS_RESERVATIONS (1u << 5)
#define BRISK_NVME_ONCS_TIMESTAMP (1u << 6)
/* SGLS bits 1:0: 01b SGLs supported with no alignment rule, 10b dword aligned. */
#define BRISK_NVME_SGLS_SUPPORT_MASK 0x3u
#define BRISK_NVME_SGLS_DWORD_ALIGNED 0x2u
/* OAES bit 8: namespace attribute notices. */
#define BRISK_NVME_OAES_NS_ATTR (1u << 8)
/* OAES bit 11: ANA change notices. */
#define BRISK_NVME_OAES_ANA_CHANGE (1u << 11)
/* CMIC bits: several ports, several controllers, ANA reporting. */
#define BRISK_NVME_CMIC_MULTI_PORT (1u << 0)
#define BRISK_NVME_CMIC_MULTI_CTRLR (1u << 1)
#define BRISK_NVME_CMIC_ANA_REPORTING (1u << 3)
/* ANACAP bits: states reported, group ID fixed while attached. */
#define BRISK_NVME_ANACAP_OPTIMIZED (1u << 0)
#define BRISK_NVME_ANACAP_NON_OPTIMIZED (1u << 1)
#define BRISK_NVME_ANACAP_INACCESSIBLE (1u << 2)
#define BRISK_NVME_ANACAP_GRPID_STATIC (1u << 6)
#define BRISK_NVME_OAES_DISCOVERY_LOG_CHANGE (1u << 31) /* discovery controllers */

/* LBA format (4 bytes). */
struct brisk_nvme_lbaf {
	uint32_t ms : 16;    /* metadata bytes per LBA */
	uint32_t lbads : 8;  /* LBA data size 2^lbads */
	uint32_t rp : 2;     /* relative performance */
	uint32_t rsvd : 6;
};
_Static_assert(sizeof(struct brisk_nvme_lbaf) == 4, "LBA format is 4 bytes");

/* Identify Namespace data (CNS 00h), 4096 bytes. */
struct brisk_nvme_ns_data {
	uint64_t nsze;         /* 0: size in LBAs */
	uint64_t ncap;         /* 8 */
	uint64_t nuse;         /* 16 */
	uint8_t nsfeat;        /* 24: bit 4 NPWG..NOWS valid */
	uint8_t nlbaf;         /* 25: LBA formats, 0's based */
	uint8_t flbas;         /* 26: bits 3:0 format in use, bit 4 metadata at the end */
	uint8_t mc;            /* 27 */
	uint8_t dpc;           /* 28 */
	uint8_t dps;           /* 29 */
	uint8_t nmic;          /* 30 */
	uint8_t rescap;        /* 31 */
	uint8_t fpi;           /* 32 */
	uint8_t dlfeat;        /* 33: bits 2:0 what a deallocated block reads as */
	uint16_t nawun;        /* 34 */
	uint16_t nawupf;       /* 36 */
	uint16_t nacwu;        /* 38 */
	uint16_t nabsn;        /* 40 */
	uint16_t nabo;         /* 42 */
	uint16_t nabspf;       /* 44 */
	uint16_t noiob;        /* 46: optimal I/O boundary, LBAs */
	uint64_t nvmcap[2];    /* 48 */
	uint16_t npwg;         /* 64 */
	uint16_t npwa;         /* 66 */
	uint16_t npdg;         /* 68 */
	uint16_t npda;         /* 70 */
	uint16_t nows;         /* 72 */
	uint8_t rsvd74[18];
	uint32_t anagrpid;     /* 92 */
	uint8_t rsvd96[3];
	uint8_t nsattr;        /* 99 */
	uint16_t nvmsetid;     /* 100 */
	uint16_t endgid;       /* 102 */
	uint8_t nguid[16];     /* 104 */
	uint8_t eui64[8];      /* 120 */
	struct brisk_nvme_lbaf lbaf[16]; /* 128 */
	uint8_t rsvd192[192];
	uint8_t vs[3712];      /* 384 */
};
_Static_assert(sizeof(struct brisk_nvme_ns_data) == 4096, "Identify Namespace is 4096 bytes");
_Static_assert(offsetof(struct brisk_nvme_ns_data, nsze) == 0, "NSZE at 0");
_Static_assert(offsetof(struct brisk_nvme_ns_data, ncap) == 8, "NCAP at 8");
_Static_assert(offsetof(struct brisk_nvme_ns_data, nuse) == 16, "NUSE at 16");
_Static_assert(offsetof(struct brisk_nvme_ns_data, nsfeat) == 24, "NSFEAT at 24");
_Static_assert(offsetof(struct brisk_nvme_ns_data, nlbaf) == 25, "NLBAF at 25");
_Static_assert(offsetof(struct brisk_nvme_ns_data, flbas) == 26, "FLBAS at 26");
_Static_assert(offsetof(struct brisk_nvme_ns_data, mc) == 27, "MC at 27");
_Static_assert(offsetof(struct brisk_nvme_ns_data, dps) == 29, "DPS at 29");
_Static_assert(offsetof(struct brisk_nvme_ns_data, nmic) == 30, "NMIC at 30");
_Static_assert(offsetof(struct brisk_nvme_ns_data, dlfeat) == 33, "DLFEAT at 33");
_Static_assert(offsetof(struct brisk_nvme_ns_data, noiob) == 46, "NOIOB at 46");
_Static_assert(offsetof(struct brisk_nvme_ns_data, nvmcap) == 48, "NVMCAP at 48");
_Static_assert(offsetof(struct brisk_nvme_ns_data, nguid) == 104, "NGUID at 104");
_Static_assert(offsetof(struct brisk_nvme_ns_data, eui64) == 120, "EUI64 at 120");
_Static_assert(offsetof(struct brisk_nvme_ns_data, lbaf) == 128, "LBAF0 at 128");
_Static_assert(offsetof(struct brisk_nvme_ns_data, vs) == 384, "VS at 384");

/* Namespace identification descriptor (CNS 03h list: up to 4096 bytes). */
struct brisk_nvme_ns_id_desc {
	uint8_t nidt; /* type, BRISK_NVME_NIDT_*; 0 ends the list */
	uint8_t nidl; /* length of nid */
	uint8_t rsvd[2];
	uint8_t nid[];
};
_Static_assert(sizeof(struct brisk_nvme_ns_id_desc) == 4, "NS ID descriptor header is 4 bytes");
_Static_assert(offsetof(struct brisk_nvme_ns_id_desc, nidl) == 1, "NIDL at 1");
_Static_assert(offsetof(struct brisk_nvme_ns_id_desc, nid) == 4, "NID at 4");
#define BRISK_NVME_NIDT_EUI64 0x1
#define BRISK_NVME_NIDT_NGUID 0x2
#define BRISK_NVME_NIDT_UUID 0x3
#define BRISK_NVME_NIDT_CSI 0x4

/* ---- Log pages ---- */
enum brisk_nvme_log_page {
	BRISK_NVME_LOG_ERROR = 0x01,
	BRISK_NVME_LOG_HEALTH_INFORMATION = 0x02,
	BRISK_NVME_LOG_FIRMWARE_SLOT = 0x03,
	BRISK_NVME_LOG_CHANGED_NS_LIST = 0x04,
	BRISK_NVME_LOG_COMMAND_EFFECTS = 0x05,
	BRISK_NVME_LOG_ANA = 0x0c,
};

/* Asymmetric Namespace Access states (ANA log, descriptor byte 16). */
enum brisk_nvme_ana_state {
	BRISK_NVME_ANA_OPTIMIZED = 0x1,
	BRISK_NVME_ANA_NON_OPTIMIZED = 0x2,
	BRISK_NVME_ANA_INACCESSIBLE = 0x3,
	BRISK_NVME_ANA_PERSISTENT_LOSS = 0x4,
	BRISK_NVME_ANA_CHANGE = 0xf,
};
/* ANA log page header (16 bytes), then one descriptor per group. */
struct brisk_nvme_ana_page {
	uint64_t change_count;
	uint16_t num_ana_group_desc;
	uint8_t rsvd10[6];
};
_Static_assert(sizeof(struct brisk_nvme_ana_page) == 16, "ANA log header is 16 bytes");
/* ANA group descriptor (32 bytes), followed by num_of_nsid NSIDs. */
struct brisk_nvme_ana_group_desc {
	uint32_t ana_group_id;
	uint32_t num_of_nsid;
	uint64_t change_count;
	uint8_t ana_state; /* bits 3:0 */
	uint8_t rsvd17[15];
	uint32_t nsid[];
};
_Static_assert(sizeof(struct brisk_nvme_ana_group_desc) == 32, "ANA group descriptor is 32 bytes");
/* Get Log Page LSP bit 0 for the ANA log: Return Groups Only. */
#define BRISK_NVME_ANA_LOG_RGO (1u << 8)

/* Error information log entry (64 bytes). */
struct brisk_nvme_error_information_entry {
	uint64_t error_count;
	uint16_t sqid;
	uint16_t cid;
	struct brisk_nvme_status status;
	uint16_t error_location;
	uint64_t lba;
	uint32_t nsid;
	uint8_t vendor_specific;
	uint8_t trtype;
	uint8_t rsvd30[2];
	uint64_t command_specific;
	uint16_t trtype_specific;
	uint8_t rsvd42[22];
};
_Static_assert(sizeof(struct brisk_nvme_error_information_entry) == 64, "error entry is 64 bytes");
_Static_assert(offsetof(struct brisk_nvme_error_information_entry, sqid) == 8, "SQID at 8");
_Static_assert(offsetof(struct brisk_nvme_error_information_entry, cid) == 10, "CID at 10");
_Static_assert(offsetof(struct brisk_nvme_error_information_entry, status) == 12, "status at 12");
_Static_assert(offsetof(struct brisk_nvme_error_information_entry, lba) == 16, "LBA at 16");
_Static_assert(offsetof(struct brisk_nvme_error_information_entry, nsid) == 24, "NSID at 24");

/* SMART / Health Information log (512 bytes). 128-bit counters as two words. */
struct __attribute__((packed)) brisk_nvme_health_information_page {
	uint8_t critical_warning;       /* 0 */
	uint16_t temperature;           /* 1: kelvin */
	uint8_t available_spare;        /* 3: percent */
	uint8_t available_spare_threshold; /* 4 */
	uint8_t percentage_used;        /* 5 */
	uint8_t endurance_group_critical_warning; /* 6 */
	uint8_t rsvd7[25];
	uint64_t data_units_read[2];    /* 32: thousands of 512-byte units */
	uint64_t data_units_written[2]; /* 48 */
	uint64_t host_read_commands[2]; /* 64 */
	uint64_t host_write_commands[2]; /* 80 */
	uint64_t controller_busy_time[2]; /* 96: minutes */
	uint64_t power_cycles[2];       /* 112 */
	uint64_t power_on_hours[2];     /* 128 */
	uint64_t unsafe_shutdowns[2];   /* 144 */
	uint64_t media_errors[2];       /* 160 */
	uint64_t num_error_info_log_entries[2]; /* 176 */
	uint32_t warning_temp_time;     /* 192: minutes */
	uint32_t critical_temp_time;    /* 196 */
	uint16_t temp_sensor[8];        /* 200 */
	uint8_t rsvd216[296];
};
_Static_assert(sizeof(struct brisk_nvme_health_information_page) == 512, "health log is 512 bytes");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, temperature) == 1, "temperature at 1");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, available_spare) == 3, "spare at 3");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, available_spare_threshold) == 4,
	       "spare threshold at 4");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, percentage_used) == 5, "used at 5");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, data_units_read) == 32, "DUR at 32");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, data_units_written) == 48, "DUW at 48");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, host_read_commands) == 64, "HRC at 64");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, host_write_commands) == 80, "HWC at 80");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, controller_busy_time) == 96, "busy at 96");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, power_cycles) == 112, "cycles at 112");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, power_on_hours) == 128, "POH at 128");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, unsafe_shutdowns) == 144, "unsafe at 144");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, media_errors) == 160, "media at 160");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, num_error_info_log_entries) == 176,
	       "error entries at 176");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, warning_temp_time) == 192, "WTT at 192");
_Static_assert(offsetof(struct brisk_nvme_health_information_page, temp_sensor) == 200, "sensors at 200");

/* Firmware slot information log (512 bytes). */
struct brisk_nvme_firmware_page {
	uint8_t afi;          /* bits 2:0 active slot, 6:4 slot at next reset */
	uint8_t rsvd1[7];
	char revision[7][8];  /* 8: slots 1-7 */
	uint8_t rsvd64[448];
};
_Static_assert(sizeof(struct brisk_nvme_firmware_page) == 512, "firmware log is 512 bytes");
_Static_assert(offsetof(struct brisk_nvme_firmware_page, afi) == 0, "AFI at 0");
_Static_assert(offsetof(struct brisk_nvme_firmware_page, revision) == 8, "FRS1 at 8");

/* Changed namespace list log (4096 bytes): up to 1024 nsids, 0-terminated;
 * first entry 0xffffffff when more than 1024 changed. */
struct brisk_nvme_ns_list {
	uint32_t ns_list[1024];
};
_Static_assert(sizeof(struct brisk_nvme_ns_list) == 4096, "namespace list is 4096 bytes");

/* ---- Features ---- */
enum brisk_nvme_feature {
	BRISK_NVME_FEAT_ARBITRATION = 0x01,
	BRISK_NVME_FEAT_POWER_MANAGEMENT = 0x02,
	BRISK_NVME_FEAT_LBA_RANGE_TYPE = 0x03,
	BRISK_NVME_FEAT_TEMPERATURE_THRESHOLD = 0x04,
	BRISK_NVME_FEAT_ERROR_RECOVERY = 0x05,
	BRISK_NVME_FEAT_VOLATILE_WRITE_CACHE = 0x06,
	BRISK_NVME_FEAT_NUMBER_OF_QUEUES = 0x07,
	BRISK_NVME_FEAT_INTERRUPT_COALESCING = 0x08,
	BRISK_NVME_FEAT_INTERRUPT_VECTOR_CONFIGURATION = 0x09,
	BRISK_NVME_FEAT_WRITE_ATOMICITY = 0x0a,
	BRISK_NVME_FEAT_ASYNC_EVENT_CONFIGURATION = 0x0b,
	BRISK_NVME_FEAT_AUTONOMOUS_POWER_STATE_TRANSITION = 0x0c,
	BRISK_NVME_FEAT_HOST_MEM_BUFFER = 0x0d,
	BRISK_NVME_FEAT_TIMESTAMP = 0x0e,
	BRISK_NVME_FEAT_KEEP_ALIVE_TIMER = 0x0f,
	BRISK_NVME_FEAT_HOST_IDENTIFIER = 0x81,
};
/* Get Features select field (cdw10 bits 10:8). */
#define BRISK_NVME_FEAT_SEL_CURRENT 0
#define BRISK_NVME_FEAT_SEL_DEFAULT 1
#define BRISK_NVME_FEAT_SEL_SAVED 2
#define BRISK_NVME_FEAT_SEL_SUPPORTED 3

/* Asynchronous event configuration (cdw11 of feature 0Bh). */
#define BRISK_NVME_AEC_SMART_CRITICAL_MASK 0xffu
#define BRISK_NVME_AEC_NS_ATTR_NOTICES (1u << 8)
#define BRISK_NVME_AEC_FW_ACTIVATION_NOTICES (1u << 9)
#define BRISK_NVME_AEC_ANA_CHANGE_NOTICES (1u << 11)
#define BRISK_NVME_AEC_DISCOVERY_LOG_CHANGE_NOTICES (1u << 31) /* discovery controllers */

/* ---- Asynchronous events (cdw0 of an AER completion) ---- */
enum brisk_nvme_async_event_type {
	BRISK_NVME_ASYNC_EVENT_TYPE_ERROR = 0x0,
	BRISK_NVME_ASYNC_EVENT_TYPE_SMART = 0x1,
	BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE = 0x2,
	BRISK_NVME_ASYNC_EVENT_TYPE_IO = 0x6,
	BRISK_NVME_ASYNC_EVENT_TYPE_VENDOR = 0x7,
};
enum brisk_nvme_async_event_notice_info {
	BRISK_NVME_ASYNC_EVENT_NS_ATTR_CHANGED = 0x0,
	BRISK_NVME_ASYNC_EVENT_FW_ACTIVATION_START = 0x1,
	BRISK_NVME_ASYNC_EVENT_TELEMETRY_LOG_CHANGED = 0x2,
	BRISK_NVME_ASYNC_EVENT_ANA_CHANGE = 0x3,
	BRISK_NVME_ASYNC_EVENT_DISCOVERY_LOG_CHANGE = 0xf0,
};
union brisk_nvme_async_event_completion {
	uint32_t raw;
	struct {
		uint32_t async_event_type : 3;
		uint32_t rsvd1 : 5;
		uint32_t async_event_info : 8;
		uint32_t log_page_identifier : 8;
		uint32_t rsvd2 : 8;
	} bits;
};
_Static_assert(sizeof(union brisk_nvme_async_event_completion) == 4, "AER cdw0 is 4 bytes");

/* Command-specific status codes the driver interprets. */
enum brisk_nvme_command_specific_status {
	BRISK_NVME_SC_COMPLETION_QUEUE_INVALID = 0x00,
	BRISK_NVME_SC_INVALID_QUEUE_IDENTIFIER = 0x01,
	BRISK_NVME_SC_INVALID_QUEUE_SIZE = 0x02,
	BRISK_NVME_SC_ABORT_COMMAND_LIMIT_EXCEEDED = 0x03,
	BRISK_NVME_SC_ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED = 0x05,
	BRISK_NVME_SC_INVALID_FIRMWARE_SLOT = 0x06,
	BRISK_NVME_SC_INVALID_FORMAT = 0x0a,
	BRISK_NVME_SC_INVALID_LOG_PAGE = 0x09,
	BRISK_NVME_SC_FEATURE_ID_NOT_SAVEABLE = 0x0d,
	BRISK_NVME_SC_CONFLICTING_ATTRIBUTES = 0x80,
	BRISK_NVME_SC_INVALID_PROTECTION_INFO = 0x81,
	BRISK_NVME_SC_ATTEMPTED_WRITE_TO_RO_RANGE = 0x82,
	/* Namespace Management and Namespace Attachment */
	BRISK_NVME_SC_NS_INSUFFICIENT_CAPACITY = 0x15,
	BRISK_NVME_SC_NS_ID_UNAVAILABLE = 0x16,
	BRISK_NVME_SC_NS_ALREADY_ATTACHED = 0x18,
	BRISK_NVME_SC_NS_IS_PRIVATE = 0x19,
	BRISK_NVME_SC_NS_NOT_ATTACHED = 0x1a,
	BRISK_NVME_SC_THIN_PROVISIONING_NOT_SUPPORTED = 0x1b,
	BRISK_NVME_SC_CONTROLLER_LIST_INVALID = 0x1c,
};

/* ---- Namespace Management (opcode 0Dh) and Attachment (15h) ---- */
/* CDW10.SEL of Namespace Management. */
#define BRISK_NVME_NS_MGMT_SEL_CREATE 0x0u
#define BRISK_NVME_NS_MGMT_SEL_DELETE 0x1u
/* CDW10.SEL of Namespace Attachment. */
#define BRISK_NVME_NS_ATTACH_SEL_ATTACH 0x0u
#define BRISK_NVME_NS_ATTACH_SEL_DETACH 0x1u
/* Identify CNS values about allocated namespaces and controllers. */
#define BRISK_NVME_IDENTIFY_ALLOCATED_NS_LIST 0x10u
#define BRISK_NVME_IDENTIFY_ALLOCATED_NS 0x11u
#define BRISK_NVME_IDENTIFY_CTRLR_LIST_ATTACHED 0x12u
#define BRISK_NVME_IDENTIFY_CTRLR_LIST 0x13u

/* Controller list (Namespace Attachment data, Identify CNS 12h/13h). */
#define BRISK_NVME_CTRLR_LIST_MAX 2047
struct brisk_nvme_ctrlr_list {
	uint16_t num_ids;
	uint16_t ctrlr_ids[BRISK_NVME_CTRLR_LIST_MAX];
};
_Static_assert(sizeof(struct brisk_nvme_ctrlr_list) == 4096, "controller list is 4096 bytes");
_Static_assert(offsetof(struct brisk_nvme_ctrlr_list, ctrlr_ids) == 2, "identifiers at byte 2");

#ifdef __cplusplus
}
#endif
#endif
