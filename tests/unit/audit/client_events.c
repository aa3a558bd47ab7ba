/* tests for reading the trail by client in src/audit/audit.c (audit_client_events(),
 * the client_id column audit_record() fills, and its migration) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/error.h"
#include "crypto/random.h"

struct fixture {
	char dir[64];
	store *s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char url[128];

	assert_non_null(f);
	assert_int_equal(crypto_init(), 0);
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-auditq-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void sql(store *s, const char *stmt)
{
	assert_true(store_exec(s, stmt, "") >= 0);
}

/* Records one event; `client_id` NULL for none. Returns its seq. */
static int64_t record(store *s, const char *action, const char *client_id, const char *env)
{
	static const char sql_max[] = "SELECT MAX(seq) FROM audit_events";
	json_t *detail = json_pack("{s:s, s:s?}", "env", env, "client_id", client_id);
	store_stmt *st = NULL;
	int64_t seq;

	assert_non_null(detail);
	assert_int_equal(store_begin(s), 0);
	assert_int_equal(audit_record(s, "910000000001", action, "user:910000000001", detail), 0);
	assert_int_equal(store_commit(s), 0);
	json_decref(detail);
	assert_int_equal(store_query(s, &st, sql_max, ""), 0);
	assert_int_equal(store_next(st), 1);
	seq = store_int(st, 0);
	store_done(st);
	return seq;
}

/* Sets a row's time (the clock is real; the hash does not matter here). */
static void set_at(store *s, int64_t seq, int64_t at)
{
	static const char sql_at[] = "UPDATE audit_events SET at = $1 WHERE seq = $2";

	assert_int_equal(store_exec(s, sql_at, "ii", at, seq), 1);
}

/* The row's client_id column; "" for NULL. */
static void column(store *s, int64_t seq, char out[64])
{
	static const char sql_col[] = "SELECT client_id FROM audit_events WHERE seq = $1";
	store_stmt *st = NULL;

	assert_int_equal(store_query(s, &st, sql_col, "i", seq), 0);
	assert_int_equal(store_next(st), 1);
	snprintf(out, 64, "%s", store_null(st, 0) ? "" : store_text(st, 0));
	store_done(st);
}

/* What a walk saw: the seqs in order. */
struct seen {
	int64_t seq[64];
	size_t n;
	size_t stop_after; /* 0: never stop */
	int stop_with;
	const char *client_id; /* checked in every event's detail */
};

static int collect(void *ctx, const struct audit_event *e)
{
	struct seen *w = ctx;

	assert_true(w->n < 64);
	assert_non_null(e->actor);
	assert_non_null(e->action);
	assert_non_null(e->subject);
	assert_true(json_is_object(e->detail));
	if (w->client_id)
		assert_string_equal(json_string_value(json_object_get(e->detail, "client_id")),
		                    w->client_id);
	w->seq[w->n++] = e->seq;
	return w->stop_after && w->n == w->stop_after ? w->stop_with : 0;
}

static const char *const SIGNINS[] = {"signin.succeeded", NULL};

/* Walks `client_id`'s sign-ins and checks exactly `expect` (0-terminated) came back. */
static void expect_signins(store *s, const char *client_id, const int64_t *expect)
{
	struct audit_client_query q = {.client_id = client_id, .actions = SIGNINS};
	struct seen w = {.client_id = client_id};
	size_t n = 0;

	assert_int_equal(audit_client_events(s, &q, collect, &w), 0);
	while (expect[n])
		n++;
	assert_int_equal(w.n, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(w.seq[i], expect[i]);
}

static void test_record_fills_column(void **state)
{
	struct fixture *f = *state;
	json_t *number = json_pack("{s:i}", "client_id", 7);
	json_t *nested = json_pack("{s:{s:s}}", "x", "client_id", "inner");
	char col[64];
	int64_t seq;

	seq = record(f->s, "signin.succeeded", "abc", "int");
	column(f->s, seq, col);
	assert_string_equal(col, "abc");
	seq = record(f->s, "signin.succeeded", NULL, "int");
	column(f->s, seq, col);
	assert_string_equal(col, "");
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(audit_record(f->s, "a", "x.y", "s:1", NULL), 0);
	assert_int_equal(audit_record(f->s, "a", "x.y", "s:2", number), 0);
	assert_int_equal(audit_record(f->s, "a", "x.y", "s:3", nested), 0);
	assert_int_equal(store_commit(f->s), 0);
	for (int64_t i = seq + 1; i <= seq + 3; i++) {
		column(f->s, i, col);
		assert_string_equal(col, "");
	}
	json_decref(number);
	json_decref(nested);
}

/* Ids that are prefixes, substrings or LIKE patterns of each other. */
static void test_exact_client(void **state)
{
	static const char *const ids[] = {"abc",  "abcd", "xabc", "ab",   "a%c", "a_c",
	                                  "a\"c", "%",    "_",    "a\\c", "ABC"};
	struct fixture *f = *state;
	int64_t seq[11];

	for (size_t i = 0; i < 11; i++)
		seq[i] = record(f->s, "signin.succeeded", ids[i], "int");
	for (size_t i = 0; i < 11; i++)
		expect_signins(f->s, ids[i], (int64_t[]){seq[i], 0});
	expect_signins(f->s, "a", (int64_t[]){0});
	expect_signins(f->s, "", (int64_t[]){0});
	expect_signins(f->s, "%%", (int64_t[]){0});
}

static void test_actions_and_times(void **state)
{
	static const char *const two[] = {"token.issued", "session.ended", NULL};
	static const char *const nine[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i", NULL};
	static const char *const none[] = {NULL};
	struct fixture *f = *state;
	struct audit_client_query q = {.client_id = "c1", .actions = two};
	struct seen w = {0};
	int64_t s1, s2, s3, s4, s5, other;

	s1 = record(f->s, "signin.succeeded", "c1", "int");
	s2 = record(f->s, "token.issued", "c1", "int");
	s3 = record(f->s, "userinfo.served", "c1", "int");
	s4 = record(f->s, "session.ended", "c1", "live");
	other = record(f->s, "token.issued", "c2", "int");
	s5 = record(f->s, "token.issued", "c1", "int");
	set_at(f->s, s1, 1000);
	set_at(f->s, s2, 1100);
	set_at(f->s, s3, 1200);
	set_at(f->s, s4, 1300);
	set_at(f->s, other, 1350);
	set_at(f->s, s5, 1400);
	/* the actions listed, in seq order; env is the caller's to check */
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 3);
	assert_int_equal(w.seq[0], s2);
	assert_int_equal(w.seq[1], s4);
	assert_int_equal(w.seq[2], s5);
	/* since is inclusive, until exclusive */
	q.since = 1300;
	q.until = 1400;
	w.n = 0;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.seq[0], s4);
	q.since = 1301;
	q.until = 0;
	w.n = 0;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.seq[0], s5);
	/* one action */
	q = (struct audit_client_query){.client_id = "c1", .actions = SIGNINS, .until = 1001};
	w.n = 0;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 1);
	assert_int_equal(w.seq[0], s1);
	q.until = 1000;
	w.n = 0;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 0);
	/* bad queries */
	q.actions = none;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), CAREID_EINVALID);
	q.actions = NULL;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), CAREID_EINVALID);
	q.actions = nine;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), CAREID_EINVALID);
	q.actions = SIGNINS;
	q.client_id = NULL;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), CAREID_EINVALID);
	assert_int_equal(w.n, 0);
}

static void test_max_order_and_stop(void **state)
{
	struct fixture *f = *state;
	struct audit_client_query q = {.client_id = "c1", .actions = SIGNINS, .max = 3};
	struct seen w = {0};
	int64_t seq[6];

	for (int i = 0; i < 6; i++)
		seq[i] = record(f->s, "signin.succeeded", "c1", "int");
	/* the first 3 */
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(w.seq[i], seq[i]);
	/* the newest 3, newest first */
	q.newest_first = true;
	w.n = 0;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(w.seq[i], seq[5 - i]);
	/* all, newest first */
	q.max = 0;
	w.n = 0;
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 0);
	assert_int_equal(w.n, 6);
	assert_int_equal(w.seq[5], seq[0]);
	/* the callback stops the walk: its value comes back as is */
	w = (struct seen){.stop_after = 2, .stop_with = 7};
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), 7);
	assert_int_equal(w.n, 2);
	w = (struct seen){.stop_after = 1, .stop_with = CAREID_ENOMEM};
	assert_int_equal(audit_client_events(f->s, &q, collect, &w), CAREID_ENOMEM);
	assert_int_equal(w.n, 1);
}

/* The column is not under the hash: a row pointed at another client is not
 * that client's event, and a row whose detail no longer parses is nobody's. */
static void test_tampered_column_skipped(void **state)
{
	struct fixture *f = *state;
	struct audit_verification v;
	int64_t mine, theirs, spoilt;

	mine = record(f->s, "signin.succeeded", "victim", "live");
	theirs = record(f->s, "signin.succeeded", "intruder", "live");
	spoilt = record(f->s, "signin.succeeded", "victim", "live");
	expect_signins(f->s, "victim", (int64_t[]){mine, spoilt, 0});
	sql(f->s, "UPDATE audit_events SET client_id = 'victim' WHERE client_id = 'intruder'");
	assert_int_equal(spoilt, 3);
	sql(f->s, "UPDATE audit_events SET detail = 'not json' WHERE seq = 3");
	expect_signins(f->s, "victim", (int64_t[]){mine, 0});
	expect_signins(f->s, "intruder", (int64_t[]){0});
	/* the column is outside the chain, but verify checks it against the
	 * detail: the moved row is an index break, the spoilt one an edit */
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_false(v.intact);
	assert_int_equal(v.total_breaks, 2);
	assert_int_equal(v.breaks[0].seq, theirs);
	assert_int_equal(v.breaks[0].problem, AUDIT_INDEX_DIFFERS);
	assert_int_equal(v.breaks[1].seq, spoilt);
	assert_int_equal(v.breaks[1].problem, AUDIT_EDITED);
	/* and a row hidden from its client by clearing the column */
	sql(f->s, "UPDATE audit_events SET client_id = 'intruder' WHERE seq = 2");
	sql(f->s, "UPDATE audit_events SET client_id = NULL WHERE seq = 1");
	expect_signins(f->s, "victim", (int64_t[]){0});
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_int_equal(v.total_breaks, 2);
	assert_int_equal(v.breaks[0].seq, mine);
	assert_int_equal(v.breaks[0].problem, AUDIT_INDEX_DIFFERS);
}

/* The callback may run queries, even another walk, while the cursor is open. */
struct nested {
	store *s;
	size_t outer, inner;
};

static int count_inner(void *ctx, const struct audit_event *e)
{
	(void)e;
	((struct nested *)ctx)->inner++;
	return 0;
}

static int walk_again(void *ctx, const struct audit_event *e)
{
	struct nested *n = ctx;
	struct audit_client_query q = {.client_id = "c2", .actions = SIGNINS};

	(void)e;
	n->outer++;
	return audit_client_events(n->s, &q, count_inner, n);
}

static void test_nested_walk(void **state)
{
	struct fixture *f = *state;
	struct audit_client_query q = {.client_id = "c1", .actions = SIGNINS};
	struct nested n = {f->s, 0, 0};

	record(f->s, "signin.succeeded", "c1", "int");
	record(f->s, "signin.succeeded", "c2", "int");
	record(f->s, "signin.succeeded", "c1", "int");
	assert_int_equal(audit_client_events(f->s, &q, walk_again, &n), 0);
	assert_int_equal(n.outer, 2);
	assert_int_equal(n.inner, 2);
}

/* Migration 009 on a trail written before it: the column is backfilled from
 * the details, rows whose detail is not JSON are left NULL, and the chain
 * still verifies. */
static void test_migration_backfill(void **state)
{
	struct fixture *f = *state;
	struct audit_verification v;
	json_t *number = json_pack("{s:i}", "client_id", 7);
	char col[64];
	int64_t a, b, c, d;
	int applied = 0;

	a = record(f->s, "signin.succeeded", "a%\"_\\c\xc3\xa9", "int");
	b = record(f->s, "signin.succeeded", NULL, "int");
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(audit_record(f->s, "a", "x.y", "s:1", number), 0);
	assert_int_equal(store_commit(f->s), 0);
	c = b + 1;
	d = record(f->s, "token.issued", "abc", "int");
	/* back to the schema before 009 */
	sql(f->s, "DROP INDEX audit_events_client");
	sql(f->s, "ALTER TABLE audit_events DROP COLUMN client_id");
	sql(f->s, "DELETE FROM schema_migrations WHERE version = 9");
	sql(f->s, "INSERT INTO audit_events (seq, at, actor, action, subject, detail, prev_hash, "
	          "hash) VALUES (100, 1, 'a', 'x', 's', 'not json', '', ''), "
	          "(101, 1, 'a', 'x', 's', '[\"client_id\"]', '', ''), "
	          "(102, 1, 'a', 'x', 's', '{\"client_id\":\"abc\"', '', '')");
	assert_int_equal(store_migrate(f->s, &applied), 0);
	assert_int_equal(applied, 1);
	column(f->s, a, col);
	assert_string_equal(col, "a%\"_\\c\xc3\xa9");
	column(f->s, b, col);
	assert_string_equal(col, "");
	column(f->s, c, col);
	assert_string_equal(col, "");
	column(f->s, d, col);
	assert_string_equal(col, "abc");
	for (int64_t i = 100; i <= 102; i++) {
		column(f->s, i, col);
		assert_string_equal(col, "");
	}
	expect_signins(f->s, "a%\"_\\c\xc3\xa9", (int64_t[]){a, 0});
	sql(f->s, "DELETE FROM audit_events WHERE seq >= 100");
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_true(v.intact);
	assert_int_equal(v.rows, 4);
	json_decref(number);
}

/* The walk is served by the index, not a scan of the trail. */
static void test_index_used(void **state)
{
	/* audit_client_events()'s query */
	static const char plan[] =
	    "EXPLAIN QUERY PLAN SELECT seq, at, actor, action, subject, detail FROM audit_events "
	    "WHERE client_id = $1 AND action IN ($2, $3, $4, $5, $6, $7, $8, $9) AND at >= $10 "
	    "AND at < $11 ORDER BY seq ASC LIMIT $12";
	struct fixture *f = *state;
	store_stmt *st = NULL;
	bool indexed = false;

	sql(f->s, "ANALYZE");
	assert_int_equal(store_query(f->s, &st, plan, "tttttttttiii", "c1", "signin.succeeded",
	                             NULL, NULL, NULL, NULL, NULL, NULL, NULL, (int64_t)0,
	                             INT64_MAX, INT64_MAX),
	                 0);
	while (store_next(st) == 1) {
		const char *detail = store_text(st, 3);

		if (detail && strstr(detail, "audit_events_client"))
			indexed = true;
	}
	store_done(st);
	assert_true(indexed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_record_fills_column, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_exact_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_actions_and_times, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_order_and_stop, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tampered_column_skipped, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_nested_walk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migration_backfill, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_index_used, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
