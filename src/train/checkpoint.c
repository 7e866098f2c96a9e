/* Checkpoints and the exported model folder: see checkpoint.h. */
#define _POSIX_C_SOURCE 200809L
#include "train/checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model/config.h"
#include "model/tensors.h"
#include "native/atomic_file.h"
#include "train/safetensors_file.h"
#include "util/blob.h"
#include "util/error.h"
#include "util/json.h"

#define CKPT_FORMAT "affect-checkpoint-1"
#define HEADS_FORMAT "affect-heads-1"

static const char *const CKPT_FILES[] = {"model.safetensors", "optimizer.safetensors",
                                         "config.json", "trainer_state.json", NULL};

/* ---- small helpers ---------------------------------------------------------------------- */

/* dir + "/" + name, refusing paths that do not fit. */
static int join(char *out, size_t cap, const char *dir, const char *name, affect_error *err) {
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) return affect_fail(err, AFFECT_EARG, "path too long: %.200s", dir);
    return AFFECT_OK;
}

static const char *family_name(affect_family f) {
    return f == AFFECT_FAMILY_DISTILBERT ? "distilbert" : f == AFFECT_FAMILY_ROBERTA ? "roberta" : "bert";
}

/* Rewrites err's message as "<prefix>: <message>" keeping its code (or forcing `code`). */
static int rewrap(affect_error *err, int rc, int code, const char *prefix) {
    if (!err) return code ? code : rc;
    char inner[sizeof err->msg];
    memcpy(inner, err->msg, sizeof inner);
    return affect_fail(err, code ? code : rc, "%.200s: %.300s", prefix, inner);
}

/* A hash of every tensor's name and shape in trainer order: two trainers with the same
 * fingerprint have the same arenas, so moments and step counts line up one to one.
 * FNV-1a 64, printed as 16 hex digits. */
static void fingerprint(const affect_trainer *tr, char out[17]) {
    uint64_t h = 1469598103934665603ull;
    size_t n = affect_trainer_num_tensors(tr);
    for (size_t i = 0; i < n; i++) {
        const affect_train_tensor *t = affect_trainer_tensor(tr, i);
        char buf[256];
        int len = snprintf(buf, sizeof buf, "%s|%d|%lld|%lld;", t->name, t->ndim,
                           (long long)t->shape[0], (long long)(t->ndim == 2 ? t->shape[1] : 0));
        if (len < 0) len = 0;
        if ((size_t)len >= sizeof buf) len = (int)sizeof buf - 1;
        for (int k = 0; k < len; k++) {
            h ^= (uint8_t)buf[k];
            h *= 1099511628211ull;
        }
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* ---- writing ---------------------------------------------------------------------------- */

/* Every trained tensor under its family key name, F32: the file a PyTorch user loads (the
 * "pt" format tag is what transformers' from_pretrained checks for). */
static int write_params(const char *path, const affect_trainer *tr, affect_error *err) {
    size_t n = affect_trainer_num_tensors(tr);
    affect_st_out *t = calloc(n, sizeof *t);
    if (!t) return affect_fail(err, AFFECT_ENOMEM, "checkpoint: out of memory");
    for (size_t i = 0; i < n; i++) {
        const affect_train_tensor *e = affect_trainer_tensor(tr, i);
        t[i] = (affect_st_out){e->name, 0, e->ndim, {e->shape[0], e->shape[1]}, e->param};
    }
    static const char *const meta[] = {"format", "pt"};
    int rc = affect_safetensors_save(path, t, n, meta, 1, err);
    free(t);
    return rc;
}

/* The deliverable's weights: the trainer's tensors, then the lexical model's when there is one
 * (one file, so the browser fetches one blob). */
static int write_export_params(const char *path, const affect_trainer *tr, const affect_lexical *lx,
                               affect_error *err) {
    if (!lx || lx->V <= 0) return write_params(path, tr, err);
    size_t n = affect_trainer_num_tensors(tr);
    affect_st_out *t = calloc(n + 24, sizeof *t);
    if (!t) return affect_fail(err, AFFECT_ENOMEM, "export: out of memory");
    for (size_t i = 0; i < n; i++) {
        const affect_train_tensor *e = affect_trainer_tensor(tr, i);
        t[i] = (affect_st_out){e->name, 0, e->ndim, {e->shape[0], e->shape[1]}, e->param};
    }
    t[n] = (affect_st_out){"lexical.idf", 0, 1, {lx->V, 0}, lx->idf};
    t[n + 1] = (affect_st_out){"lexical.emotion.weight", 0, 2, {lx->L, lx->V}, lx->w};
    t[n + 2] = (affect_st_out){"lexical.emotion.bias", 0, 1, {lx->L, 0}, lx->b};
    t[n + 3] = (affect_st_out){"lexical.emotion.mix", 0, 1, {lx->L, 0}, lx->mix};
    size_t k = n + 4;
    /* the auxiliary outputs exist only for a part that reads them (lexical_fit keeps it so) */
    if (lx->aux.A > 0 && (lx->in.G > 0 || lx->em.aux_w)) {
        t[k++] = (affect_st_out){"lexical.aux.idf", 0, 1, {lx->V, 0}, lx->aux.idf};
        t[k++] = (affect_st_out){"lexical.aux.weight", 0, 2, {lx->aux.A, lx->V}, lx->aux.w};
        t[k++] = (affect_st_out){"lexical.aux.bias", 0, 1, {lx->aux.A, 0}, lx->aux.b};
        t[k++] = (affect_st_out){"lexical.aux.mean", 0, 1, {lx->aux.A, 0}, lx->aux.mean};
        t[k++] = (affect_st_out){"lexical.aux.scale", 0, 1, {lx->aux.A, 0}, lx->aux.scale};
        if (lx->em.aux_w)
            t[k++] = (affect_st_out){"lexical.emotion.aux_weight", 0, 2, {lx->L, lx->aux.A}, lx->em.aux_w};
    }
    if (lx->em.B > 0) {
        t[k++] = (affect_st_out){"lexical.emotion.char_idf", 0, 1, {lx->em.B, 0}, lx->em.ch_idf};
        t[k++] = (affect_st_out){"lexical.emotion.char_weight", 0, 2, {lx->L, lx->em.B}, lx->em.ch_w};
    }
    if (lx->em.NB > 0) {
        t[k++] = (affect_st_out){"lexical.emotion.bigram_idf", 0, 1, {lx->em.NB, 0}, lx->em.bi_idf};
        t[k++] = (affect_st_out){"lexical.emotion.bigram_weight", 0, 2, {lx->L, lx->em.NB}, lx->em.bi_w};
    }
    if (lx->in.G > 0) {
        t[k++] = (affect_st_out){"lexical.intensity.idf", 0, 1, {lx->V, 0}, lx->in.idf};
        t[k++] = (affect_st_out){"lexical.intensity.weight", 0, 2, {lx->in.G, lx->V}, lx->in.w};
        t[k++] = (affect_st_out){"lexical.intensity.bias", 0, 1, {lx->in.G, 0}, lx->in.b};
        t[k++] = (affect_st_out){"lexical.intensity.mix", 0, 1, {lx->in.G, 0}, lx->in.mix};
        if (lx->aux.A > 0)
            t[k++] = (affect_st_out){"lexical.intensity.aux_weight", 0, 2, {lx->in.G, lx->aux.A}, lx->in.aux_w};
        if (lx->in.B > 0) {
            t[k++] = (affect_st_out){"lexical.intensity.char_idf", 0, 1, {lx->in.B, 0}, lx->in.ch_idf};
            t[k++] = (affect_st_out){"lexical.intensity.char_weight", 0, 2, {lx->in.G, lx->in.B}, lx->in.ch_w};
        }
    }
    static const char *const meta[] = {"format", "pt"};
    int rc = affect_safetensors_save(path, t, k, meta, 1, err);
    free(t);
    return rc;
}

/* AdamW's state as torch keeps it per parameter: exp_avg, exp_avg_sq, and the step count
 * (here one I64 tensor in trainer order, which the fingerprint pins down). */
static int write_optimizer(const char *path, const affect_trainer *tr, affect_error *err) {
    size_t n = affect_trainer_num_tensors(tr);
    affect_st_out *t = calloc(2 * n + 1, sizeof *t);
    char (*names)[160] = calloc(2 * n, sizeof *names);
    int64_t *steps = calloc(n ? n : 1, sizeof *steps);
    int rc = AFFECT_OK;
    if (!t || !names || !steps) rc = affect_fail(err, AFFECT_ENOMEM, "checkpoint: out of memory");
    for (size_t i = 0; i < n && !rc; i++) {
        const affect_train_tensor *e = affect_trainer_tensor(tr, i);
        int a = snprintf(names[2 * i], 160, "%s.exp_avg", e->name);
        int b = snprintf(names[2 * i + 1], 160, "%s.exp_avg_sq", e->name);
        if (a < 0 || a >= 160 || b < 0 || b >= 160) {
            rc = affect_fail(err, AFFECT_EARG, "checkpoint: tensor name too long: %.100s", e->name);
            break;
        }
        t[2 * i] = (affect_st_out){names[2 * i], 0, e->ndim, {e->shape[0], e->shape[1]}, e->m};
        t[2 * i + 1] = (affect_st_out){names[2 * i + 1], 0, e->ndim, {e->shape[0], e->shape[1]}, e->v};
        steps[i] = e->adam_step;
    }
    if (!rc) {
        t[2 * n] = (affect_st_out){"adam_steps", 1, 1, {(int64_t)n, 0}, steps};
        static const char *const meta[] = {"format", "affect-optimizer-1"};
        rc = affect_safetensors_save(path, t, 2 * n + 1, meta, 1, err);
    }
    free(t);
    free(names);
    free(steps);
    return rc;
}

static int write_config(const char *path, const affect_trainer *tr, affect_error *err) {
    char *json = NULL;
    int rc = affect_config_to_json(affect_trainer_config(tr), &json, err);
    if (!rc) rc = affect_file_write_new(path, json, strlen(json), err);
    free(json);
    return rc;
}

/* trainer_state.json; "extra" is written last and verbatim so load can hand back the exact
 * bytes the caller saved. */
static int write_state(const char *path, const affect_trainer *tr, const char *extra,
                       affect_error *err) {
    char fp[17];
    fingerprint(tr, fp);
    json_buf b = {0};
    int bad = json_buf_printf(&b, "{\"format\":\"" CKPT_FORMAT "\",\"optimizer_step\":%lld,"
                              "\"micro_batches\":%llu,\"num_labels\":%d,\"family\":\"%s\","
                              "\"n_tensors\":%zu,\"fingerprint\":\"%s\",\"extra\":",
                              (long long)affect_trainer_step(tr),
                              (unsigned long long)affect_trainer_micro_steps(tr),
                              affect_trainer_num_labels(tr),
                              family_name(affect_trainer_config(tr)->family),
                              affect_trainer_num_tensors(tr), fp);
    bad |= extra ? json_buf_append(&b, extra, strlen(extra)) : json_buf_append(&b, "null", 4);
    bad |= json_buf_append(&b, "}\n", 2);
    int rc = bad ? affect_fail(err, AFFECT_ENOMEM, "checkpoint: out of memory")
                 : affect_file_write_new(path, b.data, b.len, err);
    json_buf_free(&b);
    return rc;
}

/* The caller's extra must be one JSON object, checked before anything is written. */
static int check_extra(const char *extra, affect_error *err) {
    if (!extra) return AFFECT_OK;
    json_doc *doc = NULL;
    int rc = json_parse(&doc, extra, strlen(extra), err);
    if (rc) return rewrap(err, rc, AFFECT_EARG, "checkpoint: extra_json is not valid JSON");
    if (json_root(doc)->type != JSON_OBJECT)
        rc = affect_fail(err, AFFECT_EARG, "checkpoint: extra_json must be a JSON object");
    json_free(doc);
    return rc;
}

int affect_checkpoint_save(const char *dir, const affect_trainer *tr, const char *extra_json,
                           affect_error *err) {
    if (!dir || !tr) return affect_fail(err, AFFECT_EARG, "checkpoint: NULL folder or trainer");
    int rc = check_extra(extra_json, err);
    if (rc) return rc;
    char staged[AFFECT_PATH_CAP], path[AFFECT_PATH_CAP];
    if ((rc = affect_dir_stage_begin(dir, staged, sizeof staged, err))) return rc;
    if (!(rc = join(path, sizeof path, staged, "model.safetensors", err)))
        rc = write_params(path, tr, err);
    if (!rc && !(rc = join(path, sizeof path, staged, "optimizer.safetensors", err)))
        rc = write_optimizer(path, tr, err);
    if (!rc && !(rc = join(path, sizeof path, staged, "config.json", err)))
        rc = write_config(path, tr, err);
    if (!rc && !(rc = join(path, sizeof path, staged, "trainer_state.json", err)))
        rc = write_state(path, tr, extra_json, err);
    if (rc) {
        affect_remove_tree(staged, NULL);
        return rewrap(err, rc, 0, "checkpoint save");
    }
    rc = affect_dir_publish(staged, dir, err);
    return rc ? rewrap(err, rc, 0, "checkpoint save") : AFFECT_OK;
}

/* ---- loading ---------------------------------------------------------------------------- */

/* A weights file of the checkpoint, mapped and parsed; errors name the file. */
typedef struct mapped_set {
    affect_blob blob;
    affect_tensor_set ts;
    int open;
} mapped_set;

static int map_set(mapped_set *s, const char *dir, const char *name, affect_error *err) {
    memset(s, 0, sizeof *s);
    char path[AFFECT_PATH_CAP];
    int rc = join(path, sizeof path, dir, name, err);
    if (rc) return rc;
    if ((rc = affect_blob_open(&s->blob, path, err))) return rewrap(err, rc, AFFECT_EFORMAT, name);
    s->open = 1;
    rc = affect_safetensors_parse(&s->ts, s->blob.data, s->blob.len, err);
    if (rc) return rewrap(err, rc, AFFECT_EFORMAT, name);
    return AFFECT_OK;
}

static void unmap_set(mapped_set *s) {
    affect_tensor_set_free(&s->ts);
    if (s->open) affect_blob_close(&s->blob);
    s->open = 0;
}

/* A checkpoint tensor that can be copied bit for bit into tensor e's slot: present, F32,
 * contiguous, the same shape. Mismatches name the tensor and both shapes. */
static int check_tensor(const affect_tensor_set *ts, const char *file, const char *name,
                        const affect_train_tensor *e, const affect_tensor **out,
                        affect_error *err) {
    char want[64], got[64];
    affect_shape_str(e->shape, e->ndim, want, sizeof want);
    const affect_tensor *t = affect_tensor_set_find(ts, name);
    if (!t)
        return affect_fail(err, AFFECT_EFORMAT, "%s: no tensor '%s' (this model has it with shape %s): "
                           "a checkpoint of another model", file, name, want);
    int same = t->ndim == e->ndim;
    for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
    if (!same)
        return affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s' has shape %s, this model's is %s: "
                           "a checkpoint of another model", file, name,
                           affect_shape_str(t->shape, t->ndim, got, sizeof got), want);
    if (t->dtype != AFFECT_DT_F32)
        return affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s' has dtype %s, expected F32", file,
                           name, affect_dtype_name(t->dtype));
    *out = t;
    return AFFECT_OK;
}

/* Everything trainer_state.json says, validated. */
typedef struct ckpt_state {
    int64_t opt_step;
    uint64_t micro;
    int num_labels;
    char family[32];
    char fp[17];
    size_t n_tensors;
    char *extra; /* malloc'd verbatim object text, or NULL */
} ckpt_state;

static int read_state(ckpt_state *st, const char *dir, affect_error *err) {
    memset(st, 0, sizeof *st);
    char path[AFFECT_PATH_CAP];
    int rc = join(path, sizeof path, dir, "trainer_state.json", err);
    char *text = NULL;
    size_t len = 0;
    if (!rc && (rc = affect_read_file(path, &text, &len, err)))
        return rewrap(err, rc, AFFECT_EFORMAT, "trainer_state.json");
    if (rc) return rc;
    json_doc *doc = NULL;
    if ((rc = json_parse(&doc, text, len, err))) {
        free(text);
        return rewrap(err, rc, AFFECT_EFORMAT, "trainer_state.json");
    }
    const json_value *root = json_root(doc);
    const char *fmt = json_get_string(root, "format", NULL);
    const char *fam = json_get_string(root, "family", NULL);
    const char *fp = json_get_string(root, "fingerprint", NULL);
    const json_value *step = json_get(root, "optimizer_step"), *micro = json_get(root, "micro_batches"),
                     *labels = json_get(root, "num_labels"), *nt = json_get(root, "n_tensors"),
                     *extra = json_get(root, "extra");
    if (root->type != JSON_OBJECT || !fmt || strcmp(fmt, CKPT_FORMAT))
        rc = affect_fail(err, AFFECT_EFORMAT, "trainer_state.json: format is not \"" CKPT_FORMAT "\"");
    else if (!json_is_int(step, 0, 9007199254740992.0) || !json_is_int(micro, 0, 9007199254740992.0) ||
             !json_is_int(labels, 1, 1e6) || !json_is_int(nt, 1, 1e9))
        rc = affect_fail(err, AFFECT_EFORMAT, "trainer_state.json: optimizer_step, micro_batches, "
                         "num_labels and n_tensors must be non-negative integers");
    else if (!fam || strlen(fam) >= sizeof st->family || !fp || strlen(fp) != 16)
        rc = affect_fail(err, AFFECT_EFORMAT, "trainer_state.json: bad family or fingerprint");
    else if (!extra || (extra->type != JSON_OBJECT && extra->type != JSON_NULL))
        rc = affect_fail(err, AFFECT_EFORMAT, "trainer_state.json: \"extra\" must be an object or null");
    if (!rc) {
        st->opt_step = (int64_t)step->number;
        st->micro = (uint64_t)micro->number;
        st->num_labels = (int)labels->number;
        st->n_tensors = (size_t)nt->number;
        snprintf(st->family, sizeof st->family, "%s", fam);
        snprintf(st->fp, sizeof st->fp, "%s", fp);
    }
    if (!rc && extra->type == JSON_OBJECT) {
        /* the writer put "extra" last: its text runs from after the first "extra": to the
         * final closing brace (no earlier value can contain that byte sequence unescaped) */
        const char *start = strstr(text, "\"extra\":");
        const char *end = text + len;
        while (end > text && end[-1] != '}') end--;
        if (!start || end <= text || start + 8 > end - 1) {
            rc = affect_fail(err, AFFECT_EFORMAT, "trainer_state.json: cannot locate \"extra\"");
        } else {
            start += 8;
            size_t n = (size_t)(end - 1 - start);
            st->extra = malloc(n + 1);
            if (!st->extra) rc = affect_fail(err, AFFECT_ENOMEM, "checkpoint: out of memory");
            else {
                memcpy(st->extra, start, n);
                st->extra[n] = 0;
                /* a hand-edited file may have moved "extra": then this is not the object */
                json_doc *ed = NULL;
                if (json_parse(&ed, st->extra, n, NULL) || json_root(ed)->type != JSON_OBJECT)
                    rc = affect_fail(err, AFFECT_EFORMAT, "trainer_state.json: \"extra\" must be "
                                     "the last member");
                json_free(ed);
            }
        }
    }
    json_free(doc);
    free(text);
    return rc;
}

/* config.json must describe the trainer's encoder: the family and the attention heads are
 * not visible in the tensor shapes, so they are compared here. */
static int check_config(const char *dir, const affect_trainer *tr, affect_error *err) {
    char path[AFFECT_PATH_CAP];
    int rc = join(path, sizeof path, dir, "config.json", err);
    char *text = NULL;
    size_t len = 0;
    if (!rc && (rc = affect_read_file(path, &text, &len, err)))
        return rewrap(err, rc, AFFECT_EFORMAT, "config.json");
    if (rc) return rc;
    affect_model_config cfg;
    rc = affect_config_parse(&cfg, text, len, err);
    free(text);
    if (rc) return rewrap(err, rc, AFFECT_EFORMAT, "config.json");
    const affect_model_config *mine = affect_trainer_config(tr);
    if (cfg.family != mine->family)
        return affect_fail(err, AFFECT_EFORMAT, "config.json: the checkpoint is a %s model, this one "
                           "is %s", family_name(cfg.family), family_name(mine->family));
    if (cfg.heads != mine->heads)
        return affect_fail(err, AFFECT_EFORMAT, "config.json: the checkpoint has %d attention heads, "
                           "this model %d", cfg.heads, mine->heads);
    return AFFECT_OK;
}

/* All checks happen before the first byte of the trainer changes; the copies after them
 * cannot fail, so a refused checkpoint leaves the trainer exactly as it was. */
static int load_from(const char *dir, affect_trainer *tr, char **extra_json, affect_error *err) {
    ckpt_state st;
    int rc = read_state(&st, dir, err);
    if (rc) return rc;
    size_t n = affect_trainer_num_tensors(tr);
    mapped_set ms, os;
    memset(&os, 0, sizeof os);
    const affect_tensor **pt = calloc(3 * n, sizeof *pt);
    if (!pt) rc = affect_fail(err, AFFECT_ENOMEM, "checkpoint: out of memory");
    if (!rc) rc = map_set(&ms, dir, "model.safetensors", err);
    /* tensor by tensor first, so another model's checkpoint names the first tensor and both
     * shapes rather than just "fingerprint differs" */
    for (size_t i = 0; !rc && i < n; i++)
        rc = check_tensor(&ms.ts, "model.safetensors", affect_trainer_tensor(tr, i)->name,
                          affect_trainer_tensor(tr, i), &pt[i], err);
    if (!rc && ms.ts.n != n) {
        /* a tensor this model lacks (a deeper encoder, say) */
        for (size_t k = 0; k < ms.ts.n && !rc; k++) {
            int found = 0;
            for (size_t i = 0; i < n && !found; i++)
                found = !strcmp(ms.ts.t[k].name, affect_trainer_tensor(tr, i)->name);
            if (!found) {
                char s[64];
                rc = affect_fail(err, AFFECT_EFORMAT, "model.safetensors: tensor '%.200s' (shape %s) "
                                 "is not part of this model: a checkpoint of another model",
                                 ms.ts.t[k].name,
                                 affect_shape_str(ms.ts.t[k].shape, ms.ts.t[k].ndim, s, sizeof s));
            }
        }
    }
    char fp[17];
    fingerprint(tr, fp);
    if (!rc && (strcmp(fp, st.fp) || st.n_tensors != n || st.num_labels != affect_trainer_num_labels(tr)))
        rc = affect_fail(err, AFFECT_EFORMAT, "trainer_state.json: fingerprint %s (%zu tensors, %d "
                         "labels) does not match this model's %s (%zu tensors, %d labels)", st.fp,
                         st.n_tensors, st.num_labels, fp, n, affect_trainer_num_labels(tr));
    if (!rc) rc = check_config(dir, tr, err);
    if (!rc) rc = map_set(&os, dir, "optimizer.safetensors", err);
    for (size_t i = 0; !rc && i < n; i++) {
        const affect_train_tensor *e = affect_trainer_tensor(tr, i);
        char name[160];
        snprintf(name, sizeof name, "%s.exp_avg", e->name);
        rc = check_tensor(&os.ts, "optimizer.safetensors", name, e, &pt[n + i], err);
        snprintf(name, sizeof name, "%s.exp_avg_sq", e->name);
        if (!rc) rc = check_tensor(&os.ts, "optimizer.safetensors", name, e, &pt[2 * n + i], err);
    }
    int64_t *steps = NULL;
    if (!rc) {
        const affect_tensor *s = affect_tensor_set_find(&os.ts, "adam_steps");
        if (!s || s->dtype != AFFECT_DT_I64 || s->ndim != 1 || s->shape[0] != (int64_t)n)
            rc = affect_fail(err, AFFECT_EFORMAT, "optimizer.safetensors: 'adam_steps' must be an I64 "
                             "tensor of shape [%zu]", n);
        else if (!(steps = malloc(n * sizeof *steps)))
            rc = affect_fail(err, AFFECT_ENOMEM, "checkpoint: out of memory");
        else {
            memcpy(steps, s->data, n * sizeof *steps);
            for (size_t i = 0; i < n && !rc; i++)
                if (steps[i] < 0)
                    rc = affect_fail(err, AFFECT_EFORMAT, "optimizer.safetensors: tensor '%s' has a "
                                     "negative AdamW step", affect_trainer_tensor(tr, i)->name);
        }
    }
    if (!rc) rc = affect_trainer_restore_counters(tr, st.opt_step, st.micro, steps, err);
    if (!rc) {
        for (size_t i = 0; i < n; i++) {
            const affect_train_tensor *e = affect_trainer_tensor(tr, i);
            size_t bytes = e->n * sizeof(float);
            memcpy(e->param, pt[i]->data, bytes);
            memcpy(e->m, pt[n + i]->data, bytes);
            memcpy(e->v, pt[2 * n + i]->data, bytes);
            memset(e->grad, 0, bytes);
        }
        if (extra_json) {
            *extra_json = st.extra;
            st.extra = NULL;
        }
    }
    free(steps);
    free(pt);
    unmap_set(&os);
    unmap_set(&ms);
    free(st.extra);
    return rc;
}

int affect_checkpoint_load(const char *dir, affect_trainer *tr, char **extra_json,
                           affect_error *err) {
    if (extra_json) *extra_json = NULL;
    if (!dir || !tr) return affect_fail(err, AFFECT_EARG, "checkpoint: NULL folder or trainer");
    char real[AFFECT_PATH_CAP];
    int rc = affect_dir_resolve(dir, CKPT_FILES, real, sizeof real, err);
    if (rc) return rc;
    struct stat sb;
    if (stat(real, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return affect_fail(err, AFFECT_ENOTFOUND, "checkpoint %.300s: no such folder", dir);
    rc = load_from(real, tr, extra_json, err);
    if (rc) {
        char prefix[AFFECT_PATH_CAP + 16];
        snprintf(prefix, sizeof prefix, "checkpoint %s", real);
        return rewrap(err, rc, rc == AFFECT_ENOMEM ? 0 : AFFECT_EFORMAT, prefix);
    }
    return AFFECT_OK;
}

/* ---- export ----------------------------------------------------------------------------- */

/* Copies dir/name into staged/name when it exists; *copied says whether it did. */
static int copy_if_present(const char *src_dir, const char *name, const char *staged, int *copied,
                           affect_error *err) {
    char from[AFFECT_PATH_CAP], to[AFFECT_PATH_CAP];
    int rc = join(from, sizeof from, src_dir, name, err);
    if (!rc) rc = join(to, sizeof to, staged, name, err);
    if (rc) return rc;
    *copied = 0;
    if (!affect_file_exists(from)) return AFFECT_OK;
    char *data = NULL;
    size_t len = 0;
    if ((rc = affect_read_file(from, &data, &len, err))) return rc;
    rc = affect_file_write_new(to, data, len, err);
    free(data);
    if (!rc) *copied = 1;
    return rc;
}

/* tokenizer.json when the source has one (the fast tokenizer transformers and affect both
 * prefer), else the legacy vocabulary files; the companion configs travel along so the
 * legacy files keep their lowercasing and special tokens. */
static int export_tokenizer(const char *tok, const char *staged, affect_error *err) {
    struct stat sb;
    if (stat(tok, &sb) != 0)
        return affect_fail(err, AFFECT_ENOTFOUND, "tokenizer %.300s: no such file or folder", tok);
    if (S_ISREG(sb.st_mode)) {
        char *data = NULL, to[AFFECT_PATH_CAP];
        size_t len = 0;
        int rc = join(to, sizeof to, staged, "tokenizer.json", err);
        if (!rc) rc = affect_read_file(tok, &data, &len, err);
        if (!rc) rc = affect_file_write_new(to, data, len, err);
        free(data);
        return rc;
    }
    int have_json = 0, c = 0, vt = 0, vj = 0, mg = 0;
    int rc = copy_if_present(tok, "tokenizer.json", staged, &have_json, err);
    if (!rc && !have_json) rc = copy_if_present(tok, "vocab.txt", staged, &vt, err);
    if (!rc && !have_json) rc = copy_if_present(tok, "vocab.json", staged, &vj, err);
    if (!rc && !have_json) rc = copy_if_present(tok, "merges.txt", staged, &mg, err);
    if (!rc) rc = copy_if_present(tok, "tokenizer_config.json", staged, &c, err);
    if (!rc) rc = copy_if_present(tok, "special_tokens_map.json", staged, &c, err);
    if (!rc && !have_json && !vt && !(vj && mg))
        rc = affect_fail(err, AFFECT_ENOTFOUND, "tokenizer %.300s: no tokenizer.json, vocab.txt or "
                         "vocab.json + merges.txt", tok);
    return rc;
}

static int write_heads_json(const char *path, const affect_export_info *info, affect_error *err) {
    json_buf b = {0};
    int bad = json_buf_append(&b, "{\"format\":\"" HEADS_FORMAT "\",\"label_names\":[",
                              strlen("{\"format\":\"" HEADS_FORMAT "\",\"label_names\":["));
    for (int i = 0; i < info->num_labels; i++) {
        if (i) bad |= json_buf_append(&b, ",", 1);
        bad |= json_buf_string(&b, info->label_names[i], strlen(info->label_names[i]));
    }
    bad |= json_buf_printf(&b, "],\"pool\":\"%s\",", info->pool == AFFECT_POOL_CLS ? "cls" : "mean");
    if (info->has_intensity)
        bad |= json_buf_printf(&b, "\"intensity\":{\"enabled\":true,\"target_min\":0,\"target_max\":1,"
                               "\"median\":%.9g%s},", (double)info->intensity_median,
                               info->intensity_prefix ? ",\"emotion_prefix\":true" : "");
    else
        bad |= json_buf_printf(&b, "\"intensity\":{\"enabled\":false},");
    bad |= json_buf_printf(&b, "\"max_length\":%d", info->max_length);
    const affect_lexical *lx = info->lexical;
    if (lx && lx->V > 0) {
        int em = lx->em.aux_w || lx->em.B > 0 || lx->em.NB > 0;
        bad |= json_buf_printf(&b, ",\"lexical\":{\"features\":\"%s\",\"vocab_size\":%d",
                               em ? AFFECT_LEXICAL_FEATURES_EMOTION_PARTS : AFFECT_LEXICAL_FEATURES,
                               lx->V);
        if (lx->aux.A > 0 && (lx->in.G > 0 || lx->em.aux_w)) {
            bad |= json_buf_printf(&b, ",\"aux\":{\"name\":");
            bad |= json_buf_string(&b, lx->aux.name, strlen(lx->aux.name));
            bad |= json_buf_printf(&b, ",\"outputs\":%d}", lx->aux.A);
            if (lx->em.aux_w) bad |= json_buf_printf(&b, ",\"emotion_aux\":true");
        }
        if (lx->em.B > 0)
            bad |= json_buf_printf(&b, ",\"emotion_chars\":{\"analyzer\":\"char_wb\",\"ngram_range\":[%d,%d],"
                                   "\"buckets\":%d,\"hash\":\"murmurhash3_32\"}", lx->em.ngram_min, lx->em.ngram_max,
                                   lx->em.B);
        if (lx->em.NB > 0)
            bad |= json_buf_printf(&b, ",\"emotion_bigrams\":{\"of\":\"token_ids\",\"buckets\":%d,"
                                   "\"hash\":\"murmurhash3_32\"}", lx->em.NB);
        if (lx->in.G > 0) bad |= json_buf_printf(&b, ",\"intensity\":[");
        for (int g = 0; g < lx->in.G; g++) {
            bad |= json_buf_printf(&b, "%s{\"name\":", g ? "," : "");
            bad |= json_buf_string(&b, lx->in.names[g], strlen(lx->in.names[g]));
            bad |= json_buf_printf(&b, ",\"prefix\":[");
            for (int k = lx->in.prefix_off[g]; k < lx->in.prefix_off[g + 1]; k++)
                bad |= json_buf_printf(&b, "%s%d", k > lx->in.prefix_off[g] ? "," : "", lx->in.prefix[k]);
            bad |= json_buf_printf(&b, "]}");
        }
        bad |= json_buf_printf(&b, "%s", lx->in.G > 0 ? "]" : "");
        if (lx->in.G > 0 && lx->in.B > 0)
            bad |= json_buf_printf(&b, ",\"intensity_chars\":{\"analyzer\":\"char_wb\",\"ngram_range\":[%d,%d],"
                                   "\"buckets\":%d,\"hash\":\"murmurhash3_32\"}", lx->in.ngram_min, lx->in.ngram_max,
                                   lx->in.B);
        bad |= json_buf_printf(&b, "}");
    }
    bad |= json_buf_printf(&b, "}\n");
    int rc = bad ? affect_fail(err, AFFECT_ENOMEM, "export: out of memory")
                 : affect_file_write_new(path, b.data, b.len, err);
    json_buf_free(&b);
    return rc;
}

int affect_model_export(const char *dir, const affect_trainer *tr, const char *tokenizer_dir,
                        const affect_export_info *info, affect_error *err) {
    if (!dir || !tr || !tokenizer_dir || !info)
        return affect_fail(err, AFFECT_EARG, "export: NULL argument");
    if (info->num_labels != affect_trainer_num_labels(tr) || !info->label_names)
        return affect_fail(err, AFFECT_EARG, "export: %d label names for a model with %d labels",
                           info->num_labels, affect_trainer_num_labels(tr));
    if (info->lexical && info->lexical->V > 0 && info->lexical->L != info->num_labels)
        return affect_fail(err, AFFECT_EARG, "export: lexical model has %d labels, the heads %d", info->lexical->L,
                           info->num_labels);
    for (int i = 0; i < info->num_labels; i++)
        if (!info->label_names[i] || !info->label_names[i][0])
            return affect_fail(err, AFFECT_EARG, "export: label name %d is empty", i);
    if (info->max_length < 0 || (info->has_intensity && !isfinite(info->intensity_median)))
        return affect_fail(err, AFFECT_EARG, "export: bad max_length or intensity median");
    char staged[AFFECT_PATH_CAP], path[AFFECT_PATH_CAP];
    int rc = affect_dir_stage_begin(dir, staged, sizeof staged, err);
    if (rc) return rc;
    if (!(rc = join(path, sizeof path, staged, "config.json", err))) rc = write_config(path, tr, err);
    if (!rc && !(rc = join(path, sizeof path, staged, "model.safetensors", err)))
        rc = write_export_params(path, tr, info->lexical, err);
    if (!rc) rc = export_tokenizer(tokenizer_dir, staged, err);
    if (!rc && !(rc = join(path, sizeof path, staged, "affect_heads.json", err)))
        rc = write_heads_json(path, info, err);
    if (rc) {
        affect_remove_tree(staged, NULL);
        return rewrap(err, rc, 0, "export");
    }
    rc = affect_dir_publish(staged, dir, err);
    return rc ? rewrap(err, rc, 0, "export") : AFFECT_OK;
}
