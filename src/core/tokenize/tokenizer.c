/* affect_tokenizer: loading (tokenizer.json or the legacy vocab files) and encoding, with
 * the added-token handling, post-processing, truncation and padding of Hugging Face
 * tokenizers (tokenizer/added_vocabulary.rs, tokenizer/mod.rs). See tokenizer_internal.h. */
#define _POSIX_C_SOURCE 200809L
#include "tokenize/tokenizer_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tokenize/unicode.h"
#include "util/blob.h"
#include "util/error.h"
#include "util/json.h"

/* ---- added tokens ----------------------------------------------------------------------- */

static char *dup_bytes(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* The model's own vocabulary, added tokens aside. */
static int32_t model_token_to_id(const affect_tokenizer *tok, const char *s, size_t n) {
    if (tok->wp) return tok_vocab_find(&tok->wp->vocab, s, n);
    if (tok->bpe) return bpe_token_to_id(tok->bpe, s, n);
    return -1;
}

/* Adds (or, for content already added, updates) one added token. Its id is chosen as
 * Rust's AddedVocabulary::add_tokens chooses it, whatever id the file wrote: the id the
 * content already has (added before, or in the model's vocabulary), else the next free id
 * after the model's vocabulary and the tokens added so far. */
static int add_token(affect_tokenizer *tok, const char *content, size_t len,
                     int single_word, int lstrip, int rstrip, int normalized, int special,
                     affect_error *err) {
    if (len == 0) return 0; /* Rust ignores empty added tokens */
    int32_t id = model_token_to_id(tok, content, len);
    int32_t model_size = tok->wp ? (int32_t)tok->wp->vocab.nstrings : bpe_vocab_size(tok->bpe);
    int32_t max_added = -1;
    for (size_t i = 0; i < tok->n_added; i++) {
        if (tok->added[i].len == len && !memcmp(tok->added[i].content, content, len)) id = tok->added[i].id;
        if (tok->added[i].id > max_added) max_added = tok->added[i].id;
    }
    if (id < 0) id = (max_added >= model_size || model_size == 0) ? max_added + 1 : model_size;
    added_token *t = NULL;
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].len == len && !memcmp(tok->added[i].content, content, len)) t = &tok->added[i];
    if (!t) {
        added_token *na = realloc(tok->added, (tok->n_added + 1) * sizeof *na);
        if (!na) return affect_fail(err, AFFECT_ENOMEM, "out of memory for added tokens");
        tok->added = na;
        t = &tok->added[tok->n_added++];
        memset(t, 0, sizeof *t);
        t->content = dup_bytes(content, len);
        if (!t->content) { tok->n_added--; return affect_fail(err, AFFECT_ENOMEM, "out of memory for added tokens"); }
        t->len = len;
    }
    t->id = id;
    t->single_word = single_word;
    t->lstrip = lstrip;
    t->rstrip = rstrip;
    t->normalized = normalized;
    t->special = special;
    return 0;
}

/* qsort order for added tokens: by id, for id_to_token's binary search. */
static int cmp_added_id(const void *a, const void *b) {
    const added_token *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Builds the two matchers once the normalizer is known: normalized tokens are searched as
 * the normalizer rewrites them (Rust normalizes each pattern the same way). */
static int build_matchers(affect_tokenizer *tok, affect_error *err) {
    qsort(tok->added, tok->n_added, sizeof *tok->added, cmp_added_id);
    norm_buf nb = {0};
    int rc = 0;
    tok->raw.tok = calloc(tok->n_added + 1, sizeof *tok->raw.tok);
    tok->normalized.tok = calloc(tok->n_added + 1, sizeof *tok->normalized.tok);
    if (!tok->raw.tok || !tok->normalized.tok) return affect_fail(err, AFFECT_ENOMEM, "out of memory for added tokens");
    for (size_t i = 0; i < tok->n_added; i++) {
        added_token *t = &tok->added[i];
        const char *pat = t->content;
        size_t plen = t->len;
        if (t->normalized && tok->has_normalizer) {
            rc = bert_normalize(&tok->norm, t->content, t->len, &nb, err);
            if (rc) break;
            pat = nb.out;
            plen = nb.len;
        }
        free(t->pattern);
        t->pattern = dup_bytes(pat, plen);
        if (!t->pattern) { rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for added tokens"); break; }
        t->pattern_len = plen;
        if (plen == 0) continue; /* normalized away: can never match */
        added_matcher *m = t->normalized ? &tok->normalized : &tok->raw;
        m->tok[m->n++] = t;
        m->first_byte[(unsigned char)t->pattern[0]] = 1;
    }
    norm_buf_free(&nb);
    return rc;
}

/* Rust regex \w (Unicode): alphabetic, marks, decimal digits, connector punctuation, and
 * the joiners. Used only by single_word tokens. */
static int is_word_char(uint32_t cp) {
    if (cp == '_' || cp == 0x200C || cp == 0x200D) return 1;
    int c = uc_category(cp);
    return (c >= UC_LU && c <= UC_LO) || (c >= UC_MN && c <= UC_ME) || c == UC_ND ||
           c == UC_NL || c == UC_PC;
}

/* The code point that ends at s[end) (valid UTF-8). */
static uint32_t prev_cp(const char *s, size_t end, size_t *start) {
    size_t p = end;
    do p--; while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80);
    size_t i = p;
    uint32_t cp = utf8_next(s, end, &i);
    if (start) *start = p;
    return cp;
}

/* A piece of text between matches: either a token id or a stretch to tokenize. */
typedef int (*piece_fn)(void *ctx, const char *s, size_t len, int32_t id);

/* AddedVocabulary::find_matches: leftmost-longest matches of the set in s, with
 * single_word, lstrip and rstrip applied, and the stretches between them, in order. */
static int split_added(const added_matcher *m, const char *s, size_t len, piece_fn fn, void *ctx) {
    size_t offset = 0; /* end of what was already emitted */
    size_t i = 0;      /* where the search resumes (the end of the last raw match) */
    int rc;
    while (m->n && i < len) {
        if (!m->first_byte[(unsigned char)s[i]]) { i++; continue; }
        const added_token *best = NULL;
        for (size_t k = 0; k < m->n; k++) {
            const added_token *t = m->tok[k];
            if (t->pattern_len <= len - i && (!best || t->pattern_len > best->pattern_len) &&
                !memcmp(s + i, t->pattern, t->pattern_len))
                best = t;
        }
        if (!best) { i++; continue; }
        size_t start = i, stop = i + best->pattern_len;
        i = stop;
        if (best->single_word) {
            int word_before = start > 0 && is_word_char(prev_cp(s, start, NULL));
            size_t j = stop;
            int word_after = stop < len && is_word_char(utf8_next(s, len, &j));
            if (word_before || word_after) continue;
        }
        if (best->lstrip) {
            size_t ns = start, ps;
            while (ns > 0 && uc_is_white_space(prev_cp(s, ns, &ps))) ns = ps;
            start = ns > offset ? ns : offset;
        }
        if (best->rstrip) {
            size_t j = stop;
            while (j < len) {
                size_t nj = j;
                if (!uc_is_white_space(utf8_next(s, len, &nj))) break;
                j = nj;
            }
            stop = j;
        }
        if (start > offset && (rc = fn(ctx, s + offset, start - offset, -1))) return rc;
        if ((rc = fn(ctx, NULL, 0, best->id))) return rc;
        offset = stop;
    }
    if (offset < len && (rc = fn(ctx, s + offset, len - offset, -1))) return rc;
    return 0;
}

/* ---- encoding ---------------------------------------------------------------------------- */

typedef struct encode_ctx {
    const affect_tokenizer *tok;
    norm_buf *nb;
    int32_t **ids;
    size_t *n, *cap;
    affect_error *err;
} encode_ctx;

/* Pre-tokenizer + model on one stretch that holds no added token. */
static int model_piece(void *vctx, const char *s, size_t len, int32_t id) {
    encode_ctx *c = vctx;
    if (id >= 0) return tok_ids_push(c->ids, c->n, c->cap, id, c->err);
    const affect_tokenizer *tok = c->tok;
    if (tok->model_type == TOK_MODEL_BPE) return bpe_encode(tok->bpe, s, len, c->ids, c->n, c->cap, c->err);
    if (tok->pretok == TOK_PRE_NONE) return wordpiece_encode_word(tok->wp, s, len, c->ids, c->n, c->cap, c->err);
    size_t pos = 0, start, wlen;
    while (bert_pretok_next(s, len, &pos, &start, &wlen)) {
        int rc = wordpiece_encode_word(tok->wp, s + start, wlen, c->ids, c->n, c->cap, c->err);
        if (rc) return rc;
    }
    return 0;
}

/* Normalizer, then the normalized added tokens, on one stretch the raw pass left. */
static int normalize_piece(void *vctx, const char *s, size_t len, int32_t id) {
    encode_ctx *c = vctx;
    if (id >= 0) return tok_ids_push(c->ids, c->n, c->cap, id, c->err);
    const affect_tokenizer *tok = c->tok;
    if (tok->has_normalizer) {
        int rc = bert_normalize(&tok->norm, s, len, c->nb, c->err);
        if (rc) return rc;
        s = c->nb->out;
        len = c->nb->len;
    }
    return split_added(&tok->normalized, s, len, model_piece, c);
}

/* Length of the valid UTF-8 prefix of s (== len when all of it is valid). */
static size_t valid_utf8_prefix(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        if ((unsigned char)s[i] < 0x80) { i++; continue; }
        size_t at = i;
        uint32_t cp = utf8_next(s, len, &i);
        if (cp == 0xFFFD && !(i - at == 3 && (unsigned char)s[at] == 0xEF &&
                              (unsigned char)s[at + 1] == 0xBF && (unsigned char)s[at + 2] == 0xBD))
            return at;
    }
    return len;
}

/* Invalid UTF-8 is replaced up front so that added-token matching, the normalizer and
 * bpe_encode all see the same valid text (Rust only ever sees a valid &str). */
int tokenizer_encode_content(const affect_tokenizer *tok, const char *text, size_t len,
                             norm_buf *nb, int32_t **ids, size_t *n, size_t *cap,
                             affect_error *err) {
    if (!text && len) return affect_fail(err, AFFECT_EARG, "encode: NULL text with length %zu", len);
    char *clean = NULL;
    if (valid_utf8_prefix(text, len) != len) { /* invalid bytes -> U+FFFD, maximal subparts */
        if (len > SIZE_MAX / 3) return affect_fail(err, AFFECT_ENOMEM, "encode: text too long");
        clean = malloc(len * 3 + 1);
        if (!clean) return affect_fail(err, AFFECT_ENOMEM, "encode: out of memory for a %zu-byte text", len);
        size_t i = 0, o = 0;
        while (i < len) o += utf8_put(clean + o, utf8_next(text, len, &i));
        text = clean;
        len = o;
    }
    encode_ctx c = {tok, nb, ids, n, cap, err};
    int rc = split_added(&tok->raw, text ? text : "", len, normalize_piece, &c);
    free(clean);
    return rc;
}

/* Wraps content ids with the post-processor's specials, truncating the content first so
 * the whole stays within max_length (Rust truncates to max_length minus the specials). */
static int finish_encoding(const affect_tokenizer *tok, const int32_t *content, size_t nc,
                           int max_length, int32_t *out, size_t *nout, affect_error *err) {
    size_t nspecial = tok->n_prefix + tok->n_suffix;
    if (max_length > 0) {
        if ((size_t)max_length < nspecial)
            return affect_fail(err, AFFECT_EARG, "max_length %d is less than the %zu special tokens", max_length, nspecial);
        if (nc > (size_t)max_length - nspecial) nc = (size_t)max_length - nspecial;
    }
    size_t k = 0;
    for (size_t i = 0; i < tok->n_prefix; i++) out[k++] = tok->prefix[i];
    if (nc) memcpy(out + k, content, nc * sizeof *content);
    k += nc;
    for (size_t i = 0; i < tok->n_suffix; i++) out[k++] = tok->suffix[i];
    *nout = k;
    return 0;
}

/* One text: content ids, then specials and truncation. */
int affect_tokenizer_encode(const affect_tokenizer *tok, const char *text, size_t len,
                            int max_length, int32_t **ids, size_t *n, affect_error *err) {
    *ids = NULL;
    *n = 0;
    if (!tok) return affect_fail(err, AFFECT_EARG, "encode: NULL tokenizer");
    norm_buf nb = {0};
    int32_t *content = NULL;
    size_t nc = 0, cap = 0;
    int rc = tokenizer_encode_content(tok, text, len, &nb, &content, &nc, &cap, err);
    norm_buf_free(&nb);
    if (rc) { free(content); return rc; }
    int32_t *out = malloc((nc + tok->n_prefix + tok->n_suffix + 1) * sizeof *out);
    if (!out) { free(content); return affect_fail(err, AFFECT_ENOMEM, "encode: out of memory for %zu ids", nc); }
    rc = finish_encoding(tok, content, nc, max_length, out, n, err);
    free(content);
    if (rc) { free(out); return rc; }
    *ids = out;
    return 0;
}

/* Encodes every text into one flat array (offsets per row), then lays the rows out padded
 * to T: the longest row, or max_length when pad_to_max asks for it. */
int affect_tokenizer_encode_batch(const affect_tokenizer *tok, const char *const *texts,
                                  const size_t *lens, int B, int max_length, int pad_to_max,
                                  affect_batch *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    if (!tok || B < 0 || (B > 0 && (!texts || !lens)))
        return affect_fail(err, AFFECT_EARG, "encode_batch: bad arguments (B=%d)", B);
    size_t nspecial = tok->n_prefix + tok->n_suffix;
    if (max_length > 0 && (size_t)max_length < nspecial)
        return affect_fail(err, AFFECT_EARG, "max_length %d is less than the %zu special tokens", max_length, nspecial);
    norm_buf nb = {0};
    int32_t *content = NULL, *flat = NULL;
    size_t cap = 0, fcap = 0, flen = 0, T = 0;
    size_t *start = calloc((size_t)B + 1, sizeof *start);
    int rc = start ? 0 : affect_fail(err, AFFECT_ENOMEM, "encode_batch: out of memory for %d rows", B);
    for (int b = 0; b < B && !rc; b++) {
        size_t nc = 0;
        rc = tokenizer_encode_content(tok, texts[b], lens[b], &nb, &content, &nc, &cap, err);
        if (rc) break;
        size_t need = flen + nc + nspecial;
        if (need > fcap) {
            size_t nf = fcap ? fcap : 4096;
            while (nf < need) nf *= 2;
            int32_t *p = realloc(flat, nf * sizeof *p);
            if (!p) { rc = affect_fail(err, AFFECT_ENOMEM, "encode_batch: out of memory for %zu ids", nf); break; }
            flat = p;
            fcap = nf;
        }
        size_t k = 0;
        rc = finish_encoding(tok, content, nc, max_length, flat + flen, &k, err);
        start[b] = flen;
        flen += k;
        if (k > T) T = k;
    }
    if (!rc) start[B] = flen;
    norm_buf_free(&nb);
    free(content);
    if (!rc && pad_to_max && max_length > 0) T = (size_t)max_length;
    if (!rc && T > (size_t)INT32_MAX / 2) rc = affect_fail(err, AFFECT_EARG, "encode_batch: %zu tokens in one row is too many", T);
    if (!rc && B > 0 && T > SIZE_MAX / sizeof(int32_t) / (size_t)B)
        rc = affect_fail(err, AFFECT_ENOMEM, "encode_batch: %d x %zu ids overflow", B, T);
    if (!rc) {
        size_t cells = (size_t)B * T;
        out->ids = malloc((cells + 1) * sizeof *out->ids);
        out->mask = malloc((cells + 1) * sizeof *out->mask);
        out->lens = malloc(((size_t)B + 1) * sizeof *out->lens);
        if (!out->ids || !out->mask || !out->lens) {
            affect_batch_free(out);
            rc = affect_fail(err, AFFECT_ENOMEM, "encode_batch: out of memory for %d x %zu ids", B, T);
        }
    }
    if (!rc) {
        out->B = B;
        out->T = (int)T;
        out->texts = texts;
        out->text_lens = lens;
        for (int b = 0; b < B; b++) {
            size_t k = start[b + 1] - start[b];
            int32_t *row = out->ids + (size_t)b * T, *mrow = out->mask + (size_t)b * T;
            if (k) memcpy(row, flat + start[b], k * sizeof *row);
            for (size_t t = 0; t < T; t++) {
                if (t >= k) row[t] = tok->pad_id;
                mrow[t] = t < k;
            }
            out->lens[b] = (int32_t)k;
        }
    }
    free(flat);
    free(start);
    return rc;
}

/* Accepts NULL and a zeroed batch. */
void affect_batch_free(affect_batch *b) {
    if (!b) return;
    free(b->ids);
    free(b->mask);
    free(b->lens);
    memset(b, 0, sizeof *b);
}

/* ---- queries ----------------------------------------------------------------------------- */

int affect_tokenizer_vocab_size(const affect_tokenizer *tok) {
    return tok ? tok->vocab_size : 0;
}

/* Added tokens first (as Rust's id_to_token), then the model. */
const char *affect_tokenizer_id_to_token(const affect_tokenizer *tok, int32_t id) {
    if (!tok || id < 0) return NULL;
    size_t lo = 0, hi = tok->n_added;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tok->added[mid].id == id) return tok->added[mid].content;
        if (tok->added[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    if (tok->wp) return tok_vocab_str(&tok->wp->vocab, id);
    if (tok->bpe) return bpe_id_to_token(tok->bpe, id);
    return NULL;
}

/* From tokenizer.json "padding" when set, else [PAD] / <pad>, else 0. */
int32_t affect_tokenizer_pad_id(const affect_tokenizer *tok) {
    return tok ? tok->pad_id : 0;
}

/* Accepts NULL and a half-loaded tokenizer (loaders free through it on error). */
void affect_tokenizer_free(affect_tokenizer *tok) {
    if (!tok) return;
    wordpiece_free(tok->wp);
    bpe_model_free(tok->bpe);
    for (size_t i = 0; i < tok->n_added; i++) {
        free(tok->added[i].content);
        free(tok->added[i].pattern);
    }
    free(tok->added);
    free(tok->raw.tok);
    free(tok->normalized.tok);
    free(tok);
}

/* ---- loading ----------------------------------------------------------------------------- */

/* Looks a special token's id up among added tokens, then in the model. */
static int32_t find_token(const affect_tokenizer *tok, const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].len == n && !memcmp(tok->added[i].content, s, n)) return tok->added[i].id;
    return model_token_to_id(tok, s, n);
}

/* The finishing steps every loader shares: matchers, vocabulary size, padding id. */
static int finish_load(affect_tokenizer *tok, int32_t pad_from_file, affect_error *err) {
    int rc = build_matchers(tok, err);
    if (rc) return rc;
    int32_t vs = tok->wp ? tok->wp->vocab.n : bpe_vocab_size(tok->bpe);
    if (tok->bpe) { /* ids may have gaps; the size must cover the largest */
        int32_t hi = vs;
        while (bpe_id_to_token(tok->bpe, hi)) hi++;
        vs = hi;
    }
    for (size_t i = 0; i < tok->n_added; i++)
        if (tok->added[i].id >= vs) vs = tok->added[i].id + 1;
    tok->vocab_size = vs;
    if (pad_from_file >= 0) tok->pad_id = pad_from_file;
    else {
        int32_t p = find_token(tok, "[PAD]");
        if (p < 0) p = find_token(tok, "<pad>");
        tok->pad_id = p >= 0 ? p : 0;
    }
    return 0;
}

/* strip_accents null means "follow lowercase", as BertNormalizer does. */
static int parse_bert_normalizer(affect_tokenizer *tok, const json_value *nz, affect_error *err) {
    const char *type = json_get_string(nz, "type", "");
    if (!strcmp(type, "BertNormalizer")) {
        tok->has_normalizer = 1;
        tok->norm.clean_text = json_get_bool(nz, "clean_text", 1);
        tok->norm.handle_chinese_chars = json_get_bool(nz, "handle_chinese_chars", 1);
        tok->norm.lowercase = json_get_bool(nz, "lowercase", 1);
        const json_value *sa = json_get(nz, "strip_accents");
        tok->norm.strip_accents = (sa && sa->type == JSON_BOOL) ? sa->boolean : tok->norm.lowercase;
        return 0;
    }
    if (!strcmp(type, "Lowercase")) {
        tok->has_normalizer = 1;
        memset(&tok->norm, 0, sizeof tok->norm);
        tok->norm.lowercase = 1;
        return 0;
    }
    if (!strcmp(type, "Sequence")) {
        const json_value *list = json_get(nz, "normalizers");
        if (list && list->type == JSON_ARRAY && list->len == 0) return 0;
        if (list && list->type == JSON_ARRAY && list->len == 1) return parse_bert_normalizer(tok, &list->items[0], err);
    }
    return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: normalizer '%s' is not supported (BertNormalizer, Lowercase or none)", type);
}

/* Only the pairings the families use: BertPreTokenizer with WordPiece, ByteLevel with
 * BPE (whose options go to bpe.c). */
static int parse_pre_tokenizer(affect_tokenizer *tok, const json_value *pt, affect_error *err) {
    const char *type = json_get_string(pt, "type", "");
    if (!strcmp(type, "BertPreTokenizer")) {
        if (tok->model_type != TOK_MODEL_WORDPIECE) goto mismatch;
        tok->pretok = TOK_PRE_BERT;
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) {
        if (tok->model_type != TOK_MODEL_BPE) goto mismatch;
        tok->pretok = TOK_PRE_BYTELEVEL;
        bpe_set_pretokenizer(tok->bpe, json_get_bool(pt, "add_prefix_space", 1), json_get_bool(pt, "use_regex", 1));
        return 0;
    }
    if (!strcmp(type, "Sequence")) {
        const json_value *list = json_get(pt, "pretokenizers");
        if (list && list->type == JSON_ARRAY && list->len == 1) return parse_pre_tokenizer(tok, &list->items[0], err);
    }
    return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: pre_tokenizer '%s' is not supported (BertPreTokenizer or ByteLevel)", type);
mismatch:
    return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: pre_tokenizer '%s' with a %s model is not supported",
                       type, tok->model_type == TOK_MODEL_BPE ? "BPE" : "WordPiece");
}

/* The id of a [token, id] pair (BertProcessing / RobertaProcessing "cls" and "sep"). */
static int pair_id(const json_value *pp, const char *key, int32_t *id, affect_error *err) {
    const json_value *v = json_get(pp, key);
    if (!v || v->type != JSON_ARRAY || v->len != 2 || !json_is_int(&v->items[1], 0, 2147483000.0))
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: post_processor \"%s\" is not a [token, id] pair", key);
    *id = (int32_t)v->items[1].number;
    return 0;
}

/* Appends one special id around the sequence (a fixed, small array). */
static int push_special(int32_t *arr, size_t *n, int32_t id, affect_error *err) {
    if (*n >= 8) return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: more than 8 special tokens around a sequence");
    arr[(*n)++] = id;
    return 0;
}

/* TemplateProcessing's "single" template: the specials before and after sequence A. */
static int parse_template(affect_tokenizer *tok, const json_value *pp, affect_error *err) {
    const json_value *single = json_get(pp, "single"), *specials = json_get(pp, "special_tokens");
    if (!single || single->type != JSON_ARRAY)
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: TemplateProcessing has no \"single\" template");
    int seen_seq = 0;
    for (size_t i = 0; i < single->len; i++) {
        const json_value *piece = &single->items[i], *st = json_get(piece, "SpecialToken");
        if (json_get(piece, "Sequence")) {
            if (seen_seq) return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: \"single\" template with two sequences");
            seen_seq = 1;
            continue;
        }
        const char *name = json_get_string(st, "id", NULL);
        if (!name) return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: TemplateProcessing item %zu is neither SpecialToken nor Sequence", i);
        const json_value *ids = json_get(json_get(specials, name), "ids");
        if (!ids || ids->type != JSON_ARRAY)
            return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: special token '%.60s' missing from special_tokens", name);
        for (size_t k = 0; k < ids->len; k++) {
            if (!json_is_int(&ids->items[k], 0, 2147483000.0))
                return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: special token '%.60s' has a bad id", name);
            int rc = push_special(seen_seq ? tok->suffix : tok->prefix, seen_seq ? &tok->n_suffix : &tok->n_prefix,
                                  (int32_t)ids->items[k].number, err);
            if (rc) return rc;
        }
    }
    if (!seen_seq) return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: \"single\" template has no Sequence");
    return 0;
}

/* Only what a single sequence needs: the specials before and after it. */
static int parse_post_processor(affect_tokenizer *tok, const json_value *pp, affect_error *err) {
    const char *type = json_get_string(pp, "type", "");
    if (!strcmp(type, "TemplateProcessing")) return parse_template(tok, pp, err);
    if (!strcmp(type, "BertProcessing") || !strcmp(type, "RobertaProcessing")) {
        int32_t cls, sep;
        int rc = pair_id(pp, "cls", &cls, err);
        if (!rc) rc = pair_id(pp, "sep", &sep, err);
        if (rc) return rc;
        tok->prefix[0] = cls;
        tok->suffix[0] = sep;
        tok->n_prefix = tok->n_suffix = 1;
        return 0;
    }
    if (!strcmp(type, "ByteLevel")) return 0; /* offsets only */
    if (!strcmp(type, "Sequence")) {
        const json_value *list = json_get(pp, "processors");
        for (size_t i = 0; list && list->type == JSON_ARRAY && i < list->len; i++) {
            int rc = parse_post_processor(tok, &list->items[i], err);
            if (rc) return rc;
        }
        return 0;
    }
    return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: post_processor '%s' is not supported", type);
}

/* added_tokens entries (tokenizer.json) and added_tokens_decoder values
 * (tokenizer_config.json) share this shape. */
static int parse_added_token(affect_tokenizer *tok, const json_value *t, affect_error *err) {
    const json_value *content = json_get(t, "content");
    if (!content || content->type != JSON_STRING)
        return affect_fail(err, AFFECT_EFORMAT, "an added token has no \"content\"");
    int special = json_get_bool(t, "special", 0);
    return add_token(tok, content->str, content->len, json_get_bool(t, "single_word", 0),
                     json_get_bool(t, "lstrip", 0), json_get_bool(t, "rstrip", 0),
                     json_get_bool(t, "normalized", !special), special, err);
}

/* Model first: added tokens take their ids from it. */
static int from_json_root(affect_tokenizer *tok, const json_value *root, affect_error *err) {
    const json_value *model = json_get(root, "model");
    if (!model || model->type != JSON_OBJECT)
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json has no \"model\" object");
    const char *type = json_get_string(model, "type", NULL);
    if (!type) type = json_get(model, "merges") ? "BPE" : json_get(model, "max_input_chars_per_word") ? "WordPiece" : "";
    int rc;
    if (!strcmp(type, "WordPiece")) {
        tok->model_type = TOK_MODEL_WORDPIECE;
        rc = wordpiece_from_json(&tok->wp, model, err);
    } else if (!strcmp(type, "BPE")) {
        tok->model_type = TOK_MODEL_BPE;
        rc = bpe_model_from_json(&tok->bpe, model, err);
        if (!rc) bpe_set_pretokenizer(tok->bpe, 0, 1);
    } else {
        return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: model type '%s' is not supported (WordPiece or BPE)", type);
    }
    if (rc) return rc;
    const json_value *nz = json_get(root, "normalizer"), *pt = json_get(root, "pre_tokenizer"),
                     *pp = json_get(root, "post_processor"), *added = json_get(root, "added_tokens");
    if (nz && nz->type == JSON_OBJECT && (rc = parse_bert_normalizer(tok, nz, err))) return rc;
    if (pt && pt->type == JSON_OBJECT && (rc = parse_pre_tokenizer(tok, pt, err))) return rc;
    if (tok->model_type == TOK_MODEL_BPE && tok->pretok != TOK_PRE_BYTELEVEL)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "tokenizer.json: a BPE model needs the ByteLevel pre-tokenizer");
    if (pp && pp->type == JSON_OBJECT && (rc = parse_post_processor(tok, pp, err))) return rc;
    for (size_t i = 0; added && added->type == JSON_ARRAY && i < added->len; i++) {
        const json_value *t = &added->items[i], *id = json_get(t, "id");
        if (!json_is_int(id, 0, 2147483000.0))
            return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: added_tokens[%zu] has no valid \"id\"", i);
        if ((rc = parse_added_token(tok, t, err))) return rc;
    }
    const json_value *padding = json_get(root, "padding");
    const json_value *pad = json_get(padding, "pad_id");
    return finish_load(tok, json_is_int(pad, 0, 2147483000.0) ? (int32_t)pad->number : -1, err);
}

/* The document is freed before returning: the tokenizer copies what it keeps. */
int affect_tokenizer_from_json(affect_tokenizer **out, const char *json, size_t len, affect_error *err) {
    *out = NULL;
    json_doc *doc = NULL;
    int rc = json_parse(&doc, json, len, err);
    if (rc) return rc;
    affect_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for a tokenizer");
    else rc = from_json_root(tok, json_root(doc), err);
    json_free(doc);
    if (rc) { affect_tokenizer_free(tok); return rc; }
    *out = tok;
    return 0;
}

/* Reads dir/name into a NUL-terminated buffer; AFFECT_ENOTFOUND when it is absent. */
static int read_in_dir(const char *dir, const char *name, char **data, size_t *len, affect_error *err) {
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (k < 0 || (size_t)k >= sizeof path) return affect_fail(err, AFFECT_EARG, "path too long: %s/%s", dir, name);
    if (!affect_file_exists(path)) return affect_fail(err, AFFECT_ENOTFOUND, "%s not found", path);
    return affect_read_file(path, data, len, err);
}

/* Whether dir/name exists. */
static int has_file(const char *dir, const char *name) {
    char path[4096];
    int k = snprintf(path, sizeof path, "%s/%s", dir, name);
    return k > 0 && (size_t)k < sizeof path && affect_file_exists(path);
}

/* A folder's tokenizer_config.json (optional; a missing or unreadable one gives NULL). */
static json_doc *read_tokenizer_config(const char *dir) {
    char *data = NULL;
    size_t len = 0;
    json_doc *doc = NULL;
    if (read_in_dir(dir, "tokenizer_config.json", &data, &len, NULL) == 0) {
        if (json_parse(&doc, data, len, NULL)) doc = NULL;
    }
    free(data);
    return doc;
}

/* tokenizer_config.json's added_tokens_decoder ({"id": {AddedToken}}), which
 * transformers applies on top of the defaults. */
static int apply_added_tokens_decoder(affect_tokenizer *tok, const json_value *cfg, affect_error *err) {
    const json_value *dec = json_get(cfg, "added_tokens_decoder");
    for (size_t i = 0; dec && dec->type == JSON_OBJECT && i < dec->len; i++) {
        char *end;
        long id = strtol(dec->keys[i], &end, 10);
        if (*end || id < 0 || id > 2147483000L) continue;
        int rc = parse_added_token(tok, &dec->items[i], err);
        if (rc) return rc;
    }
    return 0;
}

/* vocab.txt alone: BertTokenizerFast as transformers converts it from the slow tokenizer
 * (BertNormalizer with tokenizer_config.json's do_lower_case / strip_accents /
 * tokenize_chinese_chars, BertPreTokenizer, [CLS] A [SEP], the five specials not
 * normalized). */
static int load_legacy_wordpiece(affect_tokenizer *tok, const char *dir, affect_error *err) {
    char *data = NULL;
    size_t len = 0;
    int rc = read_in_dir(dir, "vocab.txt", &data, &len, err);
    if (rc) return rc;
    tok->model_type = TOK_MODEL_WORDPIECE;
    rc = wordpiece_from_vocab_txt(&tok->wp, data, len, err);
    free(data);
    if (rc) return rc;
    json_doc *cfgdoc = read_tokenizer_config(dir);
    const json_value *cfg = cfgdoc ? json_root(cfgdoc) : NULL;
    tok->has_normalizer = 1;
    tok->norm.clean_text = 1;
    tok->norm.lowercase = json_get_bool(cfg, "do_lower_case", 1);
    tok->norm.handle_chinese_chars = json_get_bool(cfg, "tokenize_chinese_chars", 1);
    const json_value *sa = json_get(cfg, "strip_accents");
    tok->norm.strip_accents = (sa && sa->type == JSON_BOOL) ? sa->boolean : tok->norm.lowercase;
    tok->pretok = TOK_PRE_BERT;
    static const char *const specials[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    for (size_t i = 0; i < 5 && !rc; i++) {
        int32_t id = tok_vocab_find(&tok->wp->vocab, specials[i], strlen(specials[i]));
        if (id >= 0) rc = add_token(tok, specials[i], strlen(specials[i]), 0, 0, 0, 0, 1, err);
    }
    if (!rc) rc = apply_added_tokens_decoder(tok, cfg, err);
    json_free(cfgdoc);
    if (rc) return rc;
    int32_t cls = tok_vocab_find(&tok->wp->vocab, "[CLS]", 5), sep = tok_vocab_find(&tok->wp->vocab, "[SEP]", 5);
    if (cls < 0 || sep < 0) return affect_fail(err, AFFECT_EFORMAT, "%s/vocab.txt lacks [CLS] or [SEP]", dir);
    tok->prefix[0] = cls;
    tok->suffix[0] = sep;
    tok->n_prefix = tok->n_suffix = 1;
    return finish_load(tok, -1, err);
}

/* vocab.json + merges.txt: RobertaTokenizerFast's defaults (ByteLevel without a prefix
 * space, <s> A </s>, <mask> stripping the space before it). */
static int load_legacy_bpe(affect_tokenizer *tok, const char *dir, affect_error *err) {
    char *vocab = NULL, *merges = NULL;
    size_t vlen = 0, mlen = 0;
    int rc = read_in_dir(dir, "vocab.json", &vocab, &vlen, err);
    if (!rc) rc = read_in_dir(dir, "merges.txt", &merges, &mlen, err);
    if (!rc) {
        tok->model_type = TOK_MODEL_BPE;
        rc = bpe_model_from_files(&tok->bpe, vocab, vlen, merges, mlen, err);
    }
    free(vocab);
    free(merges);
    if (rc) return rc;
    bpe_set_pretokenizer(tok->bpe, 0, 1);
    tok->pretok = TOK_PRE_BYTELEVEL;
    static const char *const specials[] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
    for (size_t i = 0; i < 5 && !rc; i++) {
        int32_t id = bpe_token_to_id(tok->bpe, specials[i], strlen(specials[i]));
        if (id >= 0) rc = add_token(tok, specials[i], strlen(specials[i]), 0, i == 4, 0, 0, 1, err);
    }
    json_doc *cfgdoc = read_tokenizer_config(dir);
    if (!rc) rc = apply_added_tokens_decoder(tok, cfgdoc ? json_root(cfgdoc) : NULL, err);
    json_free(cfgdoc);
    if (rc) return rc;
    int32_t cls = bpe_token_to_id(tok->bpe, "<s>", 3), sep = bpe_token_to_id(tok->bpe, "</s>", 4);
    if (cls < 0 || sep < 0) return affect_fail(err, AFFECT_EFORMAT, "%s/vocab.json lacks <s> or </s>", dir);
    tok->prefix[0] = cls;
    tok->suffix[0] = sep;
    tok->n_prefix = tok->n_suffix = 1;
    return finish_load(tok, -1, err);
}

/* tokenizer.json wins; else the family (hint, or config.json's model_type, or the files
 * present) picks the legacy loader. */
int affect_tokenizer_load_dir(affect_tokenizer **out, const char *dir, const char *family_hint,
                              affect_error *err) {
    *out = NULL;
    if (!dir) return affect_fail(err, AFFECT_EARG, "tokenizer: NULL folder");
    if (has_file(dir, "tokenizer.json")) {
        char *data = NULL;
        size_t len = 0;
        int rc = read_in_dir(dir, "tokenizer.json", &data, &len, err);
        if (rc) return rc;
        rc = affect_tokenizer_from_json(out, data, len, err);
        free(data);
        if (rc && err) { /* name the file in the message */
            char msg[sizeof err->msg];
            snprintf(msg, sizeof msg, "%.200s/tokenizer.json: %.280s", dir, err->msg);
            memcpy(err->msg, msg, sizeof msg);
        }
        return rc;
    }
    /* no tokenizer.json: the family decides which legacy files to read */
    char hint[64] = "";
    if (family_hint) snprintf(hint, sizeof hint, "%s", family_hint);
    else {
        char *data = NULL;
        size_t len = 0;
        json_doc *doc = NULL;
        if (read_in_dir(dir, "config.json", &data, &len, NULL) == 0 && json_parse(&doc, data, len, NULL) == 0)
            snprintf(hint, sizeof hint, "%s", json_get_string(json_root(doc), "model_type", ""));
        json_free(doc);
        free(data);
    }
    int bpe;
    if (!strcmp(hint, "roberta")) bpe = 1;
    else if (!strcmp(hint, "bert") || !strcmp(hint, "distilbert")) bpe = 0;
    else if (has_file(dir, "vocab.txt")) bpe = 0;
    else if (has_file(dir, "vocab.json") && has_file(dir, "merges.txt")) bpe = 1;
    else return affect_fail(err, AFFECT_ENOTFOUND, "%s has no tokenizer.json, vocab.txt or vocab.json + merges.txt", dir);
    affect_tokenizer *tok = calloc(1, sizeof *tok);
    if (!tok) return affect_fail(err, AFFECT_ENOMEM, "out of memory for a tokenizer");
    int rc = bpe ? load_legacy_bpe(tok, dir, err) : load_legacy_wordpiece(tok, dir, err);
    if (rc) { affect_tokenizer_free(tok); return rc; }
    *out = tok;
    return 0;
}
