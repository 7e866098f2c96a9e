/* affect predict MODEL [--threads N] [TEXT…]
 *
 * Per-label probabilities need classification heads, which only a model trained with
 * `affect train` carries. On a bare Hugging Face encoder this says so and exits 2, before
 * reading any text. */
#include "cli.h"
#include "common.h"
#include <stdio.h>
#include <string.h>

int cmd_predict(int argc, char **argv) {
    const char *model = NULL;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--threads")) {
            if (i + 1 >= argc || (threads = cli_parse_int(argv[i + 1])) < 0) {
                fprintf(stderr, "affect predict: --threads needs a positive integer\n");
                return 2;
            }
            i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "affect predict: unknown option %s\n", argv[i]);
            return 2;
        }
        if (!model) model = argv[i];
    }
    if (!model) {
        fprintf(stderr, "usage: affect predict MODEL [--threads N] [TEXT...]\n");
        return 2;
    }
    affect_native_init(threads);
    affect_error err = {0};
    char dir[4096];
    affect_model *m = NULL;
    if (cli_resolve_model(model, dir, sizeof dir, &err) || affect_model_load_dir(&m, dir, &err))
        return cli_error("predict", &err);
    int labels = affect_model_num_labels(m);
    affect_model_free(m);
    if (labels == 0) {
        fprintf(stderr, "affect predict: %s is a bare encoder with no classification heads; "
                        "train one with `affect train`\n", model);
        return 2;
    }
    fprintf(stderr, "affect predict: classification heads are not supported by this build yet\n");
    return 1;
}
