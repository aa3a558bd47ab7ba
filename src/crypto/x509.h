/*
 * X.509 for smartcards (OpenSSL): each environment's test certificate
 * authority, card certificates and their PKCS#12 files, certificate
 * revocation lists, and the checks a sign-in with a card needs.
 *
 * x509.c and x509_verify.c are the only files of careid that use OpenSSL's X.509, PKCS#12 and CRL
 * code; no OpenSSL type appears here. Keys and certificates cross this API as
 * PEM text (for the store), DER or base64 text (from the identity agent),
 * PKCS#12 bytes (the card file) and an RSA modulus and exponent (a card's key
 * on a PKCS#11 token, which never leaves it: x509_card_certify()).
 *
 * Shapes:
 *   - a CA: P-256 key, self-signed, "O=careid test CA, OU=<env>, CN=careid
 *     <env> smartcard CA", basicConstraints CA:TRUE (critical), keyUsage
 *     keyCertSign + cRLSign (critical), valid 10 years from its creation;
 *   - a card: RSA-2048 key (like real cards), subject "O=careid test CA,
 *     OU=<env>, CN=<display name>, serialNumber=<UID>", a random positive
 *     16-byte serial, keyUsage digitalSignature, extendedKeyUsage clientAuth,
 *     signed by the CA with ECDSA-SHA256;
 *   - a CRL: v2, signed by the CA, with a CRL number, next update 30 days on.
 *
 * Serials are written as lowercase hex without leading zero bytes (32 digits
 * for the serials issued here). Times are Unix seconds.
 *
 * Every input has a cap (the X509_*_MAX sizes below): longer input is refused
 * with CAREID_ETOOBIG before it is parsed. Malformed input is CAREID_EINVALID.
 * All functions are safe to call from several threads; a x509_card or
 * x509_cert is read-only after it is made and may be shared.
 */
#ifndef CAREID_CRYPTO_X509_H
#define CAREID_CRYPTO_X509_H

#include <stddef.h>
#include <stdint.h>

#define X509_TEXT_MAX       16384     /* a certificate as base64/base64url/PEM text */
#define X509_DER_MAX        8192      /* a certificate's DER */
#define X509_PEM_MAX        16384     /* a CA certificate or key as PEM */
#define X509_CRL_PEM_MAX    (1 << 20) /* a CRL as PEM */
#define X509_CRL_MAX_SERIAL 10000     /* serials on one CRL */
#define X509_P12_MAX        65536     /* a PKCS#12 file */
#define X509_PASS_MAX       1024      /* a PKCS#12 passphrase, in bytes */
#define X509_SIG_MAX        1024      /* a signature (RSA up to 8192 bits) */
#define X509_DATA_MAX       65536     /* bytes signed or verified */
#define X509_SERIAL_HEX     41        /* a serial's hex (20 bytes at most) and a NUL */
#define X509_UID_MAX        65        /* the subject's serialNumber and a NUL */
#define X509_SUBJECT_MAX    512       /* the subject as RFC 2253 text and a NUL */
#define X509_CN_MAX         64        /* characters of the CN (longer names are cut) */
#define X509_RSA_N_MAX      1024      /* bytes of an RSA modulus to certify (8192 bits) */
#define X509_NAME_DER_MAX   1024      /* a subject name's DER */

/* What careid reads from a certificate. Every string is NUL-terminated. */
struct x509_info {
	char serial[X509_SERIAL_HEX]; /* lowercase hex */
	char uid[X509_UID_MAX];       /* the subject's serialNumber; "" when absent */
	char subject[X509_SUBJECT_MAX]; /* RFC 2253 ("serialNumber=…,CN=…,OU=mock,O=…"), UTF-8 */
	char fingerprint[65];           /* SHA-256 of the DER, lowercase hex */
	int64_t not_before;
	int64_t not_after;
};

/*
 * Creates a certificate authority for environment `env` valid from `now`
 * (less an hour, for clock skew) for 10 years. `*cert_pem` and `*key_pem`
 * (PKCS#8, unencrypted: the caller seals it) are the caller's to free(); the
 * caller should wipe the key text before freeing it.
 */
int x509_ca_create(char **cert_pem, char **key_pem, const char *env, int64_t now);

/* A card to issue. Strings are UTF-8; `display_name` is cut to X509_CN_MAX
 * characters. `passphrase` protects the PKCS#12 file; "" for none. */
struct x509_card_new {
	const char *env;          /* the OU, 1..32 bytes */
	const char *display_name; /* the CN, 1..256 bytes */
	const char *uid;          /* the subject's serialNumber, 1..64 bytes */
	int64_t not_before;
	int64_t not_after; /* after not_before */
	const char *passphrase;
};

/*
 * Issues a card: a new RSA-2048 key and its certificate signed by the CA
 * (`ca_cert_pem`, `ca_key_pem`), packed as PKCS#12 with the CA certificate
 * (AES-256-CBC, PBKDF2, SHA-256 MAC). `*p12` (`*p12_len` bytes) holds the
 * card's private key: the caller wipes and frees it. `info` (may be NULL)
 * receives the certificate's details. EINVALID for an unusable CA or request.
 */
int x509_card_issue(uint8_t **p12, size_t *p12_len, struct x509_info *info, const char *ca_cert_pem,
                    const char *ca_key_pem, const struct x509_card_new *req);

/* An RSA public key: big-endian modulus and public exponent (leading zero
 * bytes allowed), e.g. of a key made on a PKCS#11 token (crypto/pkcs11.h). */
struct x509_rsa_public {
	const uint8_t *n;
	size_t n_len; /* at most X509_RSA_N_MAX */
	const uint8_t *e;
	size_t e_len; /* at most 8 after leading zeros */
};

/*
 * Certifies a card whose key lives elsewhere (on a token): the certificate
 * x509_card_issue() would make, for the RSA public key `pub` (2048 to 8192
 * bits, an odd exponent of at least 3; else EINVALID). `req->passphrase` is
 * not used. `*der` (`*der_len` bytes, at most X509_DER_MAX) is the
 * certificate's DER, the caller's to free(); `info` (may be NULL) receives its
 * details.
 */
int x509_card_certify(uint8_t **der, size_t *der_len, struct x509_info *info,
                      const char *ca_cert_pem, const char *ca_key_pem,
                      const struct x509_card_new *req, const struct x509_rsa_public *pub);

/* A card read from its PKCS#12 file: private key and certificate. */
typedef struct x509_card x509_card;

/*
 * Reads a PKCS#12 file (`len` bytes, at most X509_P12_MAX) with `passphrase`
 * ("" for none). EDENIED when the passphrase is wrong, EINVALID when the data
 * is not PKCS#12 or holds no matching key and certificate, EUNSUPPORTED for a
 * key that is neither RSA (2048 bits or more) nor EC P-256. `*out` is the
 * caller's: x509_card_free().
 */
int x509_card_load(x509_card **out, const void *p12, size_t len, const char *passphrase);

/* Frees a card (wiping its key from memory). Accepts NULL. */
void x509_card_free(x509_card *c);

/* The card certificate's details. Never NULL; lives as long as the card. */
const struct x509_info *x509_card_info(const x509_card *c);

/* The algorithm the card signs with: "RS256" (RSA key) or "ES256" (P-256). */
const char *x509_card_alg(const x509_card *c);

/* The card certificate's DER, base64url without padding: free() it. */
int x509_card_cert_b64url(const x509_card *c, char **out);

/*
 * Signs `len` bytes (at most X509_DATA_MAX) with the card's key, with
 * x509_card_alg(): RS256 is RSASSA-PKCS1-v1_5 with SHA-256, ES256 the JOSE
 * form (r || s, 64 bytes). Writes the signature into `sig` (`sigsz` bytes,
 * X509_SIG_MAX is always enough) and its length into `*sig_len`.
 */
int x509_card_sign(const x509_card *c, uint8_t *sig, size_t sigsz, size_t *sig_len,
                   const void *data, size_t len);

/*
 * A certificate revocation list by the CA, listing `n` serials (lowercase or
 * upper-case hex, at most X509_CRL_MAX_SERIAL), each revoked at
 * `revoked_at[i]`, numbered `crl_number`, issued at `now` with the next update
 * 30 days later. `*crl_pem` is the caller's to free().
 */
int x509_crl_create(char **crl_pem, const char *ca_cert_pem, const char *ca_key_pem,
                    int64_t crl_number, const char *const *serials, const int64_t *revoked_at,
                    size_t n, int64_t now);

/* A parsed certificate (public data only). */
typedef struct x509_cert x509_cert;

/* From DER (`len` bytes, at most X509_DER_MAX, nothing after the certificate). */
int x509_cert_from_der(x509_cert **out, const void *der, size_t len);

/*
 * From text (`len` bytes, at most X509_TEXT_MAX): base64 or base64url of the
 * DER (padding optional; no whitespace), or one PEM "CERTIFICATE" block.
 */
int x509_cert_from_text(x509_cert **out, const char *text, size_t len);

/* Frees a certificate. Accepts NULL. */
void x509_cert_free(x509_cert *c);

/* The certificate's details. Never NULL; lives as long as the certificate. */
const struct x509_info *x509_cert_info(const x509_cert *c);

/*
 * The certificate's subject name as DER (what a PKCS#11 token stores as
 * CKA_SUBJECT) into `out` (`outsz` bytes; X509_NAME_DER_MAX is always
 * enough); its length into `*len`. ETOOBIG when it does not fit.
 */
int x509_cert_subject_der(const x509_cert *c, uint8_t *out, size_t outsz, size_t *len);

/*
 * Checks that `c` chains to the CA `ca_cert_pem`, is valid at `now`, is not
 * on the CA's CRL `crl_pem` (may be NULL: no revocation check) and may be
 * used for client authentication (extendedKeyUsage clientAuth, keyUsage
 * digitalSignature). The CRL's own dates are not checked: it is the CA's
 * current list, read from the store at each check.
 *
 *   CAREID_EEXPIRED "the smartcard's certificate has expired" (or "is not yet
 *                   valid"; or the CA's own certificate is out of its dates)
 *   CAREID_EDENIED  "the smartcard's certificate has been revoked"
 *   CAREID_EDENIED  "the smartcard was not issued by this environment's
 *                   certificate authority" (any other chain failure)
 *   CAREID_EINVALID for an unreadable CA certificate or CRL.
 */
int x509_cert_verify(const x509_cert *c, const char *ca_cert_pem, const char *crl_pem, int64_t now);

/*
 * Checks `sig` (`sig_len` bytes) over `len` bytes of `data` with the
 * certificate's public key: "RS256" needs an RSA key of 2048 bits or more,
 * "ES256" a P-256 key and a JOSE (r || s) signature. EDENIED "the challenge
 * was not signed by the card's key" on any mismatch, EUNSUPPORTED for another
 * alg.
 */
int x509_cert_verify_signature(const x509_cert *c, const char *alg, const void *sig, size_t sig_len,
                               const void *data, size_t len);

#endif
