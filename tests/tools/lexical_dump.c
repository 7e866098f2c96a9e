/* Test driver for tests/test_lexical_sklearn.py: fits the lexical model (src/train/lexical_fit.c)
 * on rows from a text file and dumps what scikit-learn is compared with.
 *
 *   lexical_dump JOB.txt OUT.bin
 *
 * JOB.txt: a header line "V L C BALANCED MIX N_EXCLUDE [EXCLUDE_ID...]", optionally a line
 * "groups G ALPHA IMIX" followed by G-1 lines "prefix K ID_1..ID_K" (intensity models 1..G-1),
 * optionally a line "aux A C SCALE" (auxiliary outputs, fitted on the "afit" rows before the
 * intensity models), then one row per line: "fit|eval Y_0 ... Y_{L-1} [ID...]" (labels 0/1,
 * then the row's token ids), "ifit GROUP TARGET [ID...]" / "ieval TARGET [ID...]" (intensity
 * rows; GROUP -1 = none) or "afit Y_0 ... Y_{A-1} [ID...]" (aux rows). Only the fit rows are
 * fitted; the eval rows are scored. A line "chars B NMIN NMAX SCALE" gives the intensity models
 * character n-grams; an intensity row's text then follows its ids after " | " (to the end of
 * the line).
 * OUT.bin records: idf (V), weight (L*V), bias (L), mix (L), eval_logits (rows*L): the
 * lexical logit w·x + b of every eval row through the inference code (lexical.c); with
 * groups also iidf (V), iweight (G*V), ibias (G), imix (G), ieval (ieval rows): the ridge
 * prediction of the model the text selects, and imodel (ieval rows): that model; with aux
 * also aidf (V), aweight (A*V), abias (A), amean (A), ascale (A), iaux (G*A) and aeval
 * (ieval rows * A): the standardised aux logits of each ieval row; with chars also chidf (B),
 * chweight (G*B), ngram_len (ieval rows: how many n-grams each text has, its model's prefix
 * cut off) and ngram_buckets (those n-grams' buckets, row after row).
 * A line "eaux SCALE" (after the aux line) makes the emotion regressions read the aux outputs
 * (then fitted on the afit rows first) at that scale; a line "echars B NMIN NMAX SCALE" gives
 * them character n-grams of their rows' texts (after " | "). The eval logits then include
 * those parts (computed by affect_lexical_mix_row), and OUT.bin also holds eaux (L*A: the
 * weights of the raw aux logits) and/or echidf (B), echweight (L*B). A line "ebigrams NB
 * SCALE" gives them hashed token bigrams; OUT.bin then also holds ebiidf (NB), ebiweight (L*NB)
 * and ebibuckets (the bigram buckets of every eval row, row after row) with ebilen (their
 * count per eval row). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/lexical.h"
#include "train/lexical_fit.h"

#define DUMP_TOOL "lexical_dump"
#include "dump_records.h"

typedef struct row {
    int fit;      /* 1 fit, 0 eval, 3 ifit, 2 ieval, 4 afit */
    int group;
    float *y;
    int32_t *ids;
    int n;
    char *text;
} row;

/* The rows of one kind (1 fit, 4 afit) as the fit functions take them: ids, lengths and the
 * (count, ny) label matrix; returns the count. */
static size_t gather(const row *rows, size_t nr, int kind, int ny, const int32_t ***ids, int **lens, float **Y) {
    size_t k = 0;
    for (size_t i = 0; i < nr; i++) k += rows[i].fit == kind;
    *ids = xmalloc((k ? k : 1) * sizeof **ids);
    *lens = xmalloc((k ? k : 1) * sizeof **lens);
    *Y = xmalloc((k ? k : 1) * (size_t)ny * sizeof **Y);
    for (size_t i = 0, j = 0; i < nr; i++) {
        if (rows[i].fit != kind) continue;
        (*ids)[j] = rows[i].ids;
        (*lens)[j] = rows[i].n;
        memcpy(*Y + j * (size_t)ny, rows[i].y, (size_t)ny * sizeof **Y);
        j++;
    }
    return k;
}

/* Appends bk[0..m) to the growing record *buf (*n values so far). */
static void append_buckets(double **buf, size_t *n, const int32_t *bk, size_t m) {
    double *nb = realloc(*buf, (*n + m + 1) * sizeof *nb);
    if (!nb) die("out of memory");
    *buf = nb;
    for (size_t j = 0; j < m; j++) nb[(*n)++] = bk[j];
}

int main(int argc, char **argv) {
    if (argc != 3) die("usage: lexical_dump JOB.txt OUT.bin");
    FILE *f = fopen(argv[1], "r");
    if (!f) die("cannot open the job file");
    int V, L, balanced, nex;
    double C, mix;
    if (fscanf(f, "%d %d %lf %d %lf %d", &V, &L, &C, &balanced, &mix, &nex) != 6 || V <= 0 || L <= 0 || nex < 0 ||
        nex > 64)
        die("bad header");
    int32_t ex[64];
    for (int i = 0; i < nex; i++)
        if (fscanf(f, "%d", &ex[i]) != 1) die("bad exclude list");
    int c = fgetc(f);
    while (c != '\n' && c != EOF) c = fgetc(f);
    size_t cap = 16, nr = 0;
    row *rows = xmalloc(cap * sizeof *rows);
    char line[65536];
    int G = 0, np = 0;
    double alpha = 1, imix = 0, aux_c = 1, aux_scale = 0;
    int A = 0, CB = 0, cmin = 0, cmax = 0, EB = 0, emin = 0, emax = 0, NB = 0;
    double cscale = 0, eaux = 0, escale = 0, bscale = 0;
    const char *gnames[64];
    int32_t *gprefix[64];
    int gplen[64];
    char gname_buf[64][16];
    while (fgets(line, sizeof line, f)) {
        if (strlen(line) >= sizeof line - 1) die("line too long");
        char *p = line, *end;
        while (*p == ' ') p++;
        if (*p == '\n' || !*p) continue;
        if (!strncmp(p, "groups", 6)) {
            if (sscanf(p + 6, "%d %lf %lf", &G, &alpha, &imix) != 3 || G < 1 || G > 64) die("bad groups line");
            gnames[0] = "";
            gprefix[0] = NULL;
            gplen[0] = 0;
            np = 1;
            continue;
        }
        if (!strncmp(p, "aux ", 4)) {
            if (sscanf(p + 4, "%d %lf %lf", &A, &aux_c, &aux_scale) != 3 || A < 1 || A > 64) die("bad aux line");
            continue;
        }
        if (!strncmp(p, "eaux ", 5)) {
            if (sscanf(p + 5, "%lf", &eaux) != 1 || !(eaux > 0) || A < 1) die("bad eaux line (or before aux)");
            continue;
        }
        if (!strncmp(p, "ebigrams ", 9)) {
            if (sscanf(p + 9, "%d %lf", &NB, &bscale) != 2 || NB < 1 || !(bscale > 0)) die("bad ebigrams line");
            continue;
        }
        if (!strncmp(p, "echars ", 7)) {
            if (sscanf(p + 7, "%d %d %d %lf", &EB, &emin, &emax, &escale) != 4 || EB < 1 || !(escale > 0))
                die("bad echars line");
            continue;
        }
        if (!strncmp(p, "chars ", 6)) {
            if (sscanf(p + 6, "%d %d %d %lf", &CB, &cmin, &cmax, &cscale) != 4 || CB < 1 || !(cscale > 0))
                die("bad chars line");
            continue;
        }
        if (!strncmp(p, "prefix", 6)) {
            if (np < 1 || np >= G) die("prefix line without room in groups");
            p += 6;
            long k = strtol(p, &end, 10);
            if (end == p || k < 1 || k > 64) die("bad prefix length");
            p = end;
            gprefix[np] = xmalloc((size_t)k * sizeof(int32_t));
            for (long j = 0; j < k; j++) {
                gprefix[np][j] = (int32_t)strtol(p, &end, 10);
                if (end == p) die("short prefix");
                p = end;
            }
            gplen[np] = (int)k;
            snprintf(gname_buf[np], sizeof gname_buf[np], "g%d", np);
            gnames[np] = gname_buf[np];
            np++;
            continue;
        }
        if (nr == cap) {
            cap *= 2;
            row *nrws = realloc(rows, cap * sizeof *rows);
            if (!nrws) die("out of memory");
            rows = nrws;
        }
        row *r = &rows[nr++];
        r->group = -1;
        r->text = NULL;
        char *bar = strstr(p, " | ");
        if (bar) {
            *bar = 0;
            char *t = bar + 3;
            size_t tl = strlen(t);
            if (tl && t[tl - 1] == '\n') t[--tl] = 0;
            r->text = xmalloc(tl + 1);
            memcpy(r->text, t, tl + 1);
        }
        if (!strncmp(p, "afit", 4)) r->fit = 4;
        else if (!strncmp(p, "ifit", 4)) r->fit = 3;
        else if (!strncmp(p, "ieval", 5)) r->fit = 2;
        else if (!strncmp(p, "fit", 3)) r->fit = 1;
        else if (!strncmp(p, "eval", 4)) r->fit = 0;
        else die("a row must start with fit, eval, ifit or ieval");
        p += r->fit == 4 || r->fit == 3 ? 4 : r->fit == 2 ? 5 : r->fit == 1 ? 3 : 4;
        int ny = r->fit == 4 ? A : L;
        if (ny < 1) die("an afit row before the aux line");
        r->y = xmalloc((size_t)ny * sizeof *r->y);
        if (r->fit == 2 || r->fit == 3) {
            if (r->fit == 3) {
                r->group = (int)strtol(p, &end, 10);
                if (end == p) die("missing group");
                p = end;
            }
            r->y[0] = strtof(p, &end);
            if (end == p) die("missing target");
            p = end;
        }
        for (int l = 0; l < ny && (r->fit < 2 || r->fit == 4); l++) {
            long v = strtol(p, &end, 10);
            if (end == p) die("missing label");
            r->y[l] = (float)v;
            p = end;
        }
        r->ids = xmalloc(strlen(p) * sizeof *r->ids);
        r->n = 0;
        for (;;) {
            long v = strtol(p, &end, 10);
            if (end == p) break;
            r->ids[r->n++] = (int32_t)v;
            p = end;
        }
    }
    fclose(f);

    if (np != G) die("groups line promised more prefix lines");
    size_t ne = 0;
    for (size_t i = 0; i < nr; i++) ne += rows[i].fit == 0;
    const int32_t **ids;
    int *lens;
    float *Y;
    size_t nf = gather(rows, nr, 1, L, &ids, &lens, &Y);
    affect_lexical lx, auxm;
    memset(&lx, 0, sizeof lx);
    memset(&auxm, 0, sizeof auxm);
    affect_error err;
    if (eaux > 0) { /* the aux outputs first: the emotion regressions read them */
        const int32_t **xids;
        int *xlens;
        float *XY;
        size_t na = gather(rows, nr, 4, A, &xids, &xlens, &XY);
        if (affect_lexical_init(&auxm, V, 1, &err) ||
            affect_lexical_fit_aux(&auxm, "aux", A, xids, xlens, na, XY, ex, nex, aux_c, &err))
            die(err.msg);
        free(xids);
        free(xlens);
        free(XY);
    }
    const char **ftexts = xmalloc((nf ? nf : 1) * sizeof *ftexts);
    size_t *ftlens = xmalloc((nf ? nf : 1) * sizeof *ftlens);
    for (size_t i = 0, j = 0; i < nr; i++)
        if (rows[i].fit == 1) {
            ftexts[j] = rows[i].text ? rows[i].text : "";
            ftlens[j] = strlen(ftexts[j]);
            j++;
        }
    affect_lexical_fit_opts o;
    memset(&o, 0, sizeof o);
    o.c = C;
    o.mix = mix;
    o.balanced = balanced;
    o.aux = eaux > 0 ? &auxm : NULL;
    o.aux_scale = eaux;
    o.char_scale = escale;
    o.buckets = EB;
    o.ngram_min = emin;
    o.ngram_max = emax;
    o.bigram_scale = bscale;
    o.bigram_buckets = NB;
    o.texts = ftexts;
    o.text_lens = ftlens;
    if (affect_lexical_fit(&lx, V, L, ids, lens, nf, Y, NULL, ex, nex, &o, &err)) die(err.msg);
    free(ftexts);
    free(ftlens);
    affect_lexical_free(&auxm);

    /* the lexical logit alone: mix 1 on every fitted label, the head's logit 0 */
    double *logits = xmalloc((ne ? ne : 1) * (size_t)L * sizeof *logits);
    double *bilen = xmalloc((ne ? ne : 1) * sizeof *bilen), *bib = NULL;
    size_t nbib = 0;
    float *keep_mix = xmalloc((size_t)L * sizeof *keep_mix), *lg = xmalloc((size_t)L * sizeof *lg);
    for (int l = 0; l < L; l++) {
        keep_mix[l] = lx.mix[l];
        if (lx.mix[l] > 0) lx.mix[l] = 1.0f;
    }
    for (size_t i = 0, k = 0; i < nr; i++) {
        if (rows[i].fit != 0) continue;
        size_t n = (size_t)rows[i].n;
        int32_t *fid = xmalloc((n ? n : 1) * sizeof *fid);
        float *fval = xmalloc((n ? n : 1) * sizeof *fval);
        const char *t = rows[i].text ? rows[i].text : "";
        memset(lg, 0, (size_t)L * sizeof *lg);
        if (affect_lexical_mix_row(&lx, rows[i].ids, n, t, strlen(t), lg, fid, fval, &err)) die(err.msg);
        for (int l = 0; l < L; l++) logits[k * (size_t)L + (size_t)l] = lg[l];
        if (lx.em.NB > 0) {
            int32_t *bk = xmalloc((n ? n : 1) * sizeof *bk);
            size_t m = affect_lexical_bigrams(lx.idf, V, rows[i].ids, n, lx.em.NB, bk);
            bilen[k] = (double)m;
            append_buckets(&bib, &nbib, bk, m);
            free(bk);
        }
        free(fid);
        free(fval);
        k++;
    }
    memcpy(lx.mix, keep_mix, (size_t)L * sizeof *keep_mix);
    free(keep_mix);
    free(lg);
    FILE *o2 = fopen(argv[2], "wb");
    if (!o2) die("cannot write the output");
    put_floats(o2, "idf", lx.idf, (size_t)V);
    put_floats(o2, "weight", lx.w, (size_t)L * (size_t)V);
    put_floats(o2, "bias", lx.b, (size_t)L);
    put_floats(o2, "mix", lx.mix, (size_t)L);
    put_record(o2, "eval_logits", logits, ne * (size_t)L);
    if (lx.em.aux_w) put_floats(o2, "eaux", lx.em.aux_w, (size_t)L * (size_t)lx.aux.A);
    if (lx.em.B > 0) {
        put_floats(o2, "echidf", lx.em.ch_idf, (size_t)lx.em.B);
        put_floats(o2, "echweight", lx.em.ch_w, (size_t)L * (size_t)lx.em.B);
    }
    if (lx.em.NB > 0) {
        put_floats(o2, "ebiidf", lx.em.bi_idf, (size_t)lx.em.NB);
        put_floats(o2, "ebiweight", lx.em.bi_w, (size_t)L * (size_t)lx.em.NB);
        put_record(o2, "ebilen", bilen, ne);
        put_record(o2, "ebibuckets", bib, nbib);
    }
    free(bilen);
    free(bib);
    if (G > 0) {
        if (A > 0 && lx.aux.A == 0) {
            const int32_t **xids;
            int *xlens;
            float *XY;
            size_t na = gather(rows, nr, 4, A, &xids, &xlens, &XY);
            if (affect_lexical_fit_aux(&lx, "aux", A, xids, xlens, na, XY, ex, nex, aux_c, &err)) die(err.msg);
            free(xids);
            free(xlens);
            free(XY);
        }
        /* every row goes in; the ones that are not "ifit" are masked out, as stage-2 rows
         * without an intensity target are */
        const int32_t **aids = xmalloc(nr * sizeof *aids);
        const char **texts = xmalloc(nr * sizeof *texts);
        size_t *tlens = xmalloc(nr * sizeof *tlens);
        int *alens = xmalloc(nr * sizeof *alens), nie = 0;
        int32_t *grp = xmalloc(nr * sizeof *grp);
        float *tgt = xmalloc(nr * sizeof *tgt);
        uint8_t *sel = xmalloc(nr);
        for (size_t i = 0; i < nr; i++) {
            aids[i] = rows[i].ids;
            alens[i] = rows[i].n;
            texts[i] = rows[i].text ? rows[i].text : "";
            tlens[i] = strlen(texts[i]);
            grp[i] = rows[i].group;
            tgt[i] = rows[i].fit == 3 ? rows[i].y[0] : 0.0f;
            sel[i] = rows[i].fit == 3;
            nie += rows[i].fit == 2;
        }
        affect_lexical_intensity_opts io = {alpha, imix, aux_scale, cscale, CB, cmin, cmax};
        if (affect_lexical_fit_intensity(&lx, aids, alens, texts, tlens, nr, tgt, sel, grp, G, gnames,
                                         (const int32_t *const *)gprefix, gplen, ex, nex, &io, &err))
            die(err.msg);
        double *nglen = xmalloc((size_t)(nie ? nie : 1) * sizeof *nglen), *ngb = NULL;
        size_t nngb = 0;
        double *pred = xmalloc((size_t)(nie ? nie : 1) * sizeof *pred), *model = xmalloc((size_t)(nie ? nie : 1) * sizeof *model);
        double *aeval = xmalloc((size_t)(nie ? nie : 1) * (size_t)(A ? A : 1) * sizeof *aeval);
        float keep[64];
        for (int g = 0; g < G; g++) {
            keep[g] = lx.in.mix[g];
            lx.in.mix[g] = 1.0f; /* the ridge alone */
        }
        for (size_t i = 0, k = 0; i < nr; i++) {
            if (rows[i].fit != 2) continue;
            size_t n = (size_t)rows[i].n;
            int32_t *fid = xmalloc(n * sizeof *fid);
            float *fval = xmalloc(n * sizeof *fval);
            float v = 0;
            if (affect_lexical_mix_intensity(&lx, rows[i].ids, n, texts[i], tlens[i], &v, fid, fval, &err)) die(err.msg);
            pred[k] = v;
            model[k] = affect_lexical_intensity_model(&lx, rows[i].ids, n);
            if (lx.in.B > 0) {
                size_t tl = tlens[i];
                const char *t = affect_lexical_model_text(&lx, (int)model[k], texts[i], &tl);
                int32_t *bk = xmalloc(affect_lexical_char_ngram_bound(tl, cmin, cmax) * sizeof *bk);
                size_t m = affect_lexical_char_ngrams(t, tl, cmin, cmax, lx.in.B, bk);
                nglen[k] = (double)m;
                append_buckets(&ngb, &nngb, bk, m);
                free(bk);
            }
            if (A > 0) affect_lexical_aux_features(&lx, rows[i].ids, n, aeval + k * (size_t)A, fid, fval);
            free(fid);
            free(fval);
            k++;
        }
        for (int g = 0; g < G; g++) lx.in.mix[g] = keep[g];
        put_floats(o2, "iidf", lx.in.idf, (size_t)V);
        put_floats(o2, "iweight", lx.in.w, (size_t)G * (size_t)V);
        put_floats(o2, "ibias", lx.in.b, (size_t)G);
        put_floats(o2, "imix", lx.in.mix, (size_t)G);
        put_record(o2, "ieval", pred, (size_t)nie);
        put_record(o2, "imodel", model, (size_t)nie);
        if (A > 0) {
            put_floats(o2, "aidf", lx.aux.idf, (size_t)V);
            put_floats(o2, "aweight", lx.aux.w, (size_t)A * (size_t)V);
            put_floats(o2, "abias", lx.aux.b, (size_t)A);
            put_floats(o2, "amean", lx.aux.mean, (size_t)A);
            put_floats(o2, "ascale", lx.aux.scale, (size_t)A);
            put_floats(o2, "iaux", lx.in.aux_w, (size_t)G * (size_t)A);
            put_record(o2, "aeval", aeval, (size_t)nie * (size_t)A);
        }
        if (lx.in.B > 0) {
            put_floats(o2, "chidf", lx.in.ch_idf, (size_t)lx.in.B);
            put_floats(o2, "chweight", lx.in.ch_w, (size_t)G * (size_t)lx.in.B);
            put_record(o2, "ngram_len", nglen, (size_t)nie);
            put_record(o2, "ngram_buckets", ngb, nngb);
        }
        free(nglen);
        free(ngb);
        free(texts);
        free(tlens);
        free(aeval);
        free(pred);
        free(model);
        free(aids);
        free(alens);
        free(grp);
        free(tgt);
        free(sel);
        for (int g = 1; g < G; g++) free(gprefix[g]);
    }
    if (fclose(o2)) die("write failed");
    affect_lexical_free(&lx);
    for (size_t i = 0; i < nr; i++) {
        free(rows[i].y);
        free(rows[i].ids);
        free(rows[i].text);
    }
    free(rows);
    free(ids);
    free(lens);
    free(Y);
    free(logits);
    return 0;
}
