/* Technical conformance (CIS2-PROFILE.md, "Get your software assured"): the
 * live checklist of what the product's INT clients have shown, read from the
 * identity provider's own audit trail (docs/conformance-evidence.md) and
 * judged by checklist.c; the test logout tokens sent on request; the checklist
 * submitted for the CIS2 team's confirmation once every item is met. The
 * confirmation is kept as the product's ob_stages row 'technical_conformance'
 * (state submitted, more_info, declined or approved; answers: the snapshot). */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "oidc/backchannel.h"
#include "oidc/sessions.h"
#include "onboarding/checklist.h"
#include "onboarding/onboarding_int.h"

#define STAGE_NAME    "technical_conformance"
#define CONF_ENV      "int"
#define MAX_CLIENTS   20
#define CLIENT_ID_MAX 200
#define NOT_GRANTED   "CIS2 Authentication must be added to this product first"
#define NOT_IN_TEAM   "Only the product's team can send test tokens and submit the checklist."

/* The evidence read per client (events_load()). */
#define EXCHANGES_MAX 500 /* newest token.issued */
#define USERINFO_MAX  500 /* newest userinfo.served */
#define WINDOWS_MAX   50  /* newest exchanges whose sign-in is looked for */
#define WINDOW_ROWS   100 /* rows read back from one exchange */
#define SESSIONS_MAX  50  /* newest sessions whose logout is looked for */
#define LOGOUT_ROWS   20  /* rows read around one session's end */
#define TESTS_MAX     50  /* newest test logout events */
#define RECENT_MAX    20  /* newest sign-ins, roles and logouts of any session */
#define WALK_DONE     1   /* event_push(): the walk found what it looked for */

/* What the audit trail says about the product's INT clients. */
struct evidence {
	struct checklist_client clients[MAX_CLIENTS];
	const char *names[MAX_CLIENTS];
	size_t nclients;
	struct checklist_event *events;
	size_t nevents, cap;
	json_t *details; /* owns the events' details; the arena drops it */
	struct checklist list;
	/* the page after a refused test request: the client and why (or NULL) */
	const char *test_client, *test_error;
};

/* The product's 'technical_conformance' row; id NULL when never submitted. */
struct confirmation {
	const char *id;
	const char *state; /* submitted, more_info, declined, approved */
	int submissions;
};

static void decref(void *p)
{
	json_decref(p);
}

static bool member(const struct ob_product *p)
{
	return !p->as_reviewer && p->t;
}

static bool granted(const struct ob_product *p)
{
	return p->cis2_access && strcmp(p->cis2_access, "granted") == 0;
}

static const char *issuer(struct ob_req *r)
{
	return provider_issuer(r->o->p, env_index(CONF_ENV));
}

/* --- evidence ------------------------------------------------------------ */

/* The product's INT clients with what oidc/ registered for them. */
static int clients_load(struct ob_req *r, const char *product_id, struct evidence *ev)
{
	static const char sql[] = "SELECT client_id, created_at FROM ob_env_clients WHERE "
	                          "product_id = $1 AND env = $2 ORDER BY created_at, client_id";
	const char *ids[MAX_CLIENTS];
	int64_t at[MAX_CLIENTS];
	store_stmt *st = NULL;
	size_t n = 0;
	int rc = store_query(r->o->s, &st, sql, "tt", product_id, CONF_ENV);

	while (!rc && n < MAX_CLIENTS && (rc = store_next(st)) == 1) {
		ids[n] = arena_strdup(r->a, store_text(st, 0));
		at[n] = store_int(st, 1);
		rc = ids[n++] ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct checklist_client *c = &ev->clients[ev->nclients];
		struct client *cl = NULL;

		rc = client_get(&cl, r->o->s, CONF_ENV, ids[i]);
		if (rc == CAREID_ENOTFOUND) /* removed from oidc/ since */
			continue;
		if (rc)
			return rc;
		c->client_id = ids[i];
		c->registered_at = at[i];
		c->auth_method = arena_strdup(r->a, cl->auth_method);
		c->backchannel_uri = cl->backchannel_logout_uri
		                         ? arena_strdup(r->a, cl->backchannel_logout_uri)
		                         : NULL;
		ev->names[ev->nclients] = arena_strdup(r->a, cl->name);
		rc = c->auth_method && ev->names[ev->nclients] &&
		             (!cl->backchannel_logout_uri || c->backchannel_uri)
		         ? 0
		         : careid_error_set(CAREID_ENOMEM, "out of memory");
		client_free(cl);
		if (rc)
			return rc;
		ev->nclients++;
	}
	return 0;
}

/* A walk's context: the request, the evidence growing, and what to keep. */
struct walk {
	struct ob_req *r;
	struct evidence *ev;
	const char *sid;  /* keep only the events of this session (NULL: every one) */
	const char *last; /* stop once an event of this action is kept (NULL: never) */
};

static int event_push(void *ctx, const struct audit_event *a)
{
	struct walk *w = ctx;
	struct evidence *ev = w->ev;
	struct checklist_event *e;
	const char *sid = json_string_value(json_object_get(a->detail, "sid"));

	if (w->sid && (!sid || strcmp(sid, w->sid) != 0))
		return 0;
	if (ev->nevents == ev->cap) {
		size_t cap = ev->cap ? ev->cap * 2 : 64;
		struct checklist_event *more = arena_alloc(w->r->a, cap * sizeof(*more));

		if (!more)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		if (ev->nevents)
			memcpy(more, ev->events, ev->nevents * sizeof(*more));
		ev->events = more;
		ev->cap = cap;
	}
	if (json_array_append(ev->details, a->detail))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	e = &ev->events[ev->nevents];
	e->seq = a->seq;
	e->at = a->at;
	e->action = arena_strdup(w->r->a, a->action);
	e->actor = a->actor ? arena_strdup(w->r->a, a->actor) : NULL;
	e->subject = a->subject ? arena_strdup(w->r->a, a->subject) : NULL;
	e->detail = a->detail;
	if (!e->action || (a->actor && !e->actor) || (a->subject && !e->subject))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	ev->nevents++;
	return w->last && strcmp(a->action, w->last) == 0 ? WALK_DONE : 0;
}

/* One walk of `q`, keeping what `sid` and `last` say (struct walk). */
static int walk_read(struct ob_req *r, struct evidence *ev, const struct audit_client_query *q,
                     const char *sid, const char *last)
{
	struct walk w = {r, ev, sid, last};
	int rc = audit_client_events(r->o->s, q, event_push, &w);

	return rc == WALK_DONE ? 0 : rc;
}

/* An exchange read: the session a token.issued names and when. */
struct exchange_at {
	const char *sid; /* borrowed from the event's detail (kept in ev->details) */
	int64_t at;
};

static bool sid_seen(const struct exchange_at *x, size_t n, const char *sid)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(x[i].sid, sid) == 0)
			return true;
	}
	return false;
}

/*
 * The events of one client from its registration on, read by client from the
 * audit trail (audit_client_events(); checklist.c checks env, client and
 * sessions again), in a bounded number of bounded reads that a third party
 * cannot crowd out. Anyone can open an authorization URL naming the client
 * and sign in, choose a role or log out there, as often as they like; only
 * the relying party can exchange a code ("token.issued") or call userinfo
 * with its token ("userinfo.served"). So:
 *   1. the newest EXCHANGES_MAX token.issued and USERINFO_MAX userinfo.served;
 *   2. for each of the newest WINDOWS_MAX exchanges, the sign-ins and role
 *      selections of ITS session in the SESSIONS_SIGNIN_TO_TOKEN_MAX seconds
 *      before it, newest first, up to the sign-in that led to it: at most
 *      WINDOW_ROWS rows each, of which a flood would have to fill the few
 *      seconds between that sign-in and the exchange;
 *   3. for each of the newest SESSIONS_MAX sessions exchanged, when it ended
 *      by logout (sessions_ended()), its session.ended in the seconds around
 *      that time;
 *   4. the newest TESTS_MAX test logout events (the latest request decides;
 *      only the product's team and administrators make them);
 *   5. the newest RECENT_MAX sign-ins, role selections and logouts of the
 *      client whatever their session: they count only when exchanged, like
 *      every other, but tell a supplier whose client never exchanged its
 *      codes what was seen (checklist.h's reasons).
 * A client used for months in INT is judged on its recent exchanges: a
 * supplier whose older evidence fell out runs the flows again.
 */
static int events_load(struct ob_req *r, struct evidence *ev, const struct checklist_client *c)
{
	static const char *const tokens[] = {"token.issued", NULL};
	static const char *const userinfo[] = {"userinfo.served", NULL};
	static const char *const signins[] = {"signin.succeeded", "role.selected", NULL};
	static const char *const ended[] = {"session.ended", NULL};
	static const char *const recent[] = {"signin.succeeded", "role.selected", "session.ended",
	                                     NULL};
	static const char *const tests[] = {"logout.test_requested", "logout.test", NULL};
	struct audit_client_query q = {.client_id = c->client_id,
	                               .actions = tokens,
	                               .since = c->registered_at,
	                               .max = EXCHANGES_MAX,
	                               .newest_first = true};
	struct exchange_at *x;
	size_t first = ev->nevents, nx = 0, nsids = 0;
	int rc;

	rc = walk_read(r, ev, &q, NULL, NULL);
	if (rc)
		return rc;
	x = arena_alloc(r->a, (ev->nevents - first + 1) * sizeof(*x));
	if (!x)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = first; i < ev->nevents; i++) { /* newest first */
		const char *sid = json_string_value(json_object_get(ev->events[i].detail, "sid"));

		if (sid && *sid)
			x[nx++] = (struct exchange_at){sid, ev->events[i].at};
	}
	q.actions = userinfo;
	q.max = USERINFO_MAX;
	rc = walk_read(r, ev, &q, NULL, NULL);
	q.actions = signins;
	q.max = WINDOW_ROWS;
	for (size_t i = 0; !rc && i < nx && i < WINDOWS_MAX; i++) {
		q.since = x[i].at - SESSIONS_SIGNIN_TO_TOKEN_MAX;
		q.since = q.since < c->registered_at ? c->registered_at : q.since;
		q.until = x[i].at + 1;
		rc = walk_read(r, ev, &q, x[i].sid, "signin.succeeded");
	}
	q.actions = ended;
	q.max = LOGOUT_ROWS;
	for (size_t i = 0; !rc && i < nx && nsids < SESSIONS_MAX; i++) {
		char reason[SESSIONS_REASON_MAX];
		int64_t at;

		if (sid_seen(x, i, x[i].sid))
			continue;
		nsids++;
		rc = sessions_ended(&at, reason, r->o->s, CONF_ENV, x[i].sid);
		if (rc == CAREID_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc || strcmp(reason, SESSION_END_LOGOUT) != 0)
			continue;
		/* the event and the session's end are one transaction, within a
		 * second of each other */
		q.since = at - 1;
		q.until = at + 2;
		rc = walk_read(r, ev, &q, x[i].sid, "session.ended");
	}
	if (rc)
		return rc;
	q = (struct audit_client_query){.client_id = c->client_id,
	                                .actions = tests,
	                                .since = c->registered_at,
	                                .max = TESTS_MAX,
	                                .newest_first = true};
	rc = walk_read(r, ev, &q, NULL, NULL);
	q.actions = recent;
	q.max = RECENT_MAX;
	return rc ? rc : walk_read(r, ev, &q, NULL, NULL);
}

static int by_seq(const void *a, const void *b)
{
	const struct checklist_event *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Windows of one session may overlap: each event once, in seq order. */
static void events_dedupe(struct evidence *ev)
{
	size_t m = 0;

	if (ev->nevents < 2)
		return;
	qsort(ev->events, ev->nevents, sizeof(*ev->events), by_seq);
	for (size_t i = 0; i < ev->nevents; i++) {
		if (m && ev->events[m - 1].seq == ev->events[i].seq)
			continue;
		ev->events[m++] = ev->events[i];
	}
	ev->nevents = m;
}

static int evidence_load(struct ob_req *r, const char *product_id, struct evidence *ev)
{
	struct checklist_input in;
	int rc;

	memset(ev, 0, sizeof(*ev));
	ev->details = json_array();
	if (!ev->details || arena_defer(r->a, decref, ev->details))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = clients_load(r, product_id, ev);
	for (size_t i = 0; !rc && i < ev->nclients; i++)
		rc = events_load(r, ev, &ev->clients[i]);
	if (rc)
		return rc;
	events_dedupe(ev);
	in = (struct checklist_input){CONF_ENV, ev->clients, ev->nclients, ev->events, ev->nevents};
	return checklist_evaluate(&ev->list, &in);
}

static const struct checklist_client *client_of(const struct evidence *ev, const char *id)
{
	for (size_t i = 0; id && i < ev->nclients; i++) {
		if (strcmp(ev->clients[i].client_id, id) == 0)
			return &ev->clients[i];
	}
	return NULL;
}

/* --- the confirmation ---------------------------------------------------- */

static int confirmation_load(struct ob_req *r, const char *product_id, struct confirmation *out)
{
	static const char sql[] = "SELECT id, state, submissions FROM ob_stages WHERE "
	                          "product_id = $1 AND stage = $2";
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, "tt", product_id, STAGE_NAME);

	memset(out, 0, sizeof(*out));
	if (!rc && (rc = store_next(st)) == 1) {
		out->id = arena_strdup(r->a, store_text(st, 0));
		out->state = arena_strdup(r->a, store_text(st, 1));
		out->submissions = (int)store_int(st, 2);
		rc = out->id && out->state ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	store_done(st);
	return rc < 0 ? rc : 0;
}

/* The last review: {id, submission, due_date, decision, comments} or NULL. */
static json_t *review_json(struct ob_req *r, const char *product_id)
{
	static const char sql[] = "SELECT id, submission, due_date, decision, comments FROM "
	                          "reviews WHERE subject_kind = 'conformance' AND subject_id = $1 "
	                          "ORDER BY submission DESC LIMIT 1";
	store_stmt *st = NULL;
	json_t *out = NULL;

	if (store_query(r->o->s, &st, sql, "t", product_id) == 0 && store_next(st) == 1)
		out = json_pack("{s:s, s:i, s:s, s:s?, s:o?}", "id", store_text(st, 0),
		                "submission", (int)store_int(st, 1), "due_date", store_text(st, 2),
		                "decision", store_text(st, 3), "comments",
		                store_null(st, 4) ? NULL : json_loads(store_text(st, 4), 0, NULL));
	store_done(st);
	return out;
}

/* not_started, in_progress, complete, submitted, achieved or declined. */
static const char *overall(const struct evidence *ev, const struct confirmation *c)
{
	if (c->state && strcmp(c->state, "approved") == 0)
		return "achieved";
	if (c->state && strcmp(c->state, "submitted") == 0)
		return "submitted";
	if (c->state && strcmp(c->state, "declined") == 0)
		return "declined";
	if (ev->list.met == CHECKLIST_ITEMS)
		return "complete";
	return ev->list.met || ev->list.counted ? "in_progress" : "not_started";
}

static const char *state_text(const char *state)
{
	return strcmp(state, "achieved") == 0      ? "Technical conformance achieved"
	       : strcmp(state, "submitted") == 0   ? "Submitted for confirmation"
	       : strcmp(state, "declined") == 0    ? "Declined by the CIS2 onboarding team"
	       : strcmp(state, "complete") == 0    ? "Every item met: ready to submit"
	       : strcmp(state, "in_progress") == 0 ? "In progress"
	                                           : "Not started";
}

static bool can_submit(const struct confirmation *c)
{
	return !c->state || strcmp(c->state, "more_info") == 0 || strcmp(c->state, "declined") == 0;
}

bool conformance_achieved(struct ob_req *r, const char *product_id)
{
	struct confirmation c;

	return confirmation_load(r, product_id, &c) == 0 && c.state &&
	       strcmp(c.state, "approved") == 0;
}

static json_t *clients_json(const struct evidence *ev)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < ev->nclients; i++) {
		const struct checklist_client *c = &ev->clients[i];
		char at[21];

		checklist_iso8601(at, c->registered_at);
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:s, s:s?, s:s, s:I}", "client_id", c->client_id,
		                    "name", ev->names[i], "auth_method", c->auth_method,
		                    "backchannel_logout_uri", c->backchannel_uri, "registered_at",
		                    at, "registered_at_unix", (json_int_t)c->registered_at));
	}
	return list;
}

/* The API's answer: the checklist, the clients, the state and the last review. */
static json_t *conformance_json(struct ob_req *r, const struct ob_product *p,
                                const struct evidence *ev, const struct confirmation *c)
{
	const char *state = overall(ev, c);
	char now[21];

	checklist_iso8601(now, clock_now());
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:b, s:o, s:o, s:o?, s:s}", "product_id",
	    p->id, "product_name", p->name, "env", CONF_ENV, "issuer", issuer(r), "state", state,
	    "state_text", state_text(state), "met", (int)ev->list.met, "total", CHECKLIST_ITEMS,
	    "complete", ev->list.met == CHECKLIST_ITEMS, "items", checklist_json(&ev->list),
	    "clients", clients_json(ev), "review", review_json(r, p->id), "evaluated_at", now);
}

/* --- submission and decision --------------------------------------------- */

static int mail_team(struct ob_req *r, const char *team_id, const char *subject, const char *body)
{
	json_t *emails = NULL, *e;
	size_t i;
	int rc;

	if (!body)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = orgs_team_emails(r, team_id, &emails);
	json_array_foreach(emails, i, e)
	{
		if (!rc)
			rc = notify_mail(r, json_string_value(e), subject, body);
	}
	json_decref(emails);
	return rc;
}

/* What the reviewer reads: facts, and the items (reviews.c shows "items"). */
static char *snapshot(struct ob_req *r, const struct ob_product *p, const struct evidence *ev)
{
	char now[21], *text;
	const char *list = "";
	json_t *snap;

	for (size_t i = 0; list && i < ev->nclients; i++)
		list = arena_printf(r->a, "%s%s%s", list, i ? ", " : "", ev->clients[i].client_id);
	checklist_iso8601(now, clock_now());
	snap = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s, s:o}", "product", p->name, "product_id",
	                 p->id, "environment", "INT", "issuer", issuer(r), "clients", list,
	                 "evaluated_at", now, "items", checklist_json(&ev->list));
	text = snap ? json_dumps(snap, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(snap);
	return text;
}

/*
 * Files the checklist for confirmation in one transaction: the stage row
 * (created, or moved back to submitted from more_info or declined, so a
 * double submission records one), the review with its due date, the e-mail
 * to the team and the audit event. CAREID_EUSED when already submitted or
 * achieved.
 */
static int submit(struct ob_req *r, const struct ob_product *p, const struct evidence *ev,
                  struct confirmation *c, char due[11])
{
	static const char sql_new[] = "INSERT INTO ob_stages (id, product_id, stage, "
	                              "questionnaire_version, answers, state, submissions, "
	                              "created_at, updated_at) VALUES ($1, $2, $3, 1, $4, "
	                              "'submitted', 1, $5, $6)";
	static const char sql_again[] = "UPDATE ob_stages SET answers = $1, state = 'submitted', "
	                                "submissions = submissions + 1, updated_at = $2 WHERE id = "
	                                "$3 AND state IN ('more_info', 'declined')";
	const char *id = c->id ? c->id : ob_random_id(r);
	char *answers = snapshot(r, p, ev), *body;
	int64_t now = clock_now();
	json_t *detail = NULL;
	int submission = c->submissions + 1;
	int rc;

	if (!answers || !id) {
		free(answers);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = store_begin(r->o->s);
	if (rc)
		goto out;
	if (c->id)
		rc = store_exec(r->o->s, sql_again, "tit", answers, now, c->id);
	else
		rc = store_exec(r->o->s, sql_new, "ttttii", id, p->id, STAGE_NAME, answers, now,
		                now);
	if (rc == 0 || rc == CAREID_EEXISTS)
		rc = careid_error_set(CAREID_EUSED, "the checklist has already been submitted");
	if (rc < 0)
		goto fail;
	rc = reviews_file(r, "conformance", p->id, submission, answers, due);
	if (rc)
		goto fail;
	body = arena_printf(r->a,
	                    "Hello,\n\n%s submitted the technical conformance checklist of %s for "
	                    "confirmation (submission %d): every item was met in INT.\n\nThe CIS2 "
	                    "onboarding team will respond by %s (5 working days).\n\n"
	                    "%s/onboarding/products/%s/conformance\n",
	                    r->name, p->name, submission, due, r->o->public_url, p->id);
	rc = mail_team(r, p->t->team_id, "Technical conformance submitted for confirmation", body);
	detail = json_pack("{s:s, s:i, s:s}", "product", p->id, "submission", submission,
	                   "due_date", due);
	if (!rc)
		rc = detail ? audit_record(r->o->s, r->uid, "conformance.submitted",
		                           arena_printf(r->a, "product:%s", p->id), detail)
		            : CAREID_ENOMEM;
	if (rc)
		goto fail;
	rc = store_commit(r->o->s);
	if (!rc) {
		c->id = id;
		c->state = "submitted";
		c->submissions = submission;
	}
	goto out;
fail:
	store_rollback(r->o->s);
out:
	json_decref(detail);
	free(answers);
	return rc;
}

int conformance_decided(struct ob_req *r, const char *product_id, const char *decision,
                        const json_t *comments)
{
	static const char sql_state[] = "UPDATE ob_stages SET state = $1, updated_at = $2 WHERE "
	                                "product_id = $3 AND stage = $4 AND state = 'submitted'";
	static const char sql_product[] = "SELECT p.name, p.team_id, s.submissions FROM "
	                                  "ob_products p JOIN ob_stages s ON s.product_id = p.id "
	                                  "AND s.stage = $1 WHERE p.id = $2";
	const char *state = strcmp(decision, "approve") == 0   ? "approved"
	                    : strcmp(decision, "decline") == 0 ? "declined"
	                                                       : "more_info";
	const char *name = NULL, *team = NULL, *note, *what, *subject;
	store_stmt *st = NULL;
	int submission = 0;
	char *body;
	int rc = store_exec(r->o->s, sql_state, "titt", state, clock_now(), product_id, STAGE_NAME);

	if (rc == 0)
		return careid_error_set(CAREID_EUSED, "the checklist is not awaiting a decision");
	if (rc < 0)
		return rc;
	rc = store_query(r->o->s, &st, sql_product, "tt", STAGE_NAME, product_id);
	if (!rc && (rc = store_next(st)) == 1) {
		name = arena_strdup(r->a, store_text(st, 0));
		team = arena_strdup(r->a, store_text(st, 1));
		submission = (int)store_int(st, 2);
		rc = name && team ? 0 : careid_error_set(CAREID_ENOMEM, "out of memory");
	} else if (rc == 0) {
		rc = careid_error_set(CAREID_ENOTFOUND, "product gone");
	}
	store_done(st);
	if (rc)
		return rc;
	note = json_string_value(json_object_get(comments, "general"));
	what = strcmp(state, "approved") == 0
	           ? "has been confirmed by the CIS2 onboarding team: technical conformance is "
	             "achieved. Next, accept the Connection Agreement in the portal"
	       : strcmp(state, "declined") == 0
	           ? "has been declined by the CIS2 onboarding team. You can fix what they "
	             "describe, run the flows again in INT and submit it again"
	           : "needs more information before the CIS2 onboarding team can decide. You can "
	             "submit it again once you have dealt with their comments";
	subject = strcmp(state, "approved") == 0 ? "Technical conformance achieved"
	          : strcmp(state, "declined") == 0
	              ? "Decision on your technical conformance"
	              : "More information needed: technical conformance";
	body = arena_printf(r->a,
	                    "Hello,\n\nThe technical conformance checklist of %s (submission %d) "
	                    "%s.\n%s%s%s\n%s/onboarding/products/%s/conformance\n",
	                    name, submission, what, note ? "\nComments from the CIS2 team:\n" : "",
	                    note ? note : "", note ? "\n" : "", r->o->public_url, product_id);
	return mail_team(r, team, subject, body);
}

/* --- test logout tokens ---------------------------------------------------- */

/* `msg` as a sentence for people: its first letter in capitals (arena). */
static const char *sentence(struct ob_req *r, const char *msg)
{
	char *s = arena_strdup(r->a, msg ? msg : "");

	if (s && *s >= 'a' && *s <= 'z')
		*s = (char)(*s - 'a' + 'A');
	return s;
}

/*
 * Asks oidc/ to send the two test logout tokens to `client_id`, one of the
 * product's INT clients. `*problem` (in the arena) says why not, for the
 * person; `*status` is the HTTP status to answer with then (429, with a
 * Retry-After header, while the limits on test requests hold).
 */
static int send_tests(struct ob_req *r, const struct evidence *ev, const char *client_id,
                      json_t **out, const char **problem, int *status)
{
	const struct checklist_client *c;
	int64_t retry_after = 0;
	int rc;

	*out = NULL;
	*problem = NULL;
	*status = 400;
	if (!client_id || !*client_id || strlen(client_id) > CLIENT_ID_MAX) {
		*problem = "Choose the INT client to send the test logout tokens to";
		return 0;
	}
	c = client_of(ev, client_id);
	if (!c) {
		*status = 404;
		*problem = "There is no such INT client of this product";
		return 0;
	}
	if (!c->backchannel_uri) {
		*problem = "This client has no back-channel logout URI: register a client with one "
		           "under Environments, then send the test logout tokens";
		return 0;
	}
	rc = backchannel_send_tests(r->o->p, CONF_ENV, client_id, r->uid, out, &retry_after);
	if (rc == CAREID_EINVALID || rc == CAREID_ENOTFOUND || rc == CAREID_EBUSY) {
		*status = rc == CAREID_ENOTFOUND ? 404 : rc == CAREID_EBUSY ? 429 : 400;
		*problem = sentence(r, careid_error_last()->message);
		if (!*problem)
			return careid_error_set(CAREID_ENOMEM, "out of memory");
		if (rc == CAREID_EBUSY) {
			const char *after = arena_printf(r->a, "%lld", (long long)retry_after);

			return after ? http_add_header(r->res, "Retry-After", after)
			             : careid_error_set(CAREID_ENOMEM, "out of memory");
		}
		return 0;
	}
	return rc;
}

/* --- pages ----------------------------------------------------------------- */

/* "2026-05-01 09:30:00 UTC" from "2026-05-01T09:30:00Z". */
static const char *when_text(struct ob_req *r, const char *iso)
{
	return iso && strlen(iso) == 20 ? arena_printf(r->a, "%.10s at %.8s UTC", iso, iso + 11)
	                                : "";
}

static json_t *page_items(struct ob_req *r, const struct evidence *ev)
{
	json_t *items = checklist_json(&ev->list), *it;
	size_t i;

	json_array_foreach(items, i, it)
	{
		const char *at = json_string_value(json_object_get(it, "at"));

		json_object_set_new(it, "number", json_integer((json_int_t)i + 1));
		if (at)
			json_object_set_new(it, "at_text", json_string(when_text(r, at)));
	}
	return items;
}

static json_t *page_clients(struct ob_req *r, const struct ob_product *p, const struct evidence *ev)
{
	json_t *list = clients_json(ev), *c;
	size_t i;

	json_array_foreach(list, i, c)
	{
		json_object_set_new(c, "registered_text",
		                    json_string(when_text(r, json_string_value(json_object_get(
		                                                 c, "registered_at")))));
		json_object_set_new(
		    c, "can_test",
		    json_boolean(member(p) && json_object_get(c, "backchannel_logout_uri") &&
		                 !json_is_null(json_object_get(c, "backchannel_logout_uri"))));
		if (ev->test_client &&
		    strcmp(ev->test_client, json_string_value(json_object_get(c, "client_id"))) ==
		        0)
			json_object_set_new(c, "test_error", json_string(ev->test_error));
	}
	return list;
}

/* The unmet items for the error summary: [{href, text}]. */
static json_t *unmet_links(struct ob_req *r, const struct evidence *ev)
{
	json_t *list = json_array();

	for (int i = 0; list && i < CHECKLIST_ITEMS; i++) {
		const struct checklist_item *it = &ev->list.items[i];

		if (!it->met)
			json_array_append_new(
			    list,
			    json_pack("{s:s, s:s}", "href", arena_printf(r->a, "#item-%s", it->id),
			              "text", arena_printf(r->a, "Not met yet: %s", it->title)));
	}
	return list;
}

/* The page; `problems` ([{href, text}], taken; NULL for none) fill the error
 * summary, after `intro` when given. */
static int checklist_page(struct ob_req *r, int status, const struct ob_product *p,
                          const struct evidence *ev, const struct confirmation *c, json_t *problems,
                          const char *intro, const char *notice)
{
	const char *state = overall(ev, c);
	json_t *review = review_json(r, p->id);
	const char *decision = json_string_value(json_object_get(review, "decision"));
	const char *comment =
	    json_string_value(json_object_get(json_object_get(review, "comments"), "general"));
	bool has_errors = problems && json_array_size(problems) > 0;
	bool open_review = c->state && strcmp(c->state, "submitted") == 0;
	char now[21];

	checklist_iso8601(now, clock_now());
	return ob_page(
	    r, status, "ob_conformance",
	    json_pack(
	        "{s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:i, s:i, s:o, s:o, s:b, s:b, s:b, s:b, s:o, "
	        "s:s?, s:s?, s:s?, s:s?, s:b, s:s, s:s, s:s, s:s, s:o*}",
	        "title", has_errors ? "Error: Technical conformance" : "Technical conformance",
	        "product", "id", p->id, "name", p->name, "state", state, "state_text",
	        state_text(state), "issuer", issuer(r), "met", (int)ev->list.met, "total",
	        CHECKLIST_ITEMS, "items", page_items(r, ev), "clients", page_clients(r, p, ev),
	        "has_clients", ev->nclients > 0, "can_submit", member(p) && can_submit(c),
	        "as_reviewer", p->as_reviewer, "has_errors", has_errors, "problems",
	        problems ? problems : json_array(), "problems_intro", intro, "notice", notice,
	        "due_date",
	        open_review ? json_string_value(json_object_get(review, "due_date")) : NULL,
	        "review_comment",
	        decision && strcmp(decision, "approve") != 0 && !open_review ? comment : NULL,
	        "achieved", strcmp(state, "achieved") == 0, "evaluated_at", now, "evaluated_text",
	        when_text(r, now), "api",
	        arena_printf(r->a, "/api/v1/products/%s/conformance", p->id), "script",
	        "conformance.js", "review", review));
}

static int to_page(struct ob_req *r, const struct ob_product *p, const char *query)
{
	char *loc = arena_printf(r->a, "/onboarding/products/%s/conformance%s", p->id, query);

	return loc ? http_redirect(r->res, 303, loc) : careid_error_set(CAREID_ENOMEM, "oom");
}

static int page_logout_test(struct ob_req *r, const struct ob_product *p, struct evidence *ev,
                            const struct confirmation *c)
{
	const char *id = form_get(&r->req->form, "client_id"), *problem = NULL;
	json_t *out = NULL;
	int status, rc = send_tests(r, ev, id, &out, &problem, &status);

	json_decref(out);
	if (rc)
		return rc;
	if (problem && client_of(ev, id)) {
		ev->test_client = id;
		ev->test_error = problem;
	}
	if (problem)
		return checklist_page(r, status, p, ev, c,
		                      json_pack("[{s:s, s:s}]", "href",
		                                client_of(ev, id)
		                                    ? arena_printf(r->a, "#client-%s", id)
		                                    : "#int-clients",
		                                "text", problem),
		                      NULL, NULL);
	return to_page(r, p, "?sent=1");
}

static int page_submit(struct ob_req *r, const struct ob_product *p, struct evidence *ev,
                       struct confirmation *c)
{
	char due[11];
	int rc;

	if (!can_submit(c))
		return checklist_page(r, 409, p, ev, c, NULL, NULL,
		                      strcmp(c->state, "approved") == 0
		                          ? "Technical conformance has already been achieved."
		                          : "The checklist has already been submitted.");
	if (ev->list.met < CHECKLIST_ITEMS)
		return checklist_page(
		    r, 400, p, ev, c, unmet_links(r, ev),
		    "Every item of the checklist must be met before you submit it. "
		    "The evidence comes only from what your client does in INT.",
		    NULL);
	rc = submit(r, p, ev, c, due);
	if (rc == CAREID_EUSED)
		return checklist_page(r, 409, p, ev, c, NULL, NULL,
		                      "The checklist has already been submitted.");
	return rc ? rc : to_page(r, p, "?submitted=1");
}

/* "/conformance" → ""; "/conformance/submit" → "submit"; NULL otherwise. */
static const char *route(const char *rest)
{
	const char *p = rest + strlen("/conformance");

	if (!*p)
		return "";
	if (*p == '/' && p[1] && !strchr(p + 1, '/'))
		return p + 1;
	return NULL;
}

int conformance_handle(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *action = route(rest), *m = r->req->method, *notice = NULL;
	bool post = strcmp(m, "POST") == 0;
	struct evidence ev;
	struct confirmation c;
	int rc;

	if (!action || (*action && strcmp(action, "logout-test") && strcmp(action, "submit")))
		return ob_error(r, 404, "not_found", "There is no such page.");
	if (!p->as_reviewer && !granted(p))
		return ob_error(r, 403, "cis2_not_granted", NOT_GRANTED);
	if (*action && !post)
		return ob_error(r, 405, "method_not_allowed", "Use the buttons on the page.");
	if (!*action && post)
		return to_page(r, p, "");
	if (post && !member(p))
		return ob_error(r, 403, "not_in_team", NOT_IN_TEAM);
	rc = evidence_load(r, p->id, &ev);
	if (!rc)
		rc = confirmation_load(r, p->id, &c);
	if (rc)
		return rc;
	if (strcmp(action, "logout-test") == 0)
		return page_logout_test(r, p, &ev, &c);
	if (strcmp(action, "submit") == 0)
		return page_submit(r, p, &ev, &c);
	if (form_get(&r->req->query, "sent"))
		notice =
		    "careid is sending a valid and a deliberately invalid logout token to your "
		    "back-channel logout endpoint. The checklist shows how it answered in a few "
		    "seconds.";
	else if (form_get(&r->req->query, "submitted"))
		notice = "Your checklist has been submitted. The CIS2 onboarding team will confirm "
		         "it within 5 working days.";
	return checklist_page(r, 200, p, &ev, &c, NULL, NULL, notice);
}

/* --- API ------------------------------------------------------------------- */

static int api_logout_test(struct ob_req *r, const struct ob_product *p, struct evidence *ev,
                           const struct confirmation *c)
{
	const char *problem = NULL;
	json_t *body, *out = NULL, *res;
	int status, rc;

	body = ob_json_body(r, &rc);
	if (!body)
		return rc;
	if (arena_defer(r->a, decref, body))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = send_tests(r, ev, json_string_value(json_object_get(body, "client_id")), &out,
	                &problem, &status);
	if (rc)
		return rc;
	if (problem)
		return ob_error(r, status,
		                status == 404   ? "not_found"
		                : status == 429 ? "too_many_requests"
		                                : "invalid_request",
		                problem);
	rc = evidence_load(r, p->id, ev); /* with the results just recorded */
	res = rc ? NULL
	         : json_pack("{s:s, s:o*, s:o}", "client_id",
	                     json_string_value(json_object_get(body, "client_id")), "result", out,
	                     "conformance", conformance_json(r, p, ev, c));
	if (rc) {
		json_decref(out);
		return rc;
	}
	return ob_json(r, 200, res);
}

static int api_submit(struct ob_req *r, const struct ob_product *p, struct evidence *ev,
                      struct confirmation *c)
{
	json_t *unmet;
	char due[11];
	int rc;

	if (!can_submit(c))
		return strcmp(c->state, "approved") == 0
		           ? ob_error(r, 409, "already_achieved",
		                      "Technical conformance has already been achieved.")
		           : ob_error(r, 409, "already_submitted",
		                      "The checklist has already been submitted.");
	if (ev->list.met < CHECKLIST_ITEMS) {
		json_t *items = checklist_json(&ev->list), *it;
		size_t i;

		unmet = json_array();
		json_array_foreach(items, i, it)
		{
			if (!json_is_true(json_object_get(it, "met")))
				json_array_append_new(
				    unmet,
				    json_pack("{s:O, s:O, s:O}", "id", json_object_get(it, "id"),
				              "title", json_object_get(it, "title"), "reason",
				              json_object_get(it, "reason")));
		}
		json_decref(items);
		return ob_json(
		    r, 422,
		    json_pack("{s:s, s:s, s:o}", "error", "incomplete", "message",
		              "Every item of the checklist must be met before you submit "
		              "it.",
		              "unmet", unmet));
	}
	rc = submit(r, p, ev, c, due);
	if (rc == CAREID_EUSED)
		return ob_error(r, 409, "already_submitted",
		                "The checklist has already been submitted.");
	if (rc)
		return rc;
	return ob_json(
	    r, 200,
	    json_pack("{s:o, s:s}", "conformance", conformance_json(r, p, ev, c), "due_date", due));
}

int conformance_api(struct ob_req *r, const struct ob_product *p, const char *rest)
{
	const char *action = route(rest), *m = r->req->method;
	bool get = strcmp(m, "GET") == 0;
	struct evidence ev;
	struct confirmation c;
	int rc;

	if (!action || (*action && strcmp(action, "logout-test") && strcmp(action, "submit")))
		return ob_error(r, 404, "not_found", "There is no such resource.");
	if (!p->as_reviewer && !granted(p))
		return ob_error(r, 403, "cis2_not_granted", NOT_GRANTED);
	if ((*action && strcmp(m, "POST") != 0) || (!*action && !get))
		return ob_error(r, 405, "method_not_allowed",
		                "GET /conformance, POST /conformance/logout-test, POST "
		                "/conformance/submit.");
	if (!get && !member(p))
		return ob_error(r, 403, "not_in_team", NOT_IN_TEAM);
	rc = evidence_load(r, p->id, &ev);
	if (!rc)
		rc = confirmation_load(r, p->id, &c);
	if (rc)
		return rc;
	if (strcmp(action, "logout-test") == 0)
		return api_logout_test(r, p, &ev, &c);
	if (strcmp(action, "submit") == 0)
		return api_submit(r, p, &ev, &c);
	return ob_json(r, 200, conformance_json(r, p, &ev, &c));
}
