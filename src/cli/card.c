/* careid card issue|revoke|list|ca: smartcards from each environment's test CA. */
#include "cli/cli.h"
#include "cli/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authn/smartcard.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/error.h"
#include "crypto/pkcs11.h"
#include "crypto/random.h"
#include "crypto/x509.h"
#include "oidc/clients.h"

#define CONTINUE CLI_CONTINUE /* parse(): no exit status yet */
#define DAY_S    86400

static const struct opt ISSUE_OPTS[] = {
    {"env", "ENV", "environment: mock, int, dep or live (required)", false},
    {"uid", "UID", "the card holder's 12-digit UID, a user of ENV (required)", false},
    {"out", "FILE", "write the card to FILE (PKCS#12, mode 0600; replaced if present)", false},
    {"passphrase-file", "FILE",
     "with --out: the card's passphrase is this file's first line "
     "(default: none)",
     false},
    {"pkcs11-module", "PATH",
     "or write the card to a PKCS#11 token through this module, e.g. "
     "/usr/lib/softhsm/libsofthsm2.so",
     false},
    {"token-label", "LABEL", "with --pkcs11-module: the token's label (required)", false},
    {"pin-file", "FILE",
     "with --pkcs11-module: the token's user PIN is this file's first line "
     "(required)",
     false},
    {"valid-from", "YYYY-MM-DD", "first day of validity, from 00:00 UTC (default: yesterday)",
     false},
    {"valid-until", "YYYY-MM-DD", "last day of validity, to 23:59:59 UTC (default: a year on)",
     false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const struct opt REVOKE_OPTS[] = {
    {"env", "ENV", "environment (required)", false},
    {"serial", "HEX", "the card's certificate serial", false},
    {"uid", "UID", "revoke every card of this user instead", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const struct opt LIST_OPTS[] = {
    {"env", "ENV", "environment (required)", false},
    {"uid", "UID", "only this user's cards", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

static const struct opt CA_OPTS[] = {
    {"env", "ENV", "environment (required)", false},
    CLI_STORE_OPTS,
    {NULL, NULL, NULL, false},
};

/* Parses options; returns CONTINUE, or the exit status after help or a usage error. */
static int parse(opts **o, const char *cmd, const char *usage, const char *desc,
                 const struct opt *spec, int argc, char **argv)
{
	int status = cli_parse(o, cmd, usage, desc, spec, argc, argv);

	if (status != CLI_CONTINUE)
		return status;
	if (!opts_get(*o, "env") || !*opts_get(*o, "env"))
		return cli_usage(cmd, "--env is required");
	if (!env_valid(opts_get(*o, "env")))
		return cli_usage(cmd, "unknown environment '%s' (mock, int, dep, live)",
		                 opts_get(*o, "env"));
	if (opts_get(*o, "uid") &&
	    (strlen(opts_get(*o, "uid")) != 12 || strspn(opts_get(*o, "uid"), "0123456789") != 12))
		return cli_usage(cmd, "--uid must be 12 digits");
	return CONTINUE;
}

/* YYYY-MM-DD as the Unix time of 00:00:00 UTC that day. */
static int parse_date(const char *s, int64_t *out)
{
	struct tm tm = {0}, want, back;
	time_t t;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || strspn(s, "0123456789") != 4 ||
	    strspn(s + 5, "0123456789") != 2 || strspn(s + 8, "0123456789") != 2)
		return CAREID_EINVALID;
	tm.tm_year =
	    (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[5] - '0') * 10 + (s[6] - '0') - 1;
	tm.tm_mday = (s[8] - '0') * 10 + (s[9] - '0');
	want = tm;
	t = timegm(&tm); /* normalises tm: compare with what was asked */
	if (!gmtime_r(&t, &back) || back.tm_mday != want.tm_mday || back.tm_mon != want.tm_mon ||
	    want.tm_year < 70)
		return CAREID_EINVALID;
	*out = (int64_t)t;
	return 0;
}

/* Unix seconds as RFC 3339 UTC ("2026-05-01T00:00:00Z"). */
static void rfc3339(char out[32], int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "%lld", (long long)when);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return careid_error_set(CAREID_EIO, "cannot write the card: %s",
			                        strerror(errno));
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Dates from the options; 0 or an exit status. */
static int issue_dates(const opts *o, int64_t *from, int64_t *until)
{
	int64_t now = clock_now();

	*from = now - DAY_S;
	*until = now + 365 * DAY_S;
	if (opts_get(o, "valid-from") && parse_date(opts_get(o, "valid-from"), from))
		return cli_usage("card issue", "--valid-from must be a date YYYY-MM-DD");
	if (opts_get(o, "valid-until")) {
		if (parse_date(opts_get(o, "valid-until"), until))
			return cli_usage("card issue", "--valid-until must be a date YYYY-MM-DD");
		*until += DAY_S - 1;
	}
	if (*until <= *from)
		return cli_usage("card issue", "--valid-until must be after --valid-from");
	return 0;
}

/* Prints the card issued; `where` is "file" or "token", `what` its path or label. */
static int issued_json(const char *env, const char *where, const char *what,
                       const struct smartcard_issued *c)
{
	char nb[32], na[32];
	json_t *out;

	rfc3339(nb, c->cert.not_before);
	rfc3339(na, c->cert.not_after);
	out = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "serial", c->cert.serial,
	                "uid", c->cert.uid, "env", env, "not_before", nb, "not_after", na, where,
	                what, "id", c->id, "subject", c->cert.subject, "fingerprint",
	                c->cert.fingerprint);
	if (!out) {
		careid_error_set(CAREID_ENOMEM, "out of memory");
		return cli_fail();
	}
	cli_print_json(out);
	return 0;
}

/* The card as a PKCS#12 file (--out); an exit status. */
static int issue_file(const opts *o, const struct smartcard_new *req)
{
	char pass[X509_PASS_MAX + 2] = "", *tmp = NULL;
	struct smartcard_issued card = {0};
	struct smartcard_new n = *req;
	struct secrets sec;
	store *s = NULL;
	int status = 1, rc, fd = -1;

	if (opts_get(o, "passphrase-file") &&
	    cli_read_passphrase(pass, sizeof(pass), opts_get(o, "passphrase-file"))) {
		cli_fail();
		goto out;
	}
	/* written next to FILE and renamed over it, so FILE is never half a card */
	if (asprintf(&tmp, "%s.XXXXXX", opts_get(o, "out")) < 0) {
		tmp = NULL;
		careid_error_set(CAREID_ENOMEM, "out of memory");
		cli_fail();
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		careid_error_set(CAREID_EIO, "cannot write %s: %s", opts_get(o, "out"),
		                 strerror(errno));
		free(tmp);
		tmp = NULL;
		cli_fail();
		goto out;
	}
	n.passphrase = pass;
	if (crypto_init() || cli_open_store(&s, o) || secrets_load(&sec, s) ||
	    smartcard_issue(&card, s, &sec, &n) || write_all(fd, card.p12, card.p12_len)) {
		cli_fail();
		goto out;
	}
	rc = fsync(fd);
	if (close(fd))
		rc = -1;
	fd = -1;
	if (rc || rename(tmp, opts_get(o, "out"))) {
		careid_error_set(CAREID_EIO, "cannot write %s: %s", opts_get(o, "out"),
		                 strerror(errno));
		cli_fail();
		goto out;
	}
	free(tmp);
	tmp = NULL;
	status = issued_json(n.env, "file", opts_get(o, "out"), &card);
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	explicit_bzero(pass, sizeof(pass));
	explicit_bzero(&sec, sizeof(sec));
	smartcard_issued_release(&card);
	store_free(s);
	return status;
}

/* Stores the certificate issued next to its key on the token. */
static int token_store_cert(pkcs11 *p, const struct smartcard_issued *card)
{
	uint8_t subject[X509_NAME_DER_MAX];
	size_t subject_len = 0;
	x509_cert *cert = NULL;
	int rc;

	rc = x509_cert_from_der(&cert, card->cert_der, card->cert_der_len);
	if (!rc)
		rc = x509_cert_subject_der(cert, subject, sizeof(subject), &subject_len);
	if (!rc)
		rc = pkcs11_card_store_cert(p, card->cert_der, card->cert_der_len, subject,
		                            subject_len);
	x509_cert_free(cert);
	return rc;
}

/*
 * The card on a PKCS#11 token (--pkcs11-module): its key pair made on the
 * token, certified by ENV's CA, the certificate stored next to it, and any
 * card that was on the token before destroyed. On failure after the key was
 * made, the key is destroyed and a card already recorded is revoked, so the
 * store lists no card that nobody holds. An exit status.
 */
static int issue_token(const opts *o, const struct smartcard_new *n)
{
	const char *label = opts_get(o, "token-label");
	char pin[PKCS11_PIN_MAX + 2] = "";
	struct smartcard_issued card = {0};
	struct pkcs11_rsa_public pub;
	struct x509_rsa_public key;
	struct secrets sec;
	bool have_sec = false, made = false, recorded = false;
	pkcs11 *p = NULL;
	store *s = NULL;
	int status = 1, rc;

	rc = cli_read_passphrase(pin, sizeof(pin), opts_get(o, "pin-file"));
	if (!rc)
		rc = crypto_init();
	if (!rc)
		rc = pkcs11_new(&p, opts_get(o, "pkcs11-module"));
	if (!rc)
		rc = pkcs11_token_find(p, label, NULL);
	if (!rc)
		rc = pkcs11_token_login(p, pin, PKCS11_RW);
	if (!rc)
		rc = cli_open_store(&s, o);
	if (!rc) {
		rc = secrets_load(&sec, s);
		have_sec = rc == 0;
	}
	if (!rc) {
		rc = pkcs11_card_generate(p, &pub, SMARTCARD_TOKEN_LABEL);
		made = rc == 0;
	}
	if (!rc) {
		key = (struct x509_rsa_public){pub.n, pub.n_len, pub.e, pub.e_len};
		rc = smartcard_issue_key(&card, s, &sec, n, &key);
		recorded = rc == 0;
	}
	if (!rc)
		rc = token_store_cert(p, &card);
	if (rc) {
		cli_fail();
		/* best effort: the error reported is the one above */
		if (recorded)
			smartcard_revoke(NULL, s, &sec, n->env, card.cert.serial);
		if (made)
			pkcs11_card_destroy(p);
		goto out;
	}
	status = issued_json(n->env, "token", label, &card);
out:
	explicit_bzero(pin, sizeof(pin));
	if (have_sec)
		explicit_bzero(&sec, sizeof(sec));
	smartcard_issued_release(&card);
	pkcs11_free(p);
	store_free(s);
	return status;
}

static int card_issue(int argc, char **argv)
{
	const char *cmd = "card issue";
	struct smartcard_new n = {0};
	opts *o = NULL;
	bool token;
	int status;

	status = parse(
	    &o, cmd,
	    "card issue --env ENV --uid UID (--out FILE.p12 [--passphrase-file F] | "
	    "--pkcs11-module PATH --token-label LABEL --pin-file F) [--valid-from YYYY-MM-DD] "
	    "[--valid-until YYYY-MM-DD] [--db URL]",
	    "Issues a smartcard to a user of ENV's directory from ENV's test certificate\n"
	    "authority (made on first use): an RSA-2048 key and a certificate whose subject\n"
	    "is O=careid test CA, OU=ENV, CN=<display name>, serialNumber=<UID>. With --out,\n"
	    "both are written with the CA certificate to FILE as PKCS#12 (mode 0600). With\n"
	    "--pkcs11-module, the key is made on the token labelled LABEL (never leaving\n"
	    "it) and the certificate stored next to it, labelled '" SMARTCARD_TOKEN_LABEL "';\n"
	    "a card that was on the token before is destroyed. Prints {serial, uid, env,\n"
	    "not_before, not_after, file or token, id, subject, fingerprint} as JSON. Use\n"
	    "the card with 'careid agent --card FILE' or 'careid agent --pkcs11-module ...'.",
	    ISSUE_OPTS, argc - 1, argv + 1);
	if (status != CONTINUE)
		goto out;
	token = opts_get(o, "pkcs11-module") != NULL;
	if (!opts_get(o, "uid")) {
		status = cli_usage(cmd, "--uid is required");
		goto out;
	}
	if (token == (opts_get(o, "out") != NULL)) {
		status = cli_usage(cmd, token ? "give --out or --pkcs11-module, not both"
		                              : "--out (or --pkcs11-module) is required");
		goto out;
	}
	if ((!token && !*opts_get(o, "out")) || (token && !*opts_get(o, "pkcs11-module"))) {
		status = cli_usage(cmd, "--%s is empty", token ? "pkcs11-module" : "out");
		goto out;
	}
	if (token && (!opts_get(o, "token-label") || !opts_get(o, "pin-file"))) {
		status = cli_usage(cmd, "--pkcs11-module needs --token-label and --pin-file");
		goto out;
	}
	if (!token && (opts_get(o, "token-label") || opts_get(o, "pin-file"))) {
		status = cli_usage(cmd, "--token-label and --pin-file go with --pkcs11-module");
		goto out;
	}
	if (token && opts_get(o, "passphrase-file")) {
		status = cli_usage(cmd, "--passphrase-file is for a card file (--out); a token "
		                        "has a PIN (--pin-file)");
		goto out;
	}
	status = issue_dates(o, &n.not_before, &n.not_after);
	if (status)
		goto out;
	n.env = opts_get(o, "env");
	n.uid = opts_get(o, "uid");
	n.passphrase = "";
	status = token ? issue_token(o, &n) : issue_file(o, &n);
out:
	opts_free(o);
	return status;
}

static int card_revoke(int argc, char **argv)
{
	const char *cmd = "card revoke";
	json_t *revoked = NULL;
	struct secrets sec;
	store *s = NULL;
	opts *o = NULL;
	int status, rc;

	status = parse(&o, cmd, "card revoke --env ENV (--serial HEX | --uid UID) [--db URL]",
	               "Revokes a smartcard (or every card of a user): it can no longer sign in,\n"
	               "and ENV's certificate revocation list is reissued. Prints {env, revoked:\n"
	               "[serials]} as JSON.",
	               REVOKE_OPTS, argc - 1, argv + 1);
	if (status != CONTINUE)
		goto out;
	if (!opts_get(o, "serial") == !opts_get(o, "uid")) {
		status = cli_usage(cmd, "give exactly one of --serial and --uid");
		goto out;
	}
	rc = crypto_init();
	if (!rc)
		rc = cli_open_store(&s, o);
	if (!rc)
		rc = secrets_load(&sec, s);
	if (!rc)
		rc = opts_get(o, "serial")
		         ? smartcard_revoke(&revoked, s, &sec, opts_get(o, "env"),
		                            opts_get(o, "serial"))
		         : smartcard_revoke_user(&revoked, s, &sec, opts_get(o, "env"),
		                                 opts_get(o, "uid"));
	explicit_bzero(&sec, sizeof(sec));
	if (rc) {
		status = cli_fail();
		goto out;
	}
	cli_print_json(json_pack("{s:s, s:o}", "env", opts_get(o, "env"), "revoked", revoked));
	status = 0;
out:
	store_free(s);
	opts_free(o);
	return status;
}

static int card_list(int argc, char **argv)
{
	const char *cmd = "card list";
	json_t *list = NULL;
	store *s = NULL;
	opts *o = NULL;
	int status;

	status = parse(&o, cmd, "card list --env ENV [--uid UID] [--db URL]",
	               "Prints ENV's smartcards (or a user's), newest first, as a JSON array of\n"
	               "{id, uid, serial, name, subject, fingerprint, not_after, created_at,\n"
	               "last_used_at, revoked_at} (times in Unix seconds).",
	               LIST_OPTS, argc - 1, argv + 1);
	if (status != CONTINUE)
		goto out;
	if (cli_open_store(&s, o) ||
	    smartcard_list(&list, s, opts_get(o, "env"), opts_get(o, "uid"))) {
		status = cli_fail();
		goto out;
	}
	cli_print_json(list);
	status = 0;
out:
	store_free(s);
	opts_free(o);
	return status;
}

static int card_ca(int argc, char **argv)
{
	const char *cmd = "card ca";
	struct secrets sec;
	char *pem = NULL;
	store *s = NULL;
	opts *o = NULL;
	int status, rc;

	status = parse(&o, cmd, "card ca --env ENV [--db URL]",
	               "Prints ENV's smartcard certificate authority's certificate (PEM), making\n"
	               "the CA on first use.",
	               CA_OPTS, argc - 1, argv + 1);
	if (status != CONTINUE)
		goto out;
	rc = crypto_init();
	if (!rc)
		rc = cli_open_store(&s, o);
	if (!rc)
		rc = secrets_load(&sec, s);
	if (!rc)
		rc = smartcard_ca_ensure(&pem, s, &sec, opts_get(o, "env"));
	explicit_bzero(&sec, sizeof(sec));
	if (rc) {
		status = cli_fail();
		goto out;
	}
	fputs(pem, stdout);
	status = 0;
out:
	free(pem);
	store_free(s);
	opts_free(o);
	return status;
}

int cmd_card(int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : NULL;

	if (sub && strcmp(sub, "issue") == 0)
		return card_issue(argc, argv);
	if (sub && strcmp(sub, "revoke") == 0)
		return card_revoke(argc, argv);
	if (sub && strcmp(sub, "list") == 0)
		return card_list(argc, argv);
	if (sub && strcmp(sub, "ca") == 0)
		return card_ca(argc, argv);
	if (sub && (strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0)) {
		printf("usage: careid card issue|revoke|list|ca [options]\n\n"
		       "  issue   issue a smartcard (PKCS#12 file or PKCS#11 token) to a user from "
		       "ENV's test CA\n"
		       "  revoke  revoke a card, or every card of a user (reissues the CRL)\n"
		       "  list    print ENV's cards as JSON\n"
		       "  ca      print ENV's CA certificate (PEM)\n\n"
		       "'careid card SUBCOMMAND --help' describes each; 'careid agent' serves a "
		       "card.\n");
		return 0;
	}
	if (!sub)
		return cli_usage("card", "a subcommand is required: issue, revoke, list or ca");
	return cli_usage("card", "unknown subcommand '%s' (issue, revoke, list, ca)", sub);
}
