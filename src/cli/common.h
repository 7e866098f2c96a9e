/* Helpers every subcommand shares: reading the texts, resolving MODEL, printing errors. */
#ifndef AFFECT_CLI_COMMON_H
#define AFFECT_CLI_COMMON_H
#include <stddef.h>
#include "affect.h"

typedef struct cli_texts {
    char **text;
    size_t *len;
    size_t n;
} cli_texts;

/* Texts from argv[first..argc), or one per line from stdin when there are none (a trailing
 * "\r" is dropped, so CRLF input works). Returns 0 or an AFFECT_E* code. */
int cli_read_texts(int argc, char **argv, int first, cli_texts *out, affect_error *err);
void cli_texts_free(cli_texts *t);

/* MODEL on the command line: a folder, or a hub id (ORG/NAME) found in the Hugging Face
 * cache. Writes the folder into dir. */
int cli_resolve_model(const char *spec, char *dir, size_t dirlen, affect_error *err);

/* Prints "affect CMD: message" and returns the exit code for err. */
int cli_error(const char *cmd, const affect_error *err);

/* Parses a positive int option value; returns -1 when it is not one. */
int cli_parse_int(const char *s);

/* Prints a float with %.9g (round-trips a float), JSON-safe for NaN/Inf (null). */
void cli_print_float(float v);

#endif
