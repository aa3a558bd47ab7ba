/*
 * Tests src/oidc/backchannel.c: which clients of a session are queued (inside
 * the caller's transaction), the logout token careid signs (header and claims
 * checked against the environment's published keys), and what each answer of
 * the relying party does: 2xx delivered, 400 failed for good, 503 and
 * unreachable retried with a fresh token. And the test logout tokens a
 * supplier asks for (backchannel_send_tests): their errors, the valid and the
 * deliberately invalid token, one attempt each, their "logout.test" events,
 * queued in random order; the limits on requests (a cooldown per client, one
 * request waiting per client, a cap on every client's waiting test messages)
 * and the short timeout of a test delivery.
 * The relying party is a real HTTP server (http/server.c) on 127.0.0.1; the
 * outbox is drained on the test's thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"
#include "http/fetch.h"
#include "http/server.h"
#include "oidc/backchannel.h"
#include "oidc/oidc_int.h"
#include "outbox/outbox.h"

#define EVENT    "http://schemas.openid.net/event/backchannel-logout"
#define MAX_SEEN 16
#define UID      "910000000001"

/* What the relying party received; guarded by `lock` (server threads). */
static struct {
	pthread_mutex_t lock;
	char *tokens[MAX_SEEN];
	char *content_types[MAX_SEEN];
	int extra_params[MAX_SEEN];
	int n;
	atomic_int status; /* what it answers */
} rp = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int rp_handler(void *ctx, struct http_request *req, struct http_response *res)
{
	const char *token = form_get(&req->form, "logout_token");
	const char *ct = http_header(req, "Content-Type");
	int status = atomic_load(&rp.status);

	(void)ctx;
	pthread_mutex_lock(&rp.lock);
	if (rp.n < MAX_SEEN) {
		rp.tokens[rp.n] = token ? strdup(token) : NULL;
		rp.content_types[rp.n] = ct ? strdup(ct) : NULL;
		rp.extra_params[rp.n] =
		    strcmp(req->method, "POST") != 0 || form_count(&req->form, "logout_token") != 1;
		rp.n++;
	}
	pthread_mutex_unlock(&rp.lock);
	if (status == 400)
		return http_send(res, 400, "application/json", "{\"error\":\"invalid_request\"}",
		                 27);
	return http_send(res, status, "text/plain", "", 0);
}

static void rp_reset(int status)
{
	pthread_mutex_lock(&rp.lock);
	for (int i = 0; i < rp.n; i++) {
		free(rp.tokens[i]);
		free(rp.content_types[i]);
	}
	rp.n = 0;
	pthread_mutex_unlock(&rp.lock);
	atomic_store(&rp.status, status);
}

static int rp_count(void)
{
	int n;

	pthread_mutex_lock(&rp.lock);
	n = rp.n;
	pthread_mutex_unlock(&rp.lock);
	return n;
}

struct fixture {
	char dir[256];
	store *s;
	provider *p;
	http_server *srv;
	outbox *ob;
	char rp_url[128];
	char client_a[64], client_b[64], client_c[64];
};

static void add_client(struct fixture *f, char out[64], const char *alg, const char *bcl_uri)
{
	const char *uris[] = {"https://rp.example/cb"};
	struct client_new cn = {.env = "mock",
	                        .name = "logout test",
	                        .redirect_uris = uris,
	                        .nredirect = 1,
	                        .id_token_alg = alg,
	                        .backchannel_logout_uri = bcl_uri};
	json_t *j = NULL;

	assert_int_equal(client_add(&j, f->s, provider_secrets(f->p), &cn), 0);
	snprintf(out, 64, "%s", json_string_value(json_object_get(j, "client_id")));
	json_decref(j);
}

static void signed_in(struct fixture *f, const char *sid, const char *client_id)
{
	assert_int_equal(store_exec(f->s,
	                            "INSERT INTO session_clients (env, sid, client_id, first_at, "
	                            "last_at) VALUES ($1, $2, $3, $4, $5)",
	                            "tttii", "mock", sid, client_id, clock_now(), clock_now()),
	                 1);
}

/* Once for the file: generating five environments' keys is the slow part. */
static int group_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct http_server_opts so = {.addr = "127.0.0.1", .threads = 2, .handler = rp_handler};
	struct provider_opts po = {0};
	struct outbox_handler h[2];
	char url[300];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	assert_int_equal(fetch_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-bcl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	assert_int_equal(http_server_start(&f->srv, &so), 0);
	snprintf(f->rp_url, sizeof(f->rp_url), "http://127.0.0.1:%u/logout",
	         http_server_port(f->srv));
	po.store = f->s;
	po.public_url = "http://127.0.0.1:9";
	assert_int_equal(provider_new(&f->p, &po), 0);
	backchannel_handler(&h[0], f->p);
	assert_string_equal(h[0].kind, BACKCHANNEL_KIND);
	backchannel_test_handler(&h[1], f->p);
	assert_string_equal(h[1].kind, BACKCHANNEL_TEST_KIND);
	assert_int_equal(outbox_new(&f->ob, f->s, h, 2, NULL), 0);
	add_client(f, f->client_a, "PS256", f->rp_url);
	add_client(f, f->client_b, "RS256", NULL); /* no back-channel URI */
	add_client(f, f->client_c, "RS256", f->rp_url);
	rp_reset(200);
	*state = f;
	return 0;
}

/* The test requests made so far moved a minute back: their cooldown is over
 * (careid's clock is the system's). */
static int cool_down(struct fixture *f)
{
	return store_exec(f->s,
	                  "UPDATE audit_events SET at = at - 60 WHERE action = "
	                  "'logout.test_requested'",
	                  "");
}

/* Before each test: no messages, attempts or session clients left over, and
 * no test request in its cooldown. */
static int setup(void **state)
{
	struct fixture *f = *state;

	if (store_exec(f->s, "DELETE FROM outbox_attempts", "") < 0 ||
	    store_exec(f->s, "DELETE FROM outbox", "") < 0 ||
	    store_exec(f->s, "DELETE FROM session_clients", "") < 0 ||
	    store_exec(f->s, "DELETE FROM sessions", "") < 0 || cool_down(f) < 0)
		return -1;
	rp_reset(200);
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[300];

	rp_reset(200);
	outbox_free(f->ob);
	http_server_stop(f->srv, 2);
	provider_free(f->p);
	store_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* Ends session `sid` as session_end() does: enqueue inside a transaction. */
static int end_session(struct fixture *f, const char *sid)
{
	int queued = -1;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(backchannel_enqueue(f->s, "mock", sid, UID, &queued), 0);
	assert_int_equal(store_commit(f->s), 0);
	return queued;
}

static int64_t count_rows(struct fixture *f, const char *sql)
{
	store_stmt *st = NULL;
	int64_t n;

	assert_int_equal(store_query(f->s, &st, sql, ""), 0);
	assert_int_equal(store_next(st), 1);
	n = store_int(st, 0);
	store_done(st);
	return n;
}

/* The outbox message's state and attempts (there is exactly one). */
static void outbox_row(struct fixture *f, char state[16], int64_t *attempts)
{
	store_stmt *st = NULL;

	assert_int_equal(store_query(f->s, &st, "SELECT state, attempts FROM outbox", ""), 0);
	assert_int_equal(store_next(st), 1);
	snprintf(state, 16, "%s", store_text(st, 0));
	*attempts = store_int(st, 1);
	assert_int_equal(store_next(st), 0);
	store_done(st);
}

/* The audit actions recorded for session `sid`, space-separated, in order. */
static void audit_actions(struct fixture *f, const char *sid, char *out, size_t outsz,
                          json_t **last_detail)
{
	char subject[128];
	store_stmt *st = NULL;
	size_t n = 0;

	snprintf(subject, sizeof(subject), "session:%s", sid);
	out[0] = '\0';
	assert_int_equal(store_query(f->s, &st,
	                             "SELECT action, detail FROM audit_events WHERE subject = $1 "
	                             "ORDER BY seq",
	                             "t", subject),
	                 0);
	while (store_next(st) == 1) {
		n += (size_t)snprintf(out + n, outsz - n, "%s%s", n ? " " : "", store_text(st, 0));
		if (last_detail) {
			json_decref(*last_detail);
			*last_detail = json_loads(store_text(st, 1), 0, NULL);
		}
	}
	store_done(st);
}

/* Verifies token `i` against the environment's published keys and checks
 * its header; returns its claims (new reference). */
static json_t *verified_token(struct fixture *f, int i, const char **alg_out)
{
	static const char *const algs[] = {"RS256", "PS256", NULL};
	const struct keyset *ks = keyring_get(f->p->envs[0].keys);
	json_t *header = NULL, *claims = NULL;
	const char *token;

	pthread_mutex_lock(&rp.lock);
	token = rp.tokens[i];
	assert_non_null(token);
	assert_string_equal(rp.content_types[i], "application/x-www-form-urlencoded");
	assert_int_equal(rp.extra_params[i], 0);
	pthread_mutex_unlock(&rp.lock);
	assert_int_equal(jws_peek(token, &header, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(header, "typ")), "logout+jwt");
	assert_string_equal(json_string_value(json_object_get(header, "kid")),
	                    signing_key_kid(ks->signer));
	*alg_out = json_string_value(json_object_get(header, "alg")) &&
	                   strcmp(json_string_value(json_object_get(header, "alg")), "PS256") == 0
	               ? "PS256"
	               : "RS256";
	assert_int_equal(jws_verify_jwks(&claims, token, ks->jwks, algs), 0);
	keyset_release(ks);
	json_decref(header);
	return claims;
}

static void check_claims(struct fixture *f, const json_t *c, const char *sid, const char *client)
{
	const json_t *aud = json_object_get(c, "aud"), *events = json_object_get(c, "events");
	int64_t now = clock_now(), iat = json_integer_value(json_object_get(c, "iat"));
	const char *jti = json_string_value(json_object_get(c, "jti"));

	assert_string_equal(json_string_value(json_object_get(c, "iss")), provider_issuer(f->p, 0));
	assert_true(json_is_array(aud) && json_array_size(aud) == 1);
	assert_string_equal(json_string_value(json_array_get(aud, 0)), client);
	assert_string_equal(json_string_value(json_object_get(c, "sid")), sid);
	assert_string_equal(json_string_value(json_object_get(c, "sub")), UID);
	assert_true(iat <= now && iat >= now - 10);
	assert_int_equal(json_integer_value(json_object_get(c, "exp")), iat + 120);
	assert_non_null(jti);
	assert_true(strlen(jti) >= 22);
	assert_true(json_is_object(events) && json_object_size(events) == 1);
	assert_true(json_is_object(json_object_get(events, EVENT)));
	assert_int_equal(json_object_size(json_object_get(events, EVENT)), 0);
	assert_null(json_object_get(c, "nonce"));
	/* nothing else: the claims of §2.4 and no more */
	assert_int_equal(json_object_size(c), 8);
}

static void test_enqueue_only_clients_with_a_uri(void **state)
{
	struct fixture *f = *state;
	int queued = -1;

	signed_in(f, "sid-1", f->client_a);
	signed_in(f, "sid-1", f->client_b);
	signed_in(f, "sid-1", f->client_c);
	signed_in(f, "sid-2", f->client_b);
	signed_in(f, "sid-x", f->client_a); /* another session of the same client */
	/* A session whose only client registered no URI: nothing to send. */
	assert_int_equal(end_session(f, "sid-2"), 0);
	assert_int_equal(end_session(f, "sid-unknown"), 0);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox"), 0);
	/* Rolled back with the session's end: nothing is sent. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(backchannel_enqueue(f->s, "mock", "sid-1", UID, &queued), 0);
	assert_int_equal(queued, 2);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox"), 0);
	assert_int_equal(outbox_drain(f->ob, 2000), 0);
	assert_int_equal(rp_count(), 0);
	/* Committed: one message per client with a URI, of this session only. */
	assert_int_equal(end_session(f, "sid-1"), 2);
	assert_int_equal(
	    count_rows(f, "SELECT COUNT(*) FROM outbox WHERE kind = 'backchannel_logout'"), 2);
	/* Another environment's session of the same id is not this one. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(backchannel_enqueue(f->s, "int", "sid-1", UID, &queued), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(queued, 0);
	assert_int_equal(backchannel_enqueue(f->s, NULL, "sid-1", UID, NULL), CAREID_EINVALID);
}

static void test_delivered_tokens(void **state)
{
	struct fixture *f = *state;
	char actions[256];
	json_t *detail = NULL;
	bool seen_a = false, seen_c = false;

	signed_in(f, "sid-1", f->client_a);
	signed_in(f, "sid-1", f->client_b);
	signed_in(f, "sid-1", f->client_c);
	assert_int_equal(end_session(f, "sid-1"), 2);
	assert_int_equal(outbox_drain(f->ob, 10000), 2);
	assert_int_equal(rp_count(), 2);
	for (int i = 0; i < 2; i++) {
		const char *alg;
		json_t *c = verified_token(f, i, &alg);
		const char *aud = json_string_value(json_array_get(json_object_get(c, "aud"), 0));

		assert_non_null(aud);
		if (strcmp(aud, f->client_a) == 0) {
			/* signed with the algorithm the client registered for ID tokens */
			assert_string_equal(alg, "PS256");
			seen_a = true;
		} else {
			assert_string_equal(aud, f->client_c);
			assert_string_equal(alg, "RS256");
			seen_c = true;
		}
		check_claims(f, c, "sid-1", aud);
		json_decref(c);
	}
	assert_true(seen_a && seen_c);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'"), 2);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox_attempts WHERE ok = 1"), 2);
	audit_actions(f, "sid-1", actions, sizeof(actions), &detail);
	assert_string_equal(actions, "logout.delivered logout.delivered");
	assert_int_equal(json_integer_value(json_object_get(detail, "status")), 200);
	assert_string_equal(json_string_value(json_object_get(detail, "env")), "mock");
	assert_string_equal(json_string_value(json_object_get(detail, "uri")), f->rp_url);
	json_decref(detail);
	/* nothing more to do */
	assert_int_equal(outbox_drain(f->ob, 2000), 0);
}

static void test_400_is_recorded_and_never_retried(void **state)
{
	struct fixture *f = *state;
	char st[16], actions[256];
	int64_t attempts;
	json_t *detail = NULL;

	signed_in(f, "sid-r", f->client_a);
	rp_reset(400);
	assert_int_equal(end_session(f, "sid-r"), 1);
	assert_int_equal(outbox_drain(f->ob, 10000), 1);
	outbox_row(f, st, &attempts);
	assert_string_equal(st, "failed");
	assert_int_equal(attempts, 1);
	assert_int_equal(
	    count_rows(f, "SELECT COUNT(*) FROM outbox_attempts WHERE ok = 0 AND detail LIKE "
	                  "'HTTP 400: {\"error\":\"invalid_request\"}'"),
	    1);
	/* even when it is due again: a failed message is never attempted */
	assert_int_equal(store_exec(f->s, "UPDATE outbox SET next_attempt_at = 0", ""), 1);
	assert_int_equal(outbox_drain(f->ob, 2000), 0);
	assert_int_equal(rp_count(), 1);
	audit_actions(f, "sid-r", actions, sizeof(actions), &detail);
	assert_string_equal(actions, "logout.refused");
	assert_int_equal(json_integer_value(json_object_get(detail, "status")), 400);
	assert_string_equal(json_string_value(json_object_get(detail, "client_id")), f->client_a);
	json_decref(detail);
}

static void test_503_is_retried_with_a_fresh_token(void **state)
{
	struct fixture *f = *state;
	char st[16], actions[256];
	int64_t attempts;
	const char *alg;
	json_t *c1, *c2;

	signed_in(f, "sid-t", f->client_c);
	rp_reset(503);
	assert_int_equal(end_session(f, "sid-t"), 1);
	assert_int_equal(outbox_drain(f->ob, 10000), 1);
	outbox_row(f, st, &attempts);
	assert_string_equal(st, "pending");
	assert_int_equal(attempts, 1);
	/* backing off: not due yet */
	assert_int_equal(outbox_drain(f->ob, 1000), 0);
	assert_int_equal(store_exec(f->s, "UPDATE outbox SET next_attempt_at = 0", ""), 1);
	atomic_store(&rp.status, 204);
	assert_int_equal(outbox_drain(f->ob, 10000), 1);
	outbox_row(f, st, &attempts);
	assert_string_equal(st, "delivered");
	assert_int_equal(attempts, 2);
	assert_int_equal(rp_count(), 2);
	c1 = verified_token(f, 0, &alg);
	c2 = verified_token(f, 1, &alg);
	check_claims(f, c1, "sid-t", f->client_c);
	check_claims(f, c2, "sid-t", f->client_c);
	/* each attempt is a token of its own (the RP may refuse a replayed jti) */
	assert_string_not_equal(json_string_value(json_object_get(c1, "jti")),
	                        json_string_value(json_object_get(c2, "jti")));
	json_decref(c1);
	json_decref(c2);
	audit_actions(f, "sid-t", actions, sizeof(actions), NULL);
	assert_string_equal(actions, "logout.retry logout.delivered");
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox_attempts WHERE ok = 0 AND "
	                               "detail = 'HTTP 503'"),
	                 1);
}

static void test_unreachable_is_retried(void **state)
{
	struct fixture *f = *state;
	char client[64], st[16], actions[256];
	int64_t attempts;

	/* port 9 (discard) on loopback: nothing listens there */
	add_client(f, client, "RS256", "http://127.0.0.1:9/logout");
	signed_in(f, "sid-u", client);
	assert_int_equal(end_session(f, "sid-u"), 1);
	assert_int_equal(outbox_drain(f->ob, 10000), 1);
	outbox_row(f, st, &attempts);
	assert_string_equal(st, "pending");
	assert_int_equal(attempts, 1);
	/* curl's text naming the address, or (http/fetch.c keeping that for its log)
	 * the generic reason */
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox_attempts WHERE ok = 0 AND "
	                               "(detail LIKE '%127.0.0.1:9%' OR detail = 'could not "
	                               "connect to the host')"),
	                 1);
	audit_actions(f, "sid-u", actions, sizeof(actions), NULL);
	assert_string_equal(actions, "logout.retry");
}

static void test_removed_client_and_bad_payload_fail(void **state)
{
	struct fixture *f = *state;
	char client[64], actions[256];
	json_t *bad;

	add_client(f, client, "RS256", f->rp_url);
	signed_in(f, "sid-g", client);
	assert_int_equal(end_session(f, "sid-g"), 1);
	assert_int_equal(client_delete(f->s, "mock", client), 0);
	bad = json_pack("{s:s, s:s, s:s}", "env", "nowhere", "client_id", f->client_c, "sid", "s");
	assert_int_equal(outbox_enqueue(f->s, BACKCHANNEL_KIND, bad, NULL), 0);
	json_decref(bad);
	assert_int_equal(outbox_drain(f->ob, 10000), 2);
	assert_int_equal(rp_count(), 0);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox WHERE state = 'failed'"), 2);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox_attempts WHERE detail = "
	                               "'the client is no longer registered'"),
	                 1);
	audit_actions(f, "sid-g", actions, sizeof(actions), NULL);
	assert_string_equal(actions, "logout.refused");
}

/* A session of user UID in mock that signed in to `client_id` at `at`. */
static void session_at(struct fixture *f, const char *sid, const char *client_id, int64_t at)
{
	char id_hash[80];

	snprintf(id_hash, sizeof(id_hash), "hash-%s", sid);
	assert_int_equal(store_exec(f->s,
	                            "INSERT INTO sessions (id_hash, env, sid, uid, auth_time, acr, "
	                            "amr, aal, created_at, last_seen, expires_at) VALUES ($1, $2, "
	                            "$3, $4, $5, $6, $7, $8, $9, $10, $11)",
	                            "ttttittiiii", id_hash, "mock", sid, UID, at, "AAL1_USERPASS",
	                            "[\"pwd\"]", (int64_t)1, at, at, at + 3600),
	                 1);
	assert_int_equal(store_exec(f->s,
	                            "INSERT INTO session_clients (env, sid, client_id, first_at, "
	                            "last_at) VALUES ($1, $2, $3, $4, $5)",
	                            "tttii", "mock", sid, client_id, at, at),
	                 1);
}

/* The details of the audit events `action` about `subject`, in order (new array). */
static json_t *audit_details(struct fixture *f, const char *action, const char *subject,
                             const char *actor)
{
	store_stmt *st = NULL;
	json_t *list = json_array();

	assert_int_equal(store_query(f->s, &st,
	                             "SELECT actor, detail FROM audit_events WHERE action = $1 AND "
	                             "subject = $2 ORDER BY seq",
	                             "tt", action, subject),
	                 0);
	while (store_next(st) == 1) {
		if (actor)
			assert_string_equal(store_text(st, 0), actor);
		json_array_append_new(list, json_loads(store_text(st, 1), 0, NULL));
	}
	store_done(st);
	return list;
}

static void test_logout_test_errors(void **state)
{
	struct fixture *f = *state;
	int64_t events = count_rows(f, "SELECT COUNT(*) FROM audit_events");
	json_t *out = NULL;

	assert_int_equal(backchannel_send_tests(f->p, "mock", "no-such-client", "u1", &out, NULL),
	                 CAREID_ENOTFOUND);
	assert_string_equal(careid_error_last()->message,
	                    "no client no-such-client is registered in mock");
	/* the client exists in mock, not in int */
	assert_int_equal(backchannel_send_tests(f->p, "int", f->client_a, "u1", &out, NULL),
	                 CAREID_ENOTFOUND);
	assert_int_equal(backchannel_send_tests(f->p, "nowhere", f->client_a, "u1", &out, NULL),
	                 CAREID_EINVALID);
	session_at(f, "sid-e", f->client_b, clock_now());
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_b, "u1", &out, NULL),
	                 CAREID_EINVALID);
	assert_string_equal(careid_error_last()->message,
	                    "register a back-channel logout URI for this client first");
	/* a URI but no session of this client (sid-e is client_b's) */
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_a, "u1", &out, NULL),
	                 CAREID_ENOTFOUND);
	assert_string_equal(careid_error_last()->message,
	                    "sign in to this client in mock first: the valid test token names a "
	                    "real session");
	assert_null(out);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox"), 0);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM audit_events"), events);
}

static void test_logout_test_tokens(void **state)
{
	struct fixture *f = *state;
	static const char *const algs[] = {"RS256", "PS256", NULL};
	const struct keyset *ks;
	char subject[128];
	json_t *out = NULL, *list, *claims[2] = {NULL, NULL}, *d;
	int64_t now = clock_now(), requested_at;
	int verified = 0, spoiled = -1;

	/* the most recent session of the client is the one the tokens name */
	session_at(f, "sid-old", f->client_a, now - 600);
	session_at(f, "sid-new", f->client_a, now - 60);
	session_at(f, "sid-other", f->client_c, now);
	assert_int_equal(
	    backchannel_send_tests(f->p, "mock", f->client_a, "910000000009", &out, NULL), 0);
	assert_string_equal(json_string_value(json_object_get(out, "uri")), f->rp_url);
	assert_string_equal(json_string_value(json_object_get(out, "sid")), "sid-new");
	assert_string_equal(json_string_value(json_object_get(out, "env")), "mock");
	requested_at = json_integer_value(json_object_get(out, "requested_at"));
	assert_true(requested_at >= now);
	json_decref(out);
	snprintf(subject, sizeof(subject), "client:%s", f->client_a);
	list = audit_details(f, "logout.test_requested", subject, "910000000009");
	assert_int_equal(json_array_size(list), 1);
	d = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(d, "env")), "mock");
	assert_string_equal(json_string_value(json_object_get(d, "client_id")), f->client_a);
	assert_string_equal(json_string_value(json_object_get(d, "uri")), f->rp_url);
	assert_int_equal(json_integer_value(json_object_get(d, "requested_at")), requested_at);
	json_decref(list);
	assert_int_equal(
	    count_rows(f, "SELECT COUNT(*) FROM outbox WHERE kind = '" BACKCHANNEL_TEST_KIND "'"),
	    2);

	/* a naive RP: 200 to anything */
	assert_int_equal(outbox_drain(f->ob, 10000), 2);
	assert_int_equal(rp_count(), 2);
	ks = keyring_get(f->p->envs[0].keys);
	for (int i = 0; i < 2; i++) {
		json_t *header = NULL, *c = NULL;

		pthread_mutex_lock(&rp.lock);
		assert_int_equal(jws_peek(rp.tokens[i], &header, &claims[i]), 0);
		if (jws_verify_jwks(&c, rp.tokens[i], ks->jwks, algs) == 0)
			verified++;
		else
			spoiled = i;
		pthread_mutex_unlock(&rp.lock);
		/* the client's ID token algorithm, the current key, explicitly typed */
		assert_string_equal(json_string_value(json_object_get(header, "alg")), "PS256");
		assert_string_equal(json_string_value(json_object_get(header, "kid")),
		                    signing_key_kid(ks->signer));
		assert_string_equal(json_string_value(json_object_get(header, "typ")),
		                    "logout+jwt");
		/* the claims of a real logout token, for the real session, either way */
		check_claims(f, claims[i], "sid-new", f->client_a);
		json_decref(header);
		json_decref(c);
	}
	keyset_release(ks);
	assert_int_equal(verified, 1);
	assert_true(spoiled >= 0);
	assert_string_not_equal(json_string_value(json_object_get(claims[0], "jti")),
	                        json_string_value(json_object_get(claims[1], "jti")));

	list = audit_details(f, "logout.test", subject, "system");
	assert_int_equal(json_array_size(list), 2);
	for (size_t i = 0; i < 2; i++) {
		const char *jti;

		d = json_array_get(list, i);
		assert_string_equal(json_string_value(json_object_get(d, "env")), "mock");
		assert_string_equal(json_string_value(json_object_get(d, "client_id")),
		                    f->client_a);
		assert_string_equal(json_string_value(json_object_get(d, "uri")), f->rp_url);
		assert_int_equal(json_integer_value(json_object_get(d, "status")), 200);
		/* what the checklist flags: the invalid token accepted */
		assert_string_equal(json_string_value(json_object_get(d, "outcome")), "accepted");
		assert_string_equal(json_string_value(json_object_get(d, "detail")), "HTTP 200");
		assert_int_equal(json_integer_value(json_object_get(d, "requested_at")),
		                 requested_at);
		jti = json_string_value(json_object_get(d, "jti"));
		/* "valid" says which token it was: the one whose signature verified */
		for (int k = 0; k < 2; k++)
			if (strcmp(jti, json_string_value(json_object_get(claims[k], "jti"))) == 0)
				assert_int_equal(json_is_true(json_object_get(d, "valid")),
				                 k != spoiled);
	}
	assert_int_not_equal(json_is_true(json_object_get(json_array_get(list, 0), "valid")),
	                     json_is_true(json_object_get(json_array_get(list, 1), "valid")));
	json_decref(list);
	json_decref(claims[0]);
	json_decref(claims[1]);
	/* careid's own sessions are untouched; nothing else is sent */
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM sessions WHERE ended_at IS NULL"), 3);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM audit_events WHERE action NOT IN "
	                               "('logout.test_requested', 'logout.test') AND seq > "
	                               "(SELECT MAX(seq) FROM audit_events WHERE action = "
	                               "'logout.test_requested')"),
	                 0);
	assert_int_equal(outbox_drain(f->ob, 1000), 0);
	assert_int_equal(rp_count(), 2);
}

/* Each answer is final: a 400 is "rejected", a 503 and an unreachable URI
 * "failed", none retried. */
static void test_logout_test_answers_are_final(void **state)
{
	struct fixture *f = *state;
	char client[64], subject[128];
	json_t *list;

	session_at(f, "sid-a", f->client_c, clock_now());
	rp_reset(400);
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_c, "u1", NULL, NULL), 0);
	assert_int_equal(outbox_drain(f->ob, 10000), 2);
	rp_reset(503);
	assert_true(cool_down(f) >= 1);
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_c, "u1", NULL, NULL), 0);
	assert_int_equal(outbox_drain(f->ob, 10000), 2);
	add_client(f, client, "RS256", "http://127.0.0.1:9/logout");
	session_at(f, "sid-b", client, clock_now());
	assert_int_equal(backchannel_send_tests(f->p, "mock", client, "u1", NULL, NULL), 0);
	assert_int_equal(outbox_drain(f->ob, 10000), 2);
	/* nothing is due again, whatever the answers were */
	assert_int_equal(store_exec(f->s, "UPDATE outbox SET next_attempt_at = 0", ""), 6);
	assert_int_equal(outbox_drain(f->ob, 2000), 0);
	assert_int_equal(rp_count(), 2);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox WHERE attempts = 1"), 6);

	snprintf(subject, sizeof(subject), "client:%s", f->client_c);
	list = audit_details(f, "logout.test", subject, "system");
	assert_int_equal(json_array_size(list), 4);
	for (size_t i = 0; i < 4; i++) {
		const json_t *d = json_array_get(list, i);

		assert_int_equal(json_integer_value(json_object_get(d, "status")),
		                 i < 2 ? 400 : 503);
		assert_string_equal(json_string_value(json_object_get(d, "outcome")),
		                    i < 2 ? "rejected" : "failed");
	}
	json_decref(list);
	snprintf(subject, sizeof(subject), "client:%s", client);
	list = audit_details(f, "logout.test", subject, "system");
	assert_int_equal(json_array_size(list), 2);
	for (size_t i = 0; i < 2; i++) {
		const json_t *d = json_array_get(list, i);

		assert_int_equal(json_integer_value(json_object_get(d, "status")), 0);
		assert_string_equal(json_string_value(json_object_get(d, "outcome")), "failed");
		assert_true(
		    strstr(json_string_value(json_object_get(d, "detail")), "127.0.0.1:9") ||
		    strcmp(json_string_value(json_object_get(d, "detail")),
		           "could not connect to the host") == 0);
	}
	json_decref(list);
}

/* The refused request recorded and queued nothing. */
static void nothing_more(struct fixture *f, int64_t events, int64_t queued)
{
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM audit_events"), events);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox"), queued);
}

/* One request per client every 30 s, none while the client's earlier test
 * messages wait, at most 20 waiting for every client together: CAREID_EBUSY,
 * with how long to wait, and nothing recorded. */
static void test_logout_test_limits(void **state)
{
	struct fixture *f = *state;
	char other[64];
	int64_t events, retry = -1;
	json_t *filler;

	add_client(f, other, "RS256", f->rp_url);
	session_at(f, "sid-l1", f->client_a, clock_now());
	session_at(f, "sid-l2", other, clock_now());
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_a, "u1", NULL, &retry), 0);
	assert_int_equal(retry, 0);
	events = count_rows(f, "SELECT COUNT(*) FROM audit_events");

	/* at once again: the cooldown, whoever asks */
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_a, "u2", NULL, &retry),
	                 CAREID_EBUSY);
	assert_true(retry >= 29 && retry <= 30);
	assert_string_equal(careid_error_last()->message,
	                    retry == 30
	                        ? "wait 30 seconds before sending test logout tokens again"
	                        : "wait 29 seconds before sending test logout tokens again");
	assert_int_equal(backchannel_queue_tests(f->s, "mock", f->client_a, "admin", NULL),
	                 CAREID_EBUSY);
	nothing_more(f, events, 2);
	/* another client is not held back by it */
	assert_int_equal(backchannel_send_tests(f->p, "mock", other, "u1", NULL, &retry), 0);
	events = count_rows(f, "SELECT COUNT(*) FROM audit_events");

	/* past the cooldown, but the first request's tokens are still waiting */
	assert_true(cool_down(f) >= 2);
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_a, "u1", NULL, &retry),
	                 CAREID_EBUSY);
	assert_int_equal(retry, 10);
	assert_string_equal(careid_error_last()->message,
	                    "the test logout tokens asked for before are still being sent: wait "
	                    "10 seconds before sending test logout tokens again");
	nothing_more(f, events, 4);

	/* sent: the client may ask again */
	assert_int_equal(outbox_drain(f->ob, 10000), 4);
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_a, "u1", NULL, &retry), 0);
	assert_int_equal(outbox_drain(f->ob, 10000), 2);

	/* every client's test messages together: 18 waiting leave room for one more
	 * request (20), 19 do not */
	assert_true(cool_down(f) >= 1);
	filler = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:I}", "env", "mock", "client_id",
	                   f->client_c, "sid", "sid-x", "sub", UID, "uri", "http://127.0.0.1:9/x",
	                   "valid", 1, "requested_at", (json_int_t)clock_now());
	for (int i = 0; i < 19; i++)
		assert_int_equal(outbox_enqueue(f->s, BACKCHANNEL_TEST_KIND, filler, NULL), 0);
	json_decref(filler);
	events = count_rows(f, "SELECT COUNT(*) FROM audit_events");
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_a, "u1", NULL, &retry),
	                 CAREID_EBUSY);
	assert_int_equal(retry, 60);
	assert_string_equal(careid_error_last()->message,
	                    "too many test logout tokens are waiting to be sent; try again in a "
	                    "minute");
	nothing_more(f, events, 4 + 2 + 19);
	/* real logout tokens are no test messages: not counted */
	assert_int_equal(store_exec(f->s,
	                            "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE "
	                            "state = 'pending' LIMIT 1)",
	                            ""),
	                 1);
	signed_in(f, "sid-l3", f->client_c);
	assert_int_equal(end_session(f, "sid-l3"), 1);
	assert_int_equal(backchannel_send_tests(f->p, "mock", f->client_a, "u1", NULL, &retry), 0);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND "
	                               "kind = '" BACKCHANNEL_TEST_KIND "'"),
	                 20);
	assert_int_equal(store_exec(f->s, "DELETE FROM outbox WHERE state = 'pending'", ""), 21);
}

/* The valid token is not always first: an RP answering 200, then 400, without
 * validating, would pass. */
static void test_logout_test_random_order(void **state)
{
	struct fixture *f = *state;
	int valid_first = 0, trials = 40;

	session_at(f, "sid-o", f->client_c, clock_now());
	for (int i = 0; i < trials; i++) {
		store_stmt *st = NULL;
		json_t *p;
		int first;

		assert_int_equal(
		    backchannel_send_tests(f->p, "mock", f->client_c, "u1", NULL, NULL), 0);
		assert_int_equal(
		    store_query(f->s, &st,
		                "SELECT payload FROM outbox WHERE kind = '" BACKCHANNEL_TEST_KIND
		                "' ORDER BY rowid",
		                ""),
		    0);
		assert_int_equal(store_next(st), 1);
		p = json_loads(store_text(st, 0), 0, NULL);
		first = json_is_true(json_object_get(p, "valid"));
		valid_first += first;
		json_decref(p);
		/* and the other one second */
		assert_int_equal(store_next(st), 1);
		p = json_loads(store_text(st, 0), 0, NULL);
		assert_true(json_is_boolean(json_object_get(p, "valid")));
		assert_int_not_equal(json_is_true(json_object_get(p, "valid")), first);
		json_decref(p);
		assert_int_equal(store_next(st), 0);
		store_done(st);
		assert_int_equal(store_exec(f->s, "DELETE FROM outbox", ""), 2);
		assert_true(cool_down(f) >= 1);
	}
	/* each order about half the time (2^-39 to fail by chance) */
	assert_true(valid_first > 0 && valid_first < trials);
}

/* A test delivery gives up after 3 s on an endpoint that never answers (one
 * that accepts the connection and says nothing). */
static void test_logout_test_short_timeout(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	char client[64], uri[80];
	int64_t start;
	int fd;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(uri, sizeof(uri), "http://127.0.0.1:%u/silent", (unsigned)ntohs(a.sin_port));
	add_client(f, client, "RS256", uri);
	session_at(f, "sid-s", client, clock_now());
	assert_int_equal(backchannel_send_tests(f->p, "mock", client, "u1", NULL, NULL), 0);
	start = clock_mono_us();
	assert_int_equal(outbox_drain(f->ob, 30000), 2);
	/* two deliveries, each cut at 3 s (it was 5 s) */
	assert_true(clock_mono_us() - start < 8000000);
	assert_int_equal(count_rows(f, "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND "
	                               "kind = '" BACKCHANNEL_TEST_KIND "'"),
	                 2);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_enqueue_only_clients_with_a_uri, setup),
	    cmocka_unit_test_setup(test_delivered_tokens, setup),
	    cmocka_unit_test_setup(test_400_is_recorded_and_never_retried, setup),
	    cmocka_unit_test_setup(test_503_is_retried_with_a_fresh_token, setup),
	    cmocka_unit_test_setup(test_unreachable_is_retried, setup),
	    cmocka_unit_test_setup(test_removed_client_and_bad_payload_fail, setup),
	    cmocka_unit_test_setup(test_logout_test_errors, setup),
	    cmocka_unit_test_setup(test_logout_test_tokens, setup),
	    cmocka_unit_test_setup(test_logout_test_answers_are_final, setup),
	    cmocka_unit_test_setup(test_logout_test_limits, setup),
	    cmocka_unit_test_setup(test_logout_test_random_order, setup),
	    cmocka_unit_test_setup(test_logout_test_short_timeout, setup),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
