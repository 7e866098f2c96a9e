/* affect embed MODEL [--pool mean|cls] [--hidden] [--max-length N] [--threads N] [TEXT…]
 *
 * One JSON object per text, in input order: {"pooled":[…]} and, with --hidden,
 * "hidden":[[…],…] (the last layer, one row per real token, padding excluded). Texts are
 * embedded in batches of EMBED_BATCH, each padded to its longest text. */
#include "cli.h"
#include "common.h"
#include "model/model.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_BATCH 16

typedef struct embed_opts {
    const char *model;
    int pool, hidden, max_length, threads;
    char **pos;   /* pos[0] is a placeholder, pos[1..npos] the texts after MODEL (so the
                     array is an argv for cli_read_texts) */
    int npos;
} embed_opts;

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "affect embed: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fprintf(stderr, "usage: affect embed MODEL [--pool mean|cls] [--hidden] [--max-length N] "
                    "[--threads N] [TEXT...]\n");
    return 2;
}

/* Options may come before or after MODEL and the texts; "--" ends them, so a text that
 * starts with "--" can still be given. */
static int parse_args(int argc, char **argv, embed_opts *o) {
    memset(o, 0, sizeof *o);
    o->pool = AFFECT_POOL_MEAN;
    o->pos = malloc((size_t)(argc + 2) * sizeof *o->pos);
    if (!o->pos) { fprintf(stderr, "affect embed: out of memory\n"); return 1; }
    o->pos[0] = argv[0];
    int opts_done = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && !strcmp(a, "--")) { opts_done = 1; continue; }
        if (!opts_done && a[0] == '-' && a[1] == '-') {
            if (!strcmp(a, "--hidden")) { o->hidden = 1; continue; }
            if (!strcmp(a, "--pool") || !strcmp(a, "--max-length") || !strcmp(a, "--threads")) {
                if (i + 1 >= argc) return usage_error("missing value for", a);
                const char *v = argv[++i];
                if (!strcmp(a, "--pool")) {
                    if (!strcmp(v, "mean")) o->pool = AFFECT_POOL_MEAN;
                    else if (!strcmp(v, "cls")) o->pool = AFFECT_POOL_CLS;
                    else return usage_error("--pool must be mean or cls, not", v);
                } else {
                    int n = cli_parse_int(v);
                    if (n < 0) return usage_error("expected a positive integer, got", v);
                    if (!strcmp(a, "--max-length")) o->max_length = n; else o->threads = n;
                }
                continue;
            }
            return usage_error("unknown option", a);
        }
        if (!o->model) o->model = a;
        else o->pos[1 + o->npos++] = (char *)a;
    }
    if (!o->model) return usage_error("missing MODEL", NULL);
    return 0;
}

/* One text's JSON line: pooled vector, then (optionally) its real-token rows. */
static void print_row(const float *pooled, const float *hidden, int rows, int H, int with_hidden) {
    fputs("{\"pooled\":[", stdout);
    for (int j = 0; j < H; j++) {
        if (j) putchar(',');
        cli_print_float(pooled[j]);
    }
    putchar(']');
    if (with_hidden) {
        fputs(",\"hidden\":[", stdout);
        for (int t = 0; t < rows; t++) {
            fputs(t ? ",[" : "[", stdout);
            for (int j = 0; j < H; j++) {
                if (j) putchar(',');
                cli_print_float(hidden[(size_t)t * H + j]);
            }
            putchar(']');
        }
        putchar(']');
    }
    fputs("}\n", stdout);
}

/* Output streams batch by batch, so memory stays bounded for any number of texts; errors
 * about the model itself (loading, length limits) all surface before the first line. */
static int embed_all(affect_model *m, const embed_opts *o, const cli_texts *texts,
                     affect_error *err) {
    int H = affect_model_hidden_size(m);
    const affect_tokenizer *tok = affect_model_tokenizer(m);
    float *pooled = malloc((size_t)EMBED_BATCH * H * sizeof *pooled);
    float *hidden = NULL;
    size_t hidden_cap = 0;
    if (!pooled) { err->code = AFFECT_ENOMEM; snprintf(err->msg, sizeof err->msg, "out of memory"); return err->code; }
    int rc = 0;
    for (size_t start = 0; start < texts->n && !rc; start += EMBED_BATCH) {
        int B = (int)(texts->n - start < EMBED_BATCH ? texts->n - start : EMBED_BATCH);
        affect_batch batch;
        memset(&batch, 0, sizeof batch);
        rc = affect_tokenizer_encode_batch(tok, (const char *const *)texts->text + start,
                                           texts->len + start, B, o->max_length, 0, &batch, err);
        if (rc) break;
        if (o->hidden) {
            size_t need = (size_t)batch.B * batch.T * H;
            if (need > hidden_cap) {
                float *nh = realloc(hidden, need * sizeof *nh);
                if (!nh) {
                    affect_batch_free(&batch);
                    err->code = rc = AFFECT_ENOMEM;
                    snprintf(err->msg, sizeof err->msg, "out of memory for hidden states");
                    break;
                }
                hidden = nh;
                hidden_cap = need;
            }
        }
        rc = affect_model_embed(m, &batch, o->pool, o->hidden ? hidden : NULL, pooled, err);
        if (!rc)
            for (int b = 0; b < batch.B; b++)
                print_row(pooled + (size_t)b * H, o->hidden ? hidden + (size_t)b * batch.T * H : NULL,
                          batch.lens[b], H, o->hidden);
        affect_batch_free(&batch);
    }
    free(hidden);
    free(pooled);
    return rc;
}

int cmd_embed(int argc, char **argv) {
    embed_opts o;
    int rc = parse_args(argc, argv, &o);
    if (rc) { free(o.pos); return rc; }
    affect_native_init(o.threads);
    affect_error err = {0};
    char dir[4096];
    affect_model *m = NULL;
    cli_texts texts = {0};
    o.pos[o.npos + 1] = NULL;
    if ((rc = cli_resolve_model(o.model, dir, sizeof dir, &err)) ||
        (rc = affect_model_load_dir(&m, dir, &err))) {
        free(o.pos);
        return cli_error("embed", &err);
    }
    int limit = affect_model_max_length(m);
    if (o.max_length > limit) {
        fprintf(stderr, "affect embed: --max-length %d exceeds the model's maximum of %d\n",
                o.max_length, limit);
        affect_model_free(m);
        free(o.pos);
        return 2;
    }
    if (o.max_length == 0) o.max_length = limit;
    rc = cli_read_texts(o.npos + 1, o.pos, 1, &texts, &err);
    if (!rc) rc = embed_all(m, &o, &texts, &err);
    int code = rc ? cli_error("embed", &err) : 0;
    if (!rc && fflush(stdout) != 0) {
        fprintf(stderr, "affect embed: error writing output\n");
        code = 1;
    }
    cli_texts_free(&texts);
    affect_model_free(m);
    free(o.pos);
    return code;
}
