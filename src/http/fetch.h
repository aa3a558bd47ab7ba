/*
 * Outbound HTTP(S) requests (libcurl): fetching a client's jwks_uri, and
 * back-channel logout deliveries. Bounded in time and size, HTTPS verified,
 * redirects not followed. Also SMTP submission for outbox/'s e-mail.
 *
 * A URL a client registered is the supplier's to choose: in a deployment on
 * the internet careid must not become their way into its own network (a
 * server-side request forgery). Such calls pass `public_only`
 * (fetch_public_only() says when): every address curl is about to connect
 * to, after DNS, must be public (fetch_addr_public()), so a name that
 * resolves, or later re-resolves, to 127.0.0.1 or 10.x gets nowhere.
 *
 * Failures are recorded with a generic reason ("could not connect to the
 * host", "timed out: no answer within 5 seconds", …): callers may show it
 * to the supplier. curl's own text, which names addresses and ports, is
 * only logged (event "fetch_failed").
 */
#ifndef CAREID_HTTP_FETCH_H
#define CAREID_HTTP_FETCH_H

#include <stdbool.h>
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

/* How a request goes out. */
struct fetch_opts {
	long timeout_s; /* > 0 */
	/*
	 * Connect only to public addresses (fetch_addr_public()), checked for
	 * each address at connect time; no proxy either (an HTTP proxy would
	 * connect on careid's behalf, unchecked). A refused address fails as a
	 * connection does (CAREID_EIO, "could not connect to the host").
	 */
	bool public_only;
};

/* fetch_get() and fetch_post_form() with options. */
int fetch_get_opts(struct fetch_result *out, const char *url, const struct fetch_opts *o);
int fetch_post_form_opts(struct fetch_result *out, const char *url, const char *body,
                         const struct fetch_opts *o);

/*
 * Whether careid, published at `public_url` (--public-url), calls the URLs
 * clients registered with `public_only`: true unless `public_url` is an http
 * URL on a loopback host (127.0.0.0/8, [::1], localhost or a name under
 * .localhost), which is a developer's machine or CI, where the relying
 * parties and their endpoints are on loopback too. True for NULL.
 */
bool fetch_public_only(const char *public_url);

struct sockaddr;

/*
 * Whether `sa` (`len` bytes) is an address `public_only` lets careid
 * connect to: IPv4 or IPv6 unicast on the internet. Refused: unspecified,
 * loopback, private (RFC 1918, fc00::/7), shared (CGNAT 100.64/10),
 * link-local (169.254/16, fe80::/10), site-local (fec0::/10), multicast,
 * broadcast and reserved (240/4), the documentation and benchmarking
 * ranges, and IPv6 outside 2000::/3; an IPv6 form carrying an IPv4 address
 * (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged
 * by that IPv4 address; Teredo and the other IETF protocol assignments
 * (2001::/23) are refused. Any other family is refused.
 */
bool fetch_addr_public(const struct sockaddr *sa, size_t len);

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
