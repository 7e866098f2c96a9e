/* Reading a config from YAML (libyaml's document loader) against the schema table, and
 * writing a resolved config back as block-style YAML. */
#define _POSIX_C_SOURCE 200809L
#include "config/config_internal.h"
#include "util/blob.h"
#include "util/error.h"
#include "util/json.h"
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include "native/atomic_file.h"

typedef struct walk {
    yaml_document_t *doc;
    affect_run_config *c;
    const char *name;
    affect_error *err;
} walk;

static size_t line_of(const yaml_node_t *n) { return n->start_mark.line + 1; }

/* Edit distance, for "did you mean": keys are short, so the quadratic table is fine. */
static size_t edit_distance(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64) return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= nb; j++) row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t prev = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t cur = row[j];
            size_t sub = prev + (a[i - 1] != b[j - 1]);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[nb];
}

/* The known name (key or subsection) in `section` closest to `key`, if close enough to be
 * what the user meant. */
static const char *closest(const char *section, const char *key, char *buf, size_t len) {
    size_t best = (size_t)-1;
    const char *pick = NULL;
    for (int i = 0; i < cfg_nkeys; i++) {
        if (!cfg_keys[i].valid || strcmp(cfg_keys[i].section, section)) continue;
        size_t d = edit_distance(key, cfg_keys[i].name);
        if (d < best) { best = d; pick = cfg_keys[i].name; }
    }
    size_t sl = strlen(section);
    for (int i = 0; i < cfg_nsections; i++) {
        const char *s = cfg_sections[i], *child;
        if (sl) {
            if (strncmp(s, section, sl) || s[sl] != '.') continue;
            child = s + sl + 1;
        } else {
            child = s;
        }
        if (strchr(child, '.')) continue;
        size_t d = edit_distance(key, child);
        if (d < best) { best = d; pick = child; }
    }
    size_t kl = strlen(key);
    if (!pick || best > 2 + kl / 4 || best >= kl) return NULL;
    snprintf(buf, len, "%s", pick);
    return buf;
}

static int unknown_key(walk *w, const char *section, const char *key, const yaml_node_t *at) {
    char sug[128], where[160];
    if (*section) snprintf(where, sizeof where, "in %s", section);
    else snprintf(where, sizeof where, "at the top level");
    if (closest(section, key, sug, sizeof sug))
        return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: unknown key '%s' %s (did you mean '%s'?)", w->name,
                           line_of(at), key, where, sug);
    for (int i = 0; i < cfg_nkeys; i++) /* a key put in the wrong section */
        if (cfg_keys[i].valid && !strcmp(cfg_keys[i].name, key))
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: unknown key '%s' %s ('%s' is a key of %s)", w->name,
                               line_of(at), key, where, key, cfg_keys[i].section);
    return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: unknown key '%s' %s", w->name, line_of(at), key, where);
}

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static int is_plain(const yaml_node_t *n) { return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE; }

/* `key:` with nothing, `~` or `null` (plain). */
static int is_null(const yaml_node_t *n) {
    if (n->type != YAML_SCALAR_NODE || !is_plain(n)) return 0;
    const char *s = scalar(n);
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *type_name(cfg_type t) {
    switch (t) {
    case CFG_INT: return "an integer";
    case CFG_FLOAT: return "a number";
    case CFG_BOOL: return "true or false";
    case CFG_STR: return "a string";
    case CFG_ENUM: return "one of";
    default: return "a list of strings";
    }
}

static const char *node_kind(const yaml_node_t *n) {
    if (n->type == YAML_MAPPING_NODE) return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE) return "a list";
    return "a scalar";
}

/* A number as users write it: decimal digits, an optional sign, point and exponent
 * (`3e-5`, `.5`, `1e4`). Hex, inf and nan are refused. */
static int parse_number(const char *s, double *out) {
    if (!*s) return -1;
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p)) return -1;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

static int parse_int(const char *s, long long *out) {
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (!*p) return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q)) return -1;
    if (strlen(p) > 15) return -1;
    *out = strtoll(s, NULL, 10);
    return 0;
}

static int parse_bool(const char *s) {
    static const char *const t[] = {"true", "yes", "on"}, *const f[] = {"false", "no", "off"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(s, t[i])) return 1;
        if (!strcasecmp(s, f[i])) return 0;
    }
    return -1;
}

static int enum_ok(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t k = bar ? (size_t)(bar - p) : strlen(p);
        if (k == n && !strncmp(p, v, n)) return 1;
        p += k + (bar != NULL);
    }
    return 0;
}

static void free_list(affect_strlist *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

/* Stores one value into the field of key k; messages name file:line and the dotted key. */
static int set_value(walk *w, int ki, const yaml_node_t *v) {
    const cfg_key *k = &cfg_keys[ki];
    char *field = (char *)w->c + k->offset;
    char path[256];
    snprintf(path, sizeof path, "%s.%s", k->section, k->name);
    size_t line = line_of(v);
    if (k->type == CFG_LIST) {
        affect_strlist *l = (affect_strlist *)field;
        free_list(l);
        if (is_null(v)) return 0;
        if (v->type != YAML_SEQUENCE_NODE)
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: expected a list of strings, got %s", w->name, line,
                               path, node_kind(v));
        size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (n > 100000) return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: list too long", w->name, line, path);
        l->v = calloc(n ? n : 1, sizeof *l->v);
        if (!l->v) return affect_fail(w->err, AFFECT_ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *it = yaml_document_get_node(w->doc, v->data.sequence.items.start[i]);
            if (!it || it->type != YAML_SCALAR_NODE || is_null(it))
                return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: item %zu is not a string", w->name,
                                   it ? line_of(it) : line, path, i + 1);
            l->v[i] = strdup(scalar(it));
            if (!l->v[i]) return affect_fail(w->err, AFFECT_ENOMEM, "out of memory");
            l->n++;
        }
        return 0;
    }
    if (v->type != YAML_SCALAR_NODE) {
        if (k->type == CFG_ENUM)
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: expected one of %s, got %s", w->name, line, path,
                               k->choices, node_kind(v));
        return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: expected %s, got %s", w->name, line, path,
                           type_name(k->type), node_kind(v));
    }
    const char *s = scalar(v);
    if (k->type == CFG_STR || k->type == CFG_ENUM) {
        if (is_null(v)) s = "";
        if (k->type == CFG_ENUM && !enum_ok(k->choices, s))
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: expected one of %s, got '%s'", w->name, line, path,
                               k->choices, s);
        if (strlen(s) >= k->size)
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: value longer than %zu bytes", w->name, line, path,
                               k->size - 1);
        memcpy(field, s, strlen(s) + 1);
        return 0;
    }
    /* numbers and booleans: a quoted value is a string, which is the wrong type */
    const char *why = !is_plain(v) ? "a quoted string" : NULL;
    if (k->type == CFG_BOOL) {
        int b = why ? -1 : parse_bool(s);
        if (b < 0)
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: expected true or false, got %s'%.60s'", w->name, line,
                               path, why ? "a quoted string " : "", s);
        *(int *)field = b;
        return 0;
    }
    double d;
    if (k->type == CFG_INT) {
        long long x;
        if (why || parse_int(s, &x))
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: expected an integer, got %s'%.60s'", w->name, line,
                               path, why ? "a quoted string " : "", s);
        d = (double)x;
    } else {
        if (why || parse_number(s, &d))
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s: expected a number, got %s'%.60s'", w->name, line,
                               path, why ? "a quoted string " : "", s);
    }
    if (d < k->lo || d > k->hi)
        return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s must be in [%g, %g], got %s", w->name, line, path, k->lo,
                           k->hi, s);
    if (k->type == CFG_INT) *(int *)field = (int)d;
    else *(double *)field = d;
    return 0;
}

static int walk_mapping(walk *w, const yaml_node_t *m, const char *section) {
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(w->doc, p->value);
        if (!kn || !vn) return affect_fail(w->err, AFFECT_EFORMAT, "%s: malformed YAML document", w->name);
        if (kn->type != YAML_SCALAR_NODE)
            return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: a key must be a plain name", w->name, line_of(kn));
        const char *key = scalar(kn);
        for (yaml_node_pair_t *q = m->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *prev = yaml_document_get_node(w->doc, q->key);
            if (prev && prev->type == YAML_SCALAR_NODE && !strcmp(scalar(prev), key))
                return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: duplicate key '%s'%s%s (first on line %zu)", w->name,
                                   line_of(kn), key, *section ? " in " : "", section, line_of(prev));
        }
        char child[256];
        if (snprintf(child, sizeof child, "%s%s%s", section, *section ? "." : "", key) >= (int)sizeof child)
            return unknown_key(w, section, key, kn);
        if (cfg_is_section(child)) {
            if (is_null(vn)) continue;
            if (vn->type != YAML_MAPPING_NODE)
                return affect_fail(w->err, AFFECT_EFORMAT, "%s:%zu: %s must be a mapping (a section of keys), got %s",
                                   w->name, line_of(vn), child, node_kind(vn));
            int rc = walk_mapping(w, vn, child);
            if (rc) return rc;
            continue;
        }
        int ki = cfg_find(section, key);
        if (ki < 0) return unknown_key(w, section, key, kn);
        int rc = set_value(w, ki, vn);
        if (rc) return rc;
        w->c->given[ki] = 1;
    }
    return 0;
}

void affect_run_config_free(affect_run_config *c) {
    if (!c) return;
    free_list(&c->data.custom.label_columns);
    free_list(&c->data.custom.label_names);
}

int affect_run_config_parse(const char *name, const char *text, size_t len, affect_run_config *c, affect_error *err) {
    affect_run_config_defaults(c);
    if (!name) name = "config";
    snprintf(c->resolved.source, sizeof c->resolved.source, "%s", name);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return affect_fail(err, AFFECT_ENOMEM, "cannot initialise the YAML parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu:%zu: YAML error: %s%s%s", name, parser.problem_mark.line + 1,
                             parser.problem_mark.column + 1, parser.problem ? parser.problem : "malformed",
                             parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return rc;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    walk w = {&doc, c, name, err};
    if (root && !is_null(root)) {
        if (root->type != YAML_MAPPING_NODE)
            rc = affect_fail(err, AFFECT_EFORMAT, "%s:%zu: a config must be a mapping of sections (model:, training:, ...)",
                             name, line_of(root));
        else rc = walk_mapping(&w, root, "");
    }
    /* a second document in the same file is a mistake worth reporting */
    if (!rc) {
        yaml_document_t extra;
        if (yaml_parser_load(&parser, &extra)) {
            if (yaml_document_get_root_node(&extra))
                rc = affect_fail(err, AFFECT_EFORMAT, "%s: more than one YAML document ('---'); a config is one", name);
            yaml_document_delete(&extra);
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (!rc) {
        cfg_apply_inheritance(c);
        rc = cfg_validate(c, name, err);
    }
    if (rc) affect_run_config_free(c);
    return rc;
}

int affect_run_config_load(const char *path, affect_run_config *c, affect_error *err) {
    char *text;
    size_t len;
    affect_run_config_defaults(c);
    int rc = affect_read_file(path, &text, &len, err);
    if (rc) return rc;
    rc = affect_run_config_parse(path, text, len, c, err);
    free(text);
    return rc;
}

/* ---- writing -------------------------------------------------------------------------- */

/* A string that every YAML reader takes back as the same string without quotes. */
static int plain_safe(const char *s) {
    if (!*s || strlen(s) > 200) return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_./-", *p)) return 0;
    if (*s == '-' || *s == '.') return 0;
    double d;
    if (!parse_number(s, &d) || parse_bool(s) >= 0 || !strcasecmp(s, "null") || !strcasecmp(s, "y") ||
        !strcasecmp(s, "n"))
        return 0;
    return 1;
}

static int put_string(json_buf *b, const char *s) {
    if (plain_safe(s)) return json_buf_append(b, s, strlen(s));
    return json_buf_string(b, s, strlen(s)); /* JSON escapes are YAML double-quoted escapes */
}

/* The shortest %g that reads back as the same double, so 3e-05 stays 3e-05. */
static int put_double(json_buf *b, double v) {
    char tmp[40];
    if (v == floor(v) && fabs(v) < 1e15) { /* 50 -> 50.0, not 5e+01: still visibly a float */
        snprintf(tmp, sizeof tmp, "%.1f", v);
        return json_buf_append(b, tmp, strlen(tmp));
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v) break;
    }
    /* 3e-05 -> 3.0e-05: YAML 1.1 readers (PyYAML) only take an exponent form with a point
     * as a float, and the run folder's config.yaml is read by Python tools too. */
    char *e = strchr(tmp, 'e');
    if (e && !memchr(tmp, '.', (size_t)(e - tmp)) && strlen(tmp) + 3 < sizeof tmp) {
        memmove(e + 2, e, strlen(e) + 1);
        e[0] = '.';
        e[1] = '0';
    }
    return json_buf_append(b, tmp, strlen(tmp));
}

static int put_value(json_buf *b, const affect_run_config *c, const cfg_key *k) {
    const char *field = (const char *)c + k->offset;
    switch (k->type) {
    case CFG_INT: return json_buf_printf(b, "%d", *(const int *)field);
    case CFG_FLOAT: return put_double(b, *(const double *)field);
    case CFG_BOOL: return json_buf_printf(b, "%s", *(const int *)field ? "true" : "false");
    case CFG_STR:
    case CFG_ENUM: return put_string(b, field);
    default: {
        const affect_strlist *l = (const affect_strlist *)field;
        int rc = json_buf_append(b, "[", 1);
        for (int i = 0; !rc && i < l->n; i++) {
            if (i) rc = json_buf_append(b, ", ", 2);
            if (!rc) rc = put_string(b, l->v[i]);
        }
        return rc ? rc : json_buf_append(b, "]", 1);
    }
    }
}

/* Whether the writer emits key ki: lemotif.common holds the shared keys (and any other key
 * the file set there); frozen/unfrozen hold
 * their own keys and any shared key whose value differs from common's (so re-reading the
 * file, with its inheritance, gives back the same effective stages). */
static int written(const affect_run_config *c, int ki) {
    const cfg_key *k = &cfg_keys[ki];
    if (!strcmp(k->section, "training.lemotif.common")) return (k->flags & CFG_F_HOME) || c->given[ki];
    if (!strcmp(k->section, "training.lemotif.frozen") || !strcmp(k->section, "training.lemotif.unfrozen")) {
        if (!(k->flags & CFG_F_HOME)) return 1;
        int j = cfg_find("training.lemotif.common", k->name);
        return j < 0 || memcmp((const char *)c + k->offset, (const char *)c + cfg_keys[j].offset, k->size) != 0;
    }
    return 1;
}

static int write_section(json_buf *b, const affect_run_config *c, const char *section, int indent) {
    int rc = 0;
    for (int i = 0; !rc && i < cfg_nkeys; i++) {
        const cfg_key *k = &cfg_keys[i];
        if (!k->valid || strcmp(k->section, section) || !written(c, i)) continue;
        rc = json_buf_printf(b, "%*s%s: ", indent, "", k->name);
        if (!rc) rc = put_value(b, c, k);
        if (!rc) rc = json_buf_append(b, "\n", 1);
    }
    size_t sl = strlen(section);
    for (int i = 0; !rc && i < cfg_nsections; i++) {
        const char *s = cfg_sections[i], *child;
        if (sl) {
            if (strncmp(s, section, sl) || s[sl] != '.') continue;
            child = s + sl + 1;
        } else {
            child = s;
        }
        if (strchr(child, '.')) continue;
        rc = json_buf_printf(b, "%*s%s:\n", indent, "", child);
        if (!rc) rc = write_section(b, c, s, indent + 2);
    }
    return rc;
}

int affect_run_config_to_yaml(const affect_run_config *c, char **out, size_t *len, affect_error *err) {
    json_buf b = {0};
    int rc = json_buf_printf(&b, "# resolved affect config%s%s: every key, defaults filled in (docs/config.md)\n",
                             c->resolved.source[0] ? " from " : "", c->resolved.source);
    if (!rc) rc = write_section(&b, c, "", 0);
    if (rc) {
        json_buf_free(&b);
        return affect_fail(err, AFFECT_ENOMEM, "out of memory writing the config");
    }
    *out = b.data;
    *len = b.len;
    return 0;
}

int affect_run_config_write(const affect_run_config *c, const char *path, affect_error *err) {
    char *text;
    size_t len;
    int rc = affect_run_config_to_yaml(c, &text, &len, err);
    if (rc) return rc;
    rc = affect_file_write_atomic(path, text, len, err);
    free(text);
    return rc;
}
