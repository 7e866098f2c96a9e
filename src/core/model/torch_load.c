/* torch.save output, both formats, read without copying tensor bytes.
 *
 * Zip format (torch >= 1.6): <dir>/data.pkl is the state-dict pickle; its persistent ids are
 *   ('storage', torch.FloatStorage, key, location, numel)
 * and storage `key`'s raw bytes are the STORED entry <dir>/data/<key>.
 *
 * Legacy format (torch < 1.6, or _use_new_zipfile_serialization=False): five pickles in a row
 *   magic 0x1950a86a20f9469cfc6c, protocol 1001, sys_info dict, the object (persistent ids
 *   ('storage', type, root_key, location, numel, view_metadata)), the list of storage keys,
 * then for each key in that list: an 8-byte little-endian element count and the raw bytes.
 *
 * Either way the object pickle leaves PK_CALL nodes of torch._utils._rebuild_tensor_v2 et al.;
 * this file checks their storage, offset, sizes and strides against the bytes actually
 * present and turns them into affect_tensors. */
#include "tensors.h"
#include "tensors_internal.h"
#include "pickle.h"
#include "zip_reader.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TORCH_MAX_NEST 16 /* nested dicts / parameter-of-tensor wrappers */
#define TORCH_MAX_VISITS (1 << 20)

/* One persistent id seen in the pickle. */
typedef struct pid_rec {
    const char *key;
    size_t key_len;
    int dtype;            /* of the storage */
    const char *type_name;
    int64_t numel;        /* of the (root) storage, in its elements */
    int has_view;         /* legacy view_metadata: a slice of the root storage */
    int64_t view_off, view_numel;
    size_t storage;       /* index into the unique storages, after resolve */
} pid_rec;

/* One distinct storage key and where its bytes are. */
typedef struct storage_rec {
    const char *key;
    size_t key_len;
    int dtype;
    int64_t numel;
    const uint8_t *base;  /* NULL until found in the file */
} storage_rec;

typedef struct torch_ctx {
    pk_ctx pk;
    pid_rec *pids;
    size_t npids, cap;
    storage_rec *st;
    size_t nst;
    int legacy;
    long visits;          /* dict entries walked */
    const char *what;     /* "torch zip" / "torch legacy": the prefix of every message */
    affect_error *err;
    tensors_builder b;
} torch_ctx;

static int kstr(const pk_value *v) { return v && v->kind == PK_STR; }
static int kint(const pk_value *v) { return v && v->kind == PK_INT && !v->big; }
static int clip(size_t n) { return n > 200 ? 200 : (int)n; }

/* Validates a persistent id as torch writes it and records it; the PK_PERSID node keeps
 * the record's index as its tag. */
static int on_persid(void *user, pk_value *node, affect_error *err) {
    torch_ctx *c = user;
    const pk_value *id = node->items[0];
    if (id->kind != PK_TUPLE || id->n < 1 || !kstr(id->items[0]))
        return affect_fail(err, AFFECT_EFORMAT, "%s: persistent id is not a ('storage', ...) tuple", c->what);
    if (!(id->items[0]->len == 7 && !memcmp(id->items[0]->s, "storage", 7)))
        return affect_fail(err, AFFECT_EUNSUPPORTED,
                           "%s: persistent id of kind '%.*s' (only tensor storages are supported; "
                           "was a whole nn.Module saved instead of its state_dict?)",
                           c->what, clip(id->items[0]->len), id->items[0]->s);
    size_t want = c->legacy ? 6 : 5;
    if (id->n != want || id->items[1]->kind != PK_GLOBAL || id->items[1]->global != PKG_STORAGE ||
        !kstr(id->items[2]) || !kint(id->items[4]) || id->items[4]->i < 0)
        return affect_fail(err, AFFECT_EFORMAT,
                           "%s: storage persistent id is not ('storage', type, key, location, numel%s)",
                           c->what, c->legacy ? ", view" : "");
    if (id->items[1]->dtype < 0)
        return affect_fail(err, AFFECT_EUNSUPPORTED, "%s: storage type %s is not supported", c->what,
                           id->items[1]->s);
    pid_rec r;
    memset(&r, 0, sizeof r);
    r.key = id->items[2]->s;
    r.key_len = id->items[2]->len;
    r.dtype = id->items[1]->dtype;
    r.type_name = id->items[1]->s;
    r.numel = id->items[4]->i;
    if (c->legacy && id->items[5]->kind != PK_NONE) {
        const pk_value *v = id->items[5];
        if (v->kind != PK_TUPLE || v->n != 3 || !kint(v->items[1]) || !kint(v->items[2]) ||
            v->items[1]->i < 0 || v->items[2]->i < 0 || v->items[1]->i > r.numel ||
            v->items[2]->i > r.numel - v->items[1]->i)
            return affect_fail(err, AFFECT_EFORMAT,
                               "%s: storage '%.*s' has a view outside its %lld elements", c->what,
                               clip(r.key_len), r.key, (long long)r.numel);
        r.has_view = 1;
        r.view_off = v->items[1]->i;
        r.view_numel = v->items[2]->i;
    }
    if (c->npids == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        pid_rec *np = realloc(c->pids, cap * sizeof *np);
        if (!np) return affect_fail(err, AFFECT_ENOMEM, "%s: out of memory", c->what);
        c->pids = np;
        c->cap = cap;
    }
    node->i = (int64_t)c->npids;
    c->pids[c->npids++] = r;
    return 0;
}

static int cmp_key(const char *a, size_t al, const char *b, size_t bl) {
    size_t n = al < bl ? al : bl;
    int c = memcmp(a, b, n);
    if (c) return c;
    return al < bl ? -1 : al > bl;
}

static int cmp_storage(const void *a, const void *b) {
    const storage_rec *x = a, *y = b;
    return cmp_key(x->key, x->key_len, y->key, y->key_len);
}

static storage_rec *find_storage(torch_ctx *c, const char *key, size_t key_len) {
    size_t lo = 0, hi = c->nst;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_key(c->st[mid].key, c->st[mid].key_len, key, key_len);
        if (r == 0) return &c->st[mid];
        if (r < 0) lo = mid + 1; else hi = mid;
    }
    return NULL;
}

/* Collapses the persistent ids into distinct storages (sorted by key, for lookups in
 * O(log n)); ids naming one key must agree on its type and size. */
static int unique_storages(torch_ctx *c) {
    c->st = c->npids ? malloc(c->npids * sizeof *c->st) : NULL;
    if (c->npids && !c->st) return affect_fail(c->err, AFFECT_ENOMEM, "%s: out of memory", c->what);
    for (size_t i = 0; i < c->npids; i++) {
        storage_rec *s = &c->st[i];
        s->key = c->pids[i].key;
        s->key_len = c->pids[i].key_len;
        s->dtype = c->pids[i].dtype;
        s->numel = c->pids[i].numel;
        s->base = NULL;
    }
    if (c->npids > 1) qsort(c->st, c->npids, sizeof *c->st, cmp_storage);
    size_t n = 0;
    for (size_t i = 0; i < c->npids; i++) {
        if (n && !cmp_storage(&c->st[n - 1], &c->st[i])) {
            if (c->st[n - 1].dtype != c->st[i].dtype || c->st[n - 1].numel != c->st[i].numel)
                return affect_fail(c->err, AFFECT_EFORMAT,
                                   "%s: storage '%.*s' is declared with two different types or sizes",
                                   c->what, clip(c->st[i].key_len), c->st[i].key);
            continue;
        }
        c->st[n++] = c->st[i];
    }
    c->nst = n;
    for (size_t i = 0; i < c->npids; i++)
        c->pids[i].storage = (size_t)(find_storage(c, c->pids[i].key, c->pids[i].key_len) - c->st);
    return 0;
}

/* Bytes a storage declares: numel * element size, overflow-checked. */
static int storage_bytes(torch_ctx *c, const storage_rec *s, int64_t *out) {
    if (!tensors_mul(s->numel, (int64_t)affect_dtype_size((affect_dtype)s->dtype), out))
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: storage '%.*s' size overflows", c->what,
                           clip(s->key_len), s->key);
    return 0;
}

/* ---- tensors ---------------------------------------------------------------------------- */

static int read_dims(const pk_value *v, int64_t *out, int *nd) {
    if (!v || v->kind != PK_TUPLE || v->n > AFFECT_MAX_DIMS) return 0;
    for (size_t i = 0; i < v->n; i++) {
        if (!kint(v->items[i]) || v->items[i]->i < 0) return 0;
        out[i] = v->items[i]->i;
    }
    *nd = (int)v->n;
    return 1;
}

/* A rebuild call -> a tensor viewing the file's bytes, after proving that every element it
 * can address lies inside its storage. */
static int make_tensor(torch_ctx *c, const char *name, const pk_value *v, int depth, affect_tensor *t) {
    if (depth > TORCH_MAX_NEST)
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: tensor '%s' is nested too deeply", c->what, name);
    if (v->global == PKG_REBUILD_PARAMETER || v->global == PKG_REBUILD_PARAMETER_WITH_STATE) {
        if (v->n < 1 || v->items[0]->kind != PK_CALL)
            return affect_fail(c->err, AFFECT_EFORMAT, "%s: parameter '%s' does not wrap a tensor", c->what, name);
        return make_tensor(c, name, v->items[0], depth + 1, t);
    }
    size_t min_args = v->global == PKG_REBUILD_TENSOR ? 4 : v->global == PKG_REBUILD_TENSOR_V2 ? 6 : 7;
    if (v->n < min_args || v->n > min_args + 1)
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: tensor '%s': %s has %zu arguments", c->what,
                           name, v->s, v->n);
    const pk_value *sv = v->items[0];
    if (sv->kind != PK_PERSID || sv->i < 0 || (size_t)sv->i >= c->npids)
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: tensor '%s' has no storage", c->what, name);
    const pid_rec *pid = &c->pids[sv->i];
    const storage_rec *s = &c->st[pid->storage];
    memset(t, 0, sizeof *t);
    int dtype = s->dtype;
    if (v->global == PKG_REBUILD_TENSOR_V3) {
        const pk_value *d = v->items[6];
        if (d->kind != PK_GLOBAL || d->global != PKG_DTYPE)
            return affect_fail(c->err, AFFECT_EFORMAT, "%s: tensor '%s' has no dtype", c->what, name);
        if (d->dtype < 0)
            return affect_fail(c->err, AFFECT_EUNSUPPORTED, "%s: tensor '%s' has dtype %s, which affect does not support",
                               c->what, name, d->s);
        dtype = d->dtype;
    }
    t->dtype = (affect_dtype)dtype;
    int64_t es = (int64_t)affect_dtype_size(t->dtype);
    int nd_stride = -1;
    if (!kint(v->items[1]) || v->items[1]->i < 0 || !read_dims(v->items[2], t->shape, &t->ndim) ||
        !read_dims(v->items[3], t->stride, &nd_stride) || nd_stride != t->ndim)
        return affect_fail(c->err, AFFECT_EFORMAT,
                           "%s: tensor '%s' has a bad storage offset, size or stride "
                           "(non-negative ints, at most %d dims, as many strides as sizes)",
                           c->what, name, AFFECT_MAX_DIMS);
    int64_t offset = v->items[1]->i;
    /* the bytes this tensor may address: the storage, or the legacy view of it */
    int64_t sbytes;
    if (storage_bytes(c, s, &sbytes)) return c->err->code;
    const uint8_t *base = s->base;
    int64_t avail = sbytes, ses = (int64_t)affect_dtype_size((affect_dtype)s->dtype);
    if (pid->has_view) {
        base += pid->view_off * ses;  /* in bounds: view_off + view_numel <= numel */
        avail = pid->view_numel * ses;
    }
    char sb[160];
    if (!tensors_numel(t->shape, t->ndim, &t->numel))
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: tensor '%s' shape %s overflows", c->what, name,
                           affect_shape_str(t->shape, t->ndim, sb, sizeof sb));
    int64_t last = offset, end_bytes; /* index of the last element addressed */
    if (t->numel > 0) {
        for (int i = 0; i < t->ndim; i++) {
            int64_t span;
            if (!tensors_mul(t->shape[i] - 1, t->stride[i], &span) || span > INT64_MAX - last)
                return affect_fail(c->err, AFFECT_EFORMAT, "%s: tensor '%s' strides overflow", c->what, name);
            last += span;
        }
        if (last == INT64_MAX || !tensors_mul(last + 1, es, &end_bytes) || end_bytes > avail)
            return affect_fail(c->err, AFFECT_EFORMAT,
                               "%s: tensor '%s' %s (offset %lld) reaches past its storage '%.*s' "
                               "(%lld bytes)", c->what, name,
                               affect_shape_str(t->shape, t->ndim, sb, sizeof sb), (long long)offset,
                               clip(s->key_len), s->key, (long long)avail);
        t->data = base + offset * es;
    } else {
        t->data = base; /* nothing is ever read */
    }
    return 0;
}

/* Appends `key` (a str or int dict key) to `prefix` with a '.' between; NULL when the key
 * is neither or memory runs out (err set in that case). */
static char *join_name(torch_ctx *c, const char *prefix, const pk_value *key, int *skip) {
    char num[32];
    const char *k;
    size_t kl;
    *skip = 0;
    if (kstr(key)) { k = key->s; kl = key->len; }
    else if (kint(key)) { snprintf(num, sizeof num, "%lld", (long long)key->i); k = num; kl = strlen(num); }
    else { *skip = 1; return NULL; }
    if (memchr(k, 0, kl)) {
        affect_fail(c->err, AFFECT_EFORMAT, "%s: a dict key contains a NUL byte", c->what);
        return NULL;
    }
    size_t pl = strlen(prefix);
    char *s = malloc(pl + 1 + kl + 1);
    if (!s) { affect_fail(c->err, AFFECT_ENOMEM, "%s: out of memory", c->what); return NULL; }
    size_t o = 0;
    if (pl) { memcpy(s, prefix, pl); s[pl] = '.'; o = pl + 1; }
    memcpy(s + o, k, kl);
    s[o + kl] = 0;
    return s;
}

/* Every tensor reachable through (nested) dicts becomes a named tensor; other values
 * (ints, strings, lists, the optimizer's hyper-parameters) are skipped. */
static int walk(torch_ctx *c, const pk_value *d, const char *prefix, int depth) {
    if (depth > TORCH_MAX_NEST)
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: dicts nested more than %d deep", c->what, TORCH_MAX_NEST);
    for (size_t i = 0; i + 1 < d->n; i += 2) {
        const pk_value *v = d->items[i + 1];
        if (v->kind != PK_CALL && v->kind != PK_DICT) continue;
        /* shared sub-dicts (the memo makes a DAG) could multiply the work exponentially */
        if (++c->visits > TORCH_MAX_VISITS)
            return affect_fail(c->err, AFFECT_EFORMAT, "%s: more than %d tensors and dicts", c->what,
                               TORCH_MAX_VISITS);
        int skip;
        char *name = join_name(c, prefix, d->items[i], &skip);
        if (skip) continue;
        if (!name) return c->err->code;
        int rc;
        if (v->kind == PK_DICT) {
            rc = walk(c, v, name, depth + 1);
        } else {
            affect_tensor t;
            rc = make_tensor(c, name, v, 0, &t);
            if (!rc) rc = tensors_builder_add(&c->b, name, strlen(name), &t, c->what, c->err);
        }
        free(name);
        if (rc) return rc;
    }
    return 0;
}

static int load_pickle(torch_ctx *c, const char *part, const uint8_t *buf, size_t len,
                       size_t *used, pk_value **out) {
    affect_error e;
    memset(&e, 0, sizeof e);
    int rc = pk_load(&c->pk, buf, len, used, out, &e);
    if (rc) return affect_fail(c->err, rc, "%s: %s: %s", c->what, part, e.msg);
    return 0;
}

static int finish(torch_ctx *c, const pk_value *obj, affect_tensor_set *ts) {
    if (obj->kind == PK_CALL)
        return affect_fail(c->err, AFFECT_EUNSUPPORTED,
                           "%s: the file holds a single tensor, not a state dict", c->what);
    if (obj->kind != PK_DICT)
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: the saved object is not a dict (state dict expected)",
                           c->what);
    int rc = walk(c, obj, "", 0);
    if (rc) return rc;
    return tensors_builder_finish(&c->b, ts, c->what, c->err);
}

/* ---- zip ----------------------------------------------------------------------------------- */

static int parse_zip(torch_ctx *c, const uint8_t *buf, size_t len, affect_tensor_set *ts) {
    affect_zip z;
    int rc = affect_zip_open(&z, buf, len, c->err);
    if (rc) return rc;
    /* the top folder's name varies ("archive/", the file's stem): find <dir>/data.pkl */
    const affect_zip_entry *pkl = NULL;
    for (size_t i = 0; i < z.n; i++) {
        const affect_zip_entry *e = &z.e[i];
        if (e->name_len < 8 || memcmp(e->name + e->name_len - 8, "data.pkl", 8)) continue;
        size_t pl = e->name_len - 8;
        if (pl && (e->name[pl - 1] != '/' || memchr(e->name, '/', pl - 1))) continue;
        if (pkl) { rc = affect_fail(c->err, AFFECT_EFORMAT, "%s: more than one data.pkl", c->what); goto done; }
        pkl = e;
    }
    if (!pkl) {
        rc = affect_fail(c->err, AFFECT_EFORMAT, "%s: no data.pkl in the archive (not a torch.save file)", c->what);
        goto done;
    }
    size_t pl = pkl->name_len - 8;
    char *path = malloc(pl + 32);
    if (!path) { rc = affect_fail(c->err, AFFECT_ENOMEM, "%s: out of memory", c->what); goto done; }
    memcpy(path, pkl->name, pl);
    memcpy(path + pl, "byteorder", 9);
    const affect_zip_entry *bo = affect_zip_find(&z, path, pl + 9);
    free(path);
    if (bo) {
        const uint8_t *d;
        size_t n;
        if ((rc = affect_zip_data(&z, bo, &d, &n, c->err))) goto done;
        if (!(n == 6 && !memcmp(d, "little", 6))) {
            rc = affect_fail(c->err, AFFECT_EUNSUPPORTED, "%s: the archive's byteorder is not little endian", c->what);
            goto done;
        }
    }
    const uint8_t *pd;
    size_t pn;
    pk_value *obj;
    if ((rc = affect_zip_data(&z, pkl, &pd, &pn, c->err))) goto done;
    c->pk.persid = on_persid;
    c->pk.user = c;
    if ((rc = load_pickle(c, "data.pkl", pd, pn, NULL, &obj))) goto done;
    if ((rc = unique_storages(c))) goto done;
    for (size_t i = 0; i < c->nst; i++) {
        storage_rec *s = &c->st[i];
        size_t nl = pl + 5 + s->key_len;
        char *name = malloc(nl);
        if (!name) { rc = affect_fail(c->err, AFFECT_ENOMEM, "%s: out of memory", c->what); goto done; }
        memcpy(name, pkl->name, pl);
        memcpy(name + pl, "data/", 5);
        memcpy(name + pl + 5, s->key, s->key_len);
        const affect_zip_entry *e = affect_zip_find(&z, name, nl);
        free(name);
        if (!e) {
            rc = affect_fail(c->err, AFFECT_EFORMAT, "%s: storage '%.*s' has no data/%.*s entry", c->what,
                             clip(s->key_len), s->key, clip(s->key_len), s->key);
            goto done;
        }
        const uint8_t *d;
        size_t n;
        int64_t need;
        if ((rc = affect_zip_data(&z, e, &d, &n, c->err)) || (rc = storage_bytes(c, s, &need))) goto done;
        if ((uint64_t)n < (uint64_t)need) {
            rc = affect_fail(c->err, AFFECT_EFORMAT,
                             "%s: storage '%.*s' (%s, %lld elements) needs %lld bytes but its entry has %zu",
                             c->what, clip(s->key_len), s->key, affect_dtype_name((affect_dtype)s->dtype),
                             (long long)s->numel, (long long)need, n);
            goto done;
        }
        s->base = d;
    }
    rc = finish(c, obj, ts);
done:
    affect_zip_close(&z);
    return rc;
}

/* ---- legacy -------------------------------------------------------------------------------- */

static int parse_legacy(torch_ctx *c, const uint8_t *buf, size_t len, affect_tensor_set *ts) {
    static const uint8_t magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    size_t pos = 0, used;
    pk_value *v, *obj, *keys;
    int rc;
    if ((rc = load_pickle(c, "magic number", buf, len, &used, &v))) return rc;
    pos += used;
    if (v->kind != PK_INT || !v->big || v->len != 10 || memcmp(v->s, magic, 10))
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: bad magic number (not a torch.save file)", c->what);
    if ((rc = load_pickle(c, "protocol version", buf + pos, len - pos, &used, &v))) return rc;
    pos += used;
    if (!kint(v) || v->i != 1001)
        return affect_fail(c->err, AFFECT_EUNSUPPORTED, "%s: protocol version %lld (1001 expected)",
                           c->what, kint(v) ? (long long)v->i : -1LL);
    if ((rc = load_pickle(c, "sys_info", buf + pos, len - pos, &used, &v))) return rc;
    pos += used;
    const pk_value *le = pk_dict_get(v, "little_endian");
    if (v->kind != PK_DICT || (le && le->kind == PK_BOOL && !le->i))
        return affect_fail(c->err, AFFECT_EUNSUPPORTED, "%s: file was saved big endian", c->what);
    c->pk.persid = on_persid;
    c->pk.user = c;
    rc = load_pickle(c, "object", buf + pos, len - pos, &used, &obj);
    c->pk.persid = NULL;
    if (rc) return rc;
    pos += used;
    if ((rc = load_pickle(c, "storage keys", buf + pos, len - pos, &used, &keys))) return rc;
    pos += used;
    if (keys->kind != PK_LIST)
        return affect_fail(c->err, AFFECT_EFORMAT, "%s: storage key list is not a list", c->what);
    if ((rc = unique_storages(c))) return rc;
    for (size_t i = 0; i < keys->n; i++) {
        const pk_value *k = keys->items[i];
        if (!kstr(k)) return affect_fail(c->err, AFFECT_EFORMAT, "%s: storage key %zu is not a string", c->what, i);
        storage_rec *s = find_storage(c, k->s, k->len);
        if (!s)
            return affect_fail(c->err, AFFECT_EFORMAT, "%s: storage '%.*s' is listed but no tensor uses it",
                               c->what, clip(k->len), k->s);
        if (s->base)
            return affect_fail(c->err, AFFECT_EFORMAT, "%s: storage '%.*s' is listed twice", c->what,
                               clip(k->len), k->s);
        if (len - pos < 8)
            return affect_fail(c->err, AFFECT_EFORMAT, "%s: file ends before storage '%.*s'", c->what,
                               clip(k->len), k->s);
        uint64_t count = 0;
        for (int b = 7; b >= 0; b--) count = (count << 8) | buf[pos + (size_t)b];
        pos += 8;
        int64_t need;
        if ((rc = storage_bytes(c, s, &need))) return rc;
        if (count != (uint64_t)s->numel)
            return affect_fail(c->err, AFFECT_EFORMAT,
                               "%s: storage '%.*s' has %llu elements in the file but %lld in the pickle",
                               c->what, clip(k->len), k->s, (unsigned long long)count, (long long)s->numel);
        if ((uint64_t)need > (uint64_t)(len - pos))
            return affect_fail(c->err, AFFECT_EFORMAT,
                               "%s: storage '%.*s' (%lld bytes) runs past the end of the file", c->what,
                               clip(k->len), k->s, (long long)need);
        s->base = buf + pos;
        pos += (size_t)need;
    }
    for (size_t i = 0; i < c->nst; i++)
        if (!c->st[i].base)
            return affect_fail(c->err, AFFECT_EFORMAT, "%s: storage '%.*s' is used but missing from the file",
                               c->what, clip(c->st[i].key_len), c->st[i].key);
    return finish(c, obj, ts);
}

int affect_torch_parse(affect_tensor_set *ts, const uint8_t *buf, size_t len, affect_error *err) {
    if (!ts) return affect_fail(err, AFFECT_EARG, "torch: NULL set");
    ts->t = NULL;
    ts->n = 0;
    if (!buf && len) return affect_fail(err, AFFECT_EARG, "torch: NULL buffer");
    affect_error local;
    torch_ctx c;
    memset(&c, 0, sizeof c);
    c.err = err ? err : &local;
    int rc;
    if (len >= 4 && !memcmp(buf, "PK\x03\x04", 4)) {
        c.what = "torch zip";
        rc = parse_zip(&c, buf, len, ts);
    } else if (len >= 2 && buf[0] == 0x80) {
        c.what = "torch legacy";
        c.legacy = 1;
        rc = parse_legacy(&c, buf, len, ts);
    } else {
        rc = affect_fail(c.err, AFFECT_EFORMAT,
                         "torch: neither a zip archive nor a legacy torch.save pickle");
    }
    tensors_builder_free(&c.b);
    pk_ctx_free(&c.pk);
    free(c.pids);
    free(c.st);
    if (rc) affect_tensor_set_free(ts);
    return rc;
}
