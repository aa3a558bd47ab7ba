#include "authn/fido.h"

#include <stdlib.h>
#include <string.h>

#include "authn/assurance.h"
#include "authn/authn.h"
#include "core/clock.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"

int fido_save(char **id_out, unsigned *method_out, store *s, const char *env, const char *uid,
              const char *name, const struct webauthn_credential *c, bool aal3)
{
	static const char sql[] =
	    "INSERT INTO authenticators (env, id, uid, kind, method, name, credential_id, data, "
	    "counter, created_at) VALUES ($1, $2, $3, 'webauthn', $4, $5, $6, $7, $8, $9)";
	unsigned method = aal3 && !c->backup_eligible ? AUTHN_FIDO2 : AUTHN_PASSKEY;
	json_t *data;
	char id[32], *text;
	int rc;

	*id_out = NULL;
	rc = crypto_random_token(id, sizeof(id), 12);
	if (rc)
		return rc;
	data =
	    json_pack("{s:s, s:i, s:s, s:s, s:b, s:b, s:b}", "public_key", c->public_key, "alg",
	              c->alg, "aaguid", c->aaguid, "attestation", c->fmt, "attested", c->attested,
	              "backup_eligible", c->backup_eligible, "user_verified", c->user_verified);
	if (data && c->transports)
		json_object_set_new(data, "transports", json_loads(c->transports, 0, NULL));
	text = data ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (!text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_exec(s, sql, "tttitttii", env, id, uid, (int64_t)method, name, c->credential_id,
	                text, (int64_t)c->sign_count, clock_now());
	free(text);
	if (rc == CAREID_EEXISTS)
		return careid_error_set(CAREID_EEXISTS, "this security key is already registered");
	if (rc < 0)
		return rc;
	if (method_out)
		*method_out = method;
	*id_out = strdup(id);
	return *id_out ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
}

int fido_credentials(json_t **out, store *s, const char *env, const char *uid)
{
	static const char sql[] = "SELECT credential_id FROM authenticators WHERE env = $1 AND "
	                          "uid = $2 AND kind = 'webauthn' AND revoked_at IS NULL";
	json_t *list = json_array();
	store_stmt *st = NULL;
	int rc;

	*out = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, sql, "tt", env, uid);
	while (!rc && (rc = store_next(st)) == 1) {
		rc = 0;
		if (json_array_append_new(list, json_string(store_text(st, 0))))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* The stored credential an assertion names. */
struct stored {
	char *id, *uid, *public_key;
	int alg;
	bool backup_eligible;
	unsigned method;
	uint32_t counter;
};

static void stored_release(struct stored *c)
{
	free(c->id);
	free(c->uid);
	free(c->public_key);
}

static int stored_find(struct stored *out, store *s, const char *env, const char *credential_id)
{
	static const char sql[] =
	    "SELECT id, uid, method, data, counter FROM authenticators WHERE env = $1 AND "
	    "kind = 'webauthn' AND credential_id = $2 AND revoked_at IS NULL";
	store_stmt *st = NULL;
	json_t *data = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = store_query(s, &st, sql, "tt", env, credential_id);
	if (!rc)
		rc = store_next(st);
	if (rc == 0)
		rc = CAREID_ENOTFOUND;
	if (rc == 1) {
		data = json_loads(store_text(st, 3), 0, NULL);
		out->id = strdup(store_text(st, 0));
		out->uid = strdup(store_text(st, 1));
		out->method = (unsigned)store_int(st, 2);
		out->counter = (uint32_t)store_int(st, 4);
		out->alg = (int)json_integer_value(json_object_get(data, "alg"));
		out->backup_eligible = json_is_true(json_object_get(data, "backup_eligible"));
		if (json_string_value(json_object_get(data, "public_key")))
			out->public_key =
			    strdup(json_string_value(json_object_get(data, "public_key")));
		rc = (out->id && out->uid && out->public_key) ? 0 : CAREID_ENOMEM;
	}
	json_decref(data);
	store_done(st);
	if (rc)
		stored_release(out);
	return rc;
}

static int refuse(struct authn_result *out, int rc, const char *message, const char *reason)
{
	out->message = strdup(message);
	out->reason = reason;
	return out->message ? rc : careid_error_set(CAREID_ENOMEM, "out of memory");
}

static int webauthn_step(struct authn_result *out, const struct authn_input *in)
{
	static const char sql[] =
	    "UPDATE authenticators SET counter = $1, last_used_at = $2 WHERE env = $3 AND id = $4 "
	    "AND counter = $5 AND revoked_at IS NULL";
	const char *json = form_get(in->form, "credential");
	struct webauthn_assertion a = {0};
	struct webauthn_expect e = {.rp_id = in->rp_id,
	                            .origin = in->origin,
	                            .challenge = in->challenge,
	                            .require_uv = in->require_uv};
	struct stored c = {0};
	uint32_t count = 0;
	bool uv = false;
	int rc;

	if (!json || !*json)
		return refuse(out, CAREID_EINVALID,
		              "Your security key did not answer. Use the button to try again (the "
		              "page needs JavaScript for security keys).",
		              "no_credential");
	rc = webauthn_assertion_parse(&a, json);
	if (rc == CAREID_EINVALID || rc == CAREID_ETOOBIG) {
		char *msg = NULL;

		if (asprintf(&msg, "The security key's answer could not be read: %s.",
		             careid_error_last()->message) < 0)
			msg = NULL;
		out->message = msg;
		out->reason = "malformed";
		return msg ? CAREID_EINVALID : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	if (rc)
		goto out;
	rc = stored_find(&c, in->store, in->env, a.credential_id);
	if (rc == CAREID_ENOTFOUND) {
		rc = refuse(out, CAREID_EDENIED,
		            "This security key is not registered to any account here. Register it "
		            "first, or sign in another way.",
		            "unknown_credential");
		goto out;
	}
	if (rc)
		goto out;
	out->uid = strdup(c.uid);
	if (!out->uid) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	/* the user handle, when the authenticator returns it, names the credential's owner */
	if (a.user_handle) {
		char handle[64];

		if (crypto_b64url_encode(handle, sizeof(handle), c.uid, strlen(c.uid)) ||
		    strcmp(handle, a.user_handle) != 0) {
			rc = refuse(out, CAREID_EDENIED,
			            "Your security key named another account than the one it is "
			            "registered to.",
			            "user_handle_mismatch");
			goto out;
		}
	}
	e.backup_eligible = c.backup_eligible ? WEBAUTHN_BE_SET : WEBAUTHN_BE_UNSET;
	rc = webauthn_assertion_verify(&count, &uv, &a, &e, c.public_key, c.alg, c.counter);
	if (rc == CAREID_EDENIED || rc == CAREID_EINVALID) {
		char *msg = NULL;

		if (asprintf(&msg, "Your security key could not sign you in: %s.",
		             careid_error_last()->message) < 0)
			msg = NULL;
		out->message = msg;
		out->reason = strstr(careid_error_last()->message, "counter") ? "counter_regressed"
		              : strstr(careid_error_last()->message, "origin")
		                  ? "wrong_origin"
		                  : "assertion_refused";
		rc = msg ? rc : careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (rc)
		goto out;
	/* The counter moves forward once: a concurrent use of the same assertion loses. */
	rc = store_exec(in->store, sql, "iitti", (int64_t)count, in->now, in->env, c.id,
	                (int64_t)c.counter);
	if (rc == 0) {
		rc = refuse(out, CAREID_EUSED,
		            "This security key was used at the same time elsewhere.",
		            "counter_race");
		goto out;
	}
	if (rc < 0)
		goto out;
	out->authenticator_id = strdup(c.id);
	out->method = c.method;
	rc = out->authenticator_id ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
out:
	webauthn_assertion_release(&a);
	stored_release(&c);
	return rc;
}

const struct authenticator authn_webauthn = {"webauthn", AUTHN_FIDO2 | AUTHN_PASSKEY,
                                             webauthn_step};
