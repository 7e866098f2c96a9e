#include "arch.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The module name transformers gives the encoder inside its *For* task models. */
const char *affect_arch_prefix(affect_family f) {
    switch (f) {
    case AFFECT_FAMILY_DISTILBERT: return "distilbert.";
    case AFFECT_FAMILY_ROBERTA: return "roberta.";
    default: return "bert.";
    }
}

/* Appends one entry; names are built with snprintf into fixed buffers that always fit
 * (layer numbers are < 256 and the longest name is ~50 characters). */
static void add(affect_param_ref *r, size_t *n, const char *name, const char *alt, float *dst,
                int64_t d0, int64_t d1) {
    affect_param_ref *e = &r[(*n)++];
    snprintf(e->name, sizeof e->name, "%s", name);
    snprintf(e->alt, sizeof e->alt, "%s", alt ? alt : "");
    e->dst = dst;
    e->ndim = d1 ? 2 : 1;
    e->shape[0] = d0;
    e->shape[1] = d1;
}

/* A LayerNorm's weight and bias, accepting the gamma/beta spelling. */
static void add_ln(affect_param_ref *r, size_t *n, const char *base, float *w, float *b,
                   int64_t H) {
    char nw[96], nb[96], aw[96], ab[96];
    snprintf(nw, sizeof nw, "%s.weight", base);
    snprintf(aw, sizeof aw, "%s.gamma", base);
    snprintf(nb, sizeof nb, "%s.bias", base);
    snprintf(ab, sizeof ab, "%s.beta", base);
    add(r, n, nw, aw, w, H, 0);
    add(r, n, nb, ab, b, H, 0);
}

/* A linear layer's weight (out, in) and bias (out). */
static void add_linear(affect_param_ref *r, size_t *n, const char *base, float *w, float *b,
                       int64_t out, int64_t in) {
    char nw[96], nb[96];
    snprintf(nw, sizeof nw, "%s.weight", base);
    snprintf(nb, sizeof nb, "%s.bias", base);
    add(r, n, nw, NULL, w, out, in);
    add(r, n, nb, NULL, b, out, 0);
}

/* The whole map, family by family. Q, K and V land in consecutive row blocks of the fused
 * (3H,H) matrix, which is why their destinations are offsets of one pointer. */
int affect_arch_param_refs(const affect_model_config *c, const affect_encoder_params *p,
                           affect_param_ref **refs, size_t *count, affect_error *err) {
    size_t H = (size_t)c->hidden, F = (size_t)c->ffn;
    size_t cap = 5 + 16 * (size_t)c->layers;
    affect_param_ref *r = calloc(cap, sizeof *r);
    if (!r) return affect_fail(err, AFFECT_ENOMEM, "out of memory for the checkpoint map");
    size_t n = 0;
    int distil = c->family == AFFECT_FAMILY_DISTILBERT;
    add(r, &n, "embeddings.word_embeddings.weight", NULL, p->wte, c->vocab_size, (int64_t)H);
    add(r, &n, "embeddings.position_embeddings.weight", NULL, p->wpe, c->max_positions, (int64_t)H);
    if (c->type_vocab > 0)
        add(r, &n, "embeddings.token_type_embeddings.weight", NULL, p->wtt, c->type_vocab, (int64_t)H);
    add_ln(r, &n, "embeddings.LayerNorm", p->emb_lnw, p->emb_lnb, (int64_t)H);
    for (int l = 0; l < c->layers; l++) {
        size_t L = (size_t)l;
        float *qw = p->qkvw + L * 3 * H * H, *qb = p->qkvb + L * 3 * H;
        float *ow = p->attprojw + L * H * H, *ob = p->attprojb + L * H;
        float *l1w = p->ln1w + L * H, *l1b = p->ln1b + L * H;
        float *fw = p->fcw + L * F * H, *fb = p->fcb + L * F;
        float *pw = p->fcprojw + L * H * F, *pb = p->fcprojb + L * H;
        float *l2w = p->ln2w + L * H, *l2b = p->ln2b + L * H;
        char b[96];
        const char *qkv[3], *o, *ln1, *fc, *pr, *ln2;
        if (distil) {
            qkv[0] = "attention.q_lin"; qkv[1] = "attention.k_lin"; qkv[2] = "attention.v_lin";
            o = "attention.out_lin"; ln1 = "sa_layer_norm"; fc = "ffn.lin1"; pr = "ffn.lin2";
            ln2 = "output_layer_norm";
        } else {
            qkv[0] = "attention.self.query"; qkv[1] = "attention.self.key";
            qkv[2] = "attention.self.value"; o = "attention.output.dense";
            ln1 = "attention.output.LayerNorm"; fc = "intermediate.dense"; pr = "output.dense";
            ln2 = "output.LayerNorm";
        }
        const char *stem = distil ? "transformer.layer" : "encoder.layer";
        for (int k = 0; k < 3; k++) {
            snprintf(b, sizeof b, "%s.%d.%s", stem, l, qkv[k]);
            add_linear(r, &n, b, qw + (size_t)k * H * H, qb + (size_t)k * H, (int64_t)H, (int64_t)H);
        }
        snprintf(b, sizeof b, "%s.%d.%s", stem, l, o);
        add_linear(r, &n, b, ow, ob, (int64_t)H, (int64_t)H);
        snprintf(b, sizeof b, "%s.%d.%s", stem, l, ln1);
        add_ln(r, &n, b, l1w, l1b, (int64_t)H);
        snprintf(b, sizeof b, "%s.%d.%s", stem, l, fc);
        add_linear(r, &n, b, fw, fb, (int64_t)F, (int64_t)H);
        snprintf(b, sizeof b, "%s.%d.%s", stem, l, pr);
        add_linear(r, &n, b, pw, pb, (int64_t)H, (int64_t)F);
        snprintf(b, sizeof b, "%s.%d.%s", stem, l, ln2);
        add_ln(r, &n, b, l2w, l2b, (int64_t)H);
    }
    *refs = r;
    *count = n;
    return AFFECT_OK;
}

/* Looks a name up with an optional prefix. */
static const affect_tensor *find(const affect_tensor_set *ts, const char *prefix,
                                 const char *name) {
    if (!name[0]) return NULL;
    char full[160];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    return affect_tensor_set_find(ts, full);
}

/* Weights must be floating point; to_f32 would also widen integers, which for a weight can
 * only mean a wrong file. */
static int is_float_dtype(affect_dtype dt) {
    return dt == AFFECT_DT_F32 || dt == AFFECT_DT_F16 || dt == AFFECT_DT_BF16 || dt == AFFECT_DT_F64;
}

/* The prefix is decided once, from the word embeddings, so a file never mixes prefixed and
 * bare names for one model; every failure names the tensor as the file should spell it. */
int affect_arch_load(const affect_model_config *c, const affect_encoder_params *p,
                     const affect_tensor_set *ts, const char *source, affect_error *err) {
    affect_param_ref *refs = NULL;
    size_t n = 0;
    int rc = affect_arch_param_refs(c, p, &refs, &n, err);
    if (rc) return rc;
    const char *fam = affect_arch_prefix(c->family);
    const char *prefix = fam;
    if (!find(ts, fam, refs[0].name) && find(ts, "", refs[0].name)) prefix = "";
    for (size_t i = 0; i < n && !rc; i++) {
        const affect_param_ref *e = &refs[i];
        const affect_tensor *t = find(ts, prefix, e->name);
        const char *shown = e->name;
        if (!t && (t = find(ts, prefix, e->alt))) shown = e->alt;
        char want[64], got[64];
        affect_shape_str(e->shape, e->ndim, want, sizeof want);
        if (!t) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: missing tensor '%s%s' (expected %s)",
                             source, prefix, e->name, want);
            break;
        }
        if (!is_float_dtype(t->dtype)) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s%s' has dtype %s, expected a float type",
                             source, prefix, shown, affect_dtype_name(t->dtype));
            break;
        }
        int same = t->ndim == e->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = t->shape[d] == e->shape[d];
        if (!same) {
            affect_shape_str(t->shape, t->ndim, got, sizeof got);
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: tensor '%s%s' has shape %s, expected %s",
                             source, prefix, shown, got, want);
            break;
        }
        rc = affect_tensor_to_f32(t, e->dst, err);
    }
    free(refs);
    return rc;
}
