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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_chain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rolled_back_events_vanish, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
