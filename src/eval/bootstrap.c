/* Bootstrap intervals for micro/macro AUC and the paired macro-AUC difference of two models,
 * with a counter-based generator so the same seed gives the same interval on any machine. */
#include "eval/metrics.h"
#include "core/util/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GAMMA 0x9E3779B97F4A7C15ULL

/* splitmix64's output function: a bijection on 64 bits with good avalanche, so consecutive
 * counters give independent-looking words (Steele, Lea, Flood 2014). */
uint64_t eval_splitmix64_mix(uint64_t z) {
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ULL;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z;
}

/* Resample b depends only on (seed, b), never on earlier resamples, so resamples could run
 * in any order or in parallel and still agree; rejection makes every row equally likely. */
void eval_bootstrap_counts(uint64_t seed, uint64_t b, size_t n, uint32_t *counts) {
    memset(counts, 0, n * sizeof *counts);
    if (n == 0) return;
    uint64_t key = eval_splitmix64_mix(seed + (b + 1) * GAMMA);
    uint64_t m = (uint64_t)n, reject_below = (0 - m) % m; /* 2^64 mod n */
    uint64_t k = 0;
    for (size_t drawn = 0; drawn < n;) {
        uint64_t u = eval_splitmix64_mix(key + (++k) * GAMMA);
        if (u < reject_below) continue;
        counts[u % m]++;
        drawn++;
    }
}

/* Mirrors numpy's 'linear' quantile operation for operation (virtual index (m-1)q, and its
 * two-sided lerp), so a Python check can expect the very same bits. */
double eval_percentile_linear(const double *sorted, size_t m, double q) {
    double vi = (double)(m - 1) * q;
    double fl = floor(vi);
    if (fl < 0) fl = 0;
    size_t prev = (size_t)fl;
    if (prev > m - 1) prev = m - 1;
    size_t next = prev + 1 < m ? prev + 1 : m - 1;
    double t = vi - fl;
    double a = sorted[prev], bb = sorted[next], d = bb - a;
    return t >= 0.5 ? bb - d * (1 - t) : a + d * t;
}

static int cmp_double(const void *pa, const void *pb) {
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Sorts the defined statistics and reads off the two percentiles. */
static eval_interval interval_of(double *stats, size_t m, double level) {
    eval_interval iv = {NAN, NAN, m};
    if (m == 0) return iv;
    qsort(stats, m, sizeof *stats, cmp_double);
    double q = (1.0 - level) / 2.0;
    iv.lo = eval_percentile_linear(stats, m, q);
    iv.hi = eval_percentile_linear(stats, m, 1.0 - q);
    return iv;
}

/* Macro AUC of rankings under weights: the mean over labels defined under those weights. */
static double macro_auc(const eval_ranking *rs, size_t L, const uint32_t *w) {
    double sum = 0.0;
    size_t k = 0;
    for (size_t j = 0; j < L; j++) {
        double a = eval_ranking_auc(&rs[j], w);
        if (!isnan(a)) { sum += a; k++; }
    }
    return k ? sum / (double)k : NAN;
}

static void free_rankings(eval_ranking *rs, size_t k) {
    if (!rs) return;
    for (size_t j = 0; j < k; j++) eval_ranking_free(&rs[j]);
    free(rs);
}

/* Builds the per-label rankings and the flattened one for one prediction set: one sort each,
 * after which every resample costs O(rows x labels). */
static int build_all(eval_ranking **per, eval_ranking *micro, const double *P, const double *Y,
                     size_t n, size_t L, affect_error *err) {
    *per = calloc(L, sizeof **per);
    if (!*per) return affect_fail(err, AFFECT_ENOMEM, "eval: out of memory for %zu labels", L);
    for (size_t j = 0; j < L; j++) {
        int rc = eval_ranking_build(&(*per)[j], P + j, Y + j, n, L, 1, err);
        if (rc) { free_rankings(*per, j); *per = NULL; return rc; }
    }
    int rc = eval_ranking_build(micro, P, Y, n * L, 1, L, err);
    if (rc) { free_rankings(*per, L); *per = NULL; }
    return rc;
}

int eval_bootstrap_auc(const double *P, const double *P2, const double *Y, size_t n_rows,
                       size_t n_labels, size_t B, uint64_t seed, double level,
                       eval_bootstrap_result *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    if (B == 0) return affect_fail(err, AFFECT_EARG, "eval: bootstrap needs at least one resample");
    if (!(level > 0.0 && level < 1.0)) return affect_fail(err, AFFECT_EARG, "eval: interval level %g is not in (0,1)", level);
    if (n_labels == 0 || n_rows > SIZE_MAX / n_labels)
        return affect_fail(err, AFFECT_EARG, "eval: bad shape %zu x %zu", n_rows, n_labels);
    if (B > SIZE_MAX / (3 * sizeof(double))) return affect_fail(err, AFFECT_EARG, "eval: %zu resamples is too many", B);
    eval_ranking *per = NULL, *per2 = NULL, micro, micro2;
    memset(&micro, 0, sizeof micro);
    memset(&micro2, 0, sizeof micro2);
    double *s_micro = malloc(B * sizeof *s_micro), *s_macro = malloc(B * sizeof *s_macro);
    double *s_diff = malloc(B * sizeof *s_diff);
    uint32_t *w = malloc((n_rows ? n_rows : 1) * sizeof *w);
    int rc = 0;
    if (!s_micro || !s_macro || !s_diff || !w) {
        rc = affect_fail(err, AFFECT_ENOMEM, "eval: out of memory for %zu resamples", B);
        goto done;
    }
    if ((rc = build_all(&per, &micro, P, Y, n_rows, n_labels, err))) goto done;
    if (P2 && (rc = build_all(&per2, &micro2, P2, Y, n_rows, n_labels, err))) goto done;
    size_t m_micro = 0, m_macro = 0, m_diff = 0, le0 = 0;
    for (size_t b = 0; b < B; b++) {
        eval_bootstrap_counts(seed, b, n_rows, w);
        double mi = eval_ranking_auc(&micro, w);
        if (!isnan(mi)) s_micro[m_micro++] = mi;
        double ma = macro_auc(per, n_labels, w);
        if (!isnan(ma)) s_macro[m_macro++] = ma;
        if (P2 && !isnan(ma)) {
            double d = ma - macro_auc(per2, n_labels, w);
            if (!isnan(d)) { s_diff[m_diff++] = d; if (d <= 0.0) le0++; }
        }
    }
    out->micro_auc = interval_of(s_micro, m_micro, level);
    out->macro_auc = interval_of(s_macro, m_macro, level);
    out->diff = NAN;
    out->diff_ci = (eval_interval){NAN, NAN, 0};
    out->frac_diff_le0 = NAN;
    if (P2) {
        out->diff = macro_auc(per, n_labels, NULL) - macro_auc(per2, n_labels, NULL);
        out->diff_ci = interval_of(s_diff, m_diff, level);
        if (m_diff) out->frac_diff_le0 = (double)le0 / (double)m_diff;
    }
done:
    free_rankings(per, per ? n_labels : 0);
    free_rankings(per2, per2 ? n_labels : 0);
    eval_ranking_free(&micro);
    eval_ranking_free(&micro2);
    free(s_micro);
    free(s_macro);
    free(s_diff);
    free(w);
    return rc;
}
