/*
 * The environments careid serves, each with its own issuer, signing keys,
 * clients and directory: CIS2's four (mock, int, dep, live), and "portal",
 * where the onboarding service's own users (supplier developers and CIS2
 * reviewers) sign in, so the portal is a relying party like any other.
 */
#ifndef CAREID_CORE_ENV_H
#define CAREID_CORE_ENV_H

#include <stdbool.h>

#define ENV_COUNT 5

/* "mock", "int", "dep", "live", "portal", in that order. */
extern const char *const env_names[ENV_COUNT];

/* True when `name` is one of env_names. */
bool env_valid(const char *name);

/* Index of `name` in env_names, or -1. */
int env_index(const char *name);

/* Index of the onboarding portal's environment. */
#define ENV_PORTAL 4

#endif
