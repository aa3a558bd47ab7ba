/*
 * careid agent: the identity agent. It holds a smartcard (a PKCS#12 file, or
 * a key and certificate on a PKCS#11 token) and answers a careid page's
 * sign-in challenge on the loopback interface, like the NHS Identity Agent;
 * when the card file or the token goes away it tells each issuer it signed
 * for that the card was removed. It never opens the store.
 */
#include "cli/cli.h"
#include "cli/commands.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "authn/smartcard.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/hash.h"
#include "crypto/pkcs11.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "http/fetch.h"
#include "http/server.h"

#define DEFAULT_LISTEN  "127.0.0.1:8086"
#define POLL_MS         250
#define TOKENS_MAX      256
#define TOKEN_BYTES     32
#define TOKEN_LEN       44 /* base64url of 32 bytes, and a NUL */
#define ISSUER_MAX      512
#define BODY_MAX        8192
#define NOTIFY_TIMEOUT  3
#define CORS_MAX_AGE    "600"
#define ERR_CARD_REMOVE "card_removed"

_Static_assert(X509_SIG_MAX >= PKCS11_SIG_MAX, "a token's signature fits an answer");

static const struct opt spec[] = {
    {"card", "FILE", "the smartcard: a PKCS#12 file from 'careid card issue --out'", false},
    {"passphrase-file", "FILE",
     "with --card: the card's passphrase is this file's first line "
     "(default: none)",
     false},
    {"pkcs11-module", "PATH",
     "or the smartcard on a PKCS#11 token, through this module "
     "(a card from 'careid card issue --pkcs11-module')",
     false},
    {"token-label", "LABEL", "with --pkcs11-module: the token's label (required)", false},
    {"pin-file", "FILE",
     "with --pkcs11-module: the token's user PIN is this file's first line "
     "(required)",
     false},
    {"listen", "ADDR:PORT",
     "loopback address to listen on (default " DEFAULT_LISTEN "; port 0 picks one)", false},
    {"allow-origin", "ORIGIN",
     "also answer pages of this exact origin, e.g. https://careid.example", true},
    {"log-level", "LEVEL", "debug, info (default), warn or error", false},
    {"help", NULL, "show this help", false},
    {NULL, NULL, NULL, false},
};

/* An answer given: its removal token and the issuer to tell. */
struct removal {
	char issuer[ISSUER_MAX + 1];
	char token[TOKEN_LEN];
};

/* Identity of the card file as last seen, to notice it being replaced. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct agent {
	/* read-only after start */
	const char *card_path;   /* --card, or NULL for a token */
	const char *passphrase;  /* the card file's passphrase, or the token's PIN */
	const char *token_label; /* --token-label */
	const opts *o;           /* --allow-origin values */
	/* --pkcs11-module: the module. The main thread finds the token and logs
	 * in while no card is held; other threads sign with it under `lock`. */
	pkcs11 *token;

	pthread_mutex_t lock;                /* guards everything below */
	x509_card *card;                     /* a card file's; NULL while removed */
	x509_cert *token_cert;               /* the token's certificate; NULL while removed */
	char *cert_b64;                      /* the card's certificate, base64url DER */
	struct file_id seen;                 /* of the card held */
	struct removal removals[TOKENS_MAX]; /* a ring, oldest dropped */
	size_t nremovals, next;
};

/* Only the main thread reads these. */
struct watch {
	struct file_id failed; /* a file that could not be read, not retried until it changes */
	bool have_failed;
	char refused[PKCS11_SERIAL_MAX]; /* a token that refused the PIN: never tried again */
	char token_error[sizeof(((struct careid_error *)0)->message)]; /* logged once */
};

/* Whether a card is held, its certificate's details and its algorithm (under the lock). */
static bool held(const struct agent *a)
{
	return a->card || a->token_cert;
}

static const struct x509_info *held_info(const struct agent *a)
{
	return a->card ? x509_card_info(a->card) : x509_cert_info(a->token_cert);
}

static const char *held_alg(const struct agent *a)
{
	return a->card ? x509_card_alg(a->card) : "RS256"; /* pkcs11_card_sign() */
}

/* What the card is, for the log: {"card": FILE} or {"token": LABEL}. */
static const char *source_key(const struct agent *a)
{
	return a->card_path ? "card" : "token";
}

static const char *source_name(const struct agent *a)
{
	return a->card_path ? a->card_path : a->token_label;
}

static bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void file_id_of(struct file_id *id, const struct stat *st)
{
	memset(id, 0, sizeof(*id));
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

/* Reads the card file; `id` receives the identity of what was read. */
static int card_read(x509_card **out, struct file_id *id, const char *path, const char *pass)
{
	uint8_t *data = NULL;
	struct stat st;
	size_t len = 0;
	FILE *f = fopen(path, "rb");
	int rc = 0;

	*out = NULL;
	if (!f)
		return careid_error_set(CAREID_EIO, "cannot read %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = careid_error_set(CAREID_EIO, "%s is not a file", path);
		goto out;
	}
	file_id_of(id, &st);
	if (st.st_size > X509_P12_MAX) {
		rc = careid_error_set(CAREID_ETOOBIG, "%s is over %d bytes", path, X509_P12_MAX);
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	len = fread(data, 1, (size_t)st.st_size + 1, f);
	if (len != (size_t)st.st_size || ferror(f)) {
		rc = careid_error_set(CAREID_EIO, "%s changed while it was read", path);
		goto out;
	}
	rc = x509_card_load(out, data, len, pass);
out:
	if (data) {
		explicit_bzero(data, len);
		free(data);
	}
	fclose(f);
	return rc;
}

/* "scheme://host[:port]" of an http(s) URL, default port left out, scheme
 * and host lower-cased. With `whole`, the URL must be an origin itself (no
 * path, query or fragment). EINVALID for anything else. */
static int origin_of(char *out, size_t outsz, const char *url, bool whole)
{
	const char *rest;
	size_t scheme_len, hlen;
	const char *dflt;

	if (strncasecmp(url, "https://", 8) == 0) {
		scheme_len = 5;
		dflt = ":443";
	} else if (strncasecmp(url, "http://", 7) == 0) {
		scheme_len = 4;
		dflt = ":80";
	} else {
		return careid_error_set(CAREID_EINVALID, "not an http(s) URL");
	}
	rest = url + scheme_len + 3;
	hlen = strcspn(rest, "/?#");
	if (hlen == 0 || (whole && rest[hlen]) || memchr(rest, '@', hlen) ||
	    scheme_len + 3 + hlen >= outsz)
		return careid_error_set(CAREID_EINVALID, "not an origin");
	for (size_t i = 0; i < hlen; i++)
		if (rest[i] <= 0x20 || rest[i] >= 0x7f || rest[i] == '\\')
			return careid_error_set(CAREID_EINVALID, "not an origin");
	if (hlen > strlen(dflt) && strncmp(rest + hlen - strlen(dflt), dflt, strlen(dflt)) == 0)
		hlen -= strlen(dflt);
	for (size_t i = 0; i < scheme_len + 3; i++)
		out[i] = (char)tolower((unsigned char)url[i]);
	for (size_t i = 0; i < hlen; i++)
		out[scheme_len + 3 + i] = (char)tolower((unsigned char)rest[i]);
	out[scheme_len + 3 + hlen] = '\0';
	return 0;
}

/* http://localhost, http://127.0.0.1 or http://[::1], with any port. */
static bool loopback_origin(const char *origin)
{
	static const char *const hosts[] = {"http://localhost", "http://127.0.0.1", "http://[::1]"};
	long port;

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		size_t n = strlen(hosts[i]);

		if (strncmp(origin, hosts[i], n) != 0)
			continue;
		if (!origin[n])
			return true;
		if (origin[n] == ':' && strlen(origin + n + 1) <= 5 &&
		    parse_long(origin + n + 1, 1, 65535, &port) == 0)
			return true;
	}
	return false;
}

static bool origin_allowed(const struct agent *a, const char *origin)
{
	size_t n = opts_count(a->o, "allow-origin");

	if (loopback_origin(origin))
		return true;
	for (size_t i = 0; i < n; i++)
		if (strcmp(origin, opts_nth(a->o, "allow-origin", i)) == 0)
			return true;
	return false;
}

/* The Host header names the loopback interface (no DNS rebinding). */
static bool host_loopback(const char *host)
{
	static const char *const names[] = {"localhost", "127.0.0.1", "[::1]"};

	if (!host)
		return false;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);

		if (strncasecmp(host, names[i], n) == 0 && (!host[n] || host[n] == ':'))
			return true;
	}
	return false;
}

static int send_error(struct http_response *res, int status, const char *error, const char *desc)
{
	return http_send_json(res, status,
	                      json_pack("{s:s, s:s?}", "error", error, "error_description", desc));
}

static int status_answer(struct agent *a, struct http_response *res)
{
	json_t *j;
	char na[32];

	pthread_mutex_lock(&a->lock);
	if (held(a)) {
		const struct x509_info *info = held_info(a);
		time_t t = (time_t)info->not_after;
		struct tm tm;

		if (!gmtime_r(&t, &tm) || !strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm))
			snprintf(na, sizeof(na), "%lld", (long long)info->not_after);
		j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "card", "present", "uid", info->uid,
		              "subject", info->subject, "not_after", na, "serial", info->serial);
	} else {
		j = json_pack("{s:s, s:n, s:n, s:n}", "card", "removed", "uid", "subject",
		              "not_after");
	}
	pthread_mutex_unlock(&a->lock);
	return http_send_json(res, 200, j);
}

static void remember(struct agent *a, const char *issuer, const char *token)
{
	struct removal *r = &a->removals[a->next];

	snprintf(r->issuer, sizeof(r->issuer), "%s", issuer);
	snprintf(r->token, sizeof(r->token), "%s", token);
	a->next = (a->next + 1) % TOKENS_MAX;
	if (a->nremovals < TOKENS_MAX)
		a->nremovals++;
}

/* Signs the text under the lock: the card may be removed meanwhile. */
static int sign_answer(struct agent *a, struct http_request *req, struct http_response *res,
                       const char *origin, const char *issuer, const struct buf *text)
{
	uint8_t sig[X509_SIG_MAX];
	char sig_b64[(X509_SIG_MAX * 4) / 3 + 4], token[TOKEN_LEN];
	size_t sig_len = 0;
	json_t *j = NULL;
	bool gone;
	int rc;

	rc = crypto_random_token(token, sizeof(token), TOKEN_BYTES);
	if (rc)
		return rc;
	pthread_mutex_lock(&a->lock);
	if (!held(a)) {
		pthread_mutex_unlock(&a->lock);
		return send_error(res, 409, ERR_CARD_REMOVE, "the smartcard has been removed");
	}
	if (a->card)
		rc = x509_card_sign(a->card, sig, sizeof(sig), &sig_len, text->ptr, text->len);
	else
		rc = pkcs11_card_sign(a->token, sig, sizeof(sig), &sig_len, text->ptr, text->len);
	/* a token taken out since the last check: the watcher will tell the issuers */
	gone = rc && a->token && !pkcs11_token_present(a->token);
	if (gone) {
		pthread_mutex_unlock(&a->lock);
		return send_error(res, 409, ERR_CARD_REMOVE, "the smartcard has been removed");
	}
	if (!rc)
		rc = crypto_b64url_encode(sig_b64, sizeof(sig_b64), sig, sig_len);
	if (!rc)
		j = json_pack("{s:s, s:s, s:s, s:s}", "certificate", a->cert_b64, "signature",
		              sig_b64, "alg", held_alg(a), "removal_token", token);
	if (!rc && j)
		remember(a, issuer, token);
	pthread_mutex_unlock(&a->lock);
	if (rc)
		return rc;
	log_pack(LOG_INFO, "signed", "{s:s, s:s, s:s}", "request_id", req->request_id, "origin",
	         origin, "issuer", issuer);
	return http_send_json(res, 200, j);
}

static int sign(struct agent *a, struct http_request *req, struct http_response *res,
                const char *origin)
{
	const char *ctype = http_header(req, "Content-Type");
	const char *challenge, *body_origin, *issuer;
	char issuer_origin[ISSUER_MAX + 1], issuer_copy[ISSUER_MAX + 1];
	json_error_t jerr;
	struct buf text;
	json_t *body;
	size_t n;
	int rc;

	if (!origin)
		return send_error(res, 403, "origin_required", "the request has no Origin header");
	if (!ctype || strncasecmp(ctype, "application/json", 16) != 0 ||
	    (ctype[16] && ctype[16] != ';' && ctype[16] != ' '))
		return send_error(res, 415, "invalid_request", "the body must be application/json");
	body = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	challenge = json_string_value(json_object_get(body, "challenge"));
	body_origin = json_string_value(json_object_get(body, "origin"));
	issuer = json_string_value(json_object_get(body, "issuer"));
	if (!challenge || !body_origin || !issuer) {
		json_decref(body);
		return send_error(res, 400, "invalid_request",
		                  "the body must be {\"challenge\", \"origin\", \"issuer\"}");
	}
	/* a page may only have its own origin signed, for an issuer of that origin */
	if (strcmp(body_origin, origin) != 0) {
		json_decref(body);
		return send_error(res, 403, "origin_mismatch",
		                  "the origin to sign is not the requesting page's");
	}
	n = strlen(issuer);
	if (n > ISSUER_MAX || origin_of(issuer_origin, sizeof(issuer_origin), issuer, false) ||
	    strchr(issuer, '?') || strchr(issuer, '#') || strcmp(issuer_origin, origin) != 0) {
		json_decref(body);
		return send_error(res, 403, "issuer_mismatch",
		                  "the issuer is not of the requesting page's origin");
	}
	while (n > 0 && issuer[n - 1] == '/')
		n--;
	memcpy(issuer_copy, issuer, n);
	issuer_copy[n] = '\0';
	buf_init(&text, SMARTCARD_SIGNED_TEXT_MAX);
	rc = smartcard_signed_text(&text, origin, challenge);
	json_decref(body);
	if (rc == CAREID_EINVALID) {
		buf_release(&text);
		return send_error(res, 400, "invalid_request", careid_error_last()->message);
	}
	if (!rc)
		rc = sign_answer(a, req, res, origin, issuer_copy, &text);
	buf_release(&text);
	return rc;
}

static int preflight(struct agent *a, struct http_request *req, struct http_response *res,
                     const char *origin)
{
	const char *method = http_header(req, "Access-Control-Request-Method");
	const char *headers = http_header(req, "Access-Control-Request-Headers");
	const char *pna = http_header(req, "Access-Control-Request-Private-Network");
	bool is_sign = strcmp(req->path, "/sign") == 0;
	int rc = 0;

	(void)a;
	if (!origin || !method || strcmp(method, is_sign ? "POST" : "GET") != 0 ||
	    (headers && *headers && strcasecmp(headers, "content-type") != 0))
		return send_error(res, 403, "preflight_refused", "method or headers not allowed");
	rc = http_add_header(res, "Access-Control-Allow-Methods", is_sign ? "POST" : "GET");
	if (!rc)
		rc = http_add_header(res, "Access-Control-Allow-Headers", "Content-Type");
	if (!rc)
		rc = http_add_header(res, "Access-Control-Max-Age", CORS_MAX_AGE);
	/* Chrome's Private Network Access: an https page asking a loopback agent */
	if (!rc && pna && strcasecmp(pna, "true") == 0)
		rc = http_add_header(res, "Access-Control-Allow-Private-Network", "true");
	if (!rc)
		rc = http_send(res, 204, NULL, "", 0);
	return rc;
}

static int handle(void *ctx, struct http_request *req, struct http_response *res)
{
	struct agent *a = ctx;
	const char *origin = http_header(req, "Origin");
	bool is_status = strcmp(req->path, "/status") == 0,
	     is_sign = strcmp(req->path, "/sign") == 0;
	int rc;

	res->route = is_status ? "status" : is_sign ? "sign" : "other";
	rc = http_add_header(res, "Vary", "Origin");
	if (!rc)
		rc = http_add_header(res, "Cache-Control", "no-store");
	if (rc)
		return rc;
	if (!host_loopback(http_header(req, "Host")))
		return send_error(res, 403, "host_not_allowed",
		                  "the agent answers loopback names only");
	if (origin && !origin_allowed(a, origin))
		return send_error(res, 403, "origin_not_allowed",
		                  "this origin may not use the agent");
	if (origin) {
		rc = http_add_header(res, "Access-Control-Allow-Origin", origin);
		if (rc)
			return send_error(res, 403, "origin_not_allowed", "bad Origin header");
	}
	if (!is_status && !is_sign)
		return send_error(res, 404, "not_found", NULL);
	if (strcmp(req->method, "OPTIONS") == 0)
		return preflight(a, req, res, origin);
	if (is_status && strcmp(req->method, "GET") == 0)
		return status_answer(a, res);
	if (is_sign && strcmp(req->method, "POST") == 0)
		return sign(a, req, res, origin);
	rc = http_add_header(res, "Allow", is_sign ? "POST, OPTIONS" : "GET, OPTIONS");
	return rc ? rc : send_error(res, 405, "method_not_allowed", NULL);
}

/* Tells every issuer the agent signed for that the card was removed. */
static void notify_removed(struct removal *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct fetch_result fr = {0};
		char *url = NULL, body[TOKEN_LEN + 16];
		int rc;

		if (asprintf(&url, "%s/smartcard/removed", list[i].issuer) < 0)
			continue;
		snprintf(body, sizeof(body), "removal_token=%s", list[i].token);
		rc = fetch_post_form(&fr, url, body, NOTIFY_TIMEOUT);
		if (rc)
			log_pack(LOG_WARN, "removal_not_delivered", "{s:s, s:s}", "url", url,
			         "error", careid_error_last()->message);
		else
			log_pack(LOG_INFO, "removal_delivered", "{s:s, s:i}", "url", url, "status",
			         (int)fr.status);
		if (!rc)
			buf_release(&fr.body);
		explicit_bzero(body, sizeof(body));
		free(url);
	}
}

/* The card is gone (or replaced): forget it and its answers, then tell. */
static void card_removed(struct agent *a)
{
	struct removal *list = malloc(sizeof(a->removals));
	size_t n = 0;

	pthread_mutex_lock(&a->lock);
	x509_card_free(a->card);
	a->card = NULL;
	x509_cert_free(a->token_cert);
	a->token_cert = NULL;
	free(a->cert_b64);
	a->cert_b64 = NULL;
	if (list) {
		/* oldest first */
		size_t start = (a->next + TOKENS_MAX - a->nremovals) % TOKENS_MAX;

		for (n = 0; n < a->nremovals; n++)
			list[n] = a->removals[(start + n) % TOKENS_MAX];
	}
	explicit_bzero(a->removals, sizeof(a->removals));
	a->nremovals = 0;
	a->next = 0;
	pthread_mutex_unlock(&a->lock);
	log_pack(LOG_INFO, "card_removed", "{s:s, s:i}", source_key(a), source_name(a), "notify",
	         (int)n);
	if (list) {
		notify_removed(list, n);
		explicit_bzero(list, sizeof(a->removals));
		free(list);
	}
}

static int card_insert(struct agent *a, struct watch *w)
{
	struct file_id id = {0};
	x509_card *card = NULL;
	char *b64 = NULL;
	int rc;

	rc = card_read(&card, &id, a->card_path, a->passphrase);
	if (!rc)
		rc = x509_card_cert_b64url(card, &b64);
	if (rc) {
		if (!w->have_failed || !file_id_equal(&w->failed, &id))
			log_pack(LOG_WARN, "card_unreadable", "{s:s, s:s}", "card", a->card_path,
			         "error", careid_error_last()->message);
		w->failed = id;
		w->have_failed = true;
		x509_card_free(card);
		return rc;
	}
	w->have_failed = false;
	pthread_mutex_lock(&a->lock);
	a->card = card;
	a->cert_b64 = b64;
	a->seen = id;
	pthread_mutex_unlock(&a->lock);
	log_pack(LOG_INFO, "card_present", "{s:s, s:s, s:s}", "card", a->card_path, "uid",
	         x509_card_info(card)->uid, "serial", x509_card_info(card)->serial);
	return 0;
}

/* Called every POLL_MS and on SIGUSR1 (main thread only). */
static void card_check(struct agent *a, struct watch *w)
{
	struct file_id now = {0};
	struct stat st;
	bool exists = stat(a->card_path, &st) == 0 && S_ISREG(st.st_mode);
	bool present, same;

	if (exists)
		file_id_of(&now, &st);
	pthread_mutex_lock(&a->lock);
	present = a->card != NULL;
	same = present && exists && file_id_equal(&a->seen, &now);
	pthread_mutex_unlock(&a->lock);
	if (present && !same)
		card_removed(a);
	if (exists && !same && (!w->have_failed || !file_id_equal(&w->failed, &now)))
		card_insert(a, w);
}

/* The token's key signs what its certificate's key verifies. */
static int token_key_matches(struct agent *a, const x509_cert *cert)
{
	static const char probe[] = "careid agent: the token's key and certificate";
	uint8_t sig[PKCS11_SIG_MAX];
	size_t sig_len = 0;
	int rc;

	rc = pkcs11_card_sign(a->token, sig, sizeof(sig), &sig_len, probe, sizeof(probe) - 1);
	if (!rc &&
	    x509_cert_verify_signature(cert, "RS256", sig, sig_len, probe, sizeof(probe) - 1) != 0)
		rc = careid_error_set(CAREID_EINVALID,
		                      "the smartcard's key on token '%s' does not match its "
		                      "certificate",
		                      a->token_label);
	return rc;
}

/*
 * Looks for the token and, when it is there, logs in and reads its card.
 * No token is quiet (the card is out); a token that refused the PIN is not
 * tried again, as a real card would lock; other failures are logged once.
 * Main thread, while no card is held.
 */
static int token_insert(struct agent *a, struct watch *w)
{
	char serial[PKCS11_SERIAL_MAX];
	x509_cert *cert = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0, sz;
	char *b64 = NULL;
	int rc;

	rc = pkcs11_token_find(a->token, a->token_label, serial);
	if (rc)
		return rc;
	if (w->refused[0] && strcmp(serial, w->refused) == 0)
		return careid_error_set(CAREID_EDENIED, "wrong PIN for token '%s'", a->token_label);
	rc = pkcs11_token_login(a->token, a->passphrase, 0);
	if (rc == CAREID_EDENIED)
		snprintf(w->refused, sizeof(w->refused), "%s", serial);
	if (!rc)
		rc = pkcs11_card_find(a->token, SMARTCARD_TOKEN_LABEL);
	if (!rc)
		rc = pkcs11_card_cert(a->token, &der, &der_len);
	if (!rc)
		rc = x509_cert_from_der(&cert, der, der_len);
	if (!rc)
		rc = token_key_matches(a, cert);
	if (!rc) {
		sz = (der_len * 4) / 3 + 4; /* base64url without padding, and a NUL */
		b64 = malloc(sz);
		rc = b64 ? crypto_b64url_encode(b64, sz, der, der_len)
		         : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	free(der);
	if (rc) {
		const char *msg = careid_error_last()->message;

		if (strcmp(msg, w->token_error) != 0)
			log_pack(LOG_WARN, "card_unreadable", "{s:s, s:s}", "token", a->token_label,
			         "error", msg);
		snprintf(w->token_error, sizeof(w->token_error), "%s", msg);
		/* a token read while it was being made may look half-made to the
		 * module until it is initialised again (not after a refused PIN:
		 * that token is not tried again) */
		if (rc != CAREID_EDENIED)
			pkcs11_forget(a->token);
		x509_cert_free(cert);
		free(b64);
		return rc;
	}
	w->token_error[0] = '\0';
	pthread_mutex_lock(&a->lock);
	a->token_cert = cert;
	a->cert_b64 = b64;
	pthread_mutex_unlock(&a->lock);
	log_pack(LOG_INFO, "card_present", "{s:s, s:s, s:s, s:s}", "token", a->token_label,
	         "token_serial", serial, "uid", x509_cert_info(cert)->uid, "serial",
	         x509_cert_info(cert)->serial);
	return 0;
}

/* card_check() for a token: gone from its slot is removed. */
static void token_check(struct agent *a, struct watch *w)
{
	bool present;

	pthread_mutex_lock(&a->lock);
	present = a->token_cert != NULL;
	pthread_mutex_unlock(&a->lock);
	if (present && pkcs11_token_present(a->token))
		return;
	if (present)
		card_removed(a);
	token_insert(a, w);
}

/* --listen, on a loopback address only. */
static int parse_listen(const char *s, char *addr, size_t addrsz, uint16_t *port)
{
	struct in6_addr in6;
	struct in_addr in4;
	int rc = cli_parse_listen(s, addr, addrsz, port);

	if (rc)
		return rc;
	if (strcmp(addr, "localhost") == 0)
		snprintf(addr, addrsz, "127.0.0.1");
	if (inet_pton(AF_INET, addr, &in4) == 1 && (ntohl(in4.s_addr) >> 24) == 127)
		return 0;
	if (inet_pton(AF_INET6, addr, &in6) == 1 && IN6_IS_ADDR_LOOPBACK(&in6))
		return 0;
	return careid_error_set(CAREID_EINVALID,
	                        "the agent listens on a loopback address only (127.0.0.1, ::1), "
	                        "not '%s'",
	                        addr);
}

static int check_origins(const opts *o)
{
	char norm[SMARTCARD_ORIGIN_MAX + 1];

	for (size_t i = 0; i < opts_count(o, "allow-origin"); i++) {
		const char *v = opts_nth(o, "allow-origin", i);

		if (strlen(v) > SMARTCARD_ORIGIN_MAX || origin_of(norm, sizeof(norm), v, true) ||
		    strcmp(norm, v) != 0)
			return careid_error_set(
			    CAREID_EINVALID,
			    "--allow-origin wants an origin like "
			    "https://careid.example[:port] (lower case, no path), "
			    "not '%s'",
			    v);
	}
	return 0;
}

static int run(opts *o)
{
	struct agent a = {
	    .card_path = opts_get(o, "card"), .token_label = opts_get(o, "token-label"), .o = o};
	struct http_server_opts so = {0};
	struct watch w = {0};
	char addr[64], pass[X509_PASS_MAX + 2] = "";
	http_server *srv = NULL;
	struct timespec tick = {0, POLL_MS * 1000000L};
	sigset_t sigs;
	uint16_t port = 0;
	int rc, sig;

	rc = parse_listen(opts_get_or(o, "listen", DEFAULT_LISTEN), addr, sizeof(addr), &port);
	if (!rc)
		rc = check_origins(o);
	if (!rc && log_init(opts_get_or(o, "log-level", "info")))
		rc = CAREID_EINVALID;
	if (rc)
		return cli_usage("agent", "%s", careid_error_last()->message);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_mutex_init(&a.lock, NULL);
	a.passphrase = pass;

	rc = crypto_init();
	if (!rc)
		rc = fetch_init();
	if (!rc && opts_get(o, "passphrase-file"))
		rc = cli_read_passphrase(pass, sizeof(pass), opts_get(o, "passphrase-file"));
	if (!rc && opts_get(o, "pin-file"))
		rc = cli_read_passphrase(pass, sizeof(pass), opts_get(o, "pin-file"));
	if (!rc && opts_get(o, "pkcs11-module"))
		rc = pkcs11_new(&a.token, opts_get(o, "pkcs11-module"));
	/* the card must be readable at start */
	if (!rc)
		rc = a.token ? token_insert(&a, &w) : card_insert(&a, &w);
	if (rc)
		goto out;
	so.addr = addr;
	so.port = port;
	so.threads = 2;
	so.max_body = BODY_MAX;
	so.timeout_s = 10;
	so.handler = handle;
	so.ctx = &a;
	rc = http_server_start(&srv, &so);
	if (rc)
		goto out;
	printf(strchr(addr, ':') ? "careid agent listening on http://[%s]:%u\n"
	                         : "careid agent listening on http://%s:%u\n",
	       addr, http_server_port(srv));
	fflush(stdout);
	log_pack(LOG_INFO, "listening", "{s:s, s:i}", "addr", addr, "port", http_server_port(srv));
	for (;;) {
		sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (a.token)
			token_check(&a, &w);
		else
			card_check(&a, &w);
	}
	log_pack(LOG_INFO, "stopping", "{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
out:
	http_server_stop(srv, 2);
	x509_card_free(a.card);
	x509_cert_free(a.token_cert);
	pkcs11_free(a.token);
	free(a.cert_b64);
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(a.removals, sizeof(a.removals));
	pthread_mutex_destroy(&a.lock);
	if (rc) {
		log_error_last("agent_failed", NULL);
		return cli_fail();
	}
	log_pack(LOG_INFO, "stopped", "{}");
	return 0;
}

#define CONTINUE CLI_CONTINUE

/* One card: a file or a token, with the options that go with it. CONTINUE or an exit status. */
static int check_source(const opts *o)
{
	const char *card = opts_get(o, "card"), *module = opts_get(o, "pkcs11-module");

	if (!card == !module)
		return cli_usage("agent", card ? "give --card or --pkcs11-module, not both"
		                               : "--card (or --pkcs11-module) is required");
	if ((card && !*card) || (module && !*module))
		return cli_usage("agent", "--%s is empty", card ? "card" : "pkcs11-module");
	if (module && (!opts_get(o, "token-label") || !opts_get(o, "pin-file")))
		return cli_usage("agent", "--pkcs11-module needs --token-label and --pin-file");
	if (card && (opts_get(o, "token-label") || opts_get(o, "pin-file")))
		return cli_usage("agent", "--token-label and --pin-file go with --pkcs11-module");
	if (module && opts_get(o, "passphrase-file"))
		return cli_usage("agent", "--passphrase-file is for a card file (--card); a token "
		                          "has a PIN (--pin-file)");
	return CONTINUE;
}

int cmd_agent(int argc, char **argv)
{
	opts *o = NULL;
	int rc;

	if (opts_parse(&o, spec, argc, argv))
		return cli_usage("agent", "%s", careid_error_last()->message);
	if (opts_flag(o, "help")) {
		cli_help(
		    "agent (--card FILE.p12 [--passphrase-file F] | --pkcs11-module PATH "
		    "--token-label LABEL --pin-file F) [--listen 127.0.0.1:PORT] "
		    "[--allow-origin ORIGIN]...",
		    "The identity agent: holds a smartcard issued by 'careid card issue' (a file,\n"
		    "or a key and certificate on a PKCS#11 token, which signs) and answers careid\n"
		    "sign-in pages on the loopback interface.\n"
		    "  GET  /status  {card: present|removed, uid, subject, not_after, serial}\n"
		    "  POST /sign    {challenge, origin, issuer} -> {certificate, signature, alg,\n"
		    "                removal_token}; only for the requesting page's own origin\n"
		    "Pages of http://localhost:*, http://127.0.0.1:* and http://[::1]:* may use\n"
		    "it, and those named by --allow-origin. Deleting the card file, or the token\n"
		    "leaving its slot, removes the card (checked every 250 ms, or at once on\n"
		    "SIGUSR1): the agent then POSTs removal_token=TOKEN to\n"
		    "ISSUER/smartcard/removed for each answer it gave.\n"
		    "The first line on standard output is 'careid agent listening on URL'; logs\n"
		    "are JSON lines on standard error. SIGTERM or SIGINT stops it.",
		    spec);
		opts_free(o);
		return 0;
	}
	if (opts_npos(o))
		rc = cli_usage("agent", "unexpected argument '%s'", opts_pos(o, 0));
	else
		rc = check_source(o);
	if (rc == CONTINUE)
		rc = run(o);
	opts_free(o);
	return rc;
}
