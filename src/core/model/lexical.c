/* The lexical model at inference time: see lexical.h. */
#include "lexical.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int affect_lexical_init(affect_lexical *lx, int V, int L, affect_error *err) {
    memset(lx, 0, sizeof *lx);
    if (V <= 0 || L <= 0 || (size_t)V > SIZE_MAX / sizeof(float) / ((size_t)L + 2) - 1)
        return affect_fail(err, AFFECT_EARG, "lexical model: bad sizes (V=%d, L=%d)", V, L);
    size_t v = (size_t)V, l = (size_t)L;
    float *a = calloc(v + l * v + 2 * l, sizeof *a);
    if (!a) return affect_fail(err, AFFECT_ENOMEM, "lexical model: out of memory for %d x %d weights", L, V);
    lx->V = V;
    lx->L = L;
    lx->arena = a;
    lx->idf = a;
    lx->w = a + v;
    lx->b = lx->w + l * v;
    lx->mix = lx->b + l;
    return AFFECT_OK;
}

int affect_lexical_init_aux(affect_lexical *lx, int A, const char *name, affect_error *err) {
    if (lx->V <= 0 || lx->aux.A != 0 || lx->in.G != 0 || A < 1 || A > AFFECT_LEXICAL_MAX_AUX)
        return affect_fail(err, AFFECT_EARG, "lexical aux: bad sizes (A=%d), or added after the intensity models", A);
    size_t v = (size_t)lx->V, a = (size_t)A;
    if (v > SIZE_MAX / sizeof(float) / (a + 1) - 3 * a)
        return affect_fail(err, AFFECT_EARG, "lexical aux: bad sizes (A=%d)", A);
    float *m = calloc(v + a * v + 3 * a, sizeof *m);
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "lexical aux: out of memory for %d x %d weights", A, lx->V);
    lx->aux.A = A;
    snprintf(lx->aux.name, sizeof lx->aux.name, "%s", name ? name : "");
    lx->aux.arena = m;
    lx->aux.idf = m;
    lx->aux.w = m + v;
    lx->aux.b = lx->aux.w + a * v;
    lx->aux.mean = lx->aux.b + a;
    lx->aux.scale = lx->aux.mean + a;
    return AFFECT_OK;
}

int affect_lexical_init_intensity(affect_lexical *lx, int G, const char *const *names,
                                  const int32_t *const *prefix, const int *prefix_len, affect_error *err) {
    if (lx->V <= 0 || lx->in.G != 0 || G < 1 || G > AFFECT_LEXICAL_MAX_GROUPS || !names || !prefix_len)
        return affect_fail(err, AFFECT_EARG, "lexical intensity: bad sizes (G=%d)", G);
    if (prefix_len[0] != 0)
        return affect_fail(err, AFFECT_EFORMAT, "lexical intensity: model 0 (plain text) must have no prefix");
    size_t total = 0;
    for (int g = 1; g < G; g++) {
        if (prefix_len[g] < 1 || prefix_len[g] > AFFECT_LEXICAL_MAX_PREFIX || !prefix || !prefix[g])
            return affect_fail(err, AFFECT_EFORMAT, "lexical intensity: model %d needs 1..%d prefix ids", g,
                               AFFECT_LEXICAL_MAX_PREFIX);
        for (int k = 0; k < prefix_len[g]; k++)
            if (prefix[g][k] < 0 || prefix[g][k] >= lx->V)
                return affect_fail(err, AFFECT_EFORMAT, "lexical intensity: model %d prefix id %d outside 0..%d", g,
                                   prefix[g][k], lx->V - 1);
        for (int h = 1; h < g; h++)
            if (prefix_len[h] == prefix_len[g] && !memcmp(prefix[h], prefix[g], (size_t)prefix_len[g] * sizeof(int32_t)))
                return affect_fail(err, AFFECT_EFORMAT, "lexical intensity: models %d and %d have the same prefix", h, g);
        total += (size_t)prefix_len[g];
    }
    size_t v = (size_t)lx->V, gg = (size_t)G, a = (size_t)lx->aux.A;
    if (v + a > SIZE_MAX / sizeof(float) / (gg + 1) - 2 * gg)
        return affect_fail(err, AFFECT_EARG, "lexical intensity: bad sizes (G=%d)", G);
    lx->in.arena = calloc(v + gg * v + 2 * gg + gg * a, sizeof(float));
    lx->in.prefix = malloc((total ? total : 1) * sizeof(int32_t));
    lx->in.prefix_off = malloc((gg + 1) * sizeof(int));
    lx->in.names = calloc(gg, sizeof(char *));
    int rc = 0;
    if (!lx->in.arena || !lx->in.prefix || !lx->in.prefix_off || !lx->in.names)
        rc = affect_fail(err, AFFECT_ENOMEM, "lexical intensity: out of memory");
    lx->in.G = G; /* set before any early exit so free() releases the names */
    size_t at = 0;
    for (int g = 0; g < G && !rc; g++) {
        const char *nm = names[g] ? names[g] : "";
        size_t nl = strlen(nm);
        if (!(lx->in.names[g] = malloc(nl + 1))) {
            rc = affect_fail(err, AFFECT_ENOMEM, "lexical intensity: out of memory");
            break;
        }
        memcpy(lx->in.names[g], nm, nl + 1);
        lx->in.prefix_off[g] = (int)at;
        if (g > 0) memcpy(lx->in.prefix + at, prefix[g], (size_t)prefix_len[g] * sizeof(int32_t));
        at += g > 0 ? (size_t)prefix_len[g] : 0;
    }
    if (rc) {
        for (int g = 0; lx->in.names && g < G; g++) free(lx->in.names[g]);
        free(lx->in.names);
        free(lx->in.arena);
        free(lx->in.prefix);
        free(lx->in.prefix_off);
        memset(&lx->in, 0, sizeof lx->in);
        return rc;
    }
    lx->in.prefix_off[G] = (int)at;
    lx->in.idf = lx->in.arena;
    lx->in.w = lx->in.idf + v;
    lx->in.b = lx->in.w + gg * v;
    lx->in.mix = lx->in.b + gg;
    lx->in.aux_w = a ? lx->in.mix + gg : NULL;
    return AFFECT_OK;
}

/* A block of hashed-bucket weights: idf (B) then rows x B weights, one allocation. */
static int bucket_block(int B, int rows, float **arena, float **idf, float **w, const char *what, affect_error *err) {
    size_t b = (size_t)B, r = (size_t)rows;
    if (b > SIZE_MAX / sizeof(float) / (r + 1))
        return affect_fail(err, AFFECT_EARG, "lexical model: %d buckets x %d %s is too large", B, rows, what);
    float *a = calloc(b * (r + 1), sizeof *a);
    if (!a) return affect_fail(err, AFFECT_ENOMEM, "lexical model: out of memory for %d x %d %s weights", rows, B, what);
    *arena = a;
    *idf = a;
    *w = a + b;
    return AFFECT_OK;
}

int affect_lexical_init_intensity_chars(affect_lexical *lx, int B, int nmin, int nmax, affect_error *err) {
    if (lx->in.G <= 0 || lx->in.B != 0 || B < 1 || B > AFFECT_LEXICAL_MAX_BUCKETS || nmin < 1 || nmax < nmin ||
        nmax > AFFECT_LEXICAL_MAX_NGRAM)
        return affect_fail(err, AFFECT_EARG, "lexical intensity: bad character n-grams (%d buckets, n = %d..%d; "
                           "1..%d buckets, 1 <= n <= %d), or no intensity models", B, nmin, nmax,
                           AFFECT_LEXICAL_MAX_BUCKETS, AFFECT_LEXICAL_MAX_NGRAM);
    int rc = bucket_block(B, lx->in.G, &lx->in.ch_arena, &lx->in.ch_idf, &lx->in.ch_w, "intensity character", err);
    if (rc) return rc;
    lx->in.B = B;
    lx->in.ngram_min = nmin;
    lx->in.ngram_max = nmax;
    return AFFECT_OK;
}

int affect_lexical_init_emotion_aux(affect_lexical *lx, affect_error *err) {
    if (lx->V <= 0 || lx->aux.A <= 0 || lx->em.aux_w)
        return affect_fail(err, AFFECT_EARG, "lexical emotions: no auxiliary outputs to read, or read already");
    if (!(lx->em.aux_w = calloc((size_t)lx->L * (size_t)lx->aux.A, sizeof(float))))
        return affect_fail(err, AFFECT_ENOMEM, "lexical emotions: out of memory for %d x %d auxiliary weights", lx->L,
                           lx->aux.A);
    return AFFECT_OK;
}

int affect_lexical_init_emotion_chars(affect_lexical *lx, int B, int nmin, int nmax, affect_error *err) {
    if (lx->V <= 0 || lx->em.B != 0 || B < 1 || B > AFFECT_LEXICAL_MAX_BUCKETS || nmin < 1 || nmax < nmin ||
        nmax > AFFECT_LEXICAL_MAX_NGRAM)
        return affect_fail(err, AFFECT_EARG, "lexical emotions: bad character n-grams (%d buckets, n = %d..%d; "
                           "1..%d buckets, 1 <= n <= %d)", B, nmin, nmax, AFFECT_LEXICAL_MAX_BUCKETS,
                           AFFECT_LEXICAL_MAX_NGRAM);
    int rc = bucket_block(B, lx->L, &lx->em.ch_arena, &lx->em.ch_idf, &lx->em.ch_w, "emotion character", err);
    if (rc) return rc;
    lx->em.B = B;
    lx->em.ngram_min = nmin;
    lx->em.ngram_max = nmax;
    return AFFECT_OK;
}

int affect_lexical_init_emotion_bigrams(affect_lexical *lx, int NB, affect_error *err) {
    if (lx->V <= 0 || lx->em.NB != 0 || NB < 1 || NB > AFFECT_LEXICAL_MAX_BUCKETS)
        return affect_fail(err, AFFECT_EARG, "lexical emotions: bad token bigrams (%d buckets; 1..%d)", NB,
                           AFFECT_LEXICAL_MAX_BUCKETS);
    int rc = bucket_block(NB, lx->L, &lx->em.bi_arena, &lx->em.bi_idf, &lx->em.bi_w, "emotion bigram", err);
    if (rc) return rc;
    lx->em.NB = NB;
    return AFFECT_OK;
}

void affect_lexical_free(affect_lexical *lx) {
    if (!lx) return;
    free(lx->em.bi_arena);
    free(lx->em.aux_w);
    free(lx->em.ch_arena);
    free(lx->in.ch_arena);
    free(lx->arena);
    free(lx->aux.arena);
    for (int g = 0; lx->in.names && g < lx->in.G; g++) free(lx->in.names[g]);
    free(lx->in.names);
    free(lx->in.arena);
    free(lx->in.prefix);
    free(lx->in.prefix_off);
    memset(lx, 0, sizeof *lx);
}

int affect_lexical_copy_aux(const affect_lexical *src, affect_lexical *dst, affect_error *err) {
    if (src->V != dst->V) return affect_fail(err, AFFECT_EARG, "lexical aux copy: %d ids vs %d", src->V, dst->V);
    int rc = affect_lexical_init_aux(dst, src->aux.A, src->aux.name, err);
    if (rc) return rc;
    size_t v = (size_t)src->V, a = (size_t)src->aux.A;
    memcpy(dst->aux.arena, src->aux.arena, (v + a * v + 3 * a) * sizeof(float));
    return AFFECT_OK;
}

/* Sizes come from src's own fields, so the copy follows the layout init chose. */
int affect_lexical_copy(const affect_lexical *src, affect_lexical *out, affect_error *err) {
    int rc = affect_lexical_init(out, src->V, src->L, err);
    if (rc) return rc;
    size_t v = (size_t)src->V, l = (size_t)src->L;
    memcpy(out->arena, src->arena, (v + l * v + 2 * l) * sizeof(float));
    size_t a = (size_t)src->aux.A;
    if (a && (rc = affect_lexical_copy_aux(src, out, err))) {
        affect_lexical_free(out);
        return rc;
    }
    if (src->em.aux_w) {
        if ((rc = affect_lexical_init_emotion_aux(out, err))) {
            affect_lexical_free(out);
            return rc;
        }
        memcpy(out->em.aux_w, src->em.aux_w, l * a * sizeof(float));
    }
    if (src->em.B > 0) {
        if ((rc = affect_lexical_init_emotion_chars(out, src->em.B, src->em.ngram_min, src->em.ngram_max, err))) {
            affect_lexical_free(out);
            return rc;
        }
        memcpy(out->em.ch_arena, src->em.ch_arena, (size_t)src->em.B * (l + 1) * sizeof(float));
    }
    if (src->em.NB > 0) {
        if ((rc = affect_lexical_init_emotion_bigrams(out, src->em.NB, err))) {
            affect_lexical_free(out);
            return rc;
        }
        memcpy(out->em.bi_arena, src->em.bi_arena, (size_t)src->em.NB * (l + 1) * sizeof(float));
    }
    int G = src->in.G;
    if (G == 0) return AFFECT_OK;
    const int32_t **px = calloc((size_t)G, sizeof *px);
    int *pl = calloc((size_t)G, sizeof *pl);
    if (!px || !pl) rc = affect_fail(err, AFFECT_ENOMEM, "lexical model: out of memory");
    for (int g = 0; g < G && !rc; g++) {
        px[g] = src->in.prefix + src->in.prefix_off[g];
        pl[g] = src->in.prefix_off[g + 1] - src->in.prefix_off[g];
    }
    if (!rc) rc = affect_lexical_init_intensity(out, G, (const char *const *)src->in.names, px, pl, err);
    free(px);
    free(pl);
    if (rc) {
        affect_lexical_free(out);
        return rc;
    }
    memcpy(out->in.arena, src->in.arena, (v + (size_t)G * v + 2 * (size_t)G + (size_t)G * a) * sizeof(float));
    if (src->in.B > 0) {
        if ((rc = affect_lexical_init_intensity_chars(out, src->in.B, src->in.ngram_min, src->in.ngram_max, err))) {
            affect_lexical_free(out);
            return rc;
        }
        memcpy(out->in.ch_arena, src->in.ch_arena, (size_t)src->in.B * ((size_t)G + 1) * sizeof(float));
    }
    return AFFECT_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Sorting a copy turns the ids into runs, so counting needs no V-sized table: the browser
 * scores one entry without touching more memory than the entry's own length. */
size_t affect_lexical_features(const float *idf, int V, const int32_t *ids, size_t n, int32_t *fid,
                               float *fval) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < V && idf[ids[i]] > 0.0f) fid[k++] = ids[i];
    if (k == 0) return 0;
    qsort(fid, k, sizeof *fid, cmp_i32);
    size_t u = 0;
    double norm2 = 0;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && fid[j] == fid[i]) j++;
        double x = (1.0 + log((double)(j - i))) * (double)idf[fid[i]];
        fid[u] = fid[i];
        fval[u] = (float)x;
        norm2 += x * x;
        u++;
        i = j;
    }
    double inv = 1.0 / sqrt(norm2);
    for (size_t i = 0; i < u; i++) fval[i] = (float)((double)fval[i] * inv);
    return u;
}

/* The bytes are spelled out so the buckets do not depend on the machine's byte order. */
size_t affect_lexical_bigrams(const float *idf, int V, const int32_t *ids, size_t n, int NB, int32_t *out) {
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        int32_t a = ids[i], b = ids[i + 1];
        if (a < 0 || a >= V || b < 0 || b >= V || !(idf[a] > 0.0f) || !(idf[b] > 0.0f)) continue;
        uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
        uint8_t key[8] = {(uint8_t)ua, (uint8_t)(ua >> 8), (uint8_t)(ua >> 16), (uint8_t)(ua >> 24),
                          (uint8_t)ub, (uint8_t)(ub >> 8), (uint8_t)(ub >> 16), (uint8_t)(ub >> 24)};
        out[k++] = (int32_t)(affect_murmur3_32(key, sizeof key, 0) % (uint32_t)NB);
    }
    return k;
}

/* The character n-gram features of text[0..len) (n-grams of nmin..nmax code points into B
 * buckets, weighted by idf) into *fid / *fval (allocated here, sized by the text: an entry's
 * n-grams outnumber its tokens several times over); *k gets how many. */
static int char_features(int B, int nmin, int nmax, const float *idf, const char *t, size_t len, int32_t **fid,
                         float **fval, size_t *k, affect_error *err) {
    size_t cap = affect_lexical_char_ngram_bound(len, nmin, nmax);
    int32_t *bk = cap ? malloc(cap * sizeof *bk) : NULL;
    *fid = cap ? malloc(cap * sizeof **fid) : NULL;
    *fval = cap ? malloc(cap * sizeof **fval) : NULL;
    if (!bk || !*fid || !*fval) {
        free(bk);
        free(*fid);
        free(*fval);
        *fid = NULL;
        *fval = NULL;
        return affect_fail(err, AFFECT_ENOMEM, "lexical model: out of memory for the character n-grams of a %zu-byte "
                           "text", len);
    }
    size_t m = affect_lexical_char_ngrams(t, len, nmin, nmax, B, bk);
    *k = affect_lexical_features(idf, B, bk, m, *fid, *fval);
    free(bk);
    return AFFECT_OK;
}

/* The hashed token-bigram features of ids[0..n) (over the token idf, into NB buckets weighted
 * by bidf) into *bid / *bval (allocated here, n entries); *k gets how many. */
static int bigram_features(const affect_lexical *lx, const int32_t *ids, size_t n, int32_t **bid, float **bval,
                           size_t *k, affect_error *err) {
    int32_t *bk = malloc((n ? n : 1) * sizeof *bk);
    *bid = malloc((n ? n : 1) * sizeof **bid);
    *bval = malloc((n ? n : 1) * sizeof **bval);
    if (!bk || !*bid || !*bval) {
        free(bk);
        free(*bid);
        free(*bval);
        *bid = NULL;
        *bval = NULL;
        return affect_fail(err, AFFECT_ENOMEM, "lexical model: out of memory for the bigrams of %zu ids", n);
    }
    size_t m = affect_lexical_bigrams(lx->idf, lx->V, ids, n, lx->em.NB, bk);
    *k = affect_lexical_features(lx->em.bi_idf, lx->em.NB, bk, m, *bid, *bval);
    free(bk);
    return AFFECT_OK;
}

/* The emotion logits need the auxiliary logits and character n-grams before the token
 * features, because all three share the caller's fid/fval scratch only for the tokens. */
int affect_lexical_mix_row(const affect_lexical *lx, const int32_t *ids, size_t n, const char *text, size_t text_len,
                           float *logits, int32_t *fid, float *fval, affect_error *err) {
    if (!lx || lx->V <= 0) return AFFECT_OK;
    int any = 0;
    for (int l = 0; l < lx->L; l++) any |= lx->mix[l] != 0.0f;
    if (!any) return AFFECT_OK;
    if (lx->em.B > 0 && !text)
        return affect_fail(err, AFFECT_EARG, "lexical model: the emotion regressions read character n-grams, and the "
                           "text was not given");
    double z[AFFECT_LEXICAL_MAX_AUX];
    int A = lx->em.aux_w ? lx->aux.A : 0;
    if (A > 0) affect_lexical_aux_logits(lx, ids, n, z, fid, fval);
    int32_t *cid = NULL;
    float *cval = NULL;
    size_t kc = 0;
    if (lx->em.B > 0) {
        int rc = char_features(lx->em.B, lx->em.ngram_min, lx->em.ngram_max, lx->em.ch_idf, text, text_len, &cid, &cval,
                               &kc, err);
        if (rc) return rc;
    }
    int32_t *bid = NULL;
    float *bval = NULL;
    size_t kb = 0;
    if (lx->em.NB > 0 && n > 1) {
        int rc = bigram_features(lx, ids, n, &bid, &bval, &kb, err);
        if (rc) {
            free(cid);
            free(cval);
            return rc;
        }
    }
    size_t k = affect_lexical_features(lx->idf, lx->V, ids, n, fid, fval);
    for (int l = 0; l < lx->L; l++) {
        double a = lx->mix[l];
        if (a == 0.0) continue;
        const float *w = lx->w + (size_t)l * (size_t)lx->V;
        double s = lx->b[l];
        const float *bw = kb ? lx->em.bi_w + (size_t)l * (size_t)lx->em.NB : NULL;
        for (size_t i = 0; i < kb; i++) s += (double)bw[bid[i]] * (double)bval[i];
        for (size_t i = 0; i < k; i++) s += (double)w[fid[i]] * (double)fval[i];
        const float *v = A > 0 ? lx->em.aux_w + (size_t)l * (size_t)A : NULL;
        for (int j = 0; j < A; j++) s += (double)v[j] * z[j];
        const float *cw = kc ? lx->em.ch_w + (size_t)l * (size_t)lx->em.B : NULL;
        for (size_t i = 0; i < kc; i++) s += (double)cw[cid[i]] * (double)cval[i];
        logits[l] = (float)((1.0 - a) * (double)logits[l] + a * s);
    }
    free(cid);
    free(cval);
    free(bid);
    free(bval);
    return AFFECT_OK;
}

int affect_lexical_intensity_model(const affect_lexical *lx, const int32_t *ids, size_t n) {
    for (int g = 1; g < lx->in.G; g++) {
        size_t k = (size_t)(lx->in.prefix_off[g + 1] - lx->in.prefix_off[g]);
        if (n >= k + 1 && !memcmp(ids + 1, lx->in.prefix + lx->in.prefix_off[g], k * sizeof *ids)) return g;
    }
    return 0;
}

/* The logit of each auxiliary output is one sparse dot product, like a lexical emotion logit. */
void affect_lexical_aux_logits(const affect_lexical *lx, const int32_t *ids, size_t n, double *z, int32_t *fid,
                               float *fval) {
    size_t k = affect_lexical_features(lx->aux.idf, lx->V, ids, n, fid, fval);
    for (int j = 0; j < lx->aux.A; j++) {
        const float *w = lx->aux.w + (size_t)j * (size_t)lx->V;
        z[j] = lx->aux.b[j];
        for (size_t i = 0; i < k; i++) z[j] += (double)w[fid[i]] * (double)fval[i];
    }
}

void affect_lexical_aux_features(const affect_lexical *lx, const int32_t *ids, size_t n, double *u, int32_t *fid,
                                 float *fval) {
    affect_lexical_aux_logits(lx, ids, n, u, fid, fval);
    for (int j = 0; j < lx->aux.A; j++) u[j] = (u[j] - (double)lx->aux.mean[j]) * (double)lx->aux.scale[j];
}

const char *affect_lexical_model_text(const affect_lexical *lx, int g, const char *text, size_t *len) {
    if (g < 1 || g >= lx->in.G) return text;
    const char *nm = lx->in.names[g];
    size_t k = strlen(nm);
    if (*len >= k + 2 && !memcmp(text, nm, k) && text[k] == ':' && text[k + 1] == ' ') {
        *len -= k + 2;
        return text + k + 2;
    }
    return text;
}

/* The character part of ridge_g: its own sparse dot product over the text after the model's
 * prefix. */
static int char_part(const affect_lexical *lx, int g, const char *text, size_t len, double *z, affect_error *err) {
    const char *t = affect_lexical_model_text(lx, g, text, &len);
    int32_t *fid = NULL;
    float *fval = NULL;
    size_t k = 0;
    int rc = char_features(lx->in.B, lx->in.ngram_min, lx->in.ngram_max, lx->in.ch_idf, t, len, &fid, &fval, &k, err);
    if (rc) return rc;
    const float *w = lx->in.ch_w + (size_t)g * (size_t)lx->in.B;
    for (size_t i = 0; i < k; i++) *z += (double)w[fid[i]] * (double)fval[i];
    free(fid);
    free(fval);
    return AFFECT_OK;
}

int affect_lexical_mix_intensity(const affect_lexical *lx, const int32_t *ids, size_t n, const char *text,
                                 size_t text_len, float *intensity, int32_t *fid, float *fval, affect_error *err) {
    if (!lx || lx->V <= 0 || lx->in.G <= 0) return AFFECT_OK;
    if (lx->in.B > 0 && !text)
        return affect_fail(err, AFFECT_EARG, "lexical intensity: the model reads character n-grams, and the text "
                           "was not given");
    int g = affect_lexical_intensity_model(lx, ids, n);
    double a = lx->in.mix[g];
    if (a == 0.0) return AFFECT_OK;
    double z = lx->in.b[g];
    if (lx->aux.A > 0) {
        double u[AFFECT_LEXICAL_MAX_AUX];
        affect_lexical_aux_features(lx, ids, n, u, fid, fval);
        const float *v = lx->in.aux_w + (size_t)g * (size_t)lx->aux.A;
        for (int j = 0; j < lx->aux.A; j++) z += (double)v[j] * u[j];
    }
    if (lx->in.B > 0) {
        int rc = char_part(lx, g, text, text_len, &z, err);
        if (rc) return rc;
    }
    size_t k = affect_lexical_features(lx->in.idf, lx->V, ids, n, fid, fval);
    const float *w = lx->in.w + (size_t)g * (size_t)lx->V;
    for (size_t i = 0; i < k; i++) z += (double)w[fid[i]] * (double)fval[i];
    *intensity = (float)((1.0 - a) * (double)*intensity + a * z);
    return AFFECT_OK;
}

/* One float tensor of an exact shape into dst, with the file and tensor named in errors. */
static int load_tensor(const affect_tensor_set *ts, const char *name, int ndim, int64_t d0, int64_t d1, float *dst,
                       const char *source, affect_error *err) {
    const affect_tensor *t = affect_tensor_set_find(ts, name);
    int64_t want[2] = {d0, d1};
    char ws[64], gs[64];
    affect_shape_str(want, ndim, ws, sizeof ws);
    if (!t)
        return affect_fail(err, AFFECT_EFORMAT, "%s: missing tensor '%s' (expected %s; affect_heads.json declares a "
                           "lexical model)", source, name, ws);
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == want[d];
    if (!same)
        return affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s' has shape %s, expected %s", source, name,
                           affect_shape_str(t->shape, t->ndim, gs, sizeof gs), ws);
    if (t->dtype != AFFECT_DT_F32 && t->dtype != AFFECT_DT_F16 && t->dtype != AFFECT_DT_BF16 && t->dtype != AFFECT_DT_F64)
        return affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s' has dtype %s, expected a float type", source, name,
                           affect_dtype_name(t->dtype));
    return affect_tensor_to_f32(t, dst, err);
}

/* idf >= 0 and finite, weights and biases finite, mix within [0,1] (mix NULL: a part without
 * one): a model that passes cannot turn a text into NaN. */
static int check_part(const float *idf, const float *w, const float *b, const float *mix, int V, int K,
                      const char *idf_name, const char *part, const char *source, affect_error *err) {
    for (int v = 0; v < V; v++)
        if (!isfinite(idf[v]) || idf[v] < 0.0f)
            return affect_fail(err, AFFECT_EFORMAT, "%s: %s[%d] is %g, expected a finite value >= 0", source, idf_name, v,
                               (double)idf[v]);
    for (size_t i = 0; i < (size_t)K * (size_t)V; i++)
        if (!isfinite(w[i]))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.%sweight has a non-finite value", source, part);
    for (int k = 0; k < K; k++)
        if (!mix && !isfinite(b[k]))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.%sbias[%d] must be finite", source, part, k);
        else if (mix && (!isfinite(b[k]) || !(mix[k] >= 0.0f && mix[k] <= 1.0f)))
            return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.%sbias[%d] must be finite and lexical.%smix[%d] "
                               "within [0, 1]", source, part, k, part, k);
    return AFFECT_OK;
}

/* Strict like the heads: a lexical block from another tool must not be half-understood. */
int affect_lexical_load(affect_lexical *lx, const affect_tensor_set *ts, const char *source, affect_error *err) {
    if (!lx || lx->V <= 0) return affect_fail(err, AFFECT_EARG, "lexical model: not initialised");
    int V = lx->V, L = lx->L, G = lx->in.G;
    int rc = load_tensor(ts, "lexical.idf", 1, V, 0, lx->idf, source, err);
    if (!rc) rc = load_tensor(ts, "lexical.emotion.weight", 2, L, V, lx->w, source, err);
    if (!rc) rc = load_tensor(ts, "lexical.emotion.bias", 1, L, 0, lx->b, source, err);
    if (!rc) rc = load_tensor(ts, "lexical.emotion.mix", 1, L, 0, lx->mix, source, err);
    if (!rc) rc = check_part(lx->idf, lx->w, lx->b, lx->mix, V, L, "lexical.idf", "emotion.", source, err);
    if (rc) return rc;
    int A = lx->aux.A;
    if (A > 0) {
        rc = load_tensor(ts, "lexical.aux.idf", 1, V, 0, lx->aux.idf, source, err);
        if (!rc) rc = load_tensor(ts, "lexical.aux.weight", 2, A, V, lx->aux.w, source, err);
        if (!rc) rc = load_tensor(ts, "lexical.aux.bias", 1, A, 0, lx->aux.b, source, err);
        if (!rc) rc = load_tensor(ts, "lexical.aux.mean", 1, A, 0, lx->aux.mean, source, err);
        if (!rc) rc = load_tensor(ts, "lexical.aux.scale", 1, A, 0, lx->aux.scale, source, err);
        if (!rc && G > 0) rc = load_tensor(ts, "lexical.intensity.aux_weight", 2, G, A, lx->in.aux_w, source, err);
        if (!rc && lx->em.aux_w) rc = load_tensor(ts, "lexical.emotion.aux_weight", 2, L, A, lx->em.aux_w, source, err);
        if (!rc) rc = check_part(lx->aux.idf, lx->aux.w, lx->aux.b, NULL, V, A, "lexical.aux.idf", "aux.", source, err);
        if (rc) return rc;
        for (int j = 0; j < A; j++)
            if (!isfinite(lx->aux.mean[j]) || !isfinite(lx->aux.scale[j]) || lx->aux.scale[j] < 0.0f)
                return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.aux.mean[%d] must be finite and "
                                   "lexical.aux.scale[%d] finite and >= 0", source, j, j);
        for (size_t i = 0; i < (size_t)G * (size_t)A; i++)
            if (!isfinite(lx->in.aux_w[i]))
                return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.intensity.aux_weight has a non-finite value",
                                   source);
        for (size_t i = 0; lx->em.aux_w && i < (size_t)L * (size_t)A; i++)
            if (!isfinite(lx->em.aux_w[i]))
                return affect_fail(err, AFFECT_EFORMAT, "%s: lexical.emotion.aux_weight has a non-finite value",
                                   source);
    }
    if (lx->em.B > 0) {
        rc = load_tensor(ts, "lexical.emotion.char_idf", 1, lx->em.B, 0, lx->em.ch_idf, source, err);
        if (!rc) rc = load_tensor(ts, "lexical.emotion.char_weight", 2, L, lx->em.B, lx->em.ch_w, source, err);
        if (!rc) rc = check_part(lx->em.ch_idf, lx->em.ch_w, lx->b, NULL, lx->em.B, L, "lexical.emotion.char_idf",
                                 "emotion.char_", source, err);
        if (rc) return rc;
    }
    if (lx->em.NB > 0) {
        rc = load_tensor(ts, "lexical.emotion.bigram_idf", 1, lx->em.NB, 0, lx->em.bi_idf, source, err);
        if (!rc) rc = load_tensor(ts, "lexical.emotion.bigram_weight", 2, L, lx->em.NB, lx->em.bi_w, source, err);
        if (!rc) rc = check_part(lx->em.bi_idf, lx->em.bi_w, lx->b, NULL, lx->em.NB, L, "lexical.emotion.bigram_idf",
                                 "emotion.bigram_", source, err);
        if (rc) return rc;
    }
    if (G == 0) return AFFECT_OK;
    rc = load_tensor(ts, "lexical.intensity.idf", 1, V, 0, lx->in.idf, source, err);
    if (!rc) rc = load_tensor(ts, "lexical.intensity.weight", 2, G, V, lx->in.w, source, err);
    if (!rc) rc = load_tensor(ts, "lexical.intensity.bias", 1, G, 0, lx->in.b, source, err);
    if (!rc) rc = load_tensor(ts, "lexical.intensity.mix", 1, G, 0, lx->in.mix, source, err);
    if (!rc) rc = check_part(lx->in.idf, lx->in.w, lx->in.b, lx->in.mix, V, G, "lexical.intensity.idf", "intensity.", source, err);
    int B = lx->in.B;
    if (rc || B == 0) return rc;
    rc = load_tensor(ts, "lexical.intensity.char_idf", 1, B, 0, lx->in.ch_idf, source, err);
    if (!rc) rc = load_tensor(ts, "lexical.intensity.char_weight", 2, G, B, lx->in.ch_w, source, err);
    if (!rc) rc = check_part(lx->in.ch_idf, lx->in.ch_w, lx->in.b, NULL, B, G, "lexical.intensity.char_idf",
                             "intensity.char_", source, err);
    return rc;
}
