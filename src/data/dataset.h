/* Datasets in memory, and the readers that fill them (native layer: libc + libyaml users).
 *
 * One shape holds every corpus the pipeline trains on, so a training loop never needs to
 * know where a row came from:
 *
 *   n rows, each with an id and a UTF-8 text;
 *   an emotion target: labels (n,L) of 0/1 floats, valid only where label_mask[i] == 1
 *     (EmoInt rows have no emotion target: mask 0);
 *   an intensity target: intensity (n) in [0,1], valid only where intensity_mask[i] == 1
 *     (Lemotif and GoEmotions rows have none);
 *   optional groups: group (n) indexes group_names (EmoInt: the row's emotion), -1 = none;
 *   an optional second label set: labels2 (n,L2) (Lemotif: the 11 topic columns).
 *
 * Readers (each returns 0 or an AFFECT_E* code; bad rows give "FILE:LINE: what is wrong"):
 *   affect_goemotions_load   GoEmotions TSV + labels.txt      (28 labels)
 *   affect_lemotif_load      Lemotif RFC 4180 CSV             (18 emotions by header name, 11 topics)
 *   affect_emoint_load       WASSA-2017 EmoInt TSV files      (intensity, group = emotion)
 *   affect_generic_load      the user's own CSV / TSV / JSONL (columns declared in the config)
 *
 * Every pointer array is owned by the dataset; affect_dataset_free releases it all.
 * Splits (stratified, K-fold) live in split.h; where the files are, in data_dir.h.
 */
#ifndef AFFECT_DATA_DATASET_H
#define AFFECT_DATA_DATASET_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef struct affect_dataset {
    size_t n;                 /* rows */
    char **id;                /* (n) NUL-terminated */
    char **text;              /* (n) UTF-8, NUL-terminated */
    size_t *text_len;         /* (n) bytes */

    int num_labels;           /* L (0: no emotion targets at all) */
    char **label_names;       /* (L) */
    float *labels;            /* (n,L) row-major 0/1; NULL when L == 0 */
    uint8_t *label_mask;      /* (n) 1 = the row has an emotion target */

    float *intensity;         /* (n) 0..1; 0 where intensity_mask is 0 */
    uint8_t *intensity_mask;  /* (n) 1 = the row has an intensity target */

    int num_groups;           /* 0: no groups */
    char **group_names;       /* (num_groups) */
    int32_t *group;           /* (n) index into group_names, or -1 */

    int num_labels2;          /* L2: a second, optional label set (0 = none) */
    char **label2_names;      /* (L2) */
    float *labels2;           /* (n,L2) 0/1; valid where label_mask is 1 */

    size_t cap;               /* private: allocated rows */
} affect_dataset;

void affect_dataset_free(affect_dataset *ds);

/* Positives per label over rows with an emotion target: counts (L). */
void affect_dataset_label_counts(const affect_dataset *ds, size_t *counts);
/* Rows with an emotion target / with an intensity target. */
size_t affect_dataset_labelled(const affect_dataset *ds);
size_t affect_dataset_with_intensity(const affect_dataset *ds);

/* A new dataset holding rows[0..k) of src in that order (rows may repeat). Label names,
 * groups and the second label set are copied. */
int affect_dataset_subset(const affect_dataset *src, const size_t *rows, size_t k, affect_dataset *out,
                          affect_error *err);

/* a's rows then b's, for mixing corpora in one batch stream (stage 2 mixes Lemotif rows,
 * which have emotion targets, with EmoInt rows, which have intensity targets). The label set
 * is a's; b must have the same label names in the same order, or none (its rows then get
 * label_mask 0). Groups are merged by name. The second label set is kept only when both
 * have identical ones (names and order); otherwise the result has none. */
int affect_dataset_concat(const affect_dataset *a, const affect_dataset *b, affect_dataset *out,
                          affect_error *err);

/* ---- readers -------------------------------------------------------------------------- */

/* GoEmotions ("simplified"): `dir`/labels.txt (one label per line, line i = id i) and
 * `dir`/<split>.tsv with split "train", "dev" or "test": text<TAB>ids<TAB>comment id, no
 * header, no quoting. Every row has an emotion target (an empty id list is an error). */
int affect_goemotions_load(const char *dir, const char *split, affect_dataset *out, affect_error *err);

/* Lemotif: an RFC 4180 CSV whose header names the text column `Answer`, the emotion columns
 * `Answer.f1.<label>.raw` (labels in header order) and the topic columns
 * `Answer.t1.<topic>.raw` (the second label set). Cells are TRUE/FALSE (any case) or 1/0.
 * Row ids are "lemotif-<k>", k = 1-based data row. */
int affect_lemotif_load(const char *path, affect_dataset *out, affect_error *err);

/* WASSA-2017 EmoInt: `dir`/<emotion>-ratings-0to1.<split>.txt for each emotion in
 * `emotions` (NULL: anger, fear, joy, sadness), split "train", "dev.gold" or "test.gold".
 * Lines are id<TAB>text<TAB>emotion<TAB>score (a header line, if present, is skipped); every
 * row gets an intensity target, group = its emotion, and no emotion target. A missing file
 * is AFFECT_ENOTFOUND naming it. */
int affect_emoint_load(const char *dir, const char *split, const char *const *emotions, int num_emotions,
                       affect_dataset *out, affect_error *err);
/* One EmoInt-format file (e.g. the withheld test gold), rows appended to *out (zeroed or
 * from a previous call). */
int affect_emoint_load_file(const char *path, affect_dataset *out, affect_error *err);
/* Prefixes the text of every row that has a group with "<group name>: " ("anger: <tweet>"),
 * the input form of an intensity model conditioned on the emotion it rates. Rows without a
 * group are left alone. On failure (out of memory) some rows may already be prefixed. */
int affect_dataset_prefix_groups(affect_dataset *ds, affect_error *err);

/* The user's own data, as declared in the config's data.custom section. */
typedef struct affect_generic_spec {
    const char *path;
    const char *format;            /* "csv", "tsv", "jsonl", or NULL/"" / "auto" (by extension) */
    const char *text_column;       /* required */
    const char *id_column;         /* NULL/"": ids are "<k>", the 1-based data row */
    const char *const *label_columns; /* multi-hot: one column per label, named as the label */
    int num_label_columns;
    const char *labels_column;     /* or: one column listing the row's labels */
    const char *label_separator;   /* separator inside labels_column for CSV/TSV (default ",") */
    const char *const *label_names;/* label set for labels_column; NULL: every name seen, sorted */
    int num_label_names;
    const char *intensity_column;  /* optional: a number in [0,1]; empty/null = no target */
    const char *group_column;      /* optional: a string per row (e.g. the intensity's emotion) */
} affect_generic_spec;

/* Reads CSV (RFC 4180, header row), TSV (header row, no quoting) or JSONL (one object per
 * line). Multi-hot cells are 1/0, true/false (any case) or 1.0/0.0; a row whose label cells
 * are all empty (or null) has no emotion target. A labels_column cell is a list of names
 * separated by label_separator (JSONL: an array of strings, or such a string); empty = a row
 * with no positive label; null = no target. A name outside label_names is an error. */
int affect_generic_load(const affect_generic_spec *spec, affect_dataset *out, affect_error *err);

/* ---- helpers the readers share (dataset.c) --------------------------------------------- */

/* Sets the label names (copied); call before adding rows. */
int affect_dataset_set_labels(affect_dataset *ds, int L, const char *const *names, affect_error *err);
int affect_dataset_set_labels2(affect_dataset *ds, int L2, const char *const *names, affect_error *err);
/* Index of group `name`, added when new. */
int affect_dataset_group_index(affect_dataset *ds, const char *name, int32_t *index, affect_error *err);
/* Appends a row with id and text (copied); its targets start empty (masks 0, labels 0,
 * group -1). *row receives its index. */
int affect_dataset_add_row(affect_dataset *ds, const char *id, size_t id_len, const char *text, size_t text_len,
                           size_t *row, affect_error *err);

/* Parses a boolean cell: TRUE/FALSE, True/False, true/false, 1/0, 1.0/0.0. -1 if none. */
int affect_parse_bool_cell(const char *s, size_t n);

#endif
