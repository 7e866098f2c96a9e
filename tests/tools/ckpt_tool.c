/*
 * Test driver for tests/test_checkpoint.py: trains a tiny EmotionModel for a few steps and
 * exercises src/train/checkpoint.c on it.
 *
 *   ckpt_tool train     MODEL_DIR CKPT STEPS [EXTRA_JSON]  train, save; prints {"step","hash"}
 *   ckpt_tool roundtrip MODEL_DIR CKPT STEPS MORE           train, save, load into a fresh
 *       trainer; every param/grad/m/v float, AdamW step, optimizer step and micro-batch count
 *       must be bit-identical, "extra" must come back verbatim; then both trainers run MORE
 *       steps and must still be bit-identical (an exact resume, dropout on)
 *   ckpt_tool hash      MODEL_DIR CKPT      load into a fresh trainer; prints {"step","hash"}
 *       or the error (stderr, exit 3) after checking the refused load left the trainer as it was
 *   ckpt_tool export    MODEL_DIR CKPT OUT TOKDIR MAXLEN LABEL...   load, then export
 *
 * MODEL_DIR: config.json + model.safetensors with the encoder and heads.* (the label count is
 * read from heads.emotion.2.bias). Batches are generated from the step number, so a resumed
 * run sees the same data as an uninterrupted one. The hash is FNV-1a 64 over every float of
 * the four arenas, the AdamW steps and the two counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affect.h"
#include "model/config.h"
#include "model/tensors.h"
#include "train/checkpoint.h"
#include "train/train_step.h"
#include "util/blob.h"

#define B_ROWS 6
#define T_MAX 9
#define ACCUM 2

static void die(const char *what, const affect_error *err) {
    fprintf(stderr, "ckpt_tool: %s%s%s\n", what, err ? ": " : "", err ? err->msg : "");
    exit(2);
}

/* A trainer initialised from MODEL_DIR. */
static affect_trainer *load_model(const char *dir) {
    affect_error err = {0};
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = NULL;
    size_t len = 0;
    if (affect_read_file(path, &text, &len, &err)) die("config", &err);
    affect_model_config cfg;
    if (affect_config_parse(&cfg, text, len, &err)) die("config", &err);
    free(text);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    affect_blob blob;
    if (affect_blob_open(&blob, path, &err)) die("weights", &err);
    affect_tensor_set ts = {0};
    if (affect_tensors_parse_any(&ts, blob.data, blob.len, &err)) die("weights", &err);
    const affect_tensor *lb = affect_tensor_set_find(&ts, "heads.emotion.2.bias");
    if (!lb || lb->ndim != 1) die("model.safetensors has no heads.emotion.2.bias", NULL);
    affect_trainer *tr = NULL;
    if (affect_trainer_new(&tr, &cfg, (int)lb->shape[0], &err)) die("trainer", &err);
    if (affect_trainer_load_encoder(tr, &ts, "model.safetensors", &err)) die("encoder", &err);
    if (affect_trainer_load_heads(tr, &ts, "model.safetensors", &err)) die("heads", &err);
    affect_tensor_set_free(&ts);
    affect_blob_close(&blob);
    return tr;
}

static affect_train_opts options(void) {
    affect_train_opts o = affect_train_opts_defaults();
    o.lr = 1e-3;
    o.warmup_steps = 2;
    o.total_steps = 40;
    o.accum_steps = ACCUM;
    o.hidden_dropout = 0.1f;
    o.attn_dropout = 0.1f;
    o.max_grad_norm = 1.0f;
    o.seed = 7;
    return o;
}

/* splitmix64: the data of micro-batch k depends on k only. */
static uint64_t mix(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

typedef struct data {
    int32_t ids[B_ROWS * T_MAX], mask[B_ROWS * T_MAX];
    float labels[B_ROWS * 64], inten[B_ROWS];
    uint8_t int_row[B_ROWS];
} data;

static void make_batch(data *d, affect_train_batch *b, const affect_model_config *cfg, int L,
                       uint64_t k) {
    uint64_t s = mix(k + 1);
    for (int r = 0; r < B_ROWS; r++) {
        int n = 3 + (int)((s = mix(s)) % (T_MAX - 2));
        for (int t = 0; t < T_MAX; t++) {
            int real = t < n;
            d->ids[r * T_MAX + t] = real ? 3 + (int32_t)((s = mix(s)) % (uint64_t)(cfg->vocab_size - 3)) : cfg->pad_id;
            d->mask[r * T_MAX + t] = real;
        }
        int any = 0;
        for (int j = 0; j < L; j++) {
            int on = ((s = mix(s)) % 3) == 0;
            d->labels[r * L + j] = (float)on;
            any |= on;
        }
        if (!any) d->labels[r * L + (int)(mix(s) % (uint64_t)L)] = 1;
        d->inten[r] = (float)((s = mix(s)) % 1000) / 1000.0f;
        d->int_row[r] = (s >> 20) & 1;
    }
    memset(b, 0, sizeof *b);
    b->B = B_ROWS;
    b->T = T_MAX;
    b->ids = d->ids;
    b->mask = d->mask;
    b->labels = d->labels;
    b->intensity = d->inten;
    b->intensity_row = d->int_row;
}

/* Steps continue from the trainer's own step counter (the "data position"). */
static void train(affect_trainer *tr, int steps) {
    affect_train_opts o = options();
    const affect_model_config *cfg = affect_trainer_config(tr);
    int L = affect_trainer_num_labels(tr);
    if (L > 64) die("too many labels for the tool", NULL);
    static data d[ACCUM];
    affect_train_batch b[ACCUM];
    affect_error err = {0};
    for (int s = 0; s < steps; s++) {
        int64_t step = affect_trainer_step(tr);
        for (int k = 0; k < ACCUM; k++) make_batch(&d[k], &b[k], cfg, L, (uint64_t)step * ACCUM + k);
        if (affect_train_step(tr, b, ACCUM, &o, NULL, NULL, &err)) die("train step", &err);
    }
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t state_hash(const affect_trainer *tr) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < affect_trainer_num_tensors(tr); i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        h = fnv(h, t->param, t->n * 4);
        h = fnv(h, t->grad, t->n * 4);
        h = fnv(h, t->m, t->n * 4);
        h = fnv(h, t->v, t->n * 4);
        h = fnv(h, &t->adam_step, sizeof t->adam_step);
    }
    int64_t step = affect_trainer_step(tr);
    uint64_t micro = affect_trainer_micro_steps(tr);
    h = fnv(h, &step, sizeof step);
    return fnv(h, &micro, sizeof micro);
}

/* Bitwise comparison naming the first difference. */
static int same_state(const affect_trainer *a, const affect_trainer *b, const char *when) {
    static const char *const arena[4] = {"param", "grad", "exp_avg", "exp_avg_sq"};
    for (size_t i = 0; i < affect_trainer_num_tensors(a); i++) {
        const affect_train_tensor *x = affect_trainer_tensor(a, i), *y = affect_trainer_tensor(b, i);
        const float *px[4] = {x->param, x->grad, x->m, x->v}, *py[4] = {y->param, y->grad, y->m, y->v};
        for (int k = 0; k < 4; k++)
            if (memcmp(px[k], py[k], x->n * 4)) {
                printf("{\"ok\":false,\"why\":\"%s: %s of %s differs\"}\n", when, arena[k], x->name);
                return 0;
            }
        if (x->adam_step != y->adam_step) {
            printf("{\"ok\":false,\"why\":\"%s: adam step of %s differs\"}\n", when, x->name);
            return 0;
        }
    }
    if (affect_trainer_step(a) != affect_trainer_step(b) ||
        affect_trainer_micro_steps(a) != affect_trainer_micro_steps(b)) {
        printf("{\"ok\":false,\"why\":\"%s: step counters differ\"}\n", when);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    affect_native_init(1);
    affect_error err = {0};
    if (argc >= 5 && !strcmp(argv[1], "train")) {
        affect_trainer *tr = load_model(argv[2]);
        train(tr, atoi(argv[4]));
        if (affect_checkpoint_save(argv[3], tr, argc > 5 ? argv[5] : NULL, &err)) {
            fprintf(stderr, "ckpt_tool: %s\n", err.msg);
            printf("{\"step\":%lld,\"hash\":\"%016llx\"}\n", (long long)affect_trainer_step(tr),
                   (unsigned long long)state_hash(tr));
            affect_trainer_free(tr);
            return 3;
        }
        printf("{\"step\":%lld,\"hash\":\"%016llx\"}\n", (long long)affect_trainer_step(tr),
               (unsigned long long)state_hash(tr));
        affect_trainer_free(tr);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "roundtrip")) {
        affect_trainer *a = load_model(argv[2]);
        train(a, atoi(argv[4]));
        const char *extra = "{ \"data_position\": 123,\n \"rng\": [1, 2.5e-3, \"\\u00e9\\\"x\\\"\"], \"nested\": {\"extra\": null} }";
        if (affect_checkpoint_save(argv[3], a, extra, &err)) die("save", &err);
        affect_trainer *b = load_model(argv[2]);
        train(b, 1); /* a different state to overwrite */
        char *got = NULL;
        if (affect_checkpoint_load(argv[3], b, &got, &err)) die("load", &err);
        if (!got || strcmp(got, extra)) {
            printf("{\"ok\":false,\"why\":\"extra_json did not come back verbatim\"}\n");
            return 1;
        }
        free(got);
        if (!same_state(a, b, "after load")) return 1;
        train(a, atoi(argv[5]));
        train(b, atoi(argv[5]));
        if (!same_state(a, b, "after resuming")) return 1;
        printf("{\"ok\":true,\"step\":%lld,\"micro\":%llu,\"hash\":\"%016llx\"}\n",
               (long long)affect_trainer_step(a), (unsigned long long)affect_trainer_micro_steps(a),
               (unsigned long long)state_hash(a));
        affect_trainer_free(a);
        affect_trainer_free(b);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "hash")) {
        affect_trainer *tr = load_model(argv[2]);
        uint64_t before = state_hash(tr);
        char *extra = NULL;
        if (affect_checkpoint_load(argv[3], tr, &extra, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            int untouched = state_hash(tr) == before;
            printf("{\"error\":%d,\"untouched\":%s}\n", err.code, untouched ? "true" : "false");
            affect_trainer_free(tr);
            return 3;
        }
        printf("{\"step\":%lld,\"hash\":\"%016llx\"}\n", (long long)affect_trainer_step(tr),
               (unsigned long long)state_hash(tr));
        free(extra);
        affect_trainer_free(tr);
        return 0;
    }
    if (argc >= 7 && !strcmp(argv[1], "export")) {
        affect_trainer *tr = load_model(argv[2]);
        if (strcmp(argv[3], "-") && affect_checkpoint_load(argv[3], tr, NULL, &err)) die("load", &err);
        affect_export_info info = {0};
        info.label_names = (const char *const *)(argv + 7);
        info.num_labels = argc - 7;
        info.max_length = atoi(argv[6]);
        info.has_intensity = 1;
        info.intensity_median = 0.375f;
        if (affect_model_export(argv[4], tr, argv[5], &info, &err)) die("export", &err);
        affect_trainer_free(tr);
        return 0;
    }
    fprintf(stderr, "usage: ckpt_tool train|roundtrip|hash|export ...\n");
    return 2;
}
