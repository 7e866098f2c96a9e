/* `affect pull`: fetches the files affect needs to run a hub model into the Hugging Face
 * cache, in the layout huggingface_hub writes, so the download is shared with transformers
 * and an interrupted one picks up where it stopped. */
#define _POSIX_C_SOURCE 200809L
#include "hub/hub_internal.h"
#include "util/error.h"
#include "util/blob.h"
#include "util/json.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "native/atomic_file.h"

#define HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define HUB_ATTEMPTS 3 /* GETs per file in one pull before giving up (the next pull resumes) */
#define HUB_URL_MAX 8192

static const char *const tokenizer_files[] = {
    "tokenizer.json", "tokenizer_config.json", "vocab.txt", "vocab.json", "merges.txt",
    "special_tokens_map.json",
};

typedef struct pull_ctx {
    const char *id;
    const char *revision;   /* as the user gave it */
    char endpoint[1024];
    char repo[HUB_PATH_MAX]; /* <root>/models--ORG--NAME */
    char commit[128];        /* learnt from the first file; later files are fetched at it */
    hub_http http;
    affect_hub_progress_fn progress;
    void *user;
    /* the file being downloaded, for the byte callback */
    const char *file;
    uint64_t start_offset, total;
    struct timespec t0;
} pull_ctx;

static double since(const struct timespec *t0) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void report(pull_ctx *c, int event, const char *file, uint64_t done, uint64_t total,
                   uint64_t session) {
    if (!c->progress) return;
    affect_hub_progress p = {event, file, done, total, session, since(&c->t0)};
    c->progress(c->user, &p);
}

static void on_bytes(void *user, uint64_t received) {
    pull_ctx *c = user;
    report(c, AFFECT_HUB_FILE_BYTES, c->file, c->start_offset + received, c->total, received);
}

/* Percent-encodes for a URL path; '/' is kept only when `keep_slash` (file names in
 * sub-folders), so a revision such as refs/pr/1 becomes one segment, refs%2Fpr%2F1. */
static int url_encode(char *out, size_t len, const char *s, int keep_slash, affect_error *err) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                    ch == '-' || ch == '.' || ch == '_' || ch == '~' || (keep_slash && ch == '/');
        if (o + 4 > len) return affect_fail(err, AFFECT_EARG, "URL too long");
        if (plain) out[o++] = (char)ch;
        else {
            out[o++] = '%';
            out[o++] = hex[ch >> 4];
            out[o++] = hex[ch & 15];
        }
    }
    out[o] = 0;
    return 0;
}

/* {endpoint}/{repo_id}/resolve/{revision}/{filename}: the hub's one download URL. */
static int file_url(pull_ctx *c, const char *rev, const char *file, char *url, size_t len,
                    affect_error *err) {
    char erev[1024], efile[1024];
    int rc = url_encode(erev, sizeof erev, rev, 0, err);
    if (!rc) rc = url_encode(efile, sizeof efile, file, 1, err);
    if (!rc) rc = hub_path(url, len, err, "%s/%s/resolve/%s/%s", c->endpoint, c->id, erev, efile);
    return rc;
}

/* HF_ENDPOINT, without a trailing '/', must be an http(s) URL. */
static int read_endpoint(pull_ctx *c, affect_error *err) {
    const char *e = getenv("HF_ENDPOINT");
    if (!e || !*e) e = HUB_DEFAULT_ENDPOINT;
    if (strncmp(e, "http://", 7) != 0 && strncmp(e, "https://", 8) != 0)
        return affect_fail(err, AFFECT_EARG, "HF_ENDPOINT '%s' is not an http(s) URL", e);
    int rc = hub_path(c->endpoint, sizeof c->endpoint, err, "%s", e);
    if (rc) return rc;
    size_t n = strlen(c->endpoint);
    while (n > 8 && c->endpoint[n - 1] == '/') c->endpoint[--n] = 0;
    return 0;
}

/* A revision becomes refs/<revision> in the cache: each '/'-separated part must be a plain
 * name. */
static int check_revision(const char *rev, affect_error *err) {
    if (!*rev || strlen(rev) > 255) return affect_fail(err, AFFECT_EARG, "bad revision '%s'", rev);
    char part[256];
    for (const char *s = rev;;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        memcpy(part, s, n);
        part[n] = 0;
        if (!hub_safe_component(part))
            return affect_fail(err, AFFECT_EARG,
                               "bad revision '%s' (use a branch, tag, commit or refs/pr/N)", rev);
        if (!e) return 0;
        s = e + 1;
    }
}

/* "../../blobs/<etag>", one more "../" per folder the file name has, so the snapshot stays
 * valid if the cache is moved. */
static int link_target(const char *file, const char *etag, char *out, size_t len, affect_error *err) {
    char up[HUB_PATH_MAX] = "../../";
    size_t u = 6;
    for (const char *s = file; *s; s++)
        if (*s == '/') {
            if (u + 4 > sizeof up) return affect_fail(err, AFFECT_EARG, "file name too deep: %s", file);
            memcpy(up + u, "../", 4);
            u += 3;
        }
    return hub_path(out, len, err, "%sblobs/%s", up, etag);
}

static int link_into_snapshot(pull_ctx *c, const char *file, const char *etag, affect_error *err) {
    char pointer[HUB_PATH_MAX], target[HUB_PATH_MAX];
    int rc = hub_path(pointer, sizeof pointer, err, "%s/snapshots/%s/%s", c->repo, c->commit, file);
    if (!rc) rc = link_target(file, etag, target, sizeof target, err);
    if (rc) return rc;
    char dir[HUB_PATH_MAX];
    memcpy(dir, pointer, strlen(pointer) + 1);
    *strrchr(dir, '/') = 0;
    if ((rc = affect_mkdirs(dir, err))) return rc;
    return hub_symlink_atomic(target, pointer, err);
}

/* Takes the .incomplete file for ourselves; a second pull of the same file waits for no one
 * and says so instead of interleaving bytes. */
static int lock_fd(int fd, const char *path, affect_error *err) {
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0)
        return affect_fail(err, AFFECT_EIO, "%s is being downloaded by another process (%s)", path,
                           strerror(errno));
    return 0;
}

/* Fetches the blob's bytes into blobs/<etag>.incomplete, resuming what is there, then renames
 * it to blobs/<etag>. Leaves the .incomplete file for the next pull on failure. */
static int download_blob(pull_ctx *c, const char *file, const hub_file_meta *m, const char *blob,
                         affect_error *err) {
    char part[HUB_PATH_MAX];
    int rc = hub_path(part, sizeof part, err, "%s.incomplete", blob);
    if (rc) return rc;
    int fd = open(part, O_WRONLY | O_CREAT, 0644);
    if (fd < 0) return affect_fail(err, AFFECT_EIO, "cannot create %s: %s", part, strerror(errno));
    if ((rc = lock_fd(fd, part, err))) { close(fd); return rc; }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = affect_fail(err, AFFECT_EIO, "cannot stat %s: %s", part, strerror(errno));
        close(fd);
        return rc;
    }
    uint64_t offset = (uint64_t)st.st_size;
    c->file = file;
    c->total = m->have_size ? m->size : 0;
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    int done = 0;
    for (int attempt = 0; attempt < HUB_ATTEMPTS && !done; attempt++) {
        if (m->have_size && offset > m->size) { /* not a prefix of this blob: start over */
            if (ftruncate(fd, 0) != 0) {
                rc = affect_fail(err, AFFECT_EIO, "cannot truncate %s: %s", part, strerror(errno));
                break;
            }
            offset = 0;
        }
        if (m->have_size && offset == m->size && attempt > 0) { done = 1; break; }
        c->start_offset = offset;
        report(c, attempt ? AFFECT_HUB_FILE_RETRY : AFFECT_HUB_FILE_START, file, offset, c->total, 0);
        int retryable = 0;
        if (m->have_size && offset == m->size) rc = 0; /* complete from a previous pull */
        else rc = hub_http_get(&c->http, m->location, fd, &offset, on_bytes, c, &retryable, err);
        if (!rc && m->have_size && offset != m->size) {
            rc = affect_fail(err, AFFECT_ENET, "download of %s ended at %" PRIu64 " of %" PRIu64 " bytes",
                             file, offset, m->size);
            retryable = 1;
        }
        if (!rc) done = 1;
        else if (!retryable) break;
    }
    if (!done) {
        close(fd);
        return rc;
    }
    if ((rc = hub_commit_fd(fd, part, blob, err))) return rc;
    report(c, AFFECT_HUB_FILE_DONE, file, offset, offset, offset - c->start_offset);
    return 0;
}

/* One file: ask the hub where it is and what it is called (etag), fetch the blob unless the
 * cache has it, and link it into the snapshot. An `optional` file the repo lacks (404) sets
 * *absent and is not an error. */
static int pull_file(pull_ctx *c, const char *file, int optional, int *absent, affect_error *err) {
    *absent = 0;
    char url[HUB_URL_MAX];
    int rc = file_url(c, c->commit[0] ? c->commit : c->revision, file, url, sizeof url, err);
    if (rc) return rc;
    hub_file_meta m;
    rc = hub_http_head(&c->http, url, &m, err);
    if (rc == AFFECT_ENOTFOUND && m.status == 404 && optional) {
        *absent = 1;
        report(c, AFFECT_HUB_FILE_ABSENT, file, 0, 0, 0);
        return 0;
    }
    if (rc) return rc;
    if (!m.commit[0] || !hub_safe_component(m.commit)) {
        rc = affect_fail(err, AFFECT_ENET, "%s sent no usable X-Repo-Commit header: is HF_ENDPOINT (%s) a Hugging Face hub?",
                         url, c->endpoint);
        goto out;
    }
    if (!hub_safe_component(m.etag)) {
        rc = affect_fail(err, AFFECT_ENET, "%s sent no usable ETag header ('%s')", url, m.etag);
        goto out;
    }
    if (!c->commit[0]) snprintf(c->commit, sizeof c->commit, "%s", m.commit);
    else if (strcmp(c->commit, m.commit) != 0) {
        rc = affect_fail(err, AFFECT_ENET, "%s is at commit %s, not %s as requested", url, m.commit, c->commit);
        goto out;
    }
    char blobs[HUB_PATH_MAX], blob[HUB_PATH_MAX];
    if ((rc = hub_path(blobs, sizeof blobs, err, "%s/blobs", c->repo))) goto out;
    if ((rc = hub_path(blob, sizeof blob, err, "%s/%s", blobs, m.etag))) goto out;
    if ((rc = affect_mkdirs(blobs, err))) goto out;
    struct stat st;
    if (stat(blob, &st) == 0 && S_ISREG(st.st_mode) && (!m.have_size || (uint64_t)st.st_size == m.size)) {
        report(c, AFFECT_HUB_FILE_CACHED, file, (uint64_t)st.st_size, (uint64_t)st.st_size, 0);
    } else if ((rc = download_blob(c, file, &m, blob, err))) {
        goto out;
    }
    rc = link_into_snapshot(c, file, m.etag, err);
out:
    hub_file_meta_free(&m);
    return rc;
}

/* The shard files a model.safetensors.index.json names (its weight_map values), each once. */
static int read_shard_list(const char *index_path, char ***names, size_t *n, affect_error *err) {
    *names = NULL;
    *n = 0;
    char *text = NULL;
    size_t len = 0;
    int rc = affect_read_file(index_path, &text, &len, err);
    if (rc) return rc;
    json_doc *doc = NULL;
    rc = json_parse(&doc, text, len, err);
    free(text);
    if (rc) return rc;
    const json_value *map = json_get(json_root(doc), "weight_map");
    if (!map || map->type != JSON_OBJECT || map->len == 0) {
        json_free(doc);
        return affect_fail(err, AFFECT_EFORMAT, "%s has no weight_map object", index_path);
    }
    char **list = calloc(map->len, sizeof *list);
    if (!list) { json_free(doc); return affect_fail(err, AFFECT_ENOMEM, "out of memory"); }
    size_t count = 0;
    for (size_t i = 0; i < map->len && !rc; i++) {
        const json_value *v = &map->items[i];
        if (v->type != JSON_STRING || strlen(v->str) != v->len || !hub_safe_component(v->str)) {
            rc = affect_fail(err, AFFECT_EFORMAT, "%s: weight_map names a bad shard file", index_path);
            break;
        }
        int seen = 0;
        for (size_t j = 0; j < count && !seen; j++) seen = !strcmp(list[j], v->str);
        if (seen) continue;
        list[count] = strdup(v->str);
        if (!list[count]) rc = affect_fail(err, AFFECT_ENOMEM, "out of memory");
        else count++;
    }
    json_free(doc);
    if (rc) {
        for (size_t j = 0; j < count; j++) free(list[j]);
        free(list);
        return rc;
    }
    *names = list;
    *n = count;
    return 0;
}

static void free_list(char **list, size_t n) {
    for (size_t i = 0; i < n; i++) free(list[i]);
    free(list);
}

/* Shards of a sharded checkpoint, fetched after its index. */
static int pull_shards(pull_ctx *c, affect_error *err) {
    char index[HUB_PATH_MAX];
    int rc = hub_path(index, sizeof index, err, "%s/snapshots/%s/model.safetensors.index.json", c->repo, c->commit);
    if (rc) return rc;
    char **shards;
    size_t n;
    if ((rc = read_shard_list(index, &shards, &n, err))) return rc;
    int absent;
    for (size_t i = 0; i < n && !rc; i++) rc = pull_file(c, shards[i], 0, &absent, err);
    free_list(shards, n);
    return rc;
}

static int file_in_snapshot(const char *snap, const char *file) {
    char p[HUB_PATH_MAX];
    struct stat st;
    if (snprintf(p, sizeof p, "%s/%s", snap, file) >= (int)sizeof p) return 0;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode); /* follows the link: the blob is there */
}

/* HF_HUB_OFFLINE: the pull is a check that the cache already holds a runnable model. */
static int pull_offline(pull_ctx *c, char *dir, size_t dirlen, affect_error *err) {
    char root[HUB_PATH_MAX], snap[HUB_PATH_MAX];
    affect_error sub = {0};
    if (affect_hub_cache_root(root, sizeof root, &sub)) snprintf(root, sizeof root, "unknown");
    if (hub_cached_commit(c->repo, c->revision, c->commit, sizeof c->commit, &sub))
        return affect_fail(err, AFFECT_ENOTFOUND,
                           "HF_HUB_OFFLINE is set and model '%s' (revision %s) is not in the Hugging Face cache (%s); "
                           "unset HF_HUB_OFFLINE to download it",
                           c->id, c->revision, root);
    int rc = hub_path(snap, sizeof snap, err, "%s/snapshots/%s", c->repo, c->commit);
    if (rc) return rc;
    const char *missing = NULL;
    if (!file_in_snapshot(snap, "config.json")) missing = "config.json";
    else if (file_in_snapshot(snap, "model.safetensors")) {
    } else if (file_in_snapshot(snap, "model.safetensors.index.json")) {
        char index[HUB_PATH_MAX], **shards;
        size_t n;
        if ((rc = hub_path(index, sizeof index, err, "%s/model.safetensors.index.json", snap))) return rc;
        if ((rc = read_shard_list(index, &shards, &n, err))) return rc;
        for (size_t i = 0; i < n && !missing; i++)
            if (!file_in_snapshot(snap, shards[i])) missing = "a weight shard";
        free_list(shards, n);
    } else if (!file_in_snapshot(snap, "pytorch_model.bin")) {
        missing = "weights (model.safetensors or pytorch_model.bin)";
    }
    if (missing)
        return affect_fail(err, AFFECT_ENOTFOUND,
                           "HF_HUB_OFFLINE is set and the cached snapshot %s lacks %s; unset HF_HUB_OFFLINE to download it",
                           snap, missing);
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    report(c, AFFECT_HUB_FILE_CACHED, "config.json", 0, 0, 0);
    return hub_path(dir, dirlen, err, "%s", snap);
}

/* The files, in order: config.json proves the repository and revision exist (and fixes the
 * commit every later file is fetched at), then weights, then the tokenizer. */
static int pull_online(pull_ctx *c, char *dir, size_t dirlen, affect_error *err) {
    int absent, rc = pull_file(c, "config.json", 0, &absent, err);
    if (rc == AFFECT_ENOTFOUND) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return affect_fail(err, AFFECT_ENOTFOUND, "model '%s' (revision %s) not found on the hub: %s",
                           c->id, c->revision, msg);
    }
    if (rc) return rc;
    if ((rc = pull_file(c, "model.safetensors", 1, &absent, err))) return rc;
    if (absent) {
        if ((rc = pull_file(c, "model.safetensors.index.json", 1, &absent, err))) return rc;
        if (!absent) rc = pull_shards(c, err);
        else if (!(rc = pull_file(c, "pytorch_model.bin", 1, &absent, err)) && absent)
            rc = affect_fail(err, AFFECT_ENOTFOUND,
                             "model '%s' has no weights affect can read (model.safetensors, "
                             "model.safetensors.index.json, pytorch_model.bin)", c->id);
        if (rc) return rc;
    }
    for (size_t i = 0; i < sizeof tokenizer_files / sizeof tokenizer_files[0]; i++)
        if ((rc = pull_file(c, tokenizer_files[i], 1, &absent, err))) return rc;
    /* The ref moves last: until everything is in, readers keep the snapshot it named before. */
    if (strcmp(c->revision, c->commit) != 0) {
        char ref[HUB_PATH_MAX], refdir[HUB_PATH_MAX];
        if ((rc = hub_path(ref, sizeof ref, err, "%s/refs/%s", c->repo, c->revision))) return rc;
        memcpy(refdir, ref, strlen(ref) + 1);
        *strrchr(refdir, '/') = 0;
        if ((rc = affect_mkdirs(refdir, err))) return rc;
        if ((rc = affect_file_write_atomic(ref, c->commit, strlen(c->commit), err))) return rc;
    }
    return hub_path(dir, dirlen, err, "%s/snapshots/%s", c->repo, c->commit);
}

int affect_hub_pull(const char *id, const affect_hub_pull_opts *opts, char *dir, size_t dirlen,
                    affect_error *err) {
    if (!id || !dir || !dirlen) return affect_fail(err, AFFECT_EARG, "affect_hub_pull: missing argument");
    pull_ctx *c = calloc(1, sizeof *c);
    if (!c) return affect_fail(err, AFFECT_ENOMEM, "out of memory");
    c->id = id;
    c->revision = opts && opts->revision ? opts->revision : "main";
    c->progress = opts ? opts->progress : NULL;
    c->user = opts ? opts->user : NULL;
    clock_gettime(CLOCK_MONOTONIC, &c->t0);
    int rc = check_revision(c->revision, err);
    if (!rc) rc = affect_hub_repo_dir(id, c->repo, sizeof c->repo, err);
    if (!rc) {
        if (hub_env_true("HF_HUB_OFFLINE")) rc = pull_offline(c, dir, dirlen, err);
        else if (!(rc = read_endpoint(c, err)) && !(rc = hub_http_open(&c->http, err))) {
            rc = pull_online(c, dir, dirlen, err);
            hub_http_close(&c->http);
        }
    }
    free(c);
    return rc;
}
