/* Time, in one place so that the rest of careid never calls time() itself. */
#ifndef CAREID_CORE_CLOCK_H
#define CAREID_CORE_CLOCK_H

#include <stdint.h>

/* Seconds since the Unix epoch. */
int64_t clock_now(void);

/* Monotonic microseconds, for durations. */
int64_t clock_mono_us(void);

#endif
