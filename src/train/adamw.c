/* torch.optim.AdamW in float32: see adamw.h for the formula and the operation order. */
#include "train/adamw.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

affect_adamw_hparams affect_adamw_defaults(void) {
    affect_adamw_hparams h = {0.9, 0.999, 1e-8, 0.01};
    return h;
}

/* Each line mirrors one torch in-place op; scalars are rounded to float the way a Python
 * number becomes a float32 kernel argument. torch's CPU kernels fuse two of the steps:
 * `add_(g, alpha=a)` is fma(g, a, self) and `addcmul_(g, g, value=c)` is fma(c*g, g, self);
 * writing those two as fmaf makes the result bit-identical to torch 1.13 (measured on an
 * AVX2/AVX-512 host). Without hardware FMA, fmaf is a libm call: slower, still exact. */
void affect_adamw_update(float *param, const float *grad, float *m, float *v, size_t n,
                         const affect_adamw_hparams *h, double lr, int64_t step, int decay) {
    const double wd = decay ? h->weight_decay : 0.0;
    const float decay_factor = (float)(1.0 - lr * wd);
    const float beta1 = (float)h->beta1, one_minus_beta1 = (float)(1.0 - h->beta1);
    const float beta2 = (float)h->beta2, one_minus_beta2 = (float)(1.0 - h->beta2);
    const double bc1 = 1.0 - pow(h->beta1, (double)step);
    const double bc2 = 1.0 - pow(h->beta2, (double)step);
    const float neg_step_size = (float)(-(lr / bc1));
    const float bc2_sqrt = (float)sqrt(bc2);
    const float eps = (float)h->eps;
    for (size_t i = 0; i < n; i++) {
        float g = grad[i];
        float p = param[i] * decay_factor;
        float mi = fmaf(g, one_minus_beta1, m[i] * beta1);
        float vi = fmaf(one_minus_beta2 * g, g, v[i] * beta2);
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        param[i] = p + neg_step_size * mi / denom;
        m[i] = mi;
        v[i] = vi;
    }
}

/* Case-insensitive "does s[0..len) contain needle". */
static int span_contains_ci(const char *s, size_t len, const char *needle) {
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++) {
        size_t j = 0;
        while (j < k && tolower((unsigned char)s[i + j]) == needle[j]) j++;
        if (j == k) return 1;
    }
    return 0;
}

/* Whether one dotted component names a normalisation layer. */
static int component_is_norm(const char *s, size_t len) {
    if (span_contains_ci(s, len, "layernorm") || span_contains_ci(s, len, "layer_norm"))
        return 1;
    if (len == 4 && span_contains_ci(s, len, "norm")) return 1;
    if (len >= 2 && tolower((unsigned char)s[0]) == 'l' && tolower((unsigned char)s[1]) == 'n') {
        if (len == 2) return 1;
        if (s[2] == '_' || isdigit((unsigned char)s[2])) return 1;
    }
    return 0;
}

int affect_param_decays(const char *name) {
    if (!name) return 1;
    const char *s = name;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (component_is_norm(s, len)) return 0;
        if (!dot) return !span_contains_ci(s, len, "bias");
        s = dot + 1;
    }
}
