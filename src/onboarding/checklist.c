/* The technical conformance checklist: audit events in, items out (see
 * checklist.h for the rules). No store, no clock, no request. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "onboarding/checklist.h"

enum {
	ITEM_SIGNIN,
	ITEM_TOKEN,
	ITEM_USERINFO,
	ITEM_ROLE,
	ITEM_REAUTH,
	ITEM_LOGOUT,
	ITEM_BC_VALID,
	ITEM_BC_INVALID,
};

static const struct {
	const char *id, *title;
} ITEMS[CHECKLIST_ITEMS] = {
    [ITEM_SIGNIN] = {"signin_other",
                     "Sign in with an authenticator other than a smartcard (authorization code "
                     "flow)"},
    [ITEM_TOKEN] = {"token_exchange",
                    "Exchange the code for tokens with the client's registered authentication"},
    [ITEM_USERINFO] = {"userinfo_rbac", "Call userinfo with the nationalrbacaccess scope"},
    [ITEM_ROLE] = {"role_selection", "Let the user select a role when asking for selectedrole"},
    [ITEM_REAUTH] = {"reauthentication", "Re-authenticate with prompt=login or max_age"},
    [ITEM_LOGOUT] = {"rp_logout", "Sign out with RP-initiated logout"},
    [ITEM_BC_VALID] = {"backchannel_valid", "Accept a valid back-channel logout token with 200"},
    [ITEM_BC_INVALID] = {"backchannel_invalid",
                         "Reject an invalid back-channel logout token with 400"},
};

static const char *str(const json_t *detail, const char *key)
{
	return json_string_value(json_object_get(detail, key));
}

static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (len == n && strncmp(p, word, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* The product's client an event counts for: one of the environment's, the
 * product's, and not before the client was registered for the product. */
static const struct checklist_client *counted(const struct checklist_input *in,
                                              const struct checklist_event *e)
{
	const char *env = str(e->detail, "env"), *id = str(e->detail, "client_id");

	if (!env || !id || strcmp(env, in->env) != 0)
		return NULL;
	for (size_t i = 0; i < in->nclients; i++) {
		const struct checklist_client *c = &in->clients[i];

		if (strcmp(c->client_id, id) == 0)
			return e->at >= c->registered_at ? c : NULL;
	}
	return NULL;
}

static void meet(struct checklist *out, int item, const struct checklist_event *e,
                 const struct checklist_client *c)
{
	struct checklist_item *it = &out->items[item];

	if (it->met)
		return;
	it->met = true;
	it->at = e->at;
	it->seq = e->seq;
	it->client_id = c->client_id;
	it->reason[0] = '\0';
	out->met++;
}

static void because(struct checklist *out, int item, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void because(struct checklist *out, int item, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->items[item].reason, sizeof(out->items[item].reason), fmt, ap);
	va_end(ap);
}

/* What was seen short of an item, for the reasons. */
struct seen {
	bool signin_smartcard;
	bool signin_unexchanged; /* sign-ins whose code the client never exchanged */
	bool reauth_unexchanged;
	const char *token_method; /* a code exchanged with another method */
	const char *token_registered;
	bool userinfo_other_scope;
	bool role_automatic;
	bool role_unexchanged;
	bool logout_unproven; /* a logout naming the client that does not count */
};

/* A session that exchanged codes with a client: the seqs of the first and the
 * last token.issued naming both. */
struct exchange {
	size_t client; /* index in the input's clients */
	const char *sid;
	int64_t first_seq, last_seq;
};

struct exchanges {
	struct exchange *v;
	size_t n;
};

static int by_client_sid(const void *a, const void *b)
{
	const struct exchange *x = a, *y = b;

	if (x->client != y->client)
		return x->client < y->client ? -1 : 1;
	return strcmp(x->sid, y->sid);
}

/* The exchanges of the counted token.issued events among `ev` (in seq order). */
static int exchanges_find(struct exchanges *out, const struct checklist_input *in,
                          const struct checklist_event *const *ev, size_t n)
{
	size_t m = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		m += strcmp(ev[i]->action, "token.issued") == 0;
	if (!m)
		return 0;
	out->v = calloc(m, sizeof(*out->v));
	if (!out->v)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct checklist_client *c;
		const char *sid;

		if (strcmp(ev[i]->action, "token.issued") != 0)
			continue;
		c = counted(in, ev[i]);
		sid = str(ev[i]->detail, "sid");
		if (c && sid && *sid)
			out->v[out->n++] = (struct exchange){(size_t)(c - in->clients), sid,
			                                     ev[i]->seq, ev[i]->seq};
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), by_client_sid);
	/* one entry per client and session, spanning its exchanges */
	m = 0;
	for (size_t i = 0; i < out->n; i++) {
		struct exchange *x = &out->v[i];

		if (m && by_client_sid(&out->v[m - 1], x) == 0) {
			struct exchange *y = &out->v[m - 1];

			y->first_seq = x->first_seq < y->first_seq ? x->first_seq : y->first_seq;
			y->last_seq = x->last_seq > y->last_seq ? x->last_seq : y->last_seq;
		} else {
			out->v[m++] = *x;
		}
	}
	out->n = m;
	return 0;
}

static const struct exchange *exchange_of(const struct exchanges *x,
                                          const struct checklist_input *in,
                                          const struct checklist_client *c, const char *sid)
{
	struct exchange key = {(size_t)(c - in->clients), sid, 0, 0};

	if (!sid || !*sid || !x->n)
		return NULL;
	return bsearch(&key, x->v, x->n, sizeof(*x->v), by_client_sid);
}

/* A sign-in or role event whose code the client exchanged: a token.issued of
 * the same client and session after it. */
static bool exchanged(const struct exchanges *x, const struct checklist_input *in,
                      const struct checklist_client *c, const struct checklist_event *e)
{
	const struct exchange *ex = exchange_of(x, in, c, str(e->detail, "sid"));

	return ex && ex->last_seq > e->seq;
}

static bool lists(const json_t *array, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(array, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), id) == 0)
			return true;
	}
	return false;
}

/* A session.ended (reason logout, naming `c`) that shows RP-initiated logout:
 * the session signed in to `c` and exchanged a code with it before, and the
 * client asked with a current hint (actor: the client) or the session's
 * person confirmed on careid's page (actor: the subject's UID). */
static bool rp_logout(const struct exchanges *x, const struct checklist_input *in,
                      const struct checklist_client *c, const struct checklist_event *e)
{
	const struct exchange *ex = exchange_of(x, in, c, str(e->detail, "sid"));
	const char *who = e->actor, *subject = e->subject;
	bool by_client = who && strcmp(who, c->client_id) == 0;
	bool by_person =
	    who && subject && strncmp(subject, "user:", 5) == 0 && strcmp(subject + 5, who) == 0;

	return ex && ex->first_seq < e->seq &&
	       lists(json_object_get(e->detail, "clients"), c->client_id) &&
	       (by_client || by_person);
}

static void judge_event(struct checklist *out, const struct checklist_input *in,
                        const struct exchanges *x, const struct checklist_event *e,
                        struct seen *seen)
{
	const struct checklist_client *c = counted(in, e);
	const json_t *d = e->detail;
	const char *a = e->action;

	if (!c)
		return;
	if (strcmp(a, "signin.succeeded") == 0) {
		const char *method = str(d, "method");
		bool reauth = has_word(str(d, "prompt"), "login") ||
		              json_is_integer(json_object_get(d, "max_age"));

		if (!exchanged(x, in, c, e)) {
			seen->signin_unexchanged = true;
			seen->reauth_unexchanged = seen->reauth_unexchanged || reauth;
			return;
		}
		if (method && strcmp(method, "smartcard") == 0)
			seen->signin_smartcard = true;
		else if (method)
			meet(out, ITEM_SIGNIN, e, c);
		if (reauth)
			meet(out, ITEM_REAUTH, e, c);
	} else if (strcmp(a, "token.issued") == 0) {
		const char *grant = str(d, "grant_type"), *method = str(d, "auth_method");

		if (!grant || strcmp(grant, "authorization_code") != 0 || !method)
			return;
		if (c->auth_method && strcmp(method, c->auth_method) == 0) {
			meet(out, ITEM_TOKEN, e, c);
		} else {
			seen->token_method = method;
			seen->token_registered = c->auth_method;
		}
	} else if (strcmp(a, "userinfo.served") == 0) {
		if (has_word(str(d, "scope"), "nationalrbacaccess"))
			meet(out, ITEM_USERINFO, e, c);
		else
			seen->userinfo_other_scope = true;
	} else if (strcmp(a, "role.selected") == 0) {
		const char *chosen = str(d, "chosen");

		if (!exchanged(x, in, c, e))
			seen->role_unexchanged = true;
		else if (chosen && strcmp(chosen, "user") == 0)
			meet(out, ITEM_ROLE, e, c);
		else
			seen->role_automatic = true;
	} else if (strcmp(a, "session.ended") == 0) {
		const char *why = str(d, "reason");

		if (!why || strcmp(why, "logout") != 0)
			return;
		if (rp_logout(x, in, c, e))
			meet(out, ITEM_LOGOUT, e, c);
		else
			seen->logout_unproven = true;
	}
}

/* A client's latest request for the test logout tokens and their results. */
struct bc_test {
	const struct checklist_client *client;
	const struct checklist_event *request;
	const struct checklist_event *valid, *invalid; /* the first result of each after it */
};

static bool answered(const struct checklist_event *e, int status, const char *outcome)
{
	const char *o = str(e->detail, "outcome");

	return json_integer_value(json_object_get(e->detail, "status")) == status && o &&
	       strcmp(o, outcome) == 0;
}

static const char *delivery_problem(const struct checklist_event *e)
{
	const char *d = str(e->detail, "detail");

	return d && *d ? d : "no answer";
}

static void bc_reason_valid(struct checklist *out, const struct bc_test *t)
{
	int status;

	if (!t->valid) {
		because(out, ITEM_BC_VALID,
		        "careid is sending the test logout tokens: your endpoint's answer to the "
		        "valid one appears here in a few seconds");
		return;
	}
	status = (int)json_integer_value(json_object_get(t->valid->detail, "status"));
	if (status == 0)
		because(
		    out, ITEM_BC_VALID,
		    "careid could not deliver the valid logout token to %s (%.120s): check that "
		    "your back-channel logout endpoint is running and reachable, then send the "
		    "test tokens again",
		    str(t->valid->detail, "uri") ? str(t->valid->detail, "uri") : "your endpoint",
		    delivery_problem(t->valid));
	else if (status == 400)
		because(
		    out, ITEM_BC_VALID,
		    "Your back-channel logout endpoint answered 400 to a valid logout token: it "
		    "must accept a token signed with the issuer's key and answer 200");
	else
		because(out, ITEM_BC_VALID,
		        "Your back-channel logout endpoint answered %d to a valid logout token: it "
		        "must answer 200",
		        status);
}

static void bc_reason_invalid(struct checklist *out, const struct bc_test *t)
{
	int status;

	if (!t->invalid) {
		because(out, ITEM_BC_INVALID,
		        "careid is sending the test logout tokens: your endpoint's answer to the "
		        "invalid one appears here in a few seconds");
		return;
	}
	status = (int)json_integer_value(json_object_get(t->invalid->detail, "status"));
	if (status == 0)
		because(
		    out, ITEM_BC_INVALID,
		    "careid could not deliver the invalid logout token to %s (%.120s): check "
		    "that your back-channel logout endpoint is running and reachable, then send "
		    "the test tokens again",
		    str(t->invalid->detail, "uri") ? str(t->invalid->detail, "uri")
		                                   : "your endpoint",
		    delivery_problem(t->invalid));
	else if (status >= 200 && status < 300)
		because(out, ITEM_BC_INVALID,
		        "Your back-channel logout endpoint answered %d to a logout token whose "
		        "signature does not verify: it must validate the token and answer 400",
		        status);
	else
		because(out, ITEM_BC_INVALID,
		        "Your back-channel logout endpoint answered %d to a logout token whose "
		        "signature does not verify: it must answer 400",
		        status);
}

static void judge_backchannel(struct checklist *out, const struct checklist_input *in,
                              const struct checklist_event *const *ev, size_t n)
{
	struct bc_test *tests = calloc(in->nclients ? in->nclients : 1, sizeof(*tests));
	const struct bc_test *latest = NULL;
	bool any_uri = false;

	if (!tests)
		return; /* items stay unmet with the caller's default reasons */
	for (size_t i = 0; i < in->nclients; i++) {
		tests[i].client = &in->clients[i];
		any_uri = any_uri || in->clients[i].backchannel_uri;
	}
	for (size_t i = 0; i < n; i++) {
		const struct checklist_client *c = counted(in, ev[i]);
		struct bc_test *t;
		bool valid;

		if (!c)
			continue;
		t = &tests[c - in->clients];
		if (strcmp(ev[i]->action, "logout.test_requested") == 0) {
			*t = (struct bc_test){c, ev[i], NULL, NULL};
		} else if (strcmp(ev[i]->action, "logout.test") == 0 && t->request &&
		           json_is_boolean(json_object_get(ev[i]->detail, "valid"))) {
			valid = json_is_true(json_object_get(ev[i]->detail, "valid"));
			if (valid && !t->valid)
				t->valid = ev[i];
			else if (!valid && !t->invalid)
				t->invalid = ev[i];
		}
	}
	for (size_t i = 0; i < in->nclients; i++) {
		const struct bc_test *t = &tests[i];

		if (!t->request)
			continue;
		if (!latest || t->request->seq > latest->request->seq)
			latest = t;
		if (t->valid && answered(t->valid, 200, "accepted"))
			meet(out, ITEM_BC_VALID, t->valid, t->client);
		if (t->invalid && answered(t->invalid, 400, "rejected"))
			meet(out, ITEM_BC_INVALID, t->invalid, t->client);
	}
	if (!latest) {
		const char *none = any_uri
		                       ? "No test logout tokens sent yet: choose Send test logout "
		                         "tokens, and careid sends a valid and a deliberately "
		                         "invalid logout token to your back-channel logout URI"
		                       : "Your INT client has no back-channel logout URI: register "
		                         "one, then send the test logout tokens";

		because(out, ITEM_BC_VALID, "%s", none);
		because(out, ITEM_BC_INVALID, "%s", none);
	} else {
		bc_reason_valid(out, latest);
		bc_reason_invalid(out, latest);
	}
	free(tests);
}

static int by_seq(const void *a, const void *b)
{
	const struct checklist_event *x = *(const struct checklist_event *const *)a;
	const struct checklist_event *y = *(const struct checklist_event *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void reasons(struct checklist *out, const struct checklist_input *in,
                    const struct seen *seen)
{
	const char *method = in->nclients == 1 && in->clients[0].auth_method
	                         ? in->clients[0].auth_method
	                         : "the client's registered method";

	if (seen->signin_smartcard)
		because(out, ITEM_SIGNIN, "%s", CHECKLIST_SMARTCARD_ONLY);
	else if (seen->signin_unexchanged)
		because(out, ITEM_SIGNIN, "%s", CHECKLIST_NOT_EXCHANGED);
	else
		because(out, ITEM_SIGNIN,
		        "No sign-in seen yet: start an authorization code flow in INT with your "
		        "client and sign in with an authenticator other than a smartcard (an "
		        "authenticator app, a security key or Windows Hello)");
	if (seen->token_method)
		because(out, ITEM_TOKEN,
		        "The code was exchanged with %s, but the client is registered for %s: "
		        "authenticate at the token endpoint with %s",
		        seen->token_method, seen->token_registered ? seen->token_registered : "?",
		        seen->token_registered ? seen->token_registered : "it");
	else
		because(
		    out, ITEM_TOKEN,
		    "No code has been exchanged for tokens yet: after the sign-in, exchange the "
		    "code at the token endpoint, authenticating with %s",
		    method);
	if (seen->userinfo_other_scope)
		because(out, ITEM_USERINFO,
		        "userinfo was called, but the access token's scope did not include "
		        "nationalrbacaccess: ask for scope nationalrbacaccess and call userinfo "
		        "with that access token");
	else
		because(
		    out, ITEM_USERINFO,
		    "userinfo has not been called yet: call the userinfo endpoint with an access "
		    "token whose scope includes nationalrbacaccess, to read the user's roles "
		    "(nhsid_nrbac_roles)");
	if (seen->role_automatic)
		because(
		    out, ITEM_ROLE,
		    "A role was only selected automatically (the user had one role): sign in as "
		    "a user with several roles, asking for scope selectedrole, and let them "
		    "choose on the role-selection page");
	else if (seen->role_unexchanged)
		because(out, ITEM_ROLE,
		        "Role selections for your client were seen, but your client did not "
		        "exchange the codes that followed them: a role selection counts once your "
		        "client exchanges its code at the token endpoint");
	else
		because(out, ITEM_ROLE,
		        "No role selection seen yet: ask for scope selectedrole and sign in as a "
		        "user with several roles, who then chooses one");
	if (seen->reauth_unexchanged)
		because(out, ITEM_REAUTH,
		        "A re-authentication for your client was seen, but your client did not "
		        "exchange its code: it counts once your client exchanges the code at the "
		        "token endpoint");
	else
		because(out, ITEM_REAUTH,
		        "No re-authentication seen yet: send an authorization request with "
		        "prompt=login (or max_age) and sign in again");
	if (seen->logout_unproven)
		because(out, ITEM_LOGOUT, "%s", CHECKLIST_LOGOUT_UNPROVEN);
	else
		because(
		    out, ITEM_LOGOUT,
		    "No RP-initiated logout seen yet: send the user to the end-session endpoint "
		    "with your client's id_token_hint (or its client_id)");
}

int checklist_evaluate(struct checklist *out, const struct checklist_input *in)
{
	const struct checklist_event **ev = NULL;
	struct exchanges x = {0};
	struct seen seen = {0};
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < CHECKLIST_ITEMS; i++) {
		out->items[i].id = ITEMS[i].id;
		out->items[i].title = ITEMS[i].title;
	}
	if (in->nclients == 0) {
		for (int i = 0; i < CHECKLIST_ITEMS; i++)
			because(
			    out, i,
			    "No INT client is registered for this product yet: register one under "
			    "Environments, then run the flows with it");
		return 0;
	}
	if (in->nevents) {
		ev = calloc(in->nevents, sizeof(*ev));
		if (!ev)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < in->nevents; i++) {
		if (in->events[i].action && json_is_object(in->events[i].detail))
			ev[n++] = &in->events[i];
	}
	for (size_t i = 0; i < n; i++)
		out->counted += counted(in, ev[i]) != NULL;
	if (n > 1)
		qsort(ev, n, sizeof(*ev), by_seq);
	rc = exchanges_find(&x, in, ev, n);
	if (rc) {
		free(ev);
		return rc;
	}
	for (size_t i = 0; i < n; i++)
		judge_event(out, in, &x, ev[i], &seen);
	reasons(out, in, &seen);
	judge_backchannel(out, in, ev, n);
	for (int i = 0; i < CHECKLIST_ITEMS; i++) {
		if (out->items[i].met)
			out->items[i].reason[0] = '\0';
	}
	free(x.v);
	free(ev);
	return 0;
}

void checklist_iso8601(char out[21], int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 21, "1970-01-01T00:00:00Z");
}

json_t *checklist_json(const struct checklist *c)
{
	json_t *items = json_array();

	for (int i = 0; items && i < CHECKLIST_ITEMS; i++) {
		const struct checklist_item *it = &c->items[i];
		char iso[21];
		json_t *j;

		checklist_iso8601(iso, it->at);
		j = json_pack("{s:s, s:s, s:b, s:s?, s:o?, s:s?, s:s?}", "id", it->id, "title",
		              it->title, "met", it->met, "at", it->met ? iso : NULL, "at_unix",
		              it->met ? json_integer(it->at) : NULL, "client_id",
		              it->met ? it->client_id : NULL, "reason",
		              it->met ? NULL : it->reason);
		if (!j || json_array_append_new(items, j)) {
			json_decref(items);
			return NULL;
		}
	}
	return items;
}
