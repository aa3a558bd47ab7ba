/* The client registration form of the mock clients page and of a product's
 * environments: parsing (page and API) and the checks by field. */
#include "onboarding/clientform.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authn/assurance.h"
#include "core/error.h"

#define URI_MAX 2000 /* what client_check_redirect_uri() takes */

static const struct {
	const char *value;
	const char *hint;
} methods[] = {
    {"client_secret_basic", "A client secret sent in the Authorization header (the default)"},
    {"client_secret_post", "A client secret sent in the body of the token request"},
    {"private_key_jwt", "A JWT signed with your private key; careid reads your public keys "
                        "from your JWKS URI"},
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* The ID token algorithms careid signs with (client_alg_supported()), as
 * discovery's id_token_signing_alg_values_supported lists them. */
static const struct {
	const char *value;
	const char *hint;
} algs[] = {
    {"RS256", "RSA with SHA-256 (the default, and what most libraries expect)"},
    {"RS384", "RSA with SHA-384"},
    {"RS512", "RSA with SHA-512"},
    {"PS256", "RSA-PSS with SHA-256"},
    {"PS384", "RSA-PSS with SHA-384"},
    {"PS512", "RSA-PSS with SHA-512"},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* The methods int, dep and live offer (oidc/provider.c: CIS2's environments
 * have no password alone); a default class must be one they can meet. */
#define CIS2_OFFERED (AUTHN_TOTP | AUTHN_PASSKEY | AUTHN_FIDO2 | AUTHN_SMARTCARD)

static const struct {
	const char *value;
	const char *text;
} acrs[] = {
    {"AAL3_ANY", "AAL3_ANY: a security key, Windows Hello or a smartcard"},
    {"AAL2_OR_AAL3_ANY", "AAL2_OR_AAL3_ANY: any of those, an authenticator app or a passkey"},
    {"AAL2_ANY", "AAL2_ANY: an authenticator app or a passkey"},
    {"AAL3_FIDO2", "AAL3_FIDO2: a security key or Windows Hello"},
    {"AAL3_N3_SMARTCARD", "AAL3_N3_SMARTCARD: a smartcard"},
    {"AAL3_CIS2_SMARTCARD", "AAL3_CIS2_SMARTCARD: a smartcard"},
    {"AAL3_SMARTCARD", "AAL3_SMARTCARD: a smartcard"},
    {"AAL2_TOTP", "AAL2_TOTP: a password and an authenticator app"},
};
#define NACRS (sizeof(acrs) / sizeof(acrs[0]))

/* The fields in the order the pages show them (and their error summaries list). */
static const char *const fields[] = {"name",
                                     "redirect_uris",
                                     "auth_method",
                                     "jwks_uri",
                                     "backchannel_logout_uri",
                                     "post_logout_redirect_uris",
                                     "id_token_alg",
                                     "default_acr"};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static bool method_known(const char *m)
{
	for (size_t i = 0; i < NMETHODS; i++)
		if (strcmp(m, methods[i].value) == 0)
			return true;
	return false;
}

static bool acr_offered(const char *acr)
{
	for (size_t i = 0; i < NACRS; i++)
		if (strcmp(acr, acrs[i].value) == 0)
			return (acr_methods(acr) & CIS2_OFFERED) != 0;
	return false;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static bool blank(const char *s)
{
	return !s || s[strspn(s, " \t\r\n")] == '\0';
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* A textarea: one URI a line, surrounding blanks and empty lines ignored. */
static int parse_lines(arena *a, const char *text, struct clientform_uris *out)
{
	const char *p = text ? text : "";

	while (*p) {
		size_t len = strcspn(p, "\n"), start = 0, end = len;

		while (start < end && strchr(" \t\r", p[start]))
			start++;
		while (end > start && strchr(" \t\r", p[end - 1]))
			end--;
		if (end > start) {
			if (out->n == CLIENTFORM_MAX_URIS) {
				out->too_many = true;
				break;
			}
			out->v[out->n] = arena_strndup(a, p + start, end - start);
			if (!out->v[out->n++])
				return careid_error_set(CAREID_ENOMEM, "out of memory");
		}
		p += len + (p[len] == '\n');
	}
	return 0;
}

int clientform_from_form(struct clientform *out, enum clientform_kind kind, arena *a,
                         const struct form *f)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->name = form_get(f, "name");
	out->auth_method = form_get(f, "auth_method");
	if (out->auth_method && !*out->auth_method)
		out->auth_method = NULL;
	out->jwks_uri = form_get(f, "jwks_uri");
	rc = parse_lines(a, form_get(f, "redirect_uris"), &out->redirect);
	if (rc || kind != CLIENTFORM_ENV)
		return rc;
	out->backchannel_logout_uri = form_get(f, "backchannel_logout_uri");
	out->id_token_alg = form_get(f, "id_token_alg");
	out->default_acr = form_get(f, "default_acr");
	return parse_lines(a, form_get(f, "post_logout_redirect_uris"), &out->post_logout);
}

/* `list` may be absent; null counts as absent only when `null_ok`. */
static void uris_from_json(const json_t *list, bool null_ok, struct clientform_uris *out)
{
	const json_t *v;
	size_t i;

	out->invalid = list && !json_is_array(list) && !(null_ok && json_is_null(list));
	json_array_foreach(list, i, v)
	{
		if (!json_is_string(v))
			out->invalid = true;
		else if (out->n == CLIENTFORM_MAX_URIS)
			out->too_many = true;
		else
			out->v[out->n++] = json_string_value(v);
	}
}

/* An optional string member: NULL when absent or null; `bit` in `*wrong`
 * when of another type. */
static const char *optional_string(const json_t *body, const char *key, unsigned bit,
                                   unsigned *wrong)
{
	const json_t *v = json_object_get(body, key);

	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*wrong |= bit;
		return NULL;
	}
	return json_string_value(v);
}

void clientform_from_json(struct clientform *out, enum clientform_kind kind, const json_t *body)
{
	const json_t *m = json_object_get(body, "auth_method");
	const json_t *jwks = json_object_get(body, "jwks_uri");

	memset(out, 0, sizeof(*out));
	out->kind = kind;
	out->name = json_string_value(json_object_get(body, "name"));
	out->jwks_uri = json_string_value(jwks);
	out->auth_method = json_is_null(m) || !m ? NULL
	                   : json_is_string(m)   ? json_string_value(m)
	                                         : "";
	uris_from_json(json_object_get(body, "redirect_uris"), false, &out->redirect);
	out->jwks_misplaced =
	    jwks && !json_is_null(jwks) &&
	    (!out->auth_method || strcmp(out->auth_method, "private_key_jwt") != 0);
	if (kind != CLIENTFORM_ENV)
		return;
	uris_from_json(json_object_get(body, "post_logout_redirect_uris"), true, &out->post_logout);
	out->backchannel_logout_uri = optional_string(body, "backchannel_logout_uri",
	                                              CLIENTFORM_BAD_BACKCHANNEL, &out->wrong_type);
	out->id_token_alg =
	    optional_string(body, "id_token_alg", CLIENTFORM_BAD_ID_TOKEN_ALG, &out->wrong_type);
	out->default_acr =
	    optional_string(body, "default_acr", CLIENTFORM_BAD_DEFAULT_ACR, &out->wrong_type);
}

static const char *uri_problem(arena *a, const char *uri, const char *label, const char *example,
                               bool public_only);

static void set_error(json_t *errors, const char *field, const char *message)
{
	if (!json_object_get(errors, field))
		json_object_set_new(errors, field, json_string(message));
}

/* client_check_redirect_uri()'s message ("redirect URI X must be https (…)",
 * naming the URI and the rule) after `prefix`, its first letter capitalised. */
static const char *uri_message(arena *a, const char *prefix)
{
	char *msg = arena_printf(a, "%s%s", prefix, careid_error_last()->message);

	if (msg && msg[0] >= 'a' && msg[0] <= 'z')
		msg[0] = (char)(msg[0] - 'a' + 'A');
	return msg ? msg : "A redirect URI is not valid";
}

static void check_uris(json_t *e, arena *a, const char *field, const struct clientform_uris *u,
                       const char *prefix)
{
	for (size_t i = 0; !json_object_get(e, field) && i < u->n; i++)
		if (client_check_redirect_uri(u->v[i]))
			set_error(e, field, uri_message(a, prefix));
}

static void check_name(json_t *e, const char *name)
{
	if (blank(name))
		set_error(e, "name", "Enter a name for your client");
	else if (utf8_chars(name) > CLIENTFORM_NAME_CHARS || strlen(name) > CLIENTFORM_NAME_BYTES)
		set_error(e, "name", "Enter a name of up to 100 characters");
	else if (has_control(name))
		set_error(e, "name", "Enter the name on one line, without control characters");
}

static void check_jwks_uri(json_t *e, arena *a, const struct clientform *in)
{
	const char *msg;

	if (blank(in->jwks_uri)) {
		set_error(e, "jwks_uri",
		          "Enter the JWKS URI where careid can fetch your public keys");
	} else if (in->kind == CLIENTFORM_MOCK) {
		if (client_check_redirect_uri(in->jwks_uri))
			set_error(
			    e, "jwks_uri",
			    "Enter a JWKS URI that starts with https:// (plain http only on a "
			    "loopback address such as http://127.0.0.1:3000/jwks.json)");
	} else if ((msg = uri_problem(a, in->jwks_uri, "JWKS URI",
	                              "https://wardview.example/.well-known/jwks.json",
	                              in->public_only))) {
		set_error(e, "jwks_uri", msg);
	}
}

/* The fields only environment clients have. */
static void check_env(json_t *e, arena *a, const struct clientform *in)
{
	const char *msg;

	if (in->wrong_type & CLIENTFORM_BAD_BACKCHANNEL)
		set_error(e, "backchannel_logout_uri", "Give backchannel_logout_uri as a string");
	else if (!blank(in->backchannel_logout_uri) &&
	         (msg =
	              uri_problem(a, in->backchannel_logout_uri, "back-channel logout URI",
	                          "https://wardview.example/backchannel-logout", in->public_only)))
		set_error(e, "backchannel_logout_uri", msg);
	if (in->post_logout.invalid)
		set_error(e, "post_logout_redirect_uris",
		          "Give post_logout_redirect_uris as an array of up to 10 strings");
	else if (in->post_logout.too_many)
		set_error(e, "post_logout_redirect_uris",
		          "Enter at most 10 post-logout redirect URIs");
	check_uris(e, a, "post_logout_redirect_uris", &in->post_logout, "Post-logout ");
	if ((in->wrong_type & CLIENTFORM_BAD_ID_TOKEN_ALG) ||
	    (in->id_token_alg && !client_alg_supported(in->id_token_alg)))
		set_error(e, "id_token_alg",
		          "Choose the ID token signing algorithm: RS256, RS384, RS512, PS256, "
		          "PS384 or PS512");
	if ((in->wrong_type & CLIENTFORM_BAD_DEFAULT_ACR) ||
	    (in->default_acr && *in->default_acr && !acr_offered(in->default_acr)))
		set_error(e, "default_acr",
		          "Choose a default assurance class from the list, or none for the "
		          "environment's default (AAL3_ANY)");
}

json_t *clientform_check(const struct clientform *in, arena *a)
{
	json_t *e = json_object();
	const char *m = clientform_method(in);

	if (!e)
		return NULL;
	check_name(e, in->name);
	if (in->redirect.invalid)
		set_error(e, "redirect_uris", "Give redirect_uris as an array of 1 to 10 strings");
	else if (in->redirect.too_many)
		set_error(e, "redirect_uris", "Enter at most 10 redirect URIs");
	else if (in->redirect.n == 0)
		set_error(e, "redirect_uris", "Enter at least one redirect URI");
	check_uris(e, a, "redirect_uris", &in->redirect, "");
	if (!method_known(m))
		set_error(e, "auth_method",
		          "Choose how your client authenticates: client_secret_basic, "
		          "client_secret_post or private_key_jwt");
	else if (strcmp(m, "private_key_jwt") == 0)
		check_jwks_uri(e, a, in);
	if (in->jwks_misplaced)
		set_error(e, "jwks_uri", "A JWKS URI is only for private_key_jwt");
	if (in->kind == CLIENTFORM_ENV)
		check_env(e, a, in);
	return e;
}

const char *clientform_method(const struct clientform *in)
{
	return in->auth_method ? in->auth_method : "client_secret_basic";
}

void clientform_client_new(const struct clientform *in, const char *env, struct client_new *out)
{
	const char *method = clientform_method(in);

	*out = (struct client_new){
	    .env = env,
	    .name = in->name,
	    .auth_method = method,
	    .redirect_uris = in->redirect.v,
	    .nredirect = in->redirect.n,
	    .jwks_uri = strcmp(method, "private_key_jwt") == 0 ? in->jwks_uri : NULL,
	};
	if (in->kind != CLIENTFORM_ENV)
		return;
	out->backchannel_logout_uri =
	    blank(in->backchannel_logout_uri) ? NULL : in->backchannel_logout_uri;
	out->id_token_alg = in->id_token_alg;
	out->default_acr = in->default_acr && *in->default_acr ? in->default_acr : NULL;
	out->post_logout_uris = in->post_logout.v;
	out->npost_logout = in->post_logout.n;
}

json_t *clientform_values(const struct form *f, enum clientform_kind kind)
{
	const char *m = form_get(f, "auth_method");
	json_t *v = json_pack("{s:s?, s:s?, s:s?, s:s?}", "name", form_get(f, "name"),
	                      "redirect_uris", form_get(f, "redirect_uris"), "auth_method",
	                      m && *m ? m : NULL, "jwks_uri", form_get(f, "jwks_uri"));

	if (!v || kind != CLIENTFORM_ENV)
		return v;
	for (size_t i = 4; i < NFIELDS; i++) {
		const char *s = form_get(f, fields[i]);

		if (s)
			json_object_set_new(v, fields[i], json_string(s));
	}
	return v;
}

json_t *clientform_error_list(arena *a, const json_t *errors)
{
	json_t *list = json_array();

	for (size_t i = 0; list && i < NFIELDS; i++) {
		json_t *msg = json_object_get(errors, fields[i]);

		if (msg)
			json_array_append_new(list, json_pack("{s:s, s:O}", "href",
			                                      arena_printf(a, "#%s", fields[i]),
			                                      "text", msg));
	}
	return list;
}

json_t *clientform_method_radios(const char *chosen)
{
	json_t *list = json_array();

	if (!chosen || !method_known(chosen))
		chosen = "client_secret_basic";
	for (size_t i = 0; list && i < NMETHODS; i++)
		json_array_append_new(list,
		                      json_pack("{s:s, s:s, s:s, s:b}", "id",
		                                i == 0 ? "auth_method" : methods[i].value, "value",
		                                methods[i].value, "hint", methods[i].hint,
		                                "checked", strcmp(chosen, methods[i].value) == 0));
	return list;
}

json_t *clientform_alg_radios(const char *chosen)
{
	json_t *list = json_array();
	char id[32];

	if (!chosen || !client_alg_supported(chosen))
		chosen = "RS256";
	for (size_t i = 0; list && i < NALGS; i++) {
		/* the first radio carries the field's id, for the error summary's link */
		snprintf(id, sizeof(id), i == 0 ? "id_token_alg" : "id_token_alg-%s",
		         algs[i].value);
		json_array_append_new(list,
		                      json_pack("{s:s, s:s, s:s, s:b}", "id", id, "value",
		                                algs[i].value, "hint", algs[i].hint, "checked",
		                                strcmp(chosen, algs[i].value) == 0));
	}
	return list;
}

json_t *clientform_acr_options(const char *chosen)
{
	json_t *list = json_pack("[{s:s, s:s, s:b}]", "value", "", "text",
	                         "None: the environment's default (AAL3_ANY)", "selected",
	                         !chosen || !*chosen);

	for (size_t i = 0; list && i < NACRS; i++)
		if (acr_methods(acrs[i].value) & CIS2_OFFERED)
			json_array_append_new(
			    list, json_pack("{s:s, s:s, s:b}", "value", acrs[i].value, "text",
			                    acrs[i].text, "selected",
			                    chosen && strcmp(chosen, acrs[i].value) == 0));
	return list;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Characters RFC 3986 does not allow unencoded, and broken percent-escapes. */
static bool bad_chars(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\{}|^`", c))
			return true;
		if (c == '%' && !(is_hex(s[1]) && is_hex(s[2])))
			return true;
	}
	return false;
}

/* "host" or "host:port" (a name, an IPv4 address, or "[IPv6]"); `*hostlen`
 * is the length of the host. */
static bool authority_ok(const char *s, size_t n, bool *loopback, size_t *hostlen_out)
{
	size_t hostlen;
	const char *port;

	*loopback = false;
	*hostlen_out = 0;
	if (n == 0 || memchr(s, '@', n))
		return false;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', n);

		if (!close || close == s + 1)
			return false;
		for (const char *p = s + 1; p < close; p++)
			if (!is_hex(*p) && *p != ':' && *p != '.')
				return false;
		hostlen = (size_t)(close - s) + 1;
	} else {
		hostlen = strcspn(s, ":");
		hostlen = hostlen < n ? hostlen : n;
		if (hostlen == 0 || s[0] == '.' || s[0] == '-' || s[hostlen - 1] == '-')
			return false;
		for (size_t i = 0; i < hostlen; i++)
			if (!is_alnum(s[i]) && !strchr("-._", s[i]))
				return false;
		for (size_t i = 1; i < hostlen; i++)
			if (s[i] == '.' && s[i - 1] == '.')
				return false;
	}
	port = s + hostlen;
	if (port < s + n) {
		long v = 0;
		size_t digits = (size_t)(s + n - port) - 1;

		if (*port != ':' || digits == 0 || digits > 5)
			return false;
		for (const char *p = port + 1; p < s + n; p++) {
			if (*p < '0' || *p > '9')
				return false;
			v = v * 10 + (*p - '0');
		}
		if (v == 0 || v > 65535)
			return false;
	}
	*loopback = (hostlen == 9 && strncmp(s, "127.0.0.1", 9) == 0) ||
	            (hostlen == 5 && strncmp(s, "[::1]", 5) == 0) ||
	            (hostlen == 9 && strncasecmp(s, "localhost", 9) == 0);
	*hostlen_out = hostlen;
	return true;
}

/* Names that never lead to the internet (RFC 6761, RFC 6762, RFC 8375,
 * ICANN's .internal) and the one naming convention for "this machine". */
static const char *const private_suffixes[] = {"localhost", "localdomain", "local", "internal",
                                               "home.arpa"};

static bool has_suffix(const char *host, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return (n == k || (n > k && host[n - k - 1] == '.')) &&
	       strncasecmp(host + n - k, suffix, k) == 0;
}

bool clientform_host_public(const char *host, size_t n)
{
	const char *last;
	size_t lastlen;

	if (n > 0 && host[n - 1] == '.') /* the root: "example.com." */
		n--;
	if (n == 0 || n > 253 || host[0] == '[' || host[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(host[i]) && !strchr("-._", host[i]))
			return false;
	for (size_t i = 0; i < sizeof(private_suffixes) / sizeof(private_suffixes[0]); i++)
		if (has_suffix(host, n, private_suffixes[i]))
			return false;
	/* A name has a top-level domain of letters (or an IDN's xn--): this
	 * leaves out every spelling of an IPv4 address (127.0.0.1, 127.1,
	 * 2130706433, 0x7f.1, 0177.0.0.1), whose last part is a number, and
	 * single labels, which resolvers complete with local search domains. */
	last = memrchr(host, '.', n);
	if (!last || (size_t)(last + 1 - host) >= n)
		return false;
	last++;
	lastlen = n - (size_t)(last - host);
	if (lastlen > 4 && strncasecmp(last, "xn--", 4) == 0) {
		for (size_t i = 4; i < lastlen; i++)
			if (!is_alnum(last[i]) && last[i] != '-')
				return false;
		return true;
	}
	for (size_t i = 0; i < lastlen; i++)
		if (!((last[i] >= 'a' && last[i] <= 'z') || (last[i] >= 'A' && last[i] <= 'Z')))
			return false;
	return lastlen >= 2;
}

static const char *uri_problem(arena *a, const char *uri, const char *label, const char *example,
                               bool public_only)
{
	const char *host;
	bool https, loopback;
	size_t n, hostlen;

	if (strlen(uri) > URI_MAX)
		return arena_printf(a, "Enter a %s of up to 2,000 characters", label);
	if (strchr(uri, '#'))
		return arena_printf(a, "Enter the %s without a fragment (the part from #)", label);
	if (bad_chars(uri))
		return arena_printf(a,
		                    "Enter the %s without spaces, and with characters such as < > "
		                    "\" { } percent-encoded",
		                    label);
	https = strncmp(uri, "https://", 8) == 0;
	if (!https && strncmp(uri, "http://", 7) != 0)
		return arena_printf(a,
		                    "Enter the %s as a full address that starts with https://, "
		                    "for example %s",
		                    label, example);
	host = uri + (https ? 8 : 7);
	n = strcspn(host, "/?");
	if (!authority_ok(host, n, &loopback, &hostlen))
		return arena_printf(a,
		                    "Enter a %s with a valid host name (and port, if any), "
		                    "for example %s",
		                    label, example);
	if (public_only && (!https || !clientform_host_public(host, hostlen)))
		return arena_printf(a,
		                    "Enter a %s that starts with https:// and names a public host, "
		                    "not an IP address or localhost, for example %s",
		                    label, example);
	if (!https && !loopback)
		return arena_printf(a,
		                    "Enter a %s that starts with https:// (plain http only on a "
		                    "loopback address such as http://127.0.0.1:3000)",
		                    label);
	/* what client_add() will check in turn */
	if (client_check_redirect_uri(uri))
		return arena_printf(a, "Enter a valid %s, for example %s", label, example);
	return NULL;
}

const char *clientform_uri_problem(arena *a, const char *uri, const char *label,
                                   const char *example)
{
	return uri_problem(a, uri, label, example, false);
}

const char *clientform_public_uri_problem(arena *a, const char *uri, const char *label,
                                          const char *example)
{
	return uri_problem(a, uri, label, example, true);
}
