/*
 * Outbound HTTP(S) requests (libcurl): fetching a client's jwks_uri, and later
 * back-channel logout deliveries. Bounded in time and size, HTTPS verified,
 * redirects not followed. Also SMTP submission for outbox/'s e-mail.
 */
#ifndef CAREID_HTTP_FETCH_H
#define CAREID_HTTP_FETCH_H

#include <stddef.h>

#include "core/buf.h"

#define FETCH_MAX_BODY (256 * 1024)

struct fetch_result {
	long status;
	struct buf body; /* capped at FETCH_MAX_BODY; buf_release() it */
};

/* Must be called once at start before threads (curl_global_init). */
int fetch_init(void);

/*
 * GET `url` with a timeout of `timeout_s` seconds (only http: and https:,
 * certificates verified, a redirect is returned as it is, not followed).
 * CAREID_EIO on failure, CAREID_ETOOBIG for a body over FETCH_MAX_BODY,
 * CAREID_EINVALID for a timeout <= 0. `out->status` is any HTTP status the
 * server answered; on error `out->body` is empty and needs no release.
 */
int fetch_get(struct fetch_result *out, const char *url, long timeout_s);

/* POST a form body (already encoded, see form_encode()) to `url`; as fetch_get(). */
int fetch_post_form(struct fetch_result *out, const char *url, const char *body, long timeout_s);

/*
 * Sends one message over SMTP (libcurl): `url` is smtp://HOST[:PORT][/EHLO-NAME]
 * or smtps://… (implicit TLS); user:password in the URL authenticates. On
 * smtp:// STARTTLS is used when the server offers it (certificates verified).
 * `from` is the envelope sender, `rcpts` the `nrcpt` envelope recipients
 * (bare addresses, no angle brackets); `message` is the complete RFC 5322
 * message with CRLF line endings: libcurl dot-stuffs lines starting with '.'
 * and appends the final CRLF.CRLF.
 *
 * Returns 0 once the server accepted the message; CAREID_EINVALID for a
 * permanent refusal (a 5xx reply, e.g. a rejected recipient: a single refused
 * recipient fails the whole message) or for unusable arguments (CR or LF in
 * an address, no recipient, timeout <= 0); CAREID_EIO for anything worth
 * retrying (connection failure, timeout, 4xx reply). `detail` (may be NULL)
 * receives the server's last reply line (or curl's error when there was
 * none), truncated to what it can hold.
 */
int fetch_smtp_send(const char *url, const char *from, const char *const *rcpts, size_t nrcpt,
                    const char *message, size_t len, long timeout_s, struct buf *detail);

#endif
