#include "oidc/demo.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "oidc/oidc_int.h"
#include "oidc/rp.h"

#define DEMO_SCOPE "openid profile email nhsperson associatedorgs nationalrbacaccess selectedrole"

struct demo_rp {
	rp *rp;
	const templates *t;
	json_t *users;
};

int demo_rp_new(demo_rp **out, provider *p, store *s, const templates *t, const char *public_url,
                const json_t *users)
{
	demo_rp *d = calloc(1, sizeof(*d));
	struct rp_opts o = {.env = 0,
	                    .name = "careid demo relying party",
	                    .scope = DEMO_SCOPE,
	                    .cookie = "careid_demo",
	                    .cookie_path = "/demo/"};
	char *redirect = NULL;
	int rc;

	*out = NULL;
	if (!d || asprintf(&redirect, "%s/demo/callback", public_url) < 0) {
		free(d);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	d->t = t;
	d->users = json_deep_copy(users);
	o.redirect_uri = redirect;
	rc = rp_new(&d->rp, p, s, &o);
	free(redirect);
	if (rc) {
		demo_rp_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void demo_rp_free(demo_rp *d)
{
	if (!d)
		return;
	rp_free(d->rp);
	json_decref(d->users);
	free(d);
}

static int render(demo_rp *d, struct http_response *res, int status, const char *name, json_t *ctx)
{
	struct buf b;
	int rc;

	if (!ctx)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	json_object_set_new(ctx, "env", json_string("mock"));
	buf_init(&b, 1 << 20);
	rc = templates_render(d->t, name, ctx, &b);
	json_decref(ctx);
	if (!rc)
		rc = http_send_page(res, status, b.ptr, b.len);
	buf_release(&b);
	return rc;
}

static json_t *pretty(const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	json_t *out = json_string(s ? s : "");

	free(s);
	return out;
}

static int callback(demo_rp *d, struct http_request *req, struct http_response *res)
{
	struct rp_result r;
	int rc = rp_callback(d->rp, req, res, &r);

	if (rc)
		return rc;
	if (r.error)
		rc = render(d, res, 400, "demo_result",
		            json_pack("{s:s, s:s, s:s?}", "title", "Sign-in failed", "failure",
		                      r.error, "detail", r.error_detail));
	else
		rc = render(d, res, 200, "demo_result",
		            json_pack("{s:s, s:o, s:o, s:o, s:O?, s:O?, s:O?}", "title",
		                      "What the relying party received", "id_token_header",
		                      pretty(r.header), "id_token_claims", pretty(r.claims),
		                      "userinfo", pretty(r.userinfo ? r.userinfo : json_null()),
		                      "selected_roleid",
		                      json_object_get(r.claims, "selected_roleid"), "roles",
		                      json_object_get(r.userinfo, "nhsid_nrbac_roles"), "name",
		                      json_object_get(r.userinfo, "name")));
	rp_result_release(&r);
	return rc;
}

int demo_rp_handle(demo_rp *d, struct http_request *req, struct http_response *res)
{
	int rc;

	if (strncmp(req->path, "/demo", 5) != 0 || (req->path[5] && req->path[5] != '/'))
		return 0;
	res->route = "demo";
	if (strcmp(req->method, "GET") != 0)
		rc = http_send(res, 405, "text/plain; charset=utf-8", "use GET\n", 8);
	else if (strcmp(req->path, "/demo") == 0)
		rc = http_redirect(res, 302, "/demo/");
	else if (strcmp(req->path, "/demo/") == 0)
		rc = render(d, res, 200, "demo",
		            json_pack("{s:s, s:O?, s:s}", "title", "Demo relying party", "users",
		                      d->users, "scope", DEMO_SCOPE));
	else if (strcmp(req->path, "/demo/login") == 0)
		rc = rp_login(d->rp, req, res, NULL, NULL);
	else if (strcmp(req->path, "/demo/callback") == 0)
		rc = callback(d, req, res);
	else
		rc = http_send(res, 404, "text/plain; charset=utf-8", "not found\n", 10);
	return rc < 0 ? rc : 1;
}
