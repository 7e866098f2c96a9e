/* Sorting items by score once, so every metric that walks thresholds (AUC, AP, the F1
 * threshold search) and every bootstrap resample reuses the same order in O(n). */
#include "eval/metrics.h"
#include "core/util/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bottom-up merge sort: stable (equal keys keep their input order, as numpy's mergesort
 * does) and O(n log n) on every input, including the tie-heavy ones metrics see. */
void eval_sort_desc(size_t *idx, size_t *tmp, size_t n, const double *keys, size_t stride) {
    size_t *src = idx, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = mid + width < n ? mid + width : n;
            size_t a = lo, b = mid, o = lo;
            while (a < mid && b < hi) {
                /* take from the left run unless the right key is strictly greater */
                if (keys[src[b] * stride] > keys[src[a] * stride]) dst[o++] = src[b++];
                else dst[o++] = src[a++];
            }
            while (a < mid) dst[o++] = src[a++];
            while (b < hi) dst[o++] = src[b++];
        }
        size_t *t = src; src = dst; dst = t;
        if (width > SIZE_MAX / 2) break;
    }
    if (src != idx) memcpy(idx, src, n * sizeof *idx);
}

void eval_ranking_free(eval_ranking *r) {
    if (!r) return;
    free(r->row);
    free(r->pos);
    free(r->last);
    free(r->score);
    memset(r, 0, sizeof *r);
}

/* Validates every item first (labels exactly 0/1, finite scores), so the passes that follow
 * need no checks, and keeps counts below 2^32 so AUC's integer area cannot overflow. */
int eval_ranking_build(eval_ranking *r, const double *scores, const double *y, size_t n,
                       size_t stride, size_t row_div, affect_error *err) {
    memset(r, 0, sizeof *r);
    if (row_div == 0 || stride == 0) return affect_fail(err, AFFECT_EARG, "eval: zero stride or row divisor");
    if (n >= ((size_t)1 << 31)) return affect_fail(err, AFFECT_EARG, "eval: %zu items is too many (limit 2^31)", n);
    for (size_t k = 0; k < n; k++) {
        double v = y[k * stride], s = scores[k * stride];
        if (v != 0.0 && v != 1.0)
            return affect_fail(err, AFFECT_EARG, "eval: label of item %zu is %.17g, not 0 or 1", k, v);
        if (!isfinite(s))
            return affect_fail(err, AFFECT_EARG, "eval: score of item %zu is not finite", k);
        if (v == 1.0) r->n_pos++; else r->n_neg++;
    }
    size_t nn = n ? n : 1;
    size_t *idx = malloc(nn * sizeof *idx), *tmp = malloc(nn * sizeof *tmp);
    r->row = malloc(nn * sizeof *r->row);
    r->pos = malloc(nn);
    r->last = malloc(nn);
    r->score = malloc(nn * sizeof *r->score);
    if (!idx || !tmp || !r->row || !r->pos || !r->last || !r->score) {
        free(idx); free(tmp); eval_ranking_free(r);
        return affect_fail(err, AFFECT_ENOMEM, "eval: out of memory sorting %zu items", n);
    }
    for (size_t k = 0; k < n; k++) idx[k] = k;
    eval_sort_desc(idx, tmp, n, scores, stride);
    for (size_t i = 0; i < n; i++) {
        size_t k = idx[i];
        r->row[i] = k / row_div;
        r->pos[i] = y[k * stride] == 1.0;
        r->score[i] = scores[k * stride];
    }
    for (size_t i = 0; i < n; i++) r->last[i] = i + 1 == n || r->score[i + 1] != r->score[i];
    r->n = n;
    free(idx);
    free(tmp);
    return 0;
}
