/* The authenticators registered to a user, as the directory lists and
 * administers them (authn/ creates and verifies them). */
#include <string.h>

#include "authn/assurance.h"
#include "core/clock.h"
#include "core/error.h"
#include "directory/directory.h"
#include "directory/directory_int.h"

static json_t *nullable_int(store_stmt *st, int col)
{
	return store_null(st, col) ? json_null() : json_integer(store_int(st, col));
}

int directory_authenticators(json_t **out, store *s, const char *env, const char *uid,
                             bool include_revoked)
{
	static const char sql[] =
	    "SELECT id, kind, method, name, created_at, last_used_at, revoked_at, credential_id, "
	    "failures "
	    "FROM authenticators WHERE env = $1 AND uid = $2 AND (revoked_at IS NULL OR $3 = 1) "
	    "ORDER BY created_at, id";
	store_stmt *st = NULL;
	json_t *list = json_array();
	int rc;

	*out = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, sql, "tti", env, uid, (int64_t)include_revoked);
	while (!rc && (rc = store_next(st)) == 1) {
		const char *kind = store_text(st, 1);
		json_t *a = json_pack(
		    "{s:s, s:s, s:s, s:i, s:s, s:I, s:o, s:o}", "id", store_text(st, 0), "kind",
		    kind, "method", authn_method_amr((enum authn_method)store_int(st, 2)), "level",
		    authn_method_aal((unsigned)store_int(st, 2)), "name", store_text(st, 3),
		    "created_at", (json_int_t)store_int(st, 4), "last_used_at", nullable_int(st, 5),
		    "revoked_at", nullable_int(st, 6));

		rc = 0;
		if (a && strcmp(kind, "smartcard") == 0 && !store_null(st, 7))
			json_object_set_new(a, "serial", json_string(store_text(st, 7)));
		if (a && strcmp(kind, "totp") == 0)
			json_object_set_new(a, "failures", json_integer(store_int(st, 8)));
		if (!a || json_array_append_new(list, a))
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

int directory_authenticator_count(int *out, store *s, const char *env, const char *uid,
                                  const char *kind)
{
	static const char sql[] = "SELECT COUNT(*) FROM authenticators WHERE env = $1 AND uid = $2 "
	                          "AND revoked_at IS NULL AND ($3 IS NULL OR kind = $3)";
	store_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = store_query(s, &st, sql, "ttt", env, uid, kind);
	if (!rc)
		rc = store_next(st);
	if (rc == 1) {
		*out = (int)store_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

int directory_authenticator_rename(store *s, const char *env, const char *uid, const char *id,
                                   const char *name)
{
	static const char sql[] = "UPDATE authenticators SET name = $1 WHERE env = $2 AND uid = $3 "
	                          "AND id = $4 AND revoked_at IS NULL";
	int rc = dir_check_text(name, "name", DIR_NAME_MAX, true);

	if (rc)
		return rc;
	rc = store_exec(s, sql, "tttt", name, env, uid, id);
	if (rc == 0)
		return careid_error_set(CAREID_ENOTFOUND, "no such authenticator");
	return rc < 0 ? rc : 0;
}

int directory_authenticator_revoke(int *n_out, store *s, const char *env, const char *uid,
                                   const char *id)
{
	static const char sql[] = "UPDATE authenticators SET revoked_at = $1 WHERE env = $2 AND "
	                          "uid = $3 AND ($4 IS NULL OR id = $4) AND revoked_at IS NULL";
	int rc = store_exec(s, sql, "ittt", clock_now(), env, uid, id);

	if (n_out)
		*n_out = rc > 0 ? rc : 0;
	if (rc == 0 && id)
		return careid_error_set(CAREID_ENOTFOUND, "no such authenticator");
	return rc < 0 ? rc : 0;
}

int directory_authenticator_unlock(int *n_out, store *s, const char *env, const char *uid)
{
	static const char sql[] = "UPDATE authenticators SET failures = 0 WHERE env = $1 AND "
	                          "uid = $2 AND kind = 'totp' AND revoked_at IS NULL";
	int rc = store_exec(s, sql, "tt", env, uid);

	if (n_out)
		*n_out = rc > 0 ? rc : 0;
	return rc < 0 ? rc : 0;
}
