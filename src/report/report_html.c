/* The comparison as one self-contained HTML page: inline CSS and SVG only, no script, no
 * font, image or stylesheet from anywhere (a Content-Security-Policy of default-src 'none'
 * makes the browser enforce it). Every piece of text from the runs (model ids, configs,
 * paths, label names) goes through rb_html. Narrow screens scroll the wide parts
 * sideways instead of shrinking them. */
#include "report/compare.h"
#include "report/report_buf.h"
#include "report/svg.h"
#include "core/util/error.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *CSS =
    ":root{--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--bg:#fff;--soft:#f6f8fa;--blue:#2166ac;--red:#b2182b}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:15px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;"
    "color:var(--fg);background:var(--bg)}\n"
    "main{max-width:1100px;margin:0 auto;padding:16px}\n"
    "h1{font-size:1.5rem;margin:.2em 0}\n"
    "h2{font-size:1.15rem;margin:1.8em 0 .5em;border-bottom:1px solid var(--line);padding-bottom:.2em}\n"
    "h3{font-size:1rem;margin:.3em 0;overflow-wrap:anywhere}\n"
    "p{margin:.5em 0}.meta,.note{color:var(--muted);font-size:.9em}\n"
    ".summary{background:var(--soft);border-left:4px solid var(--blue);padding:10px 14px;overflow-wrap:anywhere}\n"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;max-width:100%}\n"
    "table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}\n"
    "th{background:var(--soft);font-weight:600}\n"
    ".num{text-align:right}\n"
    "tr.top td{font-weight:600;background:#eef5fb}\n"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(320px,100%),1fr));gap:14px}\n"
    ".card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:0}\n"
    ".card table{width:100%;table-layout:fixed;font-size:.9em}.card td,.card th{white-space:normal;overflow-wrap:break-word}\n"
    ".card td.num,.card th.num{width:3.9em;white-space:nowrap;padding-left:2px}\n"
    ".sig{color:#1a7f37;font-weight:600}.ns{color:#9a6700;font-weight:600}\n"
    "svg text{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}\n"
    ".chart{display:block;width:100%;max-width:520px;height:auto}.chart.roc{max-width:420px}\n"
    "td.wrap{white-space:normal;overflow-wrap:anywhere;min-width:9em}\n"
    ".legend{list-style:none;padding:0;margin:.4em 0}.legend li{margin:.15em 0;overflow-wrap:anywhere}\n"
    ".sw{display:inline-block;width:14px;height:14px;border-radius:3px;vertical-align:-2px;margin-right:6px}\n"
    "footer{margin:2em 0 1em;color:var(--muted);font-size:.85em}\n"
    "@media (max-width:600px){body{font-size:14px}main{padding:10px}th,td{padding:3px 6px}h1{font-size:1.3rem}}\n";

static void fixed(rbuf *b, double v, int d) { rb_fixed(b, v, d); }

/* "1.5 MiB" and friends, HTML-safe as they are. */
static void bytes(rbuf *b, double v) {
    char s[32];
    report_format_bytes(v, s, sizeof s);
    rb_put(b, s);
}

static void runs_table(rbuf *b, const report_comparison *c) {
    int pct = (int)lround(c->opt.level * 100);
    rb_printf(b, "<div class=\"scroll\"><table class=\"runs\"><thead><tr><th class=\"num\">#</th><th>run</th><th>model</th>"
                 "<th>config</th><th class=\"num\">micro AUC</th><th class=\"num\">macro AUC</th><th>macro %d%% CI</th>"
                 "<th class=\"num\">size</th><th class=\"num\">latency</th></tr></thead><tbody>\n", pct);
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        rb_printf(b, "<tr%s data-run=\"%zu\"><td class=\"num\">%zu</td><td title=\"", i == 0 ? " class=\"top\"" : "", i, i + 1);
        rb_html(b, r->dir);
        rb_put(b, "\">");
        rb_html(b, r->name);
        rb_put(b, "</td><td class=\"wrap\">");
        rb_html(b, r->model);
        rb_put(b, "</td><td class=\"wrap\">");
        rb_html(b, r->config);
        rb_put(b, "</td><td class=\"num\">");
        fixed(b, r->micro_auc, 4);
        rb_put(b, "</td><td class=\"num\">");
        fixed(b, r->macro_auc, 4);
        rb_put(b, "</td><td>");
        if (isnan(r->macro_ci[0]) && isnan(r->macro_ci[1])) rb_put(b, "n/a");
        else { rb_put(b, "["); fixed(b, r->macro_ci[0], 4); rb_put(b, ", "); fixed(b, r->macro_ci[1], 4); rb_put(b, "]"); }
        rb_put(b, "</td><td class=\"num\">");
        bytes(b, r->model_bytes);
        rb_put(b, "</td><td class=\"num\">");
        if (isfinite(r->latency_ms)) rb_printf(b, "%.1f ms", r->latency_ms); else rb_put(b, "n/a");
        rb_put(b, "</td></tr>\n");
    }
    rb_put(b, "</tbody></table></div>\n");
}

static void paired_section(rbuf *b, const report_comparison *c) {
    if (c->n_runs < 2) return;
    rb_put(b, "<h2 id=\"paired\">Paired bootstrap test of the top two</h2>\n");
    if (!c->paired) {
        rb_put(b, "<p class=\"note\">");
        rb_html(b, c->paired_note);
        rb_put(b, "</p>\n");
        return;
    }
    int pct = (int)lround(c->opt.level * 100);
    int excl = c->diff_lo > 0.0 || c->diff_hi < 0.0;
    char t0[600], t1[600];
    report_run_title(&c->runs[0], t0, sizeof t0);
    report_run_title(&c->runs[1], t1, sizeof t1);
    rb_put(b, "<p>Macro AUC of <b>");
    rb_html(b, t0);
    rb_put(b, "</b> minus that of <b>");
    rb_html(b, t1);
    rb_printf(b, "</b> on the same %zu test rows and %zu labels, resampled %zu times (seed %llu): <b>", c->paired_rows,
              c->paired_labels, c->opt.bootstrap, (unsigned long long)c->opt.seed);
    fixed(b, c->diff, 4);
    rb_printf(b, "</b>, %d%% interval [", pct);
    fixed(b, c->diff_lo, 4);
    rb_put(b, ", ");
    fixed(b, c->diff_hi, 4);
    rb_printf(b, "] &mdash; <span class=\"%s\" data-significant=\"%d\">%s</span>. Share of resamples where the "
                 "second run does as well or better: ",
              excl ? "sig" : "ns", excl, excl ? "excludes 0: significant" : "includes 0: not significant");
    fixed(b, c->frac_le0, 3);
    rb_put(b, ".</p>\n");
}

/* Heatmap geometry, in CSS pixels: a fixed size so cells stay legible and a narrow screen
 * scrolls instead of squeezing. */
#define HM_CELL_W 48
#define HM_CELL_H 30

static size_t clamp_chars(const char *s, size_t max) {
    size_t w = rb_text_width(s);
    return w < max ? w : max;
}

/* `s` cut to at most `max` code points, with an ellipsis when cut. */
static void html_short(rbuf *b, const char *s, size_t max) {
    if (rb_text_width(s) <= max) { rb_html(b, s); return; }
    char tmp[512];
    size_t k = 0, cps = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k < sizeof tmp - 4; p++) {
        if ((*p & 0xC0) != 0x80) { if (cps == max - 1) break; cps++; }
        tmp[k++] = (char)*p;
    }
    tmp[k] = 0;
    rb_html(b, tmp);
    rb_put(b, "\xE2\x80\xA6");
}

static void heatmap(rbuf *b, const report_comparison *c) {
    size_t name_chars = 4, label_chars = 4;
    for (size_t i = 0; i < c->n_runs; i++) {
        size_t w = clamp_chars(c->runs[i].name, 28) + 4;
        if (w > name_chars) name_chars = w;
    }
    for (size_t j = 0; j < c->n_labels; j++) {
        size_t w = clamp_chars(c->labels[j], 22);
        if (w > label_chars) label_chars = w;
    }
    int left = (int)(name_chars * 7.2) + 12;
    int top = (int)(label_chars * 6.6 * 0.82) + 18; /* labels at -55 degrees: sin(55) ~ 0.82 */
    int width = left + (int)c->n_labels * HM_CELL_W + 40, height = top + (int)c->n_runs * HM_CELL_H + 8;
    rb_printf(b, "<div class=\"scroll\"><svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                 "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"per-label AUC heatmap, %zu runs by %zu labels\" "
                 "data-runs=\"%zu\" data-labels=\"%zu\">\n",
              width, height, width, height, c->n_runs, c->n_labels, c->n_runs, c->n_labels);
    for (size_t j = 0; j < c->n_labels; j++) {
        int x = left + (int)j * HM_CELL_W + HM_CELL_W / 2, y = top - 6;
        rb_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"11\" transform=\"rotate(-55 %d %d)\"><title>", x, y, x, y);
        rb_html(b, c->labels[j]);
        rb_put(b, "</title>");
        html_short(b, c->labels[j], 22);
        rb_put(b, "</text>\n");
    }
    for (size_t i = 0; i < c->n_runs; i++) {
        int y = top + (int)i * HM_CELL_H;
        char title[600];
        report_run_title(&c->runs[i], title, sizeof title);
        rb_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" text-anchor=\"end\"%s><title>", left - 8, y + HM_CELL_H / 2 + 4,
                  i == 0 ? " font-weight=\"600\"" : "");
        rb_html(b, title);
        rb_printf(b, "</title>%zu. ", i + 1);
        html_short(b, c->runs[i].name, 28);
        rb_put(b, "</text>\n");
        for (size_t j = 0; j < c->n_labels; j++) {
            double v = c->auc[i * c->n_labels + j];
            int x = left + (int)j * HM_CELL_W, dark = 1;
            char col[8] = "#d0d0d0";
            if (!isnan(v)) svg_auc_color(v, col, &dark);
            rb_printf(b, "<g class=\"cell\" data-cell=\"%s\" data-run=\"%zu\" data-label=\"%zu\"><rect x=\"%d\" y=\"%d\" width=\"%d\" "
                         "height=\"%d\" fill=\"%s\" stroke=\"#fff\"/><text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"%s\">",
                      isnan(v) ? "na" : "auc", i, j, x, y, HM_CELL_W, HM_CELL_H, col, x + HM_CELL_W / 2, y + HM_CELL_H / 2 + 4,
                      dark ? "#1b1f24" : "#ffffff");
            if (isnan(v)) rb_put(b, "n/a");
            else rb_printf(b, "%.2f", v);
            rb_put(b, "</text><title>");
            rb_html(b, c->runs[i].name);
            rb_put(b, " \xC2\xB7 ");
            rb_html(b, c->labels[j]);
            rb_put(b, ": ");
            if (isnan(v)) rb_put(b, "undefined (one class in the test split, or label absent)");
            else rb_printf(b, "%.4f", v);
            rb_put(b, "</title></g>\n");
        }
    }
    rb_put(b, "</svg></div>\n");
    /* the legend: the same scale as a gradient with its anchor values */
    rb_put(b, "<svg class=\"chart\" style=\"max-width:360px\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 360 46\" role=\"img\" "
              "aria-label=\"colour scale\"><defs><linearGradient id=\"aucscale\" x1=\"0\" x2=\"1\" y1=\"0\" y2=\"0\">");
    for (int k = 0; k <= 10; k++) {
        char col[8];
        svg_scale_color(k / 10.0, col);
        rb_printf(b, "<stop offset=\"%d%%\" stop-color=\"%s\"/>", k * 10, col);
    }
    rb_put(b, "</linearGradient></defs><rect x=\"20\" y=\"4\" width=\"320\" height=\"14\" fill=\"url(#aucscale)\" stroke=\"#d0d7de\"/>");
    static const char *ticks[] = {"\xE2\x89\xA4" "0.5", "0.625", "0.75", "0.875", "1.0"};
    for (int k = 0; k < 5; k++)
        rb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"18\" y2=\"23\" stroke=\"#57606a\"/><text x=\"%d\" y=\"36\" font-size=\"11\" "
                     "text-anchor=\"middle\" fill=\"#57606a\">%s</text>",
                  20 + k * 80, 20 + k * 80, 20 + k * 80, ticks[k]);
    rb_put(b, "</svg>\n<p class=\"note\">Colour: ColorBrewer RdBu, diverging around AUC 0.75 (white); red below, blue above, "
              "darkest red at 0.5 (chance) or lower, darkest blue at 1.0. Grey cells marked n/a: the AUC is undefined (the "
              "label has one class in that run's test split) or the run has no such label.</p>\n");
}

static void best_worst(rbuf *b, const report_comparison *c) {
    rb_put(b, "<div class=\"grid\">\n");
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        char title[600];
        report_run_title(r, title, sizeof title);
        rb_printf(b, "<div class=\"card\"><h3>%zu. ", i + 1);
        rb_html(b, title);
        rb_put(b, "</h3>");
        if (r->n_best == 0) { rb_put(b, "<p class=\"note\">No label has a defined AUC.</p></div>\n"); continue; }
        rb_put(b, "<table><thead><tr><th>best</th><th class=\"num\">AUC</th><th class=\"num\">pos</th><th>worst</th>"
                  "<th class=\"num\">AUC</th><th class=\"num\">pos</th></tr></thead><tbody>");
        size_t rows = r->n_best > r->n_worst ? r->n_best : r->n_worst;
        for (size_t k = 0; k < rows; k++) {
            rb_put(b, "<tr>");
            for (int side = 0; side < 2; side++) {
                size_t n = side ? r->n_worst : r->n_best;
                if (k >= n) { rb_put(b, "<td></td><td></td><td></td>"); continue; }
                size_t j = side ? r->worst[k] : r->best[k];
                rb_put(b, "<td>");
                rb_html(b, r->label_names[j]);
                rb_put(b, "</td><td class=\"num\">");
                fixed(b, r->per_label_auc[j], 4);
                rb_put(b, "</td><td class=\"num\">");
                if (isnan(r->support[j])) rb_put(b, "n/a");
                else rb_printf(b, "%.0f", r->support[j]);
                rb_put(b, "</td>");
            }
            rb_put(b, "</tr>");
        }
        rb_put(b, "</tbody></table></div>\n");
    }
    rb_put(b, "</div>\n");
}

/* Plot area shared by the two charts: a square-ish frame with margins for tick labels. */
typedef struct frame { double x0, x1, y0, y1; /* pixel box */ } frame;

static void roc_chart(rbuf *b, const report_comparison *c) {
    if (c->n_roc == 0) {
        rb_put(b, "<p class=\"note\">");
        rb_html(b, c->roc_note[0] ? c->roc_note : "no ROC curves");
        rb_put(b, "</p>\n");
        return;
    }
    frame f = {46, 330, 14, 298};
    rb_put(b, "<svg class=\"chart roc\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 344 340\" role=\"img\" "
              "aria-label=\"ROC curves of the best run\">\n");
    for (int k = 0; k <= 4; k++) {
        double t = k / 4.0, x = f.x0 + t * (f.x1 - f.x0), y = f.y1 - t * (f.y1 - f.y0);
        rb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eaeef2\"/>", x, x, f.y0, f.y1);
        rb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eaeef2\"/>", f.x0, f.x1, y, y);
        rb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">%.2g</text>", x, f.y1 + 15, t);
        rb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">%.2g</text>\n", f.x0 - 5, y + 4, t);
    }
    rb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#8c959f\"/>", f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    rb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#8c959f\" stroke-dasharray=\"4 4\"/>\n", f.x0, f.y1, f.x1, f.y0);
    rb_printf(b, "<text x=\"%.1f\" y=\"334\" font-size=\"12\" text-anchor=\"middle\">false positive rate</text>", (f.x0 + f.x1) / 2);
    rb_printf(b, "<text x=\"12\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 12 %.1f)\">true positive rate</text>\n",
              (f.y0 + f.y1) / 2, (f.y0 + f.y1) / 2);
    static const char *colour[2] = {"#2166ac", "#b2182b"};
    for (size_t k = 0; k < c->n_roc; k++) {
        const report_roc *r = &c->roc[k];
        rb_printf(b, "<polyline class=\"roc-curve\" data-label=\"%zu\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", r->label, colour[k]);
        for (size_t p = 0; p < r->n; p++)
            rb_printf(b, "%s%.2f,%.2f", p ? " " : "", f.x0 + r->fpr[p] * (f.x1 - f.x0), f.y1 - r->tpr[p] * (f.y1 - f.y0));
        rb_put(b, "\"/>\n");
    }
    rb_put(b, "</svg>\n<ul class=\"legend\">");
    for (size_t k = 0; k < c->n_roc; k++) {
        const report_roc *r = &c->roc[k];
        rb_printf(b, "<li><span class=\"sw\" style=\"background:%s\"></span>%s label <b>", colour[k], k == 0 ? "best" : "worst");
        rb_html(b, c->labels[r->label]);
        rb_printf(b, "</b>: AUC %.4f (%zu positives, %zu negatives)</li>", r->auc, r->n_pos, r->n_neg);
    }
    rb_put(b, "</ul>\n");
    if (c->roc_note[0]) { rb_put(b, "<p class=\"note\">"); rb_html(b, c->roc_note); rb_put(b, "</p>\n"); }
}

/* Size against macro AUC, with the Pareto front (smaller and better) as a staircase. */
static void scatter(rbuf *b, const report_comparison *c) {
    double smin = INFINITY, smax = -INFINITY, amin = INFINITY, amax = -INFINITY;
    size_t placed = 0;
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        if (!isfinite(r->model_bytes) || !isfinite(r->macro_auc) || r->model_bytes <= 0) continue;
        placed++;
        smin = fmin(smin, r->model_bytes); smax = fmax(smax, r->model_bytes);
        amin = fmin(amin, r->macro_auc); amax = fmax(amax, r->macro_auc);
    }
    if (placed == 0) {
        rb_put(b, "<p class=\"note\">No run records model_bytes and a macro AUC, so there is nothing to place.</p>\n");
        return;
    }
    int logx = smax / smin >= 4.0;
    double xlo, xhi;
    if (logx) { xlo = log10(smin) - 0.08 * log10(smax / smin); xhi = log10(smax) + 0.08 * log10(smax / smin); }
    else {
        double pad = smax > smin ? 0.1 * (smax - smin) : 0.2 * smax;
        xlo = smin - pad; xhi = smax + pad;
        if (xlo < 0) xlo = 0;
    }
    double apad = amax > amin ? 0.12 * (amax - amin) : 0.01;
    double ylo = amin - apad, yhi = amax + apad;
    frame f = {64, 500, 14, 290};
#define SX(v) (f.x0 + ((logx ? log10(v) : (v)) - xlo) / (xhi - xlo) * (f.x1 - f.x0))
#define SY(v) (f.y1 - ((v) - ylo) / (yhi - ylo) * (f.y1 - f.y0))
    rb_put(b, "<svg class=\"chart scatter\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 520 336\" role=\"img\" "
              "aria-label=\"model size against macro AUC\">\n");
    /* ticks are round numbers in the unit the largest model is shown in (MiB for models) */
    static const char *unit_name[] = {"B", "KiB", "MiB", "GiB"};
    int ui = 0;
    double unit = 1.0;
    while (ui < 3 && smax / unit >= 1024.0) { unit *= 1024.0; ui++; }
    double ticks[32];
    size_t nt = logx ? svg_ticks_log(pow(10, xlo) / unit, pow(10, xhi) / unit, ticks, 32)
                     : svg_ticks_linear(xlo / unit, xhi / unit, 5, ticks, 32);
    if (logx && nt > 7) { /* many decades: powers of ten only */
        size_t k = 0;
        for (size_t i = 0; i < nt; i++) if (fabs(log10(ticks[i]) - round(log10(ticks[i]))) < 1e-9) ticks[k++] = ticks[i];
        nt = k;
    }
    for (size_t i = 0; i < nt; i++) {
        if (ticks[i] * unit <= 0) continue;
        double x = SX(ticks[i] * unit);
        rb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eaeef2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" "
                     "text-anchor=\"middle\" fill=\"#57606a\">%g %s</text>\n", x, x, f.y0, f.y1, x, f.y1 + 15, ticks[i], unit_name[ui]);
    }
    nt = svg_ticks_linear(ylo, yhi, 5, ticks, 32);
    for (size_t i = 0; i < nt; i++) {
        double y = SY(ticks[i]);
        rb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eaeef2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" "
                     "text-anchor=\"end\" fill=\"#57606a\">%.3f</text>\n", f.x0, f.x1, y, y, f.x0 - 5, y + 4, ticks[i]);
    }
    rb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#8c959f\"/>", f.x0, f.y0, f.x1 - f.x0, f.y1 - f.y0);
    rb_printf(b, "<text x=\"%.1f\" y=\"330\" font-size=\"14\" text-anchor=\"middle\">model size (model.safetensors%s)</text>",
              (f.x0 + f.x1) / 2, logx ? ", log scale" : "");
    rb_printf(b, "<text x=\"14\" y=\"%.1f\" font-size=\"14\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">macro AUC</text>\n",
              (f.y0 + f.y1) / 2, (f.y0 + f.y1) / 2);
    /* the front, smallest first: each step goes right at the previous AUC, then up */
    rb_put(b, "<polyline class=\"pareto\" fill=\"none\" stroke=\"#2166ac\" stroke-width=\"1.5\" stroke-dasharray=\"5 3\" points=\"");
    double last_y = NAN;
    int firstp = 1;
    for (;;) {
        const report_run *next = NULL;
        for (size_t i = 0; i < c->n_runs; i++) {
            const report_run *r = &c->runs[i];
            if (!r->pareto || r->model_bytes <= 0) continue;
            if (!firstp && !(SY(r->macro_auc) < last_y)) continue; /* already drawn: AUC rises along the front */
            if (!next || r->model_bytes < next->model_bytes) next = r;
        }
        if (!next) break;
        double x = SX(next->model_bytes), y = SY(next->macro_auc);
        if (!firstp) rb_printf(b, " %.1f,%.1f", x, last_y);
        rb_printf(b, "%s%.1f,%.1f", firstp ? "" : " ", x, y);
        last_y = y;
        firstp = 0;
    }
    rb_put(b, "\"/>\n");
    for (size_t i = 0; i < c->n_runs; i++) {
        const report_run *r = &c->runs[i];
        if (!isfinite(r->model_bytes) || !isfinite(r->macro_auc) || r->model_bytes <= 0) continue;
        double x = SX(r->model_bytes), y = SY(r->macro_auc);
        char title[600], sz[32];
        report_run_title(r, title, sizeof title);
        report_format_bytes(r->model_bytes, sz, sizeof sz);
        rb_printf(b, "<g class=\"point\" data-run=\"%zu\" data-pareto=\"%d\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"%s\" stroke=\"#2166ac\" "
                     "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"14\" font-weight=\"600\">%zu</text><title>",
                  i, r->pareto, x, y, r->pareto ? "#2166ac" : "#ffffff", x + 10, y - 8, i + 1);
        rb_html(b, title);
        rb_printf(b, ": %s, macro AUC %.4f</title></g>\n", sz, r->macro_auc);
    }
#undef SX
#undef SY
    rb_put(b, "</svg>\n<ul class=\"legend\"><li><span class=\"sw\" style=\"background:#2166ac\"></span>on the Pareto front "
              "(no other run is both at least as small and at least as accurate)</li><li><span class=\"sw\" style=\"border:2px "
              "solid #2166ac\"></span>dominated</li></ul>\n");
}

int report_render_html(const report_comparison *c, json_buf *out, affect_error *err) {
    rbuf b = {out, 0};
    rb_put(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    rb_printf(&b, "<title>affect compare: %zu run%s</title>\n<style>\n", c->n_runs, c->n_runs == 1 ? "" : "s");
    rb_put(&b, CSS);
    rb_put(&b, "</style>\n</head>\n<body>\n<main>\n<h1>Model comparison</h1>\n");
    rb_printf(&b, "<p class=\"meta\">%zu run%s, %zu label%s, sorted by macro AUC (best first).</p>\n", c->n_runs,
              c->n_runs == 1 ? "" : "s", c->n_labels, c->n_labels == 1 ? "" : "s");
    rb_put(&b, "<p class=\"summary\" id=\"summary\">");
    rb_html(&b, c->summary);
    rb_put(&b, "</p>\n<h2 id=\"runs\">Runs</h2>\n");
    runs_table(&b, c);
    paired_section(&b, c);
    rb_put(&b, "<h2 id=\"heatmap\">Per-label AUC</h2>\n");
    heatmap(&b, c);
    rb_put(&b, "<h2 id=\"labels\">Best and worst labels</h2>\n");
    best_worst(&b, c);
    rb_put(&b, "<h2 id=\"roc\">ROC curves of the best run</h2>\n<p class=\"note\">");
    char t0[600];
    report_run_title(&c->runs[0], t0, sizeof t0);
    rb_html(&b, t0);
    rb_put(&b, ", on its best and its worst label (computed from predictions.csv and labels.csv).</p>\n");
    roc_chart(&b, c);
    rb_put(&b, "<h2 id=\"size\">Size against accuracy</h2>\n");
    scatter(&b, c);
    rb_put(&b, "<footer>Written by <code>affect compare</code>. Run folders: ");
    for (size_t i = 0; i < c->n_runs; i++) {
        if (i) rb_put(&b, ", ");
        rb_put(&b, "<code>");
        rb_html(&b, c->runs[i].dir);
        rb_put(&b, "</code>");
    }
    rb_put(&b, ".</footer>\n</main>\n</body>\n</html>\n");
    if (b.oom) return affect_fail(err, AFFECT_ENOMEM, "out of memory writing the HTML report");
    return 0;
}
