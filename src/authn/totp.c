/* Authenticator apps (TOTP): see totp.h. */
#include "authn/totp.h"

#include <jansson.h>
#include <liboath/oath.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authn/assurance.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#define TOTP_B32_MIN  26  /* 128 bits, the least RFC 4226 allows */
#define TOTP_B32_MAX  128 /* 80 bytes */
#define TOTP_WINDOW   1   /* steps either side of now */
#define TOTP_ID_BYTES 16
#define TOTP_URI_MAX  2048

static bool totp_b32_ok(const char *b32)
{
	size_t n = 0;

	if (!b32)
		return false;
	for (; b32[n]; n++) {
		char c = b32[n];

		if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) || n >= TOTP_B32_MAX)
			return false;
	}
	return n >= TOTP_B32_MIN;
}

/* The secret's bytes into `*out` (free with totp_key_free). */
static int totp_key(char **out, size_t *len_out, const char *b32)
{
	int rc;

	if (!totp_b32_ok(b32))
		return careid_error_set(CAREID_EINVALID, "the secret is not base32");
	if (oath_init() != OATH_OK)
		return careid_error_set(CAREID_ECRYPTO, "liboath failed to initialise");
	rc = oath_base32_decode(b32, strlen(b32), out, len_out);
	if (rc == OATH_MALLOC_ERROR)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (rc != OATH_OK || *len_out == 0) {
		free(*out);
		*out = NULL;
		return careid_error_set(CAREID_EINVALID, "the secret is not base32: %s",
		                        oath_strerror_name(rc));
	}
	return 0;
}

static void totp_key_free(char *key, size_t len)
{
	if (key)
		explicit_bzero(key, len);
	free(key);
}

/* Copies the digits of `code` into out[7], ignoring spaces. */
static int totp_code_parse(char out[TOTP_DIGITS + 1], const char *code)
{
	size_t n = 0;

	for (const char *p = code ? code : ""; *p; p++) {
		if (*p == ' ')
			continue;
		if (*p < '0' || *p > '9' || n == TOTP_DIGITS)
			return careid_error_set(CAREID_EINVALID, "enter the 6-digit code");
		out[n++] = *p;
	}
	if (n != TOTP_DIGITS)
		return careid_error_set(CAREID_EINVALID, "enter the 6-digit code");
	out[n] = '\0';
	return 0;
}

int totp_secret_new(char **b32_out)
{
	uint8_t raw[TOTP_SECRET_LEN];
	char *b32 = NULL;
	size_t len = 0;
	int rc;

	*b32_out = NULL;
	if (oath_init() != OATH_OK)
		return careid_error_set(CAREID_ECRYPTO, "liboath failed to initialise");
	crypto_random_bytes(raw, sizeof(raw));
	rc = oath_base32_encode((const char *)raw, sizeof(raw), &b32, &len);
	explicit_bzero(raw, sizeof(raw));
	if (rc != OATH_OK)
		return careid_error_set(CAREID_ENOMEM, "base32: %s", oath_strerror_name(rc));
	/* 20 bytes are exactly 32 characters: never padded, but be sure. */
	while (len > 0 && b32[len - 1] == '=')
		b32[--len] = '\0';
	*b32_out = b32;
	return 0;
}

static bool totp_label_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= TOTP_LABEL_MAX && !strchr(s, ':');
}

CAREID_MUST_USE static int totp_put_encoded(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int rc = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
		unsigned char c = *p;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			rc = buf_putc(b, (char)c);
		else
			rc = buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
	return rc;
}

int totp_uri(char **out, const char *issuer_label, const char *account, const char *b32)
{
	struct buf b;
	int rc;

	*out = NULL;
	if (!totp_label_ok(issuer_label) || !totp_label_ok(account))
		return careid_error_set(CAREID_EINVALID,
		                        "the issuer and account must be 1 to %d bytes, without ':'",
		                        TOTP_LABEL_MAX);
	if (!totp_b32_ok(b32))
		return careid_error_set(CAREID_EINVALID, "the secret is not base32");
	buf_init(&b, TOTP_URI_MAX);
	if ((rc = buf_puts(&b, "otpauth://totp/")) < 0 ||
	    (rc = totp_put_encoded(&b, issuer_label)) < 0 || (rc = buf_putc(&b, ':')) < 0 ||
	    (rc = totp_put_encoded(&b, account)) < 0 ||
	    (rc = buf_printf(&b, "?secret=%s&issuer=", b32)) < 0 ||
	    (rc = totp_put_encoded(&b, issuer_label)) < 0 ||
	    (rc = buf_printf(&b, "&algorithm=SHA1&digits=%d&period=%d", TOTP_DIGITS, TOTP_PERIOD)) <
	        0)
		goto out;
	*out = buf_detach(&b, NULL);
out:
	buf_release(&b);
	return rc;
}

int totp_code(char out[TOTP_DIGITS + 1], const char *b32, int64_t now)
{
	char *key = NULL;
	size_t len = 0;
	int rc;

	out[0] = '\0';
	if (now < 0)
		return careid_error_set(CAREID_EINVALID, "time before 1970");
	rc = totp_key(&key, &len, b32);
	if (rc < 0)
		return rc;
	rc = oath_totp_generate(key, len, (time_t)now, TOTP_PERIOD, OATH_TOTP_DEFAULT_START_TIME,
	                        TOTP_DIGITS, out);
	if (rc != OATH_OK) {
		out[0] = '\0';
		rc = careid_error_set(CAREID_ECRYPTO, "TOTP: %s", oath_strerror_name(rc));
	}
	totp_key_free(key, len);
	return rc;
}

/* liboath's comparison: 0 on a match, in constant time. */
static int totp_cmp(void *handle, const char *test_otp)
{
	return crypto_equal(handle, test_otp, TOTP_DIGITS) ? 0 : 1;
}

int totp_check(int64_t *step_out, const char *b32, const char *code, int64_t now)
{
	char digits[TOTP_DIGITS + 1], *key = NULL;
	uint64_t counter = 0;
	size_t len = 0;
	int pos = 0, rc;

	if (step_out)
		*step_out = 0;
	if ((rc = totp_code_parse(digits, code)) < 0)
		return rc;
	if (now < 0)
		return careid_error_set(CAREID_EINVALID, "time before 1970");
	if ((rc = totp_key(&key, &len, b32)) < 0)
		return rc;
	/* The callback form takes the digit count from us, not from strlen(). */
	rc = oath_totp_validate3_callback(key, len, (time_t)now, TOTP_PERIOD,
	                                  OATH_TOTP_DEFAULT_START_TIME, TOTP_DIGITS, TOTP_WINDOW,
	                                  &pos, &counter, totp_cmp, digits);
	totp_key_free(key, len);
	explicit_bzero(digits, sizeof(digits));
	if (rc == OATH_INVALID_OTP)
		return careid_error_set(CAREID_EDENIED, "the code is not correct");
	if (rc < 0)
		return careid_error_set(CAREID_ECRYPTO, "TOTP: %s", oath_strerror_name(rc));
	if (step_out)
		*step_out = (int64_t)counter;
	return 0;
}

int totp_enrol(char **id_out, store *s, const uint8_t seal_key[32], const char *env,
               const char *uid, const char *name, const char *b32, int64_t step)
{
	static const char sql[] =
	    "INSERT INTO authenticators (env, id, uid, kind, method, name, data, counter, "
	    "created_at) VALUES ($1, $2, $3, 'totp', $4, $5, $6, $7, $8)";
	char id[TOTP_ID_BYTES * 4 / 3 + 4], *sealed = NULL, *data = NULL;
	size_t name_len = name ? strlen(name) : 0;
	json_t *obj = NULL;
	int rc;

	if (id_out)
		*id_out = NULL;
	if (name_len == 0 || name_len > TOTP_NAME_MAX)
		return careid_error_set(CAREID_EINVALID, "the name must be 1 to %d bytes",
		                        TOTP_NAME_MAX);
	if (!totp_b32_ok(b32))
		return careid_error_set(CAREID_EINVALID, "the secret is not base32");
	if (step < 0)
		return careid_error_set(CAREID_EINVALID, "negative time step");
	if ((rc = crypto_random_token(id, sizeof(id), TOTP_ID_BYTES)) < 0)
		return rc;
	if ((rc = crypto_seal(&sealed, seal_key, b32)) < 0)
		return rc;
	obj = json_pack("{s:s}", "secret", sealed);
	data = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	if (!data) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_exec(s, sql, "tttittii", env, id, uid, (int64_t)AUTHN_TOTP, name, data, step,
	                clock_now());
	if (rc < 0)
		goto out;
	rc = 0;
	if (id_out && !(*id_out = strdup(id)))
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	json_decref(obj);
	free(data);
	free(sealed);
	return rc;
}

struct totp_row {
	char *id;
	char *data;
};

static void totp_rows_free(struct totp_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rows[i].id);
		free(rows[i].data);
	}
	free(rows);
}

/* The user's unrevoked TOTP authenticators, read in full so that the cursor
 * is given back before anything is written. */
static int totp_rows_load(struct totp_row **out, size_t *n_out, store *s, const char *env,
                          const char *uid)
{
	static const char sql[] =
	    "SELECT id, data FROM authenticators WHERE env = $1 AND uid = $2 "
	    "AND kind = 'totp' AND revoked_at IS NULL ORDER BY created_at, id";
	struct totp_row *rows = NULL, *grown;
	size_t n = 0, cap = 0;
	store_stmt *st = NULL;
	int rc;

	*out = NULL;
	*n_out = 0;
	if ((rc = store_query(s, &st, sql, "tt", env, uid)) < 0)
		goto out;
	while ((rc = store_next(st)) == 1) {
		const char *id = store_text(st, 0), *data = store_text(st, 1);

		if (n == cap) {
			cap = cap ? 2 * cap : 4;
			if (!(grown = realloc(rows, cap * sizeof(*rows)))) {
				rc = careid_error_set(CAREID_ENOMEM, "out of memory");
				goto out;
			}
			rows = grown;
		}
		rows[n].id = strdup(id ? id : "");
		rows[n].data = strdup(data ? data : "");
		n++;
		if (!rows[n - 1].id || !rows[n - 1].data) {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			goto out;
		}
	}
out:
	store_done(st);
	if (rc < 0) {
		totp_rows_free(rows, n);
		return rc;
	}
	*out = rows;
	*n_out = n;
	return 0;
}

/* Opens the secret of a stored authenticator into `*b32_out`. */
static int totp_row_secret(char **b32_out, const uint8_t seal_key[32], const struct totp_row *r)
{
	json_t *obj = json_loads(r->data, 0, NULL);
	const char *sealed = json_string_value(json_object_get(obj, "secret"));
	int rc;

	if (!sealed)
		rc = careid_error_set(CAREID_ECRYPTO, "authenticator %s has no secret", r->id);
	else
		rc = crypto_open(b32_out, seal_key, sealed);
	json_decref(obj);
	return rc;
}

/* The most consecutive wrong codes any of the user's apps has seen. */
static int totp_failures(store *s, const char *env, const char *uid)
{
	static const char sql[] = "SELECT MAX(failures) FROM authenticators WHERE env = $1 AND "
	                          "uid = $2 AND kind = 'totp' AND revoked_at IS NULL";
	store_stmt *st = NULL;
	int rc = store_query(s, &st, sql, "tt", env, uid);

	if (rc >= 0)
		rc = store_next(st);
	if (rc == 1)
		rc = store_null(st, 0) ? 0 : (int)store_int(st, 0);
	store_done(st);
	return rc;
}

/* A wrong code counts against every app of the user; a right one clears them. */
static int totp_failures_set(store *s, const char *env, const char *uid, bool failed)
{
	static const char sql_add[] = "UPDATE authenticators SET failures = failures + 1 WHERE "
	                              "env = $1 AND uid = $2 AND kind = 'totp' AND "
	                              "revoked_at IS NULL";
	static const char sql_clear[] = "UPDATE authenticators SET failures = 0 WHERE env = $1 AND "
	                                "uid = $2 AND kind = 'totp' AND failures > 0";
	int rc = store_exec(s, failed ? sql_add : sql_clear, "tt", env, uid);

	return rc < 0 ? rc : 0;
}

int totp_verify(char **id_out, store *s, const uint8_t seal_key[32], const char *env,
                const char *uid, const char *code, int64_t now)
{
	static const char sql[] = "UPDATE authenticators SET counter = $1, last_used_at = $2 "
	                          "WHERE env = $3 AND id = $4 AND counter < $5";
	char digits[TOTP_DIGITS + 1], why[sizeof(careid_error_last()->message)] = "";
	struct totp_row *rows = NULL;
	size_t n = 0, i;
	bool used = false;
	int rc, fault = 0;

	if (id_out)
		*id_out = NULL;
	if ((rc = totp_code_parse(digits, code)) < 0)
		return rc;
	explicit_bzero(digits, sizeof(digits));
	if ((rc = totp_rows_load(&rows, &n, s, env, uid)) < 0)
		return rc;
	if (n == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND, "no authenticator app is set up");
		goto out;
	}
	if ((rc = totp_failures(s, env, uid)) < 0)
		goto out;
	if (rc >= TOTP_MAX_FAILURES) {
		rc = careid_error_set(
		    CAREID_ELOCKED, "the authenticator app is locked after %d wrong codes in a row",
		    TOTP_MAX_FAILURES);
		goto out;
	}
	/* Every app is tried: a code that matches one already used may still be
	 * the fresh code of another (rarely, but it must then work). */
	for (i = 0; i < n; i++) {
		char *b32 = NULL;
		int64_t step = 0;

		rc = totp_row_secret(&b32, seal_key, &rows[i]);
		if (rc == 0) {
			rc = totp_check(&step, b32, code, now);
			explicit_bzero(b32, strlen(b32));
			free(b32);
		}
		if (rc == CAREID_EDENIED)
			continue;
		if (rc < 0) {
			if (!fault) {
				/* The code was checked above: the stored row is at fault. */
				fault = rc == CAREID_ENOMEM ? rc : CAREID_ECRYPTO;
				snprintf(why, sizeof(why), "%s", careid_error_last()->message);
			}
			continue;
		}
		rc = store_exec(s, sql, "iitti", step, now, env, rows[i].id, step);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			used = true;
			continue;
		}
		if ((rc = totp_failures_set(s, env, uid, false)) < 0)
			goto out;
		if (id_out && !(*id_out = strdup(rows[i].id))) {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			goto out;
		}
		rc = 0;
		goto out;
	}
	if (used)
		rc = careid_error_set(CAREID_EUSED,
		                      "this code has already been used; wait for the next one");
	else if (fault)
		rc = careid_error_set(fault, "%s", why);
	else if ((rc = totp_failures_set(s, env, uid, true)) >= 0)
		rc = careid_error_set(CAREID_EDENIED, "the code is not correct");
out:
	totp_rows_free(rows, n);
	return rc;
}
