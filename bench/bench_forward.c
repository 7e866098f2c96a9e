/* bench_forward: affect's side of the forward-pass benchmark (bench/forward.sh drives it).
 *
 * It loads one model folder once and then answers commands, one per stdin line, with one
 * JSON line each, so the driver can interleave it with the PyTorch and onnxruntime peers
 * cell by cell (background load then hits all three alike):
 *
 *   run  IDS B T THREADS WARM REPS
 *        -> WARM untimed forwards, then REPS timed ones:
 *           {"ts":[ms,...],"check":[mean|h|, h[0], h[1], h[2], h[3]]}
 *   prof IDS B T THREADS REPS
 *        -> where one forward's time goes, stage by stage (embeddings, QKV, attention,
 *           attention output, FFN in (+ its fused GELU), FFN out, LayerNorm), see cmd_prof
 *   quit
 *
 * IDS is a raw little-endian int32 file of B*T token ids (all real tokens, mask all ones),
 * the same file the peers read. The first output line reports the OpenBLAS core that will
 * run (openblas_get_corename), which OPENBLAS_CORETYPE decides. */
#define _POSIX_C_SOURCE 199309L
#include "affect.h"
#include "model/kernels.h"
#include "model/model.h"
#include "model/parallel.h"
#include "model/simd_math.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Monotonic wall clock in ms: what a caller of the library waits, threads included. */
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* qsort order for medians. */
static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- commands --------------------------------------------------------------------------- */

typedef struct bench {
    affect_model *m;
    int H;
    affect_batch batch;
    float *hidden; /* (B,T,H) */
} bench;

/* Reads B*T ids and sets up an all-ones mask (no padding, as the peers get), replacing the
 * previous command's batch; -1 when the file is short or the shape absurd. */
static int load_batch(bench *b, const char *path, int B, int T) {
    if (B <= 0 || T <= 0 || B > 4096 || T > 4096) return -1;
    size_t n = (size_t)B * T;
    int32_t *ids = malloc(n * sizeof *ids), *mask = malloc(n * sizeof *mask);
    float *hidden = malloc(n * (size_t)b->H * sizeof *hidden);
    FILE *f = fopen(path, "rb");
    int ok = ids && mask && hidden && f && fread(ids, sizeof *ids, n, f) == n;
    if (f) fclose(f);
    if (!ok) {
        free(ids);
        free(mask);
        free(hidden);
        return -1;
    }
    for (size_t i = 0; i < n; i++) mask[i] = 1;
    free(b->batch.ids);
    free(b->batch.mask);
    free(b->hidden);
    b->batch.ids = ids;
    b->batch.mask = mask;
    b->batch.B = B;
    b->batch.T = T;
    b->hidden = hidden;
    return 0;
}

/* The call being timed: the public API, hidden states copied out like the peers return them. */
static int forward(bench *b, affect_error *err) {
    return affect_model_embed(b->m, &b->batch, AFFECT_POOL_MEAN, b->hidden, NULL, err);
}

/* WARM untimed runs (a cold cache after another engine ran), then REPS timed ones; the
 * driver pools the times of several rounds and takes the median. */
static int cmd_run(bench *b, int warm, int reps) {
    affect_error err = {0};
    for (int r = 0; r < warm; r++)
        if (forward(b, &err)) return fprintf(stderr, "bench_forward: %s\n", err.msg), -1;
    if (reps < 1) reps = 1;
    printf("{\"ts\":[");
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        if (forward(b, &err)) return fprintf(stderr, "bench_forward: %s\n", err.msg), -1;
        printf(r ? ",%.4f" : "%.4f", now_ms() - t0);
    }
    size_t n = (size_t)b->batch.B * b->batch.T * b->H;
    double mabs = 0;
    for (size_t i = 0; i < n; i++) mabs += fabs((double)b->hidden[i]);
    printf("],\"check\":[%.6g,%.6g,%.6g,%.6g,%.6g]}\n", mabs / (double)n, (double)b->hidden[0],
           (double)b->hidden[1], (double)b->hidden[2], (double)b->hidden[3]);
    return 0;
}

/* The stage timers (prof): the layer loop of affect_encoder_forward_packed replayed with a
 * clock around each call, on the model's own packed weights and activation buffers. It
 * mirrors src/core/model/encoder.c as of this writing; the output carries the mirror's total
 * next to the real forward's median, so drift shows as a mismatch rather than going unseen.
 * GELU is fused into the FFN-in GEMM; its share is the difference to the same GEMM run once
 * more without it (into a spare buffer). */
/* Milliseconds since *t0, and restarts the clock there. */
static double since(double *t0) {
    double t = now_ms(), d = t - *t0;
    *t0 = t;
    return d;
}

static int cmd_prof(bench *b, int reps) {
    affect_model *m = b->m;
    const affect_model_config *c = &m->cfg;
    const affect_encoder_params *p = &m->params;
    affect_encoder_acts *a = &m->acts;
    affect_error err = {0};
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    double real[64];
    if (forward(b, &err)) return fprintf(stderr, "bench_forward: %s\n", err.msg), -1;
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms();
        if (forward(b, &err)) return fprintf(stderr, "bench_forward: %s\n", err.msg), -1;
        real[r] = now_ms() - t0;
    }
    qsort(real, (size_t)reps, sizeof *real, cmp_double);
    if (!m->packed.w) return fprintf(stderr, "bench_forward: model has no packed weights\n"), -1;

    int B = a->B, T = a->T, H = c->hidden, NH = c->heads, N = B * T;
    int tasks = affect_parallel_threads();
    float *scratch = malloc(attention_infer_scratch_floats(T, H, NH, tasks) * sizeof(float));
    float *spare = malloc((size_t)N * c->ffn * sizeof(float));
    if (!scratch || !spare) {
        free(scratch);
        free(spare);
        return fprintf(stderr, "bench_forward: out of memory\n"), -1;
    }
    enum { S_EMB, S_QKV, S_ATT, S_PROJ, S_LN, S_FFN1, S_FFN2, S_FFN1_NOGELU, S_N };
    double st[S_N] = {0}, total = 0;
    const int32_t *ids = b->batch.ids, *mask = b->batch.mask;
    for (int r = 0; r < reps; r++) {
        double t0 = now_ms(), start = t0;
        if (affect_encoder_embed_forward(c, p, a, ids, &err)) {
            free(scratch);
            free(spare);
            return fprintf(stderr, "bench_forward: %s\n", err.msg), -1;
        }
        st[S_EMB] += since(&t0);
        for (int l = 0; l < c->layers; l++) {
            size_t L = (size_t)l;
            const affect_packed_w *w = m->packed.w + L * 4;
            float *x = a->x0;
            affect_linear_forward(a->qkv, x, &w[0], p->qkvb + L * 3 * H, NULL, N, AFFECT_ACT_NONE);
            st[S_QKV] += since(&t0);
            attention_forward_infer(a->atty, a->qkv, mask, B, T, H, NH, scratch, tasks);
            st[S_ATT] += since(&t0);
            affect_linear_forward(a->res1, a->atty, &w[1], p->attprojb + L * H, x, N, AFFECT_ACT_NONE);
            st[S_PROJ] += since(&t0);
            layernorm_forward_infer(a->ln1, a->res1, p->ln1w + L * H, p->ln1b + L * H, N, H, c->ln_eps);
            st[S_LN] += since(&t0);
            affect_linear_forward(a->fch, a->ln1, &w[2], p->fcb + L * c->ffn, NULL, N, AFFECT_ACT_GELU);
            st[S_FFN1] += since(&t0);
            affect_linear_forward(a->res2, a->fch, &w[3], p->fcprojb + L * H, a->ln1, N, AFFECT_ACT_NONE);
            st[S_FFN2] += since(&t0);
            layernorm_forward_infer(a->ln2, a->res2, p->ln2w + L * H, p->ln2b + L * H, N, H, c->ln_eps);
            st[S_LN] += since(&t0);
            total += t0 - start;
            affect_linear_forward(spare, a->ln1, &w[2], p->fcb + L * c->ffn, NULL, N, AFFECT_ACT_NONE);
            st[S_FFN1_NOGELU] += since(&t0);
            start = t0;
        }
    }
    free(scratch);
    free(spare);
    for (int i = 0; i < S_N; i++) st[i] /= reps;
    total /= reps;
    double lin = st[S_QKV] + st[S_PROJ] + st[S_FFN1_NOGELU] + st[S_FFN2];
    double flops = 2.0 * N * c->layers * ((double)H * 4 * H + 2.0 * H * c->ffn);
    printf("{\"forward_ms\":%.4f,\"mirror_ms\":%.4f,\"embed_ms\":%.4f,\"qkv_ms\":%.4f,\"attention_ms\":%.4f,"
           "\"attn_out_ms\":%.4f,\"ffn_in_gelu_ms\":%.4f,\"ffn_in_ms\":%.4f,\"ffn_out_ms\":%.4f,"
           "\"layernorm_ms\":%.4f,\"linear_ms\":%.4f,\"linear_gflops\":%.1f,\"gelu_ms\":%.4f}\n",
           real[reps / 2], total, st[S_EMB], st[S_QKV], st[S_ATT], st[S_PROJ], st[S_FFN1],
           st[S_FFN1_NOGELU], st[S_FFN2], st[S_LN], lin, flops / (lin * 1e6),
           st[S_FFN1] - st[S_FFN1_NOGELU]);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: bench_forward MODEL_DIR  (commands on stdin, see the source)\n");
        return 2;
    }
    affect_native_init(1);
    bench b = {0};
    affect_error err = {0};
    double t0 = now_ms();
    if (affect_model_load_dir(&b.m, argv[1], &err)) {
        fprintf(stderr, "bench_forward: %s\n", err.msg);
        return 1;
    }
    b.H = affect_model_hidden_size(b.m);
    static const char *const simd_names[] = {"portable C", "AVX2+FMA", "AVX-512"};
    int lv = affect_simd_level();
    printf("{\"ready\":1,\"core\":\"%s\",\"config\":\"%s\",\"simd\":\"%s\",\"load_ms\":%.1f}\n",
           openblas_get_corename(), openblas_get_config(), simd_names[lv >= 0 && lv <= 2 ? lv : 0],
           now_ms() - t0);
    fflush(stdout);
    char line[4096], ids[4096];
    int rc = 0;
    while (fgets(line, sizeof line, stdin)) {
        int B, T, th, a1, a2;
        if (!strncmp(line, "quit", 4)) break;
        if (sscanf(line, "run %4095s %d %d %d %d %d", ids, &B, &T, &th, &a1, &a2) == 6) {
            if (load_batch(&b, ids, B, T)) {
                fprintf(stderr, "bench_forward: cannot read %d x %d ids from %s\n", B, T, ids);
                rc = 1;
                break;
            }
            affect_native_init(th);
            if (cmd_run(&b, a1, a2)) { rc = 1; break; }
        } else if (sscanf(line, "prof %4095s %d %d %d %d", ids, &B, &T, &th, &a1) == 5) {
            if (load_batch(&b, ids, B, T)) {
                fprintf(stderr, "bench_forward: cannot read %d x %d ids from %s\n", B, T, ids);
                rc = 1;
                break;
            }
            affect_native_init(th);
            if (cmd_prof(&b, a1)) { rc = 1; break; }
        } else {
            fprintf(stderr, "bench_forward: unknown command: %s", line);
            rc = 2;
            break;
        }
        fflush(stdout);
    }
    free(b.batch.ids);
    free(b.batch.mask);
    free(b.hidden);
    affect_model_free(b.m);
    return rc;
}
