/*
 * Test driver for tests/test_grad_torch.py and tests/test_train_run_torch.py: loads a tiny
 * EmotionModel (encoder + heads) and runs src/train/train_step.c on batches the script
 * wrote, so PyTorch can check the results.
 *
 *   grad_dump grad MODEL_DIR JOB.json OUT.bin   one micro-step on batches[0], accum 1:
 *                                               records "loss" [loss, bce, l1, ms, ms_used]
 *                                               then one record per tensor: its gradient
 *   grad_dump run  MODEL_DIR JOB.json OUT.bin   opts.steps optimizer steps, micro-batch k of
 *                                               step s = batches[(s·accum + k) mod n]:
 *                                               records "losses" (steps·accum), "norms",
 *                                               "lrs" (steps), then every tensor's final value
 *
 * MODEL_DIR holds config.json and model.safetensors (encoder in the family's key names plus
 * heads.*; the label count is read from heads.emotion.2.bias). JOB.json:
 *   {"opts": {"pool": "mean"|"cls", "w_int", "w_ms", "freeze", "pos_weight": [...]|null,
 *             "lr", "warmup", "total", "max_grad_norm", "weight_decay", "accum", "steps",
 *             "hidden_dropout", "attn_dropout", "seed"},
 *    "batches": [{"ids": [[...]], "mask": [[...]], "labels": [[...]]|null,
 *                 "label_row": [...]|null, "intensity": [...]|null, "intensity_row": [...]|null}]}
 * OUT.bin records: u32 name length, name bytes, u64 count, count float64 (little endian).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affect.h"
#include "model/config.h"
#include "model/tensors.h"
#include "train/train_step.h"
#include "util/blob.h"
#include "util/json.h"

#define DUMP_TOOL "grad_dump"
#include "dump_records.h"

/* Reads a whole file into a malloc'd buffer. */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open an input file");
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) die("out of memory");
            buf = nb;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Flattens a JSON number or (nested) array of numbers into out[]; returns the count. */
static size_t flatten(const json_value *v, double *out, size_t cap, size_t n) {
    if (v->type == JSON_NUMBER) {
        if (n >= cap) die("array larger than expected");
        out[n] = v->number;
        return n + 1;
    }
    if (v->type == JSON_BOOL) {
        if (n >= cap) die("array larger than expected");
        out[n] = v->boolean;
        return n + 1;
    }
    if (v->type != JSON_ARRAY) die("expected a number array");
    for (size_t i = 0; i < v->len; i++) n = flatten(&v->items[i], out, cap, n);
    return n;
}

static double g_tmp[1 << 20];

/* A float array of exactly `want` values, or NULL when the key is absent/null. */
static float *get_floats(const json_value *obj, const char *key, size_t want) {
    const json_value *v = json_get(obj, key);
    if (!v || v->type == JSON_NULL) return NULL;
    size_t n = flatten(v, g_tmp, sizeof g_tmp / sizeof g_tmp[0], 0);
    if (n != want) die("array has the wrong size");
    float *o = xmalloc(n * sizeof *o);
    for (size_t i = 0; i < n; i++) o[i] = (float)g_tmp[i];
    return o;
}

static int32_t *get_ints(const json_value *obj, const char *key, size_t want) {
    float *f = get_floats(obj, key, want);
    if (!f) return NULL;
    int32_t *o = xmalloc(want * sizeof *o);
    for (size_t i = 0; i < want; i++) o[i] = (int32_t)f[i];
    free(f);
    return o;
}

static uint8_t *get_bytes(const json_value *obj, const char *key, size_t want) {
    float *f = get_floats(obj, key, want);
    if (!f) return NULL;
    uint8_t *o = xmalloc(want);
    for (size_t i = 0; i < want; i++) o[i] = f[i] != 0.0f;
    free(f);
    return o;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "grad") && strcmp(argv[1], "run")))
        die("usage: grad_dump grad|run MODEL_DIR JOB.json OUT.bin");
    int run = !strcmp(argv[1], "run");
    affect_native_init(1);
    affect_error err = {0};
    char path[4096];

    /* model */
    size_t clen;
    snprintf(path, sizeof path, "%s/config.json", argv[2]);
    char *ctext = slurp(path, &clen);
    affect_model_config cfg;
    if (affect_config_parse(&cfg, ctext, clen, &err)) die(err.msg);
    free(ctext);
    snprintf(path, sizeof path, "%s/model.safetensors", argv[2]);
    affect_blob blob;
    if (affect_blob_open(&blob, path, &err)) die(err.msg);
    affect_tensor_set ts = {0};
    if (affect_tensors_parse_any(&ts, blob.data, blob.len, &err)) die(err.msg);
    const affect_tensor *lb = affect_tensor_set_find(&ts, "heads.emotion.2.bias");
    if (!lb || lb->ndim != 1) die("model.safetensors has no heads.emotion.2.bias");
    int L = (int)lb->shape[0];
    affect_trainer *tr = NULL;
    if (affect_trainer_new(&tr, &cfg, L, &err)) die(err.msg);
    if (affect_trainer_load_encoder(tr, &ts, "model.safetensors", &err)) die(err.msg);
    if (affect_trainer_load_heads(tr, &ts, "model.safetensors", &err)) die(err.msg);
    affect_tensor_set_free(&ts);
    affect_blob_close(&blob);

    /* job */
    size_t jlen;
    char *jtext = slurp(argv[3], &jlen);
    json_doc *doc = NULL;
    if (json_parse(&doc, jtext, jlen, &err)) die(err.msg);
    const json_value *jo = json_get(json_root(doc), "opts");
    const json_value *jb = json_get(json_root(doc), "batches");
    if (!jo || !jb || jb->type != JSON_ARRAY || jb->len == 0) die("job needs opts and batches");
    affect_train_opts o = affect_train_opts_defaults();
    o.pool = !strcmp(json_get_string(jo, "pool", "mean"), "cls") ? AFFECT_POOL_CLS : AFFECT_POOL_MEAN;
    o.w_int = (float)json_get_number(jo, "w_int", 0.0);
    o.w_ms = (float)json_get_number(jo, "w_ms", 0.0);
    o.freeze_encoder = (int)json_get_number(jo, "freeze", 0);
    o.lr = json_get_number(jo, "lr", 1e-3);
    o.warmup_steps = (int64_t)json_get_number(jo, "warmup", 0);
    o.total_steps = (int64_t)json_get_number(jo, "total", 1);
    o.max_grad_norm = (float)json_get_number(jo, "max_grad_norm", 0.0);
    o.adam.weight_decay = json_get_number(jo, "weight_decay", 0.01);
    o.accum_steps = (int)json_get_number(jo, "accum", 1);
    o.hidden_dropout = (float)json_get_number(jo, "hidden_dropout", 0.0);
    o.attn_dropout = (float)json_get_number(jo, "attn_dropout", 0.0);
    o.seed = (uint64_t)json_get_number(jo, "seed", 42);
    float *pw = get_floats(jo, "pos_weight", (size_t)L);
    o.pos_weight = pw;
    int steps = (int)json_get_number(jo, "steps", 1);
    if (!run) o.accum_steps = 1;

    size_t nb = jb->len;
    affect_train_batch *bs = xmalloc(nb * sizeof *bs);
    for (size_t i = 0; i < nb; i++) {
        const json_value *b = &jb->items[i];
        const json_value *ids = json_get(b, "ids");
        if (!ids || ids->type != JSON_ARRAY || !ids->len || ids->items[0].type != JSON_ARRAY)
            die("batch without ids");
        affect_train_batch *x = &bs[i];
        x->B = (int)ids->len;
        x->T = (int)ids->items[0].len;
        size_t BT = (size_t)x->B * x->T;
        x->ids = get_ints(b, "ids", BT);
        x->mask = get_ints(b, "mask", BT);
        x->labels = get_floats(b, "labels", (size_t)x->B * L);
        x->label_row = get_bytes(b, "label_row", (size_t)x->B);
        x->label_mask = get_bytes(b, "label_mask", (size_t)x->B * L);
        x->intensity = get_floats(b, "intensity", (size_t)x->B);
        x->intensity_row = get_bytes(b, "intensity_row", (size_t)x->B);
        if (!x->mask) die("batch without mask");
    }

    FILE *out = fopen(argv[4], "wb");
    if (!out) die("cannot write the output");
    size_t nt = affect_trainer_num_tensors(tr);
    if (!run) {
        affect_loss_parts lp;
        if (affect_train_micro_step(tr, &bs[0], &o, &lp, &err)) die(err.msg);
        double l[5] = {lp.loss, lp.bce, lp.l1, lp.ms, lp.ms_used};
        put_record(out, "loss", l, 5);
        for (size_t i = 0; i < nt; i++) {
            const affect_train_tensor *t = affect_trainer_tensor(tr, i);
            put_floats(out, t->name, t->grad, t->n);
        }
    } else {
        int A = o.accum_steps;
        double *losses = xmalloc((size_t)steps * A * sizeof *losses);
        double *norms = xmalloc((size_t)steps * sizeof *norms);
        double *lrs = xmalloc((size_t)steps * sizeof *lrs);
        affect_train_batch *mb = xmalloc((size_t)A * sizeof *mb);
        affect_loss_parts *lp = xmalloc((size_t)A * sizeof *lp);
        for (int s = 0; s < steps; s++) {
            for (int k = 0; k < A; k++) mb[k] = bs[((size_t)s * A + k) % nb];
            affect_step_info info;
            if (affect_train_step(tr, mb, A, &o, lp, &info, &err)) die(err.msg);
            for (int k = 0; k < A; k++) losses[(size_t)s * A + k] = lp[k].loss;
            norms[s] = info.grad_norm;
            lrs[s] = info.lr;
        }
        put_record(out, "losses", losses, (size_t)steps * A);
        put_record(out, "norms", norms, (size_t)steps);
        put_record(out, "lrs", lrs, (size_t)steps);
        for (size_t i = 0; i < nt; i++) {
            const affect_train_tensor *t = affect_trainer_tensor(tr, i);
            put_floats(out, t->name, t->param, t->n);
        }
        free(losses);
        free(norms);
        free(lrs);
        free(mb);
        free(lp);
    }
    if (fclose(out)) die("cannot write the output");
    for (size_t i = 0; i < nb; i++) {
        free((void *)bs[i].ids);
        free((void *)bs[i].mask);
        free((void *)bs[i].labels);
        free((void *)bs[i].label_row);
        free((void *)bs[i].label_mask);
        free((void *)bs[i].intensity);
        free((void *)bs[i].intensity_row);
    }
    free(bs);
    free(pw);
    json_free(doc);
    free(jtext);
    affect_trainer_free(tr);
    return 0;
}
