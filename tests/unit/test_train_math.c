/* Edge cases of the training math in src/train (the PyTorch comparison of the ordinary cases
 * is tests/test_train_math_torch.py): empty masks give 0 and never NaN, caps hold, extreme
 * logits stay finite, random streams are reproducible and chunking-independent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/adamw.h"
#include "train/clip.h"
#include "train/dropout.h"
#include "train/loss.h"
#include "train/rng.h"
#include "train/schedule.h"

static int g_fail;

#define CHECK(cond, ...)                                          \
    do {                                                          \
        if (!(cond)) {                                            \
            g_fail++;                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
            fprintf(stderr, __VA_ARGS__);                         \
            fprintf(stderr, "\n");                                \
        }                                                         \
    } while (0)

static int all_zero(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f || signbit(x[i])) return 0;
    return 1;
}

/* A masked-out batch must be a no-op for training: loss exactly 0, gradient exactly +0. */
static void test_all_masked(void) {
    enum { B = 3, L = 4, D = 5 };
    float x[B * L], y[B * L], g[B * L], pw[L] = {1, 2, 3, 50};
    uint8_t rows[B] = {0, 0, 0}, mask[B * L];
    for (int i = 0; i < B * L; i++) {
        x[i] = (float)(i - 6) * 3.0f;
        y[i] = (float)(i % 2);
        mask[i] = 1;
        g[i] = 123.0f;
    }
    double l = affect_bce_logits_forward(x, y, pw, rows, mask, B, L);
    affect_bce_logits_backward(g, x, y, pw, rows, mask, B, L, 1.0f);
    CHECK(l == 0.0 && all_zero(g, B * L), "bce with all rows masked: loss %g", l);
    memset(mask, 0, sizeof mask);
    l = affect_bce_logits_forward(x, y, pw, NULL, mask, B, L);
    affect_bce_logits_backward(g, x, y, pw, NULL, mask, B, L, 1.0f);
    CHECK(l == 0.0 && all_zero(g, B * L), "bce with all labels masked: loss %g", l);

    l = affect_l1_forward(x, y, rows, B, L);
    affect_l1_backward(g, x, y, rows, B, L, 1.0f);
    CHECK(l == 0.0 && all_zero(g, B * L), "l1 with all rows masked: loss %g", l);
    l = affect_mse_forward(x, y, rows, B, L);
    affect_mse_backward(g, x, y, rows, B, L, 1.0f);
    CHECK(l == 0.0 && all_zero(g, B * L), "mse with all rows masked: loss %g", l);

    float f[B * D], df[B * D];
    uint8_t pos[B * B] = {0}, neg[B * B] = {0};
    for (int i = 0; i < B * D; i++) f[i] = (float)((i * 7) % 5) - 2.0f;
    for (int r = 0; r < 2; r++) {
        affect_ms_params p = affect_ms_defaults();
        p.reduction = r ? AFFECT_MS_MEAN_ACTIVE : AFFECT_MS_MEAN_ALL;
        affect_error err;
        double ms = -1;
        int rc = affect_ms_loss_forward(&ms, f, pos, neg, B, D, &p, &err);
        rc |= affect_ms_loss_backward(df, f, pos, neg, B, D, &p, 1.0f, &err);
        CHECK(rc == 0 && ms == 0.0 && all_zero(df, B * D), "ms without pairs: rc %d loss %g", rc,
              ms);
    }
    /* Empty batch too. */
    double ms = -1;
    affect_ms_params p = affect_ms_defaults();
    CHECK(affect_ms_loss_forward(&ms, NULL, NULL, NULL, 0, D, &p, NULL) == 0 && ms == 0.0,
          "ms with B=0");
}

/* Logits far beyond exp's float range must give finite, correct losses and gradients. */
static void test_extreme_logits(void) {
    float x[6] = {100.0f, -100.0f, 100.0f, -100.0f, 1e4f, -1e4f};
    float y[6] = {1, 1, 0, 0, 0, 1};
    float pw[6] = {50, 50, 50, 50, 50, 50};
    float g[6];
    for (int k = 0; k < 6; k++) {
        double l = affect_bce_logits_forward(x + k, y + k, pw + k, NULL, NULL, 1, 1);
        affect_bce_logits_backward(g + k, x + k, y + k, pw + k, NULL, NULL, 1, 1, 1.0f);
        double want_l = y[k] ? (x[k] > 0 ? 0.0 : -50.0 * x[k]) : (x[k] > 0 ? x[k] : 0.0);
        double want_g = y[k] ? (x[k] > 0 ? 0.0 : -50.0) : (x[k] > 0 ? 1.0 : 0.0);
        CHECK(isfinite(l) && fabs(l - want_l) <= 1e-9 * (1 + fabs(want_l)),
              "bce(x=%g, y=%g, pw=50) = %.17g, want %g", x[k], y[k], l, want_l);
        CHECK(isfinite(g[k]) && fabs(g[k] - want_g) <= 1e-6,
              "dbce(x=%g, y=%g, pw=50) = %g, want %g", x[k], y[k], g[k], want_g);
    }
}

/* neg/pos, capped; labels without positives get the cap; masked elements are not counted. */
static void test_pos_weight(void) {
    enum { N = 10, L = 3 };
    float t[N * L];
    uint8_t m[N * L];
    for (int r = 0; r < N; r++) {
        t[r * L + 0] = r < 2 ? 1.0f : 0.0f; /* 2 pos, 8 neg -> 4 */
        t[r * L + 1] = 0.0f;                /* no positives -> cap */
        t[r * L + 2] = r == 0 ? 1.0f : 0.0f; /* 1 pos, 9 neg -> 9, above cap 5 */
        for (int l = 0; l < L; l++) m[r * L + l] = 1;
    }
    float pw[L];
    affect_bce_pos_weight(pw, t, NULL, N, L, 5.0f);
    CHECK(pw[0] == 4.0f && pw[1] == 5.0f && pw[2] == 5.0f, "pos_weight %g %g %g, want 4 5 5",
          pw[0], pw[1], pw[2]);
    m[9 * L + 0] = m[8 * L + 0] = 0; /* two negatives of label 0 have no target: 6/2 = 3 */
    affect_bce_pos_weight(pw, t, m, N, L, 50.0f);
    CHECK(pw[0] == 3.0f && pw[1] == 50.0f && pw[2] == 9.0f, "masked pos_weight %g %g %g, want 3 50 9",
          pw[0], pw[1], pw[2]);
}

/* Random123's known answers, and reproducibility regardless of how a range is split. */
static void test_rng(void) {
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1}};
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        affect_philox4x32_10(kat[k], kat[k] + 4, out);
        CHECK(memcmp(out, kat[k] + 6, sizeof out) == 0, "philox KAT %d: %08x %08x %08x %08x", k,
              out[0], out[1], out[2], out[3]);
    }
    enum { N = 1003 };
    static float whole[N], parts[N];
    affect_rng_uniform_fill(whole, N, 42, 7, 5);
    size_t cuts[] = {0, 1, 2, 7, 64, 65, 500, 999, N};
    for (size_t c = 0; c + 1 < sizeof cuts / sizeof cuts[0]; c++)
        affect_rng_uniform_fill(parts + cuts[c], cuts[c + 1] - cuts[c], 42, 7, 5 + cuts[c]);
    CHECK(memcmp(whole, parts, sizeof whole) == 0, "uniform fill depends on chunking");
    double sum = 0;
    int in_range = 1, same_as_other_stream = 0;
    for (int i = 0; i < N; i++) {
        sum += whole[i];
        in_range &= whole[i] >= 0.0f && whole[i] < 1.0f;
        CHECK(whole[i] == affect_rng_uniform(42, 7, 5 + (uint64_t)i), "uniform(%d) != fill", i);
        same_as_other_stream += whole[i] == affect_rng_uniform(42, 8, 5 + (uint64_t)i);
        same_as_other_stream += whole[i] == affect_rng_uniform(43, 7, 5 + (uint64_t)i);
    }
    CHECK(in_range, "uniform outside [0,1)");
    CHECK(fabs(sum / N - 0.5) < 0.05, "uniform mean %g", sum / N);
    CHECK(same_as_other_stream < 3, "streams/seeds not independent (%d equal)", same_as_other_stream);
}

/* Dropout: rate, scale, mask regeneration, chunk independence, eval and p = 1. */
static void test_dropout(void) {
    enum { N = 20000 };
    static float in[N], out[N], out2[N], din[N], din2[N];
    static uint8_t mask[N];
    for (int i = 0; i < N; i++) in[i] = (float)(i % 13) - 6.0f + 0.5f;
    affect_dropout d = {0.1f, 1, 1234, 3, 0};
    affect_dropout_forward(out, mask, in, N, &d);
    int dropped = 0, scaled_ok = 1;
    const float scale = 1.0f / (1.0f - 0.1f);
    for (int i = 0; i < N; i++) {
        dropped += !mask[i];
        scaled_ok &= mask[i] ? out[i] == in[i] * scale : out[i] == 0.0f;
    }
    CHECK(dropped > N * 0.085 && dropped < N * 0.115, "dropped %d of %d at p=0.1", dropped, N);
    CHECK(scaled_ok, "kept values not scaled by 1/(1-p)");
    /* Same mask from two half calls addressed by `first`. */
    affect_dropout d1 = d, d2 = d;
    d2.first = N / 2;
    affect_dropout_forward(out2, NULL, in, N / 2, &d1);
    affect_dropout_forward(out2 + N / 2, NULL, in + N / 2, N - N / 2, &d2);
    CHECK(memcmp(out, out2, sizeof out) == 0, "dropout depends on chunking");
    /* Backward: stored mask == regenerated mask. */
    affect_dropout_backward(din, in, mask, N, &d);
    affect_dropout_backward(din2, in, NULL, N, &d);
    CHECK(memcmp(din, din2, sizeof din) == 0, "regenerated mask differs from stored");
    CHECK(memcmp(din, out, sizeof din) == 0, "backward of dout=in should equal forward");
    /* Another stream gives another mask. */
    affect_dropout d3 = d;
    d3.stream = 4;
    affect_dropout_forward(out2, NULL, in, N, &d3);
    CHECK(memcmp(out, out2, sizeof out) != 0, "stream does not change the mask");
    /* Eval is the identity, in place too. */
    affect_dropout e = d;
    e.training = 0;
    memcpy(out2, in, sizeof in);
    affect_dropout_forward(out2, mask, out2, N, &e);
    CHECK(memcmp(out2, in, sizeof in) == 0 && mask[0] == 1 && mask[N - 1] == 1, "eval not identity");
    affect_dropout all = d;
    all.p = 1.0f;
    affect_dropout_forward(out2, NULL, in, N, &all);
    affect_dropout_backward(din, in, NULL, N, &all);
    CHECK(all_zero(out2, N) && all_zero(din, N), "p=1 must zero everything");
}

/* Schedule end points and warmup rounding. */
static void test_schedules(void) {
    CHECK(affect_warmup_steps(0, 0.1, 1000) == 100, "warmup 0.1*1000");
    CHECK(affect_warmup_steps(0, 0.06, 347) == 21, "warmup ceil(20.82)");
    CHECK(affect_warmup_steps(5, 0.5, 1000) == 5, "explicit warmup steps win");
    CHECK(affect_lr_multiplier(AFFECT_LR_LINEAR, 0, 10, 100, 0.5) == 0.0, "first warmup step is 0");
    CHECK(affect_lr_multiplier(AFFECT_LR_LINEAR, 5, 10, 100, 0.5) == 0.5, "mid warmup");
    CHECK(affect_lr_multiplier(AFFECT_LR_LINEAR, 10, 10, 100, 0.5) == 1.0, "peak");
    CHECK(affect_lr_multiplier(AFFECT_LR_LINEAR, 100, 10, 100, 0.5) == 0.0, "linear end");
    CHECK(affect_lr_multiplier(AFFECT_LR_LINEAR, 150, 10, 100, 0.5) == 0.0, "linear past end");
    CHECK(affect_lr_multiplier(AFFECT_LR_COSINE, 10, 10, 100, 0.5) == 1.0, "cosine peak");
    CHECK(fabs(affect_lr_multiplier(AFFECT_LR_COSINE, 55, 10, 100, 0.5) - 0.5) < 1e-15,
          "cosine half way");
    CHECK(affect_lr_multiplier(AFFECT_LR_COSINE, 100, 10, 100, 0.5) < 1e-15, "cosine end");
    CHECK(affect_lr_multiplier(AFFECT_LR_CONSTANT, 50, 10, 100, 0.5) == 1.0, "constant");
    CHECK(affect_lr_multiplier(AFFECT_LR_LINEAR, 0, 0, 0, 0.5) == 0.0, "total 0 does not divide by 0");
    CHECK(affect_lr_schedule_from_name("cosine") == AFFECT_LR_COSINE &&
              affect_lr_schedule_from_name("linear") == AFFECT_LR_LINEAR &&
              affect_lr_schedule_from_name("bogus") == -1,
          "schedule names");
}

/* Clipping, finiteness and arena helpers. */
static void test_clip(void) {
    float a[3] = {3, 0, 0}, b[1] = {4};
    affect_fspan sp[2] = {{a, 3}, {b, 1}};
    float n = affect_clip_grad_norm(sp, 2, 1.0f);
    CHECK(n == 5.0f, "norm %g, want 5", n);
    CHECK(fabsf(a[0] - 0.6f) < 1e-6f && fabsf(b[0] - 0.8f) < 1e-6f, "clipped to %g %g", a[0], b[0]);
    n = affect_clip_grad_norm(sp, 2, 10.0f);
    CHECK(fabsf(n - 1.0f) < 1e-6f && fabsf(a[0] - 0.6f) < 1e-6f, "no clip below max_norm");
    b[0] = NAN;
    n = affect_clip_grad_norm(sp, 2, 1.0f);
    CHECK(isnan(n) && a[0] == a[0] && fabsf(a[0] - 0.6f) < 1e-6f, "NaN norm must leave grads alone");
    CHECK(!affect_all_finite(b, 1), "NaN not detected");
    b[0] = INFINITY;
    CHECK(!affect_all_finite(b, 1) && isinf(affect_clip_grad_norm(sp, 2, 1.0f)), "inf not detected");
    CHECK(affect_all_finite(a, 3), "finite flagged");
    CHECK(affect_all_finite(a, 0), "empty is finite");
    affect_grads_scale(a, 3, 0.5f);
    CHECK(fabsf(a[0] - 0.3f) < 1e-6f, "scale");
    affect_grads_zero(a, 3);
    CHECK(all_zero(a, 3), "zero");
}

/* Weight-decay groups by parameter name, and one AdamW step's shape. */
static void test_adamw(void) {
    static const struct {
        const char *name;
        int decays;
    } names[] = {
        {"bert.embeddings.LayerNorm.weight", 0},
        {"bert.embeddings.LayerNorm.bias", 0},
        {"bert.encoder.layer.0.attention.self.query.bias", 0},
        {"bert.encoder.layer.0.attention.self.query.weight", 1},
        {"distilbert.transformer.layer.3.sa_layer_norm.weight", 0},
        {"distilbert.transformer.layer.3.output_layer_norm.weight", 0},
        {"roberta.encoder.layer.11.output.dense.weight", 1},
        {"bert.embeddings.word_embeddings.weight", 1},
        {"classifier.weight", 1},
        {"classifier.bias", 0},
        {"transformer.ln_f.weight", 0},
        {"h.0.ln_1.weight", 0},
        {"encoder.norm.weight", 0},
        {"linear.weight", 1},
        {"lnx_proj.weight", 1},
        {"pre_classifier.weight", 1},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(affect_param_decays(names[i].name) == names[i].decays, "decay(%s) != %d",
              names[i].name, names[i].decays);

    affect_adamw_hparams h = affect_adamw_defaults();
    h.weight_decay = 0.1;
    float p[2] = {1.0f, 1.0f}, g[2] = {0.5f, -2.0f}, m[2] = {0, 0}, v[2] = {0, 0};
    affect_adamw_update(p, g, m, v, 2, &h, 0.01, 1, 1);
    /* Step 1: m_hat = g, v_hat = g^2, so the step is -lr * sign(g) (eps aside), after decay. */
    CHECK(fabsf(p[0] - (0.999f - 0.01f)) < 1e-6f && fabsf(p[1] - (0.999f + 0.01f)) < 1e-6f,
          "adamw step 1 with decay: %g %g", p[0], p[1]);
    float q[1] = {1.0f}, gq[1] = {0.5f}, mq[1] = {0}, vq[1] = {0};
    affect_adamw_update(q, gq, mq, vq, 1, &h, 0.01, 1, 0);
    CHECK(fabsf(q[0] - 0.99f) < 1e-6f, "adamw no-decay group: %g", q[0]);
    float z[1] = {1.0f}, gz[1] = {0.0f}, mz[1] = {0}, vz[1] = {0};
    affect_adamw_update(z, gz, mz, vz, 1, &h, 0.01, 1, 0);
    CHECK(z[0] == 1.0f && mz[0] == 0.0f && vz[0] == 0.0f, "zero gradient moved the parameter");
}

/* Bad multi-similarity arguments are errors with a message, not crashes. */
static void test_ms_errors(void) {
    float f[4] = {1, 0, 0, 1};
    uint8_t pm[4] = {0, 1, 1, 0};
    affect_ms_params p = affect_ms_defaults();
    p.alpha = 0.0;
    affect_error err = {0, ""};
    double l;
    int rc = affect_ms_loss_forward(&l, f, pm, pm, 2, 2, &p, &err);
    CHECK(rc == AFFECT_EARG && strstr(err.msg, "alpha") != NULL, "alpha=0: rc %d '%s'", rc, err.msg);
    p = affect_ms_defaults();
    rc = affect_ms_loss_forward(&l, f, pm, pm, 2, 0, &p, &err);
    CHECK(rc == AFFECT_EARG, "D=0: rc %d", rc);
    /* Two orthogonal unit vectors as positives: S = 0, l_i = 1/2 log(1 + e^0.8). */
    uint8_t none[4] = {0};
    rc = affect_ms_loss_forward(&l, f, pm, none, 2, 2, &p, &err);
    CHECK(rc == 0 && fabs(l - 0.5 * log1p(exp(0.8))) < 1e-12, "ms closed form: %.17g", l);
}

int main(void) {
    test_all_masked();
    test_extreme_logits();
    test_pos_weight();
    test_rng();
    test_dropout();
    test_schedules();
    test_clip();
    test_adamw();
    test_ms_errors();
    if (g_fail) {
        fprintf(stderr, "test_train_math: %d check(s) failed\n", g_fail);
        return 1;
    }
    printf("test_train_math: all checks passed\n");
    return 0;
}
