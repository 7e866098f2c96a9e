/* tok_dump: encodes a file of texts with affect's tokenizer and writes one line of ids per
 * text, for tests/test_tokenizer_oracle.py to compare with Hugging Face's tokenizers.
 *
 *   tok_dump MODEL_DIR TEXTS.bin OUT.txt [max_length]
 *
 * TEXTS.bin holds records [u32 little-endian byte length][bytes]; the bytes go to the library
 * untouched (invalid UTF-8 included). The tokenizer is loaded with affect_tokenizer_load_dir,
 * the family hint being config.json's model_type when the folder has one. Every text is
 * encoded with affect_tokenizer_encode; the texts are then encoded again in batches with
 * affect_tokenizer_encode_batch, which must agree with the single encodings (same ids, mask 1
 * on them, pad id and mask 0 after). Exit 0 on success, 1 on any failure (message on stderr).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "affect.h"
#include "util/blob.h"
#include "util/json.h"

enum { BATCH = 64 };

/* Reads config.json's model_type into `out` (empty when there is no config or no key). */
static int read_model_type(const char *dir, char *out, size_t cap) {
    char path[4096];
    out[0] = 0;
    if (snprintf(path, sizeof path, "%s/config.json", dir) >= (int)sizeof path) return 1;
    if (!affect_file_exists(path)) return 0;
    char *data = NULL;
    size_t len = 0;
    affect_error err = {0};
    if (affect_read_file(path, &data, &len, &err) != 0) {
        fprintf(stderr, "tok_dump: %s\n", err.msg);
        return 1;
    }
    json_doc *doc = NULL;
    int rc = json_parse(&doc, data, len, &err);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "tok_dump: %s: %s\n", path, err.msg);
        return 1;
    }
    const char *mt = json_get_string(json_root(doc), "model_type", "");
    snprintf(out, cap, "%s", mt);
    json_free(doc);
    return 0;
}

/* Splits the records of TEXTS.bin into pointers into `data`. */
static int split_texts(const char *data, size_t len, const char ***texts, size_t **lens, int *n) {
    size_t cap = 1024, count = 0, off = 0;
    const char **t = malloc(cap * sizeof *t);
    size_t *l = malloc(cap * sizeof *l);
    if (!t || !l) goto oom;
    while (off < len) {
        if (len - off < 4) {
            fprintf(stderr, "tok_dump: truncated length at byte %zu\n", off);
            goto fail;
        }
        const unsigned char *p = (const unsigned char *)data + off;
        size_t n1 = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        off += 4;
        if (n1 > len - off) {
            fprintf(stderr, "tok_dump: text at byte %zu overruns the file\n", off);
            goto fail;
        }
        if (count == cap) {
            cap *= 2;
            const char **t2 = realloc(t, cap * sizeof *t);
            if (!t2) goto oom;
            t = t2;
            size_t *l2 = realloc(l, cap * sizeof *l);
            if (!l2) goto oom;
            l = l2;
        }
        t[count] = data + off;
        l[count] = n1;
        count++;
        off += n1;
    }
    if (count > (size_t)INT32_MAX) goto fail;
    *texts = t;
    *lens = l;
    *n = (int)count;
    return 0;
oom:
    fprintf(stderr, "tok_dump: out of memory\n");
fail:
    free(t);
    free(l);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: tok_dump MODEL_DIR TEXTS.bin OUT.txt [max_length]\n");
        return 2;
    }
    int max_length = argc == 5 ? atoi(argv[4]) : 0;
    char model_type[64];
    if (read_model_type(argv[1], model_type, sizeof model_type) != 0) return 1;

    affect_error err = {0};
    affect_tokenizer *tok = NULL;
    if (affect_tokenizer_load_dir(&tok, argv[1], model_type[0] ? model_type : NULL, &err) != 0) {
        fprintf(stderr, "tok_dump: load %s: %s\n", argv[1], err.msg);
        return 1;
    }
    char *data = NULL;
    size_t len = 0;
    if (affect_read_file(argv[2], &data, &len, &err) != 0) {
        fprintf(stderr, "tok_dump: %s\n", err.msg);
        affect_tokenizer_free(tok);
        return 1;
    }
    const char **texts = NULL;
    size_t *lens = NULL;
    int n = 0;
    int status = 1;
    FILE *out = NULL;
    int32_t **all = NULL;
    size_t *alln = NULL;
    if (split_texts(data, len, &texts, &lens, &n) != 0) goto done;
    all = calloc((size_t)n + 1, sizeof *all);
    alln = calloc((size_t)n + 1, sizeof *alln);
    out = fopen(argv[3], "w");
    if (!all || !alln || !out) {
        fprintf(stderr, "tok_dump: cannot allocate or open %s\n", argv[3]);
        goto done;
    }

    for (int i = 0; i < n; i++) {
        if (affect_tokenizer_encode(tok, texts[i], lens[i], max_length, &all[i], &alln[i], &err) != 0) {
            fprintf(stderr, "tok_dump: encode text #%d (%zu bytes): %s\n", i, lens[i], err.msg);
            goto done;
        }
        for (size_t k = 0; k < alln[i]; k++) fprintf(out, k ? " %d" : "%d", (int)all[i][k]);
        fputc('\n', out);
    }

    /* the batch API must pad exactly what encode returns */
    int32_t pad = affect_tokenizer_pad_id(tok);
    for (int b0 = 0; b0 < n; b0 += BATCH) {
        int B = n - b0 < BATCH ? n - b0 : BATCH;
        affect_batch batch = {0};
        if (affect_tokenizer_encode_batch(tok, texts + b0, lens + b0, B, max_length, 0, &batch, &err) != 0) {
            fprintf(stderr, "tok_dump: encode_batch at text #%d: %s\n", b0, err.msg);
            goto done;
        }
        int ok = batch.B == B;
        for (int r = 0; ok && r < B; r++) {
            size_t want = alln[b0 + r];
            ok = batch.lens[r] >= 0 && (size_t)batch.lens[r] == want && want <= (size_t)batch.T;
            for (int c = 0; ok && c < batch.T; c++) {
                int32_t id = batch.ids[(size_t)r * batch.T + c], m = batch.mask[(size_t)r * batch.T + c];
                ok = (size_t)c < want ? (id == all[b0 + r][c] && m == 1) : (id == pad && m == 0);
            }
            if (!ok)
                fprintf(stderr, "tok_dump: encode_batch row %d (text #%d) disagrees with encode\n", r, b0 + r);
        }
        affect_batch_free(&batch);
        if (!ok) goto done;
    }
    status = 0;

done:
    if (out && fclose(out) != 0) status = 1;
    if (all)
        for (int i = 0; i < n; i++) free(all[i]);
    free(all);
    free(alln);
    free(texts);
    free(lens);
    free(data);
    affect_tokenizer_free(tok);
    return status;
}
