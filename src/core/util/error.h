/* Error reporting for the core: fill an affect_error and return its code, so a failing
 * function can `return affect_fail(err, AFFECT_EFORMAT, "...", ...)` in one line. */
#ifndef AFFECT_CORE_ERROR_H
#define AFFECT_CORE_ERROR_H
#include "affect.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int affect_fail(affect_error *err, int code, const char *fmt, ...);

#endif
