/* Reading and checking what a card presents: its certificate (from the
 * identity agent) against an environment's CA and CRL, and its signature
 * over the sign-in challenge. See crypto/x509.h. */
#include "crypto/x509.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/x509_int.h"

#define MSG_EXPIRED    "the smartcard's certificate has expired"
#define MSG_NOTYET     "the smartcard's certificate is not yet valid"
#define MSG_REVOKED    "the smartcard's certificate has been revoked"
#define MSG_FOREIGN    "the smartcard was not issued by this environment's certificate authority"
#define MSG_BADSIG     "the challenge was not signed by the card's key"
#define MSG_CA_EXPIRED "this environment's smartcard certificate authority has expired"
#define MSG_CA_NOTYET  "this environment's smartcard certificate authority is not yet valid"

struct x509_cert {
	X509 *cert;
	struct x509_info info;
};

static int cert_wrap(x509_cert **out, X509 *x)
{
	x509_cert *c = calloc(1, sizeof(*c));
	int rc;

	if (!c) {
		X509_free(x);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	c->cert = x;
	rc = x509_fill_info(&c->info, x);
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
		return x509_ossl_fail(CAREID_EINVALID, "the certificate is not DER X.509");
	}
	return cert_wrap(out, x);
}

static int cert_from_pem(x509_cert **out, const char *text, size_t len)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, x509_no_passphrase, NULL) : NULL;

	BIO_free(b);
	if (!x)
		return x509_ossl_fail(CAREID_EINVALID, "the certificate is not PEM X.509");
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

int x509_cert_subject_der(const x509_cert *c, uint8_t *out, size_t outsz, size_t *len)
{
	const unsigned char *enc = NULL;
	size_t n = 0;

	*len = 0;
	if (!X509_NAME_get0_der(X509_get_subject_name(c->cert), &enc, &n))
		return x509_ossl_fail(CAREID_ECRYPTO, "cannot encode the certificate's subject");
	if (n > outsz)
		return careid_error_set(CAREID_ETOOBIG,
		                        "the certificate's subject is over %zu bytes", outsz);
	memcpy(out, enc, n);
	*len = n;
	return 0;
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
	X509 *ca = x509_pem_cert(ca_cert_pem);
	int rc = 0;

	if (!ca)
		return careid_error_last()->code;
	if (crl_pem && !(crl = x509_pem_crl(crl_pem))) {
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
		rc = x509_ossl_fail(CAREID_ENOMEM, "cannot prepare the certificate check");
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
		return x509_ossl_fail(CAREID_ENOMEM, "out of memory");
	return 0;
}

int x509_cert_verify_signature(const x509_cert *c, const char *alg, const void *sig, size_t sig_len,
                               const void *data, size_t len)
{
	EVP_PKEY *key = X509_get0_pubkey(c->cert);
	const char *key_has = key ? x509_key_alg(key) : NULL;
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
		rc = x509_ossl_fail(CAREID_ECRYPTO, "cannot check the signature");
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
