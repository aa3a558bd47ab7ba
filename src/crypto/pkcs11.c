/* Smartcards on PKCS#11 tokens through p11-kit. See crypto/pkcs11.h. */
#include "crypto/pkcs11.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/p11-kit.h>
#include <p11-kit/pkcs11.h>

#include "core/error.h"
#include "crypto/random.h"

#define SLOTS_MAX    64 /* slots looked at */
#define FIND_MAX     16 /* certificates of one label looked at */
#define PRUNE_MAX    64 /* objects of one label looked at when replacing a card */
#define ID_BYTES     16 /* CKA_ID of a card made here */
#define ID_MAX       64 /* CKA_ID read from a token */
#define RSA_BITS     2048
#define RSA_MIN_BITS 2048
#define TOKEN_SERIAL 16 /* CK_TOKEN_INFO.serialNumber */
#define NO_HANDLE    ((CK_OBJECT_HANDLE)CK_INVALID_HANDLE)

struct pkcs11 {
	CK_FUNCTION_LIST *f;
	bool initialized;
	bool fresh; /* initialised, and no slot looked at since */
	bool stale; /* initialise again before looking (pkcs11_forget) */

	bool have_token; /* the token picked */
	CK_SLOT_ID slot;
	char label[PKCS11_LABEL_MAX + 1];
	char serial[PKCS11_SERIAL_MAX];

	bool have_session;
	bool logged_in;
	CK_SESSION_HANDLE session;

	bool have_card; /* the card picked */
	char card_label[PKCS11_LABEL_MAX + 1];
	uint8_t id[ID_MAX];
	size_t id_len;
	CK_OBJECT_HANDLE key;  /* its private key */
	CK_OBJECT_HANDLE cert; /* its certificate, or NO_HANDLE */
};

static int rv_code(CK_RV rv)
{
	switch (rv) {
	case CKR_HOST_MEMORY:
		return CAREID_ENOMEM;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_LEN_RANGE:
	case CKR_PIN_LOCKED:
	case CKR_USER_NOT_LOGGED_IN:
		return CAREID_EDENIED;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_REMOVED:
	case CKR_SLOT_ID_INVALID:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_SESSION_CLOSED:
	case CKR_KEY_HANDLE_INVALID:
	case CKR_OBJECT_HANDLE_INVALID:
		return CAREID_ENOTFOUND;
	default:
		return CAREID_ECRYPTO;
	}
}

static int ck_fail(CK_RV rv, const char *fn)
{
	return careid_error_set(rv_code(rv), "PKCS#11 %s failed: %s (CKR 0x%lx)", fn,
	                        p11_kit_strerror(rv), (unsigned long)rv);
}

static int check_label(const char *label, const char *what)
{
	size_t n = label ? strnlen(label, PKCS11_LABEL_MAX + 1) : 0;

	if (n == 0 || n > PKCS11_LABEL_MAX)
		return careid_error_set(CAREID_EINVALID, "the %s label must be 1 to %d bytes", what,
		                        PKCS11_LABEL_MAX);
	return 0;
}

/* Whether the blank-padded field `field` (`size` bytes) holds `s`. */
static bool padded_equal(const CK_UTF8CHAR *field, size_t size, const char *s)
{
	size_t n = strlen(s);

	if (n > size || memcmp(field, s, n) != 0)
		return false;
	for (size_t i = n; i < size; i++)
		if (field[i] != ' ')
			return false;
	return true;
}

/* A blank-padded field as a NUL-terminated string without the blanks. */
static void padded_copy(char *out, size_t outsz, const CK_UTF8CHAR *field, size_t size)
{
	size_t n = size < outsz - 1 ? size : outsz - 1;

	while (n > 0 && field[n - 1] == ' ')
		n--;
	memcpy(out, field, n);
	out[n] = '\0';
}

static void forget_card(pkcs11 *p)
{
	p->have_card = false;
	p->id_len = 0;
	p->key = NO_HANDLE;
	p->cert = NO_HANDLE;
}

static void close_session(pkcs11 *p)
{
	forget_card(p);
	if (!p->have_session)
		return;
	if (p->logged_in)
		p->f->C_Logout(p->session);
	p->f->C_CloseSession(p->session);
	p->have_session = false;
	p->logged_in = false;
}

static int initialize(pkcs11 *p)
{
	CK_C_INITIALIZE_ARGS args;
	CK_RV rv;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = p->f->C_Initialize(&args);
	if (rv != CKR_OK)
		return careid_error_set(CAREID_EINVALID,
		                        "the PKCS#11 module does not initialise: %s",
		                        p11_kit_strerror(rv));
	p->initialized = true;
	p->fresh = true;
	return 0;
}

int pkcs11_new(pkcs11 **out, const char *module_path)
{
	pkcs11 *p = NULL;
	int rc;

	*out = NULL;
	if (!module_path || !*module_path ||
	    strnlen(module_path, PKCS11_PATH_MAX + 1) > PKCS11_PATH_MAX)
		return careid_error_set(CAREID_EINVALID,
		                        "the PKCS#11 module's path must be 1 to %d bytes",
		                        PKCS11_PATH_MAX);
	if (access(module_path, R_OK) != 0)
		return careid_error_set(CAREID_ENOTFOUND, "no PKCS#11 module at %.200s: %s",
		                        module_path, strerror(errno));
	p = calloc(1, sizeof(*p));
	if (!p)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	forget_card(p);
	p->f = p11_kit_module_load(module_path, 0);
	if (!p->f) {
		const char *why = p11_kit_message();

		rc = careid_error_set(CAREID_EINVALID, "cannot load the PKCS#11 module %.200s: %s",
		                      module_path, why ? why : "not a PKCS#11 module");
		goto out;
	}
	rc = initialize(p);
	if (rc)
		goto out;
	*out = p;
	p = NULL;
out:
	pkcs11_free(p);
	return rc;
}

void pkcs11_free(pkcs11 *p)
{
	if (!p)
		return;
	if (p->f) {
		close_session(p);
		if (p->initialized)
			p->f->C_Finalize(NULL);
		p11_kit_module_release(p->f);
	}
	free(p);
}

/* The one slot holding an initialised token labelled `label`. */
static int find_slot(pkcs11 *p, const char *label, CK_SLOT_ID *slot, CK_TOKEN_INFO *info)
{
	CK_SLOT_ID slots[SLOTS_MAX];
	CK_ULONG n = SLOTS_MAX;
	CK_TOKEN_INFO ti;
	size_t found = 0;
	CK_RV rv;

	rv = p->f->C_GetSlotList(CK_TRUE, slots, &n);
	if (rv == CKR_BUFFER_TOO_SMALL)
		return careid_error_set(CAREID_ETOOBIG, "the PKCS#11 module has over %d slots",
		                        SLOTS_MAX);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_GetSlotList");
	for (CK_ULONG i = 0; i < n && i < SLOTS_MAX; i++) {
		if (p->f->C_GetTokenInfo(slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED) ||
		    !padded_equal(ti.label, sizeof(ti.label), label))
			continue;
		if (found++)
			return careid_error_set(CAREID_EINVALID, "several tokens are labelled '%s'",
			                        label);
		*slot = slots[i];
		*info = ti;
	}
	if (!found)
		return careid_error_set(CAREID_ENOTFOUND, "no token labelled '%s'", label);
	return 0;
}

int pkcs11_token_find(pkcs11 *p, const char *label, char serial[PKCS11_SERIAL_MAX])
{
	CK_TOKEN_INFO info;
	CK_SLOT_ID slot = 0;
	int rc;

	if (serial)
		serial[0] = '\0';
	rc = check_label(label, "token");
	if (rc)
		return rc;
	close_session(p);
	p->have_token = false;
	if (p->stale && p->initialized) {
		p->f->C_Finalize(NULL);
		p->initialized = false;
	}
	p->stale = false;
	rc = p->initialized ? 0 : initialize(p);
	if (!rc)
		rc = find_slot(p, label, &slot, &info);
	if (rc == CAREID_ENOTFOUND && !p->fresh) {
		/* tokens made since the module was initialised */
		p->f->C_Finalize(NULL);
		p->initialized = false;
		rc = initialize(p);
		if (!rc)
			rc = find_slot(p, label, &slot, &info);
	}
	p->fresh = false;
	if (rc)
		return rc;
	p->slot = slot;
	snprintf(p->label, sizeof(p->label), "%s", label);
	padded_copy(p->serial, sizeof(p->serial), info.serialNumber, TOKEN_SERIAL);
	p->have_token = true;
	if (serial)
		memcpy(serial, p->serial, sizeof(p->serial));
	return 0;
}

int pkcs11_token_login(pkcs11 *p, const char *pin, int flags)
{
	CK_FLAGS sflags = CKF_SERIAL_SESSION | ((flags & PKCS11_RW) ? CKF_RW_SESSION : 0);
	size_t pin_len = pin ? strnlen(pin, PKCS11_PIN_MAX + 1) : 0;
	CK_RV rv;

	if (!p->have_token)
		return careid_error_set(CAREID_EINVALID, "no token picked");
	if (!pin || pin_len > PKCS11_PIN_MAX)
		return careid_error_set(CAREID_EINVALID, "a PIN is at most %d bytes",
		                        PKCS11_PIN_MAX);
	close_session(p);
	rv = p->f->C_OpenSession(p->slot, sflags, NULL, NULL, &p->session);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_OpenSession");
	p->have_session = true;
	rv = p->f->C_Login(p->session, CKU_USER, (CK_UTF8CHAR *)pin, (CK_ULONG)pin_len);
	if (rv == CKR_USER_ALREADY_LOGGED_IN)
		rv = CKR_OK;
	if (rv == CKR_OK) {
		p->logged_in = true;
		return 0;
	}
	close_session(p);
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LEN_RANGE)
		return careid_error_set(CAREID_EDENIED, "wrong PIN for token '%s'", p->label);
	if (rv == CKR_PIN_LOCKED)
		return careid_error_set(CAREID_EDENIED, "the PIN of token '%s' is locked",
		                        p->label);
	return ck_fail(rv, "C_Login");
}

void pkcs11_forget(pkcs11 *p)
{
	if (p)
		p->stale = true;
}

bool pkcs11_token_present(const pkcs11 *p)
{
	CK_SESSION_INFO si;
	CK_SLOT_INFO slot;
	CK_TOKEN_INFO ti;

	if (!p || !p->have_token)
		return false;
	if (p->f->C_GetSlotInfo(p->slot, &slot) != CKR_OK || !(slot.flags & CKF_TOKEN_PRESENT))
		return false;
	if (p->f->C_GetTokenInfo(p->slot, &ti) != CKR_OK)
		return false;
	if (p->have_session && p->f->C_GetSessionInfo(p->session, &si) != CKR_OK)
		return false;
	return padded_equal(ti.label, sizeof(ti.label), p->label) &&
	       padded_equal(ti.serialNumber, sizeof(ti.serialNumber), p->serial);
}

static int need_session(const pkcs11 *p)
{
	if (!p->have_session || !p->logged_in)
		return careid_error_set(CAREID_EINVALID, "not logged in to a token");
	return 0;
}

/* Attribute `type` of `obj` into `buf` (`bufsz` bytes); its length into `*len`. */
static int get_attr(pkcs11 *p, CK_OBJECT_HANDLE obj, CK_ATTRIBUTE_TYPE type, void *buf,
                    size_t bufsz, size_t *len, const char *what)
{
	CK_ATTRIBUTE a = {type, NULL, 0};
	CK_RV rv;

	*len = 0;
	rv = p->f->C_GetAttributeValue(p->session, obj, &a, 1);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_GetAttributeValue");
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return careid_error_set(CAREID_EINVALID, "the token does not give the %s", what);
	if (a.ulValueLen > bufsz)
		return careid_error_set(CAREID_ETOOBIG, "the %s is over %zu bytes", what, bufsz);
	a.pValue = buf;
	rv = p->f->C_GetAttributeValue(p->session, obj, &a, 1);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_GetAttributeValue");
	*len = a.ulValueLen;
	return 0;
}

/* Handles of the objects matching `tmpl` (fewer than `max`, else ETOOBIG). */
static int find_objects(pkcs11 *p, CK_ATTRIBUTE *tmpl, CK_ULONG ntmpl, CK_OBJECT_HANDLE *out,
                        size_t max, size_t *count)
{
	CK_ULONG got = 0;
	CK_RV rv, fin;

	*count = 0;
	rv = p->f->C_FindObjectsInit(p->session, tmpl, ntmpl);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_FindObjectsInit");
	rv = p->f->C_FindObjects(p->session, out, (CK_ULONG)max, &got);
	fin = p->f->C_FindObjectsFinal(p->session);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_FindObjects");
	if (fin != CKR_OK)
		return ck_fail(fin, "C_FindObjectsFinal");
	if (got >= max)
		return careid_error_set(CAREID_ETOOBIG, "over %zu objects on the token", max - 1);
	*count = got;
	return 0;
}

/* Drops leading zero bytes; the significant bits of what remains. */
static size_t strip_bits(uint8_t *v, size_t *len)
{
	size_t skip = 0, bits;

	while (skip < *len && v[skip] == 0)
		skip++;
	memmove(v, v + skip, *len - skip);
	*len -= skip;
	if (*len == 0)
		return 0;
	bits = (*len - 1) * 8;
	for (uint8_t top = v[0]; top; top >>= 1)
		bits++;
	return bits;
}

static int read_public(pkcs11 *p, CK_OBJECT_HANDLE pub_key, struct pkcs11_rsa_public *pub)
{
	size_t bits;
	int rc;

	rc = get_attr(p, pub_key, CKA_MODULUS, pub->n, sizeof(pub->n), &pub->n_len, "RSA modulus");
	if (!rc)
		rc = get_attr(p, pub_key, CKA_PUBLIC_EXPONENT, pub->e, sizeof(pub->e), &pub->e_len,
		              "RSA public exponent");
	if (rc)
		return rc;
	bits = strip_bits(pub->n, &pub->n_len);
	if (bits < RSA_MIN_BITS || strip_bits(pub->e, &pub->e_len) == 0)
		return careid_error_set(CAREID_EINVALID, "the token made an unusable RSA key");
	return 0;
}

/* Destroys the objects with the card's label and CKA_ID; the card is forgotten. */
static int destroy_card(pkcs11 *p)
{
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_LABEL, p->card_label, strlen(p->card_label)},
	    {CKA_ID, p->id, p->id_len},
	};
	CK_OBJECT_HANDLE found[PRUNE_MAX];
	size_t n = 0;
	int rc = 0;
	CK_RV rv;

	if (!p->have_card)
		return 0;
	rc = find_objects(p, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), found, PRUNE_MAX, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		rv = p->f->C_DestroyObject(p->session, found[i]);
		if (rv != CKR_OK)
			rc = ck_fail(rv, "C_DestroyObject");
	}
	forget_card(p);
	return rc;
}

int pkcs11_card_generate(pkcs11 *p, struct pkcs11_rsa_public *pub, const char *label)
{
	CK_MECHANISM mech = {CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_CLASS pub_class = CKO_PUBLIC_KEY, priv_class = CKO_PRIVATE_KEY;
	CK_KEY_TYPE type = CKK_RSA;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = RSA_BITS;
	CK_BYTE e[] = {0x01, 0x00, 0x01};
	CK_OBJECT_HANDLE hpub = NO_HANDLE, hpriv = NO_HANDLE;
	uint8_t id[ID_BYTES];
	size_t lablen = label ? strlen(label) : 0;
	CK_ATTRIBUTE pub_t[] = {
	    {CKA_CLASS, &pub_class, sizeof(pub_class)},
	    {CKA_KEY_TYPE, &type, sizeof(type)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &no, sizeof(no)},
	    {CKA_VERIFY, &yes, sizeof(yes)},
	    {CKA_ENCRYPT, &no, sizeof(no)},
	    {CKA_WRAP, &no, sizeof(no)},
	    {CKA_MODULUS_BITS, &bits, sizeof(bits)},
	    {CKA_PUBLIC_EXPONENT, e, sizeof(e)},
	    {CKA_ID, id, sizeof(id)},
	    {CKA_LABEL, (void *)label, lablen},
	};
	CK_ATTRIBUTE priv_t[] = {
	    {CKA_CLASS, &priv_class, sizeof(priv_class)},
	    {CKA_KEY_TYPE, &type, sizeof(type)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &yes, sizeof(yes)},
	    {CKA_SENSITIVE, &yes, sizeof(yes)},
	    {CKA_EXTRACTABLE, &no, sizeof(no)},
	    {CKA_SIGN, &yes, sizeof(yes)},
	    {CKA_DECRYPT, &no, sizeof(no)},
	    {CKA_UNWRAP, &no, sizeof(no)},
	    {CKA_DERIVE, &no, sizeof(no)},
	    {CKA_ID, id, sizeof(id)},
	    {CKA_LABEL, (void *)label, lablen},
	};
	CK_RV rv;
	int rc;

	memset(pub, 0, sizeof(*pub));
	rc = check_label(label, "card");
	if (!rc)
		rc = need_session(p);
	if (rc)
		return rc;
	forget_card(p);
	crypto_random_bytes(id, sizeof(id));
	rv = p->f->C_GenerateKeyPair(p->session, &mech, pub_t, sizeof(pub_t) / sizeof(pub_t[0]),
	                             priv_t, sizeof(priv_t) / sizeof(priv_t[0]), &hpub, &hpriv);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_GenerateKeyPair");
	rc = read_public(p, hpub, pub);
	if (rc) {
		/* unusable: gone again, and the error stays read_public()'s */
		p->f->C_DestroyObject(p->session, hpriv);
		p->f->C_DestroyObject(p->session, hpub);
		memset(pub, 0, sizeof(*pub));
		return rc;
	}
	p->have_card = true;
	snprintf(p->card_label, sizeof(p->card_label), "%s", label);
	memcpy(p->id, id, sizeof(id));
	p->id_len = sizeof(id);
	p->key = hpriv;
	return 0;
}

/* Destroys every object of the card's label but the card's own. */
static int prune(pkcs11 *p)
{
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_LABEL, p->card_label, strlen(p->card_label)},
	};
	CK_OBJECT_HANDLE found[PRUNE_MAX];
	uint8_t id[ID_MAX];
	size_t n = 0, id_len;
	int rc;
	CK_RV rv;

	rc = find_objects(p, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), found, PRUNE_MAX, &n);
	for (size_t i = 0; !rc && i < n; i++) {
		if (get_attr(p, found[i], CKA_ID, id, sizeof(id), &id_len, "object id") == 0 &&
		    id_len == p->id_len && memcmp(id, p->id, id_len) == 0)
			continue;
		rv = p->f->C_DestroyObject(p->session, found[i]);
		if (rv != CKR_OK)
			rc = ck_fail(rv, "C_DestroyObject");
	}
	return rc;
}

int pkcs11_card_store_cert(pkcs11 *p, const void *der, size_t len, const void *subject,
                           size_t subject_len)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_PRIVATE, &no, sizeof(no)},
	    {CKA_ID, p->id, p->id_len},
	    {CKA_LABEL, p->card_label, strlen(p->card_label)},
	    {CKA_SUBJECT, (void *)subject, subject_len},
	    {CKA_VALUE, (void *)der, len},
	};
	CK_OBJECT_HANDLE h = NO_HANDLE;
	int rc;
	CK_RV rv;

	rc = need_session(p);
	if (rc)
		return rc;
	if (!p->have_card)
		return careid_error_set(CAREID_EINVALID, "no card picked on the token");
	if (!der || len == 0 || len > PKCS11_CERT_MAX || !subject || subject_len == 0 ||
	    subject_len > PKCS11_SUBJECT_MAX)
		return careid_error_set(CAREID_EINVALID,
		                        "a certificate is 1 to %d bytes, its subject 1 to %d",
		                        PKCS11_CERT_MAX, PKCS11_SUBJECT_MAX);
	rv = p->f->C_CreateObject(p->session, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &h);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_CreateObject");
	p->cert = h;
	return prune(p);
}

int pkcs11_card_destroy(pkcs11 *p)
{
	int rc = need_session(p);

	return rc ? rc : destroy_card(p);
}

/* The one RSA private key with CKA_ID `id`; ENOTFOUND when there is not exactly one. */
static int key_for_id(pkcs11 *p, const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *key)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE type = CKK_RSA;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_KEY_TYPE, &type, sizeof(type)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_ID, (void *)id, id_len},
	};
	CK_OBJECT_HANDLE found[3];
	size_t n = 0;
	int rc;

	rc = find_objects(p, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), found, 3, &n);
	if (rc)
		return rc;
	if (n != 1)
		return CAREID_ENOTFOUND;
	*key = found[0];
	return 0;
}

int pkcs11_card_find(pkcs11 *p, const char *label)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ctype = CKC_X_509;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
	    {CKA_CLASS, &cls, sizeof(cls)},
	    {CKA_CERTIFICATE_TYPE, &ctype, sizeof(ctype)},
	    {CKA_TOKEN, &yes, sizeof(yes)},
	    {CKA_LABEL, (void *)label, label ? strlen(label) : 0},
	};
	CK_OBJECT_HANDLE certs[FIND_MAX], key = NO_HANDLE;
	uint8_t id[ID_MAX], n_buf[PKCS11_MODULUS_MAX];
	size_t n = 0, id_len, n_len, matches = 0;
	int rc;

	rc = check_label(label, "card");
	if (!rc)
		rc = need_session(p);
	if (!rc)
		rc = find_objects(p, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), certs, FIND_MAX, &n);
	if (rc)
		return rc;
	forget_card(p);
	for (size_t i = 0; i < n; i++) {
		if (get_attr(p, certs[i], CKA_ID, id, sizeof(id), &id_len, "object id") != 0 ||
		    id_len == 0 || key_for_id(p, id, id_len, &key) != 0)
			continue;
		if (matches++) {
			forget_card(p);
			return careid_error_set(CAREID_EINVALID,
			                        "token '%s' holds several smartcards labelled '%s'",
			                        p->label, label);
		}
		memcpy(p->id, id, id_len);
		p->id_len = id_len;
		p->key = key;
		p->cert = certs[i];
	}
	careid_error_clear();
	if (!matches)
		return careid_error_set(
		    CAREID_ENOTFOUND,
		    "token '%s' holds no smartcard (a certificate labelled '%s' "
		    "and its private key)",
		    p->label, label);
	rc = get_attr(p, p->key, CKA_MODULUS, n_buf, sizeof(n_buf), &n_len, "RSA modulus");
	if (rc) {
		forget_card(p);
		return rc;
	}
	if (strip_bits(n_buf, &n_len) < RSA_MIN_BITS) {
		forget_card(p);
		return careid_error_set(CAREID_EUNSUPPORTED,
		                        "the smartcard's key on token '%s' is under %d bits",
		                        p->label, RSA_MIN_BITS);
	}
	snprintf(p->card_label, sizeof(p->card_label), "%s", label);
	p->have_card = true;
	return 0;
}

int pkcs11_card_cert(pkcs11 *p, uint8_t **der, size_t *len)
{
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	uint8_t *buf = NULL;
	size_t got = 0;
	int rc;
	CK_RV rv;

	*der = NULL;
	*len = 0;
	rc = need_session(p);
	if (rc)
		return rc;
	if (!p->have_card || p->cert == NO_HANDLE)
		return careid_error_set(CAREID_EINVALID, "no card picked on the token");
	rv = p->f->C_GetAttributeValue(p->session, p->cert, &a, 1);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_GetAttributeValue");
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen == 0)
		return careid_error_set(CAREID_EINVALID, "the token does not give the certificate");
	if (a.ulValueLen > PKCS11_CERT_MAX)
		return careid_error_set(CAREID_ETOOBIG, "the certificate is over %d bytes",
		                        PKCS11_CERT_MAX);
	buf = malloc(a.ulValueLen);
	if (!buf)
		return careid_error_set(CAREID_ENOMEM, "out of memory");
	rc = get_attr(p, p->cert, CKA_VALUE, buf, a.ulValueLen, &got, "certificate");
	if (rc)
		goto out;
	*der = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	return rc;
}

int pkcs11_card_sign(pkcs11 *p, uint8_t *sig, size_t sigsz, size_t *sig_len, const void *data,
                     size_t len)
{
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	CK_ULONG out_len = (CK_ULONG)sigsz;
	int rc;
	CK_RV rv;

	*sig_len = 0;
	rc = need_session(p);
	if (rc)
		return rc;
	if (!p->have_card)
		return careid_error_set(CAREID_EINVALID, "no card picked on the token");
	if (sigsz < PKCS11_SIG_MAX)
		return careid_error_set(CAREID_EINVALID, "a signature buffer needs %d bytes",
		                        PKCS11_SIG_MAX);
	if (len > PKCS11_DATA_MAX)
		return careid_error_set(CAREID_ETOOBIG, "data to sign over %d bytes",
		                        PKCS11_DATA_MAX);
	rv = p->f->C_SignInit(p->session, &mech, p->key);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_SignInit");
	/* the modulus is at most PKCS11_MODULUS_MAX bytes: the buffer is large enough, so
	 * C_Sign ends the operation whatever it returns */
	rv = p->f->C_Sign(p->session, (CK_BYTE *)data, (CK_ULONG)len, sig, &out_len);
	if (rv != CKR_OK)
		return ck_fail(rv, "C_Sign");
	*sig_len = out_len;
	return 0;
}
