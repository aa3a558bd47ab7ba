/* Tests src/http/http.c: response helpers, cookies, escaping, header lookup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/error.h"
#include "http/http.h"

struct fixture {
	arena *a;
	struct http_response res;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->a = arena_new();
	http_response_init(&f->res, f->a);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	http_response_release(&f->res);
	arena_free(f->a);
	free(f);
	return 0;
}

static const char *header(const struct http_response *res, const char *name)
{
	for (size_t i = 0; i < res->nheaders; i++)
		if (strcmp(res->headers[i].name, name) == 0)
			return res->headers[i].value;
	return NULL;
}

static void test_escape(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(http_escape_html(&b, "plain text"), 0);
	assert_string_equal(b.ptr, "plain text");
	buf_reset(&b);
	assert_int_equal(http_escape_html(&b, "<a href=\"x\" title='y'>&</a>"), 0);
	assert_string_equal(b.ptr,
	                    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;&#x2F;a&gt;");
	buf_reset(&b);
	assert_int_equal(http_escape_html(&b, ""), 0);
	assert_string_equal(b.ptr, "");
	assert_int_equal(http_escape_html(&b, "\xc3\xa9"), 0);
	assert_string_equal(b.ptr, "\xc3\xa9");
	buf_release(&b);

	buf_init(&b, 6);
	assert_int_equal(http_escape_html(&b, "<<"), CAREID_ETOOBIG);
	buf_release(&b);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->res.status, 200);
	assert_null(f->res.content_type);
	assert_int_equal(f->res.body.len, 0);
	assert_int_equal(f->res.nheaders, 0);
	assert_ptr_equal(f->res.arena, f->a);
}

static void test_send(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(http_send(&f->res, 404, "text/plain", "nope", 4), 0);
	assert_int_equal(f->res.status, 404);
	assert_string_equal(f->res.content_type, "text/plain");
	assert_string_equal(f->res.body.ptr, "nope");
	/* a second send replaces the body */
	assert_int_equal(http_send(&f->res, 200, "text/plain", "ok", 2), 0);
	assert_string_equal(f->res.body.ptr, "ok");
	assert_int_equal(http_send_json(&f->res, 201, json_pack("{s:s}", "a", "b")), 0);
	assert_int_equal(f->res.status, 201);
	assert_string_equal(f->res.content_type, "application/json");
	assert_string_equal(f->res.body.ptr, "{\"a\":\"b\"}");
	assert_int_equal(http_send_json(&f->res, 200, NULL), CAREID_ENOMEM);
}

static void test_oauth_error(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(http_send_oauth_error(&f->res, 400, "invalid_request", "bad \"x\""), 0);
	assert_int_equal(f->res.status, 400);
	assert_string_equal(
	    f->res.body.ptr,
	    "{\"error\":\"invalid_request\",\"error_description\":\"bad \\\"x\\\"\"}");
	assert_string_equal(header(&f->res, "Cache-Control"), "no-store");
	assert_int_equal(http_send_oauth_error(&f->res, 401, "invalid_client", NULL), 0);
	assert_string_equal(f->res.body.ptr, "{\"error\":\"invalid_client\"}");
}

static void test_headers(void **state)
{
	struct fixture *f = *state;
	char name[16];

	assert_int_equal(http_add_header(&f->res, "X-A", "1"), 0);
	assert_string_equal(header(&f->res, "X-A"), "1");
	assert_int_equal(http_add_header(&f->res, "X-B", "a\r\nSet-Cookie: x=1"), CAREID_EINVALID);
	assert_int_equal(http_add_header(&f->res, "X-B\n", "1"), CAREID_EINVALID);
	assert_int_equal(http_add_header(&f->res, "X B", "1"), CAREID_EINVALID);
	assert_int_equal(http_add_header(&f->res, "X:B", "1"), CAREID_EINVALID);
	assert_int_equal(http_add_header(&f->res, "", "1"), CAREID_EINVALID);
	assert_int_equal(f->res.nheaders, 1);
	for (int i = 1; i < HTTP_MAX_HEADERS; i++) {
		snprintf(name, sizeof(name), "X-%d", i);
		assert_int_equal(http_add_header(&f->res, name, "v"), 0);
	}
	assert_int_equal(http_add_header(&f->res, "X-Last", "v"), CAREID_ETOOBIG);
	assert_int_equal(f->res.nheaders, HTTP_MAX_HEADERS);
}

static void test_redirect(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(http_redirect(&f->res, 302, "https://rp.example/cb?code=x"), 0);
	assert_int_equal(f->res.status, 302);
	assert_string_equal(header(&f->res, "Location"), "https://rp.example/cb?code=x");
	assert_int_equal(f->res.body.len, 0);
	assert_int_equal(http_redirect(&f->res, 200, "/x"), CAREID_EINVALID);
	assert_int_equal(http_redirect(&f->res, 303, "/x\r\nX-Evil: 1"), CAREID_EINVALID);
}

static void test_set_cookie(void **state)
{
	struct fixture *f = *state;
	struct cookie_attrs at = {0};

	assert_int_equal(http_set_cookie(&f->res, "sid", "abc123", NULL), 0);
	assert_string_equal(f->res.headers[0].name, "Set-Cookie");
	assert_string_equal(f->res.headers[0].value, "sid=abc123; Path=/; HttpOnly; SameSite=Lax");

	at.secure = true;
	at.max_age = 3600;
	at.path = "/authorize";
	at.same_site = "Strict";
	assert_int_equal(http_set_cookie(&f->res, "s2", "v", &at), 0);
	assert_string_equal(
	    f->res.headers[1].value,
	    "s2=v; Path=/authorize; HttpOnly; SameSite=Strict; Secure; Max-Age=3600");

	at = (struct cookie_attrs){.max_age = -1, .secure = true};
	assert_int_equal(http_set_cookie(&f->res, "sid", "ignored", &at), 0);
	assert_string_equal(f->res.headers[2].value,
	                    "sid=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0; "
	                    "Expires=Thu, 01 Jan 1970 00:00:00 GMT");

	at = (struct cookie_attrs){.same_site = "None", .secure = true};
	assert_int_equal(http_set_cookie(&f->res, "x", "", &at), 0);
	assert_string_equal(f->res.headers[3].value, "x=; Path=/; HttpOnly; SameSite=None; Secure");
	assert_int_equal(f->res.nheaders, 4);
}

static void test_set_cookie_rejects(void **state)
{
	struct fixture *f = *state;
	struct cookie_attrs at = {0};

	assert_int_equal(http_set_cookie(&f->res, "", "v", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a b", "v", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a=b", "v", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a;", "v", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "\xc3\xa9", "v", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a", "v;Domain=evil", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a", "sp ace", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a", "q\"", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a", "c,d", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a", "b\\", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a", "\r\n", NULL), CAREID_EINVALID);
	assert_int_equal(http_set_cookie(&f->res, "a", NULL, NULL), CAREID_EINVALID);
	at.path = "relative";
	assert_int_equal(http_set_cookie(&f->res, "a", "v", &at), CAREID_EINVALID);
	at.path = "/x;Domain=evil";
	assert_int_equal(http_set_cookie(&f->res, "a", "v", &at), CAREID_EINVALID);
	at.path = NULL;
	at.same_site = "lax";
	assert_int_equal(http_set_cookie(&f->res, "a", "v", &at), CAREID_EINVALID);
	at.same_site = "None";
	assert_int_equal(http_set_cookie(&f->res, "a", "v", &at), CAREID_EINVALID);
	assert_int_equal(f->res.nheaders, 0);
}

static void test_request_headers(void **state)
{
	struct fixture *f = *state;
	const struct http_header hs[] = {
	    {"Content-Type", "text/plain"},
	    {"Cookie", "a=1; sid=\"xyz\"; a=2"},
	};
	struct http_request req = {.arena = f->a, .headers = hs, .nheaders = 2};
	struct http_request none = {.arena = f->a};

	assert_string_equal(http_header(&req, "content-type"), "text/plain");
	assert_null(http_header(&req, "Accept"));
	assert_string_equal(http_cookie(&req, "sid"), "xyz");
	assert_string_equal(http_cookie(&req, "a"), "1");
	assert_true(req.cookies_parsed);
	assert_null(http_cookie(&req, "b"));
	assert_null(http_header(&none, "Cookie"));
	assert_null(http_cookie(&none, "sid"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_escape),
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oauth_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_headers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_cookie, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_cookie_rejects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_request_headers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
