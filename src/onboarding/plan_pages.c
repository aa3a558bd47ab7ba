/* The journey plan's pages: what the templates ob_plan.html and
 * ob_plan_edit.html are given. */
#include <string.h>

#include "core/error.h"
#include "onboarding/plan_check.h"
#include "onboarding/plan_int.h"

static const struct {
	const char *value, *label, *hint;
} models[] = {
    {"single_instance", "One instance for all customers",
     "For example, a cloud service shared by every organisation"},
    {"instance_per_customer", "One instance per customer",
     "For example, installed on each organisation's own servers"},
};

static const char *model_text(const char *m)
{
	for (size_t i = 0; m && i < sizeof(models) / sizeof(models[0]); i++) {
		if (strcmp(models[i].value, m) == 0)
			return models[i].label;
	}
	return "Not given";
}

/* Lines of a text as paragraphs for the page. */
static json_t *paragraphs(const char *s)
{
	json_t *list = json_array();

	while (s && *s && list) {
		size_t n = strcspn(s, "\n");

		if (n)
			json_array_append_new(list, json_stringn(s, n));
		s += n + (s[n] == '\n');
	}
	return list;
}

static json_t *summary_json(const json_t *plan)
{
	json_t *dates = json_array(), *sites = json_array(), *s;
	const json_t *d = json_object_get(plan, "dates");
	char text[32], a[32], b[32], c[32];
	size_t i;

	for (int k = 0; k < PLAN_NDATES; k++) {
		plan_date_text(text, json_string_value(json_object_get(d, plan_dates[k].id)));
		json_array_append_new(dates, json_pack("{s:s, s:s}", "label", plan_dates[k].event,
		                                       "date_text", text));
	}
	json_array_foreach(json_object_get(plan, "sites"), i, s)
	{
		plan_date_text(text, json_string_value(json_object_get(s, "planned_date")));
		plan_int_text(a, json_integer_value(json_object_get(s, "users")));
		plan_int_text(b, json_integer_value(json_object_get(s, "auths_per_day")));
		plan_int_text(c, json_integer_value(json_object_get(s, "auths_peak_hour")));
		json_array_append_new(sites, json_pack("{s:i, s:O, s:O, s:s, s:s, s:s, s:s}", "n",
		                                       (int)i + 1, "name",
		                                       json_object_get(s, "name"), "ods_code",
		                                       json_object_get(s, "ods_code"), "date_text",
		                                       text, "users", a, "day", b, "peak", c));
	}
	return json_pack("{s:o, s:s, s:o, s:o, s:b}", "dates", dates, "model_text",
	                 model_text(json_string_value(json_object_get(plan, "deployment_model"))),
	                 "sites", sites, "notes",
	                 paragraphs(json_string_value(json_object_get(plan, "rollout_notes"))),
	                 "has_notes", json_object_get(plan, "rollout_notes") != NULL);
}

static json_t *versions_for_page(struct ob_req *r, const struct ob_product *p, int shown)
{
	json_t *list = NULL, *v;
	size_t i;

	if (plan_versions_list(r, p->id, &list))
		return json_array();
	json_array_foreach(list, i, v)
	{
		int n = (int)json_integer_value(json_object_get(v, "version"));

		json_object_set_new(
		    v, "href",
		    json_string(i == 0 ? arena_printf(r->a, "/onboarding/products/%s/plan", p->id)
		                       : arena_printf(r->a,
		                                      "/onboarding/products/%s/plan/"
		                                      "versions/%d",
		                                      p->id, n)));
		json_object_set_new(v, "current", json_boolean(i == 0));
		json_object_set_new(v, "shown", json_boolean(n == shown));
	}
	return list;
}

static json_t *comments_for_page(struct ob_req *r, const struct ob_product *p, int version)
{
	json_t *list = NULL, *c;
	size_t i;

	if (plan_comments_list(r, p, version, &list))
		return json_array();
	json_array_foreach(list, i, c)
	{
		json_object_set_new(
		    c, "by_cis2",
		    json_boolean(strcmp(json_string_value(json_object_get(c, "by")), "cis2") == 0));
		json_object_set_new(c, "paragraphs",
		                    paragraphs(json_string_value(json_object_get(c, "body"))));
	}
	return list;
}

int plan_view_page(struct ob_req *r, const struct ob_product *p, const struct plan_view *w)
{
	bool current = !w->v || w->v->n == w->newest, can_edit = !p->as_reviewer;
	json_t *checks = NULL, *ctx;
	int rc = w->v ? plan_assess(r, p, w->v, current, &checks) : 0;
	const json_t *tl = json_object_get(checks, "timeline");
	static const char *const lists[] = {"warnings", "advice", "versions", "comments"};
	char when[48], checked[32];

	if (rc)
		return rc;
	ctx =
	    json_pack("{s:s, s:{s:s, s:s}, s:b, s:b, s:b, s:b, s:s?, s:o, s:o, s:b, s:s?, s:s?}",
	              "title", w->comment_error ? "Error: Journey plan" : "Journey plan", "product",
	              "id", p->id, "name", p->name, "has_plan", w->v != NULL, "current", current,
	              "can_edit", can_edit && current, "as_reviewer", p->as_reviewer, "notice",
	              w->notice, "versions", versions_for_page(r, p, w->v ? w->v->n : 0),
	              "comments", comments_for_page(r, p, current ? 0 : w->v->n),
	              "has_comment_error", w->comment_error != NULL, "comment_error",
	              w->comment_error, "comment_value", w->comment_value);
	if (ctx && w->v) {
		json_object_set_new(ctx, "version", json_integer(w->v->n));
		json_object_set_new(ctx, "newest", json_integer(w->newest));
		json_object_set_new(ctx, "by", json_string(w->v->by_name));
		plan_time_text(when, w->v->at);
		json_object_set_new(ctx, "when", json_string(when));
		json_object_set_new(ctx, "summary", summary_json(w->v->plan));
		json_object_set(ctx, "warnings", json_object_get(checks, "warnings"));
		json_object_set(ctx, "advice", json_object_get(checks, "advice"));
		plan_date_text(checked, json_string_value(json_object_get(checks, "checked_on")));
		json_object_set_new(ctx, "checked_on", json_string(checked));
		json_object_set(ctx, "svg", json_object_get(tl, "svg"));
		json_object_set(ctx, "events", json_object_get(tl, "events"));
		json_object_set(ctx, "facts", json_object_get(tl, "facts"));
		if (!current)
			json_object_set_new(
			    ctx, "title",
			    json_string(arena_printf(r->a, "%sJourney plan, version %d",
			                             w->comment_error ? "Error: " : "", w->v->n)));
	}
	for (size_t i = 0; ctx && i < sizeof(lists) / sizeof(lists[0]); i++)
		json_object_set_new(
		    ctx, arena_printf(r->a, "has_%s", lists[i]),
		    json_boolean(json_array_size(json_object_get(ctx, lists[i])) > 0));
	return ob_page(r, w->status, "ob_plan", ctx);
}

static const struct {
	const char *key, *label, *type, *width;
	bool numeric;
} site_fields[] = {
    {"name", "Site name", "text", "nhsuk-input--width-20", false},
    {"ods_code", "ODS code", "text", "nhsuk-input--width-10", false},
    {"planned_date", "Date the site goes live", "date", "nhsuk-input--width-10", false},
    {"users", "Number of users", "text", "nhsuk-input--width-10", true},
    {"auths_per_day", "Authentications per day", "text", "nhsuk-input--width-10", true},
    {"auths_peak_hour", "Authentications at the peak hour", "text", "nhsuk-input--width-10", true},
};

static const char *error_for(const json_t *errors, const char *id)
{
	size_t i;
	const json_t *e;

	json_array_foreach(errors, i, e)
	{
		if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
			return json_string_value(json_object_get(e, "message"));
	}
	return NULL;
}

/* A member as typed (string or number) for a value attribute. */
static json_t *typed(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) || json_is_integer(v) ? json_incref((json_t *)v) : json_string("");
}

static json_t *edit_dates(const json_t *plan, const json_t *errors)
{
	const json_t *dates = json_object_get(plan, "dates");
	json_t *list = json_array();

	for (int k = 0; k < PLAN_NDATES; k++)
		json_array_append_new(
		    list, json_pack("{s:s, s:s, s:o, s:s?}", "id", plan_dates[k].id, "label",
		                    plan_dates[k].label, "value", typed(dates, plan_dates[k].id),
		                    "error", error_for(errors, plan_dates[k].id)));
	return list;
}

static json_t *edit_models(const json_t *plan)
{
	const char *m = json_string_value(json_object_get(plan, "deployment_model"));
	json_t *list = json_array();

	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		json_array_append_new(list,
		                      json_pack("{s:s, s:s, s:s, s:s, s:b}", "input_id",
		                                i ? "deployment_model-2" : "deployment_model",
		                                "value", models[i].value, "label", models[i].label,
		                                "hint", models[i].hint, "checked",
		                                m && strcmp(m, models[i].value) == 0));
	return list;
}

static json_t *edit_sites(struct ob_req *r, const json_t *plan, const json_t *errors, int rows)
{
	const json_t *sites = json_object_get(plan, "sites");
	json_t *list = json_array();

	for (int n = 1; n <= rows; n++) {
		const json_t *site = json_array_get(sites, (size_t)n - 1);
		json_t *fields = json_array();

		for (size_t i = 0; i < sizeof(site_fields) / sizeof(site_fields[0]); i++) {
			char *id = arena_printf(r->a, "site_%d_%s", n, site_fields[i].key);

			json_array_append_new(
			    fields,
			    json_pack("{s:s, s:s, s:s, s:s, s:b, s:o, s:s?}", "id", id, "label",
			              site_fields[i].label, "type", site_fields[i].type, "width",
			              site_fields[i].width, "numeric", site_fields[i].numeric,
			              "value", typed(site, site_fields[i].key), "error",
			              id ? error_for(errors, id) : NULL));
		}
		json_array_append_new(list, json_pack("{s:i, s:o}", "n", n, "fields", fields));
	}
	return list;
}

int plan_edit_page(struct ob_req *r, const struct ob_product *p, const struct plan_edit *e)
{
	json_t *summary = json_array(), *err;
	bool has_errors = json_array_size(e->errors) > 0;
	size_t i;

	json_array_foreach(e->errors, i, err)
	{
		const char *id = json_string_value(json_object_get(err, "id"));

		json_array_append_new(
		    summary, json_pack("{s:s, s:O}", "href",
		                       arena_printf(r->a, "#%s",
		                                    strcmp(id, "sites") == 0 ? "site_1_name" : id),
		                       "text", json_object_get(err, "message")));
	}
	return ob_page(
	    r, e->status, "ob_plan_edit",
	    json_pack(
	        "{s:s, s:{s:s, s:s}, s:b, s:o, s:s?, s:o, s:o, s:s?, s:o, s:b, s:i, s:o, s:s?, "
	        "s:s?, s:o}",
	        "title", has_errors ? "Error: Plan your journey" : "Plan your journey", "product",
	        "id", p->id, "name", p->name, "has_errors", has_errors, "errors", summary, "notice",
	        e->notice, "dates", edit_dates(e->plan, e->errors), "models", edit_models(e->plan),
	        "model_error", error_for(e->errors, "deployment_model"), "sites",
	        edit_sites(r, e->plan, e->errors, e->rows), "can_add", e->rows < PLAN_FORM_SITES,
	        "max_sites", PLAN_FORM_SITES, "notes", typed(e->plan, "rollout_notes"),
	        "notes_error", error_for(e->errors, "rollout_notes"), "sites_error",
	        error_for(e->errors, "sites"), "base_version",
	        e->base >= 0 ? json_integer(e->base) : json_string("")));
}
