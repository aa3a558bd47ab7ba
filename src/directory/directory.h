/*
 * The directory: the people an environment knows, the organisations they
 * work for and their NHS national RBAC role profiles.
 *
 * Each environment ("mock", "int", "dep", "live") has its own directory; every
 * function takes the environment's name and refuses an unknown one with
 * CAREID_EINVALID. The directory owns the tables `organisations`, `users` and
 * `role_profiles`; other modules read and change them only through these
 * functions.
 *
 * Identifiers, as CIS2 shapes them:
 *   - a user's UID (`sub`, `nhsid_useruid`) is exactly 12 digits, chosen by
 *     whoever registers the user (e.g. "910000000001");
 *   - an organisation is named by its ODS code: 3 to 6 upper-case letters and
 *     digits ("RBA", "A81001", "FA565", "X26"); lower-case input is
 *     upper-cased;
 *   - a role profile (`person_roleid`) and a person's membership of an
 *     organisation (`person_orgid`) are 12 random digits chosen here. All role
 *     profiles of one user at one organisation share one person_orgid.
 *   - a national RBAC job role code is `S<digits>:G<digits>:R<digits>`
 *     ("S8000:G8000:R8001"); an activity code is `B` and 4 digits ("B0401").
 *
 * E-mail addresses are stored lower-cased and are unique per environment;
 * sign-in accepts the UID or the e-mail address in any case.
 *
 * Errors are CAREID_E* codes with a message a person can act on
 * ("uid must be 12 digits", "organisation RBA not found in mock").
 *
 * Functions that write run their own transaction (store_begin/commit), so
 * they must not be called inside one.
 */
#ifndef CAREID_DIRECTORY_DIRECTORY_H
#define CAREID_DIRECTORY_DIRECTORY_H

#include <stddef.h>

#include <jansson.h>

#include "store/store.h"

/* The password of every user directory_seed_demo() creates. */
#define DIRECTORY_DEMO_PASSWORD "careid-demo"

#define DIR_UID_LEN     12                     /* digits in a UID, person_roleid, person_orgid */
#define DIR_NAME_MAX    100                    /* characters in a title or a person's name */
#define DIR_DISPLAY_MAX (2 * DIR_NAME_MAX + 1) /* characters in a display name */
#define DIR_TEXT_MAX    200 /* characters in an organisation, role or activity name */
#define DIR_EMAIL_MAX   254 /* bytes in an e-mail address */
#define DIR_LIST_MAX    100 /* activities, workgroups or areas of work per role */

/*
 * One role profile of a user at an organisation. Every string is owned by the
 * struct and never NULL. `activities`, `workgroups` and `aow` (areas of work)
 * are JSON arrays, never NULL, of objects {"code": "B0401", "name": "View
 * Patient Medication"}, in the order they were given.
 */
struct dir_role {
	char *person_roleid;
	char *person_orgid;
	char *org_code;
	char *org_name;
	char *role_code; /* "S8000:G8000:R8001" */
	/* as CIS2 prints it: "\"Clinical\":\"Clinical Provision\":\"Nurse Access Role\"" */
	char *role_name;
	json_t *activities;
	json_t *workgroups;
	json_t *aow;
};

/*
 * A user with all their role profiles. Owned by the caller: free with
 * dir_user_free(). `title`, `middle_names`, `email` and `password_hash` are
 * NULL when the user has none; the other strings are never NULL.
 * `roles` holds `nroles` profiles in the order they were added (by creation
 * time, then person_roleid for those added in the same second); it is NULL
 * when nroles is 0.
 */
struct dir_user {
	char *uid;
	char *title;
	char *given_name;
	char *family_name;
	char *middle_names;
	char *display_name;
	char *email;            /* lower case */
	int id_assurance_level; /* 1..3 */
	char *password_hash;    /* a crypto/password.h hash; NULL: no password sign-in */
	struct dir_role *roles;
	size_t nroles;
};

/* Frees a user and its roles. Accepts NULL. */
void dir_user_free(struct dir_user *u);

/* Frees a role returned by directory_role_add(). Accepts NULL. */
void dir_role_free(struct dir_role *r);

/*
 * Reads user `uid` of `env` with its role profiles, each with the name of its
 * organisation. `*out` is the caller's (dir_user_free()); NULL on error.
 * CAREID_ENOTFOUND when there is no such user.
 */
int directory_user_get(struct dir_user **out, store *s, const char *env, const char *uid);

/*
 * The identity assurance level (1..3) of user `uid` of `env`: one indexed
 * read, for callers that need nothing else of the user (ID tokens).
 * CAREID_ENOTFOUND when there is no such user.
 */
int directory_user_ial(int *out, store *s, const char *env, const char *uid);

/*
 * Finds the user a sign-in form names: `username` is the 12-digit UID or the
 * e-mail address (compared without regard to case). Like
 * directory_user_get() otherwise; CAREID_ENOTFOUND when nobody matches,
 * including for input that is neither a UID nor an e-mail address.
 */
int directory_user_find_login(struct dir_user **out, store *s, const char *env,
                              const char *username);

/*
 * Lists the users of `env`, ordered by UID: a new JSON array (the caller
 * decrefs it) of {"uid", "display_name", "email" (or null), "roles": count}.
 */
int directory_user_list(json_t **out, store *s, const char *env);

/* What directory_user_add() needs. Only uid, given_name and family_name are
 * required; the rest may be NULL (or 0). */
struct dir_user_new {
	const char *uid;   /* 12 digits */
	const char *title; /* "Dr", "Mr", "Ms", … */
	const char *given_name;
	const char *family_name;
	const char *middle_names;
	const char *display_name; /* NULL: "Given Family" */
	const char *email;        /* stored lower case; unique in the environment */
	int id_assurance_level;   /* 1..3; 0 means 3 */
};

/*
 * Registers a user. Names are 1..DIR_NAME_MAX characters (a display name up
 * to DIR_DISPLAY_MAX) of UTF-8 text without control characters; the e-mail
 * address looks like `local@domain.tld` and has at most DIR_EMAIL_MAX bytes.
 * `password` (1..PASSWORD_MAX_LEN bytes) is hashed with password_hash();
 * NULL creates a user who cannot sign in with a password.
 * CAREID_EINVALID names the bad field; CAREID_EEXISTS when the UID
 * or the e-mail address is already taken in `env`.
 */
int directory_user_add(store *s, const char *env, const struct dir_user_new *u,
                       const char *password);

/*
 * Replaces the password of user `uid`; NULL removes password sign-in.
 * CAREID_ENOTFOUND when there is no such user.
 */
int directory_user_set_password(store *s, const char *env, const char *uid, const char *password);

/*
 * Registers organisation `code` (an ODS code) named `name` (1..DIR_TEXT_MAX
 * characters). CAREID_EEXISTS when `env` already has it.
 */
int directory_org_add(store *s, const char *env, const char *code, const char *name);

/*
 * What directory_role_add() needs. Each list is `n` codes and `n` names, in
 * parallel (both arrays may be NULL when n is 0). Activity codes are `B` and 4
 * digits; workgroup and area-of-work codes are 1..64 letters, digits and
 * `:._-` ("555653110100", "P0020:Q0300:T0640"). Names are 1..DIR_TEXT_MAX
 * characters. A code may appear once per list.
 */
struct dir_role_new {
	const char *uid;
	const char *org_code;
	const char *role_code; /* S<digits>:G<digits>:R<digits> */
	const char *role_name; /* 1..DIR_TEXT_MAX characters */
	const char *const *activity_codes;
	const char *const *activity_names;
	size_t nactivities;
	const char *const *workgroup_codes;
	const char *const *workgroup_names;
	size_t nworkgroups;
	const char *const *aow_codes;
	const char *const *aow_names;
	size_t naow;
};

/*
 * Gives user `r->uid` a role profile at organisation `r->org_code`, with a new
 * random person_roleid. The person_orgid is the one the user already has at
 * that organisation, or a new random one. A user may hold the same job role
 * twice (two profiles). When `out` is not NULL it receives the new profile,
 * org_name included (the caller's: dir_role_free()).
 * CAREID_EINVALID names the bad field; CAREID_ENOTFOUND says whether the user
 * or the organisation is missing.
 */
int directory_role_add(struct dir_role **out, store *s, const char *env,
                       const struct dir_role_new *r);

/*
 * One element of the `nhsid_nrbac_roles` claim, exactly as CIS2 shapes it:
 * {"person_orgid", "person_roleid", "org_code", "role_code", "role_name",
 *  "activities": [names], "activity_codes": [codes], "workgroups": [names],
 *  "workgroups_codes": [codes], "aow": [names], "aow_codes": [codes]}.
 * A new reference (the caller decrefs it), NULL only when memory ran out.
 */
json_t *dir_role_nrbac_json(const struct dir_role *r);

/*
 * The `nhsid_user_orgs` claim: [{"org_code", "org_name"}] for each distinct
 * organisation of the user's roles, in the order first seen. A new reference,
 * NULL only when memory ran out.
 */
json_t *dir_user_orgs_json(const struct dir_user *u);

/*
 * The user for people and tools (`careid user show`): every field except the
 * password hash ("has_password" says whether there is one), absent fields as
 * null, and "roles": the nrbac shape of each role plus "org_name". A new
 * reference, NULL only when memory ran out.
 */
json_t *dir_user_json(const struct dir_user *u);

/*
 * Seeds the demo data set when the mock environment has no users: the same
 * organisations, users and role profiles in "mock" and "int" (int is seeded
 * only if it has no users either), all in one transaction. Every demo user's
 * password is DIRECTORY_DEMO_PASSWORD; person_roleids and person_orgids are
 * fixed, so documentation can cite them. The users include NHS's mock-service
 * UIDs (656005750104/107/108/109/111) and 910000000001, who holds three roles
 * at two organisations.
 *
 * `report_out` (may be NULL) receives a new JSON object:
 * {"seeded": bool, "envs": [names seeded], "password": "careid-demo",
 *  "users": [{"uid", "name", "email", "roles": [{"person_roleid",
 *  "person_orgid", "role_code", "role_name", "org_code"}]}]}
 * ("users" is empty when nothing was seeded).
 */
int directory_seed_demo(store *s, json_t **report_out);

/*
 * Authenticators registered to a user (authn/ adds them: authenticator apps,
 * WebAuthn credentials, smartcards). Revoked ones stay in the store, marked.
 *
 * directory_authenticators: a new JSON array of {"id", "kind", "method"
 * (its "amr" value), "level" (1..3), "name", "failures" (consecutive wrong
 * codes, authenticator apps), "created_at", "last_used_at" (or null),
 * "revoked_at" (or null), and for smartcards "serial"} ordered by creation;
 * revoked ones only with `include_revoked`.
 */
int directory_authenticators(json_t **out, store *s, const char *env, const char *uid,
                             bool include_revoked);

/* How many unrevoked authenticators of `kind` ("totp", "webauthn",
 * "smartcard"; NULL: any) the user has. */
int directory_authenticator_count(int *out, store *s, const char *env, const char *uid,
                                  const char *kind);

/* Renames one of the user's authenticators (1..DIR_NAME_MAX characters of
 * text). CAREID_ENOTFOUND when the user has no such unrevoked one. */
int directory_authenticator_rename(store *s, const char *env, const char *uid, const char *id,
                                   const char *name);

/* Clears the consecutive wrong codes of the user's authenticator apps, which
 * lock them at TOTP_MAX_FAILURES; `*n_out` (may be NULL) counts the apps. */
int directory_authenticator_unlock(int *n_out, store *s, const char *env, const char *uid);

/* Revokes one of the user's authenticators (id), or all of them (id NULL:
 * a reset); `*n_out` (may be NULL) counts them. A smartcard revoked here is
 * not yet on its CA's revocation list: careid card revoke does both. */
int directory_authenticator_revoke(int *n_out, store *s, const char *env, const char *uid,
                                   const char *id);

#endif
