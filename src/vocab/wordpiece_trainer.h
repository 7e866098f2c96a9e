/* Learning a WordPiece vocabulary from texts, as Hugging Face tokenizers' WordPieceTrainer
 * does (models/wordpiece/trainer.rs over models/bpe/trainer.rs): the texts go through the
 * BERT normalizer (lowercase, strip accents) and BertPreTokenizer; the words are counted;
 * BPE is trained on them with the "##" continuing-subword prefix; the BPE vocabulary, in id
 * order, is the WordPiece vocabulary. That is what `affect vocab` and the built-in
 * from-scratch model (configs/default.yaml) use.
 *
 * The vocabulary, in id order:
 *   1. the special tokens as given (default [PAD] [UNK] [CLS] [SEP] [MASK], ids 0..4);
 *   2. the alphabet: every character of the words, sorted by code point; with a
 *      limit_alphabet, only the `limit` most frequent (ties: the lower code point stays);
 *   3. "##c" for each alphabet character c seen inside a word (not first), by code point
 *      (or in a given order, see continuing_order);
 *   4. merges, most frequent pair first (a pair of ids (a,b) wins a tie when a, then b, is
 *      smaller), until the vocabulary has vocab_size tokens, no pair is left, or the best
 *      pair's count is below min_frequency.
 * Rust's trainer is exactly this except in step 3, where it takes the "##c" tokens in the
 * order of a randomly seeded HashMap, so its own output varies from run to run in the order
 * of those tokens and, through the id tie-break, in the order (rarely the choice) of
 * equal-count merges. Here the order is fixed, so the result is reproducible.
 *
 * Library code: returns AFFECT_E* codes, never prints. */
#ifndef AFFECT_VOCAB_WORDPIECE_TRAINER_H
#define AFFECT_VOCAB_WORDPIECE_TRAINER_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef struct wordpiece_trainer_opts {
    size_t vocab_size;          /* target size, special tokens included (HF default 30000) */
    uint64_t min_frequency;     /* a merge needs a pair count >= this (default 0) */
    long limit_alphabet;        /* < 0: no limit (default); else the most characters kept */
    const char *const *special_tokens; /* NULL: [PAD] [UNK] [CLS] [SEP] [MASK] */
    size_t n_special;
    /* The order of the "##c" tokens (strings such as "##a"), for reproducing one particular
     * run of Rust's trainer exactly (read it off that run's vocabulary); characters it does
     * not list follow by code point. NULL: all by code point. */
    const char *const *continuing_order;
    size_t n_continuing_order;
} wordpiece_trainer_opts;

/* Hugging Face's defaults: vocab_size 30000, min_frequency 0, no alphabet limit, BERT's
 * five special tokens. */
void wordpiece_trainer_defaults(wordpiece_trainer_opts *o);

/* The learned vocabulary. token[i] is the string of id i (NUL-terminated; tokens never hold
 * NUL). count[i] is why the token is there: the pair count of the merge that made it, the
 * character's frequency for the alphabet (and for "##c", the frequency of c inside words),
 * 0 for special tokens. */
typedef struct wordpiece_vocab {
    char **token;
    uint64_t *count;
    size_t n;
    size_t n_special;   /* token[0..n_special) are the special tokens */
    size_t n_alphabet;  /* then this many single characters */
    size_t n_continuing;/* then this many "##c" */
    size_t n_merges;    /* then the merges (n = the sum of the four) */
    size_t n_words;     /* distinct words seen, and in all: for reports */
    uint64_t total_words;
} wordpiece_vocab;

/* Streaming use: feed texts one at a time (only the word counts are kept), then finish. */
typedef struct wordpiece_trainer wordpiece_trainer;

int wordpiece_trainer_new(wordpiece_trainer **out, const wordpiece_trainer_opts *o, affect_error *err);
/* Normalizes and pre-tokenizes one UTF-8 text (invalid bytes read as U+FFFD) and counts
 * its words. */
int wordpiece_trainer_feed(wordpiece_trainer *t, const char *text, size_t len, affect_error *err);
/* Runs the merges over everything fed so far and fills *out (free with
 * wordpiece_vocab_free). The trainer can be freed afterwards; feeding more and finishing
 * again trains on the union. */
int wordpiece_trainer_finish(wordpiece_trainer *t, wordpiece_vocab *out, affect_error *err);
void wordpiece_trainer_free(wordpiece_trainer *t);

/* One call: trains on texts[0..n) (lens[i] bytes each; lens NULL: NUL-terminated). */
int wordpiece_train(const wordpiece_trainer_opts *o, const char *const *texts, const size_t *lens,
                    size_t n, wordpiece_vocab *out, affect_error *err);
void wordpiece_vocab_free(wordpiece_vocab *v);

/* ---- tokenizer_json_writer.c --------------------------------------------------------- */

/* The tokenizer.json Hugging Face's tokenizers would save for this vocabulary: WordPiece
 * model (unk "[UNK]", prefix "##", max_input_chars_per_word 100), BertNormalizer
 * (lowercase, strip_accents), BertPreTokenizer, TemplateProcessing "[CLS] $A [SEP]" /
 * "[CLS] $A [SEP] $B:1 [SEP]:1", the special tokens as added tokens, WordPiece decoder.
 * [UNK], [CLS] and [SEP] must be among the vocabulary's special tokens. On success *out is
 * a malloc'd NUL-terminated buffer of *len bytes, which the caller frees. */
int wordpiece_tokenizer_json(const wordpiece_vocab *v, char **out, size_t *len, affect_error *err);

/* Writes vocab.txt (one token per line, id order) and tokenizer.json into `dir` (created
 * if missing), each atomically: a temporary file beside it, fsync, rename. */
int wordpiece_write_dir(const wordpiece_vocab *v, const char *dir, affect_error *err);

/* The whole of `affect vocab` as one call, for include/affect.h: trains with vocab_size,
 * min_frequency (0 = none) and limit_alphabet (< 0 = none) and BERT's special tokens, then
 * writes vocab.txt + tokenizer.json into out_dir. */
int affect_vocab_train(const char *const *texts, const size_t *lens, size_t n, int vocab_size,
                       int min_frequency, int limit_alphabet, const char *out_dir, affect_error *err);

#endif
