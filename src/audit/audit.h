/*
 * The audit trail: every state change careid makes (sign-ins, tokens,
 * onboarding decisions, …) as an append-only event in the store. Each event
 * carries the SHA-256 of the previous event's hash and its own content, so an
 * edited or deleted row breaks the chain (`careid audit verify`, issue 5).
 * The onboarding service reads these events as conformance evidence.
 */
#ifndef CAREID_AUDIT_AUDIT_H
#define CAREID_AUDIT_AUDIT_H

#include <jansson.h>

#include "store/store.h"

/*
 * Appends an event. Must run inside the caller's store transaction
 * (store_begin()), which both serialises the chain and makes the event
 * commit or roll back with the change it records.
 *   actor   who acted: a UID, "system", or a client id
 *   action  what happened, dotted: "saq.submitted", "review.decided", …
 *   subject what it happened to: "saq:ID", "account:UID", …
 *   detail  a JSON object (may be NULL), copied
 */
int audit_record(store *s, const char *actor, const char *action, const char *subject,
                 const json_t *detail);

#endif
