/* affect train CONFIG.yaml [--resume] [--folds K] [--check]
 *
 * Runs the two-stage EmotionModel pipeline (src/pipeline/pipeline.h) and prints its progress:
 * on a terminal one live line (stage, epoch, step/total, loss, lr, sequences/s, ETA), else
 * plain lines every runtime.log_every steps. SIGINT / SIGTERM ask the pipeline to write a
 * checkpoint and stop; the exit code is then 130 / 143, and `--resume` continues. A run that
 * diverges (NaN/Inf loss) exits 1, naming the step. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "pipeline/pipeline.h"

static const char USAGE[] =
    "usage: affect train CONFIG.yaml [--resume] [--folds K] [--check]\n"
    "  Trains the EmotionModel the config describes (GoEmotions, then Lemotif frozen / unfrozen with\n"
    "  EmoInt intensity) and writes the run folder paths.artifacts_dir.\n"
    "  --resume   continue the run folder's last checkpoint (same batches, same result)\n"
    "  --folds K  also run K-fold cross-validation of stage 2 on Lemotif (0 = off; default: data.folds)\n"
    "  --check    load and check the config, the data and the model, then stop\n"
    "  Ctrl-C / SIGTERM write a checkpoint and exit 130 / 143.\n";

static volatile sig_atomic_t stop_signal = 0;

static void on_signal(int sig) { stop_signal = sig; }

typedef struct view {
    int tty;
    int live;          /* a live line is on screen */
    double last;       /* when the live line was last redrawn */
} view;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fmt_eta(double s, char *out, size_t len) {
    if (!isfinite(s) || s < 0) snprintf(out, len, "?");
    else if (s >= 3600) snprintf(out, len, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else snprintf(out, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static void clear_live(view *v) {
    if (v->live) {
        fputs("\r\033[K", stderr);
        v->live = 0;
    }
}

static void on_progress(void *user, const affect_train_progress *p) {
    view *v = user;
    char fold[24] = "";
    if (p->fold >= 0) snprintf(fold, sizeof fold, "fold %d ", p->fold + 1);
    if (p->kind == AFFECT_PROGRESS_STEP) {
        char eta[32];
        fmt_eta(p->eta_s, eta, sizeof eta);
        if (v->tty) {
            double t = now_s();
            if (v->live && t - v->last < 0.1 && p->step < p->total_steps) return; /* at most 10 redraws a second */
            v->last = t;
            fprintf(stderr, "\r\033[K%s%s  epoch %d/%d  step %lld/%lld  loss %.4f  lr %.2e  %.1f seq/s  ETA %s", fold,
                    p->stage, p->epoch, p->num_epochs, (long long)p->step, (long long)p->total_steps, p->loss, p->lr,
                    p->seq_per_s, eta);
            fflush(stderr);
            v->live = 1;
        } else if (p->log_line) {
            fprintf(stderr, "%s%s epoch %d/%d step %lld/%lld loss %.4f lr %.3e %.1f seq/s ETA %s\n", fold, p->stage,
                    p->epoch, p->num_epochs, (long long)p->step, (long long)p->total_steps, p->loss, p->lr, p->seq_per_s,
                    eta);
        }
        return;
    }
    clear_live(v);
    if (p->kind == AFFECT_PROGRESS_EVAL && !isnan(p->val_mlm_loss)) {
        fprintf(stderr, "%s%s epoch %d/%d: validation masked-LM loss %.4f%s\n", fold, p->stage, p->epoch, p->num_epochs,
                p->val_mlm_loss, p->improved ? " (best so far)" : "");
    } else if (p->kind == AFFECT_PROGRESS_EVAL) {
        fprintf(stderr, "%s%s epoch %d/%d: validation macro AUC %.4f, micro AUC %.4f", fold, p->stage, p->epoch,
                p->num_epochs, p->val_macro_auc, p->val_micro_auc);
        if (!isnan(p->val_pearson)) fprintf(stderr, ", intensity r %.4f", p->val_pearson);
        fprintf(stderr, "%s\n", p->improved ? " (best so far)" : "");
    } else if (p->message) {
        fprintf(stderr, "%s\n", p->message);
    }
}

int cmd_train(int argc, char **argv) {
    affect_pipeline_opts o;
    memset(&o, 0, sizeof o);
    o.folds = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(USAGE, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--resume")) {
            o.resume = 1;
        } else if (!strcmp(argv[i], "--check")) {
            o.check_only = 1;
        } else if (!strcmp(argv[i], "--folds")) {
            char *end = NULL;
            long k = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || !end || *end || k < 0 || k == 1 || k > 1000) {
                fprintf(stderr, "affect train: --folds needs 0 or an integer K >= 2\n");
                return 2;
            }
            o.folds = (int)k;
            i++;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "affect train: unknown option %s\n%s", argv[i], USAGE);
            return 2;
        } else if (!o.config_path) {
            o.config_path = argv[i];
        } else {
            fprintf(stderr, "affect train: one config file only (got %s and %s)\n", o.config_path, argv[i]);
            return 2;
        }
    }
    if (!o.config_path) {
        fputs(USAGE, stderr);
        return 2;
    }
    view v = {isatty(2), 0, 0};
    o.progress = on_progress;
    o.user = &v;
    o.stop_signal = &stop_signal;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    affect_error err = {0};
    affect_pipeline_result r;
    int rc = affect_pipeline_run(&o, &r, &err);
    clear_live(&v);
    if (rc) {
        fprintf(stderr, "affect train: %s\n", err.msg[0] ? err.msg : "error");
        if (r.diverged) return 1;
        return affect_exit_code(rc);
    }
    if (r.interrupted) {
        fprintf(stderr, "affect train: interrupted; continue with: affect train %s --resume\n", o.config_path);
        return 128 + r.interrupted;
    }
    if (o.check_only) return 0;
    printf("run folder: %s\n", r.run_dir);
    printf("Lemotif test: macro AUC %.4f, micro AUC %.4f\n", r.test_macro_auc, r.test_micro_auc);
    printf("EmoInt dev intensity Pearson r (mean of emotions): %.4f\n", r.pearson_mean);
    if (!isnan(r.cv_macro_mean))
        printf("cross-validation: macro AUC %.4f ± %.4f, micro AUC %.4f ± %.4f\n", r.cv_macro_mean, r.cv_macro_sd,
               r.cv_micro_mean, r.cv_micro_sd);
    printf("time: %.1f s\n", r.seconds);
    return 0;
}
