#include "audit/audit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"

#define GENESIS   "0000000000000000000000000000000000000000000000000000000000000000"
#define CANON_MAX (64 * 1024)

/* The hash of a row. The hash covers every column, as a JSON array:
 * unambiguous whatever the strings hold. EINVALID when the columns cannot be
 * put in one (a NULL, bad UTF-8), ETOOBIG over CANON_MAX. */
static int row_hash(char out[CRYPTO_HASH_HEX], const char *prev, int64_t seq, int64_t at,
                    const char *actor, const char *action, const char *subject, const char *detail)
{
	uint8_t digest[32];
	json_t *canon;
	char *text;
	size_t n;

	canon = json_pack("[s, I, I, s, s, s, s]", prev, (json_int_t)seq, (json_int_t)at, actor,
	                  action, subject, detail);
	text = canon ? json_dumps(canon, JSON_COMPACT) : NULL;
	json_decref(canon);
	if (!text)
		return careid_error_set(CAREID_EINVALID, "the event cannot be hashed");
	n = strlen(text);
	if (n > CANON_MAX) {
		free(text);
		return careid_error_set(CAREID_ETOOBIG, "the event is over %d bytes", CANON_MAX);
	}
	crypto_sha256(digest, text, n);
	crypto_hex(out, digest, sizeof(digest));
	free(text);
	return 0;
}

/* The detail's "client_id" when it is a string a C string can hold, else
 * NULL: the value of the client_id index column. */
static const char *detail_client_id(const json_t *detail)
{
	const json_t *id = json_object_get(detail, "client_id");

	if (!json_is_string(id) || strlen(json_string_value(id)) != json_string_length(id))
		return NULL;
	return json_string_value(id);
}

/* Enough for every writer of a busy cluster to go first once. */
#define AUDIT_INSERT_TRIES 16

int audit_record(store *s, const char *actor, const char *action, const char *subject,
                 const json_t *detail)
{
	static const char sql_last[] =
	    "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1";
	static const char sql_insert[] =
	    "INSERT INTO audit_events (seq, at, actor, action, subject, detail, prev_hash, hash, "
	    "client_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
	char prev[CRYPTO_HASH_HEX] = GENESIS, hash[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	int64_t seq = 1, at = clock_now();
	const char *client_id = detail_client_id(detail);
	char *text = NULL;
	int rc;

	text = detail ? json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	if (!text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	/* Outside a transaction another process may take the next seq between
	 * the read and the insert (the primary key refuses the second row):
	 * read again and chain onto that one. */
	for (int tries = 0; tries < AUDIT_INSERT_TRIES; tries++) {
		seq = 1;
		snprintf(prev, sizeof(prev), "%s", GENESIS);
		rc = store_query(s, &st, sql_last, "");
		if (rc)
			goto out;
		rc = store_next(st);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			seq = store_int(st, 0) + 1;
			snprintf(prev, sizeof(prev), "%s",
			         store_text(st, 1) ? store_text(st, 1) : "");
		}
		store_done(st);
		st = NULL;
		rc = row_hash(hash, prev, seq, at, actor, action, subject, text);
		if (rc)
			goto out;
		rc = store_exec(s, sql_insert, "iittttttt", seq, at, actor, action, subject, text,
		                prev, hash, client_id);
		if (rc != CAREID_EEXISTS)
			break;
	}
	rc = rc < 0 ? rc : 0;
out:
	store_done(st);
	free(text);
	return rc;
}

/* The row of a walk by client that is an event of `client_id`: its detail,
 * parsed, names the client (the index column said so, but it is not under
 * the hash). A new reference, or NULL for a row to skip. */
static json_t *client_detail(store_stmt *st, const char *client_id)
{
	json_t *detail = json_loads(store_text(st, 5) ? store_text(st, 5) : "", 0, NULL);
	const char *named = detail_client_id(detail);

	if (json_is_object(detail) && named && strcmp(named, client_id) == 0)
		return detail;
	log_pack(LOG_WARN, "audit_index_mismatch", "{s:I, s:s, s:s?}", "seq",
	         (json_int_t)store_int(st, 0), "client_id", client_id, "detail_client_id", named);
	json_decref(detail);
	return NULL;
}

int audit_client_events(store *s, const struct audit_client_query *q, audit_event_fn fn, void *ctx)
{
	/* Unused action slots bind NULL, which equals nothing. */
#define CLIENT_SQL(order)                                                                          \
	"SELECT seq, at, actor, action, subject, detail FROM audit_events WHERE client_id = $1 "   \
	"AND action IN ($2, $3, $4, $5, $6, $7, $8, $9) AND at >= $10 AND at < $11 ORDER BY "      \
	"seq " order " LIMIT $12"
	static const char sql_asc[] = CLIENT_SQL("ASC");
	static const char sql_desc[] = CLIENT_SQL("DESC");
#undef CLIENT_SQL
	const char *a[AUDIT_QUERY_ACTIONS_MAX] = {NULL};
	store_stmt *st = NULL;
	size_t n = 0;
	int rc;

	if (!q || !q->client_id || !q->actions || !q->actions[0] || !fn)
		return careid_error_set(CAREID_EINVALID,
		                        "audit: a client and an action are needed");
	for (; q->actions[n]; n++) {
		if (n == AUDIT_QUERY_ACTIONS_MAX)
			return careid_error_set(CAREID_EINVALID, "audit: over %d actions",
			                        AUDIT_QUERY_ACTIONS_MAX);
		a[n] = q->actions[n];
	}
	rc = store_query(s, &st, q->newest_first ? sql_desc : sql_asc, "tttttttttiii", q->client_id,
	                 a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], q->since,
	                 q->until ? q->until : INT64_MAX,
	                 q->max && q->max < (uint64_t)INT64_MAX ? (int64_t)q->max : INT64_MAX);
	while (!rc && (rc = store_next(st)) == 1) {
		json_t *detail = client_detail(st, q->client_id);
		struct audit_event e;

		rc = 0;
		if (!detail)
			continue;
		e = (struct audit_event){store_int(st, 0),  store_int(st, 1),  store_text(st, 2),
		                         store_text(st, 3), store_text(st, 4), detail};
		rc = fn(ctx, &e);
		json_decref(detail);
	}
	store_done(st);
	return rc;
}

int audit_anchor_parse(struct audit_anchor *out, const char *text)
{
	const char *colon = text ? strchr(text, ':') : NULL;
	char *end = NULL;
	long long seq;

	memset(out, 0, sizeof(*out));
	if (!colon || colon == text || strlen(colon + 1) != 64 ||
	    strspn(colon + 1, "0123456789abcdef") != 64 ||
	    strspn(text, "0123456789") != (size_t)(colon - text))
		return careid_error_set(CAREID_EINVALID, "an anchor is SEQ:HASH (64 hex digits)");
	errno = 0;
	seq = strtoll(text, &end, 10);
	if (end != colon || seq < 1 || errno)
		return careid_error_set(CAREID_EINVALID, "an anchor's SEQ is a row number from 1");
	out->seq = seq;
	memcpy(out->hash, colon + 1, 65);
	return 0;
}

static void add_break(struct audit_verification *v, int64_t seq, enum audit_problem problem,
                      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void add_break(struct audit_verification *v, int64_t seq, enum audit_problem problem,
                      const char *fmt, ...)
{
	struct audit_break *b;
	va_list ap;

	v->intact = false;
	v->total_breaks++;
	if (v->nbreaks == AUDIT_BREAKS_MAX)
		return;
	b = &v->breaks[v->nbreaks++];
	b->seq = seq;
	b->problem = problem;
	va_start(ap, fmt);
	vsnprintf(b->message, sizeof(b->message), fmt, ap);
	va_end(ap);
}

/* Rows `from` to `to` are missing, `to` + 1 being the row that follows. */
static void add_missing(struct audit_verification *v, int64_t from, int64_t to)
{
	long long a = from, z = to;

	if (from == to && from == 1)
		add_break(v, from, AUDIT_MISSING, "row 1 is missing (the chain starts at 2)");
	else if (from == to)
		add_break(v, from, AUDIT_MISSING,
		          "row %lld is missing (the chain jumps from %lld to %lld)", a, a - 1,
		          a + 1);
	else if (from == 1)
		add_break(v, from, AUDIT_MISSING,
		          "rows 1 to %lld are missing (the chain starts at %lld)", z, z + 1);
	else
		add_break(v, from, AUDIT_MISSING,
		          "rows %lld to %lld are missing (the chain jumps from %lld to %lld)", a, z,
		          a - 1, z + 1);
}

/* True when row `st` of audit_verify's walk has the client_id column its
 * detail gives (column 8; NULL when the detail names no client). */
static bool index_matches(store_stmt *st)
{
	json_t *detail = json_loads(store_text(st, 5) ? store_text(st, 5) : "", 0, NULL);
	const char *named = detail_client_id(detail);
	const char *column = store_null(st, 8) ? NULL : store_text(st, 8);
	bool ok = named && column ? strcmp(named, column) == 0 : !named && !column;

	json_decref(detail);
	return ok;
}

int audit_verify(struct audit_verification *out, store *s, const struct audit_anchor *anchor)
{
	static const char sql[] =
	    "SELECT seq, at, actor, action, subject, detail, prev_hash, hash, "
	    "client_id FROM audit_events ORDER BY seq";
	char prev[CRYPTO_HASH_HEX] = GENESIS, computed[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	int64_t expected = 1, prev_seq = 0;
	bool anchor_seen = false, prev_edited = false;
	int rc;

	memset(out, 0, sizeof(*out));
	out->intact = true;
	rc = store_query(s, &st, sql, "");
	while (!rc && (rc = store_next(st)) == 1) {
		int64_t seq = store_int(st, 0);
		const char *prev_hash = store_text(st, 6), *hash = store_text(st, 7);
		bool gap = seq != expected, edited;
		int hrc;

		rc = 0;

		if (seq > expected)
			add_missing(out, expected, seq - 1);
		else if (gap) /* seq < 1: only an edit makes one */
			add_break(out, seq, AUDIT_EDITED,
			          "row %lld was edited (its seq is not a row number)",
			          (long long)seq);
		hrc = row_hash(computed, prev_hash, seq, store_int(st, 1), store_text(st, 2),
		               store_text(st, 3), store_text(st, 4), store_text(st, 5));
		if (hrc == CAREID_ENOMEM) {
			rc = hrc;
			break;
		}
		edited = hrc || !hash || strcmp(computed, hash) != 0;
		if (edited && seq >= 1)
			add_break(out, seq, AUDIT_EDITED,
			          "row %lld was edited (its columns no longer match its hash)",
			          (long long)seq);
		else if (!edited && !gap && !prev_edited && strcmp(prev_hash, prev) != 0 &&
		         prev_seq)
			add_break(out, prev_seq, AUDIT_RELINKED,
			          "row %lld was edited and its hash recomputed (row %lld no longer "
			          "links to it)",
			          (long long)prev_seq, (long long)seq);
		else if (!edited && !gap && !prev_seq && strcmp(prev_hash, prev) != 0)
			add_break(
			    out, seq, AUDIT_RELINKED,
			    "row %lld was edited and its hash recomputed (it no longer starts "
			    "the chain)",
			    (long long)seq);
		if (!edited && !index_matches(st))
			add_break(
			    out, seq, AUDIT_INDEX_DIFFERS,
			    "row %lld's client_id column disagrees with its detail (the index "
			    "was changed; the row itself is intact)",
			    (long long)seq);
		if (anchor && seq == anchor->seq) {
			anchor_seen = true;
			if (!hash || strcmp(hash, anchor->hash) != 0)
				add_break(out, seq, AUDIT_ANCHOR_DIFFERS,
				          "row %lld is not the row the anchor names: the chain was "
				          "rewritten up to there",
				          (long long)seq);
		}
		snprintf(prev, sizeof(prev), "%s", hash ? hash : "");
		prev_seq = seq;
		prev_edited = edited;
		expected = seq + 1;
		out->rows++;
	}
	store_done(st);
	if (rc)
		return rc;
	out->last_seq = prev_seq;
	snprintf(out->last_hash, sizeof(out->last_hash), "%s", prev_seq ? prev : "");
	if (anchor && !anchor_seen && prev_seq < anchor->seq) {
		if (prev_seq)
			add_break(out, prev_seq + 1, AUDIT_TRUNCATED,
			          "rows after %lld were deleted (the anchor names row %lld)",
			          (long long)prev_seq, (long long)anchor->seq);
		else
			add_break(out, 1, AUDIT_TRUNCATED,
			          "every row was deleted (the anchor names row %lld)",
			          (long long)anchor->seq);
	}
	return 0;
}
