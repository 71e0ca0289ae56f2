/*
 * A fake NVMe controller for lib/nvme's tests and its host benchmark: an
 * in-memory model of the controller's registers, queues and RAM-backed
 * namespaces that executes each command the moment its doorbell is
 * written. It is a transport ("trtype:fake traddr:<name>") that only exists
 * once a test calls nvme_fake_transport_register(); no production path
 * reaches it. Knobs make it misbehave the ways real controllers do: never
 * ready, fatal status, removed (registers read all ones), commands held
 * back (timeouts, out-of-order completion), aborts that fail, namespace
 * changes with an asynchronous event. It can also create, delete, attach
 * and detach namespaces (params.ns_mgmt).
 */
#ifndef BRISK_NVME_FAKE_H
#define BRISK_NVME_FAKE_H

#include <stdbool.h>
#include <stdint.h>

#include <brisk/nvme.h>

#define NVME_FAKE_MAX_NS 4
#define NVME_FAKE_NS_MGMT_MAX_BYTES (16u << 20)
#define NVME_FAKE_CNTLID 0x21

struct nvme_fake_params {
	uint32_t num_ns;       /* active namespaces, nsid 1..num_ns */
	uint64_t ns_bytes;     /* capacity of each namespace */
	uint32_t lbaf;         /* format in use: 0 = 512 B, 1 = 4 KiB blocks */
	uint16_t noiob;        /* optimal I/O boundary in blocks (0 = none) */
	uint8_t mdts;          /* 2^mdts 4 KiB pages (0 = no limit) */
	bool sgl;              /* SGLs supported */
	uint16_t mqes;         /* CAP.MQES, 0's based */
	uint8_t cap_to;        /* CAP.TO, 500 ms units */
	uint32_t ready_delay;  /* CSTS reads before RDY follows CC.EN */
	bool no_data;          /* benchmark: do not move data */
	bool no_active_list;   /* an NVMe 1.0 controller: no Identify CNS 02h */
	bool ns_mgmt;          /* OACS bit 3: Namespace Management and Attachment over
				* a pool of NVME_FAKE_MAX_NS namespaces, each at most
				* NVME_FAKE_NS_MGMT_MAX_BYTES */
};

struct nvme_fake_stats {
	uint64_t sq_doorbells;
	uint64_t cq_doorbells;
	uint64_t bad_doorbells; /* written for a queue that does not exist */
	uint64_t io_cmds;
	uint64_t admin_cmds[256];
	uint64_t io_opc[256];
	uint32_t max_io_outstanding; /* most I/O commands seen in the SQs at once */
	struct brisk_nvme_cmd last_io; /* as the driver wrote it */
};

struct nvme_fake_dev;

void nvme_fake_transport_register(void);
void nvme_fake_default_params(struct nvme_fake_params *p);
/* A controller reachable as "trtype:fake traddr:<name>"; NULL on error. */
struct nvme_fake_dev *nvme_fake_dev_create(const char *name, const struct nvme_fake_params *p);
void nvme_fake_dev_destroy(struct nvme_fake_dev *dev);

void nvme_fake_set_ready_never(struct nvme_fake_dev *dev, bool on);
void nvme_fake_set_cfs(struct nvme_fake_dev *dev, bool on);
void nvme_fake_set_removed(struct nvme_fake_dev *dev, bool on);
/* While on, I/O commands wait until nvme_fake_release (or an Abort). */
void nvme_fake_set_hold(struct nvme_fake_dev *dev, bool on);
/* Executes and completes held I/O commands, newest first if reverse. Count. */
uint32_t nvme_fake_release(struct nvme_fake_dev *dev, bool reverse);
uint32_t nvme_fake_num_held(struct nvme_fake_dev *dev);
/* Admin commands with this opcode are held too (until a reset drops them). */
void nvme_fake_hold_admin(struct nvme_fake_dev *dev, bool on, uint8_t opc);
/* Aborts report "not aborted" (CDW0 bit 0) and leave the command held. */
void nvme_fake_set_abort_fails(struct nvme_fake_dev *dev, bool on);
/* Resizes namespace nsid (0 bytes detaches it) and raises a namespace
 * attribute notice through an outstanding Asynchronous Event Request. */
void nvme_fake_ns_change(struct nvme_fake_dev *dev, uint32_t nsid, uint64_t bytes);
uint8_t *nvme_fake_ns_ram(struct nvme_fake_dev *dev, uint32_t nsid);
struct nvme_fake_stats *nvme_fake_get_stats(struct nvme_fake_dev *dev);
/* As firmware leaves it: enabled and ready, queues unknown to the driver. */
void nvme_fake_set_enabled(struct nvme_fake_dev *dev);
/* Register values as the fake holds them. */
uint32_t nvme_fake_get_cc(struct nvme_fake_dev *dev);

#endif
