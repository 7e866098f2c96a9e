/* Training linear layers on the core's panel GEMM: see linear_train.h. */
#include "train/linear_train.h"
#include "train/train_simd.h" /* -O3 and ISA clones, as train_kernels.c says */

#include "model/gemm.h"
#include "model/parallel.h"
#include "train/train_kernels.h"

#include <string.h>

/* The largest of the weights (3H,H), (H,H), (F,H), (H,F) packed either way. */
size_t train_linear_wpan_floats(int H, int F) {
    size_t m = 0, f[6] = {affect_panels_floats(3 * H, H), affect_panels_floats(H, 3 * H),
                          affect_panels_floats(F, H), affect_panels_floats(H, F),
                          affect_panels_floats(H, H), 0};
    for (int i = 0; i < 5; i++) m = f[i] > m ? f[i] : m;
    return m;
}
size_t train_linear_at_floats(int maxc, int rows) { return (size_t)maxc * (size_t)rows; }
size_t train_linear_bpan_floats(int maxc, int rows) { return affect_panels_floats(maxc, rows); }

/* affect_pack_panels (gemm.h) with scale 1, as plain copies the compiler vectorizes: rows of
 * B are whole panel rows when trans = 0; trans = 1 gathers 32 rows of B in blocks of 16 k so
 * the 32 source lines stay in cache. Same output, bit for bit. */
TRAIN_CLONES void train_pack_panels(float *dst, const float *B, size_t ldb, int N, int K,
                                    int trans) {
    size_t np = ((size_t)N + AFFECT_PANEL - 1) / AFFECT_PANEL;
    for (size_t p = 0; p < np; p++) {
        float *panel = dst + p * (size_t)K * AFFECT_PANEL;
        size_t n0 = p * AFFECT_PANEL;
        int nc = (size_t)N - n0 < AFFECT_PANEL ? (int)((size_t)N - n0) : AFFECT_PANEL;
        if (!trans) {
            for (int k = 0; k < K; k++) {
                float *row = panel + (size_t)k * AFFECT_PANEL;
                memcpy(row, B + (size_t)k * ldb + n0, (size_t)nc * sizeof *row);
                for (int c = nc; c < AFFECT_PANEL; c++) row[c] = 0.0f;
            }
            continue;
        }
        for (int k0 = 0; k0 < K; k0 += 16) {
            int k1 = k0 + 16 < K ? k0 + 16 : K;
            for (int c = 0; c < AFFECT_PANEL; c++) {
                if (c < nc) {
                    const float *src = B + (n0 + (size_t)c) * ldb;
                    for (int k = k0; k < k1; k++) panel[(size_t)k * AFFECT_PANEL + c] = src[k];
                } else {
                    for (int k = k0; k < k1; k++) panel[(size_t)k * AFFECT_PANEL + c] = 0.0f;
                }
            }
        }
    }
}

typedef struct pack_job {
    float *dst;
    const float *B;
    size_t ldb;
    int N, K, trans, np;
} pack_job;

/* Panels are independent: task i packs a run of them from the matching columns of B. */
static void pack_task(void *ctx, int i, int n) {
    const pack_job *j = ctx;
    int p0 = (int)((long long)j->np * i / n), p1 = (int)((long long)j->np * (i + 1) / n);
    if (p0 >= p1) return;
    size_t n0 = (size_t)p0 * AFFECT_PANEL;
    int nn = (p1 * AFFECT_PANEL < j->N ? p1 * AFFECT_PANEL : j->N) - (int)n0;
    const float *src = j->trans ? j->B + n0 * j->ldb : j->B + n0;
    train_pack_panels(j->dst + n0 * (size_t)j->K, src, j->ldb, nn, j->K, j->trans);
}

/* affect_pack_panels split over the parallel-for (the values do not depend on the split). */
static void pack(float *dst, const float *B, size_t ldb, int N, int K, int trans) {
    pack_job j = {dst, B, ldb, N, K, trans, (N + AFFECT_PANEL - 1) / AFFECT_PANEL};
    affect_parallel_for(train_tasks_for((size_t)N * K, j.np), pack_task, &j);
}

typedef struct tr_job {
    float *dst;
    const float *src;
    int R, C; /* src (R,C) -> dst (C,R) */
} tr_job;

/* Task i writes a run of dst rows (src columns), reading src in 16-row strips. */
TRAIN_CLONES static void tr_task(void *ctx, int i, int n) {
    const tr_job *j = ctx;
    int c0 = (int)((long long)j->C * i / n), c1 = (int)((long long)j->C * (i + 1) / n);
    for (int r0 = 0; r0 < j->R; r0 += 16) {
        int r1 = r0 + 16 < j->R ? r0 + 16 : j->R;
        for (int c = c0; c < c1; c++) {
            float *d = j->dst + (size_t)c * j->R;
            for (int r = r0; r < r1; r++) d[r] = j->src[(size_t)r * j->C + c];
        }
    }
}

static void transpose(float *dst, const float *src, int R, int C) {
    tr_job j = {dst, src, R, C};
    affect_parallel_for(train_tasks_for((size_t)R * C, C), tr_task, &j);
}

void train_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                          const float *residual, int N, int C, int OC, float *wpan) {
    // out (N,OC), inp (N,C), w (OC,C)
    pack(wpan, w, (size_t)C, OC, C, 1);
    affect_packed_w pw = {wpan, OC, C};
    affect_linear_forward(out, inp, &pw, bias, residual, N, AFFECT_ACT_NONE);
}

void train_linear_backward(float *dinp, float *dw, float *db, const float *dout,
                           const float *inp, const float *w, int N, int C, int OC,
                           int accumulate_dinp, float *wpan, float *at, float *bpan) {
    // dinp (N,C), dw (OC,C), db (OC), dout (N,OC), inp (N,C), w (OC,C)
    if (dinp) { /* dinp (N,C) = dout (N,OC) · w (OC,C) */
        pack(wpan, w, (size_t)C, C, OC, 0);
        affect_packed_w pw = {wpan, C, OC};
        affect_linear_forward(dinp, dout, &pw, NULL, accumulate_dinp ? dinp : NULL, N,
                              AFFECT_ACT_NONE);
    }
    if (dw) { /* dw (OC,C) += doutᵀ (OC,N) · inp (N,C) */
        transpose(at, dout, N, OC);
        pack(bpan, inp, (size_t)C, C, N, 0);
        affect_packed_w pb = {bpan, C, N};
        affect_linear_forward(dw, at, &pb, NULL, dw, OC, AFFECT_ACT_NONE);
    }
    if (db) train_colsum_add(db, dout, N, OC);
}
