/*
 * Test driver for tests/test_mlm_torch.py: one masked-LM micro-step of src/train/train_step.c
 * on a tiny model, so PyTorch can check the loss and every gradient, and the masking recipe
 * can be checked for its rates.
 *
 *   mlm_dump MODEL_DIR JOB.json OUT.bin
 *
 * MODEL_DIR holds config.json and model.safetensors (encoder in the family's key names plus
 * cls.predictions.*). JOB.json: {"ids": [[...]], "mask": [[...]], "special": [...],
 * "mask_id": N, "probability": p, "seed": S, "accum": A}.
 * OUT.bin records (u32 name length, name, u64 count, count float64): "loss" [loss, M],
 * "ids" (the corrupted ids), "pos", "target" (M each), then every encoder and cls.* tensor's
 * gradient.
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

#define DUMP_TOOL "mlm_dump"
#include "dump_records.h"

/* A JSON array of numbers (nested arrays flattened) as int32, exactly `want` of them. */
static int32_t *ints(const json_value *v, size_t want) {
    if (!v || v->type != JSON_ARRAY) die("expected an array");
    int32_t *o = xmalloc(want * sizeof *o);
    size_t n = 0;
    for (size_t i = 0; i < v->len; i++) {
        const json_value *r = &v->items[i];
        if (r->type == JSON_NUMBER) {
            if (n >= want) die("array too long");
            o[n++] = (int32_t)r->number;
            continue;
        }
        if (r->type != JSON_ARRAY) die("expected numbers");
        for (size_t j = 0; j < r->len; j++) {
            if (n >= want || r->items[j].type != JSON_NUMBER) die("bad nested array");
            o[n++] = (int32_t)r->items[j].number;
        }
    }
    if (n != want) die("array has the wrong size");
    return o;
}

int main(int argc, char **argv) {
    if (argc != 4) die("usage: mlm_dump MODEL_DIR JOB.json OUT.bin");
    affect_native_init(1);
    affect_error err = {0};
    char path[4096];
    affect_blob mb;
    char *ctext, *jtext;
    size_t clen, jlen;
    snprintf(path, sizeof path, "%s/config.json", argv[1]);
    if (affect_read_file(path, &ctext, &clen, &err)) die(err.msg);
    affect_model_config cfg;
    if (affect_config_parse(&cfg, ctext, clen, &err)) die(err.msg);
    free(ctext);
    snprintf(path, sizeof path, "%s/model.safetensors", argv[1]);
    if (affect_blob_open(&mb, path, &err)) die(err.msg);
    affect_tensor_set ts = {0};
    if (affect_tensors_parse_any(&ts, mb.data, mb.len, &err)) die(err.msg);
    affect_trainer *tr = NULL;
    if (affect_trainer_new_mlm(&tr, &cfg, &err)) die(err.msg);
    if (affect_trainer_load_encoder(tr, &ts, "model.safetensors", &err)) die(err.msg);
    size_t nt = affect_trainer_num_tensors(tr);
    for (size_t i = 0; i < nt; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        if (strncmp(t->name, "cls.", 4)) continue;
        const affect_tensor *x = affect_tensor_set_find(&ts, t->name);
        if (!x || x->numel != (int64_t)t->n) die("model.safetensors lacks a cls.* tensor or its size differs");
        if (affect_tensor_to_f32(x, t->param, &err)) die(err.msg);
    }

    if (affect_read_file(argv[2], &jtext, &jlen, &err)) die(err.msg);
    json_doc *doc = NULL;
    if (json_parse(&doc, jtext, jlen, &err)) die(err.msg);
    const json_value *r = json_root(doc), *jids = json_get(r, "ids"), *jsp = json_get(r, "special");
    if (!jids || jids->type != JSON_ARRAY || !jids->len || jids->items[0].type != JSON_ARRAY || !jsp ||
        jsp->type != JSON_ARRAY)
        die("job needs ids (B,T) and special");
    int B = (int)jids->len, T = (int)jids->items[0].len;
    size_t BT = (size_t)B * T;
    int32_t *ids = ints(jids, BT), *mask = ints(json_get(r, "mask"), BT), *sp = ints(jsp, jsp->len);
    affect_mlm_opts mo = {sp, (int)jsp->len, (int32_t)json_get_number(r, "mask_id", 0),
                          json_get_number(r, "probability", 0.15)};
    affect_train_opts o = affect_train_opts_defaults();
    o.seed = (uint64_t)json_get_number(r, "seed", 42);
    o.accum_steps = (int)json_get_number(r, "accum", 1);
    double loss;
    int M;
    if (affect_train_mlm_micro_step(tr, ids, mask, B, T, &mo, &o, &loss, &M, &err)) die(err.msg);

    /* the masking the step used: recomputed by the same pure function (micro-batch 0) */
    int32_t *cids = xmalloc(BT * sizeof *cids), *pos = xmalloc(BT * sizeof *pos), *tgt = xmalloc(BT * sizeof *tgt);
    int M2 = affect_mlm_mask(cids, pos, tgt, ids, mask, B, T, sp, mo.n_special, mo.mask_id, cfg.vocab_size,
                             mo.probability, o.seed ^ 0x6d61736b6564ull, 0);
    if (M2 != M) die("masking is not a pure function of its arguments");

    FILE *out = fopen(argv[3], "wb");
    if (!out) die("cannot write the output");
    double l[2] = {loss, M};
    put_record(out, "loss", l, 2);
    double *d = xmalloc((BT > 1 ? BT : 1) * sizeof *d);
    for (size_t i = 0; i < BT; i++) d[i] = cids[i];
    put_record(out, "ids", d, BT);
    for (int i = 0; i < M; i++) d[i] = pos[i];
    put_record(out, "pos", d, (size_t)M);
    for (int i = 0; i < M; i++) d[i] = tgt[i];
    put_record(out, "target", d, (size_t)M);
    free(d);
    for (size_t i = 0; i < nt; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        if (!strncmp(t->name, "heads.", 6)) continue;
        put_floats(out, t->name, t->grad, t->n);
    }
    if (fclose(out)) die("cannot write the output");
    free(ids);
    free(mask);
    free(sp);
    free(cids);
    free(pos);
    free(tgt);
    json_free(doc);
    free(jtext);
    affect_tensor_set_free(&ts);
    affect_blob_close(&mb);
    affect_trainer_free(tr);
    return 0;
}
