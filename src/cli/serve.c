/* careid serve: the HTTP server for every environment, the demo relying
 * party and the operations endpoints. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"
#include "crypto/random.h"
#include "directory/directory.h"
#include "http/fetch.h"
#include "http/server.h"
#include "http/static.h"
#include "http/template.h"
#include "oidc/backchannel.h"
#include "oidc/demo.h"
#include "oidc/provider.h"
#include "onboarding/onboarding.h"
#include "outbox/mail.h"
#include "outbox/outbox.h"

#define DEFAULT_LISTEN "127.0.0.1:8080"
#define SWEEP_SECONDS  2 /* how often sessions past their timeouts are ended */
/* Deliveries (e-mail, logout tokens) are tried for about a day: 2 s doubling
 * to an hour between attempts. */
#define OUTBOX_ATTEMPTS 32
#define DEFAULT_ASSETS  "node_modules/nhsuk-frontend/dist/nhsuk"

static const struct opt spec[] = {
    {"listen", "ADDR:PORT", "address to listen on (default " DEFAULT_LISTEN "; port 0 picks one)",
     false},
    {"public-url", "URL",
     "URL users and clients reach careid at (default http://ADDR:PORT, https:// with "
     "--tls-cert; port 0 in it stands for the port bound)",
     false},
    {"demo", NULL, "seed the demo directory on an empty store and serve /demo/", false},
    {"demo-dir", "DIR", "where --demo writes the demo smartcards (default var/demo)", false},
    {"threads", "N", "worker threads (default: one per CPU, at least 4)", false},
    {"log-level", "LEVEL", "debug, info (default), warn or error", false},
    {"assets-dir", "DIR", "NHS.UK frontend files (default " DEFAULT_ASSETS ")", false},
    {"issuer-mock", "URL", "issuer of the mock environment (default {public-url}/realms/mock)",
     false},
    {"issuer-int", "URL", "issuer of int", false},
    {"issuer-dep", "URL", "issuer of dep", false},
    {"issuer-live", "URL", "issuer of live", false},
    {"issuer-portal", "URL", "issuer of the onboarding portal's environment", false},
    {"id-token-ttl", "SECONDS", "lifetime of ID tokens, 1 to 3600 (default 3600)", false},
    {"session-idle", "SECONDS", "a session ends after this long unused (default 28800)", false},
    {"session-max", "SECONDS", "a session ends this long after sign-in (default 43200)", false},
    {"session-idle-mock", "SECONDS", "--session-idle for mock only", false},
    {"session-idle-int", "SECONDS", "--session-idle for int only", false},
    {"session-idle-dep", "SECONDS", "--session-idle for dep only", false},
    {"session-idle-live", "SECONDS", "--session-idle for live only", false},
    {"session-max-mock", "SECONDS", "--session-max for mock only", false},
    {"session-max-int", "SECONDS", "--session-max for int only", false},
    {"session-max-dep", "SECONDS", "--session-max for dep only", false},
    {"session-max-live", "SECONDS", "--session-max for live only", false},
    {"etc-dir", "DIR", "questionnaires and bank holidays (default etc)", false},
    {"review-date", "YYYY-MM-DD",
     "count onboarding review SLAs from this day instead of today "
     "(demonstrations, tests)",
     false},
    {"smtp-url", "URL", "SMTP server for e-mail, e.g. smtp://127.0.0.1:25 (default: --mail-file)",
     false},
    {"mail-file", "FILE", "where e-mail goes without --smtp-url (default var/mail.log)", false},
    {"smartcard-agent", "URL",
     "where sign-in pages reach the smartcard identity agent (default http://127.0.0.1:8086)",
     false},
    {"mail-from", "ADDRESS", "sender of careid's e-mail (default noreply@careid.localhost)", false},
    {"tls-cert", "FILE",
     "serve HTTPS (TLS 1.2 and 1.3): PEM certificate, its chain after it; needs --tls-key", false},
    {"tls-key", "FILE", "PEM private key of --tls-cert, unencrypted (no passphrase support)",
     false},
    {"trusted-proxy", "CIDR",
     "believe --proxy-header from this proxy address or range (e.g. 10.0.0.0/8, ::1)", true},
    {"trusted-proxies", "CIDR,...",
     "the same as a comma-separated list (CAREID_TRUSTED_PROXIES); --trusted-proxy replaces it",
     false},
    {"proxy-header", "HEADER",
     "the header the trusted proxies write: x-forwarded-for (default; with X-Forwarded-Proto) "
     "or forwarded (RFC 7239); the other is never read",
     false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

struct app {
	store *store;
	metrics *metrics;
	const char *assets_dir;
	_Atomic(provider *) provider; /* NULL until ready */
	_Atomic(demo_rp *) demo;
	_Atomic(onboarding *) onboarding;
};

static int ops(struct app *app, struct http_request *req, struct http_response *res)
{
	struct buf b;
	int rc;

	if (strcmp(req->path, "/healthz") == 0) {
		res->route = "health";
		rc = http_send(res, 200, "application/json", "{\"status\":\"ok\"}", 15);
		return rc ? rc : 1;
	}
	if (strcmp(req->path, "/readyz") == 0) {
		bool ready = atomic_load(&app->provider) && store_ping(app->store);

		res->route = "health";
		rc = ready ? http_send(res, 200, "application/json", "{\"status\":\"ready\"}", 18)
		           : http_send(res, 503, "application/json", "{\"status\":\"unavailable\"}",
		                       24);
		return rc ? rc : 1;
	}
	if (strcmp(req->path, "/metrics") == 0) {
		res->route = "metrics";
		buf_init(&b, 1 << 20);
		rc = metrics_render(app->metrics, &b);
		if (!rc)
			rc = http_send(res, 200, "text/plain; version=0.0.4; charset=utf-8", b.ptr,
			               b.len);
		buf_release(&b);
		return rc ? rc : 1;
	}
	return 0;
}

static int handle(void *ctx, struct http_request *req, struct http_response *res)
{
	struct app *app = ctx;
	provider *p = atomic_load(&app->provider);
	demo_rp *demo = atomic_load(&app->demo);
	int rc = ops(app, req, res);

	if (rc)
		return rc < 0 ? rc : 0;
	if (!p)
		return http_send(res, 503, "text/plain; charset=utf-8", "starting\n", 9);
	if (strcmp(req->path, "/favicon.ico") == 0)
		return static_send_file(res, app->assets_dir, "assets/images/favicon.ico");
	if (strncmp(req->path, "/assets/", 8) == 0)
		return static_send_file(res, app->assets_dir, req->path + 1);
	if (strncmp(req->path, "/static/nhsuk-frontend", 22) == 0)
		return static_send_file(res, app->assets_dir, req->path + 8);
	if (strncmp(req->path, "/static/", 8) == 0)
		return static_send_embedded(res, req->path + 8);
	rc = provider_handle(p, req, res);
	if (!rc && demo)
		rc = demo_rp_handle(demo, req, res);
	if (!rc && atomic_load(&app->onboarding))
		rc = onboarding_handle(atomic_load(&app->onboarding), req, res);
	if (rc)
		return rc < 0 ? rc : 0;
	if (strcmp(req->path, "/") == 0)
		return http_redirect(
		    res, 302, demo ? "/demo/" : "/realms/mock/.well-known/openid-configuration");
	res->route = "other";
	return http_send(res, 404, "text/plain; charset=utf-8", "not found\n", 10);
}

/* One --trusted-proxy value (or a list item) into list[*n]. */
static int add_proxy(struct http_cidr *list, size_t *n, const char *s, size_t len)
{
	char item[HTTP_ADDR_MAX + 4];

	while (len && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0)
		return 0;
	if (*n == HTTP_MAX_TRUSTED_PROXIES)
		return careid_error_set(CAREID_EINVALID, "at most %d trusted proxies",
		                        HTTP_MAX_TRUSTED_PROXIES);
	if (len >= sizeof(item))
		return careid_error_set(CAREID_EINVALID, "'%.*s' is not an address or CIDR range",
		                        (int)len, s);
	memcpy(item, s, len);
	item[len] = '\0';
	if (http_cidr_parse(&list[*n], item)) {
		char why[256];

		snprintf(why, sizeof(why), "%s", careid_error_last()->message);
		return careid_error_set(CAREID_EINVALID, "--trusted-proxy: %s", why);
	}
	(*n)++;
	return 0;
}

/* --trusted-proxy (repeatable), else --trusted-proxies / CAREID_TRUSTED_PROXIES
 * / the configuration file's trusted-proxies, comma-separated. */
static int trusted_proxies(const opts *o, struct http_cidr *list, size_t *n)
{
	const char *all = opts_get(o, "trusted-proxies");
	int rc = 0;

	*n = 0;
	if (opts_count(o, "trusted-proxy")) {
		for (size_t i = 0; !rc && i < opts_count(o, "trusted-proxy"); i++) {
			const char *v = opts_nth(o, "trusted-proxy", i);

			rc = add_proxy(list, n, v, strlen(v));
		}
		return rc;
	}
	while (!rc && all && *all) {
		size_t len = strcspn(all, ",");

		rc = add_proxy(list, n, all, len);
		all += len + (all[len] == ',');
	}
	return rc;
}

/* --NAME-ENV, else --NAME, in seconds (0: the provider's default). */
static int session_timeout(int64_t *out, const opts *o, const char *name, const char *env)
{
	char key[48];
	const char *v;
	long n;

	snprintf(key, sizeof(key), "%s-%s", name, env);
	v = opts_get(o, key) ? opts_get(o, key) : opts_get(o, name);
	*out = 0;
	if (!v)
		return 0;
	if (parse_long(v, 1, 31L * 24 * 3600, &n))
		return careid_error_set(CAREID_EINVALID, "--%s must be 1 to 2678400 seconds",
		                        opts_get(o, key) ? key : name);
	*out = n;
	return 0;
}

/* The host of a URL (the WebAuthn relying party ID), or `dflt`. */
static const char *url_host(const char *url, const char *dflt, char *out, size_t outsz)
{
	const char *h = url ? strstr(url, "://") : NULL;
	size_t n;

	if (!h)
		return dflt;
	h += 3;
	n = *h == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/?#");
	if (n == 0 || n >= outsz)
		return dflt;
	memcpy(out, h, n);
	out[n] = '\0';
	return out;
}

/* The public URL, with ":0" after its host standing for the port bound
 * (tests listening on port 0 that need a host name, e.g. localhost for
 * WebAuthn); malloc'd. */
static char *public_url_with_port(const char *url, uint16_t port)
{
	const char *host = strstr(url, "://");
	const char *end = host ? host + 3 + strcspn(host + 3, "/?#") : NULL;
	char *out;

	if (!end || end - url < 2 || strncmp(end - 2, ":0", 2) != 0 || end[-3] == ':')
		return strdup(url);
	if (asprintf(&out, "%.*s:%u%s", (int)(end - 2 - url), url, port, end) < 0)
		return NULL;
	return out;
}

static void print_demo_authenticators(const char *url, const json_t *a)
{
	const json_t *totp = json_object_get(a, "totp"), *item;
	char label[64];
	size_t i;

	if (!a)
		return;
	printf("Stronger sign-ins (ask for them with acr_values, or use int):\n"
	       "  %-20s user %s, secret %s\n"
	       "  %-20s (a code: oathtool --totp -b %s)\n",
	       "authenticator app", json_string_value(json_object_get(totp, "uid")),
	       json_string_value(json_object_get(totp, "secret")), "",
	       json_string_value(json_object_get(totp, "secret")));
	json_array_foreach(json_object_get(a, "cards"), i, item)
	{
		snprintf(label, sizeof(label), "smartcard (%s)",
		         json_string_value(json_object_get(item, "env")));
		printf("  %-20s user %s: build/release/careid agent --card %s\n", label,
		       json_string_value(json_object_get(item, "uid")),
		       json_string_value(json_object_get(item, "file")));
	}
	json_array_foreach(json_object_get(a, "security_keys"), i, item)
	{
		snprintf(label, sizeof(label), "security key (%s)",
		         json_string_value(json_object_get(item, "env")));
		printf("  %-20s user %s: %s (for a virtual authenticator)\n", label,
		       json_string_value(json_object_get(item, "uid")),
		       json_string_value(json_object_get(item, "file")));
	}
	printf("  %-20s register your own at %s/realms/mock/account\n\n", "your security key", url);
}

static void print_banner(const char *url, const json_t *seed)
{
	const json_t *users = json_object_get(seed, "users");
	size_t i;
	json_t *u;

	printf("\ncareid is running.\n\n"
	       "  Demo relying party:  %s/demo/\n"
	       "  mock issuer:         %s/realms/mock\n"
	       "  discovery:           %s/realms/mock/.well-known/openid-configuration\n"
	       "  int issuer:          %s/realms/int\n"
	       "  metrics:             %s/metrics\n\n",
	       url, url, url, url, url);
	if (json_array_size(users)) {
		printf("Sign in (mock environment) as any of these users with password '%s'.\n"
		       "Username: the 12-digit UID or the e-mail.\n\n",
		       json_string_value(json_object_get(seed, "password")));
		json_array_foreach(users, i, u)
		{
			const json_t *roles = json_object_get(u, "roles");

			printf("  %-14s %-28s %zu role%s\n",
			       json_string_value(json_object_get(u, "uid")),
			       json_string_value(json_object_get(u, "name")),
			       json_array_size(roles), json_array_size(roles) == 1 ? "" : "s");
		}
		printf("\n");
	}
	print_demo_authenticators(url, json_object_get(seed, "authenticators"));
	users = json_object_get(seed, "portal_accounts");
	if (json_array_size(users)) {
		printf("Onboarding portal: %s/onboarding/ (password '%s')\n\n", url,
		       json_string_value(json_object_get(seed, "password")));
		json_array_foreach(users, i, u)
		{
			printf("  %-28s %s\n", json_string_value(json_object_get(u, "email")),
			       json_is_true(json_object_get(u, "reviewer")) ? "CIS2 onboarding team"
			                                                    : "supplier developer");
		}
		printf("\n");
	}
	printf("Stop with Ctrl-C.\n");
	fflush(stdout);
}

/* The onboarding portal's demo accounts: a developer and a reviewer. */
static int seed_portal(store *s, json_t *seed)
{
	static const struct {
		const char *email, *name;
		bool reviewer;
	} accounts[] = {
	    {"developer@supplier.example", "Sam Developer", false},
	    {"reviewer@cis2.example", "Riley Reviewer", true},
	};
	json_t *list = json_array();
	int rc = 0;

	for (size_t i = 0; !rc && i < sizeof(accounts) / sizeof(accounts[0]); i++) {
		rc = onboarding_account_add(s, accounts[i].email, accounts[i].name,
		                            DIRECTORY_DEMO_PASSWORD, accounts[i].reviewer, NULL);
		if (rc == CAREID_EEXISTS)
			rc = 0;
		json_array_append_new(list, json_pack("{s:s, s:s, s:b}", "email", accounts[i].email,
		                                      "name", accounts[i].name, "reviewer",
		                                      accounts[i].reviewer));
	}
	json_object_set_new(seed, "portal_accounts", list);
	return rc;
}

static int serve(opts *o)
{
	struct app app = {0};
	struct http_server_opts so = {0};
	struct provider_opts po = {0};
	struct http_cidr proxies[HTTP_MAX_TRUSTED_PROXIES];
	size_t nproxies = 0;
	enum http_proxy_header proxy_header = HTTP_PROXY_HEADER_X_FORWARDED_FOR;
	const char *public_opt = opts_get(o, "public-url");
	char addr[64], host[256], *public_url = NULL;
	const char *threads = opts_get(o, "threads");
	uint16_t port = 0;
	templates *tpl = NULL;
	http_server *srv = NULL;
	provider *p = NULL;
	demo_rp *demo = NULL;
	onboarding *ob = NULL;
	outbox *box = NULL;
	struct outbox_handler handlers[3];
	struct mail_config mail = {0};
	struct onboarding_opts oo = {0};
	json_t *seed = NULL;
	sigset_t sigs;
	long nthreads = sysconf(_SC_NPROCESSORS_ONLN) > 4 ? sysconf(_SC_NPROCESSORS_ONLN) : 4;
	int rc, sig;

	rc = cli_parse_listen(opts_get_or(o, "listen", DEFAULT_LISTEN), addr, sizeof(addr), &port);
	if (!rc && threads)
		rc = parse_long(threads, 1, 256, &nthreads);
	if (!rc)
		rc = trusted_proxies(o, proxies, &nproxies);
	if (!rc && http_proxy_header_parse(&proxy_header,
	                                   opts_get_or(o, "proxy-header", "x-forwarded-for")))
		rc = careid_error_set(CAREID_EINVALID,
		                      "--proxy-header is x-forwarded-for or forwarded, not '%s'",
		                      opts_get(o, "proxy-header"));
	if (!rc && !opts_get(o, "tls-cert") != !opts_get(o, "tls-key"))
		rc = careid_error_set(CAREID_EINVALID, "--tls-cert and --tls-key go together");
	if (rc)
		return cli_usage("serve", "%s", careid_error_last()->message);
	if (log_init(opts_get_or(o, "log-level", "info")))
		return cli_usage("serve", "%s", careid_error_last()->message);
	/* Signals are taken by sigwait() below; block them before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	rc = crypto_init();
	if (!rc)
		rc = fetch_init();
	if (!rc)
		rc = cli_open_store(&app.store, o);
	if (!rc)
		rc = templates_load(&tpl);
	if (rc)
		goto out;
	app.metrics = metrics_new();
	app.assets_dir = opts_get_or(o, "assets-dir", DEFAULT_ASSETS);
	if (!app.metrics) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (opts_flag(o, "demo")) {
		rc = directory_seed_demo(app.store, &seed);
		if (!rc)
			rc = seed_portal(app.store, seed);
		if (!rc)
			rc = demo_seed_authenticators(
			    app.store, seed, opts_get_or(o, "demo-dir", "var/demo"),
			    url_host(opts_get(o, "public-url"), addr, host, sizeof(host)));
		if (rc)
			goto out;
	}
	mail.smtp_url = opts_get(o, "smtp-url");
	mail.file = opts_get_or(o, "mail-file", "var/mail.log");
	mail.from = opts_get_or(o, "mail-from", "noreply@careid.localhost");
	rc = mail_handler(&handlers[0], &mail);
	if (rc)
		goto out;
	so.addr = addr;
	so.port = port;
	so.threads = (unsigned)nthreads;
	so.handler = handle;
	so.ctx = &app;
	so.metrics = app.metrics;
	so.tls_cert_file = opts_get(o, "tls-cert");
	so.tls_key_file = opts_get(o, "tls-key");
	/* HSTS whenever browsers reach careid over https: its own TLS, or a
	 * terminating proxy in front of an https public URL */
	so.hsts = so.tls_cert_file || (public_opt && strncmp(public_opt, "https://", 8) == 0);
	so.trusted_proxies = proxies;
	so.ntrusted_proxies = nproxies;
	so.proxy_header = proxy_header;
	rc = http_server_start(&srv, &so);
	if (rc)
		goto out;
	if (public_opt) {
		public_url = public_url_with_port(public_opt, http_server_port(srv));
	} else if (asprintf(&public_url, strchr(addr, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
	                    http_server_tls(srv) ? "https" : "http", addr,
	                    http_server_port(srv)) < 0) {
		public_url = NULL;
	}
	if (!public_url) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (http_server_tls(srv) && strncmp(public_url, "https://", 8) != 0)
		log_pack(
		    LOG_WARN, "public_url_not_https", "{s:s, s:s}", "url", public_url, "hint",
		    "careid serves TLS but its public URL is not https: cookies are not Secure");
	po.store = app.store;
	po.templates = tpl;
	po.metrics = app.metrics;
	po.public_url = public_url;
	po.agent_url = opts_get(o, "smartcard-agent");
	if (opts_get(o, "id-token-ttl")) {
		long ttl;

		if (parse_long(opts_get(o, "id-token-ttl"), 1, 3600, &ttl)) {
			rc = careid_error_set(CAREID_EINVALID,
			                      "--id-token-ttl must be 1 to 3600 seconds");
			goto out;
		}
		po.id_token_ttl = ttl;
	}
	for (int i = 0; !rc && i < ENV_COUNT; i++) {
		char name[32];

		snprintf(name, sizeof(name), "issuer-%s", env_names[i]);
		po.issuers[i] = opts_get(o, name);
		rc = session_timeout(&po.session_idle[i], o, "session-idle", env_names[i]);
		if (!rc)
			rc = session_timeout(&po.session_max[i], o, "session-max", env_names[i]);
	}
	if (rc)
		goto out;
	rc = provider_new(&p, &po);
	/* Logout tokens are signed with the provider's keys: the outbox starts
	 * once the provider is ready, and stops before it is freed. */
	if (!rc) {
		backchannel_handler(&handlers[1], p);
		backchannel_test_handler(&handlers[2], p);
		rc = outbox_new(&box, app.store, handlers, 3,
		                &(struct outbox_opts){.max_attempts = OUTBOX_ATTEMPTS});
	}
	if (!rc)
		rc = outbox_start(box);
	if (!rc && opts_flag(o, "demo"))
		rc = demo_rp_new(&demo, p, app.store, tpl, public_url, seed);
	oo.provider = p;
	oo.store = app.store;
	oo.templates = tpl;
	oo.public_url = public_url;
	oo.etc_dir = opts_get_or(o, "etc-dir", "etc");
	oo.review_date = opts_get(o, "review-date");
	if (!rc)
		rc = onboarding_new(&ob, &oo);
	if (rc)
		goto out;
	atomic_store(&app.demo, demo);
	atomic_store(&app.onboarding, ob);
	atomic_store(&app.provider, p);
	printf("careid listening on %s\n", public_url);
	fflush(stdout);
	log_pack(LOG_INFO, "listening", "{s:s, s:s, s:i, s:b, s:i, s:s}", "url", public_url, "addr",
	         addr, "port", http_server_port(srv), "tls", http_server_tls(srv),
	         "trusted_proxies", (int)nproxies, "proxy_header",
	         proxy_header == HTTP_PROXY_HEADER_FORWARDED ? "forwarded" : "x-forwarded-for");
	if (opts_flag(o, "demo"))
		print_banner(public_url, seed);
	/* Between signals, every few seconds: sessions past their timeouts end
	 * (their clients are told by back-channel logout). */
	for (;;) {
		struct timespec every = {SWEEP_SECONDS, 0};
		int ended = 0;

		sig = sigtimedwait(&sigs, NULL, &every);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (provider_sweep(p, &ended))
			log_error_last("session_sweep_failed", NULL);
		else if (ended)
			outbox_wake(box);
	}
	log_pack(LOG_INFO, "stopping", "{s:s}", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
out:
	http_server_stop(srv, 10);
	outbox_stop(box);
	outbox_free(box);
	onboarding_free(ob);
	demo_rp_free(demo);
	provider_free(p);
	templates_free(tpl);
	metrics_free(app.metrics);
	store_free(app.store);
	json_decref(seed);
	free(public_url);
	if (rc) {
		log_error_last("serve_failed", NULL);
		return cli_fail();
	}
	log_pack(LOG_INFO, "stopped", "{}");
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	opts *o = NULL;
	int rc;

	if (opts_parse(&o, spec, argc, argv))
		return cli_usage("serve", "%s", careid_error_last()->message);
	if (opts_flag(o, "help")) {
		cli_help(
		    "serve [--listen ADDR:PORT] [--db URL] [--public-url URL] [--demo]",
		    "Serves the CIS2-compatible OpenID Connect provider for the environments "
		    "mock, int, dep and live (and the onboarding portal's),\neach at "
		    "{public-url}/realms/{env}. Stops "
		    "gracefully on SIGTERM.\n"
		    "HTTPS: --tls-cert and --tls-key (an encrypted key is not supported), or a "
		    "terminating proxy\nin front and an https --public-url; either way every "
		    "answer carries Strict-Transport-Security.\nBehind proxies, "
		    "--trusted-proxy names those whose --proxy-header (X-Forwarded-For by "
		    "default, or\nForwarded) gives the client's address (sign-in throttling, "
		    "audit); the other header is ignored.",
		    spec);
		opts_free(o);
		return 0;
	}
	rc = opts_npos(o) ? cli_usage("serve", "unexpected argument '%s'", opts_pos(o, 0))
	                  : serve(o);
	opts_free(o);
	return rc;
}
