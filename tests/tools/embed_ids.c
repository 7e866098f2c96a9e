/* Test helper: runs affect_model_embed on token ids given explicitly, bypassing the
 * tokenizer, and prints every hidden value (padding rows included) and the pooled vectors.
 * tests/test_parity.py uses it to compare the encoder with PyTorch on batches the tokenizer
 * would never produce (a pad id inside a real sequence, all-padding tails).
 *
 *   embed_ids MODEL_DIR mean|cls < {"ids": [[...], ...], "mask": [[...], ...]}
 *   -> {"B":B,"T":T,"H":H,"hidden":[B*T*H floats],"pooled":[B*H floats]} */
#include "affect.h"
#include "util/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *msg) {
    fprintf(stderr, "embed_ids: %s\n", msg);
    return 2;
}

/* Reads a (B,T) integer matrix from a JSON array of equal-length arrays. */
static int read_matrix(const json_value *v, int32_t **out, int *B, int *T) {
    if (!v || v->type != JSON_ARRAY || v->len == 0) return -1;
    const json_value *r0 = &v->items[0];
    if (r0->type != JSON_ARRAY || r0->len == 0) return -1;
    *B = (int)v->len;
    *T = (int)r0->len;
    *out = malloc(v->len * r0->len * sizeof **out);
    if (!*out) return -1;
    for (size_t b = 0; b < v->len; b++) {
        const json_value *r = &v->items[b];
        if (r->type != JSON_ARRAY || r->len != r0->len) return -1;
        for (size_t t = 0; t < r->len; t++) {
            if (!json_is_int(&r->items[t], -2147483648.0, 2147483647.0)) return -1;
            (*out)[b * r0->len + t] = (int32_t)r->items[t].number;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) return fail("usage: embed_ids MODEL_DIR mean|cls < ids.json");
    int pool = !strcmp(argv[2], "cls") ? AFFECT_POOL_CLS : AFFECT_POOL_MEAN;
    affect_native_init(1);
    size_t cap = 1 << 16, n = 0;
    char *text = malloc(cap);
    if (!text) return fail("out of memory");
    size_t r;
    while ((r = fread(text + n, 1, cap - n, stdin)) > 0) {
        n += r;
        if (n == cap) {
            char *nt = realloc(text, cap *= 2);
            if (!nt) return fail("out of memory");
            text = nt;
        }
    }
    affect_error err = {0};
    json_doc *doc = NULL;
    if (json_parse(&doc, text, n, &err)) return fail(err.msg);
    affect_batch batch = {0};
    int32_t *mask = NULL;
    int B2, T2;
    if (read_matrix(json_get(json_root(doc), "ids"), &batch.ids, &batch.B, &batch.T) ||
        read_matrix(json_get(json_root(doc), "mask"), &mask, &B2, &T2) || B2 != batch.B ||
        T2 != batch.T)
        return fail("input must hold equal-shaped \"ids\" and \"mask\" matrices");
    batch.mask = mask;
    affect_model *m = NULL;
    if (affect_model_load_dir(&m, argv[1], &err)) return fail(err.msg);
    int H = affect_model_hidden_size(m);
    size_t nh = (size_t)batch.B * batch.T * H;
    float *hidden = malloc(nh * sizeof *hidden);
    float *pooled = malloc((size_t)batch.B * H * sizeof *pooled);
    if (!hidden || !pooled) return fail("out of memory");
    if (affect_model_embed(m, &batch, pool, hidden, pooled, &err)) return fail(err.msg);
    printf("{\"B\":%d,\"T\":%d,\"H\":%d,\"hidden\":[", batch.B, batch.T, H);
    for (size_t i = 0; i < nh; i++) printf(i ? ",%.9g" : "%.9g", (double)hidden[i]);
    printf("],\"pooled\":[");
    for (size_t i = 0; i < (size_t)batch.B * H; i++) printf(i ? ",%.9g" : "%.9g", (double)pooled[i]);
    printf("]}\n");
    free(hidden);
    free(pooled);
    free(batch.ids);
    free(mask);
    affect_model_free(m);
    json_free(doc);
    free(text);
    return 0;
}
