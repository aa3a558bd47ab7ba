/* A product's integration journey as a task list (CIS2-PROFILE.md,
 * "Onboarding"): from 'Setup and eligibility' to its sites going live, each
 * task with where it stands, read from the tables of the module that owns it. */
#include <string.h>

#include "core/error.h"
#include "onboarding/onboarding_int.h"
#include "onboarding/stage_int.h"

enum task_state { TASK_CANNOT_START, TASK_NOT_STARTED, TASK_IN_PROGRESS, TASK_DONE };

struct facts {
	const char *setup;  /* ob_stages.state of setup_eligibility, or "not_started" */
	const char *nfr;    /* of non_functional */
	int64_t plan;       /* newest plan version, 0 when none */
	int64_t clients[3]; /* int, dep, live */
	bool conformance_open;
	bool conformance;
	bool agreement;
	int64_t sites_planned;
	int64_t sites_live;
};

static const char *const envs[] = {"int", "dep", "live"};

static int one_int(struct ob_req *r, const char *sql, const char *types, const char *a,
                   const char *b, int64_t *out)
{
	store_stmt *st = NULL;
	int rc = store_query(r->o->s, &st, sql, types, a, b);

	*out = 0;
	if (!rc && (rc = store_next(st)) == 1) {
		*out = store_null(st, 0) ? 0 : store_int(st, 0);
		rc = 0;
	}
	store_done(st);
	return rc;
}

static int facts_load(struct ob_req *r, const char *id, struct facts *f)
{
	static const char sql_plan[] = "SELECT MAX(version) FROM ob_plans WHERE product_id = $1";
	static const char sql_clients[] = "SELECT COUNT(*) FROM ob_env_clients WHERE product_id "
	                                  "= $1 AND env = $2";
	static const char sql_review[] = "SELECT COUNT(*) FROM reviews WHERE subject_kind = "
	                                 "'conformance' AND subject_id = $1 AND decision IS NULL";
	static const char sql_live[] = "SELECT COUNT(*) FROM ob_sites_live WHERE product_id = $1";
	json_t *plan = NULL;
	int64_t open = 0;
	int version = 0;
	int rc;

	memset(f, 0, sizeof(*f));
	rc = stage_state_of(r, id, "setup_eligibility", &f->setup);
	if (!rc)
		rc = stage_state_of(r, id, "non_functional", &f->nfr);
	if (!rc)
		rc = one_int(r, sql_plan, "t", id, NULL, &f->plan);
	for (size_t i = 0; !rc && i < 3; i++)
		rc = one_int(r, sql_clients, "tt", id, envs[i], &f->clients[i]);
	if (!rc)
		rc = one_int(r, sql_review, "t", id, NULL, &open);
	if (!rc)
		rc = one_int(r, sql_live, "t", id, NULL, &f->sites_live);
	if (rc)
		return rc;
	f->conformance_open = open > 0;
	f->conformance = conformance_achieved(r, id);
	f->agreement = agreement_accepted(r, id);
	rc = plan_current(r, id, &plan, &version);
	if (rc == 0)
		f->sites_planned = (int64_t)json_array_size(json_object_get(plan, "sites"));
	json_decref(plan);
	return rc == CAREID_ENOTFOUND ? 0 : rc;
}

/* The words for a stage's state, and where that leaves the task. */
static enum task_state stage_task(const char *state, const char **text)
{
	if (strcmp(state, "not_started") == 0) {
		*text = "Not started";
		return TASK_NOT_STARTED;
	}
	if (strcmp(state, "approved") == 0) {
		*text = "Approved";
		return TASK_DONE;
	}
	*text = strcmp(state, "submitted") == 0   ? "Submitted for review"
	        : strcmp(state, "more_info") == 0 ? "More information needed"
	        : strcmp(state, "declined") == 0  ? "Declined"
	                                          : "In progress";
	return TASK_IN_PROGRESS;
}

static int add_task(json_t *list, const char *id, const char *title, const char *href,
                    enum task_state state, const char *text)
{
	static const char *const names[] = {[TASK_CANNOT_START] = "cannot_start_yet",
	                                    [TASK_NOT_STARTED] = "not_started",
	                                    [TASK_IN_PROGRESS] = "in_progress",
	                                    [TASK_DONE] = "completed"};
	json_t *task;

	if (!href || !text)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	task = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "id", id, "title", title, "href",
	                 href, "status", names[state], "status_text", text, "completed",
	                 state == TASK_DONE, "cannot_start", state == TASK_CANNOT_START);
	if (!task || json_array_append_new(list, task))
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	return 0;
}

int journey_tasks(struct ob_req *r, const struct ob_product *p, json_t **out)
{
	const char *base = arena_printf(r->a, "/onboarding/products/%s", p->id), *text;
	json_t *list = json_array();
	struct facts f;
	enum task_state st;
	bool assured;
	int rc = list && base ? facts_load(r, p->id, &f) : CAREID_ENOMEM;

#define TASK(id, title, path, state, words)                                                        \
	do {                                                                                       \
		if (!rc)                                                                           \
			rc = add_task(list, id, title, arena_printf(r->a, "%s%s", base, path),     \
			              state, words);                                               \
	} while (0)
	*out = NULL;
	if (rc) {
		json_decref(list);
		return rc;
	}
	st = stage_task(f.setup, &text);
	TASK("setup", "Setup and eligibility", "/setup", st, text);
	TASK("plan", "Journey plan", "/plan", f.plan ? TASK_DONE : TASK_NOT_STARTED,
	     f.plan ? arena_printf(r->a, "Version %lld saved", (long long)f.plan) : "Not started");
	TASK("environments", "Test in INT and DEP", "/environments",
	     f.clients[0]   ? TASK_DONE
	     : f.clients[1] ? TASK_IN_PROGRESS
	                    : TASK_NOT_STARTED,
	     f.clients[0] || f.clients[1]
	         ? arena_printf(r->a, "%lld in INT, %lld in DEP", (long long)f.clients[0],
	                        (long long)f.clients[1])
	         : "Not started");
	st = stage_task(f.nfr, &text);
	TASK("non_functional", "Non-functional requirements", "/non-functional", st, text);
	TASK("conformance", "Technical conformance", "/conformance",
	     f.conformance        ? TASK_DONE
	     : f.conformance_open ? TASK_IN_PROGRESS
	     : f.clients[0]       ? TASK_IN_PROGRESS
	                          : TASK_NOT_STARTED,
	     f.conformance        ? "Achieved"
	     : f.conformance_open ? "Submitted for confirmation"
	     : f.clients[0]       ? "In progress"
	                          : "Not started");
	TASK("agreement", "Connection Agreement", "/agreement",
	     f.agreement     ? TASK_DONE
	     : f.conformance ? TASK_NOT_STARTED
	                     : TASK_CANNOT_START,
	     f.agreement     ? "Accepted"
	     : f.conformance ? "Not started"
	                     : "Cannot start yet");
	assured = f.conformance && f.agreement;
	TASK("live", "Live credentials", "/environments/live",
	     f.clients[2] ? TASK_DONE
	     : assured    ? TASK_NOT_STARTED
	                  : TASK_CANNOT_START,
	     f.clients[2] ? arena_printf(r->a, "%lld Live client%s", (long long)f.clients[2],
	                                 f.clients[2] == 1 ? "" : "s")
	     : assured    ? "Not started"
	                  : "Cannot start yet");
	TASK("golive", "Go live and roll out", "/golive",
	     !f.clients[2]                                        ? TASK_CANNOT_START
	     : f.sites_planned && f.sites_live >= f.sites_planned ? TASK_DONE
	     : f.sites_live                                       ? TASK_IN_PROGRESS
	                                                          : TASK_NOT_STARTED,
	     !f.clients[2] ? "Cannot start yet"
	                   : arena_printf(r->a, "%lld of %lld sites live", (long long)f.sites_live,
	                                  (long long)f.sites_planned));
#undef TASK
	if (rc) {
		json_decref(list);
		return rc;
	}
	*out = list;
	return 0;
}
