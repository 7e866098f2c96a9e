/* affect data pull | info | config: fetch the official datasets, say what is on disk (rows,
 * label frequencies, split sizes), and check a training config the way `affect train` reads
 * it (parsed, data and weights resolved, printed back with every default filled in). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "common.h"
#include "config/config.h"
#include "data/data_dir.h"
#include "data/dataset.h"
#include "data/split.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(FILE *f) {
    fprintf(f, "usage: affect data pull [--dir D] [--only goemotions,lemotif,emoint]\n"
               "       affect data info [--dir D] [--config C.yaml] [--seed S] [--folds K]\n"
               "       affect data config C.yaml [--no-model]\n"
               "pull    downloads the official files (sha256-verified) into D ($AFFECT_DATA, else ./data);\n"
               "        AFFECT_DATA_ENDPOINT=http://host:port serves every URL from a mirror\n"
               "info    row counts, label frequencies and the Lemotif split of the data found\n"
               "        (data.dir / --dir, $AFFECT_DATA, ./data, ../shared/data)\n"
               "config  parses and resolves a training config (data folder, model weights) and\n"
               "        prints it with every key; --no-model skips the weights lookup\n");
    return f == stdout ? 0 : 2;
}

static void on_pull(void *user, const affect_data_pull_event *e) {
    (void)user;
    switch (e->event) {
    case AFFECT_DATA_PULL_START: fprintf(stderr, "%s: downloading %s\n", e->file->dest, e->url); break;
    case AFFECT_DATA_PULL_DONE:
        fprintf(stderr, "%s: %llu bytes, sha256 verified\n", e->file->dest, (unsigned long long)e->bytes);
        break;
    case AFFECT_DATA_PULL_PRESENT: fprintf(stderr, "%s: already present (sha256 %s)\n", e->file->dest, e->sha256); break;
    case AFFECT_DATA_PULL_UNVERIFIED:
        fprintf(stderr, "%s: %llu bytes, no pinned sha256 to verify against (got %s)\n", e->file->dest,
                (unsigned long long)e->bytes, e->sha256);
        break;
    default: break;
    }
}

static int cmd_pull_data(int argc, char **argv) {
    const char *dir = NULL;
    char *only = NULL;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout);
        else {
            fprintf(stderr, "affect data pull: unexpected argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    affect_error err = {0};
    char dbuf[4096];
    if (!dir) {
        if (affect_data_dir_default(dbuf, sizeof dbuf, &err)) return cli_error("data pull", &err);
        dir = dbuf;
    }
    const char *names[8];
    int n = 0;
    char obuf[256];
    if (only) {
        snprintf(obuf, sizeof obuf, "%s", only);
        for (char *t = strtok(obuf, ","); t && n < 8; t = strtok(NULL, ",")) names[n++] = t;
    }
    int rc = affect_data_pull(dir, only ? names : NULL, n, on_pull, NULL, &err);
    if (rc) return cli_error("data pull", &err);
    printf("%s\n", dir);
    return 0;
}

static void print_label_counts(const affect_dataset *ds) {
    size_t *c = calloc((size_t)ds->num_labels + 1, sizeof *c);
    if (!c) return;
    affect_dataset_label_counts(ds, c);
    printf("  positives:");
    for (int j = 0; j < ds->num_labels; j++) printf(" %s=%zu", ds->label_names[j], c[j]);
    printf("\n");
    free(c);
}

/* Lemotif's split as training will make it, with any label that gets no positive in a part. */
static void print_split(const affect_dataset *ds, const affect_run_config *cfg, unsigned long long seed, int folds) {
    int k = folds >= 2 ? folds : 3;
    int32_t *part = malloc(ds->n * sizeof *part);
    size_t *counts = malloc((size_t)k * (size_t)ds->num_labels * sizeof *counts);
    size_t *rows = malloc((size_t)k * sizeof *rows);
    affect_error err = {0};
    int rc;
    if (!part || !counts || !rows) {
        fprintf(stderr, "affect data info: out of memory\n");
        goto out;
    }
    double fr[3] = {cfg->data.lemotif_split.train, cfg->data.lemotif_split.val, cfg->data.lemotif_split.test};
    if (folds >= 2) rc = affect_split_kfold(ds->labels, ds->label_mask, ds->n, ds->num_labels, k, seed, part, &err);
    else rc = affect_split_stratified(ds->labels, ds->label_mask, ds->n, ds->num_labels, fr, 3, seed, part, &err);
    if (rc) {
        fprintf(stderr, "affect data info: %s\n", err.msg);
        goto out;
    }
    affect_split_label_counts(ds->labels, ds->label_mask, ds->n, ds->num_labels, part, k, counts, rows);
    static const char *const names3[] = {"train", "val", "test"};
    if (folds >= 2) printf("  %d-fold split (stratified, seed %llu):", k, seed);
    else printf("  split %g/%g/%g (stratified, seed %llu):", fr[0], fr[1], fr[2], seed);
    for (int p = 0; p < k; p++) {
        if (folds >= 2) printf(" fold%d=%zu", p, rows[p]);
        else printf(" %s=%zu", names3[p], rows[p]);
    }
    printf("\n");
    for (int p = 0; p < k; p++) {
        int any = 0;
        for (int j = 0; j < ds->num_labels; j++)
            if (counts[(size_t)p * (size_t)ds->num_labels + (size_t)j] == 0) {
                if (!any) {
                    if (folds >= 2) printf("  no positive in fold%d:", p);
                    else printf("  no positive in %s:", names3[p]);
                }
                printf(" %s", ds->label_names[j]);
                any = 1;
            }
        if (any) printf(" (AUC undefined there)\n");
    }
out:
    free(part);
    free(counts);
    free(rows);
}

static int cmd_info(int argc, char **argv) {
    const char *dir = NULL, *config = NULL;
    long long seed = -1;
    int folds = -1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc) config = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--folds") && i + 1 < argc) {
            folds = cli_parse_int(argv[++i]);
            if (folds < 2) {
                fprintf(stderr, "affect data info: --folds needs an integer >= 2\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout);
        else {
            fprintf(stderr, "affect data info: unexpected argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    affect_error err = {0};
    affect_run_config cfg;
    if (config) {
        if (affect_run_config_load(config, &cfg, &err)) return cli_error("data info", &err);
    } else {
        affect_run_config_defaults(&cfg);
    }
    if (dir) snprintf(cfg.data.dir, sizeof cfg.data.dir, "%s", dir);
    if (affect_run_config_resolve(&cfg, AFFECT_RESOLVE_DATA, &err)) {
        affect_run_config_free(&cfg);
        return cli_error("data info", &err);
    }
    if (seed < 0) seed = cfg.data.lemotif_split.seed;
    if (folds < 0) folds = cfg.data.folds;
    printf("data folder: %s\n", cfg.resolved.data_dir);
    char path[4096];
    int status = 0;
    static const char *const ge_splits[] = {"train", "dev", "test"};
    if (!affect_run_config_data_path(&cfg, "goemotions", path, sizeof path, &err)) {
        printf("goemotions (%s):", path);
        affect_dataset train = {0};
        for (int s = 0; s < 3; s++) {
            affect_dataset ds;
            if (affect_goemotions_load(path, ge_splits[s], &ds, &err)) {
                printf(" %s=absent", ge_splits[s]);
                if (err.code != AFFECT_ENOTFOUND) {
                    printf(" (%s)", err.msg);
                    status = 2;
                }
                continue;
            }
            printf(" %s=%zu", ge_splits[s], ds.n);
            if (s == 0) train = ds;
            else affect_dataset_free(&ds);
        }
        printf("\n");
        if (train.n) {
            printf("  train: %d labels\n", train.num_labels);
            print_label_counts(&train);
        }
        affect_dataset_free(&train);
    }
    if (!affect_run_config_data_path(&cfg, "lemotif", path, sizeof path, &err)) {
        affect_dataset ds;
        if (affect_lemotif_load(path, &ds, &err)) {
            printf("lemotif: %s\n", err.msg);
            if (err.code != AFFECT_ENOTFOUND) status = 2;
        } else {
            printf("lemotif (%s): %zu rows, %d emotions, %d topics\n", path, ds.n, ds.num_labels, ds.num_labels2);
            print_label_counts(&ds);
            print_split(&ds, &cfg, (unsigned long long)seed, folds);
            affect_dataset_free(&ds);
        }
    }
    if (!affect_run_config_data_path(&cfg, "emoint", path, sizeof path, &err)) {
        static const char *const em_splits[] = {"train", "dev.gold", "test.gold"};
        printf("emoint (%s):", path);
        for (int s = 0; s < 3; s++) {
            affect_dataset ds;
            if (affect_emoint_load(path, em_splits[s], NULL, 0, &ds, &err)) {
                printf(" %s=absent", em_splits[s]);
                if (err.code != AFFECT_ENOTFOUND) {
                    printf(" (%s)", err.msg);
                    status = 2;
                }
                continue;
            }
            printf(" %s=%zu", em_splits[s], ds.n);
            if (ds.num_groups) {
                printf(" (");
                for (int g = 0; g < ds.num_groups; g++) {
                    size_t c = 0;
                    for (size_t i = 0; i < ds.n; i++) c += ds.group[i] == g;
                    printf("%s%s %zu", g ? ", " : "", ds.group_names[g], c);
                }
                printf(")");
            }
            affect_dataset_free(&ds);
        }
        printf("\n");
    }
    affect_run_config_free(&cfg);
    return status;
}

static int cmd_config(int argc, char **argv) {
    const char *path = NULL;
    int model = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--no-model")) model = 0;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage(stdout);
        else if (!path && argv[i][0] != '-') path = argv[i];
        else {
            fprintf(stderr, "affect data config: unexpected argument '%s'\n", argv[i]);
            return usage(stderr);
        }
    }
    if (!path) return usage(stderr);
    affect_error err = {0};
    affect_run_config cfg;
    if (affect_run_config_load(path, &cfg, &err)) return cli_error("data config", &err);
    unsigned what = AFFECT_RESOLVE_DATA | (model ? AFFECT_RESOLVE_MODEL : 0);
    int rc = affect_run_config_resolve(&cfg, what, &err);
    if (!rc) {
        char *yaml;
        size_t len;
        rc = affect_run_config_to_yaml(&cfg, &yaml, &len, &err);
        if (!rc) {
            fwrite(yaml, 1, len, stdout);
            printf("# data folder: %s\n", cfg.resolved.data_dir);
            if (model) printf("# model folder: %s\n", cfg.model.scratch.enabled ? "(from scratch)" : cfg.resolved.model_dir);
            free(yaml);
        }
    }
    affect_run_config_free(&cfg);
    return rc ? cli_error("data config", &err) : 0;
}

int cmd_data(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    if (!strcmp(argv[1], "pull")) return cmd_pull_data(argc, argv);
    if (!strcmp(argv[1], "info")) return cmd_info(argc, argv);
    if (!strcmp(argv[1], "config")) return cmd_config(argc, argv);
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return usage(stdout);
    fprintf(stderr, "affect data: unknown subcommand '%s'\n", argv[1]);
    return usage(stderr);
}
