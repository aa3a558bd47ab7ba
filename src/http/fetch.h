/*
 * Outbound HTTP(S) requests (libcurl): fetching a client's jwks_uri, and later
 * back-channel logout deliveries. Bounded in time and size, HTTPS verified,
 * redirects not followed.
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

#endif
