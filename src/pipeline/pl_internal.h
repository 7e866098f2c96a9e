/* What the pipeline's files share (not public): tokenized corpora, batches, the scratch
 * encoder, the stage loop and the run-folder writers. pipeline.c ties them together. */
#ifndef AFFECT_PIPELINE_INTERNAL_H
#define AFFECT_PIPELINE_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "affect.h"
#include "config/config.h"
#include "data/dataset.h"
#include "model/config.h"
#include "model/lexical.h"
#include "pipeline/pipeline.h"
#include "train/train_step.h"
#include "util/json.h"

#define PL_PATH 1400

/* A dataset with every row's token ids (special tokens included, truncated to max_length). */
typedef struct pl_set {
    affect_dataset ds;
    int32_t **ids; /* (n) malloc'd arrays; NULL until pl_set_tokenize */
    int *len;      /* (n) */
} pl_set;

void pl_set_free(pl_set *s);
/* Encodes every row once, so batches are only copies. */
int pl_set_tokenize(pl_set *s, const affect_tokenizer *tok, int max_length, affect_error *err);
/* Keeps at most `max_rows` rows (a seeded random sample, kept in file order); 0 = all. */
int pl_set_limit(pl_set *s, size_t max_rows, uint64_t seed, affect_error *err);
/* Mean ms per entry of the exported model at batch 1 on 1 thread (the first 100 texts, after a
 * warm-up pass), the latency a journaling app sees; NAN when it cannot be measured. Restores
 * `threads` afterwards. */
double pl_measure_latency(const char *model_dir, const affect_dataset *texts, int max_length, int threads);
/* Stage 2's rows (data.custom, else Lemotif), before any row limit or split. */
int pl_load_stage2(const affect_run_config *c, pl_set *out, affect_error *err);
/* The rows `rows[0..k)` of src as a new (tokenized, when src is) set. */
int pl_set_subset(const pl_set *src, const size_t *rows, size_t k, pl_set *out, affect_error *err);
/* The token ids of every row of srcs[0..k) (tokenized sets), without texts or targets (an
 * empty id and text per row): the corpus of the masked-LM stage, whose sets have different
 * label sets that no dataset could hold together. */
int pl_set_tokens_of(const pl_set *const *srcs, int k, pl_set *out, affect_error *err);
/* a's rows then b's (pl_dataset concat rules: b's rows without labels get label_mask 0). */
int pl_set_concat(const pl_set *a, const pl_set *b, pl_set *out, affect_error *err);

/* ---- batches (pl_batch.c) ---------------------------------------------------------------- */

/* One micro-batch padded to its longest row, with targets and masks, in reusable buffers. */
typedef struct pl_batch {
    affect_train_batch tb;
    int32_t *ids, *mask;
    float *labels, *intensity;
    uint8_t *label_row, *intensity_row;
    size_t cap_bt, cap_bl, cap_b;
} pl_batch;

void pl_batch_free(pl_batch *b);
/* Rows rows[0..B) of s; label smoothing eps maps targets y to y(1-eps)+eps/2. */
int pl_batch_build(pl_batch *b, const pl_set *s, const size_t *rows, int B, int32_t pad_id,
                   double label_smoothing, affect_error *err);

/* The order of epoch `epoch`: a Fisher-Yates shuffle of 0..n-1 from Philox words of
 * (seed, stream). Pure function of its arguments, so a resumed run gets the same order. */
void pl_epoch_order(size_t *perm, size_t n, uint64_t seed, uint64_t stream);

/* ---- the encoder (pl_model.c) ------------------------------------------------------------- */

/* The config of a from-scratch encoder (model.scratch) with the tokenizer's vocabulary. */
int pl_scratch_config(const affect_run_config *c, int vocab_size, int32_t pad_id,
                      affect_model_config *out, affect_error *err);
/* Hugging Face's _init_weights for a fresh encoder: Linear and Embedding weights
 * normal(0, 0.02), biases 0, the padding row of the word embeddings 0, LayerNorm 1 / 0. */
void pl_encoder_init_random(affect_trainer *tr, uint64_t seed);
/* Loads the pretrained encoder weights of a model folder into tr. */
int pl_encoder_load_dir(affect_trainer *tr, const char *dir, affect_error *err);
/* Reads a model folder's config.json. */
int pl_model_config_dir(const char *dir, affect_model_config *cfg, affect_error *err);
/* Copies every encoder tensor from src to dst (same encoder config). */
void pl_copy_encoder(affect_trainer *dst, const affect_trainer *src);
/* Zeroes AdamW moments and counters: a new optimizer over the same weights (a new
 * Hugging Face Trainer for the next phase). */
int pl_reset_optimizer(affect_trainer *tr, affect_error *err);
/* Copies all parameters out of / into a flat buffer of affect_trainer's arena size. */
size_t pl_param_count(const affect_trainer *tr);
void pl_params_get(const affect_trainer *tr, float *dst);
void pl_params_set(affect_trainer *tr, const float *src);

/* ---- files (pl_files.c) ------------------------------------------------------------------ */

int pl_mkdirs(const char *path, affect_error *err);
int pl_write_atomic(const char *path, const char *data, size_t len, affect_error *err);
int pl_exists(const char *path);
/* snprintf that fails instead of truncating. */
int pl_path(char *out, size_t len, affect_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* The current time as ISO 8601 with microseconds (local time, no zone, like Python's
 * datetime.now().isoformat()). */
void pl_timestamp(char *out, size_t len);
double pl_now(void);

/* ---- the stage loop (pl_stage.c) ---------------------------------------------------------- */

typedef struct pl_run pl_run;

typedef struct pl_stage {
    const char *name;              /* "goemotions", "lemotif.frozen", "lemotif.unfrozen" */
    int index;                     /* 1, 2, 3: mixes into seeds and shuffle streams */
    int fold;                      /* -1 or the CV fold */
    const affect_stage_config *sc;
    int freeze;
    const pl_set *train, *val;     /* val: rows with emotion targets */
    const pl_set *int_dev;         /* EmoInt dev (intensity Pearson), or NULL */
    const float *pos_weight;       /* (L) */
    float w_int, w_ms;
    float hidden_dropout, attn_dropout;
    const affect_mlm_opts *mlm;    /* non-NULL: a masked-LM stage (trainer from affect_trainer_new_mlm);
                                      val is then scored by its masked-LM loss, lower is better */
    char dir[PL_PATH];             /* <run>/<stage> (or <run>/folds/<k>/<stage>) */
} pl_stage;

/* What a finished stage reports. */
typedef struct pl_stage_result {
    double best_metric;            /* best validation macro AUC (masked-LM stage: minus the best validation
                                      loss), NaN if none was defined */
    int best_epoch, epochs_run;
    int interrupted, diverged;
} pl_stage_result;

/* Runs (or resumes, or skips when already done) one stage on `tr`; on return tr holds the
 * stage's best weights (unless interrupted/diverged). */
int pl_stage_run(pl_run *run, affect_trainer *tr, const pl_stage *st, pl_stage_result *res,
                 affect_error *err);
/* 1 if <dir>/done.json exists (the stage finished in an earlier invocation). */
int pl_stage_done(const pl_stage *st);

/* Eval-mode predictions of a set: probabilities (n,L) (NULL to skip) and intensity (n)
 * (NULL to skip), in doubles for the metrics; with a lexical model (may be NULL) mixed into
 * the emotion logits exactly as the exported model does. */
int pl_predict(pl_run *run, affect_trainer *tr, const affect_lexical *lx, const pl_set *s, int batch_size,
               double *probs, double *intensity, affect_error *err);
/* Mean Pearson r of predicted vs gold intensity over the groups (EmoInt emotions); r per
 * group into r_out (num_groups) when given. NaN when undefined. */
double pl_pearson_groups(const pl_set *s, const double *pred, double *r_out);

/* ---- the lexical model (pl_lexical.c) ------------------------------------------------------ */

/* Every special token the tokenizer has ([CLS], [SEP], [PAD], [UNK], <s>, ...; at most 8) into
 * special; *mask_id is [MASK] / <mask>, -1 when there is none. */
void pl_special_ids(const affect_tokenizer *tok, int32_t special[16], int *n_special, int32_t *mask_id);
/* training.lemotif.lexical fitted on stage-2 train s2 into lx (left empty when both weights
 * are 0). */
int pl_fit_lexical(pl_run *run, const affect_tokenizer *tok, const pl_set *s2, const pl_set *goemotions,
                   affect_lexical *lx, affect_error *err);
/* Each half of the mixed model alone on the test split and EmoInt dev, as analysis_metrics.json's
 * "lexical" member into out; P (test n,L) and I (emo_dev n) are scratch. */
int pl_lexical_parts(pl_run *run, affect_trainer *tr, const affect_lexical *lx, const pl_set *test,
                     const pl_set *emo_dev, double *P, double *I, json_buf *out, affect_error *err);
/* training.lemotif.lexical.match_prior: shifts each mixed label's lexical bias so the mixed
 * model's mean probability over the validation rows (their texts only, not their labels)
 * equals the label's prevalence in `train`. Why: averaging two models' log-odds keeps each
 * label's ranking but not its level, and micro AUC and the probabilities a user sees both
 * compare labels with each other. No-op when off or without a lexical model. */
int pl_lexical_match_prior(pl_run *run, affect_trainer *tr, affect_lexical *lx, const pl_set *train, const pl_set *val,
                           affect_error *err);
/* training.lemotif.lexical.intensity_weight_select: sets every fitted intensity model's mix
 * to the weight in 0, 0.05, ..., 1 that maximises the mean per-group Pearson r of the mixed
 * intensity on `val` (EmoInt rows held out of stage-2 training, data.emoint_val), computed
 * from the head alone and the ridge alone. Why: the two halves differ in quality from run to
 * run, and a weight chosen on EmoInt dev would be chosen on the reported test set. The choice
 * goes to *chosen (NAN when none was made). No-op when off, without intensity models or
 * without validation rows. */
int pl_lexical_select_intensity(pl_run *run, affect_trainer *tr, affect_lexical *lx, const pl_set *val, double *chosen,
                                affect_error *err);
/* With training.lemotif.lexical.weight_select: the lexical model's share of every mixed
 * emotion logit chosen on the validation entries `val` (0, 0.05, ..., 1; highest macro AUC of
 * the mix, ties to the configured weight's side), written into lx's mix and to *chosen (NAN
 * when none was made). Must run before pl_lexical_match_prior, whose shift depends on the mix. */
int pl_lexical_select_weight(pl_run *run, affect_trainer *tr, affect_lexical *lx, const pl_set *val, double *chosen,
                             affect_error *err);
/* Macro and micro AUC of probabilities P (n,L) against a set's labels. */
int pl_auc_of(const pl_set *test, const double *P, double *macro, double *micro, affect_error *err);

/* State shared by the stages of one invocation. */
struct pl_run {
    const affect_run_config *cfg;
    const affect_pipeline_opts *opts;
    char dir[PL_PATH];             /* the run folder */
    FILE *log;                     /* train_log.jsonl, append */
    int32_t pad_id;
    int eval_batch;
    int64_t global_steps;          /* optimizer steps taken in this invocation */
    int64_t nan_at_step;           /* test hook, 0 = off */
    int sleep_ms;                  /* test hook */
    pl_batch batch;
    affect_lexical go_lexical;     /* GoEmotions outputs for the intensity ridges, fitted once per
                                      invocation (lexical.intensity_goemotions); V 0 until then */
    double intensity_weight_chosen; /* the main run's pl_lexical_select_intensity choice, or NAN */
    double weight_chosen;           /* the main run's pl_lexical_select_weight choice, or NAN */
};

/* Appends one JSON line to train_log.jsonl (flushed). */
int pl_log_line(pl_run *run, const char *json, affect_error *err);
/* train_log.jsonl's length now (the resume point stored in checkpoints). */
long pl_log_size(pl_run *run);
void pl_note(pl_run *run, const char *stage, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
