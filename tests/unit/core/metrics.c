/* Tests src/core/metrics.c: counters and the Prometheus text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

#include "core/error.h"
#include "core/metrics.h"

static char *render(metrics *m)
{
	struct buf b;
	char *s;

	buf_init(&b, 1 << 20);
	assert_int_equal(metrics_render(m, &b), 0);
	s = buf_detach(&b, NULL);
	return s;
}

static void expect_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p++;
	}
	fail_msg("no line '%s' in:\n%s", line, text);
}

static void test_empty(void **state)
{
	metrics *m = metrics_new();
	char *s;

	(void)state;
	s = render(m);
	expect_line(s, "# TYPE careid_http_requests_total counter");
	expect_line(s, "# TYPE careid_http_request_duration_seconds histogram");
	expect_line(s, "# TYPE careid_signins_total counter");
	assert_non_null(strstr(s, "# HELP careid_http_requests_total "));
	/* no request series until something is counted; sign-ins always */
	assert_null(strstr(s, "careid_http_requests_total{"));
	assert_null(strstr(s, "careid_http_request_duration_seconds_bucket{"));
	expect_line(s, "careid_signins_total{result=\"success\"} 0");
	expect_line(s, "careid_signins_total{result=\"other\"} 0");
	free(s);
	metrics_free(m);
	metrics_free(NULL);
}

static void test_requests(void **state)
{
	metrics *m = metrics_new();
	char *s;

	(void)state;
	metrics_request(m, "token", 200, 1500);     /* 1.5 ms */
	metrics_request(m, "token", 200, 1000);     /* exactly 1 ms: le="0.001" */
	metrics_request(m, "token", 400, 20000000); /* 20 s: only +Inf */
	metrics_request(m, "no-such-route", 302, 0);
	metrics_request(m, NULL, 418, 100);
	metrics_request(m, "authorize", 599, -5);
	metrics_request(NULL, "token", 200, 1);
	s = render(m);
	expect_line(s, "careid_http_requests_total{route=\"token\",status=\"200\"} 2");
	expect_line(s, "careid_http_requests_total{route=\"token\",status=\"400\"} 1");
	expect_line(s, "careid_http_requests_total{route=\"other\",status=\"302\"} 1");
	expect_line(s, "careid_http_requests_total{route=\"other\",status=\"other\"} 1");
	expect_line(s, "careid_http_requests_total{route=\"authorize\",status=\"other\"} 1");
	assert_null(strstr(s, "route=\"jwks\""));
	expect_line(s,
	            "careid_http_request_duration_seconds_bucket{route=\"token\",le=\"0.001\"} 1");
	expect_line(s,
	            "careid_http_request_duration_seconds_bucket{route=\"token\",le=\"0.0025\"} 2");
	expect_line(s, "careid_http_request_duration_seconds_bucket{route=\"token\",le=\"10\"} 2");
	expect_line(s,
	            "careid_http_request_duration_seconds_bucket{route=\"token\",le=\"+Inf\"} 3");
	expect_line(s, "careid_http_request_duration_seconds_count{route=\"token\"} 3");
	expect_line(s, "careid_http_request_duration_seconds_sum{route=\"token\"} 20.002500");
	expect_line(s,
	            "careid_http_request_duration_seconds_bucket{route=\"other\",le=\"0.001\"} 2");
	free(s);
	metrics_free(m);
}

static void test_signins(void **state)
{
	metrics *m = metrics_new();
	char *s;

	(void)state;
	metrics_signin(m, "success");
	metrics_signin(m, "success");
	metrics_signin(m, "bad_credentials");
	metrics_signin(m, "locked");
	metrics_signin(m, "weird");
	metrics_signin(m, NULL);
	metrics_signin(NULL, "success");
	s = render(m);
	expect_line(s, "careid_signins_total{result=\"success\"} 2");
	expect_line(s, "careid_signins_total{result=\"bad_credentials\"} 1");
	expect_line(s, "careid_signins_total{result=\"unknown_user\"} 0");
	expect_line(s, "careid_signins_total{result=\"locked\"} 1");
	expect_line(s, "careid_signins_total{result=\"error\"} 0");
	expect_line(s, "careid_signins_total{result=\"other\"} 2");
	free(s);
	metrics_free(m);
}

static void test_render_cap(void **state)
{
	metrics *m = metrics_new();
	struct buf b;

	(void)state;
	metrics_request(m, "token", 200, 1);
	buf_init(&b, 100);
	assert_int_equal(metrics_render(m, &b), CAREID_ETOOBIG);
	buf_release(&b);
	metrics_free(m);
}

static void *hammer(void *arg)
{
	for (int i = 0; i < 10000; i++) {
		metrics_request(arg, "userinfo", 200, 3000);
		metrics_signin(arg, "success");
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	metrics *m = metrics_new();
	pthread_t th[4];
	char *s;

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, hammer, m), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	s = render(m);
	expect_line(s, "careid_http_requests_total{route=\"userinfo\",status=\"200\"} 40000");
	expect_line(s, "careid_http_request_duration_seconds_count{route=\"userinfo\"} 40000");
	expect_line(s, "careid_http_request_duration_seconds_sum{route=\"userinfo\"} 120.000000");
	expect_line(s, "careid_signins_total{result=\"success\"} 40000");
	free(s);
	metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),      cmocka_unit_test(test_requests),
	    cmocka_unit_test(test_signins),    cmocka_unit_test(test_render_cap),
	    cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
