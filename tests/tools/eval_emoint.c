/* eval_emoint GOLD PRED: prints the EmoInt scores of eval_emoint_score as one JSON object,
 * {"emotions":[...],"count":[...],"r":[...],"mean_r":x}, for tests/test_metrics_sklearn.py
 * to compare with scipy. Until the CLI wires EmoInt scoring, this is its only front end. */
#include "eval/metrics.h"
#include <math.h>
#include <stdio.h>

static void num(double v) {
    if (isfinite(v)) printf("%.17g", v);
    else fputs("null", stdout);
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: eval_emoint GOLD PRED\n"); return 2; }
    affect_error err = {0};
    eval_emoint_result r;
    if (eval_emoint_score(argv[1], argv[2], &r, &err)) {
        fprintf(stderr, "eval_emoint: %s\n", err.msg);
        return affect_exit_code(err.code);
    }
    printf("{\"emotions\":[");
    for (size_t e = 0; e < r.n_emotions; e++) printf("%s\"%s\"", e ? "," : "", r.emotion[e]);
    printf("],\"count\":[");
    for (size_t e = 0; e < r.n_emotions; e++) printf("%s%zu", e ? "," : "", r.count[e]);
    printf("],\"r\":[");
    for (size_t e = 0; e < r.n_emotions; e++) { if (e) putchar(','); num(r.r[e]); }
    printf("],\"mean_r\":");
    num(r.mean_r);
    printf("}\n");
    eval_emoint_result_free(&r);
    return 0;
}
