#include "error.h"
#include <stdarg.h>
#include <stdio.h>

/* Errors are values: the library records the message and lets the caller decide whether and
 * how to show it (the CLI prints one line; the browser shows it in the page). */
int affect_fail(affect_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Bad input and bad usage are the user's to fix (exit 2); everything else is ours or the
 * machine's (exit 1). */
int affect_exit_code(int code) {
    switch (code) {
    case AFFECT_OK: return 0;
    case AFFECT_EFORMAT:
    case AFFECT_EUNSUPPORTED:
    case AFFECT_EARG:
    case AFFECT_ENOTFOUND: return 2;
    default: return 1;
    }
}
