/* Unit tests of checkpoint files without fixtures (so they also run under ASan+UBSan):
 * save/load round trip on a tiny synthetic model, the publish protocol (.old fallback, no
 * leftovers), every truncation of every checkpoint file refused cleanly, heads metadata
 * validation, and heads inference equal to the training forward (src/train/heads.c). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "model/config.h"
#include "model/heads_infer.h"
#include "native/atomic_file.h"
#include "train/checkpoint.h"
#include "train/heads.h"
#include "train/train_step.h"
#include "util/blob.h"

static const char *CFG =
    "{\"model_type\":\"bert\",\"hidden_size\":8,\"num_hidden_layers\":1,\"num_attention_heads\":2,"
    "\"intermediate_size\":12,\"vocab_size\":20,\"max_position_embeddings\":16,\"type_vocab_size\":2,"
    "\"hidden_act\":\"gelu\",\"layer_norm_eps\":1e-12,\"pad_token_id\":0}";

/* A trainer whose every float (and step count) is distinct, so a misplaced byte shows. */
static affect_trainer *trainer(int L, float salt) {
    affect_model_config cfg;
    affect_error err = {0};
    if (affect_config_parse(&cfg, CFG, strlen(CFG), &err)) {
        fprintf(stderr, "config: %s\n", err.msg);
        exit(1);
    }
    affect_trainer *tr = NULL;
    if (affect_trainer_new(&tr, &cfg, L, &err)) {
        fprintf(stderr, "trainer: %s\n", err.msg);
        exit(1);
    }
    size_t n = affect_trainer_num_tensors(tr);
    int64_t *steps = calloc(n, sizeof *steps);
    for (size_t i = 0; i < n; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        for (size_t k = 0; k < t->n; k++) {
            t->param[k] = salt + (float)i + (float)k * 1e-3f;
            t->m[k] = -(float)k * 1e-4f - salt;
            t->v[k] = (float)(i * k) * 1e-6f + salt;
        }
        steps[i] = (int64_t)(i % 3) + 5;
    }
    affect_trainer_restore_counters(tr, 7, 14, steps, &err);
    free(steps);
    return tr;
}

static int same(const affect_trainer *a, const affect_trainer *b) {
    if (affect_trainer_step(a) != affect_trainer_step(b) ||
        affect_trainer_micro_steps(a) != affect_trainer_micro_steps(b))
        return 0;
    for (size_t i = 0; i < affect_trainer_num_tensors(a); i++) {
        const affect_train_tensor *x = affect_trainer_tensor(a, i), *y = affect_trainer_tensor(b, i);
        if (memcmp(x->param, y->param, x->n * 4) || memcmp(x->m, y->m, x->n * 4) ||
            memcmp(x->v, y->v, x->n * 4) || x->adam_step != y->adam_step)
            return 0;
    }
    return 1;
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void copy_file(const char *from, const char *to, size_t keep) {
    char *data = NULL;
    size_t len = 0;
    affect_read_file(from, &data, &len, NULL);
    FILE *f = fopen(to, "wb");
    if (f && data) fwrite(data, 1, keep < len ? keep : len, f);
    if (f) fclose(f);
    free(data);
}

static void test_roundtrip_and_truncation(const char *root) {
    char dir[400], path[600], old[600], bad[600];
    snprintf(dir, sizeof dir, "%s/ck", root);
    affect_error err = {0};
    affect_trainer *a = trainer(3, 0.5f), *b = trainer(3, 9.0f), *c = trainer(4, 0.5f);
    CHECK(!same(a, b), "setup: trainers should differ");
    CHECK(affect_checkpoint_save(dir, a, "{\"pos\":[1,2]}", &err) == 0, "save: %s", err.msg);
    char *extra = NULL;
    CHECK(affect_checkpoint_load(dir, b, &extra, &err) == 0, "load: %s", err.msg);
    CHECK(same(a, b), "loaded state differs from the saved one");
    CHECK(extra && !strcmp(extra, "{\"pos\":[1,2]}"), "extra came back as %s", extra ? extra : "NULL");
    free(extra);
    CHECK(affect_checkpoint_save(dir, a, "[1]", &err) == AFFECT_EARG, "a non-object extra must be refused");
    CHECK(affect_checkpoint_load(dir, c, NULL, &err) == AFFECT_EFORMAT &&
              strstr(err.msg, "heads.emotion.2.weight") && strstr(err.msg, "[3, 8]") && strstr(err.msg, "[4, 8]"),
          "4-label trainer: %s", err.msg);

    /* a second save replaces the first and leaves nothing beside it */
    CHECK(affect_checkpoint_save(dir, b, NULL, &err) == 0, "resave: %s", err.msg);
    snprintf(old, sizeof old, "%s.old", dir);
    snprintf(path, sizeof path, "%s.tmp.%ld", dir, (long)getpid());
    CHECK(!exists(old) && !exists(path), "publish left %s or %s", old, path);

    /* crash between the renames: only ck.old exists */
    CHECK(rename(dir, old) == 0, "rename");
    affect_trainer *d = trainer(3, 3.0f);
    CHECK(affect_checkpoint_load(dir, d, &extra, &err) == 0 && same(a, d) && extra == NULL,
          ".old fallback: %s", err.msg);
    CHECK(rename(old, dir) == 0, "rename back");

    /* every truncation of every file is refused (no crash, no partial load) */
    static const char *const files[] = {"model.safetensors", "optimizer.safetensors", "trainer_state.json",
                                        "config.json"};
    snprintf(bad, sizeof bad, "%s/bad", root);
    for (int f = 0; f < 4; f++) {
        char src[700], dst[700];
        snprintf(src, sizeof src, "%s/%s", dir, files[f]);
        char *data = NULL;
        size_t len = 0;
        affect_read_file(src, &data, &len, NULL);
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == ' ')) len--; /* still valid */
        free(data);
        size_t stride = len > 400 ? len / 97 : 1;
        int refused = 0, tried = 0;
        for (size_t keep = 0; keep < len; keep += stride) {
            affect_remove_tree(bad, NULL);
            affect_mkdirs(bad, NULL);
            for (int g = 0; g < 4; g++) {
                snprintf(src, sizeof src, "%s/%s", dir, files[g]);
                snprintf(dst, sizeof dst, "%s/%s", bad, files[g]);
                copy_file(src, dst, g == f ? keep : (size_t)-1);
            }
            affect_trainer *e = trainer(3, 2.0f), *ref = trainer(3, 2.0f);
            int rc = affect_checkpoint_load(bad, e, NULL, &err);
            tried++;
            if (rc == AFFECT_EFORMAT && same(e, ref)) refused++;
            else CHECK(0, "%s truncated to %zu bytes: rc %d (%s)", files[f], keep, rc, err.msg);
            affect_trainer_free(e);
            affect_trainer_free(ref);
        }
        CHECK(refused == tried && tried > 0, "%s: %d of %d truncations refused", files[f], refused, tried);
    }
    affect_remove_tree(bad, NULL);
    affect_trainer_free(a);
    affect_trainer_free(b);
    affect_trainer_free(c);
    affect_trainer_free(d);
}

static void test_heads_meta(void) {
    affect_heads_model h;
    affect_error err = {0};
    const char *ok = "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\\u00e9\"],\"pool\":\"cls\","
                     "\"intensity\":{\"enabled\":true,\"target_min\":0,\"target_max\":1,\"median\":0.25},"
                     "\"max_length\":64}";
    CHECK(affect_heads_meta_parse(&h, ok, strlen(ok), "x", &err) == 0, "valid heads json: %s", err.msg);
    CHECK(h.L == 2 && !strcmp(h.label_names[1], "b\xc3\xa9") && h.pool == AFFECT_POOL_CLS &&
              h.has_intensity && h.intensity_median == 0.25f && h.max_length == 64,
          "parsed fields");
    affect_heads_model_free(&h);
    static const char *const bad[] = {
        "{\"format\":\"affect-heads-2\",\"label_names\":[\"a\"]}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[]}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[1]}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[\"\"]}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"pool\":\"max\"}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"max_length\":-1}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"intensity\":{\"enabled\":1}}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"],\"intensity\":{\"median\":\"x\"}}",
        "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\"]",
        "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = affect_heads_meta_parse(&h, bad[i], strlen(bad[i]), "affect_heads.json", &err);
        CHECK(rc != 0 && strstr(err.msg, "affect_heads.json"), "bad heads json %zu accepted (%s)", i, err.msg);
        affect_heads_model_free(&h);
    }
}

/* Inference must compute exactly what the trainer's heads forward computes. */
static void test_heads_infer_matches_training(void) {
    enum { H = 8, L = 3, B = 4 };
    size_t sizes[AFFECT_HEADS_NPARAMS];
    size_t n = affect_heads_param_sizes(H, L, sizes);
    float *arena = calloc(n, sizeof *arena);
    affect_heads_params p;
    affect_heads_params_point(&p, arena, sizes);
    float prior[L] = {0.1f, 0.5f, 0.8f};
    affect_heads_init(&p, H, L, 11, 0.5f, prior, 0.3f);
    /* the same tensors as a safetensors file would hold them */
    affect_tensor_set ts = {0};
    ts.n = AFFECT_HEADS_NPARAMS;
    ts.t = calloc(ts.n, sizeof *ts.t);
    float *at = arena;
    for (int i = 0; i < AFFECT_HEADS_NPARAMS; i++) {
        affect_tensor *t = &ts.t[i];
        t->name = (char *)affect_heads_param_name(i);
        int nd;
        int64_t shape[2];
        affect_heads_param_shape(i, H, L, &nd, shape);
        t->ndim = nd;
        t->shape[0] = shape[0];
        t->shape[1] = shape[1];
        t->stride[nd - 1] = 1;
        if (nd == 2) t->stride[0] = shape[1];
        t->numel = (int64_t)sizes[i];
        t->dtype = AFFECT_DT_F32;
        t->data = (const uint8_t *)at;
        at += sizes[i];
    }
    /* names must be sorted for the binary search */
    for (size_t i = 1; i < ts.n; i++)
        for (size_t j = i; j > 0 && strcmp(ts.t[j - 1].name, ts.t[j].name) > 0; j--) {
            affect_tensor tmp = ts.t[j];
            ts.t[j] = ts.t[j - 1];
            ts.t[j - 1] = tmp;
        }
    affect_heads_model h;
    affect_error err = {0};
    const char *meta = "{\"format\":\"affect-heads-1\",\"label_names\":[\"a\",\"b\",\"c\"]}";
    CHECK(affect_heads_meta_parse(&h, meta, strlen(meta), "m", &err) == 0, "%s", err.msg);
    CHECK(affect_heads_load_weights(&h, &ts, H, "t", &err) == 0, "%s", err.msg);
    float pooled[B * H], probs[B * L], inten[B];
    for (int i = 0; i < B * H; i++) pooled[i] = sinf((float)i);
    CHECK(affect_heads_infer(&h, pooled, NULL, B, probs, inten, &err) == 0, "%s", err.msg);
    affect_heads_acts acts = {0};
    affect_heads_acts_alloc(&acts, B, H, L, &err);
    affect_heads_forward(&p, &acts, pooled, B, H, L);
    for (int i = 0; i < B * L; i++) {
        float want = (float)(1.0 / (1.0 + exp(-(double)acts.logits[i])));
        CHECK(fabsf(probs[i] - want) <= 1e-7f, "prob %d: %g vs %g", i, probs[i], want);
    }
    CHECK(!memcmp(inten, acts.intensity, sizeof inten), "intensity differs from the training forward");
    affect_heads_acts_free(&acts);
    affect_heads_model_free(&h);
    free(ts.t);
    free(arena);
}

int main(void) {
    char root[256];
    const char *tmp = getenv("AFFECT_TEST_TMP");
    snprintf(root, sizeof root, "%s/unit_checkpoint_%ld", tmp ? tmp : "/tmp", (long)getpid());
    affect_mkdirs(root, NULL);
    test_roundtrip_and_truncation(root);
    test_heads_meta();
    test_heads_infer_matches_training();
    affect_remove_tree(root, NULL);
    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
