/* Unit tests of the lexical model at inference (src/core/model/lexical.c) and its metadata
 * (affect_heads.json "lexical"): features and mixing against hand-computed values, which
 * intensity model reads a text, and every malformed model refused with a message that names
 * the part (no fixtures, so they also run under ASan+UBSan). The fit is checked against
 * scikit-learn in tests/test_lexical_sklearn.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/heads_infer.h"
#include "model/lexical.h"

#define NV 10

static int near(double a, double b) { return fabs(a - b) <= 1e-6 * (1 + fabs(b)); }

static void test_features(void) {
    float idf[NV] = {0, 1, 2, 1.5f, 0, 0, 0, 0, 0, 3};
    /* 1 twice, 2 and 3 once, 0 (idf 0), 12 and -1 (out of range) dropped */
    int32_t ids[] = {0, 1, 3, 12, 1, 2, -1, 0};
    int32_t fid[8];
    float fval[8];
    size_t k = affect_lexical_features(idf, NV, ids, 8, fid, fval);
    double x1 = 1 + log(2.0), x2 = 2, x3 = 1.5, nrm = sqrt(x1 * x1 + x2 * x2 + x3 * x3);
    CHECK(k == 3 && fid[0] == 1 && fid[1] == 2 && fid[2] == 3, "features: k=%zu ids %d %d %d", k, fid[0], fid[1], fid[2]);
    CHECK(k == 3 && near(fval[0], x1 / nrm) && near(fval[1], x2 / nrm) && near(fval[2], x3 / nrm),
          "features: values %g %g %g", fval[0], fval[1], fval[2]);
    int32_t only[] = {0, 4, 0};
    CHECK(affect_lexical_features(idf, NV, only, 3, fid, fval) == 0, "a text of ignored ids has no features");
}

static void test_mix(void) {
    affect_lexical lx;
    affect_error err = {0};
    CHECK(affect_lexical_init(&lx, NV, 2, &err) == 0, "%s", err.msg);
    lx.idf[2] = 1;
    lx.idf[5] = 1;
    lx.w[2] = 4;          /* label 0 */
    lx.w[NV + 5] = -2;     /* label 1 */
    lx.b[0] = 0.5f;
    lx.b[1] = 1;
    lx.mix[0] = 0.25f;
    lx.mix[1] = 0;        /* label 1: the head alone */
    int32_t ids[] = {0, 2, 5, 1};
    float logits[2] = {1, -3};
    int32_t fid[4];
    float fval[4];
    CHECK(affect_lexical_mix_row(&lx, ids, 4, NULL, 0, logits, fid, fval, &err) == 0, "%s", err.msg);
    double lex0 = 0.5 + 4 / sqrt(2.0);
    CHECK(near(logits[0], 0.75 * 1 + 0.25 * lex0), "mixed logit %g, want %g", logits[0], 0.75 + 0.25 * lex0);
    CHECK(logits[1] == -3, "mix 0 must leave the head's logit alone (%g)", logits[1]);

    /* intensity: model 0 plain, model 1 prefix [5 6], model 2 prefix [5 7] */
    const char *names[3] = {"", "anger", "fear"};
    int32_t p1[] = {5, 6}, p2[] = {5, 7};
    const int32_t *px[3] = {NULL, p1, p2};
    int pl[3] = {0, 2, 2};
    CHECK(affect_lexical_init_intensity(&lx, 3, names, px, pl, &err) == 0, "%s", err.msg);
    int32_t t1[] = {0, 5, 7, 2, 1}, t2[] = {0, 5, 6}, t3[] = {0, 5}, t4[] = {0, 6, 5, 1};
    CHECK(affect_lexical_intensity_model(&lx, t1, 5) == 2, "prefix [5 7] reads model 2");
    CHECK(affect_lexical_intensity_model(&lx, t2, 3) == 1, "prefix [5 6] reads model 1");
    CHECK(affect_lexical_intensity_model(&lx, t3, 2) == 0, "a text shorter than a prefix reads model 0");
    CHECK(affect_lexical_intensity_model(&lx, t4, 4) == 0, "an unprefixed text reads model 0");
    lx.in.idf[2] = 1;
    lx.in.w[2 * NV + 2] = 0.3f;
    lx.in.b[2] = 0.1f;
    lx.in.mix[2] = 0.5f;
    float inten = 0.6f;
    affect_lexical_mix_intensity(&lx, t1, 5, NULL, 0, &inten, fid, fval, &err);
    CHECK(near(inten, 0.5 * 0.6 + 0.5 * (0.1 + 0.3)), "mixed intensity %g", inten);
    inten = 0.6f;
    affect_lexical_mix_intensity(&lx, t4, 4, NULL, 0, &inten, fid, fval, &err);
    CHECK(inten == 0.6f, "model 0 has mix 0: the head alone (%g)", inten);
    affect_lexical cp;
    CHECK(affect_lexical_copy(&lx, &cp, &err) == 0, "%s", err.msg);
    CHECK(cp.V == NV && cp.L == 2 && cp.in.G == 3 && cp.arena != lx.arena &&
          !memcmp(cp.arena, lx.arena, (NV + 2 * NV + 4) * sizeof(float)) &&
          !memcmp(cp.in.arena, lx.in.arena, (NV + 3 * NV + 6) * sizeof(float)) &&
          affect_lexical_intensity_model(&cp, t1, 5) == 2 && !strcmp(cp.in.names[2], "fear"),
          "affect_lexical_copy: the copy differs from its source");
    affect_lexical_free(&cp);
    affect_lexical_free(&lx);

    /* malformed intensity groups */
    CHECK(affect_lexical_init(&lx, NV, 2, &err) == 0, "%s", err.msg);
    int pl0[3] = {1, 2, 2};
    CHECK(affect_lexical_init_intensity(&lx, 3, names, px, pl0, &err) == AFFECT_EFORMAT && strstr(err.msg, "model 0"),
          "model 0 with a prefix: %s", err.msg);
    const int32_t *dup[3] = {NULL, p1, p1};
    CHECK(affect_lexical_init_intensity(&lx, 3, names, dup, pl, &err) == AFFECT_EFORMAT && strstr(err.msg, "same prefix"),
          "duplicate prefixes: %s", err.msg);
    int32_t bad[] = {5, NV};
    const int32_t *pb[3] = {NULL, p1, bad};
    CHECK(affect_lexical_init_intensity(&lx, 3, names, pb, pl, &err) == AFFECT_EFORMAT && strstr(err.msg, "outside"),
          "prefix id out of range: %s", err.msg);
    CHECK(lx.in.G == 0, "a refused group list leaves no intensity models");
    affect_lexical_free(&lx);
}

/* Auxiliary outputs: their standardised logits join the intensity ridge's features. */
static void test_aux(void) {
    affect_lexical lx;
    affect_error err = {0};
    CHECK(affect_lexical_init(&lx, NV, 1, &err) == 0, "%s", err.msg);
    CHECK(affect_lexical_init_aux(&lx, 2, "goemotions", &err) == 0, "%s", err.msg);
    lx.aux.idf[3] = 2;
    lx.aux.idf[4] = 1;
    lx.aux.w[3] = 1.5f;          /* output 0 reads id 3 */
    lx.aux.w[NV + 4] = -2;       /* output 1 reads id 4 */
    lx.aux.b[0] = 0.2f;
    lx.aux.b[1] = -1;
    lx.aux.mean[0] = 0.5f;
    lx.aux.mean[1] = -1.5f;
    lx.aux.scale[0] = 0.1f;
    lx.aux.scale[1] = 2;
    const char *names[1] = {""};
    int pl[1] = {0};
    CHECK(affect_lexical_init_intensity(&lx, 1, names, NULL, pl, &err) == 0, "%s", err.msg);
    CHECK(lx.in.aux_w != NULL, "intensity models over aux outputs have aux weights");
    lx.in.idf[3] = 1;
    lx.in.w[3] = 0.4f;
    lx.in.b[0] = 0.3f;
    lx.in.mix[0] = 1;
    lx.in.aux_w[0] = 0.5f;
    lx.in.aux_w[1] = -0.25f;
    int32_t ids[] = {0, 3, 4, 3, 1};
    int32_t fid[5];
    float fval[5];
    double u[2];
    affect_lexical_aux_features(&lx, ids, 5, u, fid, fval);
    /* aux features: id 3 twice (1 + ln 2) * 2, id 4 once * 1, l2-normalised */
    double a3 = (1 + log(2.0)) * 2, a4 = 1, an = sqrt(a3 * a3 + a4 * a4);
    double z0 = 0.2 + 1.5 * a3 / an, z1 = -1 - 2 * a4 / an;
    double u0 = (z0 - 0.5) * 0.1, u1 = (z1 + 1.5) * 2;
    CHECK(near(u[0], u0) && near(u[1], u1), "aux features %g %g, want %g %g", u[0], u[1], u0, u1);
    float inten = 0.9f;
    affect_lexical_mix_intensity(&lx, ids, 5, NULL, 0, &inten, fid, fval, &err);
    double want = 0.3 + 0.4 * 1.0 + 0.5 * u0 - 0.25 * u1; /* intensity features: id 3 alone, normalised to 1 */
    CHECK(near(inten, want), "intensity with aux features %g, want %g", inten, want);
    affect_lexical cp;
    CHECK(affect_lexical_copy(&lx, &cp, &err) == 0, "%s", err.msg);
    inten = 0.9f;
    affect_lexical_mix_intensity(&cp, ids, 5, NULL, 0, &inten, fid, fval, &err);
    CHECK(cp.aux.A == 2 && !strcmp(cp.aux.name, "goemotions") && cp.aux.arena != lx.aux.arena && near(inten, want),
          "affect_lexical_copy keeps the aux outputs (%g)", inten);
    affect_lexical_free(&cp);
    CHECK(affect_lexical_init_aux(&lx, 2, "x", &err) == AFFECT_EARG, "aux added twice / after the intensity models");
    affect_lexical_free(&lx);
}

/* A sorted tensor set over caller-owned f32 data. */
typedef struct tset {
    affect_tensor t[24];
    affect_tensor_set ts;
} tset;

static void add(tset *s, const char *name, int ndim, int64_t d0, int64_t d1, const float *data) {
    affect_tensor *t = &s->t[s->ts.n++];
    memset(t, 0, sizeof *t);
    t->name = (char *)name;
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = d1;
    t->stride[ndim - 1] = 1;
    if (ndim == 2) t->stride[0] = d1;
    t->numel = ndim == 2 ? d0 * d1 : d0;
    t->dtype = AFFECT_DT_F32;
    t->data = (const uint8_t *)data;
    s->ts.t = s->t;
    for (size_t i = s->ts.n - 1; i > 0 && strcmp(s->t[i - 1].name, s->t[i].name) > 0; i--) {
        affect_tensor tmp = s->t[i];
        s->t[i] = s->t[i - 1];
        s->t[i - 1] = tmp;
    }
}

static void test_meta_and_load(void) {
    affect_error err = {0};
    affect_heads_model h;
    const char *good = "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\"],\"lexical\":{\"features\":"
                       "\"tfidf-sublinear-l2\",\"vocab_size\":10,\"intensity\":[{\"name\":\"\",\"prefix\":[]},"
                       "{\"name\":\"anger\",\"prefix\":[4,9]}]}}";
    CHECK(affect_heads_meta_parse(&h, good, strlen(good), "m", &err) == 0, "%s", err.msg);
    CHECK(h.lex.V == 10 && h.lex.L == 2 && h.lex.in.G == 2 && !strcmp(h.lex.in.names[1], "anger") &&
          h.lex.in.prefix_off[2] - h.lex.in.prefix_off[1] == 2, "parsed lexical metadata");
    float idf[NV] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1}, w[2 * NV] = {0}, b[2] = {0, 0}, mix[2] = {0.5f, 0.5f};
    float iidf[NV] = {0}, iw[2 * NV] = {0}, ib[2] = {0}, imix[2] = {0.5f, 0.5f};
    tset s;
    memset(&s, 0, sizeof s);
    add(&s, "lexical.idf", 1, NV, 0, idf);
    add(&s, "lexical.emotion.weight", 2, 2, NV, w);
    add(&s, "lexical.emotion.bias", 1, 2, 0, b);
    add(&s, "lexical.emotion.mix", 1, 2, 0, mix);
    add(&s, "lexical.intensity.idf", 1, NV, 0, iidf);
    add(&s, "lexical.intensity.weight", 2, 2, NV, iw);
    add(&s, "lexical.intensity.bias", 1, 2, 0, ib);
    add(&s, "lexical.intensity.mix", 1, 2, 0, imix);
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == 0, "%s", err.msg);
    mix[1] = 1.5f;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "lexical.emotion.mix[1]"),
          "mix above 1: %s", err.msg);
    mix[1] = 0.5f;
    idf[3] = NAN;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "lexical.idf[3]"),
          "NaN idf: %s", err.msg);
    idf[3] = 1;
    iw[7] = INFINITY;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "intensity.weight"),
          "infinite intensity weight: %s", err.msg);
    iw[7] = 0;
    s.t[0].shape[0] = 3; /* the first tensor in name order, whichever it is, now has a wrong shape */
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "has shape"),
          "wrong shape: %s", err.msg);
    s.t[0].shape[0] = s.t[0].ndim == 2 ? 2 : (strstr(s.t[0].name, "idf") ? NV : 2);
    s.ts.n = 4; /* drop the intensity tensors (they sort after the emotion ones) */
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "missing tensor"),
          "missing intensity tensors: %s", err.msg);
    affect_heads_model_free(&h);

    /* with aux outputs: their tensors are required and checked */
    const char *with_aux = "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\"],\"lexical\":{\"features\":"
                           "\"tfidf-sublinear-l2\",\"vocab_size\":10,\"aux\":{\"name\":\"goemotions\",\"outputs\":3},"
                           "\"intensity\":[{\"name\":\"\",\"prefix\":[]},{\"name\":\"anger\",\"prefix\":[4,9]}]}}";
    CHECK(affect_heads_meta_parse(&h, with_aux, strlen(with_aux), "m", &err) == 0, "%s", err.msg);
    CHECK(h.lex.aux.A == 3 && !strcmp(h.lex.aux.name, "goemotions") && h.lex.in.aux_w, "parsed aux metadata");
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "lexical.aux.idf"),
          "aux declared, tensors missing: %s", err.msg);
    float aidf[NV] = {0}, aw[3 * NV] = {0}, ab[3] = {0}, am[3] = {0}, asc[3] = {1, 1, 1}, iaw[2 * 3] = {0};
    s.ts.n = 8; /* the intensity tensors dropped above are still in place */
    add(&s, "lexical.aux.idf", 1, NV, 0, aidf);
    add(&s, "lexical.aux.weight", 2, 3, NV, aw);
    add(&s, "lexical.aux.bias", 1, 3, 0, ab);
    add(&s, "lexical.aux.mean", 1, 3, 0, am);
    add(&s, "lexical.aux.scale", 1, 3, 0, asc);
    add(&s, "lexical.intensity.aux_weight", 2, 2, 3, iaw);
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == 0, "%s", err.msg);
    asc[2] = -1;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "lexical.aux.scale[2]"),
          "negative aux scale: %s", err.msg);
    asc[2] = 1;
    iaw[4] = NAN;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "aux_weight"),
          "NaN aux weight: %s", err.msg);
    affect_heads_model_free(&h);

    /* with character n-grams: their tensors are required and checked */
    const char *with_chars = "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\"],\"lexical\":{\"features\":"
                             "\"tfidf-sublinear-l2\",\"vocab_size\":10,\"intensity\":[{\"name\":\"\",\"prefix\":[]},"
                             "{\"name\":\"anger\",\"prefix\":[4,9]}],\"intensity_chars\":{\"analyzer\":\"char_wb\","
                             "\"ngram_range\":[2,5],\"buckets\":8,\"hash\":\"murmurhash3_32\"}}}";
    CHECK(affect_heads_meta_parse(&h, with_chars, strlen(with_chars), "m", &err) == 0, "%s", err.msg);
    CHECK(h.lex.in.B == 8 && h.lex.in.ngram_min == 2 && h.lex.in.ngram_max == 5, "parsed character metadata");
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "char_idf"),
          "characters declared, tensors missing: %s", err.msg);
    float cidf[8] = {0, 1, 1, 1, 1, 1, 1, 1}, cw[2 * 8] = {0};
    add(&s, "lexical.intensity.char_idf", 1, 8, 0, cidf);
    add(&s, "lexical.intensity.char_weight", 2, 2, 8, cw);
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == 0, "%s", err.msg);
    cidf[2] = -1;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "char_idf[2]"),
          "negative character idf: %s", err.msg);
    cidf[2] = 1;
    cw[9] = NAN;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "char_weight"),
          "NaN character weight: %s", err.msg);
    affect_heads_model_free(&h);

    static const char *const bad[][2] = {
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\",\"c\",\"d\"],\"lexical\":{\"features\":"
         "\"tfidf-sublinear-l2+emotion-parts\",\"vocab_size\":10,\"emotion_chars\":{\"analyzer\":\"char_wb\","
         "\"ngram_range\":[2,5],\"buckets\":16000000,\"hash\":\"murmurhash3_32\"},\"emotion_bigrams\":{\"of\":"
         "\"token_ids\",\"buckets\":16000000,\"hash\":\"murmurhash3_32\"}}}",
         "asks for 160000058 weights"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"bm25\",\"vocab_size\":10}}",
         "lexical.features"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\"}}",
         "vocab_size"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":[]}", "must be an object"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"intensity\":[{\"name\":\"\",\"prefix\":[]},{\"name\":\"x\",\"prefix\":[10]}]}}",
         "prefix[0]"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"intensity\":[{\"name\":\"\",\"prefix\":[]},{\"name\":7,\"prefix\":[1]}]}}",
         "intensity[1]"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"intensity\":[{\"name\":\"\",\"prefix\":[3]}]}}",
         "model 0"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\"],\"lexical\":{\"features\":"
         "\"tfidf-sublinear-l2\",\"vocab_size\":16000000}}",
         "beyond any real vocabulary"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"aux\":{\"name\":\"g\",\"outputs\":3}}}",
         "lexical.emotion_aux is not true"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2+emotion-parts\","
         "\"vocab_size\":10,\"aux\":{\"name\":\"g\",\"outputs\":3},\"emotion_aux\":false}}",
         "lexical.emotion_aux is not true"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2+emotion-parts\","
         "\"vocab_size\":10,\"emotion_aux\":true}}",
         "lexical.emotion_aux reads lexical.aux"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2+emotion-parts\","
         "\"vocab_size\":10,\"aux\":{\"name\":\"g\",\"outputs\":3},\"emotion_aux\":1}}",
         "emotion_aux must be true or false"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2+emotion-parts\","
         "\"vocab_size\":10,\"emotion_chars\":{\"analyzer\":\"char_wb\",\"ngram_range\":[2,5],\"buckets\":0,"
         "\"hash\":\"murmurhash3_32\"}}}",
         "lexical.emotion_chars must be"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2+emotion-parts\","
         "\"vocab_size\":10,\"emotion_bigrams\":{\"of\":\"words\",\"buckets\":8,\"hash\":\"murmurhash3_32\"}}}",
         "lexical.emotion_bigrams must be"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"aux\":{\"name\":\"g\",\"outputs\":0},\"intensity\":[{\"name\":\"\",\"prefix\":[]}]}}",
         "lexical.aux must be"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"intensity\":[{\"name\":\"\",\"prefix\":[]}],\"intensity_chars\":{\"analyzer\":\"char\","
         "\"ngram_range\":[2,5],\"buckets\":8,\"hash\":\"murmurhash3_32\"}}}",
         "lexical.intensity_chars must be"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"intensity\":[{\"name\":\"\",\"prefix\":[]}],\"intensity_chars\":{\"analyzer\":\"char_wb\","
         "\"ngram_range\":[5,2],\"buckets\":8,\"hash\":\"murmurhash3_32\"}}}",
         "lexical.intensity_chars must be"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"intensity_chars\":{\"analyzer\":\"char_wb\",\"ngram_range\":[2,5],\"buckets\":8,"
         "\"hash\":\"murmurhash3_32\"}}}",
         "lexical.intensity_chars is read by"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"word_trigrams\":{}}}",
         "lexical.word_trigrams is not a member"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":\"tfidf-sublinear-l2\","
         "\"vocab_size\":10,\"emotion_bigrams\":{\"of\":\"token_ids\",\"buckets\":8,\"hash\":\"murmurhash3_32\"}}}",
         "its features are not"},
        {"{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"lexical\":{\"features\":"
         "\"tfidf-sublinear-l2+emotion-parts\",\"vocab_size\":10}}",
         "there is no emotion_* member"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = affect_heads_meta_parse(&h, bad[i][0], strlen(bad[i][0]), "m", &err);
        CHECK(rc != 0 && strstr(err.msg, bad[i][1]), "bad lexical metadata %zu: rc %d, message: %s", i, rc, err.msg);
    }
}

/* Character n-grams: hashes and buckets as scikit-learn's HashingVectorizer(analyzer="char_wb")
 * gives them (values from sklearn.utils.murmurhash3_32 and its analyzer), the prefix cut, and
 * the ridge's character part. */
static void test_chars(void) {
    CHECK(affect_murmur3_32("", 0, 0) == 0 && affect_murmur3_32("a", 1, 0) == 1009084850u &&
          (int32_t)affect_murmur3_32("ab", 2, 0) == -1681926305 && (int32_t)affect_murmur3_32("abc", 3, 0) == -1277324294 &&
          affect_murmur3_32("abcd", 4, 0) == 1139631978u && affect_murmur3_32("hello", 5, 0) == 613153351u &&
          affect_murmur3_32(" \xc3\xa9\xf0\x9f\x98\x80 ", 8, 0) == 1780746414u,
          "MurmurHash3 x86 32 known values");
    int32_t bk[64];
    size_t k = affect_lexical_char_ngrams("ab c", 4, 2, 3, 16, bk);
    int32_t want[] = {1, 1, 6, 14, 15, 3, 6, 4}; /* " a" "ab" "b " " ab" "ab " " c" "c " " c " */
    CHECK(k == 8 && !memcmp(bk, want, sizeof want), "n-grams of \"ab c\": %zu", k);
    /* no-break space and U+001F split words (Python's str.split), a one-letter word yields its
     * padded self once */
    const char *t = "x\xc2\xa0\xc3\xa9\x1fyz";
    int32_t want2[] = {233950, 346397, 847382, 975915, 58770, 303326, 608782, 481562, 1032331, 396243, 536374};
    k = affect_lexical_char_ngrams(t, strlen(t), 2, 3, 1 << 20, bk);
    CHECK(k == 11 && !memcmp(bk, want2, sizeof want2), "n-grams across Unicode separators: %zu", k);
    CHECK(affect_lexical_char_ngrams(" \t ", 3, 2, 5, 16, bk) == 0, "whitespace only: no n-grams");
    /* n from 1: " ab " gives 4 unigrams, then bigrams..., the text is not NUL-terminated here */
    char ab[2] = {'a', 'b'};
    CHECK(affect_lexical_char_ngrams(ab, 2, 1, 2, 16, bk) == 7, "n-grams of \"ab\" for n = 1..2");
    CHECK(affect_lexical_char_ngram_bound(4, 2, 3) >= 8 && affect_lexical_char_ngram_bound(SIZE_MAX / 2, 2, 5) == 0,
          "n-gram bound");

    affect_lexical lx;
    affect_error err = {0};
    CHECK(affect_lexical_init(&lx, NV, 1, &err) == 0, "%s", err.msg);
    const char *names[2] = {"", "anger"};
    int32_t p1[] = {5};
    const int32_t *px[2] = {NULL, p1};
    int pl[2] = {0, 1};
    CHECK(affect_lexical_init_intensity(&lx, 2, names, px, pl, &err) == 0, "%s", err.msg);
    CHECK(affect_lexical_init_intensity_chars(&lx, 16, 3, 2, &err) == AFFECT_EARG, "n-gram range reversed refused");
    CHECK(affect_lexical_init_intensity_chars(&lx, 16, 2, 3, &err) == 0, "%s", err.msg);
    size_t len = 9;
    CHECK(affect_lexical_model_text(&lx, 1, "anger: ab", &len)[0] == 'a' && len == 2, "model 1 reads after its prefix");
    len = 9;
    CHECK(len == 9 && affect_lexical_model_text(&lx, 0, "anger: ab", &len)[0] == 'a' && len == 9,
          "model 0 reads the whole text");
    len = 8;
    CHECK(affect_lexical_model_text(&lx, 1, "anger:ab", &len) && len == 8, "no \": \" after the name: no cut");
    /* model 1 on "anger: ab c": buckets 1 (x2), 6 (x2), 14, 15, 3, 4; idf 1 on 1 and 6 only */
    lx.in.ch_idf[1] = 1;
    lx.in.ch_idf[6] = 2;
    lx.in.ch_w[16 + 1] = 0.5f;
    lx.in.ch_w[16 + 6] = -1;
    lx.in.ch_w[1] = 100; /* model 0's weight: must not be read */
    lx.in.b[1] = 0.25f;
    lx.in.mix[1] = 1;
    int32_t ids[] = {0, 5, 7, 1}, fid[4];
    float fval[4], inten = 0;
    CHECK(affect_lexical_mix_intensity(&lx, ids, 4, NULL, 0, &inten, fid, fval, &err) == AFFECT_EARG &&
          strstr(err.msg, "character"), "a character model without the text: %s", err.msg);
    CHECK(affect_lexical_mix_intensity(&lx, ids, 4, "anger: ab c", 11, &inten, fid, fval, &err) == 0, "%s", err.msg);
    double x1 = (1 + log(2.0)) * 1, x6 = (1 + log(2.0)) * 2, nn = sqrt(x1 * x1 + x6 * x6);
    double want_i = 0.25 + 0.5 * x1 / nn - 1 * x6 / nn;
    CHECK(near(inten, want_i), "intensity with character n-grams %g, want %g", inten, want_i);
    affect_lexical cp;
    CHECK(affect_lexical_copy(&lx, &cp, &err) == 0, "%s", err.msg);
    inten = 0;
    CHECK(affect_lexical_mix_intensity(&cp, ids, 4, "anger: ab c", 11, &inten, fid, fval, &err) == 0 &&
          cp.in.B == 16 && cp.in.ch_arena != lx.in.ch_arena && near(inten, want_i), "the copy keeps the n-grams");
    affect_lexical_free(&cp);
    affect_lexical_free(&lx);
}

/* The emotion regressions' optional parts: GoEmotions-like auxiliary logits (raw, their
 * standardisation folded in) and character n-grams of the whole text, hand-computed. */
static void test_emotion_extras(void) {
    affect_lexical lx;
    affect_error err = {0};
    CHECK(affect_lexical_init(&lx, NV, 2, &err) == 0, "%s", err.msg);
    CHECK(affect_lexical_init_emotion_aux(&lx, &err) == AFFECT_EARG, "emotion aux without aux outputs refused");
    CHECK(affect_lexical_init_aux(&lx, 2, "g", &err) == 0, "%s", err.msg);
    CHECK(affect_lexical_init_emotion_aux(&lx, &err) == 0, "%s", err.msg);
    CHECK(affect_lexical_init_emotion_chars(&lx, 16, 3, 2, &err) == AFFECT_EARG, "n-gram range reversed refused");
    CHECK(affect_lexical_init_emotion_chars(&lx, 16, 2, 3, &err) == 0, "%s", err.msg);
    lx.idf[2] = 1;
    lx.w[2] = 4;                 /* label 0, token 2 */
    lx.b[0] = 0.5f;
    lx.mix[0] = 1;
    lx.mix[1] = 0;               /* label 1: the head alone, its parts never read */
    lx.aux.idf[2] = 1;
    lx.aux.w[2] = 3;             /* output 0: z0 = 0.5 + 3 x_2 */
    lx.aux.b[0] = 0.5f;
    lx.aux.b[1] = -1;            /* output 1: z1 = -1 */
    lx.em.aux_w[0] = 0.5f;
    lx.em.aux_w[1] = 2;
    lx.em.aux_w[2] = 100;        /* label 1 */
    /* "ab c", n = 2..3 into 16 buckets: 1 (x2), 6 (x2), 14, 15, 3, 4 (test_chars); idf on 1 and 6 */
    lx.em.ch_idf[1] = 1;
    lx.em.ch_idf[6] = 2;
    lx.em.ch_w[1] = 0.5f;
    lx.em.ch_w[6] = -1;
    lx.em.ch_w[16 + 1] = 100;    /* label 1 */
    int32_t ids[] = {0, 2, 5, 1}, fid[4];
    float fval[4], logits[2] = {1, -3};
    CHECK(affect_lexical_mix_row(&lx, ids, 4, NULL, 0, logits, fid, fval, &err) == AFFECT_EARG &&
          strstr(err.msg, "character"), "emotion n-grams without the text: %s", err.msg);
    CHECK(affect_lexical_mix_row(&lx, ids, 4, "ab c", 4, logits, fid, fval, &err) == 0, "%s", err.msg);
    double x1 = (1 + log(2.0)) * 1, x6 = (1 + log(2.0)) * 2, nn = sqrt(x1 * x1 + x6 * x6);
    double want = 0.5 + 4 + (0.5 * 3.5 + 2 * -1.0) + (0.5 * x1 / nn - x6 / nn);
    CHECK(near(logits[0], want) && logits[1] == -3, "emotion logit with aux and n-grams %g, want %g (label 1 %g)",
          logits[0], want, logits[1]);
    /* bigrams: MurmurHash3 of two little-endian int32s (values from scikit-learn's
     * murmurhash3_32(struct.pack("<ii", a, b), positive=True)); pairs with an idf-0 id skipped */
    float bgidf[1001] = {0};
    bgidf[2] = bgidf[3] = bgidf[5] = bgidf[7] = bgidf[1000] = 1;
    int32_t seq[] = {5, 7, 5, 0, 1000, 3, -1, 2, 2}, bk[9];
    uint32_t bwant[] = {3260195672u, 2406741321u, 632131277u, 884972610u}; /* (5,7) (7,5) (1000,3) (2,2) */
    size_t nb = affect_lexical_bigrams(bgidf, 1001, seq, 9, 1 << 30, bk);
    int same = nb == 4;
    for (size_t i = 0; same && i < 4; i++) same = (uint32_t)bk[i] == bwant[i] % (1u << 30);
    CHECK(same, "bigram buckets (%zu): %d %d %d %d", nb, bk[0], bk[1], bk[2], bk[3]);
    CHECK(affect_lexical_bigrams(bgidf, 1001, seq, 1, 16, bk) == 0, "one id: no bigram");
    affect_lexical cp;
    CHECK(affect_lexical_copy(&lx, &cp, &err) == 0, "%s", err.msg);
    float lc[2] = {1, -3};
    CHECK(affect_lexical_mix_row(&cp, ids, 4, "ab c", 4, lc, fid, fval, &err) == 0 && near(lc[0], want) &&
          cp.em.aux_w != lx.em.aux_w && cp.em.ch_arena != lx.em.ch_arena, "the copy keeps both parts");
    affect_lexical_free(&cp);
    affect_lexical_free(&lx);

    /* metadata and tensors: declared parts need their tensors, and bad values are refused */
    affect_heads_model h;
    const char *meta = "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\"],\"lexical\":{\"features\":"
                       "\"tfidf-sublinear-l2+emotion-parts\",\"vocab_size\":10,\"aux\":{\"name\":\"goemotions\","
                       "\"outputs\":3},\"emotion_aux\":true,\"emotion_chars\":{\"analyzer\":\"char_wb\",\"ngram_range\":[2,5],"
                       "\"buckets\":8,\"hash\":\"murmurhash3_32\"},\"emotion_bigrams\":{\"of\":\"token_ids\","
                       "\"buckets\":4,\"hash\":\"murmurhash3_32\"}}}";
    CHECK(affect_heads_meta_parse(&h, meta, strlen(meta), "m", &err) == 0, "%s", err.msg);
    CHECK(h.lex.aux.A == 3 && h.lex.em.aux_w && h.lex.em.B == 8 && h.lex.em.NB == 4 && h.lex.in.G == 0,
          "parsed emotion parts");
    float idf[NV] = {0, 1, 1, 1, 1, 1, 1, 1, 1, 1}, w[2 * NV] = {0}, b[2] = {0}, mix[2] = {0.5f, 0.5f};
    float aidf[NV] = {0}, aw[3 * NV] = {0}, ab[3] = {0}, am[3] = {0}, asc[3] = {0}, eaw[2 * 3] = {0};
    float cidf[8] = {0, 1, 1, 1, 1, 1, 1, 1}, cw[2 * 8] = {0};
    tset s;
    memset(&s, 0, sizeof s);
    add(&s, "lexical.idf", 1, NV, 0, idf);
    add(&s, "lexical.emotion.weight", 2, 2, NV, w);
    add(&s, "lexical.emotion.bias", 1, 2, 0, b);
    add(&s, "lexical.emotion.mix", 1, 2, 0, mix);
    add(&s, "lexical.aux.idf", 1, NV, 0, aidf);
    add(&s, "lexical.aux.weight", 2, 3, NV, aw);
    add(&s, "lexical.aux.bias", 1, 3, 0, ab);
    add(&s, "lexical.aux.mean", 1, 3, 0, am);
    add(&s, "lexical.aux.scale", 1, 3, 0, asc);
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "lexical.emotion.aux_weight"),
          "emotion aux declared, weights missing: %s", err.msg);
    add(&s, "lexical.emotion.aux_weight", 2, 2, 3, eaw);
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "lexical.emotion.char_idf"),
          "emotion n-grams declared, tensors missing: %s", err.msg);
    add(&s, "lexical.emotion.char_idf", 1, 8, 0, cidf);
    add(&s, "lexical.emotion.char_weight", 2, 2, 8, cw);
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "lexical.emotion.bigram_idf"),
          "emotion bigrams declared, tensors missing: %s", err.msg);
    float bidf[4] = {1, 1, 1, 1}, bw[2 * 4] = {0};
    add(&s, "lexical.emotion.bigram_idf", 1, 4, 0, bidf);
    add(&s, "lexical.emotion.bigram_weight", 2, 2, 4, bw);
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == 0, "%s", err.msg);
    bidf[3] = -1;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "bigram_idf[3]"),
          "negative bigram idf: %s", err.msg);
    bidf[3] = 1;
    eaw[4] = NAN;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "emotion.aux_weight"),
          "NaN emotion aux weight: %s", err.msg);
    eaw[4] = 0;
    cw[9] = INFINITY;
    CHECK(affect_lexical_load(&h.lex, &s.ts, "w", &err) == AFFECT_EFORMAT && strstr(err.msg, "emotion.char_weight"),
          "infinite emotion character weight: %s", err.msg);
    affect_heads_model_free(&h);
}

int main(void) {
    test_chars();
    test_features();
    test_mix();
    test_aux();
    test_emotion_extras();
    test_meta_and_load();
    return failures ? 1 : 0;
}
