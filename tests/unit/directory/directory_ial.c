/* tests for directory_user_ial() in src/directory/directory.c: the one-column
 * read ID tokens use instead of loading the user with its roles */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "crypto/random.h"
#include "directory/directory.h"

static void test_ial(void **state)
{
	struct dir_user_new nu = {.uid = "910000000099",
	                          .given_name = "Ida",
	                          .family_name = "Level",
	                          .id_assurance_level = 2};
	char dir[] = "/tmp/careid-ial-XXXXXX", url[300], cmd[300];
	struct dir_user *u = NULL;
	store *s = NULL;
	int ial = -1;

	(void)state;
	assert_int_equal(crypto_init(), 0);
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/t.db", dir);
	assert_int_equal(store_open(&s, url), 0);
	assert_int_equal(store_migrate(s, NULL), 0);
	assert_int_equal(directory_seed_demo(s, NULL), 0);
	assert_int_equal(directory_user_add(s, "mock", &nu, NULL), 0);

	/* the same level directory_user_get() reads */
	assert_int_equal(directory_user_get(&u, s, "mock", "656005750108"), 0);
	assert_int_equal(directory_user_ial(&ial, s, "mock", "656005750108"), 0);
	assert_int_equal(ial, u->id_assurance_level);
	dir_user_free(u);
	assert_int_equal(directory_user_ial(&ial, s, "mock", "910000000099"), 0);
	assert_int_equal(ial, 2);
	/* per environment, and only users that exist */
	assert_int_equal(directory_user_ial(&ial, s, "dep", "910000000099"), CAREID_ENOTFOUND);
	assert_int_equal(ial, 0);
	assert_int_equal(directory_user_ial(&ial, s, "mock", "910000000098"), CAREID_ENOTFOUND);
	assert_int_equal(directory_user_ial(&ial, s, "nowhere", "910000000099"), CAREID_EINVALID);
	assert_int_equal(directory_user_ial(&ial, s, "mock", "91000000009x"), CAREID_EINVALID);

	store_free(s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ial),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
