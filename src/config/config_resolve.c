/* Turning a parsed config into things on disk: the data folder and the model's weights.
 * Kept apart from parsing so a config can be checked where the weights are absent. */
#include "config/config.h"
#include "data/data_dir.h"
#include "hub/hub.h"
#include "util/error.h"
#include <stdio.h>
#include <string.h>

int affect_run_config_resolve(affect_run_config *c, unsigned what, affect_error *err) {
    const char *src = c->resolved.source[0] ? c->resolved.source : "config";
    if (what & AFFECT_RESOLVE_DATA) {
        affect_error sub = {0};
        int rc = affect_data_dir_find(c->data.dir, c->resolved.data_dir, sizeof c->resolved.data_dir, &sub);
        if (rc) return affect_fail(err, rc, "%s: %s", src, sub.msg);
    }
    if (what & AFFECT_RESOLVE_MODEL) {
        c->resolved.model_dir[0] = 0;
        if (!c->model.scratch.enabled) {
            affect_error sub = {0};
            int rc = affect_hub_resolve(c->model.name, c->resolved.model_dir, sizeof c->resolved.model_dir, &sub);
            if (rc) return affect_fail(err, rc, "%s: model.name: %s", src, sub.msg);
        }
    }
    return 0;
}

int affect_run_config_data_path(const affect_run_config *c, const char *which, char *out, size_t len, affect_error *err) {
    const char *rel;
    if (!strcmp(which, "goemotions")) rel = c->data.goemotions;
    else if (!strcmp(which, "lemotif")) rel = c->data.lemotif;
    else if (!strcmp(which, "emoint")) rel = c->data.emoint;
    else return affect_fail(err, AFFECT_EARG, "unknown dataset '%s' (goemotions, lemotif, emoint)", which);
    int n;
    if (rel[0] == '/') n = snprintf(out, len, "%s", rel);
    else {
        if (!c->resolved.data_dir[0])
            return affect_fail(err, AFFECT_EARG, "data folder not resolved (call affect_run_config_resolve with AFFECT_RESOLVE_DATA)");
        n = snprintf(out, len, "%s/%s", c->resolved.data_dir, rel);
    }
    if (n < 0 || (size_t)n >= len) return affect_fail(err, AFFECT_EARG, "data.%s path too long", which);
    return 0;
}
