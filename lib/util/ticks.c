/*
 * Tick counter: the TSC when it is invariant (constant rate, keeps counting in
 * deep C-states, so comparable across cores), else CLOCK_MONOTONIC in ns.
 */
#include <brisk/ticks.h>

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#define NSEC_PER_SEC 1000000000ULL
/* Long enough that the two clock reads' jitter (well under 1 us) is a few
 * ppm of the interval; short enough not to slow start-up. */
#define CALIBRATE_NS (25 * 1000 * 1000ULL)

enum tick_source {
	TICKS_UNKNOWN = 0,
	TICKS_TSC,
	TICKS_MONOTONIC,
};

/* Chosen once; detection is idempotent, so racing first callers store the
 * same value and relaxed ordering is enough. */
static int g_source = TICKS_UNKNOWN;
static uint64_t g_hz;
static pthread_once_t g_hz_once = PTHREAD_ONCE_INIT;

static inline uint64_t
monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static bool
tsc_invariant(void)
{
	unsigned int eax, ebx, ecx, edx;

	/* CPUID 0x80000007 EDX bit 8: invariant TSC (Linux shows it as the
	 * constant_tsc + nonstop_tsc flags in /proc/cpuinfo). */
	if ((unsigned int)__get_cpuid_max(0x80000000, NULL) < 0x80000007u) {
		return false;
	}
	__cpuid(0x80000007, eax, ebx, ecx, edx);
	return (edx & (1u << 8)) != 0;
}

static inline uint64_t
read_tsc(void)
{
	return __rdtsc();
}
#else
static bool
tsc_invariant(void)
{
	return false;
}

static inline uint64_t
read_tsc(void)
{
	return monotonic_ns();
}
#endif

static enum tick_source
tick_source(void)
{
	int src = __atomic_load_n(&g_source, __ATOMIC_RELAXED);

	if (__builtin_expect(src == TICKS_UNKNOWN, 0)) {
		src = tsc_invariant() ? TICKS_TSC : TICKS_MONOTONIC;
		__atomic_store_n(&g_source, src, __ATOMIC_RELAXED);
	}
	return (enum tick_source)src;
}

uint64_t
brisk_get_ticks(void)
{
	if (tick_source() == TICKS_TSC) {
		return read_tsc();
	}
	return monotonic_ns();
}

/* Reads the TSC and the clock as close together as possible: retries while
 * the pair took long (preempted in between) to keep the error small. */
static void
paired_read(uint64_t *tsc, uint64_t *ns)
{
	uint64_t before, after, best = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		before = read_tsc();
		uint64_t t = monotonic_ns();
		after = read_tsc();
		if (after - before < best) {
			best = after - before;
			*tsc = before + (after - before) / 2;
			*ns = t;
		}
	}
}

static void
measure_hz(void)
{
	uint64_t tsc0, ns0, tsc1, ns1;
	struct timespec req = { .tv_sec = 0, .tv_nsec = (long)CALIBRATE_NS };

	if (tick_source() != TICKS_TSC) {
		g_hz = NSEC_PER_SEC;
		return;
	}
	paired_read(&tsc0, &ns0);
	/* Sleeping is fine: an invariant TSC keeps its rate while idle. */
	while (nanosleep(&req, &req) != 0) {
	}
	paired_read(&tsc1, &ns1);
	if (ns1 <= ns0 || tsc1 <= tsc0) {
		/* Clock misbehaving: use nanoseconds rather than a wrong rate. */
		__atomic_store_n(&g_source, TICKS_MONOTONIC, __ATOMIC_RELAXED);
		g_hz = NSEC_PER_SEC;
		return;
	}
	g_hz = (uint64_t)((unsigned __int128)(tsc1 - tsc0) * NSEC_PER_SEC / (ns1 - ns0));
}

uint64_t
brisk_get_ticks_hz(void)
{
	/* pthread_once orders g_hz's write before every caller's read. */
	pthread_once(&g_hz_once, measure_hz);
	return g_hz;
}

uint64_t
brisk_get_time_us(void)
{
	return monotonic_ns() / 1000;
}

void
brisk_delay_us(unsigned int us)
{
	uint64_t hz = brisk_get_ticks_hz();
	uint64_t start = brisk_get_ticks();
	uint64_t wait = brisk_us_to_ticks(us, hz);

	while (brisk_get_ticks() - start < wait) {
#if defined(__x86_64__)
		_mm_pause();
#endif
	}
}
