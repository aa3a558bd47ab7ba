/* Making smartcards: each environment's test CA, card certificates (with a
 * new key in a PKCS#12 file, or for a key on a token), CRLs, and what the
 * identity agent does with a card file.
 * Checking a card is in x509_verify.c. See crypto/x509.h. */
#include "crypto/x509.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/error.h"
#include "crypto/crypto_int.h"
#include "crypto/hash.h"
#include "crypto/random.h"
#include "crypto/x509_int.h"

#define CA_DAYS       3653 /* ten years */
#define CA_SKEW_S     3600
#define CRL_NEXT_S    (30 * 86400)
#define SERIAL_BYTES  16
#define SERIAL_MAX    20 /* RFC 5280 §4.1.2.2 */
#define CARD_RSA_BITS 2048
#define ENV_MAX       32
#define DISPLAY_MAX   256
#define CARD_FRIENDLY "careid smartcard"

struct x509_card {
	EVP_PKEY *key;
	X509 *cert;
	struct x509_info info;
	const char *alg;
};

int x509_ossl_fail(int code, const char *msg)
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

int x509_no_passphrase(char *buf, int size, int rwflag, void *u)
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

X509 *x509_pem_cert(const char *pem)
{
	BIO *b;
	X509 *x;

	if (check_text(pem, X509_PEM_MAX, "CA certificate"))
		return NULL;
	b = BIO_new_mem_buf(pem, (int)strlen(pem));
	x = b ? PEM_read_bio_X509(b, NULL, x509_no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!x)
		x509_ossl_fail(CAREID_EINVALID, "unreadable CA certificate");
	return x;
}

static EVP_PKEY *pem_key(const char *pem)
{
	EVP_PKEY *k;
	BIO *b;

	if (check_text(pem, X509_PEM_MAX, "CA key"))
		return NULL;
	b = BIO_new_mem_buf(pem, (int)strlen(pem));
	k = b ? PEM_read_bio_PrivateKey(b, NULL, x509_no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!k)
		x509_ossl_fail(CAREID_EINVALID, "unreadable CA key");
	return k;
}

X509_CRL *x509_pem_crl(const char *pem)
{
	X509_CRL *crl;
	BIO *b;

	if (check_text(pem, X509_CRL_PEM_MAX, "CRL"))
		return NULL;
	b = BIO_new_mem_buf(pem, (int)strlen(pem));
	crl = b ? PEM_read_bio_X509_CRL(b, NULL, x509_no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!crl)
		x509_ossl_fail(CAREID_EINVALID, "unreadable CRL");
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
		return x509_ossl_fail(CAREID_EINVALID, "time out of range");
	return 0;
}

static int asn1_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return x509_ossl_fail(CAREID_EINVALID, "bad certificate time");
	*out = (int64_t)timegm(&tm);
	return 0;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);

	X509_EXTENSION_free(e);
	return ok ? 0 : x509_ossl_fail(CAREID_ECRYPTO, "cannot add a certificate extension");
}

static int name_add(X509_NAME *n, int nid, const char *value)
{
	if (!X509_NAME_add_entry_by_NID(n, nid, MBSTRING_UTF8, (const unsigned char *)value, -1, -1,
	                                0))
		return x509_ossl_fail(CAREID_EINVALID, "a certificate name part is not acceptable");
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot set a serial");
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
		rc = x509_ossl_fail(CAREID_EINVALID, "bad certificate serial");
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
		return x509_ossl_fail(CAREID_EINVALID, "bad subject serialNumber");
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
		rc = x509_ossl_fail(CAREID_EINVALID, "bad certificate subject");
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

int x509_fill_info(struct x509_info *info, X509 *x)
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
		return x509_ossl_fail(CAREID_ECRYPTO, "cannot hash the certificate");
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot create the CA key");
		goto out;
	}
	rc = make_name(&name, env, cn, NULL);
	if (!rc && (!X509_set_version(x, 2) || !X509_set_subject_name(x, name) ||
	            !X509_set_issuer_name(x, name) || !X509_set_pubkey(x, key)))
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot build the CA certificate");
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot sign the CA certificate");
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

static int check_card_new(const struct x509_card_new *r, bool p12)
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
	rc = p12 ? check_text(r->passphrase, X509_PASS_MAX, "passphrase") : 0;
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot build the card certificate");
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot sign the card certificate");
		goto out;
	}
	*out = x;
	x = NULL;
out:
	X509_NAME_free(name);
	X509_free(x);
	return rc;
}

/*
 * The shared part of issuing: the card certificate for `key` signed by the CA
 * (`ca_cert_pem`, `ca_key_pem`), with its details in `info` (may be NULL).
 * `*ca_out` (may be NULL) receives the CA certificate, X509_free()d by the
 * caller.
 */
static int issue_cert(X509 **out, X509 **ca_out, struct x509_info *info, EVP_PKEY *key,
                      const char *ca_cert_pem, const char *ca_key_pem,
                      const struct x509_card_new *req)
{
	EVP_PKEY *ca_key = NULL;
	X509 *ca, *x = NULL;
	int rc;

	*out = NULL;
	if (ca_out)
		*ca_out = NULL;
	ca = x509_pem_cert(ca_cert_pem);
	ca_key = ca ? pem_key(ca_key_pem) : NULL;
	if (!ca || !ca_key) {
		rc = careid_error_last()->code;
		goto out;
	}
	if (!X509_check_private_key(ca, ca_key)) {
		rc = x509_ossl_fail(CAREID_EINVALID, "the CA key does not match its certificate");
		goto out;
	}
	rc = card_cert(&x, key, ca, ca_key, req);
	if (!rc && info)
		rc = x509_fill_info(info, x);
	if (rc)
		goto out;
	*out = x;
	x = NULL;
	if (ca_out) {
		*ca_out = ca;
		ca = NULL;
	}
out:
	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}

int x509_card_issue(uint8_t **p12, size_t *p12_len, struct x509_info *info, const char *ca_cert_pem,
                    const char *ca_key_pem, const struct x509_card_new *req)
{
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *key = NULL;
	X509 *ca = NULL, *x = NULL;
	PKCS12 *pk = NULL;
	unsigned char *der = NULL;
	int rc, len = 0;

	*p12 = NULL;
	*p12_len = 0;
	rc = check_card_new(req, true);
	if (rc)
		return rc;
	key = EVP_RSA_gen(CARD_RSA_BITS);
	if (!key) {
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot create the card's key");
		goto out;
	}
	rc = issue_cert(&x, &ca, info, key, ca_cert_pem, ca_key_pem, req);
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot write the PKCS#12 file");
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
	return rc;
}

/* An RSA public key from its modulus and exponent, 2048 to 8192 bits. */
static int rsa_public(EVP_PKEY **out, const struct x509_rsa_public *pub)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int rc = 0, bits;

	*out = NULL;
	if (!pub || !pub->n || !pub->e || pub->n_len > X509_RSA_N_MAX ||
	    pub->e_len > X509_RSA_N_MAX)
		return careid_error_set(CAREID_EINVALID, "no RSA key, or one over %d bytes",
		                        X509_RSA_N_MAX);
	n = BN_bin2bn(pub->n, (int)pub->n_len, NULL);
	e = BN_bin2bn(pub->e, (int)pub->e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!n || !e || !bld) {
		rc = x509_ossl_fail(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	bits = BN_num_bits(n);
	if (bits < CARD_RSA_BITS || bits > X509_RSA_N_MAX * 8 || !BN_is_odd(e) ||
	    BN_num_bytes(e) > 8 || BN_cmp(e, BN_value_one()) <= 0) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "the card's key is not an RSA key of %d to %d bits",
		                      CARD_RSA_BITS, X509_RSA_N_MAX * 8);
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld)) ||
	    !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot make the card's RSA key");
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

int x509_card_certify(uint8_t **der, size_t *der_len, struct x509_info *info,
                      const char *ca_cert_pem, const char *ca_key_pem,
                      const struct x509_card_new *req, const struct x509_rsa_public *pub)
{
	EVP_PKEY *key = NULL;
	unsigned char *enc = NULL;
	X509 *x = NULL;
	int rc, len;

	*der = NULL;
	*der_len = 0;
	rc = check_card_new(req, false);
	if (!rc)
		rc = rsa_public(&key, pub);
	if (!rc)
		rc = issue_cert(&x, NULL, info, key, ca_cert_pem, ca_key_pem, req);
	if (rc)
		goto out;
	len = i2d_X509(x, &enc);
	if (len <= 0 || len > X509_DER_MAX) {
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot encode the card certificate");
		goto out;
	}
	*der = malloc((size_t)len);
	if (!*der) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*der, enc, (size_t)len);
	*der_len = (size_t)len;
out:
	ERR_clear_error();
	OPENSSL_free(enc);
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

const char *x509_key_alg(EVP_PKEY *k)
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
		rc = x509_ossl_fail(CAREID_EINVALID, "the card file is not PKCS#12");
		goto out;
	}
	if (PKCS12_mac_present(pk) && !PKCS12_verify_mac(pk, passphrase, -1) &&
	    (*passphrase || !PKCS12_verify_mac(pk, NULL, 0))) {
		rc = x509_ossl_fail(CAREID_EDENIED, "wrong passphrase for the card file");
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	if (!PKCS12_parse(pk, passphrase, &c->key, &c->cert, &ca) || !c->key || !c->cert) {
		rc = x509_ossl_fail(CAREID_EINVALID, "the card file holds no key and certificate");
		goto out;
	}
	if (!X509_check_private_key(c->cert, c->key)) {
		rc = x509_ossl_fail(CAREID_EINVALID,
		                    "the card's key does not match its certificate");
		goto out;
	}
	c->alg = x509_key_alg(c->key);
	if (!c->alg) {
		rc = careid_error_set(CAREID_EUNSUPPORTED,
		                      "the card's key is neither RSA-2048+ nor EC P-256");
		goto out;
	}
	rc = x509_fill_info(&c->info, c->cert);
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
		return x509_ossl_fail(CAREID_ECRYPTO, "cannot encode the certificate");
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
		return x509_ossl_fail(CAREID_ECRYPTO, "bad ECDSA signature");
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
		rc = x509_ossl_fail(CAREID_ECRYPTO, "bad ECDSA signature");
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "the card could not sign");
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
		return x509_ossl_fail(CAREID_ENOMEM, "out of memory");
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot add to the CRL");
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
	ca = x509_pem_cert(ca_cert_pem);
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
		rc = x509_ossl_fail(CAREID_ENOMEM, "cannot build the CRL");
		goto out;
	}
	rc = set_time(t, now);
	if (!rc && !X509_CRL_set1_lastUpdate(crl, t))
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot build the CRL");
	if (!rc)
		rc = set_time(t, now + CRL_NEXT_S);
	if (!rc && !X509_CRL_set1_nextUpdate(crl, t))
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot build the CRL");
	for (size_t i = 0; !rc && i < n; i++)
		rc = crl_add(crl, serials[i], revoked_at[i]);
	if (rc)
		goto out;
	X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
	aki = X509V3_EXT_nconf_nid(NULL, &ctx, NID_authority_key_identifier, "keyid:always");
	if (!aki || !X509_CRL_add_ext(crl, aki, -1) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) || !X509_CRL_sort(crl) ||
	    !X509_CRL_sign(crl, key, EVP_sha256()) || !PEM_write_bio_X509_CRL(b, crl)) {
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot sign the CRL");
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
