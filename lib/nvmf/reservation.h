/*
 * NVMe reservations of one namespace (NVMe base spec, "Reservations"):
 * registrants by 128-bit host ID with their keys, the reservation type and
 * holder, the generation counter and Persist Through Power Loss. The state
 * machine (reservation.c) is pure: no locks, threads or I/O, so every
 * action x type is unit tested; reservation_cmd.c decodes the commands,
 * locks the state, persists it (reservation_ptpl.c) and sends notices.
 */
#ifndef BRISK_NVMF_RESERVATION_H
#define BRISK_NVMF_RESERVATION_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define NVMF_RESV_MAX_REGS 64
#define NVMF_LOG_RESV_NOTIFICATION 0x80

enum nvmf_resv_type {
	NVMF_RESV_NONE = 0,
	NVMF_RESV_WRITE_EXCLUSIVE = 1,
	NVMF_RESV_EXCLUSIVE_ACCESS = 2,
	NVMF_RESV_WRITE_EXCLUSIVE_REG_ONLY = 3,
	NVMF_RESV_EXCLUSIVE_ACCESS_REG_ONLY = 4,
	NVMF_RESV_WRITE_EXCLUSIVE_ALL_REGS = 5,
	NVMF_RESV_EXCLUSIVE_ACCESS_ALL_REGS = 6,
};

/* Reservation Notification log page types (and mask bits 1 << type). */
enum nvmf_resv_notice_type {
	NVMF_RESV_NOTICE_REG_PREEMPTED = 1,
	NVMF_RESV_NOTICE_RESV_RELEASED = 2,
	NVMF_RESV_NOTICE_RESV_PREEMPTED = 3,
};

/* Command fields (CDW10). */
#define NVMF_RESV_REGISTER 0
#define NVMF_RESV_UNREGISTER 1
#define NVMF_RESV_REPLACE 2
#define NVMF_RESV_ACQUIRE 0
#define NVMF_RESV_PREEMPT 1
#define NVMF_RESV_PREEMPT_ABORT 2
#define NVMF_RESV_RELEASE 0
#define NVMF_RESV_CLEAR 1
#define NVMF_RESV_CPTPL_NO_CHANGE 0
#define NVMF_RESV_CPTPL_CLEAR 2
#define NVMF_RESV_CPTPL_SET 3

/* Reservation Report: header, then extended entries (EDS=1) at 64. */
#define NVMF_RESV_REPORT_HDR 24
#define NVMF_RESV_REPORT_EXT_HDR 64
#define NVMF_RESV_REPORT_EXT_ENTRY 64

struct nvmf_resv_reg {
	uint8_t hostid[16];
	uint64_t rkey;
};

struct nvmf_resv {
	pthread_mutex_t mutex; /* held by reservation_cmd.c around every use */
	bool active; /* a reservation exists: I/O must be checked */
	uint8_t rtype; /* enum nvmf_resv_type */
	uint8_t holder[16]; /* host ID of the holder (not for all-registrants types) */
	uint32_t gen;
	bool ptpl; /* Persist Through Power Loss state */
	bool ptpl_capable; /* a ptpl_file is configured */
	char *ptpl_file;
	struct nvmf_resv_reg regs[NVMF_RESV_MAX_REGS];
	uint32_t num_regs;
};

/* Hosts to notify after an action, and whether the state changed. */
struct nvmf_resv_notice {
	uint8_t hostid[16];
	uint8_t type; /* enum nvmf_resv_notice_type */
};

struct nvmf_resv_out {
	struct nvmf_resv_notice notices[NVMF_RESV_MAX_REGS];
	uint32_t num_notices;
	bool changed;
};

/* A copy of the state, to undo an action whose result cannot be persisted. */
struct nvmf_resv_state {
	uint8_t rtype;
	uint8_t holder[16];
	uint32_t gen;
	bool ptpl;
	struct nvmf_resv_reg regs[NVMF_RESV_MAX_REGS];
	uint32_t num_regs;
};

void nvmf_resv_state_save(const struct nvmf_resv *r, struct nvmf_resv_state *st);
void nvmf_resv_state_restore(struct nvmf_resv *r, const struct nvmf_resv_state *st);

/* Each returns an NVMe generic status code (0 on success). */
uint8_t nvmf_resv_register(struct nvmf_resv *r, const uint8_t *hostid, uint32_t cdw10, uint64_t crkey, uint64_t nrkey,
			   struct nvmf_resv_out *out);
uint8_t nvmf_resv_acquire(struct nvmf_resv *r, const uint8_t *hostid, uint32_t cdw10, uint64_t crkey, uint64_t prkey,
			  struct nvmf_resv_out *out);
uint8_t nvmf_resv_release(struct nvmf_resv *r, const uint8_t *hostid, uint32_t cdw10, uint64_t crkey,
			  struct nvmf_resv_out *out);
bool nvmf_resv_io_allowed(const struct nvmf_resv *r, const uint8_t *hostid, bool write);
uint32_t nvmf_resv_report(const struct nvmf_resv *r, uint8_t *buf, uint32_t len);
uint8_t nvmf_resv_rescap(const struct nvmf_resv *r);
void nvmf_resv_init(struct nvmf_resv *r);
void nvmf_resv_fini(struct nvmf_resv *r);

/* reservation_ptpl.c: the ptpl_file (JSON, replaced atomically). */
int nvmf_resv_ptpl_load(struct nvmf_resv *r, const char *path, char *err, size_t errlen);
int nvmf_resv_ptpl_save(const struct nvmf_resv *r);

#endif
