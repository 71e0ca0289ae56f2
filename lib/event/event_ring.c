/*
 * The reactor's event ring: a bounded lock-free multi-producer / single-
 * consumer queue of calls stored by value (after D. Vyukov's bounded queue).
 *
 * Cell i starts with seq == i. A producer that claims position pos (CAS on
 * head) may write the cell when seq == pos and publishes it by setting
 * seq = pos + 1. The consumer reads position pos when seq == pos + 1 and hands
 * the cell back to producers of the next lap with seq = pos + size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event_internal.h"

int event_ring_init(struct event_ring *ring, uint32_t size)
{
	if (size < 2 || (size & (size - 1)) != 0) {
		return -EINVAL;
	}
	memset(ring, 0, sizeof(*ring));
	ring->cells = calloc(size, sizeof(*ring->cells));
	if (ring->cells == NULL) {
		return -ENOMEM;
	}
	ring->mask = size - 1;
	for (uint64_t i = 0; i < size; i++) {
		/* relaxed: the ring is not shared before init returns */
		__atomic_store_n(&ring->cells[i].seq, i, __ATOMIC_RELAXED);
	}
	__atomic_store_n(&ring->head, 0, __ATOMIC_RELAXED);
	ring->tail = 0;
	return 0;
}

void event_ring_fini(struct event_ring *ring)
{
	free(ring->cells);
	ring->cells = NULL;
}

int event_ring_enqueue(struct event_ring *ring, brisk_event_fn fn, void *arg1, void *arg2)
{
	/* relaxed: head is only a hint until the CAS below claims a position */
	uint64_t pos = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
	struct event_ring_cell *cell;

	for (;;) {
		cell = &ring->cells[pos & ring->mask];
		/* acquire: pairs with the consumer's release when it freed this
		 * cell, so our payload writes cannot overtake its payload reads */
		uint64_t seq = __atomic_load_n(&cell->seq, __ATOMIC_ACQUIRE);
		int64_t diff = (int64_t)(seq - pos);

		if (diff == 0) {
			/* relaxed: the claim only orders producers among themselves;
			 * the payload is published by the release store below */
			if (__atomic_compare_exchange_n(&ring->head, &pos, pos + 1, true, __ATOMIC_RELAXED,
							__ATOMIC_RELAXED)) {
				break;
			}
		} else if (diff < 0) {
			return -ENOMEM; /* the consumer has not freed this cell: full */
		} else {
			/* relaxed: another producer took pos; retry from the new head */
			pos = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
		}
	}
	cell->fn = fn;
	cell->arg1 = arg1;
	cell->arg2 = arg2;
	/* release: the consumer that sees seq == pos + 1 sees the payload */
	__atomic_store_n(&cell->seq, pos + 1, __ATOMIC_RELEASE);
	return 0;
}

bool event_ring_empty(struct event_ring *ring)
{
	struct event_ring_cell *cell = &ring->cells[ring->tail & ring->mask];

	/* acquire: same pairing as in event_ring_run */
	return __atomic_load_n(&cell->seq, __ATOMIC_ACQUIRE) != ring->tail + 1;
}

uint32_t event_ring_run(struct event_ring *ring, uint32_t max)
{
	uint32_t n;

	for (n = 0; n < max; n++) {
		struct event_ring_cell *cell = &ring->cells[ring->tail & ring->mask];
		/* acquire: pairs with the producer's release; the payload is complete */
		uint64_t seq = __atomic_load_n(&cell->seq, __ATOMIC_ACQUIRE);

		if (seq != ring->tail + 1) {
			break; /* empty, or the next producer has not published yet */
		}
		brisk_event_fn fn = cell->fn;
		void *arg1 = cell->arg1;
		void *arg2 = cell->arg2;

		/* release: our payload reads complete before a producer reuses the cell */
		__atomic_store_n(&cell->seq, ring->tail + ring->mask + 1, __ATOMIC_RELEASE);
		ring->tail++;
		fn(arg1, arg2);
	}
	return n;
}
