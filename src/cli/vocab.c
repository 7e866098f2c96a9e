/* affect vocab --size N [--min-frequency F] [--limit-alphabet A] [--counts FILE] --out DIR
 * [FILE...]: learns a WordPiece vocabulary from plain-text files (one text per line; stdin
 * when no file is named) the way Hugging Face's WordPieceTrainer does, and writes DIR/vocab.txt
 * and DIR/tokenizer.json — the tokenizer of a model trained from scratch. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "affect.h"
#include "cli.h"
#include "common.h"
#include "util/json.h"
#include "vocab/wordpiece_trainer.h"
#include "native/atomic_file.h"

static const char USAGE[] =
    "usage: affect vocab --size N [--min-frequency F] [--limit-alphabet A] [--counts FILE] --out DIR [FILE...]\n"
    "  Learns a WordPiece vocabulary (Hugging Face WordPieceTrainer: BERT uncased normalization,\n"
    "  [PAD] [UNK] [CLS] [SEP] [MASK] at ids 0-4) from FILEs holding one text per line (stdin when\n"
    "  none) and writes DIR/vocab.txt and DIR/tokenizer.json.\n"
    "  --counts FILE  also write id<TAB>token<TAB>count for every token (count: the merge's pair\n"
    "                 count, or the character frequency)\n"
    "  --continuing-order VOCAB  take the order of the \"##c\" tokens from the lines of VOCAB (a\n"
    "                 vocab.txt Hugging Face's trainer wrote), to reproduce that run exactly\n";

/* Feeds every line of `f` (without its "\n" or "\r\n") to the trainer. */
static int feed_stream(wordpiece_trainer *t, FILE *f, const char *name, size_t *ntexts, affect_error *err) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int rc = 0;
    while (!rc && (n = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        rc = wordpiece_trainer_feed(t, line, len, err);
        (*ntexts)++;
    }
    if (!rc && ferror(f)) {
        err->code = AFFECT_EIO;
        snprintf(err->msg, sizeof err->msg, "cannot read %s: %s", name, strerror(errno));
        rc = AFFECT_EIO;
    }
    free(line);
    return rc;
}

/* The --counts table, for seeing why each token is in the vocabulary. */
static int write_counts(const wordpiece_vocab *v, const char *path, affect_error *err) {
    json_buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < v->n && !rc; i++) rc = json_buf_printf(&b, "%zu\t%s\t%" PRIu64 "\n", i, v->token[i], v->count[i]);
    if (rc) {
        json_buf_free(&b);
        err->code = AFFECT_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory writing %s", path);
        return AFFECT_ENOMEM;
    }
    rc = affect_file_write_atomic(path, b.data ? b.data : "", b.len, err);
    json_buf_free(&b);
    return rc;
}

/* The "##c" lines of a vocab.txt, in file order, as malloc'd strings (*n of them). */
static int read_order(const char *path, char ***out, size_t *n, affect_error *err) {
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        err->code = errno == ENOENT ? AFFECT_ENOTFOUND : AFFECT_EIO;
        snprintf(err->msg, sizeof err->msg, "cannot open %s: %s", path, strerror(errno));
        return err->code;
    }
    char *line = NULL;
    size_t cap = 0, ncap = 0;
    ssize_t got;
    int rc = 0;
    while (!rc && (got = getline(&line, &cap, f)) >= 0) {
        size_t len = (size_t)got;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        if (len <= 2 || line[0] != '#' || line[1] != '#') continue;
        line[len] = 0;
        if (*n == ncap) {
            ncap = ncap ? ncap * 2 : 256;
            char **p = realloc(*out, ncap * sizeof *p);
            if (!p) { rc = AFFECT_ENOMEM; break; }
            *out = p;
        }
        if (!((*out)[*n] = strdup(line))) { rc = AFFECT_ENOMEM; break; }
        (*n)++;
    }
    free(line);
    fclose(f);
    if (rc) {
        err->code = rc;
        snprintf(err->msg, sizeof err->msg, "out of memory reading %s", path);
    }
    return rc;
}

/* Parses a non-negative integer option value (up to INT32_MAX); -1 when it is not one. */
static long parse_count(const char *s) {
    if (!s || !*s || *s == '-') return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < 0 || v > INT32_MAX) return -1;
    return v;
}

int cmd_vocab(int argc, char **argv) {
    affect_error err = {0};
    wordpiece_trainer_opts o;
    wordpiece_trainer_defaults(&o);
    const char *out = NULL, *counts = NULL, *order_path = NULL;
    char **order = NULL;
    size_t norder = 0;
    long size = -1;
    int only_files = 0;
    char **files = malloc(((size_t)argc + 1) * sizeof *files);
    int nfiles = 0;
    if (!files) {
        fprintf(stderr, "affect vocab: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (only_files || a[0] != '-' || !a[1]) {
            files[nfiles++] = argv[i];
        } else if (!strcmp(a, "--")) {
            only_files = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(USAGE, stdout);
            free(files);
            return 0;
        } else if (!strcmp(a, "--size") || !strcmp(a, "--min-frequency") || !strcmp(a, "--limit-alphabet")) {
            long v = parse_count(val);
            if (v < 0 || (!strcmp(a, "--size") && v == 0)) {
                fprintf(stderr, "affect vocab: %s needs a %s integer\n%s", a,
                        strcmp(a, "--size") ? "non-negative" : "positive", USAGE);
                free(files);
                return 2;
            }
            if (!strcmp(a, "--size")) size = v;
            else if (!strcmp(a, "--min-frequency")) o.min_frequency = (uint64_t)v;
            else o.limit_alphabet = v;
            i++;
        } else if (!strcmp(a, "--out") || !strcmp(a, "--counts") || !strcmp(a, "--continuing-order")) {
            if (!val || !*val) {
                fprintf(stderr, "affect vocab: %s needs a path\n%s", a, USAGE);
                free(files);
                return 2;
            }
            if (!strcmp(a, "--out")) out = val;
            else if (!strcmp(a, "--counts")) counts = val;
            else order_path = val;
            i++;
        } else {
            fprintf(stderr, "affect vocab: unknown option '%s'\n%s", a, USAGE);
            free(files);
            return 2;
        }
    }
    if (size < 0 || !out) {
        fprintf(stderr, "affect vocab: --size and --out are required\n%s", USAGE);
        free(files);
        return 2;
    }
    o.vocab_size = (size_t)size;

    wordpiece_trainer *t = NULL;
    wordpiece_vocab v;
    memset(&v, 0, sizeof v);
    size_t ntexts = 0;
    int rc = order_path ? read_order(order_path, &order, &norder, &err) : 0;
    o.continuing_order = (const char *const *)order;
    o.n_continuing_order = norder;
    if (!rc) rc = wordpiece_trainer_new(&t, &o, &err);
    for (size_t i = 0; i < norder; i++) free(order[i]);
    free(order);
    if (!rc && nfiles == 0) rc = feed_stream(t, stdin, "stdin", &ntexts, &err);
    for (int i = 0; i < nfiles && !rc; i++) {
        FILE *f = strcmp(files[i], "-") ? fopen(files[i], "rb") : stdin;
        if (!f) {
            err.code = errno == ENOENT ? AFFECT_ENOTFOUND : AFFECT_EIO;
            snprintf(err.msg, sizeof err.msg, "cannot open %s: %s", files[i], strerror(errno));
            rc = err.code;
            break;
        }
        rc = feed_stream(t, f, files[i], &ntexts, &err);
        if (f != stdin) fclose(f);
    }
    if (!rc) rc = wordpiece_trainer_finish(t, &v, &err);
    wordpiece_trainer_free(t);
    if (!rc) rc = wordpiece_write_dir(&v, out, &err);
    if (!rc && counts) rc = write_counts(&v, counts, &err);
    free(files);
    if (rc) {
        wordpiece_vocab_free(&v);
        return cli_error("vocab", &err);
    }
    printf("{\"out\":");
    json_buf b = {0};
    if (json_buf_string(&b, out, strlen(out)) == 0) fwrite(b.data, 1, b.len, stdout);
    json_buf_free(&b);
    printf(",\"vocab_size\":%zu,\"special\":%zu,\"alphabet\":%zu,\"continuing\":%zu,\"merges\":%zu,"
           "\"texts\":%zu,\"words\":%" PRIu64 ",\"distinct_words\":%zu}\n",
           v.n, v.n_special, v.n_alphabet, v.n_continuing, v.n_merges, ntexts, v.total_words, v.n_words);
    wordpiece_vocab_free(&v);
    return 0;
}
