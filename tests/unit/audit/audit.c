/* tests for src/audit/audit.c */
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
#include "crypto/hash.h"
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
	snprintf(f->dir, sizeof(f->dir), "/tmp/careid-audit-XXXXXX");
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

static int count(store *s)
{
	static const char sql[] = "SELECT COUNT(*) FROM audit_events";
	store_stmt *st = NULL;
	int n;

	assert_int_equal(store_query(s, &st, sql, ""), 0);
	assert_int_equal(store_next(st), 1);
	n = (int)store_int(st, 0);
	store_done(st);
	return n;
}

/* Recomputes every hash from the rows and checks the links. */
static void check_chain(store *s, int expect)
{
	static const char sql[] = "SELECT seq, at, actor, action, subject, detail, prev_hash, hash "
	                          "FROM audit_events ORDER BY seq";
	char prev[CRYPTO_HASH_HEX];
	store_stmt *st = NULL;
	int n = 0;

	memset(prev, '0', 64);
	prev[64] = '\0';
	assert_int_equal(store_query(s, &st, sql, ""), 0);
	while (store_next(st) == 1) {
		json_t *canon = json_pack("[s, I, I, s, s, s, s]", store_text(st, 6),
		                          (json_int_t)store_int(st, 0),
		                          (json_int_t)store_int(st, 1), store_text(st, 2),
		                          store_text(st, 3), store_text(st, 4), store_text(st, 5));
		char *text = json_dumps(canon, JSON_COMPACT), hex[CRYPTO_HASH_HEX];
		uint8_t d[32];

		n++;
		assert_int_equal(store_int(st, 0), n);
		assert_string_equal(store_text(st, 6), prev);
		crypto_sha256(d, text, strlen(text));
		crypto_hex(hex, d, sizeof(d));
		assert_string_equal(store_text(st, 7), hex);
		snprintf(prev, sizeof(prev), "%s", hex);
		free(text);
		json_decref(canon);
	}
	store_done(st);
	assert_int_equal(n, expect);
}

static void test_chain(void **state)
{
	struct fixture *f = *state;
	json_t *detail = json_pack("{s:s, s:i}", "due", "2026-12-07", "submission", 1);

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(audit_record(f->s, "910000000001", "saq.submitted", "saq:abc", detail), 0);
	assert_int_equal(audit_record(f->s, "system", "mail.queued", "saq:abc", NULL), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(audit_record(f->s, "r\"e\nviewer", "review.decided", "saq:abc", detail),
	                 0);
	assert_int_equal(store_commit(f->s), 0);
	check_chain(f->s, 3);
	json_decref(detail);
}

static void test_rolled_back_events_vanish(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(audit_record(f->s, "a", "x.y", "s:1", NULL), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(audit_record(f->s, "a", "x.z", "s:2", NULL), 0);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(count(f->s), 1);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(audit_record(f->s, "a", "x.w", "s:3", NULL), 0);
	assert_int_equal(store_commit(f->s), 0);
	check_chain(f->s, 2);
}

/* Records `n` events, one transaction each. */
static void record_n(store *s, int n)
{
	for (int i = 0; i < n; i++) {
		json_t *detail = json_pack("{s:i}", "i", i);

		assert_int_equal(store_begin(s), 0);
		assert_int_equal(audit_record(s, "910000000001", "signin.succeeded",
		                              "user:910000000001", detail),
		                 0);
		assert_int_equal(store_commit(s), 0);
		json_decref(detail);
	}
}

static void sql(store *s, const char *stmt)
{
	assert_true(store_exec(s, stmt, "") >= 0);
}

/* Verifies and checks the first break: its row and message (NULL: intact). */
static void expect(store *s, const struct audit_anchor *anchor, int64_t seq,
                   enum audit_problem problem, const char *message)
{
	struct audit_verification *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	assert_int_equal(audit_verify(v, s, anchor), 0);
	if (!message) {
		assert_true(v->intact);
		assert_int_equal(v->nbreaks, 0);
	} else {
		assert_false(v->intact);
		assert_true(v->nbreaks >= 1);
		assert_int_equal(v->breaks[0].seq, seq);
		assert_int_equal(v->breaks[0].problem, problem);
		assert_string_equal(v->breaks[0].message, message);
	}
	free(v);
}

static void test_verify_intact(void **state)
{
	struct fixture *f = *state;
	struct audit_verification v;

	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_true(v.intact);
	assert_int_equal(v.rows, 0);
	assert_int_equal(v.last_seq, 0);
	record_n(f->s, 5);
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_true(v.intact);
	assert_int_equal(v.rows, 5);
	assert_int_equal(v.last_seq, 5);
	assert_int_equal(strlen(v.last_hash), 64);
	check_chain(f->s, 5);
}

static void test_verify_edit(void **state)
{
	struct fixture *f = *state;
	struct audit_verification v;

	record_n(f->s, 6);
	sql(f->s, "UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4");
	expect(f->s, NULL, 4, AUDIT_EDITED,
	       "row 4 was edited (its columns no longer match its hash)");
	/* one edit, one break: row 5 still links to row 4's recorded hash */
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_int_equal(v.total_breaks, 1);
	sql(f->s, "UPDATE audit_events SET actor = '910000000001' WHERE seq = 4");
	expect(f->s, NULL, 0, 0, NULL);
	/* each column is under the hash */
	sql(f->s, "UPDATE audit_events SET at = at + 1 WHERE seq = 2");
	expect(f->s, NULL, 2, AUDIT_EDITED,
	       "row 2 was edited (its columns no longer match its hash)");
	sql(f->s, "UPDATE audit_events SET at = at - 1 WHERE seq = 2");
	sql(f->s, "UPDATE audit_events SET detail = '{\"i\":9}' WHERE seq = 6");
	expect(f->s, NULL, 6, AUDIT_EDITED,
	       "row 6 was edited (its columns no longer match its hash)");
}

static void test_verify_edit_with_recomputed_hash(void **state)
{
	struct fixture *f = *state;
	struct audit_verification v;
	char hash[CRYPTO_HASH_HEX], stmt[512];
	store_stmt *st = NULL;
	uint8_t d[32];
	json_t *canon;
	char *text;

	record_n(f->s, 4);
	/* an editor who knows the algorithm rewrites row 2 and its hash */
	assert_int_equal(store_query(f->s, &st,
	                             "SELECT prev_hash, seq, at, action, subject, detail FROM "
	                             "audit_events WHERE seq = 2",
	                             ""),
	                 0);
	assert_int_equal(store_next(st), 1);
	canon = json_pack("[s, I, I, s, s, s, s]", store_text(st, 0), (json_int_t)store_int(st, 1),
	                  (json_int_t)store_int(st, 2), "intruder", store_text(st, 3),
	                  store_text(st, 4), store_text(st, 5));
	text = json_dumps(canon, JSON_COMPACT);
	crypto_sha256(d, text, strlen(text));
	crypto_hex(hash, d, sizeof(d));
	free(text);
	json_decref(canon);
	store_done(st);
	snprintf(stmt, sizeof(stmt),
	         "UPDATE audit_events SET actor = 'intruder', hash = '%s' WHERE seq = 2", hash);
	sql(f->s, stmt);
	expect(f->s, NULL, 2, AUDIT_RELINKED,
	       "row 2 was edited and its hash recomputed (row 3 no longer links to it)");
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_int_equal(v.total_breaks, 1);
}

static void test_verify_delete(void **state)
{
	struct fixture *f = *state;
	struct audit_verification v;

	record_n(f->s, 8);
	sql(f->s, "DELETE FROM audit_events WHERE seq = 5");
	expect(f->s, NULL, 5, AUDIT_MISSING, "row 5 is missing (the chain jumps from 4 to 6)");
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_int_equal(v.total_breaks, 1); /* row 6's link is the same break */
	sql(f->s, "DELETE FROM audit_events WHERE seq = 6");
	expect(f->s, NULL, 5, AUDIT_MISSING,
	       "rows 5 to 6 are missing (the chain jumps from 4 to 7)");
	sql(f->s, "DELETE FROM audit_events WHERE seq = 1");
	expect(f->s, NULL, 1, AUDIT_MISSING, "row 1 is missing (the chain starts at 2)");
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	assert_int_equal(v.total_breaks, 2);
	assert_int_equal(v.breaks[1].seq, 5);
}

static void test_verify_reorder(void **state)
{
	struct fixture *f = *state;

	record_n(f->s, 5);
	/* rows 2 and 3 swapped: seq is under the hash */
	sql(f->s, "UPDATE audit_events SET seq = 100 WHERE seq = 2");
	sql(f->s, "UPDATE audit_events SET seq = 2 WHERE seq = 3");
	sql(f->s, "UPDATE audit_events SET seq = 3 WHERE seq = 100");
	expect(f->s, NULL, 2, AUDIT_EDITED,
	       "row 2 was edited (its columns no longer match its hash)");
}

static void test_verify_truncated_tail(void **state)
{
	struct fixture *f = *state;
	struct audit_verification v;
	struct audit_anchor anchor, early;
	char text[96];

	record_n(f->s, 6);
	assert_int_equal(audit_verify(&v, f->s, NULL), 0);
	snprintf(text, sizeof(text), "%lld:%s", (long long)v.last_seq, v.last_hash);
	assert_int_equal(audit_anchor_parse(&anchor, text), 0);
	assert_int_equal(anchor.seq, 6);
	expect(f->s, &anchor, 0, 0, NULL);
	/* later rows after the anchor are fine */
	record_n(f->s, 2);
	expect(f->s, &anchor, 0, 0, NULL);
	/* deleting the newest rows leaves a valid chain: only the anchor shows it */
	sql(f->s, "DELETE FROM audit_events WHERE seq > 4");
	expect(f->s, NULL, 0, 0, NULL);
	expect(f->s, &anchor, 5, AUDIT_TRUNCATED,
	       "rows after 4 were deleted (the anchor names row 6)");
	/* an anchor from a rewritten chain */
	snprintf(text, sizeof(text), "3:%064d", 7);
	assert_int_equal(audit_anchor_parse(&early, text), 0);
	expect(f->s, &early, 3, AUDIT_ANCHOR_DIFFERS,
	       "row 3 is not the row the anchor names: the chain was rewritten up to there");
	sql(f->s, "DELETE FROM audit_events");
	expect(f->s, &anchor, 1, AUDIT_TRUNCATED, "every row was deleted (the anchor names row 6)");
}

static void test_anchor_parse(void **state)
{
	struct audit_anchor a;
	char text[96];

	(void)state;
	snprintf(text, sizeof(text), "42:%064d", 0);
	assert_int_equal(audit_anchor_parse(&a, text), 0);
	assert_int_equal(a.seq, 42);
	assert_int_equal(audit_anchor_parse(&a, "42"), CAREID_EINVALID);
	assert_int_equal(audit_anchor_parse(&a, NULL), CAREID_EINVALID);
	snprintf(text, sizeof(text), "0:%064d", 0);
	assert_int_equal(audit_anchor_parse(&a, text), CAREID_EINVALID);
	snprintf(text, sizeof(text), "-1:%064d", 0);
	assert_int_equal(audit_anchor_parse(&a, text), CAREID_EINVALID);
	snprintf(text, sizeof(text), ":%064d", 0);
	assert_int_equal(audit_anchor_parse(&a, text), CAREID_EINVALID);
	snprintf(text, sizeof(text), "4:%063d", 0);
	assert_int_equal(audit_anchor_parse(&a, text), CAREID_EINVALID);
	snprintf(text, sizeof(text), "4:%063dG", 0);
	assert_int_equal(audit_anchor_parse(&a, text), CAREID_EINVALID);
	assert_int_equal(audit_anchor_parse(&a,
	                                    "99999999999999999999999:"
	                                    "0000000000000000000000000000000000000000000000000000"
	                                    "000000000000"),
	                 CAREID_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rolled_back_events_vanish, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_intact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_edit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_edit_with_recomputed_hash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_reorder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_verify_truncated_tail, setup, teardown),
	    cmocka_unit_test(test_anchor_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
