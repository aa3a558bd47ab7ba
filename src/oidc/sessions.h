/*
 * SSO sessions as administrators see them (careid session list|end) and as
 * careid ends them: RP-initiated logout, idle and absolute timeouts, a new
 * sign-in replacing the browser's session, a removed smartcard. Ending a
 * session is one transaction: the session is marked ended with its reason,
 * a logout token is queued for every client it signed in to that registered
 * a back-channel logout URI (oidc/backchannel.h), and the audit trail
 * records it.
 */
#ifndef CAREID_OIDC_SESSIONS_H
#define CAREID_OIDC_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "store/store.h"

/* Why a session ended (sessions.end_reason). */
#define SESSION_END_LOGOUT       "logout"       /* RP-initiated logout */
#define SESSION_END_IDLE         "idle"         /* idle timeout */
#define SESSION_END_EXPIRED      "expired"      /* absolute timeout */
#define SESSION_END_ADMIN        "admin"        /* careid session end */
#define SESSION_END_CARD_REMOVED "card_removed" /* the identity agent reported it */
#define SESSION_END_REPLACED     "replaced"     /* a new sign-in in the same browser */

/*
 * The sessions of user `uid` (NULL: everyone's) in `env` (NULL: every
 * environment), newest first, as a new JSON array of {"env", "sid", "uid",
 * "auth_time", "acr", "amr" (array), "aal", "created_at", "last_seen",
 * "expires_at", "ended_at" (or null), "end_reason" (or null), "clients"
 * (array of client ids)}; live ones only unless `include_ended`.
 */
int sessions_list(json_t **out, store *s, const char *env, const char *uid, bool include_ended);

/*
 * Ends session `sid` (in `env`, or wherever it is when `env` is NULL) for
 * `reason` (SESSION_END_*), on behalf of `actor` (a uid, a client id,
 * "admin", "system"). Runs its own transaction: do not call inside one.
 * `*ended_out` (may be NULL) is 1, or 0 when the session had ended already
 * (not an error); CAREID_ENOTFOUND when there is no such session.
 * `*notified_out` (may be NULL) counts the logout tokens queued.
 */
int sessions_end(int *ended_out, int *notified_out, store *s, const char *env, const char *sid,
                 const char *reason, const char *actor);

/* What sessions_end_for() ends, why and for whom. */
struct session_end {
	const char *env; /* NULL: wherever the session is */
	const char *sid;
	const char *reason; /* SESSION_END_* */
	const char *actor;  /* a uid, a client id, "admin", "system" (NULL: "system") */
	/* RP-initiated logout: the client whose id_token_hint or client_id asked
	 * (may be NULL), recorded as the event's "client_id" */
	const char *client_id;
};

/*
 * sessions_end() with everything the "session.ended" event records
 * (docs/conformance-evidence.md): env, sid, reason, logout_tokens, clients
 * (the client ids the session signed in to) and client_id when given.
 */
int sessions_end_for(int *ended_out, int *notified_out, store *s, const struct session_end *e);

/*
 * How session `sid` of `env` ended: `*ended_at_out` (Unix seconds) is 0 and
 * `reason_out` "" while it lives, else its end and SESSION_END_* reason.
 * CAREID_ENOTFOUND when there is no such session. For readers of the audit
 * trail (onboarding's conformance evidence) that look for the one
 * "session.ended" event of a session at the time it ended.
 */
#define SESSIONS_REASON_MAX 16
int sessions_ended(int64_t *ended_at_out, char reason_out[SESSIONS_REASON_MAX], store *s,
                   const char *env, const char *sid);

/*
 * At most how many seconds a sign-in ("signin.succeeded") or a role chosen
 * ("role.selected") comes before the exchange of the code it led to
 * ("token.issued"): a sign-in's transaction lives 30 minutes and its code 2
 * (oidc_int.h TX_TTL + CODE_TTL, checked in sessions.c).
 */
#define SESSIONS_SIGNIN_TO_TOKEN_MAX (1800 + 120)

/*
 * Ends the live sessions of `env` idle since before `idle_before` or past
 * their absolute expiry at `now`, each as sessions_end() would. `*ended_out`
 * counts them. For a periodic sweep.
 */
int sessions_expire(int *ended_out, store *s, const char *env, int64_t now, int64_t idle_before);

#endif
