/* A token vocabulary: id -> string and string -> id, the lookup WordPiece does O(word²)
 * times per word. Strings live in one arena; the reverse map is an open-addressing hash
 * table of ids, so a lookup is a hash and usually one memcmp, with no allocation. */
#ifndef AFFECT_CORE_VOCAB_H
#define AFFECT_CORE_VOCAB_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"

typedef struct tok_vocab {
    char *arena;          /* all strings, each NUL-terminated */
    size_t arena_len, arena_cap;
    size_t *off;          /* (n) string offset in arena, SIZE_MAX = no string for this id */
    uint32_t *len;        /* (n) string length in bytes */
    int32_t n;            /* ids are 0..n-1 */
    size_t idcap;         /* room in off/len */
    int32_t *slots;       /* (nslots) id or -1 */
    size_t nslots;        /* power of two, >= 2 * number of strings */
    size_t nstrings;
} tok_vocab;

/* Sets id -> s (ids may arrive in any order, with gaps; an id given twice is an error).
 * When the same string is given to several ids, the string -> id lookup returns the one
 * added last, as a Rust HashMap built by inserting in file order would. */
int tok_vocab_add(tok_vocab *v, int32_t id, const char *s, size_t len, affect_error *err);
/* -1 when absent. */
int32_t tok_vocab_find(const tok_vocab *v, const char *s, size_t len);
/* NULL when the id is out of range or has no string. */
const char *tok_vocab_str(const tok_vocab *v, int32_t id);
void tok_vocab_free(tok_vocab *v);

/* Appends one id to a growable array (*ids, *n, *cap): the output convention every model
 * (WordPiece, BPE) shares. Returns 0 or AFFECT_ENOMEM. */
int tok_ids_push(int32_t **ids, size_t *n, size_t *cap, int32_t id, affect_error *err);

#endif
