/* tests for src/authn/throttle.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "authn/throttle.h"
#include "core/error.h"
#include "crypto/random.h"
#include "store/store.h"

#define T   1700000000
#define ENV "int"

struct fixture {
	char dir[PATH_MAX];
	store *s;
	uint8_t key[32];
};

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	const char *base = getenv("CAREID_TEST_TMP");
	struct fixture *f = calloc(1, sizeof(*f));
	char url[PATH_MAX + 16];

	assert_non_null(f);
	if (base && *base) {
		assert_true(mkdir(base, 0700) == 0 || errno == EEXIST);
		snprintf(f->dir, sizeof(f->dir), "%s/throttle-XXXXXX", base);
	} else {
		snprintf(f->dir, sizeof(f->dir), "/tmp/careid-throttle-XXXXXX");
	}
	assert_non_null(mkdtemp(f->dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", f->dir);
	assert_int_equal(store_open(&f->s, url), 0);
	assert_int_equal(store_migrate(f->s, NULL), 0);
	crypto_random_bytes(f->key, sizeof(f->key));
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_free(f->s);
	assert_int_equal(nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	free(f);
	return 0;
}

/* Seconds `user` at `addr` must wait at `now` (0: may go ahead). */
static int64_t wait_for(struct fixture *f, const char *user, const char *addr, int64_t now)
{
	int64_t retry = -1;
	int rc = throttle_check(&retry, f->s, f->key, ENV, user, addr, now);

	if (rc == 0) {
		assert_int_equal(retry, 0);
		return 0;
	}
	assert_int_equal(rc, CAREID_EBUSY);
	assert_true(retry > 0);
	assert_non_null(strstr(careid_error_last()->message, "try again in"));
	return retry;
}

static void record_failure(struct fixture *f, const char *user, const char *addr, int64_t now)
{
	assert_int_equal(throttle_failure(f->s, f->key, ENV, user, addr, now), 0);
}

static int64_t rows(struct fixture *f)
{
	store_stmt *st = NULL;
	int64_t n;

	assert_int_equal(store_query(f->s, &st, "SELECT COUNT(*) FROM signin_throttle", ""), 0);
	assert_int_equal(store_next(st), 1);
	n = store_int(st, 0);
	store_done(st);
	return n;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* One user from one address: 3 free failures, then 2 s, 4 s, … up to 15 min. */
static void test_pair_free_then_growing_to_cap(void **state)
{
	struct fixture *f = *state;
	int64_t now = T;

	for (int i = 0; i < 3; i++) {
		assert_int_equal(wait_for(f, "555000000001", "10.0.0.1", now), 0);
		record_failure(f, "555000000001", "10.0.0.1", now);
		now += 1;
	}
	assert_int_equal(wait_for(f, "555000000001", "10.0.0.1", now), 0);
	for (int n = 4; n <= 16; n++) {
		int64_t delay = min64((int64_t)1 << (n - 3), 900);

		record_failure(f, "555000000001", "10.0.0.1", now);
		assert_int_equal(wait_for(f, "555000000001", "10.0.0.1", now), delay);
		assert_int_equal(wait_for(f, "555000000001", "10.0.0.1", now + delay - 1), 1);
		now += delay;
		assert_int_equal(wait_for(f, "555000000001", "10.0.0.1", now), 0);
	}
	/* and stays at the cap. */
	record_failure(f, "555000000001", "10.0.0.1", now);
	assert_int_equal(wait_for(f, "555000000001", "10.0.0.1", now), 900);
}

/* Throttling a user from one address leaves other addresses alone, and other
 * users from that address. */
static void test_pair_does_not_reach_other_addresses(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 8; i++)
		record_failure(f, "alice", "10.0.0.1", T);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", T), 32);
	assert_int_equal(wait_for(f, "alice", "10.0.0.2", T), 0);
	assert_int_equal(wait_for(f, "bob", "10.0.0.1", T), 0);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", T + 32), 0);
}

/* An IPv6 client counts by its /64 (a subscriber's whole prefix), an
 * IPv4-mapped one as its IPv4 address. */
static void test_ipv6_prefix(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 8; i++)
		record_failure(f, "alice", i % 2 ? "2001:db8:1:2::1" : "2001:db8:1:2:ffff::9", T);
	assert_int_equal(wait_for(f, "alice", "2001:db8:1:2:abcd::42", T), 32);
	assert_int_equal(wait_for(f, "alice", "2001:db8:1:3::1", T), 0);
	for (int i = 0; i < 8; i++)
		record_failure(f, "bob", "::ffff:10.0.0.7", T);
	assert_int_equal(wait_for(f, "bob", "10.0.0.7", T), 32);
}

/* Unknown usernames are throttled, whatever their case. */
static void test_username_case(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 4; i++)
		record_failure(f, "Nobody.Here", "10.0.0.1", T);
	assert_int_equal(wait_for(f, "nobody.here", "10.0.0.1", T), 2);
	assert_int_equal(wait_for(f, "NOBODY.HERE", "10.0.0.1", T), 2);
}

/* Password spraying: many users from one address, 20 free, then up to 15 min. */
static void test_address_spraying(void **state)
{
	struct fixture *f = *state;
	char user[32];
	int64_t now = T;

	for (int n = 1; n <= 32; n++) {
		int64_t delay = n <= 20 ? 0 : min64((int64_t)1 << (n - 20), 900);

		snprintf(user, sizeof(user), "user%d", n);
		assert_int_equal(wait_for(f, user, "10.0.0.9", now), 0);
		record_failure(f, user, "10.0.0.9", now);
		assert_int_equal(wait_for(f, "someone.else", "10.0.0.9", now), delay);
		assert_int_equal(wait_for(f, "someone.else", "10.0.0.10", now), 0);
		now += delay;
	}
	/* Without a user (a blank form), only the address counts. */
	now -= 900;
	assert_int_equal(wait_for(f, NULL, "10.0.0.9", now), 900);
	assert_int_equal(wait_for(f, NULL, "10.0.0.10", now), 0);
	assert_int_equal(throttle_failure(f->s, f->key, ENV, NULL, "10.0.0.11", now), 0);
	assert_int_equal(throttle_success(f->s, f->key, ENV, NULL, "10.0.0.11"), 0);
}

/* One user from many addresses: 10 free, then 2^(n-10) s, never over 60 s. */
static void test_user_cap(void **state)
{
	struct fixture *f = *state;
	char addr[32];
	int64_t now = T;

	for (int n = 1; n <= 40; n++) {
		int64_t delay = n <= 10 ? 0 : min64((int64_t)1 << (n - 10), 60);

		snprintf(addr, sizeof(addr), "10.1.0.%d", n);
		assert_int_equal(wait_for(f, "555000000001", addr, now), 0);
		record_failure(f, "555000000001", addr, now);
		assert_int_equal(wait_for(f, "555000000001", "192.168.1.1", now), delay);
		now += delay;
	}
}

/*
 * A distributed attack on one user, from 200 addresses each trying whenever
 * it is allowed, for two hours: the real user at a fresh address is never
 * asked to wait more than 60 s, and can try once the wait is over.
 */
static void test_distributed_attack_never_locks_out(void **state)
{
	struct fixture *f = *state;
	int64_t worst = 0, tries = 0;
	char addr[32];
	int next = 0;

	for (int64_t now = T; now < T + 7200; now += 5) {
		for (int k = 0; k < 3; k++) {
			snprintf(addr, sizeof(addr), "203.0.113.%d", next++ % 200);
			if (wait_for(f, "555000000001", addr, now) == 0) {
				record_failure(f, "555000000001", addr, now);
				tries++;
			}
		}
		int64_t w = wait_for(f, "555000000001", "192.168.1.1", now);

		assert_true(w <= 60);
		worst = w > worst ? w : worst;
		assert_int_equal(wait_for(f, "555000000001", "192.168.1.1", now + w), 0);
	}
	assert_int_equal(worst, 60);
	/* The attack got about one guess a minute. */
	assert_true(tries < 2 * 60 + 20);
}

/* A counter idle for over an hour starts again from 0. */
static void test_decay(void **state)
{
	struct fixture *f = *state;
	int64_t now = T;

	for (int i = 0; i < 8; i++)
		record_failure(f, "alice", "10.0.0.1", now);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", now), 32);
	now += 3600;
	record_failure(f, "alice", "10.0.0.1", now); /* an hour exactly: still counts (9th) */
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", now), 64);
	now += 3601;
	for (int i = 0; i < 3; i++) {
		record_failure(f, "alice", "10.0.0.1", now);
		assert_int_equal(wait_for(f, "alice", "10.0.0.1", now), 0);
	}
	record_failure(f, "alice", "10.0.0.1", now);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", now), 2);
}

/* Success clears the pair and user counters but not the address's. */
static void test_success_clears(void **state)
{
	struct fixture *f = *state;
	int64_t now = T;

	for (int i = 0; i < 6; i++)
		record_failure(f, "alice", "10.0.0.1", now);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", now), 8);
	assert_int_equal(throttle_success(f->s, f->key, ENV, "alice", "10.0.0.1"), 0);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", now), 0);
	assert_int_equal(rows(f), 1);

	/* 25 failures from one address in all: the address counter blocks 32 s. */
	for (int i = 0; i < 19; i++)
		record_failure(f, "alice", "10.0.0.1", now);
	assert_int_equal(throttle_success(f->s, f->key, ENV, "alice", "10.0.0.1"), 0);
	assert_int_equal(rows(f), 1);
	assert_int_equal(wait_for(f, "bob", "10.0.0.1", now), 32);
	assert_int_equal(wait_for(f, "alice", "10.0.0.2", now), 0);
	/* Environments are separate. */
	assert_int_equal(
	    throttle_check(&(int64_t){0}, f->s, f->key, "mock", "bob", "10.0.0.1", now), 0);
}

/* The sign-in flow counts an attempt in the transaction of its audit record. */
static void test_inside_a_transaction(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 4; i++) {
		assert_int_equal(store_begin(f->s), 0);
		assert_int_equal(throttle_failure(f->s, f->key, ENV, "alice", "10.0.0.1", T), 0);
		assert_int_equal(store_commit(f->s), 0);
	}
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", T), 2);
	/* Rolled back, a failure never happened. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(throttle_failure(f->s, f->key, ENV, "alice", "10.0.0.1", T), 0);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", T), 2);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(throttle_success(f->s, f->key, ENV, "alice", "10.0.0.1"), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(wait_for(f, "alice", "10.0.0.1", T), 0);
}

static void test_prune(void **state)
{
	struct fixture *f = *state;
	int deleted = -1;

	record_failure(f, "alice", "10.0.0.1", T);
	record_failure(f, "bob", "10.0.0.1", T + 100);
	assert_int_equal(rows(f), 5);
	assert_int_equal(throttle_prune(&deleted, f->s, T + 86400), 0);
	assert_int_equal(deleted, 0);
	assert_int_equal(throttle_prune(&deleted, f->s, T + 86401), 0);
	assert_int_equal(deleted, 2);
	assert_int_equal(rows(f), 3);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	char *long_user = malloc(THROTTLE_USER_MAX + 2);
	int64_t retry = -1;

	assert_non_null(long_user);
	memset(long_user, 'a', THROTTLE_USER_MAX + 1);
	long_user[THROTTLE_USER_MAX + 1] = '\0';
	assert_int_equal(throttle_check(&retry, f->s, f->key, ENV, "alice", NULL, T),
	                 CAREID_EINVALID);
	assert_int_equal(retry, 0);
	assert_int_equal(throttle_check(&retry, f->s, f->key, "", "alice", "10.0.0.1", T),
	                 CAREID_EINVALID);
	assert_int_equal(throttle_failure(f->s, f->key, ENV, long_user, "10.0.0.1", T),
	                 CAREID_EINVALID);
	long_user[THROTTLE_USER_MAX] = '\0';
	assert_int_equal(throttle_failure(f->s, f->key, ENV, long_user, "10.0.0.1", T), 0);
	assert_int_equal(rows(f), 3);
	free(long_user);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_pair_free_then_growing_to_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pair_does_not_reach_other_addresses, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_username_case, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_address_spraying, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_user_cap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_distributed_attack_never_locks_out, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_decay, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_success_clears, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inside_a_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ipv6_prefix, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	assert_int_equal(crypto_init(), 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
