/* What each side must know, by e-mail through the durable outbox, and the
 * service's distribution list with an unsubscribe link that works. */
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "onboarding/onboarding_int.h"
#include "outbox/mail.h"

int notify_mail(struct ob_req *r, const char *to, const char *subject, const char *body)
{
	const char *rcpt[1] = {to};
	struct mail m = {.to = rcpt, .nto = 1, .subject = subject, .text = body};

	return mail_enqueue(r->o->s, &m);
}

/*
 * An address's unsubscribe token: a MAC of the address under the server's
 * key, so every message to the list can carry a working link without keeping
 * tokens in the clear (the store keeps only its keyed hash, as for a random one).
 */
static void unsubscribe_token(struct ob_req *r, const char *email, char out[CRYPTO_HASH_HEX])
{
	char input[320];

	snprintf(input, sizeof(input), "distribution-list|%s", email);
	crypto_keyed_hash(out, r->o->sec->csrf_key, input);
}

static char *unsubscribe_url(struct ob_req *r, const char *email)
{
	char token[CRYPTO_HASH_HEX];

	unsubscribe_token(r, email, token);
	return arena_printf(r->a, "%s/onboarding/unsubscribe?token=%s", r->o->public_url, token);
}

/* Adds the address to the distribution list (inside the caller's
 * transaction) and welcomes it, with its unsubscribe link. Already on the
 * list: nothing changes. */
int notify_subscribe(struct ob_req *r, const char *email, const char *uid)
{
	static const char sql[] = "INSERT INTO distribution_list (email, uid, token_hash, "
	                          "subscribed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO "
	                          "NOTHING";
	char token[CRYPTO_HASH_HEX], hash[CRYPTO_HASH_HEX];
	const char *rcpt[1] = {email};
	struct mail m = {.to = rcpt, .nto = 1, .subject = "CIS2 Authentication service updates"};
	char *unsubscribe, *body;
	int rc;

	unsubscribe_token(r, email, token);
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	rc = store_exec(r->o->s, sql, "ttti", email, uid, hash, clock_now());
	if (rc <= 0)
		return rc;
	unsubscribe = unsubscribe_url(r, email);
	body =
	    arena_printf(r->a,
	                 "You are now on the CIS2 Authentication distribution list: we will tell "
	                 "you about changes to the service, feature updates and releases.\n\nTo "
	                 "leave the list: %s\n",
	                 unsubscribe);
	if (!unsubscribe || !body)
		return CAREID_ENOMEM;
	m.text = body;
	m.list_unsubscribe = unsubscribe;
	rc = mail_enqueue(r->o->s, &m);
	if (!rc)
		rc = audit_record(r->o->s, uid ? uid : "system", "distribution.subscribed",
		                  arena_printf(r->a, "list:%s", email), NULL);
	return rc;
}

/*
 * Sends a service update to everyone on the list, each message with its own
 * unsubscribe link, all queued in one transaction. `*sent` counts them.
 */
static int send_update(struct ob_req *r, const char *subject, const char *text, int *sent)
{
	static const char sql[] = "SELECT email FROM distribution_list WHERE unsubscribed_at IS "
	                          "NULL ORDER BY email";
	store_stmt *st = NULL;
	json_t *to = json_array(), *e, *detail;
	size_t i;
	int rc;

	*sent = 0;
	rc = to ? store_query(r->o->s, &st, sql, "") : CAREID_ENOMEM;
	while (!rc && (rc = store_next(st)) == 1) {
		json_array_append_new(to, json_string(store_text(st, 0)));
		rc = 0;
	}
	store_done(st); /* before writing: an open cursor holds a read snapshot */
	if (rc < 0)
		goto out;
	rc = store_begin(r->o->s);
	json_array_foreach(to, i, e)
	{
		const char *addr = json_string_value(e), *rcpt[1] = {addr};
		char *link = unsubscribe_url(r, addr);
		char *body = arena_printf(r->a,
		                          "%s\n\n--\nYou get this because you are on the CIS2 "
		                          "Authentication distribution list. To leave it: %s\n",
		                          text, link ? link : "");
		struct mail m = {.to = rcpt,
		                 .nto = 1,
		                 .subject = subject,
		                 .text = body,
		                 .list_unsubscribe = link};

		if (rc)
			break;
		rc = link && body ? mail_enqueue(r->o->s, &m) : CAREID_ENOMEM;
		*sent += !rc;
	}
	detail = json_pack("{s:s, s:i}", "subject", subject, "recipients", *sent);
	if (!rc)
		rc = audit_record(r->o->s, r->uid, "distribution.update_sent", "list:all", detail);
	json_decref(detail);
	if (rc)
		store_rollback(r->o->s);
	else
		rc = store_commit(r->o->s);
out:
	json_decref(to);
	return rc;
}

static bool update_ok(const char *subject, const char *text, const char **problem)
{
	*problem = NULL;
	if (!subject || !*subject || strlen(subject) > 200 || strpbrk(subject, "\r\n"))
		*problem = "Enter a subject of up to 200 characters on one line";
	else if (!text || !*text || strlen(text) > 20000)
		*problem = "Enter the update, up to 20,000 characters";
	return !*problem;
}

int notify_updates_handle(struct ob_req *r)
{
	const char *subject = form_get(&r->req->form, "subject");
	const char *text = form_get(&r->req->form, "text"), *problem;
	char *notice;
	int sent = 0, rc = ob_require_account(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (!r->reviewer)
		return ob_error(r, 403, "forbidden",
		                "Only the CIS2 onboarding team sends updates.");
	if (strcmp(r->req->method, "POST") != 0)
		return ob_page(r, 200, "ob_updates",
		               json_pack("{s:s}", "title", "Service updates"));
	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "The form was not sent from this browser's page.");
	if (!update_ok(subject, text, &problem))
		return ob_page(r, 400, "ob_updates",
		               json_pack("{s:s, s:s, s:s?, s:s?}", "title", "Service updates",
		                         "problem", problem, "subject", subject, "text", text));
	rc = send_update(r, subject, text, &sent);
	if (rc)
		return rc;
	notice = arena_printf(r->a, "The update is on its way to %d address%s.", sent,
	                      sent == 1 ? "" : "es");
	return ob_page(r, 200, "ob_updates",
	               json_pack("{s:s, s:s?}", "title", "Service updates", "notice", notice));
}

int notify_updates_api(struct ob_req *r)
{
	const char *problem;
	json_t *body;
	int sent = 0, rc = ob_require_account(r);

	if (rc)
		return rc > 0 ? 0 : rc;
	if (!r->reviewer)
		return ob_error(r, 403, "forbidden",
		                "Only the CIS2 onboarding team sends updates.");
	if (strcmp(r->req->method, "POST") != 0)
		return ob_error(r, 405, "method_not_allowed", "POST /updates {subject, text}.");
	if (!ob_csrf_ok(r))
		return ob_error(r, 403, "csrf", "Send the X-CSRF-Token header from /api/v1/me.");
	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	if (!update_ok(json_string_value(json_object_get(body, "subject")),
	               json_string_value(json_object_get(body, "text")), &problem)) {
		json_decref(body);
		return ob_error(r, 400, "invalid_update", problem);
	}
	rc = send_update(r, json_string_value(json_object_get(body, "subject")),
	                 json_string_value(json_object_get(body, "text")), &sent);
	json_decref(body);
	return rc ? rc : ob_json(r, 202, json_pack("{s:i}", "sent", sent));
}

/* GET shows the address and a button; POST (also RFC 8058 one-click) leaves. */
int notify_handle_unsubscribe(struct ob_req *r)
{
	static const char sql_get[] = "SELECT email, unsubscribed_at FROM distribution_list WHERE "
	                              "token_hash = $1";
	static const char sql_leave[] = "UPDATE distribution_list SET unsubscribed_at = $1 WHERE "
	                                "token_hash = $2 AND unsubscribed_at IS NULL";
	bool post = strcmp(r->req->method, "POST") == 0;
	const char *token = form_get(&r->req->query, "token");
	char hash[CRYPTO_HASH_HEX];
	const char *email = NULL;
	store_stmt *st = NULL;
	bool left = false;
	int rc;

	if (!token && post)
		token = form_get(&r->req->form, "token");
	if (!token || strlen(token) > 100)
		return ob_message(r, 400, "This link is not valid",
		                  "Copy the whole unsubscribe link from the e-mail.");
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	rc = store_query(r->o->s, &st, sql_get, "t", hash);
	if (!rc && (rc = store_next(st)) == 1) {
		email = arena_strdup(r->a, store_text(st, 0));
		left = !store_null(st, 1);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (!email)
		return ob_message(r, 400, "This link is not valid",
		                  "Copy the whole unsubscribe link from the e-mail.");
	if (!post)
		return ob_page(r, 200, "onboarding_unsubscribe",
		               json_pack("{s:s, s:s, s:s, s:b}", "title",
		                         "Leave the distribution list", "email", email, "token",
		                         token, "left", left));
	rc = store_begin(r->o->s);
	if (!rc)
		rc = store_exec(r->o->s, sql_leave, "it", clock_now(), hash);
	if (rc > 0)
		rc = audit_record(r->o->s, "system", "distribution.unsubscribed",
		                  arena_printf(r->a, "list:%s", email), NULL);
	if (rc < 0) {
		store_rollback(r->o->s);
		return rc;
	}
	rc = store_commit(r->o->s);
	if (rc)
		return rc;
	return ob_message(r, 200, "You have left the distribution list",
	                  "We will no longer e-mail you service updates.");
}
