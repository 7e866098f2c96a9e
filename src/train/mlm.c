/* Masked-LM masking and prediction head: see mlm.h. */
#include "train/mlm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/gemm.h"
#include "train/linear_train.h"
#include "train/rng.h"
#include "train/train_kernels.h"
#include "util/error.h"

static const char *const NAMES[AFFECT_MLM_NPARAMS] = {
    "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
    "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias",
    "cls.predictions.bias"};

const char *affect_mlm_param_name(int i) { return i >= 0 && i < AFFECT_MLM_NPARAMS ? NAMES[i] : NULL; }

void affect_mlm_param_shape(int i, int H, int V, int *ndim, int64_t shape[2]) {
    *ndim = i == 0 ? 2 : 1;
    shape[0] = i == 4 ? V : H;
    shape[1] = i == 0 ? H : 0;
}

size_t affect_mlm_param_sizes(int H, int V, size_t s[AFFECT_MLM_NPARAMS]) {
    size_t h = (size_t)H, v = (size_t)V;
    if (H <= 0 || V <= 0 || h > SIZE_MAX / 8 / h || v > SIZE_MAX / 8) return 0;
    s[0] = h * h;
    s[1] = h;
    s[2] = h;
    s[3] = h;
    s[4] = v;
    return s[0] + s[1] + s[2] + s[3] + s[4];
}

void affect_mlm_params_point(affect_mlm_params *p, float *arena, const size_t s[AFFECT_MLM_NPARAMS]) {
    float **ptrs[AFFECT_MLM_NPARAMS] = {&p->dense_w, &p->dense_b, &p->ln_w, &p->ln_b, &p->bias};
    float *at = arena;
    for (int i = 0; i < AFFECT_MLM_NPARAMS; i++) {
        *ptrs[i] = at;
        at += s[i];
    }
}

/* HF's _init_weights for the head, from the counter RNG like every other initialisation. */
void affect_mlm_init(affect_mlm_params *p, int H, int V, uint64_t seed, float std) {
    affect_rng_normal_fill(p->dense_w, (size_t)H * (size_t)H, seed, 0x4d4c4dull, std);
    for (int i = 0; i < H; i++) {
        p->dense_b[i] = 0.0f;
        p->ln_w[i] = 1.0f;
        p->ln_b[i] = 0.0f;
    }
    memset(p->bias, 0, (size_t)V * sizeof(float));
}

/* Three uniforms per position (chosen?, which replacement?, which random id?) from disjoint
 * index ranges of one stream, so every decision depends only on the position. */
int affect_mlm_mask(int32_t *out_ids, int32_t *pos, int32_t *target, const int32_t *ids,
                    const int32_t *mask, int B, int T, const int32_t *special, int n_special,
                    int32_t mask_id, int vocab_size, double p, uint64_t seed, uint64_t stream) {
    size_t n = (size_t)B * (size_t)T;
    int M = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        out_ids[i] = id;
        if (!mask[i]) continue;
        int skip = 0;
        for (int k = 0; k < n_special; k++) skip |= special[k] == id;
        if (skip) continue;
        if (affect_rng_uniform(seed, stream, 3 * (uint64_t)i) >= p) continue;
        pos[M] = (int32_t)i;
        target[M] = id;
        M++;
        float r = affect_rng_uniform(seed, stream, 3 * (uint64_t)i + 1);
        if (r < 0.8f) {
            out_ids[i] = mask_id;
        } else if (r < 0.9f) {
            uint32_t w = affect_rng_u32(seed, stream, 3 * (uint64_t)i + 2);
            out_ids[i] = (int32_t)(((uint64_t)w * (uint64_t)vocab_size) >> 32);
        }
    }
    return M;
}

void affect_mlm_acts_free(affect_mlm_acts *a) {
    free(a->arena);
    memset(a, 0, sizeof *a);
}

/* One arena for every buffer, grown only when (M, H, V) needs more. */
int affect_mlm_acts_alloc(affect_mlm_acts *a, int M, int H, int V, affect_error *err) {
    if (M < 1) M = 1;
    size_t m = (size_t)M, h = (size_t)H, v = (size_t)V;
    size_t wp = affect_panels_floats(V, H), wp2 = affect_panels_floats(H, V), wp3 = affect_panels_floats(H, H);
    if (wp2 > wp) wp = wp2;
    if (wp3 > wp) wp = wp3;
    size_t bp = affect_panels_floats(H, M), bp2 = affect_panels_floats(V, M);
    if (bp2 > bp) bp = bp2;
    size_t at = (v > h ? v : h) * m;
    size_t sz[12] = {m * h, m * h, m * h, m * h, m, m, m * v, m * h, m * h, wp, at, bp};
    size_t total = 0;
    for (int i = 0; i < 12; i++) total += sz[i];
    if (total > a->cap) {
        float *nb = malloc(total * sizeof *nb);
        if (!nb) return affect_fail(err, AFFECT_ENOMEM, "mlm: out of memory for %d masked positions", M);
        free(a->arena);
        a->arena = nb;
        a->cap = total;
    }
    float **ptr[12] = {&a->sel, &a->pre, &a->gel, &a->t, &a->mean, &a->rstd, &a->logits, &a->dt, &a->dsel,
                       &a->wpan, &a->at, &a->bpan};
    float *at_ = a->arena;
    for (int i = 0; i < 12; i++) {
        *ptr[i] = at_;
        at_ += sz[i];
    }
    a->M = M;
    a->H = H;
    a->V = V;
    return AFFECT_OK;
}

/* Gathers the chosen rows and runs the head up to the logits. */
static void head_forward(const affect_mlm_params *p, const float *wte, affect_mlm_acts *a, const float *hidden,
                         const int32_t *pos, int M, int H, int V, float eps) {
    for (int i = 0; i < M; i++)
        memcpy(a->sel + (size_t)i * H, hidden + (size_t)pos[i] * H, (size_t)H * sizeof(float));
    train_linear_forward(a->pre, a->sel, p->dense_w, p->dense_b, NULL, M, H, H, a->wpan);
    train_gelu_forward(a->gel, a->pre, (size_t)M * H);
    train_layernorm_forward(a->t, a->mean, a->rstd, a->gel, p->ln_w, p->ln_b, M, H, eps);
    train_linear_forward(a->logits, a->t, wte, p->bias, NULL, M, H, V, a->wpan);
}

/* Cross-entropy of each row against its target, summed (log-sum-exp with the max taken
 * out); with dscale != 0 the row becomes its gradient (softmax - onehot)·dscale in place. */
static double cross_entropy(float *logits, const int32_t *target, int M, int V, float dscale) {
    double sum = 0;
    for (int i = 0; i < M; i++) {
        float *z = logits + (size_t)i * V;
        float mx = z[0];
        for (int j = 1; j < V; j++) mx = z[j] > mx ? z[j] : mx;
        double se = 0;
        for (int j = 0; j < V; j++) se += exp((double)(z[j] - mx));
        double lse = (double)mx + log(se);
        sum += lse - (double)z[target[i]];
        if (dscale != 0.0f) {
            for (int j = 0; j < V; j++) z[j] = (float)(exp((double)z[j] - lse) * dscale);
            z[target[i]] -= dscale;
        }
    }
    return sum;
}

double affect_mlm_loss(const affect_mlm_params *p, const float *wte, affect_mlm_acts *a, const float *hidden,
                       const int32_t *pos, const int32_t *target, int M, int H, int V, float eps) {
    if (M <= 0) return 0.0;
    head_forward(p, wte, a, hidden, pos, M, H, V, eps);
    return cross_entropy(a->logits, target, M, V, 0.0f) / M;
}

void affect_mlm_step(const affect_mlm_params *p, affect_mlm_params *g, const float *wte, float *gwte,
                     affect_mlm_acts *a, const float *hidden, size_t rows, const int32_t *pos,
                     const int32_t *target, int M, int H, int V, float eps, float scale, double *loss,
                     float *dhidden) {
    memset(dhidden, 0, rows * (size_t)H * sizeof(float));
    *loss = 0.0;
    if (M <= 0) return;
    head_forward(p, wte, a, hidden, pos, M, H, V, eps);
    *loss = cross_entropy(a->logits, target, M, V, scale / (float)M) / M;
    /* decoder (tied): dt = dlogits·E, dE += dlogitsᵀ·t, dbias += Σ dlogits */
    train_linear_backward(a->dt, gwte, g->bias, a->logits, a->t, wte, M, H, V, 0, a->wpan, a->at, a->bpan);
    train_layernorm_backward(a->dt, g->ln_w, g->ln_b, a->dt, a->gel, a->mean, a->rstd, p->ln_w, M, H);
    train_gelu_backward(a->dt, a->pre, a->dt, (size_t)M * H);
    train_linear_backward(a->dsel, g->dense_w, g->dense_b, a->dt, a->sel, p->dense_w, M, H, H, 0, a->wpan, a->at,
                          a->bpan);
    for (int i = 0; i < M; i++) {
        float *d = dhidden + (size_t)pos[i] * H;
        const float *s = a->dsel + (size_t)i * H;
        for (int j = 0; j < H; j++) d[j] += s[j];
    }
}
