#include "bpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenize/gpt2_pretokenize.h"
#include "util/error.h"

/* Ids are stored in a dense id -> token table, so a file naming a huge id could make us
 * allocate gigabytes; real vocabularies are far below this. */
#define BPE_MAX_ID 16777215u
#define BPE_MAX_ENTRIES (1u << 26)

struct bpe_model {
    /* vocab: entry e is the token arena[off[e] .. off[e]+len[e]) (NUL-terminated) with id[e] */
    char *arena;
    size_t arena_len, arena_cap;
    uint32_t *tok_off, *tok_len;
    int32_t *tok_id;
    size_t n_entries;
    uint32_t *vslots; /* open addressing: entry index + 1, 0 = empty */
    size_t vmask;
    const char **id_tok; /* id -> token (NULL where no token has the id) */
    size_t id_cap;

    /* merges: (left id, right id) -> (rank, merged id) */
    uint64_t *mkeys; /* MKEY_EMPTY = free slot */
    uint32_t *mrank;
    int32_t *mnew;
    size_t mmask, n_merges;

    /* byte-level: the printable character GPT-2 maps each byte to, as UTF-8 */
    char byte_utf8[256][2];
    uint8_t byte_utf8_len[256];
    /* id of a byte's symbol, by position kind (bit 0: first of word, bit 1: last of word),
     * prefix/suffix applied; -1 when that string is not in the vocab */
    int32_t byte_id[4][256];
    /* id of the byte-fallback token "<0xAB>" of each byte, -1 if absent */
    int32_t fallback_id[256];

    char *prefix, *suffix, *unk;
    size_t prefix_len, suffix_len, unk_len;
    int has_unk, fuse_unk, byte_fallback, ignore_merges;
    int add_prefix_space, use_regex;
};

#define MKEY_EMPTY UINT64_MAX

/* FNV-1a: short keys, no adversary to defend against beyond clustering, and the tables are
 * kept at most half full. */
static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* Mixes a (left id, right id) key: ids are small and sequential, so the bits must be
 * spread before masking (splitmix64 finalizer). */
static uint64_t hash_pair(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

/* Smallest power of two >= 2*n (and >= 16), so probing always finds a free slot. */
static size_t table_size(size_t n) {
    size_t s = 16;
    while (s < 2 * n) s *= 2;
    return s;
}

/* Entry index of a token, or -1. */
static long vocab_find(const bpe_model *m, const char *s, size_t n) {
    if (!m->vslots) return -1;
    size_t i = (size_t)hash_bytes(s, n) & m->vmask;
    for (;;) {
        uint32_t e = m->vslots[i];
        if (!e) return -1;
        e--;
        if (m->tok_len[e] == n && !memcmp(m->arena + m->tok_off[e], s, n)) return (long)e;
        i = (i + 1) & m->vmask;
    }
}

/* Id of a token, or -1. */
static int32_t vocab_get(const bpe_model *m, const char *s, size_t n) {
    long e = vocab_find(m, s, n);
    return e < 0 ? -1 : m->tok_id[e];
}

/* Adds or, for a token seen before, re-points a vocab entry: a JSON object with a repeated
 * key keeps the last value, as serde's HashMap does. The tables were sized for every key. */
static int vocab_put(bpe_model *m, const char *s, size_t n, int32_t id, affect_error *err) {
    long found = vocab_find(m, s, n);
    if (found >= 0) {
        m->tok_id[found] = id;
        return 0;
    }
    if (n > UINT32_MAX - 1 || m->arena_len > UINT32_MAX - n - 1)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "BPE vocab: tokens exceed 4 GiB in total");
    if (m->arena_len + n + 1 > m->arena_cap) {
        size_t cap = m->arena_cap ? m->arena_cap : 4096;
        while (cap < m->arena_len + n + 1) cap *= 2;
        char *na = realloc(m->arena, cap);
        if (!na) return affect_fail(err, AFFECT_ENOMEM, "BPE vocab: out of memory");
        m->arena = na;
        m->arena_cap = cap;
    }
    size_t e = m->n_entries++;
    m->tok_off[e] = (uint32_t)m->arena_len;
    m->tok_len[e] = (uint32_t)n;
    m->tok_id[e] = id;
    memcpy(m->arena + m->arena_len, s, n);
    m->arena[m->arena_len + n] = '\0';
    m->arena_len += n + 1;
    size_t i = (size_t)hash_bytes(s, n) & m->vmask;
    while (m->vslots[i]) i = (i + 1) & m->vmask;
    m->vslots[i] = (uint32_t)e + 1;
    return 0;
}

/* The vocab object {"token": id, ...}, in any id order. `what` names the source in errors. */
static int load_vocab(bpe_model *m, const json_value *v, const char *what, affect_error *err) {
    if (!v || v->type != JSON_OBJECT)
        return affect_fail(err, AFFECT_EFORMAT, "%s: the vocab is not a JSON object", what);
    size_t n = v->len;
    if (n > BPE_MAX_ENTRIES)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "%s: %zu vocab entries is too many", what, n);
    size_t slots = table_size(n);
    m->tok_off = malloc((n ? n : 1) * sizeof *m->tok_off);
    m->tok_len = malloc((n ? n : 1) * sizeof *m->tok_len);
    m->tok_id = malloc((n ? n : 1) * sizeof *m->tok_id);
    m->vslots = calloc(slots, sizeof *m->vslots);
    if (!m->tok_off || !m->tok_len || !m->tok_id || !m->vslots)
        return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory for %zu vocab entries", what, n);
    m->vmask = slots - 1;
    size_t max_id = 0;
    for (size_t k = 0; k < n; k++) {
        const json_value *idv = &v->items[k];
        if (!json_is_int(idv, 0, BPE_MAX_ID)) {
            int klen = v->key_lens[k] > 60 ? 60 : (int)v->key_lens[k];
            if (idv->type == JSON_NUMBER && json_is_int(idv, 0, 4294967295.0))
                return affect_fail(err, AFFECT_EUNSUPPORTED,
                                   "%s: token \"%.*s\" has id %.0f, above the supported %u",
                                   what, klen, v->keys[k], idv->number, BPE_MAX_ID);
            return affect_fail(err, AFFECT_EFORMAT,
                               "%s: token \"%.*s\" has an id that is not a non-negative integer",
                               what, klen, v->keys[k]);
        }
        int rc = vocab_put(m, v->keys[k], v->key_lens[k], (int32_t)idv->number, err);
        if (rc) return rc;
        if ((size_t)idv->number > max_id) max_id = (size_t)idv->number;
    }
    m->id_cap = n ? max_id + 1 : 0;
    m->id_tok = calloc(m->id_cap ? m->id_cap : 1, sizeof *m->id_tok);
    if (!m->id_tok) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", what);
    for (size_t e = 0; e < m->n_entries; e++) m->id_tok[m->tok_id[e]] = m->arena + m->tok_off[e];
    return 0;
}

/* Sizes the merge table for up to n merges (a pair listed twice takes one slot). */
static int merges_alloc(bpe_model *m, size_t n, affect_error *err) {
    if (n > BPE_MAX_ENTRIES)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "BPE merges: %zu merges is too many", n);
    size_t slots = table_size(n);
    m->mkeys = malloc(slots * sizeof *m->mkeys);
    m->mrank = malloc(slots * sizeof *m->mrank);
    m->mnew = malloc(slots * sizeof *m->mnew);
    if (!m->mkeys || !m->mrank || !m->mnew)
        return affect_fail(err, AFFECT_ENOMEM, "BPE merges: out of memory for %zu merges", n);
    for (size_t i = 0; i < slots; i++) m->mkeys[i] = MKEY_EMPTY;
    m->mmask = slots - 1;
    return 0;
}

/* (rank, merged id) of the pair, or 0 when the pair never merges. */
static int merge_get(const bpe_model *m, int32_t a, int32_t b, uint32_t *rank, int32_t *new_id) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    size_t i = (size_t)hash_pair(key) & m->mmask;
    for (;;) {
        uint64_t k = m->mkeys[i];
        if (k == MKEY_EMPTY) return 0;
        if (k == key) {
            *rank = m->mrank[i];
            *new_id = m->mnew[i];
            return 1;
        }
        i = (i + 1) & m->mmask;
    }
}

/* The Rust builder's MergeTokenOutOfVocabulary, with where it happened. */
static int fail_token(affect_error *err, const char *where, const char *s, size_t n) {
    return affect_fail(err, AFFECT_EFORMAT, "%s: token \"%.*s\" of the merge is not in the vocab", where,
                n > 60 ? 60 : (int)n, s);
}

/* Registers merge number `rank` (a, b) as the Rust builder does: both parts and their
 * concatenation (b without the continuing-subword prefix) must be in the vocab, and a pair
 * listed twice keeps its last rank (HashMap collect semantics). */
static int merge_add(bpe_model *m, const char *a, size_t alen, const char *b, size_t blen,
                     uint32_t rank, const char *where, affect_error *err) {
    int32_t ida = vocab_get(m, a, alen), idb = vocab_get(m, b, blen);
    if (ida < 0) return fail_token(err, where, a, alen);
    if (idb < 0) return fail_token(err, where, b, blen);
    if (blen < m->prefix_len)
        return affect_fail(err, AFFECT_EFORMAT,
                           "%s: token \"%.*s\" is shorter than the continuing-subword prefix",
                           where, blen > 60 ? 60 : (int)blen, b);
    size_t tail = blen - m->prefix_len;
    char stackbuf[256];
    char *cat = alen + tail <= sizeof stackbuf ? stackbuf : malloc(alen + tail);
    if (!cat) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", where);
    memcpy(cat, a, alen);
    memcpy(cat + alen, b + m->prefix_len, tail);
    int32_t idn = vocab_get(m, cat, alen + tail);
    if (idn < 0) fail_token(err, where, cat, alen + tail);
    if (cat != stackbuf) free(cat);
    if (idn < 0) return AFFECT_EFORMAT;

    uint64_t key = ((uint64_t)(uint32_t)ida << 32) | (uint32_t)idb;
    size_t i = (size_t)hash_pair(key) & m->mmask;
    while (m->mkeys[i] != MKEY_EMPTY && m->mkeys[i] != key) i = (i + 1) & m->mmask;
    if (m->mkeys[i] == MKEY_EMPTY) m->n_merges++;
    m->mkeys[i] = key;
    m->mrank[i] = rank;
    m->mnew[i] = idn;
    return 0;
}

/* Splits a legacy merge line "a b": exactly one space, as Rust's line.split(' ') with its
 * two-parts check. Returns 0 when the line is not of that form. */
static int split_merge(const char *s, size_t n, size_t *sp) {
    const char *p = memchr(s, ' ', n);
    if (!p) return 0;
    if (memchr(p + 1, ' ', n - (size_t)(p - s) - 1)) return 0;
    *sp = (size_t)(p - s);
    return 1;
}

/* merges.txt's "#version: 0.2" header, which Rust skips wherever it appears. */
static int starts_with_version(const char *s, size_t n) {
    return n >= 8 && !memcmp(s, "#version", 8);
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other 68
 * bytes take U+0100.. in byte order, so every byte string becomes printable text. */
static void init_byte_map(bpe_model *m) {
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        uint32_t cp = printable ? (uint32_t)b : next++;
        if (cp < 0x80) {
            m->byte_utf8[b][0] = (char)cp;
            m->byte_utf8_len[b] = 1;
        } else {
            m->byte_utf8[b][0] = (char)(0xC0 | (cp >> 6));
            m->byte_utf8[b][1] = (char)(0x80 | (cp & 0x3F));
            m->byte_utf8_len[b] = 2;
        }
    }
}

/* The string Rust's merge_word looks up for one byte: prefix unless first, the mapped
 * character, suffix if last. `buf` has room for prefix + 2 + suffix. */
static size_t symbol_string(const bpe_model *m, unsigned char b, int kind, char *buf) {
    size_t n = 0;
    if (!(kind & 1) && m->prefix_len) {
        memcpy(buf, m->prefix, m->prefix_len);
        n = m->prefix_len;
    }
    memcpy(buf + n, m->byte_utf8[b], m->byte_utf8_len[b]);
    n += m->byte_utf8_len[b];
    if ((kind & 2) && m->suffix_len) {
        memcpy(buf + n, m->suffix, m->suffix_len);
        n += m->suffix_len;
    }
    return n;
}

/* Precomputes, per byte and position kind, the id merge_word would look up, so encoding
 * does no string hashing for byte-level vocabs. */
static int init_byte_ids(bpe_model *m, affect_error *err) {
    init_byte_map(m);
    char *buf = malloc(m->prefix_len + m->suffix_len + 2);
    if (!buf) return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory");
    for (int kind = 0; kind < 4; kind++)
        for (int b = 0; b < 256; b++) {
            size_t n = symbol_string(m, (unsigned char)b, kind, buf);
            m->byte_id[kind][b] = vocab_get(m, buf, n);
        }
    free(buf);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        m->fallback_id[b] = vocab_get(m, name, 6);
    }
    return 0;
}

/* NUL-terminated copy of n bytes (JSON strings may hold NUL; the length is kept too). */
static char *dup_bytes(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Optional string members: absent or null mean "none"; anything else but a string is an
 * error naming the key. */
static int opt_string(const json_value *obj, const char *key, char **out, size_t *len, int *has,
                      affect_error *err) {
    const json_value *v = json_get(obj, key);
    *out = NULL;
    *len = 0;
    if (has) *has = 0;
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_STRING)
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json model: \"%s\" is not a string", key);
    *out = dup_bytes(v->str, v->len);
    if (!*out) return affect_fail(err, AFFECT_ENOMEM, "tokenizer.json model: out of memory");
    *len = v->len;
    if (has) *has = 1;
    return 0;
}

/* Optional boolean members: absent or null mean false. */
static int opt_bool(const json_value *obj, const char *key, int *out, affect_error *err) {
    const json_value *v = json_get(obj, key);
    *out = 0;
    if (!v || v->type == JSON_NULL) return 0;
    if (v->type != JSON_BOOL)
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json model: \"%s\" is not a boolean", key);
    *out = v->boolean;
    return 0;
}

/* An empty model with the ByteLevel defaults of RoBERTa (no prefix space, regex split). */
static bpe_model *model_new(void) {
    bpe_model *m = calloc(1, sizeof *m);
    if (m) m->use_regex = 1;
    return m;
}

/* The tokenizer.json path: options first (the prefix decides how merges concatenate), then
 * the vocab, then the merges in rank order. */
static int from_json(bpe_model *m, const json_value *obj, affect_error *err) {
    if (!obj || obj->type != JSON_OBJECT)
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json: \"model\" is not an object");
    const json_value *type = json_get(obj, "type");
    if (type && (type->type != JSON_STRING || strcmp(type->str, "BPE") != 0))
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "tokenizer.json model: type \"%s\" is not BPE",
                           type->type == JSON_STRING ? type->str : "?");
    const json_value *dropout = json_get(obj, "dropout");
    if (dropout && dropout->type != JSON_NULL) {
        if (dropout->type != JSON_NUMBER || !(dropout->number >= 0.0 && dropout->number <= 1.0))
            return affect_fail(err, AFFECT_EFORMAT,
                               "tokenizer.json model: \"dropout\" is not a number in [0, 1]");
        if (dropout->number > 0.0)
            return affect_fail(err, AFFECT_EUNSUPPORTED,
                               "tokenizer.json model: BPE dropout %g is random; only 0 or null "
                               "is supported", dropout->number);
    }
    int rc;
    if ((rc = opt_string(obj, "continuing_subword_prefix", &m->prefix, &m->prefix_len, NULL, err)) ||
        (rc = opt_string(obj, "end_of_word_suffix", &m->suffix, &m->suffix_len, NULL, err)) ||
        (rc = opt_string(obj, "unk_token", &m->unk, &m->unk_len, &m->has_unk, err)) ||
        (rc = opt_bool(obj, "fuse_unk", &m->fuse_unk, err)) ||
        (rc = opt_bool(obj, "byte_fallback", &m->byte_fallback, err)) ||
        (rc = opt_bool(obj, "ignore_merges", &m->ignore_merges, err)))
        return rc;

    const json_value *vocab = json_get(obj, "vocab");
    if (!vocab) return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json model: no \"vocab\"");
    if ((rc = load_vocab(m, vocab, "tokenizer.json model", err))) return rc;

    const json_value *merges = json_get(obj, "merges");
    if (!merges || merges->type != JSON_ARRAY)
        return affect_fail(err, AFFECT_EFORMAT, "tokenizer.json model: \"merges\" is %s",
                           merges ? "not an array" : "missing");
    if ((rc = merges_alloc(m, merges->len, err))) return rc;
    uint32_t rank = 0;
    char where[64];
    for (size_t k = 0; k < merges->len; k++) {
        const json_value *it = &merges->items[k];
        snprintf(where, sizeof where, "tokenizer.json merges[%zu]", k);
        if (it->type == JSON_STRING) {
            /* legacy form: "#version" lines are dropped before ranking, as Rust does */
            if (starts_with_version(it->str, it->len)) continue;
            size_t sp;
            if (!split_merge(it->str, it->len, &sp))
                return affect_fail(err, AFFECT_EFORMAT,
                                   "%s: \"%.*s\" is not two tokens separated by one space", where,
                                   it->len > 60 ? 60 : (int)it->len, it->str);
            rc = merge_add(m, it->str, sp, it->str + sp + 1, it->len - sp - 1, rank, where, err);
        } else if (it->type == JSON_ARRAY && it->len == 2 && it->items[0].type == JSON_STRING &&
                   it->items[1].type == JSON_STRING) {
            rc = merge_add(m, it->items[0].str, it->items[0].len, it->items[1].str,
                           it->items[1].len, rank, where, err);
        } else {
            return affect_fail(err, AFFECT_EFORMAT,
                               "%s: a merge is neither \"a b\" nor a pair of strings", where);
        }
        if (rc) return rc;
        rank++;
    }
    return init_byte_ids(m, err);
}

int bpe_model_from_json(bpe_model **out, const json_value *model_obj, affect_error *err) {
    *out = NULL;
    bpe_model *m = model_new();
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory");
    int rc = from_json(m, model_obj, err);
    if (rc) {
        bpe_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* merges.txt: one merge per line, ranked in file order. */
static int load_merges_text(bpe_model *m, const char *s, size_t n, affect_error *err) {
    size_t lines = 1;
    for (size_t i = 0; i < n; i++) lines += s[i] == '\n';
    int rc = merges_alloc(m, lines, err);
    if (rc) return rc;
    uint32_t rank = 0;
    size_t lineno = 0, pos = 0;
    char where[64];
    while (pos < n) {
        const char *nl = memchr(s + pos, '\n', n - pos);
        size_t end = nl ? (size_t)(nl - s) : n;
        const char *line = s + pos;
        size_t len = end - pos;
        pos = nl ? end + 1 : n;
        lineno++;
        if (len && line[len - 1] == '\r') len--;
        if (len == 0 || starts_with_version(line, len)) continue;
        snprintf(where, sizeof where, "merges.txt line %zu", lineno);
        size_t sp;
        if (!split_merge(line, len, &sp))
            return affect_fail(err, AFFECT_EFORMAT,
                               "%s: \"%.*s\" is not two tokens separated by one space", where,
                               len > 60 ? 60 : (int)len, line);
        if ((rc = merge_add(m, line, sp, line + sp + 1, len - sp - 1, rank, where, err))) return rc;
        rank++;
    }
    return 0;
}

int bpe_model_from_files(bpe_model **out, const char *vocab_json, size_t vlen, const char *merges,
                         size_t mlen, affect_error *err) {
    *out = NULL;
    bpe_model *m = model_new();
    if (!m) return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory");
    json_doc *doc = NULL;
    affect_error jerr = {0, {0}};
    int rc = json_parse(&doc, vocab_json, vlen, &jerr);
    if (rc) {
        affect_fail(err, rc, "vocab.json: %s", jerr.msg);
    } else {
        rc = load_vocab(m, json_root(doc), "vocab.json", err);
        json_free(doc);
    }
    if (!rc) rc = load_merges_text(m, merges, mlen, err);
    if (!rc) rc = init_byte_ids(m, err);
    if (rc) {
        bpe_model_free(m);
        return rc;
    }
    *out = m;
    return 0;
}

/* Lets the front-end apply a tokenizer.json pre_tokenizer whose options differ from the
 * defaults (the BPE "model" object does not carry them). */
void bpe_set_pretokenizer(bpe_model *m, int add_prefix_space, int use_regex) {
    if (!m) return;
    m->add_prefix_space = add_prefix_space != 0;
    m->use_regex = use_regex != 0;
}

/* Distinct tokens, not max id + 1: the same as Rust's BPE::get_vocab_size. */
int bpe_vocab_size(const bpe_model *m) { return m ? (int)m->n_entries : 0; }

/* Id -> token through the dense table; ids nobody has give NULL. */
const char *bpe_id_to_token(const bpe_model *m, int32_t id) {
    if (!m || id < 0 || (size_t)id >= m->id_cap) return NULL;
    return m->id_tok[id];
}

/* Token -> id, for the front-end's special tokens and for tests. */
int32_t bpe_token_to_id(const bpe_model *m, const char *tok, size_t len) {
    if (!m || (!tok && len)) return -1;
    return vocab_get(m, tok ? tok : "", len);
}

/* Accepts NULL, like every *_free. */
void bpe_model_free(bpe_model *m) {
    if (!m) return;
    free(m->arena);
    free(m->tok_off);
    free(m->tok_len);
    free(m->tok_id);
    free(m->vslots);
    free(m->id_tok);
    free(m->mkeys);
    free(m->mrank);
    free(m->mnew);
    free(m->prefix);
    free(m->suffix);
    free(m->unk);
    free(m);
}

/* ---- encoding ------------------------------------------------------------------------ */

typedef struct {
    int32_t id;
    int32_t prev, next; /* neighbours among live symbols, -1 at the ends */
    int alive;
} bpe_symbol;

typedef struct {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
} bpe_merge;

/* Buffers reused across the words of one bpe_encode call. */
typedef struct {
    bpe_symbol *sym;
    size_t nsym, sym_cap;
    bpe_merge *heap;
    size_t nheap, heap_cap;
    char *buf;
    size_t buf_cap;
} bpe_scratch;

/* Appends one id to the caller's growable vector, doubling it. */
static int push_id(int32_t **ids, size_t *n, size_t *cap, int32_t id) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        if (nc > SIZE_MAX / sizeof **ids) return AFFECT_ENOMEM;
        int32_t *ni = realloc(*ids, nc * sizeof **ids);
        if (!ni) return AFFECT_ENOMEM;
        *ids = ni;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

/* Makes room for `need` elements, doubling; returns the (maybe moved) buffer, or NULL with
 * the old one untouched and still owned by the caller. */
static void *grow_to(void *p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap && p) return p;
    if (need > SIZE_MAX / elem / 2) return NULL;
    size_t nc = need * 2;
    void *np = realloc(p, nc * elem);
    if (np) *cap = nc;
    return np;
}

/* Rust's Word::add: appends a symbol linked to the previous one. The caller reserved room. */
static void add_symbol(bpe_scratch *sc, int32_t id) {
    size_t i = sc->nsym++;
    sc->sym[i].id = id;
    sc->sym[i].prev = (int32_t)i - 1;
    sc->sym[i].next = -1;
    sc->sym[i].alive = 1;
    if (i) sc->sym[i - 1].next = (int32_t)i;
}

/* Min-heap on (rank, pos): the Rust Merge ordering. */
static int merge_less(const bpe_merge *a, const bpe_merge *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

/* Capacity is reserved by encode_word: the initial pairs plus two per merge, < 3 * symbols. */
static void heap_push(bpe_scratch *sc, uint32_t rank, uint32_t pos, int32_t new_id) {
    size_t i = sc->nheap++;
    bpe_merge x = {rank, pos, new_id};
    while (i) {
        size_t p = (i - 1) / 2;
        if (!merge_less(&x, &sc->heap[p])) break;
        sc->heap[i] = sc->heap[p];
        i = p;
    }
    sc->heap[i] = x;
}

/* Removes and returns the lowest (rank, pos); the heap is not empty. */
static bpe_merge heap_pop(bpe_scratch *sc) {
    bpe_merge top = sc->heap[0];
    bpe_merge x = sc->heap[--sc->nheap];
    size_t n = sc->nheap, i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && merge_less(&sc->heap[c + 1], &sc->heap[c])) c++;
        if (!merge_less(&sc->heap[c], &x)) break;
        sc->heap[i] = sc->heap[c];
        i = c;
    }
    if (n) sc->heap[i] = x;
    return top;
}

/* Rust's Word::merge_all without dropout: repeatedly apply the lowest-ranked (then leftmost)
 * applicable merge; queue entries made stale by earlier merges are recognised and skipped. */
static void merge_all(const bpe_model *m, bpe_scratch *sc) {
    bpe_symbol *s = sc->sym;
    uint32_t rank;
    int32_t nid;
    sc->nheap = 0;
    for (size_t i = 0; i + 1 < sc->nsym; i++)
        if (merge_get(m, s[i].id, s[i + 1].id, &rank, &nid)) heap_push(sc, rank, (uint32_t)i, nid);
    while (sc->nheap) {
        bpe_merge top = heap_pop(sc);
        bpe_symbol *cur = &s[top.pos];
        if (!cur->alive || cur->next < 0) continue;
        bpe_symbol *right = &s[cur->next];
        if (!merge_get(m, cur->id, right->id, &rank, &nid) || nid != top.new_id) continue;
        cur->id = top.new_id;
        cur->next = right->next;
        right->alive = 0;
        if (cur->next >= 0) s[cur->next].prev = (int32_t)top.pos;
        if (cur->prev >= 0 && merge_get(m, s[cur->prev].id, cur->id, &rank, &nid))
            heap_push(sc, rank, (uint32_t)cur->prev, nid);
        if (cur->next >= 0 && merge_get(m, cur->id, s[cur->next].id, &rank, &nid))
            heap_push(sc, rank, top.pos, nid);
    }
}

/* A byte whose symbol is not in the vocab (never for a byte-level vocab, but a model may
 * lack some): byte-fallback tokens "<0xAB>" for each byte of the looked-up string (prefix
 * and suffix included, as Rust does), else the unk token (fused with a pending one if
 * fuse_unk), else the byte is dropped, all as the Rust merge_word does, down to where a
 * pending unk lands relative to fallback tokens. */
static int missing_symbol(const bpe_model *m, bpe_scratch *sc, unsigned char b, int kind,
                          int *pending_unk, affect_error *err) {
    size_t n = symbol_string(m, b, kind, sc->buf);
    if (m->byte_fallback) {
        int ok = 1;
        for (size_t i = 0; ok && i < n; i++) ok = m->fallback_id[(unsigned char)sc->buf[i]] >= 0;
        if (ok) {
            for (size_t i = 0; i < n; i++) add_symbol(sc, m->fallback_id[(unsigned char)sc->buf[i]]);
            return 0;
        }
    }
    if (!m->has_unk) return 0;
    int32_t unk_id = vocab_get(m, m->unk, m->unk_len);
    if (unk_id < 0)
        return affect_fail(err, AFFECT_EFORMAT, "BPE: the unk token \"%.*s\" is not in the vocab",
                           m->unk_len > 60 ? 60 : (int)m->unk_len, m->unk);
    if (*pending_unk && !m->fuse_unk) add_symbol(sc, unk_id);
    *pending_unk = 1;
    return 0;
}

/* One pre-token: bytes -> symbols -> merges -> ids appended. */
static int encode_word(const bpe_model *m, bpe_scratch *sc, const unsigned char *w, size_t n,
                       int32_t **ids, size_t *nids, size_t *cap, affect_error *err) {
    size_t bufneed = 2 * n > m->prefix_len + m->suffix_len + 2 ? 2 * n
                                                               : m->prefix_len + m->suffix_len + 2;
    char *nb = grow_to(sc->buf, &sc->buf_cap, bufneed, 1);
    if (!nb) return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory for a %zu-byte word", n);
    sc->buf = nb;
    if (m->ignore_merges) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(sc->buf + k, m->byte_utf8[w[i]], m->byte_utf8_len[w[i]]);
            k += m->byte_utf8_len[w[i]];
        }
        int32_t id = vocab_get(m, sc->buf, k);
        if (id >= 0) {
            if (push_id(ids, nids, cap, id))
                return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory for ids");
            return 0;
        }
    }
    /* one symbol per byte, or with byte fallback up to one per byte of prefix+char+suffix */
    size_t per = m->byte_fallback ? m->prefix_len + m->suffix_len + 2 : 1;
    bpe_symbol *ns = NULL;
    if (n <= (size_t)(INT32_MAX / 4) / per) ns = grow_to(sc->sym, &sc->sym_cap, n * per, sizeof *ns);
    if (!ns) return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory for a %zu-byte word", n);
    sc->sym = ns;
    sc->nsym = 0;
    int pending_unk = 0;
    int32_t unk_id = -1;
    for (size_t i = 0; i < n; i++) {
        int kind = (i == 0) | ((i + 1 == n) << 1);
        int32_t id = m->byte_id[kind][w[i]];
        if (id >= 0) {
            if (pending_unk) {
                if (unk_id < 0) unk_id = vocab_get(m, m->unk, m->unk_len);
                add_symbol(sc, unk_id);
                pending_unk = 0;
            }
            add_symbol(sc, id);
        } else {
            int rc = missing_symbol(m, sc, w[i], kind, &pending_unk, err);
            if (rc) return rc;
        }
    }
    if (pending_unk) add_symbol(sc, vocab_get(m, m->unk, m->unk_len));
    bpe_merge *nh = grow_to(sc->heap, &sc->heap_cap, 3 * sc->nsym + 1, sizeof *nh);
    if (!nh) return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory for a %zu-byte word", n);
    sc->heap = nh;
    merge_all(m, sc);
    for (size_t i = 0; i < sc->nsym; i++)
        if (sc->sym[i].alive && push_id(ids, nids, cap, sc->sym[i].id))
            return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory for ids");
    return 0;
}

/* Pre-tokenizes and encodes each piece; see bpe.h for the pipeline. */
int bpe_encode(const bpe_model *m, const char *text, size_t len, int32_t **ids, size_t *n,
               size_t *cap, affect_error *err) {
    if (!m || !ids || !n || !cap || (!text && len))
        return affect_fail(err, AFFECT_EARG, "bpe_encode: NULL argument");
    if (len == 0) return 0;
    char *prefixed = NULL;
    if (m->add_prefix_space && text[0] != ' ') {
        if (len == SIZE_MAX) return affect_fail(err, AFFECT_ENOMEM, "BPE: text too long");
        prefixed = malloc(len + 1);
        if (!prefixed) return affect_fail(err, AFFECT_ENOMEM, "BPE: out of memory");
        prefixed[0] = ' ';
        memcpy(prefixed + 1, text, len);
        text = prefixed;
        len++;
    }
    bpe_scratch sc = {0};
    int rc = 0;
    size_t pos = 0;
    while (pos < len && !rc) {
        size_t k = m->use_regex ? gpt2_pretoken_len(text, len, pos) : len - pos;
        rc = encode_word(m, &sc, (const unsigned char *)text + pos, k, ids, n, cap, err);
        pos += k;
    }
    free(sc.sym);
    free(sc.heap);
    free(sc.buf);
    free(prefixed);
    return rc;
}
