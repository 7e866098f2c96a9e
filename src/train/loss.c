/* Training losses: see loss.h for the exact formulas and their PyTorch counterparts. */
#include "train/loss.h"

#include <math.h>
#include <stdlib.h>

#include "util/error.h"

/* ---- BCE with logits --------------------------------------------------------------------- */

/* Whether element (b,l) has a target. */
static int bce_contributes(const uint8_t *row_mask, const uint8_t *mask, int b, size_t idx) {
    return (!row_mask || row_mask[b]) && (!mask || mask[idx]);
}

/* log(1 + exp(-|x|)) + max(-x, 0) = -log(sigmoid(x)), without overflow for any x. */
static double log_sigmoid_neg(double x) {
    return log1p(exp(-fabs(x))) + (x < 0.0 ? -x : 0.0);
}

/* sigmoid(-x) = 1 - sigmoid(x), without overflow for any x. */
static double sigmoid_neg(double x) {
    if (x >= 0.0) {
        double e = exp(-x);
        return e / (1.0 + e);
    }
    return 1.0 / (1.0 + exp(x));
}

/* Number of contributing elements. */
static size_t bce_count(const uint8_t *row_mask, const uint8_t *mask, int B, int L) {
    size_t n = 0;
    for (int b = 0; b < B; b++)
        for (int l = 0; l < L; l++) n += bce_contributes(row_mask, mask, b, (size_t)b * L + l);
    return n;
}

double affect_bce_logits_forward(const float *logits, const float *targets,
                                 const float *pos_weight, const uint8_t *row_mask,
                                 const uint8_t *mask, int B, int L) {
    double sum = 0.0;
    size_t n = 0;
    for (int b = 0; b < B; b++) {
        for (int l = 0; l < L; l++) {
            size_t i = (size_t)b * L + l;
            if (!bce_contributes(row_mask, mask, b, i)) continue;
            double x = logits[i], y = targets[i];
            double w = pos_weight ? pos_weight[l] : 1.0;
            sum += (1.0 - y) * x + (1.0 + (w - 1.0) * y) * log_sigmoid_neg(x);
            n++;
        }
    }
    return n ? sum / (double)n : 0.0;
}

void affect_bce_logits_backward(float *dlogits, const float *logits, const float *targets,
                                const float *pos_weight, const uint8_t *row_mask,
                                const uint8_t *mask, int B, int L, float dloss) {
    size_t n = bce_count(row_mask, mask, B, L);
    double scale = n ? (double)dloss / (double)n : 0.0;
    for (int b = 0; b < B; b++) {
        for (int l = 0; l < L; l++) {
            size_t i = (size_t)b * L + l;
            if (!bce_contributes(row_mask, mask, b, i)) {
                dlogits[i] = 0.0f;
                continue;
            }
            double x = logits[i], y = targets[i];
            double w = pos_weight ? pos_weight[l] : 1.0;
            double g = (1.0 - y) - (1.0 + (w - 1.0) * y) * sigmoid_neg(x);
            dlogits[i] = (float)(g * scale);
        }
    }
}

void affect_bce_pos_weight(float *pos_weight, const float *targets, const uint8_t *mask, int N,
                           int L, float cap) {
    for (int l = 0; l < L; l++) {
        size_t pos = 0, neg = 0;
        for (int r = 0; r < N; r++) {
            size_t i = (size_t)r * L + l;
            if (mask && !mask[i]) continue;
            if (targets[i] > 0.5f)
                pos++;
            else
                neg++;
        }
        double w = pos ? (double)neg / (double)pos : (double)cap;
        pos_weight[l] = (float)(w < (double)cap ? w : (double)cap);
    }
}

/* ---- L1 / MSE with a row mask ------------------------------------------------------------ */

/* Number of values in the contributing rows. */
static size_t rows_count(const uint8_t *row_mask, int B, int K) {
    size_t rows = 0;
    for (int b = 0; b < B; b++) rows += !row_mask || row_mask[b];
    return rows * (size_t)(K > 0 ? K : 0);
}

/* Shared body of the two regression forwards: mean of |d| (power 1) or d^2 (power 2). */
static double regression_forward(const float *pred, const float *target, const uint8_t *row_mask,
                                 int B, int K, int power) {
    double sum = 0.0;
    size_t n = rows_count(row_mask, B, K);
    if (!n) return 0.0;
    for (int b = 0; b < B; b++) {
        if (row_mask && !row_mask[b]) continue;
        for (int k = 0; k < K; k++) {
            size_t i = (size_t)b * K + k;
            double d = (double)pred[i] - (double)target[i];
            sum += power == 1 ? fabs(d) : d * d;
        }
    }
    return sum / (double)n;
}

/* Shared body of the two regression backwards: sign(d) or 2d, over the count. */
static void regression_backward(float *dpred, const float *pred, const float *target,
                                const uint8_t *row_mask, int B, int K, float dloss, int power) {
    size_t n = rows_count(row_mask, B, K);
    double scale = n ? (double)dloss / (double)n : 0.0;
    for (int b = 0; b < B; b++) {
        int on = !row_mask || row_mask[b];
        for (int k = 0; k < K; k++) {
            size_t i = (size_t)b * K + k;
            double d = (double)pred[i] - (double)target[i];
            double g = power == 1 ? (double)((d > 0.0) - (d < 0.0)) : 2.0 * d;
            dpred[i] = on ? (float)(g * scale) : 0.0f;
        }
    }
}

double affect_l1_forward(const float *pred, const float *target, const uint8_t *row_mask, int B,
                         int K) {
    return regression_forward(pred, target, row_mask, B, K, 1);
}

void affect_l1_backward(float *dpred, const float *pred, const float *target,
                        const uint8_t *row_mask, int B, int K, float dloss) {
    regression_backward(dpred, pred, target, row_mask, B, K, dloss, 1);
}

double affect_mse_forward(const float *pred, const float *target, const uint8_t *row_mask, int B,
                          int K) {
    return regression_forward(pred, target, row_mask, B, K, 2);
}

void affect_mse_backward(float *dpred, const float *pred, const float *target,
                         const uint8_t *row_mask, int B, int K, float dloss) {
    regression_backward(dpred, pred, target, row_mask, B, K, dloss, 2);
}

/* ---- multi-similarity loss --------------------------------------------------------------- */

#define MS_NORM_EPS 1e-12 /* F.normalize's eps */

affect_ms_params affect_ms_defaults(void) {
    affect_ms_params p = {2.0, 5.0, 0.4, AFFECT_MS_MEAN_ALL};
    return p;
}

/* Scratch of the multi-similarity loss: normalised features, norms, similarities. */
typedef struct ms_work {
    double *xn;   /* (B,D) */
    double *norm; /* (B)   ||f_i|| before clamping */
    double *S;    /* (B,B) */
} ms_work;

static void ms_work_free(ms_work *w) {
    free(w->xn);
    free(w->norm);
    free(w->S);
}

/* Validates shapes and parameters, allocates the scratch and fills xn, norm and S. */
static int ms_prepare(ms_work *w, const float *feats, const uint8_t *pos, const uint8_t *neg,
                      int B, int D, const affect_ms_params *p, affect_error *err) {
    w->xn = w->norm = w->S = NULL;
    if (B < 0 || D <= 0 || !p || (B > 0 && (!feats || !pos || !neg)))
        return affect_fail(err, AFFECT_EARG, "multi-similarity loss: bad arguments (B=%d, D=%d)",
                           B, D);
    if (!(p->alpha > 0.0) || !(p->beta > 0.0) || !isfinite(p->base) ||
        (p->reduction != AFFECT_MS_MEAN_ALL && p->reduction != AFFECT_MS_MEAN_ACTIVE))
        return affect_fail(err, AFFECT_EARG,
                           "multi-similarity loss: need alpha > 0, beta > 0, finite base and a "
                           "known reduction (alpha=%g beta=%g base=%g reduction=%d)",
                           p->alpha, p->beta, p->base, (int)p->reduction);
    size_t nb = (size_t)B;
    if (nb && ((size_t)D > SIZE_MAX / sizeof(double) / nb || nb > SIZE_MAX / sizeof(double) / nb))
        return affect_fail(err, AFFECT_EARG, "multi-similarity loss: B=%d x D=%d overflows", B, D);
    if (B == 0) return AFFECT_OK;
    w->xn = malloc(nb * (size_t)D * sizeof(double));
    w->norm = malloc(nb * sizeof(double));
    w->S = malloc(nb * nb * sizeof(double));
    if (!w->xn || !w->norm || !w->S) {
        ms_work_free(w);
        w->xn = w->norm = w->S = NULL;
        return affect_fail(err, AFFECT_ENOMEM, "multi-similarity loss: out of memory (B=%d, D=%d)",
                           B, D);
    }
    for (int i = 0; i < B; i++) {
        const float *f = feats + (size_t)i * D;
        double ss = 0.0;
        for (int d = 0; d < D; d++) ss += (double)f[d] * (double)f[d];
        double n = sqrt(ss);
        double denom = n > MS_NORM_EPS ? n : MS_NORM_EPS;
        w->norm[i] = n;
        for (int d = 0; d < D; d++) w->xn[(size_t)i * D + d] = (double)f[d] / denom;
    }
    for (int i = 0; i < B; i++) {
        const double *xi = w->xn + (size_t)i * D;
        for (int j = i; j < B; j++) {
            const double *xj = w->xn + (size_t)j * D;
            double s = 0.0;
            for (int d = 0; d < D; d++) s += xi[d] * xj[d];
            w->S[(size_t)i * B + j] = w->S[(size_t)j * B + i] = s;
        }
    }
    return AFFECT_OK;
}

/* For anchor row i: log(1 + sum_{j in mask} exp(z_j)) with z_j = sign * k * (S_ij - base),
 * as a logsumexp over {0} ∪ {z_j}. If `weights` is non-NULL it receives, for masked j,
 * d/dz_j of that value = exp(z_j) / (1 + sum exp(z)) (0 elsewhere). Returns the value;
 * *any is set to whether the row has a masked entry. */
static double ms_log1p_sum_exp(const double *S_row, const uint8_t *mask_row, int B, double k,
                               double sign, double base, double *weights, int *any) {
    double m = 0.0;
    *any = 0;
    for (int j = 0; j < B; j++) {
        if (!mask_row[j]) continue;
        double z = sign * k * (S_row[j] - base);
        if (z > m) m = z;
        *any = 1;
    }
    if (!*any) {
        if (weights)
            for (int j = 0; j < B; j++) weights[j] = 0.0;
        return 0.0;
    }
    double sum = exp(-m);
    for (int j = 0; j < B; j++)
        if (mask_row[j]) sum += exp(sign * k * (S_row[j] - base) - m);
    if (weights) {
        for (int j = 0; j < B; j++)
            weights[j] = mask_row[j] ? exp(sign * k * (S_row[j] - base) - m) / sum : 0.0;
    }
    return m + log(sum);
}

/* The reduction's divisor: B, or the number of anchors with a pair (0 if none). */
static int ms_divisor(const uint8_t *pos, const uint8_t *neg, int B, affect_ms_reduction r) {
    if (r == AFFECT_MS_MEAN_ALL) return B;
    int active = 0;
    for (int i = 0; i < B; i++) {
        int any = 0;
        for (int j = 0; j < B && !any; j++)
            any = pos[(size_t)i * B + j] || neg[(size_t)i * B + j];
        active += any;
    }
    return active;
}

int affect_ms_loss_forward(double *loss, const float *feats, const uint8_t *pos,
                           const uint8_t *neg, int B, int D, const affect_ms_params *p,
                           affect_error *err) {
    ms_work w;
    *loss = 0.0;
    int rc = ms_prepare(&w, feats, pos, neg, B, D, p, err);
    if (rc) return rc;
    int div = B ? ms_divisor(pos, neg, B, p->reduction) : 0;
    double sum = 0.0;
    for (int i = 0; div > 0 && i < B; i++) {
        const double *row = w.S + (size_t)i * B;
        int anyp, anyn;
        double lp = ms_log1p_sum_exp(row, pos + (size_t)i * B, B, p->alpha, -1.0, p->base, NULL,
                                     &anyp);
        double ln = ms_log1p_sum_exp(row, neg + (size_t)i * B, B, p->beta, 1.0, p->base, NULL,
                                     &anyn);
        sum += lp / p->alpha + ln / p->beta;
    }
    ms_work_free(&w);
    *loss = div > 0 ? sum / (double)div : 0.0;
    return AFFECT_OK;
}

int affect_ms_loss_backward(float *dfeats, const float *feats, const uint8_t *pos,
                            const uint8_t *neg, int B, int D, const affect_ms_params *p,
                            float dloss, affect_error *err) {
    ms_work w;
    int rc = ms_prepare(&w, feats, pos, neg, B, D, p, err);
    if (rc) return rc;
    if (B == 0) return AFFECT_OK;
    size_t nb = (size_t)B;
    double *dS = malloc(nb * nb * sizeof(double));        /* (B,B) */
    double *wrow = malloc(nb * sizeof(double));           /* (B) */
    double *dxn = malloc(nb * (size_t)D * sizeof(double)); /* (B,D) */
    if (!dS || !wrow || !dxn) {
        free(dS);
        free(wrow);
        free(dxn);
        ms_work_free(&w);
        return affect_fail(err, AFFECT_ENOMEM,
                           "multi-similarity loss backward: out of memory (B=%d, D=%d)", B, D);
    }
    int div = ms_divisor(pos, neg, B, p->reduction);
    double scale = div > 0 ? (double)dloss / (double)div : 0.0;
    /* dS_ij = scale * dl_i/dS_ij: -w_pos (the 1/alpha and -alpha cancel), +w_neg likewise. */
    for (int i = 0; i < B; i++) {
        const double *row = w.S + (size_t)i * B;
        double *drow = dS + (size_t)i * B;
        int any;
        ms_log1p_sum_exp(row, pos + (size_t)i * B, B, p->alpha, -1.0, p->base, wrow, &any);
        for (int j = 0; j < B; j++) drow[j] = -wrow[j] * scale;
        ms_log1p_sum_exp(row, neg + (size_t)i * B, B, p->beta, 1.0, p->base, wrow, &any);
        for (int j = 0; j < B; j++) drow[j] += wrow[j] * scale;
    }
    /* S = xn xn^T, so dxn = (dS + dS^T) xn. */
    for (int i = 0; i < B; i++) {
        double *g = dxn + (size_t)i * D;
        for (int d = 0; d < D; d++) g[d] = 0.0;
        for (int j = 0; j < B; j++) {
            double c = dS[(size_t)i * B + j] + dS[(size_t)j * B + i];
            if (c == 0.0) continue;
            const double *xj = w.xn + (size_t)j * D;
            for (int d = 0; d < D; d++) g[d] += c * xj[d];
        }
    }
    /* Through x / max(||x||, eps): (g - xn (xn.g)) / ||x||, or g / eps where clamped. */
    for (int i = 0; i < B; i++) {
        const double *xi = w.xn + (size_t)i * D;
        const double *g = dxn + (size_t)i * D;
        float *out = dfeats + (size_t)i * D;
        if (w.norm[i] > MS_NORM_EPS) {
            double dot = 0.0;
            for (int d = 0; d < D; d++) dot += xi[d] * g[d];
            for (int d = 0; d < D; d++) out[d] = (float)((g[d] - xi[d] * dot) / w.norm[i]);
        } else {
            for (int d = 0; d < D; d++) out[d] = (float)(g[d] / MS_NORM_EPS);
        }
    }
    free(dS);
    free(wrow);
    free(dxn);
    ms_work_free(&w);
    return AFFECT_OK;
}

void affect_ms_pair_masks(uint8_t *pos, uint8_t *neg, const float *labels,
                          const uint8_t *row_valid, int B, int L, double pos_threshold) {
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < B; j++) {
            size_t ij = (size_t)i * B + j;
            pos[ij] = neg[ij] = 0;
            if (i == j) continue;
            if (row_valid && (!row_valid[i] || !row_valid[j])) continue;
            int inter = 0, uni = 0, ni = 0, nj = 0;
            for (int l = 0; l < L; l++) {
                int a = labels[(size_t)i * L + l] > 0.5f, b = labels[(size_t)j * L + l] > 0.5f;
                inter += a & b;
                uni += a | b;
                ni += a;
                nj += b;
            }
            if (!ni || !nj) continue;
            double jac = (double)inter / (double)uni;
            pos[ij] = jac > pos_threshold;
            neg[ij] = inter == 0;
        }
    }
}
