/*
 * Process metrics in the Prometheus text format: requests by route and status,
 * a latency histogram by route, and sign-ins by result. Counters are atomic;
 * the set of routes is fixed at creation.
 */
#ifndef CAREID_CORE_METRICS_H
#define CAREID_CORE_METRICS_H

#include <stdint.h>

#include "core/buf.h"

typedef struct metrics metrics;

metrics *metrics_new(void);
void metrics_free(metrics *m);

/* Records one request: route label ("authorize", …, or "other"), status, duration. */
void metrics_request(metrics *m, const char *route, int status, int64_t duration_us);

/* Records one sign-in attempt with its result: "success", "bad_password", … */
void metrics_signin(metrics *m, const char *result);

/* Appends the exposition text. */
int metrics_render(metrics *m, struct buf *out);

#endif
