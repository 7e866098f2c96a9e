/* Helpers the tensor-file parsers share (safetensors.c, torch_load.c, tensors.c): checked
 * arithmetic on shapes, and a builder that collects tensors and hands them over as a sorted,
 * duplicate-free affect_tensor_set. Not part of the public API. */
#ifndef AFFECT_CORE_TENSORS_INTERNAL_H
#define AFFECT_CORE_TENSORS_INTERNAL_H
#include "tensors.h"

/* *out = a * b for a, b >= 0; 0 when it overflows int64 (or an input is negative), else 1. */
int tensors_mul(int64_t a, int64_t b, int64_t *out);

/* Product of the dims (1 for a scalar); 0 on overflow or a negative dim, else 1. */
int tensors_numel(const int64_t *shape, int ndim, int64_t *out);

typedef struct tensors_builder {
    affect_tensor *t;
    size_t n, cap;
} tensors_builder;

/* Appends a tensor whose name is copied from (name, name_len); fills everything but the name
 * from `t`. Names with an embedded NUL are refused (AFFECT_EFORMAT). */
int tensors_builder_add(tensors_builder *b, const char *name, size_t name_len,
                        const affect_tensor *t, const char *what, affect_error *err);
/* Sorts by name, refuses duplicates (AFFECT_EFORMAT naming the tensor and `what`, e.g. the
 * format) and moves the tensors into `ts`. The builder is empty afterwards either way. */
int tensors_builder_finish(tensors_builder *b, affect_tensor_set *ts, const char *what,
                           affect_error *err);
void tensors_builder_free(tensors_builder *b);

#endif
