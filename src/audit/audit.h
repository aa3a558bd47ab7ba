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
 * Reading the trail by client. audit_record() copies the detail's
 * "client_id", when it is a string, into the row's client_id column, indexed
 * with the action and time (migration 009): the events of one client are read
 * through that index, and no other module reads audit_events itself. The
 * column is an index only and is NOT under the hash (which covers the columns
 * listed for audit_verify() below), so a reader never trusts it alone: each
 * row's detail is parsed, and a row whose detail's "client_id" is not exactly
 * the client asked for is skipped and logged (audit_index_mismatch).
 */
#define AUDIT_QUERY_ACTIONS_MAX 8

/* One event, as recorded. Every member is the walk's and valid during the
 * callback only: json_incref() the detail to keep it. */
struct audit_event {
	int64_t seq;
	int64_t at;
	const char *actor;
	const char *action;
	const char *subject;
	json_t *detail; /* a JSON object whose "client_id" is the query's */
};

struct audit_client_query {
	const char *client_id;      /* exactly: no pattern, no prefix */
	const char *const *actions; /* NULL-terminated, 1 to AUDIT_QUERY_ACTIONS_MAX */
	int64_t since;              /* at >= since */
	int64_t until;              /* at < until; 0: no upper bound */
	size_t max;                 /* at most this many rows read (a skipped one
	                               counts); 0: no limit */
	bool newest_first;          /* seq descending: with `max`, the newest events */
};

/* Called for each event; non-zero stops the walk and is returned as is. */
typedef int (*audit_event_fn)(void *ctx, const struct audit_event *e);

/*
 * Calls `fn` for each event of `q->client_id` whose action is one of
 * `q->actions` and whose time is in [since, until), in seq order (or its
 * reverse), one query: a consistent view while others append. Returns 0
 * when the walk finished, what `fn` returned when it stopped the walk,
 * CAREID_EINVALID for a query without a client or with no (or too many)
 * actions, or a negative code when the store failed. `fn` may run other
 * queries (even another walk) but not begin or end a transaction: the walk's
 * cursor is open.
 */
int audit_client_events(store *s, const struct audit_client_query *q, audit_event_fn fn, void *ctx);

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
	AUDIT_EDITED = 1,     /* the row's hash does not cover its columns */
	AUDIT_MISSING,        /* rows are missing before this seq (the chain jumps) */
	AUDIT_RELINKED,       /* the row was rewritten with a recomputed hash: the next one no
	                         longer links to it */
	AUDIT_TRUNCATED,      /* the rows from this seq up to the anchor's were deleted */
	AUDIT_ANCHOR_DIFFERS, /* the anchor's row has another hash: the chain was rewritten */
	AUDIT_INDEX_DIFFERS   /* the row's client_id column (an index, not under the hash)
	                         disagrees with its detail: it was changed to hide or move it */
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
