/*
 * Internals shared by the http module's own files. Nothing outside src/http/
 * includes this header (it is the only place that sees libmicrohttpd).
 */
#ifndef CAREID_HTTP_HTTP_INT_H
#define CAREID_HTTP_HTTP_INT_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* Per-request state of the server; `http_request.priv` points to it. Created
 * by the URI log callback (or the first access-handler call), freed by the
 * completion callback. */
struct http_conn {
	struct MHD_Connection *conn;
	arena *arena;
	const char *raw_uri; /* as received, query included; in the arena */
	struct buf body;     /* capped at the server's max_body */
	int64_t start_us;
	char request_id[17];
	bool started;   /* the first access-handler call has been seen */
	bool too_big;   /* the body passed max_body */
	bool responded; /* a response has been queued */
	bool counted;   /* counted in the server's in-flight requests */
	/* The client's scheme as a trusted proxy said (enum http_proto), or 0. */
	int forwarded_proto;
};

/* True when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or
 * code points over U+10FFFF). */
bool http_utf8_valid(const unsigned char *s, size_t n);

/* Copies `s` for a log line: at most `max` bytes, every byte that is not
 * printable ASCII replaced by '?'. NULL when out of memory. */
char *http_log_safe(arena *a, const char *s, size_t max);

#endif
