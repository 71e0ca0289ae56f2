/* Time helpers: TSC ticks and their rate, microsecond clocks. */
#ifndef BRISK_TICKS_H
#define BRISK_TICKS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Cheap monotonic tick counter (rdtsc on x86-64 with an invariant TSC,
 * CLOCK_MONOTONIC nanoseconds elsewhere or when the TSC is not invariant). */
uint64_t brisk_get_ticks(void);
/* Ticks per second (measured once, then cached). */
uint64_t brisk_get_ticks_hz(void);
/* CLOCK_MONOTONIC in microseconds. */
uint64_t brisk_get_time_us(void);
/* Busy-waits (no sleep) for the given microseconds. */
void brisk_delay_us(unsigned int us);
static inline uint64_t brisk_ticks_to_us(uint64_t ticks, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000u / hz);
}
static inline uint64_t brisk_us_to_ticks(uint64_t us, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)us * hz / 1000000u);
}

#ifdef __cplusplus
}
#endif
#endif
