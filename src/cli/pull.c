/* affect pull ORG/NAME [--revision REV]: downloads a model into the Hugging Face cache and
 * prints its snapshot folder, which every other subcommand then accepts as ORG/NAME. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "common.h"
#include "hub/hub.h"
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct pull_view {
    int tty;
    double last_draw; /* seconds, of the current file */
    int line_open;    /* a progress line without its newline is on the terminal */
} pull_view;

/* 1234567 -> "1.2 MB": sizes a person reads at a glance. */
static void human(char *out, size_t len, double bytes) {
    const char *unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1000 && u < 4) { bytes /= 1000; u++; }
    if (u == 0) snprintf(out, len, "%.0f %s", bytes, unit[u]);
    else snprintf(out, len, "%.1f %s", bytes, unit[u]);
}

/* On a terminal: one line per file redrawn in place (bytes / total, speed), at most ten times
 * a second. Elsewhere (logs, CI): one line per file when it is settled. */
static void show_progress(void *user, const affect_hub_progress *p) {
    pull_view *v = user;
    char done[32], total[32], speed[32];
    human(done, sizeof done, (double)p->done);
    human(total, sizeof total, (double)p->total);
    human(speed, sizeof speed, p->seconds > 0 ? (double)p->session / p->seconds : 0);
    switch (p->event) {
    case AFFECT_HUB_FILE_START:
    case AFFECT_HUB_FILE_RETRY:
        v->last_draw = -1;
        if (v->tty) {
            fprintf(stderr, "\r\033[K%s%s: %s / %s", p->event == AFFECT_HUB_FILE_RETRY ? "resuming " : "",
                    p->filename, done, p->total ? total : "?");
            v->line_open = 1;
        } else if (p->event == AFFECT_HUB_FILE_RETRY) {
            fprintf(stderr, "%s: connection lost, resuming at %" PRIu64 " bytes\n", p->filename, p->done);
        }
        break;
    case AFFECT_HUB_FILE_BYTES:
        if (v->tty && p->seconds - v->last_draw >= 0.1) {
            v->last_draw = p->seconds;
            fprintf(stderr, "\r\033[K%s: %s / %s  %s/s", p->filename, done, p->total ? total : "?", speed);
            v->line_open = 1;
        }
        break;
    case AFFECT_HUB_FILE_DONE:
        if (v->tty) fprintf(stderr, "\r\033[K");
        fprintf(stderr, "%s: %s downloaded", p->filename, done);
        if (p->seconds > 0) fprintf(stderr, " (%s/s)", speed);
        fputc('\n', stderr);
        v->line_open = 0;
        break;
    case AFFECT_HUB_FILE_CACHED:
        if (v->tty && v->line_open) fprintf(stderr, "\r\033[K");
        fprintf(stderr, "%s: already in the cache\n", p->filename);
        v->line_open = 0;
        break;
    case AFFECT_HUB_FILE_ABSENT:
        if (v->tty) fprintf(stderr, "%s%s: not in the repository, skipped\n", v->line_open ? "\r\033[K" : "", p->filename);
        v->line_open = 0;
        break;
    default:
        break;
    }
}

static int usage(void) {
    fprintf(stderr, "usage: affect pull ORG/NAME [--revision REV]\n"
                    "Downloads config.json, weights and tokenizer files into the Hugging Face cache\n"
                    "($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub) and prints the\n"
                    "snapshot folder. Honours HF_ENDPOINT, HF_TOKEN and HF_HUB_OFFLINE.\n");
    return 2;
}

int cmd_pull(int argc, char **argv) {
    const char *id = NULL, *revision = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(); return 0; }
        if (!strcmp(a, "--revision")) {
            if (i + 1 >= argc) return usage();
            revision = argv[++i];
        } else if (!strncmp(a, "--revision=", 11)) {
            revision = a + 11;
        } else if (a[0] == '-') {
            fprintf(stderr, "affect pull: unknown option '%s'\n", a);
            return usage();
        } else if (!id) {
            id = a;
        } else {
            fprintf(stderr, "affect pull: one model id at a time ('%s' is extra)\n", a);
            return usage();
        }
    }
    if (!id) return usage();
    pull_view view = {isatty(STDERR_FILENO), 0, 0};
    affect_hub_pull_opts opts = {revision, show_progress, &view};
    char dir[4096];
    affect_error err = {0};
    int rc = affect_hub_pull(id, &opts, dir, sizeof dir, &err);
    if (view.line_open) fputc('\n', stderr);
    if (rc) return cli_error("pull", &err);
    printf("%s\n", dir);
    return fflush(stdout) == 0 ? 0 : 1;
}
