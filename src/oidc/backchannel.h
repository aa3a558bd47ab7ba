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

#endif
