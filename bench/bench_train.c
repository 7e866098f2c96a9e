/* bench_train: affect's side of the training-step benchmark (bench/train.sh drives it).
 *
 *   bench_train CONFIG_JSON B T THREADS WARM STEPS [SEED]
 *
 * One process per (model, shape), so its peak RSS is this cell's alone. It builds an
 * EmotionModel trainer for the config (28 labels), fills every parameter with random values
 * (weights N(0, 0.02)-like, LayerNorm gains 1, biases 0: timing does not depend on the
 * values), makes one random batch (ids never the pad id, mask all ones, every row labelled,
 * BCE pos_weight in [1, 5], an intensity target on every other row), and runs WARM + STEPS
 * full training steps (forward, losses, backward, clipping at 1.0, AdamW lr 3e-5 wd 0.01,
 * constant schedule, dropout off, one optimizer step per batch). It prints one JSON line:
 *
 *   {"engine":"affect","corename":...,"threads":...,"step_ms":[...],
 *    "micro_ms":[...],"opt_ms":[...],"loss":[...],"peak_rss_mb":...}
 *
 * micro_ms is forward + losses + backward (affect_train_micro_step), opt_ms is clipping +
 * AdamW + zeroing (affect_train_optimizer_step); step_ms is their sum per timed step.
 *
 * With AFFECT_BENCH_PROF=1 in the environment, every affect_sgemm call goes through a timing
 * wrapper (the same cblas_sgemm underneath) and the line adds "gemm_ms" per timed step by
 * kind: forward linear layers (x·Wᵀ, M = B·T), backward dX (M = B·T, no transpose), backward
 * dW (transA, K = B·T), attention (every product with a T-sized side: QKᵀ, PV and their
 * backward), other (heads). micro_ms minus their sum is the non-GEMM work. */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "affect.h"
#include "model/config.h"
#include "train/train_step.h"

#define NUM_LABELS 28
#define MAX_STEPS 256

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---- the GEMM timer (AFFECT_BENCH_PROF) ------------------------------------------------- */

enum { G_FWD, G_BWD_DX, G_BWD_DW, G_ATT, G_OTHER, G_N };
static const char *const gemm_kind_name[G_N] = {"fwd_linear", "bwd_dx", "bwd_dw", "attention", "other"};
static double gemm_ms[G_N];
static long gemm_calls[G_N];
static int prof_tokens, prof_T;

static void sgemm_timed(int transA, int transB, int M, int N, int K, float alpha, const float *A,
                        int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    double t0 = now_ms();
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    double dt = now_ms() - t0;
    int kind = G_OTHER;
    if (M == prof_tokens && !transA && transB) kind = G_FWD;
    else if (M == prof_tokens && !transA && !transB) kind = G_BWD_DX;
    else if (K == prof_tokens && transA && !transB) kind = G_BWD_DW;
    else if (M == prof_T || N == prof_T || K == prof_T) kind = G_ATT;
    gemm_ms[kind] += dt;
    gemm_calls[kind]++;
}

static void die(const char *msg) {
    fprintf(stderr, "bench_train: %s\n", msg);
    exit(2);
}

static void *xcalloc(size_t n, size_t sz) {
    void *p = calloc(n ? n : 1, sz);
    if (!p) die("out of memory");
    return p;
}

/* splitmix64: a tiny seeded generator, so both runs of a cell see the same batch. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open the config file");
    if (fseek(f, 0, SEEK_END) != 0) die("cannot seek the config file");
    long n = ftell(f);
    if (n < 0 || n > (1 << 24)) die("config file size");
    rewind(f);
    char *buf = xcalloc((size_t)n + 1, 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) die("cannot read the config file");
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Random parameters: sums of uniforms scaled to std ~0.02 for matrices and embeddings,
 * LayerNorm gains 1 and every bias 0 (what a freshly initialised HF model looks like). */
static void init_params(affect_trainer *tr, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = 0; i < affect_trainer_num_tensors(tr); i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        int norm = !t->decays && t->ndim == 1 && strstr(t->name, "bias") == NULL;
        if (t->ndim == 1) {
            for (size_t j = 0; j < t->n; j++) t->param[j] = norm ? 1.0f : 0.0f;
            continue;
        }
        for (size_t j = 0; j < t->n; j++)
            t->param[j] = (float)((uniform(&s) + uniform(&s) + uniform(&s) - 1.5) * 0.04);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_list(const char *key, const double *v, int n, int last) {
    printf("\"%s\":[", key);
    for (int i = 0; i < n; i++) printf(i ? ",%.4f" : "%.4f", v[i]);
    printf("]%s", last ? "" : ",");
}

int main(int argc, char **argv) {
    if (argc < 7 || argc > 8)
        die("usage: bench_train CONFIG_JSON B T THREADS WARM STEPS [SEED]");
    int B = atoi(argv[2]), T = atoi(argv[3]), threads = atoi(argv[4]);
    int warm = atoi(argv[5]), steps = atoi(argv[6]);
    uint64_t seed = argc == 8 ? strtoull(argv[7], NULL, 10) : 1234;
    if (B < 1 || B > 4096 || T < 1 || T > 4096 || threads < 1 || warm < 0 || steps < 1 ||
        steps > MAX_STEPS)
        die("bad B/T/THREADS/WARM/STEPS");
    affect_native_init(threads);
    const char *prof_env = getenv("AFFECT_BENCH_PROF");
    int prof = prof_env && prof_env[0] == '1';
    if (prof) {
        prof_tokens = B * T;
        prof_T = T;
        affect_set_sgemm(sgemm_timed);
    }

    size_t clen;
    char *ctext = slurp(argv[1], &clen);
    affect_model_config cfg;
    affect_error err = {0};
    if (affect_config_parse(&cfg, ctext, clen, &err)) die(err.msg);
    free(ctext);
    if (T > cfg.max_positions - (cfg.family == AFFECT_FAMILY_ROBERTA ? cfg.pad_id + 1 : 0))
        die("sequence longer than the model's positions");
    affect_trainer *tr;
    if (affect_trainer_new(&tr, &cfg, NUM_LABELS, &err)) die(err.msg);
    init_params(tr, seed);

    /* the batch */
    size_t n = (size_t)B * T;
    int32_t *ids = xcalloc(n, sizeof *ids), *mask = xcalloc(n, sizeof *mask);
    float *labels = xcalloc((size_t)B * NUM_LABELS, sizeof *labels);
    float *inten = xcalloc((size_t)B, sizeof *inten), pos_weight[NUM_LABELS];
    uint8_t *int_row = xcalloc((size_t)B, 1);
    uint64_t s = seed ^ 0xABCDEFull;
    int lo = cfg.pad_id + 1, span = cfg.vocab_size - lo;
    for (size_t i = 0; i < n; i++) {
        ids[i] = lo + (int32_t)(next_u64(&s) % (uint64_t)span);
        mask[i] = 1;
    }
    for (int b = 0; b < B; b++) {
        int any = 0;
        for (int l = 0; l < NUM_LABELS; l++) {
            float y = uniform(&s) < 0.12 ? 1.0f : 0.0f;
            labels[(size_t)b * NUM_LABELS + l] = y;
            any |= y > 0.0f;
        }
        if (!any) labels[(size_t)b * NUM_LABELS + next_u64(&s) % NUM_LABELS] = 1.0f;
        inten[b] = (float)uniform(&s);
        int_row[b] = (uint8_t)(b % 2 == 0);
    }
    for (int l = 0; l < NUM_LABELS; l++) pos_weight[l] = (float)(1.0 + 4.0 * uniform(&s));
    affect_train_batch batch = {B, T, ids, mask, labels, NULL, NULL, inten, int_row};

    affect_train_opts o = affect_train_opts_defaults();
    o.pos_weight = pos_weight;
    o.lr = 3e-5;
    o.schedule = AFFECT_LR_CONSTANT;
    o.total_steps = warm + steps;
    o.adam.weight_decay = 0.01;
    o.max_grad_norm = 1.0f;
    o.hidden_dropout = 0.0f; /* dropout off, as in the PyTorch peer */
    o.attn_dropout = 0.0f;

    double step_ms[MAX_STEPS], micro_ms[MAX_STEPS], opt_ms[MAX_STEPS], loss[MAX_STEPS];
    for (int i = 0; i < warm + steps; i++) {
        if (i == warm)
            for (int k = 0; k < G_N; k++) gemm_ms[k] = 0.0, gemm_calls[k] = 0;
        affect_loss_parts lp;
        double t0 = now_ms();
        if (affect_train_micro_step(tr, &batch, &o, &lp, &err)) die(err.msg);
        double t1 = now_ms();
        if (affect_train_optimizer_step(tr, &o, NULL, &err)) die(err.msg);
        double t2 = now_ms();
        if (i >= warm) {
            int k = i - warm;
            micro_ms[k] = t1 - t0;
            opt_ms[k] = t2 - t1;
            step_ms[k] = t2 - t0;
            loss[k] = lp.loss;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double sorted[MAX_STEPS];
    memcpy(sorted, step_ms, (size_t)steps * sizeof *sorted);
    qsort(sorted, (size_t)steps, sizeof *sorted, cmp_double);
    printf("{\"engine\":\"affect\",\"corename\":\"%s\",\"threads\":%d,\"B\":%d,\"T\":%d,"
           "\"median_ms\":%.4f,",
           openblas_get_corename(), threads, B, T, sorted[steps / 2]);
    print_list("step_ms", step_ms, steps, 0);
    print_list("micro_ms", micro_ms, steps, 0);
    print_list("opt_ms", opt_ms, steps, 0);
    print_list("loss", loss, steps, 0);
    if (prof) {
        printf("\"gemm_ms\":{");
        for (int k = 0; k < G_N; k++)
            printf("%s\"%s\":[%.2f,%ld]", k ? "," : "", gemm_kind_name[k], gemm_ms[k] / steps,
                   gemm_calls[k] / steps);
        printf("},");
    }
    printf("\"peak_rss_mb\":%.1f}\n", (double)ru.ru_maxrss / 1024.0);
    affect_trainer_free(tr);
    free(ids);
    free(mask);
    free(labels);
    free(inten);
    free(int_row);
    return 0;
}
