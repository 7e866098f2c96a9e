/* Finding models in the Hugging Face cache, so that a model `transformers` already
 * downloaded is used as it is, with no second copy and no network. */
#define _POSIX_C_SOURCE 200809L
#include "hub/hub_internal.h"
#include "util/error.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Paths are built in fixed buffers; a path that does not fit is an error, never a silently
 * shortened path that could name another file. */
int hub_path(char *out, size_t len, affect_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        if (len) out[0] = 0;
        return affect_fail(err, AFFECT_EARG, "path too long (format '%.60s')", fmt);
    }
    return 0;
}

/* huggingface_hub's reading of boolean variables, so HF_HUB_OFFLINE=1 / =true / =ON mean the
 * same thing to both tools. */
int hub_env_true(const char *name) {
    const char *v = getenv(name);
    if (!v) return 0;
    return !strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "yes") ||
           !strcasecmp(v, "on");
}

/* One component of a path we create from what a server told us (an etag, a commit): the
 * whitelist keeps a hostile header from walking out of the cache. */
int hub_safe_component(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 255 || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-') return 0;
    }
    return 1;
}

/* A part of a repo id, by the hub's own rule (huggingface_hub validate_repo_id). */
static int valid_id_part(const char *s, size_t n) {
    if (n == 0 || n > 96) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != '-') return 0;
        if (i + 1 < n && ((c == '-' && s[i + 1] == '-') || (c == '.' && s[i + 1] == '.')))
            return 0;
    }
    if (s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.') return 0;
    return 1;
}

/* Ids are checked before they become paths or URLs. */
int affect_hub_valid_id(const char *id) {
    if (!id) return 0;
    const char *slash = strchr(id, '/');
    if (!slash) return valid_id_part(id, strlen(id));
    if (strchr(slash + 1, '/')) return 0;
    return valid_id_part(id, (size_t)(slash - id)) && valid_id_part(slash + 1, strlen(slash + 1));
}

/* A leading "~/" in a variable is the home folder, as Python's expanduser would read it. */
static int expand_home(char *out, size_t len, const char *v, const char *suffix,
                       affect_error *err) {
    if (v[0] == '~' && (v[1] == '/' || v[1] == 0)) {
        const char *home = getenv("HOME");
        if (!home || !*home)
            return affect_fail(err, AFFECT_ENOTFOUND, "cannot expand '~' in '%s': HOME is not set", v);
        return hub_path(out, len, err, "%s%s%s", home, v + 1, suffix);
    }
    return hub_path(out, len, err, "%s%s", v, suffix);
}

/* The same precedence as huggingface_hub: HF_HUB_CACHE (or its old name
 * HUGGINGFACE_HUB_CACHE), else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub. The folder need not exist. */
int affect_hub_cache_root(char *out, size_t len, affect_error *err) {
    const char *v = getenv("HF_HUB_CACHE");
    if (!v || !*v) v = getenv("HUGGINGFACE_HUB_CACHE");
    if (v && *v) return expand_home(out, len, v, "", err);
    v = getenv("HF_HOME");
    if (v && *v) return expand_home(out, len, v, "/hub", err);
    v = getenv("XDG_CACHE_HOME");
    if (v && *v) return expand_home(out, len, v, "/huggingface/hub", err);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return affect_fail(err, AFFECT_ENOTFOUND,
                           "no Hugging Face cache: set HF_HUB_CACHE or HF_HOME (HOME is not set)");
    return hub_path(out, len, err, "%s/.cache/huggingface/hub", home);
}

/* models--ORG--NAME, the folder name huggingface_hub derives from an id ('/' -> "--"). */
int affect_hub_repo_dir(const char *id, char *out, size_t len, affect_error *err) {
    if (!affect_hub_valid_id(id))
        return affect_fail(err, AFFECT_EARG, "'%s' is not a Hugging Face model id (ORG/NAME)", id);
    char root[HUB_PATH_MAX];
    int rc = affect_hub_cache_root(root, sizeof root, err);
    if (rc) return rc;
    const char *slash = strchr(id, '/');
    if (!slash) return hub_path(out, len, err, "%s/models--%s", root, id);
    return hub_path(out, len, err, "%s/models--%.*s--%s", root, (int)(slash - id), id, slash + 1);
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A ref file holds one commit hash, perhaps followed by a newline. Revisions such as
 * "refs/pr/1" are stored as nested files (refs/refs/pr/1), so '/' is allowed in `rev` but
 * "." and ".." components are not. */
int hub_cached_commit(const char *repo_dir, const char *rev, char *commit, size_t len,
                      affect_error *err) {
    char p[HUB_PATH_MAX];
    int rc;
    if (hub_safe_component(rev)) {
        if ((rc = hub_path(p, sizeof p, err, "%s/snapshots/%s", repo_dir, rev))) return rc;
        if (is_dir(p)) return hub_path(commit, len, err, "%s", rev);
    }
    for (const char *s = rev;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
            return affect_fail(err, AFFECT_EARG, "bad revision '%s'", rev);
        if (!e) break;
        s = e + 1;
    }
    if ((rc = hub_path(p, sizeof p, err, "%s/refs/%s", repo_dir, rev))) return rc;
    FILE *f = fopen(p, "rb");
    if (!f) return affect_fail(err, AFFECT_ENOTFOUND, "no cached ref %s", p);
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    while (n && isspace((unsigned char)buf[n - 1])) buf[--n] = 0;
    if (!hub_safe_component(buf))
        return affect_fail(err, AFFECT_EFORMAT, "ref file %s does not hold a commit hash", p);
    return hub_path(commit, len, err, "%s", buf);
}

/* With no refs/main (a cache filled by copying a snapshot, or by a pull of a tag), the only
 * snapshot there is is the obvious answer; with several we refuse to guess. */
static int only_snapshot(const char *repo_dir, char *name, size_t len) {
    char p[HUB_PATH_MAX];
    if (snprintf(p, sizeof p, "%s/snapshots", repo_dir) >= (int)sizeof p) return 0;
    DIR *d = opendir(p);
    if (!d) return 0;
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (++count == 1 && snprintf(name, len, "%s", e->d_name) >= (int)len) count = 2;
    }
    closedir(d);
    return count == 1;
}

/* The one place a MODEL argument becomes a folder, so every subcommand accepts the same
 * things and says the same thing when it cannot. */
int affect_hub_resolve(const char *spec, char *dir, size_t dirlen, affect_error *err) {
    if (!spec || !*spec || !dir || !dirlen)
        return affect_fail(err, AFFECT_EARG, "no model given (a folder or a Hugging Face id ORG/NAME)");
    if (is_dir(spec)) return hub_path(dir, dirlen, err, "%s", spec);
    char root[HUB_PATH_MAX];
    affect_error sub = {0};
    if (affect_hub_cache_root(root, sizeof root, &sub)) snprintf(root, sizeof root, "unknown");
    if (!affect_hub_valid_id(spec))
        return affect_fail(err, AFFECT_ENOTFOUND,
                           "model '%s' is not a folder and is not a Hugging Face id (ORG/NAME); "
                           "give a model folder or an id such as google-bert/bert-base-uncased",
                           spec);
    char repo[HUB_PATH_MAX], commit[256], snap[HUB_PATH_MAX];
    if (!affect_hub_repo_dir(spec, repo, sizeof repo, &sub)) {
        int found = !hub_cached_commit(repo, "main", commit, sizeof commit, &sub);
        if (!found) found = only_snapshot(repo, commit, sizeof commit);
        if (found && !hub_path(snap, sizeof snap, &sub, "%s/snapshots/%s", repo, commit) &&
            is_dir(snap))
            return hub_path(dir, dirlen, err, "%s", snap);
    }
    return affect_fail(err, AFFECT_ENOTFOUND,
                       "model '%s' is not a folder and is not in the Hugging Face cache (%s); "
                       "download it with: affect pull %s",
                       spec, root, spec);
}
