/* {issuer}/smartcard/removed: the identity agent reports a card taken out of
 * its reader. The sessions that card signed in end (CIS2: smartcard removal
 * ends the session; back-channel logout to clients comes with sessions). */
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "oidc/oidc_int.h"

int smartcard_removed_handle(struct oidc_req *r)
{
	const char *token;
	int ended = 0, rc;

	r->res->route = "smartcard_removed";
	if (strcmp(r->req->method, "POST") != 0)
		return http_send_oauth_error(r->res, 405, "invalid_request", "use POST");
	token = r->req->has_form && !r->req->form_error ? form_get(&r->req->form, "removal_token")
	                                                : NULL;
	if (!token || form_count(&r->req->form, "removal_token") != 1 || strlen(token) < 32 ||
	    strlen(token) > 100)
		return http_send_oauth_error(r->res, 400, "invalid_request",
		                             "removal_token is required");
	/* each session ends in its own transaction, audited, its clients told */
	rc = session_end_by_removal(r, token, &ended);
	if (rc)
		return rc;
	log_pack(LOG_INFO, "smartcard_removed", "{s:s, s:s, s:i}", "request_id", r->req->request_id,
	         "env", r->env->name, "sessions_ended", ended);
	/* The same answer whether or not the token named a session: it says nothing. */
	return http_send_json(r->res, 200, json_pack("{s:s}", "status", "ok"));
}
