/*
 * Internals shared by the directory's own files (directory.c, role.c,
 * validate.c, demo.c). Not for other modules.
 */
#ifndef CAREID_DIRECTORY_DIRECTORY_INT_H
#define CAREID_DIRECTORY_DIRECTORY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "directory/directory.h"

#define DIR_ODS_MAX  6
#define DIR_CODE_MAX 64 /* bytes in a workgroup or area-of-work code */

/* --- validate.c: each returns 0 or CAREID_EINVALID with a message --- */

/* `env` is one of env_names. */
int dir_check_env(const char *env);

/* `s` is exactly `n` ASCII digits. */
bool dir_is_digits(const char *s, size_t n);

/* `uid` is 12 digits; `what` names it in the message ("uid"). */
int dir_check_id(const char *id, const char *what);

/*
 * `s` is 1..maxchars characters of valid UTF-8 without control characters and
 * not only spaces. NULL is accepted when `required` is false.
 */
int dir_check_text(const char *s, const char *what, size_t maxchars, bool required);

/* Checks an e-mail address and writes it lower-cased into `out`. */
int dir_norm_email(char out[DIR_EMAIL_MAX + 1], const char *email);

/* Checks an ODS code and writes it upper-cased into `out`. */
int dir_norm_ods(char out[DIR_ODS_MAX + 1], const char *code);

/* S<digits>:G<digits>:R<digits> */
int dir_check_role_code(const char *code);

/* B and 4 digits */
int dir_check_activity_code(const char *code);

/* 1..DIR_CODE_MAX of [A-Za-z0-9:._-]; `what` names the list ("workgroup"). */
int dir_check_list_code(const char *code, const char *what);

/* --- directory.c and role.c: writes without a transaction of their own --- */

/* 1 when `sql` with two text parameters finds a row, 0 when not, or a
 * negative code. */
int dir_exists(store *s, const char *sql, const char *a, const char *b);

/* Number of users in `env`. */
int dir_count_users(int64_t *out, store *s, const char *env);

/* 1 when organisation `code` (already normalised) exists, 0 when not, or a
 * negative code. When `name_out` is not NULL and it exists, *name_out is a
 * copy of its name (the caller frees it). */
int dir_org_lookup(char **name_out, store *s, const char *env, const char *code);

/* directory_org_add() inside the caller's transaction. */
int dir_org_insert(store *s, const char *env, const char *code, const char *name, int64_t now);

/* directory_user_add() inside the caller's transaction, with the password
 * already hashed (NULL: none). */
int dir_user_insert(store *s, const char *env, const struct dir_user_new *u,
                    const char *password_hash, int64_t now);

/*
 * directory_role_add() inside the caller's transaction. `person_orgid` and
 * `person_roleid` may be fixed (the demo data) or NULL to choose them as
 * directory_role_add() does.
 */
int dir_role_insert(struct dir_role **out, store *s, const char *env, const struct dir_role_new *r,
                    const char *person_orgid, const char *person_roleid, int64_t now);

/* Releases what a role holds (the struct itself is not freed). */
void dir_role_release(struct dir_role *r);

/* Reads the roles of `u` (u->uid) from the store into u->roles. */
int dir_roles_load(struct dir_user *u, store *s, const char *env);

/* Rolls back after a failure, keeping the failure's error message. Returns rc. */
int dir_rollback(store *s, int rc);

#endif
