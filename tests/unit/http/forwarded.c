/* Tests src/http/forwarded.c: trusted proxy ranges (and those too wide to
 * trust), Forwarded (RFC 7239) and X-Forwarded-For/-Proto, the operator's
 * choice of one of them, spoofing attempts and garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "http/forwarded.h"

struct result {
	char addr[HTTP_ADDR_MAX];
	enum http_proto proto;
};

#define XFF HTTP_PROXY_HEADER_X_FORWARDED_FOR
#define FWD HTTP_PROXY_HEADER_FORWARDED

/* The client's address as the server would see it when the proxies write
 * `hdr`, with `trusted` a comma-separated list of ranges ("" for none). */
static struct result client(enum http_proxy_header hdr, const char *peer, const char *trusted,
                            const char *fwd, const char *xff, const char *xfp)
{
	struct http_cidr list[HTTP_MAX_TRUSTED_PROXIES];
	struct http_forwarded_in in = {.peer = peer,
	                               .header = hdr,
	                               .forwarded = fwd,
	                               .x_forwarded_for = xff,
	                               .x_forwarded_proto = xfp};
	struct result r;
	char buf[256];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", trusted);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		assert_int_equal(http_cidr_parse(&list[in.ntrusted], t), 0);
		in.ntrusted++;
	}
	in.trusted = list;
	memset(&r, 0x55, sizeof(r));
	http_forwarded_client(&in, r.addr, &r.proto);
	return r;
}

static const char *xff(const char *peer, const char *trusted, const char *value)
{
	static char out[HTTP_ADDR_MAX];

	snprintf(out, sizeof(out), "%s", client(XFF, peer, trusted, NULL, value, NULL).addr);
	return out;
}

static const char *fwd(const char *peer, const char *trusted, const char *value)
{
	static char out[HTTP_ADDR_MAX];

	snprintf(out, sizeof(out), "%s", client(FWD, peer, trusted, value, NULL, NULL).addr);
	return out;
}

static void test_cidr_parse(void **state)
{
	static const char *const good[] = {
	    "10.0.0.0/8",
	    "192.0.2.7",
	    "192.0.2.7/32",
	    "0.0.0.0/8",
	    "::1",
	    "fc00::/7",
	    "fd00::/8",
	    "2001:db8::/32",
	    "2001:DB8::1/128",
	    "::ffff:10.0.0.0/104",
	    "::ffff:192.0.2.7",
	    "10.1.2.3/08",
	    "::/96",
	};
	static const char *const bad[] = {
	    "",
	    "/8",
	    "10.0.0.0/",
	    "10.0.0.0/33",
	    "::/129",
	    "10.0.0.0/-1",
	    "10.0.0/8",
	    "localhost",
	    " 10.0.0.1",
	    "10.0.0.1 ",
	    "[::1]",
	    "10.0.0.0/+8",
	    "1.2.3.4/8x",
	    "10.0.0.0/1000",
	    "fe80::1%eth0",
	    "10.0.0.1:80",
	    "10.0.0.0/8/8",
	};
	struct http_cidr c;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (http_cidr_parse(&c, good[i]) != 0)
			fail_msg("rejected %s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_cidr_parse(&c, bad[i]) != CAREID_EINVALID)
			fail_msg("accepted '%s'", bad[i]);
	assert_int_equal(http_cidr_parse(&c, "10.0.0.0/8"), 0);
	assert_int_equal(c.bits, 104);
	assert_int_equal(http_cidr_parse(&c, "fd00::/8"), 0);
	assert_int_equal(c.bits, 8);
}

/* Ranges that would let (nearly) any client name any address are refused,
 * IPv4-mapped ones too: "::ffff:10.0.0.0/8" is ::/8, every IPv4 address. */
static void test_cidr_too_wide(void **state)
{
	static const char *const wide[] = {
	    "0.0.0.0/0",
	    "::/0",
	    "128.0.0.0/1",
	    "10.0.0.0/7",
	    "::/8",
	    "::/64",
	    "::/80",
	    "::ff00:0:0/88",
	    "2000::/3",
	    "::ffff:10.0.0.0/8",
	    "::ffff:0:0/96",
	    "::ffff:0.0.0.0/96",
	    "::ffff:10.0.0.0/103",
	    "::ffff:10.0.0.0/0",
	};
	struct http_cidr c;

	(void)state;
	for (size_t i = 0; i < sizeof(wide) / sizeof(wide[0]); i++) {
		if (http_cidr_parse(&c, wide[i]) != CAREID_EINVALID)
			fail_msg("accepted '%s'", wide[i]);
		assert_int_equal(c.bits, 0);
	}
	assert_int_equal(http_cidr_parse(&c, "::ffff:10.0.0.0/8"), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "write IPv4 ranges as IPv4"));
	assert_int_equal(http_cidr_parse(&c, "0.0.0.0/0"), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "every IPv4 address"));
	assert_int_equal(http_cidr_parse(&c, "::/8"), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "every IPv4 address"));
	/* written in IPv4-mapped form, a range is the IPv4 range it maps */
	assert_int_equal(http_cidr_parse(&c, "::ffff:10.0.0.0/104"), 0);
	assert_int_equal(c.bits, 104);
	assert_true(http_cidr_match(&c, 1, "10.1.2.3"));
	assert_true(http_cidr_match(&c, 1, "::ffff:10.1.2.3"));
	assert_false(http_cidr_match(&c, 1, "11.0.0.1"));
	assert_false(http_cidr_match(&c, 1, "::1"));
	assert_int_equal(http_cidr_parse(&c, "::ffff:192.0.2.7"), 0);
	assert_true(http_cidr_match(&c, 1, "192.0.2.7"));
	assert_false(http_cidr_match(&c, 1, "192.0.2.8"));
	/* the narrowest allowed: a /8, a /7 */
	assert_int_equal(http_cidr_parse(&c, "10.0.0.0/8"), 0);
	assert_int_equal(http_cidr_parse(&c, "fc00::/7"), 0);
	assert_false(http_cidr_match(&c, 1, "10.0.0.1"));
}

static bool in(const char *range, const char *addr)
{
	struct http_cidr c;

	assert_int_equal(http_cidr_parse(&c, range), 0);
	return http_cidr_match(&c, 1, addr);
}

static void test_cidr_match(void **state)
{
	struct http_cidr two[2];

	(void)state;
	assert_true(in("10.0.0.0/8", "10.255.1.2"));
	assert_false(in("10.0.0.0/8", "11.0.0.1"));
	assert_false(in("10.0.0.0/8", "9.255.255.255"));
	/* host bits in the range are ignored */
	assert_true(in("192.168.1.77/24", "192.168.1.200"));
	assert_true(in("192.168.1.0/25", "192.168.1.127"));
	assert_false(in("192.168.1.0/25", "192.168.1.128"));
	assert_true(in("192.0.2.7", "192.0.2.7"));
	assert_false(in("192.0.2.7", "192.0.2.8"));
	assert_true(in("203.0.0.0/8", "203.0.113.1"));
	assert_false(in("203.0.0.0/8", "2001:db8::1"));
	assert_true(in("2000::/7", "2001:db8::1"));
	assert_false(in("2000::/7", "203.0.113.1"));
	assert_true(in("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(in("2001:db8::/32", "2001:db9::1"));
	assert_true(in("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(in("2001:db8::/33", "2001:db8:8000::1"));
	assert_true(in("::1", "::1"));
	assert_false(in("::1", "127.0.0.1"));
	/* an IPv4-mapped peer is its IPv4 address */
	assert_true(in("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(in("10.0.0.0/8", "not an address"));
	assert_false(in("10.0.0.0/8", ""));
	assert_false(in("10.0.0.0/8", "10.0.0.1:80"));
	assert_false(http_cidr_match(NULL, 0, "10.0.0.1"));
	assert_int_equal(http_cidr_parse(&two[0], "10.0.0.0/8"), 0);
	assert_int_equal(http_cidr_parse(&two[1], "::1"), 0);
	assert_true(http_cidr_match(two, 2, "::1"));
	assert_true(http_cidr_match(two, 2, "10.9.9.9"));
	assert_false(http_cidr_match(two, 2, "127.0.0.1"));
}

static void test_untrusted_peer(void **state)
{
	struct result r;

	(void)state;
	/* no trusted proxies at all: every header is ignored */
	r = client(XFF, "203.0.113.9", "", "for=198.51.100.1;proto=https", "198.51.100.2", "https");
	assert_string_equal(r.addr, "203.0.113.9");
	assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	/* a peer outside the trusted ranges: the same */
	for (int h = XFF; h <= FWD; h++) {
		r = client((enum http_proxy_header)h, "203.0.113.9", "127.0.0.1/32,10.0.0.0/8",
		           "for=198.51.100.1;proto=https", "198.51.100.2", "https");
		assert_string_equal(r.addr, "203.0.113.9");
		assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	}
	assert_string_equal(xff("::1", "127.0.0.1", "198.51.100.2"), "::1");
	assert_string_equal(xff("", "10.0.0.0/8", "198.51.100.2"), "");
	assert_string_equal(xff("junk", "10.0.0.0/8", "198.51.100.2"), "junk");
	/* a peer longer than any address is not passed on */
	assert_string_equal(xff("0123456789012345678901234567890123456789012345678901234567890",
	                        "10.0.0.0/8", "198.51.100.2"),
	                    "");
}

static void test_xff(void **state)
{
	const char *lo = "127.0.0.1/32";

	(void)state;
	assert_string_equal(xff("127.0.0.1", lo, "203.0.113.7"), "203.0.113.7");
	assert_string_equal(xff("127.0.0.1", lo, "  203.0.113.7  "), "203.0.113.7");
	/* no header: the peer */
	assert_string_equal(xff("127.0.0.1", lo, NULL), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", lo, ""), "127.0.0.1");
	/* ports, brackets, IPv6, quotes, IPv4-mapped */
	assert_string_equal(xff("127.0.0.1", lo, "203.0.113.7:5555"), "203.0.113.7");
	assert_string_equal(xff("127.0.0.1", lo, "[2001:DB8::1]:443"), "2001:db8::1");
	assert_string_equal(xff("127.0.0.1", lo, "[2001:db8::1]"), "2001:db8::1");
	assert_string_equal(xff("127.0.0.1", lo, "2001:db8:0:0::1"), "2001:db8::1");
	assert_string_equal(xff("127.0.0.1", lo, "\"203.0.113.7\""), "203.0.113.7");
	assert_string_equal(xff("127.0.0.1", lo, "::ffff:203.0.113.7"), "203.0.113.7");
	/* an IPv6 peer */
	assert_string_equal(xff("::1", "::1", "203.0.113.7"), "203.0.113.7");
	/* multiple header lines are one list, the last line the nearest proxy's */
	assert_string_equal(xff("127.0.0.1", lo, "198.51.100.1\n203.0.113.7"), "203.0.113.7");
	assert_string_equal(xff("127.0.0.1", lo, "198.51.100.1,\n,203.0.113.7,"), "203.0.113.7");
}

static void test_xff_spoofing(void **state)
{
	const char *proxies = "127.0.0.1/32,10.0.0.0/8";

	(void)state;
	/* what the client sent is on the left: the proxy's entry wins */
	assert_string_equal(xff("127.0.0.1", proxies, "1.2.3.4, 203.0.113.7"), "203.0.113.7");
	assert_string_equal(xff("127.0.0.1", proxies, "10.0.0.99, 203.0.113.7"), "203.0.113.7");
	assert_string_equal(xff("127.0.0.1", proxies, "127.0.0.1, 203.0.113.7"), "203.0.113.7");
	/* trusted intermediates are skipped */
	assert_string_equal(xff("127.0.0.1", proxies, "1.2.3.4, 203.0.113.7, 10.0.0.5, 10.0.0.6"),
	                    "203.0.113.7");
	/* every hop trusted: the leftmost */
	assert_string_equal(xff("127.0.0.1", proxies, "10.0.0.9, 10.0.0.5"), "10.0.0.9");
	/* what cannot be an address stops the walk: the peer */
	assert_string_equal(xff("127.0.0.1", proxies, "unknown"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "203.0.113.7, unknown"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "203.0.113.7, 10.0.0.5, garbage"),
	                    "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "_hidden"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "fe80::1%eth0"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "203.0.113.7:"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "203.0.113.7 203.0.113.8"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "999.1.1.1"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "[203.0.113.7"), "127.0.0.1");
	assert_string_equal(xff("127.0.0.1", proxies, "\xff\xfe"), "127.0.0.1");
	/* garbage to the left of the client's entry is never reached */
	assert_string_equal(xff("127.0.0.1", proxies, "unknown, \x01\x02, 203.0.113.7"),
	                    "203.0.113.7");
	assert_string_equal(xff("127.0.0.1", proxies, ",,,"), "127.0.0.1");
}

static void test_forwarded_rfc7239(void **state)
{
	const char *lo = "127.0.0.1";
	struct result r;

	(void)state;
	/* RFC 7239 §4 examples */
	assert_string_equal(fwd(lo, lo, "for=\"_gazonk\""), "127.0.0.1");
	assert_string_equal(fwd(lo, lo, "For=\"[2001:db8:cafe::17]:4711\""), "2001:db8:cafe::17");
	r = client(FWD, lo, lo, "for=192.0.2.60;proto=http;by=203.0.113.43", NULL, NULL);
	assert_string_equal(r.addr, "192.0.2.60");
	assert_int_equal(r.proto, HTTP_PROTO_HTTP);
	assert_string_equal(fwd(lo, lo, "for=192.0.2.43, for=198.51.100.17"), "198.51.100.17");
	assert_string_equal(fwd(lo, "127.0.0.1,198.51.100.17", "for=192.0.2.43, for=198.51.100.17"),
	                    "192.0.2.43");
	/* §7.1 */
	assert_string_equal(fwd(lo, lo, "for=192.0.2.43,for=\"[2001:db8:cafe::17]\",for=unknown"),
	                    "127.0.0.1");
	assert_string_equal(fwd(lo, lo, "for=192.0.2.43,for=\"[2001:db8:cafe::17]\""),
	                    "2001:db8:cafe::17");
	/* §5.3 example with host */
	r = client(FWD, lo, lo,
	           "for=192.0.2.43, for=198.51.100.17;by=203.0.113.60;proto=https;host=a.b", NULL,
	           NULL);
	assert_string_equal(r.addr, "198.51.100.17");
	assert_int_equal(r.proto, HTTP_PROTO_HTTPS);
	/* pairs in any order and case, quoted IPv4 with a port */
	assert_string_equal(fwd(lo, lo, "PROTO=https; FOR=\"192.0.2.60:8080\"; by=x"),
	                    "192.0.2.60");
	assert_string_equal(fwd(lo, lo, "for=\"192.0.2.60\""), "192.0.2.60");
	assert_string_equal(fwd(lo, lo, "for=\"[2001:db8::1]:_port\""), "2001:db8::1");
	/* quoted-pair */
	assert_string_equal(fwd(lo, lo, "for=\"192.0.2.\\60\""), "192.0.2.60");
	/* a proxy that forgets to quote */
	assert_string_equal(fwd(lo, lo, "for=[2001:db8::1]:80"), "2001:db8::1");
}

static void test_forwarded_garbage(void **state)
{
	static const char *const peer_wins[] = {
	    "for",
	    "=",
	    "for=",
	    "for=\"\"",
	    "for=\"192.0.2.1",
	    "for=192.0.2.1 x=y",
	    "for=192.0.2.1;by",
	    "proto=https",
	    "by=192.0.2.1",
	    "for=192.0.2.1;for=192.0.2.2",
	    "for=unknown",
	    "for=\"unknown\"",
	    "for=_secret",
	    "for=\"[2001:db8::1\"",
	    "for=\"[2001:db8::1]x\"",
	    "for=\"192.0.2.1\x01\"",
	    "for=\xc3\xa9",
	    "f\xc3\xa9=1.2.3.4",
	    "for=192.0.2.1\\",
	    "for=\"192.0.2.1\\",
	    "for=\"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000]\"",
	    ",,,",
	    ";;;",
	    "",
	    "for=192.0.2.1, for=198.51.100.1 garbage",
	};
	const char *lo = "127.0.0.1";

	(void)state;
	for (size_t i = 0; i < sizeof(peer_wins) / sizeof(peer_wins[0]); i++) {
		struct result r = client(FWD, lo, lo, peer_wins[i], "198.51.100.99", "https");

		if (strcmp(r.addr, lo) != 0)
			fail_msg("Forwarded: %s gave %s", peer_wins[i], r.addr);
		assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	}
	/* empty elements and pairs are allowed */
	assert_string_equal(fwd(lo, lo, ",for=192.0.2.1;;,"), "192.0.2.1");
	/* a client's broken line cannot hide the proxy's own line */
	assert_string_equal(fwd(lo, lo, "for=\"broken, for=1.2.3.4\nfor=192.0.2.9"), "192.0.2.9");
	/* but the walk stops at a broken line it has to cross */
	assert_string_equal(fwd(lo, "127.0.0.1,192.0.2.9", "for=\"broken\nfor=192.0.2.9"),
	                    "127.0.0.1");
}

/* With either choice the other header, which the proxy passes on from the
 * client, never changes the address or the scheme. */
static void test_header_choice(void **state)
{
	const char *lo = "127.0.0.1";
	enum http_proxy_header h;
	struct result r;
	char spoof[64];

	(void)state;
	/* X-Forwarded-For (the default): a client's Forwarded is ignored */
	r = client(XFF, lo, lo, "for=6.6.6.6;proto=https", "203.0.113.7", "http");
	assert_string_equal(r.addr, "203.0.113.7");
	assert_int_equal(r.proto, HTTP_PROTO_HTTP);
	r = client(XFF, lo, lo, "for=6.6.6.6;proto=https", NULL, NULL);
	assert_string_equal(r.addr, lo);
	assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	for (int i = 0; i < 50; i++) {
		snprintf(spoof, sizeof(spoof), "for=\"[2001:db8::%x]\";proto=http", i);
		r = client(XFF, lo, lo, spoof, "6.6.6.6, 203.0.113.7", "https, https");
		assert_string_equal(r.addr, "203.0.113.7");
		assert_int_equal(r.proto, HTTP_PROTO_HTTPS);
	}
	/* Forwarded: a client's X-Forwarded-For and X-Forwarded-Proto are */
	r = client(FWD, lo, lo, "for=192.0.2.1;proto=http", "6.6.6.6", "https");
	assert_string_equal(r.addr, "192.0.2.1");
	assert_int_equal(r.proto, HTTP_PROTO_HTTP);
	r = client(FWD, lo, lo, NULL, "6.6.6.6", "https");
	assert_string_equal(r.addr, lo);
	assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	for (int i = 0; i < 50; i++) {
		snprintf(spoof, sizeof(spoof), "198.51.100.%d", i);
		r = client(FWD, lo, lo, "for=6.6.6.6, for=192.0.2.1;proto=https", spoof, "http");
		assert_string_equal(r.addr, "192.0.2.1");
		assert_int_equal(r.proto, HTTP_PROTO_HTTPS);
	}
	/* the names careid serve --proxy-header takes */
	assert_int_equal(http_proxy_header_parse(&h, "x-forwarded-for"), 0);
	assert_int_equal(h, XFF);
	assert_int_equal(http_proxy_header_parse(&h, "Forwarded"), 0);
	assert_int_equal(h, FWD);
	assert_int_equal(http_proxy_header_parse(&h, "X-Forwarded-For"), 0);
	assert_int_equal(h, XFF);
	assert_int_equal(http_proxy_header_parse(&h, "xff"), CAREID_EINVALID);
	assert_int_equal(http_proxy_header_parse(&h, ""), CAREID_EINVALID);
	assert_int_equal(http_proxy_header_parse(&h, "forwarded "), CAREID_EINVALID);
	assert_int_equal(http_proxy_header_parse(&h, "x-forwarded-proto"), CAREID_EINVALID);
	assert_int_equal(http_proxy_header_parse(&h, NULL), CAREID_EINVALID);
}

static void test_bounds(void **state)
{
	char big[HTTP_FORWARDED_MAX_LEN + 64];
	size_t n = 0;
	const char *lo = "127.0.0.1";

	(void)state;
	/* over-long: not parsed at all, even if the end is fine */
	memset(big, ' ', sizeof(big));
	memcpy(big + sizeof(big) - 16, "203.0.113.7", sizeof("203.0.113.7"));
	assert_string_equal(xff(lo, lo, big), lo);
	/* exactly at the cap: parsed */
	memset(big, ' ', sizeof(big));
	memcpy(big + HTTP_FORWARDED_MAX_LEN - 11, "203.0.113.7", sizeof("203.0.113.7"));
	assert_int_equal(strlen(big), HTTP_FORWARDED_MAX_LEN);
	assert_string_equal(xff(lo, lo, big), "203.0.113.7");
	/* more hops than are walked: when all are trusted, the peer */
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s10.0.0.%d", i ? "," : "", i);
	assert_string_equal(xff(lo, "127.0.0.1,10.0.0.0/8", big), lo);
	/* …but a client among the last hops is found */
	memcpy(big + n, ",203.0.113.7,10.0.0.1", sizeof(",203.0.113.7,10.0.0.1"));
	assert_string_equal(xff(lo, "127.0.0.1,10.0.0.0/8", big), "203.0.113.7");
	/* the same for Forwarded */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sfor=10.0.0.%d", i ? "," : "", i);
	assert_string_equal(fwd(lo, "127.0.0.1,10.0.0.0/8", big), lo);
	memcpy(big + n, ",for=203.0.113.7", sizeof(",for=203.0.113.7"));
	assert_string_equal(fwd(lo, "127.0.0.1,10.0.0.0/8", big), "203.0.113.7");
	/* a long value is not an address */
	memset(big, '1', 200);
	memcpy(big, "for=\"", 5);
	memcpy(big + 200, "\"", 2);
	assert_string_equal(fwd(lo, lo, big), lo);
}

static void test_proto(void **state)
{
	const char *lo = "127.0.0.1";
	struct result r;

	(void)state;
	r = client(XFF, lo, lo, NULL, "203.0.113.7", "https");
	assert_string_equal(r.addr, "203.0.113.7");
	assert_int_equal(r.proto, HTTP_PROTO_HTTPS);
	r = client(XFF, lo, lo, NULL, "203.0.113.7", "HTTP");
	assert_int_equal(r.proto, HTTP_PROTO_HTTP);
	r = client(XFF, lo, lo, NULL, "203.0.113.7", "gopher");
	assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	/* the value that goes with the hop used, counting from the right */
	r = client(XFF, lo, "127.0.0.1,10.0.0.0/8", NULL, "203.0.113.7, 10.0.0.2", "https, http");
	assert_string_equal(r.addr, "203.0.113.7");
	assert_int_equal(r.proto, HTTP_PROTO_HTTPS);
	r = client(XFF, lo, lo, NULL, "1.2.3.4, 203.0.113.7", "http, https");
	assert_int_equal(r.proto, HTTP_PROTO_HTTPS);
	r = client(XFF, lo, "127.0.0.1,10.0.0.0/8", NULL, "203.0.113.7, 10.0.0.2", "https");
	assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	/* no forwarded address: no scheme either */
	r = client(XFF, lo, lo, NULL, NULL, "https");
	assert_string_equal(r.addr, lo);
	assert_int_equal(r.proto, HTTP_PROTO_UNKNOWN);
	r = client(FWD, lo, lo, "for=192.0.2.1;proto=\"HTTPS\"", NULL, "http");
	assert_int_equal(r.proto, HTTP_PROTO_HTTPS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cidr_parse),
	    cmocka_unit_test(test_cidr_too_wide),
	    cmocka_unit_test(test_cidr_match),
	    cmocka_unit_test(test_untrusted_peer),
	    cmocka_unit_test(test_xff),
	    cmocka_unit_test(test_xff_spoofing),
	    cmocka_unit_test(test_forwarded_rfc7239),
	    cmocka_unit_test(test_forwarded_garbage),
	    cmocka_unit_test(test_header_choice),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
