/* The WordPiece model as Hugging Face tokenizers runs it (models/wordpiece/mod.rs): each
 * pre-tokenized word becomes its greedy longest-match-first pieces, non-initial pieces
 * carrying the continuing-subword prefix ("##"); a word longer than max_input_chars_per_word
 * characters, or one that cannot be covered by vocabulary pieces, becomes a single unknown
 * token. */
#ifndef AFFECT_CORE_WORDPIECE_H
#define AFFECT_CORE_WORDPIECE_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "tokenize/vocab.h"
#include "util/json.h"

typedef struct wordpiece_model {
    tok_vocab vocab;
    char unk[64];      /* the unknown token's string */
    int32_t unk_id;    /* -1 when the vocabulary lacks it (an error only if it is needed) */
    char prefix[16];   /* continuing_subword_prefix */
    size_t prefix_len;
    size_t max_chars;  /* max_input_chars_per_word */
} wordpiece_model;

/* From tokenizer.json's "model" object ({"type":"WordPiece","vocab":{...},...}). */
int wordpiece_from_json(wordpiece_model **out, const json_value *model, affect_error *err);
/* From vocab.txt bytes (one token per line, id = line number), with BERT's defaults:
 * unk "[UNK]", prefix "##", 100 chars per word. */
int wordpiece_from_vocab_txt(wordpiece_model **out, const char *txt, size_t len, affect_error *err);
void wordpiece_free(wordpiece_model *m);

/* Appends the ids of one word (`n` bytes of valid UTF-8, no whitespace) to (*ids,*n,*cap). */
int wordpiece_encode_word(const wordpiece_model *m, const char *word, size_t n, int32_t **ids,
                          size_t *nids, size_t *cap, affect_error *err);

#endif
