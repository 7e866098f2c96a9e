/* Named tensors read in place from a weights file: safetensors, or PyTorch's torch.save
 * output (zip format, or the legacy pre-1.6 format). The bytes belong to an affect_blob
 * (mmap'd natively); a tensor set only points into them. Every length, offset and shape
 * product is checked against the file before use, so a corrupt file is an error, not a crash.
 *
 * Usage:
 *     affect_blob b; affect_tensor_set ts;
 *     affect_blob_open(&b, path, &err);
 *     affect_tensors_parse_any(&ts, b.data, b.len, &err);   // no tensor data is copied
 *     const affect_tensor *w = affect_tensor_set_find(&ts, "embeddings.word_embeddings.weight");
 *     affect_tensor_to_f32(w, dst, &err);                    // any dtype, any strides
 *     affect_tensor_set_free(&ts); affect_blob_close(&b);
 *
 * Torch files are read by a restricted unpickler (pickle.c): only the globals a state dict
 * needs (collections.OrderedDict, torch._utils._rebuild_* functions, torch.*Storage types,
 * torch dtypes, torch.Size) may appear; anything else (os.system, ...) is AFFECT_EFORMAT
 * "pickle: global X.Y is not allowed" and nothing is ever executed. A state dict nested in a
 * dict (e.g. {"model": {...}, "epoch": 3}) gives names joined with '.'; non-tensor values are
 * skipped. Multi-byte values in every format are little endian (the host must be too: x86,
 * ARM, WebAssembly). */
#ifndef AFFECT_CORE_TENSORS_H
#define AFFECT_CORE_TENSORS_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

#define AFFECT_MAX_DIMS 8

typedef enum {
    AFFECT_DT_F32, AFFECT_DT_F16, AFFECT_DT_BF16, AFFECT_DT_F64,
    AFFECT_DT_I64, AFFECT_DT_I32, AFFECT_DT_I16, AFFECT_DT_I8, AFFECT_DT_U8, AFFECT_DT_BOOL
} affect_dtype;

/* Bytes per element (0 for a value outside the enum) and the safetensors spelling
 * ("F32", "BF16", ..., "?" outside the enum). */
size_t affect_dtype_size(affect_dtype dt);
const char *affect_dtype_name(affect_dtype dt);

typedef struct affect_tensor {
    char *name;                      /* owned, NUL-terminated */
    affect_dtype dtype;
    int ndim;                        /* 0 (a scalar) .. AFFECT_MAX_DIMS */
    int64_t shape[AFFECT_MAX_DIMS];
    int64_t stride[AFFECT_MAX_DIMS]; /* in elements, >= 0; row-major contiguous for safetensors,
                                        torch's own strides for torch files (views, .t()) */
    const uint8_t *data;             /* first element (storage base + offset), inside the blob;
                                        may be unaligned: read through memcpy or to_f32.
                                        Every element the shape/strides address is in the
                                        file (checked); for numel 0 it is never read */
    int64_t numel;
} affect_tensor;

/* Tensors sorted by name (strcmp order); names are unique. */
typedef struct affect_tensor_set {
    affect_tensor *t;
    size_t n;
} affect_tensor_set;

/* Parsers: `buf` must stay alive (and unmodified) while the set is used. On error the set is
 * left empty ({NULL, 0}) and is safe to free. */
int affect_safetensors_parse(affect_tensor_set *ts, const uint8_t *buf, size_t len,
                             affect_error *err);
/* torch.save output: detects the zip format (PK\3\4) or the legacy format (pickle magic). */
int affect_torch_parse(affect_tensor_set *ts, const uint8_t *buf, size_t len,
                       affect_error *err);
/* Picks the parser by content (safetensors header, zip, legacy pickle). */
int affect_tensors_parse_any(affect_tensor_set *ts, const uint8_t *buf, size_t len,
                             affect_error *err);
void affect_tensor_set_free(affect_tensor_set *ts);

/* Binary search by exact name; NULL when absent. */
const affect_tensor *affect_tensor_set_find(const affect_tensor_set *ts, const char *name);

/* Copies a tensor (any dtype: floats exactly widened, F64 rounded to nearest, integers and
 * bool converted; any strides) into `dst` as contiguous row-major f32.
 * `dst` holds t->numel floats. */
int affect_tensor_to_f32(const affect_tensor *t, float *dst, affect_error *err);

/* Formats a shape as "[768, 3072]" ("[]" for a scalar) into buf; returns buf. */
const char *affect_shape_str(const int64_t *shape, int ndim, char *buf, size_t buflen);

/* Writes a safetensors file image into a malloc'd buffer (header + data, 8-byte aligned
 * header as the spec asks). Tensors given as contiguous f32. `metadata` is an optional
 * flat list of key/value string pairs (n_meta pairs, so 2*n_meta strings). */
typedef struct affect_tensor_f32 {
    const char *name;
    int ndim;
    int64_t shape[AFFECT_MAX_DIMS];
    const float *data;
} affect_tensor_f32;
int affect_safetensors_write(const affect_tensor_f32 *ts, size_t n, const char *const *metadata,
                             size_t n_meta, uint8_t **out, size_t *out_len, affect_error *err);

#endif
