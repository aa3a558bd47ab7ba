#include "directory/directory_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/password.h"

static const char SQL_USER_GET[] =
    "SELECT uid, title, given_name, family_name, middle_names, display_name, email,"
    " id_assurance_level, password_hash FROM users WHERE env = $1 AND uid = $2";
static const char SQL_USER_IAL[] =
    "SELECT id_assurance_level FROM users WHERE env = $1 AND uid = $2";
static const char SQL_USER_BY_EMAIL[] =
    "SELECT uid FROM users WHERE env = $1 AND email = $2 ORDER BY uid LIMIT 1";
static const char SQL_USER_EXISTS[] = "SELECT 1 FROM users WHERE env = $1 AND uid = $2";
static const char SQL_USER_COUNT[] = "SELECT COUNT(*) FROM users WHERE env = $1";
static const char SQL_USER_INSERT[] =
    "INSERT INTO users (env, uid, title, given_name, family_name, middle_names,"
    " display_name, email, id_assurance_level, password_hash, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
static const char SQL_USER_SET_PASSWORD[] =
    "UPDATE users SET password_hash = $1 WHERE env = $2 AND uid = $3";
static const char SQL_USER_LIST[] =
    "SELECT u.uid, u.display_name, u.email,"
    " (SELECT COUNT(*) FROM role_profiles r WHERE r.env = u.env AND r.uid = u.uid)"
    " FROM users u WHERE u.env = $1 ORDER BY u.uid";
static const char SQL_ORG_GET[] = "SELECT name FROM organisations WHERE env = $1 AND code = $2";
static const char SQL_ORG_INSERT[] =
    "INSERT INTO organisations (env, code, name, created_at) VALUES ($1, $2, $3, $4)";

int dir_rollback(store *s, int rc)
{
	struct careid_error saved = *careid_error_last();

	store_rollback(s);
	careid_error_set_at(saved.file, saved.line, saved.func, saved.code, "%s", saved.message);
	return rc;
}

/* Commits, or rolls back when `rc` says the work failed or the commit fails. */
static int finish(store *s, int rc)
{
	if (rc)
		return dir_rollback(s, rc);
	rc = store_commit(s);
	if (rc)
		return dir_rollback(s, rc);
	return 0;
}

/* A copy of `s`; NULL stays NULL. Sets *oom when a copy fails. */
static char *dup_opt(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

/* A copy of a column that is NOT NULL in the schema: never NULL on success. */
static char *dup_req(const char *s, bool *oom)
{
	return dup_opt(s ? s : "", oom);
}

void dir_user_free(struct dir_user *u)
{
	size_t i;

	if (!u)
		return;
	for (i = 0; i < u->nroles; i++)
		dir_role_release(&u->roles[i]);
	free(u->roles);
	free(u->uid);
	free(u->title);
	free(u->given_name);
	free(u->family_name);
	free(u->middle_names);
	free(u->display_name);
	free(u->email);
	free(u->password_hash);
	free(u);
}

int dir_count_users(int64_t *out, store *s, const char *env)
{
	store_stmt *st = NULL;
	int rc;

	*out = 0;
	rc = store_query(s, &st, SQL_USER_COUNT, "t", env);
	if (!rc) {
		rc = store_next(st);
		if (rc == 1) {
			*out = store_int(st, 0);
			rc = 0;
		}
	}
	store_done(st);
	return rc;
}

int dir_exists(store *s, const char *sql, const char *a, const char *b)
{
	store_stmt *st = NULL;
	int rc = store_query(s, &st, sql, "tt", a, b);

	if (!rc)
		rc = store_next(st);
	store_done(st);
	return rc;
}

int dir_org_lookup(char **name_out, store *s, const char *env, const char *code)
{
	store_stmt *st = NULL;
	int rc;

	if (name_out)
		*name_out = NULL;
	rc = store_query(s, &st, SQL_ORG_GET, "tt", env, code);
	if (!rc)
		rc = store_next(st);
	if (rc == 1 && name_out) {
		const char *name = store_text(st, 0);

		*name_out = strdup(name ? name : "");
		if (!*name_out)
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	return rc;
}

static int user_load(struct dir_user **out, store *s, const char *env, const char *uid)
{
	struct dir_user *u = NULL;
	store_stmt *st = NULL;
	bool oom = false;
	int rc;

	rc = store_query(s, &st, SQL_USER_GET, "tt", env, uid);
	if (rc)
		goto out;
	rc = store_next(st);
	if (rc < 0)
		goto out;
	if (rc == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND, "user %s not found in %s", uid, env);
		goto out;
	}
	rc = 0;
	u = calloc(1, sizeof(*u));
	if (!u) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	u->uid = dup_req(store_text(st, 0), &oom);
	u->title = dup_opt(store_text(st, 1), &oom);
	u->given_name = dup_req(store_text(st, 2), &oom);
	u->family_name = dup_req(store_text(st, 3), &oom);
	u->middle_names = dup_opt(store_text(st, 4), &oom);
	u->display_name = dup_req(store_text(st, 5), &oom);
	u->email = dup_opt(store_text(st, 6), &oom);
	u->id_assurance_level = (int)store_int(st, 7);
	u->password_hash = dup_opt(store_text(st, 8), &oom);
	if (oom) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	store_done(st);
	st = NULL;
	rc = dir_roles_load(u, s, env);
out:
	store_done(st);
	if (rc) {
		dir_user_free(u);
		u = NULL;
	}
	*out = u;
	return rc;
}

int directory_user_get(struct dir_user **out, store *s, const char *env, const char *uid)
{
	int rc;

	*out = NULL;
	rc = dir_check_env(env);
	if (!rc)
		rc = dir_check_id(uid, "uid");
	if (rc)
		return rc;
	return user_load(out, s, env, uid);
}

int directory_user_ial(int *out, store *s, const char *env, const char *uid)
{
	store_stmt *st = NULL;
	int rc;

	*out = 0;
	if ((rc = dir_check_env(env)) || (rc = dir_check_id(uid, "uid")))
		return rc;
	rc = store_query(s, &st, SQL_USER_IAL, "tt", env, uid);
	if (!rc)
		rc = store_next(st);
	if (rc == 1) {
		*out = (int)store_int(st, 0);
		rc = 0;
	} else if (rc == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND, "user %s not found in %s", uid, env);
	}
	store_done(st);
	return rc;
}

int directory_user_find_login(struct dir_user **out, store *s, const char *env,
                              const char *username)
{
	char email[DIR_EMAIL_MAX + 1], uid[DIR_UID_LEN + 1];
	store_stmt *st = NULL;
	bool found = false;
	size_t i, n;
	int rc;

	*out = NULL;
	rc = dir_check_env(env);
	if (rc)
		return rc;
	if (!username)
		username = "";
	if (dir_is_digits(username, DIR_UID_LEN))
		return user_load(out, s, env, username);
	n = strlen(username);
	if (!strchr(username, '@') || n > DIR_EMAIL_MAX)
		goto notfound;
	for (i = 0; i <= n; i++)
		email[i] = (char)tolower((unsigned char)username[i]);
	rc = store_query(s, &st, SQL_USER_BY_EMAIL, "tt", env, email);
	if (!rc)
		rc = store_next(st);
	if (rc == 1) {
		const char *match = store_text(st, 0);

		rc = 0;
		if (match && dir_is_digits(match, DIR_UID_LEN)) {
			memcpy(uid, match, sizeof(uid));
			found = true;
		}
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (found)
		return user_load(out, s, env, uid);
notfound:
	return careid_error_set(CAREID_ENOTFOUND, "no user '%.64s' in %s", username, env);
}

int directory_user_list(json_t **out, store *s, const char *env)
{
	store_stmt *st = NULL;
	json_t *list = NULL;
	int rc;

	*out = NULL;
	rc = dir_check_env(env);
	if (rc)
		return rc;
	list = json_array();
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, SQL_USER_LIST, "t", env);
	while (!rc && (rc = store_next(st)) == 1) {
		json_t *row = json_pack("{s:s?, s:s?, s:s?, s:I}", "uid", store_text(st, 0),
		                        "display_name", store_text(st, 1), "email",
		                        store_text(st, 2), "roles", (json_int_t)store_int(st, 3));

		rc = row && !json_array_append_new(list, row)
		         ? 0
		         : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

int dir_user_insert(store *s, const char *env, const struct dir_user_new *u,
                    const char *password_hash, int64_t now)
{
	char email[DIR_EMAIL_MAX + 1], display[4 * DIR_DISPLAY_MAX + 1];
	const char *display_name = u->display_name;
	int ial = u->id_assurance_level ? u->id_assurance_level : 3;
	store_stmt *st = NULL;
	int rc;

	if ((rc = dir_check_env(env)) || (rc = dir_check_id(u->uid, "uid")) ||
	    (rc = dir_check_text(u->title, "title", DIR_NAME_MAX, false)) ||
	    (rc = dir_check_text(u->given_name, "given name", DIR_NAME_MAX, true)) ||
	    (rc = dir_check_text(u->family_name, "family name", DIR_NAME_MAX, true)) ||
	    (rc = dir_check_text(u->middle_names, "middle names", DIR_NAME_MAX, false)) ||
	    (rc = dir_check_text(u->display_name, "display name", DIR_DISPLAY_MAX, false)))
		return rc;
	if (u->email && (rc = dir_norm_email(email, u->email)))
		return rc;
	if (ial < 1 || ial > 3)
		return careid_error_set(CAREID_EINVALID,
		                        "identity assurance level must be 1, 2 or 3");
	if (!display_name) {
		snprintf(display, sizeof(display), "%s %s", u->given_name, u->family_name);
		display_name = display;
	}

	rc = dir_exists(s, SQL_USER_EXISTS, env, u->uid);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return careid_error_set(CAREID_EEXISTS, "user %s already exists in %s", u->uid,
		                        env);
	if (u->email) {
		rc = store_query(s, &st, SQL_USER_BY_EMAIL, "tt", env, email);
		if (!rc)
			rc = store_next(st);
		if (rc == 1)
			rc = careid_error_set(
			    CAREID_EEXISTS, "e-mail address %s is already used by user %s in %s",
			    email, store_text(st, 0) ? store_text(st, 0) : "?", env);
		store_done(st);
		if (rc)
			return rc;
	}
	rc = store_exec(s, SQL_USER_INSERT, "ttttttttiti", env, u->uid, u->title, u->given_name,
	                u->family_name, u->middle_names, display_name, u->email ? email : NULL,
	                (int64_t)ial, password_hash, now);
	if (rc == CAREID_EEXISTS)
		return careid_error_set(CAREID_EEXISTS, "user %s already exists in %s", u->uid,
		                        env);
	return rc < 0 ? rc : 0;
}

int directory_user_add(store *s, const char *env, const struct dir_user_new *u,
                       const char *password)
{
	char hash[PASSWORD_HASH_MAX];
	int rc;

	/* Validate before spending 40 ms on a hash; the insert checks again. */
	if ((rc = dir_check_env(env)) || (rc = dir_check_id(u->uid, "uid")))
		return rc;
	if (password) {
		rc = password_hash(hash, password);
		if (rc)
			return rc;
	}
	rc = store_begin(s);
	if (rc)
		return rc;
	rc = dir_user_insert(s, env, u, password ? hash : NULL, clock_now());
	return finish(s, rc);
}

int directory_user_set_password(store *s, const char *env, const char *uid, const char *password)
{
	char hash[PASSWORD_HASH_MAX];
	int rc;

	if ((rc = dir_check_env(env)) || (rc = dir_check_id(uid, "uid")))
		return rc;
	if (password) {
		rc = password_hash(hash, password);
		if (rc)
			return rc;
	}
	rc = store_exec(s, SQL_USER_SET_PASSWORD, "ttt", password ? hash : NULL, env, uid);
	if (rc < 0)
		return rc;
	if (rc == 0)
		return careid_error_set(CAREID_ENOTFOUND, "user %s not found in %s", uid, env);
	return 0;
}

int dir_org_insert(store *s, const char *env, const char *code, const char *name, int64_t now)
{
	char ods[DIR_ODS_MAX + 1];
	int rc;

	if ((rc = dir_check_env(env)) || (rc = dir_norm_ods(ods, code)) ||
	    (rc = dir_check_text(name, "organisation name", DIR_TEXT_MAX, true)))
		return rc;
	rc = dir_org_lookup(NULL, s, env, ods);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return careid_error_set(CAREID_EEXISTS, "organisation %s already exists in %s", ods,
		                        env);
	rc = store_exec(s, SQL_ORG_INSERT, "ttti", env, ods, name, now);
	if (rc == CAREID_EEXISTS)
		return careid_error_set(CAREID_EEXISTS, "organisation %s already exists in %s", ods,
		                        env);
	return rc < 0 ? rc : 0;
}

int directory_org_add(store *s, const char *env, const char *code, const char *name)
{
	int rc = store_begin(s);

	if (rc)
		return rc;
	return finish(s, dir_org_insert(s, env, code, name, clock_now()));
}

json_t *dir_user_orgs_json(const struct dir_user *u)
{
	json_t *orgs = json_array();
	size_t i, j;

	if (!orgs)
		return NULL;
	for (i = 0; i < u->nroles; i++) {
		const struct dir_role *r = &u->roles[i];
		json_t *org;

		for (j = 0; j < i; j++)
			if (strcmp(u->roles[j].org_code, r->org_code) == 0)
				break;
		if (j < i)
			continue;
		org = json_pack("{s:s, s:s}", "org_code", r->org_code, "org_name", r->org_name);
		if (!org || json_array_append_new(orgs, org)) {
			json_decref(orgs);
			return NULL;
		}
	}
	return orgs;
}

json_t *dir_user_json(const struct dir_user *u)
{
	json_t *roles = json_array(), *user;
	size_t i;

	if (!roles)
		return NULL;
	for (i = 0; i < u->nroles; i++) {
		json_t *role = dir_role_nrbac_json(&u->roles[i]);

		if (role &&
		    json_object_set_new(role, "org_name", json_string(u->roles[i].org_name))) {
			json_decref(role);
			role = NULL;
		}
		/* append_new() takes the reference even when it fails */
		if (!role || json_array_append_new(roles, role)) {
			json_decref(roles);
			return NULL;
		}
	}
	user = json_pack("{s:s, s:s?, s:s, s:s, s:s?, s:s, s:s?, s:i, s:b}", "uid", u->uid, "title",
	                 u->title, "given_name", u->given_name, "family_name", u->family_name,
	                 "middle_names", u->middle_names, "display_name", u->display_name, "email",
	                 u->email, "id_assurance_level", u->id_assurance_level, "has_password",
	                 u->password_hash != NULL);
	if (!user) {
		json_decref(roles);
		return NULL;
	}
	if (json_object_set_new(user, "roles", roles)) {
		json_decref(user);
		return NULL;
	}
	return user;
}
