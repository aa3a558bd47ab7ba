/*
 * The technical conformance checklist (CIS2-PROFILE.md, "Get your software
 * assured"): what a product's relying party has shown in INT, judged from the
 * identity provider's own audit trail (docs/conformance-evidence.md) and never
 * from what a supplier says.
 *
 * checklist_evaluate() is a pure function: events in, checklist out. It reads
 * no store and no clock, so every rule is unit-tested on its own
 * (tests/unit/onboarding/checklist.c); conformance.c loads the events and the
 * product's clients and shows the result.
 *
 * The rules, each met by the FIRST event (in audit order) that satisfies it,
 * counting only events of environment `env` whose client is one of the
 * product's clients and that happened at or after that client was registered
 * for the product.
 *
 * Anyone can open an authorization URL naming a client, and sign in, choose a
 * role or end their session there; only the relying party, which holds the
 * client's credentials, can exchange the code. So a sign-in or role event
 * counts only when it is EXCHANGED: a token.issued of the same client names
 * the same session (detail "sid") later in the trail. And a logout counts
 * only for a session that had signed in to the client and exchanged a code
 * with it before.
 *   signin_other     signin.succeeded, exchanged, with a method other than
 *                    smartcard
 *   token_exchange   token.issued, grant_type authorization_code, auth_method
 *                    the client's registered one
 *   userinfo_rbac    userinfo.served whose scope has nationalrbacaccess
 *   role_selection   role.selected, exchanged, chosen by the user on the
 *                    role page
 *   reauthentication signin.succeeded, exchanged, whose prompt has login, or
 *                    with max_age
 *   rp_logout        session.ended, reason logout, naming the client
 *                    (client_id), of a session whose "clients" include it and
 *                    that exchanged a code with it before; asked by the
 *                    client (actor: the client, with a current
 *                    id_token_hint) or confirmed on careid's page by the
 *                    session's person (actor: the subject's UID, after a
 *                    stale hint or a client_id)
 *   backchannel_valid, backchannel_invalid
 *                    judged on each client's LATEST logout.test_requested and
 *                    the logout.test results that follow it: the valid token
 *                    answered 200, the invalid one 400. A later request
 *                    replaces an earlier one, so a fixed relying party can try
 *                    again (and a broken one loses an earlier pass). Each
 *                    result is judged by its own "valid" flag, whatever
 *                    order the two arrived in.
 * An item not met carries a reason saying what was seen and what to do.
 */
#ifndef CAREID_ONBOARDING_CHECKLIST_H
#define CAREID_ONBOARDING_CHECKLIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHECKLIST_ITEMS      8
#define CHECKLIST_REASON_MAX 400

/* The reason of signin_other when every sign-in seen used a smartcard. */
#define CHECKLIST_SMARTCARD_ONLY                                                                   \
	"Only smartcard sign-ins seen: sign in with an authenticator other than a smartcard, "     \
	"which shows no CIS1 dependency remains"

/* The reason of signin_other when sign-ins were seen but none was exchanged. */
#define CHECKLIST_NOT_EXCHANGED                                                                    \
	"Sign-ins for your client were seen, but your client did not exchange their codes: a "     \
	"sign-in counts once your client exchanges its code at the token endpoint, which only "    \
	"your client can do"

/* The reason of rp_logout when only logouts that show no RP-initiated logout
 * were seen. */
#define CHECKLIST_LOGOUT_UNPROVEN                                                                  \
	"A sign-out naming your client was seen, but not one that shows RP-initiated logout: "     \
	"sign in with your client and exchange the code, then send the user to the end-session "   \
	"endpoint with your client's id_token_hint (or its client_id)"

/* One audit event (audit_events: seq, at, action, detail, actor, subject).
 * Borrowed. */
struct checklist_event {
	int64_t seq;
	int64_t at;
	const char *action;
	const json_t *detail; /* a JSON object; events without one are ignored */
	const char *actor;    /* may be NULL (then no logout counts) */
	const char *subject;  /* "user:UID", …; may be NULL */
};

/* One of the product's clients in the environment. Borrowed. */
struct checklist_client {
	const char *client_id;
	const char *auth_method;     /* registered token endpoint authentication */
	const char *backchannel_uri; /* NULL when none is registered */
	int64_t registered_at;       /* registered for the product (ob_env_clients) */
};

struct checklist_input {
	const char *env; /* "int" */
	const struct checklist_client *clients;
	size_t nclients;
	const struct checklist_event *events; /* any order; evaluated in seq order */
	size_t nevents;
};

struct checklist_item {
	const char *id;    /* static: "signin_other", … */
	const char *title; /* static, for people */
	bool met;
	int64_t at;                        /* when met: the time of the event that met it, else 0 */
	int64_t seq;                       /* when met: that event's seq */
	const char *client_id;             /* when met: the client (borrowed from the input) */
	char reason[CHECKLIST_REASON_MAX]; /* when not met: why, and what to do; else "" */
};

struct checklist {
	struct checklist_item items[CHECKLIST_ITEMS];
	size_t met;     /* how many items are met */
	size_t counted; /* events that counted (of the product's clients, in time) */
};

/*
 * Evaluates the rules above. Returns 0, or CAREID_ENOMEM when the events
 * could not be put in order (the only allocation: a copy of the pointers).
 */
int checklist_evaluate(struct checklist *out, const struct checklist_input *in);

/* The checklist as JSON: [{id, title, met, at (ISO 8601 or null), at_unix
 * (or null), client_id (or null), reason (or null)}] (a new array). */
json_t *checklist_json(const struct checklist *c);

/* "2026-05-01T09:30:00Z" for Unix time `t`. */
void checklist_iso8601(char out[21], int64_t t);

#endif
