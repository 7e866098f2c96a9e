/* One training stage: epochs of seeded shuffled micro-batches, an evaluation per epoch on the
 * validation split, the best weights kept, early stopping, and checkpoints that let a killed
 * run continue with exactly the batches and random streams it would have had. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "eval/metrics.h"
#include "pipeline/pl_internal.h"
#include "train/checkpoint.h"
#include "util/error.h"
#include "util/json.h"

/* ---- predictions ------------------------------------------------------------------------- */

/* Rows shortest first, so each evaluation batch pads to a length close to its rows' own
 * (predictions go back to their rows; the order cannot change any metric). */
static const int *g_len;
static int cmp_len(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (g_len[x] != g_len[y]) return g_len[x] < g_len[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

int pl_predict(pl_run *run, affect_trainer *tr, const affect_lexical *lx, const pl_set *s, int batch_size,
               double *probs, double *intensity, affect_error *err) {
    int L = affect_trainer_num_labels(tr);
    size_t n = s->ds.n, maxlen = 1;
    if (batch_size < 1) batch_size = 32;
    if (lx && lx->V <= 0) lx = NULL;
    for (size_t i = 0; lx && i < n; i++)
        if ((size_t)s->len[i] > maxlen) maxlen = (size_t)s->len[i];
    float *lg = malloc((size_t)batch_size * (size_t)L * sizeof *lg);
    float *it = malloc((size_t)batch_size * sizeof *it);
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    int32_t *fid = malloc(maxlen * sizeof *fid);
    float *fval = malloc(maxlen * sizeof *fval);
    int rc = 0;
    if (!lg || !it || !order || !fid || !fval) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for predictions");
    if (!rc && lx && lx->L != L)
        rc = affect_fail(err, AFFECT_EARG, "lexical model has %d labels, the heads %d", lx->L, L);
    if (!rc) {
        for (size_t i = 0; i < n; i++) order[i] = i;
        g_len = s->len;
        qsort(order, n, sizeof *order, cmp_len);
        g_len = NULL;
    }
    for (size_t at = 0; at < n && !rc; at += (size_t)batch_size) {
        int B = (int)(n - at < (size_t)batch_size ? n - at : (size_t)batch_size);
        const size_t *rows = order + at;
        rc = pl_batch_build(&run->batch, s, rows, B, run->pad_id, 0.0, err);
        if (!rc)
            rc = affect_trainer_predict(tr, run->batch.ids, run->batch.mask, B, run->batch.tb.T, AFFECT_POOL_MEAN, lg, it,
                                        err);
        for (int i = 0; i < B && !rc; i++) {
            size_t r = rows[i];
            if (probs && lx)
                rc = affect_lexical_mix_row(lx, s->ids[r], (size_t)s->len[r], s->ds.text[r], s->ds.text_len[r],
                                            lg + (size_t)i * L, fid, fval, err);
            if (probs && !rc)
                for (int l = 0; l < L; l++) {
                    double x = lg[(size_t)i * L + l];
                    probs[r * (size_t)L + l] = 1.0 / (1.0 + exp(-x));
                }
            if (!rc && intensity && lx)
                rc = affect_lexical_mix_intensity(lx, s->ids[r], (size_t)s->len[r], s->ds.text[r], s->ds.text_len[r],
                                                  it + i, fid, fval, err);
            if (intensity) intensity[r] = it[i];
        }
    }
    free(lg);
    free(it);
    free(order);
    free(fid);
    free(fval);
    return rc;
}

double pl_pearson_groups(const pl_set *s, const double *pred, double *r_out) {
    const affect_dataset *d = &s->ds;
    size_t n = d->n;
    double *x = malloc((n ? n : 1) * sizeof *x), *y = malloc((n ? n : 1) * sizeof *y);
    double sum = 0;
    int defined = 0;
    int G = d->num_groups > 0 ? d->num_groups : 1;
    for (int g = 0; g < G && x && y; g++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (!d->intensity_mask || !d->intensity_mask[i]) continue;
            if (d->num_groups > 0 && d->group[i] != g) continue;
            double p = pred[i];
            x[k] = p < 0 ? 0 : p > 1 ? 1 : p;
            y[k] = d->intensity[i];
            k++;
        }
        double r = eval_pearson(x, 1, y, 1, k);
        if (r_out) r_out[g] = r;
        if (!isnan(r)) {
            sum += r;
            defined++;
        }
    }
    free(x);
    free(y);
    return defined ? sum / defined : NAN;
}

/* ---- checkpoint state --------------------------------------------------------------------- */

typedef struct stage_state {
    int epoch;        /* epochs fully done */
    long batch;       /* micro-batches done in the current epoch */
    int has_best;
    double best;      /* best validation macro AUC */
    int best_epoch;   /* 1-based */
    int bad_evals;
    int finished;
    long log_bytes;
    double acc[4];    /* loss, bce, l1, ms summed over the micro-batches since the last log line */
    long acc_n;
} stage_state;

static void jnum(json_buf *b, double v) {
    if (isfinite(v)) json_buf_printf(b, "%.17g", v);
    else json_buf_append(b, "null", 4);
}

static int state_json(const pl_stage *st, const stage_state *s, char **out, affect_error *err) {
    json_buf b = {0};
    json_buf_append(&b, "{\"stage\":", 9);
    json_buf_string(&b, st->name, strlen(st->name));
    json_buf_printf(&b, ",\"fold\":%d,\"epoch\":%d,\"batch\":%ld,\"has_best\":%d,\"best_metric\":", st->fold, s->epoch,
                    s->batch, s->has_best);
    jnum(&b, s->has_best ? s->best : NAN);
    json_buf_printf(&b, ",\"acc\":[%.17g,%.17g,%.17g,%.17g],\"acc_n\":%ld", s->acc[0], s->acc[1], s->acc[2], s->acc[3],
                    s->acc_n);
    if (json_buf_printf(&b, ",\"best_epoch\":%d,\"bad_evals\":%d,\"finished\":%d,\"log_bytes\":%ld}", s->best_epoch,
                        s->bad_evals, s->finished, s->log_bytes)) {
        json_buf_free(&b);
        return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    }
    *out = b.data;
    return 0;
}

static int state_parse(const pl_stage *st, const char *json, stage_state *s, const char *dir, affect_error *err) {
    json_doc *doc = NULL;
    int rc = json_parse(&doc, json, strlen(json), err);
    if (rc) return affect_fail(err, AFFECT_EFORMAT, "%s: checkpoint state is not JSON: %s", dir, err ? err->msg : "");
    const json_value *r = json_root(doc);
    const char *name = json_get_string(r, "stage", "");
    if (strcmp(name, st->name) || (int)json_get_number(r, "fold", -99) != st->fold) {
        json_free(doc);
        return affect_fail(err, AFFECT_EFORMAT, "%s: checkpoint belongs to stage '%s', not '%s'", dir, name, st->name);
    }
    s->epoch = (int)json_get_number(r, "epoch", 0);
    s->batch = (long)json_get_number(r, "batch", 0);
    s->has_best = (int)json_get_number(r, "has_best", 0);
    const json_value *bm = json_get(r, "best_metric");
    s->best = bm && bm->type == JSON_NUMBER ? bm->number : NAN;
    s->best_epoch = (int)json_get_number(r, "best_epoch", 0);
    s->bad_evals = (int)json_get_number(r, "bad_evals", 0);
    s->finished = (int)json_get_number(r, "finished", 0);
    s->log_bytes = (long)json_get_number(r, "log_bytes", -1);
    const json_value *acc = json_get(r, "acc");
    for (int i = 0; i < 4; i++)
        s->acc[i] = acc && acc->type == JSON_ARRAY && acc->len == 4 && acc->items[i].type == JSON_NUMBER ? acc->items[i].number : 0;
    s->acc_n = (long)json_get_number(r, "acc_n", 0);
    json_free(doc);
    if (s->epoch < 0 || s->batch < 0) return affect_fail(err, AFFECT_EFORMAT, "%s: checkpoint position is negative", dir);
    return 0;
}

static int save_ckpt(const char *dir, const char *sub, affect_trainer *tr, const pl_stage *st, const stage_state *s,
                     affect_error *err) {
    char path[PL_PATH], *extra = NULL;
    int rc = pl_path(path, sizeof path, err, "%s/%s", dir, sub);
    if (!rc) rc = state_json(st, s, &extra, err);
    if (!rc) rc = affect_checkpoint_save(path, tr, extra, err);
    free(extra);
    return rc;
}

int pl_stage_done(const pl_stage *st) {
    char path[PL_PATH];
    if (snprintf(path, sizeof path, "%s/done.json", st->dir) >= (int)sizeof path) return 0;
    return pl_exists(path);
}

/* ---- the loop ------------------------------------------------------------------------------ */

static void emit(pl_run *run, affect_train_progress *p) {
    if (run->opts->progress) run->opts->progress(run->opts->user, p);
}

static uint64_t mix64(uint64_t z) {
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The validation evaluation of one epoch: macro/micro AUC on the stage's validation split and,
 * when the stage has EmoInt dev rows, the mean intensity Pearson r. */
/* The masked-LM stage's validation score: the mean cross-entropy over the masked positions
 * of the validation texts, masked the same way at every evaluation (a fixed seed, one stream
 * per batch), so epochs are compared on the same task. */
static int evaluate_mlm(pl_run *run, affect_trainer *tr, const pl_stage *st, double *loss, affect_error *err) {
    *loss = NAN;
    size_t n = st->val->ds.n;
    int bs = run->eval_batch > 0 ? run->eval_batch : 32;
    size_t *rows = malloc((size_t)bs * sizeof *rows);
    if (!rows) return affect_fail(err, AFFECT_ENOMEM, "out of memory for the evaluation");
    double sum = 0;
    long count = 0;
    int rc = 0;
    for (size_t at = 0; at < n && !rc; at += (size_t)bs) {
        int B = (int)(n - at < (size_t)bs ? n - at : (size_t)bs);
        for (int i = 0; i < B; i++) rows[i] = at + (size_t)i;
        rc = pl_batch_build(&run->batch, st->val, rows, B, run->pad_id, 0.0, err);
        double s = 0;
        int m = 0;
        if (!rc)
            rc = affect_trainer_mlm_eval(tr, run->batch.ids, run->batch.mask, B, run->batch.tb.T, st->mlm, 0x76616cull,
                                         (uint64_t)(at / (size_t)bs), &s, &m, err);
        sum += s;
        count += m;
    }
    free(rows);
    *loss = count ? sum / (double)count : NAN;
    return rc;
}

static int evaluate(pl_run *run, affect_trainer *tr, const pl_stage *st, double *macro, double *micro,
                    double *pearson, affect_error *err) {
    if (st->mlm) {
        double loss = NAN;
        int rc = evaluate_mlm(run, tr, st, &loss, err);
        *macro = -loss; /* the stage keeps the highest score: the lowest loss */
        *micro = *pearson = NAN;
        return rc;
    }
    int L = affect_trainer_num_labels(tr);
    size_t n = st->val->ds.n;
    *macro = *micro = *pearson = NAN;
    double *P = malloc((n ? n : 1) * (size_t)L * sizeof *P), *Y = malloc((n ? n : 1) * (size_t)L * sizeof *Y);
    int rc = 0;
    if (!P || !Y) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory for the evaluation");
    if (!rc && n) rc = pl_predict(run, tr, NULL, st->val, run->eval_batch, P, NULL, err);
    if (!rc && n) {
        for (size_t i = 0; i < n * (size_t)L; i++) Y[i] = st->val->ds.labels[i] > 0.5f ? 1.0 : 0.0;
        eval_summary s;
        rc = eval_summary_compute(&s, P, Y, n, (size_t)L, err);
        if (!rc) {
            *macro = s.macro_auc;
            *micro = s.micro_auc;
            eval_summary_free(&s);
        }
    }
    free(P);
    free(Y);
    if (!rc && st->int_dev && st->int_dev->ds.n) {
        size_t m = st->int_dev->ds.n;
        double *I = malloc(m * sizeof *I);
        if (!I) return affect_fail(err, AFFECT_ENOMEM, "out of memory for the evaluation");
        rc = pl_predict(run, tr, NULL, st->int_dev, run->eval_batch, NULL, I, err);
        if (!rc) *pearson = pl_pearson_groups(st->int_dev, I, NULL);
        free(I);
    }
    return rc;
}

int pl_stage_run(pl_run *run, affect_trainer *tr, const pl_stage *st, pl_stage_result *res, affect_error *err) {
    memset(res, 0, sizeof *res);
    res->best_metric = NAN;
    const affect_stage_config *sc = st->sc;
    char path[PL_PATH];
    int rc;
    if (sc->num_epochs <= 0) return 0;

    /* A stage finished by an earlier invocation: only its best weights matter now. */
    if (pl_stage_done(st)) {
        if ((rc = pl_path(path, sizeof path, err, "%s/best", st->dir))) return rc;
        char *extra = NULL;
        if ((rc = affect_checkpoint_load(path, tr, &extra, err))) return rc;
        stage_state s = {0};
        if (extra) rc = state_parse(st, extra, &s, path, err);
        free(extra);
        res->best_metric = s.has_best ? s.best : NAN;
        res->best_epoch = s.best_epoch;
        res->epochs_run = s.epoch;
        pl_note(run, st->name, "%s: already finished (best validation %s %.4f at epoch %d)", st->name,
                st->mlm ? "masked-LM loss" : "macro AUC", st->mlm ? -res->best_metric : res->best_metric,
                res->best_epoch);
        return rc;
    }

    size_t n = st->train->ds.n;
    if (n == 0) return affect_fail(err, AFFECT_EARG, "%s: the training split is empty", st->name);
    int B = sc->train_batch_size, accum = sc->gradient_accumulation_steps;
    long micro_per_epoch = (long)((n + (size_t)B - 1) / (size_t)B);
    long steps_per_epoch = (micro_per_epoch + accum - 1) / accum;
    int64_t total = (int64_t)steps_per_epoch * sc->num_epochs;

    affect_train_opts o = affect_train_opts_defaults();
    o.pos_weight = st->pos_weight;
    o.w_int = st->w_int;
    o.w_ms = st->w_ms;
    o.freeze_encoder = st->freeze;
    o.hidden_dropout = st->hidden_dropout;
    o.attn_dropout = st->attn_dropout;
    o.seed = mix64((uint64_t)sc->seed ^ ((uint64_t)st->index << 40) ^ ((uint64_t)(st->fold + 1) << 20));
    o.lr = sc->learning_rate;
    int sched = affect_lr_schedule_from_name(sc->lr_scheduler_type);
    o.schedule = sched < 0 ? AFFECT_LR_LINEAR : (affect_lr_schedule)sched;
    o.total_steps = total;
    o.warmup_steps = affect_warmup_steps(0, sc->warmup_ratio, total);
    o.adam.weight_decay = (float)sc->weight_decay;
    o.max_grad_norm = (float)sc->max_grad_norm;
    o.accum_steps = accum;

    stage_state s = {0};
    s.best = NAN;
    s.log_bytes = -1;
    size_t np = pl_param_count(tr);
    float *best = malloc(np * sizeof *best);
    size_t *perm = malloc(n * sizeof *perm);
    affect_loss_parts *parts = malloc((size_t)accum * sizeof *parts);
    if (!best || !perm || !parts) {
        free(best);
        free(perm);
        free(parts);
        return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", st->name);
    }
    if ((rc = pl_mkdirs(st->dir, err))) goto out;

    /* Resume: the best weights first (into the buffer), then the last checkpoint. */
    if ((rc = pl_path(path, sizeof path, err, "%s/last", st->dir))) goto out;
    char oldpath[PL_PATH + 8];
    snprintf(oldpath, sizeof oldpath, "%s.old", path); /* a crash between the checkpoint's renames */
    if (run->opts->resume && (pl_exists(path) || pl_exists(oldpath))) {
        char *extra = NULL;
        if ((rc = affect_checkpoint_load(path, tr, &extra, err))) goto out;
        rc = extra ? state_parse(st, extra, &s, path, err)
                   : affect_fail(err, AFFECT_EFORMAT, "%s: checkpoint has no pipeline state", path);
        free(extra);
        if (rc) goto out;
        if (s.has_best) {
            char bpath[PL_PATH];
            if ((rc = pl_path(bpath, sizeof bpath, err, "%s/best", st->dir))) goto out;
            if ((rc = affect_checkpoint_load(bpath, tr, NULL, err))) goto out;
            pl_params_get(tr, best);
            if ((rc = affect_checkpoint_load(path, tr, NULL, err))) goto out;
        }
        if (s.log_bytes >= 0 && run->log) {
            /* lines logged after the checkpoint will be logged again */
            fflush(run->log);
            if (pl_log_size(run) > s.log_bytes) {
                char lpath[PL_PATH];
                if ((rc = pl_path(lpath, sizeof lpath, err, "%s/train_log.jsonl", run->dir))) goto out;
                if (truncate(lpath, s.log_bytes) != 0)
                    pl_note(run, st->name, "could not cut train_log.jsonl back to the checkpoint");
            }
        }
        pl_note(run, st->name, "%s: resuming at epoch %d, batch %ld of %ld", st->name, s.epoch + 1, s.batch,
                micro_per_epoch);
    } else {
        pl_note(run, st->name, "%s: %zu training rows, %ld steps per epoch, %d epochs", st->name, n, steps_per_epoch,
                sc->num_epochs);
    }

    double t_start = pl_now(), t_last = t_start;
    double rate = 0;            /* rows per second, smoothed */
    double step_time = 0;       /* seconds per optimizer step, smoothed */
    affect_train_progress p;

    while (!s.finished && s.epoch < sc->num_epochs) {
        int epoch = s.epoch;
        uint64_t stream = ((uint64_t)st->index << 48) ^ ((uint64_t)(st->fold + 1) << 32) ^ (uint64_t)epoch;
        pl_epoch_order(perm, n, (uint64_t)sc->seed, stream);
        while (s.batch < micro_per_epoch) {
            long first = s.batch, k = micro_per_epoch - first < accum ? micro_per_epoch - first : accum;
            if (run->nan_at_step && run->global_steps + 1 == run->nan_at_step) {
                affect_heads_params *hp = affect_trainer_heads(tr, 0);
                hp->emo2b[0] = NAN;
                hp->int2b[0] = NAN;
            }
            size_t rows_done = 0;
            for (long j = 0; j < k && !rc; j++) {
                size_t at = (size_t)(first + j) * (size_t)B;
                int bsz = (int)(n - at < (size_t)B ? n - at : (size_t)B);
                rc = pl_batch_build(&run->batch, st->train, perm + at, bsz, run->pad_id, sc->label_smoothing_factor, err);
                if (!rc && st->mlm) {
                    memset(&parts[j], 0, sizeof parts[j]);
                    rc = affect_train_mlm_micro_step(tr, run->batch.ids, run->batch.mask, bsz, run->batch.tb.T, st->mlm,
                                                     &o, &parts[j].loss, NULL, err);
                } else if (!rc) {
                    rc = affect_train_micro_step(tr, &run->batch.tb, &o, &parts[j], err);
                }
                rows_done += (size_t)bsz;
            }
            affect_step_info info = {0};
            if (!rc) rc = affect_train_optimizer_step(tr, &o, &info, err);
            if (rc) {
                if (rc == AFFECT_EFORMAT) {
                    res->diverged = 1;
                    char msg[sizeof err->msg];
                    snprintf(msg, sizeof msg, "%s", err ? err->msg : "");
                    rc = affect_fail(err, AFFECT_EFORMAT,
                                     "%s epoch %d: %.300s; training stopped, the last good checkpoint is %s/last",
                                     st->name, epoch + 1, msg, st->dir);
                }
                goto out;
            }
            s.batch = first + k;
            run->global_steps++;
            int64_t step = affect_trainer_step(tr);
            double now = pl_now(), dt = now - t_last;
            t_last = now;
            double r = dt > 0 ? (double)rows_done / dt : 0;
            rate = rate == 0 ? r : 0.9 * rate + 0.1 * r;
            step_time = step_time == 0 ? dt : 0.9 * step_time + 0.1 * dt;
            for (long j = 0; j < k; j++) {
                s.acc[0] += parts[j].loss;
                s.acc[1] += parts[j].bce;
                s.acc[2] += parts[j].l1;
                s.acc[3] += parts[j].ms;
                s.acc_n++;
            }
            memset(&p, 0, sizeof p);
            p.kind = AFFECT_PROGRESS_STEP;
            p.stage = st->name;
            p.fold = st->fold;
            p.epoch = epoch + 1;
            p.num_epochs = sc->num_epochs;
            p.step = step;
            p.total_steps = total;
            p.loss = parts[0].loss;
            p.bce = parts[0].bce;
            p.l1 = parts[0].l1;
            p.ms = parts[0].ms;
            p.lr = info.lr;
            p.grad_norm = info.grad_norm;
            p.seq_per_s = rate;
            p.eta_s = step_time * (double)(total - step);
            p.val_macro_auc = p.val_micro_auc = p.val_pearson = p.val_mlm_loss = NAN;
            if (step % run->cfg->runtime.log_every == 0 || s.batch == micro_per_epoch) {
                double an = s.acc_n ? (double)s.acc_n : 1.0;
                p.loss = s.acc[0] / an;
                p.bce = s.acc[1] / an;
                p.l1 = s.acc[2] / an;
                p.ms = s.acc[3] / an;
                p.log_line = 1;
                char line[768];
                snprintf(line, sizeof line,
                         "{\"type\":\"train\",\"stage\":\"%s\",\"fold\":%d,\"epoch\":%d,\"step\":%lld,\"total_steps\":%lld,"
                         "\"loss\":%.9g,\"bce\":%.9g,\"l1\":%.9g,\"ms\":%.9g,\"lr\":%.9g,\"grad_norm\":%.9g,"
                         "\"seq_per_s\":%.4g,\"elapsed_s\":%.3f}",
                         st->name, st->fold, epoch + 1, (long long)step, (long long)total, p.loss, p.bce, p.l1, p.ms,
                         p.lr, p.grad_norm, rate, now - t_start);
                if ((rc = pl_log_line(run, line, err))) goto out;
                memset(s.acc, 0, sizeof s.acc);
                s.acc_n = 0;
            }
            emit(run, &p);
            if (run->sleep_ms > 0) sleep_ms(run->sleep_ms);
            int stop = run->opts->stop_signal && *run->opts->stop_signal;
            if (stop || (run->cfg->runtime.checkpoint_every > 0 && step % run->cfg->runtime.checkpoint_every == 0 &&
                         s.batch < micro_per_epoch)) {
                s.log_bytes = pl_log_size(run);
                if ((rc = save_ckpt(st->dir, "last", tr, st, &s, err))) goto out;
                if (stop) {
                    res->interrupted = (int)*run->opts->stop_signal;
                    pl_note(run, st->name, "%s: stopped by signal %d at epoch %d, step %lld; checkpoint written to %s/last",
                            st->name, res->interrupted, epoch + 1, (long long)step, st->dir);
                    goto out;
                }
            }
        }

        /* end of epoch: evaluate, keep the best, decide whether to stop */
        double macro, micro, pearson;
        if ((rc = evaluate(run, tr, st, &macro, &micro, &pearson, err))) goto out;
        int improved = !isnan(macro) && (!s.has_best || macro > s.best);
        int counts = !isnan(macro) && (!s.has_best || macro - s.best > sc->early_stopping_threshold);
        s.bad_evals = counts ? 0 : s.bad_evals + 1;
        s.epoch = epoch + 1;
        s.batch = 0;
        if (improved) {
            s.has_best = 1;
            s.best = macro;
            s.best_epoch = epoch + 1;
            pl_params_get(tr, best);
        }
        if ((sc->early_stopping_patience > 0 && s.bad_evals >= sc->early_stopping_patience) || s.epoch >= sc->num_epochs)
            s.finished = 1;
        char line[768];
        char mbuf[32], ubuf[32], pbuf[32], bbuf[32];
        snprintf(mbuf, sizeof mbuf, isnan(macro) ? "null" : "%.9g", macro);
        snprintf(ubuf, sizeof ubuf, isnan(micro) ? "null" : "%.9g", micro);
        snprintf(pbuf, sizeof pbuf, isnan(pearson) ? "null" : "%.9g", pearson);
        snprintf(bbuf, sizeof bbuf, s.has_best ? "%.9g" : "null", s.best);
        if (st->mlm) {
            snprintf(mbuf, sizeof mbuf, isnan(macro) ? "null" : "%.9g", -macro);
            snprintf(bbuf, sizeof bbuf, s.has_best ? "%.9g" : "null", -s.best);
            snprintf(line, sizeof line,
                     "{\"type\":\"eval\",\"stage\":\"%s\",\"fold\":%d,\"epoch\":%d,\"step\":%lld,\"val_mlm_loss\":%s,"
                     "\"best_mlm_loss\":%s,\"improved\":%s,\"early_stop\":%s,\"elapsed_s\":%.3f}",
                     st->name, st->fold, epoch + 1, (long long)affect_trainer_step(tr), mbuf, bbuf,
                     improved ? "true" : "false", s.finished && s.epoch < sc->num_epochs ? "true" : "false",
                     pl_now() - t_start);
        } else {
            snprintf(line, sizeof line,
                     "{\"type\":\"eval\",\"stage\":\"%s\",\"fold\":%d,\"epoch\":%d,\"step\":%lld,\"val_macro_auc\":%s,"
                     "\"val_micro_auc\":%s,\"val_pearson\":%s,\"best_macro_auc\":%s,\"improved\":%s,\"early_stop\":%s,"
                     "\"elapsed_s\":%.3f}",
                     st->name, st->fold, epoch + 1, (long long)affect_trainer_step(tr), mbuf, ubuf, pbuf, bbuf,
                     improved ? "true" : "false", s.finished && s.epoch < sc->num_epochs ? "true" : "false",
                     pl_now() - t_start);
        }
        if ((rc = pl_log_line(run, line, err))) goto out;
        memset(&p, 0, sizeof p);
        p.kind = AFFECT_PROGRESS_EVAL;
        p.stage = st->name;
        p.fold = st->fold;
        p.epoch = epoch + 1;
        p.num_epochs = sc->num_epochs;
        p.step = affect_trainer_step(tr);
        p.total_steps = total;
        p.val_macro_auc = st->mlm ? NAN : macro;
        p.val_mlm_loss = st->mlm ? -macro : NAN;
        p.val_micro_auc = micro;
        p.val_pearson = pearson;
        p.improved = improved;
        emit(run, &p);
        if (improved && (rc = save_ckpt(st->dir, "best", tr, st, &s, err))) goto out;
        if (s.finished && !s.has_best) {
            /* no evaluation was defined: the final weights stand in for the best */
            if ((rc = save_ckpt(st->dir, "best", tr, st, &s, err))) goto out;
            pl_params_get(tr, best);
            s.has_best = 1;
        }
        s.log_bytes = pl_log_size(run);
        if ((rc = save_ckpt(st->dir, "last", tr, st, &s, err))) goto out;
        if (s.finished && s.epoch < sc->num_epochs)
            pl_note(run, st->name, "%s: early stop after epoch %d (no %s gain above %g for %d evaluations)", st->name,
                    s.epoch, st->mlm ? "masked-LM loss" : "macro-AUC", sc->early_stopping_threshold, s.bad_evals);
        if (!s.finished && run->opts->stop_signal && *run->opts->stop_signal) {
            res->interrupted = (int)*run->opts->stop_signal;
            pl_note(run, st->name, "%s: stopped by signal %d after epoch %d; checkpoint written to %s/last", st->name,
                    res->interrupted, s.epoch, st->dir);
            goto out;
        }
    }

    /* finished: hand the best weights on, and mark the stage done */
    pl_params_set(tr, best);
    {
        char done[256];
        snprintf(done, sizeof done, "{\"stage\":\"%s\",\"best_metric\":%.17g,\"best_epoch\":%d,\"epochs_run\":%d}\n",
                 st->name, s.has_best && isfinite(s.best) ? s.best : -1.0, s.best_epoch, s.epoch);
        if ((rc = pl_path(path, sizeof path, err, "%s/done.json", st->dir))) goto out;
        if ((rc = pl_write_atomic(path, done, strlen(done), err))) goto out;
    }
    res->best_metric = s.has_best ? s.best : NAN;
    res->best_epoch = s.best_epoch;
    res->epochs_run = s.epoch;
out:
    free(best);
    free(perm);
    free(parts);
    return rc;
}
