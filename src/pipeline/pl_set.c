/* Tokenized corpora for the pipeline: a dataset plus every row's token ids, encoded once so
 * each epoch's batches are plain copies. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/pl_internal.h"
#include "train/rng.h"
#include "util/error.h"

void pl_set_free(pl_set *s) {
    if (!s) return;
    if (s->ids)
        for (size_t i = 0; i < s->ds.n; i++) free(s->ids[i]);
    free(s->ids);
    free(s->len);
    affect_dataset_free(&s->ds);
    memset(s, 0, sizeof *s);
}

int pl_set_tokenize(pl_set *s, const affect_tokenizer *tok, int max_length, affect_error *err) {
    size_t n = s->ds.n;
    s->ids = calloc(n ? n : 1, sizeof *s->ids);
    s->len = calloc(n ? n : 1, sizeof *s->len);
    if (!s->ids || !s->len) return affect_fail(err, AFFECT_ENOMEM, "out of memory tokenizing %zu rows", n);
    for (size_t i = 0; i < n; i++) {
        size_t k = 0;
        int rc = affect_tokenizer_encode(tok, s->ds.text[i], s->ds.text_len[i], max_length, &s->ids[i], &k, err);
        if (rc) return rc;
        if (k == 0 || k > (size_t)max_length)
            return affect_fail(err, AFFECT_EFORMAT, "row '%s' encodes to %zu tokens (max_length %d)", s->ds.id[i], k,
                               max_length);
        s->len[i] = (int)k;
    }
    return 0;
}

/* Copies the token ids of src's rows into out (whose dataset already holds those rows). */
static int copy_ids(pl_set *out, const pl_set *src, const size_t *rows, size_t k, size_t at, affect_error *err) {
    for (size_t i = 0; i < k; i++) {
        size_t r = rows ? rows[i] : i;
        size_t bytes = (size_t)src->len[r] * sizeof(int32_t);
        out->ids[at + i] = malloc(bytes ? bytes : 1);
        if (!out->ids[at + i]) return affect_fail(err, AFFECT_ENOMEM, "out of memory copying token ids");
        memcpy(out->ids[at + i], src->ids[r], bytes);
        out->len[at + i] = src->len[r];
    }
    return 0;
}

static int alloc_ids(pl_set *out, size_t n, affect_error *err) {
    out->ids = calloc(n ? n : 1, sizeof *out->ids);
    out->len = calloc(n ? n : 1, sizeof *out->len);
    if (!out->ids || !out->len) return affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu rows", n);
    return 0;
}

int pl_set_subset(const pl_set *src, const size_t *rows, size_t k, pl_set *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    int rc = affect_dataset_subset(&src->ds, rows, k, &out->ds, err);
    if (!rc && src->ids) {
        rc = alloc_ids(out, k, err);
        if (!rc) rc = copy_ids(out, src, rows, k, 0, err);
    }
    if (rc) pl_set_free(out);
    return rc;
}

int pl_set_concat(const pl_set *a, const pl_set *b, pl_set *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    int rc = affect_dataset_concat(&a->ds, &b->ds, &out->ds, err);
    if (!rc && a->ids && b->ids) {
        rc = alloc_ids(out, a->ds.n + b->ds.n, err);
        if (!rc) rc = copy_ids(out, a, NULL, a->ds.n, 0, err);
        if (!rc) rc = copy_ids(out, b, NULL, b->ds.n, a->ds.n, err);
    }
    if (rc) pl_set_free(out);
    return rc;
}

int pl_set_tokens_of(const pl_set *const *srcs, int k, pl_set *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    size_t n = 0;
    for (int i = 0; i < k; i++) n += srcs[i]->ids ? srcs[i]->ds.n : 0;
    affect_dataset *d = &out->ds;
    d->id = calloc(n ? n : 1, sizeof *d->id);
    d->text = calloc(n ? n : 1, sizeof *d->text);
    d->text_len = calloc(n ? n : 1, sizeof *d->text_len);
    int rc = !d->id || !d->text || !d->text_len ? affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu rows", n) : 0;
    if (!rc) rc = alloc_ids(out, n, err);
    if (!rc) d->n = n; /* from here pl_set_free releases the ids copied so far */
    size_t at = 0;
    for (int i = 0; i < k && !rc; i++) {
        if (!srcs[i]->ids) continue;
        rc = copy_ids(out, srcs[i], NULL, srcs[i]->ds.n, at, err);
        at += srcs[i]->ds.n;
    }
    if (rc) pl_set_free(out);
    return rc;
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_size(const void *x, const void *y) {
    size_t a = *(const size_t *)x, b = *(const size_t *)y;
    return a < b ? -1 : a > b;
}

/* data.max_rows: CI runs need a few hundred rows of each corpus, and a random sample (not the
 * first rows: EmoInt train files are sorted by intensity) so every label still shows up. */
int pl_set_limit(pl_set *s, size_t max_rows, uint64_t seed, affect_error *err) {
    size_t n = s->ds.n;
    if (max_rows == 0 || n <= max_rows) return 0;
    if (n > UINT32_MAX) return affect_fail(err, AFFECT_EARG, "%zu rows is too many to sample", n);
    uint64_t *key = malloc(n * sizeof *key);
    size_t *rows = malloc(max_rows * sizeof *rows);
    if (!key || !rows) {
        free(key);
        free(rows);
        return affect_fail(err, AFFECT_ENOMEM, "out of memory sampling %zu rows", n);
    }
    for (size_t i = 0; i < n; i++) key[i] = ((uint64_t)affect_rng_u32(seed, 0x4c494d4954ull, i) << 32) | i;
    qsort(key, n, sizeof *key, cmp_u64);
    for (size_t i = 0; i < max_rows; i++) rows[i] = (size_t)(key[i] & 0xffffffffu);
    qsort(rows, max_rows, sizeof *rows, cmp_size);
    pl_set out;
    int rc = pl_set_subset(s, rows, max_rows, &out, err);
    free(key);
    free(rows);
    if (rc) return rc;
    pl_set_free(s);
    *s = out;
    return 0;
}
