/* Writing a learned WordPiece vocabulary as a model folder's tokenizer files: tokenizer.json
 * byte for byte as Hugging Face's tokenizers saves it (Tokenizer::save, compact), so the
 * Rust library, transformers.js and our own loader all read the same tokenizer, and
 * vocab.txt for tools that only know BERT's legacy format. */
#include <stdlib.h>
#include <string.h>
#include "hub/hub_internal.h"
#include "util/error.h"
#include "util/json.h"
#include "vocab/wordpiece_trainer.h"
#include "native/atomic_file.h"

/* The id of special token `s`, or -1 when the vocabulary has no such special token. */
static long special_id(const wordpiece_vocab *v, const char *s) {
    for (size_t i = 0; i < v->n_special && i < v->n; i++)
        if (!strcmp(v->token[i], s)) return (long)i;
    return -1;
}

/* TemplateProcessing as Rust serializes it: single, pair, then special_tokens sorted by
 * name. */
static int put_template(json_buf *b, long cls, long sep) {
    int rc = json_buf_printf(b,
        "\"post_processor\":{\"type\":\"TemplateProcessing\","
        "\"single\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
        "{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}}],"
        "\"pair\":[{\"SpecialToken\":{\"id\":\"[CLS]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},"
        "{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":0}},{\"Sequence\":{\"id\":\"B\",\"type_id\":1}},"
        "{\"SpecialToken\":{\"id\":\"[SEP]\",\"type_id\":1}}],"
        "\"special_tokens\":{\"[CLS]\":{\"id\":\"[CLS]\",\"ids\":[%ld],\"tokens\":[\"[CLS]\"]},"
        "\"[SEP]\":{\"id\":\"[SEP]\",\"ids\":[%ld],\"tokens\":[\"[SEP]\"]}}},",
        cls, sep);
    return rc;
}

int wordpiece_tokenizer_json(const wordpiece_vocab *v, char **out, size_t *len, affect_error *err) {
    *out = NULL;
    *len = 0;
    long unk = special_id(v, "[UNK]"), cls = special_id(v, "[CLS]"), sep = special_id(v, "[SEP]");
    if (unk < 0 || cls < 0 || sep < 0)
        return affect_fail(err, AFFECT_EARG,
                           "vocab: tokenizer.json needs [UNK], [CLS] and [SEP] among the special tokens "
                           "(have %zu special tokens)", v->n_special);
    json_buf b = {0};
    int rc = json_buf_printf(&b, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[");
    for (size_t i = 0; i < v->n_special && !rc; i++) {
        rc = json_buf_printf(&b, "%s{\"id\":%zu,\"content\":", i ? "," : "", i);
        if (!rc) rc = json_buf_string(&b, v->token[i], strlen(v->token[i]));
        if (!rc)
            rc = json_buf_printf(&b, ",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                                     "\"normalized\":false,\"special\":true}");
    }
    if (!rc)
        rc = json_buf_printf(&b, "],\"normalizer\":{\"type\":\"BertNormalizer\",\"clean_text\":true,"
                                 "\"handle_chinese_chars\":true,\"strip_accents\":true,\"lowercase\":true},"
                                 "\"pre_tokenizer\":{\"type\":\"BertPreTokenizer\"},");
    if (!rc) rc = put_template(&b, cls, sep);
    if (!rc)
        rc = json_buf_printf(&b, "\"decoder\":{\"type\":\"WordPiece\",\"prefix\":\"##\",\"cleanup\":true},"
                                 "\"model\":{\"type\":\"WordPiece\",\"unk_token\":");
    if (!rc) rc = json_buf_string(&b, v->token[unk], strlen(v->token[unk]));
    if (!rc) rc = json_buf_printf(&b, ",\"continuing_subword_prefix\":\"##\",\"max_input_chars_per_word\":100,\"vocab\":{");
    for (size_t i = 0; i < v->n && !rc; i++) {
        if (i) rc = json_buf_append(&b, ",", 1);
        if (!rc) rc = json_buf_string(&b, v->token[i], strlen(v->token[i]));
        if (!rc) rc = json_buf_printf(&b, ":%zu", i);
    }
    if (!rc) rc = json_buf_append(&b, "}}}", 3);
    if (rc) {
        json_buf_free(&b);
        return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory writing tokenizer.json (%zu tokens)", v->n);
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

/* vocab.txt: BERT's legacy format, line i = token i. Tokens cannot hold a newline (the
 * normalizer turns line breaks into spaces and words have none), but a caller-given
 * special token could: refuse it rather than shift every id after it. */
static int vocab_txt(const wordpiece_vocab *v, char **out, size_t *len, affect_error *err) {
    json_buf b = {0};
    int rc = 0;
    for (size_t i = 0; i < v->n && !rc; i++) {
        size_t n = strlen(v->token[i]);
        if (memchr(v->token[i], '\n', n) || memchr(v->token[i], '\r', n)) {
            json_buf_free(&b);
            return affect_fail(err, AFFECT_EARG, "vocab: token %zu holds a line break; vocab.txt cannot store it", i);
        }
        rc = json_buf_append(&b, v->token[i], n);
        if (!rc) rc = json_buf_append(&b, "\n", 1);
    }
    if (rc) {
        json_buf_free(&b);
        return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory writing vocab.txt (%zu tokens)", v->n);
    }
    *out = b.data ? b.data : NULL;
    *len = b.len;
    return 0;
}

int wordpiece_write_dir(const wordpiece_vocab *v, const char *dir, affect_error *err) {
    char path[HUB_PATH_MAX];
    char *json = NULL, *txt = NULL;
    size_t jlen = 0, tlen = 0;
    int rc = wordpiece_tokenizer_json(v, &json, &jlen, err);
    if (!rc) rc = vocab_txt(v, &txt, &tlen, err);
    if (!rc) rc = affect_mkdirs(dir, err);
    if (!rc) rc = hub_path(path, sizeof path, err, "%s/vocab.txt", dir);
    if (!rc) rc = affect_file_write_atomic(path, txt ? txt : "", tlen, err);
    if (!rc) rc = hub_path(path, sizeof path, err, "%s/tokenizer.json", dir);
    if (!rc) rc = affect_file_write_atomic(path, json, jlen, err);
    free(json);
    free(txt);
    return rc;
}

int affect_vocab_train(const char *const *texts, const size_t *lens, size_t n, int vocab_size,
                       int min_frequency, int limit_alphabet, const char *out_dir, affect_error *err) {
    if (vocab_size <= 0) return affect_fail(err, AFFECT_EARG, "vocab: vocab_size must be positive (got %d)", vocab_size);
    if (min_frequency < 0) return affect_fail(err, AFFECT_EARG, "vocab: min_frequency must be >= 0 (got %d)", min_frequency);
    if (!out_dir || !*out_dir) return affect_fail(err, AFFECT_EARG, "vocab: no output folder");
    wordpiece_trainer_opts o;
    wordpiece_trainer_defaults(&o);
    o.vocab_size = (size_t)vocab_size;
    o.min_frequency = (uint64_t)min_frequency;
    o.limit_alphabet = limit_alphabet < 0 ? -1 : limit_alphabet;
    wordpiece_vocab v;
    int rc = wordpiece_train(&o, texts, lens, n, &v, err);
    if (rc) return rc;
    rc = wordpiece_write_dir(&v, out_dir, err);
    wordpiece_vocab_free(&v);
    return rc;
}
