/* Helpers the hub files share (not part of the public API): bounded path formatting, the
 * crash-safe file operations the cache relies on, and the HTTP transfers. */
#ifndef AFFECT_HUB_INTERNAL_H
#define AFFECT_HUB_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include "affect.h"
#include "hub/hub.h"

#define HUB_PATH_MAX 4096

/* snprintf that fails (AFFECT_EARG, naming the start of the path) instead of truncating. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
int hub_path(char *out, size_t len, affect_error *err, const char *fmt, ...);

/* 1 when the environment variable is set to 1/true/yes/on (any case), as huggingface_hub
 * reads its boolean switches. */
int hub_env_true(const char *name);

/* 1 if `s` is a name that is safe as one path component we create: [A-Za-z0-9._-], not
 * empty, not "." or "..", at most 255 bytes. */
int hub_safe_component(const char *s);

/* The commit a revision points at in a cached repo dir: `rev` itself when snapshots/<rev>
 * exists (a commit hash), else the content of refs/<rev>. 0 or AFFECT_ENOTFOUND. */
int hub_cached_commit(const char *repo_dir, const char *rev, char *commit, size_t len,
                      affect_error *err);

/* ---- atomic_file.c: crash-safe writes into the cache ---------------------------------- */

/* Makes `linkpath` a symlink to `target`, replacing what was there atomically (a temporary
 * link renamed over it). */
int hub_symlink_atomic(const char *target, const char *linkpath, affect_error *err);
/* fsync(fd), close(fd), rename(from, to), fsync of to's folder. Closes fd in all cases. */
int hub_commit_fd(int fd, const char *from, const char *to, affect_error *err);

/* ---- http.c: libcurl transfers -------------------------------------------------------- */

/* What the hub says about one file before we fetch it (a HEAD request, redirects to another
 * host not followed, like huggingface_hub does). */
typedef struct hub_file_meta {
    long status;          /* the final HTTP status (200, or 3xx when it points at the CDN) */
    char commit[128];     /* X-Repo-Commit */
    char etag[256];       /* X-Linked-Etag, else ETag; quotes and W/ stripped */
    uint64_t size;        /* X-Linked-Size, else Content-Length; 0 if unknown */
    int have_size;
    char *location;       /* the URL to GET the bytes from (malloc'd) */
} hub_file_meta;

void hub_file_meta_free(hub_file_meta *m);

typedef struct hub_http {
    void *curl;           /* CURL * */
    char *auth_header;    /* "Authorization: Bearer ..." or NULL */
} hub_http;

int hub_http_open(hub_http *h, affect_error *err);
void hub_http_close(hub_http *h);

/* HEAD `url`. A 404 returns AFFECT_ENOTFOUND; other HTTP errors and transport failures
 * AFFECT_ENET (the message has the status or curl's reason, and the URL). */
int hub_http_head(hub_http *h, const char *url, hub_file_meta *meta, affect_error *err);

/* Progress as the transfer runs: `received` bytes of body written by this request. */
typedef void (*hub_bytes_fn)(void *user, uint64_t received);

/* GETs `url` into the open file `fd` that already holds `offset` bytes, asking for the rest
 * with a Range header. A server that ignores Range (200) makes the file start over; *offset
 * is updated to the file's length either way, also after a failure (what arrived is kept).
 * `*retryable` is set when the failure is a broken connection worth resuming. */
int hub_http_get(hub_http *h, const char *url, int fd, uint64_t *offset, hub_bytes_fn fn,
                 void *user, int *retryable, affect_error *err);

#endif
