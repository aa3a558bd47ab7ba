/* tests for src/oidc/grant.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "oidc/oidc_int.h"

static void test_scope_has(void **state)
{
	(void)state;
	assert_true(scope_has("openid profile email", "openid"));
	assert_true(scope_has("openid profile email", "email"));
	assert_true(scope_has("openid  profile", "profile"));
	assert_false(scope_has("openid profile", "prof"));
	assert_false(scope_has("openid profiles", "profile"));
	assert_false(scope_has("", "openid"));
	assert_false(scope_has(NULL, "openid"));
}

static void test_round_trip(void **state)
{
	arena *a = arena_new();
	json_t *amr = json_pack("[s]", "pwd");
	json_t *claims = json_pack("{s:{s:n}}", "userinfo", "email");
	struct grant g = {.uid = "910000000001",
	                  .client_id = "1.apps.supplier",
	                  .scope = "openid selectedrole",
	                  .nonce = "n-0S6_WzA2Mj",
	                  .sid = "sid1",
	                  .acr = "AAL1_USERPASS",
	                  .amr = amr,
	                  .aal = 1,
	                  .auth_time = 1795886857,
	                  .selected_roleid = "555254241101",
	                  .claims = claims};
	struct grant back;
	json_t *j;
	char *text;

	(void)state;
	assert_non_null(a);
	j = grant_to_json(&g);
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(grant_from_text(&back, a, text), 0);
	assert_string_equal(back.uid, g.uid);
	assert_string_equal(back.client_id, g.client_id);
	assert_string_equal(back.scope, g.scope);
	assert_string_equal(back.nonce, g.nonce);
	assert_string_equal(back.sid, g.sid);
	assert_string_equal(back.acr, g.acr);
	assert_string_equal(json_string_value(json_array_get(back.amr, 0)), "pwd");
	assert_int_equal(back.aal, 1);
	assert_int_equal(back.auth_time, 1795886857);
	assert_string_equal(back.selected_roleid, "555254241101");
	assert_true(json_equal(back.claims, claims));
	free(text);

	/* optional members absent: no nonce, no role, no claims request */
	g.nonce = NULL, g.selected_roleid = NULL, g.claims = NULL;
	j = grant_to_json(&g);
	assert_null(json_object_get(j, "nonce"));
	assert_null(json_object_get(j, "selected_roleid"));
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_int_equal(grant_from_text(&back, a, text), 0);
	assert_null(back.nonce);
	assert_null(back.selected_roleid);
	assert_null(back.claims);
	free(text);
	json_decref(amr);
	json_decref(claims);
	arena_free(a);
}

static void test_corrupt(void **state)
{
	arena *a = arena_new();
	struct grant g;

	(void)state;
	assert_int_equal(grant_from_text(&g, a, "not json"), CAREID_ESTORE);
	assert_int_equal(grant_from_text(&g, a, "{\"uid\":\"1\"}"), CAREID_ESTORE);
	assert_int_equal(grant_from_text(&g, a, "[]"), CAREID_ESTORE);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scope_has),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_corrupt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
