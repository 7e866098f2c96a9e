/* The EmotionModel heads, forward and backward: see heads.h. */
#include "train/heads.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/kernels.h"
#include "train/encoder_backward.h"
#include "train/rng.h"
#include "util/error.h"

static const char *const NAMES[AFFECT_HEADS_NPARAMS] = {
    "heads.emotion.0.weight",   "heads.emotion.0.bias",   "heads.emotion.2.weight",
    "heads.emotion.2.bias",     "heads.intensity.0.weight", "heads.intensity.0.bias",
    "heads.intensity.2.weight", "heads.intensity.2.bias"};

const char *affect_heads_param_name(int i) {
    return i >= 0 && i < AFFECT_HEADS_NPARAMS ? NAMES[i] : NULL;
}

/* PyTorch shapes: (out, in) weights, (out) biases. */
void affect_heads_param_shape(int i, int H, int L, int *ndim, int64_t shape[2]) {
    static const int outs[AFFECT_HEADS_NPARAMS] = {0, 0, 1, 1, 0, 0, 2, 2}; /* 0:H 1:L 2:1 */
    int64_t out = outs[i] == 0 ? H : outs[i] == 1 ? L : 1;
    *ndim = (i % 2 == 0) ? 2 : 1;
    shape[0] = out;
    shape[1] = (i % 2 == 0) ? H : 0;
}

size_t affect_heads_param_sizes(int H, int L, size_t s[AFFECT_HEADS_NPARAMS]) {
    size_t h = (size_t)H, l = (size_t)L;
    if (H <= 0 || L <= 0 || h > SIZE_MAX / 8 / h || l > SIZE_MAX / 8 / h) return 0;
    s[0] = h * h; s[1] = h; s[2] = l * h; s[3] = l;
    s[4] = h * h; s[5] = h; s[6] = h; s[7] = 1;
    size_t total = 0;
    for (int i = 0; i < AFFECT_HEADS_NPARAMS; i++) total += s[i];
    return total;
}

void affect_heads_params_point(affect_heads_params *p, float *arena,
                               const size_t s[AFFECT_HEADS_NPARAMS]) {
    float **ptrs[AFFECT_HEADS_NPARAMS] = {&p->emo1w, &p->emo1b, &p->emo2w, &p->emo2b,
                                          &p->int1w, &p->int1b, &p->int2w, &p->int2b};
    float *at = arena;
    for (int i = 0; i < AFFECT_HEADS_NPARAMS; i++) {
        *ptrs[i] = at;
        at += s[i];
    }
}

/* Output biases start at the data's base rates so the first steps do not spend themselves
 * learning the label frequencies (the reference EmotionModel does the same). */
void affect_heads_init(affect_heads_params *p, int H, int L, uint64_t seed, float std,
                       const float *prior, float intensity_median) {
    size_t h = (size_t)H, l = (size_t)L;
    affect_rng_normal_fill(p->emo1w, h * h, seed, 0x4845414400000001ull, std);
    affect_rng_normal_fill(p->emo2w, l * h, seed, 0x4845414400000002ull, std);
    affect_rng_normal_fill(p->int1w, h * h, seed, 0x4845414400000003ull, std);
    affect_rng_normal_fill(p->int2w, h, seed, 0x4845414400000004ull, std);
    memset(p->emo1b, 0, h * sizeof(float));
    memset(p->int1b, 0, h * sizeof(float));
    for (int j = 0; j < L; j++) {
        double q = prior ? prior[j] : 0.5;
        if (!(q >= 1e-4)) q = 1e-4; /* also catches NaN */
        if (q > 1.0 - 1e-4) q = 1.0 - 1e-4;
        p->emo2b[j] = (float)log(q / (1.0 - q));
    }
    p->int2b[0] = intensity_median;
}

int affect_heads_acts_alloc(affect_heads_acts *a, int B, int H, int L, affect_error *err) {
    if (B <= 0 || H <= 0 || L <= 0)
        return affect_fail(err, AFFECT_EARG, "heads: bad shape (B=%d, H=%d, L=%d)", B, H, L);
    size_t b = (size_t)B, h = (size_t)H, l = (size_t)L;
    if (h > SIZE_MAX / 8 / b || l > SIZE_MAX / 8 / b)
        return affect_fail(err, AFFECT_ENOMEM, "heads: activations for %d rows are too large", B);
    size_t sz[7] = {b * h, b * h, b * l, b * h, b * h, b, b * h};
    size_t total = 0;
    for (int i = 0; i < 7; i++) total += sz[i];
    if (!a->arena || total > a->cap) {
        float *na = malloc(total * sizeof(float));
        if (!na) return affect_fail(err, AFFECT_ENOMEM, "heads: out of memory for %d rows", B);
        free(a->arena);
        a->arena = na;
        a->cap = total;
    }
    float **ptr[7] = {&a->emo_pre, &a->emo_hid, &a->logits, &a->int_pre,
                      &a->int_hid, &a->intensity, &a->dhid};
    float *at = a->arena;
    for (int i = 0; i < 7; i++) {
        *ptr[i] = at;
        at += sz[i];
    }
    a->B = B;
    return AFFECT_OK;
}

void affect_heads_acts_free(affect_heads_acts *a) {
    if (!a) return;
    free(a->arena);
    memset(a, 0, sizeof *a);
}

void affect_heads_forward(const affect_heads_params *p, affect_heads_acts *a,
                          const float *pooled, int B, int H, int L) {
    // pooled (B,H)
    size_t n = (size_t)B * H;
    linear_forward(a->emo_pre, pooled, p->emo1w, p->emo1b, NULL, B, H, H);
    gelu_forward(a->emo_hid, a->emo_pre, n);
    linear_forward(a->logits, a->emo_hid, p->emo2w, p->emo2b, NULL, B, H, L);
    linear_forward(a->int_pre, pooled, p->int1w, p->int1b, NULL, B, H, H);
    gelu_forward(a->int_hid, a->int_pre, n);
    linear_forward(a->intensity, a->int_hid, p->int2w, p->int2b, NULL, B, H, 1);
}

/* Each head's chain backwards; both heads' input gradients add into dpooled (the emotion head
 * writes it, the intensity head accumulates). With dintensity NULL the intensity head gets
 * no gradient at all (its parameters' grads stay as they were). */
void affect_heads_backward(const affect_heads_params *p, affect_heads_params *g,
                           affect_heads_acts *a, const float *pooled, const float *dlogits,
                           const float *dintensity, const float *dfeat, float *dpooled, int B,
                           int H, int L) {
    size_t n = (size_t)B * H;
    float *dh = a->dhid; // (B,H)
    /* emotion: dz = dlogits·W2 (+ dfeat), du = dz·GELU'(u) */
    linear_backward(dh, g->emo2w, g->emo2b, dlogits, a->emo_hid, p->emo2w, B, H, L, 0);
    if (dfeat)
        for (size_t i = 0; i < n; i++) dh[i] += dfeat[i];
    gelu_backward(dh, a->emo_pre, dh, n);
    linear_backward(dpooled, g->emo1w, g->emo1b, dh, pooled, p->emo1w, B, H, H, 0);
    if (!dintensity) return;
    linear_backward(dh, g->int2w, g->int2b, dintensity, a->int_hid, p->int2w, B, H, 1, 0);
    gelu_backward(dh, a->int_pre, dh, n);
    linear_backward(dpooled, g->int1w, g->int1b, dh, pooled, p->int1w, B, H, H, 1);
}
