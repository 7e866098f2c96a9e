/* Fitting the lexical model: see lexical_fit.h. */
#include "train/lexical_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

#define LBFGS_M 10

/* The fitted rows as a sparse matrix over the kept ids, renumbered to columns 0..d-1 so the
 * solver works on the few thousand ids the rows use rather than the whole vocabulary. */
typedef struct csr {
    size_t m, d;        /* rows, columns */
    size_t *start;      /* (m+1) */
    int32_t *col;       /* (nnz) */
    double *val;        /* (nnz) */
    size_t *row;        /* (m) index of the row in the caller's arrays */
} csr;

static void csr_free(csr *x) {
    free(x->start);
    free(x->col);
    free(x->val);
    free(x->row);
    memset(x, 0, sizeof *x);
}

/* ln(1 + e^u) without overflow. */
static double softplus(double u) { return (u > 0 ? u : 0) + log1p(exp(-fabs(u))); }

/* One regression: minimise C * sum_i s_i loss_i + |w|^2 / 2, z = Xw + b, over the rows
 * with s_i > 0; loss_i = softplus(-t_i z_i) (logistic, t in {-1,+1}) or (z_i - t_i)^2 / 2
 * (squared: ridge regression with alpha = 1/C). */
typedef struct problem {
    const csr *x;
    const double *s, *t; /* (m) row weights (0 = not in this problem), targets */
    double c;
    int squared;
} problem;

/* Objective and gradient at theta = (w[0..d), b). */
static double objective(const problem *p, const double *theta, double *g) {
    const csr *x = p->x;
    size_t d = x->d;
    double f = 0, gb = 0;
    memset(g, 0, (d + 1) * sizeof *g);
    for (size_t i = 0; i < x->m; i++) {
        if (p->s[i] == 0) continue;
        double z = theta[d], dz;
        for (size_t k = x->start[i]; k < x->start[i + 1]; k++) z += theta[x->col[k]] * x->val[k];
        if (p->squared) {
            double r = z - p->t[i];
            f += p->s[i] * 0.5 * r * r;
            dz = p->c * p->s[i] * r;
        } else {
            double u = -p->t[i] * z;
            f += p->s[i] * softplus(u);
            /* d/dz softplus(-t z) = -t * sigmoid(-t z) */
            double sg = u >= 0 ? 1.0 / (1.0 + exp(-u)) : exp(u) / (1.0 + exp(u));
            dz = p->c * p->s[i] * -p->t[i] * sg;
        }
        for (size_t k = x->start[i]; k < x->start[i + 1]; k++) g[x->col[k]] += dz * x->val[k];
        gb += dz;
    }
    f *= p->c;
    for (size_t j = 0; j < d; j++) {
        f += 0.5 * theta[j] * theta[j];
        g[j] += theta[j];
    }
    g[d] = gb;
    return f;
}

static double max_abs(const double *v, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > m) m = fabs(v[i]);
    return m;
}

static double dot(const double *a, const double *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

/* L-BFGS (Nocedal & Wright, Algorithm 7.4) with a backtracking Armijo line search. The
 * problem is smooth and strictly convex in w, so this converges to the one optimum; the
 * iteration count only decides how close. work holds (2*LBFGS_M + 4) * n doubles. */
static void lbfgs(const problem *p, double *theta, size_t n, int max_iter, double tol, double *work) {
    double *g = work, *gn = g + n, *dir = gn + n, *tn = dir + n;
    double *S = tn + n, *Y = S + LBFGS_M * n;
    double rho[LBFGS_M], alpha[LBFGS_M];
    int head = 0, len = 0, stall = 0;
    double f = objective(p, theta, g);
    double g0 = max_abs(g, n), stop = tol * (g0 > 1 ? g0 : 1);
    for (int it = 0; it < max_iter && max_abs(g, n) > stop; it++) {
        /* two-loop recursion: dir = -H g */
        for (size_t j = 0; j < n; j++) dir[j] = -g[j];
        for (int k = 0; k < len; k++) {
            int i = (head - 1 - k + LBFGS_M) % LBFGS_M;
            alpha[i] = rho[i] * dot(S + (size_t)i * n, dir, n);
            for (size_t j = 0; j < n; j++) dir[j] -= alpha[i] * Y[(size_t)i * n + j];
        }
        double gamma = 1.0;
        if (len > 0) {
            int i = (head - 1 + LBFGS_M) % LBFGS_M;
            gamma = dot(S + (size_t)i * n, Y + (size_t)i * n, n) / dot(Y + (size_t)i * n, Y + (size_t)i * n, n);
        } else {
            double gn2 = sqrt(dot(g, g, n));
            gamma = gn2 > 1 ? 1.0 / gn2 : 1.0;
        }
        for (size_t j = 0; j < n; j++) dir[j] *= gamma;
        for (int k = len - 1; k >= 0; k--) {
            int i = (head - 1 - k + LBFGS_M) % LBFGS_M;
            double beta = rho[i] * dot(Y + (size_t)i * n, dir, n);
            for (size_t j = 0; j < n; j++) dir[j] += (alpha[i] - beta) * S[(size_t)i * n + j];
        }
        double slope = dot(g, dir, n);
        if (!(slope < 0)) { /* not a descent direction: restart from steepest descent */
            len = 0;
            for (size_t j = 0; j < n; j++) dir[j] = -g[j] / (1 + sqrt(dot(g, g, n)));
            slope = dot(g, dir, n);
        }
        double step = 1.0, fn = f;
        int ok = 0;
        for (int ls = 0; ls < 60; ls++) {
            for (size_t j = 0; j < n; j++) tn[j] = theta[j] + step * dir[j];
            fn = objective(p, tn, gn);
            if (fn <= f + 1e-4 * step * slope) {
                ok = 1;
                break;
            }
            step *= 0.5;
        }
        if (!ok) break; /* no decrease left at double precision: as converged as it gets */
        double *s = S + (size_t)head * n, *y = Y + (size_t)head * n;
        for (size_t j = 0; j < n; j++) {
            s[j] = tn[j] - theta[j];
            y[j] = gn[j] - g[j];
        }
        double sy = dot(s, y, n);
        if (sy > 1e-300) {
            rho[head] = 1.0 / sy;
            head = (head + 1) % LBFGS_M;
            if (len < LBFGS_M) len++;
        }
        memcpy(theta, tn, n * sizeof *theta);
        memcpy(g, gn, n * sizeof *g);
        /* steps that no longer move f beyond its rounding are noise, not progress */
        stall = f - fn <= 1e-15 * (1 + fabs(f)) ? stall + 1 : 0;
        f = fn;
        if (stall >= 3) break;
    }
}

/* The tf-idf rows of the selected rows (sel NULL: all): idf over them into idf (V), the
 * feature rows renumbered to the ids they use (colof: id -> column or -1) into x. Row r of x
 * is the caller's row x->row[r]. */
static int tfidf_build(int V, const int32_t *const *ids, const int *lens, size_t n, const uint8_t *sel,
                       const int32_t *exclude, int n_exclude, float *idf, csr *x, int32_t *colof, affect_error *err) {
    size_t v = (size_t)V;
    size_t *df = calloc(v, sizeof *df);
    uint8_t *skip = calloc(v, 1), *seen = calloc(v, 1);
    int32_t *fid = NULL;
    float *fval = NULL;
    int rc = 0;
    memset(x, 0, sizeof *x);
    if (!df || !skip || !seen) rc = affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    for (int i = 0; !rc && i < n_exclude; i++)
        if (exclude[i] >= 0 && exclude[i] < V) skip[exclude[i]] = 1;
    size_t m = 0, maxlen = 1;
    for (size_t i = 0; !rc && i < n; i++) {
        if (sel && !sel[i]) continue;
        if (lens[i] < 0 || (lens[i] > 0 && !ids[i])) {
            rc = affect_fail(err, AFFECT_EARG, "lexical fit: row %zu has no token ids", i);
            break;
        }
        m++;
        size_t ln = (size_t)lens[i];
        if (ln > maxlen) maxlen = ln;
        for (size_t k = 0; k < ln && !rc; k++) {
            int32_t id = ids[i][k];
            if (id < 0 || id >= V)
                rc = affect_fail(err, AFFECT_EARG, "lexical fit: row %zu has token id %d outside 0..%d", i, id, V - 1);
            else if (!skip[id] && !seen[id]) {
                seen[id] = 1;
                df[id]++;
            }
        }
        for (size_t k = 0; k < ln && !rc; k++) seen[ids[i][k]] = 0;
    }
    if (!rc && m == 0) rc = affect_fail(err, AFFECT_EARG, "lexical fit: no row to fit");
    size_t d = 0;
    for (size_t id = 0; !rc && id < v; id++) {
        colof[id] = -1;
        idf[id] = 0.0f;
        if (df[id] > 0) {
            idf[id] = (float)(log((1.0 + (double)m) / (1.0 + (double)df[id])) + 1.0);
            colof[id] = (int32_t)d++;
        }
    }
    if (!rc) {
        fid = malloc(maxlen * sizeof *fid);
        fval = malloc(maxlen * sizeof *fval);
        x->start = malloc((m + 1) * sizeof *x->start);
        x->row = malloc(m * sizeof *x->row);
        if (!fid || !fval || !x->start || !x->row) rc = affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    }
    /* two passes: count, then fill, with exactly the features inference computes */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        size_t r = 0, nnz = 0;
        for (size_t i = 0; i < n; i++) {
            if (sel && !sel[i]) continue;
            size_t k = affect_lexical_features(idf, V, ids[i], (size_t)lens[i], fid, fval);
            if (pass == 1) {
                x->start[r] = nnz;
                x->row[r] = i;
                for (size_t j = 0; j < k; j++) {
                    x->col[nnz + j] = colof[fid[j]];
                    x->val[nnz + j] = fval[j];
                }
            }
            nnz += k;
            r++;
        }
        if (pass == 0) {
            x->col = malloc((nnz ? nnz : 1) * sizeof *x->col);
            x->val = malloc((nnz ? nnz : 1) * sizeof *x->val);
            if (!x->col || !x->val) rc = affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
        } else {
            x->start[m] = nnz;
        }
    }
    x->m = m;
    x->d = d;
    free(df);
    free(skip);
    free(seen);
    free(fid);
    free(fval);
    if (rc) csr_free(x);
    return rc;
}

/* What every fit starts from: the selected rows' tf-idf matrix (their idf into idf) with its
 * id -> column map, and room for the solver's per-row weights s and targets t. */
typedef struct fit_rows {
    csr x;
    int32_t *colof; /* (V) */
    double *s, *t;  /* (x.m) */
} fit_rows;

static void fit_rows_free(fit_rows *f) {
    csr_free(&f->x);
    free(f->colof);
    free(f->s);
    free(f->t);
    memset(f, 0, sizeof *f);
}

static int fit_rows_build(fit_rows *f, int V, const int32_t *const *ids, const int *lens, size_t n,
                          const uint8_t *sel, const int32_t *exclude, int n_exclude, float *idf, affect_error *err) {
    memset(f, 0, sizeof *f);
    f->colof = malloc((size_t)V * sizeof *f->colof);
    int rc = f->colof ? tfidf_build(V, ids, lens, n, sel, exclude, n_exclude, idf, &f->x, f->colof, err)
                      : affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    if (!rc) {
        f->s = malloc((f->x.m ? f->x.m : 1) * sizeof *f->s);
        f->t = malloc((f->x.m ? f->x.m : 1) * sizeof *f->t);
        if (!f->s || !f->t) rc = affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    }
    if (rc) fit_rows_free(f);
    return rc;
}

/* Where a regression's weights go: the vocabulary's columns (colof: id -> column), then
 * optionally B character-bucket columns from column coff (ccolof: bucket -> column within
 * them; each weight times cscale, the block's scale, so inference reads the unscaled
 * features), likewise NB bigram-bucket columns from boff, then the A dense columns that end
 * the matrix. */
typedef struct layout {
    int V;
    const int32_t *colof;
    int B;
    const int32_t *ccolof;
    size_t coff;
    double cscale;
    int A;
    int NB;                /* bigram buckets (0: none), columns from boff, bcolof, scale bscale */
    const int32_t *bcolof;
    size_t boff;
    double bscale;
} layout;

/* Solves one regression from zero and writes its weights over the vocabulary (w), the
 * character buckets (ch_w, when the layout has them), the dense columns (aux_w) and the bias. */
static int solve(const problem *p, const layout *lay, int max_iter, double tol, float *w, float *ch_w, float *bi_w,
                 float *aux_w, double *b, affect_error *err) {
    size_t dim = p->x->d + 1;
    double *theta = calloc(dim, sizeof *theta);
    double *work = malloc((2 * LBFGS_M + 4) * dim * sizeof *work);
    if (!theta || !work) {
        free(theta);
        free(work);
        return affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    }
    lbfgs(p, theta, dim, max_iter, tol, work);
    for (size_t id = 0; id < (size_t)lay->V; id++) w[id] = lay->colof[id] >= 0 ? (float)theta[lay->colof[id]] : 0.0f;
    for (size_t k = 0; k < (size_t)lay->B; k++)
        ch_w[k] = lay->ccolof[k] >= 0 ? (float)(lay->cscale * theta[lay->coff + (size_t)lay->ccolof[k]]) : 0.0f;
    for (size_t k = 0; k < (size_t)lay->NB; k++)
        bi_w[k] = lay->bcolof[k] >= 0 ? (float)(lay->bscale * theta[lay->boff + (size_t)lay->bcolof[k]]) : 0.0f;
    for (int j = 0; j < lay->A; j++) aux_w[j] = (float)theta[p->x->d - (size_t)lay->A + (size_t)j];
    *b = theta[p->x->d];
    free(theta);
    free(work);
    return AFFECT_OK;
}

static int csr_hstack(const csr *x, const csr *xc, double cscale, const csr *xb, double bscale, const double *U, int A,
                      csr *out, affect_error *err);
static int char_rows(const affect_lexical *lx, int cut, int nmin, int nmax, int B, const int32_t *const *ids,
                     const int *lens, const char *const *texts, const size_t *text_lens, size_t n, const uint8_t *sel,
                     int32_t ***bk, int **bkn, affect_error *err);
static void bucket_rows_free(int32_t **bk, int *bkn, size_t n);

/* The token-bigram buckets of every selected row (affect_lexical_bigrams over idf) into
 * bk[i][0..bkn[i]) (unselected rows: none; freed by bucket_rows_free). */
static int bigram_rows(const float *idf, int V, int NB, const int32_t *const *ids, const int *lens, size_t n,
                       const uint8_t *sel, int32_t ***bk, int **bkn, affect_error *err) {
    *bk = calloc(n ? n : 1, sizeof **bk);
    *bkn = calloc(n ? n : 1, sizeof **bkn);
    if (!*bk || !*bkn) return affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (sel && !sel[i]) continue;
        size_t len = lens[i] > 0 ? (size_t)lens[i] : 0;
        if (!((*bk)[i] = malloc((len ? len : 1) * sizeof ***bk)))
            return affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory for the bigrams of row %zu", i);
        (*bkn)[i] = (int)affect_lexical_bigrams(idf, V, ids[i], len, NB, (*bk)[i]);
    }
    return AFFECT_OK;
}
static int aux_columns(const affect_lexical *lx, const csr *x, const int32_t *const *ids, const int *lens,
                       double aux_scale, float *mean, float *scale, double *U, affect_error *err);

/* The optional blocks (character n-grams, auxiliary logits) are built once and shared by every
 * label's regression; only the row weights and targets change from label to label. */
int affect_lexical_fit(affect_lexical *out, int V, int L, const int32_t *const *ids, const int *lens,
                       size_t n, const float *labels, const uint8_t *label_row, const int32_t *exclude,
                       int n_exclude, const affect_lexical_fit_opts *opts, affect_error *err) {
    double cs = opts ? opts->char_scale : 0, as = opts ? opts->aux_scale : 0, bs = opts ? opts->bigram_scale : 0;
    if (!out || !ids || !lens || !labels || !opts || V <= 0 || L <= 0 || !(opts->c > 0) || !(opts->mix >= 0) ||
        !(opts->mix <= 1) || !(cs >= 0 && isfinite(cs)) || (cs > 0 && (!opts->texts || !opts->text_lens)) ||
        !(as >= 0 && isfinite(as)) || (opts->aux && opts->aux->V != V) || !(bs >= 0 && isfinite(bs)))
        return affect_fail(err, AFFECT_EARG, "lexical fit: bad arguments (V=%d, L=%d, c=%g, mix=%g, char_scale=%g, "
                           "aux_scale=%g)", V, L, opts ? opts->c : 0.0, opts ? opts->mix : 0.0, cs, as);
    int max_iter = opts->max_iter > 0 ? opts->max_iter : 1000;
    double tol = opts->tol > 0 ? opts->tol : 1e-8;
    int B = opts->buckets > 0 ? opts->buckets : AFFECT_LEXICAL_DEFAULT_BUCKETS;
    int nmin = opts->ngram_min > 0 ? opts->ngram_min : 2, nmax = opts->ngram_max > 0 ? opts->ngram_max : 5;
    int NB = opts->bigram_buckets > 0 ? opts->bigram_buckets : 16384;
    int want_aux = opts->aux && opts->aux->aux.A > 0 && as > 0;
    affect_lexical lx;
    int rc = affect_lexical_init(&lx, V, L, err);
    if (rc) return rc;
    if (want_aux && !(rc = affect_lexical_copy_aux(opts->aux, &lx, err))) rc = affect_lexical_init_emotion_aux(&lx, err);
    if (!rc && cs > 0) rc = affect_lexical_init_emotion_chars(&lx, B, nmin, nmax, err);
    if (!rc && bs > 0) rc = affect_lexical_init_emotion_bigrams(&lx, NB, err);
    int A = want_aux ? lx.aux.A : 0;
    fit_rows f;
    memset(&f, 0, sizeof f);
    if (!rc) rc = fit_rows_build(&f, V, ids, lens, n, label_row, exclude, n_exclude, lx.idf, err);
    const csr *x = &f.x;
    csr xa = {0}, xc = {0}, xb = {0};
    double *s = f.s, *t = f.t, *U = NULL;
    float *mean = NULL, *scale = NULL, *aw = NULL;
    int32_t **bk = NULL, *ccolof = NULL, *bcolof = NULL;
    int *bkn = NULL;
    size_t m = x->m;
    if (!rc && bs > 0) {
        bcolof = malloc((size_t)NB * sizeof *bcolof);
        rc = bcolof ? bigram_rows(lx.idf, V, NB, ids, lens, n, label_row, &bk, &bkn, err)
                    : affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
        if (!rc) rc = tfidf_build(NB, (const int32_t *const *)bk, bkn, n, label_row, NULL, 0, lx.em.bi_idf, &xb, bcolof, err);
        bucket_rows_free(bk, bkn, n);
        bk = NULL;
        bkn = NULL;
    }
    if (!rc && cs > 0) {
        ccolof = malloc((size_t)B * sizeof *ccolof);
        rc = ccolof ? char_rows(&lx, 0, nmin, nmax, B, ids, lens, opts->texts, opts->text_lens, n, label_row, &bk, &bkn,
                                err)
                    : affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
        if (!rc) rc = tfidf_build(B, (const int32_t *const *)bk, bkn, n, label_row, NULL, 0, lx.em.ch_idf, &xc, ccolof, err);
        bucket_rows_free(bk, bkn, n);
    }
    if (!rc && A > 0) {
        U = malloc((m ? m : 1) * (size_t)A * sizeof *U);
        mean = malloc((size_t)A * sizeof *mean);
        scale = malloc((size_t)A * sizeof *scale);
        aw = malloc((size_t)A * sizeof *aw);
        if (!U || !mean || !scale || !aw) rc = affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
        if (!rc) rc = aux_columns(&lx, x, ids, lens, as, mean, scale, U, err);
    }
    int extra = A > 0 || cs > 0 || bs > 0;
    if (!rc && extra) rc = csr_hstack(x, cs > 0 ? &xc : NULL, cs, bs > 0 ? &xb : NULL, bs, U, A, &xa, err);
    layout lay = {V, f.colof, cs > 0 ? B : 0, ccolof, x->d, cs, A, bs > 0 ? NB : 0, bcolof, x->d + xc.d, bs};
    for (int l = 0; l < L && !rc; l++) {
        size_t pos = 0;
        for (size_t r = 0; r < m; r++) {
            int y = labels[x->row[r] * (size_t)L + (size_t)l] > 0.5f;
            t[r] = y ? 1.0 : -1.0;
            pos += (size_t)y;
        }
        size_t neg = m - pos;
        if (pos == 0 || neg == 0) continue; /* w = 0, b = 0, mix = 0: the head alone */
        double sp = opts->balanced ? (double)m / (2.0 * (double)pos) : 1.0;
        double sn = opts->balanced ? (double)m / (2.0 * (double)neg) : 1.0;
        for (size_t r = 0; r < m; r++) s[r] = t[r] > 0 ? sp : sn;
        problem p = {extra ? &xa : x, s, t, opts->c, 0};
        double b = 0;
        if ((rc = solve(&p, &lay, max_iter, tol, lx.w + (size_t)l * (size_t)V,
                        cs > 0 ? lx.em.ch_w + (size_t)l * (size_t)B : NULL,
                        bs > 0 ? lx.em.bi_w + (size_t)l * (size_t)NB : NULL, aw, &b, err)))
            break;
        /* w·((z - mean) * scale) = (w * scale)·z - (w * scale)·mean: inference reads raw z */
        for (int j = 0; j < A; j++) {
            double v = (double)aw[j] * (double)scale[j];
            lx.em.aux_w[(size_t)l * (size_t)A + (size_t)j] = (float)v;
            b -= v * (double)mean[j];
        }
        if (opts->balanced) b += log((double)pos / (double)neg);
        lx.b[l] = (float)b;
        lx.mix[l] = (float)opts->mix;
    }
    fit_rows_free(&f);
    csr_free(&xa);
    csr_free(&xc);
    csr_free(&xb);
    free(ccolof);
    free(bcolof);
    free(U);
    free(mean);
    free(scale);
    free(aw);
    if (rc) {
        affect_lexical_free(&lx);
        return rc;
    }
    affect_lexical_free(out);
    *out = lx;
    return AFFECT_OK;
}

/* The auxiliary outputs are an unweighted emotion fit over their own rows, kept apart from the
 * emotion part (no mix, no prior shift). */
int affect_lexical_fit_aux(affect_lexical *lx, const char *name, int A, const int32_t *const *ids, const int *lens,
                           size_t n, const float *labels, const int32_t *exclude, int n_exclude, double c,
                           affect_error *err) {
    if (!lx || lx->V <= 0 || lx->aux.A != 0 || lx->in.G != 0 || !ids || !lens || !labels || A < 1 ||
        A > AFFECT_LEXICAL_MAX_AUX || !(c > 0))
        return affect_fail(err, AFFECT_EARG, "lexical aux fit: bad arguments (A=%d, c=%g), or fitted after the "
                           "intensity models", A, c);
    size_t v = (size_t)lx->V, a = (size_t)A;
    affect_lexical fit, tmp;
    memset(&fit, 0, sizeof fit);
    memset(&tmp, 0, sizeof tmp);
    tmp.V = lx->V; /* a carrier for the aux part, moved into lx on success */
    affect_lexical_fit_opts o;
    memset(&o, 0, sizeof o);
    o.c = c;
    int rc = affect_lexical_fit(&fit, lx->V, A, ids, lens, n, labels, NULL, exclude, n_exclude, &o, err);
    if (!rc) rc = affect_lexical_init_aux(&tmp, A, name, err);
    if (!rc) {
        memcpy(tmp.aux.idf, fit.idf, v * sizeof(float));
        memcpy(tmp.aux.w, fit.w, a * v * sizeof(float));
        memcpy(tmp.aux.b, fit.b, a * sizeof(float));
        lx->aux = tmp.aux;
    }
    affect_lexical_free(&fit);
    return rc;
}

/* [x | cscale * xc | bscale * xb | U]: x's columns, then xc's and xb's (each when given; the
 * same rows) numbered after them, then A dense columns with values U (m,A). */
static int csr_hstack(const csr *x, const csr *xc, double cscale, const csr *xb, double bscale, const double *U, int A,
                      csr *out, affect_error *err) {
    size_t m = x->m, a = (size_t)A, nnz = x->start[m] + m * a + (xc ? xc->start[m] : 0) + (xb ? xb->start[m] : 0);
    size_t d1 = x->d, d2 = xc ? xc->d : 0, d3 = xb ? xb->d : 0;
    memset(out, 0, sizeof *out);
    out->start = malloc((m + 1) * sizeof *out->start);
    out->row = malloc((m ? m : 1) * sizeof *out->row);
    out->col = malloc((nnz ? nnz : 1) * sizeof *out->col);
    out->val = malloc((nnz ? nnz : 1) * sizeof *out->val);
    if (!out->start || !out->row || !out->col || !out->val) {
        csr_free(out);
        return affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    }
    size_t k = 0;
    for (size_t r = 0; r < m; r++) {
        out->start[r] = k;
        out->row[r] = x->row[r];
        for (size_t q = x->start[r]; q < x->start[r + 1]; q++, k++) {
            out->col[k] = x->col[q];
            out->val[k] = x->val[q];
        }
        for (size_t q = xc ? xc->start[r] : 0; xc && q < xc->start[r + 1]; q++, k++) {
            out->col[k] = (int32_t)(d1 + (size_t)xc->col[q]);
            out->val[k] = cscale * xc->val[q];
        }
        for (size_t q = xb ? xb->start[r] : 0; xb && q < xb->start[r + 1]; q++, k++) {
            out->col[k] = (int32_t)(d1 + d2 + (size_t)xb->col[q]);
            out->val[k] = bscale * xb->val[q];
        }
        for (size_t j = 0; j < a; j++, k++) {
            out->col[k] = (int32_t)(d1 + d2 + d3 + j);
            out->val[k] = U[r * a + j];
        }
    }
    out->start[m] = k;
    out->m = m;
    out->d = d1 + d2 + d3 + a;
    return AFFECT_OK;
}

/* The character n-gram buckets (nmin..nmax code points, B buckets) of every selected row's
 * text into bk[i][0..bkn[i]) (unselected rows: none); with cut, as the intensity model that
 * reads the row sees it (its prefix cut off). */
static int char_rows(const affect_lexical *lx, int cut, int nmin, int nmax, int B, const int32_t *const *ids,
                     const int *lens, const char *const *texts, const size_t *text_lens, size_t n, const uint8_t *sel,
                     int32_t ***bk, int **bkn, affect_error *err) {
    *bk = calloc(n ? n : 1, sizeof **bk);
    *bkn = calloc(n ? n : 1, sizeof **bkn);
    if (!*bk || !*bkn) return affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (sel && !sel[i]) continue;
        if (!texts[i]) return affect_fail(err, AFFECT_EARG, "lexical fit: row %zu has no text", i);
        size_t len = text_lens[i];
        const char *t = cut ? affect_lexical_model_text(lx, affect_lexical_intensity_model(lx, ids[i], (size_t)lens[i]),
                                                        texts[i], &len)
                            : texts[i];
        size_t cap = affect_lexical_char_ngram_bound(len, nmin, nmax);
        if (!cap || !((*bk)[i] = malloc(cap * sizeof ***bk)))
            return affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory for the n-grams of row %zu", i);
        size_t k = affect_lexical_char_ngrams(t, len, nmin, nmax, B, (*bk)[i]);
        if (k > INT32_MAX) return affect_fail(err, AFFECT_EARG, "lexical fit: row %zu is too long", i);
        (*bkn)[i] = (int)k;
    }
    return AFFECT_OK;
}

static void bucket_rows_free(int32_t **bk, int *bkn, size_t n) {
    for (size_t i = 0; bk && i < n; i++) free(bk[i]);
    free(bk);
    free(bkn);
}

/* The auxiliary outputs' standardised logits of the fitted rows: mean and scale = aux_scale /
 * (population sd) over those rows into mean/scale, the features into U (m,A). */
static int aux_columns(const affect_lexical *lx, const csr *x, const int32_t *const *ids, const int *lens,
                       double aux_scale, float *mean, float *scale, double *U, affect_error *err) {
    int A = lx->aux.A;
    size_t m = x->m, a = (size_t)A, maxlen = 1;
    for (size_t r = 0; r < m; r++)
        if ((size_t)lens[x->row[r]] > maxlen) maxlen = (size_t)lens[x->row[r]];
    int32_t *fid = malloc(maxlen * sizeof *fid);
    float *fval = malloc(maxlen * sizeof *fval);
    if (!fid || !fval) {
        free(fid);
        free(fval);
        return affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
    }
    for (size_t r = 0; r < m; r++) {
        size_t i = x->row[r];
        affect_lexical_aux_logits(lx, ids[i], (size_t)lens[i], U + r * a, fid, fval);
    }
    for (size_t j = 0; j < a; j++) {
        double mu = 0, var = 0;
        for (size_t r = 0; r < m; r++) mu += U[r * a + j];
        mu /= (double)(m ? m : 1);
        for (size_t r = 0; r < m; r++) var += (U[r * a + j] - mu) * (U[r * a + j] - mu);
        double sd = sqrt(var / (double)(m ? m : 1));
        mean[j] = (float)mu;
        scale[j] = sd > 1e-12 ? (float)(aux_scale / sd) : 0.0f;
        /* the features exactly as inference computes them (float mean and scale) */
        for (size_t r = 0; r < m; r++) U[r * a + j] = (U[r * a + j] - (double)mean[j]) * (double)scale[j];
    }
    free(fid);
    free(fval);
    return AFFECT_OK;
}

int affect_lexical_fit_intensity(affect_lexical *lx, const int32_t *const *ids, const int *lens, const char *const *texts,
                                 const size_t *text_lens, size_t n, const float *target, const uint8_t *target_row,
                                 const int32_t *group, int G, const char *const *names, const int32_t *const *prefix,
                                 const int *prefix_len, const int32_t *exclude, int n_exclude,
                                 const affect_lexical_intensity_opts *o, affect_error *err) {
    double cs = o ? o->char_scale : 0;
    int B = o && o->buckets > 0 ? o->buckets : AFFECT_LEXICAL_DEFAULT_BUCKETS;
    int nmin = o && o->ngram_min > 0 ? o->ngram_min : 2, nmax = o && o->ngram_max > 0 ? o->ngram_max : 5;
    if (!lx || !o || lx->V <= 0 || lx->in.G != 0 || !ids || !lens || !target || !(o->alpha > 0) || !(o->mix >= 0) ||
        !(o->mix <= 1) || G < 1 || (G > 1 && !group) || (lx->aux.A > 0 && !(o->aux_scale >= 0 && isfinite(o->aux_scale))) ||
        !(cs >= 0 && isfinite(cs)) || (cs > 0 && (!texts || !text_lens)))
        return affect_fail(err, AFFECT_EARG, "lexical intensity fit: bad arguments (G=%d, alpha=%g, mix=%g, "
                           "aux_scale=%g, char_scale=%g)", G, o ? o->alpha : 0.0, o ? o->mix : 0.0,
                           o ? o->aux_scale : 0.0, cs);
    /* aux outputs that only the emotions read (aux_scale 0): zero weights here */
    int V = lx->V, A = o->aux_scale > 0 ? lx->aux.A : 0;
    affect_lexical tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.V = V; /* a carrier for the intensity part, moved into lx on success */
    tmp.aux.A = lx->aux.A; /* sizes aux_w; the aux weights themselves stay in lx */
    int rc = affect_lexical_init_intensity(&tmp, G, names, prefix, prefix_len, err);
    if (!rc && cs > 0) rc = affect_lexical_init_intensity_chars(&tmp, B, nmin, nmax, err);
    if (rc) {
        affect_lexical_free(&tmp);
        return rc;
    }
    fit_rows f;
    rc = fit_rows_build(&f, V, ids, lens, n, target_row, exclude, n_exclude, tmp.in.idf, err);
    const csr *x = &f.x;
    csr xa = {0}, xc = {0};
    double *s = f.s, *t = f.t, *U = NULL;
    float *mean = NULL, *scale = NULL;
    int32_t **bk = NULL, *ccolof = NULL;
    int *bkn = NULL;
    size_t m = x->m;
    if (!rc && cs > 0) {
        ccolof = malloc((size_t)B * sizeof *ccolof);
        rc = ccolof ? char_rows(&tmp, 1, nmin, nmax, B, ids, lens, texts, text_lens, n, target_row, &bk, &bkn, err)
                    : affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
        if (!rc)
            rc = tfidf_build(B, (const int32_t *const *)bk, bkn, n, target_row, NULL, 0, tmp.in.ch_idf, &xc, ccolof, err);
        bucket_rows_free(bk, bkn, n);
    }
    if (!rc && A > 0) {
        U = malloc(m * (size_t)A * sizeof *U);
        mean = malloc((size_t)A * sizeof *mean);
        scale = malloc((size_t)A * sizeof *scale);
        if (!U || !mean || !scale) rc = affect_fail(err, AFFECT_ENOMEM, "lexical fit: out of memory");
        if (!rc) rc = aux_columns(lx, x, ids, lens, o->aux_scale, mean, scale, U, err);
    }
    if (!rc && (A > 0 || cs > 0)) rc = csr_hstack(x, cs > 0 ? &xc : NULL, cs, NULL, 0, U, A, &xa, err);
    for (size_t r = 0; !rc && r < m; r++) t[r] = target[x->row[r]];
    layout lay = {V, f.colof, cs > 0 ? B : 0, ccolof, x->d, cs, A, 0, NULL, 0, 0};
    /* model 0 on every row, model g on the rows of group g - 1 */
    for (int g = 0; g < G && !rc; g++) {
        size_t k = 0;
        for (size_t r = 0; r < m; r++) {
            s[r] = g == 0 || group[x->row[r]] == g - 1 ? 1.0 : 0.0;
            k += s[r] > 0;
        }
        if (k == 0) continue; /* no row: the head alone */
        problem p = {A > 0 || cs > 0 ? &xa : x, s, t, 1.0 / o->alpha, 1};
        double b = 0;
        if ((rc = solve(&p, &lay, 1000, 1e-8, tmp.in.w + (size_t)g * (size_t)V,
                        cs > 0 ? tmp.in.ch_w + (size_t)g * (size_t)B : NULL, NULL,
                        A ? tmp.in.aux_w + (size_t)g * (size_t)A : NULL, &b, err)))
            break;
        tmp.in.b[g] = (float)b;
        tmp.in.mix[g] = (float)o->mix;
    }
    fit_rows_free(&f);
    csr_free(&xa);
    csr_free(&xc);
    free(ccolof);
    free(U);
    if (rc) {
        free(mean);
        free(scale);
        affect_lexical_free(&tmp);
        return rc;
    }
    if (A > 0) {
        memcpy(lx->aux.mean, mean, (size_t)A * sizeof *mean);
        memcpy(lx->aux.scale, scale, (size_t)A * sizeof *scale);
    }
    free(mean);
    free(scale);
    lx->in = tmp.in;
    return AFFECT_OK;
}
