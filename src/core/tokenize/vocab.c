/* tok_vocab: see vocab.h. */
#include "tokenize/vocab.h"
#include <stdlib.h>
#include <string.h>
#include "util/error.h"

/* FNV-1a: simple, and good enough for short token strings. */
static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* Whether id's string is exactly s[0..n). */
static int same(const tok_vocab *v, int32_t id, const char *s, size_t n) {
    return v->len[id] == n && !memcmp(v->arena + v->off[id], s, n);
}

/* Doubles the slot table and reinserts every id that owns its string. */
static int rehash(tok_vocab *v, size_t nslots, affect_error *err) {
    int32_t *slots = malloc(nslots * sizeof *slots);
    if (!slots) return affect_fail(err, AFFECT_ENOMEM, "vocabulary: out of memory for %zu hash slots", nslots);
    for (size_t i = 0; i < nslots; i++) slots[i] = -1;
    for (size_t i = 0; i < v->nslots; i++) {
        int32_t id = v->slots[i];
        if (id < 0) continue;
        size_t h = (size_t)hash_bytes(v->arena + v->off[id], v->len[id]) & (nslots - 1);
        while (slots[h] >= 0) h = (h + 1) & (nslots - 1);
        slots[h] = id;
    }
    free(v->slots);
    v->slots = slots;
    v->nslots = nslots;
    return 0;
}

/* Arrays grow by doubling, so loading a 50k vocabulary is a handful of reallocs. */
int tok_vocab_add(tok_vocab *v, int32_t id, const char *s, size_t len, affect_error *err) {
    if (id < 0 || id >= INT32_MAX - 1 || len >= UINT32_MAX)
        return affect_fail(err, AFFECT_EFORMAT, "vocabulary: token id %ld out of range", (long)id);
    if ((size_t)id >= v->idcap) { /* grow the id arrays */
        size_t nc = v->idcap ? v->idcap : 1024;
        while (nc <= (size_t)id) nc *= 2;
        size_t *off = realloc(v->off, nc * sizeof *off);
        if (!off) return affect_fail(err, AFFECT_ENOMEM, "vocabulary: out of memory for %zu ids", nc);
        v->off = off;
        uint32_t *ln = realloc(v->len, nc * sizeof *ln);
        if (!ln) return affect_fail(err, AFFECT_ENOMEM, "vocabulary: out of memory for %zu ids", nc);
        v->len = ln;
        for (size_t i = v->idcap; i < nc; i++) { v->off[i] = SIZE_MAX; v->len[i] = 0; }
        v->idcap = nc;
    }
    if (v->off[id] != SIZE_MAX)
        return affect_fail(err, AFFECT_EFORMAT, "vocabulary: id %ld given to both '%.60s' and '%.*s'",
                           (long)id, v->arena + v->off[id], (int)(len < 60 ? len : 60), s);
    if (id >= v->n) v->n = id + 1;
    if (v->arena_cap - v->arena_len < len + 1) {
        size_t nc = v->arena_cap ? v->arena_cap : 65536;
        while (nc - v->arena_len < len + 1) {
            if (nc > SIZE_MAX / 2) return affect_fail(err, AFFECT_ENOMEM, "vocabulary too large");
            nc *= 2;
        }
        char *a = realloc(v->arena, nc);
        if (!a) return affect_fail(err, AFFECT_ENOMEM, "vocabulary: out of memory for %zu bytes of strings", nc);
        v->arena = a;
        v->arena_cap = nc;
    }
    if (len) memcpy(v->arena + v->arena_len, s, len);
    v->arena[v->arena_len + len] = 0;
    v->off[id] = v->arena_len;
    v->len[id] = (uint32_t)len;
    v->arena_len += len + 1;
    if ((v->nstrings + 1) * 2 > v->nslots) {
        int rc = rehash(v, v->nslots ? v->nslots * 2 : 1024, err);
        if (rc) return rc;
    }
    size_t h = (size_t)hash_bytes(s, len) & (v->nslots - 1);
    while (v->slots[h] >= 0) {
        if (same(v, v->slots[h], s, len)) { v->slots[h] = id; return 0; } /* later id wins */
        h = (h + 1) & (v->nslots - 1);
    }
    v->slots[h] = id;
    v->nstrings++;
    return 0;
}

/* Linear probing; the table is at most half full, so probes stay short. */
int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len) {
    if (!v->nslots) return -1;
    size_t h = (size_t)hash_bytes(s, len) & (v->nslots - 1);
    for (;;) {
        int32_t id = v->slots[h];
        if (id < 0) return -1;
        if (same(v, id, s, len)) return id;
        h = (h + 1) & (v->nslots - 1);
    }
}

/* Strings are NUL-terminated in the arena, so callers may use them as C strings. */
const char *tok_vocab_str(const tok_vocab *v, int32_t id) {
    if (id < 0 || id >= v->n || v->off[id] == SIZE_MAX) return NULL;
    return v->arena + v->off[id];
}

/* Accepts a zeroed (never used) vocabulary. */
void tok_vocab_free(tok_vocab *v) {
    free(v->arena);
    free(v->off);
    free(v->len);
    free(v->slots);
    memset(v, 0, sizeof *v);
}

/* Doubling growth: amortized O(1) per id. */
int tok_ids_push(int32_t **ids, size_t *n, size_t *cap, int32_t id, affect_error *err) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        if (nc > SIZE_MAX / sizeof **ids) return affect_fail(err, AFFECT_ENOMEM, "too many token ids");
        int32_t *p = realloc(*ids, nc * sizeof *p);
        if (!p) return affect_fail(err, AFFECT_ENOMEM, "out of memory for %zu token ids", nc);
        *ids = p;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
    return 0;
}
