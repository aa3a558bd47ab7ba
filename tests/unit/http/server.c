/* Tests src/http/server.c: real requests over loopback with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/metrics.h"
#include "http/server.h"

#define MAX_BODY 1024

struct test_ctx {
	atomic_int slow_entered;
	atomic_int slow_release; /* the slow handler waits for this */
};

/* Answers with what it saw, as JSON, so tests can look at the request. */
static int handler(void *ctx, struct http_request *req, struct http_response *res)
{
	struct test_ctx *tc = ctx;
	const char *q = form_get(&req->query, "q");
	json_t *j;

	res->route = "api";
	if (strcmp(req->path, "/fail") == 0)
		return careid_error_set(CAREID_ESTORE, "database on fire");
	if (strcmp(req->path, "/bad-status") == 0) {
		res->status = 42;
		return 0;
	}
	if (strcmp(req->path, "/slow") == 0) {
		atomic_store(&tc->slow_entered, 1);
		for (int i = 0; i < 500 && !atomic_load(&tc->slow_release); i++) {
			struct timespec ts = {0, 10 * 1000 * 1000};

			nanosleep(&ts, NULL);
		}
		/* stay in flight a little after the release */
		usleep(200 * 1000);
		return http_send(res, 200, "text/plain", "slow done", 9);
	}
	if (strcmp(req->path, "/policy") == 0 &&
	    http_add_header(res, "Referrer-Policy", "same-origin") != 0)
		return -1;
	if (strcmp(req->path, "/redirect") == 0)
		return http_redirect(res, 303, "/elsewhere");
	/* a route that carries tokens, without a Cache-Control of its own */
	if (strcmp(req->path, "/token") == 0)
		res->route = "token";
	if (strcmp(req->path, "/nostore") == 0 &&
	    http_add_header(res, "Cache-Control", "no-store, max-age=0") != 0)
		return -1;
	j = json_pack("{s:s, s:s, s:s?, s:i, s:i, s:i, s:i, s:b, s:i, s:s?, s:s?, s:s?, s:s, s:s}",
	              "method", req->method, "path", req->path, "q", q, "q_count",
	              (int)form_count(&req->query, "q"), "query_n", (int)req->query.n,
	              "query_error", req->query_error, "form_error", req->form_error, "has_form",
	              req->has_form, "body_len", (int)req->body_len, "x", form_get(&req->form, "x"),
	              "x_test", http_header(req, "X-Test"), "sid", http_cookie(req, "sid"),
	              "remote", req->remote_addr, "request_id", req->request_id);
	if (!j)
		return careid_error_set(CAREID_ENOMEM, "pack");
	json_object_set_new(j, "x_count", json_integer((json_int_t)form_count(&req->form, "x")));
	json_object_set_new(j, "body", json_stringn(req->body, req->body_len));
	return http_send_json(res, 200, j);
}

struct fixture {
	http_server *s;
	metrics *m;
	struct test_ctx tc;
	char base[64];
	const char *cafile; /* for https */
};

static int start(struct fixture *f, size_t max_body)
{
	struct http_server_opts o = {
	    .addr = "127.0.0.1",
	    .port = 0,
	    .threads = 2,
	    .max_body = max_body,
	    .timeout_s = 5,
	    .handler = handler,
	    .ctx = &f->tc,
	    .metrics = f->m,
	};

	if (http_server_start(&f->s, &o) != 0)
		return -1;
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->s));
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->m = metrics_new();
	*state = f;
	return start(f, MAX_BODY);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_server_stop(f->s, 1);
	metrics_free(f->m);
	free(f);
	return 0;
}

struct reply {
	long status;
	struct buf body;
	struct buf headers;
	json_t *json;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_append(ud, p, size * n) == 0 ? size * n : 0;
}

struct upload {
	size_t left;
	size_t chunk;
};

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t k = size * n;

	if (k > u->left)
		k = u->left;
	if (k > u->chunk)
		k = u->chunk;
	memset(p, 'z', k);
	u->left -= k;
	return k;
}

struct request {
	const char *method; /* NULL: GET, or POST when body is set */
	const char *path;
	const char *body;
	const char *const *headers; /* NULL-terminated */
	size_t chunked;             /* send this many bytes chunked */
	bool may_fail;              /* a transfer error is acceptable */
	long ssl_version;           /* CURLOPT_SSLVERSION, when not 0 */
	const char *ciphers;        /* CURLOPT_SSL_CIPHER_LIST (TLS 1.2), when set */
};

static void fetch(struct fixture *f, const struct request *r, struct reply *out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct upload up = {r->chunked, 700};
	char *url;
	size_t len = strlen(f->base) + strlen(r->path) + 1;

	assert_non_null(h);
	url = malloc(len);
	snprintf(url, len, "%s%s", f->base, r->path);
	buf_init(&out->body, 1 << 20);
	buf_init(&out->headers, 1 << 16);
	out->json = NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &out->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &out->headers);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
	if (f->cafile)
		curl_easy_setopt(h, CURLOPT_CAINFO, f->cafile);
	if (r->ssl_version)
		curl_easy_setopt(h, CURLOPT_SSLVERSION, r->ssl_version);
	if (r->ciphers)
		curl_easy_setopt(h, CURLOPT_SSL_CIPHER_LIST, r->ciphers);
	for (const char *const *p = r->headers; p && *p; p++)
		hl = curl_slist_append(hl, *p);
	if (r->chunked) {
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "POST");
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, &up);
	} else if (r->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
	}
	if (r->method && strcmp(r->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else if (r->method)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	if (curl_easy_perform(h) != CURLE_OK && !r->may_fail)
		fail_msg("transfer of %s failed", r->path);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	free(url);
	if (out->body.len && out->body.ptr[0] == '{')
		out->json = json_loads(out->body.ptr, 0, NULL);
}

static void reply_release(struct reply *r)
{
	buf_release(&r->body);
	buf_release(&r->headers);
	json_decref(r->json);
}

/* The value of a response header (first occurrence), copied into `out`. */
static const char *header(const struct reply *r, const char *name, char *out, size_t outsz)
{
	size_t n = strlen(name);

	for (const char *p = r->headers.ptr; p && *p;) {
		const char *eol = strstr(p, "\r\n");

		if (!eol)
			break;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;

			while (*v == ' ')
				v++;
			snprintf(out, outsz, "%.*s", (int)(eol - v), v);
			return out;
		}
		p = eol + 2;
	}
	return NULL;
}

static const char *jstr(const struct reply *r, const char *key)
{
	return json_string_value(json_object_get(r->json, key));
}

static json_int_t jint(const struct reply *r, const char *key)
{
	return json_integer_value(json_object_get(r->json, key));
}

static void test_get_query(void **state)
{
	struct fixture *f = *state;
	struct request rq = {.path = "/a%20b/c?q=x+y%21&q=2&other"};
	struct reply r;
	char v[128];

	fetch(f, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(r.json);
	assert_string_equal(jstr(&r, "method"), "GET");
	assert_string_equal(jstr(&r, "path"), "/a b/c");
	assert_string_equal(jstr(&r, "q"), "x y!");
	assert_int_equal(jint(&r, "q_count"), 2);
	assert_int_equal(jint(&r, "query_n"), 3);
	assert_int_equal(jint(&r, "query_error"), 0);
	assert_false(json_is_true(json_object_get(r.json, "has_form")));
	assert_string_equal(jstr(&r, "remote"), "127.0.0.1");
	assert_string_equal(jstr(&r, "body"), "");
	/* X-Request-Id: 16 hex digits, the one the handler saw */
	assert_non_null(header(&r, "X-Request-Id", v, sizeof(v)));
	assert_int_equal(strlen(v), 16);
	assert_int_equal(strspn(v, "0123456789abcdef"), 16);
	assert_string_equal(jstr(&r, "request_id"), v);
	assert_string_equal(header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
	assert_string_equal(header(&r, "Referrer-Policy", v, sizeof(v)), "no-referrer");
	assert_string_equal(header(&r, "Content-Type", v, sizeof(v)), "application/json");
	reply_release(&r);
}

static void test_request_ids_differ(void **state)
{
	struct fixture *f = *state;
	struct request rq = {.path = "/"};
	struct reply a, b;
	char va[32], vb[32];

	fetch(f, &rq, &a);
	fetch(f, &rq, &b);
	assert_string_not_equal(header(&a, "X-Request-Id", va, sizeof(va)),
	                        header(&b, "X-Request-Id", vb, sizeof(vb)));
	reply_release(&a);
	reply_release(&b);
}

static void test_bad_query(void **state)
{
	struct fixture *f = *state;
	const char *bad[] = {"/x?q=%zz", "/x?q=%", "/x?q=%00", "/x?q=%c0%af", "/x?a=1&q=%e"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct request rq = {.path = bad[i]};
		struct reply r;

		fetch(f, &rq, &r);
		assert_int_equal(r.status, 200);
		assert_int_equal(jint(&r, "query_error"), CAREID_EINVALID);
		assert_int_equal(jint(&r, "query_n"), 0);
		reply_release(&r);
	}
}

static void test_post_form(void **state)
{
	struct fixture *f = *state;
	const char *hs[] = {"Content-Type: application/x-www-form-urlencoded; charset=UTF-8", NULL};
	struct request rq = {.path = "/token?q=1", .body = "x=a+b&x=2&y=%41", .headers = hs};
	struct reply r;

	fetch(f, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "method"), "POST");
	assert_true(json_is_true(json_object_get(r.json, "has_form")));
	assert_int_equal(jint(&r, "form_error"), 0);
	assert_string_equal(jstr(&r, "x"), "a b");
	assert_int_equal(jint(&r, "x_count"), 2);
	assert_string_equal(jstr(&r, "q"), "1");
	assert_string_equal(jstr(&r, "body"), "x=a+b&x=2&y=%41");
	reply_release(&r);
}

static void test_post_bad_form(void **state)
{
	struct fixture *f = *state;
	const char *hs[] = {"Content-Type: Application/X-WWW-Form-Urlencoded", NULL};
	struct request rq = {.path = "/token", .body = "x=1&y=%G1", .headers = hs};
	struct reply r;

	fetch(f, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_true(json_is_true(json_object_get(r.json, "has_form")));
	assert_int_equal(jint(&r, "form_error"), CAREID_EINVALID);
	assert_null(jstr(&r, "x"));
	reply_release(&r);
}

static void test_post_other_type(void **state)
{
	struct fixture *f = *state;
	const char *hs[] = {"Content-Type: application/json", NULL};
	const char *hs2[] = {"Content-Type: application/x-www-form-urlencodedX", NULL};
	struct request rq = {.path = "/api", .body = "{\"x\":1}", .headers = hs};
	struct request rq2 = {.path = "/api", .body = "x=1", .headers = hs2};
	struct reply r;

	fetch(f, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_false(json_is_true(json_object_get(r.json, "has_form")));
	assert_int_equal(jint(&r, "body_len"), 7);
	assert_string_equal(jstr(&r, "body"), "{\"x\":1}");
	reply_release(&r);
	fetch(f, &rq2, &r);
	assert_false(json_is_true(json_object_get(r.json, "has_form")));
	reply_release(&r);
}

static void test_body_at_cap(void **state)
{
	struct fixture *f = *state;
	char *body = calloc(1, MAX_BODY + 1);
	const char *hs[] = {"Expect:", NULL};
	struct request rq = {.path = "/up", .body = body, .headers = hs};
	struct reply r;

	memset(body, 'b', MAX_BODY);
	fetch(f, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(jint(&r, "body_len"), MAX_BODY);
	reply_release(&r);
	free(body);
}

static void expect_413(const struct reply *r)
{
	assert_int_equal(r->status, 413);
	assert_non_null(r->json);
	assert_string_equal(jstr(r, "error"), "invalid_request");
	assert_string_equal(jstr(r, "error_description"), "request body too large");
}

static void test_413_content_length(void **state)
{
	struct fixture *f = *state;
	char *body = calloc(1, MAX_BODY + 2);
	const char *no_expect[] = {"Expect:", NULL};
	const char *expect[] = {"Expect: 100-continue", NULL};
	struct request rq = {.path = "/up", .body = body, .headers = no_expect};
	struct reply r;
	char v[64];

	memset(body, 'b', MAX_BODY + 1);
	fetch(f, &rq, &r);
	expect_413(&r);
	assert_non_null(header(&r, "X-Request-Id", v, sizeof(v)));
	reply_release(&r);
	rq.headers = expect;
	fetch(f, &rq, &r);
	expect_413(&r);
	reply_release(&r);
	free(body);
}

static void test_413_chunked(void **state)
{
	struct fixture *f = *state;
	struct request rq = {.path = "/up", .chunked = 3 * MAX_BODY};
	struct request small = {.path = "/up", .chunked = MAX_BODY / 2};
	struct reply r;

	fetch(f, &rq, &r);
	expect_413(&r);
	reply_release(&r);
	fetch(f, &small, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(jint(&r, "body_len"), MAX_BODY / 2);
	reply_release(&r);
}

static void test_handler_failure(void **state)
{
	struct fixture *f = *state;
	struct request rq = {.path = "/fail"};
	struct request bad = {.path = "/bad-status"};
	struct reply r;
	char v[64];

	fetch(f, &rq, &r);
	assert_int_equal(r.status, 500);
	assert_string_equal(r.body.ptr, "{\"error\":\"server_error\"}");
	assert_non_null(header(&r, "X-Request-Id", v, sizeof(v)));
	reply_release(&r);
	fetch(f, &bad, &r);
	assert_int_equal(r.status, 500);
	reply_release(&r);
}

static void test_headers_and_cookies(void **state)
{
	struct fixture *f = *state;
	const char *hs[] = {"X-Test: hello", "Cookie: a=1; sid=\"s3cr3t\"; b=2", NULL};
	struct request rq = {.path = "/h", .headers = hs};
	struct request policy = {.path = "/policy"};
	struct reply r;
	char v[64];

	fetch(f, &rq, &r);
	assert_string_equal(jstr(&r, "x_test"), "hello");
	assert_string_equal(jstr(&r, "sid"), "s3cr3t");
	reply_release(&r);
	/* the handler's own Referrer-Policy wins over the default */
	fetch(f, &policy, &r);
	assert_string_equal(header(&r, "Referrer-Policy", v, sizeof(v)), "same-origin");
	reply_release(&r);
}

static void test_head_and_redirect(void **state)
{
	struct fixture *f = *state;
	struct request head = {.method = "HEAD", .path = "/h"};
	struct request redir = {.path = "/redirect"};
	struct reply r;
	char v[64];

	fetch(f, &head, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, 0);
	assert_non_null(header(&r, "X-Request-Id", v, sizeof(v)));
	reply_release(&r);
	fetch(f, &redir, &r);
	assert_int_equal(r.status, 303);
	assert_string_equal(header(&r, "Location", v, sizeof(v)), "/elsewhere");
	reply_release(&r);
}

static void test_big_header(void **state)
{
	struct fixture *f = *state;
	size_t n = 70 * 1024;
	char *h = malloc(n + 16);
	const char *hs[] = {h, NULL};
	struct request rq = {.path = "/", .headers = hs};
	struct reply r;

	memcpy(h, "X-Big: ", 7);
	memset(h + 7, 'a', n);
	h[7 + n] = '\0';
	fetch(f, &rq, &r);
	assert_int_equal(r.status, 431);
	reply_release(&r);
	free(h);
}

static void test_metrics_counted(void **state)
{
	struct fixture *f = *state;
	struct request rq = {.path = "/m"};
	struct reply r;
	struct buf out;

	fetch(f, &rq, &r);
	reply_release(&r);
	buf_init(&out, 1 << 20);
	assert_int_equal(metrics_render(f->m, &out), 0);
	assert_non_null(
	    strstr(out.ptr, "careid_http_requests_total{route=\"api\",status=\"200\"} "));
	assert_non_null(
	    strstr(out.ptr, "careid_http_request_duration_seconds_count{route=\"api\"}"));
	buf_release(&out);
}

struct slow_call {
	struct fixture *f;
	struct reply r;
};

/* Runs off the test thread: no assertions may fail here. */
static void *slow_thread(void *arg)
{
	struct slow_call *c = arg;
	struct request rq = {.path = "/slow", .may_fail = true};

	fetch(c->f, &rq, &c->r);
	return NULL;
}

static void test_graceful_stop(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct slow_call call = {.f = f};
	pthread_t th;
	int64_t t0, elapsed;

	(void)state;
	assert_int_equal(start(f, MAX_BODY), 0);
	assert_int_equal(pthread_create(&th, NULL, slow_thread, &call), 0);
	for (int i = 0; i < 1000 && !atomic_load(&f->tc.slow_entered); i++)
		usleep(5000);
	assert_true(atomic_load(&f->tc.slow_entered));
	atomic_store(&f->tc.slow_release, 1);
	t0 = clock_mono_us();
	http_server_stop(f->s, 10);
	elapsed = clock_mono_us() - t0;
	pthread_join(th, NULL);
	assert_int_equal(call.r.status, 200);
	assert_string_equal(call.r.body.ptr, "slow done");
	/* it waited for the request, not for the whole grace period */
	assert_true(elapsed >= 100 * 1000);
	assert_true(elapsed < 5 * 1000 * 1000);
	reply_release(&call.r);
	free(f);
}

static void *release_later(void *arg)
{
	struct test_ctx *tc = arg;

	usleep(300 * 1000);
	atomic_store(&tc->slow_release, 1);
	return NULL;
}

static void test_stop_grace_expires(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct slow_call call = {.f = f};
	pthread_t th, rel;
	int64_t t0, elapsed;

	(void)state;
	assert_int_equal(start(f, MAX_BODY), 0);
	assert_int_equal(pthread_create(&th, NULL, slow_thread, &call), 0);
	for (int i = 0; i < 1000 && !atomic_load(&f->tc.slow_entered); i++)
		usleep(5000);
	assert_true(atomic_load(&f->tc.slow_entered));
	assert_int_equal(pthread_create(&rel, NULL, release_later, &f->tc), 0);
	/* a 0 s grace does not wait for requests in flight; stopping the
	 * threads still lets the running handler return */
	t0 = clock_mono_us();
	http_server_stop(f->s, 0);
	elapsed = clock_mono_us() - t0;
	pthread_join(rel, NULL);
	pthread_join(th, NULL);
	assert_true(elapsed < 3 * 1000 * 1000);
	reply_release(&call.r);
	free(f);
}

static void test_start_errors(void **state)
{
	struct fixture *f = *state;
	struct http_server_opts o = {.addr = "localhost", .handler = handler};
	http_server *s = (http_server *)1;

	assert_int_equal(http_server_start(&s, &o), CAREID_EINVALID);
	assert_null(s);
	o.addr = "127.0.0.1";
	o.handler = NULL;
	assert_int_equal(http_server_start(&s, &o), CAREID_EINVALID);
	/* the port is taken */
	o.handler = handler;
	o.port = http_server_port(f->s);
	assert_int_equal(http_server_start(&s, &o), CAREID_EIO);
	assert_null(s);
	http_server_stop(NULL, 0);
}

static void test_ipv6(void **state)
{
	struct http_server_opts o = {.addr = "::1", .handler = handler, .threads = 1};
	struct fixture f6 = {0};
	struct request rq = {.path = "/v6"};
	struct reply r;
	int rc;

	(void)state;
	o.ctx = &f6.tc;
	rc = http_server_start(&f6.s, &o);
	if (rc == CAREID_EIO)
		skip(); /* no IPv6 loopback here */
	assert_int_equal(rc, 0);
	snprintf(f6.base, sizeof(f6.base), "http://[::1]:%u", http_server_port(f6.s));
	fetch(&f6, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "remote"), "::1");
	reply_release(&r);
	http_server_stop(f6.s, 1);
}

static void test_no_store(void **state)
{
	struct fixture *f = *state;
	struct request plain = {.path = "/h"}, token = {.path = "/token"};
	struct request own = {.path = "/nostore"};
	struct reply r;
	char v[64];

	fetch(f, &plain, &r);
	assert_null(header(&r, "Cache-Control", v, sizeof(v)));
	assert_null(header(&r, "Pragma", v, sizeof(v)));
	/* no HSTS over plain http unless asked for */
	assert_null(header(&r, "Strict-Transport-Security", v, sizeof(v)));
	reply_release(&r);
	fetch(f, &token, &r);
	assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "no-store");
	assert_string_equal(header(&r, "Pragma", v, sizeof(v)), "no-cache");
	reply_release(&r);
	/* the handler's own no-store is kept as it is, and gets Pragma */
	fetch(f, &own, &r);
	assert_string_equal(header(&r, "Cache-Control", v, sizeof(v)), "no-store, max-age=0");
	assert_string_equal(header(&r, "Pragma", v, sizeof(v)), "no-cache");
	reply_release(&r);
}

/* Starts a second server on 127.0.0.1 with `o` (handler and ctx filled in). */
static void start_with(struct fixture *g, struct http_server_opts *o)
{
	o->addr = "127.0.0.1";
	o->handler = handler;
	o->ctx = &g->tc;
	o->threads = 1;
	assert_int_equal(http_server_start(&g->s, o), 0);
	snprintf(g->base, sizeof(g->base), "%s://127.0.0.1:%u",
	         http_server_tls(g->s) ? "https" : "http", http_server_port(g->s));
}

static void test_hsts(void **state)
{
	struct http_server_opts o = {.hsts = true};
	struct fixture g = {0};
	struct request rq = {.path = "/h"};
	struct reply r;
	char v[64];

	(void)state;
	start_with(&g, &o);
	fetch(&g, &rq, &r);
	assert_string_equal(header(&r, "Strict-Transport-Security", v, sizeof(v)),
	                    "max-age=31536000");
	reply_release(&r);
	http_server_stop(g.s, 1);
}

static const char *remote_with(struct fixture *f, const char *const *headers, char *out,
                               size_t outsz)
{
	struct request rq = {.path = "/who", .headers = headers};
	struct reply r;

	fetch(f, &rq, &r);
	assert_int_equal(r.status, 200);
	snprintf(out, outsz, "%s", jstr(&r, "remote"));
	reply_release(&r);
	return out;
}

static void test_trusted_proxy(void **state)
{
	struct fixture *untrusted = *state;
	struct http_cidr proxies[2];
	struct http_server_opts o = {.trusted_proxies = proxies, .ntrusted_proxies = 2};
	struct fixture g = {0};
	const char *spoof[] = {"X-Forwarded-For: 1.2.3.4, 203.0.113.7", NULL};
	const char *two_lines[] = {"X-Forwarded-For: 1.2.3.4", "X-Forwarded-For: 203.0.113.8",
	                           NULL};
	const char *forwarded[] = {"Forwarded: for=\"[2001:db8::17]:4711\";proto=https",
	                           "X-Forwarded-For: 203.0.113.9", NULL};
	const char *forwarded_only[] = {"Forwarded: for=192.0.2.5", NULL};
	const char *unknown[] = {"X-Forwarded-For: 203.0.113.7, unknown", NULL};
	char big[9000], v[64];
	const char *huge[] = {big, NULL};

	assert_int_equal(http_cidr_parse(&proxies[0], "127.0.0.1/32"), 0);
	assert_int_equal(http_cidr_parse(&proxies[1], "10.0.0.0/8"), 0);
	/* from a peer that is not a trusted proxy the headers mean nothing */
	assert_string_equal(remote_with(untrusted, spoof, v, sizeof(v)), "127.0.0.1");
	start_with(&g, &o);
	assert_string_equal(remote_with(&g, NULL, v, sizeof(v)), "127.0.0.1");
	assert_string_equal(remote_with(&g, spoof, v, sizeof(v)), "203.0.113.7");
	/* every line counts, the proxy's own last */
	assert_string_equal(remote_with(&g, two_lines, v, sizeof(v)), "203.0.113.8");
	/* X-Forwarded-For is the default: a client's Forwarded is not read */
	assert_string_equal(remote_with(&g, forwarded, v, sizeof(v)), "203.0.113.9");
	assert_string_equal(remote_with(&g, forwarded_only, v, sizeof(v)), "127.0.0.1");
	assert_string_equal(remote_with(&g, unknown, v, sizeof(v)), "127.0.0.1");
	snprintf(big, sizeof(big), "X-Forwarded-For: %0*d203.0.113.7", 8500, 0);
	assert_string_equal(remote_with(&g, huge, v, sizeof(v)), "127.0.0.1");
	/* an over-long header careid does not read changes nothing */
	snprintf(big, sizeof(big), "Forwarded: %0*d", 8500, 0);
	assert_string_equal(remote_with(&g, (const char *[]){big, spoof[0], NULL}, v, sizeof(v)),
	                    "203.0.113.7");
	http_server_stop(g.s, 1);

	/* --proxy-header forwarded: only Forwarded, a client's X-Forwarded-For not */
	o.proxy_header = HTTP_PROXY_HEADER_FORWARDED;
	start_with(&g, &o);
	assert_string_equal(remote_with(&g, forwarded, v, sizeof(v)), "2001:db8::17");
	assert_string_equal(remote_with(&g, forwarded_only, v, sizeof(v)), "192.0.2.5");
	assert_string_equal(remote_with(&g, spoof, v, sizeof(v)), "127.0.0.1");
	http_server_stop(g.s, 1);
}

static const char *hsts_with(struct fixture *f, const char *const *headers, char *out, size_t outsz)
{
	struct request rq = {.path = "/h", .headers = headers};
	struct reply r;
	const char *v;

	fetch(f, &rq, &r);
	v = header(&r, "Strict-Transport-Security", out, outsz);
	reply_release(&r);
	return v;
}

/* Behind a terminating proxy (hsts on, no TLS): HSTS unless the trusted
 * proxy says its client came over plain http. */
static void test_hsts_behind_proxy(void **state)
{
	struct http_cidr lo;
	struct http_server_opts o = {.hsts = true, .trusted_proxies = &lo, .ntrusted_proxies = 1};
	struct fixture g = {0};
	const char *https_xfp[] = {"X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: https",
	                           NULL};
	const char *http_xfp[] = {"X-Forwarded-For: 203.0.113.7", "X-Forwarded-Proto: http", NULL};
	const char *http_fwd[] = {"Forwarded: for=203.0.113.7;proto=http", NULL};
	const char *proto_only[] = {"X-Forwarded-Proto: http", NULL};
	char v[64];

	(void)state;
	assert_int_equal(http_cidr_parse(&lo, "127.0.0.1"), 0);
	start_with(&g, &o);
	assert_non_null(hsts_with(&g, NULL, v, sizeof(v)));
	assert_non_null(hsts_with(&g, https_xfp, v, sizeof(v)));
	assert_null(hsts_with(&g, http_xfp, v, sizeof(v)));
	/* the proxies write X-Forwarded-For: a Forwarded header is the client's */
	assert_non_null(hsts_with(&g, http_fwd, v, sizeof(v)));
	/* a scheme without an address to go with it says nothing */
	assert_non_null(hsts_with(&g, proto_only, v, sizeof(v)));
	http_server_stop(g.s, 1);
	/* and the other way round */
	o.proxy_header = HTTP_PROXY_HEADER_FORWARDED;
	start_with(&g, &o);
	assert_null(hsts_with(&g, http_fwd, v, sizeof(v)));
	assert_non_null(hsts_with(&g, http_xfp, v, sizeof(v)));
	http_server_stop(g.s, 1);
}

/* A self-signed certificate for 127.0.0.1 (until 2126) and its key, and
 * another key: test material only. */
static const char test_cert[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIBnjCCAUSgAwIBAgIUcuPlg7gYwysh/j37Zw4YYnKI9aEwCgYIKoZIzj0EAwIw\n"
                                "GzEZMBcGA1UEAwwQY2FyZWlkLXVuaXQtdGVzdDAgFw0yNjExMjkwMzI5MzBaGA8y\n"
                                "MTI2MTEwNTAzMjkzMFowGzEZMBcGA1UEAwwQY2FyZWlkLXVuaXQtdGVzdDBZMBMG\n"
                                "ByqGSM49AgEGCCqGSM49AwEHA0IABKZFfbNUEIh1TnXa/3NEvW5Y93a9zhcFip9K\n"
                                "5enCNCD2WcukTd4aBJl/dBhcLiLPue931wgkB4hbI3G6+7vXHpejZDBiMB0GA1Ud\n"
                                "DgQWBBT41/o9MUkPkArME9Cqt+KUwSpVuDAfBgNVHSMEGDAWgBT41/o9MUkPkArM\n"
                                "E9Cqt+KUwSpVuDAPBgNVHRMBAf8EBTADAQH/MA8GA1UdEQQIMAaHBH8AAAEwCgYI\n"
                                "KoZIzj0EAwIDSAAwRQIgVC00wngX+tvF7Ext271czSxB+2bWNkJviGMy43EuQfUC\n"
                                "IQC8dewvRpYyXY+17+rCHp3OaaQWEN24Rl9WvyDEtdZDOA==\n"
                                "-----END CERTIFICATE-----\n";
static const char test_key[] = "-----BEGIN PRIVATE KEY-----\n"
                               "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7K+vUvKnp/+gAt7O\n"
                               "86G15hCPSR5VxcAVB5ayuTzNrcKhRANCAASmRX2zVBCIdU512v9zRL1uWPd2vc4X\n"
                               "BYqfSuXpwjQg9lnLpE3eGgSZf3QYXC4iz7nvd9cIJAeIWyNxuvu71x6X\n"
                               "-----END PRIVATE KEY-----\n";
static const char other_key[] = "-----BEGIN PRIVATE KEY-----\n"
                                "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxR8hQqbWOjToitut\n"
                                "sPz5B8WEJVTGyW57UhseVOtyB/GhRANCAASe6FWeP2DsVYhwQku/HuBlDTuwDn9Z\n"
                                "mA3L8GoYhL11N8JJ6yVB49ohfivs0sjvXMEuWH4SW1dR7HgXnHwuzF1T\n"
                                "-----END PRIVATE KEY-----\n";

static void write_file(char *path, size_t pathsz, const char *dir, const char *name,
                       const char *text)
{
	FILE *fp;

	snprintf(path, pathsz, "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void test_tls(void **state)
{
	const char *base = getenv("CAREID_TEST_TMP");
	char dir[PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16], other[PATH_MAX + 16];
	char missing[PATH_MAX + 16], v[64];
	struct http_server_opts o = {0};
	struct fixture g = {0};
	struct request rq = {.path = "/h"};
	struct request plain = {.path = "/h", .may_fail = true};
	struct request tls11 = {.path = "/h",
	                        .may_fail = true,
	                        .ssl_version =
	                            CURL_SSLVERSION_TLSv1_1 | CURL_SSLVERSION_MAX_TLSv1_1};
	struct request tls12 = {
	    .path = "/h", .ssl_version = CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2};
	/* TLS 1.2 suites: forward-secret AEAD only (the key is ECDSA: static RSA
	 * is out of the question anyway, see tests/e2e/serve-tls.test.mjs) */
	static const char *const served[] = {"ECDHE-ECDSA-AES128-GCM-SHA256",
	                                     "ECDHE-ECDSA-AES256-GCM-SHA384",
	                                     "ECDHE-ECDSA-CHACHA20-POLY1305"};
	static const char *const refused[] = {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA",
	                                      "ECDHE-ECDSA-AES128-CCM"};
	struct reply r;
	http_server *s = NULL;

	(void)state;
	if (base && *base) {
		assert_true(mkdir(base, 0700) == 0 || errno == EEXIST);
		snprintf(dir, sizeof(dir), "%s/tls-XXXXXX", base);
	} else {
		snprintf(dir, sizeof(dir), "/tmp/careid-tls-XXXXXX");
	}
	assert_non_null(mkdtemp(dir));
	write_file(cert, sizeof(cert), dir, "cert.pem", test_cert);
	write_file(key, sizeof(key), dir, "key.pem", test_key);
	write_file(other, sizeof(other), dir, "other.pem", other_key);
	snprintf(missing, sizeof(missing), "%s/missing.pem", dir);

	/* both or neither; unreadable, mismatched or swapped files */
	o = (struct http_server_opts){
	    .addr = "127.0.0.1", .handler = handler, .tls_cert_file = cert};
	assert_int_equal(http_server_start(&s, &o), CAREID_EINVALID);
	assert_null(s);
	o.tls_key_file = missing;
	assert_int_equal(http_server_start(&s, &o), CAREID_EIO);
	o.tls_key_file = other;
	assert_int_equal(http_server_start(&s, &o), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "the key the certificate's"));
	o.tls_cert_file = key;
	o.tls_key_file = cert;
	assert_int_equal(http_server_start(&s, &o), CAREID_EINVALID);
	assert_null(s);

	o = (struct http_server_opts){.tls_cert_file = cert, .tls_key_file = key};
	start_with(&g, &o);
	assert_true(http_server_tls(g.s));
	assert_int_equal(strncmp(g.base, "https://", 8), 0);
	g.cafile = cert;
	fetch(&g, &rq, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "remote"), "127.0.0.1");
	/* HSTS is the caller's choice (careid serve: on with TLS) */
	assert_null(header(&r, "Strict-Transport-Security", v, sizeof(v)));
	reply_release(&r);
	/* TLS 1.2 is served, 1.1 is not */
	fetch(&g, &tls12, &r);
	assert_int_equal(r.status, 200);
	reply_release(&r);
	fetch(&g, &tls11, &r);
	assert_int_equal(r.status, 0);
	reply_release(&r);
	for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++) {
		struct request rq12 = tls12;

		rq12.ciphers = served[i];
		fetch(&g, &rq12, &r);
		if (r.status != 200)
			fail_msg("TLS 1.2 with %s: %ld", served[i], (long)r.status);
		reply_release(&r);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct request rq12 = tls12;

		rq12.ciphers = refused[i];
		rq12.may_fail = true;
		fetch(&g, &rq12, &r);
		if (r.status != 0)
			fail_msg("TLS 1.2 with %s was served", refused[i]);
		reply_release(&r);
	}
	/* plain http to the TLS port gets no answer */
	g.base[4] = ':';
	memmove(g.base + 4, g.base + 5, strlen(g.base + 5) + 1);
	assert_int_equal(strncmp(g.base, "http://", 7), 0);
	fetch(&g, &plain, &r);
	assert_int_equal(r.status, 0);
	reply_release(&r);
	http_server_stop(g.s, 1);
	remove(cert);
	remove(key);
	remove(other);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_query),
	    cmocka_unit_test(test_request_ids_differ),
	    cmocka_unit_test(test_bad_query),
	    cmocka_unit_test(test_post_form),
	    cmocka_unit_test(test_post_bad_form),
	    cmocka_unit_test(test_post_other_type),
	    cmocka_unit_test(test_body_at_cap),
	    cmocka_unit_test(test_413_content_length),
	    cmocka_unit_test(test_413_chunked),
	    cmocka_unit_test(test_handler_failure),
	    cmocka_unit_test(test_headers_and_cookies),
	    cmocka_unit_test(test_head_and_redirect),
	    cmocka_unit_test(test_big_header),
	    cmocka_unit_test(test_metrics_counted),
	    cmocka_unit_test(test_start_errors),
	    cmocka_unit_test(test_graceful_stop),
	    cmocka_unit_test(test_stop_grace_expires),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_no_store),
	    cmocka_unit_test(test_hsts),
	    cmocka_unit_test(test_trusted_proxy),
	    cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_hsts_behind_proxy),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
