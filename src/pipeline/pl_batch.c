/* Micro-batches: rows padded to the longest in the batch (dynamic padding, no sorting), with
 * their emotion and intensity targets and masks, and the seeded epoch order. */
#include <stdlib.h>
#include <string.h>

#include "pipeline/pl_internal.h"
#include "train/rng.h"
#include "util/error.h"

void pl_batch_free(pl_batch *b) {
    if (!b) return;
    free(b->ids);
    free(b->mask);
    free(b->labels);
    free(b->intensity);
    free(b->label_row);
    free(b->intensity_row);
    memset(b, 0, sizeof *b);
}

/* Grows *p to hold n elements of `size` bytes (never shrinks). */
static int grow(void **p, size_t *cap, size_t n, size_t size) {
    if (n <= *cap) return 0;
    void *q = realloc(*p, n * size);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

int pl_batch_build(pl_batch *b, const pl_set *s, const size_t *rows, int B, int32_t pad_id,
                   double label_smoothing, affect_error *err) {
    int T = 1;
    for (int i = 0; i < B; i++)
        if (s->len[rows[i]] > T) T = s->len[rows[i]];
    size_t bt = (size_t)B * (size_t)T, L = (size_t)(s->ds.num_labels > 0 ? s->ds.num_labels : 0);
    size_t bl = (size_t)B * (L ? L : 1);
    size_t c1 = b->cap_bt, c2 = b->cap_bt, c3 = b->cap_bl, c4 = b->cap_b, c5 = b->cap_b, c6 = b->cap_b;
    if (grow((void **)&b->ids, &c1, bt, sizeof(int32_t)) || grow((void **)&b->mask, &c2, bt, sizeof(int32_t)) ||
        grow((void **)&b->labels, &c3, bl, sizeof(float)) || grow((void **)&b->intensity, &c4, (size_t)B, sizeof(float)) ||
        grow((void **)&b->label_row, &c5, (size_t)B, 1) || grow((void **)&b->intensity_row, &c6, (size_t)B, 1))
        return affect_fail(err, AFFECT_ENOMEM, "out of memory for a (%d, %d) batch", B, T);
    b->cap_bt = c1 < c2 ? c1 : c2;
    b->cap_bl = c3;
    b->cap_b = c4 < c5 ? (c4 < c6 ? c4 : c6) : (c5 < c6 ? c5 : c6);
    const affect_dataset *d = &s->ds;
    int any_label = 0, any_int = 0;
    for (int i = 0; i < B; i++) {
        size_t r = rows[i];
        int32_t *ids = b->ids + (size_t)i * T, *mask = b->mask + (size_t)i * T;
        int n = s->len[r];
        memcpy(ids, s->ids[r], (size_t)n * sizeof(int32_t));
        for (int t = 0; t < n; t++) mask[t] = 1;
        for (int t = n; t < T; t++) {
            ids[t] = pad_id;
            mask[t] = 0;
        }
        int has_l = L && d->labels && d->label_mask && d->label_mask[r];
        b->label_row[i] = (uint8_t)has_l;
        any_label |= has_l;
        for (size_t l = 0; l < L; l++) {
            float y = has_l ? d->labels[r * L + l] : 0.0f;
            b->labels[(size_t)i * L + l] = (float)(y * (1.0 - label_smoothing) + 0.5 * label_smoothing);
        }
        int has_i = d->intensity && d->intensity_mask && d->intensity_mask[r];
        b->intensity_row[i] = (uint8_t)has_i;
        b->intensity[i] = has_i ? d->intensity[r] : 0.0f;
        any_int |= has_i;
    }
    affect_train_batch *tb = &b->tb;
    memset(tb, 0, sizeof *tb);
    tb->B = B;
    tb->T = T;
    tb->ids = b->ids;
    tb->mask = b->mask;
    tb->labels = any_label ? b->labels : NULL;
    tb->label_row = b->label_row;
    tb->intensity = any_int ? b->intensity : NULL;
    tb->intensity_row = b->intensity_row;
    return 0;
}

void pl_epoch_order(size_t *perm, size_t n, uint64_t seed, uint64_t stream) {
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        /* 64 random bits per draw: the modulo bias is below 2^-32 for any realistic n */
        uint64_t hi = affect_rng_u32(seed, stream, 2 * (uint64_t)i), lo = affect_rng_u32(seed, stream, 2 * (uint64_t)i + 1);
        size_t j = (size_t)(((hi << 32) | lo) % (uint64_t)i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
