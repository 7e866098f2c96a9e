/* The optimizer step's fused, multi-threaded passes: see parallel_adamw.h. */
#include "train/parallel_adamw.h"

#include <math.h>
#include <string.h>

#include "model/parallel.h"

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define HAVE_X86_SIMD 1
#else
#define HAVE_X86_SIMD 0
#endif

#define NORM_CHUNK_MIN 65536 /* floats per partial sum of the norm */
#define NORM_MAX_CHUNKS 4096
#define ADAM_TASKS_PER_THREAD 4

/* ---- the global norm ------------------------------------------------------------------- */

typedef struct norm_job {
    const affect_fspan *spans;
    int nspans;
    size_t total, chunk, nchunks;
    double *partial;
} norm_job;

/* Sum of squares of the virtual concatenation of the spans over [lo, hi), with eight
 * independent accumulators (latency, not bandwidth, bounds one chain of double adds). */
static double sumsq_range(const norm_job *j, size_t lo, size_t hi) {
    double acc[8] = {0};
    size_t base = 0;
    for (int s = 0; s < j->nspans && base < hi; s++) {
        size_t n = j->spans[s].n, a = lo > base ? lo - base : 0, b = hi - base < n ? hi - base : n;
        const float *g = j->spans[s].data;
        base += n;
        if (a >= b) continue;
        size_t i = a;
        for (; i + 8 <= b; i += 8)
            for (int k = 0; k < 8; k++) acc[k] += (double)g[i + k] * (double)g[i + k];
        for (; i < b; i++) acc[0] += (double)g[i] * (double)g[i];
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static void norm_task(void *ctx, int i, int n) {
    norm_job *j = ctx;
    size_t c0 = j->nchunks * (size_t)i / (size_t)n, c1 = j->nchunks * (size_t)(i + 1) / (size_t)n;
    for (size_t c = c0; c < c1; c++) {
        size_t lo = c * j->chunk, hi = lo + j->chunk < j->total ? lo + j->chunk : j->total;
        j->partial[c] = sumsq_range(j, lo, hi);
    }
}

double affect_grad_norm_parallel(const affect_fspan *spans, int nspans) {
    double partial[NORM_MAX_CHUNKS];
    norm_job j = {spans, nspans, 0, NORM_CHUNK_MIN, 0, partial};
    for (int s = 0; s < nspans; s++) j.total += spans[s].n;
    if (j.total == 0) return 0.0;
    /* the chunking depends on the size alone, never on the thread count */
    if (j.total / NORM_CHUNK_MIN >= NORM_MAX_CHUNKS) j.chunk = j.total / (NORM_MAX_CHUNKS - 1) + 1;
    j.nchunks = (j.total + j.chunk - 1) / j.chunk;
    int threads = affect_parallel_threads();
    int tasks = (size_t)threads < j.nchunks ? threads : (int)j.nchunks;
    affect_parallel_for(tasks, norm_task, &j);
    double ss = 0.0;
    for (size_t c = 0; c < j.nchunks; c++) ss += partial[c];
    return sqrt(ss);
}

/* ---- fused AdamW ------------------------------------------------------------------------ */

/* One tensor's scalars, computed exactly as affect_adamw_update computes them. */
typedef struct adam_consts {
    float decay_factor, beta1, omb1, beta2, omb2, neg_step_size, bc2_sqrt, eps;
} adam_consts;

static adam_consts make_consts(const affect_adamw_hparams *h, double lr, int64_t step, int decay) {
    adam_consts c;
    const double wd = decay ? h->weight_decay : 0.0;
    c.decay_factor = (float)(1.0 - lr * wd);
    c.beta1 = (float)h->beta1;
    c.omb1 = (float)(1.0 - h->beta1);
    c.beta2 = (float)h->beta2;
    c.omb2 = (float)(1.0 - h->beta2);
    const double bc1 = 1.0 - pow(h->beta1, (double)step);
    const double bc2 = 1.0 - pow(h->beta2, (double)step);
    c.neg_step_size = (float)(-(lr / bc1));
    c.bc2_sqrt = (float)sqrt(bc2);
    c.eps = (float)h->eps;
    return c;
}

/* The reference element loop: affect_adamw_update's body, preceded by the clip scaling. */
static void adam_scalar(float *param, float *grad, float *m, float *v, size_t n,
                        const adam_consts *c, int scale_on, float scale) {
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        if (scale_on) g *= scale;
        float p = param[i] * c->decay_factor;
        float mi = fmaf(g, c->omb1, m[i] * c->beta1);
        float vi = fmaf(c->omb2 * g, g, v[i] * c->beta2);
        float denom = sqrtf(vi) / c->bc2_sqrt + c->eps;
        param[i] = p + c->neg_step_size * mi / denom;
        m[i] = mi;
        v[i] = vi;
        grad[i] = 0.0f;
    }
}

#if HAVE_X86_SIMD
/* The same operations, 16 lanes at a time (IEEE-exact lane by lane). */
__attribute__((target("avx512f"))) static size_t adam_avx512(float *param, float *grad, float *m,
                                                              float *v, size_t n,
                                                              const adam_consts *c, int scale_on,
                                                              float scale) {
    const __m512 df = _mm512_set1_ps(c->decay_factor), b1 = _mm512_set1_ps(c->beta1);
    const __m512 omb1 = _mm512_set1_ps(c->omb1), b2 = _mm512_set1_ps(c->beta2);
    const __m512 omb2 = _mm512_set1_ps(c->omb2), nss = _mm512_set1_ps(c->neg_step_size);
    const __m512 bc2s = _mm512_set1_ps(c->bc2_sqrt), eps = _mm512_set1_ps(c->eps);
    const __m512 sc = _mm512_set1_ps(scale), zero = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 g = _mm512_loadu_ps(grad + i);
        if (scale_on) g = _mm512_mul_ps(g, sc);
        __m512 p = _mm512_mul_ps(_mm512_loadu_ps(param + i), df);
        __m512 mi = _mm512_fmadd_ps(g, omb1, _mm512_mul_ps(_mm512_loadu_ps(m + i), b1));
        __m512 vi = _mm512_fmadd_ps(_mm512_mul_ps(omb2, g), g, _mm512_mul_ps(_mm512_loadu_ps(v + i), b2));
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), bc2s), eps);
        _mm512_storeu_ps(param + i, _mm512_add_ps(p, _mm512_div_ps(_mm512_mul_ps(nss, mi), denom)));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(grad + i, zero);
    }
    return i;
}

__attribute__((target("avx2,fma"))) static size_t adam_avx2(float *param, float *grad, float *m,
                                                             float *v, size_t n,
                                                             const adam_consts *c, int scale_on,
                                                             float scale) {
    const __m256 df = _mm256_set1_ps(c->decay_factor), b1 = _mm256_set1_ps(c->beta1);
    const __m256 omb1 = _mm256_set1_ps(c->omb1), b2 = _mm256_set1_ps(c->beta2);
    const __m256 omb2 = _mm256_set1_ps(c->omb2), nss = _mm256_set1_ps(c->neg_step_size);
    const __m256 bc2s = _mm256_set1_ps(c->bc2_sqrt), eps = _mm256_set1_ps(c->eps);
    const __m256 sc = _mm256_set1_ps(scale), zero = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(grad + i);
        if (scale_on) g = _mm256_mul_ps(g, sc);
        __m256 p = _mm256_mul_ps(_mm256_loadu_ps(param + i), df);
        __m256 mi = _mm256_fmadd_ps(g, omb1, _mm256_mul_ps(_mm256_loadu_ps(m + i), b1));
        __m256 vi = _mm256_fmadd_ps(_mm256_mul_ps(omb2, g), g, _mm256_mul_ps(_mm256_loadu_ps(v + i), b2));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), bc2s), eps);
        _mm256_storeu_ps(param + i, _mm256_add_ps(p, _mm256_div_ps(_mm256_mul_ps(nss, mi), denom)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(grad + i, zero);
    }
    return i;
}
#endif

/* 2 = AVX-512, 1 = AVX2+FMA, 0 = scalar; decided once (a benign race: every caller writes
 * the same value). */
static int simd_level(void) {
#if HAVE_X86_SIMD
    static int level = -1;
    if (level < 0) {
        __builtin_cpu_init();
        level = __builtin_cpu_supports("avx512f") ? 2
                : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1 : 0;
    }
    return level;
#else
    return 0;
#endif
}

static void adam_range(float *param, float *grad, float *m, float *v, size_t n,
                       const adam_consts *c, int scale_on, float scale, int level) {
    size_t done = 0;
#if HAVE_X86_SIMD
    if (level == 2) done = adam_avx512(param, grad, m, v, n, c, scale_on, scale);
    else if (level == 1) done = adam_avx2(param, grad, m, v, n, c, scale_on, scale);
#else
    (void)level;
#endif
    adam_scalar(param + done, grad + done, m + done, v + done, n - done, c, scale_on, scale);
}

typedef struct adam_job {
    const affect_adamw_item *items;
    size_t nitems, total;
    const affect_adamw_hparams *h;
    double lr;
    float scale;
    int level;
} adam_job;

/* Task i takes the i-th equal slice of the items laid end to end (slices are whole
 * 16-float groups), so every element is computed once, whatever thread runs the task. */
static void adam_task(void *ctx, int i, int n) {
    const adam_job *j = ctx;
    size_t groups = (j->total + 15) / 16;
    size_t lo = groups * (size_t)i / (size_t)n * 16, hi = groups * (size_t)(i + 1) / (size_t)n * 16;
    if (hi > j->total) hi = j->total;
    size_t base = 0;
    for (size_t k = 0; k < j->nitems && base < hi; k++) {
        const affect_adamw_item *it = &j->items[k];
        size_t a = lo > base ? lo - base : 0, b = hi - base < it->n ? hi - base : it->n;
        base += it->n;
        if (a >= b) continue;
        if (!it->update) {
            memset(it->grad + a, 0, (b - a) * sizeof(float));
            continue;
        }
        adam_consts c = make_consts(j->h, j->lr, it->step, it->decay);
        adam_range(it->param + a, it->grad + a, it->m + a, it->v + a, b - a, &c,
                   j->scale != 1.0f, j->scale, j->level);
    }
}

void affect_adamw_fused(const affect_adamw_item *items, size_t nitems,
                        const affect_adamw_hparams *h, double lr, float grad_scale) {
    adam_job j = {items, nitems, 0, h, lr, grad_scale, simd_level()};
    for (size_t k = 0; k < nitems; k++) j.total += items[k].n;
    if (j.total == 0) return;
    size_t tasks = (size_t)affect_parallel_threads() * ADAM_TASKS_PER_THREAD;
    size_t groups = (j.total + 15) / 16;
    if (tasks > groups) tasks = groups;
    affect_parallel_for((int)tasks, adam_task, &j);
}
