/* Tests src/onboarding/questionnaire.c: definitions, answers from forms,
 * validation, render contexts (through the real template) and summaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/error.h"
#include "http/form.h"
#include "http/template.h"
#include "onboarding/questionnaire.h"

/* One question of every type. */
static const char test_def[] =
    "{\"id\":\"t\",\"version\":3,\"title\":\"Test\",\"sections\":["
    "{\"id\":\"one\",\"title\":\"One\",\"description\":\"First\",\"questions\":["
    "{\"id\":\"name\",\"label\":\"Organisation name\",\"type\":\"text\",\"required\":true,"
    "\"max_length\":10,\"autocomplete\":\"organization\"},"
    "{\"id\":\"ods\",\"label\":\"ODS code\",\"type\":\"text\",\"required\":true,"
    "\"pattern\":\"^[A-Z0-9]{3,6}$\","
    "\"messages\":{\"pattern\":\"ODS code must be 3 to 6 letters or numbers\"}},"
    "{\"id\":\"about\",\"label\":\"About\",\"hint\":\"Tell us\",\"type\":\"textarea\","
    "\"max_length\":20},"
    "{\"id\":\"email\",\"label\":\"Email\",\"name\":\"contact email address\",\"type\":\"email\"},"
    "{\"id\":\"site\",\"label\":\"Website\",\"name\":\"website\",\"type\":\"url\"},"
    "{\"id\":\"per_day\",\"label\":\"Per day\",\"name\":\"expected authentications per day\","
    "\"type\":\"integer\",\"required\":true,\"min\":0,\"max\":1000000},"
    "{\"id\":\"live\",\"label\":\"Go-live\",\"name\":\"go-live date\",\"type\":\"date\","
    "\"min_date\":\"2024-01-01\",\"max_date\":\"2030-12-31\"}]},"
    "{\"id\":\"two\",\"title\":\"Two\",\"questions\":["
    "{\"id\":\"cis1\",\"label\":\"Migrating?\",\"type\":\"yesno\",\"required\":true},"
    "{\"id\":\"aal\",\"label\":\"Level\",\"name\":\"assurance level\",\"type\":\"radios\","
    "\"required\":true,\"options\":[{\"value\":\"AAL2\",\"label\":\"AAL2\"},"
    "{\"value\":\"AAL3\",\"label\":\"AAL3\",\"hint\":\"High\"}]},"
    "{\"id\":\"apis\",\"label\":\"APIs\",\"name\":\"national APIs\",\"type\":\"checkboxes\","
    "\"options\":[{\"value\":\"pds\",\"label\":\"PDS\"},{\"value\":\"eps\",\"label\":\"EPS\"},"
    "{\"value\":\"none\",\"label\":\"None\",\"exclusive\":true}]},"
    "{\"id\":\"read\",\"label\":\"I have read the guidance\",\"type\":\"confirm\","
    "\"messages\":{\"required\":\"Confirm you have read the guidance\"}}]}]}";

static int setup(void **state)
{
	questionnaire *q;

	if (questionnaire_parse(&q, test_def, "test.json") != 0) {
		fprintf(stderr, "%s\n", careid_error_last()->message);
		return -1;
	}
	*state = q;
	return 0;
}

static int teardown(void **state)
{
	questionnaire_free(*state);
	return 0;
}

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		fail_msg("bad test JSON: %s: %s", text, e.text);
	return j;
}

static questionnaire *load_etc(const char *file)
{
	const char *src = getenv("CAREID_SOURCE_DIR");
	char path[1024];
	questionnaire *q;

	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/etc/onboarding/%s", src, file);
	if (questionnaire_load(&q, path) != 0)
		fail_msg("%s", careid_error_last()->message);
	return q;
}

static void test_load_etc_files(void **state)
{
	questionnaire *saq = load_etc("saq.json"), *setup_ = load_etc("setup-eligibility.json");
	json_t *def;

	(void)state;
	assert_string_equal(questionnaire_id(saq), "saq");
	assert_int_equal(questionnaire_version(saq), 1);
	assert_string_equal(questionnaire_title(saq), "Service Assessment Questionnaire");
	assert_int_equal(questionnaire_section_count(saq), 7);
	assert_string_equal(questionnaire_section_id(saq, 0), "organisation");
	assert_null(questionnaire_section_id(saq, 7));
	assert_int_equal(questionnaire_section_find(saq, "key_dates"), 6);
	assert_int_equal(questionnaire_section_find(saq, "nope"), CAREID_ENOTFOUND);

	assert_string_equal(questionnaire_id(setup_), "setup-eligibility");
	assert_int_equal(questionnaire_section_count(setup_), 3);
	assert_string_equal(questionnaire_section_id(setup_, 0), "product_details");
	assert_string_equal(questionnaire_section_id(setup_, 1), "use_case");
	assert_string_equal(questionnaire_section_id(setup_, 2), "eligibility");
	assert_string_equal(questionnaire_section_title(setup_, 2), "Eligibility and legal basis");

	/* the API's copy makes defaults explicit */
	def = questionnaire_json(setup_);
	assert_non_null(def);
	{
		json_t *first = json_array_get(
		    json_object_get(json_array_get(json_object_get(def, "sections"), 1),
		                    "questions"),
		    0);

		assert_string_equal(json_string_value(json_object_get(first, "type")), "confirm");
		assert_true(json_is_true(json_object_get(first, "required")));
	}
	json_decref(def);
	questionnaire_free(saq);
	questionnaire_free(setup_);
}

static void test_json_defaults(void **state)
{
	json_t *def = questionnaire_json(*state), *qs;

	assert_non_null(def);
	qs = json_object_get(json_array_get(json_object_get(def, "sections"), 0), "questions");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(qs, 1), "max_length")),
	                 200);
	assert_true(json_is_false(json_object_get(json_array_get(qs, 2), "required")));
	assert_null(json_object_get(json_array_get(qs, 5), "max_length"));
	json_decref(def);
}

#define Q(body)                                                                                    \
	"{\"id\":\"b\",\"version\":1,\"title\":\"B\",\"sections\":[{\"id\":\"s\",\"title\":\"S\"," \
	"\"questions\":[" body "]}]}"

static void test_bad_definitions(void **state)
{
	static const struct {
		const char *json, *fragment;
	} cases[] = {
	    {"{", "bad.json:1: "},
	    {"[]", "the questionnaire must be an object"},
	    {"{\"id\":\"b\",\"version\":1,\"title\":\"B\",\"sections\":[]}",
	     "\"sections\" must be"},
	    {"{\"id\":\"b\",\"version\":0,\"title\":\"B\",\"sections\":[]}", "\"version\""},
	    {"{\"id\":\"B!\",\"version\":1,\"title\":\"B\",\"sections\":[]}", "id 'B!' must be"},
	    {"{\"id\":\"b\",\"version\":1,\"title\":\"B\",\"extra\":1,\"sections\":[]}",
	     "unknown key 'extra'"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"number\"}"),
	     "question 'a': unknown type 'number'"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\"},"
	       "{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\"}"),
	     "duplicate question id 'a'"},
	    {"{\"id\":\"b\",\"version\":1,\"title\":\"B\",\"sections\":["
	     "{\"id\":\"s\",\"title\":\"S\",\"questions\":[{\"id\":\"a\",\"label\":\"A\","
	     "\"type\":\"text\"}]},{\"id\":\"t\",\"title\":\"T\",\"questions\":[{\"id\":\"a\","
	     "\"label\":\"A\",\"type\":\"date\"}]}]}",
	     "section 't': duplicate question id 'a'"},
	    {"{\"id\":\"b\",\"version\":1,\"title\":\"B\",\"sections\":["
	     "{\"id\":\"s\",\"title\":\"S\",\"questions\":[{\"id\":\"a\",\"label\":\"A\","
	     "\"type\":\"text\"}]},{\"id\":\"s\",\"title\":\"T\",\"questions\":[]}]}",
	     "duplicate section id 's'"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"radios\"}"),
	     "question 'a': radios needs \"options\""},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"checkboxes\",\"options\":[]}"),
	     "\"options\" must be an array of 1"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"radios\",\"options\":"
	       "[{\"value\":\"x\",\"label\":\"X\"}]}"),
	     "\"options\" must be an array of 2"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"radios\",\"options\":"
	       "[{\"value\":\"x\",\"label\":\"X\"},{\"value\":\"x\",\"label\":\"Y\"}]}"),
	     "duplicate option value 'x'"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"radios\",\"options\":"
	       "[{\"value\":\"x\",\"label\":\"X\",\"exclusive\":true},{\"value\":\"y\",\"label\":"
	       "\"Y\"}]}"),
	     "\"exclusive\" is a boolean for checkboxes"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"radios\",\"options\":"
	       "[{\"value\":\"x y\",\"label\":\"X\"},{\"value\":\"y\",\"label\":\"Y\"}]}"),
	     "option value 'x y' must be"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"options\":[]}"),
	     "\"options\" apply only to radios and checkboxes"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"pattern\":\"^[a-$\"}"),
	     "question 'a': bad pattern"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"pattern\":\"[a-z]+\"}"),
	     "pattern must start with ^ and end with $"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"pattern\":\"^(a)\\\\1$\"}"),
	     "back-references"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"email\",\"pattern\":\"^a$\"}"),
	     "\"pattern\" applies only to text"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"integer\",\"min\":10,\"max\":1}"),
	     "question 'a': min 10 is greater than max 1"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"integer\",\"min\":1.5}"),
	     "\"min\" must be a whole number"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"max\":1}"),
	     "\"min\" and \"max\" apply only to integer"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"integer\",\"max_length\":5}"),
	     "\"max_length\" applies only to text"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"max_length\":0}"),
	     "\"max_length\" must be 1 to 8192"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"date\",\"min_date\":\"2025-02-29\"}"),
	     "\"min_date\" must be a real date"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"date\",\"min_date\":\"2026-01-01\","
	       "\"max_date\":\"2025-01-01\"}"),
	     "min_date is after max_date"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"requird\":true}"),
	     "question 'a': unknown key 'requird'"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"checkboxes\",\"confirm\":true,"
	       "\"options\":[{\"value\":\"x\",\"label\":\"X\"}]}"),
	     "use \"type\": \"confirm\""},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"confirm\",\"required\":false}"),
	     "a confirm question is always required"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"required\":\"yes\"}"),
	     "\"required\" must be true or false"},
	    {Q("{\"id\":\"a\",\"type\":\"text\"}"), "question 'a': missing \"label\""},
	    {Q("{\"id\":\"a\",\"label\":\"\",\"type\":\"text\"}"), "\"label\" must not be empty"},
	    {Q("{\"label\":\"A\",\"type\":\"text\"}"), "section 's': missing \"id\""},
	    {Q("{\"id\":\"Org\",\"label\":\"A\",\"type\":\"text\"}"),
	     "question id 'Org' must be lower-case"},
	    {Q("{\"id\":\"csrf\",\"label\":\"A\",\"type\":\"text\"}"), "'csrf' is reserved"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"width\":7}"),
	     "\"width\" must be"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"autocomplete\":\"nickname\"}"),
	     "unknown autocomplete 'nickname'"},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"messages\":{\"oops\":\"x\"}}"),
	     "unknown key 'oops' in \"messages\""},
	    {Q("{\"id\":\"a\",\"label\":\"A\",\"type\":\"text\",\"label\":\"B\"}"),
	     "duplicate object key"},
	    {Q("\"a\""), "questions must be objects"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		questionnaire *q = (questionnaire *)1;
		int rc = questionnaire_parse(&q, cases[i].json, "bad.json");
		const char *msg = careid_error_last()->message;

		if (rc != CAREID_EINVALID || !strstr(msg, cases[i].fragment) ||
		    strncmp(msg, "bad.json", 8) != 0)
			fail_msg("case %zu: rc %d, message \"%s\", wanted \"%s\"", i, rc, msg,
			         cases[i].fragment);
		assert_null(q);
	}
}

static void test_load_errors(void **state)
{
	const char *tmp = getenv("CAREID_TEST_TMP");
	char path[1024];
	questionnaire *q;
	FILE *f;

	(void)state;
	assert_int_equal(questionnaire_load(&q, "/nonexistent/saq.json"), CAREID_EIO);
	assert_null(q);
	if (!tmp)
		tmp = "/tmp";
	mkdir(tmp, 0700);
	snprintf(path, sizeof(path), "%s/broken-%d.json", tmp, (int)getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(Q("{\"id\":\"ods\",\"label\":\"ODS\",\"type\":\"text\",\"pattern\":\"[A-Z]\"}"), f);
	fclose(f);
	assert_int_equal(questionnaire_load(&q, path), CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, "broken-"));
	assert_non_null(strstr(careid_error_last()->message, ".json: question 'ods': pattern"));
	unlink(path);
}

/* Parses `body` as a form in a fresh arena and returns the answers of `section`. */
static json_t *from_form(const questionnaire *q, const char *section, const char *body)
{
	arena *a = arena_new();
	struct form f;
	json_t *out;

	assert_non_null(a);
	assert_int_equal(form_parse(&f, a, body, strlen(body)), 0);
	assert_int_equal(questionnaire_answers_from_form(&out, q, section, &f), 0);
	arena_free(a);
	return out;
}

static void assert_json(const json_t *got, const char *want_text)
{
	json_t *want = J(want_text);

	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);

		fail_msg("got %s\nwanted %s", g, want_text);
	}
	json_decref(want);
}

static void test_answers_from_form(void **state)
{
	const questionnaire *q = *state;
	json_t *a;
	arena *ar;
	struct form f;

	a = from_form(q, NULL,
	              "name=+Acme+Ltd+&ods=X26&about=line1%0D%0Aline2%0Dline3&per_day=1%2C000"
	              "&live=31%2F3%2F2026&cis1=yes&aal=AAL3&apis=pds&apis=eps&apis=pds&apis="
	              "&read=yes&unknown=x&csrf=abc&email=&site=%20%20");
	assert_json(a, "{\"name\":\"Acme Ltd\",\"ods\":\"X26\",\"about\":\"line1\\nline2\\nline3\","
	               "\"per_day\":1000,\"live\":\"2026-03-31\",\"cis1\":\"yes\",\"aal\":\"AAL3\","
	               "\"apis\":[\"pds\",\"eps\"],\"read\":true}");
	json_decref(a);

	/* what the user typed stays, for validation to report */
	a = from_form(q, "one",
	              "per_day=12abc&live=2026-02-30&name=aaaaaaaaaaaaaaa&cis1=yes&ods=x");
	assert_json(a,
	            "{\"per_day\":\"12abc\",\"live\":\"2026-02-30\",\"name\":\"aaaaaaaaaaaaaaa\","
	            "\"ods\":\"x\"}");
	json_decref(a);
	a = from_form(q, "two", "cis1=maybe&aal=AAL9&apis=xyz&read=on");
	assert_json(a, "{\"cis1\":\"maybe\",\"aal\":\"AAL9\",\"apis\":[\"xyz\"],\"read\":\"on\"}");
	json_decref(a);

	/* unknown fields only: nothing */
	a = from_form(q, NULL, "csrf=1&tx=2&other=3&NAME=upper");
	assert_json(a, "{}");
	json_decref(a);

	ar = arena_new();
	assert_int_equal(form_parse(&f, ar, "a=1", 3), 0);
	a = (json_t *)1;
	assert_int_equal(questionnaire_answers_from_form(&a, q, "three", &f), CAREID_ENOTFOUND);
	assert_null(a);
	arena_free(ar);
}

/* Complete answers to the real files validate for submission. */
static void test_etc_complete(void **state)
{
	questionnaire *saq = load_etc("saq.json"), *stage = load_etc("setup-eligibility.json");
	json_t *a, *e;

	(void)state;
	a = from_form(
	    saq, NULL,
	    "org_name=Acme+Health+Ltd&ods_code=8JK05&contact_name=Jo+Bloggs"
	    "&contact_email=jo.bloggs%40example.com&product_name=Acme+EPR"
	    "&product_description=An+electronic+patient+record.&care_settings=primary_care"
	    "&use_case=Clinicians+view+records.&why_cis2=Verified+NHS+identity."
	    "&user_groups=GPs&user_count=12000&auths_per_day=40%2C000&auths_peak_hour=9000"
	    "&authenticators=smartcard&authenticators=fido2&assurance_level=AAL3"
	    "&national_apis=pds&national_apis=eps&cis1_migration=yes"
	    "&deployment_model=single_instance&development_start=2026-04-01"
	    "&go_live=30%2F09%2F2026");
	assert_int_equal(questionnaire_validate(&e, saq, NULL, a, QUESTIONNAIRE_SUBMIT), 0);
	assert_json(e, "{}");
	assert_int_equal(json_integer_value(json_object_get(a, "auths_per_day")), 40000);
	assert_string_equal(json_string_value(json_object_get(a, "go_live")), "2026-09-30");
	json_decref(e);
	json_decref(a);

	/* the use case checklist blocks submission until ticked */
	a = from_form(stage, "use_case",
	              "use_case_description=Sign-in+to+the+EPR&user_roles=R8000"
	              "&needs_selected_role=yes&assurance_level=AAL3&auths_per_day=500"
	              "&auths_peak_hour=80&deployment_model=instance_per_customer"
	              "&conformance_start=2026-05-01&conformance_answers=2026-06-01"
	              "&testing_start=2026-05-15&conformance_achieved=2026-07-01"
	              "&go_live=2026-08-01&last_site_live=2027-01-31&rollout_plan=Ten+sites+a+week"
	              "&confirm_guidance=yes&confirm_volumes=yes");
	assert_int_equal(questionnaire_validate(&e, stage, "use_case", a, QUESTIONNAIRE_DRAFT), 0);
	assert_json(e, "{}");
	json_decref(e);
	assert_int_equal(questionnaire_validate(&e, stage, "use_case", a, QUESTIONNAIRE_SUBMIT), 0);
	assert_json(e, "{\"confirm_dependencies\":\"Confirm that you know your key dependencies\","
	               "\"confirm_dates\":\"Confirm that you know your key dates, including "
	               "go-live\"}");
	json_decref(e);
	json_decref(a);

	/* messages from the SAQ file */
	a = J("{\"ods_code\":\"ab\",\"auths_per_day\":\"many\",\"national_apis\":[\"pds\",\"none\"]"
	      "}");
	assert_int_equal(questionnaire_validate(&e, saq, NULL, a, QUESTIONNAIRE_SUBMIT), 0);
	assert_string_equal(json_string_value(json_object_get(e, "ods_code")),
	                    "ODS code must be 3 to 6 letters or numbers");
	assert_string_equal(json_string_value(json_object_get(e, "auths_per_day")),
	                    "Expected authentications per day must be a whole number between 0 and "
	                    "1,000,000");
	assert_string_equal(json_string_value(json_object_get(e, "national_apis")),
	                    "Select the national APIs your product will use, or select 'None'");
	assert_string_equal(json_string_value(json_object_get(e, "org_name")),
	                    "Enter the organisation name");
	assert_string_equal(json_string_value(json_object_get(e, "cis1_migration")),
	                    "Select yes if your product is migrating from CIS1");
	json_decref(e);
	json_decref(a);
	questionnaire_free(saq);
	questionnaire_free(stage);
}

static json_t *validate(const questionnaire *q, const char *section, const char *answers,
                        enum questionnaire_mode mode)
{
	json_t *in = J(answers), *errors = NULL;

	assert_int_equal(questionnaire_validate(&errors, q, section, in, mode), 0);
	json_decref(in);
	assert_non_null(errors);
	return errors;
}

static void test_draft_vs_submit(void **state)
{
	const questionnaire *q = *state;
	json_t *e;

	e = validate(q, NULL, "{}", QUESTIONNAIRE_DRAFT);
	assert_json(e, "{}");
	json_decref(e);
	e = validate(q, NULL, "{\"name\":\"Acme\",\"email\":null,\"apis\":[]}",
	             QUESTIONNAIRE_DRAFT);
	assert_json(e, "{}");
	json_decref(e);

	e = validate(q, NULL, "{\"email\":\"\",\"apis\":[],\"read\":false}", QUESTIONNAIRE_SUBMIT);
	assert_json(e, "{\"name\":\"Enter the organisation name\",\"ods\":\"Enter the ODS code\","
	               "\"per_day\":\"Enter the expected authentications per day\","
	               "\"cis1\":\"Select yes or no\",\"aal\":\"Select the assurance level\","
	               "\"read\":\"Confirm you have read the guidance\"}");
	json_decref(e);

	/* one section at a time */
	e = validate(q, "two", "{\"cis1\":\"no\"}", QUESTIONNAIRE_SUBMIT);
	assert_json(e, "{\"aal\":\"Select the assurance level\","
	               "\"read\":\"Confirm you have read the guidance\"}");
	json_decref(e);

	e = validate(q, NULL,
	             "{\"name\":\"Acme\",\"ods\":\"X26\",\"per_day\":0,\"cis1\":\"no\","
	             "\"aal\":\"AAL2\",\"read\":true,\"unknown\":[1,2,3]}",
	             QUESTIONNAIRE_SUBMIT);
	assert_json(e, "{}");
	json_decref(e);

	/* a draft with a bad answer reports it and only it */
	e = validate(q, NULL, "{\"ods\":\"x\"}", QUESTIONNAIRE_DRAFT);
	assert_json(e, "{\"ods\":\"ODS code must be 3 to 6 letters or numbers\"}");
	json_decref(e);
}

static void test_bad_inputs(void **state)
{
	static const struct {
		const char *id, *value, *message; /* message NULL: valid */
	} cases[] = {
	    {"name", "\"abcdefghijk\"", "Organisation name must be 10 characters or fewer"},
	    {"name", "\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"",
	     NULL},
	    {"name", "\"a\\u0001b\"", "Organisation name must be text without control characters"},
	    {"name", "\"a\\nb\"", "Organisation name must be text without control characters"},
	    {"name", "42", "Organisation name must be text without control characters"},
	    {"about", "\"line1\\nline2\"", NULL},
	    {"about", "\"123456789012345678901\"", "About must be 20 characters or fewer"},
	    {"ods", "\"x26\"", "ODS code must be 3 to 6 letters or numbers"},
	    {"ods", "\"X26X26X\"", "ODS code must be 3 to 6 letters or numbers"},
	    {"ods", "\"8JK05\"", NULL},
	    {"email", "\"not-an-email\"",
	     "Enter the contact email address in the correct format, like name@example.com"},
	    {"email", "\"a@b\"",
	     "Enter the contact email address in the correct format, like name@example.com"},
	    {"email", "\"a..b@example.com\"",
	     "Enter the contact email address in the correct format, like name@example.com"},
	    {"email", "\"a b@example.com\"",
	     "Enter the contact email address in the correct format, like name@example.com"},
	    {"email", "\"jo.bloggs+cis2@nhs.net\"", NULL},
	    {"site", "\"ftp://example.com\"",
	     "Enter the website in the correct format, like https://www.example.com"},
	    {"site", "\"https://exa mple.com\"",
	     "Enter the website in the correct format, like https://www.example.com"},
	    {"site", "\"https://\"",
	     "Enter the website in the correct format, like https://www.example.com"},
	    {"site", "\"https://www.example.com:8443/path?q=1#top\"", NULL},
	    {"per_day", "\"12abc\"",
	     "Expected authentications per day must be a whole number between 0 and 1,000,000"},
	    {"per_day", "1000001",
	     "Expected authentications per day must be a whole number between 0 and 1,000,000"},
	    {"per_day", "-1",
	     "Expected authentications per day must be a whole number between 0 and 1,000,000"},
	    {"per_day", "2.5",
	     "Expected authentications per day must be a whole number between 0 and 1,000,000"},
	    {"per_day", "\"99999999999999999999\"",
	     "Expected authentications per day must be a whole number between 0 and 1,000,000"},
	    {"per_day", "1000000", NULL},
	    {"per_day", "\"2,500\"", NULL},
	    {"live", "\"2026-02-30\"", "Go-live date must be a real date"},
	    {"live", "\"31/03/2026\"", "Go-live date must be a real date"},
	    {"live", "\"2023-12-31\"",
	     "Go-live date must be between 1 January 2024 and 31 December 2030"},
	    {"live", "\"2028-02-29\"", NULL},
	    {"cis1", "\"maybe\"", "Select yes or no"},
	    {"cis1", "true", "Select yes or no"},
	    {"cis1", "\"no\"", NULL},
	    {"aal", "\"AAL1\"", "Select the assurance level from the options listed"},
	    {"aal", "[\"AAL2\"]", "Select the assurance level from the options listed"},
	    {"apis", "[\"pds\",\"xyz\"]", "Select the national APIs from the options listed"},
	    {"apis", "[\"pds\",\"pds\"]", "Select the national APIs from the options listed"},
	    {"apis", "\"pds\"", "Select the national APIs from the options listed"},
	    {"apis", "[\"pds\",\"none\"]", "Select the national APIs, or select 'None'"},
	    {"apis", "[\"none\"]", NULL},
	    {"apis", "[\"eps\",\"pds\"]", NULL},
	    {"read", "\"yes\"", "Confirm you have read the guidance"},
	    {"read", "true", NULL},
	};
	const questionnaire *q = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[512];
		json_t *e;
		const char *got;

		snprintf(text, sizeof(text), "{\"%s\":%s}", cases[i].id, cases[i].value);
		e = validate(q, NULL, text, QUESTIONNAIRE_DRAFT);
		got = json_string_value(json_object_get(e, cases[i].id));
		if (json_object_size(e) != (cases[i].message ? 1u : 0u) ||
		    (cases[i].message && (!got || strcmp(got, cases[i].message) != 0)))
			fail_msg("case %zu (%s = %s): got \"%s\", wanted \"%s\"", i, cases[i].id,
			         cases[i].value, got ? got : "(none)",
			         cases[i].message ? cases[i].message : "(none)");
		json_decref(e);
	}
}

static void test_confirm_on_submit(void **state)
{
	const questionnaire *q = *state;
	json_t *e;

	e = validate(q, "two", "{\"cis1\":\"yes\",\"aal\":\"AAL3\"}", QUESTIONNAIRE_SUBMIT);
	assert_json(e, "{\"read\":\"Confirm you have read the guidance\"}");
	json_decref(e);
	e = validate(q, "two", "{\"cis1\":\"yes\",\"aal\":\"AAL3\",\"read\":false}",
	             QUESTIONNAIRE_SUBMIT);
	assert_json(e, "{\"read\":\"Confirm you have read the guidance\"}");
	json_decref(e);
	e = validate(q, "two", "{\"cis1\":\"yes\",\"aal\":\"AAL3\",\"read\":true}",
	             QUESTIONNAIRE_SUBMIT);
	assert_json(e, "{}");
	json_decref(e);
	/* unticked is fine in a draft */
	e = validate(q, "two", "{}", QUESTIONNAIRE_DRAFT);
	assert_json(e, "{}");
	json_decref(e);
}

static void test_validate_errors(void **state)
{
	const questionnaire *q = *state;
	json_t *arr = J("[]"), *e = (json_t *)1;

	assert_int_equal(questionnaire_validate(&e, q, NULL, arr, QUESTIONNAIRE_DRAFT),
	                 CAREID_EINVALID);
	assert_null(e);
	assert_int_equal(questionnaire_validate(&e, q, "zzz", NULL, QUESTIONNAIRE_DRAFT),
	                 CAREID_ENOTFOUND);
	assert_int_equal(questionnaire_validate(&e, q, "one", NULL, QUESTIONNAIRE_SUBMIT), 0);
	assert_int_equal(json_object_size(e), 3);
	json_decref(e);
	json_decref(arr);
}

static void test_pick_and_replace(void **state)
{
	const questionnaire *q = *state;
	json_t *in = J("{\"name\":\"A\",\"cis1\":\"yes\",\"evil\":\"x\",\"per_day\":\"1\"}"), *out;
	json_t *stored = J("{\"name\":\"Old\",\"ods\":\"OLD\",\"cis1\":\"no\",\"aal\":\"AAL2\"}");

	assert_int_equal(questionnaire_answers_pick(&out, q, "one", in), 0);
	assert_json(out, "{\"name\":\"A\",\"per_day\":\"1\"}");
	/* section one's answers are replaced: ods is gone, section two untouched */
	assert_int_equal(questionnaire_answers_replace(stored, q, "one", out), 0);
	assert_json(stored, "{\"name\":\"A\",\"per_day\":\"1\",\"cis1\":\"no\",\"aal\":\"AAL2\"}");
	json_decref(out);
	assert_int_equal(questionnaire_answers_pick(&out, q, NULL, in), 0);
	assert_json(out, "{\"name\":\"A\",\"cis1\":\"yes\",\"per_day\":\"1\"}");
	json_decref(out);
	assert_int_equal(questionnaire_answers_pick(&out, q, NULL, NULL), CAREID_EINVALID);
	assert_int_equal(questionnaire_answers_replace(stored, q, "nope", in), CAREID_ENOTFOUND);
	json_decref(in);
	json_decref(stored);
}

static const json_t *question(const json_t *ctx, size_t i)
{
	return json_array_get(json_object_get(ctx, "questions"), i);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	if (!s)
		fail_msg("no string \"%s\"", key);
	return s;
}

static void test_render_context(void **state)
{
	const questionnaire *q = *state;
	json_t *answers = J("{\"name\":\"Acme\",\"about\":\"far too long for twenty\","
	                    "\"per_day\":1000,\"aal\":\"AAL3\",\"apis\":[\"eps\"],\"read\":true}");
	json_t *errors, *ctx;
	const json_t *qu, *opt, *list;

	assert_int_equal(questionnaire_validate(&errors, q, NULL, answers, QUESTIONNAIRE_SUBMIT),
	                 0);
	assert_int_equal(questionnaire_render_context(&ctx, q, "one", answers, errors), 0);

	assert_string_equal(str(json_object_get(ctx, "section"), "title"), "One");
	assert_string_equal(str(json_object_get(ctx, "section"), "description"), "First");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(ctx, "section"), "count")), 2);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(ctx, "questionnaire"), "version")),
	    3);
	assert_int_equal(json_array_size(json_object_get(ctx, "questions")), 7);
	assert_true(json_is_true(json_object_get(ctx, "has_errors")));

	qu = question(ctx, 0);
	assert_string_equal(str(qu, "input_id"), "q-name");
	assert_string_equal(str(qu, "value"), "Acme");
	assert_string_equal(str(qu, "error"), "");
	assert_string_equal(str(qu, "describedby"), "");
	assert_string_equal(str(qu, "autocomplete"), "organization");
	assert_true(json_is_true(json_object_get(qu, "is_text")));
	assert_true(json_is_true(json_object_get(qu, "is_input")));
	assert_true(json_is_false(json_object_get(qu, "is_textarea")));
	assert_true(json_is_false(json_object_get(qu, "optional")));

	qu = question(ctx, 2); /* about: a hint and an error */
	assert_string_equal(str(qu, "error"), "About must be 20 characters or fewer");
	assert_string_equal(str(qu, "describedby"), "q-about-hint q-about-error");
	assert_string_equal(str(qu, "textarea_class"), "nhsuk-textarea nhsuk-textarea--error");
	assert_string_equal(str(qu, "group_class"), "nhsuk-form-group nhsuk-form-group--error");
	assert_true(json_is_true(json_object_get(qu, "optional")));

	qu = question(ctx, 5); /* per_day */
	assert_string_equal(str(qu, "value"), "1000");
	assert_string_equal(str(qu, "inputmode"), "numeric");
	assert_string_equal(str(qu, "input_class"), "nhsuk-input nhsuk-input--width-10");
	assert_string_equal(str(question(ctx, 6), "input_type"), "date");

	list = json_object_get(ctx, "errors");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(str(json_array_get(list, 0), "href"), "#q-ods");
	assert_string_equal(str(json_array_get(list, 0), "text"), "Enter the ODS code");
	assert_string_equal(str(json_array_get(list, 1), "href"), "#q-about");
	json_decref(ctx);

	assert_int_equal(questionnaire_render_context(&ctx, q, "two", answers, NULL), 0);
	assert_true(json_is_false(json_object_get(ctx, "has_errors")));
	qu = question(ctx, 1); /* aal */
	assert_true(json_is_true(json_object_get(qu, "is_radios")));
	assert_int_equal(json_array_size(json_object_get(qu, "options")), 2);
	opt = json_array_get(json_object_get(qu, "options"), 1);
	assert_string_equal(str(opt, "option_id"), "q-aal-2");
	assert_string_equal(str(opt, "hint"), "High");
	assert_string_equal(str(opt, "option_hint_id"), "q-aal-2-item-hint");
	assert_true(json_is_true(json_object_get(opt, "checked")));
	assert_string_equal(str(json_array_get(json_object_get(qu, "options"), 0), "option_id"),
	                    "q-aal");
	qu = question(ctx, 2); /* apis */
	opt = json_array_get(json_object_get(qu, "options"), 2);
	assert_true(json_is_true(json_object_get(opt, "divider")));
	assert_true(json_is_true(json_object_get(opt, "exclusive")));
	assert_true(json_is_true(
	    json_object_get(json_array_get(json_object_get(qu, "options"), 1), "checked")));
	assert_true(json_is_false(
	    json_object_get(json_array_get(json_object_get(qu, "options"), 0), "checked")));
	assert_string_equal(str(qu, "choice"), "checkboxes");
	assert_string_equal(str(question(ctx, 0), "choice_class"),
	                    "nhsuk-radios nhsuk-radios--inline");
	assert_true(json_is_true(json_object_get(question(ctx, 3), "checked")));
	json_decref(ctx);

	ctx = (json_t *)1;
	assert_int_equal(questionnaire_render_context(&ctx, q, NULL, answers, NULL),
	                 CAREID_EINVALID);
	assert_null(ctx);
	assert_int_equal(questionnaire_render_context(&ctx, q, "x", answers, NULL),
	                 CAREID_ENOTFOUND);
	json_decref(errors);
	json_decref(answers);
}

static char *render(const templates *t, const questionnaire *q, const char *section,
                    const json_t *answers, enum questionnaire_mode mode)
{
	json_t *errors, *ctx;
	struct buf out;
	char *html;

	assert_int_equal(questionnaire_validate(&errors, q, section, answers, mode), 0);
	assert_int_equal(questionnaire_render_context(&ctx, q, section, answers, errors), 0);
	buf_init(&out, 1 << 20);
	if (templates_render(t, "questionnaire", ctx, &out) != 0)
		fail_msg("%s", careid_error_last()->message);
	html = buf_detach(&out, NULL);
	json_decref(ctx);
	json_decref(errors);
	assert_null(strstr(html, "{{"));
	return html;
}

static void test_render_template(void **state)
{
	const questionnaire *q = *state;
	json_t *answers =
	    J("{\"name\":\"<script>x</script>\",\"about\":\"far too long for twenty\","
	      "\"per_day\":\"12abc\",\"apis\":[\"eps\"],\"read\":true,"
	      "\"aal\":\"AAL3\"}");
	templates *t;
	char *html;

	if (templates_load(&t) != 0)
		fail_msg("%s", careid_error_last()->message);

	html = render(t, q, "one", answers, QUESTIONNAIRE_SUBMIT);
	assert_non_null(strstr(html, "<h2 class=\"nhsuk-heading-m\" id=\"section-one\">One</h2>\n"
	                             "<p class=\"nhsuk-body\">First</p>"));
	assert_non_null(strstr(html, "value=\"&lt;script&gt;x&lt;&#x2F;script&gt;\""));
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "<label class=\"nhsuk-label nhsuk-label--s\" for=\"q-name\">"
	                             "Organisation name</label>"));
	assert_non_null(strstr(html, "autocomplete=\"organization\""));
	assert_non_null(strstr(html,
	                       "<textarea class=\"nhsuk-textarea nhsuk-textarea--error\" "
	                       "id=\"q-about\" name=\"about\" rows=\"5\" "
	                       "aria-describedby=\"q-about-hint q-about-error\">far too long for "
	                       "twenty</textarea>"));
	assert_non_null(strstr(html, "<span class=\"nhsuk-error-message\" id=\"q-about-error\">"));
	assert_non_null(strstr(html, "About (optional)</label>"));
	assert_non_null(strstr(html,
	                       "class=\"nhsuk-input nhsuk-input--width-10 nhsuk-input--error\" "
	                       "id=\"q-per_day\" name=\"per_day\" type=\"text\" "
	                       "value=\"12abc\" inputmode=\"numeric\""));
	assert_non_null(strstr(html, "type=\"date\""));
	assert_non_null(strstr(html, "type=\"email\""));
	free(html);

	html = render(t, q, "two", answers, QUESTIONNAIRE_DRAFT);
	assert_non_null(strstr(html, "id=\"section-two\">Two</h2>\n\n"));
	assert_non_null(strstr(html, "<fieldset class=\"nhsuk-fieldset\">"));
	assert_non_null(strstr(html, "<legend class=\"nhsuk-fieldset__legend "
	                             "nhsuk-fieldset__legend--s\">Level</legend>"));
	assert_non_null(strstr(html, "id=\"q-aal-2\" name=\"aal\" type=\"radio\" value=\"AAL3\" "
	                             "checked aria-describedby=\"q-aal-2-item-hint\">"));
	assert_non_null(strstr(html,
	                       "id=\"q-apis-2\" name=\"apis\" type=\"checkbox\" value=\"eps\" "
	                       "checked>"));
	assert_non_null(strstr(html, "<div class=\"nhsuk-checkboxes__divider\">or</div>"));
	assert_non_null(strstr(html, "value=\"none\" data-behaviour=\"exclusive\">"));
	assert_non_null(strstr(html, "id=\"q-read\" name=\"read\" type=\"checkbox\" value=\"yes\" "
	                             "checked>"));
	assert_non_null(strstr(html, "class=\"nhsuk-radios nhsuk-radios--inline\""));
	free(html);

	/* every section of the real files renders, empty and with every error */
	{
		static const char *const files[] = {"saq.json", "setup-eligibility.json"};

		for (size_t f = 0; f < 2; f++) {
			questionnaire *real = load_etc(files[f]);

			for (size_t i = 0; i < questionnaire_section_count(real); i++) {
				html = render(t, real, questionnaire_section_id(real, i), NULL,
				              QUESTIONNAIRE_SUBMIT);
				assert_non_null(strstr(html, "nhsuk-error-message"));
				free(html);
			}
			questionnaire_free(real);
		}
	}
	templates_free(t);
	json_decref(answers);
}

static void test_summary(void **state)
{
	const questionnaire *q = *state;
	json_t *answers = J("{\"name\":\"Acme\",\"per_day\":1234567,\"live\":\"2026-03-31\","
	                    "\"cis1\":\"yes\",\"aal\":\"AAL3\",\"apis\":[\"pds\",\"eps\"],"
	                    "\"read\":true,\"about\":\"x\\ny\"}");
	json_t *s = questionnaire_summary(q, answers), *rows;

	assert_non_null(s);
	assert_int_equal(json_array_size(s), 2);
	assert_string_equal(str(json_array_get(s, 0), "title"), "One");
	rows = json_object_get(json_array_get(s, 0), "rows");
	assert_int_equal(json_array_size(rows), 7);
	assert_string_equal(str(json_array_get(rows, 0), "label"), "Organisation name");
	assert_string_equal(str(json_array_get(rows, 0), "value"), "Acme");
	assert_string_equal(str(json_array_get(rows, 1), "value"), "Not answered");
	assert_true(json_is_false(json_object_get(json_array_get(rows, 1), "answered")));
	assert_string_equal(str(json_array_get(rows, 2), "value"), "x\ny");
	assert_string_equal(str(json_array_get(rows, 5), "value"), "1,234,567");
	assert_string_equal(str(json_array_get(rows, 6), "value"), "31 March 2026");
	rows = json_object_get(json_array_get(s, 1), "rows");
	assert_string_equal(str(json_array_get(rows, 0), "value"), "Yes");
	assert_string_equal(str(json_array_get(rows, 1), "value"), "AAL3");
	assert_string_equal(str(json_array_get(rows, 2), "value"), "PDS, EPS");
	assert_int_equal(json_array_size(json_object_get(json_array_get(rows, 2), "items")), 2);
	assert_string_equal(str(json_array_get(rows, 3), "value"), "Confirmed");
	json_decref(s);

	s = questionnaire_summary(q, NULL);
	rows = json_object_get(json_array_get(s, 1), "rows");
	assert_string_equal(str(json_array_get(rows, 3), "value"), "Not confirmed");
	json_decref(s);
	json_decref(answers);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_etc_files),
	    cmocka_unit_test(test_bad_definitions),
	    cmocka_unit_test(test_load_errors),
	    cmocka_unit_test(test_etc_complete),
	    cmocka_unit_test_setup_teardown(test_json_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_answers_from_form, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_draft_vs_submit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_confirm_on_submit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_validate_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pick_and_replace, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render_context, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render_template, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_summary, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
