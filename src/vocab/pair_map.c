/* pair_map: see pair_map.h. */
#include "vocab/pair_map.h"
#include <stdlib.h>
#include <string.h>
#include "util/error.h"

/* splitmix64's finalizer: pair keys differ mostly in their low bits of each half, and
 * linear probing needs every key bit to reach the slot index. */
static size_t slot_of(uint64_t key, size_t cap) {
    uint64_t x = key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x & (cap - 1);
}

int64_t *pair_map_get(const pair_map *m, uint64_t key) {
    if (!m->cap || key == PAIR_MAP_EMPTY) return NULL;
    for (size_t s = slot_of(key, m->cap);; s = (s + 1) & (m->cap - 1)) {
        if (m->keys[s] == key) return &m->vals[s];
        if (m->keys[s] == PAIR_MAP_EMPTY) return NULL;
    }
}

/* Moves every entry into tables of `ncap` slots (a power of two above 2 * count). */
static int grow(pair_map *m, size_t ncap, affect_error *err) {
    if (ncap > SIZE_MAX / sizeof(uint64_t))
        return affect_fail(err, AFFECT_ENOMEM, "pair map: %zu slots overflow size_t", ncap);
    uint64_t *keys = malloc(ncap * sizeof *keys);
    int64_t *vals = malloc(ncap * sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return affect_fail(err, AFFECT_ENOMEM, "pair map: out of memory for %zu slots", ncap);
    }
    for (size_t i = 0; i < ncap; i++) keys[i] = PAIR_MAP_EMPTY;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == PAIR_MAP_EMPTY) continue;
        size_t s = slot_of(m->keys[i], ncap);
        while (keys[s] != PAIR_MAP_EMPTY) s = (s + 1) & (ncap - 1);
        keys[s] = m->keys[i];
        vals[s] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = ncap;
    return 0;
}

int64_t *pair_map_upsert(pair_map *m, uint64_t key, int64_t init, int *inserted, affect_error *err) {
    if (inserted) *inserted = 0;
    if (key == PAIR_MAP_EMPTY) {
        affect_fail(err, AFFECT_EARG, "pair map: key 0x%llx is reserved", (unsigned long long)key);
        return NULL;
    }
    if ((m->count + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap : 64;
        while ((m->count + 1) * 2 > ncap) {
            if (ncap > SIZE_MAX / 2) {
                affect_fail(err, AFFECT_ENOMEM, "pair map: too many entries (%zu)", m->count);
                return NULL;
            }
            ncap *= 2;
        }
        if (grow(m, ncap, err)) return NULL;
    }
    size_t s = slot_of(key, m->cap);
    while (m->keys[s] != PAIR_MAP_EMPTY) {
        if (m->keys[s] == key) return &m->vals[s];
        s = (s + 1) & (m->cap - 1);
    }
    m->keys[s] = key;
    m->vals[s] = init;
    m->count++;
    if (inserted) *inserted = 1;
    return &m->vals[s];
}

/* A map cleared once per merge must cost what it held, not what it once grew to: a sparse
 * big table is released (the next inserts regrow it to the size they need), a dense one is
 * wiped in place. */
void pair_map_clear(pair_map *m) {
    if (m->cap > 1024 && m->count * 8 < m->cap) {
        pair_map_free(m);
        return;
    }
    for (size_t i = 0; i < m->cap; i++) m->keys[i] = PAIR_MAP_EMPTY;
    m->count = 0;
}

void pair_map_free(pair_map *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
