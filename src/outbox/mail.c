/*
 * E-mail: validation, the queued payload, RFC 5322 composition and delivery
 * over SMTP (http/fetch.c holds libcurl) or to an mbox file.
 *
 * Payload (JSON): {"to": [..], "subject", "text", "date": unix seconds,
 * "message_id": "<…@careid>", and optionally "from", "reply_to",
 * "list_unsubscribe"}.
 */
#include "outbox/mail.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"
#include "http/fetch.h"

#define MAIL_MAX_MESSAGE (3 * MAIL_MAX_TEXT + 128 * 1024)
#define MAIL_MAX_LINE    998
#define MAIL_QP_LINE     76
#define MAIL_TIMEOUT_S   30L
/* UTF-8 octets per encoded-word, so that each header line stays within 76
 * characters: 39 (52 base64) after "Subject: ", 45 (60) after a fold's space. */
#define MAIL_WORD_FIRST 39
#define MAIL_WORD_BYTES 45
#define MAIL_MSGID_MAX  64
#define MAIL_FILE_MODE  0600

/* Length of the UTF-8 sequence at p (at most `left` bytes), 0 when invalid
 * (truncated, overlong, surrogate, above U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool utf8_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);

		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

static bool mail_domain_ok(const char *d, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? d[i] : '.';

		if (c == '.') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
				return false;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		           (c >= '0' && c <= '9') || c == '-') {
			label++;
		} else {
			return false;
		}
	}
	return true;
}

/* A bare addr-spec in dot-atom form (see mail.h). */
static bool mail_addr_ok(const char *a)
{
	const char *at;
	size_t len, local;

	if (!a)
		return false;
	len = strlen(a);
	at = strchr(a, '@');
	if (len == 0 || len > MAIL_MAX_ADDR || !at || strchr(at + 1, '@'))
		return false;
	local = (size_t)(at - a);
	if (local == 0 || local > MAIL_MAX_LOCAL || a[0] == '.' || a[local - 1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c <= 0x20 || c >= 0x7f || strchr("\"(),:;<>[\\]", c) ||
		    (c == '.' && a[i + 1] == '.'))
			return false;
	}
	return mail_domain_ok(at + 1, len - local - 1);
}

bool mail_address_ok(const char *addr)
{
	return mail_addr_ok(addr);
}

static bool mail_url_ok(const char *u)
{
	size_t len = strlen(u);

	if (len > MAIL_MAX_URL ||
	    !(strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '"')
			return false;
	}
	return true;
}

/* Validates everything but `from` when it is NULL; `*nto_out` receives the
 * number of recipients. */
static int mail_check(const struct mail *m, size_t *nto_out)
{
	size_t nto = m->nto, len;

	if (!m->to)
		return careid_error_set(CAREID_EINVALID, "mail: no recipient");
	if (nto == 0) {
		while (nto <= MAIL_MAX_RCPT && m->to[nto])
			nto++;
	}
	if (nto == 0 || nto > MAIL_MAX_RCPT)
		return careid_error_set(CAREID_EINVALID, "mail: %s recipients",
		                        nto ? "too many" : "no");
	for (size_t i = 0; i < nto; i++) {
		if (!mail_addr_ok(m->to[i]))
			return careid_error_set(CAREID_EINVALID, "mail: bad recipient address");
	}
	if (m->from && !mail_addr_ok(m->from))
		return careid_error_set(CAREID_EINVALID, "mail: bad sender address");
	if (m->reply_to && !mail_addr_ok(m->reply_to))
		return careid_error_set(CAREID_EINVALID, "mail: bad reply-to address");
	if (m->list_unsubscribe && !mail_url_ok(m->list_unsubscribe))
		return careid_error_set(CAREID_EINVALID, "mail: bad list-unsubscribe URL");
	if (!m->subject || !m->text)
		return careid_error_set(CAREID_EINVALID, "mail: no subject or text");
	len = strlen(m->subject);
	if (len > MAIL_MAX_SUBJECT)
		return careid_error_set(CAREID_ETOOBIG, "mail: subject over %d bytes",
		                        MAIL_MAX_SUBJECT);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)m->subject[i];

		if (c < 0x20 || c == 0x7f)
			return careid_error_set(CAREID_EINVALID,
			                        "mail: control character in the subject");
	}
	if (!utf8_ok(m->subject, len))
		return careid_error_set(CAREID_EINVALID, "mail: subject is not UTF-8");
	len = strlen(m->text);
	if (len > MAIL_MAX_TEXT)
		return careid_error_set(CAREID_ETOOBIG, "mail: text over %d bytes", MAIL_MAX_TEXT);
	if (!utf8_ok(m->text, len))
		return careid_error_set(CAREID_EINVALID, "mail: text is not UTF-8");
	*nto_out = nto;
	return 0;
}

int mail_enqueue(store *s, const struct mail *m)
{
	char token[40], msgid[MAIL_MSGID_MAX];
	json_t *p = NULL, *to;
	size_t nto = 0;
	int rc;

	if (!s || !m)
		return careid_error_set(CAREID_EINVALID, "mail: no store or message");
	rc = mail_check(m, &nto);
	if (rc < 0)
		return rc;
	rc = crypto_random_token(token, sizeof(token), 18);
	if (rc < 0)
		return rc;
	snprintf(msgid, sizeof(msgid), "<%s@careid>", token);
	p = json_pack("{s:o, s:s, s:s, s:I, s:s}", "to", json_array(), "subject", m->subject,
	              "text", m->text, "date", (json_int_t)clock_now(), "message_id", msgid);
	if (!p)
		return careid_error_set(CAREID_ENOMEM, "mail: out of memory");
	to = json_object_get(p, "to");
	for (size_t i = 0; i < nto; i++) {
		if (json_array_append_new(to, json_string(m->to[i])) != 0)
			goto nomem;
	}
	if ((m->from && json_object_set_new(p, "from", json_string(m->from)) != 0) ||
	    (m->reply_to && json_object_set_new(p, "reply_to", json_string(m->reply_to)) != 0) ||
	    (m->list_unsubscribe &&
	     json_object_set_new(p, "list_unsubscribe", json_string(m->list_unsubscribe)) != 0))
		goto nomem;
	rc = outbox_enqueue(s, MAIL_KIND, p, NULL);
	json_decref(p);
	return rc;
nomem:
	json_decref(p);
	return careid_error_set(CAREID_ENOMEM, "mail: out of memory");
}

/* Composition. Every append is checked; the first failure is kept in *rc. */

struct composer {
	struct buf *b;
	int rc;
};

static void put(struct composer *c, const char *s, size_t len)
{
	if (c->rc == 0)
		c->rc = buf_append(c->b, s, len);
}

static void puts_(struct composer *c, const char *s)
{
	put(c, s, strlen(s));
}

static void put_date(struct composer *c, int64_t when)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)when;
	char line[64];
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		c->rc = careid_error_set(CAREID_EINVALID, "mail: bad date");
		return;
	}
	snprintf(line, sizeof(line), "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
	         days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
	         tm.tm_hour, tm.tm_min, tm.tm_sec);
	puts_(c, line);
}

static void put_base64(struct composer *c, const unsigned char *p, size_t len)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];

	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = b64[(v >> 18) & 63];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? b64[v & 63] : '=';
		put(c, q, 4);
	}
}

/* "Subject: …": as it is when plain printable ASCII, else as RFC 2047
 * B encoded-words of whole characters, one per folded line. */
static void put_subject(struct composer *c, const char *subject)
{
	const unsigned char *p = (const unsigned char *)subject;
	size_t len = strlen(subject), i = 0;
	bool plain = !strstr(subject, "=?");

	for (size_t k = 0; k < len && plain; k++)
		plain = p[k] >= 0x20 && p[k] < 0x7f;
	puts_(c, "Subject: ");
	if (plain || len == 0) {
		put(c, subject, len);
		puts_(c, "\r\n");
		return;
	}
	while (i < len) {
		size_t n = 0, max = i == 0 ? MAIL_WORD_FIRST : MAIL_WORD_BYTES;

		/* Validated as UTF-8 before: utf8_seq() is never 0 here. */
		while (i + n < len) {
			size_t k = utf8_seq(p + i + n, len - i - n);

			if (k == 0 || n + k > max)
				break;
			n += k;
		}
		if (n == 0) {
			c->rc = careid_error_set(CAREID_EINVALID, "mail: subject is not UTF-8");
			return;
		}
		if (i > 0)
			puts_(c, "\r\n ");
		puts_(c, "=?utf-8?B?");
		put_base64(c, p + i, n);
		puts_(c, "?=");
		i += n;
	}
	puts_(c, "\r\n");
}

/* "To: a@x,\r\n b@y" */
static void put_addrs(struct composer *c, const char *name, const char *const *addrs, size_t n)
{
	puts_(c, name);
	puts_(c, ": ");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			puts_(c, ",\r\n ");
		puts_(c, addrs[i]);
	}
	puts_(c, "\r\n");
}

/* Calls `fn` with each line of `text` (without its end: LF, CRLF or CR). A
 * final line end does not start another line. */
static void each_line(const char *text, void (*fn)(struct composer *, const char *, size_t),
                      struct composer *c)
{
	const char *p = text;

	while (*p && c->rc == 0) {
		size_t n = strcspn(p, "\r\n");

		fn(c, p, n);
		p += n;
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (*p)
			p++;
	}
}

static bool text_is_7bit(const char *text)
{
	const char *p = text;

	while (*p) {
		size_t n = strcspn(p, "\r\n");

		if (n > MAIL_MAX_LINE)
			return false;
		for (size_t i = 0; i < n; i++) {
			unsigned char ch = (unsigned char)p[i];

			if ((ch < 0x20 && ch != '\t') || ch >= 0x7f)
				return false;
		}
		p += n;
		if (p[0] == '\r' && p[1] == '\n')
			p += 2;
		else if (*p)
			p++;
	}
	return true;
}

static void put_line_7bit(struct composer *c, const char *line, size_t len)
{
	put(c, line, len);
	puts_(c, "\r\n");
}

/* Quoted-printable (RFC 2045 6.7): lines of at most 76 characters with soft
 * breaks. A leading '.' stays as it is: SMTP dot-stuffing is libcurl's. */
static void put_line_qp(struct composer *c, const char *line, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		bool last = i + 1 == len;
		char tok[3];
		size_t t;

		if ((ch >= 33 && ch <= 126 && ch != '=') || ((ch == ' ' || ch == '\t') && !last)) {
			tok[0] = (char)ch;
			t = 1;
		} else {
			tok[0] = '=';
			tok[1] = hex[ch >> 4];
			tok[2] = hex[ch & 15];
			t = 3;
		}
		if (col + t > MAIL_QP_LINE - 1 && !(last && col + t <= MAIL_QP_LINE)) {
			puts_(c, "=\r\n");
			col = 0;
		}
		put(c, tok, t);
		col += t;
	}
	puts_(c, "\r\n");
}

/* The parts of a message as delivered (strings borrowed from the payload). */
struct mail_msg {
	struct mail m;
	const char *to[MAIL_MAX_RCPT];
	size_t nto;
	int64_t date;
	const char *message_id;
};

static bool mail_msgid_ok(const char *id)
{
	size_t len = id ? strlen(id) : 0;

	if (len < 3 || len >= MAIL_MSGID_MAX || id[0] != '<' || id[len - 1] != '>')
		return false;
	for (size_t i = 1; i + 1 < len; i++) {
		unsigned char ch = (unsigned char)id[i];

		if (ch <= 0x20 || ch >= 0x7f || ch == '<' || ch == '>')
			return false;
	}
	return true;
}

static int mail_from_payload(struct mail_msg *out, const json_t *p, const char *dflt_from)
{
	const json_t *to = json_object_get(p, "to"), *v;
	size_t i, nto;

	memset(out, 0, sizeof(*out));
	if (!json_is_array(to) || json_array_size(to) == 0 || json_array_size(to) > MAIL_MAX_RCPT)
		return careid_error_set(CAREID_EINVALID, "mail: payload has no valid 'to'");
	json_array_foreach(to, i, v)
	{
		if (!json_is_string(v))
			return careid_error_set(CAREID_EINVALID, "mail: payload 'to' not strings");
		out->to[i] = json_string_value(v);
	}
	nto = json_array_size(to);
	out->nto = nto;
	out->m.to = out->to;
	out->m.nto = nto;
	out->m.from = json_string_value(json_object_get(p, "from"));
	if (!out->m.from)
		out->m.from = dflt_from;
	out->m.subject = json_string_value(json_object_get(p, "subject"));
	out->m.text = json_string_value(json_object_get(p, "text"));
	out->m.reply_to = json_string_value(json_object_get(p, "reply_to"));
	out->m.list_unsubscribe = json_string_value(json_object_get(p, "list_unsubscribe"));
	out->message_id = json_string_value(json_object_get(p, "message_id"));
	v = json_object_get(p, "date");
	if (!json_is_integer(v) || !mail_msgid_ok(out->message_id) || !out->m.from)
		return careid_error_set(CAREID_EINVALID, "mail: payload lacks date, id or sender");
	out->date = json_integer_value(v);
	return mail_check(&out->m, &nto);
}

static int mail_compose(struct buf *b, const struct mail_msg *mm)
{
	struct composer c = {b, 0};
	bool seven = text_is_7bit(mm->m.text);

	put_date(&c, mm->date);
	put_addrs(&c, "From", &mm->m.from, 1);
	put_addrs(&c, "To", mm->to, mm->nto);
	if (mm->m.reply_to)
		put_addrs(&c, "Reply-To", &mm->m.reply_to, 1);
	put_subject(&c, mm->m.subject);
	puts_(&c, "Message-ID: ");
	puts_(&c, mm->message_id);
	puts_(&c, "\r\n");
	if (mm->m.list_unsubscribe) {
		puts_(&c, "List-Unsubscribe: <");
		puts_(&c, mm->m.list_unsubscribe);
		puts_(&c, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
	}
	puts_(&c, "MIME-Version: 1.0\r\n"
	          "Content-Type: text/plain; charset=utf-8\r\n"
	          "Content-Transfer-Encoding: ");
	puts_(&c, seven ? "7bit\r\n\r\n" : "quoted-printable\r\n\r\n");
	each_line(mm->m.text, seven ? put_line_7bit : put_line_qp, &c);
	if (c.rc == CAREID_ETOOBIG)
		return careid_error_set(CAREID_EINVALID, "mail: message over %d bytes",
		                        MAIL_MAX_MESSAGE);
	return c.rc;
}

/* Creates the file's directory when it is missing (one level). */
static void mail_file_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];

	if (!slash || slash == path || (size_t)(slash - path) >= sizeof(dir))
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return;
}

/* Appends the message in mboxrd form: "From " line, LF line ends, ">From "
 * quoting, a blank line after. One write under an exclusive lock. */
static int mail_to_file(const char *path, const struct mail_msg *mm, const struct buf *msg,
                        struct buf *detail)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	time_t t = (time_t)mm->date;
	struct tm tm;
	struct buf out;
	const char *p = msg->ptr, *end = msg->ptr + msg->len;
	int fd = -1, rc;

	buf_init(&out, MAIL_MAX_MESSAGE + 4096);
	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm));
	rc = buf_printf(&out, "From %s %s %s %2d %02d:%02d:%02d %04d\n", mm->m.from,
	                days[tm.tm_wday % 7], months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour,
	                tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p), q = 0;

		if (n > 0 && p[n - 1] == '\r')
			n--;
		while (q < n && p[q] == '>')
			q++;
		if (n - q >= 5 && memcmp(p + q, "From ", 5) == 0)
			rc = buf_putc(&out, '>');
		if (rc == 0)
			rc = buf_append(&out, p, n);
		if (rc == 0)
			rc = buf_putc(&out, '\n');
		p = nl ? nl + 1 : end;
	}
	if (rc == 0)
		rc = buf_putc(&out, '\n');
	if (rc < 0) {
		rc = careid_error_set(CAREID_EINVALID, "mail: message too big for the file");
		goto out;
	}
	mail_file_dir(path);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, MAIL_FILE_MODE);
	if (fd < 0 || flock(fd, LOCK_EX) != 0) {
		rc =
		    careid_error_set(CAREID_EIO, "mail: cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	for (size_t off = 0; off < out.len;) {
		ssize_t w = write(fd, out.ptr + off, out.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = careid_error_set(CAREID_EIO, "mail: cannot write %s: %s", path,
			                      strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0) {
		rc =
		    careid_error_set(CAREID_EIO, "mail: cannot sync %s: %s", path, strerror(errno));
		goto out;
	}
	if (buf_printf(detail, "appended to %s", path) != 0)
		buf_reset(detail);
out:
	if (fd >= 0)
		close(fd);
	buf_release(&out);
	return rc;
}

static int mail_deliver(void *ctx, const json_t *payload, struct buf *detail)
{
	const struct mail_config *cfg = ctx;
	struct mail_msg mm;
	struct buf msg;
	int rc;

	rc = mail_from_payload(&mm, payload, cfg->from);
	if (rc < 0) {
		if (buf_puts(detail, careid_error_last()->message) != 0)
			buf_reset(detail);
		return CAREID_EINVALID;
	}
	buf_init(&msg, MAIL_MAX_MESSAGE);
	rc = mail_compose(&msg, &mm);
	if (rc < 0) {
		if (buf_puts(detail, careid_error_last()->message) != 0)
			buf_reset(detail);
		rc = rc == CAREID_ENOMEM ? rc : CAREID_EINVALID;
		goto out;
	}
	if (cfg->smtp_url && *cfg->smtp_url)
		rc = fetch_smtp_send(cfg->smtp_url, mm.m.from, mm.to, mm.nto, msg.ptr, msg.len,
		                     cfg->timeout_s > 0 ? cfg->timeout_s : MAIL_TIMEOUT_S, detail);
	else
		rc = mail_to_file(cfg->file, &mm, &msg, detail);
out:
	buf_release(&msg);
	return rc;
}

int mail_handler(struct outbox_handler *out, const struct mail_config *cfg)
{
	memset(out, 0, sizeof(*out));
	if (!cfg || !mail_addr_ok(cfg->from))
		return careid_error_set(CAREID_EINVALID, "mail: the sender address is not valid");
	if (!(cfg->smtp_url && *cfg->smtp_url) && !(cfg->file && *cfg->file))
		return careid_error_set(CAREID_EINVALID, "mail: neither an SMTP URL nor a file");
	out->kind = MAIL_KIND;
	out->deliver = mail_deliver;
	out->ctx = (void *)cfg;
	return 0;
}
