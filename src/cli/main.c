/* affect — command-line entry point: dispatches to one file per subcommand. */
#include "cli.h"
#include <stdio.h>
#include <string.h>

static const struct { const char *name; int (*fn)(int, char **); const char *help; } commands[] = {
    {"tokenize", cmd_tokenize, "tokenize MODEL [--max-length N] [TEXT...]   ids and tokens as JSON lines"},
    {"embed", cmd_embed, "embed MODEL [--pool mean|cls] [--hidden] [--max-length N] [TEXT...]"},
    {"predict", cmd_predict, "predict MODEL [--emotion E] [TEXT...]   per-label probabilities, intensity"},
    {"pull", cmd_pull, "pull ORG/NAME [--revision REV]   download a model into the Hugging Face cache"},
    {"eval", cmd_eval, "eval MODEL|RUN --data SPEC [--json] [--out F] | --emoint GOLD... | --predictions P.csv --labels Y.csv   AUC, AP, intervals, Pearson"},
    {"data", cmd_data, "data pull [--dir D] | info [--dir D] [--folds K] | config C.yaml   datasets and configs"},
    {"compare", cmd_compare, "compare RUN_DIR... [--html FILE] [--markdown | --json]   rank runs, paired test, report"},
    {"train", cmd_train, "train CONFIG.yaml [--resume] [--folds K] [--check]   the two-stage EmotionModel pipeline -> run folder"},
    {"vocab", cmd_vocab, "vocab --size N [--min-frequency F] [--limit-alphabet A] --out DIR [FILE...]   learn a WordPiece vocabulary"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: affect COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  affect %s\n", commands[i].help);
    fprintf(f, "\nTexts come from the arguments, or one per line on stdin when none are given.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "affect: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
