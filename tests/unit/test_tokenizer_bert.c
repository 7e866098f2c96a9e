/* BertNormalizer, BertPreTokenizer and WordPiece (src/core/tokenize/bert_normalizer.c,
 * wordpiece.c) and the front-end around them (tokenizer.c: added tokens, post-processing,
 * truncation, batching), on a small hand-made vocabulary. Expected normalizations are those
 * of Hugging Face tokenizers 0.23.2 (checked with the npm package); ids follow from the tiny
 * vocabulary below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "affect.h"
#include "tokenize/bert_normalizer.h"
#include "tokenize/tokenizer_internal.h"
#include "tokenize/wordpiece.h"

#include "check.h"

static void check_norm_n(const bert_normalizer *bn, const char *in, size_t inlen, const char *want) {
    norm_buf nb = {0};
    affect_error err = {0};
    int rc = bert_normalize(bn, in, inlen, &nb, &err);
    CHECK(rc == 0 && nb.len == strlen(want) && !memcmp(nb.out, want, nb.len),
          "normalize(\"%s\") = \"%s\", want \"%s\"", in, rc ? err.msg : nb.out, want);
    norm_buf_free(&nb);
}

static void check_norm(const bert_normalizer *bn, const char *in, const char *want) {
    check_norm_n(bn, in, strlen(in), want);
}

static void test_normalizer(void) {
    bert_normalizer uncased = {1, 1, 1, 1}, cased = {1, 1, 0, 0}, lower_only = {1, 1, 0, 1};
    check_norm(&uncased, "Caf\xC3\xA9 Na\xC3\xAFve \xC3\x85NGSTR\xC3\x96M", "cafe naive angstrom");
    check_norm(&cased, "Caf\xC3\xA9", "Caf\xC3\xA9");
    /* CJK ideographs get spaces around them; kana do not */
    check_norm(&uncased, "\xE5\x8C\x97\xE4\xBA\xAC\xE3\x81\x82x", " \xE5\x8C\x97  \xE4\xBA\xAC \xE3\x81\x82x");
    /* control chars vanish (NUL, U+FFFD, BEL, soft hyphen, ZWSP, BOM, private use), whitespace
     * (tab, LF, CR, NBSP, ideographic space) becomes ' ', but U+0085 (a control) vanishes */
    static const char ctl[] = "a\x00" "b\xEF\xBF\xBD" "c\x07\xC2\xAD\xE2\x80\x8B\xEF\xBB\xBF\xEE\x80\x80" "d";
    check_norm_n(&cased, ctl, sizeof ctl - 1, "abcd");
    check_norm(&cased, "a\tb\nc\rd\xC2\xA0" "e\xE3\x80\x80" "f\xC2\x85g", "a b c d e fg");
    /* Turkish dotted I: NFD gives I + U+0307, the mark is stripped, then lowercased */
    check_norm(&uncased, "\xC4\xB0stanbul", "istanbul");
    /* without accent stripping, Rust's to_lowercase maps U+0130 to i + U+0307 */
    check_norm(&lower_only, "\xC4\xB0", "i\xCC\x87");
    /* U+0903 (Devanagari visarga, a spacing mark) is not stripped in the oracle */
    check_norm(&uncased, "a\xE0\xA4\x83", "a\xE0\xA4\x83");
    /* Hangul syllables decompose to jamo under NFD */
    check_norm(&uncased, "\xED\x95\x9C", "\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB");
    /* invalid UTF-8 reads as U+FFFD, which clean_text drops */
    check_norm(&uncased, "a\xFF" "b\xE2\x82", "ab");
}

static void test_pretokenizer(void) {
    const char *s = "  Hello,world!! it's \xE2\x80\x9C" "ok\xE2\x80\x9D\xE3\x80\x80" "end";
    const char *want[] = {"Hello", ",", "world", "!", "!", "it", "'", "s", "\xE2\x80\x9C", "ok", "\xE2\x80\x9D", "end"};
    size_t pos = 0, start, wlen, k = 0;
    while (bert_pretok_next(s, strlen(s), &pos, &start, &wlen)) {
        CHECK(k < 12 && wlen == strlen(want[k]) && !memcmp(s + start, want[k], wlen), "word %zu is '%.*s'", k, (int)wlen, s + start);
        k++;
    }
    CHECK(k == 12, "%zu words, want 12", k);
}

/* A tiny BERT tokenizer.json: ids 0..4 are the specials (as in BERT, not in order). */
static const char *tiny_json(void) {
    return "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,"
           "\"added_tokens\":["
           "{\"id\":0,\"content\":\"[PAD]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
           "{\"id\":1,\"content\":\"[UNK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
           "{\"id\":2,\"content\":\"[CLS]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
           "{\"id\":3,\"content\":\"[SEP]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true},"
           "{\"id\":4,\"content\":\"[MASK]\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],"
           "\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,\"handle_chinese_chars\":true,\"strip_accents\":null,\"lowercase\":true},"
           "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},"
           "\"post_processor\":{\"type\":\"TemplateProcessing\","
           "\"single\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}}],"
           "\"pair\":[],\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[2],\"tokens\":[\"[CLS]\"]},\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[3],\"tokens\":[\"[SEP]\"]}}},"
           "\"decoder\":null,"
           "\"model\":{\"type\":\"WordPiece\",\"unk_token\":\"[UNK]\",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,"
           "\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"[MASK]\":4,\"un\":5,\"##aff\":6,\"##able\":7,"
           "\"hello\":8,\",\":9,\"x\":10,\"##x\":11,\"cafe\":12,\"!\":13,\"a\":14,\"##a\":15,\"\xE5\x8C\x97\":16}}}";
}

static void check_ids(const affect_tokenizer *tok, const char *text, size_t len, int max_length,
                      const int32_t *want, size_t nwant, const char *what) {
    int32_t *ids = NULL;
    size_t n = 0;
    affect_error err = {0};
    int rc = affect_tokenizer_encode(tok, text, len, max_length, &ids, &n, &err);
    int same = rc == 0 && n == nwant && (n == 0 || !memcmp(ids, want, n * sizeof *ids));
    if (!same && rc == 0) {
        fprintf(stderr, "  got:");
        for (size_t k = 0; k < n; k++) fprintf(stderr, " %d", (int)ids[k]);
        fprintf(stderr, "\n");
    }
    CHECK(same, "%s (rc=%d %s)", what, rc, err.msg);
    free(ids);
}

#define IDS(tok, text, maxlen, what, ...)                                           \
    do {                                                                            \
        static const int32_t w[] = {__VA_ARGS__};                                   \
        check_ids(tok, text, strlen(text), maxlen, w, sizeof w / sizeof w[0], what); \
    } while (0)

static void test_wordpiece_and_frontend(void) {
    affect_tokenizer *tok = NULL;
    affect_error err = {0};
    const char *js = tiny_json();
    int rc = affect_tokenizer_from_json(&tok, js, strlen(js), &err);
    CHECK(rc == 0, "load tiny tokenizer.json: %s", err.msg);
    if (rc) return;
    CHECK(affect_tokenizer_vocab_size(tok) == 17, "vocab size %d", affect_tokenizer_vocab_size(tok));
    CHECK(affect_tokenizer_pad_id(tok) == 0, "pad id");
    const char *t = affect_tokenizer_id_to_token(tok, 6);
    CHECK(t && !strcmp(t, "##aff"), "id_to_token(6)");
    CHECK(affect_tokenizer_id_to_token(tok, 17) == NULL && affect_tokenizer_id_to_token(tok, -1) == NULL, "id_to_token out of range");

    IDS(tok, "UnAffable", 0, "## pieces", 2, 5, 6, 7, 3);
    IDS(tok, "unaffablez hello", 0, "a word with no full cover is one [UNK]", 2, 1, 8, 3);
    IDS(tok, "Hello, CAF\xC3\x89!", 0, "punctuation and accents", 2, 8, 9, 12, 13, 3);
    IDS(tok, "", 0, "empty text", 2, 3);
    IDS(tok, "\xE5\x8C\x97x", 0, "CJK split off", 2, 16, 10, 3);
    /* 100 chars is allowed (x ##x ...), 101 is [UNK] */
    char longw[102];
    memset(longw, 'x', 101);
    longw[101] = 0;
    int32_t want[102];
    want[0] = 2;
    want[1] = 10;
    for (int k = 2; k <= 100; k++) want[k] = 11;
    want[101] = 3;
    check_ids(tok, longw, 100, 0, want, 102, "100-char word");
    IDS(tok, longw, 0, "101-char word is [UNK]", 2, 1, 3);

    /* added tokens are matched in the raw text, before lowercasing */
    IDS(tok, "hello [MASK] x[SEP]a", 0, "special tokens typed by the user", 2, 8, 4, 10, 3, 14, 3);
    IDS(tok, "[mask]", 0, "lowercase [mask] is not the special token", 2, 1, 1, 1, 3);
    IDS(tok, "[[CLS]]", 0, "special token inside brackets", 2, 1, 2, 1, 3);

    /* truncation keeps room for [CLS] and [SEP] */
    IDS(tok, "hello hello hello hello", 4, "truncated to 4", 2, 8, 8, 3);
    IDS(tok, "hello hello", 2, "truncated to the specials only", 2, 3);
    IDS(tok, "hello", 10, "no truncation needed", 2, 8, 3);
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(affect_tokenizer_encode(tok, "hello", 5, 1, &ids, &n, &err) == AFFECT_EARG && !ids,
          "max_length below the number of specials is an argument error");

    /* batch: padded to the longest row, mask 1 on real tokens */
    const char *texts[3] = {"hello", "un affable hello hello", ""};
    size_t lens[3] = {5, strlen(texts[1]), 0};
    affect_batch b;
    rc = affect_tokenizer_encode_batch(tok, texts, lens, 3, 0, 0, &b, &err);
    CHECK(rc == 0 && b.B == 3 && b.T == 6, "batch shape %dx%d (%s)", b.B, b.T, err.msg);
    if (rc == 0 && b.T == 6) { /* "affable" cannot start a word: [UNK] */
        static const int32_t wids[18] = {2, 8, 3, 0, 0, 0, 2, 5, 1, 8, 8, 3, 2, 3, 0, 0, 0, 0};
        static const int32_t wmask[18] = {1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
        CHECK(!memcmp(b.ids, wids, sizeof wids), "batch ids");
        CHECK(!memcmp(b.mask, wmask, sizeof wmask), "batch mask");
        CHECK(b.lens[0] == 3 && b.lens[1] == 6 && b.lens[2] == 2, "batch lens");
    }
    affect_batch_free(&b);
    rc = affect_tokenizer_encode_batch(tok, texts, lens, 3, 5, 1, &b, &err);
    CHECK(rc == 0 && b.T == 5 && b.lens[1] == 5 && b.ids[5 + 4] == 3 && b.ids[5 + 3] == 8 && b.mask[4] == 0 && b.ids[4] == 0,
          "batch padded to max_length 5 with truncation");
    affect_batch_free(&b);
    rc = affect_tokenizer_encode_batch(tok, texts, lens, 0, 0, 0, &b, &err);
    CHECK(rc == 0 && b.B == 0, "empty batch");
    affect_batch_free(&b);
    affect_tokenizer_free(tok);
}

/* Options of added tokens, and ids given to new ones, on top of the tiny tokenizer. */
static void test_added_token_options(void) {
    const char *base = tiny_json();
    const char *extra =
        "{\"id\":99,\"content\":\"<foo>\",\"single_word\":false,\"lstrip\":true,\"rstrip\":true,\"normalized\":false,\"special\":true},"
        "{\"id\":98,\"content\":\"bar\",\"single_word\":true,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":false},"
        "{\"id\":97,\"content\":\"Hello World\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":true,\"special\":false},";
    const char *at = strstr(base, "\"added_tokens\":[") + strlen("\"added_tokens\":[");
    size_t pre = (size_t)(at - base);
    char *js = malloc(strlen(base) + strlen(extra) + 1);
    if (!js) { CHECK(0, "oom"); return; }
    memcpy(js, base, pre);
    strcpy(js + pre, extra);
    strcat(js, at);
    affect_tokenizer *tok = NULL;
    affect_error err = {0};
    int rc = affect_tokenizer_from_json(&tok, js, strlen(js), &err);
    free(js);
    CHECK(rc == 0, "load: %s", err.msg);
    if (rc) return;
    /* new tokens take the next ids after the vocabulary (17, 18, 19), whatever the file says */
    const char *t17 = affect_tokenizer_id_to_token(tok, 17), *t19 = affect_tokenizer_id_to_token(tok, 19);
    CHECK(t17 && !strcmp(t17, "<foo>") && t19 && !strcmp(t19, "Hello World"), "ids of new added tokens");
    CHECK(affect_tokenizer_vocab_size(tok) == 20, "vocab size with added tokens");
    IDS(tok, "x  <foo>  x", 0, "lstrip/rstrip eat the spaces", 2, 10, 17, 10, 3);
    IDS(tok, "bar xbar", 0, "single_word matches only a whole word", 2, 18, 1, 3);
    IDS(tok, "HELLO   world!", 0, "normalized token: the pattern has one space", 2, 8, 1, 13, 3);
    IDS(tok, "hello WORLD!", 0, "normalized token matches the lowercased text", 2, 19, 13, 3);
    affect_tokenizer_free(tok);
}

/* max_input_chars_per_word counts characters, not bytes. */
static void test_wordpiece_chars(void) {
    wordpiece_model *m = NULL;
    affect_error err = {0};
    const char vocab[] = "[UNK]\n\xC3\xA9\r\n##\xC3\xA9\n";
    int rc = wordpiece_from_vocab_txt(&m, vocab, sizeof vocab - 1, &err);
    CHECK(rc == 0 && m->unk_id == 0, "vocab.txt with CRLF: %s", err.msg);
    if (rc) return;
    char w[202];
    for (int k = 0; k < 101; k++) memcpy(w + 2 * k, "\xC3\xA9", 2);
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    rc = wordpiece_encode_word(m, w, 200, &ids, &n, &cap, &err);
    CHECK(rc == 0 && n == 100 && ids[0] == 1 && ids[99] == 2, "100 two-byte chars: %zu pieces", n);
    n = 0;
    rc = wordpiece_encode_word(m, w, 202, &ids, &n, &cap, &err);
    CHECK(rc == 0 && n == 1 && ids[0] == 0, "101 two-byte chars are [UNK]");
    free(ids);
    wordpiece_free(m);
}

static void test_bad_json(void) {
    affect_tokenizer *tok = NULL;
    affect_error err = {0};
    const char *bad[] = {
        "{}",
        "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}",
        "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":-1}}}",
        "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}},\"normalizer\":{\"type\":\"NFKC\"}}",
        "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0,\"b\":0}}}",
        "{\"model\":{\"type\":\"WordPiece\",\"vocab\":{\"a\":0}},\"post_processor\":{\"type\":\"BertProcessing\",\"sep\":[\"a\"]}}",
        "[1,2",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        int rc = affect_tokenizer_from_json(&tok, bad[i], strlen(bad[i]), &err);
        CHECK(rc != 0 && tok == NULL && err.msg[0], "bad tokenizer.json #%zu accepted", i);
    }
}

int main(void) {
    test_normalizer();
    test_pretokenizer();
    test_wordpiece_and_frontend();
    test_added_token_options();
    test_wordpiece_chars();
    test_bad_json();
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("ok\n");
    return 0;
}
