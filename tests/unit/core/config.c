/* Tests src/core/config.c: options from argv, environment and file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/error.h"

static const struct opt spec[] = {
    {"listen", "ADDR", "address to listen on", false},
    {"db-url", "URL", "database", false},
    {"verbose", NULL, "more logs", false},
    {"client", "ID", "a client", true},
    {"config", "FILE", "configuration file", false},
    {NULL, NULL, NULL, false},
};

static char cfg_path[512];

static void write_config(const char *text)
{
	const char *dir = getenv("CAREID_TEST_TMP");
	FILE *f;

	if (!dir)
		dir = "/tmp";
	mkdir(dir, 0700);
	snprintf(cfg_path, sizeof(cfg_path), "%s/config-test-%d.conf", dir, (int)getpid());
	f = fopen(cfg_path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int clean_env(void **state)
{
	(void)state;
	unsetenv("CAREID_LISTEN");
	unsetenv("CAREID_DB_URL");
	unsetenv("CAREID_VERBOSE");
	unsetenv("CAREID_CLIENT");
	unsetenv("CAREID_CONFIG");
	if (cfg_path[0])
		unlink(cfg_path);
	cfg_path[0] = '\0';
	return 0;
}

static int parse(opts **o, int argc, char **argv)
{
	return opts_parse(o, spec, argc, argv);
}

static void test_argv_forms(void **state)
{
	char *argv[] = {
	    "serve", "--listen=1.2.3.4", "--db-url", "sqlite:x.db",    "--verbose", "--client", "a",
	    "pos2",  "--client=b",       "--",       "--not-an-option"};
	opts *o;

	(void)state;
	assert_int_equal(parse(&o, 11, argv), 0);
	assert_string_equal(opts_get(o, "listen"), "1.2.3.4");
	assert_string_equal(opts_get(o, "db-url"), "sqlite:x.db");
	assert_true(opts_flag(o, "verbose"));
	assert_int_equal(opts_count(o, "client"), 2);
	assert_string_equal(opts_nth(o, "client", 0), "a");
	assert_string_equal(opts_nth(o, "client", 1), "b");
	assert_null(opts_nth(o, "client", 2));
	assert_int_equal(opts_npos(o), 3);
	assert_string_equal(opts_pos(o, 0), "serve");
	assert_string_equal(opts_pos(o, 1), "pos2");
	assert_string_equal(opts_pos(o, 2), "--not-an-option");
	assert_null(opts_pos(o, 3));
	assert_null(opts_get(o, "config"));
	opts_free(o);
	opts_free(NULL);
}

static void test_unset_and_defaults(void **state)
{
	char *argv[] = {"x"};
	opts *o;

	(void)state;
	assert_int_equal(parse(&o, 1, argv), 0);
	assert_null(opts_get(o, "listen"));
	assert_string_equal(opts_get_or(o, "listen", "127.0.0.1"), "127.0.0.1");
	assert_false(opts_flag(o, "verbose"));
	assert_int_equal(opts_count(o, "client"), 0);
	opts_free(o);
	assert_int_equal(parse(&o, 0, NULL), 0);
	assert_int_equal(opts_npos(o), 0);
	opts_free(o);
}

static void expect_usage_error(int argc, char **argv, const char *msg)
{
	opts *o = (opts *)1;

	assert_int_equal(parse(&o, argc, argv), CAREID_EINVALID);
	assert_null(o);
	assert_int_equal(careid_error_last()->code, CAREID_EINVALID);
	assert_non_null(strstr(careid_error_last()->message, msg));
}

static void test_usage_errors(void **state)
{
	char *unknown[] = {"--nope"};
	char *unknown_eq[] = {"--nope=1"};
	char *flag_value[] = {"--verbose=1"};
	char *missing[] = {"--listen"};
	char *twice[] = {"--listen", "a", "--listen=b"};
	char *prefix[] = {"--list=x"};

	(void)state;
	expect_usage_error(1, unknown, "unknown option --nope");
	expect_usage_error(1, unknown_eq, "unknown option --nope");
	expect_usage_error(1, flag_value, "--verbose takes no value");
	expect_usage_error(1, missing, "--listen needs a value");
	expect_usage_error(3, twice, "--listen given twice");
	expect_usage_error(1, prefix, "unknown option --list");
}

static void test_env(void **state)
{
	char *argv[] = {"--listen", "cli"};
	opts *o;

	(void)state;
	setenv("CAREID_LISTEN", "env", 1);
	setenv("CAREID_DB_URL", "env-db", 1);
	setenv("CAREID_VERBOSE", "yes", 1);
	setenv("CAREID_CLIENT", "env-client", 1);
	assert_int_equal(parse(&o, 2, argv), 0);
	assert_string_equal(opts_get(o, "listen"), "cli");    /* the command line wins */
	assert_string_equal(opts_get(o, "db-url"), "env-db"); /* dashes become '_' */
	assert_true(opts_flag(o, "verbose"));
	assert_int_equal(opts_count(o, "client"), 0); /* repeatable: command line only */
	opts_free(o);
	setenv("CAREID_VERBOSE", "0", 1);
	assert_int_equal(parse(&o, 0, NULL), 0);
	assert_false(opts_flag(o, "verbose"));
	opts_free(o);
}

static void test_file_precedence(void **state)
{
	opts *o;
	char *argv[4] = {"--config", cfg_path, "--listen", "cli"};

	(void)state;
	write_config("# comment\n\n  listen = file-listen  \ndb-url=file-db\nverbose = true\n");
	assert_int_equal(parse(&o, 2, argv), 0);
	assert_string_equal(opts_get(o, "listen"), "file-listen");
	assert_string_equal(opts_get(o, "db-url"), "file-db");
	assert_true(opts_flag(o, "verbose"));
	opts_free(o);
	/* environment over file, command line over both */
	setenv("CAREID_DB_URL", "env-db", 1);
	assert_int_equal(parse(&o, 4, argv), 0);
	assert_string_equal(opts_get(o, "listen"), "cli");
	assert_string_equal(opts_get(o, "db-url"), "env-db");
	opts_free(o);
	unsetenv("CAREID_DB_URL");
	/* CAREID_CONFIG names the file when --config is absent */
	setenv("CAREID_CONFIG", cfg_path, 1);
	assert_int_equal(parse(&o, 0, NULL), 0);
	assert_string_equal(opts_get(o, "listen"), "file-listen");
	opts_free(o);
}

static void test_file_errors(void **state)
{
	opts *o = (opts *)1;
	char *missing[] = {"--config=/nonexistent/careid.conf"};
	char *argv[] = {"--config", cfg_path};

	(void)state;
	assert_int_equal(parse(&o, 1, missing), CAREID_EIO);
	assert_null(o);
	write_config("listen = x\nthis line has no equals sign\n");
	assert_int_equal(parse(&o, 2, argv), CAREID_EINVALID);
	assert_null(o);
	assert_non_null(strstr(careid_error_last()->message, ":2:"));
}

static void test_parse_long(void **state)
{
	long v = -1;

	(void)state;
	assert_int_equal(parse_long("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_long("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(parse_long("101", 0, 100, &v), CAREID_EINVALID);
	assert_int_equal(parse_long("-1", 0, 100, &v), CAREID_EINVALID);
	assert_int_equal(parse_long("12x", 0, 100, &v), CAREID_EINVALID);
	assert_int_equal(parse_long(" 1", 0, 100, &v), CAREID_EINVALID);
	assert_int_equal(parse_long("", 0, 100, &v), CAREID_EINVALID);
	assert_int_equal(parse_long(NULL, 0, 100, &v), CAREID_EINVALID);
	assert_int_equal(parse_long("99999999999999999999999", 0, 100, &v), CAREID_EINVALID);
	assert_int_equal(v, -5); /* untouched on error */
}

static void test_usage(void **state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	(void)state;
	opts_usage(f, spec);
	fclose(f);
	assert_non_null(strstr(text, "--listen ADDR"));
	assert_non_null(strstr(text, "--verbose "));
	assert_non_null(strstr(text, "a client (repeatable)"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_argv_forms, clean_env, clean_env),
	    cmocka_unit_test_setup_teardown(test_unset_and_defaults, clean_env, clean_env),
	    cmocka_unit_test_setup_teardown(test_usage_errors, clean_env, clean_env),
	    cmocka_unit_test_setup_teardown(test_env, clean_env, clean_env),
	    cmocka_unit_test_setup_teardown(test_file_precedence, clean_env, clean_env),
	    cmocka_unit_test_setup_teardown(test_file_errors, clean_env, clean_env),
	    cmocka_unit_test(test_parse_long),
	    cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
