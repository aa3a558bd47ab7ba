/* Back-channel logout: logout tokens queued with the session's end and
 * delivered by the outbox (OpenID Connect Back-Channel Logout 1.0 §2.4–2.8). */
#include "oidc/backchannel.h"

#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"
#include "http/fetch.h"
#include "oidc/oidc_int.h"

#define BCL_EVENT     "http://schemas.openid.net/event/backchannel-logout"
#define BCL_TYP       "logout+jwt"
#define BCL_TOKEN_TTL 120 /* seconds: the token is signed afresh for each attempt */
#define BCL_TIMEOUT_S 5L  /* well under the outbox lease */
#define BCL_MAX_FIELD 2048
#define BCL_MAX_REPLY 200 /* bytes of the RP's answer kept with the attempt */

/* Test logout tokens share the outbox's one worker with every e-mail and real
 * logout token: each is tried once, briefly, and their number is bounded
 * (backchannel.h). */
#define BCT_TIMEOUT_S     3L /* per delivery (connection included) */
#define BCT_COOLDOWN_S    30 /* between two test requests for one client */
#define BCT_PENDING_MAX   20 /* test messages waiting, every client together */
#define BCT_OUTSTANDING_S 10 /* what to wait while a client's earlier ones are sent */
#define BCT_BUSY_S        60 /* what to wait while too many are waiting */

int backchannel_enqueue(store *s, const char *env, const char *sid, const char *sub,
                        int *queued_out)
{
	static const char sql[] =
	    "SELECT sc.client_id, c.backchannel_logout_uri FROM session_clients sc "
	    "JOIN clients c ON c.env = sc.env AND c.client_id = sc.client_id "
	    "WHERE sc.env = $1 AND sc.sid = $2 AND c.backchannel_logout_uri IS NOT NULL "
	    "ORDER BY sc.first_at, sc.client_id";
	store_stmt *st = NULL;
	json_t *targets = json_array(), *t;
	int rc, queued = 0;
	size_t i;

	if (queued_out)
		*queued_out = 0;
	if (!targets)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (!s || !env || !sid || !sub) {
		rc = careid_error_set(CAREID_EINVALID, "backchannel: no store, env, sid or sub");
		goto out;
	}
	/* Read every target first: the outbox's INSERTs run after the cursor is
	 * given back, which every backend allows. */
	rc = store_query(s, &st, sql, "tt", env, sid);
	while (rc == 0 && (rc = store_next(st)) == 1) {
		const char *client_id = store_text(st, 0), *uri = store_text(st, 1);

		rc = 0;
		if (!client_id || !uri || !*uri)
			continue;
		t = json_pack("{s:s, s:s, s:s, s:s, s:s}", "env", env, "client_id", client_id,
		              "sid", sid, "sub", sub, "uri", uri);
		if (!t || json_array_append_new(targets, t) != 0)
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc < 0)
		goto out;
	json_array_foreach(targets, i, t)
	{
		rc = outbox_enqueue(s, BACKCHANNEL_KIND, t, NULL);
		if (rc < 0)
			goto out;
		queued++;
	}
	rc = 0;
	if (queued_out)
		*queued_out = queued;
out:
	json_decref(targets);
	return rc;
}

/* What a queued message names; strings borrowed from the payload. */
struct bcl_msg {
	const char *env, *client_id, *sid, *sub, *uri;
	int env_index;
};

static const char *bcl_field(const json_t *payload, const char *name)
{
	const char *v = json_string_value(json_object_get(payload, name));

	return v && *v && strlen(v) <= BCL_MAX_FIELD ? v : NULL;
}

static int bcl_msg_parse(struct bcl_msg *m, const json_t *payload)
{
	m->env = bcl_field(payload, "env");
	m->client_id = bcl_field(payload, "client_id");
	m->sid = bcl_field(payload, "sid");
	m->sub = bcl_field(payload, "sub");
	m->uri = bcl_field(payload, "uri");
	m->env_index = m->env ? env_index(m->env) : -1;
	if (m->env_index < 0 || !m->client_id || !m->sid || !m->sub || !m->uri)
		return careid_error_set(
		    CAREID_EINVALID, "backchannel: payload lacks env, client_id, sid, sub or uri");
	return 0;
}

/* The logout token for one client (§2.4): signed with the environment's
 * current key and the client's ID token algorithm, explicitly typed, never a
 * nonce. `*jti_out` (which needs 32 bytes) names it in the audit trail. */
static int bcl_sign(char **out, char jti_out[32], provider *p, const struct bcl_msg *m,
                    const char *alg)
{
	const struct env_state *e = &p->envs[m->env_index];
	const struct keyset *ks;
	int64_t now = clock_now();
	json_t *claims;
	int rc;

	*out = NULL;
	rc = crypto_random_token(jti_out, 32, 18);
	if (rc < 0)
		return rc;
	claims = json_pack("{s:s, s:[s], s:I, s:I, s:s, s:s, s:s, s:{s:{}}}", "iss", e->issuer,
	                   "aud", m->client_id, "iat", (json_int_t)now, "exp",
	                   (json_int_t)(now + BCL_TOKEN_TTL), "jti", jti_out, "sid", m->sid, "sub",
	                   m->sub, "events", BCL_EVENT);
	if (!claims)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	ks = keyring_get(e->keys); /* the key that signs now, rotations included */
	rc = jws_sign(out, ks->signer, alg, BCL_TYP, claims);
	keyset_release(ks);
	json_decref(claims);
	return rc;
}

/* The RP's answer for the attempt's record: printable ASCII only, cut short. */
static void bcl_reply_excerpt(struct buf *detail, const struct fetch_result *res)
{
	char text[BCL_MAX_REPLY + 1];
	size_t n = 0;

	for (size_t i = 0; i < res->body.len && n < BCL_MAX_REPLY; i++) {
		unsigned char c = (unsigned char)res->body.ptr[i];

		text[n++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	while (n && text[n - 1] == ' ')
		n--;
	text[n] = '\0';
	if (buf_printf(detail, "HTTP %ld%s%s", res->status, n ? ": " : "", text) != 0)
		buf_reset(detail);
}

/* Audits the attempt in its own transaction. The delivery's outcome stands
 * whatever happens here: a failure is logged, not retried (the RP has been
 * told already when it answered 2xx). */
static void bcl_audit(provider *p, const struct bcl_msg *m, const char *action, const char *jti,
                      long status, const char *detail)
{
	json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:s}", "env", m->env, "client_id", m->client_id,
	                      "uri", m->uri, "jti", jti ? jti : "", "detail", detail ? detail : "");
	char subject[BCL_MAX_FIELD + 16];
	int rc;

	if (d && status > 0)
		json_object_set_new(d, "status", json_integer(status));
	snprintf(subject, sizeof(subject), "session:%s", m->sid);
	rc = d ? store_begin(p->store) : careid_error_set(CAREID_ENOMEM, "out of memory");
	if (rc == 0) {
		rc = audit_record(p->store, "system", action, subject, d);
		rc = rc ? (store_rollback(p->store), rc) : store_commit(p->store);
	}
	if (rc)
		log_pack(LOG_WARN, "logout_audit_failed", "{s:s, s:s, s:s, s:s, s:s}", "env",
		         m->env, "client_id", m->client_id, "sid", m->sid, "action", action,
		         "error", careid_error_last()->message);
	json_decref(d);
}

static int bcl_deliver(void *ctx, const json_t *payload, struct buf *detail)
{
	provider *p = ctx;
	struct fetch_result res = {0};
	struct client *c = NULL;
	struct bcl_msg m;
	struct buf body;
	char jti[32] = "", *token = NULL;
	const char *action;
	int rc;

	buf_init(&body, JWS_MAX_LEN + 32);
	rc = bcl_msg_parse(&m, payload);
	if (rc < 0) {
		if (buf_puts(detail, careid_error_last()->message) != 0)
			buf_reset(detail);
		goto out; /* nothing to audit it under: the outbox records it */
	}
	rc = client_get(&c, p->store, m.env, m.client_id);
	if (rc == CAREID_ENOTFOUND) {
		rc = CAREID_EINVALID;
		if (buf_puts(detail, "the client is no longer registered") != 0)
			buf_reset(detail);
		bcl_audit(p, &m, "logout.refused", NULL, 0, detail->ptr);
		goto out;
	}
	if (rc < 0)
		goto out; /* the store: try again later */
	rc = bcl_sign(&token, jti, p, &m, c->id_token_alg);
	if (rc == CAREID_EUNSUPPORTED || rc == CAREID_EINVALID) {
		rc = CAREID_EINVALID;
		if (buf_printf(detail, "cannot sign a logout token with %s", c->id_token_alg) != 0)
			buf_reset(detail);
		bcl_audit(p, &m, "logout.refused", NULL, 0, detail->ptr);
		goto out;
	}
	if (rc < 0)
		goto out;
	/* A compact JWS is base64url and dots: nothing to percent-encode. */
	rc = buf_printf(&body, "logout_token=%s", token);
	if (rc < 0)
		goto out;
	/* a supplier's URI: in a real deployment, never one of our own addresses */
	rc = fetch_post_form_opts(
	    &res, m.uri, body.ptr,
	    &(struct fetch_opts){.timeout_s = BCL_TIMEOUT_S,
	                         .public_only = fetch_public_only(p->public_url)});
	if (rc < 0) {
		if (buf_puts(detail, careid_error_last()->message) != 0)
			buf_reset(detail);
		rc = CAREID_EIO;
		action = "logout.retry";
	} else if (res.status >= 200 && res.status < 300) {
		bcl_reply_excerpt(detail, &res);
		rc = 0;
		action = "logout.delivered";
	} else if (res.status == 400) {
		/* §2.8: the RP refused the token; sending it again changes nothing. */
		bcl_reply_excerpt(detail, &res);
		rc = CAREID_EINVALID;
		action = "logout.refused";
	} else {
		bcl_reply_excerpt(detail, &res);
		rc = CAREID_EIO;
		action = "logout.retry";
	}
	bcl_audit(p, &m, action, jti, res.status, detail->ptr);
out:
	buf_release(&res.body);
	buf_release(&body);
	client_free(c);
	free(token);
	return rc;
}

void backchannel_handler(struct outbox_handler *out, provider *p)
{
	memset(out, 0, sizeof(*out));
	out->kind = BACKCHANNEL_KIND;
	out->deliver = bcl_deliver;
	out->ctx = p;
}

/* Test logout tokens (backchannel.h, docs/conformance-evidence.md). */

/* The newest "logout.test_requested" of the walk's environment. */
struct bct_last {
	const char *env;
	int64_t at;
	bool found;
};

static int bct_last_request(void *ctx, const struct audit_event *e)
{
	struct bct_last *l = ctx;
	const char *env = json_string_value(json_object_get(e->detail, "env"));

	if (!env || strcmp(env, l->env) != 0)
		return 0;
	l->at = e->at;
	l->found = true;
	return 1; /* newest first: the first one is it */
}

/*
 * The limits on test requests, checked inside the transaction that would
 * queue them (so two requests at once cannot both pass): the client's
 * previous request at least BCT_COOLDOWN_S ago, none of its test messages
 * still waiting, and room for two more among every client's waiting ones.
 * CAREID_EBUSY with `*retry_after` (seconds) when not.
 */
static int bct_limits(store *s, const char *env, const char *client_id, int64_t now,
                      int64_t *retry_after)
{
	static const char *const requested[] = {"logout.test_requested", NULL};
	/* test messages not yet attempted (or whose attempt is not recorded
	 * yet): the pending rows, found through the outbox's due index */
	static const char sql[] = "SELECT payload FROM outbox WHERE state = 'pending' AND "
	                          "kind = $1 LIMIT $2";
	const struct audit_client_query q = {.client_id = client_id,
	                                     .actions = requested,
	                                     .since = now - BCT_COOLDOWN_S + 1,
	                                     .max = 50,
	                                     .newest_first = true};
	struct bct_last last = {env, 0, false};
	store_stmt *st = NULL;
	int64_t pending = 0;
	bool mine = false;
	int rc;

	rc = audit_client_events(s, &q, bct_last_request, &last);
	if (rc < 0)
		return rc;
	if (last.found) {
		int64_t wait = BCT_COOLDOWN_S - (now - last.at);

		*retry_after = wait < 1 ? 1 : wait > BCT_COOLDOWN_S ? BCT_COOLDOWN_S : wait;
		return careid_error_set(CAREID_EBUSY,
		                        "wait %lld seconds before sending test logout tokens again",
		                        (long long)*retry_after);
	}
	rc = store_query(s, &st, sql, "ti", BACKCHANNEL_TEST_KIND, (int64_t)BCT_PENDING_MAX);
	while (!rc && (rc = store_next(st)) == 1) {
		json_t *p = json_loads(store_text(st, 0), 0, NULL);
		const char *e = json_string_value(json_object_get(p, "env"));
		const char *c = json_string_value(json_object_get(p, "client_id"));

		rc = 0;
		pending++;
		mine = mine || (e && c && strcmp(e, env) == 0 && strcmp(c, client_id) == 0);
		json_decref(p);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (mine) {
		*retry_after = BCT_OUTSTANDING_S;
		return careid_error_set(
		    CAREID_EBUSY,
		    "the test logout tokens asked for before are still being "
		    "sent: wait %d seconds before sending test logout tokens again",
		    BCT_OUTSTANDING_S);
	}
	if (pending + 2 > BCT_PENDING_MAX) {
		*retry_after = BCT_BUSY_S;
		return careid_error_set(
		    CAREID_EBUSY, "too many test logout tokens are waiting to be sent; try again "
		                  "in a minute");
	}
	return 0;
}

/* Queues the two test messages in random order, so that an RP cannot pass by
 * answering 200, then 400, without validating either. */
static int bct_enqueue_both(store *s, json_t *payload)
{
	unsigned char coin;
	int rc = 0;

	crypto_random_bytes(&coin, sizeof(coin));
	for (int i = 0; !rc && i < 2; i++) {
		bool valid = (i == 0) == ((coin & 1) != 0);

		rc = json_object_set_new(payload, "valid", json_boolean(valid))
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : outbox_enqueue(s, BACKCHANNEL_TEST_KIND, payload, NULL);
	}
	return rc;
}

static int bct_queue(store *s, const char *env, const char *client_id, const char *actor,
                     json_t **out, int64_t *retry_after)
{
	static const char sql[] =
	    "SELECT sc.sid, se.uid FROM session_clients sc JOIN sessions se ON se.env = sc.env "
	    "AND se.sid = sc.sid WHERE sc.env = $1 AND sc.client_id = $2 "
	    "ORDER BY sc.last_at DESC, se.created_at DESC, sc.sid LIMIT 1";
	struct client *c = NULL;
	store_stmt *st = NULL;
	json_t *payload = NULL, *detail = NULL;
	char sid[BCL_MAX_FIELD + 1] = "", sub[BCL_MAX_FIELD + 1] = "", *subject = NULL;
	int64_t now = clock_now();
	int rc;

	if (out)
		*out = NULL;
	*retry_after = 0;
	if (!s || !env || env_index(env) < 0)
		return careid_error_set(CAREID_EINVALID, "unknown environment %s", env ? env : "");
	if (!client_id || !*client_id || strlen(client_id) > BCL_MAX_FIELD)
		return careid_error_set(CAREID_ENOTFOUND, "no client %s is registered in %s",
		                        client_id ? client_id : "", env);
	rc = client_get(&c, s, env, client_id);
	if (rc == CAREID_ENOTFOUND)
		return careid_error_set(CAREID_ENOTFOUND, "no client %s is registered in %s",
		                        client_id, env);
	if (rc)
		return rc;
	if (!c->backchannel_logout_uri || !*c->backchannel_logout_uri) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "register a back-channel logout URI for this client first");
		goto out;
	}
	rc = store_query(s, &st, sql, "tt", env, client_id);
	if (!rc)
		rc = store_next(st);
	if (rc == 1) {
		snprintf(sid, sizeof(sid), "%s", store_text(st, 0));
		snprintf(sub, sizeof(sub), "%s", store_text(st, 1));
		rc = 0;
	} else if (rc == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND,
		                      "sign in to this client in %s first: the valid test token "
		                      "names a real session",
		                      env);
	}
	store_done(st);
	if (rc)
		goto out;
	payload = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "env", env, "client_id", client_id,
	                    "sid", sid, "sub", sub, "uri", c->backchannel_logout_uri,
	                    "requested_at", (json_int_t)now);
	detail = json_pack("{s:s, s:s, s:s, s:I}", "env", env, "client_id", client_id, "uri",
	                   c->backchannel_logout_uri, "requested_at", (json_int_t)now);
	if (!payload || !detail || asprintf(&subject, "client:%s", client_id) < 0) {
		subject = NULL;
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_begin(s);
	if (rc)
		goto out;
	rc = bct_limits(s, env, client_id, now, retry_after);
	if (!rc)
		rc = audit_record(s, actor ? actor : "system", "logout.test_requested", subject,
		                  detail);
	if (!rc)
		rc = bct_enqueue_both(s, payload);
	rc = rc ? (store_rollback(s), rc) : store_commit(s);
	if (rc)
		goto out;
	if (out) {
		*out = json_pack("{s:s, s:s, s:s, s:s, s:I}", "env", env, "client_id", client_id,
		                 "uri", c->backchannel_logout_uri, "sid", sid, "requested_at",
		                 (json_int_t)now);
		if (!*out)
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	log_pack(LOG_INFO, "logout_test_requested", "{s:s, s:s, s:s}", "env", env, "client_id",
	         client_id, "sid", sid);
out:
	json_decref(payload);
	json_decref(detail);
	free(subject);
	client_free(c);
	return rc;
}

int backchannel_queue_tests(store *s, const char *env, const char *client_id, const char *actor,
                            json_t **out)
{
	int64_t retry_after;

	return bct_queue(s, env, client_id, actor, out, &retry_after);
}

int backchannel_send_tests(provider *p, const char *env, const char *client_id, const char *actor,
                           json_t **out, int64_t *retry_after_out)
{
	int64_t retry_after = 0;
	int rc;

	if (retry_after_out)
		*retry_after_out = 0;
	if (!p)
		return careid_error_set(CAREID_EINVALID, "backchannel: no provider");
	rc = bct_queue(p->store, env, client_id, actor, out, &retry_after);
	if (retry_after_out)
		*retry_after_out = retry_after;
	return rc;
}

/* A signature that cannot verify, over claims left as they are: one
 * character of the signature changed, the middle one (every bit of it is
 * significant, unlike the last one's). */
static void bct_spoil(char *token)
{
	char *sig = strrchr(token, '.');
	size_t n = sig ? strlen(sig + 1) : 0;

	if (n >= 2)
		sig[1 + n / 2] = sig[1 + n / 2] == 'A' ? 'B' : 'A';
}

/* "logout.test" in its own transaction; like bcl_audit(), a failure here is
 * logged and the delivery's result stands. */
static void bct_audit(provider *p, const struct bcl_msg *m, bool valid, int64_t requested_at,
                      const char *jti, long status, const char *detail)
{
	const char *outcome = status >= 200 && status < 300 ? "accepted"
	                      : status == 400               ? "rejected"
	                                                    : "failed";
	json_t *d =
	    json_pack("{s:s, s:s, s:s, s:b, s:I, s:s, s:s, s:s, s:I}", "env", m->env, "client_id",
	              m->client_id, "uri", m->uri, "valid", valid, "status", (json_int_t)status,
	              "outcome", outcome, "jti", jti ? jti : "", "detail", detail ? detail : "",
	              "requested_at", (json_int_t)requested_at);
	char subject[BCL_MAX_FIELD + 16];
	int rc;

	snprintf(subject, sizeof(subject), "client:%s", m->client_id);
	rc = d ? store_begin(p->store) : careid_error_set(CAREID_ENOMEM, "out of memory");
	if (rc == 0) {
		rc = audit_record(p->store, "system", "logout.test", subject, d);
		rc = rc ? (store_rollback(p->store), rc) : store_commit(p->store);
	}
	if (rc)
		log_pack(LOG_WARN, "logout_audit_failed", "{s:s, s:s, s:s, s:s}", "env", m->env,
		         "client_id", m->client_id, "action", "logout.test", "error",
		         careid_error_last()->message);
	else
		log_pack(LOG_INFO, "logout_test", "{s:s, s:s, s:b, s:i, s:s}", "env", m->env,
		         "client_id", m->client_id, "valid", valid, "status", (int)status,
		         "outcome", outcome);
	json_decref(d);
}

/* One attempt only: every result but a store failure before the POST is
 * final (0 once the RP answered, whatever it answered; CAREID_EINVALID
 * otherwise). It signs and posts, and touches no session. */
static int bct_deliver(void *ctx, const json_t *payload, struct buf *detail)
{
	provider *p = ctx;
	struct fetch_result res = {0};
	struct client *c = NULL;
	struct bcl_msg m;
	struct buf body;
	char jti[32] = "", *token = NULL;
	bool valid = json_is_true(json_object_get(payload, "valid"));
	int64_t requested_at = json_integer_value(json_object_get(payload, "requested_at"));
	int rc;

	buf_init(&body, JWS_MAX_LEN + 32);
	rc = bcl_msg_parse(&m, payload);
	if (rc < 0) {
		if (buf_puts(detail, careid_error_last()->message) != 0)
			buf_reset(detail);
		rc = CAREID_EINVALID;
		goto out;
	}
	rc = client_get(&c, p->store, m.env, m.client_id);
	if (rc == CAREID_ENOTFOUND) {
		rc = CAREID_EINVALID;
		if (buf_puts(detail, "the client is no longer registered") != 0)
			buf_reset(detail);
		bct_audit(p, &m, valid, requested_at, NULL, 0, detail->ptr);
		goto out;
	}
	if (rc < 0)
		goto out; /* the store: nothing was sent yet, try again later */
	rc = bcl_sign(&token, jti, p, &m, c->id_token_alg);
	if (rc < 0) {
		if (buf_printf(detail, "cannot sign a logout token with %s", c->id_token_alg) != 0)
			buf_reset(detail);
		rc = CAREID_EINVALID;
		bct_audit(p, &m, valid, requested_at, NULL, 0, detail->ptr);
		goto out;
	}
	if (!valid)
		bct_spoil(token);
	rc = buf_printf(&body, "logout_token=%s", token);
	if (rc < 0) {
		rc = CAREID_EINVALID;
		goto out;
	}
	/* a supplier's URI: in a real deployment, never one of our own addresses */
	rc = fetch_post_form_opts(
	    &res, m.uri, body.ptr,
	    &(struct fetch_opts){.timeout_s = BCT_TIMEOUT_S,
	                         .public_only = fetch_public_only(p->public_url)});
	if (rc < 0) {
		if (buf_puts(detail, careid_error_last()->message) != 0)
			buf_reset(detail);
		res.status = 0;
		rc = CAREID_EINVALID;
	} else {
		bcl_reply_excerpt(detail, &res);
		rc = 0;
	}
	bct_audit(p, &m, valid, requested_at, jti, res.status, detail->ptr);
out:
	buf_release(&res.body);
	buf_release(&body);
	client_free(c);
	free(token);
	return rc;
}

void backchannel_test_handler(struct outbox_handler *out, provider *p)
{
	memset(out, 0, sizeof(*out));
	out->kind = BACKCHANNEL_TEST_KIND;
	out->deliver = bct_deliver;
	out->ctx = p;
}
