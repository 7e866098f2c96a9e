/*
 * The lexical model: per-label logistic regressions over a bag of token ids, mixed into the
 * emotion head's logits.
 *
 * Why: a small encoder trained from scratch on ~900 journal entries misses lexical evidence
 * for rare labels (a label with a dozen positives) that a linear model over word counts
 * catches; averaging the two in logit space beats either alone (see docs/train.md). The
 * features are the tokenizer's own ids, so the browser build needs nothing beyond the
 * tokenizer it already has, and the model is a few hundred kilobytes.
 *
 * Features of one text (ids as the tokenizer gives them, special tokens included):
 *   x[v] = (1 + ln count(v)) * idf[v] for every id v with idf[v] > 0, then x /= ||x||_2
 * (scikit-learn's TfidfVectorizer(sublinear_tf=True, norm="l2"); idf[v] = 0 marks an id the
 * model ignores: special tokens and ids never seen in training).
 * Logits: lex[l] = w[l]·x + b[l] (+ the optional parts below); the final logit of label l is
 *   (1 - mix[l]) * head_logit[l] + mix[l] * lex[l]
 * (mix[l] = 0 leaves the head alone, e.g. for a label without training positives).
 *
 * Intensity (optional): G ridge regressions on their own tf-idf features (own idf), model 0
 * for plain text and model g >= 1 for texts that start with group g's prefix ids right after
 * the first (special) token, e.g. "anger: <tweet>" for an intensity head trained on
 * emotion-prefixed EmoInt rows; the final intensity is (1 - mix[g]) * head + mix[g] * ridge_g.
 *
 * Auxiliary outputs (optional): A logistic regressions on tf-idf features with an idf of their
 * own, fitted on another labelled corpus (GoEmotions' 28 emotions in the pipeline), with raw
 * logits z[a] = aux.b[a] + aux.w[a]·x_aux. Their standardised logits
 *   u[a] = (z[a] - aux.mean[a]) * aux.scale[a]
 * join every intensity model's features: ridge_g = b[g] + w[g]·x + aux_w[g]·u. Why: 3,600
 * rated tweets are too few to learn how strong each word is, while a classifier trained on
 * 43,000 Reddit comments already tells "annoyed" from "furious" (annoyance vs anger).
 * The emotion regressions may read them too (em.aux_w), on the raw logits (their own
 * standardisation folded into the weights and bias): lex[l] += em.aux_w[l]·z. Why: a label
 * with a dozen journal positives borrows what 43,000 labelled comments know about its words.
 *
 * Character n-grams (optional): tweets carry intensity in their spelling ("soooo", "!!!",
 * "#furious", emoji) that a tokenizer learned on journal text maps to [UNK] or splits away.
 * Hashed n-grams of 2..5 code points within words (see lexical_chars.c; case kept) into B
 * buckets, tf-idf weighted with an idf of their own (ch_idf[b] = 0: a bucket no fitted text
 * used) and l2-normalised on their own, add ch_w[g]·x_char to ridge_g. A model g >= 1 reads
 * the text after its "<name>: " prefix. The emotion regressions may read n-grams of their own
 * (em.B buckets, em.ch_idf, em.ch_w; the whole text): lex[l] += em.ch_w[l]·x_char. Why: word
 * stems and misspellings ("anxous", "stressed"/"stressful") that an 8,000-piece vocabulary
 * splits differently share their n-grams. They may also read hashed bigrams of adjacent token
 * ids (both with idf > 0; see affect_lexical_bigrams), em.NB buckets with an idf of their own,
 * l2-normalised on their own: lex[l] += em.bi_w[l]·x_bigram. Why: "not happy", "so proud" and
 * "miss my" carry what their words alone do not.
 *
 * Weights in model.safetensors: lexical.idf (V), lexical.emotion.weight (L,V),
 * lexical.emotion.bias (L), lexical.emotion.mix (L), and with intensity models
 * lexical.intensity.idf (V), lexical.intensity.weight (G,V), lexical.intensity.bias (G),
 * lexical.intensity.mix (G), and with auxiliary outputs lexical.aux.idf (V),
 * lexical.aux.weight (A,V), lexical.aux.bias (A), lexical.aux.mean (A), lexical.aux.scale (A),
 * lexical.intensity.aux_weight (G,A), and with character n-grams lexical.intensity.char_idf (B),
 * lexical.intensity.char_weight (G,B), and with the emotions reading them
 * lexical.emotion.aux_weight (L,A), lexical.emotion.char_idf (B'), lexical.emotion.char_weight
 * (L,B'), lexical.emotion.bigram_idf (NB), lexical.emotion.bigram_weight (L,NB); affect_heads.json
 * says
 * "lexical":{"features":F,"vocab_size":V[,"aux":{"name":"goemotions","outputs":A}]
 *            [,"emotion_aux":true]
 *            [,"emotion_chars":{"analyzer":"char_wb","ngram_range":[2,5],"buckets":B',
 *                               "hash":"murmurhash3_32"}]
 *            [,"emotion_bigrams":{"of":"token_ids","buckets":NB,"hash":"murmurhash3_32"}]
 *            [,"intensity":[{"name":"","prefix":[]},{"name":"anger","prefix":[ids]},...]]
 *            [,"intensity_chars":{"analyzer":"char_wb","ngram_range":[2,5],"buckets":B,
 *                                 "hash":"murmurhash3_32"}]}.
 * F is "tfidf-sublinear-l2", or "tfidf-sublinear-l2+emotion-parts" exactly when an emotion_*
 * member is there; any other member is refused. With "aux" and no intensity models,
 * lexical.aux.mean and lexical.aux.scale are zeros.
 */
#ifndef AFFECT_CORE_LEXICAL_H
#define AFFECT_CORE_LEXICAL_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "tensors.h"

#define AFFECT_LEXICAL_FEATURES "tfidf-sublinear-l2"
/* What a model whose emotion regressions read more than the token ids (em.*) declares: a
 * reader that knows only the token features refuses it rather than mis-scoring. */
#define AFFECT_LEXICAL_FEATURES_EMOTION_PARTS "tfidf-sublinear-l2+emotion-parts"

#define AFFECT_LEXICAL_MAX_GROUPS 1024
#define AFFECT_LEXICAL_MAX_PREFIX 64
#define AFFECT_LEXICAL_MAX_AUX 1024
#define AFFECT_LEXICAL_NAME 64
#define AFFECT_LEXICAL_MAX_NGRAM 8
#define AFFECT_LEXICAL_MAX_BUCKETS (1 << 24)
/* All lexical weights of one model together (2^27 floats: 512 MiB; the default uses 1.2M). */
#define AFFECT_LEXICAL_MAX_FLOATS ((uint64_t)1 << 27)

typedef struct affect_lexical {
    int V, L;            /* vocabulary size, labels; V == 0: no lexical model */
    float *arena;        /* owned: idf, w, b, mix */
    float *idf;          /* (V) */
    float *w;            /* (L,V) */
    float *b;            /* (L) */
    float *mix;          /* (L) */
    struct {
        int A;           /* auxiliary outputs; 0 = none */
        char name[AFFECT_LEXICAL_NAME]; /* what they predict, e.g. "goemotions" */
        float *arena;    /* owned: idf, w, b, mean, scale */
        float *idf;      /* (V) */
        float *w;        /* (A,V) */
        float *b, *mean, *scale; /* (A) */
    } aux;
    struct {
        int G;           /* intensity models; 0 = none */
        float *arena;    /* owned: idf, w, b, mix, aux_w */
        float *idf;      /* (V) */
        float *w;        /* (G,V) */
        float *b, *mix;  /* (G) */
        float *aux_w;    /* (G,A): weights of the auxiliary outputs (NULL when A == 0) */
        int32_t *prefix; /* owned: the prefix ids of every model, concatenated */
        int *prefix_off; /* owned (G+1): model g's prefix is prefix[prefix_off[g] .. prefix_off[g+1]) */
        char **names;    /* owned (G): the group each model rates ("" for model 0) */
        int B;           /* character n-gram buckets; 0 = none */
        int ngram_min, ngram_max;
        float *ch_arena; /* owned: ch_idf, ch_w */
        float *ch_idf;   /* (B) */
        float *ch_w;     /* (G,B) */
    } in;
    struct {             /* what the emotion regressions read besides the token ids */
        float *aux_w;    /* owned (L,A): weights of the raw auxiliary logits z; NULL = none */
        int B;           /* character n-gram buckets; 0 = none */
        int ngram_min, ngram_max;
        float *ch_arena; /* owned: ch_idf, ch_w */
        float *ch_idf;   /* (B) */
        float *ch_w;     /* (L,B) */
        int NB;          /* token-bigram buckets; 0 = none */
        float *bi_arena; /* owned: bi_idf, bi_w */
        float *bi_idf;   /* (NB) */
        float *bi_w;     /* (L,NB) */
    } em;
} affect_lexical;

/* Allocates a zeroed model for V ids and L labels. */
int affect_lexical_init(affect_lexical *lx, int V, int L, affect_error *err);
/* Adds A zeroed auxiliary outputs named name to an initialised lx that has no intensity
 * models yet (they size their aux_w by A). */
int affect_lexical_init_aux(affect_lexical *lx, int A, const char *name, affect_error *err);
/* Adds G zeroed intensity models to an initialised lx: names[g] and prefix[g][0..prefix_len[g])
 * (model 0 must have an empty prefix; the others non-empty, distinct, ids within 0..V-1). */
int affect_lexical_init_intensity(affect_lexical *lx, int G, const char *const *names,
                                  const int32_t *const *prefix, const int *prefix_len, affect_error *err);
/* Adds zeroed character n-gram weights (B buckets, n-grams of nmin..nmax code points) to the
 * intensity models of lx. */
int affect_lexical_init_intensity_chars(affect_lexical *lx, int B, int nmin, int nmax, affect_error *err);
/* Gives the emotion regressions zeroed weights over the A auxiliary outputs of lx (which must
 * have them). */
int affect_lexical_init_emotion_aux(affect_lexical *lx, affect_error *err);
/* Gives the emotion regressions zeroed character n-gram weights (B buckets, n-grams of
 * nmin..nmax code points). */
int affect_lexical_init_emotion_chars(affect_lexical *lx, int B, int nmin, int nmax, affect_error *err);
/* Gives the emotion regressions zeroed token-bigram weights (NB buckets). */
int affect_lexical_init_emotion_bigrams(affect_lexical *lx, int NB, affect_error *err);
void affect_lexical_free(affect_lexical *lx);
/* Copies src's auxiliary outputs (weights, mean, scale) into dst, which has src's V and
 * neither auxiliary outputs nor intensity models yet. */
int affect_lexical_copy_aux(const affect_lexical *src, affect_lexical *dst, affect_error *err);
/* A deep copy of src (auxiliary outputs and intensity models included) into out. */
int affect_lexical_copy(const affect_lexical *src, affect_lexical *out, affect_error *err);

/* The sparse feature vector of one text's ids[0..n): the distinct kept ids in ascending
 * order into fid and their l2-normalised weights into fval (both with room for n entries);
 * returns how many. Out-of-range ids and ids with idf 0 are dropped; a text with no kept id
 * has no features (its lexical logits are the biases). */
size_t affect_lexical_features(const float *idf, int V, const int32_t *ids, size_t n, int32_t *fid,
                               float *fval);

/* Mixes the lexical logits of one text into logits[0..L) in place (see above). fid/fval are
 * scratch with room for n entries; text[0..text_len) is the text the ids came from, needed
 * only when the emotion regressions read character n-grams (then NULL is an error). Fails
 * only for that or for want of memory. */
int affect_lexical_mix_row(const affect_lexical *lx, const int32_t *ids, size_t n, const char *text, size_t text_len,
                           float *logits, int32_t *fid, float *fval, affect_error *err);

/* Which intensity model reads a text: the g >= 1 whose prefix follows ids[0], else 0. */
int affect_lexical_intensity_model(const affect_lexical *lx, const int32_t *ids, size_t n);

/* The raw auxiliary logits z[0..A) of one text: aux.b + aux.w·x_aux. fid/fval as above. */
void affect_lexical_aux_logits(const affect_lexical *lx, const int32_t *ids, size_t n, double *z, int32_t *fid,
                               float *fval);
/* The standardised auxiliary logits u[0..A) of one text (see above). fid/fval as above. */
void affect_lexical_aux_features(const affect_lexical *lx, const int32_t *ids, size_t n, double *u, int32_t *fid,
                                 float *fval);

/* Room the character n-grams of a text of len bytes need (entries of
 * affect_lexical_char_ngrams' out); 0 when that would overflow. */
size_t affect_lexical_char_ngram_bound(size_t len, int nmin, int nmax);
/* The bucket of every character n-gram of text[0..len) (see lexical_chars.c), in order, into
 * out (room: affect_lexical_char_ngram_bound); returns how many. */
size_t affect_lexical_char_ngrams(const char *text, size_t len, int nmin, int nmax, int B, int32_t *out);
/* The bucket of every pair of adjacent ids in ids[0..n) that both have idf > 0 (ids within
 * 0..V-1), in order, into out (room: n); returns how many. Bucket = MurmurHash3_x86_32 (seed
 * 0) of the two ids as little-endian int32s, modulo NB. */
size_t affect_lexical_bigrams(const float *idf, int V, const int32_t *ids, size_t n, int NB, int32_t *out);
/* MurmurHash3 x86 32-bit of data[0..n). */
uint32_t affect_murmur3_32(const void *data, size_t n, uint32_t seed);
/* The part of text that intensity model g reads: after "<name>: " when model g >= 1 and the
 * text starts with it, else all of it. */
const char *affect_lexical_model_text(const affect_lexical *lx, int g, const char *text, size_t *len);

/* Mixes the ridge prediction of the text's intensity model into *intensity (no-op without
 * intensity models). fid/fval as above; text[0..text_len) is the text the ids came from,
 * needed only with character n-grams (then NULL is an error). Fails only for that or
 * for want of memory. */
int affect_lexical_mix_intensity(const affect_lexical *lx, const int32_t *ids, size_t n, const char *text,
                                 size_t text_len, float *intensity, int32_t *fid, float *fval, affect_error *err);

/* Fills an initialised lx (sizes, auxiliary outputs, intensity groups) from a weights file's
 * lexical.* tensors (each present, a float type, of the exact shape; idf finite and >= 0,
 * weights finite, mix within [0,1], aux.scale finite and >= 0). */
int affect_lexical_load(affect_lexical *lx, const affect_tensor_set *ts, const char *source, affect_error *err);

#endif
