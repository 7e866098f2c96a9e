/* The unit tests' one assertion: CHECK(cond, printf-args) records a failure with file:line
 * and carries on, so one run reports every broken case; main returns CHECK_RESULT(). */
#ifndef AFFECT_TEST_CHECK_H
#define AFFECT_TEST_CHECK_H
#include <stdio.h>

static int failures = 0;

#define CHECK(cond, ...)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                   \
            fprintf(stderr, "\n");                                          \
            failures++;                                                     \
        }                                                                   \
    } while (0)

#endif
