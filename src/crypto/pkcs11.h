/*
 * Smartcards on PKCS#11 tokens (SoftHSM, a real card's middleware), loaded
 * through p11-kit. crypto/pkcs11.c is the only file of careid that uses
 * PKCS#11 or p11-kit; no PKCS#11 type appears here.
 *
 * A card on a token is three objects with one CKA_LABEL and one CKA_ID (16
 * random bytes): an RSA-2048 private key (private, sensitive, not
 * extractable, for signing only), its public key, and its X.509 certificate
 * (CKO_CERTIFICATE, CKC_X_509). careid makes the key on the token and never
 * sees the private half: x509_card_certify() certifies the public key read
 * here, and the signatures are the token's (CKM_SHA256_RSA_PKCS, i.e. RS256).
 *
 * Use: pkcs11_new() loads and initialises the module; pkcs11_token_find()
 * picks the token by label, pkcs11_token_login() opens a session on it and
 * logs in as the user; then pkcs11_card_generate() + pkcs11_card_store_cert()
 * write a card, or pkcs11_card_find() picks the card already there for
 * pkcs11_card_cert() and pkcs11_card_sign(). pkcs11_token_present() tells when
 * the token has gone (card removal).
 *
 * Errors: CAREID_ENOTFOUND for a missing module, token or card; EDENIED for a
 * wrong or locked PIN; EINVALID for bad arguments or a token careid cannot
 * use; ETOOBIG when a cap below is reached; ECRYPTO when the module fails
 * (the message names the PKCS#11 function, p11-kit's wording of the CKR_
 * value, and the value).
 *
 * A pkcs11 object is used by one thread at a time, except that
 * pkcs11_token_present() may run while another thread signs.
 */
#ifndef CAREID_CRYPTO_PKCS11_H
#define CAREID_CRYPTO_PKCS11_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PKCS11_PATH_MAX     4096  /* bytes of a module's path */
#define PKCS11_LABEL_MAX    32    /* bytes of a token's or an object's label */
#define PKCS11_PIN_MAX      255   /* bytes of a PIN */
#define PKCS11_SERIAL_MAX   17    /* a token's serial number (16 characters) and a NUL */
#define PKCS11_MODULUS_MAX  1024  /* bytes of an RSA modulus (8192 bits) */
#define PKCS11_EXPONENT_MAX 8     /* bytes of an RSA public exponent */
#define PKCS11_CERT_MAX     8192  /* bytes of a certificate's DER */
#define PKCS11_SUBJECT_MAX  1024  /* bytes of a certificate subject's DER */
#define PKCS11_SIG_MAX      1024  /* bytes of a signature */
#define PKCS11_DATA_MAX     65536 /* bytes signed at once */

/* pkcs11_token_login() flags */
#define PKCS11_RW 1 /* a read-write session, to write a card */

typedef struct pkcs11 pkcs11;

/*
 * Loads the PKCS#11 module at `module_path` (p11_kit_module_load(), managed)
 * and initialises it (C_Initialize with CKF_OS_LOCKING_OK). ENOTFOUND when
 * there is no file at that path, EINVALID when it is not a PKCS#11 module or
 * does not initialise. `*out` is the caller's: pkcs11_free().
 */
int pkcs11_new(pkcs11 **out, const char *module_path);

/* Logs out, closes the session, finalises and releases the module. Accepts NULL. */
void pkcs11_free(pkcs11 *p);

/*
 * Picks the token labelled `label` (1 to PKCS11_LABEL_MAX bytes, compared
 * with the token's blank-padded label) among the slots with an initialised
 * token, and closes any session open on the token picked before. When no
 * token has that label, the module is initialised again once and the slots
 * looked at again: some modules (SoftHSM) only see tokens made since they
 * were initialised after that. `serial` (may be NULL) receives the token's
 * serial number, which tells one token from another of the same label.
 * ENOTFOUND when no token has the label, EINVALID when several have.
 */
int pkcs11_token_find(pkcs11 *p, const char *label, char serial[PKCS11_SERIAL_MAX]);

/*
 * Makes the next pkcs11_token_find() initialise the module again before it
 * looks: a module may keep what it read of a token while the token was being
 * made (SoftHSM: initialised, its user PIN not set yet), and never look again.
 */
void pkcs11_forget(pkcs11 *p);

/*
 * Opens a session on the token picked (read-only, or read-write with
 * PKCS11_RW) and logs the user in with `pin` (at most PKCS11_PIN_MAX bytes).
 * EDENIED "wrong PIN for token <label>" or "...is locked"; EINVALID when no
 * token was picked.
 */
int pkcs11_token_login(pkcs11 *p, const char *pin, int flags);

/*
 * Whether the token picked is still in its slot: the slot says a token is
 * present and the token there has the same label and serial number. False
 * once it was removed or deleted (`softhsm2-util --delete-token`), or when no
 * token was picked. Does not change `p`.
 */
bool pkcs11_token_present(const pkcs11 *p);

/* An RSA public key read from the token, big-endian without leading zeros. */
struct pkcs11_rsa_public {
	uint8_t n[PKCS11_MODULUS_MAX];
	size_t n_len;
	uint8_t e[PKCS11_EXPONENT_MAX];
	size_t e_len;
};

/*
 * Makes a card's RSA-2048 key pair on the token (a session with PKCS11_RW),
 * labelled `label` with a new random CKA_ID, and picks it as the card of `p`;
 * `pub` receives its public key to certify. Other cards of that label are
 * left alone until pkcs11_card_store_cert().
 */
int pkcs11_card_generate(pkcs11 *p, struct pkcs11_rsa_public *pub, const char *label);

/*
 * Stores the card's certificate (`der`, `len` bytes, at most
 * PKCS11_CERT_MAX; `subject` its subject's DER, `subject_len` bytes, at most
 * PKCS11_SUBJECT_MAX) on the token with the card's label and CKA_ID, then
 * destroys the objects of every other card of that label, which this one
 * replaces. The caller checked that the certificate is the key's.
 */
int pkcs11_card_store_cert(pkcs11 *p, const void *der, size_t len, const void *subject,
                           size_t subject_len);

/*
 * Destroys the objects of the card picked (its key pair and any certificate),
 * e.g. when a card could not be finished. The card is no longer picked.
 */
int pkcs11_card_destroy(pkcs11 *p);

/*
 * Picks the card labelled `label` on the token: its X.509 certificate and the
 * RSA private key with the same CKA_ID (a modulus of 2048 to 8192 bits).
 * ENOTFOUND when the token holds no such pair, EINVALID when it holds several.
 */
int pkcs11_card_find(pkcs11 *p, const char *label);

/* The certificate of the card picked, as DER: `*der` (`*len` bytes) is the caller's to free(). */
int pkcs11_card_cert(pkcs11 *p, uint8_t **der, size_t *len);

/*
 * Signs `len` bytes (at most PKCS11_DATA_MAX) with the card's private key on
 * the token, RSASSA-PKCS1-v1_5 with SHA-256 (CKM_SHA256_RSA_PKCS): RS256.
 * `sigsz` must be at least PKCS11_SIG_MAX; the signature's length goes to
 * `*sig_len`. ENOTFOUND when the token has gone.
 */
int pkcs11_card_sign(pkcs11 *p, uint8_t *sig, size_t sigsz, size_t *sig_len, const void *data,
                     size_t len);

#endif
