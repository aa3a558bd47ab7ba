/*
 * Functions careid never calls: unbounded copies, formatting without a size,
 * and parsers that cannot report errors. Included by every translation unit
 * (CMake passes -include core/banned.h) after the system headers it poisons.
 */
#ifndef CAREID_CORE_BANNED_H
#define CAREID_CORE_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#pragma GCC poison strcpy strcat sprintf vsprintf gets strtok atoi atol atoll stpcpy
#pragma GCC poison strncpy strncat

#endif
