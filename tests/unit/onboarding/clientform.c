/* Tests src/onboarding/clientform.c: the registration form of mock and
 * environment clients, from pages and from the API, and its messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/error.h"
#include "http/form.h"
#include "onboarding/clientform.h"

#define FORM(...)                                                                                  \
	(struct form)                                                                              \
	{                                                                                          \
		(struct form_field[]){__VA_ARGS__},                                                \
		    sizeof((struct form_field[]){__VA_ARGS__}) / sizeof(struct form_field)         \
	}

static const char *err(const json_t *errors, const char *field)
{
	return json_string_value(json_object_get(errors, field));
}

/* The errors of a page form of `kind` (a new object). */
static json_t *check_form(arena *a, enum clientform_kind kind, const struct form *f)
{
	struct clientform in;

	assert_int_equal(clientform_from_form(&in, kind, a, f), 0);
	return clientform_check(&in, a);
}

/* The errors of an API body of `kind` (a new object). */
static json_t *check_json(arena *a, enum clientform_kind kind, const char *text)
{
	struct clientform in;
	json_t *body = json_loads(text, 0, NULL), *e;

	assert_non_null(body);
	clientform_from_json(&in, kind, body);
	e = clientform_check(&in, a);
	json_decref(body);
	return e;
}

static void test_lines(void **state)
{
	arena *a = arena_new();
	struct form f =
	    FORM({"name", "App"},
	         {"redirect_uris", "  https://a.example/cb \r\n\r\n\thttp://127.0.0.1:9/cb\n"},
	         {"auth_method", ""});
	struct clientform in;
	char many[1024] = "";

	(void)state;
	assert_int_equal(clientform_from_form(&in, CLIENTFORM_MOCK, a, &f), 0);
	assert_int_equal(in.redirect.n, 2);
	assert_string_equal(in.redirect.v[0], "https://a.example/cb");
	assert_string_equal(in.redirect.v[1], "http://127.0.0.1:9/cb");
	assert_null(in.auth_method); /* an empty choice is the default */
	assert_string_equal(clientform_method(&in), "client_secret_basic");
	for (int i = 0; i < 11; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "https://a.example/%d\n",
		         i);
	f = FORM({"name", "App"}, {"redirect_uris", many});
	assert_int_equal(clientform_from_form(&in, CLIENTFORM_ENV, a, &f), 0);
	assert_int_equal(in.redirect.n, CLIENTFORM_MAX_URIS);
	assert_true(in.redirect.too_many);
	arena_free(a);
}

static void test_mock_messages(void **state)
{
	arena *a = arena_new();
	struct form f;
	json_t *e;
	char long_name[120];

	(void)state;
	f = FORM({"name", "Good"}, {"redirect_uris", "https://a.example/cb"});
	e = check_form(a, CLIENTFORM_MOCK, &f);
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);

	f = FORM({"name", " "}, {"redirect_uris", "http://example.com/cb"},
	         {"auth_method", "client_secret_jwt"});
	e = check_form(a, CLIENTFORM_MOCK, &f);
	assert_string_equal(err(e, "name"), "Enter a name for your client");
	assert_string_equal(err(e, "redirect_uris"),
	                    "Redirect URI http://example.com/cb must be https (plain http only for "
	                    "a loopback callback such as http://127.0.0.1:PORT/…)");
	assert_string_equal(err(e, "auth_method"),
	                    "Choose how your client authenticates: client_secret_basic, "
	                    "client_secret_post or private_key_jwt");
	json_decref(e);

	memset(long_name, 'n', 101);
	long_name[101] = '\0';
	f = FORM({"name", long_name}, {"redirect_uris", ""}, {"auth_method", "private_key_jwt"});
	e = check_form(a, CLIENTFORM_MOCK, &f);
	assert_string_equal(err(e, "name"), "Enter a name of up to 100 characters");
	assert_string_equal(err(e, "redirect_uris"), "Enter at least one redirect URI");
	assert_string_equal(err(e, "jwks_uri"),
	                    "Enter the JWKS URI where careid can fetch your public keys");
	json_decref(e);

	/* the mock form keeps its one message for any bad JWKS URI */
	f = FORM({"name", "Tab\there"}, {"redirect_uris", "https://a.example/cb"},
	         {"auth_method", "private_key_jwt"}, {"jwks_uri", "https://keys.example/#x"});
	e = check_form(a, CLIENTFORM_MOCK, &f);
	assert_string_equal(err(e, "name"),
	                    "Enter the name on one line, without control characters");
	assert_string_equal(err(e, "jwks_uri"),
	                    "Enter a JWKS URI that starts with https:// (plain http only on a "
	                    "loopback address such as http://127.0.0.1:3000/jwks.json)");
	/* and has none of the environment fields */
	assert_null(json_object_get(e, "id_token_alg"));
	json_decref(e);
	arena_free(a);
}

static void test_env_messages(void **state)
{
	arena *a = arena_new();
	struct form f;
	json_t *e;

	(void)state;
	f = FORM({"name", "INT app"}, {"redirect_uris", "https://a.example/cb"},
	         {"auth_method", "private_key_jwt"}, {"jwks_uri", "https://a.example/jwks.json"},
	         {"backchannel_logout_uri", "https://a.example/bc"},
	         {"post_logout_redirect_uris", "https://a.example/bye"}, {"id_token_alg", "PS256"},
	         {"default_acr", "AAL2_OR_AAL3_ANY"});
	e = check_form(a, CLIENTFORM_ENV, &f);
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);

	/* optional fields left empty */
	f = FORM({"name", "INT app"}, {"redirect_uris", "https://a.example/cb"},
	         {"backchannel_logout_uri", ""}, {"post_logout_redirect_uris", "\n"},
	         {"default_acr", ""}, {"id_token_alg", "RS256"});
	e = check_form(a, CLIENTFORM_ENV, &f);
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);

	f = FORM({"name", "INT app"}, {"redirect_uris", "https://a.example/cb"},
	         {"auth_method", "private_key_jwt"}, {"jwks_uri", "keys.example/jwks.json"},
	         {"backchannel_logout_uri", "https://bc.example/logout#now"},
	         {"post_logout_redirect_uris", "http://bye.example/"}, {"id_token_alg", "none"},
	         {"default_acr", "AAL1_USERPASS"});
	e = check_form(a, CLIENTFORM_ENV, &f);
	assert_string_equal(err(e, "jwks_uri"),
	                    "Enter the JWKS URI as a full address that starts with https://, for "
	                    "example https://wardview.example/.well-known/jwks.json");
	assert_string_equal(
	    err(e, "backchannel_logout_uri"),
	    "Enter the back-channel logout URI without a fragment (the part from #)");
	assert_string_equal(
	    err(e, "post_logout_redirect_uris"),
	    "Post-logout redirect URI http://bye.example/ must be https (plain http "
	    "only for a loopback callback such as http://127.0.0.1:PORT/…)");
	assert_string_equal(err(e, "id_token_alg"),
	                    "Choose the ID token signing algorithm: RS256, RS384, RS512, PS256, "
	                    "PS384 or PS512");
	/* int, dep and live offer no password alone */
	assert_string_equal(err(e, "default_acr"),
	                    "Choose a default assurance class from the list, or none for the "
	                    "environment's default (AAL3_ANY)");
	json_decref(e);
	arena_free(a);
}

static void test_uri_problem(void **state)
{
	static const char *const ok[] = {
	    "https://keys.example/jwks.json", "https://keys.example:8443/.well-known/jwks.json?v=1",
	    "http://127.0.0.1:3000/jwks",     "http://localhost/jwks",
	    "http://[::1]:9000/jwks",         "https://[2001:db8::1]/jwks",
	    "https://keys.example",           "https://a-b.example/x%20y",
	};
	static const struct {
		const char *uri;
		const char *starts;
	} bad[] = {
	    {"keys.example/jwks", "Enter the JWKS URI as a full address that starts with https://"},
	    {"ftp://keys.example/jwks", "Enter the JWKS URI as a full address"},
	    {"HTTPS://keys.example/jwks", "Enter the JWKS URI as a full address"},
	    {"https:/keys.example", "Enter the JWKS URI as a full address"},
	    {"http://keys.example/jwks", "Enter a JWKS URI that starts with https:// (plain http"},
	    {"http://127.0.0.2/jwks", "Enter a JWKS URI that starts with https://"},
	    {"https://keys.example/jwks#k1", "Enter the JWKS URI without a fragment"},
	    {"https://keys example/jwks", "Enter the JWKS URI without spaces"},
	    {"https://keys.example/<x>", "Enter the JWKS URI without spaces"},
	    {"https://keys.example/%zz", "Enter the JWKS URI without spaces"},
	    {"https:///jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://user@keys.example/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://keys.example:0/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://keys.example:99999/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://keys.example:/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://keys.example:80x/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://.keys.example/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://keys..example/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://[::1/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://[]/jwks", "Enter a JWKS URI with a valid host name"},
	    {"https://ke$ys.example/jwks", "Enter a JWKS URI with a valid host name"},
	};
	arena *a = arena_new();
	char *huge = malloc(2100);

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		assert_null(clientform_uri_problem(a, ok[i], "JWKS URI", "https://x.example/j"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *m =
		    clientform_uri_problem(a, bad[i].uri, "JWKS URI", "https://x.example/j");

		if (!m || strncmp(m, bad[i].starts, strlen(bad[i].starts)) != 0)
			fail_msg("%s: expected \"%s…\", got \"%s\"", bad[i].uri, bad[i].starts,
			         m ? m : "(accepted)");
	}
	memcpy(huge, "https://k.example/", 18);
	memset(huge + 18, 'a', 2050);
	huge[2068] = '\0';
	assert_string_equal(clientform_uri_problem(a, huge, "JWKS URI", "x"),
	                    "Enter a JWKS URI of up to 2,000 characters");
	free(huge);
	arena_free(a);
}

static void test_host_public(void **state)
{
	static const char *const public[] = {
	    "wardview.example", "WardView.EXAMPLE", "wardview.example.",
	    "a.b-c.example",    "rp.xn--p1ai",      "localhost.wardview.example",
	    "local.example",    "x_y.example",      "internal.example.com",
	};
	static const char *const not_public[] = {
	    /* IP addresses in every spelling curl and resolvers accept */
	    "127.0.0.1",
	    "127.0.0.1.",
	    "127.1",
	    "2130706433",
	    "0x7f.1",
	    "0x7f000001",
	    "0177.0.0.1",
	    "1.0x7f",
	    "10.255.255.1",
	    "169.254.169.254",
	    "[::1]",
	    "[::ffff:127.0.0.1]",
	    "[::ffff:7f00:1]",
	    "[fe80::1]",
	    "[2606:4700::1111]",
	    /* localhost and names that never leave the network */
	    "localhost",
	    "LOCALHOST",
	    "localhost.",
	    "LocalHost.",
	    "api.localhost",
	    "API.LOCALHOST.",
	    "wardview.local",
	    "printer.home.arpa",
	    "db.internal",
	    "box.localdomain",
	    /* single labels and junk */
	    "intranet",
	    "",
	    ".",
	    "example.",
	    "a.1x",
	    "a.b2",
	    "a.x",
	    ".example.com",
	    "a.xn--",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(public) / sizeof(public[0]); i++)
		if (!clientform_host_public(public[i], strlen(public[i])))
			fail_msg("%s: expected public", public[i]);
	for (size_t i = 0; i < sizeof(not_public) / sizeof(not_public[0]); i++)
		if (clientform_host_public(not_public[i], strlen(not_public[i])))
			fail_msg("%s: expected not public", not_public[i]);
	/* only the `n` bytes given count: the port after them is not looked at */
	assert_true(clientform_host_public("keys.example:8443", 12));
	assert_false(clientform_host_public("localhost:8443", 9));
}

#define PUBLIC_MSG(label, example)                                                                 \
	"Enter a " label " that starts with https:// and names a public host, not an IP address "  \
	"or localhost, for example " example

static void test_public_uri_problem(void **state)
{
	static const char *const ok[] = {
	    "https://keys.example/jwks.json", "https://KEYS.EXAMPLE:8443/.well-known/jwks.json?v=1",
	    "https://keys.example./jwks",     "https://localhost.keys.example/jwks",
	    "https://rp.xn--p1ai/jwks",
	};
	static const char *const refused[] = {
	    "http://127.0.0.1:3000/jwks",   "http://localhost/jwks",
	    "http://[::1]:9000/jwks",       "http://keys.example/jwks",
	    "https://127.0.0.1:8443/jwks",  "https://127.0.0.1./jwks",
	    "https://10.255.255.1:8443/x",  "https://169.254.169.254/latest/meta-data",
	    "https://[::1]/jwks",           "https://[::ffff:127.0.0.1]/jwks",
	    "https://[::ffff:7f00:1]/jwks", "https://[fd00::1]/jwks",
	    "https://[fe80::1]/jwks",       "https://[2001:db8::1]/jwks",
	    "https://2130706433/jwks",      "https://0x7f.1/jwks",
	    "https://0x7f000001/jwks",      "https://0177.0.0.1/jwks",
	    "https://127.1/jwks",           "https://1.0x7f/jwks",
	    "https://localhost/jwks",       "https://LOCALHOST:443/jwks",
	    "https://localhost./jwks",      "https://evil.localhost/jwks",
	    "https://Evil.LocalHost./jwks", "https://nas.local/jwks",
	    "https://db.internal/jwks",     "https://printer.home.arpa/jwks",
	    "https://intranet/jwks",
	};
	static const struct {
		const char *uri, *msg;
	} other[] = {
	    /* what is not a URL at all keeps its own message */
	    {"https://public.example@127.0.0.1/jwks",
	     "Enter a JWKS URI with a valid host name (and port, if any), for example "
	     "https://x.example/j"},
	    {"https://127.0.0.1%2f@public.example/jwks",
	     "Enter a JWKS URI with a valid host name (and port, if any), for example "
	     "https://x.example/j"},
	    {"HTTPS://keys.example/jwks", "Enter the JWKS URI as a full address that starts with "
	                                  "https://, for example https://x.example/j"},
	    {"https://keys.example/jwks#k", "Enter the JWKS URI without a fragment (the part "
	                                    "from #)"},
	    {"https://keys.example\\@127.0.0.1/jwks",
	     "Enter the JWKS URI without spaces, and with characters such as < > \" { } "
	     "percent-encoded"},
	};
	arena *a = arena_new();

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		const char *m =
		    clientform_public_uri_problem(a, ok[i], "JWKS URI", "https://x.example/j");

		if (m)
			fail_msg("%s: expected accepted, got \"%s\"", ok[i], m);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *m =
		    clientform_public_uri_problem(a, refused[i], "JWKS URI", "https://x.example/j");

		if (!m || strcmp(m, PUBLIC_MSG("JWKS URI", "https://x.example/j")) != 0)
			fail_msg("%s: got \"%s\"", refused[i], m ? m : "(accepted)");
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		const char *m = clientform_public_uri_problem(a, other[i].uri, "JWKS URI",
		                                              "https://x.example/j");

		if (!m || strcmp(m, other[i].msg) != 0)
			fail_msg("%s: got \"%s\"", other[i].uri, m ? m : "(accepted)");
	}
	/* where careid runs on loopback, loopback stays allowed */
	assert_null(clientform_uri_problem(a, "http://127.0.0.1:3000/jwks", "JWKS URI", "x"));
	assert_null(clientform_uri_problem(a, "https://10.255.255.1:8443/x", "JWKS URI", "x"));
	arena_free(a);
}

/* The form as envclients.c checks it in a deployment not on loopback. */
static json_t *check_public(arena *a, enum clientform_kind kind, const struct form *f)
{
	struct clientform in;

	assert_int_equal(clientform_from_form(&in, kind, a, f), 0);
	assert_false(in.public_only); /* the reader leaves the policy to the caller */
	in.public_only = true;
	return clientform_check(&in, a);
}

static void test_public_only_form(void **state)
{
	arena *a = arena_new();
	struct form f;
	json_t *e;

	(void)state;
	f = FORM({"name", "INT app"}, {"redirect_uris", "http://127.0.0.1:9/cb"},
	         {"auth_method", "private_key_jwt"}, {"jwks_uri", "http://127.0.0.1:8080/jwks"},
	         {"backchannel_logout_uri", "https://localhost:8443/admin/shutdown"},
	         {"post_logout_redirect_uris", "http://localhost:3000/bye"});
	e = check_public(a, CLIENTFORM_ENV, &f);
	assert_int_equal(json_object_size(e), 2);
	assert_string_equal(
	    err(e, "jwks_uri"),
	    PUBLIC_MSG("JWKS URI", "https://wardview.example/.well-known/jwks.json"));
	assert_string_equal(
	    err(e, "backchannel_logout_uri"),
	    PUBLIC_MSG("back-channel logout URI", "https://wardview.example/backchannel-logout"));
	json_decref(e);
	/* the same where careid runs on loopback: accepted */
	e = check_form(a, CLIENTFORM_ENV, &f);
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);

	f = FORM({"name", "INT app"}, {"redirect_uris", "https://wardview.example/cb"},
	         {"auth_method", "private_key_jwt"},
	         {"jwks_uri", "https://wardview.example/.well-known/jwks.json"},
	         {"backchannel_logout_uri", "https://wardview.example/backchannel-logout"});
	e = check_public(a, CLIENTFORM_ENV, &f);
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);

	/* mock clients keep their rules */
	f = FORM({"name", "Mock app"}, {"redirect_uris", "http://127.0.0.1:9/cb"},
	         {"auth_method", "private_key_jwt"}, {"jwks_uri", "http://127.0.0.1:8080/jwks"});
	e = check_public(a, CLIENTFORM_MOCK, &f);
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);
	arena_free(a);
}

static void test_public_only_json(void **state)
{
	arena *a = arena_new();
	json_t *body = json_loads(
	    "{\"name\": \"App\", \"redirect_uris\": [\"https://a.example/cb\"], \"auth_method\": "
	    "\"private_key_jwt\", \"jwks_uri\": \"https://2130706433/jwks\", "
	    "\"backchannel_logout_uri\": \"https://public.example@127.0.0.1/bc\"}",
	    0, NULL);
	struct clientform in;
	json_t *e;

	(void)state;
	assert_non_null(body);
	clientform_from_json(&in, CLIENTFORM_ENV, body);
	in.public_only = true;
	e = clientform_check(&in, a);
	assert_string_equal(
	    err(e, "jwks_uri"),
	    PUBLIC_MSG("JWKS URI", "https://wardview.example/.well-known/jwks.json"));
	assert_string_equal(err(e, "backchannel_logout_uri"),
	                    "Enter a back-channel logout URI with a valid host name (and port, if "
	                    "any), for example https://wardview.example/backchannel-logout");
	json_decref(e);
	json_decref(body);
	arena_free(a);
}

static void test_json(void **state)
{
	arena *a = arena_new();
	struct clientform in;
	json_t *e, *body;

	(void)state;
	e = check_json(a, CLIENTFORM_ENV,
	               "{\"name\":\"API\",\"redirect_uris\":[\"https://a.example/cb\"],"
	               "\"post_logout_redirect_uris\":null,\"backchannel_logout_uri\":null,"
	               "\"id_token_alg\":\"RS512\",\"default_acr\":\"AAL3_ANY\"}");
	assert_int_equal(json_object_size(e), 0);
	json_decref(e);

	e = check_json(a, CLIENTFORM_ENV,
	               "{\"name\":\"API\",\"redirect_uris\":\"https://a.example/cb\","
	               "\"post_logout_redirect_uris\":\"https://a.example/bye\","
	               "\"backchannel_logout_uri\":5,\"id_token_alg\":true,\"default_acr\":[],"
	               "\"jwks_uri\":\"https://a.example/jwks\"}");
	assert_string_equal(err(e, "redirect_uris"),
	                    "Give redirect_uris as an array of 1 to 10 strings");
	assert_string_equal(err(e, "post_logout_redirect_uris"),
	                    "Give post_logout_redirect_uris as an array of up to 10 strings");
	assert_string_equal(err(e, "backchannel_logout_uri"),
	                    "Give backchannel_logout_uri as a string");
	assert_non_null(err(e, "id_token_alg"));
	assert_non_null(err(e, "default_acr"));
	assert_string_equal(err(e, "jwks_uri"), "A JWKS URI is only for private_key_jwt");
	json_decref(e);

	/* mock: a null list is not a list; an odd method is refused */
	e = check_json(a, CLIENTFORM_MOCK,
	               "{\"name\":\"M\",\"redirect_uris\":null,"
	               "\"auth_method\":7}");
	assert_string_equal(err(e, "redirect_uris"),
	                    "Give redirect_uris as an array of 1 to 10 strings");
	assert_non_null(err(e, "auth_method"));
	json_decref(e);

	/* the client to create */
	body =
	    json_loads("{\"name\":\"C\",\"redirect_uris\":[\"https://a.example/cb\"],"
	               "\"auth_method\":\"private_key_jwt\",\"jwks_uri\":\"https://a.example/j\","
	               "\"backchannel_logout_uri\":\"\",\"default_acr\":\"\","
	               "\"post_logout_redirect_uris\":[\"https://a.example/bye\"]}",
	               0, NULL);
	clientform_from_json(&in, CLIENTFORM_ENV, body);
	{
		struct client_new cn;

		clientform_client_new(&in, "dep", &cn);
		assert_string_equal(cn.env, "dep");
		assert_string_equal(cn.auth_method, "private_key_jwt");
		assert_string_equal(cn.jwks_uri, "https://a.example/j");
		assert_null(cn.backchannel_logout_uri);
		assert_null(cn.default_acr);
		assert_null(cn.id_token_alg);
		assert_int_equal(cn.npost_logout, 1);
		assert_int_equal(cn.nredirect, 1);
	}
	json_decref(body);
	arena_free(a);
}

static void test_choices(void **state)
{
	json_t *acrs = clientform_acr_options("AAL2_TOTP"), *algs = clientform_alg_radios("PS384");
	json_t *methods = clientform_method_radios("bogus"), *o;
	bool seen_selected = false;
	size_t i;

	(void)state;
	/* "none" first, then only the classes int/dep/live can meet */
	assert_string_equal(json_string_value(json_object_get(json_array_get(acrs, 0), "value")),
	                    "");
	json_array_foreach(acrs, i, o)
	{
		const char *v = json_string_value(json_object_get(o, "value"));

		assert_string_not_equal(v, "AAL1_USERPASS");
		assert_string_not_equal(v, "AAL3_IOS");
		assert_string_not_equal(v, "AAL2_NHSMAIL");
		if (json_is_true(json_object_get(o, "selected"))) {
			assert_string_equal(v, "AAL2_TOTP");
			seen_selected = true;
		}
	}
	assert_true(seen_selected);
	assert_int_equal(json_array_size(acrs), 9);
	assert_int_equal(json_array_size(algs), 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(algs, 0), "id")),
	                    "id_token_alg");
	assert_true(json_is_true(json_object_get(json_array_get(algs, 4), "checked")));
	/* an unknown method falls back to the default */
	assert_true(json_is_true(json_object_get(json_array_get(methods, 0), "checked")));
	json_decref(acrs);
	json_decref(algs);
	json_decref(methods);
}

static void test_values_and_errors(void **state)
{
	arena *a = arena_new();
	struct form f = FORM({"name", "X"}, {"redirect_uris", "bad"}, {"auth_method", ""},
	                     {"id_token_alg", "RS384"}, {"csrf", "t"});
	json_t *v = clientform_values(&f, CLIENTFORM_ENV),
	       *mock = clientform_values(&f, CLIENTFORM_MOCK);
	json_t *e = check_form(a, CLIENTFORM_ENV, &f), *list;

	(void)state;
	assert_string_equal(json_string_value(json_object_get(v, "name")), "X");
	assert_string_equal(json_string_value(json_object_get(v, "id_token_alg")), "RS384");
	assert_null(json_string_value(json_object_get(v, "auth_method")));
	assert_null(json_object_get(v, "csrf"));
	assert_null(json_object_get(mock, "id_token_alg"));
	list = clientform_error_list(a, e);
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "href")),
	                    "#redirect_uris");
	json_decref(list);
	json_decref(e);
	json_decref(v);
	json_decref(mock);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_mock_messages),
	    cmocka_unit_test(test_env_messages),
	    cmocka_unit_test(test_uri_problem),
	    cmocka_unit_test(test_host_public),
	    cmocka_unit_test(test_public_uri_problem),
	    cmocka_unit_test(test_public_only_form),
	    cmocka_unit_test(test_public_only_json),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_choices),
	    cmocka_unit_test(test_values_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
