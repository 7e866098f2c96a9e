/* The WordPiece trainer (src/vocab/) on cases small enough to follow by hand. Each expected
 * vocabulary was checked against Hugging Face tokenizers 0.23.2 (npm, Tokenizer.train with
 * WordPieceTrainer defaults) where the binding allows it, and against tests/test_vocab.py's
 * transcription of models/bpe/trainer.rs for the options it does not expose; the full
 * corpus comparison with the Rust oracle is tests/test_vocab.py. Also: the tokenizer.json
 * writer loads back into affect's tokenizer with the expected ids, the folder writer leaves
 * no temporary files, errors are reported, and training is deterministic. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "affect.h"
#include "vocab/wordpiece_trainer.h"

#include "check.h"

static const char *const NO_SPECIALS[] = {NULL};

/* Trains on NUL-terminated texts; returns 0 or the error code (message printed). */
static int train(const wordpiece_trainer_opts *o, const char *const *texts, size_t n, wordpiece_vocab *v) {
    affect_error err = {0};
    int rc = wordpiece_train(o, texts, NULL, n, v, &err);
    if (rc) fprintf(stderr, "  (train: %s)\n", err.msg);
    return rc;
}

/* Compares the vocabulary with the expected tokens (and counts when given). */
static void expect_vocab(const char *label, const wordpiece_vocab *v, const char *const *tok,
                         const uint64_t *count, size_t n) {
    CHECK(v->n == n, "%s: %zu tokens, expected %zu", label, v->n, n);
    for (size_t i = 0; i < n && i < v->n; i++) {
        CHECK(!strcmp(v->token[i], tok[i]), "%s: token %zu is '%s', expected '%s'", label, i, v->token[i], tok[i]);
        if (count)
            CHECK(v->count[i] == count[i], "%s: count of '%s' is %llu, expected %llu", label, tok[i],
                  (unsigned long long)v->count[i], (unsigned long long)count[i]);
    }
}

static void opts_plain(wordpiece_trainer_opts *o, size_t vocab_size) {
    wordpiece_trainer_defaults(o);
    o->vocab_size = vocab_size;
    o->special_tokens = NO_SPECIALS;
    o->n_special = 0;
}

/* "aaa ab ab": Rust gives a b ##a ##b ab aa aaa (its ##a/##b order varies by run). The
 * tie between (a,##a) and (##a,##a) at count 1 goes to the smaller ids; merging "aa" in
 * "aaa" leaves (##a,##a) stale at 0 and creates (aa,##a). */
static void test_hand_case(void) {
    const char *texts[] = {"aaa ab ab"};
    wordpiece_trainer_opts o;
    wordpiece_vocab v;
    opts_plain(&o, 100);
    if (train(&o, texts, 1, &v) == 0) {
        const char *tok[] = {"a", "b", "##a", "##b", "ab", "aa", "aaa"};
        const uint64_t cnt[] = {5, 2, 2, 2, 2, 1, 1};
        expect_vocab("aaa ab ab", &v, tok, cnt, 7);
        CHECK(v.n_special == 0 && v.n_alphabet == 2 && v.n_continuing == 2 && v.n_merges == 3,
              "section sizes %zu %zu %zu %zu", v.n_special, v.n_alphabet, v.n_continuing, v.n_merges);
        CHECK(v.n_words == 2 && v.total_words == 3, "words %zu total %llu", v.n_words, (unsigned long long)v.total_words);
        wordpiece_vocab_free(&v);
    } else failures++;

    /* vocab_size stops the merges, but never cuts the initial alphabet */
    opts_plain(&o, 5);
    if (train(&o, texts, 1, &v) == 0) {
        const char *tok[] = {"a", "b", "##a", "##b", "ab"};
        expect_vocab("vocab_size 5", &v, tok, NULL, 5);
        wordpiece_vocab_free(&v);
    } else failures++;
    opts_plain(&o, 2);
    if (train(&o, texts, 1, &v) == 0) {
        const char *tok[] = {"a", "b", "##a", "##b"};
        expect_vocab("vocab_size 2", &v, tok, NULL, 4);
        wordpiece_vocab_free(&v);
    } else failures++;

    /* min_frequency 2: "ab" (2) is made, "aa" (1) is not */
    opts_plain(&o, 100);
    o.min_frequency = 2;
    if (train(&o, texts, 1, &v) == 0) {
        const char *tok[] = {"a", "b", "##a", "##b", "ab"};
        expect_vocab("min_frequency 2", &v, tok, NULL, 5);
        wordpiece_vocab_free(&v);
    } else failures++;
}

/* limit_alphabet 2 on "aaab c": b and c tie at 1, the higher code point (c) goes, and the
 * word "c" becomes empty. */
static void test_limit_alphabet(void) {
    const char *texts[] = {"aaab c"};
    wordpiece_trainer_opts o;
    wordpiece_vocab v;
    opts_plain(&o, 100);
    o.limit_alphabet = 2;
    if (train(&o, texts, 1, &v) == 0) {
        const char *tok[] = {"a", "b", "##a", "##b", "aa", "##ab", "aaab"};
        const uint64_t cnt[] = {3, 1, 2, 1, 1, 1, 1};
        expect_vocab("limit_alphabet 2", &v, tok, cnt, 7);
        wordpiece_vocab_free(&v);
    } else failures++;
    /* limit 0: nothing at all */
    o.limit_alphabet = 0;
    if (train(&o, texts, 1, &v) == 0) {
        CHECK(v.n == 0, "limit_alphabet 0 left %zu tokens", v.n);
        wordpiece_vocab_free(&v);
    } else failures++;
}

/* BERT uncased normalization and word splitting come before training: "ÁB Ab!" is the
 * words "ab", "ab", "!"; the default specials come first. */
static void test_normalized_with_specials(void) {
    const char *texts[] = {"\xc3\x81" "B Ab!"};
    wordpiece_trainer_opts o;
    wordpiece_vocab v;
    wordpiece_trainer_defaults(&o);
    if (train(&o, texts, 1, &v) == 0) {
        const char *tok[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "!", "a", "b", "##b", "ab"};
        expect_vocab("normalized", &v, tok, NULL, 10);
        CHECK(v.n_special == 5, "n_special %zu", v.n_special);

        /* tokenizer.json round trip through affect's own loader */
        char *json = NULL;
        size_t len = 0;
        affect_error err = {0};
        int rc = wordpiece_tokenizer_json(&v, &json, &len, &err);
        CHECK(rc == 0, "tokenizer.json: %s", err.msg);
        affect_tokenizer *tk = NULL;
        if (!rc) {
            rc = affect_tokenizer_from_json(&tk, json, len, &err);
            CHECK(rc == 0, "load tokenizer.json: %s", err.msg);
        }
        if (tk) {
            int32_t *ids = NULL;
            size_t n = 0;
            const char *s = "AB ba ab!";
            rc = affect_tokenizer_encode(tk, s, strlen(s), 0, &ids, &n, &err);
            /* [CLS] ab [UNK] ab ! [SEP]: "ba" needs ##a, which no word had, so it is [UNK] */
            const int32_t want[] = {2, 9, 1, 9, 5, 3};
            CHECK(rc == 0 && n == 6 && !memcmp(ids, want, sizeof want),
                  "encode '%s': rc %d n %zu ids %d %d %d %d %d %d", s, rc, n, n > 0 ? ids[0] : -1, n > 1 ? ids[1] : -1,
                  n > 2 ? ids[2] : -1, n > 3 ? ids[3] : -1, n > 4 ? ids[4] : -1, n > 5 ? ids[5] : -1);
            CHECK(affect_tokenizer_vocab_size(tk) == 10, "vocab size %d", affect_tokenizer_vocab_size(tk));
            CHECK(affect_tokenizer_pad_id(tk) == 0, "pad id %d", affect_tokenizer_pad_id(tk));
            free(ids);
            affect_tokenizer_free(tk);
        }
        CHECK(json && strstr(json, "\"vocab\":{\"[PAD]\":0,\"[UNK]\":1,\"[CLS]\":2,\"[SEP]\":3,\"[MASK]\":4,\"!\":5,"
                                   "\"a\":6,\"b\":7,\"##b\":8,\"ab\":9}}}"),
              "tokenizer.json vocab: %.200s", json ? json + (len > 200 ? len - 200 : 0) : "(null)");
        free(json);

        /* the folder: vocab.txt + tokenizer.json, no temporary files left */
        char dir[] = "/tmp/affect_test_vocab_XXXXXX";
        if (mkdtemp(dir)) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s/model", dir);
            rc = wordpiece_write_dir(&v, sub, &err);
            CHECK(rc == 0, "write dir: %s", err.msg);
            tk = NULL;
            if (!rc) {
                rc = affect_tokenizer_load_dir(&tk, sub, NULL, &err);
                CHECK(rc == 0, "load dir: %s", err.msg);
            }
            int nfiles = 0;
            DIR *d = opendir(sub);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.') continue;
                nfiles++;
                CHECK(!strcmp(e->d_name, "vocab.txt") || !strcmp(e->d_name, "tokenizer.json"), "stray file %s", e->d_name);
                char p[512];
                snprintf(p, sizeof p, "%s/%s", sub, e->d_name);
                unlink(p);
            }
            if (d) closedir(d);
            CHECK(nfiles == 2, "%d files written", nfiles);
            affect_tokenizer_free(tk);
            rmdir(sub);
            rmdir(dir);
        }
        wordpiece_vocab_free(&v);
    } else failures++;
}

/* Small random corpora over {a,b,c}: the streaming and one-call APIs agree, two runs agree,
 * no token appears twice, every merge count is >= 1, and the size is what was asked. */
static void test_random_corpora(void) {
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int round = 0; round < 20; round++) {
        char buf[40][32];
        const char *texts[40];
        for (int i = 0; i < 40; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            int len = 1 + (int)((s >> 33) % 30);
            for (int k = 0; k < len; k++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                buf[i][k] = " abc"[(s >> 40) % 4];
            }
            buf[i][len] = 0;
            texts[i] = buf[i];
        }
        wordpiece_trainer_opts o;
        wordpiece_trainer_defaults(&o);
        o.vocab_size = 20 + (size_t)round * 3;
        wordpiece_vocab a, b;
        if (train(&o, texts, 40, &a)) { failures++; continue; }
        affect_error err = {0};
        wordpiece_trainer *t = NULL;
        int rc = wordpiece_trainer_new(&t, &o, &err);
        for (int i = 0; i < 40 && !rc; i++) rc = wordpiece_trainer_feed(t, texts[i], strlen(texts[i]), &err);
        if (!rc) rc = wordpiece_trainer_finish(t, &b, &err);
        wordpiece_trainer_free(t);
        CHECK(rc == 0, "streaming: %s", err.msg);
        if (rc) { wordpiece_vocab_free(&a); continue; }
        CHECK(a.n == b.n, "round %d: %zu vs %zu tokens", round, a.n, b.n);
        for (size_t i = 0; i < a.n && i < b.n; i++)
            CHECK(!strcmp(a.token[i], b.token[i]) && a.count[i] == b.count[i], "round %d: token %zu differs", round, i);
        for (size_t i = 0; i < a.n; i++)
            for (size_t j = i + 1; j < a.n; j++) CHECK(strcmp(a.token[i], a.token[j]), "round %d: '%s' twice", round, a.token[i]);
        size_t initial = a.n_special + a.n_alphabet + a.n_continuing;
        CHECK(a.n <= (o.vocab_size > initial ? o.vocab_size : initial), "round %d: %zu tokens for %zu", round, a.n, o.vocab_size);
        for (size_t i = initial; i < a.n; i++) CHECK(a.count[i] >= 1, "round %d: merge '%s' with count 0", round, a.token[i]);
        wordpiece_vocab_free(&a);
        wordpiece_vocab_free(&b);
    }
}

static void test_errors(void) {
    wordpiece_trainer_opts o;
    wordpiece_vocab v;
    affect_error err = {0};
    const char *texts[] = {"x", NULL};
    wordpiece_trainer_defaults(&o);
    o.vocab_size = (size_t)1 << 40;
    CHECK(wordpiece_train(&o, texts, NULL, 1, &v, &err) == AFFECT_EARG, "huge vocab_size accepted");
    wordpiece_trainer_defaults(&o);
    const char *bad_specials[] = {"[PAD]", ""};
    o.special_tokens = bad_specials;
    o.n_special = 2;
    CHECK(wordpiece_train(&o, texts, NULL, 1, &v, &err) == AFFECT_EARG && strstr(err.msg, "special token 1"),
          "empty special token: %s", err.msg);
    wordpiece_trainer_defaults(&o);
    CHECK(wordpiece_train(&o, texts, NULL, 2, &v, &err) == AFFECT_EARG && strstr(err.msg, "text 1"), "NULL text: %s", err.msg);
    /* no [UNK]/[CLS]/[SEP]: no tokenizer.json */
    opts_plain(&o, 10);
    if (wordpiece_train(&o, texts, NULL, 1, &v, &err) == 0) {
        char *json = NULL;
        size_t len;
        CHECK(wordpiece_tokenizer_json(&v, &json, &len, &err) == AFFECT_EARG && !json, "tokenizer.json without [UNK]");
        wordpiece_vocab_free(&v);
    } else failures++;
    /* an empty corpus: just the special tokens */
    wordpiece_trainer_defaults(&o);
    if (wordpiece_train(&o, texts, NULL, 0, &v, &err) == 0) {
        CHECK(v.n == 5 && !strcmp(v.token[4], "[MASK]"), "empty corpus: %zu tokens", v.n);
        wordpiece_vocab_free(&v);
    } else failures++;
    CHECK(affect_vocab_train(texts, NULL, 1, 0, 0, -1, "/tmp/x", &err) == AFFECT_EARG, "vocab_size 0 accepted");
}

int main(void) {
    test_hand_case();
    test_limit_alphabet();
    test_normalized_with_specials();
    test_random_corpora();
    test_errors();
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_wordpiece_trainer: OK\n");
    return 0;
}
