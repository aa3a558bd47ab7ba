/* The standard error answers: JSON, redirects to a registered URI, pages. */
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "oidc/oidc_int.h"

int oidc_no_store(struct http_response *res)
{
	if (http_add_header(res, "Cache-Control", "no-store") ||
	    http_add_header(res, "Pragma", "no-cache"))
		return CAREID_ENOMEM;
	return 0;
}

int oidc_error_json(struct oidc_req *r, int status, const char *error, const char *description)
{
	json_t *j = json_pack("{s:s, s:s*}", "error", error, "error_description", description);

	if (!j || oidc_no_store(r->res))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	log_pack(LOG_INFO, "oauth_error", "{s:s, s:s, s:s, s:s?}", "request_id", r->req->request_id,
	         "env", r->env->name, "error", error, "description", description);
	return http_send_json(r->res, status, j);
}

char *oidc_uri_with_params(arena *a, const char *uri, const char *const *kv, size_t n)
{
	struct buf b;
	char *out = NULL;
	char sep = strchr(uri, '?') ? '&' : '?';
	int rc;

	buf_init(&b, 16384);
	rc = buf_puts(&b, uri);
	for (size_t i = 0; !rc && i + 1 < n * 2; i += 2) {
		const char *v = kv[i + 1];
		char *enc;

		if (!v)
			continue;
		enc = form_encode(a, v);
		if (!enc) {
			rc = CAREID_ENOMEM;
			break;
		}
		rc = buf_printf(&b, "%c%s=%s", sep, kv[i], enc);
		sep = '&';
	}
	if (!rc)
		out = arena_strndup(a, b.ptr, b.len);
	buf_release(&b);
	return out;
}

int oidc_error_redirect(struct oidc_req *r, const char *redirect_uri, const char *error,
                        const char *description, const char *state)
{
	const char *kv[] = {"error", error, "error_description", description, "state",
	                    state,   "iss", r->env->issuer};
	char *loc = oidc_uri_with_params(r->a, redirect_uri, kv, 4);

	if (!loc)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	log_pack(LOG_INFO, "authorization_error", "{s:s, s:s, s:s, s:s?}", "request_id",
	         r->req->request_id, "env", r->env->name, "error", error, "description",
	         description);
	return http_redirect(r->res, 303, loc);
}

int oidc_render(struct oidc_req *r, int status, const char *name, json_t *ctx)
{
	struct buf b;
	int rc;

	if (!ctx)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	json_object_set_new(ctx, "env", json_string(r->env ? r->env->name : ""));
	buf_init(&b, 1 << 20);
	rc = templates_render(r->p->templates, name, ctx, &b);
	json_decref(ctx);
	if (!rc)
		rc = http_send_page(r->res, status, b.ptr, b.len);
	buf_release(&b);
	return rc;
}

int oidc_error_page(struct oidc_req *r, int status, const char *title, const char *message)
{
	log_pack(LOG_INFO, "error_page", "{s:s, s:i, s:s}", "request_id", r->req->request_id,
	         "status", status, "message", message);
	return oidc_render(r, status, "error",
	                   json_pack("{s:s, s:s}", "title", title, "message", message));
}

const char *oidc_svg_data_uri(arena *a, const char *svg)
{
	size_t n = strlen(svg), cap = 4 * n / 3 + 8, len;
	char *b64 = arena_alloc(a, cap);

	if (!b64 || crypto_b64url_encode(b64, cap, svg, n))
		return NULL;
	len = strlen(b64);
	for (size_t i = 0; i < len; i++)
		b64[i] = b64[i] == '-' ? '+' : b64[i] == '_' ? '/' : b64[i];
	while (len % 4)
		b64[len++] = '=';
	b64[len] = '\0';
	return arena_printf(a, "data:image/svg+xml;base64,%s", b64);
}
