/*
 * The durable outbox: outbound work (e-mail, later back-channel logout
 * tokens) that must survive a crash.
 *
 * A producer calls outbox_enqueue() — a single INSERT, so it can run inside
 * the producer's own store transaction and the message commits (or rolls
 * back) together with the state change it reports. A worker thread (or
 * outbox_drain()) then delivers due messages through the handler registered
 * for their kind, recording every attempt in outbox_attempts and retrying
 * with exponential backoff.
 *
 * Several processes may share one store: a message is claimed with a lease
 * (a conditional UPDATE that only one claimer wins) before delivery. A process
 * killed mid-delivery leaves its lease to expire, after which anyone delivers
 * the message again. Delivery is therefore at least once: a message may be
 * delivered twice only when a delivery outlives its lease or the process dies
 * between delivering and recording it. Handlers should make duplicates
 * harmless (e-mail keeps one Message-ID across attempts). A claim counts as
 * an attempt: a message whose deliveries keep dying with their process is
 * marked failed once max_attempts claims have been used up.
 *
 * Every attempt is logged as one JSON line, event "outbox_attempt", with
 * "id", "kind", "attempt", "result" ("delivered", "retry" or "failed") and
 * "detail".
 */
#ifndef CAREID_OUTBOX_OUTBOX_H
#define CAREID_OUTBOX_OUTBOX_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "store/store.h"

typedef struct outbox outbox;

/* Size of an outbox message id: 32 characters and a NUL. */
#define OUTBOX_ID_SIZE 33

/* Cap of a payload once serialised, and of a handler's detail. */
#define OUTBOX_MAX_PAYLOAD (1024 * 1024)
#define OUTBOX_MAX_DETAIL  1024

/*
 * Delivers messages of one kind. `deliver` is called without any lock held,
 * possibly from several threads at once (the worker and outbox_drain()), so
 * `ctx` must be safe to share read-only. It may write a short human-readable
 * account into `detail` (capped at OUTBOX_MAX_DETAIL; e.g. the receiver's
 * reply), which is stored with the attempt. Returns:
 *   0                 delivered;
 *   CAREID_EINVALID   permanent failure, never retried (a 400 from an RP, a
 *                     rejected recipient, a payload that cannot be sent);
 *   other negative    temporary failure, retried later.
 */
struct outbox_handler {
	const char *kind;
	int (*deliver)(void *ctx, const json_t *payload, struct buf *detail);
	void *ctx;
};

/* Tuning; 0 in any field means its default. */
struct outbox_opts {
	int max_attempts;   /* attempts before a message is marked failed; default 8 */
	int base_backoff_s; /* delay after the first failure, doubled after each; default 2 */
	int max_backoff_s;  /* cap of the delay; default 3600 */
	int poll_ms;        /* how often the worker looks for due messages; default 500 */
	int lease_s;        /* how long a claim holds; default 60 (keep it above any
	                       handler's timeout) */
};

/*
 * Creates an outbox delivering from `s` with `handlers[0..n)` (copied; the
 * kind strings and contexts are borrowed and must outlive the outbox). `o`
 * may be NULL. Nothing runs until outbox_start() or outbox_drain(). A message
 * whose kind has no handler here is treated as a temporary failure (another
 * process may know it). Free with outbox_free(), before store_free().
 */
int outbox_new(outbox **out, store *s, const struct outbox_handler *handlers, size_t n,
               const struct outbox_opts *o);

/*
 * Queues `payload` (serialised to JSON here; not consumed) for the handler of
 * `kind` (1–32 characters of [a-z0-9_]), due now. Runs exactly one INSERT on
 * the calling thread's connection, so it joins the caller's open transaction
 * if there is one. `id_out` (may be NULL) receives the message id.
 * CAREID_EINVALID for a bad kind or a payload that is not an object,
 * CAREID_ETOOBIG over OUTBOX_MAX_PAYLOAD, store errors as store_exec().
 */
int outbox_enqueue(store *s, const char *kind, const json_t *payload, char id_out[OUTBOX_ID_SIZE]);

/* Starts the one worker thread. CAREID_EEXISTS when it already runs. */
int outbox_start(outbox *ob);

/* Wakes the worker so it looks for due messages now rather than at its next
 * poll (e.g. right after an enqueue). Accepts NULL. */
void outbox_wake(outbox *ob);

/* Asks the worker to stop and joins it; a delivery in flight finishes and is
 * recorded first. Does nothing when the worker is not running. */
void outbox_stop(outbox *ob);

/*
 * Delivers due messages on the calling thread until none is due or
 * `timeout_ms` (> 0) has passed. Messages leased by someone else are not due.
 * Returns the number of attempts made (>= 0) or a negative store error.
 * For tests and the CLI; it may run while the worker runs, but not inside a
 * transaction of the calling thread (each result commits on its own).
 */
int outbox_drain(outbox *ob, int timeout_ms);

/* Stops the worker if it runs and frees the outbox. Accepts NULL. */
void outbox_free(outbox *ob);

#endif
