/*
 * Test driver for tests/test_train_math_torch.py: runs one src/train routine on inputs the
 * script wrote and writes the results back, so PyTorch can check them.
 *
 *   train_math_dump CMD IN OUT [numbers...]
 *
 * IN is a sequence of arrays, each a little-endian u64 count followed by that many float32;
 * OUT is the same with float64 values. A count of 0 stands for "NULL" (no mask / no
 * pos_weight). Masks travel as floats (nonzero = 1). CMD and its numbers:
 *   bce    B L dloss             in: logits, targets, pos_weight, row_mask, mask
 *                                out: [loss], dlogits
 *   posw   N L cap               in: targets, mask            out: pos_weight
 *   l1|mse B K dloss             in: pred, target, row_mask    out: [loss], dpred
 *   ms     B D alpha beta base reduction dloss
 *                                in: feats, pos, neg           out: [loss], dfeats
 *   msmask B L threshold         in: labels, row_valid         out: pos, neg
 *   adamw  steps beta1 beta2 eps wd
 *                                in: params, sizes, decay flags (one per tensor), grads
 *                                    (steps x params), lrs (steps)
 *                                out: params after each step (steps x params)
 *   sched  kind warmup total num_cycles   in: (none)           out: multipliers for 0..total
 *   warmup warmup_steps ratio total       in: (none)           out: [steps]
 *   clip   max_norm              in: grads, sizes              out: [norm], clipped grads
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/adamw.h"
#include "train/clip.h"
#include "train/loss.h"
#include "train/schedule.h"

#define MAX_ARRAYS 16

typedef struct arr {
    float *v;
    size_t n;
} arr;

static arr g_in[MAX_ARRAYS];
static int g_nin;
static FILE *g_out;
static void *g_owned[64]; /* everything malloc'd, freed at the end (keeps LeakSanitizer quiet) */
static int g_nowned;

static void die(const char *msg) {
    fprintf(stderr, "train_math_dump: %s\n", msg);
    exit(2);
}

/* Checks an allocation and remembers it for free_all. */
static void *owned(void *p) {
    if (!p) die("out of memory");
    if (g_nowned == (int)(sizeof g_owned / sizeof g_owned[0])) die("too many allocations");
    g_owned[g_nowned++] = p;
    return p;
}

static void free_all(void) {
    for (int i = 0; i < g_nowned; i++) free(g_owned[i]);
    g_nowned = 0;
}

/* Reads every array of IN, checking each count against the bytes left. */
static void read_inputs(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open input");
    if (fseek(f, 0, SEEK_END) != 0) die("seek failed");
    long size = ftell(f);
    if (size < 0) die("tell failed");
    rewind(f);
    size_t left = (size_t)size;
    while (left > 0) {
        uint64_t n;
        if (left < 8 || fread(&n, 8, 1, f) != 1) die("truncated count");
        left -= 8;
        if (n > left / 4) die("array longer than the file");
        if (g_nin == MAX_ARRAYS) die("too many arrays");
        float *v = owned(malloc(n ? (size_t)n * 4 : 1));
        if (n && fread(v, 4, (size_t)n, f) != (size_t)n) die("short read");
        left -= (size_t)n * 4;
        g_in[g_nin].v = v;
        g_in[g_nin].n = (size_t)n;
        g_nin++;
    }
    fclose(f);
}

/* Input array k, which must hold `want` values (or 0 when `nullable`). */
static float *input(int k, size_t want, int nullable) {
    if (k >= g_nin) die("missing input array");
    if (nullable && g_in[k].n == 0) return NULL;
    if (g_in[k].n != want) {
        fprintf(stderr, "train_math_dump: input %d has %zu values, want %zu\n", k, g_in[k].n, want);
        exit(2);
    }
    return g_in[k].v;
}

/* A float array as a byte mask (NULL stays NULL). */
static uint8_t *as_mask(const float *v, size_t n) {
    if (!v) return NULL;
    uint8_t *m = owned(malloc(n ? n : 1));
    for (size_t i = 0; i < n; i++) m[i] = v[i] != 0.0f;
    return m;
}

static void put_doubles(const double *v, size_t n) {
    uint64_t c = n;
    if (fwrite(&c, 8, 1, g_out) != 1 || (n && fwrite(v, 8, n, g_out) != n)) die("write failed");
}

static void put_floats(const float *v, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d) die("out of memory");
    for (size_t i = 0; i < n; i++) d[i] = v[i];
    put_doubles(d, n);
    free(d);
}

static void put_bytes(const uint8_t *v, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (!d) die("out of memory");
    for (size_t i = 0; i < n; i++) d[i] = v[i];
    put_doubles(d, n);
    free(d);
}

static float *new_floats(size_t n) {
    return owned(calloc(n ? n : 1, sizeof(float)));
}

/* The tensors of an arena: sizes (as floats) -> spans over `data`. */
static affect_fspan *spans_of(float *data, size_t total, const float *sizes, size_t nt) {
    affect_fspan *sp = owned(malloc((nt ? nt : 1) * sizeof *sp));
    size_t off = 0;
    for (size_t t = 0; t < nt; t++) {
        sp[t].data = data + off;
        sp[t].n = (size_t)sizes[t];
        off += sp[t].n;
    }
    if (off != total) die("tensor sizes do not add up to the arena");
    return sp;
}

int main(int argc, char **argv) {
    if (argc < 4) die("usage: train_math_dump CMD IN OUT [numbers...]");
    const char *cmd = argv[1];
    double a[12] = {0};
    int na = argc - 4;
    if (na > 12) die("too many numbers");
    for (int i = 0; i < na; i++) a[i] = strtod(argv[4 + i], NULL);
    read_inputs(argv[2]);
    g_out = fopen(argv[3], "wb");
    if (!g_out) die("cannot open output");

    if (strcmp(cmd, "bce") == 0) {
        int B = (int)a[0], L = (int)a[1];
        size_t n = (size_t)B * L;
        float *x = input(0, n, 0), *y = input(1, n, 0), *pw = input(2, (size_t)L, 1);
        uint8_t *rm = as_mask(input(3, (size_t)B, 1), (size_t)B), *m = as_mask(input(4, n, 1), n);
        double loss = affect_bce_logits_forward(x, y, pw, rm, m, B, L);
        float *dx = new_floats(n);
        affect_bce_logits_backward(dx, x, y, pw, rm, m, B, L, (float)a[2]);
        put_doubles(&loss, 1);
        put_floats(dx, n);
    } else if (strcmp(cmd, "posw") == 0) {
        int N = (int)a[0], L = (int)a[1];
        size_t n = (size_t)N * L;
        float *y = input(0, n, 0);
        uint8_t *m = as_mask(input(1, n, 1), n);
        float *pw = new_floats((size_t)L);
        affect_bce_pos_weight(pw, y, m, N, L, (float)a[2]);
        put_floats(pw, (size_t)L);
    } else if (strcmp(cmd, "l1") == 0 || strcmp(cmd, "mse") == 0) {
        int B = (int)a[0], K = (int)a[1];
        size_t n = (size_t)B * K;
        float *p = input(0, n, 0), *t = input(1, n, 0);
        uint8_t *rm = as_mask(input(2, (size_t)B, 1), (size_t)B);
        float *dp = new_floats(n);
        double loss;
        if (cmd[0] == 'l') {
            loss = affect_l1_forward(p, t, rm, B, K);
            affect_l1_backward(dp, p, t, rm, B, K, (float)a[2]);
        } else {
            loss = affect_mse_forward(p, t, rm, B, K);
            affect_mse_backward(dp, p, t, rm, B, K, (float)a[2]);
        }
        put_doubles(&loss, 1);
        put_floats(dp, n);
    } else if (strcmp(cmd, "ms") == 0) {
        int B = (int)a[0], D = (int)a[1];
        affect_ms_params prm = {a[2], a[3], a[4], (affect_ms_reduction)(int)a[5]};
        size_t nbb = (size_t)B * B, n = (size_t)B * D;
        float *f = input(0, n, 0);
        uint8_t *pos = as_mask(input(1, nbb, 0), nbb), *neg = as_mask(input(2, nbb, 0), nbb);
        affect_error err;
        double loss;
        float *df = new_floats(n);
        if (affect_ms_loss_forward(&loss, f, pos, neg, B, D, &prm, &err) ||
            affect_ms_loss_backward(df, f, pos, neg, B, D, &prm, (float)a[6], &err)) {
            fprintf(stderr, "train_math_dump: %s\n", err.msg);
            exit(1);
        }
        put_doubles(&loss, 1);
        put_floats(df, n);
    } else if (strcmp(cmd, "msmask") == 0) {
        int B = (int)a[0], L = (int)a[1];
        size_t nbb = (size_t)B * B;
        float *lab = input(0, (size_t)B * L, 0);
        uint8_t *rv = as_mask(input(1, (size_t)B, 1), (size_t)B);
        uint8_t *pos = owned(malloc(nbb ? nbb : 1)), *neg = owned(malloc(nbb ? nbb : 1));
        affect_ms_pair_masks(pos, neg, lab, rv, B, L, a[2]);
        put_bytes(pos, nbb);
        put_bytes(neg, nbb);
    } else if (strcmp(cmd, "adamw") == 0) {
        int steps = (int)a[0];
        affect_adamw_hparams h = {a[1], a[2], a[3], a[4]};
        if (g_nin < 5) die("adamw needs 5 arrays");
        size_t total = g_in[0].n, nt = g_in[1].n;
        float *p = input(0, total, 0), *sizes = input(1, nt, 0), *decay = input(2, nt, 0);
        float *grads = input(3, (size_t)steps * total, 0), *lrs = input(4, (size_t)steps, 0);
        float *m = new_floats(total), *v = new_floats(total);
        affect_fspan *sp = spans_of(p, total, sizes, nt);
        for (int s = 0; s < steps; s++) {
            size_t off = 0;
            for (size_t t = 0; t < nt; t++) {
                affect_adamw_update(sp[t].data, grads + (size_t)s * total + off, m + off, v + off,
                                    sp[t].n, &h, (double)lrs[s], s + 1, decay[t] != 0.0f);
                off += sp[t].n;
            }
            put_floats(p, total);
        }
    } else if (strcmp(cmd, "sched") == 0) {
        int64_t warm = (int64_t)a[1], total = (int64_t)a[2];
        if (total < 0 || total > 10000000) die("bad total");
        double *mult = owned(malloc((size_t)(total + 1) * sizeof(double)));
        for (int64_t s = 0; s <= total; s++)
            mult[s] = affect_lr_multiplier((affect_lr_schedule)(int)a[0], s, warm, total, a[3]);
        put_doubles(mult, (size_t)(total + 1));
    } else if (strcmp(cmd, "warmup") == 0) {
        double w = (double)affect_warmup_steps((int64_t)a[0], a[1], (int64_t)a[2]);
        put_doubles(&w, 1);
    } else if (strcmp(cmd, "clip") == 0) {
        size_t total = g_in[0].n, nt = g_nin > 1 ? g_in[1].n : 0;
        float *g = input(0, total, 0), *sizes = input(1, nt, 0);
        affect_fspan *sp = spans_of(g, total, sizes, nt);
        double norm = affect_clip_grad_norm(sp, (int)nt, (float)a[0]);
        put_doubles(&norm, 1);
        put_floats(g, total);
    } else {
        die("unknown command");
    }
    if (fclose(g_out) != 0) die("close failed");
    free_all();
    return 0;
}
