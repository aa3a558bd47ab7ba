#include "core/metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const routes[] = {
    "discovery", "jwks",       "authorize",  "login",      "select_role", "token",
    "userinfo",  "introspect", "revoke",     "endsession", "demo",        "assets",
    "health",    "metrics",    "onboarding", "api",        "other",
};
#define NROUTES     (sizeof(routes) / sizeof(routes[0]))
#define ROUTE_OTHER (NROUTES - 1)

static const int statuses[] = {200, 204, 302, 303, 304, 400, 401, 403,
                               404, 405, 413, 414, 429, 431, 500, 503};
#define NSTATUSES    (sizeof(statuses) / sizeof(statuses[0]))
#define STATUS_OTHER NSTATUSES

/* upper bounds in microseconds; a last implicit bucket is +Inf */
static const int64_t buckets_us[] = {1000,   2500,   5000,    10000,   25000,   50000,   100000,
                                     250000, 500000, 1000000, 2500000, 5000000, 10000000};
static const char *const bucket_labels[] = {"0.001", "0.0025", "0.005", "0.01", "0.025",
                                            "0.05",  "0.1",    "0.25",  "0.5",  "1",
                                            "2.5",   "5",      "10"};
#define NBUCKETS (sizeof(buckets_us) / sizeof(buckets_us[0]))

static const char *const signin_results[] = {"success", "bad_credentials", "unknown_user",
                                             "locked",  "error",           "other"};
#define NSIGNINS (sizeof(signin_results) / sizeof(signin_results[0]))

struct histogram {
	atomic_uint_fast64_t buckets[NBUCKETS + 1]; /* not cumulative; last is +Inf */
	atomic_uint_fast64_t sum_us;
	atomic_uint_fast64_t count;
};

struct metrics {
	atomic_uint_fast64_t requests[NROUTES][NSTATUSES + 1];
	struct histogram latency[NROUTES];
	atomic_uint_fast64_t signins[NSIGNINS];
};

metrics *metrics_new(void)
{
	metrics *m = malloc(sizeof(*m));

	if (!m)
		return NULL;
	for (size_t r = 0; r < NROUTES; r++) {
		for (size_t s = 0; s <= NSTATUSES; s++)
			atomic_init(&m->requests[r][s], 0);
		for (size_t b = 0; b <= NBUCKETS; b++)
			atomic_init(&m->latency[r].buckets[b], 0);
		atomic_init(&m->latency[r].sum_us, 0);
		atomic_init(&m->latency[r].count, 0);
	}
	for (size_t i = 0; i < NSIGNINS; i++)
		atomic_init(&m->signins[i], 0);
	return m;
}

void metrics_free(metrics *m)
{
	free(m);
}

static size_t label_index(const char *const *labels, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcmp(labels[i], s) == 0)
			return i;
	return n - 1; /* "other" is last */
}

void metrics_request(metrics *m, const char *route, int status, int64_t duration_us)
{
	size_t r, s = STATUS_OTHER, b = 0;

	if (!m)
		return;
	r = label_index(routes, NROUTES, route);
	for (size_t i = 0; i < NSTATUSES; i++)
		if (statuses[i] == status)
			s = i;
	if (duration_us < 0)
		duration_us = 0;
	while (b < NBUCKETS && duration_us > buckets_us[b])
		b++;
	atomic_fetch_add_explicit(&m->requests[r][s], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency[r].buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency[r].sum_us, (uint_fast64_t)duration_us,
	                          memory_order_relaxed);
	atomic_fetch_add_explicit(&m->latency[r].count, 1, memory_order_relaxed);
}

void metrics_signin(metrics *m, const char *result)
{
	if (!m)
		return;
	atomic_fetch_add_explicit(&m->signins[label_index(signin_results, NSIGNINS, result)], 1,
	                          memory_order_relaxed);
}

static uint64_t get(atomic_uint_fast64_t *v)
{
	return (uint64_t)atomic_load_explicit(v, memory_order_relaxed);
}

int metrics_render(metrics *m, struct buf *out)
{
	int rc;

	rc = buf_puts(out, "# HELP careid_http_requests_total HTTP requests by route and status.\n"
	                   "# TYPE careid_http_requests_total counter\n");
	for (size_t r = 0; r < NROUTES && !rc; r++) {
		for (size_t s = 0; s <= NSTATUSES && !rc; s++) {
			uint64_t v = get(&m->requests[r][s]);
			char status[16];

			if (!v)
				continue;
			if (s == STATUS_OTHER)
				memcpy(status, "other", 6);
			else
				snprintf(status, sizeof(status), "%d", statuses[s]);
			rc = buf_printf(out,
			                "careid_http_requests_total{route=\"%s\",status=\"%s\"} "
			                "%llu\n",
			                routes[r], status, (unsigned long long)v);
		}
	}
	if (!rc)
		rc = buf_puts(out, "# HELP careid_http_request_duration_seconds HTTP request "
		                   "latency by route.\n"
		                   "# TYPE careid_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r < NROUTES && !rc; r++) {
		struct histogram *h = &m->latency[r];
		uint64_t count = get(&h->count), cum = 0;

		if (!count)
			continue;
		for (size_t b = 0; b < NBUCKETS && !rc; b++) {
			cum += get(&h->buckets[b]);
			rc = buf_printf(out,
			                "careid_http_request_duration_seconds_bucket{route=\"%s\","
			                "le=\"%s\"} %llu\n",
			                routes[r], bucket_labels[b], (unsigned long long)cum);
		}
		/* +Inf equals _count; reading count once keeps the lines consistent */
		cum += get(&h->buckets[NBUCKETS]);
		if (cum < count)
			cum = count;
		if (!rc)
			rc = buf_printf(
			    out,
			    "careid_http_request_duration_seconds_bucket{route=\"%s\","
			    "le=\"+Inf\"} %llu\n"
			    "careid_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
			    "careid_http_request_duration_seconds_count{route=\"%s\"} "
			    "%llu\n",
			    routes[r], (unsigned long long)cum, routes[r],
			    (double)get(&h->sum_us) / 1e6, routes[r], (unsigned long long)cum);
	}
	if (!rc)
		rc = buf_puts(out, "# HELP careid_signins_total Sign-in attempts by result.\n"
		                   "# TYPE careid_signins_total counter\n");
	for (size_t i = 0; i < NSIGNINS && !rc; i++)
		rc = buf_printf(out, "careid_signins_total{result=\"%s\"} %llu\n",
		                signin_results[i], (unsigned long long)get(&m->signins[i]));
	return rc;
}
