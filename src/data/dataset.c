/* The in-memory dataset: growing it row by row, copying parts of it, and freeing it. */
#include "data/dataset.h"
#include "util/error.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void free_names(char **names, int n) {
    if (!names) return;
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

void affect_dataset_free(affect_dataset *ds) {
    if (!ds) return;
    for (size_t i = 0; i < ds->n; i++) {
        free(ds->id[i]);
        free(ds->text[i]);
    }
    free(ds->id);
    free(ds->text);
    free(ds->text_len);
    free_names(ds->label_names, ds->num_labels);
    free(ds->labels);
    free(ds->label_mask);
    free(ds->intensity);
    free(ds->intensity_mask);
    free_names(ds->group_names, ds->num_groups);
    free(ds->group);
    free_names(ds->label2_names, ds->num_labels2);
    free(ds->labels2);
    memset(ds, 0, sizeof *ds);
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static int copy_names(char ***dst, int L, const char *const *names, affect_error *err) {
    *dst = NULL;
    if (L <= 0) return 0;
    char **v = calloc((size_t)L, sizeof *v);
    if (!v) return affect_fail(err, AFFECT_ENOMEM, "out of memory for %d label names", L);
    for (int i = 0; i < L; i++) {
        v[i] = dup_n(names[i], strlen(names[i]));
        if (!v[i]) {
            free_names(v, i);
            return affect_fail(err, AFFECT_ENOMEM, "out of memory for label names");
        }
    }
    *dst = v;
    return 0;
}

/* Label names are fixed before the first row so the (n,L) matrix has one stride forever. */
int affect_dataset_set_labels(affect_dataset *ds, int L, const char *const *names, affect_error *err) {
    if (ds->n || ds->num_labels) return affect_fail(err, AFFECT_EARG, "label names must be set once, before rows");
    if (L < 0 || L > 100000) return affect_fail(err, AFFECT_EARG, "bad label count %d", L);
    int rc = copy_names(&ds->label_names, L, names, err);
    if (!rc) ds->num_labels = L;
    return rc;
}

int affect_dataset_set_labels2(affect_dataset *ds, int L2, const char *const *names, affect_error *err) {
    if (ds->n || ds->num_labels2) return affect_fail(err, AFFECT_EARG, "second label set must be set once, before rows");
    if (L2 < 0 || L2 > 100000) return affect_fail(err, AFFECT_EARG, "bad label count %d", L2);
    int rc = copy_names(&ds->label2_names, L2, names, err);
    if (!rc) ds->num_labels2 = L2;
    return rc;
}

int affect_dataset_group_index(affect_dataset *ds, const char *name, int32_t *index, affect_error *err) {
    for (int i = 0; i < ds->num_groups; i++)
        if (!strcmp(ds->group_names[i], name)) {
            *index = i;
            return 0;
        }
    if (ds->num_groups >= 1 << 20) return affect_fail(err, AFFECT_EFORMAT, "too many groups");
    char **g = realloc(ds->group_names, (size_t)(ds->num_groups + 1) * sizeof *g);
    if (!g) return affect_fail(err, AFFECT_ENOMEM, "out of memory for group names");
    ds->group_names = g;
    g[ds->num_groups] = dup_n(name, strlen(name));
    if (!g[ds->num_groups]) return affect_fail(err, AFFECT_ENOMEM, "out of memory for group names");
    *index = ds->num_groups++;
    return 0;
}

/* realloc of one per-row array to `cap` rows of `size` bytes each (overflow-checked). */
static int grow(void **p, size_t cap, size_t size) {
    if (size && cap > (size_t)-1 / size) return -1;
    size_t bytes = cap * size;
    void *q = realloc(*p, bytes ? bytes : 1);
    if (!q) return -1;
    *p = q;
    return 0;
}

static int reserve(affect_dataset *ds, size_t want, affect_error *err) {
    if (want <= ds->cap) return 0;
    size_t nc = ds->cap ? ds->cap : 256;
    while (nc < want) {
        if (nc > (size_t)-1 / 4) return affect_fail(err, AFFECT_ENOMEM, "too many rows");
        nc *= 2;
    }
    size_t L = (size_t)ds->num_labels, L2 = (size_t)ds->num_labels2;
    if (grow((void **)&ds->id, nc, sizeof *ds->id) || grow((void **)&ds->text, nc, sizeof *ds->text) ||
        grow((void **)&ds->text_len, nc, sizeof *ds->text_len) ||
        grow((void **)&ds->label_mask, nc, 1) || grow((void **)&ds->intensity, nc, sizeof(float)) ||
        grow((void **)&ds->intensity_mask, nc, 1) || grow((void **)&ds->group, nc, sizeof(int32_t)) ||
        (L && (L > (size_t)-1 / nc || grow((void **)&ds->labels, nc * L, sizeof(float)))) ||
        (L2 && (L2 > (size_t)-1 / nc || grow((void **)&ds->labels2, nc * L2, sizeof(float)))))
        return affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu rows", nc);
    ds->cap = nc;
    return 0;
}

int affect_dataset_add_row(affect_dataset *ds, const char *id, size_t id_len, const char *text, size_t text_len,
                           size_t *row, affect_error *err) {
    int rc = reserve(ds, ds->n + 1, err);
    if (rc) return rc;
    size_t i = ds->n;
    ds->id[i] = dup_n(id, id_len);
    ds->text[i] = dup_n(text, text_len);
    if (!ds->id[i] || !ds->text[i]) {
        free(ds->id[i]);
        free(ds->text[i]);
        return affect_fail(err, AFFECT_ENOMEM, "out of memory for row %zu", i + 1);
    }
    ds->text_len[i] = text_len;
    ds->label_mask[i] = 0;
    ds->intensity[i] = 0;
    ds->intensity_mask[i] = 0;
    ds->group[i] = -1;
    if (ds->num_labels) memset(ds->labels + i * (size_t)ds->num_labels, 0, (size_t)ds->num_labels * sizeof(float));
    if (ds->num_labels2)
        memset(ds->labels2 + i * (size_t)ds->num_labels2, 0, (size_t)ds->num_labels2 * sizeof(float));
    ds->n++;
    *row = i;
    return 0;
}

void affect_dataset_label_counts(const affect_dataset *ds, size_t *counts) {
    size_t L = (size_t)ds->num_labels;
    for (size_t j = 0; j < L; j++) counts[j] = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->label_mask[i])
            for (size_t j = 0; j < L; j++) counts[j] += ds->labels[i * L + j] > 0.5f;
}

size_t affect_dataset_labelled(const affect_dataset *ds) {
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) k += ds->label_mask[i] != 0;
    return k;
}

size_t affect_dataset_with_intensity(const affect_dataset *ds) {
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++) k += ds->intensity_mask[i] != 0;
    return k;
}

/* Copies row `i` of src (all its targets) to the end of dst, whose label sets are either
 * the same as src's (same_labels / same_labels2) or absent for this row. `gmap` maps src's
 * group indexes to dst's. */
static int copy_row(affect_dataset *dst, const affect_dataset *src, size_t i, int same_labels, int same_labels2,
                    const int32_t *gmap, affect_error *err) {
    size_t r;
    int rc = affect_dataset_add_row(dst, src->id[i], strlen(src->id[i]), src->text[i], src->text_len[i], &r, err);
    if (rc) return rc;
    if (same_labels) {
        dst->label_mask[r] = src->label_mask[i];
        if (dst->num_labels)
            memcpy(dst->labels + r * (size_t)dst->num_labels, src->labels + i * (size_t)src->num_labels,
                   (size_t)src->num_labels * sizeof(float));
    }
    if (same_labels2 && dst->num_labels2)
        memcpy(dst->labels2 + r * (size_t)dst->num_labels2, src->labels2 + i * (size_t)src->num_labels2,
               (size_t)src->num_labels2 * sizeof(float));
    dst->intensity[r] = src->intensity[i];
    dst->intensity_mask[r] = src->intensity_mask[i];
    dst->group[r] = src->group[i] >= 0 && gmap ? gmap[src->group[i]] : -1;
    return 0;
}

/* Group indexes of src as dst knows them (names added to dst as needed). */
static int map_groups(affect_dataset *dst, const affect_dataset *src, int32_t **gmap, affect_error *err) {
    *gmap = NULL;
    if (!src->num_groups) return 0;
    int32_t *m = malloc((size_t)src->num_groups * sizeof *m);
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (int g = 0; g < src->num_groups; g++) {
        int rc = affect_dataset_group_index(dst, src->group_names[g], &m[g], err);
        if (rc) {
            free(m);
            return rc;
        }
    }
    *gmap = m;
    return 0;
}

int affect_dataset_subset(const affect_dataset *src, const size_t *rows, size_t k, affect_dataset *out,
                          affect_error *err) {
    memset(out, 0, sizeof *out);
    int32_t *gmap = NULL;
    int rc = affect_dataset_set_labels(out, src->num_labels, (const char *const *)src->label_names, err);
    if (!rc) rc = affect_dataset_set_labels2(out, src->num_labels2, (const char *const *)src->label2_names, err);
    if (!rc) rc = map_groups(out, src, &gmap, err);
    if (!rc) rc = reserve(out, k, err);
    for (size_t t = 0; !rc && t < k; t++) {
        if (rows[t] >= src->n) rc = affect_fail(err, AFFECT_EARG, "subset row %zu out of range (%zu rows)", rows[t], src->n);
        else rc = copy_row(out, src, rows[t], 1, 1, gmap, err);
    }
    free(gmap);
    if (rc) affect_dataset_free(out);
    return rc;
}

static int same_names(char **a, int na, char **b, int nb) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (strcmp(a[i], b[i])) return 0;
    return 1;
}

int affect_dataset_concat(const affect_dataset *a, const affect_dataset *b, affect_dataset *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    int b_labels = same_names(a->label_names, a->num_labels, b->label_names, b->num_labels);
    if (!b_labels && b->num_labels && affect_dataset_labelled(b))
        return affect_fail(err, AFFECT_EARG,
                           "cannot mix datasets with different label sets (%d labels starting '%s' vs %d starting '%s')",
                           a->num_labels, a->num_labels ? a->label_names[0] : "", b->num_labels,
                           b->label_names[0]);
    int keep2 = same_names(a->label2_names, a->num_labels2, b->label2_names, b->num_labels2);
    int32_t *ga = NULL, *gb = NULL;
    int rc = affect_dataset_set_labels(out, a->num_labels, (const char *const *)a->label_names, err);
    if (!rc && keep2) rc = affect_dataset_set_labels2(out, a->num_labels2, (const char *const *)a->label2_names, err);
    if (!rc) rc = map_groups(out, a, &ga, err);
    if (!rc) rc = map_groups(out, b, &gb, err);
    if (!rc && a->n > (size_t)-1 - b->n) rc = affect_fail(err, AFFECT_ENOMEM, "too many rows");
    if (!rc) rc = reserve(out, a->n + b->n, err);
    for (size_t i = 0; !rc && i < a->n; i++) rc = copy_row(out, a, i, 1, keep2, ga, err);
    for (size_t i = 0; !rc && i < b->n; i++) rc = copy_row(out, b, i, b_labels, keep2, gb, err);
    free(ga);
    free(gb);
    if (rc) affect_dataset_free(out);
    return rc;
}

int affect_dataset_prefix_groups(affect_dataset *ds, affect_error *err) {
    for (size_t i = 0; i < ds->n; i++) {
        if (!ds->group || ds->group[i] < 0 || ds->group[i] >= ds->num_groups) continue;
        const char *g = ds->group_names[ds->group[i]];
        size_t gl = strlen(g), tl = ds->text_len[i];
        if (tl > SIZE_MAX - gl - 3)
            return affect_fail(err, AFFECT_ENOMEM, "row '%s': text too long to prefix", ds->id[i]);
        char *t = malloc(gl + 2 + tl + 1);
        if (!t) return affect_fail(err, AFFECT_ENOMEM, "out of memory prefixing row '%s'", ds->id[i]);
        memcpy(t, g, gl);
        t[gl] = ':';
        t[gl + 1] = ' ';
        memcpy(t + gl + 2, ds->text[i], tl);
        t[gl + 2 + tl] = 0;
        free(ds->text[i]);
        ds->text[i] = t;
        ds->text_len[i] = gl + 2 + tl;
    }
    return 0;
}

int affect_parse_bool_cell(const char *s, size_t n) {
    while (n && (*s == ' ' || *s == '\t')) { s++; n--; }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    char t[8];
    if (n == 0 || n >= sizeof t) return -1;
    for (size_t i = 0; i < n; i++) t[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    t[n] = 0;
    if (!strcmp(t, "true") || !strcmp(t, "1") || !strcmp(t, "1.0")) return 1;
    if (!strcmp(t, "false") || !strcmp(t, "0") || !strcmp(t, "0.0")) return 0;
    return -1;
}
