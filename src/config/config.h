/* Training configuration: the research team's YAML files, read exactly as written, plus our
 * own keys (data, runtime, from-scratch encoders, a masked-LM stage) with defaults.
 * docs/config.md documents every key; config_schema.c is the single table of them.
 *
 * Lifecycle:
 *   affect_run_config c;
 *   if (affect_run_config_load("configs/minilm.yaml", &c, &err)) ...   // defaults + file, validated
 *   if (affect_run_config_resolve(&c, AFFECT_RESOLVE_DATA | AFFECT_RESOLVE_MODEL, &err)) ...
 *   ... c.training.lemotif.frozen.learning_rate, c.resolved.model_dir ...
 *   affect_run_config_write(&c, "artifacts/experiments/run/config.yaml", &err);  // every key
 *   affect_run_config_free(&c);
 *
 * What loading promises:
 *   - Numbers are numbers as users mean them: `3e-5`, `1e-4`, `.5`, `2` all read as numbers
 *     (not as strings, which is what a YAML 1.1 resolver would make of `3e-5`).
 *   - An unknown key is an error naming it, the file:line and the closest known key:
 *     "configs/x.yaml:7: unknown key 'learning_rat' in training.goemotions (did you mean 'learning_rate'?)".
 *   - A wrong type or an out-of-range value names the key and what was expected:
 *     "configs/x.yaml:7: training.goemotions.learning_rate: expected a number, got 'fast'".
 *   - training.lemotif.frozen / .unfrozen are *effective* stages: a key they do not set is
 *     taken from training.lemotif.common when common sets it, else from the stage's default.
 *     A trainer reads frozen / unfrozen only; common exists for the file's author.
 *   - The weights are NOT looked up by loading: only affect_run_config_resolve with
 *     AFFECT_RESOLVE_MODEL does that, so configs can be checked on a machine without them.
 */
#ifndef AFFECT_CONFIG_H
#define AFFECT_CONFIG_H
#include <stddef.h>
#include "affect.h"

#define AFFECT_CFG_NAME 256  /* bytes for names (hub ids, column names, enum values) */
#define AFFECT_CFG_PATH 1024 /* bytes for paths */

/* A YAML list of strings (data.custom.label_columns, data.custom.label_names). */
typedef struct affect_strlist {
    char **v;
    int n;
} affect_strlist;

/* One training stage. Not every field is meaningful in every stage; docs/config.md says which
 * section accepts which key (a key a section does not accept is an unknown key there). */
typedef struct affect_stage_config {
    int enabled;                      /* goemotions, pretrain_mlm: run the stage at all */
    double learning_rate;             /* peak learning rate (AdamW) */
    int train_batch_size;             /* rows per optimizer micro-batch */
    int eval_batch_size;              /* rows per evaluation batch */
    int num_epochs;                   /* passes over the training split */
    double weight_decay;              /* AdamW decoupled weight decay */
    int seed;                         /* shuffling, dropout, head initialisation */
    double warmup_ratio;              /* fraction of optimizer steps spent warming up */
    double label_smoothing_factor;    /* BCE targets become y(1-e) + e/2 */
    int early_stopping_patience;      /* evaluations without improvement before stopping */
    double early_stopping_threshold;  /* the least macro-AUC gain that counts as improvement */
    char lr_scheduler_type[16];       /* "linear", "cosine" or "constant" (after warmup) */
    double max_grad_norm;             /* global gradient-norm clip; 0 = no clipping */
    int gradient_accumulation_steps;  /* micro-batches per optimizer step */
    double pos_weight_cap;            /* BCE pos_weight = min(neg/pos, cap) per label */
    double intensity_loss_weight;     /* lemotif: weight of the L1 intensity loss */
    double metric_loss_weight;        /* lemotif: weight of the multi-similarity loss */
    double mlm_probability;           /* pretrain_mlm: fraction of tokens masked */
} affect_stage_config;

typedef struct affect_run_config {
    struct {
        char name[AFFECT_CFG_NAME];   /* folder or hub id; may be empty when scratch.enabled */
        int max_length;               /* tokens per text, specials included */
        struct {
            int enabled;              /* build a fresh encoder instead of loading model.name */
            char family[16];          /* "bert", "distilbert" or "roberta" (key names, layout) */
            int hidden, layers, heads, ffn;
            double dropout;
            struct {
                int size;             /* WordPiece vocabulary size (specials included) */
                int min_frequency;    /* a piece must occur this often to be kept */
                int lowercase;        /* lowercase + strip accents before learning / encoding */
            } vocab;
        } scratch;
    } model;
    struct {
        char artifacts_dir[AFFECT_CFG_PATH]; /* the run folder */
    } paths;
    struct {
        char dir[AFFECT_CFG_PATH];        /* "" = $AFFECT_DATA, else ./data, else ../shared/data */
        char goemotions[AFFECT_CFG_PATH]; /* folder, relative to the data dir unless absolute */
        char lemotif[AFFECT_CFG_PATH];    /* file, relative to the data dir unless absolute */
        char emoint[AFFECT_CFG_PATH];     /* folder, relative to the data dir unless absolute */
        char emoint_input[16];            /* "plain", "prefixed" ("<emotion>: <tweet>") or "both" */
        double emoint_val;                /* share of each EmoInt emotion's train rows held out for validation */
        struct {
            double train, val, test;      /* fractions, summing to 1 */
            int seed;
        } lemotif_split;
        int folds;                        /* 0: one split; K >= 2: K-fold cross-validation */
        int max_rows;                     /* 0: all; else at most this many rows per file read (CI-sized runs) */
        struct {                          /* the user's own stage-2 data (replaces Lemotif) */
            char path[AFFECT_CFG_PATH];   /* "" = not used */
            char format[16];              /* "auto", "csv", "tsv", "jsonl" */
            char text_column[AFFECT_CFG_NAME];
            char id_column[AFFECT_CFG_NAME];
            affect_strlist label_columns;
            char labels_column[AFFECT_CFG_NAME];
            char label_separator[16];
            affect_strlist label_names;
            char intensity_column[AFFECT_CFG_NAME];
            char group_column[AFFECT_CFG_NAME];
        } custom;
    } data;
    struct {
        int threads;                      /* 0 = all cores */
        int log_every;                    /* optimizer steps between train_log.jsonl lines */
        int checkpoint_every;             /* optimizer steps between resumable checkpoints (0: epoch ends only) */
    } runtime;
    struct {
        affect_stage_config pretrain_mlm; /* optional stage 0: masked LM on the training texts */
        affect_stage_config goemotions;   /* stage 1 */
        struct {
            char init[16];                /* "stage1", "pretrained" or "scratch" */
            int soup;                     /* stage-2 runs whose weights are averaged (1 = one run) */
            affect_stage_config common;   /* what the file's author wrote under common */
            affect_stage_config frozen;   /* effective: stage 2a, encoder frozen */
            affect_stage_config unfrozen; /* effective: stage 2b, everything trained */
            struct affect_lexical_config { /* the lexical model mixed into the emotion logits */
                double weight;            /* its share of each final logit, 0 (off) .. 1 */
                double c;                 /* inverse L2 strength of its logistic regressions */
                char class_weight[16];    /* "balanced" or "none" */
                double goemotions;        /* scale of the GoEmotions-lexical features in its regressions, 0 = none */
                double chars;             /* scale of the character n-gram features in its regressions, 0 = none */
                int chars_buckets;        /* hash buckets of those n-grams */
                int weight_select;        /* choose weight on the validation entries (macro AUC) */
                double bigrams;           /* scale of the token-bigram features in its regressions, 0 = none */
                int bigram_buckets;       /* hash buckets of those bigrams */
                double intensity_weight;  /* share of the intensity ridge in the intensity, 0 (off) .. 1 */
                double intensity_alpha;   /* its L2 strength (scikit-learn Ridge alpha) */
                double intensity_goemotions; /* scale of the GoEmotions-lexical features in the ridges, 0 = none */
                double intensity_chars;   /* scale of the character n-gram features in the ridges, 0 = none */
                int intensity_weight_select; /* choose intensity_weight on the EmoInt validation rows */
                int match_prior;          /* shift label biases so mean val probability = train prevalence */
            } lexical;
        } lemotif;
    } training;
    struct {
        int eval_batch_size;
    } evaluation;

    /* ---- filled by loading / resolving, never read from the file ---- */
    struct {
        char source[AFFECT_CFG_PATH];     /* the file it came from ("" for defaults only) */
        char data_dir[4096];              /* AFFECT_RESOLVE_DATA */
        char model_dir[4096];             /* AFFECT_RESOLVE_MODEL (empty when scratch) */
    } resolved;
    unsigned char given[256];             /* private: which schema keys the file set */
} affect_run_config;

/* Every key at its default (what docs/config.md lists). */
void affect_run_config_defaults(affect_run_config *c);

/* Defaults, then the YAML file on top, then validation. On failure *c is freed. */
int affect_run_config_load(const char *path, affect_run_config *c, affect_error *err);
/* Same from bytes; `name` is used in messages (file:line). */
int affect_run_config_parse(const char *name, const char *text, size_t len, affect_run_config *c, affect_error *err);
void affect_run_config_free(affect_run_config *c);

enum { AFFECT_RESOLVE_DATA = 1, AFFECT_RESOLVE_MODEL = 2 };

/* Finds what the run needs on disk. DATA: the data folder (data.dir, else $AFFECT_DATA, else
 * ./data, else ../shared/data). MODEL: model.name as a folder or a hub id in the Hugging Face
 * cache; absent -> AFFECT_ENOTFOUND naming the config, the id and `affect pull <id>`. A
 * from-scratch model (model.scratch.enabled) needs no weights. */
int affect_run_config_resolve(affect_run_config *c, unsigned what, affect_error *err);

/* A data file or folder as the config names it: data.<which> ("goemotions", "lemotif",
 * "emoint") joined to the resolved data dir unless absolute. Needs AFFECT_RESOLVE_DATA. */
int affect_run_config_data_path(const affect_run_config *c, const char *which, char *out, size_t len, affect_error *err);

/* The resolved config as YAML (block style, every key, defaults filled in); re-reading it
 * gives the same config. *out is malloc'd and NUL-terminated. */
int affect_run_config_to_yaml(const affect_run_config *c, char **out, size_t *len, affect_error *err);
/* Same, written atomically to `path` (temporary file, fsync, rename). */
int affect_run_config_write(const affect_run_config *c, const char *path, affect_error *err);

/* The schema, for documentation checks and tooling: the number of keys and the dotted path
 * of key i ("training.goemotions.learning_rate"). */
int affect_run_config_key_count(void);
const char *affect_run_config_key_path(int i, char *buf, size_t len);

#endif
