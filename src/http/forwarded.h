/*
 * The client's address behind reverse proxies: `X-Forwarded-For` (with
 * `X-Forwarded-Proto`) or `Forwarded` (RFC 7239), whichever the operator
 * says the proxies write, believed only when the TCP peer is one of the
 * configured trusted proxies. The other header is never read: a proxy that
 * writes one passes the other on from the client untouched.
 *
 * Pure functions over text, no allocation: the server feeds them the peer and
 * the header values, the fuzz target feeds them anything.
 */
#ifndef CAREID_HTTP_FORWARDED_H
#define CAREID_HTTP_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

/* Room for any textual address inet_ntop() writes, with its NUL. */
#define HTTP_ADDR_MAX 46
/* At most this many trusted proxy ranges (careid serve --trusted-proxy). */
#define HTTP_MAX_TRUSTED_PROXIES 64
/* Elements (hops) looked at in a Forwarded or X-Forwarded-For value. */
#define HTTP_FORWARDED_MAX_HOPS 64
/* Header values longer than this (all their lines) are not parsed at all. */
#define HTTP_FORWARDED_MAX_LEN 8192

/* An address range; IPv4 is kept as IPv4-mapped IPv6 (::ffff:a.b.c.d/96+n). */
struct http_cidr {
	unsigned char addr[16]; /* host bits cleared */
	unsigned bits;          /* prefix length, 0 to 128 */
};

/* "192.0.2.0/24", "192.0.2.7", "2001:db8::/32" or "::1": CAREID_EINVALID for
 * anything else (a prefix too long for its family, host names, spaces), and
 * for ranges that would trust (nearly) everyone: IPv4 wider than /8, IPv6
 * wider than /7 or holding every IPv4-mapped address (::/8 does). An
 * IPv4-mapped range is the IPv4 range it maps (::ffff:10.0.0.0/104 is
 * 10.0.0.0/8); one with a prefix under 96 is refused, as it is not. */
int http_cidr_parse(struct http_cidr *out, const char *s);

/* True when the numeric address `addr` (IPv4 or IPv6, no port or brackets)
 * lies in one of list[0..n). False for anything that is not an address. */
bool http_cidr_match(const struct http_cidr *list, size_t n, const char *addr);

enum http_proto {
	HTTP_PROTO_UNKNOWN = 0,
	HTTP_PROTO_HTTP,
	HTTP_PROTO_HTTPS,
};

/* The header the trusted proxies write (careid serve --proxy-header). */
enum http_proxy_header {
	HTTP_PROXY_HEADER_X_FORWARDED_FOR = 0, /* and X-Forwarded-Proto; the default */
	HTTP_PROXY_HEADER_FORWARDED,           /* RFC 7239, its proto= */
};

/* "x-forwarded-for" or "forwarded" (any case); CAREID_EINVALID otherwise. */
int http_proxy_header_parse(enum http_proxy_header *out, const char *s);

struct http_forwarded_in {
	const char *peer;              /* the TCP peer's numeric address; may be "" */
	enum http_proxy_header header; /* which of the headers below is read */
	const char *forwarded;         /* every Forwarded line, joined with '\n'; or NULL */
	const char *x_forwarded_for;   /* every X-Forwarded-For line, joined with '\n'; or NULL */
	const char *x_forwarded_proto; /* X-Forwarded-Proto lines, joined with '\n'; or NULL */
	const struct http_cidr *trusted;
	size_t ntrusted;
};

/*
 * Writes the client's address to `out` (normalised: lower-case IPv6, an
 * IPv4-mapped address as IPv4, no port) and the scheme the client used to
 * `proto` (HTTP_PROTO_UNKNOWN when no trusted proxy said).
 *
 * When the peer is not a trusted proxy the headers are ignored: `out` is the
 * peer. Otherwise the header `in->header` names (only that one: with
 * X-Forwarded-For the scheme is X-Forwarded-Proto's, with Forwarded its
 * proto=) is walked from the right: trusted proxies are skipped, and the first address that is
 * not one is the client's. The walk stops, and `out` is the peer, at an
 * element that is not an address ("unknown", an obfuscated "_id", a missing
 * for=, garbage), at a line that does not parse, or past
 * HTTP_FORWARDED_MAX_HOPS. When every hop is trusted, the leftmost is used.
 * Never fails; a peer longer than HTTP_ADDR_MAX - 1 gives "".
 */
void http_forwarded_client(const struct http_forwarded_in *in, char out[HTTP_ADDR_MAX],
                           enum http_proto *proto);

#endif
