/* The comparison as terminal text (plain, or ANSI-coloured for a TTY) and as Markdown: the
 * same tables and sentences, two spellings. */
#include "report/compare.h"
#include "report/report_buf.h"
#include "core/util/error.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ANSI_BOLD "\x1b[1m"
#define ANSI_DIM "\x1b[2m"
#define ANSI_GREEN "\x1b[32m"
#define ANSI_YELLOW "\x1b[33m"
#define ANSI_CYAN "\x1b[36m"
#define ANSI_RESET "\x1b[0m"

/* A table of short strings, laid out once for both outputs. Cells are appended row by row. */
typedef struct tbl {
    size_t ncols, ncells, cap;
    const char *head[16];
    int right[16];           /* 1 = right-aligned (numbers) */
    char scratch[32];        /* a header built at run time */
    char **cell;
    const char *style[64];   /* per-row ANSI prefix for the text form (first 64 rows) */
    int oom;
} tbl;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void tbl_cell(tbl *t, const char *fmt, ...) {
    if (t->oom) return;
    if (t->ncells == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        char **n = realloc(t->cell, nc * sizeof *n);
        if (!n) { t->oom = 1; return; }
        t->cell = n;
        t->cap = nc;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) { t->oom = 1; return; }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->cell[t->ncells++] = s;
}

static void tbl_free(tbl *t) {
    for (size_t i = 0; i < t->ncells; i++) free(t->cell[i]);
    free(t->cell);
}

/* Text form: columns padded to their widest cell, two spaces apart, a dashed rule under
 * the header; `indent` spaces before each line. */
static void tbl_text(rbuf *b, const tbl *t, int color, int indent) {
    size_t w[16] = {0}, rows = t->ncells / t->ncols;
    for (size_t j = 0; j < t->ncols && j < 16; j++) {
        w[j] = rb_text_width(t->head[j]);
        for (size_t i = 0; i < rows; i++) {
            size_t cw = rb_text_width(t->cell[i * t->ncols + j]);
            if (cw > w[j]) w[j] = cw;
        }
    }
    for (int pass = -2; pass < (int)rows; pass++) {
        rb_printf(b, "%*s", indent, "");
        const char *style = pass == -2 ? ANSI_BOLD : pass >= 0 && pass < 64 ? t->style[pass] : NULL;
        if (color && style) rb_put(b, style);
        for (size_t j = 0; j < t->ncols && j < 16; j++) {
            if (j) rb_put(b, "  ");
            int last = j + 1 == t->ncols;
            if (pass == -1) { for (size_t k = 0; k < w[j]; k++) rb_put(b, "-"); continue; }
            const char *s = pass == -2 ? t->head[j] : t->cell[(size_t)pass * t->ncols + j];
            rb_term_pad(b, s, last && !t->right[j] ? 0 : w[j], t->right[j]);
        }
        if (color && style) rb_put(b, ANSI_RESET);
        rb_put(b, "\n");
    }
}

static void tbl_markdown(rbuf *b, const tbl *t) {
    size_t rows = t->ncells / t->ncols;
    rb_put(b, "|");
    for (size_t j = 0; j < t->ncols; j++) { rb_put(b, " "); rb_md(b, t->head[j]); rb_put(b, " |"); }
    rb_put(b, "\n|");
    for (size_t j = 0; j < t->ncols; j++) rb_put(b, t->right[j] ? " ---: |" : " --- |");
    rb_put(b, "\n");
    for (size_t i = 0; i < rows; i++) {
        rb_put(b, "|");
        for (size_t j = 0; j < t->ncols; j++) { rb_put(b, " "); rb_md(b, t->cell[i * t->ncols + j]); rb_put(b, " |"); }
        rb_put(b, "\n");
    }
}

static void fmt_num(char *o, size_t n, double v) {
    if (isfinite(v)) snprintf(o, n, "%.4f", v);
    else snprintf(o, n, "n/a");
}

/* The main table: one row per run, best first. */
static void runs_table(tbl *t, const report_comparison *c) {
    static const char *head[] = {"#", "run", "model", "config", "micro AUC", "macro AUC", "CI", "size", "latency"};
    static const int right[] = {1, 0, 0, 0, 1, 1, 0, 1, 1};
    t->ncols = 9;
    memcpy(t->head, head, sizeof head);
    memcpy(t->right, right, sizeof right);
    snprintf(t->scratch, sizeof t->scratch, "macro %d%% CI", (int)lround(c->opt.level * 100));
    t->head[6] = t->scratch;
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        char mi[32], ma[32], sz[32], lat[32], lo[32], hi[32];
        fmt_num(mi, sizeof mi, r->micro_auc);
        fmt_num(ma, sizeof ma, r->macro_auc);
        fmt_num(lo, sizeof lo, r->macro_ci[0]);
        fmt_num(hi, sizeof hi, r->macro_ci[1]);
        report_format_bytes(r->model_bytes, sz, sizeof sz);
        if (isfinite(r->latency_ms)) snprintf(lat, sizeof lat, "%.1f ms", r->latency_ms);
        else snprintf(lat, sizeof lat, "n/a");
        tbl_cell(t, "%zu", i + 1);
        tbl_cell(t, "%s", r->name);
        tbl_cell(t, "%s", r->model);
        tbl_cell(t, "%s", r->config);
        tbl_cell(t, "%s", mi);
        tbl_cell(t, "%s", ma);
        if (isnan(r->macro_ci[0]) && isnan(r->macro_ci[1])) tbl_cell(t, "n/a");
        else tbl_cell(t, "[%s, %s]", lo, hi);
        tbl_cell(t, "%s", sz);
        tbl_cell(t, "%s", lat);
        if (i < 64) t->style[i] = i == 0 ? ANSI_GREEN ANSI_BOLD : NULL;
    }
}

/* Five best next to five worst labels of one run. */
static void labels_table(tbl *t, const report_run *r) {
    static const char *head[] = {"best label", "AUC", "pos", "worst label", "AUC", "pos"};
    static const int right[] = {0, 1, 1, 0, 1, 1};
    t->ncols = 6;
    memcpy(t->head, head, sizeof head);
    memcpy(t->right, right, sizeof right);
    size_t rows = r->n_best > r->n_worst ? r->n_best : r->n_worst;
    for (size_t i = 0; i < rows; i++) {
        for (int side = 0; side < 2; side++) {
            size_t n = side ? r->n_worst : r->n_best, j = i < n ? (side ? r->worst[i] : r->best[i]) : 0;
            if (i >= n) { tbl_cell(t, "%s", ""); tbl_cell(t, "%s", ""); tbl_cell(t, "%s", ""); continue; }
            tbl_cell(t, "%s", r->label_names[j]);
            tbl_cell(t, "%.4f", r->per_label_auc[j]);
            if (isnan(r->support[j])) tbl_cell(t, "%s", "n/a");
            else tbl_cell(t, "%.0f", r->support[j]);
        }
    }
}

static size_t undefined_count(const report_run *r) {
    size_t k = 0;
    for (size_t j = 0; j < r->n_labels; j++) k += isnan(r->per_label_auc[j]);
    return k;
}

/* "grief, pride and 3 more": the labels whose AUC is undefined, escaped by `esc`. */
static void undefined_names(rbuf *b, const report_run *r, void (*esc)(rbuf *, const char *)) {
    size_t shown = 0, total = undefined_count(r);
    for (size_t j = 0; j < r->n_labels && shown < 3; j++)
        if (isnan(r->per_label_auc[j])) {
            if (shown) rb_put(b, ", ");
            esc(b, r->label_names[j]);
            shown++;
        }
    if (total > shown) rb_printf(b, " and %zu more", total - shown);
}

/* Greedy word wrap at `width` columns for the summary paragraph. */
static void wrap(rbuf *b, const char *s, size_t width) {
    size_t col = 0;
    while (*s) {
        while (*s == ' ') s++;
        const char *e = s;
        while (*e && *e != ' ') e++;
        if (e == s) break;
        char word[1024];
        size_t n = (size_t)(e - s) < sizeof word - 1 ? (size_t)(e - s) : sizeof word - 1;
        memcpy(word, s, n);
        word[n] = 0;
        size_t ww = rb_text_width(word);
        if (col && col + 1 + ww > width) { rb_put(b, "\n"); col = 0; }
        else if (col) { rb_put(b, " "); col++; }
        rb_term(b, word);
        col += ww;
        s = e;
    }
    rb_put(b, "\n");
}

static int finish(rbuf *b, tbl *t, affect_error *err) {
    int oom = b->oom || t->oom;
    tbl_free(t);
    memset(t, 0, sizeof *t);
    if (oom) return affect_fail(err, AFFECT_ENOMEM, "out of memory rendering the comparison");
    return 0;
}

int report_render_text(const report_comparison *c, int color, json_buf *out, affect_error *err) {
    rbuf b = {out, 0};
    tbl t;
    memset(&t, 0, sizeof t);
    const char *H = color ? ANSI_BOLD : "", *R = color ? ANSI_RESET : "";
    rb_printf(&b, "%s%zu run%s, %zu label%s, sorted by macro AUC%s\n\n", H, c->n_runs, c->n_runs == 1 ? "" : "s",
              c->n_labels, c->n_labels == 1 ? "" : "s", R);
    runs_table(&t, c);
    tbl_text(&b, &t, color, 0);
    if (finish(&b, &t, err)) return AFFECT_ENOMEM;

    rb_printf(&b, "\n%sBest and worst labels by per-label AUC%s\n", H, R);
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        char title[600];
        report_run_title(r, title, sizeof title);
        rb_printf(&b, "\n%s%zu. ", color ? ANSI_CYAN : "", i + 1);
        rb_term(&b, title);
        rb_put(&b, "  [");
        rb_term(&b, r->name);
        rb_printf(&b, "]%s", color ? ANSI_RESET : "");
        if (undefined_count(r)) { rb_put(&b, "  (undefined, skipped: "); undefined_names(&b, r, rb_term); rb_put(&b, ")"); }
        rb_put(&b, "\n");
        if (r->n_best == 0) { rb_put(&b, "   no label has a defined AUC\n"); continue; }
        labels_table(&t, r);
        tbl_text(&b, &t, 0, 3);
        if (finish(&b, &t, err)) return AFFECT_ENOMEM;
    }

    int pct = (int)lround(c->opt.level * 100);
    if (c->n_runs >= 2) {
        rb_printf(&b, "\n%sPaired bootstrap test of the top two%s\n", H, R);
        if (c->paired) {
            char t0[600], t1[600];
            report_run_title(&c->runs[0], t0, sizeof t0);
            report_run_title(&c->runs[1], t1, sizeof t1);
            int excl = c->diff_lo > 0.0 || c->diff_hi < 0.0;
            rb_printf(&b, "  same %zu test rows, %zu labels; %zu resamples (seed %llu), %zu usable\n", c->paired_rows,
                      c->paired_labels, c->opt.bootstrap, (unsigned long long)c->opt.seed, c->paired_used);
            rb_put(&b, "  A = 1. "); rb_term(&b, t0); rb_put(&b, "   macro AUC "); rb_fixed(&b, c->paired_macro[0], 4);
            rb_put(&b, "\n  B = 2. "); rb_term(&b, t1); rb_put(&b, "   macro AUC "); rb_fixed(&b, c->paired_macro[1], 4);
            rb_put(&b, "\n  A - B = "); rb_fixed(&b, c->diff, 4);
            rb_printf(&b, "   %d%% CI [", pct); rb_fixed(&b, c->diff_lo, 4); rb_put(&b, ", "); rb_fixed(&b, c->diff_hi, 4);
            rb_printf(&b, "]   %s%s%s\n", color ? (excl ? ANSI_GREEN ANSI_BOLD : ANSI_YELLOW) : "",
                      excl ? "excludes 0: significant" : "includes 0: not significant", R);
            rb_put(&b, "  share of resamples with A - B <= 0: "); rb_fixed(&b, c->frac_le0, 4); rb_put(&b, "\n");
        } else {
            rb_put(&b, "  "); rb_term(&b, c->paired_note); rb_put(&b, "\n");
        }
    }
    rb_printf(&b, "\n%sSummary%s\n", H, R);
    wrap(&b, c->summary, 88);
    return finish(&b, &t, err);
}

int report_render_markdown(const report_comparison *c, json_buf *out, affect_error *err) {
    rbuf b = {out, 0};
    tbl t;
    memset(&t, 0, sizeof t);
    rb_printf(&b, "## Model comparison\n\n%zu run%s, %zu label%s, sorted by macro AUC.\n\n", c->n_runs,
              c->n_runs == 1 ? "" : "s", c->n_labels, c->n_labels == 1 ? "" : "s");
    runs_table(&t, c);
    tbl_markdown(&b, &t);
    if (finish(&b, &t, err)) return AFFECT_ENOMEM;
    rb_put(&b, "\n### Best and worst labels by per-label AUC\n");
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        char title[600];
        report_run_title(r, title, sizeof title);
        rb_printf(&b, "\n**%zu. ", i + 1);
        rb_md(&b, title);
        rb_put(&b, "** (");
        rb_md(&b, r->name);
        rb_put(&b, ")");
        if (undefined_count(r)) { rb_put(&b, "; undefined, skipped: "); undefined_names(&b, r, rb_md); }
        rb_put(&b, "\n\n");
        if (r->n_best == 0) { rb_put(&b, "No label has a defined AUC.\n"); continue; }
        labels_table(&t, r);
        tbl_markdown(&b, &t);
        if (finish(&b, &t, err)) return AFFECT_ENOMEM;
    }
    int pct = (int)lround(c->opt.level * 100);
    if (c->n_runs >= 2) {
        rb_put(&b, "\n### Paired bootstrap test of the top two\n\n");
        if (c->paired) {
            char t0[600], t1[600];
            report_run_title(&c->runs[0], t0, sizeof t0);
            report_run_title(&c->runs[1], t1, sizeof t1);
            int excl = c->diff_lo > 0.0 || c->diff_hi < 0.0;
            rb_printf(&b, "- same %zu test rows, %zu labels; %zu resamples (seed %llu), %zu usable\n", c->paired_rows,
                      c->paired_labels, c->opt.bootstrap, (unsigned long long)c->opt.seed, c->paired_used);
            rb_put(&b, "- A = "); rb_md(&b, t0); rb_put(&b, ": macro AUC "); rb_fixed(&b, c->paired_macro[0], 4);
            rb_put(&b, "\n- B = "); rb_md(&b, t1); rb_put(&b, ": macro AUC "); rb_fixed(&b, c->paired_macro[1], 4);
            rb_put(&b, "\n- A - B = "); rb_fixed(&b, c->diff, 4);
            rb_printf(&b, ", %d%% CI [", pct); rb_fixed(&b, c->diff_lo, 4); rb_put(&b, ", "); rb_fixed(&b, c->diff_hi, 4);
            rb_printf(&b, "]: **%s**\n", excl ? "excludes 0: significant" : "includes 0: not significant");
            rb_put(&b, "- share of resamples with A - B <= 0: "); rb_fixed(&b, c->frac_le0, 4); rb_put(&b, "\n");
        } else {
            rb_md(&b, c->paired_note); rb_put(&b, "\n");
        }
    }
    rb_put(&b, "\n### Summary\n\n");
    rb_md(&b, c->summary);
    rb_put(&b, "\n");
    return finish(&b, &t, err);
}
