#include "crypto/pubkey.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/error.h"
#include "crypto/crypto_int.h"

#define EC_P256_COORD   32
#define RSA_MIN_BITS    2048
#define RSA_MAX_BITS    8192
#define RSA_E_MAX       8
#define FIDO_AAGUID_OID "1.3.6.1.4.1.45724.1.1.4"
#define ATTESTATION_OU  "Authenticator Attestation"

struct pubkey {
	EVP_PKEY *pkey;
	int alg;
};

struct pubkey_cert {
	X509 *x;
};

/* Takes ownership of `pkey` (freed on failure). */
static int pubkey_wrap(pubkey **out, EVP_PKEY *pkey, int alg)
{
	pubkey *k = calloc(1, sizeof(*k));

	if (!k) {
		EVP_PKEY_free(pkey);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	k->pkey = pkey;
	k->alg = alg;
	*out = k;
	return 0;
}

int pubkey_from_ec2(pubkey **out, int alg, int crv, const uint8_t *x, size_t xlen, const uint8_t *y,
                    size_t ylen)
{
	char group[] = "P-256";
	uint8_t point[1 + 2 * EC_P256_COORD];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL, *check = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = 0;

	*out = NULL;
	if (alg != PUBKEY_ES256)
		return careid_error_set(CAREID_EUNSUPPORTED,
		                        "COSE algorithm %d is not for EC2 keys", alg);
	if (crv != PUBKEY_CRV_P256)
		return careid_error_set(CAREID_EUNSUPPORTED,
		                        "EC curve %d is not supported (only P-256)", crv);
	if (xlen != EC_P256_COORD || ylen != EC_P256_COORD)
		return careid_error_set(CAREID_EINVALID,
		                        "a P-256 key needs 32-byte x and y coordinates");
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, x, EC_P256_COORD);
	memcpy(point + 1 + EC_P256_COORD, y, EC_P256_COORD);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	params[1] =
	    OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	params[2] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1) {
		rc = careid_error_set(CAREID_ECRYPTO, "cannot make an EC key");
		goto out;
	}
	if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = careid_error_set(CAREID_EINVALID, "the EC key is not a point on P-256");
		goto out;
	}
	/*
	 * fromdata already refuses points off the curve; say so explicitly. The
	 * quick check (on the curve, not the point at infinity) is the whole
	 * check on P-256, whose cofactor is 1: every such point has the group's
	 * order, which the full check proves again with a scalar multiplication
	 * costing as much as the signature check itself (a key is parsed at every
	 * sign-in).
	 */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!check || EVP_PKEY_public_check_quick(check) != 1) {
		rc = careid_error_set(CAREID_EINVALID, "the EC key is not a point on P-256");
		goto out;
	}
	rc = pubkey_wrap(out, pkey, alg);
	pkey = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int pubkey_from_rsa(pubkey **out, int alg, const uint8_t *n, size_t nlen, const uint8_t *e,
                    size_t elen)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	BIGNUM *bn = NULL, *be = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	size_t bits;
	int rc = 0;

	*out = NULL;
	if (alg != PUBKEY_RS256)
		return careid_error_set(CAREID_EUNSUPPORTED,
		                        "COSE algorithm %d is not for RSA keys", alg);
	if (nlen > RSA_MAX_BITS / 4) /* room for leading zeros, and BN_bin2bn() takes an int */
		return careid_error_set(CAREID_EINVALID, "the RSA modulus is over %d bytes",
		                        RSA_MAX_BITS / 4);
	bits = crypto_bignum_bits(n, nlen);
	if (bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
		return careid_error_set(CAREID_EINVALID,
		                        "the RSA key has %zu bits; %d to %d are accepted", bits,
		                        RSA_MIN_BITS, RSA_MAX_BITS);
	while (elen > 0 && e[0] == 0) {
		e++;
		elen--;
	}
	if (elen == 0 || elen > RSA_E_MAX || (e[elen - 1] & 1) == 0 || (elen == 1 && e[0] < 3))
		return careid_error_set(CAREID_EINVALID, "the RSA public exponent is unacceptable");
	bn = BN_bin2bn(n, (int)nlen, NULL);
	be = BN_bin2bn(e, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    !(params = OSSL_PARAM_BLD_to_param(bld))) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		rc = careid_error_set(CAREID_ECRYPTO, "cannot make an RSA key");
		goto out;
	}
	rc = pubkey_wrap(out, pkey, alg);
	pkey = NULL;
out:
	ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return rc;
}

int pubkey_from_cert(pubkey **out, const pubkey_cert *c, int alg)
{
	EVP_PKEY *pkey = X509_get0_pubkey(c->x);
	char group[32];
	size_t glen = 0;
	int bits;

	*out = NULL;
	if (!pkey) {
		ERR_clear_error();
		return careid_error_set(CAREID_EINVALID,
		                        "the certificate's public key cannot be read");
	}
	if (alg == PUBKEY_ES256) {
		if (!EVP_PKEY_is_a(pkey, "EC") ||
		    EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1 ||
		    strcmp(group, "prime256v1") != 0) {
			ERR_clear_error();
			return careid_error_set(CAREID_EINVALID,
			                        "ES256 needs a P-256 key, and the certificate's "
			                        "key is not one");
		}
	} else if (alg == PUBKEY_RS256) {
		bits = EVP_PKEY_get_bits(pkey);
		if (!EVP_PKEY_is_a(pkey, "RSA") || bits < RSA_MIN_BITS || bits > RSA_MAX_BITS)
			return careid_error_set(CAREID_EINVALID,
			                        "RS256 needs an RSA key of %d to %d bits, and the "
			                        "certificate's key is not one",
			                        RSA_MIN_BITS, RSA_MAX_BITS);
	} else {
		return careid_error_set(CAREID_EUNSUPPORTED, "COSE algorithm %d is not supported",
		                        alg);
	}
	if (EVP_PKEY_up_ref(pkey) != 1)
		return careid_error_set(CAREID_ECRYPTO, "cannot reference the certificate's key");
	return pubkey_wrap(out, pkey, alg);
}

int pubkey_alg(const pubkey *k)
{
	return k->alg;
}

int pubkey_verify(const pubkey *k, const void *data, size_t len, const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = 0;

	if (siglen == 0 || siglen > PUBKEY_SIG_MAX)
		return careid_error_set(CAREID_EDENIED, "the signature does not verify");
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL, k->pkey) != 1) {
		rc = careid_error_set(CAREID_ECRYPTO, "cannot start verifying a signature");
		goto out;
	}
	if (k->alg == PUBKEY_RS256 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) {
		rc = careid_error_set(CAREID_ECRYPTO, "cannot select PKCS#1 v1.5 padding");
		goto out;
	}
	if (EVP_DigestVerify(md, sig, siglen, data, len) != 1)
		rc = careid_error_set(CAREID_EDENIED, "the signature does not verify");
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	return rc;
}

void pubkey_free(pubkey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

int pubkey_cert_parse(pubkey_cert **out, const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	pubkey_cert *c;
	X509 *x;

	*out = NULL;
	if (len == 0 || len > PUBKEY_CERT_MAX)
		return careid_error_set(
		    CAREID_EINVALID, "the certificate is empty or over %d bytes", PUBKEY_CERT_MAX);
	x = d2i_X509(NULL, &p, (long)len);
	if (!x || p != der + len) {
		X509_free(x);
		ERR_clear_error();
		return careid_error_set(CAREID_EINVALID, "the certificate is not valid DER X.509");
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		X509_free(x);
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	}
	c->x = x;
	*out = c;
	return 0;
}

void pubkey_cert_free(pubkey_cert *c)
{
	if (!c)
		return;
	X509_free(c->x);
	free(c);
}

/* The first subject entry of type `nid` (data and length), or false. */
static bool subject_entry(const X509_NAME *name, int nid, const unsigned char **data, int *len)
{
	const X509_NAME_ENTRY *ent;
	const ASN1_STRING *s;
	int i = X509_NAME_get_index_by_NID(name, nid, -1);

	if (i < 0)
		return false;
	ent = X509_NAME_get_entry(name, i);
	s = ent ? X509_NAME_ENTRY_get_data(ent) : NULL;
	if (!s)
		return false;
	*data = ASN1_STRING_get0_data(s);
	*len = ASN1_STRING_length(s);
	return *len > 0;
}

static int check_subject(const X509 *x)
{
	static const struct {
		int nid;
		const char *name;
	} required[] = {
	    {NID_countryName, "C"},
	    {NID_organizationName, "O"},
	    {NID_organizationalUnitName, "OU"},
	    {NID_commonName, "CN"},
	};
	const X509_NAME *name = X509_get_subject_name(x);
	const unsigned char *data = NULL;
	int len = 0;
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!name || !subject_entry(name, required[i].nid, &data, &len))
			return careid_error_set(CAREID_EINVALID,
			                        "the attestation certificate's subject has no %s",
			                        required[i].name);
	subject_entry(name, NID_organizationalUnitName, &data, &len);
	if ((size_t)len != strlen(ATTESTATION_OU) || memcmp(data, ATTESTATION_OU, (size_t)len) != 0)
		return careid_error_set(CAREID_EINVALID,
		                        "the attestation certificate's subject OU is not \"%s\"",
		                        ATTESTATION_OU);
	return 0;
}

static int check_aaguid_ext(const X509 *x, const uint8_t aaguid[16])
{
	ASN1_OBJECT *oid = OBJ_txt2obj(FIDO_AAGUID_OID, 1);
	ASN1_OCTET_STRING *inner = NULL;
	const ASN1_OCTET_STRING *outer;
	const unsigned char *p, *end;
	X509_EXTENSION *ext;
	int idx, rc = 0;

	if (!oid)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	idx = X509_get_ext_by_OBJ(x, oid, -1);
	if (idx < 0)
		goto out;
	if (X509_get_ext_by_OBJ(x, oid, idx) >= 0) {
		rc = careid_error_set(CAREID_EINVALID,
		                      "the attestation certificate has the AAGUID extension twice");
		goto out;
	}
	ext = X509_get_ext(x, idx);
	if (!ext || X509_EXTENSION_get_critical(ext)) {
		rc = careid_error_set(CAREID_EINVALID, "the attestation certificate's AAGUID "
		                                       "extension is marked critical");
		goto out;
	}
	outer = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(outer);
	end = p + ASN1_STRING_length(outer);
	inner = d2i_ASN1_OCTET_STRING(NULL, &p, end - p);
	if (!inner || p != end || ASN1_STRING_length(inner) != 16) {
		rc = careid_error_set(CAREID_EINVALID, "the attestation certificate's AAGUID "
		                                       "extension is not a 16-byte OCTET STRING");
		goto out;
	}
	if (memcmp(ASN1_STRING_get0_data(inner), aaguid, 16) != 0)
		rc = careid_error_set(CAREID_EINVALID,
		                      "the attestation certificate's AAGUID differs from the "
		                      "authenticator's");
out:
	ERR_clear_error();
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(oid);
	return rc;
}

int pubkey_cert_check_packed(const pubkey_cert *c, const uint8_t aaguid[16])
{
	uint32_t flags;
	int rc;

	if (X509_get_version(c->x) != X509_VERSION_3)
		return careid_error_set(CAREID_EINVALID,
		                        "the attestation certificate is not X.509 version 3");
	rc = check_subject(c->x);
	if (rc)
		return rc;
	flags = X509_get_extension_flags(c->x);
	ERR_clear_error();
	if (flags & EXFLAG_INVALID)
		return careid_error_set(CAREID_EINVALID,
		                        "the attestation certificate has malformed extensions");
	if (flags & EXFLAG_CA)
		return careid_error_set(CAREID_EINVALID, "the attestation certificate is a CA "
		                                         "certificate (basic constraints CA true)");
	return check_aaguid_ext(c->x, aaguid);
}

int pubkey_es256_generate(uint8_t x[32], uint8_t y[32], uint8_t **pkcs8_out, size_t *pkcs8_len)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	BIGNUM *bx = NULL, *by = NULL;
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	int rc = 0, n = 0;

	*pkcs8_out = NULL;
	*pkcs8_len = 0;
	if (!k || !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, &bx) ||
	    !EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, &by) ||
	    BN_bn2binpad(bx, x, 32) != 32 || BN_bn2binpad(by, y, 32) != 32) {
		rc = careid_error_set(CAREID_ECRYPTO, "cannot make a P-256 key");
		goto out;
	}
	p8 = EVP_PKEY2PKCS8(k);
	n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	if (n <= 0) {
		rc = careid_error_set(CAREID_ECRYPTO, "cannot encode the P-256 key");
		goto out;
	}
	*pkcs8_out = malloc((size_t)n);
	if (!*pkcs8_out) {
		rc = careid_error_set(CAREID_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*pkcs8_out, der, (size_t)n);
	*pkcs8_len = (size_t)n;
out:
	if (der)
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
	PKCS8_PRIV_KEY_INFO_free(p8);
	BN_free(bx);
	BN_free(by);
	EVP_PKEY_free(k);
	return rc;
}
