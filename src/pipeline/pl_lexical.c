/* The pipeline's use of the lexical model (src/core/model/lexical.h, fitted by
 * src/train/lexical_fit.c): which ids it ignores, fitting it on stage-2 train from the config,
 * and what each half of the mixed model scores alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval/metrics.h"
#include "pipeline/pl_internal.h"
#include "train/lexical_fit.h"
#include "util/error.h"
#include "util/json.h"

/* Every special token the tokenizer has ([CLS], [SEP], [PAD], [UNK], [MASK], <s>, ...): the
 * ids the masking must leave alone and the lexical model must not count. *mask_id is the mask
 * token, -1 when there is none. */
void pl_special_ids(const affect_tokenizer *tok, int32_t special[16], int *n_special, int32_t *mask_id) {
    static const char *const SPECIAL[] = {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "<s>", "</s>", "<pad>", "<unk>"};
    int V = affect_tokenizer_vocab_size(tok), n = 0;
    *mask_id = -1;
    for (int32_t id = 0; id < V; id++) {
        const char *t = affect_tokenizer_id_to_token(tok, id);
        if (!t) continue;
        if (!strcmp(t, "[MASK]") || !strcmp(t, "<mask>")) *mask_id = id;
        for (size_t k = 0; k < sizeof SPECIAL / sizeof SPECIAL[0] && n < 8; k++)
            if (!strcmp(t, SPECIAL[k])) special[n++] = id;
    }
    *n_special = n;
}

/* The ids of "<name>: " without the special tokens: what the emotion prefix of an intensity
 * row (affect_dataset_prefix_groups) tokenizes to right after the first token. */
static int prefix_ids(const affect_tokenizer *tok, const char *name, int32_t **out, int *len, affect_error *err) {
    char text[AFFECT_CFG_NAME + 8];
    int k = snprintf(text, sizeof text, "%s: ", name);
    if (k < 0 || (size_t)k >= sizeof text) return affect_fail(err, AFFECT_EARG, "group name too long: %.60s", name);
    int32_t *ids = NULL;
    size_t n = 0;
    int rc = affect_tokenizer_encode(tok, text, (size_t)k, 0, &ids, &n, err);
    if (rc) return rc;
    if (n < 3) {
        free(ids);
        return affect_fail(err, AFFECT_EFORMAT, "the emotion prefix \"%s\" tokenizes to nothing", text);
    }
    memmove(ids, ids + 1, (n - 2) * sizeof *ids); /* drop the first and last (special) ids */
    *out = ids;
    *len = (int)(n - 2);
    return 0;
}

/* The lexical model of training.lemotif.lexical on stage-2 train `s2` (emotion regressions on
 * its rows with emotion targets, intensity ridges on its rows with intensity targets); lx
 * stays empty when both weights are 0. Convex and fast (about a second), so a resumed run
 * simply refits it. Intensity models per group read "<group>: " prefixed texts and exist only
 * when the intensity rows were prefixed (data.emoint_input prefixed or both). With
 * lexical.intensity_goemotions > 0 the ridges also read the logits of a GoEmotions lexical
 * model fitted on `goemotions` (GoEmotions train; skipped, with a note, when it is empty). */
int pl_fit_lexical(pl_run *run, const affect_tokenizer *tok, const pl_set *s2, const pl_set *goemotions,
                   affect_lexical *lx, affect_error *err) {
    const affect_run_config *c = run->cfg;
    affect_lexical_free(lx);
    double we = c->training.lemotif.lexical.weight, wi = c->training.lemotif.lexical.intensity_weight;
    size_t n_int = 0;
    for (size_t i = 0; s2->ds.intensity_mask && i < s2->ds.n; i++) n_int += s2->ds.intensity_mask[i] != 0;
    if (we <= 0 && (wi <= 0 || n_int == 0)) return 0;
    int32_t special[16], mask_id;
    int n_special = 0;
    pl_special_ids(tok, special, &n_special, &mask_id);
    if (mask_id >= 0) special[n_special++] = mask_id;
    int V = affect_tokenizer_vocab_size(tok), L = s2->ds.num_labels;
    double t0 = pl_now();
    int rc = 0;
    double gamma = c->training.lemotif.lexical.intensity_goemotions, gamma_e = c->training.lemotif.lexical.goemotions;
    int want_aux = wi > 0 && n_int > 0 && gamma > 0, want_aux_e = we > 0 && gamma_e > 0;
    int have_go = goemotions && goemotions->ds.n > 0 && goemotions->ids;
    int aux = want_aux && have_go, aux_e = want_aux_e && have_go;
    if ((want_aux || want_aux_e) && !have_go)
        pl_note(run, NULL, "lexical.%s: this run has no GoEmotions train rows; the lexical model reads the tf-idf "
                "features without the GoEmotions logits", want_aux_e && want_aux ? "goemotions and intensity_goemotions"
                                                           : want_aux_e ? "goemotions" : "intensity_goemotions");
    if ((aux || aux_e) && run->go_lexical.V == 0) { /* the same for every fold: fitted once */
        double ta = pl_now();
        affect_lexical *g = &run->go_lexical;
        rc = affect_lexical_init(g, V, 1, err);
        if (!rc)
            rc = affect_lexical_fit_aux(g, "goemotions", goemotions->ds.num_labels, (const int32_t *const *)goemotions->ids,
                                        goemotions->len, goemotions->ds.n, goemotions->ds.labels, special, n_special,
                                        c->training.lemotif.lexical.c, err);
        if (rc) {
            affect_lexical_free(g);
            return rc;
        }
        pl_note(run, NULL, "lexical model: %d GoEmotions outputs for the %s, fitted on %zu rows in %.1f s",
                goemotions->ds.num_labels, aux && aux_e ? "emotion regressions and intensity ridges"
                                           : aux_e ? "emotion regressions" : "intensity ridges",
                goemotions->ds.n, pl_now() - ta);
    }
    if (we > 0) {
        affect_lexical_fit_opts o;
        memset(&o, 0, sizeof o);
        o.c = c->training.lemotif.lexical.c;
        o.mix = we;
        o.balanced = !strcmp(c->training.lemotif.lexical.class_weight, "balanced");
        o.aux = aux_e ? &run->go_lexical : NULL;
        o.aux_scale = aux_e ? gamma_e : 0;
        o.char_scale = c->training.lemotif.lexical.chars;
        o.buckets = c->training.lemotif.lexical.chars_buckets;
        o.bigram_scale = c->training.lemotif.lexical.bigrams;
        o.bigram_buckets = c->training.lemotif.lexical.bigram_buckets;
        o.texts = (const char *const *)s2->ds.text;
        o.text_lens = s2->ds.text_len;
        rc = affect_lexical_fit(lx, V, L, (const int32_t *const *)s2->ids, s2->len, s2->ds.n, s2->ds.labels,
                                s2->ds.label_mask, special, n_special, &o, err);
    } else {
        rc = affect_lexical_init(lx, V, L, err); /* emotion part all zero: mix 0 */
    }
    if (rc) return rc;
    int G = 1;
    const char **names = NULL;
    int32_t **prefix = NULL;
    int *plen = NULL;
    if (aux && lx->aux.A == 0 && (rc = affect_lexical_copy_aux(&run->go_lexical, lx, err))) {
        affect_lexical_free(lx);
        return rc;
    }
    if (wi > 0 && n_int > 0) {
        int prefixed = strcmp(c->data.emoint_input, "plain") != 0;
        G = prefixed ? 1 + s2->ds.num_groups : 1;
        names = calloc((size_t)G, sizeof *names);
        prefix = calloc((size_t)G, sizeof *prefix);
        plen = calloc((size_t)G, sizeof *plen);
        if (!names || !prefix || !plen) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        for (int g = 0; g < G && !rc; g++) {
            names[g] = g ? s2->ds.group_names[g - 1] : "";
            if (g) rc = prefix_ids(tok, names[g], &prefix[g], &plen[g], err);
        }
        if (!rc)
        {
            affect_lexical_intensity_opts io;
            memset(&io, 0, sizeof io);
            io.alpha = c->training.lemotif.lexical.intensity_alpha;
            io.mix = wi;
            io.aux_scale = aux ? gamma : 0; /* lx may carry them for the emotions alone */
            io.char_scale = c->training.lemotif.lexical.intensity_chars;
            rc = affect_lexical_fit_intensity(lx, (const int32_t *const *)s2->ids, s2->len,
                                              (const char *const *)s2->ds.text, s2->ds.text_len, s2->ds.n,
                                              s2->ds.intensity, s2->ds.intensity_mask, s2->ds.group, G, names,
                                              (const int32_t *const *)prefix, plen, special, n_special, &io, err);
        }
        for (int g = 0; prefix && g < G; g++) free(prefix[g]);
        free(prefix);
        free(names);
        free(plen);
        if (rc) {
            affect_lexical_free(lx);
            return rc;
        }
    }
    int used = 0, kept = 0;
    for (int v = 0; v < lx->V; v++) used += lx->idf[v] > 0;
    for (int l = 0; l < lx->L; l++) kept += lx->mix[l] > 0;
    int buckets = 0, ebuckets = 0, bbuckets = 0;
    for (int b = 0; b < lx->in.B; b++) buckets += lx->in.ch_idf[b] > 0;
    for (int b = 0; b < lx->em.B; b++) ebuckets += lx->em.ch_idf[b] > 0;
    for (int b = 0; b < lx->em.NB; b++) bbuckets += lx->em.bi_idf[b] > 0;
    pl_note(run, NULL, "lexical model: %d of %d labels (weight %.2f, %d token ids, %d character n-gram buckets, %d "
            "bigram buckets%s), %d intensity model%s (weight %.2f, %d character n-gram buckets); fitted in %.2f s", kept,
            lx->L, we, used, ebuckets, bbuckets, lx->em.aux_w ? ", GoEmotions logits" : "", lx->in.G,
            lx->in.G == 1 ? "" : "s", wi, buckets, pl_now() - t0);
    return 0;
}

static double logit_of(double p);

/* A copy of lx in which every mixed part takes the whole prediction: the lexical model alone. */
static int lexical_alone(const affect_lexical *lx, affect_lexical *out, affect_error *err) {
    int rc = affect_lexical_copy(lx, out, err);
    if (rc) return rc;
    for (int l = 0; l < lx->L; l++) out->mix[l] = lx->mix[l] > 0 ? 1.0f : 0.0f;
    for (int g = 0; g < lx->in.G; g++) out->in.mix[g] = lx->in.mix[g] > 0 ? 1.0f : 0.0f;
    return 0;
}

int pl_lexical_select_intensity(pl_run *run, affect_trainer *tr, affect_lexical *lx, const pl_set *val, double *chosen,
                                affect_error *err) {
    *chosen = NAN;
    if (!run->cfg->training.lemotif.lexical.intensity_weight_select || lx->in.G == 0) return 0;
    if (val->ds.n == 0) {
        pl_note(run, NULL, "lexical.intensity_weight_select: no EmoInt validation rows (data.emoint_val is 0); the "
                "intensity weight stays %.2f", run->cfg->training.lemotif.lexical.intensity_weight);
        return 0;
    }
    size_t n = val->ds.n;
    double *H = malloc(n * sizeof *H), *Z = malloc(n * sizeof *Z), *M = malloc(n * sizeof *M);
    affect_lexical alone;
    memset(&alone, 0, sizeof alone);
    int rc = H && Z && M ? lexical_alone(lx, &alone, err) : affect_fail(err, AFFECT_ENOMEM, "out of memory");
    if (!rc) rc = pl_predict(run, tr, NULL, val, run->eval_batch, NULL, H, err);
    if (!rc) rc = pl_predict(run, tr, &alone, val, run->eval_batch, NULL, Z, err);
    double best = -INFINITY, bw = 0;
    for (int k = 0; k <= 20 && !rc; k++) {
        double w = k / 20.0;
        for (size_t i = 0; i < n; i++) M[i] = (1 - w) * H[i] + w * Z[i];
        double r = pl_pearson_groups(val, M, NULL);
        if (isfinite(r) && r > best + 1e-12) {
            best = r;
            bw = w;
        }
    }
    if (!rc && isfinite(best)) {
        for (int g = 0; g < lx->in.G; g++)
            if (alone.in.mix[g] > 0) lx->in.mix[g] = (float)bw;
        *chosen = bw;
        pl_note(run, NULL, "intensity weight %.2f chosen on %zu held-out EmoInt train rows (r: head alone %.4f, ridge "
                "alone %.4f, mixed %.4f)", bw, n, pl_pearson_groups(val, H, NULL), pl_pearson_groups(val, Z, NULL), best);
    }
    affect_lexical_free(&alone);
    free(H);
    free(Z);
    free(M);
    return rc;
}

/* Macro AUC is a mean over labels of rank statistics, so it is computed on the mixed logits'
 * probabilities directly; the head's and the lexical model's logits are predicted once. */
int pl_lexical_select_weight(pl_run *run, affect_trainer *tr, affect_lexical *lx, const pl_set *val, double *chosen,
                             affect_error *err) {
    *chosen = NAN;
    const struct affect_lexical_config *lc = &run->cfg->training.lemotif.lexical;
    int mixed = 0;
    for (int l = 0; lx->V > 0 && l < lx->L; l++) mixed += lx->mix[l] > 0;
    if (!lc->weight_select || !mixed) return 0;
    if (val->ds.n == 0) {
        pl_note(run, NULL, "lexical.weight_select: no validation entries; the lexical weight stays %.2f", lc->weight);
        return 0;
    }
    size_t n = val->ds.n, L = (size_t)lx->L;
    double *H = malloc(n * L * sizeof *H), *Z = malloc(n * L * sizeof *Z), *M = malloc(n * L * sizeof *M);
    affect_lexical alone;
    memset(&alone, 0, sizeof alone);
    int rc = H && Z && M ? lexical_alone(lx, &alone, err) : affect_fail(err, AFFECT_ENOMEM, "out of memory");
    if (!rc) rc = pl_predict(run, tr, NULL, val, run->eval_batch, H, NULL, err);
    if (!rc) rc = pl_predict(run, tr, &alone, val, run->eval_batch, Z, NULL, err);
    for (size_t i = 0; !rc && i < n * L; i++) {
        H[i] = logit_of(H[i]);
        Z[i] = logit_of(Z[i]);
    }
    double best = -INFINITY, bw = lc->weight, at[21];
    for (int k = 0; k <= 20 && !rc; k++) {
        double w = k / 20.0, macro = NAN, micro = NAN;
        for (size_t i = 0; i < n; i++)
            for (size_t l = 0; l < L; l++) {
                double z = lx->mix[l] > 0 ? (1 - w) * H[i * L + l] + w * Z[i * L + l] : H[i * L + l];
                M[i * L + l] = z >= 0 ? 1.0 / (1.0 + exp(-z)) : exp(z) / (1.0 + exp(z));
            }
        rc = pl_auc_of(val, M, &macro, &micro, err);
        at[k] = macro;
        /* ties go to the weight nearer the configured one */
        if (!rc && isfinite(macro) &&
            (macro > best + 1e-12 || (macro > best - 1e-12 && fabs(w - lc->weight) < fabs(bw - lc->weight)))) {
            best = macro;
            bw = w;
        }
    }
    if (!rc && isfinite(best)) {
        for (size_t l = 0; l < L; l++)
            if (lx->mix[l] > 0) lx->mix[l] = (float)bw;
        *chosen = bw;
        pl_note(run, NULL, "lexical weight %.2f chosen on %zu validation entries (macro AUC: encoder alone %.4f, "
                "lexical alone %.4f, mixed %.4f)", bw, n, at[0], at[20], best);
    }
    affect_lexical_free(&alone);
    free(H);
    free(Z);
    free(M);
    return rc;
}

/* What each half of the mixed model scores on its own (Lemotif test AUCs, EmoInt dev
 * Pearson), for analysis_metrics.json's "lexical" member: whether the mix pays must be
 * visible in the run itself. P (test n,L) and I (emo_dev n) are scratch. */
int pl_lexical_parts(pl_run *run, affect_trainer *tr, const affect_lexical *lx, const pl_set *test,
                         const pl_set *emo_dev, double *P, double *I, json_buf *out, affect_error *err) {
    const affect_run_config *c = run->cfg;
    double v[2][3] = {{NAN, NAN, NAN}, {NAN, NAN, NAN}}; /* encoder, lexical: macro, micro, r */
    affect_lexical alone;
    int rc = lexical_alone(lx, &alone, err);
    if (rc) return rc;
    for (int k = 0; k < 2 && !rc; k++) {
        const affect_lexical *use = k ? &alone : NULL;
        int emo = k == 0 || lx->L > 0, inten = emo_dev->ds.n > 0 && (k == 0 || lx->in.G > 0);
        if (emo) rc = pl_predict(run, tr, use, test, run->eval_batch, P, NULL, err);
        if (!rc && emo) rc = pl_auc_of(test, P, &v[k][0], &v[k][1], err);
        if (!rc && inten) rc = pl_predict(run, tr, use, emo_dev, run->eval_batch, NULL, I, err);
        if (!rc && inten) v[k][2] = pl_pearson_groups(emo_dev, I, NULL);
    }
    affect_lexical_free(&alone);
    if (rc) return rc;
    /* the emotion part is "alone" only where it is mixed in at all */
    double mixed = 0;
    for (int l = 0; l < lx->L; l++) mixed += lx->mix[l];
    if (mixed == 0) v[1][0] = v[1][1] = NAN;
    if (lx->in.G == 0) v[1][2] = NAN;
    const struct affect_lexical_config *lc = &c->training.lemotif.lexical;
    json_buf_printf(out, "\"lexical\":{\"weight\":%.17g,\"c\":%.17g,\"class_weight\":\"%s\",\"goemotions\":%.17g,"
                    "\"chars\":%.17g,\"chars_buckets\":%d,\"bigrams\":%.17g,\"bigram_buckets\":%d,\"intensity_weight\":%.17g,"
                    "\"intensity_alpha\":%.17g,\"intensity_goemotions\":%.17g,\"intensity_chars\":%.17g", lc->weight,
                    lc->c, lc->class_weight, lc->goemotions, lc->chars, lc->chars_buckets, lc->bigrams, lc->bigram_buckets,
                    lc->intensity_weight, lc->intensity_alpha, lc->intensity_goemotions, lc->intensity_chars);
    json_buf_printf(out, isfinite(run->weight_chosen) ? ",\"weight_chosen\":%.17g" : ",\"weight_chosen\":null",
                    run->weight_chosen);
    json_buf_printf(out, isfinite(run->intensity_weight_chosen) ? ",\"intensity_weight_chosen\":%.17g"
                                                                : ",\"intensity_weight_chosen\":null",
                    run->intensity_weight_chosen);
    static const char *const keys[3] = {"macro_auc", "micro_auc", "intensity_pearson"};
    for (int k = 0; k < 2; k++) {
        json_buf_printf(out, ",\"%s\":{", k ? "lexical_alone" : "encoder_alone");
        for (int j = 0; j < 3; j++) {
            json_buf_printf(out, "%s\"%s\":", j ? "," : "", keys[j]);
            json_buf_printf(out, isfinite(v[k][j]) ? "%.17g" : "null", v[k][j]);
        }
        json_buf_printf(out, "}");
    }
    json_buf_printf(out, "}");
    pl_note(run, NULL, "each part alone: encoder test macro AUC %.4f, micro %.4f, EmoInt dev r %.4f; lexical %.4f, %.4f, "
            "%.4f", v[0][0], v[0][1], v[0][2], v[1][0], v[1][1], v[1][2]);
    return 0;
}

/* Test-split macro and micro AUC of probabilities P (n,L) against a set's labels. */
int pl_auc_of(const pl_set *test, const double *P, double *macro, double *micro, affect_error *err) {
    size_t nt = test->ds.n, L = (size_t)test->ds.num_labels;
    double *Y = malloc((nt ? nt : 1) * L * sizeof *Y);
    if (!Y) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    for (size_t i = 0; i < nt * L; i++) Y[i] = test->ds.labels[i] > 0.5f ? 1.0 : 0.0;
    eval_summary s;
    int rc = eval_summary_compute(&s, P, Y, nt, L, err);
    if (!rc) {
        *macro = s.macro_auc;
        *micro = s.micro_auc;
        eval_summary_free(&s);
    }
    free(Y);
    return rc;
}


/* ln(p / (1 - p)) of a probability pl_predict returned, kept finite. */
static double logit_of(double p) {
    if (p < 1e-15) p = 1e-15;
    if (p > 1 - 1e-15) p = 1 - 1e-15;
    return log(p / (1 - p));
}

/* The mean of sigmoid(z_i + d) over n values. */
static double mean_sigmoid(const double *z, size_t n, size_t stride, double d) {
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        double x = z[i * stride] + d;
        s += x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
    }
    return s / (double)n;
}

int pl_lexical_match_prior(pl_run *run, affect_trainer *tr, affect_lexical *lx, const pl_set *train, const pl_set *val,
                           affect_error *err) {
    if (!lx || lx->V <= 0 || !run->cfg->training.lemotif.lexical.match_prior) return 0;
    size_t n = val->ds.n, L = (size_t)lx->L;
    if (n == 0) return 0;
    double *P = malloc(n * L * sizeof *P), *prior = calloc(L, sizeof *prior);
    if (!P || !prior) {
        free(P);
        free(prior);
        return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    }
    size_t m = 0;
    for (size_t i = 0; i < train->ds.n; i++) {
        if (train->ds.label_mask && !train->ds.label_mask[i]) continue;
        m++;
        for (size_t l = 0; l < L; l++) prior[l] += train->ds.labels[i * L + l] > 0.5f;
    }
    int rc = pl_predict(run, tr, lx, val, run->eval_batch, P, NULL, err);
    double max_shift = 0;
    for (size_t i = 0; !rc && i < n * L; i++) P[i] = logit_of(P[i]);
    for (size_t l = 0; !rc && l < L && m > 0; l++) {
        double target = prior[l] / (double)m;
        if (lx->mix[l] <= 0 || target <= 0 || target >= 1) continue;
        /* the mean is increasing in d: bisect to 1e-12 */
        double lo = -30, hi = 30;
        for (int it = 0; it < 200 && hi - lo > 1e-12; it++) {
            double mid = 0.5 * (lo + hi);
            if (mean_sigmoid(P + l, n, L, mid) < target) lo = mid;
            else hi = mid;
        }
        double d = 0.5 * (lo + hi);
        lx->b[l] += (float)(d / lx->mix[l]); /* the final logit moves by mix * (bias change) */
        if (fabs(d) > fabs(max_shift)) max_shift = d;
    }
    free(P);
    free(prior);
    if (!rc) pl_note(run, NULL, "lexical model: label biases matched to the training prevalences on %zu validation rows "
                     "(largest shift %+.2f logits)", n, max_shift);
    return rc;
}
