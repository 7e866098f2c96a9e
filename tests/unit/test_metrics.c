/* Hand-computed cases and error paths of src/eval (the sklearn comparison lives in
 * tests/test_metrics_sklearn.py). */
#include "eval/metrics.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)
#define NEAR(a, b) CHECK(fabs((a) - (b)) < 1e-15)

static void test_auc_ap(void) {
    affect_error err = {0};
    double s[] = {0.1, 0.4, 0.35, 0.8}, y[] = {0, 0, 1, 1}, v;
    CHECK(eval_roc_auc(s, y, 4, 1, &v, &err) == 0); NEAR(v, 0.75);
    CHECK(eval_average_precision(s, y, 4, 1, &v, &err) == 0); NEAR(v, (1.0 + 2.0 / 3.0) / 2.0);
    /* ties: one positive and one negative at the same score count half */
    double st[] = {0.5, 0.5, 0.9, 0.1}, yt[] = {1, 0, 1, 0};
    CHECK(eval_roc_auc(st, yt, 4, 1, &v, &err) == 0); NEAR(v, (2.0 + 1.0 + 0.5) / 4.0);
    /* AP with a tied run: run {0.9}: P=1 R=.5 ; run {0.5,0.5}: P=2/3 R=1 */
    CHECK(eval_average_precision(st, yt, 4, 1, &v, &err) == 0); NEAR(v, 0.5 * 1.0 + 0.5 * (2.0 / 3.0));
    double eq[] = {0.3, 0.3, 0.3}, yeq[] = {1, 0, 1};
    CHECK(eval_roc_auc(eq, yeq, 3, 1, &v, &err) == 0); NEAR(v, 0.5);
    /* one class: undefined, never 0 or 0.5 */
    double y0[] = {0, 0, 0, 0}, y1[] = {1, 1, 1, 1};
    CHECK(eval_roc_auc(s, y0, 4, 1, &v, &err) == 0); CHECK(isnan(v));
    CHECK(eval_roc_auc(s, y1, 4, 1, &v, &err) == 0); CHECK(isnan(v));
    CHECK(eval_average_precision(s, y0, 4, 1, &v, &err) == 0); CHECK(isnan(v));
    CHECK(eval_average_precision(s, y1, 4, 1, &v, &err) == 0); NEAR(v, 1.0);
    CHECK(eval_roc_auc(s, y, 0, 1, &v, &err) == 0); CHECK(isnan(v));
    /* strided column of a row-major (4,2) matrix */
    double M[] = {0.1, 9, 0.4, 9, 0.35, 9, 0.8, 9}, Y[] = {0, 1, 0, 1, 1, 1, 1, 1};
    CHECK(eval_roc_auc(M, Y, 4, 2, &v, &err) == 0); NEAR(v, 0.75);
    /* errors */
    double ybad[] = {0, 0.5, 1, 1};
    CHECK(eval_roc_auc(s, ybad, 4, 1, &v, &err) == AFFECT_EARG); CHECK(strstr(err.msg, "not 0 or 1") != NULL);
    double sinf[] = {0.1, INFINITY, 0.2, 0.3};
    CHECK(eval_roc_auc(sinf, y, 4, 1, &v, &err) == AFFECT_EARG); CHECK(strstr(err.msg, "not finite") != NULL);
}

/* Weights must act exactly like repeated rows (the bootstrap relies on it). */
static void test_weights(void) {
    affect_error err = {0};
    double s[] = {0.2, 0.7, 0.7, 0.1, 0.9}, y[] = {1, 0, 1, 0, 1};
    uint32_t w[] = {2, 0, 3, 1, 1};
    double sr[] = {0.2, 0.2, 0.7, 0.7, 0.7, 0.1, 0.9}, yr[] = {1, 1, 1, 1, 1, 0, 1};
    eval_ranking r;
    CHECK(eval_ranking_build(&r, s, y, 5, 1, 1, &err) == 0);
    double a, p;
    CHECK(eval_roc_auc(sr, yr, 7, 1, &a, &err) == 0);
    CHECK(eval_average_precision(sr, yr, 7, 1, &p, &err) == 0);
    NEAR(eval_ranking_auc(&r, w), a);
    NEAR(eval_ranking_ap(&r, w), p);
    eval_ranking_free(&r);
}

static void test_sort(void) {
    double k[] = {1, 3, 2, 3, 1, 3};
    size_t idx[6] = {0, 1, 2, 3, 4, 5}, tmp[6];
    eval_sort_desc(idx, tmp, 6, k, 1);
    size_t want[] = {1, 3, 5, 2, 0, 4}; /* stable: equal keys keep input order */
    for (int i = 0; i < 6; i++) CHECK(idx[i] == want[i]);
}

static void test_summary(void) {
    affect_error err = {0};
    /* 4 rows x 2 labels; label 1 has no positives */
    double P[] = {0.1, 0.5, 0.4, 0.2, 0.35, 0.9, 0.8, 0.3};
    double Y[] = {0, 0, 0, 0, 1, 0, 1, 0};
    eval_summary s;
    CHECK(eval_summary_compute(&s, P, Y, 4, 2, &err) == 0);
    NEAR(s.per_label_auc[0], 0.75);
    CHECK(isnan(s.per_label_auc[1]) && isnan(s.per_label_ap[1]));
    NEAR(s.macro_auc, 0.75);
    CHECK(s.support[0] == 2 && s.support[1] == 0 && s.n_defined_auc == 1);
    /* micro: positives 0.35, 0.8 vs 6 negatives: 0.8 beats 5 (not 0.9), 0.35 beats 3 */
    NEAR(s.micro_auc, (5.0 + 3.0) / 12.0);
    eval_summary_free(&s);
}

static void test_thresholds(void) {
    affect_error err = {0};
    double t, f;
    double s[] = {0.9, 0.8, 0.7, 0.6}, y[] = {1, 0, 0, 1};
    CHECK(eval_choose_threshold(s, y, 4, 1, &t, &f, &err) == 0);
    CHECK(t == 0.9); NEAR(f, 2.0 / 3.0); /* tie with 0.6 (F1 4/6): the higher wins */
    double y0[] = {0, 0, 0, 0};
    CHECK(eval_choose_threshold(s, y0, 4, 1, &t, &f, &err) == 0);
    CHECK(isinf(t) && t > 0 && f == 0.0);
    eval_prf p;
    CHECK(eval_prf_at(s, y, 4, 1, 0.7, &p, &err) == 0);
    CHECK(p.tp == 1 && p.fp == 2 && p.fn == 1);
    NEAR(p.precision, 1.0 / 3.0); NEAR(p.recall, 0.5); NEAR(p.f1, 2.0 / 5.0);
    CHECK(eval_prf_at(s, y0, 4, 1, INFINITY, &p, &err) == 0);
    CHECK(p.tp == 0 && p.precision == 0.0 && p.recall == 0.0 && p.f1 == 0.0);
}

static void test_pearson(void) {
    double x[] = {1, 2, 3, 4}, y[] = {1, 3, 2, 4}, z[] = {2, 4, 6, 8}, c[] = {0.1, 0.1, 0.1, 0.1};
    NEAR(eval_pearson(x, 1, y, 1, 4), 0.8);
    NEAR(eval_pearson(x, 1, z, 1, 4), 1.0);
    CHECK(isnan(eval_pearson(x, 1, c, 1, 4)));
    CHECK(isnan(eval_pearson(x, 1, y, 1, 1)));
}

static void test_bootstrap(void) {
    /* splitmix64 seeded with 0: first output 0xE220A8397B1DCDAF (the reference value) */
    CHECK(eval_splitmix64_mix(0x9E3779B97F4A7C15ULL) == 0xE220A8397B1DCDAFULL);
    uint32_t a[37], b[37];
    eval_bootstrap_counts(5, 3, 37, a);
    eval_bootstrap_counts(5, 3, 37, b);
    uint32_t sum = 0;
    for (int i = 0; i < 37; i++) { sum += a[i]; CHECK(a[i] == b[i]); }
    CHECK(sum == 37);
    eval_bootstrap_counts(5, 4, 37, b);
    CHECK(memcmp(a, b, sizeof a) != 0);
    double v[] = {1, 2, 3, 4};
    NEAR(eval_percentile_linear(v, 4, 0.25), 1.75);
    NEAR(eval_percentile_linear(v, 4, 1.0), 4.0);
    NEAR(eval_percentile_linear(v, 1, 0.5), 1.0);

    affect_error err = {0};
    double P[] = {0.1, 0.4, 0.35, 0.8, 0.2, 0.6}, Y[] = {0, 0, 1, 1, 0, 1};
    eval_bootstrap_result r1, r2;
    CHECK(eval_bootstrap_auc(P, NULL, Y, 6, 1, 200, 9, 0.95, &r1, &err) == 0);
    CHECK(eval_bootstrap_auc(P, NULL, Y, 6, 1, 200, 9, 0.95, &r2, &err) == 0);
    CHECK(r1.macro_auc.lo == r2.macro_auc.lo && r1.macro_auc.hi == r2.macro_auc.hi);
    CHECK(r1.macro_auc.used > 150 && r1.macro_auc.used < 200); /* 6 rows: some resamples one class */
    CHECK(r1.macro_auc.lo <= r1.macro_auc.hi && r1.macro_auc.hi <= 1.0);
    CHECK(eval_bootstrap_auc(P, P, Y, 6, 1, 50, 9, 0.95, &r1, &err) == 0);
    CHECK(r1.diff == 0.0 && r1.diff_ci.lo == 0.0 && r1.diff_ci.hi == 0.0 && r1.frac_diff_le0 == 1.0);
    double Y0[] = {0, 0, 0, 0, 0, 0};
    CHECK(eval_bootstrap_auc(P, NULL, Y0, 6, 1, 20, 1, 0.95, &r1, &err) == 0);
    CHECK(r1.micro_auc.used == 0 && isnan(r1.micro_auc.lo) && isnan(r1.macro_auc.hi));
    CHECK(eval_bootstrap_auc(P, NULL, Y, 6, 1, 0, 1, 0.95, &r1, &err) == AFFECT_EARG);
    CHECK(eval_bootstrap_auc(P, NULL, Y, 6, 1, 10, 1, 1.5, &r1, &err) == AFFECT_EARG);
}

static int parse(const char *text, eval_csv_matrix *m, affect_error *err) {
    return eval_csv_matrix_parse("t.csv", text, strlen(text), m, err);
}

static void expect_csv_error(const char *text, const char *needle) {
    affect_error err = {0};
    eval_csv_matrix m;
    int rc = parse(text, &m, &err);
    CHECK(rc == AFFECT_EFORMAT);
    if (!strstr(err.msg, needle)) { fprintf(stderr, "csv error '%s' lacks '%s'\n", err.msg, needle); failures++; }
}

static void test_csv(void) {
    affect_error err = {0};
    eval_csv_matrix m;
    CHECK(parse("\xEF\xBB\xBFtext_id,\"a,b\",\"q\"\"\"\r\n\"x\ny\",1,2e-1\r\n\r\nz, 3 ,4", &m, &err) == 0);
    CHECK(m.rows == 2 && m.cols == 2 && m.id_name && !strcmp(m.id_name, "text_id"));
    CHECK(!strcmp(m.names[0], "a,b") && !strcmp(m.names[1], "q\""));
    CHECK(!strcmp(m.ids[0], "x\ny") && !strcmp(m.ids[1], "z"));
    CHECK(m.v[0] == 1.0 && m.v[1] == 0.2 && m.v[2] == 3.0 && m.v[3] == 4.0);
    CHECK(m.line[0] == 2 && m.line[1] == 5);
    CHECK(eval_csv_matrix_column(&m, "q\"") == 1 && eval_csv_matrix_column(&m, "nope") == -1);
    eval_csv_matrix_free(&m);
    CHECK(parse("a\n", &m, &err) == 0 && m.rows == 0 && m.ids == NULL);
    eval_csv_matrix_free(&m);
    expect_csv_error("", "t.csv: empty file");
    expect_csv_error("a,b\n1,2\n3\n", "t.csv:3: 1 fields, but the header has 2");
    expect_csv_error("a,b\n1,nan\n", "t.csv:2: column 'b' is NaN");
    expect_csv_error("a,b\n1,x\n", "t.csv:2: column 'b': 'x' is not a number");
    expect_csv_error("a,b\n1,-inf\n", "not finite");
    expect_csv_error("a,b\n1,\n", "t.csv:2: empty cell in column 'b'");
    expect_csv_error("a,b\n1,2\"\n", "t.csv:2: stray quote");
    expect_csv_error("a,b\n\"1\nx,2\n", "t.csv:2: quoted field 1 never closes");
    expect_csv_error("a,b\n\"1\"x,2\n", "after the closing quote");
    expect_csv_error("a,a\n1,2\n", "label 'a' appears twice");
    expect_csv_error("a,,b\n1,2,3\n", "header column 2 is empty");
    expect_csv_error("id\nx\n", "names no label columns");
}

static void test_emoint(void) {
    affect_error err = {0};
    eval_emoint_result r;
    const char *gold = "1\tt a\tjoy\t0.1\n2\tt b\tjoy\t0.2\n3\tt c\tjoy\t0.3\n4\tt\tfear\t0.5\n5\tt\tfear\t0.7\n";
    const char *pred = "5\t0.9\r\n3\t0.25\n1\t0.1\n2\t0.3\n4\tt\tfear\t0.6\n";
    CHECK(eval_emoint_score_text("g", gold, strlen(gold), "p", pred, strlen(pred), &r, &err) == 0);
    CHECK(r.n_emotions == 2 && !strcmp(r.emotion[0], "joy") && !strcmp(r.emotion[1], "fear"));
    CHECK(r.count[0] == 3 && r.count[1] == 2);
    /* joy: x = (0.1,0.3,0.25), y = (0.1,0.2,0.3): r = 0.015 / sqrt(0.021667 * 0.02) = 0.720577 */
    double x[] = {0.1, 0.3, 0.25}, y[] = {0.1, 0.2, 0.3};
    NEAR(r.r[0], eval_pearson(x, 1, y, 1, 3));
    CHECK(fabs(r.r[0] - 0.720577) < 1e-6);
    NEAR(r.r[1], 1.0);
    NEAR(r.mean_r, (r.r[0] + 1.0) / 2.0);
    eval_emoint_result_free(&r);
    const char *missing = "1\t0.1\n2\t0.2\n3\t0.3\n4\t0.4\n";
    CHECK(eval_emoint_score_text("g", gold, strlen(gold), "p", missing, strlen(missing), &r, &err) == AFFECT_EFORMAT);
    CHECK(strstr(err.msg, "g:5: no prediction for id '5'") != NULL);
    const char *dup = "1\t0.1\n2\t0.2\n3\t0.3\n4\t0.4\n5\t1\n1\t0.5\n";
    CHECK(eval_emoint_score_text("g", gold, strlen(gold), "p", dup, strlen(dup), &r, &err) == AFFECT_EFORMAT);
    CHECK(strstr(err.msg, "predicted twice") != NULL);
    const char *extra = "1\t0.1\n2\t0.2\n3\t0.3\n4\t0.4\n5\t1\n9\t0.5\n";
    CHECK(eval_emoint_score_text("g", gold, strlen(gold), "p", extra, strlen(extra), &r, &err) == AFFECT_EFORMAT);
    CHECK(strstr(err.msg, "p:6: id '9' is not in g") != NULL);
    const char *wrong = "1\t0.1\tx\n";
    CHECK(eval_emoint_score_text("g", gold, strlen(gold), "p", wrong, strlen(wrong), &r, &err) == AFFECT_EFORMAT);
    CHECK(strstr(err.msg, "p:1: 3 tab-separated fields") != NULL);
    const char *emo = "1\tt\tanger\t0.1\n2\t0.2\n3\t0.3\n4\t0.4\n5\t1\n";
    CHECK(eval_emoint_score_text("g", gold, strlen(gold), "p", emo, strlen(emo), &r, &err) == AFFECT_EFORMAT);
    CHECK(strstr(err.msg, "'anger' here but 'joy'") != NULL);
    const char *badscore = "1\tt a\tjoy\tabc\n";
    CHECK(eval_emoint_score_text("g", badscore, strlen(badscore), "p", pred, strlen(pred), &r, &err) == AFFECT_EFORMAT);
    CHECK(strstr(err.msg, "g:1: the score is not a finite number") != NULL);
    CHECK(eval_emoint_score("/nonexistent/gold.txt", "/nonexistent/p.txt", &r, &err) != 0);
}

int main(void) {
    test_auc_ap();
    test_weights();
    test_sort();
    test_summary();
    test_thresholds();
    test_pearson();
    test_bootstrap();
    test_csv();
    test_emoint();
    if (failures) { fprintf(stderr, "test_metrics: %d failures\n", failures); return 1; }
    printf("test_metrics: ok\n");
    return 0;
}
