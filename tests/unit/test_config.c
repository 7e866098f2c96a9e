/* The training-config schema: the research team's three files parse to their values, our
 * keys get their defaults, lemotif stages inherit from common, the resolved config writes
 * back and re-reads identically, bad keys / types / values are errors with file:line and a
 * suggestion, missing weights name the hub id and `affect pull`, and docs/config.md
 * documents every key. */
#define _POSIX_C_SOURCE 200809L
#include "config/config.h"
#include "util/blob.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)
#define CHECK_MSG(rc, err, want) do { CHECK((rc) != 0); if (!strstr((err).msg, (want))) { \
    fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, (err).msg, (want)); failures++; } } while (0)

static const char *src_dir(void) {
    const char *s = getenv("AFFECT_SRC");
    return s && *s ? s : ".";
}

static int parse(const char *yaml, affect_run_config *c, affect_error *err) {
    return affect_run_config_parse("configs/x.yaml", yaml, strlen(yaml), c, err);
}

static void test_seed_configs(void) {
    static const char *const names[] = {"distilbert", "minilm", "tinybert"};
    static const char *const ids[] = {"distilbert/distilbert-base-uncased",
                                      "nreimers/MiniLMv2-L12-H384-distilled-from-RoBERTa-Large",
                                      "huawei-noah/TinyBERT_General_4L_312D"};
    static const int maxlen[] = {128, 128, 64};
    /* an empty cache: the weights are absent, as on this machine */
    char cache[256];
    snprintf(cache, sizeof cache, "/tmp/affect-test-config-cache-%ld", (long)getpid());
    mkdir(cache, 0755);
    setenv("HF_HUB_CACHE", cache, 1);
    /* the data folder as the tests see it (ctest runs in the build tree, not the checkout) */
    const char *shared = getenv("AFFECT_SHARED");
    char data[1024];
    snprintf(data, sizeof data, "%s/data", shared && *shared ? shared : "../shared");
    setenv("AFFECT_DATA", data, 1);
    for (int m = 0; m < 3; m++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/configs/%s.yaml", src_dir(), names[m]);
        affect_run_config c;
        affect_error err = {0};
        int rc = affect_run_config_load(path, &c, &err);
        if (rc) fprintf(stderr, "%s\n", err.msg);
        CHECK(rc == 0);
        if (rc) continue;
        CHECK(!strcmp(c.model.name, ids[m]));
        CHECK(c.model.max_length == maxlen[m]);
        char want_dir[128];
        snprintf(want_dir, sizeof want_dir, "artifacts/experiments/%s_v1", names[m]);
        CHECK(!strcmp(c.paths.artifacts_dir, want_dir));
        const affect_stage_config *g = &c.training.goemotions, *f = &c.training.lemotif.frozen,
                                  *u = &c.training.lemotif.unfrozen;
        CHECK(g->learning_rate == 3e-5); /* "3e-5" is a number */
        CHECK(g->train_batch_size == 32 && g->eval_batch_size == 32 && g->num_epochs == 3);
        CHECK(g->weight_decay == 0.01 && g->seed == 42 && g->warmup_ratio == 0.05);
        CHECK(g->label_smoothing_factor == 0 && g->early_stopping_patience == 2 && g->early_stopping_threshold == 0);
        CHECK(g->pos_weight_cap == 50.0 && g->enabled == 1);
        CHECK(!strcmp(g->lr_scheduler_type, "linear") && g->max_grad_norm == 1.0 && g->gradient_accumulation_steps == 1);
        /* frozen / unfrozen: their own keys, common's shared keys, defaults for the rest */
        CHECK(f->learning_rate == 1e-4 && f->num_epochs == 3 && f->warmup_ratio == 0.02);
        CHECK(f->early_stopping_patience == 2 && f->early_stopping_threshold == 0.0001);
        CHECK(!strcmp(f->lr_scheduler_type, "linear"));
        CHECK(u->learning_rate == 5e-5 && u->num_epochs == 25 && u->warmup_ratio == 0.05);
        CHECK(u->early_stopping_patience == 4 && u->early_stopping_threshold == 0.001);
        CHECK(!strcmp(u->lr_scheduler_type, "cosine") && u->max_grad_norm == 1.0);
        for (int s = 0; s < 2; s++) {
            const affect_stage_config *st = s ? u : f;
            CHECK(st->gradient_accumulation_steps == 2); /* from common */
            CHECK(st->train_batch_size == 32 && st->eval_batch_size == 32 && st->seed == 42);
            CHECK(st->intensity_loss_weight == 0.1 && st->metric_loss_weight == 0.1);
            CHECK(st->weight_decay == 0.01 && st->pos_weight_cap == 2.0);
        }
        CHECK(!strcmp(c.training.lemotif.init, "stage1"));
        CHECK(c.evaluation.eval_batch_size == 128);
        CHECK(c.data.lemotif_split.train == 0.7 && c.data.lemotif_split.seed == 42 && c.data.folds == 0);
        CHECK(c.training.pretrain_mlm.enabled == 0 && c.model.scratch.enabled == 0);
        /* the weights are only looked for when asked */
        CHECK(affect_run_config_resolve(&c, AFFECT_RESOLVE_DATA, &err) == 0);
        CHECK(!strcmp(c.resolved.data_dir, data));
        char lem[4096];
        CHECK(affect_run_config_data_path(&c, "lemotif", lem, sizeof lem, &err) == 0);
        CHECK(strstr(lem, "/data/lemotif/lemotif.csv") != NULL);
        rc = affect_run_config_resolve(&c, AFFECT_RESOLVE_MODEL, &err);
        CHECK(rc == AFFECT_ENOTFOUND);
        char want[512];
        snprintf(want, sizeof want, "affect pull %s", ids[m]);
        CHECK_MSG(rc, err, want);
        CHECK_MSG(rc, err, names[m]); /* names the config file */
        affect_run_config_free(&c);
    }
    rmdir(cache);
}

/* model.name may be a folder: then it resolves without any cache */
static void test_resolve_folder(void) {
    char dir[256], yaml[1024];
    snprintf(dir, sizeof dir, "/tmp/affect-test-config-model-%ld", (long)getpid());
    mkdir(dir, 0755);
    snprintf(yaml, sizeof yaml, "model:\n  name: %s\n", dir);
    affect_run_config c;
    affect_error err = {0};
    CHECK(parse(yaml, &c, &err) == 0);
    CHECK(affect_run_config_resolve(&c, AFFECT_RESOLVE_MODEL, &err) == 0);
    CHECK(!strcmp(c.resolved.model_dir, dir));
    affect_run_config_free(&c);
    rmdir(dir);
    /* from scratch: no weights needed, no name needed */
    CHECK(parse("model:\n  scratch:\n    enabled: true\n    hidden: 128\n    heads: 4\n", &c, &err) == 0);
    CHECK(affect_run_config_resolve(&c, AFFECT_RESOLVE_MODEL, &err) == 0);
    CHECK(c.resolved.model_dir[0] == 0 && c.model.scratch.hidden == 128);
    affect_run_config_free(&c);
}

static void test_errors(void) {
    affect_run_config c;
    affect_error err = {0};
    int rc;
    rc = parse("model:\n  name: m\ntraining:\n  goemotions:\n    seed: 1\n\n    learning_rat: 3e-5\n", &c, &err);
    CHECK(rc == AFFECT_EFORMAT);
    CHECK(!strcmp(err.msg, "configs/x.yaml:7: unknown key 'learning_rat' in training.goemotions (did you mean 'learning_rate'?)"));
    rc = parse("modle:\n  name: m\n", &c, &err);
    CHECK(!strcmp(err.msg, "configs/x.yaml:1: unknown key 'modle' at the top level (did you mean 'model'?)"));
    rc = parse("model:\n  name: m\n  max_grad_norm: 1\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:3: unknown key 'max_grad_norm' in model ('max_grad_norm' is a key of training.goemotions)");
    rc = parse("model:\n  name: m\ntraining:\n  lemotif:\n    comon:\n      seed: 1\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:5: unknown key 'comon' in training.lemotif (did you mean 'common'?)");
    /* a key a stage does not accept */
    rc = parse("model:\n  name: m\ntraining:\n  goemotions:\n    mlm_probability: 0.2\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:5: unknown key 'mlm_probability' in training.goemotions");
    /* types */
    rc = parse("model:\n  name: m\ntraining:\n  goemotions:\n    learning_rate: fast\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:5: training.goemotions.learning_rate: expected a number, got 'fast'");
    rc = parse("model:\n  name: m\ntraining:\n  goemotions:\n    train_batch_size: 3.5\n", &c, &err);
    CHECK_MSG(rc, err, "training.goemotions.train_batch_size: expected an integer");
    rc = parse("model:\n  name: m\ntraining:\n  goemotions:\n    learning_rate: \"3e-5\"\n", &c, &err);
    CHECK_MSG(rc, err, "expected a number, got a quoted string");
    rc = parse("model:\n  name: m\ntraining:\n  goemotions:\n    enabled: maybe\n", &c, &err);
    CHECK_MSG(rc, err, "training.goemotions.enabled: expected true or false");
    rc = parse("model:\n  name: m\ntraining:\n  lemotif:\n    unfrozen:\n      lr_scheduler_type: cosin\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:6: training.lemotif.unfrozen.lr_scheduler_type: expected one of linear|cosine|constant, got 'cosin'");
    rc = parse("model:\n  name: m\ntraining:\n  goemotions: 3\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:4: training.goemotions must be a mapping");
    rc = parse("model:\n  name: [a, b]\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:2: model.name: expected a string, got a list");
    rc = parse("model:\n  name: m\ntraining:\n  goemotions:\n    warmup_ratio: 1.5\n", &c, &err);
    CHECK_MSG(rc, err, "training.goemotions.warmup_ratio must be in [0, 1], got 1.5");
    rc = parse("model:\n  name: m\n  name: n\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:3: duplicate key 'name' in model (first on line 2)");
    rc = parse("model:\n  name: m\n   max_length: 3\n", &c, &err);
    CHECK_MSG(rc, err, "configs/x.yaml:");
    CHECK_MSG(rc, err, "YAML error");
    rc = parse("model:\n  max_length: 64\n", &c, &err);
    CHECK_MSG(rc, err, "model.name is required");
    rc = parse("model:\n  name: m\ndata:\n  lemotif_split:\n    train: 0.8\n", &c, &err);
    CHECK_MSG(rc, err, "train + val + test must be 1");
    rc = parse("model:\n  name: m\ndata:\n  custom:\n    path: x.csv\n", &c, &err);
    CHECK_MSG(rc, err, "exactly one of label_columns");
    rc = parse("- a\n- b\n", &c, &err);
    CHECK_MSG(rc, err, "a config must be a mapping");
}

/* Keys set in common reach both lemotif stages unless a stage sets its own. */
static void test_inheritance(void) {
    affect_run_config c;
    affect_error err = {0};
    int rc = parse("model: {name: m}\ntraining:\n  lemotif:\n    common: {learning_rate: 7e-5, max_grad_norm: 0.5, seed: 7}\n"
                   "    frozen: {learning_rate: 2e-4}\n",
                   &c, &err);
    CHECK(rc == 0);
    CHECK(c.training.lemotif.frozen.learning_rate == 2e-4);
    CHECK(c.training.lemotif.unfrozen.learning_rate == 7e-5);
    CHECK(c.training.lemotif.frozen.max_grad_norm == 0.5 && c.training.lemotif.unfrozen.max_grad_norm == 0.5);
    CHECK(c.training.lemotif.frozen.seed == 7 && c.training.lemotif.unfrozen.seed == 7);
    CHECK(c.training.lemotif.unfrozen.num_epochs == 25); /* default untouched */
    affect_run_config_free(&c);
}

/* Written back, re-read, written again: the same bytes and the same effective values. */
static void test_round_trip(void) {
    static const char *const yamls[] = {
        NULL, /* minilm.yaml */
        "model: {name: \"odd name: with colon\", max_length: 32}\n"
        "training:\n  lemotif:\n    common: {train_batch_size: 16, learning_rate: 1e-3}\n    unfrozen: {train_batch_size: 8}\n"
        "data:\n  custom: {path: \"my data.jsonl\", labels_column: tags, label_names: [a, \"b c\", \"true\"], label_separator: \"|\"}\n"
        "  dir: /tmp\n  folds: 5\nruntime: {threads: 2}\n",
    };
    for (int t = 0; t < 2; t++) {
        affect_run_config a, b;
        affect_error err = {0};
        int rc;
        if (!yamls[t]) {
            char path[1024];
            snprintf(path, sizeof path, "%s/configs/minilm.yaml", src_dir());
            rc = affect_run_config_load(path, &a, &err);
        } else {
            rc = parse(yamls[t], &a, &err);
        }
        if (rc) fprintf(stderr, "%s\n", err.msg);
        CHECK(rc == 0);
        if (rc) continue;
        char *y1, *y2;
        size_t n1, n2;
        CHECK(affect_run_config_to_yaml(&a, &y1, &n1, &err) == 0);
        rc = affect_run_config_parse("resolved.yaml", y1, n1, &b, &err);
        if (rc) fprintf(stderr, "re-read: %s\n%s", err.msg, y1);
        CHECK(rc == 0);
        if (!rc) {
            CHECK(affect_run_config_to_yaml(&b, &y2, &n2, &err) == 0);
            /* the header comment names the source; the rest must match */
            const char *p1 = strchr(y1, '\n'), *p2 = strchr(y2, '\n');
            CHECK(p1 && p2 && !strcmp(p1, p2));
            CHECK(!memcmp(&a.model, &b.model, sizeof a.model));
            CHECK(!memcmp(&a.training, &b.training, sizeof a.training));
            CHECK(!memcmp(&a.data.lemotif_split, &b.data.lemotif_split, sizeof a.data.lemotif_split));
            CHECK(a.data.custom.label_names.n == b.data.custom.label_names.n);
            for (int i = 0; i < a.data.custom.label_names.n && i < b.data.custom.label_names.n; i++)
                CHECK(!strcmp(a.data.custom.label_names.v[i], b.data.custom.label_names.v[i]));
            CHECK(!strcmp(a.data.custom.path, b.data.custom.path) && !strcmp(a.model.name, b.model.name));
            free(y2);
            affect_run_config_free(&b);
        }
        if (t == 1) {
            CHECK(a.training.lemotif.frozen.train_batch_size == 16 && a.training.lemotif.unfrozen.train_batch_size == 8);
            CHECK(!strcmp(a.data.custom.label_names.v[2], "true") && a.data.folds == 5);
            CHECK(strstr(y1, "\"true\"") != NULL); /* a string that looks like a bool stays quoted */
        }
        /* written atomically to a file, read back from it */
        char out[256];
        snprintf(out, sizeof out, "/tmp/affect-test-config-%ld.yaml", (long)getpid());
        CHECK(affect_run_config_write(&a, out, &err) == 0);
        CHECK(affect_run_config_load(out, &b, &err) == 0);
        CHECK(!memcmp(&a.training, &b.training, sizeof a.training));
        affect_run_config_free(&b);
        unlink(out);
        free(y1);
        affect_run_config_free(&a);
    }
}

/* docs/config.md names every key of the schema, in dotted form. */
static void test_docs(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/config.md", src_dir());
    char *doc;
    size_t len;
    affect_error err = {0};
    CHECK(affect_read_file(path, &doc, &len, &err) == 0);
    if (!doc) return;
    int n = affect_run_config_key_count();
    CHECK(n > 60);
    for (int i = 0; i < n; i++) {
        char key[256], quoted[300];
        affect_run_config_key_path(i, key, sizeof key);
        snprintf(quoted, sizeof quoted, "`%s`", key);
        if (!strstr(doc, quoted)) {
            fprintf(stderr, "docs/config.md does not document %s\n", quoted);
            failures++;
        }
    }
    free(doc);
}

int main(void) {
    test_seed_configs();
    test_resolve_folder();
    test_errors();
    test_inheritance();
    test_round_trip();
    test_docs();
    if (failures) {
        fprintf(stderr, "test_config: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_config: ok\n");
    return 0;
}
