#include "http/http.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "http/http_int.h"

const char *http_header(const struct http_request *req, const char *name)
{
	const struct http_conn *c = req->priv;

	if (c && c->conn)
		return MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name);
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

const char *http_cookie(struct http_request *req, const char *name)
{
	if (!req->cookies_parsed) {
		const char *h = http_header(req, "Cookie");

		req->cookies_parsed = true;
		if (h && cookie_parse(&req->cookies, req->arena, h) != 0) {
			req->cookies.fields = NULL;
			req->cookies.n = 0;
		}
	}
	return form_get(&req->cookies, name);
}

void http_response_init(struct http_response *res, arena *a)
{
	memset(res, 0, sizeof(*res));
	res->status = 200;
	res->arena = a;
	buf_init(&res->body, HTTP_MAX_RESPONSE);
}

void http_response_release(struct http_response *res)
{
	buf_release(&res->body);
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

int http_add_header(struct http_response *res, const char *name, const char *value)
{
	struct http_header *h;

	if (!*name || has_ctl(name) || strchr(name, ':') || strchr(name, ' ') || has_ctl(value))
		return careid_error_set(CAREID_EINVALID, "bad response header %s", name);
	if (res->nheaders == HTTP_MAX_HEADERS)
		return careid_error_set(CAREID_ETOOBIG, "more than %d response headers",
		                        HTTP_MAX_HEADERS);
	h = &res->headers[res->nheaders];
	h->name = arena_strdup(res->arena, name);
	h->value = arena_strdup(res->arena, value);
	if (!h->name || !h->value)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	res->nheaders++;
	return 0;
}

int http_send(struct http_response *res, int status, const char *content_type, const char *body,
              size_t len)
{
	res->status = status;
	res->content_type = NULL;
	if (content_type) {
		res->content_type = arena_strdup(res->arena, content_type);
		if (!res->content_type)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	buf_reset(&res->body);
	return len ? buf_append(&res->body, body, len) : 0;
}

int http_send_json(struct http_response *res, int status, json_t *json)
{
	char *text;
	int rc;

	if (!json)
		return careid_error_set(CAREID_ENOMEM, "no JSON to send");
	text = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(json);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = http_send(res, status, "application/json", text, strlen(text));
	free(text);
	return rc;
}

int http_redirect(struct http_response *res, int status, const char *location)
{
	int rc;

	if (status < 300 || status > 399)
		return careid_error_set(CAREID_EINVALID, "%d is not a redirect status", status);
	rc = http_add_header(res, "Location", location);
	if (rc)
		return rc;
	return http_send(res, status, NULL, NULL, 0);
}

int http_send_oauth_error(struct http_response *res, int status, const char *error,
                          const char *description)
{
	json_t *j = json_pack("{s:s}", "error", error);
	int rc;

	if (!j)
		return careid_error_set(CAREID_EINVALID, "bad OAuth error code");
	if (description && json_object_set_new(j, "error_description", json_string(description))) {
		json_decref(j);
		return careid_error_set(CAREID_EINVALID, "bad OAuth error description");
	}
	rc = http_add_header(res, "Cache-Control", "no-store");
	if (rc) {
		json_decref(j);
		return rc;
	}
	return http_send_json(res, status, j);
}

/* RFC 6265 §4.1.1 token (RFC 7230 tchar). */
static bool cookie_name_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", c))
			return false;
	}
	return true;
}

/* cookie-octet: %x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E */
static bool cookie_value_ok(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x21 || c > 0x7e || c == '"' || c == ',' || c == ';' || c == '\\')
			return false;
	}
	return true;
}

int http_set_cookie(struct http_response *res, const char *name, const char *value,
                    const struct cookie_attrs *attrs)
{
	static const struct cookie_attrs defaults = {0};
	const struct cookie_attrs *at = attrs ? attrs : &defaults;
	const char *path = at->path ? at->path : "/";
	const char *same_site = at->same_site ? at->same_site : "Lax";
	struct buf b;
	int rc;

	if (at->max_age < 0)
		value = "";
	if (!name || !cookie_name_ok(name))
		return careid_error_set(CAREID_EINVALID, "bad cookie name");
	if (!value || !cookie_value_ok(value))
		return careid_error_set(CAREID_EINVALID, "bad value for cookie %s", name);
	if (path[0] != '/' || strchr(path, ';') || has_ctl(path))
		return careid_error_set(CAREID_EINVALID, "bad path for cookie %s", name);
	if (strcmp(same_site, "Lax") != 0 && strcmp(same_site, "Strict") != 0 &&
	    strcmp(same_site, "None") != 0)
		return careid_error_set(CAREID_EINVALID, "bad SameSite for cookie %s", name);
	if (strcmp(same_site, "None") == 0 && !at->secure)
		return careid_error_set(CAREID_EINVALID, "SameSite=None needs Secure (cookie %s)",
		                        name);
	buf_init(&b, 8192 + 512);
	rc = buf_printf(&b, "%s=%s; Path=%s; HttpOnly; SameSite=%s%s", name, value, path, same_site,
	                at->secure ? "; Secure" : "");
	if (!rc && at->max_age > 0)
		rc = buf_printf(&b, "; Max-Age=%ld", at->max_age);
	else if (!rc && at->max_age < 0)
		rc = buf_puts(&b, "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
	if (!rc)
		rc = http_add_header(res, "Set-Cookie", b.ptr);
	buf_release(&b);
	return rc;
}

int http_escape_html(struct buf *out, const char *s)
{
	const char *run = s;
	int rc;

	for (; *s; s++) {
		const char *rep;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		case '/':
			rep = "&#x2F;";
			break;
		default:
			continue;
		}
		rc = buf_append(out, run, (size_t)(s - run));
		if (!rc)
			rc = buf_puts(out, rep);
		if (rc)
			return rc;
		run = s + 1;
	}
	return buf_append(out, run, (size_t)(s - run));
}

int http_send_page(struct http_response *res, int status, const char *html, size_t len)
{
	/* Pages load only careid's own scripts and styles (the NHS.UK frontend's
	 * fonts come from its CDN and fall back to Arial where it is unreachable),
	 * and no other site may frame them (clickjacking on the sign-in form). */
	static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
	                          "img-src 'self' data:; font-src 'self' https://assets.nhs.uk; "
	                          "form-action 'self' http: https:; frame-ancestors 'none'; "
	                          "base-uri 'none'; object-src 'none'";
	const char *policy = csp;
	int rc = 0;

	if (res->csp_connect) {
		policy =
		    arena_printf(res->arena, "%s; connect-src 'self' %s", csp, res->csp_connect);
		if (!policy)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = http_add_header(res, "Content-Security-Policy", policy);
	if (!rc)
		rc = http_add_header(res, "X-Frame-Options", "DENY");
	if (!rc)
		rc = http_add_header(res, "Cache-Control", "no-store");
	if (!rc)
		rc = http_send(res, status, "text/html; charset=utf-8", html, len);
	return rc;
}
