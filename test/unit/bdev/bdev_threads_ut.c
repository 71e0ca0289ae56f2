/*
 * Two OS threads, each polling its own brisk_thread, run verified I/O on
 * disjoint regions of one malloc bdev (half of it through misaligned
 * buffers, so bounced) while thread 0 keeps resetting the bdev and turning
 * a QoS limit on and off. Every I/O must succeed and read back what was
 * written; resets and QoS changes must all complete. Runs for one second.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include <brisk/bdev.h>
#include <brisk/thread.h>
#include <brisk/ticks.h>

#include "../../../module/bdev/malloc/bdev_malloc.c"
#include "../../common/ut_main.h"

#define NWORKERS 2
#define QD 16
#define SLOT_BLOCKS 64   /* each slot owns 64 blocks and writes 8 of them */
#define IO_BLOCKS 8
#define REGION_BLOCKS (QD * SLOT_BLOCKS)
#define IO_BYTES (IO_BLOCKS * 512)

struct worker;

struct slot {
	struct worker *w;
	int idx;
	uint64_t blk;
	bool reading;
	uint8_t *raw;
	uint32_t seed;
};

struct worker {
	int id;
	struct brisk_thread *th;
	struct brisk_bdev_desc *desc;
	struct brisk_io_channel *ch;
	struct slot slots[QD];
	uint64_t done;
	uint64_t errors;
	uint64_t bad;
	int inflight;
	bool stop;
	unsigned rnd;
};

static struct worker g_w[NWORKERS];
static volatile int g_go;
static int g_resets_pending, g_resets_done;
static int g_qos_pending, g_qos_done, g_qos_errors;

static void ev_cb(enum brisk_bdev_event_type type, struct brisk_bdev *bdev, void *ctx)
{
}

/* Odd slots use a buffer one byte off: the bdev asks for 512-byte alignment. */
static uint8_t *slot_buf(struct slot *s)
{
	return s->raw + (s->idx & 1);
}

static void issue(struct slot *s);

static void io_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	struct slot *s = arg;
	struct worker *w = s->w;
	uint8_t *buf = slot_buf(s);

	brisk_bdev_free_io(io);
	w->inflight--;
	w->done++;
	if (!success) {
		w->errors++;
	} else if (s->reading) {
		for (int i = 0; i < IO_BYTES; i++) {
			if (buf[i] != (uint8_t)(s->seed + i)) {
				w->bad++;
				break;
			}
		}
	}
	s->reading = !s->reading;
	if (!w->stop) {
		issue(s);
	}
}

static void issue(struct slot *s)
{
	struct worker *w = s->w;
	uint8_t *buf = slot_buf(s);
	int rc;

	if (!s->reading) {
		s->seed = (uint32_t)rand_r(&w->rnd);
		s->blk = (uint64_t)w->id * REGION_BLOCKS + (uint64_t)s->idx * SLOT_BLOCKS +
			 (uint64_t)rand_r(&w->rnd) % (SLOT_BLOCKS - IO_BLOCKS);
		for (int i = 0; i < IO_BYTES; i++) {
			buf[i] = (uint8_t)(s->seed + i);
		}
		rc = brisk_bdev_write_blocks(w->desc, w->ch, buf, s->blk, IO_BLOCKS, io_done, s);
	} else {
		memset(buf, 0, IO_BYTES);
		rc = brisk_bdev_read_blocks(w->desc, w->ch, buf, s->blk, IO_BLOCKS, io_done, s);
	}
	if (rc == 0) {
		w->inflight++;
	} else {
		w->errors++;
	}
}

static void reset_done(struct brisk_bdev_io *io, bool success, void *arg)
{
	brisk_bdev_free_io(io);
	g_resets_pending--;
	g_resets_done += success ? 1 : 0;
}

static void qos_done(void *arg, int rc)
{
	g_qos_pending--;
	g_qos_done++;
	g_qos_errors += rc != 0;
}

/* Thread 0 resets every 20 ms and flips a 20k IOPS limit. */
static void control_step(struct worker *w, int n)
{
	uint64_t limits[BRISK_BDEV_QOS_NUM_RATE_LIMIT_TYPES] = {
		(n % 2) ? 20000 : 0, BRISK_BDEV_QOS_LIMIT_NOT_DEFINED,
		BRISK_BDEV_QOS_LIMIT_NOT_DEFINED, BRISK_BDEV_QOS_LIMIT_NOT_DEFINED,
	};

	if (g_resets_pending == 0) {
		g_resets_pending++;
		if (brisk_bdev_reset(w->desc, w->ch, reset_done, NULL) != 0) {
			g_resets_pending--;
		}
	}
	if (g_qos_pending == 0) {
		g_qos_pending++;
		brisk_bdev_set_qos_rate_limits(brisk_bdev_desc_get_bdev(w->desc), limits, qos_done, NULL);
	}
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	uint64_t hz = brisk_get_ticks_hz(), start, last = 0;
	int n = 0;

	brisk_set_thread(w->th);
	w->ch = brisk_bdev_get_io_channel(w->desc);
	while (!g_go) {
	}
	for (int i = 0; i < QD; i++) {
		w->slots[i].w = w;
		w->slots[i].idx = i;
		w->slots[i].raw = malloc(IO_BYTES + 1);
		issue(&w->slots[i]);
	}
	start = brisk_get_ticks();
	while (brisk_get_ticks() - start < hz) {
		brisk_thread_poll(w->th, 0, 0);
		if (w->id == 0 && brisk_get_ticks() - last > hz / 50) {
			last = brisk_get_ticks();
			control_step(w, n++);
		}
	}
	w->stop = true;
	/* Drain, then keep polling so the other thread's QoS traffic (which runs
	 * on thread 0) and channel walks finish. */
	start = brisk_get_ticks();
	while (brisk_get_ticks() - start < hz / 2 ||
	       ((w->inflight > 0 || g_resets_pending || g_qos_pending) && brisk_get_ticks() - start < 10 * hz)) {
		brisk_thread_poll(w->th, 0, 0);
	}
	brisk_put_io_channel(w->ch);
	for (int k = 0; k < 100; k++) {
		brisk_thread_poll(w->th, 0, 0);
	}
	for (int i = 0; i < QD; i++) {
		free(w->slots[i].raw);
	}
	brisk_set_thread(NULL);
	return NULL;
}

static void test_two_threads_reset_qos(void)
{
	struct bdev_malloc_opts o = { .name = "mt", .num_blocks = NWORKERS * REGION_BLOCKS, .block_size = 512 };
	struct brisk_bdev *b;
	pthread_t t[NWORKERS];

	brisk_set_thread(g_w[0].th);
	CU_ASSERT_FATAL(bdev_malloc_create(&b, &o) == 0);
	b->required_alignment = 512; /* set before anyone opens it: bounces odd buffers */
	while (brisk_thread_poll(g_w[0].th, 0, 0) > 0) {
	}
	for (int i = 0; i < NWORKERS; i++) {
		brisk_set_thread(g_w[i].th);
		CU_ASSERT_FATAL(brisk_bdev_open_ext("mt", true, ev_cb, NULL, &g_w[i].desc) == 0);
	}
	brisk_set_thread(NULL);
	for (int i = 0; i < NWORKERS; i++) {
		g_w[i].rnd = 1234 + i;
		pthread_create(&t[i], NULL, worker_run, &g_w[i]);
	}
	g_go = 1;
	for (int i = 0; i < NWORKERS; i++) {
		pthread_join(t[i], NULL);
	}
	for (int i = 0; i < NWORKERS; i++) {
		CU_ASSERT(g_w[i].done > 1000);
		CU_ASSERT_EQUAL(g_w[i].errors, 0);
		CU_ASSERT_EQUAL(g_w[i].bad, 0);
		CU_ASSERT_EQUAL(g_w[i].inflight, 0);
	}
	CU_ASSERT(g_resets_done > 5);
	CU_ASSERT_EQUAL(g_resets_pending, 0);
	CU_ASSERT(g_qos_done > 5);
	CU_ASSERT_EQUAL(g_qos_pending, 0);
	CU_ASSERT_EQUAL(g_qos_errors, 0);
	for (int i = 0; i < NWORKERS; i++) {
		brisk_set_thread(g_w[i].th);
		brisk_bdev_close(g_w[i].desc);
	}
	brisk_set_thread(g_w[0].th);
}

static int g_init_rc = -1;
static void init_done(void *arg, int rc)
{
	g_init_rc = rc;
}

static bool g_fini;
static void fini_done(void *arg)
{
	g_fini = true;
}

static void poll_all(void)
{
	for (int k = 0; k < 1000; k++) {
		for (int i = 0; i < NWORKERS; i++) {
			brisk_thread_poll(g_w[i].th, 0, 0);
		}
	}
}

static int ut_setup(void)
{
	for (int i = 0; i < NWORKERS; i++) {
		g_w[i].id = i;
		g_w[i].th = brisk_thread_create(i == 0 ? "w0" : "w1", NULL);
	}
	brisk_set_thread(g_w[0].th);
	brisk_bdev_initialize(init_done, NULL);
	poll_all();
	if (g_init_rc != 0) {
		fprintf(stderr, "bdev init failed: %d\n", g_init_rc);
		return -1;
	}
	return 0;
}

static int ut_teardown(void)
{
	int rc = 0;

	brisk_set_thread(g_w[0].th);
	brisk_bdev_finish(fini_done, NULL);
	poll_all();
	if (!g_fini) {
		fprintf(stderr, "bdev finish did not complete\n");
		rc = -1;
	}
	for (int i = 0; i < NWORKERS; i++) {
		brisk_set_thread(g_w[i].th);
		brisk_thread_exit(g_w[i].th);
	}
	poll_all();
	for (int i = 0; i < NWORKERS; i++) {
		brisk_thread_destroy(g_w[i].th);
	}
	brisk_set_thread(NULL);
	return rc;
}

static const CU_TestInfo g_ut_tests[] = {
	BRISK_UT_TEST(test_two_threads_reset_qos),
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "bdev_threads", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "bdev_threads_ut",
	.env = BRISK_UT_ENV_THREAD,
	.core_mask = "0x3",
	.mem_mb = 128,
	.thread_opts = { .msg_pool_size = 65535 },
	.setup = ut_setup,
	.teardown = ut_teardown,
	.suites = g_ut_suites,
};
