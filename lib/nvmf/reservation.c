/*
 * The reservation state machine of one namespace (NVMe base spec,
 * "Reservations"): Register/Unregister/Replace, Acquire/Preempt/Preempt and
 * Abort, Release/Clear, the I/O access rule per type, and the Reservation
 * Report data. Pure functions over struct nvmf_resv: the caller locks.
 * Registrations belong to hosts (128-bit host IDs from Connect), so every
 * controller of a host shares its registration, as on fabrics.
 */
#include <stdlib.h>
#include <string.h>

#include <brisk/nvme_spec.h>

#include "reservation.h"

#define SC_OK BRISK_NVME_SC_SUCCESS
#define SC_CONFLICT BRISK_NVME_SC_RESERVATION_CONFLICT
#define SC_INVALID BRISK_NVME_SC_INVALID_FIELD

void nvmf_resv_init(struct nvmf_resv *r)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mutex, NULL);
	__atomic_store_n(&r->active, false, __ATOMIC_RELAXED);
}

void nvmf_resv_fini(struct nvmf_resv *r)
{
	pthread_mutex_destroy(&r->mutex);
	free(r->ptpl_file);
	r->ptpl_file = NULL;
}

void nvmf_resv_state_save(const struct nvmf_resv *r, struct nvmf_resv_state *st)
{
	st->rtype = r->rtype;
	memcpy(st->holder, r->holder, 16);
	st->gen = r->gen;
	st->ptpl = r->ptpl;
	st->num_regs = r->num_regs;
	memcpy(st->regs, r->regs, r->num_regs * sizeof(r->regs[0]));
}

void nvmf_resv_state_restore(struct nvmf_resv *r, const struct nvmf_resv_state *st)
{
	r->rtype = st->rtype;
	memcpy(r->holder, st->holder, 16);
	r->gen = st->gen;
	r->ptpl = st->ptpl;
	r->num_regs = st->num_regs;
	memcpy(r->regs, st->regs, st->num_regs * sizeof(r->regs[0]));
	__atomic_store_n(&r->active, r->rtype != NVMF_RESV_NONE, __ATOMIC_SEQ_CST);
}

static bool all_regs_type(uint8_t rtype)
{
	return rtype == NVMF_RESV_WRITE_EXCLUSIVE_ALL_REGS || rtype == NVMF_RESV_EXCLUSIVE_ACCESS_ALL_REGS;
}

static struct nvmf_resv_reg *reg_find(const struct nvmf_resv *r, const uint8_t *hostid)
{
	for (uint32_t i = 0; i < r->num_regs; i++) {
		if (memcmp(r->regs[i].hostid, hostid, 16) == 0) {
			return (struct nvmf_resv_reg *)&r->regs[i];
		}
	}
	return NULL;
}

/* Every registrant holds an all-registrants reservation. */
static bool is_holder(const struct nvmf_resv *r, const uint8_t *hostid)
{
	if (r->rtype == NVMF_RESV_NONE) {
		return false;
	}
	if (all_regs_type(r->rtype)) {
		return reg_find(r, hostid) != NULL;
	}
	return memcmp(r->holder, hostid, 16) == 0;
}

static void set_resv(struct nvmf_resv *r, uint8_t rtype, const uint8_t *holder)
{
	r->rtype = rtype;
	if (holder != NULL) {
		memcpy(r->holder, holder, 16);
	} else {
		memset(r->holder, 0, 16);
	}
	__atomic_store_n(&r->active, rtype != NVMF_RESV_NONE, __ATOMIC_SEQ_CST);
}

static void notice(struct nvmf_resv_out *out, const uint8_t *hostid, uint8_t type)
{
	if (out->num_notices < NVMF_RESV_MAX_REGS) {
		memcpy(out->notices[out->num_notices].hostid, hostid, 16);
		out->notices[out->num_notices++].type = type;
	}
}

/* Every registrant but the issuer learns of a release or preemption. */
static void notice_others(const struct nvmf_resv *r, const uint8_t *issuer, uint8_t type, struct nvmf_resv_out *out)
{
	for (uint32_t i = 0; i < r->num_regs; i++) {
		if (memcmp(r->regs[i].hostid, issuer, 16) != 0) {
			notice(out, r->regs[i].hostid, type);
		}
	}
}

static void reg_remove(struct nvmf_resv *r, struct nvmf_resv_reg *reg)
{
	uint32_t i = (uint32_t)(reg - r->regs);

	memmove(&r->regs[i], &r->regs[i + 1], (r->num_regs - i - 1) * sizeof(*reg));
	r->num_regs--;
}

/* A registrant leaves: the holder's leaving releases the reservation (for an
 * all-registrants type, the last registrant's leaving). */
static void reg_leave(struct nvmf_resv *r, struct nvmf_resv_reg *reg, struct nvmf_resv_out *out)
{
	uint8_t hostid[16];
	bool holder = is_holder(r, reg->hostid);

	memcpy(hostid, reg->hostid, 16);
	reg_remove(r, reg);
	if (!holder || (all_regs_type(r->rtype) && r->num_regs > 0)) {
		return;
	}
	if (r->rtype >= NVMF_RESV_WRITE_EXCLUSIVE_REG_ONLY) {
		notice_others(r, hostid, NVMF_RESV_NOTICE_RESV_RELEASED, out);
	}
	set_resv(r, NVMF_RESV_NONE, NULL);
}

/* Registrants other than the issuer whose key is rkey are unregistered
 * and told so; returns how many. */
static uint32_t preempt_by_key(struct nvmf_resv *r, const uint8_t *issuer, uint64_t rkey, bool any_key,
			       struct nvmf_resv_out *out)
{
	uint32_t n = 0, i = 0;

	while (i < r->num_regs) {
		struct nvmf_resv_reg *reg = &r->regs[i];

		if (memcmp(reg->hostid, issuer, 16) != 0 && (any_key || reg->rkey == rkey)) {
			notice(out, reg->hostid, NVMF_RESV_NOTICE_REG_PREEMPTED);
			reg_remove(r, reg);
			n++;
			continue;
		}
		i++;
	}
	return n;
}

static uint8_t cptpl_apply(struct nvmf_resv *r, uint32_t cptpl)
{
	if (cptpl == NVMF_RESV_CPTPL_NO_CHANGE) {
		return SC_OK;
	}
	if (cptpl == 1 || (cptpl == NVMF_RESV_CPTPL_SET && !r->ptpl_capable)) {
		return SC_INVALID;
	}
	r->ptpl = cptpl == NVMF_RESV_CPTPL_SET;
	return SC_OK;
}

static uint8_t do_register(struct nvmf_resv *r, const uint8_t *hostid, struct nvmf_resv_reg *reg, uint64_t nrkey)
{
	if (reg != NULL) {
		return reg->rkey == nrkey ? SC_OK : SC_CONFLICT;
	}
	if (r->num_regs == NVMF_RESV_MAX_REGS) {
		return BRISK_NVME_SC_INTERNAL_DEVICE_ERROR; /* no room: logged by the caller */
	}
	memcpy(r->regs[r->num_regs].hostid, hostid, 16);
	r->regs[r->num_regs++].rkey = nrkey;
	return SC_OK;
}

uint8_t nvmf_resv_register(struct nvmf_resv *r, const uint8_t *hostid, uint32_t cdw10, uint64_t crkey, uint64_t nrkey,
			   struct nvmf_resv_out *out)
{
	uint32_t action = cdw10 & 0x7, cptpl = cdw10 >> 30;
	bool iekey = cdw10 & (1u << 3);
	struct nvmf_resv_reg *reg = reg_find(r, hostid);
	uint8_t sc;

	if (action > NVMF_RESV_REPLACE || cptpl == 1 || (cptpl == NVMF_RESV_CPTPL_SET && !r->ptpl_capable) ||
	    (action != NVMF_RESV_UNREGISTER && nrkey == 0)) {
		return SC_INVALID;
	}
	if (action != NVMF_RESV_REGISTER && (reg == NULL || (!iekey && reg->rkey != crkey))) {
		return SC_CONFLICT;
	}
	if (action == NVMF_RESV_REGISTER) {
		sc = do_register(r, hostid, reg, nrkey);
		if (sc != SC_OK) {
			return sc;
		}
	} else if (action == NVMF_RESV_UNREGISTER) {
		reg_leave(r, reg, out);
	} else {
		reg->rkey = nrkey;
	}
	r->gen++;
	out->changed = true;
	return cptpl_apply(r, cptpl);
}

/* Preempt (and Preempt and Abort: commands finish quickly here, so there is
 * nothing in flight worth aborting beyond what preemption already does). */
static uint8_t preempt(struct nvmf_resv *r, const uint8_t *hostid, uint8_t rtype, uint64_t prkey,
		       struct nvmf_resv_out *out)
{
	struct nvmf_resv_reg *holder = NULL;

	if (r->rtype != NVMF_RESV_NONE && !all_regs_type(r->rtype)) {
		holder = reg_find(r, r->holder);
	}
	if (all_regs_type(r->rtype) && prkey == 0) {
		preempt_by_key(r, hostid, 0, true, out);
		set_resv(r, rtype, hostid);
	} else if (holder != NULL && holder->rkey == prkey) {
		preempt_by_key(r, hostid, prkey, false, out);
		notice_others(r, hostid, NVMF_RESV_NOTICE_RESV_PREEMPTED, out);
		set_resv(r, rtype, hostid);
	} else if (prkey == 0) {
		return SC_INVALID;
	} else if (preempt_by_key(r, hostid, prkey, false, out) == 0) {
		return SC_CONFLICT;
	}
	r->gen++;
	out->changed = true;
	return SC_OK;
}

uint8_t nvmf_resv_acquire(struct nvmf_resv *r, const uint8_t *hostid, uint32_t cdw10, uint64_t crkey, uint64_t prkey,
			  struct nvmf_resv_out *out)
{
	uint32_t action = cdw10 & 0x7;
	uint8_t rtype = (cdw10 >> 8) & 0xff;
	bool iekey = cdw10 & (1u << 3);
	struct nvmf_resv_reg *reg = reg_find(r, hostid);

	if (action > NVMF_RESV_PREEMPT_ABORT || rtype == NVMF_RESV_NONE ||
	    rtype > NVMF_RESV_EXCLUSIVE_ACCESS_ALL_REGS) {
		return SC_INVALID;
	}
	if (reg == NULL || (!iekey && reg->rkey != crkey)) {
		return SC_CONFLICT;
	}
	if (action != NVMF_RESV_ACQUIRE) {
		return preempt(r, hostid, rtype, prkey, out);
	}
	if (r->rtype == NVMF_RESV_NONE) {
		set_resv(r, rtype, all_regs_type(rtype) ? NULL : hostid);
		out->changed = true;
		return SC_OK;
	}
	return is_holder(r, hostid) && r->rtype == rtype ? SC_OK : SC_CONFLICT;
}

uint8_t nvmf_resv_release(struct nvmf_resv *r, const uint8_t *hostid, uint32_t cdw10, uint64_t crkey,
			  struct nvmf_resv_out *out)
{
	uint32_t action = cdw10 & 0x7;
	uint8_t rtype = (cdw10 >> 8) & 0xff, old = r->rtype;
	bool iekey = cdw10 & (1u << 3);
	struct nvmf_resv_reg *reg = reg_find(r, hostid);

	if (action > NVMF_RESV_CLEAR) {
		return SC_INVALID;
	}
	if (reg == NULL || (!iekey && reg->rkey != crkey)) {
		return SC_CONFLICT;
	}
	if (action == NVMF_RESV_CLEAR) {
		notice_others(r, hostid, NVMF_RESV_NOTICE_RESV_PREEMPTED, out);
		r->num_regs = 0;
		set_resv(r, NVMF_RESV_NONE, NULL);
		r->gen++;
		out->changed = true;
		return SC_OK;
	}
	if (!is_holder(r, hostid)) {
		return SC_OK; /* no reservation, or another host's: nothing to release */
	}
	if (rtype != old) {
		return SC_INVALID;
	}
	if (old >= NVMF_RESV_WRITE_EXCLUSIVE_REG_ONLY) {
		notice_others(r, hostid, NVMF_RESV_NOTICE_RESV_RELEASED, out);
	}
	set_resv(r, NVMF_RESV_NONE, NULL);
	out->changed = true;
	return SC_OK;
}

/* The access rule (NVMe base spec, reservation type vs. host role). */
bool nvmf_resv_io_allowed(const struct nvmf_resv *r, const uint8_t *hostid, bool write)
{
	bool registered;

	if (r->rtype == NVMF_RESV_NONE || is_holder(r, hostid)) {
		return true;
	}
	registered = reg_find(r, hostid) != NULL;
	switch (r->rtype) {
	case NVMF_RESV_WRITE_EXCLUSIVE:
		return !write;
	case NVMF_RESV_EXCLUSIVE_ACCESS:
		return false;
	case NVMF_RESV_WRITE_EXCLUSIVE_REG_ONLY:
	case NVMF_RESV_WRITE_EXCLUSIVE_ALL_REGS:
		return !write || registered;
	default:
		return registered;
	}
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

/* The extended Reservation Status data structure (EDS=1), len bytes of it;
 * returns its full size. One entry per registrant host, CNTLID FFFFh
 * (dynamic controllers: the registration is the host's, not a controller's). */
uint32_t nvmf_resv_report(const struct nvmf_resv *r, uint8_t *buf, uint32_t len)
{
	uint8_t page[NVMF_RESV_REPORT_EXT_HDR + NVMF_RESV_MAX_REGS * NVMF_RESV_REPORT_EXT_ENTRY] = { 0 };
	uint32_t size = NVMF_RESV_REPORT_EXT_HDR + r->num_regs * NVMF_RESV_REPORT_EXT_ENTRY;

	put_le(page, r->gen, 4);
	page[4] = r->rtype;
	put_le(page + 5, r->num_regs, 2);
	page[9] = r->ptpl;
	for (uint32_t i = 0; i < r->num_regs; i++) {
		uint8_t *e = page + NVMF_RESV_REPORT_EXT_HDR + i * NVMF_RESV_REPORT_EXT_ENTRY;

		put_le(e, 0xffff, 2);
		e[2] = is_holder(r, r->regs[i].hostid) ? 1 : 0;
		put_le(e + 8, r->regs[i].rkey, 8);
		memcpy(e + 16, r->regs[i].hostid, 16);
	}
	memcpy(buf, page, len < size ? len : size);
	if (len > size) {
		memset(buf + size, 0, len - size);
	}
	return size;
}

/* RESCAP: every type, IEKEY per NVMe 1.3 and later, PTPL when a file keeps it. */
uint8_t nvmf_resv_rescap(const struct nvmf_resv *r) { return (uint8_t)(0xfe | (r->ptpl_capable ? 1 : 0)); }
