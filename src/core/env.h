/*
 * The CIS2 environments careid serves. Each has its own issuer, signing keys,
 * clients and directory.
 */
#ifndef CAREID_CORE_ENV_H
#define CAREID_CORE_ENV_H

#include <stdbool.h>

#define ENV_COUNT 4

/* "mock", "int", "dep", "live", in that order. */
extern const char *const env_names[ENV_COUNT];

/* True when `name` is one of env_names. */
bool env_valid(const char *name);

/* Index of `name` in env_names, or -1. */
int env_index(const char *name);

#endif
