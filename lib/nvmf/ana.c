/*
 * Asymmetric Namespace Access of the target: each listener of a subsystem
 * with ANA reporting has a state per ANA group (optimized, non-optimized,
 * inaccessible). A controller reports the states of the port its host
 * connected through: Identify fields, the ANA log page (0Ch), an ANA change
 * notice when a state changes, and path status codes for I/O to an
 * inaccessible group. Group IDs run 1..max_nsid; a namespace is in group
 * NSID unless the user chose another.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <brisk/json.h>
#include <brisk/log.h>

#include "nvmf_internal.h"

#define NVMF_ANATT_SEC 10

static const struct {
	const char *name;
	uint8_t state;
} g_ana_names[] = {
	{ "optimized", BRISK_NVME_ANA_OPTIMIZED },
	{ "non_optimized", BRISK_NVME_ANA_NON_OPTIMIZED },
	{ "inaccessible", BRISK_NVME_ANA_INACCESSIBLE },
};

int nvmf_ana_state_parse(const char *str, uint8_t *state)
{
	for (size_t i = 0; i < BRISK_COUNTOF(g_ana_names); i++) {
		if (strcmp(str, g_ana_names[i].name) == 0) {
			*state = g_ana_names[i].state;
			return 0;
		}
	}
	return -EINVAL;
}

const char *nvmf_ana_state_str(uint8_t state)
{
	for (size_t i = 0; i < BRISK_COUNTOF(g_ana_names); i++) {
		if (g_ana_names[i].state == state) {
			return g_ana_names[i].name;
		}
	}
	return "unknown";
}

int nvmf_ana_listener_init(struct nvmf_subsystem *s, struct nvmf_subsys_listener *sl, uint8_t state)
{
	sl->ana_states = malloc(s->max_nsid ? s->max_nsid : 1);
	if (sl->ana_states == NULL) {
		return -ENOMEM;
	}
	memset(sl->ana_states, state, s->max_nsid ? s->max_nsid : 1);
	return 0;
}

static struct nvmf_subsys_listener *listener_find(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a)
{
	struct nvmf_subsys_listener *sl;

	TAILQ_FOREACH(sl, &s->listeners, link) {
		if (nvmf_listen_addr_equal(&sl->listener->addr, a)) {
			return sl;
		}
	}
	return NULL;
}

/* App thread, at Connect of an admin queue: the states of its port now. */
int nvmf_ana_ctrlr_init(struct nvmf_ctrlr *c, const struct nvmf_listen_addr *port)
{
	struct nvmf_subsys_listener *sl = listener_find(c->subsys, port);
	uint32_t n = c->subsys->max_nsid ? c->subsys->max_nsid : 1;

	c->port = *port;
	c->ana_states = calloc(n, 1);
	if (c->ana_states == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++) {
		__atomic_store_n(&c->ana_states[i], sl != NULL ? sl->ana_states[i] : BRISK_NVME_ANA_OPTIMIZED,
				 __ATOMIC_RELAXED);
	}
	return 0;
}

/* ---- change notices ---- */

void nvmf_ana_aer_retry(struct nvmf_ctrlr *c)
{
	union brisk_nvme_async_event_completion ev = { .raw = 0 };

	if (!c->ana_aen_pending || c->ana_aen_masked || !(c->aec & BRISK_NVME_AEC_ANA_CHANGE_NOTICES)) {
		return;
	}
	ev.bits.async_event_type = BRISK_NVME_ASYNC_EVENT_TYPE_NOTICE;
	ev.bits.async_event_info = BRISK_NVME_ASYNC_EVENT_ANA_CHANGE;
	ev.bits.log_page_identifier = BRISK_NVME_LOG_ANA;
	if (nvmf_ctrlr_aer_complete(c, ev.raw)) {
		c->ana_aen_pending = false;
		c->ana_aen_masked = true; /* until the host reads the log */
	}
}

struct ana_change {
	struct nvmf_ctrlr *c;
	uint32_t anagrpid; /* 0: every group */
	uint8_t state;
};

static void ana_change_on_ctrlr_thread(void *arg)
{
	struct ana_change *ac = arg;
	struct nvmf_ctrlr *c = ac->c;

	for (uint32_t g = 1; g <= c->subsys->max_nsid; g++) {
		if (ac->anagrpid == 0 || ac->anagrpid == g) {
			__atomic_store_n(&c->ana_states[g - 1], ac->state, __ATOMIC_SEQ_CST);
		}
	}
	c->ana_chgcnt++;
	c->ana_aen_pending = true;
	nvmf_ana_aer_retry(c);
	nvmf_ctrlr_put(c);
	free(ac);
}

static void ana_notify_ctrlrs(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a, uint32_t anagrpid,
			      uint8_t state)
{
	struct nvmf_ctrlr *c;
	struct ana_change *ac;

	TAILQ_FOREACH(c, &s->ctrlrs, link) {
		if (__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST) || c->ana_states == NULL ||
		    !nvmf_listen_addr_equal(&c->port, a)) {
			continue;
		}
		ac = malloc(sizeof(*ac));
		if (ac == NULL) {
			BRISK_ERRLOG("nvmf: controller %u: no memory for an ANA change\n", c->cntlid);
			continue;
		}
		*ac = (struct ana_change){ .c = c, .anagrpid = anagrpid, .state = state };
		__atomic_fetch_add(&c->refs, 1, __ATOMIC_SEQ_CST);
		if (brisk_thread_send_msg(c->thread, ana_change_on_ctrlr_thread, ac) != 0) {
			nvmf_ctrlr_put(c);
			free(ac);
		}
	}
}

/* App thread (nvmf_subsystem_listener_set_ana_state). */
int nvmf_ana_set_state(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a, uint32_t anagrpid, uint8_t state)
{
	struct nvmf_subsys_listener *sl = listener_find(s, a);

	if (sl == NULL) {
		return -ENOENT;
	}
	if (anagrpid > s->max_nsid) {
		return -EINVAL;
	}
	for (uint32_t g = 1; g <= s->max_nsid; g++) {
		if (anagrpid == 0 || anagrpid == g) {
			sl->ana_states[g - 1] = state;
		}
	}
	ana_notify_ctrlrs(s, a, anagrpid, state);
	return 0;
}

static void ctrlr_drop_on_its_thread(void *arg)
{
	struct nvmf_ctrlr *c = arg;

	if (c->admin != NULL) {
		nvmf_conn_disconnect(c->admin); /* its I/O connections follow */
	}
	nvmf_ctrlr_put(c);
}

/* App thread: a removed port takes its controllers with it, so their hosts
 * notice and move to another path. */
void nvmf_ana_listener_removed(struct nvmf_subsystem *s, const struct nvmf_listen_addr *a)
{
	struct nvmf_ctrlr *c;

	TAILQ_FOREACH(c, &s->ctrlrs, link) {
		if (__atomic_load_n(&c->dead, __ATOMIC_SEQ_CST) || c->ana_states == NULL ||
		    !nvmf_listen_addr_equal(&c->port, a)) {
			continue;
		}
		__atomic_fetch_add(&c->refs, 1, __ATOMIC_SEQ_CST);
		if (brisk_thread_send_msg(c->thread, ctrlr_drop_on_its_thread, c) != 0) {
			nvmf_ctrlr_put(c);
		}
	}
}

/* ---- I/O and admin data ---- */

/* Status code (SCT 3h) for I/O to an inaccessible group, 0 when it may run. */
uint8_t nvmf_ana_io_status(const struct nvmf_req *req)
{
	const struct nvmf_ctrlr *c = req->conn->ctrlr;
	uint32_t g = req->ns->anagrpid;

	if (!c->subsys->ana_reporting || c->ana_states == NULL || g == 0 || g > c->subsys->max_nsid) {
		return 0;
	}
	switch (__atomic_load_n(&c->ana_states[g - 1], __ATOMIC_SEQ_CST)) {
	case BRISK_NVME_ANA_INACCESSIBLE:
		return BRISK_NVME_SC_ANA_INACCESSIBLE;
	case BRISK_NVME_ANA_PERSISTENT_LOSS:
		return BRISK_NVME_SC_ANA_PERSISTENT_LOSS;
	case BRISK_NVME_ANA_CHANGE:
		return BRISK_NVME_SC_ANA_TRANSITION;
	default:
		return 0;
	}
}

void nvmf_ana_fill_identify(const struct nvmf_subsystem *s, struct brisk_nvme_ctrlr_data *cd)
{
	if (!s->ana_reporting) {
		return;
	}
	cd->cmic |= BRISK_NVME_CMIC_MULTI_PORT | BRISK_NVME_CMIC_MULTI_CTRLR | BRISK_NVME_CMIC_ANA_REPORTING;
	cd->oaes |= BRISK_NVME_OAES_ANA_CHANGE;
	cd->anatt = NVMF_ANATT_SEC;
	cd->anacap = BRISK_NVME_ANACAP_OPTIMIZED | BRISK_NVME_ANACAP_NON_OPTIMIZED | BRISK_NVME_ANACAP_INACCESSIBLE |
		     BRISK_NVME_ANACAP_GRPID_STATIC;
	cd->anagrpmax = s->max_nsid;
	cd->nanagrpid = s->max_nsid;
}

static uint32_t group_nsids(const struct nvmf_subsystem *s, uint32_t g, uint32_t *out)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < s->max_nsid; i++) {
		if (s->ns[i] != NULL && s->ns[i]->anagrpid == g) {
			if (out != NULL) {
				out[n] = s->ns[i]->nsid;
			}
			n++;
		}
	}
	return n;
}

/* One descriptor per group that holds a namespace, in increasing group
 * order; with RGO, without the NSID lists. */
static uint64_t ana_log_fill(struct nvmf_ctrlr *c, bool rgo, uint8_t *buf)
{
	const struct nvmf_subsystem *s = c->subsys;
	struct brisk_nvme_ana_page *hdr = (void *)buf;
	uint64_t off = sizeof(*hdr);

	hdr->change_count = c->ana_chgcnt;
	for (uint32_t g = 1; g <= s->max_nsid; g++) {
		struct brisk_nvme_ana_group_desc *d = (void *)(buf + off);
		uint32_t n = group_nsids(s, g, NULL);

		if (n == 0) {
			continue;
		}
		d->ana_group_id = g;
		d->change_count = c->ana_chgcnt;
		d->ana_state = __atomic_load_n(&c->ana_states[g - 1], __ATOMIC_SEQ_CST);
		d->num_of_nsid = rgo ? 0 : group_nsids(s, g, d->nsid);
		off += sizeof(*d) + (uint64_t)d->num_of_nsid * 4;
		hdr->num_ana_group_desc++;
	}
	return off;
}

/* The ANA log of controller c (admin thread); reading it without Retain
 * Asynchronous Event unmasks the change notice. The caller frees it. */
uint8_t *nvmf_ana_log_build(struct nvmf_ctrlr *c, bool rgo, bool rae, uint64_t *size)
{
	const struct nvmf_subsystem *s = c->subsys;
	uint64_t cap = sizeof(struct brisk_nvme_ana_page) +
		       (uint64_t)s->max_nsid * (sizeof(struct brisk_nvme_ana_group_desc) + 4);
	uint8_t *buf = calloc(1, cap);

	if (buf == NULL || c->ana_states == NULL) {
		free(buf);
		return NULL;
	}
	*size = ana_log_fill(c, rgo, buf);
	if (!rae) {
		c->ana_aen_masked = false;
		c->ana_aen_pending = false; /* what it just read is the news */
	}
	return buf;
}

/* ---- JSON ---- */

json_t *nvmf_ana_listener_json(const struct nvmf_subsystem *s, const struct nvmf_subsys_listener *sl)
{
	json_t *arr = json_array();

	for (uint32_t g = 1; s->ana_reporting && g <= s->max_nsid; g++) {
		if (group_nsids(s, g, NULL) > 0) {
			json_array_append_new(arr, json_pack("{s:i, s:s}", "ana_group", (json_int_t)g, "ana_state",
							     nvmf_ana_state_str(sl->ana_states[g - 1])));
		}
	}
	return arr;
}

static void write_set_state(json_t *array, const struct nvmf_subsystem *s, const struct nvmf_subsys_listener *sl,
			    uint32_t anagrpid, uint8_t state)
{
	json_t *params = json_pack("{s:s, s:o, s:s}", "nqn", s->nqn, "listen_address",
				   nvmf_listen_addr_json(&sl->listener->addr), "ana_state", nvmf_ana_state_str(state));

	if (anagrpid != 0) {
		json_object_set_new(params, "anagrpid", json_integer(anagrpid));
	}
	json_array_append_new(
		array, json_pack("{s:s, s:o}", "method", "nvmf_subsystem_listener_set_ana_state", "params", params));
}

/* save_config: one call for the whole port when every group has one state,
 * else one per group whose state is not the default (optimized). */
void nvmf_ana_write_config(json_t *array, const struct nvmf_subsystem *s, const struct nvmf_subsys_listener *sl)
{
	bool uniform = true;

	for (uint32_t g = 2; g <= s->max_nsid; g++) {
		uniform = uniform && sl->ana_states[g - 1] == sl->ana_states[0];
	}
	if (!s->ana_reporting || (uniform && sl->ana_states[0] == BRISK_NVME_ANA_OPTIMIZED)) {
		return;
	}
	if (uniform) {
		write_set_state(array, s, sl, 0, sl->ana_states[0]);
		return;
	}
	for (uint32_t g = 1; g <= s->max_nsid; g++) {
		if (sl->ana_states[g - 1] != BRISK_NVME_ANA_OPTIMIZED) {
			write_set_state(array, s, sl, g, sl->ana_states[g - 1]);
		}
	}
}
