/* An open-addressing hash map from a 64-bit key to a 64-bit signed value, the one table the
 * WordPiece trainer needs many of: pair counts keyed by (left id << 32 | right id), the
 * alphabet keyed by code point, and the per-merge "where to update" index. Linear probing,
 * power-of-two capacity, load factor <= 1/2; UINT64_MAX is reserved as the empty key.
 * No deletion of single keys (the trainer never needs it), only clearing the whole map. */
#ifndef AFFECT_VOCAB_PAIR_MAP_H
#define AFFECT_VOCAB_PAIR_MAP_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

#define PAIR_MAP_EMPTY UINT64_MAX

typedef struct pair_map {
    uint64_t *keys; /* (cap) PAIR_MAP_EMPTY = free slot */
    int64_t *vals;  /* (cap) */
    size_t cap;     /* power of two, or 0 before the first insert */
    size_t count;
} pair_map;

static inline uint64_t pair_key(uint32_t a, uint32_t b) { return ((uint64_t)a << 32) | b; }

/* Pointer to the value of `key`, or NULL when absent. The pointer is valid until the next
 * insertion. */
int64_t *pair_map_get(const pair_map *m, uint64_t key);
/* Pointer to the value of `key`, inserting it with value `init` when absent (*inserted set
 * to 1 then, 0 otherwise; `inserted` may be NULL). Returns NULL on allocation failure (err
 * filled) or when key is PAIR_MAP_EMPTY (AFFECT_EARG). */
int64_t *pair_map_upsert(pair_map *m, uint64_t key, int64_t init, int *inserted, affect_error *err);
/* Empties the map (keeping its memory unless it was mostly empty). */
void pair_map_clear(pair_map *m);
void pair_map_free(pair_map *m);

#endif
