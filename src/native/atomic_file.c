/* Crash-safe writes of files and whole folders: see atomic_file.h. */
#define _POSIX_C_SOURCE 200809L
#include "native/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/util/error.h"

/* snprintf that refuses (AFFECT_EARG) rather than truncates a path. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int path_fmt(char *out, size_t cap, affect_error *err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap)
        return affect_fail(err, AFFECT_EARG, "path too long: %.200s...", out);
    return AFFECT_OK;
}

/* ---- fault injection ------------------------------------------------------------------- */

/* Bytes this process may still write before the injected "disk full"; -1 = no fault. Read
 * once from AFFECT_FAULT_WRITE_AFTER_BYTES, so tests can prove a full disk mid-save keeps
 * the previous version without needing a real small file system. */
static long long fault_budget(void) {
    static int init = 0;
    static long long budget = -1;
    if (!init) {
        init = 1;
        const char *s = getenv("AFFECT_FAULT_WRITE_AFTER_BYTES");
        if (s && *s) {
            char *end;
            long long v = strtoll(s, &end, 10);
            if (*end == 0 && v >= 0) budget = v;
        }
    }
    return budget;
}
static long long fault_used = 0;

/* How many of `want` bytes the fault allows now (want when no fault is set). */
static size_t fault_allow(size_t want) {
    long long b = fault_budget();
    if (b < 0) return want;
    long long left = b - fault_used;
    if (left <= 0) return 0;
    return (unsigned long long)left < want ? (size_t)left : want;
}

/* ---- single files ---------------------------------------------------------------------- */

int affect_wfile_open(affect_wfile *f, const char *path, affect_error *err) {
    f->fd = -1;
    f->written = 0;
    int rc = path_fmt(f->path, sizeof f->path, err, "%s", path);
    if (rc) return rc;
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (f->fd < 0) return affect_fail(err, AFFECT_EIO, "cannot create %s: %s", path, strerror(errno));
    return AFFECT_OK;
}

int affect_wfile_write(affect_wfile *f, const void *data, size_t len, affect_error *err) {
    const char *p = data;
    while (len > 0) {
        size_t chunk = len > ((size_t)1 << 30) ? ((size_t)1 << 30) : len;
        size_t allow = fault_allow(chunk);
        if (allow == 0)
            return affect_fail(err, AFFECT_EIO, "cannot write %s: %s (injected)", f->path,
                               strerror(ENOSPC));
        ssize_t w = write(f->fd, p, allow);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            return affect_fail(err, AFFECT_EIO, "cannot write %s: %s", f->path,
                               w < 0 ? strerror(errno) : "no progress");
        if (fault_budget() >= 0) fault_used += w;
        p += w;
        len -= (size_t)w;
        f->written += (uint64_t)w;
    }
    return AFFECT_OK;
}

/* The data must be on the disk before any rename publishes it; close errors (NFS, a full
 * disk reported late) count as write errors. */
int affect_wfile_close(affect_wfile *f, affect_error *err) {
    if (f->fd < 0) return affect_fail(err, AFFECT_EARG, "%s is not open", f->path);
    int fd = f->fd;
    f->fd = -1;
    if (fsync(fd) != 0) {
        int e = errno;
        close(fd);
        return affect_fail(err, AFFECT_EIO, "cannot sync %s: %s", f->path, strerror(e));
    }
    if (close(fd) != 0) return affect_fail(err, AFFECT_EIO, "cannot close %s: %s", f->path, strerror(errno));
    return AFFECT_OK;
}

void affect_wfile_abort(affect_wfile *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    unlink(f->path);
}

int affect_file_write_new(const char *path, const void *data, size_t len, affect_error *err) {
    affect_wfile f;
    int rc = affect_wfile_open(&f, path, err);
    if (rc) return rc;
    if ((rc = affect_wfile_write(&f, data, len, err))) {
        affect_wfile_abort(&f);
        return rc;
    }
    if ((rc = affect_wfile_close(&f, err))) unlink(path);
    return rc;
}

/* The folder part of `path` ("." for a bare name, "/" for a file in the root). */
static int parent_of(const char *path, char *out, size_t cap, affect_error *err) {
    const char *slash = strrchr(path, '/');
    if (!slash) return path_fmt(out, cap, err, ".");
    if (slash == path) return path_fmt(out, cap, err, "/");
    return path_fmt(out, cap, err, "%.*s", (int)(slash - path), path);
}

int affect_file_write_atomic(const char *path, const void *data, size_t len, affect_error *err) {
    char tmp[AFFECT_PATH_CAP], dir[AFFECT_PATH_CAP];
    int rc = path_fmt(tmp, sizeof tmp, err, "%s.tmp.%ld", path, (long)getpid());
    if (!rc) rc = parent_of(path, dir, sizeof dir, err);
    if (rc) return rc;
    /* The two mistakes a user makes with an output path get their own message (and exit 2),
     * rather than an errno from deep inside the temp-file dance. */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return affect_fail(err, AFFECT_EARG, "%s is a folder, not a file", path);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return affect_fail(err, AFFECT_ENOTFOUND, "cannot create a temporary file beside %s: folder %s does not exist",
                           path, dir);
    rc = affect_file_write_new(tmp, data, len, err);
    if (rc) return rc;
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return affect_fail(err, AFFECT_EIO, "cannot rename %s to %s: %s", tmp, path, strerror(e));
    }
    return affect_fsync_dir(dir, err);
}

/* ---- folders --------------------------------------------------------------------------- */

int affect_mkdirs(const char *path, affect_error *err) {
    char p[AFFECT_PATH_CAP];
    int rc = path_fmt(p, sizeof p, err, "%s", path);
    if (rc) return rc;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                return affect_fail(err, AFFECT_EIO, "cannot create folder %s: %s", p, strerror(errno));
            *s = c;
            if (c == 0) break;
        }
    }
    struct stat st;
    if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
        return affect_fail(err, AFFECT_EIO, "%s exists and is not a folder", p);
    return AFFECT_OK;
}

int affect_fsync_dir(const char *path, affect_error *err) {
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return affect_fail(err, AFFECT_EIO, "cannot open folder %s: %s", path, strerror(errno));
    /* Some file systems refuse fsync on a folder (EINVAL): nothing more can be done there. */
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
        int e = errno;
        close(fd);
        return affect_fail(err, AFFECT_EIO, "cannot sync folder %s: %s", path, strerror(e));
    }
    close(fd);
    return AFFECT_OK;
}

/* Removes what a staged or old checkpoint folder can hold: files and folders (symlinks are
 * removed, never followed). */
int affect_remove_tree(const char *path, affect_error *err) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return AFFECT_OK;
        return affect_fail(err, AFFECT_EIO, "cannot inspect %s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return affect_fail(err, AFFECT_EIO, "cannot remove %s: %s", path, strerror(errno));
        return AFFECT_OK;
    }
    DIR *d = opendir(path);
    if (!d) return affect_fail(err, AFFECT_EIO, "cannot open folder %s: %s", path, strerror(errno));
    int rc = AFFECT_OK;
    struct dirent *e;
    while (!rc && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char child[AFFECT_PATH_CAP];
        rc = path_fmt(child, sizeof child, err, "%s/%s", path, e->d_name);
        if (!rc) rc = affect_remove_tree(child, err);
    }
    closedir(d);
    if (!rc && rmdir(path) != 0 && errno != ENOENT)
        rc = affect_fail(err, AFFECT_EIO, "cannot remove folder %s: %s", path, strerror(errno));
    return rc;
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int affect_dir_stage_begin(const char *dir, char *staged, size_t cap, affect_error *err) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--; /* "run/ckpt/" names the folder "run/ckpt" */
    if (n == 0) return affect_fail(err, AFFECT_EARG, "empty output folder name");
    char base[AFFECT_PATH_CAP], parent[AFFECT_PATH_CAP];
    int rc = path_fmt(base, sizeof base, err, "%.*s", (int)n, dir);
    if (!rc) rc = parent_of(base, parent, sizeof parent, err);
    if (!rc) rc = affect_mkdirs(parent, err);
    if (!rc) rc = path_fmt(staged, cap, err, "%s.tmp.%ld", base, (long)getpid());
    if (!rc) rc = affect_remove_tree(staged, err);
    if (rc) return rc;
    if (mkdir(staged, 0755) != 0)
        return affect_fail(err, AFFECT_EIO, "cannot create folder %s: %s", staged, strerror(errno));
    return AFFECT_OK;
}

/* The order matters for crash safety: at every instant either `dir` or `dir.old` is a
 * complete version (the staged folder was synced before the first rename), and the old
 * version is deleted only once the new one is in place and its entry is durable. */
int affect_dir_publish(const char *staged, const char *dir, affect_error *err) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    char base[AFFECT_PATH_CAP], old[AFFECT_PATH_CAP], parent[AFFECT_PATH_CAP];
    int rc = path_fmt(base, sizeof base, err, "%.*s", (int)n, dir);
    if (!rc) rc = path_fmt(old, sizeof old, err, "%s.old", base);
    if (!rc) rc = parent_of(base, parent, sizeof parent, err);
    if (!rc) rc = affect_fsync_dir(staged, err);
    if (rc) {
        affect_remove_tree(staged, NULL);
        return rc;
    }
    if (is_dir(base)) {
        /* `dir` is complete (only ever created by a rename of a synced folder), so a stale
         * .old from an earlier interrupted publish is no longer needed. */
        if ((rc = affect_remove_tree(old, err))) {
            affect_remove_tree(staged, NULL);
            return rc;
        }
        if (rename(base, old) != 0) {
            int e = errno;
            affect_remove_tree(staged, NULL);
            return affect_fail(err, AFFECT_EIO, "cannot rename %s to %s: %s", base, old, strerror(e));
        }
    } else {
        struct stat st;
        if (lstat(base, &st) == 0) {
            affect_remove_tree(staged, NULL);
            return affect_fail(err, AFFECT_EIO, "%s exists and is not a folder", base);
        }
    }
    if (rename(staged, base) != 0) {
        int e = errno;
        /* put the previous version back where readers look first */
        if (is_dir(old) && !is_dir(base)) rename(old, base);
        affect_remove_tree(staged, NULL);
        return affect_fail(err, AFFECT_EIO, "cannot rename %s to %s: %s", staged, base, strerror(e));
    }
    if ((rc = affect_fsync_dir(parent, err))) return rc;
    return affect_remove_tree(old, err);
}

/* 1 when `dir` has every marker file. */
static int has_all(const char *dir, const char *const *markers) {
    if (!is_dir(dir)) return 0;
    for (size_t i = 0; markers && markers[i]; i++) {
        char p[AFFECT_PATH_CAP];
        int n = snprintf(p, sizeof p, "%s/%s", dir, markers[i]);
        struct stat st;
        if (n < 0 || (size_t)n >= sizeof p || stat(p, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    }
    return 1;
}

int affect_dir_resolve(const char *dir, const char *const *markers, char *out, size_t cap,
                       affect_error *err) {
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    char base[AFFECT_PATH_CAP], old[AFFECT_PATH_CAP];
    int rc = path_fmt(base, sizeof base, err, "%.*s", (int)n, dir);
    if (!rc) rc = path_fmt(old, sizeof old, err, "%s.old", base);
    if (rc) return rc;
    const char *pick = base;
    if (!has_all(base, markers) && has_all(old, markers)) pick = old;
    return path_fmt(out, cap, err, "%s", pick);
}
