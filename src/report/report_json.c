/* The comparison as one JSON object, for scripts and for tests that check the numbers
 * without parsing a table. Keys mirror analysis_metrics.json where they mean the same. */
#include "report/compare.h"
#include "report/report_buf.h"
#include "core/util/error.h"
#include <math.h>
#include <string.h>

static void pair(rbuf *b, const double v[2]) {
    rb_put(b, "[");
    rb_json_num(b, v[0]);
    rb_put(b, ",");
    rb_json_num(b, v[1]);
    rb_put(b, "]");
}

static void label_list(rbuf *b, const report_run *r, const size_t *idx, size_t n) {
    rb_put(b, "[");
    for (size_t i = 0; i < n; i++) {
        rb_put(b, i ? ",{\"label\":" : "{\"label\":");
        rb_json_str(b, r->label_names[idx[i]]);
        rb_put(b, ",\"auc\":");
        rb_json_num(b, r->per_label_auc[idx[i]]);
        rb_put(b, ",\"positives\":");
        rb_json_num(b, r->support[idx[i]]);
        rb_put(b, "}");
    }
    rb_put(b, "]");
}

int report_render_json(const report_comparison *c, json_buf *out, affect_error *err) {
    rbuf b = {out, 0};
    rb_put(&b, "{\"runs\":[");
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        rb_printf(&b, "%s{\"rank\":%zu,\"dir\":", i ? "," : "", i + 1);
        rb_json_str(&b, r->dir);
        rb_put(&b, ",\"name\":"); rb_json_str(&b, r->name);
        rb_put(&b, ",\"model\":"); rb_json_str(&b, r->model);
        rb_put(&b, ",\"config\":"); rb_json_str(&b, r->config);
        rb_put(&b, ",\"timestamp\":");
        if (r->timestamp) rb_json_str(&b, r->timestamp); else rb_put(&b, "null");
        rb_put(&b, ",\"micro_auc\":"); rb_json_num(&b, r->micro_auc);
        rb_put(&b, ",\"macro_auc\":"); rb_json_num(&b, r->macro_auc);
        rb_put(&b, ",\"micro_auc_ci\":"); pair(&b, r->micro_ci);
        rb_put(&b, ",\"macro_auc_ci\":"); pair(&b, r->macro_ci);
        rb_put(&b, ",\"model_bytes\":"); rb_json_num(&b, r->model_bytes);
        rb_put(&b, ",\"latency_ms\":"); rb_json_num(&b, r->latency_ms);
        rb_put(&b, ",\"n_params\":"); rb_json_num(&b, r->n_params);
        rb_printf(&b, ",\"pareto\":%s,\"best_labels\":", r->pareto ? "true" : "false");
        label_list(&b, r, r->best, r->n_best);
        rb_put(&b, ",\"worst_labels\":");
        label_list(&b, r, r->worst, r->n_worst);
        rb_put(&b, "}");
    }
    rb_put(&b, "],\"labels\":[");
    for (size_t j = 0; j < c->n_labels; j++) {
        if (j) rb_put(&b, ",");
        rb_json_str(&b, c->labels[j]);
    }
    rb_put(&b, "],\"per_label_auc\":[");
    for (size_t i = 0; i < c->n_runs; i++) {
        rb_put(&b, i ? ",[" : "[");
        for (size_t j = 0; j < c->n_labels; j++) {
            if (j) rb_put(&b, ",");
            rb_json_num(&b, c->auc[i * c->n_labels + j]);
        }
        rb_put(&b, "]");
    }
    rb_put(&b, "],\"paired\":");
    if (c->paired) {
        rb_put(&b, "{\"a\":"); rb_json_str(&b, c->runs[0].dir);
        rb_put(&b, ",\"b\":"); rb_json_str(&b, c->runs[1].dir);
        rb_put(&b, ",\"macro_auc_a\":"); rb_json_num(&b, c->paired_macro[0]);
        rb_put(&b, ",\"macro_auc_b\":"); rb_json_num(&b, c->paired_macro[1]);
        rb_put(&b, ",\"diff\":"); rb_json_num(&b, c->diff);
        double ci[2] = {c->diff_lo, c->diff_hi};
        rb_put(&b, ",\"diff_ci\":"); pair(&b, ci);
        rb_put(&b, ",\"frac_diff_le0\":"); rb_json_num(&b, c->frac_le0);
        rb_printf(&b, ",\"excludes_zero\":%s", c->diff_lo > 0.0 || c->diff_hi < 0.0 ? "true" : "false");
        rb_printf(&b, ",\"n_rows\":%zu,\"n_labels\":%zu,\"resamples\":%zu,\"used\":%zu,\"seed\":%llu,\"level\":", c->paired_rows,
                  c->paired_labels, c->opt.bootstrap, c->paired_used, (unsigned long long)c->opt.seed);
        rb_json_num(&b, c->opt.level);
        rb_put(&b, "}");
    } else {
        rb_put(&b, "null");
    }
    rb_put(&b, ",\"paired_note\":");
    if (!c->paired && c->paired_note[0]) rb_json_str(&b, c->paired_note); else rb_put(&b, "null");
    rb_put(&b, ",\"disagreement\":");
    if (c->has_disagreement) {
        rb_put(&b, "{\"label\":"); rb_json_str(&b, c->labels[c->dis_label]);
        rb_put(&b, ",\"spread\":"); rb_json_num(&b, c->dis_spread);
        rb_put(&b, ",\"high\":"); rb_json_str(&b, c->runs[c->dis_hi].dir);
        rb_put(&b, ",\"high_auc\":"); rb_json_num(&b, c->auc[c->dis_hi * c->n_labels + c->dis_label]);
        rb_put(&b, ",\"low\":"); rb_json_str(&b, c->runs[c->dis_lo].dir);
        rb_put(&b, ",\"low_auc\":"); rb_json_num(&b, c->auc[c->dis_lo * c->n_labels + c->dis_label]);
        rb_put(&b, "}");
    } else {
        rb_put(&b, "null");
    }
    rb_put(&b, ",\"pareto\":[");
    int first = 1;
    for (size_t i = 0; i < c->n_runs; i++)
        if (c->runs[i].pareto) { if (!first) rb_put(&b, ","); first = 0; rb_json_str(&b, c->runs[i].dir); }
    rb_put(&b, "],\"summary\":");
    rb_json_str(&b, c->summary);
    rb_put(&b, "}\n");
    if (b.oom) return affect_fail(err, AFFECT_ENOMEM, "out of memory writing JSON");
    return 0;
}
