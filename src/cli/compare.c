/* affect compare RUN_DIR... [--html FILE] [--markdown] [--json] [--bootstrap N] [--seed S]
 *                           [--level L] [--color|--no-color]
 *
 * Ranks trained runs by macro AUC and says whether the winner's lead is real: a table, each
 * run's best and worst labels, a paired bootstrap of the top two on the same test rows, and
 * a summary paragraph; --html also writes a self-contained report with a per-label heatmap,
 * ROC curves and a size/accuracy chart (src/report/compare.h). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "common.h"
#include "core/util/error.h"
#include "report/compare.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "native/atomic_file.h"

static const char *USAGE =
    "usage: affect compare RUN_DIR... [--html FILE] [--markdown | --json] [--bootstrap N] [--seed S]\n"
    "                     [--level 0.95] [--color | --no-color]\n"
    "  RUN_DIR   a run folder with analysis_metrics.json (and predictions.csv + labels.csv for the\n"
    "            paired test and the ROC curves)\n";

static int usage_error(const char *msg, const char *arg) {
    fprintf(stderr, "affect compare: %s%s%s\n%s", msg, arg ? " " : "", arg ? arg : "", USAGE);
    return 2;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno || v > max) return -1;
    *out = v;
    return 0;
}

int cmd_compare(int argc, char **argv) {
    const char *html = NULL;
    int markdown = 0, json = 0, color = -1;
    report_options opt = {1000, 0, 0.95, 0};
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    size_t n = 0;
    if (!dirs) { fprintf(stderr, "affect compare: out of memory\n"); return 1; }
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { fputs(USAGE, stdout); free(dirs); return 0; }
        else if (!strcmp(a, "--markdown")) markdown = 1;
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--color")) color = 1;
        else if (!strcmp(a, "--no-color")) color = 0;
        else if (!strcmp(a, "--html") || !strcmp(a, "--bootstrap") || !strcmp(a, "--seed") || !strcmp(a, "--level")) {
            if (i + 1 >= argc) { rc = usage_error("missing value for", a); break; }
            const char *v = argv[++i];
            uint64_t u;
            if (!strcmp(a, "--html")) html = v;
            else if (!strcmp(a, "--bootstrap")) {
                if (parse_u64(v, 100000000, &u)) rc = usage_error("--bootstrap needs a count (0 = no paired test), got", v);
                else opt.bootstrap = (size_t)u;
            } else if (!strcmp(a, "--seed")) {
                if (parse_u64(v, UINT64_MAX, &opt.seed)) rc = usage_error("--seed needs a non-negative integer, got", v);
            } else {
                char *end;
                opt.level = strtod(v, &end);
                if (*end || !(opt.level > 0.0 && opt.level < 1.0)) rc = usage_error("--level must be in (0,1), got", v);
            }
        } else if (a[0] == '-' && a[1] == '-') rc = usage_error("unknown option", a);
        else dirs[n++] = a;
    }
    if (!rc && markdown && json) rc = usage_error("--markdown and --json are two different outputs: pick one", NULL);
    if (!rc && n == 0) rc = usage_error("give at least one run folder", NULL);
    if (rc) { free(dirs); return rc; }

    opt.want_roc = html != NULL;
    affect_error err = {0};
    report_comparison c;
    if ((rc = report_compare_load(&c, dirs, n, &opt, &err))) { free(dirs); return cli_error("compare", &err); }
    free(dirs);
    json_buf out = {0};
    if (json) rc = report_render_json(&c, &out, &err);
    else if (markdown) rc = report_render_markdown(&c, &out, &err);
    else {
        /* colours only for a person at a terminal, and never when NO_COLOR is set */
        if (color < 0) color = isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
        rc = report_render_text(&c, color, &out, &err);
    }
    if (!rc && html) {
        json_buf page = {0};
        rc = report_render_html(&c, &page, &err);
        if (!rc) rc = affect_file_write_atomic(html, page.data, page.len, &err);
        json_buf_free(&page);
    }
    if (!rc) {
        fwrite(out.data, 1, out.len, stdout);
        if (fflush(stdout) != 0) rc = affect_fail(&err, AFFECT_EIO, "cannot write to standard output");
        if (!rc && html) fprintf(stderr, "affect compare: wrote %s\n", html);
    }
    json_buf_free(&out);
    report_comparison_free(&c);
    return rc ? cli_error("compare", &err) : 0;
}
