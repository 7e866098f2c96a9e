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
    affect_lexical_free(&h->lex);
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

/* A character n-gram block's metadata ({"analyzer": "char_wb", "ngram_range": [min, max],
 * "buckets": B, "hash": "murmurhash3_32"}): nothing else is implemented, so nothing else is
 * accepted. */
static int chars_meta(const json_value *ch, const char *key, int *nmin, int *nmax, int *nb, const char *source,
                      affect_error *err) {
    const json_value *an = ch->type == JSON_OBJECT ? json_get(ch, "analyzer") : NULL;
    const json_value *hs = ch->type == JSON_OBJECT ? json_get(ch, "hash") : NULL;
    const json_value *nr = ch->type == JSON_OBJECT ? json_get(ch, "ngram_range") : NULL;
    const json_value *b = ch->type == JSON_OBJECT ? json_get(ch, "buckets") : NULL;
    if (!an || an->type != JSON_STRING || strcmp(an->str, "char_wb") || !hs || hs->type != JSON_STRING ||
        strcmp(hs->str, "murmurhash3_32") || !nr || nr->type != JSON_ARRAY || nr->len != 2 ||
        !json_is_int(&nr->items[0], 1, AFFECT_LEXICAL_MAX_NGRAM) || !json_is_int(&nr->items[1], 1, AFFECT_LEXICAL_MAX_NGRAM) ||
        nr->items[1].number < nr->items[0].number || !b || !json_is_int(b, 1, AFFECT_LEXICAL_MAX_BUCKETS))
        return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.%s must be {\"analyzer\": \"char_wb\", "
                           "\"ngram_range\": [min, max] within 1..%d, \"buckets\": 1..%d, \"hash\": \"murmurhash3_32\"}",
                           source, key, AFFECT_LEXICAL_MAX_NGRAM, AFFECT_LEXICAL_MAX_BUCKETS);
    *nmin = (int)nr->items[0].number;
    *nmax = (int)nr->items[1].number;
    *nb = (int)b->number;
    return AFFECT_OK;
}

/* Only the members this reader implements, and emotion parts only under the features string
 * that announces them: a model from a newer writer must be refused, not half-read and then
 * scored with weights fitted on features this reader does not compute. */
static int lexical_members(const json_value *lex, int emotion_parts, const char *source, affect_error *err) {
    static const char *const KNOWN[] = {"features", "vocab_size", "aux", "emotion_aux", "emotion_chars",
                                        "emotion_bigrams", "intensity", "intensity_chars"};
    int em = 0;
    for (size_t i = 0; i < lex->len; i++) {
        const char *k = lex->keys[i];
        size_t j = 0;
        while (j < sizeof KNOWN / sizeof KNOWN[0] && strcmp(k, KNOWN[j])) j++;
        if (j == sizeof KNOWN / sizeof KNOWN[0])
            return affect_fail(err, AFFECT_EUNSUPPORTED, "%s: lexical.%.60s is not a member this version reads", source,
                               k);
        em |= !strncmp(k, "emotion_", 8);
    }
    if (em && !emotion_parts)
        return affect_fail(err, AFFECT_EFORMAT, "%s: lexical has emotion_* members, and its features are not \"%s\"",
                           source, AFFECT_LEXICAL_FEATURES_EMOTION_PARTS);
    if (!em && emotion_parts)
        return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.features says \"%s\", and there is no emotion_* member",
                           source, AFFECT_LEXICAL_FEATURES_EMOTION_PARTS);
    return AFFECT_OK;
}

/* An integer member of obj (or of its member sub) within lo..hi, else 0: sizes for the budget
 * below, read before the members are checked one by one. */
static uint64_t size_member(const json_value *obj, const char *sub, const char *key, double lo, double hi) {
    const json_value *o = sub ? json_get(obj, sub) : obj;
    const json_value *v = o && o->type == JSON_OBJECT ? json_get(o, key) : NULL;
    return v && json_is_int(v, lo, hi) ? (uint64_t)v->number : 0;
}

/* Every float the lexical parts will allocate, from the metadata alone: a hostile
 * affect_heads.json must not make the loader allocate gigabytes before one tensor is read.
 * Each part is also bounded on its own where it is parsed. */
static int lexical_budget(const affect_heads_model *h, const json_value *lex, const char *source, affect_error *err) {
    uint64_t V = (uint64_t)h->lexical_vocab, L = (uint64_t)h->L;
    uint64_t A = size_member(lex, "aux", "outputs", 1, AFFECT_LEXICAL_MAX_AUX);
    const json_value *in = json_get(lex, "intensity");
    uint64_t G = in && in->type == JSON_ARRAY && in->len <= AFFECT_LEXICAL_MAX_GROUPS ? (uint64_t)in->len : 0;
    uint64_t Bi = size_member(lex, "intensity_chars", "buckets", 1, AFFECT_LEXICAL_MAX_BUCKETS);
    uint64_t Be = size_member(lex, "emotion_chars", "buckets", 1, AFFECT_LEXICAL_MAX_BUCKETS);
    uint64_t Nb = size_member(lex, "emotion_bigrams", "buckets", 1, AFFECT_LEXICAL_MAX_BUCKETS);
    uint64_t total = V * (L + 1) + 2 * L + A * (V + 3) + L * A + G * (V + A + 2) + (G ? V : 0) + Bi * (G + 1) +
                     Be * (L + 1) + Nb * (L + 1);
    if (total > AFFECT_LEXICAL_MAX_FLOATS)
        return affect_fail(err, AFFECT_EFORMAT, "%s: the lexical model's metadata asks for %llu weights (more than "
                           "%llu)", source, (unsigned long long)total, (unsigned long long)AFFECT_LEXICAL_MAX_FLOATS);
    return AFFECT_OK;
}

/* The lexical model's sizes and intensity groups (affect_heads.json "lexical"), so its
 * tensors can be loaded against known shapes. */
static int lexical_meta(affect_heads_model *h, const json_value *lex, const char *source, affect_error *err) {
    if ((uint64_t)h->lexical_vocab * ((uint64_t)h->L + AFFECT_LEXICAL_MAX_GROUPS) > ((uint64_t)1 << 30))
        return affect_fail(err, AFFECT_EFORMAT, "%s: a lexical model of %d ids x %d labels is beyond any real "
                           "vocabulary", source, h->lexical_vocab, h->L);
    if (lexical_budget(h, lex, source, err)) return AFFECT_EFORMAT;
    int rc = affect_lexical_init(&h->lex, h->lexical_vocab, h->L, err);
    const json_value *in = json_get(lex, "intensity");
    const json_value *aux = json_get(lex, "aux");
    const json_value *eaux = json_get(lex, "emotion_aux");
    if (!rc && eaux && eaux->type != JSON_BOOL)
        return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.emotion_aux must be true or false", source);
    int want_eaux = eaux && eaux->boolean;
    if (!rc && aux) {
        const json_value *nm = aux->type == JSON_OBJECT ? json_get(aux, "name") : NULL;
        const json_value *na = aux->type == JSON_OBJECT ? json_get(aux, "outputs") : NULL;
        if (!nm || nm->type != JSON_STRING || strlen(nm->str) != nm->len || nm->len >= AFFECT_LEXICAL_NAME ||
            !na || !json_is_int(na, 1, AFFECT_LEXICAL_MAX_AUX))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.aux must be {\"name\": string of under %d bytes, "
                               "\"outputs\": 1..%d}", source, AFFECT_LEXICAL_NAME, AFFECT_LEXICAL_MAX_AUX);
        if (!in && !want_eaux)
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.aux is read by the intensity models or the emotion "
                               "regressions, and lexical.intensity is missing and lexical.emotion_aux is not true",
                               source);
        if ((uint64_t)h->lexical_vocab * (uint64_t)na->number > ((uint64_t)1 << 30))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.aux of %d ids x %d outputs is beyond any real "
                               "vocabulary", source, h->lexical_vocab, (int)na->number);
        rc = affect_lexical_init_aux(&h->lex, (int)na->number, nm->str, err);
    }
    if (!rc && want_eaux) {
        if (!aux)
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.emotion_aux reads lexical.aux, which is missing",
                               source);
        rc = affect_lexical_init_emotion_aux(&h->lex, err);
    }
    const json_value *ech = json_get(lex, "emotion_chars");
    if (!rc && ech) {
        int nmin, nmax, nb;
        if ((rc = chars_meta(ech, "emotion_chars", &nmin, &nmax, &nb, source, err))) return rc;
        if ((uint64_t)nb * (uint64_t)(h->L + 1) > ((uint64_t)1 << 30))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.emotion_chars of %d buckets x %d labels is too large",
                               source, nb, h->L);
        rc = affect_lexical_init_emotion_chars(&h->lex, nb, nmin, nmax, err);
    }
    const json_value *ebi = json_get(lex, "emotion_bigrams");
    if (!rc && ebi) {
        const json_value *of = ebi->type == JSON_OBJECT ? json_get(ebi, "of") : NULL;
        const json_value *hs = ebi->type == JSON_OBJECT ? json_get(ebi, "hash") : NULL;
        const json_value *nb = ebi->type == JSON_OBJECT ? json_get(ebi, "buckets") : NULL;
        if (!of || of->type != JSON_STRING || strcmp(of->str, "token_ids") || !hs || hs->type != JSON_STRING ||
            strcmp(hs->str, "murmurhash3_32") || !nb || !json_is_int(nb, 1, AFFECT_LEXICAL_MAX_BUCKETS))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.emotion_bigrams must be {\"of\": \"token_ids\", "
                               "\"buckets\": 1..%d, \"hash\": \"murmurhash3_32\"}", source, AFFECT_LEXICAL_MAX_BUCKETS);
        if ((uint64_t)nb->number * (uint64_t)(h->L + 1) > ((uint64_t)1 << 30))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.emotion_bigrams of %d buckets x %d labels is too large",
                               source, (int)nb->number, h->L);
        rc = affect_lexical_init_emotion_bigrams(&h->lex, (int)nb->number, err);
    }
    if (!rc && !in && json_get(lex, "intensity_chars"))
        return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.intensity_chars is read by the intensity models, and "
                           "lexical.intensity is missing", source);
    if (rc || !in) return rc;
    if (in->type != JSON_ARRAY || in->len < 1 || in->len > AFFECT_LEXICAL_MAX_GROUPS)
        return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.intensity must be a list of 1..%d models", source,
                           AFFECT_LEXICAL_MAX_GROUPS);
    int G = (int)in->len;
    const char **names = calloc((size_t)G, sizeof *names);
    int32_t **prefix = calloc((size_t)G, sizeof *prefix);
    int *plen = calloc((size_t)G, sizeof *plen);
    if (!names || !prefix || !plen) rc = affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", source);
    for (int g = 0; g < G && !rc; g++) {
        const json_value *m = &in->items[g];
        const json_value *nm = m->type == JSON_OBJECT ? json_get(m, "name") : NULL;
        const json_value *px = m->type == JSON_OBJECT ? json_get(m, "prefix") : NULL;
        if (!nm || nm->type != JSON_STRING || strlen(nm->str) != nm->len || !px || px->type != JSON_ARRAY ||
            px->len > AFFECT_LEXICAL_MAX_PREFIX) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: lexical.intensity[%d] must be {\"name\": string, \"prefix\": "
                             "[at most %d ids]}", source, g, AFFECT_LEXICAL_MAX_PREFIX);
            break;
        }
        names[g] = nm->str;
        plen[g] = (int)px->len;
        prefix[g] = malloc((px->len ? px->len : 1) * sizeof **prefix);
        if (!prefix[g]) {
            rc = affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", source);
            break;
        }
        for (size_t k = 0; k < px->len && !rc; k++) {
            if (!json_is_int(&px->items[k], 0, h->lexical_vocab - 1))
                rc = affect_fail(err, AFFECT_EFORMAT, "%s: lexical.intensity[%d].prefix[%zu] must be an id in 0..%d",
                                 source, g, k, h->lexical_vocab - 1);
            else
                prefix[g][k] = (int32_t)px->items[k].number;
        }
    }
    if (!rc) {
        rc = affect_lexical_init_intensity(&h->lex, G, names, (const int32_t *const *)prefix, plen, err);
        if (rc && err) {
            char inner[sizeof err->msg];
            memcpy(inner, err->msg, sizeof inner);
            affect_fail(err, rc, "%s: %.440s", source, inner);
        }
    }
    for (int g = 0; prefix && g < G; g++) free(prefix[g]);
    free(prefix);
    free(names);
    free(plen);
    const json_value *ch = json_get(lex, "intensity_chars");
    if (rc || !ch) return rc;
    int nmin, nmax, nb;
    if ((rc = chars_meta(ch, "intensity_chars", &nmin, &nmax, &nb, source, err))) return rc;
    if ((uint64_t)nb * (uint64_t)(G + 1) > ((uint64_t)1 << 30))
        return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.intensity_chars of %d buckets x %d models is too large",
                           source, nb, G);
    return affect_lexical_init_intensity_chars(&h->lex, nb, nmin, nmax, err);
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
    const json_value *lex = json_get(root, "lexical");
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
    if (!rc && lex) {
        const char *feat = lex->type == JSON_OBJECT ? json_get_string(lex, "features", NULL) : NULL;
        const json_value *vs = lex->type == JSON_OBJECT ? json_get(lex, "vocab_size") : NULL;
        if (lex->type != JSON_OBJECT)
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: \"lexical\" must be an object", source);
        else if (!feat || (strcmp(feat, AFFECT_LEXICAL_FEATURES) && strcmp(feat, AFFECT_LEXICAL_FEATURES_EMOTION_PARTS)))
            rc = affect_fail(err, AFFECT_EUNSUPPORTED, "%s: lexical.features is \"%.40s\", expected \"%s\" or \"%s\"",
                             source, feat ? feat : "(missing)", AFFECT_LEXICAL_FEATURES,
                             AFFECT_LEXICAL_FEATURES_EMOTION_PARTS);
        else if ((rc = lexical_members(lex, !strcmp(feat, AFFECT_LEXICAL_FEATURES_EMOTION_PARTS), source, err)))
            ;
        else if (!vs || !json_is_int(vs, 1, 1 << 24))
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: lexical.vocab_size must be an integer in 1..%d", source, 1 << 24);
        else
            h->lexical_vocab = (int)vs->number;
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
    if (!rc && h->lexical_vocab > 0) rc = lexical_meta(h, lex, source, err);
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
    if (h->lexical_vocab > 0) return affect_lexical_load(&h->lex, ts, source, err);
    return AFFECT_OK;
}

/* The logistic function without overflow for large |x|, rounded once to float. */
static float sigmoid(float x) {
    double d = x;
    return d >= 0 ? (float)(1.0 / (1.0 + exp(-d))) : (float)(exp(d) / (1.0 + exp(d)));
}

/* The lexical model over each row of the batch: mixed into logits (B,L) or intensity (B),
 * whichever is given. */
static int lexical_rows(const affect_heads_model *h, const affect_batch *batch, float *logits, float *intensity,
                        affect_error *err) {
    size_t T = (size_t)batch->T, L = (size_t)h->L;
    int32_t *fid = malloc(T * sizeof *fid);
    float *fval = malloc(T * sizeof *fval);
    if (!fid || !fval) {
        free(fid);
        free(fval);
        return affect_fail(err, AFFECT_ENOMEM, "heads: out of memory for the lexical features");
    }
    for (size_t i = 0; i < (size_t)batch->B; i++) {
        size_t n = batch->lens[i] < 0 ? 0 : (size_t)batch->lens[i];
        if (n > T) n = T;
        const char *text = batch->texts && batch->text_lens ? batch->texts[i] : NULL;
        size_t tl = batch->text_lens ? batch->text_lens[i] : 0;
        int rc = 0;
        if (logits) rc = affect_lexical_mix_row(&h->lex, batch->ids + i * T, n, text, tl, logits + i * L, fid, fval, err);
        if (!rc && intensity)
            rc = affect_lexical_mix_intensity(&h->lex, batch->ids + i * T, n, text, tl, intensity + i, fid, fval, err);
        if (rc) {
            free(fid);
            free(fval);
            return rc;
        }
    }
    free(fid);
    free(fval);
    return AFFECT_OK;
}

/* Same operation order as affect_heads_forward (src/train/heads.c). */
int affect_heads_infer(affect_heads_model *h, const float *pooled, const affect_batch *batch, int B,
                       float *probs, float *intensity, affect_error *err) {
    if (!h || !h->arena || !pooled || B <= 0)
        return affect_fail(err, AFFECT_EARG, "heads: no weights or empty batch");
    int lexical = (probs && h->lex.V > 0) || (intensity && h->lex.in.G > 0);
    if (lexical && (!batch || batch->B != B || batch->T <= 0 || !batch->ids || !batch->lens))
        return affect_fail(err, AFFECT_EARG, "heads: the lexical model needs the batch's token ids");
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
    int rc;
    if (probs) {
        linear_forward(pre, pooled, h->emo1w, h->emo1b, NULL, B, h->H, h->H);
        gelu_forward(hid, pre, b * H);
        linear_forward(logits, hid, h->emo2w, h->emo2b, NULL, B, h->H, h->L);
        if (lexical && h->lex.V > 0 && (rc = lexical_rows(h, batch, logits, NULL, err))) return rc;
        for (size_t i = 0; i < b * L; i++) probs[i] = sigmoid(logits[i]);
    }
    if (intensity) {
        linear_forward(pre, pooled, h->int1w, h->int1b, NULL, B, h->H, h->H);
        gelu_forward(hid, pre, b * H);
        linear_forward(out1, hid, h->int2w, h->int2b, NULL, B, h->H, 1);
        memcpy(intensity, out1, b * sizeof *intensity);
        if (h->lex.in.G > 0 && (rc = lexical_rows(h, batch, NULL, intensity, err))) return rc;
    }
    return AFFECT_OK;
}
