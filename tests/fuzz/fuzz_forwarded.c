/*
 * Fuzz target: http_forwarded_client() and http_cidr_parse(). The input is
 * up to four NUL-separated fields: the peer, Forwarded, X-Forwarded-For and
 * X-Forwarded-Proto (a missing field is an absent header), read once as each
 * --proxy-header choice. The proxies trusted are fixed: 127.0.0.1,
 * 10.0.0.0/8, ::1 and 2001:db8::/32.
 *
 * Checks: the answer is the peer, or a normalised address (it parses and
 * prints back the same); an untrusted peer's headers change nothing; the
 * peer field as a CIDR either fails or gives a prefix within 128 bits.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/forwarded.h"

static bool normalised(const char *s)
{
	unsigned char a[16];
	char back[HTTP_ADDR_MAX];

	if (inet_pton(AF_INET, s, a) == 1)
		return inet_ntop(AF_INET, a, back, sizeof(back)) && strcmp(back, s) == 0;
	if (inet_pton(AF_INET6, s, a) == 1)
		return inet_ntop(AF_INET6, a, back, sizeof(back)) && strcmp(back, s) == 0;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const ranges[] = {"127.0.0.1", "10.0.0.0/8", "::1", "2001:db8::/32"};
	struct http_cidr trusted[4], c;
	char *copy = malloc(size + 1), *fields[4] = {NULL, NULL, NULL, NULL};
	struct http_forwarded_in in = {.trusted = trusted, .ntrusted = 4};
	char out[HTTP_ADDR_MAX];
	enum http_proto proto;
	size_t nf = 0;

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; nf < 4;) {
		fields[nf++] = p;
		p += strlen(p);
		if (p == copy + size)
			break;
		p++;
	}
	for (size_t i = 0; i < 4; i++)
		if (http_cidr_parse(&trusted[i], ranges[i]) != 0)
			abort();
	in.peer = fields[0];
	in.forwarded = fields[1];
	in.x_forwarded_for = fields[2];
	in.x_forwarded_proto = fields[3];
	for (int h = 0; h < 2; h++) {
		in.header = h ? HTTP_PROXY_HEADER_FORWARDED : HTTP_PROXY_HEADER_X_FORWARDED_FOR;
		http_forwarded_client(&in, out, &proto);
		if (strlen(out) >= HTTP_ADDR_MAX)
			abort();
		if (proto != HTTP_PROTO_UNKNOWN && proto != HTTP_PROTO_HTTP &&
		    proto != HTTP_PROTO_HTTPS)
			abort();
		if (strcmp(out, in.peer) != 0) {
			/* only a trusted peer's headers may name someone else */
			if (*out && !http_cidr_match(trusted, 4, in.peer))
				abort();
			if (*out && !normalised(out))
				abort();
			if (!*out && strlen(in.peer) < HTTP_ADDR_MAX)
				abort();
		} else if (proto != HTTP_PROTO_UNKNOWN) {
			/* a scheme only comes with a forwarded address (which may equal
			 * the peer when a proxy forwards for itself) */
			if (!http_cidr_match(trusted, 4, in.peer))
				abort();
		}
	}
	if (http_cidr_parse(&c, in.peer) == 0 && c.bits > 128)
		abort();
	free(copy);
	return 0;
}
