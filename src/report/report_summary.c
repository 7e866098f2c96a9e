/* The one-paragraph verdict of a comparison, written from the numbers so that it can never
 * claim more than they show: significance comes only from the paired interval. */
#include "report/compare.h"
#include "report/report_buf.h"
#include "core/util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void report_format_bytes(double bytes, char *out, size_t outlen) {
    static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    if (!isfinite(bytes) || bytes < 0) { snprintf(out, outlen, "n/a"); return; }
    int u = 0;
    while (bytes >= 1024.0 && u < 4) { bytes /= 1024.0; u++; }
    if (u == 0) snprintf(out, outlen, "%.0f B", bytes);
    else snprintf(out, outlen, "%.1f %s", bytes, unit[u]);
}

void report_run_title(const report_run *r, char *out, size_t outlen) {
    snprintf(out, outlen, "%s (%s)", r->model, r->config);
}

/* "0.8123 (95% CI [0.8001, 0.8240])" or just "0.8123" without an interval. */
static void auc_with_ci(rbuf *b, const report_run *r, int pct) {
    rb_fixed(b, r->macro_auc, 4);
    if (isfinite(r->macro_ci[0]) && isfinite(r->macro_ci[1]))
        rb_printf(b, " (%d%% CI [%.4f, %.4f])", pct, r->macro_ci[0], r->macro_ci[1]);
}

int report_summary_build(report_comparison *c, affect_error *err) {
    json_buf jb = {0};
    rbuf b = {&jb, 0};
    char t0[600], t1[600], t2[600];
    int pct = (int)lround((c->opt.level > 0 ? c->opt.level : 0.95) * 100);
    const report_run *best = &c->runs[0];
    report_run_title(best, t0, sizeof t0);
    if (isnan(best->macro_auc)) {
        rb_printf(&b, "No run has a defined macro AUC, so none can be called best.");
    } else if (c->n_runs == 1) {
        rb_printf(&b, "Only one run was given: %s has a macro AUC of ", t0);
        auc_with_ci(&b, best, pct);
        rb_printf(&b, ".");
    } else {
        const report_run *second = &c->runs[1];
        report_run_title(second, t1, sizeof t1);
        rb_printf(&b, "%s has the highest macro AUC, ", t0);
        auc_with_ci(&b, best, pct);
        rb_printf(&b, ", ahead of %s at ", t1);
        rb_fixed(&b, second->macro_auc, 4);
        rb_put(&b, ".");
        if (c->paired) {
            int excl = c->diff_lo > 0.0 || c->diff_hi < 0.0;
            rb_printf(&b, " Its lead of %.4f is %s: the %d%% paired bootstrap interval on the same %zu test rows, [%.4f, %.4f], %s 0",
                      c->diff, excl ? "significant" : "not significant", pct, c->paired_rows, c->diff_lo, c->diff_hi,
                      excl ? "excludes" : "includes");
            rb_put(&b, excl ? "." : ", so this test set cannot tell the two apart.");
        } else if (!isnan(second->macro_auc)) {
            rb_printf(&b, " Whether its lead of %.4f is more than noise was not tested (%s).",
                      best->macro_auc - second->macro_auc, c->paired_note[0] ? c->paired_note : "no paired test");
        }
    }
    if (c->has_disagreement) {
        report_run_title(&c->runs[c->dis_hi], t1, sizeof t1);
        report_run_title(&c->runs[c->dis_lo], t2, sizeof t2);
        rb_printf(&b, " The runs disagree most on '%s': %s scores %.4f there and %s %.4f (a spread of %.4f).",
                  c->labels[c->dis_label], t1, c->auc[c->dis_hi * c->n_labels + c->dis_label], t2,
                  c->auc[c->dis_lo * c->n_labels + c->dis_label], c->dis_spread);
    }
    /* the size trade-off: the smallest run on the Pareto front, when it is not the best */
    const report_run *small = NULL;
    size_t sized = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        if (isfinite(r->model_bytes)) sized++;
        if (r->pareto && (!small || r->model_bytes < small->model_bytes)) small = r;
    }
    if (sized >= 2 && small && best->pareto && isfinite(best->model_bytes)) {
        char sz[32];
        int ties = 0;
        for (size_t i = 0; i < c->n_runs; i++)
            ties += &c->runs[i] != best && c->runs[i].model_bytes == best->model_bytes;
        if (small == best && ties) {
            rb_printf(&b, " Its model is no larger than any other compared (%zu %s the same size), so nothing is traded "
                          "for its accuracy.", (size_t)ties, ties == 1 ? "other is" : "others are");
        } else if (small == best) {
            rb_printf(&b, " It is also the smallest model compared, so nothing is traded for its accuracy.");
        } else {
            report_run_title(small, t1, sizeof t1);
            report_format_bytes(small->model_bytes, sz, sizeof sz);
            rb_printf(&b, " If size matters, %s is the smallest model on the size/accuracy Pareto front (%s, %.1fx smaller) at a macro AUC %.4f lower.",
                      t1, sz, small->model_bytes > 0 ? best->model_bytes / small->model_bytes : INFINITY,
                      best->macro_auc - small->macro_auc);
        }
    }
    if (b.oom) { json_buf_free(&jb); return affect_fail(err, AFFECT_ENOMEM, "out of memory writing the summary"); }
    free(c->summary);
    c->summary = jb.data;
    if (!c->summary) c->summary = calloc(1, 1);
    if (!c->summary) return affect_fail(err, AFFECT_ENOMEM, "out of memory writing the summary");
    return 0;
}
