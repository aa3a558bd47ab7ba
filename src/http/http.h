/*
 * Requests and responses as handlers see them, independent of libmicrohttpd.
 *
 * A handler gets a request whose strings all live in `req->arena` (freed when
 * the response has been sent) and fills in a response. It returns 0; a
 * negative careid code means "answer 500" and is logged with the request id.
 */
#ifndef CAREID_HTTP_HTTP_H
#define CAREID_HTTP_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/arena.h"
#include "core/buf.h"
#include "http/form.h"

#define HTTP_MAX_BODY     (64 * 1024)
#define HTTP_MAX_HEADERS  32
#define HTTP_MAX_RESPONSE (4 * 1024 * 1024)

struct http_header;

/*
 * HEAD requests reach handlers as "GET" (libmicrohttpd drops the body of the
 * answer). The query string is parsed from the raw request target, so
 * duplicates and bad encoding are visible (form_count(), query_error).
 */
struct http_request {
	arena *arena;
	const char *method;      /* "GET", "POST", … */
	const char *path;        /* percent-decoded path, without the query */
	const char *request_id;  /* random, also sent back as X-Request-Id */
	const char *remote_addr; /* textual client address */
	struct form query;       /* parsed query string */
	struct form form;        /* parsed body when urlencoded, else empty */
	bool has_form;           /* the body was application/x-www-form-urlencoded */
	int query_error;         /* 0, or why the query string could not be parsed */
	int form_error;          /* 0, or why the body could not be parsed */
	const char *body;        /* raw body (NUL-terminated), may be "" */
	size_t body_len;
	void *priv; /* the server's own connection handle */

	/* Headers of a request built without the server (priv NULL), e.g. in
	 * handler tests; http_header() searches them. Unused by the server. */
	const struct http_header *headers;
	size_t nheaders;

	/* Cache of http_cookie(): the Cookie header parsed on first use. */
	struct form cookies;
	bool cookies_parsed;
};

/* A request header (case-insensitive name), or NULL. */
const char *http_header(const struct http_request *req, const char *name);

/* A cookie's value, or NULL (the Cookie header is parsed on first use). */
const char *http_cookie(struct http_request *req, const char *name);

struct http_header {
	const char *name;
	const char *value;
};

struct http_response {
	int status;               /* 200 unless set */
	const char *content_type; /* NULL when there is no body */
	struct buf body;          /* capped at 4 MiB */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	const char *route; /* label for metrics and logs, e.g. "token" */
	arena *arena;      /* same as the request's */
	/* An origin a page's script may also connect to (the smartcard agent on
	 * loopback), added to the CSP's connect-src by http_send_page(); NULL. */
	const char *csp_connect;
};

/* Prepares `res` for a handler: status 200, empty body capped at
 * HTTP_MAX_RESPONSE, no headers, strings kept in `a`. The server does this;
 * handler tests call it themselves and http_response_release() after. */
void http_response_init(struct http_response *res, arena *a);

/* Frees the body (headers live in the arena). */
void http_response_release(struct http_response *res);

/* Adds a header; the strings are copied into the arena. CAREID_ETOOBIG past
 * HTTP_MAX_HEADERS, CAREID_EINVALID for a name or value holding CR, LF or
 * another control character (no header injection). */
int http_add_header(struct http_response *res, const char *name, const char *value);

/* Sets status, type and a copy of the body. */
int http_send(struct http_response *res, int status, const char *content_type, const char *body,
              size_t len);

/* Sends `json` (consumed) with status and Content-Type application/json. */
int http_send_json(struct http_response *res, int status, json_t *json);

/* Sends an HTML page with the headers every page carries: a strict
 * Content-Security-Policy (frame-ancestors 'none'), X-Frame-Options DENY and
 * Cache-Control no-store. */
int http_send_page(struct http_response *res, int status, const char *html, size_t len);

/* 302/303 with Location. */
int http_redirect(struct http_response *res, int status, const char *location);

/* An OAuth 2.0 error answer (RFC 6749 §5.2): `status`, JSON
 * {"error": error, "error_description": description} (description may be
 * NULL) and Cache-Control: no-store. */
int http_send_oauth_error(struct http_response *res, int status, const char *error,
                          const char *description);

struct cookie_attrs {
	const char *path;      /* default "/" */
	long max_age;          /* seconds; 0 = session cookie; <0 = delete */
	bool secure;           /* add Secure (whenever the public URL is https) */
	const char *same_site; /* "Lax" (default), "Strict" or "None" */
};

/*
 * Adds a Set-Cookie header: always HttpOnly, never Domain, formatted as
 * `name=value; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=N]`; with
 * max_age < 0 the value is emptied and `Max-Age=0; Expires=<1970>` deletes
 * it. `attrs` may be NULL (all defaults). CAREID_EINVALID for a name that is
 * not an RFC 6265 token, a value with characters outside cookie-octet, a path
 * not starting with '/' or holding ';' or controls, an unknown SameSite, or
 * SameSite=None without Secure (browsers drop such cookies).
 */
int http_set_cookie(struct http_response *res, const char *name, const char *value,
                    const struct cookie_attrs *attrs);

/* HTML-escapes `s` into `out` (& < > " ' and `/`). */
int http_escape_html(struct buf *out, const char *s);

typedef int (*http_handler)(void *ctx, struct http_request *req, struct http_response *res);

#endif
