/* A restricted unpickler: it reads the pickles torch.save writes (protocols 2..5) into a
 * small tree of values and never executes anything. The idea mirrors PyTorch's own
 * torch/_weights_only_unpickler.py: GLOBAL may name only an allowlist (collections.
 * OrderedDict, torch._utils._rebuild_* functions, torch storage classes and dtypes,
 * torch.Size); any other global fails the load with AFFECT_EFORMAT
 * "pickle: global X.Y is not allowed". REDUCE of a rebuild function is not evaluated but
 * recorded as a PK_CALL node (function + argument tuple) that torch_load.c interprets;
 * BINPERSID wraps its id in a PK_PERSID node and tells a callback about it.
 *
 * Limits: values, stack entries, marks and memo indices are bounded, so a hostile pickle
 * costs at most memory proportional to its own size, and every length is checked against
 * the bytes that remain. */
#ifndef AFFECT_CORE_PICKLE_H
#define AFFECT_CORE_PICKLE_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef enum {
    PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_DICT, PK_SET,
    PK_GLOBAL, /* an allowlisted global: `global` says which, `dtype` for storages/dtypes */
    PK_CALL,   /* REDUCE of a rebuild function: `global` + args in items (the tuple's items) */
    PK_PERSID  /* persistent id: items[0] is the id (a tuple for torch) */
} pk_kind;

typedef enum {
    PKG_ORDERED_DICT,
    PKG_TORCH_SIZE,
    PKG_REBUILD_TENSOR,    /* torch._utils._rebuild_tensor(storage, offset, size, stride) */
    PKG_REBUILD_TENSOR_V2, /* (storage, offset, size, stride, requires_grad, hooks[, meta]) */
    PKG_REBUILD_TENSOR_V3, /* (..., hooks, dtype[, meta]) */
    PKG_REBUILD_PARAMETER, /* (tensor, requires_grad, hooks) */
    PKG_REBUILD_PARAMETER_WITH_STATE, /* (tensor, requires_grad, hooks, state) */
    PKG_STORAGE,           /* torch.FloatStorage, ...: `dtype` (-1: a type affect can't read) */
    PKG_DTYPE              /* torch.float32, ...: `dtype` (-1: unsupported) */
} pk_global;

typedef struct pk_value pk_value;
struct pk_value {
    pk_kind kind;
    int64_t i;          /* PK_BOOL, PK_INT (when !big), PK_PERSID: the callback's tag */
    double f;           /* PK_FLOAT */
    const char *s;      /* PK_STR/PK_BYTES: into the pickle bytes (not NUL-terminated);
                           PK_INT big: the little-endian two's complement bytes;
                           PK_GLOBAL: the name "module.name" (owned copy, NUL-terminated) */
    size_t len;
    int big;            /* PK_INT wider than 64 bits: see s/len */
    pk_global global;   /* PK_GLOBAL, PK_CALL */
    int dtype;          /* PK_GLOBAL storage/dtype: an affect_dtype or -1 */
    pk_value **items;   /* tuple/list/set items; dict: key, value, key, value...; call args */
    size_t n, cap;      /* n items (a dict holds n/2 pairs) */
    pk_value *next_alloc;
};

/* Called for each BINPERSID with the id; may set pid->i (a tag) on the PK_PERSID node it
 * receives. A non-zero return aborts the load with that code (err already filled). */
typedef int (*pk_persid_fn)(void *user, pk_value *node, affect_error *err);

/* Owns every value made while loading one or several pickles (the legacy torch format is a
 * sequence of them); values stay valid until pk_ctx_free. */
typedef struct pk_ctx {
    pk_value *all;      /* every allocated value, to free */
    size_t n_values;
    pk_persid_fn persid;
    void *user;
} pk_ctx;

/* Loads one pickle from buf[0..len) up to its STOP; *used = bytes consumed. */
int pk_load(pk_ctx *ctx, const uint8_t *buf, size_t len, size_t *used, pk_value **out,
            affect_error *err);
void pk_ctx_free(pk_ctx *ctx);

/* Dict lookup by string key (last match wins, as in Python); NULL when absent. */
const pk_value *pk_dict_get(const pk_value *dict, const char *key);

#endif
