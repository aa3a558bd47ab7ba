/*
 * The HTTP server: libmicrohttpd with an internal epoll thread pool.
 *
 * Bodies over `max_body` are refused with 413 before they are read
 * (Content-Length) or as soon as they pass the cap (chunked). Every response
 * carries X-Request-Id, and a log line per request records method, path,
 * route, status and duration. Metrics are counted in `metrics`.
 *
 * Responses of the routes that carry tokens ("token", "introspect", "revoke",
 * "userinfo") always get Cache-Control: no-store, and every no-store response
 * also Pragma: no-cache (HTTP/1.0 caches). The client address handlers see
 * (`remote_addr`) is the peer's, or what a trusted proxy says it is.
 */
#ifndef CAREID_HTTP_SERVER_H
#define CAREID_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/metrics.h"
#include "http/forwarded.h"
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

	/* HTTPS (TLS 1.3, and 1.2 with forward-secret AEAD suites only) when
	 * both are set: PEM files read at start, the certificate file possibly
	 * holding its chain; a key with a passphrase is not supported. */
	const char *tls_cert_file;
	const char *tls_key_file;
	/* Send Strict-Transport-Security on every response (the server speaks
	 * TLS, or the public URL is https behind a terminating proxy), save
	 * those to a client a trusted proxy says came over plain http. */
	bool hsts;
	/* Peers whose forwarding header is believed (copied; at most
	 * HTTP_MAX_TRUSTED_PROXIES), and which header that is: only that one
	 * is read, the other is the client's and ignored. */
	const struct http_cidr *trusted_proxies;
	size_t ntrusted_proxies;
	enum http_proxy_header proxy_header;
};

int http_server_start(http_server **out, const struct http_server_opts *opts);

/* The port actually bound. */
uint16_t http_server_port(const http_server *s);

/* True when the server speaks HTTPS. */
bool http_server_tls(const http_server *s);

/*
 * Stops accepting connections, lets requests in flight finish (up to
 * `grace_s` seconds), then stops the threads and frees the server.
 */
void http_server_stop(http_server *s, unsigned grace_s);

#endif
