/* Unit tests for the model core that need no PyTorch: config.json parsing (the real seed
 * configs and malformed ones), the checkpoint key map, and encoder invariants (per-layer and
 * shared activation layouts agree bit for bit; padding never changes real-token outputs;
 * bad ids and over-long batches are refused). Parity with PyTorch is tests/test_parity.py. */
#include "model/arch.h"
#include "model/config.h"
#include "model/encoder.h"
#include "model/kernels.h"
#include "util/blob.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static int parse_str(affect_model_config *c, const char *json, affect_error *err) {
    return affect_config_parse(c, json, strlen(json), err);
}

/* The real configs from shared/models, with the defaults transformers applies. */
static void test_real_configs(void) {
    const char *shared = getenv("AFFECT_SHARED");
    if (!shared) shared = "../shared";
    struct { const char *dir; int fam, H, L, NH, F, TV, pad, maxlen; float eps; } cases[] = {
        {"TinyBERT_General_4L_312D", AFFECT_FAMILY_BERT, 312, 4, 12, 1200, 2, 0, 512, 1e-12f},
        {"MiniLMv2-L12-H384-distilled-from-RoBERTa-Large", AFFECT_FAMILY_ROBERTA, 384, 12, 12, 1536, 1, 1, 512, 1e-5f},
        {"distilbert-base-uncased", AFFECT_FAMILY_DISTILBERT, 768, 6, 12, 3072, 0, 0, 512, 1e-12f},
        {"bert-base-uncased", AFFECT_FAMILY_BERT, 768, 12, 12, 3072, 2, 0, 512, 1e-12f},
        {"roberta-base", AFFECT_FAMILY_ROBERTA, 768, 12, 12, 3072, 1, 1, 512, 1e-5f},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s/config.json", shared, cases[i].dir);
        char *text = NULL;
        size_t len = 0;
        affect_error err = {0};
        if (affect_read_file(path, &text, &len, &err)) { CHECK(0, "%s", err.msg); continue; }
        affect_model_config c;
        int rc = affect_config_parse(&c, text, len, &err);
        free(text);
        CHECK(rc == 0, "%s: %s", cases[i].dir, err.msg);
        if (rc) continue;
        CHECK((int)c.family == cases[i].fam && c.hidden == cases[i].H && c.layers == cases[i].L &&
              c.heads == cases[i].NH && c.ffn == cases[i].F && c.type_vocab == cases[i].TV &&
              c.pad_id == cases[i].pad && c.ln_eps == cases[i].eps &&
              affect_encoder_max_length(&c) == cases[i].maxlen,
              "%s: parsed H=%d L=%d NH=%d F=%d TV=%d pad=%d eps=%g maxlen=%d", cases[i].dir,
              c.hidden, c.layers, c.heads, c.ffn, c.type_vocab, c.pad_id, (double)c.ln_eps,
              affect_encoder_max_length(&c));
        /* to_json writes the family's own keys; parsing it back gives the same struct */
        char *js = NULL;
        CHECK(affect_config_to_json(&c, &js, &err) == 0, "to_json: %s", err.msg);
        affect_model_config c2;
        CHECK(js && parse_str(&c2, js, &err) == 0, "reparse: %s", err.msg);
        CHECK(js && memcmp(&c, &c2, sizeof c) == 0, "%s: config does not round-trip:\n%s", cases[i].dir, js ? js : "");
        free(js);
    }
}

static void test_bad_configs(void) {
    struct { const char *json; int code; const char *needle; } cases[] = {
        {"{\"model_type\":\"gpt2\",\"hidden_size\":8}", AFFECT_EUNSUPPORTED, "gpt2"},
        {"{\"hidden_size\":8}", AFFECT_EFORMAT, "model_type"},
        {"{\"model_type\":\"bert\",\"vocab_size\":10,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4}",
         AFFECT_EFORMAT, "hidden_size"},
        {"{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":8.5,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4}",
         AFFECT_EFORMAT, "hidden_size"},
        {"{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":-8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4}",
         AFFECT_EFORMAT, "hidden_size"},
        {"{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":9,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4}",
         AFFECT_EFORMAT, "divisible"},
        {"{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4,\"hidden_act\":\"relu\"}",
         AFFECT_EUNSUPPORTED, "relu"},
        {"{\"model_type\":\"distilbert\",\"vocab_size\":10,\"dim\":8,\"n_layers\":1,\"n_heads\":2,\"hidden_dim\":4,\"activation\":\"gelu_new\"}",
         AFFECT_EUNSUPPORTED, "gelu_new"},
        {"{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4,\"position_embedding_type\":\"relative_key\"}",
         AFFECT_EUNSUPPORTED, "relative_key"},
        {"{\"model_type\":\"roberta\",\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4,\"max_position_embeddings\":2}",
         AFFECT_EFORMAT, "max_position_embeddings"},
        {"{\"model_type\":\"bert\",\"vocab_size\":10,\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,\"intermediate_size\":4,\"pad_token_id\":10}",
         AFFECT_EFORMAT, "pad_token_id"},
        {"{\"model_type\":\"bert\",", AFFECT_EFORMAT, "config.json"},
        {"[1,2]", AFFECT_EFORMAT, "object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        affect_model_config c;
        affect_error err = {0};
        int rc = parse_str(&c, cases[i].json, &err);
        CHECK(rc == cases[i].code && strstr(err.msg, cases[i].needle),
              "case %zu: rc %d msg '%s' (want %d mentioning '%s')", i, rc, err.msg, cases[i].code,
              cases[i].needle);
    }
}

/* A tiny config with random weights in a calloc'd arena. */
static float *tiny_model(affect_model_config *c, affect_encoder_params *p, int family) {
    memset(c, 0, sizeof *c);
    c->family = (affect_family)family;
    c->vocab_size = 50;
    c->hidden = 12;
    c->layers = 2;
    c->heads = 3;
    c->ffn = 20;
    c->max_positions = 16;
    c->type_vocab = family == AFFECT_FAMILY_DISTILBERT ? 0 : 2;
    c->pad_id = family == AFFECT_FAMILY_ROBERTA ? 1 : 0;
    c->ln_eps = 1e-5f;
    size_t sizes[AFFECT_ENC_NPARAMS];
    size_t n = affect_encoder_param_sizes(c, sizes);
    float *arena = calloc(n, sizeof *arena);
    if (!arena) return NULL;
    unsigned s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        arena[i] = ((float)((s >> 8) & 0xffff) / 65536.0f - 0.5f);
    }
    affect_encoder_params_point(p, arena, sizes);
    CHECK((p->wtt == NULL) == (family == AFFECT_FAMILY_DISTILBERT), "wtt presence");
    return arena;
}

static void test_encoder_invariants(int family) {
    affect_model_config c;
    affect_encoder_params p;
    float *arena = tiny_model(&c, &p, family);
    if (!arena) { CHECK(0, "oom"); return; }
    affect_error err = {0};
    int H = c.hidden;
    /* row 0: 5 real tokens; row 1: 3 real + 2 padding */
    int32_t ids[10] = {2, 7, 9, 11, 3, 2, 40, 3, 0, 0};
    int32_t mask[10] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
    if (family == AFFECT_FAMILY_ROBERTA) ids[8] = ids[9] = 1;
    affect_encoder_acts a1 = {0}, a2 = {0}, a3 = {0};
    CHECK(affect_encoder_acts_alloc(&a1, &c, 2, 5, 0, &err) == 0, "%s", err.msg);
    CHECK(affect_encoder_acts_alloc(&a2, &c, 2, 5, 1, &err) == 0, "%s", err.msg);
    CHECK(affect_encoder_forward(&c, &p, &a1, ids, mask, &err) == 0, "%s", err.msg);
    CHECK(affect_encoder_forward(&c, &p, &a2, ids, mask, &err) == 0, "%s", err.msg);
    const float *o1 = affect_encoder_output(&a1, &c), *o2 = affect_encoder_output(&a2, &c);
    CHECK(memcmp(o1, o2, sizeof(float) * 10 * H) == 0, "family %d: per-layer and shared activations differ", family);
    /* attention probabilities: rows sum to 1, padded keys get exactly 0 */
    for (int h = 0; h < c.heads; h++)
        for (int i = 0; i < 5; i++) {
            const float *row = a2.att + (((size_t)1 * c.heads + h) * 5 + i) * 5;
            float sum = row[0] + row[1] + row[2] + row[3] + row[4];
            CHECK(fabsf(sum - 1.0f) < 1e-5f && row[3] == 0.0f && row[4] == 0.0f,
                  "att row (b1,h%d,i%d) sum %g masked %g %g", h, i, (double)sum, (double)row[3], (double)row[4]);
        }
    /* row 1 alone, unpadded (T=3), matches its padded version */
    int32_t ids1[3] = {2, 40, 3}, mask1[3] = {1, 1, 1};
    CHECK(affect_encoder_acts_alloc(&a3, &c, 1, 3, 0, &err) == 0, "%s", err.msg);
    CHECK(affect_encoder_forward(&c, &p, &a3, ids1, mask1, &err) == 0, "%s", err.msg);
    const float *o3 = affect_encoder_output(&a3, &c);
    float worst = 0;
    for (int i = 0; i < 3 * H; i++) worst = fmaxf(worst, fabsf(o3[i] - o1[5 * H + i]));
    CHECK(worst < 1e-5f, "family %d: padding changed real-token outputs by %g", family, (double)worst);
    /* mean pooling ignores padding rows; cls is row 0 */
    float pooled[2 * 12], pooled3[12];
    pool_forward(pooled, o1, mask, 2, 5, H, 0);
    pool_forward(pooled3, o3, mask1, 1, 3, H, 0);
    worst = 0;
    for (int i = 0; i < H; i++) worst = fmaxf(worst, fabsf(pooled[H + i] - pooled3[i]));
    CHECK(worst < 1e-5f, "mean pooling sees padding (%g)", (double)worst);
    pool_forward(pooled, o1, mask, 2, 5, H, 1);
    CHECK(memcmp(pooled + H, o1 + 5 * H, sizeof(float) * H) == 0, "cls pooling is not row 0");
    /* refusals */
    ids[3] = 50;
    CHECK(affect_encoder_forward(&c, &p, &a1, ids, mask, &err) == AFFECT_EARG && strstr(err.msg, "50"),
          "out-of-vocabulary id accepted: %s", err.msg);
    ids[3] = -1;
    CHECK(affect_encoder_forward(&c, &p, &a1, ids, mask, &err) == AFFECT_EARG, "negative id accepted");
    affect_encoder_acts big = {0};
    int maxlen = affect_encoder_max_length(&c);
    int32_t *bi = calloc((size_t)maxlen + 1, sizeof *bi), *bm = calloc((size_t)maxlen + 1, sizeof *bm);
    CHECK(bi && bm && affect_encoder_acts_alloc(&big, &c, 1, maxlen + 1, 0, &err) == 0, "alloc");
    CHECK(bi && bm && affect_encoder_forward(&c, &p, &big, bi, bm, &err) == AFFECT_EARG,
          "over-long sequence accepted");
    free(bi);
    free(bm);
    affect_encoder_acts_free(&big);
    affect_encoder_acts_free(&a1);
    affect_encoder_acts_free(&a2);
    affect_encoder_acts_free(&a3);
    free(arena);
}

static void test_key_map(void) {
    affect_model_config c;
    affect_encoder_params p;
    for (int fam = 0; fam < 3; fam++) {
        float *arena = tiny_model(&c, &p, fam);
        if (!arena) { CHECK(0, "oom"); return; }
        affect_param_ref *refs = NULL;
        size_t n = 0;
        affect_error err = {0};
        CHECK(affect_arch_param_refs(&c, &p, &refs, &n, &err) == 0, "%s", err.msg);
        size_t want = (size_t)(fam == AFFECT_FAMILY_DISTILBERT ? 4 : 5) + 16 * (size_t)c.layers;
        CHECK(n == want, "family %d: %zu refs, want %zu", fam, n, want);
        /* every float of the arena is written by exactly one ref */
        size_t sizes[AFFECT_ENC_NPARAMS];
        size_t total = affect_encoder_param_sizes(&c, sizes), covered = 0;
        for (size_t i = 0; i < n; i++) covered += (size_t)(refs[i].shape[0] * (refs[i].ndim == 2 ? refs[i].shape[1] : 1));
        CHECK(covered == total, "family %d: refs cover %zu of %zu floats", fam, covered, total);
        const char *k = fam == AFFECT_FAMILY_DISTILBERT ? "transformer.layer.1.attention.k_lin.weight"
                                                        : "encoder.layer.1.attention.self.key.weight";
        int found = 0;
        for (size_t i = 0; i < n; i++)
            if (!strcmp(refs[i].name, k)) {
                found = 1;
                CHECK(refs[i].dst == p.qkvw + 3 * 12 * 12 + 12 * 12, "%s lands at the wrong offset", k);
            }
        CHECK(found, "family %d: no ref named %s", fam, k);
        free(refs);
        free(arena);
    }
}

int main(void) {
    test_real_configs();
    test_bad_configs();
    for (int fam = 0; fam < 3; fam++) test_encoder_invariants(fam);
    test_key_map();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_encoder: all passed\n");
    return 0;
}
