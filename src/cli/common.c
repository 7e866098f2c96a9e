#define _POSIX_C_SOURCE 200809L
#include "common.h"
#include "hub/hub.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int push_text(cli_texts *t, size_t *cap, const char *s, size_t n, affect_error *err) {
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        char **nt = realloc(t->text, nc * sizeof *nt);
        if (!nt) goto oom;
        t->text = nt;
        size_t *nl = realloc(t->len, nc * sizeof *nl);
        if (!nl) goto oom;
        t->len = nl;
        *cap = nc;
    }
    char *copy = malloc(n + 1);
    if (!copy) goto oom;
    memcpy(copy, s, n);
    copy[n] = 0;
    t->text[t->n] = copy;
    t->len[t->n] = n;
    t->n++;
    return 0;
oom:
    err->code = AFFECT_ENOMEM;
    snprintf(err->msg, sizeof err->msg, "out of memory reading texts");
    return AFFECT_ENOMEM;
}

/* Arguments win over stdin so that `affect predict M "text"` never blocks on a terminal. */
int cli_read_texts(int argc, char **argv, int first, cli_texts *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    if (first < argc) {
        for (int i = first; i < argc; i++)
            if (push_text(out, &cap, argv[i], strlen(argv[i]), err)) return err->code;
        return 0;
    }
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    while ((n = getline(&line, &lcap, stdin)) >= 0) {
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') len--;
        if (len && line[len - 1] == '\r') len--;
        if (push_text(out, &cap, line, len, err)) { free(line); return err->code; }
    }
    free(line);
    return 0;
}

void cli_texts_free(cli_texts *t) {
    for (size_t i = 0; i < t->n; i++) free(t->text[i]);
    free(t->text);
    free(t->len);
    memset(t, 0, sizeof *t);
}

int cli_resolve_model(const char *spec, char *dir, size_t dirlen, affect_error *err) {
    return affect_hub_resolve(spec, dir, dirlen, err);
}

int cli_error(const char *cmd, const affect_error *err) {
    fprintf(stderr, "affect %s: %s\n", cmd, err->msg[0] ? err->msg : "error");
    return affect_exit_code(err->code);
}

int cli_parse_int(const char *s) {
    if (!s || !*s) return -1;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0 || v > 1000000000L) return -1;
    return (int)v;
}

void cli_print_float(float v) {
    if (isfinite(v)) printf("%.9g", (double)v);
    else fputs("null", stdout);
}
