/* Internals shared by the files of onboarding/. */
#ifndef CAREID_ONBOARDING_INT_H
#define CAREID_ONBOARDING_INT_H

#include <stdbool.h>

#include "oidc/clients.h"
#include "oidc/rp.h"
#include "onboarding/onboarding.h"

#define SESSION_COOKIE      "careid_portal"
#define PORTAL_SESSION_TTL  (8 * 3600)
#define VERIFY_TTL          (48 * 3600)
#define REVIEW_WORKING_DAYS 5
#define API_MAX_BODY        (64 * 1024)

struct questionnaire;
struct workdays;

struct onboarding {
	provider *p;
	store *s;
	const templates *t;
	const struct secrets *sec;
	char *public_url;
	bool secure;
	rp *rp;
	struct questionnaire *saq;
	struct questionnaire *setup; /* the 'Setup and eligibility' stage */
	struct questionnaire *nfr;   /* the 'Non-functional requirements' stage */
	json_t *agreement;           /* the Connection Agreement's text (agreement_int.h) */
	struct workdays *wd;
	char today[11]; /* "" or a fixed date for review SLAs (--review-date) */
};

/* One request to the portal or its API. */
struct ob_req {
	onboarding *o;
	struct http_request *req;
	struct http_response *res;
	arena *a;
	bool api;         /* under /api/v1/: JSON in and out */
	const char *path; /* after "/onboarding" or "/api/v1" */
	/* the signed-in account, when there is one */
	const char *uid;
	const char *name;
	const char *email;
	bool reviewer;
	bool verified;
	const char *csrf; /* the session's CSRF token (NULL for bearer tokens) */
	bool bearer;      /* authenticated by an access token, not a cookie */
};

/* data.c */
int onboarding_load_data(onboarding *o, const char *etc_dir);
/* Today's date in England, "YYYY-MM-DD" (or the configured review date). */
int ob_today(const onboarding *o, char out[11]);

/* portal.c */
int ob_page(struct ob_req *r, int status, const char *template_name, json_t *ctx);
int ob_message(struct ob_req *r, int status, const char *title, const char *message);
int ob_json(struct ob_req *r, int status, json_t *body);
int ob_error(struct ob_req *r, int status, const char *code, const char *message);
/* For POSTs: the CSRF token of the session (form field "csrf", or the
 * X-CSRF-Token header on the API) must match; bearer callers need none. */
bool ob_csrf_ok(struct ob_req *r);
/* 401 (API) or a redirect to sign in (pages) unless someone is signed in. */
int ob_require_account(struct ob_req *r);
/* The request body as JSON (API); NULL with an error answer sent when it is not. */
json_t *ob_json_body(struct ob_req *r, int *rc_out);
/* A random id (24 bytes, base64url) in the arena. */
char *ob_random_id(struct ob_req *r);

/* accounts.c */
int accounts_handle(struct ob_req *r);
int accounts_load(struct ob_req *r, const char *uid);
int accounts_register_api(struct ob_req *r);

/* saq.c */
int saq_handle(struct ob_req *r);
int saq_api(struct ob_req *r);
json_t *saq_status(struct ob_req *r, const char *uid);

/* True when the account's SAQ has been approved: nothing but mock clients
 * can be started before that (CIS2-PROFILE.md, "Engage with us"). */
bool saq_approved(struct ob_req *r, const char *uid);

/* orgs.c: organisations (by ODS code), teams with owners and members,
 * invitations by e-mail. An account belongs to at most one team. */
struct ob_team {
	const char *team_id;
	const char *team_name;
	const char *org_id;
	const char *ods_code;
	const char *org_name;
	const char *role; /* "owner" or "member" */
};
/* The account's team and organisation; CAREID_ENOTFOUND when it has none. */
int orgs_team_of(struct ob_req *r, const char *uid, struct ob_team *out);
/* The e-mail addresses of a team's members (a new JSON array of strings). */
int orgs_team_emails(struct ob_req *r, const char *team_id, json_t **out);
/* Pages /organisation, /team, /invite; API /organisation, /team, /invitations… */
int orgs_handle(struct ob_req *r);
int orgs_api(struct ob_req *r);

/* mockclients.c: self-service clients in the mock environment, from the
 * moment a developer account exists (build while you wait). */
int mockclients_handle(struct ob_req *r);
int mockclients_api(struct ob_req *r);

/* products.c: a team's products and their CIS2 access (by request only). */
int products_handle(struct ob_req *r);
int products_api(struct ob_req *r);
/* After a review of kind "access" is decided (inside its transaction). */
int products_access_decided(struct ob_req *r, const char *product_id, const char *decision);

/*
 * A product of the caller's team, or, for a member of the CIS2 onboarding
 * team who is not in that team, any product (`as_reviewer`: `t` is NULL).
 * products.c loads it and hands it to the module owning the page.
 */
struct ob_product {
	const struct ob_team *t; /* NULL when as_reviewer */
	const char *id;
	const char *name;
	const char *cis2_access; /* none, requested, granted, declined */
	const char *team_id;
	bool as_reviewer;
};

/* stage.c, stage_pages.c (stage_int.h): a product's questionnaire stages,
 * each with sections saved as drafts, submitted together for review and
 * decided by the CIS2 team: 'Setup and eligibility' (etc/onboarding/
 * setup-eligibility.json) under …/setup…, and 'Non-functional requirements'
 * (etc/onboarding/non-functional.json, submitted once the first is approved)
 * under …/non-functional…, as pages under /onboarding/products/{id} and API
 * under /api/v1/products/{id}; `rest` is what follows the product id
 * ("/setup", "/non-functional/clinical_risk", …). */
int stage_handle(struct ob_req *r, const struct ob_product *p, const char *rest);
int stage_api(struct ob_req *r, const struct ob_product *p, const char *rest);
/* After a review of kind "stage" is decided (inside its transaction). */
int stage_decided(struct ob_req *r, const char *stage_id, const char *decision,
                  const json_t *comments);

/*
 * Journey plan (plan.c, plan_check.c, timeline.c). Pages under
 * /onboarding/products/{id}/plan…, API under /api/v1/products/{id}/plan….
 * `rest` is what follows the product id ("/plan", "/plan/versions/2", …).
 * A plan version is this JSON object (every field optional in a draft):
 *   {"dates": {"testing_start", "testing_end", "conformance_start",
 *              "conformance_answers", "conformance_achieved",
 *              "first_site_live", "last_site_live"}      ("YYYY-MM-DD")
 *    "deployment_model": "single_instance" | "instance_per_customer",
 *    "sites": [{"name", "ods_code", "planned_date", "users",
 *               "auths_per_day", "auths_peak_hour"}]}  (at most 200 sites)
 */
int plan_handle(struct ob_req *r, const struct ob_product *p, const char *rest);
int plan_api(struct ob_req *r, const struct ob_product *p, const char *rest);
/* The newest version of a product's plan (a new reference) and its number;
 * CAREID_ENOTFOUND when there is none yet. */
int plan_current(struct ob_req *r, const char *product_id, json_t **plan_out, int *version_out);

/*
 * Environments (envclients.c): clients a team registers for a product in
 * int and dep once CIS2 access is granted, and in live once technical
 * conformance is achieved and the Connection Agreement accepted.
 * /onboarding/products/{id}/environments…, /api/v1/products/{id}/environments….
 */
int envclients_handle(struct ob_req *r, const struct ob_product *p, const char *rest);
int envclients_api(struct ob_req *r, const struct ob_product *p, const char *rest);
/* The client ids registered for a product in `env` (a new array, oldest first). */
int envclients_list(struct ob_req *r, const char *product_id, const char *env, json_t **out);

/*
 * Assurance (stage.c for the 'Non-functional requirements' stage at
 * …/non-functional…, conformance.c, agreement.c).
 */
int conformance_handle(struct ob_req *r, const struct ob_product *p, const char *rest);
int conformance_api(struct ob_req *r, const struct ob_product *p, const char *rest);
/* After a review of kind "conformance" is decided (inside its transaction);
 * `subject_id` is the product id. */
int conformance_decided(struct ob_req *r, const char *product_id, const char *decision,
                        const json_t *comments);
/* True once the CIS2 team confirmed the product's technical conformance. */
bool conformance_achieved(struct ob_req *r, const char *product_id);
int agreement_handle(struct ob_req *r, const struct ob_product *p, const char *rest);
int agreement_api(struct ob_req *r, const struct ob_product *p, const char *rest);
/* True once the team accepted the Connection Agreement. */
bool agreement_accepted(struct ob_req *r, const char *product_id);

/*
 * Go-live (golive.c: sites marked live, the planned-against-actual
 * dashboard; chart.c: the SVG chart) and the CIS2 team's view of every
 * product (overview.c at /onboarding/cis2, /api/v1/cis2/products).
 */
int golive_handle(struct ob_req *r, const struct ob_product *p, const char *rest);
int golive_api(struct ob_req *r, const struct ob_product *p, const char *rest);
int overview_handle(struct ob_req *r);
int overview_api(struct ob_req *r);
/* The product's journey as a task list for its page: [{id, title, href,
 * status, status_text}] (a new array), from 'Setup and eligibility' to live. */
int journey_tasks(struct ob_req *r, const struct ob_product *p, json_t **out);

/* reviews.c */
int reviews_handle(struct ob_req *r);
int reviews_api(struct ob_req *r);
/* Files a submission for review; inside the caller's transaction. */
int reviews_file(struct ob_req *r, const char *kind, const char *subject_id, int submission,
                 const char *answers, char due_out[11]);

/* notify.c: e-mail through the outbox, inside the caller's transaction */
int notify_mail(struct ob_req *r, const char *to, const char *subject, const char *body);
int notify_subscribe(struct ob_req *r, const char *email, const char *uid);
int notify_handle_unsubscribe(struct ob_req *r);
/* The CIS2 team's service updates to the distribution list (page and API). */
int notify_updates_handle(struct ob_req *r);
int notify_updates_api(struct ob_req *r);

#endif
