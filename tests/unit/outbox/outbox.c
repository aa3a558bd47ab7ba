/*
 * Tests src/outbox/outbox.c: transactional enqueue, claiming with leases,
 * retries with backoff, permanent failures, several workers on one store, and
 * the worker thread's lifecycle. E-mail goes to a real SMTP receiver
 * (aiosmtpd, tests/unit/outbox/smtp_receiver.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"
#include "http/fetch.h"
#include "outbox/mail.h"
#include "outbox/outbox.h"

#include "receiver.h"
#include "store/store.h"

#define FROM "careid@careid.test"

static char tmpdir[1024]; /* short enough for every path built from it */

/* Message-IDs of what the receiver got into `dir`, in a JSON object that
 * counts each one; `*total` is the number of messages. */
static json_t *receiver_ids(const char *dir, size_t *total)
{
	json_t *ids = json_object();
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[PATH_MAX + 256];

	*total = 0;
	if (!d)
		return ids;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		const char *id;
		json_t *m;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		m = json_load_file(path, 0, NULL);
		assert_non_null(m);
		id = json_string_value(json_array_get(
		    json_object_get(json_object_get(m, "headers"), "message-id"), 0));
		assert_non_null(id);
		json_object_set_new(ids, id,
		                    json_integer(json_integer_value(json_object_get(ids, id)) + 1));
		json_decref(m);
		(*total)++;
	}
	closedir(d);
	return ids;
}

static size_t received(const char *dir)
{
	size_t total;

	json_decref(receiver_ids(dir, &total));
	return total;
}

/* A TCP port nobody listens on (bound then released). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int group_setup(void **state)
{
	const char *base = getenv("CAREID_TEST_TMP");

	(void)state;
	if (crypto_init() != 0 || fetch_init() != 0)
		return -1;
	if (base && *base) {
		if (mkdir(base, 0700) != 0 && errno != EEXIST)
			return -1;
		snprintf(tmpdir, sizeof(tmpdir), "%s/outbox-XXXXXX", base);
	} else {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/careid-outbox-XXXXXX");
	}
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct fixture {
	char db[PATH_MAX + 16];
	char rx_dir[PATH_MAX];
	char smtp_url[64];
	pid_t rx;
	store *s;
	struct mail_config cfg;
	struct outbox_handler h;
};

static int setup(void **state)
{
	static int n;
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	n++;
	snprintf(f->db, sizeof(f->db), "sqlite:%s/outbox-%d.db", tmpdir, n);
	snprintf(f->rx_dir, sizeof(f->rx_dir), "%s/received-%d", tmpdir, n);
	if (store_open(&f->s, f->db) != 0 || store_migrate(f->s, NULL) != 0)
		return -1;
	f->cfg.from = FROM;
	f->cfg.smtp_url = f->smtp_url;
	f->cfg.timeout_s = 5;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	receiver_stop(f->rx);
	store_free(f->s);
	free(f);
	return 0;
}

/* Starts a receiver for this test; `port` 0 for any. */
static void start_receiver(struct fixture *f, int port)
{
	int got = 0;

	f->rx = receiver_start(f->rx_dir, port, &got);
	assert_true(f->rx > 0);
	snprintf(f->smtp_url, sizeof(f->smtp_url), "smtp://127.0.0.1:%d", got);
}

static void mail_handler_for(struct fixture *f)
{
	assert_int_equal(mail_handler(&f->h, &f->cfg), 0);
}

static void send_mail(store *s, const char *subject)
{
	const char *to[] = {"user@example.test"};
	struct mail m = {.to = to, .nto = 1, .subject = subject, .text = "Hello.\n"};

	assert_int_equal(mail_enqueue(s, &m), 0);
}

static int64_t sql_int(store *s, const char *sql)
{
	store_stmt *st = NULL;
	int64_t v;

	assert_int_equal(store_query(s, &st, sql, ""), 0);
	assert_int_equal(store_next(st), 1);
	v = store_int(st, 0);
	store_done(st);
	return v;
}

/* Makes every pending message due now, as if its backoff had passed. */
static void make_due(store *s)
{
	assert_true(store_exec(s, "UPDATE outbox SET next_attempt_at = 0 WHERE state = 'pending'",
	                       "") >= 0);
}

static void test_enqueue_in_transaction(void **state)
{
	struct fixture *f = *state;
	json_t *p = json_pack("{s:s}", "sub", "123");
	char id[OUTBOX_ID_SIZE];

	/* Rolled back with the caller's state change: nothing left. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(outbox_enqueue(f->s, "logout", p, id), 0);
	send_mail(f->s, "rolled back");
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox"), 2);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox"), 0);
	/* Committed: both there, pending and due. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(outbox_enqueue(f->s, "logout", p, id), 0);
	send_mail(f->s, "committed");
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(strlen(id), OUTBOX_ID_SIZE - 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'pending' "
	                               "AND attempts = 0 AND locked_until IS NULL"),
	                 2);
	/* Bad input. */
	assert_int_equal(outbox_enqueue(f->s, "", p, id), CAREID_EINVALID);
	assert_int_equal(outbox_enqueue(f->s, "Email", p, id), CAREID_EINVALID);
	assert_int_equal(outbox_enqueue(f->s, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", p, id),
	                 CAREID_EINVALID);
	json_decref(p);
	p = json_string("not an object");
	assert_int_equal(outbox_enqueue(f->s, "email", p, id), CAREID_EINVALID);
	assert_int_equal(outbox_enqueue(f->s, "email", NULL, id), CAREID_EINVALID);
	json_decref(p);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox"), 2);
}

static void test_retry_backoff_then_delivered(void **state)
{
	struct fixture *f = *state;
	struct outbox_opts o = {.base_backoff_s = 2, .max_attempts = 8};
	int port = free_port();
	int64_t prev = 0;
	outbox *ob = NULL;

	/* The receiver is down. */
	snprintf(f->smtp_url, sizeof(f->smtp_url), "smtp://127.0.0.1:%d", port);
	mail_handler_for(f);
	assert_int_equal(outbox_new(&ob, f->s, &f->h, 1, &o), 0);
	send_mail(f->s, "retried");
	for (int attempt = 1; attempt <= 3; attempt++) {
		int64_t before = clock_now(), delay, lo = 2LL << (attempt - 1);

		if (attempt > 1)
			make_due(f->s);
		assert_int_equal(outbox_drain(ob, 5000), 1);
		/* Not due again yet: a second drain makes no attempt. */
		assert_int_equal(outbox_drain(ob, 1000), 0);
		assert_int_equal(sql_int(f->s, "SELECT attempts FROM outbox"), attempt);
		assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = "
		                               "'pending' AND locked_until IS NULL AND "
		                               "last_error IS NOT NULL"),
		                 1);
		delay = sql_int(f->s, "SELECT next_attempt_at FROM outbox") - before;
		/* base * 2^(n-1), plus up to a quarter (and a second of clock skew) */
		assert_true(delay >= lo && delay <= lo + lo / 4 + 1);
		assert_true(delay > prev);
		prev = delay;
	}
	assert_int_equal(
	    sql_int(f->s, "SELECT COUNT(*) FROM outbox_attempts WHERE ok = 0 AND detail <> ''"), 3);
	/* The receiver comes up on that port: delivered once. */
	start_receiver(f, port);
	make_due(f->s);
	assert_int_equal(outbox_drain(ob, 5000), 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered' "
	                               "AND attempts = 4 AND last_error IS NULL"),
	                 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox_attempts"), 4);
	assert_int_equal(sql_int(f->s, "SELECT ok FROM outbox_attempts WHERE attempt = 4"), 1);
	make_due(f->s);
	assert_int_equal(outbox_drain(ob, 1000), 0);
	assert_int_equal(received(f->rx_dir), 1);
	outbox_free(ob);
}

static atomic_int fake_calls;
static atomic_int fake_result;
static atomic_int fake_delay_ms;
static atomic_int fake_inside;

static int fake_deliver(void *ctx, const json_t *payload, struct buf *detail)
{
	(void)ctx;
	/* Runs on the worker thread too: no cmocka asserts here. */
	if (!json_is_object(payload))
		return CAREID_EINVALID;
	atomic_fetch_add(&fake_calls, 1);
	atomic_store(&fake_inside, 1);
	if (atomic_load(&fake_delay_ms))
		usleep((useconds_t)atomic_load(&fake_delay_ms) * 1000);
	if (buf_puts(detail, "fake says no") != 0)
		buf_reset(detail);
	return atomic_load(&fake_result);
}

static void fake_reset(int result, int delay_ms)
{
	atomic_store(&fake_calls, 0);
	atomic_store(&fake_inside, 0);
	atomic_store(&fake_result, result);
	atomic_store(&fake_delay_ms, delay_ms);
}

/* Runs outbox_drain() with standard error going to `path`. */
static int drain_logged(outbox *ob, const char *path)
{
	int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), rc;

	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	close(fd);
	rc = outbox_drain(ob, 5000);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	return rc;
}

static void test_max_attempts_and_logs(void **state)
{
	struct fixture *f = *state;
	struct outbox_handler h = {.kind = "fake", .deliver = fake_deliver};
	struct outbox_opts o = {.max_attempts = 3};
	json_t *p = json_pack("{s:i}", "n", 1), *line;
	char id[OUTBOX_ID_SIZE], log_path[PATH_MAX + 16];
	outbox *ob = NULL;
	FILE *fp;

	fake_reset(CAREID_EIO, 0);
	assert_int_equal(outbox_new(&ob, f->s, &h, 1, &o), 0);
	assert_int_equal(outbox_enqueue(f->s, "fake", p, id), 0);
	json_decref(p);
	for (int i = 1; i <= 3; i++) {
		make_due(f->s);
		assert_int_equal(outbox_drain(ob, 5000), 1);
	}
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'failed' "
	                               "AND attempts = 3 AND last_error = 'fake says no'"),
	                 1);
	make_due(f->s);
	assert_int_equal(outbox_drain(ob, 1000), 0);
	assert_int_equal(atomic_load(&fake_calls), 3);
	/* A permanent failure is not retried; each attempt is one log line. */
	fake_reset(CAREID_EINVALID, 0);
	p = json_pack("{s:i}", "n", 2);
	assert_int_equal(outbox_enqueue(f->s, "fake", p, id), 0);
	json_decref(p);
	snprintf(log_path, sizeof(log_path), "%s/attempt.log", tmpdir);
	assert_int_equal(drain_logged(ob, log_path), 1);
	make_due(f->s);
	assert_int_equal(outbox_drain(ob, 1000), 0);
	assert_int_equal(atomic_load(&fake_calls), 1);
	fp = fopen(log_path, "r");
	assert_non_null(fp);
	line = json_loadf(fp, JSON_DISABLE_EOF_CHECK, NULL);
	fclose(fp);
	assert_non_null(line);
	assert_string_equal(json_string_value(json_object_get(line, "event")), "outbox_attempt");
	assert_string_equal(json_string_value(json_object_get(line, "id")), id);
	assert_string_equal(json_string_value(json_object_get(line, "kind")), "fake");
	assert_int_equal(json_integer_value(json_object_get(line, "attempt")), 1);
	assert_string_equal(json_string_value(json_object_get(line, "result")), "failed");
	assert_string_equal(json_string_value(json_object_get(line, "detail")), "fake says no");
	json_decref(line);
	outbox_free(ob);
}

static void test_unknown_kind_and_bad_payload(void **state)
{
	struct fixture *f = *state;
	struct outbox_handler h = {.kind = "fake", .deliver = fake_deliver};
	json_t *p = json_object();
	outbox *ob = NULL;

	fake_reset(0, 0);
	assert_int_equal(outbox_new(&ob, f->s, &h, 1, NULL), 0);
	/* No handler here: retried later (another process may have one). */
	assert_int_equal(outbox_enqueue(f->s, "logout", p, NULL), 0);
	json_decref(p);
	/* A payload that is not JSON cannot ever be delivered. */
	assert_int_equal(store_exec(f->s,
	                            "INSERT INTO outbox (id, kind, payload, state, attempts, "
	                            "next_attempt_at, created_at) VALUES ('x', 'fake', '{oops', "
	                            "'pending', 0, 0, 0)",
	                            ""),
	                 1);
	assert_int_equal(outbox_drain(ob, 5000), 2);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE kind = 'logout' AND "
	                               "state = 'pending' AND attempts = 1 AND "
	                               "last_error LIKE 'no handler%'"),
	                 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE id = 'x' AND "
	                               "state = 'failed'"),
	                 1);
	assert_int_equal(atomic_load(&fake_calls), 0);
	outbox_free(ob);
}

static void test_expired_lease_redelivered(void **state)
{
	struct fixture *f = *state;
	store *s2 = NULL;
	outbox *ob = NULL;

	start_receiver(f, 0);
	mail_handler_for(f);
	send_mail(f->s, "after a crash");
	/* Another process claims it and dies before finishing. */
	assert_int_equal(store_exec(f->s,
	                            "UPDATE outbox SET locked_until = $1, attempts = attempts + 1",
	                            "i", clock_now() + 60),
	                 1);
	/* A second instance (its own store handle, as another process) leaves it
	 * alone while the lease holds... */
	assert_int_equal(store_open(&s2, f->db), 0);
	assert_int_equal(outbox_new(&ob, s2, &f->h, 1, NULL), 0);
	assert_int_equal(outbox_drain(ob, 1000), 0);
	assert_int_equal(received(f->rx_dir), 0);
	/* ...and delivers it once the lease has expired. */
	assert_int_equal(
	    store_exec(f->s, "UPDATE outbox SET locked_until = $1", "i", clock_now() - 1), 1);
	assert_int_equal(outbox_drain(ob, 5000), 1);
	assert_int_equal(received(f->rx_dir), 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered' "
	                               "AND attempts = 2 AND locked_until IS NULL"),
	                 1);
	/* The crashed attempt left no record; the one that delivered did. */
	assert_int_equal(sql_int(f->s, "SELECT attempt FROM outbox_attempts WHERE ok = 1"), 2);
	/* A message whose every delivery died with its process: given up on
	 * once the claims reach max_attempts, without another delivery. */
	send_mail(f->s, "poison");
	assert_int_equal(store_exec(f->s,
	                            "UPDATE outbox SET attempts = 8, locked_until = $1 "
	                            "WHERE state = 'pending'",
	                            "i", clock_now() - 1),
	                 1);
	assert_int_equal(outbox_drain(ob, 5000), 1);
	assert_int_equal(received(f->rx_dir), 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'failed' AND "
	                               "attempts = 9 AND last_error LIKE 'attempts used up%'"),
	                 1);
	outbox_free(ob);
	store_free(s2);
}

static void test_lease_lost_is_fenced(void **state)
{
	struct fixture *f = *state;
	struct outbox_handler h = {.kind = "fake", .deliver = fake_deliver};
	struct outbox_opts o = {.lease_s = 1};
	json_t *p = json_object();
	outbox *ob = NULL;

	/* A delivery that outlives its lease: another claimer took over meanwhile. */
	fake_reset(CAREID_EIO, 300);
	assert_int_equal(outbox_new(&ob, f->s, &h, 1, &o), 0);
	assert_int_equal(outbox_enqueue(f->s, "fake", p, NULL), 0);
	json_decref(p);
	assert_int_equal(outbox_start(ob), 0);
	while (!atomic_load(&fake_inside))
		usleep(1000);
	/* The other claimer's attempt 2 delivers while attempt 1 still runs. */
	assert_int_equal(store_exec(f->s,
	                            "UPDATE outbox SET attempts = 2, state = 'delivered', "
	                            "locked_until = NULL",
	                            ""),
	                 1);
	outbox_stop(ob);
	/* Attempt 1's failure is on record but does not undo the delivery. */
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered' "
	                               "AND last_error IS NULL"),
	                 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox_attempts WHERE attempt = 1 "
	                               "AND ok = 0"),
	                 1);
	outbox_free(ob);
}

/* Counts what one outbox delivers through another handler. */
struct counting {
	const struct outbox_handler *inner;
	atomic_int n;
};

static int counting_deliver(void *ctx, const json_t *payload, struct buf *detail)
{
	struct counting *c = ctx;

	atomic_fetch_add(&c->n, 1);
	return c->inner->deliver(c->inner->ctx, payload, detail);
}

static void test_two_workers_deliver_once(void **state)
{
	struct fixture *f = *state;
	struct outbox_opts o = {.poll_ms = 20};
	enum { N = 24 };
	struct counting ca = {0}, cb = {0};
	struct outbox_handler ha = {"email", counting_deliver, &ca};
	struct outbox_handler hb = {"email", counting_deliver, &cb};
	outbox *a = NULL, *b = NULL;
	store *s2 = NULL;
	int64_t start = clock_mono_us();
	size_t total = 0;
	const char *k;
	json_t *ids, *v;

	start_receiver(f, 0);
	mail_handler_for(f);
	for (int i = 0; i < N; i++) {
		char subject[32];

		snprintf(subject, sizeof(subject), "message %d", i);
		send_mail(f->s, subject);
	}
	assert_int_equal(store_open(&s2, f->db), 0);
	ca.inner = cb.inner = &f->h;
	assert_int_equal(outbox_new(&a, f->s, &ha, 1, &o), 0);
	assert_int_equal(outbox_new(&b, s2, &hb, 1, &o), 0);
	assert_int_equal(outbox_start(a), 0);
	assert_int_equal(outbox_start(a), CAREID_EEXISTS);
	assert_int_equal(outbox_start(b), 0);
	while (received(f->rx_dir) < N && clock_mono_us() - start < 15 * 1000000LL)
		usleep(20 * 1000);
	outbox_stop(a);
	outbox_stop(b);
	ids = receiver_ids(f->rx_dir, &total);
	assert_int_equal(total, N);
	assert_int_equal(json_object_size(ids), N);
	json_object_foreach(ids, k, v) assert_int_equal(json_integer_value(v), 1);
	json_decref(ids);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered' "
	                               "AND attempts = 1"),
	                 N);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox_attempts"), N);
	assert_int_equal(atomic_load(&ca.n) + atomic_load(&cb.n), N);
	print_message("deliveries by worker: %d + %d\n", atomic_load(&ca.n), atomic_load(&cb.n));
	outbox_free(a);
	outbox_free(b);
	store_free(s2);
}

static void test_worker_wake_and_stop(void **state)
{
	struct fixture *f = *state;
	struct outbox_handler h = {.kind = "fake", .deliver = fake_deliver};
	struct outbox_opts o = {.poll_ms = 60000};
	json_t *p = json_object();
	int64_t start;
	outbox *ob = NULL;

	fake_reset(0, 300);
	assert_int_equal(outbox_new(&ob, f->s, &h, 1, &o), 0);
	outbox_stop(ob); /* not running: nothing to do */
	assert_int_equal(outbox_start(ob), 0);
	usleep(50 * 1000); /* the worker has looked once and sleeps for a minute */
	assert_int_equal(outbox_enqueue(f->s, "fake", p, NULL), 0);
	json_decref(p);
	start = clock_mono_us();
	outbox_wake(ob);
	while (!atomic_load(&fake_inside) && clock_mono_us() - start < 5000000)
		usleep(1000);
	assert_true(atomic_load(&fake_inside));
	/* Stopping lets the delivery in flight finish and be recorded. */
	outbox_stop(ob);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'"), 1);
	assert_int_equal(atomic_load(&fake_calls), 1);
	/* It can start again, and outbox_free() stops it. */
	assert_int_equal(outbox_start(ob), 0);
	outbox_free(ob);
	outbox_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enqueue_in_transaction, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_backoff_then_delivered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_attempts_and_logs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_kind_and_bad_payload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_expired_lease_redelivered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lease_lost_is_fenced, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_workers_deliver_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_worker_wake_and_stop, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
