/* The data layer on small hand-made files (every branch of the readers' error handling) and
 * on the real Lemotif file (the split's promises): CSV records, the four readers, subset and
 * concat, SHA-256 known answers, and iterative stratification against a random split. */
#define _POSIX_C_SOURCE 200809L
#include "data/csv.h"
#include "data/data_dir.h"
#include "data/dataset.h"
#include "data/split.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c); failures++; } } while (0)
#define CHECK_MSG(rc, err, want) do { CHECK((rc) != 0); if (!strstr((err).msg, (want))) { \
    fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, (err).msg, (want)); failures++; } } while (0)

static char tmpdir[256];

static const char *write_tmp(const char *name, const char *text) {
    static char path[8][512];
    static int slot = 0;
    char *p = path[slot++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (!f) { perror(p); exit(1); }
    fwrite(text, 1, strlen(text), f);
    fclose(f);
    return p;
}

static void test_csv(void) {
    const char *t = "\xEF\xBB\xBF" "a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\"two\nlines\"\n\n1,,3";
    csv_reader r;
    affect_error err = {0};
    int got;
    csv_init(&r, t, strlen(t), ',', 1, "t.csv");
    CHECK(csv_next(&r, &got, &err) == 0 && got && r.nfields == 3 && !strcmp(r.field[0], "a") && r.line == 1);
    CHECK(csv_next(&r, &got, &err) == 0 && got && r.nfields == 3 && r.line == 2);
    CHECK(!strcmp(r.field[0], "x, y") && !strcmp(r.field[1], "he said \"hi\"") && !strcmp(r.field[2], "two\nlines"));
    CHECK(csv_next(&r, &got, &err) == 0 && got && r.line == 5 && r.nfields == 3); /* no final newline */
    CHECK(!strcmp(r.field[0], "1") && r.field_len[1] == 0 && !strcmp(r.field[2], "3"));
    CHECK(csv_next(&r, &got, &err) == 0 && !got);
    csv_free(&r);
    /* errors name the line */
    const char *bad = "a,b\n\"open,\nstill open";
    csv_init(&r, bad, strlen(bad), ',', 1, "bad.csv");
    CHECK(csv_next(&r, &got, &err) == 0);
    int rc = csv_next(&r, &got, &err);
    CHECK_MSG(rc, err, "bad.csv:2: quoted field never closed");
    csv_free(&r);
    const char *bad2 = "\"a\"x,b\n";
    csv_init(&r, bad2, strlen(bad2), ',', 1, "bad2.csv");
    rc = csv_next(&r, &got, &err);
    CHECK_MSG(rc, err, "bad2.csv:1: field 1: text after a closing quote");
    csv_free(&r);
    /* quote-less TSV: '"' is literal */
    const char *tsv = "say \"hi\tthere\t\"x\n";
    csv_init(&r, tsv, strlen(tsv), '\t', 0, "t.tsv");
    CHECK(csv_next(&r, &got, &err) == 0 && got && r.nfields == 3 && !strcmp(r.field[0], "say \"hi") && !strcmp(r.field[2], "\"x"));
    csv_free(&r);
}

static void test_lemotif(void) {
    /* columns found by name, in any order; TRUE/True/false; no final newline */
    const char *p = write_tmp("lem.csv",
        "Answer.t1.work.raw,Answer,Answer.f1.happy.raw,Extra,Answer.f1.sad.raw\n"
        "TRUE,\"Good day, \"\"really\"\"\",True,zz,FALSE\n"
        "False,\"multi\nline\",false,,TRUE");
    affect_dataset ds;
    affect_error err = {0};
    int rc = affect_lemotif_load(p, &ds, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    if (!rc) {
        CHECK(ds.n == 2 && ds.num_labels == 2 && ds.num_labels2 == 1);
        CHECK(!strcmp(ds.label_names[0], "happy") && !strcmp(ds.label_names[1], "sad") && !strcmp(ds.label2_names[0], "work"));
        CHECK(!strcmp(ds.text[0], "Good day, \"really\"") && !strcmp(ds.text[1], "multi\nline"));
        CHECK(ds.labels[0] == 1 && ds.labels[1] == 0 && ds.labels[2] == 0 && ds.labels[3] == 1);
        CHECK(ds.labels2[0] == 1 && ds.labels2[1] == 0);
        CHECK(ds.label_mask[0] && ds.label_mask[1] && !ds.intensity_mask[0]);
        CHECK(!strcmp(ds.id[1], "lemotif-2"));
        affect_dataset_free(&ds);
    }
    p = write_tmp("lemotif.csv", "Answer,Answer.f1.happy.raw,Answer.f1.sad.raw\na,TRUE,FALSE\n\"b\nc\",TRUE,FALSE\nd,TRUE\n");
    rc = affect_lemotif_load(p, &ds, &err);
    CHECK_MSG(rc, err, "lemotif.csv:5: expected 3 fields, found 2");
    p = write_tmp("lemotif.csv", "Answer,Answer.f1.happy.raw\na,maybe\n");
    rc = affect_lemotif_load(p, &ds, &err);
    CHECK_MSG(rc, err, "lemotif.csv:2: column Answer.f1.happy.raw: expected TRUE or FALSE, found 'maybe'");
    p = write_tmp("lemotif.csv", "Text,Answer.f1.happy.raw\na,TRUE\n");
    rc = affect_lemotif_load(p, &ds, &err);
    CHECK_MSG(rc, err, "no 'Answer' column");
    rc = affect_lemotif_load("/nonexistent/lemotif.csv", &ds, &err);
    CHECK(rc == AFFECT_ENOTFOUND);
}

static void test_goemotions(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ge", tmpdir);
    mkdir(dir, 0755);
    write_tmp("ge/labels.txt", "joy\nsad\nneutral\n");
    write_tmp("ge/train.tsv", "I \"love\" it\t0\tid1\nmeh\t2\tid2\nboth\t0,1\tid3\n");
    affect_dataset ds;
    affect_error err = {0};
    int rc = affect_goemotions_load(dir, "train", &ds, &err);
    CHECK(rc == 0);
    if (!rc) {
        CHECK(ds.n == 3 && ds.num_labels == 3 && !strcmp(ds.label_names[2], "neutral"));
        CHECK(!strcmp(ds.text[0], "I \"love\" it") && !strcmp(ds.id[2], "id3"));
        float want[9] = {1, 0, 0, 0, 0, 1, 1, 1, 0};
        CHECK(!memcmp(ds.labels, want, sizeof want));
        affect_dataset_free(&ds);
    }
    write_tmp("ge/dev.tsv", "ok\t1\tid1\nbad\t3\tid2\n");
    rc = affect_goemotions_load(dir, "dev", &ds, &err);
    CHECK_MSG(rc, err, "dev.tsv:2: label id 3 out of range (labels.txt has 3)");
    write_tmp("ge/test.tsv", "ok\t1\tid1\nno tabs here\n");
    rc = affect_goemotions_load(dir, "test", &ds, &err);
    CHECK_MSG(rc, err, "test.tsv:2: expected 3 fields (text, label ids, id), found 1");
    rc = affect_goemotions_load(dir, "valid", &ds, &err);
    CHECK(rc == AFFECT_EARG);
}

static void test_emoint(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ei", tmpdir);
    mkdir(dir, 0755);
    write_tmp("ei/anger-ratings-0to1.train.txt", "ID\tTweet\tAffect Dimension\tIntensity Score\n1\tgrr\tanger\t0.9\n2\tugh\tanger\t0.25\n");
    write_tmp("ei/joy-ratings-0to1.train.txt", "10\tyay\tjoy\t0.5");
    const char *emo[] = {"anger", "joy"};
    affect_dataset ds;
    affect_error err = {0};
    int rc = affect_emoint_load(dir, "train", emo, 2, &ds, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    if (!rc) {
        CHECK(ds.n == 3 && ds.num_labels == 0 && ds.num_groups == 2);
        CHECK(fabsf(ds.intensity[1] - 0.25f) < 1e-7f && ds.intensity_mask[2] && !ds.label_mask[0]);
        CHECK(!strcmp(ds.group_names[ds.group[2]], "joy") && !strcmp(ds.id[2], "10"));
        affect_dataset_free(&ds);
    }
    write_tmp("ei/fear-ratings-0to1.dev.gold.txt", "1\tx\tfear\t0.5\n2\ty\tfear\t1.7\n");
    const char *fear[] = {"fear"};
    rc = affect_emoint_load(dir, "dev.gold", fear, 1, &ds, &err);
    CHECK_MSG(rc, err, "fear-ratings-0to1.dev.gold.txt:2: score '1.7' is not a number in [0,1]");
    rc = affect_emoint_load(dir, "test.gold", fear, 1, &ds, &err);
    CHECK(rc == AFFECT_ENOTFOUND);
}

static void test_generic(void) {
    affect_dataset ds;
    affect_error err = {0};
    const char *cols[] = {"joy", "anger"};
    affect_generic_spec s = {0};
    s.path = write_tmp("mine.csv", "id,text,joy,anger,score\nr1,\"hi, there\",1,0,0.5\nr2,grr,false,true,\nr3,unlabelled,,,0.1\n");
    s.text_column = "text";
    s.id_column = "id";
    s.label_columns = cols;
    s.num_label_columns = 2;
    s.intensity_column = "score";
    int rc = affect_generic_load(&s, &ds, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    if (!rc) {
        CHECK(ds.n == 3 && ds.num_labels == 2 && !strcmp(ds.id[1], "r2") && !strcmp(ds.text[0], "hi, there"));
        CHECK(ds.labels[0] == 1 && ds.labels[1] == 0 && ds.labels[2] == 0 && ds.labels[3] == 1);
        CHECK(ds.label_mask[0] && ds.label_mask[1] && !ds.label_mask[2]);
        CHECK(ds.intensity_mask[0] && !ds.intensity_mask[1] && ds.intensity_mask[2] && fabsf(ds.intensity[2] - 0.1f) < 1e-7f);
        affect_dataset_free(&ds);
    }
    s.path = write_tmp("mine2.csv", "id,text,joy,anger,score\nr1,a,1,0,0.5\nr2,b,1,,0.5\n");
    rc = affect_generic_load(&s, &ds, &err);
    CHECK_MSG(rc, err, "mine2.csv:3: some label columns are empty and some are not");
    s.path = write_tmp("mine3.csv", "id,text,joy,score\nr1,a,1,0.5\n");
    rc = affect_generic_load(&s, &ds, &err);
    CHECK_MSG(rc, err, "mine3.csv:1: no column 'anger' in the header");
    /* JSONL with a label-list column, names discovered and sorted */
    affect_generic_spec j = {0};
    j.path = write_tmp("mine.jsonl", "{\"text\": \"a\", \"tags\": [\"joy\", \"awe\"], \"emo\": \"joy\", \"i\": 0.25}\n\n"
                                     "{\"text\": \"b\", \"tags\": \"awe|grief\"}\n{\"text\": \"c\", \"tags\": null}\n");
    j.text_column = "text";
    j.labels_column = "tags";
    j.label_separator = "|";
    j.intensity_column = "i";
    j.group_column = "emo";
    rc = affect_generic_load(&j, &ds, &err);
    if (rc) fprintf(stderr, "%s\n", err.msg);
    CHECK(rc == 0);
    if (!rc) {
        CHECK(ds.n == 3 && ds.num_labels == 3);
        CHECK(!strcmp(ds.label_names[0], "awe") && !strcmp(ds.label_names[1], "grief") && !strcmp(ds.label_names[2], "joy"));
        CHECK(ds.labels[0] == 1 && ds.labels[1] == 0 && ds.labels[2] == 1);
        CHECK(ds.labels[3] == 1 && ds.labels[4] == 1 && ds.labels[5] == 0);
        CHECK(ds.label_mask[1] && !ds.label_mask[2] && ds.intensity_mask[0] && !ds.intensity_mask[1]);
        CHECK(ds.num_groups == 1 && ds.group[0] == 0 && ds.group[1] == -1 && !strcmp(ds.id[2], "3"));
        affect_dataset_free(&ds);
    }
    const char *known[] = {"awe", "joy"};
    j.label_names = known;
    j.num_label_names = 2;
    rc = affect_generic_load(&j, &ds, &err);
    CHECK_MSG(rc, err, "mine.jsonl:3: label 'grief' is not in data.custom.label_names");
    j.path = write_tmp("broken.jsonl", "{\"text\": \"a\", \"tags\": []}\n{\"text\": \"b\",\n");
    rc = affect_generic_load(&j, &ds, &err);
    CHECK_MSG(rc, err, "broken.jsonl:2:");
    /* TSV by extension */
    affect_generic_spec t = {0};
    t.path = write_tmp("mine.tsv", "text\tlabels\nsay \"x\"\tb,a\n");
    t.text_column = "text";
    t.labels_column = "labels";
    rc = affect_generic_load(&t, &ds, &err);
    CHECK(rc == 0);
    if (!rc) {
        CHECK(ds.n == 1 && !strcmp(ds.text[0], "say \"x\"") && ds.num_labels == 2 && ds.labels[0] == 1 && ds.labels[1] == 1);
        affect_dataset_free(&ds);
    }
}

static void test_subset_concat(void) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s/ge", tmpdir);
    affect_dataset ge, ei, sub, mix;
    affect_error err = {0};
    CHECK(affect_goemotions_load(dir, "train", &ge, &err) == 0);
    snprintf(dir, sizeof dir, "%s/ei", tmpdir);
    const char *emo[] = {"anger", "joy"};
    CHECK(affect_emoint_load(dir, "train", emo, 2, &ei, &err) == 0);
    size_t rows[] = {2, 0, 2};
    CHECK(affect_dataset_subset(&ge, rows, 3, &sub, &err) == 0);
    CHECK(sub.n == 3 && !strcmp(sub.id[0], "id3") && !strcmp(sub.id[2], "id3") && sub.labels[0] == 1 && sub.labels[1] == 1);
    CHECK(affect_dataset_concat(&sub, &ei, &mix, &err) == 0);
    CHECK(mix.n == 6 && mix.num_labels == 3 && mix.num_groups == 2);
    CHECK(mix.label_mask[2] && !mix.label_mask[3] && !mix.intensity_mask[2] && mix.intensity_mask[5]);
    CHECK(affect_dataset_labelled(&mix) == 3 && affect_dataset_with_intensity(&mix) == 3);
    CHECK(mix.group[0] == -1 && !strcmp(mix.group_names[mix.group[5]], "joy"));
    size_t bad[] = {7};
    affect_dataset x;
    CHECK(affect_dataset_subset(&ge, bad, 1, &x, &err) == AFFECT_EARG);
    affect_dataset_free(&ge);
    affect_dataset_free(&ei);
    affect_dataset_free(&sub);
    affect_dataset_free(&mix);
}

static void test_sha256(void) {
    char hex[65];
    affect_sha256 s;
    affect_sha256_init(&s);
    affect_sha256_update(&s, "abc", 3);
    affect_sha256_hex(&s, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    affect_sha256_init(&s);
    affect_sha256_hex(&s, hex);
    CHECK(!strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    affect_sha256_init(&s);
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    affect_sha256_update(&s, m, strlen(m));
    affect_sha256_hex(&s, hex);
    CHECK(!strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    affect_sha256_init(&s);
    char a[1001];
    memset(a, 'a', sizeof a);
    for (int i = 0; i < 1000; i++) affect_sha256_update(&s, a, i % 2 ? 999 : 1001); /* odd chunking */
    affect_sha256_hex(&s, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
}

/* Mean over labels of |share of the label's positives in part p - fraction of p|, the
 * stratification error, for the labels with at most `max_pos` positives. */
static double strat_error(const affect_dataset *ds, const int32_t *part, const double *fr, int k, size_t max_pos) {
    size_t *counts = malloc((size_t)k * (size_t)ds->num_labels * sizeof *counts), rows[8];
    size_t *tot = calloc((size_t)ds->num_labels, sizeof *tot);
    affect_split_label_counts(ds->labels, ds->label_mask, ds->n, ds->num_labels, part, k, counts, rows);
    affect_dataset_label_counts(ds, tot);
    double e = 0;
    int m = 0;
    for (int l = 0; l < ds->num_labels; l++) {
        if (!tot[l] || tot[l] > max_pos) continue;
        for (int p = 0; p < k; p++) e += fabs((double)counts[(size_t)p * ds->num_labels + l] / tot[l] - fr[p]);
        m++;
    }
    free(counts);
    free(tot);
    return m ? e / m : 0;
}

static void test_split(void) {
    const char *shared = getenv("AFFECT_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/lemotif/lemotif.csv", shared && *shared ? shared : "../shared");
    affect_dataset ds;
    affect_error err = {0};
    if (affect_lemotif_load(path, &ds, &err)) {
        fprintf(stderr, "test_split: %s\n", err.msg);
        failures++;
        return;
    }
    CHECK(ds.n > 1000 && ds.num_labels == 18 && ds.num_labels2 == 11);
    double fr[3] = {0.7, 0.15, 0.15};
    int32_t *a = malloc(ds.n * sizeof *a), *b = malloc(ds.n * sizeof *b), *c = malloc(ds.n * sizeof *c);
    CHECK(affect_split_stratified(ds.labels, ds.label_mask, ds.n, ds.num_labels, fr, 3, 42, a, &err) == 0);
    CHECK(affect_split_stratified(ds.labels, ds.label_mask, ds.n, ds.num_labels, fr, 3, 42, b, &err) == 0);
    CHECK(!memcmp(a, b, ds.n * sizeof *a)); /* deterministic per seed */
    CHECK(affect_split_stratified(ds.labels, ds.label_mask, ds.n, ds.num_labels, fr, 3, 43, c, &err) == 0);
    CHECK(memcmp(a, c, ds.n * sizeof *a) != 0); /* and the seed matters */
    size_t rows[3] = {0};
    for (size_t i = 0; i < ds.n; i++) { /* every row in exactly one part */
        CHECK(a[i] >= 0 && a[i] < 3);
        if (a[i] >= 0 && a[i] < 3) rows[a[i]]++;
    }
    CHECK(rows[0] + rows[1] + rows[2] == ds.n);
    for (int p = 0; p < 3; p++) CHECK(fabs((double)rows[p] / ds.n - fr[p]) < 0.02);
    /* label proportions close to the overall ones, and better than a random split on rare
     * labels (averaged over seeds, so one lucky random split cannot pass for stratification) */
    double es = 0, er = 0, es_all = 0;
    for (int seed = 0; seed < 20; seed++) {
        CHECK(affect_split_stratified(ds.labels, ds.label_mask, ds.n, ds.num_labels, fr, 3, seed, a, &err) == 0);
        CHECK(affect_split_random(ds.n, fr, 3, seed, b, &err) == 0);
        es += strat_error(&ds, a, fr, 3, 60) / 20;
        er += strat_error(&ds, b, fr, 3, 60) / 20;
        es_all += strat_error(&ds, a, fr, 3, (size_t)-1) / 20;
    }
    printf("stratification error on rare labels (<= 60 positives): stratified %.4f, random %.4f; all labels %.4f\n", es, er, es_all);
    CHECK(es < 0.6 * er);
    CHECK(es_all < 0.05);
    /* a label too rare for every part is reported through the counts, not a failure */
    size_t counts[3 * 18];
    affect_split_label_counts(ds.labels, ds.label_mask, ds.n, ds.num_labels, a, 3, counts, rows);
    size_t tot[18];
    affect_dataset_label_counts(&ds, tot);
    for (int l = 0; l < 18; l++) CHECK(counts[l] + counts[18 + l] + counts[36 + l] == tot[l]);
    /* K-fold: every row in one fold, folds near n/K */
    CHECK(affect_split_kfold(ds.labels, ds.label_mask, ds.n, ds.num_labels, 5, 42, a, &err) == 0);
    size_t f[5] = {0};
    for (size_t i = 0; i < ds.n; i++) {
        CHECK(a[i] >= 0 && a[i] < 5);
        if (a[i] >= 0 && a[i] < 5) f[a[i]]++;
    }
    for (int p = 0; p < 5; p++) CHECK(fabs((double)f[p] / ds.n - 0.2) < 0.03);
    double fr5[5] = {0.2, 0.2, 0.2, 0.2, 0.2};
    CHECK(affect_split_random(ds.n, fr5, 5, 42, b, &err) == 0);
    double ek = strat_error(&ds, a, fr5, 5, (size_t)-1), ekr = strat_error(&ds, b, fr5, 5, (size_t)-1);
    printf("5-fold stratification error: stratified %.4f, random %.4f\n", ek, ekr);
    CHECK(ek < 0.6 * ekr);
    CHECK(affect_split_kfold(ds.labels, ds.label_mask, ds.n, ds.num_labels, 1, 42, a, &err) == AFFECT_EARG);
    double badfr[3] = {0.5, 0.2, 0.2};
    CHECK(affect_split_stratified(ds.labels, ds.label_mask, ds.n, ds.num_labels, badfr, 3, 1, a, &err) == AFFECT_EARG);
    free(a);
    free(b);
    free(c);
    affect_dataset_free(&ds);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/affect-test-data-%ld", (long)getpid());
    mkdir(tmpdir, 0755);
    test_csv();
    test_lemotif();
    test_goemotions();
    test_emoint();
    test_generic();
    test_subset_concat();
    test_sha256();
    test_split();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    if (failures) {
        fprintf(stderr, "test_data: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_data: ok\n");
    return 0;
}
