#include "crypto/x509.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/error.h"
#include "crypto/crypto_int.h"
#include "crypto/hash.h"
#include "crypto/random.h"

#define CA_DAYS         3653 /* ten years */
#define CA_SKEW_S       3600
#define CRL_NEXT_S      (30 * 86400)
#define SERIAL_BYTES    16
#define SERIAL_MAX      20 /* RFC 5280 §4.1.2.2 */
#define CARD_RSA_BITS   2048
#define ENV_MAX         32
#define DISPLAY_MAX     256
#define ES256_SIG_BYTES 64

#define MSG_EXPIRED    "the smartcard's certificate has expired"
#define MSG_NOTYET     "the smartcard's certificate is not yet valid"
#define MSG_REVOKED    "the smartcard's certificate has been revoked"
#define MSG_FOREIGN    "the smartcard was not issued by this environment's certificate authority"
#define MSG_BADSIG     "the challenge was not signed by the card's key"
#define MSG_CA_EXPIRED "this environment's smartcard certificate authority has expired"
#define MSG_CA_NOTYET  "this environment's smartcard certificate authority is not yet valid"
#define CARD_FRIENDLY  "careid smartcard"

struct x509_card {
	EVP_PKEY *key;
	X509 *cert;
	struct x509_info info;
	const char *alg;
};

struct x509_cert {
	X509 *cert;
	struct x509_info info;
};

/* Records `code` with `msg` and, for ECRYPTO, OpenSSL's reason; empties
 * OpenSSL's error queue of this thread either way. */
static int ossl_fail(int code, const char *msg)
{
	unsigned long e = ERR_peek_last_error();
	char reason[160] = "";

	if (code == CAREID_ECRYPTO && e)
		ERR_error_string_n(e, reason, sizeof(reason));
	ERR_clear_error();
	if (reason[0])
		return careid_error_set(code, "%s (%s)", msg, reason);
	return careid_error_set(code, "%s", msg);
}

/* A PEM password callback that never asks: encrypted PEM is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static int check_text(const char *s, size_t max, const char *what)
{
	if (!s)
		return careid_error_set(CAREID_EINVALID, "no %s", what);
	if (strnlen(s, max + 1) > max)
		return careid_error_set(CAREID_ETOOBIG, "%s over %zu bytes", what, max);
	return 0;
}

static X509 *pem_cert(const char *pem)
{
	BIO *b;
	X509 *x;

	if (check_text(pem, X509_PEM_MAX, "CA certificate"))
		return NULL;
	b = BIO_new_mem_buf(pem, (int)strlen(pem));
	x = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!x)
		ossl_fail(CAREID_EINVALID, "unreadable CA certificate");
	return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
	EVP_PKEY *k;
	BIO *b;

	if (check_text(pem, X509_PEM_MAX, "CA key"))
		return NULL;
	b = BIO_new_mem_buf(pem, (int)strlen(pem));
	k = b ? PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!k)
		ossl_fail(CAREID_EINVALID, "unreadable CA key");
	return k;
}

static X509_CRL *pem_crl(const char *pem)
{
	X509_CRL *crl;
	BIO *b;

	if (check_text(pem, X509_CRL_PEM_MAX, "CRL"))
		return NULL;
	b = BIO_new_mem_buf(pem, (int)strlen(pem));
	crl = b ? PEM_read_bio_X509_CRL(b, NULL, no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!crl)
		ossl_fail(CAREID_EINVALID, "unreadable CRL");
	return crl;
}

/* The contents of a memory BIO as a new string. */
static int bio_string(char **out, BIO *b)
{
	char *data;
	long len = BIO_get_mem_data(b, &data);

	*out = NULL;
	if (len < 0)
		return careid_error_set(CAREID_ECRYPTO, "no PEM output");
	*out = malloc((size_t)len + 1);
	if (!*out)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	memcpy(*out, data, (size_t)len);
	(*out)[len] = '\0';
	return 0;
}

static int set_time(ASN1_TIME *t, int64_t when)
{
	if (!ASN1_TIME_set(t, (time_t)when))
		return ossl_fail(CAREID_EINVALID, "time out of range");
	return 0;
}

static int asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return ossl_fail(CAREID_EINVALID, "bad certificate time");
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);

	X509_EXTENSION_free(e);
	return ok ? 0 : ossl_fail(CAREID_ECRYPTO, "cannot add a certificate extension");
}

static int name_add(X509_NAME *n, int nid, const char *value)
{
	if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1,
	                                0))
		return ossl_fail(CAREID_EINVALID, "a certificate name part is not acceptable");
	return 0;
}

/* A random positive serial of SERIAL_BYTES bytes whose first byte is not 0. */
static int set_random_serial(X509 *x)
{
	uint8_t raw[SERIAL_BYTES];
	ASN1_INTEGER *ai = NULL;
	BIGNUM *bn;
	int rc = 0;

	crypto_random_bytes(raw, sizeof(raw));
	raw[0] &= 0x7f;
	if (raw[0] == 0)
		raw[0] = 0x01;
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (!ai || !X509_set_serialNumber(x, ai))
		rc = ossl_fail(CAREID_ECRYPTO, "cannot set a serial");
	ASN1_INTEGER_free(ai);
	BN_free(bn);
	return rc;
}

/* Lowercase hex of a non-negative serial of at most SERIAL_MAX bytes. */
static int serial_hex(char out[X509_SERIAL_HEX], const ASN1_INTEGER *ai)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(ai, NULL);
	char *hex = NULL;
	int rc = 0;

	if (!bn || BN_is_negative(bn) || BN_num_bytes(bn) > SERIAL_MAX || !(hex = BN_bn2hex(bn))) {
		rc = ossl_fail(CAREID_EINVALID, "bad certificate serial");
		goto out;
	}
	for (size_t i = 0; hex[i] && i < X509_SERIAL_HEX - 1; i++)
		out[i] = (char)tolower((unsigned char)hex[i]);
	out[strnlen(hex, X509_SERIAL_HEX - 1)] = '\0';
out:
	OPENSSL_free(hex);
	BN_free(bn);
	return rc;
}

/* The subject's one serialNumber attribute, or "" when there is none. */
static int subject_uid(char out[X509_UID_MAX], const X509_NAME *name)
{
	int i = X509_NAME_get_index_by_NID(name, NID_serialNumber, -1);
	unsigned char *utf8 = NULL;
	int len, rc = 0;

	out[0] = '\0';
	if (i < 0)
		return 0;
	if (X509_NAME_get_index_by_NID(name, NID_serialNumber, i) >= 0)
		return careid_error_set(CAREID_EINVALID, "the subject has two serialNumbers");
	len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (len < 0)
		return ossl_fail(CAREID_EINVALID, "bad subject serialNumber");
	if ((size_t)len >= X509_UID_MAX) {
		rc = careid_error_set(CAREID_EINVALID, "subject serialNumber too long");
		goto out;
	}
	for (int j = 0; j < len; j++)
		if (utf8[j] < 0x20 || utf8[j] == 0x7f) {
			rc = careid_error_set(CAREID_EINVALID, "bad subject serialNumber");
			goto out;
		}
	memcpy(out, utf8, (size_t)len);
	out[len] = '\0';
out:
	OPENSSL_free(utf8);
	return rc;
}

static int subject_text(char out[X509_SUBJECT_MAX], const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long len;
	int rc = 0;

	if (!b)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
		rc = ossl_fail(CAREID_EINVALID, "bad certificate subject");
		goto out;
	}
	len = BIO_get_mem_data(b, &data);
	if (len < 0 || (size_t)len >= X509_SUBJECT_MAX) {
		rc = careid_error_set(CAREID_EINVALID, "certificate subject too long");
		goto out;
	}
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
out:
	BIO_free(b);
	return rc;
}

static int fill_info(struct x509_info *info, X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int rc;

	memset(info, 0, sizeof(*info));
	rc = serial_hex(info->serial, X509_get0_serialNumber(x));
	if (!rc)
		rc = subject_uid(info->uid, X509_get_subject_name(x));
	if (!rc)
		rc = subject_text(info->subject, X509_get_subject_name(x));
	if (!rc)
		rc = asn1_unix(X509_get0_notBefore(x), &info->not_before);
	if (!rc)
		rc = asn1_unix(X509_get0_notAfter(x), &info->not_after);
	if (rc)
		return rc;
	if (!X509_digest(x, EVP_sha256(), md, &mdlen) || mdlen != 32)
		return ossl_fail(CAREID_ECRYPTO, "cannot hash the certificate");
	crypto_hex(info->fingerprint, md, mdlen);
	return 0;
}

/* Copies at most X509_CN_MAX UTF-8 characters of `s` into `out`. */
static void cut_cn(char *out, size_t outsz, const char *s)
{
	size_t i = 0, chars = 0;

	while (s[i] && i + 1 < outsz) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && chars++ == X509_CN_MAX)
			break;
		i++;
	}
	/* never end inside a character */
	while (i > 0 && i + 1 >= outsz && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	memcpy(out, s, i);
	out[i] = '\0';
}

static int make_name(X509_NAME **out, const char *env, const char *cn, const char *uid)
{
	X509_NAME *n = X509_NAME_new();
	int rc;

	*out = NULL;
	if (!n)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = name_add(n, NID_organizationName, "careid test CA");
	if (!rc)
		rc = name_add(n, NID_organizationalUnitName, env);
	if (!rc)
		rc = name_add(n, NID_commonName, cn);
	if (!rc && uid)
		rc = name_add(n, NID_serialNumber, uid);
	if (rc) {
		X509_NAME_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

static int check_env(const char *env)
{
	if (!env || !*env || strnlen(env, ENV_MAX + 1) > ENV_MAX)
		return careid_error_set(CAREID_EINVALID, "bad environment name");
	return 0;
}

int x509_ca_create(char **cert_pem, char **key_pem, const char *env, int64_t now)
{
	X509_NAME *name = NULL;
	EVP_PKEY *key = NULL;
	X509 *x = NULL;
	BIO *cb = NULL, *kb = NULL;
	X509V3_CTX ctx;
	char cn[ENV_MAX + 32];
	int rc;

	*cert_pem = NULL;
	*key_pem = NULL;
	rc = check_env(env);
	if (rc)
		return rc;
	snprintf(cn, sizeof(cn), "careid %s smartcard CA", env);
	key = EVP_EC_gen("P-256");
	x = X509_new();
	cb = BIO_new(BIO_s_mem());
	kb = BIO_new(BIO_s_mem());
	if (!key || !x || !cb || !kb) {
		rc = ossl_fail(CAREID_ECRYPTO, "cannot create the CA key");
		goto out;
	}
	rc = make_name(&name, env, cn, NULL);
	if (!rc && (!X509_set_version(x, 2) || !X509_set_subject_name(x, name) ||
	            !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key)))
		rc = ossl_fail(CAREID_ECRYPTO, "cannot build the CA certificate");
	if (!rc)
		rc = set_random_serial(x);
	if (!rc)
		rc = set_time(X509_getm_notBefore(x), now - CA_SKEW_S);
	if (!rc)
		rc = set_time(X509_getm_notAfter(x), now + (int64_t)CA_DAYS * 86400);
	if (rc)
		goto out;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	rc = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	if (!rc)
		rc = add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (!rc)
		rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (!rc)
		rc = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (rc)
		goto out;
	if (!X509_sign(x, key, EVP_sha256()) || !PEM_write_bio_X509(cb, x) ||
	    !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL)) {
		rc = ossl_fail(CAREID_ECRYPTO, "cannot sign the CA certificate");
		goto out;
	}
	rc = bio_string(cert_pem, cb);
	if (!rc)
		rc = bio_string(key_pem, kb);
	if (rc) {
		free(*cert_pem);
		*cert_pem = NULL;
	}
out:
	X509_NAME_free(name);
	X509_free(x);
	EVP_PKEY_free(key);
	BIO_free(cb);
	BIO_free(kb); /* a memory BIO's buffer is cleared when freed */
	return rc;
}

static int check_card_new(const struct x509_card_new *r)
{
	int rc = check_env(r->env);

	if (rc)
		return rc;
	if (!r->display_name || !*r->display_name ||
	    strnlen(r->display_name, DISPLAY_MAX + 1) > DISPLAY_MAX)
		return careid_error_set(CAREID_EINVALID, "the display name must be 1 to %d bytes",
		                        DISPLAY_MAX);
	if (!r->uid || !*r->uid || strnlen(r->uid, X509_UID_MAX) >= X509_UID_MAX)
		return careid_error_set(CAREID_EINVALID, "the UID must be 1 to %d bytes",
		                        X509_UID_MAX - 1);
	rc = check_text(r->passphrase, X509_PASS_MAX, "passphrase");
	if (rc)
		return rc;
	if (r->not_after <= r->not_before)
		return careid_error_set(CAREID_EINVALID,
		                        "the card must be valid until after it is valid from");
	return 0;
}

static int card_cert(X509 **out, EVP_PKEY *card_key, X509 *ca, EVP_PKEY *ca_key,
                     const struct x509_card_new *r)
{
	char cn[X509_CN_MAX * 4 + 1];
	X509_NAME *name = NULL;
	X509 *x = X509_new();
	X509V3_CTX ctx;
	int rc;

	*out = NULL;
	if (!x)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	cut_cn(cn, sizeof(cn), r->display_name);
	rc = make_name(&name, r->env, cn, r->uid);
	if (!rc &&
	    (!X509_set_version(x, 2) || !X509_set_subject_name(x, name) ||
	     !X509_set_issuer_name(x, X509_get_subject_name(ca)) || !X509_set_pubkey(x, card_key)))
		rc = ossl_fail(CAREID_ECRYPTO, "cannot build the card certificate");
	if (!rc)
		rc = set_random_serial(x);
	if (!rc)
		rc = set_time(X509_getm_notBefore(x), r->not_before);
	if (!rc)
		rc = set_time(X509_getm_notAfter(x), r->not_after);
	if (rc)
		goto out;
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	rc = add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	if (!rc)
		rc = add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature");
	if (!rc)
		rc = add_ext(x, &ctx, NID_ext_key_usage, "clientAuth");
	if (!rc)
		rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (!rc)
		rc = add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	if (rc)
		goto out;
	if (!X509_sign(x, ca_key, EVP_sha256())) {
		rc = ossl_fail(CAREID_ECRYPTO, "cannot sign the card certificate");
		goto out;
	}
	*out = x;
	x = NULL;
out:
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}

int x509_card_issue(uint8_t **p12, size_t *p12_len, struct x509_info *info, const char *ca_cert_pem,
                    const char *ca_key_pem, const struct x509_card_new *req)
{
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *ca_key = NULL, *key = NULL;
	X509 *ca = NULL, *x = NULL;
	PKCS12 *pk = NULL;
	unsigned char *der = NULL;
	int rc, len = 0;

	*p12 = NULL;
	*p12_len = 0;
	rc = check_card_new(req);
	if (rc)
		return rc;
	ca = pem_cert(ca_cert_pem);
	ca_key = ca ? pem_key(ca_key_pem) : NULL;
	if (!ca || !ca_key) {
		rc = careid_error_last()->code;
		goto out;
	}
	if (!X509_check_private_key(ca, ca_key)) {
		rc = ossl_fail(CAREID_EINVALID, "the CA key does not match its certificate");
		goto out;
	}
	key = EVP_RSA_gen(CARD_RSA_BITS);
	if (!key) {
		rc = ossl_fail(CAREID_ECRYPTO, "cannot create the card's key");
		goto out;
	}
	rc = card_cert(&x, key, ca, ca_key, req);
	if (!rc && info)
		rc = fill_info(info, x);
	if (rc)
		goto out;
	chain = sk_X509_new_null();
	if (!chain || !sk_X509_push(chain, ca)) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	pk = PKCS12_create(req->passphrase, CARD_FRIENDLY, key, x, chain, NID_aes_256_cbc,
	                   NID_aes_256_cbc, PKCS12_DEFAULT_ITER, PKCS12_DEFAULT_ITER, 0);
	if (!pk || (len = i2d_PKCS12(pk, &der)) <= 0) {
		rc = ossl_fail(CAREID_ECRYPTO, "cannot write the PKCS#12 file");
		goto out;
	}
	*p12 = malloc((size_t)len);
	if (!*p12) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*p12, der, (size_t)len);
	*p12_len = (size_t)len;
out:
	ERR_clear_error();
	if (der)
		OPENSSL_clear_free(der, (size_t)len);
	PKCS12_free(pk);
	sk_X509_free(chain); /* holds `ca` without a reference of its own */
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca_key);
	return rc;
}

/* "RS256" for RSA of 2048 bits or more, "ES256" for P-256, else NULL. */
static const char *key_alg(EVP_PKEY *k)
{
	char group[32];
	size_t glen = 0;

	if (EVP_PKEY_is_a(k, "RSA"))
		return EVP_PKEY_get_bits(k) >= 2048 ? "RS256" : NULL;
	if (EVP_PKEY_is_a(k, "EC") &&
	    EVP_PKEY_get_group_name(k, group, sizeof(group), &glen) == 1 &&
	    strcmp(group, "prime256v1") == 0)
		return "ES256";
	return NULL;
}

int x509_card_load(x509_card **out, const void *p12, size_t len, const char *passphrase)
{
	const unsigned char *p = p12;
	STACK_OF(X509) *ca = NULL;
	PKCS12 *pk = NULL;
	x509_card *c = NULL;
	int rc;

	*out = NULL;
	if (len > X509_P12_MAX)
		return careid_error_set(CAREID_ETOOBIG, "card file over %d bytes", X509_P12_MAX);
	rc = check_text(passphrase, X509_PASS_MAX, "passphrase");
	if (rc)
		return rc;
	pk = d2i_PKCS12(NULL, &p, (long)len);
	if (!pk || p != (const unsigned char *)p12 + len) {
		rc = ossl_fail(CAREID_EINVALID, "the card file is not PKCS#12");
		goto out;
	}
	if (PKCS12_mac_present(pk) && !PKCS12_verify_mac(pk, passphrase, -1) &&
	    (*passphrase || !PKCS12_verify_mac(pk, NULL, 0))) {
		rc = ossl_fail(CAREID_EDENIED, "wrong passphrase for the card file");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (!PKCS12_parse(pk, passphrase, &c->key, &c->cert, &ca) || !c->key || !c->cert) {
		rc = ossl_fail(CAREID_EINVALID, "the card file holds no key and certificate");
		goto out;
	}
	if (!X509_check_private_key(c->cert, c->key)) {
		rc = ossl_fail(CAREID_EINVALID, "the card's key does not match its certificate");
		goto out;
	}
	c->alg = key_alg(c->key);
	if (!c->alg) {
		rc = careid_error_set(CAREID_EUNSUPPORTED,
		                      "the card's key is neither RSA-2048+ nor EC P-256");
		goto out;
	}
	rc = fill_info(&c->info, c->cert);
	if (rc)
		goto out;
	*out = c;
	c = NULL;
out:
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(pk);
	x509_card_free(c);
	ERR_clear_error();
	return rc;
}

void x509_card_free(x509_card *c)
{
	if (!c)
		return;
	EVP_PKEY_free(c->key);
	X509_free(c->cert);
	free(c);
}

const struct x509_info *x509_card_info(const x509_card *c)
{
	return &c->info;
}

const char *x509_card_alg(const x509_card *c)
{
	return c->alg;
}

static int der_b64url(char **out, X509 *x)
{
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	size_t sz;
	int rc;

	*out = NULL;
	if (len <= 0)
		return ossl_fail(CAREID_ECRYPTO, "cannot encode the certificate");
	sz = crypto_b64url_encoded_size((size_t)len);
	*out = malloc(sz);
	if (!*out) {
		OPENSSL_free(der);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	rc = crypto_b64url_encode(*out, sz, der, (size_t)len);
	OPENSSL_free(der);
	if (rc) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int x509_card_cert_b64url(const x509_card *c, char **out)
{
	return der_b64url(out, c->cert);
}

/* A DER ECDSA signature as JOSE r || s (32 bytes each). */
static int ecdsa_jose(uint8_t *sig, size_t sigsz, size_t *sig_len, const uint8_t *der,
                      size_t der_len)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	const BIGNUM *r, *s;
	int rc = 0;

	if (!es || sigsz < ES256_SIG_BYTES)
		return ossl_fail(CAREID_ECRYPTO, "bad ECDSA signature");
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
		rc = ossl_fail(CAREID_ECRYPTO, "bad ECDSA signature");
	else
		*sig_len = ES256_SIG_BYTES;
	ECDSA_SIG_free(es);
	return rc;
}

int x509_card_sign(const x509_card *c, uint8_t *sig, size_t sigsz, size_t *sig_len,
                   const void *data, size_t len)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t raw[X509_SIG_MAX + 16];
	size_t raw_len = sizeof(raw);
	bool rsa = strcmp(c->alg, "RS256") == 0;
	int rc = 0;

	*sig_len = 0;
	if (len > X509_DATA_MAX)
		return careid_error_set(CAREID_ETOOBIG, "data to sign over %d bytes",
		                        X509_DATA_MAX);
	if (EVP_PKEY_get_size(c->key) > (int)sizeof(raw))
		return careid_error_set(CAREID_EUNSUPPORTED, "the card's key is too large");
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, c->key) != 1 ||
	    (rsa && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_DigestSign(md, raw, &raw_len, data, len) != 1) {
		rc = ossl_fail(CAREID_ECRYPTO, "the card could not sign");
		goto out;
	}
	if (!rsa) {
		rc = ecdsa_jose(sig, sigsz, sig_len, raw, raw_len);
		goto out;
	}
	if (raw_len > sigsz) {
		rc = careid_error_set(CAREID_ETOOBIG, "signature buffer too small");
		goto out;
	}
	memcpy(sig, raw, raw_len);
	*sig_len = raw_len;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

static int serial_integer(ASN1_INTEGER **out, const char *hex)
{
	size_t n = hex ? strnlen(hex, 2 * SERIAL_MAX + 1) : 0;
	BIGNUM *bn = NULL;

	*out = NULL;
	if (n == 0 || n > 2 * SERIAL_MAX || strspn(hex, "0123456789abcdefABCDEF") != n)
		return careid_error_set(CAREID_EINVALID, "a serial must be 1 to %d hex digits",
		                        2 * SERIAL_MAX);
	if (!BN_hex2bn(&bn, hex) || !(*out = BN_to_ASN1_INTEGER(bn, NULL))) {
		BN_free(bn);
		return ossl_fail(CAREID_ENOMEM, "out of memory");
	}
	BN_free(bn);
	return 0;
}

static int crl_add(X509_CRL *crl, const char *serial, int64_t when)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *ai = NULL;
	ASN1_TIME *t = ASN1_TIME_new();
	int rc = serial_integer(&ai, serial);

	if (!rc && (!r || !t))
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
	if (!rc)
		rc = set_time(t, when);
	if (!rc && (!X509_REVOKED_set_serialNumber(r, ai) ||
	            !X509_REVOKED_set_revocationDate(r, t) || !X509_CRL_add0_revoked(crl, r)))
		rc = ossl_fail(CAREID_ECRYPTO, "cannot add to the CRL");
	if (!rc)
		r = NULL; /* the CRL's now */
	X509_REVOKED_free(r);
	ASN1_INTEGER_free(ai);
	ASN1_TIME_free(t);
	return rc;
}

int x509_crl_create(char **crl_pem, const char *ca_cert_pem, const char *ca_key_pem,
                    int64_t crl_number, const char *const *serials, const int64_t *revoked_at,
                    size_t n, int64_t now)
{
	X509_CRL *crl = NULL;
	ASN1_INTEGER *num = NULL;
	ASN1_TIME *t = NULL;
	EVP_PKEY *key = NULL;
	X509_EXTENSION *aki = NULL;
	X509 *ca = NULL;
	BIO *b = NULL;
	X509V3_CTX ctx;
	int rc = 0;

	*crl_pem = NULL;
	if (n > X509_CRL_MAX_SERIAL)
		return careid_error_set(CAREID_ETOOBIG, "over %d serials on one CRL",
		                        X509_CRL_MAX_SERIAL);
	if (crl_number < 1)
		return careid_error_set(CAREID_EINVALID, "a CRL number starts at 1");
	ca = pem_cert(ca_cert_pem);
	key = ca ? pem_key(ca_key_pem) : NULL;
	if (!ca || !key) {
		rc = careid_error_last()->code;
		goto out;
	}
	crl = X509_CRL_new();
	t = ASN1_TIME_new();
	num = ASN1_INTEGER_new();
	b = BIO_new(BIO_s_mem());
	if (!crl || !t || !num || !b || !X509_CRL_set_version(crl, 1) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) ||
	    !ASN1_INTEGER_set_int64(num, crl_number)) {
		rc = ossl_fail(CAREID_ENOMEM, "cannot build the CRL");
		goto out;
	}
	rc = set_time(t, now);
	if (!rc && !X509_CRL_set1_lastUpdate(crl, t))
		rc = ossl_fail(CAREID_ECRYPTO, "cannot build the CRL");
	if (!rc)
		rc = set_time(t, now + CRL_NEXT_S);
	if (!rc && !X509_CRL_set1_nextUpdate(crl, t))
		rc = ossl_fail(CAREID_ECRYPTO, "cannot build the CRL");
	for (size_t i = 0; !rc && i < n; i++)
		rc = crl_add(crl, serials[i], revoked_at[i]);
	if (rc)
		goto out;
	X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
	aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!aki || !X509_CRL_add_ext(crl, aki, -1) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) || !X509_CRL_sort(crl) ||
	    !X509_CRL_sign(crl, key, EVP_sha256()) || !PEM_write_bio_X509_CRL(b, crl)) {
		rc = ossl_fail(CAREID_ECRYPTO, "cannot sign the CRL");
		goto out;
	}
	rc = bio_string(crl_pem, b);
out:
	X509_EXTENSION_free(aki);
	BIO_free(b);
	ASN1_INTEGER_free(num);
	ASN1_TIME_free(t);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	X509_free(ca);
	return rc;
}

static int cert_wrap(x509_cert **out, X509 *x)
{
	x509_cert *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		X509_free(x);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	c->cert = x;
	rc = fill_info(&c->info, x);
	if (rc) {
		x509_cert_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int x509_cert_from_der(x509_cert **out, const void *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	*out = NULL;
	if (len > X509_DER_MAX)
		return careid_error_set(CAREID_ETOOBIG, "certificate over %d bytes", X509_DER_MAX);
	if (len == 0)
		return careid_error_set(CAREID_EINVALID, "empty certificate");
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != (const unsigned char *)der + len) {
		X509_free(x);
		return ossl_fail(CAREID_EINVALID, "the certificate is not DER X.509");
	}
	return cert_wrap(out, x);
}

static int cert_from_pem(x509_cert **out, const char *text, size_t len)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, no_passphrase, NULL) : NULL;

	BIO_free(b);
	if (!x)
		return ossl_fail(CAREID_EINVALID, "the certificate is not PEM X.509");
	return cert_wrap(out, x);
}

int x509_cert_from_text(x509_cert **out, const char *text, size_t len)
{
	static const char pem[] = "-----BEGIN CERTIFICATE-----";
	uint8_t der[X509_DER_MAX];
	char *norm = NULL;
	size_t der_len = 0;
	int rc;

	*out = NULL;
	if (len > X509_TEXT_MAX)
		return careid_error_set(CAREID_ETOOBIG, "certificate text over %d bytes",
		                        X509_TEXT_MAX);
	if (len >= sizeof(pem) - 1 && memcmp(text, pem, sizeof(pem) - 1) == 0)
		return cert_from_pem(out, text, len);
	/* base64 or base64url: one alphabet for the decoder */
	norm = malloc(len + 1);
	if (!norm)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++)
		norm[i] = text[i] == '+' ? '-' : text[i] == '/' ? '_' : text[i];
	norm[len] = '\0';
	rc = crypto_b64url_decode(der, sizeof(der), &der_len, norm, len);
	free(norm);
	if (rc == CAREID_ETOOBIG)
		return careid_error_set(CAREID_ETOOBIG, "certificate over %d bytes", X509_DER_MAX);
	if (rc)
		return careid_error_set(CAREID_EINVALID, "the certificate is not base64 DER");
	return x509_cert_from_der(out, der, der_len);
}

void x509_cert_free(x509_cert *c)
{
	if (!c)
		return;
	X509_free(c->cert);
	free(c);
}

const struct x509_info *x509_cert_info(const x509_cert *c)
{
	return &c->info;
}

/* The CRL is the CA's live list, read from the store: its own dates say
 * nothing about whether it is current. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	int err = X509_STORE_CTX_get_error(ctx);

	if (!ok && (err == X509_V_ERR_CRL_HAS_EXPIRED || err == X509_V_ERR_CRL_NOT_YET_VALID))
		return 1;
	return ok;
}

static int verify_error(int err, int depth, const struct x509_info *leaf, int64_t now)
{
	/* OpenSSL checks dates from the CA down; the card's own come first here */
	if (depth > 0 &&
	    (err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_CERT_NOT_YET_VALID)) {
		if (now > leaf->not_after)
			err = X509_V_ERR_CERT_HAS_EXPIRED, depth = 0;
		else if (now < leaf->not_before)
			err = X509_V_ERR_CERT_NOT_YET_VALID, depth = 0;
	}
	if (depth > 0 && err == X509_V_ERR_CERT_HAS_EXPIRED)
		return careid_error_set(CAREID_EEXPIRED, MSG_CA_EXPIRED);
	if (depth > 0 && err == X509_V_ERR_CERT_NOT_YET_VALID)
		return careid_error_set(CAREID_EEXPIRED, MSG_CA_NOTYET);
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return careid_error_set(CAREID_EEXPIRED, MSG_EXPIRED);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return careid_error_set(CAREID_EEXPIRED, MSG_NOTYET);
	case X509_V_ERR_CERT_REVOKED:
		return careid_error_set(CAREID_EDENIED, MSG_REVOKED);
	default:
		return careid_error_set(CAREID_EDENIED, MSG_FOREIGN);
	}
}

int x509_cert_verify(const x509_cert *c, const char *ca_cert_pem, const char *crl_pem, int64_t now)
{
	X509_STORE *st = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509_VERIFY_PARAM *param;
	X509_CRL *crl = NULL;
	X509 *ca = pem_cert(ca_cert_pem);
	int rc = 0;

	if (!ca)
		return careid_error_last()->code;
	if (crl_pem && !(crl = pem_crl(crl_pem))) {
		rc = careid_error_last()->code;
		goto out;
	}
	if (X509_check_ca(c->cert) != 0) {
		rc = careid_error_set(CAREID_EDENIED, MSG_FOREIGN);
		goto out;
	}
	st = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!st || !ctx || !X509_STORE_add_cert(st, ca) || (crl && !X509_STORE_add_crl(st, crl)) ||
	    !X509_STORE_CTX_init(ctx, st, c->cert, NULL)) {
		rc = ossl_fail(CAREID_ENOMEM, "cannot prepare the certificate check");
		goto out;
	}
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_time(param, (time_t)now);
	X509_VERIFY_PARAM_set_flags(param,
	                            X509_V_FLAG_X509_STRICT | (crl ? X509_V_FLAG_CRL_CHECK : 0));
	X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_CLIENT);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	if (X509_verify_cert(ctx) != 1)
		rc = verify_error(X509_STORE_CTX_get_error(ctx),
		                  X509_STORE_CTX_get_error_depth(ctx), &c->info, now);
out:
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_CRL_free(crl);
	X509_free(ca);
	return rc;
}

/* JOSE r || s as a DER ECDSA signature; `*der` is OPENSSL_free()d. */
static int ecdsa_der(unsigned char **der, int *der_len, const uint8_t sig[ES256_SIG_BYTES])
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);

	*der = NULL;
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		ECDSA_SIG_free(es);
		BN_free(r);
		BN_free(s);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	*der_len = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	if (*der_len <= 0)
		return ossl_fail(CAREID_ENOMEM, "out of memory");
	return 0;
}

int x509_cert_verify_signature(const x509_cert *c, const char *alg, const void *sig, size_t sig_len,
                               const void *data, size_t len)
{
	EVP_PKEY *key = X509_get0_pubkey(c->cert);
	const char *key_has = key ? key_alg(key) : NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	int der_len = 0, rc = 0;

	if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0))
		return careid_error_set(CAREID_EUNSUPPORTED,
		                        "signature algorithm %.16s unsupported",
		                        alg ? alg : "(none)");
	if (len > X509_DATA_MAX || sig_len > X509_SIG_MAX)
		return careid_error_set(CAREID_ETOOBIG, "signature or signed data too large");
	if (!key_has || strcmp(key_has, alg) != 0) {
		ERR_clear_error();
		return careid_error_set(CAREID_EDENIED, MSG_BADSIG);
	}
	if (strcmp(alg, "ES256") == 0) {
		if (sig_len != ES256_SIG_BYTES)
			return careid_error_set(CAREID_EDENIED, MSG_BADSIG);
		rc = ecdsa_der(&der, &der_len, sig);
		if (rc)
			return rc;
		sig = der;
		sig_len = (size_t)der_len;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, key) != 1 ||
	    (!der && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)) {
		rc = ossl_fail(CAREID_ECRYPTO, "cannot check the signature");
		goto out;
	}
	if (EVP_DigestVerify(md, sig, sig_len, data, len) != 1)
		rc = careid_error_set(CAREID_EDENIED, MSG_BADSIG);
out:
	ERR_clear_error();
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return rc;
}
