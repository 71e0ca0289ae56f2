/*
 * Unit tests of the ring: every public function, bad input, wraparound of
 * the slot index and of the 32-bit counters, bulk vs burst, and per-call
 * override of the producer/consumer mode.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include <brisk/env.h>
#include <brisk/ring.h>

#include "../../common/ut_main.h"

#define OBJ(i) ((void *)(uintptr_t)(0x1000 + (i)))

static void test_bad_input(void)
{
	char long_name[BRISK_RING_NAMESIZE + 1];
	struct brisk_ring *r;

	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';

	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("bad", 0, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("bad", 100, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("bad", 0x80000000u, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("bad", 0x40000000u, BRISK_ENV_SOCKET_ID_ANY,
					     BRISK_RING_F_EXACT_SZ));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("bad", 64, BRISK_ENV_SOCKET_ID_ANY, 0x100));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create(NULL, 64, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("", 64, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create(long_name, 64, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	/* The longest name that fits works. */
	long_name[BRISK_RING_NAMESIZE - 1] = '\0';
	r = brisk_ring_create(long_name, 64, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_STRING_EQUAL(brisk_ring_get_name(r), long_name);
	CU_ASSERT_PTR_EQUAL(brisk_ring_lookup(long_name), r);
	brisk_ring_free(r);

	/* Duplicate name. */
	r = brisk_ring_create("dup", 64, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("dup", 128, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, EEXIST);
	brisk_ring_free(r);
	/* After free the name is available again. */
	r = brisk_ring_create("dup", 128, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL(r);
	brisk_ring_free(r);

	/* Far more memory than the env has. */
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_create("huge", 1u << 30, BRISK_ENV_SOCKET_ID_ANY, 0));
	CU_ASSERT_EQUAL(errno, ENOMEM);

	CU_ASSERT_EQUAL(brisk_ring_get_memsize(0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_get_memsize(3), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_get_memsize(0x80000000u), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_get_memsize_flags(3, 0x40), -EINVAL);
	CU_ASSERT(brisk_ring_get_memsize(64) >= (long)(64 * sizeof(void *)));
	CU_ASSERT_EQUAL(brisk_ring_get_memsize_flags(100, BRISK_RING_F_EXACT_SZ),
			brisk_ring_get_memsize(128));

	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_lookup(NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_lookup(""));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_lookup("no_such_ring"));
	CU_ASSERT_EQUAL(errno, ENOENT);

	brisk_ring_free(NULL); /* ignored */
}

static void test_create_lookup_free(void)
{
	struct brisk_ring *r, *r2;

	r = brisk_ring_create("basic", 1024, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL((uintptr_t)r % 64, 0);
	CU_ASSERT_EQUAL(brisk_ring_get_size(r), 1024);
	CU_ASSERT_EQUAL(brisk_ring_get_capacity(r), 1023);
	CU_ASSERT_STRING_EQUAL(brisk_ring_get_name(r), "basic");
	CU_ASSERT_EQUAL(brisk_ring_count(r), 0);
	CU_ASSERT_EQUAL(brisk_ring_free_count(r), 1023);
	CU_ASSERT(brisk_ring_empty(r));
	CU_ASSERT(!brisk_ring_full(r));

	r2 = brisk_ring_create("basic2", 16, 0, BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r2);
	CU_ASSERT_PTR_EQUAL(brisk_ring_lookup("basic"), r);
	CU_ASSERT_PTR_EQUAL(brisk_ring_lookup("basic2"), r2);
	CU_ASSERT_EQUAL(r2->prod.single, 1);
	CU_ASSERT_EQUAL(r2->cons.single, 1);
	CU_ASSERT_EQUAL(r->prod.single, 0);
	CU_ASSERT_EQUAL(r->cons.single, 0);

	brisk_ring_free(r);
	errno = 0;
	CU_ASSERT_PTR_NULL(brisk_ring_lookup("basic"));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_EQUAL(brisk_ring_lookup("basic2"), r2);
	brisk_ring_free(r2);
	CU_ASSERT_PTR_NULL(brisk_ring_lookup("basic2"));
}

static void test_exact_size(void)
{
	struct brisk_ring *r;
	void *objs[128];
	unsigned i, free_space = 99;

	for (i = 0; i < 128; i++) {
		objs[i] = OBJ(i);
	}
	r = brisk_ring_create("exact", 100, BRISK_ENV_SOCKET_ID_ANY, BRISK_RING_F_EXACT_SZ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(brisk_ring_get_capacity(r), 100);
	CU_ASSERT_EQUAL(brisk_ring_get_size(r), 128);
	CU_ASSERT_EQUAL(brisk_ring_enqueue_burst(r, objs, 128, &free_space), 100);
	CU_ASSERT_EQUAL(free_space, 0);
	CU_ASSERT(brisk_ring_full(r));
	CU_ASSERT_EQUAL(brisk_ring_count(r), 100);
	CU_ASSERT_EQUAL(brisk_ring_enqueue(r, OBJ(0)), -ENOBUFS);
	brisk_ring_free(r);

	/* A power of two with EXACT_SZ keeps all of it usable. */
	r = brisk_ring_create("exact2", 64, BRISK_ENV_SOCKET_ID_ANY, BRISK_RING_F_EXACT_SZ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_EQUAL(brisk_ring_get_capacity(r), 64);
	CU_ASSERT_EQUAL(brisk_ring_get_size(r), 128);
	brisk_ring_free(r);
}

static void test_bulk_vs_burst(void)
{
	struct brisk_ring *r;
	void *in[16], *out[16];
	unsigned i, free_space, avail;

	for (i = 0; i < 16; i++) {
		in[i] = OBJ(i);
	}
	r = brisk_ring_create("bulkburst", 8, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);

	CU_ASSERT_EQUAL(brisk_ring_enqueue_bulk(r, in, 5, &free_space), 5);
	CU_ASSERT_EQUAL(free_space, 2);
	/* Bulk: 3 do not fit, nothing is enqueued, free_space says what is free. */
	free_space = 99;
	CU_ASSERT_EQUAL(brisk_ring_enqueue_bulk(r, in + 5, 3, &free_space), 0);
	CU_ASSERT_EQUAL(free_space, 2);
	CU_ASSERT_EQUAL(brisk_ring_count(r), 5);
	/* Burst: as many as fit. */
	CU_ASSERT_EQUAL(brisk_ring_enqueue_burst(r, in + 5, 3, &free_space), 2);
	CU_ASSERT_EQUAL(free_space, 0);
	CU_ASSERT(brisk_ring_full(r));
	CU_ASSERT_EQUAL(brisk_ring_enqueue_burst(r, in, 1, &free_space), 0);
	CU_ASSERT_EQUAL(free_space, 0);
	CU_ASSERT_EQUAL(brisk_ring_enqueue(r, in[0]), -ENOBUFS);

	/* Bulk dequeue of more than present: nothing. */
	avail = 99;
	CU_ASSERT_EQUAL(brisk_ring_dequeue_bulk(r, out, 8, &avail), 0);
	CU_ASSERT_EQUAL(avail, 7);
	CU_ASSERT_EQUAL(brisk_ring_dequeue_bulk(r, out, 3, &avail), 3);
	CU_ASSERT_EQUAL(avail, 4);
	CU_ASSERT_EQUAL(brisk_ring_dequeue_burst(r, out + 3, 10, &avail), 4);
	CU_ASSERT_EQUAL(avail, 0);
	for (i = 0; i < 7; i++) {
		CU_ASSERT_PTR_EQUAL(out[i], in[i]);
	}
	CU_ASSERT(brisk_ring_empty(r));
	CU_ASSERT_EQUAL(brisk_ring_dequeue_burst(r, out, 4, &avail), 0);
	CU_ASSERT_EQUAL(avail, 0);
	CU_ASSERT_EQUAL(brisk_ring_dequeue(r, &out[0]), -ENOENT);

	/* Single-object calls and NULL outputs. */
	CU_ASSERT_EQUAL(brisk_ring_enqueue(r, in[9]), 0);
	CU_ASSERT_EQUAL(brisk_ring_enqueue_bulk(r, in, 2, NULL), 2);
	CU_ASSERT_EQUAL(brisk_ring_dequeue(r, &out[0]), 0);
	CU_ASSERT_PTR_EQUAL(out[0], in[9]);
	CU_ASSERT_EQUAL(brisk_ring_dequeue_burst(r, out, 5, NULL), 2);
	/* n == 0 is a no-op that still reports. */
	CU_ASSERT_EQUAL(brisk_ring_enqueue_bulk(r, in, 0, &free_space), 0);
	CU_ASSERT_EQUAL(free_space, 7);
	CU_ASSERT_EQUAL(brisk_ring_dequeue_bulk(r, out, 0, &avail), 0);
	CU_ASSERT_EQUAL(avail, 0);
	brisk_ring_free(r);
}

/* Every explicit-mode call moves objects the same way on any ring. */
static void test_all_variants(void)
{
	unsigned (*enq[])(struct brisk_ring *, void *const *, unsigned, unsigned *) = {
		brisk_ring_enqueue_bulk, brisk_ring_enqueue_burst,
		brisk_ring_mp_enqueue_bulk, brisk_ring_sp_enqueue_bulk,
		brisk_ring_mp_enqueue_burst, brisk_ring_sp_enqueue_burst,
	};
	unsigned (*deq[])(struct brisk_ring *, void **, unsigned, unsigned *) = {
		brisk_ring_dequeue_bulk, brisk_ring_dequeue_burst,
		brisk_ring_mc_dequeue_bulk, brisk_ring_sc_dequeue_bulk,
		brisk_ring_mc_dequeue_burst, brisk_ring_sc_dequeue_burst,
	};
	unsigned flags[] = { 0, BRISK_RING_F_SP_ENQ, BRISK_RING_F_SC_DEQ,
			     BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ };
	void *in[6], *out[6];
	unsigned f, e, d, i, fs, av, seq = 0;

	for (f = 0; f < 4; f++) {
		struct brisk_ring *r = brisk_ring_create("variants", 32, BRISK_ENV_SOCKET_ID_ANY, flags[f]);

		CU_ASSERT_PTR_NOT_NULL_FATAL(r);
		for (e = 0; e < 6; e++) {
			for (d = 0; d < 6; d++) {
				for (i = 0; i < 6; i++) {
					in[i] = OBJ(seq++);
				}
				CU_ASSERT_EQUAL(enq[e](r, in, 6, &fs), 6);
				CU_ASSERT_EQUAL(fs, 31 - 6);
				CU_ASSERT_EQUAL(deq[d](r, out, 6, &av), 6);
				CU_ASSERT_EQUAL(av, 0);
				CU_ASSERT(memcmp(in, out, sizeof(in)) == 0);
			}
		}
		CU_ASSERT(brisk_ring_empty(r));
		brisk_ring_free(r);
	}
}

/* Slot index wraps at size; counters wrap at 2^32. */
static void test_wraparound(void)
{
	uint64_t mem[(sizeof(struct brisk_ring) + 16 * sizeof(void *)) / 8 + 16]
		__attribute__((aligned(128)));
	struct brisk_ring *r = (struct brisk_ring *)mem;
	void *in[16], *out[16];
	unsigned iter, i, n, seq_in = 0, seq_out = 0, avail;

	CU_ASSERT_FATAL(brisk_ring_get_memsize(16) <= (long)sizeof(mem));
	CU_ASSERT_EQUAL_FATAL(brisk_ring_init(r, "wrap", 16, 0), 0);
	/* Start the counters just below 2^32 so they wrap during the test. */
	r->prod.head = r->prod.tail = r->cons.head = r->cons.tail = UINT32_MAX - 40;
	CU_ASSERT(brisk_ring_empty(r));
	CU_ASSERT_EQUAL(brisk_ring_free_count(r), 15);

	for (iter = 0; iter < 2000; iter++) {
		n = 1 + iter % 15;
		for (i = 0; i < n; i++) {
			in[i] = OBJ(seq_in++);
		}
		CU_ASSERT_EQUAL_FATAL(brisk_ring_enqueue_bulk(r, in, n, NULL), n);
		CU_ASSERT_EQUAL(brisk_ring_count(r), n);
		/* Dequeue in two pieces to move the two sides out of step. */
		CU_ASSERT_EQUAL(brisk_ring_dequeue_burst(r, out, (n + 1) / 2, &avail), (n + 1) / 2);
		CU_ASSERT_EQUAL(avail, n - (n + 1) / 2);
		CU_ASSERT_EQUAL(brisk_ring_dequeue_bulk(r, out + (n + 1) / 2, avail, NULL), avail);
		for (i = 0; i < n; i++) {
			CU_ASSERT_PTR_EQUAL(out[i], OBJ(seq_out));
			seq_out++;
		}
	}
	CU_ASSERT(r->prod.tail < 100000); /* wrapped */
	CU_ASSERT(brisk_ring_empty(r));

	/* Full ring across the wrap point. */
	for (i = 0; i < 15; i++) {
		in[i] = OBJ(i);
	}
	CU_ASSERT_EQUAL(brisk_ring_enqueue_bulk(r, in, 15, NULL), 15);
	CU_ASSERT(brisk_ring_full(r));
	CU_ASSERT_EQUAL(brisk_ring_dequeue_bulk(r, out, 15, NULL), 15);
	CU_ASSERT(memcmp(in, out, 15 * sizeof(void *)) == 0);
}

/* Caller memory: no env needed for the ring itself, not found by lookup, not freed. */
static void test_init_caller_memory(void)
{
	long len = brisk_ring_get_memsize(64);
	struct brisk_ring *r = NULL;
	void *obj;

	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_EQUAL_FATAL(posix_memalign((void **)&r, 128, (size_t)len), 0);
	CU_ASSERT_EQUAL(brisk_ring_init(NULL, "x", 64, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_init(r, "x", 0, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_init(r, "x", 48, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_init(r, "x", 64, 0x8), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_init(r, "a_name_that_is_far_too_long_for_a_ring", 64, 0), -EINVAL);
	CU_ASSERT_EQUAL(brisk_ring_init(r, NULL, 64, 0), 0);
	CU_ASSERT_STRING_EQUAL(brisk_ring_get_name(r), "");
	CU_ASSERT_EQUAL(brisk_ring_init(r, "private", 64, BRISK_RING_F_SP_ENQ), 0);
	CU_ASSERT_EQUAL(r->prod.single, 1);
	CU_ASSERT_EQUAL(r->cons.single, 0);
	CU_ASSERT_PTR_NULL(brisk_ring_lookup("private"));
	CU_ASSERT_EQUAL(brisk_ring_enqueue(r, OBJ(7)), 0);
	CU_ASSERT_EQUAL(brisk_ring_dequeue(r, &obj), 0);
	CU_ASSERT_PTR_EQUAL(obj, OBJ(7));
	brisk_ring_free(r); /* reported and refused: memory is the caller's */
	CU_ASSERT_EQUAL(brisk_ring_enqueue(r, OBJ(8)), 0);
	CU_ASSERT_EQUAL(brisk_ring_count(r), 1);
	free(r);
}

static void test_dump(void)
{
	struct brisk_ring *r = brisk_ring_create("dumped", 32, BRISK_ENV_SOCKET_ID_ANY, BRISK_RING_F_SC_DEQ);
	char buf[1024] = "";
	FILE *f = tmpfile();
	size_t len;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(brisk_ring_enqueue(r, OBJ(1)), 0);
	brisk_ring_dump(f, r);
	brisk_ring_dump(f, NULL);
	rewind(f);
	len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	fclose(f);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "dumped"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "multi producer, single consumer"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "size=32 capacity=31"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "used=1 avail=30"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "<NULL>"));
	brisk_ring_free(r);
}

/*
 * Mode override. A claimed-but-unpublished slot (head ahead of tail) stands
 * for a preempted earlier producer/consumer: a multi-thread call must wait
 * for it to publish before moving the tail, a single-thread call does not
 * wait (it owns the side). So the call's mode, not the ring's, is what runs.
 */
struct override_ctx {
	struct brisk_ring *r;
	bool enqueue;
	bool done;
	unsigned n;
	void *obj;
};

static void *override_worker(void *arg)
{
	struct override_ctx *c = arg;

	if (c->enqueue) {
		c->n = brisk_ring_mp_enqueue_bulk(c->r, &c->obj, 1, NULL);
	} else {
		c->n = brisk_ring_mc_dequeue_bulk(c->r, &c->obj, 1, NULL);
	}
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static void test_mode_override(void)
{
	struct brisk_ring *r = brisk_ring_create("override", 16, BRISK_ENV_SOCKET_ID_ANY,
						 BRISK_RING_F_SP_ENQ | BRISK_RING_F_SC_DEQ);
	struct override_ctx c = { .r = r, .enqueue = true, .obj = OBJ(2) };
	pthread_t t;
	void *obj;

	CU_ASSERT_PTR_NOT_NULL_FATAL(r);

	/* MP enqueue on an SP ring waits for the earlier claim. */
	r->prod.head++; /* slot 0 claimed by a "slow producer" */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, override_worker, &c), 0);
	usleep(50 * 1000);
	CU_ASSERT(!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE));
	CU_ASSERT_EQUAL(r->prod.tail, 0);
	r->slots[0] = OBJ(1);
	__atomic_store_n(&r->prod.tail, 1, __ATOMIC_RELEASE); /* slow producer publishes */
	pthread_join(t, NULL);
	CU_ASSERT(c.done);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT_EQUAL(r->prod.tail, 2);
	CU_ASSERT_EQUAL(brisk_ring_count(r), 2);

	/* MC dequeue on an SC ring waits the same way. */
	c.enqueue = false;
	c.done = false;
	c.obj = NULL;
	r->cons.head++; /* slot 0 claimed by a "slow consumer" */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, override_worker, &c), 0);
	usleep(50 * 1000);
	CU_ASSERT(!__atomic_load_n(&c.done, __ATOMIC_ACQUIRE));
	CU_ASSERT_EQUAL(r->cons.tail, 0);
	__atomic_store_n(&r->cons.tail, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT_PTR_EQUAL(c.obj, OBJ(2));
	CU_ASSERT(brisk_ring_empty(r));
	brisk_ring_free(r);

	/* SP/SC calls on an MP/MC ring do not wait: they own their side. */
	r = brisk_ring_create("override2", 16, BRISK_ENV_SOCKET_ID_ANY, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(r);
	r->prod.head++;
	CU_ASSERT_EQUAL(brisk_ring_sp_enqueue_bulk(r, (void *const *)&c.obj, 1, NULL), 1);
	CU_ASSERT_EQUAL(r->prod.tail, 2);
	r->slots[0] = OBJ(3);
	r->cons.head++;
	CU_ASSERT_EQUAL(brisk_ring_sc_dequeue_bulk(r, &obj, 1, NULL), 1);
	CU_ASSERT_PTR_EQUAL(obj, c.obj);
	CU_ASSERT_EQUAL(r->cons.tail, 2);
	brisk_ring_free(r);
}

static const CU_TestInfo g_ut_tests[] = {
	{ "bad_input", test_bad_input },
	{ "create_lookup_free", test_create_lookup_free },
	{ "exact_size", test_exact_size },
	{ "bulk_vs_burst", test_bulk_vs_burst },
	{ "all_variants", test_all_variants },
	{ "wraparound", test_wraparound },
	{ "init_caller_memory", test_init_caller_memory },
	{ "dump", test_dump },
	{ "mode_override", test_mode_override },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "ring", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "ring_ut",
	.env = BRISK_UT_ENV,
	.mem_mb = 64,
	.suites = g_ut_suites,
};
