/* WordPiece: see wordpiece.h. */
#include "tokenize/wordpiece.h"
#include <stdlib.h>
#include <string.h>
#include "util/error.h"

/* Copies a short configuration string into a fixed field, refusing oversize ones. */
static int set_string(char *dst, size_t cap, const char *src, size_t n, const char *what,
                      affect_error *err) {
    if (n >= cap) return affect_fail(err, AFFECT_EUNSUPPORTED, "WordPiece: %s longer than %zu bytes", what, cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
    return 0;
}

/* The unknown token's id is looked up once, after the vocabulary is complete. */
static int finish(wordpiece_model *m) {
    m->unk_id = tok_vocab_find(&m->vocab, m->unk, strlen(m->unk));
    return 0;
}

/* Defaults are those of the Rust WordPieceBuilder for keys the file leaves out. */
int wordpiece_from_json(wordpiece_model **out, const json_value *model, affect_error *err) {
    *out = NULL;
    const json_value *vocab = json_get(model, "vocab");
    if (!vocab || vocab->type != JSON_OBJECT)
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: WordPiece model has no \"vocab\" object");
    wordpiece_model *m = calloc(1, sizeof *m);
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "out of memory for the WordPiece model");
    const char *unk = json_get_string(model, "unk_token", "[UNK]");
    const char *prefix = json_get_string(model, "continuing_subword_prefix", "##");
    double maxc = json_get_number(model, "max_input_chars_per_word", 100);
    int rc = set_string(m->unk, sizeof m->unk, unk, strlen(unk), "unk_token", err);
    if (!rc) rc = set_string(m->prefix, sizeof m->prefix, prefix, strlen(prefix), "continuing_subword_prefix", err);
    if (!rc && !(maxc >= 0 && maxc <= 1e9))
        rc = affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: max_input_chars_per_word %g out of range", maxc);
    if (rc) { wordpiece_free(m); return rc; }
    m->prefix_len = strlen(m->prefix);
    m->max_chars = (size_t)maxc;
    for (size_t i = 0; i < vocab->len; i++) {
        const json_value *v = &vocab->items[i];
        if (!json_is_int(v, 0, 2147483000.0)) {
            wordpiece_free(m);
            return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: vocab entry '%.60s' is not a valid id", vocab->keys[i]);
        }
        rc = tok_vocab_add(&m->vocab, (int32_t)v->number, vocab->keys[i], vocab->key_lens[i], err);
        if (rc) { wordpiece_free(m); return rc; }
    }
    finish(m);
    *out = m;
    return 0;
}

/* Lines as Python's load_vocab reads them (BertTokenizer, whose vocabulary
 * BertTokenizerFast converts): split at '\n', a trailing '\r' dropped (universal
 * newlines), id = line number. */
int wordpiece_from_vocab_txt(wordpiece_model **out, const char *txt, size_t len, affect_error *err) {
    *out = NULL;
    wordpiece_model *m = calloc(1, sizeof *m);
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "out of memory for the WordPiece model");
    strcpy(m->unk, "[UNK]");
    strcpy(m->prefix, "##");
    m->prefix_len = 2;
    m->max_chars = 100;
    size_t pos = 0;
    int32_t id = 0;
    while (pos < len) {
        const char *nl = memchr(txt + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - txt) : len, n = end - pos;
        if (n && txt[pos + n - 1] == '\r') n--;
        if (id == INT32_MAX - 2) { wordpiece_free(m); return affect_fail(err, AFFECT_EFORMAT, "vocab.txt: too many lines"); }
        int rc = tok_vocab_add(&m->vocab, id++, txt + pos, n, err);
        if (rc) { wordpiece_free(m); return rc; }
        pos = end + 1;
    }
    if (id == 0) { wordpiece_free(m); return affect_fail(err, AFFECT_EFORMAT, "vocab.txt is empty"); }
    finish(m);
    *out = m;
    return 0;
}

/* Accepts NULL. */
void wordpiece_free(wordpiece_model *m) {
    if (!m) return;
    tok_vocab_free(&m->vocab);
    free(m);
}

/* A missing unknown token is an error only when a word needs it, as in Rust. */
static int push_unk(const wordpiece_model *m, int32_t **ids, size_t *nids, size_t *cap, affect_error *err) {
    if (m->unk_id < 0)
        return affect_fail(err, AFFECT_EFORMAT, "WordPiece: unknown token '%s' is not in the vocabulary", m->unk);
    return tok_ids_push(ids, nids, cap, m->unk_id, err);
}

/* Greedy longest-match-first, byte for byte as mod.rs: try the longest remaining
 * substring, then shorten it one character at a time; all-or-nothing per word. */
int wordpiece_encode_word(const wordpiece_model *m, const char *word, size_t n, int32_t **ids,
                          size_t *nids, size_t *cap, affect_error *err) {
    size_t nchars = 0;
    for (size_t i = 0; i < n; i++) nchars += ((unsigned char)word[i] & 0xC0) != 0x80;
    if (nchars > m->max_chars) return push_unk(m, ids, nids, cap, err);
    char stackbuf[1024], *buf = stackbuf;
    if (n + m->prefix_len > sizeof stackbuf) {
        buf = malloc(n + m->prefix_len);
        if (!buf) return affect_fail(err, AFFECT_ENOMEM, "WordPiece: out of memory for a %zu-byte word", n);
    }
    memcpy(buf, m->prefix, m->prefix_len);
    size_t first = *nids, start = 0;
    int rc = 0, bad = 0;
    while (start < n) {
        size_t end = n;
        int32_t found = -1;
        while (start < end) {
            if (start == 0) {
                found = tok_vocab_find(&m->vocab, word, end);
            } else {
                memcpy(buf + m->prefix_len, word + start, end - start);
                found = tok_vocab_find(&m->vocab, buf, m->prefix_len + end - start);
            }
            if (found >= 0) break;
            do end--; while (end > start && ((unsigned char)word[end] & 0xC0) == 0x80);
        }
        if (found < 0) { bad = 1; break; }
        rc = tok_ids_push(ids, nids, cap, found, err);
        if (rc) break;
        start = end;
    }
    if (buf != stackbuf) free(buf);
    if (rc) return rc;
    if (bad) {
        *nids = first;
        return push_unk(m, ids, nids, cap, err);
    }
    return 0;
}
