/* Listing and ending SSO sessions (sessions.h). */
#include "oidc/sessions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/log.h"
#include "oidc/backchannel.h"
#include "oidc/oidc_int.h"

#define SID_MAX 64

_Static_assert(SESSIONS_SIGNIN_TO_TOKEN_MAX == TX_TTL + CODE_TTL,
               "sessions.h: a sign-in's transaction and code lifetimes");

static json_t *nullable_int(store_stmt *st, int col)
{
	return store_null(st, col) ? json_null() : json_integer(store_int(st, col));
}

/* The client ids of a session, as a new JSON array. */
static int session_clients(json_t **out, store *s, const char *env, const char *sid)
{
	static const char sql[] = "SELECT client_id FROM session_clients WHERE env = $1 AND "
	                          "sid = $2 ORDER BY first_at, client_id";
	store_stmt *st = NULL;
	json_t *list = json_array();
	int rc;

	*out = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, sql, "tt", env, sid);
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

int sessions_list(json_t **out, store *s, const char *env, const char *uid, bool include_ended)
{
	static const char sql[] =
	    "SELECT env, sid, uid, auth_time, acr, amr, aal, created_at, last_seen, expires_at, "
	    "ended_at, end_reason FROM sessions WHERE ($1 IS NULL OR env = $1) AND "
	    "($2 IS NULL OR uid = $2) AND (ended_at IS NULL OR $3 = 1) "
	    "ORDER BY created_at DESC, sid";
	store_stmt *st = NULL;
	json_t *list = json_array();
	int rc;

	*out = NULL;
	if (!list)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, sql, "tti", env, uid, (int64_t)include_ended);
	while (!rc && (rc = store_next(st)) == 1) {
		json_t *amr = json_loads(store_text(st, 5), 0, NULL);
		json_t *row = json_pack(
		    "{s:s, s:s, s:s, s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:o, s:s?}", "env",
		    store_text(st, 0), "sid", store_text(st, 1), "uid", store_text(st, 2),
		    "auth_time", (json_int_t)store_int(st, 3), "acr", store_text(st, 4), "amr",
		    amr ? amr : json_array(), "aal", (json_int_t)store_int(st, 6), "created_at",
		    (json_int_t)store_int(st, 7), "last_seen", (json_int_t)store_int(st, 8),
		    "expires_at", (json_int_t)store_int(st, 9), "ended_at", nullable_int(st, 10),
		    "end_reason", store_null(st, 11) ? NULL : store_text(st, 11));

		rc = row && !json_array_append_new(list, row)
		         ? 0
		         : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	/* each session's clients, once the cursor is done */
	for (size_t i = 0; rc >= 0 && i < json_array_size(list); i++) {
		json_t *row = json_array_get(list, i), *clients = NULL;

		rc = session_clients(&clients, s, json_string_value(json_object_get(row, "env")),
		                     json_string_value(json_object_get(row, "sid")));
		if (!rc)
			json_object_set_new(row, "clients", clients);
	}
	if (rc < 0) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}

/* The environment and user of a session (NULL `env`: wherever it is). */
static int session_find(char env_out[16], char uid_out[64], bool *ended, store *s, const char *env,
                        const char *sid)
{
	static const char sql[] = "SELECT env, uid, ended_at FROM sessions WHERE sid = $1 AND "
	                          "($2 IS NULL OR env = $2) ORDER BY created_at DESC LIMIT 1";
	store_stmt *st = NULL;
	int rc = store_query(s, &st, sql, "tt", sid, env);

	if (!rc)
		rc = store_next(st);
	if (rc == 1) {
		snprintf(env_out, 16, "%s", store_text(st, 0));
		snprintf(uid_out, 64, "%s", store_text(st, 1));
		*ended = !store_null(st, 2);
		rc = 0;
	} else if (rc == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND, "no such session");
	}
	store_done(st);
	return rc;
}

int sessions_end(int *ended_out, int *notified_out, store *s, const char *env, const char *sid,
                 const char *reason, const char *actor)
{
	const struct session_end e = {
	    .env = env, .sid = sid, .reason = reason, .actor = actor, .client_id = NULL};

	return sessions_end_for(ended_out, notified_out, s, &e);
}

int sessions_end_for(int *ended_out, int *notified_out, store *s, const struct session_end *e)
{
	static const char sql[] = "UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE "
	                          "env = $3 AND sid = $4 AND ended_at IS NULL";
	const char *env = e->env, *sid = e->sid, *reason = e->reason, *actor = e->actor;
	char where[16], uid[64], subject[80];
	json_t *detail = NULL, *clients = NULL;
	bool ended = false;
	int queued = 0, rc;

	if (ended_out)
		*ended_out = 0;
	if (notified_out)
		*notified_out = 0;
	if (!sid || !*sid || strlen(sid) > SID_MAX)
		return careid_error_set(CAREID_ENOTFOUND, "no such session");
	rc = store_begin(s);
	if (rc)
		return rc;
	rc = session_find(where, uid, &ended, s, env, sid);
	if (rc || ended)
		goto out;
	rc = store_exec(s, sql, "ittt", clock_now(), reason, where, sid);
	if (rc <= 0)
		goto out; /* 0: another request ended it first */
	rc = backchannel_enqueue(s, where, sid, uid, &queued);
	if (!rc)
		rc = session_clients(&clients, s, where, sid);
	if (!rc) {
		detail = json_pack("{s:s, s:s, s:s, s:i, s:O, s:s*}", "env", where, "sid", sid,
		                   "reason", reason, "logout_tokens", queued, "clients", clients,
		                   "client_id", e->client_id);
		snprintf(subject, sizeof(subject), "user:%s", uid);
		rc = detail ? audit_record(s, actor ? actor : "system", "session.ended", subject,
		                           detail)
		            : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	if (!rc) {
		if (ended_out)
			*ended_out = 1;
		if (notified_out)
			*notified_out = queued;
	}
out:
	json_decref(detail);
	json_decref(clients);
	if (rc < 0) {
		store_rollback(s);
		return rc;
	}
	rc = store_commit(s);
	if (!rc && ended_out && *ended_out)
		log_pack(LOG_INFO, "session_ended", "{s:s, s:s, s:s, s:i}", "env", where, "sid",
		         sid, "reason", reason, "logout_tokens", queued);
	return rc;
}

int sessions_ended(int64_t *ended_at_out, char reason_out[SESSIONS_REASON_MAX], store *s,
                   const char *env, const char *sid)
{
	static const char sql[] = "SELECT ended_at, end_reason FROM sessions WHERE env = $1 AND "
	                          "sid = $2 ORDER BY created_at DESC LIMIT 1";
	store_stmt *st = NULL;
	int rc;

	*ended_at_out = 0;
	reason_out[0] = '\0';
	if (!env || !sid || !*sid || strlen(sid) > SID_MAX)
		return careid_error_set(CAREID_ENOTFOUND, "no such session");
	rc = store_query(s, &st, sql, "tt", env, sid);
	if (!rc)
		rc = store_next(st);
	if (rc == 1) {
		if (!store_null(st, 0)) {
			*ended_at_out = store_int(st, 0);
			snprintf(reason_out, SESSIONS_REASON_MAX, "%s",
			         store_null(st, 1) ? "" : store_text(st, 1));
		}
		rc = 0;
	} else if (rc == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND, "no such session");
	}
	store_done(st);
	return rc;
}

int sessions_expire(int *ended_out, store *s, const char *env, int64_t now, int64_t idle_before)
{
	static const char sql[] =
	    "SELECT sid, CASE WHEN expires_at <= $2 THEN 'expired' ELSE 'idle' END FROM sessions "
	    "WHERE env = $1 AND ended_at IS NULL AND (expires_at <= $2 OR last_seen <= $3) "
	    "LIMIT 100";
	store_stmt *st = NULL;
	json_t *due = json_array();
	int rc, n = 0;

	*ended_out = 0;
	if (!due)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = store_query(s, &st, sql, "tii", env, now, idle_before);
	while (!rc && (rc = store_next(st)) == 1) {
		rc = 0;
		if (json_array_append_new(
		        due, json_pack("[s, s]", store_text(st, 0), store_text(st, 1))))
			rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	for (size_t i = 0; rc >= 0 && i < json_array_size(due); i++) {
		json_t *d = json_array_get(due, i);
		int one = 0;

		rc = sessions_end(&one, NULL, s, env, json_string_value(json_array_get(d, 0)),
		                  json_string_value(json_array_get(d, 1)), "system");
		n += one;
	}
	json_decref(due);
	*ended_out = n;
	return rc < 0 ? rc : 0;
}
