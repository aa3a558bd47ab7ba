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

/* Adds the address to the distribution list (inside the caller's
 * transaction) and welcomes it, with its own unsubscribe link. Already on
 * the list: nothing changes. */
int notify_subscribe(struct ob_req *r, const char *email, const char *uid)
{
	static const char sql[] = "INSERT INTO distribution_list (email, uid, token_hash, "
	                          "subscribed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (email) DO "
	                          "NOTHING";
	char token[64], hash[CRYPTO_HASH_HEX];
	const char *rcpt[1] = {email};
	struct mail m = {.to = rcpt, .nto = 1, .subject = "CIS2 Authentication service updates"};
	char *unsubscribe, *body;
	int rc;

	if (crypto_random_token(token, sizeof(token), 24))
		return CAREID_ECRYPTO;
	crypto_keyed_hash(hash, r->o->sec->hash_key, token);
	rc = store_exec(r->o->s, sql, "ttti", email, uid, hash, clock_now());
	if (rc <= 0)
		return rc;
	unsubscribe =
	    arena_printf(r->a, "%s/onboarding/unsubscribe?token=%s", r->o->public_url, token);
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
