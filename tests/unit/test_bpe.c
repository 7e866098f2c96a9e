/* Byte-level BPE (src/core/tokenize/bpe.c + gpt2_pretokenize.c) against Hugging Face
 * tokenizers. Every expected id below came from the Rust oracle, tokenizers 0.23.2 via npm
 * (tests/oracles/node_modules), with roberta-base's tokenizer.json; the <s>/</s> it adds
 * around each encoding were removed, as bpe_encode does not add them. Both loaders (the
 * tokenizer.json "model" object and legacy vocab.json + merges.txt) must give these ids. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize/bpe.h"
#include "util/blob.h"
#include "util/json.h"

#include "check.h"

typedef struct {
    const char *text;
    int32_t ids[32];
    size_t n;
} bpe_case;

/* From tokenizers 0.23.2 (npm), roberta-base tokenizer.json, specials stripped. */
static const bpe_case cases[] = {
    /* two spaces, emoji, accented letter */
    {"Hello  world!!  \xf0\x9f\x98\x80 na\xc3\xafve", {31414, 1437, 232, 12846, 1437, 17841, 7471, 39300}, 8},
    /* whitespace run before a word keeps its last space */
    {"a   b", {102, 1437, 1437, 741}, 4},
    /* lowercase contractions */
    {"I'm sure they'll say you've done it, didn't we'd\x3f They're here.", {100, 437, 686, 51, 581, 224, 47, 348, 626, 24, 6, 399, 75, 52, 1017, 116, 252, 214, 259, 4}, 20},
    /* uppercase contractions are not contractions */
    {"IT'S HE'LL 'S 'LL 'Re 'VE", {2068, 108, 104, 12925, 108, 6006, 128, 104, 128, 6006, 128, 9064, 128, 8856}, 14},
    /* digits are runs of \p{N}, split from letters */
    {"Digits 1234567890 and 3.14159, 2024-01-01 x2y", {42501, 2629, 17072, 1898, 37628, 3248, 8, 155, 4, 1570, 27129, 6, 15294, 12, 2663, 12, 2663, 3023, 176, 219}, 20},
    /* ZWJ family, skin tone, VS16, flag */
    {"\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7 \xf0\x9f\x91\x8d\xf0\x9f\x8f\xbd \xe2\x9d\xa4\xef\xb8\x8f \xf0\x9f\x87\xab\xf0\x9f\x87\xb7", {31193, 11423, 17, 8384, 31193, 15375, 17, 8384, 31193, 6248, 26964, 8384, 6569, 9357, 10809, 28775, 10470, 12605, 8103, 6382, 4958, 6569, 6382, 18400}, 24},
    /* CJK and ideographic punctuation */
    {"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88\xe3\x80\x81\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6\xe3\x80\x82", {47954, 8210, 44636, 11582, 48537, 17772, 48018, 49312, 49587, 49615, 47341, 47643, 47240, 6382, 48823, 6800, 36714, 11582, 18164, 45682}, 20},
    /* precomposed and combining accents */
    {"Cr\xc3\xa8me br\xc3\xbbl\xc3\xa9""e \xc3\xa0 la fa\xc3\xa7on de Zo\xc3\xab, cafe\xcc\x81", {29792, 8025, 1794, 5378, 27564, 462, 9703, 6534, 897, 18363, 3381, 261, 263, 25391, 105, 6, 16381, 44025, 10172}, 19},
    /* newlines, CRLF, tab */
    {"line1\x0aline2\x0d\x0a\x09indented\x0a\x0a\x0a""end", {1902, 134, 50118, 1902, 176, 50121, 50118, 50117, 2028, 9663, 50140, 50118, 1397}, 13},
    /* leading spaces */
    {"   leading spaces", {1437, 1437, 981, 5938}, 4},
    /* trailing spaces (end of text: the whole run) */
    {"trailing   ", {9738, 7022, 1437, 1437, 1437}, 5},
    /* whitespace only */
    {" \x09\x0a ", {1437, 50117, 50118, 1437}, 4},
    /* NBSP and U+3000 are \s */
    {"a\xc2\xa0""b\xe3\x80\x80\xe3\x80\x80""c \xc2\xa0""d", {102, 50141, 428, 48516, 7471, 48516, 7471, 438, 1437, 50141, 417}, 11},
    /* apostrophe runs */
    {"''s'''s 's", {17809, 29, 17809, 108, 29, 128, 29}, 7},
    /* Cyrillic, Arabic, Devanagari (marks are not \p{L}) */
    {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80 \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7 \xe0\xa4\xa8\xe0\xa4\xae\xe0\xa4\xb8\xe0\xa5\x8d\xe0\xa4\xa4\xe0\xa5\x87", {25417, 4333, 24269, 35328, 42907, 25482, 35555, 18697, 4394, 35328, 24269, 42620, 29434, 21593, 12410, 41117, 29438, 22214, 11423, 14238, 2840, 14238, 18537, 22919, 8384, 14238, 10470, 22919, 6382}, 29},
    /* punctuation runs with a leading space */
    {" ...!!!\x3f\x3f\x3f --- *** @user #tag", {1666, 16506, 38713, 21394, 19246, 787, 12105, 849, 10058}, 9},
    /* Nl, No, Nd outside ASCII */
    {"\xe2\x85\xab \xc2\xbd \xc2\xb2 \xd9\xa3 x\xc2\xb2", {24987, 5782, 4958, 18430, 5505, 14292, 36963, 2469, 3023, 40632}, 10},
    /* Unicode 15.1/16.0 letter and digits (Oniguruma's tables) */
    {"\xf0\xae\xaf\xb0's \xf0\x90\xb5\x80\xf0\x90\xb5\x81", {49585, 2840, 10965, 7487, 18, 1437, 49585, 16948, 8906, 7471, 49585, 16948, 8906, 10172}, 14},
    /* one letter */
    {"a", {102}, 1},
    /* one space */
    {" ", {1437}, 1},
    /* long words */
    {"supercalifragilisticexpialidocious antidisestablishmentarianism", {16101, 11762, 1594, 18937, 718, 661, 2463, 44813, 2617, 808, 42148, 9876, 22831, 30439, 9063, 1809}, 16},
    /* controls, ZWSP, U+180E (not \s) */
    {"\x01\x1f\x7f\xe2\x80\x8b\xe1\xa0\x8e", {50109, 50139, 49802, 13635, 1376, 21402, 12736}, 7},
    /* U+2028, U+0085, VT, FF are \s */
    {"\xe2\x80\xa8 \xc2\x85x\x0b\x0cy", {17, 11423, 1437, 4056, 5782, 1178, 50119, 50120, 219}, 9},
};

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "  %s (%zu):", label, n);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "\n");
}

static void check_cases(const bpe_model *m, const char *which) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    affect_error err = {0, {0}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        n = 0;
        int rc = bpe_encode(m, cases[c].text, strlen(cases[c].text), &ids, &n, &cap, &err);
        CHECK(rc == 0, "%s: case %zu: encode failed: %s", which, c, err.msg);
        if (rc) continue;
        int same = n == cases[c].n && !memcmp(ids, cases[c].ids, n * sizeof *ids);
        CHECK(same, "%s: case %zu ids differ from the oracle", which, c);
        if (!same) {
            print_ids("expected", cases[c].ids, cases[c].n);
            print_ids("got", ids, n);
        }
    }
    free(ids);
}

/* Long single words: the merge loop must stay O(n log n) and still be exact. The oracle's
 * count, first id and a rolling hash of all ids (h = h*1000003 + id mod 2^32). */
static void check_long(const bpe_model *m) {
    static const struct {
        const char *unit;
        size_t reps;
        const char *tail;
        size_t n;
        uint32_t hash;
        int32_t first;
    } longs[] = {
        {"a", 10000, "", 2500, 2838105568u, 44172},
        {"ab", 5000, "", 5000, 1695688016u, 873},
        {" ", 9999, "x", 9999, 2429185011u, 1437},
        {"\xf0\x9f\x98\x80", 2500, "", 5000, 3226705436u, 18636},
    };
    for (size_t k = 0; k < sizeof longs / sizeof longs[0]; k++) {
        size_t ul = strlen(longs[k].unit), tl = strlen(longs[k].tail), len = ul * longs[k].reps + tl;
        char *text = malloc(len + 1);
        CHECK(text != NULL, "out of memory");
        if (!text) return;
        for (size_t r = 0; r < longs[k].reps; r++) memcpy(text + r * ul, longs[k].unit, ul);
        memcpy(text + ul * longs[k].reps, longs[k].tail, tl + 1);
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        affect_error err = {0, {0}};
        int rc = bpe_encode(m, text, len, &ids, &n, &cap, &err);
        CHECK(rc == 0, "long %zu: %s", k, err.msg);
        uint64_t h = 0;
        for (size_t i = 0; i < n; i++) h = (h * 1000003u + (uint32_t)ids[i]) % 4294967296u;
        CHECK(n == longs[k].n && (uint32_t)h == longs[k].hash && n && ids[0] == longs[k].first,
              "long %zu: got %zu ids hash %u first %d, oracle %zu ids hash %u first %d", k, n,
              (unsigned)h, n ? ids[0] : -1, longs[k].n, longs[k].hash, longs[k].first);
        free(ids);
        free(text);
    }
}

static void check_vocab(const bpe_model *m, const char *which) {
    CHECK(bpe_vocab_size(m) == 50265, "%s: vocab size %d", which, bpe_vocab_size(m));
    const char *t0 = bpe_id_to_token(m, 0), *t = bpe_id_to_token(m, 31414);
    CHECK(t0 && !strcmp(t0, "<s>"), "%s: id 0 is %s", which, t0 ? t0 : "NULL");
    CHECK(t && !strcmp(t, "Hello"), "%s: id 31414 is %s", which, t ? t : "NULL");
    t = bpe_id_to_token(m, 50264);
    CHECK(t && !strcmp(t, "<mask>"), "%s: id 50264 is %s", which, t ? t : "NULL");
    CHECK(bpe_id_to_token(m, 50265) == NULL && bpe_id_to_token(m, -1) == NULL,
          "%s: out-of-range ids must give NULL", which);
    CHECK(bpe_token_to_id(m, "\xc4\xa0world", 7) == 232, "%s: \"Gworld\" id", which);
    CHECK(bpe_token_to_id(m, "Hello", 5) == 31414, "%s: Hello id", which);
    CHECK(bpe_token_to_id(m, "Hellox", 5) == 31414, "%s: length must be honoured", which);
    CHECK(bpe_token_to_id(m, "not-a-token-at-all", 18) == -1, "%s: absent token", which);
}

/* The vector is appended to, never reset; empty text appends nothing. */
static void check_append(const bpe_model *m) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    affect_error err = {0, {0}};
    CHECK(bpe_encode(m, "Hello", 5, &ids, &n, &cap, &err) == 0 && n == 1, "append 1");
    CHECK(bpe_encode(m, " world", 6, &ids, &n, &cap, &err) == 0 && n == 2, "append 2");
    CHECK(bpe_encode(m, "", 0, &ids, &n, &cap, &err) == 0 && n == 2, "empty appends nothing");
    CHECK(n == 2 && ids[0] == 31414 && ids[1] == 232, "appended ids");
    free(ids);
}

static int encode_eq(const bpe_model *m, const char *text, const int32_t *want, size_t nwant) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    affect_error err = {0, {0}};
    int ok = bpe_encode(m, text, strlen(text), &ids, &n, &cap, &err) == 0 && n == nwant &&
             (n == 0 || !memcmp(ids, want, n * sizeof *ids));
    if (!ok) {
        fprintf(stderr, "  text \"%s\": %s\n", text, err.msg);
        print_ids("expected", want, nwant);
        print_ids("got", ids, n);
    }
    free(ids);
    return ok;
}

/* ByteLevel options other than RoBERTa's (oracle: the same tokenizer.json with the option
 * changed). */
static void check_pretokenizer_options(bpe_model *m) {
    bpe_set_pretokenizer(m, 1, 1);
    CHECK(encode_eq(m, "Hello world", (const int32_t[]){20920, 232}, 2), "add_prefix_space");
    CHECK(encode_eq(m, " Hello", (const int32_t[]){20920}, 1), "add_prefix_space, has one");
    bpe_set_pretokenizer(m, 0, 0);
    CHECK(encode_eq(m, "Hello world", (const int32_t[]){31414, 232}, 2), "use_regex=false");
    CHECK(encode_eq(m, "don't  stop", (const int32_t[]){7254, 75, 1437, 912}, 4),
          "use_regex=false, one word");
    bpe_set_pretokenizer(m, 0, 1);
}

static bpe_model *model_from_json_text(const char *json, int *rc, affect_error *err) {
    json_doc *doc = NULL;
    bpe_model *m = NULL;
    *rc = json_parse(&doc, json, strlen(json), err);
    if (!*rc) *rc = bpe_model_from_json(&m, json_root(doc), err);
    json_free(doc);
    return m;
}

#define SMALL_VOCAB \
    "\"vocab\":{\"a\":0,\"b\":1,\"c\":2,\"ab\":3,\"bc\":4,\"abc\":5,\"<unk>\":6,\"<0x64>\":7," \
    "\"\\u0120\":8,\"\\u0120a\":9}"

/* Small models whose behaviour the oracle showed (tokenizers 0.23.2, same JSON): merge
 * ranks, unk and fuse_unk, byte fallback (and where a pending unk lands), the
 * continuing-subword prefix, ignore_merges, dropped bytes without unk. */
static void check_small_models(void) {
    static const struct {
        const char *json;
        const char *text;
        int32_t ids[8];
        size_t n;
    } t[] = {
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\",\"a bc\",\"\\u0120 a\"]}",
         "abc", {5}, 1},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\",\"a bc\",\"\\u0120 a\"]}",
         "abab", {3, 3}, 2},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[[\"b\",\"c\"],[\"a\",\"b\"],[\"a\",\"bc\"],"
         "[\"\\u0120\",\"a\"]]}", "cab a", {2, 3, 9}, 3},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"#version: 0.2\",\"b c\",\"a b\",\"a bc\"]}",
         "abcd", {5}, 1},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\"],\"unk_token\":\"<unk>\"}",
         "adda", {0, 6, 6, 0}, 4},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\"],\"unk_token\":\"<unk>\"}",
         "xyzab", {6, 6, 6, 3}, 4},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\"],\"unk_token\":\"<unk>\","
         "\"fuse_unk\":true}", "adda", {0, 6, 0}, 3},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\"],\"unk_token\":\"<unk>\","
         "\"fuse_unk\":true}", "xyzab", {6, 3}, 2},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\"],\"unk_token\":\"<unk>\","
         "\"byte_fallback\":true}", "adda", {0, 7, 7, 0}, 4},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b c\",\"a b\"],\"unk_token\":\"<unk>\","
         "\"byte_fallback\":true}", "xdyd", {7, 6, 7, 6}, 4},
        {"{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"##b\":1,\"##c\":2,\"ab\":3,\"ab##c\":4,\"abc</w>\":5,"
         "\"##c</w>\":6,\"b\":7,\"c</w>\":8,\"abc\":9},\"merges\":[\"a ##b\"],"
         "\"continuing_subword_prefix\":\"##\"}", "abc", {3, 2}, 2},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[],\"ignore_merges\":true}", "abc", {5}, 1},
        {"{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[],\"dropout\":null,\"unk_token\":null}", "d",
         {0}, 0},
    };
    for (size_t k = 0; k < sizeof t / sizeof t[0]; k++) {
        affect_error err = {0, {0}};
        int rc;
        bpe_model *m = model_from_json_text(t[k].json, &rc, &err);
        CHECK(rc == 0 && m, "small model %zu: load failed: %s", k, err.msg);
        if (m) CHECK(encode_eq(m, t[k].text, t[k].ids, t[k].n), "small model %zu", k);
        bpe_model_free(m);
    }
}

static void expect_json_error(const char *json, int code, const char *needle) {
    affect_error err = {0, {0}};
    int rc;
    bpe_model *m = model_from_json_text(json, &rc, &err);
    CHECK(rc == code && m == NULL, "model %s: rc %d (want %d)", json, rc, code);
    CHECK(strstr(err.msg, needle) != NULL, "model %s: message \"%s\" lacks \"%s\"", json, err.msg,
          needle);
    bpe_model_free(m);
}

static void expect_files_error(const char *v, size_t vl, const char *mg, size_t ml,
                               const char *needle, const char *what) {
    affect_error err = {0, {0}};
    bpe_model *m = NULL;
    int rc = bpe_model_from_files(&m, v, vl, mg, ml, &err);
    CHECK(rc == AFFECT_EFORMAT && m == NULL, "%s: rc %d, want AFFECT_EFORMAT", what, rc);
    CHECK(strstr(err.msg, needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what, err.msg, needle);
    bpe_model_free(m);
}

/* Rust rejects a merge whose parts or result are not in the vocab ("Token `x` out of
 * vocabulary"), a merge line that is not exactly two parts, and ids that are not u32. */
static void check_errors(const char *vocab, size_t vlen, const char *merges, size_t mlen) {
    expect_json_error("{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"x b\"]}", AFFECT_EFORMAT,
                      "\"x\"");
    expect_json_error("{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"b a\"]}", AFFECT_EFORMAT,
                      "\"ba\"");
    expect_json_error("{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[\"a b c\"]}", AFFECT_EFORMAT,
                      "merges[0]");
    expect_json_error("{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[[\"a\"]]}", AFFECT_EFORMAT,
                      "merges[0]");
    expect_json_error("{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}", AFFECT_EFORMAT,
                      "\"a\"");
    expect_json_error("{\"type\":\"BPE\",\"vocab\":{\"a\":1.5},\"merges\":[]}", AFFECT_EFORMAT,
                      "\"a\"");
    expect_json_error("{\"type\":\"BPE\",\"vocab\":[],\"merges\":[]}", AFFECT_EFORMAT, "vocab");
    expect_json_error("{\"type\":\"BPE\"," SMALL_VOCAB "}", AFFECT_EFORMAT, "merges");
    expect_json_error("{\"type\":\"WordPiece\"," SMALL_VOCAB ",\"merges\":[]}",
                      AFFECT_EUNSUPPORTED, "WordPiece");
    expect_json_error("{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[],\"dropout\":0.1}",
                      AFFECT_EUNSUPPORTED, "dropout");
    expect_json_error("{\"type\":\"BPE\",\"vocab\":{\"a\":4294967295},\"merges\":[]}",
                      AFFECT_EUNSUPPORTED, "\"a\"");
    {   /* an unk token missing from the vocab fails when it is needed, as in Rust */
        affect_error err = {0, {0}};
        int rc;
        bpe_model *m = model_from_json_text(
            "{\"type\":\"BPE\"," SMALL_VOCAB ",\"merges\":[],\"unk_token\":\"<nope>\"}", &rc, &err);
        CHECK(rc == 0 && m, "unk not in vocab must load: %s", err.msg);
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        CHECK(m && bpe_encode(m, "ab", 2, &ids, &n, &cap, &err) == 0 && n == 2, "known bytes");
        CHECK(m && bpe_encode(m, "x", 1, &ids, &n, &cap, &err) == AFFECT_EFORMAT &&
                  strstr(err.msg, "<nope>"), "unknown byte with a missing unk: %s", err.msg);
        free(ids);
        bpe_model_free(m);
    }

    /* legacy files: malformed and truncated vocab.json, bad and truncated merges.txt */
    const char *mg = "#version: 0.2\na b\n";
    expect_files_error("{\"a\":0,\"b\":1,", 13, mg, strlen(mg), "vocab.json", "malformed vocab");
    expect_files_error(vocab, vlen / 2, merges, mlen, "vocab.json", "truncated vocab.json");
    expect_files_error("[0,1]", 5, mg, strlen(mg), "vocab.json", "vocab not an object");
    expect_files_error("{\"a\":0,\"b\":1}", 13, mg, strlen(mg), "\"ab\"", "merge result unknown");
    const char *mg2 = "#version: 0.2\na b\n\nb  a\n";
    expect_files_error("{\"a\":0,\"b\":1,\"ab\":2}", 20, mg2, strlen(mg2), "line 4",
                       "double space");
    /* cut merges.txt inside line 1000, just after its first token: that line has no space */
    size_t line = 1, cut = 0;
    for (size_t i = 0; i < mlen && !cut; i++)
        if (merges[i] == '\n' && ++line == 1000) {
            const char *sp = memchr(merges + i + 1, ' ', mlen - i - 1);
            cut = sp ? (size_t)(sp - merges) : 0;
        }
    CHECK(cut > 0, "merges.txt has fewer than 1000 lines");
    if (cut) expect_files_error(vocab, vlen, merges, cut, "line 1000", "truncated merges.txt");

    /* CRLF line ends and blank lines are fine */
    const char *mg3 = "#version: 0.2\r\n\r\na b\r\n";
    bpe_model *m = NULL;
    affect_error err = {0, {0}};
    CHECK(bpe_model_from_files(&m, "{\"a\":0,\"b\":1,\"ab\":2}", 20, mg3, strlen(mg3), &err) == 0,
          "CRLF merges: %s", err.msg);
    if (m) CHECK(encode_eq(m, "ab", (const int32_t[]){2}, 1), "CRLF merges encode");
    bpe_model_free(m);
}

static char *read_shared(const char *name, size_t *len) {
    const char *shared = getenv("AFFECT_SHARED");
    char path[4096];
    snprintf(path, sizeof path, "%s/models/roberta-base/%s", shared, name);
    char *data = NULL;
    affect_error err = {0, {0}};
    if (affect_read_file(path, &data, len, &err)) {
        fprintf(stderr, "FAIL: cannot read %s: %s\n", path, err.msg);
        exit(1);
    }
    return data;
}

int main(void) {
    if (!getenv("AFFECT_SHARED")) {
        fprintf(stderr, "FAIL: AFFECT_SHARED is not set (ctest sets it to the shared/ folder)\n");
        return 1;
    }
    size_t tjl, vl, ml;
    char *tj = read_shared("tokenizer.json", &tjl);
    char *vocab = read_shared("vocab.json", &vl);
    char *merges = read_shared("merges.txt", &ml);
    affect_error err = {0, {0}};

    json_doc *doc = NULL;
    bpe_model *mj = NULL, *mf = NULL;
    if (json_parse(&doc, tj, tjl, &err) ||
        bpe_model_from_json(&mj, json_get(json_root(doc), "model"), &err)) {
        fprintf(stderr, "FAIL: roberta-base tokenizer.json: %s\n", err.msg);
        return 1;
    }
    json_free(doc);
    if (bpe_model_from_files(&mf, vocab, vl, merges, ml, &err)) {
        fprintf(stderr, "FAIL: roberta-base vocab.json + merges.txt: %s\n", err.msg);
        return 1;
    }

    check_cases(mj, "tokenizer.json");
    check_cases(mf, "vocab.json+merges.txt");
    check_vocab(mj, "tokenizer.json");
    check_vocab(mf, "vocab.json+merges.txt");
    check_long(mj);
    check_append(mj);
    check_pretokenizer_options(mf);
    check_small_models();
    check_errors(vocab, vl, merges, ml);

    bpe_model_free(mj);
    bpe_model_free(mf);
    free(tj);
    free(vocab);
    free(merges);
    if (failures) {
        fprintf(stderr, "test_bpe: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_bpe: ok (%zu oracle strings x 2 loaders, 4 long words, 13 small models)\n",
           sizeof cases / sizeof cases[0]);
    return 0;
}
