/* Ticks: rate is sane and matches the wall clock, ticks are monotonic, delays last. */
#include <CUnit/Basic.h>

#include <pthread.h>
#include <time.h>

#include <brisk/ticks.h>
#include "../../common/ut_main.h"

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void
test_hz_sane(void)
{
	uint64_t hz = brisk_get_ticks_hz();

	printf("\n  ticks hz = %lu\n", (unsigned long)hz);
	/* 1 GHz for the clock_gettime fallback; TSCs run 100 MHz .. 10 GHz. */
	CU_ASSERT(hz >= 100000000ULL && hz <= 10000000000ULL);
	/* Cached: the same answer every time. */
	CU_ASSERT_EQUAL(brisk_get_ticks_hz(), hz);
}

static void
test_ticks_track_clock(void)
{
	uint64_t hz = brisk_get_ticks_hz();
	uint64_t t0 = brisk_get_ticks(), n0 = mono_ns();
	struct timespec req = { .tv_sec = 0, .tv_nsec = 50 * 1000 * 1000 };
	uint64_t t1, n1, tick_ns, clock_ns;

	nanosleep(&req, NULL);
	t1 = brisk_get_ticks();
	n1 = mono_ns();
	CU_ASSERT(t1 > t0);
	tick_ns = brisk_ticks_to_us(t1 - t0, hz) * 1000;
	clock_ns = n1 - n0;
	/* Within 2% (plus 100 us for the reads themselves). */
	CU_ASSERT(tick_ns + clock_ns / 50 + 100000 >= clock_ns);
	CU_ASSERT(tick_ns <= clock_ns + clock_ns / 50 + 100000);
}

static void
test_monotonic(void)
{
	uint64_t prev = brisk_get_ticks(), now;
	int i, backwards = 0;

	for (i = 0; i < 100000; i++) {
		now = brisk_get_ticks();
		backwards += now < prev;
		prev = now;
	}
	CU_ASSERT_EQUAL(backwards, 0);
}

static void
test_conversions(void)
{
	CU_ASSERT_EQUAL(brisk_ticks_to_us(3000000000ULL, 3000000000ULL), 1000000);
	CU_ASSERT_EQUAL(brisk_us_to_ticks(1000000, 3000000000ULL), 3000000000ULL);
	CU_ASSERT_EQUAL(brisk_us_to_ticks(1, 1000000000ULL), 1000);
	CU_ASSERT_EQUAL(brisk_ticks_to_us(999, 1000000000ULL), 0);
	/* No overflow on large products (128-bit intermediate). */
	CU_ASSERT_EQUAL(brisk_ticks_to_us(UINT64_MAX / 2, 4000000000ULL),
			(uint64_t)((unsigned __int128)(UINT64_MAX / 2) * 1000000u / 4000000000ULL));
}

static void
test_time_us(void)
{
	uint64_t a = brisk_get_time_us();
	uint64_t b = brisk_get_time_us();

	CU_ASSERT(b >= a);
	CU_ASSERT(a > 0);
	CU_ASSERT((mono_ns() / 1000) - b < 1000000);
}

static void
test_delay_us(void)
{
	uint64_t start, elapsed;

	start = mono_ns();
	brisk_delay_us(1000);
	elapsed = mono_ns() - start;
	printf("\n  delay_us(1000) took %lu ns\n", (unsigned long)elapsed);
	/* At least the asked time; generous upper bound for a loaded 2-core box. */
	CU_ASSERT(elapsed >= 990000);
	CU_ASSERT(elapsed < 50000000);

	start = mono_ns();
	brisk_delay_us(0);
	CU_ASSERT(mono_ns() - start < 10000000);
}

static void *
hz_thread(void *arg)
{
	*(uint64_t *)arg = brisk_get_ticks_hz();
	return NULL;
}

/* The first measurement may race between threads; all see one value. */
static void
test_hz_threads(void)
{
	pthread_t th[4];
	uint64_t hz[4];
	int i;

	for (i = 0; i < 4; i++) {
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, hz_thread, &hz[i]) == 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(hz[i], brisk_get_ticks_hz());
	}
}

static const CU_TestInfo g_ut_tests[] = {
	/* First, so the rate is measured by racing threads. */
	{ "hz_threads", test_hz_threads },
	{ "hz_sane", test_hz_sane },
	{ "ticks_track_clock", test_ticks_track_clock },
	{ "monotonic", test_monotonic },
	{ "conversions", test_conversions },
	{ "time_us", test_time_us },
	{ "delay_us", test_delay_us },
	CU_TEST_INFO_NULL,
};

static const struct brisk_ut_suite g_ut_suites[] = {
	{ "ticks", NULL, NULL, g_ut_tests },
	{ NULL, NULL, NULL, NULL },
};

const struct brisk_ut brisk_ut_desc = {
	.name = "ticks_ut",
	.suites = g_ut_suites,
};
