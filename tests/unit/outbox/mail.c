/*
 * Tests src/outbox/mail.c (and fetch_smtp_send() in src/http/fetch.c) against
 * a real SMTP receiver: aiosmtpd run by tests/unit/outbox/smtp_receiver.py,
 * which writes what it received, as Python's email package parses it, to JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* The receiver, shared by the tests of this file. */
static pid_t rx_pid;
static int rx_port;
static char rx_dir[PATH_MAX];
static char smtp_url[64];

/* Removes every message the receiver wrote so far. */
static void receiver_clear(void)
{
	DIR *d = opendir(rx_dir);
	struct dirent *e;
	char path[PATH_MAX + 256];

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", rx_dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/* The messages received so far: a JSON array of what smtp_receiver.py wrote. */
static json_t *receiver_messages(void)
{
	json_t *all = json_array();
	DIR *d = opendir(rx_dir);
	struct dirent *e;
	char path[PATH_MAX + 256];

	assert_non_null(d);
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		json_t *m;

		if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", rx_dir, e->d_name);
		m = json_load_file(path, 0, NULL);
		assert_non_null(m);
		json_array_append_new(all, m);
	}
	closedir(d);
	return all;
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
		snprintf(tmpdir, sizeof(tmpdir), "%s/mail-XXXXXX", base);
	} else {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/careid-mail-XXXXXX");
	}
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(rx_dir, sizeof(rx_dir), "%s/received", tmpdir);
	if (mkdir(rx_dir, 0700) != 0)
		return -1;
	rx_pid = receiver_start(rx_dir, 0, &rx_port);
	if (rx_pid <= 0)
		return -1;
	snprintf(smtp_url, sizeof(smtp_url), "smtp://127.0.0.1:%d/careid.test", rx_port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	receiver_stop(rx_pid);
	return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct fixture {
	store *s;
	outbox *ob;
	struct mail_config cfg;
	char file[PATH_MAX];
};

static int setup(void **state)
{
	static int n;
	struct fixture *f = calloc(1, sizeof(*f));
	char url[PATH_MAX + 32];

	if (!f)
		return -1;
	snprintf(url, sizeof(url), "sqlite:%s/mail-%d.db", tmpdir, ++n);
	snprintf(f->file, sizeof(f->file), "%s/var-%d/mail.log", tmpdir, n);
	if (store_open(&f->s, url) != 0 || store_migrate(f->s, NULL) != 0)
		return -1;
	f->cfg.smtp_url = smtp_url;
	f->cfg.from = FROM;
	f->cfg.timeout_s = 5;
	receiver_clear();
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	outbox_free(f->ob);
	store_free(f->s);
	free(f);
	return 0;
}

static void make_outbox(struct fixture *f)
{
	struct outbox_handler h;
	struct outbox_opts o = {.lease_s = 30};

	assert_int_equal(mail_handler(&h, &f->cfg), 0);
	assert_int_equal(outbox_new(&f->ob, f->s, &h, 1, &o), 0);
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

/* The one header `name` of received message `m`. */
static const char *header(const json_t *m, const char *name)
{
	const json_t *v = json_object_get(json_object_get(m, "headers"), name);

	assert_int_equal(json_array_size(v), 1);
	return json_string_value(json_array_get(v, 0));
}

/* `s` with every CRLF turned to LF (the receiver keeps CRLF in the body). */
static char *unix_lines(const char *s)
{
	char *out = strdup(s), *w = out;

	assert_non_null(out);
	for (const char *p = s; *p; p++) {
		if (!(p[0] == '\r' && p[1] == '\n'))
			*w++ = *p;
	}
	*w = '\0';
	return out;
}

static void test_bad_input(void **state)
{
	struct fixture *f = *state;
	static const char *const bad_addrs[] = {
	    "victim@example.test\r\nBcc: all@example.test",
	    "no-at-sign",
	    "two@@example.test",
	    "a@b@example.test",
	    "@example.test",
	    "user@",
	    "with space@example.test",
	    "<user@example.test>",
	    "user@exa_mple.test",
	    "user@-example.test",
	    "user@example..test",
	    ".user@example.test",
	    "us..er@example.test",
	    "us\"er@example.test",
	    "\xc3\xa9@example.test",
	    "",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.test",
	};
	const char *to[MAIL_MAX_RCPT + 1];
	const char *one[] = {"user@example.test"};
	struct mail m = {.to = one, .nto = 1, .subject = "s", .text = "t"};
	struct outbox_handler h;
	struct mail_config cfg = {.smtp_url = smtp_url, .from = "not an address"};

	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
		const char *addr[] = {bad_addrs[i]};
		struct mail bm = m;

		bm.to = addr;
		assert_int_equal(mail_enqueue(f->s, &bm), CAREID_EINVALID);
		assert_false(mail_address_ok(bad_addrs[i]));
		bm = m;
		bm.from = bad_addrs[i];
		assert_int_equal(mail_enqueue(f->s, &bm), CAREID_EINVALID);
		bm = m;
		bm.reply_to = bad_addrs[i];
		assert_int_equal(mail_enqueue(f->s, &bm), CAREID_EINVALID);
	}
	assert_true(mail_address_ok("O'Brien+tag@mail.example-1.test"));
	assert_true(mail_address_ok("noreply@localhost"));
	assert_false(mail_address_ok(NULL));
	/* A 254-character address is the longest accepted. */
	{
		char longest[MAIL_MAX_ADDR + 2];
		const char *addr[] = {longest};
		struct mail bm = m;

		memset(longest, 'a', sizeof(longest));
		memcpy(longest, "user@", 5);
		for (size_t i = 55; i < MAIL_MAX_ADDR; i += 50)
			longest[i] = '.';
		longest[MAIL_MAX_ADDR] = '\0';
		bm.to = addr;
		assert_int_equal(mail_enqueue(f->s, &bm), 0);
		longest[MAIL_MAX_ADDR] = 'a';
		longest[MAIL_MAX_ADDR + 1] = '\0';
		assert_int_equal(mail_enqueue(f->s, &bm), CAREID_EINVALID);
	}
	for (size_t i = 0; i <= MAIL_MAX_RCPT; i++)
		to[i] = "user@example.test";
	m.to = to;
	m.nto = MAIL_MAX_RCPT + 1;
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.nto = 0; /* NULL-terminated, and empty */
	to[0] = NULL;
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.to = one;
	m.nto = 1;
	m.subject = "two\r\nlines";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.subject = "bad \xc3\x28 utf-8";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.subject = "overlong \xc0\xaf";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.subject = "ok";
	m.text = "truncated \xe2\x82";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.text = "surrogate \xed\xa0\x80";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.text = NULL;
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.text = "ok";
	m.list_unsubscribe = "javascript:alert(1)";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.list_unsubscribe = "https://x.test/u?a=1>\r\nBcc: x@y.test";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	m.list_unsubscribe = "https://x.test/a b";
	assert_int_equal(mail_enqueue(f->s, &m), CAREID_EINVALID);
	/* Only the one valid message was queued. */
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox"), 1);
	/* The handler needs a valid sender and somewhere to send. */
	assert_int_equal(mail_handler(&h, &cfg), CAREID_EINVALID);
	cfg.from = FROM;
	cfg.smtp_url = NULL;
	assert_int_equal(mail_handler(&h, &cfg), CAREID_EINVALID);
	cfg.file = "var/mail.log";
	assert_int_equal(mail_handler(&h, &cfg), 0);
	assert_string_equal(h.kind, "email");
}

static void test_smtp_utf8(void **state)
{
	struct fixture *f = *state;
	const char *to[] = {"alice@example.test", "bob@example.test", NULL};
	const char *subject = "Votre accès à careid — vérifiez votre adresse électronique, s'il "
	                      "vous plaît ✓ 日本語のテキスト";
	const char *text =
	    "Bonjour Alice,\n"
	    ".a line that starts with a dot\n"
	    ".\n"
	    "..two dots\n"
	    "Café crème = 3 €; trailing spaces   \n"
	    "From the team\n"
	    "A long line: "
	    "https://careid.test/onboarding/verify?token=0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz&x=é\n"
	    "\n"
	    "— careid\n";
	struct mail m = {.to = to,
	                 .subject = subject,
	                 .text = text,
	                 .reply_to = "support@careid.test",
	                 .list_unsubscribe = "https://careid.test/unsubscribe?u=42"};
	json_t *msgs, *msg;
	const char *raw;
	char *body;

	make_outbox(f);
	assert_int_equal(mail_enqueue(f->s, &m), 0);
	assert_int_equal(outbox_drain(f->ob, 5000), 1);
	msgs = receiver_messages();
	assert_int_equal(json_array_size(msgs), 1);
	msg = json_array_get(msgs, 0);
	assert_string_equal(json_string_value(json_object_get(msg, "mail_from")), FROM);
	assert_int_equal(json_array_size(json_object_get(msg, "rcpt_tos")), 2);
	assert_int_equal(json_array_size(json_object_get(msg, "defects")), 0);
	assert_string_equal(header(msg, "subject"), subject);
	assert_string_equal(header(msg, "from"), FROM);
	assert_string_equal(header(msg, "to"), "alice@example.test, bob@example.test");
	assert_string_equal(header(msg, "reply-to"), "support@careid.test");
	assert_string_equal(header(msg, "mime-version"), "1.0");
	/* (Python writes the parameter back quoted.) */
	assert_string_equal(header(msg, "content-type"), "text/plain; charset=\"utf-8\"");
	assert_string_equal(header(msg, "content-transfer-encoding"), "quoted-printable");
	assert_string_equal(header(msg, "list-unsubscribe"),
	                    "<https://careid.test/unsubscribe?u=42>");
	assert_string_equal(header(msg, "list-unsubscribe-post"), "List-Unsubscribe=One-Click");
	assert_true(strncmp(header(msg, "message-id"), "<", 1) == 0);
	assert_non_null(strstr(header(msg, "message-id"), "@careid>"));
	assert_non_null(strstr(header(msg, "date"), " +0000"));
	body = unix_lines(json_string_value(json_object_get(msg, "body")));
	assert_string_equal(body, text);
	free(body);
	/* On the wire: encoded-words, 7-bit clean, CRLF, short lines. */
	raw = json_string_value(json_object_get(msg, "raw"));
	assert_non_null(strstr(raw, "\r\nSubject: =?utf-8?B?"));
	assert_non_null(strstr(raw, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(raw, "\r\n.a line that starts with a dot\r\n.\r\n..two dots\r\n"));
	for (const char *p = raw; *p;) {
		size_t n = strcspn(p, "\n");

		assert_true(n <= 77); /* 76 and the CR */
		assert_true(n > 0 && p[n - 1] == '\r');
		for (size_t i = 0; i < n; i++)
			assert_true((unsigned char)p[i] < 0x80);
		p += n + (p[n] == '\n');
	}
	json_decref(msgs);
	/* Delivered once, with the server's reply on record. */
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered' "
	                               "AND attempts = 1 AND delivered_at IS NOT NULL"),
	                 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox_attempts WHERE ok = 1 "
	                               "AND detail LIKE '250 %queued as%'"),
	                 1);
	assert_int_equal(outbox_drain(f->ob, 1000), 0);
	msgs = receiver_messages();
	assert_int_equal(json_array_size(msgs), 1);
	json_decref(msgs);
}

static void test_smtp_7bit_dots(void **state)
{
	struct fixture *f = *state;
	const char *to[] = {"carol@example.test"};
	const char *text = "Hello,\r\n.hidden if not dot-stuffed\r\n.\r\nafter a lone dot\r\n"
	                   "..\r\nend";
	struct mail m = {.from = "noreply@careid.test",
	                 .to = to,
	                 .nto = 1,
	                 .subject = "Plain ASCII subject",
	                 .text = text};
	json_t *msgs, *msg;
	char *body;

	make_outbox(f);
	assert_int_equal(mail_enqueue(f->s, &m), 0);
	assert_int_equal(outbox_drain(f->ob, 5000), 1);
	msgs = receiver_messages();
	assert_int_equal(json_array_size(msgs), 1);
	msg = json_array_get(msgs, 0);
	assert_string_equal(json_string_value(json_object_get(msg, "mail_from")),
	                    "noreply@careid.test");
	assert_string_equal(header(msg, "from"), "noreply@careid.test");
	assert_string_equal(header(msg, "subject"), "Plain ASCII subject");
	assert_string_equal(header(msg, "content-transfer-encoding"), "7bit");
	assert_null(json_object_get(json_object_get(msg, "headers"), "list-unsubscribe"));
	assert_null(json_object_get(json_object_get(msg, "headers"), "reply-to"));
	body = unix_lines(json_string_value(json_object_get(msg, "body")));
	assert_string_equal(body, "Hello,\n.hidden if not dot-stuffed\n.\nafter a lone dot\n"
	                          "..\nend\n");
	free(body);
	json_decref(msgs);
}

static void test_rejected_recipient(void **state)
{
	struct fixture *f = *state;
	const char *to[] = {"reject@example.test"};
	struct mail m = {.to = to, .nto = 1, .subject = "s", .text = "t"};
	json_t *msgs;

	make_outbox(f);
	assert_int_equal(mail_enqueue(f->s, &m), 0);
	assert_int_equal(outbox_drain(f->ob, 5000), 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'failed' "
	                               "AND attempts = 1 AND last_error LIKE '550 %'"),
	                 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox_attempts WHERE ok = 0 "
	                               "AND detail LIKE '550 %rejected%'"),
	                 1);
	/* Not retried, even when it would be due. */
	assert_true(store_exec(f->s, "UPDATE outbox SET next_attempt_at = 0", "") == 1);
	assert_int_equal(outbox_drain(f->ob, 1000), 0);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox_attempts"), 1);
	msgs = receiver_messages();
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);
}

static void test_temporary_failure(void **state)
{
	struct fixture *f = *state;
	const char *to[] = {"tempfail@example.test"};
	struct mail m = {.to = to, .nto = 1, .subject = "s", .text = "t"};

	make_outbox(f);
	assert_int_equal(mail_enqueue(f->s, &m), 0);
	assert_int_equal(outbox_drain(f->ob, 5000), 1);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'pending' "
	                               "AND attempts = 1 AND last_error LIKE '451 %' "
	                               "AND locked_until IS NULL"),
	                 1);
	assert_true(sql_int(f->s, "SELECT next_attempt_at FROM outbox") > clock_now());
}

static void test_smtp_direct(void **state)
{
	const char *rcpts[] = {"dave@example.test"};
	const char *msg = "Subject: direct\r\n\r\nbody\r\n";
	char url[96];
	struct buf d;
	json_t *msgs;

	(void)state;
	buf_init(&d, 64);
	assert_int_equal(fetch_smtp_send(smtp_url, FROM, rcpts, 1, msg, strlen(msg), 5, &d), 0);
	assert_true(strncmp(d.ptr, "250 ", 4) == 0);
	/* Header injection through an envelope address is refused. */
	rcpts[0] = "dave@example.test>\r\nRCPT TO:<x@y.test";
	assert_int_equal(fetch_smtp_send(smtp_url, FROM, rcpts, 1, msg, strlen(msg), 5, &d),
	                 CAREID_EINVALID);
	rcpts[0] = "dave@example.test";
	assert_int_equal(fetch_smtp_send(smtp_url, FROM, rcpts, 0, msg, strlen(msg), 5, &d),
	                 CAREID_EINVALID);
	/* Only smtp and smtps. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", rx_port);
	assert_int_equal(fetch_smtp_send(url, FROM, rcpts, 1, msg, strlen(msg), 5, &d), CAREID_EIO);
	/* Nobody listening: temporary. */
	assert_int_equal(
	    fetch_smtp_send("smtp://127.0.0.1:1", FROM, rcpts, 1, msg, strlen(msg), 5, &d),
	    CAREID_EIO);
	assert_true(d.len > 0);
	buf_release(&d);
	msgs = receiver_messages();
	assert_int_equal(json_array_size(msgs), 1);
	json_decref(msgs);
}

static char *read_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *data;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	data = calloc(1, (size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return data;
}

static void test_file_mode(void **state)
{
	struct fixture *f = *state;
	const char *to[] = {"erin@example.test"};
	struct mail m = {.to = to,
	                 .nto = 1,
	                 .subject = "Première",
	                 .text = "From the start\n>From quoted\nline with é\n"};
	struct stat sb;
	json_t *msgs;
	char *data, *second;

	f->cfg.smtp_url = NULL;
	f->cfg.file = f->file;
	make_outbox(f);
	assert_int_equal(mail_enqueue(f->s, &m), 0);
	m.subject = "Second";
	m.text = "plain";
	assert_int_equal(mail_enqueue(f->s, &m), 0);
	assert_int_equal(outbox_drain(f->ob, 5000), 2);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'"), 2);
	assert_int_equal(stat(f->file, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	data = read_file(f->file);
	assert_true(strncmp(data, "From " FROM " ", 5 + strlen(FROM) + 1) == 0);
	assert_null(strchr(data, '\r'));
	assert_non_null(strstr(data, "\nSubject: =?utf-8?B?"));
	assert_non_null(strstr(data, "\nTo: erin@example.test\n"));
	assert_non_null(strstr(data, "\nContent-Transfer-Encoding: quoted-printable\n"));
	/* mboxrd quoting keeps body lines from looking like separators. */
	assert_non_null(strstr(data, "\n>From the start\n>>From quoted\nline with =C3=A9\n"));
	second = strstr(data, "\n\nFrom " FROM " ");
	assert_non_null(second);
	assert_non_null(strstr(second, "\nSubject: Second\n"));
	assert_non_null(strstr(second, "\nContent-Transfer-Encoding: 7bit\n\nplain\n\n"));
	free(data);
	msgs = receiver_messages();
	assert_int_equal(json_array_size(msgs), 0);
	json_decref(msgs);
}

static void test_bad_payload_is_permanent(void **state)
{
	struct fixture *f = *state;
	json_t *p = json_pack("{s:[s], s:s, s:s, s:i, s:s}", "to", "x\r\n@example.test", "subject",
	                      "s", "text", "t", "date", 0, "message_id", "<a@careid>");

	make_outbox(f);
	/* A payload that bypassed mail_enqueue()'s checks is refused at delivery. */
	assert_int_equal(outbox_enqueue(f->s, "email", p, NULL), 0);
	json_decref(p);
	p = json_pack("{s:[s], s:s, s:s}", "to", "x@example.test", "subject", "s", "text", "t");
	assert_int_equal(outbox_enqueue(f->s, "email", p, NULL), 0);
	json_decref(p);
	assert_int_equal(outbox_drain(f->ob, 5000), 2);
	assert_int_equal(sql_int(f->s, "SELECT COUNT(*) FROM outbox WHERE state = 'failed' "
	                               "AND attempts = 1"),
	                 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_smtp_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_smtp_7bit_dots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rejected_recipient, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_temporary_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_smtp_direct, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_file_mode, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_payload_is_permanent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
