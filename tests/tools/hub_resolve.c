/* hub_resolve MODEL: prints the folder affect_hub_resolve finds for MODEL (a folder or a hub
 * id in the Hugging Face cache), so tests/test_hub.py can check cache lookup without needing
 * a subcommand that also loads the model. Errors go to stderr; the exit code is the CLI's. */
#include "hub/hub.h"
#include <stdio.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: hub_resolve MODEL\n");
        return 2;
    }
    char dir[4096];
    affect_error err = {0};
    int rc = affect_hub_resolve(argv[1], dir, sizeof dir, &err);
    if (rc) {
        fprintf(stderr, "hub_resolve: %s\n", err.msg);
        return affect_exit_code(rc);
    }
    printf("%s\n", dir);
    return 0;
}
