/*
 * The request channel between secondary processes and the primary that owns
 * a controller (see nvme_mp.h): message slots in a memzone, a ring of free
 * slots and a ring of requests, all found by name in shared memory.
 *
 * Memory order: a sender fills the slot, then enqueues it (the ring's
 * release makes the slot's contents visible to the dequeuer). The primary
 * writes rc (and qid) then moves the state SENT -> DONE with release; the
 * sender reads the state with acquire before it reads rc. Both rings are
 * multi-producer/multi-consumer: any process may free a slot.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <brisk/env.h>
#include <brisk/log.h>
#include <brisk/ring.h>

#include "nvme_mp.h"

static int mp_name(char *buf, size_t len, const char *what, const char *key)
{
	int n = snprintf(buf, len, "%s_%s", what, key);

	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

static int mp_key_check(const char *key)
{
	if (key == NULL || key[0] == '\0' || strlen(key) > NVME_MP_KEY_MAX) {
		BRISK_ERRLOG("nvme mp: channel key '%s' is empty or longer than %u characters\n",
			     key != NULL ? key : "", NVME_MP_KEY_MAX);
		return -EINVAL;
	}
	return 0;
}

static int mp_names(const char *key, char *zone, char *req, char *fr)
{
	if (mp_key_check(key) != 0 || mp_name(zone, BRISK_MEMZONE_NAMESIZE, "nmpmsg", key) != 0 ||
	    mp_name(req, BRISK_RING_NAMESIZE, "nmpreq", key) != 0 ||
	    mp_name(fr, BRISK_RING_NAMESIZE, "nmpfree", key) != 0) {
		return -EINVAL;
	}
	return 0;
}

static void mp_channel_free_objects(struct nvme_mp_channel *ch, const char *zone)
{
	brisk_ring_free(ch->req);
	brisk_ring_free(ch->free);
	if (ch->slots != NULL) {
		brisk_memzone_free(zone);
	}
	memset(ch, 0, sizeof(*ch));
}

int nvme_mp_channel_create(struct nvme_mp_channel *ch, const char *key)
{
	char zone[BRISK_MEMZONE_NAMESIZE], req[BRISK_RING_NAMESIZE], fr[BRISK_RING_NAMESIZE];
	int rc = mp_names(key, zone, req, fr);

	if (rc != 0) {
		return rc;
	}
	memset(ch, 0, sizeof(*ch));
	ch->slots = brisk_memzone_reserve(zone, NVME_MP_CHANNEL_SLOTS * sizeof(*ch->slots),
					  BRISK_ENV_SOCKET_ID_ANY, 0);
	/* -ENOMEM should the reserve fail without saying why. */
	rc = ch->slots != NULL ? 0 : errno > 0 ? -errno : -ENOMEM;
	if (ch->slots != NULL) {
		memset(ch->slots, 0, NVME_MP_CHANNEL_SLOTS * sizeof(*ch->slots));
		ch->req = brisk_ring_create(req, NVME_MP_CHANNEL_SLOTS, BRISK_ENV_SOCKET_ID_ANY,
					    BRISK_RING_F_EXACT_SZ);
		ch->free = brisk_ring_create(fr, NVME_MP_CHANNEL_SLOTS, BRISK_ENV_SOCKET_ID_ANY,
					     BRISK_RING_F_EXACT_SZ);
		rc = ch->req == NULL || ch->free == NULL ? -ENOMEM : 0;
	}
	for (unsigned i = 0; rc == 0 && i < NVME_MP_CHANNEL_SLOTS; i++) {
		rc = brisk_ring_enqueue(ch->free, &ch->slots[i]);
	}
	if (rc != 0) {
		BRISK_ERRLOG("nvme mp: cannot create the channel of %s: %s\n", key, strerror(-rc));
		mp_channel_free_objects(ch, zone);
		return rc == -ENOBUFS ? -ENOMEM : rc;
	}
	snprintf(ch->key, sizeof(ch->key), "%s", key);
	ch->owner = true;
	return 0;
}

int nvme_mp_channel_lookup(struct nvme_mp_channel *ch, const char *key)
{
	char zone[BRISK_MEMZONE_NAMESIZE], req[BRISK_RING_NAMESIZE], fr[BRISK_RING_NAMESIZE];
	int rc = mp_names(key, zone, req, fr);

	if (rc != 0) {
		return rc;
	}
	memset(ch, 0, sizeof(*ch));
	ch->slots = brisk_memzone_lookup(zone);
	ch->req = brisk_ring_lookup(req);
	ch->free = brisk_ring_lookup(fr);
	if (ch->slots == NULL || ch->req == NULL || ch->free == NULL) {
		memset(ch, 0, sizeof(*ch));
		return -ENOENT;
	}
	snprintf(ch->key, sizeof(ch->key), "%s", key);
	return 0;
}

void nvme_mp_channel_destroy(struct nvme_mp_channel *ch)
{
	char zone[BRISK_MEMZONE_NAMESIZE];

	if (ch->owner && mp_name(zone, sizeof(zone), "nmpmsg", ch->key) == 0) {
		mp_channel_free_objects(ch, zone);
		return;
	}
	memset(ch, 0, sizeof(*ch));
}

int nvme_mp_channel_send(struct nvme_mp_channel *ch, const struct nvme_mp_msg *msg,
			 struct nvme_mp_msg **slot)
{
	struct nvme_mp_msg *s;

	if (brisk_ring_dequeue(ch->free, (void **)&s) != 0) {
		return -EBUSY;
	}
	*s = *msg;
	s->pid = (int32_t)getpid();
	s->rc = 0;
	/* Relaxed: the enqueue below publishes the whole slot (release). */
	__atomic_store_n(&s->state, NVME_MP_SLOT_SENT, __ATOMIC_RELAXED);
	if (brisk_ring_enqueue(ch->req, s) != 0) {
		__atomic_store_n(&s->state, NVME_MP_SLOT_FREE, __ATOMIC_RELAXED);
		brisk_ring_enqueue(ch->free, s);
		return -ENOBUFS;
	}
	*slot = s;
	return 0;
}

int nvme_mp_channel_result(struct nvme_mp_channel *ch, struct nvme_mp_msg *slot,
			   struct nvme_mp_msg *out)
{
	/* Acquire pairs with the primary's release in reply: rc and qid are set. */
	if (__atomic_load_n(&slot->state, __ATOMIC_ACQUIRE) != NVME_MP_SLOT_DONE) {
		return -EAGAIN;
	}
	*out = *slot;
	__atomic_store_n(&slot->state, NVME_MP_SLOT_FREE, __ATOMIC_RELAXED);
	brisk_ring_enqueue(ch->free, slot);
	return 0;
}

int nvme_mp_channel_abandon(struct nvme_mp_channel *ch, struct nvme_mp_msg *slot)
{
	uint32_t expected = NVME_MP_SLOT_SENT;

	/* Relaxed: after ABANDONED nobody reads the slot's answer. */
	if (__atomic_compare_exchange_n(&slot->state, &expected, NVME_MP_SLOT_ABANDONED, false,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
		return 0;
	}
	return -EALREADY;
}

static bool mp_slot_valid(const struct nvme_mp_channel *ch, const struct nvme_mp_msg *m)
{
	uintptr_t first = (uintptr_t)ch->slots, p = (uintptr_t)m;

	uint32_t state;

	if (p < first || p >= first + NVME_MP_CHANNEL_SLOTS * sizeof(*m) ||
	    (p - first) % sizeof(*m) != 0) {
		return false;
	}
	/* A slot queued twice must not be answered (and freed) twice. */
	state = __atomic_load_n(&m->state, __ATOMIC_RELAXED);
	return state == NVME_MP_SLOT_SENT || state == NVME_MP_SLOT_ABANDONED;
}

struct nvme_mp_msg *nvme_mp_channel_next(struct nvme_mp_channel *ch)
{
	struct nvme_mp_msg *m;

	while (brisk_ring_dequeue(ch->req, (void **)&m) == 0) {
		if (mp_slot_valid(ch, m)) {
			return m;
		}
		BRISK_ERRLOG("nvme mp %s: dropped a request %p that is not a channel slot waiting for an answer\n",
			     ch->key, (void *)m);
	}
	return NULL;
}

bool nvme_mp_pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH);
}

void nvme_mp_channel_reply(struct nvme_mp_channel *ch, struct nvme_mp_msg *msg, int rc)
{
	uint32_t expected = NVME_MP_SLOT_SENT;

	msg->rc = rc;
	if (nvme_mp_pid_alive(msg->pid) &&
	    __atomic_compare_exchange_n(&msg->state, &expected, NVME_MP_SLOT_DONE, false,
					__ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
		return; /* the sender frees the slot after reading the answer */
	}
	/* Sender gone or gave up: nobody will read it. */
	__atomic_store_n(&msg->state, NVME_MP_SLOT_FREE, __ATOMIC_RELAXED);
	brisk_ring_enqueue(ch->free, msg);
}

unsigned nvme_mp_channel_free_count(const struct nvme_mp_channel *ch)
{
	return brisk_ring_count(ch->free);
}
