/*
 * `affect train CONFIG.yaml`: the two-stage EmotionModel pipeline, end to end, as a library
 * call (the CLI in src/cli/train.c only parses arguments, installs signal handlers and prints
 * the progress this reports).
 *
 *   stage 1  goemotions        encoder + 28-label head, full fine-tuning (pos_weight cap 50)
 *   stage 2a lemotif.frozen    encoder frozen, emotion (18 labels) + intensity heads trained;
 *                              EmoInt train rows (intensity target, no emotion target) mixed
 *                              into the batches with masks
 *   stage 2b lemotif.unfrozen  everything trained, starting from 2a's best
 *
 * Stage 2 starts from the stage-1 encoder (training.lemotif.init: stage1 | pretrained |
 * scratch). Every stage evaluates each epoch on its validation split (macro AUC), keeps the
 * best weights in <run>/<stage>/best/ and stops early by early_stopping_patience /
 * early_stopping_threshold. The run folder follows notes/runfolder.md: config.yaml,
 * train_log.jsonl, <stage>/{best,last}/, final_model/, predictions.csv, labels.csv,
 * analysis_metrics.json, every file written atomically (train_log.jsonl is appended line by
 * line and cut back to the last checkpoint on resume).
 *
 * Resume: a checkpoint goes to <run>/<stage>/last/ every runtime.checkpoint_every optimizer
 * steps, at each epoch end and when *stop_signal becomes nonzero. Its "extra" object holds
 * the stage, epoch, micro-batch position in the epoch, early-stopping state and the log's
 * length; epoch orders are pure functions of (seed, stage, epoch) (Philox), so a resumed run
 * takes the same batches with the same dropout streams and ends with the same weights, bit
 * for bit, as an uninterrupted one with the same seed and thread count.
 *
 * Test hooks (environment): AFFECT_TEST_SLEEP_MS=N sleeps N ms after every optimizer step
 * (makes a kill in mid-epoch easy to time); AFFECT_TEST_NAN_AT_STEP=N poisons the weights
 * before the Nth optimizer step of the run (counted over all stages), to test divergence
 * handling.
 */
#ifndef AFFECT_PIPELINE_H
#define AFFECT_PIPELINE_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

enum {
    AFFECT_PROGRESS_STEP = 0,  /* an optimizer step was taken */
    AFFECT_PROGRESS_EVAL = 1,  /* an epoch's evaluation finished */
    AFFECT_PROGRESS_NOTE = 2   /* a one-line message (stage start, data sizes, files written) */
};

/* What the pipeline tells its caller as it runs; pointers are valid during the call only. */
typedef struct affect_train_progress {
    int kind;                 /* AFFECT_PROGRESS_* */
    const char *stage;        /* "goemotions", "lemotif.frozen", ... (NULL for notes outside stages) */
    int fold;                 /* -1, or the cross-validation fold */
    int epoch, num_epochs;    /* 1-based epoch */
    int64_t step, total_steps;/* optimizer steps in this stage: done / planned */
    double loss, bce, l1, ms; /* STEP: mean loss of the step's micro-batches */
    double lr, grad_norm;
    double seq_per_s;         /* training rows per second over the last steps */
    double eta_s;             /* seconds left in this stage at the current speed */
    double val_macro_auc, val_micro_auc, val_pearson; /* EVAL (NaN when undefined) */
    double val_mlm_loss;                              /* EVAL of the masked-LM stage (else NaN) */
    int improved;             /* EVAL: a new best */
    int log_line;             /* STEP: this step was written to train_log.jsonl (every log_every) */
    const char *message;      /* NOTE */
} affect_train_progress;

typedef void (*affect_progress_fn)(void *user, const affect_train_progress *p);

typedef struct affect_pipeline_opts {
    const char *config_path;
    int resume;                           /* continue the run folder's last checkpoints */
    int folds;                            /* -1: data.folds from the config; 0: none; K >= 2 */
    int check_only;                       /* load config, data and model, then stop */
    volatile sig_atomic_t *stop_signal;   /* nonzero (the signal number): checkpoint and stop */
    affect_progress_fn progress;          /* may be NULL */
    void *user;
} affect_pipeline_opts;

typedef struct affect_pipeline_result {
    int interrupted;          /* the signal that stopped the run (checkpoint written), or 0 */
    int diverged;             /* 1: a non-finite loss/gradient stopped the run */
    char run_dir[1024];
    double test_macro_auc, test_micro_auc, pearson_mean; /* NaN when not computed */
    double cv_macro_mean, cv_macro_sd, cv_micro_mean, cv_micro_sd; /* NaN without folds */
    double seconds;           /* wall time of this invocation */
} affect_pipeline_result;

/* Runs the pipeline the config describes. Returns 0 also when interrupted by *stop_signal
 * (result->interrupted says so); errors are AFFECT_E* with a one-line message (a diverged
 * run sets result->diverged and names the stage and step). */
int affect_pipeline_run(const affect_pipeline_opts *opts, affect_pipeline_result *result,
                        affect_error *err);

#endif
