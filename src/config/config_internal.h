/* The schema table config_schema.c defines and config_yaml.c walks (not public API). */
#ifndef AFFECT_CONFIG_INTERNAL_H
#define AFFECT_CONFIG_INTERNAL_H
#include <stddef.h>
#include "config/config.h"

typedef enum { CFG_INT, CFG_FLOAT, CFG_BOOL, CFG_STR, CFG_ENUM, CFG_LIST } cfg_type;

enum {
    CFG_F_HOME = 1,    /* training.lemotif stage key the writer puts under common */
    CFG_F_INHERIT = 2  /* training.lemotif.frozen/unfrozen key that falls back to common's */
};

typedef struct cfg_key {
    const char *section;  /* "training.goemotions" ("" never: every key is in a section) */
    const char *name;     /* "learning_rate" */
    cfg_type type;
    size_t offset;        /* into affect_run_config */
    size_t size;          /* bytes of the field (CFG_STR / CFG_ENUM buffer size) */
    double lo, hi;        /* CFG_INT / CFG_FLOAT range, inclusive */
    const char *choices;  /* CFG_ENUM: "a|b|c" */
    int valid;            /* 0: this stage key does not exist in this section */
    int flags;            /* CFG_F_* */
} cfg_key;

extern const cfg_key cfg_keys[];
extern const int cfg_nkeys;
/* Sections in the order the writer emits them (parents before children). */
extern const char *const cfg_sections[];
extern const int cfg_nsections;

/* Index of the key `name` in `section`, or -1. */
int cfg_find(const char *section, const char *name);
/* 1 if `section` is a known section. */
int cfg_is_section(const char *section);
/* Copies common's explicitly given values into frozen/unfrozen keys the file did not set. */
void cfg_apply_inheritance(affect_run_config *c);
/* Checks that span several keys (split fractions, head/hidden sizes, custom-data columns);
 * messages start with `name`. */
int cfg_validate(const affect_run_config *c, const char *name, affect_error *err);

#endif
