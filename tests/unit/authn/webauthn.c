/*
 * tests for src/authn/webauthn.c: genuine registration and assertion
 * responses are built here with OpenSSL and libcbor (keys, authenticator
 * data, attestation objects, clientDataJSON, signatures), then altered one
 * way at a time.
 *
 * With CAREID_WEBAUTHN_CORPUS=<dir> set, the test also writes the seed corpus
 * of tests/fuzz/fuzz_webauthn.c into <dir> (see that file for the format).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cbor.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "authn/webauthn.h"
#include "core/error.h"
#include "crypto/hash.h"
#include "crypto/random.h"

/* Shared with tests/fuzz/fuzz_webauthn.c, which replays what this test writes. */
#define RP_ID           "localhost"
#define ORIGIN          "http://localhost:8080"
#define CHALLENGE       "Y2FyZWlkLXdlYmF1dGhuLXRlc3QtY2hhbGxlbmdl"
#define OTHER_CHALLENGE "b3RoZXItY2hhbGxlbmdl"

static const uint8_t CRED_ID[16] = {0xc1, 0xed, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05,
                                    0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d};
static const uint8_t AAGUID[16] = {0x6c, 0x1a, 0x2e, 0x3f, 0x10, 0x22, 0x4b, 0x5d,
                                   0x9e, 0x8f, 0x77, 0x66, 0x55, 0x44, 0x33, 0x21};
#define AAGUID_TEXT "6c1a2e3f-1022-4b5d-9e8f-776655443321"

#define F_UP 0x01
#define F_UV 0x04
#define F_BE 0x08
#define F_BS 0x10
#define F_AT 0x40
#define F_ED 0x80

static const struct webauthn_expect EXPECT = {
    .rp_id = RP_ID, .origin = ORIGIN, .challenge = CHALLENGE, .require_uv = false};
static const struct webauthn_expect EXPECT_UV = {
    .rp_id = RP_ID, .origin = ORIGIN, .challenge = CHALLENGE, .require_uv = true};

/* Keys and certificates made once (RSA generation is slow under ASan). */
struct fixture {
	EVP_PKEY *ec;    /* the credential key, ES256 */
	EVP_PKEY *rsa;   /* the credential key, RS256 */
	EVP_PKEY *ca;    /* the attestation CA */
	EVP_PKEY *att;   /* the attestation key */
	uint8_t *ca_der; /* CA certificate */
	size_t ca_len;
	uint8_t *att_der; /* leaf meeting §8.2.1, with the AAGUID extension */
	size_t att_len;
	uint8_t *att_bad_der; /* leaf whose OU is wrong */
	size_t att_bad_len;
	const char *corpus; /* CAREID_WEBAUTHN_CORPUS */
};

static struct fixture fx;

/* --- helpers -------------------------------------------------------------- */

static void assert_error(int rc, int code, const char *substring)
{
	if (rc != code)
		fail_msg("got %d (%s), wanted %d; message \"%s\"", rc, careid_code_name(rc), code,
		         careid_error_last()->message);
	if (!strstr(careid_error_last()->message, substring))
		fail_msg("message \"%s\" lacks \"%s\"", careid_error_last()->message, substring);
}

static char *b64(const void *data, size_t len)
{
	size_t cap = len / 3 * 4 + 4;
	char *s = malloc(cap);

	assert_non_null(s);
	assert_int_equal(crypto_b64url_encode(s, cap, data, len), 0);
	return s;
}

static void corpus_write(const char *name, const void *data, size_t len)
{
	char path[1024];
	FILE *f;

	if (!fx.corpus)
		return;
	snprintf(path, sizeof(path), "%s/%s", fx.corpus, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A corpus file: the mode character, then `data`. */
static void corpus_mode(const char *name, char mode, const void *data, size_t len)
{
	uint8_t *p;

	if (!fx.corpus)
		return;
	p = malloc(len + 1);
	assert_non_null(p);
	p[0] = (uint8_t)mode;
	memcpy(p + 1, data, len);
	corpus_write(name, p, len + 1);
	free(p);
}

static size_t bn_param(uint8_t *out, size_t len, const EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	n = len ? BN_bn2binpad(bn, out, (int)len) : BN_bn2bin(bn, out);
	BN_free(bn);
	assert_true(n > 0);
	return (size_t)n;
}

static uint8_t *sign(size_t *len, EVP_PKEY *k, const void *msg, size_t msglen)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t *sig;

	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(EVP_DigestSign(md, NULL, len, msg, msglen), 1);
	sig = malloc(*len);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(md, sig, len, msg, msglen), 1);
	EVP_MD_CTX_free(md);
	return sig;
}

static cbor_item_t *cint(int64_t v)
{
	uint64_t m;

	if (v >= 0)
		return v < 256 ? cbor_build_uint8((uint8_t)v) : cbor_build_uint16((uint16_t)v);
	m = (uint64_t)(-1 - v);
	return m < 256 ? cbor_build_negint8((uint8_t)m) : cbor_build_negint16((uint16_t)m);
}

static void put(cbor_item_t *map, cbor_item_t *k, cbor_item_t *v)
{
	assert_true(k && v);
	assert_true(
	    cbor_map_add(map, (struct cbor_pair){.key = cbor_move(k), .value = cbor_move(v)}));
}

/* Serialises and releases `it`; free() the result. */
static uint8_t *serialise(cbor_item_t *it, size_t *len)
{
	unsigned char *buf = NULL;
	size_t cap = 0;

	*len = cbor_serialize_alloc(it, &buf, &cap);
	assert_true(*len > 0);
	cbor_decref(&it);
	return buf;
}

/* The COSE_Key of `k` labelled with `alg` and `kty` (0: the key's own). */
static uint8_t *cose_key(size_t *len, EVP_PKEY *k, int alg, int kty)
{
	cbor_item_t *m = cbor_new_definite_map(5);
	uint8_t a[512], b[512];
	size_t alen, blen;

	assert_non_null(m);
	if (EVP_PKEY_is_a(k, "EC")) {
		bn_param(a, 32, k, OSSL_PKEY_PARAM_EC_PUB_X);
		bn_param(b, 32, k, OSSL_PKEY_PARAM_EC_PUB_Y);
		put(m, cint(1), cint(kty ? kty : 2));
		put(m, cint(3), cint(alg));
		put(m, cint(-1), cint(1));
		put(m, cint(-2), cbor_build_bytestring(a, 32));
		put(m, cint(-3), cbor_build_bytestring(b, 32));
	} else {
		alen = bn_param(a, 0, k, OSSL_PKEY_PARAM_RSA_N);
		blen = bn_param(b, 0, k, OSSL_PKEY_PARAM_RSA_E);
		put(m, cint(1), cint(kty ? kty : 3));
		put(m, cint(3), cint(alg));
		put(m, cint(-1), cbor_build_bytestring(a, alen));
		put(m, cint(-2), cbor_build_bytestring(b, blen));
	}
	return serialise(m, len);
}

/* --- certificates ------------------------------------------------------- */

static uint8_t *make_cert(size_t *len, EVP_PKEY *key, EVP_PKEY *ca, bool is_ca, const char *ou)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new(), *issuer = X509_NAME_new();
	X509_EXTENSION *bc;
	uint8_t *der = NULL;
	int n;

	assert_true(x && name && issuer);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), is_ca ? 1 : 2), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	X509_NAME_add_entry_by_txt(name, "C", MBSTRING_UTF8, (const unsigned char *)"GB", -1, -1,
	                           0);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)"careid test",
	                           -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	                           (const unsigned char *)(is_ca ? "careid test CA" : "careid key"),
	                           -1, -1, 0);
	X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_UTF8,
	                           (const unsigned char *)"careid test CA", -1, -1, 0);
	assert_int_equal(X509_set_subject_name(x, is_ca ? issuer : name), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	bc = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints,
	                         is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
	assert_non_null(bc);
	assert_int_equal(X509_add_ext(x, bc, -1), 1);
	X509_EXTENSION_free(bc);
	if (!is_ca) {
		/* id-fido-gen-ce-aaguid: an OCTET STRING wrapping the 16 bytes */
		ASN1_OCTET_STRING *inner = ASN1_OCTET_STRING_new(),
		                  *outer = ASN1_OCTET_STRING_new();
		ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
		unsigned char *ider = NULL;
		X509_EXTENSION *ext;
		int ilen;

		assert_true(inner && outer && oid);
		assert_int_equal(ASN1_OCTET_STRING_set(inner, AAGUID, 16), 1);
		ilen = i2d_ASN1_OCTET_STRING(inner, &ider);
		assert_int_equal(ASN1_OCTET_STRING_set(outer, ider, ilen), 1);
		ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, outer);
		assert_non_null(ext);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
		OPENSSL_free(ider);
		ASN1_OBJECT_free(oid);
		ASN1_OCTET_STRING_free(inner);
		ASN1_OCTET_STRING_free(outer);
	}
	assert_true(X509_sign(x, ca, EVP_sha256()) > 0);
	n = i2d_X509(x, &der);
	assert_true(n > 0);
	*len = (size_t)n;
	X509_NAME_free(name);
	X509_NAME_free(issuer);
	X509_free(x);
	return der;
}

static int setup(void **state)
{
	(void)state;
	if (crypto_init() != 0)
		return -1;
	fx.corpus = getenv("CAREID_WEBAUTHN_CORPUS");
	fx.ec = EVP_EC_gen("P-256");
	fx.rsa = EVP_RSA_gen(2048);
	fx.ca = EVP_EC_gen("P-256");
	fx.att = EVP_EC_gen("P-256");
	if (!fx.ec || !fx.rsa || !fx.ca || !fx.att)
		return -1;
	fx.ca_der = make_cert(&fx.ca_len, fx.ca, fx.ca, true, "Attestation CA");
	fx.att_der = make_cert(&fx.att_len, fx.att, fx.ca, false, "Authenticator Attestation");
	fx.att_bad_der = make_cert(&fx.att_bad_len, fx.att, fx.ca, false, "Attestation");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx.ec);
	EVP_PKEY_free(fx.rsa);
	EVP_PKEY_free(fx.ca);
	EVP_PKEY_free(fx.att);
	OPENSSL_free(fx.ca_der);
	OPENSSL_free(fx.att_der);
	OPENSSL_free(fx.att_bad_der);
	return 0;
}

/* --- registration responses --------------------------------------------- */

enum att_kind { ATT_NONE, ATT_SELF, ATT_X5C, ATT_X5C_BAD_CERT, ATT_X5C_NOT_DER };

/* One registration response; reg_default() gives a valid one. */
struct reg {
	EVP_PKEY *key;
	int alg;          /* COSE alg written in the key */
	int kty;          /* 0: the key's own */
	const char *type; /* clientData.type */
	const char *challenge;
	const char *origin;
	const char *rp_id; /* hashed into authData */
	uint8_t flags;
	uint32_t count;
	const uint8_t *aaguid;
	const char *fmt;
	enum att_kind att;
	int stmt_alg; /* 0: the signer's */
	bool none_stmt_not_empty;
	bool tamper_sig;
	bool extensions;       /* an extension map after the key (with F_ED) */
	const uint8_t *raw_id; /* rawId bytes (16), NULL: CRED_ID */
	size_t trailing;       /* garbage bytes after the attestation object */
	size_t auth_data_len;  /* 0: all of it, else truncated to this */
	/* outputs, for the corpus */
	uint8_t *att_obj;
	size_t att_obj_len;
	uint8_t *auth_data;
	size_t auth_data_len_out;
};

static struct reg reg_default(EVP_PKEY *key, int alg)
{
	struct reg r = {
	    .key = key,
	    .alg = alg,
	    .type = "webauthn.create",
	    .challenge = CHALLENGE,
	    .origin = ORIGIN,
	    .rp_id = RP_ID,
	    .flags = F_UP | F_UV | F_AT,
	    .aaguid = AAGUID,
	    .fmt = "none",
	    .att = ATT_NONE,
	};
	return r;
}

static char *client_data(const char *type, const char *challenge, const char *origin)
{
	char *s = NULL;

	assert_true(asprintf(&s,
	                     "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\","
	                     "\"crossOrigin\":false}",
	                     type, challenge, origin) > 0);
	return s;
}

static uint8_t *auth_data(size_t *len, const char *rp_id, uint8_t flags, uint32_t count,
                          const uint8_t *aaguid, const uint8_t *key, size_t key_len,
                          bool extensions)
{
	uint8_t *ext = NULL, *p;
	size_t ext_len = 0, off = 0;

	if (extensions) {
		cbor_item_t *m = cbor_new_definite_map(2);

		put(m, cbor_build_string("credProtect"), cint(2));
		put(m, cbor_build_string("hmac-secret"), cbor_build_bool(true));
		ext = serialise(m, &ext_len);
	}
	*len = 37 + (key ? 18 + sizeof(CRED_ID) + key_len : 0) + ext_len;
	p = malloc(*len);
	assert_non_null(p);
	crypto_sha256(p, rp_id, strlen(rp_id));
	p[32] = flags;
	p[33] = (uint8_t)(count >> 24);
	p[34] = (uint8_t)(count >> 16);
	p[35] = (uint8_t)(count >> 8);
	p[36] = (uint8_t)count;
	off = 37;
	if (key) {
		memcpy(p + off, aaguid, 16);
		p[off + 16] = 0;
		p[off + 17] = sizeof(CRED_ID);
		off += 18;
		memcpy(p + off, CRED_ID, sizeof(CRED_ID));
		off += sizeof(CRED_ID);
		memcpy(p + off, key, key_len);
		off += key_len;
	}
	if (ext)
		memcpy(p + off, ext, ext_len);
	free(ext);
	return p;
}

/* Builds the registration JSON of `r` (free() it); keeps the attestation
 * object and authData in `r` (reg_free()). */
static char *build_reg(struct reg *r)
{
	uint8_t *key, *ad, *tbs, *sig = NULL, cd_hash[32];
	size_t key_len, ad_len, sig_len = 0;
	char *cd = client_data(r->type, r->challenge, r->origin), *text;
	cbor_item_t *ao = cbor_new_definite_map(3), *stmt;
	json_t *j;
	char *cd64, *ao64, *id64, *raw64;

	key = cose_key(&key_len, r->key, r->alg, r->kty);
	ad = auth_data(&ad_len, r->rp_id, r->flags, r->count, r->aaguid, key, key_len,
	               r->extensions);
	if (r->auth_data_len)
		ad_len = r->auth_data_len;
	crypto_sha256(cd_hash, cd, strlen(cd));
	tbs = malloc(ad_len + 32);
	assert_non_null(tbs);
	memcpy(tbs, ad, ad_len);
	memcpy(tbs + ad_len, cd_hash, 32);
	if (r->att == ATT_SELF)
		sig = sign(&sig_len, r->key, tbs, ad_len + 32);
	else if (r->att != ATT_NONE)
		sig = sign(&sig_len, fx.att, tbs, ad_len + 32);
	if (sig && r->tamper_sig)
		sig[sig_len / 2] ^= 0x01;

	if (r->att == ATT_NONE) {
		stmt = cbor_new_definite_map(1);
		if (r->none_stmt_not_empty)
			put(stmt, cbor_build_string("sig"), cbor_build_bytestring(cd_hash, 32));
	} else {
		stmt = cbor_new_definite_map(3);
		put(stmt, cbor_build_string("alg"),
		    cint(r->stmt_alg ? r->stmt_alg : (r->att == ATT_SELF ? r->alg : -7)));
		put(stmt, cbor_build_string("sig"), cbor_build_bytestring(sig, sig_len));
		if (r->att != ATT_SELF) {
			cbor_item_t *x5c = cbor_new_definite_array(2), *leaf;

			if (r->att == ATT_X5C)
				leaf = cbor_build_bytestring(fx.att_der, fx.att_len);
			else if (r->att == ATT_X5C_BAD_CERT)
				leaf = cbor_build_bytestring(fx.att_bad_der, fx.att_bad_len);
			else
				leaf = cbor_build_bytestring((const uint8_t *)"not DER", 7);
			assert_true(cbor_array_push(x5c, cbor_move(leaf)));
			assert_true(cbor_array_push(
			    x5c, cbor_move(cbor_build_bytestring(fx.ca_der, fx.ca_len))));
			put(stmt, cbor_build_string("x5c"), x5c);
		}
	}
	put(ao, cbor_build_string("fmt"), cbor_build_string(r->fmt));
	put(ao, cbor_build_string("attStmt"), stmt);
	put(ao, cbor_build_string("authData"), cbor_build_bytestring(ad, ad_len));
	r->att_obj = serialise(ao, &r->att_obj_len);
	if (r->trailing) {
		r->att_obj = realloc(r->att_obj, r->att_obj_len + r->trailing);
		assert_non_null(r->att_obj);
		memset(r->att_obj + r->att_obj_len, 0xa0, r->trailing);
		r->att_obj_len += r->trailing;
	}
	r->auth_data = ad;
	r->auth_data_len_out = ad_len;

	cd64 = b64(cd, strlen(cd));
	ao64 = b64(r->att_obj, r->att_obj_len);
	id64 = b64(CRED_ID, sizeof(CRED_ID));
	raw64 = b64(r->raw_id ? r->raw_id : CRED_ID, sizeof(CRED_ID));
	j = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:[s,s]},s:s,s:{}}", "id", id64, "rawId", raw64,
	              "type", "public-key", "response", "clientDataJSON", cd64, "attestationObject",
	              ao64, "transports", "usb", "internal", "authenticatorAttachment",
	              "cross-platform", "clientExtensionResults");
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	json_decref(j);
	free(cd64);
	free(ao64);
	free(id64);
	free(raw64);
	free(sig);
	free(tbs);
	free(key);
	free(cd);
	return text;
}

static void reg_free(struct reg *r)
{
	free(r->att_obj);
	free(r->auth_data);
	r->att_obj = NULL;
	r->auth_data = NULL;
}

/* Builds `r`, registers it against `e` and returns the result code; on
 * success `out` holds the credential. */
static int try_reg(struct webauthn_credential *out, struct reg *r, const struct webauthn_expect *e)
{
	char *json = build_reg(r);
	int rc = webauthn_register(out, e, json);

	free(json);
	reg_free(r);
	return rc;
}

/* Expects registration of `r` to fail with `code` and `substring`. */
static void reg_refused(struct reg r, const struct webauthn_expect *e, int code,
                        const char *substring)
{
	struct webauthn_credential c;

	assert_error(try_reg(&c, &r, e), code, substring);
	assert_null(c.credential_id);
	assert_null(c.public_key);
}

/* --- assertion responses ------------------------------------------------- */

struct asr {
	EVP_PKEY *key;
	const char *type;
	const char *challenge;
	const char *origin;
	const char *rp_id;
	uint8_t flags;
	uint32_t count;
	bool tamper_sig;
	const uint8_t *raw_id;
	bool no_user_handle;
};

static struct asr asr_default(EVP_PKEY *key, uint32_t count)
{
	struct asr a = {
	    .key = key,
	    .type = "webauthn.get",
	    .challenge = CHALLENGE,
	    .origin = ORIGIN,
	    .rp_id = RP_ID,
	    .flags = F_UP | F_UV,
	    .count = count,
	};
	return a;
}

static char *build_asr(const struct asr *a)
{
	static const uint8_t user[] = "user-handle-0001";
	char *cd = client_data(a->type, a->challenge, a->origin), *text;
	char *cd64, *ad64, *sig64, *id64, *raw64, *uh64;
	uint8_t *ad, *tbs, *sig;
	size_t ad_len, sig_len;
	json_t *j;

	ad = auth_data(&ad_len, a->rp_id, a->flags, a->count, NULL, NULL, 0, false);
	tbs = malloc(ad_len + 32);
	assert_non_null(tbs);
	memcpy(tbs, ad, ad_len);
	crypto_sha256(tbs + ad_len, cd, strlen(cd));
	sig = sign(&sig_len, a->key, tbs, ad_len + 32);
	if (a->tamper_sig)
		sig[sig_len / 2] ^= 0x01;
	cd64 = b64(cd, strlen(cd));
	ad64 = b64(ad, ad_len);
	sig64 = b64(sig, sig_len);
	id64 = b64(CRED_ID, sizeof(CRED_ID));
	raw64 = b64(a->raw_id ? a->raw_id : CRED_ID, sizeof(CRED_ID));
	uh64 = b64(user, sizeof(user) - 1);
	j = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s?},s:{}}", "id", id64, "rawId", raw64, "type",
	              "public-key", "response", "clientDataJSON", cd64, "authenticatorData", ad64,
	              "signature", sig64, "userHandle", a->no_user_handle ? NULL : uh64,
	              "clientExtensionResults");
	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(text);
	json_decref(j);
	free(cd64);
	free(ad64);
	free(sig64);
	free(id64);
	free(raw64);
	free(uh64);
	free(sig);
	free(tbs);
	free(ad);
	free(cd);
	return text;
}

/* Registers `key` with fmt none; the stored COSE key goes to *public_key. */
static char *register_key(EVP_PKEY *key, int alg)
{
	struct webauthn_credential c;
	struct reg r = reg_default(key, alg);
	char *pk;

	assert_int_equal(try_reg(&c, &r, &EXPECT), 0);
	pk = strdup(c.public_key);
	assert_non_null(pk);
	webauthn_credential_release(&c);
	return pk;
}

/* Parses and verifies assertion `a` against the stored key. */
static int try_asr(uint32_t *count, bool *uv, const struct asr *a, const struct webauthn_expect *e,
                   const char *public_key, int alg, uint32_t stored)
{
	struct webauthn_assertion as;
	char *json = build_asr(a);
	int rc = webauthn_assertion_parse(&as, json);

	free(json);
	if (rc)
		return rc;
	rc = webauthn_assertion_verify(count, uv, &as, e, public_key, alg, stored);
	webauthn_assertion_release(&as);
	return rc;
}

static void asr_refused(const struct asr *a, const struct webauthn_expect *e,
                        const char *public_key, int alg, uint32_t stored, int code,
                        const char *substring)
{
	uint32_t count = 99;
	bool uv = true;

	assert_error(try_asr(&count, &uv, a, e, public_key, alg, stored), code, substring);
	assert_int_equal(count, 0);
	assert_false(uv);
}

/* Registration JSON with a given clientDataJSON text and attestation object bytes. */
static char *reg_json_raw(const char *cd, const uint8_t *ao, size_t ao_len)
{
	char *cd64 = b64(cd, strlen(cd)), *ao64 = b64(ao, ao_len), *id64 = b64(CRED_ID, 16), *text;
	json_t *j =
	    json_pack("{s:s,s:s,s:s,s:{s:s,s:s}}", "id", id64, "rawId", id64, "type", "public-key",
	              "response", "clientDataJSON", cd64, "attestationObject", ao64);

	assert_non_null(j);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	free(cd64);
	free(ao64);
	free(id64);
	return text;
}

/* --- tests: registration ---------------------------------------------------- */

static void test_register_none_es256(void **state)
{
	struct webauthn_credential c;
	struct reg r = reg_default(fx.ec, -7);
	char *json, *id64 = b64(CRED_ID, sizeof(CRED_ID));

	(void)state;
	r.count = 7;
	json = build_reg(&r);
	assert_int_equal(webauthn_register(&c, &EXPECT_UV, json), 0);
	corpus_mode("0-register-none-es256", '0', json, strlen(json));
	corpus_mode("2-attobj-none-es256", '2', r.att_obj, r.att_obj_len);
	free(json);
	reg_free(&r);
	assert_string_equal(c.credential_id, id64);
	assert_int_equal(c.alg, -7);
	assert_string_equal(c.fmt, "none");
	assert_string_equal(c.aaguid, AAGUID_TEXT);
	assert_false(c.attested);
	assert_false(c.self_attested);
	assert_int_equal(c.sign_count, 7);
	assert_true(c.user_verified);
	assert_false(c.backup_eligible);
	assert_false(c.backup_state);
	assert_string_equal(c.transports, "[\"usb\",\"internal\"]");
	assert_non_null(c.public_key);
	webauthn_credential_release(&c);
	assert_null(c.public_key);
	webauthn_credential_release(&c);
	webauthn_credential_release(NULL);
	free(id64);
}

static void test_register_none_rs256(void **state)
{
	struct webauthn_credential c;
	struct reg r = reg_default(fx.rsa, -257);

	(void)state;
	r.flags = F_UP | F_AT; /* no UV: fine when not required */
	assert_int_equal(try_reg(&c, &r, &EXPECT), 0);
	assert_int_equal(c.alg, -257);
	assert_false(c.user_verified);
	webauthn_credential_release(&c);
}

static void test_register_packed_self(void **state)
{
	struct webauthn_credential c;
	struct reg r = reg_default(fx.ec, -7);
	char *json;

	(void)state;
	r.fmt = "packed";
	r.att = ATT_SELF;
	json = build_reg(&r);
	assert_int_equal(webauthn_register(&c, &EXPECT, json), 0);
	free(json);
	reg_free(&r);
	assert_string_equal(c.fmt, "packed");
	assert_true(c.attested);
	assert_true(c.self_attested);
	webauthn_credential_release(&c);

	r = reg_default(fx.rsa, -257);
	r.fmt = "packed";
	r.att = ATT_SELF;
	json = build_reg(&r);
	assert_int_equal(webauthn_register(&c, &EXPECT, json), 0);
	corpus_mode("0-register-packed-self-rs256", '0', json, strlen(json));
	free(json);
	reg_free(&r);
	assert_true(c.self_attested);
	assert_int_equal(c.alg, -257);
	webauthn_credential_release(&c);

	/* the statement's alg must be the credential's */
	r = reg_default(fx.ec, -7);
	r.fmt = "packed";
	r.att = ATT_SELF;
	r.stmt_alg = -257;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "self attestation's alg -257 differs");
	r.stmt_alg = 0;
	r.tamper_sig = true;
	reg_refused(r, &EXPECT, CAREID_EDENIED, "signature does not verify");
}

static void test_register_packed_x5c(void **state)
{
	struct webauthn_credential c;
	struct reg r = reg_default(fx.ec, -7);
	static const uint8_t other_aaguid[16] = {0xee};
	char *json;

	(void)state;
	r.fmt = "packed";
	r.att = ATT_X5C;
	json = build_reg(&r);
	assert_int_equal(webauthn_register(&c, &EXPECT, json), 0);
	corpus_mode("0-register-packed-x5c", '0', json, strlen(json));
	corpus_mode("2-attobj-packed-x5c", '2', r.att_obj, r.att_obj_len);
	free(json);
	reg_free(&r);
	assert_true(c.attested);
	assert_false(c.self_attested);
	assert_string_equal(c.aaguid, AAGUID_TEXT);
	webauthn_credential_release(&c);

	/* an RSA credential attested by an EC attestation key */
	r = reg_default(fx.rsa, -257);
	r.fmt = "packed";
	r.att = ATT_X5C;
	assert_int_equal(try_reg(&c, &r, &EXPECT), 0);
	assert_true(c.attested);
	webauthn_credential_release(&c);

	r = reg_default(fx.ec, -7);
	r.fmt = "packed";
	r.att = ATT_X5C;
	r.tamper_sig = true;
	reg_refused(r, &EXPECT, CAREID_EDENIED, "signature does not verify");
	r.tamper_sig = false;
	r.att = ATT_X5C_BAD_CERT;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "OU is not \"Authenticator Attestation\"");
	r.att = ATT_X5C_NOT_DER;
	reg_refused(r, &EXPECT, CAREID_EINVALID,
	            "the attestation certificate (x5c) is not valid DER X.509");
	r.att = ATT_X5C;
	r.aaguid = other_aaguid;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "AAGUID differs");
	r.aaguid = AAGUID;
	r.stmt_alg = -257; /* the certificate holds an EC key */
	reg_refused(r, &EXPECT, CAREID_EINVALID, "RS256 needs");
}

static void test_register_backup_flags(void **state)
{
	struct webauthn_credential c;
	struct reg r = reg_default(fx.ec, -7);

	(void)state;
	r.flags = F_UP | F_UV | F_AT | F_BE | F_BS;
	assert_int_equal(try_reg(&c, &r, &EXPECT), 0);
	assert_true(c.backup_eligible);
	assert_true(c.backup_state);
	webauthn_credential_release(&c);

	r.flags = F_UP | F_UV | F_AT | F_BE;
	assert_int_equal(try_reg(&c, &r, &EXPECT), 0);
	assert_true(c.backup_eligible);
	assert_false(c.backup_state);
	webauthn_credential_release(&c);

	r.flags = F_UP | F_UV | F_AT | F_BS;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "cannot be backed up");
}

static void test_register_extensions(void **state)
{
	struct webauthn_credential c;
	struct reg r = reg_default(fx.ec, -7);
	struct webauthn_assertion unused;
	char *json;

	(void)state;
	r.flags = F_UP | F_UV | F_AT | F_ED;
	r.extensions = true;
	r.fmt = "packed";
	r.att = ATT_SELF;
	json = build_reg(&r);
	assert_int_equal(webauthn_register(&c, &EXPECT, json), 0);
	corpus_mode("3-authdata-at-ed", '3', r.auth_data, r.auth_data_len_out);
	free(json);
	reg_free(&r);
	assert_true(c.self_attested);
	webauthn_credential_release(&c);
	memset(&unused, 0, sizeof(unused));
	webauthn_assertion_release(&unused);

	/* extensions without the ED flag are bytes after the end */
	r.flags = F_UP | F_UV | F_AT;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "unexpected bytes at its end");
	/* the ED flag without extensions */
	r.flags = F_UP | F_UV | F_AT | F_ED;
	r.extensions = false;
	reg_refused(r, &EXPECT, CAREID_EINVALID,
	            "the authenticator data's extension map is not valid CBOR");
}

static void test_register_clientdata_refused(void **state)
{
	struct reg r = reg_default(fx.ec, -7);
	struct webauthn_credential c;
	char *json, *cross;

	(void)state;
	r.origin = "http://evil.example";
	reg_refused(r, &EXPECT, CAREID_EDENIED,
	            "the response came from origin http://evil.example, not http://localhost:8080");
	r.origin = "http://localhost:8080/";
	reg_refused(r, &EXPECT, CAREID_EDENIED, "came from origin");
	r = reg_default(fx.ec, -7);
	r.challenge = OTHER_CHALLENGE;
	reg_refused(r, &EXPECT, CAREID_EDENIED, "another challenge");
	r = reg_default(fx.ec, -7);
	json = build_reg(&r);
	cross = reg_json_raw("{\"type\":\"webauthn.create\",\"challenge\":\"" CHALLENGE
	                     "\",\"origin\":\"" ORIGIN "\",\"crossOrigin\":true}",
	                     r.att_obj, r.att_obj_len);
	assert_error(webauthn_register(&c, &EXPECT, cross), CAREID_EDENIED, "crossOrigin");
	free(cross);
	free(json);
	reg_free(&r);
	r.type = "webauthn.get";
	reg_refused(r, &EXPECT, CAREID_EDENIED,
	            "of type \"webauthn.get\", not \"webauthn.create\"");
}

static void test_register_authdata_refused(void **state)
{
	struct reg r = reg_default(fx.ec, -7);

	(void)state;
	r.rp_id = "example.com";
	reg_refused(r, &EXPECT, CAREID_EDENIED, "relying party ID");
	r = reg_default(fx.ec, -7);
	r.flags = F_UV | F_AT;
	reg_refused(r, &EXPECT, CAREID_EDENIED, "user was present");
	r.flags = F_UP | F_AT;
	reg_refused(r, &EXPECT_UV, CAREID_EDENIED, "did not verify the user");
	r.flags = F_UP | F_UV;
	r.auth_data_len = 37; /* no attested credential data */
	reg_refused(r, &EXPECT, CAREID_EINVALID, "AT flag clear");
	r = reg_default(fx.ec, -7);
	r.auth_data_len = 30;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "the authenticator data is truncated (30 bytes)");
	r.auth_data_len = 37 + 18 + 8;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "truncated in the credential id");
	r.auth_data_len = 37 + 10;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "truncated in its attested credential data");
	r.auth_data_len = 37 + 18 + 16 + 40; /* inside the COSE key */
	reg_refused(r, &EXPECT, CAREID_EINVALID,
	            "the credential public key is not valid CBOR (it ends early)");
}

static void test_register_key_refused(void **state)
{
	struct reg r = reg_default(fx.ec, -257);

	(void)state;
	/* RS256 claimed for an EC2 key */
	reg_refused(r, &EXPECT, CAREID_EINVALID, "key type 2 does not match its algorithm RS256");
	/* ES256 claimed for an RSA key */
	r = reg_default(fx.rsa, -7);
	reg_refused(r, &EXPECT, CAREID_EINVALID, "key type 3 does not match its algorithm ES256");
	/* the key's kty says RSA but holds EC2 parameters */
	r = reg_default(fx.ec, -7);
	r.kty = 3;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "does not match");
	r = reg_default(fx.ec, -8); /* EdDSA */
	reg_refused(r, &EXPECT, CAREID_EUNSUPPORTED, "COSE algorithm -8");
	r = reg_default(fx.ec, -35); /* ES384 */
	reg_refused(r, &EXPECT, CAREID_EUNSUPPORTED, "only ES256 (-7) and RS256 (-257)");
}

static void test_register_attobj_refused(void **state)
{
	struct reg r = reg_default(fx.ec, -7);
	char *json;

	(void)state;
	r.trailing = 3;
	json = build_reg(&r);
	corpus_mode("2-attobj-trailing", '2', r.att_obj, r.att_obj_len);
	free(json);
	reg_free(&r);
	reg_refused(r, &EXPECT, CAREID_EINVALID,
	            "the attestation object is followed by 3 unexpected bytes");
	r = reg_default(fx.ec, -7);
	r.fmt = "tpm";
	reg_refused(r, &EXPECT, CAREID_EUNSUPPORTED, "attestation format \"tpm\" is not supported");
	r.fmt = "fido-u2f";
	reg_refused(r, &EXPECT, CAREID_EUNSUPPORTED, "\"fido-u2f\" is not supported");
	r.fmt = "";
	reg_refused(r, &EXPECT, CAREID_EUNSUPPORTED, "not one careid supports");
	r.fmt = "none";
	r.none_stmt_not_empty = true;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "empty attStmt");
	r = reg_default(fx.ec, -7);
	r.raw_id = AAGUID;
	reg_refused(r, &EXPECT, CAREID_EINVALID, "id and rawId differ");
}

static void raw_refused(const uint8_t *ao, size_t len, int code, const char *substring,
                        const char *corpus_name)
{
	struct webauthn_credential c;
	char *cd = client_data("webauthn.create", CHALLENGE, ORIGIN);
	char *json = reg_json_raw(cd, ao, len);

	assert_error(webauthn_register(&c, &EXPECT, json), code, substring);
	if (corpus_name)
		corpus_mode(corpus_name, '2', ao, len);
	free(json);
	free(cd);
}

static void test_register_malformed(void **state)
{
	static const char GARBAGE_FIELDS[] =
	    "0{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":\"public-key\",\"response\":"
	    "{\"clientDataJSON\":\"e30\",\"attestationObject\":\"oA\"}}";
	static const uint8_t truncated_map[] = {0xa3, 0x63, 'f', 'm'};
	static const uint8_t indefinite[] = {0xbf, 0x63, 'f', 'm', 't', 0x64,
	                                     'n',  'o',  'n', 'e', 0xff};
	static const uint8_t huge_array[] = {0x9b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t not_map[] = {0x83, 0x01, 0x02, 0x03};
	static const uint8_t no_authdata[] = {0xa2, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n', 'e',
	                                      0x67, 'a',  't', 't', 'S', 't',  'm', 't', 0xa0};
	uint8_t deep[64];
	struct webauthn_credential c;
	char *big;

	(void)state;
	raw_refused(truncated_map, sizeof(truncated_map), CAREID_EINVALID,
	            "the attestation object is not valid CBOR", "2-attobj-truncated");
	raw_refused(indefinite, sizeof(indefinite), CAREID_EINVALID, "indefinite lengths",
	            "2-attobj-indefinite");
	raw_refused(huge_array, sizeof(huge_array), CAREID_EINVALID, "not valid CBOR", NULL);
	raw_refused(not_map, sizeof(not_map), CAREID_EINVALID, "not a CBOR map", NULL);
	raw_refused(no_authdata, sizeof(no_authdata), CAREID_EINVALID, "no authData", NULL);
	memset(deep, 0x81, sizeof(deep)); /* arrays in arrays */
	deep[sizeof(deep) - 1] = 0x00;
	raw_refused(deep, sizeof(deep), CAREID_EINVALID, "nested too deeply", "2-attobj-deep");
	raw_refused(deep, 0, CAREID_EINVALID, "ends early", NULL);

	assert_error(webauthn_register(&c, &EXPECT, "{\"id\":"), CAREID_EINVALID,
	             "not a JSON object");
	corpus_mode("0-truncated-json", '0', "{\"id\":\"wS", 9);
	assert_error(webauthn_register(&c, &EXPECT, "[]"), CAREID_EINVALID, "not a JSON object");
	assert_error(webauthn_register(&c, &EXPECT, NULL), CAREID_EINVALID, "no credential");
	assert_error(webauthn_register(&c, &EXPECT,
	                               "{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":\"public-key\","
	                               "\"response\":{\"clientDataJSON\":\"e30\","
	                               "\"attestationObject\":\"o$A\"}}"),
	             CAREID_EINVALID, "response.attestationObject is not valid base64url");
	assert_error(webauthn_register(&c, &EXPECT,
	                               "{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":\"public-key\","
	                               "\"response\":{\"clientDataJSON\":\"e30\","
	                               "\"attestationObject\":\"oA\"}}"),
	             CAREID_EINVALID, "clientDataJSON lacks");
	corpus_write("0-garbage-fields", GARBAGE_FIELDS, sizeof(GARBAGE_FIELDS) - 1);
	assert_error(webauthn_register(&c, &EXPECT,
	                               "{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":\"password\"}"),
	             CAREID_EINVALID, "type is not \"public-key\"");
	assert_error(webauthn_register(&c, &EXPECT,
	                               "{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":\"public-key\"}"),
	             CAREID_EINVALID, "no response object");
	assert_error(
	    webauthn_register(&c, &EXPECT, "{\"id\":\"wQ\",\"id\":\"wQ\",\"type\":\"public-key\"}"),
	    CAREID_EINVALID, "not a JSON object");

	big = malloc(WEBAUTHN_JSON_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', WEBAUTHN_JSON_MAX + 1);
	big[0] = '{';
	big[WEBAUTHN_JSON_MAX] = '}';
	big[WEBAUTHN_JSON_MAX + 1] = '\0';
	assert_error(webauthn_register(&c, &EXPECT, big), CAREID_ETOOBIG, "over 65536 bytes");
	free(big);
}

/* --- tests: assertions ------------------------------------------------------ */

static void test_assertion_es256(void **state)
{
	char *pk = register_key(fx.ec, -7), *json, *id64 = b64(CRED_ID, 16), *line = NULL;
	struct asr a = asr_default(fx.ec, 8);
	struct webauthn_assertion as;
	uint32_t count = 0;
	bool uv = false;
	int n;

	(void)state;
	json = build_asr(&a);
	assert_int_equal(webauthn_assertion_parse(&as, json), 0);
	assert_string_equal(as.credential_id, id64);
	assert_string_equal(as.challenge, CHALLENGE);
	assert_string_equal(as.user_handle, "dXNlci1oYW5kbGUtMDAwMQ");
	assert_int_equal(webauthn_assertion_verify(&count, &uv, &as, &EXPECT_UV, pk, -7, 7), 0);
	assert_int_equal(count, 8);
	assert_true(uv);
	webauthn_assertion_release(&as);
	assert_null(as.credential_id);
	webauthn_assertion_release(&as);
	webauthn_assertion_release(NULL);
	n = asprintf(&line, "1-7 7 %s\n%s", pk, json);
	assert_true(n > 0);
	corpus_write("1-assert-es256", line, (size_t)n);
	free(line);
	free(json);

	/* both counters zero: an authenticator without a counter */
	a = asr_default(fx.ec, 0);
	assert_int_equal(try_asr(&count, &uv, &a, &EXPECT, pk, -7, 0), 0);
	assert_int_equal(count, 0);
	a.flags = F_UP;
	assert_int_equal(try_asr(&count, &uv, &a, &EXPECT, pk, -7, 0), 0);
	assert_false(uv);

	/* no userHandle (a non-discoverable credential) */
	a = asr_default(fx.ec, 9);
	a.no_user_handle = true;
	json = build_asr(&a);
	assert_int_equal(webauthn_assertion_parse(&as, json), 0);
	assert_null(as.user_handle);
	webauthn_assertion_release(&as);
	free(json);
	free(id64);
	free(pk);
}

static void test_assertion_rs256(void **state)
{
	char *pk = register_key(fx.rsa, -257), *json, *line = NULL;
	struct asr a = asr_default(fx.rsa, 1);
	uint32_t count = 0;
	bool uv = false;
	int n;

	(void)state;
	assert_int_equal(try_asr(&count, &uv, &a, &EXPECT, pk, -257, 0), 0);
	assert_int_equal(count, 1);
	json = build_asr(&a);
	n = asprintf(&line, "1-257 0 %s\n%s", pk, json);
	assert_true(n > 0);
	corpus_write("1-assert-rs256", line, (size_t)n);
	free(line);
	free(json);
	/* the stored key is RSA: saying ES256 is refused */
	asr_refused(&a, &EXPECT, pk, -7, 0, CAREID_EINVALID, "for COSE algorithm -257, not -7");
	a.tamper_sig = true;
	asr_refused(&a, &EXPECT, pk, -257, 0, CAREID_EDENIED, "the signature does not verify");
	free(pk);
}

static void test_assertion_refused(void **state)
{
	char *pk = register_key(fx.ec, -7), *other = register_key(fx.rsa, -257);
	struct asr a = asr_default(fx.ec, 10);

	(void)state;
	a.origin = "https://localhost:8080";
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED,
	            "the response came from origin https://localhost:8080, not "
	            "http://localhost:8080");
	a = asr_default(fx.ec, 10);
	a.rp_id = "localhost.evil";
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED, "relying party ID");
	a = asr_default(fx.ec, 10);
	a.challenge = OTHER_CHALLENGE;
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED, "another challenge");
	a = asr_default(fx.ec, 10);
	a.type = "webauthn.create";
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED,
	            "of type \"webauthn.create\", not \"webauthn.get\"");
	a = asr_default(fx.ec, 10);
	a.flags = F_UV;
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED, "user was present");
	a.flags = F_UP;
	asr_refused(&a, &EXPECT_UV, pk, -7, 5, CAREID_EDENIED, "did not verify the user");
	a = asr_default(fx.ec, 10);
	a.tamper_sig = true;
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED, "the signature does not verify");
	/* another credential's key */
	a = asr_default(fx.ec, 10);
	asr_refused(&a, &EXPECT, other, -257, 5, CAREID_EDENIED, "the signature does not verify");
	/* counters */
	a = asr_default(fx.ec, 3);
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED,
	            "the signature counter went backwards (stored 5, received 3)");
	a = asr_default(fx.ec, 5);
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED, "went backwards");
	a = asr_default(fx.ec, 0);
	asr_refused(&a, &EXPECT, pk, -7, 5, CAREID_EDENIED, "may have been cloned");
	/* the backup eligibility a credential registered with never changes */
	{
		struct webauthn_expect bound = EXPECT;
		uint32_t count = 0;
		bool uv = false;

		bound.backup_eligible = WEBAUTHN_BE_UNSET;
		a = asr_default(fx.ec, 10);
		a.flags = F_UP | F_BE;
		asr_refused(&a, &bound, pk, -7, 5, CAREID_EDENIED,
		            "backup eligibility changed since it was registered");
		bound.backup_eligible = WEBAUTHN_BE_SET;
		a.flags = F_UP;
		asr_refused(&a, &bound, pk, -7, 5, CAREID_EDENIED, "backup eligibility changed");
		a.flags = F_UP | F_BE;
		assert_int_equal(try_asr(&count, &uv, &a, &bound, pk, -7, 5), 0);
		assert_int_equal(count, 10);
	}
	/* a stored key that is not one */
	a = asr_default(fx.ec, 10);
	asr_refused(&a, &EXPECT, "o$", -7, 5, CAREID_EINVALID,
	            "the stored public key is not valid base64url");
	asr_refused(&a, &EXPECT, "oA", -7, 5, CAREID_EINVALID, "the credential public key lacks");
	asr_refused(&a, &EXPECT, "oKA", -7, 5, CAREID_EINVALID,
	            "the stored public key is followed by unexpected bytes");
	free(pk);
	free(other);
}

static void test_assertion_parse_refused(void **state)
{
	struct asr a = asr_default(fx.ec, 1);
	struct webauthn_assertion as;
	char *json;

	(void)state;
	a.raw_id = AAGUID;
	json = build_asr(&a);
	assert_error(webauthn_assertion_parse(&as, json), CAREID_EINVALID, "id and rawId differ");
	assert_null(as.credential_id);
	free(json);
	assert_error(webauthn_assertion_parse(&as,
	                                      "{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":"
	                                      "\"public-key\",\"response\":{\"clientDataJSON\":"
	                                      "\"e30\",\"authenticatorData\":\"AA\"}}"),
	             CAREID_EINVALID, "the credential has no response.signature");
	assert_error(webauthn_assertion_parse(&as,
	                                      "{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":"
	                                      "\"public-key\",\"response\":{\"clientDataJSON\":"
	                                      "\"e30\",\"authenticatorData\":\"AA\","
	                                      "\"signature\":\"AA\"}}"),
	             CAREID_EINVALID, "with a challenge");
	assert_error(webauthn_assertion_parse(&as, "{\"id\":\"\",\"rawId\":\"\",\"type\":"
	                                           "\"public-key\"}"),
	             CAREID_EINVALID, "credential id is empty");
}

static void test_assertion_truncated_authdata(void **state)
{
	static const char cd[] =
	    "{\"type\":\"webauthn.get\",\"challenge\":\"" CHALLENGE "\",\"origin\":\"" ORIGIN "\"}";
	char *pk = register_key(fx.ec, -7), *cd64 = b64(cd, strlen(cd)), *json = NULL;
	struct webauthn_assertion as;
	uint32_t count;
	bool uv;

	(void)state;
	assert_true(asprintf(&json,
	                     "{\"id\":\"wQ\",\"rawId\":\"wQ\",\"type\":\"public-key\",\"response\":"
	                     "{\"clientDataJSON\":\"%s\",\"authenticatorData\":\"SZYN5YgO\","
	                     "\"signature\":\"AA\"}}",
	                     cd64) > 0);
	assert_int_equal(webauthn_assertion_parse(&as, json), 0);
	assert_error(webauthn_assertion_verify(&count, &uv, &as, &EXPECT, pk, -7, 0),
	             CAREID_EINVALID, "the authenticator data is truncated (6 bytes)");
	webauthn_assertion_release(&as);
	free(json);
	free(cd64);
	free(pk);
}

/* --- tests: options --------------------------------------------------------- */

static void test_options(void **state)
{
	json_t *exclude = json_pack("[s,s]", "wQ", "wg"), *o, *bad;
	char *text;

	(void)state;
	o = webauthn_creation_options(RP_ID, "careid", "dXNlcg", "ann@example.nhs.uk",
	                              "Ann Example", CHALLENGE, true, exclude);
	assert_non_null(o);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(
	    text, "{\"attestation\":\"direct\",\"authenticatorSelection\":{\"requireResidentKey\":"
	          "true,\"residentKey\":\"required\",\"userVerification\":\"required\"},"
	          "\"challenge\":\"" CHALLENGE "\",\"excludeCredentials\":[{\"id\":\"wQ\",\"type\":"
	          "\"public-key\"},{\"id\":\"wg\",\"type\":\"public-key\"}],\"pubKeyCredParams\":"
	          "[{\"alg\":-7,\"type\":\"public-key\"},{\"alg\":-257,\"type\":\"public-key\"}],"
	          "\"rp\":{\"id\":\"localhost\",\"name\":\"careid\"},\"timeout\":120000,\"user\":"
	          "{\"displayName\":\"Ann Example\",\"id\":\"dXNlcg\",\"name\":"
	          "\"ann@example.nhs.uk\"}}");
	free(text);
	json_decref(o);

	o = webauthn_creation_options(RP_ID, "careid", "dXNlcg", "a", "A", CHALLENGE, false, NULL);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(o, "authenticatorSelection"), "userVerification")),
	                    "preferred");
	assert_int_equal(json_array_size(json_object_get(o, "excludeCredentials")), 0);
	json_decref(o);

	o = webauthn_request_options(RP_ID, CHALLENGE, false, NULL);
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(text, "{\"allowCredentials\":[],\"challenge\":\"" CHALLENGE
	                          "\",\"rpId\":\"localhost\",\"timeout\":120000,"
	                          "\"userVerification\":\"preferred\"}");
	free(text);
	json_decref(o);
	o = webauthn_request_options(RP_ID, CHALLENGE, true, exclude);
	assert_int_equal(json_array_size(json_object_get(o, "allowCredentials")), 2);
	assert_string_equal(json_string_value(json_object_get(o, "userVerification")), "required");
	json_decref(o);

	bad = json_pack("[s,i]", "wQ", 3);
	assert_null(webauthn_request_options(RP_ID, CHALLENGE, true, bad));
	assert_error(CAREID_EINVALID, CAREID_EINVALID, "not a string");
	assert_null(
	    webauthn_creation_options(RP_ID, NULL, "dXNlcg", "a", "A", CHALLENGE, true, NULL));
	assert_error(CAREID_EINVALID, CAREID_EINVALID, "missing");
	json_decref(bad);
	json_decref(exclude);
}

/* A COSE key encoded here (not the bytes webauthn_register() stored) is
 * accepted as a stored key; also writes raw keys and authenticator data for
 * the other fuzz modes. */
static void test_independent_cose_key(void **state)
{
	struct asr a = asr_default(fx.rsa, 2);
	uint32_t count = 0;
	bool uv = false;
	uint8_t *key;
	char *pk;
	size_t len;

	(void)state;
	key = cose_key(&len, fx.ec, -7, 0);
	corpus_mode("4-cose-es256", '4', key, len);
	free(key);
	key = cose_key(&len, fx.rsa, -257, 0);
	pk = b64(key, len);
	assert_int_equal(try_asr(&count, &uv, &a, &EXPECT, pk, -257, 1), 0);
	assert_int_equal(count, 2);
	free(pk);
	free(key);
	key = auth_data(&len, RP_ID, F_UP | F_UV, 1, NULL, NULL, 0, false);
	corpus_mode("3-authdata-plain", '3', key, len);
	free(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_register_none_es256),
	    cmocka_unit_test(test_register_none_rs256),
	    cmocka_unit_test(test_register_packed_self),
	    cmocka_unit_test(test_register_packed_x5c),
	    cmocka_unit_test(test_register_backup_flags),
	    cmocka_unit_test(test_register_extensions),
	    cmocka_unit_test(test_register_clientdata_refused),
	    cmocka_unit_test(test_register_authdata_refused),
	    cmocka_unit_test(test_register_key_refused),
	    cmocka_unit_test(test_register_attobj_refused),
	    cmocka_unit_test(test_register_malformed),
	    cmocka_unit_test(test_assertion_es256),
	    cmocka_unit_test(test_assertion_rs256),
	    cmocka_unit_test(test_assertion_refused),
	    cmocka_unit_test(test_assertion_parse_refused),
	    cmocka_unit_test(test_assertion_truncated_authdata),
	    cmocka_unit_test(test_options),
	    cmocka_unit_test(test_independent_cose_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
