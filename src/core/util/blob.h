/* A read-only view of a whole file's bytes: mmap'd where the platform has it (natively),
 * read into memory otherwise (WebAssembly). Weights are read in place from this view. */
#ifndef AFFECT_CORE_BLOB_H
#define AFFECT_CORE_BLOB_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef struct affect_blob {
    const uint8_t *data;
    size_t len;
    int mapped; /* 1: munmap on free; 0: free() */
} affect_blob;

int affect_blob_open(affect_blob *b, const char *path, affect_error *err);
/* Wraps memory the caller gives up ownership of (malloc'd). */
void affect_blob_from_malloc(affect_blob *b, void *data, size_t len);
void affect_blob_close(affect_blob *b);
/* Reads a whole small file into a NUL-terminated malloc'd buffer. */
int affect_read_file(const char *path, char **data, size_t *len, affect_error *err);
int affect_file_exists(const char *path);

#endif
