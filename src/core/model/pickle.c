/* The restricted unpickler (see pickle.h). A stack machine over the opcodes torch.save's
 * pickles use; each opcode handler checks its operand bytes against the end of the input
 * and its stack operands against the current mark before touching them. */
#include "pickle.h"
#include "tensors.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_MAX_VALUES (1u << 20) /* ~20 per tensor in a state dict: room for 50k tensors */
#define PK_MAX_STACK (1u << 20)
#define PK_MAX_MARKS (1u << 16)
#define PK_MAX_MEMO (1u << 24)

typedef struct pk_state {
    pk_ctx *ctx;
    const uint8_t *buf;
    size_t len, pos;
    pk_value **stack;
    size_t sp, scap;
    size_t *marks;
    size_t nmarks, mcap;
    pk_value **memo;
    size_t mlen;    /* allocated slots */
    size_t mcount;  /* distinct keys set (MEMOIZE uses it as the next index) */
    affect_error *err;
} pk_state;

static int fail_at(pk_state *st, int code, const char *what) {
    return affect_fail(st->err, code, "pickle: %s at offset %zu", what, st->pos);
}

static pk_value *new_value(pk_state *st, pk_kind kind) {
    if (st->ctx->n_values >= PK_MAX_VALUES) {
        fail_at(st, AFFECT_EFORMAT, "too many values");
        return NULL;
    }
    pk_value *v = calloc(1, sizeof *v);
    if (!v) {
        affect_fail(st->err, AFFECT_ENOMEM, "pickle: out of memory");
        return NULL;
    }
    v->kind = kind;
    v->dtype = -1;
    v->next_alloc = st->ctx->all;
    st->ctx->all = v;
    st->ctx->n_values++;
    return v;
}

static int add_item(pk_state *st, pk_value *c, pk_value *item) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        pk_value **ni = realloc(c->items, cap * sizeof *ni);
        if (!ni) return affect_fail(st->err, AFFECT_ENOMEM, "pickle: out of memory");
        c->items = ni;
        c->cap = cap;
    }
    c->items[c->n++] = item;
    return 0;
}

static int push(pk_state *st, pk_value *v) {
    if (!v) return st->err ? st->err->code : AFFECT_ENOMEM;
    if (st->sp == st->scap) {
        if (st->scap >= PK_MAX_STACK) return fail_at(st, AFFECT_EFORMAT, "stack too deep");
        size_t cap = st->scap ? st->scap * 2 : 64;
        pk_value **ns = realloc(st->stack, cap * sizeof *ns);
        if (!ns) return affect_fail(st->err, AFFECT_ENOMEM, "pickle: out of memory");
        st->stack = ns;
        st->scap = cap;
    }
    st->stack[st->sp++] = v;
    return 0;
}

/* The lowest stack index an opcode may pop down to: values under the last MARK belong to
 * an enclosing construct. */
static size_t floor_sp(const pk_state *st) { return st->nmarks ? st->marks[st->nmarks - 1] : 0; }

static pk_value *pop(pk_state *st) {
    if (st->sp <= floor_sp(st)) {
        fail_at(st, AFFECT_EFORMAT, "stack underflow");
        return NULL;
    }
    return st->stack[--st->sp];
}

static pk_value *top(pk_state *st) {
    if (st->sp <= floor_sp(st)) {
        fail_at(st, AFFECT_EFORMAT, "stack underflow");
        return NULL;
    }
    return st->stack[st->sp - 1];
}

/* Pops the last MARK; *from is the stack index of the first value above it. */
static int pop_mark(pk_state *st, size_t *from) {
    if (!st->nmarks) return fail_at(st, AFFECT_EFORMAT, "no MARK on the stack");
    *from = st->marks[--st->nmarks];
    return 0;
}

static int need(pk_state *st, size_t n) {
    if (n > st->len - st->pos) return fail_at(st, AFFECT_EFORMAT, "truncated (operand runs past the end)");
    return 0;
}

static uint64_t rd_le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int memo_put(pk_state *st, uint64_t idx, pk_value *v) {
    /* a pickler numbers memo entries 0,1,2,... and each PUT costs >= 2 bytes, so an index
     * far beyond the bytes read so far is hostile, not large */
    if (idx >= PK_MAX_MEMO || idx > st->pos + 256) return fail_at(st, AFFECT_EFORMAT, "memo index out of range");
    if (idx >= st->mlen) {
        size_t nl = st->mlen ? st->mlen : 64;
        while (nl <= idx) nl *= 2;
        pk_value **nm = realloc(st->memo, nl * sizeof *nm);
        if (!nm) return affect_fail(st->err, AFFECT_ENOMEM, "pickle: out of memory");
        memset(nm + st->mlen, 0, (nl - st->mlen) * sizeof *nm);
        st->memo = nm;
        st->mlen = nl;
    }
    if (!st->memo[idx]) st->mcount++;
    st->memo[idx] = v;
    return 0;
}

static int memo_get(pk_state *st, uint64_t idx) {
    if (idx >= st->mlen || !st->memo[idx]) return fail_at(st, AFFECT_EFORMAT, "memo key not found");
    return push(st, st->memo[idx]);
}

/* ---- the allowlist ------------------------------------------------------------------------ */

typedef struct { const char *mod, *name; pk_global g; int dtype; } pk_allowed;

static const pk_allowed allowed[] = {
    {"collections", "OrderedDict", PKG_ORDERED_DICT, -1},
    {"torch", "Size", PKG_TORCH_SIZE, -1},
    {"torch._utils", "_rebuild_tensor", PKG_REBUILD_TENSOR, -1},
    {"torch._utils", "_rebuild_tensor_v2", PKG_REBUILD_TENSOR_V2, -1},
    {"torch._utils", "_rebuild_tensor_v3", PKG_REBUILD_TENSOR_V3, -1},
    {"torch._utils", "_rebuild_parameter", PKG_REBUILD_PARAMETER, -1},
    {"torch._utils", "_rebuild_parameter_with_state", PKG_REBUILD_PARAMETER_WITH_STATE, -1},
    {"torch.storage", "UntypedStorage", PKG_STORAGE, AFFECT_DT_U8},
    {"torch", "UntypedStorage", PKG_STORAGE, AFFECT_DT_U8},
    /* storage types; "torch.cuda" ones appear in files saved from a GPU */
    {"torch", "FloatStorage", PKG_STORAGE, AFFECT_DT_F32},
    {"torch", "HalfStorage", PKG_STORAGE, AFFECT_DT_F16},
    {"torch", "BFloat16Storage", PKG_STORAGE, AFFECT_DT_BF16},
    {"torch", "DoubleStorage", PKG_STORAGE, AFFECT_DT_F64},
    {"torch", "LongStorage", PKG_STORAGE, AFFECT_DT_I64},
    {"torch", "IntStorage", PKG_STORAGE, AFFECT_DT_I32},
    {"torch", "ShortStorage", PKG_STORAGE, AFFECT_DT_I16},
    {"torch", "CharStorage", PKG_STORAGE, AFFECT_DT_I8},
    {"torch", "ByteStorage", PKG_STORAGE, AFFECT_DT_U8},
    {"torch", "BoolStorage", PKG_STORAGE, AFFECT_DT_BOOL},
    {"torch", "ComplexFloatStorage", PKG_STORAGE, -1},
    {"torch", "ComplexDoubleStorage", PKG_STORAGE, -1},
    {"torch", "QInt8Storage", PKG_STORAGE, -1},
    {"torch", "QUInt8Storage", PKG_STORAGE, -1},
    {"torch", "QInt32Storage", PKG_STORAGE, -1},
    {"torch", "QUInt4x2Storage", PKG_STORAGE, -1},
    {"torch", "QUInt2x4Storage", PKG_STORAGE, -1},
    /* dtypes (pickled as GLOBAL torch.<name>) */
    {"torch", "float32", PKG_DTYPE, AFFECT_DT_F32},
    {"torch", "float16", PKG_DTYPE, AFFECT_DT_F16},
    {"torch", "bfloat16", PKG_DTYPE, AFFECT_DT_BF16},
    {"torch", "float64", PKG_DTYPE, AFFECT_DT_F64},
    {"torch", "int64", PKG_DTYPE, AFFECT_DT_I64},
    {"torch", "int32", PKG_DTYPE, AFFECT_DT_I32},
    {"torch", "int16", PKG_DTYPE, AFFECT_DT_I16},
    {"torch", "int8", PKG_DTYPE, AFFECT_DT_I8},
    {"torch", "uint8", PKG_DTYPE, AFFECT_DT_U8},
    {"torch", "bool", PKG_DTYPE, AFFECT_DT_BOOL},
    {"torch", "complex32", PKG_DTYPE, -1},
    {"torch", "complex64", PKG_DTYPE, -1},
    {"torch", "complex128", PKG_DTYPE, -1},
    {"torch", "uint16", PKG_DTYPE, -1},
    {"torch", "uint32", PKG_DTYPE, -1},
    {"torch", "uint64", PKG_DTYPE, -1},
    {"torch", "float8_e4m3fn", PKG_DTYPE, -1},
    {"torch", "float8_e5m2", PKG_DTYPE, -1},
};

static int streq(const char *s, size_t n, const char *lit) {
    return strlen(lit) == n && !memcmp(s, lit, n);
}

/* Looks (module, name) up in the allowlist and pushes a PK_GLOBAL; anything else ends the
 * load: this is the one place where a pickle could otherwise reach arbitrary code. */
static int push_global(pk_state *st, const char *mod, size_t ml, const char *name, size_t nl) {
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        const pk_allowed *a = &allowed[i];
        int mod_ok = streq(mod, ml, a->mod) ||
                     (a->g == PKG_STORAGE && !strcmp(a->mod, "torch") && streq(mod, ml, "torch.cuda"));
        if (!mod_ok || !streq(name, nl, a->name)) continue;
        pk_value *v = new_value(st, PK_GLOBAL);
        if (!v) return st->err ? st->err->code : AFFECT_ENOMEM;
        char *full = malloc(ml + nl + 2);
        if (!full) return affect_fail(st->err, AFFECT_ENOMEM, "pickle: out of memory");
        memcpy(full, mod, ml);
        full[ml] = '.';
        memcpy(full + ml + 1, name, nl);
        full[ml + 1 + nl] = 0;
        v->s = full;
        v->len = ml + 1 + nl;
        v->global = a->g;
        v->dtype = a->dtype;
        return push(st, v);
    }
    /* print the name safely: printable ASCII only, bounded */
    char shown[160];
    size_t o = 0;
    for (size_t i = 0; i < ml + 1 + nl && o + 1 < sizeof shown; i++) {
        unsigned char c = i < ml ? (unsigned char)mod[i] : i == ml ? '.' : (unsigned char)name[i - ml - 1];
        shown[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    shown[o] = 0;
    return affect_fail(st->err, AFFECT_EFORMAT, "pickle: global %s is not allowed", shown);
}

/* Text-protocol GLOBAL operands: "module\nname\n". */
static int read_line(pk_state *st, const char **s, size_t *n) {
    const uint8_t *start = st->buf + st->pos;
    const uint8_t *nl = memchr(start, '\n', st->len - st->pos);
    if (!nl) return fail_at(st, AFFECT_EFORMAT, "truncated (unterminated line)");
    *s = (const char *)start;
    *n = (size_t)(nl - start);
    st->pos += *n + 1;
    return 0;
}

/* ---- calls -------------------------------------------------------------------------------- */

/* REDUCE / NEWOBJ: only an OrderedDict or torch.Size is built here; rebuild functions
 * become PK_CALL nodes for the torch layer; storages and dtypes are not callable. */
static int do_call(pk_state *st, pk_value *fn, pk_value *args) {
    if (fn->kind != PK_GLOBAL) return fail_at(st, AFFECT_EFORMAT, "REDUCE of something that is not a global");
    if (args->kind != PK_TUPLE) return fail_at(st, AFFECT_EFORMAT, "REDUCE arguments are not a tuple");
    switch (fn->global) {
    case PKG_ORDERED_DICT: {
        pk_value *d = new_value(st, PK_DICT);
        if (!d) return st->err ? st->err->code : AFFECT_ENOMEM;
        if (args->n == 1 && args->items[0]->kind == PK_LIST) { /* OrderedDict([(k, v), ...]) */
            pk_value *l = args->items[0];
            for (size_t i = 0; i < l->n; i++) {
                pk_value *p = l->items[i];
                if ((p->kind != PK_TUPLE && p->kind != PK_LIST) || p->n != 2)
                    return fail_at(st, AFFECT_EFORMAT, "OrderedDict item is not a pair");
                int rc = add_item(st, d, p->items[0]);
                if (!rc) rc = add_item(st, d, p->items[1]);
                if (rc) return rc;
            }
        } else if (args->n != 0) {
            return fail_at(st, AFFECT_EFORMAT, "unexpected OrderedDict arguments");
        }
        return push(st, d);
    }
    case PKG_TORCH_SIZE:
        if (args->n != 1 || args->items[0]->kind != PK_TUPLE)
            return fail_at(st, AFFECT_EFORMAT, "torch.Size expects one tuple");
        return push(st, args->items[0]);
    case PKG_REBUILD_TENSOR: case PKG_REBUILD_TENSOR_V2: case PKG_REBUILD_TENSOR_V3:
    case PKG_REBUILD_PARAMETER: case PKG_REBUILD_PARAMETER_WITH_STATE: {
        pk_value *c = new_value(st, PK_CALL);
        if (!c) return st->err ? st->err->code : AFFECT_ENOMEM;
        c->global = fn->global;
        c->s = fn->s;
        c->len = fn->len;
        for (size_t i = 0; i < args->n; i++) {
            int rc = add_item(st, c, args->items[i]);
            if (rc) return rc;
        }
        return push(st, c);
    }
    case PKG_STORAGE: case PKG_DTYPE:
        break;
    }
    return affect_fail(st->err, AFFECT_EFORMAT, "pickle: %s may not be called", fn->s);
}

/* Pops the values above the last MARK into a new container of `kind`. */
static int collect_marked(pk_state *st, pk_kind kind) {
    size_t from = 0;
    int rc = pop_mark(st, &from);
    if (rc) return rc;
    pk_value *t = new_value(st, kind);
    if (!t) return st->err ? st->err->code : AFFECT_ENOMEM;
    for (size_t i = from; i < st->sp; i++)
        if ((rc = add_item(st, t, st->stack[i]))) return rc;
    st->sp = from;
    return push(st, t);
}

static int make_tuple(pk_state *st, int n) {
    if (st->sp < floor_sp(st) + (size_t)n) return fail_at(st, AFFECT_EFORMAT, "stack underflow");
    pk_value *t = new_value(st, PK_TUPLE);
    if (!t) return st->err ? st->err->code : AFFECT_ENOMEM;
    for (size_t i = st->sp - (size_t)n; i < st->sp; i++) {
        int rc = add_item(st, t, st->stack[i]);
        if (rc) return rc;
    }
    st->sp -= (size_t)n;
    return push(st, t);
}

/* APPENDS/SETITEMS/ADDITEMS: moves the marked values into the container under the mark. */
static int extend_marked(pk_state *st, pk_kind want, int pairs, const char *op) {
    size_t from = 0;
    int rc = pop_mark(st, &from);
    if (rc) return rc;
    if (from <= floor_sp(st)) return fail_at(st, AFFECT_EFORMAT, "stack underflow");
    pk_value *c = st->stack[from - 1];
    if (c->kind != want) {
        char m[64];
        snprintf(m, sizeof m, "%s on a value of the wrong type", op);
        return fail_at(st, AFFECT_EFORMAT, m);
    }
    if (pairs && (st->sp - from) % 2) return fail_at(st, AFFECT_EFORMAT, "SETITEMS with an odd count");
    for (size_t i = from; i < st->sp; i++)
        if ((rc = add_item(st, c, st->stack[i]))) return rc;
    st->sp = from;
    return 0;
}

static int push_str(pk_state *st, pk_kind kind, size_t n) {
    if (need(st, n)) return st->err->code;
    pk_value *v = new_value(st, kind);
    if (!v) return st->err ? st->err->code : AFFECT_ENOMEM;
    v->s = (const char *)st->buf + st->pos;
    v->len = n;
    st->pos += n;
    return push(st, v);
}

static int push_int(pk_state *st, int64_t x) {
    pk_value *v = new_value(st, PK_INT);
    if (!v) return st->err ? st->err->code : AFFECT_ENOMEM;
    v->i = x;
    return push(st, v);
}

/* LONG1/LONG4: little-endian two's complement of n bytes; up to 8 bytes become an int64,
 * wider ones keep their bytes (torch's legacy magic number is 10 bytes wide). */
static int push_long(pk_state *st, size_t n) {
    if (need(st, n)) return st->err->code;
    const uint8_t *p = st->buf + st->pos;
    pk_value *v = new_value(st, PK_INT);
    if (!v) return st->err ? st->err->code : AFFECT_ENOMEM;
    if (n <= 8) {
        uint64_t u = n ? rd_le(p, (int)n) : 0;
        if (n && n < 8 && (p[n - 1] & 0x80)) u |= ~(uint64_t)0 << (8 * n);
        memcpy(&v->i, &u, 8); /* two's complement reinterpretation, no UB */
    } else {
        v->big = 1;
        v->s = (const char *)p;
        v->len = n;
    }
    st->pos += n;
    return push(st, v);
}

/* ---- the machine -------------------------------------------------------------------------- */

static int run(pk_state *st, pk_value **out) {
    int rc = 0;
    for (;;) {
        if (st->pos >= st->len) return fail_at(st, AFFECT_EFORMAT, "truncated (no STOP)");
        uint8_t op = st->buf[st->pos++];
        switch (op) {
        case 0x80: /* PROTO */
            if (need(st, 1)) return st->err->code;
            if (st->buf[st->pos] > 5) return fail_at(st, AFFECT_EUNSUPPORTED, "protocol above 5");
            st->pos++;
            break;
        case 0x95: /* FRAME: framing is only a read-ahead hint */
            if (need(st, 8)) return st->err->code;
            st->pos += 8;
            break;
        case 0x2e: { /* STOP */
            pk_value *v = pop(st);
            if (!v) return st->err->code;
            *out = v;
            return 0;
        }
        case 0x28: /* MARK */
            if (st->nmarks == st->mcap) {
                if (st->mcap >= PK_MAX_MARKS) return fail_at(st, AFFECT_EFORMAT, "too many nested MARKs");
                size_t cap = st->mcap ? st->mcap * 2 : 16;
                size_t *nm = realloc(st->marks, cap * sizeof *nm);
                if (!nm) return affect_fail(st->err, AFFECT_ENOMEM, "pickle: out of memory");
                st->marks = nm;
                st->mcap = cap;
            }
            st->marks[st->nmarks++] = st->sp;
            break;
        case 0x30: /* POP */
            if (!pop(st)) return st->err->code;
            break;
        case 0x31: { /* POP_MARK */
            size_t from = 0;
            if ((rc = pop_mark(st, &from))) return rc;
            st->sp = from;
            break;
        }
        case 0x32: { /* DUP */
            pk_value *v = top(st);
            if (!v) return st->err->code;
            if ((rc = push(st, v))) return rc;
            break;
        }
        case 0x4e: rc = push(st, new_value(st, PK_NONE)); break;
        case 0x88: case 0x89: { /* NEWTRUE / NEWFALSE */
            pk_value *v = new_value(st, PK_BOOL);
            if (v) v->i = op == 0x88;
            rc = push(st, v);
            break;
        }
        case 0x4a: /* BININT */
            if (need(st, 4)) return st->err->code;
            rc = push_int(st, (int32_t)(uint32_t)rd_le(st->buf + st->pos, 4));
            st->pos += 4;
            break;
        case 0x4b: /* BININT1 */
            if (need(st, 1)) return st->err->code;
            rc = push_int(st, st->buf[st->pos++]);
            break;
        case 0x4d: /* BININT2 */
            if (need(st, 2)) return st->err->code;
            rc = push_int(st, (int64_t)rd_le(st->buf + st->pos, 2));
            st->pos += 2;
            break;
        case 0x8a: /* LONG1 */
            if (need(st, 1)) return st->err->code;
            rc = push_long(st, st->buf[st->pos++]);
            break;
        case 0x8b: { /* LONG4 */
            if (need(st, 4)) return st->err->code;
            uint32_t n = (uint32_t)rd_le(st->buf + st->pos, 4);
            st->pos += 4;
            if (n & 0x80000000u) return fail_at(st, AFFECT_EFORMAT, "LONG4 with a negative length");
            rc = push_long(st, n);
            break;
        }
        case 0x47: { /* BINFLOAT: big-endian double */
            if (need(st, 8)) return st->err->code;
            uint64_t u = 0;
            for (int i = 0; i < 8; i++) u = (u << 8) | st->buf[st->pos + (size_t)i];
            st->pos += 8;
            pk_value *v = new_value(st, PK_FLOAT);
            if (v) memcpy(&v->f, &u, 8);
            rc = push(st, v);
            break;
        }
        case 0x58: case 0x8c: case 0x8d: /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
        case 0x54: case 0x55:            /* BINSTRING, SHORT_BINSTRING (Python 2 str) */
        case 0x42: case 0x43: case 0x8e: { /* BINBYTES, SHORT_BINBYTES, BINBYTES8 */
            int w = (op == 0x8c || op == 0x55 || op == 0x43) ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
            if (need(st, (size_t)w)) return st->err->code;
            uint64_t n = rd_le(st->buf + st->pos, w);
            st->pos += (size_t)w;
            if (op == 0x54 && (n & 0x80000000u)) return fail_at(st, AFFECT_EFORMAT, "negative string length");
            if (n > st->len - st->pos) return fail_at(st, AFFECT_EFORMAT, "truncated (string runs past the end)");
            rc = push_str(st, (op == 0x42 || op == 0x43 || op == 0x8e) ? PK_BYTES : PK_STR, (size_t)n);
            break;
        }
        case 0x29: rc = push(st, new_value(st, PK_TUPLE)); break;  /* EMPTY_TUPLE */
        case 0x5d: rc = push(st, new_value(st, PK_LIST)); break;   /* EMPTY_LIST */
        case 0x7d: rc = push(st, new_value(st, PK_DICT)); break;   /* EMPTY_DICT */
        case 0x8f: rc = push(st, new_value(st, PK_SET)); break;    /* EMPTY_SET */
        case 0x74: rc = collect_marked(st, PK_TUPLE); break;       /* TUPLE */
        case 0x6c: rc = collect_marked(st, PK_LIST); break;        /* LIST */
        case 0x91: rc = collect_marked(st, PK_SET); break;         /* FROZENSET */
        case 0x64: /* DICT */
            if (st->nmarks && (st->sp - st->marks[st->nmarks - 1]) % 2)
                return fail_at(st, AFFECT_EFORMAT, "DICT with an odd count");
            rc = collect_marked(st, PK_DICT);
            break;
        case 0x85: rc = make_tuple(st, 1); break;
        case 0x86: rc = make_tuple(st, 2); break;
        case 0x87: rc = make_tuple(st, 3); break;
        case 0x61: { /* APPEND */
            pk_value *v = pop(st), *l = v ? top(st) : NULL;
            if (!l) return st->err->code;
            if (l->kind != PK_LIST) return fail_at(st, AFFECT_EFORMAT, "APPEND to a non-list");
            rc = add_item(st, l, v);
            break;
        }
        case 0x65: rc = extend_marked(st, PK_LIST, 0, "APPENDS"); break;
        case 0x90: rc = extend_marked(st, PK_SET, 0, "ADDITEMS"); break;
        case 0x75: rc = extend_marked(st, PK_DICT, 1, "SETITEMS"); break;
        case 0x73: { /* SETITEM */
            pk_value *v = pop(st), *k = v ? pop(st) : NULL, *d = k ? top(st) : NULL;
            if (!d) return st->err->code;
            if (d->kind != PK_DICT) return fail_at(st, AFFECT_EFORMAT, "SETITEM on a non-dict");
            if (!(rc = add_item(st, d, k))) rc = add_item(st, d, v);
            break;
        }
        case 0x71: case 0x72: { /* BINPUT, LONG_BINPUT */
            int w = op == 0x71 ? 1 : 4;
            if (need(st, (size_t)w)) return st->err->code;
            uint64_t idx = rd_le(st->buf + st->pos, w);
            st->pos += (size_t)w;
            pk_value *v = top(st);
            if (!v) return st->err->code;
            rc = memo_put(st, idx, v);
            break;
        }
        case 0x94: { /* MEMOIZE */
            pk_value *v = top(st);
            if (!v) return st->err->code;
            rc = memo_put(st, st->mcount, v);
            break;
        }
        case 0x68: case 0x6a: { /* BINGET, LONG_BINGET */
            int w = op == 0x68 ? 1 : 4;
            if (need(st, (size_t)w)) return st->err->code;
            uint64_t idx = rd_le(st->buf + st->pos, w);
            st->pos += (size_t)w;
            rc = memo_get(st, idx);
            break;
        }
        case 0x63: { /* GLOBAL */
            const char *m, *n;
            size_t ml, nl;
            if ((rc = read_line(st, &m, &ml)) || (rc = read_line(st, &n, &nl))) return rc;
            rc = push_global(st, m, ml, n, nl);
            break;
        }
        case 0x93: { /* STACK_GLOBAL */
            pk_value *n = pop(st), *m = n ? pop(st) : NULL;
            if (!m) return st->err->code;
            if (m->kind != PK_STR || n->kind != PK_STR) return fail_at(st, AFFECT_EFORMAT, "STACK_GLOBAL needs two strings");
            rc = push_global(st, m->s, m->len, n->s, n->len);
            break;
        }
        case 0x52: case 0x81: { /* REDUCE, NEWOBJ */
            pk_value *args = pop(st), *fn = args ? pop(st) : NULL;
            if (!fn) return st->err->code;
            rc = do_call(st, fn, args);
            break;
        }
        case 0x62: { /* BUILD: state is dropped (OrderedDict._metadata, tensor state) */
            pk_value *state = pop(st), *obj = state ? top(st) : NULL;
            if (!obj) return st->err->code;
            if (obj->kind != PK_DICT && obj->kind != PK_CALL)
                return fail_at(st, AFFECT_EFORMAT, "BUILD on a value that is not a dict or tensor");
            break;
        }
        case 0x51: { /* BINPERSID */
            pk_value *id = pop(st);
            if (!id) return st->err->code;
            pk_value *p = new_value(st, PK_PERSID);
            if (!p) return st->err ? st->err->code : AFFECT_ENOMEM;
            p->i = -1;
            if ((rc = add_item(st, p, id))) return rc;
            if (st->ctx->persid && (rc = st->ctx->persid(st->ctx->user, p, st->err))) return rc;
            rc = push(st, p);
            break;
        }
        default: {
            char m[64];
            st->pos--;
            snprintf(m, sizeof m, "unsupported opcode 0x%02x", op);
            return fail_at(st, AFFECT_EFORMAT, m);
        }
        }
        if (rc) return rc;
    }
}

int pk_load(pk_ctx *ctx, const uint8_t *buf, size_t len, size_t *used, pk_value **out,
            affect_error *err) {
    affect_error local;
    pk_state st;
    memset(&st, 0, sizeof st);
    st.ctx = ctx;
    st.buf = buf;
    st.len = buf ? len : 0;
    st.err = err ? err : &local;
    *out = NULL;
    int rc = run(&st, out);
    if (rc) *out = NULL;
    if (used) *used = st.pos;
    free(st.stack);
    free(st.marks);
    free(st.memo);
    return rc;
}

void pk_ctx_free(pk_ctx *ctx) {
    if (!ctx) return;
    pk_value *v = ctx->all;
    while (v) {
        pk_value *n = v->next_alloc;
        free(v->items);
        if (v->kind == PK_GLOBAL) free((void *)v->s);
        free(v);
        v = n;
    }
    ctx->all = NULL;
    ctx->n_values = 0;
}

const pk_value *pk_dict_get(const pk_value *dict, const char *key) {
    if (!dict || dict->kind != PK_DICT) return NULL;
    const pk_value *found = NULL;
    size_t kl = strlen(key);
    for (size_t i = 0; i + 1 < dict->n; i += 2) {
        const pk_value *k = dict->items[i];
        if (k->kind == PK_STR && k->len == kl && !memcmp(k->s, key, kl)) found = dict->items[i + 1];
    }
    return found;
}
