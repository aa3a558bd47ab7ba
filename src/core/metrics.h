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

/*
 * Records one request: route label, status, duration. Routes are "discovery",
 * "jwks", "authorize", "login", "select_role", "token", "userinfo",
 * "introspect", "revoke", "endsession", "demo", "assets", "health", "metrics",
 * "onboarding", "api" and "other" (any other or NULL label counts there).
 * Statuses 200 204 302 303 304 400 401 403 404 405 413 414 429 431 500 503 are
 * counted exactly, the rest as status="other". Latency buckets run from 1 ms
 * to 10 s. `m` may be NULL (nothing is recorded).
 */
void metrics_request(metrics *m, const char *route, int status, int64_t duration_us);

/* Records one sign-in attempt with its result: "success", "bad_credentials",
 * "unknown_user", "locked", "error"; anything else counts as "other". */
void metrics_signin(metrics *m, const char *result);

/* Appends the exposition text (HELP/TYPE lines; request and latency series
 * only once non-zero; every sign-in result always). */
int metrics_render(metrics *m, struct buf *out);

#endif
