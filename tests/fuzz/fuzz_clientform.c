/*
 * Fuzz target: the client registration form (src/onboarding/clientform.h)
 * of the mock clients page and of a product's environments, as a page posts
 * it and as the API receives it, and the URI checks behind it. The first
 * byte selects what the rest is ('0' + n, or any byte modulo 5):
 *   0  an urlencoded body of the mock clients form (CLIENTFORM_MOCK);
 *   1  an urlencoded body of an environment's form (CLIENTFORM_ENV);
 *   2  a JSON body for the mock clients API (read as the API reads it: an
 *      object, no repeated members);
 *   3  a JSON body for an environment's API;
 *   4  URIs, one a line, each given to clientform_uri_problem() (as a JWKS
 *      URI and as a back-channel logout URI) and client_check_redirect_uri().
 * A registration the checks accept is then created with client_add() in a
 * scratch store (a SQLite file in a new directory under /dev/shm, else
 * /tmp, removed at exit) and deleted again: what the pages and the API do
 * next (mockclients.c, envclients.c), which need a live request themselves.
 * A run that crashed leaves its directory; the next run removes those of
 * processes that are gone.
 *
 * Promises checked (abort() when broken): reading fails only for memory, and
 * keeps at most 10 URIs a list, each a trimmed non-empty line; the errors are
 * an object of non-empty messages keyed by the form's fields (the mock form
 * has none of the environment's), the same every time; a URI that
 * client_check_redirect_uri() refuses always has its list's error; a
 * registration without errors keeps every rule the checks promise and
 * client_add() accepts it; clientform_uri_problem() accepts only https (or
 * http on a loopback host) URLs without a fragment, of at most 2,000
 * characters, that client_check_redirect_uri() accepts too; the radios have
 * exactly one choice checked.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "authn/assurance.h"
#include "core/arena.h"
#include "core/error.h"
#include "crypto/random.h"
#include "http/form.h"
#include "oidc/clients.h"
#include "onboarding/clientform.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX  (64 * 1024)
#define DIR_PREFIX "careid-fuzz-clientform-"

static const char *const env_fields[] = {"backchannel_logout_uri", "post_logout_redirect_uris",
                                         "id_token_alg", "default_acr"};

/* Made on the first call and kept for the life of the process. */
static char dir[128];
static store *st;
static struct secrets sec;
static bool ready;

/* Removes a scratch directory and the database files in it. */
static void remove_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	char file[512];

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		unlink(file);
	}
	if (d)
		closedir(d);
	rmdir(path);
}

static void release(void)
{
	store_free(st);
	remove_dir(dir);
}

/* A crash skips atexit(): the directories of processes that are gone. */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d))) {
		long pid;
		char *end;

		if (strncmp(e->d_name, DIR_PREFIX, strlen(DIR_PREFIX)) != 0)
			continue;
		pid = strtol(e->d_name + strlen(DIR_PREFIX), &end, 10);
		if (*end != '-' || pid <= 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, e->d_name);
		remove_dir(path);
	}
	if (d)
		closedir(d);
}

static void fuzz_init(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char url[160];

	if (crypto_init() != 0)
		abort();
	remove_stale(base);
	snprintf(dir, sizeof(dir), "%s/" DIR_PREFIX "%ld-XXXXXX", base, (long)getpid());
	if (!mkdtemp(dir))
		abort();
	snprintf(url, sizeof(url), "sqlite:%s/t.db", dir);
	if (store_open(&st, url) != 0 || store_migrate(st, NULL) != 0 ||
	    secrets_load(&sec, st) != 0) {
		fprintf(stderr, "fuzz_clientform: no scratch store: %s\n",
		        careid_error_last()->message);
		abort();
	}
	atexit(release);
	ready = true;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool blank(const char *s)
{
	return !s || s[strspn(s, " \t\r\n")] == '\0';
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool loopback_http(const char *uri)
{
	static const char *const hosts[] = {"127.0.0.1", "[::1]", "localhost"};
	const char *host = uri + 7;

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(hosts[i]);

		if (strncasecmp(host, hosts[i], n) == 0 && strchr(":/?", host[n]))
			return true;
	}
	return false;
}

/* A URI clientform_uri_problem() accepted. */
static void check_accepted_uri(const char *uri)
{
	if (strlen(uri) > 2000 || strchr(uri, '#') || client_check_redirect_uri(uri) != 0)
		abort();
	for (const char *p = uri; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			abort();
	if (strncmp(uri, "https://", 8) != 0 &&
	    (strncmp(uri, "http://", 7) != 0 || !loopback_http(uri)))
		abort();
}

static void uri_problem(arena *a, const char *uri)
{
	static const char *const labels[][2] = {
	    {"JWKS URI", "https://wardview.example/.well-known/jwks.json"},
	    {"back-channel logout URI", "https://wardview.example/backchannel-logout"}};

	for (size_t i = 0; i < 2; i++) {
		const char *msg = clientform_uri_problem(a, uri, labels[i][0], labels[i][1]);
		json_t *j;

		if (!msg) {
			check_accepted_uri(uri);
			continue;
		}
		j = json_string(msg); /* shown on a page and in JSON */
		if (!j || !*msg)
			abort();
		json_decref(j);
	}
}

static void check_list(const struct clientform_uris *u, bool from_form)
{
	if (u->n > CLIENTFORM_MAX_URIS || (u->too_many && u->n != CLIENTFORM_MAX_URIS) ||
	    (from_form && u->invalid))
		abort();
	for (size_t i = 0; i < u->n; i++) {
		const char *s = u->v[i];
		size_t n;

		if (!s)
			abort();
		n = strlen(s);
		if (from_form && (n == 0 || strchr(s, '\n') || strchr(" \t\r", s[0]) ||
		                  strchr(" \t\r", s[n - 1])))
			abort();
	}
}

/* Each field's message is there when a URI of its list is refused. */
static void check_list_errors(const json_t *errors, const char *field,
                              const struct clientform_uris *u)
{
	for (size_t i = 0; i < u->n; i++)
		if (client_check_redirect_uri(u->v[i]) != 0 && !json_object_get(errors, field))
			abort();
}

static void check_errors(const struct clientform *in, arena *a, const json_t *errors)
{
	json_t *list = clientform_error_list(a, errors), *again = clientform_check(in, a);
	const char *key;
	json_t *v;

	if (!json_is_object(errors) || !list || json_array_size(list) != json_object_size(errors) ||
	    !again || !json_equal(again, errors))
		abort();
	json_object_foreach((json_t *)errors, key, v)
	{
		if (!json_is_string(v) || !json_string_length(v))
			abort();
		for (size_t i = 0; in->kind == CLIENTFORM_MOCK && i < 4; i++)
			if (strcmp(key, env_fields[i]) == 0)
				abort();
	}
	json_decref(list);
	json_decref(again);
	check_list_errors(errors, "redirect_uris", &in->redirect);
	if (in->kind == CLIENTFORM_ENV)
		check_list_errors(errors, "post_logout_redirect_uris", &in->post_logout);
}

/* An accepted registration keeps the rules, and client_add() takes it. */
static void check_accepted(const struct clientform *in, arena *a)
{
	const char *m = clientform_method(in);
	struct client_new cn;
	json_t *added = NULL;

	if (blank(in->name) || utf8_chars(in->name) > CLIENTFORM_NAME_CHARS ||
	    strlen(in->name) > CLIENTFORM_NAME_BYTES || has_control(in->name))
		abort();
	if (in->redirect.n == 0 || in->redirect.too_many || in->redirect.invalid)
		abort();
	for (size_t i = 0; i < in->redirect.n; i++)
		if (client_check_redirect_uri(in->redirect.v[i]) != 0)
			abort();
	if (strcmp(m, "client_secret_basic") != 0 && strcmp(m, "client_secret_post") != 0 &&
	    strcmp(m, "private_key_jwt") != 0)
		abort();
	if (strcmp(m, "private_key_jwt") == 0) {
		if (blank(in->jwks_uri) || client_check_redirect_uri(in->jwks_uri) != 0)
			abort();
		if (in->kind == CLIENTFORM_ENV) {
			if (clientform_uri_problem(a, in->jwks_uri, "JWKS URI", "x"))
				abort();
			check_accepted_uri(in->jwks_uri);
		}
	}
	if (in->kind == CLIENTFORM_ENV) {
		if (in->wrong_type || in->post_logout.invalid || in->post_logout.too_many ||
		    (in->id_token_alg && !client_alg_supported(in->id_token_alg)) ||
		    (in->default_acr && *in->default_acr && !acr_known(in->default_acr)))
			abort();
		if (!blank(in->backchannel_logout_uri))
			check_accepted_uri(in->backchannel_logout_uri);
		for (size_t i = 0; i < in->post_logout.n; i++)
			if (client_check_redirect_uri(in->post_logout.v[i]) != 0)
				abort();
	}
	clientform_client_new(in, in->kind == CLIENTFORM_ENV ? "int" : "mock", &cn);
	if (client_add(&added, st, &sec, &cn) != 0) {
		fprintf(stderr,
		        "fuzz_clientform: client_add refused what the checks accepted: %s\n",
		        careid_error_last()->message);
		abort();
	}
	if (client_delete(st, cn.env, json_string_value(json_object_get(added, "client_id"))) != 0)
		abort();
	json_decref(added);
}

/* Exactly one radio checked (at most one option selected for the class). */
static void check_choices(const struct clientform *in)
{
	json_t *lists[3] = {clientform_method_radios(in->auth_method),
	                    clientform_alg_radios(in->id_token_alg),
	                    clientform_acr_options(in->default_acr)};

	for (size_t k = 0; k < 3; k++) {
		const char *flag = k == 2 ? "selected" : "checked";
		size_t i, on = 0;
		const json_t *o;

		if (!json_is_array(lists[k]) || !json_array_size(lists[k]))
			abort();
		json_array_foreach(lists[k], i, o) on += json_is_true(json_object_get(o, flag));
		if (on > 1 || (k < 2 && on != 1))
			abort();
		json_decref(lists[k]);
	}
}

static void check(const struct clientform *in, arena *a, bool from_form)
{
	json_t *errors;

	check_list(&in->redirect, from_form);
	check_list(&in->post_logout, from_form);
	if (in->kind == CLIENTFORM_MOCK && (in->post_logout.n || in->backchannel_logout_uri ||
	                                    in->id_token_alg || in->default_acr || in->wrong_type))
		abort();
	errors = clientform_check(in, a);
	check_errors(in, a, errors);
	if (json_object_size(errors) == 0)
		check_accepted(in, a);
	json_decref(errors);
	check_choices(in);
}

static void from_form(arena *a, enum clientform_kind kind, const char *text, size_t len)
{
	struct form f;
	struct clientform in;
	json_t *values;

	if (form_parse(&f, a, text, len) != 0)
		return;
	if (clientform_from_form(&in, kind, a, &f) != 0)
		abort();
	check(&in, a, true);
	values = clientform_values(&f, kind);
	if (!json_is_object(values))
		abort();
	json_decref(values);
}

static void from_json(arena *a, enum clientform_kind kind, const char *text, size_t len)
{
	json_t *body = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	struct clientform in;

	if (json_is_object(body)) {
		clientform_from_json(&in, kind, body);
		check(&in, a, false);
	}
	json_decref(body);
}

static void uris(arena *a, const char *text, size_t len)
{
	char *s = arena_strndup(a, text, len), *line, *save = NULL;

	if (!s || strlen(s) != len) /* a NUL cannot be in a URI sent as text */
		return;
	for (line = strtok_r(s, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uri_problem(a, line);
		client_check_redirect_uri(line);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	arena *a;

	if (!ready)
		fuzz_init();
	if (size < 1 || size > INPUT_MAX)
		return 0;
	a = arena_new();
	if (!a)
		return 0;
	switch ((uint8_t)(data[0] - '0') % 5) {
	case 0:
		from_form(a, CLIENTFORM_MOCK, text, size - 1);
		break;
	case 1:
		from_form(a, CLIENTFORM_ENV, text, size - 1);
		break;
	case 2:
		from_json(a, CLIENTFORM_MOCK, text, size - 1);
		break;
	case 3:
		from_json(a, CLIENTFORM_ENV, text, size - 1);
		break;
	default:
		uris(a, text, size - 1);
	}
	arena_free(a);
	return 0;
}
