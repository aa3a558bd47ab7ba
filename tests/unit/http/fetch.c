/* Tests src/http/fetch.c against a local http_server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/error.h"
#include "http/fetch.h"
#include "http/server.h"

/* Requests the server saw (from its threads). */
static _Atomic int hits;

static int handler(void *ctx, struct http_request *req, struct http_response *res)
{
	(void)ctx;
	hits++;
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

/* fetch_addr_public() of an address in text (IPv4 or IPv6). */
static bool addr_public(const char *text)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};

	if (inet_pton(AF_INET, text, &v4.sin_addr) == 1)
		return fetch_addr_public((const struct sockaddr *)&v4, sizeof(v4));
	if (inet_pton(AF_INET6, text, &v6.sin6_addr) == 1)
		return fetch_addr_public((const struct sockaddr *)&v6, sizeof(v6));
	fail_msg("%s is not an address", text);
	return false;
}

static void test_addr_public(void **state)
{
	static const char *const public[] = {
	    "8.8.8.8",
	    "1.1.1.1",
	    "93.184.216.34",
	    "9.255.255.255",
	    "11.0.0.0",
	    "100.63.255.255",
	    "100.128.0.0",
	    "126.255.255.255",
	    "128.0.0.0",
	    "169.253.255.255",
	    "169.255.0.0",
	    "172.15.255.255",
	    "172.32.0.0",
	    "192.0.1.1",
	    "192.167.255.255",
	    "192.169.0.0",
	    "198.17.255.255",
	    "198.20.0.0",
	    "223.255.255.254",
	    /* IPv6 global unicast, and IPv6 forms of a public IPv4 address */
	    "2606:4700::1111",
	    "2a00:1450:4009:81f::200e",
	    "2001:4860:4860::8888",
	    "::ffff:8.8.8.8",
	    "64:ff9b::808:808",
	    "2002:808:808::1",
	};
	static const char *const refused[] = {
	    /* unspecified, "this network" */
	    "0.0.0.0",
	    "0.1.2.3",
	    "::",
	    /* loopback */
	    "127.0.0.1",
	    "127.255.255.254",
	    "127.1.2.3",
	    "::1",
	    /* private, shared (CGNAT), link-local (cloud metadata) */
	    "10.0.0.1",
	    "10.255.255.255",
	    "172.16.0.1",
	    "172.31.255.255",
	    "192.168.0.1",
	    "192.168.255.255",
	    "100.64.0.1",
	    "100.127.255.254",
	    "169.254.169.254",
	    "169.254.0.1",
	    "fc00::1",
	    "fd12:3456:789a::1",
	    "fe80::1",
	    "febf:ffff::1",
	    "fec0::1",
	    /* multicast, broadcast, reserved, documentation, benchmarking */
	    "224.0.0.1",
	    "239.255.255.250",
	    "240.0.0.1",
	    "255.255.255.255",
	    "192.0.0.8",
	    "192.0.2.1",
	    "198.51.100.7",
	    "203.0.113.9",
	    "198.18.0.1",
	    "198.19.255.255",
	    "192.88.99.1",
	    "ff02::1",
	    "ff05::1:3",
	    "2001:db8::1",
	    "3fff::1",
	    "100::1",
	    /* IPv6 forms carrying a refused IPv4 address */
	    "::ffff:127.0.0.1",
	    "::ffff:7f00:1",
	    "::ffff:10.0.0.1",
	    "::ffff:169.254.169.254",
	    "::ffff:0.0.0.0",
	    "::ffff:192.168.1.1",
	    "::127.0.0.1",
	    "::10.0.0.1",
	    "64:ff9b::7f00:1",
	    "64:ff9b::a9fe:a9fe",
	    "64:ff9b:1::a00:1",
	    "2002:7f00:1::1",
	    "2002:c0a8:101::1",
	    "2002:a00:1::",
	    /* Teredo and the other IETF assignments */
	    "2001::1",
	    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
	    "2001:10::1",
	    "2001:1ff::1",
	};
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sockaddr_in v4 = {.sin_family = AF_INET};

	(void)state;
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		if (!addr_public(public[i]))
			fail_msg("%s: expected public", public[i]);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (addr_public(refused[i]))
			fail_msg("%s: expected refused", refused[i]);
	/* other families, short lengths */
	assert_false(fetch_addr_public((const struct sockaddr *)&un, sizeof(un)));
	assert_int_equal(inet_pton(AF_INET, "8.8.8.8", &v4.sin_addr), 1);
	assert_true(fetch_addr_public((const struct sockaddr *)&v4, sizeof(v4)));
	assert_false(fetch_addr_public((const struct sockaddr *)&v4, sizeof(v4) - 1));
	assert_false(fetch_addr_public(NULL, 0));
}

static void test_public_only_policy(void **state)
{
	static const char *const local[] = {
	    "http://127.0.0.1:8080",   "http://127.0.0.1:8080/", "http://127.9.8.7",
	    "http://localhost:0",      "HTTP://LOCALHOST:1/x",   "http://localhost.:8080",
	    "http://careid.localhost", "http://[::1]:8080/base",
	};
	static const char *const public[] = {
	    "https://careid.example",
	    "https://localhost:8443",
	    "https://127.0.0.1:8443",
	    "http://careid.example:8080",
	    "http://10.0.0.5:8080",
	    "http://0.0.0.0:8080",
	    "http://[::]:8080",
	    "http://127.0.0.1.nip.io",
	    "http://localhost.evil.example",
	    "http://localhost@evil.example",
	    "http://2130706433:8080",
	    "http://0x7f.1",
	    "http://127.1",
	    "ftp://127.0.0.1",
	    "",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (fetch_public_only(local[i]))
			fail_msg("%s: a deployment on loopback", local[i]);
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		if (!fetch_public_only(public[i]))
			fail_msg("%s: a deployment not on loopback", public[i]);
	assert_true(fetch_public_only(NULL));
}

/* With public_only, nothing on loopback is reached, however it is spelled;
 * the reason given names no address. */
static void test_public_only_refused(void **state)
{
	struct fixture *f = *state;
	struct fetch_opts pub = {.timeout_s = 5, .public_only = true};
	struct fetch_opts any = {.timeout_s = 5};
	unsigned port = http_server_port(f->s);
	const char *const hosts[] = {"127.0.0.1",  "localhost", "2130706433",         "0x7f.1",
	                             "0177.0.0.1", "127.1",     "[::ffff:127.0.0.1]", "[::1]",
	                             "0.0.0.0"};
	struct fetch_result r;
	char u[128];
	int before;

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		snprintf(u, sizeof(u), "http://%s:%u/jwks", hosts[i], port);
		before = hits;
		if (fetch_get_opts(&r, u, &pub) != CAREID_EIO)
			fail_msg("%s: not refused (status %ld)", u, r.status);
		assert_int_equal(r.status, 0);
		assert_int_equal(r.body.len, 0);
		assert_string_equal(careid_error_last()->message, "could not connect to the host");
		if (hits != before)
			fail_msg("%s: the server saw the request", u);
		assert_int_equal(fetch_post_form_opts(&r, u, "logout_token=x", &pub), CAREID_EIO);
		assert_int_equal(hits, before);
	}
	/* the same URLs without public_only reach the server (where the name
	 * resolves here): the guard is what stops them */
	snprintf(u, sizeof(u), "http://2130706433:%u/jwks", port);
	assert_int_equal(fetch_get_opts(&r, u, &any), 0);
	assert_int_equal(r.status, 200);
	buf_release(&r.body);
	snprintf(u, sizeof(u), "http://0x7f.1:%u/jwks", port);
	assert_int_equal(fetch_get_opts(&r, u, &any), 0);
	assert_int_equal(r.status, 200);
	buf_release(&r.body);
	assert_int_equal(fetch_post_form_opts(&r, url(f, "/echo"), "a=1", &any), 0);
	assert_int_equal(r.status, 200);
	buf_release(&r.body);
}

static void test_reasons(void **state)
{
	struct fixture *f = *state;
	struct fetch_result r;

	assert_int_equal(fetch_get(&r, "http://127.0.0.1:1/", 5), CAREID_EIO);
	assert_string_equal(careid_error_last()->message, "could not connect to the host");
	assert_int_equal(fetch_get(&r, "http://no-such-host.invalid/", 5), CAREID_EIO);
	assert_string_equal(careid_error_last()->message, "could not connect to the host");
	assert_int_equal(fetch_get(&r, url(f, "/slow"), 1), CAREID_EIO);
	assert_string_equal(careid_error_last()->message, "timed out: no answer within 1 second");
	assert_int_equal(fetch_get(&r, "gopher://127.0.0.1/", 5), CAREID_EIO);
	assert_string_equal(careid_error_last()->message,
	                    "not an http or https URL careid can call");
	assert_int_equal(fetch_get(&r, url(f, "/big"), 5), CAREID_ETOOBIG);
	assert_string_equal(careid_error_last()->message, "the answer was over 256 KiB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get),
	    cmocka_unit_test(test_no_redirects),
	    cmocka_unit_test(test_body_cap),
	    cmocka_unit_test(test_post_form),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_addr_public),
	    cmocka_unit_test(test_public_only_policy),
	    cmocka_unit_test(test_public_only_refused),
	    cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
