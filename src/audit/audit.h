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
#include <stdbool.h>
#include <stdint.h>

#include "crypto/hash.h"
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

/*
 * Verifying the chain (`careid audit verify`). Row n (seq n, from 1 with no
 * gap) holds prev_hash, the hash of row n-1 (64 zeros for row 1), and hash,
 * the SHA-256 of [prev_hash, seq, at, actor, action, subject, detail] as
 * compact JSON. A walk in seq order therefore finds:
 *   - a row whose columns were edited (its hash no longer covers them);
 *   - deleted rows before the newest (the seq numbers jump);
 *   - a row edited together with its hash (the next row no longer links to
 *     it), and rows swapped or renumbered (seq is under the hash).
 * The chain has no secret, so it cannot reveal by itself that the newest
 * rows were deleted (what is left is a valid chain), nor a chain rewritten
 * with recomputed hashes from some row to the end. An anchor closes both:
 * the head (seq and hash of the newest row) printed by an earlier verify,
 * kept outside the store, must still be in the chain.
 */
enum audit_problem {
	AUDIT_EDITED = 1,    /* the row's hash does not cover its columns */
	AUDIT_MISSING,       /* rows are missing before this seq (the chain jumps) */
	AUDIT_RELINKED,      /* the row was rewritten with a recomputed hash: the next one no
	                        longer links to it */
	AUDIT_TRUNCATED,     /* the rows from this seq up to the anchor's were deleted */
	AUDIT_ANCHOR_DIFFERS /* the anchor's row has another hash: the chain was rewritten */
};

struct audit_break {
	int64_t seq; /* the first row concerned */
	enum audit_problem problem;
	char message[160]; /* e.g. "row 42 was edited (its columns no longer match its hash)" */
};

#define AUDIT_BREAKS_MAX 20

struct audit_verification {
	bool intact;
	int64_t rows;     /* rows walked */
	int64_t last_seq; /* the head: 0 when there are no rows */
	char last_hash[CRYPTO_HASH_HEX];
	size_t nbreaks;       /* in `breaks`, in seq order */
	int64_t total_breaks; /* may exceed AUDIT_BREAKS_MAX */
	struct audit_break breaks[AUDIT_BREAKS_MAX];
};

/* A head printed by an earlier verify: "SEQ:HASH" (HASH 64 hex digits). */
struct audit_anchor {
	int64_t seq;
	char hash[CRYPTO_HASH_HEX];
};
/* EINVALID when `text` is not SEQ:HASH with SEQ >= 1. */
int audit_anchor_parse(struct audit_anchor *out, const char *text);

/*
 * Walks every event in seq order (one query: a consistent view while others
 * append) and fills `*out`; `anchor` may be NULL. Returns 0 when the walk
 * finished, whatever it found (out->intact says), or a negative code when the
 * store failed.
 */
int audit_verify(struct audit_verification *out, store *s, const struct audit_anchor *anchor);

#endif
