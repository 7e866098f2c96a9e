/* WASSA-2017 EmoInt tweets: id<TAB>text<TAB>emotion<TAB>score per line, one file per emotion
 * and split. Each row carries an intensity target and its emotion as the row's group. */
#define _POSIX_C_SOURCE 200809L
#include "data/csv.h"
#include "data/dataset.h"
#include "util/blob.h"
#include "util/error.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const EMOINT_EMOTIONS[] = {"anger", "fear", "joy", "sadness"};

/* A score cell: a finite decimal in [0,1]. */
static int parse_score(const char *s, size_t n, float *out) {
    char tmp[64];
    while (n && *s == ' ') { s++; n--; }
    while (n && s[n - 1] == ' ') n--;
    if (n == 0 || n >= sizeof tmp) return -1;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    double v = strtod(tmp, &end);
    if (end == tmp || *end || !isfinite(v) || v < 0 || v > 1) return -1;
    *out = (float)v;
    return 0;
}

int affect_emoint_load_file(const char *path, affect_dataset *out, affect_error *err) {
    if (!affect_file_exists(path))
        return affect_fail(err, AFFECT_ENOTFOUND, "EmoInt file %s not found (get the data with: affect data pull)", path);
    char *text;
    size_t len;
    int rc = affect_read_file(path, &text, &len, err);
    if (rc) return rc;
    csv_reader r;
    csv_init(&r, text, len, '\t', 0, path);
    int got, first = 1;
    while (!(rc = csv_next(&r, &got, err)) && got) {
        if (r.nfields != 4) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: expected 4 tab-separated fields (id, text, emotion, score), found %zu",
                             path, r.line, r.nfields);
            break;
        }
        float score;
        if (parse_score(r.field[3], r.field_len[3], &score)) {
            if (first) { /* a header line ("ID Tweet Affect Dimension Intensity Score") */
                first = 0;
                continue;
            }
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: score '%.*s' is not a number in [0,1]", path, r.line,
                             (int)(r.field_len[3] > 40 ? 40 : r.field_len[3]), r.field[3]);
            break;
        }
        first = 0;
        if (r.field_len[2] == 0) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: empty emotion field", path, r.line);
            break;
        }
        size_t row;
        int32_t g;
        if ((rc = affect_dataset_group_index(out, r.field[2], &g, err))) break;
        if ((rc = affect_dataset_add_row(out, r.field[0], r.field_len[0], r.field[1], r.field_len[1], &row, err))) break;
        out->intensity[row] = score;
        out->intensity_mask[row] = 1;
        out->group[row] = g;
    }
    csv_free(&r);
    free(text);
    return rc;
}

int affect_emoint_load(const char *dir, const char *split, const char *const *emotions, int num_emotions,
                       affect_dataset *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    if (!split || (strcmp(split, "train") && strcmp(split, "dev.gold") && strcmp(split, "test.gold")))
        return affect_fail(err, AFFECT_EARG, "EmoInt split must be train, dev.gold or test.gold, not '%s'",
                           split ? split : "");
    if (!emotions) {
        emotions = EMOINT_EMOTIONS;
        num_emotions = 4;
    }
    for (int e = 0; e < num_emotions; e++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s-ratings-0to1.%s.txt", dir, emotions[e], split) >= (int)sizeof path) {
            affect_dataset_free(out);
            return affect_fail(err, AFFECT_EARG, "EmoInt folder path too long");
        }
        int rc = affect_emoint_load_file(path, out, err);
        if (rc) {
            affect_dataset_free(out);
            return rc;
        }
    }
    return 0;
}
