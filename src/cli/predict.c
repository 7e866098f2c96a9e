/* affect predict MODEL [--max-length N] [--threads N] [--emotion E] [TEXT…]
 *
 * One JSON object per text, in input order:
 *   {"emotions":{"<label 1>":p1,…,"<label L>":pL},"intensity":x}
 * with the labels in the model's order, probabilities printed %.9g, and "intensity" only when
 * the model's intensity head was trained. Texts are truncated to the length the model was
 * trained with (affect_heads.json max_length) unless --max-length says otherwise.
 * --emotion E rates the intensity of emotion E (e.g. anger) on a model whose intensity head
 * was trained on "<emotion>: <text>" inputs (data.emoint_input prefixed or both): each text is
 * read as "E: text", as in training; on any other model it is refused (exit 2). The answer
 * means "how intense is E, given that the text expresses E" (every EmoInt tweet was chosen for
 * its emotion); whether E is present at all is the emotion head's probability.
 *
 * Per-label probabilities need classification heads, which only a model trained with
 * `affect train` carries. On a bare Hugging Face encoder this says so and exits 2, before
 * reading any text. */
#include "cli.h"
#include "common.h"
#include "model/model.h"
#include "util/error.h"
#include "util/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREDICT_BATCH 16

/* The label keys are escaped once, not per row. */
static char **label_keys(const affect_model *m, int L) {
    char **keys = calloc((size_t)L, sizeof *keys);
    if (!keys) return NULL;
    for (int j = 0; j < L; j++) {
        json_buf b = {0};
        const char *name = affect_model_label_name(m, j);
        if (json_buf_string(&b, name, strlen(name))) {
            json_buf_free(&b);
            for (int k = 0; k < j; k++) free(keys[k]);
            free(keys);
            return NULL;
        }
        keys[j] = b.data;
    }
    return keys;
}

/* The texts as the conditioned intensity head reads them: "E: text". */
static int prefix_texts(cli_texts *t, const char *emotion, affect_error *err) {
    size_t el = strlen(emotion);
    for (size_t i = 0; i < t->n; i++) {
        char *s = malloc(el + 2 + t->len[i] + 1);
        if (!s) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
        memcpy(s, emotion, el);
        memcpy(s + el, ": ", 2);
        memcpy(s + el + 2, t->text[i], t->len[i]);
        s[el + 2 + t->len[i]] = 0;
        free(t->text[i]);
        t->text[i] = s;
        t->len[i] += el + 2;
    }
    return 0;
}

/* Output streams batch by batch, so memory stays bounded for any number of texts. */
static int predict_all(affect_model *m, int max_length, const cli_texts *texts,
                       affect_error *err) {
    int L = affect_model_num_labels(m), with_int = affect_model_has_intensity(m);
    const affect_tokenizer *tok = affect_model_tokenizer(m);
    float *probs = malloc((size_t)PREDICT_BATCH * L * sizeof *probs);
    float *inten = malloc(PREDICT_BATCH * sizeof *inten);
    char **keys = label_keys(m, L);
    int rc = 0;
    if (!probs || !inten || !keys) {
        err->code = rc = AFFECT_ENOMEM;
        snprintf(err->msg, sizeof err->msg, "out of memory");
    }
    for (size_t start = 0; start < texts->n && !rc; start += PREDICT_BATCH) {
        int B = (int)(texts->n - start < PREDICT_BATCH ? texts->n - start : PREDICT_BATCH);
        affect_batch batch;
        memset(&batch, 0, sizeof batch);
        rc = affect_tokenizer_encode_batch(tok, (const char *const *)texts->text + start,
                                           texts->len + start, B, max_length, 0, &batch, err);
        if (rc) break;
        rc = affect_model_predict(m, &batch, probs, with_int ? inten : NULL, err);
        for (int b = 0; b < batch.B && !rc; b++) {
            fputs("{\"emotions\":{", stdout);
            for (int j = 0; j < L; j++) {
                if (j) putchar(',');
                fputs(keys[j], stdout);
                putchar(':');
                cli_print_float(probs[(size_t)b * L + j]);
            }
            putchar('}');
            if (with_int) {
                fputs(",\"intensity\":", stdout);
                cli_print_float(inten[b]);
            }
            fputs("}\n", stdout);
        }
        affect_batch_free(&batch);
    }
    if (keys)
        for (int j = 0; j < L; j++) free(keys[j]);
    free(keys);
    free(probs);
    free(inten);
    return rc;
}

int cmd_predict(int argc, char **argv) {
    const char *model = NULL, *emotion = NULL;
    int threads = 0, max_length = 0;
    char **pos = malloc((size_t)(argc + 2) * sizeof *pos);
    int npos = 0, opts_done = 0;
    if (!pos) {
        fprintf(stderr, "affect predict: out of memory\n");
        return 1;
    }
    pos[0] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!opts_done && !strcmp(a, "--")) { opts_done = 1; continue; }
        if (!opts_done && (!strcmp(a, "--threads") || !strcmp(a, "--max-length"))) {
            int v = i + 1 < argc ? cli_parse_int(argv[i + 1]) : -1;
            if (v < 0) {
                fprintf(stderr, "affect predict: %s needs a positive integer\n", a);
                free(pos);
                return 2;
            }
            if (!strcmp(a, "--threads")) threads = v; else max_length = v;
            i++;
            continue;
        }
        if (!opts_done && !strcmp(a, "--emotion")) {
            emotion = i + 1 < argc ? argv[++i] : NULL;
            if (!emotion || !*emotion || strpbrk(emotion, "\n\r")) {
                fprintf(stderr, "affect predict: --emotion needs an emotion name (e.g. anger)\n");
                free(pos);
                return 2;
            }
            continue;
        }
        if (!opts_done && a[0] == '-' && a[1] == '-') {
            fprintf(stderr, "affect predict: unknown option %s\n", a);
            free(pos);
            return 2;
        }
        if (!model) model = a;
        else pos[1 + npos++] = (char *)a;
    }
    if (!model) {
        fprintf(stderr, "usage: affect predict MODEL [--max-length N] [--threads N] [--emotion E] [TEXT...]\n");
        free(pos);
        return 2;
    }
    pos[npos + 1] = NULL;
    affect_native_init(threads);
    affect_error err = {0};
    char dir[4096];
    affect_model *m = NULL;
    if (cli_resolve_model(model, dir, sizeof dir, &err) || affect_model_load_dir(&m, dir, &err)) {
        free(pos);
        return cli_error("predict", &err);
    }
    if (affect_model_num_labels(m) == 0) {
        fprintf(stderr, "affect predict: %s is a bare encoder with no classification heads; "
                        "train one with `affect train`\n", model);
        affect_model_free(m);
        free(pos);
        return 2;
    }
    if (emotion && !(affect_model_has_intensity(m) && affect_model_intensity_prefix(m))) {
        fprintf(stderr, "affect predict: --emotion: %s's intensity head was not trained on \"<emotion>: <text>\" inputs "
                        "(train with data.emoint_input: prefixed or both)\n", model);
        affect_model_free(m);
        free(pos);
        return 2;
    }
    int limit = affect_model_max_length(m);
    const affect_heads_model *heads = affect_model_heads(m);
    if (max_length > limit) {
        fprintf(stderr, "affect predict: --max-length %d exceeds the model's maximum of %d\n",
                max_length, limit);
        affect_model_free(m);
        free(pos);
        return 2;
    }
    if (max_length == 0) max_length = heads->max_length > 0 && heads->max_length < limit ? heads->max_length : limit;
    cli_texts texts = {0};
    int rc = cli_read_texts(npos + 1, pos, 1, &texts, &err);
    if (!rc && emotion) rc = prefix_texts(&texts, emotion, &err);
    if (!rc) rc = predict_all(m, max_length, &texts, &err);
    int code = rc ? cli_error("predict", &err) : 0;
    if (!rc && fflush(stdout) != 0) {
        fprintf(stderr, "affect predict: error writing output\n");
        code = 1;
    }
    cli_texts_free(&texts);
    affect_model_free(m);
    free(pos);
    return code;
}
