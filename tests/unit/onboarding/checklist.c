/* Tests src/onboarding/checklist.c: each conformance item met and not met,
 * the reasons, which events count (environment, client, registration time,
 * sign-ins and role selections only once the client exchanged their code,
 * logouts only of a session that signed in to the client and exchanged a
 * code, asked by the client or confirmed by the person) and the latest test
 * logout request winning, its results judged by their own "valid" flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "onboarding/checklist.h"

#define CLIENT "123456789012"
#define OTHER  "999999999999"
#define T0     1780000000
#define UID    "910000000001"

/* A growing list of events, each detail parsed from JSON text. */
struct trail {
	struct checklist_event ev[64];
	json_t *details[64];
	size_t n;
	int64_t seq;
};

static void add_as(struct trail *t, int64_t at, const char *action, const char *actor,
                   const char *subject, const char *detail)
{
	json_error_t err;

	assert_true(t->n < 64);
	t->details[t->n] = json_loads(detail, 0, &err);
	if (!t->details[t->n])
		fail_msg("bad test JSON %s: %s", detail, err.text);
	t->ev[t->n] = (struct checklist_event){.seq = ++t->seq,
	                                       .at = at,
	                                       .action = action,
	                                       .detail = t->details[t->n],
	                                       .actor = actor,
	                                       .subject = subject};
	t->n++;
}

static void add(struct trail *t, int64_t at, const char *action, const char *detail)
{
	add_as(t, at, action, NULL, NULL, detail);
}

/* The client exchanging a code of session `sid` (token.issued). */
static void exchange(struct trail *t, int64_t at, const char *client, const char *sid)
{
	char d[300];

	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"grant_type\":\"authorization_code\",\"client_id\":\"%s\","
	         "\"sid\":\"%s\",\"scope\":\"openid\",\"auth_method\":\"private_key_jwt\"}",
	         client, sid);
	add_as(t, at, "token.issued", client, "user:" UID, d);
}

static void trail_release(struct trail *t)
{
	for (size_t i = 0; i < t->n; i++)
		json_decref(t->details[i]);
}

static const struct checklist_client one_client[] = {
    {CLIENT, "private_key_jwt", "https://rp.example/bc", T0},
};

static void run(struct checklist *c, const struct trail *t, const struct checklist_client *clients,
                size_t nclients)
{
	struct checklist_input in = {"int", clients, nclients, t->ev, t->n};

	assert_int_equal(checklist_evaluate(c, &in), 0);
}

static const struct checklist_item *item(const struct checklist *c, const char *id)
{
	for (int i = 0; i < CHECKLIST_ITEMS; i++) {
		if (strcmp(c->items[i].id, id) == 0)
			return &c->items[i];
	}
	fail_msg("no item %s", id);
	return NULL;
}

/* Everything a conforming relying party does, in order, from T0 + 10. */
static void conforming(struct trail *t, const char *client)
{
	char d[400];

	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"%s\",\"address\":"
	         "\"127.0.0.1\",\"sid\":\"s1\"}",
	         client);
	add(t, T0 + 10, "signin.succeeded", d);
	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"client_id\":\"%s\",\"role\":\"555\",\"chosen\":\"user\","
	         "\"sid\":\"s1\"}",
	         client);
	add(t, T0 + 11, "role.selected", d);
	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"grant_type\":\"authorization_code\",\"client_id\":\"%s\","
	         "\"sid\":\"s1\",\"scope\":\"openid nationalrbacaccess\",\"auth_method\":"
	         "\"private_key_jwt\"}",
	         client);
	add(t, T0 + 12, "token.issued", d);
	snprintf(
	    d, sizeof(d),
	    "{\"env\":\"int\",\"client_id\":\"%s\",\"scope\":\"openid profile nationalrbacaccess "
	    "selectedrole\"}",
	    client);
	add(t, T0 + 13, "userinfo.served", d);
	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"%s\",\"prompt\":\"login\","
	         "\"sid\":\"s1\"}",
	         client);
	add(t, T0 + 14, "signin.succeeded", d);
	exchange(t, T0 + 14, client, "s1");
	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"sid\":\"s1\",\"reason\":\"logout\",\"clients\":[\"%s\"],"
	         "\"client_id\":\"%s\"}",
	         client, client);
	add_as(t, T0 + 15, "session.ended", client, "user:" UID, d);
	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"client_id\":\"%s\",\"uri\":\"https://rp.example/bc\"}",
	         client);
	add(t, T0 + 16, "logout.test_requested", d);
	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"client_id\":\"%s\",\"uri\":\"https://rp.example/bc\","
	         "\"valid\":true,\"status\":200,\"outcome\":\"accepted\",\"jti\":\"j1\"}",
	         client);
	add(t, T0 + 17, "logout.test", d);
	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"client_id\":\"%s\",\"uri\":\"https://rp.example/bc\","
	         "\"valid\":false,\"status\":400,\"outcome\":\"rejected\",\"jti\":\"j2\"}",
	         client);
	add(t, T0 + 18, "logout.test", d);
}

static void all_met(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	conforming(&t, CLIENT);
	run(&c, &t, one_client, 1);
	assert_int_equal(c.met, CHECKLIST_ITEMS);
	for (int i = 0; i < CHECKLIST_ITEMS; i++) {
		assert_true(c.items[i].met);
		assert_string_equal(c.items[i].client_id, CLIENT);
		assert_string_equal(c.items[i].reason, "");
	}
	assert_int_equal(item(&c, "signin_other")->at, T0 + 10);
	assert_int_equal(item(&c, "role_selection")->at, T0 + 11);
	assert_int_equal(item(&c, "token_exchange")->at, T0 + 12);
	assert_int_equal(item(&c, "userinfo_rbac")->at, T0 + 13);
	assert_int_equal(item(&c, "reauthentication")->at, T0 + 14);
	assert_int_equal(item(&c, "rp_logout")->at, T0 + 15);
	assert_int_equal(item(&c, "backchannel_valid")->at, T0 + 17);
	assert_int_equal(item(&c, "backchannel_invalid")->at, T0 + 18);
	trail_release(&t);
}

static void nothing_seen(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	run(&c, &t, one_client, 1);
	assert_int_equal(c.met, 0);
	for (int i = 0; i < CHECKLIST_ITEMS; i++) {
		assert_false(c.items[i].met);
		assert_int_equal(c.items[i].at, 0);
		assert_null(c.items[i].client_id);
		assert_true(strlen(c.items[i].reason) > 20);
	}
	assert_string_equal(
	    item(&c, "token_exchange")->reason,
	    "No code has been exchanged for tokens yet: after the sign-in, exchange "
	    "the code at the token endpoint, authenticating with private_key_jwt");
	assert_string_equal(item(&c, "userinfo_rbac")->reason,
	                    "userinfo has not been called yet: call the userinfo endpoint with an "
	                    "access token whose scope includes nationalrbacaccess, to read the "
	                    "user's roles (nhsid_nrbac_roles)");
	assert_string_equal(item(&c, "backchannel_valid")->reason,
	                    "No test logout tokens sent yet: choose Send test logout tokens, and "
	                    "careid sends a valid and a deliberately invalid logout token to your "
	                    "back-channel logout URI");
}

static void no_clients(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	conforming(&t, CLIENT);
	run(&c, &t, NULL, 0);
	assert_int_equal(c.met, 0);
	for (int i = 0; i < CHECKLIST_ITEMS; i++)
		assert_non_null(strstr(c.items[i].reason, "No INT client is registered"));
	trail_release(&t);
}

static void no_backchannel_uri(void **state)
{
	static const struct checklist_client bare[] = {{CLIENT, "client_secret_basic", NULL, T0}};
	struct trail t = {0};
	struct checklist c;

	(void)state;
	run(&c, &t, bare, 1);
	assert_string_equal(item(&c, "backchannel_invalid")->reason,
	                    "Your INT client has no back-channel logout URI: register one, then "
	                    "send the test logout tokens");
}

static void smartcard_only(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	add(&t, T0 + 1, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"smartcard\",\"client_id\":\"" CLIENT
	    "\",\"sid\":\"s1\"}");
	add(&t, T0 + 2, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"smartcard\",\"client_id\":\"" CLIENT
	    "\",\"prompt\":\"login\",\"sid\":\"s1\"}");
	exchange(&t, T0 + 2, CLIENT, "s1");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "signin_other")->met);
	assert_string_equal(item(&c, "signin_other")->reason, CHECKLIST_SMARTCARD_ONLY);
	assert_string_equal(
	    item(&c, "signin_other")->reason,
	    "Only smartcard sign-ins seen: sign in with an authenticator other than "
	    "a smartcard, which shows no CIS1 dependency remains");
	/* re-authentication does not care which authenticator */
	assert_true(item(&c, "reauthentication")->met);
	assert_int_equal(item(&c, "reauthentication")->at, T0 + 2);
	/* a later sign-in with something else meets it */
	add(&t, T0 + 3, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"webauthn\",\"client_id\":\"" CLIENT
	    "\",\"sid\":\"s2\"}");
	exchange(&t, T0 + 4, CLIENT, "s2");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "signin_other")->met);
	assert_int_equal(item(&c, "signin_other")->at, T0 + 3);
	trail_release(&t);
}

static void no_sign_in(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	run(&c, &t, one_client, 1);
	assert_non_null(strstr(item(&c, "signin_other")->reason, "No sign-in seen yet"));
}

static void token_with_another_method(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	add(&t, T0 + 1, "token.issued",
	    "{\"env\":\"int\",\"grant_type\":\"authorization_code\",\"client_id\":\"" CLIENT
	    "\",\"auth_method\":\"client_secret_basic\"}");
	add(&t, T0 + 2, "token.issued",
	    "{\"env\":\"int\",\"grant_type\":\"refresh_token\",\"client_id\":\"" CLIENT
	    "\",\"auth_method\":\"private_key_jwt\"}");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "token_exchange")->met);
	assert_string_equal(
	    item(&c, "token_exchange")->reason,
	    "The code was exchanged with client_secret_basic, but the client is "
	    "registered for private_key_jwt: authenticate at the token endpoint with "
	    "private_key_jwt");
	add(&t, T0 + 3, "token.issued",
	    "{\"env\":\"int\",\"grant_type\":\"authorization_code\",\"client_id\":\"" CLIENT
	    "\",\"auth_method\":\"private_key_jwt\"}");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "token_exchange")->met);
	assert_int_equal(item(&c, "token_exchange")->at, T0 + 3);
	trail_release(&t);
}

static void userinfo_without_rbac(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	/* a scope that merely contains the word is not the scope */
	add(&t, T0 + 1, "userinfo.served",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT
	    "\",\"scope\":\"openid profile nationalrbacaccessx\"}");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "userinfo_rbac")->met);
	assert_string_equal(
	    item(&c, "userinfo_rbac")->reason,
	    "userinfo was called, but the access token's scope did not include "
	    "nationalrbacaccess: ask for scope nationalrbacaccess and call userinfo "
	    "with that access token");
	trail_release(&t);
}

static void role_only_automatic(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	add(&t, T0 + 1, "role.selected",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT
	    "\",\"role\":\"1\",\"chosen\":\"only_role\",\"sid\":\"s1\"}");
	exchange(&t, T0 + 1, CLIENT, "s1");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "role_selection")->met);
	assert_non_null(strstr(item(&c, "role_selection")->reason, "only selected automatically"));
	add(&t, T0 + 2, "role.selected",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT
	    "\",\"role\":\"2\",\"chosen\":\"user\",\"sid\":\"s1\"}");
	exchange(&t, T0 + 2, CLIENT, "s1");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "role_selection")->met);
	trail_release(&t);
}

static void reauthentication_forms(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	add(&t, T0 + 1, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"" CLIENT
	    "\",\"prompt\":\"consent\",\"sid\":\"s1\"}");
	add(&t, T0 + 2, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"" CLIENT
	    "\",\"prompt\":\"loginx\",\"sid\":\"s1\"}");
	exchange(&t, T0 + 2, CLIENT, "s1");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "reauthentication")->met);
	assert_non_null(strstr(item(&c, "reauthentication")->reason, "prompt=login"));
	add(&t, T0 + 3, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"" CLIENT
	    "\",\"max_age\":0,\"sid\":\"s1\"}");
	exchange(&t, T0 + 3, CLIENT, "s1");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "reauthentication")->met);
	assert_int_equal(item(&c, "reauthentication")->at, T0 + 3);

	struct trail t2 = {0};
	add(&t2, T0 + 4, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"" CLIENT
	    "\",\"prompt\":\"consent login\",\"sid\":\"s9\"}");
	exchange(&t2, T0 + 5, CLIENT, "s9");
	run(&c, &t2, one_client, 1);
	assert_true(item(&c, "reauthentication")->met);
	trail_release(&t);
	trail_release(&t2);
}

static void logout_reasons(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	exchange(&t, T0, CLIENT, "s");
	add_as(&t, T0 + 1, "session.ended", "system", "user:" UID,
	       "{\"env\":\"int\",\"sid\":\"s\",\"reason\":\"idle\",\"clients\":[\"" CLIENT "\"]}");
	add_as(&t, T0 + 2, "session.ended", OTHER, "user:" UID,
	       "{\"env\":\"int\",\"sid\":\"s\",\"reason\":\"logout\",\"clients\":[\"" CLIENT
	       "\"],\"client_id\":\"" OTHER "\"}");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "rp_logout")->met);
	assert_non_null(strstr(item(&c, "rp_logout")->reason, "end-session endpoint"));
	add_as(&t, T0 + 3, "session.ended", CLIENT, "user:" UID,
	       "{\"env\":\"int\",\"sid\":\"s\",\"reason\":\"logout\",\"clients\":[\"" CLIENT
	       "\"],\"client_id\":\"" CLIENT "\"}");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "rp_logout")->met);
	assert_int_equal(item(&c, "rp_logout")->at, T0 + 3);
	trail_release(&t);
}

/* Anyone can open an authorization URL naming the client and sign in, choose
 * a role or re-authenticate there: none of it counts until the client
 * exchanges the code of that session (a later token.issued of the same
 * client naming the same sid), which only the client can do. */
static void unexchanged_events_do_not_count(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	exchange(&t, T0 + 1, CLIENT, "x"); /* before: not for these */
	add(&t, T0 + 2, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"" CLIENT
	    "\",\"prompt\":\"login\",\"sid\":\"x\"}");
	add(&t, T0 + 3, "role.selected",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT
	    "\",\"role\":\"2\",\"chosen\":\"user\",\"sid\":\"x\"}");
	/* a sign-in without a sid (before careid recorded it) */
	add(&t, T0 + 4, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"webauthn\",\"client_id\":\"" CLIENT "\",\"max_age\":0}");
	exchange(&t, T0 + 5, CLIENT, "y"); /* another session */
	exchange(&t, T0 + 6, OTHER, "x");  /* another client */
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "token_exchange")->met);
	assert_false(item(&c, "signin_other")->met);
	assert_false(item(&c, "role_selection")->met);
	assert_false(item(&c, "reauthentication")->met);
	assert_string_equal(item(&c, "signin_other")->reason, CHECKLIST_NOT_EXCHANGED);
	assert_string_equal(item(&c, "signin_other")->reason,
	                    "Sign-ins for your client were seen, but your client did not exchange "
	                    "their codes: a sign-in counts once your client exchanges its code at "
	                    "the token endpoint, which only your client can do");
	assert_string_equal(item(&c, "role_selection")->reason,
	                    "Role selections for your client were seen, but your client did not "
	                    "exchange the codes that followed them: a role selection counts once "
	                    "your client exchanges its code at the token endpoint");
	assert_string_equal(item(&c, "reauthentication")->reason,
	                    "A re-authentication for your client was seen, but your client did "
	                    "not exchange its code: it counts once your client exchanges the code "
	                    "at the token endpoint");

	/* the client exchanges session x's code: they count, at their own times */
	exchange(&t, T0 + 7, CLIENT, "x");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "signin_other")->met);
	assert_int_equal(item(&c, "signin_other")->at, T0 + 2);
	assert_true(item(&c, "role_selection")->met);
	assert_int_equal(item(&c, "role_selection")->at, T0 + 3);
	assert_true(item(&c, "reauthentication")->met);
	assert_int_equal(item(&c, "reauthentication")->at, T0 + 2);
	trail_release(&t);
}

static void logout(struct trail *t, int64_t at, const char *actor, const char *clients,
                   const char *client_id, const char *sid)
{
	char d[300];

	snprintf(d, sizeof(d),
	         "{\"env\":\"int\",\"sid\":\"%s\",\"reason\":\"logout\",\"logout_tokens\":0,"
	         "\"clients\":%s,\"client_id\":\"%s\"}",
	         sid, clients, client_id);
	add_as(t, at, "session.ended", actor, "user:" UID, d);
}

/* RP-initiated logout counts for a session that signed in to the client and
 * exchanged a code with it before, asked by the client with a current hint
 * (actor: the client) or confirmed by its person (actor: the UID); not a
 * logout anyone can ask for naming the client. */
static void logout_needs_the_clients_session(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	/* signed in through another client, then endSession?client_id=CLIENT */
	exchange(&t, T0, OTHER, "a");
	logout(&t, T0 + 1, UID, "[\"" OTHER "\"]", CLIENT, "a");
	/* signed in naming CLIENT, its code never exchanged */
	logout(&t, T0 + 2, UID, "[\"" CLIENT "\"]", CLIENT, "b");
	/* the exchange only after the logout */
	logout(&t, T0 + 3, CLIENT, "[\"" CLIENT "\"]", CLIENT, "c");
	exchange(&t, T0 + 4, CLIENT, "c");
	/* exchanged, but the session's clients do not list it */
	exchange(&t, T0 + 5, CLIENT, "d");
	logout(&t, T0 + 6, CLIENT, "[\"" OTHER "\"]", CLIENT, "d");
	/* exchanged and listed, but ended by someone else than the client or the person */
	exchange(&t, T0 + 7, CLIENT, "e");
	logout(&t, T0 + 8, "admin", "[\"" CLIENT "\"]", CLIENT, "e");
	logout(&t, T0 + 9, "910000000002", "[\"" CLIENT "\"]", CLIENT, "e");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "rp_logout")->met);
	assert_string_equal(item(&c, "rp_logout")->reason, CHECKLIST_LOGOUT_UNPROVEN);
	assert_string_equal(item(&c, "rp_logout")->reason,
	                    "A sign-out naming your client was seen, but not one that shows "
	                    "RP-initiated logout: sign in with your client and exchange the code, "
	                    "then send the user to the end-session endpoint with your client's "
	                    "id_token_hint (or its client_id)");

	/* confirmed by the person on careid's page (a stale hint, or client_id) */
	logout(&t, T0 + 10, UID, "[\"" OTHER "\",\"" CLIENT "\"]", CLIENT, "e");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "rp_logout")->met);
	assert_int_equal(item(&c, "rp_logout")->at, T0 + 10);
	trail_release(&t);

	/* at once with the client's current hint */
	memset(&t, 0, sizeof(t));
	exchange(&t, T0, CLIENT, "f");
	logout(&t, T0 + 1, CLIENT, "[\"" CLIENT "\"]", CLIENT, "f");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "rp_logout")->met);
	trail_release(&t);
}

/* Events of another client, another environment or from before the client
 * was registered for the product do not count. */
static void events_that_do_not_count(void **state)
{
	struct trail t = {0};
	struct checklist c;
	static const struct checklist_client late[] = {
	    {CLIENT, "private_key_jwt", "https://rp.example/bc", T0 + 100}};

	(void)state;
	conforming(&t, OTHER);
	run(&c, &t, one_client, 1);
	assert_int_equal(c.met, 0);
	trail_release(&t);

	memset(&t, 0, sizeof(t));
	conforming(&t, CLIENT);
	for (size_t i = 0; i < t.n; i++)
		json_object_set_new(t.details[i], "env", json_string("dep"));
	run(&c, &t, one_client, 1);
	assert_int_equal(c.met, 0);
	trail_release(&t);

	memset(&t, 0, sizeof(t));
	conforming(&t, CLIENT); /* at T0 + 10 … T0 + 18 */
	run(&c, &t, late, 1);
	assert_int_equal(c.met, 0);
	/* no env at all does not count either */
	trail_release(&t);
	memset(&t, 0, sizeof(t));
	add(&t, T0 + 1, "signin.succeeded", "{\"method\":\"totp\",\"client_id\":\"" CLIENT "\"}");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "signin_other")->met);
	trail_release(&t);
}

static void two_clients(void **state)
{
	static const struct checklist_client both[] = {
	    {CLIENT, "private_key_jwt", "https://rp.example/bc", T0},
	    {OTHER, "client_secret_basic", NULL, T0},
	};
	struct trail t = {0};
	struct checklist c;

	(void)state;
	conforming(&t, OTHER);
	/* OTHER is registered with client_secret_basic: its private_key_jwt exchange is not it */
	run(&c, &t, both, 2);
	assert_true(item(&c, "signin_other")->met);
	assert_string_equal(item(&c, "signin_other")->client_id, OTHER);
	assert_false(item(&c, "token_exchange")->met);
	assert_non_null(
	    strstr(item(&c, "token_exchange")->reason, "registered for client_secret_basic"));
	trail_release(&t);
}

/* The events arrive in any order; the first by seq meets an item. */
static void order_by_seq(void **state)
{
	struct trail t = {0};
	struct checklist c;
	struct checklist_event tmp;

	(void)state;
	add(&t, T0 + 5, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"" CLIENT "\",\"sid\":\"s1\"}");
	add(&t, T0 + 9, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"password\",\"client_id\":\"" CLIENT
	    "\",\"sid\":\"s1\"}");
	exchange(&t, T0 + 10, CLIENT, "s1");
	tmp = t.ev[0];
	t.ev[0] = t.ev[2];
	t.ev[2] = tmp;
	run(&c, &t, one_client, 1);
	assert_int_equal(item(&c, "signin_other")->at, T0 + 5);
	assert_int_equal(item(&c, "signin_other")->seq, 1);
	trail_release(&t);
}

static void request_tests(struct trail *t, int64_t at, int valid_status, const char *valid_outcome,
                          int invalid_status, const char *invalid_outcome)
{
	char d[300];

	add(t, at, "logout.test_requested",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"uri\":\"https://rp.example/bc\"}");
	if (valid_outcome) {
		snprintf(d, sizeof(d),
		         "{\"env\":\"int\",\"client_id\":\"" CLIENT
		         "\",\"uri\":\"https://rp.example/bc\","
		         "\"valid\":true,\"status\":%d,\"outcome\":\"%s\",\"detail\":\"connection "
		         "refused\"}",
		         valid_status, valid_outcome);
		add(t, at + 1, "logout.test", d);
	}
	if (invalid_outcome) {
		snprintf(d, sizeof(d),
		         "{\"env\":\"int\",\"client_id\":\"" CLIENT
		         "\",\"uri\":\"https://rp.example/bc\","
		         "\"valid\":false,\"status\":%d,\"outcome\":\"%s\"}",
		         invalid_status, invalid_outcome);
		add(t, at + 2, "logout.test", d);
	}
}

static void invalid_token_accepted(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	request_tests(&t, T0 + 1, 200, "accepted", 200, "accepted");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "backchannel_valid")->met);
	assert_false(item(&c, "backchannel_invalid")->met);
	assert_string_equal(
	    item(&c, "backchannel_invalid")->reason,
	    "Your back-channel logout endpoint answered 200 to a logout token whose "
	    "signature does not verify: it must validate the token and answer 400");
	trail_release(&t);
}

static void latest_request_wins(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	/* broken first, fixed later: met by the second request's results */
	request_tests(&t, T0 + 1, 200, "accepted", 200, "accepted");
	request_tests(&t, T0 + 10, 200, "accepted", 400, "rejected");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "backchannel_valid")->met);
	assert_true(item(&c, "backchannel_invalid")->met);
	assert_int_equal(item(&c, "backchannel_valid")->at, T0 + 11);
	assert_int_equal(item(&c, "backchannel_invalid")->at, T0 + 12);

	/* and broken again: the earlier pass no longer counts */
	request_tests(&t, T0 + 20, 503, "failed", 200, "accepted");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "backchannel_valid")->met);
	assert_false(item(&c, "backchannel_invalid")->met);
	assert_string_equal(
	    item(&c, "backchannel_valid")->reason,
	    "Your back-channel logout endpoint answered 503 to a valid logout token: "
	    "it must answer 200");

	/* a request whose results have not arrived yet */
	request_tests(&t, T0 + 30, 0, NULL, 0, NULL);
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "backchannel_valid")->met);
	assert_non_null(
	    strstr(item(&c, "backchannel_valid")->reason, "answer to the valid one appears here"));
	trail_release(&t);
}

/* The two tokens are queued in random order: each result is judged by its own
 * "valid" flag, the invalid one's answer arriving first or not. */
static void backchannel_any_order(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	add(&t, T0 + 1, "logout.test_requested",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"uri\":\"https://rp.example/bc\"}");
	add(&t, T0 + 2, "logout.test",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"valid\":false,\"status\":400,"
	    "\"outcome\":\"rejected\"}");
	add(&t, T0 + 3, "logout.test",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"valid\":true,\"status\":200,"
	    "\"outcome\":\"accepted\"}");
	run(&c, &t, one_client, 1);
	assert_true(item(&c, "backchannel_valid")->met);
	assert_int_equal(item(&c, "backchannel_valid")->at, T0 + 3);
	assert_true(item(&c, "backchannel_invalid")->met);
	assert_int_equal(item(&c, "backchannel_invalid")->at, T0 + 2);
	trail_release(&t);

	/* an RP answering by position (200 first, then 400), the invalid one sent first */
	memset(&t, 0, sizeof(t));
	add(&t, T0 + 1, "logout.test_requested",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"uri\":\"https://rp.example/bc\"}");
	add(&t, T0 + 2, "logout.test",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"valid\":false,\"status\":200,"
	    "\"outcome\":\"accepted\"}");
	add(&t, T0 + 3, "logout.test",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"valid\":true,\"status\":400,"
	    "\"outcome\":\"rejected\"}");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "backchannel_valid")->met);
	assert_false(item(&c, "backchannel_invalid")->met);
	trail_release(&t);
}

static void backchannel_failures(void **state)
{
	struct trail t = {0};
	struct checklist c;

	(void)state;
	request_tests(&t, T0 + 1, 0, "failed", 0, "failed");
	run(&c, &t, one_client, 1);
	assert_string_equal(
	    item(&c, "backchannel_valid")->reason,
	    "careid could not deliver the valid logout token to https://rp.example/bc "
	    "(connection refused): check that your back-channel logout endpoint is "
	    "running and reachable, then send the test tokens again");
	assert_non_null(strstr(item(&c, "backchannel_invalid")->reason,
	                       "could not deliver the invalid logout token"));
	trail_release(&t);

	memset(&t, 0, sizeof(t));
	request_tests(&t, T0 + 1, 400, "rejected", 500, "failed");
	run(&c, &t, one_client, 1);
	assert_string_equal(
	    item(&c, "backchannel_valid")->reason,
	    "Your back-channel logout endpoint answered 400 to a valid logout token: "
	    "it must accept a token signed with the issuer's key and answer 200");
	assert_string_equal(
	    item(&c, "backchannel_invalid")->reason,
	    "Your back-channel logout endpoint answered 500 to a logout token whose "
	    "signature does not verify: it must answer 400");
	trail_release(&t);

	/* 204 is accepted by careid's delivery but is not the 200 §2.8 asks for */
	memset(&t, 0, sizeof(t));
	request_tests(&t, T0 + 1, 204, "accepted", 400, "rejected");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "backchannel_valid")->met);
	assert_true(item(&c, "backchannel_invalid")->met);
	trail_release(&t);

	/* results without a request before them do not count */
	memset(&t, 0, sizeof(t));
	add(&t, T0 + 1, "logout.test",
	    "{\"env\":\"int\",\"client_id\":\"" CLIENT "\",\"valid\":true,\"status\":200,"
	    "\"outcome\":\"accepted\"}");
	run(&c, &t, one_client, 1);
	assert_false(item(&c, "backchannel_valid")->met);
	trail_release(&t);
}

static void json_form(void **state)
{
	struct trail t = {0};
	struct checklist c;
	json_t *j, *first, *last;

	(void)state;
	add(&t, 1780000000, "signin.succeeded",
	    "{\"env\":\"int\",\"method\":\"totp\",\"client_id\":\"" CLIENT "\",\"sid\":\"s1\"}");
	exchange(&t, 1780000001, CLIENT, "s1");
	run(&c, &t, (const struct checklist_client[]){{CLIENT, "private_key_jwt", NULL, 0}}, 1);
	j = checklist_json(&c);
	assert_int_equal(json_array_size(j), CHECKLIST_ITEMS);
	first = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(first, "id")), "signin_other");
	assert_true(json_is_true(json_object_get(first, "met")));
	assert_string_equal(json_string_value(json_object_get(first, "at")),
	                    "2026-05-28T20:26:40Z");
	assert_int_equal(json_integer_value(json_object_get(first, "at_unix")), 1780000000);
	assert_string_equal(json_string_value(json_object_get(first, "client_id")), CLIENT);
	assert_true(json_is_null(json_object_get(first, "reason")));
	last = json_array_get(j, CHECKLIST_ITEMS - 1);
	assert_true(json_is_false(json_object_get(last, "met")));
	assert_true(json_is_null(json_object_get(last, "at")));
	assert_true(json_is_null(json_object_get(last, "client_id")));
	assert_true(json_is_string(json_object_get(last, "reason")));
	json_decref(j);
	trail_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(all_met),
	    cmocka_unit_test(nothing_seen),
	    cmocka_unit_test(no_clients),
	    cmocka_unit_test(no_backchannel_uri),
	    cmocka_unit_test(smartcard_only),
	    cmocka_unit_test(no_sign_in),
	    cmocka_unit_test(token_with_another_method),
	    cmocka_unit_test(userinfo_without_rbac),
	    cmocka_unit_test(role_only_automatic),
	    cmocka_unit_test(reauthentication_forms),
	    cmocka_unit_test(logout_reasons),
	    cmocka_unit_test(unexchanged_events_do_not_count),
	    cmocka_unit_test(logout_needs_the_clients_session),
	    cmocka_unit_test(events_that_do_not_count),
	    cmocka_unit_test(two_clients),
	    cmocka_unit_test(order_by_seq),
	    cmocka_unit_test(invalid_token_accepted),
	    cmocka_unit_test(latest_request_wins),
	    cmocka_unit_test(backchannel_any_order),
	    cmocka_unit_test(backchannel_failures),
	    cmocka_unit_test(json_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
