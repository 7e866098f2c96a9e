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
    affect_lexical_mix_row(&lx, ids, 4, logits, fid, fval);
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
    affect_lexical_mix_intensity(&lx, t1, 5, &inten, fid, fval);
    CHECK(near(inten, 0.5 * 0.6 + 0.5 * (0.1 + 0.3)), "mixed intensity %g", inten);
    inten = 0.6f;
    affect_lexical_mix_intensity(&lx, t4, 4, &inten, fid, fval);
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

/* A sorted tensor set over caller-owned f32 data. */
typedef struct tset {
    affect_tensor t[8];
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

    static const char *const bad[][2] = {
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
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = affect_heads_meta_parse(&h, bad[i][0], strlen(bad[i][0]), "m", &err);
        CHECK(rc != 0 && strstr(err.msg, bad[i][1]), "bad lexical metadata %zu: rc %d, message: %s", i, rc, err.msg);
    }
}

int main(void) {
    test_features();
    test_mix();
    test_meta_and_load();
    return failures ? 1 : 0;
}
