#include "authn/smartcard.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "authn/assurance.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "oidc/clients.h"

#define SIG_B64_MAX ((X509_SIG_MAX * 4) / 3 + 4)

static const char SQL_CA_GET[] =
    "SELECT certificate, private_key, crl, crl_number FROM card_authorities WHERE env = $1";
static const char SQL_CA_PUT[] =
    "INSERT INTO card_authorities (env, certificate, private_key, crl, crl_number, created_at) "
    "VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (env) DO NOTHING";
static const char SQL_CRL_SET[] =
    "UPDATE card_authorities SET crl = $1, crl_number = $2 WHERE env = $3";
static const char SQL_CARD_ADD[] =
    "INSERT INTO authenticators (env, id, uid, kind, method, name, credential_id, data, "
    "created_at) VALUES ($1, $2, $3, 'smartcard', $4, $5, $6, $7, $8)";
static const char SQL_UNREVOKED_SERIAL[] =
    "SELECT credential_id FROM authenticators WHERE env = $1 AND kind = 'smartcard' "
    "AND credential_id = $2 AND revoked_at IS NULL";
static const char SQL_UNREVOKED_UID[] =
    "SELECT credential_id FROM authenticators WHERE env = $1 AND kind = 'smartcard' "
    "AND uid = $2 AND revoked_at IS NULL ORDER BY credential_id";
static const char SQL_REVOKE[] =
    "UPDATE authenticators SET revoked_at = $1 WHERE env = $2 AND kind = 'smartcard' "
    "AND credential_id = $3 AND revoked_at IS NULL";
static const char SQL_REVOKED_ALL[] =
    "SELECT credential_id, revoked_at, data FROM authenticators WHERE env = $1 "
    "AND kind = 'smartcard' AND revoked_at IS NOT NULL ORDER BY revoked_at, credential_id";
static const char SQL_BY_SERIAL[] =
    "SELECT id, uid, revoked_at FROM authenticators WHERE env = $1 AND kind = 'smartcard' "
    "AND credential_id = $2";
static const char SQL_TOUCH[] =
    "UPDATE authenticators SET last_used_at = $1 WHERE env = $2 AND id = $3";
static const char SQL_LIST[] =
    "SELECT id, uid, credential_id, name, data, created_at, last_used_at, revoked_at "
    "FROM authenticators WHERE env = $1 AND kind = 'smartcard' ORDER BY created_at DESC, id";
static const char SQL_LIST_UID[] =
    "SELECT id, uid, credential_id, name, data, created_at, last_used_at, revoked_at "
    "FROM authenticators WHERE env = $1 AND kind = 'smartcard' AND uid = $2 "
    "ORDER BY created_at DESC, id";

#define MSG_FOREIGN "the smartcard was not issued by this environment's certificate authority"

/* An environment's CA as stored; `key` is the opened private key (or NULL). */
struct ca {
	char *cert;
	char *key;
	char *crl;
	int64_t crl_number;
};

static void ca_release(struct ca *ca)
{
	free(ca->cert);
	if (ca->key) {
		explicit_bzero(ca->key, strlen(ca->key));
		free(ca->key);
	}
	free(ca->crl);
	memset(ca, 0, sizeof(*ca));
}

static int check_env(const char *env)
{
	if (!env || !env_valid(env))
		return careid_error_set(CAREID_EINVALID, "unknown environment '%.32s'",
		                        env ? env : "(none)");
	return 0;
}

static bool is_b64url(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

int smartcard_signed_text(struct buf *out, const char *origin, const char *challenge)
{
	size_t on = origin ? strnlen(origin, SMARTCARD_ORIGIN_MAX + 1) : 0;
	size_t cn = challenge ? strnlen(challenge, SMARTCARD_CHALLENGE_MAX + 1) : 0;
	int rc;

	if (on == 0 || on > SMARTCARD_ORIGIN_MAX)
		return careid_error_set(CAREID_EINVALID, "the origin must be 1 to %d characters",
		                        SMARTCARD_ORIGIN_MAX);
	for (size_t i = 0; i < on; i++)
		if (origin[i] <= 0x20 || origin[i] >= 0x7f)
			return careid_error_set(CAREID_EINVALID, "bad character in the origin");
	if (cn < SMARTCARD_CHALLENGE_MIN || cn > SMARTCARD_CHALLENGE_MAX ||
	    !is_b64url(challenge, cn))
		return careid_error_set(CAREID_EINVALID,
		                        "the challenge must be %d to %d base64url characters",
		                        SMARTCARD_CHALLENGE_MIN, SMARTCARD_CHALLENGE_MAX);
	rc = buf_puts(out, SMARTCARD_SIGNED_PREFIX);
	if (!rc)
		rc = buf_puts(out, origin);
	if (!rc)
		rc = buf_putc(out, '\n');
	if (!rc)
		rc = buf_puts(out, challenge);
	return rc;
}

static char *dup_text(store_stmt *st, int col)
{
	const char *v = store_text(st, col);

	return strdup(v ? v : "");
}

/* Reads env's CA; with `sec`, opens its private key too. ENOTFOUND when none. */
static int ca_load(struct ca *ca, store *s, const struct secrets *sec, const char *env)
{
	store_stmt *st = NULL;
	char *sealed = NULL;
	int rc;

	memset(ca, 0, sizeof(*ca));
	rc = store_query(s, &st, SQL_CA_GET, "t", env);
	if (!rc)
		rc = store_next(st);
	if (rc == 0) {
		store_done(st);
		return careid_error_set(CAREID_ENOTFOUND, "%s has no smartcard CA yet", env);
	}
	if (rc < 0) {
		store_done(st);
		return rc;
	}
	ca->cert = dup_text(st, 0);
	sealed = sec ? dup_text(st, 1) : NULL;
	ca->crl = dup_text(st, 2);
	ca->crl_number = store_int(st, 3);
	store_done(st);
	rc = 0;
	if (!ca->cert || !ca->crl || (sec && !sealed))
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	if (!rc && sec && crypto_open(&ca->key, sec->seal_key, sealed))
		rc = careid_error_set(CAREID_ECRYPTO,
		                      "cannot open %s's smartcard CA key (another seal key?)", env);
	free(sealed);
	if (rc)
		ca_release(ca);
	return rc;
}

/* Creates env's CA and offers it to the store; a CA stored first wins. */
static int ca_create(store *s, const struct secrets *sec, const char *env)
{
	char *cert = NULL, *key = NULL, *sealed = NULL, *crl = NULL;
	int64_t now = clock_now();
	int rc;

	rc = x509_ca_create(&cert, &key, env, now);
	if (!rc)
		rc = crypto_seal(&sealed, sec->seal_key, key);
	if (!rc)
		rc = x509_crl_create(&crl, cert, key, 1, NULL, NULL, 0, now);
	if (!rc) {
		rc = store_exec(s, SQL_CA_PUT, "tttti", env, cert, sealed, crl, (int64_t)now);
		rc = rc < 0 ? rc : 0;
	}
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	free(cert);
	free(sealed);
	free(crl);
	return rc;
}

int smartcard_ca_ensure(char **cert_pem, store *s, const struct secrets *sec, const char *env)
{
	struct ca ca;
	int rc;

	if (cert_pem)
		*cert_pem = NULL;
	rc = check_env(env);
	if (rc)
		return rc;
	rc = ca_load(&ca, s, NULL, env);
	if (rc == CAREID_ENOTFOUND) {
		rc = ca_create(s, sec, env);
		if (!rc)
			rc = ca_load(&ca, s, NULL, env);
	}
	if (rc)
		return rc;
	if (cert_pem) {
		*cert_pem = ca.cert;
		ca.cert = NULL;
	}
	ca_release(&ca);
	return 0;
}

static int card_data(char **out, const struct x509_info *info)
{
	json_t *d = json_pack("{s:s, s:s, s:I}", "fingerprint", info->fingerprint, "subject",
	                      info->subject, "not_after", (json_int_t)info->not_after);

	*out = d ? json_dumps(d, JSON_COMPACT) : NULL;
	json_decref(d);
	return *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

/* A card with a new key in a PKCS#12 file (`key` NULL), or certifying `key`. */
static int issue(struct smartcard_issued *out, store *s, const struct secrets *sec,
                 const struct smartcard_new *n, const struct x509_rsa_public *key)
{
	struct dir_user *u = NULL;
	struct x509_card_new req;
	struct ca ca = {0};
	char name[32], *data = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_env(n->env);
	if (rc)
		return rc;
	if (n->not_after <= n->not_before)
		return careid_error_set(CAREID_EINVALID,
		                        "the card must be valid until after it is valid from");
	if (n->not_after - n->not_before > SMARTCARD_VALIDITY_MAX_S)
		return careid_error_set(CAREID_EINVALID,
		                        "a card may be valid for 10 years at most");
	rc = directory_user_get(&u, s, n->env, n->uid);
	if (!rc)
		rc = smartcard_ca_ensure(NULL, s, sec, n->env);
	if (!rc)
		rc = ca_load(&ca, s, sec, n->env);
	if (rc)
		goto out;
	req = (struct x509_card_new){
	    .env = n->env,
	    .display_name = u->display_name,
	    .uid = u->uid,
	    .not_before = n->not_before,
	    .not_after = n->not_after,
	    .passphrase = n->passphrase ? n->passphrase : "",
	};
	if (key)
		rc = x509_card_certify(&out->cert_der, &out->cert_der_len, &out->cert, ca.cert,
		                       ca.key, &req, key);
	else
		rc = x509_card_issue(&out->p12, &out->p12_len, &out->cert, ca.cert, ca.key, &req);
	if (!rc)
		rc = crypto_random_token(out->id, sizeof(out->id), 16);
	if (!rc)
		rc = card_data(&data, &out->cert);
	if (rc)
		goto out;
	snprintf(name, sizeof(name), "Smartcard %.8s", out->cert.serial);
	rc = store_exec(s, SQL_CARD_ADD, "tttittti", n->env, out->id, u->uid,
	                (int64_t)AUTHN_SMARTCARD, name, out->cert.serial, data, clock_now());
	rc = rc < 0 ? rc : 0;
out:
	if (rc)
		smartcard_issued_release(out);
	free(data);
	ca_release(&ca);
	dir_user_free(u);
	return rc;
}

int smartcard_issue(struct smartcard_issued *out, store *s, const struct secrets *sec,
                    const struct smartcard_new *n)
{
	return issue(out, s, sec, n, NULL);
}

int smartcard_issue_key(struct smartcard_issued *out, store *s, const struct secrets *sec,
                        const struct smartcard_new *n, const struct x509_rsa_public *key)
{
	if (!key) {
		memset(out, 0, sizeof(*out));
		return careid_error_set(CAREID_EINVALID, "no key to certify");
	}
	return issue(out, s, sec, n, key);
}

void smartcard_issued_release(struct smartcard_issued *c)
{
	if (c->p12) {
		explicit_bzero(c->p12, c->p12_len);
		free(c->p12);
	}
	c->p12 = NULL;
	c->p12_len = 0;
	free(c->cert_der);
	c->cert_der = NULL;
	c->cert_der_len = 0;
}

/* Appends column 0 of every row to the JSON array `out`. */
static int collect(json_t *out, store_stmt *st)
{
	int rc;

	while ((rc = store_next(st)) == 1)
		if (json_array_append_new(out, json_string(store_text(st, 0))))
			return careid_error_set(CAREID_ENOMEM, "out of memory");
	return rc;
}

/* The not_after of a card's data JSON, or 0 when it has none. */
static int64_t data_not_after(const char *data)
{
	json_t *d = data ? json_loads(data, 0, NULL) : NULL;
	int64_t v = (int64_t)json_integer_value(json_object_get(d, "not_after"));

	json_decref(d);
	return v;
}

/* Signs env's new CRL: every revoked card that has not expired yet. */
static int crl_reissue(store *s, const char *env, const struct ca *ca, int64_t now)
{
	const char **serials = NULL;
	int64_t *when = NULL;
	size_t n = 0, cap = 0;
	store_stmt *st = NULL;
	char *crl = NULL;
	int rc;

	rc = store_query(s, &st, SQL_REVOKED_ALL, "t", env);
	while (!rc && (rc = store_next(st)) == 1) {
		int64_t not_after = data_not_after(store_text(st, 2));

		rc = 0;
		if (not_after && not_after < now)
			continue; /* expired: refused without the CRL */
		if (n == X509_CRL_MAX_SERIAL) {
			rc = careid_error_set(CAREID_ETOOBIG, "over %d revoked smartcards in %s",
			                      X509_CRL_MAX_SERIAL, env);
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			const char **ns = realloc(serials, ncap * sizeof(*ns));
			int64_t *nw = ns ? realloc(when, ncap * sizeof(*nw)) : NULL;

			if (ns)
				serials = ns;
			if (nw)
				when = nw;
			if (!ns || !nw) {
				rc = careid_error_set(CAREID_ENOMEM, "out of memory");
				break;
			}
			cap = ncap;
		}
		serials[n] = strdup(store_text(st, 0) ? store_text(st, 0) : "");
		when[n] = store_int(st, 1);
		if (!serials[n]) {
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			break;
		}
		n++;
	}
	store_done(st);
	if (!rc)
		rc = x509_crl_create(&crl, ca->cert, ca->key, ca->crl_number + 1, serials, when, n,
		                     now);
	if (!rc) {
		rc = store_exec(s, SQL_CRL_SET, "tit", crl, ca->crl_number + 1, env);
		rc = rc == 1 ? 0 : rc < 0 ? rc : careid_error_set(CAREID_ESTORE, "no CA row");
	}
	for (size_t i = 0; i < n; i++)
		free((char *)serials[i]);
	free(serials);
	free(when);
	free(crl);
	return rc;
}

/* Revokes what `sql` (env, key) selects, in one transaction with the CRL. */
static int revoke(json_t **revoked, store *s, const struct secrets *sec, const char *env,
                  const char *sql, const char *key, const char *what)
{
	json_t *list = json_array();
	store_stmt *st = NULL;
	struct ca ca = {0};
	int64_t now = clock_now();
	size_t i;
	json_t *v;
	int rc;

	if (revoked)
		*revoked = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_begin(s);
	if (rc) {
		json_decref(list);
		return rc;
	}
	rc = ca_load(&ca, s, sec, env);
	if (rc == CAREID_ENOTFOUND)
		rc = careid_error_set(CAREID_ENOTFOUND, "no unrevoked smartcard %s in %s", what,
		                      env);
	if (!rc)
		rc = store_query(s, &st, sql, "tt", env, key);
	if (!rc)
		rc = collect(list, st);
	store_done(st);
	if (!rc && json_array_size(list) == 0)
		rc = careid_error_set(CAREID_ENOTFOUND, "no unrevoked smartcard %s in %s", what,
		                      env);
	json_array_foreach(list, i, v)
	{
		if (rc)
			break;
		rc = store_exec(s, SQL_REVOKE, "itt", now, env, json_string_value(v));
		rc = rc < 0 ? rc : 0;
	}
	if (!rc)
		rc = crl_reissue(s, env, &ca, now);
	if (!rc)
		rc = store_commit(s);
	if (rc)
		store_rollback(s); /* a no-op when SQLite already rolled back */
	ca_release(&ca);
	if (!rc && revoked)
		*revoked = json_incref(list);
	json_decref(list);
	return rc;
}

int smartcard_revoke(json_t **revoked, store *s, const struct secrets *sec, const char *env,
                     const char *serial)
{
	char hex[X509_SERIAL_HEX], what[X509_SERIAL_HEX + 16];
	size_t n;
	int rc = check_env(env);

	if (rc)
		return rc;
	if (serial && (strncmp(serial, "0x", 2) == 0 || strncmp(serial, "0X", 2) == 0))
		serial += 2;
	n = serial ? strnlen(serial, sizeof(hex)) : 0;
	if (n == 0 || n >= sizeof(hex) || strspn(serial, "0123456789abcdefABCDEF") != n)
		return careid_error_set(CAREID_EINVALID, "a serial is 1 to %d hex digits",
		                        X509_SERIAL_HEX - 1);
	for (size_t i = 0; i <= n; i++)
		hex[i] = (char)tolower((unsigned char)serial[i]);
	snprintf(what, sizeof(what), "with serial %s", hex);
	return revoke(revoked, s, sec, env, SQL_UNREVOKED_SERIAL, hex, what);
}

int smartcard_revoke_user(json_t **revoked, store *s, const struct secrets *sec, const char *env,
                          const char *uid)
{
	char what[64];
	int rc = check_env(env);

	if (rc)
		return rc;
	if (!uid || strlen(uid) != 12 || strspn(uid, "0123456789") != 12)
		return careid_error_set(CAREID_EINVALID, "uid must be 12 digits");
	snprintf(what, sizeof(what), "of user %s", uid);
	return revoke(revoked, s, sec, env, SQL_UNREVOKED_UID, uid, what);
}

static json_t *time_or_null(store_stmt *st, int col)
{
	return store_null(st, col) ? json_null() : json_integer((json_int_t)store_int(st, col));
}

int smartcard_list(json_t **out, store *s, const char *env, const char *uid)
{
	json_t *list = json_array();
	store_stmt *st = NULL;
	int rc = check_env(env);

	*out = NULL;
	if (!rc && !list)
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	if (!rc)
		rc = uid ? store_query(s, &st, SQL_LIST_UID, "tt", env, uid)
		         : store_query(s, &st, SQL_LIST, "t", env);
	while (!rc && (rc = store_next(st)) == 1) {
		json_t *d = json_loads(store_text(st, 4) ? store_text(st, 4) : "{}", 0, NULL);
		json_t *card = json_pack(
		    "{s:s, s:s, s:s, s:s, s:O?, s:O?, s:O?, s:I, s:o, s:o}", "id",
		    store_text(st, 0), "uid", store_text(st, 1), "serial", store_text(st, 2),
		    "name", store_text(st, 3), "subject", json_object_get(d, "subject"),
		    "fingerprint", json_object_get(d, "fingerprint"), "not_after",
		    json_object_get(d, "not_after"), "created_at", (json_int_t)store_int(st, 5),
		    "last_used_at", time_or_null(st, 6), "revoked_at", time_or_null(st, 7));

		json_decref(d);
		rc = card && !json_array_append_new(list, card)
		         ? 0
		         : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* Decodes the agent's base64url signature. */
static int decode_sig(uint8_t *sig, size_t sigsz, size_t *sig_len, const char *b64)
{
	size_t n = b64 ? strnlen(b64, SIG_B64_MAX + 1) : 0;

	if (n == 0 || n > SIG_B64_MAX || crypto_b64url_decode(sig, sigsz, sig_len, b64, n) != 0 ||
	    *sig_len == 0)
		return careid_error_set(CAREID_EINVALID, "the signature is not base64url");
	return 0;
}

/* The card's authenticator: it must exist, be unrevoked and belong to `uid`. */
static int card_row(struct smartcard_identity *out, store *s, const char *env,
                    const struct x509_info *info)
{
	store_stmt *st = NULL;
	int rc = store_query(s, &st, SQL_BY_SERIAL, "tt", env, info->serial);

	if (!rc)
		rc = store_next(st);
	if (rc == 0)
		rc =
		    careid_error_set(CAREID_EDENIED, "this smartcard is not registered in %s", env);
	else if (rc == 1 && !store_null(st, 2))
		rc = careid_error_set(CAREID_EDENIED,
		                      "the smartcard's certificate has been revoked");
	else if (rc == 1 && (!store_text(st, 1) || strcmp(store_text(st, 1), info->uid) != 0))
		rc = careid_error_set(CAREID_EDENIED,
		                      "the smartcard's certificate names another user");
	else if (rc == 1 && strnlen(store_text(st, 0), sizeof(out->authenticator_id)) >=
	                        sizeof(out->authenticator_id))
		rc = careid_error_set(CAREID_ESTORE, "bad authenticator id");
	if (rc == 1) {
		snprintf(out->authenticator_id, sizeof(out->authenticator_id), "%s",
		         store_text(st, 0));
		snprintf(out->uid, sizeof(out->uid), "%s", info->uid);
		snprintf(out->serial, sizeof(out->serial), "%s", info->serial);
		rc = 0;
	}
	store_done(st);
	return rc;
}

int smartcard_verify(struct smartcard_identity *out, store *s, const struct smartcard_answer *a)
{
	uint8_t sig[X509_SIG_MAX];
	size_t sig_len = 0;
	x509_cert *cert = NULL;
	struct ca ca = {0};
	int rc;

	memset(out, 0, sizeof(*out));
	rc = check_env(a->env);
	if (rc)
		return rc;
	if (!a->certificate || !a->signed_text)
		return careid_error_set(CAREID_EINVALID, "no certificate or signed text");
	rc = decode_sig(sig, sizeof(sig), &sig_len, a->signature);
	if (!rc)
		rc = x509_cert_from_text(&cert, a->certificate,
		                         strnlen(a->certificate, X509_TEXT_MAX + 1));
	if (rc)
		goto out;
	rc = ca_load(&ca, s, NULL, a->env);
	if (rc == CAREID_ENOTFOUND)
		rc = careid_error_set(CAREID_EDENIED, MSG_FOREIGN);
	if (!rc)
		rc = x509_cert_verify(cert, ca.cert, ca.crl, a->now);
	if (!rc)
		rc = x509_cert_verify_signature(cert, a->alg ? a->alg : "RS256", sig, sig_len,
		                                a->signed_text, a->signed_len);
	if (!rc)
		rc = card_row(out, s, a->env, x509_cert_info(cert));
	if (!rc) {
		rc = store_exec(s, SQL_TOUCH, "itt", a->now, a->env, out->authenticator_id);
		rc = rc < 0 ? rc : 0;
	}
	if (rc)
		memset(out, 0, sizeof(*out));
out:
	x509_cert_free(cert);
	ca_release(&ca);
	return rc;
}
