/*
 * E-mail through the outbox: mail_enqueue() validates a message and queues it
 * (kind "email"); the handler from mail_handler() composes it as an RFC 5322
 * message and submits it over SMTP, or appends it to a file for development.
 *
 * The composed message: Date (UTC, "+0000"), From, To, optional Reply-To,
 * Subject (RFC 2047 encoded-words when not plain ASCII), Message-ID, MIME
 * 1.0, text/plain; charset=utf-8, CRLF line endings. The body goes as 7bit
 * when it is ASCII with lines of at most 998 octets, else quoted-printable,
 * so no server needs 8BITMIME. Date and Message-ID are fixed at enqueue time:
 * every attempt sends the same message, so a receiver can drop a duplicate.
 * With `list_unsubscribe` set, List-Unsubscribe and List-Unsubscribe-Post
 * (one-click, RFC 8058) are added.
 */
#ifndef CAREID_OUTBOX_MAIL_H
#define CAREID_OUTBOX_MAIL_H

#include <stdbool.h>
#include <stddef.h>

#include "outbox/outbox.h"
#include "store/store.h"

#define MAIL_KIND        "email"
#define MAIL_MAX_RCPT    50
#define MAIL_MAX_ADDR    254          /* RFC 5321 path limit, less the brackets */
#define MAIL_MAX_LOCAL   64           /* local part */
#define MAIL_MAX_SUBJECT 512          /* octets of UTF-8 */
#define MAIL_MAX_TEXT    (256 * 1024) /* octets of UTF-8 */
#define MAIL_MAX_URL     900

/*
 * A message to queue. Addresses are bare (`name@example.org`, no display
 * name): ASCII, exactly one '@', a local part of 1–64 characters without
 * spaces, quotes or <>()[],;:\ and a domain of dot-separated labels of
 * letters, digits and '-'. Text is UTF-8; line ends may be LF or CRLF.
 */
struct mail {
	const char *from;             /* NULL: mail_config.from at delivery */
	const char *const *to;        /* recipients, 1..MAIL_MAX_RCPT: `nto` of them, */
	size_t nto;                   /* or when 0, up to the first NULL */
	const char *subject;          /* one line, no CR/LF */
	const char *text;             /* the body */
	const char *reply_to;         /* optional */
	const char *list_unsubscribe; /* optional http(s) URL for one-click unsubscribe */
};

/* True when `addr` is an address mail_enqueue() accepts (the rules above),
 * so that a form can refuse an address before it is stored. */
bool mail_address_ok(const char *addr);

/*
 * Validates `m` and queues it with outbox_enqueue() (one INSERT, so it joins
 * the caller's open transaction). CAREID_EINVALID for a bad address, subject,
 * text or URL, or too many recipients (careid_error_last() says which),
 * CAREID_ETOOBIG over a size cap, store errors as store_exec().
 */
int mail_enqueue(store *s, const struct mail *m);

/*
 * How queued mail leaves. `smtp_url` as fetch_smtp_send() takes it (e.g.
 * "smtp://127.0.0.1:2525", "smtps://user:pass@relay.example:465"); when NULL,
 * each message is appended to `file` (e.g. "var/mail.log") in mbox format:
 * a "From " separator line, the message with LF line ends and ">From "
 * quoting, then a blank line. `from` is the sender when a message names none.
 */
struct mail_config {
	const char *smtp_url;
	const char *file;
	const char *from;
	long timeout_s; /* per SMTP submission; 0 means 30 (keep below the lease) */
};

/*
 * Fills `out` with the handler of kind "email" for outbox_new(). `cfg` and
 * its strings are borrowed and must outlive the outbox. CAREID_EINVALID when
 * `from` is not a valid address or neither `smtp_url` nor `file` is set.
 */
int mail_handler(struct outbox_handler *out, const struct mail_config *cfg);

#endif
