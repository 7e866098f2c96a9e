/* `affect train`: loads the config and the data, builds or loads the encoder, runs the stages
 * (pl_stage.c) and writes the run folder (pl_report.c). See pipeline.h for the contract. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/split.h"
#include "eval/metrics.h"
#include "model/encoder.h"
#include "pipeline/pl_internal.h"
#include "pipeline/pl_report.h"
#include "train/checkpoint.h"
#include "train/loss.h"
#include "train/rng.h"
#include "util/blob.h"
#include "util/error.h"
#include "util/json.h"
#include "vocab/wordpiece_trainer.h"

/* ---- log and notes ------------------------------------------------------------------------ */

int pl_log_line(pl_run *run, const char *json, affect_error *err) {
    if (!run->log) return 0;
    if (fputs(json, run->log) == EOF || fputc('\n', run->log) == EOF || fflush(run->log) != 0)
        return affect_fail(err, AFFECT_EIO, "%s/train_log.jsonl: write failed", run->dir);
    return 0;
}

long pl_log_size(pl_run *run) {
    if (!run->log) return -1;
    fflush(run->log);
    char path[PL_PATH];
    if (snprintf(path, sizeof path, "%s/train_log.jsonl", run->dir) >= (int)sizeof path) return -1;
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

void pl_note(pl_run *run, const char *stage, const char *fmt, ...) {
    if (!run->opts->progress) return;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    affect_train_progress p;
    memset(&p, 0, sizeof p);
    p.kind = AFFECT_PROGRESS_NOTE;
    p.stage = stage;
    p.fold = -1;
    p.message = msg;
    p.val_macro_auc = p.val_micro_auc = p.val_pearson = NAN;
    run->opts->progress(run->opts->user, &p);
}

/* ---- data --------------------------------------------------------------------------------- */

typedef struct pl_data {
    pl_set go_train, go_val;      /* GoEmotions train / dev */
    pl_set lem;                   /* all Lemotif (or custom) rows */
    pl_set lem_train, lem_val, lem_test;
    pl_set emo_train, emo_dev;    /* EmoInt */
    pl_set emo_val;               /* EmoInt train rows held out of training (data.emoint_val) */
    pl_set s2_train;              /* lem_train + emo_train */
    pl_set mlm_train;             /* masked-LM texts: go_train + lem_train + emo_train */
} pl_data;

static void data_free(pl_data *d) {
    pl_set *all[] = {&d->go_train, &d->go_val, &d->lem, &d->lem_train, &d->lem_val, &d->lem_test,
                     &d->emo_train, &d->emo_dev, &d->emo_val, &d->s2_train, &d->mlm_train};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) pl_set_free(all[i]);
}

/* Stage 2's rows: the config's own file (data.custom) when it names one, else Lemotif. Shared
 * with `affect eval`, which must rebuild exactly the rows the run was trained and tested on. */
int pl_load_stage2(const affect_run_config *c, pl_set *out, affect_error *err) {
    if (c->data.custom.path[0]) {
        const affect_run_config *k = c;
        affect_generic_spec sp;
        memset(&sp, 0, sizeof sp);
        sp.path = k->data.custom.path;
        sp.format = k->data.custom.format;
        sp.text_column = k->data.custom.text_column;
        sp.id_column = k->data.custom.id_column;
        sp.label_columns = (const char *const *)k->data.custom.label_columns.v;
        sp.num_label_columns = k->data.custom.label_columns.n;
        sp.labels_column = k->data.custom.labels_column;
        sp.label_separator = k->data.custom.label_separator;
        sp.label_names = (const char *const *)k->data.custom.label_names.v;
        sp.num_label_names = k->data.custom.label_names.n;
        sp.intensity_column = k->data.custom.intensity_column;
        sp.group_column = k->data.custom.group_column;
        return affect_generic_load(&sp, &out->ds, err);
    }
    char path[PL_PATH];
    int rc = affect_run_config_data_path(c, "lemotif", path, sizeof path, err);
    if (!rc) rc = affect_lemotif_load(path, &out->ds, err);
    return rc;
}

static int split_sets(const pl_set *all, const int32_t *part, int p, pl_set *out, affect_error *err) {
    size_t n = all->ds.n;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx) return affect_fail(err, AFFECT_ENOMEM, "out of memory splitting");
    size_t k = affect_split_rows(part, n, p, idx);
    int rc = pl_set_subset(all, idx, k, out, err);
    free(idx);
    return rc;
}

/* data.emoint_input: "prefixed" makes every EmoInt text "<emotion>: <tweet>", so the intensity
 * head knows which emotion it rates (the shared task scores each emotion on its own);
 * "both" trains on each tweet twice, prefixed and plain, so the head also learns an
 * unconditioned intensity for text that names no emotion (a journal entry). Dev is prefixed
 * in both cases: the reported Pearson is the conditioned one, as the task defines it. */
static int emoint_input(const affect_run_config *c, pl_data *d, affect_error *err) {
    if (!strcmp(c->data.emoint_input, "plain")) return 0;
    int rc = affect_dataset_prefix_groups(&d->emo_dev.ds, err);
    if (!rc) rc = affect_dataset_prefix_groups(&d->emo_val.ds, err);
    if (rc || !strcmp(c->data.emoint_input, "prefixed")) return rc ? rc : affect_dataset_prefix_groups(&d->emo_train.ds, err);
    /* both: the prefixed rows, then a plain copy of each */
    size_t n = d->emo_train.ds.n;
    size_t *rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) rows[i] = i;
    affect_dataset plain, both;
    memset(&plain, 0, sizeof plain);
    memset(&both, 0, sizeof both);
    rc = affect_dataset_subset(&d->emo_train.ds, rows, n, &plain, err);
    free(rows);
    if (!rc) rc = affect_dataset_prefix_groups(&d->emo_train.ds, err);
    if (!rc) rc = affect_dataset_concat(&d->emo_train.ds, &plain, &both, err);
    affect_dataset_free(&plain);
    if (rc) return rc;
    affect_dataset_free(&d->emo_train.ds);
    d->emo_train.ds = both;
    return 0;
}

typedef struct keyed_row {
    int32_t group;
    uint32_t key;
    size_t row;
} keyed_row;

static int cmp_keyed(const void *a, const void *b) {
    const keyed_row *x = a, *y = b;
    if (x->group != y->group) return x->group < y->group ? -1 : 1;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* data.emoint_val: round(share x n_e) of each EmoInt emotion e's train rows, a seeded random
 * draw, move to emo_val, before the rows are prefixed or doubled (so a tweet is never on both
 * sides). Rows without an emotion stay in train. */
static int split_emoint_val(const affect_run_config *c, pl_data *d, affect_error *err) {
    double share = c->data.emoint_val;
    size_t n = d->emo_train.ds.n;
    if (!(share > 0) || n == 0) return 0;
    keyed_row *kr = malloc(n * sizeof *kr);
    int32_t *part = malloc(n * sizeof *part);
    if (!kr || !part) {
        free(kr);
        free(part);
        return affect_fail(err, AFFECT_ENOMEM, "out of memory splitting EmoInt");
    }
    uint64_t seed = (uint64_t)c->data.lemotif_split.seed;
    for (size_t i = 0; i < n; i++) {
        kr[i].group = d->emo_train.ds.group ? d->emo_train.ds.group[i] : -1;
        kr[i].key = affect_rng_u32(seed, 0x456d6f49ULL /* "EmoI" */, (uint64_t)i);
        kr[i].row = i;
        part[i] = 0;
    }
    qsort(kr, n, sizeof *kr, cmp_keyed);
    for (size_t a = 0; a < n;) {
        size_t b = a;
        while (b < n && kr[b].group == kr[a].group) b++;
        size_t k = kr[a].group < 0 ? 0 : (size_t)floor(share * (double)(b - a) + 0.5);
        for (size_t j = a; j < a + k; j++) part[kr[j].row] = 1;
        a = b;
    }
    pl_set train = {0};
    int rc = split_sets(&d->emo_train, part, 1, &d->emo_val, err);
    if (!rc) rc = split_sets(&d->emo_train, part, 0, &train, err);
    free(kr);
    free(part);
    if (rc) {
        pl_set_free(&train);
        return rc;
    }
    pl_set_free(&d->emo_train);
    d->emo_train = train;
    return 0;
}

static int load_data(const affect_run_config *c, int need_go, pl_data *d, affect_error *err) {
    char path[PL_PATH];
    int rc;
    uint64_t seed = (uint64_t)c->data.lemotif_split.seed;
    size_t maxr = (size_t)c->data.max_rows;
    if (need_go) {
        if ((rc = affect_run_config_data_path(c, "goemotions", path, sizeof path, err))) return rc;
        if ((rc = affect_goemotions_load(path, "train", &d->go_train.ds, err))) return rc;
        if ((rc = affect_goemotions_load(path, "dev", &d->go_val.ds, err))) return rc;
        if ((rc = pl_set_limit(&d->go_train, maxr, seed, err)) || (rc = pl_set_limit(&d->go_val, maxr, seed + 1, err)))
            return rc;
    }
    if ((rc = pl_load_stage2(c, &d->lem, err))) return rc;
    if ((rc = pl_set_limit(&d->lem, maxr, seed + 2, err))) return rc;
    if (d->lem.ds.num_labels <= 0 || affect_dataset_labelled(&d->lem.ds) < 3)
        return affect_fail(err, AFFECT_EFORMAT, "the stage-2 data has no emotion labels (or fewer than 3 labelled rows)");
    if ((rc = affect_run_config_data_path(c, "emoint", path, sizeof path, err))) return rc;
    if ((rc = affect_emoint_load(path, "train", NULL, 0, &d->emo_train.ds, err))) return rc;
    if ((rc = affect_emoint_load(path, "dev.gold", NULL, 0, &d->emo_dev.ds, err))) return rc;
    if ((rc = pl_set_limit(&d->emo_train, maxr, seed + 3, err)) || (rc = pl_set_limit(&d->emo_dev, maxr, seed + 4, err)))
        return rc;
    if ((rc = split_emoint_val(c, d, err))) return rc;
    return emoint_input(c, d, err);
}

/* The 70/15/15 iterative stratification of the stage-2 rows. */
static int split_stage2(const affect_run_config *c, pl_data *d, affect_error *err) {
    size_t n = d->lem.ds.n;
    int32_t *part = malloc((n ? n : 1) * sizeof *part);
    if (!part) return affect_fail(err, AFFECT_ENOMEM, "out of memory splitting");
    double fr[3] = {c->data.lemotif_split.train, c->data.lemotif_split.val, c->data.lemotif_split.test};
    int rc = affect_split_stratified(d->lem.ds.labels, d->lem.ds.label_mask, n, d->lem.ds.num_labels, fr, 3,
                                     (uint64_t)c->data.lemotif_split.seed, part, err);
    if (!rc) rc = split_sets(&d->lem, part, 0, &d->lem_train, err);
    if (!rc) rc = split_sets(&d->lem, part, 1, &d->lem_val, err);
    if (!rc) rc = split_sets(&d->lem, part, 2, &d->lem_test, err);
    free(part);
    return rc;
}

/* ---- model pieces ------------------------------------------------------------------------- */

/* Positive rate per label over rows with targets: the emotion bias's log prior odds. */
static void label_prior(const affect_dataset *ds, float *prior) {
    int L = ds->num_labels;
    size_t *cnt = calloc((size_t)L, sizeof *cnt);
    size_t lab = affect_dataset_labelled(ds);
    if (!cnt) {
        for (int l = 0; l < L; l++) prior[l] = 0.5f;
        return;
    }
    affect_dataset_label_counts(ds, cnt);
    for (int l = 0; l < L; l++) prior[l] = lab ? (float)cnt[l] / (float)lab : 0.5f;
    free(cnt);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* The median training intensity: the intensity bias starts there. */
static float intensity_median(const affect_dataset *ds) {
    size_t k = 0;
    float *v = malloc((ds->n ? ds->n : 1) * sizeof *v);
    if (!v) return 0.5f;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->intensity_mask && ds->intensity_mask[i]) v[k++] = ds->intensity[i];
    float m = 0.5f;
    if (k) {
        qsort(v, k, sizeof *v, cmp_float);
        m = k % 2 ? v[k / 2] : 0.5f * (v[k / 2 - 1] + v[k / 2]);
    }
    free(v);
    return m;
}

static int pos_weights(const pl_set *s, float cap, float **out, affect_error *err) {
    int L = s->ds.num_labels;
    *out = malloc((size_t)L * sizeof **out);
    if (!*out) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    size_t n = s->ds.n;
    uint8_t *m = malloc((n ? n : 1) * (size_t)L);
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) memset(m + i * (size_t)L, s->ds.label_mask[i] ? 1 : 0, (size_t)L);
    affect_bce_pos_weight(*out, s->ds.labels, m, (int)n, L, cap);
    free(m);
    return 0;
}

typedef struct pl_model {
    affect_model_config cfg;
    int scratch;
    char tok_dir[PL_PATH];        /* the tokenizer's folder (exported with the model) */
    float hidden_dropout, attn_dropout;
} pl_model;

/* Starting encoder weights: pretrained from the model folder, or HF's random init. */
static int init_encoder(const affect_run_config *c, const pl_model *pm, affect_trainer *tr, uint64_t seed,
                        int random, affect_error *err) {
    if (random || pm->scratch) {
        pl_encoder_init_random(tr, seed);
        return 0;
    }
    return pl_encoder_load_dir(tr, c->resolved.model_dir, err);
}

static void heads_init(affect_trainer *tr, const pl_set *train, uint64_t seed, float median) {
    int L = affect_trainer_num_labels(tr);
    float *prior = malloc((size_t)L * sizeof *prior);
    if (prior) label_prior(&train->ds, prior);
    affect_heads_init(affect_trainer_heads(tr, 0), affect_trainer_config(tr)->hidden, L, seed, 0.02f, prior, median);
    free(prior);
}

/* ---- stage 0: masked-LM pretraining ---------------------------------------------------------- */

/* The special ids for the masked-LM stage (without [MASK]: it is the stage's own input);
 * AFFECT_EUNSUPPORTED when there is no mask token. */
static int mlm_vocab(const affect_tokenizer *tok, int32_t *special, int *n_special, int32_t *mask_id,
                     affect_error *err) {
    pl_special_ids(tok, special, n_special, mask_id);
    if (*mask_id < 0)
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "training.pretrain_mlm: the tokenizer has no [MASK] or <mask> token to mask with");
    return 0;
}

/* Stage 0: a fresh masked-LM trainer on the encoder the run starts from, trained on the texts
 * of GoEmotions train, stage-2 train and EmoInt train (never a validation or test text; the
 * labels are not used), validated by the masked-LM loss on GoEmotions dev (stage-2 val when
 * GoEmotions is absent). On success *out holds the trainer with the stage's best encoder. */
static int run_stage0(pl_run *run, const pl_model *pm, pl_data *d, const affect_tokenizer *tok, affect_trainer **out,
                      pl_stage_result *res, affect_error *err) {
    const affect_run_config *c = run->cfg;
    const affect_stage_config *m = &c->training.pretrain_mlm;
    memset(res, 0, sizeof *res);
    int32_t special[16];
    affect_mlm_opts mo;
    memset(&mo, 0, sizeof mo);
    int rc = mlm_vocab(tok, special, &mo.n_special, &mo.mask_id, err);
    mo.special = special;
    mo.probability = m->mlm_probability;
    const pl_set *texts[3] = {&d->go_train, &d->lem_train, &d->emo_train};
    if (!rc) rc = pl_set_tokens_of(texts, 3, &d->mlm_train, err);
    if (rc) return rc;
    affect_trainer *tr = NULL;
    if ((rc = affect_trainer_new_mlm(&tr, &pm->cfg, err))) return rc;
    rc = init_encoder(c, pm, tr, (uint64_t)m->seed, 0, err);
    if (!rc) affect_mlm_init(affect_trainer_mlm(tr, 0), pm->cfg.hidden, pm->cfg.vocab_size, (uint64_t)m->seed, 0.02f);
    pl_stage st;
    memset(&st, 0, sizeof st);
    st.name = "pretrain_mlm";
    st.index = 4;
    st.fold = -1;
    st.sc = m;
    st.train = &d->mlm_train;
    st.val = d->go_val.ds.n ? &d->go_val : &d->lem_val;
    st.hidden_dropout = pm->hidden_dropout;
    st.attn_dropout = pm->attn_dropout;
    st.mlm = &mo;
    if (!rc) rc = pl_path(st.dir, sizeof st.dir, err, "%s/pretrain_mlm", run->dir);
    if (!rc) rc = pl_stage_run(run, tr, &st, res, err);
    if (rc || res->interrupted) {
        affect_trainer_free(tr);
        return rc;
    }
    *out = tr;
    return 0;
}

/* ---- stage 2 on one split (the main run, or one CV fold) ----------------------------------- */

typedef struct s2_in {
    const pl_set *train, *val, *int_dev;
    const float *enc_init;        /* encoder params to start from (NULL: use `init_random`) */
    int fold;
    char dir[PL_PATH];            /* where the stage folders go */
} s2_in;

/* One stage-2 run (frozen, then unfrozen) into the stage folders under `dir`, with every
 * stage seed shifted by `seed_offset` (a member of a soup). */
static int run_stage2_one(pl_run *run, const pl_model *pm, const s2_in *in, int seed_offset, const char *dir,
                          affect_trainer **out_tr, pl_stage_result *last, affect_error *err) {
    const affect_run_config *c = run->cfg;
    int L = in->train->ds.num_labels;
    affect_trainer *tr = NULL;
    float *pw = NULL;
    int rc = affect_trainer_new(&tr, &pm->cfg, L, err);
    if (rc) return rc;
    affect_stage_config fzc = c->training.lemotif.frozen, ufc = c->training.lemotif.unfrozen;
    fzc.seed += seed_offset;
    ufc.seed += seed_offset;
    const affect_stage_config *fz = &fzc, *uf = &ufc;
    if (in->enc_init) {
        size_t nt = affect_trainer_num_tensors(tr), off = 0;
        for (size_t i = 0; i < nt; i++) {
            const affect_train_tensor *t = affect_trainer_tensor(tr, i);
            if (!t->encoder) continue;
            memcpy(t->param, in->enc_init + off, t->n * sizeof(float));
            off += t->n;
        }
    } else {
        rc = init_encoder(c, pm, tr, (uint64_t)fz->seed, !strcmp(c->training.lemotif.init, "scratch"), err);
    }
    float median = intensity_median(&in->train->ds);
    /* every soup member starts its heads from the same draw (the unshifted seed), as it starts
     * its encoder from the same weights: averaging heads that began from different random
     * draws averages unrelated hidden units. Only data order and dropout differ. */
    if (!rc) heads_init(tr, in->train, (uint64_t)c->training.lemotif.frozen.seed, median);
    pl_stage st;
    memset(&st, 0, sizeof st);
    st.train = in->train;
    st.val = in->val;
    st.int_dev = in->int_dev;
    st.fold = in->fold;
    st.hidden_dropout = pm->hidden_dropout;
    st.attn_dropout = pm->attn_dropout;
    memset(last, 0, sizeof *last);
    const affect_stage_config *scs[2] = {fz, uf};
    const char *const base[2] = {"lemotif.frozen", "lemotif.unfrozen"};
    char names[2][40]; /* soup member i > 0: "soup/<i>/lemotif.frozen", its folder under the run */
    for (int k = 0; k < 2; k++) {
        if (seed_offset > 0) snprintf(names[k], sizeof names[k], "soup/%d/%s", seed_offset, base[k]);
        else snprintf(names[k], sizeof names[k], "%s", base[k]);
    }
    for (int k = 0; k < 2 && !rc; k++) {
        free(pw);
        pw = NULL;
        if ((rc = pos_weights(in->train, (float)scs[k]->pos_weight_cap, &pw, err))) break;
        st.name = names[k];
        st.index = 2 + k;
        st.sc = scs[k];
        st.freeze = k == 0;
        st.pos_weight = pw;
        st.w_int = (float)scs[k]->intensity_loss_weight;
        st.w_ms = (float)scs[k]->metric_loss_weight;
        if ((rc = pl_path(st.dir, sizeof st.dir, err, "%s/%s", dir, base[k]))) break;
        if (k == 1 && (rc = pl_reset_optimizer(tr, err))) break; /* a new optimizer for the new phase */
        pl_stage_result r;
        if ((rc = pl_stage_run(run, tr, &st, &r, err))) {
            last->diverged = r.diverged;
            break;
        }
        if (scs[k]->num_epochs > 0) *last = r;
        if (r.interrupted) {
            last->interrupted = r.interrupted;
            break;
        }
    }
    free(pw);
    if (rc) {
        affect_trainer_free(tr);
        return rc;
    }
    *out_tr = tr;
    return 0;
}

/* Stage 2, or with training.lemotif.soup = N > 1 a "model soup" (Wortsman et al. 2022): N
 * stage-2 runs from the same starting encoder with stage seeds seed, seed+1, ..., whose
 * weights are averaged into one model. Runs that start from one encoder stay in one basin, so
 * the average is a better model at no inference cost (two ensembled encoders would double
 * it). Member i > 0 keeps its stage folders under <dir>/soup/<i>/ (resumable like any stage). */
static int run_stage2(pl_run *run, const pl_model *pm, const s2_in *in, affect_trainer **out_tr,
                      pl_stage_result *last, affect_error *err) {
    int N = run->cfg->training.lemotif.soup > 1 ? run->cfg->training.lemotif.soup : 1;
    affect_trainer *first = NULL;
    double *sum = NULL;
    float *buf = NULL;
    size_t np = 0;
    int rc = 0;
    double *member = calloc((size_t)N, sizeof *member);
    if (!member) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (int i = 0; i < N && !rc; i++) {
        char dir[PL_PATH];
        if (i == 0) rc = pl_path(dir, sizeof dir, err, "%s", in->dir);
        else rc = pl_path(dir, sizeof dir, err, "%s/soup/%d", in->dir, i);
        if (rc) break;
        if (N > 1)
            pl_note(run, NULL, "soup member %d of %d (stage-2 seeds +%d)%s", i + 1, N, i,
                    in->fold >= 0 ? " for this fold" : "");
        affect_trainer *tr = NULL;
        pl_stage_result r;
        memset(&r, 0, sizeof r);
        rc = run_stage2_one(run, pm, in, i, dir, &tr, &r, err);
        if (i == 0 || rc) *last = r;
        if (rc) break;
        if (r.interrupted) {
            last->interrupted = r.interrupted;
            affect_trainer_free(tr);
            break;
        }
        member[i] = r.best_metric;
        if (N == 1) {
            first = tr;
            break;
        }
        if (i == 0) {
            first = tr;
            np = pl_param_count(tr);
            sum = calloc(np, sizeof *sum);
            buf = malloc(np * sizeof *buf);
            if (!sum || !buf) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for the soup");
        }
        if (!rc) {
            pl_params_get(tr, buf);
            for (size_t k = 0; k < np; k++) sum[k] += buf[k];
        }
        if (i > 0) affect_trainer_free(tr);
    }
    if (!rc && !last->interrupted && N > 1) {
        for (size_t k = 0; k < np; k++) buf[k] = (float)(sum[k] / N);
        pl_params_set(first, buf);
        /* the soup's own validation score beside its members' */
        size_t n = in->val->ds.n, L = (size_t)in->val->ds.num_labels;
        double *P = malloc((n ? n : 1) * L * sizeof *P), macro = NAN, micro = NAN;
        if (!P) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        if (!rc && n) rc = pl_predict(run, first, NULL, in->val, run->eval_batch, P, NULL, err);
        if (!rc && n) rc = pl_auc_of(in->val, P, &macro, &micro, err);
        free(P);
        if (!rc) {
            char ms[256];
            int at = 0;
            for (int i = 0; i < N && at < 200; i++) at += snprintf(ms + at, sizeof ms - (size_t)at, "%s%.4f", i ? ", " : "", member[i]);
            pl_note(run, NULL, "soup of %d stage-2 runs: validation macro AUC %.4f (members' best: %s)", N, macro, ms);
        }
    }
    free(member);
    free(sum);
    free(buf);
    if (rc || last->interrupted) {
        affect_trainer_free(first);
        first = NULL;
    }
    *out_tr = first;
    return rc;
}

/* ---- the final files ------------------------------------------------------------------------ */

/* Mean milliseconds per text of the exported model at batch 1 on one thread: the figure a
 * journal app running one entry at a time sees. */
double pl_measure_latency(const char *model_dir, const affect_dataset *texts, int max_length, int threads) {
    affect_model *m = NULL;
    affect_error e = {0};
    if (affect_model_load_dir(&m, model_dir, &e)) return NAN;
    affect_native_init(1);
    int L = affect_model_num_labels(m);
    float *probs = malloc((size_t)(L > 0 ? L : 1) * sizeof *probs), inten;
    size_t n = texts->n < 100 ? texts->n : 100;
    double total = 0;
    size_t done = 0;
    for (int pass = 0; pass < 2 && probs; pass++) { /* pass 0 warms caches up */
        for (size_t i = 0; i < n; i++) {
            double t0 = pl_now();
            affect_batch b;
            const char *tx = texts->text[i];
            size_t len = texts->text_len[i];
            if (affect_tokenizer_encode_batch(affect_model_tokenizer(m), &tx, &len, 1, max_length, 0, &b, &e)) break;
            int rc = affect_model_predict(m, &b, probs, affect_model_has_intensity(m) ? &inten : NULL, &e);
            affect_batch_free(&b);
            if (rc) break;
            if (pass == 1) {
                total += pl_now() - t0;
                done++;
            }
        }
    }
    free(probs);
    affect_model_free(m);
    affect_native_init(threads);
    return done ? 1000.0 * total / (double)done : NAN;
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* ---- cross-validation ------------------------------------------------------------------------ */

static double mean_of(const double *v, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return n ? s / n : NAN;
}

/* Sample standard deviation (ddof 1), the usual "mean ± sd" over folds. */
static double sd_of(const double *v, int n) {
    if (n < 2) return NAN;
    double m = mean_of(v, n), s = 0;
    for (int i = 0; i < n; i++) s += (v[i] - m) * (v[i] - m);
    return sqrt(s / (n - 1));
}

/* "name":{"mean":m,"sd":s,"per_fold":[...]} (null where undefined). */
static void cv_stat(json_buf *cv, const char *name, const double *v, int K) {
    double mu = mean_of(v, K), sd = sd_of(v, K);
    json_buf_printf(cv, "\"%s\":{\"mean\":", name);
    json_buf_printf(cv, isfinite(mu) ? "%.17g" : "null", mu);
    json_buf_printf(cv, ",\"sd\":");
    json_buf_printf(cv, isfinite(sd) ? "%.17g" : "null", sd);
    json_buf_printf(cv, ",\"per_fold\":[");
    for (int k = 0; k < K; k++) json_buf_printf(cv, isfinite(v[k]) ? "%s%.17g" : "%snull", k ? "," : "", v[k]);
    json_buf_printf(cv, "]}");
}

static int run_folds(pl_run *run, const pl_model *pm, pl_data *d, const affect_tokenizer *tok, const float *enc_init,
                     int K, json_buf *cv, affect_pipeline_result *res, affect_error *err) {
    const affect_run_config *c = run->cfg;
    size_t n = d->lem.ds.n;
    int32_t *fold = malloc((n ? n : 1) * sizeof *fold), *sub = malloc((n ? n : 1) * sizeof *sub);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    double *macro = calloc((size_t)K, sizeof *macro), *micro = calloc((size_t)K, sizeof *micro);
    double *pear = calloc((size_t)K, sizeof *pear);
    double *emacro = calloc((size_t)K, sizeof *emacro), *emicro = calloc((size_t)K, sizeof *emicro);
    double *epear = calloc((size_t)K, sizeof *epear);
    int lexical = c->training.lemotif.lexical.weight > 0 || c->training.lemotif.lexical.intensity_weight > 0;
    int rc = 0;
    if (!fold || !sub || !idx || !macro || !micro || !pear || !emacro || !emicro || !epear)
        rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for folds");
    if (!rc)
        rc = affect_split_kfold(d->lem.ds.labels, d->lem.ds.label_mask, n, d->lem.ds.num_labels, K,
                                (uint64_t)c->data.lemotif_split.seed, fold, err);
    double vfrac = c->data.lemotif_split.val / (c->data.lemotif_split.train + c->data.lemotif_split.val);
    for (int k = 0; k < K && !rc; k++) {
        pl_set rest = {0}, test = {0}, tr_set = {0}, val = {0}, s2 = {0};
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (fold[i] != k) idx[m++] = i;
        rc = pl_set_subset(&d->lem, idx, m, &rest, err);
        if (!rc) rc = split_sets(&d->lem, fold, k, &test, err);
        double fr[2] = {1.0 - vfrac, vfrac};
        if (!rc)
            rc = affect_split_stratified(rest.ds.labels, rest.ds.label_mask, rest.ds.n, rest.ds.num_labels, fr, 2,
                                         (uint64_t)c->data.lemotif_split.seed + 1000 + (uint64_t)k, sub, err);
        if (!rc) rc = split_sets(&rest, sub, 0, &tr_set, err);
        if (!rc) rc = split_sets(&rest, sub, 1, &val, err);
        if (!rc) rc = pl_set_concat(&tr_set, &d->emo_train, &s2, err);
        s2_in in;
        memset(&in, 0, sizeof in);
        in.train = &s2;
        in.val = &val;
        in.int_dev = d->emo_val.ds.n ? &d->emo_val : &d->emo_dev;
        in.enc_init = enc_init;
        in.fold = k;
        if (!rc) rc = pl_path(in.dir, sizeof in.dir, err, "%s/folds/%d", run->dir, k);
        affect_trainer *tr = NULL;
        pl_stage_result last;
        if (!rc) {
            pl_note(run, NULL, "fold %d of %d: %zu train, %zu val, %zu test rows", k + 1, K, tr_set.ds.n, val.ds.n,
                    test.ds.n);
            rc = run_stage2(run, pm, &in, &tr, &last, err);
            if (rc) res->diverged = last.diverged;
        }
        if (!rc && last.interrupted) res->interrupted = last.interrupted;
        if (!rc && !res->interrupted) {
            size_t nt = test.ds.n, L = (size_t)test.ds.num_labels;
            double *P = malloc((nt ? nt : 1) * L * sizeof *P);
            double *I = malloc((d->emo_dev.ds.n ? d->emo_dev.ds.n : 1) * sizeof *I);
            affect_lexical lx;
            memset(&lx, 0, sizeof lx);
            if (!P || !I) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
            if (!rc && lexical) {
                rc = pl_predict(run, tr, NULL, &test, run->eval_batch, P, NULL, err);
                if (!rc) rc = pl_auc_of(&test, P, &emacro[k], &emicro[k], err);
                if (!rc) rc = pl_predict(run, tr, NULL, &d->emo_dev, run->eval_batch, NULL, I, err);
                if (!rc) epear[k] = pl_pearson_groups(&d->emo_dev, I, NULL);
                double w;
                if (!rc) rc = pl_fit_lexical(run, tok, &s2, &d->go_train, &lx, err);
                if (!rc) rc = pl_lexical_select_weight(run, tr, &lx, &val, &w, err);
                if (!rc) rc = pl_lexical_match_prior(run, tr, &lx, &s2, &val, err);
                if (!rc) rc = pl_lexical_select_intensity(run, tr, &lx, &d->emo_val, &w, err);
            }
            if (!rc) rc = pl_predict(run, tr, &lx, &test, run->eval_batch, P, NULL, err);
            if (!rc) rc = pl_predict(run, tr, &lx, &d->emo_dev, run->eval_batch, NULL, I, err);
            if (!rc) rc = pl_auc_of(&test, P, &macro[k], &micro[k], err);
            if (!rc) {
                pear[k] = pl_pearson_groups(&d->emo_dev, I, NULL);
                if (lexical)
                    pl_note(run, NULL, "fold %d: test macro AUC %.4f, micro AUC %.4f, intensity r %.4f (encoder alone "
                            "%.4f, %.4f, %.4f)", k + 1, macro[k], micro[k], pear[k], emacro[k], emicro[k], epear[k]);
                else
                    pl_note(run, NULL, "fold %d: test macro AUC %.4f, micro AUC %.4f, intensity r %.4f", k + 1, macro[k],
                            micro[k], pear[k]);
            }
            affect_lexical_free(&lx);
            free(P);
            free(I);
        }
        affect_trainer_free(tr);
        pl_set_free(&rest);
        pl_set_free(&test);
        pl_set_free(&tr_set);
        pl_set_free(&val);
        pl_set_free(&s2);
        if (res->interrupted) break;
    }
    if (!rc && !res->interrupted) {
        res->cv_macro_mean = mean_of(macro, K);
        res->cv_macro_sd = sd_of(macro, K);
        res->cv_micro_mean = mean_of(micro, K);
        res->cv_micro_sd = sd_of(micro, K);
        json_buf_printf(cv, "\"cv\":{\"folds\":%d,\"sd_ddof\":1,", K);
        cv_stat(cv, "macro_auc", macro, K);
        json_buf_printf(cv, ",");
        cv_stat(cv, "micro_auc", micro, K);
        json_buf_printf(cv, ",");
        cv_stat(cv, "intensity_pearson", pear, K);
        if (lexical) {
            json_buf_printf(cv, ",\"encoder_alone\":{");
            cv_stat(cv, "macro_auc", emacro, K);
            json_buf_printf(cv, ",");
            cv_stat(cv, "micro_auc", emicro, K);
            json_buf_printf(cv, ",");
            cv_stat(cv, "intensity_pearson", epear, K);
            json_buf_printf(cv, "}");
        }
        json_buf_printf(cv, "}");
    }
    free(fold);
    free(sub);
    free(idx);
    free(macro);
    free(micro);
    free(pear);
    free(emacro);
    free(emicro);
    free(epear);
    return rc;
}

/* ---- the whole run ---------------------------------------------------------------------------- */

static int run_dir_has_run(const char *dir) {
    char p[PL_PATH];
    const char *names[] = {"config.yaml", "train_log.jsonl", "final_model"};
    for (size_t i = 0; i < 3; i++) {
        if (snprintf(p, sizeof p, "%s/%s", dir, names[i]) >= (int)sizeof p) return 0;
        if (pl_exists(p)) return 1;
    }
    return 0;
}

/* --resume continues the run the folder's config.yaml describes; a config edited since would
 * silently mix two runs, so any difference in the resolved settings is refused. */
static int same_config(const affect_run_config *c, const char *saved_path, affect_error *err) {
    char *now = NULL, *was = NULL;
    size_t nl = 0, wl = 0;
    int rc = affect_run_config_to_yaml(c, &now, &nl, err);
    if (!rc) rc = affect_read_file(saved_path, &was, &wl, err);
    /* the leading comment names the file it came from: not a setting */
    size_t a = 0, b = 0, line = 1;
    while (!rc && a < nl && now[a] == '#') {
        while (a < nl && now[a] != '\n') a++;
        a += a < nl;
    }
    while (!rc && b < wl && was[b] == '#') {
        while (b < wl && was[b] != '\n') b++;
        b += b < wl;
        line++;
    }
    if (!rc && (nl - a != wl - b || memcmp(now + a, was + b, nl - a))) {
        size_t i = 0;
        while (a + i < nl && b + i < wl && now[a + i] == was[b + i]) line += now[a + i++] == '\n';
        rc = affect_fail(err, AFFECT_EARG,
                         "--resume: the config differs from the run's %s (first difference at its line %zu); resume "
                         "with the same settings, or start a new run folder",
                         saved_path, line);
    }
    free(now);
    free(was);
    return rc;
}

int affect_pipeline_run(const affect_pipeline_opts *opts, affect_pipeline_result *res, affect_error *err) {
    memset(res, 0, sizeof *res);
    res->test_macro_auc = res->test_micro_auc = res->pearson_mean = NAN;
    res->cv_macro_mean = res->cv_macro_sd = res->cv_micro_mean = res->cv_micro_sd = NAN;
    double t0 = pl_now();
    affect_run_config cfg;
    int rc = affect_run_config_load(opts->config_path, &cfg, err);
    if (rc) return rc;
    const affect_run_config *c = &cfg;
    pl_run run;
    memset(&run, 0, sizeof run);
    run.cfg = c;
    run.opts = opts;
    run.eval_batch = c->evaluation.eval_batch_size;
    run.intensity_weight_chosen = NAN;
    run.weight_chosen = NAN;
    const char *env = getenv("AFFECT_TEST_SLEEP_MS");
    run.sleep_ms = env ? atoi(env) : 0;
    env = getenv("AFFECT_TEST_NAN_AT_STEP");
    run.nan_at_step = env ? atoll(env) : 0;
    pl_data d;
    memset(&d, 0, sizeof d);
    pl_model pm;
    memset(&pm, 0, sizeof pm);
    affect_tokenizer *tok = NULL;
    affect_trainer *tr0 = NULL, *tr1 = NULL, *tr2 = NULL;
    float *enc_init = NULL, *pw = NULL;
    double *P = NULL, *VP = NULL, *I = NULL, *pear = NULL;
    json_buf cv = {0}, extra = {0};
    affect_lexical lx;
    memset(&lx, 0, sizeof lx);
    int K = opts->folds >= 0 ? opts->folds : c->data.folds;

    if ((rc = affect_run_config_resolve(&cfg, AFFECT_RESOLVE_DATA | AFFECT_RESOLVE_MODEL, err))) goto out;
    if (K == 1) {
        rc = affect_fail(err, AFFECT_EARG, "--folds must be 0 (no cross-validation) or at least 2");
        goto out;
    }
    if (c->model.scratch.enabled && !c->model.scratch.vocab.lowercase) {
        rc = affect_fail(err, AFFECT_EUNSUPPORTED,
                         "model.scratch.vocab.lowercase: only lowercased scratch vocabularies are available; set it to true");
        goto out;
    }
    if ((rc = pl_path(run.dir, sizeof run.dir, err, "%s", c->paths.artifacts_dir))) goto out;
    if ((rc = pl_path(res->run_dir, sizeof res->run_dir, err, "%s", run.dir))) goto out;
    if (!opts->check_only && !opts->resume && run_dir_has_run(run.dir)) {
        rc = affect_fail(err, AFFECT_EARG,
                         "%s already holds a run: pass --resume to continue it, or remove the folder (or change "
                         "paths.artifacts_dir) to start over",
                         run.dir);
        goto out;
    }
    if (opts->resume && !run_dir_has_run(run.dir)) {
        rc = affect_fail(err, AFFECT_ENOTFOUND, "--resume: %s holds no run to continue", run.dir);
        goto out;
    }
    affect_native_init(c->runtime.threads);
    int stage1 = c->training.goemotions.enabled && c->training.goemotions.num_epochs > 0;
    int stage0 = c->training.pretrain_mlm.enabled && c->training.pretrain_mlm.num_epochs > 0;
    pm.scratch = c->model.scratch.enabled;
    if ((rc = load_data(c, stage0 || stage1 || pm.scratch, &d, err))) goto out;
    if ((rc = split_stage2(c, &d, err))) goto out;
    pl_note(&run, NULL, "data: GoEmotions %zu train / %zu dev; stage 2 %zu rows -> %zu train / %zu val / %zu test; "
                        "EmoInt %zu train (%zu held out for validation) / %zu dev",
            d.go_train.ds.n, d.go_val.ds.n, d.lem.ds.n, d.lem_train.ds.n, d.lem_val.ds.n, d.lem_test.ds.n,
            d.emo_train.ds.n, d.emo_val.ds.n, d.emo_dev.ds.n);
    if (opts->check_only) {
        if (!pm.scratch) {
            affect_model_config mc;
            if ((rc = pl_model_config_dir(c->resolved.model_dir, &mc, err))) goto out;
            pl_note(&run, NULL, "model: %s (%s, hidden %d, %d layers)", c->model.name, mc.model_type, mc.hidden, mc.layers);
        } else {
            pl_note(&run, NULL, "model: from scratch (%s, hidden %d, %d layers, vocabulary %d)", c->model.scratch.family,
                    c->model.scratch.hidden, c->model.scratch.layers, c->model.scratch.vocab.size);
        }
        pl_note(&run, NULL, "check passed: config, data and model are usable");
        goto out;
    }

    /* the run folder */
    char path[PL_PATH];
    if ((rc = pl_mkdirs(run.dir, err))) goto out;
    if ((rc = pl_path(path, sizeof path, err, "%s/config.yaml", run.dir))) goto out;
    if (!opts->resume && (rc = affect_run_config_write(c, path, err))) goto out;
    if (opts->resume && (rc = same_config(c, path, err))) goto out;
    if ((rc = pl_path(path, sizeof path, err, "%s/train_log.jsonl", run.dir))) goto out;
    if (!(run.log = fopen(path, "a"))) {
        rc = affect_fail(err, AFFECT_EIO, "cannot open %s for appending", path);
        goto out;
    }

    /* tokenizer: learned from the training texts for a scratch encoder, else the model's */
    if (pm.scratch) {
        if ((rc = pl_path(pm.tok_dir, sizeof pm.tok_dir, err, "%s/vocab", run.dir))) goto out;
        if ((rc = pl_path(path, sizeof path, err, "%s/tokenizer.json", pm.tok_dir))) goto out;
        if (!pl_exists(path)) {
            size_t nt = d.go_train.ds.n + d.lem_train.ds.n, k = 0;
            const char **tx = malloc((nt ? nt : 1) * sizeof *tx);
            size_t *tl = malloc((nt ? nt : 1) * sizeof *tl);
            if (!tx || !tl) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
            for (size_t i = 0; !rc && i < d.go_train.ds.n; i++, k++) {
                tx[k] = d.go_train.ds.text[i];
                tl[k] = d.go_train.ds.text_len[i];
            }
            for (size_t i = 0; !rc && i < d.lem_train.ds.n; i++, k++) {
                tx[k] = d.lem_train.ds.text[i];
                tl[k] = d.lem_train.ds.text_len[i];
            }
            double tv = pl_now();
            if (!rc)
                rc = affect_vocab_train(tx, tl, k, c->model.scratch.vocab.size, c->model.scratch.vocab.min_frequency, -1,
                                        pm.tok_dir, err);
            free(tx);
            free(tl);
            if (rc) goto out;
            pl_note(&run, NULL, "vocabulary: learned from %zu training texts (GoEmotions + stage-2 train) in %.1f s",
                    k, pl_now() - tv);
        }
        if ((rc = affect_tokenizer_load_dir(&tok, pm.tok_dir, c->model.scratch.family, err))) goto out;
        if ((rc = pl_scratch_config(c, affect_tokenizer_vocab_size(tok), affect_tokenizer_pad_id(tok), &pm.cfg, err)))
            goto out;
        pm.hidden_dropout = pm.attn_dropout = (float)c->model.scratch.dropout;
    } else {
        if ((rc = pl_path(pm.tok_dir, sizeof pm.tok_dir, err, "%s", c->resolved.model_dir))) goto out;
        if ((rc = pl_model_config_dir(c->resolved.model_dir, &pm.cfg, err))) goto out;
        if ((rc = affect_tokenizer_load_dir(&tok, pm.tok_dir, pm.cfg.model_type, err))) goto out;
        pm.hidden_dropout = pm.cfg.hidden_dropout;
        pm.attn_dropout = pm.cfg.attn_dropout;
    }
    run.pad_id = affect_tokenizer_pad_id(tok);
    int maxlen = c->model.max_length, cap = affect_encoder_max_length(&pm.cfg);
    if (maxlen > cap) {
        pl_note(&run, NULL, "model.max_length %d exceeds the encoder's %d positions: using %d", maxlen, cap, cap);
        maxlen = cap;
    }
    {
        pl_set *sets[] = {&d.go_train, &d.go_val, &d.lem,     &d.lem_train, &d.lem_val,
                          &d.lem_test, &d.emo_train, &d.emo_dev, &d.emo_val};
        for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
            if ((rc = pl_set_tokenize(sets[i], tok, maxlen, err))) goto out;
    }
    if ((rc = pl_set_concat(&d.lem_train, &d.emo_train, &d.s2_train, err))) goto out;

    /* stage 0: masked-LM pretraining on the training texts */
    int init_stage1 = !strcmp(c->training.lemotif.init, "stage1");
    if (stage0 && init_stage1) {
        pl_stage_result r;
        if ((rc = run_stage0(&run, &pm, &d, tok, &tr0, &r, err))) {
            res->diverged = r.diverged;
            goto out;
        }
        if ((res->interrupted = r.interrupted)) goto out;
    } else if (stage0) {
        pl_note(&run, NULL, "training.pretrain_mlm is skipped: training.lemotif.init is '%s', so no later stage would "
                            "start from its encoder", c->training.lemotif.init);
    }

    /* stage 1: GoEmotions */
    if (stage1) {
        const affect_stage_config *g = &c->training.goemotions;
        if ((rc = affect_trainer_new(&tr1, &pm.cfg, d.go_train.ds.num_labels, err))) goto out;
        if ((rc = init_encoder(c, &pm, tr1, (uint64_t)g->seed, 0, err))) goto out;
        if (tr0) pl_copy_encoder(tr1, tr0);
        heads_init(tr1, &d.go_train, (uint64_t)g->seed, 0.0f);
        if ((rc = pos_weights(&d.go_train, (float)g->pos_weight_cap, &pw, err))) goto out;
        pl_stage st;
        memset(&st, 0, sizeof st);
        st.name = "goemotions";
        st.index = 1;
        st.fold = -1;
        st.sc = g;
        st.train = &d.go_train;
        st.val = &d.go_val;
        st.pos_weight = pw;
        st.hidden_dropout = pm.hidden_dropout;
        st.attn_dropout = pm.attn_dropout;
        if ((rc = pl_path(st.dir, sizeof st.dir, err, "%s/goemotions", run.dir))) goto out;
        pl_stage_result r;
        rc = pl_stage_run(&run, tr1, &st, &r, err);
        if (rc) {
            res->diverged = r.diverged;
            goto out;
        }
        if ((res->interrupted = r.interrupted)) goto out;
    } else if (init_stage1) {
        pl_note(&run, NULL, "training.goemotions is off: stage 2 starts from the %s encoder",
                pm.scratch ? "randomly initialised" : "pretrained");
    }

    /* the encoder stage 2 (and every CV fold) starts from */
    {
        affect_trainer *src = tr1 ? tr1 : tr0;
        affect_trainer *tmp = NULL;
        if (!init_stage1 || !src) {
            if ((rc = affect_trainer_new(&tmp, &pm.cfg, 1, err))) goto out;
            uint64_t seed = (uint64_t)(!strcmp(c->training.lemotif.init, "scratch") ? c->training.lemotif.frozen.seed
                                                                                     : c->training.goemotions.seed);
            if ((rc = init_encoder(c, &pm, tmp, seed, !strcmp(c->training.lemotif.init, "scratch"), err))) {
                affect_trainer_free(tmp);
                goto out;
            }
            src = tmp;
        }
        size_t n_enc = 0, nt = affect_trainer_num_tensors(src);
        for (size_t i = 0; i < nt; i++)
            if (affect_trainer_tensor(src, i)->encoder) n_enc += affect_trainer_tensor(src, i)->n;
        enc_init = malloc(n_enc * sizeof *enc_init);
        if (!enc_init) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        for (size_t i = 0, off = 0; !rc && i < nt; i++) {
            const affect_train_tensor *t = affect_trainer_tensor(src, i);
            if (!t->encoder) continue;
            memcpy(enc_init + off, t->param, t->n * sizeof(float));
            off += t->n;
        }
        affect_trainer_free(tmp);
        affect_trainer_free(tr1);
        affect_trainer_free(tr0);
        tr1 = tr0 = NULL;
        if (rc) goto out;
    }

    /* stage 2: Lemotif (+ EmoInt intensity), frozen then unfrozen */
    s2_in in;
    memset(&in, 0, sizeof in);
    in.train = &d.s2_train;
    in.val = &d.lem_val;
    in.int_dev = d.emo_val.ds.n ? &d.emo_val : &d.emo_dev;
    in.enc_init = enc_init;
    in.fold = -1;
    snprintf(in.dir, sizeof in.dir, "%s", run.dir);
    pl_stage_result last;
    rc = run_stage2(&run, &pm, &in, &tr2, &last, err);
    if (rc) {
        res->diverged = last.diverged;
        goto out;
    }
    if ((res->interrupted = last.interrupted)) goto out;

    /* final model, test predictions, metrics */
    {
        int L = d.lem.ds.num_labels;
        affect_export_info info;
        memset(&info, 0, sizeof info);
        info.label_names = (const char *const *)d.lem.ds.label_names;
        info.num_labels = L;
        info.max_length = maxlen;
        info.has_intensity = d.emo_train.ds.n > 0;
        info.intensity_median = intensity_median(&d.s2_train.ds);
        info.intensity_prefix = strcmp(c->data.emoint_input, "plain") != 0;
        info.pool = AFFECT_POOL_MEAN;
        if ((rc = pl_fit_lexical(&run, tok, &d.s2_train, &d.go_train, &lx, err))) goto out;
        if ((rc = pl_lexical_select_weight(&run, tr2, &lx, &d.lem_val, &run.weight_chosen, err))) goto out;
        if ((rc = pl_lexical_match_prior(&run, tr2, &lx, &d.s2_train, &d.lem_val, err))) goto out;
        if ((rc = pl_lexical_select_intensity(&run, tr2, &lx, &d.emo_val, &run.intensity_weight_chosen, err))) goto out;
        info.lexical = lx.V > 0 ? &lx : NULL;
        char fm[PL_PATH];
        if ((rc = pl_path(fm, sizeof fm, err, "%s/final_model", run.dir))) goto out;
        if ((rc = affect_model_export(fm, tr2, pm.tok_dir, &info, err))) goto out;
        size_t nt = d.lem_test.ds.n, nv = d.lem_val.ds.n, ne = d.emo_dev.ds.n;
        P = malloc((nt ? nt : 1) * (size_t)L * sizeof *P);
        VP = malloc((nv ? nv : 1) * (size_t)L * sizeof *VP);
        double *TI = malloc((nt ? nt : 1) * sizeof *TI);
        I = malloc((ne ? ne : 1) * sizeof *I);
        int G = d.emo_dev.ds.num_groups > 0 ? d.emo_dev.ds.num_groups : 1;
        pear = malloc((size_t)G * sizeof *pear);
        if (!P || !VP || !TI || !I || !pear) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        if (!rc && info.lexical) rc = pl_lexical_parts(&run, tr2, &lx, &d.lem_test, &d.emo_dev, P, I, &extra, err);
        if (!rc) rc = pl_predict(&run, tr2, info.lexical, &d.lem_test, run.eval_batch, P, TI, err);
        if (!rc) rc = pl_predict(&run, tr2, info.lexical, &d.lem_val, run.eval_batch, VP, NULL, err);
        if (!rc) rc = pl_predict(&run, tr2, info.lexical, &d.emo_dev, run.eval_batch, NULL, I, err);
        if (!rc) rc = pl_write_predictions(run.dir, &d.lem_test.ds, P, TI, err);
        free(TI);
        if (rc) goto out;
        res->pearson_mean = pl_pearson_groups(&d.emo_dev, I, pear);
        char msp[PL_PATH];
        if ((rc = pl_path(msp, sizeof msp, err, "%s/model.safetensors", fm))) goto out;
        char model_name[AFFECT_CFG_NAME + 64];
        int mn = c->model.name[0] ? snprintf(model_name, sizeof model_name, "%s", c->model.name)
                                  : snprintf(model_name, sizeof model_name, "scratch-%s-h%d-l%d", c->model.scratch.family,
                                             c->model.scratch.hidden, c->model.scratch.layers);
        if (mn < 0 || (size_t)mn >= sizeof model_name) model_name[sizeof model_name - 1] = 0;
        pl_metrics_in mi;
        memset(&mi, 0, sizeof mi);
        mi.model = model_name;
        mi.config = base_name(opts->config_path);
        mi.test = &d.lem_test.ds;
        mi.P = P;
        mi.val = &d.lem_val.ds;
        mi.VP = VP;
        mi.n_params = pl_param_count(tr2);
        mi.model_bytes = file_size(msp);
        mi.latency_ms = pl_measure_latency(fm, &d.lem_test.ds, maxlen, c->runtime.threads);
        mi.n_groups = d.emo_dev.ds.num_groups;
        mi.group_names = d.emo_dev.ds.group_names;
        mi.pearson = pear;
        mi.pearson_mean = res->pearson_mean;
        mi.n_intensity_rows = ne;
        mi.out_macro = &res->test_macro_auc;
        mi.out_micro = &res->test_micro_auc;
        mi.extra_json = extra.len ? extra.data : NULL;
        if ((rc = pl_write_metrics(run.dir, &mi, err))) goto out;
        pl_note(&run, NULL, "test split (%zu rows): macro AUC %.4f, micro AUC %.4f; EmoInt dev intensity r %.4f", nt,
                res->test_macro_auc, res->test_micro_auc, res->pearson_mean);

        if (K >= 2) {
            if ((rc = run_folds(&run, &pm, &d, tok, enc_init, K, &cv, res, err))) goto out;
            if (res->interrupted) goto out;
            if (extra.len) json_buf_printf(&extra, ",");
            json_buf_append(&extra, cv.data, cv.len);
            mi.extra_json = extra.data;
            if ((rc = pl_write_metrics(run.dir, &mi, err))) goto out;
            pl_note(&run, NULL, "%d-fold CV: macro AUC %.4f ± %.4f, micro AUC %.4f ± %.4f", K, res->cv_macro_mean,
                    res->cv_macro_sd, res->cv_micro_mean, res->cv_micro_sd);
        }
    }

out:
    res->seconds = pl_now() - t0;
    if (run.log) fclose(run.log);
    pl_batch_free(&run.batch);
    affect_lexical_free(&run.go_lexical);
    affect_trainer_free(tr0);
    affect_trainer_free(tr1);
    affect_trainer_free(tr2);
    affect_tokenizer_free(tok);
    free(enc_init);
    free(pw);
    free(P);
    free(VP);
    free(I);
    free(pear);
    json_buf_free(&cv);
    json_buf_free(&extra);
    affect_lexical_free(&lx);
    data_free(&d);
    affect_run_config_free(&cfg);
    return rc;
}
