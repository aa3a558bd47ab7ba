#include "http/forwarded.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"

/* Longest for=/proto= value looked at: "[v6]:port" fits, anything longer is
 * not an address. */
#define VALUE_MAX 64

struct hop {
	bool ok; /* the element named an address */
	unsigned char addr[16];
	enum http_proto proto;
};

/* The last HTTP_FORWARDED_MAX_HOPS hops of a header, oldest overwritten. */
struct hops {
	struct hop h[HTTP_FORWARDED_MAX_HOPS];
	size_t n; /* hops seen in all */
};

static void push(struct hops *r, const struct hop *h)
{
	r->h[r->n % HTTP_FORWARDED_MAX_HOPS] = *h;
	r->n++;
}

/* The k-th hop counting from the right (0: the one the nearest proxy added). */
static const struct hop *from_right(const struct hops *r, size_t k)
{
	return &r->h[(r->n - 1 - k) % HTTP_FORWARDED_MAX_HOPS];
}

/* Numeric IPv4 or IPv6 (no zone) → 16 bytes, IPv4 mapped. */
static bool addr_parse(const char *s, unsigned char out[16], bool *v4)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &a4, 4);
		if (v4)
			*v4 = true;
		return true;
	}
	if (v4)
		*v4 = false;
	return inet_pton(AF_INET6, s, out) == 1;
}

static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void addr_format(const unsigned char a[16], char out[HTTP_ADDR_MAX])
{
	if (memcmp(a, mapped_prefix, sizeof(mapped_prefix)) == 0)
		inet_ntop(AF_INET, a + 12, out, HTTP_ADDR_MAX);
	else
		inet_ntop(AF_INET6, a, out, HTTP_ADDR_MAX);
}

static bool in_list(const struct http_cidr *list, size_t n, const unsigned char a[16])
{
	for (size_t i = 0; i < n; i++) {
		unsigned full = list[i].bits / 8, rest = list[i].bits % 8;

		if (memcmp(a, list[i].addr, full) != 0)
			continue;
		if (rest && (a[full] & (unsigned char)(0xff00 >> rest)) != list[i].addr[full])
			continue;
		return true;
	}
	return false;
}

/*
 * A range that would make every client (or nearly) a trusted proxy, which
 * then names any address it likes: refused. IPv4 is kept as IPv4-mapped
 * IPv6, so an IPv6 range holding ::ffff:0:0/96 (::/8, or what
 * "::ffff:10.0.0.0/8" means: the prefix counts all 128 bits) trusts every
 * IPv4 client too. `ipv4`: the range was written as IPv4 or IPv4-mapped.
 */
static int too_wide(const struct http_cidr *c, const char *s, bool ipv4)
{
	static const unsigned char any_v4[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (ipv4 && c->bits < 96)
		return careid_error_set(
		    CAREID_EINVALID,
		    "'%s' is an IPv4-mapped address with a prefix under 96 "
		    "bits, which holds every IPv4 address: write IPv4 ranges as "
		    "IPv4 (10.0.0.0/8)",
		    s);
	if (ipv4 && c->bits < 96 + 8)
		return careid_error_set(CAREID_EINVALID,
		                        "'%s' trusts (nearly) every IPv4 address as a proxy: name "
		                        "the proxies' addresses or their subnet",
		                        s);
	if (ipv4)
		return 0;
	if (c->bits < 7)
		return careid_error_set(CAREID_EINVALID,
		                        "'%s' trusts (nearly) every address as a proxy: name the "
		                        "proxies' addresses or their subnet",
		                        s);
	if (c->bits < 96 && in_list(c, 1, any_v4))
		return careid_error_set(
		    CAREID_EINVALID,
		    "'%s' holds every IPv4 address (as IPv4-mapped "
		    "::ffff:0:0/96): name the proxies' addresses or their subnet",
		    s);
	return 0;
}

int http_cidr_parse(struct http_cidr *out, const char *s)
{
	char host[HTTP_ADDR_MAX];
	const char *slash = strchr(s, '/');
	size_t hn = slash ? (size_t)(slash - s) : strlen(s);
	unsigned bits, max;
	bool v4, ipv4;

	memset(out, 0, sizeof(*out));
	if (hn == 0 || hn >= sizeof(host))
		goto bad;
	memcpy(host, s, hn);
	host[hn] = '\0';
	if (!addr_parse(host, out->addr, &v4))
		goto bad;
	/* IPv4, or an IPv4-mapped IPv6 address: an IPv4 range */
	ipv4 = memcmp(out->addr, mapped_prefix, sizeof(mapped_prefix)) == 0;
	max = v4 ? 32 : 128;
	bits = max;
	if (slash) {
		const char *p = slash + 1;

		if (!*p || strlen(p) > 3)
			goto bad;
		bits = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			bits = bits * 10 + (unsigned)(*p - '0');
		}
		if (bits > max)
			goto bad;
	}
	out->bits = v4 ? bits + 96 : bits;
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = out->bits > i * 8 ? out->bits - i * 8 : 0;

		if (keep < 8)
			out->addr[i] &= (unsigned char)(0xff00 >> keep);
	}
	if (too_wide(out, s, ipv4) == 0)
		return 0;
	memset(out, 0, sizeof(*out));
	return CAREID_EINVALID;
bad:
	return careid_error_set(CAREID_EINVALID,
	                        "'%s' is not an IPv4 or IPv6 address or CIDR range (e.g. "
	                        "10.0.0.0/8, 2001:db8::/32)",
	                        s);
}

bool http_cidr_match(const struct http_cidr *list, size_t n, const char *addr)
{
	unsigned char a[16];

	return addr && addr_parse(addr, a, NULL) && in_list(list, n, a);
}

/* ":" and a port, or an obfuscated port ("_" and letters, digits, . _ -). */
static bool port_ok(const char *s, size_t n)
{
	if (n < 2 || s[0] != ':')
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/*
 * A node (RFC 7239 §6): "192.0.2.43", "192.0.2.43:47011", "[2001:db8::1]",
 * "[2001:db8::1]:4711", and, as X-Forwarded-For often has them, a bare IPv6
 * address. "unknown" and obfuscated "_names" are not addresses.
 */
static bool node_parse(const char *s, size_t n, unsigned char out[16])
{
	char host[HTTP_ADDR_MAX];
	const char *h = s;
	size_t hn = n;

	if (n == 0)
		return false;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);
		size_t rest;

		if (!close)
			return false;
		h = s + 1;
		hn = (size_t)(close - h);
		rest = n - (size_t)(close + 1 - s);
		if (rest && !port_ok(close + 1, rest))
			return false;
	} else {
		const char *colon = memchr(s, ':', n);

		if (colon && !memchr(colon + 1, ':', n - (size_t)(colon + 1 - s))) {
			hn = (size_t)(colon - s);
			if (!port_ok(colon, n - hn))
				return false;
		}
	}
	if (hn == 0 || hn >= sizeof(host) || memchr(h, '\0', hn))
		return false;
	memcpy(host, h, hn);
	host[hn] = '\0';
	return addr_parse(host, out, NULL);
}

static enum http_proto proto_parse(const char *s, size_t n)
{
	if (n == 5 && strncasecmp(s, "https", 5) == 0)
		return HTTP_PROTO_HTTPS;
	if (n == 4 && strncasecmp(s, "http", 4) == 0)
		return HTTP_PROTO_HTTP;
	return HTTP_PROTO_UNKNOWN;
}

static const char *skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* RFC 7230 tchar */
static bool tchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* An unquoted value: a token, but also "[", "]" and ":" (proxies that forget
 * to quote IPv6 or a port); the address parse decides what it means. */
static bool vchar(char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != ',' && c != ';';
}

/*
 * One Forwarded line s[0..end): its elements are pushed onto `out`. False
 * (nothing pushed) when the line is not `1#forwarded-element`.
 */
static bool forwarded_line(const char *p, const char *end, struct hops *out)
{
	struct hops line = {0};
	struct hop cur = {0};
	bool any = false, seen_for = false;

	for (;;) {
		const char *name;
		char value[VALUE_MAX];
		size_t namelen, vlen = 0;
		bool overflow = false;

		p = skip_ows(p, end);
		if (p == end || *p == ',') {
			/* empty list elements (",,") are allowed and skipped */
			if (any)
				push(&line, &cur);
			if (p == end)
				break;
			p++;
			memset(&cur, 0, sizeof(cur));
			any = seen_for = false;
			continue;
		}
		if (*p == ';') {
			p++;
			continue;
		}
		name = p;
		while (p < end && tchar(*p))
			p++;
		namelen = (size_t)(p - name);
		if (namelen == 0 || p == end || *p != '=')
			return false;
		p++;
		if (p < end && *p == '"') {
			for (p++; p < end && *p != '"'; p++) {
				if (*p == '\\' && ++p == end)
					return false;
				if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
					return false;
				if (vlen < sizeof(value))
					value[vlen++] = *p;
				else
					overflow = true;
			}
			if (p == end)
				return false;
			p++;
		} else {
			const char *v = p;

			while (p < end && vchar(*p)) {
				if (vlen < sizeof(value))
					value[vlen++] = *p;
				else
					overflow = true;
				p++;
			}
			if (p == v)
				return false;
		}
		p = skip_ows(p, end);
		if (p != end && *p != ',' && *p != ';')
			return false;
		any = true;
		if (namelen == 3 && strncasecmp(name, "for", 3) == 0) {
			/* a second for= in one element: which one is true? neither */
			cur.ok = !seen_for && !overflow && node_parse(value, vlen, cur.addr);
			seen_for = true;
		} else if (namelen == 5 && strncasecmp(name, "proto", 5) == 0) {
			cur.proto = overflow ? HTTP_PROTO_UNKNOWN : proto_parse(value, vlen);
		}
	}
	if (line.n > HTTP_FORWARDED_MAX_HOPS) {
		/* the hops dropped still count: the walk must know it ran out */
		out->n += line.n - HTTP_FORWARDED_MAX_HOPS;
		for (size_t k = line.n - HTTP_FORWARDED_MAX_HOPS; k < line.n; k++)
			push(out, &line.h[k % HTTP_FORWARDED_MAX_HOPS]);
	} else {
		for (size_t k = 0; k < line.n; k++)
			push(out, &line.h[k]);
	}
	return true;
}

/* Every line of a Forwarded value; a line that does not parse counts as one
 * hop that is not an address (the walk stops there). */
static void forwarded_parse(const char *s, struct hops *out)
{
	static const struct hop garbage = {0};
	const char *end = s + strlen(s);

	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;

		if (!forwarded_line(s, le, out))
			push(out, &garbage);
		s = nl ? nl + 1 : end;
	}
}

/* X-Forwarded-For: addresses separated by commas (lines count as commas). */
static void xff_parse(const char *s, struct hops *out)
{
	const char *end = s + strlen(s);

	while (s <= end) {
		const char *e = s;
		struct hop h = {0};

		while (e < end && *e != ',' && *e != '\n')
			e++;
		{
			const char *a = skip_ows(s, e), *b = e;

			while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
				b--;
			if (b - a >= 2 && *a == '"' && b[-1] == '"') {
				a++;
				b--;
			}
			if (a < b) {
				h.ok = node_parse(a, (size_t)(b - a), h.addr);
				push(out, &h);
			}
		}
		s = e + 1;
	}
}

/* The k-th X-Forwarded-Proto value from the right (each proxy appends its
 * own, as with X-Forwarded-For). */
static enum http_proto xfp_at(const char *s, size_t k)
{
	const char *end = s + strlen(s), *e = end;

	for (;;) {
		const char *b = e, *a, *z;

		while (b > s && b[-1] != ',' && b[-1] != '\n')
			b--;
		a = skip_ows(b, e);
		z = e;
		while (z > a && (z[-1] == ' ' || z[-1] == '\t'))
			z--;
		if (k == 0)
			return proto_parse(a, (size_t)(z - a));
		if (b == s)
			return HTTP_PROTO_UNKNOWN;
		k--;
		e = b - 1;
	}
}

int http_proxy_header_parse(enum http_proxy_header *out, const char *s)
{
	if (s && strcasecmp(s, "x-forwarded-for") == 0) {
		*out = HTTP_PROXY_HEADER_X_FORWARDED_FOR;
		return 0;
	}
	if (s && strcasecmp(s, "forwarded") == 0) {
		*out = HTTP_PROXY_HEADER_FORWARDED;
		return 0;
	}
	return careid_error_set(CAREID_EINVALID,
	                        "the proxy header is x-forwarded-for or forwarded, not '%s'",
	                        s ? s : "");
}

static bool too_long(const char *s)
{
	return strnlen(s, HTTP_FORWARDED_MAX_LEN + 1) > HTTP_FORWARDED_MAX_LEN;
}

void http_forwarded_client(const struct http_forwarded_in *in, char out[HTTP_ADDR_MAX],
                           enum http_proto *proto)
{
	struct hops hops = {0};
	unsigned char peer[16];
	const struct hop *h = NULL;
	bool use_forwarded = in->header == HTTP_PROXY_HEADER_FORWARDED;
	size_t k, walk;

	*proto = HTTP_PROTO_UNKNOWN;
	out[0] = '\0';
	if (!in->peer || strnlen(in->peer, HTTP_ADDR_MAX) >= HTTP_ADDR_MAX)
		return;
	memcpy(out, in->peer, strlen(in->peer) + 1);
	if (!in->ntrusted || !addr_parse(in->peer, peer, NULL) ||
	    !in_list(in->trusted, in->ntrusted, peer))
		return;
	if (use_forwarded && in->forwarded) {
		if (too_long(in->forwarded))
			return;
		forwarded_parse(in->forwarded, &hops);
	} else if (!use_forwarded && in->x_forwarded_for) {
		if (too_long(in->x_forwarded_for))
			return;
		xff_parse(in->x_forwarded_for, &hops);
	}
	if (hops.n == 0)
		return;
	walk = hops.n < HTTP_FORWARDED_MAX_HOPS ? hops.n : HTTP_FORWARDED_MAX_HOPS;
	for (k = 0; k < walk; k++) {
		h = from_right(&hops, k);
		if (!h->ok)
			return;
		if (!in_list(in->trusted, in->ntrusted, h->addr))
			break;
	}
	/* every hop trusted: the leftmost, unless older hops were dropped */
	if (k == walk) {
		if (hops.n > HTTP_FORWARDED_MAX_HOPS)
			return;
		k = walk - 1;
	}
	addr_format(h->addr, out);
	if (use_forwarded)
		*proto = h->proto;
	else if (in->x_forwarded_proto && !too_long(in->x_forwarded_proto))
		*proto = xfp_at(in->x_forwarded_proto, k);
}
