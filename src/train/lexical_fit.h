/*
 * Fitting the lexical model (src/core/model/lexical.h) on tokenized training rows.
 *
 * For each label, an L2-regularised logistic regression on the tf-idf features, solved to
 * convergence (L-BFGS; the problem is strictly convex in the weights, so the answer does
 * not depend on the solver): exactly scikit-learn's
 *   TfidfVectorizer(sublinear_tf=True)  (idf = ln((1+n)/(1+df)) + 1 over the fitted rows)
 *   LogisticRegression(C=c, class_weight="balanced" | None)   (intercept not penalised)
 * which tests/test_lexical_sklearn.py checks. With balanced class weights the fitted odds are
 * those of a 50/50 prior; the exported bias adds ln(pos/neg) back so the lexical logit is a
 * calibrated log-odds like the head's, and the two can be averaged.
 */
#ifndef AFFECT_TRAIN_LEXICAL_FIT_H
#define AFFECT_TRAIN_LEXICAL_FIT_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "model/lexical.h"

typedef struct affect_lexical_fit_opts {
    double c;          /* inverse L2 strength (scikit-learn's C), > 0 */
    double mix;        /* mix[l] for every label that has positives and negatives, in [0,1] */
    int balanced;      /* 1: class_weight="balanced" (then the bias is re-calibrated) */
    int max_iter;      /* L-BFGS iterations per label (0: 1000) */
    double tol;        /* stop when max |gradient| <= tol * max(1, its first value) (0: 1e-8) */
    const affect_lexical *aux; /* NULL, or a model whose auxiliary outputs join the features */
    double aux_scale;  /* > 0 with aux: the scale of their standardised logits; 0: not read */
    double char_scale; /* 0: no character n-grams; > 0: their tf-idf block's scale */
    int buckets;       /* character n-gram buckets (0: AFFECT_LEXICAL_DEFAULT_BUCKETS) */
    int ngram_min, ngram_max; /* n-gram lengths in code points (0: 2 and 5) */
    double bigram_scale; /* 0: no token bigrams; > 0: their tf-idf block's scale */
    int bigram_buckets;  /* their hash buckets (0: 16384) */
    const char *const *texts; /* (n) the rows' texts, read with char_scale > 0 */
    const size_t *text_lens;  /* (n) their lengths in bytes */
} affect_lexical_fit_opts;

/* Fits out (zeroed, or a model it replaces) (V ids, L labels) on the rows i with label_row[i] != 0 (label_row NULL: every
 * row): ids[i][0..lens[i]) their token ids, labels (n,L) row-major targets (> 0.5 counts as
 * positive). Ids in exclude[0..n_exclude) (special tokens) get idf 0. A label without a
 * positive or without a negative row gets w = 0, b = 0, mix = 0.
 * Optional features, after the token tf-idf block, as for the intensity ridges: with
 * char_scale > 0, char_scale * the hashed character n-gram tf-idf of texts[i] (the whole
 * text; an idf of their own over the fitted rows); with opts->aux and aux_scale > 0, its
 * auxiliary outputs (copied into out) as aux_scale * StandardScaler() of their logits over
 * the fitted rows: scikit-learn's LogisticRegression on hstack([tfidf, char_scale * chars,
 * aux_scale * standardised logits]). The standardisation is folded into em.aux_w and the
 * bias, so inference reads the raw logits. With bigram_scale > 0, bigram_scale * the tf-idf of
 * the hashed token bigrams (affect_lexical_bigrams over the fitted idf; an idf of their own)
 * joins after the character block. */
int affect_lexical_fit(affect_lexical *out, int V, int L, const int32_t *const *ids, const int *lens,
                       size_t n, const float *labels, const uint8_t *label_row, const int32_t *exclude,
                       int n_exclude, const affect_lexical_fit_opts *opts, affect_error *err);

/* Adds A auxiliary outputs (src/core/model/lexical.h) to a fitted lx that has no intensity
 * models yet: one unweighted logistic regression (scikit-learn's LogisticRegression(C=c))
 * per output on the tf-idf features of every row, with an idf of their own; labels (n,A)
 * row-major (> 0.5 counts as positive). An output without a positive or without a negative
 * gets w = 0, b = 0. Their mean and scale are set by affect_lexical_fit_intensity when the
 * ridges read them (aux_scale > 0), and stay 0 otherwise. */
int affect_lexical_fit_aux(affect_lexical *lx, const char *name, int A, const int32_t *const *ids, const int *lens,
                           size_t n, const float *labels, const int32_t *exclude, int n_exclude, double c,
                           affect_error *err);

#define AFFECT_LEXICAL_DEFAULT_BUCKETS 65536

/* How the intensity ridges are fitted (affect_lexical_fit_intensity). */
typedef struct affect_lexical_intensity_opts {
    double alpha;      /* ridge strength (scikit-learn's alpha), > 0 */
    double mix;        /* mix[g] of every model with rows, in [0,1] */
    double aux_scale;  /* scale of the standardised aux logits (used when lx has aux outputs; 0: the
                          ridges do not read them, their weights stay 0) */
    double char_scale; /* 0: no character n-grams; > 0: their tf-idf block's scale */
    int buckets;       /* character n-gram buckets (0: AFFECT_LEXICAL_DEFAULT_BUCKETS) */
    int ngram_min, ngram_max; /* n-gram lengths in code points (0: 2 and 5) */
} affect_lexical_intensity_opts;

/* Adds G intensity models to a fitted lx (src/core/model/lexical.h): ridge regressions
 * (scikit-learn's Ridge(alpha), intercept not penalised) on the tf-idf features of the rows
 * with target_row[i] != 0 (NULL: all), with an idf of their own. Model 0 fits every such row
 * and reads plain text; model g >= 1 fits the rows with group[i] == g - 1 and reads texts
 * that start with prefix[g] (names[g] is its group's name). Each model with rows gets mix.
 * When lx has auxiliary outputs, their logits join the features, standardised over the
 * fitted rows and multiplied by aux_scale: scikit-learn's Ridge on
 * hstack([tfidf, aux_scale * StandardScaler().fit_transform(aux_logits)]). With char_scale
 * > 0 the hashed character n-grams of texts[i][0..text_lens[i]) (each cut after the prefix of
 * the model that reads it) join too, between the two: char_scale * TfidfTransformer(
 * sublinear_tf=True) over HashingVectorizer(analyzer="char_wb", lowercase=False,
 * alternate_sign=False, norm=None) counts restricted to the buckets the fitted rows use. */
int affect_lexical_fit_intensity(affect_lexical *lx, const int32_t *const *ids, const int *lens, const char *const *texts,
                                 const size_t *text_lens, size_t n, const float *target, const uint8_t *target_row,
                                 const int32_t *group, int G, const char *const *names, const int32_t *const *prefix,
                                 const int *prefix_len, const int32_t *exclude, int n_exclude,
                                 const affect_lexical_intensity_opts *opts, affect_error *err);

#endif
