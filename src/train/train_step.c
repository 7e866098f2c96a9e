/* One EmotionModel training step: see train_step.h. */
#include "train/train_step.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/arch.h"
#include "model/kernels.h"
#include "train/clip.h"
#include "train/dropout.h"
#include "train/mlm.h"
#include "train/parallel_adamw.h"
#include "util/error.h"

#define NAME_CAP 128

struct affect_trainer {
    affect_model_config cfg;
    int L;                          /* emotion labels */
    size_t enc_sizes[AFFECT_ENC_NPARAMS], head_sizes[AFFECT_HEADS_NPARAMS];
    size_t mlm_sizes[AFFECT_MLM_NPARAMS];
    int has_mlm;                    /* the masked-LM head follows the heads in the arenas */
    size_t n_enc, n_total;
    float *params, *grads, *m, *v;  /* (n_total) each; encoder first, heads after */
    affect_encoder_params p, g;
    affect_heads_params hp, hg;
    affect_mlm_params mp, mg;
    affect_mlm_acts ma;
    int32_t *mlm_ints;              /* corrupted ids, chosen positions, targets: 3·(B·T) */
    size_t mlm_ints_cap;
    affect_train_tensor *tensors;
    char (*names)[NAME_CAP];
    affect_adamw_item *items;       /* (ntensors) the fused optimizer pass's work list */
    size_t ntensors;
    int64_t opt_step;               /* optimizer steps taken */
    uint64_t micro;                 /* micro-batches run (dropout streams) */
    /* per-batch buffers */
    affect_encoder_acts acts;
    affect_encoder_grad_scratch gs;
    affect_heads_acts ha;
    float *buf;                     /* pooled, dpooled (B,H); dhidden (B,T,H); dlogits (B,L);
                                       dint (B); dfeat (B,H); feats, dfeats (B,H); labs (B,L) */
    size_t buf_cap;
    uint8_t *bytes;                 /* pos, neg (B,B) */
    size_t bytes_cap;
};

affect_train_opts affect_train_opts_defaults(void) {
    affect_train_opts o;
    memset(&o, 0, sizeof o);
    o.pool = AFFECT_POOL_MEAN;
    o.w_int = 0.1f;
    o.w_ms = 0.1f;
    o.ms = affect_ms_defaults();
    o.ms_pos_threshold = 0.15;
    o.ms_min_rows = 4;
    o.seed = 42;
    o.lr = 5e-5;
    o.schedule = AFFECT_LR_LINEAR;
    o.total_steps = 1;
    o.num_cycles = 0.5;
    o.adam = affect_adamw_defaults();
    o.accum_steps = 1;
    return o;
}

/* ---- construction ----------------------------------------------------------------------- */

/* Appends one tensor entry; its pointers are offsets into the four arenas. */
static void add_tensor(affect_trainer *tr, const char *name, int ndim, const int64_t shape[2],
                       const float *at, int encoder) {
    size_t i = tr->ntensors++;
    affect_train_tensor *t = &tr->tensors[i];
    snprintf(tr->names[i], NAME_CAP, "%s", name);
    t->name = tr->names[i];
    t->ndim = ndim;
    t->shape[0] = shape[0];
    t->shape[1] = ndim == 2 ? shape[1] : 0;
    t->offset = (size_t)(at - tr->params);
    t->n = (size_t)shape[0] * (ndim == 2 ? (size_t)shape[1] : 1);
    t->param = tr->params + t->offset;
    t->grad = tr->grads + t->offset;
    t->m = tr->m + t->offset;
    t->v = tr->v + t->offset;
    t->adam_step = 0;
    t->decays = affect_param_decays(name);
    t->encoder = encoder;
}

/* The tensor list reuses the checkpoint map of model/arch.c, so the names a checkpoint
 * writer sees are exactly the ones the loader reads; a coverage check proves the list
 * tiles the arena (every float belongs to exactly one named tensor). */
static int build_tensors(affect_trainer *tr, affect_error *err) {
    affect_param_ref *refs = NULL;
    size_t nref = 0;
    int rc = affect_arch_param_refs(&tr->cfg, &tr->p, &refs, &nref, err);
    if (rc) return rc;
    size_t cap = nref + AFFECT_HEADS_NPARAMS + AFFECT_MLM_NPARAMS;
    tr->tensors = calloc(cap, sizeof *tr->tensors);
    tr->names = calloc(cap, sizeof *tr->names);
    tr->items = calloc(cap, sizeof *tr->items);
    if (!tr->tensors || !tr->names || !tr->items) {
        free(refs);
        return affect_fail(err, AFFECT_ENOMEM, "trainer: out of memory for the tensor list");
    }
    const char *prefix = affect_arch_prefix(tr->cfg.family);
    size_t covered = 0;
    for (size_t i = 0; i < nref; i++) {
        char full[NAME_CAP];
        snprintf(full, sizeof full, "%s%s", prefix, refs[i].name);
        add_tensor(tr, full, refs[i].ndim, refs[i].shape, refs[i].dst, 1);
        covered += tr->tensors[tr->ntensors - 1].n;
    }
    free(refs);
    float *hptr[AFFECT_HEADS_NPARAMS] = {tr->hp.emo1w, tr->hp.emo1b, tr->hp.emo2w, tr->hp.emo2b,
                                         tr->hp.int1w, tr->hp.int1b, tr->hp.int2w, tr->hp.int2b};
    for (int i = 0; i < AFFECT_HEADS_NPARAMS; i++) {
        int ndim;
        int64_t shape[2];
        affect_heads_param_shape(i, tr->cfg.hidden, tr->L, &ndim, shape);
        add_tensor(tr, affect_heads_param_name(i), ndim, shape, hptr[i], 0);
        covered += tr->tensors[tr->ntensors - 1].n;
    }
    float *mptr[AFFECT_MLM_NPARAMS] = {tr->mp.dense_w, tr->mp.dense_b, tr->mp.ln_w, tr->mp.ln_b, tr->mp.bias};
    for (int i = 0; tr->has_mlm && i < AFFECT_MLM_NPARAMS; i++) {
        int ndim;
        int64_t shape[2];
        affect_mlm_param_shape(i, tr->cfg.hidden, tr->cfg.vocab_size, &ndim, shape);
        add_tensor(tr, affect_mlm_param_name(i), ndim, shape, mptr[i], 0);
        covered += tr->tensors[tr->ntensors - 1].n;
    }
    if (covered != tr->n_total)
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "trainer: named tensors cover %zu of %zu parameters", covered, tr->n_total);
    return AFFECT_OK;
}

/* The one constructor: the heads always, the masked-LM head when `mlm` is set. */
static int trainer_create(affect_trainer **out, const affect_model_config *cfg, int num_labels, int mlm,
                          affect_error *err) {
    *out = NULL;
    if (num_labels <= 0)
        return affect_fail(err, AFFECT_EARG, "trainer: %d emotion labels (need at least 1)", num_labels);
    affect_trainer *tr = calloc(1, sizeof *tr);
    if (!tr) return affect_fail(err, AFFECT_ENOMEM, "trainer: out of memory");
    tr->cfg = *cfg;
    tr->L = num_labels;
    tr->has_mlm = mlm;
    tr->n_enc = affect_encoder_param_sizes(cfg, tr->enc_sizes);
    size_t nh = affect_heads_param_sizes(cfg->hidden, num_labels, tr->head_sizes);
    size_t nm = mlm ? affect_mlm_param_sizes(cfg->hidden, cfg->vocab_size, tr->mlm_sizes) : 0;
    if (!tr->n_enc || !nh || (mlm && !nm) || tr->n_enc > SIZE_MAX / sizeof(float) / 4 - nh - nm) {
        free(tr);
        return affect_fail(err, AFFECT_ENOMEM, "trainer: the model's sizes overflow memory");
    }
    tr->n_total = tr->n_enc + nh + nm;
    float **arenas[4] = {&tr->params, &tr->grads, &tr->m, &tr->v};
    for (int i = 0; i < 4; i++) {
        *arenas[i] = calloc(tr->n_total, sizeof(float));
        if (!*arenas[i]) {
            affect_trainer_free(tr);
            return affect_fail(err, AFFECT_ENOMEM, "trainer: out of memory for %zu parameters (%zu MB)",
                               tr->n_total, tr->n_total * sizeof(float) >> 20);
        }
    }
    affect_encoder_params_point(&tr->p, tr->params, tr->enc_sizes);
    affect_encoder_params_point(&tr->g, tr->grads, tr->enc_sizes);
    affect_heads_params_point(&tr->hp, tr->params + tr->n_enc, tr->head_sizes);
    affect_heads_params_point(&tr->hg, tr->grads + tr->n_enc, tr->head_sizes);
    if (mlm) {
        affect_mlm_params_point(&tr->mp, tr->params + tr->n_enc + nh, tr->mlm_sizes);
        affect_mlm_params_point(&tr->mg, tr->grads + tr->n_enc + nh, tr->mlm_sizes);
    }
    int rc = build_tensors(tr, err);
    if (rc) {
        affect_trainer_free(tr);
        return rc;
    }
    *out = tr;
    return AFFECT_OK;
}

int affect_trainer_new(affect_trainer **out, const affect_model_config *cfg, int num_labels,
                       affect_error *err) {
    return trainer_create(out, cfg, num_labels, 0, err);
}

int affect_trainer_new_mlm(affect_trainer **out, const affect_model_config *cfg, affect_error *err) {
    return trainer_create(out, cfg, 1, 1, err);
}

void affect_trainer_free(affect_trainer *tr) {
    if (!tr) return;
    free(tr->params);
    free(tr->grads);
    free(tr->m);
    free(tr->v);
    free(tr->tensors);
    free(tr->names);
    free(tr->items);
    affect_encoder_acts_free(&tr->acts);
    affect_encoder_grad_scratch_free(&tr->gs);
    affect_heads_acts_free(&tr->ha);
    affect_mlm_acts_free(&tr->ma);
    free(tr->mlm_ints);
    free(tr->buf);
    free(tr->bytes);
    free(tr);
}

int affect_trainer_load_encoder(affect_trainer *tr, const affect_tensor_set *ts,
                                const char *source, affect_error *err) {
    return affect_arch_load(&tr->cfg, &tr->p, ts, source, err);
}

int affect_trainer_load_heads(affect_trainer *tr, const affect_tensor_set *ts,
                              const char *source, affect_error *err) {
    for (size_t i = 0; i < tr->ntensors; i++) {
        const affect_train_tensor *e = &tr->tensors[i];
        if (e->encoder) continue;
        const affect_tensor *t = affect_tensor_set_find(ts, e->name);
        char want[64], got[64];
        affect_shape_str(e->shape, e->ndim, want, sizeof want);
        if (!t)
            return affect_fail(err, AFFECT_EFORMAT, "%s: missing tensor '%s' (expected %s)", source,
                               e->name, want);
        int same = t->ndim == e->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
        if (!same) {
            affect_shape_str(t->shape, t->ndim, got, sizeof got);
            return affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s' has shape %s, expected %s",
                               source, e->name, got, want);
        }
        int rc = affect_tensor_to_f32(t, e->param, err);
        if (rc) return rc;
    }
    return AFFECT_OK;
}

const affect_model_config *affect_trainer_config(const affect_trainer *tr) { return &tr->cfg; }
int affect_trainer_num_labels(const affect_trainer *tr) { return tr->L; }
affect_encoder_params *affect_trainer_encoder(affect_trainer *tr, int grads) {
    return grads ? &tr->g : &tr->p;
}
affect_heads_params *affect_trainer_heads(affect_trainer *tr, int grads) {
    return grads ? &tr->hg : &tr->hp;
}
affect_mlm_params *affect_trainer_mlm(affect_trainer *tr, int grads) {
    return tr->has_mlm ? (grads ? &tr->mg : &tr->mp) : NULL;
}
size_t affect_trainer_num_tensors(const affect_trainer *tr) { return tr->ntensors; }
const affect_train_tensor *affect_trainer_tensor(const affect_trainer *tr, size_t i) {
    return i < tr->ntensors ? &tr->tensors[i] : NULL;
}
int64_t affect_trainer_step(const affect_trainer *tr) { return tr->opt_step; }
uint64_t affect_trainer_micro_steps(const affect_trainer *tr) { return tr->micro; }

/* Checked before anything changes, so a bad checkpoint leaves the trainer as it was. */
int affect_trainer_restore_counters(affect_trainer *tr, int64_t opt_step, uint64_t micro,
                                    const int64_t *adam_steps, affect_error *err) {
    if (opt_step < 0)
        return affect_fail(err, AFFECT_EFORMAT, "trainer: negative optimizer step %lld",
                           (long long)opt_step);
    for (size_t i = 0; i < tr->ntensors; i++)
        if (adam_steps[i] < 0)
            return affect_fail(err, AFFECT_EFORMAT, "trainer: tensor '%s' has AdamW step %lld",
                               tr->tensors[i].name, (long long)adam_steps[i]);
    for (size_t i = 0; i < tr->ntensors; i++) tr->tensors[i].adam_step = adam_steps[i];
    tr->opt_step = opt_step;
    tr->micro = micro;
    return AFFECT_OK;
}

/* ---- per-batch buffers ------------------------------------------------------------------ */

typedef struct bufs {
    float *pooled, *dpooled, *dhidden, *dlogits, *dint, *dfeat, *feats, *dfeats, *labs;
    uint8_t *pos, *neg;
} bufs;

/* Sizes the per-batch buffers for (B,T), growing them only for a new maximum. */
static int batch_buffers(affect_trainer *tr, int B, int T, bufs *o, affect_error *err) {
    size_t b = (size_t)B, H = (size_t)tr->cfg.hidden, L = (size_t)tr->L;
    size_t BH = b * H, BTH = b * (size_t)T * H, BL = b * L;
    size_t sz[9] = {BH, BH, BTH, BL, b, BH, BH, BH, BL};
    size_t total = 0;
    for (int i = 0; i < 9; i++) total += sz[i];
    if (total > tr->buf_cap) {
        float *nb = malloc(total * sizeof *nb);
        if (!nb) return affect_fail(err, AFFECT_ENOMEM, "trainer: out of memory for batch (%d, %d)", B, T);
        free(tr->buf);
        tr->buf = nb;
        tr->buf_cap = total;
    }
    if (2 * b * b > tr->bytes_cap) {
        uint8_t *nb = malloc(2 * b * b);
        if (!nb) return affect_fail(err, AFFECT_ENOMEM, "trainer: out of memory for %d-row pair masks", B);
        free(tr->bytes);
        tr->bytes = nb;
        tr->bytes_cap = 2 * b * b;
    }
    float **ptr[9] = {&o->pooled, &o->dpooled, &o->dhidden, &o->dlogits, &o->dint,
                      &o->dfeat, &o->feats, &o->dfeats, &o->labs};
    float *at = tr->buf;
    for (int i = 0; i < 9; i++) {
        *ptr[i] = at;
        at += sz[i];
    }
    o->pos = tr->bytes;
    o->neg = tr->bytes + b * b;
    return AFFECT_OK;
}

/* ---- the micro-step --------------------------------------------------------------------- */

/* The multi-similarity term over the labelled rows: gathers their features and labels into
 * compact (n,H)/(n,L) arrays, and when `dloss` != 0 scatters the feature gradient back into
 * dfeat (B,H) (zero rows elsewhere). Returns the loss in *loss, *used = 0 when skipped. */
static int ms_term(affect_trainer *tr, const affect_train_batch *bt, const affect_train_opts *o,
                   bufs *bf, float dloss, double *loss, int *used, affect_error *err) {
    int B = bt->B, H = tr->cfg.hidden, L = tr->L;
    *loss = 0.0;
    *used = 0;
    memset(bf->dfeat, 0, (size_t)B * H * sizeof(float));
    if (o->w_ms == 0.0f || !bt->labels) return AFFECT_OK;
    int n = 0;
    for (int b = 0; b < B; b++) {
        if (bt->label_row && !bt->label_row[b]) continue;
        memcpy(bf->feats + (size_t)n * H, tr->ha.emo_hid + (size_t)b * H, (size_t)H * sizeof(float));
        memcpy(bf->labs + (size_t)n * L, bt->labels + (size_t)b * L, (size_t)L * sizeof(float));
        n++;
    }
    if (n < (o->ms_min_rows > 0 ? o->ms_min_rows : 1)) return AFFECT_OK;
    affect_ms_pair_masks(bf->pos, bf->neg, bf->labs, NULL, n, L, o->ms_pos_threshold);
    int rc = affect_ms_loss_forward(loss, bf->feats, bf->pos, bf->neg, n, H, &o->ms, err);
    if (rc) return rc;
    *used = 1;
    rc = affect_ms_loss_backward(bf->dfeats, bf->feats, bf->pos, bf->neg, n, H, &o->ms, dloss, err);
    if (rc) return rc;
    int k = 0;
    for (int b = 0; b < B; b++) {
        if (bt->label_row && !bt->label_row[b]) continue;
        memcpy(bf->dfeat + (size_t)b * H, bf->dfeats + (size_t)k * H, (size_t)H * sizeof(float));
        k++;
    }
    return AFFECT_OK;
}

int affect_train_micro_step(affect_trainer *tr, const affect_train_batch *bt,
                            const affect_train_opts *o, affect_loss_parts *parts,
                            affect_error *err) {
    const affect_model_config *c = &tr->cfg;
    int B = bt->B, T = bt->T, H = c->hidden, L = tr->L;
    if (o->accum_steps < 1)
        return affect_fail(err, AFFECT_EARG, "train: gradient_accumulation_steps is %d (need >= 1)", o->accum_steps);
    affect_enc_dropout drop = {o->hidden_dropout, o->attn_dropout, o->seed,
                               tr->micro * AFFECT_ENC_DROPOUT_SITES(c->layers)};
    int dropping = o->hidden_dropout > 0.0f || o->attn_dropout > 0.0f;
    int per_layer = !o->freeze_encoder || dropping;
    int rc = affect_encoder_acts_alloc(&tr->acts, c, B, T, per_layer, err);
    if (!rc) rc = affect_heads_acts_alloc(&tr->ha, B, H, L, err);
    bufs bf;
    if (!rc) rc = batch_buffers(tr, B, T, &bf, err);
    if (!rc) rc = affect_encoder_forward_train(c, &tr->p, &tr->acts, bt->ids, bt->mask, &drop, &tr->gs, err);
    if (rc) return rc;
    tr->micro++;
    pool_forward(bf.pooled, affect_encoder_output(&tr->acts, c), bt->mask, B, T, H, o->pool);
    affect_heads_forward(&tr->hp, &tr->ha, bf.pooled, B, H, L);

    /* losses and their gradients, each scaled by 1/accum_steps as HF divides the loss */
    float scale = 1.0f / (float)o->accum_steps;
    affect_loss_parts lp = {0};
    if (bt->labels) {
        lp.bce = affect_bce_logits_forward(tr->ha.logits, bt->labels, o->pos_weight, bt->label_row,
                                           bt->label_mask, B, L);
        affect_bce_logits_backward(bf.dlogits, tr->ha.logits, bt->labels, o->pos_weight,
                                   bt->label_row, bt->label_mask, B, L, scale);
    } else {
        memset(bf.dlogits, 0, (size_t)B * L * sizeof(float));
    }
    if (bt->intensity && o->w_int != 0.0f) {
        lp.l1 = affect_l1_forward(tr->ha.intensity, bt->intensity, bt->intensity_row, B, 1);
        affect_l1_backward(bf.dint, tr->ha.intensity, bt->intensity, bt->intensity_row, B, 1,
                           o->w_int * scale);
    } else {
        memset(bf.dint, 0, (size_t)B * sizeof(float));
    }
    rc = ms_term(tr, bt, o, &bf, o->w_ms * scale, &lp.ms, &lp.ms_used, err);
    if (rc) return rc;
    lp.loss = lp.bce + (double)o->w_int * lp.l1 + (double)o->w_ms * lp.ms;
    if (parts) *parts = lp;
    if (!isfinite(lp.loss))
        return affect_fail(err, AFFECT_EFORMAT,
                           "train: step %lld: loss is not finite (bce %g, l1 %g, ms %g)",
                           (long long)tr->opt_step + 1, lp.bce, lp.l1, lp.ms);

    /* backward: heads, then (unless frozen) pooling and the encoder */
    affect_heads_backward(&tr->hp, &tr->hg, &tr->ha, bf.pooled, bf.dlogits, bf.dint,
                          lp.ms_used ? bf.dfeat : NULL, o->freeze_encoder ? NULL : bf.dpooled, B,
                          H, L);
    if (o->freeze_encoder) return AFFECT_OK;
    pool_backward(bf.dhidden, bf.dpooled, bt->mask, B, T, H, o->pool);
    return affect_encoder_backward(c, &tr->p, &tr->g, &tr->acts, bt->ids, bt->mask, bf.dhidden,
                                   &drop, &tr->gs, err);
}

/* ---- the masked-LM micro-step ------------------------------------------------------------ */

/* Masks a (B,T) batch under (seed, stream) into the trainer's buffers (grown for a new
 * maximum): corrupted ids, chosen positions and their targets, *M of them. */
static int mlm_mask_batch(affect_trainer *tr, const int32_t *ids, const int32_t *mask, int B, int T,
                          const affect_mlm_opts *mo, uint64_t seed, uint64_t stream, int32_t **cids,
                          int32_t **pos, int32_t **tgt, int *M, affect_error *err) {
    if (!tr->has_mlm) return affect_fail(err, AFFECT_EARG, "trainer: built without a masked-LM head");
    size_t bt = (size_t)B * (size_t)T;
    if (3 * bt > tr->mlm_ints_cap) {
        int32_t *nb = malloc(3 * bt * sizeof *nb);
        if (!nb) return affect_fail(err, AFFECT_ENOMEM, "trainer: out of memory for masked-LM targets");
        free(tr->mlm_ints);
        tr->mlm_ints = nb;
        tr->mlm_ints_cap = 3 * bt;
    }
    *cids = tr->mlm_ints;
    *pos = *cids + bt;
    *tgt = *pos + bt;
    *M = affect_mlm_mask(*cids, *pos, *tgt, ids, mask, B, T, mo->special, mo->n_special, mo->mask_id,
                         tr->cfg.vocab_size, mo->probability, seed, stream);
    return AFFECT_OK;
}

int affect_train_mlm_micro_step(affect_trainer *tr, const int32_t *ids, const int32_t *mask, int B, int T,
                                const affect_mlm_opts *mo, const affect_train_opts *o, double *loss,
                                int *n_masked, affect_error *err) {
    const affect_model_config *c = &tr->cfg;
    int H = c->hidden, V = c->vocab_size;
    *loss = 0.0;
    if (n_masked) *n_masked = 0;
    if (o->accum_steps < 1)
        return affect_fail(err, AFFECT_EARG, "train: gradient_accumulation_steps is %d (need >= 1)", o->accum_steps);
    size_t bt = (size_t)B * (size_t)T;
    int32_t *cids, *pos, *tgt;
    int M;
    int rc = mlm_mask_batch(tr, ids, mask, B, T, mo, o->seed ^ 0x6d61736b6564ull, tr->micro, &cids, &pos, &tgt, &M, err);
    if (rc) return rc;
    if (n_masked) *n_masked = M;
    affect_enc_dropout drop = {o->hidden_dropout, o->attn_dropout, o->seed,
                               tr->micro * AFFECT_ENC_DROPOUT_SITES(c->layers)};
    bufs bf;
    rc = affect_encoder_acts_alloc(&tr->acts, c, B, T, 1, err);
    if (!rc) rc = affect_mlm_acts_alloc(&tr->ma, M, H, V, err);
    if (!rc) rc = batch_buffers(tr, B, T, &bf, err);
    if (!rc) rc = affect_encoder_forward_train(c, &tr->p, &tr->acts, cids, mask, &drop, &tr->gs, err);
    if (rc) return rc;
    tr->micro++;
    float scale = 1.0f / (float)o->accum_steps;
    affect_mlm_step(&tr->mp, &tr->mg, tr->p.wte, tr->g.wte, &tr->ma, affect_encoder_output(&tr->acts, c), bt, pos,
                    tgt, M, H, V, c->ln_eps, scale, loss, bf.dhidden);
    if (!isfinite(*loss))
        return affect_fail(err, AFFECT_EFORMAT, "train: step %lld: masked-LM loss is not finite (%g)",
                           (long long)tr->opt_step + 1, *loss);
    return affect_encoder_backward(c, &tr->p, &tr->g, &tr->acts, cids, mask, bf.dhidden, &drop, &tr->gs, err);
}

int affect_trainer_mlm_eval(affect_trainer *tr, const int32_t *ids, const int32_t *mask, int B, int T,
                            const affect_mlm_opts *mo, uint64_t seed, uint64_t stream, double *loss_sum,
                            int *n_masked, affect_error *err) {
    const affect_model_config *c = &tr->cfg;
    int H = c->hidden, V = c->vocab_size;
    *loss_sum = 0.0;
    *n_masked = 0;
    int32_t *cids, *pos, *tgt;
    int M;
    int rc = mlm_mask_batch(tr, ids, mask, B, T, mo, seed, stream, &cids, &pos, &tgt, &M, err);
    if (rc) return rc;
    rc = affect_encoder_acts_alloc(&tr->acts, c, B, T, 0, err);
    if (!rc) rc = affect_mlm_acts_alloc(&tr->ma, M, H, V, err);
    if (!rc) rc = affect_encoder_forward(c, &tr->p, &tr->acts, cids, mask, err);
    if (rc) return rc;
    *loss_sum = affect_mlm_loss(&tr->mp, tr->p.wte, &tr->ma, affect_encoder_output(&tr->acts, c), pos, tgt, M, H, V,
                                c->ln_eps) *
                M;
    *n_masked = M;
    return AFFECT_OK;
}

/* ---- the optimizer step ----------------------------------------------------------------- */

int affect_train_optimizer_step(affect_trainer *tr, const affect_train_opts *o,
                                affect_step_info *info, affect_error *err) {
    int frozen = o->freeze_encoder;
    affect_fspan spans[2] = {{tr->grads, tr->n_enc}, {tr->grads + tr->n_enc, tr->n_total - tr->n_enc}};
    affect_fspan *sp = frozen ? &spans[1] : &spans[0];
    int nsp = frozen ? 1 : 2;
    /* affect_clip_grad_norm's arithmetic, with its scaling pass folded into AdamW's */
    float norm = (float)affect_grad_norm_parallel(sp, nsp), grad_scale = 1.0f;
    if (o->max_grad_norm > 0.0f && isfinite(norm)) {
        float coef = (1.0f / (norm + 1e-6f)) * o->max_grad_norm;
        if (coef < 1.0f) grad_scale = coef;
    }
    int64_t step = tr->opt_step + 1;
    if (!isfinite(norm)) {
        const char *bad = "?";
        for (size_t i = 0; i < tr->ntensors; i++) {
            const affect_train_tensor *t = &tr->tensors[i];
            if ((!frozen || !t->encoder) && !affect_all_finite(t->grad, t->n)) {
                bad = t->name;
                break;
            }
        }
        affect_grads_zero(tr->grads, tr->n_total);
        return affect_fail(err, AFFECT_EFORMAT,
                           "train: step %lld: gradient norm is %g (first non-finite gradient in '%s'); parameters not updated",
                           (long long)step, (double)norm, bad);
    }
    double lr = o->lr * affect_lr_multiplier(o->schedule, tr->opt_step, o->warmup_steps,
                                             o->total_steps, o->num_cycles);
    /* every tensor's AdamW update (frozen ones: none) and the zeroing of its gradient, in
     * one multi-threaded pass (train/parallel_adamw.h: bit-identical to clip scaling, then
     * affect_adamw_update per tensor, then affect_grads_zero over the arena, which the
     * tensors tile) */
    for (size_t i = 0; i < tr->ntensors; i++) {
        affect_train_tensor *t = &tr->tensors[i];
        int update = !(frozen && t->encoder);
        if (update) t->adam_step++;
        affect_adamw_item it = {t->param, t->grad, t->m, t->v, t->n, update, t->adam_step, t->decays};
        tr->items[i] = it;
    }
    affect_adamw_fused(tr->items, tr->ntensors, &o->adam, lr, grad_scale);
    tr->opt_step = step;
    if (info) {
        info->step = step;
        info->lr = lr;
        info->grad_norm = norm;
    }
    return AFFECT_OK;
}

int affect_train_step(affect_trainer *tr, const affect_train_batch *batches, int n,
                      const affect_train_opts *o, affect_loss_parts *parts,
                      affect_step_info *info, affect_error *err) {
    for (int i = 0; i < n; i++) {
        int rc = affect_train_micro_step(tr, &batches[i], o, parts ? &parts[i] : NULL, err);
        if (rc) {
            affect_grads_zero(tr->grads, tr->n_total);
            return rc;
        }
    }
    return affect_train_optimizer_step(tr, o, info, err);
}

int affect_trainer_predict(affect_trainer *tr, const int32_t *ids, const int32_t *mask, int B,
                           int T, int pool, float *logits, float *intensity, affect_error *err) {
    const affect_model_config *c = &tr->cfg;
    int H = c->hidden, L = tr->L;
    bufs bf;
    int rc = affect_encoder_acts_alloc(&tr->acts, c, B, T, 0, err);
    if (!rc) rc = affect_heads_acts_alloc(&tr->ha, B, H, L, err);
    if (!rc) rc = batch_buffers(tr, B, T, &bf, err);
    if (!rc) rc = affect_encoder_forward(c, &tr->p, &tr->acts, ids, mask, err);
    if (rc) return rc;
    pool_forward(bf.pooled, affect_encoder_output(&tr->acts, c), mask, B, T, H, pool);
    affect_heads_forward(&tr->hp, &tr->ha, bf.pooled, B, H, L);
    if (logits) memcpy(logits, tr->ha.logits, (size_t)B * L * sizeof(float));
    if (intensity) memcpy(intensity, tr->ha.intensity, (size_t)B * sizeof(float));
    return AFFECT_OK;
}
