/* tensor_dump: prints what affect reads from a weights file, for tests/test_tensor_files.py
 * to compare against PyTorch.
 *
 *   tensor_dump [--values|--stats|--list] FILE
 *   tensor_dump --to-safetensors FILE OUT     (every tensor as contiguous F32, via the writer)
 *
 * One line per tensor, tab-separated: name, dtype, shape (e.g. 3x4, "" for a scalar), numel,
 * then --values: every element as f32 "%.9g" (round-trips exactly), comma-separated;
 * --stats: the double sum and the max of the f32 values; --list: nothing more.
 * A last line "# parse_ms <ms>" times the parse alone. On error: one line on stderr and the
 * CLI's exit code (2 for a bad or refused file). */
#define _POSIX_C_SOURCE 200809L
#include "model/tensors.h"
#include "util/blob.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Converts every tensor to f32 and writes them with affect_safetensors_write, so the test can
 * read the writer's output with an independent (Python) reader. */
static int write_f32_copy(const affect_tensor_set *ts, const char *out, affect_error *err) {
    affect_tensor_f32 *f = calloc(ts->n ? ts->n : 1, sizeof *f);
    int rc = f ? 0 : AFFECT_ENOMEM;
    for (size_t i = 0; i < ts->n && !rc; i++) {
        const affect_tensor *t = &ts->t[i];
        float *d = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *d);
        if (!d) { rc = AFFECT_ENOMEM; break; }
        f[i].name = t->name;
        f[i].ndim = t->ndim;
        memcpy(f[i].shape, t->shape, sizeof t->shape);
        f[i].data = d;
        rc = affect_tensor_to_f32(t, d, err);
    }
    const char *meta[] = {"format", "pt", "written_by", "tensor_dump"};
    uint8_t *img = NULL;
    size_t len = 0;
    if (!rc) rc = affect_safetensors_write(f, ts->n, meta, 2, &img, &len, err);
    if (!rc) {
        FILE *fp = fopen(out, "wb");
        if (!fp || fwrite(img, 1, len, fp) != len) rc = AFFECT_EIO;
        if (fp && fclose(fp)) rc = AFFECT_EIO;
        if (rc) snprintf(err->msg, sizeof err->msg, "cannot write %s", out);
    }
    free(img);
    for (size_t i = 0; f && i < ts->n; i++) free((void *)f[i].data);
    free(f);
    return rc;
}

int main(int argc, char **argv) {
    const char *mode = "--values", *path = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] == '-') mode = argv[i];
        else if (!path) path = argv[i];
        else out = argv[i];
    }
    int to_st = !strcmp(mode, "--to-safetensors");
    if (!path || (to_st && !out) ||
        (!to_st && strcmp(mode, "--values") && strcmp(mode, "--stats") && strcmp(mode, "--list"))) {
        fprintf(stderr, "usage: tensor_dump [--values|--stats|--list] FILE | --to-safetensors FILE OUT\n");
        return 2;
    }
    affect_error err = {0};
    affect_blob blob;
    int rc = affect_blob_open(&blob, path, &err);
    if (rc) {
        fprintf(stderr, "tensor_dump: %s\n", err.msg);
        return affect_exit_code(rc);
    }
    affect_tensor_set ts;
    double t0 = now_ms();
    rc = affect_tensors_parse_any(&ts, blob.data, blob.len, &err);
    double t1 = now_ms();
    if (rc) {
        fprintf(stderr, "tensor_dump: %s: %s\n", path, err.msg);
        affect_blob_close(&blob);
        return affect_exit_code(rc);
    }
    if (to_st) {
        rc = write_f32_copy(&ts, out, &err);
        if (rc) fprintf(stderr, "tensor_dump: %s\n", err.msg);
        affect_tensor_set_free(&ts);
        affect_blob_close(&blob);
        return affect_exit_code(rc);
    }
    for (size_t i = 0; i < ts.n && !rc; i++) {
        const affect_tensor *t = &ts.t[i];
        printf("%s\t%s\t", t->name, affect_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++) printf(d ? "x%lld" : "%lld", (long long)t->shape[d]);
        printf("\t%lld", (long long)t->numel);
        if (!strcmp(mode, "--list")) { printf("\n"); continue; }
        float *v = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *v);
        if (!v) { fprintf(stderr, "tensor_dump: out of memory\n"); rc = 1; break; }
        rc = affect_tensor_to_f32(t, v, &err);
        if (rc) { fprintf(stderr, "tensor_dump: %s\n", err.msg); free(v); break; }
        if (!strcmp(mode, "--values")) {
            printf("\t");
            for (int64_t j = 0; j < t->numel; j++) printf(j ? ",%.9g" : "%.9g", (double)v[j]);
        } else {
            double sum = 0, mx = t->numel ? v[0] : 0;
            for (int64_t j = 0; j < t->numel; j++) { sum += v[j]; if (v[j] > mx) mx = v[j]; }
            printf("\t%.17g\t%.9g", sum, mx);
        }
        printf("\n");
        free(v);
    }
    printf("# parse_ms %.3f\n", t1 - t0);
    affect_tensor_set_free(&ts);
    affect_blob_close(&blob);
    return rc ? affect_exit_code(rc) : 0;
}
