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

#define HTTP_MAX_BODY   (64 * 1024)
#define HTTP_MAX_HEADERS 32

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
	void *priv;              /* the server's own connection handle */
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
	int status;                 /* 200 unless set */
	const char *content_type;   /* NULL when there is no body */
	struct buf body;            /* capped at 4 MiB */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t nheaders;
	const char *route;          /* label for metrics and logs, e.g. "token" */
	arena *arena;               /* same as the request's */
};

/* Adds a header; the strings are copied into the arena. */
int http_add_header(struct http_response *res, const char *name, const char *value);

/* Sets status, type and a copy of the body. */
int http_send(struct http_response *res, int status, const char *content_type, const char *body,
	      size_t len);

/* Sends `json` (consumed) with status and Content-Type application/json. */
int http_send_json(struct http_response *res, int status, json_t *json);

/* 302/303 with Location. */
int http_redirect(struct http_response *res, int status, const char *location);

struct cookie_attrs {
	const char *path;   /* default "/" */
	long max_age;       /* seconds; 0 = session cookie; <0 = delete */
	bool secure;        /* add Secure (whenever the public URL is https) */
	const char *same_site; /* "Lax" (default), "Strict" or "None" */
};

/* Adds a Set-Cookie header: always HttpOnly, never Domain. */
int http_set_cookie(struct http_response *res, const char *name, const char *value,
		    const struct cookie_attrs *attrs);

/* HTML-escapes `s` into `out` (& < > " ' and `/`). */
int http_escape_html(struct buf *out, const char *s);

typedef int (*http_handler)(void *ctx, struct http_request *req, struct http_response *res);

#endif
