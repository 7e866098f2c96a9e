/* Threaded, vectorized training kernels: see train_kernels.h. */
#include "train/train_kernels.h"

/* The Release build's -O2 vectorizes only loops whose trip count divides the vector width;
 * these loops are the training step's non-GEMM time, so this file asks for -O3 and for
 * AVX-512 / AVX2 clones of the hot tasks (picked once at load time by the dynamic loader).
 * Neither changes a result: the loops never reassociate a sum (each accumulator lane is its
 * own scalar chain) and -std=c11 keeps FMA contraction off. */
#include "train/train_simd.h"

#include <math.h>

#include "model/parallel.h"
#include "model/simd_math.h"

/* One below ~64K floats (waking threads costs more than it saves), else a few per thread so
 * that a thread the OS preempts on a busy machine holds back little (the others take its
 * share). */
int train_tasks_for(size_t work, int most) {
    int threads = affect_parallel_threads();
    int t = threads > 1 && work >= 65536 ? 4 * threads : 1;
    return t < most ? t : (most > 0 ? most : 1);
}

/* [lo, hi) of task i of n over `total` items. */
static void split(int total, int i, int n, int *lo, int *hi) {
    *lo = (int)((long long)total * i / n);
    *hi = (int)((long long)total * (i + 1) / n);
}

/* Sums in 16 interleaved partial accumulators (which the compiler keeps in vector registers)
 * folded pairwise: a fixed order that depends on C alone. */
static float sum16(const float *x, int C) {
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= C; j += 16)
        for (int u = 0; u < 16; u++) acc[u] += x[j + u];
    for (; j < C; j++) acc[j & 15] += x[j];
    for (int w = 8; w; w >>= 1)
        for (int u = 0; u < w; u++) acc[u] += acc[u + w];
    return acc[0];
}

static float sqdev16(const float *x, float m, int C) {
    float acc[16] = {0};
    int j = 0;
    for (; j + 16 <= C; j += 16)
        for (int u = 0; u < 16; u++) {
            float d = x[j + u] - m;
            acc[u] += d * d;
        }
    for (; j < C; j++) {
        float d = x[j] - m;
        acc[j & 15] += d * d;
    }
    for (int w = 8; w; w >>= 1)
        for (int u = 0; u < w; u++) acc[u] += acc[u + w];
    return acc[0];
}

/* ---- LayerNorm forward ------------------------------------------------------------------ */

typedef struct ln_fwd_job {
    float *out, *mean, *rstd;
    const float *inp, *w, *b;
    int N, C;
    float eps;
} ln_fwd_job;

TRAIN_CLONES static void ln_fwd_task(void *ctx, int i, int n) {
    const ln_fwd_job *j = ctx;
    int r0, r1, C = j->C;
    split(j->N, i, n, &r0, &r1);
    for (int r = r0; r < r1; r++) {
        const float *x = j->inp + (size_t)r * C;
        float *o = j->out + (size_t)r * C;
        float m = sum16(x, C) / (float)C;
        float s = 1.0f / sqrtf(sqdev16(x, m, C) / (float)C + j->eps);
        for (int c = 0; c < C; c++) o[c] = (x[c] - m) * s * j->w[c] + j->b[c];
        j->mean[r] = m;
        j->rstd[r] = s;
    }
}

/* Rows are independent: split across tasks, each row computed the same way by any task. */
void train_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                             const float *weight, const float *bias, int N, int C, float eps) {
    ln_fwd_job j = {out, mean, rstd, inp, weight, bias, N, C, eps};
    affect_parallel_for(train_tasks_for((size_t)N * C, N), ln_fwd_task, &j);
}

/* ---- LayerNorm backward ----------------------------------------------------------------- */

typedef struct ln_bwd_job {
    float *dinp, *dw, *db;
    const float *dout, *inp, *mean, *rstd, *w;
    int N, C, ncols; /* ncols: columns per column task */
} ln_bwd_job;

/* Weight and bias gradients for a range of columns, summed over all rows in row order: the
 * serial loop's order exactly, whatever the split. */
TRAIN_CLONES static void ln_bwd_cols_task(void *ctx, int i, int n) {
    const ln_bwd_job *j = ctx;
    (void)n;
    int C = j->C, c0 = i * j->ncols, c1 = c0 + j->ncols < C ? c0 + j->ncols : C;
    for (int b0 = c0; b0 < c1; b0 += 32) { /* 32 columns of each in local accumulators */
        int w = c1 - b0 < 32 ? c1 - b0 : 32;
        float ab[32], aw[32];
        for (int u = 0; u < w; u++) ab[u] = j->db[b0 + u], aw[u] = j->dw[b0 + u];
        for (int r = 0; r < j->N; r++) {
            const float *d = j->dout + (size_t)r * C + b0, *x = j->inp + (size_t)r * C + b0;
            float m = j->mean[r], s = j->rstd[r];
            for (int u = 0; u < w; u++) {
                ab[u] += d[u];
                aw[u] += (x[u] - m) * s * d[u];
            }
        }
        for (int u = 0; u < w; u++) j->db[b0 + u] = ab[u], j->dw[b0 + u] = aw[u];
    }
}

/* dx = rstd·(dn − mean(dn) − n·mean(dn·n)), dn = weight·dout, per row. */
TRAIN_CLONES static void ln_bwd_rows_task(void *ctx, int i, int n) {
    const ln_bwd_job *j = ctx;
    int r0, r1, C = j->C;
    split(j->N, i, n, &r0, &r1);
    for (int r = r0; r < r1; r++) {
        const float *d = j->dout + (size_t)r * C, *x = j->inp + (size_t)r * C;
        float *dx = j->dinp + (size_t)r * C;
        float m = j->mean[r], s = j->rstd[r];
        float a1[16] = {0}, a2[16] = {0};
        int c = 0;
        for (; c + 16 <= C; c += 16)
            for (int u = 0; u < 16; u++) {
                float dn = j->w[c + u] * d[c + u];
                a1[u] += dn;
                a2[u] += dn * ((x[c + u] - m) * s);
            }
        for (; c < C; c++) {
            float dn = j->w[c] * d[c];
            a1[c & 15] += dn;
            a2[c & 15] += dn * ((x[c] - m) * s);
        }
        for (int w = 8; w; w >>= 1)
            for (int u = 0; u < w; u++) {
                a1[u] += a1[u + w];
                a2[u] += a2[u + w];
            }
        float dn_mean = a1[0] / (float)C, dn_n_mean = a2[0] / (float)C;
        for (c = 0; c < C; c++) {
            float nn = (x[c] - m) * s;
            dx[c] = (j->w[c] * d[c] - dn_mean - nn * dn_n_mean) * s;
        }
    }
}

/* The column pass reads dout before the row pass overwrites it (dinp may alias dout). */
void train_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                              const float *inp, const float *mean, const float *rstd,
                              const float *weight, int N, int C) {
    ln_bwd_job j = {dinp, dweight, dbias, dout, inp, mean, rstd, weight, N, C, C};
    int tc = train_tasks_for((size_t)N * C, (C + 15) / 16);
    j.ncols = ((C + tc - 1) / tc + 15) / 16 * 16;
    affect_parallel_for((C + j.ncols - 1) / j.ncols, ln_bwd_cols_task, &j);
    affect_parallel_for(train_tasks_for((size_t)N * C, N), ln_bwd_rows_task, &j);
}

/* ---- GELU ------------------------------------------------------------------------------- */

typedef struct gelu_job {
    float *out;
    const float *inp, *dout;
    size_t n;
} gelu_job;

static void gelu_fwd_task(void *ctx, int i, int n) {
    const gelu_job *j = ctx;
    size_t lo = j->n * (size_t)i / (size_t)n, hi = j->n * (size_t)(i + 1) / (size_t)n;
    affect_gelu_vec(j->out + lo, j->inp + lo, hi - lo);
}

void train_gelu_forward(float *out, const float *inp, size_t n) {
    gelu_job j = {out, inp, NULL, n};
    affect_parallel_for(train_tasks_for(n, 1 << 20), gelu_fwd_task, &j);
}

#define GELU_BLOCK 512

/* Φ(x) and φ(x) of a block through the vector erf and exp, then the product rule. */
TRAIN_CLONES static void gelu_bwd_task(void *ctx, int i, int n) {
    const gelu_job *j = ctx;
    const float inv_sqrt2 = 0.70710678118654752440f;
    const float inv_sqrt_2pi = 0.39894228040143267794f;
    size_t lo = j->n * (size_t)i / (size_t)n, hi = j->n * (size_t)(i + 1) / (size_t)n;
    float e[GELU_BLOCK], g[GELU_BLOCK];
    for (size_t b = lo; b < hi; b += GELU_BLOCK) {
        size_t m = hi - b < GELU_BLOCK ? hi - b : GELU_BLOCK;
        const float *x = j->inp + b;
        for (size_t k = 0; k < m; k++) {
            e[k] = x[k] * inv_sqrt2;
            g[k] = -0.5f * x[k] * x[k];
        }
        affect_erf_vec(e, e, m);
        affect_exp_vec(g, g, m);
        for (size_t k = 0; k < m; k++)
            j->out[b + k] = j->dout[b + k] * (0.5f * (1.0f + e[k]) + x[k] * (inv_sqrt_2pi * g[k]));
    }
}

void train_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    gelu_job j = {dinp, inp, dout, n};
    affect_parallel_for(train_tasks_for(n, 1 << 20), gelu_bwd_task, &j);
}

/* ---- bias gradient ---------------------------------------------------------------------- */

typedef struct colsum_job {
    float *db;
    const float *dout;
    int N, OC, ncols;
} colsum_job;

TRAIN_CLONES static void colsum_task(void *ctx, int i, int n) {
    const colsum_job *j = ctx;
    (void)n;
    int c0 = i * j->ncols, c1 = c0 + j->ncols < j->OC ? c0 + j->ncols : j->OC;
    for (int b0 = c0; b0 < c1; b0 += 64) { /* 64 columns in local accumulators */
        int w = c1 - b0 < 64 ? c1 - b0 : 64;
        float acc[64];
        for (int u = 0; u < w; u++) acc[u] = j->db[b0 + u];
        for (int r = 0; r < j->N; r++) {
            const float *d = j->dout + (size_t)r * j->OC + b0;
            for (int u = 0; u < w; u++) acc[u] += d[u];
        }
        for (int u = 0; u < w; u++) j->db[b0 + u] = acc[u];
    }
}

/* Columns split across tasks, rows summed in order inside each: the serial result exactly. */
void train_colsum_add(float *db, const float *dout, int N, int OC) {
    colsum_job j = {db, dout, N, OC, OC};
    int tc = train_tasks_for((size_t)N * OC, (OC + 15) / 16);
    j.ncols = ((OC + tc - 1) / tc + 15) / 16 * 16;
    affect_parallel_for((OC + j.ncols - 1) / j.ncols, colsum_task, &j);
}
