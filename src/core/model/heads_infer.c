/* A trained model's heads at inference time: see heads_infer.h. */
#include "heads_infer.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "util/error.h"
#include "util/json.h"

#define HEADS_MAX_LABELS 100000

void affect_heads_model_free(affect_heads_model *h) {
    if (!h) return;
    if (h->label_names)
        for (int i = 0; i < h->L; i++) free(h->label_names[i]);
    free(h->label_names);
    free(h->arena);
    free(h->scratch);
    memset(h, 0, sizeof *h);
}

/* A finite number member, or the default when absent; anything else is an error. */
static int get_num(const json_value *obj, const char *key, double dflt, double *out,
                   const char *source, affect_error *err) {
    const json_value *v = json_get(obj, key);
    if (!v) {
        *out = dflt;
        return AFFECT_OK;
    }
    if (v->type != JSON_NUMBER || !isfinite(v->number))
        return affect_fail(err, AFFECT_EFORMAT, "%s: \"%s\" must be a number", source, key);
    *out = v->number;
    return AFFECT_OK;
}

/* The metadata is checked as strictly as weights are: a heads file from another tool or a
 * newer format must not be half-understood. */
int affect_heads_meta_parse(affect_heads_model *h, const char *json, size_t len,
                            const char *source, affect_error *err) {
    memset(h, 0, sizeof *h);
    json_doc *doc = NULL;
    int rc = json_parse(&doc, json, len, err);
    if (rc) {
        char inner[sizeof err->msg];
        if (err) {
            memcpy(inner, err->msg, sizeof inner);
            affect_fail(err, AFFECT_EFORMAT, "%s: %.440s", source, inner);
        }
        return AFFECT_EFORMAT;
    }
    const json_value *root = json_root(doc);
    const json_value *labels = json_get(root, "label_names");
    const char *fmt = json_get_string(root, "format", NULL);
    const char *pool = json_get_string(root, "pool", "mean");
    const json_value *inten = json_get(root, "intensity");
    const json_value *maxlen = json_get(root, "max_length");
    double median = 0, tmin = 0, tmax = 1;
    if (root->type != JSON_OBJECT) {
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: not a JSON object", source);
    } else if (!fmt || strcmp(fmt, "affect-heads-1")) {
        rc = affect_fail(err, AFFECT_EUNSUPPORTED, "%s: format is \"%.40s\", expected \"affect-heads-1\"",
                         source, fmt ? fmt : "(missing)");
    } else if (!labels || labels->type != JSON_ARRAY || labels->len == 0 ||
               labels->len > HEADS_MAX_LABELS) {
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: \"label_names\" must be a non-empty list of strings",
                         source);
    } else if (strcmp(pool, "mean") && strcmp(pool, "cls")) {
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: \"pool\" is \"%.40s\", expected \"mean\" or \"cls\"",
                         source, pool);
    } else if (maxlen && !json_is_int(maxlen, 0, 1 << 24)) {
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: \"max_length\" must be a non-negative integer", source);
    } else if (inten && inten->type != JSON_OBJECT) {
        rc = affect_fail(err, AFFECT_EFORMAT, "%s: \"intensity\" must be an object", source);
    }
    if (!rc && inten) {
        const json_value *en = json_get(inten, "enabled");
        if (en && en->type != JSON_BOOL)
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: \"intensity.enabled\" must be true or false", source);
        else h->has_intensity = en ? en->boolean : 1;
        if (!rc) rc = get_num(inten, "median", 0, &median, source, err);
        if (!rc) rc = get_num(inten, "target_min", 0, &tmin, source, err);
        if (!rc) rc = get_num(inten, "target_max", 1, &tmax, source, err);
        const json_value *pre = json_get(inten, "emotion_prefix");
        if (!rc && pre && pre->type != JSON_BOOL)
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: \"intensity.emotion_prefix\" must be true or false", source);
        else if (!rc) h->intensity_prefix = pre ? pre->boolean : 0;
    }
    if (!rc) {
        h->L = (int)labels->len;
        h->pool = strcmp(pool, "cls") ? AFFECT_POOL_MEAN : AFFECT_POOL_CLS;
        h->max_length = maxlen ? (int)maxlen->number : 0;
        h->intensity_median = (float)median;
        h->target_min = (float)tmin;
        h->target_max = (float)tmax;
        h->label_names = calloc((size_t)h->L, sizeof *h->label_names);
        if (!h->label_names) rc = affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", source);
    }
    for (int i = 0; !rc && i < h->L; i++) {
        const json_value *v = &labels->items[i];
        if (v->type != JSON_STRING || v->len == 0 || strlen(v->str) != v->len) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: label_names[%d] must be a non-empty string",
                             source, i);
            break;
        }
        h->label_names[i] = malloc(v->len + 1);
        if (!h->label_names[i]) {
            rc = affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", source);
            break;
        }
        memcpy(h->label_names[i], v->str, v->len + 1);
    }
    json_free(doc);
    if (rc) affect_heads_model_free(h);
    return rc;
}

static const char *const HEAD_NAMES[8] = {
    "heads.emotion.0.weight",   "heads.emotion.0.bias",   "heads.emotion.2.weight",
    "heads.emotion.2.bias",     "heads.intensity.0.weight", "heads.intensity.0.bias",
    "heads.intensity.2.weight", "heads.intensity.2.bias"};

int affect_heads_load_weights(affect_heads_model *h, const affect_tensor_set *ts, int H,
                              const char *source, affect_error *err) {
    if (H <= 0 || h->L <= 0 || (size_t)H > SIZE_MAX / 16 / (size_t)H ||
        (size_t)h->L > SIZE_MAX / 16 / (size_t)H)
        return affect_fail(err, AFFECT_EARG, "heads: bad sizes (H=%d, L=%d)", H, h->L);
    size_t hh = (size_t)H, l = (size_t)h->L;
    int64_t outs[8] = {H, H, h->L, h->L, H, H, 1, 1};
    size_t sz[8] = {hh * hh, hh, l * hh, l, hh * hh, hh, hh, 1};
    size_t total = 0;
    for (int i = 0; i < 8; i++) total += sz[i];
    float *arena = malloc(total * sizeof *arena);
    if (!arena) return affect_fail(err, AFFECT_ENOMEM, "heads: out of memory");
    float *at = arena;
    const float *ptr[8];
    for (int i = 0; i < 8; i++) {
        const affect_tensor *t = affect_tensor_set_find(ts, HEAD_NAMES[i]);
        int64_t want[2] = {outs[i], H};
        int ndim = i % 2 == 0 ? 2 : 1;
        char ws[64], gs[64];
        affect_shape_str(want, ndim, ws, sizeof ws);
        int rc = AFFECT_OK;
        if (!t) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: missing tensor '%s' (expected %s)", source,
                             HEAD_NAMES[i], ws);
        } else {
            int same = t->ndim == ndim;
            for (int d = 0; same && d < ndim; d++) same = t->shape[d] == want[d];
            if (!same)
                rc = affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s' has shape %s, expected %s "
                                 "(affect_heads.json lists %d labels)", source, HEAD_NAMES[i],
                                 affect_shape_str(t->shape, t->ndim, gs, sizeof gs), ws, h->L);
            else if (t->dtype != AFFECT_DT_F32 && t->dtype != AFFECT_DT_F16 &&
                     t->dtype != AFFECT_DT_BF16 && t->dtype != AFFECT_DT_F64)
                rc = affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s' has dtype %s, expected a float type",
                                 source, HEAD_NAMES[i], affect_dtype_name(t->dtype));
            else
                rc = affect_tensor_to_f32(t, at, err);
        }
        if (rc) {
            free(arena);
            return rc;
        }
        ptr[i] = at;
        at += sz[i];
    }
    free(h->arena);
    h->arena = arena;
    h->H = H;
    h->emo1w = ptr[0]; h->emo1b = ptr[1]; h->emo2w = ptr[2]; h->emo2b = ptr[3];
    h->int1w = ptr[4]; h->int1b = ptr[5]; h->int2w = ptr[6]; h->int2b = ptr[7];
    return AFFECT_OK;
}

/* The logistic function without overflow for large |x|, rounded once to float. */
static float sigmoid(float x) {
    double d = x;
    return d >= 0 ? (float)(1.0 / (1.0 + exp(-d))) : (float)(exp(d) / (1.0 + exp(d)));
}

/* Same operation order as affect_heads_forward (src/train/heads.c). */
int affect_heads_infer(affect_heads_model *h, const float *pooled, int B, float *probs,
                       float *intensity, affect_error *err) {
    if (!h || !h->arena || !pooled || B <= 0)
        return affect_fail(err, AFFECT_EARG, "heads: no weights or empty batch");
    size_t b = (size_t)B, H = (size_t)h->H, L = (size_t)h->L;
    if (b > SIZE_MAX / 4 / (2 * H + L + 1))
        return affect_fail(err, AFFECT_ENOMEM, "heads: batch of %d rows is too large", B);
    size_t need = b * (2 * H + L + 1);
    if (need > h->scratch_cap) {
        float *ns = malloc(need * sizeof *ns);
        if (!ns) return affect_fail(err, AFFECT_ENOMEM, "heads: out of memory for %d rows", B);
        free(h->scratch);
        h->scratch = ns;
        h->scratch_cap = need;
    }
    float *pre = h->scratch, *hid = pre + b * H, *logits = hid + b * H, *out1 = logits + b * L;
    if (probs) {
        linear_forward(pre, pooled, h->emo1w, h->emo1b, NULL, B, h->H, h->H);
        gelu_forward(hid, pre, b * H);
        linear_forward(logits, hid, h->emo2w, h->emo2b, NULL, B, h->H, h->L);
        for (size_t i = 0; i < b * L; i++) probs[i] = sigmoid(logits[i]);
    }
    if (intensity) {
        linear_forward(pre, pooled, h->int1w, h->int1b, NULL, B, h->H, h->H);
        gelu_forward(hid, pre, b * H);
        linear_forward(out1, hid, h->int2w, h->int2b, NULL, B, h->H, 1);
        memcpy(intensity, out1, b * sizeof *intensity);
    }
    return AFFECT_OK;
}
