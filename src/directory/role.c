#include "directory/directory_int.h"

#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "crypto/random.h"

#define ID_TRIES 10

static const char SQL_ROLES_OF_USER[] =
    "SELECT r.person_roleid, r.person_orgid, r.org_code, COALESCE(o.name, r.org_code),"
    " r.role_code, r.role_name, r.activities, r.workgroups, r.aow"
    " FROM role_profiles r LEFT JOIN organisations o ON o.env = r.env AND o.code = r.org_code"
    " WHERE r.env = $1 AND r.uid = $2 ORDER BY r.created_at, r.person_roleid";
static const char SQL_USER_EXISTS[] = "SELECT 1 FROM users WHERE env = $1 AND uid = $2";
static const char SQL_MEMBERSHIP[] =
    "SELECT person_orgid FROM role_profiles WHERE env = $1 AND uid = $2 AND org_code = $3"
    " ORDER BY created_at, person_roleid LIMIT 1";
static const char SQL_ORGID_USED[] =
    "SELECT 1 FROM role_profiles WHERE env = $1 AND person_orgid = $2 LIMIT 1";
static const char SQL_ROLEID_USED[] =
    "SELECT 1 FROM role_profiles WHERE env = $1 AND person_roleid = $2";
static const char SQL_ROLE_INSERT[] =
    "INSERT INTO role_profiles (env, person_roleid, uid, person_orgid, org_code, role_code,"
    " role_name, activities, workgroups, aow, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";

void dir_role_release(struct dir_role *r)
{
	free(r->person_roleid);
	free(r->person_orgid);
	free(r->org_code);
	free(r->org_name);
	free(r->role_code);
	free(r->role_name);
	json_decref(r->activities);
	json_decref(r->workgroups);
	json_decref(r->aow);
	memset(r, 0, sizeof(*r));
}

void dir_role_free(struct dir_role *r)
{
	if (!r)
		return;
	dir_role_release(r);
	free(r);
}

/* A stored list: a JSON array of {"code": string, "name": string}. */
static json_t *list_parse(const char *text)
{
	json_t *list = text ? json_loads(text, 0, NULL) : NULL;
	json_t *item;
	size_t i;

	if (!json_is_array(list))
		goto bad;
	json_array_foreach(list, i,
	                   item) if (!json_is_string(json_object_get(item, "code")) ||
	                             !json_is_string(json_object_get(item, "name"))) goto bad;
	return list;
bad:
	json_decref(list);
	return NULL;
}

static int role_read(struct dir_role *r, store_stmt *st)
{
	char **fields[] = {&r->person_roleid, &r->person_orgid, &r->org_code,
	                   &r->org_name,      &r->role_code,    &r->role_name};
	size_t i;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *v = store_text(st, (int)i);

		*fields[i] = strdup(v ? v : "");
		if (!*fields[i])
			return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	r->activities = list_parse(store_text(st, 6));
	r->workgroups = list_parse(store_text(st, 7));
	r->aow = list_parse(store_text(st, 8));
	if (!r->activities || !r->workgroups || !r->aow)
		return careid_error_set(CAREID_ESTORE,
		                        "role profile %s has a malformed activity, workgroup or "
		                        "area-of-work list",
		                        r->person_roleid);
	return 0;
}

int dir_roles_load(struct dir_user *u, store *s, const char *env)
{
	store_stmt *st = NULL;
	size_t cap = 0;
	int rc;

	rc = store_query(s, &st, SQL_ROLES_OF_USER, "tt", env, u->uid);
	while (!rc && (rc = store_next(st)) == 1) {
		if (u->nroles == cap) {
			size_t ncap = cap ? 2 * cap : 4;
			struct dir_role *grown = realloc(u->roles, ncap * sizeof(*grown));

			if (!grown) {
				rc = careid_error_set(CAREID_ENOMEM, "out of memory");
				break;
			}
			u->roles = grown;
			cap = ncap;
		}
		memset(&u->roles[u->nroles], 0, sizeof(u->roles[0]));
		rc = role_read(&u->roles[u->nroles], st);
		u->nroles++; /* counted even when partly read, so dir_user_free() releases it */
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

static int check_activity(const char *code, const char *what)
{
	(void)what;
	return dir_check_activity_code(code);
}

/*
 * Checks one list of a new role (`what` is "activity", "workgroup" or "area
 * of work") and builds its stored form.
 */
static int list_build(json_t **out, const char *const *codes, const char *const *names, size_t n,
                      const char *what, int (*check)(const char *, const char *))
{
	json_t *list;
	size_t i, j;
	int rc;

	*out = NULL;
	if (n > DIR_LIST_MAX)
		return careid_error_set(CAREID_EINVALID, "a role may have at most %d %s entries",
		                        DIR_LIST_MAX, what);
	if (n && (!codes || !names))
		return careid_error_set(CAREID_EINVALID, "%s codes and names are required", what);
	for (i = 0; i < n; i++) {
		char label[96];

		rc = check(codes[i], what);
		if (rc)
			return rc;
		snprintf(label, sizeof(label), "name of %s %s", what, codes[i]);
		rc = dir_check_text(names[i], label, DIR_TEXT_MAX, true);
		if (rc)
			return rc;
		for (j = 0; j < i; j++)
			if (strcmp(codes[i], codes[j]) == 0)
				return careid_error_set(CAREID_EINVALID, "%s %s is given twice",
				                        what, codes[i]);
	}
	list = json_array();
	for (i = 0; list && i < n; i++) {
		json_t *item = json_pack("{s:s, s:s}", "code", codes[i], "name", names[i]);

		if (!item || json_array_append_new(list, item)) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	*out = list;
	return 0;
}

/* Writes into `out` 12 random digits that `sql` (env, id) does not find. */
static int fresh_id(char out[DIR_UID_LEN + 1], store *s, const char *env, const char *sql,
                    const char *what)
{
	int i, rc;

	for (i = 0; i < ID_TRIES; i++) {
		store_stmt *st = NULL;

		crypto_random_digits(out, DIR_UID_LEN);
		rc = store_query(s, &st, sql, "tt", env, out);
		if (!rc)
			rc = store_next(st);
		store_done(st);
		if (rc <= 0)
			return rc;
	}
	return careid_error_set(CAREID_ESTORE, "could not choose a free %s", what);
}

/* Finds or chooses the person_orgid of `uid` at `ods`. */
static int membership(char out[DIR_UID_LEN + 1], store *s, const char *env, const char *uid,
                      const char *ods, const char *fixed)
{
	store_stmt *st = NULL;
	bool have = false;
	int rc;

	rc = store_query(s, &st, SQL_MEMBERSHIP, "ttt", env, uid, ods);
	if (!rc)
		rc = store_next(st);
	if (rc == 1) {
		const char *v = store_text(st, 0);

		rc = 0;
		if (v && dir_is_digits(v, DIR_UID_LEN)) {
			memcpy(out, v, DIR_UID_LEN + 1);
			have = true;
		}
	}
	store_done(st);
	if (rc < 0)
		return rc;
	if (fixed) {
		if ((rc = dir_check_id(fixed, "person_orgid")))
			return rc;
		if (have && strcmp(out, fixed) != 0)
			return careid_error_set(CAREID_EINVALID,
			                        "user %s already has person_orgid %s at %s", uid,
			                        out, ods);
		memcpy(out, fixed, DIR_UID_LEN + 1);
		return 0;
	}
	if (have)
		return 0;
	return fresh_id(out, s, env, SQL_ORGID_USED, "person_orgid");
}

static int role_new(struct dir_role **out, const char *roleid, const char *orgid, const char *ods,
                    char *org_name, const struct dir_role_new *r, json_t *acts, json_t *wgs,
                    json_t *aow)
{
	struct dir_role *role = calloc(1, sizeof(*role));

	*out = NULL;
	if (!role) {
		free(org_name);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	role->person_roleid = strdup(roleid);
	role->person_orgid = strdup(orgid);
	role->org_code = strdup(ods);
	role->org_name = org_name;
	role->role_code = strdup(r->role_code);
	role->role_name = strdup(r->role_name);
	role->activities = json_incref(acts);
	role->workgroups = json_incref(wgs);
	role->aow = json_incref(aow);
	if (!role->person_roleid || !role->person_orgid || !role->org_code || !role->role_code ||
	    !role->role_name) {
		dir_role_free(role);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	*out = role;
	return 0;
}

int dir_role_insert(struct dir_role **out, store *s, const char *env, const struct dir_role_new *r,
                    const char *person_orgid, const char *person_roleid, int64_t now)
{
	char ods[DIR_ODS_MAX + 1], orgid[DIR_UID_LEN + 1], roleid[DIR_UID_LEN + 1];
	char *org_name = NULL, *acts_text = NULL, *wgs_text = NULL, *aow_text = NULL;
	json_t *acts = NULL, *wgs = NULL, *aow = NULL;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = dir_check_env(env)) || (rc = dir_check_id(r->uid, "uid")) ||
	    (rc = dir_norm_ods(ods, r->org_code)) || (rc = dir_check_role_code(r->role_code)) ||
	    (rc = dir_check_text(r->role_name, "role name", DIR_TEXT_MAX, true)) ||
	    (rc = list_build(&acts, r->activity_codes, r->activity_names, r->nactivities,
	                     "activity", check_activity)) ||
	    (rc = list_build(&wgs, r->workgroup_codes, r->workgroup_names, r->nworkgroups,
	                     "workgroup", dir_check_list_code)) ||
	    (rc = list_build(&aow, r->aow_codes, r->aow_names, r->naow, "area of work",
	                     dir_check_list_code)))
		goto out;

	rc = dir_exists(s, SQL_USER_EXISTS, env, r->uid);
	if (rc == 0)
		rc = careid_error_set(CAREID_ENOTFOUND, "user %s not found in %s", r->uid, env);
	if (rc < 0)
		goto out;
	rc = dir_org_lookup(&org_name, s, env, ods);
	if (rc == 0)
		rc =
		    careid_error_set(CAREID_ENOTFOUND, "organisation %s not found in %s", ods, env);
	if (rc < 0)
		goto out;
	rc = membership(orgid, s, env, r->uid, ods, person_orgid);
	if (rc)
		goto out;
	if (person_roleid) {
		if ((rc = dir_check_id(person_roleid, "person_roleid")))
			goto out;
		rc = dir_exists(s, SQL_ROLEID_USED, env, person_roleid);
		if (rc == 1)
			rc = careid_error_set(CAREID_EEXISTS,
			                      "person_roleid %s already exists in %s",
			                      person_roleid, env);
		if (rc)
			goto out;
		memcpy(roleid, person_roleid, sizeof(roleid));
	} else if ((rc = fresh_id(roleid, s, env, SQL_ROLEID_USED, "person_roleid"))) {
		goto out;
	}

	acts_text = json_dumps(acts, JSON_COMPACT | JSON_PRESERVE_ORDER);
	wgs_text = json_dumps(wgs, JSON_COMPACT | JSON_PRESERVE_ORDER);
	aow_text = json_dumps(aow, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!acts_text || !wgs_text || !aow_text) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	rc = store_exec(s, SQL_ROLE_INSERT, "tttttttttti", env, roleid, r->uid, orgid, ods,
	                r->role_code, r->role_name, acts_text, wgs_text, aow_text, now);
	if (rc == CAREID_EEXISTS)
		rc = careid_error_set(CAREID_EEXISTS, "person_roleid %s already exists in %s",
		                      roleid, env);
	if (rc < 0)
		goto out;
	rc = 0;
	if (out) {
		rc = role_new(out, roleid, orgid, ods, org_name, r, acts, wgs, aow);
		org_name = NULL;
	}
out:
	free(acts_text);
	free(wgs_text);
	free(aow_text);
	free(org_name);
	json_decref(acts);
	json_decref(wgs);
	json_decref(aow);
	return rc;
}

int directory_role_add(struct dir_role **out, store *s, const char *env,
                       const struct dir_role_new *r)
{
	int rc;

	if (out)
		*out = NULL;
	rc = store_begin(s);
	if (rc)
		return rc;
	rc = dir_role_insert(out, s, env, r, NULL, NULL, clock_now());
	if (rc)
		return dir_rollback(s, rc);
	rc = store_commit(s);
	if (rc) {
		if (out) {
			dir_role_free(*out);
			*out = NULL;
		}
		return dir_rollback(s, rc);
	}
	return 0;
}

/* Adds "<names_key>": [names] and "<codes_key>": [codes] of a stored list. */
static int list_split(json_t *obj, const char *names_key, const char *codes_key, const json_t *list)
{
	json_t *names = json_array(), *codes = json_array(), *item;
	size_t i;

	if (!names || !codes || json_object_set_new(obj, names_key, json_incref(names)) ||
	    json_object_set_new(obj, codes_key, json_incref(codes))) {
		json_decref(names);
		json_decref(codes);
		return -1;
	}
	/* obj holds the references now; names and codes stay valid while it lives */
	json_decref(names);
	json_decref(codes);
	json_array_foreach(list, i, item)
	{
		if (json_array_append(names, json_object_get(item, "name")) ||
		    json_array_append(codes, json_object_get(item, "code")))
			return -1;
	}
	return 0;
}

json_t *dir_role_nrbac_json(const struct dir_role *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "person_orgid", r->person_orgid,
	                      "person_roleid", r->person_roleid, "org_code", r->org_code,
	                      "role_code", r->role_code, "role_name", r->role_name);

	if (!o)
		return NULL;
	if (list_split(o, "activities", "activity_codes", r->activities) ||
	    list_split(o, "workgroups", "workgroups_codes", r->workgroups) ||
	    list_split(o, "aow", "aow_codes", r->aow)) {
		json_decref(o);
		return NULL;
	}
	return o;
}
