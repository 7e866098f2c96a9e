/* The real tokenizer files of the seed models (../shared/models): bert-base-uncased from
 * tokenizer.json and from vocab.txt alone (the legacy path TinyBERT needs) must give the
 * same ids, and those ids are the ones Hugging Face tokenizers 0.23.2 (npm) printed for the
 * sentences below. roberta-base is checked through the same front-end (BPE by bpe.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "affect.h"

#include "check.h"

typedef struct {
    const char *text;
    int32_t ids[24];
    size_t n;
} tok_case;

static const tok_case bert_cases[] = {
    {"I'm SO happy for you!! \xF0\x9F\x98\x80 Thanks [MASK] na\xC3\xAFve caf\xC3\xA9",
     {101, 1045, 1005, 1049, 2061, 3407, 2005, 2017, 999, 999, 100, 4283, 103, 15743, 7668, 102}, 16},
    {"\xC4\xB0stanbul'da \xE5\x8C\x97\xE4\xBA\xAC \xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 tokenization",
     {101, 9960, 1005, 4830, 1781, 1755, 27260, 19204, 3989, 102}, 10},
    {"hello world", {101, 7592, 2088, 102}, 4},
};

static const tok_case roberta_cases[] = {
    {"I'm SO happy for you!! \xF0\x9F\x98\x80 Thanks <mask> na\xC3\xAFve caf\xC3\xA9",
     {0, 100, 437, 13910, 1372, 13, 47, 12846, 17841, 7471, 4557, 50264, 39300, 26059, 2}, 15},
    {"hello world", {0, 42891, 232, 2}, 4},
};

static void check_cases(const affect_tokenizer *tok, const tok_case *cases, size_t ncases, const char *name) {
    for (size_t c = 0; c < ncases; c++) {
        int32_t *ids = NULL;
        size_t n = 0;
        affect_error err = {0};
        int rc = affect_tokenizer_encode(tok, cases[c].text, strlen(cases[c].text), 0, &ids, &n, &err);
        int same = rc == 0 && n == cases[c].n && !memcmp(ids, cases[c].ids, n * sizeof *ids);
        if (!same && rc == 0) {
            fprintf(stderr, "  got:");
            for (size_t k = 0; k < n; k++) fprintf(stderr, " %d", (int)ids[k]);
            fprintf(stderr, "\n");
        }
        CHECK(same, "%s case %zu (rc=%d %s)", name, c, rc, err.msg);
        free(ids);
    }
}

static affect_tokenizer *load(const char *shared, const char *model, const char *hint) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/models/%s", shared, model);
    affect_tokenizer *tok = NULL;
    affect_error err = {0};
    int rc = affect_tokenizer_load_dir(&tok, dir, hint, &err);
    CHECK(rc == 0, "load %s: %s", dir, err.msg);
    return tok;
}

int main(void) {
    const char *shared = getenv("AFFECT_SHARED");
    if (!shared) shared = "../shared";
    affect_tokenizer *json = load(shared, "bert-base-uncased", "bert");
    affect_tokenizer *legacy = load(shared, "TinyBERT_General_4L_312D", NULL); /* vocab.txt only */
    affect_tokenizer *roberta = load(shared, "roberta-base", "roberta");
    if (json) {
        check_cases(json, bert_cases, sizeof bert_cases / sizeof bert_cases[0], "bert tokenizer.json");
        CHECK(affect_tokenizer_vocab_size(json) == 30522 && affect_tokenizer_pad_id(json) == 0, "bert sizes");
        const char *t = affect_tokenizer_id_to_token(json, 101);
        CHECK(t && !strcmp(t, "[CLS]"), "bert id 101");
    }
    if (legacy) {
        check_cases(legacy, bert_cases, sizeof bert_cases / sizeof bert_cases[0], "bert vocab.txt");
        CHECK(affect_tokenizer_vocab_size(legacy) == 30522 && affect_tokenizer_pad_id(legacy) == 0, "legacy sizes");
    }
    if (roberta) {
        check_cases(roberta, roberta_cases, sizeof roberta_cases / sizeof roberta_cases[0], "roberta tokenizer.json");
        CHECK(affect_tokenizer_vocab_size(roberta) == 50265 && affect_tokenizer_pad_id(roberta) == 1, "roberta sizes");
    }
    /* the two BERT loaders agree on a batch of awkward texts, ids and padding alike */
    if (json && legacy) {
        const char *texts[] = {"", "  \t ", "[CLS][SEP]", "ALL CAPS?! \xE2\x80\x94 dash", "a\xFF\xFE" "b",
                               "x\xCC\x81\xCC\xA7y", "\xEF\xBC\xA1\xEF\xBC\xA2 fullwidth", "emoji \xF0\x9F\xA5\xB0\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD"};
        size_t lens[8];
        for (int i = 0; i < 8; i++) lens[i] = strlen(texts[i]);
        affect_batch a, b;
        affect_error err = {0};
        int ra = affect_tokenizer_encode_batch(json, texts, lens, 8, 0, 0, &a, &err);
        int rb = affect_tokenizer_encode_batch(legacy, texts, lens, 8, 0, 0, &b, &err);
        CHECK(ra == 0 && rb == 0 && a.T == b.T && a.T > 2 &&
                  !memcmp(a.ids, b.ids, (size_t)a.B * (size_t)a.T * sizeof *a.ids) &&
                  !memcmp(a.mask, b.mask, (size_t)a.B * (size_t)a.T * sizeof *a.mask),
              "tokenizer.json and vocab.txt batches differ (%s)", err.msg);
        affect_batch_free(&a);
        affect_batch_free(&b);
    }
    {
        affect_tokenizer *none = NULL;
        affect_error err = {0};
        int rc = affect_tokenizer_load_dir(&none, "/nonexistent-affect-dir", NULL, &err);
        CHECK(rc == AFFECT_ENOTFOUND && !none && err.msg[0], "missing folder gives ENOTFOUND (rc=%d)", rc);
    }
    affect_tokenizer_free(json);
    affect_tokenizer_free(legacy);
    affect_tokenizer_free(roberta);
    if (failures) { fprintf(stderr, "%d failure(s)\n", failures); return 1; }
    printf("ok\n");
    return 0;
}
