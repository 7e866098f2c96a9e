/* The one table of configuration keys: where each lives, its type and range. Parsing,
 * writing back and the documentation check all walk this table, so a key added here is
 * accepted, written and (by test_config) required to be documented in docs/config.md. */
#include "config/config_internal.h"
#include "util/error.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define F(member) offsetof(affect_run_config, member), sizeof(((affect_run_config *)0)->member)
#define K(sec, name, type, member, lo, hi, choices) {sec, name, type, F(member), lo, hi, choices, 1, 0}

/* Which stage sections accept a stage key. */
enum { S_MLM = 1, S_GO = 2, S_LEM = 4, S_ALL = 7 };

#define ST(sec, base, sm, field, type, lo, hi, choices, accepted, flags)                                         \
    {sec, #field, type, offsetof(affect_run_config, base) + offsetof(affect_stage_config, field),                  \
     sizeof(((affect_stage_config *)0)->field), lo, hi, choices, ((accepted) & (sm)) != 0, flags}

#define SCHED "linear|cosine|constant"
/* H: kept under lemotif.common by the writer; I: frozen/unfrozen inherit it from common. */
#define H (CFG_F_HOME | CFG_F_INHERIT)
#define I CFG_F_INHERIT
#define STAGE(sec, base, sm)                                                                            \
    ST(sec, base, sm, enabled, CFG_BOOL, 0, 1, NULL, S_GO | S_MLM, 0),                                   \
    ST(sec, base, sm, learning_rate, CFG_FLOAT, 0, 10, NULL, S_ALL, I),                                  \
    ST(sec, base, sm, train_batch_size, CFG_INT, 1, 1 << 20, NULL, S_ALL, H),                            \
    ST(sec, base, sm, eval_batch_size, CFG_INT, 1, 1 << 20, NULL, S_GO | S_LEM, H),                      \
    ST(sec, base, sm, num_epochs, CFG_INT, 0, 1 << 20, NULL, S_ALL, I),                                  \
    ST(sec, base, sm, weight_decay, CFG_FLOAT, 0, 100, NULL, S_ALL, H),                                  \
    ST(sec, base, sm, seed, CFG_INT, 0, 2147483647.0, NULL, S_ALL, H),                                   \
    ST(sec, base, sm, warmup_ratio, CFG_FLOAT, 0, 1, NULL, S_ALL, I),                                    \
    ST(sec, base, sm, label_smoothing_factor, CFG_FLOAT, 0, 1, NULL, S_GO | S_LEM, H),                   \
    ST(sec, base, sm, early_stopping_patience, CFG_INT, 0, 1 << 20, NULL, S_GO | S_LEM, I),              \
    ST(sec, base, sm, early_stopping_threshold, CFG_FLOAT, 0, 1, NULL, S_GO | S_LEM, I),                 \
    ST(sec, base, sm, lr_scheduler_type, CFG_ENUM, 0, 0, SCHED, S_ALL, I),                               \
    ST(sec, base, sm, max_grad_norm, CFG_FLOAT, 0, 1e9, NULL, S_ALL, I),                                 \
    ST(sec, base, sm, gradient_accumulation_steps, CFG_INT, 1, 1 << 20, NULL, S_ALL, H),                 \
    ST(sec, base, sm, pos_weight_cap, CFG_FLOAT, 1, 1e9, NULL, S_GO | S_LEM, H),                         \
    ST(sec, base, sm, intensity_loss_weight, CFG_FLOAT, 0, 1e6, NULL, S_LEM, H),                         \
    ST(sec, base, sm, metric_loss_weight, CFG_FLOAT, 0, 1e6, NULL, S_LEM, H),                            \
    ST(sec, base, sm, mlm_probability, CFG_FLOAT, 0, 1, NULL, S_MLM, 0)

const cfg_key cfg_keys[] = {
    K("model", "name", CFG_STR, model.name, 0, 0, NULL),
    K("model", "max_length", CFG_INT, model.max_length, 2, 1 << 16, NULL),
    K("model.scratch", "enabled", CFG_BOOL, model.scratch.enabled, 0, 1, NULL),
    K("model.scratch", "family", CFG_ENUM, model.scratch.family, 0, 0, "bert|distilbert|roberta"),
    K("model.scratch", "hidden", CFG_INT, model.scratch.hidden, 1, 1 << 16, NULL),
    K("model.scratch", "layers", CFG_INT, model.scratch.layers, 1, 256, NULL),
    K("model.scratch", "heads", CFG_INT, model.scratch.heads, 1, 1024, NULL),
    K("model.scratch", "ffn", CFG_INT, model.scratch.ffn, 1, 1 << 20, NULL),
    K("model.scratch", "dropout", CFG_FLOAT, model.scratch.dropout, 0, 0.99, NULL),
    K("model.scratch.vocab", "size", CFG_INT, model.scratch.vocab.size, 16, 1 << 22, NULL),
    K("model.scratch.vocab", "min_frequency", CFG_INT, model.scratch.vocab.min_frequency, 1, 1 << 30, NULL),
    K("model.scratch.vocab", "lowercase", CFG_BOOL, model.scratch.vocab.lowercase, 0, 1, NULL),
    K("paths", "artifacts_dir", CFG_STR, paths.artifacts_dir, 0, 0, NULL),
    STAGE("training.goemotions", training.goemotions, S_GO),
    K("training.lemotif", "init", CFG_ENUM, training.lemotif.init, 0, 0, "stage1|pretrained|scratch"),
    K("training.lemotif", "soup", CFG_INT, training.lemotif.soup, 1, 16, NULL),
    STAGE("training.lemotif.common", training.lemotif.common, S_LEM),
    STAGE("training.lemotif.frozen", training.lemotif.frozen, S_LEM),
    STAGE("training.lemotif.unfrozen", training.lemotif.unfrozen, S_LEM),
    STAGE("training.pretrain_mlm", training.pretrain_mlm, S_MLM),
    K("training.lemotif.lexical", "weight", CFG_FLOAT, training.lemotif.lexical.weight, 0, 1, NULL),
    K("training.lemotif.lexical", "c", CFG_FLOAT, training.lemotif.lexical.c, 1e-6, 1e6, NULL),
    K("training.lemotif.lexical", "class_weight", CFG_ENUM, training.lemotif.lexical.class_weight, 0, 0, "balanced|none"),
    K("training.lemotif.lexical", "goemotions", CFG_FLOAT, training.lemotif.lexical.goemotions, 0, 100, NULL),
    K("training.lemotif.lexical", "chars", CFG_FLOAT, training.lemotif.lexical.chars, 0, 100, NULL),
    K("training.lemotif.lexical", "chars_buckets", CFG_INT, training.lemotif.lexical.chars_buckets, 16, 1 << 24, NULL),
    K("training.lemotif.lexical", "weight_select", CFG_BOOL, training.lemotif.lexical.weight_select, 0, 1, NULL),
    K("training.lemotif.lexical", "bigrams", CFG_FLOAT, training.lemotif.lexical.bigrams, 0, 100, NULL),
    K("training.lemotif.lexical", "bigram_buckets", CFG_INT, training.lemotif.lexical.bigram_buckets, 16, 1 << 24, NULL),
    K("training.lemotif.lexical", "intensity_weight", CFG_FLOAT, training.lemotif.lexical.intensity_weight, 0, 1, NULL),
    K("training.lemotif.lexical", "intensity_alpha", CFG_FLOAT, training.lemotif.lexical.intensity_alpha, 1e-6, 1e6, NULL),
    K("training.lemotif.lexical", "intensity_goemotions", CFG_FLOAT, training.lemotif.lexical.intensity_goemotions, 0, 100, NULL),
    K("training.lemotif.lexical", "intensity_chars", CFG_FLOAT, training.lemotif.lexical.intensity_chars, 0, 100, NULL),
    K("training.lemotif.lexical", "intensity_weight_select", CFG_BOOL, training.lemotif.lexical.intensity_weight_select, 0, 1, NULL),
    K("training.lemotif.lexical", "match_prior", CFG_BOOL, training.lemotif.lexical.match_prior, 0, 1, NULL),
    K("evaluation", "eval_batch_size", CFG_INT, evaluation.eval_batch_size, 1, 1 << 20, NULL),
    K("data", "dir", CFG_STR, data.dir, 0, 0, NULL),
    K("data", "goemotions", CFG_STR, data.goemotions, 0, 0, NULL),
    K("data", "lemotif", CFG_STR, data.lemotif, 0, 0, NULL),
    K("data", "emoint", CFG_STR, data.emoint, 0, 0, NULL),
    K("data", "emoint_input", CFG_ENUM, data.emoint_input, 0, 0, "plain|prefixed|both"),
    K("data", "emoint_val", CFG_FLOAT, data.emoint_val, 0, 0.5, NULL),
    K("data", "folds", CFG_INT, data.folds, 0, 1000, NULL),
    K("data", "max_rows", CFG_INT, data.max_rows, 0, 2147483647.0, NULL),
    K("data.lemotif_split", "train", CFG_FLOAT, data.lemotif_split.train, 0, 1, NULL),
    K("data.lemotif_split", "val", CFG_FLOAT, data.lemotif_split.val, 0, 1, NULL),
    K("data.lemotif_split", "test", CFG_FLOAT, data.lemotif_split.test, 0, 1, NULL),
    K("data.lemotif_split", "seed", CFG_INT, data.lemotif_split.seed, 0, 2147483647.0, NULL),
    K("data.custom", "path", CFG_STR, data.custom.path, 0, 0, NULL),
    K("data.custom", "format", CFG_ENUM, data.custom.format, 0, 0, "auto|csv|tsv|jsonl"),
    K("data.custom", "text_column", CFG_STR, data.custom.text_column, 0, 0, NULL),
    K("data.custom", "id_column", CFG_STR, data.custom.id_column, 0, 0, NULL),
    K("data.custom", "label_columns", CFG_LIST, data.custom.label_columns, 0, 0, NULL),
    K("data.custom", "labels_column", CFG_STR, data.custom.labels_column, 0, 0, NULL),
    K("data.custom", "label_separator", CFG_STR, data.custom.label_separator, 0, 0, NULL),
    K("data.custom", "label_names", CFG_LIST, data.custom.label_names, 0, 0, NULL),
    K("data.custom", "intensity_column", CFG_STR, data.custom.intensity_column, 0, 0, NULL),
    K("data.custom", "group_column", CFG_STR, data.custom.group_column, 0, 0, NULL),
    K("runtime", "threads", CFG_INT, runtime.threads, 0, 4096, NULL),
    K("runtime", "log_every", CFG_INT, runtime.log_every, 1, 1 << 30, NULL),
    K("runtime", "checkpoint_every", CFG_INT, runtime.checkpoint_every, 0, 1 << 30, NULL),
};
const int cfg_nkeys = (int)(sizeof cfg_keys / sizeof cfg_keys[0]);
_Static_assert(sizeof cfg_keys / sizeof cfg_keys[0] <= sizeof(((affect_run_config *)0)->given),
               "affect_run_config.given must have a flag per schema key");

const char *const cfg_sections[] = {
    "model", "model.scratch", "model.scratch.vocab", "paths", "training", "training.goemotions",
    "training.lemotif", "training.lemotif.common", "training.lemotif.frozen", "training.lemotif.unfrozen",
    "training.lemotif.lexical", "training.pretrain_mlm", "evaluation", "data", "data.lemotif_split", "data.custom", "runtime",
};
const int cfg_nsections = (int)(sizeof cfg_sections / sizeof cfg_sections[0]);

int cfg_find(const char *section, const char *name) {
    for (int i = 0; i < cfg_nkeys; i++)
        if (cfg_keys[i].valid && !strcmp(cfg_keys[i].section, section) && !strcmp(cfg_keys[i].name, name)) return i;
    return -1;
}

int cfg_is_section(const char *section) {
    for (int i = 0; i < cfg_nsections; i++)
        if (!strcmp(cfg_sections[i], section)) return 1;
    return 0;
}

int affect_run_config_key_count(void) {
    int n = 0;
    for (int i = 0; i < cfg_nkeys; i++) n += cfg_keys[i].valid;
    return n;
}

const char *affect_run_config_key_path(int i, char *buf, size_t len) {
    for (int k = 0; k < cfg_nkeys; k++) {
        if (!cfg_keys[k].valid) continue;
        if (i-- == 0) {
            snprintf(buf, len, "%s.%s", cfg_keys[k].section, cfg_keys[k].name);
            return buf;
        }
    }
    return NULL;
}

static void stage_base(affect_stage_config *s) {
    memset(s, 0, sizeof *s);
    s->enabled = 1;
    s->learning_rate = 3e-5;
    s->train_batch_size = 32;
    s->eval_batch_size = 32;
    s->num_epochs = 3;
    s->weight_decay = 0.01;
    s->seed = 42;
    s->warmup_ratio = 0.05;
    s->label_smoothing_factor = 0.0;
    s->early_stopping_patience = 2;
    s->early_stopping_threshold = 0.0;
    snprintf(s->lr_scheduler_type, sizeof s->lr_scheduler_type, "linear");
    s->max_grad_norm = 1.0;
    s->gradient_accumulation_steps = 1;
    s->pos_weight_cap = 2.0;
    s->intensity_loss_weight = 0.1;
    s->metric_loss_weight = 0.1;
    s->mlm_probability = 0.15;
}

/* The defaults are the research team's MiniLM values where they have one, so their files and
 * a file that omits a key mean the same thing. */
void affect_run_config_defaults(affect_run_config *c) {
    memset(c, 0, sizeof *c);
    c->model.max_length = 128;
    c->model.scratch.enabled = 0;
    snprintf(c->model.scratch.family, sizeof c->model.scratch.family, "bert");
    c->model.scratch.hidden = 256;
    c->model.scratch.layers = 4;
    c->model.scratch.heads = 4;
    c->model.scratch.ffn = 1024;
    c->model.scratch.dropout = 0.1;
    c->model.scratch.vocab.size = 8000;
    c->model.scratch.vocab.min_frequency = 2;
    c->model.scratch.vocab.lowercase = 1;
    snprintf(c->paths.artifacts_dir, sizeof c->paths.artifacts_dir, "artifacts/experiments/run");

    affect_stage_config *g = &c->training.goemotions;
    stage_base(g);
    g->pos_weight_cap = 50.0;

    snprintf(c->training.lemotif.init, sizeof c->training.lemotif.init, "stage1");
    stage_base(&c->training.lemotif.common);
    affect_stage_config *f = &c->training.lemotif.frozen;
    stage_base(f);
    f->learning_rate = 1e-4;
    f->num_epochs = 3;
    f->warmup_ratio = 0.02;
    f->early_stopping_patience = 2;
    f->early_stopping_threshold = 1e-4;
    affect_stage_config *u = &c->training.lemotif.unfrozen;
    stage_base(u);
    u->learning_rate = 5e-5;
    u->num_epochs = 25;
    u->warmup_ratio = 0.05;
    u->early_stopping_patience = 4;
    u->early_stopping_threshold = 1e-3;

    affect_stage_config *m = &c->training.pretrain_mlm;
    stage_base(m);
    m->enabled = 0;
    m->learning_rate = 5e-4;
    m->num_epochs = 1;
    m->weight_decay = 0.01;
    m->warmup_ratio = 0.05;
    m->early_stopping_patience = 0; /* no key: the stage keeps its lowest-loss epoch, never stops early */

    c->evaluation.eval_batch_size = 128;
    c->training.lemotif.soup = 1;
    c->training.lemotif.lexical.weight = 0.0;
    c->training.lemotif.lexical.c = 4.0;
    c->training.lemotif.lexical.chars_buckets = 4096;
    c->training.lemotif.lexical.bigram_buckets = 16384;
    c->training.lemotif.lexical.intensity_weight = 0.0;
    c->training.lemotif.lexical.intensity_alpha = 1.0;
    snprintf(c->training.lemotif.lexical.class_weight, sizeof c->training.lemotif.lexical.class_weight, "balanced");

    snprintf(c->data.goemotions, sizeof c->data.goemotions, "goemotions");
    snprintf(c->data.lemotif, sizeof c->data.lemotif, "lemotif/lemotif.csv");
    snprintf(c->data.emoint, sizeof c->data.emoint, "emoint");
    snprintf(c->data.emoint_input, sizeof c->data.emoint_input, "plain");
    c->data.lemotif_split.train = 0.70;
    c->data.lemotif_split.val = 0.15;
    c->data.lemotif_split.test = 0.15;
    c->data.lemotif_split.seed = 42;
    c->data.folds = 0;
    snprintf(c->data.custom.format, sizeof c->data.custom.format, "auto");
    snprintf(c->data.custom.text_column, sizeof c->data.custom.text_column, "text");
    snprintf(c->data.custom.label_separator, sizeof c->data.custom.label_separator, ",");

    c->runtime.threads = 0;
    c->runtime.log_every = 10;
    c->runtime.checkpoint_every = 500;
}

void cfg_apply_inheritance(affect_run_config *c) {
    static const char *const stages[] = {"training.lemotif.frozen", "training.lemotif.unfrozen"};
    for (int s = 0; s < 2; s++)
        for (int i = 0; i < cfg_nkeys; i++) {
            const cfg_key *k = &cfg_keys[i];
            if (!k->valid || !(k->flags & CFG_F_INHERIT) || strcmp(k->section, stages[s]) || c->given[i]) continue;
            int j = cfg_find("training.lemotif.common", k->name);
            if (j < 0 || !c->given[j]) continue;
            memcpy((char *)c + k->offset, (const char *)c + cfg_keys[j].offset, k->size);
        }
}

int cfg_validate(const affect_run_config *c, const char *name, affect_error *err) {
    const char *n = name && *name ? name : "config";
    if (!c->model.scratch.enabled && !c->model.name[0])
        return affect_fail(err, AFFECT_EFORMAT,
                           "%s: model.name is required (a model folder or a Hugging Face id) unless "
                           "model.scratch.enabled is true",
                           n);
    if (c->model.scratch.hidden % c->model.scratch.heads)
        return affect_fail(err, AFFECT_EFORMAT, "%s: model.scratch.hidden (%d) must be a multiple of model.scratch.heads (%d)",
                           n, c->model.scratch.hidden, c->model.scratch.heads);
    double s = c->data.lemotif_split.train + c->data.lemotif_split.val + c->data.lemotif_split.test;
    if (fabs(s - 1.0) > 1e-6)
        return affect_fail(err, AFFECT_EFORMAT, "%s: data.lemotif_split train + val + test must be 1, got %g", n, s);
    if (c->data.lemotif_split.train <= 0 || c->data.lemotif_split.test <= 0)
        return affect_fail(err, AFFECT_EFORMAT, "%s: data.lemotif_split train and test must be above 0", n);
    if (c->data.folds == 1)
        return affect_fail(err, AFFECT_EFORMAT, "%s: data.folds must be 0 (one split) or at least 2", n);
    if (c->data.custom.path[0]) {
        int multi = c->data.custom.label_columns.n > 0, list = c->data.custom.labels_column[0] != 0;
        if (multi == list)
            return affect_fail(err, AFFECT_EFORMAT,
                               "%s: data.custom needs exactly one of label_columns (multi-hot columns) or "
                               "labels_column (a column listing labels)",
                               n);
        if (!c->data.custom.text_column[0])
            return affect_fail(err, AFFECT_EFORMAT, "%s: data.custom.text_column is empty", n);
        if (!c->data.custom.label_separator[0])
            return affect_fail(err, AFFECT_EFORMAT, "%s: data.custom.label_separator is empty", n);
    }
    return 0;
}
