/* tests for src/authn/assurance.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

#include "authn/assurance.h"

static void test_levels_and_amr(void **state)
{
	(void)state;
	assert_int_equal(authn_method_aal(AUTHN_PWD), 1);
	assert_int_equal(authn_method_aal(AUTHN_TOTP), 2);
	assert_int_equal(authn_method_aal(AUTHN_PASSKEY), 2);
	assert_int_equal(authn_method_aal(AUTHN_FIDO2), 3);
	assert_int_equal(authn_method_aal(AUTHN_SMARTCARD), 3);
	assert_string_equal(authn_method_amr(AUTHN_PWD), "pwd");
	assert_string_equal(authn_method_amr(AUTHN_SMARTCARD), "N3_SMARTCARD");
	assert_string_equal(authn_method_amr(AUTHN_FIDO2), "FIDO2");
}

static void test_known_classes(void **state)
{
	(void)state;
	assert_true(acr_known("AAL3_ANY"));
	assert_true(acr_known("AAL1_USERPASS"));
	assert_true(acr_known("AAL2_TOTP"));
	assert_false(acr_known("aal3_any"));
	assert_false(acr_known("AAL3"));
	assert_false(acr_known(""));
	assert_false(acr_known(NULL));
	assert_int_equal(acr_methods("AAL1_USERPASS"), AUTHN_PWD);
	assert_int_equal(acr_methods("AAL3_FIDO2"), AUTHN_FIDO2);
	assert_true(acr_methods("AAL2_OR_AAL3_ANY") & AUTHN_TOTP);
	assert_true(acr_methods("AAL2_OR_AAL3_ANY") & AUTHN_SMARTCARD);
	assert_false(acr_methods("AAL2_OR_AAL3_ANY") & AUTHN_PWD);
	assert_false(acr_methods("AAL3_ANY") & AUTHN_TOTP);
}

/* mock offers passwords only and has no default: any request naming no class works */
static void test_accepted_mock(void **state)
{
	(void)state;
	assert_int_equal(acr_accepted(NULL, NULL, NULL, AUTHN_PWD), AUTHN_PWD);
	assert_int_equal(acr_accepted("1 2 unknown", NULL, NULL, AUTHN_PWD), AUTHN_PWD);
	assert_int_equal(acr_accepted("AAL1_USERPASS", NULL, NULL, AUTHN_PWD), AUTHN_PWD);
	assert_int_equal(acr_accepted("AAL3_ANY", NULL, NULL, AUTHN_PWD), 0);
	assert_int_equal(acr_accepted("AAL3_ANY AAL1_USERPASS", NULL, NULL, AUTHN_PWD), AUTHN_PWD);
	/* a client's registered default applies when the request names no class */
	assert_int_equal(acr_accepted(NULL, "AAL3_ANY", NULL, AUTHN_PWD), 0);
	assert_int_equal(acr_accepted("AAL1_USERPASS", "AAL3_ANY", NULL, AUTHN_PWD), AUTHN_PWD);
}

/* int defaults to AAL3_ANY: a password never satisfies it */
static void test_accepted_int(void **state)
{
	(void)state;
	assert_int_equal(acr_accepted(NULL, NULL, "AAL3_ANY", AUTHN_PWD), 0);
	assert_int_equal(acr_accepted(NULL, NULL, "AAL3_ANY", 0), 0);
	assert_int_equal(acr_accepted(NULL, NULL, "AAL3_ANY", AUTHN_FIDO2 | AUTHN_PWD),
	                 AUTHN_FIDO2);
	assert_int_equal(acr_accepted("AAL2_ANY", NULL, "AAL3_ANY", AUTHN_TOTP | AUTHN_PWD),
	                 AUTHN_TOTP);
}

static void test_achieved(void **state)
{
	char acr[ACR_MAX];

	(void)state;
	acr_achieved(acr, AUTHN_PWD, NULL, NULL, NULL);
	assert_string_equal(acr, "AAL1_USERPASS");
	acr_achieved(acr, AUTHN_PWD, "AAL3_ANY AAL1_USERPASS", NULL, NULL);
	assert_string_equal(acr, "AAL1_USERPASS");
	/* the first requested class the method satisfies is stated */
	acr_achieved(acr, AUTHN_FIDO2, "AAL2_OR_AAL3_ANY AAL3_ANY", NULL, NULL);
	assert_string_equal(acr, "AAL2_OR_AAL3_ANY");
	acr_achieved(acr, AUTHN_FIDO2, NULL, "AAL3_ANY", NULL);
	assert_string_equal(acr, "AAL3_ANY");
	acr_achieved(acr, AUTHN_FIDO2, NULL, NULL, "AAL3_ANY");
	assert_string_equal(acr, "AAL3_ANY");
	acr_achieved(acr, AUTHN_SMARTCARD, "nonsense", NULL, NULL);
	assert_string_equal(acr, "AAL3_CIS2_SMARTCARD");
}

/* A session's methods are a set: what it proved decides the class and level. */
static void test_method_sets(void **state)
{
	char acr[ACR_MAX], *amr;

	(void)state;
	assert_int_equal(authn_method_aal(AUTHN_PWD | AUTHN_TOTP), 2);
	assert_int_equal(authn_method_aal(AUTHN_PWD | AUTHN_TOTP | AUTHN_SMARTCARD), 3);
	/* password and app: the strongest method names the class */
	acr_achieved(acr, AUTHN_PWD | AUTHN_TOTP, NULL, NULL, NULL);
	assert_string_equal(acr, "AAL2_TOTP");
	/* a stepped-up session still meets the AAL2 class it met before */
	acr_achieved(acr, AUTHN_PWD | AUTHN_TOTP | AUTHN_FIDO2, "AAL2_TOTP", NULL, NULL);
	assert_string_equal(acr, "AAL2_TOTP");
	assert_int_equal(acr_level("AAL2_TOTP", AUTHN_PWD | AUTHN_TOTP | AUTHN_FIDO2), 2);
	assert_int_equal(acr_level("AAL2_OR_AAL3_ANY", AUTHN_PWD | AUTHN_TOTP | AUTHN_FIDO2), 3);
	assert_int_equal(acr_level("AAL1_USERPASS", AUTHN_PWD | AUTHN_TOTP), 1);
	/* a synced passkey is AAL2, never AAL3 */
	acr_achieved(acr, AUTHN_PASSKEY, "AAL3_ANY AAL2_ANY", NULL, NULL);
	assert_string_equal(acr, "AAL2_ANY");
	assert_int_equal(acr_level("AAL2_ANY", AUTHN_PASSKEY), 2);
	/* a client's registered default names the class when the request does not */
	acr_achieved(acr, AUTHN_SMARTCARD, NULL, "AAL3_SMARTCARD", "AAL3_ANY");
	assert_string_equal(acr, "AAL3_SMARTCARD");
	amr = authn_amr_json(AUTHN_PWD | AUTHN_TOTP);
	assert_string_equal(amr, "[\"pwd\",\"TOTP\"]");
	free(amr);
	amr = authn_amr_json(AUTHN_SMARTCARD);
	assert_string_equal(amr, "[\"N3_SMARTCARD\"]");
	free(amr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels_and_amr), cmocka_unit_test(test_known_classes),
	    cmocka_unit_test(test_accepted_mock),  cmocka_unit_test(test_accepted_int),
	    cmocka_unit_test(test_achieved),       cmocka_unit_test(test_method_sets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
