#include "authn/assurance.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define AAL3_METHODS AUTHN_AAL3_METHODS
#define AAL2_METHODS AUTHN_AAL2_METHODS

static const struct acr_class {
	const char *name;
	unsigned methods;
} classes[] = {
    {"AAL3_ANY", AAL3_METHODS},
    {"AAL2_OR_AAL3_ANY", AAL2_METHODS | AAL3_METHODS},
    {"AAL2_ANY", AAL2_METHODS},
    {"AAL1_USERPASS", AUTHN_PWD},
    {"AAL3_IOS", AUTHN_IOS},
    {"AAL3_FIDO2", AUTHN_FIDO2},
    {"AAL3_N3_SMARTCARD", AUTHN_SMARTCARD},
    {"AAL3_CIS2_SMARTCARD", AUTHN_SMARTCARD},
    {"AAL3_SMARTCARD", AUTHN_SMARTCARD},
    {"AAL2_TOTP", AUTHN_TOTP},
    {"AAL2_NHSMAIL", AUTHN_NHSMAIL},
};

/* The strongest single method of a set. */
static enum authn_method strongest(unsigned m)
{
	static const enum authn_method order[] = {AUTHN_SMARTCARD, AUTHN_FIDO2,   AUTHN_IOS,
	                                          AUTHN_TOTP,      AUTHN_NHSMAIL, AUTHN_PASSKEY};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (m & order[i])
			return order[i];
	return AUTHN_PWD;
}

/* The class stated for a set of methods when the request named none it satisfies. */
static const char *method_class(unsigned m)
{
	switch (strongest(m)) {
	case AUTHN_PWD:
		return "AAL1_USERPASS";
	case AUTHN_TOTP:
		return "AAL2_TOTP";
	case AUTHN_NHSMAIL:
		return "AAL2_NHSMAIL";
	case AUTHN_PASSKEY:
		return "AAL2_ANY";
	case AUTHN_FIDO2:
		return "AAL3_FIDO2";
	case AUTHN_IOS:
		return "AAL3_IOS";
	case AUTHN_SMARTCARD:
		return "AAL3_CIS2_SMARTCARD";
	}
	return "AAL1_USERPASS";
}

int authn_method_aal(unsigned m)
{
	if (m & AAL3_METHODS)
		return 3;
	if (m & AAL2_METHODS)
		return 2;
	return 1;
}

const char *authn_method_amr(enum authn_method m)
{
	switch (m) {
	case AUTHN_PWD:
		return "pwd";
	case AUTHN_TOTP:
		return "TOTP";
	case AUTHN_NHSMAIL:
		return "NHSMAIL";
	case AUTHN_PASSKEY:
		return "PASSKEY";
	case AUTHN_FIDO2:
		return "FIDO2";
	case AUTHN_IOS:
		return "IOS";
	case AUTHN_SMARTCARD:
		return "N3_SMARTCARD";
	}
	return "pwd";
}

static const struct acr_class *find_class(const char *name, size_t len)
{
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (strlen(classes[i].name) == len && strncmp(classes[i].name, name, len) == 0)
			return &classes[i];
	return NULL;
}

bool acr_known(const char *name)
{
	return name && find_class(name, strlen(name)) != NULL;
}

unsigned acr_methods(const char *name)
{
	const struct acr_class *c = name ? find_class(name, strlen(name)) : NULL;

	return c ? c->methods : 0;
}

/* Calls fn for each known class in a space-separated list; returns how many. */
static size_t each_known(const char *list, void (*fn)(const struct acr_class *, void *), void *arg)
{
	size_t n = 0;

	while (list && *list) {
		const char *end;
		const struct acr_class *c;

		while (*list == ' ')
			list++;
		end = strchr(list, ' ');
		if (!end)
			end = list + strlen(list);
		c = find_class(list, (size_t)(end - list));
		if (c) {
			n++;
			fn(c, arg);
		}
		list = end;
	}
	return n;
}

static void add_methods(const struct acr_class *c, void *arg)
{
	*(unsigned *)arg |= c->methods;
}

/* The methods the request asks for; all methods when nothing restricts them. */
static unsigned requested(const char *acr_values, const char *client_default,
                          const char *env_default)
{
	unsigned m = 0;

	if (each_known(acr_values, add_methods, &m))
		return m;
	if (client_default && acr_known(client_default))
		return acr_methods(client_default);
	if (env_default && acr_known(env_default))
		return acr_methods(env_default);
	return ~0u;
}

unsigned acr_accepted(const char *acr_values, const char *client_default, const char *env_default,
                      unsigned offered)
{
	return requested(acr_values, client_default, env_default) & offered;
}

struct first_match {
	unsigned m;
	const char *name;
};

static void match_method(const struct acr_class *c, void *arg)
{
	struct first_match *fm = arg;

	if (!fm->name && (c->methods & fm->m))
		fm->name = c->name;
}

void acr_achieved(char out[ACR_MAX], unsigned m, const char *acr_values, const char *client_default,
                  const char *env_default)
{
	struct first_match fm = {m, NULL};

	each_known(acr_values, match_method, &fm);
	if (!fm.name && !each_known(acr_values, add_methods, &(unsigned){0})) {
		if (acr_known(client_default) && (acr_methods(client_default) & m))
			fm.name = client_default;
		else if (!acr_known(client_default) && env_default &&
		         (acr_methods(env_default) & m))
			fm.name = env_default;
	}
	snprintf(out, ACR_MAX, "%s", fm.name ? fm.name : method_class(m));
}

int acr_level(const char *acr, unsigned m)
{
	unsigned satisfying = acr_known(acr) ? acr_methods(acr) & m : m;

	return authn_method_aal(satisfying ? satisfying : m);
}

char *authn_amr_json(unsigned m)
{
	json_t *a = json_array();
	char *out;

	for (unsigned bit = AUTHN_PWD; a && bit <= AUTHN_SMARTCARD; bit <<= 1)
		if (m & bit)
			json_array_append_new(
			    a, json_string(authn_method_amr((enum authn_method)bit)));
	out = a ? json_dumps(a, JSON_COMPACT) : NULL;
	json_decref(a);
	return out;
}
