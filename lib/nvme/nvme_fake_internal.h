/*
 * The fake controller's state, shared by its register/queue model
 * (transport_fake.c) and its command execution (fake_cmd.c).
 */
#ifndef BRISK_NVME_FAKE_INTERNAL_H
#define BRISK_NVME_FAKE_INTERNAL_H

#include "nvme_fake.h"
#include "nvme_internal.h"

#define FAKE_MAX_Q 16
#define FAKE_MAX_HELD 4096
#define FAKE_MAX_AER 4
#define FAKE_MAX_EVENTS 8

struct fake_sq {
	bool exists;
	struct brisk_nvme_cmd *ring;
	uint32_t size;
	uint16_t head;
	uint16_t cqid;
};

struct fake_cq {
	bool exists;
	struct brisk_nvme_cpl *ring;
	uint32_t size;
	uint16_t tail;
	uint8_t phase;
};

struct fake_held {
	uint16_t qid;
	struct brisk_nvme_cmd cmd;
};

struct fake_ns {
	bool active;       /* attached to the controller */
	bool allocated;    /* exists (Namespace Management) */
	uint32_t lbaf;
	uint64_t bytes;
	uint8_t *ram;
};

struct nvme_fake_dev {
	char name[64];
	struct nvme_fake_params params;
	union brisk_nvme_cap_register cap;
	uint32_t cc;
	union brisk_nvme_csts_register csts;
	uint32_t rdy_target;
	uint32_t rdy_countdown;
	uint32_t aqa;
	uint64_t asq;
	uint64_t acq;
	bool ready_never;
	bool cfs;
	bool removed;
	bool hold;
	bool hold_admin;
	uint8_t hold_admin_opc;
	bool abort_fails;
	bool attached;
	struct fake_sq sq[FAKE_MAX_Q];
	struct fake_cq cq[FAKE_MAX_Q];
	struct fake_held *held;
	uint32_t num_held;
	uint16_t aer_cid[FAKE_MAX_AER];
	uint32_t num_aer;
	uint32_t events[FAKE_MAX_EVENTS];
	uint32_t num_events;
	uint32_t features[256];
	uint32_t changed_ns[NVME_FAKE_MAX_NS];
	uint32_t num_changed;
	struct fake_ns ns[NVME_FAKE_MAX_NS];
	struct nvme_fake_stats stats;
	TAILQ_ENTRY(nvme_fake_dev) link;
};

struct fake_result {
	uint16_t sct;
	uint16_t sc;
	uint32_t cdw0;
	bool hold; /* no completion now */
};

void fake_post(struct nvme_fake_dev *dev, uint16_t qid, uint16_t cid, uint16_t sct, uint16_t sc,
	       uint32_t cdw0);
void fake_execute(struct nvme_fake_dev *dev, uint16_t qid, const struct brisk_nvme_cmd *cmd,
		  struct fake_result *res);
uint32_t fake_ns_block_size(const struct fake_ns *ns);
int fake_ns_init(struct fake_ns *ns, uint64_t bytes, uint32_t lbaf, bool no_data);
void fake_ns_notice(struct nvme_fake_dev *dev, uint32_t nsid);

#endif
