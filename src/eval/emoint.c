/* Scoring emotion-intensity predictions the way the WASSA-2017 EmoInt task does: Pearson r
 * per emotion between predicted and gold intensities, and the mean over emotions. */
#include "eval/metrics.h"
#include "core/util/blob.h"
#include "core/util/error.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tsv_item {
    const char *id, *emo;
    size_t id_len, emo_len, line;
    double score;
    int used;
} tsv_item;

static int parse_score(const char *s, size_t n, double *out) {
    char tmp[64];
    while (n && (*s == ' ')) { s++; n--; }
    while (n && (s[n - 1] == ' ')) n--;
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    double v = strtod(tmp, &end);
    if (end == tmp || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Splits a file into tab-separated lines (LF or CRLF, blank lines skipped). Gold lines must
 * have 4 fields; prediction lines 4 or 2 (id, score). */
static int parse_tsv(const char *name, const char *text, size_t len, int is_gold, tsv_item **out,
                     size_t *n_out, affect_error *err) {
    size_t cap = 0, n = 0, line = 0;
    tsv_item *items = NULL;
    const char *p = text, *end = text + len;
    while (p < end) {
        line++;
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        const char *next = eol ? eol + 1 : end;
        if (le > p && le[-1] == '\r') le--;
        if (le == p) { p = next; continue; }
        const char *f[5];
        size_t fl[5], nf = 0;
        const char *s = p;
        for (;;) {
            const char *tab = memchr(s, '\t', (size_t)(le - s));
            const char *fe = tab ? tab : le;
            if (nf < 5) { f[nf] = s; fl[nf] = (size_t)(fe - s); }
            nf++;
            if (!tab) break;
            s = tab + 1;
        }
        if (!(nf == 4 || (!is_gold && nf == 2))) {
            free(items);
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %zu tab-separated fields, expected %s", name, line, nf,
                               is_gold ? "4 (id, text, emotion, score)" : "4 (id, text, emotion, score) or 2 (id, score)");
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 256;
            tsv_item *ni = nc <= SIZE_MAX / sizeof *ni ? realloc(items, nc * sizeof *ni) : NULL;
            if (!ni) { free(items); return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory at line %zu", name, line); }
            items = ni;
            cap = nc;
        }
        tsv_item *it = &items[n];
        it->id = f[0];
        it->id_len = fl[0];
        it->emo = nf == 4 ? f[2] : NULL;
        it->emo_len = nf == 4 ? fl[2] : 0;
        it->line = line;
        it->used = 0;
        const char *sc = f[nf - 1];
        if (fl[0] == 0 || parse_score(sc, fl[nf - 1], &it->score)) {
            free(items);
            return affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %s", name, line,
                               fl[0] == 0 ? "empty id" : "the score is not a finite number");
        }
        n++;
        p = next;
    }
    *out = items;
    *n_out = n;
    return 0;
}

static int cmp_id(const tsv_item *a, const tsv_item *b) {
    size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
    int c = memcmp(a->id, b->id, n);
    if (c) return c;
    return (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

static int cmp_item(const void *a, const void *b) { return cmp_id(a, b); }

void eval_emoint_result_free(eval_emoint_result *r) {
    if (!r) return;
    if (r->emotion)
        for (size_t e = 0; e < r->n_emotions; e++) free(r->emotion[e]);
    free(r->emotion);
    free(r->count);
    free(r->r);
    memset(r, 0, sizeof *r);
}

/* Matching by id (not by line order) means a predictions file in any order scores the
 * same, and a missing, duplicated or foreign id is an error rather than a silent shift. */
int eval_emoint_score_text(const char *gold_name, const char *gold, size_t gold_len,
                           const char *pred_name, const char *pred, size_t pred_len,
                           eval_emoint_result *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    tsv_item *g = NULL, *pr = NULL;
    size_t ng = 0, np = 0, *emo_of = NULL;
    double *xs = NULL;
    int rc = parse_tsv(gold_name, gold, gold_len, 1, &g, &ng, err);
    if (rc) return rc;
    if ((rc = parse_tsv(pred_name, pred, pred_len, 0, &pr, &np, err))) goto done;
    if (ng == 0) { rc = affect_fail(err, AFFECT_EFORMAT, "%s: no gold lines", gold_name); goto done; }
    qsort(pr, np, sizeof *pr, cmp_item);
    for (size_t i = 1; i < np; i++)
        if (!cmp_id(&pr[i - 1], &pr[i])) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: id '%.*s' is predicted twice", pred_name, pr[i].line,
                             (int)pr[i].id_len, pr[i].id);
            goto done;
        }
    emo_of = malloc(ng * sizeof *emo_of);
    xs = malloc(ng * sizeof *xs);
    out->emotion = calloc(ng, sizeof *out->emotion);
    out->count = calloc(ng, sizeof *out->count);
    out->r = malloc(ng * sizeof *out->r);
    if (!emo_of || !xs || !out->emotion || !out->count || !out->r) goto oom;
    for (size_t i = 0; i < ng; i++) {
        tsv_item *hit = bsearch(&g[i], pr, np, sizeof *pr, cmp_item);
        if (!hit || hit->used) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: %s for id '%.*s' in %s", gold_name, g[i].line,
                             hit ? "a second gold line" : "no prediction", (int)g[i].id_len, g[i].id, pred_name);
            goto done;
        }
        hit->used = 1;
        if (hit->emo && (hit->emo_len != g[i].emo_len || memcmp(hit->emo, g[i].emo, g[i].emo_len))) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: id '%.*s' is '%.*s' here but '%.*s' in %s", pred_name, hit->line,
                             (int)g[i].id_len, g[i].id, (int)hit->emo_len, hit->emo, (int)g[i].emo_len, g[i].emo, gold_name);
            goto done;
        }
        xs[i] = hit->score;
        size_t e = 0;
        while (e < out->n_emotions && (strlen(out->emotion[e]) != g[i].emo_len || memcmp(out->emotion[e], g[i].emo, g[i].emo_len))) e++;
        if (e == out->n_emotions) {
            char *name = malloc(g[i].emo_len + 1);
            if (!name) goto oom;
            memcpy(name, g[i].emo, g[i].emo_len);
            name[g[i].emo_len] = 0;
            out->emotion[out->n_emotions++] = name;
        }
        emo_of[i] = e;
        out->count[e]++;
    }
    for (size_t i = 0; i < np; i++)
        if (!pr[i].used) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: id '%.*s' is not in %s", pred_name, pr[i].line,
                             (int)pr[i].id_len, pr[i].id, gold_name);
            goto done;
        }
    /* gather each emotion's pairs contiguously, in gold order, and correlate them */
    double sum = 0.0;
    size_t defined = 0;
    double *gx = malloc(ng * sizeof *gx), *gy = malloc(ng * sizeof *gy);
    if (!gx || !gy) { free(gx); free(gy); goto oom; }
    for (size_t e = 0; e < out->n_emotions; e++) {
        size_t k = 0;
        for (size_t i = 0; i < ng; i++)
            if (emo_of[i] == e) { gx[k] = xs[i]; gy[k] = g[i].score; k++; }
        out->r[e] = eval_pearson(gx, 1, gy, 1, k);
        if (!isnan(out->r[e])) { sum += out->r[e]; defined++; }
    }
    free(gx);
    free(gy);
    out->mean_r = defined ? sum / (double)defined : NAN;
    rc = 0;
    goto done;
oom:
    rc = affect_fail(err, AFFECT_ENOMEM, "emoint: out of memory scoring %zu lines", ng);
done:
    if (rc) eval_emoint_result_free(out);
    free(g);
    free(pr);
    free(emo_of);
    free(xs);
    return rc;
}

int eval_emoint_score(const char *gold_path, const char *pred_path, eval_emoint_result *out,
                      affect_error *err) {
    char *gold = NULL, *pred = NULL;
    size_t gl = 0, pl = 0;
    memset(out, 0, sizeof *out);
    int rc = affect_read_file(gold_path, &gold, &gl, err);
    if (!rc) rc = affect_read_file(pred_path, &pred, &pl, err);
    if (!rc) rc = eval_emoint_score_text(gold_path, gold, gl, pred_path, pred, pl, out, err);
    free(gold);
    free(pred);
    return rc;
}
