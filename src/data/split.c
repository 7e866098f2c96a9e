/* Iterative multi-label stratification (Sechidis et al. 2011); see split.h. */
#include "data/split.h"
#include "train/rng.h"
#include "util/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A deterministic stream of random words (Philox in counter mode, on its own stream number
 * so a split never shares numbers with dropout or shuffling in training). */
typedef struct split_rng {
    uint64_t seed, i;
} split_rng;

static uint32_t rng_next(split_rng *r) { return affect_rng_u32(r->seed, 0x5917, r->i++); }

/* Uniform in [0, n) without modulo bias. */
static size_t rng_below(split_rng *r, size_t n) {
    if (n <= 1) return 0;
    if (n > UINT32_MAX) return (size_t)((((uint64_t)rng_next(r) << 32) | rng_next(r)) % n);
    uint64_t lim = (UINT64_C(1) << 32) - ((UINT64_C(1) << 32) % n);
    for (;;) {
        uint64_t v = rng_next(r);
        if (v < lim) return (size_t)(v % n);
    }
}

static void shuffle(size_t *v, size_t n, split_rng *r) {
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(r, i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int check_fractions(const double *fr, int k, affect_error *err) {
    if (k < 1 || k > 1000) return affect_fail(err, AFFECT_EARG, "split into %d parts: need 1..1000", k);
    double s = 0;
    for (int j = 0; j < k; j++) {
        if (!(fr[j] >= 0) || !isfinite(fr[j])) return affect_fail(err, AFFECT_EARG, "split fraction %d is not >= 0", j);
        s += fr[j];
    }
    if (fabs(s - 1.0) > 1e-6) return affect_fail(err, AFFECT_EARG, "split fractions sum to %g, not 1", s);
    return 0;
}

static int positive(const float *labels, const uint8_t *mask, size_t i, int L, int l) {
    return (!mask || mask[i]) && labels[i * (size_t)L + (size_t)l] > 0.5f;
}

/* The part to receive the next row: the largest wish among `cand` parts by `primary`, ties by
 * `secondary`, remaining ties at random (the paper's tie-breaking). */
static int pick_part(const double *primary, const double *secondary, int k, split_rng *r) {
    int best[1000], nb = 0;
    for (int j = 0; j < k; j++) {
        if (nb == 0) { best[nb++] = j; continue; }
        double a = primary[j], b = primary[best[0]];
        if (a > b + 1e-12) { nb = 0; best[nb++] = j; }
        else if (fabs(a - b) <= 1e-12) best[nb++] = j;
    }
    if (secondary && nb > 1) {
        int n2 = 0;
        double top = -INFINITY;
        for (int t = 0; t < nb; t++) top = secondary[best[t]] > top ? secondary[best[t]] : top;
        for (int t = 0; t < nb; t++)
            if (fabs(secondary[best[t]] - top) <= 1e-12) best[n2++] = best[t];
        nb = n2;
    }
    return best[rng_below(r, (size_t)nb)];
}

int affect_split_stratified(const float *labels, const uint8_t *row_mask, size_t n, int L, const double *fractions,
                            int k, uint64_t seed, int32_t *part, affect_error *err) {
    int rc = check_fractions(fractions, k, err);
    if (rc) return rc;
    if (L < 0 || (L > 0 && !labels)) return affect_fail(err, AFFECT_EARG, "split: bad label matrix");
    if (n == 0) return 0;
    if ((size_t)L > (size_t)-1 / sizeof(double) / (size_t)k || n > (size_t)-1 / sizeof(size_t))
        return affect_fail(err, AFFECT_ENOMEM, "split: sizes overflow");
    split_rng r = {seed, 0};
    size_t *order = malloc(n * sizeof *order);
    double *want = malloc((size_t)k * sizeof *want);                      /* (k) rows still wanted */
    double *want_l = malloc(((size_t)k * (size_t)L + 1) * sizeof *want_l); /* (k,L) positives still wanted */
    size_t *remaining = calloc((size_t)L + 1, sizeof *remaining);         /* (L) unassigned positives */
    double *col = malloc((size_t)k * sizeof *col);
    if (!order || !want || !want_l || !remaining || !col) {
        rc = affect_fail(err, AFFECT_ENOMEM, "split: out of memory for %zu rows", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        part[i] = -1;
    }
    shuffle(order, n, &r); /* different seeds visit rows in different orders */
    for (int l = 0; l < L; l++)
        for (size_t i = 0; i < n; i++) remaining[l] += (size_t)positive(labels, row_mask, i, L, l);
    for (int j = 0; j < k; j++) {
        want[j] = fractions[j] * (double)n;
        for (int l = 0; l < L; l++) want_l[(size_t)j * (size_t)L + (size_t)l] = fractions[j] * (double)remaining[l];
    }
    for (;;) {
        /* the label with the fewest (but some) unassigned positives; ties at random */
        int lab = -1, nt = 0;
        for (int l = 0; l < L; l++) {
            if (!remaining[l]) continue;
            if (lab < 0 || remaining[l] < remaining[lab]) { lab = l; nt = 1; }
            else if (remaining[l] == remaining[lab] && rng_below(&r, (size_t)++nt) == 0) lab = l;
        }
        if (lab < 0) break;
        for (size_t t = 0; t < n; t++) {
            size_t i = order[t];
            if (part[i] >= 0 || !positive(labels, row_mask, i, L, lab)) continue;
            for (int j = 0; j < k; j++) col[j] = want_l[(size_t)j * (size_t)L + (size_t)lab];
            int p = pick_part(col, want, k, &r);
            part[i] = p;
            for (int l = 0; l < L; l++)
                if (positive(labels, row_mask, i, L, l)) {
                    want_l[(size_t)p * (size_t)L + (size_t)l] -= 1;
                    remaining[l]--;
                }
            want[p] -= 1;
        }
    }
    /* rows without any positive label: to the part that wants rows most */
    for (size_t t = 0; t < n; t++) {
        size_t i = order[t];
        if (part[i] >= 0) continue;
        int p = pick_part(want, NULL, k, &r);
        part[i] = p;
        want[p] -= 1;
    }
done:
    free(order);
    free(want);
    free(want_l);
    free(remaining);
    free(col);
    return rc;
}

int affect_split_kfold(const float *labels, const uint8_t *row_mask, size_t n, int L, int k, uint64_t seed,
                       int32_t *fold, affect_error *err) {
    if (k < 2 || k > 1000) return affect_fail(err, AFFECT_EARG, "K-fold needs 2..1000 folds, not %d", k);
    double fr[1000];
    for (int j = 0; j < k; j++) fr[j] = 1.0 / k;
    double s = 0;
    for (int j = 0; j < k; j++) s += fr[j];
    fr[k - 1] += 1.0 - s; /* exact sum despite rounding */
    return affect_split_stratified(labels, row_mask, n, L, fr, k, seed, fold, err);
}

int affect_split_random(size_t n, const double *fractions, int k, uint64_t seed, int32_t *part, affect_error *err) {
    int rc = check_fractions(fractions, k, err);
    if (rc) return rc;
    if (n == 0) return 0;
    size_t *order = malloc(n * sizeof *order);
    if (!order) return affect_fail(err, AFFECT_ENOMEM, "split: out of memory");
    split_rng r = {seed, 0};
    for (size_t i = 0; i < n; i++) order[i] = i;
    shuffle(order, n, &r);
    double acc = 0;
    size_t start = 0;
    for (int j = 0; j < k; j++) {
        acc += fractions[j];
        size_t end = j == k - 1 ? n : (size_t)llround(acc * (double)n);
        if (end > n) end = n;
        for (size_t t = start; t < end; t++) part[order[t]] = j;
        if (end > start) start = end;
    }
    free(order);
    return 0;
}

void affect_split_label_counts(const float *labels, const uint8_t *row_mask, size_t n, int L, const int32_t *part,
                               int k, size_t *counts, size_t *rows) {
    memset(counts, 0, (size_t)k * (size_t)L * sizeof *counts);
    if (rows) memset(rows, 0, (size_t)k * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        int p = part[i];
        if (p < 0 || p >= k) continue;
        if (rows) rows[p]++;
        for (int l = 0; l < L; l++) counts[(size_t)p * (size_t)L + (size_t)l] += (size_t)positive(labels, row_mask, i, L, l);
    }
}

size_t affect_split_rows(const int32_t *part, size_t n, int p, size_t *idx) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (part[i] == p) idx[m++] = i;
    return m;
}
