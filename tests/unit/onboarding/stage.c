/* Tests src/onboarding/stage.c's table of stages (routes and names) and the
 * 'Non-functional requirements' questionnaire, etc/onboarding/
 * non-functional.json, through the questionnaire engine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/error.h"
#include "http/template.h"
#include "onboarding/questionnaire.h"
#include "onboarding/stage_int.h"

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

static void test_routes(void **state)
{
	const struct stage_def *d;
	const char *section = NULL;

	(void)state;
	d = stage_def_route("/setup", &section);
	assert_non_null(d);
	assert_string_equal(d->name, "setup_eligibility");
	assert_string_equal(section, "");
	d = stage_def_route("/setup/use_case", &section);
	assert_non_null(d);
	assert_string_equal(section, "use_case");
	d = stage_def_route("/non-functional", &section);
	assert_non_null(d);
	assert_string_equal(d->name, "non_functional");
	assert_string_equal(d->slug, "non-functional");
	assert_string_equal(d->title, "Non-functional requirements");
	assert_string_equal(d->prerequisite, "setup_eligibility");
	assert_string_equal(section, "");
	d = stage_def_route("/non-functional/clinical_risk", &section);
	assert_non_null(d);
	assert_string_equal(section, "clinical_risk");
	d = stage_def_route("/non-functional/submit", &section);
	assert_non_null(d);
	assert_string_equal(section, "submit");

	/* nothing deeper, no trailing slash, no near misses, no other parts */
	assert_null(stage_def_route("/non-functional/clinical_risk/x", &section));
	assert_null(stage_def_route("/non-functional/", &section));
	assert_null(stage_def_route("/setupx", &section));
	assert_null(stage_def_route("/non-functionals", &section));
	assert_null(stage_def_route("/non", &section));
	assert_null(stage_def_route("/plan", &section));
	assert_null(stage_def_route("setup", &section));
	assert_null(stage_def_route("", &section));
	assert_null(stage_def_route(NULL, &section));
}

static void test_find(void **state)
{
	(void)state;
	assert_string_equal(stage_def_find("setup_eligibility")->title, "Setup and eligibility");
	assert_null(stage_def_find("setup_eligibility")->prerequisite);
	assert_string_equal(stage_def_find("non_functional")->slug, "non-functional");
	assert_null(stage_def_find("non-functional")); /* the slug is not the name */
	assert_null(stage_def_find("conformance"));
	assert_null(stage_def_find(NULL));
	/* a prerequisite names a stage of the table */
	assert_non_null(stage_def_find(stage_def_find("non_functional")->prerequisite));
}

/* A complete set of answers to the NFR questionnaire. */
static const char complete[] =
    "{\"dspt_ods_code\":\"8JK22\",\"dspt_status\":\"standards_met\","
    "\"dspt_published\":\"2026-06-30\",\"cyber_essentials\":\"plus\","
    "\"pen_test_date\":\"2026-04-15\",\"pen_test_by\":\"Example Security Ltd (CREST)\","
    "\"pen_test_findings\":\"none_open\",\"hosting_location\":\"uk\","
    "\"hosting_provider\":\"A UK cloud provider, London and Manchester regions\","
    "\"credential_protection\":\"A secrets manager; rotated yearly\",\"dpia_completed\":\"yes\","
    "\"cso_name\":\"Dr Sam Patel\",\"cso_registration\":\"GMC 1234567\","
    "\"cso_email\":\"cso@supplier.example\",\"dcb0129_compliant\":\"yes\","
    "\"hazard_log_reviewed\":\"2026-05-01\",\"safety_case_version\":\"2.1\","
    "\"authentication_hazards\":\"Wrong role: the role is shown on every page.\","
    "\"dcb0160_support\":\"yes\",\"incident_process\":\"itil\","
    "\"incident_description\":\"Monitored; P1 to P4; customers told by e-mail.\","
    "\"support_hours\":\"always\",\"major_incident_contact\":\"Incident manager on call\","
    "\"major_incident_email\":\"major-incidents@supplier.example\","
    "\"major_incident_phone\":\"0300 123 4567\",\"availability_target\":\"99.9\","
    "\"outage_plan\":\"Paper forms and a local break-glass account.\","
    "\"confirm_change_notice\":true,\"confirm_incident_reporting\":true,"
    "\"intended_purpose\":\"Recording observations.\",\"device_class\":\"not_a_device\","
    "\"device_reasoning\":\"It records and displays; it calculates nothing.\","
    "\"confirm_device_change\":true}";

static json_t *errors_of(const questionnaire *q, const json_t *answers,
                         enum questionnaire_mode mode)
{
	json_t *errors = NULL;

	assert_int_equal(questionnaire_validate(&errors, q, NULL, answers, mode), 0);
	return errors;
}

static void test_nfr_questionnaire(void **state)
{
	questionnaire *q = load_etc("non-functional.json");
	json_t *answers = json_loads(complete, 0, NULL), *errors;
	static const char *const sections[] = {"information_security", "clinical_risk",
	                                       "service_management", "medical_device"};

	(void)state;
	assert_non_null(answers);
	assert_string_equal(questionnaire_id(q), "non-functional");
	assert_int_equal(questionnaire_version(q), 1);
	assert_int_equal(questionnaire_section_count(q), 4);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(questionnaire_section_id(q, i), sections[i]);
	assert_string_equal(questionnaire_section_title(q, 0), "Data and information security");
	assert_string_equal(questionnaire_section_title(q, 1), "Clinical risk management process");
	assert_string_equal(questionnaire_section_title(q, 2), "Service and incident management");
	assert_string_equal(questionnaire_section_title(q, 3), "Medical device status");

	/* complete: nothing to correct */
	errors = errors_of(q, answers, QUESTIONNAIRE_SUBMIT);
	assert_int_equal(json_object_size(errors), 0);
	json_decref(errors);

	/* nothing answered: every required question and every confirmation */
	errors = errors_of(q, NULL, QUESTIONNAIRE_SUBMIT);
	assert_string_equal(json_string_value(json_object_get(errors, "dspt_ods_code")),
	                    "Enter the ODS code your DSPT assessment is published under");
	assert_non_null(json_object_get(errors, "cso_name"));
	assert_non_null(json_object_get(errors, "confirm_incident_reporting"));
	assert_string_equal(json_string_value(json_object_get(errors, "device_class")),
	                    "Select whether your product is a medical device, and its class");
	/* optional: the DSPT's date, out-of-hours, the marking and MHRA reference */
	assert_null(json_object_get(errors, "dspt_published"));
	assert_null(json_object_get(errors, "out_of_hours"));
	assert_null(json_object_get(errors, "device_marking"));
	assert_null(json_object_get(errors, "mhra_registration"));
	json_decref(errors);

	/* bad answers, even in a draft */
	json_object_set_new(answers, "major_incident_phone", json_string("call us"));
	json_object_set_new(answers, "dspt_ods_code", json_string("8JK 22"));
	json_object_set_new(answers, "pen_test_date", json_string("2026-02-30"));
	json_object_set_new(answers, "availability_target", json_string("100"));
	json_object_set_new(answers, "cso_email", json_string("not an address"));
	errors = errors_of(q, answers, QUESTIONNAIRE_DRAFT);
	assert_int_equal(json_object_size(errors), 5);
	assert_string_equal(
	    json_string_value(json_object_get(errors, "major_incident_phone")),
	    "Major incident phone number must be a UK or international number, like 0300 123 4567");
	assert_string_equal(
	    json_string_value(json_object_get(errors, "dspt_ods_code")),
	    "ODS code of your DSPT assessment must be 3 to 10 letters and numbers, like 8JK22");
	json_decref(errors);

	/* international numbers are fine */
	json_object_set_new(answers, "major_incident_phone", json_string("+44 300 123 4567"));
	json_object_set_new(answers, "availability_target", json_string("99.99"));
	errors = NULL;
	assert_int_equal(
	    questionnaire_validate(&errors, q, "service_management", answers, QUESTIONNAIRE_SUBMIT),
	    0);
	assert_int_equal(json_object_size(errors), 0);
	json_decref(errors);
	json_decref(answers);
	questionnaire_free(q);
}

/* Every section renders through the real template, with every error shown. */
static void test_nfr_renders(void **state)
{
	questionnaire *q = load_etc("non-functional.json");
	templates *t = NULL;

	(void)state;
	if (templates_load(&t) != 0)
		fail_msg("%s", careid_error_last()->message);
	for (size_t i = 0; i < questionnaire_section_count(q); i++) {
		json_t *errors = NULL, *ctx = NULL;
		struct buf out;

		assert_int_equal(questionnaire_validate(&errors, q, questionnaire_section_id(q, i),
		                                        NULL, QUESTIONNAIRE_SUBMIT),
		                 0);
		assert_int_equal(questionnaire_render_context(
		                     &ctx, q, questionnaire_section_id(q, i), NULL, errors),
		                 0);
		buf_init(&out, 1 << 20);
		if (templates_render(t, "questionnaire", ctx, &out) != 0)
			fail_msg("%s", careid_error_last()->message);
		assert_non_null(strstr(out.ptr, "nhsuk-error-message"));
		assert_non_null(strstr(out.ptr, questionnaire_section_title(q, i)));
		buf_release(&out);
		json_decref(ctx);
		json_decref(errors);
	}
	templates_free(t);
	questionnaire_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_routes),
	    cmocka_unit_test(test_find),
	    cmocka_unit_test(test_nfr_questionnaire),
	    cmocka_unit_test(test_nfr_renders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
