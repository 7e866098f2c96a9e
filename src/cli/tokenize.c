/* affect tokenize MODEL [--max-length N] [TEXT...]: prints one JSON object per text,
 * {"ids":[...],"tokens":[...]}, special tokens included and no padding — the same ids
 * Hugging Face's tokenizer gives, for checking what a model will see. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "affect.h"
#include "cli.h"
#include "common.h"
#include "util/json.h"

static int usage(void) {
    fprintf(stderr, "usage: affect tokenize MODEL [--max-length N] [TEXT...]\n");
    return 2;
}

/* One output line; returns 0 or an AFFECT_E* code (only allocation can fail). */
static int print_encoding(const affect_tokenizer *tok, const int32_t *ids, size_t n, affect_error *err) {
    json_buf b = {0};
    int rc = json_buf_append(&b, "{\"ids\":[", 8);
    for (size_t i = 0; i < n && !rc; i++) rc = json_buf_printf(&b, i ? ",%ld" : "%ld", (long)ids[i]);
    if (!rc) rc = json_buf_append(&b, "],\"tokens\":[", 12);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *t = affect_tokenizer_id_to_token(tok, ids[i]);
        if (i) rc = json_buf_append(&b, ",", 1);
        if (!rc) rc = t ? json_buf_string(&b, t, strlen(t)) : json_buf_append(&b, "null", 4);
    }
    if (!rc) rc = json_buf_append(&b, "]}\n", 3);
    if (rc) {
        json_buf_free(&b);
        err->code = AFFECT_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory writing output");
        return AFFECT_ENOMEM;
    }
    fwrite(b.data, 1, b.len, stdout);
    json_buf_free(&b);
    return 0;
}

/* Options may come before or after the texts; everything after "--" is text. */
int cmd_tokenize(int argc, char **argv) {
    affect_error err = {0};
    const char *model = NULL;
    int max_length = 0, npos = 0, only_text = 0;
    char **pos = malloc(((size_t)argc + 1) * sizeof *pos); /* the texts, in order */
    if (!pos) {
        fprintf(stderr, "affect tokenize: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_text || a[0] != '-' || !a[1]) {
            if (!model) model = a;
            else pos[npos++] = argv[i];
        } else if (!strcmp(a, "--")) {
            only_text = 1;
        } else if (!strcmp(a, "--max-length")) {
            if (i + 1 >= argc || (max_length = cli_parse_int(argv[i + 1])) < 0) {
                fprintf(stderr, "affect tokenize: --max-length needs a positive integer\n");
                free(pos);
                return 2;
            }
            i++;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            free(pos);
            usage();
            return 0;
        } else {
            fprintf(stderr, "affect tokenize: unknown option '%s' (usage: affect tokenize MODEL [--max-length N] [TEXT...])\n", a);
            free(pos);
            return 2;
        }
    }
    if (!model) {
        free(pos);
        return usage();
    }
    char dir[4096];
    affect_tokenizer *tok = NULL;
    cli_texts texts;
    if (cli_resolve_model(model, dir, sizeof dir, &err) || affect_tokenizer_load_dir(&tok, dir, NULL, &err) ||
        cli_read_texts(npos, pos, 0, &texts, &err)) {
        free(pos);
        affect_tokenizer_free(tok);
        return cli_error("tokenize", &err);
    }
    free(pos);
    int rc = 0;
    for (size_t i = 0; i < texts.n && !rc; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        rc = affect_tokenizer_encode(tok, texts.text[i], texts.len[i], max_length, &ids, &n, &err);
        if (!rc) rc = print_encoding(tok, ids, n, &err);
        free(ids);
    }
    cli_texts_free(&texts);
    affect_tokenizer_free(tok);
    if (rc) return cli_error("tokenize", &err);
    if (fflush(stdout)) {
        fprintf(stderr, "affect tokenize: error writing output\n");
        return 1;
    }
    return 0;
}
