/* Finding the data folder (see data_dir.h for the order and why). */
#define _POSIX_C_SOURCE 200809L
#include "data/data_dir.h"
#include "util/error.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A folder that looks like ours: holds at least one dataset folder. */
static int holds_data(const char *dir) {
    static const char *const sub[] = {"goemotions", "lemotif", "emoint"};
    char p[4200];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, sub[i]);
        if (is_dir(p)) return 1;
    }
    return 0;
}

static int put(char *out, size_t len, const char *s, affect_error *err) {
    if (snprintf(out, len, "%s", s) >= (int)len) return affect_fail(err, AFFECT_EARG, "data folder path too long: %s", s);
    return 0;
}

int affect_data_dir_find(const char *configured, char *out, size_t len, affect_error *err) {
    if (configured && *configured) {
        if (!is_dir(configured))
            return affect_fail(err, AFFECT_ENOTFOUND, "data folder '%s' (data.dir) does not exist", configured);
        return put(out, len, configured, err);
    }
    const char *env = getenv("AFFECT_DATA");
    if (env && *env) {
        if (!is_dir(env)) return affect_fail(err, AFFECT_ENOTFOUND, "data folder '%s' ($AFFECT_DATA) does not exist", env);
        return put(out, len, env, err);
    }
    if (holds_data("data")) return put(out, len, "data", err);
    if (holds_data("../shared/data")) return put(out, len, "../shared/data", err);
    return affect_fail(err, AFFECT_ENOTFOUND,
                       "no data folder found (tried data.dir, $AFFECT_DATA, ./data, ../shared/data); "
                       "download the datasets with: affect data pull");
}

int affect_data_dir_default(char *out, size_t len, affect_error *err) {
    const char *env = getenv("AFFECT_DATA");
    return put(out, len, env && *env ? env : "data", err);
}
