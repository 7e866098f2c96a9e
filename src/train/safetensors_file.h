/*
 * Writes a safetensors file straight from the trainer's arenas to disk, tensor by tensor:
 * checkpoints of a full-size model are hundreds of MB (parameters, then twice that in AdamW
 * moments), so building the whole file image in memory first (affect_safetensors_write) would
 * raise the training run's peak memory by that much. The header is what the Rust crate and
 * affect_safetensors_parse accept: F32 / I64 entries, offsets contiguous in the order given,
 * optional "__metadata__" of string pairs, padded with spaces to 8-byte alignment.
 */
#ifndef AFFECT_TRAIN_SAFETENSORS_FILE_H
#define AFFECT_TRAIN_SAFETENSORS_FILE_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef struct affect_st_out {
    const char *name;
    int is_i64;          /* 0: F32 data, 1: I64 data */
    int ndim;            /* 0..2 */
    int64_t shape[2];
    const void *data;    /* contiguous, little endian */
} affect_st_out;

/* Creates `path` (in place: the caller stages it in a folder published atomically), writes
 * the tensors and metadata (n_meta key/value pairs), fsyncs and closes. On error the partial
 * file is removed. */
int affect_safetensors_save(const char *path, const affect_st_out *t, size_t n,
                            const char *const *metadata, size_t n_meta, affect_error *err);

#endif
