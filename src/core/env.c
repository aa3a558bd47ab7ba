#include "core/env.h"

#include <string.h>

const char *const env_names[ENV_COUNT] = {"mock", "int", "dep", "live", "portal"};

int env_index(const char *name)
{
	for (int i = 0; name && i < ENV_COUNT; i++)
		if (strcmp(name, env_names[i]) == 0)
			return i;
	return -1;
}

bool env_valid(const char *name)
{
	return env_index(name) >= 0;
}
