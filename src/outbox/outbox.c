/*
 * The durable outbox: enqueue, claim with a lease, deliver, record, back off.
 * Every state change after the claim is fenced by the attempt number, so a
 * delivery that outlived its lease cannot overwrite the newer attempt's result.
 */
#include "outbox/outbox.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"

#define OUTBOX_BATCH    10
#define OUTBOX_KIND_MAX 32

struct outbox {
	store *s;
	struct outbox_handler *handlers;
	size_t n;
	struct outbox_opts o;
	pthread_mutex_t lock; /* guards the fields below */
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stopping, woken;
};

/* Copies at most size-1 bytes of `src` and a NUL (ids and kinds are short
 * by construction; a longer value is cut, never overflowed). */
static void copy_bounded(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool outbox_kind_ok(const char *kind)
{
	size_t len = kind ? strlen(kind) : 0;

	if (len == 0 || len > OUTBOX_KIND_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = kind[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

int outbox_new(outbox **out, store *s, const struct outbox_handler *handlers, size_t n,
               const struct outbox_opts *o)
{
	pthread_condattr_t ca;
	outbox *ob;

	*out = NULL;
	if (!s || (n && !handlers))
		return careid_error_set(CAREID_EINVALID, "outbox: no store or handlers");
	for (size_t i = 0; i < n; i++) {
		if (!outbox_kind_ok(handlers[i].kind) || !handlers[i].deliver)
			return careid_error_set(CAREID_EINVALID, "outbox: bad handler %zu", i);
	}
	ob = calloc(1, sizeof(*ob));
	if (!ob)
		return careid_error_set(CAREID_ENOMEM, "outbox: out of memory");
	if (n) {
		ob->handlers = calloc(n, sizeof(*ob->handlers));
		if (!ob->handlers) {
			free(ob);
			return careid_error_set(CAREID_ENOMEM, "outbox: out of memory");
		}
		memcpy(ob->handlers, handlers, n * sizeof(*handlers));
	}
	ob->s = s;
	ob->n = n;
	if (o)
		ob->o = *o;
	if (ob->o.max_attempts <= 0)
		ob->o.max_attempts = 8;
	if (ob->o.base_backoff_s <= 0)
		ob->o.base_backoff_s = 2;
	if (ob->o.max_backoff_s <= 0)
		ob->o.max_backoff_s = 3600;
	if (ob->o.poll_ms <= 0)
		ob->o.poll_ms = 500;
	if (ob->o.lease_s <= 0)
		ob->o.lease_s = 60;
	pthread_mutex_init(&ob->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ob->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = ob;
	return 0;
}

int outbox_enqueue(store *s, const char *kind, const json_t *payload, char id_out[OUTBOX_ID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[(OUTBOX_ID_SIZE - 1) / 2];
	char id[OUTBOX_ID_SIZE];
	int64_t now;
	char *text;
	int rc;

	if (id_out)
		id_out[0] = '\0';
	if (!s || !outbox_kind_ok(kind))
		return careid_error_set(CAREID_EINVALID, "outbox: bad kind");
	if (!json_is_object(payload))
		return careid_error_set(CAREID_EINVALID, "outbox: payload is not a JSON object");
	text = json_dumps(payload, JSON_COMPACT);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "outbox: cannot serialise the payload");
	if (strlen(text) > OUTBOX_MAX_PAYLOAD) {
		rc = careid_error_set(CAREID_ETOOBIG, "outbox: payload over %d bytes",
		                      OUTBOX_MAX_PAYLOAD);
		goto out;
	}
	crypto_random_bytes(raw, sizeof(raw));
	for (size_t i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 15];
	}
	id[OUTBOX_ID_SIZE - 1] = '\0';
	now = clock_now();
	rc = store_exec(s,
	                "INSERT INTO outbox (id, kind, payload, state, attempts, next_attempt_at, "
	                "created_at) VALUES ($1, $2, $3, 'pending', 0, $4, $5)",
	                "tttii", id, kind, text, now, now);
	if (rc < 0)
		goto out;
	rc = 0;
	if (id_out)
		memcpy(id_out, id, OUTBOX_ID_SIZE);
out:
	free(text);
	return rc;
}

/* Delay before attempt `attempt` + 1: base * 2^(attempt-1) plus up to a
 * quarter of it at random (so retries of many messages spread out), capped. */
static int64_t outbox_backoff(const struct outbox_opts *o, int attempt)
{
	int64_t d = o->base_backoff_s;
	uint32_t r;

	for (int i = 1; i < attempt && d < o->max_backoff_s; i++)
		d *= 2;
	if (d >= o->max_backoff_s)
		return o->max_backoff_s;
	crypto_random_bytes(&r, sizeof(r));
	d += (int64_t)(r % (uint32_t)(d / 4 + 1));
	return d < o->max_backoff_s ? d : o->max_backoff_s;
}

static const struct outbox_handler *outbox_handler_for(const outbox *ob, const char *kind)
{
	for (size_t i = 0; i < ob->n; i++) {
		if (strcmp(ob->handlers[i].kind, kind) == 0)
			return &ob->handlers[i];
	}
	return NULL;
}

struct outbox_claim {
	char id[OUTBOX_ID_SIZE];
	char kind[OUTBOX_KIND_MAX + 1];
	int64_t attempt;
	json_t *payload;
	bool bad_payload;
};

/*
 * Claims message `id` for one attempt: 1 when this caller won the lease
 * (`c` filled; json_decref c->payload), 0 when someone else holds it or it is
 * no longer due, or a negative code.
 */
static int outbox_claim(outbox *ob, const char *id, struct outbox_claim *c)
{
	int64_t now = clock_now();
	store_stmt *st = NULL;
	const char *kind, *payload;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = store_exec(ob->s,
	                "UPDATE outbox SET locked_until = $1, attempts = attempts + 1 "
	                "WHERE id = $2 AND state = 'pending' AND next_attempt_at <= $3 "
	                "AND (locked_until IS NULL OR locked_until < $4)",
	                "itii", now + ob->o.lease_s, id, now, now);
	if (rc != 1)
		return rc < 0 ? rc : 0;
	/* The lease is ours: nobody else changes the row until it expires. */
	rc = store_query(ob->s, &st, "SELECT kind, payload, attempts FROM outbox WHERE id = $1",
	                 "t", id);
	if (rc == 0)
		rc = store_next(st);
	if (rc == 0)
		rc = careid_error_set(CAREID_ENOTFOUND, "outbox: claimed message vanished");
	if (rc < 0)
		goto out;
	kind = store_text(st, 0);
	payload = store_text(st, 1);
	copy_bounded(c->id, sizeof(c->id), id);
	copy_bounded(c->kind, sizeof(c->kind), kind ? kind : "");
	c->attempt = store_int(st, 2);
	c->payload = payload ? json_loads(payload, JSON_REJECT_DUPLICATES, NULL) : NULL;
	c->bad_payload = !json_is_object(c->payload);
	rc = 1;
out:
	store_done(st);
	return rc;
}

/* Writes the attempt's outcome; 0, or a negative code (the lease then
 * expires and the message is attempted again). */
static int outbox_record(outbox *ob, const struct outbox_claim *c, int drc, const char *detail,
                         const char **result_out, int64_t *next_out)
{
	int64_t now = clock_now(), next = 0;
	const char *state;
	int rc;

	if (drc == 0)
		state = "delivered";
	else if (drc == CAREID_EINVALID || c->attempt >= ob->o.max_attempts)
		state = "failed";
	else
		state = "pending";
	*result_out = drc == 0 ? "delivered" : strcmp(state, "failed") == 0 ? "failed" : "retry";
	rc = store_begin(ob->s);
	if (rc < 0)
		return rc;
	rc = store_exec(ob->s,
	                "INSERT INTO outbox_attempts (outbox_id, attempt, at, ok, detail) "
	                "VALUES ($1, $2, $3, $4, $5)",
	                "tiiit", c->id, c->attempt, now, (int64_t)(drc == 0), detail);
	if (rc < 0)
		goto fail;
	if (drc == 0) {
		rc = store_exec(
		    ob->s,
		    "UPDATE outbox SET state = 'delivered', locked_until = NULL, "
		    "delivered_at = $1, last_error = NULL WHERE id = $2 AND attempts = $3",
		    "iti", now, c->id, c->attempt);
	} else {
		next = strcmp(state, "pending") == 0 ? now + outbox_backoff(&ob->o, (int)c->attempt)
		                                     : now;
		rc = store_exec(
		    ob->s,
		    "UPDATE outbox SET state = $1, locked_until = NULL, "
		    "next_attempt_at = $2, last_error = $3 WHERE id = $4 AND attempts = $5",
		    "titti", state, next, detail, c->id, c->attempt);
	}
	if (rc < 0)
		goto fail;
	if (rc == 0) {
		/* Our lease expired and another attempt claimed the message: it
		 * decides the state; our attempt stays on record. */
		*result_out = "lease_lost";
	}
	rc = store_commit(ob->s);
	if (rc < 0)
		goto fail;
	*next_out = next;
	return 0;
fail:
	store_rollback(ob->s);
	return rc;
}

/* One attempt at message `id`: 1 when made, 0 when not ours to make, or a
 * negative store error. */
static int outbox_attempt(outbox *ob, const char *id)
{
	const struct outbox_handler *h;
	struct outbox_claim c;
	const char *result = "retry";
	int64_t t0, next = 0;
	struct buf detail;
	int rc, drc;

	rc = outbox_claim(ob, id, &c);
	if (rc <= 0)
		return rc;
	buf_init(&detail, OUTBOX_MAX_DETAIL);
	t0 = clock_mono_us();
	h = outbox_handler_for(ob, c.kind);
	if (c.attempt > ob->o.max_attempts) {
		/* Claimed again and again without a result: each holder died (or
		 * outlived its lease) mid-delivery. Stop before it takes more down. */
		drc = CAREID_EINVALID;
		if (buf_puts(&detail, "attempts used up by deliveries that never finished") != 0)
			buf_reset(&detail);
	} else if (c.bad_payload) {
		drc = CAREID_EINVALID;
		if (buf_puts(&detail, "payload is not a JSON object") != 0)
			buf_reset(&detail);
	} else if (!h) {
		drc = CAREID_EUNSUPPORTED;
		if (buf_printf(&detail, "no handler for kind '%s' in this process", c.kind) != 0)
			buf_reset(&detail);
	} else {
		careid_error_clear();
		drc = h->deliver(h->ctx, c.payload, &detail);
		if (drc > 0)
			drc = CAREID_EIO;
		if (drc < 0 && detail.len == 0 && buf_puts(&detail, careid_error_last()->message))
			buf_reset(&detail);
	}
	rc = outbox_record(ob, &c, drc, drc == 0 && detail.len == 0 ? NULL : detail.ptr, &result,
	                   &next);
	if (rc < 0) {
		log_pack(LOG_ERROR, "outbox_record_failed", "{s:s, s:s, s:I, s:s, s:s}", "id", c.id,
		         "kind", c.kind, "attempt", (json_int_t)c.attempt, "delivery",
		         drc == 0 ? "delivered" : "failed", "error", careid_error_last()->message);
	} else {
		json_t *f = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I}", "id", c.id, "kind", c.kind,
		                      "attempt", (json_int_t)c.attempt, "result", result, "detail",
		                      detail.ptr, "duration_ms",
		                      (json_int_t)((clock_mono_us() - t0) / 1000));

		if (f && strcmp(result, "retry") == 0)
			json_object_set_new(f, "next_attempt_at", json_integer(next));
		log_event(drc == 0                        ? LOG_INFO
		          : strcmp(result, "failed") == 0 ? LOG_ERROR
		                                          : LOG_WARN,
		          "outbox_attempt", f);
	}
	buf_release(&detail);
	json_decref(c.payload);
	return rc < 0 ? rc : 1;
}

static bool outbox_stopping(outbox *ob)
{
	bool stop;

	pthread_mutex_lock(&ob->lock);
	stop = ob->stopping;
	pthread_mutex_unlock(&ob->lock);
	return stop;
}

/*
 * One look for due messages: attempts each candidate it can claim. Returns
 * the number of candidates seen (0: nothing due) or a negative store error;
 * `*made` counts the attempts made.
 */
static int outbox_pass(outbox *ob, bool worker, int *made)
{
	char ids[OUTBOX_BATCH][OUTBOX_ID_SIZE];
	int64_t now = clock_now();
	store_stmt *st = NULL;
	int rc, found = 0;

	*made = 0;
	rc = store_query(ob->s, &st,
	                 "SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 "
	                 "AND (locked_until IS NULL OR locked_until < $2) "
	                 "ORDER BY next_attempt_at LIMIT 10",
	                 "ii", now, now);
	while (rc == 0 && found < OUTBOX_BATCH && (rc = store_next(st)) == 1) {
		const char *id = store_text(st, 0);

		rc = 0;
		if (id && strlen(id) < OUTBOX_ID_SIZE)
			snprintf(ids[found++], OUTBOX_ID_SIZE, "%s", id);
	}
	store_done(st);
	if (rc < 0)
		return rc;
	for (int i = 0; i < found; i++) {
		if (worker && outbox_stopping(ob))
			break;
		rc = outbox_attempt(ob, ids[i]);
		if (rc == CAREID_EBUSY)
			continue; /* someone else is writing: the next pass retries */
		if (rc < 0)
			return rc;
		*made += rc;
	}
	return found;
}

int outbox_drain(outbox *ob, int timeout_ms)
{
	int64_t deadline;
	int total = 0, made, rc;

	if (!ob || timeout_ms <= 0)
		return careid_error_set(CAREID_EINVALID, "outbox_drain: no outbox or timeout");
	deadline = clock_mono_us() + (int64_t)timeout_ms * 1000;
	do {
		rc = outbox_pass(ob, false, &made);
		if (rc < 0)
			return rc;
		total += made;
	} while (rc > 0 && clock_mono_us() < deadline);
	return total;
}

static void *outbox_worker(void *arg)
{
	outbox *ob = arg;
	struct timespec until;
	int made, rc;

	while (!outbox_stopping(ob)) {
		rc = outbox_pass(ob, true, &made);
		if (rc < 0)
			log_error_last("outbox_pass_failed", NULL);
		if (rc > 0 && made > 0)
			continue; /* more may be due right away */
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += ob->o.poll_ms / 1000;
		until.tv_nsec += (long)(ob->o.poll_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&ob->lock);
		while (!ob->stopping && !ob->woken) {
			if (pthread_cond_timedwait(&ob->cond, &ob->lock, &until) != 0)
				break;
		}
		ob->woken = false;
		pthread_mutex_unlock(&ob->lock);
	}
	return NULL;
}

int outbox_start(outbox *ob)
{
	int rc = 0;

	if (!ob)
		return careid_error_set(CAREID_EINVALID, "outbox_start: no outbox");
	pthread_mutex_lock(&ob->lock);
	if (ob->running) {
		rc = careid_error_set(CAREID_EEXISTS, "outbox: worker already running");
	} else {
		ob->stopping = false;
		ob->woken = false;
		if (pthread_create(&ob->thread, NULL, outbox_worker, ob) != 0)
			rc = careid_error_set(CAREID_ENOMEM, "outbox: cannot start the worker");
		else
			ob->running = true;
	}
	pthread_mutex_unlock(&ob->lock);
	if (rc == 0)
		log_pack(LOG_DEBUG, "outbox_started", "{s:i, s:i}", "poll_ms", ob->o.poll_ms,
		         "lease_s", ob->o.lease_s);
	return rc;
}

void outbox_wake(outbox *ob)
{
	if (!ob)
		return;
	pthread_mutex_lock(&ob->lock);
	ob->woken = true;
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
}

void outbox_stop(outbox *ob)
{
	bool running;

	if (!ob)
		return;
	pthread_mutex_lock(&ob->lock);
	running = ob->running;
	ob->stopping = true;
	pthread_cond_signal(&ob->cond);
	pthread_mutex_unlock(&ob->lock);
	if (!running)
		return;
	pthread_join(ob->thread, NULL);
	pthread_mutex_lock(&ob->lock);
	ob->running = false;
	pthread_mutex_unlock(&ob->lock);
}

void outbox_free(outbox *ob)
{
	if (!ob)
		return;
	outbox_stop(ob);
	pthread_cond_destroy(&ob->cond);
	pthread_mutex_destroy(&ob->lock);
	free(ob->handlers);
	free(ob);
}
