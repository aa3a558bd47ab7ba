/* Signing keys per environment: kept in the store, generated on first start,
 * rotated by `careid keys rotate`, read by the worker threads through a
 * keyring of immutable snapshots (oidc_int.h). */
#include "oidc/keys.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/buf.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "oidc/clients.h"
#include "oidc/oidc_int.h"

_Static_assert(KEYS_RETIRED_PUBLISHED == ID_TOKEN_TTL + 300,
               "a retired key is published while what it signed may live");

/* How often a keyring asks the store whether its keys changed. */
#define KEYRING_CHECK_US 1000000
#define FINGERPRINT_MAX  (64 * 1024)

/* A snapshot; `pub` points into it. Freed when its last reference goes. */
struct keyset_impl {
	struct keyset pub;
	atomic_int refs;
	signing_key *signer;
	json_t *jwks;
	char *jwks_text;
	char *fingerprint; /* "kid retired_at\n" of each published key, as loaded */
};

struct keyring {
	store *store;
	const struct kek *kek;
	char *env;
	pthread_mutex_t lock; /* guards the three fields below */
	struct keyset_impl *current;
	int64_t checked_us; /* clock_mono_us() of the last look at the store */
	bool checking;      /* a thread is looking at the store */
};

static void keyset_free(struct keyset_impl *ks)
{
	if (!ks)
		return;
	signing_key_free(ks->signer);
	json_decref(ks->jwks);
	free(ks->jwks_text);
	free(ks->fingerprint);
	free(ks);
}

void keyset_release(const struct keyset *pub)
{
	struct keyset_impl *ks;

	if (!pub)
		return;
	ks = (struct keyset_impl *)((char *)pub - offsetof(struct keyset_impl, pub));
	if (atomic_fetch_sub(&ks->refs, 1) == 1)
		keyset_free(ks);
}

/* Keys that are published now: signing (not retired) or retired recently.
 * The keys not retired come first, newest first: the first of them signs. */
#define KEYS_ORDER                                                                                 \
	" ORDER BY (retired_at IS NULL) DESC, COALESCE(retired_at, created_at) DESC, "             \
	"created_at DESC, kid"
static const char sql_published[] =
    "SELECT kid, retired_at FROM signing_keys WHERE env = $1 AND active = 1 AND "
    "(retired_at IS NULL OR retired_at > $2)" KEYS_ORDER;
static const char sql_published_full[] =
    "SELECT kid, retired_at, private_jwk FROM signing_keys WHERE env = $1 AND active = 1 AND "
    "(retired_at IS NULL OR retired_at > $2)" KEYS_ORDER;

static int fingerprint_add(struct buf *b, store_stmt *st)
{
	return buf_printf(b, "%s %lld\n", store_text(st, 0),
	                  store_null(st, 1) ? -1LL : (long long)store_int(st, 1));
}

/* The fingerprint of the keys published now (malloc'd). */
static int fingerprint(char **out, store *s, const char *env, int64_t now)
{
	store_stmt *st = NULL;
	struct buf b;
	int rc;

	*out = NULL;
	buf_init(&b, FINGERPRINT_MAX);
	rc = store_query(s, &st, sql_published, "ti", env, now - KEYS_RETIRED_PUBLISHED);
	while (!rc && (rc = store_next(st)) == 1)
		rc = fingerprint_add(&b, st);
	if (!rc) {
		*out = strndup(b.ptr, b.len);
		rc = *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	buf_release(&b);
	return rc;
}

#define KEY_AD_MAX 512

/* The additional data that binds a sealed key to its row. */
static int key_ad(char ad[KEY_AD_MAX], const char *env, const char *kid)
{
	int n = snprintf(ad, KEY_AD_MAX, "careid-signing-key-v1|%s|%s", env, kid);

	return n > 0 && n < KEY_AD_MAX ? 0 : careid_error_set(CAREID_EINVALID, "key id too long");
}

/* A stored private key in the clear (plain, or sealed with a KEK given):
 * `*out` is wiped and freed by the caller with jwk_free(). */
static int key_open(char **out, const struct kek *kek, const char *env, const char *kid,
                    const char *stored)
{
	char ad[KEY_AD_MAX], what[KEY_AD_MAX];
	int rc = key_ad(ad, env, kid);

	*out = NULL;
	snprintf(what, sizeof(what), "signing key %s/%s", env, kid);
	return rc ? rc : kek_open(out, kek, ad, stored, what);
}

static void jwk_free(char *jwk)
{
	if (jwk) {
		explicit_bzero(jwk, strlen(jwk));
		free(jwk);
	}
}

/* Loads a snapshot of the keys published now. ENOTFOUND when none signs;
 * ELOCKED when a key is sealed with a KEK not given (a configuration error
 * that stops the environment, where a damaged row only drops that key). */
static int keyset_load(struct keyset_impl **out, store *s, const struct kek *kek, const char *env,
                       int64_t now)
{
	struct keyset_impl *ks = calloc(1, sizeof(*ks));
	store_stmt *st = NULL;
	json_t *keys = json_array();
	struct buf b;
	int rc;

	*out = NULL;
	buf_init(&b, FINGERPRINT_MAX);
	if (!ks || !keys) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_query(s, &st, sql_published_full, "ti", env, now - KEYS_RETIRED_PUBLISHED);
	while (!rc && (rc = store_next(st)) == 1) {
		signing_key *k = NULL;
		char *jwk = NULL;
		json_t *pub;

		rc = fingerprint_add(&b, st);
		if (rc)
			break;
		rc = key_open(&jwk, kek, env, store_text(st, 0), store_text(st, 2));
		if (rc == CAREID_ELOCKED || rc == CAREID_EUNSUPPORTED || rc == CAREID_ENOMEM)
			break;
		if (!rc)
			rc = signing_key_from_json(&k, jwk);
		jwk_free(jwk);
		if (rc) {
			rc = 0;
			/* a damaged row must not take the environment down */
			log_pack(LOG_ERROR, "signing_key_unreadable", "{s:s, s:s, s:s}", "env", env,
			         "kid", store_text(st, 0), "error", careid_error_last()->message);
			continue;
		}
		pub = signing_key_public_jwk(k, NULL);
		if (!pub || json_array_append_new(keys, pub)) {
			signing_key_free(k);
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
			break;
		}
		if (!ks->signer && store_null(st, 1))
			ks->signer = k; /* the newest key not retired */
		else
			signing_key_free(k);
	}
	if (rc)
		goto out;
	if (!ks->signer) {
		rc = careid_error_set(CAREID_ENOTFOUND, "no signing key for %s", env);
		goto out;
	}
	ks->jwks = json_pack("{s:o}", "keys", keys);
	keys = NULL;
	ks->jwks_text = ks->jwks ? json_dumps(ks->jwks, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	ks->fingerprint = strndup(b.ptr, b.len);
	if (!ks->jwks_text || !ks->fingerprint) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	ks->pub.signer = ks->signer;
	ks->pub.jwks = ks->jwks;
	ks->pub.jwks_text = ks->jwks_text;
	atomic_init(&ks->refs, 1);
	*out = ks;
	ks = NULL;
out:
	store_done(st);
	buf_release(&b);
	json_decref(keys);
	keyset_free(ks);
	return rc;
}

static int insert_key(store *s, const struct kek *kek, const char *env, const signing_key *k,
                      int64_t now)
{
	static const char sql[] = "INSERT INTO signing_keys (env, kid, private_jwk, created_at, "
	                          "active) VALUES ($1, $2, $3, $4, 1)";
	char *jwk = NULL, *stored = NULL, ad[KEY_AD_MAX];
	int rc = signing_key_to_json(k, &jwk);

	if (!rc)
		rc = key_ad(ad, env, signing_key_kid(k));
	if (!rc)
		rc = kek_wrap(&stored, kek, ad, jwk);
	if (!rc)
		rc = store_exec(s, sql, "ttti", env, signing_key_kid(k), stored, now);
	jwk_free(jwk);
	jwk_free(stored);
	return rc < 0 ? rc : 0;
}

static int generate(store *s, const struct kek *kek, const char *env)
{
	signing_key *k = NULL;
	int rc = signing_key_generate_rsa(&k);

	if (!rc)
		rc = insert_key(s, kek, env, k, clock_now());
	if (!rc)
		log_pack(LOG_INFO, "signing_key_generated", "{s:s, s:s}", "env", env, "kid",
		         signing_key_kid(k));
	signing_key_free(k);
	return rc;
}

/* The current snapshot, with a new reference. */
static struct keyset_impl *current_ref(keyring *kr)
{
	struct keyset_impl *ks;

	pthread_mutex_lock(&kr->lock);
	ks = kr->current;
	atomic_fetch_add(&ks->refs, 1);
	pthread_mutex_unlock(&kr->lock);
	return ks;
}

int keyring_refresh(keyring *kr)
{
	struct keyset_impl *cur = current_ref(kr), *fresh = NULL, *old = NULL;
	int64_t now = clock_now();
	char *fp = NULL;
	int rc;

	/* cheap first: only kids and retirement times */
	rc = fingerprint(&fp, kr->store, kr->env, now);
	if (!rc && strcmp(fp, cur->fingerprint) != 0)
		rc = keyset_load(&fresh, kr->store, kr->kek, kr->env, now);
	pthread_mutex_lock(&kr->lock);
	if (fresh) {
		old = kr->current;
		kr->current = fresh;
	}
	kr->checked_us = clock_mono_us();
	kr->checking = false;
	pthread_mutex_unlock(&kr->lock);
	if (fresh)
		log_pack(LOG_INFO, "signing_keys_loaded", "{s:s, s:s, s:i}", "env", kr->env, "kid",
		         signing_key_kid(fresh->signer), "published",
		         (int)json_array_size(json_object_get(fresh->jwks, "keys")));
	else if (rc)
		log_pack(LOG_WARN, "signing_keys_check_failed", "{s:s, s:s}", "env", kr->env,
		         "error", careid_error_last()->message);
	keyset_release(old ? &old->pub : NULL);
	keyset_release(&cur->pub);
	free(fp);
	return rc;
}

const struct keyset *keyring_get(keyring *kr)
{
	int64_t now = clock_mono_us();
	struct keyset_impl *ks = NULL;
	bool due;

	pthread_mutex_lock(&kr->lock);
	due = !kr->checking && now - kr->checked_us >= KEYRING_CHECK_US;
	if (due) {
		kr->checking = true;
	} else {
		ks = kr->current;
		atomic_fetch_add(&ks->refs, 1);
	}
	pthread_mutex_unlock(&kr->lock);
	if (!due)
		return &ks->pub;
	/* This thread looks; the others go on with the current keys meanwhile.
	 * A failed look keeps them (logged), and is retried a second later. */
	(void)keyring_refresh(kr);
	return &current_ref(kr)->pub;
}

int keyring_new(keyring **out, store *s, const char *env, const struct kek *kek)
{
	keyring *kr = calloc(1, sizeof(*kr));
	int rc;

	*out = NULL;
	if (!kr)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	kr->store = s;
	kr->kek = kek;
	kr->env = strdup(env);
	if (!kr->env || pthread_mutex_init(&kr->lock, NULL)) {
		free(kr->env);
		free(kr);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = keyset_load(&kr->current, s, kek, env, clock_now());
	if (rc == CAREID_ENOTFOUND) {
		/* Two processes starting at once may both generate: both keys are
		 * published and the newest signs, everywhere once each has looked
		 * at the store again. */
		rc = generate(s, kek, env);
		if (!rc)
			rc = keyset_load(&kr->current, s, kek, env, clock_now());
	}
	if (rc) {
		keyring_free(kr);
		return rc;
	}
	kr->checked_us = clock_mono_us();
	*out = kr;
	return 0;
}

void keyring_free(keyring *kr)
{
	if (!kr)
		return;
	keyset_release(kr->current ? &kr->current->pub : NULL);
	pthread_mutex_destroy(&kr->lock);
	free(kr->env);
	free(kr);
}

/* EINVALID when `env` has sealed keys and there is no KEK to seal the next one. */
static int check_sealable(store *s, const char *env)
{
	static const char sql[] = "SELECT COUNT(*) FROM signing_keys WHERE env = $1 AND "
	                          "substr(private_jwk, 1, 7) = 'sealed:'";
	store_stmt *st = NULL;
	int rc = store_query(s, &st, sql, "t", env);

	if (!rc && (rc = store_next(st)) == 1)
		rc = store_int(st, 0) > 0
		         ? careid_error_set(CAREID_EINVALID,
		                            "%s's signing keys are sealed; set %s so the new key "
		                            "is sealed too",
		                            env, KEK_ENV)
		         : 0;
	store_done(st);
	return rc;
}

/*
 * ELOCKED when a key the servers open (a published signing key of any
 * environment, a server secret) is sealed with a KEK `kek` does not hold:
 * `kek` is then not the deployment's (stale, or another's), and a key sealed
 * with it would not open on the servers, which would go on signing with a key
 * the store says is retired, and not start again. The old KEK counts: during
 * a rotation of the KEK the store holds values sealed with either.
 */
static int check_kek(store *s, const struct kek *kek, const char *env)
{
	static const char sql[] =
	    "SELECT env, kid, private_jwk FROM signing_keys WHERE active = 1 AND "
	    "(retired_at IS NULL OR retired_at > $1) AND substr(private_jwk, 1, 7) = 'sealed:' "
	    "ORDER BY (env = $2) DESC, env, kid"; /* `env`'s first: the one asked about */
	char what[KEY_AD_MAX];
	store_stmt *st = NULL;
	int rc = store_query(s, &st, sql, "it", clock_now() - KEYS_RETIRED_PUBLISHED, env);

	while (!rc && (rc = store_next(st)) == 1) {
		snprintf(what, sizeof(what), "signing key %s/%s", store_text(st, 0),
		         store_text(st, 1));
		rc = kek_check(kek, store_text(st, 2), what);
	}
	store_done(st);
	return rc < 0 ? rc : secrets_check(s, kek);
}

int keys_rotate(json_t **out, store *s, const struct kek *kek, const char *env)
{
	static const char sql_signing[] = "SELECT kid FROM signing_keys WHERE env = $1 AND "
	                                  "active = 1 AND retired_at IS NULL";
	static const char sql_retire[] = "UPDATE signing_keys SET retired_at = $1 WHERE env = $2 "
	                                 "AND active = 1 AND retired_at IS NULL";
	signing_key *k = NULL;
	store_stmt *st = NULL;
	json_t *retired = json_array(), *detail = NULL, *kids = json_array();
	char subject[64];
	int64_t now;
	int rc;

	*out = NULL;
	if (!retired || !kids) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = kek->set ? check_kek(s, kek, env) : check_sealable(s, env);
	if (rc)
		goto out;
	/* the slow part before the write lock */
	rc = signing_key_generate_rsa(&k);
	if (rc)
		goto out;
	rc = store_begin(s);
	if (rc)
		goto out;
	now = clock_now();
	rc = store_query(s, &st, sql_signing, "t", env);
	while (!rc && (rc = store_next(st)) == 1) {
		const char *kid = store_text(st, 0);

		rc = 0;
		if (json_array_append_new(kids, json_string(kid)) ||
		    json_array_append_new(retired,
		                          json_pack("{s:s, s:I, s:I}", "kid", kid, "retired_at",
		                                    (json_int_t)now, "published_until",
		                                    (json_int_t)(now + KEYS_RETIRED_PUBLISHED))))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	st = NULL;
	if (!rc)
		rc = store_exec(s, sql_retire, "it", now, env);
	if (rc >= 0)
		rc = insert_key(s, kek, env, k, now);
	if (!rc) {
		detail = json_pack("{s:s, s:s, s:O}", "env", env, "kid", signing_key_kid(k),
		                   "retired", kids);
		snprintf(subject, sizeof(subject), "keys:%s", env);
		rc = detail ? audit_record(s, "operator", "keys.rotated", subject, detail)
		            : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = rc ? (store_rollback(s), rc) : store_commit(s);
	if (rc)
		goto out;
	log_pack(LOG_INFO, "signing_keys_rotated", "{s:s, s:s, s:O}", "env", env, "kid",
	         signing_key_kid(k), "retired", kids);
	*out = json_pack("{s:s, s:s, s:I, s:O}", "env", env, "kid", signing_key_kid(k),
	                 "created_at", (json_int_t)now, "retired", retired);
	rc = *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	store_done(st);
	signing_key_free(k);
	json_decref(detail);
	json_decref(retired);
	json_decref(kids);
	return rc;
}

int keys_list(json_t **out, store *s, const char *env)
{
	static const char sql[] = "SELECT kid, created_at, retired_at, active FROM signing_keys "
	                          "WHERE env = $1" KEYS_ORDER;
	int64_t now = clock_now();
	store_stmt *st = NULL;
	json_t *list = json_array();
	bool signer_seen = false;
	int rc;

	*out = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, sql, "t", env);
	while (!rc && (rc = store_next(st)) == 1) {
		bool retired = !store_null(st, 2), active = store_int(st, 3) == 1;
		int64_t until = retired ? store_int(st, 2) + KEYS_RETIRED_PUBLISHED : 0;
		const char *state = !active                   ? "withdrawn"
		                    : retired && until <= now ? "expired"
		                    : retired || signer_seen  ? "published"
		                                              : "signing";
		json_t *row;

		rc = 0;
		if (active && !retired)
			signer_seen = true;
		row = json_pack("{s:s, s:s, s:I, s:o, s:o}", "kid", store_text(st, 0), "state",
		                state, "created_at", (json_int_t)store_int(st, 1), "retired_at",
		                retired ? json_integer(store_int(st, 2)) : json_null(),
		                "published_until",
		                retired && active ? json_integer(until) : json_null());
		if (!row || json_array_append_new(list, row))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* Seals one signing key, unless already sealed with the current KEK. */
static int seal_one(store *s, const struct kek *kek, const char *env, const char *kid,
                    json_t *sealed, int *already)
{
	static const char sql_select[] =
	    "SELECT private_jwk FROM signing_keys WHERE env = $1 AND kid = $2";
	static const char sql_update[] =
	    "UPDATE signing_keys SET private_jwk = $1 WHERE env = $2 AND kid = $3";
	enum kek_state state = KEK_PLAIN;
	char *jwk = NULL, *stored = NULL, ad[KEY_AD_MAX];
	store_stmt *st = NULL;
	int rc = key_ad(ad, env, kid);

	if (!rc)
		rc = store_query(s, &st, sql_select, "tt", env, kid);
	if (!rc && (rc = store_next(st)) == 1) {
		state = kek_state(kek, store_text(st, 0));
		rc = state == KEK_CURRENT ? 0 : key_open(&jwk, kek, env, kid, store_text(st, 0));
	}
	store_done(st);
	if (!rc && state == KEK_CURRENT) {
		++*already;
	} else if (!rc && jwk) {
		rc = kek_seal(&stored, kek, ad, jwk);
		if (!rc)
			rc = store_exec(s, sql_update, "ttt", stored, env, kid);
		if (rc >= 0)
			rc = json_array_append_new(
			         sealed, json_pack("{s:s, s:s, s:s}", "env", env, "kid", kid, "was",
			                           state == KEK_OLD ? "old_key" : "plain"))
			         ? careid_error_set(CAREID_ENOMEM, "out of memory")
			         : 0;
	}
	jwk_free(jwk);
	jwk_free(stored);
	return rc < 0 ? rc : 0;
}

int keys_seal(json_t **out, store *s, const struct kek *kek, const char *env)
{
	static const char sql_all[] =
	    "SELECT env, kid FROM signing_keys ORDER BY env, created_at, kid";
	static const char sql_env[] =
	    "SELECT env, kid FROM signing_keys WHERE env = $1 ORDER BY env, created_at, kid";
	json_t *rows = json_array(), *sealed = json_array(), *secrets = json_array(),
	       *detail = NULL;
	store_stmt *st = NULL;
	int already = 0, rc;
	char subject[64];
	size_t i;
	json_t *row;

	*out = NULL;
	if (!rows || !sealed || !secrets) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (!kek->set) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "%s is not set: nothing to seal with (make one with "
		                      "'openssl rand -base64 32')",
		                      KEK_ENV);
		goto out;
	}
	rc = store_begin(s);
	if (rc)
		goto out;
	rc = env ? store_query(s, &st, sql_env, "t", env) : store_query(s, &st, sql_all, "");
	while (!rc && (rc = store_next(st)) == 1)
		rc = json_array_append_new(
		         rows, json_pack("[s, s]", store_text(st, 0), store_text(st, 1)))
		         ? careid_error_set(CAREID_ENOMEM, "out of memory")
		         : 0;
	store_done(st);
	st = NULL;
	json_array_foreach(rows, i, row)
	{
		if (rc)
			break;
		rc = seal_one(s, kek, json_string_value(json_array_get(row, 0)),
		              json_string_value(json_array_get(row, 1)), sealed, &already);
	}
	if (!rc && !env)
		rc = secrets_seal(secrets, &already, s, kek);
	if (!rc && (json_array_size(sealed) || json_array_size(secrets))) {
		detail =
		    json_pack("{s:o, s:s, s:O, s:O}", "env", env ? json_string(env) : json_null(),
		              "key_id", kek->id, "sealed", sealed, "server_secrets", secrets);
		snprintf(subject, sizeof(subject), "keys:%s", env ? env : "*");
		rc = detail ? audit_record(s, "operator", "keys.sealed", subject, detail)
		            : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = rc ? (store_rollback(s), rc) : store_commit(s);
	if (rc)
		goto out;
	log_pack(LOG_INFO, "keys_sealed", "{s:s, s:i, s:i, s:i}", "key_id", kek->id, "sealed",
	         (int)json_array_size(sealed), "server_secrets", (int)json_array_size(secrets),
	         "already_sealed", already);
	*out = json_pack("{s:s, s:o, s:O, s:O, s:i}", "key_id", kek->id, "env",
	                 env ? json_string(env) : json_null(), "sealed", sealed, "server_secrets",
	                 secrets, "already_sealed", already);
	rc = *out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	store_done(st);
	json_decref(rows);
	json_decref(sealed);
	json_decref(secrets);
	json_decref(detail);
	return rc;
}
