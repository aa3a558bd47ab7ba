/*
 * OpenID Connect Back-Channel Logout 1.0: when an SSO session ends — by
 * RP-initiated logout, idle or absolute timeout, an administrator, or a
 * removed smartcard — every client it signed in to that registered a
 * backchannel_logout_uri is sent a logout token.
 *
 * Deliveries go through the durable outbox (outbox/): backchannel_enqueue()
 * inserts one message per client inside the caller's store transaction, so
 * the logout and its notices commit together and survive a crash; the
 * handler signs the logout token when it delivers (a fresh iat and jti per
 * attempt) and POSTs it. A 2xx answer is delivered; a 400 (the RP refused
 * the token) is recorded and never retried; anything else is retried with
 * backoff. Every attempt is recorded (outbox_attempts) and audited
 * ("logout.delivered", "logout.refused", "logout.retry").
 */
#ifndef CAREID_OIDC_BACKCHANNEL_H
#define CAREID_OIDC_BACKCHANNEL_H

#include <stdint.h>

#include <jansson.h>

#include "outbox/outbox.h"
#include "oidc/provider.h"
#include "store/store.h"

/* The outbox kind of logout-token deliveries. */
#define BACKCHANNEL_KIND "backchannel_logout"

/*
 * Queues a logout token for every client of session `sid` (session_clients)
 * in environment `env` that registered a backchannel_logout_uri. Must run
 * inside the caller's store transaction (the one that ends the session).
 * `sub` is the session's user. `*queued_out` (may be NULL) counts the
 * messages.
 */
int backchannel_enqueue(store *s, const char *env, const char *sid, const char *sub,
                        int *queued_out);

/*
 * The outbox handler delivering them: signs with the environment's current
 * key (provider `p`, borrowed, must outlive the outbox). Fills `*out`.
 */
void backchannel_handler(struct outbox_handler *out, provider *p);

/*
 * Test logout tokens, for a supplier proving its relying party conforms
 * (docs/conformance-evidence.md; Back-Channel Logout 1.0 §2.6, §2.8): two
 * messages of their own outbox kind to the client's back-channel logout URI,
 * one valid logout token and one deliberately invalid (the same claims under
 * a signature that does not verify against the issuer's JWKS). Both name
 * the sid and sub of the client's most recent session in the environment,
 * so a conforming RP answers 200 to the first and 400 to the second. Each is
 * signed afresh when delivered and attempted once, never retried, with a
 * short timeout (3 s); the attempt is audited as "logout.test" with its
 * outcome ("accepted" for a 2xx, "rejected" for a 400, "failed" otherwise,
 * status 0 when the URI was unreachable). The two are queued in random
 * order: an RP answering by position, not by validating, is found out.
 * Nothing in careid changes: no session ends.
 *
 * They share the outbox's one worker with every e-mail and real logout
 * token, so requests are bounded: one request per client every 30 seconds,
 * none while the client's earlier test messages are still waiting, and at
 * most 20 test messages waiting for every client together.
 */
#define BACKCHANNEL_TEST_KIND "backchannel_test"

/*
 * Queues the two test tokens for client `client_id` of environment `env`,
 * in one store transaction with the "logout.test_requested" event by
 * `actor` (a UID, "admin"; NULL: "system"). Do not call inside a
 * transaction. `*out` (may be NULL; new reference, the caller decrefs) is
 * {"env", "client_id", "uri", "sid", "requested_at"}. Errors, with a
 * message for the person asking:
 *   CAREID_ENOTFOUND  no such client ("no client X is registered in ENV"),
 *                     or the client has no session in `env` yet ("sign in
 *                     to this client in ENV first: …");
 *   CAREID_EINVALID   an unknown environment, or no back-channel logout URI
 *                     ("register a back-channel logout URI for this client
 *                     first");
 *   CAREID_EBUSY      a limit above, nothing recorded: "wait N seconds
 *                     before sending test logout tokens again" (the
 *                     client's last request was under 30 s ago), "the test
 *                     logout tokens asked for before are still being sent:
 *                     wait 10 seconds …", or "too many test logout tokens
 *                     are waiting to be sent; try again in a minute".
 *                     `*retry_after_out` (may be NULL; 0 otherwise) is then
 *                     the seconds to wait (N, 10 or 60).
 */
int backchannel_send_tests(provider *p, const char *env, const char *client_id, const char *actor,
                           json_t **out, int64_t *retry_after_out);

/* The same on store `s`, for callers without a provider (the CLI): the
 * running server's outbox delivers them. Same limits and errors. */
int backchannel_queue_tests(store *s, const char *env, const char *client_id, const char *actor,
                            json_t **out);

/* The outbox handler delivering test tokens (kind BACKCHANNEL_TEST_KIND);
 * as backchannel_handler(). */
void backchannel_test_handler(struct outbox_handler *out, provider *p);

#endif
