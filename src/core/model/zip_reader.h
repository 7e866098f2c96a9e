/* A minimal, read-only ZIP reader for torch.save archives: it reads the central directory
 * (ZIP64 included: torch writes ZIP64 records for large files) and hands out pointers to the
 * bytes of STORED entries in place. Compressed or encrypted entries are refused with
 * AFFECT_EUNSUPPORTED: torch.save never writes them. CRCs are not verified (the point is to
 * touch no tensor byte while loading). */
#ifndef AFFECT_CORE_ZIP_READER_H
#define AFFECT_CORE_ZIP_READER_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef struct affect_zip_entry {
    const char *name;      /* points into the archive, not NUL-terminated */
    size_t name_len;
    uint64_t local_offset; /* of the local file header */
    uint64_t csize, usize; /* compressed / uncompressed sizes (equal when stored) */
    uint16_t method, flags;
} affect_zip_entry;

typedef struct affect_zip {
    const uint8_t *buf;
    size_t len;
    affect_zip_entry *e;   /* sorted by name */
    size_t n;
} affect_zip;

/* Reads the central directory; every entry's header fields are bounds-checked against the
 * buffer. Duplicate entry names are refused. */
int affect_zip_open(affect_zip *z, const uint8_t *buf, size_t len, affect_error *err);
void affect_zip_close(affect_zip *z);
/* Entry by exact name (binary search); NULL when absent. */
const affect_zip_entry *affect_zip_find(const affect_zip *z, const char *name, size_t name_len);
/* The bytes of a STORED entry, in place; checks the local header and the data's extent. */
int affect_zip_data(const affect_zip *z, const affect_zip_entry *e, const uint8_t **data,
                    size_t *len, affect_error *err);

#endif
