/*
 * affect — multi-label emotion classifiers for journal text, in C.
 *
 * This header is the whole public C API. Everything the `affect` command line can do is
 * reachable from here; the CLI (src/cli/) only parses arguments and prints.
 *
 * Conventions
 *   - Every fallible function returns 0 (AFFECT_OK) or an AFFECT_E* code and, when `err` is
 *     non-NULL, fills it with a one-line message. The library never prints and never exits.
 *   - Objects are opaque; each *_load / *_new has a matching *_free that accepts NULL.
 *   - Text is UTF-8 bytes with an explicit length; invalid UTF-8 is read as U+FFFD per
 *     maximal subpart (the WHATWG decoder's rule), never rejected.
 *
 * Data flows one way: text -> tokens (affect_tokenizer) -> encoder (affect_model) -> pooled
 * vector / heads -> scores.
 */
#ifndef AFFECT_H
#define AFFECT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------------------------- */

enum {
    AFFECT_OK = 0,
    AFFECT_EIO = 1,          /* a file could not be read or written */
    AFFECT_ENOMEM = 2,       /* an allocation failed */
    AFFECT_EFORMAT = 3,      /* input is malformed: corrupt file, bad JSON, wrong shape */
    AFFECT_EUNSUPPORTED = 4, /* well-formed but not something affect handles (dtype, model_type) */
    AFFECT_EARG = 5,         /* a caller passed an invalid argument */
    AFFECT_ENOTFOUND = 6,    /* a file, tensor, model or cache entry does not exist */
    AFFECT_ENET = 7          /* a download failed */
};

typedef struct affect_error {
    int code;
    char msg[512];
} affect_error;

/* The process exit code the CLI uses for an error code: 2 for bad input/usage, 1 otherwise. */
int affect_exit_code(int code);

/* ---- tokenizer --------------------------------------------------------------------------- */

typedef struct affect_tokenizer affect_tokenizer;

/* Loads a tokenizer from a model folder: tokenizer.json when present, else the legacy files
 * (vocab.txt for WordPiece; vocab.json + merges.txt for byte-level BPE). `family_hint` is the
 * config's model_type ("bert", "distilbert", "roberta") or NULL; it decides the legacy
 * defaults (lowercasing, special tokens) when tokenizer.json is absent. */
int affect_tokenizer_load_dir(affect_tokenizer **out, const char *dir, const char *family_hint,
                              affect_error *err);
/* Same, from the bytes of a tokenizer.json. */
int affect_tokenizer_from_json(affect_tokenizer **out, const char *json, size_t len,
                               affect_error *err);
void affect_tokenizer_free(affect_tokenizer *tok);

/* Number of ids in the vocabulary (added tokens included), and the string of one id
 * (NULL if out of range). */
int affect_tokenizer_vocab_size(const affect_tokenizer *tok);
const char *affect_tokenizer_id_to_token(const affect_tokenizer *tok, int32_t id);
/* The padding id (BERT [PAD]=0, RoBERTa <pad>=1). */
int32_t affect_tokenizer_pad_id(const affect_tokenizer *tok);

/* Encodes one text: special tokens added ([CLS] … [SEP] or <s> … </s>), truncated so the
 * result has at most max_length ids (max_length <= 0: no truncation). On success *ids is a
 * malloc'd array the caller frees and *n its length. */
int affect_tokenizer_encode(const affect_tokenizer *tok, const char *text, size_t len,
                            int max_length, int32_t **ids, size_t *n, affect_error *err);

/* A padded batch: ids and attention mask are (B, T) row-major, T = the longest encoding
 * (or max_length when pad_to_max is set). Free with affect_batch_free. texts/text_lens are
 * the caller's texts the batch was encoded from (borrowed, not copied: valid only while the
 * caller keeps them), which a lexical model with character n-grams reads; NULL in a batch
 * built by hand, which such a model refuses. */
typedef struct affect_batch {
    int B, T;
    int32_t *ids;  /* (B,T) */
    int32_t *mask; /* (B,T) 1 = real token, 0 = padding */
    int32_t *lens; /* (B)   real tokens per row */
    const char *const *texts; /* (B) borrowed */
    const size_t *text_lens;  /* (B) borrowed */
} affect_batch;

int affect_tokenizer_encode_batch(const affect_tokenizer *tok, const char *const *texts,
                                  const size_t *lens, int B, int max_length, int pad_to_max,
                                  affect_batch *out, affect_error *err);
void affect_batch_free(affect_batch *b);

/* ---- model ------------------------------------------------------------------------------- */

typedef struct affect_model affect_model;

/* Loads config.json + weights (model.safetensors, else pytorch_model.bin) + tokenizer from a
 * folder. */
int affect_model_load_dir(affect_model **out, const char *dir, affect_error *err);
void affect_model_free(affect_model *m);

const affect_tokenizer *affect_model_tokenizer(const affect_model *m);
int affect_model_hidden_size(const affect_model *m);
/* Number of classifier labels (0 for a bare encoder) and their names. */
int affect_model_num_labels(const affect_model *m);
const char *affect_model_label_name(const affect_model *m, int i);

enum { AFFECT_POOL_MEAN = 0, AFFECT_POOL_CLS = 1 };

/* A trained model (a folder `affect train` exported, with affect_heads.json): per-label
 * probabilities sigmoid(logits) into probs (B,L), and the intensity head's raw output into
 * intensity (B) (may be NULL; must be NULL when affect_model_has_intensity is 0). The
 * pooling is the one the heads were trained with. A bare encoder is AFFECT_EARG. */
int affect_model_predict(affect_model *m, const affect_batch *batch, float *probs,
                         float *intensity, affect_error *err);
/* 1 when the model's intensity head was trained (affect_heads.json intensity.enabled). */
int affect_model_has_intensity(const affect_model *m);
/* 1 when the intensity head was trained on "<emotion>: <text>" inputs (affect_heads.json
 * intensity.emotion_prefix): to rate how strongly a text expresses emotion E, predict on
 * "E: text"; a text without the prefix gets the head's unconditioned guess. */
int affect_model_intensity_prefix(const affect_model *m);

/* Runs the encoder on a batch. `hidden` (B,T,H) receives the last layer's hidden states
 * (may be NULL); `pooled` (B,H) the pooled vector (may be NULL). */
int affect_model_embed(affect_model *m, const affect_batch *batch, int pool, float *hidden,
                       float *pooled, affect_error *err);

/* ---- native runtime hooks ---------------------------------------------------------------- */

/* C = alpha * op(A) * op(B) + beta * C, row-major, op = transpose when trans != 0.
 * The core calls every large matrix product through this hook; the native build fills it
 * with OpenBLAS, the WebAssembly build with a SIMD kernel. */
typedef void (*affect_sgemm_fn)(int transA, int transB, int M, int N, int K, float alpha,
                                const float *A, int lda, const float *B, int ldb, float beta,
                                float *C, int ldc);
void affect_set_sgemm(affect_sgemm_fn fn);
/* Installs the native defaults (OpenBLAS GEMM, `threads` threads; 0 = all cores). Only in
 * the native libaffect, not the core. */
void affect_native_init(int threads);

#ifdef __cplusplus
}
#endif
#endif
