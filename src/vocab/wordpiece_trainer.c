/* wordpiece_trainer: see wordpiece_trainer.h. The merge loop follows Hugging Face's
 * BpeTrainer::do_train step by step (models/bpe/trainer.rs, models/bpe/word.rs):
 *   - pair counts live in one map and are only ever adjusted by the changes a merge reports
 *     around each merged occurrence; the merged pair's own count is never reset;
 *   - every queue entry carries the set of words it was pushed for, and a merge only visits
 *     those words; pairs that gained occurrences get a fresh entry for just the new words;
 *   - a popped entry whose count is stale is pushed back with the current count.
 * Matching these details (not just "merge the most frequent pair") is what makes the
 * vocabulary equal Rust's. */
#include "vocab/wordpiece_trainer.h"
#include <stdlib.h>
#include <string.h>
#include "tokenize/bert_normalizer.h"
#include "tokenize/unicode.h"
#include "tokenize/vocab.h"
#include "util/error.h"
#include "vocab/pair_map.h"

static const char *const DEFAULT_SPECIALS[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
#define PREFIX "##"
#define PREFIX_LEN 2

struct wordpiece_trainer {
    wordpiece_trainer_opts o;
    char **specials; /* (o.n_special) our copies */
    char **order;    /* (o.n_continuing_order) our copies */
    bert_normalizer bn;
    norm_buf nb;
    tok_vocab words;   /* distinct words, id = index */
    uint64_t *wcount;  /* (nwords) occurrences of each word */
    size_t nwords, wcap;
    uint64_t total;
};

void wordpiece_trainer_defaults(wordpiece_trainer_opts *o) {
    memset(o, 0, sizeof *o);
    o->vocab_size = 30000;
    o->min_frequency = 0;
    o->limit_alphabet = -1;
    o->special_tokens = DEFAULT_SPECIALS;
    o->n_special = sizeof DEFAULT_SPECIALS / sizeof DEFAULT_SPECIALS[0];
}

/* A malloc'd copy of s[0..n) with a NUL after it, or NULL. */
static char *dup_bytes(const char *s, size_t n) {
    if (n == SIZE_MAX) return NULL;
    char *p = malloc(n + 1);
    if (!p) return NULL;
    if (n) memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void wordpiece_trainer_free(wordpiece_trainer *t) {
    if (!t) return;
    for (size_t i = 0; t->specials && i < t->o.n_special; i++) free(t->specials[i]);
    free(t->specials);
    for (size_t i = 0; t->order && i < t->o.n_continuing_order; i++) free(t->order[i]);
    free(t->order);
    norm_buf_free(&t->nb);
    tok_vocab_free(&t->words);
    free(t->wcount);
    free(t);
}

/* Copies the options (special tokens included) so the caller's strings need not outlive
 * the trainer; the normalizer is BERT uncased, what the from-scratch model's tokenizer.json
 * declares. */
int wordpiece_trainer_new(wordpiece_trainer **out, const wordpiece_trainer_opts *o, affect_error *err) {
    *out = NULL;
    wordpiece_trainer_opts d;
    if (!o) {
        wordpiece_trainer_defaults(&d);
        o = &d;
    }
    if (o->vocab_size > (size_t)INT32_MAX - 1)
        return affect_fail(err, AFFECT_EARG, "vocab: vocab_size %zu is too large (at most %d)", o->vocab_size,
                           INT32_MAX - 1);
    if (o->n_special && !o->special_tokens)
        return affect_fail(err, AFFECT_EARG, "vocab: %zu special tokens but no list", o->n_special);
    wordpiece_trainer *t = calloc(1, sizeof *t);
    if (!t) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for the trainer");
    t->o = *o;
    if (!o->special_tokens) {
        t->o.special_tokens = DEFAULT_SPECIALS;
        t->o.n_special = sizeof DEFAULT_SPECIALS / sizeof DEFAULT_SPECIALS[0];
    }
    t->specials = calloc(t->o.n_special ? t->o.n_special : 1, sizeof *t->specials);
    if (!t->specials) {
        free(t);
        return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for the special tokens");
    }
    for (size_t i = 0; i < t->o.n_special; i++) {
        const char *s = t->o.special_tokens[i];
        if (!s || !*s) {
            wordpiece_trainer_free(t);
            return affect_fail(err, AFFECT_EARG, "vocab: special token %zu is empty", i);
        }
        if (!(t->specials[i] = dup_bytes(s, strlen(s)))) {
            wordpiece_trainer_free(t);
            return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for the special tokens");
        }
    }
    t->o.special_tokens = (const char *const *)t->specials;
    if (o->n_continuing_order && !o->continuing_order) t->o.n_continuing_order = 0;
    if (t->o.n_continuing_order) {
        if (!(t->order = calloc(t->o.n_continuing_order, sizeof *t->order))) {
            t->o.n_continuing_order = 0;
            wordpiece_trainer_free(t);
            return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for the continuing order");
        }
        for (size_t i = 0; i < t->o.n_continuing_order; i++) {
            const char *c = o->continuing_order[i] ? o->continuing_order[i] : "";
            if (!(t->order[i] = dup_bytes(c, strlen(c)))) {
                wordpiece_trainer_free(t);
                return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for the continuing order");
            }
        }
        t->o.continuing_order = (const char *const *)t->order;
    }
    t->bn.clean_text = 1;
    t->bn.handle_chinese_chars = 1;
    t->bn.strip_accents = 1;
    t->bn.lowercase = 1;
    *out = t;
    return 0;
}

/* Counts the words of one text, exactly the splits Rust's trainer receives from
 * normalize + pre_tokenize. */
int wordpiece_trainer_feed(wordpiece_trainer *t, const char *text, size_t len, affect_error *err) {
    int rc = bert_normalize(&t->bn, text, len, &t->nb, err);
    if (rc) return rc;
    size_t pos = 0, start, wlen;
    while (bert_pretok_next(t->nb.out, t->nb.len, &pos, &start, &wlen)) {
        const char *w = t->nb.out + start;
        int32_t id = tok_vocab_find(&t->words, w, wlen);
        if (id < 0) {
            if (t->nwords >= (size_t)INT32_MAX - 2)
                return affect_fail(err, AFFECT_EARG, "vocab: more than %d distinct words", INT32_MAX - 2);
            if (t->nwords == t->wcap) {
                size_t nc = t->wcap ? t->wcap * 2 : 4096;
                uint64_t *p = realloc(t->wcount, nc * sizeof *p);
                if (!p) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory counting %zu words", nc);
                t->wcount = p;
                t->wcap = nc;
            }
            id = (int32_t)t->nwords;
            if ((rc = tok_vocab_add(&t->words, id, w, wlen, err))) return rc;
            t->wcount[t->nwords++] = 0;
        }
        t->wcount[id]++;
        t->total++;
    }
    return 0;
}

/* ---- the vocabulary being built ------------------------------------------------------- */

typedef struct build_vocab {
    tok_vocab v;
    uint64_t *count; /* (v.n) */
    size_t cap;
} build_vocab;

/* Appends a token that is not yet in the vocabulary; *id gets its id. */
static int bv_add(build_vocab *b, const char *s, size_t n, uint64_t count, int32_t *id, affect_error *err) {
    if ((size_t)b->v.n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 1024;
        uint64_t *p = realloc(b->count, nc * sizeof *p);
        if (!p) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for %zu tokens", nc);
        b->count = p;
        b->cap = nc;
    }
    int32_t nid = b->v.n;
    int rc = tok_vocab_add(&b->v, nid, s, n, err);
    if (rc) return rc;
    b->count[nid] = count;
    if (id) *id = nid;
    return 0;
}

/* ---- the merge queue: Rust's BinaryHeap<Merge> -------------------------------------- */

typedef struct merge_entry {
    int64_t count;   /* the pair's count when this entry was (re)pushed */
    uint32_t a, b;   /* the pair of ids */
    uint64_t seq;    /* push order: breaks ties between entries of the same pair */
    int32_t *pos;    /* (npos) ascending word indices this entry merges in */
    uint32_t npos;
} merge_entry;

typedef struct merge_heap {
    merge_entry *e;
    size_t n, cap;
    uint64_t seq;
} merge_heap;

/* Rust's Ord on Merge: larger count first, then the smaller pair (a, then b). Entries of
 * the same pair and count (possible when a merge re-creates an existing token) go in push
 * order; Rust leaves that to its hash map's iteration order. */
static int entry_before(const merge_entry *x, const merge_entry *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    if (x->b != y->b) return x->b < y->b;
    return x->seq < y->seq;
}

static int heap_push(merge_heap *h, merge_entry e, affect_error *err) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 4096;
        if (nc > SIZE_MAX / sizeof *h->e) return affect_fail(err, AFFECT_ENOMEM, "vocab: merge queue too large");
        merge_entry *p = realloc(h->e, nc * sizeof *p);
        if (!p) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for a merge queue of %zu", nc);
        h->e = p;
        h->cap = nc;
    }
    e.seq = h->seq++;
    size_t i = h->n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!entry_before(&e, &h->e[parent])) break;
        h->e[i] = h->e[parent];
        i = parent;
    }
    h->e[i] = e;
    return 0;
}

static merge_entry heap_pop(merge_heap *h) {
    merge_entry top = h->e[0];
    merge_entry last = h->e[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && entry_before(&h->e[c + 1], &h->e[c])) c++;
        if (!entry_before(&h->e[c], &last)) break;
        h->e[i] = h->e[c];
        i = c;
    }
    if (h->n) h->e[i] = last;
    return top;
}

/* ---- "where to update": pair -> the words that gained it ----------------------------- */

typedef struct pos_list {
    uint64_t key;
    int32_t *pos;
    uint32_t n, cap;
} pos_list;

typedef struct where_map {
    pair_map index; /* key -> index into lists */
    pos_list *lists;
    size_t n, cap;
} where_map;

/* Records that word `w` holds pair `key`. Words arrive in ascending order per pair, so a
 * repeat is always the last one recorded: the list stays a sorted set. */
static int where_add(where_map *wm, uint64_t key, int32_t w, affect_error *err) {
    int inserted;
    int64_t *idx = pair_map_upsert(&wm->index, key, (int64_t)wm->n, &inserted, err);
    if (!idx) return err ? err->code : AFFECT_ENOMEM;
    if (inserted) {
        if (wm->n == wm->cap) {
            size_t nc = wm->cap ? wm->cap * 2 : 1024;
            pos_list *p = realloc(wm->lists, nc * sizeof *p);
            if (!p) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for %zu pair lists", nc);
            wm->lists = p;
            wm->cap = nc;
        }
        wm->lists[wm->n++] = (pos_list){key, NULL, 0, 0};
    }
    pos_list *l = &wm->lists[*idx];
    if (l->n && l->pos[l->n - 1] == w) return 0;
    if (l->n == l->cap) {
        if (l->cap >= UINT32_MAX / 2) return affect_fail(err, AFFECT_ENOMEM, "vocab: pair list too long");
        uint32_t nc = l->cap ? l->cap * 2 : 4;
        int32_t *p = realloc(l->pos, (size_t)nc * sizeof *p);
        if (!p) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for a pair list of %u", nc);
        l->pos = p;
        l->cap = nc;
    }
    l->pos[l->n++] = w;
    return 0;
}

/* Rust's `where_to_update.drain()`: every pair whose count is positive goes on the queue
 * with its word list; the others' lists are dropped. Leaves the map empty. */
static int where_flush(where_map *wm, pair_map *counts, merge_heap *h, affect_error *err) {
    int rc = 0;
    for (size_t i = 0; i < wm->n; i++) {
        pos_list *l = &wm->lists[i];
        const int64_t *c = pair_map_get(counts, l->key);
        if (!rc && c && *c > 0) {
            merge_entry e = {*c, (uint32_t)(l->key >> 32), (uint32_t)l->key, 0, l->pos, l->n};
            rc = heap_push(h, e, err);
            if (!rc) l->pos = NULL;
        }
        free(l->pos);
    }
    wm->n = 0;
    pair_map_clear(&wm->index);
    return rc;
}

static void where_free(where_map *wm) {
    for (size_t i = 0; i < wm->n; i++) free(wm->lists[i].pos);
    free(wm->lists);
    pair_map_free(&wm->index);
    memset(wm, 0, sizeof *wm);
}

/* ---- training ----------------------------------------------------------------------- */

typedef struct train_state {
    const wordpiece_trainer *t;
    build_vocab bv;
    int32_t *sym;      /* all words' symbols, word i at sym[off[i] .. off[i]+len[i]) */
    size_t *off;       /* (nwords) */
    uint32_t *len;     /* (nwords) */
    pair_map counts;   /* pair -> count */
    where_map where;
    merge_heap heap;
} train_state;

typedef struct cp_count {
    uint32_t cp;
    uint64_t count;
} cp_count;

static int by_count_then_high_cp(const void *x, const void *y) {
    const cp_count *a = x, *b = y;
    if (a->count != b->count) return a->count < b->count ? -1 : 1;
    return a->cp > b->cp ? -1 : a->cp < b->cp ? 1 : 0;
}

static int by_cp(const void *x, const void *y) {
    const cp_count *a = x, *b = y;
    return a->cp < b->cp ? -1 : a->cp > b->cp ? 1 : 0;
}

/* Collects a pair_map keyed by code point into a malloc'd array. */
static int map_to_array(const pair_map *m, cp_count **out, size_t *n, affect_error *err) {
    *out = malloc((m->count ? m->count : 1) * sizeof **out);
    if (!*out) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for %zu characters", m->count);
    *n = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i] != PAIR_MAP_EMPTY) (*out)[(*n)++] = (cp_count){(uint32_t)m->keys[i], (uint64_t)m->vals[i]};
    return 0;
}

/* compute_alphabet: every character weighted by its words' counts; with a limit, the
 * least frequent are dropped; the rest enter the vocabulary by code point. */
static int add_alphabet(train_state *s, affect_error *err) {
    const wordpiece_trainer *t = s->t;
    pair_map chars = {0};
    int rc = 0;
    for (size_t w = 0; w < t->nwords && !rc; w++) {
        const char *str = tok_vocab_str(&t->words, (int32_t)w);
        size_t n = t->words.len[w], i = 0;
        while (i < n) {
            uint32_t cp = utf8_next(str, n, &i);
            int64_t *c = pair_map_upsert(&chars, cp, 0, NULL, err);
            if (!c) { rc = err ? err->code : AFFECT_ENOMEM; break; }
            *c += (int64_t)t->wcount[w];
        }
    }
    cp_count *a = NULL;
    size_t na = 0;
    if (!rc) rc = map_to_array(&chars, &a, &na, err);
    pair_map_free(&chars);
    if (rc) return rc;
    size_t first = 0;
    if (t->o.limit_alphabet >= 0 && na > (size_t)t->o.limit_alphabet) {
        qsort(a, na, sizeof *a, by_count_then_high_cp);
        first = na - (size_t)t->o.limit_alphabet;
    }
    qsort(a + first, na - first, sizeof *a, by_cp);
    for (size_t i = first; i < na && !rc; i++) {
        char u[4];
        size_t ul = utf8_put(u, a[i].cp);
        if (tok_vocab_find(&s->bv.v, u, ul) < 0) rc = bv_add(&s->bv, u, ul, a[i].count, NULL, err);
    }
    free(a);
    return rc;
}

/* The "##c" tokens: in Rust they appear while words are split into characters, in hash map
 * order; here by code point, so the result does not depend on a random seed. */
static int add_continuing(train_state *s, affect_error *err) {
    const wordpiece_trainer *t = s->t;
    pair_map chars = {0};
    int rc = 0;
    for (size_t w = 0; w < t->nwords && !rc; w++) {
        const char *str = tok_vocab_str(&t->words, (int32_t)w);
        size_t n = t->words.len[w], i = 0;
        for (size_t k = 0; i < n; k++) {
            size_t at = i;
            uint32_t cp = utf8_next(str, n, &i);
            if (k == 0 || tok_vocab_find(&s->bv.v, str + at, i - at) < 0) continue;
            int64_t *c = pair_map_upsert(&chars, cp, 0, NULL, err);
            if (!c) { rc = err ? err->code : AFFECT_ENOMEM; break; }
            *c += (int64_t)t->wcount[w];
        }
    }
    cp_count *a = NULL;
    size_t na = 0;
    if (!rc) rc = map_to_array(&chars, &a, &na, err);
    pair_map_free(&chars);
    if (rc) return rc;
    qsort(a, na, sizeof *a, by_cp);
    for (size_t i = 0; i < t->o.n_continuing_order && !rc; i++) {
        const char *c = t->o.continuing_order[i];
        size_t cl = c ? strlen(c) : 0, k = PREFIX_LEN;
        if (cl <= PREFIX_LEN || memcmp(c, PREFIX, PREFIX_LEN)) continue;
        uint32_t cp = utf8_next(c, cl, &k);
        if (k != cl) continue; /* not "##" + one character */
        cp_count key = {cp, 0};
        cp_count *hit = bsearch(&key, a, na, sizeof *a, by_cp);
        if (hit && tok_vocab_find(&s->bv.v, c, cl) < 0) rc = bv_add(&s->bv, c, cl, hit->count, NULL, err);
    }
    for (size_t i = 0; i < na && !rc; i++) {
        char u[PREFIX_LEN + 4];
        memcpy(u, PREFIX, PREFIX_LEN);
        size_t ul = PREFIX_LEN + utf8_put(u + PREFIX_LEN, a[i].cp);
        if (tok_vocab_find(&s->bv.v, u, ul) < 0) rc = bv_add(&s->bv, u, ul, a[i].count, NULL, err);
    }
    free(a);
    return rc;
}

/* tokenize_words: each word as ids — its first character plain, the others "##"-prefixed;
 * characters outside the (limited) alphabet are left out. */
static int split_words(train_state *s, affect_error *err) {
    const wordpiece_trainer *t = s->t;
    size_t nsym = 0;
    for (size_t w = 0; w < t->nwords; w++) {
        if (nsym > SIZE_MAX - t->words.len[w]) return affect_fail(err, AFFECT_ENOMEM, "vocab: words too long");
        nsym += t->words.len[w]; /* bytes >= characters */
    }
    s->sym = malloc((nsym ? nsym : 1) * sizeof *s->sym);
    s->off = malloc((t->nwords ? t->nwords : 1) * sizeof *s->off);
    s->len = malloc((t->nwords ? t->nwords : 1) * sizeof *s->len);
    if (!s->sym || !s->off || !s->len)
        return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for %zu symbols", nsym);
    size_t at_sym = 0;
    for (size_t w = 0; w < t->nwords; w++) {
        const char *str = tok_vocab_str(&t->words, (int32_t)w);
        size_t n = t->words.len[w], i = 0;
        s->off[w] = at_sym;
        for (size_t k = 0; i < n; k++) {
            size_t at = i;
            (void)utf8_next(str, n, &i);
            int32_t id = tok_vocab_find(&s->bv.v, str + at, i - at);
            if (id < 0) continue;
            if (k > 0) {
                char u[PREFIX_LEN + 4];
                memcpy(u, PREFIX, PREFIX_LEN);
                memcpy(u + PREFIX_LEN, str + at, i - at);
                id = tok_vocab_find(&s->bv.v, u, PREFIX_LEN + (i - at));
                if (id < 0) return affect_fail(err, AFFECT_EFORMAT, "vocab: internal: no continuing token for a character");
            }
            s->sym[at_sym++] = id;
        }
        s->len[w] = (uint32_t)(at_sym - s->off[w]);
    }
    return 0;
}

/* count_pairs: every adjacent pair's count and the words holding it, all queued. */
static int count_pairs(train_state *s, affect_error *err) {
    const wordpiece_trainer *t = s->t;
    for (size_t w = 0; w < t->nwords; w++) {
        const int32_t *x = s->sym + s->off[w];
        for (uint32_t i = 0; i + 1 < s->len[w]; i++) {
            uint64_t key = pair_key((uint32_t)x[i], (uint32_t)x[i + 1]);
            int64_t *c = pair_map_upsert(&s->counts, key, 0, NULL, err);
            if (!c) return err ? err->code : AFFECT_ENOMEM;
            *c += (int64_t)t->wcount[w];
            int rc = where_add(&s->where, key, (int32_t)w, err);
            if (rc) return rc;
        }
    }
    return where_flush(&s->where, &s->counts, &s->heap, err);
}

/* One pair count change reported by a merge in word w (Rust's `changes`). */
static int apply_change(train_state *s, uint32_t x, uint32_t y, int delta, int32_t w, affect_error *err) {
    uint64_t key = pair_key(x, y);
    int64_t *c = pair_map_upsert(&s->counts, key, 0, NULL, err);
    if (!c) return err ? err->code : AFFECT_ENOMEM;
    *c += delta * (int64_t)s->t->wcount[w];
    return delta > 0 ? where_add(&s->where, key, w, err) : 0;
}

/* Word::merge: replaces each (a, b) left to right in word w by `rep`, reporting how the
 * neighbouring pairs change. */
static int merge_word(train_state *s, int32_t w, uint32_t a, uint32_t b, uint32_t rep, affect_error *err) {
    int32_t *x = s->sym + s->off[w];
    uint32_t n = s->len[w];
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        if ((uint32_t)x[i] != a || i + 1 >= n || (uint32_t)x[i + 1] != b) continue;
        uint32_t second = (uint32_t)x[i + 1];
        if (i > 0) {
            rc = apply_change(s, (uint32_t)x[i - 1], a, -1, w, err);
            if (!rc) rc = apply_change(s, (uint32_t)x[i - 1], rep, 1, w, err);
        }
        x[i] = (int32_t)rep;
        memmove(x + i + 1, x + i + 2, (size_t)(n - i - 2) * sizeof *x);
        n--;
        if (!rc && i + 1 < n) {
            rc = apply_change(s, second, (uint32_t)x[i + 1], -1, w, err);
            if (!rc) rc = apply_change(s, rep, (uint32_t)x[i + 1], 1, w, err);
        }
    }
    s->len[w] = n;
    return rc;
}

/* The new token of a merge: left + right, right without its "##". */
static int merged_token(train_state *s, uint32_t a, uint32_t b, int32_t *id, uint64_t count, affect_error *err) {
    const char *l = tok_vocab_str(&s->bv.v, (int32_t)a), *r = tok_vocab_str(&s->bv.v, (int32_t)b);
    size_t ll = s->bv.v.len[a], rl = s->bv.v.len[b];
    if (rl >= PREFIX_LEN && !memcmp(r, PREFIX, PREFIX_LEN)) {
        r += PREFIX_LEN;
        rl -= PREFIX_LEN;
    }
    if (ll > SIZE_MAX - rl - 1) return affect_fail(err, AFFECT_ENOMEM, "vocab: token too long");
    char *buf = malloc(ll + rl + 1);
    if (!buf) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for a %zu-byte token", ll + rl);
    memcpy(buf, l, ll);
    memcpy(buf + ll, r, rl);
    int rc = 0;
    *id = tok_vocab_find(&s->bv.v, buf, ll + rl);
    if (*id < 0) rc = bv_add(&s->bv, buf, ll + rl, count, id, err);
    free(buf);
    return rc;
}

/* The merge loop of do_train. */
static int run_merges(train_state *s, affect_error *err) {
    const wordpiece_trainer_opts *o = &s->t->o;
    int rc = 0;
    while (!rc && (size_t)s->bv.v.n < o->vocab_size && s->heap.n) {
        merge_entry top = heap_pop(&s->heap);
        const int64_t *cur = pair_map_get(&s->counts, pair_key(top.a, top.b));
        int64_t now = cur ? *cur : 0;
        if (top.count != now) {
            top.count = now;
            rc = heap_push(&s->heap, top, err);
            if (rc) free(top.pos);
            continue;
        }
        if (top.count < 1 || o->min_frequency > (uint64_t)top.count) {
            free(top.pos);
            break;
        }
        int32_t nid;
        rc = merged_token(s, top.a, top.b, &nid, (uint64_t)top.count, err);
        for (uint32_t i = 0; i < top.npos && !rc; i++) rc = merge_word(s, top.pos[i], top.a, top.b, (uint32_t)nid, err);
        free(top.pos);
        if (!rc) rc = where_flush(&s->where, &s->counts, &s->heap, err);
    }
    return rc;
}

static void state_free(train_state *s) {
    tok_vocab_free(&s->bv.v);
    free(s->bv.count);
    free(s->sym);
    free(s->off);
    free(s->len);
    pair_map_free(&s->counts);
    where_free(&s->where);
    for (size_t i = 0; i < s->heap.n; i++) free(s->heap.e[i].pos);
    free(s->heap.e);
}

void wordpiece_vocab_free(wordpiece_vocab *v) {
    if (!v) return;
    for (size_t i = 0; v->token && i < v->n; i++) free(v->token[i]);
    free(v->token);
    free(v->count);
    memset(v, 0, sizeof *v);
}

/* Copies the built vocabulary out in id order. */
static int export_vocab(const train_state *s, wordpiece_vocab *out, affect_error *err) {
    size_t n = (size_t)s->bv.v.n;
    out->token = calloc(n ? n : 1, sizeof *out->token);
    out->count = malloc((n ? n : 1) * sizeof *out->count);
    if (!out->token || !out->count) return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for %zu tokens", n);
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        if (!(out->token[i] = dup_bytes(tok_vocab_str(&s->bv.v, (int32_t)i), s->bv.v.len[i])))
            return affect_fail(err, AFFECT_ENOMEM, "vocab: out of memory for %zu tokens", n);
        out->count[i] = s->bv.count[i];
    }
    return 0;
}

int wordpiece_trainer_finish(wordpiece_trainer *t, wordpiece_vocab *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    train_state s;
    memset(&s, 0, sizeof s);
    s.t = t;
    int rc = 0;
    for (size_t i = 0; i < t->o.n_special && !rc; i++) {
        const char *sp = t->o.special_tokens[i];
        if (tok_vocab_find(&s.bv.v, sp, strlen(sp)) < 0) rc = bv_add(&s.bv, sp, strlen(sp), 0, NULL, err);
    }
    size_t n0 = (size_t)s.bv.v.n, n1 = 0, n2 = 0;
    if (!rc) rc = add_alphabet(&s, err);
    n1 = (size_t)s.bv.v.n;
    if (!rc) rc = add_continuing(&s, err);
    n2 = (size_t)s.bv.v.n;
    if (!rc) rc = split_words(&s, err);
    if (!rc) rc = count_pairs(&s, err);
    if (!rc) rc = run_merges(&s, err);
    if (!rc) rc = export_vocab(&s, out, err);
    if (!rc) {
        out->n_special = n0;
        out->n_alphabet = n1 - n0;
        out->n_continuing = n2 - n1;
        out->n_merges = out->n - n2;
        out->n_words = t->nwords;
        out->total_words = t->total;
    } else {
        wordpiece_vocab_free(out);
    }
    state_free(&s);
    return rc;
}

int wordpiece_train(const wordpiece_trainer_opts *o, const char *const *texts, const size_t *lens,
                    size_t n, wordpiece_vocab *out, affect_error *err) {
    memset(out, 0, sizeof *out);
    if (n && !texts) return affect_fail(err, AFFECT_EARG, "vocab: %zu texts but no array", n);
    wordpiece_trainer *t = NULL;
    int rc = wordpiece_trainer_new(&t, o, err);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!texts[i]) {
            rc = affect_fail(err, AFFECT_EARG, "vocab: text %zu is NULL", i);
            break;
        }
        rc = wordpiece_trainer_feed(t, texts[i], lens ? lens[i] : strlen(texts[i]), err);
    }
    if (!rc) rc = wordpiece_trainer_finish(t, out, err);
    wordpiece_trainer_free(t);
    return rc;
}
