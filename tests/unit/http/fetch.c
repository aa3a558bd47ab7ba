/* Tests src/http/fetch.c against a local http_server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <unistd.h>

#include "core/error.h"
#include "http/fetch.h"
#include "http/server.h"

static int handler(void *ctx, struct http_request *req, struct http_response *res)
{
	(void)ctx;
	if (strcmp(req->path, "/jwks") == 0)
		return http_send(res, 200, "application/json", "{\"keys\":[]}", 11);
	if (strcmp(req->path, "/redirect") == 0)
		return http_redirect(res, 302, "/jwks");
	if (strcmp(req->path, "/slow") == 0) {
		usleep(1500 * 1000);
		return http_send(res, 200, "text/plain", "late", 4);
	}
	if (strcmp(req->path, "/big") == 0 || strcmp(req->path, "/cap") == 0) {
		size_t n = strcmp(req->path, "/big") == 0 ? FETCH_MAX_BODY + 1 : FETCH_MAX_BODY;
		char *b = malloc(n);
		int rc;

		memset(b, 'x', n);
		rc = http_send(res, 200, "text/plain", b, n);
		free(b);
		return rc;
	}
	if (strcmp(req->path, "/echo") == 0) {
		const char *ct = http_header(req, "Content-Type");
		json_t *j = json_pack("{s:s, s:s?, s:s?}", "method", req->method, "ct", ct, "a",
		                      form_get(&req->form, "a"));

		return http_send_json(res, 200, j);
	}
	return http_send(res, 404, "text/plain", "no", 2);
}

struct fixture {
	http_server *s;
	char base[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_server_opts o = {.addr = "127.0.0.1", .threads = 2, .handler = handler};

	if (!f || fetch_init() != 0 || http_server_start(&f->s, &o) != 0)
		return -1;
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", http_server_port(f->s));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_server_stop(f->s, 3);
	free(f);
	return 0;
}

static char *url(const struct fixture *f, const char *path)
{
	static char u[128];

	snprintf(u, sizeof(u), "%s%s", f->base, path);
	return u;
}

static void test_get(void **state)
{
	struct fixture *f = *state;
	struct fetch_result r;

	assert_int_equal(fetch_get(&r, url(f, "/jwks"), 5), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.ptr, "{\"keys\":[]}");
	buf_release(&r.body);
	assert_int_equal(fetch_get(&r, url(f, "/missing"), 5), 0);
	assert_int_equal(r.status, 404);
	buf_release(&r.body);
}

static void test_no_redirects(void **state)
{
	struct fixture *f = *state;
	struct fetch_result r;

	assert_int_equal(fetch_get(&r, url(f, "/redirect"), 5), 0);
	assert_int_equal(r.status, 302);
	assert_int_equal(r.body.len, 0);
	buf_release(&r.body);
}

static void test_body_cap(void **state)
{
	struct fixture *f = *state;
	struct fetch_result r;

	assert_int_equal(fetch_get(&r, url(f, "/cap"), 5), 0);
	assert_int_equal(r.body.len, FETCH_MAX_BODY);
	buf_release(&r.body);
	assert_int_equal(fetch_get(&r, url(f, "/big"), 5), CAREID_ETOOBIG);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.body.len, 0);
}

static void test_post_form(void **state)
{
	struct fixture *f = *state;
	struct fetch_result r;
	json_t *j;

	assert_int_equal(fetch_post_form(&r, url(f, "/echo"), "a=b%20c&d=1", 5), 0);
	assert_int_equal(r.status, 200);
	j = json_loads(r.body.ptr, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "method")), "POST");
	assert_string_equal(json_string_value(json_object_get(j, "ct")),
	                    "application/x-www-form-urlencoded");
	assert_string_equal(json_string_value(json_object_get(j, "a")), "b c");
	json_decref(j);
	buf_release(&r.body);
}

static void test_failures(void **state)
{
	struct fixture *f = *state;
	struct fetch_result r;

	assert_int_equal(fetch_get(&r, "file:///etc/passwd", 5), CAREID_EIO);
	assert_int_equal(fetch_get(&r, "gopher://127.0.0.1/", 5), CAREID_EIO);
	assert_int_equal(fetch_get(&r, "http://127.0.0.1:1/", 5), CAREID_EIO);
	assert_int_equal(fetch_get(&r, "not a url", 5), CAREID_EIO);
	assert_int_equal(fetch_get(&r, url(f, "/jwks"), 0), CAREID_EINVALID);
	assert_int_equal(fetch_get(&r, url(f, "/slow"), 1), CAREID_EIO);
	assert_int_equal(r.body.len, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get),      cmocka_unit_test(test_no_redirects),
	    cmocka_unit_test(test_body_cap), cmocka_unit_test(test_post_form),
	    cmocka_unit_test(test_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
