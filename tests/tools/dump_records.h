/* What the test drivers that feed Python oracles share: dying with a message (exit 2), a
 * checked malloc, and the record file the scripts read (tests/oracles/emotion_ref.py
 * read_records): u32 name length, name bytes, u64 count, count float64, little endian.
 * Define DUMP_TOOL (the program's name) before including. */
#ifndef AFFECT_TESTS_DUMP_RECORDS_H
#define AFFECT_TESTS_DUMP_RECORDS_H
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *msg) {
    fprintf(stderr, DUMP_TOOL ": %s\n", msg);
    exit(2);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static void put_record(FILE *f, const char *name, const double *x, size_t n) {
    uint32_t len = (uint32_t)strlen(name);
    uint64_t cnt = n;
    fwrite(&len, 4, 1, f);
    fwrite(name, 1, len, f);
    fwrite(&cnt, 8, 1, f);
    fwrite(x, 8, n, f);
}

static void put_floats(FILE *f, const char *name, const float *x, size_t n) {
    double *d = xmalloc(n * sizeof *d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    put_record(f, name, d, n);
    free(d);
}

#endif
