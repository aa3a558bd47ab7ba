/*
 * The HTTP server: libmicrohttpd with an internal epoll thread pool.
 *
 * Bodies over `max_body` are refused with 413 before they are read
 * (Content-Length) or as soon as they pass the cap (chunked). Every response
 * carries X-Request-Id, and a log line per request records method, path,
 * route, status and duration. Metrics are counted in `metrics`.
 */
#ifndef CAREID_HTTP_SERVER_H
#define CAREID_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"
#include "http/http.h"

typedef struct http_server http_server;

struct http_server_opts {
	const char *addr;   /* numeric IPv4/IPv6 address to bind */
	uint16_t port;      /* 0 picks a free port: see http_server_port() */
	unsigned threads;   /* worker threads; 0 = number of CPUs */
	size_t max_body;    /* default HTTP_MAX_BODY */
	unsigned timeout_s; /* idle connection timeout, default 30 */
	http_handler handler;
	void *ctx;
	metrics *metrics; /* may be NULL */
};

int http_server_start(http_server **out, const struct http_server_opts *opts);

/* The port actually bound. */
uint16_t http_server_port(const http_server *s);

/*
 * Stops accepting connections, lets requests in flight finish (up to
 * `grace_s` seconds), then stops the threads and frees the server.
 */
void http_server_stop(http_server *s, unsigned grace_s);

#endif
